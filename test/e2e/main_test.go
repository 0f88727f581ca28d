// Package e2e runs Flotilla end to end on a local fleet of real API servers: the hub
// controllers and one member agent per member, each agent as its own hub identity.
package e2e

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

// forceDeleteWait is the hub's wait for an agent that does not leave, short for the tests.
const forceDeleteWait = 5 * time.Second

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	bins, err := testenv.Binaries()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube binaries:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "flotilla-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fleet, err = fleetup.Up(ctx, fleetup.Options{
		Members: 3, Dir: dir, Binaries: bins, HeartbeatSeconds: 1, ForceDeleteWait: forceDeleteWait,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the e2e fleet:", err)
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
