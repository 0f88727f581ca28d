package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterState is the hub's instruction to a member agent.
// +kubebuilder:validation:Enum=Join;Leave
type ClusterState string

const (
	// ClusterStateJoin asks the agent to join and keep reporting.
	ClusterStateJoin ClusterState = "Join"
	// ClusterStateLeave asks the agent to stop and report that it left.
	ClusterStateLeave ClusterState = "Leave"
)

// InternalMemberCluster is the hub's per-member object in fleet-member-<name>. The hub writes
// its spec and the member agent writes its status.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=imc,categories={fleet,fleet-cluster}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.spec.state`
// +kubebuilder:printcolumn:name="Last-Heartbeat",type=date,JSONPath=`.status.agentStatus[?(@.type=="MemberAgent")].lastReceivedHeartbeat`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type InternalMemberCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   InternalMemberClusterSpec   `json:"spec"`
	Status InternalMemberClusterStatus `json:"status,omitempty"`
}

// InternalMemberClusterSpec is the hub's instruction to the member agent.
type InternalMemberClusterSpec struct {
	// State is Join while the member belongs to the fleet and Leave once it is being removed.
	// +required
	State ClusterState `json:"state"`

	// HeartbeatPeriodSeconds is how often the agent reports.
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=600
	// +optional
	HeartbeatPeriodSeconds int32 `json:"heartbeatPeriodSeconds,omitempty"`
}

// InternalMemberClusterStatus has the shape of MemberClusterStatus; the hub copies it up.
type InternalMemberClusterStatus struct {
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	Properties map[PropertyName]PropertyValue `json:"properties,omitempty"`
	// +optional
	ResourceUsage ResourceUsage `json:"resourceUsage,omitempty"`
	// +optional
	AgentStatus []AgentStatus `json:"agentStatus,omitempty"`
	// Namespaces are the member's namespaces that Flotilla placed, each with the name of the
	// Work (its AppliedWork) that owns it; reported on each heartbeat.
	// +optional
	Namespaces map[string]string `json:"namespaces,omitempty"`
}

// InternalMemberClusterList is a list of InternalMemberClusters.
//
// +kubebuilder:object:root=true
type InternalMemberClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []InternalMemberCluster `json:"items"`
}

func init() {
	SchemeBuilder.Register(&InternalMemberCluster{}, &InternalMemberClusterList{})
}
