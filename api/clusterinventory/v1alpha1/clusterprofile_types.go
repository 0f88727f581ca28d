package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ClusterProfile represents one cluster of a multi-cluster deployment.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced
// +kubebuilder:subresource:status
type ClusterProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ClusterProfileSpec `json:"spec"`
	// +optional
	Status ClusterProfileStatus `json:"status,omitempty"`
}

// ClusterProfileSpec names the cluster and the manager that owns the profile.
type ClusterProfileSpec struct {
	// DisplayName is a human-readable name of the cluster.
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// ClusterManager is the cluster manager that owns this profile.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="ClusterManager is immutable"
	// +required
	ClusterManager ClusterManager `json:"clusterManager"`
}

// ClusterManager names a cluster manager.
type ClusterManager struct {
	// Name is the cluster manager's name.
	// +required
	Name string `json:"name"`
}

// ClusterProfileStatus is what the cluster manager knows about the cluster.
type ClusterProfileStatus struct {
	// Conditions are the cluster's conditions, such as ControlPlaneHealthy and Joined.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Version is the cluster's version.
	// +optional
	Version ClusterVersion `json:"version,omitempty"`

	// Properties are the cluster's properties: names and values.
	// +optional
	Properties []Property `json:"properties,omitempty"`

	// CredentialProviders is the older name of AccessProviders.
	//
	// Deprecated: use AccessProviders.
	// +optional
	CredentialProviders []AccessProvider `json:"credentialProviders,omitempty"`

	// AccessProviders say how to reach the cluster.
	// +optional
	AccessProviders []AccessProvider `json:"accessProviders,omitempty"`
}

// ClusterVersion is the version of a cluster.
type ClusterVersion struct {
	// Kubernetes is the cluster's Kubernetes version.
	// +optional
	Kubernetes string `json:"kubernetes,omitempty"`
}

// Property is one named property of a cluster.
type Property struct {
	// Name names the property.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Value is the property's value.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Value string `json:"value"`

	// LastObservedTime is when the property was observed on the cluster.
	// +optional
	LastObservedTime metav1.Time `json:"lastObservedTime,omitempty"`
}

// AccessProvider is one way to reach the cluster.
type AccessProvider struct {
	// +required
	Name string `json:"name"`
	// Cluster is how to talk to the cluster's API server, as in a kubeconfig.
	// +optional
	Cluster ClusterAccess `json:"cluster,omitempty"`
}

// ClusterAccess is a kubeconfig cluster entry.
type ClusterAccess struct {
	// Server is the API server's address (https://hostname:port).
	// +required
	Server string `json:"server"`
	// +optional
	TLSServerName string `json:"tls-server-name,omitempty"`
	// +optional
	InsecureSkipTLSVerify bool `json:"insecure-skip-tls-verify,omitempty"`
	// +optional
	CertificateAuthority string `json:"certificate-authority,omitempty"`
	// +optional
	CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
	// +optional
	ProxyURL string `json:"proxy-url,omitempty"`
	// +optional
	DisableCompression bool `json:"disable-compression,omitempty"`
	// +optional
	Extensions []NamedExtension `json:"extensions,omitempty"`
}

// NamedExtension is an extension of a kubeconfig entry, with its nickname.
type NamedExtension struct {
	// +required
	Name string `json:"name"`
	// +kubebuilder:pruning:PreserveUnknownFields
	// +required
	Extension runtime.RawExtension `json:"extension"`
}

// +kubebuilder:object:root=true

// ClusterProfileList is a list of ClusterProfiles.
type ClusterProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterProfile `json:"items"`
}

// Condition types of a ClusterProfile (KEP-4322), and the label that names its manager.
const (
	ConditionControlPlaneHealthy = "ControlPlaneHealthy"
	ConditionJoined              = "Joined"
	ClusterManagerLabel          = "x-k8s.io/cluster-manager"
)

func init() {
	SchemeBuilder.Register(&ClusterProfile{}, &ClusterProfileList{})
}
