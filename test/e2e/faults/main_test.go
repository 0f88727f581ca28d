// Package faults injects faults into a local fleet of a hub and three members while a
// placement of 20 objects rolls out and an update run goes: API servers, etcd and the hub
// controllers die and come back, and a member's token is revoked and restored. Each case
// checks that nothing placed on a healthy member is deleted or applied twice, that status
// tells the truth during the fault, and that the fleet converges after it.
package faults

import (
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *fleetup.Fleet

// heartbeat is each member's heartbeat period; convergence is measured against two of them.
const heartbeat = 2 * time.Second

// nodeUpgrade is the local provider's time per node: short, but long enough that an update
// run is still going when a fault begins.
const nodeUpgrade = time.Second

func TestMain(m *testing.M) {
	testenv.FleetMain(m, "e2e-faults", fleetup.Options{
		Members: 3, HeartbeatSeconds: int32(heartbeat / time.Second), NodeUpgradeDuration: nodeUpgrade,
	}, &fleet, nil)
}
