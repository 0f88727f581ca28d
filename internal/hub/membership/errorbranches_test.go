package membership

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	"github.com/flotilla-dev/flotilla/internal/scheme"
)

// The join's error branches, on controller-runtime's fake client: each must end with
// ReadyToJoin=False naming the cause, and an error returned only where a retry can help.
func TestJoinErrorBranches(t *testing.T) {
	const name = "m1"
	ns := clusterv1beta1.NamespaceForMember(name)
	member := func(identity rbacv1.Subject) *clusterv1beta1.MemberCluster {
		return &clusterv1beta1.MemberCluster{
			ObjectMeta: metav1.ObjectMeta{Name: name, Generation: 1},
			Spec:       clusterv1beta1.MemberClusterSpec{Identity: identity},
		}
	}
	agent := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "m1-agent", Namespace: "fleet-system"}
	refused := apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, ns, errors.New("the hub's RBAC refuses it"))
	cases := []struct {
		name      string
		mc        *clusterv1beta1.MemberCluster
		existing  []client.Object
		funcs     interceptor.Funcs
		wantErr   bool
		wantInMsg string
		// wantIMC says whether the join got as far as the InternalMemberCluster.
		wantIMC bool
	}{
		{
			name: "the member namespace cannot be created", mc: member(agent),
			funcs:   interceptor.Funcs{Apply: refuseApply("Namespace", refused)},
			wantErr: true, wantInMsg: "namespace " + ns + ": namespaces \"" + ns + "\" is forbidden",
		},
		{
			name: "a rejoin while the old namespace is still terminating", mc: member(agent),
			existing: []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name: ns, Finalizers: []string{"kubernetes"}, DeletionTimestamp: &metav1.Time{Time: time.Now()},
			}}},
			wantErr: true, wantInMsg: "namespace " + ns + " is still being deleted from an earlier membership",
		},
		{
			name: "an identity in a system: group is refused without a retry", mc: member(rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}),
			wantErr: false, wantInMsg: `the group "system:unauthenticated" is one of the API server's own system: groups`,
			wantIMC: true,
		},
		{
			name: "the RoleBinding cannot be written", mc: member(agent),
			funcs:   interceptor.Funcs{Apply: refuseApply("RoleBinding", apierrors.NewServiceUnavailable("the hub is overloaded"))},
			wantErr: true, wantInMsg: "the hub is overloaded",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := append([]client.Object{tc.mc}, tc.existing...)
			c := fake.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(objs...).
				WithStatusSubresource(&clusterv1beta1.MemberCluster{}, &clusterv1beta1.InternalMemberCluster{}).
				WithInterceptorFuncs(tc.funcs).Build()
			r := &Reconciler{Client: c, Recorder: record.NewFakeRecorder(10)}
			_, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKey{Name: name}})
			if (err != nil) != tc.wantErr {
				t.Fatalf("Reconcile error = %v, want an error: %v", err, tc.wantErr)
			}
			got := &clusterv1beta1.MemberCluster{}
			if err := c.Get(context.Background(), client.ObjectKey{Name: name}, got); err != nil {
				t.Fatal(err)
			}
			cond := meta.FindStatusCondition(got.Status.Conditions, clusterv1beta1.ConditionReadyToJoin)
			if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != ReasonNotReadyToJoin {
				t.Fatalf("ReadyToJoin = %+v, want False/%s", cond, ReasonNotReadyToJoin)
			}
			if !strings.Contains(cond.Message, tc.wantInMsg) {
				t.Fatalf("ReadyToJoin message %q does not say %q", cond.Message, tc.wantInMsg)
			}
			imc := &clusterv1beta1.InternalMemberCluster{}
			err = c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, imc)
			if tc.wantIMC != (err == nil) {
				t.Fatalf("InternalMemberCluster: %v; want it to exist: %v", err, tc.wantIMC)
			}
			// Whatever went wrong, no RoleBinding grants the member's rights to a system: group.
			var bindings rbacv1.RoleBindingList
			if err := c.List(context.Background(), &bindings, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			for _, b := range bindings.Items {
				for _, s := range b.Subjects {
					if strings.HasPrefix(s.Name, "system:") && s.Kind != rbacv1.ServiceAccountKind {
						t.Fatalf("RoleBinding %s binds %s %s", b.Name, s.Kind, s.Name)
					}
				}
			}
		})
	}
}

// refuseApply fails the server-side apply of objects of one kind with err.
func refuseApply(kind string, err error) func(context.Context, client.WithWatch, runtime.ApplyConfiguration, ...client.ApplyOption) error {
	return func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
		if u, ok := obj.(interface{ GetKind() string }); ok && u.GetKind() == kind {
			return err
		}
		return c.Apply(ctx, obj, opts...)
	}
}
