package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"
)

// InternalServiceExport is one member's export of one Service, in the member's hub
// namespace fleet-member-<name>, named <namespace>.<name> of the Service. The member agent
// writes its spec from the ServiceExport, the Service and its ready endpoints; the hub writes
// its status (Conflict and Ready), which the agent copies back onto the ServiceExport.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=isvcexport,categories={fleet,fleet-networking}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.spec.cluster`
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.spec.serviceNamespace`
// +kubebuilder:printcolumn:name="Service",type=string,JSONPath=`.spec.serviceName`
// +kubebuilder:printcolumn:name="Conflict",type=string,JSONPath=`.status.conditions[?(@.type=="Conflict")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type InternalServiceExport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec   InternalServiceExportSpec   `json:"spec"`
	Status InternalServiceExportStatus `json:"status,omitempty"`
}

// InternalServiceExportSpec is what one cluster exports of a Service.
type InternalServiceExportSpec struct {
	// Cluster is the exporting member's name.
	// +required
	Cluster string `json:"cluster"`
	// ServiceNamespace and ServiceName name the exported Service.
	// +required
	ServiceNamespace string `json:"serviceNamespace"`
	// +required
	ServiceName string `json:"serviceName"`

	// Type is ClusterSetIP for a ClusterIP Service and Headless for a headless one.
	// +kubebuilder:validation:Enum=ClusterSetIP;Headless
	// +required
	Type mcsv1beta1.ServiceImportType `json:"type"`
	// Ports are the Service's ports.
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
	// ExportedLabels and ExportedAnnotations come from the ServiceExport's spec.
	// +optional
	ExportedLabels map[string]string `json:"exportedLabels,omitempty"`
	// +optional
	ExportedAnnotations map[string]string `json:"exportedAnnotations,omitempty"`

	// Weight is the cluster's share of the traffic, from the annotation
	// networking.fleet.azure.com/weight (default 1). Zero withdraws its endpoints.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +required
	Weight int32 `json:"weight"`
	// ExportCreationTimestamp is when the ServiceExport was created; the oldest export
	// decides the import's properties.
	// +required
	ExportCreationTimestamp metav1.Time `json:"exportCreationTimestamp"`

	// EndpointSlices are the ready endpoints of the Service, one entry per source slice.
	// +listType=atomic
	// +optional
	EndpointSlices []ExportedEndpointSlice `json:"endpointSlices,omitempty"`
}

// ExportedEndpointSlice is the ready part of one EndpointSlice.
type ExportedEndpointSlice struct {
	// AddressType is IPv4, IPv6 or FQDN.
	// +required
	AddressType discoveryv1.AddressType `json:"addressType"`
	// Ports are the slice's ports.
	// +listType=atomic
	// +optional
	Ports []discoveryv1.EndpointPort `json:"ports,omitempty"`
	// Endpoints are the slice's ready endpoints.
	// +listType=atomic
	// +optional
	Endpoints []ExportedEndpoint `json:"endpoints,omitempty"`
}

// ExportedEndpoint is one ready endpoint.
type ExportedEndpoint struct {
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +required
	Addresses []string `json:"addresses"`
	// +optional
	Hostname *string `json:"hostname,omitempty"`
}

// InternalServiceExportStatus is the hub's verdict on the export.
type InternalServiceExportStatus struct {
	// Conditions are Conflict and Ready, with the mcs-api reasons.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// InternalServiceExportList is a list of InternalServiceExports.
//
// +kubebuilder:object:root=true
type InternalServiceExportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []InternalServiceExport `json:"items"`
}

func init() {
	SchemeBuilder.Register(&InternalServiceExport{}, &InternalServiceExportList{})
}
