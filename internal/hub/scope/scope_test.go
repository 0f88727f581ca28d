package scope

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

func TestKeyOfAndKinds(t *testing.T) {
	b := &placementv1beta1.ClusterResourceBinding{ObjectMeta: metav1.ObjectMeta{Name: "web-m1-1234",
		Labels: map[string]string{placementv1beta1.CRPTrackingLabel: "web"}}}
	if got := KeyOf(b); got != (Key{Name: "web"}) {
		t.Fatalf("KeyOf = %v, want the placement web", got)
	}
	if got := KeyOf(&placementv1beta1.ClusterResourceBinding{}); got.Name != "" {
		t.Fatalf("KeyOf of an unlabelled binding = %v, want no name", got)
	}
	if k := PlacementKind(Key{Name: "web"}); k != "ClusterResourcePlacement" {
		t.Fatalf("PlacementKind = %s", k)
	}
	if _, err := NewPlacement(Key{Namespace: "team", Name: "web"}); err == nil || !strings.Contains(err.Error(), "team/web") {
		t.Fatalf("a namespaced key gave %v, want an error naming it", err)
	}
}

// The lists return only the placement's own children.
func TestListsSelectByPlacement(t *testing.T) {
	ctx := context.Background()
	child := func(name, parent string) *placementv1beta1.ClusterResourceBinding {
		return &placementv1beta1.ClusterResourceBinding{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{placementv1beta1.CRPTrackingLabel: parent}}}
	}
	snap := func(name, parent, index string) *placementv1beta1.ClusterResourceSnapshot {
		return &placementv1beta1.ClusterResourceSnapshot{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{placementv1beta1.CRPTrackingLabel: parent, placementv1beta1.ResourceIndexLabel: index}}}
	}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(
		child("web-a", "web"), child("web-b", "web"), child("api-a", "api"),
		snap("web-0-snapshot", "web", "0"), snap("web-1-snapshot", "web", "1"), snap("api-0-snapshot", "api", "0"),
	).Build()
	bindings, err := ListBindings(ctx, c, Key{Name: "web"})
	if err != nil || len(bindings) != 2 {
		t.Fatalf("bindings of web: %d, %v; want 2", len(bindings), err)
	}
	snaps, err := ListResourceSnapshots(ctx, c, Key{Name: "web"}, map[string]string{placementv1beta1.ResourceIndexLabel: "1"})
	if err != nil || len(snaps) != 1 || snaps[0].GetName() != "web-1-snapshot" {
		t.Fatalf("index 1 of web: %v, %v", names(snaps), err)
	}
	got, err := GetBinding(ctx, c, client.ObjectKey{Name: "api-a"})
	if err != nil || got.GetBindingSpec() == nil || got.GetName() != "api-a" {
		t.Fatalf("GetBinding: %v, %v", got, err)
	}
}

func names(objs []placementv1beta1.ResourceSnapshotObj) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetName())
	}
	return out
}
