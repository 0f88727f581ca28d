package serviceexport

import (
	"fmt"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
)

// ParseWeight reads the weight annotation: an integer from 0 to 1000, 1 when absent.
func ParseWeight(annotations map[string]string) (int32, error) {
	v, ok := annotations[networkingv1alpha1.WeightAnnotation]
	if !ok {
		return networkingv1alpha1.DefaultWeight, nil
	}
	w, err := strconv.Atoi(v)
	if err != nil || w < 0 || w > networkingv1alpha1.MaxWeight {
		return 0, fmt.Errorf("annotation %s is %q: it must be an integer from 0 to %d (0 withdraws this cluster's endpoints); "+
			"the earlier export, if any, is kept until it is fixed", networkingv1alpha1.WeightAnnotation, v, networkingv1alpha1.MaxWeight)
	}
	return int32(w), nil
}

// BuildExport describes what member exports of svc: its properties from the Service and the
// ServiceExport, and the ready endpoints of its slices (none with weight 0).
func BuildExport(member string, se *mcsv1beta1.ServiceExport, svc *corev1.Service, slices []discoveryv1.EndpointSlice, weight int32) networkingv1alpha1.InternalServiceExportSpec {
	spec := networkingv1alpha1.InternalServiceExportSpec{
		Cluster:                 member,
		ServiceNamespace:        svc.Namespace,
		ServiceName:             svc.Name,
		Type:                    mcsv1beta1.ClusterSetIP,
		SessionAffinity:         svc.Spec.SessionAffinity,
		SessionAffinityConfig:   svc.Spec.SessionAffinityConfig,
		IPFamilies:              svc.Spec.IPFamilies,
		InternalTrafficPolicy:   svc.Spec.InternalTrafficPolicy,
		TrafficDistribution:     svc.Spec.TrafficDistribution,
		ExportedLabels:          se.Spec.ExportedLabels,
		ExportedAnnotations:     se.Spec.ExportedAnnotations,
		Weight:                  weight,
		ExportCreationTimestamp: se.CreationTimestamp,
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		spec.Type = mcsv1beta1.Headless
	}
	if spec.SessionAffinity == corev1.ServiceAffinityNone {
		// None is the default; leaving it empty makes "unset" and "None" agree.
		spec.SessionAffinity = ""
		spec.SessionAffinityConfig = nil
	}
	for _, p := range svc.Spec.Ports {
		spec.Ports = append(spec.Ports, mcsv1beta1.ServicePort{Name: p.Name, Protocol: p.Protocol, AppProtocol: p.AppProtocol, Port: p.Port})
	}
	if weight == 0 {
		return spec
	}
	// Sort the slices so the export only changes when the endpoints do.
	sorted := append([]discoveryv1.EndpointSlice(nil), slices...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, s := range sorted {
		if s.Labels[discoveryv1.LabelManagedBy] == networkingv1alpha1.ManagedBy || s.DeletionTimestamp != nil {
			continue
		}
		out := networkingv1alpha1.ExportedEndpointSlice{AddressType: s.AddressType, Ports: s.Ports}
		for _, ep := range s.Endpoints {
			if !Ready(ep) || len(ep.Addresses) == 0 {
				continue
			}
			out.Endpoints = append(out.Endpoints, networkingv1alpha1.ExportedEndpoint{Addresses: ep.Addresses, Hostname: ep.Hostname})
		}
		if len(out.Endpoints) > 0 {
			spec.EndpointSlices = append(spec.EndpointSlices, out)
		}
	}
	return spec
}

// Ready says whether an endpoint may receive traffic: the API says an unset ready
// condition means ready, and a terminating endpoint is not.
func Ready(ep discoveryv1.Endpoint) bool {
	if ep.Conditions.Terminating != nil && *ep.Conditions.Terminating {
		return false
	}
	return ep.Conditions.Ready == nil || *ep.Conditions.Ready
}
