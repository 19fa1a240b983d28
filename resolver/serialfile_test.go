package resolver

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var serialDigest = strings.Repeat("0f", 32)

func TestParseSerialState(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     serialState
		err      bool
	}{
		{"good", `{"zone":"a.example.","serial":7,"digest":"` + serialDigest + `"}`, serialState{"a.example.", 7, serialDigest}, false},
		{"unknown fields are fine", `{"zone":"a.","serial":4294967295,"digest":"` + serialDigest + `","written":"x"}`, serialState{"a.", 4294967295, serialDigest}, false},
		{"empty", ``, serialState{}, true},
		{"not an object", `[1,2]`, serialState{}, true},
		{"serial out of range", `{"zone":"a.","serial":4294967296,"digest":"` + serialDigest + `"}`, serialState{}, true},
		{"negative serial", `{"zone":"a.","serial":-1,"digest":"` + serialDigest + `"}`, serialState{}, true},
		{"no zone", `{"serial":7,"digest":"` + serialDigest + `"}`, serialState{}, true},
		{"digest not hex", `{"zone":"a.","serial":7,"digest":"` + strings.Repeat("zz", 32) + `"}`, serialState{}, true},
		{"digest short", `{"zone":"a.","serial":7,"digest":"0f0f"}`, serialState{}, true},
		{"too large", `{"zone":"a.","serial":7,"digest":"` + serialDigest + `","pad":"` + strings.Repeat(" ", maxSerialFile) + `"}`, serialState{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSerialState(strings.NewReader(tc.in))
			if tc.err {
				require.Error(t, err)
				assert.True(t, errors.Is(err, errSerialFile), "%v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// FuzzParseSerialState: no input panics, and what parses survives a
// write and a read unchanged.
func FuzzParseSerialState(f *testing.F) {
	f.Add([]byte(`{"zone":"services.internal.","serial":2026112901,"digest":"` + serialDigest + `"}`))
	f.Add([]byte(`{"zone":"","serial":0,"digest":""}`))
	f.Add([]byte("\x00{"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseSerialState(bytes.NewReader(b))
		if err != nil {
			return
		}
		out, err := json.Marshal(st)
		require.NoError(t, err)
		again, err := parseSerialState(bytes.NewReader(out))
		require.NoError(t, err)
		assert.Equal(t, st, again)
	})
}
