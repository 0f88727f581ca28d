package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/fleetup"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// pidFile is where `local up` records its process id for `local down`.
const pidFile = "flotilla.pid"

// readyLine is printed once every member joined; scripts wait for it.
const readyLine = "fleet is ready"

func newLocalCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Run a local fleet of real API servers on this machine",
	}
	cmd.AddCommand(newLocalUpCommand(), newLocalDownCommand())
	return cmd
}

func newLocalUpCommand() *cobra.Command {
	var (
		opts       fleetup.Options
		noBuild    bool
		verbose    bool
		workloads  bool
		joinWithin time.Duration
		maxRestart int
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a hub and N member clusters in the foreground",
		Long: `Start a local fleet in the foreground: one etcd, and for the hub and each member a real
kube-apiserver and kube-controller-manager on loopback ports. The hub controllers and one
member agent per member run in this process; each agent reaches the hub as its own
ServiceAccount. Members are named member-1 … member-N, in the simulated regions eastus,
westus and westeurope in turn, with fake nodes in two node pools.

It writes DIR/hub.kubeconfig and DIR/member-<i>.kubeconfig (cluster-admin), prints
"fleet is ready" once every member joined, and runs until SIGINT or SIGTERM (Ctrl-C, or
'flotilla local down --dir DIR'), when it stops everything it started and exits 0.

DIR holds admin keys, so it must be your own folder that nobody else may write to; a new
one is created with mode 0700. etcd takes only the API servers' client certificate, and
every port listens on 127.0.0.1 only.

A child process (etcd, an API server, a controller manager) that dies is restarted, up to
--max-restarts times in 10 minutes; after that, local up stops the fleet, says which one
died, and exits 1.

With --workloads, each member also runs the workload controllers of
kube-controller-manager, a kube-scheduler and kwok, which plays the kubelet of the fake
nodes: placed Deployments, StatefulSets and DaemonSets get pods that are scheduled by their
resource requests and become Running and Ready, without containers.

The kube binaries come from the cache that 'make tools' fills; when they are missing and
Go is installed, they are built first (several minutes on 2 cores).`,
		Example: `  flotilla local up
  flotilla local up --members 5 --dir /tmp/fleet
  flotilla local up --workloads     # placed Deployments really become available
  flotilla local up --spare 1       # and a cluster member-4 to join with 'flotilla member join'
  kubectl --kubeconfig /tmp/fleet/hub.kubeconfig get memberclusters --show-labels`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Members < 0 {
				return usageError{fmt.Errorf("--members must be 0 or more, not %d", opts.Members)}
			}
			if opts.Spare < 0 {
				return usageError{fmt.Errorf("--spare must be 0 or more, not %d", opts.Spare)}
			}
			if opts.HeartbeatSeconds < 1 || opts.HeartbeatSeconds > 600 {
				return usageError{fmt.Errorf("--heartbeat-seconds must be from 1 to 600, not %d", opts.HeartbeatSeconds)}
			}
			if maxRestart < 0 {
				return usageError{fmt.Errorf("--max-restarts must be 0 or more, not %d", maxRestart)}
			}
			opts.Restart = localfleet.RestartPolicy{MaxRestarts: maxRestart, Window: restartWindow}
			if opts.Dir != "" {
				dir, err := localfleet.PrepareDir(opts.Dir)
				if err != nil {
					return usageError{fmt.Errorf("--dir: %w", err)}
				}
				opts.Dir = dir
			}
			if workloads {
				bins, err := localfleet.FindWorkloadBinaries(cmd.Context(), !noBuild, cmd.ErrOrStderr())
				if err != nil {
					return fmt.Errorf("--workloads needs kube-scheduler and kwok: %w", err)
				}
				opts.Workloads = &bins
			}
			return localUp(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), opts, !noBuild, verbose, joinWithin)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Members, "members", 3, "number of member clusters")
	f.IntVar(&opts.Spare, "spare", 0, "number of clusters more, after the members, with nothing of Flotilla on them: join them with 'flotilla member join'")
	f.StringVar(&opts.Dir, "dir", "", "folder for kubeconfigs, keys, data and logs: your own, not writable by others; created 0700 if missing (default: a new temporary folder, printed)")
	f.Int32Var(&opts.HeartbeatSeconds, "heartbeat-seconds", 5, "heartbeatPeriodSeconds of each member")
	f.DurationVar(&opts.ForceDeleteWait, "force-delete-wait", time.Minute, "how long a deleted member waits for its agent to leave")
	f.DurationVar(&opts.NodeUpgradeDuration, "node-upgrade-duration", 2*time.Second, "how long the local upgrade provider takes per node")
	f.BoolVar(&noBuild, "no-build", false, "fail instead of building missing kube binaries")
	f.DurationVar(&joinWithin, "join-timeout", 2*time.Minute, "how long to wait for every member to join")
	f.BoolVarP(&verbose, "verbose", "v", false, "print controller logs to stderr")
	f.Var(prefixFlag{&opts.LoadBalancerRange}, "lb-range", "loopback range the local load balancer takes LoadBalancer Service addresses from (default 127.240.0.0/16)")
	f.IntVar(&maxRestart, "max-restarts", 3, "how many times in 10 minutes a child process that died is restarted; once more and the fleet stops; 0 stops it at the first death")
	f.BoolVar(&workloads, "workloads", false, "also run, on each member, the workload controllers, a kube-scheduler and kwok (fake kubelets), so that Deployments, StatefulSets and DaemonSets get running pods; builds kube-scheduler and kwok on first use")
	return cmd
}

func localUp(ctx context.Context, stdout, stderr io.Writer, opts fleetup.Options, build, verbose bool, joinWithin time.Duration) error {
	if verbose {
		setupLogging(stderr, true)
	} else {
		setupLogging(nil, false)
	}
	if opts.Dir == "" {
		// MkdirTemp makes a new folder of mode 0700.
		tmp, err := os.MkdirTemp("", "flotilla-local-")
		if err != nil {
			return err
		}
		if opts.Dir, err = localfleet.PrepareDir(tmp); err != nil {
			return err
		}
	}
	dir := opts.Dir
	if pid, err := readPid(dir); err == nil && processAlive(pid) {
		return fmt.Errorf("a fleet already runs in %s (pid %d): stop it with 'flotilla local down --dir %s'", dir, pid, dir)
	}
	fmt.Fprintf(stdout, "fleet folder: %s\n", dir)
	bins, err := localfleet.FindBinaries(ctx, build, stderr)
	if err != nil {
		return err
	}
	opts.Binaries = bins
	opts.Log = stdout
	start := time.Now()
	fleet, err := fleetup.Up(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			// Interrupted while starting: Up stopped what it had started.
			fmt.Fprintln(stdout, "interrupted; fleet stopped")
			return nil
		}
		return err
	}
	defer func() {
		fmt.Fprintln(stdout, "stopping the fleet")
		fleet.Stop()
		os.Remove(filepath.Join(dir, pidFile))
		fmt.Fprintln(stdout, "fleet stopped")
	}()
	if err := localfleet.WriteFileAtomic(filepath.Join(dir, pidFile), []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
		return err
	}
	if err := fleet.WaitJoined(ctx, joinWithin); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	fmt.Fprintf(stdout, "%s: hub and %s joined in %s\n\n", readyLine, plural(fleet.JoinedMembers(), "member"), time.Since(start).Round(100*time.Millisecond))
	fmt.Fprintf(stdout, "  export KUBECONFIG=%s\n", filepath.Join(dir, "hub.kubeconfig"))
	fmt.Fprintf(stdout, "  kubectl get memberclusters --show-labels\n")
	fmt.Fprintf(stdout, "  flotilla member list\n")
	for i, m := range fleet.Members {
		if i < fleet.JoinedMembers() {
			fmt.Fprintf(stdout, "  kubectl --kubeconfig %s get nodes   # %s\n", m.KubeconfigPath, m.Name)
			continue
		}
		fmt.Fprintf(stdout, "  flotilla member join %s --hub-kubeconfig %s --member-kubeconfig %s   # spare\n",
			m.Name, filepath.Join(dir, "hub.kubeconfig"), m.KubeconfigPath)
	}
	fmt.Fprintf(stdout, "\nlogs: %s\nstop: Ctrl-C, or flotilla local down --dir %s\n", filepath.Join(dir, "logs"), dir)
	select {
	case <-ctx.Done():
		return fleet.Err()
	case <-fleet.Failed():
		err := fleet.Err()
		fmt.Fprintf(stdout, "a part of the fleet died and is not restarted; stopping the fleet: %v\n", err)
		return fmt.Errorf("the fleet failed: %w", err)
	}
}

// restartWindow is the period --max-restarts counts over.
const restartWindow = 10 * time.Minute

func newLocalDownCommand() *cobra.Command {
	var (
		dir  string
		wait time.Duration
	)
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop a local fleet started in the background",
		Long: `Stop the local fleet whose folder is --dir: send its 'flotilla local up' process
SIGTERM and wait until it has stopped everything and exited.`,
		Example: `  flotilla local up --dir /tmp/fleet > /tmp/fleet.log 2>&1 &
  flotilla local down --dir /tmp/fleet`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError{errors.New("--dir is required: the folder the fleet was started with")}
			}
			pid, err := readPid(dir)
			if err != nil {
				return fmt.Errorf("no running fleet in %s: %w", dir, err)
			}
			if !processAlive(pid) {
				os.Remove(filepath.Join(dir, pidFile))
				fmt.Fprintf(cmd.OutOrStdout(), "the fleet in %s is not running (pid %d is gone)\n", dir, pid)
				return nil
			}
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
				return fmt.Errorf("signalling pid %d: %w", pid, err)
			}
			deadline := time.Now().Add(wait)
			ticker := time.NewTicker(100 * time.Millisecond)
			defer ticker.Stop()
			for processAlive(pid) {
				if time.Now().After(deadline) {
					return fmt.Errorf("the fleet (pid %d) did not stop within %s", pid, wait)
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-ticker.C:
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "fleet in %s stopped\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the fleet's folder, as given to 'local up --dir' (required)")
	cmd.Flags().DurationVar(&wait, "wait", time.Minute, "how long to wait for the fleet to stop")
	return cmd
}

func readPid(dir string) (int, error) {
	data, err := os.ReadFile(filepath.Join(dir, pidFile))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s holds no process id", filepath.Join(dir, pidFile))
	}
	return pid, nil
}

// processAlive reports whether a process with the pid exists and is not a zombie.
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses: "pid (comm) S ...".
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// plural spells a count with its noun: "1 member", "3 members".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
