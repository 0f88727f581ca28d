// Package v1alpha1 holds the networking.flotilla.dev/v1alpha1 API: MultiClusterService (on
// a member) and the two internal objects that carry services between members and the hub,
// InternalServiceExport (member → hub) and InternalServiceImport (hub → member). Both
// internal kinds live in a member's hub namespace, fleet-member-<name>, so a member agent
// reads and writes nothing outside it.
//
// +kubebuilder:object:generate=true
// +kubebuilder:ac:generate=true
// +groupName=networking.flotilla.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of this package.
	GroupVersion = schema.GroupVersion{Group: "networking.flotilla.dev", Version: "v1alpha1"}

	// SchemeGroupVersion is GroupVersion under the name generated apply configurations use.
	SchemeGroupVersion = GroupVersion

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
