package scope

import (
	"context"
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
	if _, ok := NewPlacement(Key{Namespace: "team", Name: "web"}).(*placementv1beta1.ResourcePlacement); !ok {
		t.Fatalf("a namespaced key is not a ResourcePlacement")
	}
	if _, ok := NewBinding(Key{Namespace: "team", Name: "web"}).(*placementv1beta1.ResourceBinding); !ok {
		t.Fatalf("a namespaced key's binding is not a ResourceBinding")
	}
	if k := PlacementKind(Key{Namespace: "team", Name: "web"}); k != "ResourcePlacement" {
		t.Fatalf("PlacementKind = %s", k)
	}
	if p := WorkPrefix(Key{Namespace: "team", Name: "web"}); p != "team.web" {
		t.Fatalf("WorkPrefix = %s, want team.web", p)
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

// A ClusterResourceBinding and a ResourceBinding of the same name have their own Works.
func TestWorksOfTellsScopesApart(t *testing.T) {
	ctx := context.Background()
	work := func(name string, labels map[string]string) *placementv1beta1.Work {
		return &placementv1beta1.Work{ObjectMeta: metav1.ObjectMeta{Namespace: "fleet-member-m1", Name: name, Labels: labels}}
	}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(
		work("web-work", map[string]string{placementv1beta1.ParentBindingLabel: "web-m1-1234"}),
		work("team.web-work", map[string]string{placementv1beta1.ParentBindingLabel: "web-m1-1234", placementv1beta1.ParentNamespaceLabel: "team"}),
	).Build()
	for _, tc := range []struct {
		binding client.Object
		want    string
	}{
		{&placementv1beta1.ClusterResourceBinding{ObjectMeta: metav1.ObjectMeta{Name: "web-m1-1234"}}, "web-work"},
		{&placementv1beta1.ResourceBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web-m1-1234"}}, "team.web-work"},
	} {
		var works placementv1beta1.WorkList
		if err := c.List(ctx, &works, client.InNamespace("fleet-member-m1"), WorksOf(tc.binding)); err != nil {
			t.Fatal(err)
		}
		if len(works.Items) != 1 || works.Items[0].Name != tc.want {
			t.Errorf("Works of %s/%s: %v, want only %s", tc.binding.GetNamespace(), tc.binding.GetName(), works.Items, tc.want)
		}
	}
}
