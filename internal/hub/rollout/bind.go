package rollout

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// Bind points one binding at t's snapshot, apply strategy and overrides, and records its
// RolloutStarted (and, without overrides, Overridden) condition, as a rollout step does.
// Controllers that move the bindings of External placements themselves, such as staged
// update runs, use it so that a binding looks the same whoever bound it.
func Bind(ctx context.Context, c client.Client, reader client.Reader, b placementv1beta1.BindingObj, t Target) error {
	return (&Reconciler{Client: c, APIReader: reader}).pointAtLatest(b, t)(ctx)
}
