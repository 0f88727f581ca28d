package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ClusterStagedUpdateStrategy is a reusable plan for rolling a ClusterResourcePlacement out
// stage by stage: which members make up each stage, in what order they go, how many at once,
// and what must happen before a stage starts and after it ends. A ClusterStagedUpdateRun
// copies it when it starts, so later edits do not change a run in progress.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=csus,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
type ClusterStagedUpdateStrategy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec UpdateStrategySpec `json:"spec"`
}

// UpdateStrategySpec lists the stages, which run one after another.
type UpdateStrategySpec struct {
	// Stages run in this order. Each member the placement picked must be in exactly one.
	// +kubebuilder:validation:MaxItems=31
	// +required
	Stages []StageConfig `json:"stages"`
}

// StageConfig is one stage: the members its label selector picks.
type StageConfig struct {
	// Name is unique within the strategy: lowercase letters and digits.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern="^[a-z0-9]+$"
	// +required
	Name string `json:"name"`

	// LabelSelector picks the stage's members by their MemberCluster labels. Empty picks
	// every member.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`

	// SortingLabelKey orders the stage's members: by this label's value, as integers when
	// every value is one and as strings otherwise, then by name. Without it, by name.
	// +optional
	SortingLabelKey *string `json:"sortingLabelKey,omitempty"`

	// MaxConcurrency is how many of the stage's members are updated at once: a number (at
	// least 1) or a percentage of the stage's members, rounded down and at least 1.
	// +kubebuilder:default=1
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:Pattern="^(100|[1-9][0-9]?)%$"
	// +kubebuilder:validation:XValidation:rule="self == null || type(self) != int || self >= 1",message="maxConcurrency must be at least 1"
	// +optional
	MaxConcurrency *intstr.IntOrString `json:"maxConcurrency,omitempty"`

	// AfterStageTasks must all be done, once every member of the stage is updated, before
	// the next stage starts: a TimedWait and an Approval, at most one of each.
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:XValidation:rule="!self.exists(e, e.type == 'Approval' && has(e.waitTime))",message="AfterStageTaskType is Approval, waitTime is not allowed"
	// +kubebuilder:validation:XValidation:rule="!self.exists(e, e.type == 'TimedWait' && !has(e.waitTime))",message="AfterStageTaskType is TimedWait, waitTime is required"
	// +optional
	AfterStageTasks []StageTask `json:"afterStageTasks,omitempty"`

	// BeforeStageTasks must be done before the stage's first member is updated: an Approval.
	// +kubebuilder:validation:MaxItems=1
	// +kubebuilder:validation:XValidation:rule="!self.exists(e, e.type == 'Approval' && has(e.waitTime))",message="AfterStageTaskType is Approval, waitTime is not allowed"
	// +kubebuilder:validation:XValidation:rule="!self.exists(e, e.type == 'TimedWait')",message="BeforeStageTaskType cannot be TimedWait"
	// +optional
	BeforeStageTasks []StageTask `json:"beforeStageTasks,omitempty"`
}

// StageTaskType is TimedWait or Approval.
// +kubebuilder:validation:Enum=TimedWait;Approval
type StageTaskType string

const (
	// StageTaskTypeTimedWait waits for waitTime.
	StageTaskTypeTimedWait StageTaskType = "TimedWait"
	// StageTaskTypeApproval waits until the task's approval request is approved.
	StageTaskTypeApproval StageTaskType = "Approval"
)

// StageTask is a task before or after a stage.
type StageTask struct {
	// Type is TimedWait or Approval.
	// +required
	Type StageTaskType `json:"type"`

	// WaitTime is how long a TimedWait waits after the stage's last member is updated, in
	// hours (h), minutes (m) and seconds (s), such as 1h30m.
	// +kubebuilder:validation:Pattern="^(?:(?:0|[1-9][0-9]*)(\\.[0-9]+)?(?:s|m|h))+$"
	// +kubebuilder:validation:Type=string
	// +optional
	WaitTime *metav1.Duration `json:"waitTime,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterStagedUpdateStrategyList is a list of ClusterStagedUpdateStrategies.
type ClusterStagedUpdateStrategyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterStagedUpdateStrategy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterStagedUpdateStrategy{}, &ClusterStagedUpdateStrategyList{})
}
