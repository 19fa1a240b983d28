package registry

// Stats summarises a snapshot (svcreg stats, /v1/registry).
type Stats struct {
	Records       int            `json:"records"`
	Names         int            `json:"distinct_names"`
	PerProtocol   map[string]int `json:"per_protocol"` // "" counted as "none"
	Ranges        int            `json:"ranges"`
	NoPort        int            `json:"without_port"`
	TXTKeysByKind map[string]int `json:"names_with_txt_keys_by_kind"`
	Aliases       int            `json:"aliases"`
	Duplicates    int            `json:"duplicates"`
	InvalidNames  int            `json:"invalid_names"`
	ByStatus      map[string]int `json:"by_status"`
	Sources       []SourceInfo   `json:"sources"`
	Conflicts     int            `json:"conflicts"`
	Updated       string         `json:"updated"`
}

func computeStats(s *Snapshot) Stats {
	st := Stats{
		Records:       len(s.records),
		Names:         len(s.byName),
		PerProtocol:   map[string]int{},
		TXTKeysByKind: map[string]int{},
		ByStatus:      map[string]int{},
		Sources:       s.sources,
		Conflicts:     len(s.conflicts),
		Updated:       s.updated,
	}
	invalid := map[string]bool{}
	txt := map[string]TXTKind{}
	for i := range s.records {
		r := &s.records[i]
		p := string(r.Protocol)
		if p == "" {
			p = "none"
		}
		st.PerProtocol[p]++
		st.ByStatus[r.Status.String()]++
		if r.IsRange() {
			st.Ranges++
		}
		if !r.HasPort() {
			st.NoPort++
		}
		switch r.Status {
		case StatusAlias:
			st.Aliases++
		case StatusDuplicate:
			st.Duplicates++
		}
		if r.Name == "" {
			continue
		}
		if !r.ValidName() {
			invalid[r.Name] = true
		}
		if r.TXTKeys.Kind != TXTUnknown {
			txt[lowerString(r.Name)] = r.TXTKeys.Kind
		}
	}
	st.InvalidNames = len(invalid)
	for _, k := range txt {
		st.TXTKeysByKind[k.String()]++
	}
	return st
}

func lowerString(s string) string {
	var buf [128]byte
	if len(s) > len(buf) {
		b := lowerKey(make([]byte, 0, len(s)), s)
		return string(b)
	}
	return string(lowerKey(buf[:], s))
}
