// The stdout-json line format (guest-sdk/src/line.rs) in C, byte for byte.
//
// Independent of the generated bindings except for the types they define, so that the formatting
// code can also be compiled natively and tested against serde_json.

#ifndef CONDUIT_JSON_H
#define CONDUIT_JSON_H

#include <stddef.h>
#include <stdint.h>

// A growable byte buffer. On allocation failure `failed` is set and further appends are dropped.
typedef struct {
  char *ptr;
  size_t len;
  size_t cap;
  int failed;
} cj_buf;

void cj_reserve(cj_buf *b, size_t extra);
void cj_put(cj_buf *b, const char *s, size_t n);
void cj_puts(cj_buf *b, const char *s);
void cj_putc(cj_buf *b, char c);
void cj_free(cj_buf *b);

// A JSON string literal of UTF-8 text: only '"', '\\' and control characters are escaped.
void cj_str(cj_buf *b, const uint8_t *s, size_t n);
// A finite double as serde_json prints it; NaN and the infinities as "NaN", "Infinity", "-Infinity".
void cj_float(cj_buf *b, double f);
// A JSON document without the whitespace between its tokens (everything else as written), or the
// text as a JSON string when it is not JSON. Returns 1 when the document is JSON's `null`.
int cj_json_text(cj_buf *b, const uint8_t *s, size_t n);
void cj_base64(cj_buf *b, const uint8_t *s, size_t n);
void cj_date(cj_buf *b, int64_t days);
void cj_time(cj_buf *b, int64_t micros);
void cj_timestamp(cj_buf *b, int64_t micros);
void cj_lsn(cj_buf *b, uint64_t lsn);
void cj_i64(cj_buf *b, int64_t v);
void cj_u64(cj_buf *b, uint64_t v);

#endif
