package resolver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRRLSlipVerdicts: the verdict sequence for one source past its rate,
// per slip setting. Slip 0 never truncates (BIND/Knot "slip 0"), slip 1
// truncates every response over the rate, slip N every N-th.
func TestRRLSlipVerdicts(t *testing.T) {
	const S, D, T = rrlSend, rrlDrop, rrlSlip
	for _, tc := range []struct {
		name string
		slip int
		want []rrlVerdict // rate 2, then 6 more in the same second
	}{
		{"slip 0 never", 0, []rrlVerdict{S, S, D, D, D, D, D, D}},
		{"slip 1 always", 1, []rrlVerdict{S, S, T, T, T, T, T, T}},
		{"slip 2 default", DefaultRRLSlip, []rrlVerdict{S, S, D, T, D, T, D, T}},
		{"slip 3", 3, []rrlVerdict{S, S, D, D, T, D, D, T}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.RRLRate, cfg.RRLSlip = 2, tc.slip
			cfg, err := cfg.withDefaults()
			assert.NoError(t, err)
			assert.Equal(t, tc.slip, cfg.RRLSlip, "withDefaults keeps the slip as given")
			l := newRRL(cfg)
			now := l.epoch.Add(1500 * time.Millisecond) // well inside one second
			src := netip.MustParseAddr("192.0.2.7")
			got := make([]rrlVerdict, len(tc.want))
			for i := range got {
				got[i] = l.check(src, now)
			}
			assert.Equal(t, tc.want, got)
			// The next second starts a fresh budget.
			assert.Equal(t, S, l.check(src, now.Add(time.Second)))
		})
	}
}

// TestDefaultRRLSlip: the zero Config leaves slip at 0 (never), the
// documented defaults at 2.
func TestDefaultRRLSlip(t *testing.T) {
	assert.Equal(t, DefaultRRLSlip, DefaultConfig().RRLSlip)
	c, err := Config{RRLRate: 5}.withDefaults()
	assert.NoError(t, err)
	assert.Zero(t, c.RRLSlip)
	_, err = Config{RRLRate: 5, RRLSlip: -1}.withDefaults()
	assert.ErrorIs(t, err, ErrConfig)
}
