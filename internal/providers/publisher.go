package providers

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	updatesv1alpha1 "github.com/flotilla-dev/flotilla/api/updates/v1alpha1"
)

// PublishProfile writes the provider's profile of the member into its MemberUpgradeProfile
// in fleet-member-<name>, creating it if needed. It writes only when something other than
// the observation time changed, so a fleet at rest causes no writes.
func PublishProfile(ctx context.Context, c client.Client, p Provider, m Member, now time.Time) error {
	status, err := p.Profile(ctx, m)
	if err != nil {
		return err
	}
	status.Provider = p.Name()
	key := client.ObjectKey{Namespace: clusterv1beta1.NamespaceForMember(m.Name), Name: m.Name}
	profile := &updatesv1alpha1.MemberUpgradeProfile{}
	err = c.Get(ctx, key, profile)
	if apierrors.IsNotFound(err) {
		profile = &updatesv1alpha1.MemberUpgradeProfile{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		if err := c.Create(ctx, profile); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	} else if err != nil {
		return err
	}
	old := profile.Status.DeepCopy()
	old.ObservedTime = nil
	if profile.ResourceVersion != "" && equality.Semantic.DeepEqual(old, status) {
		return nil
	}
	t := metav1.NewMicroTime(now)
	status.ObservedTime = &t
	profile.Status = *status
	return c.Status().Update(ctx, profile)
}
