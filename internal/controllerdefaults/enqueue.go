package controllerdefaults

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// ByLabel maps an object to the cluster-scoped object its label names: a binding to its
// placement (CRPTrackingLabel), a Work to its binding, an IMC to its MemberCluster. An
// object without the label maps to nothing.
func ByLabel(label string) func(context.Context, client.Object) []reconcile.Request {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		if name := o.GetLabels()[label]; name != "" {
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: name}}}
		}
		return nil
	}
}

// EnqueueByLabel is the event handler of ByLabel.
func EnqueueByLabel(label string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(ByLabel(label))
}
