package hub

import (
	"k8s.io/client-go/kubernetes"

	"github.com/flotilla-dev/flotilla/internal/eligibility"
	"github.com/flotilla-dev/flotilla/internal/hub/eviction"
	"github.com/flotilla-dev/flotilla/internal/hub/membership"
	"github.com/flotilla-dev/flotilla/internal/hub/overridesnapshot"
	"github.com/flotilla-dev/flotilla/internal/hub/placement"
	"github.com/flotilla-dev/flotilla/internal/hub/rollout"
	"github.com/flotilla-dev/flotilla/internal/hub/scheduler"
	"github.com/flotilla-dev/flotilla/internal/hub/stagedupdaterun"
)

// setupPlacement registers the hub half of resource propagation: the placement controller
// (selection, snapshots, status), the scheduler and the rollout. The scheduler judges
// heartbeats by how long the hub has been able to hear them (membership.HearingTracker).
func setupPlacement(env Env) error {
	clientset, err := kubernetes.NewForConfig(env.Manager.GetConfig())
	if err != nil {
		return err
	}
	tracker := membership.NewHearingTracker(clientset.Discovery().RESTClient())
	if err := env.Manager.Add(tracker); err != nil {
		return err
	}
	hearing := func() eligibility.Hearing {
		return eligibility.Hearing{Since: tracker.Since(), Grace: env.Options.StaleGrace, MaxStaleShare: env.Options.MaxStaleShare}
	}
	for _, setup := range []func(Env) error{
		func(e Env) error { return placement.Setup(e.Manager, placement.Options{}) },
		func(e Env) error { return scheduler.Setup(e.Manager, scheduler.Options{Hearing: hearing}) },
		func(e Env) error { return rollout.Setup(e.Manager, rollout.Options{}) },
		func(e Env) error { return overridesnapshot.Setup(e.Manager, overridesnapshot.Options{}) },
		func(e Env) error { return eviction.Setup(e.Manager, eviction.Options{}) },
		func(e Env) error { return stagedupdaterun.Setup(e.Manager, stagedupdaterun.Options{}) },
	} {
		if err := setup(env); err != nil {
			return err
		}
	}
	return nil
}
