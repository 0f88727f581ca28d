package properties

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestAddSumsQuantities(t *testing.T) {
	sum := corev1.ResourceList{}
	add(sum, corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi")})
	add(sum, corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")})
	if got := quantity(sum, corev1.ResourceCPU); got != "4500m" {
		t.Errorf("cpu = %s, want 4500m", got)
	}
	if got := quantity(sum, corev1.ResourceMemory); got != "16Gi" {
		t.Errorf("memory = %s, want 16Gi", got)
	}
}

func TestOnlyKeepsNamedResourcesAndZeroesMissing(t *testing.T) {
	l := only(corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceCPU: resource.MustParse("2")},
		corev1.ResourceCPU, corev1.ResourceMemory)
	if _, ok := l[corev1.ResourcePods]; ok {
		t.Errorf("pods kept: %v", l)
	}
	if got := quantity(l, corev1.ResourceMemory); got != "0" {
		t.Errorf("memory = %s, want 0", got)
	}
}
