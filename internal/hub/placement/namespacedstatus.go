package placement

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	placementac "github.com/flotilla-dev/flotilla/api/placement/v1beta1/applyconfiguration/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// fieldOwner is the field manager of the ClusterResourcePlacementStatuses this controller
// applies.
const fieldOwner = "flotilla-placement"

// writeNamespacedStatus copies the placement's status into a ClusterResourcePlacementStatus
// of the same name in the namespace it places, when its statusReportingScope is
// NamespaceAccessible and the copy differs. The copy is owned by the placement, so it goes
// with it.
func (r *Reconciler) writeNamespacedStatus(ctx context.Context, p placementv1beta1.PlacementObj, status placementv1beta1.PlacementStatus) error {
	crp, ok := p.(*placementv1beta1.ClusterResourcePlacement)
	if !ok || crp.Spec.StatusReportingScope != placementv1beta1.NamespaceAccessible {
		return nil // a namespaced placement's status is in its namespace already
	}
	ns := placedNamespace(crp, status)
	if ns == "" {
		log.FromContext(ctx).V(1).Info("statusReportingScope NamespaceAccessible, but the placement selects no single namespace yet", "placement", crp.Name)
		return nil
	}
	have := &placementv1beta1.ClusterResourcePlacementStatus{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: crp.Name}, have)
	if client.IgnoreNotFound(err) != nil {
		return err
	}
	if err == nil && equality.Semantic.DeepEqual(have.SourceStatus, status) {
		return nil
	}
	source, err := controllerdefaults.Convert[placementac.PlacementStatusApplyConfiguration](status)
	if err != nil {
		return err
	}
	ref, err := controllerdefaults.ControllerRef(crp, r.Client.Scheme())
	if err != nil {
		return err
	}
	ac := placementac.ClusterResourcePlacementStatus(crp.Name, ns).WithOwnerReferences(ref).
		WithSourceStatus(source).WithLastUpdatedTime(metav1.Now())
	if err := controllerdefaults.Apply(ctx, r.Client, fieldOwner, ac, nil); err != nil {
		if apierrors.IsNotFound(err) {
			return nil // the namespace is not on the hub (yet)
		}
		return fmt.Errorf("writing ClusterResourcePlacementStatus %s/%s: %w", ns, crp.Name, err)
	}
	return nil
}

// placedNamespace is the one namespace a placement selects: the name in its Namespace
// selector, or else the one Namespace among its selected resources.
func placedNamespace(crp *placementv1beta1.ClusterResourcePlacement, status placementv1beta1.PlacementStatus) string {
	for _, s := range crp.Spec.ResourceSelectors {
		if s.Group == "" && s.Kind == "Namespace" && s.Name != "" {
			return s.Name
		}
	}
	found := ""
	for _, id := range status.SelectedResources {
		if id.Group == "" && id.Kind == "Namespace" {
			if found != "" {
				return ""
			}
			found = id.Name
		}
	}
	return found
}
