package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The namespaced staged rollout kinds roll out a ResourcePlacement of their namespace, as
// their cluster-scoped counterparts do a ClusterResourcePlacement; they share their types.

// StagedUpdateStrategy is a ClusterStagedUpdateStrategy for the runs of one namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=sus,categories={fleet,fleet-placement}
type StagedUpdateStrategy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec UpdateStrategySpec `json:"spec"`
}

// +kubebuilder:object:root=true

// StagedUpdateStrategyList is a list of StagedUpdateStrategies.
type StagedUpdateStrategyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []StagedUpdateStrategy `json:"items"`
}

// StagedUpdateRun rolls a resource snapshot of a ResourcePlacement of its namespace (whose
// rollout strategy is External) out stage by stage, following a StagedUpdateStrategy of the
// same namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=sur,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Placement",type=string,JSONPath=`.spec.placementName`
// +kubebuilder:printcolumn:name="Resource-Snapshot-Index",type=string,JSONPath=`.spec.resourceSnapshotIndex`
// +kubebuilder:printcolumn:name="Policy-Snapshot-Index",type=string,JSONPath=`.status.policySnapshotIndexUsed`
// +kubebuilder:printcolumn:name="Initialized",type=string,JSONPath=`.status.conditions[?(@.type=="Initialized")].status`
// +kubebuilder:printcolumn:name="Progressing",type=string,JSONPath=`.status.conditions[?(@.type=="Progressing")].status`
// +kubebuilder:printcolumn:name="Succeeded",type=string,JSONPath=`.status.conditions[?(@.type=="Succeeded")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Strategy",type=string,JSONPath=`.spec.stagedRolloutStrategyName`,priority=1
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) < 64",message="metadata.name max length is 63"
type StagedUpdateRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec UpdateRunSpec `json:"spec"`
	// +optional
	Status UpdateRunStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// StagedUpdateRunList is a list of StagedUpdateRuns.
type StagedUpdateRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []StagedUpdateRun `json:"items"`
}

// ApprovalRequest asks for the approval of one Approval task of a StagedUpdateRun of its
// namespace, as a ClusterApprovalRequest does for a ClusterStagedUpdateRun.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=areq,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Update-Run",type=string,JSONPath=`.spec.parentStageRollout`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.spec.targetStage`
// +kubebuilder:printcolumn:name="Approved",type=string,JSONPath=`.status.conditions[?(@.type=="Approved")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ApprovalRequest struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="The spec field is immutable"
	// +required
	Spec ApprovalRequestSpec `json:"spec"`
	// +optional
	Status ApprovalRequestStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ApprovalRequestList is a list of ApprovalRequests.
type ApprovalRequestList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ApprovalRequest `json:"items"`
}

// UpdateRunObj is a staged update run of any scope.
// +kubebuilder:object:generate=false
type UpdateRunObj interface {
	PlacementObjectMeta
	GetUpdateRunSpec() *UpdateRunSpec
	GetUpdateRunStatus() *UpdateRunStatus
}

// ApprovalRequestObj is an approval request of any scope.
// +kubebuilder:object:generate=false
type ApprovalRequestObj interface {
	PlacementObjectMeta
	GetApprovalRequestSpec() *ApprovalRequestSpec
	GetApprovalRequestStatus() *ApprovalRequestStatus
}

// GetUpdateRunSpec returns the run's spec.
func (r *ClusterStagedUpdateRun) GetUpdateRunSpec() *UpdateRunSpec { return &r.Spec }

// GetUpdateRunStatus returns the run's status.
func (r *ClusterStagedUpdateRun) GetUpdateRunStatus() *UpdateRunStatus { return &r.Status }

// GetUpdateRunSpec returns the run's spec.
func (r *StagedUpdateRun) GetUpdateRunSpec() *UpdateRunSpec { return &r.Spec }

// GetUpdateRunStatus returns the run's status.
func (r *StagedUpdateRun) GetUpdateRunStatus() *UpdateRunStatus { return &r.Status }

// GetApprovalRequestSpec returns the request's spec.
func (a *ClusterApprovalRequest) GetApprovalRequestSpec() *ApprovalRequestSpec { return &a.Spec }

// GetApprovalRequestStatus returns the request's status.
func (a *ClusterApprovalRequest) GetApprovalRequestStatus() *ApprovalRequestStatus { return &a.Status }

// GetApprovalRequestSpec returns the request's spec.
func (a *ApprovalRequest) GetApprovalRequestSpec() *ApprovalRequestSpec { return &a.Spec }

// GetApprovalRequestStatus returns the request's status.
func (a *ApprovalRequest) GetApprovalRequestStatus() *ApprovalRequestStatus { return &a.Status }

var (
	_ UpdateRunObj       = &ClusterStagedUpdateRun{}
	_ UpdateRunObj       = &StagedUpdateRun{}
	_ ApprovalRequestObj = &ClusterApprovalRequest{}
	_ ApprovalRequestObj = &ApprovalRequest{}
)

func init() {
	SchemeBuilder.Register(&StagedUpdateStrategy{}, &StagedUpdateStrategyList{}, &StagedUpdateRun{}, &StagedUpdateRunList{},
		&ApprovalRequest{}, &ApprovalRequestList{})
}
