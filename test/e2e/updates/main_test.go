// Package updates runs update orchestration end to end on a local fleet: the hub's
// orchestrator, and the local upgrade provider in each member agent acting on the members'
// fake nodes.
package updates

import (
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *fleetup.Fleet

// nodeDuration is the local provider's time per node: short, so the test is quick, but not
// zero, so operations overlap as they would for real.
const nodeDuration = 200 * time.Millisecond

func TestMain(m *testing.M) {
	testenv.FleetMain(m, "e2e-updates", fleetup.Options{Members: 3, HeartbeatSeconds: 1, NodeUpgradeDuration: nodeDuration}, &fleet, nil)
}
