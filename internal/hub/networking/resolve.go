package networking

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
)

// Resolution is the fleet-wide import of one service, resolved from its exports with the
// rules of KEP-1645.
type Resolution struct {
	// Import is the resolved import, without the load balancer holder.
	Import networkingv1alpha1.InternalServiceImportSpec
	// Conflicts has, for each cluster whose export is part of a conflict, the conflict
	// reasons (mcs-api constants) and a message. Clusters not in it have no conflict.
	Conflicts map[string]Conflict
	// Excluded are the clusters whose export lost a conflict other than a port conflict:
	// their endpoints are not part of the import.
	Excluded map[string]bool
}

// Conflict is one export's part in conflicts.
type Conflict struct {
	Reasons []mcsv1beta1.ServiceExportConditionReason
	Message string
}

// Reason joins the reasons with commas, as mcs-api allows for several conflicts.
func (c Conflict) Reason() string {
	s := make([]string, len(c.Reasons))
	for i, r := range c.Reasons {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// Resolve resolves the exports of one service. Every property comes from the oldest
// export (the earliest exportCreationTimestamp; the cluster name breaks ties). Ports are
// the union over all exports; a port that clashes with one already in the union (same name
// with another number or protocol, the same number and protocol under another name, or an
// unnamed port next to others) is a PortConflict for the later export, which then serves
// only its other ports. Any other difference from the oldest export is a conflict that
// keeps the later export's endpoints out. The conflict goes on the later export and on the
// oldest one.
func Resolve(exports []networkingv1alpha1.InternalServiceExportSpec) Resolution {
	sorted := append([]networkingv1alpha1.InternalServiceExportSpec(nil), exports...)
	sort.SliceStable(sorted, func(i, j int) bool {
		ti, tj := sorted[i].ExportCreationTimestamp.Time, sorted[j].ExportCreationTimestamp.Time
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return sorted[i].Cluster < sorted[j].Cluster
	})
	res := Resolution{Conflicts: map[string]Conflict{}, Excluded: map[string]bool{}}
	if len(sorted) == 0 {
		return res
	}
	oldest := sorted[0]
	res.Import = networkingv1alpha1.InternalServiceImportSpec{
		ServiceNamespace:      oldest.ServiceNamespace,
		ServiceName:           oldest.ServiceName,
		Type:                  oldest.Type,
		SessionAffinity:       oldest.SessionAffinity,
		SessionAffinityConfig: oldest.SessionAffinityConfig,
		IPFamilies:            oldest.IPFamilies,
		InternalTrafficPolicy: oldest.InternalTrafficPolicy,
		TrafficDistribution:   oldest.TrafficDistribution,
		Labels:                oldest.ExportedLabels,
		Annotations:           oldest.ExportedAnnotations,
	}

	var union []mcsv1beta1.ServicePort
	served := map[string]map[string]bool{} // cluster -> port names it serves
	oldestReasons := map[mcsv1beta1.ServiceExportConditionReason][]string{}
	for i, e := range sorted {
		var reasons []mcsv1beta1.ServiceExportConditionReason
		var details []string
		if i > 0 {
			for _, d := range propertyDiffs(oldest, e) {
				reasons = append(reasons, d.reason)
				details = append(details, d.detail)
			}
		}
		served[e.Cluster] = map[string]bool{}
		var clashes []string
		for _, p := range e.Ports {
			if why := clash(union, p); why != "" {
				clashes = append(clashes, why)
				continue
			}
			if !hasPort(union, p) {
				union = append(union, p)
			}
			served[e.Cluster][p.Name] = true
		}
		if len(clashes) > 0 {
			reasons = append([]mcsv1beta1.ServiceExportConditionReason{mcsv1beta1.ServiceExportReasonPortConflict}, reasons...)
			details = append([]string{"ports " + strings.Join(clashes, "; ")}, details...)
		}
		if len(reasons) == 0 {
			continue
		}
		res.Conflicts[e.Cluster] = Conflict{
			Reasons: reasons,
			Message: fmt.Sprintf("this export conflicts with the oldest export, from cluster %s, whose values the import takes: %s",
				oldest.Cluster, strings.Join(details, "; ")),
		}
		for _, r := range reasons {
			oldestReasons[r] = append(oldestReasons[r], e.Cluster)
			if r != mcsv1beta1.ServiceExportReasonPortConflict {
				res.Excluded[e.Cluster] = true
			}
		}
	}
	if len(oldestReasons) > 0 {
		c := Conflict{}
		var details []string
		for _, r := range reasonOrder {
			if clusters := oldestReasons[r]; len(clusters) > 0 {
				c.Reasons = append(c.Reasons, r)
				details = append(details, fmt.Sprintf("%s with %s", r, strings.Join(clusters, ", ")))
			}
		}
		c.Message = "this is the oldest export, whose values the import takes; later exports conflict with it: " + strings.Join(details, "; ")
		res.Conflicts[oldest.Cluster] = c
	}
	res.Import.Ports = union

	for _, e := range sorted {
		if res.Excluded[e.Cluster] {
			continue
		}
		res.Import.Clusters = append(res.Import.Clusters, e.Cluster)
		if e.Weight == 0 {
			continue
		}
		ce := networkingv1alpha1.ClusterEndpoints{Cluster: e.Cluster, Weight: e.Weight}
		for _, s := range e.EndpointSlices {
			if s2, ok := servedSlice(s, served[e.Cluster]); ok {
				ce.EndpointSlices = append(ce.EndpointSlices, s2)
			}
		}
		res.Import.Endpoints = append(res.Import.Endpoints, ce)
	}
	sort.Strings(res.Import.Clusters)
	sort.Slice(res.Import.Endpoints, func(i, j int) bool { return res.Import.Endpoints[i].Cluster < res.Import.Endpoints[j].Cluster })
	return res
}

// reasonOrder is the order in which the oldest export lists reasons.
var reasonOrder = []mcsv1beta1.ServiceExportConditionReason{
	mcsv1beta1.ServiceExportReasonPortConflict,
	mcsv1beta1.ServiceExportReasonTypeConflict,
	mcsv1beta1.ServiceExportReasonSessionAffinityConflict,
	mcsv1beta1.ServiceExportReasonSessionAffinityConfigConflict,
	mcsv1beta1.ServiceExportReasonInternalTrafficPolicyConflict,
	mcsv1beta1.ServiceExportReasonTrafficDistributionConflict,
	mcsv1beta1.ServiceExportReasonLabelsConflict,
	mcsv1beta1.ServiceExportReasonAnnotationsConflict,
}

type diff struct {
	reason mcsv1beta1.ServiceExportConditionReason
	detail string
}

// propertyDiffs lists how e differs from the oldest export, ports aside.
func propertyDiffs(oldest, e networkingv1alpha1.InternalServiceExportSpec) []diff {
	var out []diff
	if oldest.Type != e.Type {
		out = append(out, diff{mcsv1beta1.ServiceExportReasonTypeConflict, fmt.Sprintf("type %s, not %s", e.Type, oldest.Type)})
	}
	if affinity(oldest.SessionAffinity) != affinity(e.SessionAffinity) {
		out = append(out, diff{mcsv1beta1.ServiceExportReasonSessionAffinityConflict,
			fmt.Sprintf("sessionAffinity %s, not %s", affinity(e.SessionAffinity), affinity(oldest.SessionAffinity))})
	} else if !equality.Semantic.DeepEqual(oldest.SessionAffinityConfig, e.SessionAffinityConfig) {
		out = append(out, diff{mcsv1beta1.ServiceExportReasonSessionAffinityConfigConflict, "a different sessionAffinityConfig"})
	}
	if itp(oldest.InternalTrafficPolicy) != itp(e.InternalTrafficPolicy) {
		out = append(out, diff{mcsv1beta1.ServiceExportReasonInternalTrafficPolicyConflict,
			fmt.Sprintf("internalTrafficPolicy %s, not %s", itp(e.InternalTrafficPolicy), itp(oldest.InternalTrafficPolicy))})
	}
	if str(oldest.TrafficDistribution) != str(e.TrafficDistribution) {
		out = append(out, diff{mcsv1beta1.ServiceExportReasonTrafficDistributionConflict,
			fmt.Sprintf("trafficDistribution %q, not %q", str(e.TrafficDistribution), str(oldest.TrafficDistribution))})
	}
	if !sameMap(oldest.ExportedLabels, e.ExportedLabels) {
		out = append(out, diff{mcsv1beta1.ServiceExportReasonLabelsConflict, "different exportedLabels"})
	}
	if !sameMap(oldest.ExportedAnnotations, e.ExportedAnnotations) {
		out = append(out, diff{mcsv1beta1.ServiceExportReasonAnnotationsConflict, "different exportedAnnotations"})
	}
	return out
}

// clash says why port p cannot join the union, or "" if it can.
func clash(union []mcsv1beta1.ServicePort, p mcsv1beta1.ServicePort) string {
	for _, u := range union {
		switch {
		case u.Name == p.Name && (u.Port != p.Port || protocol(u) != protocol(p)):
			return fmt.Sprintf("%q is %d/%s, not %d/%s", p.Name, u.Port, protocol(u), p.Port, protocol(p))
		case u.Name != p.Name && u.Port == p.Port && protocol(u) == protocol(p):
			return fmt.Sprintf("%d/%s is named %q, not %q", p.Port, protocol(p), u.Name, p.Name)
		case u.Name != p.Name && (u.Name == "" || p.Name == ""):
			return fmt.Sprintf("unnamed port and port %q cannot be combined: name every port", nonEmpty(u.Name, p.Name))
		}
	}
	return ""
}

func hasPort(union []mcsv1beta1.ServicePort, p mcsv1beta1.ServicePort) bool {
	for _, u := range union {
		if u.Name == p.Name {
			return true
		}
	}
	return false
}

// servedSlice keeps of a slice only the ports its cluster serves. A slice whose ports are
// all conflicting is dropped; a slice without ports (headless) is kept.
func servedSlice(s networkingv1alpha1.ExportedEndpointSlice, served map[string]bool) (networkingv1alpha1.ExportedEndpointSlice, bool) {
	if len(s.Ports) == 0 {
		return s, true
	}
	out := s
	out.Ports = nil
	for _, p := range s.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if served[name] {
			out.Ports = append(out.Ports, p)
		}
	}
	return out, len(out.Ports) > 0
}

func protocol(p mcsv1beta1.ServicePort) corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return p.Protocol
}

func affinity(a corev1.ServiceAffinity) corev1.ServiceAffinity {
	if a == "" {
		return corev1.ServiceAffinityNone
	}
	return a
}

func itp(p *corev1.ServiceInternalTrafficPolicy) corev1.ServiceInternalTrafficPolicy {
	if p == nil {
		return corev1.ServiceInternalTrafficPolicyCluster
	}
	return *p
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
