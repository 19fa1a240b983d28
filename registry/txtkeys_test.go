package registry

import (
	"bytes"
	"html"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

// txtKV builds an expected key list from name/hint pairs.
func txtKV(pairs ...string) []TXTKey {
	out := make([]TXTKey, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, TXTKey{Name: pairs[i], Hint: pairs[i+1]})
	}
	return out
}

// txtNames builds an expected key list without hints.
func txtNames(ns ...string) []TXTKey {
	out := make([]TXTKey, 0, len(ns))
	for _, n := range ns {
		out = append(out, TXTKey{Name: n})
	}
	return out
}

// txtCases are real notes from the IANA registry (service name in the
// case name), copied as the XML renders them (<br/> as one space, line
// breaks kept), with what a reader of the note would extract.
var txtCases = []struct {
	name string
	note string
	kind TXTKind
	keys []TXTKey
	ref  string
}{
	// none
	{"bootps", "Defined TXT keys: None", TXTNone, nil, ""},
	{"autotargets-ap", "Defined TXT keys: none", TXTNone, nil, ""},
	{"radioport", "Defined TXT keys: NONE", TXTNone, nil, ""},
	{"devonsync", "Defined TXT keys: None at present", TXTNone, nil, ""},
	{"llrp", "Defined TXT keys: None. RFID reader Low Level Reader Protocol", TXTNone, nil, ""},
	{"ptnetprosrv2", "Defined TXT keys: None\nProfiling and performance analysis protocol for Shark 4.0 and BigTop.", TXTNone, nil, ""},
	{"tsbiis", "Defined TXT keys: there is no TXT keys defined for this protocol", TXTNone, nil, ""},
	{"mavlink", "Defined TXT keys: 0", TXTNone, nil, ""},
	{"est", "[RFC7030]. Defined TXT keys: None", TXTNone, nil, ""},
	{"dns-push-tls", "Defined TXT Keys: None", TXTNone, nil, ""},
	{"ola", "Subtypes: _www-http\n      Defined TXT keys: None", TXTNone, nil, ""},
	// "None" over key lines: the lines say what the service uses.
	{"hg", "Defined TXT keys: None\n  path=<file system pathname to repository>\n  description=<descriptive name of repository>",
		TXTDefined, txtKV("path", "<file system pathname to repository>", "description", "<descriptive name of repository>"), ""},
	{"mxs", "Defined TXT keys: None\n  mxs.system.id=<system id>\n  mxs.system.version=<system layer version>\n  mxs.cluster.id=<cluster id the system belongs to>",
		TXTDefined, txtKV("mxs.system.id", "<system id>", "mxs.system.version", "<system layer version>", "mxs.cluster.id", "<cluster id the system belongs to>"), ""},
	// proprietary
	{"busycal", "Defined TXT keys: Proprietary", TXTProprietary, nil, ""},
	{"airmate", "Defined TXT keys: proprietary", TXTProprietary, nil, ""},
	{"mieleacs", "Defined TXT keys: txtvers and proprietary keys", TXTProprietary, txtNames("txtvers"), ""},
	{"homeconnect", "Defined TXT keys: txtvers + Proprietary", TXTProprietary, txtNames("txtvers"), ""},
	// unspecified
	{"uddi", "Defined TXT keys: TBD", TXTUnspecified, nil, ""},
	{"msrps", "Defined TXT keys: ", TXTUnspecified, nil, ""},
	{"exb", "Defined TXT keys: Will be described at www.exbiblio.com", TXTUnspecified, nil, "www.exbiblio.com"},
	{"meshcop-e", "Defined TXT keys: TXT records keys, if any, will be defined in Section 8.12 of the Thread Specification. https://www.threadgroup.org/ThreadSpec",
		TXTUnspecified, nil, "Section 8.12 of the Thread Specification. https://www.threadgroup.org/ThreadSpec"},
	{"guid", "Defined TXT keys: Varies; Depends on type of service being offered/resolved\nAlthough DNS-SD does not recommend", TXTUnspecified, nil, ""},
	{"strobe-sync", "Defined TXT keys: Application will rely upon Bonjour version 3.1.0.1", TXTUnspecified, nil, ""},
	{"vhusb", "Defined TXT keys: <serial number of server>", TXTUnspecified, nil, ""},
	{"mazepseudo-game", "Defined TXT keys: 1 TXT record key for the RSA public key used by the server instance.", TXTUnspecified, nil, ""},
	{"sessionfs", "Defined TXT keys: Text keys are the file extensions of any file the user plans to share, i.e. pdf, doc, mp3.", TXTUnspecified, nil, ""},
	// external
	{"usp-agt-coap", "Defined TXT keys: see www.broadband-forum.org/assignments", TXTExternal, nil, "www.broadband-forum.org/assignments"},
	{"zigbee-bridge", "Defined TXT keys: see: http://www.zigbee.org/Standards/ZigBeeNetworkDevices", TXTExternal, nil, "http://www.zigbee.org/Standards/ZigBeeNetworkDevices"},
	{"ipp", "Defined TXT keys: See BonjourPrinting.pdf.", TXTExternal, nil, "BonjourPrinting.pdf"},
	{"presence", "Defined TXT keys: See http://www.xmpp.org/registrar/linklocal.html\nNote: Registration updated May 2007. Was formerly listed as \"iChat AV\" \n(Apple's IM client for Mac OS X) with TXT keys: txtvers, port.p2pj, phsh, vc,",
		TXTExternal, nil, "http://www.xmpp.org/registrar/linklocal.html"},
	{"vapix-http", "Defined TXT keys: https://help.axis.com/en-us/axis-os#axis-bonjour-implementation", TXTExternal, nil, "https://help.axis.com/en-us/axis-os#axis-bonjour-implementation"},
	{"recipe-sharing", "Defined TXT keys: [http://www.recipemanager.org/rsp/rsp10draft.html#dnssd]", TXTExternal, nil, "http://www.recipemanager.org/rsp/rsp10draft.html#dnssd"},
	{"sipuri", "Defined TXT keys: Defined in URL specification", TXTExternal, nil, "URL specification"},
	{"mn-passage", "Defined TXT keys: inherited from bonjour/iOS multipeer connectivity", TXTExternal, nil, "bonjour/iOS multipeer connectivity"},
	{"ncbroadcast", "Defined TXT keys: Contact The ZAZ Software <networkclipboard at thezaz.com>", TXTExternal, nil, "The ZAZ Software <networkclipboard at thezaz.com>"},
	{"omni-live", "Defined TXT keys: omni-livetxt.html", TXTExternal, nil, "omni-livetxt.html"},
	{"meshcop", "Defined TXT keys: Thread 1.1 Specification, Section 8.4.1.1.2. https://www.threadgroup.org/ThreadSpec",
		TXTExternal, nil, "Thread 1.1 Specification, Section 8.4.1.1.2. https://www.threadgroup.org/ThreadSpec"},
	// defined: key=value
	{"http", "Defined TXT keys: u=<username> p=<password> path=<path to document>", TXTDefined,
		txtKV("u", "<username>", "p", "<password>", "path", "<path to document>"), ""},
	{"ftp", "Defined TXT keys: u=<username> p=<password> path=<path>", TXTDefined,
		txtKV("u", "<username>", "p", "<password>", "path", "<path>"), ""},
	{"qttp", "Defined TXT keys: u=<username> p=<password> path=<path to document> (Same as for _http._tcp)", TXTDefined,
		txtKV("u", "<username>", "p", "<password>", "path", "<path to document>"), ""},
	{"timezone", "This is an extension of the http service.  Defined\n      TXT keys: path=<context path> (as per Section 6 of [RFC6763]).", TXTDefined,
		txtKV("path", "<context path>"), ""},
	{"caldav", "This is an extension of the http service.  Defined TXT keys: path=<context path>", TXTDefined, txtKV("path", "<context path>"), ""},
	{"eyetvsn", "Defined TXT keys: txtvers=1, keyhash=<4 bytes>", TXTDefined, txtKV("txtvers", "1", "keyhash", "<4 bytes>"), ""},
	{"acs-ctl-ds", "Defined TXT keys: MAC=, GW-MAC", TXTDefined, txtNames("MAC", "GW-MAC"), ""},
	{"lsys-appserver", "Defined TXT keys:    path=value (relative URL)\n   engname=value (string)", TXTDefined,
		txtKV("path", "(relative URL)", "engname", "(string)"), ""},
	{"izira", "Defined TXT keys: u=<username> p=<password> \n      m=<manifest_name> o=<owner_name> s=<site_name>", TXTDefined,
		txtKV("u", "<username>", "p", "<password>", "m", "<manifest_name>", "o", "<owner_name>", "s", "<site_name>"), ""},
	{"ncpu", "Defined TXT keys: u=username; k=keypattern; f=fstabFILE; n=namespace; h=hostkey; r=root", TXTDefined,
		txtKV("u", "username", "k", "keypattern", "f", "fstabFILE", "n", "namespace", "h", "hostkey", "r", "root"), ""},
	{"lanrevagent", "Defined TXT keys: txtvers server=<main LANrev server for agent> vers=<version of LANrev Agent> build=<build number of LANrev Agent> id=<agent identifier>", TXTDefined,
		txtKV("txtvers", "", "server", "<main LANrev server for agent>", "vers", "<version of LANrev Agent>", "build", "<build number of LANrev Agent>", "id", "<agent identifier>"), ""},
	{"tbricks", "Defined TXT keys: txtvers=1, sesna, seid, setype, cosna, coid,\n    cotype, sysna, syna, syid, subsyid, venid, protocols, pid", TXTDefined,
		append(txtKV("txtvers", "1"), txtNames("sesna", "seid", "setype", "cosna", "coid", "cotype", "sysna", "syna", "syid", "subsyid", "venid", "protocols", "pid")...), ""},
	{"lxi", "Defined TXT keys: txtvers, *IDN?=<response defined by IEEE 488; e.g., manufacturer, model, serial number, version>", TXTDefined,
		txtKV("txtvers", "", "*IDN?", "<response defined by IEEE 488; e.g., manufacturer, model, serial number, version>"), ""},
	{"irmc", "Defined TXT keys: RMC Client Version=<version>, MAC Address=<address>", TXTDefined,
		txtKV("RMC Client Version", "<version>", "MAC Address", "<address>"), ""},
	{"nasunifiler", "Defined TXT keys: companyfullname == The name of the company hosting the Nasuni Filer", TXTDefined,
		txtKV("companyfullname", "The name of the company hosting the Nasuni Filer"), ""},
	{"mqtt", "Defined TXT keys: topics=<open topic to subscribe to for information>, eg topic=/info", TXTDefined,
		txtKV("topics", "<open topic to subscribe to for information>"), ""},
	{"soda", "Defined TXT keys: a. ssid=<Wi-Fi SSID of the device>\nb. bssid=<Wi-Fi BSSID of the device>", TXTDefined,
		txtKV("ssid", "<Wi-Fi SSID of the device>", "bssid", "<Wi-Fi BSSID of the device>"), ""},
	{"radicle-node", "Defined TXT Keys: nid=<Node ID>, network=<Name of Network, e.g. 'main' or 'test'>, version=<Version Number>", TXTDefined,
		txtKV("nid", "<Node ID>", "network", "<Name of Network, e.g. 'main' or 'test'>", "version", "<Version Number>"), ""},
	{"objective", "Defined TXT keys:   txtvers='1'\n  type={'production'|'standby'|'test'|'demo'}\n  protocol={['SOAP'],['CORBA']}\n  transport=['iiop']|['http']", TXTDefined,
		txtKV("txtvers", "'1'", "type", "{'production'|'standby'|'test'|'demo'}", "protocol", "{['SOAP'],['CORBA']}", "transport", "['iiop']|['http']"), ""},
	{"aeroflex", "Defined TXT keys:   orb_server=<port #> (optional) CORBA ORB server used for resource discovery\n  product_id=<string> (optional) ID of licensed product\n  txtvers=\"*IDN?=<identifier>\" (optional) as per LXI specification (for not yet LXI compatible instruments)", TXTDefined,
		txtKV("orb_server", "<port #> (optional)", "product_id", "<string> (optional)", "txtvers", "\"*IDN?=<identifier>\" (optional)"), ""},
	{"spx-hmp", "Defined TXT keys: txtvers=1\ncport= the port for the content HTTP server\n      (secondary HTTP server used for content publishing)\n      mode= the mode in which the HMP device is currently\n      operating, one of \"normal\", \"safe\" or \"recovery\"\n      serial= serial number of the HMP device\n      firmware= firmware version string (e.g.,\n      2.1.0-0.1.7844)\n      model= model string (e.g., HMP100)", TXTDefined,
		txtKV("txtvers", "1", "cport", "the port for the content HTTP server (secondary HTTP server used for content publishing)",
			"mode", "the mode in which the HMP device is currently operating, one of \"normal\", \"safe\" or \"recovery\"",
			"serial", "serial number of the HMP device", "firmware", "firmware version string (e.g., 2.1.0-0.1.7844)", "model", "model string (e.g., HMP100)"), ""},
	{"jnx-kcsync", "Defined TXT keys: hash=<40hex characters>\n      salt=<40hex characters>\n      uuid=<40hex characters>\n      Example:\n      hash=5e7580598c0d7064d4fc79faaeb42585e1a675f8\n      salt=f0164cb3a0c3d7efe75abea8fda86d2d56c8dda9", TXTDefined,
		txtKV("hash", "<40hex characters>", "salt", "<40hex characters>", "uuid", "<40hex characters>"), ""},
	{"sparql", "Defined TXT keys:   txtvers=1\n  path=<relative or absolute URL of endpoint>\n  protovers=<number> [if not specified then default is 1.0, corresponding to SPARQL version]\n  binding=<HTTP | SOAP> [if not specified then default is HTTP]", TXTDefined,
		txtKV("txtvers", "1", "path", "<relative or absolute URL of endpoint>", "protovers", "<number>", "binding", "<HTTP | SOAP>"), ""},
	{"xmcp", "Defined TXT keys:     txtvers=1 (as described in the draft)\n      protovers=<comma-separated list of major/minor versions supported>\n(examples: \"protovers=1.0\" \"protovers=1.1,2.0\"", TXTDefined,
		txtKV("txtvers", "1", "protovers", "<comma-separated list of major/minor versions supported>"), ""},
	{"pblr", "Defined TXT keys: \nenabled=<true|false> API is enabled/disabled\naccmode=<read|readwrite> Access mode of the API\nversion=<x.y> API version\nsn=<sn> Serial number of the product", TXTDefined,
		txtKV("enabled", "<true|false>", "accmode", "<read|readwrite>", "version", "<x.y>", "sn", "<sn>"), ""},
	{"rfbc", "Defined TXT keys: server=dns-name/ip-address:port of currently displayed VNC server.\n  Empty if not showing anything/available.", TXTDefined,
		txtKV("server", "dns-name/ip-address:port"), ""},
	// defined: lists without '='
	{"z-wave", "Defined TXT keys: NIF, EP, LM", TXTDefined, txtNames("NIF", "EP", "LM"), ""},
	{"enphase-envoy", "Defined TXT keys: - txtvers\n      - protovers\n      - serialnum", TXTDefined, txtNames("txtvers", "protovers", "serialnum"), ""},
	{"wchr", "Defined TXT keys: model (device model identifier), sn (device serial number), app (firmware version), boot (bootloader version and signing status), githash (firmware build commit), crash (crash info present flag)", TXTDefined,
		txtKV("model", "(device model identifier)", "sn", "(device serial number)", "app", "(firmware version)", "boot", "(bootloader version and signing status)", "githash", "(firmware build commit)", "crash", "(crash info present flag)"), ""},
	{"wdp", "Defined TXT keys: D (device type), S (https port), A (architecture),\n    T (tags)", TXTDefined,
		txtKV("D", "(device type)", "S", "(https port)", "A", "(architecture)", "T", "(tags)"), ""},
	{"ims-ni", "Defined TXT keys:  SN (serial number), SVER (software version), HVER (hardware version), PVER (protocol version))", TXTDefined,
		txtKV("SN", "(serial number)", "SVER", "(software version)", "HVER", "(hardware version)", "PVER", "(protocol version)"), ""},
	{"daap", "Defined TXT keys: txtvers, Version, iTSh Version, Machine ID, Database ID, Machine Name, Password", TXTDefined,
		txtNames("txtvers", "Version", "iTSh Version", "Machine ID", "Database ID", "Machine Name", "Password"), ""},
	{"microdeep", "Defined TXT keys: txtvers version name uuid", TXTDefined, txtNames("txtvers", "version", "name", "uuid"), ""},
	{"bender", "Defined TXT keys: product version bus id featuremask", TXTDefined, txtNames("product", "version", "bus", "id", "featuremask"), ""},
	{"ok-connect", "Defined TXT keys: txtvers,protovers", TXTDefined, txtNames("txtvers", "protovers"), ""},
	{"airport", "Defined TXT keys: waMA;", TXTDefined, txtNames("waMA"), ""},
	{"psap", "Defined TXT keys: c0, c1, ..., cn", TXTDefined, txtNames("c0", "c1", "cn"), ""},
	{"ptp-req", "Defined TXT keys: txtvers, guid, c0, c1, c2, ..., where the number of c_n attributes is variable", TXTDefined, txtNames("txtvers", "guid", "c0", "c1", "c2"), ""},
	{"voalte2", "Defined TXT keys: txtvers, name, (others not publicly documented)", TXTDefined, txtNames("txtvers", "name"), ""},
	{"test-ok", "Defined TXT keys: TEST-OK Test Controller Card TCCxxxx", TXTDefined, txtNames("TEST-OK"), ""},
	{"display", "Defined TXT keys: _display.tcp. Display Protocol", TXTDefined, txtNames("_display.tcp"), ""},
	{"payload-app", "Defined TXT keys: _payload._tcp.local, _payload._udp.local", TXTDefined, txtNames("_payload._tcp.local", "_payload._udp.local"), ""},
	{"olpc-activity1", "Defined TXT keys: Shared_Activity_Protocol_1.0", TXTDefined, txtNames("Shared_Activity_Protocol_1.0"), ""},
	{"atlassianapp", "Defined TXT keys: app.url", TXTDefined, txtNames("app.url"), ""},
	// defined: "key: description", "key   description" and quoted keys
	{"iot", "Defined TXT keys: <type>:application specific kind of protocol; \n      <vers>:version of the 'type'; <device>:device descriptor", TXTDefined,
		txtKV("type", "application specific kind of protocol", "vers", "version of the 'type'", "device", "device descriptor"), ""},
	{"wot", "Defined TXT keys:\n      td: Absolute pathname of the Thing Description of the Thing or Thing Description of the Thing\n      Description Directory.\n      type: Type of the Thing Description, i.e. \"Thing\" or \"Directory\". If omitted, the type is assumed\n      to be Thing.\n      scheme: Scheme part of URL.", TXTDefined,
		txtKV("td", "Absolute pathname of the Thing Description of the Thing or Thing Description of the Thing Description Directory.",
			"type", "Type of the Thing Description, i.e. \"Thing\" or \"Directory\". If omitted, the type is assumed to be Thing.",
			"scheme", "Scheme part of URL."), ""},
	{"iax", "Defined TXT keys: auth          plaintext | md5 | rsakeys userid        alphanumeric, additionally '_', '+', '-' secret        any printable ASCII characters trunk         yes | no | 0 | 1\n\nAll of these TXT record keys are optional, they may be omitted.", TXTDefined,
		txtKV("auth", "plaintext | md5 | rsakeys", "userid", "alphanumeric, additionally '_', '+', '-'", "secret", "any printable ASCII characters", "trunk", "yes | no | 0 | 1"), ""},
	{"shifter", "Defined TXT keys:   username     The login username to use (optional)\n  ssh_tunnel   Whether an SSH tunnel must be used (required)\n  iface        The network interface the server is on (required - may be empty)", TXTDefined,
		txtKV("username", "The login username to use (optional)", "ssh_tunnel", "Whether an SSH tunnel must be used (required)", "iface", "The network interface the server is on (required - may be empty)"), ""},
	{"av-chat-ring-01", "Defined TXT keys: There are two TXT record keys: 1st key: \n    \"txt-vers\" associated with an 'int' entry. 2nd key: \"conn-stat\" \n    associated with an 'int' entry.", TXTDefined,
		txtNames("txt-vers", "conn-stat"), ""},
	{"pochi", "Defined TXT keys: key \"txtvers\" for specification versioning, \n      and key \"name\" representing the advertising presentation string", TXTDefined,
		txtNames("txtvers", "name"), ""},
	{"bootstrap", "Defined TXT keys: \"url\": if present, indicates a connection url \n      (i.e. wss://example.com/bootstrap, or https://example.com/bootstrap) \n      to be used by the device for bootstrapping; \"namespace\": identifies \n      the underlying application-level protocol", TXTDefined,
		txtNames("url", "namespace"), ""},
	// defined next to a URL
	{"mist", "Defined TXT keys: https://www.praesentia.com/medkit/mist-service-type (dn dt md mf pr sn vn)", TXTDefined,
		txtNames("dn", "dt", "md", "mf", "pr", "sn", "vn"), "https://www.praesentia.com/medkit/mist-service-type"},
	{"bidib", "Defined TXT keys: bidib,node,interface,uid,prod,user - http://bidib.org/transport/bidib_net_e.html", TXTDefined,
		txtNames("bidib", "node", "interface", "uid", "prod", "user"), "http://bidib.org/transport/bidib_net_e.html"},
}

func TestParseTXTKeysRealNotes(t *testing.T) {
	require.GreaterOrEqual(t, len(txtCases), 40)
	for _, tc := range txtCases {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseTXTKeys(tc.note)
			assert.Equal(t, tc.kind.String(), got.Kind.String(), "kind of %q", tc.note)
			assert.Equal(t, tc.keys, got.Keys, "keys of %q", tc.note)
			assert.Equal(t, tc.ref, got.Ref, "ref of %q", tc.note)
			_, body, _ := strings.Cut(strings.ReplaceAll(tc.note, "Defined\n      TXT", "Defined TXT"), "TXT ")
			_, body, _ = strings.Cut(body, ":")
			assert.Equal(t, strings.Join(strings.Fields(body), " "), got.Raw, "raw")
		})
	}
}

func TestParseTXTKeysEdges(t *testing.T) {
	cases := []struct {
		name, note string
		kind       TXTKind
		keys       []TXTKey
	}{
		{"no notes", "", TXTUnknown, nil},
		{"notes without the phrase", "This is a duplicate of the \"http\" service and should not be used for discovery purposes.", TXTUnknown, nil},
		{"phrase inside a word", "Undefined TXT keys: a, b", TXTUnknown, nil},
		{"no colon", "Defined TXT keys None", TXTNone, nil},
		{"upper case", "DEFINED TXT KEYS: a, b", TXTDefined, txtNames("a", "b")},
		{"tab and newline between words", "Defined\tTXT\n keys: x", TXTDefined, txtNames("x")},
		{"known subtypes after the keys", "Defined TXT keys: path=<p>\nKnown Subtypes: _printer", TXTDefined, txtKV("path", "<p>")},
		{"duplicates collapse case-insensitively", "Defined TXT keys: txtvers, TXTVERS, name", TXTDefined, txtNames("txtvers", "name")},
		{"unclosed bracket stays text", "Defined TXT keys: a=<b, c=d", TXTDefined, txtKV("a", "<b", "c", "d")},
		{"unclosed quote stays text", "Defined TXT keys: a=\"b c=d", TXTDefined, txtKV("a", "\"b", "c", "d")},
		{"only punctuation", "Defined TXT keys: ,;,", TXTUnspecified, nil},
		{"only an equals sign", "Defined TXT keys: =", TXTUnspecified, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseTXTKeys(tc.note)
			assert.Equal(t, tc.kind.String(), got.Kind.String())
			assert.Equal(t, tc.keys, got.Keys)
		})
	}
}

// xmlNotes extracts, with its own simple scan (not ParseXML), the text of
// every <note> that has a "Defined TXT keys" phrase, rendered as IANA's
// CSV renders it: <br/> and the blanks around it as one space, an xref as
// [its data], other tags dropped, entities decoded.
func xmlNotes(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	br := regexp.MustCompile(`\s*<br/>\s*`)
	xref := regexp.MustCompile(`<xref[^>]*data="([^"]*)"[^>]*/>`)
	tag := regexp.MustCompile(`<[^>]+>`)
	phrase := regexp.MustCompile(`(?i)defined\s+txt\s+keys`)
	var out []string
	for rest := b; ; {
		i := bytes.Index(rest, []byte("<note>"))
		if i < 0 {
			break
		}
		rest = rest[i+len("<note>"):]
		j := bytes.Index(rest, []byte("</note>"))
		require.GreaterOrEqual(t, j, 0, "unterminated <note>")
		n := br.ReplaceAll(rest[:j], []byte(" "))
		n = xref.ReplaceAll(n, []byte("[$1]"))
		n = tag.ReplaceAll(n, nil)
		s := strings.TrimSpace(html.UnescapeString(string(n)))
		if phrase.MatchString(s) {
			out = append(out, s)
		}
		rest = rest[j:]
	}
	return out
}

// Keys with blanks that the registry really defines: the iTunes-era DAAP,
// DPAP and home-sharing keys, irmc's, FIX's, and commfort's keyword list.
var multiWordKeys = map[string]bool{
	"iTSh Version": true, "iPSh Version": true, "Machine ID": true, "Machine Name": true, "Database ID": true,
	"Public Shares": true, "RMC Client Version": true, "MAC Address": true,
	"local chat": true, "voice chat": true, "video chat": true, "video communication": true,
	"video conference": true, "file transfer": true, "Media Kinds Shared": true,
}

func TestParseTXTKeysEveryRegistryNote(t *testing.T) {
	for _, file := range []string{"service-names-port-numbers.xml", "service-names-port-numbers-2023-09-12.xml"} {
		t.Run(file, func(t *testing.T) {
			notes := xmlNotes(t, testutil.SharedFile(t, "iana", file))
			require.NotEmpty(t, notes)
			kinds := map[string]int{}
			shapes := map[string]bool{}
			var implausible []string
			for _, n := range notes {
				got := ParseTXTKeys(n)
				kinds[got.Kind.String()]++
				shapes[got.Raw] = true
				if !assert.NotEqual(t, TXTUnknown, got.Kind, "note %q", n) {
					continue
				}
				if got.Kind == TXTDefined {
					assert.NotEmpty(t, got.Keys, "defined without keys: %q", n)
				}
				for _, key := range got.Keys {
					if !plausibleKey(key.Name) && !multiWordKeys[key.Name] {
						implausible = append(implausible, key.Name+" in "+got.Raw)
					}
				}
			}
			sort.Strings(implausible)
			assert.Empty(t, implausible, "implausible keys")
			t.Logf("%d notes, %d shapes, by kind %v", len(notes), len(shapes), kinds)
		})
	}
}

// plausibleKey: non-empty, printable ASCII, no blanks, at most 32 bytes.
func plausibleKey(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// The XML parser's records carry the same TXT keys as the notes the
// independent scan found: every note with the phrase gives a known kind.
func TestParseXMLRecordsCarryTXTKeys(t *testing.T) {
	path := testutil.SharedFile(t, "iana", "service-names-port-numbers.xml")
	want := len(xmlNotes(t, path))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	src, err := ParseXML(f, "service-names-port-numbers.xml")
	require.NoError(t, err)
	n := 0
	for i := range src.Records {
		if src.Records[i].TXTKeys.Kind != TXTUnknown {
			n++
		}
	}
	assert.Equal(t, want, n)
}

// The plain-text rendering folds a note's line breaks and runs of blanks
// into single spaces; the keys must not change, except for the two
// "key   description" tables, whose layout is the only thing that tells
// keys from descriptions.
func TestParseTXTKeysFlattened(t *testing.T) {
	notes := xmlNotes(t, testutil.SharedFile(t, "iana", "service-names-port-numbers.xml"))
	layoutOnly := map[string]bool{}
	var differ []string
	for _, n := range notes {
		a := ParseTXTKeys(n)
		b := ParseTXTKeys(strings.Join(strings.Fields(n), " "))
		if a.Kind == b.Kind && keyNames(a.Keys) == keyNames(b.Keys) {
			continue
		}
		if strings.HasPrefix(a.Raw, "auth plaintext") || strings.HasPrefix(a.Raw, "username The login") {
			layoutOnly[a.Raw[:10]] = true
			continue
		}
		differ = append(differ, a.Raw)
	}
	assert.Empty(t, differ)
	assert.Len(t, layoutOnly, 2, "the two layout-only tables (iax, shifter) should still be in the registry")
}

func keyNames(ks []TXTKey) string {
	var b strings.Builder
	for _, k := range ks {
		b.WriteString(k.Name)
		b.WriteByte('|')
	}
	return b.String()
}

func TestParseTXTKeysAllocations(t *testing.T) {
	cases := []struct {
		note string
		max  float64
	}{
		{"", 0},
		{"World Wide Web HTTP", 0},
		{"Defined TXT keys: None", 0},
		{"Defined TXT keys: Proprietary", 0},
		{"Defined TXT keys: see www.ciaoapp.com", 0},
		// The token slice and the key slice.
		{"Defined TXT keys: u=<username> p=<password> path=<path to document>", 2},
		{"Defined TXT keys: NIF, EP, LM", 2},
	}
	for _, tc := range cases {
		got := testing.AllocsPerRun(100, func() { ParseTXTKeys(tc.note) })
		assert.LessOrEqual(t, got, tc.max, "allocations for %q", tc.note)
	}
}

func BenchmarkParseTXTKeys(b *testing.B) {
	notes := make([]string, 0, len(txtCases))
	for _, tc := range txtCases {
		notes = append(notes, tc.note)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ParseTXTKeys(notes[i%len(notes)])
	}
}

// BenchmarkParseTXTKeysRegistry parses every "Defined TXT keys" note of
// the current XML once per op: the load-time cost of the TXT keys.
func BenchmarkParseTXTKeysRegistry(b *testing.B) {
	notes := xmlNotes(b, testutil.SharedFile(b, "iana", "service-names-port-numbers.xml"))
	b.ReportAllocs()
	for b.Loop() {
		for _, n := range notes {
			ParseTXTKeys(n)
		}
	}
	b.ReportMetric(float64(len(notes)), "notes/op")
}

func FuzzParseTXTKeys(f *testing.F) {
	for _, tc := range txtCases {
		f.Add(tc.note)
	}
	f.Add("Defined TXT keys: ((((((<<<<[[[[{{{{\"\"''''")
	f.Add("Defined TXT keys: a=b=c, =, ==, ,,, ; ;")
	f.Fuzz(func(t *testing.T, note string) {
		got := ParseTXTKeys(note)
		if got.Kind > TXTDefined {
			t.Fatalf("kind %d out of range", got.Kind)
		}
		if _, ok := txtNoteBody(note); !ok {
			if got.Kind != TXTUnknown || got.Raw != "" || got.Keys != nil {
				t.Fatalf("no phrase but %+v", got)
			}
			return
		}
		if got.Kind == TXTUnknown {
			t.Fatalf("phrase found but kind unknown for %q", note)
		}
		if strings.ContainsAny(got.Raw, "\n\r\t\v\f") || strings.Contains(got.Raw, "  ") ||
			strings.HasPrefix(got.Raw, " ") || strings.HasSuffix(got.Raw, " ") {
			t.Fatalf("raw not collapsed: %q", got.Raw)
		}
		switch got.Kind {
		case TXTDefined:
			if len(got.Keys) == 0 {
				t.Fatalf("defined without keys: %q", note)
			}
		case TXTProprietary:
		default:
			if len(got.Keys) != 0 {
				t.Fatalf("%s with keys %v", got.Kind, got.Keys)
			}
		}
		if len(got.Keys) > maxTXTKeys {
			t.Fatalf("%d keys", len(got.Keys))
		}
		seen := map[string]bool{}
		for _, key := range got.Keys {
			l := strings.ToLower(key.Name)
			if key.Name == "" || seen[l] || strings.TrimSpace(key.Name) != key.Name || strings.ContainsAny(key.Name, "\n\r\t") {
				t.Fatalf("bad or repeated key %q in %v", key.Name, got.Keys)
			}
			seen[l] = true
			if strings.ContainsAny(key.Hint, "\n\r\t") {
				t.Fatalf("hint not collapsed: %q", key.Hint)
			}
		}
	})
}
