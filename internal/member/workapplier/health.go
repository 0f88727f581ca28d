package workapplier

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
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

// recovery remembers the last /readyz answer and tells when the member came back.
type recovery struct{ down bool }

// observe takes one /readyz answer and reports whether it ends an outage. The first
// answer never does: an applier that starts resyncs everything anyway.
func (r *recovery) observe(healthy bool) (cameBack bool) {
	cameBack = r.down && healthy
	r.down = !healthy
	return cameBack
}

// healthWatch polls the member's /readyz and sends a signal on its channel each time the
// member comes back; the controller turns a signal into a reconcile of every Work.
type healthWatch struct {
	member kubernetes.Interface
	name   string
	period time.Duration
	out    chan event.TypedGenericEvent[struct{}]
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
		probe, cancel := context.WithTimeout(ctx, h.period)
		err := h.member.Discovery().RESTClient().Get().AbsPath("/readyz").Do(probe).Error()
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		ready := 0.0
		if err == nil {
			ready = 1
		}
		memberReady.WithLabelValues(h.name).Set(ready)
		if state.observe(err == nil) {
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
