//go:build tools

// Package tools lists the commands this module builds, so that `go mod tidy` keeps
// every package they import.
package tools

import (
	_ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
)
