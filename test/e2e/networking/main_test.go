// Package networking runs multi-cluster services end to end on a local fleet: exports in
// two members, the import in all three, and a MultiClusterService whose load balancer (the
// local data plane) spreads real TCP connections over processes standing in for pods.
package networking

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var (
	fleet   *fleetup.Fleet
	members = map[string]client.Client{}
)

func TestMain(m *testing.M) {
	testenv.FleetMain(m, "e2e-networking", fleetup.Options{Members: 3, HeartbeatSeconds: 2}, &fleet, memberClients)
}

// memberClients makes a client for each member's own API server.
func memberClients(f *fleetup.Fleet) error {
	for _, mem := range f.Members {
		c, err := client.New(mem.Config, client.Options{Scheme: scheme.Scheme})
		if err != nil {
			return err
		}
		members[mem.Name] = c
	}
	return nil
}
