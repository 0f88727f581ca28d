package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"

	"github.com/flotilla-dev/flotilla/internal/join"
	"github.com/flotilla-dev/flotilla/internal/memberjoin"
)

func newMemberJoinCommand() *cobra.Command {
	var (
		hubKubeconfig, memberKubeconfig, hubCAFile string
		opts                                       join.Options
		heartbeat                                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "join NAME",
		Short: "Join a cluster to the fleet: its identity on the hub, short-lived credentials, and the agent",
		Long: `Join a cluster to the fleet as the member NAME:

  on the hub     the agent's identity, ServiceAccount fleet-system/NAME-agent, which may
                 renew its own token and nothing else there, and the MemberCluster NAME
                 naming it;
  credentials    a token for that identity, valid for --token-lifetime; the agent renews
                 it itself before it ends;
  on the member  the flotilla-agent chart as the Helm release flotilla-system/flotilla-agent,
                 with the hub's address and CA and the token in the Secret
                 flotilla-system/flotilla-agent-hub;

then it waits, up to --wait, until the member is Joined, showing each step.

join is safe to run again: what is already as asked is left alone, and the token is only
replaced when the hub no longer accepts it or it is near its end. A run that stopped half
way is finished by running it again. The agent reaches the hub at the address of
--hub-kubeconfig unless --hub-server says otherwise (the hub as the member sees it).`,
		Example: `  flotilla member join edge-1 --hub-kubeconfig hub.kubeconfig --member-kubeconfig edge-1.kubeconfig
  flotilla member join edge-1 --member-kubeconfig edge-1.kubeconfig --hub-server https://hub.example.com:6443 --label env=prod`,
		Args: oneArg("the member's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if err := checkMemberName(opts.Name); err != nil {
				return err
			}
			if memberKubeconfig == "" {
				return usageError{errors.New("--member-kubeconfig is required: the kubeconfig of the cluster to join")}
			}
			if opts.TokenLifetime < 10*time.Minute {
				return usageError{fmt.Errorf("--token-lifetime %s is too short: the API server issues tokens for 10m or longer", opts.TokenLifetime)}
			}
			var err error
			if opts.Hub, opts.Member, err = hubAndMemberConfigs(hubKubeconfig, memberKubeconfig); err != nil {
				return err
			}
			if hubCAFile != "" {
				if opts.HubCA, err = os.ReadFile(hubCAFile); err != nil { //nolint:gosec // a path the user gave
					return fmt.Errorf("--hub-ca: %w", err)
				}
			}
			opts.MemberKubeconfig = memberKubeconfig
			opts.HeartbeatPeriodSeconds = int32(heartbeat / time.Second)
			opts.Progress = cmd.OutOrStdout()
			if err := join.Join(cmd.Context(), opts); err != nil {
				return err
			}
			if opts.Wait <= 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is set up to join; it joins once its agent runs ('flotilla member list' shows it)\n", opts.Name)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s joined the fleet\n", opts.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&hubKubeconfig, "hub-kubeconfig", "", "kubeconfig of the hub, as an administrator (default: KUBECONFIG or ~/.kube/config)")
	f.StringVar(&memberKubeconfig, "member-kubeconfig", "", "kubeconfig of the cluster to join, as an administrator (required)")
	f.StringVar(&opts.HubServer, "hub-server", "", "the hub API server's address as the member reaches it (default: the server of --hub-kubeconfig)")
	f.StringVar(&hubCAFile, "hub-ca", "", "PEM file of the CA of the hub API server's certificate (default: the CA of --hub-kubeconfig)")
	f.DurationVar(&opts.TokenLifetime, "token-lifetime", memberjoin.DefaultTokenLifetime, "how long the agent's first token is valid (10m or more); the agent renews it itself")
	f.StringToStringVar(&opts.Labels, "label", nil, "a label of the MemberCluster, KEY=VALUE (repeat it, or separate with commas)")
	f.DurationVar(&heartbeat, "heartbeat-period", 0, "how often the agent reports (default: the API's 60s)")
	f.StringVar(&opts.ImageRepository, "image", "", "the agent image's repository (default: the chart's)")
	f.StringVar(&opts.ImageTag, "image-tag", "", "the agent image's tag (default: the chart's appVersion)")
	f.DurationVar(&opts.Wait, "wait", 5*time.Minute, "how long to wait for the member to be Joined; 0 does not wait")
	return cmd
}

func newMemberUnjoinCommand() *cobra.Command {
	var (
		hubKubeconfig, memberKubeconfig string
		opts                            join.UnjoinOptions
	)
	cmd := &cobra.Command{
		Use:   "unjoin NAME",
		Short: "Take a member out of the fleet: the agent leaves, then its release and identity go",
		Long: `Take the member NAME out of the fleet, reversing 'flotilla member join':

  1. the MemberCluster is deleted, and the hub waits, up to --wait, for the agent to leave;
  2. the Helm release flotilla-system/flotilla-agent is uninstalled from the member, with
     the agent's credentials Secret;
  3. the agent's identity, ServiceAccount fleet-system/NAME-agent and its Role, is
     removed from the hub: any token of it stops working.

What placements put on the member stays, unless --delete-placed-resources. unjoin is safe
to run again and finishes a run that stopped half way.`,
		Example: `  flotilla member unjoin edge-1 --hub-kubeconfig hub.kubeconfig --member-kubeconfig edge-1.kubeconfig`,
		Args:    oneArg("the member's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if err := checkMemberName(opts.Name); err != nil {
				return err
			}
			if memberKubeconfig == "" {
				return usageError{errors.New("--member-kubeconfig is required: the kubeconfig of the member to take out")}
			}
			var err error
			if opts.Hub, opts.Member, err = hubAndMemberConfigs(hubKubeconfig, memberKubeconfig); err != nil {
				return err
			}
			opts.MemberKubeconfig = memberKubeconfig
			opts.Progress = cmd.OutOrStdout()
			if err := join.Unjoin(cmd.Context(), opts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is out of the fleet\n", opts.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&hubKubeconfig, "hub-kubeconfig", "", "kubeconfig of the hub, as an administrator (default: KUBECONFIG or ~/.kube/config)")
	f.StringVar(&memberKubeconfig, "member-kubeconfig", "", "kubeconfig of the member, as an administrator (required)")
	f.BoolVar(&opts.DeletePlacedResources, "delete-placed-resources", false, "also remove what placements put on the member")
	f.DurationVar(&opts.Wait, "wait", 5*time.Minute, "how long to wait for the agent to leave")
	return cmd
}

// checkMemberName refuses a name the MemberCluster API would refuse, before anything is made.
func checkMemberName(name string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return usageError{fmt.Errorf("member name %q: %s", name, errs[0])}
	}
	if len(name) > 50 {
		return usageError{fmt.Errorf("member name %q has %d characters: at most 50, so that its hub namespace fleet-member-<name> fits in 63", name, len(name))}
	}
	return nil
}

// hubAndMemberConfigs reads the hub's and the member's kubeconfigs.
func hubAndMemberConfigs(hubKubeconfig, memberKubeconfig string) (*rest.Config, *rest.Config, error) {
	hub, err := loadConfig(hubKubeconfig, "hub")
	if err != nil {
		return nil, nil, err
	}
	member, err := loadConfig(memberKubeconfig, "member")
	if err != nil {
		return nil, nil, err
	}
	return hub, member, nil
}
