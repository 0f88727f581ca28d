package networking_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/member/serviceexport"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// Deleting a ServiceExport while the hub cannot be reached does not hang for good: the
// agent retries the withdrawal for WithdrawTimeout, then lets the ServiceExport go. Once the
// agent reaches the hub again, it withdraws the orphaned export.
func TestDeletingAServiceExportNeverHangs(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := "withdraw"
	namespace(t, ns)
	svc := service(ns, "web", "http:80")
	create(t, "member-3", svc, export(ns, "web"))
	hubKey := client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember("member-3"), Name: ns + ".web"}
	g.Eventually(func() error {
		return fleet.Hub.Get(ctx, hubKey, &networkingv1alpha1.InternalServiceExport{})
	}, timeout, 100*time.Millisecond).Should(Succeed())
	expectCondition(t, "member-3", ns, "web", "Valid", metav1.ConditionTrue, "Valid")

	// The member agent is down, and this stand-in for it cannot reach the hub.
	fleet.StopAgent("member-3")
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			fleet.StartAgent("member-3")
		}
	})
	unreachable, err := client.New(&rest.Config{Host: "https://127.0.0.1:1", Timeout: time.Second}, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	memberCluster, err := cluster.New(fleet.Member("member-3").Config, func(o *cluster.Options) { o.Scheme = scheme.Scheme })
	g.Expect(err).NotTo(HaveOccurred())
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = memberCluster.Start(cctx) }()
	g.Expect(memberCluster.GetCache().WaitForCacheSync(cctx)).To(BeTrue())
	r := &serviceexport.Reconciler{Hub: unreachable, HubNamespace: hubKey.Namespace, Member: memberCluster,
		MemberName: "member-3", WithdrawTimeout: 2 * time.Second}

	del(t, "member-3", export(ns, "web"))
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: "web"}}
	g.Eventually(func() bool {
		se := &mcsv1beta1.ServiceExport{}
		_ = memberCluster.GetClient().Get(ctx, req.NamespacedName, se)
		return se.DeletionTimestamp != nil
	}, timeout, 50*time.Millisecond).Should(BeTrue())
	_, err = r.Reconcile(ctx, req)
	g.Expect(err).To(HaveOccurred(), "within the timeout, the withdrawal is retried")
	g.Expect(members["member-3"].Get(ctx, req.NamespacedName, &mcsv1beta1.ServiceExport{})).To(Succeed())

	g.Eventually(func(g Gomega) {
		_, _ = r.Reconcile(ctx, req)
		err := members["member-3"].Get(ctx, req.NamespacedName, &mcsv1beta1.ServiceExport{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the ServiceExport is still there: %v", err)
	}, 10*time.Second, 200*time.Millisecond).Should(Succeed())
	// The hub side is still there: nothing could reach the hub.
	g.Expect(fleet.Hub.Get(ctx, hubKey, &networkingv1alpha1.InternalServiceExport{})).To(Succeed())

	// The real agent comes back and withdraws the orphaned export.
	fleet.StartAgent("member-3")
	restarted = true
	g.Eventually(func() bool {
		return apierrors.IsNotFound(fleet.Hub.Get(ctx, hubKey, &networkingv1alpha1.InternalServiceExport{}))
	}, timeout, 100*time.Millisecond).Should(BeTrue())
}
