package providers

import (
	"fmt"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.35.8", "v1.35.8", 0},
		{"1.9.0", "1.10.0", -1},
		{"202512.05.0", "202512.01.0", 1},
		{"202511.20.0", "202512.01.0", -1},
		{"1.36", "1.36.0", -1},
		{"1.36.0-rc.1", "1.36.0-rc.2", -1},
	}
	for _, c := range cases {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := CompareVersions(c.b, c.a); got != -c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestFailureIsRecognisedThroughWrapping(t *testing.T) {
	err := fmt.Errorf("step: %w", Failf("quota exceeded in %s", "westus"))
	f, ok := IsFailure(err)
	if !ok || f.Message != "quota exceeded in westus" {
		t.Fatalf("IsFailure(%v) = %v, %v", err, f, ok)
	}
	if _, ok := IsFailure(fmt.Errorf("timeout")); ok {
		t.Fatal("a plain error counted as a Failure")
	}
}
