// Package charts embeds Flotilla's Helm charts, so that `flotilla member join` installs the
// very chart that is published, and tests read the same files.
package charts

import "embed"

// FS holds flotilla-agent/ and flotilla-hub/, with their _helpers.tpl (all: keeps the
// files whose names start with _).
//
//go:embed all:flotilla-agent all:flotilla-hub
var FS embed.FS
