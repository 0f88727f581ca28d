package cli

import (
	"strings"
	"testing"
)

// TestVersionPrintsTheStampedValues sets the variables as -ldflags -X would and checks that
// the command prints them, so a stamped release binary tells what it was built from.
func TestVersionPrintsTheStampedValues(t *testing.T) {
	oldVersion, oldRevision := version, revision
	t.Cleanup(func() { version, revision = oldVersion, oldRevision })
	version, revision = "v1.2.3", "0123456789abcdef"

	out, err := runCLI(t, "version")
	if err != nil {
		t.Fatalf("flotilla version: %v\n%s", err, out)
	}
	if want := "flotilla v1.2.3 (revision 0123456789abcdef)\n"; out != want {
		t.Fatalf("flotilla version printed %q, want %q", out, want)
	}
}

// TestVersionDefaultsToDev: a plain go build, which sets no ldflags, says "dev".
func TestVersionDefaultsToDev(t *testing.T) {
	out, err := runCLI(t, "version")
	if err != nil {
		t.Fatalf("flotilla version: %v\n%s", err, out)
	}
	if want := "flotilla dev (revision dev)\n"; out != want {
		t.Fatalf("flotilla version printed %q, want %q", out, want)
	}
}

func TestVersionTakesNoArguments(t *testing.T) {
	out, err := runCLI(t, "version", "extra")
	if err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("flotilla version extra = %v, %q; want it refused", err, out)
	}
}
