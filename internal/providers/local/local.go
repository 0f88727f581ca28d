// Package local is the upgrade provider of the local fleet. It runs in the member agent and
// upgrades the member's fake nodes the way in-cluster node upgrades do: node by node, it
// cordons the node, evicts its pods through the Eviction API (so PodDisruptionBudgets are
// honoured), sets the new node image and kubelet version, and uncordons it. The control
// plane of a local member cannot really change version, so a control-plane upgrade records
// the new version in the member's MemberUpgradeProfile. What each region offers comes from
// the hub ConfigMap fleet-system/flotilla-node-images.
package local

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/providers"
)

// Node labels and annotations the provider reads and writes.
const (
	AgentPoolLabel        = "kubernetes.azure.com/agentpool"
	NodeImageVersionLabel = "kubernetes.azure.com/node-image-version"
	RegionLabel           = "topology.kubernetes.io/region"
	// UpgradingSinceAnnotation marks the node being upgraded, with when it was cordoned.
	UpgradingSinceAnnotation = "updates.flotilla.dev/upgrading-since"
	// CordonedAnnotation says the provider cordoned the node, so it uncordons it after;
	// a node the user had cordoned stays cordoned.
	CordonedAnnotation = "updates.flotilla.dev/cordoned-by-upgrade"
)

// Provider is the local provider of one member.
type Provider struct {
	// Member reaches the member cluster; Clientset is for evictions.
	Member    client.Client
	Clientset kubernetes.Interface
	// Hub reads the catalog and the member's profile on the hub, uncached.
	Hub client.Reader
	// HubWriter writes the member's profile (the control-plane version).
	HubWriter client.Client
	// NodeDuration is how long each node takes to upgrade once drained.
	NodeDuration time.Duration
	// Clock tells the time; nil is the real clock. Tests may set a fake one.
	Clock clock.PassiveClock
}

var _ providers.Provider = (*Provider)(nil)

// Name is "local".
func (p *Provider) Name() string { return updatesv1alpha1.ProviderLocal }

// Profile describes the member from its nodes, its recorded control-plane version and its
// region's catalog entry.
func (p *Provider) Profile(ctx context.Context, m providers.Member) (*updatesv1alpha1.MemberUpgradeProfileStatus, error) {
	nodes, err := p.nodes(ctx)
	if err != nil {
		return nil, err
	}
	st := &updatesv1alpha1.MemberUpgradeProfileStatus{}
	pools := map[string]*updatesv1alpha1.NodePoolProfile{}
	for _, n := range nodes {
		if r := n.Labels[RegionLabel]; r != "" && st.Region == "" {
			st.Region = r
		}
		family, version := SplitImage(n.Labels[NodeImageVersionLabel])
		name := n.Labels[AgentPoolLabel]
		kv := n.Status.NodeInfo.KubeletVersion
		pool := pools[name]
		if pool == nil {
			pool = &updatesv1alpha1.NodePoolProfile{Name: name, ImageFamily: family, NodeImageVersion: version, KubernetesVersion: kv}
			pools[name] = pool
		}
		pool.Nodes++
		// A pool is as old as its oldest node.
		if providers.CompareVersions(version, pool.NodeImageVersion) < 0 {
			pool.NodeImageVersion = version
		}
		if providers.CompareVersions(kv, pool.KubernetesVersion) < 0 {
			pool.KubernetesVersion = kv
		}
	}
	for _, pool := range pools {
		st.NodePools = append(st.NodePools, *pool)
	}
	sort.Slice(st.NodePools, func(i, j int) bool { return st.NodePools[i].Name < st.NodePools[j].Name })

	cp, err := p.controlPlaneVersion(ctx, m)
	if err != nil {
		return nil, err
	}
	st.KubernetesVersion = cp

	cm := &corev1.ConfigMap{}
	err = p.Hub.Get(ctx, client.ObjectKey{Namespace: updatesv1alpha1.CatalogNamespace, Name: updatesv1alpha1.NodeImageCatalogName}, cm)
	switch {
	case apierrors.IsNotFound(err):
		st.Error = fmt.Sprintf("the node image catalog %s/%s is missing: 'flotilla local up' writes it, or create it",
			updatesv1alpha1.CatalogNamespace, updatesv1alpha1.NodeImageCatalogName)
	case err != nil:
		return nil, err
	case st.Region == "":
		st.Error = fmt.Sprintf("the member's nodes have no %s label, so its region's catalog entry cannot be found", RegionLabel)
	default:
		rc, err := ParseRegion(cm, st.Region)
		if err != nil {
			st.Error = err.Error()
		} else {
			st.AvailableKubernetesVersions = rc.KubernetesVersions
			st.LatestNodeImages = rc.NodeImages
		}
	}
	return st, nil
}

// controlPlaneVersion is the version a control-plane upgrade recorded in the profile, or
// else the version the API server reports.
func (p *Provider) controlPlaneVersion(ctx context.Context, m providers.Member) (string, error) {
	profile := &updatesv1alpha1.MemberUpgradeProfile{}
	err := p.Hub.Get(ctx, client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(m.Name), Name: m.Name}, profile)
	if err == nil && profile.Status.KubernetesVersion != "" {
		return profile.Status.KubernetesVersion, nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return "", err
	}
	v, err := p.Clientset.Discovery().ServerVersion()
	if err != nil {
		return "", err
	}
	return v.GitVersion, nil
}

func (p *Provider) nodes(ctx context.Context) ([]corev1.Node, error) {
	var list corev1.NodeList
	if err := p.Member.List(ctx, &list); err != nil {
		return nil, err
	}
	nodes := list.Items
	sort.Slice(nodes, func(i, j int) bool {
		pi, pj := nodes[i].Labels[AgentPoolLabel], nodes[j].Labels[AgentPoolLabel]
		if pi != pj {
			return pi < pj
		}
		return nodes[i].Name < nodes[j].Name
	})
	return nodes, nil
}

// Step does the next piece of the operation: the control plane first, then one node at a
// time.
func (p *Provider) Step(ctx context.Context, m providers.Member, op providers.Operation) (providers.Progress, error) {
	if op.Settings[updatesv1alpha1.SimulateFailureAnnotation] == "true" {
		return providers.Progress{}, providers.Failf("simulated failure: the MemberCluster %s has the annotation %s=true; remove it and start a new run",
			m.Name, updatesv1alpha1.SimulateFailureAnnotation)
	}
	want := "v" + providers.NormalizeVersion(op.Spec.KubernetesVersion)
	if op.Spec.Type != updatesv1alpha1.UpgradeNodeImageOnly {
		done, err := p.upgradeControlPlane(ctx, m, want)
		if err != nil {
			return providers.Progress{}, err
		}
		if !done {
			return providers.Progress{Message: "control plane upgraded to " + want}, nil
		}
		if op.Spec.Type == updatesv1alpha1.UpgradeControlPlaneOnly {
			return providers.Progress{Done: true, Message: "control plane at " + want}, nil
		}
	}
	images := map[string]string{}
	for _, v := range op.Spec.NodeImageVersions {
		images[v.Family] = v.Version
	}
	nodes, err := p.nodes(ctx)
	if err != nil {
		return providers.Progress{}, err
	}
	for i := range nodes {
		n := &nodes[i]
		image, kubelet := p.targetOf(n, images, op.Spec.Type, want)
		_, upgrading := n.Annotations[UpgradingSinceAnnotation]
		if !upgrading && n.Labels[NodeImageVersionLabel] == image && n.Status.NodeInfo.KubeletVersion == kubelet {
			continue
		}
		return p.stepNode(ctx, n, i+1, len(nodes), image, kubelet)
	}
	return providers.Progress{Done: true, Message: fmt.Sprintf("all %d nodes upgraded", len(nodes))}, nil
}

// targetOf is the node image and kubelet version a node should end with.
func (p *Provider) targetOf(n *corev1.Node, images map[string]string, t updatesv1alpha1.UpgradeType, kubeVersion string) (string, string) {
	image := n.Labels[NodeImageVersionLabel]
	family, _ := SplitImage(image)
	if v, ok := images[family]; ok {
		image = family + "-" + v
	}
	kubelet := n.Status.NodeInfo.KubeletVersion
	if t == updatesv1alpha1.UpgradeFull {
		kubelet = kubeVersion
	}
	return image, kubelet
}

// upgradeControlPlane records the new control-plane version in the profile. It says
// whether the control plane was at the version already.
func (p *Provider) upgradeControlPlane(ctx context.Context, m providers.Member, want string) (bool, error) {
	profile := &updatesv1alpha1.MemberUpgradeProfile{}
	key := client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(m.Name), Name: m.Name}
	if err := p.Hub.Get(ctx, key, profile); err != nil {
		return false, fmt.Errorf("reading the MemberUpgradeProfile of %s: %w", m.Name, err)
	}
	if providers.NormalizeVersion(profile.Status.KubernetesVersion) == providers.NormalizeVersion(want) {
		return true, nil
	}
	profile.Status.KubernetesVersion = want
	return false, p.HubWriter.Status().Update(ctx, profile)
}

// stepNode moves one node through cordon, drain, the upgrade itself (NodeDuration) and
// uncordon.
func (p *Provider) stepNode(ctx context.Context, n *corev1.Node, index, total int, image, kubelet string) (providers.Progress, error) {
	where := fmt.Sprintf("node %s (%d of %d)", n.Name, index, total)
	since, upgrading := n.Annotations[UpgradingSinceAnnotation]
	if !upgrading {
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations[UpgradingSinceAnnotation] = p.now().UTC().Format(time.RFC3339Nano)
		if !n.Spec.Unschedulable {
			n.Spec.Unschedulable = true
			n.Annotations[CordonedAnnotation] = "true"
		}
		if err := p.Member.Update(ctx, n); err != nil {
			return providers.Progress{}, err
		}
		return providers.Progress{Message: where + ": cordoned"}, nil
	}
	if blocked, err := p.drain(ctx, n.Name); err != nil || blocked != "" {
		if err != nil {
			return providers.Progress{}, err
		}
		return providers.Progress{Message: where + ": " + blocked, After: time.Second}, nil
	}
	start, err := time.Parse(time.RFC3339Nano, since)
	if err != nil {
		start = p.now()
	}
	if remaining := start.Add(p.NodeDuration).Sub(p.now()); remaining > 0 {
		return providers.Progress{Message: where + ": drained, upgrading to " + image, After: remaining}, nil
	}
	if n.Status.NodeInfo.KubeletVersion != kubelet {
		n.Status.NodeInfo.KubeletVersion = kubelet
		if err := p.Member.Status().Update(ctx, n); err != nil {
			return providers.Progress{}, err
		}
	}
	n.Labels[NodeImageVersionLabel] = image
	delete(n.Annotations, UpgradingSinceAnnotation)
	if n.Annotations[CordonedAnnotation] == "true" {
		n.Spec.Unschedulable = false
		delete(n.Annotations, CordonedAnnotation)
	}
	if err := p.Member.Update(ctx, n); err != nil {
		return providers.Progress{}, err
	}
	return providers.Progress{Message: where + ": upgraded to " + image + " and uncordoned"}, nil
}

// drain evicts the node's pods, as kubectl drain does: DaemonSet pods and mirror pods stay.
// It returns why it cannot go on (a PodDisruptionBudget), or "" once every other pod is
// gone or terminating.
func (p *Provider) drain(ctx context.Context, node string) (string, error) {
	var pods corev1.PodList
	if err := p.Member.List(ctx, &pods, client.MatchingFields{"spec.nodeName": node}); err != nil {
		return "", err
	}
	for _, pod := range pods.Items {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
			continue
		}
		if owner := metav1.GetControllerOf(&pod); owner != nil && owner.Kind == "DaemonSet" {
			continue
		}
		err := p.Clientset.PolicyV1().Evictions(pod.Namespace).Evict(ctx, &policyv1.Eviction{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
		})
		switch {
		case err == nil, apierrors.IsNotFound(err):
		case apierrors.IsTooManyRequests(err):
			return fmt.Sprintf("waiting for a PodDisruptionBudget to allow evicting pod %s/%s", pod.Namespace, pod.Name), nil
		default:
			return "", fmt.Errorf("evicting pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}
	return "", nil
}

// now is the time by Clock, or by the real clock when Clock is nil.
func (p *Provider) now() time.Time {
	if p.Clock == nil {
		return time.Now()
	}
	return p.Clock.Now()
}
