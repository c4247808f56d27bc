// The stdout-json line format (guest-sdk/src/line.rs) in JavaScript, byte for byte.
//
// Pure functions over jco's representation of the WIT types (variants are {tag, val}; s64/u64
// are BigInt; list<u8> is a Uint8Array; option<T> is T or undefined), so they can be tested
// under node as well. JSON documents are PostgreSQL's text without whitespace between tokens, as
// the Rust sink prints them.

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
// JSON documents: PostgreSQL's text without the whitespace between tokens (guest-sdk/src/line.rs
// `compact_json`): duplicate keys, every digit and escapes stay as written.

function skipWs(s, i) {
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++; else break;
  }
  return i;
}

const isDigit = (s, i) => i < s.length && s[i] >= '0' && s[i] <= '9';

// A string at i (its opening quote); returns the index past its end, or -1.
function scanString(s, i) {
  let j = i + 1;
  for (;;) {
    if (j >= s.length) return -1;
    const c = s[j];
    if (c === '"') return j + 1;
    if (c === '\\') {
      const e = s[j + 1];
      if (e !== undefined && '"\\/bfnrt'.includes(e)) j += 2;
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(j + 2, j + 6))) j += 6;
      else return -1;
    } else if (s.charCodeAt(j) < 0x20) {
      return -1;
    } else {
      j++;
    }
  }
}

function scanDigits(s, j) {
  const start = j;
  while (isDigit(s, j)) j++;
  return j > start ? j : -1;
}

function scanNumber(s, i) {
  let j = s[i] === '-' ? i + 1 : i;
  j = s[j] === '0' ? j + 1 : scanDigits(s, j);
  if (j < 0) return -1;
  if (s[j] === '.') { j = scanDigits(s, j + 1); if (j < 0) return -1; }
  if (s[j] === 'e' || s[j] === 'E') {
    j++;
    if (s[j] === '+' || s[j] === '-') j++;
    j = scanDigits(s, j);
  }
  return j;
}

// The compact text of one JSON document, or null when `s` is not one.
export function compactJson(s) {
  let out = '';
  const open = [];
  let i = skipWs(s, 0);
  const key = () => { // "key" and ':' of a member at i; the index of its value, or -1
    if (s[i] !== '"') return -1;
    const j = scanString(s, i);
    if (j < 0) return -1;
    out += s.slice(i, j);
    const k = skipWs(s, j);
    if (s[k] !== ':') return -1;
    out += ':';
    return skipWs(s, k + 1);
  };
  for (;;) {
    const c = s[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      out += c;
      open.push(c);
      i = skipWs(s, i + 1);
      if (s[i] === close) {
        out += close;
        open.pop();
        i++;
      } else {
        if (close === '}' && (i = key()) < 0) return null;
        continue;
      }
    } else if (c === '"') {
      const j = scanString(s, i);
      if (j < 0) return null;
      out += s.slice(i, j);
      i = j;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const j = scanNumber(s, i);
      if (j < 0) return null;
      out += s.slice(i, j);
      i = j;
    } else {
      const word = ['true', 'false', 'null'].find((w) => s.startsWith(w, i));
      if (word === undefined) return null;
      out += word;
      i += word.length;
    }
    for (;;) {
      i = skipWs(s, i);
      if (open.length === 0) return i === s.length ? out : null;
      const container = open[open.length - 1];
      const close = container === '{' ? '}' : ']';
      if (s[i] === ',') {
        out += ',';
        i = skipWs(s, i + 1);
        if (container === '{' && (i = key()) < 0) return null;
        break;
      }
      if (s[i] !== close) return null;
      out += close;
      open.pop();
      i++;
    }
  }
}

// The document's compact text, or the text as a JSON string when it is not JSON.
export function jsonText(s) {
  const compact = compactJson(s);
  return compact === null ? jstr(s) : compact;
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

// The row object; the names of its columns holding JSON's null (not SQL NULL) go to jsonNull.
function row(columns, values, keyOnly, jsonNull) {
  const members = new Map();
  const n = Math.min(columns.length, values.length);
  for (let i = 0; i < n; i++) {
    const col = columns[i];
    const v = values[i];
    if (keyOnly && !col.key) continue;
    if (v.tag === 'unchanged-toast') continue;
    const text = valueJson(v);
    members.set(col.name, [text, v.tag === 'json' && text === 'null']);
  }
  const parts = [];
  for (const [k, [v, isJsonNull]] of members) {
    parts.push(jstr(k) + ':' + v);
    if (isJsonNull) jsonNull.push(jstr(k));
  }
  return '{' + parts.join(',') + '}';
}

// One line (without the newline) for change `c` of relation `rel`.
export function changeLine(rel, c) {
  const truncate = c.op === 'truncate';
  const cols = rel.columns;
  let neu = 'null';
  const toast = [];
  const newNull = [];
  const oldNull = [];
  if (c.new != null && !truncate) {
    neu = row(cols, c.new, false, newNull);
    const n = Math.min(cols.length, c.new.length);
    for (let i = 0; i < n; i++) if (c.new[i].tag === 'unchanged-toast') toast.push(jstr(cols[i].name));
  }
  let old = 'null';
  if (c.old != null && !truncate) old = row(cols, c.old.values, c.old.keyOnly, oldNull);
  const jsonNull = newNull.length || oldNull.length
    ? ',"json_null":{"new":[' + newNull.join(',') + '],"old":[' + oldNull.join(',') + ']}'
    : '';
  return '{"op":"' + c.op + '","schema":' + jstr(rel.schema) + ',"table":' + jstr(rel.name) +
    ',"xid":' + c.xid + ',"commit_lsn":"' + fmtLsn(BigInt(c.commitLsn)) + '","end_lsn":"' +
    fmtLsn(BigInt(c.endLsn)) + '","commit_time":"' + fmtTimestamp(BigInt(c.commitTime)) + 'Z","seq":' +
    c.seq + ',"new":' + neu + ',"old":' + old + ',"unchanged_toast":[' + toast.join(',') + ']' + jsonNull + '}';
}
