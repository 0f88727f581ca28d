package localfleet

import (
	"context"
	"io"
	"os"
	"path/filepath"
)

// Workload support (`flotilla local up --workloads`): each member also runs the workload
// controllers of kube-controller-manager, a kube-scheduler, and kwok, which plays the
// kubelet of the fake nodes. Deployments, StatefulSets and DaemonSets then get pods that
// are scheduled by resources and become Running and Ready, without any container.

// KwokNodeAnnotation marks the fake nodes kwok manages; SeedNodes sets it on every node.
const (
	KwokNodeAnnotation      = "kwok.x-k8s.io/node"
	KwokNodeAnnotationValue = "fake"
)

// workloadControllers are the kube-controller-manager controllers a member runs in
// addition to the base set when workloads are on.
var workloadControllers = []string{
	"deployment-controller", "replicaset-controller", "statefulset-controller",
	"daemonset-controller", "job-controller", "endpointslice-controller",
}

// WorkloadBinaries are the extra binaries of --workloads.
type WorkloadBinaries struct {
	KubeScheduler string
	Kwok          string
	// KwokStages is kwok's configuration: its default stages (hack/kwok/stages).
	KwokStages string
}

func (b WorkloadBinaries) missing() []string {
	var names []string
	for _, p := range []string{b.KubeScheduler, b.Kwok} {
		if info, err := os.Stat(p); err != nil || info.Mode()&0o111 == 0 {
			names = append(names, filepath.Base(p))
		}
	}
	if info, err := os.Stat(b.KwokStages); err != nil || info.Size() == 0 {
		names = append(names, filepath.Base(b.KwokStages))
	}
	return names
}

// FindWorkloadBinaries returns kube-scheduler and kwok from the cache folder, building them
// with hack/build-tools.sh when they are missing and build is true.
func FindWorkloadBinaries(ctx context.Context, build bool, progress io.Writer) (WorkloadBinaries, error) {
	dir := ToolsDir()
	bins := WorkloadBinaries{
		KubeScheduler: filepath.Join(dir, "kube-scheduler"),
		Kwok:          filepath.Join(dir, "kwok"),
		KwokStages:    filepath.Join(dir, "kwok-stages.yaml"),
	}
	err := buildMissing(ctx, dir, bins.missing, build, progress, "hack/build-tools.sh kube-scheduler kwok",
		"kube-scheduler", "kwok")
	return bins, err
}

// addWorkloadChildren registers the member's kube-scheduler and kwok.
func (c *Cluster) addWorkloadChildren() {
	sched := c.sup.add(&child{
		name: c.Name + "-scheduler", binary: c.workloads.KubeScheduler, logDir: c.logDir,
		args: func() []string {
			return []string{
				"--kubeconfig", c.KubeconfigPath,
				"--authentication-kubeconfig", c.KubeconfigPath,
				"--authorization-kubeconfig", c.KubeconfigPath,
				"--leader-elect=false",
				"--secure-port", "0",
				"--v", "1",
			}
		},
		needs: []*child{c.apiserver},
	})
	kwok := c.sup.add(&child{
		name: c.Name + "-kwok", binary: c.workloads.Kwok, logDir: c.logDir,
		args: func() []string {
			return []string{
				"--kubeconfig", c.KubeconfigPath,
				"--config", c.workloads.KwokStages,
				"--manage-all-nodes=false",
				"--manage-nodes-with-annotation-selector", KwokNodeAnnotation + "=" + KwokNodeAnnotationValue,
				// Pod IPs come from a range of this member's own, so members do not share addresses.
				"--cidr", c.podCIDR,
			}
		},
		needs: []*child{c.apiserver},
	})
	c.extra = append(c.extra, sched, kwok)
}
