package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// AppliedWork is the member-side anchor of a Work: it is named like the Work, and every
// object the work applier places carries an ownerReference to it. Deleting it lets the
// member's garbage collector remove what Flotilla placed.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories={fleet,fleet-placement}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Work-Namespace",type=string,JSONPath=`.spec.workNamespace`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AppliedWork struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec AppliedWorkSpec `json:"spec"`
	// +optional
	Status AppliedWorkStatus `json:"status,omitempty"`
}

// AppliedWorkSpec names the Work on the hub.
type AppliedWorkSpec struct {
	// WorkName is the name of the Work.
	// +required
	WorkName string `json:"workName"`
	// WorkNamespace is the hub namespace of the Work, fleet-member-<name>.
	// +required
	WorkNamespace string `json:"workNamespace"`
}

// AppliedWorkStatus lists what the work applier placed.
type AppliedWorkStatus struct {
	// AppliedResources are the objects that carry an ownerReference to this AppliedWork.
	// +optional
	AppliedResources []AppliedResourceMeta `json:"appliedResources,omitempty"`
}

// AppliedResourceMeta identifies one placed object.
type AppliedResourceMeta struct {
	WorkResourceIdentifier `json:",inline"`
	// UID is the object's UID on the member.
	// +optional
	UID types.UID `json:"uid,omitempty"`
}

// AppliedWorkList is a list of AppliedWorks.
//
// +kubebuilder:object:root=true
type AppliedWorkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AppliedWork `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AppliedWork{}, &AppliedWorkList{})
}
