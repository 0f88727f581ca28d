package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ClusterResourceSnapshot is an immutable copy of the resources a placement selected at one
// resource index. The first (master) snapshot of an index is named <crp>-<index>-snapshot and
// carries the hash and the number of snapshots; a selection over the object size limit
// continues in sub-indexed snapshots named <crp>-<index>-<subindex>.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=crs,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Gen",type=string,JSONPath=`.metadata.generation`
// +kubebuilder:printcolumn:name="Index",type=string,JSONPath=`.metadata.labels.kubernetes-fleet\.io/resource-index`
// +kubebuilder:printcolumn:name="Latest",type=string,JSONPath=`.metadata.labels.kubernetes-fleet\.io/is-latest-snapshot`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterResourceSnapshot struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   ResourceSnapshotSpec   `json:"spec"`
	Status ResourceSnapshotStatus `json:"status,omitempty"`
}

// ResourceSnapshotSpec holds the selected objects, cleaned of status and server-set fields.
// The hub never changes it after creation; a change makes a new snapshot.
type ResourceSnapshotSpec struct {
	// SelectedResources are the objects, in a stable order.
	// +required
	SelectedResources []ResourceContent `json:"selectedResources"`
}

// ResourceContent is one whole Kubernetes object.
//
// +kubebuilder:pruning:PreserveUnknownFields
// +kubebuilder:validation:EmbeddedResource
type ResourceContent struct {
	runtime.RawExtension `json:"-,inline"` //nolint:staticcheck // the embedded RawExtension is the whole object; its own MarshalJSON writes it
}

// ResourceSnapshotStatus is unused so far, kept for compatibility.
type ResourceSnapshotStatus struct {
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ClusterResourceSnapshotList is a list of ClusterResourceSnapshots.
//
// +kubebuilder:object:root=true
type ClusterResourceSnapshotList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterResourceSnapshot `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterResourceSnapshot{}, &ClusterResourceSnapshotList{})
}
