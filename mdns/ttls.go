package mdns

import (
	"encoding/json"
	"fmt"
	"iter"

	"github.com/miekg/dns"
)

// TTLs holds the TTL last seen for each record type of an instance: its
// PTR, SRV and TXT and its host's A and AAAA. It is a value, so copying
// an advertisement copies it, and reading or setting a TTL costs no
// hashing or allocation (the packet path does both for every record).
// The zero value holds none. In JSON it is an object from the type
// number to the TTL ({"12": 4500, "33": 120}).
type TTLs struct {
	ttl [len(ttlTypes)]uint32
	has uint8 // bit i: ttl[i] is held
}

// ttlTypes are the record types TTLs holds, in their order there.
var ttlTypes = [...]uint16{dns.TypePTR, dns.TypeSRV, dns.TypeTXT, dns.TypeA, dns.TypeAAAA}

func ttlIndex(t uint16) int {
	switch t {
	case dns.TypePTR:
		return 0
	case dns.TypeSRV:
		return 1
	case dns.TypeTXT:
		return 2
	case dns.TypeA:
		return 3
	case dns.TypeAAAA:
		return 4
	}
	return -1
}

// TTLsOf holds the TTLs of m; types other than PTR, SRV, TXT, A and AAAA
// are left out.
func TTLsOf(m map[uint16]uint32) TTLs {
	var t TTLs
	for typ, ttl := range m {
		t.Set(typ, ttl)
	}
	return t
}

// Set records ttl for type typ (a type TTLs does not hold is ignored).
func (t *TTLs) Set(typ uint16, ttl uint32) {
	if i := ttlIndex(typ); i >= 0 {
		t.ttl[i] = ttl
		t.has |= 1 << i
	}
}

// Get returns the TTL of type typ and whether one is held.
func (t TTLs) Get(typ uint16) (uint32, bool) {
	i := ttlIndex(typ)
	if i < 0 || t.has&(1<<i) == 0 {
		return 0, false
	}
	return t.ttl[i], true
}

// Of is the TTL of type typ, 0 when none is held.
func (t TTLs) Of(typ uint16) uint32 {
	v, _ := t.Get(typ)
	return v
}

// Has reports whether a TTL of type typ is held.
func (t TTLs) Has(typ uint16) bool {
	_, ok := t.Get(typ)
	return ok
}

// Delete forgets the TTL of type typ.
func (t *TTLs) Delete(typ uint16) {
	if i := ttlIndex(typ); i >= 0 {
		t.ttl[i] = 0
		t.has &^= 1 << i
	}
}

// Len is the number of types held.
func (t TTLs) Len() int {
	n := 0
	for i := range t.ttl {
		if t.has&(1<<i) != 0 {
			n++
		}
	}
	return n
}

// IsZero reports whether no TTL is held (an offline advertisement).
func (t TTLs) IsZero() bool { return t.has == 0 }

// All yields the types held and their TTLs: PTR, SRV, TXT, A, AAAA.
func (t TTLs) All() iter.Seq2[uint16, uint32] {
	return func(yield func(uint16, uint32) bool) {
		for i, typ := range ttlTypes {
			if t.has&(1<<i) != 0 && !yield(typ, t.ttl[i]) {
				return
			}
		}
	}
}

// Map returns the TTLs as a map from type to TTL (nil when none).
func (t TTLs) Map() map[uint16]uint32 {
	if t.IsZero() {
		return nil
	}
	m := make(map[uint16]uint32, t.Len())
	for typ, ttl := range t.All() {
		m[typ] = ttl
	}
	return m
}

// String is the TTLs in map form, for test failures and logs.
func (t TTLs) String() string { return fmt.Sprint(t.Map()) }

// MarshalJSON writes the TTLs as an object from type number to TTL.
func (t TTLs) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("{}"), nil
	}
	return json.Marshal(t.Map())
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *TTLs) UnmarshalJSON(b []byte) error {
	var m map[uint16]uint32
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("mdns TTLs: %w", err)
	}
	*t = TTLsOf(m)
	return nil
}
