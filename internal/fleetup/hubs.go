package fleetup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flotilla-dev/flotilla/internal/hub"
)

// hubReplica is one running copy of the hub controllers.
type hubReplica struct {
	cancel  context.CancelFunc
	done    chan struct{}
	elected <-chan struct{}
	killed  bool // ended on purpose by KillHub or StopHubs: its ending is no failure
}

// StartHubs starts n copies of the hub controllers. With more than one, they take turns
// through leader election, as replicas of a hub Deployment do; one runs without it.
func (f *Fleet) StartHubs(n int) error {
	if n < 1 {
		return fmt.Errorf("the hub needs at least 1 replica, not %d", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return errors.New("the fleet is stopping")
	}
	for _, r := range f.hubs {
		if !r.killed {
			return errors.New("the hub controllers run already: StopHubs first")
		}
	}
	f.hubs = nil
	for i := 0; i < n; i++ {
		mgr, err := hub.NewManager(f.Fleet.Hub.Config, hub.Options{ForceDeleteWait: f.forceDeleteWait, LeaderElection: n > 1})
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(context.Background())
		r := &hubReplica{cancel: cancel, done: make(chan struct{}), elected: mgr.Elected()}
		f.hubs = append(f.hubs, r)
		name := "hub"
		if n > 1 {
			name = fmt.Sprintf("hub replica %d", i)
		}
		f.goRunLocked(name, func() error {
			defer close(r.done)
			err := mgr.Start(ctx)
			f.mu.Lock()
			killed := r.killed
			f.mu.Unlock()
			if killed {
				return nil // "leader election lost" after a kill on purpose is expected
			}
			return err
		})
	}
	return nil
}

// KillHub ends replica i of the hub controllers at once, as a crash would: a leader does not
// give up its lease, so another replica takes over only when the lease runs out. It waits
// until the replica has ended.
func (f *Fleet) KillHub(i int) error {
	f.mu.Lock()
	if i < 0 || i >= len(f.hubs) {
		f.mu.Unlock()
		return fmt.Errorf("the hub has replicas 0 to %d, not %d", len(f.hubs)-1, i)
	}
	r := f.hubs[i]
	r.killed = true
	f.mu.Unlock()
	r.cancel()
	<-r.done
	return nil
}

// StopHubs ends every replica of the hub controllers and waits for them.
func (f *Fleet) StopHubs() {
	for _, r := range f.cancelHubs() {
		<-r.done
	}
}

// cancelHubs tells every replica of the hub controllers to end, on purpose, and returns
// them without waiting.
func (f *Fleet) cancelHubs() []*hubReplica {
	f.mu.Lock()
	hubs := f.hubs
	for _, r := range hubs {
		r.killed = true
	}
	f.mu.Unlock()
	for _, r := range hubs {
		r.cancel()
	}
	return hubs
}

// HubLeader waits until a live replica of the hub controllers leads, and returns its index.
func (f *Fleet) HubLeader(ctx context.Context, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		f.mu.Lock()
		for i, r := range f.hubs {
			select {
			case <-r.elected:
				if !r.killed {
					f.mu.Unlock()
					return i, nil
				}
			default:
			}
		}
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("no replica of the hub controllers leads after %s", timeout)
		case <-ticker.C:
		}
	}
}
