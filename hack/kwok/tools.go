//go:build tools

// Package tools lists the commands this module builds, so that `go mod tidy` keeps
// every package they import.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
