package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/svcreg/svcreg/registry"
)

// MaxFileBytes bounds the config file.
const MaxFileBytes = 1 << 20

// EnvPrefix starts every environment variable svcreg reads.
const EnvPrefix = "SVCREG_"

// EnvConfig names the config file when --config is not given.
const EnvConfig = EnvPrefix + "CONFIG"

// ErrInvalid is wrapped by every error about a key or value.
var ErrInvalid = errors.New("invalid config")

// Error is one problem with one key: Key is its dotted path
// ("dns.listen[1]"), Origin where the value came from ("svcreg.yml:7",
// "SVCREG_DNS_ZONE", "--zone", "default").
type Error struct {
	Origin string
	Key    string
	Msg    string
	// Err is the cause callers may branch on (mdns.ErrUnknownRule), or nil.
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.Origin == "" && e.Key == "":
		return e.Msg
	case e.Origin == "":
		return e.Key + ": " + e.Msg
	case e.Key == "":
		return e.Origin + ": " + e.Msg
	}
	return e.Origin + ": " + e.Key + ": " + e.Msg
}

// Unwrap lets callers test errors.Is(err, ErrInvalid), and for the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

// Setting is one value from a flag: Key is the config key, Values its
// value(s) (several for a repeated flag of a list key), Origin the flag as
// the user typed it ("--dns-listen").
type Setting struct {
	Key    string
	Values []string
	Origin string
}

// Options are the inputs of Load besides the defaults.
type Options struct {
	// Path is the config file ("" = none unless SVCREG_CONFIG names one).
	Path string
	// Environ is the environment as os.Environ returns it (nil = none).
	Environ []string
	// Flags are applied last, in order.
	Flags []Setting
}

// Loaded is an effective configuration and where each key came from.
type Loaded struct {
	Config
	// Path is the config file read ("" = none).
	Path string
	// origins maps a key path to where its value came from.
	origins map[string]string
	// opts are the options it was loaded with, for Reread.
	opts Options
}

// Reread loads the configuration again from the same file, environment
// and flags, as a reload does.
func (l *Loaded) Reread() (*Loaded, error) {
	return Load(l.opts)
}

// Origin tells where key's value came from: "file:line", an environment
// variable, a flag, or "default".
func (l *Loaded) Origin(key string) string {
	for k := key; k != ""; {
		if o, ok := l.origins[k]; ok {
			return o
		}
		// A list element inherits the origin of its list (a flag or
		// variable sets the list as a whole), a field of a list entry that
		// of its entry; a field of a section that was not set is a default.
		p := parentKey(k)
		if !strings.HasSuffix(k, "]") && !strings.HasSuffix(p, "]") {
			break
		}
		k = p
	}
	return "default"
}

func parentKey(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}

// Load builds the effective configuration: defaults, then the file
// (opts.Path, else $SVCREG_CONFIG), then SVCREG_* variables, then flags,
// and validates the result. Errors are *Error values (joined when there
// are several), each wrapping ErrInvalid, or an I/O error reading the file.
func Load(opts Options) (*Loaded, error) {
	l := &Loaded{Config: Default(), origins: map[string]string{}, opts: opts}
	path := opts.Path
	if path == "" {
		path = lookupEnv(opts.Environ, EnvConfig)
	}
	if path != "" {
		b, err := readFile(path)
		if err != nil {
			return nil, err
		}
		if err := l.decodeFile(b, path); err != nil {
			return nil, err
		}
		l.Path = path
		l.resolvePaths(filepath.Dir(path))
	}
	if err := l.applyEnv(opts.Environ); err != nil {
		return nil, err
	}
	var errs []error
	for _, s := range opts.Flags {
		if err := l.set(s.Key, s.Values, s.Origin); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	return l, nil
}

// Parse decodes and validates a config file's content on top of the
// defaults, without environment or flags (tests, fuzzing, config check of
// a single file). name labels errors.
func Parse(r io.Reader, name string) (*Loaded, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(b) > MaxFileBytes {
		return nil, &Error{Origin: name, Msg: fmt.Sprintf("file larger than %d bytes", MaxFileBytes)}
	}
	l := &Loaded{Config: Default(), origins: map[string]string{}, Path: name}
	if err := l.decodeFile(b, name); err != nil {
		return nil, err
	}
	if err := l.validate(); err != nil {
		return nil, err
	}
	return l, nil
}

// resolvePaths makes relative paths from the file relative to the file's
// directory, as a config file is read wherever the daemon's working
// directory happens to be (/ under systemd). Paths from the environment
// and flags stay relative to the working directory.
func (l *Loaded) resolvePaths(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || IsURL(p) || registry.IsKeywordSpec(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	r := &l.Registry
	for i := range r.Sources {
		r.Sources[i] = abs(r.Sources[i])
	}
	if _, ok := l.origins["registry.services_file"]; ok {
		r.ServicesFile = abs(r.ServicesFile)
	}
	r.CacheDir = abs(r.CacheDir)
	if l.DNS.SerialFile != SerialFileNone {
		l.DNS.SerialFile = abs(l.DNS.SerialFile)
	}
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	if len(b) > MaxFileBytes {
		return nil, &Error{Origin: path, Msg: fmt.Sprintf("file larger than %d bytes", MaxFileBytes)}
	}
	return b, nil
}

func lookupEnv(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// decodeFile walks the YAML node tree against Config's fields, so that an
// unknown key, a duplicate key or a bad value is reported with its dotted
// key and its line.
func (l *Loaded) decodeFile(b []byte, name string) error {
	var doc yaml.Node
	// The walk below does what Decoder.KnownFields does for a struct, but
	// names the dotted key and lists the known ones.
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file is the defaults
		}
		return syntaxError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return &Error{Origin: fmt.Sprintf("%s:%d", name, extra.Line), Msg: "more than one YAML document"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil
	}
	d := &fileDecoder{name: name, origins: l.origins}
	d.decode(doc.Content[0], reflect.ValueOf(&l.Config).Elem(), "")
	return errors.Join(d.errs...)
}

type fileDecoder struct {
	name    string
	origins map[string]string
	errs    []error
}

func (d *fileDecoder) fail(n *yaml.Node, key, format string, args ...any) {
	d.errs = append(d.errs, &Error{Origin: fmt.Sprintf("%s:%d", d.name, n.Line), Key: key, Msg: fmt.Sprintf(format, args...)})
}

func joinKey(parent, k string) string {
	if parent == "" {
		return k
	}
	return parent + "." + k
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func (d *fileDecoder) decode(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind == yaml.AliasNode {
		d.fail(n, key, "YAML aliases are not supported")
		return
	}
	d.origins[key] = fmt.Sprintf("%s:%d", d.name, n.Line)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	switch {
	case v.Kind() == reflect.Struct && (!reflect.PointerTo(v.Type()).Implements(textUnmarshaler) || n.Kind == yaml.MappingNode):
		// A struct with a short scalar form (NSEntry) may still be
		// written in full.
		d.decodeStruct(n, v, key)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, key, "want a list, got %s", kindName(n))
			return
		}
		if len(n.Content) == 0 {
			v.Set(reflect.Zero(v.Type())) // [] is the same as no list
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", key, i))
			if ls, ok := s.Index(i).Addr().Interface().(*LocalService); ok {
				ls.line = c.Line
			}
		}
		v.Set(s)
	case v.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, key, "want a mapping, got %s", kindName(n))
			return
		}
		if len(n.Content) == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			sub := joinKey(key, kn.Value)
			if m.MapIndex(reflect.ValueOf(kn.Value)).IsValid() {
				d.fail(kn, sub, "duplicate key")
				continue
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(vn, ev, sub)
			m.SetMapIndex(reflect.ValueOf(kn.Value), ev)
		}
		v.Set(m)
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, key, "want a single value, got %s", kindName(n))
			return
		}
		if err := setScalar(v, n.Value); err != nil {
			d.fail(n, key, "%v", err)
		}
	}
}

func (d *fileDecoder) decodeStruct(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, key, "want a mapping, got %s", kindName(n))
		return
	}
	fields := structFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		sub := joinKey(key, kn.Value)
		idx, ok := fields[kn.Value]
		if !ok {
			d.fail(kn, sub, "unknown key (known: %s)", strings.Join(sortedKeys(fields), ", "))
			continue
		}
		if seen[kn.Value] {
			d.fail(kn, sub, "duplicate key")
			continue
		}
		seen[kn.Value] = true
		d.decode(vn, v.Field(idx), sub)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// structFields maps yaml key names to field indexes.
func structFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var durationType = reflect.TypeFor[time.Duration]()

// setScalar parses s into v: strings, booleans, integers, durations and
// anything with UnmarshalText (netip.Prefix).
func setScalar(v reflect.Value, s string) error {
	if tu, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if err := tu.UnmarshalText([]byte(s)); err != nil {
			// netip errors repeat the input; keep only their reason.
			msg := err.Error()
			if i := strings.LastIndex(msg, ": "); i >= 0 {
				msg = msg[i+2:]
			}
			return fmt.Errorf("%q: %s", s, msg)
		}
		return nil
	}
	if v.Type() == durationType {
		if s == "0" {
			v.SetInt(0)
			return nil
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 90s, 15m, 24h)", s)
		}
		if dur < 0 {
			return fmt.Errorf("%q: must not be negative", s)
		}
		v.SetInt(int64(dur))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not a boolean (true or false)", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		// The range is the validator's to state, the same for a value
		// that parses and one that does not.
		i, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(i)
	case reflect.Uint16, reflect.Uint32:
		u, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer from 0 to %d", s, uint64(1)<<v.Type().Bits()-1)
		}
		v.SetUint(u)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// leaf is a key that can be set from the environment or a flag: a scalar
// or a list of scalars.
type leaf struct {
	key   string
	index []int
	typ   reflect.Type
}

// Keys lists every leaf key in file order, e.g. "dns.zone". The list of
// mappings registry.local and the map mdns.rules are included; they can
// only be set in the file.
func Keys() []string {
	var out []string
	for _, l := range leaves(reflect.TypeFor[Config](), "", nil) {
		out = append(out, l.key)
	}
	return out
}

func leaves(t reflect.Type, prefix string, index []int) []leaf {
	var out []leaf
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" {
			continue
		}
		key := joinKey(prefix, name)
		idx := append(append([]int(nil), index...), i)
		if f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(textUnmarshaler) {
			out = append(out, leaves(f.Type, key, idx)...)
			continue
		}
		out = append(out, leaf{key: key, index: idx, typ: f.Type})
	}
	return out
}

// settable reports whether a leaf can come from env or flags.
func (lf leaf) settable() bool {
	switch lf.typ.Kind() {
	case reflect.Map:
		return false
	case reflect.Slice:
		e := lf.typ.Elem()
		return e.Kind() != reflect.Struct || reflect.PointerTo(e).Implements(textUnmarshaler)
	}
	return true
}

// EnvName is the environment variable of a key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// UnknownEnv lists SVCREG_* variables in environ that name no key, so the
// daemon can warn about typos.
func UnknownEnv(environ []string) []string {
	known := map[string]bool{EnvConfig: true}
	for _, lf := range leaves(reflect.TypeFor[Config](), "", nil) {
		if lf.settable() {
			known[EnvName(lf.key)] = true
		}
	}
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, EnvPrefix) && !known[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// applyEnv sets every key whose SVCREG_* variable is present. List values
// are separated by commas; an empty variable empties the list.
func (l *Loaded) applyEnv(environ []string) error {
	var errs []error
	for _, lf := range leaves(reflect.TypeFor[Config](), "", nil) {
		if !lf.settable() {
			continue
		}
		name := EnvName(lf.key)
		for _, kv := range environ {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || k != name {
				continue
			}
			var vals []string
			if lf.typ.Kind() == reflect.Slice {
				for _, p := range strings.Split(val, ",") {
					if p = strings.TrimSpace(p); p != "" {
						vals = append(vals, p)
					}
				}
			} else {
				vals = []string{val}
			}
			if err := l.setLeaf(lf, vals, name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// set applies one flag value to key.
func (l *Loaded) set(key string, vals []string, origin string) error {
	for _, lf := range leaves(reflect.TypeFor[Config](), "", nil) {
		if lf.key == key && lf.settable() {
			return l.setLeaf(lf, vals, origin)
		}
	}
	return &Error{Origin: origin, Key: key, Msg: "not a settable key"}
}

func (l *Loaded) setLeaf(lf leaf, vals []string, origin string) error {
	v := reflect.ValueOf(&l.Config).Elem().FieldByIndex(lf.index)
	l.origins[lf.key] = origin
	for k := range l.origins {
		if strings.HasPrefix(k, lf.key+"[") {
			delete(l.origins, k)
		}
	}
	if lf.typ.Kind() == reflect.Slice {
		if len(vals) == 0 {
			v.Set(reflect.Zero(lf.typ))
			return nil
		}
		s := reflect.MakeSlice(lf.typ, len(vals), len(vals))
		for i, val := range vals {
			if err := setScalar(s.Index(i), val); err != nil {
				return &Error{Origin: origin, Key: fmt.Sprintf("%s[%d]", lf.key, i), Msg: err.Error()}
			}
		}
		v.Set(s)
		return nil
	}
	if len(vals) != 1 {
		return &Error{Origin: origin, Key: lf.key, Msg: "takes one value"}
	}
	if err := setScalar(v, vals[0]); err != nil {
		return &Error{Origin: origin, Key: lf.key, Msg: err.Error()}
	}
	return nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError turns "yaml: line 3: msg" into "name:3: msg".
func syntaxError(name string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return &Error{Origin: name + ":" + m[1], Msg: msg[len(m[0]):]}
	}
	return &Error{Origin: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
}
