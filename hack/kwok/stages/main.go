// Command stages prints the kwok configuration the local fleet runs kwok with: kwok's own
// default "fast" pod stages, which make a pod bound to a kwok node Running and Ready at
// once, complete a Job's pods, and delete pods being deleted. kwok needs them as a config
// file; kwokctl writes the same ones. Of the node stages only the heartbeat: kwok manages
// the pods of a node only once a node stage exists, but the local fleet seeds its nodes'
// status itself (capacity, versions), and kwok's node initialization would race with that
// seed and could overwrite the capacity with its defaults.
package main

import (
	"fmt"
	"strings"

	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
)

func main() {
	stages := []string{nodeheartbeat.DefaultNodeHeartbeatWithLease, podfast.DefaultPodReady, podfast.DefaultPodComplete, podfast.DefaultPodDelete}
	for i, s := range stages {
		if i > 0 {
			fmt.Println("---")
		}
		fmt.Println(strings.TrimSpace(s))
	}
}
