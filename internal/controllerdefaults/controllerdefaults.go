// Package controllerdefaults holds the options every Flotilla controller, on the hub and in
// the member agent, is built with. It exists so that the retry backoff is set in one place:
// controller-runtime's default rate limiter backs a failing item off for up to 1000 s,
// which outlasts heartbeats and stalls work for many minutes after a short outage.
package controllerdefaults

import (
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

const (
	// BaseBackoff is the first retry delay of an item whose reconcile failed.
	BaseBackoff = 50 * time.Millisecond
	// MaxBackoff is the longest any controller waits before retrying a failed item: seconds,
	// well under the default heartbeat period of 60 s. The heartbeat itself does not rely
	// on it; it requeues at its period on error.
	MaxBackoff = 10 * time.Second
)

// RateLimiter returns the per-item exponential backoff, from BaseBackoff doubling up to
// MaxBackoff. It has no overall token bucket: that bucket's delay grows with the queue's
// length and could outlast MaxBackoff after an outage that fails every item at once.
func RateLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](BaseBackoff, MaxBackoff)
}

// Options returns the controller options with the capped rate limiter and the given
// number of concurrent reconciles (0 keeps controller-runtime's default of one).
func Options(workers int) controller.Options {
	return controller.Options{MaxConcurrentReconciles: workers, RateLimiter: RateLimiter()}
}
