package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Work carries the manifests one binding places on one member cluster. The hub's work
// generator writes it into the member's hub namespace, fleet-member-<name>; the member's
// work applier applies the manifests and writes the status.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Applied",type=string,JSONPath=`.status.conditions[?(@.type=="Applied")].status`
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=`.status.conditions[?(@.type=="Available")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Work struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec WorkSpec `json:"spec,omitempty"`
	// +optional
	Status WorkStatus `json:"status,omitempty"`
}

// WorkSpec is what to apply and how.
type WorkSpec struct {
	// Workload holds the manifests to apply.
	// +optional
	Workload WorkloadTemplate `json:"workload,omitempty"`

	// ApplyStrategy says how the manifests are applied; empty means client-side apply,
	// partial comparison, apply always and take over always.
	// +optional
	ApplyStrategy *ApplyStrategy `json:"applyStrategy,omitempty"`

	// ReportBackStrategy says whether the member agent reports each object's status on the
	// member back, in status.manifestConditions[].backReportedStatus.
	// +optional
	ReportBackStrategy *ReportBackStrategy `json:"reportBackStrategy,omitempty"`
}

// WorkloadTemplate is the list of manifests of a Work.
type WorkloadTemplate struct {
	// Manifests are whole Kubernetes objects, as JSON.
	// +optional
	Manifests []Manifest `json:"manifests,omitempty"`
}

// Manifest is one Kubernetes object of a Work.
type Manifest struct {
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:EmbeddedResource
	runtime.RawExtension `json:",inline"`
}

// WorkStatus is what the member's work applier observed.
type WorkStatus struct {
	// Conditions are Applied and Available, or DiffReported under the ReportDiff strategy.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ManifestConditions has one entry per manifest, in the order of spec.workload.manifests.
	// +optional
	ManifestConditions []ManifestCondition `json:"manifestConditions,omitempty"`
}

// WorkResourceIdentifier names one manifest of a Work and the object it became.
type WorkResourceIdentifier struct {
	// Ordinal is the manifest's index in spec.workload.manifests.
	Ordinal int `json:"ordinal"`
	// +optional
	Group string `json:"group,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
	// +optional
	Kind string `json:"kind,omitempty"`
	// Resource is the plural resource name, once the member's API server knows the kind.
	// +optional
	Resource string `json:"resource,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +optional
	Name string `json:"name,omitempty"`
}

// ManifestCondition is the state of one manifest on the member.
type ManifestCondition struct {
	// +required
	Identifier WorkResourceIdentifier `json:"identifier"`

	// Conditions are Applied and Available, or DiffReported under ReportDiff.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// DriftDetails lists the fields edited on the member since Flotilla applied them,
	// when whenToApply is IfNotDrifted and the edit was therefore kept.
	// +optional
	DriftDetails *DriftDetails `json:"driftDetails,omitempty"`

	// DiffDetails lists the differences between the hub's manifest and the member's
	// object, under ReportDiff or when a takeover with IfNoDiff found differences.
	// +optional
	DiffDetails *DiffDetails `json:"diffDetails,omitempty"`

	// BackReportedStatus is the object's status on the member, when the Work's
	// reportBackStrategy is Mirror.
	// +optional
	BackReportedStatus *BackReportedStatus `json:"backReportedStatus,omitempty"`
}

// DriftDetails are the drifts found on one object.
type DriftDetails struct {
	// ObservationTime is when these drifts were last found to change.
	// +required
	ObservationTime metav1.Time `json:"observationTime"`
	// ObservedInMemberClusterGeneration is the object's generation when they were found.
	// +required
	ObservedInMemberClusterGeneration int64 `json:"observedInMemberClusterGeneration"`
	// FirstDriftedObservedTime is when a drift on the object was first found.
	// +required
	FirstDriftedObservedTime metav1.Time `json:"firstDriftedObservedTime"`
	// ObservedDrifts are the drifted fields.
	// +optional
	ObservedDrifts []PatchDetail `json:"observedDrifts,omitempty"`
}

// DiffDetails are the differences found on one object.
type DiffDetails struct {
	// ObservationTime is when these differences were last found to change.
	// +required
	ObservationTime metav1.Time `json:"observationTime"`
	// ObservedInMemberClusterGeneration is the object's generation, when it exists.
	// +optional
	ObservedInMemberClusterGeneration *int64 `json:"observedInMemberClusterGeneration,omitempty"`
	// FirstDiffedObservedTime is when a difference on the object was first found.
	// +required
	FirstDiffedObservedTime metav1.Time `json:"firstDiffedObservedTime"`
	// ObservedDiffs are the differing fields.
	// +optional
	ObservedDiffs []PatchDetail `json:"observedDiffs,omitempty"`
}

// WorkList is a list of Works.
//
// +kubebuilder:object:root=true
type WorkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Work `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Work{}, &WorkList{})
}

// ReportBackStrategy says whether and where the status of placed objects is reported back.
//
// +kubebuilder:validation:XValidation:rule="self.type != 'Mirror' || has(self.destination)",message="reportBackStrategy.destination is required when type is Mirror: set WorkAPI (or OriginalResource)"
type ReportBackStrategy struct {
	// Type is Disabled (the default) or Mirror.
	// +kubebuilder:validation:Enum=Disabled;Mirror
	// +kubebuilder:default=Disabled
	// +required
	Type ReportBackStrategyType `json:"type"`

	// Destination is WorkAPI (the status is copied into the Work's manifest conditions) or
	// OriginalResource (KubeFleet also copies it to the hub's object when one member is
	// picked; Flotilla reports it through the Work for both).
	// +kubebuilder:validation:Enum=OriginalResource;WorkAPI
	// +optional
	Destination *ReportBackDestination `json:"destination,omitempty"`
}

// ReportBackStrategyType is Disabled or Mirror.
type ReportBackStrategyType string

// ReportBackDestination is OriginalResource or WorkAPI.
type ReportBackDestination string

const (
	// ReportBackDisabled reports nothing back.
	ReportBackDisabled ReportBackStrategyType = "Disabled"
	// ReportBackMirror copies each object's status back.
	ReportBackMirror ReportBackStrategyType = "Mirror"
	// ReportBackWorkAPI reports into the Work.
	ReportBackWorkAPI ReportBackDestination = "WorkAPI"
	// ReportBackOriginalResource reports into the hub's original object.
	ReportBackOriginalResource ReportBackDestination = "OriginalResource"
)

// BackReportedStatus is an object's status as the member agent last read it.
type BackReportedStatus struct {
	// ObservedStatus is the object's apiVersion, kind, name and namespace, and its status.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:EmbeddedResource
	// +optional
	ObservedStatus runtime.RawExtension `json:"observedStatus,omitempty"`

	// ObservationTime is when the agent read it.
	// +required
	ObservationTime metav1.Time `json:"observationTime"`
}
