package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/flotilla-dev/flotilla/internal/testenv"
)

// childPID finds the child of the process parent whose command line holds every one of
// words, from /proc: the test sees only what any process of the user could.
func childPID(t *testing.T, parent int, words ...string) int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", parent))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		data, _ := os.ReadFile(task)
		for _, field := range strings.Fields(string(data)) {
			pid, _ := strconv.Atoi(field)
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			args := strings.ReplaceAll(string(cmdline), "\x00", " ")
			found := true
			for _, w := range words {
				found = found && strings.Contains(args, w)
			}
			if found {
				return pid
			}
		}
	}
	t.Fatalf("no child of %d runs %v", parent, words)
	return 0
}

func TestLocalUpRestartsADeadAPIServer(t *testing.T) {
	g := NewWithT(t)
	bin := testenv.BuildFlotilla(t)
	cmd, lines, stderr := localUp(t, bin, t.TempDir(), "0")
	waitForLine(t, lines, "fleet is ready", stderr)
	pid := childPID(t, cmd.Process.Pid, "kube-apiserver", "--etcd-prefix /hub")
	g.Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
	waitForLine(t, lines, "hub-apiserver died", stderr)
	waitForLine(t, lines, "hub-apiserver runs again", stderr)
	g.Expect(cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
	waitForLine(t, lines, "fleet stopped", stderr)
	g.Expect(cmd.Wait()).To(Succeed(), "stderr:\n%s", stderr)
}

func TestLocalUpStopsTheFleetNamingTheChildThatDied(t *testing.T) {
	g := NewWithT(t)
	bin := testenv.BuildFlotilla(t)
	cmd, lines, stderr := localUp(t, bin, t.TempDir(), "0", "--max-restarts", "0")
	waitForLine(t, lines, "fleet is ready", stderr)
	pid := childPID(t, cmd.Process.Pid, "etcd", "--client-cert-auth")
	g.Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
	seen := waitForLine(t, lines, "a part of the fleet died", stderr)
	g.Expect(seen[len(seen)-1]).To(ContainSubstring("etcd died and is not restarted"))
	waitForLine(t, lines, "fleet stopped", stderr)
	err := cmd.Wait()
	g.Expect(err).To(HaveOccurred(), "local up exited 0 after etcd died")
	g.Expect(stderr.String()).To(ContainSubstring("etcd died"))
}
