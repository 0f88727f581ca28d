// Command crdversions adds to the CRDs that controller-gen wrote the API versions that
// KubeFleet serves besides the storage version: for the kinds below, v1 (and for some
// v1alpha1) is served with the same schema and printer columns as v1beta1, which stays the
// storage version. The schemas are the same, so the API server needs no conversion webhook
// (conversion strategy None only changes apiVersion). `make generate` runs it:
//
//	go run ./hack/crdversions config/crd/bases
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// servedAlso lists, per group/kind, the versions served besides the storage version, as
// KubeFleet serves them (../shared/kubefleet/crds).
var servedAlso = map[string][]string{
	"cluster.kubernetes-fleet.io/MemberCluster":                              {"v1"},
	"cluster.kubernetes-fleet.io/InternalMemberCluster":                      {"v1"},
	"placement.kubernetes-fleet.io/ClusterResourcePlacement":                 {"v1"},
	"placement.kubernetes-fleet.io/ClusterResourceBinding":                   {"v1"},
	"placement.kubernetes-fleet.io/ClusterResourceSnapshot":                  {"v1"},
	"placement.kubernetes-fleet.io/ClusterSchedulingPolicySnapshot":          {"v1"},
	"placement.kubernetes-fleet.io/Work":                                     {"v1"},
	"placement.kubernetes-fleet.io/AppliedWork":                              {"v1"},
	"placement.kubernetes-fleet.io/ClusterResourcePlacementStatus":           {"v1"},
	"placement.kubernetes-fleet.io/ClusterResourceOverride":                  {"v1", "v1alpha1"},
	"placement.kubernetes-fleet.io/ClusterResourceOverrideSnapshot":          {"v1", "v1alpha1"},
	"placement.kubernetes-fleet.io/ResourceOverride":                         {"v1", "v1alpha1"},
	"placement.kubernetes-fleet.io/ResourceOverrideSnapshot":                 {"v1", "v1alpha1"},
	"placement.kubernetes-fleet.io/ClusterResourcePlacementEviction":         {"v1alpha1"},
	"placement.kubernetes-fleet.io/ClusterResourcePlacementDisruptionBudget": {"v1alpha1"},
	"placement.kubernetes-fleet.io/ResourcePlacement":                        {"v1"},
	"placement.kubernetes-fleet.io/ClusterStagedUpdateStrategy":              {"v1", "v1alpha1"},
	"placement.kubernetes-fleet.io/ClusterStagedUpdateRun":                   {"v1", "v1alpha1"},
	"placement.kubernetes-fleet.io/ClusterApprovalRequest":                   {"v1", "v1alpha1"},
	"placement.kubernetes-fleet.io/StagedUpdateStrategy":                     {"v1"},
	"placement.kubernetes-fleet.io/StagedUpdateRun":                          {"v1"},
	"placement.kubernetes-fleet.io/ApprovalRequest":                          {"v1"},
}

// noDefaultIn lists, per added version, properties (as parent/child names) whose default
// KubeFleet's schema of that version lacks; the copy drops it there. A status field's default
// only matters to what the hub writes, so the versions still convert without loss.
var noDefaultIn = map[string][]string{
	"v1": {"envelope/type"},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: crdversions DIR (the folder of CRDs controller-gen wrote)")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "crdversions:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, f := range files {
		key, changed, err := addVersions(f)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if changed {
			seen[key] = true
		}
	}
	for key := range servedAlso {
		if !seen[key] {
			return fmt.Errorf("no CRD in %s for %s: remove it from servedAlso, or add its type", dir, key)
		}
	}
	return nil
}

// addVersions rewrites one CRD file when its kind has versions to add, and returns the
// kind's group/kind key and whether it did.
func addVersions(path string) (string, bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", false, err
	}
	var crd map[string]any
	if err := yaml.Unmarshal(data, &crd); err != nil {
		return "", false, err
	}
	spec, _ := crd["spec"].(map[string]any)
	names, _ := spec["names"].(map[string]any)
	group, _ := spec["group"].(string)
	kind, _ := names["kind"].(string)
	key := group + "/" + kind
	extra := servedAlso[key]
	if len(extra) == 0 {
		return key, false, nil
	}
	versions, _ := spec["versions"].([]any)
	var storage map[string]any
	have := map[string]bool{}
	for _, v := range versions {
		m, _ := v.(map[string]any)
		have[m["name"].(string)] = true
		if s, _ := m["storage"].(bool); s {
			storage = m
		}
	}
	if storage == nil {
		return "", false, fmt.Errorf("%s has no storage version", key)
	}
	for _, name := range extra {
		if have[name] {
			return "", false, fmt.Errorf("%s already has version %s: controller-gen makes it now, so drop it from servedAlso", key, name)
		}
		copied, err := deepCopy(storage)
		if err != nil {
			return "", false, err
		}
		copied["name"] = name
		copied["storage"] = false
		copied["served"] = true
		for _, pair := range noDefaultIn[name] {
			parent, child, _ := strings.Cut(pair, "/")
			dropDefault(copied, parent, child)
		}
		versions = append(versions, copied)
	}
	sort.Slice(versions, func(i, j int) bool {
		return versions[i].(map[string]any)["name"].(string) < versions[j].(map[string]any)["name"].(string)
	})
	spec["versions"] = versions
	out, err := yaml.Marshal(crd)
	if err != nil {
		return "", false, err
	}
	return key, true, os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}

// dropDefault removes the default of every property child of a property parent, anywhere in
// the schema.
func dropDefault(node any, parent, child string) {
	switch n := node.(type) {
	case map[string]any:
		if props, ok := n["properties"].(map[string]any); ok {
			if p, ok := props[parent].(map[string]any); ok {
				if pp, ok := p["properties"].(map[string]any); ok {
					if c, ok := pp[child].(map[string]any); ok {
						delete(c, "default")
					}
				}
			}
		}
		for _, v := range n {
			dropDefault(v, parent, child)
		}
	case []any:
		for _, v := range n {
			dropDefault(v, parent, child)
		}
	}
}

func deepCopy(m map[string]any) (map[string]any, error) {
	data, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, yaml.Unmarshal(data, &out)
}
