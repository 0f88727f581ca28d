package v1alpha1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UpdateRun upgrades member clusters stage by stage.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=ur,categories={fleet,fleet-updates}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Desired",type=string,JSONPath=`.spec.state`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.managedClusterUpdate.upgrade.type`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.managedClusterUpdate.upgrade.kubernetesVersion`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 63",message="metadata.name must be a DNS label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
type UpdateRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   UpdateRunSpec   `json:"spec"`
	Status UpdateRunStatus `json:"status,omitempty"`
}

// UpdateRunSpec is what the user asks of a run.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.updateStrategyName) && has(self.strategy))",message="spec.updateStrategyName and spec.strategy: name a strategy or give one inline, not both; remove one of them"
// +kubebuilder:validation:XValidation:rule="oldSelf.state == 'NotStarted' || self.managedClusterUpdate == oldSelf.managedClusterUpdate",message="spec.managedClusterUpdate is immutable once the run has started; create a new UpdateRun instead"
// +kubebuilder:validation:XValidation:rule="oldSelf.state == 'NotStarted' || (has(self.updateStrategyName) == has(oldSelf.updateStrategyName) && (!has(self.updateStrategyName) || self.updateStrategyName == oldSelf.updateStrategyName) && has(self.strategy) == has(oldSelf.strategy) && (!has(self.strategy) || self.strategy == oldSelf.strategy))",message="spec.updateStrategyName and spec.strategy are immutable once the run has started; create a new UpdateRun instead"
// +kubebuilder:validation:XValidation:rule="self.state != 'NotStarted' || oldSelf.state == 'NotStarted'",message="spec.state cannot go back to NotStarted once the run has started; set Stopped to stop it"
type UpdateRunSpec struct {
	// UpdateStrategyName names an UpdateStrategy whose stages the run copies when it is
	// created. With neither this nor strategy, the run has one stage with one group of
	// every member that has an upgrade provider.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be the name of an UpdateStrategy (a DNS label)"
	// +optional
	UpdateStrategyName string `json:"updateStrategyName,omitempty"`

	// Strategy is an inline strategy.
	// +optional
	Strategy *UpdateStrategySpec `json:"strategy,omitempty"`

	// ManagedClusterUpdate says what to upgrade to.
	// +required
	ManagedClusterUpdate ManagedClusterUpdate `json:"managedClusterUpdate"`

	// State is what the user wants: NotStarted (the default), Running to start or resume,
	// Stopped to stop. Stopping lets operations already running finish and starts none.
	// +kubebuilder:validation:Enum=NotStarted;Running;Stopped
	// +kubebuilder:default=NotStarted
	// +optional
	State RunRequest `json:"state,omitempty"`

	// Skip lists what to skip: members, groups, stages, or a stage's after-stage wait.
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Skip []SkipTarget `json:"skip,omitempty"`
}

// RunRequest is the state the user asks a run to be in.
type RunRequest string

// The states a user may ask for.
const (
	RequestNotStarted RunRequest = "NotStarted"
	RequestRunning    RunRequest = "Running"
	RequestStopped    RunRequest = "Stopped"
)

// ManagedClusterUpdate is the upgrade and how node images are chosen.
type ManagedClusterUpdate struct {
	// +required
	Upgrade UpgradeSpec `json:"upgrade"`

	// NodeImageSelection picks the node image versions. Default Latest.
	// +optional
	NodeImageSelection *NodeImageSelection `json:"nodeImageSelection,omitempty"`
}

// UpgradeType says what an upgrade changes.
// +kubebuilder:validation:Enum=Full;NodeImageOnly;ControlPlaneOnly
type UpgradeType string

// The upgrade types.
const (
	// UpgradeFull upgrades the control plane, then every node pool, to kubernetesVersion,
	// with the node images chosen by nodeImageSelection.
	UpgradeFull UpgradeType = "Full"
	// UpgradeNodeImageOnly changes only the node images.
	UpgradeNodeImageOnly UpgradeType = "NodeImageOnly"
	// UpgradeControlPlaneOnly upgrades only the control plane to kubernetesVersion.
	UpgradeControlPlaneOnly UpgradeType = "ControlPlaneOnly"
)

// UpgradeSpec is the kind of upgrade and its target version.
//
// +kubebuilder:validation:XValidation:rule="self.type == 'NodeImageOnly' || (has(self.kubernetesVersion) && size(self.kubernetesVersion) > 0)",message="spec.managedClusterUpdate.upgrade.kubernetesVersion is required for Full and ControlPlaneOnly upgrades: set it, for example to 1.36.1"
// +kubebuilder:validation:XValidation:rule="self.type != 'NodeImageOnly' || !has(self.kubernetesVersion) || size(self.kubernetesVersion) == 0",message="spec.managedClusterUpdate.upgrade.kubernetesVersion is forbidden for NodeImageOnly upgrades: remove it, or use type Full"
type UpgradeSpec struct {
	// Type is Full, NodeImageOnly or ControlPlaneOnly.
	// +required
	Type UpgradeType `json:"type"`

	// KubernetesVersion is the target version, such as 1.36.1.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="size(self) == 0 || self.matches('^v?[0-9]+[.][0-9]+[.][0-9]+$')",message="must be a version like 1.36.1"
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
}

// NodeImageSelectionType is how node images are chosen.
// +kubebuilder:validation:Enum=Latest;Consistent
type NodeImageSelectionType string

// The node image selections.
const (
	// NodeImageLatest gives each member its region's newest image.
	NodeImageLatest NodeImageSelectionType = "Latest"
	// NodeImageConsistent gives every member the newest image every region of the run offers.
	NodeImageConsistent NodeImageSelectionType = "Consistent"
)

// NodeImageSelection is how node images are chosen.
type NodeImageSelection struct {
	// +kubebuilder:default=Latest
	// +optional
	Type NodeImageSelectionType `json:"type,omitempty"`

	// ProfileWaitTimeout is how long a Consistent run waits, before it starts, for every
	// member in it to publish a MemberUpgradeProfile with its node pools and its region's
	// newest images. The run picks its images only from a complete set, and fails with the
	// names of the members still missing once this has passed. Default 10m.
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="spec.managedClusterUpdate.nodeImageSelection.profileWaitTimeout must not be negative: give a duration such as 10m"
	// +optional
	ProfileWaitTimeout *metav1.Duration `json:"profileWaitTimeout,omitempty"`
}

// DefaultProfileWaitTimeout is the default of NodeImageSelection.ProfileWaitTimeout.
const DefaultProfileWaitTimeout = 10 * time.Minute

// The condition of a run's node image selection, and its reasons.
const (
	// NodeImagesSelectedCondition is True once a Consistent run has chosen its images from
	// the profiles of all its members; False while it waits for them, or when it gave up.
	NodeImagesSelectedCondition = "NodeImagesSelected"
	// WaitingForUpgradeProfilesReason: some members have not published a usable profile.
	WaitingForUpgradeProfilesReason = "WaitingForUpgradeProfiles"
	// UpgradeProfilesTimedOutReason: they had not within profileWaitTimeout; the run failed.
	UpgradeProfilesTimedOutReason = "UpgradeProfilesTimedOut"
	// NodeImagesSelectedReason: the images are chosen and fixed for the run.
	NodeImagesSelectedReason = "NodeImagesSelected"
)

// SkipType is what a skip targets.
// +kubebuilder:validation:Enum=Member;Group;Stage;AfterStageWait
type SkipType string

// The skip targets.
const (
	SkipMember         SkipType = "Member"
	SkipGroup          SkipType = "Group"
	SkipStage          SkipType = "Stage"
	SkipAfterStageWait SkipType = "AfterStageWait"
)

// SkipTarget names something to skip. For AfterStageWait the name is the stage's.
type SkipTarget struct {
	// +required
	Type SkipType `json:"type"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// State is the state of a run, stage, group, member, wait or gate.
// +kubebuilder:validation:Enum=NotStarted;Running;Stopping;Stopped;Skipped;Failed;Pending;Completed
type State string

// The states.
const (
	StateNotStarted State = "NotStarted"
	StateRunning    State = "Running"
	StateStopping   State = "Stopping"
	StateStopped    State = "Stopped"
	StateSkipped    State = "Skipped"
	StateFailed     State = "Failed"
	StatePending    State = "Pending"
	StateCompleted  State = "Completed"
)

// Terminal says whether nothing more happens in this state (within a run's progress):
// Completed, Skipped, Failed and Pending (a Pending member is passed over).
func (s State) Terminal() bool {
	return s == StateCompleted || s == StateSkipped || s == StateFailed || s == StatePending
}

// Status is the state of one part of a run, with when it began and ended.
type Status struct {
	// +optional
	State State `json:"state,omitempty"`
	// +optional
	StartTime *metav1.MicroTime `json:"startTime,omitempty"`
	// +optional
	CompletedTime *metav1.MicroTime `json:"completedTime,omitempty"`
	// Error says why the state is Failed, Pending or Skipped.
	// +optional
	Error string `json:"error,omitempty"`
}

// UpdateRunStatus is the progress of a run.
type UpdateRunStatus struct {
	Status `json:",inline"`

	// ObservedGeneration is the generation of the spec last acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// StrategySnapshot is the strategy the run follows, copied when the run was created
	// (and again if the run's spec.strategy or spec.updateStrategyName changes before it
	// starts). Later edits of the UpdateStrategy do not change the run.
	// +optional
	StrategySnapshot *UpdateStrategySpec `json:"strategySnapshot,omitempty"`

	// UpdateStrategyName is the UpdateStrategy the snapshot was copied from, if any.
	// +optional
	UpdateStrategyName string `json:"updateStrategyName,omitempty"`

	// NodeImageSelection holds the node images chosen for Consistent, at start.
	// +optional
	NodeImageSelection *NodeImageSelectionStatus `json:"nodeImageSelection,omitempty"`

	// Stages are the stages' progress, in order.
	// +optional
	Stages []StageStatus `json:"stages,omitempty"`

	// UnknownSkipTargets are the entries of spec.skip that name no member, group or stage
	// of the run (or, for AfterStageWait, no stage with a wait): they have no effect. Fix
	// the name in spec.skip.
	// +optional
	UnknownSkipTargets []SkipTarget `json:"unknownSkipTargets,omitempty"`

	// Conditions: NodeImagesSelected, for a Consistent run.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// NodeImageSelectionStatus records the chosen node images.
type NodeImageSelectionStatus struct {
	// SelectedNodeImageVersions are, per image family, the version every member gets.
	// +optional
	SelectedNodeImageVersions []NodeImageVersion `json:"selectedNodeImageVersions,omitempty"`
}

// NodeImageVersion is a version of one node image family.
type NodeImageVersion struct {
	// Family is the image family, such as AKSUbuntu-2204gen2containerd.
	Family string `json:"family"`
	// Version is the version within the family, such as 202512.05.0.
	Version string `json:"version"`
}

// StageStatus is one stage's progress.
type StageStatus struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// AfterStageWaitStatus is the wait after the stage's groups, if it has one.
	// +optional
	AfterStageWaitStatus *WaitStatus `json:"afterStageWaitStatus,omitempty"`
	// Gates are the stage's and its groups' gates, as they are reached.
	// +optional
	Gates []GateStatus `json:"gates,omitempty"`
	// +optional
	Groups []GroupStatus `json:"groups,omitempty"`
}

// WaitStatus is the after-stage wait.
type WaitStatus struct {
	Status                Status `json:"status"`
	WaitDurationInSeconds int32  `json:"waitDurationInSeconds"`
}

// GateTiming says whether a gate is before or after its stage or group.
// +kubebuilder:validation:Enum=Before;After
type GateTiming string

// The gate timings.
const (
	GateBefore GateTiming = "Before"
	GateAfter  GateTiming = "After"
)

// GateStatus is one gate of a stage or group, named after its Gate object.
type GateStatus struct {
	Name string `json:"name"`
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// Group is empty for a stage's own gates.
	// +optional
	Group  string     `json:"group,omitempty"`
	Timing GateTiming `json:"timing"`
	// Status is Running while the gate waits for approval.
	Status Status `json:"status"`
}

// GroupStatus is one group's progress.
type GroupStatus struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Members are the group's members, fixed when the run starts, in order.
	// +optional
	Members []MemberStatus `json:"members,omitempty"`
}

// MemberStatus is one member's progress.
type MemberStatus struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Operation names the member's MemberUpdate, in fleet-member-<name>.
	// +optional
	Operation string `json:"operation,omitempty"`
	// Message is the provider's last word on the operation.
	// +optional
	Message string `json:"message,omitempty"`
}

// UpdateRunList is a list of UpdateRuns.
//
// +kubebuilder:object:root=true
type UpdateRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []UpdateRun `json:"items"`
}

func init() {
	SchemeBuilder.Register(&UpdateRun{}, &UpdateRunList{})
}
