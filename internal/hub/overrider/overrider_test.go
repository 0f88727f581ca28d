package overrider

import (
	"encoding/json"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	p "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

func member(name string, labels map[string]string) *clusterv1beta1.MemberCluster {
	return &clusterv1beta1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func onLabel(k, v string) *p.ClusterSelector {
	return &p.ClusterSelector{ClusterSelectorTerms: []p.ClusterSelectorTerm{{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}}}}
}

func value(v any) apiextensionsv1.JSON {
	data, _ := json.Marshal(v)
	return apiextensionsv1.JSON{Raw: data}
}

var (
	deployID = p.ResourceIdentifier{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	nsID     = p.ResourceIdentifier{Version: "v1", Kind: "Namespace", Name: "shop"}
	deploy   = []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}}`)
)

func cro(name string, placement *p.PlacementRef, sel []p.ClusterResourceSelector, rules ...p.OverrideRule) p.ClusterResourceOverrideSnapshot {
	return p.ClusterResourceOverrideSnapshot{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: p.ClusterResourceOverrideSnapshotSpec{OverrideSpec: p.ClusterResourceOverrideSpec{
			Placement: placement, ClusterResourceSelectors: sel, Policy: &p.OverridePolicy{OverrideRules: rules}}}}
}

func ro(ns, name string, placement *p.PlacementRef, sel []p.ResourceSelector, rules ...p.OverrideRule) p.ResourceOverrideSnapshot {
	return p.ResourceOverrideSnapshot{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: p.ResourceOverrideSnapshotSpec{OverrideSpec: p.ResourceOverrideSpec{
			Placement: placement, ResourceSelectors: sel, Policy: &p.OverridePolicy{OverrideRules: rules}}}}
}

var (
	nsSel     = []p.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: "shop"}}
	deploySel = []p.ResourceSelector{{Group: "apps", Version: "v1", Kind: "Deployment", Name: "web"}}
	labelRule = p.OverrideRule{JSONPatchOverrides: []p.JSONPatchOverride{{Operator: p.JSONPatchAdd, Path: "/metadata/labels", Value: value(map[string]string{"cluster": "${MEMBER-CLUSTER-NAME}"})}}}
)

func TestApplicable(t *testing.T) {
	prod := member("m1", map[string]string{"env": "prod"})
	dev := member("m2", map[string]string{"env": "dev"})
	s := Snapshots{
		Cluster: []p.ClusterResourceOverrideSnapshot{
			cro("b-any-placement-0", nil, nsSel, labelRule),
			cro("a-this-placement-1", &p.PlacementRef{Name: "shop"}, nsSel, labelRule),
			cro("other-placement-0", &p.PlacementRef{Name: "other"}, nsSel, labelRule),
			cro("other-resource-0", nil, []p.ClusterResourceSelector{{Version: "v1", Kind: "Namespace", Name: "bank"}}, labelRule),
			cro("prod-only-0", nil, nsSel, p.OverrideRule{ClusterSelector: onLabel("env", "prod"), OverrideType: p.DeleteOverrideType}),
		},
		Namespaced: []p.ResourceOverrideSnapshot{
			ro("shop", "image-0", nil, deploySel, p.OverrideRule{ClusterSelector: onLabel("env", "dev"), JSONPatchOverrides: labelRule.JSONPatchOverrides}),
			ro("bank", "image-0", nil, deploySel, labelRule),
			ro("shop", "namespaced-placement-0", &p.PlacementRef{Name: "shop", Scope: p.NamespaceScoped}, deploySel, labelRule),
		},
	}
	resources := []p.ResourceIdentifier{nsID, deployID}
	cases := []struct {
		member  *clusterv1beta1.MemberCluster
		cluster []string
		ns      []p.NamespacedName
	}{
		{member: prod, cluster: []string{"a-this-placement-1", "b-any-placement-0", "prod-only-0"}},
		{member: dev, cluster: []string{"a-this-placement-1", "b-any-placement-0"}, ns: []p.NamespacedName{{Namespace: "shop", Name: "image-0"}}},
	}
	for _, tc := range cases {
		cluster, ns := Applicable(s, types.NamespacedName{Name: "shop"}, resources, tc.member)
		if strings.Join(cluster, ",") != strings.Join(tc.cluster, ",") {
			t.Errorf("%s: cluster overrides %v, want %v", tc.member.Name, cluster, tc.cluster)
		}
		if len(ns) != len(tc.ns) || (len(ns) > 0 && ns[0] != tc.ns[0]) {
			t.Errorf("%s: resource overrides %v, want %v", tc.member.Name, ns, tc.ns)
		}
	}
}

// For the ResourcePlacement shop/shop, a ResourceOverride that names it (Namespaced) or
// names none applies; ClusterResourceOverrides that name a ClusterResourcePlacement do not.
func TestApplicableToAResourcePlacement(t *testing.T) {
	s := Snapshots{
		Cluster: []p.ClusterResourceOverrideSnapshot{cro("crp-shop-0", &p.PlacementRef{Name: "shop"}, nsSel, labelRule)},
		Namespaced: []p.ResourceOverrideSnapshot{
			ro("shop", "any-0", nil, deploySel, labelRule),
			ro("shop", "rp-shop-0", &p.PlacementRef{Name: "shop", Scope: p.NamespaceScoped}, deploySel, labelRule),
			ro("shop", "crp-shop-0", &p.PlacementRef{Name: "shop"}, deploySel, labelRule),
			ro("bank", "rp-shop-0", &p.PlacementRef{Name: "shop", Scope: p.NamespaceScoped}, deploySel, labelRule),
		},
	}
	cluster, ns := Applicable(s, types.NamespacedName{Namespace: "shop", Name: "shop"}, []p.ResourceIdentifier{deployID}, member("m1", nil))
	if len(cluster) != 0 {
		t.Errorf("cluster overrides %v, want none", cluster)
	}
	want := []p.NamespacedName{{Namespace: "shop", Name: "any-0"}, {Namespace: "shop", Name: "rp-shop-0"}}
	if len(ns) != 2 || ns[0] != want[0] || ns[1] != want[1] {
		t.Errorf("resource overrides %v, want %v", ns, want)
	}
}

func TestApply(t *testing.T) {
	m := member("m1", map[string]string{"env": "prod", "region": "eastus"})
	image := func(v string) p.OverrideRule {
		return p.OverrideRule{JSONPatchOverrides: []p.JSONPatchOverride{{Operator: p.JSONPatchReplace, Path: "/spec/template/spec/containers/0/image", Value: value(v)}}}
	}
	cases := []struct {
		name    string
		s       Snapshots
		want    []string // substrings of the result
		deleted bool
		err     string
	}{
		{name: "no override", want: []string{`"image":"nginx:1.26"`}},
		{name: "label from the member name", s: Snapshots{Namespaced: []p.ResourceOverrideSnapshot{ro("shop", "o-0", nil, deploySel, labelRule)}},
			want: []string{`"labels":{"cluster":"m1"}`}},
		{name: "label variable", s: Snapshots{Namespaced: []p.ResourceOverrideSnapshot{ro("shop", "o-0", nil, deploySel,
			p.OverrideRule{JSONPatchOverrides: []p.JSONPatchOverride{{Operator: p.JSONPatchAdd, Path: "/metadata/annotations", Value: value(map[string]string{"r": "${MEMBER-CLUSTER-LABEL-KEY-region}"})}}})}},
			want: []string{`"annotations":{"r":"eastus"}`}},
		{name: "image replaced, then a later rule wins", s: Snapshots{Namespaced: []p.ResourceOverrideSnapshot{ro("shop", "o-0", nil, deploySel, image("nginx:1.27"), image("nginx:1.28"))}},
			want: []string{`"image":"nginx:1.28"`}},
		{name: "a rule for other members is skipped", s: Snapshots{Namespaced: []p.ResourceOverrideSnapshot{ro("shop", "o-0", nil, deploySel,
			p.OverrideRule{ClusterSelector: onLabel("env", "dev"), JSONPatchOverrides: image("x").JSONPatchOverrides})}},
			want: []string{`"image":"nginx:1.26"`}},
		{name: "an override of another namespace is skipped", s: Snapshots{Namespaced: []p.ResourceOverrideSnapshot{ro("bank", "o-0", nil, deploySel, image("x"))}},
			want: []string{`"image":"nginx:1.26"`}},
		{name: "delete", s: Snapshots{Namespaced: []p.ResourceOverrideSnapshot{ro("shop", "o-0", nil, deploySel, p.OverrideRule{OverrideType: p.DeleteOverrideType})}},
			deleted: true},
		{name: "a path that does not exist fails", s: Snapshots{Namespaced: []p.ResourceOverrideSnapshot{ro("shop", "o-0", nil, deploySel,
			p.OverrideRule{JSONPatchOverrides: []p.JSONPatchOverride{{Operator: p.JSONPatchReplace, Path: "/spec/replicas", Value: value(3)}}})}},
			err: "ResourceOverride snapshot shop/o-0, overrideRules[0].jsonPatchOverrides[0] (replace /spec/replicas)"},
		{name: "a missing label fails", s: Snapshots{Namespaced: []p.ResourceOverrideSnapshot{ro("shop", "o-0", nil, deploySel,
			p.OverrideRule{JSONPatchOverrides: []p.JSONPatchOverride{{Operator: p.JSONPatchAdd, Path: "/metadata/labels", Value: value(map[string]string{"t": "${MEMBER-CLUSTER-LABEL-KEY-team}"})}}})}},
			err: `the member has no label "team"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Apply(deploy, deployID, tc.s, m)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Deleted != tc.deleted {
				t.Fatalf("deleted %v, want %v", out.Deleted, tc.deleted)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out.Raw), w) {
					t.Errorf("result %s lacks %s", out.Raw, w)
				}
			}
		})
	}
}
