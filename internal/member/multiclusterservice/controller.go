// Package multiclusterservice reports the state of the member's MultiClusterServices.
// The serviceimport controller does the work (it claims the import for the oldest
// MultiClusterService of the member, and makes the derived Service a LoadBalancer once the
// hub grants the claim); this controller tells the user how that went: Valid, and the load
// balancer's address copied from the derived Service.
package multiclusterservice

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/member/serviceimport"
)

// Reconciler writes the status of MultiClusterServices.
type Reconciler struct {
	Hub          client.Client
	HubNamespace string
	Member       cluster.Cluster
	MemberName   string
}

// Options configure the multiclusterservice controller.
type Options struct {
	// Member is the member cluster (client and cache), added to the manager.
	Member cluster.Cluster
	// MemberName is this member's name; its hub namespace is fleet-member-<name>.
	MemberName string
}

// Setup registers the multiclusterservice controller with the agent's hub manager.
func Setup(mgr manager.Manager, opts Options) error {
	return (&Reconciler{Hub: mgr.GetClient(), HubNamespace: clusterv1beta1.NamespaceForMember(opts.MemberName),
		Member: opts.Member, MemberName: opts.MemberName}).register(mgr)
}

// register registers the controller.
func (r *Reconciler) register(mgr manager.Manager) error {
	// Changes to an import or its derived Service concern every MultiClusterService that
	// names the import.
	byImport := func(ctx context.Context, namespace, name string) []reconcile.Request {
		var list networkingv1alpha1.MultiClusterServiceList
		if err := r.Member.GetClient().List(ctx, &list, client.InNamespace(namespace)); err != nil {
			return nil
		}
		var reqs []reconcile.Request
		for _, m := range list.Items {
			if m.Spec.ServiceImport.Name == name {
				reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: m.Namespace, Name: m.Name}})
			}
		}
		return reqs
	}
	fromInternal := func(ctx context.Context, o client.Object) []reconcile.Request {
		ns, name, ok := networkingv1alpha1.SplitInternalName(o.GetName())
		if !ok {
			return nil
		}
		return byImport(ctx, ns, name)
	}
	fromDerived := func(ctx context.Context, o client.Object) []reconcile.Request {
		if name := o.GetAnnotations()[networkingv1alpha1.DerivedServiceFor]; name != "" {
			return byImport(ctx, o.GetNamespace(), name)
		}
		return nil
	}
	mc := r.Member.GetCache()
	return builder.ControllerManagedBy(mgr).
		Named("multiclusterservice").
		WatchesRawSource(source.Kind(mc, client.Object(&networkingv1alpha1.MultiClusterService{}), &handler.EnqueueRequestForObject{})).
		WatchesRawSource(source.Kind(mc, client.Object(&corev1.Service{}), handler.EnqueueRequestsFromMapFunc(fromDerived))).
		Watches(&networkingv1alpha1.InternalServiceImport{}, handler.EnqueueRequestsFromMapFunc(fromInternal)).
		WithOptions(controllerdefaults.Options(0)).
		Complete(r)
}

// Reconcile reports on one MultiClusterService.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	c := r.Member.GetClient()
	mcs := &networkingv1alpha1.MultiClusterService{}
	if err := c.Get(ctx, req.NamespacedName, mcs); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	before := mcs.DeepCopy()
	name := mcs.Spec.ServiceImport.Name
	valid := metav1.Condition{
		Type: networkingv1alpha1.MultiClusterServiceConditionValid, Status: metav1.ConditionUnknown,
		Reason: networkingv1alpha1.ReasonUnknownServiceImport, ObservedGeneration: mcs.Generation,
	}
	mcs.Status.LoadBalancer = corev1.LoadBalancerStatus{}

	imp := &networkingv1alpha1.InternalServiceImport{}
	err := r.Hub.Get(ctx, client.ObjectKey{Namespace: r.HubNamespace, Name: networkingv1alpha1.InternalName(mcs.Namespace, name)}, imp)
	switch {
	case apierrors.IsNotFound(err):
		valid.Message = fmt.Sprintf("there is no ServiceImport %s in namespace %s: export a Service %s from a member of the fleet", name, mcs.Namespace, name)
	case err != nil:
		return reconcile.Result{}, err
	default:
		h := imp.Spec.LoadBalancer
		claim := imp.Status.MultiClusterService
		switch {
		case imp.Spec.Type == mcsv1beta1.Headless:
			valid.Message = fmt.Sprintf("ServiceImport %s is Headless: it has no clusterset IP to put behind a load balancer; export a ClusterIP Service to use a MultiClusterService", name)
		case h != nil && h.Cluster == r.MemberName && h.Name == mcs.Name:
			svc := &corev1.Service{}
			derived := serviceimport.DerivedServiceName(name)
			if err := c.Get(ctx, client.ObjectKey{Namespace: mcs.Namespace, Name: derived}, svc); client.IgnoreNotFound(err) != nil {
				return reconcile.Result{}, err
			}
			valid.Status, valid.Reason = metav1.ConditionTrue, networkingv1alpha1.ReasonFoundServiceImport
			valid.Message = fmt.Sprintf("this MultiClusterService holds ServiceImport %s; Service %s is its load balancer", name, derived)
			if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
				mcs.Status.LoadBalancer = *svc.Status.LoadBalancer.DeepCopy()
			}
		case h != nil:
			valid.Message = fmt.Sprintf("MultiClusterService %s on member %s holds ServiceImport %s; this one waits and takes over when that one is deleted",
				h.Name, h.Cluster, name)
		case claim != nil && claim.Name != mcs.Name:
			valid.Message = fmt.Sprintf("the older MultiClusterService %s on this member claims ServiceImport %s; this one waits", claim.Name, name)
		default:
			valid.Message = fmt.Sprintf("ServiceImport %s is claimed for this MultiClusterService; waiting for the hub to grant it", name)
		}
	}
	meta.SetStatusCondition(&mcs.Status.Conditions, valid)
	if equality.Semantic.DeepEqual(before.Status, mcs.Status) {
		return reconcile.Result{}, nil
	}
	return reconcile.Result{}, client.IgnoreNotFound(c.Status().Patch(ctx, mcs, client.MergeFrom(before)))
}
