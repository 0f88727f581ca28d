package overridesnapshot

import (
	"context"
	"sort"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	p "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// Each change of an override's spec makes a new snapshot, the newest is the only latest one,
// an unchanged spec makes none, and only RevisionHistoryLimit snapshots are kept.
func TestSnapshotsFollowTheSpec(t *testing.T) {
	ctx := context.Background()
	o := &p.ResourceOverride{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "image", UID: "uid-1"},
		Spec: p.ResourceOverrideSpec{
			ResourceSelectors: []p.ResourceSelector{{Group: "apps", Version: "v1", Kind: "Deployment", Name: "web"}},
			Policy:            &p.OverridePolicy{OverrideRules: []p.OverrideRule{{OverrideType: p.DeleteOverrideType}}},
		}}
	c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(o).Build()
	r := &reconciler{client: c, limit: 2}
	step := func() {
		t.Helper()
		if _, err := r.reconcileNamespaced(ctx, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)}); err != nil {
			t.Fatal(err)
		}
	}
	snapshots := func() (names, latest []string) {
		t.Helper()
		var list p.ResourceOverrideSnapshotList
		if err := c.List(ctx, &list, client.InNamespace("shop")); err != nil {
			t.Fatal(err)
		}
		for _, s := range list.Items {
			names = append(names, s.Name)
			if s.Labels[p.IsLatestSnapshotLabel] == "true" {
				latest = append(latest, s.Name)
			}
			if s.Labels[p.OverrideTrackingLabel] != "image" || len(s.OwnerReferences) != 1 || s.OwnerReferences[0].UID != "uid-1" {
				t.Fatalf("snapshot %s: labels %v, owners %v", s.Name, s.Labels, s.OwnerReferences)
			}
		}
		sort.Strings(names)
		return names, latest
	}
	change := func(name string) {
		t.Helper()
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatal(err)
		}
		o.Spec.ResourceSelectors[0].Name = name
		if err := c.Update(ctx, o); err != nil {
			t.Fatal(err)
		}
	}

	step()
	step() // unchanged: no new snapshot
	if names, latest := snapshots(); len(names) != 1 || names[0] != "image-0" || len(latest) != 1 || latest[0] != "image-0" {
		t.Fatalf("snapshots %v, latest %v; want image-0 alone", names, latest)
	}
	change("api")
	step()
	if names, latest := snapshots(); len(names) != 2 || len(latest) != 1 || latest[0] != "image-1" {
		t.Fatalf("snapshots %v, latest %v; want image-0 and image-1, the latter latest", names, latest)
	}
	change("db")
	step()
	if names, latest := snapshots(); len(names) != 2 || names[0] != "image-1" || names[1] != "image-2" || len(latest) != 1 || latest[0] != "image-2" {
		t.Fatalf("snapshots %v, latest %v; want image-1 and image-2 (limit 2), the latter latest", names, latest)
	}
	s := &p.ResourceOverrideSnapshot{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: "image-2"}, s); err != nil {
		t.Fatal(err)
	}
	if s.Spec.OverrideSpec.ResourceSelectors[0].Name != "db" || len(s.Spec.OverrideHash) != 32 {
		t.Fatalf("snapshot image-2 holds %+v", s.Spec)
	}
}
