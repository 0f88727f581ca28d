// Package nettest starts one member-side networking controller against a test fleet, the
// way the member agent would run it, for that controller's own integration test.
package nettest

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/flotilla-dev/flotilla/internal/install"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// MemberName is the member the controller runs for: the fleet's first member.
const MemberName = "member-1"

// HubNamespace is that member's namespace on the hub.
const HubNamespace = "fleet-member-" + MemberName

// Start installs the member CRDs on the fleet's first member, makes its hub namespace, and runs
// the controllers that setup registers (with a hub cache limited to that namespace and the
// member's cluster) until the test ends. It returns admin clients of the hub and the member.
func Start(t *testing.T, fleet *localfleet.Fleet, setup func(mgr ctrl.Manager, member cluster.Cluster) error) (hub, member client.Client) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	hub, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	must(err)
	member, err = client.New(fleet.Members[0].Config, client.Options{Scheme: scheme.Scheme})
	must(err)
	if err := hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: HubNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	memberCRDs, err := install.MemberNetworking()
	must(err)
	must(install.Ensure(ctx, member, memberCRDs))

	mgr, err := ctrl.NewManager(fleet.Hub.Config, ctrl.Options{
		Scheme: scheme.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:      cache.Options{DefaultNamespaces: map[string]cache.Config{HubNamespace: {}}},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	must(err)
	mc, err := cluster.New(fleet.Members[0].Config, func(o *cluster.Options) { o.Scheme = scheme.Scheme })
	must(err)
	must(mgr.Add(mc))
	must(setup(mgr, mc))
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return hub, member
}
