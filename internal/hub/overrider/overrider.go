// Package overrider decides which overrides apply to a placement on a member, and applies
// them to the placement's manifests. It is pure: the rollout records what applies in each
// binding, and the work generator applies it when it writes the member's Works.
//
// An override applies to a placement on a member when it names that placement (or names
// none), selects at least one of the placement's resources, and has a rule whose
// clusterSelector matches the member (a rule without one matches every member). The
// ClusterResourceOverrides apply first, then the ResourceOverrides, each in name order,
// each rule in order.
package overrider

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"k8s.io/apimachinery/pkg/types"
	"sort"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"k8s.io/apimachinery/pkg/runtime/schema"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/scheduler"
)

// Snapshots are override snapshots: the latest of each override when choosing, or those a
// binding names when applying.
type Snapshots struct {
	Cluster    []placementv1beta1.ClusterResourceOverrideSnapshot
	Namespaced []placementv1beta1.ResourceOverrideSnapshot
}

// Hash is the hash an override snapshot records of its spec.
func Hash(spec any) ([]byte, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return sum[:], nil
}

// Applicable returns the names of the snapshots that apply to placement crp on member mc,
// given the identifiers of the placement's resources; both lists are sorted.
func Applicable(s Snapshots, placement types.NamespacedName, resources []placementv1beta1.ResourceIdentifier, mc *clusterv1beta1.MemberCluster) ([]string, []placementv1beta1.NamespacedName) {
	var cluster []string
	for i := range s.Cluster {
		o := &s.Cluster[i]
		spec := &o.Spec.OverrideSpec
		if forPlacement(spec.Placement, "", placement) && selectsAny(clusterSelectorsMatch(spec.ClusterResourceSelectors), resources) && anyRuleMatches(spec.Policy, mc) {
			cluster = append(cluster, o.Name)
		}
	}
	var namespaced []placementv1beta1.NamespacedName
	for i := range s.Namespaced {
		o := &s.Namespaced[i]
		spec := &o.Spec.OverrideSpec
		if forPlacement(spec.Placement, o.Namespace, placement) && selectsAny(resourceSelectorsMatch(o.Namespace, spec.ResourceSelectors), resources) && anyRuleMatches(spec.Policy, mc) {
			namespaced = append(namespaced, placementv1beta1.NamespacedName{Namespace: o.Namespace, Name: o.Name})
		}
	}
	sort.Strings(cluster)
	sort.Slice(namespaced, func(i, j int) bool {
		if namespaced[i].Namespace != namespaced[j].Namespace {
			return namespaced[i].Namespace < namespaced[j].Namespace
		}
		return namespaced[i].Name < namespaced[j].Name
	})
	return cluster, namespaced
}

// forPlacement says whether an override (in namespace overrideNS, "" for a
// ClusterResourceOverride) covers the placement: one without a reference covers every
// placement that selects its resources; a Cluster reference names a ClusterResourcePlacement,
// a Namespaced one a ResourcePlacement in the override's own namespace.
func forPlacement(ref *placementv1beta1.PlacementRef, overrideNS string, placement types.NamespacedName) bool {
	if ref == nil {
		return true
	}
	if ref.Scope == placementv1beta1.NamespaceScoped {
		return placement.Namespace != "" && placement.Namespace == overrideNS && ref.Name == placement.Name
	}
	return placement.Namespace == "" && ref.Name == placement.Name
}

type matcher func(placementv1beta1.ResourceIdentifier) bool

func selectsAny(m matcher, resources []placementv1beta1.ResourceIdentifier) bool {
	for _, r := range resources {
		if m(r) {
			return true
		}
	}
	return false
}

func clusterSelectorsMatch(sel []placementv1beta1.ClusterResourceSelector) matcher {
	return func(r placementv1beta1.ResourceIdentifier) bool {
		if r.Namespace != "" {
			return false
		}
		for _, s := range sel {
			if s.Group == r.Group && s.Version == r.Version && s.Kind == r.Kind && s.Name == r.Name {
				return true
			}
		}
		return false
	}
}

func resourceSelectorsMatch(namespace string, sel []placementv1beta1.ResourceSelector) matcher {
	return func(r placementv1beta1.ResourceIdentifier) bool {
		if r.Namespace != namespace {
			return false
		}
		for _, s := range sel {
			if s.Group == r.Group && s.Version == r.Version && s.Kind == r.Kind && s.Name == r.Name {
				return true
			}
		}
		return false
	}
}

func anyRuleMatches(p *placementv1beta1.OverridePolicy, mc *clusterv1beta1.MemberCluster) bool {
	if p == nil {
		return false
	}
	for i := range p.OverrideRules {
		if ruleMatches(&p.OverrideRules[i], mc) {
			return true
		}
	}
	return false
}

func ruleMatches(r *placementv1beta1.OverrideRule, mc *clusterv1beta1.MemberCluster) bool {
	if r.ClusterSelector == nil {
		return true
	}
	for i := range r.ClusterSelector.ClusterSelectorTerms {
		if scheduler.TermMatches(&r.ClusterSelector.ClusterSelectorTerms[i], mc) {
			return true
		}
	}
	return false
}

// Result is one manifest after the overrides.
type Result struct {
	// Raw is the changed object; nil when Deleted.
	Raw []byte
	// Deleted says a Delete rule leaves the object off the member.
	Deleted bool
}

// Apply runs the overrides in s on one manifest for member mc. An error names the
// override, the rule, the patch and the path; the caller places nothing on the member then.
func Apply(raw []byte, id placementv1beta1.ResourceIdentifier, s Snapshots, mc *clusterv1beta1.MemberCluster) (Result, error) {
	doc := raw
	for i := range s.Cluster {
		o := &s.Cluster[i]
		if !clusterSelectorsMatch(o.Spec.OverrideSpec.ClusterResourceSelectors)(id) {
			continue
		}
		out, err := applyPolicy(doc, o.Spec.OverrideSpec.Policy, mc, "ClusterResourceOverride snapshot "+o.Name)
		if err != nil || out.Deleted {
			return out, err
		}
		doc = out.Raw
	}
	for i := range s.Namespaced {
		o := &s.Namespaced[i]
		if !resourceSelectorsMatch(o.Namespace, o.Spec.OverrideSpec.ResourceSelectors)(id) {
			continue
		}
		out, err := applyPolicy(doc, o.Spec.OverrideSpec.Policy, mc, "ResourceOverride snapshot "+o.Namespace+"/"+o.Name)
		if err != nil || out.Deleted {
			return out, err
		}
		doc = out.Raw
	}
	return Result{Raw: doc}, nil
}

func applyPolicy(doc []byte, p *placementv1beta1.OverridePolicy, mc *clusterv1beta1.MemberCluster, who string) (Result, error) {
	if p == nil {
		return Result{Raw: doc}, nil
	}
	for i := range p.OverrideRules {
		r := &p.OverrideRules[i]
		if !ruleMatches(r, mc) {
			continue
		}
		if r.OverrideType == placementv1beta1.DeleteOverrideType {
			return Result{Deleted: true}, nil
		}
		for j, po := range r.JSONPatchOverrides {
			out, err := patchOne(doc, po, mc)
			if err != nil {
				return Result{}, fmt.Errorf("%s, overrideRules[%d].jsonPatchOverrides[%d] (%s %s): %w", who, i, j, po.Operator, po.Path, err)
			}
			doc = out
		}
	}
	return Result{Raw: doc}, nil
}

func patchOne(doc []byte, po placementv1beta1.JSONPatchOverride, mc *clusterv1beta1.MemberCluster) ([]byte, error) {
	op := map[string]any{"op": string(po.Operator), "path": po.Path}
	if po.Operator != placementv1beta1.JSONPatchRemove {
		if len(po.Value.Raw) == 0 {
			return nil, fmt.Errorf("the %s op needs a value", po.Operator)
		}
		value, err := substitute(string(po.Value.Raw), mc)
		if err != nil {
			return nil, err
		}
		op["value"] = json.RawMessage(value)
	}
	data, err := json.Marshal([]any{op})
	if err != nil {
		return nil, err
	}
	patch, err := jsonpatch.DecodePatch(data)
	if err != nil {
		return nil, err
	}
	return patch.Apply(doc)
}

const (
	memberNameVariable  = "${MEMBER-CLUSTER-NAME}"
	memberLabelVariable = "${MEMBER-CLUSTER-LABEL-KEY-"
)

// substitute replaces the member variables in a JSON value. Member names and label values
// hold no quotes or backslashes, so the JSON stays valid.
func substitute(value string, mc *clusterv1beta1.MemberCluster) (string, error) {
	value = strings.ReplaceAll(value, memberNameVariable, mc.Name)
	for {
		start := strings.Index(value, memberLabelVariable)
		if start < 0 {
			return value, nil
		}
		end := strings.Index(value[start:], "}")
		if end < 0 {
			return "", fmt.Errorf("unterminated variable in value %s", value)
		}
		key := value[start+len(memberLabelVariable) : start+end]
		label, ok := mc.Labels[key]
		if !ok {
			return "", fmt.Errorf("the member has no label %q, which ${MEMBER-CLUSTER-LABEL-KEY-%s} needs: add the label to the MemberCluster or change the rule's clusterSelector", key, key)
		}
		value = value[:start] + label + value[start+end+1:]
	}
}

// Identify reads the identifier of a snapshot's object. An object that cannot be read
// matches no override.
func Identify(raw []byte) placementv1beta1.ResourceIdentifier {
	var o struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return placementv1beta1.ResourceIdentifier{}
	}
	gv, _ := schema.ParseGroupVersion(o.APIVersion)
	return placementv1beta1.ResourceIdentifier{Group: gv.Group, Version: gv.Version, Kind: o.Kind, Name: o.Metadata.Name, Namespace: o.Metadata.Namespace}
}
