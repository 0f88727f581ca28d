package join

import (
	"fmt"
	"io"
)

// progress prints a line for each step to w, when there is one.
type progress struct{ w io.Writer }

func (p progress) say(format string, args ...any) {
	if p.w != nil {
		fmt.Fprintf(p.w, format+"\n", args...)
	}
}
