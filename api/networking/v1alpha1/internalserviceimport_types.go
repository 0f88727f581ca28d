package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"
)

// InternalServiceImport is the fleet-wide import of one exported service, as the hub
// resolved it, handed to one member: it lives in that member's hub namespace
// fleet-member-<name>, named <namespace>.<name> of the service. The hub writes its spec;
// the member agent writes its status (the clusterset IP it got, its MultiClusterService
// claim and load balancer).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=isvcimport,categories={fleet,fleet-networking}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.spec.serviceNamespace`
// +kubebuilder:printcolumn:name="Service",type=string,JSONPath=`.spec.serviceName`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="IP",type=string,JSONPath=`.status.ips[0]`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type InternalServiceImport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   InternalServiceImportSpec   `json:"spec"`
	Status InternalServiceImportStatus `json:"status,omitempty"`
}

// InternalServiceImportSpec is the resolved import.
type InternalServiceImportSpec struct {
	// ServiceNamespace and ServiceName name the service.
	// +required
	ServiceNamespace string `json:"serviceNamespace"`
	// +required
	ServiceName string `json:"serviceName"`

	// +kubebuilder:validation:Enum=ClusterSetIP;Headless
	// +required
	Type mcsv1beta1.ServiceImportType `json:"type"`
	// Ports are the union of the exports' ports.
	// +listType=atomic
	// +optional
	Ports []mcsv1beta1.ServicePort `json:"ports,omitempty"`
	// +optional
	SessionAffinity corev1.ServiceAffinity `json:"sessionAffinity,omitempty"`
	// +optional
	SessionAffinityConfig *corev1.SessionAffinityConfig `json:"sessionAffinityConfig,omitempty"`
	// +optional
	IPFamilies []corev1.IPFamily `json:"ipFamilies,omitempty"`
	// +optional
	InternalTrafficPolicy *corev1.ServiceInternalTrafficPolicy `json:"internalTrafficPolicy,omitempty"`
	// +optional
	TrafficDistribution *string `json:"trafficDistribution,omitempty"`
	// Labels and Annotations are the winning export's exportedLabels and exportedAnnotations.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// Clusters are the exporting clusters whose export is part of the import.
	// +listType=atomic
	// +optional
	Clusters []string `json:"clusters,omitempty"`
	// Endpoints are the endpoint sets of the clusters, limited to the ports each serves.
	// +listType=atomic
	// +optional
	Endpoints []ClusterEndpoints `json:"endpoints,omitempty"`

	// LoadBalancer names the MultiClusterService that holds this import in the fleet, if any.
	// +optional
	LoadBalancer *MultiClusterServiceHolder `json:"loadBalancer,omitempty"`
}

// ClusterEndpoints are one source cluster's endpoints of the import.
type ClusterEndpoints struct {
	// +required
	Cluster string `json:"cluster"`
	// Weight is the cluster's weight, 1 to 1000.
	// +required
	Weight int32 `json:"weight"`
	// +listType=atomic
	// +optional
	EndpointSlices []ExportedEndpointSlice `json:"endpointSlices,omitempty"`
}

// MultiClusterServiceHolder names a MultiClusterService in the fleet.
type MultiClusterServiceHolder struct {
	// Cluster is the member where the MultiClusterService is.
	// +required
	Cluster string `json:"cluster"`
	// Name is the MultiClusterService's name, in the service's namespace.
	// +required
	Name string `json:"name"`
}

// InternalServiceImportStatus is what the member made of the import.
type InternalServiceImportStatus struct {
	// IPs are the clusterset IPs of the import on this member (none for Headless).
	// +listType=atomic
	// +optional
	IPs []string `json:"ips,omitempty"`
	// MultiClusterService is this member's claim on the import: the oldest
	// MultiClusterService in the namespace that names it.
	// +optional
	MultiClusterService *MultiClusterServiceClaim `json:"multiClusterService,omitempty"`
	// LoadBalancer is the load balancer status of the derived Service, while this member's
	// MultiClusterService holds the import.
	// +optional
	LoadBalancer corev1.LoadBalancerStatus `json:"loadBalancer,omitempty"`
	// Conditions has Ready: whether the ServiceImport, derived Service and EndpointSlices
	// are in place on the member.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// MultiClusterServiceClaim is a member's claim on an import for a MultiClusterService.
type MultiClusterServiceClaim struct {
	// +required
	Name string `json:"name"`
	// Since is the MultiClusterService's creation time; the oldest claim wins.
	// +required
	Since metav1.Time `json:"since"`
}

// InternalServiceImportList is a list of InternalServiceImports.
//
// +kubebuilder:object:root=true
type InternalServiceImportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []InternalServiceImport `json:"items"`
}

func init() {
	SchemeBuilder.Register(&InternalServiceImport{}, &InternalServiceImportList{})
}
