package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StatusReportingScope says where a placement's status is readable.
type StatusReportingScope string

const (
	// ClusterScopeOnly keeps the status on the ClusterResourcePlacement alone.
	ClusterScopeOnly StatusReportingScope = "ClusterScopeOnly"
	// NamespaceAccessible also writes it to a ClusterResourcePlacementStatus in the selected
	// namespace.
	NamespaceAccessible StatusReportingScope = "NamespaceAccessible"
)

// ClusterResourcePlacementStatus is a copy of a ClusterResourcePlacement's status in the
// namespace it places, named after the placement, for users who can read that namespace but
// not cluster-scoped objects. The hub writes it when the placement's statusReportingScope is
// NamespaceAccessible, and it goes with the placement.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=crps,categories={fleet,fleet-placement}
// +kubebuilder:printcolumn:name="Resource-Index",type=string,JSONPath=`.sourceStatus.observedResourceIndex`
// +kubebuilder:printcolumn:name="Last-Updated",type=string,JSONPath=`.lastUpdatedTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterResourcePlacementStatus struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// SourceStatus is the placement's status.
	// +required
	SourceStatus PlacementStatus `json:"sourceStatus"`

	// LastUpdatedTime is when the hub last wrote this copy.
	// +required
	LastUpdatedTime metav1.Time `json:"lastUpdatedTime"`
}

// ClusterResourcePlacementStatusList is a list of ClusterResourcePlacementStatuses.
//
// +kubebuilder:object:root=true
type ClusterResourcePlacementStatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterResourcePlacementStatus `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterResourcePlacementStatus{}, &ClusterResourcePlacementStatusList{})
}
