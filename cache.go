package semhttp

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// cache.go owns the pipeline's cache stages (cacheBefore, cacheOnError,
// cacheAfter, cacheRevalidated), the freshening of stored responses by a
// 304 or a HEAD, and invalidation after writes. Freshness and what may be
// served are in freshness.go; keys, partitions and variants in
// cachekey.go; the body tee that stores a response while the caller reads
// it in cachebody.go; the store in store.go.
//
// The cache is a private client cache (RFC 9111 §1): one per Client, like a
// browser's. A fresh stored response answers a GET without the network; a
// stale one is revalidated (If-None-Match, If-Modified-Since) and a 304
// answered with it; stale-while-revalidate, stale-if-error and the
// request's max-stale let a stale one answer when RFC 5861 and RFC 9111
// allow.

// CacheHeader is the response header semhttp adds to a response it
// answered from its cache: "fresh" (no request was sent), "stale" (past
// its freshness, served as stale-while-revalidate, stale-if-error or the
// request's max-stale allowed), "revalidated" (the server answered 304 to
// the client's own validators: [Client.Do] returns the stored response in
// place of the 304), or "only-if-cached" (a 504: the request asked for a
// stored response and none would do).
const CacheHeader = "Semhttp-Cache"

// cacheOptions are the cache settings given to New.
type cacheOptions struct {
	store      Store
	set        bool // WithCache was given
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
	if v := reflect.ValueOf(s); s == nil || v.Kind() == reflect.Pointer && v.IsNil() {
		return cacheConfig{} // WithCache(nil), or a nil *MemoryStore: off
	}
	max := s.MaxEntryBytes()
	if max < 0 {
		max = 0
	}
	sizer, _ := s.(interface{ Len() int })
	return cacheConfig{store: s, maxEntry: max, condWrites: o.condWrites, sizer: sizer}
}

// cacheCall is the cache's state for one call.
type cacheCall struct {
	on        bool          // the cache takes part in this call
	get       bool          // a GET (store, revalidate); else an unsafe method (invalidate)
	head      bool          // a HEAD (freshen the stored GET response)
	key       string        // "GET " + URL, built on first use (keyOf)
	creds     []string      // the client's credential headers (for partitionOf)
	partition string        // hash of the credentials, "" for none; built on first use
	parted    bool          // partition is built
	orig      *http.Request // the request before the cache added anything
	rq        httpsyntax.CacheControl
	sent      time.Time      // when the call began: RFC 9111's request_time
	selected  *Entry         // the stored response for this request's variant
	added     bool           // the client added If-None-Match / If-Modified-Since
	cached    *http.Response // the stored response a 304 selected
	hit       *http.Response // the answer from storage, without the origin
	age       time.Duration  // of the stored response that answered
	stale     bool           // it was stale
	originErr error          // the origin's failure that made it answer
}

// cacheBefore is called before a call is sent: it remembers what the cache
// needs and returns the request to send, with validators (GET) or an
// If-Match (conditional writes) added.
func (c *Client) cacheBefore(req *http.Request, x *exchange) *http.Request {
	cc := &c.cache
	if cc.store == nil || x.noCache() {
		return req
	}
	cs := &x.cache
	switch req.Method {
	case http.MethodGet, "":
		// Many GETs carry no header at all: then there is nothing to
		// look up in it.
		hdr := len(req.Header) > 0
		if hdr && len(req.Header["Range"]) > 0 || !cacheableURL(req.URL) {
			// Not looked up: with only-if-cached, nothing stored serves.
			if hdr && httpsyntax.HasDirective(req.Header, "only-if-cached") {
				cs.hit = onlyIfCached(req)
			}
			return req
		}
		// The key (a URL string) and the partition (a hash of the
		// credentials) are built only when something is looked up or
		// stored.
		if hdr {
			cs.rq = httpsyntax.ParseCacheControl(req.Header)
			if cs.rq.NoStore {
				// Nothing of it is stored (RFC 9111 §5.2.1.5), not even a
				// 304's update: the cache stays out of it.
				if cs.rq.OnlyIfCached {
					cs.hit = onlyIfCached(req)
				}
				return req
			}
			if cs.rq.NoCacheFields != "" {
				cs.rq.NoCache = true // (a request's no-cache takes no field names)
			}
			if len(req.Header["Cache-Control"]) == 0 && pragmaNoCache(req.Header) {
				cs.rq.NoCache = true // RFC 9111 §5.4
			}
		}
		cs.on, cs.get, cs.orig, cs.creds = true, true, req, c.redirect.credentials
		if x.fu != nil && x.fu.refresh {
			cs.rq.NoCache = true // a background revalidation asks the origin
		}
		cs.sent = c.now()
		if c.hc.Jar != nil {
			// net/http adds the jar's cookies to this very header when it
			// sends: the partition is of the caller's credentials only.
			cs.partitionOf()
		}
		if hdr && hasCallerConditional(req.Header) {
			if cs.rq.OnlyIfCached {
				// The caller's precondition is not evaluated against
				// storage, and the origin may not be asked (§5.2.1.7).
				cs.hit = onlyIfCached(req)
			}
			return req // the caller's own: its 304 passes through
		}
		if cc.sizer == nil || cc.sizer.Len() > 0 {
			cs.selected = c.cacheLookup(req.Context(), cs.keyOf(), cs.partitionOf(), req.Header)
		}
		if e := cs.selected; e != nil && e.URL == strings.TrimPrefix(cs.keyOf(), "GET ") {
			// (A response that redirects led to is revalidated through the
			// redirects: they were not stored and may have changed.)
			how, age := reuse(e, cs.rq, cs.sent)
			switch how {
			case serveFresh:
				cs.hit, cs.age = storedResponse(e, req, age, cacheFresh), age
				return req
			case serveStaleRefresh:
				c.refresh(cs.orig, cs.keyOf(), e.Variant)
				fallthrough
			case serveStale:
				cs.hit, cs.age, cs.stale = storedResponse(e, req, age, cacheStale), age, true
				return req
			}
		}
		if cs.rq.OnlyIfCached {
			cs.hit = onlyIfCached(req)
			return req
		}
		if cs.selected == nil {
			return req
		}
		return cs.addValidators(req)
	case http.MethodHead:
		// Not answered from storage, but its 200 freshens what is
		// stored for the GET (cacheHead).
		if cacheableURL(req.URL) && !httpsyntax.ParseCacheControl(req.Header).NoStore {
			cs.on, cs.head, cs.orig, cs.creds, cs.sent = true, true, req, c.redirect.credentials, c.now()
			if c.hc.Jar != nil {
				cs.partitionOf()
			}
		}
		return req
	case http.MethodOptions, http.MethodTrace, http.MethodConnect:
		return req // safe: nothing to invalidate
	}
	if !cacheableURL(req.URL) {
		return req
	}
	cs.on, cs.orig = true, req
	if cc.condWrites && !hasWritePrecondition(req.Header) {
		switch req.Method {
		case http.MethodPut, http.MethodPatch, http.MethodDelete:
			r2, _ := conditionalWrite(req, c.cacheLookup(req.Context(), cs.keyOf(), requestPartition(req, c.redirect.credentials), req.Header))
			return r2
		}
	}
	return req
}

// cacheLookup returns the response stored under key for a request with
// header h and credentials partition, or nil: the entry of the
// partition's own Variant, or, when that is a Vary index, of the Variant
// the request's values of the Vary fields select. Two lookups at most,
// however many entries the key holds.
func (c *Client) cacheLookup(ctx context.Context, key, partition string, h http.Header) *Entry {
	e, err := c.cache.store.Get(ctx, key, partition+"\n")
	if err == nil && e != nil && e.StatusCode == 0 {
		e, err = c.cache.store.Get(ctx, key, cacheVariant(cacheVary(e.Header), h, partition))
	}
	if err != nil {
		c.cacheLog("get", key, err)
		return nil
	}
	if e == nil || e.Header == nil || e.StatusCode == 0 {
		return nil
	}
	return e
}

// pragmaNoCache reports Pragma: no-cache (RFC 9111 §5.4).
func pragmaNoCache(h http.Header) bool {
	for _, v := range h["Pragma"] {
		for d := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(d, " \t"), "no-cache") {
				return true
			}
		}
	}
	return false
}

func (c *Client) cacheLog(op, key string, err error) {
	if c.logger != nil {
		// The key is "GET " and a URL, whose query may hold a secret.
		method, u, _ := strings.Cut(key, " ")
		c.logger.Debug("semhttp: cache store failed", "op", op, "key", method+" "+httpsyntax.RedactRaw(u), "err", err)
	}
}

// addValidators returns req with the validators of the selected stored
// response (RFC 9111 §4.3.1): If-None-Match with its ETag, and
// If-Modified-Since with its Last-Modified.
func (cs *cacheCall) addValidators(req *http.Request) *http.Request {
	var inm, ims string
	if t, ok := responseETag(cs.selected.Header); ok {
		inm = t.String()
	}
	if lm, ok := cacheLastModified(cs.selected.Header); ok {
		ims = lm
	}
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
// storable response as the caller reads it, answers a 304 to the client's
// own validators from storage (see cacheRevalidated), and invalidates
// after a successful unsafe request.
func (c *Client) cacheAfter(resp *http.Response, x *exchange) *http.Response {
	cs := &x.cache
	if !cs.on || resp == nil || cs.hit != nil {
		return resp
	}
	if cs.head {
		if resp.StatusCode == http.StatusOK {
			c.cacheHead(cs, resp)
		}
		return resp
	}
	if !cs.get {
		if resp.StatusCode >= 200 && resp.StatusCode < 400 {
			c.invalidate(cs, resp)
		}
		return resp
	}
	if resp.StatusCode == http.StatusNotModified {
		if cs.added {
			cs.cached = c.revalidated(cs, resp)
		}
		return resp
	}
	return c.cacheStore(cs, resp)
}

// cacheOnError answers, from storage, a call whose origin failed — a
// transport error after the retries, or a 500, 502, 503 or 504 — with the
// stored response when it may be served stale (RFC 5861 §4, RFC 9111
// §4.2.4: stale-if-error, or the request's max-stale), marked stale, the
// failure kept for Info.OriginErr. Otherwise it returns resp and err as
// they are.
func (c *Client) cacheOnError(req *http.Request, resp *http.Response, err error, x *exchange) (*http.Response, error) {
	cs := &x.cache
	var failure error
	switch {
	case err != nil && req.Context().Err() == nil:
		failure = causeOf(err)
	case err == nil && resp != nil && originFailed(resp.StatusCode):
	default:
		return resp, err
	}
	now := c.now()
	if !staleOnError(cs.selected, cs.rq, now) {
		return resp, err
	}
	if resp != nil {
		out := classify(resp, x.info(), c.maxErrorBody, false)
		failure = out.Err()
		discard(out)
	}
	age := currentAge(cs.selected, now)
	cs.hit, cs.age, cs.stale, cs.originErr = storedResponse(cs.selected, req, age, cacheStale), age, true, failure
	return cs.hit, nil
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
	cs.added, cs.selected = false, nil
	x.hops = nil // a new chain: the redirects of the first one are not part of it
	resp, err := c.follow(cs.orig, x)
	if err == nil {
		err = checkStatus(resp)
	}
	if err != nil {
		return nil, false, err
	}
	return c.cacheAfter(resp, x), false, nil
}

// cacheStore wraps the body of a storable response (RFC 9111 §3) so that
// it is stored once read to the end, or, when the response is not
// storable, drops what was stored for the URL when it replaces the
// response validated (§4.3.3). A response that is not storable is
// returned untouched.
func (c *Client) cacheStore(cs *cacheCall, resp *http.Response) *http.Response {
	tmpl, vary, ok := c.storable(cs, resp)
	if !ok {
		// A 5xx is the origin failing, not a new representation (§4.3.3):
		// what is stored stays.
		if cs.selected != nil && resp.StatusCode < 500 {
			if err := c.cache.store.Delete(ctxOf(resp), cs.keyOf()); err != nil {
				c.cacheLog("delete", cs.keyOf(), err)
			}
		}
		return resp
	}
	put := func(body []byte) {
		ctx, key := ctxOf(resp), cs.keyOf()
		e := *tmpl
		e.Body = body
		if len(vary) > 0 {
			// The index that turns a request into its Variant.
			idx := &Entry{Variant: cs.partitionOf() + "\n", URL: e.URL,
				Header: http.Header{"Vary": {strings.Join(vary, ", ")}}, Stored: e.Stored}
			if err := c.cache.store.Put(ctx, key, idx); err != nil {
				c.cacheLog("put", key, err)
			}
		}
		if err := c.cache.store.Put(ctx, key, &e); err != nil {
			c.cacheLog("put", key, err)
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

// storable returns the Entry (without its body) that resp would be
// stored as, and the Vary field names, when a private cache may store it
// (RFC 9111 §3) and it is of use: it has a validator, a freshness
// lifetime, or a stale-if-error or stale-while-revalidate window.
func (c *Client) storable(cs *cacheCall, resp *http.Response) (*Entry, []string, bool) {
	code := resp.StatusCode
	if code < 200 || code == http.StatusPartialContent || code > 599 ||
		resp.ContentLength > c.cache.maxEntry ||
		resp.Request != nil && resp.Request.Method != http.MethodGet && resp.Request.Method != "" {
		return nil, nil, false
	}
	h := resp.Header
	// Most API responses carry nothing a cache could use: no validator, no
	// lifetime, no stale window. They are told apart by the presence of
	// fields alone, before any of them is parsed (dates are costly).
	if len(h["Etag"]) == 0 && len(h["Last-Modified"]) == 0 && len(h["Expires"]) == 0 && len(h["Cache-Control"]) == 0 {
		return nil, nil, false
	}
	received := c.now()
	cc := httpsyntax.ParseCacheControl(h)
	// (A Content-Range on a status other than 206 and 416 has no meaning,
	// RFC 9110 §14.4: such a response is complete, and stored. Range
	// requests do not reach here.)
	if !mayStore(cc, code) {
		return nil, nil, false
	}
	// §3: a status code not cacheable by default needs explicit freshness.
	if !heuristicallyCacheable(code) && !cc.HasMaxAge && len(h["Expires"]) == 0 && !cc.Public {
		return nil, nil, false
	}
	life := lifetime(h, cc, code, received)
	age, ageValid := initialAge(h, cs.sent, received)
	if !ageValid {
		life = 0 // how old it is is not known: stale
	}
	if life == 0 && !cc.HasStaleIfError && !cc.HasStaleWhileRevalidate {
		_, hasTag := responseETag(h)
		if _, hasLM := cacheLastModified(h); !hasTag && !hasLM {
			return nil, nil, false // it could never be reused
		}
	}
	vary, star := cacheVaryStar(h)
	if star {
		return nil, nil, false // Vary: * matches no later request (§4.1)
	}
	final, ok := cacheURL(requestURL(resp))
	if !ok {
		return nil, nil, false
	}
	return &Entry{
		Variant:    cacheVariant(vary, cs.orig.Header, cs.partitionOf()),
		URL:        final,
		StatusCode: code,
		Header:     storedHeader(h, cc.NoCacheListed()),
		Stored:     received,
		Age:        age,
		Lifetime:   life,
	}, vary, true
}

func ctxOf(resp *http.Response) context.Context {
	if resp.Request != nil {
		return resp.Request.Context()
	}
	return context.Background()
}

// revalidated freshens the stored response a 304 selects (RFC 9111
// §4.3.4) and returns it as the answer, or nil when the 304 selects
// nothing stored.
//
// The 304 selects the stored response whose validators were sent when its
// ETag matches that response's (strongly, or weakly for a weak one), or,
// without an ETag, when its Last-Modified is the stored one's. A 304 with
// no validator at all selects it too: §4.3.4 would select nothing, but
// such 304s are common (go-httpbin's /cache) and the response being
// validated is unambiguous.
func (c *Client) revalidated(cs *cacheCall, resp *http.Response) *http.Response {
	e := cs.selected
	if final, _ := cacheURL(requestURL(resp)); e == nil || e.URL != final {
		return nil
	}
	selects := false
	if t, ok := responseETag(resp.Header); ok {
		et, ok := responseETag(e.Header)
		selects = ok && (t.StrongMatch(et) || t.Weak && t.WeakMatch(et))
	} else if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		elm, err := http.ParseTime(e.Header.Get("Last-Modified"))
		selects = err == nil && elm.Equal(lm)
	} else {
		selects = len(resp.Header["Etag"]) == 0
	}
	if !selects {
		return nil
	}
	f := c.freshen(e, resp.Header, cs.sent)
	c.keep(ctxOf(resp), cs.keyOf(), f)
	answer := storedResponse(f, resp.Request, f.Age, cacheRevalidated)
	answer.Proto, answer.ProtoMajor, answer.ProtoMinor, answer.TLS = resp.Proto, resp.ProtoMajor, resp.ProtoMinor, resp.TLS
	return answer
}

// freshen returns a copy of e whose header is updated with h304 per RFC
// 9111 §3.2 — every field of the 304 replaces the stored one, except the
// fields that are not stored, Content-Length, Content-Range, and the
// fields the stored body depends on: Content-Encoding, and the digests of
// the content, Content-MD5 and Content-Digest (a 304 has none) — received
// now, its age and lifetime computed again.
func (c *Client) freshen(e *Entry, h304 http.Header, sent time.Time) *Entry {
	h := e.Header.Clone()
	skip := httpsyntax.ConnectionListed(h304)
	for k, vs := range h304 {
		if httpsyntax.HopByHop(k) || skip[k] {
			continue
		}
		switch k {
		case "Content-Length", "Content-Range", "Content-Encoding", "Content-Md5", "Content-Digest", CacheHeader:
			continue
		}
		h[k] = slices.Clone(vs)
	}
	cc := httpsyntax.ParseCacheControl(h)
	for k := range cc.NoCacheListed() {
		delete(h, k) // §5.2.2.4, as in storedHeader
	}
	now := c.now()
	f := *e
	f.Header, f.Stored = h, now
	age, ageValid := initialAge(h304, sent, now)
	f.Age = age
	f.Lifetime = lifetime(h, cc, e.StatusCode, now)
	if !ageValid {
		f.Lifetime = 0
	}
	return &f
}

// cacheHead updates the stored GET response that the HEAD request of cs
// would have selected with its 200 response (RFC 9111 §4.3.5): freshened
// by its header fields when the validators and the Content-Length it has
// match the stored response's, else made stale.
func (c *Client) cacheHead(cs *cacheCall, resp *http.Response) {
	ctx, key := ctxOf(resp), cs.keyOf()
	e := c.cacheLookup(ctx, key, cs.partitionOf(), cs.orig.Header)
	if final, _ := cacheURL(requestURL(resp)); e == nil || e.URL != final {
		return
	}
	h := resp.Header
	same := true
	if vs := h["Etag"]; len(vs) > 0 {
		t, ok := responseETag(h)
		et, eok := responseETag(e.Header)
		same = ok && eok && t == et
	}
	if vs := h["Last-Modified"]; len(vs) > 0 {
		same = same && slices.Equal(vs, e.Header["Last-Modified"])
	}
	if vs := h["Content-Length"]; len(vs) > 0 {
		same = same && vs[0] == strconv.Itoa(len(e.Body))
	}
	if same {
		c.keep(ctx, key, c.freshen(e, h, cs.sent))
		return
	}
	cp := *e
	cp.Lifetime = 0
	c.keep(ctx, key, &cp)
}

// keep stores f, updated by a 304 or a HEAD, under key, unless the update
// brought a no-store (§5.2.2.5): then nothing is stored under key any more.
func (c *Client) keep(ctx context.Context, key string, f *Entry) {
	if !mayStore(httpsyntax.ParseCacheControl(f.Header), f.StatusCode) {
		if err := c.cache.store.Delete(ctx, key); err != nil {
			c.cacheLog("delete", key, err)
		}
		return
	}
	if err := c.cache.store.Put(ctx, key, f); err != nil {
		c.cacheLog("put", key, err)
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
		if u == nil || !httpsyntax.SameOrigin(target, u) {
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
