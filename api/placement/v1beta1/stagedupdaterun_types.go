package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterStagedUpdateRun rolls one resource snapshot of a ClusterResourcePlacement whose
// rollout strategy is External out to its members, stage by stage, as a
// ClusterStagedUpdateStrategy says. It starts in the Initialize state, which works out the
// stages and shows them in its status without changing anything; Run carries it out and Stop
// pauses it. A run that has finished stays as a record; to roll out again, create a new run.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=csur,categories={fleet,fleet-placement}
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
type ClusterStagedUpdateRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec UpdateRunSpec `json:"spec"`
	// +optional
	Status UpdateRunStatus `json:"status,omitempty"`
}

// UpdateRunState is the state a user asks of a run.
// +kubebuilder:validation:Enum=Initialize;Run;Stop
type UpdateRunState string

const (
	// UpdateRunStateInitialize works the stages out but updates nothing.
	UpdateRunStateInitialize UpdateRunState = "Initialize"
	// UpdateRunStateRun carries the run out, or resumes it.
	UpdateRunStateRun UpdateRunState = "Run"
	// UpdateRunStateStop pauses the run: members being updated finish, no new one starts.
	UpdateRunStateStop UpdateRunState = "Stop"
)

// UpdateRunSpec says what to roll out, where, and how.
//
// +kubebuilder:validation:XValidation:rule="!(has(oldSelf.state) && oldSelf.state == 'Initialize' && self.state == 'Stop')",message="invalid state transition: cannot transition from Initialize to Stop"
// +kubebuilder:validation:XValidation:rule="!(has(oldSelf.state) && oldSelf.state == 'Run' && self.state == 'Initialize')",message="invalid state transition: cannot transition from Run to Initialize"
// +kubebuilder:validation:XValidation:rule="!(has(oldSelf.state) && oldSelf.state == 'Stop' && self.state == 'Initialize')",message="invalid state transition: cannot transition from Stop to Initialize"
type UpdateRunSpec struct {
	// PlacementName is the placement to roll out; its spec.strategy.type must be External.
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="placementName is immutable"
	// +required
	PlacementName string `json:"placementName"`

	// ResourceSnapshotIndex is the index of the placement's resource snapshot to roll out
	// (the kubernetes-fleet.io/resource-index label). Empty takes the latest when the run
	// is initialized.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="resourceSnapshotIndex is immutable"
	// +optional
	ResourceSnapshotIndex string `json:"resourceSnapshotIndex,omitempty"`

	// StagedUpdateStrategyName is the ClusterStagedUpdateStrategy to follow.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="stagedRolloutStrategyName is immutable"
	// +required
	StagedUpdateStrategyName string `json:"stagedRolloutStrategyName"`

	// State is Initialize (the default), Run or Stop.
	// +kubebuilder:default=Initialize
	// +optional
	State UpdateRunState `json:"state,omitempty"`
}

// UpdateRunStatus is the run's plan and progress.
type UpdateRunStatus struct {
	// PolicySnapshotIndexUsed is the index of the placement's policy snapshot whose
	// scheduling decisions the run rolls out to.
	// +optional
	PolicySnapshotIndexUsed string `json:"policySnapshotIndexUsed,omitempty"`

	// ResourceSnapshotIndexUsed is the index of the resource snapshot the run rolls out.
	// +optional
	ResourceSnapshotIndexUsed string `json:"resourceSnapshotIndexUsed,omitempty"`

	// PolicyObservedClusterCount is how many members the placement's policy picked.
	// +optional
	PolicyObservedClusterCount int `json:"policyObservedClusterCount,omitempty"`

	// AppliedStrategy is the placement's apply strategy, which every member gets.
	// +optional
	AppliedStrategy *ApplyStrategy `json:"appliedStrategy,omitempty"`

	// UpdateStrategySnapshot is the strategy as the run copied it when it was initialized.
	// +optional
	UpdateStrategySnapshot *UpdateStrategySpec `json:"stagedUpdateStrategySnapshot,omitempty"`

	// StagesStatus is each stage's progress, in order.
	// +optional
	StagesStatus []StageUpdatingStatus `json:"stagesStatus,omitempty"`

	// DeletionStageStatus is the last stage, which removes the placement from members it no
	// longer picks.
	// +optional
	DeletionStageStatus *StageUpdatingStatus `json:"deletionStageStatus,omitempty"`

	// Conditions are Initialized, Progressing and Succeeded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// StageUpdatingStatus is one stage's progress.
type StageUpdatingStatus struct {
	// StageName is the stage's name; the deletion stage is kubernetes-fleet.io/deleteStage.
	// +required
	StageName string `json:"stageName"`

	// Clusters are the stage's members, in the order they are updated.
	// +required
	Clusters []ClusterUpdatingStatus `json:"clusters"`

	// AfterStageTaskStatus is the progress of the after-stage tasks, once the stage's
	// members are all updated.
	// +kubebuilder:validation:MaxItems=2
	// +optional
	AfterStageTaskStatus []StageTaskStatus `json:"afterStageTaskStatus,omitempty"`

	// BeforeStageTaskStatus is the progress of the before-stage tasks.
	// +kubebuilder:validation:MaxItems=1
	// +optional
	BeforeStageTaskStatus []StageTaskStatus `json:"beforeStageTaskStatus,omitempty"`

	// StartTime is when the stage's first member started updating.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// EndTime is when the stage and its after-stage tasks finished.
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`

	// Conditions are Progressing and Succeeded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ClusterUpdatingStatus is one member's progress.
type ClusterUpdatingStatus struct {
	// ClusterName is the member's name.
	// +required
	ClusterName string `json:"clusterName"`

	// ResourceOverrideSnapshots are the ResourceOverride snapshots that apply on the member.
	// +optional
	ResourceOverrideSnapshots []NamespacedName `json:"resourceOverrideSnapshots,omitempty"`

	// ClusterResourceOverrideSnapshots are the ClusterResourceOverride snapshots that apply
	// on the member.
	// +optional
	ClusterResourceOverrideSnapshots []string `json:"clusterResourceOverrideSnapshots,omitempty"`

	// Conditions are Started and Succeeded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// StageTaskStatus is one before- or after-stage task's progress.
type StageTaskStatus struct {
	// Type is TimedWait or Approval.
	// +required
	Type StageTaskType `json:"type"`

	// ApprovalRequestName names the approval request of an Approval task.
	// +optional
	ApprovalRequestName string `json:"approvalRequestName,omitempty"`

	// Conditions are ApprovalRequestCreated, ApprovalRequestApproved and WaitTimeElapsed.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterStagedUpdateRunList is a list of ClusterStagedUpdateRuns.
type ClusterStagedUpdateRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterStagedUpdateRun `json:"items"`
}

// Condition types and reasons of staged update runs, as KubeFleet spells them.
const (
	UpdateRunInitializedConditionType = "Initialized"
	UpdateRunProgressingConditionType = "Progressing"
	UpdateRunSucceededConditionType   = "Succeeded"

	StageProgressingConditionType = "Progressing"
	StageSucceededConditionType   = "Succeeded"

	ClusterUpdatingStartedConditionType   = "Started"
	ClusterUpdatingSucceededConditionType = "Succeeded"

	StageTaskApprovalRequestCreatedConditionType  = "ApprovalRequestCreated"
	StageTaskApprovalRequestApprovedConditionType = "ApprovalRequestApproved"
	StageTaskWaitTimeElapsedConditionType         = "WaitTimeElapsed"

	UpdateRunInitializeSucceededReason = "UpdateRunInitializedSuccessfully"
	UpdateRunInitializeFailedReason    = "UpdateRunInitializedFailed"
	UpdateRunStartedReason             = "UpdateRunStarted"
	UpdateRunWaitingReason             = "UpdateRunWaiting"
	UpdateRunStoppedReason             = "UpdateRunStopped"
	UpdateRunFailedReason              = "UpdateRunFailed"
	UpdateRunSucceededReason           = "UpdateRunSucceeded"

	StageUpdatingStartedReason   = "StageUpdatingStarted"
	StageUpdatingWaitingReason   = "StageUpdatingWaiting"
	StageUpdatingStoppedReason   = "StageUpdatingStopped"
	StageUpdatingFailedReason    = "StageUpdatingFailed"
	StageUpdatingSucceededReason = "StageUpdatingSucceeded"

	ClusterUpdatingStartedReason   = "ClusterUpdatingStarted"
	ClusterUpdatingFailedReason    = "ClusterUpdatingFailed"
	ClusterUpdatingSucceededReason = "ClusterUpdatingSucceeded"

	StageTaskApprovalRequestCreatedReason  = "StageTaskApprovalRequestCreated"
	StageTaskApprovalRequestApprovedReason = "StageTaskApprovalRequestApproved"
	AfterStageTaskWaitTimeElapsedReason    = "AfterStageTaskWaitTimeElapsed"
)

// UpdateRunDeleteStageName names the deletion stage in a run's status.
const UpdateRunDeleteStageName = fleetPrefix + "deleteStage"

func init() {
	SchemeBuilder.Register(&ClusterStagedUpdateRun{}, &ClusterStagedUpdateRunList{})
}
