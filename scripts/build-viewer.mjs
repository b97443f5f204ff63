#!/usr/bin/env node
// Bundles the browser viewer (web-viewer/src/main.ts) into web-viewer/dist/ with esbuild.
import { existsSync } from 'node:fs';
import { build } from 'esbuild';

const entry = 'web-viewer/src/main.ts';
if (!existsSync(entry)) {
  console.log('build-viewer: no web-viewer/src/main.ts yet, nothing to bundle');
  process.exit(0);
}
await build({
  entryPoints: [entry],
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outfile: 'web-viewer/dist/viewer.js',
  sourcemap: true,
  minify: true,
  logLevel: 'warning',
});
console.log('build-viewer: web-viewer/dist/viewer.js');
