package semhttp

import (
	"net/url"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/semhttp/semhttp/internal/httpsyntax"
	"github.com/semhttp/semhttp/internal/lru"
)

// redirectmemory.go remembers permanent redirects (308, and 301 for GET
// and HEAD) per Client, bounded, so that later requests go straight to the
// new URL, and never across credentials.

// defaultRedirectMemory is how many permanent redirects (301, 308) a Client
// remembers by default; the least recently used is forgotten first.
const defaultRedirectMemory = 1024

// memKey is the identity of a URL for the memory and loop detection: the
// URL without userinfo and fragment (neither is sent as part of the target).
// memoryKey is what a remembered redirect is filed under: the old URL
// (without userinfo and fragment) and the hash of the credentials the
// request carried, so that what one user was redirected to is never
// applied to another user's request.
type memoryKey struct {
	url       url.URL
	partition string
}

func memKey(u *url.URL, partition string) memoryKey {
	if u == nil {
		return memoryKey{partition: partition}
	}
	k := *u
	k.User = nil
	k.Fragment, k.RawFragment = "", ""
	return memoryKey{url: k, partition: partition}
}

// redirectMemory remembers permanent redirects, bounded in entries and in
// bytes, least recently used forgotten first. It is safe for concurrent
// use.
type redirectMemory struct {
	size atomic.Int64 // entries, read without the lock on the no-redirect path
	mu   sync.Mutex
	// Each entry costs its size in bytes, and at least memEntryFloor: with
	// a bound of n·memEntryFloor, n entries fit, and no more bytes than
	// that (a few long Locations crowd out the rest).
	lru *lru.Cache[memoryKey, memEntry]
}

// memEntryFloor is the least an entry costs, the bytes allowed per entry
// of WithRedirectMemory's count (1 KiB: 1 MiB for the default 1024).
const memEntryFloor = 1 << 10

// memEntry is a remembered redirect, filed under the old URL and
// credentials.
type memEntry struct {
	to          url.URL // the new URL, without userinfo
	code        int
	ownFragment bool
}

func newRedirectMemory(max int) *redirectMemory {
	return &redirectMemory{lru: lru.New[memoryKey, memEntry](int64(max)*memEntryFloor, nil)}
}

func (m *redirectMemory) get(u *url.URL, partition string) (memEntry, bool) {
	k := memKey(u, partition)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Get(k)
}

func (m *redirectMemory) put(from *url.URL, partition string, to *url.URL, code int, ownFragment bool) {
	e := memEntry{to: *to, code: code, ownFragment: ownFragment}
	e.to.User = nil
	if !ownFragment {
		e.to.Fragment, e.to.RawFragment = "", ""
	}
	k := memKey(from, partition)
	// What the entry holds: both URLs (kept as url.URL fields), the
	// partition, the bookkeeping.
	cost := int64(len(k.url.Path)+len(k.url.RawPath)+len(k.url.RawQuery)+len(k.url.Host)+len(k.url.Opaque)+
		len(e.to.Path)+len(e.to.RawPath)+len(e.to.RawQuery)+len(e.to.Host)+len(e.to.Fragment)+len(e.to.Opaque)+
		len(partition)) + 2*int64(unsafe.Sizeof(url.URL{})) + 64
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lru.Put(k, e, max(cost, memEntryFloor))
	m.size.Store(int64(m.lru.Len()))
}

// target is the remembered new URL for a request to cur: cur's userinfo
// is kept only on the same origin (as a relative Location would), and
// cur's fragment is inherited unless the Location had its own.
func (e *memEntry) target(cur *url.URL) *url.URL {
	t := e.to
	if httpsyntax.SameOrigin(cur, &t) {
		t.User = cur.User
	}
	if !e.ownFragment {
		t.Fragment, t.RawFragment = cur.Fragment, cur.RawFragment
	}
	return &t
}
