package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MemberCluster is a cluster that is, or wants to be, part of the fleet.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=cluster,categories={fleet,fleet-cluster}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Joined",type=string,JSONPath=`.status.conditions[?(@.type=="Joined")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Member-Agent-Last-Seen",type=date,JSONPath=`.status.agentStatus[?(@.type=="MemberAgent")].lastReceivedHeartbeat`
// +kubebuilder:printcolumn:name="Node-Count",type=string,JSONPath=`.status.properties.kubernetes-fleet\.io/node-count.value`
// +kubebuilder:printcolumn:name="Available-CPU",type=string,JSONPath=`.status.resourceUsage.available.cpu`
// +kubebuilder:printcolumn:name="Available-Memory",type=string,JSONPath=`.status.resourceUsage.available.memory`
// +kubebuilder:printcolumn:name="Allocatable-CPU",type=string,priority=1,JSONPath=`.status.resourceUsage.allocatable.cpu`
// +kubebuilder:printcolumn:name="Allocatable-Memory",type=string,priority=1,JSONPath=`.status.resourceUsage.allocatable.memory`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name: a member name must be a DNS label (lowercase letters, digits and '-', no dots), because its hub namespace fleet-member-<name> is named after it; choose such a name"
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 50",message="metadata.name: a member name may have at most 50 characters, because its hub namespace fleet-member-<name> must be a DNS label; choose a shorter name"
type MemberCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   MemberClusterSpec   `json:"spec"`
	Status MemberClusterStatus `json:"status,omitempty"`
}

// MemberClusterSpec is what the fleet administrator declares about a member.
type MemberClusterSpec struct {
	// Identity is the subject the member agent authenticates as on the hub. The hub grants
	// it access to the member's own namespace, fleet-member-<name>, and nothing else.
	// +required
	Identity rbacv1.Subject `json:"identity"`

	// HeartbeatPeriodSeconds is how often the member agent reports to the hub.
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=600
	// +optional
	HeartbeatPeriodSeconds int32 `json:"heartbeatPeriodSeconds,omitempty"`

	// Taints keep placements without a matching toleration off this member.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Taints []Taint `json:"taints,omitempty"`

	// DeleteOptions say what deleting this MemberCluster checks first.
	// +optional
	DeleteOptions *DeleteOptions `json:"deleteOptions,omitempty"`
}

// DeleteValidationMode says whether deleting a MemberCluster is checked first.
// +kubebuilder:validation:Enum=Skip;Strict
type DeleteValidationMode string

const (
	// DeleteValidationStrict refuses to delete a member that still exports services: its
	// leaving would take those endpoints out of every import at once.
	DeleteValidationStrict DeleteValidationMode = "Strict"
	// DeleteValidationSkip deletes the member without checking.
	DeleteValidationSkip DeleteValidationMode = "Skip"
)

// DeleteOptions say what deleting a MemberCluster checks first.
type DeleteOptions struct {
	// ValidationMode is Strict (the default: a member that still exports services is not
	// deleted; the ServicesExported condition names them) or Skip (delete it anyway).
	// +kubebuilder:default=Strict
	// +optional
	ValidationMode DeleteValidationMode `json:"validationMode,omitempty"`
}

// ValidationMode is the member's delete validation mode, Strict unless it says Skip.
func (s *MemberClusterSpec) ValidationMode() DeleteValidationMode {
	if s.DeleteOptions != nil && s.DeleteOptions.ValidationMode == DeleteValidationSkip {
		return DeleteValidationSkip
	}
	return DeleteValidationStrict
}

// Taint repels placements that do not tolerate it.
type Taint struct {
	// Key is the taint key.
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`
	// +kubebuilder:validation:MaxLength=316
	// +required
	Key string `json:"key"`

	// Value is the taint value.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Value string `json:"value,omitempty"`

	// Effect is what the taint does. Only NoSchedule is supported.
	// +kubebuilder:validation:Enum=NoSchedule
	// +required
	Effect corev1.TaintEffect `json:"effect"`
}

// PropertyName names a member property, for example kubernetes-fleet.io/node-count.
type PropertyName string

// PropertyValue is one observed value of a property.
type PropertyValue struct {
	// Value is the observed value, as a string.
	Value string `json:"value"`

	// ObservationTime is when the value was observed.
	ObservationTime metav1.Time `json:"observationTime"`
}

// ResourceUsage sums the compute resources of a member's nodes.
type ResourceUsage struct {
	// +optional
	Capacity corev1.ResourceList `json:"capacity,omitempty"`
	// +optional
	Allocatable corev1.ResourceList `json:"allocatable,omitempty"`
	// +optional
	Available corev1.ResourceList `json:"available,omitempty"`
	// +optional
	ObservationTime metav1.Time `json:"observationTime,omitempty"`
}

// AgentType names an agent that runs in a member cluster.
// +kubebuilder:validation:Enum=MemberAgent;MultiClusterServiceAgent;ServiceExportImportAgent
type AgentType string

const (
	// MemberAgent joins the member, sends heartbeats and applies placed resources.
	MemberAgent AgentType = "MemberAgent"
	// MultiClusterServiceAgent serves MultiClusterServices.
	MultiClusterServiceAgent AgentType = "MultiClusterServiceAgent"
	// ServiceExportImportAgent exports and imports services.
	ServiceExportImportAgent AgentType = "ServiceExportImportAgent"
)

// AgentStatus is what one agent last reported.
type AgentStatus struct {
	// Type is the kind of agent.
	Type AgentType `json:"type"`

	// Conditions are the agent's Joined and Healthy conditions.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastReceivedHeartbeat is when the agent last reported.
	// +optional
	LastReceivedHeartbeat metav1.Time `json:"lastReceivedHeartbeat,omitempty"`
}

// MemberClusterStatus is what the hub knows about a member.
type MemberClusterStatus struct {
	// Conditions are ReadyToJoin, Joined and Healthy.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Properties are the member's reported properties, by name.
	// +optional
	Properties map[PropertyName]PropertyValue `json:"properties,omitempty"`

	// ResourceUsage is the member's total, allocatable and available compute.
	// +optional
	ResourceUsage ResourceUsage `json:"resourceUsage,omitempty"`

	// AgentStatus is the last report of each agent in the member.
	// +optional
	AgentStatus []AgentStatus `json:"agentStatus,omitempty"`

	// Namespaces are the member's namespaces that Flotilla placed, each with the name of the
	// Work that owns it, copied from the InternalMemberCluster.
	// +optional
	Namespaces map[string]string `json:"namespaces,omitempty"`
}

// MemberClusterList is a list of MemberClusters.
//
// +kubebuilder:object:root=true
type MemberClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MemberCluster `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MemberCluster{}, &MemberClusterList{})
}
