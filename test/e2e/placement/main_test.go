// Package placement runs resource propagation end to end on a local fleet of a hub and three
// members: ClusterResourcePlacements on the hub, the scheduler, rollout and work generator
// in the hub controllers, and the work applier in each member agent.
package placement

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *fleetup.Fleet

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	bins, err := testenv.Binaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube binaries:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "flotilla-e2e-placement-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fleet, err = fleetup.Up(ctx, fleetup.Options{Members: 3, Dir: dir, Binaries: bins, HeartbeatSeconds: 1})
	if err == nil {
		err = fleet.WaitJoined(ctx, 2*time.Minute)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the placement e2e fleet:", err, "; logs in", dir)
		if fleet != nil {
			fleet.Stop()
		}
		return 1
	}
	code := m.Run()
	fleet.Stop()
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "e2e fleet logs kept in", dir)
	}
	return code
}
