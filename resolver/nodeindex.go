package resolver

// The owner-name index of a table: a persistent hash array mapped trie,
// so that a change to a few owners makes a new index sharing everything
// else with the old one (queries keep reading the old one until the new
// table is swapped in) at a cost that grows with the change, not with
// the zone.

import "math/bits"

// nodeIndex maps lowercased wire-form owner names to their nodes. The
// zero value is empty. with and without return new indexes; an index is
// never changed once built, so any number of readers may use it.
type nodeIndex struct {
	root *hamtNode
	n    int
}

// hamtNode holds, for each set bit of bitmap (5 bits of the name's hash
// at this depth), one entry: a leaf or a deeper node. Below the last
// 5 bits of the hash a node holds colliding leaves in a list (coll).
type hamtNode struct {
	bitmap  uint32
	entries []hamtEntry
	coll    bool
}

type hamtEntry struct {
	hash uint64
	key  string
	val  *node
	sub  *hamtNode
}

// hamtBits is the number of hash bits each level uses.
const hamtBits = 5

// nameHash is FNV-1a over the name: the same for the string and the byte
// form, and cheap for names of at most 255 bytes.
func nameHash[T string | []byte](k T) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(k); i++ {
		h ^= uint64(k[i])
		h *= 1099511628211
	}
	return h
}

// get returns the node of key, or nil.
func (x *nodeIndex) get(key []byte) *node { return x.root.find(nameHash(key), key) }

// find looks key, whose hash is h, up below n.
func (n *hamtNode) find(h uint64, key []byte) *node {
	for shift := uint(0); n != nil; shift += hamtBits {
		if n.coll {
			for i := range n.entries {
				if n.entries[i].key == string(key) {
					return n.entries[i].val
				}
			}
			return nil
		}
		bit := uint32(1) << ((h >> shift) & 31)
		if n.bitmap&bit == 0 {
			return nil
		}
		e := &n.entries[bits.OnesCount32(n.bitmap&(bit-1))]
		if e.sub != nil {
			n = e.sub
			continue
		}
		if e.key == string(key) {
			return e.val
		}
		return nil
	}
	return nil
}

// getString is get for a string key.
func (x *nodeIndex) getString(key string) *node { return x.get([]byte(key)) }

// len is the number of names in the index.
func (x *nodeIndex) len() int { return x.n }

// with returns the index with key mapped to val (added or replaced).
func (x nodeIndex) with(key string, val *node) nodeIndex {
	root := x.root
	if root == nil {
		root = &hamtNode{}
	}
	r, added := root.with(nameHash(key), 0, key, val)
	if added {
		x.n++
	}
	x.root = r
	return x
}

// without returns the index without key.
func (x nodeIndex) without(key string) nodeIndex {
	if x.root == nil {
		return x
	}
	r, removed := x.root.without(nameHash(key), 0, key)
	if removed {
		x.n--
		x.root = r
	}
	return x
}

func (n *hamtNode) with(h uint64, shift uint, key string, val *node) (*hamtNode, bool) {
	if n.coll || shift >= 64 {
		c := &hamtNode{coll: true, entries: append([]hamtEntry(nil), n.entries...)}
		for i := range c.entries {
			if c.entries[i].key == key {
				c.entries[i].val = val
				return c, false
			}
		}
		c.entries = append(c.entries, hamtEntry{hash: h, key: key, val: val})
		return c, true
	}
	bit := uint32(1) << ((h >> shift) & 31)
	i := bits.OnesCount32(n.bitmap & (bit - 1))
	c := &hamtNode{bitmap: n.bitmap}
	if n.bitmap&bit == 0 {
		c.bitmap |= bit
		c.entries = make([]hamtEntry, 0, len(n.entries)+1)
		c.entries = append(c.entries, n.entries[:i]...)
		c.entries = append(c.entries, hamtEntry{hash: h, key: key, val: val})
		c.entries = append(c.entries, n.entries[i:]...)
		return c, true
	}
	c.entries = append([]hamtEntry(nil), n.entries...)
	e := &c.entries[i]
	switch {
	case e.sub != nil:
		sub, added := e.sub.with(h, shift+hamtBits, key, val)
		e.sub = sub
		return c, added
	case e.key == key:
		e.val = val
		return c, false
	}
	// Two names share these bits: both go one level down.
	sub := &hamtNode{}
	if shift+hamtBits >= 64 {
		sub.coll = true
	}
	sub, _ = sub.with(e.hash, shift+hamtBits, e.key, e.val)
	sub, _ = sub.with(h, shift+hamtBits, key, val)
	*e = hamtEntry{sub: sub}
	return c, true
}

func (n *hamtNode) without(h uint64, shift uint, key string) (*hamtNode, bool) {
	if n.coll {
		for i := range n.entries {
			if n.entries[i].key == key {
				c := &hamtNode{coll: true, entries: make([]hamtEntry, 0, len(n.entries)-1)}
				c.entries = append(c.entries, n.entries[:i]...)
				c.entries = append(c.entries, n.entries[i+1:]...)
				return c, true
			}
		}
		return n, false
	}
	bit := uint32(1) << ((h >> shift) & 31)
	if n.bitmap&bit == 0 {
		return n, false
	}
	i := bits.OnesCount32(n.bitmap & (bit - 1))
	e := n.entries[i]
	if e.sub != nil {
		sub, removed := e.sub.without(h, shift+hamtBits, key)
		if !removed {
			return n, false
		}
		c := &hamtNode{bitmap: n.bitmap, entries: append([]hamtEntry(nil), n.entries...)}
		switch {
		case len(sub.entries) == 0:
			c.bitmap &^= bit
			c.entries = append(c.entries[:i], c.entries[i+1:]...)
		case len(sub.entries) == 1 && sub.entries[0].sub == nil:
			c.entries[i] = sub.entries[0] // a lone leaf moves up
		default:
			c.entries[i].sub = sub
		}
		return c, true
	}
	if e.key != key {
		return n, false
	}
	c := &hamtNode{bitmap: n.bitmap &^ bit, entries: make([]hamtEntry, 0, len(n.entries)-1)}
	c.entries = append(c.entries, n.entries[:i]...)
	c.entries = append(c.entries, n.entries[i+1:]...)
	return c, true
}

// indexOf builds the index of m, inserting in place into nodes no one
// else holds yet, which costs a fraction of len(m) persistent inserts.
func indexOf(m map[string]*node) nodeIndex {
	x := nodeIndex{root: &hamtNode{}}
	for k, v := range m {
		if x.root.insert(nameHash(k), 0, k, v) {
			x.n++
		}
	}
	return x
}

// insert adds or replaces key in n and the nodes below it, in place.
func (n *hamtNode) insert(h uint64, shift uint, key string, val *node) bool {
	if n.coll {
		for i := range n.entries {
			if n.entries[i].key == key {
				n.entries[i].val = val
				return false
			}
		}
		n.entries = append(n.entries, hamtEntry{hash: h, key: key, val: val})
		return true
	}
	bit := uint32(1) << ((h >> shift) & 31)
	i := bits.OnesCount32(n.bitmap & (bit - 1))
	if n.bitmap&bit == 0 {
		n.bitmap |= bit
		n.entries = append(n.entries, hamtEntry{})
		copy(n.entries[i+1:], n.entries[i:])
		n.entries[i] = hamtEntry{hash: h, key: key, val: val}
		return true
	}
	e := &n.entries[i]
	switch {
	case e.sub != nil:
		return e.sub.insert(h, shift+hamtBits, key, val)
	case e.key == key:
		e.val = val
		return false
	}
	sub := &hamtNode{coll: shift+hamtBits >= 64}
	sub.insert(e.hash, shift+hamtBits, e.key, e.val)
	sub.insert(h, shift+hamtBits, key, val)
	*e = hamtEntry{sub: sub}
	return true
}
