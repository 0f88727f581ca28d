package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Gate is an approval an update run waits for, before or after a stage or group. The run
// creates it when it reaches it; a user approves it by setting spec.state to Completed
// (flotilla gate approve NAME).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories={fleet,fleet-updates}
// +kubebuilder:printcolumn:name="Run",type=string,JSONPath=`.spec.target.updateRun`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.spec.target.stage`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.target.group`
// +kubebuilder:printcolumn:name="Timing",type=string,JSONPath=`.spec.target.timing`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.spec.state`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Gate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec GateSpec `json:"spec"`
}

// GateState is whether a gate lets its run pass.
// +kubebuilder:validation:Enum=Pending;Completed;Skipped
type GateState string

// The gate states.
const (
	GatePending   GateState = "Pending"
	GateCompleted GateState = "Completed"
	GateSkipped   GateState = "Skipped"
)

// GateSpec is a gate's target and state.
//
// +kubebuilder:validation:XValidation:rule="self.target == oldSelf.target && self.type == oldSelf.type",message="spec.target and spec.type are immutable; only spec.state may change"
// +kubebuilder:validation:XValidation:rule="oldSelf.state == 'Pending' || self.state == oldSelf.state",message="spec.state: an approved or skipped gate cannot be reopened"
type GateSpec struct {
	// Type is Approval.
	// +kubebuilder:default=Approval
	// +optional
	Type GateType `json:"type,omitempty"`

	// DisplayName tells the approver what to check.
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// Target is where in which run the gate stands.
	// +required
	Target GateTarget `json:"target"`

	// State is Pending until a user sets Completed (or the run skips the gate).
	// +kubebuilder:default=Pending
	// +optional
	State GateState `json:"state,omitempty"`
}

// GateTarget places a gate in a run.
type GateTarget struct {
	UpdateRun string `json:"updateRun"`
	Stage     string `json:"stage"`
	// Group is empty for a stage's gate.
	// +optional
	Group  string     `json:"group,omitempty"`
	Timing GateTiming `json:"timing"`
}

// GateList is a list of Gates.
//
// +kubebuilder:object:root=true
type GateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Gate `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Gate{}, &GateList{})
}
