// Package hub wires the hub controllers into one controller-runtime manager. `flotilla hub`
// runs it against a hub cluster; the local fleet and the e2e tests run it in-process.
package hub

import (
	"context"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/hub/clusterprofile"
	"github.com/flotilla-dev/flotilla/internal/hub/membership"
	"github.com/flotilla-dev/flotilla/internal/hub/updaterun"
	"github.com/flotilla-dev/flotilla/internal/hub/upgradeexec"
	"github.com/flotilla-dev/flotilla/internal/providers"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// Options configure the hub controllers.
type Options struct {
	// ForceDeleteWait is how long a deleted MemberCluster waits for its agent to leave.
	ForceDeleteWait time.Duration
	// MetricsAddr and HealthAddr are the listen addresses of the metrics and health
	// endpoints; "0" or empty turns each off.
	MetricsAddr string
	HealthAddr  string
	// LeaderElection makes several hub replicas take turns.
	LeaderElection bool
	// UpgradeProviders are the upgrade providers that run in the hub (see internal/providers).
	UpgradeProviders []providers.Provider
	// StaleGrace is how long after the hub controllers start, or the hub's API server
	// answers again, no member is judged stale; zero means eligibility.HeartbeatStaleAfter.
	StaleGrace time.Duration
	// ClientQPS and ClientBurst limit the hub manager's requests to its API server. Zero
	// means controllerdefaults.ClientQPS and ClientBurst (500 and 1000), unless the rest
	// config given asks for more.
	ClientQPS   float32
	ClientBurst int
	// MaxStaleShare is the share of joined members that may look stale at once before the
	// scheduler stops moving placements away from stale members; zero means
	// eligibility.DefaultMaxStaleShare.
	MaxStaleShare float64
}

// Env is what every hub controller gets to set itself up.
type Env struct {
	Manager ctrl.Manager
	Options Options
}

// controllers lists the hub controllers. Each capability adds one entry.
var controllers = []func(Env) error{
	setupMembership,
	setupClusterProfiles,
	setupUpdates,
	setupNetworking,
	setupPlacement,
	setupWorkGenerator,
	setupReportBack,
}

func setupUpdates(env Env) error {
	if err := updaterun.Setup(env.Manager, updaterun.Options{}); err != nil {
		return err
	}
	return upgradeexec.Setup(env.Manager, upgradeexec.Options{Providers: env.Options.UpgradeProviders})
}

// setupClusterProfiles registers the cluster inventory API's view of the members.
func setupClusterProfiles(env Env) error {
	return clusterprofile.Setup(env.Manager, clusterprofile.Options{})
}

func setupMembership(env Env) error {
	return membership.Setup(env.Manager, membership.Options{ForceDeleteWait: env.Options.ForceDeleteWait})
}

// NewManager builds the hub's manager with every hub controller registered.
func NewManager(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	// The hub only cares about the namespaces, Roles and RoleBindings it made for members;
	// caching just those keeps its memory flat however many other objects the hub holds.
	memberObjects, err := labels.NewRequirement(clusterv1beta1.MemberNameLabel, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	memberSelector := labels.NewSelector().Add(*memberObjects)
	cfg = rest.CopyConfig(cfg)
	if opts.ClientQPS > 0 {
		cfg.QPS, cfg.Burst = opts.ClientQPS, opts.ClientBurst
	} else if cfg.QPS < controllerdefaults.ClientQPS {
		cfg.QPS, cfg.Burst = controllerdefaults.ClientQPS, controllerdefaults.ClientBurst
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme.Scheme,
		Metrics:                metricsserver.Options{BindAddress: orOff(opts.MetricsAddr)},
		HealthProbeBindAddress: orOff(opts.HealthAddr),
		LeaderElection:         opts.LeaderElection,
		// Tests and the local fleet may build more than one hub manager in a process.
		Controller:              config.Controller{SkipNameValidation: ptr.To(true)},
		LeaderElectionID:        "flotilla-hub",
		LeaderElectionNamespace: "fleet-system",
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.Namespace{}:   {Label: memberSelector},
			&rbacv1.Role{}:        {Label: memberSelector},
			&rbacv1.RoleBinding{}: {Label: memberSelector},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the hub manager: %w", err)
	}
	env := Env{Manager: mgr, Options: opts}
	for _, setup := range controllers {
		if err := setup(env); err != nil {
			return nil, err
		}
	}
	if err := mgr.AddHealthzCheck("ping", func(_ *http.Request) error { return nil }); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("cache", func(r *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(r.Context()) {
			return fmt.Errorf("caches not synced")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return mgr, nil
}

// Run runs the hub controllers until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, opts Options) error {
	mgr, err := NewManager(cfg, opts)
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
