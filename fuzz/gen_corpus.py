#!/usr/bin/env python3
"""Regenerates the seed corpora under fuzz/corpus/ from bytes captured from a real server.

Sources:
  * runtime/src/decode/tests/captured.rs (and the hand-built v4 Stream Abort in tests/mod.rs):
    the decoder's unit-test captures from PostgreSQL 15.20;
  * fuzz/seeds/alltypes_v1_*.hex: a protocol v1 stream of a table with every built-in type the
    value parser knows (and its array), captured with fuzz/seeds/alltypes.sql.

Run from anywhere: python3 fuzz/gen_corpus.py. Deterministic; files are named by content.
"""
import hashlib
import os
import re
import struct

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
TESTS = os.path.join(ROOT, "runtime", "src", "decode", "tests")


def consts(path):
    """`pub(super)? const NAME: &str = "hex" | concat!("..", "..");` -> {NAME: bytes}."""
    src = open(path).read()
    out = {}
    for m in re.finditer(r"pub(?:\(super\))? const (\w+): &str =\s*(concat!\((.*?)\)|\"[0-9a-f]*\");", src, re.S):
        body = m.group(3) if m.group(3) is not None else m.group(2)
        out[m.group(1)] = bytes.fromhex("".join(re.findall(r"\"([0-9a-f]*)\"", body)))
    return out


def alltypes():
    """{timezone: [message bytes]} from the real-server captures."""
    out = {}
    for name in sorted(os.listdir(os.path.join(FUZZ, "seeds"))):
        if name.endswith(".hex"):
            lines = open(os.path.join(FUZZ, "seeds", name)).read().split()
            out[name[len("alltypes_v1_"):-len(".hex")]] = [bytes.fromhex(l) for l in lines]
    return out


def text_cells(msg):
    """The 't' cells of an Insert/Update/Delete (v1, not in a stream)."""
    cells = []
    if msg[:1] not in (b"I", b"U", b"D"):
        return cells
    pos = 5
    while pos < len(msg):
        marker = msg[pos:pos + 1]
        pos += 1
        if marker not in (b"N", b"K", b"O"):
            break
        (ncols,) = struct.unpack(">H", msg[pos:pos + 2])
        pos += 2
        for _ in range(ncols):
            kind = msg[pos:pos + 1]
            pos += 1
            if kind in (b"t", b"b"):
                (n,) = struct.unpack(">i", msg[pos:pos + 4])
                pos += 4
                if kind == b"t":
                    cells.append(msg[pos:pos + n])
                pos += n
    return cells


def record(body, control=0):
    """One record of the `assemble` target's input format."""
    return bytes([control]) + struct.pack(">H", len(body)) + body


def write(target, name, data, written):
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if data in written.setdefault(target, set()):
        return
    written[target].add(data)
    digest = hashlib.sha1(data).hexdigest()[:8]
    with open(os.path.join(d, f"{name}-{digest}"), "wb") as f:
        f.write(data)


def main():
    written = {}
    captured = consts(os.path.join(TESTS, "captured.rs"))
    captured.update(consts(os.path.join(TESTS, "mod.rs")))
    streams = alltypes()

    # pgoutput_decode: every message body, as is.
    for name, body in sorted(captured.items()):
        write("pgoutput_decode", name.lower(), body, written)
    for tz, msgs in sorted(streams.items()):
        for i, body in enumerate(msgs):
            write("pgoutput_decode", f"alltypes-{tz.lower()}-{i:02}-{chr(body[0])}", body, written)

    # value_text: every text column value the server sent, plus forms it can send that the
    # captures do not show.
    cells = [c for msgs in streams.values() for m in msgs for c in text_cells(m)]
    for name in ("INSERT_WIDGET", "UPDATE_FULL", "UPDATE_KEY_CHANGED", "INSERT_NULLS"):
        cells += text_cells(captured[name])
    cells += [s.encode() for s in (
        "2026-11-24 10:15:30.123456+00", "2026-11-24 15:45:30+05:30", "1850-06-01 12:19:32+00:19:32",
        "0001-01-01 00:00:00 BC", "24:00:00", "10:15:30.1", "\\x", "{{1,2},{3,4}}",
        "[0:1]={1,2}", '{"a\\"b",NULL,"NULL"}', "-9223372036854775808", "1e308", "t", "f",
    )]
    for i, c in enumerate(cells):
        write("value_text", "cell", c, written)

    # assemble: whole captured sessions, and the unit-test transactions in order.
    for tz, msgs in sorted(streams.items()):
        write("assemble", f"alltypes-{tz.lower()}", b"".join(record(m) for m in msgs), written)
    v1 = lambda *names: b"".join(record(captured[n]) for n in names)
    write("assemble", "items", v1("TYPE_MOOD", "RELATION_ITEMS", "BEGIN", "INSERT_WIDGET",
                                  "INSERT_NULLS", "COMMIT"), written)
    write("assemble", "items-changes", v1("RELATION_ITEMS", "BEGIN", "UPDATE_TOAST_UNCHANGED",
                                          "UPDATE_KEY_CHANGED", "DELETE_KEY", "TRUNCATE_TWO",
                                          "ORIGIN", "MESSAGE_TRANSACTIONAL", "COMMIT"), written)
    write("assemble", "fullrow", v1("RELATION_FULLROW", "BEGIN", "UPDATE_FULL", "DELETE_FULL",
                                    "TRUNCATE_CASCADE_RESTART", "COMMIT"), written)
    # A streamed transaction replayed as the pipeline does: begin_streamed from the Stream
    # Commit (control 0x3a: op 7, v2), the in-stream changes (control 0x03: v2, in stream),
    # take_part (0x20), finish_streamed (0x28).
    v2s = lambda *names: b"".join(record(captured[n], 0x03) for n in names)
    write("assemble", "streamed",
          record(captured["STREAM_COMMIT"], 0x3A)
          + v2s("STREAM_TYPE_MOOD", "STREAM_RELATION_ITEMS", "STREAM_INSERT")
          + record(b"", 0x20)
          + v2s("STREAM_UPDATE", "STREAM_DELETE", "STREAM_TRUNCATE")
          + record(b"", 0x28), written)
    for target, files in sorted(written.items()):
        print(f"{target}: {len(files)} files, {sum(map(len, files))} bytes")


main()
