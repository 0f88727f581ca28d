package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ClusterResourceEnvelope wraps cluster-scoped objects (a ClusterRole, a webhook
// configuration) so that the hub only stores them: a placement that selects the envelope
// places the objects in its data on the members, not the envelope.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,categories={fleet,fleet-placement}
type ClusterResourceEnvelope struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Data holds the wrapped objects, each under a key of its own (a file name, say).
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=50
	// +required
	Data map[string]EnvelopedObject `json:"data"`
}

// ResourceEnvelope wraps namespaced objects of its namespace (a Deployment whose admission
// webhooks would act on the hub, a ResourceQuota), placed on the members instead of the
// envelope.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,categories={fleet,fleet-placement}
type ResourceEnvelope struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Data holds the wrapped objects, each under a key of its own (a file name, say).
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=50
	// +required
	Data map[string]EnvelopedObject `json:"data"`
}

// EnvelopedObject is one whole Kubernetes object in an envelope.
//
// +kubebuilder:pruning:PreserveUnknownFields
// +kubebuilder:validation:Type=object
type EnvelopedObject struct {
	runtime.RawExtension `json:"-,inline"` //nolint:staticcheck // the embedded RawExtension is the whole object; its own MarshalJSON writes it
}

// EnvelopeType is the kind of an envelope.
// +kubebuilder:validation:Enum=ConfigMap;ClusterResourceEnvelope;ResourceEnvelope
type EnvelopeType string

const (
	// ConfigMapEnvelopeType is KubeFleet's older envelope, a ConfigMap; Flotilla reports it
	// but does not unwrap it.
	ConfigMapEnvelopeType EnvelopeType = "ConfigMap"
	// ClusterResourceEnvelopeType is a ClusterResourceEnvelope.
	ClusterResourceEnvelopeType EnvelopeType = "ClusterResourceEnvelope"
	// ResourceEnvelopeType is a ResourceEnvelope.
	ResourceEnvelopeType EnvelopeType = "ResourceEnvelope"
)

// EnvelopeIdentifier names the envelope an object came in.
type EnvelopeIdentifier struct {
	// Name is the envelope's name.
	// +required
	Name string `json:"name"`
	// Namespace is the envelope's namespace; empty for a ClusterResourceEnvelope.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Type is the envelope's kind.
	// +kubebuilder:default=ConfigMap
	// +optional
	Type EnvelopeType `json:"type,omitempty"`
}

// ClusterResourceEnvelopeList is a list of ClusterResourceEnvelopes.
//
// +kubebuilder:object:root=true
type ClusterResourceEnvelopeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterResourceEnvelope `json:"items"`
}

// ResourceEnvelopeList is a list of ResourceEnvelopes.
//
// +kubebuilder:object:root=true
type ResourceEnvelopeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ResourceEnvelope `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ClusterResourceEnvelope{}, &ClusterResourceEnvelopeList{}, &ResourceEnvelope{}, &ResourceEnvelopeList{})
}
