package updaterun

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	u "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

// The provider's settings travel from the MemberCluster to every MemberUpdate, so the local
// provider, which runs in the member agent, sees the simulate-failure annotation.
func TestSettingsAreCarriedToTheMemberUpdate(t *testing.T) {
	annotations := map[string]string{
		u.SimulateFailureAnnotation:   "true",
		u.ProviderAnnotation:          "local",
		"fleet.azure.com/other":       "not a setting",
		"kubectl.kubernetes.io/extra": "not a setting",
	}
	settings := u.ProviderSettings(annotations)
	if len(settings) != 2 || settings[u.SimulateFailureAnnotation] != "true" || settings[u.ProviderAnnotation] != "local" {
		t.Fatalf("settings %v, want the two updates.flotilla.dev/ annotations", settings)
	}
	run := metav1.OwnerReference{Name: "r1", UID: "uid-1"}
	mu := memberUpdate(run, Operation{Member: "c1", Spec: u.MemberUpdateSpec{Provider: "local"}}, settings)
	if mu.Annotations[u.SimulateFailureAnnotation] != "true" {
		t.Fatalf("the MemberUpdate's annotations %v lack the simulate-failure setting", mu.Annotations)
	}
	if mu.Namespace != "fleet-member-c1" || mu.Name != "r1" || mu.Labels[u.MemberLabel] != "c1" {
		t.Fatalf("MemberUpdate %s/%s labels %v", mu.Namespace, mu.Name, mu.Labels)
	}
	settings[u.SimulateFailureAnnotation] = "false"
	if mu.Annotations[u.SimulateFailureAnnotation] != "true" {
		t.Fatal("the MemberUpdate shares its annotations map with the facts")
	}
	if got := u.ProviderSettings(map[string]string{"a": "b"}); got != nil {
		t.Fatalf("settings %v of a member with none, want nil", got)
	}
}
