package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterSchedulingPolicySnapshot is an immutable copy of one version of a placement's policy,
// named <crp>-<index>. The scheduler writes its decisions into the latest one's status.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=csps,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Gen",type=string,JSONPath=`.metadata.generation`
// +kubebuilder:printcolumn:name="Latest",type=string,JSONPath=`.metadata.labels.kubernetes-fleet\.io/is-latest-snapshot`
// +kubebuilder:printcolumn:name="Scheduled",type=string,JSONPath=`.status.conditions[?(@.type=="Scheduled")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterSchedulingPolicySnapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   SchedulingPolicySnapshotSpec   `json:"spec"`
	Status SchedulingPolicySnapshotStatus `json:"status,omitempty"`
}

// SchedulingPolicySnapshotSpec is the copied policy and its hash.
//
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a scheduling policy snapshot is immutable; the hub makes a new one when the policy changes"
type SchedulingPolicySnapshotSpec struct {
	// Policy is the placement's policy at the time of the snapshot; absent means PickAll.
	// +optional
	Policy *PlacementPolicy `json:"policy,omitempty"`

	// PolicyHash is the sha256 of the policy's JSON.
	// +required
	PolicyHash []byte `json:"policyHash"`
}

// SchedulingPolicySnapshotStatus holds the scheduler's decisions.
type SchedulingPolicySnapshotStatus struct {
	// ObservedCRPGeneration is the placement generation the decisions were made for.
	// +optional
	ObservedCRPGeneration int64 `json:"observedCRPGeneration"`

	// Conditions holds Scheduled.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ClusterDecisions are the picked members, plus some of the members left out and why.
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	ClusterDecisions []ClusterDecision `json:"targetClusters,omitempty"`
}

// ClusterDecision is the scheduler's decision about one member.
type ClusterDecision struct {
	// ClusterName is the member.
	// +required
	ClusterName string `json:"clusterName"`

	// Selected is true when the member was picked.
	// +required
	Selected bool `json:"selected"`

	// ClusterScore is the member's score, for PickN.
	// +optional
	ClusterScore *ClusterScore `json:"clusterScore,omitempty"`

	// Reason says why the member was, or was not, picked.
	// +required
	Reason string `json:"reason"`
}

// ClusterScore is a member's score under a PickN policy.
type ClusterScore struct {
	// AffinityScore is the sum of the weights of the matching preferred terms.
	// +optional
	AffinityScore *int32 `json:"affinityScore,omitempty"`

	// TopologySpreadScore rewards members that keep the spread even.
	// +optional
	TopologySpreadScore *int32 `json:"priorityScore,omitempty"`
}

// ClusterSchedulingPolicySnapshotList is a list of ClusterSchedulingPolicySnapshots.
//
// +kubebuilder:object:root=true
type ClusterSchedulingPolicySnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterSchedulingPolicySnapshot `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterSchedulingPolicySnapshot{}, &ClusterSchedulingPolicySnapshotList{})
}
