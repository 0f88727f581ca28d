package clusterprofile

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	inventory "github.com/flotilla-dev/flotilla/api/clusterinventory/v1alpha1"
)

func TestWanted(t *testing.T) {
	joined := &clusterv1beta1.MemberCluster{Status: clusterv1beta1.MemberClusterStatus{Conditions: []metav1.Condition{
		{Type: clusterv1beta1.ConditionJoined, Status: metav1.ConditionTrue}}}}
	notYet := &clusterv1beta1.MemberCluster{}
	leaving := joined.DeepCopy()
	leaving.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	for _, tc := range []struct {
		name   string
		mc     *clusterv1beta1.MemberCluster
		exists bool
		want   bool
	}{
		{"joined", joined, false, true},
		{"not joined yet", notYet, false, false},
		{"joined once, now not: the profile stays and says so", notYet, true, true},
		{"deleted", leaving, true, false},
	} {
		if got := wanted(tc.mc, tc.exists); got != tc.want {
			t.Errorf("%s: wanted = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestStatus(t *testing.T) {
	observed := metav1.NewTime(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	mc := &clusterv1beta1.MemberCluster{Status: clusterv1beta1.MemberClusterStatus{
		Conditions: []metav1.Condition{
			{Type: clusterv1beta1.ConditionJoined, Status: metav1.ConditionTrue, Reason: "MemberClusterJoined", Message: "joined"},
			{Type: clusterv1beta1.ConditionHealthy, Status: metav1.ConditionFalse, Reason: "MemberClusterUnhealthy", Message: "readyz failed"},
		},
		Properties: map[clusterv1beta1.PropertyName]clusterv1beta1.PropertyValue{
			clusterv1beta1.PropertyKubernetesVersion: {Value: "v1.35.8", ObservationTime: observed},
			clusterv1beta1.PropertyNodeCount:         {Value: "3", ObservationTime: observed},
			"empty":                                  {Value: ""},
		},
	}}
	then := metav1.NewTime(observed.Add(-time.Hour))
	current := inventory.ClusterProfileStatus{Conditions: []metav1.Condition{
		{Type: inventory.ConditionJoined, Status: metav1.ConditionTrue, Reason: "MemberClusterJoined", Message: "joined", LastTransitionTime: then},
	}}
	got := status(mc, current)
	if got.Version.Kubernetes != "v1.35.8" {
		t.Errorf("version %q", got.Version.Kubernetes)
	}
	if len(got.Properties) != 2 || got.Properties[0].Name != string(clusterv1beta1.PropertyKubernetesVersion) ||
		got.Properties[1].Name != string(clusterv1beta1.PropertyNodeCount) || got.Properties[1].Value != "3" || !got.Properties[1].LastObservedTime.Equal(&observed) {
		t.Errorf("properties %+v; want the two with values, sorted by name", got.Properties)
	}
	healthy := meta.FindStatusCondition(got.Conditions, inventory.ConditionControlPlaneHealthy)
	if healthy == nil || healthy.Status != metav1.ConditionFalse || healthy.Reason != "MemberClusterUnhealthy" || healthy.Message != "readyz failed" {
		t.Errorf("ControlPlaneHealthy %+v", healthy)
	}
	if j := meta.FindStatusCondition(got.Conditions, inventory.ConditionJoined); j == nil || !j.LastTransitionTime.Equal(&then) {
		t.Errorf("Joined %+v: an unchanged condition keeps its transition time", j)
	}
	if len(current.Conditions) != 1 {
		t.Errorf("status changed its input: %+v", current.Conditions)
	}

	// A member without conditions yet is Unknown.
	got = status(&clusterv1beta1.MemberCluster{}, inventory.ClusterProfileStatus{})
	if c := meta.FindStatusCondition(got.Conditions, inventory.ConditionControlPlaneHealthy); c == nil || c.Status != metav1.ConditionUnknown {
		t.Errorf("ControlPlaneHealthy of a new member: %+v", c)
	}
}
