// {{name}}: a conduit-wasm sink in C. Prints one line per row change:
// `<op> <schema>.<table> xid=<xid> seq=<seq>`.
//
// sink_component.h is generated from wit/sink.wit by `wit-bindgen c` (see build.sh); it defines
// the types (batch, change, value, ...) and the three functions below. The callee owns its
// arguments: free them with the generated *_free functions.

#include <stdio.h>
#include <string.h>

#include "sink_component.h"

static void set_error(exports_conduit_sink_sink_sink_error_t *err, bool retryable, const char *message) {
  err->retryable = retryable;
  sink_component_string_dup(&err->message, message);
}

// Validate the configuration (`--sink-config key=value` pairs) and open connections here.
bool exports_conduit_sink_sink_connect(exports_conduit_sink_sink_config_t *config,
                                       exports_conduit_sink_sink_sink_error_t *err) {
  (void)err;
  exports_conduit_sink_sink_config_free(config);
  return true;
}

// Store the batch; return true only once it is stored (the runtime then acknowledges it).
bool exports_conduit_sink_sink_publish(exports_conduit_sink_sink_batch_t *batch,
                                       exports_conduit_sink_sink_sink_error_t *err) {
  // In wit/sink.wit's order; `read` is a row an initial snapshot read.
  static const char *const ops[] = {"insert", "update", "delete", "truncate", "read"};
  bool ok = true;
  for (size_t i = 0; i < batch->changes.len && ok; i++) {
    conduit_sink_types_change_t *c = &batch->changes.ptr[i];
    conduit_sink_types_relation_t *rel = &batch->relations.ptr[c->relation];
    if (printf("%s %.*s.%.*s xid=%u seq=%u\n", c->op < 5 ? ops[c->op] : "?", (int)rel->schema.len,
               (const char *)rel->schema.ptr, (int)rel->name.len, (const char *)rel->name.ptr, c->xid,
               c->seq) < 0)
      ok = false;
  }
  if (fflush(stdout) != 0) ok = false;
  if (!ok) set_error(err, true, "writing to standard output failed");
  exports_conduit_sink_sink_batch_free(batch);
  return ok;
}

// Orderly shutdown: flush and release resources.
bool exports_conduit_sink_sink_close(exports_conduit_sink_sink_sink_error_t *err) {
  (void)err;
  return true;
}
