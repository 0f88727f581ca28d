package stages

import (
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestConcurrency(t *testing.T) {
	i := func(n int) *intstr.IntOrString { v := intstr.FromInt32(int32(n)); return &v }
	s := func(p string) *intstr.IntOrString { v := intstr.FromString(p); return &v }
	for _, c := range []struct {
		name string
		v    *intstr.IntOrString
		n    int
		want int
	}{
		{"unset is one", nil, 10, 1},
		{"a number", i(3), 10, 3},
		{"a number above the members", i(30), 10, 30},
		{"zero is raised to one", i(0), 10, 1},
		{"a percentage rounds down", s("25%"), 10, 2},
		{"a small percentage is at least one", s("1%"), 10, 1},
		{"all", s("100%"), 7, 7},
		{"a bad percentage is one", s("lots"), 10, 1},
	} {
		if got := Concurrency(c.v, c.n); got != c.want {
			t.Errorf("%s: Concurrency(%v, %d) = %d, want %d", c.name, c.v, c.n, got, c.want)
		}
	}
}

func TestOrder(t *testing.T) {
	labels := map[string]map[string]string{
		"a": {"order": "10"}, "b": {"order": "9"}, "c": {}, "d": {"order": "9"}, "e": {"order": "x"},
	}
	for _, c := range []struct {
		name  string
		names []string
		key   string
		want  []string
	}{
		{"by name without a key", []string{"d", "a", "c"}, "", []string{"a", "c", "d"}},
		{"integers compare as numbers, ties by name, unlabelled last", []string{"c", "a", "d", "b"}, "order", []string{"b", "d", "a", "c"}},
		{"a value that is not a number compares as a string", []string{"e", "a"}, "order", []string{"a", "e"}},
	} {
		if got := Order(c.names, labels, c.key); !slices.Equal(got, c.want) {
			t.Errorf("%s: Order = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestWaitLeft(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := WaitLeft(start, time.Minute, start.Add(20*time.Second)); got != 40*time.Second {
		t.Errorf("mid-wait: %v left, want 40s", got)
	}
	if got := WaitLeft(start, time.Minute, start.Add(time.Minute)); got != 0 {
		t.Errorf("at the end: %v left, want 0", got)
	}
	if got := WaitLeft(start, time.Minute, start.Add(time.Hour)); got != 0 {
		t.Errorf("long after: %v left, want 0", got)
	}
}
