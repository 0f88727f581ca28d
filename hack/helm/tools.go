//go:build tools

// Package tools pins the helm command that docs/install.md's test runs: the same Helm as the
// SDK of the main module (helm.sh/helm/v4 in ../../go.mod), in a module of its own so that
// the main module does not inherit the CLI's dependencies.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
