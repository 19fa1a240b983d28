package mdns

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

func TestCatalogue(t *testing.T) {
	rules := Rules()
	require.Len(t, rules, int(numRules))
	seen := map[string]bool{}
	for i, r := range rules {
		assert.False(t, seen[r.ID], "duplicate rule %s", r.ID)
		seen[r.ID] = true
		assert.NotEmpty(t, r.Summary, r.ID)
		assert.True(t, strings.HasPrefix(r.RFC, "RFC "), r.ID)
		idx, ok := lookupRule(r.ID)
		require.True(t, ok)
		assert.Equal(t, ruleIndex(i), idx)
	}
	// The documented catalogue (docs/mdns-validate.md), with its default severities.
	want := map[string]Severity{
		RuleNameSyntax: SeverityError, RuleProtoLabel: SeverityError, RuleUnregistered: SeverityWarning,
		RuleAliasName: SeverityWarning, RuleDuplicateName: SeverityWarning, RuleProtoMismatch: SeverityWarning,
		RulePortMismatch: SeverityInfo, RuleTXTUnknownKey: SeverityInfo, RuleTXTKeysNone: SeverityInfo,
		RuleTXTKeyMissing: SeverityWarning, RuleTXTValue: SeverityWarning,
		RuleTXTFormat: SeverityError, RuleInstanceName: SeverityError, RuleSubtype: SeverityInfo, RuleTTL: SeverityInfo,
		RuleSRVTarget: SeverityWarning, RuleMDNSPacket: SeverityWarning,
		RuleNameConflict: SeverityWarning, RuleReflected: SeverityWarning, RuleLinkLocalOnly: SeverityInfo,
		RuleMDNSRate: SeverityWarning, RuleRenameLoop: SeverityWarning, RuleGoodbye: SeverityInfo,
	}
	got := map[string]Severity{}
	for _, r := range rules {
		got[r.ID] = r.Severity
	}
	assert.Equal(t, want, got)
	// Rules returns a copy.
	rules[0].ID = "changed"
	assert.Equal(t, RuleNameSyntax, Rules()[0].ID)
}

func TestPolicyCheck(t *testing.T) {
	assert.NoError(t, Policy{}.Check())
	assert.NoError(t, Policy{Severity: map[string]Severity{RuleTTL: SeverityError}, Disabled: map[string]bool{RuleSubtype: true}}.Check())
	err := Policy{Severity: map[string]Severity{"zzz": SeverityError}, Disabled: map[string]bool{"aaa": true, RuleTTL: true}}.Check()
	require.ErrorIs(t, err, ErrUnknownRule)
	assert.Equal(t, "unknown rule: aaa, zzz (see svcreg rules)", err.Error())
}

func TestSeverity(t *testing.T) {
	cases := []struct {
		in   string
		want Severity
		ok   bool
	}{
		{"info", SeverityInfo, true}, {"WARNING", SeverityWarning, true}, {"warn", SeverityWarning, true},
		{" error ", SeverityError, true}, {"fatal", 0, false}, {"", 0, false}, {"off", 0, false},
	}
	for _, tc := range cases {
		got, err := ParseSeverity(tc.in)
		if !tc.ok {
			assert.ErrorIs(t, err, ErrBadSeverity, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got)
	}
	for _, s := range []Severity{SeverityInfo, SeverityWarning, SeverityError} {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var back Severity
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, s, back)
		assert.Equal(t, string(b), s.String())
	}
	_, err := Severity(7).MarshalText()
	assert.ErrorIs(t, err, ErrBadSeverity)
	assert.Equal(t, "severity(7)", Severity(7).String())
	assert.True(t, SeverityError > SeverityWarning && SeverityWarning > SeverityInfo)
}

// TestFindingJSON pins the documented JSON shape of a finding.
func TestFindingJSON(t *testing.T) {
	f := Finding{Rule: "txt-format", Severity: SeverityWarning, Instance: "Bad Keys", ServiceType: "_http._tcp",
		Message: "m", RFC: "RFC 6763 section 6.4", Evidence: "path"}
	b, err := json.Marshal(f)
	require.NoError(t, err)
	assert.JSONEq(t, `{"rule":"txt-format","severity":"warning","instance":"Bad Keys","service_type":"_http._tcp",
		"message":"m","rfc":"RFC 6763 section 6.4","evidence":"path"}`, string(b))
	f.Origin = "192.0.2.1:5353"
	b, err = json.Marshal(f)
	require.NoError(t, err)
	var back Finding
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, f, back)

	r, err := json.Marshal(Rules()[0])
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"name-syntax","severity":"error","rfc":"RFC 6335 section 5.1","summary":"`+Rules()[0].Summary+`"}`, string(r))
}

// TestRulesDocumented keeps the table in docs/mdns-validate.md in step
// with the catalogue: one row per rule, with its default and section.
func TestRulesDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "docs", "mdns-validate.md"))
	require.NoError(t, err)
	row := regexp.MustCompile("^\\| `[a-z0-9-]+` \\| (info|warning|error) \\| RFC ")
	rows := 0
	for _, line := range strings.Split(string(b), "\n") {
		if row.MatchString(line) {
			rows++
		}
	}
	assert.Equal(t, len(Rules()), rows, "rule rows in docs/mdns-validate.md")
	for _, r := range Rules() {
		assert.Contains(t, string(b), "| `"+r.ID+"` | "+r.Severity.String()+" | "+r.RFC+" |", r.ID)
	}
}
