// Package member wires the member agent's controllers into one manager. The manager's own
// cache covers only the member's hub namespace, fleet-member-<name>: the agent's identity may
// read nothing else there. A second cache, for the member cluster itself, is added to the
// same manager for controllers that watch member objects. `flotilla agent` runs it; the
// local fleet runs one per member in-process.
package member

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/install"
	"github.com/flotilla-dev/flotilla/internal/member/credentials"
	"github.com/flotilla-dev/flotilla/internal/member/imc"
	"github.com/flotilla-dev/flotilla/internal/member/upgrade"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// Options configure a member agent.
type Options struct {
	// Name is the member's name, as on its MemberCluster.
	Name string
	// MetricsAddr and HealthAddr are listen addresses; "0" or empty turns each off. The
	// health endpoint serves /healthz and /readyz; /readyz fails while heartbeats fail.
	MetricsAddr string
	HealthAddr  string
	// UpgradeProvider names the upgrade provider that runs in this agent ("local" in the
	// local fleet); empty runs none. NodeUpgradeDuration is the local provider's time per node.
	UpgradeProvider     string
	NodeUpgradeDuration time.Duration
	// WorkResyncPeriod is how often applied Works are checked for drift; 0 means 30 s.
	WorkResyncPeriod time.Duration
	// HubTokenStore holds the agent's hub token, which the agent renews before it expires;
	// nil for credentials it cannot renew (a client certificate, a token without expiry).
	HubTokenStore credentials.Store
	// HubTokenRenewFraction is the share of a token's lifetime after which it is renewed;
	// 0 means credentials.DefaultRenewFraction.
	HubTokenRenewFraction float64
}

// Env is what every member-agent controller gets to set itself up.
type Env struct {
	// Name is the member's name and HubNamespace its hub namespace, fleet-member-<name>.
	Name         string
	HubNamespace string
	// Manager runs every controller; its client and cache are the hub's, as the agent.
	Manager ctrl.Manager
	// Member is the member cluster: a client, and a cache started by Manager.
	Member cluster.Cluster
	// MemberClientset is a typed client of the member, for discovery and subresources.
	MemberClientset kubernetes.Interface
	// MemberConfig reaches the member cluster's API server.
	MemberConfig *rest.Config
	// Options are the agent's options.
	Options Options
}

// controllers lists the member agent's controllers. Each capability adds one entry.
var controllers = []func(Env) error{
	setupCredentials,
	setupHeartbeat,
	setupUpgrade,
	setupNetworking,
	setupWorkApplier,
}

func setupUpgrade(env Env) error {
	return upgrade.Setup(env.Manager, upgrade.Options{
		Provider: env.Options.UpgradeProvider, MemberName: env.Name, Member: env.Member,
		MemberClientset: env.MemberClientset, MemberConfig: env.MemberConfig, NodeDuration: env.Options.NodeUpgradeDuration,
	})
}

// NewManager puts the CRDs the agent needs on its member cluster (install.Member), then
// builds the agent's manager: the CRDs must be served before the member cache watches them.
// hubCfg is the agent's own identity on the hub; memberCfg reaches its member cluster.
func NewManager(ctx context.Context, hubCfg, memberCfg *rest.Config, opts Options) (ctrl.Manager, error) {
	if opts.Name == "" {
		return nil, errors.New("the member agent needs the member's name (--name)")
	}
	if err := install.Member(ctx, memberCfg); err != nil {
		return nil, fmt.Errorf("installing the agent's CRDs on member %s: %w", opts.Name, err)
	}
	ns := clusterv1beta1.NamespaceForMember(opts.Name)
	mgr, err := ctrl.NewManager(hubCfg, ctrl.Options{
		Scheme:                 scheme.Scheme,
		Metrics:                metricsserver.Options{BindAddress: orOff(opts.MetricsAddr)},
		HealthProbeBindAddress: orOff(opts.HealthAddr),
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
		// Several agents may run in one process (the local fleet); each needs its own names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the agent manager of %s: %w", opts.Name, err)
	}
	memberCluster, err := cluster.New(memberCfg, func(o *cluster.Options) { o.Scheme = scheme.Scheme })
	if err != nil {
		return nil, fmt.Errorf("connecting to the member cluster of %s: %w", opts.Name, err)
	}
	if err := mgr.Add(memberCluster); err != nil {
		return nil, err
	}
	memberClientset, err := kubernetes.NewForConfig(memberCfg)
	if err != nil {
		return nil, err
	}
	env := Env{
		Name: opts.Name, HubNamespace: ns, Manager: mgr, Member: memberCluster,
		MemberClientset: memberClientset, MemberConfig: memberCfg, Options: opts,
	}
	for _, setup := range controllers {
		if err := setup(env); err != nil {
			return nil, err
		}
	}
	if err := mgr.AddHealthzCheck("ping", func(_ *http.Request) error { return nil }); err != nil {
		return nil, err
	}
	return mgr, nil
}

func setupCredentials(env Env) error {
	return credentials.Setup(env.Manager, credentials.Options{
		Store: env.Options.HubTokenStore, Fraction: env.Options.HubTokenRenewFraction, MemberName: env.Name,
	})
}

func setupHeartbeat(env Env) error {
	return imc.Setup(env.Manager, imc.Options{Member: env.MemberClientset, MemberName: env.Name})
}

// Run runs a member agent until ctx ends.
func Run(ctx context.Context, hubCfg, memberCfg *rest.Config, opts Options) error {
	mgr, err := NewManager(ctx, hubCfg, memberCfg, opts)
	if err != nil {
		return err
	}
	return mgr.Start(ctx)
}

func orOff(addr string) string {
	if addr == "" {
		return "0"
	}
	return addr
}
