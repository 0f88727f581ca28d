package member

import (
	"k8s.io/client-go/dynamic"

	"github.com/flotilla-dev/flotilla/internal/member/workapplier"
)

// setupWorkApplier registers the work applier.
func setupWorkApplier(env Env) error {
	dyn, err := dynamic.NewForConfig(env.MemberConfig)
	if err != nil {
		return err
	}
	return workapplier.Setup(env.Manager, workapplier.Options{
		Member: env.Member, Dynamic: dyn, Clientset: env.MemberClientset, MemberName: env.Name,
		ResyncPeriod: env.Options.WorkResyncPeriod,
	})
}
