package scheduler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// member builds an eligible MemberCluster: identity set, agent joined and healthy, fresh
// heartbeat. Options change it.
func member(name string, opts ...func(*clusterv1beta1.MemberCluster)) clusterv1beta1.MemberCluster {
	mc := clusterv1beta1.MemberCluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Spec:       clusterv1beta1.MemberClusterSpec{},
	}
	mc.Spec.Identity.Name = "agent"
	mc.Status.AgentStatus = []clusterv1beta1.AgentStatus{{
		Type: clusterv1beta1.MemberAgent,
		Conditions: []metav1.Condition{
			{Type: clusterv1beta1.ConditionJoined, Status: metav1.ConditionTrue},
			{Type: clusterv1beta1.ConditionHealthy, Status: metav1.ConditionTrue},
		},
		LastReceivedHeartbeat: metav1.NewTime(now.Add(-10 * time.Second)),
	}}
	mc.Status.Properties = map[clusterv1beta1.PropertyName]clusterv1beta1.PropertyValue{}
	for _, o := range opts {
		o(&mc)
	}
	return mc
}

func label(k, v string) func(*clusterv1beta1.MemberCluster) {
	return func(mc *clusterv1beta1.MemberCluster) { mc.Labels[k] = v }
}

func prop(k, v string) func(*clusterv1beta1.MemberCluster) {
	return func(mc *clusterv1beta1.MemberCluster) {
		mc.Status.Properties[clusterv1beta1.PropertyName(k)] = clusterv1beta1.PropertyValue{Value: v}
	}
}

func taint(k, v string) func(*clusterv1beta1.MemberCluster) {
	return func(mc *clusterv1beta1.MemberCluster) {
		mc.Spec.Taints = append(mc.Spec.Taints, clusterv1beta1.Taint{Key: k, Value: v, Effect: "NoSchedule"})
	}
}

func staleHeartbeat(mc *clusterv1beta1.MemberCluster) {
	mc.Status.AgentStatus[0].LastReceivedHeartbeat = metav1.NewTime(now.Add(-time.Hour))
}

func names(ds []placementv1beta1.ClusterDecision) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ClusterName)
	}
	return out
}

func reasonOf(ds []placementv1beta1.ClusterDecision, name string) string {
	for _, d := range ds {
		if d.ClusterName == name {
			return d.Reason
		}
	}
	return ""
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func requiredLabels(ls map[string]string) *placementv1beta1.Affinity {
	return &placementv1beta1.Affinity{ClusterAffinity: &placementv1beta1.ClusterAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &placementv1beta1.ClusterSelector{
			ClusterSelectorTerms: []placementv1beta1.ClusterSelectorTerm{{LabelSelector: &metav1.LabelSelector{MatchLabels: ls}}}}}}
}

func TestPickAllFiltersByLabelsEligibilityAndTaints(t *testing.T) {
	clusters := []clusterv1beta1.MemberCluster{
		member("c", label("env", "prod")),
		member("a", label("env", "prod")),
		member("b", label("env", "dev")),
		member("d", label("env", "prod"), staleHeartbeat),
		member("e", label("env", "prod"), taint("gpu", "true")),
	}
	policy := &placementv1beta1.PlacementPolicy{Affinity: requiredLabels(map[string]string{"env": "prod"})}
	res := Default().Schedule(policy, clusters, nil, true, now)
	equal(t, names(res.Picked), []string{"a", "c"})
	if !res.Fulfilled() {
		t.Fatal("PickAll is always fulfilled")
	}
	if r := reasonOf(res.NotPicked, "b"); !strings.Contains(r, "labels do not match") {
		t.Errorf("b: %q", r)
	}
	if r := reasonOf(res.NotPicked, "d"); !strings.Contains(r, "heartbeat") {
		t.Errorf("d: %q", r)
	}
	if r := reasonOf(res.NotPicked, "e"); !strings.Contains(r, "taint gpu=true:NoSchedule") {
		t.Errorf("e: %q", r)
	}

	// A toleration lets e in; a taint on an already placed cluster does not evict it.
	policy.Tolerations = []placementv1beta1.Toleration{{Key: "gpu", Operator: "Equal", Value: "true"}}
	res = Default().Schedule(policy, clusters, nil, true, now)
	equal(t, names(res.Picked), []string{"a", "c", "e"})
	policy.Tolerations = nil
	res = Default().Schedule(policy, clusters, map[string]bool{"e": true}, true, now)
	equal(t, names(res.Picked), []string{"a", "c", "e"})
}

func TestPickAllKeepsAnUnhealthyPlacedClusterButNotALeavingOne(t *testing.T) {
	leavingAt := metav1.NewTime(now)
	clusters := []clusterv1beta1.MemberCluster{
		member("a", staleHeartbeat),
		member("b", func(mc *clusterv1beta1.MemberCluster) { mc.DeletionTimestamp = &leavingAt }),
	}
	res := Default().Schedule(nil, clusters, map[string]bool{"a": true, "b": true}, true, now)
	equal(t, names(res.Picked), []string{"a"})
}

func TestRequiredTermsAreORedAndPropertiesCompare(t *testing.T) {
	clusters := []clusterv1beta1.MemberCluster{
		member("small", prop("kubernetes-fleet.io/node-count", "2"), prop("k8s.io/k8s-version", "v1.34.1")),
		member("big", prop("kubernetes-fleet.io/node-count", "10"), prop("k8s.io/k8s-version", "v1.35.2")),
		member("gpu", label("gpu", "yes"), prop("kubernetes-fleet.io/node-count", "1")),
		member("mem", func(mc *clusterv1beta1.MemberCluster) {
			mc.Status.Properties = nil
			mc.Status.ResourceUsage.Available = map[corev1ResourceName]resourceQuantity{"memory": mustQuantity("32Gi")}
		}),
	}
	req := func(name string, op placementv1beta1.PropertySelectorOperator, v string) placementv1beta1.PropertySelectorRequirement {
		return placementv1beta1.PropertySelectorRequirement{Name: name, Operator: op, Values: []string{v}}
	}
	cases := []struct {
		name  string
		terms []placementv1beta1.ClusterSelectorTerm
		want  []string
	}{
		{"Gt", []placementv1beta1.ClusterSelectorTerm{{PropertySelector: &placementv1beta1.PropertySelector{MatchExpressions: []placementv1beta1.PropertySelectorRequirement{req("kubernetes-fleet.io/node-count", "Gt", "2")}}}}, []string{"big"}},
		{"Ge", []placementv1beta1.ClusterSelectorTerm{{PropertySelector: &placementv1beta1.PropertySelector{MatchExpressions: []placementv1beta1.PropertySelectorRequirement{req("kubernetes-fleet.io/node-count", "Ge", "2")}}}}, []string{"big", "small"}},
		{"Eq", []placementv1beta1.ClusterSelectorTerm{{PropertySelector: &placementv1beta1.PropertySelector{MatchExpressions: []placementv1beta1.PropertySelectorRequirement{req("kubernetes-fleet.io/node-count", "Eq", "1")}}}}, []string{"gpu"}},
		{"Ne", []placementv1beta1.ClusterSelectorTerm{{PropertySelector: &placementv1beta1.PropertySelector{MatchExpressions: []placementv1beta1.PropertySelectorRequirement{req("kubernetes-fleet.io/node-count", "Ne", "1")}}}}, []string{"big", "small"}},
		{"Lt", []placementv1beta1.ClusterSelectorTerm{{PropertySelector: &placementv1beta1.PropertySelector{MatchExpressions: []placementv1beta1.PropertySelectorRequirement{req("kubernetes-fleet.io/node-count", "Lt", "2")}}}}, []string{"gpu"}},
		{"Le", []placementv1beta1.ClusterSelectorTerm{{PropertySelector: &placementv1beta1.PropertySelector{MatchExpressions: []placementv1beta1.PropertySelectorRequirement{req("kubernetes-fleet.io/node-count", "Le", "2")}}}}, []string{"gpu", "small"}},
		{"version", []placementv1beta1.ClusterSelectorTerm{{PropertySelector: &placementv1beta1.PropertySelector{MatchExpressions: []placementv1beta1.PropertySelectorRequirement{req("k8s.io/k8s-version", "Ge", "v1.35.0")}}}}, []string{"big"}},
		{"resource usage", []placementv1beta1.ClusterSelectorTerm{{PropertySelector: &placementv1beta1.PropertySelector{MatchExpressions: []placementv1beta1.PropertySelectorRequirement{req("resources.kubernetes-fleet.io/available-memory", "Ge", "16Gi")}}}}, []string{"mem"}},
		{"ORed terms", []placementv1beta1.ClusterSelectorTerm{
			{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"gpu": "yes"}}},
			{PropertySelector: &placementv1beta1.PropertySelector{MatchExpressions: []placementv1beta1.PropertySelectorRequirement{req("kubernetes-fleet.io/node-count", "Gt", "5")}}},
		}, []string{"big", "gpu"}},
		{"ANDed within a term", []placementv1beta1.ClusterSelectorTerm{{
			LabelSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{"gpu": "yes"}},
			PropertySelector: &placementv1beta1.PropertySelector{MatchExpressions: []placementv1beta1.PropertySelectorRequirement{req("kubernetes-fleet.io/node-count", "Gt", "5")}},
		}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			policy := &placementv1beta1.PlacementPolicy{Affinity: &placementv1beta1.Affinity{ClusterAffinity: &placementv1beta1.ClusterAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &placementv1beta1.ClusterSelector{ClusterSelectorTerms: tc.terms}}}}
			res := Default().Schedule(policy, clusters, nil, true, now)
			equal(t, names(res.Picked), tc.want)
		})
	}
}

func pickN(n int32) *placementv1beta1.PlacementPolicy {
	return &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickNPlacementType, NumberOfClusters: ptr.To(n)}
}

func TestPickNTopByScoreTiesByName(t *testing.T) {
	clusters := []clusterv1beta1.MemberCluster{
		member("d", label("tier", "gold")),
		member("c"),
		member("b"),
		member("a", prop("kubernetes-fleet.io/node-count", "9")),
	}
	policy := pickN(2)
	res := Default().Schedule(policy, clusters, nil, true, now)
	// No preferences: every score is 0, so the names decide.
	equal(t, names(res.Picked), []string{"a", "b"})

	policy.Affinity = &placementv1beta1.Affinity{ClusterAffinity: &placementv1beta1.ClusterAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []placementv1beta1.PreferredClusterSelector{
			{Weight: 50, Preference: placementv1beta1.ClusterSelectorTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold"}}}},
			{Weight: -10, Preference: placementv1beta1.ClusterSelectorTerm{LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "DoesNotExist"}}}}},
		}}}
	res = Default().Schedule(policy, clusters, nil, true, now)
	equal(t, names(res.Picked), []string{"d", "a"})
	if got := *res.Picked[0].ClusterScore.AffinityScore; got != 50 {
		t.Errorf("d's affinity score is %d, want 50", got)
	}
	if got := *res.Picked[1].ClusterScore.AffinityScore; got != -10 {
		t.Errorf("a's affinity score is %d, want -10", got)
	}
}

func TestPickNPropertySorter(t *testing.T) {
	clusters := []clusterv1beta1.MemberCluster{
		member("a", prop("kubernetes-fleet.io/node-count", "1")),
		member("b", prop("kubernetes-fleet.io/node-count", "5")),
		member("c", prop("kubernetes-fleet.io/node-count", "3")),
		member("d"),
	}
	for _, tc := range []struct {
		order placementv1beta1.PropertySortOrder
		want  []string
	}{{placementv1beta1.Descending, []string{"b", "c"}}, {placementv1beta1.Ascending, []string{"a", "c"}}} {
		policy := pickN(2)
		policy.Affinity = &placementv1beta1.Affinity{ClusterAffinity: &placementv1beta1.ClusterAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []placementv1beta1.PreferredClusterSelector{{Weight: 100,
				Preference: placementv1beta1.ClusterSelectorTerm{PropertySorter: &placementv1beta1.PropertySorter{Name: "kubernetes-fleet.io/node-count", SortOrder: tc.order}}}}}}
		res := Default().Schedule(policy, clusters, nil, true, now)
		equal(t, names(res.Picked), tc.want)
		if got := *res.Picked[1].ClusterScore.AffinityScore; got != 50 {
			t.Errorf("%s: c's score is %d, want 50 (halfway between 1 and 5)", tc.order, got)
		}
	}
}

func TestPickNScalesAndKeepsPlacedClusters(t *testing.T) {
	clusters := []clusterv1beta1.MemberCluster{member("a"), member("b"), member("c"), member("d")}
	// c and d hold the placement: scaling 2 -> 3 keeps them and adds a.
	res := Default().Schedule(pickN(3), clusters, map[string]bool{"c": true, "d": true}, true, now)
	equal(t, names(res.Picked), []string{"c", "d", "a"})
	// Scaling 3 -> 1 keeps the best of the placed ones (by name when scores tie).
	res = Default().Schedule(pickN(1), clusters, map[string]bool{"a": true, "c": true, "d": true}, true, now)
	equal(t, names(res.Picked), []string{"a"})
	// A new policy picks afresh.
	res = Default().Schedule(pickN(2), clusters, map[string]bool{"c": true, "d": true}, false, now)
	equal(t, names(res.Picked), []string{"a", "b"})
}

func TestPickNUnfulfilledStillPlacesWhatFits(t *testing.T) {
	clusters := []clusterv1beta1.MemberCluster{member("a"), member("b", staleHeartbeat)}
	res := Default().Schedule(pickN(3), clusters, nil, true, now)
	equal(t, names(res.Picked), []string{"a"})
	if res.Fulfilled() {
		t.Fatal("want unfulfilled: 1 of 3")
	}
}

func TestPickNReschedulesAnIneligiblePlacedCluster(t *testing.T) {
	clusters := []clusterv1beta1.MemberCluster{member("a", staleHeartbeat), member("b"), member("c")}
	res := Default().Schedule(pickN(1), clusters, map[string]bool{"a": true}, true, now)
	equal(t, names(res.Picked), []string{"b"})
}

func TestTopologySpread(t *testing.T) {
	region := func(r string) func(*clusterv1beta1.MemberCluster) { return label("region", r) }
	clusters := []clusterv1beta1.MemberCluster{
		member("a1", region("a")), member("a2", region("a")), member("a3", region("a")),
		member("b1", region("b")),
		member("x"), // no region label
	}
	spreadPolicy := func(n int32, when placementv1beta1.UnsatisfiableConstraintAction) *placementv1beta1.PlacementPolicy {
		p := pickN(n)
		p.TopologySpreadConstraints = []placementv1beta1.TopologySpreadConstraint{{MaxSkew: ptr.To(int32(1)), TopologyKey: "region", WhenUnsatisfiable: when}}
		return p
	}
	// Two picks go to two regions, even though a2 sorts before b1.
	res := Default().Schedule(spreadPolicy(2, placementv1beta1.DoNotSchedule), clusters, nil, true, now)
	equal(t, names(res.Picked), []string{"a1", "b1"})
	// Four picks cannot keep the skew at 1 with one cluster in b: DoNotSchedule stops at 3.
	res = Default().Schedule(spreadPolicy(4, placementv1beta1.DoNotSchedule), clusters, nil, true, now)
	equal(t, names(res.Picked), []string{"a1", "b1", "a2"})
	if res.Fulfilled() {
		t.Fatal("want unfulfilled")
	}
	if r := reasonOf(res.NotPicked, "x"); !strings.Contains(r, "lacks the label region") {
		t.Errorf("x: %q", r)
	}
	if r := reasonOf(res.NotPicked, "a3"); !strings.Contains(r, "topology spread") {
		t.Errorf("a3: %q", r)
	}
	// ScheduleAnyway prefers the spread but fills up.
	res = Default().Schedule(spreadPolicy(5, placementv1beta1.ScheduleAnyway), clusters, nil, true, now)
	equal(t, names(res.Picked), []string{"a1", "b1", "a2", "a3", "x"})
}

func TestPickFixed(t *testing.T) {
	clusters := []clusterv1beta1.MemberCluster{member("a", taint("k", "v")), member("b", staleHeartbeat), member("c")}
	policy := &placementv1beta1.PlacementPolicy{PlacementType: placementv1beta1.PickFixedPlacementType, ClusterNames: []string{"a", "b", "ghost"}}
	res := Default().Schedule(policy, clusters, nil, true, now)
	equal(t, names(res.Picked), []string{"a"}) // taints do not apply to named clusters
	if res.Fulfilled() {
		t.Fatal("want unfulfilled")
	}
	if r := reasonOf(res.NotPicked, "ghost"); !strings.Contains(r, "no member cluster named ghost") {
		t.Errorf("ghost: %q", r)
	}
	if r := reasonOf(res.NotPicked, "b"); !strings.Contains(r, "not eligible") {
		t.Errorf("b: %q", r)
	}
}

type (
	corev1ResourceName = corev1.ResourceName
	resourceQuantity   = resource.Quantity
)

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// BenchmarkScheduleThousandMembers measures the framework alone (no API server): one PickN
// decision over 1,000 members with required and preferred affinity and a spread constraint.
func BenchmarkScheduleThousandMembers(b *testing.B) {
	regions := []string{"eastus", "westus", "westeurope"}
	var clusters []clusterv1beta1.MemberCluster
	for i := range 1000 {
		clusters = append(clusters, member(fmt.Sprintf("m-%04d", i), label("env", "prod"), label("region", regions[i%3]),
			prop("kubernetes-fleet.io/node-count", fmt.Sprint(1+i%17))))
	}
	policy := pickN(100)
	policy.Affinity = requiredLabels(map[string]string{"env": "prod"})
	policy.Affinity.ClusterAffinity.PreferredDuringSchedulingIgnoredDuringExecution = []placementv1beta1.PreferredClusterSelector{{Weight: 100,
		Preference: placementv1beta1.ClusterSelectorTerm{PropertySorter: &placementv1beta1.PropertySorter{Name: "kubernetes-fleet.io/node-count", SortOrder: placementv1beta1.Descending}}}}
	policy.TopologySpreadConstraints = []placementv1beta1.TopologySpreadConstraint{{TopologyKey: "region", WhenUnsatisfiable: placementv1beta1.DoNotSchedule}}
	b.ResetTimer()
	for range b.N {
		res := Default().Schedule(policy, clusters, nil, true, now)
		if len(res.Picked) != 100 {
			b.Fatalf("picked %d", len(res.Picked))
		}
	}
}
