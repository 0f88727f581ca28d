// Package placement runs resource propagation end to end on a local fleet of a hub and three
// members: ClusterResourcePlacements on the hub, the scheduler, rollout and work generator
// in the hub controllers, and the work applier in each member agent.
package placement

import (
	"testing"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *fleetup.Fleet

func TestMain(m *testing.M) {
	testenv.FleetMain(m, "e2e-placement", fleetup.Options{Members: 3, HeartbeatSeconds: 1}, &fleet, nil)
}
