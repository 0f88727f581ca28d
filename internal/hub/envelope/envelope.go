// Package envelope unwraps ClusterResourceEnvelopes and ResourceEnvelopes: a placement that
// selects one places the objects in its data, each as its own manifest, in a Work of their
// own whose labels name the envelope. The rollout reads the wrapped objects to choose
// overrides, and the work generator to write the Works.
package envelope

import (
	"encoding/json"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/runtime/schema"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

// Unwrap returns, for a ClusterResourceEnvelope or ResourceEnvelope, its identifier and the
// objects in its data in key order; ok is false for any other object. An object of a
// ResourceEnvelope without a namespace goes to the envelope's namespace. An entry that is
// not an object is still returned, so that the member reports it as a decoding failure while
// the envelope's other objects apply.
func Unwrap(raw []byte) (id placementv1beta1.EnvelopeIdentifier, objects [][]byte, ok bool, err error) {
	var env struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return id, nil, false, nil
	}
	gv, _ := schema.ParseGroupVersion(env.APIVersion)
	if gv.Group != placementv1beta1.GroupVersion.Group {
		return id, nil, false, nil
	}
	switch env.Kind {
	case string(placementv1beta1.ClusterResourceEnvelopeType), string(placementv1beta1.ResourceEnvelopeType):
	default:
		return id, nil, false, nil
	}
	id = placementv1beta1.EnvelopeIdentifier{Name: env.Metadata.Name, Namespace: env.Metadata.Namespace, Type: placementv1beta1.EnvelopeType(env.Kind)}
	keys := make([]string, 0, len(env.Data))
	for k := range env.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		obj := []byte(env.Data[k])
		if id.Type == placementv1beta1.ResourceEnvelopeType {
			if obj, err = defaultNamespace(obj, id.Namespace); err != nil {
				return id, nil, true, fmt.Errorf("%s %s/%s, data[%q]: %w", id.Type, id.Namespace, id.Name, k, err)
			}
		}
		objects = append(objects, obj)
	}
	return id, objects, true, nil
}

// defaultNamespace puts an object of a ResourceEnvelope into the envelope's namespace when
// it names none, and refuses one that names another.
func defaultNamespace(obj []byte, namespace string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(obj, &m); err != nil {
		return obj, nil // not an object: the member reports it
	}
	meta, _ := m["metadata"].(map[string]any)
	if meta == nil {
		return obj, nil
	}
	switch ns, _ := meta["namespace"].(string); ns {
	case "":
		meta["namespace"] = namespace
		return json.Marshal(m)
	case namespace:
		return obj, nil
	default:
		return nil, fmt.Errorf("the object is in namespace %s, but a ResourceEnvelope places objects in its own namespace %s only; move the object or the envelope", ns, namespace)
	}
}
