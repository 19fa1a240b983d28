package registry

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func groupNames(gs []SearchGroup) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Name
	}
	return out
}

func rankOf(t *testing.T, res SearchResult, name string) Rank {
	t.Helper()
	i := slices.IndexFunc(res.Groups, func(g SearchGroup) bool { return g.Name == name })
	require.GreaterOrEqual(t, i, 0, "%s not in the results of %q: %v", name, res.Query.Raw, groupNames(res.Groups))
	return res.Groups[i].Rank
}

func TestSearchIANA(t *testing.T) {
	s := sharedSnapshot(t, ianaXML).WithProfiles(BuiltinProfiles())
	search := func(q string) SearchResult {
		t.Helper()
		res, err := s.Search(q, 0)
		require.NoError(t, err, q)
		return res
	}

	t.Run("ranking", func(t *testing.T) {
		res := search("ipp")
		require.NotEmpty(t, res.Groups)
		assert.Equal(t, "ipp", res.Groups[0].Name)
		assert.Equal(t, 1, res.Exact())
		for _, name := range []string{"ipps", "ippc"} {
			assert.Equal(t, RankPrefix, rankOf(t, res, name), name)
		}
		assert.Equal(t, RankRelated, rankOf(t, res, "pwgippfax"), "PWG IPP Facsimile has ipp as a word")
		for _, name := range []string{"hippad", "chipper", "vpsipport"} {
			assert.Equal(t, RankName, rankOf(t, res, name), name)
		}
		assert.True(t, slices.IsSortedFunc(res.Groups, func(a, b SearchGroup) int { return int(a.Rank) - int(b.Rank) }))
		// One group per service: ipp's tcp and udp rows together.
		assert.Equal(t, []Protocol{ProtoTCP, ProtoUDP}, res.Groups[0].Protocols)
		assert.Len(t, res.Groups[0].Records, 2)
		seen := map[string]bool{}
		for _, g := range res.Groups {
			assert.False(t, seen[strings.ToLower(g.Name)], "%s listed twice", g.Name)
			seen[strings.ToLower(g.Name)] = true
		}
	})

	t.Run("aliases are related", func(t *testing.T) {
		res := search("http")
		assert.Equal(t, RankRelated, rankOf(t, res, "www"))
		res = search("whois++")
		assert.Equal(t, []string{"whois++", "whoispp"}, groupNames(res.Groups)[:2])
	})

	t.Run("DNS-SD forms", func(t *testing.T) {
		for _, q := range []string{"_ipp._tcp", "_ipp._tcp.local.", "_ipp._tcp.example.com", "_universal._sub._ipp._tcp.local"} {
			res := search(q)
			require.NotEmpty(t, res.Groups, q)
			g := res.Groups[0]
			assert.Equal(t, "ipp", g.Name, q)
			assert.Equal(t, []Protocol{ProtoTCP}, g.Protocols, q)
			for _, r := range g.Records {
				assert.Equal(t, ProtoTCP, r.Protocol, q)
			}
		}
		// A DNS-SD-only name answers for _tcp.
		res := search("_ippc._tcp.local.")
		require.NotEmpty(t, res.Groups)
		assert.Equal(t, "ippc", res.Groups[0].Name)
	})

	t.Run("words", func(t *testing.T) {
		cases := map[string]string{
			"Multicast DNS": "mdns",
			"multicast dns": "mdns",
			"RFC6763":       "http",
			"rfc 6763":      "http",
			"IESG":          "http", // an assignee
		}
		for q, want := range cases {
			res := search(q)
			assert.Contains(t, groupNames(res.Groups), want, q)
		}
		// Every word must occur: no service is about both.
		assert.Empty(t, search("multicast zzzqqq").Groups)
	})

	t.Run("ports and ranges", func(t *testing.T) {
		res := search("5353/udp")
		assert.Contains(t, groupNames(res.Groups), "mdns")
		res = search("6000-6063")
		assert.Contains(t, groupNames(res.Groups), "x11")
		res = search("5350-5360/udp")
		got := groupNames(res.Groups)
		for _, name := range []string{"pcp", "mdns", "llmnr"} {
			assert.Contains(t, got, name)
		}
		for _, g := range res.Groups {
			for _, r := range g.Records {
				assert.Contains(t, []Protocol{ProtoUDP, ProtoNone}, r.Protocol)
				assert.True(t, int(r.PortHigh) >= 5350 && int(r.PortLow) <= 5360, "%s %d-%d", r.Name, r.PortLow, r.PortHigh)
			}
		}
		_, err := s.Search("6063-6000", 0)
		assert.ErrorIs(t, err, ErrBadQuery)
	})

	t.Run("did you mean", func(t *testing.T) {
		res := search("htpp")
		assert.Empty(t, res.Groups)
		assert.Contains(t, res.DidYouMean, "http")
		res = search("kerberso")
		assert.Contains(t, res.DidYouMean, "kerberos")
		assert.Empty(t, search("ipp").DidYouMean, "an exact match needs no suggestion")
	})

	t.Run("profiles", func(t *testing.T) {
		res := search("octoprint")
		require.NotEmpty(t, res.Groups, "a name only a profile knows")
		assert.Equal(t, RankExact, res.Groups[0].Rank)
		assert.Empty(t, res.Groups[0].Records)
		assert.NotEmpty(t, res.Groups[0].Profiles)
		plain, err := sharedSnapshot(t, ianaXML).Search("octoprint", 0)
		require.NoError(t, err)
		assert.Empty(t, plain.Groups, "without the profile layer")
	})

	t.Run("limit", func(t *testing.T) {
		res, err := s.Search("http", 3)
		require.NoError(t, err)
		assert.Len(t, res.Groups, 3)
		assert.Greater(t, res.Total, 3)
		_, err = s.Search(strings.Repeat("a", MaxSearchLen+1), 0)
		assert.ErrorIs(t, err, ErrBadQuery)
	})
}

// Every registered name finds itself first, whatever its case.
func TestSearchFindsEveryName(t *testing.T) {
	s := sharedSnapshot(t, ianaXML)
	names := s.Names()
	for i := 0; i < len(names); i += 37 {
		q := strings.ToUpper(names[i])
		if strings.ContainsAny(q, " ") {
			continue
		}
		res, err := s.Search(q, 1)
		require.NoError(t, err, q)
		if _, perr := ParseQuery(q); perr != nil {
			continue
		}
		require.NotEmpty(t, res.Groups, q)
		assert.Equal(t, names[i], strings.ToLower(res.Groups[0].Name), q)
		assert.Equal(t, RankExact, res.Groups[0].Rank, q)
	}
}

// ByRange is the union of ByPort over the range, for random ranges.
func TestByRangeProperty(t *testing.T) {
	s := sharedSnapshot(t, ianaXML)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		lo := rng.IntN(65536)
		hi := min(65535, lo+rng.IntN(300))
		for _, proto := range []Protocol{ProtoNone, ProtoTCP, ProtoSCTP} {
			want := map[*Record]bool{}
			for p := lo; p <= hi; p++ {
				for _, r := range s.ByPort(p, proto) {
					want[r] = true
				}
			}
			got := s.ByRange(lo, hi, proto)
			assert.Len(t, got, len(want), "%d-%d/%s", lo, hi, proto)
			for _, r := range got {
				assert.True(t, want[r], "%d-%d/%s: %s %d", lo, hi, proto, r.Name, r.PortLow)
			}
		}
	}
}

func TestEditDistance(t *testing.T) {
	var rows [3][66]int
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"http", "http", 0}, {"htpp", "http", 1}, {"http", "https", 1},
		{"kitten", "sitting", 3}, {"ca", "abc", 3}, {"", "abc", 3}, {"ab", "ba", 1},
	} {
		assert.Equal(t, tc.want, editDistance(tc.a, tc.b, 10, &rows), "%s/%s", tc.a, tc.b)
		assert.Equal(t, tc.want, editDistance(tc.b, tc.a, 10, &rows), "%s/%s", tc.b, tc.a)
		// With a lower limit the answer is the distance or above the limit.
		for limit := range 4 {
			if d := editDistance(tc.a, tc.b, limit, &rows); tc.want <= limit {
				assert.Equal(t, tc.want, d, "%s/%s limit %d", tc.a, tc.b, limit)
			} else {
				assert.Greater(t, d, limit, "%s/%s limit %d", tc.a, tc.b, limit)
			}
		}
	}
}

func BenchmarkSearch(b *testing.B) {
	s := sharedSnapshot(b, ianaXML).WithProfiles(BuiltinProfiles())
	queries := []string{"ipp", "Multicast DNS", "RFC6763", "6000-6063", "_ipp._tcp.local.", "htpp", "printer", "http"}
	_, _ = s.Search("warm", 0)
	for _, q := range queries {
		b.Run(strings.NewReplacer(" ", "_", "/", "_").Replace(q), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Search(q, 50); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzSearch: any query gets results or ErrBadQuery, never a panic; the
// groups are in rank order, each name once, and a port query's records
// cover the port asked.
func FuzzSearch(f *testing.F) {
	src, err := ParseServices(strings.NewReader("http 80/tcp www\nhttp 80/udp www\nipp 631/tcp\nipps 631/tcp\nx11 6000-6063/tcp\nwhoispp 63/tcp whois++\n"), "fuzz")
	require.NoError(f, err)
	s, err := Build(src)
	require.NoError(f, err)
	s = s.WithProfiles(BuiltinProfiles())
	for _, q := range []string{"ipp", "_ipp._tcp.local.", "6000-6063", "80/tcp", "htpp", "a b c", "_printer._sub._http._tcp", "-", "_", "0-0", "65535-0"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		res, err := s.Search(q, 5)
		if err != nil {
			require.ErrorIs(t, err, ErrBadQuery)
			return
		}
		require.LessOrEqual(t, len(res.Groups), 5)
		require.LessOrEqual(t, len(res.Groups), res.Total)
		seen := map[string]bool{}
		for i, g := range res.Groups {
			if i > 0 {
				require.LessOrEqual(t, res.Groups[i-1].Rank, g.Rank)
			}
			if g.Name != "" && !res.Query.IsPort {
				require.False(t, seen[strings.ToLower(g.Name)], "%s twice", g.Name)
				seen[strings.ToLower(g.Name)] = true
			}
			if res.Query.IsPort {
				for _, r := range g.Records {
					require.True(t, int(r.PortHigh) >= res.Query.Port && int(r.PortLow) <= res.Query.PortHigh)
				}
			}
		}
	})
}
