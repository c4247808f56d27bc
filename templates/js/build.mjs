// Builds {{name}}.wasm from app.js with componentize-js 0.23.0 (StarlingMonkey, no AOT).
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const tools = process.env.CONDUIT_TOOLS_DIR ?? join(process.env.HOME, '.cache', 'conduit-wasm', 'tools');
const entry = join(tools, 'node', 'node_modules', '@bytecodealliance', 'componentize-js', 'src', 'componentize.js');
const { componentize } = await import(pathToFileURL(entry).href);
const { component } = await componentize({
  sourcePath: resolve('app.js'),
  witPath: resolve('wit'),
  worldName: 'sink-component',
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile('{{name}}.wasm', component);
