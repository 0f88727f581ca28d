package workapplier

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

func entry(manager, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate,
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
}

func TestManagedDrifts(t *testing.T) {
	live := obj(t, `{"metadata":{"name":"app","labels":{"team":"member","app":"web"},
		"annotations":{"note":"edited","deployment.kubernetes.io/revision":"3"}},
		"data":{"a":"edited","b":"2","mine":"x"},
		"spec":{"containers":[{"name":"c","image":"nginx:2"},{"name":"side","image":"busybox"}]}}`)
	manifest := obj(t, `{"metadata":{"name":"app","labels":{"app":"web"},"annotations":{"note":"hub"}},
		"data":{"a":"1","b":"2"},"spec":{"containers":[{"name":"c","image":"nginx:1"}]}}`)
	cases := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    []placementv1beta1.PatchDetail
	}{{
		name:    "everything still Flotilla's: no drift",
		entries: []metav1.ManagedFieldsEntry{entry("flotilla", `{"f:data":{"f:a":{},"f:b":{}},"f:metadata":{"f:labels":{"f:app":{}}}}`)},
	}, {
		name: "fields another manager took over are drifts; fields only the member has are not",
		entries: []metav1.ManagedFieldsEntry{
			entry("flotilla", `{"f:data":{"f:b":{}},"f:metadata":{"f:labels":{"f:app":{}}}}`),
			entry("kubectl-edit", `{"f:data":{"f:a":{},"f:mine":{}},"f:metadata":{"f:annotations":{"f:note":{}}}}`),
		},
		want: []placementv1beta1.PatchDetail{
			{Path: "/data/a", ValueInMember: "edited", ValueInHub: "1"},
			{Path: "/metadata/annotations/note", ValueInMember: "edited", ValueInHub: "hub"},
		},
	}, {
		name: "list items by key, and system annotations and status are never drifts",
		entries: []metav1.ManagedFieldsEntry{
			entry("flotilla", `{"f:data":{"f:a":{},"f:b":{}}}`),
			entry("someone", `{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{}},"k:{\"name\":\"side\"}":{"f:image":{}}}},
				"f:metadata":{"f:annotations":{"f:deployment.kubernetes.io/revision":{}}},"f:status":{"f:x":{}}}`),
		},
		want: []placementv1beta1.PatchDetail{{Path: "/spec/containers/0/image", ValueInMember: "nginx:2", ValueInHub: "nginx:1"}},
	}, {
		name: "a field both own (the same value set twice) is no drift",
		entries: []metav1.ManagedFieldsEntry{
			entry("flotilla", `{"f:data":{"f:a":{}}}`),
			entry("someone", `{"f:data":{"f:a":{}}}`),
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := managedDrifts(manifest, live, c.entries)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("managedDrifts = %#v, want %#v", got, c.want)
			}
		})
	}
}

func TestOwnedPart(t *testing.T) {
	live := obj(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"app","namespace":"ns","labels":{"app":"web","x":"y"},"resourceVersion":"9","ownerReferences":[{"uid":"u1","name":"w"}]},
		"data":{"a":"1","b":"2","mine":"member-only"},"status":{"s":1}}`)
	entries := []metav1.ManagedFieldsEntry{
		entry("flotilla", `{"f:data":{".":{},"f:a":{},"f:b":{}},"f:metadata":{"f:labels":{".":{},"f:app":{}},"f:ownerReferences":{"k:{\"uid\":\"u1\"}":{}}},"f:status":{"f:s":{}}}`),
		entry("kubectl-edit", `{"f:data":{"f:mine":{}},"f:metadata":{"f:labels":{"f:x":{}}}}`),
	}
	want := obj(t, `{"metadata":{"labels":{"app":"web"}},"data":{"a":"1","b":"2"}}`)
	if got := ownedPart(live, entries); !reflect.DeepEqual(got, want) {
		t.Errorf("ownedPart = %v, want %v", got, want)
	}
}

func TestDesiredKeepsLastAppliedOnlyWhereItFits(t *testing.T) {
	small := obj(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s"},"data":{"a":"1"}}`)
	big := obj(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"},"data":{}}`)
	big["data"].(map[string]any)["blob"] = string(make([]byte, placementv1beta1.MaxLastAppliedSize))
	csa := placementv1beta1.ApplyStrategy{Type: placementv1beta1.ApplyStrategyTypeClientSideApply}
	ssa := placementv1beta1.ApplyStrategy{Type: placementv1beta1.ApplyStrategyTypeServerSideApply}
	cases := []struct {
		name     string
		obj      map[string]any
		s        placementv1beta1.ApplyStrategy
		wantLast bool
	}{
		{"client-side, small: whole manifest kept", small, csa, true},
		{"client-side, too large: hash only", big, csa, false},
		{"server-side, small: hash only", small, ssa, false},
		{"server-side, too large: hash only", big, ssa, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, hash, err := desired(toUnstructured(c.obj), c.s)
			if err != nil {
				t.Fatal(err)
			}
			a := d.GetAnnotations()
			if _, ok := a[placementv1beta1.LastAppliedConfigAnnotation]; ok != c.wantLast {
				t.Errorf("last-applied annotation present = %v, want %v", ok, c.wantLast)
			}
			if a[placementv1beta1.LastAppliedHashAnnotation] != hash || len(hash) != 64 {
				t.Errorf("hash annotation %q, want the 64-digit hash %q", a[placementv1beta1.LastAppliedHashAnnotation], hash)
			}
		})
	}
}

func toUnstructured(m map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: m}
}
