package registry

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
)

// DefaultServicesPath is the host's services file DefaultSources reads.
const DefaultServicesPath = "/etc/services"

// BuiltinName names the built-in table as a source.
const BuiltinName = "builtin"

// builtinEntry is one row of the built-in table: a DNS-SD service type
// on one or more protocols.
type builtinEntry struct {
	name     string
	protos   []Protocol
	port     int32 // -1: the type has no fixed port
	desc     string
	kind     TXTKind
	keys     []TXTKey
	subtypes []string
	refs     []string
}

func builtinKeys(names ...string) []TXTKey {
	out := make([]TXTKey, len(names))
	for i, n := range names {
		out[i] = TXTKey{Name: n}
	}
	return out
}

// builtinTable is written by hand for svcreg (it is not generated from the
// IANA files): the DNS-SD service types most often seen on a LAN, with the
// port their specification fixes (none when the service picks one) and
// the TXT keys their specification defines. Descriptions are our own.
// It is a function so that every caller gets fresh slices.
func builtinTable() []builtinEntry {
	tcp, udp, tcpUDP := []Protocol{ProtoTCP}, []Protocol{ProtoUDP}, []Protocol{ProtoTCP, ProtoUDP}
	keys := builtinKeys
	userPassPath := func() []TXTKey {
		return []TXTKey{{Name: "u", Hint: "<username>"}, {Name: "p", Hint: "<password>"}, {Name: "path", Hint: "<path>"}}
	}
	// Bonjour Printing Specification 1.2 and PWG 5100.14 (IPP Everywhere).
	printKeys := func(extra ...string) []TXTKey {
		return keys(append([]string{"txtvers", "qtotal", "rp", "ty", "adminurl", "note", "priority", "product", "pdl", "UUID"}, extra...)...)
	}
	ippExtra := []string{"URF", "TLS", "Color", "Duplex", "kind", "PaperMax", "printer-state", "printer-type", "air", "mopria-certified"}
	escl := keys("txtvers", "vers", "adminurl", "representation", "rs", "ty", "note", "pdl", "UUID", "cs", "is", "duplex")
	hap := keys("c#", "ff", "id", "md", "pv", "s#", "sf", "ci", "sh")
	daap := keys("txtvers", "Version", "iTSh Version", "Machine ID", "Database ID", "Machine Name", "Password")
	return []builtinEntry{
		{"http", tcp, 80, "Web pages and web applications over HTTP", TXTDefined,
			[]TXTKey{{Name: "u", Hint: "<username>"}, {Name: "p", Hint: "<password>"}, {Name: "path", Hint: "<path to document>"}},
			[]string{"_printer"}, []string{"RFC9110", "RFC6763"}},
		{"https", tcp, 443, "Web pages and web applications over HTTP with TLS", TXTDefined,
			[]TXTKey{{Name: "u", Hint: "<username>"}, {Name: "p", Hint: "<password>"}, {Name: "path", Hint: "<path to document>"}},
			nil, []string{"RFC9110", "RFC6763"}},
		{"ipp", tcp, 631, "Printing with the Internet Printing Protocol", TXTDefined, printKeys(ippExtra...),
			[]string{"_universal", "_print"}, []string{"RFC8011", "PWG5100.14", "Bonjour Printing Specification 1.2"}},
		{"ipps", tcp, 631, "Printing with the Internet Printing Protocol over TLS", TXTDefined, printKeys(ippExtra...),
			[]string{"_universal", "_print"}, []string{"RFC8011", "RFC7472", "PWG5100.14"}},
		{"printer", tcp, 515, "Printing with the line printer daemon protocol (LPD)", TXTDefined,
			printKeys("Transparent", "Binary", "TBCP"), nil, []string{"RFC1179", "Bonjour Printing Specification 1.2"}},
		{"pdl-datastream", tcp, 9100, "Printing by sending page description language straight to the printer's socket", TXTDefined,
			printKeys("usb_MFG", "usb_MDL"), nil, []string{"Bonjour Printing Specification 1.2"}},
		{"scanner", tcp, -1, "Network scanner (Bonjour Scanning)", TXTDefined,
			keys("txtvers", "ty", "adminurl", "note", "mfg", "mdl", "button", "flatbed", "feeder"), nil, []string{"Bonjour Scanning Specification 1.0"}},
		{"uscan", tcp, -1, "Driverless scanning with eSCL (AirScan) over HTTP", TXTDefined, escl, nil, []string{"Mopria eSCL Specification"}},
		{"uscans", tcp, -1, "Driverless scanning with eSCL (AirScan) over HTTPS", TXTDefined, escl, nil, []string{"Mopria eSCL Specification"}},
		{"airplay", tcp, -1, "Apple AirPlay screen and media streaming receiver", TXTDefined,
			keys("deviceid", "features", "flags", "model", "pk", "pi", "srcvers", "vv", "acl", "gid", "igl", "protovers", "psi"), nil, nil},
		{"raop", tcp, -1, "Apple AirPlay audio receiver (Remote Audio Output Protocol)", TXTDefined,
			keys("txtvers", "ch", "cn", "et", "md", "pw", "sr", "ss", "tp", "vn", "vs", "am", "sf", "da", "ft", "pk"), nil, nil},
		{"googlecast", tcp, 8009, "Google Cast receiver (Chromecast and Cast-enabled devices)", TXTDefined,
			keys("id", "cd", "rm", "ve", "md", "ic", "fn", "ca", "st", "bs", "nf", "rs"), nil, nil},
		{"hap", tcpUDP, -1, "HomeKit accessory (HomeKit Accessory Protocol over IP on TCP, over Thread on UDP)", TXTDefined,
			hap, nil, []string{"HomeKit Accessory Protocol Specification"}},
		{"homekit", tcp, -1, "HomeKit home hub", TXTProprietary, nil, nil, nil},
		{"matter", tcp, 5540, "Matter node on an operational network (operational discovery)", TXTDefined,
			keys("SII", "SAI", "SAT", "T", "ICD"), nil, []string{"Matter Core Specification, section 4.3"}},
		{"matterc", udp, -1, "Matter node waiting to be commissioned (commissionable node discovery)", TXTDefined,
			keys("D", "VP", "CM", "DT", "DN", "RI", "PH", "PI", "SII", "SAI", "SAT", "T", "ICD"), nil, []string{"Matter Core Specification, section 4.3"}},
		{"matterd", udp, -1, "Matter commissioner offering to commission nodes (commissioner discovery)", TXTDefined,
			keys("VP", "DT", "DN", "SII", "SAI", "SAT"), nil, []string{"Matter Core Specification, section 4.3"}},
		{"ssh", tcp, 22, "Remote login and command execution over SSH", TXTDefined,
			[]TXTKey{{Name: "u", Hint: "<username>"}, {Name: "p", Hint: "<password>"}}, nil, []string{"RFC4251"}},
		{"sftp-ssh", tcp, 22, "File transfer with SFTP over SSH", TXTDefined, userPassPath(), nil, []string{"RFC4251"}},
		{"smb", tcp, 445, "Windows and Samba file sharing (SMB over TCP)", TXTDefined, userPassPath(), nil, nil},
		{"afpovertcp", tcp, 548, "Apple Filing Protocol file sharing over TCP", TXTDefined, userPassPath(), nil, nil},
		{"nfs", tcp, 2049, "Network File System export", TXTDefined,
			[]TXTKey{{Name: "path", Hint: "<path to mount point>"}}, nil, []string{"RFC7530"}},
		{"webdav", tcp, 80, "File access with WebDAV over HTTP", TXTDefined, userPassPath(), nil, []string{"RFC4918"}},
		{"webdavs", tcp, 443, "File access with WebDAV over HTTPS", TXTDefined, userPassPath(), nil, []string{"RFC4918"}},
		{"daap", tcp, 3689, "Shared music library (Digital Audio Access Protocol, iTunes)", TXTDefined, daap, nil, nil},
		{"dpap", tcp, 8770, "Shared photo library (Digital Photo Access Protocol, iPhoto)", TXTDefined,
			keys("txtvers", "Version", "iPSh Version", "Machine ID", "Machine Name", "Password"), nil, nil},
		{"rfb", tcp, 5900, "Remote desktop with the Remote Framebuffer protocol (VNC, Screen Sharing)", TXTNone, nil, nil, []string{"RFC6143"}},
		{"rdp", tcp, 3389, "Windows Remote Desktop", TXTNone, nil, nil, nil},
		{"workstation", tcp, 9, "Presence of a computer on the network (advertised on the discard port)", TXTNone, nil, nil, nil},
		{"device-info", tcp, -1, "Device model information for a host; a record type, not a service to connect to", TXTDefined,
			[]TXTKey{{Name: "model", Hint: "<model identifier>"}, {Name: "osxvers", Hint: "<macOS major version>"}}, nil, nil},
		{"companion-link", tcp, -1, "Apple device-to-device companion link (Handoff, Universal Control)", TXTProprietary, nil, nil, nil},
		{"sleep-proxy", udp, -1, "Bonjour Sleep Proxy answering for sleeping hosts", TXTNone, nil, nil, nil},
		{"adisk", tcp, -1, "Network disk for Time Machine backups", TXTDefined,
			[]TXTKey{{Name: "sys", Hint: "waMa=<MAC>,adVF=<flags>"}, {Name: "dkX", Hint: "(one per disk: dk0, dk1, ...)"}}, nil, nil},
		{"mqtt", tcp, 1883, "MQTT message broker", TXTDefined,
			[]TXTKey{{Name: "topics", Hint: "<topic to subscribe to for broker information>"}}, nil, []string{"OASIS MQTT 5.0"}},
		{"secure-mqtt", tcp, 8883, "MQTT message broker over TLS", TXTUnknown, nil, nil, []string{"OASIS MQTT 5.0"}},
		{"spotify-connect", tcp, -1, "Spotify Connect playback device", TXTDefined, keys("CPath", "VERSION", "Stack"), nil, nil},
		{"home-assistant", tcp, 8123, "Home Assistant home automation server", TXTDefined,
			keys("location_name", "uuid", "version", "base_url", "internal_url", "external_url", "requires_api_password"), nil, nil},
		{"trel", udp, -1, "Thread Radio Encapsulation Link (Thread over the LAN)", TXTDefined, keys("xa", "xp"), nil, []string{"Thread 1.3 Specification"}},
		{"coap", udp, 5683, "Constrained Application Protocol for small devices", TXTUnknown, nil, nil, []string{"RFC7252"}},
		{"coaps", udp, 5684, "Constrained Application Protocol over DTLS", TXTUnknown, nil, nil, []string{"RFC7252"}},
		{"ftp", tcp, 21, "File transfer with FTP", TXTDefined, userPassPath(), nil, []string{"RFC959"}},
		{"telnet", tcp, 23, "Remote terminal with Telnet", TXTDefined,
			[]TXTKey{{Name: "u", Hint: "<username>"}, {Name: "p", Hint: "<password>"}}, nil, []string{"RFC854"}},
		{"rtsp", tcp, 554, "Streaming media control with RTSP (cameras, media servers)", TXTUnknown, nil, nil, []string{"RFC7826"}},
		{"sip", tcpUDP, 5060, "Voice and video call signalling with SIP", TXTUnknown, nil, nil, []string{"RFC3261", "RFC3263"}},
		{"sips", tcp, 5061, "SIP call signalling over TLS", TXTUnknown, nil, nil, []string{"RFC3261", "RFC3263"}},
		{"xmpp-client", tcp, 5222, "Instant messaging client connections (XMPP)", TXTUnknown, nil, nil, []string{"RFC6120"}},
		{"xmpp-server", tcp, 5269, "Instant messaging server-to-server connections (XMPP)", TXTUnknown, nil, nil, []string{"RFC6120"}},
		{"ldap", tcp, 389, "Directory service (LDAP)", TXTUnknown, nil, nil, []string{"RFC4511"}},
		{"ldaps", tcp, 636, "Directory service over TLS (LDAPS)", TXTUnknown, nil, nil, []string{"RFC4511"}},
		{"kerberos", tcpUDP, 88, "Kerberos authentication (KDC)", TXTUnknown, nil, nil, []string{"RFC4120"}},
		{"domain", tcpUDP, 53, "Domain Name System server", TXTUnknown, nil, nil, []string{"RFC1035"}},
		{"ntp", udp, 123, "Network Time Protocol server", TXTUnknown, nil, nil, []string{"RFC5905"}},
		{"snmp", udp, 161, "Network management agent (SNMP)", TXTUnknown, nil, nil, []string{"RFC3417"}},
		{"nut", tcp, 3493, "Network UPS Tools power supply monitoring", TXTUnknown, nil, nil, []string{"RFC9271"}},
	}
}

// Builtin returns svcreg's own table of common DNS-SD service types (see
// builtinTable), one record per type and protocol, with Source "builtin"
// and Line the row of the table. Each call returns a new Source.
func Builtin() *Source {
	src := &Source{Name: BuiltinName, Format: FormatBuiltin}
	for i, e := range builtinTable() {
		for _, p := range e.protos {
			r := Record{
				Name: e.name, Protocol: p, PortLow: e.port, PortHigh: e.port,
				Status: StatusAssigned, Description: e.desc,
				TXTKeys:  TXTKeys{Kind: e.kind, Keys: append([]TXTKey(nil), e.keys...)},
				Subtypes: append([]string(nil), e.subtypes...), References: append([]string(nil), e.refs...),
				Source: BuiltinName, Line: i + 1,
			}
			if e.port < 0 {
				r.PortLow, r.PortHigh = -1, -1
			}
			src.Records = append(src.Records, r)
		}
	}
	return src
}

// DefaultSources is what svcreg loads when no registry is given: the
// host's services file (servicesPath, "" for DefaultServicesPath) when it
// exists, then the built-in table, which therefore wins where both
// describe the same name, protocol and port. It logs which it uses. A
// services file that exists but cannot be read or parsed is an error
// naming the file (and line); its skipped lines are logged at debug level.
func DefaultSources(ctx context.Context, servicesPath string, logger *slog.Logger) ([]*Source, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if servicesPath == "" {
		servicesPath = DefaultServicesPath
	}
	var out []*Source
	src, err := LoadFile(ctx, servicesPath, FormatServices)
	switch {
	case err == nil:
		logger.Info("registry: using the host's services file", "path", servicesPath,
			"records", len(src.Records), "skipped_lines", len(src.Problems))
		for i := range src.Problems {
			logger.Debug("registry: services file line skipped", "problem", src.Problems[i].Error())
		}
		out = append(out, src)
	case errors.Is(err, fs.ErrNotExist):
		logger.Info("registry: no services file, using the built-in table alone", "path", servicesPath)
	default:
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := Builtin()
	logger.Info("registry: using the built-in table of common DNS-SD service types", "records", len(b.Records))
	return append(out, b), nil
}
