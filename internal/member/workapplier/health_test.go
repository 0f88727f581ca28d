package workapplier

import "testing"

// TestRecoveryComesBackOnlyAfterAnOutage walks /readyz answers through the recovery state.
func TestRecoveryComesBackOnlyAfterAnOutage(t *testing.T) {
	cases := []struct {
		name    string
		answers []bool
		want    []bool
	}{
		{"ready from the start resyncs nothing", []bool{true, true}, []bool{false, false}},
		{"an outage ends on the first ready answer", []bool{true, false, false, true, true}, []bool{false, false, false, true, false}},
		{"down at start then ready", []bool{false, true}, []bool{false, true}},
		{"two outages, two resyncs", []bool{false, true, false, true}, []bool{false, true, false, true}},
		{"still down", []bool{false, false}, []bool{false, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r recovery
			for i, a := range tc.answers {
				if got := r.observe(a); got != tc.want[i] {
					t.Fatalf("answer %d (%v): came back = %v, want %v", i, a, got, tc.want[i])
				}
			}
		})
	}
}
