package workapplier

import "testing"

// TestRecoveryComesBackOnlyAfterAnOutage walks /readyz answers through the recovery state.
func TestRecoveryComesBackOnlyAfterAnOutage(t *testing.T) {
	cases := []struct {
		name     string
		answers  []bool
		wantBack []bool
		wantDown []bool
	}{
		{"ready from the start resyncs nothing", []bool{true, true}, []bool{false, false}, []bool{false, false}},
		{"an outage ends on the first ready answer", []bool{true, false, false, true, true},
			[]bool{false, false, false, true, false}, []bool{false, true, false, false, false}},
		{"down at start begins an outage, then ready ends it", []bool{false, true}, []bool{false, true}, []bool{true, false}},
		{"two outages, two resyncs", []bool{false, true, false, true}, []bool{false, true, false, true}, []bool{true, false, true, false}},
		{"still down: one outage", []bool{false, false}, []bool{false, false}, []bool{true, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r recovery
			for i, a := range tc.answers {
				back, down := r.observe(a)
				if back != tc.wantBack[i] || down != tc.wantDown[i] {
					t.Fatalf("answer %d (%v): came back = %v, went down = %v; want %v, %v", i, a, back, down, tc.wantBack[i], tc.wantDown[i])
				}
			}
		})
	}
}
