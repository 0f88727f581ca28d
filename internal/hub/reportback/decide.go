package reportback

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// wantsOriginal says whether a Work asks for its objects' status on the hub's originals.
func wantsOriginal(w *placementv1beta1.Work) bool {
	s := w.Spec.ReportBackStrategy
	return s != nil && s.Type == placementv1beta1.ReportBackMirror && s.Destination != nil &&
		*s.Destination == placementv1beta1.ReportBackOriginalResource
}

// picksOne says whether a placement policy places on exactly one member. Only then is a
// member's status the hub object's status: with more, the members' statuses would
// overwrite each other.
func picksOne(p *placementv1beta1.PlacementPolicy) bool {
	if p == nil {
		return false
	}
	switch p.PlacementType {
	case placementv1beta1.PickFixedPlacementType:
		return len(p.ClusterNames) == 1
	case placementv1beta1.PickNPlacementType:
		return p.NumberOfClusters != nil && *p.NumberOfClusters == 1
	}
	return false
}

// statusPatches are the status apply requests for the hub's originals of a Work's objects:
// one per object the member reported a non-empty status for. Objects placed from an
// envelope have no original of their own on the hub and are left out.
func statusPatches(w *placementv1beta1.Work) ([]*unstructured.Unstructured, error) {
	if w.Labels[placementv1beta1.EnvelopeTypeLabel] != "" {
		return nil, nil
	}
	var out []*unstructured.Unstructured
	for _, mc := range w.Status.ManifestConditions {
		if mc.BackReportedStatus == nil || len(mc.BackReportedStatus.ObservedStatus.Raw) == 0 {
			continue
		}
		var observed map[string]any
		if err := json.Unmarshal(mc.BackReportedStatus.ObservedStatus.Raw, &observed); err != nil {
			return nil, fmt.Errorf("the status reported for manifest %d: %w", mc.Identifier.Ordinal, err)
		}
		status, ok := observed["status"].(map[string]any)
		if !ok || len(status) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: map[string]any{"status": status}}
		u.SetAPIVersion(schema.GroupVersion{Group: mc.Identifier.Group, Version: mc.Identifier.Version}.String())
		u.SetKind(mc.Identifier.Kind)
		u.SetName(mc.Identifier.Name)
		u.SetNamespace(mc.Identifier.Namespace)
		out = append(out, u)
	}
	return out, nil
}
