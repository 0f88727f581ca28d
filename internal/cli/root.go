// Package cli holds flotilla's cobra commands.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Main runs the command line and returns the exit code: 0 on success, 1 on a failure, 2 on
// a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	root := NewRootCommand(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		if errors.As(err, new(usageError)) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError marks an error in how a command was called.
type usageError struct{ error }

// NewRootCommand builds the flotilla command tree.
func NewRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "flotilla",
		Short: "Flotilla manages a fleet of Kubernetes clusters from one hub",
		Long: `Flotilla manages a fleet of Kubernetes clusters from one hub: membership, staged
updates, resource placement and multi-cluster load balancing. It speaks the KubeFleet
v1beta1 API for membership and placement.

Daemons:   flotilla hub, flotilla agent
Local:     flotilla local up | down
Members:   flotilla member
Placement: flotilla placement
Updates:   flotilla strategy, flotilla updaterun, flotilla gate
Services:  flotilla service
Build:     flotilla version
User verbs read the hub through --kubeconfig (or KUBECONFIG).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newHubCommand(),
		newCRDsCommand(),
		newAgentCommand(),
		newLocalCommand(),
		newMemberCommand(),
		newPlacementCommand(),
		newStrategyCommand(),
		newUpdateRunCommand(),
		newGateCommand(),
		newServiceCommand(),
		newVersionCommand(),
	)
	return root
}

// setupLogging sends controller logs to stderr (or discards them when quiet).
func setupLogging(w io.Writer, verbose bool) {
	if w == nil {
		ctrl.SetLogger(logr.Discard())
		return
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(w), zap.UseDevMode(verbose)))
}
