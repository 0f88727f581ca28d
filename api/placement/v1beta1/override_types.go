package v1beta1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterResourceOverride changes cluster-scoped resources (and the namespaces it selects)
// per member before they are placed: a JSON patch, or leaving the resource off the member.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories={fleet,fleet-placement}
// +kubebuilder:validation:XValidation:rule="!has(self.spec.placement) || self.spec.placement.scope != 'Namespaced'",message="spec.placement.scope: a ClusterResourceOverride can only name a ClusterResourcePlacement; set scope to Cluster or leave it out"
type ClusterResourceOverride struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ClusterResourceOverrideSpec `json:"spec"`
}

// ClusterResourceOverrideSpec says which resources to change, for which placement, and how.
//
// +kubebuilder:validation:XValidation:rule="(has(oldSelf.placement) && has(self.placement) && oldSelf.placement == self.placement) || (!has(oldSelf.placement) && !has(self.placement))",message="spec.placement is immutable: delete the override and create it again to point it at another placement"
type ClusterResourceOverrideSpec struct {
	// Placement is the ClusterResourcePlacement the override applies to. Without it, the
	// override applies to every placement that selects its resources.
	// +optional
	Placement *PlacementRef `json:"placement,omitempty"`

	// ClusterResourceSelectors pick the cluster-scoped resources to change, by name. A
	// selected namespace is changed itself; the objects in it are not.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:XValidation:rule="self.all(s, has(s.name) && size(s.name) > 0 && !has(s.labelSelector))",message="spec.clusterResourceSelectors: an override selects each resource by name; set name and remove labelSelector"
	// +kubebuilder:validation:XValidation:rule="self.all(s, self.exists_one(t, t.group == s.group && t.version == s.version && t.kind == s.kind && t.name == s.name))",message="spec.clusterResourceSelectors: each resource may be selected once; remove the duplicate selector"
	// +required
	ClusterResourceSelectors []ClusterResourceSelector `json:"clusterResourceSelectors"`

	// Policy holds the rules.
	// +required
	Policy *OverridePolicy `json:"policy"`
}

// ResourceOverride changes namespaced resources of its own namespace per member before they
// are placed.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories={fleet,fleet-placement}
type ResourceOverride struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ResourceOverrideSpec `json:"spec"`
}

// ResourceOverrideSpec says which resources of the namespace to change, for which placement,
// and how.
//
// +kubebuilder:validation:XValidation:rule="(has(oldSelf.placement) && has(self.placement) && oldSelf.placement == self.placement) || (!has(oldSelf.placement) && !has(self.placement))",message="spec.placement is immutable: delete the override and create it again to point it at another placement"
type ResourceOverrideSpec struct {
	// Placement is the placement the override applies to: a ClusterResourcePlacement (scope
	// Cluster) or a ResourcePlacement of the same namespace (scope Namespaced). Without it,
	// the override applies to every placement that selects its resources.
	// +optional
	Placement *PlacementRef `json:"placement,omitempty"`

	// ResourceSelectors pick the resources of the override's namespace to change, by name.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:XValidation:rule="self.all(s, self.exists_one(t, t.group == s.group && t.version == s.version && t.kind == s.kind && t.name == s.name))",message="spec.resourceSelectors: each resource may be selected once; remove the duplicate selector"
	// +required
	ResourceSelectors []ResourceSelector `json:"resourceSelectors"`

	// Policy holds the rules.
	// +required
	Policy *OverridePolicy `json:"policy"`
}

// PlacementRef names a placement.
type PlacementRef struct {
	// Name is the placement's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Scope is Cluster for a ClusterResourcePlacement, Namespaced for a ResourcePlacement in
	// the override's namespace.
	// +kubebuilder:validation:Enum=Cluster;Namespaced
	// +kubebuilder:default=Cluster
	// +optional
	Scope ResourceScope `json:"scope,omitempty"`
}

// ResourceScope is Cluster or Namespaced.
type ResourceScope string

const (
	// ClusterScoped is a cluster-scoped placement.
	ClusterScoped ResourceScope = "Cluster"
	// NamespaceScoped is a namespaced placement.
	NamespaceScoped ResourceScope = "Namespaced"
)

// ResourceSelector selects one namespaced resource of the override's namespace.
type ResourceSelector struct {
	// Group is the API group of the kind; "" for the core group.
	// +kubebuilder:validation:MaxLength=253
	// +required
	Group string `json:"group"`

	// Version is the API version of the kind.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Version string `json:"version"`

	// Kind is the kind, for example Deployment.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Kind string `json:"kind"`

	// Name is the resource's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// OverridePolicy holds the rules of an override. Every rule whose clusterSelector matches a
// member applies there, in order.
type OverridePolicy struct {
	// OverrideRules are the rules.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +required
	OverrideRules []OverrideRule `json:"overrideRules"`
}

// OverrideType is JSONPatch or Delete.
// +kubebuilder:validation:Enum=JSONPatch;Delete
type OverrideType string

const (
	// JSONPatchOverrideType changes the resource with JSON patches (RFC 6902).
	JSONPatchOverrideType OverrideType = "JSONPatch"
	// DeleteOverrideType leaves the resource off the matching members.
	DeleteOverrideType OverrideType = "Delete"
)

// OverrideRule is what happens to the selected resources on the members the rule selects.
//
// +kubebuilder:validation:XValidation:rule="has(self.overrideType) && self.overrideType == 'Delete' ? !has(self.jsonPatchOverrides) || size(self.jsonPatchOverrides) == 0 : has(self.jsonPatchOverrides) && size(self.jsonPatchOverrides) > 0",message="overrideRules[]: a JSONPatch rule needs jsonPatchOverrides, and a Delete rule takes none"
type OverrideRule struct {
	// ClusterSelector picks the members the rule applies to; without it, every member.
	// +optional
	ClusterSelector *ClusterSelector `json:"clusterSelector,omitempty"`

	// OverrideType is JSONPatch (the default) or Delete.
	// +kubebuilder:default=JSONPatch
	// +optional
	OverrideType OverrideType `json:"overrideType,omitempty"`

	// JSONPatchOverrides are applied in order. A value may hold ${MEMBER-CLUSTER-NAME} and
	// ${MEMBER-CLUSTER-LABEL-KEY-<key>}, replaced per member.
	// +kubebuilder:validation:MaxItems=20
	// +optional
	JSONPatchOverrides []JSONPatchOverride `json:"jsonPatchOverrides,omitempty"`
}

// JSONPatchOperator is add, remove or replace.
// +kubebuilder:validation:Enum=add;remove;replace
type JSONPatchOperator string

const (
	// JSONPatchAdd adds a value.
	JSONPatchAdd JSONPatchOperator = "add"
	// JSONPatchRemove removes a value.
	JSONPatchRemove JSONPatchOperator = "remove"
	// JSONPatchReplace replaces a value.
	JSONPatchReplace JSONPatchOperator = "replace"
)

// JSONPatchOverride is one JSON patch operation.
//
// +kubebuilder:validation:XValidation:rule="self.path.startsWith('/') && self.path != '/'",message="jsonPatchOverrides[].path must be a JSON pointer to a field inside the object, such as /spec/replicas"
// +kubebuilder:validation:XValidation:rule="!self.path.matches('^/(kind|apiVersion|status)(/.*)?$') && !self.path.matches('^/metadata(/(name|namespace)(/.*)?)?$')",message="jsonPatchOverrides[].path may not change kind, apiVersion, metadata, metadata.name, metadata.namespace or status; patch a field under metadata (such as /metadata/labels) or spec instead"
type JSONPatchOverride struct {
	// Operator is add, remove or replace.
	// +required
	Operator JSONPatchOperator `json:"op"`

	// Path is a JSON pointer to the field. The override fails on a member where the path
	// does not exist (except for add's last step).
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Path string `json:"path"`

	// Value is the value for add and replace; remove ignores it.
	// +optional
	Value apiextensionsv1.JSON `json:"value,omitempty"`
}

// NamespacedName names a namespaced object.
type NamespacedName struct {
	// Name is the object's name.
	// +required
	Name string `json:"name"`
	// Namespace is the object's namespace.
	// +required
	Namespace string `json:"namespace"`
}

// ClusterResourceOverrideList is a list of ClusterResourceOverrides.
//
// +kubebuilder:object:root=true
type ClusterResourceOverrideList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterResourceOverride `json:"items"`
}

// ResourceOverrideList is a list of ResourceOverrides.
//
// +kubebuilder:object:root=true
type ResourceOverrideList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ResourceOverride `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterResourceOverride{}, &ClusterResourceOverrideList{}, &ResourceOverride{}, &ResourceOverrideList{})
}
