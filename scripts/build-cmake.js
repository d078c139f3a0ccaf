#!/usr/bin/env node
// Builds the addon with cmake-js into build/ (or --out DIR). Environment:
// ANTLER_BACKEND=cpu forces a CPU-only build; ANTLER_CUDA_ARCHS picks GPU archs.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

function buildCmake({ out = 'build', extra = [] } = {}) {
  const root = path.resolve(__dirname, '..');
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const args = [cmakeJs, 'rebuild', '--out', out, '--parallel', String(require('node:os').availableParallelism?.() ?? 2), ...extra];
  console.log(`antler: cmake-js ${args.slice(1).join(' ')}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env });
  return r.status === 0;
}

module.exports = { buildCmake };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const outIdx = argv.indexOf('--out');
  const out = outIdx >= 0 ? argv[outIdx + 1] : 'build';
  process.exit(buildCmake({ out }) ? 0 : 1);
}
