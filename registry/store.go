package registry

import (
	"sync/atomic"
)

// Store holds the current snapshot behind one atomic pointer: readers never
// lock, and a reload swaps in a fully built snapshot or nothing.
type Store struct {
	cur atomic.Pointer[Snapshot]
}

// NewStore returns a store holding s (which may be nil until first load).
func NewStore(s *Snapshot) *Store {
	st := &Store{}
	if s != nil {
		st.cur.Store(s)
	}
	return st
}

// Load returns the current snapshot, or nil before the first successful load.
func (st *Store) Load() *Snapshot { return st.cur.Load() }

// Swap installs s and returns the previous snapshot.
func (st *Store) Swap(s *Snapshot) *Snapshot { return st.cur.Swap(s) }
