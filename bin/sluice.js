#!/usr/bin/env node
// The `sluice` command: the compiled CLI when `npm run build` has run, else the TypeScript
// sources through tsx (a dependency), so `npx sluice` works in a fresh clone too.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist/src/cli/main.js');
let mod;
if (existsSync(compiled)) {
  mod = await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(pathToFileURL(join(root, 'src/cli/main.ts')).href);
}
const code = await mod.main(process.argv).catch((err) => mod.reportError(err));
process.exit(code);
