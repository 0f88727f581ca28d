package membership

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

func TestIdentityProblem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		subject rbacv1.Subject
		refused bool
	}{
		{"service account", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "m1-agent", Namespace: "fleet-system"}, false},
		{"service account in the member's namespace", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "m1-agent"}, false},
		{"service account as a user", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:serviceaccount:fleet-system:m1-agent"}, false},
		{"plain user", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "edge-1-agent"}, false},
		{"plain group", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "edge-agents"}, false},
		{"no identity", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind}, false},
		{"unauthenticated", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}, true},
		{"authenticated", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:authenticated"}, true},
		{"masters", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:masters"}, true},
		{"every service account", rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts"}, true},
		{"anonymous user", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:anonymous"}, true},
		{"a node", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:node:n1"}, true},
		{"a controller", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:kube-controller-manager"}, true},
		{"malformed service account user", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:serviceaccount:fleet-system"}, true},
		{"service account user with extra parts", rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:serviceaccount:a:b:c"}, true},
		{"unknown kind", rbacv1.Subject{Kind: "Robot", Name: "r2"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problem := identityProblem(tc.subject)
			if (problem != "") != tc.refused {
				t.Fatalf("identityProblem(%+v) = %q; refused want %v", tc.subject, problem, tc.refused)
			}
			if tc.refused && !strings.Contains(problem, "spec.identity") {
				t.Fatalf("the message %q does not name spec.identity", problem)
			}
		})
	}
}
