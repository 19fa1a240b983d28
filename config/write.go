package config

import (
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// WriteYAML prints the effective configuration as a config file Load
// accepts. With origins, each value carries a comment saying where it
// came from (file:line, environment variable, flag or default).
func (l *Loaded) WriteYAML(w io.Writer, origins bool) error {
	root := l.encode(reflect.ValueOf(l.Config), "", origins)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	return enc.Close()
}

// WriteJSON prints the effective configuration as one JSON object:
// "file" (the config file read, empty for none), "config" (the same
// document WriteYAML prints, as JSON) and "origins" (every key to where
// its value came from, as in WriteYAML's comments).
func (l *Loaded) WriteJSON(w io.Writer) error {
	b, err := yaml.Marshal(l.encode(reflect.ValueOf(l.Config), "", false))
	if err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	origins := make(map[string]string)
	for _, k := range Keys() {
		origins[k] = l.Origin(k)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	out := struct {
		File    string            `json:"file"`
		Config  any               `json:"config"`
		Origins map[string]string `json:"origins"`
	}{l.Path, doc, origins}
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	return nil
}

func (l *Loaded) encode(v reflect.Value, key string, origins bool) *yaml.Node {
	if tm, ok := v.Interface().(encoding.TextMarshaler); ok && v.Kind() == reflect.Struct {
		b, err := tm.MarshalText()
		if err != nil {
			b = []byte(err.Error())
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Value: string(b)}
	}
	if v.Type() == durationType {
		return &yaml.Node{Kind: yaml.ScalarNode, Value: fmtDuration(v.Interface())}
	}
	switch v.Kind() {
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Tag.Get("yaml")
			sub := joinKey(key, name)
			val := l.encode(v.Field(i), sub, origins)

			k := &yaml.Node{Kind: yaml.ScalarNode, Value: name}
			switch {
			case !origins || f.Type.Kind() == reflect.Struct && val.Kind == yaml.MappingNode:
			case val.Kind == yaml.ScalarNode || val.Style == yaml.FlowStyle:
				val.LineComment = l.Origin(sub)
			default:
				k.LineComment = l.Origin(sub)
			}
			n.Content = append(n.Content, k, val)
		}
		return n
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		for i := range v.Len() {
			n.Content = append(n.Content, l.encode(v.Index(i), fmt.Sprintf("%s[%d]", key, i), origins))
		}
		width := 0
		for _, c := range n.Content {
			width += len(c.Value) + 2
		}
		if v.Len() == 0 || v.Type().Elem() != reflect.TypeFor[LocalService]() && width <= 60 {
			n.Style = yaml.FlowStyle // short lists of scalars on one line
		}
		return n
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k},
				l.encode(v.MapIndex(reflect.ValueOf(k)), joinKey(key, k), origins))
		}
		if len(keys) == 0 {
			n.Style = yaml.FlowStyle
		}
		return n
	case reflect.String:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.String()}
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatBool(v.Bool())}
	case reflect.Int, reflect.Int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatInt(v.Int(), 10)}
	case reflect.Uint16, reflect.Uint32:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatUint(v.Uint(), 10)}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Value: fmt.Sprint(v.Interface())}
}

func fmtDuration(v any) string {
	d := v.(interface{ String() string }).String()
	if d == "0s" {
		return "0"
	}
	// "24h0m0s" reads better as "24h"; both parse to the same duration.
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	return d
}
