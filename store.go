package semhttp

import (
	"context"
	"fmt"
	"net/http"
	"slices"
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
	// Variant tells apart the responses stored under one key: it holds the
	// request's values of the header fields the response's Vary names, and
	// a hash of the request's credentials. It is opaque to stores; Put
	// replaces the entry with the same Variant.
	Variant string
	// URL is where the representation came from (the last hop, when
	// redirects were followed).
	URL string
	// StatusCode is the stored status (200).
	StatusCode int
	// Header is the stored response header, without hop-by-hop fields.
	Header http.Header
	// Body is the complete response body.
	Body []byte
	// Stored is when the response was stored or last freshened by a 304.
	Stored time.Time
}

// size approximates the memory an entry holds.
func (e *Entry) size() int64 {
	n := int64(len(e.Variant) + len(e.URL) + len(e.Body) + 128)
	for k, vs := range e.Header {
		n += int64(len(k)) + 16
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// Store keeps responses for revalidation. Keys are "GET " followed by the
// absolute request URL; under one key a store holds one Entry per Variant.
// A Store must be safe for concurrent use. Put is called on the goroutine
// that reads the response body, when it reaches the end, so it should be
// quick; a store doing network I/O bounds it with ctx (the request's
// context) or hands the write off. The client ignores a store's
// errors (it logs them at debug level with [WithLogger]): a failing store
// only means fewer 304s.
//
// [MemoryStore] is the default. A store shared between processes, such as
// Redis, would keep each key as a hash: Get is HGETALL key (decoding each
// field's value into an Entry, with encoding/gob or encoding/json), Put is
// HSET key Entry.Variant encoded-entry followed by EXPIRE (so unused keys
// leave), Delete is DEL key, and MaxEntryBytes returns the largest body
// worth a round trip; least-recently-used eviction comes from Redis's
// maxmemory-policy allkeys-lru. Everything stored is then visible to every
// client sharing the store, so share one only between clients that may
// see each other's responses (see [WithCache]).
type Store interface {
	// Get returns every entry stored under key, in any order; none is not
	// an error.
	Get(ctx context.Context, key string) ([]*Entry, error)
	// Put stores e under key, replacing the entry with the same Variant.
	Put(ctx context.Context, key string, e *Entry) error
	// Delete removes every entry under key.
	Delete(ctx context.Context, key string) error
	// MaxEntryBytes is the largest body the store accepts. The client
	// does not keep a copy of longer bodies while the caller reads them.
	MaxEntryBytes() int64
}

// MemoryStore is a [Store] in memory, bounded by the total size of its
// entries and by the size of each body; the least recently used entry goes
// first. The zero value is ready to use with the default limits
// (32 MiB in all, 1 MiB per body). It is safe for
// concurrent use.
type MemoryStore struct {
	// MaxBytes bounds the total size of the entries (bodies, headers and
	// keys). Zero means 32 MiB. Set it before first use.
	MaxBytes int64
	// MaxEntry bounds each entry's body. Zero means 1 MiB.
	// Set it before first use.
	MaxEntry int64

	mu  sync.Mutex
	lru *lru.Cache[variantKey, *Entry] // cost: Entry.size plus the key; nil until the first Put
	// variants lists the Variants stored under each key, kept up to date
	// through lru's evictions.
	variants map[string][]string
}

// variantKey is what MemoryStore files an entry under.
type variantKey struct{ key, variant string }

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

// Get returns the entries under key and marks them recently used.
func (s *MemoryStore) Get(_ context.Context, key string) ([]*Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.variants[key]
	if len(vs) == 0 {
		return nil, nil
	}
	out := make([]*Entry, 0, len(vs))
	for _, v := range vs {
		if e, ok := s.lru.Get(variantKey{key, v}); ok {
			out = append(out, e)
		}
	}
	return out, nil
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
		s.variants = make(map[string][]string)
	}
	// It fits (n <= total) unless MaxBytes shrank after first use.
	if !s.lru.Put(variantKey{key, e.Variant}, e, n) {
		return fmt.Errorf("%w for the store: %d bytes in all", ErrBodyTooLarge, n)
	}
	if vs := s.variants[key]; !slices.Contains(vs, e.Variant) {
		s.variants[key] = append(vs, e.Variant)
	}
	return nil
}

// evicted forgets the Variant of an entry the LRU dropped.
func (s *MemoryStore) evicted(k variantKey, _ *Entry) {
	vs := slices.DeleteFunc(s.variants[k.key], func(v string) bool { return v == k.variant })
	if len(vs) == 0 {
		delete(s.variants, k.key)
	} else {
		s.variants[k.key] = vs
	}
}

// Delete removes every entry under key.
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.variants[key] {
		s.lru.Remove(variantKey{key, v})
	}
	delete(s.variants, key)
	return nil
}

// Len returns the number of stored entries.
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
