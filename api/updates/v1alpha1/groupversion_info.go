// Package v1alpha1 holds the updates.flotilla.dev/v1alpha1 API: staged upgrades of member
// clusters (UpdateStrategy, UpdateRun, Gate) and the per-member objects the upgrade
// providers act on and publish (MemberUpdate, MemberUpgradeProfile). It is modeled on Azure
// Kubernetes Fleet Manager update runs.
//
// +kubebuilder:object:generate=true
// +kubebuilder:ac:generate=true
// +groupName=updates.flotilla.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of this package.
	GroupVersion = schema.GroupVersion{Group: "updates.flotilla.dev", Version: "v1alpha1"}

	// SchemeGroupVersion is GroupVersion under the name generated apply configurations use.
	SchemeGroupVersion = GroupVersion

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
