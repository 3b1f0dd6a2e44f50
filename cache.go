package semhttp

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// cache.go owns validators, revalidation and the 304 outcome: the Store
// interface and its in-memory implementation, the hooks the request
// pipeline calls before and after each call, and the body tee that stores a
// response while the caller reads it.
//
// The cache is a private client cache (RFC 9111 §1): one per Client, like a
// browser's. It never answers from storage without asking the origin: every
// GET goes to the server, made conditional with the stored validators, and
// a 304 is answered with the stored representation. Freshness (max-age,
// Expires) is not used.

// NotModified is a 304 Not Modified. It is a success kind (Err is nil)
// and reads like the representation it stands for:
//
// When the client added the validators itself (a plain GET of something
// it had stored), Response is the stored representation freshened with
// the 304's header fields (RFC 9111 §4.3.4): Response().StatusCode is the
// stored 200, its Body reads the stored bytes like an *OK's (Decode works,
// Close releases it), its header carries [CacheHeader] "revalidated", and
// Info().FromCache is true. StatusCode() is 304, what the server answered.
//
// When the request carried its own If-None-Match or If-Modified-Since,
// the 304 is the caller's business: Response is the server's 304, with an
// empty body, and both StatusCode() and Response().StatusCode are 304.
type NotModified struct{ base }

// StatusCode is 304, the status the server answered (Response().StatusCode
// is the stored representation's when the client answered from its cache).
func (o *NotModified) StatusCode() int { return http.StatusNotModified }

// CacheHeader is the response header semhttp adds to a response it
// answered from its cache: its value is "revalidated" (the server answered
// 304 to the client's own validators). [Client.Do] returns such a response
// as a 200 in place of the 304.
const CacheHeader = "Semhttp-Cache"

// Default limits of the in-memory store, used when a Client is built
// without [WithCache] and for the zero [MemoryStore].
const (
	DefaultCacheMaxBytes = 32 << 20 // 32 MiB in all
	DefaultCacheMaxEntry = 1 << 20  // 1 MiB per response body
)

// ErrEntryTooLarge is returned by [MemoryStore.Put] for an entry larger
// than the store's entry or total limit. The client never sends such an
// entry: a body over [Store.MaxEntryBytes] streams through unstored.
var ErrEntryTooLarge = errors.New("semhttp: cache entry too large")

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
// ([DefaultCacheMaxBytes], [DefaultCacheMaxEntry]). It is safe for
// concurrent use.
type MemoryStore struct {
	// MaxBytes bounds the total size of the entries (bodies, headers and
	// keys). Zero means DefaultCacheMaxBytes. Set it before first use.
	MaxBytes int64
	// MaxEntry bounds each entry's body. Zero means DefaultCacheMaxEntry.
	// Set it before first use.
	MaxEntry int64

	mu   sync.Mutex
	size int64
	lru  list.List // of *memNode; front is the most recently used
	keys map[string][]*list.Element
}

type memNode struct {
	key  string
	e    *Entry
	size int64
}

// NewMemoryStore returns a MemoryStore holding at most maxBytes in all and
// maxEntry per body; zero or negative means the default.
func NewMemoryStore(maxBytes, maxEntry int64) *MemoryStore {
	return &MemoryStore{MaxBytes: maxBytes, MaxEntry: maxEntry}
}

func (s *MemoryStore) limits() (total, entry int64) {
	total, entry = s.MaxBytes, s.MaxEntry
	if total <= 0 {
		total = DefaultCacheMaxBytes
	}
	if entry <= 0 {
		entry = DefaultCacheMaxEntry
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
	els := s.keys[key]
	if len(els) == 0 {
		return nil, nil
	}
	out := make([]*Entry, len(els))
	for i, el := range els {
		s.lru.MoveToFront(el)
		out[i] = el.Value.(*memNode).e
	}
	return out, nil
}

// Put stores e under key, replacing the entry with the same Variant, and
// evicts the least recently used entries until the total fits. It returns
// [ErrEntryTooLarge] (and stores nothing) when e's body exceeds MaxEntry or
// e alone exceeds MaxBytes.
func (s *MemoryStore) Put(_ context.Context, key string, e *Entry) error {
	if e == nil {
		return nil
	}
	total, entry := s.limits()
	n := e.size() + int64(len(key))
	if int64(len(e.Body)) > entry || n > total {
		return ErrEntryTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = make(map[string][]*list.Element)
	}
	els := s.keys[key]
	for _, el := range els {
		if old := el.Value.(*memNode); old.e.Variant == e.Variant {
			s.size += n - old.size
			old.e, old.size = e, n
			s.lru.MoveToFront(el)
			s.evict(total)
			return nil
		}
	}
	s.keys[key] = append(els, s.lru.PushFront(&memNode{key: key, e: e, size: n}))
	s.size += n
	s.evict(total)
	return nil
}

// evict drops least recently used entries until the total fits.
func (s *MemoryStore) evict(total int64) {
	for s.size > total {
		el := s.lru.Back()
		if el == nil {
			return
		}
		s.remove(el)
	}
}

func (s *MemoryStore) remove(el *list.Element) {
	node := s.lru.Remove(el).(*memNode)
	s.size -= node.size
	els := s.keys[node.key]
	i := slices.Index(els, el)
	if i >= 0 {
		els = slices.Delete(els, i, i+1)
	}
	if len(els) == 0 {
		delete(s.keys, node.key)
	} else {
		s.keys[node.key] = els
	}
}

// Delete removes every entry under key.
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, el := range slices.Clone(s.keys[key]) {
		s.remove(el)
	}
	return nil
}

// Len returns the number of stored entries.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	n := s.lru.Len()
	s.mu.Unlock()
	return n
}

// Bytes returns the total size of the stored entries, as counted against
// MaxBytes.
func (s *MemoryStore) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

var _ Store = (*MemoryStore)(nil)

// cacheOptions are the cache settings given to New.
type cacheOptions struct {
	store      Store
	set        bool // WithCache or WithoutCache was given
	condWrites bool
}

// cacheConfig is the cache policy of a Client.
type cacheConfig struct {
	store      Store // nil: the cache is off
	maxEntry   int64
	condWrites bool
	// sizer is store when it can tell its number of entries (MemoryStore
	// can): an empty store is not consulted. Found once, not per call.
	sizer interface{ Len() int }
}

func (o cacheOptions) resolved() cacheConfig {
	s := o.store
	if !o.set {
		s = &MemoryStore{}
	}
	if s == nil {
		return cacheConfig{}
	}
	max := s.MaxEntryBytes()
	if max < 0 {
		max = 0
	}
	sizer, _ := s.(interface{ Len() int })
	return cacheConfig{store: s, maxEntry: max, condWrites: o.condWrites, sizer: sizer}
}

// WithCache sets the store that keeps GET responses for revalidation (see
// [Store]). Nil turns the cache off, like [WithoutCache]. Without this
// option every Client has its own [MemoryStore] with the default limits
// (32 MiB in all, 1 MiB per body).
//
// The cache is a private cache: responses to requests carrying
// Authorization, Cookie, Proxy-Authorization or a header registered with
// WithCredentialHeaders are stored too, but each set of credentials has
// its own entries (a SHA-256 of the credentials is part of the Variant, so
// no credential is stored), and a request only ever revalidates, and is
// answered with, responses fetched with the same credentials. Cookies a
// cookie jar adds are not seen and do not partition the cache.
func WithCache(s Store) Option {
	return func(c *config) { c.cache.store, c.cache.set = s, true }
}

// WithoutCache turns the cache off: no response is stored, no validator is
// added, and every 304 is the server's, passed through.
func WithoutCache() Option {
	return func(c *config) { c.cache.store, c.cache.set = nil, true }
}

// cacheCall is the cache's state for one call.
type cacheCall struct {
	on        bool          // the cache takes part in this call
	get       bool          // a GET (store, revalidate); else an unsafe method (invalidate)
	key       string        // "GET " + URL, built on first use (keyOf)
	creds     []string      // the client's credential headers (for partitionOf)
	partition string        // hash of the credentials, "" for none; built on first use
	parted    bool          // partition is built
	orig      *http.Request // the request before the cache added anything
	entries   []*Entry      // stored entries of this partition, seen before sending
	selected  *Entry        // the entry whose Vary matches the request
	added     bool          // the client added If-None-Match / If-Modified-Since
	cached    *http.Response
}

// cacheBefore is called before a call is sent: it remembers what the cache
// needs and returns the request to send, with validators (GET) or an
// If-Match (conditional writes) added.
func (c *Client) cacheBefore(req *http.Request, x *exchange) *http.Request {
	cc := &c.cache
	if cc.store == nil || x.opts != nil && x.opts.noCache {
		return req
	}
	cs := &x.cache
	switch req.Method {
	case http.MethodGet, "":
		// Many GETs carry no header at all: then there is nothing to
		// look up in it.
		hdr := len(req.Header) > 0
		if hdr && (len(req.Header["Range"]) > 0 || cacheDirective(req.Header, "no-store")) {
			return req
		}
		if !cacheableURL(req.URL) {
			return req
		}
		// The key (a URL string) and the partition (a hash of the
		// credentials) are built only when something is looked up or
		// stored: most GETs of an empty cache, or of responses without
		// validators, never need them.
		cs.on, cs.get, cs.orig, cs.creds = true, true, req, c.redirect.credentials
		if c.hc.Jar != nil {
			// net/http adds the jar's cookies to this very header when it
			// sends: the partition is of the caller's credentials only.
			cs.partitionOf()
		}
		if hdr && hasCallerConditional(req.Header) {
			return req // the caller's own: its 304 passes through
		}
		if cc.sizer != nil && cc.sizer.Len() == 0 {
			return req
		}
		cs.entries = c.cacheLoad(req, cs.keyOf(), cs.partitionOf())
		if len(cs.entries) == 0 {
			return req
		}
		return cs.addValidators(req)
	case http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodConnect:
		return req // safe: nothing to invalidate
	}
	if !cacheableURL(req.URL) {
		return req
	}
	cs.on, cs.orig = true, req
	if cc.condWrites && !hasWritePrecondition(req.Header) {
		switch req.Method {
		case http.MethodPut, http.MethodPatch, http.MethodDelete:
			r2, _ := conditionalWrite(req, c.cacheLoad(req, cs.keyOf(), requestPartition(req, c.redirect.credentials)))
			return r2
		}
	}
	return req
}

// cacheLoad returns the entries stored under key for partition.
func (c *Client) cacheLoad(req *http.Request, key, partition string) []*Entry {
	all, err := c.cache.store.Get(req.Context(), key)
	if err != nil {
		c.cacheLog("get", key, err)
		return nil
	}
	out := all[:0:0]
	for _, e := range all {
		if e != nil && e.Header != nil && entryPartition(e) == partition {
			out = append(out, e)
		}
	}
	return out
}

func (c *Client) cacheLog(op, key string, err error) {
	if c.logger != nil {
		// The key is a URL: its query may hold a secret.
		k := key
		if u, perr := url.Parse(key); perr == nil {
			k = redact(u)
		}
		c.logger.Debug("semhttp: cache store failed", "op", op, "key", k, "err", err)
	}
}

// maxValidatorTags bounds the entity tags sent in one If-None-Match.
const maxValidatorTags = 32

// addValidators returns req with If-None-Match (the ETags of every stored
// variant, RFC 9111 §4.1, §4.3.1) and If-Modified-Since (the Last-Modified
// of the variant whose Vary matches the request, when there is one).
func (cs *cacheCall) addValidators(req *http.Request) *http.Request {
	for _, e := range cs.entries {
		if cacheVariant(cacheVary(e.Header), req.Header, cs.partitionOf()) == e.Variant &&
			(cs.selected == nil || e.Stored.After(cs.selected.Stored)) {
			cs.selected = e
		}
	}
	var inm, ims string
	if cs.selected != nil {
		if _, ok := responseETag(cs.selected.Header); !ok {
			// A lone If-Modified-Since: with If-None-Match present the
			// server would ignore it (RFC 9110 §13.1.3).
			if lm, ok := cacheLastModified(cs.selected.Header); ok {
				ims = lm
			}
			return cs.withValidators(req, "", ims)
		}
		if lm, ok := cacheLastModified(cs.selected.Header); ok {
			ims = lm
		}
	}
	byRecency := slices.Clone(cs.entries)
	slices.SortStableFunc(byRecency, func(a, b *Entry) int { return b.Stored.Compare(a.Stored) })
	if cs.selected != nil {
		byRecency = append([]*Entry{cs.selected}, byRecency...)
	}
	var tags []string
	for _, e := range byRecency {
		t, ok := responseETag(e.Header)
		if !ok {
			continue
		}
		if s := t.String(); !slices.Contains(tags, s) {
			tags = append(tags, s)
			if len(tags) == maxValidatorTags {
				break
			}
		}
	}
	inm = strings.Join(tags, ", ")
	return cs.withValidators(req, inm, ims)
}

func (cs *cacheCall) withValidators(req *http.Request, inm, ims string) *http.Request {
	if inm == "" && ims == "" {
		return req
	}
	r2 := cacheShallow(req)
	if inm != "" {
		r2.Header.Set("If-None-Match", inm)
	}
	if ims != "" {
		r2.Header.Set("If-Modified-Since", ims)
	}
	cs.added = true
	return r2
}

// cacheAfter is called with the final response of a call: it stores a
// cacheable 200 as the caller reads it, answers a 304 to the client's own
// validators from storage (see cacheDo and cacheOutcome), and invalidates
// after a successful unsafe request.
func (c *Client) cacheAfter(resp *http.Response, x *exchange) *http.Response {
	cs := &x.cache
	if !cs.on || resp == nil {
		return resp
	}
	if !cs.get {
		if resp.StatusCode >= 200 && resp.StatusCode < 400 {
			c.invalidate(cs, resp)
		}
		return resp
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return c.cacheStore(cs, resp)
	case http.StatusNotModified:
		if cs.added {
			cs.cached = c.revalidated(cs, resp)
		}
	}
	return resp
}

// cacheRevalidated is the pipeline's last cache step. A 304 to the
// client's own validators stands for the stored 200 it selected: that
// response is returned (the 304's empty body closed) and reports true.
// When nothing stored matches the 304, the request is sent once more
// without validators, so that no caller sees a 304 it did not ask for.
func (c *Client) cacheRevalidated(resp *http.Response, x *exchange) (*http.Response, bool, error) {
	cs := &x.cache
	if resp.StatusCode != http.StatusNotModified || !cs.added {
		return resp, false, nil
	}
	if cs.cached != nil {
		drainClose(resp.Body)
		return cs.cached, true, nil
	}
	if b := cs.orig.Body; b != nil && b != http.NoBody {
		return resp, false, nil // a GET with a body: not sent twice
	}
	drainClose(resp.Body)
	cs.added, cs.entries, cs.selected = false, nil, nil
	x.hops = nil // a new chain: the redirects of the first one are not part of it
	resp, err := c.follow(cs.orig, x)
	if err != nil {
		return nil, false, err
	}
	return c.cacheAfter(resp, x), false, nil
}

// cacheStore wraps a 200's body so that it is stored once read to the
// end, or, when the response is not storable, drops what was stored for
// the variant it replaces. A response that is not storable is returned
// untouched.
func (c *Client) cacheStore(cs *cacheCall, resp *http.Response) *http.Response {
	h := resp.Header
	// Cheapest checks first: most responses carry no validator.
	_, hasTag := responseETag(h)
	_, hasLM := cacheLastModified(h)
	storable := (hasTag || hasLM) && resp.ContentLength <= c.cache.maxEntry &&
		(resp.Request == nil || resp.Request.Method == http.MethodGet) &&
		!cacheDirective(h, "no-store") && len(h["Content-Range"]) == 0
	var vary []string
	if storable {
		var star bool
		vary, star = cacheVaryStar(h)
		storable = !star
	}
	var final string
	if storable {
		final, storable = cacheURL(requestURL(resp))
	}
	if !storable {
		if cs.selected != nil {
			// The full response replaces the one validated (RFC 9111
			// §4.3.3), and it may not be kept.
			if err := c.cache.store.Delete(ctxOf(resp), cs.keyOf()); err != nil {
				c.cacheLog("delete", cs.keyOf(), err)
			}
		}
		return resp
	}
	tmpl := &Entry{
		Variant:    cacheVariant(vary, cs.orig.Header, cs.partitionOf()),
		URL:        final,
		StatusCode: http.StatusOK,
		Header:     storedHeader(h),
	}
	put := func(body []byte) {
		e := *tmpl
		e.Body, e.Stored = body, time.Now()
		if err := c.cache.store.Put(ctxOf(resp), cs.keyOf(), &e); err != nil {
			c.cacheLog("put", cs.keyOf(), err)
		}
	}
	if resp.ContentLength == 0 || resp.Body == nil || resp.Body == http.NoBody {
		put(nil)
		return resp
	}
	b := &cacheBody{rc: resp.Body, max: c.cache.maxEntry, want: resp.ContentLength, commit: put}
	if resp.ContentLength > 0 {
		b.buf = make([]byte, 0, resp.ContentLength)
	}
	resp.Body = b
	return resp
}

func ctxOf(resp *http.Response) context.Context {
	if resp.Request != nil {
		return resp.Request.Context()
	}
	return context.Background()
}

// revalidated freshens the stored responses a 304 selects (RFC 9111
// §4.3.4) and returns the one that answers the request, or nil when none
// matches.
//
// A strong ETag in the 304 selects every stored response with the same
// strong ETag; a weak ETag (or, without an ETag, a Last-Modified) the most
// recent one it matches. A 304 with no validator at all selects the stored
// response whose Vary matched the request, the one whose validators were
// sent: §4.3.4 would select nothing, but such 304s are common (go-httpbin's
// /cache) and the response being validated is unambiguous.
func (c *Client) revalidated(cs *cacheCall, resp *http.Response) *http.Response {
	final, _ := cacheURL(requestURL(resp))
	var cands []*Entry
	for _, e := range cs.entries {
		if e.URL == final {
			cands = append(cands, e)
		}
	}
	var sel []*Entry
	if t, ok := responseETag(resp.Header); ok {
		for _, e := range cands {
			if et, ok := responseETag(e.Header); ok && (t.StrongMatch(et) || t.Weak && t.WeakMatch(et)) {
				sel = append(sel, e)
			}
		}
		if t.Weak {
			sel = cacheKeepMostRecent(sel)
		}
	} else if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		for _, e := range cands {
			if elm, err := http.ParseTime(e.Header.Get("Last-Modified")); err == nil && elm.Equal(lm) {
				sel = append(sel, e)
			}
		}
		sel = cacheKeepMostRecent(sel)
	} else if len(resp.Header["Etag"]) == 0 && cs.selected != nil && slices.Contains(cands, cs.selected) {
		sel = []*Entry{cs.selected}
	}
	if len(sel) == 0 {
		return nil
	}
	answer := mostRecent(sel)
	if slices.Contains(sel, cs.selected) {
		answer = cs.selected
	}
	now := time.Now()
	var fresh *Entry
	for _, e := range sel {
		f := freshen(e, resp.Header, now)
		if err := c.cache.store.Put(ctxOf(resp), cs.keyOf(), f); err != nil {
			c.cacheLog("put", cs.keyOf(), err)
		}
		if e == answer {
			fresh = f
		}
	}
	return cachedResponse(fresh, resp)
}

// freshen returns a copy of e whose header is updated with h304 per RFC
// 9111 §3.2: every field of the 304 replaces the stored one, except the
// fields that are not stored, Content-Length, Content-Range and
// Content-Encoding (the stored body depends on it).
func freshen(e *Entry, h304 http.Header, now time.Time) *Entry {
	h := e.Header.Clone()
	skip := connectionListed(h304)
	for k, vs := range h304 {
		if hopByHop(k) || skip[k] {
			continue
		}
		switch k {
		case "Content-Length", "Content-Range", "Content-Encoding", CacheHeader:
			continue
		}
		h[k] = slices.Clone(vs)
	}
	f := *e
	f.Header, f.Stored = h, now
	return &f
}

// cachedResponse builds the 200 a 304 stands for, from e.
func cachedResponse(e *Entry, resp304 *http.Response) *http.Response {
	h := e.Header.Clone()
	h.Set(CacheHeader, "revalidated")
	var body io.ReadCloser = http.NoBody
	if len(e.Body) > 0 {
		body = io.NopCloser(bytes.NewReader(e.Body))
	}
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         resp304.Proto,
		ProtoMajor:    resp304.ProtoMajor,
		ProtoMinor:    resp304.ProtoMinor,
		Header:        h,
		Body:          body,
		ContentLength: int64(len(e.Body)),
		Request:       resp304.Request,
		TLS:           resp304.TLS,
	}
}

// invalidate drops the stored responses for the target of a successful
// unsafe request, and for its Location and Content-Location when they are
// on the same origin (RFC 9111 §4.4).
func (c *Client) invalidate(cs *cacheCall, resp *http.Response) {
	if l, ok := c.cache.store.(interface{ Len() int }); ok && l.Len() == 0 {
		return // nothing stored, nothing to invalidate (MemoryStore says so cheaply)
	}
	ctx := ctxOf(resp)
	keys := []string{cs.keyOf()}
	target := cs.orig.URL
	add := func(u *url.URL) {
		if u == nil || !sameCacheOrigin(target, u) {
			return
		}
		if k, ok := cacheKey(u); ok && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	final := requestURL(resp)
	if final != target {
		add(final) // redirects led elsewhere
	}
	for _, name := range [...]string{"Location", "Content-Location"} {
		if vs := resp.Header[name]; len(vs) == 1 {
			if u, err := parseReference(final, vs[0]); err == nil {
				add(u)
			}
		}
	}
	for _, k := range keys {
		if err := c.cache.store.Delete(ctx, k); err != nil {
			c.cacheLog("delete", k, err)
		}
	}
}

// cacheBody tees a response body into a buffer as the caller reads it and
// stores it when it was read completely: to io.EOF, with exactly
// Content-Length bytes when that was known. A body cut short, closed early,
// failing, or growing past the entry limit is not stored, and from then on
// only passes through.
type cacheBody struct {
	rc     io.ReadCloser
	max    int64
	want   int64 // Content-Length, or -1
	commit func([]byte)

	mu   sync.Mutex
	buf  []byte
	done bool // stored or given up
}

func (b *cacheBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	var body []byte
	b.mu.Lock()
	if !b.done {
		switch {
		case int64(len(b.buf)+n) > b.max:
			b.giveUp()
		default:
			b.buf = append(b.buf, p[:n]...)
			if err == io.EOF {
				body = b.complete()
			} else if err != nil {
				b.giveUp()
			}
		}
	}
	b.mu.Unlock()
	if body != nil {
		b.commit(body)
	}
	return n, err
}

// complete ends the tee and returns the body if it is whole, else nil.
func (b *cacheBody) complete() []byte {
	body := b.buf
	b.giveUp()
	if b.want >= 0 && int64(len(body)) != b.want {
		return nil
	}
	if body == nil {
		body = []byte{}
	}
	if c := cap(body); c-len(body) > len(body)/8 {
		body = bytes.Clone(body) // do not keep append's slack
	}
	return body
}

func (b *cacheBody) giveUp() { b.done, b.buf = true, nil }

// Close closes the body. Every byte of a body with a Content-Length may
// have been read without the caller seeing io.EOF; it is stored then.
func (b *cacheBody) Close() error {
	var body []byte
	b.mu.Lock()
	if !b.done {
		if b.want >= 0 && int64(len(b.buf)) == b.want {
			body = b.complete()
		} else {
			b.giveUp()
		}
	}
	b.mu.Unlock()
	if body != nil {
		b.commit(body)
	}
	return b.rc.Close()
}

// cacheKey is the store key of a GET to u: "GET " and the absolute URL
// without userinfo or fragment. Relative URLs have none.
// keyOf returns the call's cache key, building it on first use.
func (cs *cacheCall) keyOf() string {
	if cs.key == "" {
		cs.key, _ = cacheKey(cs.orig.URL)
	}
	return cs.key
}

// partitionOf returns the partition of the call's request (requestPartition),
// built on first use.
func (cs *cacheCall) partitionOf() string {
	if !cs.parted {
		cs.partition, cs.parted = requestPartition(cs.orig, cs.creds), true
	}
	return cs.partition
}

// cacheableURL reports whether u can be a cache key (absolute, with a host).
func cacheableURL(u *url.URL) bool { return u != nil && u.Host != "" && u.Scheme != "" }

func cacheKey(u *url.URL) (string, bool) {
	s, ok := cacheURL(u)
	if !ok {
		return "", false
	}
	return "GET " + s, true
}

func cacheURL(u *url.URL) (string, bool) {
	if u == nil || u.Host == "" || u.Scheme == "" {
		return "", false
	}
	if u.User != nil || u.Fragment != "" || u.RawFragment != "" || u.Opaque != "" {
		cp := *u
		cp.User, cp.Fragment, cp.RawFragment = nil, "", ""
		return cp.String(), true
	}
	return u.String(), true
}

// sameCacheOrigin reports whether a and b have the same scheme, host and
// port (default ports included).
func sameCacheOrigin(a, b *url.URL) bool {
	return a != nil && b != nil && strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) && cachePort(a) == cachePort(b)
}

func cachePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// requestPartition hashes the request's credentials — the headers in creds
// (Authorization, Cookie, Proxy-Authorization and those registered with
// WithCredentialHeaders) and URL userinfo — or returns "" when it has none.
func requestPartition(req *http.Request, creds []string) string {
	found := req.URL.User != nil
	for _, k := range creds {
		if len(req.Header[k]) > 0 {
			found = true
			break
		}
	}
	if !found {
		return ""
	}
	h := sha256.New()
	for _, k := range creds {
		io.WriteString(h, k)
		h.Write([]byte{0})
		for _, v := range req.Header[k] {
			io.WriteString(h, v)
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	if req.URL.User != nil {
		io.WriteString(h, req.URL.User.String())
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// entryPartition is the partition part of an entry's Variant.
func entryPartition(e *Entry) string {
	p, _, _ := strings.Cut(e.Variant, "\n")
	return p
}

// cacheVariant builds an entry's Variant: the partition, then each field
// named by Vary with the request's normalized value ("\x00" when absent,
// so that an absent field only matches an absent field).
func cacheVariant(vary []string, h http.Header, partition string) string {
	if len(vary) == 0 {
		return partition + "\n"
	}
	var sb strings.Builder
	sb.WriteString(partition)
	for _, name := range vary {
		sb.WriteByte('\n')
		sb.WriteString(name)
		sb.WriteByte(':')
		vs := h[name]
		if len(vs) == 0 {
			sb.WriteByte(0)
			continue
		}
		first := true
		for _, v := range vs {
			for elem := range strings.SplitSeq(v, ",") {
				elem = strings.Trim(elem, " \t")
				if elem == "" {
					continue
				}
				if !first {
					sb.WriteByte(',')
				}
				first = false
				sb.WriteString(elem)
			}
		}
	}
	return sb.String()
}

// cacheVary returns the field names of h's Vary, canonical, sorted and
// without duplicates.
func cacheVary(h http.Header) []string {
	names, _ := cacheVaryStar(h)
	return names
}

// cacheVaryStar is cacheVary, and reports whether Vary holds "*" (or a
// name that is not a token).
func cacheVaryStar(h http.Header) ([]string, bool) {
	vs := h["Vary"]
	if len(vs) == 0 {
		return nil, false
	}
	var names []string
	star := false
	for _, v := range vs {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.Trim(name, " \t")
			switch {
			case name == "":
			case name == "*", !isToken(name):
				// A name that is not a token cannot be matched: the
				// response is treated as Vary: * and not stored.
				star = true
			default:
				name = textproto.CanonicalMIMEHeaderKey(name)
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	slices.Sort(names)
	return names, star
}

// cacheDirective reports whether h's Cache-Control has the directive name
// (compared case-insensitively, arguments ignored).
func cacheDirective(h http.Header, name string) bool {
	for _, v := range h["Cache-Control"] {
		for d := range strings.SplitSeq(v, ",") {
			d, _, _ = strings.Cut(d, "=")
			if strings.EqualFold(strings.Trim(d, " \t"), name) {
				return true
			}
		}
	}
	return false
}

// hasCallerConditional reports whether a request carries a precondition of
// its own.
func hasCallerConditional(h http.Header) bool {
	for _, k := range [...]string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if len(h[k]) > 0 {
			return true
		}
	}
	return false
}

// cacheLastModified returns h's Last-Modified when it is a valid HTTP-date.
func cacheLastModified(h http.Header) (string, bool) {
	vs := h["Last-Modified"]
	if len(vs) != 1 {
		return "", false
	}
	if _, err := http.ParseTime(vs[0]); err != nil {
		return "", false
	}
	return vs[0], true
}

// mostRecent returns the most recently stored of es, or nil.
func mostRecent(es []*Entry) *Entry {
	var m *Entry
	for _, e := range es {
		if m == nil || e.Stored.After(m.Stored) {
			m = e
		}
	}
	return m
}

func cacheKeepMostRecent(es []*Entry) []*Entry {
	if m := mostRecent(es); m != nil {
		return []*Entry{m}
	}
	return nil
}

// storedHeader copies h without the fields a cache does not store (RFC 9111
// §3.1): hop-by-hop fields and those Connection names.
func storedHeader(h http.Header) http.Header {
	skip := connectionListed(h)
	out := make(http.Header, len(h))
	for k, vs := range h {
		if hopByHop(k) || skip[k] || k == CacheHeader {
			continue
		}
		out[k] = slices.Clone(vs)
	}
	return out
}

func hopByHop(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
		"Proxy-Authentication-Info", "Proxy-Authorization", "Te", "Trailer",
		"Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// connectionListed returns the canonical names listed in h's Connection.
func connectionListed(h http.Header) map[string]bool {
	vs := h["Connection"]
	if len(vs) == 0 {
		return nil
	}
	m := make(map[string]bool)
	for _, v := range vs {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.Trim(name, " \t"); name != "" {
				m[textproto.CanonicalMIMEHeaderKey(name)] = true
			}
		}
	}
	return m
}

// BypassCache makes one call skip the client's cache entirely: no
// validators are added, nothing is stored, nothing is invalidated (see
// [WithRequestOptions]). Download uses it: a file is not a representation
// to keep in memory.
func BypassCache() RequestOption {
	return func(o *requestOptions) { o.noCache = true }
}
