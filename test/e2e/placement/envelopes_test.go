package placement

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	placementv1beta1 "github.com/flotilla-dev/flotilla/api/placement/v1beta1"
)

const envelopes = `
apiVersion: v1
kind: Namespace
metadata:
  name: wrapped
---
apiVersion: placement.kubernetes-fleet.io/v1beta1
kind: ResourceEnvelope
metadata:
  name: app
  namespace: wrapped
data:
  settings.yaml:
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: settings
    data:
      greeting: hello
  web.yaml:
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      namespace: wrapped
    spec:
      replicas: 1
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
            - name: web
              image: nginx
  unknown.yaml:
    apiVersion: example.com/v1
    kind: NoSuchKind
    metadata:
      name: nothing
---
apiVersion: placement.kubernetes-fleet.io/v1beta1
kind: ClusterResourceEnvelope
metadata:
  name: reader
data:
  role.yaml:
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata:
      name: wrapped-reader
    rules:
      - apiGroups: [""]
        resources: ["configmaps"]
        verbs: ["get"]
---
apiVersion: placement.kubernetes-fleet.io/v1beta1
kind: ResourceOverride
metadata:
  name: greeting
  namespace: wrapped
spec:
  resourceSelectors:
    - group: ""
      version: v1
      kind: ConfigMap
      name: settings
  policy:
    overrideRules:
      - jsonPatchOverrides:
          - op: replace
            path: /data/greeting
            value: "hello from ${MEMBER-CLUSTER-NAME}"
---
apiVersion: placement.kubernetes-fleet.io/v1
kind: ClusterResourcePlacement
metadata:
  name: wrapped
spec:
  resourceSelectors:
    - group: ""
      version: v1
      kind: Namespace
      name: wrapped
    - group: placement.kubernetes-fleet.io
      version: v1beta1
      kind: ClusterResourceEnvelope
      name: reader
  policy:
    placementType: PickAll
`

// TestEnvelopes places a ResourceEnvelope (a ConfigMap, a Deployment and an object of an
// unknown kind) and a ClusterResourceEnvelope (a ClusterRole): every member gets the objects,
// not the envelopes, with a ResourceOverride applied to the ConfigMap inside the envelope, and the unknown kind is reported as a failure that names its envelope
// while the others apply.
func TestEnvelopes(t *testing.T) {
	g := NewWithT(t)
	for _, doc := range splitYAML(envelopes) {
		u := &unstructured.Unstructured{}
		g.Expect(yaml.Unmarshal([]byte(doc), &u.Object)).To(Succeed())
		g.Expect(fleet.Hub.Create(ctx, u)).To(Succeed(), u.GetKind())
	}
	for _, m := range memberNames() {
		mc := memberClient(g, m)
		g.Eventually(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(mc.Get(ctx, client.ObjectKey{Namespace: "wrapped", Name: "settings"}, cm)).To(Succeed())
			g.Expect(cm.Data["greeting"]).To(Equal("hello from " + m)) // the override reached into the envelope
			g.Expect(mc.Get(ctx, client.ObjectKey{Namespace: "wrapped", Name: "web"}, &appsv1.Deployment{})).To(Succeed())
			g.Expect(mc.Get(ctx, client.ObjectKey{Name: "wrapped-reader"}, &rbacv1.ClusterRole{})).To(Succeed())
		}, wait).Should(Succeed(), m)
	}
	g.Eventually(func(g Gomega) []placementv1beta1.ResourceIdentifier {
		p := &placementv1beta1.ClusterResourcePlacement{}
		g.Expect(fleet.Hub.Get(ctx, client.ObjectKey{Name: "wrapped"}, p)).To(Succeed())
		var failed []placementv1beta1.ResourceIdentifier
		for _, ps := range p.Status.PlacementStatuses {
			for _, f := range ps.FailedPlacements {
				// The Deployment fails availability (the local fleet runs no pods); only the
				// unknown kind fails to apply.
				if f.Condition.Type == placementv1beta1.WorkConditionTypeApplied {
					failed = append(failed, f.ResourceIdentifier)
				}
			}
		}
		return failed
	}, wait).Should(And(HaveLen(len(memberNames())), HaveEach(Equal(placementv1beta1.ResourceIdentifier{
		Group: "example.com", Version: "v1", Kind: "NoSuchKind", Name: "nothing", Namespace: "wrapped",
		Envelope: &placementv1beta1.EnvelopeIdentifier{Name: "app", Namespace: "wrapped", Type: placementv1beta1.ResourceEnvelopeType},
	}))))

	g.Expect(fleet.Hub.Delete(ctx, &placementv1beta1.ClusterResourcePlacement{ObjectMeta: metav1.ObjectMeta{Name: "wrapped"}})).To(Succeed())
	for _, m := range memberNames() {
		mc := memberClient(g, m)
		g.Eventually(func() error {
			return mc.Get(ctx, client.ObjectKey{Name: "wrapped-reader"}, &rbacv1.ClusterRole{})
		}, wait).Should(Satisfy(func(err error) bool { return client.IgnoreNotFound(err) == nil && err != nil }), m)
	}
}

func splitYAML(s string) []string {
	var out []string
	for _, doc := range strings.Split(s, "\n---\n") {
		if strings.TrimSpace(doc) != "" {
			out = append(out, doc)
		}
	}
	return out
}
