package placement

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Clean returns a copy of a hub object fit for placing: without status, without the fields
// the hub's API server and controllers set (identity, versions, timestamps, owners, managed
// fields), and without the fields of some kinds that each cluster allocates itself. Two
// objects that differ only there hash the same, so a status update never makes a snapshot.
func Clean(in *unstructured.Unstructured) *unstructured.Unstructured {
	u := in.DeepCopy()
	delete(u.Object, "status")
	for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
		"deletionGracePeriodSeconds", "managedFields", "selfLink", "ownerReferences", "finalizers", "generateName"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	if ann := u.GetAnnotations(); ann != nil {
		delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
		delete(ann, "deployment.kubernetes.io/revision")
		if len(ann) == 0 {
			ann = nil
		}
		u.SetAnnotations(ann)
	}
	switch u.GroupVersionKind().GroupKind().String() {
	case "Namespace":
		// spec.finalizers is set by the API server.
		delete(u.Object, "spec")
	case "Service":
		// Each cluster allocates its own ClusterIP; a headless Service keeps "None".
		if ip, _, _ := unstructured.NestedString(u.Object, "spec", "clusterIP"); ip != "None" {
			unstructured.RemoveNestedField(u.Object, "spec", "clusterIP")
			unstructured.RemoveNestedField(u.Object, "spec", "clusterIPs")
		}
		unstructured.RemoveNestedField(u.Object, "spec", "healthCheckNodePort")
		if ports, ok, _ := unstructured.NestedSlice(u.Object, "spec", "ports"); ok {
			for _, p := range ports {
				if m, ok := p.(map[string]any); ok {
					delete(m, "nodePort")
				}
			}
			_ = unstructured.SetNestedSlice(u.Object, ports, "spec", "ports")
		}
	case "Job.batch":
		// The Job controller labels the selector and template with the Job's uid.
		unstructured.RemoveNestedField(u.Object, "spec", "selector")
		for _, l := range []string{"controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name"} {
			unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "labels", l)
		}
	}
	return u
}
