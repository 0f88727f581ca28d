// Package placementtest holds what the placement controllers' integration tests and the
// scheduling benchmark share: a manager that runs only the controllers under test against a
// real hub, and MemberClusters whose status is set by hand, as if their agents reported.
package placementtest

import (
	"context"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/placement"
	"github.com/flotilla-dev/flotilla/internal/hub/rollout"
	"github.com/flotilla-dev/flotilla/internal/hub/scheduler"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// StartManager runs a manager with the given controller setups until the test ends. The
// membership controller is left out on purpose: it would overwrite the hand-set member
// statuses with the (empty) reports of agents that do not run.
func StartManager(tb testing.TB, cfg *rest.Config, setups ...func(ctrl.Manager) error) {
	tb.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 500, 1000
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     scheme.Scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range setups {
		if err := s(mgr); err != nil {
			tb.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("manager: %v", err)
		}
	})
}

// Client returns an uncached admin client of the hub.
func Client(tb testing.TB, cfg *rest.Config) client.Client {
	tb.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 500, 1000
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Member describes a MemberCluster to create.
type Member struct {
	Name       string
	Labels     map[string]string
	Properties map[string]string
	Taints     []clusterv1beta1.Taint
	// Stale makes the last heartbeat an hour old, so the member is not eligible.
	Stale bool
}

// CreateMember creates a MemberCluster and writes its status as a joined, healthy agent
// would. Calling it again for an existing member updates labels, taints and status.
func CreateMember(ctx context.Context, c client.Client, m Member) error {
	mc := &clusterv1beta1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: m.Name}}
	if err := c.Get(ctx, client.ObjectKeyFromObject(mc), mc); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return err
		}
		mc.Labels = m.Labels
		mc.Spec = clusterv1beta1.MemberClusterSpec{
			Identity: rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: m.Name + "-agent", Namespace: "fleet-system"},
			Taints:   m.Taints,
		}
		if err := c.Create(ctx, mc); err != nil {
			return err
		}
	} else {
		mc.Labels = m.Labels
		mc.Spec.Taints = m.Taints
		if err := c.Update(ctx, mc); err != nil {
			return err
		}
	}
	return SetMemberStatus(ctx, c, mc, m)
}

// SetMemberStatus writes the agent-reported part of a member's status.
func SetMemberStatus(ctx context.Context, c client.Client, mc *clusterv1beta1.MemberCluster, m Member) error {
	now := time.Now()
	heartbeat := now
	if m.Stale {
		heartbeat = now.Add(-time.Hour)
	}
	mc.Status.AgentStatus = []clusterv1beta1.AgentStatus{{
		Type: clusterv1beta1.MemberAgent,
		Conditions: []metav1.Condition{
			{Type: clusterv1beta1.ConditionJoined, Status: metav1.ConditionTrue, Reason: "Joined", LastTransitionTime: metav1.NewTime(now)},
			{Type: clusterv1beta1.ConditionHealthy, Status: metav1.ConditionTrue, Reason: "Healthy", LastTransitionTime: metav1.NewTime(now)},
		},
		LastReceivedHeartbeat: metav1.NewTime(heartbeat),
	}}
	mc.Status.Properties = map[clusterv1beta1.PropertyName]clusterv1beta1.PropertyValue{}
	for k, v := range m.Properties {
		mc.Status.Properties[clusterv1beta1.PropertyName(k)] = clusterv1beta1.PropertyValue{Value: v, ObservationTime: metav1.NewTime(now)}
	}
	return c.Status().Update(ctx, mc)
}

// PlacementController, Scheduler and Rollout register those controllers with their default
// options, for StartManager.
func PlacementController(m ctrl.Manager) error { return placement.Setup(m, placement.Options{}) }

// Scheduler is as PlacementController.
func Scheduler(m ctrl.Manager) error { return scheduler.Setup(m, scheduler.Options{}) }

// Rollout is as PlacementController.
func Rollout(m ctrl.Manager) error { return rollout.Setup(m, rollout.Options{}) }
