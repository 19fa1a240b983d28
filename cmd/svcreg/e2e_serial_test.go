package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// soa asks the daemon for its SOA over UDP.
func (p *daemonProc) soa() (*dns.SOA, error) {
	m := new(dns.Msg)
	m.SetQuestion(p.zone, dns.TypeSOA)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, p.dnsAddr)
	if err != nil {
		return nil, err
	}
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.SOA); ok {
			return s, nil
		}
	}
	return nil, dns.ErrRdata
}

func (p *daemonProc) serial() uint32 {
	p.t.Helper()
	s, err := p.soa()
	require.NoError(p.t, err)
	return s.Serial
}

// TestE2ESerialAcrossRestarts: the SOA serial never goes backwards when
// the daemon restarts (dns.serial_file, default in the cache directory).
// The registry is a services file, which has no date, and the policy
// increment, so the policy's serial is 1 every time: only the serial
// file can keep it from going back.
func TestE2ESerialAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "services")
	state := filepath.Join(dir, "cache", "svcreg", "zone-svc.test.serial") // XDG_CACHE_HOME=dir/cache
	writeAtomic(t, reg, servicesV1)
	regSection := "registry:\n  sources: [\"" + reg + "\"]\n  format: services\n  watch: false\n"
	const increment = "  serial_policy: increment\n"

	p := startDaemonDNS(t, dir, regSection, increment)
	first := p.serial()
	assert.Equal(t, uint32(1), first, "date serial of an undated registry")
	soa, err := p.soa()
	require.NoError(t, err)
	assert.Equal(t, "ns1.svc.test.", soa.Ns, "the SOA follows the zone served")
	assert.Equal(t, "hostmaster.svc.test.", soa.Mbox)
	readState := func() (zone string, serial uint32) {
		b, err := os.ReadFile(state)
		require.NoError(t, err)
		var st struct {
			Zone   string `json:"zone"`
			Serial uint32 `json:"serial"`
		}
		require.NoError(t, json.Unmarshal(b, &st), "%s", b)
		return st.Zone, st.Serial
	}
	zone, kept := readState()
	assert.Equal(t, "svc.test.", zone)
	assert.Equal(t, first, kept)

	// A reload that changes the zone raises the serial, and the file.
	writeAtomic(t, reg, servicesV2)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	p.waitFor("serial raised by the reload", 20*time.Second, func() bool { return p.serial() == first+1 })
	_, kept = readState()
	assert.Equal(t, first+1, kept)
	assert.Equal(t, 0.0, p.metric(`svcreg_dns_serial_file_errors_total{op="write"}`))
	p.stop(syscall.SIGTERM, 5*time.Second)

	// Restart on the same data: the same serial, not the date serial.
	p = startDaemonDNS(t, dir, regSection, increment)
	assert.Equal(t, first+1, p.serial(), "same zone after a restart: same serial")
	assert.Contains(t, p.log.String(), "DNS serial restored")
	p.stop(syscall.SIGTERM, 5*time.Second)

	// Restart on other data (even the older version): a higher serial,
	// so a secondary holding first+1 transfers it.
	writeAtomic(t, reg, servicesV1)
	p = startDaemonDNS(t, dir, regSection, increment)
	assert.Equal(t, first+2, p.serial(), "changed zone after a restart: a higher serial")
	_, kept = readState()
	assert.Equal(t, first+2, kept)
	p.stop(syscall.SIGTERM, 5*time.Second)

	// dns.serial_file: none keeps nothing: the date serial again, and
	// the file is left alone.
	p = startDaemonDNS(t, dir, regSection, increment+"  serial_file: none\n")
	assert.Equal(t, first, p.serial())
	_, kept = readState()
	assert.Equal(t, first+2, kept)
	p.stop(syscall.SIGTERM, 5*time.Second)

	// An explicit path, relative to the config file.
	p = startDaemonDNS(t, dir, regSection, increment+"  serial_file: state/serial.json\n")
	assert.Equal(t, first, p.serial(), "a new file: the date serial")
	_, err = os.Stat(filepath.Join(dir, "state", "serial.json"))
	assert.NoError(t, err)
	p.stop(syscall.SIGTERM, 5*time.Second)
}
