package localfleet

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/memberjoin"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// SystemNamespace is the hub namespace of Flotilla's own objects.
const SystemNamespace = "fleet-system"

// Regions are the simulated regions members cycle through: member-1 is in eastus, member-2
// in westus, member-3 in westeurope, member-4 in eastus again, and so on.
var Regions = []string{"eastus", "westus", "westeurope"}

// RegionOf returns the simulated region of the i-th member (1-based).
func RegionOf(i int) string { return Regions[(i-1)%len(Regions)] }

// MemberLabels are the labels the local fleet gives the i-th member: the AKS-style
// location, resource group and subscription, and the standard region label.
func MemberLabels(i int) map[string]string {
	region := RegionOf(i)
	return map[string]string{
		clusterv1beta1.LocationLabel:       region,
		clusterv1beta1.RegionLabel:         region,
		clusterv1beta1.ResourceGroupLabel:  "flotilla-local-" + region,
		clusterv1beta1.SubscriptionIDLabel: "00000000-0000-0000-0000-000000000001",
	}
}

// AgentIdentity is the hub ServiceAccount a member agent authenticates as.
func AgentIdentity(member string) rbacv1.Subject { return memberjoin.Identity(member) }

// RegisterMember gives the member an identity on the hub (a ServiceAccount and a token for
// it, see RenewAgentToken), and applies its MemberCluster, as `flotilla member join` does. It
// returns the rest config the member's agent uses.
func (f *Fleet) RegisterMember(ctx context.Context, member *Cluster, heartbeatSeconds int32, labels, annotations map[string]string) (*rest.Config, error) {
	agentCfg, err := f.RenewAgentToken(ctx, member.Name)
	if err != nil {
		return nil, err
	}
	hub, err := client.New(f.Hub.Config, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return nil, err
	}
	if err := memberjoin.ApplyMemberCluster(ctx, hub, memberjoin.MemberCluster{
		Name: member.Name, Identity: AgentIdentity(member.Name), HeartbeatPeriodSeconds: heartbeatSeconds,
		Labels: labels, Annotations: annotations,
	}); err != nil {
		return nil, err
	}
	return agentCfg, nil
}

// NodePool describes the fake nodes of one pool.
type NodePool struct {
	Name             string
	Count            int
	CPU              string
	Memory           string
	NodeImageVersion string
}

// Node labels the local fleet sets, as AKS does.
const (
	AgentPoolLabel        = "kubernetes.azure.com/agentpool"
	NodeImageVersionLabel = "kubernetes.azure.com/node-image-version"
)

// DefaultNodePools are the pools every local member gets: a small system pool and a user pool.
func DefaultNodePools() []NodePool {
	return []NodePool{
		{Name: "system", Count: 1, CPU: "4", Memory: "16Gi", NodeImageVersion: "AKSUbuntu-2204gen2containerd-202510.01.0"},
		{Name: "user", Count: 2, CPU: "8", Memory: "32Gi", NodeImageVersion: "AKSUbuntu-2204gen2containerd-202510.01.0"},
	}
}

// SeedNodes creates fake Node objects for the pools on the member, with allocatable
// resources and the given kubelet version. No kubelet runs behind them. Existing nodes are
// left as they are, so a restarted fleet keeps what an upgrade changed.
func SeedNodes(ctx context.Context, member *rest.Config, pools []NodePool, kubeletVersion string) error {
	cs, err := kubernetes.NewForConfig(member)
	if err != nil {
		return err
	}
	for _, pool := range pools {
		for i := 0; i < pool.Count; i++ {
			name := "aks-" + pool.Name + "-" + strconv.Itoa(i)
			node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
				Name: name,
				// kwok, when it runs (--workloads), plays the kubelet of these nodes.
				Annotations: map[string]string{KwokNodeAnnotation: KwokNodeAnnotationValue},
				Labels: map[string]string{
					AgentPoolLabel:              pool.Name,
					NodeImageVersionLabel:       pool.NodeImageVersion,
					corev1.LabelHostname:        name,
					corev1.LabelOSStable:        "linux",
					corev1.LabelArchStable:      "amd64",
					"kubernetes.azure.com/mode": map[bool]string{true: "system", false: "user"}[pool.Name == "system"],
				},
			}}
			created, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				if err := liftNotReadyTaint(ctx, cs, name); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("creating node %s: %w", name, err)
			}
			resources := corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse(pool.CPU),
				corev1.ResourceMemory: resource.MustParse(pool.Memory),
				corev1.ResourcePods:   resource.MustParse("110"),
			}
			now := metav1.Now()
			created.Status = corev1.NodeStatus{
				Capacity:    resources,
				Allocatable: resources,
				NodeInfo: corev1.NodeSystemInfo{
					KubeletVersion:          kubeletVersion,
					OperatingSystem:         "linux",
					Architecture:            "amd64",
					OSImage:                 "Ubuntu 22.04.5 LTS",
					ContainerRuntimeVersion: "containerd://1.7.27",
				},
				Conditions: []corev1.NodeCondition{{
					Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
					Message: "simulated by the Flotilla local fleet", LastHeartbeatTime: now, LastTransitionTime: now,
				}},
			}
			status := created.Status
			// kwok (with --workloads) may touch a new node at once; retry on its writes.
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				latest, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				latest.Status = status
				_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, latest, metav1.UpdateOptions{})
				return err
			})
			if err != nil {
				return fmt.Errorf("setting the status of node %s: %w", name, err)
			}
			if err := liftNotReadyTaint(ctx, cs, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// liftNotReadyTaint removes the not-ready taint the API server puts on every new node until
// the node lifecycle controller sees it Ready. The local fleet runs no such controller (no
// kubelet sends heartbeats), so without this no pod would ever be scheduled (--workloads).
func liftNotReadyTaint(ctx context.Context, cs kubernetes.Interface, name string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var taints []corev1.Taint
		for _, t := range node.Spec.Taints {
			if t.Key != corev1.TaintNodeNotReady {
				taints = append(taints, t)
			}
		}
		if len(taints) == len(node.Spec.Taints) {
			return nil
		}
		node.Spec.Taints = taints
		_, err = cs.CoreV1().Nodes().Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("removing the not-ready taint of node %s: %w", name, err)
	}
	return nil
}

// AgentTokenPath is the file that holds the hub token of the member's agent. The agent reads
// its token from there, as a kubeconfig's tokenFile, so a new token takes effect at once.
func (f *Fleet) AgentTokenPath(member string) string {
	return filepath.Join(f.Dir, "agents", member+"-hub.token")
}

// RenewAgentToken makes sure the member's hub identity exists (memberjoin.EnsureIdentity),
// issues it a token of memberjoin.DefaultTokenLifetime, and writes the token to
// AgentTokenPath (atomically, 0600). The agent renews that token itself from then on, as any
// joined agent does. It writes the identity's kubeconfig to DIR/agents/<member>-hub.kubeconfig,
// pointing at that file, and returns the rest config the member's agent uses.
func (f *Fleet) RenewAgentToken(ctx context.Context, member string) (*rest.Config, error) {
	cs, err := kubernetes.NewForConfig(f.Hub.Config)
	if err != nil {
		return nil, err
	}
	id, err := memberjoin.EnsureIdentity(ctx, cs, member)
	if err != nil {
		return nil, err
	}
	token, _, err := memberjoin.IssueToken(ctx, cs, member, memberjoin.DefaultTokenLifetime)
	if err != nil {
		return nil, err
	}
	tokenPath := f.AgentTokenPath(member)
	if err := ensureDir(filepath.Dir(tokenPath)); err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(tokenPath, []byte(token)); err != nil {
		return nil, err
	}
	path := filepath.Join(f.Dir, "agents", member+"-hub.kubeconfig")
	user := "system:serviceaccount:" + id.Namespace + ":" + id.Name
	if err := writeKubeconfig(path, f.Hub.Config.Host, f.ca.certPEM, user, clientcmdapi.AuthInfo{TokenFile: tokenPath}); err != nil {
		return nil, err
	}
	return &rest.Config{
		Host:            f.Hub.Config.Host,
		BearerTokenFile: tokenPath,
		TLSClientConfig: rest.TLSClientConfig{CAData: f.ca.certPEM},
		QPS:             f.Hub.Config.QPS,
		Burst:           f.Hub.Config.Burst,
	}, nil
}

// RevokeAgentToken deletes the member's hub ServiceAccount, which invalidates every token
// of it at once; RenewAgentToken brings the identity back with a new token.
func (f *Fleet) RevokeAgentToken(ctx context.Context, member string) error {
	cs, err := kubernetes.NewForConfig(f.Hub.Config)
	if err != nil {
		return err
	}
	id := AgentIdentity(member)
	err = cs.CoreV1().ServiceAccounts(id.Namespace).Delete(ctx, id.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the agent ServiceAccount of %s: %w", member, err)
	}
	return nil
}
