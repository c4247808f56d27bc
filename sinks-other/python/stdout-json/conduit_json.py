"""The stdout-json line format (guest-sdk/src/line.rs) in Python, byte for byte.

Pure functions over the componentize-py binding types, so they can also be tested natively.
JSON documents are PostgreSQL's text without the whitespace between tokens, as the Rust sink
prints them.
"""

import base64
import math

# ---------------------------------------------------------------------------------------------
# Strings and floats as serde_json writes them

_ESC = {'"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f'}
for _c in range(0x20):
    _ESC.setdefault(chr(_c), '\\u%04x' % _c)
_NEEDS = frozenset(_ESC)


def jstr(s):
    """A JSON string literal: only '"', '\\' and control characters are escaped."""
    if _NEEDS.isdisjoint(s):
        return '"' + s + '"'
    return '"' + ''.join(_ESC.get(c, c) for c in s) + '"'


def fmt_float(f):
    """A finite f64 as serde_json 1.0.154 (zmij) prints it: the shortest round-trip digits, in
    fixed notation when the decimal exponent is in -5..=15 (with ".0" for integers), otherwise
    as d.ddde+X / d.ddde-X."""
    if f == 0.0:
        return '-0.0' if math.copysign(1.0, f) < 0 else '0.0'
    r = repr(f)  # shortest round-trip digits (same digits as zmij/ryu)
    sign = ''
    if r[0] == '-':
        sign, r = '-', r[1:]
    if 'e' in r:
        mant, exp = r.split('e')
        exp = int(exp)
    else:
        mant, exp = r, 0
    if '.' in mant:
        ip, fp = mant.split('.')
    else:
        ip, fp = mant, ''
    digits = (ip + fp).lstrip('0')
    # position of the decimal point relative to the digit string
    point = len(ip) + exp - (len(ip + fp) - len((ip + fp).lstrip('0')))
    digits = digits.rstrip('0')
    x = point - 1  # scientific exponent: value = d.ddd x 10^x
    if -5 <= x <= 15:
        if x >= 0:
            whole = digits[:x + 1].ljust(x + 1, '0')
            frac = digits[x + 1:] or '0'
            return sign + whole + '.' + frac
        return sign + '0.' + '0' * (-x - 1) + digits
    body = digits[0] + ('.' + digits[1:] if len(digits) > 1 else '')
    return sign + body + 'e' + ('+' if x > 0 else '-') + str(abs(x))


def float_json(f):
    if math.isnan(f):
        return '"NaN"'
    if math.isinf(f):
        return '"Infinity"' if f > 0 else '"-Infinity"'
    return fmt_float(f)


# ---------------------------------------------------------------------------------------------
# JSON documents: PostgreSQL's text without the whitespace between tokens (guest-sdk/src/line.rs
# `compact_json`): duplicate keys, every digit and escapes stay as written.

_WS = ' \t\n\r'
_DIGITS = '0123456789'
_HEX = frozenset('0123456789abcdefABCDEF')
_SIMPLE_ESCAPES = '"\\/bfnrt'


def _skip_ws(s, i):
    n = len(s)
    while i < n and s[i] in _WS:
        i += 1
    return i


def _scan_string(s, i):
    """The index past the string at `i` (its opening quote), or -1."""
    n = len(s)
    j = i + 1
    while True:
        if j >= n:
            return -1
        c = s[j]
        if c == '"':
            return j + 1
        if c == '\\':
            e = s[j + 1] if j + 1 < n else ''
            if e and e in _SIMPLE_ESCAPES:
                j += 2
            elif e == 'u' and len(s[j + 2:j + 6]) == 4 and all(h in _HEX for h in s[j + 2:j + 6]):
                j += 6
            else:
                return -1
        elif ord(c) < 0x20:
            return -1
        else:
            j += 1


def _scan_digits(s, j):
    start = j
    n = len(s)
    while j < n and s[j] in _DIGITS:
        j += 1
    return j if j > start else -1


def _at(s, j):
    return s[j] if j < len(s) else ''


def _scan_number(s, i):
    j = i + 1 if s[i] == '-' else i
    j = j + 1 if _at(s, j) == '0' else _scan_digits(s, j)
    if j < 0:
        return -1
    if _at(s, j) == '.':
        j = _scan_digits(s, j + 1)
        if j < 0:
            return -1
    if _at(s, j) in ('e', 'E'):
        j += 1
        if _at(s, j) in ('+', '-'):
            j += 1
        j = _scan_digits(s, j)
    return j


def compact_json(s):
    """The compact text of one JSON document, or None when `s` is not one."""
    out = []
    open_ = []
    n = len(s)

    def key(i):
        # "key" and ':' of a member at i; the index of its value, or -1.
        if _at(s, i) != '"':
            return -1
        j = _scan_string(s, i)
        if j < 0:
            return -1
        out.append(s[i:j])
        k = _skip_ws(s, j)
        if _at(s, k) != ':':
            return -1
        out.append(':')
        return _skip_ws(s, k + 1)

    i = _skip_ws(s, 0)
    while True:
        c = _at(s, i)
        if c in ('{', '['):
            close = '}' if c == '{' else ']'
            out.append(c)
            open_.append(c)
            i = _skip_ws(s, i + 1)
            if _at(s, i) == close:
                out.append(close)
                open_.pop()
                i += 1
            else:
                if close == '}':
                    i = key(i)
                    if i < 0:
                        return None
                continue
        elif c == '"':
            j = _scan_string(s, i)
            if j < 0:
                return None
            out.append(s[i:j])
            i = j
        elif c == '-' or (c != '' and c in _DIGITS):
            j = _scan_number(s, i)
            if j < 0:
                return None
            out.append(s[i:j])
            i = j
        else:
            for word in ('true', 'false', 'null'):
                if s.startswith(word, i):
                    break
            else:
                return None
            out.append(word)
            i += len(word)
        while True:
            i = _skip_ws(s, i)
            if not open_:
                return ''.join(out) if i == n else None
            container = open_[-1]
            close = '}' if container == '{' else ']'
            c = _at(s, i)
            if c == ',':
                out.append(',')
                i = _skip_ws(s, i + 1)
                if container == '{':
                    i = key(i)
                    if i < 0:
                        return None
                break
            if c != close:
                return None
            out.append(close)
            open_.pop()
            i += 1


def json_text(s):
    """The document's compact text, or the text as a JSON string when it is not JSON."""
    compact = compact_json(s)
    return jstr(s) if compact is None else compact


# ---------------------------------------------------------------------------------------------
# Dates and times (guest-sdk/src/format.rs)

_US_PER_DAY = 86_400_000_000


def _civil_from_days(days):
    z = days + 719_468
    era = z // 146_097
    doe = z % 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def fmt_date(days):
    y, m, d = _civil_from_days(days)
    if 0 <= y <= 9999:
        return '%04d-%02d-%02d' % (y, m, d)
    if y >= 10000:
        return '+%d-%02d-%02d' % (y, m, d)
    return '-%04d-%02d-%02d' % (-y, m, d)


def _clock(micros):
    seconds, fraction = divmod(micros, 1_000_000)
    return '%02d:%02d:%02d.%06d' % (seconds // 3600, seconds // 60 % 60, seconds % 60, fraction)


def fmt_time(micros):
    return ('-' + _clock(-micros)) if micros < 0 else _clock(micros)


def fmt_timestamp(micros):
    days, of_day = divmod(micros, _US_PER_DAY)
    return fmt_date(days) + 'T' + _clock(of_day)


def fmt_lsn(lsn):
    return '%X/%X' % (lsn >> 32, lsn & 0xFFFFFFFF)


# ---------------------------------------------------------------------------------------------
# Values and lines

def _b64(b):
    return '"' + base64.b64encode(bytes(b)).decode('ascii') + '"'


# Indexed by the binding class name's suffix: Value_Int, Datum_Int, ...
def _scalar(kind, v):
    if kind == 'Null' or kind == 'UnchangedToast':
        return 'null'
    if kind == 'Int':
        return str(v.value)
    if kind == 'Text' or kind == 'Numeric' or kind == 'Uuid' or kind == 'Other':
        return jstr(v.value)
    if kind == 'Float':
        return float_json(v.value)
    if kind == 'Boolean':
        return 'true' if v.value else 'false'
    if kind == 'Bytes':
        return _b64(v.value)
    if kind == 'Json':
        return json_text(v.value)
    if kind == 'Timestamptz':
        return '"' + fmt_timestamp(v.value) + 'Z"'
    if kind == 'Timestamp':
        return '"' + fmt_timestamp(v.value) + '"'
    if kind == 'Date':
        return '"' + fmt_date(v.value) + '"'
    if kind == 'Time':
        return '"' + fmt_time(v.value) + '"'
    if kind == 'Array':
        return '[' + ','.join(_scalar(_kind(d), d) for d in v.value) + ']'
    raise ValueError('unknown value kind ' + kind)


_KINDS = {}


def _kind(v):
    cls = type(v)
    k = _KINDS.get(cls)
    if k is None:
        k = cls.__name__.split('_', 1)[1]
        _KINDS[cls] = k
    return k


def value_json(v):
    return _scalar(_kind(v), v)


def _row(columns, values, key_only, json_null):
    """The row object; the names of its columns holding JSON's null (not SQL NULL) go to
    `json_null`."""
    row = {}
    for col, v in zip(columns, values):
        if key_only and not col.key:
            continue
        k = _kind(v)
        if k == 'UnchangedToast':
            continue
        text = _scalar(k, v)
        row[col.name] = (text, k == 'Json' and text == 'null')
    json_null.extend(jstr(name) for name, (_, is_null) in row.items() if is_null)
    return '{' + ','.join(jstr(k) + ':' + v for k, (v, _) in row.items()) + '}'


def change_line(rel, c, op):
    """One line (without the newline) for change `c` of relation `rel`; `op` is its name."""
    truncate = op == 'truncate'
    cols = rel.columns
    new = 'null'
    toast = []
    new_null = []
    old_null = []
    if c.new is not None and not truncate:
        new = _row(cols, c.new, False, new_null)
        toast = [jstr(col.name) for col, v in zip(cols, c.new) if _kind(v) == 'UnchangedToast']
    old = 'null'
    if c.old is not None and not truncate:
        old = _row(cols, c.old.values, c.old.key_only, old_null)
    json_null = ''
    if new_null or old_null:
        json_null = ''.join((',"json_null":{"new":[', ','.join(new_null), '],"old":[',
                             ','.join(old_null), ']}'))
    return ''.join((
        '{"op":"', op, '","schema":', jstr(rel.schema), ',"table":', jstr(rel.name),
        ',"xid":', str(c.xid), ',"commit_lsn":"', fmt_lsn(c.commit_lsn),
        '","end_lsn":"', fmt_lsn(c.end_lsn), '","commit_time":"', fmt_timestamp(c.commit_time),
        'Z","seq":', str(c.seq), ',"new":', new, ',"old":', old,
        ',"unchanged_toast":[', ','.join(toast), ']', json_null, '}'))
