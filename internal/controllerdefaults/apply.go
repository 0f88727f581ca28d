package controllerdefaults

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// Objects a controller keeps in a desired shape (a member's namespace and
// InternalMemberCluster, a binding's Works, a member's derived Service) are written with
// server-side apply: the controller states the fields it owns, and the API server merges them
// with what users and other controllers own. Objects written once and never changed
// (snapshots, MemberUpdates, Gates) are created. The status of the object a controller
// reconciles is written with Status().Update or Status().Patch, as controller-runtime does.

// Apply writes ac with server-side apply as fieldOwner, taking over the fields it names from
// any other writer, and fills into (when not nil) with the object the API server returned.
func Apply(ctx context.Context, c client.Client, fieldOwner string, ac runtime.ApplyConfiguration, into client.Object) error {
	// controller-runtime does not decode the server's answer into a typed apply
	// configuration; it does into an unstructured one, which then gives the typed object.
	data, err := json.Marshal(ac)
	if err != nil {
		return fmt.Errorf("encoding the object to apply: %w", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return fmt.Errorf("encoding the object to apply: %w", err)
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
		return err
	}
	if into == nil {
		return nil
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into)
}

// ApplyObject applies a typed object of a kind whose module ships no apply configurations
// (mcs-api's ServiceImport). obj must have its apiVersion and kind set, and hold only the
// fields Flotilla owns: its status and zero-valued metadata are left out.
func ApplyObject(ctx context.Context, c client.Client, fieldOwner string, obj client.Object) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return fmt.Errorf("encoding the object to apply: %w", err)
	}
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	u := &unstructured.Unstructured{Object: m}
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldOwner), client.ForceOwnership)
}

// ControllerRef is owner's controller reference, as an apply configuration, so that
// garbage collection removes the applied object with its owner.
func ControllerRef(owner client.Object, scheme *runtime.Scheme) (*metav1ac.OwnerReferenceApplyConfiguration, error) {
	gvk, err := apiutil.GVKForObject(owner, scheme)
	if err != nil {
		return nil, err
	}
	return metav1ac.OwnerReference().
		WithAPIVersion(gvk.GroupVersion().String()).WithKind(gvk.Kind).
		WithName(owner.GetName()).WithUID(owner.GetUID()).
		WithController(true).WithBlockOwnerDeletion(true), nil
}

// Convert fills the apply configuration out from a typed value of the same JSON shape, for
// nested API structs (an ApplyStrategy) that are copied whole.
func Convert[T any](typed any) (*T, error) {
	data, err := json.Marshal(typed)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := json.Unmarshal(data, out); err != nil {
		return nil, err
	}
	return out, nil
}
