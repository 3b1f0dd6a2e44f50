package semhttp

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/semhttp/semhttp/internal/httpsyntax"
)

// cache.go owns revalidation: the pipeline's cache stages (cacheBefore,
// cacheAfter, cacheRevalidated), the body tee that stores a response while
// the caller reads it, the freshening of stored responses by a 304, and
// invalidation after writes. Keys, partitions and variants are in
// cachekey.go; the store in store.go.
//
// The cache is a private client cache (RFC 9111 §1): one per Client, like a
// browser's. It never answers from storage without asking the origin: every
// GET goes to the server, made conditional with the stored validators, and
// a 304 is answered with the stored representation. Freshness (max-age,
// Expires) is not used.

// CacheHeader is the response header semhttp adds to a response it
// answered from its cache: its value is "revalidated" (the server answered
// 304 to the client's own validators). [Client.Do] returns such a response
// as a 200 in place of the 304.
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
	if cc.store == nil || x.noCache() {
		return req
	}
	cs := &x.cache
	switch req.Method {
	case http.MethodGet, "":
		// Many GETs carry no header at all: then there is nothing to
		// look up in it.
		hdr := len(req.Header) > 0
		if hdr && (len(req.Header["Range"]) > 0 || httpsyntax.HasDirective(req.Header, "no-store")) {
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
		// The key is "GET " and a URL, whose query may hold a secret.
		method, u, _ := strings.Cut(key, " ")
		c.logger.Debug("semhttp: cache store failed", "op", op, "key", method+" "+httpsyntax.RedactRaw(u), "err", err)
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
	if err == nil {
		err = checkStatus(resp)
	}
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
		!httpsyntax.HasDirective(h, "no-store") && len(h["Content-Range"]) == 0
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
	skip := httpsyntax.ConnectionListed(h304)
	for k, vs := range h304 {
		if httpsyntax.HopByHop(k) || skip[k] {
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
