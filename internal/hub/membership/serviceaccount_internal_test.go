package membership

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestServiceAccountOf(t *testing.T) {
	cases := []struct {
		subject rbacv1.Subject
		want    types.NamespacedName
		ok      bool
	}{
		{rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "a", Namespace: "ns"}, types.NamespacedName{Namespace: "ns", Name: "a"}, true},
		{rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "a"}, types.NamespacedName{}, false},
		{rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:serviceaccount:ns:a"}, types.NamespacedName{Namespace: "ns", Name: "a"}, true},
		{rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:serviceaccount:ns"}, types.NamespacedName{}, false},
		{rbacv1.Subject{Kind: rbacv1.UserKind, Name: "alice"}, types.NamespacedName{}, false},
		{rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "agents"}, types.NamespacedName{}, false},
		{rbacv1.Subject{}, types.NamespacedName{}, false},
	}
	for _, tc := range cases {
		got, ok := serviceAccountOf(tc.subject)
		if got != tc.want || ok != tc.ok {
			t.Errorf("serviceAccountOf(%+v) = %v, %v; want %v, %v", tc.subject, got, ok, tc.want, tc.ok)
		}
	}
}
