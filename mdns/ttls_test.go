package mdns

import (
	"encoding/json"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTTLs(t *testing.T) {
	var x TTLs
	assert.True(t, x.IsZero())
	assert.Equal(t, 0, x.Len())
	assert.Nil(t, x.Map())

	x.Set(dns.TypeSRV, 120)
	x.Set(dns.TypePTR, 0) // a goodbye is a TTL held
	x.Set(dns.TypeAAAA, 10)
	x.Set(dns.TypeMX, 99) // not an instance's record: ignored
	got, ok := x.Get(dns.TypePTR)
	assert.True(t, ok)
	assert.Equal(t, uint32(0), got)
	assert.False(t, x.Has(dns.TypeTXT))
	assert.False(t, x.Has(dns.TypeMX))
	assert.Equal(t, uint32(120), x.Of(dns.TypeSRV))
	assert.Equal(t, 3, x.Len())

	var order []uint16
	for typ := range x.All() {
		order = append(order, typ)
	}
	assert.Equal(t, []uint16{dns.TypePTR, dns.TypeSRV, dns.TypeAAAA}, order)

	x.Delete(dns.TypePTR)
	assert.False(t, x.Has(dns.TypePTR))
	assert.Equal(t, map[uint16]uint32{dns.TypeSRV: 120, dns.TypeAAAA: 10}, x.Map())

	// The store's expiries are the instance's own three types.
	assert.Equal(t, [3]uint16{dns.TypePTR, dns.TypeSRV, dns.TypeTXT}, expiryTypes)
	assert.Equal(t, -1, expiryIndex(dns.TypeA))

	// A copy is independent (TTLs is a value).
	y := x
	y.Set(dns.TypeSRV, 1)
	assert.Equal(t, uint32(120), x.Of(dns.TypeSRV))
}

func TestTTLsJSON(t *testing.T) {
	tests := []struct {
		name string
		in   map[uint16]uint32
		want string
	}{
		{"none", nil, `{}`},
		{"instance and host", map[uint16]uint32{dns.TypePTR: 4500, dns.TypeSRV: 120, dns.TypeA: 120}, `{"1":120,"12":4500,"33":120}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(TTLsOf(tt.in))
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(b))
			var back TTLs
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, TTLsOf(tt.in), back)
		})
	}
	// An advertisement without TTLs (offline) leaves the key out.
	b, err := json.Marshal(Advertisement{Instance: "x"})
	require.NoError(t, err)
	assert.NotContains(t, string(b), `"ttl"`)
	var bad TTLs
	assert.Error(t, json.Unmarshal([]byte(`{"x":1}`), &bad))
}
