package localfleet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// DirError says why a folder may not hold a fleet's keys, and how to fix that.
type DirError struct {
	Path    string
	Problem string
	Fix     string
}

func (e *DirError) Error() string {
	return fmt.Sprintf("the fleet folder %s %s: %s", e.Path, e.Problem, e.Fix)
}

// dirProblem judges a folder from its type, mode and owner: it must be a directory of the
// user (uid me) that nobody else may write to, since the fleet's admin keys go into it and
// whoever may write there could swap a key or a kubeconfig for their own.
func dirProblem(path string, mode fs.FileMode, owner, me int) error {
	switch {
	case !mode.IsDir():
		return &DirError{Path: path, Problem: "is not a directory",
			Fix: "give --dir a folder, or a path that does not exist yet"}
	case owner != me:
		return &DirError{Path: path, Problem: fmt.Sprintf("is owned by uid %d, not by you (uid %d)", owner, me),
			Fix: "give --dir a folder of your own, or leave --dir out for a new private one"}
	case mode.Perm()&0o022 != 0:
		return &DirError{Path: path, Problem: fmt.Sprintf("may be written by other users (mode %04o)", mode.Perm()),
			Fix: fmt.Sprintf("run `chmod go-w %s`, or give --dir another folder", path)}
	}
	return nil
}

// checkDir checks an existing folder with dirProblem. It does not follow a symbolic link.
func checkDir(path string) error {
	info, err := os.Lstat(path)
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("cannot tell the owner of %s", path)
	}
	return dirProblem(path, info.Mode(), int(st.Uid), os.Geteuid())
}

// PrepareDir makes dir ready to hold a fleet: a missing folder is created with mode 0700,
// an existing one must pass dirProblem. It returns the folder's absolute path with
// symbolic links resolved, so that a link swapped later cannot redirect the fleet's writes.
func PrepareDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("a fleet needs a folder (--dir, or Options.Dir)")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if _, err := os.Lstat(abs); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return "", fmt.Errorf("creating the fleet folder: %w", err)
		}
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	if err := checkDir(resolved); err != nil {
		return "", err
	}
	return resolved, nil
}

// ensureDir makes a folder inside a prepared fleet folder: created 0700 when missing, and
// checked like the fleet folder when it exists (it may be left from an earlier fleet).
func ensureDir(path string) error {
	err := os.Mkdir(path, 0o700)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		return err
	}
	return checkDir(path)
}
