// Package upgrade runs an upgrade provider inside the member agent: the executor carries
// out the member's MemberUpdates, and the profile publisher keeps its MemberUpgradeProfile
// current (on node changes, after each operation, and every ProfileInterval to pick up
// catalog edits).
package upgrade

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/providers"
	"github.com/flotilla-dev/flotilla/internal/providers/local"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// ProfileInterval is how often the profile is refreshed without a node event, so that an
// edit of the hub's node image catalog shows within that time.
const ProfileInterval = 10 * time.Second

// DefaultNodeDuration is how long the local provider takes per node.
const DefaultNodeDuration = 2 * time.Second

// Options are what Setup needs from the agent.
type Options struct {
	// Provider names the member's provider; only "local" runs in the agent today.
	Provider string
	// MemberName is the member's name.
	MemberName string
	// Member is the member cluster (its cache is started by Manager).
	Member          cluster.Cluster
	MemberClientset kubernetes.Interface
	MemberConfig    *rest.Config
	// NodeDuration is the local provider's time per node; 0 means DefaultNodeDuration.
	NodeDuration time.Duration
}

// Setup registers the executor and profile publisher of the configured provider with the
// agent's manager (its client reaches the member's hub namespace).
func Setup(mgr ctrl.Manager, cfg Options) error {
	if cfg.Provider == "" {
		return nil
	}
	if cfg.Provider != updatesv1alpha1.ProviderLocal {
		return fmt.Errorf("--upgrade-provider %q cannot run in the member agent: only %q does (aks and clusterapi run in the hub)",
			cfg.Provider, updatesv1alpha1.ProviderLocal)
	}
	if cfg.NodeDuration == 0 {
		cfg.NodeDuration = DefaultNodeDuration
	}
	memberClient, err := client.New(cfg.MemberConfig, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return err
	}
	p := &local.Provider{
		Member: memberClient, Clientset: cfg.MemberClientset,
		Hub: mgr.GetAPIReader(), HubWriter: mgr.GetClient(), NodeDuration: cfg.NodeDuration,
	}
	pub := &Publisher{Client: mgr.GetClient(), Provider: p, Member: providers.Member{Name: cfg.MemberName}}
	exec := &providers.Executor{
		Client: mgr.GetClient(), Providers: map[string]providers.Provider{p.Name(): p},
		Published: func(ctx context.Context, _ providers.Member) { _ = pub.Publish(ctx) },
		Name:      "upgrade-executor-" + cfg.MemberName,
	}
	if err := exec.Register(mgr, 1); err != nil {
		return err
	}
	return pub.register(mgr, cfg.Member)
}

// Publisher keeps the member's MemberUpgradeProfile current.
type Publisher struct {
	Client   client.Client
	Provider providers.Provider
	Member   providers.Member
}

// Publish writes the profile now.
func (p *Publisher) Publish(ctx context.Context) error {
	return providers.PublishProfile(ctx, p.Client, p.Provider, p.Member, time.Now())
}

// register publishes on start, on every node change, and every ProfileInterval.
func (p *Publisher) register(mgr ctrl.Manager, member cluster.Cluster) error {
	one := handler.TypedEnqueueRequestsFromMapFunc(func(context.Context, *corev1.Node) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: p.Member.Name}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("upgrade-profile-" + p.Member.Name).
		WatchesRawSource(source.Kind(member.GetCache(), &corev1.Node{}, one)).
		WithOptions(controllerdefaults.Options(0)).
		Complete(p)
}

// Reconcile publishes the profile.
func (p *Publisher) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	if err := p.Publish(ctx); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: ProfileInterval}, nil
}
