package v1alpha1

import "strings"

// Names of labels and annotations of the networking API.
const (
	// WeightAnnotation on a ServiceExport sets its cluster's weight, 0 to 1000 (default 1).
	// It has KubeFleet's name so that existing manifests keep working.
	WeightAnnotation = "networking.fleet.azure.com/weight"
	// DefaultWeight is the weight of an export without the annotation.
	DefaultWeight = 1
	// MaxWeight is the highest weight.
	MaxWeight = 1000

	// ManagedBy is the value of endpointslice.kubernetes.io/managed-by, and of
	// app.kubernetes.io/managed-by, on what Flotilla creates on a member for imports.
	ManagedBy = "networking.flotilla.dev"
	// ManagedByLabel is the standard label naming the manager of an object.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// DerivedServiceFor annotates a derived Service with the import it serves.
	DerivedServiceFor = "networking.flotilla.dev/service-import"

	// ServiceExportFinalizer holds a ServiceExport until its hub side is withdrawn.
	ServiceExportFinalizer = "networking.flotilla.dev/serviceexport-cleanup"
	// MultiClusterServiceFinalizer holds a MultiClusterService until its derived Service is
	// back to ClusterIP.
	MultiClusterServiceFinalizer = "networking.flotilla.dev/multiclusterservice-cleanup"
)

// InternalName is the name of the internal export and import objects of a service:
// <namespace>.<name>. Neither part can hold a dot, so the name is unique.
func InternalName(namespace, name string) string { return namespace + "." + name }

// SplitInternalName is the inverse of InternalName.
func SplitInternalName(s string) (namespace, name string, ok bool) {
	namespace, name, ok = strings.Cut(s, ".")
	return namespace, name, ok && namespace != "" && name != ""
}
