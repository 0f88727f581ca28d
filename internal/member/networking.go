package member

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/internal/member/multiclusterservice"
	"github.com/flotilla-dev/flotilla/internal/member/netagents"
	"github.com/flotilla-dev/flotilla/internal/member/serviceexport"
	"github.com/flotilla-dev/flotilla/internal/member/serviceimport"
	"github.com/flotilla-dev/flotilla/internal/networking/crds"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// setupNetworking installs the MCS and MultiClusterService CRDs on the member (never
// replacing ones already there) and registers the export, import and MultiClusterService
// controllers and their agent-status report.
func setupNetworking(env Env) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	memberCRDs, err := crds.Member()
	if err != nil {
		return err
	}
	// The member cache starts with the manager, later; read the CRDs directly.
	direct, err := client.New(env.MemberConfig, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return err
	}
	if err := crds.Ensure(ctx, direct, memberCRDs); err != nil {
		return fmt.Errorf("installing the networking CRDs on member %s: %w", env.Name, err)
	}
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
