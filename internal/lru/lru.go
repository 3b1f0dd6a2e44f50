// Package lru is a least-recently-used cache bounded by the total cost of
// its entries. It is the one LRU of semhttp: the response store bounds it
// by bytes, the memory of permanent redirects by count (every entry costs
// 1).
package lru

// Cache maps keys to values, keeping the total cost of its entries at or
// below a bound by evicting the least recently used entries first. It is
// not safe for concurrent use: callers hold their own lock. Make one with
// [New].
type Cache[K comparable, V any] struct {
	max     int64
	cost    int64
	items   map[K]*node[K, V]
	root    node[K, V] // sentinel: root.next is the most recently used
	onEvict func(K, V)
}

// node is an entry, in a circular doubly linked list through root.
type node[K comparable, V any] struct {
	prev, next *node[K, V]
	key        K
	val        V
	cost       int64
}

// New returns an empty cache bounded by a total cost of max. onEvict, if
// not nil, is called (from within Put) with each entry Put drops to make
// room, and with the entry it drops when a Put under its key is too large
// to store; it is not called for entries Put replaces or Remove removes.
// onEvict must not use the cache.
func New[K comparable, V any](max int64, onEvict func(K, V)) *Cache[K, V] {
	c := &Cache[K, V]{max: max, items: make(map[K]*node[K, V]), onEvict: onEvict}
	c.root.prev, c.root.next = &c.root, &c.root
	return c
}

// Get returns the value stored under key, and whether there was one, and
// marks it the most recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	n, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.toFront(n)
	return n.val, true
}

// Put stores val under key with the given cost (a negative cost counts as
// zero), replacing the value already there, marks it the most recently
// used, and then evicts least recently used entries until the total cost
// is at most the bound. An entry whose cost alone exceeds the bound is not
// stored: Put then drops the entry already under key (it would be stale),
// leaves the others alone and returns false. So the total cost never
// exceeds the bound.
func (c *Cache[K, V]) Put(key K, val V, cost int64) bool {
	cost = max(cost, 0)
	n, ok := c.items[key]
	if cost > c.max {
		if ok {
			c.drop(n)
			if c.onEvict != nil {
				c.onEvict(n.key, n.val)
			}
		}
		return false
	}
	if ok {
		c.cost += cost - n.cost
		n.val, n.cost = val, cost
		c.toFront(n)
	} else {
		n = &node[K, V]{key: key, val: val, cost: cost}
		c.items[key] = n
		c.cost += cost
		c.link(n)
	}
	for c.cost > c.max {
		old := c.root.prev // never n: n alone fits
		c.drop(old)
		if c.onEvict != nil {
			c.onEvict(old.key, old.val)
		}
	}
	return true
}

// Remove removes the entry under key, if any, without calling onEvict.
func (c *Cache[K, V]) Remove(key K) {
	if n, ok := c.items[key]; ok {
		c.drop(n)
	}
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int { return len(c.items) }

// Cost returns the total cost of the entries.
func (c *Cache[K, V]) Cost() int64 { return c.cost }

// link puts n at the front of the list.
func (c *Cache[K, V]) link(n *node[K, V]) {
	n.prev, n.next = &c.root, c.root.next
	n.prev.next, n.next.prev = n, n
}

func (c *Cache[K, V]) unlink(n *node[K, V]) {
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
}

func (c *Cache[K, V]) toFront(n *node[K, V]) {
	if c.root.next != n {
		c.unlink(n)
		c.link(n)
	}
}

// drop removes n from the list, the index and the total.
func (c *Cache[K, V]) drop(n *node[K, V]) {
	c.unlink(n)
	delete(c.items, n.key)
	c.cost -= n.cost
}
