package placement

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// Watcher keeps a dynamic informer per resource type that some placement selects, so that
// selection reads from memory and any change to a selected object is seen at once. Informers
// start the first time a type is asked for and run until the hub stops.
type Watcher struct {
	dyn       dynamic.Interface
	discovery discovery.DiscoveryInterface
	// OnChange is called with every added, updated or deleted object of a watched type.
	OnChange func(gvr schema.GroupVersionResource, obj *unstructured.Unstructured)

	mu        sync.Mutex
	ctx       context.Context
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer

	discoMu    sync.Mutex
	namespaced []Resource
	discoAt    time.Time
}

// Resource is a listable resource type with its kind.
type Resource struct {
	GVR schema.GroupVersionResource
	GVK schema.GroupVersionKind
}

// discoveryTTL is how long the list of namespaced kinds is reused. A CRD change clears it.
const discoveryTTL = 30 * time.Second

// NewWatcher builds a watcher against the hub.
func NewWatcher(cfg *rest.Config) (*Watcher, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Watcher{dyn: dyn, discovery: disco, informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{}}, nil
}

// Start runs until ctx ends; informers started later stop with it. It implements
// manager.Runnable.
func (w *Watcher) Start(ctx context.Context) error {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	<-ctx.Done()
	return nil
}

// NeedLeaderElection makes the watcher run with the controllers, on the leader only.
func (w *Watcher) NeedLeaderElection() bool { return true }

// Lister returns the store of a resource type, starting its informer when needed. synced is
// false until the informer has listed everything once.
func (w *Watcher) Lister(gvr schema.GroupVersionResource) (store cache.Store, synced bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil {
		return nil, false, fmt.Errorf("the resource watcher has not started yet")
	}
	inf, ok := w.informers[gvr]
	if !ok {
		inf = dynamicinformer.NewFilteredDynamicInformer(w.dyn, gvr, "", 0, cache.Indexers{
			cache.NamespaceIndex: cache.MetaNamespaceIndexFunc,
		}, nil).Informer()
		notify := func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if u, ok := obj.(*unstructured.Unstructured); ok && w.OnChange != nil {
				w.OnChange(gvr, u)
			}
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    notify,
			UpdateFunc: func(_, n any) { notify(n) },
			DeleteFunc: notify,
		}); err != nil {
			return nil, false, err
		}
		w.informers[gvr] = inf
		go inf.Run(w.ctx.Done())
		log.FromContext(w.ctx).V(1).Info("watching resource type for placements", "resource", gvr.String())
	}
	return inf.GetStore(), inf.HasSynced(), nil
}

// ByNamespace lists the objects of a namespaced type in one namespace.
func (w *Watcher) ByNamespace(gvr schema.GroupVersionResource, ns string) ([]*unstructured.Unstructured, bool, error) {
	store, synced, err := w.Lister(gvr)
	if err != nil || !synced {
		return nil, synced, err
	}
	indexer, ok := store.(cache.Indexer)
	if !ok {
		return nil, false, fmt.Errorf("store of %s has no index", gvr)
	}
	objs, err := indexer.ByIndex(cache.NamespaceIndex, ns)
	if err != nil {
		return nil, false, err
	}
	return unstructureds(objs), true, nil
}

// All lists every object of a type.
func (w *Watcher) All(gvr schema.GroupVersionResource) ([]*unstructured.Unstructured, bool, error) {
	store, synced, err := w.Lister(gvr)
	if err != nil || !synced {
		return nil, synced, err
	}
	return unstructureds(store.List()), true, nil
}

func unstructureds(objs []any) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok {
			out = append(out, u)
		}
	}
	return out
}

// NamespacedResources lists the namespaced resource types that can be placed: listable and
// watchable, in their preferred version, minus the kinds never placed.
func (w *Watcher) NamespacedResources() ([]Resource, error) {
	w.discoMu.Lock()
	defer w.discoMu.Unlock()
	if w.namespaced != nil && time.Since(w.discoAt) < discoveryTTL {
		return w.namespaced, nil
	}
	lists, err := w.discovery.ServerPreferredNamespacedResources()
	if err != nil && len(lists) == 0 {
		// A partial failure (one aggregated API down) still gives the rest.
		return nil, fmt.Errorf("discovering the hub's namespaced resource types: %w", err)
	}
	var out []Resource
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if !has(r.Verbs, "list") || !has(r.Verbs, "watch") || containsSlash(r.Name) {
				continue
			}
			gk := schema.GroupKind{Group: gv.Group, Kind: r.Kind}
			if skip, _ := SkippedKind(gk); skip {
				continue
			}
			out = append(out, Resource{GVR: gv.WithResource(r.Name), GVK: gv.WithKind(r.Kind)})
		}
	}
	w.namespaced, w.discoAt = out, time.Now()
	return out, nil
}

// ForgetDiscovery makes the next NamespacedResources ask the API server again.
func (w *Watcher) ForgetDiscovery() {
	w.discoMu.Lock()
	w.namespaced = nil
	w.discoMu.Unlock()
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsSlash(s string) bool {
	for _, c := range s {
		if c == '/' {
			return true
		}
	}
	return false
}
