package semhttp

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/semhttp/semhttp/internal/lru"
)

// store.go holds where the cache keeps responses: the Store interface,
// its Entry, and MemoryStore, the in-memory default.

// Entry is one stored response. The client treats entries as immutable: it
// never modifies an Entry it gave to or got from a Store, and a Store must
// not modify one either (an updated response is a new Entry passed to
// Put), so a store may hand out the same Entry to concurrent callers.
// Entry is plain data: encoding/json and encoding/gob round-trip it.
type Entry struct {
	// Variant tells apart the responses stored under one key: it holds a
	// hash of the request's credentials and the request's values of the
	// header fields the response's Vary names. It is opaque to stores; Put
	// replaces the entry with the same Variant.
	Variant string
	// URL is where the representation came from (the last hop, when
	// redirects were followed).
	URL string
	// StatusCode is the stored status (200, 404, 301, ...). Zero marks a
	// Vary index: a small entry, stored under the Variant of the request's
	// credentials alone, whose Header holds only the Vary of the responses
	// stored for them, from which the client computes the Variant to ask
	// for.
	StatusCode int
	// Header is the stored response header, without hop-by-hop fields.
	Header http.Header
	// Body is the complete response body.
	Body []byte
	// Stored is when the response was received, or last freshened by a
	// 304 (RFC 9111's response_time).
	Stored time.Time
	// Age is the response's age at Stored (corrected_initial_age, RFC 9111
	// §4.2.3): its Age field, the time it spent in transit, or how much
	// older than now its Date says it is.
	Age time.Duration
	// Lifetime is how long the response is fresh from its origin (RFC 9111
	// §4.2.1: max-age, else Expires − Date, at most 2^31 s, else a tenth of
	// the time since Last-Modified for the status codes that allow it, at
	// most a day); zero when it must be revalidated before every use
	// (no-cache), or its freshness information is invalid (a malformed or
	// repeated max-age or Expires, an Age that is not one number).
	Lifetime time.Duration
}

// FreshUntil is when e stops being fresh: Stored + Lifetime − Age. A store
// that expires entries itself (a networked one, with a TTL) should keep an
// entry past it when its Header has a validator (ETag, Last-Modified),
// which makes a later 304 possible, or a stale-while-revalidate or
// stale-if-error window.
func (e *Entry) FreshUntil() time.Time { return e.Stored.Add(e.Lifetime - e.Age) }

// entryOverhead is what an entry costs MemoryStore beyond its strings and
// body: the Entry, its list node and index slot, its header map and slices
// (measured: TestMemoryStoreCountsWhatItHolds).
const (
	entryOverhead  = 400
	fieldOverhead  = 40 // per header field: its map slot, key and slice
	valueOverhead  = 16 // per value: its string header
	mapGroupFields = 8  // a header map grows by groups of 8 slots
)

// size is what e holds in memory: strings, body, and the overheads.
func (e *Entry) size() int64 {
	n := int64(len(e.Variant)+len(e.URL)+cap(e.Body)) + entryOverhead
	fields := 0
	for k, vs := range e.Header {
		fields++
		n += int64(len(k)) + fieldOverhead
		for _, v := range vs {
			n += int64(len(v)) + valueOverhead
		}
	}
	// The map's slots beyond its fields, up to a whole group.
	n += int64((mapGroupFields-fields%mapGroupFields)%mapGroupFields) * fieldOverhead / 2
	return n
}

// Store keeps responses for the cache. Keys are "GET " followed by the
// absolute request URL; under one key a store holds one Entry per
// Variant, which the client computes (from the request's credentials and
// the Vary fields of what is stored) and asks for: a store never scans the
// entries under a key. A Store must be safe for concurrent use. Put is
// called on the goroutine that reads the response body, when it reaches
// the end, so it should be quick; a store doing network I/O bounds it with
// ctx (the request's context) or hands the write off. The client ignores
// a store's errors (it logs them at debug level with [WithLogger]): a
// failing store only means fewer cache hits.
//
// [MemoryStore] is the default; the module
// github.com/semhttp/semhttp/redisstore is a Store in Redis, which the
// processes of a fleet share. A store shared between processes encodes
// each Entry (it is plain data) as one value per key and Variant, written
// atomically, with an expiry past [Entry.FreshUntil]; drops every Variant
// of a key at once on Delete (with a generation per key, as MemoryStore
// does, so that Delete costs the same however many Variants the key has);
// and returns from MaxEntryBytes the largest body worth a round trip.
// Everything stored is then visible to every client sharing the store, so
// share one only between clients that may see each other's responses (see
// [WithCache]).
type Store interface {
	// Get returns the entry stored under key with the given Variant, or
	// nil when there is none (which is not an error).
	Get(ctx context.Context, key, variant string) (*Entry, error)
	// Put stores e under key, replacing the entry with the same Variant.
	Put(ctx context.Context, key string, e *Entry) error
	// Delete removes every entry under key. It must not cost more the
	// more entries the key holds in the caller's time: invalidation
	// after a write runs on the caller's goroutine.
	Delete(ctx context.Context, key string) error
	// MaxEntryBytes is the largest body the store accepts. The client
	// does not keep a copy of longer bodies while the caller reads them.
	MaxEntryBytes() int64
}

// MemoryStore is a [Store] in memory, bounded by the total size of its
// entries (everything an entry holds: body, header, strings and their
// bookkeeping) and by the size of each body; the least recently used entry
// goes first. Get, Put and Delete cost the same however many entries a key
// holds: Delete only marks the key's entries as gone, and eviction
// reclaims them. The zero value is ready to use with the default limits
// (32 MiB in all, 1 MiB per body). It is safe for concurrent use.
type MemoryStore struct {
	// MaxBytes bounds the total size of the entries. Zero means 32 MiB.
	// Set it before first use.
	MaxBytes int64
	// MaxEntry bounds each entry's body. Zero means 1 MiB.
	// Set it before first use.
	MaxEntry int64

	mu  sync.Mutex
	lru *lru.Cache[variantKey, stored] // nil until the first Put
	// keys holds, for each key with entries in lru, its generation
	// (entries of an older one were deleted) and how many entries lru
	// holds under it, so that the key leaves the map with its last entry.
	keys map[string]*keyState
}

// variantKey is what MemoryStore files an entry under.
type variantKey struct{ key, variant string }

// stored is an entry and the generation of its key it was put in.
type stored struct {
	e   *Entry
	gen uint64
}

type keyState struct {
	gen     uint64
	entries int
}

func (s *MemoryStore) limits() (total, entry int64) {
	total, entry = s.MaxBytes, s.MaxEntry
	if total <= 0 {
		total = defaultCacheMaxBytes
	}
	if entry <= 0 {
		entry = defaultCacheMaxEntry
	}
	return total, entry
}

// MaxEntryBytes returns the per-body limit.
func (s *MemoryStore) MaxEntryBytes() int64 {
	_, entry := s.limits()
	return entry
}

// Get returns the entry under key and variant, and marks it recently used.
func (s *MemoryStore) Get(_ context.Context, key, variant string) (*Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lru == nil {
		return nil, nil
	}
	k := variantKey{key, variant}
	v, ok := s.lru.Get(k)
	if !ok {
		return nil, nil
	}
	if ks := s.keys[key]; v.gen != ks.gen {
		s.lru.Remove(k) // deleted: reclaim it now
		s.forget(key)
		return nil, nil
	}
	return v.e, nil
}

// Put stores e under key, replacing the entry with the same Variant, and
// evicts the least recently used entries until the total fits. It returns
// [ErrBodyTooLarge] (and stores nothing) when e's body exceeds MaxEntry or
// e alone exceeds MaxBytes.
func (s *MemoryStore) Put(_ context.Context, key string, e *Entry) error {
	if e == nil {
		return nil
	}
	total, entry := s.limits()
	n := e.size() + int64(len(key))
	if int64(len(e.Body)) > entry || n > total {
		return fmt.Errorf("%w for the store: %d bytes, at most %d per body and %d in all", ErrBodyTooLarge, len(e.Body), entry, total)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lru == nil {
		s.lru = lru.New(total, s.evicted)
		s.keys = make(map[string]*keyState)
	}
	ks := s.keys[key]
	if ks == nil {
		ks = &keyState{}
		s.keys[key] = ks
	}
	k := variantKey{key, e.Variant}
	_, had := s.lru.Get(k)
	if !had {
		ks.entries++
	}
	// It fits (n <= total) unless MaxBytes shrank after first use; then
	// the entry it replaces was evicted (and forgotten).
	if !s.lru.Put(k, stored{e, ks.gen}, n) {
		if !had {
			s.forget(key)
		}
		return fmt.Errorf("%w for the store: %d bytes in all", ErrBodyTooLarge, n)
	}
	return nil
}

// evicted forgets an entry the LRU dropped.
func (s *MemoryStore) evicted(k variantKey, _ stored) { s.forget(k.key) }

// forget counts one entry of key gone.
func (s *MemoryStore) forget(key string) {
	if ks := s.keys[key]; ks != nil {
		if ks.entries--; ks.entries <= 0 {
			delete(s.keys, key)
		}
	}
}

// Delete removes every entry under key: it starts a new generation of the
// key, and the entries of the old one are reclaimed when next looked up
// or evicted.
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ks := s.keys[key]; ks != nil {
		ks.gen++
	}
	return nil
}

// Len returns the number of entries stored (deleted ones count until they
// are reclaimed).
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lru == nil {
		return 0
	}
	return s.lru.Len()
}

// Bytes returns the total size of the stored entries, as counted against
// MaxBytes.
func (s *MemoryStore) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lru == nil {
		return 0
	}
	return s.lru.Cost()
}

var _ Store = (*MemoryStore)(nil)

// Default limits of the in-memory store, used when a Client is built
// without [WithCache] and for the zero [MemoryStore].
const (
	defaultCacheMaxBytes = 32 << 20 // 32 MiB in all
	defaultCacheMaxEntry = 1 << 20  // 1 MiB per response body
)
