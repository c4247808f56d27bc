// stdout-json in C: one JSON line per row change on standard output, the same bytes as the Rust
// example sink (guest-sdk/src/line.rs). Bindings from `wit-bindgen c` (sink_component.h), built
// with `zig cc --target=wasm32-wasi` and made a component with the WASI preview1 reactor adapter.
//
// Configuration (`--sink-config key=value`): every key is ignored except `fail_on_seq=N`, the
// conformance suite's switch: publish writes the lines of the changes before the first change
// whose `seq` is N, then returns a fatal error naming it.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conduit_json.h"
#include "sink_component.h"

typedef conduit_sink_types_value_t value_t;
typedef conduit_sink_types_datum_t datum_t;
typedef conduit_sink_types_column_t column_t;
typedef conduit_sink_types_relation_t relation_t;
typedef conduit_sink_types_change_t change_t;

static int has_fail_on_seq;
static uint32_t fail_on_seq;
static cj_buf out;

static void set_error(exports_conduit_sink_sink_sink_error_t *err, bool retryable, const char *message) {
  err->retryable = retryable;
  sink_component_string_dup(&err->message, message);
}

static void put_string(cj_buf *b, const sink_component_string_t *s) { cj_str(b, s->ptr, s->len); }

#define TAG_CASES(P)                                                              \
  case P##_INT: cj_i64(b, v->val.int_); break;                                    \
  case P##_FLOAT: cj_float(b, v->val.float_); break;                              \
  case P##_BOOLEAN: cj_puts(b, v->val.boolean ? "true" : "false"); break;         \
  case P##_NUMERIC: put_string(b, &v->val.numeric); break;                        \
  case P##_TEXT: put_string(b, &v->val.text); break;                              \
  case P##_UUID: put_string(b, &v->val.uuid); break;                              \
  case P##_OTHER: put_string(b, &v->val.other); break;                            \
  case P##_BYTES: cj_base64(b, v->val.bytes.ptr, v->val.bytes.len); break;        \
  case P##_JSON: is_json_null = cj_json_text(b, v->val.json.ptr, v->val.json.len); break; \
  case P##_TIMESTAMPTZ:                                                           \
    cj_putc(b, '"');                                                              \
    cj_timestamp(b, v->val.timestamptz);                                          \
    cj_puts(b, "Z\"");                                                            \
    break;                                                                        \
  case P##_TIMESTAMP:                                                             \
    cj_putc(b, '"');                                                              \
    cj_timestamp(b, v->val.timestamp);                                            \
    cj_putc(b, '"');                                                              \
    break;                                                                        \
  case P##_DATE:                                                                  \
    cj_putc(b, '"');                                                              \
    cj_date(b, v->val.date);                                                      \
    cj_putc(b, '"');                                                              \
    break;                                                                        \
  case P##_TIME:                                                                  \
    cj_putc(b, '"');                                                              \
    cj_time(b, v->val.time);                                                      \
    cj_putc(b, '"');                                                              \
    break;

// 1 when the value printed is a json document that is JSON's null (not SQL NULL).
static int datum_json(cj_buf *b, const datum_t *v) {
  int is_json_null = 0;
  switch (v->tag) {
    TAG_CASES(CONDUIT_SINK_TYPES_DATUM)
    default: cj_puts(b, "null"); break;
  }
  return is_json_null;
}

// 1 when the value printed is a json document that is JSON's null (not SQL NULL).
static int value_json(cj_buf *b, const value_t *v) {
  int is_json_null = 0;
  switch (v->tag) {
    TAG_CASES(CONDUIT_SINK_TYPES_VALUE)
    case CONDUIT_SINK_TYPES_VALUE_ARRAY:
      cj_putc(b, '[');
      for (size_t i = 0; i < v->val.array.len; i++) {
        if (i) cj_putc(b, ',');
        datum_json(b, &v->val.array.ptr[i]);
      }
      cj_putc(b, ']');
      break;
    default: cj_puts(b, "null"); break;  // NULL, and unchanged TOAST where it is printed at all
  }
  return is_json_null;
}

static int same_name(const column_t *a, const column_t *b) {
  return a->name.len == b->name.len && memcmp(a->name.ptr, b->name.ptr, a->name.len) == 0;
}

// A row image as an object: unchanged TOAST columns left out, only key columns when key_only. A
// column name that occurs twice keeps its first place and takes the last value (as serde_json's
// ordered map does). The names of the columns printed as JSON's null (not SQL NULL) are appended,
// comma-separated, to json_null.
static void row_json(cj_buf *b, const relation_t *rel, const value_t *values, size_t n, bool key_only,
                     cj_buf *json_null) {
  const column_t *cols = rel->columns.ptr;
  if (n > rel->columns.len) n = rel->columns.len;
  cj_putc(b, '{');
  int first = 1;
  for (size_t i = 0; i < n; i++) {
    if (key_only && !cols[i].key) continue;
    if (values[i].tag == CONDUIT_SINK_TYPES_VALUE_UNCHANGED_TOAST) continue;
    // Written at the first included column of that name, with the last included value.
    size_t k = 0;
    for (; k < i; k++) {
      if (key_only && !cols[k].key) continue;
      if (values[k].tag == CONDUIT_SINK_TYPES_VALUE_UNCHANGED_TOAST) continue;
      if (same_name(&cols[k], &cols[i])) break;
    }
    if (k < i) continue;
    size_t last = i;
    for (size_t j = i + 1; j < n; j++) {
      if (key_only && !cols[j].key) continue;
      if (values[j].tag == CONDUIT_SINK_TYPES_VALUE_UNCHANGED_TOAST) continue;
      if (same_name(&cols[j], &cols[i])) last = j;
    }
    if (!first) cj_putc(b, ',');
    first = 0;
    put_string(b, &cols[i].name);
    cj_putc(b, ':');
    if (value_json(b, &values[last])) {
      if (json_null->len) cj_putc(json_null, ',');
      put_string(json_null, &cols[i].name);
    }
  }
  cj_putc(b, '}');
}

// In wit/sink.wit's order; `read` (contract 0.2.0) is a row an initial snapshot read.
static const char *const OPS[] = {"insert", "update", "delete", "truncate", "read"};
#define N_OPS (sizeof OPS / sizeof OPS[0])

static void change_line(cj_buf *b, const relation_t *rel, const change_t *c) {
  bool truncate = c->op == CONDUIT_SINK_TYPES_OPERATION_TRUNCATE;
  cj_puts(b, "{\"op\":\"");
  cj_puts(b, c->op < N_OPS ? OPS[c->op] : "?");
  cj_puts(b, "\",\"schema\":");
  put_string(b, &rel->schema);
  cj_puts(b, ",\"table\":");
  put_string(b, &rel->name);
  cj_puts(b, ",\"xid\":");
  cj_u64(b, c->xid);
  cj_puts(b, ",\"commit_lsn\":\"");
  cj_lsn(b, c->commit_lsn);
  cj_puts(b, "\",\"end_lsn\":\"");
  cj_lsn(b, c->end_lsn);
  cj_puts(b, "\",\"commit_time\":\"");
  cj_timestamp(b, c->commit_time);
  cj_puts(b, "Z\",\"seq\":");
  cj_u64(b, c->seq);
  cj_buf new_null = {0}, old_null = {0};
  cj_puts(b, ",\"new\":");
  if (c->new_.is_some && !truncate)
    row_json(b, rel, c->new_.val.ptr, c->new_.val.len, false, &new_null);
  else
    cj_puts(b, "null");
  cj_puts(b, ",\"old\":");
  if (c->old.is_some && !truncate)
    row_json(b, rel, c->old.val.values.ptr, c->old.val.values.len, c->old.val.key_only, &old_null);
  else
    cj_puts(b, "null");
  cj_puts(b, ",\"unchanged_toast\":[");
  if (c->new_.is_some && !truncate) {
    size_t n = c->new_.val.len < rel->columns.len ? c->new_.val.len : rel->columns.len;
    int first = 1;
    for (size_t i = 0; i < n; i++) {
      if (c->new_.val.ptr[i].tag != CONDUIT_SINK_TYPES_VALUE_UNCHANGED_TOAST) continue;
      if (!first) cj_putc(b, ',');
      first = 0;
      put_string(b, &rel->columns.ptr[i].name);
    }
  }
  cj_putc(b, ']');
  if (new_null.len || old_null.len) {
    cj_puts(b, ",\"json_null\":{\"new\":[");
    cj_put(b, new_null.ptr, new_null.len);
    cj_puts(b, "],\"old\":[");
    cj_put(b, old_null.ptr, old_null.len);
    cj_puts(b, "]}");
  }
  if (new_null.failed || old_null.failed) b->failed = 1;
  cj_free(&new_null);
  cj_free(&old_null);
  cj_puts(b, "}\n");
}

// Writes and empties the buffer; false when standard output refused it.
static bool flush_out(void) {
  bool ok = !out.failed && fwrite(out.ptr, 1, out.len, stdout) == out.len && fflush(stdout) == 0;
  out.len = 0;
  out.failed = 0;
  return ok;
}

bool exports_conduit_sink_sink_connect(exports_conduit_sink_sink_config_t *config,
                                       exports_conduit_sink_sink_sink_error_t *err) {
  bool ok = true;
  has_fail_on_seq = 0;
  for (size_t i = 0; i < config->len; i++) {
    sink_component_string_t *k = &config->ptr[i].f0, *v = &config->ptr[i].f1;
    if (k->len != 11 || memcmp(k->ptr, "fail_on_seq", 11) != 0) continue;
    uint64_t n = 0;
    bool valid = v->len > 0;
    for (size_t j = 0; j < v->len && valid; j++) {
      if (v->ptr[j] < '0' || v->ptr[j] > '9') valid = false;
      n = n * 10 + (uint64_t)(v->ptr[j] - '0');
      if (n > 4294967295u) valid = false;
    }
    if (!valid) {
      cj_buf m = {0};
      cj_puts(&m, "fail_on_seq must be a number from 0 to 4294967295, got ");
      cj_str(&m, v->ptr, v->len);
      cj_putc(&m, 0);
      set_error(err, false, m.failed ? "fail_on_seq must be a number" : m.ptr);
      cj_free(&m);
      ok = false;
      break;
    }
    has_fail_on_seq = 1;
    fail_on_seq = (uint32_t)n;
  }
  exports_conduit_sink_sink_config_free(config);
  return ok;
}

bool exports_conduit_sink_sink_publish(exports_conduit_sink_sink_batch_t *batch,
                                       exports_conduit_sink_sink_sink_error_t *err) {
  bool ok = true;
  for (size_t i = 0; i < batch->changes.len; i++) {
    const change_t *c = &batch->changes.ptr[i];
    const relation_t *rel = &batch->relations.ptr[c->relation];
    if (has_fail_on_seq && c->seq == fail_on_seq) {
      flush_out();
      cj_buf m = {0};
      char head[96];
      snprintf(head, sizeof head, "fail_on_seq=%u: refusing the change at commit_lsn ", fail_on_seq);
      cj_puts(&m, head);
      cj_lsn(&m, c->commit_lsn);
      snprintf(head, sizeof head, " seq %u of ", c->seq);
      cj_puts(&m, head);
      cj_put(&m, (const char *)rel->schema.ptr, rel->schema.len);
      cj_putc(&m, '.');
      cj_put(&m, (const char *)rel->name.ptr, rel->name.len);
      cj_puts(&m, ", as configured");
      cj_putc(&m, 0);
      set_error(err, false, m.failed ? "fail_on_seq: refusing a change as configured" : m.ptr);
      cj_free(&m);
      ok = false;
      break;
    }
    change_line(&out, rel, c);
  }
  if (ok && !flush_out()) {
    set_error(err, true, "writing to standard output failed");
    ok = false;
  }
  // The callee owns its arguments.
  exports_conduit_sink_sink_batch_free(batch);
  // Do not keep a huge buffer between calls.
  if (out.cap > (8u << 20)) cj_free(&out);
  return ok;
}

bool exports_conduit_sink_sink_close(exports_conduit_sink_sink_sink_error_t *err) {
  if (fflush(stdout) != 0) {
    set_error(err, true, "writing to standard output failed");
    return false;
  }
  cj_free(&out);
  return true;
}
