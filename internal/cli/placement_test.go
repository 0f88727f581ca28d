package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

func cond(t string, s metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg}
}

func samplePlacement() placementv1beta1.ClusterResourcePlacement {
	created := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	return placementv1beta1.ClusterResourcePlacement{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", CreationTimestamp: metav1.NewTime(created)},
		Spec: placementv1beta1.ClusterResourcePlacementSpec{Policy: &placementv1beta1.PlacementPolicy{
			PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To(int32(3))}},
		Status: placementv1beta1.PlacementStatus{
			ObservedResourceIndex: "2",
			SelectedResources:     []placementv1beta1.ResourceIdentifier{{Version: "v1", Kind: "Namespace", Name: "shop"}},
			Conditions: []metav1.Condition{
				cond("ClusterResourcePlacementScheduled", metav1.ConditionFalse, "SchedulingPolicyUnfulfilled", "wants 3, only 2 fit"),
				cond("ClusterResourcePlacementApplied", metav1.ConditionFalse, "ApplyFailed", "1 of 2 failed"),
			},
			PlacementStatuses: []placementv1beta1.ResourcePlacementStatus{
				{ClusterName: "member-1", ObservedResourceIndex: "2", Conditions: []metav1.Condition{
					cond("Scheduled", metav1.ConditionTrue, "Scheduled", "picked"),
					cond("Applied", metav1.ConditionTrue, "ApplySucceeded", ""),
					cond("Available", metav1.ConditionTrue, "ResourceAvailable", ""),
				}},
				{ClusterName: "member-2", ObservedResourceIndex: "2", Conditions: []metav1.Condition{
					cond("Scheduled", metav1.ConditionTrue, "Scheduled", "picked"),
					cond("Applied", metav1.ConditionFalse, "ApplyFailed", "the ConfigMap is owned by someone else"),
				}, FailedPlacements: []placementv1beta1.FailedResourcePlacement{{
					ResourceIdentifier: placementv1beta1.ResourceIdentifier{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings"},
					Condition:          cond("Applied", metav1.ConditionFalse, "ApplyConflictWithOtherApplier", "not owned by Flotilla"),
				}}},
				{Conditions: []metav1.Condition{cond("Scheduled", metav1.ConditionFalse, "ScheduleFailed", "only 2 clusters fit")}},
			},
		},
	}
}

func TestPlacementListRows(t *testing.T) {
	p := samplePlacement()
	all := placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: "all", CreationTimestamp: p.CreationTimestamp}}
	var out bytes.Buffer
	if err := printPlacements(&out, placementRows([]placementv1beta1.ClusterResourcePlacement{p, all}), "table",
		p.CreationTimestamp.Add(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"NAME   POLICY   CLUSTERS   APPLIED   AVAILABLE   AGE",
		"all    PickAll  0/all      0         0           90m",
		"shop   PickN    2/3        1         1           90m",
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i := range want {
		if strings.Join(strings.Fields(got[i]), " ") != strings.Join(strings.Fields(want[i]), " ") {
			t.Errorf("line %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

func TestPlacementStatusTree(t *testing.T) {
	p := samplePlacement()
	var out bytes.Buffer
	if err := printPlacementTree(&out, &p); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"shop  policy PickN (wants 3)  resource index 2  1 resource(s) selected",
		"├─ Scheduled         False   SchedulingPolicyUnfulfilled: wants 3, only 2 fit",
		"├─ cluster member-2  (resource index 2)",
		"│  ├─ Applied           False   ApplyFailed: the ConfigMap is owned by someone else",
		"│  └─ failed  ConfigMap shop/settings: Applied False (ApplyConflictWithOtherApplier): not owned by Flotilla",
		"└─ cluster <no cluster>",
		"   └─ Scheduled         False   ScheduleFailed: only 2 clusters fit",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
}

func TestPlacementStatusNeedsOneName(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"placement", "status"}, &out, &errOut); code != 2 {
		t.Fatalf("exit code %d, want 2 (usage)", code)
	}
	if !strings.Contains(errOut.String(), "placement status takes one NAME") {
		t.Errorf("stderr: %s", errOut.String())
	}
	errOut.Reset()
	if code := Main([]string{"placement", "list", "-o", "xml"}, &out, &errOut); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "-o must be table, json or yaml") {
		t.Errorf("stderr: %s", errOut.String())
	}
}
