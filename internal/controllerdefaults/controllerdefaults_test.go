package controllerdefaults

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// TestBackoffIsCapped fails an item many times over and checks that no retry waits longer
// than MaxBackoff, where controller-runtime's default would reach 1000 s.
func TestBackoffIsCapped(t *testing.T) {
	rl := RateLimiter()
	item := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "fleet-member-1", Name: "member-1"}}
	if d := rl.When(item); d != BaseBackoff {
		t.Fatalf("first retry waits %s, want %s", d, BaseBackoff)
	}
	var last time.Duration
	for range 100 {
		last = rl.When(item)
		if last > MaxBackoff {
			t.Fatalf("a retry waits %s, more than MaxBackoff %s", last, MaxBackoff)
		}
	}
	if last != MaxBackoff {
		t.Fatalf("after 100 failures the retry waits %s, want the cap %s", last, MaxBackoff)
	}
	rl.Forget(item)
	if d := rl.When(item); d != BaseBackoff {
		t.Fatalf("after Forget the retry waits %s, want %s", d, BaseBackoff)
	}
	if o := Options(4); o.MaxConcurrentReconciles != 4 || o.RateLimiter == nil {
		t.Fatalf("Options(4) = %+v, want 4 workers and the capped rate limiter", o)
	}
}

func TestByLabel(t *testing.T) {
	withLabels := func(l map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "child", Labels: l}}
	}
	cases := []struct {
		name   string
		labels map[string]string
		want   []reconcile.Request
	}{
		{"the label names the parent", map[string]string{"parent": "p1"}, []reconcile.Request{{NamespacedName: client.ObjectKey{Name: "p1"}}}},
		{"no label, no request", nil, nil},
		{"an empty label, no request", map[string]string{"parent": ""}, nil},
		{"another label does not count", map[string]string{"other": "p1"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ByLabel("parent")(context.Background(), withLabels(tc.labels))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ByLabel = %v, want %v", got, tc.want)
			}
		})
	}
}
