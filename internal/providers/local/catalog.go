package local

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

// RegionCatalog is what one region offers: the Kubernetes versions, and the newest node
// image version of each image family. It is the YAML value of the region's key in the hub
// ConfigMap fleet-system/flotilla-node-images.
type RegionCatalog struct {
	KubernetesVersions []string          `json:"kubernetesVersions"`
	NodeImages         map[string]string `json:"nodeImages"`
}

// Catalog is every region's offer, by region.
type Catalog map[string]RegionCatalog

// ImageFamily is the family of the local fleet's node images.
const ImageFamily = "AKSUbuntu-2204gen2containerd"

// DefaultCatalog is what `flotilla local up` writes: every region offers the fleet's
// Kubernetes version and one newer, and each region's newest node image differs, so that
// Latest and Consistent choose differently.
func DefaultCatalog(kubeVersion string) Catalog {
	kv := strings.TrimPrefix(kubeVersion, "v")
	versions := []string{kv, "1.36.1"}
	return Catalog{
		"eastus":     {KubernetesVersions: versions, NodeImages: map[string]string{ImageFamily: "202512.05.0"}},
		"westus":     {KubernetesVersions: versions, NodeImages: map[string]string{ImageFamily: "202512.01.0"}},
		"westeurope": {KubernetesVersions: []string{kv}, NodeImages: map[string]string{ImageFamily: "202511.20.0"}},
	}
}

// ConfigMap renders the catalog as the hub ConfigMap.
func (c Catalog) ConfigMap() (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: updatesv1alpha1.NodeImageCatalogName, Namespace: updatesv1alpha1.CatalogNamespace,
			Labels: map[string]string{"app.kubernetes.io/part-of": "flotilla"},
		},
		Data: map[string]string{},
	}
	for region, rc := range c {
		data, err := yaml.Marshal(rc)
		if err != nil {
			return nil, err
		}
		cm.Data[region] = string(data)
	}
	return cm, nil
}

// WriteCatalogIfMissing creates the catalog ConfigMap on the hub. An existing one is left
// as it is: the user may have edited it.
func WriteCatalogIfMissing(ctx context.Context, hub client.Client, c Catalog) error {
	cm, err := c.ConfigMap()
	if err != nil {
		return err
	}
	if err := hub.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("writing the node image catalog %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return nil
}

// ParseRegion reads one region's entry of the catalog ConfigMap.
func ParseRegion(cm *corev1.ConfigMap, region string) (RegionCatalog, error) {
	raw, ok := cm.Data[region]
	if !ok {
		regions := make([]string, 0, len(cm.Data))
		for r := range cm.Data {
			regions = append(regions, r)
		}
		sort.Strings(regions)
		return RegionCatalog{}, fmt.Errorf("the node image catalog %s/%s has no entry for region %q (it has %v): add one",
			cm.Namespace, cm.Name, region, regions)
	}
	var rc RegionCatalog
	if err := yaml.UnmarshalStrict([]byte(raw), &rc); err != nil {
		return RegionCatalog{}, fmt.Errorf("the node image catalog %s/%s, key %s, is not valid: %w; expected kubernetesVersions: [..] and nodeImages: {family: version}",
			cm.Namespace, cm.Name, region, err)
	}
	return rc, nil
}

// SplitImage splits a node image label value such as
// AKSUbuntu-2204gen2containerd-202510.01.0 into its family and version.
func SplitImage(image string) (family, version string) {
	i := strings.LastIndexByte(image, '-')
	if i < 0 {
		return image, ""
	}
	return image[:i], image[i+1:]
}

// LabelNodesWithRegion gives the member's nodes the standard region label, as a cloud's
// nodes carry it; the provider finds its region's catalog entry through it.
func LabelNodesWithRegion(ctx context.Context, member *rest.Config, region string) error {
	c, err := client.New(member, client.Options{})
	if err != nil {
		return err
	}
	var nodes corev1.NodeList
	if err := c.List(ctx, &nodes); err != nil {
		return err
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if n.Labels[RegionLabel] == region {
			continue
		}
		before := n.DeepCopy()
		n.Labels[RegionLabel] = region
		if err := c.Patch(ctx, n, client.MergeFrom(before)); err != nil {
			return err
		}
	}
	return nil
}
