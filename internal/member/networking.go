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
	if err := serviceexport.Setup(env.Manager, serviceexport.Options{Member: env.Member, MemberName: env.Name}); err != nil {
		return err
	}
	if err := serviceimport.Setup(env.Manager, serviceimport.Options{Member: env.Member, MemberName: env.Name}); err != nil {
		return err
	}
	if err := multiclusterservice.Setup(env.Manager, multiclusterservice.Options{Member: env.Member, MemberName: env.Name}); err != nil {
		return err
	}
	return netagents.Setup(env.Manager, netagents.Options{Member: env.Member.GetClient(), MemberName: env.Name})
}
