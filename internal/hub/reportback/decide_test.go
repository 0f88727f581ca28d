package reportback

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

func TestPicksOne(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy *placementv1beta1.PlacementPolicy
		want   bool
	}{
		{"no policy is PickAll", nil, false},
		{"PickAll", &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickAllPlacementType}, false},
		{"PickFixed one", &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickFixedPlacementType, ClusterNames: []string{"m1"}}, true},
		{"PickFixed two", &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickFixedPlacementType, ClusterNames: []string{"m1", "m2"}}, false},
		{"PickN 1", &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To[int32](1)}, true},
		{"PickN 2", &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To[int32](2)}, false},
	} {
		if got := picksOne(tc.policy); got != tc.want {
			t.Errorf("%s: picksOne = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestWantsOriginal(t *testing.T) {
	original, workAPI := placementv1beta1.ReportBackOriginalResource, placementv1beta1.ReportBackWorkAPI
	for _, tc := range []struct {
		name     string
		strategy *placementv1beta1.ReportBackStrategy
		want     bool
	}{
		{"none", nil, false},
		{"disabled", &placementv1beta1.ReportBackStrategy{Type: placementv1beta1.ReportBackDisabled, Destination: &original}, false},
		{"mirror to the Work", &placementv1beta1.ReportBackStrategy{Type: placementv1beta1.ReportBackMirror, Destination: &workAPI}, false},
		{"mirror to the original", &placementv1beta1.ReportBackStrategy{Type: placementv1beta1.ReportBackMirror, Destination: &original}, true},
	} {
		w := &placementv1beta1.Work{Spec: placementv1beta1.WorkSpec{ReportBackStrategy: tc.strategy}}
		if got := wantsOriginal(w); got != tc.want {
			t.Errorf("%s: wantsOriginal = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestStatusPatches(t *testing.T) {
	reported := func(raw string) *placementv1beta1.BackReportedStatus {
		return &placementv1beta1.BackReportedStatus{ObservedStatus: runtime.RawExtension{Raw: []byte(raw)}, ObservationTime: metav1.Now()}
	}
	work := &placementv1beta1.Work{Status: placementv1beta1.WorkStatus{ManifestConditions: []placementv1beta1.ManifestCondition{
		{Identifier: placementv1beta1.WorkResourceIdentifier{Ordinal: 0, Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
			BackReportedStatus: reported(`{"apiVersion":"apps/v1","kind":"Deployment","status":{"replicas":2,"readyReplicas":2}}`)},
		// A ConfigMap has no status: nothing to write.
		{Identifier: placementv1beta1.WorkResourceIdentifier{Ordinal: 1, Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "cfg"},
			BackReportedStatus: reported(`{"apiVersion":"v1","kind":"ConfigMap"}`)},
		// Not reported yet.
		{Identifier: placementv1beta1.WorkResourceIdentifier{Ordinal: 2, Version: "v1", Kind: "Service", Namespace: "shop", Name: "web"}},
		{Identifier: placementv1beta1.WorkResourceIdentifier{Ordinal: 3, Version: "v1", Kind: "Namespace", Name: "shop"},
			BackReportedStatus: reported(`{"apiVersion":"v1","kind":"Namespace","status":{"phase":"Active"}}`)},
	}}}
	patches, err := statusPatches(work)
	if err != nil {
		t.Fatal(err)
	}
	if len(patches) != 2 {
		t.Fatalf("statusPatches gave %d patches; want 2 (the Deployment and the Namespace)", len(patches))
	}
	d := patches[0]
	if d.GetAPIVersion() != "apps/v1" || d.GetKind() != "Deployment" || d.GetNamespace() != "shop" || d.GetName() != "web" {
		t.Fatalf("first patch is for %s %s %s/%s", d.GetAPIVersion(), d.GetKind(), d.GetNamespace(), d.GetName())
	}
	if got := d.Object["status"].(map[string]any)["readyReplicas"]; got != float64(2) {
		t.Fatalf("status.readyReplicas = %v; want 2", got)
	}
	if ns := patches[1]; ns.GetAPIVersion() != "v1" || ns.GetKind() != "Namespace" || ns.GetNamespace() != "" {
		t.Fatalf("second patch is for %s %s %q", ns.GetAPIVersion(), ns.GetKind(), ns.GetNamespace())
	}

	// An envelope's objects have no original on the hub.
	work.Labels = map[string]string{placementv1beta1.EnvelopeTypeLabel: "ResourceEnvelope"}
	if patches, _ := statusPatches(work); len(patches) != 0 {
		t.Fatalf("an envelope Work gave %d patches", len(patches))
	}

	// A status that is not JSON is an error that names the manifest.
	bad := &placementv1beta1.Work{Status: placementv1beta1.WorkStatus{ManifestConditions: []placementv1beta1.ManifestCondition{
		{Identifier: placementv1beta1.WorkResourceIdentifier{Ordinal: 4}, BackReportedStatus: reported(`{`)}}}}
	if _, err := statusPatches(bad); err == nil || !strings.Contains(err.Error(), "manifest 4") {
		t.Fatalf("statusPatches of bad JSON: %v", err)
	}
}
