// Package v1beta1 holds the placement.kubernetes-fleet.io/v1beta1 API: ClusterResourcePlacement
// and its snapshots and bindings (the hub half), and Work and AppliedWork (the member half).
// The group, kinds and JSON field names match KubeFleet v1beta1 so that existing manifests
// work unchanged.
//
// +kubebuilder:object:generate=true
// +kubebuilder:ac:generate=true
// +groupName=placement.kubernetes-fleet.io
package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of this package.
	GroupVersion = schema.GroupVersion{Group: "placement.kubernetes-fleet.io", Version: "v1beta1"}

	// SchemeGroupVersion is GroupVersion under the name generated apply configurations use.
	SchemeGroupVersion = GroupVersion

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
