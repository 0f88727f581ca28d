package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MemberUpdate is one member's operation within an update run. It lives in the member's hub
// namespace, fleet-member-<name>, and is named like its run. The executor of the member's
// provider acts on it: in the member agent for local and in-cluster providers, in the hub
// for AKS and Cluster API.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=mu,categories={fleet,fleet-updates}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Run",type=string,JSONPath=`.spec.updateRun`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MemberUpdate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   MemberUpdateSpec   `json:"spec"`
	Status MemberUpdateStatus `json:"status,omitempty"`
}

// MemberUpdateSpec is the operation.
//
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable; the run creates a new MemberUpdate for a new operation"
type MemberUpdateSpec struct {
	// UpdateRun names the run.
	UpdateRun string `json:"updateRun"`
	// Provider names the provider whose executor acts on this operation (the member's
	// updates.flotilla.dev/provider annotation when the operation was made).
	Provider string `json:"provider"`
	// Type is Full, NodeImageOnly or ControlPlaneOnly.
	Type UpgradeType `json:"type"`
	// KubernetesVersion is the target for Full and ControlPlaneOnly.
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// NodeImageVersions are the node images to put on the member's pools, per family.
	// +optional
	NodeImageVersions []NodeImageVersion `json:"nodeImageVersions,omitempty"`
}

// MemberUpdateStatus is the executor's report.
type MemberUpdateStatus struct {
	// State is Running, Completed or Failed; empty until the executor takes it.
	// +kubebuilder:validation:Enum=Running;Completed;Failed
	// +optional
	State State `json:"state,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	StartTime *metav1.MicroTime `json:"startTime,omitempty"`
	// +optional
	CompletedTime *metav1.MicroTime `json:"completedTime,omitempty"`
}

// MemberUpdateList is a list of MemberUpdates.
//
// +kubebuilder:object:root=true
type MemberUpdateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MemberUpdate `json:"items"`
}

// MemberUpgradeProfile is what a member's upgrade provider knows about it: its region, its
// versions, its node pools and what its region offers. It lives in fleet-member-<name>,
// named like the member; the provider publishes it and keeps it current.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=mup,categories={fleet,fleet-updates}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Region",type=string,JSONPath=`.status.region`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.kubernetesVersion`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MemberUpgradeProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Status MemberUpgradeProfileStatus `json:"status,omitempty"`
}

// MemberUpgradeProfileStatus is the provider's facts about the member.
type MemberUpgradeProfileStatus struct {
	// Provider names the provider that published the profile.
	// +optional
	Provider string `json:"provider,omitempty"`
	// Region is the member's region.
	// +optional
	Region string `json:"region,omitempty"`
	// KubernetesVersion is the control plane's version.
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// AvailableKubernetesVersions are the versions the member's region offers.
	// +optional
	AvailableKubernetesVersions []string `json:"availableKubernetesVersions,omitempty"`
	// NodePools are the member's node pools; a pool's versions are its oldest node's.
	// +optional
	NodePools []NodePoolProfile `json:"nodePools,omitempty"`
	// LatestNodeImages are the newest node image version per family in the member's region.
	// +optional
	LatestNodeImages map[string]string `json:"latestNodeImages,omitempty"`
	// Error says what the provider could not find out (for example, an unreadable node
	// image catalog entry), and how to fix it. The other fields hold what it could.
	// +optional
	Error string `json:"error,omitempty"`
	// ObservedTime is when the provider last published the profile.
	// +optional
	ObservedTime *metav1.MicroTime `json:"observedTime,omitempty"`
}

// NodePoolProfile is one node pool.
type NodePoolProfile struct {
	Name              string `json:"name"`
	ImageFamily       string `json:"imageFamily"`
	NodeImageVersion  string `json:"nodeImageVersion"`
	KubernetesVersion string `json:"kubernetesVersion"`
	// +optional
	Nodes int32 `json:"nodes,omitempty"`
}

// MemberUpgradeProfileList is a list of MemberUpgradeProfiles.
//
// +kubebuilder:object:root=true
type MemberUpgradeProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MemberUpgradeProfile `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MemberUpdate{}, &MemberUpdateList{}, &MemberUpgradeProfile{}, &MemberUpgradeProfileList{})
}
