package workapplier

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/readyz"
)

// DefaultHealthPollPeriod is how often the applier asks its member's API server for
// /readyz. When the answer turns good again after an outage, every Work is applied at once
// instead of waiting for its retry backoff, which grew while the member was away.
const DefaultHealthPollPeriod = 2 * time.Second

// MemberReadyMetric is the gauge, per member, of the member API server's last /readyz
// answer as the work applier saw it: 1 ready, 0 not.
const MemberReadyMetric = "flotilla_member_apiserver_ready"

var memberReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: MemberReadyMetric,
	Help: "Whether the member's API server answered /readyz at the work applier's last poll (1) or not (0).",
}, []string{"member"})

func init() { metrics.Registry.MustRegister(memberReady) }

// recovery remembers the last /readyz answer and tells when the member went away and when
// it came back.
type recovery struct{ seen, down bool }

// observe takes one /readyz answer and reports whether it ends an outage, or begins one.
// The first answer never ends one (an applier that starts resyncs everything anyway), but
// a first answer that is not ready begins one: the Works may still say what was true
// before the agent started.
func (r *recovery) observe(healthy bool) (cameBack, wentDown bool) {
	cameBack = r.down && healthy
	wentDown = !healthy && (!r.down || !r.seen)
	r.seen, r.down = true, !healthy
	return cameBack, wentDown
}

// healthWatch polls the member's /readyz and sends a signal on its channel each time the
// member comes back; the controller turns a signal into a reconcile of every Work.
type healthWatch struct {
	member kubernetes.Interface
	name   string
	period time.Duration
	out    chan event.TypedGenericEvent[struct{}]
	// wentDown is called once per outage, with the probe's error.
	wentDown func(ctx context.Context, err error)
}

// Start polls until ctx ends.
func (h *healthWatch) Start(ctx context.Context) error {
	var state recovery
	tick := time.NewTicker(h.period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		err := readyz.Check(ctx, h.member.Discovery().RESTClient(), h.period)
		if ctx.Err() != nil {
			return nil
		}
		ready := 0.0
		if err == nil {
			ready = 1
		}
		memberReady.WithLabelValues(h.name).Set(ready)
		back, down := state.observe(err == nil)
		if down && h.wentDown != nil {
			log.FromContext(ctx).Info("the member's API server is not ready: marking every Work's availability unknown", "error", err.Error())
			h.wentDown(ctx, err)
		}
		if back {
			log.FromContext(ctx).Info("the member's API server is ready again: applying every Work now")
			select {
			case h.out <- event.TypedGenericEvent[struct{}]{}:
			default: // a resync is already queued
			}
		}
	}
}

// everyWork lists the Works of the member's hub namespace, for a resync.
func (r *Reconciler) everyWork(ctx context.Context, _ struct{}) []reconcile.Request {
	works := &placementv1beta1.WorkList{}
	if err := r.Hub.List(ctx, works, client.InNamespace(r.HubNamespace)); err != nil {
		log.FromContext(ctx).Error(err, "listing the Works to apply after the member came back")
		return nil
	}
	out := make([]reconcile.Request, 0, len(works.Items))
	for _, w := range works.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&w)})
	}
	return out
}

// markUnreachable sets the Available condition of every Work of the member to Unknown: while
// its API server does not answer, nobody can tell what is still available there. The next
// apply, once the member is back, reports the truth again.
func (r *Reconciler) markUnreachable(ctx context.Context, probeErr error) {
	works := &placementv1beta1.WorkList{}
	if err := r.Hub.List(ctx, works, client.InNamespace(r.HubNamespace)); err != nil {
		log.FromContext(ctx).Error(err, "listing the Works to mark unreachable")
		return
	}
	msg := fmt.Sprintf("the API server of %s is not ready (%v): the availability of its objects is unknown", r.MemberName, probeErr)
	now := metav1.Now()
	for i := range works.Items {
		key := client.ObjectKeyFromObject(&works.Items[i])
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			w := &placementv1beta1.Work{}
			if err := r.Hub.Get(ctx, key, w); err != nil {
				return client.IgnoreNotFound(err)
			}
			status, changed := unreachableStatus(w.Status, w.Generation, msg, now)
			if !changed {
				return nil
			}
			w.Status = status
			return r.Hub.Status().Update(ctx, w)
		})
		if err != nil {
			log.FromContext(ctx).Error(err, "marking a Work's availability unknown", "work", key.Name)
		}
	}
}
