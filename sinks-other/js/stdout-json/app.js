// stdout-json in JavaScript: one JSON line per row change on standard output, the same bytes as
// the Rust example sink (guest-sdk/src/line.rs), built with jco/componentize-js (no AOT).
//
// Configuration (`--sink-config key=value`): every key is ignored except `fail_on_seq=N`, the
// conformance suite's switch: publish writes the lines of the changes before the first change
// whose `seq` is N, then returns a fatal error naming it.

import { changeLine, fmtLsn, jstr } from './conduit-json.js';

let failOnSeq = null;

// A result<_, sink-error> export returns `err` when the function throws the error's payload.
function sinkError(retryable, message) {
  return { retryable, message };
}

function write(text) {
  if (text.length === 0) return;
  // console.log writes to standard output and appends the newline the text ends with.
  console.log(text.endsWith('\n') ? text.slice(0, -1) : text);
}

export const sink = {
  connect(config) {
    failOnSeq = null;
    for (const [key, value] of config) {
      if (key !== 'fail_on_seq') continue;
      if (!/^[0-9]+$/.test(value) || Number(value) > 4294967295) {
        throw sinkError(false, 'fail_on_seq must be a number from 0 to 4294967295, got ' + jstr(value));
      }
      failOnSeq = Number(value);
    }
  },

  publish(batch) {
    const rels = batch.relations;
    let out = '';
    for (const c of batch.changes) {
      if (failOnSeq !== null && c.seq === failOnSeq) {
        write(out);
        const rel = rels[c.relation];
        throw sinkError(false, 'fail_on_seq=' + failOnSeq + ': refusing the change at commit_lsn ' +
          fmtLsn(BigInt(c.commitLsn)) + ' seq ' + c.seq + ' of ' + rel.schema + '.' + rel.name + ', as configured');
      }
      out += changeLine(rels[c.relation], c) + '\n';
    }
    write(out);
  },

  close() {},
};
