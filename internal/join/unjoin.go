package join

import (
	"context"
	"fmt"
	"io"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/helmchart"
	"github.com/flotilla-dev/flotilla/internal/memberjoin"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// UnjoinOptions say how to take one member out of the fleet.
type UnjoinOptions struct {
	Name string
	// Hub reaches the hub as an administrator; Member and MemberKubeconfig reach the member.
	Hub              *rest.Config
	Member           *rest.Config
	MemberKubeconfig string
	// DeletePlacedResources also removes, once the agent is gone, what placements put on the
	// member (through its AppliedWorks, which own them). By default they stay.
	DeletePlacedResources bool
	// Wait is how long to wait for the agent to leave.
	Wait     time.Duration
	Progress io.Writer
}

// Unjoin reverses Join: the MemberCluster is deleted and the agent leaves, then the agent's
// release goes from the member and its identity from the hub. What placements put on the
// member stays unless DeletePlacedResources. It is safe to run again, and resumes a run that
// stopped half way.
func Unjoin(ctx context.Context, o UnjoinOptions) error {
	say := progress{o.Progress}.say
	hub, err := client.New(o.Hub, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return err
	}
	mc := &clusterv1beta1.MemberCluster{}
	err = hub.Get(ctx, client.ObjectKey{Name: o.Name}, mc)
	switch {
	case apierrors.IsNotFound(err):
		say("hub: MemberCluster %s is gone already", o.Name)
	case err != nil:
		return fmt.Errorf("reading MemberCluster %s: %w", o.Name, err)
	default:
		if mc.DeletionTimestamp == nil {
			if err := hub.Delete(ctx, mc); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting MemberCluster %s: %w", o.Name, err)
			}
		}
		say("hub: MemberCluster %s deleted; waiting up to %s for its agent to leave", o.Name, o.Wait)
		if err := waitGone(ctx, hub, o.Name, o.Wait); err != nil {
			return err
		}
		say("hub: %s left the fleet", o.Name)
	}

	removed, err := helmchart.Remove(ctx, helmchart.Release{Kubeconfig: o.MemberKubeconfig, Namespace: AgentNamespace, Name: AgentRelease})
	if err != nil {
		return err
	}
	if removed {
		say("member: release %s/%s uninstalled", AgentNamespace, AgentRelease)
	} else {
		say("member: no release %s/%s", AgentNamespace, AgentRelease)
	}

	if o.DeletePlacedResources {
		member, err := client.New(o.Member, client.Options{Scheme: scheme.Scheme})
		if err != nil {
			return err
		}
		err = member.DeleteAllOf(ctx, &placementv1beta1.AppliedWork{}, client.PropagationPolicy(metav1.DeletePropagationBackground))
		if err != nil && !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err) {
			return fmt.Errorf("deleting the AppliedWorks on the member: %w", err)
		}
		say("member: AppliedWorks deleted; the garbage collector removes what they placed")
	} else {
		say("member: placed resources are kept (--delete-placed-resources removes them)")
	}

	hubCS, err := kubernetes.NewForConfig(o.Hub)
	if err != nil {
		return err
	}
	if err := memberjoin.RemoveIdentity(ctx, hubCS, o.Name); err != nil {
		return err
	}
	id := memberjoin.Identity(o.Name)
	say("hub: identity %s/%s removed", id.Namespace, id.Name)
	return nil
}

func waitGone(ctx context.Context, hub client.Client, name string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		err := hub.Get(ctx, client.ObjectKey{Name: name}, &clusterv1beta1.MemberCluster{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, client.IgnoreNotFound(err)
	})
	if err != nil {
		return fmt.Errorf("MemberCluster %s is still there after %s: its agent has not left (is it running?); the hub removes it "+
			"anyway after its --force-delete-wait, then run unjoin again to finish", name, timeout)
	}
	return nil
}
