package v1beta1_test

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

func TestMain(m *testing.M) { testenv.Main(m, 0, &fleet) }

// memberCluster builds a MemberCluster as a user's manifest would, so that zero values
// reach the API server instead of being dropped by omitempty.
func memberCluster(name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cluster.kubernetes-fleet.io/v1beta1",
		"kind":       "MemberCluster",
		"metadata":   map[string]any{"name": name},
		"spec":       spec,
	}}
	return u
}

func identity() map[string]any {
	return map[string]any{"kind": "ServiceAccount", "name": "agent", "namespace": "fleet-system"}
}

func TestMemberClusterValidation(t *testing.T) {
	c, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		obj     *unstructured.Unstructured
		refused []string // substrings of the error; empty means accepted
	}{
		{name: "valid", obj: memberCluster("valid", map[string]any{"identity": identity(), "heartbeatPeriodSeconds": int64(30),
			"taints": []any{map[string]any{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}}})},
		{name: "heartbeat 0", obj: memberCluster("hb-zero", map[string]any{"identity": identity(), "heartbeatPeriodSeconds": int64(0)}),
			refused: []string{"spec.heartbeatPeriodSeconds", "greater than or equal to 1"}},
		{name: "heartbeat 601", obj: memberCluster("hb-big", map[string]any{"identity": identity(), "heartbeatPeriodSeconds": int64(601)}),
			refused: []string{"spec.heartbeatPeriodSeconds", "less than or equal to 600"}},
		{name: "unknown taint effect", obj: memberCluster("bad-taint", map[string]any{"identity": identity(),
			"taints": []any{map[string]any{"key": "dedicated", "effect": "NoExecute"}}}),
			refused: []string{"spec.taints[0].effect", `supported values: "NoSchedule"`}},
		{name: "missing identity", obj: memberCluster("no-identity", map[string]any{}),
			refused: []string{"spec.identity"}},
		{name: "name too long for its namespace", obj: memberCluster(strings.Repeat("a", 51), map[string]any{"identity": identity()}),
			refused: []string{"metadata.name", "at most 50 characters"}},
		{name: "name with a dot", obj: memberCluster("east.prod", map[string]any{"identity": identity()}),
			refused: []string{"metadata.name", "DNS label"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := c.Create(context.Background(), tc.obj)
			if len(tc.refused) == 0 {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(HaveOccurred(), "the API server accepted %s", tc.name)
			for _, s := range tc.refused {
				g.Expect(err.Error()).To(ContainSubstring(s))
			}
		})
	}
}

func TestHeartbeatPeriodDefaultsTo60(t *testing.T) {
	g := NewWithT(t)
	c, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	obj := memberCluster("defaulted", map[string]any{"identity": identity()})
	g.Expect(c.Create(context.Background(), obj)).To(Succeed())
	period, _, _ := unstructured.NestedInt64(obj.Object, "spec", "heartbeatPeriodSeconds")
	g.Expect(period).To(Equal(int64(60)))
}
