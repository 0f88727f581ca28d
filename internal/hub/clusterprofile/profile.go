package clusterprofile

import (
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clusterv1beta1 "github.com/flotilla-dev/flotilla/api/cluster/v1beta1"
	inventory "github.com/flotilla-dev/flotilla/api/clusterinventory/v1alpha1"
)

// ManagerName is the cluster manager Flotilla's ClusterProfiles name, in
// spec.clusterManager.name and the label x-k8s.io/cluster-manager.
const ManagerName = "flotilla"

// Namespace holds the ClusterProfiles, one per member, named like the member.
const Namespace = "fleet-system"

// wanted says whether a member has, or should get, a profile: once it has joined, as
// KubeFleet does, and until it is deleted.
func wanted(mc *clusterv1beta1.MemberCluster, exists bool) bool {
	if mc.DeletionTimestamp != nil {
		return false
	}
	return exists || meta.IsStatusConditionTrue(mc.Status.Conditions, clusterv1beta1.ConditionJoined)
}

// status is the profile's status for the member, starting from the profile's current status
// so that the conditions keep their transition times.
func status(mc *clusterv1beta1.MemberCluster, current inventory.ClusterProfileStatus) inventory.ClusterProfileStatus {
	out := *current.DeepCopy()
	meta.SetStatusCondition(&out.Conditions, from(mc, clusterv1beta1.ConditionHealthy, inventory.ConditionControlPlaneHealthy))
	meta.SetStatusCondition(&out.Conditions, from(mc, clusterv1beta1.ConditionJoined, inventory.ConditionJoined))
	out.Version.Kubernetes = mc.Status.Properties[clusterv1beta1.PropertyKubernetesVersion].Value
	out.Properties = nil
	for name, v := range mc.Status.Properties {
		if v.Value == "" {
			continue // the inventory API wants a value
		}
		out.Properties = append(out.Properties, inventory.Property{Name: string(name), Value: v.Value, LastObservedTime: v.ObservationTime})
	}
	sort.Slice(out.Properties, func(i, j int) bool { return out.Properties[i].Name < out.Properties[j].Name })
	return out
}

// from copies the member's condition memberType as the profile's condition profileType; a
// member without it is Unknown.
func from(mc *clusterv1beta1.MemberCluster, memberType, profileType string) metav1.Condition {
	c := metav1.Condition{Type: profileType, Status: metav1.ConditionUnknown, Reason: "MemberClusterConditionUnknown",
		Message: "the member cluster has no " + memberType + " condition yet"}
	if mcCond := meta.FindStatusCondition(mc.Status.Conditions, memberType); mcCond != nil {
		c.Status, c.Reason, c.Message = mcCond.Status, mcCond.Reason, mcCond.Message
	}
	return c
}
