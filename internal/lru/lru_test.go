package lru

import (
	"slices"
	"testing"
)

// op is one step of a test: "put" (with cost), "get" or "remove".
type op struct {
	do   string
	key  string
	cost int64
}

func put(k string, cost int64) op { return op{"put", k, cost} }
func get(k string) op             { return op{do: "get", key: k} }
func remove(k string) op          { return op{do: "remove", key: k} }

func TestCache(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		max     int64
		ops     []op
		want    []string // keys, most recently used first
		cost    int64
		evicted []string // in order
	}{
		{"empty", 3, nil, nil, 0, nil},
		{"count bound: oldest goes", 2, []op{put("a", 1), put("b", 1), put("c", 1)},
			[]string{"c", "b"}, 2, []string{"a"}},
		{"get marks used", 2, []op{put("a", 1), put("b", 1), get("a"), put("c", 1)},
			[]string{"c", "a"}, 2, []string{"b"}},
		{"get of a missing key changes nothing", 2, []op{put("a", 1), put("b", 1), get("x"), put("c", 1)},
			[]string{"c", "b"}, 2, []string{"a"}},
		{"replace keeps one entry and marks it used", 2, []op{put("a", 1), put("b", 1), put("a", 1), put("c", 1)},
			[]string{"c", "a"}, 2, []string{"b"}},
		{"replace with a larger cost evicts others", 10, []op{put("a", 4), put("b", 4), put("c", 2), put("c", 9)},
			[]string{"c"}, 9, []string{"a", "b"}},
		{"replace with a smaller cost", 10, []op{put("a", 4), put("b", 4), put("a", 1)},
			[]string{"a", "b"}, 5, nil},
		{"one put evicts several", 10, []op{put("a", 3), put("b", 3), put("c", 3), put("d", 7)},
			[]string{"d", "c"}, 10, []string{"a", "b"}},
		{"exactly full evicts nothing", 6, []op{put("a", 3), put("b", 3)},
			[]string{"b", "a"}, 6, nil},
		{"too large is not stored", 5, []op{put("a", 2), put("b", 6)},
			[]string{"a"}, 2, nil},
		{"too large drops the stale entry only", 5, []op{put("a", 2), put("b", 2), put("a", 6)},
			[]string{"b"}, 2, []string{"a"}},
		{"remove does not call onEvict", 5, []op{put("a", 2), put("b", 2), remove("a"), remove("x")},
			[]string{"b"}, 2, nil},
		{"zero cost entries are free", 1, []op{put("a", 0), put("b", 1), put("c", 0)},
			[]string{"c", "b", "a"}, 1, nil},
		{"negative cost counts as zero", 1, []op{put("a", -5), put("b", 1)},
			[]string{"b", "a"}, 1, nil},
		{"bound zero holds only free entries", 0, []op{put("a", 1), put("b", 0)},
			[]string{"b"}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var evicted []string
			c := New(tc.max, func(k string, v int) {
				if v != len(k) {
					t.Errorf("onEvict(%q, %d): value is not the key's", k, v)
				}
				evicted = append(evicted, k)
			})
			for _, o := range tc.ops {
				switch o.do {
				case "put":
					c.Put(o.key, len(o.key), o.cost)
				case "get":
					if v, ok := c.Get(o.key); ok && v != len(o.key) {
						t.Errorf("Get(%q) = %d", o.key, v)
					}
				case "remove":
					c.Remove(o.key)
				}
				check(t, c)
			}
			if got := keys(c); !slices.Equal(got, tc.want) {
				t.Errorf("keys %q, want %q", got, tc.want)
			}
			if c.Len() != len(tc.want) || c.Cost() != tc.cost {
				t.Errorf("Len %d Cost %d, want %d and %d", c.Len(), c.Cost(), len(tc.want), tc.cost)
			}
			if !slices.Equal(evicted, tc.evicted) {
				t.Errorf("evicted %q, want %q", evicted, tc.evicted)
			}
		})
	}
}

func TestPutResult(t *testing.T) {
	t.Parallel()
	c := New[int, int](2, nil) // a nil onEvict is allowed
	if !c.Put(1, 1, 2) || c.Put(2, 2, 3) || !c.Put(3, 3, 1) {
		t.Fatal("Put reports a fitting entry as not stored, or an oversized one as stored")
	}
	if _, ok := c.Get(1); ok {
		t.Fatal("1 not evicted")
	}
}

// keys lists the keys from the most to the least recently used.
func keys[K comparable, V any](c *Cache[K, V]) []K {
	var ks []K
	for n := c.root.next; n != &c.root; n = n.next {
		ks = append(ks, n.key)
	}
	return ks
}

// check verifies the invariants: the list and the index hold the same
// entries, the costs add up to Cost, and Cost is within the bound.
func check[K comparable, V any](t *testing.T, c *Cache[K, V]) {
	t.Helper()
	var sum int64
	count := 0
	for n := c.root.next; n != &c.root; n = n.next {
		if n.next.prev != n || n.prev.next != n {
			t.Fatalf("list broken at %v", n.key)
		}
		if c.items[n.key] != n {
			t.Fatalf("index and list disagree on %v", n.key)
		}
		if n.cost < 0 {
			t.Fatalf("negative cost %d for %v", n.cost, n.key)
		}
		sum += n.cost
		count++
	}
	if count != c.Len() || count != len(c.items) {
		t.Fatalf("list has %d entries, Len %d, index %d", count, c.Len(), len(c.items))
	}
	if sum != c.Cost() {
		t.Fatalf("costs add up to %d, Cost %d", sum, c.Cost())
	}
	if c.Cost() > c.max {
		t.Fatalf("Cost %d above the bound %d", c.Cost(), c.max)
	}
}

// FuzzCache runs operations on a Cache and on a plain slice kept in
// recency order, and compares them after each step: same entries in the
// same order, same evictions, invariants hold.
func FuzzCache(f *testing.F) {
	f.Add(uint8(3), []byte{1, 0, 1, 1, 1, 1, 1, 2, 1, 1, 3, 2})
	f.Add(uint8(10), []byte{1, 0, 4, 1, 1, 4, 0, 0, 0, 1, 2, 3, 1, 2, 11, 2, 1, 0, 1, 1, 9})
	f.Add(uint8(0), []byte{1, 0, 0, 1, 1, 1, 2, 0, 0})
	f.Add(uint8(5), []byte{1, 0, 5, 1, 0, 6, 1, 1, 2, 1, 2, 2, 0, 1, 0, 1, 3, 2})
	f.Fuzz(func(t *testing.T, max uint8, ops []byte) {
		var model []entry // most recently used first
		var evicted, want []int
		c := New(int64(max), func(k, v int) { evicted = append(evicted, k) })
		find := func(k int) int {
			return slices.IndexFunc(model, func(e entry) bool { return e.key == k })
		}
		for i := 0; i+2 < len(ops); i += 3 {
			k, cost, val := int(ops[i+1]%8), int64(ops[i+2])%(int64(max)+3), i
			switch ops[i] % 3 {
			case 0: // get
				j := find(k)
				v, ok := c.Get(k)
				if ok != (j >= 0) || ok && v != model[j].val {
					t.Fatalf("Get(%d) = %d, %v; model index %d", k, v, ok, j)
				}
				if ok {
					e := model[j]
					model = append([]entry{e}, slices.Delete(model, j, j+1)...)
				}
			case 1: // put
				j := find(k)
				stored := c.Put(k, val, cost)
				if stored != (cost <= int64(max)) {
					t.Fatalf("Put(%d, cost %d) stored %v with bound %d", k, cost, stored, max)
				}
				if j >= 0 {
					model = slices.Delete(model, j, j+1)
					if !stored {
						want = append(want, k)
					}
				}
				if stored {
					model = append([]entry{{k, val, cost}}, model...)
					for total(model) > int64(max) {
						want = append(want, model[len(model)-1].key)
						model = model[:len(model)-1]
					}
				}
			case 2: // remove
				c.Remove(k)
				if j := find(k); j >= 0 {
					model = slices.Delete(model, j, j+1)
				}
			}
			check(t, c)
			got := keys(c)
			wantKeys := make([]int, len(model))
			for j, e := range model {
				wantKeys[j] = e.key
			}
			if !slices.Equal(got, wantKeys) || c.Cost() != total(model) {
				t.Fatalf("step %d: keys %v cost %d, model %v cost %d", i/3, got, c.Cost(), wantKeys, total(model))
			}
			if !slices.Equal(evicted, want) {
				t.Fatalf("step %d: evicted %v, want %v (least recently used first)", i/3, evicted, want)
			}
		}
	})
}

// entry is an entry of FuzzCache's model.
type entry struct {
	key, val int
	cost     int64
}

func total(model []entry) int64 {
	var n int64
	for _, e := range model {
		n += e.cost
	}
	return n
}
