package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The namespaced placement family: a ResourcePlacement places resources of its own namespace,
// and its bindings and snapshots live beside it. They share the spec and status types of the
// cluster-scoped family, and the same controllers serve both (internal/hub/scope).

// ResourcePlacement selects namespaced resources in its own namespace and places them on the
// members its policy picks. The namespace must be on those members already, placed by a
// ClusterResourcePlacement (typically with selectionScope NamespaceOnly); a member without it
// reports so in the placement's per-cluster status.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=rp,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Gen",type=string,JSONPath=`.metadata.generation`
// +kubebuilder:printcolumn:name="Type",type=string,priority=1,JSONPath=`.spec.policy.placementType`
// +kubebuilder:printcolumn:name="Scheduled",type=string,JSONPath=`.status.conditions[?(@.type=="ResourcePlacementScheduled")].status`
// +kubebuilder:printcolumn:name="Scheduled-Gen",type=string,JSONPath=`.status.conditions[?(@.type=="ResourcePlacementScheduled")].observedGeneration`
// +kubebuilder:printcolumn:name="Work-Synchronized",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="ResourcePlacementWorkSynchronized")].status`
// +kubebuilder:printcolumn:name="Work-Synchronized-Gen",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="ResourcePlacementWorkSynchronized")].observedGeneration`
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=`.status.conditions[?(@.type=="ResourcePlacementAvailable")].status`
// +kubebuilder:printcolumn:name="Available-Gen",type=string,JSONPath=`.status.conditions[?(@.type=="ResourcePlacementAvailable")].observedGeneration`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="metadata.name: a placement name may have at most 63 characters, because it labels its snapshots and bindings; choose a shorter name"
type ResourcePlacement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   ClusterResourcePlacementSpec `json:"spec"`
	Status PlacementStatus              `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ResourcePlacementList is a list of ResourcePlacements.
type ResourcePlacementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ResourcePlacement `json:"items"`
}

// ResourceBinding binds a ResourcePlacement to one member, as a ClusterResourceBinding does
// for a ClusterResourcePlacement.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=rb,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="WorkSynchronized",type=string,JSONPath=`.status.conditions[?(@.type=="WorkSynchronized")].status`
// +kubebuilder:printcolumn:name="ResourcesApplied",type=string,JSONPath=`.status.conditions[?(@.type=="Applied")].status`
// +kubebuilder:printcolumn:name="ResourceAvailable",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Available")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ResourceBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   ResourceBindingSpec   `json:"spec"`
	Status ResourceBindingStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ResourceBindingList is a list of ResourceBindings.
type ResourceBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ResourceBinding `json:"items"`
}

// ResourceSnapshot is an immutable copy of what a ResourcePlacement selected at one index.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=rs,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Gen",type=string,JSONPath=`.metadata.generation`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ResourceSnapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   ResourceSnapshotSpec   `json:"spec"`
	Status ResourceSnapshotStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ResourceSnapshotList is a list of ResourceSnapshots.
type ResourceSnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ResourceSnapshot `json:"items"`
}

// SchedulingPolicySnapshot is an immutable copy of one version of a ResourcePlacement's
// policy; the scheduler writes its decisions into the latest one's status.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=sps,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Gen",type=string,JSONPath=`.metadata.generation`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SchedulingPolicySnapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   SchedulingPolicySnapshotSpec   `json:"spec"`
	Status SchedulingPolicySnapshotStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SchedulingPolicySnapshotList is a list of SchedulingPolicySnapshots.
type SchedulingPolicySnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SchedulingPolicySnapshot `json:"items"`
}

// GetPlacementSpec returns the placement's spec.
func (p *ResourcePlacement) GetPlacementSpec() *ClusterResourcePlacementSpec { return &p.Spec }

// GetPlacementStatus returns the placement's status.
func (p *ResourcePlacement) GetPlacementStatus() *PlacementStatus { return &p.Status }

// GetBindingSpec returns the binding's spec.
func (b *ResourceBinding) GetBindingSpec() *ResourceBindingSpec { return &b.Spec }

// GetBindingStatus returns the binding's status.
func (b *ResourceBinding) GetBindingStatus() *ResourceBindingStatus { return &b.Status }

// GetResourceSnapshotSpec returns the snapshot's spec.
func (s *ResourceSnapshot) GetResourceSnapshotSpec() *ResourceSnapshotSpec { return &s.Spec }

// GetResourceSnapshotStatus returns the snapshot's status.
func (s *ResourceSnapshot) GetResourceSnapshotStatus() *ResourceSnapshotStatus { return &s.Status }

// GetPolicySnapshotSpec returns the snapshot's spec.
func (s *SchedulingPolicySnapshot) GetPolicySnapshotSpec() *SchedulingPolicySnapshotSpec {
	return &s.Spec
}

// GetPolicySnapshotStatus returns the snapshot's status.
func (s *SchedulingPolicySnapshot) GetPolicySnapshotStatus() *SchedulingPolicySnapshotStatus {
	return &s.Status
}

var (
	_ PlacementObj        = &ResourcePlacement{}
	_ BindingObj          = &ResourceBinding{}
	_ ResourceSnapshotObj = &ResourceSnapshot{}
	_ PolicySnapshotObj   = &SchedulingPolicySnapshot{}
)

func init() {
	SchemeBuilder.Register(&ResourcePlacement{}, &ResourcePlacementList{}, &ResourceBinding{}, &ResourceBindingList{},
		&ResourceSnapshot{}, &ResourceSnapshotList{}, &SchedulingPolicySnapshot{}, &SchedulingPolicySnapshotList{})
}
