package workapplier

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// workGone removes what a deleted Work placed: objects Flotilla created go, with the
// AppliedWork and through garbage collection; objects it took over or shares with another
// placement only lose its ownerReference. Nothing happens while the member leaves
// the fleet, or once it has left: what was placed stays.
func (r *Reconciler) workGone(ctx context.Context, name string) error {
	aw := &placementv1beta1.AppliedWork{}
	if err := r.Member.GetAPIReader().Get(ctx, client.ObjectKey{Name: name}, aw); err != nil {
		return client.IgnoreNotFound(err)
	}
	if aw.Spec.WorkNamespace != r.HubNamespace || aw.DeletionTimestamp != nil {
		return nil
	}
	if leaving, err := r.leaving(ctx); err != nil || leaving {
		return err
	}
	// The cache may lag behind a Work just created; ask the API server before deleting.
	work := &placementv1beta1.Work{}
	if err := r.HubReader.Get(ctx, client.ObjectKey{Namespace: r.HubNamespace, Name: name}, work); err == nil {
		return nil
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	// Objects Flotilla created and holds alone are deleted right away: the garbage
	// collector would, but it may take up to half a minute to notice a new owner kind.
	// Objects it must keep are released. The garbage collector still removes, with the
	// AppliedWork, anything placed but not yet recorded in its status.
	abandon := aw.Annotations[placementv1beta1.DeletePropagationAnnotation] == string(placementv1beta1.DeletePropagationPolicyAbandon)
	for _, res := range aw.Status.AppliedResources {
		var err error
		if abandon {
			err = r.abandon(ctx, aw, res)
		} else {
			err = r.release(ctx, aw, res, false)
		}
		if err != nil {
			return err
		}
	}
	r.attempts.Delete(name)
	// Orphan, when abandoning, also keeps what was placed but not yet recorded.
	propagation := metav1.DeletePropagationBackground
	if abandon {
		propagation = metav1.DeletePropagationOrphan
	}
	err := r.Member.GetClient().Delete(ctx, aw, client.PropagationPolicy(propagation),
		client.Preconditions{UID: ptr.To(aw.UID)})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting AppliedWork %s: %w", name, err)
	}
	if abandon {
		log.FromContext(ctx).Info("Work is gone and its placement abandons what it placed: the objects stay on the member", "work", name)
	} else {
		log.FromContext(ctx).Info("Work is gone: deleted its AppliedWork, and garbage collection removes what it placed", "work", name)
	}
	return nil
}

// abandon drops the AppliedWork's ownerReference from one object and leaves the object on
// the member: its placement was deleted with deleteStrategy Abandon.
func (r *Reconciler) abandon(ctx context.Context, aw *placementv1beta1.AppliedWork, res placementv1beta1.AppliedResourceMeta) error {
	ri, err := r.resourceFor(res.WorkResourceIdentifier)
	if err != nil {
		return nil // the kind is no longer served: nothing to keep
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := ri.Get(ctx, res.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		keep, ours := withoutOwner(obj, aw.UID)
		if !ours {
			return nil
		}
		return r.dropOwner(ctx, ri, obj, keep)
	})
}

// removeObject removes one object that left the Work: deleted when Flotilla created it and
// holds it alone, released otherwise.
func (r *Reconciler) removeObject(ctx context.Context, aw *placementv1beta1.AppliedWork, res placementv1beta1.AppliedResourceMeta) error {
	return r.release(ctx, aw, res, false)
}

// release drops the AppliedWork's ownerReference from an object Flotilla must not delete
// (pre-existing, or co-owned). With onlyRelease false, an object Flotilla created and holds
// alone is deleted instead.
func (r *Reconciler) release(ctx context.Context, aw *placementv1beta1.AppliedWork, res placementv1beta1.AppliedResourceMeta, onlyRelease bool) error {
	ri, err := r.resourceFor(res.WorkResourceIdentifier)
	if err != nil {
		// The kind is no longer served (its CRD went): nothing left to release.
		return nil
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := ri.Get(ctx, res.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if res.UID != "" && obj.GetUID() != res.UID {
			return nil // a different object of the same name: not ours
		}
		keep, ours := withoutOwner(obj, aw.UID)
		if !ours {
			return nil
		}
		preExisting := obj.GetAnnotations()[placementv1beta1.PreExistingAnnotation] == "true"
		if !preExisting && len(keep) == 0 {
			if onlyRelease {
				return nil // the garbage collector deletes it with the AppliedWork
			}
			err := ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{
				Preconditions:     &metav1.Preconditions{UID: ptr.To(obj.GetUID())},
				PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
			})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		return r.dropOwner(ctx, ri, obj, keep)
	})
}

// withoutOwner returns the object's ownerReferences other than uid's, and whether uid owned it.
func withoutOwner(obj *unstructured.Unstructured, uid types.UID) (keep []metav1.OwnerReference, ours bool) {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == uid {
			ours = true
			continue
		}
		keep = append(keep, ref)
	}
	return keep, ours
}

func (r *Reconciler) dropOwner(ctx context.Context, ri dynamic.ResourceInterface, obj *unstructured.Unstructured, keep []metav1.OwnerReference) error {
	refs := any(keep)
	if len(keep) == 0 {
		refs = nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"ownerReferences": refs, "resourceVersion": obj.GetResourceVersion(),
	}})
	if err != nil {
		return err
	}
	_, err = ri.Patch(ctx, obj.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: placementv1beta1.WorkFieldManager})
	return err
}

func (r *Reconciler) resourceFor(id placementv1beta1.WorkResourceIdentifier) (dynamic.ResourceInterface, error) {
	mapping, err := r.Member.GetRESTMapper().RESTMapping(schema.GroupKind{Group: id.Group, Kind: id.Kind}, id.Version)
	if err != nil {
		return nil, err
	}
	if id.Namespace != "" {
		return r.Dynamic.Resource(mapping.Resource).Namespace(id.Namespace), nil
	}
	return r.Dynamic.Resource(mapping.Resource), nil
}
