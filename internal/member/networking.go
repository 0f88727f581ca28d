package member

import (
	"github.com/flotilla-dev/flotilla/internal/member/multiclusterservice"
	"github.com/flotilla-dev/flotilla/internal/member/netagents"
	"github.com/flotilla-dev/flotilla/internal/member/serviceexport"
	"github.com/flotilla-dev/flotilla/internal/member/serviceimport"
)

// setupNetworking registers the export, import and MultiClusterService controllers and
// their agent-status report.
func setupNetworking(env Env) error {
	hub := env.Manager.GetClient()
	if err := (&serviceexport.Reconciler{Hub: hub, HubNamespace: env.HubNamespace, Member: env.Member, MemberName: env.Name}).SetupWithManager(env.Manager); err != nil {
		return err
	}
	if err := (&serviceimport.Reconciler{Hub: hub, HubNamespace: env.HubNamespace, Member: env.Member, MemberName: env.Name}).SetupWithManager(env.Manager); err != nil {
		return err
	}
	if err := (&multiclusterservice.Reconciler{Hub: hub, HubNamespace: env.HubNamespace, Member: env.Member, MemberName: env.Name}).SetupWithManager(env.Manager); err != nil {
		return err
	}
	return (&netagents.Reconciler{Hub: hub, Member: env.Member.GetClient(), MemberName: env.Name}).SetupWithManager(env.Manager)
}
