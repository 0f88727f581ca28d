// Package v1alpha1 holds ClusterProfile, multicluster.x-k8s.io/v1alpha1: the SIG-Multicluster
// cluster inventory API (KEP-4322). The hub keeps one ClusterProfile per member, so that tools
// built on the inventory API find the fleet's clusters. The CRD is shared with other cluster
// managers: Flotilla creates it when it is missing and otherwise leaves it alone.
//
// +kubebuilder:object:generate=true
// +groupName=multicluster.x-k8s.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of this package.
	GroupVersion = schema.GroupVersion{Group: "multicluster.x-k8s.io", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
