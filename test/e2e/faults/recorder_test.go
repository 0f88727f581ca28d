package faults

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// recorder counts, per ConfigMap of one namespace on one member, the writes and deletes
// its API server reports. It watches from before the placement exists and resumes after an
// outage from the last version it saw, so it misses no event even when the API server (or
// etcd) was away.
type recorder struct {
	member string
	mu     sync.Mutex
	writes map[string]int // ADDED or MODIFIED: each is one apply that changed the object
	delete map[string]int
	cancel context.CancelFunc
	done   chan struct{}
}

func record(t *testing.T, member, namespace string) *recorder {
	t.Helper()
	cs, err := kubernetes.NewForConfig(fleet.Member(member).Config)
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().ConfigMaps(namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lw := &cache.ListWatch{WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
		return cs.CoreV1().ConfigMaps(namespace).Watch(ctx, opts)
	}}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, lw)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &recorder{member: member, writes: map[string]int{}, delete: map[string]int{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				cm, isCM := ev.Object.(*corev1.ConfigMap)
				if !isCM || cm.Name == "kube-root-ca.crt" {
					continue
				}
				r.mu.Lock()
				switch ev.Type {
				case watch.Added, watch.Modified:
					r.writes[cm.Name]++
				case watch.Deleted:
					r.delete[cm.Name]++
				}
				r.mu.Unlock()
			}
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *recorder) stop() {
	r.cancel()
	<-r.done
}

// problems lists what went wrong on the member: a deleted object, or an object written more
// than once although its hub version never changed.
func (r *recorder) problems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for name, n := range r.delete {
		out = append(out, fmt.Sprintf("%s: ConfigMap %s deleted %d times", r.member, name, n))
	}
	for name, n := range r.writes {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s: ConfigMap %s written %d times for one version", r.member, name, n))
		}
	}
	sort.Strings(out)
	return out
}
