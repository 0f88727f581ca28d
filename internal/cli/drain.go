package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// DrainedMemberLabel marks the evictions `member drain` created, with the member's name.
const DrainedMemberLabel = "flotilla.dev/drained-member"

var cordonTaint = clusterv1beta1.Taint{Key: clusterv1beta1.CordonTaintKey, Value: clusterv1beta1.CordonTaintValue, Effect: corev1.TaintEffectNoSchedule}

func newMemberDrainCommand() *cobra.Command {
	var kubeconfig string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "drain NAME",
		Short: "Cordon a member and evict every placement from it, within their disruption budgets",
		Long: `Drain a member before maintenance: add the cordon taint (cordon-key=cordon-value:NoSchedule,
as KubeFleet's kubectl fleet draincluster does) so that no new placement reaches it, then
create a ClusterResourcePlacementEviction for every placement on it and wait, up to
--timeout, until each eviction has its outcome and the evicted placements are gone from the
member.

An eviction is refused when the placement's ClusterResourcePlacementDisruptionBudget would
be broken, or when the placement is PickFixed (remove the member from its clusterNames
instead). drain lists what it could not evict and why, and then exits with status 1; the
member stays cordoned. Run it again once the budget allows, and 'flotilla member uncordon
NAME' when the maintenance is done.`,
		Example: `  flotilla member drain member-1 --kubeconfig hub.kubeconfig
  flotilla member drain member-1 --timeout 10m`,
		Args: oneArg("the member to drain"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return drainMember(ctx, c, args[0], cmd.OutOrStdout())
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the evictions and for the placements to leave the member")
	return cmd
}

func newMemberUncordonCommand() *cobra.Command {
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "uncordon NAME",
		Short: "Remove the cordon taint, so that placements may reach the member again",
		Long: `Remove the cordon taint (cordon-key=cordon-value:NoSchedule) that 'flotilla member drain' or
KubeFleet's kubectl fleet draincluster added. Other taints stay. Placements whose policy
picks the member place on it again; evicted placements come back only if their policy picks
the member.`,
		Example: `  flotilla member uncordon member-1 --kubeconfig hub.kubeconfig`,
		Args:    oneArg("the member to uncordon"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hubClient(kubeconfig)
			if err != nil {
				return err
			}
			removed, err := setCordon(cmd.Context(), c, args[0], false)
			if err != nil {
				return err
			}
			if removed {
				fmt.Fprintf(cmd.OutOrStdout(), "member %s uncordoned\n", args[0])
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "member %s was not cordoned\n", args[0])
			}
			return nil
		},
	}
	addKubeconfigFlag(cmd, &kubeconfig)
	return cmd
}

// oneArg wants one argument and says which when it is missing.
func oneArg(what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageError{fmt.Errorf("give %s (got %d arguments)", what, len(args))}
		}
		return nil
	}
}

// setCordon adds (on) or removes the cordon taint, and says whether it changed anything.
func setCordon(ctx context.Context, c client.Client, member string, on bool) (bool, error) {
	changed := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		mc := &clusterv1beta1.MemberCluster{}
		if err := c.Get(ctx, client.ObjectKey{Name: member}, mc); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("no member %s on the hub (flotilla member list shows the members)", member)
			}
			return err
		}
		var taints []clusterv1beta1.Taint
		has := false
		for _, t := range mc.Spec.Taints {
			if t == cordonTaint {
				has = true
				continue
			}
			taints = append(taints, t)
		}
		if has == on {
			changed = false
			return nil
		}
		if on {
			taints = append(taints, cordonTaint)
		}
		mc.Spec.Taints = taints
		changed = true
		return c.Update(ctx, mc)
	})
	return changed, err
}

// drainMember cordons the member, evicts every placement on it and waits for the outcome.
func drainMember(ctx context.Context, c client.Client, member string, out io.Writer) error {
	if _, err := setCordon(ctx, c, member, true); err != nil {
		return err
	}
	fmt.Fprintf(out, "member %s cordoned\n", member)
	var bindings placementv1beta1.ClusterResourceBindingList
	if err := c.List(ctx, &bindings); err != nil {
		return err
	}
	var evictions []*placementv1beta1.ClusterResourcePlacementEviction
	for _, b := range bindings.Items {
		if b.Spec.TargetCluster != member || b.DeletionTimestamp != nil || b.Spec.State == placementv1beta1.BindingStateUnscheduled {
			continue
		}
		e := &placementv1beta1.ClusterResourcePlacementEviction{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName: "drain-" + member + "-",
				Labels:       map[string]string{DrainedMemberLabel: member},
			},
			Spec: placementv1beta1.PlacementEvictionSpec{PlacementName: b.Labels[placementv1beta1.CRPTrackingLabel], ClusterName: member},
		}
		if err := c.Create(ctx, e); err != nil {
			return fmt.Errorf("evicting placement %s: %w", e.Spec.PlacementName, err)
		}
		evictions = append(evictions, e)
	}
	sort.Slice(evictions, func(i, j int) bool { return evictions[i].Spec.PlacementName < evictions[j].Spec.PlacementName })
	if len(evictions) == 0 {
		fmt.Fprintf(out, "no placement on member %s\n", member)
		return nil
	}

	// Each eviction gets its outcome; each executed one is done when its binding is gone.
	var refused []string
	for _, e := range evictions {
		executed, message, err := waitForEviction(ctx, c, e)
		if err != nil {
			return fmt.Errorf("waiting for the eviction %s of placement %s: %w (the member stays cordoned)", e.Name, e.Spec.PlacementName, err)
		}
		if !executed {
			refused = append(refused, e.Spec.PlacementName)
			fmt.Fprintf(out, "not evicted: %s: %s (eviction %s)\n", e.Spec.PlacementName, message, e.Name)
			continue
		}
		if err := waitForNoBinding(ctx, c, e.Spec.PlacementName, member); err != nil {
			return fmt.Errorf("waiting for placement %s to leave member %s: %w (the member stays cordoned)", e.Spec.PlacementName, member, err)
		}
		fmt.Fprintf(out, "evicted: %s\n", e.Spec.PlacementName)
	}
	if len(refused) > 0 {
		return fmt.Errorf("%d of %d placement(s) could not be evicted from member %s; it stays cordoned: fix what the lines above say, then run drain again",
			len(refused), len(evictions), member)
	}
	fmt.Fprintf(out, "member %s drained\n", member)
	return nil
}

// waitForEviction waits until the eviction has its outcome, and returns it.
func waitForEviction(ctx context.Context, c client.Client, e *placementv1beta1.ClusterResourcePlacementEviction) (bool, string, error) {
	var executed bool
	var message string
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		got := &placementv1beta1.ClusterResourcePlacementEviction{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(e), got); err != nil {
			return false, err
		}
		if v := meta.FindStatusCondition(got.Status.Conditions, placementv1beta1.EvictionValidConditionType); v != nil && v.Status == metav1.ConditionFalse {
			message = v.Message
			return true, nil
		}
		if x := meta.FindStatusCondition(got.Status.Conditions, placementv1beta1.EvictionExecutedConditionType); x != nil {
			executed, message = x.Status == metav1.ConditionTrue, x.Message
			return true, nil
		}
		return false, nil
	})
	if errors.Is(err, context.DeadlineExceeded) {
		err = errors.New("no outcome before --timeout; is the hub's eviction controller running?")
	}
	return executed, message, err
}

// waitForNoBinding waits until the placement has no binding on the member: the work
// generator keeps a binding until its Works, and so the placed resources, are gone.
func waitForNoBinding(ctx context.Context, c client.Client, placement, member string) error {
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var bindings placementv1beta1.ClusterResourceBindingList
		if err := c.List(ctx, &bindings, client.MatchingLabels{placementv1beta1.CRPTrackingLabel: placement}); err != nil {
			return false, err
		}
		for _, b := range bindings.Items {
			if b.Spec.TargetCluster == member {
				return false, nil
			}
		}
		return true, nil
	})
	if errors.Is(err, context.DeadlineExceeded) {
		err = errors.New("still there at --timeout")
	}
	return err
}
