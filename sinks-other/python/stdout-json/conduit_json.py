"""The stdout-json line format (guest-sdk/src/json.rs) in Python, byte for byte.

Pure functions over the componentize-py binding types, so they can also be tested natively.
JSON documents are read the way serde_json 1.0 (without `float_roundtrip`) reads them and
written the way it writes them: that is what the Rust sink does, so a port must do the same.
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
# JSON documents: parsed as serde_json parses them, printed compactly

class _Bad(Exception):
    pass


_POW10 = [float('1e%d' % i) for i in range(309)]
_U64_MAX = (1 << 64) - 1
_I32_MAX = (1 << 31) - 1
_WS = ' \t\n\r'
_DIGITS = '0123456789'


def _f64_from_parts(positive, significand, exponent):
    f = float(significand)
    while True:
        if abs(exponent) < 309:
            if exponent >= 0:
                f *= _POW10[exponent]
                if math.isinf(f):
                    raise _Bad()
            else:
                f /= _POW10[-exponent]
            break
        if f == 0.0:
            break
        if exponent >= 0:
            raise _Bad()
        f /= 1e308
        exponent += 308
    return f if positive else -f


class _Parser:
    __slots__ = ('s', 'i', 'n', 'depth')

    def __init__(self, s):
        self.s = s
        self.i = 0
        self.n = len(s)
        self.depth = 128

    def peek(self):
        return self.s[self.i] if self.i < self.n else ''

    def ws(self):
        s, i, n = self.s, self.i, self.n
        while i < n and s[i] in _WS:
            i += 1
        self.i = i

    def value(self):
        """Returns the compact JSON text of the value."""
        self.ws()
        c = self.peek()
        if c == '{':
            return self.obj()
        if c == '[':
            return self.arr()
        if c == '"':
            return jstr(self.string())
        if c == '-' or (c and c in _DIGITS):
            return self.number()
        for word in ('true', 'false', 'null'):
            if self.s.startswith(word, self.i):
                self.i += len(word)
                return word
        raise _Bad()

    def enter(self):
        self.depth -= 1
        if self.depth == 0:
            raise _Bad()

    def obj(self):
        self.enter()
        self.i += 1
        members = {}
        self.ws()
        if self.peek() == '}':
            self.i += 1
        else:
            while True:
                self.ws()
                if self.peek() != '"':
                    raise _Bad()
                key = self.string()
                self.ws()
                if self.peek() != ':':
                    raise _Bad()
                self.i += 1
                members[key] = self.value()  # a repeated key keeps its place, takes the last value
                self.ws()
                c = self.peek()
                self.i += 1
                if c == ',':
                    continue
                if c == '}':
                    break
                raise _Bad()
        self.depth += 1
        return '{' + ','.join(jstr(k) + ':' + v for k, v in members.items()) + '}'

    def arr(self):
        self.enter()
        self.i += 1
        items = []
        self.ws()
        if self.peek() == ']':
            self.i += 1
        else:
            while True:
                items.append(self.value())
                self.ws()
                c = self.peek()
                self.i += 1
                if c == ',':
                    continue
                if c == ']':
                    break
                raise _Bad()
        self.depth += 1
        return '[' + ','.join(items) + ']'

    def hex4(self):
        h = self.s[self.i:self.i + 4]
        if len(h) != 4 or any(c not in '0123456789abcdefABCDEF' for c in h):
            raise _Bad()
        self.i += 4
        return int(h, 16)

    def string(self):
        s, n = self.s, self.n
        self.i += 1
        out = []
        start = self.i
        while True:
            i = self.i
            if i >= n:
                raise _Bad()
            c = s[i]
            if c == '"':
                out.append(s[start:i])
                self.i = i + 1
                return ''.join(out)
            if c == '\\':
                out.append(s[start:i])
                if i + 1 >= n:
                    raise _Bad()
                e = s[i + 1]
                self.i = i + 2
                if e == 'u':
                    cp = self.hex4()
                    if 0xDC00 <= cp <= 0xDFFF:
                        raise _Bad()
                    if 0xD800 <= cp <= 0xDBFF:
                        if s[self.i:self.i + 2] != '\\u':
                            raise _Bad()
                        self.i += 2
                        lo = self.hex4()
                        if not 0xDC00 <= lo <= 0xDFFF:
                            raise _Bad()
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    out.append(chr(cp))
                else:
                    simple = {'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f',
                              'n': '\n', 'r': '\r', 't': '\t'}.get(e)
                    if simple is None:
                        raise _Bad()
                    out.append(simple)
                start = self.i
                continue
            if ord(c) < 0x20:
                raise _Bad()
            self.i = i + 1

    def digit(self):
        c = self.peek()
        return ord(c) - 48 if c and c in _DIGITS else -1

    def number(self):
        positive = True
        if self.peek() == '-':
            self.i += 1
            positive = False
        d = self.digit()
        if d < 0:
            raise _Bad()
        self.i += 1
        significand = d
        if d == 0:
            if self.digit() >= 0:
                raise _Bad()
        else:
            while True:
                d = self.digit()
                if d < 0:
                    break
                if significand * 10 + d > _U64_MAX:
                    return fmt_float(self.long_integer(positive, significand))
                self.i += 1
                significand = significand * 10 + d
        c = self.peek()
        if c == '.':
            return fmt_float(self.decimal(positive, significand, 0))
        if c in ('e', 'E') and c:
            return fmt_float(self.exponent(positive, significand, 0))
        if positive:
            return str(significand)
        if significand == 0 or significand > (1 << 63):
            return fmt_float(-float(significand))
        return str(-significand)

    def long_integer(self, positive, significand):
        exponent = 0
        while self.digit() >= 0:
            self.i += 1
            exponent += 1
        c = self.peek()
        if c == '.':
            return self.decimal(positive, significand, exponent)
        if c and c in 'eE':
            return self.exponent(positive, significand, exponent)
        return _f64_from_parts(positive, significand, exponent)

    def decimal(self, positive, significand, exponent_before):
        self.i += 1
        after = 0
        seen = False
        while True:
            d = self.digit()
            if d < 0:
                break
            seen = True
            if significand * 10 + d > _U64_MAX:
                # further digits are ignored
                while self.digit() >= 0:
                    self.i += 1
                break
            self.i += 1
            significand = significand * 10 + d
            after -= 1
        if not seen:
            raise _Bad()
        exponent = exponent_before + after
        c = self.peek()
        if c and c in 'eE':
            return self.exponent(positive, significand, exponent)
        return _f64_from_parts(positive, significand, exponent)

    def exponent(self, positive, significand, starting):
        self.i += 1
        positive_exp = True
        c = self.peek()
        if c == '+':
            self.i += 1
        elif c == '-':
            self.i += 1
            positive_exp = False
        d = self.digit()
        if d < 0:
            raise _Bad()
        self.i += 1
        exp = d
        while True:
            d = self.digit()
            if d < 0:
                break
            self.i += 1
            if exp * 10 + d > _I32_MAX:
                if significand != 0 and positive_exp:
                    raise _Bad()
                while self.digit() >= 0:
                    self.i += 1
                return 0.0 if positive else -0.0
            exp = exp * 10 + d
        final = starting + exp if positive_exp else starting - exp
        final = max(-(1 << 31), min(_I32_MAX, final))
        return _f64_from_parts(positive, significand, final)


def json_text(s):
    """The compact form of a JSON document, or the text as a JSON string when serde_json would
    not accept it."""
    p = _Parser(s)
    try:
        out = p.value()
        p.ws()
        if p.i != p.n:
            raise _Bad()
        return out
    except (_Bad, RecursionError):
        return jstr(s)


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


def _row(columns, values, key_only):
    row = {}
    for col, v in zip(columns, values):
        if key_only and not col.key:
            continue
        k = _kind(v)
        if k == 'UnchangedToast':
            continue
        row[col.name] = _scalar(k, v)
    return '{' + ','.join(jstr(k) + ':' + v for k, v in row.items()) + '}'


def change_line(rel, c, op):
    """One line (without the newline) for change `c` of relation `rel`; `op` is its name."""
    truncate = op == 'truncate'
    cols = rel.columns
    new = 'null'
    toast = []
    if c.new is not None and not truncate:
        new = _row(cols, c.new, False)
        toast = [jstr(col.name) for col, v in zip(cols, c.new) if _kind(v) == 'UnchangedToast']
    old = 'null'
    if c.old is not None and not truncate:
        old = _row(cols, c.old.values, c.old.key_only)
    return ''.join((
        '{"op":"', op, '","schema":', jstr(rel.schema), ',"table":', jstr(rel.name),
        ',"xid":', str(c.xid), ',"commit_lsn":"', fmt_lsn(c.commit_lsn),
        '","end_lsn":"', fmt_lsn(c.end_lsn), '","commit_time":"', fmt_timestamp(c.commit_time),
        'Z","seq":', str(c.seq), ',"new":', new, ',"old":', old,
        ',"unchanged_toast":[', ','.join(toast), ']}'))
