package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ClusterResourcePlacementEviction removes what one ClusterResourcePlacement placed from one
// member, once, within the placement's disruption budget. Its spec cannot change: to try
// again, delete it and create it again. The scheduler may place on the member again unless
// the member carries a taint the placement does not tolerate (`flotilla member drain` adds
// one). A PickFixed placement cannot be evicted from: remove the name from its clusterNames.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=crpe,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=="Valid")].status`
// +kubebuilder:printcolumn:name="Executed",type=string,JSONPath=`.status.conditions[?(@.type=="Executed")].status`
type ClusterResourcePlacementEviction struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec PlacementEvictionSpec `json:"spec"`
	// +optional
	Status PlacementEvictionStatus `json:"status,omitempty"`
}

// PlacementEvictionSpec names the placement and the member; both are immutable.
type PlacementEvictionSpec struct {
	// PlacementName is the ClusterResourcePlacement to evict.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="The PlacementName field is immutable"
	// +required
	PlacementName string `json:"placementName"`

	// ClusterName is the member to evict it from.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="The ClusterName field is immutable"
	// +required
	ClusterName string `json:"clusterName"`
}

// PlacementEvictionStatus holds the Valid and Executed conditions.
type PlacementEvictionStatus struct {
	// Conditions are Valid (the eviction names a placement that can be evicted from the
	// member) and Executed (it was carried out, or refused by the budget).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterResourcePlacementEvictionList is a list of ClusterResourcePlacementEvictions.
type ClusterResourcePlacementEvictionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterResourcePlacementEviction `json:"items"`
}

// ClusterResourcePlacementDisruptionBudget limits how many of a placement's members
// evictions may take away at once. It applies to the ClusterResourcePlacement of the same
// name. Members that are unavailable for other reasons count against it too.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=crpdb,categories={fleet,fleet-placement}
type ClusterResourcePlacementDisruptionBudget struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec PlacementDisruptionBudgetSpec `json:"spec"`
}

// PlacementDisruptionBudgetSpec sets maxUnavailable or minAvailable, not both.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.maxUnavailable) && has(self.minAvailable))",message="Both MaxUnavailable and MinAvailable cannot be specified"
type PlacementDisruptionBudgetSpec struct {
	// MaxUnavailable is how many of the placement's members may be unavailable after an
	// eviction: a number, or a percentage of numberOfClusters (PickN only; rounded up). A
	// PickAll placement cannot use it, since its number of members is not fixed.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == string ? self.matches('^(100|[0-9]{1,2})%$') : self >= 0",message="If supplied value is String should match regex '^(100|[0-9]{1,2})%$' or If supplied value is Integer must be greater than or equal to 0"
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// MinAvailable is how many of the placement's members must stay available: a number, or
	// (PickN only) a percentage of numberOfClusters, rounded up.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == string ? self.matches('^(100|[0-9]{1,2})%$') : self >= 0",message="If supplied value is String should match regex '^(100|[0-9]{1,2})%$' or If supplied value is Integer must be greater than or equal to 0"
	// +optional
	MinAvailable *intstr.IntOrString `json:"minAvailable,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterResourcePlacementDisruptionBudgetList is a list of ClusterResourcePlacementDisruptionBudgets.
type ClusterResourcePlacementDisruptionBudgetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterResourcePlacementDisruptionBudget `json:"items"`
}

// Eviction condition types and reasons, as KubeFleet spells them.
const (
	EvictionValidConditionType    = "Valid"
	EvictionExecutedConditionType = "Executed"

	EvictionValidReason       = "ClusterResourcePlacementEvictionValid"
	EvictionInvalidReason     = "ClusterResourcePlacementEvictionInvalid"
	EvictionExecutedReason    = "ClusterResourcePlacementEvictionExecuted"
	EvictionNotExecutedReason = "ClusterResourcePlacementEvictionNotExecuted"
)

func init() {
	SchemeBuilder.Register(&ClusterResourcePlacementEviction{}, &ClusterResourcePlacementEvictionList{},
		&ClusterResourcePlacementDisruptionBudget{}, &ClusterResourcePlacementDisruptionBudgetList{})
}
