// Package scheme holds the runtime.Scheme that knows the built-in kinds and every kind of
// Flotilla's APIs; all clients and managers use it.
package scheme

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	clusterinventoryv1alpha1 "github.com/flotilla-dev/flotilla/api/clusterinventory/v1alpha1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"

	networkingv1alpha1 "github.com/flotilla-dev/flotilla/api/networking/v1alpha1"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsv1beta1 "sigs.k8s.io/mcs-api/pkg/apis/v1beta1"
)

// Scheme knows the built-in kinds and Flotilla's kinds.
var Scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(Scheme))
	utilruntime.Must(clusterv1beta1.AddToScheme(Scheme))
	utilruntime.Must(placementv1beta1.AddToScheme(Scheme))
	utilruntime.Must(updatesv1alpha1.AddToScheme(Scheme))
	utilruntime.Must(networkingv1alpha1.AddToScheme(Scheme))
	utilruntime.Must(mcsv1beta1.Install(Scheme))
	utilruntime.Must(mcsv1alpha1.Install(Scheme))
	utilruntime.Must(clusterinventoryv1alpha1.AddToScheme(Scheme))
}
