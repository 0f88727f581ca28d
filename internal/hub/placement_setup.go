package hub

import (
	"github.com/flotilla-dev/flotilla/internal/hub/placement"
	"github.com/flotilla-dev/flotilla/internal/hub/rollout"
	"github.com/flotilla-dev/flotilla/internal/hub/scheduler"
)

// setupPlacement registers the hub half of resource propagation: the placement controller
// (selection, snapshots, status), the scheduler and the rollout.
func setupPlacement(env Env) error {
	for _, setup := range []func(Env) error{
		func(e Env) error { return placement.SetupWithManager(e.Manager) },
		func(e Env) error { return scheduler.SetupWithManager(e.Manager) },
		func(e Env) error { return rollout.SetupWithManager(e.Manager) },
	} {
		if err := setup(env); err != nil {
			return err
		}
	}
	return nil
}
