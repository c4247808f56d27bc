// Builds a JavaScript sink into a component with componentize-js (StarlingMonkey, no AOT):
//
//   node sinks-other/js/build.mjs <sink-dir> <out.wasm> [wit-dir]
//
// <sink-dir>/app.js is the entry module; the modules it imports with `./name.js` are inlined
// into one module first (StarlingMonkey evaluates a single source at build time). Tools come from
// the pinned install under $CONDUIT_TOOLS_DIR/node (sinks-other/install-tools.sh).
//
// `jco componentize` (jco 1.35.0) would do the same, but its WIT pre-check fails here with
// "failed to get path metadata" for any path, so we call componentize-js directly, as jco does.

import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [sinkDir, out, witArg] = process.argv.slice(2);
if (!sinkDir || !out) {
  console.error('usage: node build.mjs <sink-dir> <out.wasm> [wit-dir]');
  process.exit(2);
}
const here = dirname(new URL(import.meta.url).pathname);
const witPath = resolve(witArg ?? join(here, '..', '..', 'wit'));
// The same default as install-tools.sh and the scaffolds' build.sh (xtask passes target/tools).
const toolsDir = process.env.CONDUIT_TOOLS_DIR ?? join(process.env.HOME, '.cache', 'conduit-wasm', 'tools');
const { componentize } = await import(
  pathToFileURL(
    join(toolsDir, 'node', 'node_modules', '@bytecodealliance', 'componentize-js', 'src', 'componentize.js'),
  ).href
);

// Inline `import { a, b } from './x.js'` (relative, one level) and drop `export` from the
// inlined modules' declarations.
async function inline(file, seen = new Set()) {
  const text = await readFile(file, 'utf8');
  let result = '';
  for (const line of text.split('\n')) {
    const m = line.match(/^import\s+(?:\{[^}]*\}|\*\s+as\s+\w+)\s+from\s+'(\.\/[^']+)';\s*$/);
    if (m) {
      const dep = resolve(dirname(file), m[1]);
      if (!seen.has(dep)) {
        seen.add(dep);
        result += (await inline(dep, seen)).replace(/^export (function|const|let|class|async function) /gm, '$1 ');
      }
      continue;
    }
    result += line + '\n';
  }
  return result;
}

const source = await inline(resolve(sinkDir, 'app.js'));
const buildDir = resolve(toolsDir, '..', 'sinks-build', 'js');
await mkdir(buildDir, { recursive: true });
// A fixed name per sink: the path ends up in the component, and builds should be reproducible.
const sourcePath = join(buildDir, basename(resolve(sinkDir)) + '.js');
await writeFile(sourcePath, source);
const { component } = await componentize({
  sourcePath,
  witPath,
  worldName: 'sink-component',
  // Standard output is all a sink needs; no wasi:http.
  disableFeatures: ['http', 'fetch-event'],
});
await mkdir(dirname(resolve(out)), { recursive: true });
await writeFile(out, component);
console.error(`${out}: ${component.length} bytes`);
