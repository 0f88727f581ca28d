package workapplier

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

func object(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAvailabilityByKind(t *testing.T) {
	cases := []struct {
		name, obj string
		available bool
		reason    string
	}{
		{"deployment rolled out", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","generation":2},"spec":{"replicas":3},
			"status":{"observedGeneration":2,"replicas":3,"updatedReplicas":3,"availableReplicas":3}}`, true, placementv1beta1.ManifestAvailableReason},
		{"deployment of an older generation", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","generation":3},"spec":{"replicas":3},
			"status":{"observedGeneration":2,"replicas":3,"updatedReplicas":3,"availableReplicas":3}}`, false, placementv1beta1.ManifestNotYetAvailableReason},
		{"deployment with an old replica left", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","generation":2},"spec":{"replicas":3},
			"status":{"observedGeneration":2,"replicas":4,"updatedReplicas":3,"availableReplicas":3}}`, false, placementv1beta1.ManifestNotYetAvailableReason},
		{"deployment defaults to one replica", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","generation":1},"spec":{},
			"status":{"observedGeneration":1,"replicas":1,"updatedReplicas":1,"availableReplicas":1}}`, true, placementv1beta1.ManifestAvailableReason},
		{"statefulset mid-update", `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"s","generation":1},"spec":{"replicas":2},
			"status":{"observedGeneration":1,"updatedReplicas":2,"availableReplicas":2,"currentRevision":"a","updateRevision":"b"}}`, false, placementv1beta1.ManifestNotYetAvailableReason},
		{"statefulset done", `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"s","generation":1},"spec":{"replicas":2},
			"status":{"observedGeneration":1,"updatedReplicas":2,"availableReplicas":2,"currentRevision":"b","updateRevision":"b"}}`, true, placementv1beta1.ManifestAvailableReason},
		{"daemonset short", `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"ds","generation":1},
			"status":{"observedGeneration":1,"desiredNumberScheduled":3,"updatedNumberScheduled":3,"numberAvailable":2}}`, false, placementv1beta1.ManifestNotYetAvailableReason},
		{"service with a cluster IP", `{"apiVersion":"v1","kind":"Service","spec":{"clusterIP":"10.96.0.5"}}`, true, placementv1beta1.ManifestAvailableReason},
		{"load balancer without ingress", `{"apiVersion":"v1","kind":"Service","spec":{"type":"LoadBalancer","clusterIP":"10.96.0.5"}}`, false, placementv1beta1.ManifestNotYetAvailableReason},
		{"load balancer with ingress", `{"apiVersion":"v1","kind":"Service","spec":{"type":"LoadBalancer"},"status":{"loadBalancer":{"ingress":[{"ip":"1.2.3.4"}]}}}`, true, placementv1beta1.ManifestAvailableReason},
		{"crd not established", `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","status":{"conditions":[{"type":"Established","status":"False"}]}}`, false, placementv1beta1.ManifestNotYetAvailableReason},
		{"secret", `{"apiVersion":"v1","kind":"Secret"}`, true, placementv1beta1.ManifestAvailableReason},
		{"job is not trackable", `{"apiVersion":"batch/v1","kind":"Job"}`, true, placementv1beta1.ManifestNotTrackableReason},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := availabilityOf(context.Background(), nil, object(t, tc.obj))
			if got.available != tc.available || got.reason != tc.reason {
				t.Fatalf("got available=%v reason=%s (%s), want %v %s", got.available, got.reason, got.message, tc.available, tc.reason)
			}
		})
	}
}
