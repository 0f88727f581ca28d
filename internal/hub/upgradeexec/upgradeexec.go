// Package upgradeexec runs hub-side upgrade providers (those that call an outside API, such
// as AKS or Cluster API) in the hub: an executor for their MemberUpdates, and a publisher
// of each member's MemberUpgradeProfile. Members choose a provider with the MemberCluster
// annotation updates.flotilla.dev/provider.
package upgradeexec

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
	"github.com/flotilla-dev/flotilla/internal/providers"
)

// ProfileInterval is how often a hub-side provider's profiles are refreshed.
const ProfileInterval = time.Minute

// Options say which hub-side providers run, and with how many operations at once.
type Options struct {
	Providers []providers.Provider
	// Workers is how many MemberUpdates are stepped at once; 0 means DefaultWorkers.
	Workers int
}

// DefaultWorkers is the default of Options.Workers.
const DefaultWorkers = 8

// Setup registers the executor and profile publisher for the given providers. With none,
// it does nothing.
func Setup(mgr ctrl.Manager, opts Options) error {
	list, workers := opts.Providers, opts.Workers
	if len(list) == 0 {
		return nil
	}
	if workers <= 0 {
		workers = DefaultWorkers
	}
	byName := map[string]providers.Provider{}
	for _, p := range list {
		byName[p.Name()] = p
	}
	c := mgr.GetClient()
	memberOf := func(ctx context.Context, namespace string) (providers.Member, error) {
		m, err := providers.MemberFromNamespace(ctx, namespace)
		if err != nil {
			return m, err
		}
		mc := &clusterv1beta1.MemberCluster{}
		if err := c.Get(ctx, client.ObjectKey{Name: m.Name}, mc); err != nil {
			return m, err
		}
		m.Annotations = mc.Annotations
		return m, nil
	}
	pub := &publisher{client: c, providers: byName}
	exec := &providers.Executor{
		Client: c, Providers: byName, MemberOf: memberOf, Name: "hub-upgrade-executor",
		Published: func(ctx context.Context, m providers.Member) { _, _ = pub.publish(ctx, m.Name) },
	}
	if err := exec.Register(mgr, workers); err != nil {
		return err
	}
	hasProvider := predicate.NewPredicateFuncs(func(o client.Object) bool {
		return byName[o.GetAnnotations()[updatesv1alpha1.ProviderAnnotation]] != nil
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("hub-upgrade-profiles").
		For(&clusterv1beta1.MemberCluster{}, builder.WithPredicates(hasProvider)).
		WithOptions(controllerdefaults.Options(workers)).
		Complete(pub)
}

type publisher struct {
	client    client.Client
	providers map[string]providers.Provider
}

func (p *publisher) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ok, err := p.publish(ctx, req.Name)
	if err != nil || !ok {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: ProfileInterval}, nil
}

func (p *publisher) publish(ctx context.Context, name string) (bool, error) {
	mc := &clusterv1beta1.MemberCluster{}
	if err := p.client.Get(ctx, client.ObjectKey{Name: name}, mc); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	prov := p.providers[mc.Annotations[updatesv1alpha1.ProviderAnnotation]]
	if prov == nil || mc.DeletionTimestamp != nil {
		return false, nil
	}
	err := providers.PublishProfile(ctx, p.client, prov, providers.Member{Name: mc.Name, Annotations: mc.Annotations}, time.Now())
	if apierrors.IsNotFound(err) {
		// The member's namespace is not there yet; membership makes it.
		return false, err
	}
	return err == nil, err
}
