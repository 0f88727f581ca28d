// Package member wires the member agent's controllers into one manager. The manager's cache
// covers only the member's own hub namespace, fleet-member-<name>: the agent's identity may
// read nothing else. `flotilla agent` runs it; the local fleet runs one per member in-process.
package member

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/member/imc"
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
}

// NewManager builds the agent's manager. hubCfg is the agent's own identity on the hub;
// memberCfg reaches its member cluster.
func NewManager(hubCfg, memberCfg *rest.Config, opts Options) (ctrl.Manager, error) {
	if opts.Name == "" {
		return nil, errors.New("the member agent needs the member's name (--name)")
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
	memberClient, err := kubernetes.NewForConfig(memberCfg)
	if err != nil {
		return nil, err
	}
	heartbeat := &imc.Reconciler{Hub: mgr.GetClient(), Member: memberClient, MemberName: opts.Name}
	if err := heartbeat.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("ping", func(_ *http.Request) error { return nil }); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("heartbeat", heartbeat.Ready); err != nil {
		return nil, err
	}
	return mgr, nil
}

// Run runs a member agent until ctx ends.
func Run(ctx context.Context, hubCfg, memberCfg *rest.Config, opts Options) error {
	mgr, err := NewManager(hubCfg, memberCfg, opts)
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
