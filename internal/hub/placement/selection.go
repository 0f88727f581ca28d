package placement

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// InvalidSelectorError says which selector is wrong and how to fix it; it becomes the
// placement's Scheduled=False message.
type InvalidSelectorError struct{ Msg string }

func (e *InvalidSelectorError) Error() string { return e.Msg }

// notSyncedError means an informer has not listed its type yet; the placement is retried.
type notSyncedError struct{ gvr schema.GroupVersionResource }

func (e *notSyncedError) Error() string { return "waiting for the first list of " + e.gvr.String() }

// Selection is what a placement's selectors select, in the order they are placed.
type Selection struct {
	// Objects are the cleaned objects.
	Objects []*unstructured.Unstructured
	// Resources are the cluster-scoped resource types the selectors name.
	Resources map[schema.GroupVersionResource]bool
	// Namespaces are the namespaces selected with their resources.
	Namespaces map[string]bool
	// Scoped are the namespaced resource types the selectors name, each with the namespace
	// selected as NamespaceWithResourceSelectors.
	Scoped map[schema.GroupVersionResource]string
}

// selector resolves resource selectors against the watcher's caches.
type selector struct {
	mapper  meta.RESTMapper
	watcher *Watcher
	// namespace is a ResourcePlacement's namespace, whose objects alone it selects; empty
	// for a ClusterResourcePlacement.
	namespace string
}

// Select resolves all selectors of a placement.
func (s *selector) Select(sels []placementv1beta1.ClusterResourceSelector) (*Selection, error) {
	out := &Selection{Resources: map[schema.GroupVersionResource]bool{}, Namespaces: map[string]bool{}, Scoped: map[schema.GroupVersionResource]string{}}
	seen := map[string]bool{}
	add := func(u *unstructured.Unstructured) {
		key := u.GroupVersionKind().String() + "/" + u.GetNamespace() + "/" + u.GetName()
		if !seen[key] {
			seen[key] = true
			out.Objects = append(out.Objects, Clean(u))
		}
	}
	// scoped is the namespace selected as NamespaceWithResourceSelectors: the other
	// selectors may pick namespaced objects there.
	scoped := s.namespace
	if s.namespace != "" {
		if reserved, why := ReservedNamespace(s.namespace); reserved {
			return nil, &InvalidSelectorError{fmt.Sprintf("namespace %s is reserved and never placed (%s); create the ResourcePlacement in another namespace", s.namespace, why)}
		}
	}
	if s.namespace == "" {
		for _, sel := range sels {
			if sel.Group == "" && sel.Kind == "Namespace" && sel.SelectionScope == placementv1beta1.NamespaceWithResourceSelectors {
				scoped = sel.Name
			}
		}
	}
	for i, sel := range sels {
		gvk := schema.GroupVersionKind{Group: sel.Group, Version: sel.Version, Kind: sel.Kind}
		field := fmt.Sprintf("spec.resourceSelectors[%d]", i)
		if skip, why := SkippedKind(gvk.GroupKind()); skip {
			return nil, &InvalidSelectorError{fmt.Sprintf("%s selects %s, which is never placed (%s); remove the selector", field, kindString(gvk), why)}
		}
		mapping, err := s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			if meta.IsNoMatchError(err) {
				return nil, &InvalidSelectorError{fmt.Sprintf("%s selects %s, which the hub does not serve; check group, version and kind (for a custom resource, install its CRD on the hub first)", field, kindString(gvk))}
			}
			return nil, err
		}
		if s.namespace != "" && mapping.Scope.Name() == meta.RESTScopeNameRoot {
			return nil, &InvalidSelectorError{fmt.Sprintf("%s selects %s, which is cluster-scoped; a ResourcePlacement selects resources of its own namespace (%s): place cluster-scoped resources with a ClusterResourcePlacement", field, kindString(gvk), s.namespace)}
		}
		if mapping.Scope.Name() != meta.RESTScopeNameRoot {
			if scoped == "" {
				return nil, &InvalidSelectorError{fmt.Sprintf("%s selects %s, which is namespaced; a ClusterResourcePlacement selects cluster-scoped resources, so select its namespace instead (or select the namespace as NamespaceWithResourceSelectors)", field, kindString(gvk))}
			}
			out.Scoped[mapping.Resource] = scoped
			if err := s.selectIn(scoped, sel, gvk, mapping.Resource, field, add); err != nil {
				return nil, err
			}
			continue
		}
		isNamespace := gvk.Group == "" && gvk.Kind == "Namespace"
		if isNamespace && sel.Name != "" {
			if reserved, why := ReservedNamespace(sel.Name); reserved {
				return nil, &InvalidSelectorError{fmt.Sprintf("%s selects namespace %s, which is reserved and never placed (%s); choose another namespace", field, sel.Name, why)}
			}
		}
		out.Resources[mapping.Resource] = true
		objs, synced, err := s.watcher.All(mapping.Resource)
		if err != nil {
			return nil, err
		}
		if !synced {
			return nil, &notSyncedError{mapping.Resource}
		}
		ls := labels.Everything()
		if sel.LabelSelector != nil {
			if ls, err = metav1.LabelSelectorAsSelector(sel.LabelSelector); err != nil {
				return nil, &InvalidSelectorError{fmt.Sprintf("%s.labelSelector: %v", field, err)}
			}
		}
		for _, u := range objs {
			if sel.Name != "" && u.GetName() != sel.Name {
				continue
			}
			if !ls.Matches(labels.Set(u.GetLabels())) || u.GetDeletionTimestamp() != nil {
				continue
			}
			if isNamespace {
				if reserved, _ := ReservedNamespace(u.GetName()); reserved {
					continue
				}
			} else if SkippedObject(u) {
				continue
			}
			u = u.DeepCopy()
			u.SetGroupVersionKind(gvk)
			add(u)
			if isNamespace && sel.SelectionScope == placementv1beta1.NamespaceWithResources {
				out.Namespaces[u.GetName()] = true
			}
		}
	}
	if len(out.Namespaces) > 0 {
		kinds, err := s.watcher.NamespacedResources()
		if err != nil {
			return nil, err
		}
		// Start every informer before waiting for any, so that they list in parallel.
		var unsynced error
		for _, k := range kinds {
			if _, synced, err := s.watcher.Lister(k.GVR); err != nil {
				return nil, err
			} else if !synced && unsynced == nil {
				unsynced = &notSyncedError{k.GVR}
			}
		}
		if unsynced != nil {
			return nil, unsynced
		}
		for _, k := range kinds {
			for ns := range out.Namespaces {
				objs, synced, err := s.watcher.ByNamespace(k.GVR, ns)
				if err != nil {
					return nil, err
				}
				if !synced {
					return nil, &notSyncedError{k.GVR}
				}
				for _, u := range objs {
					if u.GetDeletionTimestamp() != nil || SkippedObject(u) {
						continue
					}
					u = u.DeepCopy()
					u.SetGroupVersionKind(k.GVK)
					add(u)
				}
			}
		}
	}
	sortForPlacing(out.Objects)
	return out, nil
}

// selectIn adds the objects of one namespaced kind in namespace ns that a selector picks.
func (s *selector) selectIn(ns string, sel placementv1beta1.ClusterResourceSelector, gvk schema.GroupVersionKind,
	gvr schema.GroupVersionResource, field string, add func(*unstructured.Unstructured)) error {
	objs, synced, err := s.watcher.ByNamespace(gvr, ns)
	if err != nil {
		return err
	}
	if !synced {
		return &notSyncedError{gvr}
	}
	ls := labels.Everything()
	if sel.LabelSelector != nil {
		if ls, err = metav1.LabelSelectorAsSelector(sel.LabelSelector); err != nil {
			return &InvalidSelectorError{fmt.Sprintf("%s.labelSelector: %v", field, err)}
		}
	}
	for _, u := range objs {
		if (sel.Name != "" && u.GetName() != sel.Name) || !ls.Matches(labels.Set(u.GetLabels())) ||
			u.GetDeletionTimestamp() != nil || SkippedObject(u) {
			continue
		}
		u = u.DeepCopy()
		u.SetGroupVersionKind(gvk)
		add(u)
	}
	return nil
}

func kindString(gvk schema.GroupVersionKind) string {
	if gvk.Group == "" {
		return fmt.Sprintf("kind %s (version %s of the core group)", gvk.Kind, gvk.Version)
	}
	return fmt.Sprintf("kind %s (%s/%s)", gvk.Kind, gvk.Group, gvk.Version)
}

// sortForPlacing orders objects stably: namespaces, then CRDs, then everything else by
// group, kind, namespace and name. The member agent applies in its own waves; a stable order
// keeps the hash stable.
func sortForPlacing(objs []*unstructured.Unstructured) {
	rank := func(u *unstructured.Unstructured) int {
		switch u.GroupVersionKind().GroupKind().String() {
		case "Namespace":
			return 0
		case "CustomResourceDefinition.apiextensions.k8s.io":
			return 1
		}
		return 2
	}
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i], objs[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		ka := strings.Join([]string{a.GroupVersionKind().Group, a.GetKind(), a.GetNamespace(), a.GetName()}, "/")
		kb := strings.Join([]string{b.GroupVersionKind().Group, b.GetKind(), b.GetNamespace(), b.GetName()}, "/")
		return ka < kb
	})
}

// Identifiers lists the selection as status.selectedResources.
func (s *Selection) Identifiers() []placementv1beta1.ResourceIdentifier {
	out := make([]placementv1beta1.ResourceIdentifier, 0, len(s.Objects))
	for _, u := range s.Objects {
		gvk := u.GroupVersionKind()
		out = append(out, placementv1beta1.ResourceIdentifier{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
			Name: u.GetName(), Namespace: u.GetNamespace()})
	}
	return out
}
