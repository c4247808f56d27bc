"""stdout-json in Python: one JSON line per row change on standard output, the same bytes as the
Rust example sink (guest-sdk/src/line.rs), built with componentize-py.

Configuration (`--sink-config key=value`): every key is ignored except `fail_on_seq=N`, the
conformance suite's switch: publish writes the lines of the changes before the first change whose
`seq` is N, then returns a fatal error naming it.
"""

import os

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports.types import Operation, SinkError

import conduit_json

_OP_NAMES = {Operation.INSERT: 'insert', Operation.UPDATE: 'update',
             Operation.DELETE: 'delete', Operation.TRUNCATE: 'truncate',
             Operation.READ: 'read'}


def _fail_on_seq(config):
    value = None
    for key, v in config:
        if key == 'fail_on_seq':
            value = v
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > 0xFFFFFFFF:
        raise Err(SinkError(False, 'fail_on_seq must be a number from 0 to 4294967295, got '
                            + conduit_json.jstr(value)))
    return int(value)


def _write(text):
    """Writes all of `text` to file descriptor 1. (sys.stdout.write of a large string loses
    everything past the first 64 KiB under componentize-py 0.25: WASI output streams accept a
    bounded amount per call, so write in chunks and loop on short writes.)"""
    view = memoryview(text.encode('utf-8'))
    try:
        while view:
            n = os.write(1, view[:32768])
            view = view[n:]
    except OSError as e:
        raise Err(SinkError(True, 'writing to standard output: ' + str(e)))


class Sink(exports.Sink):
    fail_on_seq = None

    def connect(self, config):
        Sink.fail_on_seq = _fail_on_seq(config)

    def publish(self, batch):
        rels = batch.relations
        fail = Sink.fail_on_seq
        lines = []
        for c in batch.changes:
            if fail is not None and c.seq == fail:
                _write(''.join(lines))
                rel = rels[c.relation]
                raise Err(SinkError(False, 'fail_on_seq=%d: refusing the change at commit_lsn %s '
                                    'seq %d of %s.%s, as configured' % (
                                        fail, conduit_json.fmt_lsn(c.commit_lsn), c.seq,
                                        rel.schema, rel.name)))
            lines.append(conduit_json.change_line(rels[c.relation], c, _OP_NAMES[c.op]))
            lines.append('\n')
        _write(''.join(lines))

    def close(self):
        _write('')
