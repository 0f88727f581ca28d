package envelope

import (
	"strings"
	"testing"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

func TestUnwrap(t *testing.T) {
	cases := []struct {
		name     string
		raw      string
		envelope bool
		objects  []string // substrings, in order
		err      string
	}{
		{name: "a ConfigMap is not an envelope", raw: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`},
		{name: "another group's ResourceEnvelope is not one", raw: `{"apiVersion":"example.com/v1","kind":"ResourceEnvelope","metadata":{"name":"a"}}`},
		{name: "objects in key order, namespace defaulted", envelope: true,
			raw:     `{"apiVersion":"placement.kubernetes-fleet.io/v1beta1","kind":"ResourceEnvelope","metadata":{"name":"e","namespace":"shop"},"data":{"b.yaml":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}},"a.yaml":{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a","namespace":"shop"}}}}`,
			objects: []string{`"kind":"Secret"`, `"namespace":"shop"`}},
		{name: "an object of another namespace is refused", envelope: true,
			raw: `{"apiVersion":"placement.kubernetes-fleet.io/v1","kind":"ResourceEnvelope","metadata":{"name":"e","namespace":"shop"},"data":{"x.yaml":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"bank"}}}}`,
			err: `ResourceEnvelope shop/e, data["x.yaml"]: the object is in namespace bank`},
		{name: "a cluster envelope keeps its objects as they are", envelope: true,
			raw:     `{"apiVersion":"placement.kubernetes-fleet.io/v1beta1","kind":"ClusterResourceEnvelope","metadata":{"name":"c"},"data":{"r.yaml":{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"r"}}}}`,
			objects: []string{`"kind":"ClusterRole"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, objects, ok, err := Unwrap([]byte(tc.raw))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || ok != tc.envelope {
				t.Fatalf("envelope %v, error %v; want envelope %v", ok, err, tc.envelope)
			}
			if !ok {
				return
			}
			if id.Name == "" || (id.Type != placementv1beta1.ResourceEnvelopeType && id.Type != placementv1beta1.ClusterResourceEnvelopeType) {
				t.Fatalf("identifier %+v", id)
			}
			if len(objects) == 0 || !strings.Contains(string(objects[0]), tc.objects[0]) {
				t.Fatalf("objects %q, want the first to hold %s", objects, tc.objects[0])
			}
			for _, want := range tc.objects[1:] {
				if !strings.Contains(string(objects[len(objects)-1]), want) {
					t.Fatalf("objects %q, want the last to hold %s", objects, want)
				}
			}
		})
	}
}
