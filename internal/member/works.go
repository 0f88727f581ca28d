package member

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/flotilla-dev/flotilla/internal/install"
	"github.com/flotilla-dev/flotilla/internal/member/workapplier"
)

// setupWorkApplier installs the AppliedWork CRD on the member, then registers the work
// applier. The CRD must be served before the member cache starts watching AppliedWorks.
func setupWorkApplier(env Env) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := install.MemberCRDs(ctx, env.MemberConfig); err != nil {
		return fmt.Errorf("installing the AppliedWork CRD on member %s: %w", env.Name, err)
	}
	dyn, err := dynamic.NewForConfig(env.MemberConfig)
	if err != nil {
		return err
	}
	return (&workapplier.Reconciler{
		Hub: env.Manager.GetClient(), HubReader: env.Manager.GetAPIReader(),
		Member: env.Member, Dynamic: dyn, Clientset: env.MemberClientset,
		MemberName: env.Name, HubNamespace: env.HubNamespace,
		ResyncPeriod: env.Options.WorkResyncPeriod,
	}).SetupWithManager(env.Manager)
}
