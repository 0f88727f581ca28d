package updaterun

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/providers"
)

// consistentChoice is a Consistent run's decision on its images: either the images, or the
// members it still waits for, each with why.
type consistentChoice struct {
	images  []updatesv1alpha1.NodeImageVersion
	waiting []string // "member-2 (no MemberUpgradeProfile yet)", in member order
}

// chooseConsistent picks, for each image family the run's members' node pools use, the
// newest version that every one of those members' regions offers: the oldest of the
// regions' newest versions, since a region that offers a version also offers the older
// ones. It picks nothing while any member lacks a profile, node pools in it, or its
// region's newest image of a family its pools use: an image chosen from part of the
// fleet may be one the rest cannot run.
func chooseConsistent(members []*MemberFacts) consistentChoice {
	var out consistentChoice
	chosen := map[string]string{}
	for _, mf := range members {
		p := mf.Profile
		switch {
		case p == nil:
			out.waiting = append(out.waiting, mf.Name+" (no MemberUpgradeProfile yet)")
			continue
		case len(p.NodePools) == 0:
			out.waiting = append(out.waiting, mf.Name+" (its profile lists no node pools)")
			continue
		}
		var missing []string
		for _, pool := range p.NodePools {
			latest := p.LatestNodeImages[pool.ImageFamily]
			if latest == "" {
				missing = append(missing, pool.ImageFamily)
				continue
			}
			if cur, ok := chosen[pool.ImageFamily]; !ok || providers.CompareVersions(latest, cur) < 0 {
				chosen[pool.ImageFamily] = latest
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			out.waiting = append(out.waiting, fmt.Sprintf("%s (no newest image of %s in its profile)", mf.Name, strings.Join(slices.Compact(missing), ", ")))
		}
	}
	if len(out.waiting) > 0 {
		return consistentChoice{waiting: out.waiting}
	}
	for family, v := range chosen {
		out.images = append(out.images, updatesv1alpha1.NodeImageVersion{Family: family, Version: v})
	}
	sort.Slice(out.images, func(i, j int) bool { return out.images[i].Family < out.images[j].Family })
	return out
}

// isConsistent says whether the run fixes node images for all its members.
func isConsistent(run *updatesv1alpha1.UpdateRun) bool {
	sel := run.Spec.ManagedClusterUpdate.NodeImageSelection
	return sel != nil && sel.Type == updatesv1alpha1.NodeImageConsistent &&
		run.Spec.ManagedClusterUpdate.Upgrade.Type != updatesv1alpha1.UpgradeControlPlaneOnly
}

// target is what one member's operation asks for, or why there is none.
type target struct {
	spec updatesv1alpha1.MemberUpdateSpec
	// pending says why the target is not offered in the member's region.
	pending string
	// atTarget says the member already runs the target.
	atTarget bool
}

// memberTarget works out a member's operation from its profile and the run's update.
// selected holds the Consistent images (nil for Latest).
func memberTarget(run *updatesv1alpha1.UpdateRun, selected []updatesv1alpha1.NodeImageVersion, m *MemberFacts) target {
	up := run.Spec.ManagedClusterUpdate.Upgrade
	t := target{spec: updatesv1alpha1.MemberUpdateSpec{
		UpdateRun: run.Name, Provider: m.Provider, Type: up.Type, KubernetesVersion: providers.NormalizeVersion(up.KubernetesVersion),
	}}
	p := m.Profile
	if p == nil {
		t.pending = fmt.Sprintf("the %s provider has not published a MemberUpgradeProfile for %s yet", m.Provider, m.Name)
		return t
	}
	region := p.Region
	if region == "" {
		region = "unknown"
	}
	atTarget := true
	if up.Type != updatesv1alpha1.UpgradeNodeImageOnly {
		want := providers.NormalizeVersion(up.KubernetesVersion)
		offered := false
		for _, v := range p.AvailableKubernetesVersions {
			if providers.NormalizeVersion(v) == want {
				offered = true
			}
		}
		current := providers.NormalizeVersion(p.KubernetesVersion) == want
		if up.Type == updatesv1alpha1.UpgradeFull {
			for _, pool := range p.NodePools {
				current = current && providers.NormalizeVersion(pool.KubernetesVersion) == want
			}
		}
		if !offered && !current {
			t.pending = fmt.Sprintf("Kubernetes %s is not offered in region %s (offered: %s)", want, region, strings.Join(p.AvailableKubernetesVersions, ", "))
			return t
		}
		atTarget = atTarget && current
	}
	if up.Type != updatesv1alpha1.UpgradeControlPlaneOnly {
		wanted := map[string]string{}
		for _, s := range selected {
			wanted[s.Family] = s.Version
		}
		families := map[string]bool{}
		for _, pool := range p.NodePools {
			families[pool.ImageFamily] = true
		}
		names := make([]string, 0, len(families))
		for f := range families {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, family := range names {
			latest, offered := p.LatestNodeImages[family]
			version, ok := wanted[family]
			switch {
			case isConsistent(run) && !ok:
				// Never another image than the run's: the run fails the member instead.
				t.pending = fmt.Sprintf("node image family %s of %s is not among the run's selected images", family, m.Name)
				return t
			case !ok:
				version = latest
			}
			if !offered || version == "" || providers.CompareVersions(version, latest) > 0 {
				t.pending = fmt.Sprintf("node image %s-%s is not offered in region %s (newest there: %q)", family, version, region, latest)
				return t
			}
			t.spec.NodeImageVersions = append(t.spec.NodeImageVersions, updatesv1alpha1.NodeImageVersion{Family: family, Version: version})
			for _, pool := range p.NodePools {
				if pool.ImageFamily == family && pool.NodeImageVersion != version {
					atTarget = false
				}
			}
		}
	}
	t.atTarget = atTarget
	return t
}
