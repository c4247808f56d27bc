// The stdout-json line format in C (see conduit_json.h). Numbers in JSON documents are read with
// serde_json 1.0's algorithm (without `float_roundtrip`) and every double is printed as
// serde_json 1.0.154 prints it, so the output matches the Rust sink byte for byte.

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
// JSON documents, parsed as serde_json parses them

typedef struct {
  const uint8_t *s;
  size_t i, n;
  int depth;
} parser;

#define BAD (-1)

static double POW10[309];
static int pow10_ready;

static void init_pow10(void) {
  if (pow10_ready) return;
  char tmp[16];
  for (int i = 0; i < 309; i++) {
    snprintf(tmp, sizeof tmp, "1e%d", i);
    POW10[i] = strtod(tmp, NULL);
  }
  pow10_ready = 1;
}

static int peekc(parser *p) { return p->i < p->n ? p->s[p->i] : -1; }
static int digit(parser *p) {
  int c = peekc(p);
  return c >= '0' && c <= '9' ? c - '0' : -1;
}
static void ws(parser *p) {
  while (p->i < p->n) {
    uint8_t c = p->s[p->i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      p->i++;
    else
      break;
  }
}

static int f64_from_parts(int positive, uint64_t significand, int32_t exponent, double *out) {
  double f = (double)significand;
  for (;;) {
    int32_t a = exponent < 0 ? -exponent : exponent;
    if (exponent != INT32_MIN && a < 309) {
      if (exponent >= 0) {
        f *= POW10[a];
        if (isinf(f)) return BAD;
      } else {
        f /= POW10[a];
      }
      break;
    }
    if (f == 0.0) break;
    if (exponent >= 0) return BAD;
    f /= 1e308;
    exponent += 308;
  }
  *out = positive ? f : -f;
  return 0;
}

static int overflows_u64(uint64_t sig, int d) {
  return sig >= UINT64_MAX / 10 && (sig > UINT64_MAX / 10 || (uint64_t)d > UINT64_MAX % 10);
}

static int parse_exponent(parser *p, int positive, uint64_t significand, int32_t starting, double *out) {
  p->i++;
  int positive_exp = 1;
  int c = peekc(p);
  if (c == '+') {
    p->i++;
  } else if (c == '-') {
    p->i++;
    positive_exp = 0;
  }
  int d = digit(p);
  if (d < 0) return BAD;
  p->i++;
  int32_t exp = d;
  while ((d = digit(p)) >= 0) {
    p->i++;
    if (exp >= INT32_MAX / 10 && (exp > INT32_MAX / 10 || d > INT32_MAX % 10)) {
      if (significand != 0 && positive_exp) return BAD;
      while (digit(p) >= 0) p->i++;
      *out = positive ? 0.0 : -0.0;
      return 0;
    }
    exp = exp * 10 + d;
  }
  int64_t final = positive_exp ? (int64_t)starting + exp : (int64_t)starting - exp;
  if (final > INT32_MAX) final = INT32_MAX;
  if (final < INT32_MIN) final = INT32_MIN;
  return f64_from_parts(positive, significand, (int32_t)final, out);
}

static int parse_decimal(parser *p, int positive, uint64_t significand, int32_t before, double *out) {
  p->i++;
  int32_t after = 0;
  int seen = 0;
  int d;
  while ((d = digit(p)) >= 0) {
    seen = 1;
    if (overflows_u64(significand, d)) {
      while (digit(p) >= 0) p->i++;  // further digits are ignored
      break;
    }
    p->i++;
    significand = significand * 10 + (uint64_t)d;
    after--;
  }
  if (!seen) return BAD;
  int32_t exponent = before + after;
  int c = peekc(p);
  if (c == 'e' || c == 'E') return parse_exponent(p, positive, significand, exponent, out);
  return f64_from_parts(positive, significand, exponent, out);
}

static int parse_long_integer(parser *p, int positive, uint64_t significand, double *out) {
  int32_t exponent = 0;
  while (digit(p) >= 0) {
    p->i++;
    exponent++;
  }
  int c = peekc(p);
  if (c == '.') return parse_decimal(p, positive, significand, exponent, out);
  if (c == 'e' || c == 'E') return parse_exponent(p, positive, significand, exponent, out);
  return f64_from_parts(positive, significand, exponent, out);
}

static int parse_number(parser *p, cj_buf *out) {
  int positive = 1;
  if (peekc(p) == '-') {
    p->i++;
    positive = 0;
  }
  int d = digit(p);
  if (d < 0) return BAD;
  p->i++;
  uint64_t significand = (uint64_t)d;
  double f;
  if (d == 0) {
    if (digit(p) >= 0) return BAD;
  } else {
    while ((d = digit(p)) >= 0) {
      if (overflows_u64(significand, d)) {
        if (parse_long_integer(p, positive, significand, &f)) return BAD;
        fmt_float(out, f);
        return 0;
      }
      p->i++;
      significand = significand * 10 + (uint64_t)d;
    }
  }
  int c = peekc(p);
  if (c == '.' || c == 'e' || c == 'E') {
    int r = c == '.' ? parse_decimal(p, positive, significand, 0, &f)
                     : parse_exponent(p, positive, significand, 0, &f);
    if (r) return BAD;
    fmt_float(out, f);
    return 0;
  }
  if (positive) {
    cj_u64(out, significand);
  } else if (significand == 0 || significand > ((uint64_t)1 << 63)) {
    fmt_float(out, -(double)significand);
  } else {
    cj_putc(out, '-');
    cj_u64(out, significand);
  }
  return 0;
}

static int hex4(parser *p, uint32_t *v) {
  if (p->n - p->i < 4) return BAD;
  uint32_t r = 0;
  for (int k = 0; k < 4; k++) {
    int c = p->s[p->i + k];
    int h = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (h < 0) return BAD;
    r = r * 16 + (uint32_t)h;
  }
  p->i += 4;
  *v = r;
  return 0;
}

static void put_utf8(cj_buf *b, uint32_t cp) {
  char u[4];
  if (cp < 0x80) {
    cj_putc(b, (char)cp);
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    cj_put(b, u, 2);
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    cj_put(b, u, 3);
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    cj_put(b, u, 4);
  }
}

// The string at p->i (its opening quote), unescaped into `raw`.
static int parse_string(parser *p, cj_buf *raw) {
  p->i++;
  size_t start = p->i;
  for (;;) {
    if (p->i >= p->n) return BAD;
    uint8_t c = p->s[p->i];
    if (c == '"') {
      cj_put(raw, (const char *)p->s + start, p->i - start);
      p->i++;
      return 0;
    }
    if (c == '\\') {
      cj_put(raw, (const char *)p->s + start, p->i - start);
      if (p->i + 1 >= p->n) return BAD;
      uint8_t e = p->s[p->i + 1];
      p->i += 2;
      switch (e) {
        case '"': cj_putc(raw, '"'); break;
        case '\\': cj_putc(raw, '\\'); break;
        case '/': cj_putc(raw, '/'); break;
        case 'b': cj_putc(raw, '\b'); break;
        case 'f': cj_putc(raw, '\f'); break;
        case 'n': cj_putc(raw, '\n'); break;
        case 'r': cj_putc(raw, '\r'); break;
        case 't': cj_putc(raw, '\t'); break;
        case 'u': {
          uint32_t cp;
          if (hex4(p, &cp)) return BAD;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return BAD;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u') return BAD;
            p->i += 2;
            if (hex4(p, &lo)) return BAD;
            if (lo < 0xDC00 || lo > 0xDFFF) return BAD;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          put_utf8(raw, cp);
          break;
        }
        default:
          return BAD;
      }
      start = p->i;
      continue;
    }
    if (c < 0x20) return BAD;
    p->i++;
  }
}

static int parse_value(parser *p, cj_buf *out);

typedef struct {
  cj_buf key;  // the key's JSON literal
  cj_buf val;  // the value's compact text
} member;

static int parse_object(parser *p, cj_buf *out) {
  if (--p->depth == 0) return BAD;
  p->i++;
  member *m = NULL;
  size_t count = 0, cap = 0;
  int r = 0;
  ws(p);
  if (peekc(p) == '}') {
    p->i++;
  } else {
    for (;;) {
      ws(p);
      if (peekc(p) != '"') {
        r = BAD;
        break;
      }
      cj_buf raw = {0};
      if (parse_string(p, &raw)) {
        cj_free(&raw);
        r = BAD;
        break;
      }
      cj_buf key = {0};
      cj_str(&key, (const uint8_t *)raw.ptr, raw.len);
      cj_free(&raw);
      ws(p);
      if (peekc(p) != ':') {
        cj_free(&key);
        r = BAD;
        break;
      }
      p->i++;
      cj_buf val = {0};
      if (parse_value(p, &val)) {
        cj_free(&key);
        cj_free(&val);
        r = BAD;
        break;
      }
      // A repeated key keeps its place and takes the last value.
      size_t k = 0;
      for (; k < count; k++)
        if (m[k].key.len == key.len && memcmp(m[k].key.ptr, key.ptr, key.len) == 0) break;
      if (k < count) {
        cj_free(&m[k].val);
        m[k].val = val;
        cj_free(&key);
      } else {
        if (count == cap) {
          cap = cap ? cap * 2 : 8;
          member *grown = realloc(m, cap * sizeof *m);
          if (!grown) {
            cj_free(&key);
            cj_free(&val);
            r = BAD;
            break;
          }
          m = grown;
        }
        m[count].key = key;
        m[count].val = val;
        count++;
      }
      ws(p);
      int c = peekc(p);
      p->i++;
      if (c == ',') continue;
      if (c == '}') break;
      r = BAD;
      break;
    }
  }
  if (r == 0) {
    cj_putc(out, '{');
    for (size_t k = 0; k < count; k++) {
      if (k) cj_putc(out, ',');
      cj_put(out, m[k].key.ptr, m[k].key.len);
      cj_putc(out, ':');
      cj_put(out, m[k].val.ptr, m[k].val.len);
    }
    cj_putc(out, '}');
  }
  for (size_t k = 0; k < count; k++) {
    cj_free(&m[k].key);
    cj_free(&m[k].val);
  }
  free(m);
  p->depth++;
  return r;
}

static int parse_array(parser *p, cj_buf *out) {
  if (--p->depth == 0) return BAD;
  p->i++;
  cj_putc(out, '[');
  ws(p);
  if (peekc(p) == ']') {
    p->i++;
  } else {
    for (int first = 1;; first = 0) {
      if (!first) cj_putc(out, ',');
      if (parse_value(p, out)) return BAD;
      ws(p);
      int c = peekc(p);
      p->i++;
      if (c == ',') continue;
      if (c == ']') break;
      return BAD;
    }
  }
  cj_putc(out, ']');
  p->depth++;
  return 0;
}

static int literal(parser *p, const char *w, cj_buf *out) {
  size_t n = strlen(w);
  if (p->n - p->i < n || memcmp(p->s + p->i, w, n) != 0) return BAD;
  p->i += n;
  cj_put(out, w, n);
  return 0;
}

static int parse_value(parser *p, cj_buf *out) {
  ws(p);
  int c = peekc(p);
  switch (c) {
    case '{': return parse_object(p, out);
    case '[': return parse_array(p, out);
    case '"': {
      cj_buf raw = {0};
      int r = parse_string(p, &raw);
      if (r == 0) cj_str(out, (const uint8_t *)raw.ptr, raw.len);
      cj_free(&raw);
      return r;
    }
    case 't': return literal(p, "true", out);
    case 'f': return literal(p, "false", out);
    case 'n': return literal(p, "null", out);
    default:
      if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, out);
      return BAD;
  }
}

void cj_json_text(cj_buf *b, const uint8_t *s, size_t n) {
  init_pow10();
  parser p = {s, 0, n, 128};
  cj_buf tmp = {0};
  int r = parse_value(&p, &tmp);
  if (r == 0) {
    ws(&p);
    if (p.i != p.n) r = BAD;
  }
  if (r == 0 && !tmp.failed)
    cj_put(b, tmp.ptr, tmp.len);
  else
    cj_str(b, s, n);
  cj_free(&tmp);
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
