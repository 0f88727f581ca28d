package v1beta1

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The placement machinery (scheduler, rollout, work generator, status) works on these
// interfaces rather than on the cluster-scoped kinds, so that one code path serves every
// placement scope: the cluster-scoped kinds implement them, and the namespaced ones
// (ResourcePlacement and its bindings and snapshots) share the same spec and status types.

// PlacementObjectMeta is what every placement object is: a Kubernetes object.
// +kubebuilder:object:generate=false
type PlacementObjectMeta = client.Object

// PlacementObj is a placement of any scope.
// +kubebuilder:object:generate=false
type PlacementObj interface {
	client.Object
	GetPlacementSpec() *ClusterResourcePlacementSpec
	GetPlacementStatus() *PlacementStatus
}

// BindingObj is a binding of any scope.
// +kubebuilder:object:generate=false
type BindingObj interface {
	client.Object
	GetBindingSpec() *ResourceBindingSpec
	GetBindingStatus() *ResourceBindingStatus
}

// ResourceSnapshotObj is a resource snapshot of any scope.
// +kubebuilder:object:generate=false
type ResourceSnapshotObj interface {
	client.Object
	GetResourceSnapshotSpec() *ResourceSnapshotSpec
	GetResourceSnapshotStatus() *ResourceSnapshotStatus
}

// PolicySnapshotObj is a scheduling policy snapshot of any scope.
// +kubebuilder:object:generate=false
type PolicySnapshotObj interface {
	client.Object
	GetPolicySnapshotSpec() *SchedulingPolicySnapshotSpec
	GetPolicySnapshotStatus() *SchedulingPolicySnapshotStatus
}

// GetPlacementSpec returns the placement's spec.
func (p *ClusterResourcePlacement) GetPlacementSpec() *ClusterResourcePlacementSpec { return &p.Spec }

// GetPlacementStatus returns the placement's status.
func (p *ClusterResourcePlacement) GetPlacementStatus() *PlacementStatus { return &p.Status }

// GetBindingSpec returns the binding's spec.
func (b *ClusterResourceBinding) GetBindingSpec() *ResourceBindingSpec { return &b.Spec }

// GetBindingStatus returns the binding's status.
func (b *ClusterResourceBinding) GetBindingStatus() *ResourceBindingStatus { return &b.Status }

// GetResourceSnapshotSpec returns the snapshot's spec.
func (s *ClusterResourceSnapshot) GetResourceSnapshotSpec() *ResourceSnapshotSpec { return &s.Spec }

// GetResourceSnapshotStatus returns the snapshot's status.
func (s *ClusterResourceSnapshot) GetResourceSnapshotStatus() *ResourceSnapshotStatus {
	return &s.Status
}

// GetPolicySnapshotSpec returns the snapshot's spec.
func (s *ClusterSchedulingPolicySnapshot) GetPolicySnapshotSpec() *SchedulingPolicySnapshotSpec {
	return &s.Spec
}

// GetPolicySnapshotStatus returns the snapshot's status.
func (s *ClusterSchedulingPolicySnapshot) GetPolicySnapshotStatus() *SchedulingPolicySnapshotStatus {
	return &s.Status
}

var (
	_ PlacementObj        = &ClusterResourcePlacement{}
	_ BindingObj          = &ClusterResourceBinding{}
	_ ResourceSnapshotObj = &ClusterResourceSnapshot{}
	_ PolicySnapshotObj   = &ClusterSchedulingPolicySnapshot{}
)
