package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ClusterResourcePlacement selects cluster-scoped resources on the hub (a namespace brings its
// contents along) and places them on the member clusters that its policy picks.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=crp,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Gen",type=string,JSONPath=`.metadata.generation`
// +kubebuilder:printcolumn:name="Type",type=string,priority=1,JSONPath=`.spec.policy.placementType`
// +kubebuilder:printcolumn:name="Scheduled",type=string,JSONPath=`.status.conditions[?(@.type=="ClusterResourcePlacementScheduled")].status`
// +kubebuilder:printcolumn:name="Scheduled-Gen",type=string,JSONPath=`.status.conditions[?(@.type=="ClusterResourcePlacementScheduled")].observedGeneration`
// +kubebuilder:printcolumn:name="Work-Synchronized",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="ClusterResourcePlacementWorkSynchronized")].status`
// +kubebuilder:printcolumn:name="Work-Synchronized-Gen",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="ClusterResourcePlacementWorkSynchronized")].observedGeneration`
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=`.status.conditions[?(@.type=="ClusterResourcePlacementAvailable")].status`
// +kubebuilder:printcolumn:name="Available-Gen",type=string,JSONPath=`.status.conditions[?(@.type=="ClusterResourcePlacementAvailable")].observedGeneration`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="metadata.name: a placement name may have at most 63 characters, because it labels its snapshots and bindings; choose a shorter name"
type ClusterResourcePlacement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   ClusterResourcePlacementSpec `json:"spec"`
	Status PlacementStatus              `json:"status,omitempty"`
}

// ClusterResourcePlacementSpec says what to place, where, and how to roll it out.
//
// The placement type is immutable: a placement that should switch type is deleted and created
// again. A policy that was set cannot be removed, as that would silently turn it into PickAll.
//
// +kubebuilder:validation:XValidation:rule="(has(self.policy) && has(self.policy.placementType) ? self.policy.placementType : 'PickAll') == (has(oldSelf.policy) && has(oldSelf.policy.placementType) ? oldSelf.policy.placementType : 'PickAll')",message="spec.policy.placementType is immutable; delete the placement and create a new one to change it"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.policy) || has(self.policy)",message="spec.policy cannot be removed once set"
// +kubebuilder:validation:XValidation:rule="!has(self.statusReportingScope) || self.statusReportingScope != 'NamespaceAccessible' || size(self.resourceSelectors.filter(x, x.kind == 'Namespace')) == 1",message="spec.statusReportingScope NamespaceAccessible needs exactly one resourceSelector of kind Namespace: the status is written into that namespace"
// +kubebuilder:validation:XValidation:rule="(has(oldSelf.statusReportingScope) ? oldSelf.statusReportingScope : 'ClusterScopeOnly') == (has(self.statusReportingScope) ? self.statusReportingScope : 'ClusterScopeOnly')",message="spec.statusReportingScope is immutable; delete the placement and create it again to change it"
type ClusterResourcePlacementSpec struct {
	// ResourceSelectors select the hub resources to place. Selected resources are ORed. With
	// a namespace selected as NamespaceWithResourceSelectors, the other selectors may name
	// namespaced kinds, and select objects of that namespace.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:XValidation:rule="size(self.filter(x, x.kind == 'Namespace' && x.group == '' && has(x.selectionScope) && x.selectionScope == 'NamespaceWithResourceSelectors')) == 0 || (size(self.filter(x, x.kind == 'Namespace' && x.group == '')) == 1 && self.exists(x, x.kind == 'Namespace' && x.group == '' && has(x.name) && size(x.name) > 0 && !has(x.labelSelector)))",message="spec.resourceSelectors: a namespace selected as NamespaceWithResourceSelectors must be the only Namespace selector, and select by name"
	// +required
	ResourceSelectors []ClusterResourceSelector `json:"resourceSelectors"`

	// Policy picks the member clusters. Without a policy, every eligible member is picked.
	// +optional
	Policy *PlacementPolicy `json:"policy,omitempty"`

	// Strategy says how changes roll out to the picked members.
	// +optional
	Strategy RolloutStrategy `json:"strategy,omitempty"`

	// StatusReportingScope is ClusterScopeOnly (the default) or NamespaceAccessible: the
	// placement's status is also written to a ClusterResourcePlacementStatus of the same
	// name in the one namespace it selects, for users who may read that namespace only.
	// +kubebuilder:validation:Enum=ClusterScopeOnly;NamespaceAccessible
	// +kubebuilder:default=ClusterScopeOnly
	// +optional
	StatusReportingScope StatusReportingScope `json:"statusReportingScope,omitempty"`

	// RevisionHistoryLimit is how many old policy and resource snapshots are kept.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +kubebuilder:default=10
	// +optional
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
}

// SelectionScope says whether a selected namespace brings its contents along.
// +kubebuilder:validation:Enum=NamespaceOnly;NamespaceWithResources;NamespaceWithResourceSelectors
type SelectionScope string

const (
	// NamespaceOnly selects the namespace object alone.
	NamespaceOnly SelectionScope = "NamespaceOnly"
	// NamespaceWithResources selects the namespace and every placeable object in it.
	NamespaceWithResources SelectionScope = "NamespaceWithResources"
	// NamespaceWithResourceSelectors selects the namespace and, of its objects, those the
	// placement's other (namespaced) selectors select.
	NamespaceWithResourceSelectors SelectionScope = "NamespaceWithResourceSelectors"
)

// ClusterResourceSelector selects cluster-scoped hub resources of one kind, by name or by
// labels. With neither, it selects every object of the kind.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.name) && size(self.name) > 0 && has(self.labelSelector))",message="a resource selector takes name or labelSelector, not both; remove one of them"
// +kubebuilder:validation:XValidation:rule="!has(self.selectionScope) || self.selectionScope == 'NamespaceWithResources' || (size(self.group) == 0 && self.kind == 'Namespace')",message="selectionScope NamespaceOnly applies only to namespaces (group \"\", kind Namespace); remove it for other kinds"
type ClusterResourceSelector struct {
	// Group is the API group of the kind; "" for the core group.
	// +kubebuilder:validation:MaxLength=253
	// +required
	Group string `json:"group"`

	// Version is the API version of the kind.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Version string `json:"version"`

	// Kind is the kind to select, for example Namespace or ClusterRole.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Kind string `json:"kind"`

	// Name selects one object by name.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`

	// LabelSelector selects the objects whose labels match.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`

	// SelectionScope says whether a namespace brings its contents along.
	// +kubebuilder:default=NamespaceWithResources
	// +optional
	SelectionScope SelectionScope `json:"selectionScope,omitempty"`
}

// PlacementType is how a policy picks members.
// +kubebuilder:validation:Enum=PickAll;PickN;PickFixed
type PlacementType string

const (
	// PickAllPlacementType picks every eligible member that passes the filters.
	PickAllPlacementType PlacementType = "PickAll"
	// PickNPlacementType picks the N best-scoring members.
	PickNPlacementType PlacementType = "PickN"
	// PickFixedPlacementType picks the named members.
	PickFixedPlacementType PlacementType = "PickFixed"
)

// PlacementPolicy picks the member clusters of a placement.
//
// +kubebuilder:validation:XValidation:rule="(has(self.placementType) && self.placementType == 'PickN') == has(self.numberOfClusters)",message="spec.policy.numberOfClusters is required for PickN and allowed only for PickN"
// +kubebuilder:validation:XValidation:rule="(has(self.placementType) && self.placementType == 'PickFixed') == (has(self.clusterNames) && size(self.clusterNames) > 0)",message="spec.policy.clusterNames is required for PickFixed and allowed only for PickFixed"
// +kubebuilder:validation:XValidation:rule="!(has(self.placementType) && self.placementType == 'PickFixed') || (!has(self.affinity) && !has(self.tolerations))",message="PickFixed places on the named clusters only: remove spec.policy.affinity and spec.policy.tolerations"
// +kubebuilder:validation:XValidation:rule="!has(self.topologySpreadConstraints) || size(self.topologySpreadConstraints) == 0 || (has(self.placementType) && self.placementType == 'PickN')",message="spec.policy.topologySpreadConstraints apply only to PickN"
type PlacementPolicy struct {
	// PlacementType is PickAll, PickN or PickFixed. It cannot change after creation.
	// +kubebuilder:default=PickAll
	// +optional
	PlacementType PlacementType `json:"placementType,omitempty"`

	// ClusterNames are the members that PickFixed places on.
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	// +optional
	ClusterNames []string `json:"clusterNames,omitempty"`

	// NumberOfClusters is how many members PickN places on.
	// +kubebuilder:validation:Minimum=0
	// +optional
	NumberOfClusters *int32 `json:"numberOfClusters,omitempty"`

	// Affinity restricts and ranks the members by labels and properties.
	// +optional
	Affinity *Affinity `json:"affinity,omitempty"`

	// TopologySpreadConstraints spread a PickN placement across topology domains.
	// +kubebuilder:validation:MaxItems=8
	// +optional
	TopologySpreadConstraints []TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`

	// Tolerations let the placement onto members with matching taints.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Tolerations []Toleration `json:"tolerations,omitempty"`
}

// Affinity groups the affinity rules.
type Affinity struct {
	// ClusterAffinity selects and ranks member clusters.
	// +optional
	ClusterAffinity *ClusterAffinity `json:"clusterAffinity,omitempty"`
}

// ClusterAffinity holds the required and preferred cluster rules.
type ClusterAffinity struct {
	// RequiredDuringSchedulingIgnoredDuringExecution must hold for a member to be picked. A
	// member that stops matching later keeps what was placed until the policy changes.
	// +optional
	RequiredDuringSchedulingIgnoredDuringExecution *ClusterSelector `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`

	// PreferredDuringSchedulingIgnoredDuringExecution ranks the members: each matching term adds
	// its weight to a member's affinity score.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	PreferredDuringSchedulingIgnoredDuringExecution []PreferredClusterSelector `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// ClusterSelector holds terms that are ORed.
type ClusterSelector struct {
	// ClusterSelectorTerms are ORed: a member matches if it matches any term.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:XValidation:rule="self.all(t, !has(t.propertySorter))",message="a required cluster selector term cannot have a propertySorter; use it under preferredDuringSchedulingIgnoredDuringExecution"
	// +required
	ClusterSelectorTerms []ClusterSelectorTerm `json:"clusterSelectorTerms"`
}

// ClusterSelectorTerm matches members by labels and properties, ANDed. As a preference it can
// instead rank members by a property.
type ClusterSelectorTerm struct {
	// LabelSelector matches the member's labels.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`

	// PropertySelector matches the member's properties.
	// +optional
	PropertySelector *PropertySelector `json:"propertySelector,omitempty"`

	// PropertySorter ranks the members by a property; only in a preferred term.
	// +optional
	PropertySorter *PropertySorter `json:"propertySorter,omitempty"`
}

// PropertySelector holds property requirements, ANDed.
type PropertySelector struct {
	// MatchExpressions must all hold.
	// +kubebuilder:validation:MaxItems=20
	// +required
	MatchExpressions []PropertySelectorRequirement `json:"matchExpressions"`
}

// PropertySelectorOperator compares a property with a value.
// +kubebuilder:validation:Enum=Gt;Ge;Eq;Ne;Lt;Le
type PropertySelectorOperator string

const (
	PropertySelectorGreaterThan          PropertySelectorOperator = "Gt"
	PropertySelectorGreaterThanOrEqualTo PropertySelectorOperator = "Ge"
	PropertySelectorEqualTo              PropertySelectorOperator = "Eq"
	PropertySelectorNotEqualTo           PropertySelectorOperator = "Ne"
	PropertySelectorLessThan             PropertySelectorOperator = "Lt"
	PropertySelectorLessThanOrEqualTo    PropertySelectorOperator = "Le"
)

// PropertySelectorRequirement compares one property with one value. Values are quantities
// (for example 4, 500m or 16Gi), or versions for k8s.io/k8s-version.
type PropertySelectorRequirement struct {
	// Name is the property name, for example kubernetes-fleet.io/node-count.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// Operator compares the property with the value.
	// +required
	Operator PropertySelectorOperator `json:"operator"`

	// Values holds exactly one value.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1
	// +required
	Values []string `json:"values"`
}

// PropertySortOrder orders members by a property.
// +kubebuilder:validation:Enum=Descending;Ascending
type PropertySortOrder string

const (
	// Descending gives the largest value the highest score.
	Descending PropertySortOrder = "Descending"
	// Ascending gives the smallest value the highest score.
	Ascending PropertySortOrder = "Ascending"
)

// PropertySorter ranks members by a property, scaled into the term's weight.
type PropertySorter struct {
	// Name is the property name.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// SortOrder is Ascending or Descending.
	// +required
	SortOrder PropertySortOrder `json:"sortOrder"`
}

// PreferredClusterSelector is a weighted preference.
//
// +kubebuilder:validation:XValidation:rule="!has(self.preference.propertySelector)",message="a preference takes labelSelector and/or propertySorter, not propertySelector; move the property requirement to requiredDuringSchedulingIgnoredDuringExecution"
type PreferredClusterSelector struct {
	// Weight is added to a matching member's score; negative weights repel.
	// +kubebuilder:validation:Minimum=-100
	// +kubebuilder:validation:Maximum=100
	// +required
	Weight int32 `json:"weight"`

	// Preference is the term that earns the weight.
	// +required
	Preference ClusterSelectorTerm `json:"preference"`
}

// UnsatisfiableConstraintAction is what to do when a spread constraint cannot hold.
// +kubebuilder:validation:Enum=DoNotSchedule;ScheduleAnyway
type UnsatisfiableConstraintAction string

const (
	// DoNotSchedule leaves out a member that would break the skew.
	DoNotSchedule UnsatisfiableConstraintAction = "DoNotSchedule"
	// ScheduleAnyway only prefers members that keep the skew small.
	ScheduleAnyway UnsatisfiableConstraintAction = "ScheduleAnyway"
)

// TopologySpreadConstraint spreads a PickN placement across the values of a member label.
type TopologySpreadConstraint struct {
	// MaxSkew is the largest allowed difference in picked members between two domains.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:default=1
	// +optional
	MaxSkew *int32 `json:"maxSkew,omitempty"`

	// TopologyKey is the member label whose values are the domains.
	// +kubebuilder:validation:MinLength=1
	// +required
	TopologyKey string `json:"topologyKey"`

	// WhenUnsatisfiable is DoNotSchedule (the default) or ScheduleAnyway.
	// +kubebuilder:default=DoNotSchedule
	// +optional
	WhenUnsatisfiable UnsatisfiableConstraintAction `json:"whenUnsatisfiable,omitempty"`
}

// Toleration tolerates a member taint.
//
// +kubebuilder:validation:XValidation:rule="!has(self.operator) || self.operator != 'Exists' || !has(self.value) || size(self.value) == 0",message="a toleration with operator Exists takes no value; remove the value"
// +kubebuilder:validation:XValidation:rule="(has(self.operator) && self.operator == 'Exists') || (has(self.key) && size(self.key) > 0)",message="a toleration with operator Equal needs a key"
type Toleration struct {
	// Key is the taint key; empty with Exists tolerates every taint.
	// +kubebuilder:validation:MaxLength=316
	// +optional
	Key string `json:"key,omitempty"`

	// Operator is Equal (the default) or Exists.
	// +kubebuilder:validation:Enum=Equal;Exists
	// +kubebuilder:default=Equal
	// +optional
	Operator corev1.TolerationOperator `json:"operator,omitempty"`

	// Value is the taint value that Equal matches.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Value string `json:"value,omitempty"`

	// Effect is the taint effect to tolerate; empty tolerates every effect.
	// +kubebuilder:validation:Enum=NoSchedule
	// +optional
	Effect corev1.TaintEffect `json:"effect,omitempty"`
}

// RolloutStrategyType is how a placement rolls out.
// +kubebuilder:validation:Enum=RollingUpdate;External
type RolloutStrategyType string

const (
	// RollingUpdateRolloutStrategyType rolls out within maxUnavailable and maxSurge.
	RollingUpdateRolloutStrategyType RolloutStrategyType = "RollingUpdate"
	// ExternalRolloutStrategyType leaves bindings for an external controller to move.
	ExternalRolloutStrategyType RolloutStrategyType = "External"
)

// RolloutStrategy says how changes reach the members.
//
// +kubebuilder:validation:XValidation:rule="!has(self.rollingUpdate) || !has(self.type) || self.type == 'RollingUpdate'",message="spec.strategy.rollingUpdate applies only to type RollingUpdate"
type RolloutStrategy struct {
	// Type is RollingUpdate (the default) or External.
	// +kubebuilder:default=RollingUpdate
	// +optional
	Type RolloutStrategyType `json:"type,omitempty"`

	// RollingUpdate tunes the rolling update.
	// +optional
	RollingUpdate *RollingUpdateConfig `json:"rollingUpdate,omitempty"`

	// ApplyStrategy says how the member agent applies the resources.
	// +optional
	ApplyStrategy *ApplyStrategy `json:"applyStrategy,omitempty"`

	// DeleteStrategy says what happens on the members when the placement is deleted.
	// +optional
	DeleteStrategy *DeleteStrategy `json:"deleteStrategy,omitempty"`

	// ReportBackStrategy says whether the members report the status of the placed objects
	// back to the hub.
	// +optional
	ReportBackStrategy *ReportBackStrategy `json:"reportBackStrategy,omitempty"`
}

// DeleteStrategy says what happens on the members when a placement is deleted.
type DeleteStrategy struct {
	// PropagationPolicy is Delete (the default: the placed resources are deleted) or Abandon
	// (they stay on the members, no longer managed).
	// +kubebuilder:validation:Enum=Abandon;Delete
	// +kubebuilder:default=Delete
	// +optional
	PropagationPolicy DeletePropagationPolicy `json:"propagationPolicy,omitempty"`
}

// DeletePropagationPolicy is Delete or Abandon.
type DeletePropagationPolicy string

const (
	// DeletePropagationPolicyDelete deletes the placed resources with the placement.
	DeletePropagationPolicyDelete DeletePropagationPolicy = "Delete"
	// DeletePropagationPolicyAbandon leaves the placed resources on the members.
	DeletePropagationPolicyAbandon DeletePropagationPolicy = "Abandon"
)

// RollingUpdateConfig bounds a rolling update.
//
// +kubebuilder:validation:XValidation:rule="!has(self.maxUnavailable) || (type(self.maxUnavailable) == int ? self.maxUnavailable >= 1 : self.maxUnavailable.matches('^(100|[1-9][0-9]?)%$'))",message="spec.strategy.rollingUpdate.maxUnavailable must be a number of at least 1 or a percentage from 1% to 100%, else the rollout could never proceed"
// +kubebuilder:validation:XValidation:rule="!has(self.maxSurge) || (type(self.maxSurge) == int ? self.maxSurge >= 0 : self.maxSurge.matches('^(100|[1-9]?[0-9])%$'))",message="spec.strategy.rollingUpdate.maxSurge must be a number of at least 0 or a percentage from 0% to 100%"
type RollingUpdateConfig struct {
	// MaxUnavailable is how many picked members may be unavailable during a rollout, as a
	// number (at least 1) or a percentage of the wanted members (rounded down, at least 1).
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:default="25%"
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// MaxSurge is how many members above the wanted number may hold the placement during a
	// rollout, as a number or a percentage (rounded up).
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:default="25%"
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`

	// UnavailablePeriodSeconds is how long after applying a resource whose availability cannot
	// be tracked counts as available.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=60
	// +optional
	UnavailablePeriodSeconds *int `json:"unavailablePeriodSeconds,omitempty"`
}

// ApplyStrategyType is how the member agent applies.
// +kubebuilder:validation:Enum=ClientSideApply;ServerSideApply;ReportDiff
type ApplyStrategyType string

const (
	ApplyStrategyTypeClientSideApply ApplyStrategyType = "ClientSideApply"
	ApplyStrategyTypeServerSideApply ApplyStrategyType = "ServerSideApply"
	// ApplyStrategyTypeReportDiff applies nothing and reports how the member differs.
	ApplyStrategyTypeReportDiff ApplyStrategyType = "ReportDiff"
)

// ComparisonOptionType is which fields take part in drift and diff detection.
// +kubebuilder:validation:Enum=PartialComparison;FullComparison
type ComparisonOptionType string

const (
	// ComparisonOptionTypePartialComparison compares only the fields the hub manifest sets.
	ComparisonOptionTypePartialComparison ComparisonOptionType = "PartialComparison"
	// ComparisonOptionTypeFullComparison compares every field.
	ComparisonOptionTypeFullComparison ComparisonOptionType = "FullComparison"
)

// WhenToApplyType is when the agent (re)applies.
// +kubebuilder:validation:Enum=Always;IfNotDrifted
type WhenToApplyType string

const (
	WhenToApplyTypeAlways       WhenToApplyType = "Always"
	WhenToApplyTypeIfNotDrifted WhenToApplyType = "IfNotDrifted"
)

// WhenToTakeOverType is when the agent takes over objects that already exist on the member.
// +kubebuilder:validation:Enum=Always;IfNoDiff;Never
type WhenToTakeOverType string

const (
	WhenToTakeOverTypeAlways   WhenToTakeOverType = "Always"
	WhenToTakeOverTypeIfNoDiff WhenToTakeOverType = "IfNoDiff"
	WhenToTakeOverTypeNever    WhenToTakeOverType = "Never"
)

// ApplyStrategy says how the member agent applies placed resources.
//
// +kubebuilder:validation:XValidation:rule="!has(self.serverSideApplyConfig) || (has(self.type) && self.type == 'ServerSideApply')",message="applyStrategy.serverSideApplyConfig applies only to type ServerSideApply"
type ApplyStrategy struct {
	// Type is ClientSideApply (the default), ServerSideApply or ReportDiff.
	// +kubebuilder:default=ClientSideApply
	// +optional
	Type ApplyStrategyType `json:"type,omitempty"`

	// ComparisonOption is PartialComparison (the default) or FullComparison.
	// +kubebuilder:default=PartialComparison
	// +optional
	ComparisonOption ComparisonOptionType `json:"comparisonOption,omitempty"`

	// WhenToApply is Always (the default) or IfNotDrifted.
	// +kubebuilder:default=Always
	// +optional
	WhenToApply WhenToApplyType `json:"whenToApply,omitempty"`

	// WhenToTakeOver is Always (the default), IfNoDiff or Never.
	// +kubebuilder:default=Always
	// +optional
	WhenToTakeOver WhenToTakeOverType `json:"whenToTakeOver,omitempty"`

	// AllowCoOwnership lets placed objects also be owned by non-Flotilla owners.
	// +optional
	AllowCoOwnership bool `json:"allowCoOwnership,omitempty"`

	// ServerSideApplyConfig tunes server-side apply.
	// +optional
	ServerSideApplyConfig *ServerSideApplyConfig `json:"serverSideApplyConfig,omitempty"`
}

// ServerSideApplyConfig tunes server-side apply.
type ServerSideApplyConfig struct {
	// ForceConflicts takes fields over from other field managers.
	// +optional
	ForceConflicts bool `json:"force"`
}

// PlacementStatus is what the placement achieved.
type PlacementStatus struct {
	// SelectedResources are the resources in the latest resource snapshot.
	// +optional
	SelectedResources []ResourceIdentifier `json:"selectedResources,omitempty"`

	// ObservedResourceIndex is the index of the latest resource snapshot.
	// +optional
	ObservedResourceIndex string `json:"observedResourceIndex,omitempty"`

	// PlacementStatuses are the per-member statuses: one per picked member, plus one without a
	// cluster name per missing member when a PickN or PickFixed policy is not fulfilled.
	// +optional
	PlacementStatuses []ResourcePlacementStatus `json:"placementStatuses,omitempty"`

	// Conditions are, in order, ClusterResourcePlacementScheduled, RolloutStarted, Overridden,
	// WorkSynchronized, Applied and Available (or DiffReported with ReportDiff).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ResourceIdentifier names one placed object.
type ResourceIdentifier struct {
	// +optional
	Group string `json:"group,omitempty"`
	// +optional
	Version string `json:"version,omitempty"`
	// +required
	Kind string `json:"kind"`
	// +required
	Name string `json:"name"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Envelope is the envelope the object was placed in, if any.
	// +optional
	Envelope *EnvelopeIdentifier `json:"envelope,omitempty"`
}

// ResourcePlacementStatus is the placement's status on one member.
type ResourcePlacementStatus struct {
	// ClusterName is the member; empty for a member a PickN or PickFixed policy could not find.
	// +optional
	ClusterName string `json:"clusterName,omitempty"`

	// ObservedResourceIndex is the resource snapshot index the member's binding points to.
	// +optional
	ObservedResourceIndex string `json:"observedResourceIndex,omitempty"`

	// ApplicableClusterResourceOverrides are the ClusterResourceOverride snapshots applied
	// on the member.
	// +optional
	ApplicableClusterResourceOverrides []string `json:"applicableClusterResourceOverrides,omitempty"`

	// ApplicableResourceOverrides are the ResourceOverride snapshots applied on the member.
	// +optional
	ApplicableResourceOverrides []NamespacedName `json:"applicableResourceOverrides,omitempty"`

	// FailedPlacements are up to 100 objects that failed to apply or are not available.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	FailedPlacements []FailedResourcePlacement `json:"failedPlacements,omitempty"`

	// DriftedPlacements are up to 100 objects changed on the member after they were applied.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	DriftedPlacements []DriftedResourcePlacement `json:"driftedPlacements,omitempty"`

	// DiffedPlacements are up to 100 objects that differ from the hub (ReportDiff).
	// +kubebuilder:validation:MaxItems=100
	// +optional
	DiffedPlacements []DiffedResourcePlacement `json:"diffedPlacements,omitempty"`

	// Conditions are Scheduled, RolloutStarted, Overridden, WorkSynchronized, Applied,
	// Available and DiffReported.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// FailedResourcePlacement is one object that failed.
type FailedResourcePlacement struct {
	ResourceIdentifier `json:",inline"`

	// Condition is the failed condition (Applied or Available False).
	// +required
	Condition metav1.Condition `json:"condition"`
}

// PatchDetail is one field that differs between the member and the hub.
type PatchDetail struct {
	// Path is a JSON pointer to the field.
	// +required
	Path string `json:"path"`
	// ValueInMember is the value on the member; empty when the member lacks the field.
	// +optional
	ValueInMember string `json:"valueInMember,omitempty"`
	// ValueInHub is the value in the hub manifest; empty when the hub lacks the field.
	// +optional
	ValueInHub string `json:"valueInHub,omitempty"`
}

// DriftedResourcePlacement is an object that drifted on the member.
type DriftedResourcePlacement struct {
	ResourceIdentifier `json:",inline"`

	// ObservationTime is when the drift was last seen.
	// +required
	ObservationTime metav1.Time `json:"observationTime"`
	// TargetClusterObservedGeneration is the member object's generation at that time.
	// +required
	TargetClusterObservedGeneration int64 `json:"targetClusterObservedGeneration"`
	// FirstDriftedObservedTime is when the drift was first seen.
	// +required
	FirstDriftedObservedTime metav1.Time `json:"firstDriftedObservedTime"`
	// ObservedDrifts are the drifted fields.
	// +optional
	ObservedDrifts []PatchDetail `json:"observedDrifts,omitempty"`
}

// DiffedResourcePlacement is an object whose member copy differs from the hub (ReportDiff).
type DiffedResourcePlacement struct {
	ResourceIdentifier `json:",inline"`

	// ObservationTime is when the diff was last seen.
	// +required
	ObservationTime metav1.Time `json:"observationTime"`
	// TargetClusterObservedGeneration is the member object's generation; absent when the
	// object does not exist on the member.
	// +optional
	TargetClusterObservedGeneration *int64 `json:"targetClusterObservedGeneration,omitempty"`
	// FirstDiffedObservedTime is when the diff was first seen.
	// +required
	FirstDiffedObservedTime metav1.Time `json:"firstDiffedObservedTime"`
	// ObservedDiffs are the differing fields.
	// +optional
	ObservedDiffs []PatchDetail `json:"observedDiffs,omitempty"`
}

// ClusterResourcePlacementList is a list of ClusterResourcePlacements.
//
// +kubebuilder:object:root=true
type ClusterResourcePlacementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterResourcePlacement `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterResourcePlacement{}, &ClusterResourcePlacementList{})
}
