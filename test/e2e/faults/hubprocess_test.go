package faults

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-dev/flotilla/internal/testenv"
)

// hubProcess is one `flotilla hub` replica run as its own process, as a pod of the hub
// Deployment runs it.
type hubProcess struct {
	cmd *exec.Cmd
	log *testenv.SyncBuffer
}

// leads says whether the replica has taken the lease.
func (h *hubProcess) leads() bool {
	return strings.Contains(strings.ToLower(h.log.String()), "successfully acquired lease")
}

func startHubProcess(t *testing.T, bin string) *hubProcess {
	t.Helper()
	h := &hubProcess{log: &testenv.SyncBuffer{}}
	h.cmd = exec.Command(bin, "hub", "--kubeconfig", fleet.Fleet.Hub.KubeconfigPath, "--leader-elect", "--skip-install",
		"--health-probe-bind-address", "0", "--metrics-bind-address", "0")
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return h
}

// kill ends the replica at once, as a crashed pod: the lease is not given up.
func (h *hubProcess) kill() {
	if h.cmd.ProcessState == nil {
		_ = h.cmd.Process.Signal(syscall.SIGKILL)
		_ = h.cmd.Wait()
	}
}

// Two `flotilla hub` processes with leader election: the leader is killed without giving up
// its lease, the other takes over once the lease runs out, and no work is lost or done twice
// (the harness checks that nothing placed is deleted or rewritten, and that the placement
// and the update run converge).
func TestHubLeaderProcessDies(t *testing.T) {
	bin := testenv.BuildFlotilla(t)
	var replicas []*hubProcess
	var leader, follower *hubProcess
	var killed time.Time
	fault{
		name: "hub-leader-process",
		prepare: func() error {
			fleet.StopHubs()
			replicas = []*hubProcess{startHubProcess(t, bin), startHubProcess(t, bin)}
			deadline := time.Now().Add(time.Minute)
			for leader == nil && time.Now().Before(deadline) {
				for i, r := range replicas {
					if r.leads() {
						leader, follower = r, replicas[1-i]
						t.Logf("hub process %d (pid %d) leads", i, r.cmd.Process.Pid)
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			if leader == nil {
				return fmt.Errorf("no hub process took the lease within a minute:\n%s\n%s", replicas[0].log, replicas[1].log)
			}
			return nil
		},
		inject: func() error {
			leader.kill()
			killed = time.Now()
			return nil
		},
		end: func() error {
			deadline := time.Now().Add(time.Minute)
			for !follower.leads() {
				if time.Now().After(deadline) {
					return fmt.Errorf("the other hub process did not take the lease within a minute of the kill:\n%s", follower.log)
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Logf("the other hub process took over %s after the leader was killed (expected within the lease duration and two retry periods: 15s + 2 x 2s)", time.Since(killed).Round(100*time.Millisecond))
			return nil
		},
		cleanup: func() error {
			for _, r := range replicas {
				r.kill()
			}
			if t.Failed() {
				for i, r := range replicas {
					t.Logf("hub process %d log:\n%s", i, r.log)
				}
			}
			return fleet.StartHubs(1)
		},
		healthy: memberNames(),
	}.run(t)
}
