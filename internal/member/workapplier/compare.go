package workapplier

import (
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// maxPatchDetails caps the differences reported per object, so one object that differs
// everywhere cannot push a Work's status past the API server's size limit.
const maxPatchDetails = 50

// comparison finds the fields where an object on the member differs from what the hub wants.
//
// Partial comparison looks only at the fields the hub's object sets: a field that the
// member's API server or a controller added (a defaulted imagePullPolicy, a status) is not a
// difference. Full comparison also reports fields the member has and the hub does not; the
// hub's side is then the server-defaulted form of the hub's object (a dry-run write), so
// defaults do not show up as differences.
//
// Both skip apiVersion, kind and status, and of metadata compare only labels and annotations;
// annotations written by Kubernetes or Flotilla themselves (keys under a kubernetes.io or
// k8s.io domain, or flotilla.dev) are left out.
func comparison(hub, member map[string]any, full bool) []placementv1beta1.PatchDetail {
	c := &comparer{full: full}
	for _, key := range unionKeys(hub, member, full) {
		switch key {
		case "apiVersion", "kind", "status":
			continue
		case "metadata":
			c.metadata(asMap(hub["metadata"]), asMap(member["metadata"]))
			continue
		}
		hv, hok := hub[key]
		mv, mok := member[key]
		c.value("/"+escape(key), hv, hok, mv, mok)
	}
	sort.SliceStable(c.out, func(i, j int) bool { return c.out[i].Path < c.out[j].Path })
	if len(c.out) > maxPatchDetails {
		c.out = c.out[:maxPatchDetails]
	}
	return c.out
}

type comparer struct {
	full bool
	out  []placementv1beta1.PatchDetail
}

func (c *comparer) metadata(hub, member map[string]any) {
	for _, field := range []string{"labels", "annotations"} {
		h, m := asMap(hub[field]), asMap(member[field])
		for _, key := range unionKeys(h, m, c.full) {
			if field == "annotations" && systemAnnotation(key) {
				continue
			}
			hv, hok := h[key]
			mv, mok := m[key]
			c.value("/metadata/"+field+"/"+escape(key), hv, hok, mv, mok)
		}
	}
}

// value compares one field; hok and mok say whether each side has it at all.
func (c *comparer) value(path string, hv any, hok bool, mv any, mok bool) {
	if !hok && !mok {
		return
	}
	if !hok {
		// Only full comparison gets here: the member has a field the hub does not.
		c.add(path, mv, true, nil, false)
		return
	}
	if !mok {
		c.add(path, nil, false, hv, true)
		return
	}
	hm, hIsMap := hv.(map[string]any)
	mm, mIsMap := mv.(map[string]any)
	if hIsMap && mIsMap {
		for _, key := range unionKeys(hm, mm, c.full) {
			hv2, hok2 := hm[key]
			mv2, mok2 := mm[key]
			c.value(path+"/"+escape(key), hv2, hok2, mv2, mok2)
		}
		return
	}
	hl, hIsList := hv.([]any)
	ml, mIsList := mv.([]any)
	if hIsList && mIsList && len(hl) == len(ml) {
		// Same length: compare item by item, so a defaulted field inside a list item (a
		// container's terminationMessagePath) is not a difference under partial comparison.
		for i := range hl {
			c.value(path+"/"+strconv.Itoa(i), hl[i], true, ml[i], true)
		}
		return
	}
	if !equalValues(hv, mv) {
		c.add(path, mv, true, hv, true)
	}
}

func (c *comparer) add(path string, mv any, mok bool, hv any, hok bool) {
	d := placementv1beta1.PatchDetail{Path: path}
	if mok {
		d.ValueInMember = render(mv)
	}
	if hok {
		d.ValueInHub = render(hv)
	}
	c.out = append(c.out, d)
}

// unionKeys returns the hub's keys, and under full comparison the member's too, sorted.
func unionKeys(hub, member map[string]any, full bool) []string {
	seen := map[string]bool{}
	var keys []string
	for k := range hub {
		seen[k] = true
		keys = append(keys, k)
	}
	if full {
		for k := range member {
			if !seen[k] {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// systemAnnotation reports annotations that Kubernetes components or Flotilla write for
// themselves, such as deployment.kubernetes.io/revision: never a user's drift.
func systemAnnotation(key string) bool {
	domain, _, found := strings.Cut(key, "/")
	if !found {
		return false
	}
	for _, suffix := range []string{"kubernetes.io", "k8s.io", "flotilla.dev"} {
		if domain == suffix || strings.HasSuffix(domain, "."+suffix) {
			return true
		}
	}
	return false
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// escape escapes a key for a JSON pointer (RFC 6901).
func escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// equalValues compares two decoded JSON values; whole numbers compare equal whether they
// were decoded as int64 or float64.
func equalValues(a, b any) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

func normalize(v any) any {
	switch t := v.(type) {
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
		return t
	case int:
		return int64(t)
	case int32:
		return int64(t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalize(x)
		}
		return out
	}
	return v
}

// render prints a value for a PatchDetail: strings as they are, anything else as JSON.
func render(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	data, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(data)
}
