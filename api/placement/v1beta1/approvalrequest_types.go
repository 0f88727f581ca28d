package v1beta1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterApprovalRequest asks a person (or a tool) to approve one Approval task of a
// ClusterStagedUpdateRun. The run creates it; setting its Approved condition to True
// (`kubectl fleet approve clusterapprovalrequest --name NAME` does that) lets the run go on, and the
// run answers with the ApprovalAccepted condition.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=careq,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Update-Run",type=string,JSONPath=`.spec.parentStageRollout`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.spec.targetStage`
// +kubebuilder:printcolumn:name="Approved",type=string,JSONPath=`.status.conditions[?(@.type=="Approved")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterApprovalRequest struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="The spec field is immutable"
	// +required
	Spec ApprovalRequestSpec `json:"spec"`
	// +optional
	Status ApprovalRequestStatus `json:"status,omitempty"`
}

// ApprovalRequestSpec names the run and the stage; it cannot change.
type ApprovalRequestSpec struct {
	// TargetUpdateRun is the update run that waits on the approval.
	// +required
	TargetUpdateRun string `json:"parentStageRollout"`

	// TargetStage is the run's stage that waits on the approval.
	// +required
	TargetStage string `json:"targetStage"`
}

// ApprovalRequestStatus holds the Approved and ApprovalAccepted conditions.
type ApprovalRequestStatus struct {
	// Conditions are Approved (set by whoever approves) and ApprovalAccepted (set by the run
	// when it has seen the approval).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterApprovalRequestList is a list of ClusterApprovalRequests.
type ClusterApprovalRequestList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterApprovalRequest `json:"items"`
}

// Condition types and reasons of approval requests, and their labels, as KubeFleet has them.
const (
	ApprovalRequestApprovedConditionType         = "Approved"
	ApprovalRequestApprovalAcceptedConditionType = "ApprovalAccepted"
	ApprovalRequestApprovalAcceptedReason        = "ApprovalRequestApprovalAccepted"

	// TargetUpdateRunLabel names the run an approval request belongs to.
	TargetUpdateRunLabel = fleetPrefix + "targetupdaterun"
	// TargetUpdatingStageNameLabel names the stage an approval request belongs to.
	TargetUpdatingStageNameLabel = fleetPrefix + "targetUpdatingStage"
	// IsLatestUpdateRunApprovalLabel is "true" on the approval requests of a run.
	IsLatestUpdateRunApprovalLabel = fleetPrefix + "isLatestUpdateRunApproval"
	// TaskTypeLabel is beforeStage or afterStage.
	TaskTypeLabel = fleetPrefix + "taskType"

	BeforeStageTaskLabelValue = "beforeStage"
	AfterStageTaskLabelValue  = "afterStage"
)

// BeforeStageApprovalName and AfterStageApprovalName name the approval requests of a run's
// stage, as KubeFleet names them.
func BeforeStageApprovalName(run, stage string) string {
	return fmt.Sprintf("%s-before-%s", run, stage)
}

// AfterStageApprovalName names the approval request after a run's stage.
func AfterStageApprovalName(run, stage string) string {
	return fmt.Sprintf("%s-after-%s", run, stage)
}

func init() {
	SchemeBuilder.Register(&ClusterApprovalRequest{}, &ClusterApprovalRequestList{})
}
