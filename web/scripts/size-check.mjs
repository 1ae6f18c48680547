#!/usr/bin/env node
// Fails when the JavaScript a first visit downloads — the entry chunk and every chunk it imports
// statically, transitively — exceeds the budget (gzip). Lazy (dynamic) imports are not counted.
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUDGET_KB = Number(process.env.KEYWARD_WEB_BUDGET_KB ?? 150);
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const manifestPath = [join(dist, '.vite', 'manifest.json'), join(dist, 'manifest.json')].find(existsSync);
if (!manifestPath) {
  console.error('size-check: dist/.vite/manifest.json not found; run `npm run build` first');
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const entries = Object.entries(manifest).filter(([, c]) => c.isEntry);
if (entries.length === 0) {
  console.error('size-check: no entry chunk in the manifest');
  process.exit(2);
}

const seen = new Set();
const files = [];
const visit = (key) => {
  if (seen.has(key)) return;
  seen.add(key);
  const chunk = manifest[key];
  if (!chunk) return;
  if (chunk.file.endsWith('.js')) files.push(chunk.file);
  for (const imp of chunk.imports ?? []) visit(imp);
};
for (const [key] of entries) visit(key);

let total = 0;
for (const f of files) {
  const gz = gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
  total += gz;
  console.log(`  ${(gz / 1024).toFixed(1).padStart(7)} KB  ${f}`);
}
const kb = total / 1024;
console.log(`initial JS: ${kb.toFixed(1)} KB gzip (${files.length} file${files.length === 1 ? '' : 's'}), budget ${BUDGET_KB} KB`);
if (kb > BUDGET_KB) {
  console.error(`size-check: FAILED — initial JS is ${kb.toFixed(1)} KB gzip, over the ${BUDGET_KB} KB budget`);
  process.exit(1);
}
