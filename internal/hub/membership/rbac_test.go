package membership_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/hub/membership"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// The hub controllers' ServiceAccount, as config/policies/10-hub-rbac.yaml creates it.
const (
	hubSANamespace = "fleet-system"
	hubSAName      = "flotilla-hub"
)

// serviceAccountUser is how the API server names a ServiceAccount, and the groups it puts it in.
func serviceAccountUser(namespace, name string) (string, []string) {
	return "system:serviceaccount:" + namespace + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
}

// access is one question to the hub's authorizer.
type access struct {
	verb, group, resource, subresource, namespace, name string
	allowed                                             bool
}

func (a access) String() string {
	r := a.resource
	if a.subresource != "" {
		r += "/" + a.subresource
	}
	if a.name != "" {
		r += " " + a.name
	}
	return fmt.Sprintf("%s %s.%s in %q", a.verb, r, a.group, a.namespace)
}

// expectAccess asks the hub's API server, with SubjectAccessReviews, whether user may do each
// thing, and fails on every answer that is not the expected one.
func expectAccess(t *testing.T, user string, groups []string, want []access) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(fleet.Hub.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range want {
		review, err := cs.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{
				User: user, Groups: groups,
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Verb: a.verb, Group: a.group, Resource: a.resource, Subresource: a.subresource,
					Namespace: a.namespace, Name: a.name,
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SubjectAccessReview for %s: %v", a, err)
		}
		if review.Status.Allowed != a.allowed {
			t.Errorf("%s may %s: %v, want %v (%s)", user, a, review.Status.Allowed, a.allowed, review.Status.Reason)
		}
	}
}

// waitReady waits until the hub reports the member ReadyToJoin.
func waitReady(t *testing.T, c client.Client, name string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(condition(g, c, name, clusterv1beta1.ConditionReadyToJoin).Status).To(Equal(metav1.ConditionTrue))
	}, 60*time.Second, 100*time.Millisecond).Should(Succeed())
}

// A member's hub identity reads its Works and writes only their status: a leaked agent token
// must not be a way to run anything on the member.
func TestAgentIdentityHasLeastPrivilege(t *testing.T) {
	c := startHub(t)
	ctx := context.Background()
	g := NewWithT(t)
	mc := newMember("least")
	g.Expect(c.Create(ctx, mc)).To(Succeed())
	g.Expect(c.Create(ctx, newMember("neighbour"))).To(Succeed())
	waitReady(t, c, "least")
	waitReady(t, c, "neighbour")

	own := clusterv1beta1.NamespaceForMember("least")
	other := clusterv1beta1.NamespaceForMember("neighbour")
	const (
		placement  = "placement.kubernetes-fleet.io"
		cluster    = "cluster.kubernetes-fleet.io"
		networking = "networking.flotilla.dev"
		updates    = "updates.flotilla.dev"
	)
	user, groups := serviceAccountUser(mc.Spec.Identity.Namespace, mc.Spec.Identity.Name)
	expectAccess(t, user, groups, []access{
		// Works: read, and write the status; never create, change or delete one.
		{"get", placement, "works", "", own, "w", true},
		{"list", placement, "works", "", own, "", true},
		{"watch", placement, "works", "", own, "", true},
		{"update", placement, "works", "status", own, "w", true},
		{"patch", placement, "works", "status", own, "w", true},
		{"create", placement, "works", "", own, "", false},
		{"update", placement, "works", "", own, "w", false},
		{"patch", placement, "works", "", own, "w", false},
		{"delete", placement, "works", "", own, "w", false},
		{"deletecollection", placement, "works", "", own, "", false},
		// Its IMC: read it, write its status, not its spec (the hub's instruction).
		{"get", cluster, "internalmemberclusters", "", own, "least", true},
		{"watch", cluster, "internalmemberclusters", "", own, "", true},
		{"update", cluster, "internalmemberclusters", "status", own, "least", true},
		{"patch", cluster, "internalmemberclusters", "status", own, "least", true},
		{"update", cluster, "internalmemberclusters", "", own, "least", false},
		{"create", cluster, "internalmemberclusters", "", own, "", false},
		{"delete", cluster, "internalmemberclusters", "", own, "least", false},
		// Networking: its exports, and the status of the imports the hub made for it.
		{"create", networking, "internalserviceexports", "", own, "", true},
		{"update", networking, "internalserviceexports", "", own, "e", true},
		{"delete", networking, "internalserviceexports", "", own, "e", true},
		{"list", networking, "internalserviceimports", "", own, "", true},
		{"patch", networking, "internalserviceimports", "status", own, "i", true},
		{"create", networking, "internalserviceimports", "", own, "", false},
		{"update", networking, "internalserviceimports", "", own, "i", false},
		// Updates: its upgrade profile, and the status of its MemberUpdates.
		{"create", updates, "memberupgradeprofiles", "", own, "", true},
		{"update", updates, "memberupgradeprofiles", "status", own, "least", true},
		{"watch", updates, "memberupdates", "", own, "", true},
		{"update", updates, "memberupdates", "status", own, "u", true},
		{"create", updates, "memberupdates", "", own, "", false},
		{"update", updates, "memberupdates", "", own, "u", false},
		// Nothing else in its namespace.
		{"create", placement, "clusterresourceplacements", "", "", "", false},
		{"get", "", "secrets", "", own, "s", false},
		{"create", "", "configmaps", "", own, "", false},
		{"create", "rbac.authorization.k8s.io", "rolebindings", "", own, "", false},
		{"update", "rbac.authorization.k8s.io", "rolebindings", "", own, "fleet-rolebinding-least", false},
		{"create", "coordination.k8s.io", "leases", "", own, "", false},
		// Nothing in another member's namespace, nor cluster-wide.
		{"get", placement, "works", "", other, "w", false},
		{"list", placement, "works", "", other, "", false},
		{"update", placement, "works", "status", other, "w", false},
		{"get", cluster, "internalmemberclusters", "", other, "neighbour", false},
		{"patch", cluster, "internalmemberclusters", "status", other, "neighbour", false},
		{"list", placement, "works", "", "", "", false},
		{"get", cluster, "memberclusters", "", "", "least", false},
	})
}

// The hub's ServiceAccount binds one fixed ClusterRole and cannot escalate: it cannot write
// rules, nor grant any other role.
func TestHubServiceAccountCannotEscalate(t *testing.T) {
	user, groups := serviceAccountUser(hubSANamespace, hubSAName)
	const rbac = "rbac.authorization.k8s.io"
	member := clusterv1beta1.NamespaceForMember("least")
	expectAccess(t, user, groups, []access{
		{"bind", rbac, "clusterroles", "", "", membership.AgentClusterRole, true},
		{"bind", rbac, "clusterroles", "", member, membership.AgentClusterRole, true},
		{"bind", rbac, "clusterroles", "", "", "cluster-admin", false},
		{"bind", rbac, "clusterroles", "", member, "admin", false},
		{"bind", rbac, "roles", "", member, "fleet-role-least", false},
		{"bind", rbac, "clusterroles", "", "", "", false},
		{"escalate", rbac, "roles", "", member, "", false},
		{"escalate", rbac, "roles", "", "", "", false},
		{"escalate", rbac, "clusterroles", "", "", "", false},
		{"create", rbac, "roles", "", member, "", false},
		{"update", rbac, "roles", "", member, "fleet-role-least", false},
		{"create", rbac, "clusterroles", "", "", "", false},
		{"update", rbac, "clusterroles", "", "", membership.AgentClusterRole, false},
		{"create", rbac, "clusterrolebindings", "", "", "", false},
		// What it does need for the members' RoleBindings and the upgrade.
		{"create", rbac, "rolebindings", "", member, "", true},
		{"update", rbac, "rolebindings", "", member, "fleet-rolebinding-least", true},
		{"delete", rbac, "roles", "", member, "fleet-role-least", true},
	})
}

// tokenConfig returns a rest config of the hub that authenticates with a fresh token of the
// ServiceAccount namespace/name, made if missing.
func tokenConfig(t *testing.T, namespace, name string) *rest.Config {
	t.Helper()
	cs, err := kubernetes.NewForConfig(fleet.Hub.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if _, err := cs.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &rest.Config{
		Host: fleet.Hub.Config.Host, BearerToken: tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: fleet.Hub.Config.CAData},
		QPS:             fleet.Hub.Config.QPS, Burst: fleet.Hub.Config.Burst,
	}
}

// startMembershipAs runs only the membership controller, as the given identity, with the
// hub manager's cache settings.
func startMembershipAs(t *testing.T, cfg *rest.Config) {
	t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     scheme.Scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&rbacv1.Role{}:        {Label: memberLabelSelector(t)},
			&rbacv1.RoleBinding{}: {Label: memberLabelSelector(t)},
			&corev1.Namespace{}:   {Label: memberLabelSelector(t)},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := membership.Setup(mgr, membership.Options{ForceDeleteWait: forceDeleteWait}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("membership manager: %v", err)
		}
	})
}

// The hub controllers, as their own ServiceAccount with the installed RBAC, make a member's
// objects without escalate, and move a member written by an older hub (a per-member Role
// with rules, and a RoleBinding to it) onto the fixed ClusterRole.
func TestHubServiceAccountJoinsAndUpgradesMembers(t *testing.T) {
	g := NewWithT(t)
	admin, err := client.New(fleet.Hub.Config, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()

	// An older hub's member: the MemberCluster, its namespace, a Role with rules and a
	// RoleBinding to that Role, all controlled by the MemberCluster.
	old := newMember("upgraded")
	g.Expect(admin.Create(ctx, old)).To(Succeed())
	ns := clusterv1beta1.NamespaceForMember(old.Name)
	owner := []metav1.OwnerReference{*metav1.NewControllerRef(old, clusterv1beta1.GroupVersion.WithKind("MemberCluster"))}
	labels := map[string]string{clusterv1beta1.MemberNameLabel: old.Name}
	g.Expect(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels, OwnerReferences: owner}})).To(Succeed())
	g.Expect(admin.Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet-role-upgraded", Namespace: ns, Labels: labels, OwnerReferences: owner},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"placement.kubernetes-fleet.io"}, Resources: []string{"*"},
			Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"},
		}},
	})).To(Succeed())
	g.Expect(admin.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet-rolebinding-upgraded", Namespace: ns, Labels: labels, OwnerReferences: owner},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "fleet-role-upgraded"},
		Subjects:   []rbacv1.Subject{old.Spec.Identity},
	})).To(Succeed())
	user, groups := serviceAccountUser(old.Spec.Identity.Namespace, old.Spec.Identity.Name)
	createWork := access{"create", "placement.kubernetes-fleet.io", "works", "", ns, "", true}
	expectAccess(t, user, groups, []access{createWork}) // the old rights, as before the upgrade

	startMembershipAs(t, tokenConfig(t, hubSANamespace, hubSAName))
	fresh := newMember("fresh")
	g.Expect(admin.Create(ctx, fresh)).To(Succeed())
	for _, name := range []string{"upgraded", "fresh"} {
		waitReady(t, admin, name)
		g.Eventually(func(g Gomega) {
			ns := clusterv1beta1.NamespaceForMember(name)
			binding := &rbacv1.RoleBinding{}
			g.Expect(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fleet-rolebinding-" + name}, binding)).To(Succeed())
			g.Expect(binding.RoleRef.Kind).To(Equal("ClusterRole"))
			g.Expect(binding.RoleRef.Name).To(Equal(membership.AgentClusterRole))
			g.Expect(binding.Subjects).To(ConsistOf(HaveField("Name", name+"-agent")))
			g.Expect(apierrors.IsNotFound(admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fleet-role-" + name}, &rbacv1.Role{}))).To(BeTrue())
			g.Expect(getIMC(g, admin, name).Spec.State).To(Equal(clusterv1beta1.ClusterStateJoin))
		}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	}
	createWork.allowed = false
	expectAccess(t, user, groups, []access{
		createWork,
		{"update", "placement.kubernetes-fleet.io", "works", "status", ns, "w", true},
	})

	// The hub SA can still remove a member: the leave flow deletes its namespace.
	g.Expect(admin.Delete(ctx, fresh)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(admin.Get(ctx, client.ObjectKeyFromObject(fresh), &clusterv1beta1.MemberCluster{}))
	}, 60*time.Second, 200*time.Millisecond).Should(BeTrue())
}

// A MemberCluster cannot name one of the API server's own identities: with
// system:unauthenticated, anyone could read and write the member's Works.
func TestSystemIdentitiesAreRefused(t *testing.T) {
	g := NewWithT(t)
	c := startHub(t)
	ctx := context.Background()
	for _, id := range []rbacv1.Subject{
		{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:unauthenticated"},
		{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"},
		{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:serviceaccounts"},
		{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "system:anonymous"},
		{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "system:kube-scheduler"},
	} {
		mc := newMember("open")
		mc.Spec.Identity = id
		err := c.Create(ctx, mc)
		g.Expect(err).To(HaveOccurred(), "a MemberCluster with identity %s %s was accepted", id.Kind, id.Name)
		g.Expect(err.Error()).To(And(ContainSubstring("spec.identity"), ContainSubstring(id.Name),
			ContainSubstring("name the member agent's own user or ServiceAccount instead")))
	}

	// Nor can an existing member be changed to one.
	g.Expect(c.Create(ctx, newMember("open"))).To(Succeed())
	waitReady(t, c, "open")
	mc := &clusterv1beta1.MemberCluster{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "open"}, mc)).To(Succeed())
	mc.Spec.Identity = rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:unauthenticated"}
	err := c.Update(ctx, mc)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.identity: the group system:unauthenticated"))

	// A ServiceAccount named as a user is an agent identity, and allowed.
	g.Expect(c.Get(ctx, client.ObjectKey{Name: "open"}, mc)).To(Succeed())
	mc.Spec.Identity = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "system:serviceaccount:fleet-system:open-agent"}
	g.Expect(c.Update(ctx, mc)).To(Succeed())

	// An anonymous client gets nothing in the member's namespace.
	ns := clusterv1beta1.NamespaceForMember("open")
	expectAccess(t, "system:anonymous", []string{"system:unauthenticated"}, []access{
		{"list", "placement.kubernetes-fleet.io", "works", "", ns, "", false},
		{"create", "placement.kubernetes-fleet.io", "works", "", ns, "", false},
		{"get", "cluster.kubernetes-fleet.io", "internalmemberclusters", "", ns, "open", false},
	})
	anonymous, err := client.New(rest.AnonymousClientConfig(fleet.Hub.Config), client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	err = anonymous.List(ctx, &placementv1beta1.WorkList{}, client.InNamespace(ns))
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "an anonymous list of Works in %s: %v", ns, err)
}

// Only the hub controllers (and the cluster's own masters) write what decides a member
// agent's rights and instructions: its RoleBinding, the agent ClusterRole and its IMC. A
// cluster-admin who is not a master is refused, with a message that says what to do.
func TestMemberAccessObjectsAreGuarded(t *testing.T) {
	g := NewWithT(t)
	c := startHub(t)
	ctx := context.Background()
	g.Expect(c.Create(ctx, newMember("fenced"))).To(Succeed())
	waitReady(t, c, "fenced")
	ns := clusterv1beta1.NamespaceForMember("fenced")

	impersonated := rest.CopyConfig(fleet.Hub.Config)
	impersonated.Impersonate.UserName = "bob"
	bob, err := client.New(impersonated, client.Options{Scheme: scheme.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(client.IgnoreAlreadyExists(c.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bob-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"}},
	}))).To(Succeed())
	refused := func(err error, parts ...string) {
		t.Helper()
		g.Expect(err).To(HaveOccurred())
		g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		for _, p := range parts {
			g.Expect(err.Error()).To(ContainSubstring(p))
		}
	}

	// Retarget the RoleBinding to bob.
	binding := &rbacv1.RoleBinding{}
	g.Expect(bob.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fleet-rolebinding-fenced"}, binding)).To(Succeed())
	binding.Subjects = []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "bob"}}
	refused(bob.Update(ctx, binding), "RoleBinding "+ns+"/fleet-rolebinding-fenced", "change the MemberCluster fenced")
	refused(bob.Delete(ctx, binding), "written only by the hub controllers")

	// Bring back a per-member Role with rules.
	refused(bob.Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet-role-fenced", Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
	}), "Role "+ns+"/fleet-role-fenced")

	// Widen every agent's rights.
	role := &rbacv1.ClusterRole{}
	g.Expect(bob.Get(ctx, client.ObjectKey{Name: membership.AgentClusterRole}, role)).To(Succeed())
	role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{"placement.kubernetes-fleet.io"}, Resources: []string{"works"}, Verbs: []string{"create"}})
	refused(bob.Update(ctx, role), "ClusterRole flotilla-member-agent", "flotilla install")

	// Change the hub's instruction in the IMC.
	imc := &clusterv1beta1.InternalMemberCluster{}
	g.Expect(bob.Get(ctx, client.ObjectKey{Namespace: ns, Name: "fenced"}, imc)).To(Succeed())
	imc.Spec.State = clusterv1beta1.ClusterStateLeave
	refused(bob.Update(ctx, imc), "InternalMemberCluster "+ns+"/fenced", "change the MemberCluster fenced")
	refused(bob.Delete(ctx, imc), "InternalMemberCluster")

	// Nothing changed; bob's own objects elsewhere in the namespace are his business.
	g.Expect(c.Get(ctx, client.ObjectKeyFromObject(binding), binding)).To(Succeed())
	g.Expect(binding.Subjects).To(ConsistOf(HaveField("Name", "fenced-agent")))
	g.Expect(getIMC(g, c, "fenced").Spec.State).To(Equal(clusterv1beta1.ClusterStateJoin))
	g.Expect(bob.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "notes", Namespace: ns}})).To(Succeed())
}

// memberLabelSelector selects the objects the hub made for members, as the hub's cache does.
func memberLabelSelector(t *testing.T) labels.Selector {
	t.Helper()
	req, err := labels.NewRequirement(clusterv1beta1.MemberNameLabel, selection.Exists, nil)
	if err != nil {
		t.Fatal(err)
	}
	return labels.NewSelector().Add(*req)
}
