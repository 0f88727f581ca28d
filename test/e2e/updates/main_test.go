// Package updates runs update orchestration end to end on a local fleet: the hub's
// orchestrator, and the local upgrade provider in each member agent acting on the members'
// fake nodes.
package updates

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *fleetup.Fleet

// nodeDuration is the local provider's time per node: short, so the test is quick, but not
// zero, so operations overlap as they would for real.
const nodeDuration = 200 * time.Millisecond

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctrl.SetLogger(logr.Discard())
	bins, err := testenv.Binaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube binaries:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "flotilla-e2e-updates-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fleet, err = fleetup.Up(ctx, fleetup.Options{
		Members: 3, Dir: dir, Binaries: bins, HeartbeatSeconds: 1, NodeUpgradeDuration: nodeDuration,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the e2e fleet:", err)
		return 1
	}
	if err := fleet.WaitJoined(ctx, time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, err)
		fleet.Stop()
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
