package localfleet

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDirProblem(t *testing.T) {
	const me, other = 1000, 1001
	cases := []struct {
		name  string
		mode  fs.FileMode
		owner int
		want  string // a part of the error, or "" for none
	}{
		{"private folder", fs.ModeDir | 0o700, me, ""},
		{"readable by others", fs.ModeDir | 0o755, me, ""},
		{"another user's", fs.ModeDir | 0o700, other, "is owned by uid 1001, not by you (uid 1000)"},
		{"writable by all", fs.ModeDir | 0o777, me, "may be written by other users (mode 0777): run `chmod go-w /f`"},
		{"writable by the group", fs.ModeDir | 0o770, me, "mode 0770"},
		{"sticky and writable by all, like /tmp", fs.ModeDir | fs.ModeSticky | 0o777, me, "mode 0777"},
		{"a file", 0o600, me, "is not a directory"},
		{"a symbolic link", fs.ModeSymlink | 0o777, me, "is not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := dirProblem("/f", tc.mode, tc.owner, me)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("dirProblem = %v, want none", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("dirProblem = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestPrepareDirCreatesAPrivateFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "fleet")
	got, err := PrepareDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(got)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Fatalf("new fleet folder has mode %04o, want 0700", info.Mode().Perm())
	}
}

func TestPrepareDirResolvesLinksAndChecksTheTarget(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(open, link); err != nil {
		t.Fatal(err)
	}
	if _, err := PrepareDir(link); err == nil || !strings.Contains(err.Error(), open) {
		t.Fatalf("PrepareDir(link to a folder all may write) = %v, want an error naming %s", err, open)
	}
}

func TestWriteFileAtomicReplacesAPlantedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.kubeconfig")
	if err := os.WriteFile(path, []byte("planted"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	// The planter keeps a second name for their file, to read what is written into it.
	theirs := filepath.Join(dir, "theirs")
	if err := os.Link(path, theirs); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("secret key")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(theirs); string(data) != "planted" {
		t.Fatalf("the key was written into the planted file: it now holds %q", data)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("written file has mode %04o, want 0600", info.Mode().Perm())
	}
	if data, _ := os.ReadFile(path); string(data) != "secret key" {
		t.Fatalf("written file holds %q", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestOpenLogRefusesALinkPlantedInPlaceOfALog(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "etcd.log")
	if err := os.Symlink(target, log); err != nil {
		t.Fatal(err)
	}
	if f, err := openLog(log); err == nil {
		f.Close()
		t.Fatal("openLog followed a symbolic link")
	}
}

func TestFindBuildScriptIgnoresTheWorkingDirectory(t *testing.T) {
	// A folder above the working directory holds a planted Flotilla checkout.
	planted := t.TempDir()
	if err := os.MkdirAll(filepath.Join(planted, "hack"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(planted, "go.mod"), []byte("module github.com/flotilla-dev/flotilla\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(planted, "hack", "build-tools.sh"), []byte("#!/bin/sh\ntouch pwned\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	wd := filepath.Join(planted, "work", "deep")
	if err := os.MkdirAll(wd, 0o700); err != nil {
		t.Fatal(err)
	}
	ours, err := filepath.Abs(filepath.Join("..", "..", "hack", "build-tools.sh"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)
	got, err := findBuildScript()
	if err != nil {
		t.Fatal(err)
	}
	if got != ours {
		t.Fatalf("findBuildScript() = %s, want this source tree's %s", got, ours)
	}
}

func TestBuildScriptIn(t *testing.T) {
	other := t.TempDir()
	if err := os.MkdirAll(filepath.Join(other, "internal", "localfleet"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(other, "hack"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "hack", "build-tools.sh"), nil, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, source := range []string{
		// What a -trimpath build records.
		"github.com/flotilla-dev/flotilla/internal/localfleet/binaries.go",
		// A tree of another module.
		filepath.Join(other, "internal", "localfleet", "binaries.go"),
	} {
		if got, err := buildScriptIn(source); err == nil {
			t.Errorf("buildScriptIn(%s) = %s, want no script", source, got)
		} else if !strings.Contains(err.Error(), "make tools") {
			t.Errorf("buildScriptIn(%s) = %v, want the fix (make tools)", source, err)
		}
	}
}

func TestRestartAllowed(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	policy := RestartPolicy{MaxRestarts: 2, Window: 10 * time.Minute}
	cases := []struct {
		name    string
		policy  RestartPolicy
		earlier []time.Time
		want    bool
	}{
		{"first death", policy, nil, true},
		{"one restart in the window", policy, []time.Time{now.Add(-time.Minute)}, true},
		{"two restarts in the window", policy, []time.Time{now.Add(-2 * time.Minute), now.Add(-time.Minute)}, false},
		{"old restarts do not count", policy, []time.Time{now.Add(-time.Hour), now.Add(-11 * time.Minute)}, true},
		{"the zero policy never restarts", RestartPolicy{}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := restartAllowed(tc.policy, tc.earlier, now); got != tc.want {
				t.Fatalf("restartAllowed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNeedAway(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	alive := func() *process { return &process{done: make(chan struct{})} }
	dead := func() *process {
		p := &process{done: make(chan struct{})}
		close(p.done)
		return p
	}
	cases := []struct {
		name        string
		etcd, api   *process
		etcdEnded   time.Time
		apiEnded    time.Time
		wantAway    bool
		wantNeedsOK bool
		wantName    string
	}{
		{name: "all run, none ended", etcd: alive(), api: alive(), wantNeedsOK: true},
		{name: "all run, ended long ago", etcd: alive(), api: alive(), etcdEnded: now.Add(-time.Hour), apiEnded: now.Add(-time.Hour), wantNeedsOK: true},
		{name: "the API server is dead", etcd: alive(), api: dead(), wantAway: true, wantName: "apiserver"},
		{name: "etcd is dead: a need of a need", etcd: dead(), api: alive(), wantAway: true, wantName: "etcd"},
		{name: "etcd came back a moment ago", etcd: alive(), api: alive(), etcdEnded: now.Add(-10 * time.Second), wantAway: true, wantName: "etcd", wantNeedsOK: true},
		{name: "the API server came back within the grace", etcd: alive(), api: alive(), apiEnded: now.Add(-needGrace + time.Second), wantAway: true, wantName: "apiserver", wantNeedsOK: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			etcd := &child{name: "etcd", proc: tc.etcd, ended: tc.etcdEnded}
			api := &child{name: "apiserver", proc: tc.api, ended: tc.apiEnded, needs: []*child{etcd}}
			kcm := &child{name: "controller-manager", needs: []*child{api}}
			name, away := kcm.needAway(now)
			if away != tc.wantAway || name != tc.wantName {
				t.Errorf("needAway = %q, %v; want %q, %v", name, away, tc.wantName, tc.wantAway)
			}
			if got := kcm.needsRunning(); got != tc.wantNeedsOK {
				t.Errorf("needsRunning = %v, want %v", got, tc.wantNeedsOK)
			}
		})
	}
}
