// Package fleetup starts a complete local fleet: the kube components of localfleet, the
// members registered with their labels and fake nodes, the hub controllers, and one member
// agent per member, each with its own hub identity. `flotilla local up` and the e2e tests
// use it.
package fleetup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"net/netip"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/install"
	"github.com/flotilla-dev/flotilla/internal/loadbalancer"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/member"
	"github.com/flotilla-dev/flotilla/internal/member/credentials"
	"github.com/flotilla-dev/flotilla/internal/providers/local"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// Options say what fleet to bring up.
type Options struct {
	Members int
	// Spare are more member clusters, started after the members with nothing of Flotilla on
	// them: no MemberCluster and no agent, for `flotilla member join` to join.
	Spare int
	Dir   string
	// HeartbeatSeconds is each member's heartbeatPeriodSeconds.
	HeartbeatSeconds int32
	// ForceDeleteWait is the hub's wait for an agent that does not leave.
	ForceDeleteWait time.Duration
	// Binaries are the kube components; see localfleet.FindBinaries.
	Binaries localfleet.Binaries
	// NodeUpgradeDuration is the local upgrade provider's time per node (0: its default).
	NodeUpgradeDuration time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// LoadBalancerRange is where the local L4 data plane takes load balancer addresses
	// from; zero means loadbalancer.DefaultRange (127.240.0.0/16).
	LoadBalancerRange netip.Prefix
	// Workloads, when set, runs the workload controllers, a scheduler and kwok on each member
	// (see localfleet.FindWorkloadBinaries), so placed workloads really become available.
	Workloads *localfleet.WorkloadBinaries
	// WorkResyncPeriod is how often member agents check applied Works for drift; 0 is the default.
	WorkResyncPeriod time.Duration
	// Restart says what to do when a child process (etcd, an API server, ...) dies that
	// nobody stopped; the zero policy restarts nothing and fails the fleet (Failed).
	Restart localfleet.RestartPolicy
}

// loopbackRange is the only range the local data plane may take addresses from.
var loopbackRange = netip.MustParsePrefix("127.0.0.0/8")

// CheckLoadBalancerRange checks a load balancer range, as given, after masking: it must lie
// inside 127.0.0.0/8, so that the local data plane never listens beyond loopback. It
// returns the masked range.
func CheckLoadBalancerRange(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return p, fmt.Errorf("%s is not a CIDR range such as %s", p, loadbalancer.DefaultRange)
	}
	m := p.Masked()
	if !m.Addr().Is4() || m.Bits() < loopbackRange.Bits() || !loopbackRange.Contains(m.Addr()) {
		return m, fmt.Errorf("%s is %s, which is not inside %s: the local data plane listens on loopback only; give a range such as %s",
			p, m, loopbackRange, loadbalancer.DefaultRange)
	}
	return m, nil
}

// Fleet is a running local fleet with its controllers.
type Fleet struct {
	*localfleet.Fleet
	// Hub is an admin client of the hub.
	Hub client.Client
	// AgentConfigs are the members' own hub identities, by member name.
	AgentConfigs map[string]*rest.Config
	// LoadBalancer is the local L4 data plane serving the members' LoadBalancer Services.
	LoadBalancer *loadbalancer.Balancer

	nodeUpgradeDuration time.Duration
	workResync          time.Duration
	joined              int // the first joined of Members are members; the rest are spare
	forceDeleteWait     time.Duration
	hubs                []*hubReplica
	stopLoadBalancer    context.CancelFunc
	agents              map[string]context.CancelFunc
	wg                  sync.WaitGroup
	log                 io.Writer
	mu                  sync.Mutex
	running             map[string]bool // the controllers goRun started that have not ended
	errs                []error
	stopping            bool
	// controllerFailed is closed when the hub controllers, an agent or the load balancer
	// ended with an error while the fleet was not stopping.
	controllerFailed chan struct{}
	failed, stopped  chan struct{}
}

// Up starts the fleet. It returns once every process runs and every member is registered;
// WaitJoined waits for the agents to join.
func Up(ctx context.Context, opts Options) (_ *Fleet, err error) {
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	if opts.HeartbeatSeconds == 0 {
		opts.HeartbeatSeconds = 5
	}
	if opts.LoadBalancerRange.IsValid() {
		if opts.LoadBalancerRange, err = CheckLoadBalancerRange(opts.LoadBalancerRange); err != nil {
			return nil, fmt.Errorf("the load balancer range: %w", err)
		}
	}
	lf, err := localfleet.Start(ctx, localfleet.Options{
		Members: opts.Members + opts.Spare, Dir: opts.Dir, Binaries: opts.Binaries, Workloads: opts.Workloads,
		Restart: opts.Restart, Log: logw,
	})
	if err != nil {
		return nil, err
	}
	if err := install.Hub(ctx, lf.Hub.Config); err != nil {
		lf.Stop()
		return nil, fmt.Errorf("installing Flotilla's CRDs and policies on the hub: %w", err)
	}
	f := &Fleet{Fleet: lf, AgentConfigs: map[string]*rest.Config{}, agents: map[string]context.CancelFunc{}, workResync: opts.WorkResyncPeriod,
		joined: opts.Members, log: logw, running: map[string]bool{},
		controllerFailed: make(chan struct{}), failed: make(chan struct{}), stopped: make(chan struct{})}
	go f.watchFailures()
	defer func() {
		if err != nil {
			f.Stop()
		}
	}()
	fmt.Fprintf(logw, "API servers ready: hub and %d members\n", opts.Members+opts.Spare)
	if f.Hub, err = client.New(lf.Hub.Config, client.Options{Scheme: scheme.Scheme}); err != nil {
		return nil, err
	}

	f.forceDeleteWait = opts.ForceDeleteWait
	if err := f.StartHubs(1); err != nil {
		return nil, err
	}

	if err := local.WriteCatalogIfMissing(ctx, f.Hub, local.DefaultCatalog(localfleet.KubeVersion)); err != nil {
		return nil, err
	}
	f.nodeUpgradeDuration = opts.NodeUpgradeDuration
	for i, m := range lf.Members {
		// A spare cluster gets its nodes like any member, and nothing of Flotilla.
		if i < opts.Members {
			agentCfg, err := lf.RegisterMember(ctx, m, opts.HeartbeatSeconds, localfleet.MemberLabels(i+1),
				map[string]string{updatesv1alpha1.ProviderAnnotation: updatesv1alpha1.ProviderLocal})
			if err != nil {
				return nil, err
			}
			f.AgentConfigs[m.Name] = agentCfg
		}
		if err := localfleet.SeedNodes(ctx, m.Config, localfleet.DefaultNodePools(), localfleet.KubeVersion); err != nil {
			return nil, fmt.Errorf("seeding the nodes of %s: %w", m.Name, err)
		}
		if err := local.LabelNodesWithRegion(ctx, m.Config, localfleet.RegionOf(i+1)); err != nil {
			return nil, fmt.Errorf("labelling the nodes of %s: %w", m.Name, err)
		}
		if i < opts.Members {
			f.StartAgent(m.Name)
		}
	}
	lbCtx, stopLoadBalancer := context.WithCancel(context.Background())
	f.stopLoadBalancer = stopLoadBalancer
	f.startLoadBalancer(lbCtx, opts.LoadBalancerRange)
	return f, nil
}

// startLoadBalancer runs the local L4 data plane for every member until ctx ends.
func (f *Fleet) startLoadBalancer(ctx context.Context, lbRange netip.Prefix) {
	members := map[string]*rest.Config{}
	for _, m := range f.Members {
		members[m.Name] = m.Config
	}
	f.LoadBalancer = loadbalancer.New(loadbalancer.Options{Range: lbRange, Log: ctrllog.Log.WithName("loadbalancer")})
	f.goRun("load balancer", func() error { return f.LoadBalancer.Run(ctx, members) })
}

// StartAgent starts the member agent of the named member, as its own hub identity.
func (f *Fleet) StartAgent(name string) {
	m := f.Member(name)
	ctx, cancel := context.WithCancel(context.Background())
	f.mu.Lock()
	f.agents[name] = cancel
	f.mu.Unlock()
	f.goRun("agent "+name, func() error {
		return member.Run(ctx, f.AgentConfigs[name], m.Config, member.Options{
			Name: name, UpgradeProvider: updatesv1alpha1.ProviderLocal, NodeUpgradeDuration: f.nodeUpgradeDuration,
			WorkResyncPeriod: f.workResync,
			HubTokenStore:    credentials.FileStore{Path: f.AgentTokenPath(name)},
		})
	})
}

// StopAgent stops the member agent of the named member, as if it crashed.
func (f *Fleet) StopAgent(name string) {
	f.mu.Lock()
	cancel := f.agents[name]
	delete(f.agents, name)
	f.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (f *Fleet) goRun(what string, run func() error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.goRunLocked(what, run)
}

// goRunLocked is goRun for a caller that holds f.mu.
func (f *Fleet) goRunLocked(what string, run func() error) {
	f.wg.Add(1)
	f.running[what] = true
	go func() {
		defer f.wg.Done()
		err := run()
		f.mu.Lock()
		delete(f.running, what)
		f.mu.Unlock()
		if err != nil {
			f.mu.Lock()
			f.errs = append(f.errs, fmt.Errorf("%s: %w", what, err))
			if !f.stopping && len(f.errs) == 1 {
				close(f.controllerFailed)
			}
			f.mu.Unlock()
		}
	}()
}

// Failed is closed when a part of the fleet ended that should run: a child process that
// died and was not restarted (localfleet.Fleet.Failed), or the hub controllers, an agent or
// the load balancer returning an error. Err then says which, and why.
func (f *Fleet) Failed() <-chan struct{} { return f.failed }

// watchFailures closes failed when either kind of failure happens, until the fleet stops.
func (f *Fleet) watchFailures() {
	select {
	case <-f.Fleet.Failed():
	case <-f.controllerFailed:
	case <-f.stopped:
		return
	}
	close(f.failed)
}

// Err returns the errors with which controllers stopped, and the death of a child process
// that was not restarted, if any.
func (f *Fleet) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return errors.Join(append([]error{f.Failure()}, f.errs...)...)
}

// JoinedMembers is how many of Members were joined at start; the rest are spare clusters.
func (f *Fleet) JoinedMembers() int { return f.joined }

// WaitJoined waits until every member's MemberCluster is Joined=True (the spare clusters
// have none).
func (f *Fleet) WaitJoined(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		pending, err := f.notJoined(ctx)
		if err == nil && len(pending) == 0 {
			return nil
		}
		if err := f.Err(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("members not joined after %s: %v (last error: %w)", timeout, pending, err)
		case <-ticker.C:
		}
	}
}

func (f *Fleet) notJoined(ctx context.Context) ([]string, error) {
	var pending []string
	for _, m := range f.Members[:f.joined] {
		mc := &clusterv1beta1.MemberCluster{}
		if err := f.Hub.Get(ctx, client.ObjectKey{Name: m.Name}, mc); err != nil {
			return []string{m.Name}, err
		}
		if !meta.IsStatusConditionTrue(mc.Status.Conditions, clusterv1beta1.ConditionJoined) {
			pending = append(pending, m.Name)
		}
	}
	return pending, nil
}

// Stop stops the agents, the hub controllers and every process of the fleet.
func (f *Fleet) Stop() {
	f.mu.Lock()
	if !f.stopping {
		close(f.stopped)
	}
	f.stopping = true
	for name, cancel := range f.agents {
		cancel()
		delete(f.agents, name)
	}
	f.mu.Unlock()
	f.cancelHubs()
	if f.stopLoadBalancer != nil {
		f.stopLoadBalancer()
	}
	f.waitControllers(controllerStopWait)
	f.Fleet.Stop()
}

// controllerStopWait bounds how long Stop waits for the controllers to end before it stops
// the processes anyway. A controller manager that is still starting when the storage under
// its API server dies waits for caches that cannot sync, cancelled or not; the fleet must
// stop all the same.
const controllerStopWait = 30 * time.Second

func (f *Fleet) waitControllers(limit time.Duration) {
	done := make(chan struct{})
	go func() {
		f.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		f.mu.Lock()
		names := make([]string, 0, len(f.running))
		for name := range f.running {
			names = append(names, name)
		}
		f.mu.Unlock()
		sort.Strings(names)
		fmt.Fprintf(f.log, "%s did not stop within %s; stopping the processes anyway\n", strings.Join(names, ", "), limit)
	}
}
