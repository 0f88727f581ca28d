package membership

import (
	"testing"
	"time"
)

func TestHearingTrackerObserve(t *testing.T) {
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tr := &HearingTracker{since: start}
	steps := []struct {
		reachable bool
		at        time.Duration
		restarted bool
		since     time.Duration
	}{
		{reachable: true, at: time.Second, since: 0},
		{reachable: false, at: 2 * time.Second, since: 0},
		{reachable: false, at: 3 * time.Minute, since: 0},
		{reachable: true, at: 3*time.Minute + time.Second, restarted: true, since: 3*time.Minute + time.Second},
		{reachable: true, at: 4 * time.Minute, since: 3*time.Minute + time.Second},
	}
	for i, s := range steps {
		if got := tr.Observe(s.reachable, start.Add(s.at)); got != s.restarted {
			t.Fatalf("step %d: restarted = %v, want %v", i, got, s.restarted)
		}
		if got := tr.Since(); !got.Equal(start.Add(s.since)) {
			t.Fatalf("step %d: since = %s, want %s", i, got, start.Add(s.since))
		}
	}
}
