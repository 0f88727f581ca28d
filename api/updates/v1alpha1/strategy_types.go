package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// UpdateStrategy is a reusable plan of stages for update runs.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=us,categories={fleet,fleet-updates}
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 63",message="metadata.name must be a DNS label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
type UpdateStrategy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec UpdateStrategySpec `json:"spec"`
}

// UpdateStrategySpec is the list of stages. Stages run one after another.
//
// +kubebuilder:validation:XValidation:rule="self.stages.all(s, s.groups.all(g, self.stages.filter(t, t.groups.exists(h, h.name == g.name)).size() == 1))",message="stages[].groups[].name: a group may appear in only one stage; remove the duplicate or rename one group"
type UpdateStrategySpec struct {
	// Stages run in order; every group of a stage finishes before the next stage begins.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	// +listType=map
	// +listMapKey=name
	// +required
	Stages []StageConfig `json:"stages"`
}

// StageConfig is one stage of a strategy.
type StageConfig struct {
	// Name names the stage: a DNS label.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit"
	// +required
	Name string `json:"name"`

	// Groups run in parallel. Members join a group through the MemberCluster label
	// updates.flotilla.dev/group=<group name>.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +listType=map
	// +listMapKey=name
	// +required
	Groups []GroupConfig `json:"groups"`

	// AfterStageWaitInSeconds is how long to wait after the stage's groups finished before
	// the next stage begins.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=86400
	// +optional
	AfterStageWaitInSeconds int32 `json:"afterStageWaitInSeconds,omitempty"`

	// BeforeGates must be approved before the stage's groups begin.
	// +kubebuilder:validation:MaxItems=5
	// +optional
	BeforeGates []GateConfig `json:"beforeGates,omitempty"`

	// AfterGates must be approved after the stage's groups finished, before the next stage.
	// +kubebuilder:validation:MaxItems=5
	// +optional
	AfterGates []GateConfig `json:"afterGates,omitempty"`

	// MaxConcurrency is the default maxConcurrency of the stage's groups.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:MaxLength=4
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 1 : self.matches('^(100|[1-9][0-9]?)%$')",message="must be an integer of at least 1 or a percentage from 1% to 100%"
	// +optional
	MaxConcurrency *intstr.IntOrString `json:"maxConcurrency,omitempty"`
}

// GroupConfig is one group of a stage.
type GroupConfig struct {
	// Name names the group: a DNS label, matched against the MemberCluster label
	// updates.flotilla.dev/group.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit"
	// +required
	Name string `json:"name"`

	// MaxConcurrency is how many of the group's members are upgraded at once: an integer,
	// or a percentage of the group's members (rounded down, at least 1). Default 1, or the
	// stage's maxConcurrency.
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:MaxLength=4
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 1 : self.matches('^(100|[1-9][0-9]?)%$')",message="must be an integer of at least 1 or a percentage from 1% to 100%"
	// +optional
	MaxConcurrency *intstr.IntOrString `json:"maxConcurrency,omitempty"`

	// BeforeGates must be approved before the group's first member begins.
	// +kubebuilder:validation:MaxItems=5
	// +optional
	BeforeGates []GateConfig `json:"beforeGates,omitempty"`

	// AfterGates must be approved after the group's members finished.
	// +kubebuilder:validation:MaxItems=5
	// +optional
	AfterGates []GateConfig `json:"afterGates,omitempty"`
}

// GateType is the kind of a gate.
// +kubebuilder:validation:Enum=Approval
type GateType string

// GateTypeApproval waits for a person to approve.
const GateTypeApproval GateType = "Approval"

// GateConfig declares a gate.
type GateConfig struct {
	// Type is Approval.
	// +kubebuilder:default=Approval
	// +optional
	Type GateType `json:"type,omitempty"`

	// DisplayName tells the approver what to check.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	DisplayName string `json:"displayName,omitempty"`
}

// UpdateStrategyList is a list of UpdateStrategies.
//
// +kubebuilder:object:root=true
type UpdateStrategyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []UpdateStrategy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&UpdateStrategy{}, &UpdateStrategyList{})
}
