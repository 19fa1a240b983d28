package resolver

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNodeIndexProperty: after any sequence of persistent inserts,
// replacements and deletions the index agrees with a map, and every
// earlier version still reads as it did.
func TestNodeIndexProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	var x nodeIndex
	want := map[string]*node{}
	type version struct {
		x    nodeIndex
		want map[string]*node
	}
	var versions []version
	for step := range 6000 {
		k := "name" + strconv.Itoa(r.IntN(1500))
		if r.IntN(3) == 0 {
			x = x.without(k)
			delete(want, k)
		} else {
			v := &node{}
			x = x.with(k, v)
			want[k] = v
		}
		if step%500 == 0 {
			versions = append(versions, version{x, clone(want)})
		}
	}
	versions = append(versions, version{x, want})
	for vi, v := range versions {
		require.Equal(t, len(v.want), v.x.len(), "version %d", vi)
		for i := range 1500 {
			k := "name" + strconv.Itoa(i)
			require.Same(t, v.want[k], v.x.getString(k), "version %d, %s", vi, k)
		}
	}
	// indexOf gives the same as inserting one by one.
	b := indexOf(want)
	assert.Equal(t, len(want), b.len())
	for k, v := range want {
		require.Same(t, v, b.getString(k))
	}
	assert.Nil(t, b.getString("absent"))
	assert.Nil(t, (&nodeIndex{}).getString("x"))
}

func clone(m map[string]*node) map[string]*node {
	c := make(map[string]*node, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestNodeIndexCollisions: names whose 64-bit hashes are equal end in a
// list at the bottom, and insert, replace, delete and lookup work there,
// persistent and in place.
func TestNodeIndexCollisions(t *testing.T) {
	const h = 0xdeadbeefcafef00d
	a, b, c := &node{}, &node{}, &node{}
	root := &hamtNode{}
	root, _ = root.with(h, 0, "a", a)
	root, _ = root.with(h, 0, "b", b)
	root2, added := root.with(h, 0, "c", c)
	require.True(t, added)
	assert.Same(t, a, root2.find(h, []byte("a")))
	assert.Same(t, b, root2.find(h, []byte("b")))
	assert.Same(t, c, root2.find(h, []byte("c")))
	assert.Nil(t, root.find(h, []byte("c")), "the older version lacks c")
	root3, removed := root2.without(h, 0, "b")
	require.True(t, removed)
	assert.Nil(t, root3.find(h, []byte("b")))
	assert.Same(t, b, root2.find(h, []byte("b")))
	assert.Same(t, c, root3.find(h, []byte("c")))
	_, removed = root3.without(h, 0, "zz")
	assert.False(t, removed)

	m := &hamtNode{}
	assert.True(t, m.insert(h, 0, "a", a))
	assert.True(t, m.insert(h, 0, "b", b))
	assert.False(t, m.insert(h, 0, "b", c), "a replacement")
	assert.Same(t, c, m.find(h, []byte("b")))
	assert.Same(t, a, m.find(h, []byte("a")))
}
