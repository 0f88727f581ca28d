package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// version and revision are stamped into release builds by the linker (see `make image`):
//
//	-X github.com/flotilla-dev/flotilla/internal/cli.version=v0.3.0
//	-X github.com/flotilla-dev/flotilla/internal/cli.revision=<git commit>
//
// They are variables, not constants, because -X can only set package-level string variables.
// A plain `go build` leaves them at "dev", which says the binary is not a release.
var (
	version  = "dev"
	revision = "dev"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print flotilla's version and the git revision it was built from",
		Long: `Print the version and the git revision this binary was built from. Both are "dev"
for a binary built without the release ldflags (a plain go build or make build); make image
stamps them, so a running image can be matched to its source.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "flotilla %s (revision %s)\n", version, revision)
			return err
		},
	}
}
