package updaterun

import (
	"fmt"
	"sort"
	"strings"

	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/providers"
)

// ConsistentImages picks, for each image family, the newest version that every profile's
// region offers: the oldest of the regions' newest versions, since a region that offers a
// version also offers the older ones. Profiles without the family do not count for it.
func ConsistentImages(profiles []*updatesv1alpha1.MemberUpgradeProfileStatus) []updatesv1alpha1.NodeImageVersion {
	chosen := map[string]string{}
	for _, p := range profiles {
		if p == nil {
			continue
		}
		for family, latest := range p.LatestNodeImages {
			if cur, ok := chosen[family]; !ok || providers.CompareVersions(latest, cur) < 0 {
				chosen[family] = latest
			}
		}
	}
	out := make([]updatesv1alpha1.NodeImageVersion, 0, len(chosen))
	for family, v := range chosen {
		out = append(out, updatesv1alpha1.NodeImageVersion{Family: family, Version: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Family < out[j].Family })
	return out
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
			if selected == nil || !ok {
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
