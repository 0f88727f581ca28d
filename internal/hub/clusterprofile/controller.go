// Package clusterprofile keeps one ClusterProfile (the SIG-Multicluster cluster inventory
// API) per member in fleet-system, as KubeFleet does: tools built on that API find the
// fleet's clusters with their version, properties and health. A profile appears once its
// member has joined, follows the member's status, is set back when someone edits it, and is
// deleted with the member (it is also owned by the MemberCluster, so garbage collection
// removes it).
package clusterprofile

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	inventory "github.com/flotilla-dev/flotilla/api/clusterinventory/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// FieldOwner is the field manager of the profiles' spec and labels.
const FieldOwner = "flotilla-clusterprofile"

// Options configure the cluster profile controller; it has none yet.
type Options struct{}

// Reconciler keeps one member's ClusterProfile.
type Reconciler struct {
	Client client.Client
}

// Setup registers the cluster profile controller with mgr.
func Setup(mgr manager.Manager, _ Options) error {
	return builder.ControllerManagedBy(mgr).
		Named("clusterprofile").
		For(&clusterv1beta1.MemberCluster{}).
		Owns(&inventory.ClusterProfile{}).
		WithOptions(controllerdefaults.Options(0)).
		Complete(&Reconciler{Client: mgr.GetClient()})
}

// Reconcile writes, or deletes, the profile of one member.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := client.ObjectKey{Namespace: Namespace, Name: req.Name}
	mc := &clusterv1beta1.MemberCluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, mc); err != nil {
		if !apierrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
		mc = nil
	}
	current := &inventory.ClusterProfile{}
	err := r.Client.Get(ctx, key, current)
	if err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}
	exists := err == nil
	if mc == nil || !wanted(mc, exists) {
		if exists && (mc == nil || ownedBy(current, mc)) {
			if err := r.Client.Delete(ctx, current); err != nil && !apierrors.IsNotFound(err) {
				return reconcile.Result{}, err
			}
		}
		return reconcile.Result{}, nil
	}
	if exists && !ownedBy(current, mc) && current.Spec.ClusterManager.Name != ManagerName {
		// Another cluster manager's profile of the same name: leave it alone.
		return reconcile.Result{}, nil
	}

	desired := &inventory.ClusterProfile{
		TypeMeta: metav1.TypeMeta{APIVersion: inventory.GroupVersion.String(), Kind: "ClusterProfile"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: Namespace, Name: mc.Name,
			Labels: map[string]string{inventory.ClusterManagerLabel: ManagerName, clusterv1beta1.MemberNameLabel: mc.Name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: clusterv1beta1.GroupVersion.String(), Kind: "MemberCluster",
				Name: mc.Name, UID: mc.UID, Controller: ptr.To(true)}},
		},
		Spec: inventory.ClusterProfileSpec{DisplayName: mc.Name, ClusterManager: inventory.ClusterManager{Name: ManagerName}},
	}
	if err := controllerdefaults.ApplyObject(ctx, r.Client, FieldOwner, desired); err != nil {
		return reconcile.Result{}, err
	}
	if err := r.Client.Get(ctx, key, current); err != nil {
		return reconcile.Result{}, err
	}
	next := status(mc, current.Status)
	if equality.Semantic.DeepEqual(next, current.Status) {
		return reconcile.Result{}, nil
	}
	current.Status = next
	return reconcile.Result{}, r.Client.Status().Update(ctx, current)
}

// ownedBy says whether the profile belongs to this member object.
func ownedBy(p *inventory.ClusterProfile, mc *clusterv1beta1.MemberCluster) bool {
	for _, o := range p.OwnerReferences {
		if o.Kind == "MemberCluster" && o.UID == mc.UID {
			return true
		}
	}
	return false
}
