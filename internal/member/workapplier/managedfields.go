package workapplier

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// The server's managed fields stand in for the last-applied annotation where there is none
// (server-side apply, or a manifest too large for an annotation). Each entry's FieldsV1 is a
// tree of path elements: "f:<name>" a map key, "k:<json>" the list item with those key
// fields, "v:<json>" the list item with that value, "i:<n>" the list item at an index, and
// "." the node itself.

// fieldPath is one path through a FieldsV1 tree, from the object's root to a field.
type fieldPath []string

func (p fieldPath) key() string { return strings.Join(p, "\x00") }

// fieldSet holds the leaf paths of one or more managers' FieldsV1 trees.
type fieldSet map[string]fieldPath

// managedBy collects the leaf paths of the main resource (not a subresource) that the
// managers for which want returns true own.
func managedBy(entries []metav1.ManagedFieldsEntry, want func(manager string) bool) fieldSet {
	set := fieldSet{}
	for _, e := range entries {
		if e.Subresource != "" || e.FieldsV1 == nil || !want(e.Manager) {
			continue
		}
		tree := map[string]any{}
		if err := json.Unmarshal(e.FieldsV1.Raw, &tree); err != nil {
			continue
		}
		addLeaves(set, tree, nil)
	}
	return set
}

func addLeaves(set fieldSet, tree map[string]any, prefix fieldPath) {
	children := 0
	for elem, sub := range tree {
		if elem == "." {
			continue
		}
		children++
		next := append(append(fieldPath{}, prefix...), elem)
		subtree, _ := sub.(map[string]any)
		addLeaves(set, subtree, next)
	}
	if children == 0 && len(prefix) > 0 {
		set[prefix.key()] = prefix
	}
}

// covers reports whether the set owns the path or a field above it.
func (s fieldSet) covers(p fieldPath) bool {
	for i := len(p); i > 0; i-- {
		if _, ok := s[p[:i].key()]; ok {
			return true
		}
	}
	return false
}

// resolve follows a path through a decoded object. It returns the value, the JSON pointer of
// the field, and whether the path exists.
func resolve(obj any, p fieldPath) (any, string, bool) {
	cur := obj
	var pointer strings.Builder
	for _, elem := range p {
		kind, arg, found := strings.Cut(elem, ":")
		if !found {
			return nil, "", false
		}
		switch kind {
		case "f":
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, "", false
			}
			if cur, ok = m[arg]; !ok {
				return nil, "", false
			}
			pointer.WriteString("/" + escape(arg))
		case "k", "v", "i":
			list, ok := cur.([]any)
			if !ok {
				return nil, "", false
			}
			i := listIndex(list, kind, arg)
			if i < 0 {
				return nil, "", false
			}
			cur = list[i]
			pointer.WriteString("/" + strconv.Itoa(i))
		default:
			return nil, "", false
		}
	}
	return cur, pointer.String(), true
}

// listIndex finds the list item a "k:", "v:" or "i:" element names, or -1.
func listIndex(list []any, kind, arg string) int {
	switch kind {
	case "i":
		i, err := strconv.Atoi(arg)
		if err != nil || i < 0 || i >= len(list) {
			return -1
		}
		return i
	case "v":
		var want any
		if json.Unmarshal([]byte(arg), &want) != nil {
			return -1
		}
		for i, item := range list {
			if equalValues(item, want) {
				return i
			}
		}
	case "k":
		keys := map[string]any{}
		if json.Unmarshal([]byte(arg), &keys) != nil {
			return -1
		}
		for i, item := range list {
			m, ok := item.(map[string]any)
			if ok && hasKeys(m, keys) {
				return i
			}
		}
	}
	return -1
}

func hasKeys(item, keys map[string]any) bool {
	for k, v := range keys {
		if !equalValues(item[k], v) {
			return false
		}
	}
	return true
}

// managedDrifts finds the fields of the hub's manifest that someone other than Flotilla now
// owns on the member with another value: the server moves a field's ownership to whoever
// changes its value, so such a field was changed on the member. It needs no copy of what
// Flotilla last applied. A field deleted on the member has no owner left and is not seen.
func managedDrifts(manifest, live map[string]any, entries []metav1.ManagedFieldsEntry) []placementv1beta1.PatchDetail {
	ours := managedBy(entries, func(m string) bool { return m == placementv1beta1.WorkFieldManager })
	theirs := managedBy(entries, func(m string) bool { return m != placementv1beta1.WorkFieldManager })
	var out []placementv1beta1.PatchDetail
	for _, p := range theirs {
		if ours.covers(p) || !driftable(p) {
			continue
		}
		mv, pointer, ok := resolve(live, p)
		if !ok {
			continue
		}
		hv, _, inHub := resolve(manifest, p)
		if !inHub || equalValues(hv, mv) {
			continue
		}
		out = append(out, placementv1beta1.PatchDetail{Path: pointer, ValueInMember: render(mv), ValueInHub: render(hv)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	if len(out) > maxPatchDetails {
		out = out[:maxPatchDetails]
	}
	return out
}

// driftable says whether a field counts for drift, as in comparison: not status, and of
// metadata only labels and users' annotations.
func driftable(p fieldPath) bool {
	switch p[0] {
	case "f:status", "f:apiVersion", "f:kind":
		return false
	case "f:metadata":
		if len(p) < 3 {
			return false
		}
		switch p[1] {
		case "f:labels":
			return true
		case "f:annotations":
			return !systemAnnotation(strings.TrimPrefix(p[2], "f:"))
		}
		return false
	}
	return true
}

// ownedPart is the live object cut down to the fields Flotilla owns: what Flotilla last set,
// as far as nobody changed it since. Client-side apply uses it as the base of the three-way
// merge when there is no last-applied annotation, so that a field dropped from the manifest
// is still removed.
func ownedPart(live map[string]any, entries []metav1.ManagedFieldsEntry) map[string]any {
	ours := managedBy(entries, func(m string) bool { return m == placementv1beta1.WorkFieldManager })
	out := map[string]any{}
	for _, p := range ours {
		// Of metadata, only labels and annotations come from the manifest: owner references
		// are never part of the merge, so other owners keep theirs and Flotilla keeps its own.
		if p[0] == "f:status" || (p[0] == "f:metadata" && (len(p) < 2 || (p[1] != "f:labels" && p[1] != "f:annotations"))) {
			continue
		}
		v, _, ok := resolve(live, p)
		if !ok {
			continue
		}
		place(out, live, p, v)
	}
	return out
}

// place writes v at path p of out, building maps along the way. List items are copied whole
// from the live object the first time a path enters them, which keeps their key fields.
func place(out, live map[string]any, p fieldPath, v any) {
	cur := out
	src := any(live)
	for i, elem := range p {
		kind, arg, _ := strings.Cut(elem, ":")
		last := i == len(p)-1
		if kind != "f" {
			// The path enters a list: keep the live list (the merge treats it as one value).
			return
		}
		m, _ := src.(map[string]any)
		src = m[arg]
		if last {
			cur[arg] = v
			return
		}
		if next := p[i+1]; !strings.HasPrefix(next, "f:") {
			cur[arg] = src
			return
		}
		child, ok := cur[arg].(map[string]any)
		if !ok {
			child = map[string]any{}
			cur[arg] = child
		}
		cur = child
	}
}
