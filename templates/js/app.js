// {{name}}: a conduit-wasm sink in JavaScript. Prints one line per row change:
// `<op> <schema>.<table> xid=<xid> seq=<seq>`.
//
// Types follow jco's mapping of wit/sink.wit: variants are {tag, val}, s64/u64 are BigInt,
// list<u8> is a Uint8Array, option<T> is T or undefined. Throw {retryable, message} to fail a call.

export const sink = {
  // Validate the configuration ([key, value] pairs from --sink-config) and open connections.
  connect(config) {},

  // Store the batch; return only once it is stored (the runtime then acknowledges it).
  publish(batch) {
    const lines = batch.changes.map((c) => {
      const rel = batch.relations[c.relation];
      return `${c.op} ${rel.schema}.${rel.name} xid=${c.xid} seq=${c.seq}`;
    });
    if (lines.length > 0) console.log(lines.join('\n'));
  },

  // Orderly shutdown: flush and release resources.
  close() {},
};
