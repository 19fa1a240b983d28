package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFinishUnnamedStatus(t *testing.T) {
	tests := []struct {
		name, desc string
		want       Status
	}{
		{"", "Unassigned", StatusUnassigned},
		{"", "unassigned", StatusUnassigned},
		{"", "Reserved", StatusReserved},
		{"", "IANA Reserved", StatusReserved},
		{"", "", StatusReserved},
		{"", "De-registered", StatusReserved},
		{"", "Removed", StatusReserved},
		{"", "Deprecated", StatusReserved},
		{"", "any private terminal access", StatusAssigned},
		{"imaps", "Removed", StatusAssigned}, // a named record keeps its registration
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.desc, func(t *testing.T) {
			r := Record{Name: tc.name, Description: tc.desc, PortLow: 585, PortHigh: 585}
			Finish(&r)
			assert.Equal(t, tc.want, r.Status)
		})
	}
}

// TestWithdrawnPortsAreReserved checks the rule on the official XML: no
// unnamed "De-registered", "Removed" or "Deprecated" row is called assigned.
func TestWithdrawnPortsAreReserved(t *testing.T) {
	src := sharedSource(t, "service-names-port-numbers.xml")
	n := 0
	for i := range src.Records {
		r := &src.Records[i]
		switch r.Description {
		case "De-registered", "Removed", "Deprecated":
			if r.Name == "" {
				n++
				assert.Equal(t, StatusReserved, r.Status, "line %d", r.Line)
			}
		}
	}
	assert.Positive(t, n)
}
