package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/flotilla-dev/flotilla/internal/member"
	"github.com/flotilla-dev/flotilla/internal/member/credentials"
)

func newAgentCommand() *cobra.Command {
	var (
		hubKubeconfig    string
		hubSecret        string
		memberKubeconfig string
		opts             member.Options
		verbose          bool
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the member agent of one member cluster",
		Long: `Run the member agent. It reaches the hub as the member's own identity (the one named
in the MemberCluster's spec.identity), which may read and write only in the hub namespace
fleet-member-<name>. It reaches its own cluster through --kubeconfig. While the hub says
Join it sends a heartbeat every heartbeatPeriodSeconds with the cluster's health and
properties; when the hub says Leave it reports that it left and keeps everything placed on
the member.

The hub credentials come from one of:
  --hub-credentials-secret NAMESPACE/NAME  a Secret on the member (keys server, ca.crt and
                                           token), as 'flotilla member join' writes it;
  --hub-kubeconfig FILE                    a kubeconfig; when its user has a tokenFile, that
                                           file must be writable.
A ServiceAccount token with an expiry is renewed by the agent itself once
--hub-token-renew-fraction of its lifetime has passed, and saved back where it came from.
When the hub refuses the credentials (revoked), the agent says so in its log and its
/readyz, does nothing on the hub, deletes nothing on the member, and resumes as soon as
valid credentials are stored.`,
		Example: `  flotilla agent --name member-1 --hub-credentials-secret flotilla-system/flotilla-agent-hub --kubeconfig member-1.kubeconfig
  flotilla agent --name member-1 --hub-kubeconfig member-1-hub.kubeconfig --kubeconfig member-1.kubeconfig`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Name == "" {
				return usageError{errors.New("--name is required: the member's name, as on its MemberCluster")}
			}
			if (hubKubeconfig == "") == (hubSecret == "") {
				return usageError{errors.New("give one of --hub-credentials-secret or --hub-kubeconfig: the agent's own identity on the hub")}
			}
			if opts.HubTokenRenewFraction <= 0 || opts.HubTokenRenewFraction >= 1 {
				return usageError{fmt.Errorf("--hub-token-renew-fraction %v is out of range: give a share of the token's lifetime between 0 and 1, such as 0.8", opts.HubTokenRenewFraction)}
			}
			setupLogging(cmd.ErrOrStderr(), verbose)
			memberCfg, err := loadConfig(memberKubeconfig, "member")
			if err != nil {
				return err
			}
			hubCfg, store, err := agentHubConfig(cmd.Context(), hubKubeconfig, hubSecret, memberCfg)
			if err != nil {
				return err
			}
			opts.HubTokenStore = store
			return member.Run(cmd.Context(), hubCfg, memberCfg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", "", "the member's name, as on its MemberCluster (required)")
	f.StringVar(&hubKubeconfig, "hub-kubeconfig", "", "kubeconfig of the agent's own identity on the hub")
	f.StringVar(&hubSecret, "hub-credentials-secret", "", "NAMESPACE/NAME of the Secret on the member that holds the hub's address, CA and the agent's token")
	f.Float64Var(&opts.HubTokenRenewFraction, "hub-token-renew-fraction", credentials.DefaultRenewFraction, "renew the hub token once this share of its lifetime has passed (0.8: a 1-hour token after 48 minutes)")
	f.StringVar(&memberKubeconfig, "kubeconfig", "", "kubeconfig of the member cluster (default: KUBECONFIG, ~/.kube/config or in-cluster)")
	f.StringVar(&opts.MetricsAddr, "metrics-bind-address", "0", "address of the metrics endpoint, such as 127.0.0.1:8090 (give :8090 to listen on every interface); 0 turns it off")
	f.StringVar(&opts.HealthAddr, "health-probe-bind-address", defaultAgentHealthAddr, "address of /healthz and /readyz (ready while heartbeats reach the hub); loopback only unless told otherwise: give :8091 to listen on every interface (as a kubelet's probes in a pod need); 0 turns it off")
	f.StringVar(&opts.UpgradeProvider, "upgrade-provider", "", "run this upgrade provider in the agent: local (the local fleet's fake nodes); empty runs none")
	f.DurationVar(&opts.NodeUpgradeDuration, "node-upgrade-duration", 2*time.Second, "with --upgrade-provider local: how long each node takes to upgrade once drained")
	f.BoolVarP(&verbose, "verbose", "v", false, "log in development mode, with debug lines")
	return cmd
}

// agentHubConfig builds the agent's hub client from the credentials Secret on the member or
// from a kubeconfig, and says where its token is kept for renewal (nil: not renewable).
func agentHubConfig(ctx context.Context, kubeconfig, secret string, memberCfg *rest.Config) (*rest.Config, credentials.Store, error) {
	if kubeconfig != "" {
		cfg, err := loadConfig(kubeconfig, "hub")
		if err != nil {
			return nil, nil, err
		}
		if cfg.BearerTokenFile == "" {
			return cfg, nil, nil
		}
		return cfg, credentials.FileStore{Path: cfg.BearerTokenFile}, nil
	}
	namespace, name, ok := strings.Cut(secret, "/")
	if !ok || namespace == "" || name == "" || strings.Contains(name, "/") {
		return nil, nil, usageError{fmt.Errorf("--hub-credentials-secret %q: give NAMESPACE/NAME, such as flotilla-system/flotilla-agent-hub", secret)}
	}
	cs, err := kubernetes.NewForConfig(memberCfg)
	if err != nil {
		return nil, nil, err
	}
	cfg, store, err := credentials.HubConfigFromSecret(ctx, cs, namespace, name)
	if err != nil {
		return nil, nil, err
	}
	cfg.QPS, cfg.Burst = 100, 200
	return cfg, store, nil
}
