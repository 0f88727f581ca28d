package v1beta1

// Placeholder of the types shared with ClusterResourcePlacement, until the hub half's types
// land; removed when they do.

// ApplyStrategyType is how manifests are applied.
// +kubebuilder:validation:Enum=ClientSideApply;ServerSideApply;ReportDiff
type ApplyStrategyType string

const (
	ApplyStrategyTypeClientSideApply ApplyStrategyType = "ClientSideApply"
	ApplyStrategyTypeServerSideApply ApplyStrategyType = "ServerSideApply"
	ApplyStrategyTypeReportDiff      ApplyStrategyType = "ReportDiff"
)

// ComparisonOptionType says which fields drift and diff detection compare.
// +kubebuilder:validation:Enum=PartialComparison;FullComparison
type ComparisonOptionType string

const (
	ComparisonOptionTypePartialComparison ComparisonOptionType = "PartialComparison"
	ComparisonOptionTypeFullComparison    ComparisonOptionType = "FullComparison"
)

// WhenToApplyType says whether drifted objects are overwritten.
// +kubebuilder:validation:Enum=Always;IfNotDrifted
type WhenToApplyType string

const (
	WhenToApplyTypeAlways       WhenToApplyType = "Always"
	WhenToApplyTypeIfNotDrifted WhenToApplyType = "IfNotDrifted"
)

// WhenToTakeOverType says whether pre-existing objects are taken over.
// +kubebuilder:validation:Enum=Always;IfNoDiff;Never
type WhenToTakeOverType string

const (
	WhenToTakeOverTypeAlways   WhenToTakeOverType = "Always"
	WhenToTakeOverTypeIfNoDiff WhenToTakeOverType = "IfNoDiff"
	WhenToTakeOverTypeNever    WhenToTakeOverType = "Never"
)

// ApplyStrategy says how manifests are applied on members.
type ApplyStrategy struct {
	// +kubebuilder:default=PartialComparison
	// +optional
	ComparisonOption ComparisonOptionType `json:"comparisonOption,omitempty"`
	// +kubebuilder:default=Always
	// +optional
	WhenToApply WhenToApplyType `json:"whenToApply,omitempty"`
	// +kubebuilder:default=ClientSideApply
	// +optional
	Type ApplyStrategyType `json:"type,omitempty"`
	// +optional
	AllowCoOwnership bool `json:"allowCoOwnership,omitempty"`
	// +optional
	ServerSideApplyConfig *ServerSideApplyConfig `json:"serverSideApplyConfig,omitempty"`
	// +kubebuilder:default=Always
	// +optional
	WhenToTakeOver WhenToTakeOverType `json:"whenToTakeOver,omitempty"`
}

// ServerSideApplyConfig configures server-side apply.
type ServerSideApplyConfig struct {
	// +optional
	ForceConflicts bool `json:"force"`
}

// PatchDetail is one differing field.
type PatchDetail struct {
	// +required
	Path string `json:"path"`
	// +optional
	ValueInMember string `json:"valueInMember,omitempty"`
	// +optional
	ValueInHub string `json:"valueInHub,omitempty"`
}
