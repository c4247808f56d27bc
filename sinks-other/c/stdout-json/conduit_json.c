// The stdout-json line format in C (see conduit_json.h). JSON documents are PostgreSQL's text
// without whitespace between tokens and every double is printed as serde_json 1.0.154 prints it,
// so the output matches the Rust sink byte for byte.

#include "conduit_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Buffer

void cj_reserve(cj_buf *b, size_t extra) {
  if (b->failed || b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  char *p = realloc(b->ptr, cap);
  if (!p) {
    b->failed = 1;
    return;
  }
  b->ptr = p;
  b->cap = cap;
}

void cj_put(cj_buf *b, const char *s, size_t n) {
  cj_reserve(b, n);
  if (b->failed) return;
  memcpy(b->ptr + b->len, s, n);
  b->len += n;
}

void cj_puts(cj_buf *b, const char *s) { cj_put(b, s, strlen(s)); }

void cj_putc(cj_buf *b, char c) {
  cj_reserve(b, 1);
  if (b->failed) return;
  b->ptr[b->len++] = c;
}

void cj_free(cj_buf *b) {
  free(b->ptr);
  b->ptr = NULL;
  b->len = b->cap = 0;
  b->failed = 0;
}

void cj_i64(cj_buf *b, int64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
  cj_put(b, tmp, (size_t)n);
}

void cj_u64(cj_buf *b, uint64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
  cj_put(b, tmp, (size_t)n);
}

// ---------------------------------------------------------------------------------------------
// Strings

static const char HEX[] = "0123456789abcdef";

void cj_str(cj_buf *b, const uint8_t *s, size_t n) {
  cj_reserve(b, n + 2);
  cj_putc(b, '"');
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    cj_put(b, (const char *)s + start, i - start);
    start = i + 1;
    switch (c) {
      case '"': cj_put(b, "\\\"", 2); break;
      case '\\': cj_put(b, "\\\\", 2); break;
      case '\n': cj_put(b, "\\n", 2); break;
      case '\r': cj_put(b, "\\r", 2); break;
      case '\t': cj_put(b, "\\t", 2); break;
      case '\b': cj_put(b, "\\b", 2); break;
      case '\f': cj_put(b, "\\f", 2); break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', HEX[c >> 4], HEX[c & 15]};
        cj_put(b, esc, 6);
      }
    }
  }
  cj_put(b, (const char *)s + start, n - start);
  cj_putc(b, '"');
}

// ---------------------------------------------------------------------------------------------
// Floats: the shortest digits that read back as the same double, printed as serde_json does

// Digits of `v` (no leading zeros) into `out`; returns their count.
static int u64_digits(uint64_t v, char *out) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

// For f > 0 finite: the shortest round-trip digits (trailing zeros removed) and the decimal
// exponent of the first digit. Among candidates of the shortest length, the closest to f (what
// printf's correctly rounded %.*e gives, or at a power of two, where the interval of values that
// read back as f is lopsided, its neighbour on the wide side).
static int shortest(double f, char *digits, int *x) {
  char buf[48];
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, sizeof buf, "%.*e", p - 1, f);
    char *e = strchr(buf, 'e');
    int exp10 = atoi(e + 1);
    uint64_t d = 0;
    for (char *c = buf; c < e; c++)
      if (*c >= '0' && *c <= '9') d = d * 10 + (uint64_t)(*c - '0');
    uint64_t cands[3] = {d, d + 1, d - 1};
    for (int k = 0; k < 3; k++) {
      uint64_t c = cands[k];
      if (c == 0) continue;
      char s[48];
      int q = exp10 - (p - 1);  // value = c * 10^q
      snprintf(s, sizeof s, "%llue%d", (unsigned long long)c, q);
      if (strtod(s, NULL) != f) continue;
      int n = u64_digits(c, digits);
      *x = q + n - 1;
      while (n > 1 && digits[n - 1] == '0') n--;
      return n;
    }
  }
  // Not reached: 17 significant digits always round-trip.
  snprintf(buf, sizeof buf, "%.16e", f);
  return 0;
}

static void fmt_float(cj_buf *b, double f) {
  if (f == 0.0) {
    cj_puts(b, signbit(f) ? "-0.0" : "0.0");
    return;
  }
  if (f < 0) {
    cj_putc(b, '-');
    f = -f;
  }
  char digits[24];
  int x = 0;
  int n = shortest(f, digits, &x);
  if (x >= -5 && x <= 15) {
    if (x >= 0) {
      for (int i = 0; i <= x; i++) cj_putc(b, i < n ? digits[i] : '0');
      cj_putc(b, '.');
      if (n > x + 1)
        cj_put(b, digits + x + 1, (size_t)(n - x - 1));
      else
        cj_putc(b, '0');
    } else {
      cj_put(b, "0.", 2);
      for (int i = 0; i < -x - 1; i++) cj_putc(b, '0');
      cj_put(b, digits, (size_t)n);
    }
    return;
  }
  cj_putc(b, digits[0]);
  if (n > 1) {
    cj_putc(b, '.');
    cj_put(b, digits + 1, (size_t)(n - 1));
  }
  cj_putc(b, 'e');
  cj_putc(b, x > 0 ? '+' : '-');
  cj_i64(b, x > 0 ? x : -x);
}

void cj_float(cj_buf *b, double f) {
  if (isnan(f))
    cj_puts(b, "\"NaN\"");
  else if (isinf(f))
    cj_puts(b, f > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  else
    fmt_float(b, f);
}

// ---------------------------------------------------------------------------------------------
// JSON documents: PostgreSQL's text without the whitespace between tokens (guest-sdk/src/line.rs
// `compact_json`): duplicate keys, every digit and escapes stay as written.

static size_t skip_ws(const uint8_t *s, size_t n, size_t i) {
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
  return i;
}

static int is_hex(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The index past the string at i (its opening quote), or 0 when it is not one (0 is never a
// valid end).
static size_t scan_string(const uint8_t *s, size_t n, size_t i) {
  size_t j = i + 1;
  for (;;) {
    if (j >= n) return 0;
    uint8_t c = s[j];
    if (c == '"') return j + 1;
    if (c == '\\') {
      uint8_t e = j + 1 < n ? s[j + 1] : 0;
      if (e && strchr("\"\\/bfnrt", e)) {
        j += 2;
      } else if (e == 'u' && j + 6 <= n && is_hex(s[j + 2]) && is_hex(s[j + 3]) && is_hex(s[j + 4]) &&
                 is_hex(s[j + 5])) {
        j += 6;
      } else {
        return 0;
      }
    } else if (c < 0x20) {
      return 0;
    } else {
      j++;
    }
  }
}

static size_t scan_digits(const uint8_t *s, size_t n, size_t j) {
  size_t start = j;
  while (j < n && s[j] >= '0' && s[j] <= '9') j++;
  return j > start ? j : 0;
}

static size_t scan_number(const uint8_t *s, size_t n, size_t i) {
  size_t j = s[i] == '-' ? i + 1 : i;
  j = (j < n && s[j] == '0') ? j + 1 : scan_digits(s, n, j);
  if (!j) return 0;
  if (j < n && s[j] == '.') {
    j = scan_digits(s, n, j + 1);
    if (!j) return 0;
  }
  if (j < n && (s[j] == 'e' || s[j] == 'E')) {
    j++;
    if (j < n && (s[j] == '+' || s[j] == '-')) j++;
    j = scan_digits(s, n, j);
  }
  return j;
}

// "key" and ':' of a member at i, into out; the index of its value, or 0.
static size_t member_key(const uint8_t *s, size_t n, size_t i, cj_buf *out) {
  if (i >= n || s[i] != '"') return 0;
  size_t j = scan_string(s, n, i);
  if (!j) return 0;
  cj_put(out, (const char *)s + i, j - i);
  size_t k = skip_ws(s, n, j);
  if (k >= n || s[k] != ':') return 0;
  cj_putc(out, ':');
  return skip_ws(s, n, k + 1);
}

// The compact text of one JSON document into out; 0 when it is one, -1 when not.
static int compact_json(const uint8_t *s, size_t n, cj_buf *out) {
  cj_buf open = {0};  // the open containers, '{' or '[', innermost last
  int ok = -1;
  size_t i = skip_ws(s, n, 0);
  for (;;) {
    if (i >= n) goto done;
    uint8_t c = s[i];
    if (c == '{' || c == '[') {
      char close = c == '{' ? '}' : ']';
      cj_putc(out, (char)c);
      cj_putc(&open, (char)c);
      i = skip_ws(s, n, i + 1);
      if (i < n && s[i] == (uint8_t)close) {
        cj_putc(out, close);
        open.len--;
        i++;
      } else {
        if (close == '}' && !(i = member_key(s, n, i, out))) goto done;
        continue;
      }
    } else if (c == '"') {
      size_t j = scan_string(s, n, i);
      if (!j) goto done;
      cj_put(out, (const char *)s + i, j - i);
      i = j;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = scan_number(s, n, i);
      if (!j) goto done;
      cj_put(out, (const char *)s + i, j - i);
      i = j;
    } else {
      static const char *const WORDS[] = {"true", "false", "null"};
      const char *word = NULL;
      for (int w = 0; w < 3 && !word; w++) {
        size_t len = strlen(WORDS[w]);
        if (n - i >= len && memcmp(s + i, WORDS[w], len) == 0) word = WORDS[w];
      }
      if (!word) goto done;
      cj_puts(out, word);
      i += strlen(word);
    }
    for (;;) {
      i = skip_ws(s, n, i);
      if (open.len == 0) {
        if (i == n && !open.failed) ok = 0;
        goto done;
      }
      char container = open.ptr[open.len - 1];
      char close = container == '{' ? '}' : ']';
      if (i < n && s[i] == ',') {
        cj_putc(out, ',');
        i = skip_ws(s, n, i + 1);
        if (container == '{' && !(i = member_key(s, n, i, out))) goto done;
        break;
      }
      if (i >= n || s[i] != (uint8_t)close) goto done;
      cj_putc(out, close);
      open.len--;
      i++;
    }
  }
done:
  cj_free(&open);
  return ok;
}

int cj_json_text(cj_buf *b, const uint8_t *s, size_t n) {
  cj_buf tmp = {0};
  int json_null = 0;
  if (compact_json(s, n, &tmp) == 0 && !tmp.failed) {
    cj_put(b, tmp.ptr, tmp.len);
    json_null = tmp.len == 4 && memcmp(tmp.ptr, "null", 4) == 0;
  } else {
    cj_str(b, s, n);
  }
  cj_free(&tmp);
  return json_null;
}

// ---------------------------------------------------------------------------------------------
// base64, dates, times, LSNs

void cj_base64(cj_buf *b, const uint8_t *s, size_t n) {
  static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  cj_reserve(b, (n + 2) / 3 * 4 + 2);
  cj_putc(b, '"');
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8) | s[i + 2];
    char q[4] = {T[v >> 18], T[(v >> 12) & 63], T[(v >> 6) & 63], T[v & 63]};
    cj_put(b, q, 4);
  }
  if (i < n) {
    uint32_t v = ((uint32_t)s[i] << 16) | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
    char q[4] = {T[v >> 18], T[(v >> 12) & 63], i + 1 < n ? T[(v >> 6) & 63] : '=', '='};
    cj_put(b, q, 4);
  }
  cj_putc(b, '"');
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

static void civil_from_days(int64_t days, int64_t *year, int *month, int *day) {
  int64_t z = days + 719468;
  int64_t era = floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *day = (int)(doy - (153 * mp + 2) / 5 + 1);
  *month = (int)(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

void cj_date(cj_buf *b, int64_t days) {
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  char tmp[40];
  int n;
  if (y >= 0 && y <= 9999)
    n = snprintf(tmp, sizeof tmp, "%04lld-%02d-%02d", (long long)y, m, d);
  else if (y >= 10000)
    n = snprintf(tmp, sizeof tmp, "+%lld-%02d-%02d", (long long)y, m, d);
  else
    n = snprintf(tmp, sizeof tmp, "-%04lld-%02d-%02d", (long long)-y, m, d);
  cj_put(b, tmp, (size_t)n);
}

static void clock_(cj_buf *b, uint64_t micros) {
  uint64_t seconds = micros / 1000000, fraction = micros % 1000000;
  char tmp[48];
  int n = snprintf(tmp, sizeof tmp, "%02llu:%02llu:%02llu.%06llu", (unsigned long long)(seconds / 3600),
                   (unsigned long long)(seconds / 60 % 60), (unsigned long long)(seconds % 60),
                   (unsigned long long)fraction);
  cj_put(b, tmp, (size_t)n);
}

void cj_time(cj_buf *b, int64_t micros) {
  if (micros < 0) {
    cj_putc(b, '-');
    clock_(b, (uint64_t)0 - (uint64_t)micros);
  } else {
    clock_(b, (uint64_t)micros);
  }
}

void cj_timestamp(cj_buf *b, int64_t micros) {
  const int64_t day = 86400000000LL;
  int64_t q = micros / day, r = micros % day;
  if (r < 0) {
    q--;
    r += day;
  }
  cj_date(b, q);
  cj_putc(b, 'T');
  clock_(b, (uint64_t)r);
}

void cj_lsn(cj_buf *b, uint64_t lsn) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xFFFFFFFFu));
  cj_put(b, tmp, (size_t)n);
}
