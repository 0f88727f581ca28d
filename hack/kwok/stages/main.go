// Command stages prints the kwok configuration the local fleet runs kwok with: kwok's own
// default "fast" stages, which make a node Ready and a pod bound to a kwok node Running and
// Ready at once, complete a Job's pods, and delete pods being deleted. kwok needs them as a
// config file; kwokctl writes the same ones.
package main

import (
	"fmt"
	"strings"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
)

func main() {
	stages := []string{nodefast.DefaultNodeInit, podfast.DefaultPodReady, podfast.DefaultPodComplete, podfast.DefaultPodDelete}
	for i, s := range stages {
		if i > 0 {
			fmt.Println("---")
		}
		fmt.Println(strings.TrimSpace(s))
	}
}
