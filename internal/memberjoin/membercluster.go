package memberjoin

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterac "github.com/flotilla-dev/flotilla/api/cluster/v1beta1/applyconfiguration/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/controllerdefaults"
)

// MemberCluster is what joining states of a member on the hub.
type MemberCluster struct {
	Name     string
	Identity rbacv1.Subject
	// HeartbeatPeriodSeconds is 0 for the API's default.
	HeartbeatPeriodSeconds int32
	Labels                 map[string]string
	Annotations            map[string]string
}

// ApplyMemberCluster writes the MemberCluster with server-side apply: it owns the labels,
// annotations, identity and heartbeat period it states, and leaves what the hub controllers
// and people wrote (finalizers, taints, other labels).
func ApplyMemberCluster(ctx context.Context, hub client.Client, mc MemberCluster) error {
	spec := clusterac.MemberClusterSpec().WithIdentity(mc.Identity)
	if mc.HeartbeatPeriodSeconds > 0 {
		spec.WithHeartbeatPeriodSeconds(mc.HeartbeatPeriodSeconds)
	}
	ac := clusterac.MemberCluster(mc.Name, "").WithSpec(spec)
	if len(mc.Labels) > 0 {
		ac.WithLabels(mc.Labels)
	}
	if len(mc.Annotations) > 0 {
		ac.WithAnnotations(mc.Annotations)
	}
	if err := controllerdefaults.Apply(ctx, hub, FieldManager, ac, nil); err != nil {
		return fmt.Errorf("applying the MemberCluster %s: %w", mc.Name, err)
	}
	return nil
}
