package membership

import (
	"context"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/flotilla-dev/flotilla/internal/readyz"
)

// HearingTracker keeps eligibility.Hearing.Since up to date: the moment the hub controllers started
// (won the lease), moved forward each time the hub's API server answers again after it
// did not. It runs in the hub's manager.
type HearingTracker struct {
	// Client reaches the hub's API server; its /readyz is probed.
	Client rest.Interface
	// Every is the probe period; zero means 2 s.
	Every time.Duration

	mu          sync.Mutex
	since       time.Time
	unreachable bool
}

// NewHearingTracker returns a tracker whose hearing starts now; Start moves it to the
// moment the tracker really runs.
func NewHearingTracker(c rest.Interface) *HearingTracker {
	return &HearingTracker{Client: c, since: time.Now()}
}

// Since returns when the hub controllers began hearing heartbeats.
func (t *HearingTracker) Since() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.since
}

// Observe records one probe's outcome at now and says whether hearing restarted, which
// happens when the API server answers after it had not.
func (t *HearingTracker) Observe(reachable bool, now time.Time) (restarted bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !reachable {
		t.unreachable = true
		return false
	}
	if t.unreachable {
		t.unreachable = false
		t.since = now
		return true
	}
	return false
}

// NeedLeaderElection makes hearing start when this replica starts acting.
func (t *HearingTracker) NeedLeaderElection() bool { return true }

// Start probes the hub's API server until ctx ends.
func (t *HearingTracker) Start(ctx context.Context) error {
	t.mu.Lock()
	t.since = time.Now()
	t.mu.Unlock()
	every := t.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if t.Observe(readyz.Check(ctx, t.Client, 5*time.Second) == nil, time.Now()) {
			log.FromContext(ctx).Info("the hub's API server answers again; member heartbeats are judged from now on")
		}
	}
}
