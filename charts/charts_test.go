package charts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/engine"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/flotilla-dev/flotilla/internal/helmchart"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/testenv"
)

var fleet *localfleet.Fleet

// Two bare clusters (the fleet's hub is not used): member-1 gets the hub chart, member-2 the
// agent chart, each as on a cluster of its own.
func TestMain(m *testing.M) { testenv.Main(m, 2, &fleet) }

func agentValues() map[string]any {
	return map[string]any{
		"memberName": "edge-1",
		"hub":        map[string]any{"server": "https://hub.example.com:6443", "ca": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "token": "first-token"},
	}
}

// Both charts pass helm lint with the values they need.
func TestChartsLint(t *testing.T) {
	cases := []struct {
		chart  string
		ns     string
		values map[string]any
	}{
		{"flotilla-hub", "fleet-system", nil},
		{"flotilla-hub", "fleet-system", map[string]any{"replicas": 1, "metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": true}}}},
		{"flotilla-agent", "flotilla-system", agentValues()},
	}
	for _, tc := range cases {
		result := lint.RunAll(tc.chart, tc.values, tc.ns)
		var errs []string
		for _, msg := range result.Messages {
			if msg.Severity >= support.WarningSev {
				errs = append(errs, msg.Error())
			}
		}
		if len(errs) > 0 {
			t.Errorf("lint %s (%v): %s", tc.chart, tc.values, strings.Join(errs, "; "))
		}
	}
}

// Missing or wrong values fail the render with a message that names the value and the fix.
func TestChartsRefuseBadValues(t *testing.T) {
	noServer := agentValues()
	noServer["hub"] = map[string]any{"token": "t"}
	noName := agentValues()
	delete(noName, "memberName")
	cases := []struct {
		chart, ns string
		values    map[string]any
		want      string
	}{
		{"flotilla-agent", "flotilla-system", noName, "memberName is required"},
		{"flotilla-agent", "flotilla-system", noServer, "hub.server is required"},
		{"flotilla-hub", "default", nil, "install the flotilla-hub chart into the namespace fleet-system"},
	}
	for _, tc := range cases {
		_, err := tryRender(tc.chart, tc.ns, tc.values)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("render %s in %s (%v): %v, want an error with %q", tc.chart, tc.ns, tc.values, err, tc.want)
		}
	}
}

func tryRender(name, namespace string, values map[string]any) (map[string]string, error) {
	ch, err := helmchart.Load(name)
	if err != nil {
		return nil, err
	}
	vals, err := util.ToRenderValues(ch, values, common.ReleaseOptions{Name: name, Namespace: namespace, IsInstall: true}, common.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Render(ch, vals)
}

func render(t *testing.T, name, namespace string, values map[string]any) map[string]string {
	t.Helper()
	out, err := tryRender(name, namespace, values)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The rendered hub chart runs two replicas that take turns, with probes, resources, a
// PodDisruptionBudget and a metrics Service; the ServiceMonitor only when asked. It holds
// the CRDs. It runs without installing itself, as the controllers may not write CRDs.
func TestHubChartRenders(t *testing.T) {
	g := NewWithT(t)
	out := render(t, "flotilla-hub", "fleet-system", nil)
	deployment := out["flotilla-hub/templates/deployment.yaml"]
	g.Expect(deployment).To(And(
		ContainSubstring("replicas: 2"), ContainSubstring("--leader-elect=true"), ContainSubstring("--skip-install"),
		ContainSubstring("readinessProbe"), ContainSubstring("livenessProbe"), ContainSubstring("memory: 256Mi"),
		ContainSubstring("readOnlyRootFilesystem: true"), ContainSubstring("serviceAccountName: flotilla-hub"),
		ContainSubstring("image: \"ghcr.io/flotilla-dev/flotilla:0.1.0\"")))
	g.Expect(out["flotilla-hub/templates/pdb.yaml"]).To(ContainSubstring("minAvailable: 1"))
	g.Expect(out["flotilla-hub/templates/metrics.yaml"]).To(And(ContainSubstring("kind: Service"), Not(ContainSubstring("ServiceMonitor"))))
	g.Expect(out["flotilla-hub/templates/policies.yaml"]).To(And(
		ContainSubstring("name: flotilla-hub"), ContainSubstring("ValidatingAdmissionPolicy"), Not(ContainSubstring("kind: Namespace"))))

	one := render(t, "flotilla-hub", "fleet-system", map[string]any{
		"replicas": 1, "image": map[string]any{"tag": "v9"},
		"metrics": map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prom"}}},
	})
	g.Expect(one["flotilla-hub/templates/deployment.yaml"]).To(And(ContainSubstring("--leader-elect=false"), ContainSubstring("flotilla:v9")))
	g.Expect(one["flotilla-hub/templates/metrics.yaml"]).To(And(ContainSubstring("kind: ServiceMonitor"), ContainSubstring("release: prom")))

	ch, err := helmchart.Load("flotilla-hub")
	g.Expect(err).NotTo(HaveOccurred())
	var crds []string
	for _, f := range ch.Files {
		if strings.HasPrefix(f.Name, "crds/") {
			crds = append(crds, f.Name)
		}
	}
	g.Expect(crds).To(ContainElements("crds/cluster.kubernetes-fleet.io_memberclusters.yaml",
		"crds/placement.kubernetes-fleet.io_clusterresourceplacements.yaml", "crds/multicluster.x-k8s.io_serviceexports.yaml",
		"crds/multicluster.x-k8s.io_clusterprofiles.yaml"))
}

// The rendered agent chart names the member, reads its hub credentials from the Secret and
// narrows what placements may bring when told to.
func TestAgentChartRenders(t *testing.T) {
	g := NewWithT(t)
	values := agentValues()
	values["placementRules"] = []any{map[string]any{"apiGroups": []any{"apps"}, "resources": []any{"deployments"}, "verbs": []any{"*"}}}
	out := render(t, "flotilla-agent", "flotilla-system", values)
	g.Expect(out["flotilla-agent/templates/deployment.yaml"]).To(And(
		ContainSubstring("--name=edge-1"), ContainSubstring("--hub-credentials-secret=flotilla-system/flotilla-agent-hub"),
		ContainSubstring("replicas: 1"), ContainSubstring("readOnlyRootFilesystem: true"), ContainSubstring("runAsUser: 65532")))
	g.Expect(out["flotilla-agent/templates/secret.yaml"]).To(ContainSubstring("token: Zmlyc3QtdG9rZW4=")) // first-token
	g.Expect(out["flotilla-agent/templates/rbac.yaml"]).To(And(ContainSubstring("- deployments"), ContainSubstring("resourceNames:")))
}

// review asks the cluster whether a ServiceAccount may do something.
type review struct {
	verb, group, resource, subresource, namespace, name string
	allowed                                             bool
}

func expectAccess(t *testing.T, cfg *rest.Config, namespace, sa string, want []review) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	user := "system:serviceaccount:" + namespace + ":" + sa
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	for _, a := range want {
		r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: groups, ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource, Namespace: a.namespace, Name: a.name,
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Allowed != a.allowed {
			t.Errorf("%s may %s %s.%s/%s in %q (name %q): %v, want %v", user, a.verb, a.resource, a.group, a.subresource, a.namespace, a.name, r.Status.Allowed, a.allowed)
		}
	}
}

// The hub chart installs on a bare cluster with its CRDs and policies; its ServiceAccount can
// do what the hub controllers do and no more. A second install changes nothing.
func TestHubChartAppliesWithLeastPrivilege(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	cluster := fleet.Members[0]
	ch, err := helmchart.Load("flotilla-hub")
	g.Expect(err).NotTo(HaveOccurred())
	rel := helmchart.Release{Kubeconfig: cluster.KubeconfigPath, Namespace: "fleet-system", Name: "flotilla-hub"}
	changed, err := helmchart.Apply(ctx, rel, ch, nil, 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	changed, err = helmchart.Apply(ctx, rel, ch, nil, 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse(), "a second install with the same values")

	cs, err := kubernetes.NewForConfig(cluster.Config)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = cs.AppsV1().Deployments("fleet-system").Get(ctx, "flotilla-hub", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	const (
		cluster1  = "cluster.kubernetes-fleet.io"
		placement = "placement.kubernetes-fleet.io"
		rbac      = "rbac.authorization.k8s.io"
	)
	expectAccess(t, cluster.Config, "fleet-system", "flotilla-hub", []review{
		{"list", cluster1, "memberclusters", "", "", "", true},
		{"update", cluster1, "memberclusters", "status", "", "m", true},
		{"create", "", "namespaces", "", "", "", true},
		{"create", placement, "works", "", "fleet-member-m", "", true},
		{"create", rbac, "rolebindings", "", "fleet-member-m", "", true},
		{"bind", rbac, "clusterroles", "", "", "flotilla-member-agent", true},
		{"list", "", "serviceaccounts", "", "", "", true},
		{"create", "coordination.k8s.io", "leases", "", "fleet-system", "", true},
		// Not an administrator: no other role to bind, no rules to write, no tokens, no CRDs.
		{"bind", rbac, "clusterroles", "", "", "cluster-admin", false},
		{"escalate", rbac, "clusterroles", "", "", "", false},
		{"create", rbac, "clusterroles", "", "", "", false},
		{"create", "", "serviceaccounts", "token", "fleet-system", "flotilla-hub", false},
		{"create", "", "serviceaccounts", "", "fleet-system", "", false},
		// It reads every kind, to place what placements select, and writes none of them.
		{"get", "", "secrets", "", "kube-system", "", true},
		{"create", "", "secrets", "", "kube-system", "", false},
		{"delete", "apps", "deployments", "", "default", "d", false},
		{"create", "apiextensions.k8s.io", "customresourcedefinitions", "", "", "", false},
		{"delete", "admissionregistration.k8s.io", "validatingadmissionpolicies", "", "", "flotilla-member-identity", false},
		{"create", "", "pods", "", "default", "", false},
	})
}

// The agent chart installs on a member with its RBAC: the agent reads nodes and pods, keeps
// its own credentials Secret and no other, and writes what placementRules allow. An upgrade
// without a token keeps the token the agent renewed.
func TestAgentChartAppliesWithItsRights(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	cluster := fleet.Members[1]
	ch, err := helmchart.Load("flotilla-agent")
	g.Expect(err).NotTo(HaveOccurred())
	rel := helmchart.Release{Kubeconfig: cluster.KubeconfigPath, Namespace: "flotilla-system", Name: "flotilla-agent"}
	values := agentValues()
	values["placementRules"] = []any{
		map[string]any{"apiGroups": []any{"apps"}, "resources": []any{"deployments"}, "verbs": []any{"*"}},
		map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"*"}},
	}
	_, err = helmchart.Apply(ctx, rel, ch, values, 0)
	g.Expect(err).NotTo(HaveOccurred())

	expectAccess(t, cluster.Config, "flotilla-system", "flotilla-agent", []review{
		{"list", "", "nodes", "", "", "", true},
		{"watch", "", "pods", "", "", "", true},
		{"create", "apiextensions.k8s.io", "customresourcedefinitions", "", "", "", true},
		{"create", "placement.kubernetes-fleet.io", "appliedworks", "", "", "", true},
		{"get", "", "secrets", "", "flotilla-system", "flotilla-agent-hub", true},
		{"update", "", "secrets", "", "flotilla-system", "flotilla-agent-hub", true},
		{"create", "apps", "deployments", "", "team-a", "", true},
		{"patch", "", "configmaps", "", "team-a", "c", true},
		{"get", "", "secrets", "", "flotilla-system", "other", false},
		{"list", "", "secrets", "", "flotilla-system", "", false},
		{"create", "", "secrets", "", "team-a", "", false},
		{"delete", "", "nodes", "", "", "n", false},
		{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "", "", "", false},
	})

	// By default placements may bring any kind.
	_, err = helmchart.Apply(ctx, rel, ch, agentValues(), 0)
	g.Expect(err).NotTo(HaveOccurred())
	expectAccess(t, cluster.Config, "flotilla-system", "flotilla-agent", []review{
		{"create", "", "secrets", "", "team-a", "", true},
		{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "", "", "", true},
	})

	// The agent renews its token in the Secret; an upgrade that brings no token keeps it.
	cs, err := kubernetes.NewForConfig(cluster.Config)
	g.Expect(err).NotTo(HaveOccurred())
	secret, err := cs.CoreV1().Secrets("flotilla-system").Get(ctx, "flotilla-agent-hub", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(secret.Data["token"])).To(Equal("first-token"))
	secret.Data["token"] = []byte("renewed-token")
	_, err = cs.CoreV1().Secrets("flotilla-system").Update(ctx, secret, metav1.UpdateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	noToken := agentValues()
	noToken["hub"].(map[string]any)["token"] = ""
	noToken["extraArgs"] = []any{"--verbose"}
	changed, err := helmchart.Apply(ctx, rel, ch, noToken, 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	secret, err = cs.CoreV1().Secrets("flotilla-system").Get(ctx, "flotilla-agent-hub", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(secret.Data["token"])).To(Equal("renewed-token"))

	removed, err := helmchart.Remove(ctx, rel)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(removed).To(BeTrue())
	g.Eventually(func() bool {
		_, err := cs.AppsV1().Deployments("flotilla-system").Get(ctx, "flotilla-agent", metav1.GetOptions{})
		return err != nil
	}, 30*time.Second, 200*time.Millisecond).Should(BeTrue())
	removed, err = helmchart.Remove(ctx, rel)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(removed).To(BeFalse())
}
