package overridesnapshot

import (
	ctrlruntime "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// builderFor watches an override kind (its spec) and the snapshots it owns (so a deleted
// snapshot is made again).
func builderFor(mgr manager.Manager, name string, override, snap client.Object) *builder.Builder {
	return ctrlruntime.NewControllerManagedBy(mgr).
		Named(name+"-snapshot").
		For(override, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(snap).
		WithOptions(controllerdefaults.Options(2))
}
