package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// checkOutput refuses an -o value that the list verbs do not know.
func checkOutput(output string) error {
	if output != "" && output != "table" && output != "json" && output != "yaml" {
		return usageError{fmt.Errorf("-o must be table, json or yaml, not %q", output)}
	}
	return nil
}

// printRows prints rows as JSON or YAML when output asks for one of them, and reports
// whether it did; the table is each verb's own.
func printRows(w io.Writer, rows any, output string) (bool, error) {
	var data []byte
	var err error
	switch output {
	case "json":
		data, err = json.MarshalIndent(rows, "", "  ")
		data = append(data, '\n')
	case "yaml":
		data, err = yaml.Marshal(rows)
	default:
		return false, nil
	}
	if err != nil {
		return true, err
	}
	_, err = w.Write(data)
	return true, err
}
