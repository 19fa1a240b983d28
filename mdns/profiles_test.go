package mdns

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
)

// ianaSource parses the official registry from ../shared (skipped
// outside CI when it is missing).
func ianaSource(tb testing.TB) *registry.Source {
	tb.Helper()
	f, err := os.Open(testutil.SharedFile(tb, "iana", "service-names-port-numbers.xml"))
	require.NoError(tb, err)
	defer f.Close()
	src, err := registry.ParseXML(f, "service-names-port-numbers.xml")
	require.NoError(tb, err)
	return src
}

// ianaSnapshot is the registry the README recommends, the official XML,
// with or without the profile layer.
func ianaSnapshot(t *testing.T, profiles bool) *registry.Snapshot {
	t.Helper()
	snap, err := registry.Build(ianaSource(t))
	require.NoError(t, err)
	if profiles {
		snap = snap.WithProfiles(registry.BuiltinProfiles())
	}
	return snap
}

// ad builds an advertisement as received from the network (an SRV with
// an address), TXT strings in order.
func ad(instance, typ string, port uint16, txt ...string) *Advertisement {
	svc, proto, _ := strings.Cut(typ, ".")
	return &Advertisement{Instance: instance, Service: svc, Proto: proto, Domain: "local", Host: "device.local.",
		Port: port, TXT: txt, HasTXT: len(txt) > 0, Origin: "test"}
}

func withSubtypes(a *Advertisement, st ...string) *Advertisement {
	a.Subtypes = st
	return a
}

// Advertisements written from the public specifications and from what
// documented real devices send: each must get no warning or error with
// the full IANA registry and the profiles.
func realDevices() map[string]*Advertisement {
	return map[string]*Advertisement{
		"IPP Everywhere printer": withSubtypes(ad("HP LaserJet M404", "_ipp._tcp", 631,
			"txtvers=1", "qtotal=1", "rp=ipp/print", "ty=HP LaserJet Pro M404dn", "adminurl=http://printer.local./",
			"note=Office 2", "priority=0", "product=(HP LaserJet Pro M404dn)",
			"pdl=application/octet-stream,image/urf,image/pwg-raster,application/pdf",
			"UUID=564e4333-4c38-3442-3633-a45d36c0ffee", "URF=W8,SRGB24,CP1,DM3,IS1,MT1-2-8,OB10,PQ4-5,RS600",
			"TLS=1.2", "Color=F", "Duplex=T", "kind=document,envelope", "PaperMax=legal-A4", "mopria-certified=2.0",
			"Scan=T", "Fax=F", "air=none", "printer-type=0x80900E"), "_universal", "_print"),
		"AirPrint over TLS": ad("HP LaserJet M404", "_ipps._tcp", 631, "txtvers=1", "rp=ipp/print", "pdl=image/urf,application/pdf",
			"TLS=1.3", "UUID=564e4333-4c38-3442-3633-a45d36c0ffee"),
		"eSCL scanner": ad("HP LaserJet M404", "_uscan._tcp", 8080, "txtvers=1", "vers=2.63", "rs=eSCL", "ty=HP LaserJet Pro M404dn",
			"pdl=application/pdf,image/jpeg", "cs=color,grayscale", "is=platen,adf", "duplex=T", "UUID=564e4333-4c38-3442-3633-a45d36c0ffee"),
		"Apple TV, AirPlay": ad("Living Room", "_airplay._tcp", 7000, "acl=0", "btaddr=AA:BB:CC:DD:EE:01", "deviceid=AA:BB:CC:DD:EE:FF",
			"fex=1d9/St5/FbwooQ", "features=0x4A7FDFD5,0xBC177FDE", "flags=0x3344", "gid=8B4E7C3A-1D2F-4A6B-9C8D-7E6F5A4B3C2D",
			"igl=1", "gcgl=1", "model=AppleTV6,2", "protovers=1.1", "pi=2E1A5B6C-7D8E-4F90-A1B2-C3D4E5F60718",
			"psi=0F1E2D3C-4B5A-4968-8776-655443322110", "pk=0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
			"srcvers=670.6.2", "osvers=16.0", "vv=2"),
		"Apple TV, RAOP": ad("AABBCCDDEEFF@Living Room", "_raop._tcp", 7000, "cn=0,1,2,3", "da=true", "et=0,3,5",
			"ft=0x4A7FDFD5,0xBC177FDE", "md=0,1,2", "am=AppleTV6,2", "sf=0x3344", "tp=UDP", "vn=65537", "vs=670.6.2",
			"ov=16.0", "vv=2", "pk=0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"),
		"Chromecast": ad("Chromecast-6a5d2e1c7b3f4e0a9c8d1f2e3d4c5b6a", "_googlecast._tcp", 8009,
			"id=6a5d2e1c7b3f4e0a9c8d1f2e3d4c5b6a", "cd=0F1E2D3C4B5A49688776655443322110", "rm=", "ve=05", "md=Chromecast",
			"ic=/setup/icon.png", "fn=Living Room TV", "ca=465413", "st=0", "bs=FA8FCA3C61F4", "nf=1", "rs="),
		"Matter, commissionable": withSubtypes(ad("DD200C20D25AE5F7", "_matterc._udp", 5540,
			"D=3840", "CM=1", "VP=65521+32769", "DT=257", "DN=Kitchen Light", "SII=5000", "SAI=300", "T=1", "PH=33"),
			"_L3840", "_S15", "_V65521", "_CM"),
		"Matter, operational": withSubtypes(ad("2906C908D115D362-8FC7772401CD0696", "_matter._tcp", 5540,
			"SII=5000", "SAI=300", "SAT=4000", "T=0", "ICD=0"), "_I2906C908D115D362"),
		"HomeKit accessory": ad("Eve Energy 1A2B", "_hap._tcp", 80, "c#=2", "ff=0", "id=AA:BB:CC:DD:EE:FF", "md=Eve Energy",
			"pv=1.1", "s#=1", "sf=0", "ci=7", "sh=q4Xf3w=="),
		"Thread border agent": ad("OpenThread BR", "_meshcop._udp", 49154, "rv=1", "tv=1.3.0", "nn=OpenThread-1234",
			"vn=OpenThread", "mn=BorderRouter", "sb=\x00\x00\x00\x31", "xp=\x12\x34\x56\x78\x9a\xbc\xde\xf0"),
		"NAS, SMB":          ad("nas", "_smb._tcp", 445, ""),
		"NAS, Time Machine": ad("nas", "_adisk._tcp", 9, "sys=waMa=0,adVF=0x100", "dk0=adVN=TimeMachine,adVF=0x82"),
		"NAS, device info":  ad("nas", "_device-info._tcp", 0, "model=Xserve"),
		"NAS, web admin":    ad("nas", "_http._tcp", 5000, "path=/"),
		"Home Assistant": ad("Home", "_home-assistant._tcp", 8123, "location_name=Home",
			"uuid=0f1e2d3c4b5a49688776655443322110", "version=2024.6.0", "base_url=http://192.0.2.5:8123",
			"internal_url=http://192.0.2.5:8123", "requires_api_password=True"),
	}
}

func TestProfilesRealDevices(t *testing.T) {
	v := NewValidator(ianaSnapshot(t, true), Policy{})
	for name, a := range realDevices() {
		t.Run(name, func(t *testing.T) {
			for _, f := range v.Validate(a) {
				// Port differences (info) are fine: the device picks its port.
				assert.Less(t, f.Severity, SeverityWarning, "%s: %s %s: %s", name, f.Severity, f.Rule, f.Message)
			}
		})
	}
}

func TestProfilesDefects(t *testing.T) {
	v := NewValidator(ianaSnapshot(t, true), Policy{})
	mc := func(txt ...string) *Advertisement { return ad("DD200C20D25AE5F7", "_matterc._udp", 5540, txt...) }
	tests := []struct {
		name string
		a    *Advertisement
		want []want
		// source is what the first finding's Source must start with.
		source string
	}{
		{"matter discriminator missing", mc("CM=1"), []want{{RuleTXTKeyMissing, SeverityWarning, "D"}}, "profile:matterc (Matter"},
		{"matter discriminator over 12 bits", mc("D=4096", "CM=1"), []want{{RuleTXTValue, SeverityWarning, "D=4096"}}, "profile:matterc"},
		{"matter commissioning mode 3", mc("D=1", "CM=3"), []want{{RuleTXTValue, SeverityWarning, "CM=3"}}, "profile:matterc"},
		{"matter discriminator without value", mc("D", "CM=1"), []want{{RuleTXTValue, SeverityWarning, "D"}}, "profile:matterc"},
		{"matter key outside a complete profile", mc("D=1", "CM=1", "XX=1"),
			[]want{{RuleTXTUnknownKey, SeverityWarning, "XX"}}, "profile:matterc"},
		{"matter unknown subtype", withSubtypes(mc("D=1", "CM=1"), "_X1"), []want{{RuleSubtype, SeverityInfo, "_X1"}}, "profile:matterc"},
		{"homekit category missing", ad("Eve", "_hap._tcp", 661, "c#=2", "id=AA:BB:CC:DD:EE:FF", "md=Eve", "s#=1", "sf=0"),
			[]want{{RuleTXTKeyMissing, SeverityWarning, "ci"}}, "profile:hap"},
		{"homekit device id not a MAC", ad("Eve", "_hap._tcp", 661, "c#=2", "id=eve", "md=Eve", "s#=1", "sf=0", "ci=7"),
			[]want{{RuleTXTValue, SeverityWarning, "id=eve"}}, "profile:hap"},
		{"ipp resource path with a slash", ad("P", "_ipp._tcp", 631, "txtvers=1", "rp=/ipp/print"),
			[]want{{RuleTXTValue, SeverityWarning, "rp=/ipp/print"}}, "profile:ipp (Bonjour Printing"},
		{"ipp txtvers 2", ad("P", "_ipp._tcp", 631, "txtvers=2"), []want{{RuleTXTValue, SeverityWarning, "txtvers=2"}}, "profile:ipp"},
		{"ipp pdl not MIME", ad("P", "_ipp._tcp", 631, "txtvers=1", "pdl=pdf,urf"),
			[]want{{RuleTXTValue, SeverityWarning, "pdl=pdf,urf"}}, "profile:ipp"},
		{"ipp unknown key is info", ad("P", "_ipp._tcp", 631, "txtvers=1", "colour=1"),
			[]want{{RuleTXTUnknownKey, SeverityInfo, "colour"}}, "profile:ipp"},
		{"airplay device id", ad("TV", "_airplay._tcp", 7000, "deviceid=living-room"),
			[]want{{RuleTXTValue, SeverityWarning, "deviceid=living-room"}}, "profile:airplay"},
		{"chromecast unknown key is info", ad("CC", "_googlecast._tcp", 8009, "id=6a5d", "zz=1"),
			[]want{{RuleTXTUnknownKey, SeverityInfo, "zz"}}, "profile:googlecast"},
		{"spotify path missing", ad("Speaker", "_spotify-connect._tcp", 4070, "VERSION=1.0"),
			[]want{{RuleUnregistered, SeverityInfo, "_spotify-connect"}, {RuleTXTKeyMissing, SeverityWarning, "CPath"}}, "profile:spotify-connect"},
		{"profile-only type", ad("Kitchen", "_esphomelib._tcp", 6053, "version=2024.5.0", "mac=a0b1c2d3e4f5"),
			[]want{{RuleUnregistered, SeverityInfo, "_esphomelib"}}, "profile:esphomelib (ESPHome"},
		{"profiled name over 15 characters", ad("TV", "_androidtvremote2._tcp", 6466, "bt=AA:BB:CC:DD:EE:FF"),
			[]want{{RuleNameSyntax, SeverityWarning, "_androidtvremote2"}, {RuleUnregistered, SeverityInfo, "_androidtvremote2"}}, "profile:androidtvremote2"},
		{"unknown type", ad("X", "_acme-widget._tcp", 1234), []want{{RuleUnregistered, SeverityWarning, "_acme-widget"}}, ""},
		{"usual port of a profile-only type", ad("S", "_esphomelib._tcp", 80),
			[]want{{RuleUnregistered, SeverityInfo, "_esphomelib"}, {RulePortMismatch, SeverityInfo, "80"}}, "profile:esphomelib"},
		{"workstation has no keys", ad("pc", "_workstation._tcp", 9, "a=1"),
			[]want{{RuleTXTKeysNone, SeverityInfo, "a"}}, "profile:workstation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := v.Validate(tt.a)
			assert.Equal(t, tt.want, reduce(got))
			if len(got) > 0 {
				assert.True(t, strings.HasPrefix(got[0].Source, tt.source), "source %q, want prefix %q", got[0].Source, tt.source)
			}
		})
	}
}

// Without the profile layer the registry alone speaks, as before.
func TestProfilesOff(t *testing.T) {
	v := NewValidator(ianaSnapshot(t, false), Policy{})
	cast := realDevices()["Chromecast"]
	got := reduce(v.Validate(cast))
	assert.Equal(t, []want{{RuleTXTKeysNone, SeverityInfo,
		"id,cd,rm,ve,md,ic,fn,ca,st,bs,nf,rs"}}, got)
	f := v.Validate(cast)[0]
	assert.True(t, strings.HasPrefix(f.Source, "registry:service-names-port-numbers.xml"), f.Source)
	assert.Equal(t, "registry", f.Layer())
	// A type only a profile knows is unregistered again.
	sp := ad("Speaker", "_spotify-connect._tcp", 4070, "CPath=/zc")
	assert.Equal(t, []want{{RuleUnregistered, SeverityWarning, "_spotify-connect"}}, reduce(v.Validate(sp)))
}

// Every profile, as a table: an advertisement built from the profile
// itself (each key with a value in its syntax) gets no warning or error,
// and each defect the profile can describe gets its rule: a required key
// left out is txt-key-missing, a value outside a key's syntax txt-value,
// and, for a complete profile, an extra key txt-unknown-key at warning.
func TestEveryProfile(t *testing.T) {
	v := NewValidator(ianaSnapshot(t, true), Policy{})
	for _, p := range registry.BuiltinProfiles().All() {
		for _, proto := range p.Protocols {
			typ := "_" + p.Name + "._" + string(proto)
			port := uint16(1)
			if p.Port > 0 {
				port = uint16(p.Port)
			}
			var good []string
			for _, k := range p.Keys {
				if strings.HasSuffix(k.Name, "*") {
					continue
				}
				if ex, ok := k.Syntax.Example(); ok {
					good = append(good, k.Name+"="+ex)
				}
			}
			t.Run(typ, func(t *testing.T) {
				a := ad("Device", typ, port, good...)
				if len(good) == 0 {
					a.TXT, a.HasTXT = []string{""}, true
				}
				for _, f := range v.Validate(a) {
					if f.Rule == RuleNameSyntax && len(p.Name) > 15 {
						continue // deployed over RFC 6335's 15 characters: a warning by design
					}
					assert.Less(t, f.Severity, SeverityWarning, "%s: %s %s", f.Rule, f.Message, f.Evidence)
				}
				for _, k := range p.Keys {
					var others []string // the good TXT without this key
					for _, s := range good {
						if !strings.EqualFold(txtKey(s), k.Name) {
							others = append(others, s)
						}
					}
					if k.Required {
						assert.Contains(t, rulesOf(v.Validate(ad("Device", typ, port, others...))), RuleTXTKeyMissing+" "+k.Name)
					}
					if bad, ok := k.Syntax.Counterexample(); ok && !strings.HasSuffix(k.Name, "*") {
						txt := append([]string{k.Name + "=" + bad}, others...)
						assert.Contains(t, rulesOf(v.Validate(ad("Device", typ, port, txt...))), RuleTXTValue+" "+k.Name+"="+bad)
					}
				}
				if p.Complete {
					extra := append(slices.Clone(good), "zz-extra=1")
					got := v.Validate(ad("Device", typ, port, extra...))
					assert.Contains(t, rulesOf(got), RuleTXTUnknownKey+" zz-extra")
					for _, f := range got {
						if f.Rule == RuleTXTUnknownKey {
							assert.Equal(t, SeverityWarning, f.Severity)
						}
					}
				}
			})
		}
	}
}

// rulesOf lists "rule evidence" for each finding.
func rulesOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+" "+f.Evidence)
	}
	return out
}
