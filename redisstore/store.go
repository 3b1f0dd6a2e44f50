// Package redisstore is a [semhttp.Store] in Redis, so that a fleet of
// processes shares one HTTP cache: a response one of them fetched answers
// the others' requests, or is revalidated by them with a 304.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"}) // or a Cluster, Sentinel, Ring client
//	c := semhttp.New(semhttp.WithCache(redisstore.New(rdb)))
//
// Redis trouble never fails a request: every call to Redis is bounded by a
// short timeout (see [WithTimeout]), a failing call is a cache miss, and
// after a failure the store leaves Redis alone for a cool-down (see
// [WithCooldown]), so that a Redis that is down or stuck costs one request
// per cool-down the timeout and the others nothing; when it is back the
// sharing resumes by itself.
//
// Entries stay partitioned as in [semhttp.MemoryStore]: the client puts a
// hash of a request's credentials in every Variant, and the store keeps one
// Redis value per key and Variant, so that one user's responses never
// answer another's requests. Everything stored is visible to every client
// sharing the Redis and the prefix: share them only between clients that
// may see each other's responses. An entry's age is reckoned from when
// the process that stored it received it, by that process's clock: keep
// the fleet's clocks in step (NTP).
//
// # In Redis
//
// Each entry is one string value, written atomically (a Lua script), with
// an expiry of its freshness lifetime, its stale-while-revalidate and
// stale-if-error windows, and [WithRevalidateTTL] more when it has a
// validator (an ETag or Last-Modified) with which a later 304 can renew
// it. A lookup is one MGET. Every URL has a generation: a small value,
// created with its first entry, whose random token each of its entries
// starts with; Delete drops the generation (one DEL of a few bytes, however
// many entries the URL has), which orphans the entries, and they expire or
// are overwritten. The keys of one URL share a hash tag, so that the store
// works on Redis Cluster. Give Redis a maxmemory and an eviction policy
// (allkeys-lru or volatile-lru): every key the store writes has an expiry.
package redisstore

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/semhttp/semhttp"
	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// Defaults of the options.
const (
	defaultPrefix        = "semhttp:"
	defaultTimeout       = 100 * time.Millisecond
	defaultCooldown      = time.Second
	defaultMaxEntry      = 1 << 20
	defaultRevalidateTTL = 24 * time.Hour
	// minTTL is the shortest expiry given to an entry: one already stale
	// on arrival still replaces the entry of its Variant.
	minTTL = time.Second
)

// Store is a [semhttp.Store] in Redis. Build it with [New]; it is safe for
// concurrent use.
type Store struct {
	rdb  redis.UniversalClient
	opts options
	// direct: the client bounds its socket I/O by the context's deadline
	// (ContextTimeoutEnabled), so calls need no goroutine to be bounded.
	direct bool
	born   time.Time
	// skipUntil is when, in time since born, the cool-down after a failure
	// ends; 0 when there was none.
	skipUntil atomic.Int64
}

type options struct {
	prefix        string
	timeout       time.Duration
	cooldown      time.Duration
	maxEntry      int64
	revalidateTTL time.Duration
}

// Option configures a [Store] in [New].
type Option func(*options)

// WithPrefix sets the prefix of every key the store writes, so that
// several caches, or other data, share a Redis. The default is "semhttp:".
// A prefix with braces ({...}) is a hash tag of its own: on Redis Cluster
// all the store's keys are then in one slot.
func WithPrefix(prefix string) Option {
	return func(o *options) { o.prefix = prefix }
}

// WithTimeout bounds each call to Redis (a Get, Put or Delete: one round
// trip), on top of the request's own context. A call that runs out of time
// is a cache miss. Zero or less means the default, 100 ms.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// WithCooldown sets how long the store leaves Redis alone after a call
// failed for want of Redis (a timeout, a refused or broken connection):
// meanwhile every call fails at once and the client goes to the origin.
// Errors Redis replies with (such as OOM when it is full) do not count.
// Zero or less means the default, one second.
func WithCooldown(d time.Duration) Option {
	return func(o *options) { o.cooldown = d }
}

// WithMaxEntryBytes sets the largest body the store keeps (see
// [semhttp.Store]'s MaxEntryBytes). Zero or less means the default, 1 MiB.
func WithMaxEntryBytes(n int64) Option {
	return func(o *options) { o.maxEntry = n }
}

// WithRevalidateTTL sets how long an entry with a validator (an ETag or
// Last-Modified) is kept past its freshness and its stale-while-revalidate
// and stale-if-error windows, for a later 304 to renew: the whole expiry of
// an entry that must be revalidated before every use (no-cache). It is also
// the expiry of the small index entries of Vary. Zero or less means the
// default, 24 hours.
func WithRevalidateTTL(d time.Duration) Option {
	return func(o *options) { o.revalidateTTL = d }
}

// New returns a Store on rdb, which may be a single node, Sentinel (a
// failover client), Cluster or Ring client; the store does not close it.
//
// Calls are bounded by [WithTimeout] whatever rdb's settings; when rdb was
// built with ContextTimeoutEnabled a call needs no goroutine of its own.
func New(rdb redis.UniversalClient, opts ...Option) *Store {
	o := options{prefix: defaultPrefix}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 {
		o.timeout = defaultTimeout
	}
	if o.cooldown <= 0 {
		o.cooldown = defaultCooldown
	}
	if o.maxEntry <= 0 {
		o.maxEntry = defaultMaxEntry
	}
	if o.revalidateTTL <= 0 {
		o.revalidateTTL = defaultRevalidateTTL
	}
	o.revalidateTTL = min(o.revalidateTTL, maxWindow)
	return &Store{rdb: rdb, opts: o, direct: contextBounded(rdb), born: time.Now()}
}

// contextBounded reports whether rdb bounds its socket reads and writes by
// a context's deadline (ContextTimeoutEnabled).
func contextBounded(rdb redis.UniversalClient) bool {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

var _ semhttp.Store = (*Store)(nil)

// tokenLen is the length of a generation token, which every stored value
// starts with.
const tokenLen = 8

// keys returns the Redis keys of key's generation and of its entry with
// the given Variant: prefix{H(key)}:g and prefix{H(key)}:H(variant), H a
// SHA-256 cut to 128 bits in base64. The braces make a hash tag: the keys
// of one URL are in one Cluster slot.
func (s *Store) keys(key, variant string) (gen, entry string) {
	const h = 22 // base64 of 16 bytes, unpadded
	p := s.opts.prefix
	var buf [128]byte
	b := append(buf[:0], p...)
	b = append(b, '{')
	k := sum(key)
	b = base64.RawURLEncoding.AppendEncode(b, k[:16])
	b = append(b, "}:"...)
	tag := len(b)
	v := sum(variant)
	b = base64.RawURLEncoding.AppendEncode(b, v[:16])
	b = append(b, b[:tag]...)
	b = append(b, 'g')
	both := string(b) // entry, then gen: one allocation
	n := tag + h
	return both[n:], both[:n]
}

// sum is the SHA-256 of s, without a copy of s on the heap when it is short.
func sum(s string) [sha256.Size]byte {
	var buf [256]byte
	return sha256.Sum256(append(buf[:0], s...))
}

// Get returns the entry stored under key with the given Variant: one MGET
// of the key's generation and the entry. It returns nil when there is
// none, or when the entry is of an older generation (deleted).
func (s *Store) Get(ctx context.Context, key, variant string) (*semhttp.Entry, error) {
	gk, ek := s.keys(key, variant)
	vals, err := call(s, ctx, func(ctx context.Context) ([]any, error) {
		return s.rdb.MGet(ctx, gk, ek).Result()
	})
	if err != nil {
		return nil, err
	}
	if len(vals) != 2 {
		return nil, fmt.Errorf("redisstore: MGET of 2 keys returned %d values", len(vals))
	}
	gen, _ := vals[0].(string)
	v, _ := vals[1].(string)
	if len(gen) != tokenLen || len(v) < tokenLen || v[:tokenLen] != gen {
		return nil, nil // none, or deleted
	}
	e, k, err := decode(v[tokenLen:])
	if err != nil {
		return nil, err
	}
	if k != key || e.Variant != variant {
		return nil, nil // another key's, or Variant's, of the same hash
	}
	return e, nil
}

// putScript stores an entry: KEYS[1] is its key's generation, KEYS[2] the
// entry; ARGV[1] a token for a new generation, ARGV[2] the expiry in ms,
// ARGV[3] the encoded entry, ARGV[4] "1" for a Vary index, which lives as
// long as its key's generation at least. The generation lives as long as
// its longest-lived entry.
//
//go:embed put.lua
var putSource string

var putScript = redis.NewScript(putSource)

// Put stores e under key, replacing the entry with the same Variant, in
// one atomic script. It returns an error wrapping [semhttp.ErrBodyTooLarge]
// (and stores nothing) when e's body is longer than [WithMaxEntryBytes].
func (s *Store) Put(ctx context.Context, key string, e *semhttp.Entry) error {
	if e == nil {
		return nil
	}
	if s.cooling() {
		return errCooldown // before encoding anything
	}
	if int64(len(e.Body)) > s.opts.maxEntry {
		return fmt.Errorf("%w for the store: %d bytes, at most %d", semhttp.ErrBodyTooLarge, len(e.Body), s.opts.maxEntry)
	}
	gk, ek := s.keys(key, e.Variant)
	ttl, index := s.ttl(e, time.Now()), "0"
	if e.StatusCode == 0 {
		index = "1"
	}
	val := encode(make([]byte, 0, encodedLen(key, e)), key, e)
	var token [tokenLen]byte
	binary.LittleEndian.PutUint64(token[:], rand.Uint64())
	_, err := call(s, ctx, func(ctx context.Context) (any, error) {
		return putScript.Run(ctx, s.rdb, []string{gk, ek}, token[:], ttl.Milliseconds(), val, index).Result()
	})
	return err
}

// Delete removes every entry under key: it drops the key's generation, one
// small value, in one round trip however many entries the key has. The
// entries left behind are never returned again; they expire, or are
// overwritten by the next Put of their Variant.
func (s *Store) Delete(ctx context.Context, key string) error {
	gk, _ := s.keys(key, "")
	_, err := call(s, ctx, func(ctx context.Context) (int64, error) {
		return s.rdb.Del(ctx, gk).Result()
	})
	return err
}

// MaxEntryBytes returns the largest body the store keeps (see
// [WithMaxEntryBytes]).
func (s *Store) MaxEntryBytes() int64 { return s.opts.maxEntry }

// ttl is how long Redis keeps e, stored at now: its freshness left
// (FreshUntil − now), then its stale-while-revalidate or stale-if-error
// window, whichever is longer, or the revalidate TTL if it is longer and e
// has a validator; at least minTTL. A Vary index (StatusCode 0) has the
// revalidate TTL.
func (s *Store) ttl(e *semhttp.Entry, now time.Time) time.Duration {
	if e.StatusCode == 0 {
		return s.opts.revalidateTTL
	}
	fresh := min(max(0, e.FreshUntil().Sub(now)), maxWindow)
	extra := staleWindow(e.Header)
	if len(e.Header["Etag"]) > 0 || len(e.Header["Last-Modified"]) > 0 {
		extra = max(extra, s.opts.revalidateTTL)
	}
	return max(minTTL, fresh+extra) // at most 2^32 s: no overflow
}

// maxWindow caps a freshness left and a stale window (2^31 s, as RFC 9111
// §1.2.2 caps delta-seconds).
const maxWindow = (1 << 31) * time.Second

// staleWindow is the longer of h's stale-while-revalidate and
// stale-if-error (RFC 5861), zero without either, read by the core's own
// Cache-Control parser.
func staleWindow(h http.Header) time.Duration {
	cc := httpsyntax.ParseCacheControl(h)
	return min(max(cc.StaleWhileRevalidate, cc.StaleIfError), maxWindow)
}

// errCooldown is returned while the store leaves Redis alone after a
// failure.
var errCooldown = errors.New("redisstore: skipped: Redis failed less than a cool-down ago")

// call runs f, one round trip to Redis, bounded by the store's timeout
// (and ctx), unless the store is cooling down after a failure, and starts
// a cool-down when f fails for want of Redis.
func call[T any](s *Store, ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	var zero T
	if !s.admit() {
		return zero, errCooldown
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.timeout)
	defer cancel()
	var v T
	var err error
	if s.direct {
		v, err = f(cctx)
	} else {
		// The client's own read and write timeouts (3 s by default) would
		// apply: the call waits for cctx only, and a late reply is dropped.
		type result struct {
			v   T
			err error
		}
		done := make(chan result, 1)
		go func() {
			v, err := f(cctx)
			done <- result{v, err}
		}()
		select {
		case r := <-done:
			v, err = r.v, r.err
		case <-cctx.Done():
			err = cctx.Err()
		}
	}
	switch {
	case err == nil || isReply(err): // Redis answered
		if s.skipUntil.Load() != 0 {
			s.skipUntil.Store(0)
		}
	case ctx.Err() == nil: // for want of Redis, not because the caller gave up
		s.skipUntil.Store(int64(time.Since(s.born) + s.opts.cooldown))
		if cctx.Err() != nil {
			err = fmt.Errorf("no answer from Redis within %v: %w", s.opts.timeout, err)
		}
	}
	if err != nil {
		return zero, fmt.Errorf("redisstore: %w", err)
	}
	return v, nil
}

// cooling reports whether the store is leaving Redis alone after a failure.
func (s *Store) cooling() bool {
	until := s.skipUntil.Load()
	return until != 0 && int64(time.Since(s.born)) < until
}

// admit reports whether a call may go to Redis: yes, unless a call failed
// less than a cool-down ago. When a cool-down ends, one call is admitted
// and starts another cool-down for the others: if Redis is still down only
// that call pays the timeout; when it succeeds, every call is admitted.
func (s *Store) admit() bool {
	until := s.skipUntil.Load()
	if until == 0 {
		return true
	}
	now := int64(time.Since(s.born))
	return now >= until && s.skipUntil.CompareAndSwap(until, now+int64(s.opts.cooldown))
}

// isReply reports an error Redis replied with: Redis is there.
func isReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}
