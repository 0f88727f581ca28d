package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterResourceBinding binds a placement to one member: the scheduler creates it, the
// rollout controller points it at a resource snapshot and moves it to Bound, and the work
// generator turns it into Work in the member's namespace and copies the Work's status back.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=crb,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="WorkSynchronized",type=string,JSONPath=`.status.conditions[?(@.type=="WorkSynchronized")].status`
// +kubebuilder:printcolumn:name="ResourcesApplied",type=string,JSONPath=`.status.conditions[?(@.type=="Applied")].status`
// +kubebuilder:printcolumn:name="ResourceAvailable",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Available")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterResourceBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   ResourceBindingSpec   `json:"spec"`
	Status ResourceBindingStatus `json:"status,omitempty"`
}

// BindingState is where a binding is in its life.
// +kubebuilder:validation:Enum=Scheduled;Bound;Unscheduled
type BindingState string

const (
	// BindingStateScheduled: the scheduler picked the member; nothing is placed yet.
	BindingStateScheduled BindingState = "Scheduled"
	// BindingStateBound: the rollout released the binding; its resources are placed.
	BindingStateBound BindingState = "Bound"
	// BindingStateUnscheduled: the member is no longer picked; the resources are to be removed.
	BindingStateUnscheduled BindingState = "Unscheduled"
)

// ResourceBindingSpec says what is placed on which member.
//
// +kubebuilder:validation:XValidation:rule="self.targetCluster == oldSelf.targetCluster",message="spec.targetCluster of a binding is immutable"
type ResourceBindingSpec struct {
	// State is Scheduled, Bound or Unscheduled.
	// +required
	State BindingState `json:"state"`

	// ResourceSnapshotName is the master resource snapshot to place; set by the rollout.
	// +optional
	ResourceSnapshotName string `json:"resourceSnapshotName"`

	// SchedulingPolicySnapshotName is the policy snapshot whose decision made this binding.
	// +required
	SchedulingPolicySnapshotName string `json:"schedulingPolicySnapshotName"`

	// TargetCluster is the member.
	// +kubebuilder:validation:MinLength=1
	// +required
	TargetCluster string `json:"targetCluster"`

	// ClusterDecision is the scheduler's decision for the member.
	// +required
	ClusterDecision ClusterDecision `json:"clusterDecision"`

	// ApplyStrategy is the placement's apply strategy, copied by the rollout.
	// +optional
	ApplyStrategy *ApplyStrategy `json:"applyStrategy,omitempty"`

	// ClusterResourceOverrideSnapshots are the ClusterResourceOverride snapshots that apply
	// on this member, sorted; set by the rollout.
	// +optional
	ClusterResourceOverrideSnapshots []string `json:"clusterResourceOverrideSnapshots,omitempty"`

	// ResourceOverrideSnapshots are the ResourceOverride snapshots that apply on this member,
	// sorted; set by the rollout.
	// +optional
	ResourceOverrideSnapshots []NamespacedName `json:"resourceOverrideSnapshots,omitempty"`
}

// ResourceBindingStatus is what happened on the member.
type ResourceBindingStatus struct {
	// FailedPlacements are up to 100 objects that failed to apply or are not available.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	FailedPlacements []FailedResourcePlacement `json:"failedPlacements,omitempty"`

	// DriftedPlacements are up to 100 objects that drifted on the member.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	DriftedPlacements []DriftedResourcePlacement `json:"driftedPlacements,omitempty"`

	// DiffedPlacements are up to 100 objects that differ from the hub (ReportDiff).
	// +kubebuilder:validation:MaxItems=100
	// +optional
	DiffedPlacements []DiffedResourcePlacement `json:"diffedPlacements,omitempty"`

	// Conditions are RolloutStarted, Overridden, WorkSynchronized, Applied, Available and
	// DiffReported.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ClusterResourceBindingList is a list of ClusterResourceBindings.
//
// +kubebuilder:object:root=true
type ClusterResourceBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterResourceBinding `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterResourceBinding{}, &ClusterResourceBindingList{})
}
