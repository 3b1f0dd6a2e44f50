package semhttp

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// cursorPager serves n pages at /items?cursor=<64 hex digits> (as opaque
// API cursors are), or at /items?cursor=<decimal> when short, each with a
// Link rel="next" to the following one.
type cursorPager struct {
	n     uint64
	short bool
}

func (p cursorPager) url(i uint64) string {
	if p.short {
		return "/items?cursor=" + strconv.FormatUint(i, 10)
	}
	return fmt.Sprintf("/items?cursor=%064x", i)
}

func (p cursorPager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	base := 16
	if p.short {
		base = 10
	}
	i, err := strconv.ParseUint(r.URL.Query().Get("cursor"), base, 64)
	if err != nil || i >= p.n {
		http.NotFound(w, r)
		return
	}
	if i+1 < p.n {
		w.Header().Set("Link", "<"+p.url(i+1)+`>; rel="next"`)
	}
	io.WriteString(w, "[]")
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// pagingCheckpoints are the page counts at which walkHeap samples the live
// heap.
var pagingCheckpoints = []int{10, 100, 1000, 10_000, 100_000}

// walkHeap runs a paging iterator to its end and returns the live heap
// at each of pagingCheckpoints, measured from inside the loop body (while
// the iterator holds whatever it keeps), and the number of pages.
func walkHeap(t *testing.T, pages func(yield func(Outcome, error) bool)) (heap []uint64, n int) {
	t.Helper()
	for out, err := range pages {
		if err != nil {
			t.Fatalf("page %d: %v", n+1, err)
		}
		io.Copy(io.Discard, out.Response().Body)
		n++
		if len(heap) < len(pagingCheckpoints) && n == pagingCheckpoints[len(heap)] {
			heap = append(heap, liveHeap())
		}
	}
	return heap, n
}

// Costs that stay flat as the pages walked grow (issue 21): what LinkPages
// and RangePages keep while they walk does not grow with the number of
// pages. LinkPages used to remember every page's URL to detect loops:
// 16 MiB at 100,000 pages with 64-character cursors; it now keeps one
// checkpoint URL (Brent's cycle detection). RangePages keeps only where
// the next page starts (its start strictly increases, so it cannot loop).
// Not parallel: it reads the process's heap.
func TestPagesMemoryFlat(t *testing.T) {
	const pages = 100_000
	last := pagingCheckpoints[len(pagingCheckpoints)-1]
	check := func(t *testing.T, what string, heap []uint64, n int) {
		t.Helper()
		if n != pages || len(heap) != len(pagingCheckpoints) {
			t.Fatalf("%s: walked %d pages, want %d", what, n, pages)
		}
		var b strings.Builder
		for k, h := range heap {
			fmt.Fprintf(&b, " %d: %+.1f KiB;", pagingCheckpoints[k], (float64(h)-float64(heap[0]))/1024)
		}
		t.Logf("%s: live heap growth from page 10 at page%s", what, b.String())
		// 100 pages in, the iterator and client have settled; 99,900
		// pages later they may hold a few KiB more (runtime noise), not
		// a byte per page.
		if grew := int64(heap[len(heap)-1]) - int64(heap[1]); grew > 64<<10 {
			t.Errorf("%s: live heap grew by %d KiB from page 100 to page %d", what, grew>>10, last)
		}
	}

	for _, short := range []bool{false, true} {
		name := "LinkPages, 64-character cursors"
		if short {
			name = "LinkPages, decimal cursors"
		}
		t.Run(name, func(t *testing.T) {
			p := cursorPager{n: pages, short: short}
			c := New(WithTransport(handlerTransport{p}))
			req, _ := http.NewRequest(http.MethodGet, "http://api.test"+p.url(0), nil)
			heap, n := walkHeap(t, c.LinkPages(req))
			check(t, name, heap, n)
		})
	}
	t.Run("RangePages", func(t *testing.T) {
		c := New(WithTransport(handlerTransport{&itemsHandler{n: pages}}))
		req, _ := http.NewRequest(http.MethodGet, "http://api.test/items", nil)
		heap, n := walkHeap(t, c.RangePages(req, "items", 1))
		check(t, "RangePages", heap, n)
	})
}

// loopPager serves pages /p/0 ... /p/(mu+lam-1), each linking to the
// next, and the last back to /p/mu: a tail of mu pages and a loop of lam.
type loopPager struct {
	mu, lam int
	fetched int
}

func (p *loopPager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.fetched++
	i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
	if err != nil || i < 0 || i >= p.mu+p.lam {
		http.NotFound(w, r)
		return
	}
	next := i + 1
	if next == p.mu+p.lam {
		next = p.mu
	}
	w.Header().Set("Link", "</p/"+strconv.Itoa(next)+`>; rel="next"`)
}

// A loop ends LinkPages with ErrPagingLoop within the documented bound:
// when the first link back to a page already fetched comes after n pages,
// at most 3n pages are fetched (Brent's cycle detection, in constant
// memory; the old detector, which kept every URL, stopped at n). A page
// linking to itself is caught at once.
func TestLinkPagesLoopBound(t *testing.T) {
	t.Parallel()
	worst := 0.0
	for _, mu := range []int{0, 1, 2, 3, 5, 17, 100, 1000} {
		for _, lam := range []int{1, 2, 3, 4, 7, 64, 65, 100, 1000} {
			p := &loopPager{mu: mu, lam: lam}
			c := New(WithTransport(handlerTransport{p}))
			req, _ := http.NewRequest(http.MethodGet, "http://api.test/p/0", nil)
			yielded := 0
			var err error
			for _, e := range c.LinkPages(req) {
				if err = e; e != nil {
					break
				}
				yielded++
			}
			n := mu + lam
			if !errors.Is(err, ErrPagingLoop) || yielded != p.fetched {
				t.Fatalf("tail %d, loop %d: %d pages yielded, %d fetched, err %v", mu, lam, yielded, p.fetched, err)
			}
			if p.fetched < n || p.fetched > 3*n || lam == 1 && p.fetched != n {
				t.Errorf("tail %d, loop %d: loop reported after %d pages; first link back after %d", mu, lam, p.fetched, n)
			}
			worst = max(worst, float64(p.fetched)/float64(n))
		}
	}
	t.Logf("at most %.2f× the pages before the first link back", worst)
}
