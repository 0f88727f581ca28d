// Command flotilla is Flotilla's one binary: the hub controllers (`flotilla hub`), the member
// agent (`flotilla agent`), the local fleet (`flotilla local`) and the user verbs.
package main

import (
	"os"

	"github.com/flotilla-dev/flotilla/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
