package workapplier

import (
	"encoding/json"
	"testing"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestComparison(t *testing.T) {
	hub := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},
		"spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"c","image":"nginx:1"}]}}}}`
	cases := []struct {
		name   string
		member string
		full   bool
		want   []placementv1beta1.PatchDetail
	}{{
		name: "defaults and status are no difference under partial comparison",
		member: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","uid":"1","labels":{"app":"web"},
			"annotations":{"deployment.kubernetes.io/revision":"1"}},
			"spec":{"replicas":2,"progressDeadlineSeconds":600,"template":{"spec":{"containers":[{"name":"c","image":"nginx:1","imagePullPolicy":"IfNotPresent"}]}}},
			"status":{"replicas":2}}`,
	}, {
		name: "a changed field and a changed list item",
		member: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web"}},
			"spec":{"replicas":5,"template":{"spec":{"containers":[{"name":"c","image":"nginx:2"}]}}}}`,
		want: []placementv1beta1.PatchDetail{
			{Path: "/spec/replicas", ValueInMember: "5", ValueInHub: "2"},
			{Path: "/spec/template/spec/containers/0/image", ValueInMember: "nginx:2", ValueInHub: "nginx:1"},
		},
	}, {
		name:   "a removed label and a list of another length",
		member: `{"metadata":{"name":"web"},"spec":{"replicas":2,"template":{"spec":{"containers":[]}}}}`,
		want: []placementv1beta1.PatchDetail{
			{Path: "/metadata/labels/app", ValueInHub: "web"},
			{Path: "/spec/template/spec/containers", ValueInMember: "[]", ValueInHub: `[{"image":"nginx:1","name":"c"}]`},
		},
	}, {
		name: "full comparison also reports what only the member has, but not system annotations",
		member: `{"metadata":{"name":"web","labels":{"app":"web","extra":"x"},"annotations":{"deployment.kubernetes.io/revision":"3"}},
			"spec":{"replicas":2,"paused":true,"template":{"spec":{"containers":[{"name":"c","image":"nginx:1"}]}}}}`,
		full: true,
		want: []placementv1beta1.PatchDetail{
			{Path: "/metadata/labels/extra", ValueInMember: "x"},
			{Path: "/spec/paused", ValueInMember: "true"},
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := comparison(obj(t, hub), obj(t, tc.member), tc.full)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d differences %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("difference %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestWavesOrderKinds(t *testing.T) {
	work := &placementv1beta1.Work{}
	for _, s := range []string{
		`{"apiVersion":"admissionregistration.k8s.io/v1","kind":"ValidatingWebhookConfiguration","metadata":{"name":"w"}}`,
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"n"}}`,
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"rb","namespace":"n"}}`,
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"r","namespace":"n"}}`,
		`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"c"}}`,
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n"}}`,
		`not json`,
	} {
		work.Spec.Workload.Manifests = append(work.Spec.Workload.Manifests, placementv1beta1.Manifest{})
		work.Spec.Workload.Manifests[len(work.Spec.Workload.Manifests)-1].Raw = []byte(s)
	}
	ms := decode(work)
	if ms[6].err == nil {
		t.Fatal("a manifest that is not JSON decoded without error")
	}
	var order []string
	for _, w := range inWaves(ms) {
		for _, m := range w {
			order = append(order, m.gvk.Kind)
		}
	}
	want := []string{"Namespace", "CustomResourceDefinition", "Role", "RoleBinding", "Deployment", "ValidatingWebhookConfiguration"}
	if len(order) != len(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
}
