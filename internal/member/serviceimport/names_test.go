package serviceimport

import (
	"strings"
	"testing"
)

// The controller's behaviour against real API servers is tested with the rest of
// multi-cluster networking in internal/hub/networking; these are its pure parts.

func TestDerivedServiceName(t *testing.T) {
	if got := DerivedServiceName("web"); got != "derived-web" {
		t.Fatalf("got %q", got)
	}
	long := strings.Repeat("a", 63)
	other := strings.Repeat("a", 62) + "b"
	got := DerivedServiceName(long)
	if len(got) > 63 || !strings.HasPrefix(got, "derived-aaaa") {
		t.Fatalf("a derived name must be a valid Service name: %q (%d)", got, len(got))
	}
	if got == DerivedServiceName(other) {
		t.Fatalf("two long names that share a prefix must not share a derived name: %q", got)
	}
	if n := sliceName("derived-web", strings.Repeat("c", 250), 0); len(n) > 253 {
		t.Fatalf("slice name too long: %d", len(n))
	}
}
