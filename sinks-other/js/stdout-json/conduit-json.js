// The stdout-json line format (guest-sdk/src/json.rs) in JavaScript, byte for byte.
//
// Pure functions over jco's representation of the WIT types (variants are {tag, val}; s64/u64
// are BigInt; list<u8> is a Uint8Array; option<T> is T or undefined), so they can be tested
// under node as well. JSON documents are read the way serde_json 1.0 (without `float_roundtrip`)
// reads them and written the way it writes them, as the Rust sink does.

// ---------------------------------------------------------------------------------------------
// Strings and floats as serde_json writes them

const ESC = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
const NEEDS = /["\\\u0000-\u001f]/;
const NEEDS_G = /["\\\u0000-\u001f]/g;
function escOne(c) {
  return ESC[c] ?? '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
}

export function jstr(s) {
  return NEEDS.test(s) ? '"' + s.replace(NEEDS_G, escOne) + '"' : '"' + s + '"';
}

// A finite double as serde_json 1.0.154 (zmij) prints it: shortest round-trip digits, fixed
// notation when the decimal exponent is in -5..=15 (".0" for integers), else d.ddde+X / d.ddde-X.
export function fmtFloat(f) {
  if (f === 0) return Object.is(f, -0) ? '-0.0' : '0.0';
  let sign = '';
  if (f < 0) { sign = '-'; f = -f; }
  // toExponential() without an argument gives as many digits as needed to be unique: the
  // shortest round-trip digits, like toString(), always in d.ddde±x form.
  const e = f.toExponential();
  const at = e.indexOf('e');
  const digits = e.slice(0, at).replace('.', '');
  const x = parseInt(e.slice(at + 1), 10);
  if (x >= -5 && x <= 15) {
    if (x >= 0) {
      const whole = digits.slice(0, x + 1).padEnd(x + 1, '0');
      const frac = digits.slice(x + 1) || '0';
      return sign + whole + '.' + frac;
    }
    return sign + '0.' + '0'.repeat(-x - 1) + digits;
  }
  const body = digits[0] + (digits.length > 1 ? '.' + digits.slice(1) : '');
  return sign + body + 'e' + (x > 0 ? '+' : '-') + Math.abs(x);
}

export function floatJson(f) {
  if (Number.isNaN(f)) return '"NaN"';
  if (f === Infinity) return '"Infinity"';
  if (f === -Infinity) return '"-Infinity"';
  return fmtFloat(f);
}

// ---------------------------------------------------------------------------------------------
// JSON documents: parsed as serde_json parses them, printed compactly

const BAD = new Error('not JSON serde_json accepts');
const POW10 = Array.from({ length: 309 }, (_, i) => Number('1e' + i));
const U64_MAX = (1n << 64n) - 1n;
const I32_MAX = 2147483647;

function f64FromParts(positive, significand, exponent) {
  let f = Number(significand); // BigInt -> nearest double, ties to even (as `u64 as f64`)
  for (;;) {
    if (Math.abs(exponent) < 309) {
      if (exponent >= 0) {
        f *= POW10[exponent];
        if (!Number.isFinite(f)) throw BAD;
      } else {
        f /= POW10[-exponent];
      }
      break;
    }
    if (f === 0) break;
    if (exponent >= 0) throw BAD;
    f /= 1e308;
    exponent += 308;
  }
  return positive ? f : -f;
}

class Parser {
  constructor(s) { this.s = s; this.i = 0; this.depth = 128; }
  peek() { return this.i < this.s.length ? this.s[this.i] : ''; }
  digit() {
    const c = this.s.charCodeAt(this.i);
    return c >= 48 && c <= 57 ? c - 48 : -1;
  }
  ws() {
    const s = this.s;
    let i = this.i;
    while (i < s.length) {
      const c = s[i];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++; else break;
    }
    this.i = i;
  }
  value() {
    this.ws();
    const c = this.peek();
    if (c === '{') return this.obj();
    if (c === '[') return this.arr();
    if (c === '"') return jstr(this.string());
    if (c === '-' || (c >= '0' && c <= '9' && c !== '')) return this.number();
    for (const w of ['true', 'false', 'null']) {
      if (this.s.startsWith(w, this.i)) { this.i += w.length; return w; }
    }
    throw BAD;
  }
  enter() { if (--this.depth === 0) throw BAD; }
  obj() {
    this.enter();
    this.i++;
    const members = new Map(); // a repeated key keeps its place and takes the last value
    this.ws();
    if (this.peek() === '}') {
      this.i++;
    } else {
      for (;;) {
        this.ws();
        if (this.peek() !== '"') throw BAD;
        const key = this.string();
        this.ws();
        if (this.peek() !== ':') throw BAD;
        this.i++;
        members.set(key, this.value());
        this.ws();
        const c = this.peek();
        this.i++;
        if (c === ',') continue;
        if (c === '}') break;
        throw BAD;
      }
    }
    this.depth++;
    const parts = [];
    for (const [k, v] of members) parts.push(jstr(k) + ':' + v);
    return '{' + parts.join(',') + '}';
  }
  arr() {
    this.enter();
    this.i++;
    const items = [];
    this.ws();
    if (this.peek() === ']') {
      this.i++;
    } else {
      for (;;) {
        items.push(this.value());
        this.ws();
        const c = this.peek();
        this.i++;
        if (c === ',') continue;
        if (c === ']') break;
        throw BAD;
      }
    }
    this.depth++;
    return '[' + items.join(',') + ']';
  }
  hex4() {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) throw BAD;
    this.i += 4;
    return parseInt(h, 16);
  }
  string() {
    const s = this.s;
    this.i++;
    let out = '';
    let start = this.i;
    for (;;) {
      const i = this.i;
      if (i >= s.length) throw BAD;
      const c = s.charCodeAt(i);
      if (c === 34) { // "
        out += s.slice(start, i);
        this.i = i + 1;
        return out;
      }
      if (c === 92) { // backslash
        out += s.slice(start, i);
        if (i + 1 >= s.length) throw BAD;
        const e = s[i + 1];
        this.i = i + 2;
        if (e === 'u') {
          let cp = this.hex4();
          if (cp >= 0xdc00 && cp <= 0xdfff) throw BAD;
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (s.slice(this.i, this.i + 2) !== '\\u') throw BAD;
            this.i += 2;
            const lo = this.hex4();
            if (lo < 0xdc00 || lo > 0xdfff) throw BAD;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          out += String.fromCodePoint(cp);
        } else {
          const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
          if (simple === undefined) throw BAD;
          out += simple;
        }
        start = this.i;
        continue;
      }
      if (c < 0x20) throw BAD;
      this.i = i + 1;
    }
  }
  number() {
    let positive = true;
    if (this.peek() === '-') { this.i++; positive = false; }
    let d = this.digit();
    if (d < 0) throw BAD;
    this.i++;
    let significand = BigInt(d);
    if (d === 0) {
      if (this.digit() >= 0) throw BAD;
    } else {
      for (;;) {
        d = this.digit();
        if (d < 0) break;
        const next = significand * 10n + BigInt(d);
        if (next > U64_MAX) return fmtFloat(this.longInteger(positive, significand));
        this.i++;
        significand = next;
      }
    }
    const c = this.peek();
    if (c === '.') return fmtFloat(this.decimal(positive, significand, 0));
    if (c === 'e' || c === 'E') return fmtFloat(this.exponent(positive, significand, 0));
    if (positive) return significand.toString();
    if (significand === 0n || significand > (1n << 63n)) return fmtFloat(-Number(significand));
    return (-significand).toString();
  }
  longInteger(positive, significand) {
    let exponent = 0;
    while (this.digit() >= 0) { this.i++; exponent++; }
    const c = this.peek();
    if (c === '.') return this.decimal(positive, significand, exponent);
    if (c === 'e' || c === 'E') return this.exponent(positive, significand, exponent);
    return f64FromParts(positive, significand, exponent);
  }
  decimal(positive, significand, before) {
    this.i++;
    let after = 0;
    let seen = false;
    for (;;) {
      const d = this.digit();
      if (d < 0) break;
      seen = true;
      const next = significand * 10n + BigInt(d);
      if (next > U64_MAX) {
        while (this.digit() >= 0) this.i++; // further digits are ignored
        break;
      }
      this.i++;
      significand = next;
      after--;
    }
    if (!seen) throw BAD;
    const exponent = before + after;
    const c = this.peek();
    if (c === 'e' || c === 'E') return this.exponent(positive, significand, exponent);
    return f64FromParts(positive, significand, exponent);
  }
  exponent(positive, significand, starting) {
    this.i++;
    let positiveExp = true;
    const c = this.peek();
    if (c === '+') this.i++;
    else if (c === '-') { this.i++; positiveExp = false; }
    let d = this.digit();
    if (d < 0) throw BAD;
    this.i++;
    let exp = d;
    for (;;) {
      d = this.digit();
      if (d < 0) break;
      this.i++;
      if (exp * 10 + d > I32_MAX) {
        if (significand !== 0n && positiveExp) throw BAD;
        while (this.digit() >= 0) this.i++;
        return positive ? 0 : -0;
      }
      exp = exp * 10 + d;
    }
    let final = positiveExp ? starting + exp : starting - exp;
    final = Math.max(-2147483648, Math.min(I32_MAX, final));
    return f64FromParts(positive, significand, final);
  }
}

// The compact form of a JSON document, or the text as a JSON string when serde_json would not
// accept it.
export function jsonText(s) {
  const p = new Parser(s);
  try {
    const out = p.value();
    p.ws();
    if (p.i !== s.length) throw BAD;
    return out;
  } catch (e) {
    if (e === BAD || e instanceof RangeError) return jstr(s);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Dates and times (guest-sdk/src/format.rs), on BigInt so every s64 is exact

const US_PER_DAY = 86400000000n;
const US_PER_SECOND = 1000000n;

function floorDiv(a, b) { const q = a / b; return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q; }
function floorMod(a, b) { return a - floorDiv(a, b) * b; }

function civilFromDays(days) { // days: Number (|days| < 2^53)
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return [year, month, day];
}

const p2 = (n) => (n < 10 ? '0' + n : '' + n);

export function fmtDate(days) {
  const [y, m, d] = civilFromDays(Number(days));
  const md = '-' + p2(m) + '-' + p2(d);
  if (y >= 0 && y <= 9999) return String(y).padStart(4, '0') + md;
  if (y >= 10000) return '+' + y + md;
  return '-' + String(-y).padStart(4, '0') + md;
}

function clock(micros) { // micros: BigInt >= 0
  const seconds = micros / US_PER_SECOND;
  const fraction = micros % US_PER_SECOND;
  return (seconds / 3600n).toString().padStart(2, '0') + ':' + p2(Number(seconds / 60n % 60n)) + ':' +
    p2(Number(seconds % 60n)) + '.' + fraction.toString().padStart(6, '0');
}

export function fmtTime(micros) {
  return micros < 0n ? '-' + clock(-micros) : clock(micros);
}

export function fmtTimestamp(micros) {
  return fmtDate(floorDiv(micros, US_PER_DAY)) + 'T' + clock(floorMod(micros, US_PER_DAY));
}

export function fmtLsn(lsn) { // BigInt
  return (lsn >> 32n).toString(16).toUpperCase() + '/' + (lsn & 0xffffffffn).toString(16).toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// Values and lines

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64(b) {
  let out = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < b.length) {
    const n = (b[i] << 16) | ((i + 1 < b.length ? b[i + 1] : 0) << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < b.length ? B64[(n >> 6) & 63] : '=') + '=';
  }
  return out;
}

export function valueJson(v) {
  switch (v.tag) {
    case 'null':
    case 'unchanged-toast':
      return 'null';
    case 'int':
      return v.val.toString();
    case 'float':
      return floatJson(v.val);
    case 'boolean':
      return v.val ? 'true' : 'false';
    case 'numeric':
    case 'text':
    case 'uuid':
    case 'other':
      return jstr(v.val);
    case 'bytes':
      return '"' + base64(v.val) + '"';
    case 'json':
      return jsonText(v.val);
    case 'timestamptz':
      return '"' + fmtTimestamp(v.val) + 'Z"';
    case 'timestamp':
      return '"' + fmtTimestamp(v.val) + '"';
    case 'date':
      return '"' + fmtDate(v.val) + '"';
    case 'time':
      return '"' + fmtTime(v.val) + '"';
    case 'array':
      return '[' + v.val.map(valueJson).join(',') + ']';
    default:
      throw new Error('unknown value kind ' + v.tag);
  }
}

function row(columns, values, keyOnly) {
  const members = new Map();
  const n = Math.min(columns.length, values.length);
  for (let i = 0; i < n; i++) {
    const col = columns[i];
    const v = values[i];
    if (keyOnly && !col.key) continue;
    if (v.tag === 'unchanged-toast') continue;
    members.set(col.name, valueJson(v));
  }
  const parts = [];
  for (const [k, v] of members) parts.push(jstr(k) + ':' + v);
  return '{' + parts.join(',') + '}';
}

// One line (without the newline) for change `c` of relation `rel`.
export function changeLine(rel, c) {
  const truncate = c.op === 'truncate';
  const cols = rel.columns;
  let neu = 'null';
  const toast = [];
  if (c.new != null && !truncate) {
    neu = row(cols, c.new, false);
    const n = Math.min(cols.length, c.new.length);
    for (let i = 0; i < n; i++) if (c.new[i].tag === 'unchanged-toast') toast.push(jstr(cols[i].name));
  }
  let old = 'null';
  if (c.old != null && !truncate) old = row(cols, c.old.values, c.old.keyOnly);
  return '{"op":"' + c.op + '","schema":' + jstr(rel.schema) + ',"table":' + jstr(rel.name) +
    ',"xid":' + c.xid + ',"commit_lsn":"' + fmtLsn(BigInt(c.commitLsn)) + '","end_lsn":"' +
    fmtLsn(BigInt(c.endLsn)) + '","commit_time":"' + fmtTimestamp(BigInt(c.commitTime)) + 'Z","seq":' +
    c.seq + ',"new":' + neu + ',"old":' + old + ',"unchanged_toast":[' + toast.join(',') + ']}';
}
