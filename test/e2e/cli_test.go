package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

// localUp starts `flotilla local up` and returns it with a channel of its output lines.
func localUp(t *testing.T, bin, dir string, members string, extra ...string) (*exec.Cmd, <-chan string, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"local", "up", "--members", members, "--dir", dir, "--no-build"}, extra...)...)
	cmd.Env = append(os.Environ(), "FLOTILLA_TOOLS_DIR="+localfleet.ToolsDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	return cmd, lines, stderr
}

// waitForLine reads lines until one starts with prefix, and returns all read so far.
func waitForLine(t *testing.T, lines <-chan string, prefix string, stderr *bytes.Buffer) []string {
	t.Helper()
	var seen []string
	timeout := time.After(3 * time.Minute)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("local up ended before %q; output:\n%s\nstderr:\n%s", prefix, strings.Join(seen, "\n"), stderr)
			}
			seen = append(seen, line)
			if strings.HasPrefix(line, prefix) {
				return seen
			}
		case <-timeout:
			t.Fatalf("no %q from local up; output:\n%s\nstderr:\n%s", prefix, strings.Join(seen, "\n"), stderr)
		}
	}
}

func TestLocalUpMemberListAndDown(t *testing.T) {
	g := NewWithT(t)
	bin := testenv.BuildFlotilla(t)
	dir := t.TempDir()
	cmd, lines, stderr := localUp(t, bin, dir, "3")
	waitForLine(t, lines, "fleet is ready", stderr)

	for _, f := range []string{"hub.kubeconfig", "member-1.kubeconfig", "member-2.kubeconfig", "member-3.kubeconfig", "flotilla.pid"} {
		g.Expect(filepath.Join(dir, f)).To(BeAnExistingFile())
	}
	// The member kubeconfig reaches the member's own API server, with its fake nodes.
	memberCfg, err := localfleet.LoadConfig(filepath.Join(dir, "member-2.kubeconfig"))
	g.Expect(err).NotTo(HaveOccurred())
	nodes, err := kubernetes.NewForConfigOrDie(memberCfg).CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(nodes.Items).To(HaveLen(3))

	hubKubeconfig := filepath.Join(dir, "hub.kubeconfig")
	table, err := exec.Command(bin, "member", "list", "--kubeconfig", hubKubeconfig).CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(table))
	rows := strings.Split(strings.TrimSpace(string(table)), "\n")
	g.Expect(rows).To(HaveLen(4), string(table))
	g.Expect(strings.Fields(rows[0])).To(Equal([]string{"NAME", "JOINED", "HEALTHY", "LAST-HEARTBEAT", "K8S-VERSION", "NODES", "REGION"}))
	for i, region := range []string{"eastus", "westus", "westeurope"} {
		fields := strings.Fields(rows[i+1])
		g.Expect(fields[0]).To(Equal("member-" + string(rune('1'+i))))
		g.Expect(fields[1:3]).To(Equal([]string{"True", "True"}))
		g.Expect(fields[len(fields)-3:]).To(Equal([]string{localfleet.KubeVersion, "3", region}))
	}

	cmdJSON := exec.Command(bin, "member", "list", "-o", "json")
	cmdJSON.Env = append(os.Environ(), "KUBECONFIG="+hubKubeconfig)
	out, err := cmdJSON.Output()
	g.Expect(err).NotTo(HaveOccurred())
	var parsed []map[string]any
	g.Expect(json.Unmarshal(out, &parsed)).To(Succeed())
	g.Expect(parsed).To(HaveLen(3))
	g.Expect(parsed[0]).To(HaveKeyWithValue("name", "member-1"))
	g.Expect(parsed[0]).To(HaveKeyWithValue("eligible", true))

	bad, err := exec.Command(bin, "member", "list", "--kubeconfig", hubKubeconfig, "-o", "xml").CombinedOutput()
	g.Expect(err).To(HaveOccurred())
	var exit *exec.ExitError
	g.Expect(errors.As(err, &exit)).To(BeTrue())
	g.Expect(exit.ExitCode()).To(Equal(2))
	g.Expect(string(bad)).To(ContainSubstring("-o must be table, json or yaml"))

	down, err := exec.Command(bin, "local", "down", "--dir", dir).CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(down))
	g.Expect(cmd.Wait()).To(Succeed(), "local up did not exit 0; stderr:\n%s", stderr)
	g.Expect(filepath.Join(dir, "flotilla.pid")).NotTo(BeAnExistingFile())
	// Everything it started is gone: the hub no longer answers.
	hubCfg, err := localfleet.LoadConfig(hubKubeconfig)
	g.Expect(err).NotTo(HaveOccurred())
	hubCfg.Timeout = 2 * time.Second
	_, err = kubernetes.NewForConfigOrDie(hubCfg).Discovery().ServerVersion()
	g.Expect(err).To(HaveOccurred())
}

func TestLocalUpStopsOnSIGINT(t *testing.T) {
	g := NewWithT(t)
	bin := testenv.BuildFlotilla(t)
	dir := t.TempDir()
	cmd, lines, stderr := localUp(t, bin, dir, "1")
	waitForLine(t, lines, "fleet is ready", stderr)
	g.Expect(cmd.Process.Signal(syscall.SIGINT)).To(Succeed())
	seen := waitForLine(t, lines, "fleet stopped", stderr)
	g.Expect(seen).To(ContainElement("stopping the fleet"))
	g.Expect(cmd.Wait()).To(Succeed(), "stderr:\n%s", stderr)
}
