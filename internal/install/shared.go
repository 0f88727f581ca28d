package install

// This file is about the CRDs Flotilla shares with others: the standard MCS API
// (ServiceExport and ServiceImport, from the sigs.k8s.io/mcs-api module, serving v1beta1
// and v1alpha1) and, on members, Flotilla's MultiClusterService. They may already be
// there, installed by another MCS implementation or a newer Flotilla. Ensure therefore
// never overwrites one: it creates what is missing, and for what exists it only checks
// that the versions Flotilla uses are served.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	mcscrd "sigs.k8s.io/mcs-api/config/crd"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/config"
)

// SharedCRD is one CRD to ensure, with the version Flotilla needs served.
type SharedCRD struct {
	Manifest []byte
	// Version is the version Flotilla reads and writes.
	Version string
}

// MCS are the ServiceExport and ServiceImport CRDs of mcs-api.
func MCS() []SharedCRD {
	return []SharedCRD{
		{Manifest: mcscrd.ServiceExportCRD, Version: "v1beta1"},
		{Manifest: mcscrd.ServiceImportCRD, Version: "v1beta1"},
	}
}

// ClusterProfile is the cluster inventory API's ClusterProfile CRD, generated from Flotilla's
// types into config/crd/shared.
func ClusterProfile() (SharedCRD, error) {
	data, err := fs.ReadFile(config.SharedCRDs, "crd/shared/multicluster.x-k8s.io_clusterprofiles.yaml")
	return SharedCRD{Manifest: data, Version: "v1alpha1"}, err
}

// MultiClusterService is Flotilla's MultiClusterService CRD, generated into config/crd/bases.
func MultiClusterService() (SharedCRD, error) {
	data, err := fs.ReadFile(config.CRDs, "crd/bases/networking.flotilla.dev_multiclusterservices.yaml")
	return SharedCRD{Manifest: data, Version: "v1alpha1"}, err
}

// MemberNetworking are the shared CRDs a member cluster needs: the MCS API and
// MultiClusterService.
func MemberNetworking() ([]SharedCRD, error) {
	mcs, err := MultiClusterService()
	if err != nil {
		return nil, err
	}
	return append(MCS(), mcs), nil
}

// Ensure creates each CRD that is missing, then waits until every one is established and
// serves the version Flotilla needs. An existing CRD is left exactly as it is.
func Ensure(ctx context.Context, c client.Client, crds []SharedCRD) error {
	for _, want := range crds {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(want.Manifest, crd); err != nil {
			return fmt.Errorf("parsing an embedded CRD: %w", err)
		}
		err := c.Create(ctx, crd.DeepCopy())
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating CRD %s: %w", crd.Name, err)
		}
		if err := waitServed(ctx, c, crd.Name, want.Version); err != nil {
			return err
		}
	}
	return nil
}

func waitServed(ctx context.Context, c client.Client, name, version string) error {
	var problem error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			problem = err
			return false, nil
		}
		served := false
		for _, v := range crd.Spec.Versions {
			served = served || (v.Name == version && v.Served)
		}
		if !served {
			// Someone else's CRD without the version: waiting does not help.
			return false, fmt.Errorf("CRD %s exists but does not serve %s, which Flotilla needs; "+
				"upgrade it (for the MCS API, to sigs.k8s.io/mcs-api v0.5 or newer) or delete it so Flotilla installs its own", name, version)
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		problem = fmt.Errorf("CRD %s is not established yet", name)
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for CRD %s: %w", name, errors.Join(err, problem))
	}
	return nil
}
