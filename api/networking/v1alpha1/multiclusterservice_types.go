package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MultiClusterService serves an imported service through one L4 load balancer on this
// member (north-south). It turns the member's derived Service of the import into type
// LoadBalancer, whose endpoints are those of every exporting, non-conflicting cluster.
// Only one MultiClusterService in the fleet holds a given import at a time.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=mcs,categories={fleet,fleet-networking}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Service-Import",type=string,JSONPath=`.spec.serviceImport.name`
// +kubebuilder:printcolumn:name="External-IP",type=string,JSONPath=`.status.loadBalancer.ingress[0].ip`
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=="Valid")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MultiClusterService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   MultiClusterServiceSpec   `json:"spec"`
	Status MultiClusterServiceStatus `json:"status,omitempty"`
}

// MultiClusterServiceSpec names the import to serve.
type MultiClusterServiceSpec struct {
	// ServiceImport is the ServiceImport, in this namespace, to serve.
	// +required
	ServiceImport ServiceImportRef `json:"serviceImport"`
}

// ServiceImportRef names a ServiceImport in the same namespace.
type ServiceImportRef struct {
	// Name is the ServiceImport's name, which is the exported Service's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name"`
}

// MultiClusterServiceStatus reports the load balancer.
type MultiClusterServiceStatus struct {
	// LoadBalancer is the load balancer's status, copied from the derived Service.
	// +optional
	LoadBalancer corev1.LoadBalancerStatus `json:"loadBalancer,omitempty"`

	// Conditions has Valid: True with FoundServiceImport while this MultiClusterService
	// holds its import; Unknown with UnknownServiceImport while the import is missing or
	// another MultiClusterService in the fleet holds it.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Condition type and reasons of MultiClusterService, as KubeFleet spells them.
const (
	MultiClusterServiceConditionValid = "Valid"
	ReasonFoundServiceImport          = "FoundServiceImport"
	ReasonUnknownServiceImport        = "UnknownServiceImport"
)

// MultiClusterServiceList is a list of MultiClusterServices.
//
// +kubebuilder:object:root=true
type MultiClusterServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MultiClusterService `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MultiClusterService{}, &MultiClusterServiceList{})
}
