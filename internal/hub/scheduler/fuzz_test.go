package scheduler

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// FuzzLabelSelector checks a term's label selector against a plain reading of the rules:
// matchLabels must all be equal, In needs the key with one of the values, NotIn is the
// negation of In, Exists and DoesNotExist look at the key only. A selector the API would
// refuse must not match, and must say it is invalid.
func FuzzLabelSelector(f *testing.F) {
	f.Add("env", "prod", "env", "prod", "In", "prod,dev", false)
	f.Add("env", "dev", "zone", "a", "NotIn", "a", true)
	f.Add("", "", "env", "", "Exists", "", false)
	f.Add("k", "v", "k", "v", "DoesNotExist", "", true)
	f.Add("bad key!", "v", "k", "v", "In", "", false)
	f.Fuzz(func(t *testing.T, labelKey, labelValue, matchKey, matchValue, op, values string, withMatchLabels bool) {
		mc := member("m")
		mc.Labels[labelKey] = labelValue
		var vals []string
		if values != "" {
			vals = strings.Split(values, ",")
		}
		sel := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: matchKey, Operator: metav1.LabelSelectorOperator(op), Values: vals}}}
		if withMatchLabels {
			sel.MatchLabels = map[string]string{matchKey: matchValue}
		}
		got, why := termMatches(&placementv1beta1.ClusterSelectorTerm{LabelSelector: sel}, &mc)
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			if got || !strings.Contains(why, "invalid labelSelector") {
				t.Fatalf("invalid selector %v: matched=%v, reason %q; want no match and an invalid-selector reason", sel, got, why)
			}
			return
		}
		have, present := mc.Labels[matchKey]
		want := !withMatchLabels || (present && have == matchValue)
		in := false
		for _, v := range vals {
			in = in || (present && have == v)
		}
		switch metav1.LabelSelectorOperator(op) {
		case metav1.LabelSelectorOpIn:
			want = want && in
		case metav1.LabelSelectorOpNotIn:
			want = want && !in
		case metav1.LabelSelectorOpExists:
			want = want && present
		case metav1.LabelSelectorOpDoesNotExist:
			want = want && !present
		}
		if got != want {
			t.Fatalf("labels %v, selector %v: matched=%v, want %v (%s)", mc.Labels, sel, got, want, why)
		}
		if !got && why == "" {
			t.Fatalf("labels %v, selector %v: no match and no reason", mc.Labels, sel)
		}
	})
}

// FuzzPropertySelector checks property comparison: compareValues is antisymmetric and
// reflexive, and each operator agrees with its complement (GreaterThan is the opposite of
// LessThanOrEqualTo, EqualTo of NotEqualTo, and so on) whenever the values are comparable.
func FuzzPropertySelector(f *testing.F) {
	f.Add("4", "2")
	f.Add("500m", "1")
	f.Add("16Gi", "17179869184")
	f.Add("v1.35.2", "1.35.10")
	f.Add("v1.35.2", "16Gi")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, have, value string) {
		const name = "example.com/p"
		mc := member("m", prop(name, have))
		ab, errAB := compareValues(have, value)
		ba, errBA := compareValues(value, have)
		if (errAB == nil) != (errBA == nil) {
			t.Fatalf("compareValues(%q, %q) err=%v but reversed err=%v", have, value, errAB, errBA)
		}
		if errAB == nil && ab != -ba {
			t.Fatalf("compareValues(%q, %q)=%d but reversed=%d", have, value, ab, ba)
		}
		if self, err := compareValues(have, have); err == nil && self != 0 {
			t.Fatalf("compareValues(%q, itself)=%d", have, self)
		}
		match := func(op placementv1beta1.PropertySelectorOperator) (bool, string) {
			return propertyMatches(placementv1beta1.PropertySelectorRequirement{Name: name, Operator: op, Values: []string{value}}, &mc)
		}
		for _, pair := range [][2]placementv1beta1.PropertySelectorOperator{
			{placementv1beta1.PropertySelectorGreaterThan, placementv1beta1.PropertySelectorLessThanOrEqualTo},
			{placementv1beta1.PropertySelectorLessThan, placementv1beta1.PropertySelectorGreaterThanOrEqualTo},
			{placementv1beta1.PropertySelectorEqualTo, placementv1beta1.PropertySelectorNotEqualTo},
		} {
			a, whyA := match(pair[0])
			b, whyB := match(pair[1])
			if errAB != nil {
				if a || b || whyA == "" || whyB == "" {
					t.Fatalf("%q vs %q cannot be compared, yet %s=%v (%q) %s=%v (%q)", have, value, pair[0], a, whyA, pair[1], b, whyB)
				}
				continue
			}
			if a == b {
				t.Fatalf("%q vs %q: %s=%v and its complement %s=%v", have, value, pair[0], a, pair[1], b)
			}
		}
	})
}

// fuzzFleet builds members and a policy from fuzz bytes: each byte of shape describes one
// member (its zone label, env label, a node-count property, a taint, eligibility), and
// policy picks the placement type, how many clusters, the affinity terms and a spread
// constraint.
func fuzzFleet(shape []byte, kind, n uint8, weight int32, spread, tolerate bool) ([]clusterv1beta1.MemberCluster, *placementv1beta1.PlacementPolicy, map[string]bool) {
	if len(shape) > 40 {
		shape = shape[:40]
	}
	var clusters []clusterv1beta1.MemberCluster
	placed := map[string]bool{}
	for i, b := range shape {
		// MemberClusters are cluster-scoped, so names are unique.
		name := fmt.Sprintf("m%d", i)
		opts := []func(*clusterv1beta1.MemberCluster){
			label("env", []string{"prod", "dev"}[b&1]),
			prop("kubernetes-fleet.io/node-count", fmt.Sprint(int(b>>1)&7)),
		}
		if b&0x10 == 0 {
			opts = append(opts, label("zone", fmt.Sprint("z", (b>>2)&3)))
		}
		if b&0x20 != 0 {
			opts = append(opts, taint("dedicated", "gpu"))
		}
		if b&0x40 != 0 {
			opts = append(opts, staleHeartbeat)
		}
		clusters = append(clusters, member(name, opts...))
		if b&0x08 != 0 {
			placed[name] = true
		}
	}
	policy := &placementv1beta1.PlacementPolicy{}
	switch kind % 3 {
	case 0:
		policy.PlacementType = placementv1beta1.PickAllPlacementType
	case 1:
		policy.PlacementType = placementv1beta1.PickNPlacementType
		num := int32(n % 50)
		policy.NumberOfClusters = &num
	default:
		policy.PlacementType = placementv1beta1.PickFixedPlacementType
		for i := 0; i < int(n%6); i++ {
			policy.ClusterNames = append(policy.ClusterNames, fmt.Sprintf("m%d", i*int(kind%5+1)))
		}
	}
	policy.Affinity = &placementv1beta1.Affinity{ClusterAffinity: &placementv1beta1.ClusterAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []placementv1beta1.PreferredClusterSelector{
			{Weight: weight % 101, Preference: placementv1beta1.ClusterSelectorTerm{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}},
			{Weight: 50, Preference: placementv1beta1.ClusterSelectorTerm{PropertySorter: &placementv1beta1.PropertySorter{
				Name: "kubernetes-fleet.io/node-count", SortOrder: placementv1beta1.Ascending}}},
		}}}
	if n&0x80 != 0 {
		policy.Affinity.ClusterAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &placementv1beta1.ClusterSelector{
			ClusterSelectorTerms: []placementv1beta1.ClusterSelectorTerm{{PropertySelector: &placementv1beta1.PropertySelector{
				MatchExpressions: []placementv1beta1.PropertySelectorRequirement{{Name: "kubernetes-fleet.io/node-count",
					Operator: placementv1beta1.PropertySelectorGreaterThanOrEqualTo, Values: []string{fmt.Sprint(n & 3)}}}}}}}
	}
	if spread {
		skew := int32(n%3) + 1
		policy.TopologySpreadConstraints = []placementv1beta1.TopologySpreadConstraint{{MaxSkew: &skew, TopologyKey: "zone"}}
	}
	if tolerate {
		policy.Tolerations = []placementv1beta1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	}
	return clusters, policy, placed
}

// FuzzSchedule runs the framework on random fleets and policies. Invariants: no cluster is
// picked twice or both picked and not picked; PickN picks at most what it wants and
// fills up to it when enough candidates pass; every PickAll or PickN pick passes every
// filter; PickFixed picks only named clusters; affinity scores stay within the weights'
// range; and the same input gives the same result.
func FuzzSchedule(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5}, uint8(1), uint8(3), int32(20), true, false, true)
	f.Add([]byte{0x20, 0x40, 0x08, 0x88, 0x11}, uint8(0), uint8(0), int32(-30), false, true, false)
	f.Add([]byte{1, 0x81, 0x82, 0x83}, uint8(2), uint8(4), int32(0), false, false, true)
	f.Add([]byte{}, uint8(1), uint8(2), int32(7), true, true, false)
	f.Fuzz(func(t *testing.T, shape []byte, kind, n uint8, weight int32, spread, tolerate, keepPlaced bool) {
		clusters, policy, placed := fuzzFleet(shape, kind, n, weight, spread, tolerate)
		fw := Default()
		res := fw.Schedule(policy, clusters, placed, keepPlaced, now)

		seen := map[string]bool{}
		for _, d := range res.Picked {
			if seen[d.ClusterName] {
				t.Fatalf("%s picked twice: %v", d.ClusterName, names(res.Picked))
			}
			seen[d.ClusterName] = true
			if !d.Selected {
				t.Fatalf("picked decision for %s is not Selected", d.ClusterName)
			}
		}
		for _, d := range res.NotPicked {
			if d.Selected {
				t.Fatalf("not-picked decision for %s is Selected", d.ClusterName)
			}
		}
		exists := map[string]bool{}
		for i := range clusters {
			exists[clusters[i].Name] = true
		}
		lo, hi := min(0, weight%101), max(0, weight%101)+50
		for _, d := range res.Picked {
			if !exists[d.ClusterName] {
				t.Fatalf("picked %s, which is not in the fleet", d.ClusterName)
			}
			if d.ClusterScore != nil && d.ClusterScore.AffinityScore != nil {
				if s := *d.ClusterScore.AffinityScore; s < lo || s > hi {
					t.Fatalf("%s scored %d, outside [%d, %d]", d.ClusterName, s, lo, hi)
				}
			}
		}

		switch policy.PlacementType {
		case placementv1beta1.PickNPlacementType:
			want := int(*policy.NumberOfClusters)
			if res.Wanted != want || len(res.Picked) > want {
				t.Fatalf("PickN %d picked %d (wanted %d)", want, len(res.Picked), res.Wanted)
			}
			if !spread && len(res.Picked) < want {
				passedNames := passing(fw, policy, clusters, placed)
				if len(passedNames) > len(res.Picked) {
					t.Fatalf("PickN %d without spread picked %d though %d distinct clusters pass the filters", want, len(res.Picked), len(passedNames))
				}
			}
			fallthrough
		case placementv1beta1.PickAllPlacementType:
			passedNames := passing(fw, policy, clusters, placed)
			for _, d := range res.Picked {
				if !passedNames[d.ClusterName] {
					t.Fatalf("%s picked but fails a filter", d.ClusterName)
				}
			}
			if policy.PlacementType == placementv1beta1.PickAllPlacementType && len(seen) != len(passedNames) {
				t.Fatalf("PickAll picked %v but %d clusters pass", names(res.Picked), len(passedNames))
			}
		case placementv1beta1.PickFixedPlacementType:
			named := map[string]bool{}
			for _, n := range policy.ClusterNames {
				named[n] = true
			}
			for _, d := range res.Picked {
				if !named[d.ClusterName] {
					t.Fatalf("PickFixed picked %s, which it does not name", d.ClusterName)
				}
			}
		}

		again := fw.Schedule(policy, clusters, placed, keepPlaced, now)
		if fmt.Sprint(names(again.Picked)) != fmt.Sprint(names(res.Picked)) {
			t.Fatalf("same input, different picks: %v then %v", names(res.Picked), names(again.Picked))
		}
	})
}

// passing is the set of names of the clusters that pass every filter.
func passing(fw *Framework, policy *placementv1beta1.PlacementPolicy, clusters []clusterv1beta1.MemberCluster, placed map[string]bool) map[string]bool {
	s := &State{Policy: policy, Placed: placed, Now: now}
	ptrs := make([]*clusterv1beta1.MemberCluster, len(clusters))
	for i := range clusters {
		ptrs[i] = &clusters[i]
	}
	passed, _ := fw.filter(s, ptrs)
	out := map[string]bool{}
	for _, mc := range passed {
		out[mc.Name] = true
	}
	return out
}
