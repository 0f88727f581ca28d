package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// runCLI runs the flotilla command with args and returns its output and error.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := NewRootCommand(&out, &out)
	root.SetArgs(args)
	// A command that wrongly went on to start a fleet ends here instead of running on.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func TestLBRangeIsCheckedAfterMasking(t *testing.T) {
	cases := []struct {
		in      string
		want    string // the masked range, or "" when refused
		wantErr string
	}{
		{in: "127.240.0.0/16", want: "127.240.0.0/16"},
		{in: "127.1.2.3/8", want: "127.0.0.0/8"},
		{in: "127.0.0.1/32", want: "127.0.0.1/32"},
		{in: "127.0.0.1/0", wantErr: "0.0.0.0/0, which is not inside 127.0.0.0/8"},
		{in: "127.0.0.1/7", wantErr: "126.0.0.0/7, which is not inside 127.0.0.0/8"},
		{in: "10.0.0.0/8", wantErr: "not inside 127.0.0.0/8"},
		{in: "::1/128", wantErr: "not inside 127.0.0.0/8"},
		{in: "::ffff:127.0.0.1/104", wantErr: "not inside 127.0.0.0/8"},
		{in: "127.0.0.1", wantErr: "not a CIDR range"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			var p netip.Prefix
			err := prefixFlag{&p}.Set(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Set(%q) = %v (range %s), want an error with %q", tc.in, err, p, tc.wantErr)
				}
				if p.IsValid() {
					t.Fatalf("Set(%q) failed but stored %s", tc.in, p)
				}
				return
			}
			if err != nil || p.String() != tc.want {
				t.Fatalf("Set(%q) = %v, range %s; want %s", tc.in, err, p, tc.want)
			}
		})
	}
}

func TestLocalUpRefusesAnLBRangeBeyondLoopback(t *testing.T) {
	_, err := runCLI(t, "local", "up", "--no-build", "--members", "0", "--lb-range", "127.0.0.1/0")
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "--lb-range") || !strings.Contains(err.Error(), "0.0.0.0/0") {
		t.Fatalf("local up --lb-range 127.0.0.1/0 = %v, want a usage error naming --lb-range and 0.0.0.0/0", err)
	}
}

// foreignDir returns a folder that is not the user's: as root, a new folder given to
// nobody (uid 65534); otherwise one of root's.
func foreignDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return "/usr"
	}
	dir := filepath.Join(t.TempDir(), "theirs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLocalUpRefusesAFolderOfAnotherUser(t *testing.T) {
	dir := foreignDir(t)
	_, err := runCLI(t, "local", "up", "--no-build", "--members", "0", "--dir", dir)
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "--dir") || !strings.Contains(err.Error(), "is owned by uid") {
		t.Fatalf("local up --dir %s = %v, want a usage error naming --dir and the owner", dir, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("local up wrote into %s: %v", dir, entries)
	}
}

func TestLocalUpRefusesAFolderOthersMayWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	// A file someone else left there for the admin key to be written into.
	if err := os.WriteFile(filepath.Join(dir, "hub.kubeconfig"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err := runCLI(t, "local", "up", "--no-build", "--members", "0", "--dir", dir)
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "--dir") || !strings.Contains(err.Error(), "chmod go-w "+dir) {
		t.Fatalf("local up --dir %s = %v, want a usage error naming --dir and the fix", dir, err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "hub.kubeconfig")); len(data) != 0 {
		t.Fatalf("local up wrote a kubeconfig into the planted file")
	}
}

func TestHealthAndMetricsListenOnLoopbackByDefault(t *testing.T) {
	for _, cmd := range []*cobra.Command{newHubCommand(), newAgentCommand()} {
		health := cmd.Flags().Lookup("health-probe-bind-address")
		host, _, err := net.SplitHostPort(health.DefValue)
		if err != nil {
			t.Fatalf("%s --health-probe-bind-address default %q: %v", cmd.Name(), health.DefValue, err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Errorf("%s listens for health probes on %q by default, not on loopback", cmd.Name(), health.DefValue)
		}
		if !strings.Contains(health.Usage, "every interface") {
			t.Errorf("%s --health-probe-bind-address does not say how to listen beyond loopback: %q", cmd.Name(), health.Usage)
		}
		if metrics := cmd.Flags().Lookup("metrics-bind-address"); metrics.DefValue != "0" {
			t.Errorf("%s serves metrics on %q by default, want 0 (off)", cmd.Name(), metrics.DefValue)
		}
	}
}
