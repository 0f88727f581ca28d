package controllerdefaults

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
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
