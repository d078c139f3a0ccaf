#!/usr/bin/env node
// CPU-only build with node-gyp into build-gyp/build/Release/antler.node.
// Node's headers come from the running node's own prefix when present
// (…/include/node), so nothing is downloaded; else node-gyp fetches them.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function nodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function buildGyp() {
  const root = path.resolve(__dirname, '..');
  const dir = path.join(root, 'build-gyp');
  fs.mkdirSync(dir, { recursive: true });
  const gyp = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8').replace('"antler_root%": "."', '"antler_root%": ".."');
  fs.writeFileSync(path.join(dir, 'binding.gyp'), gyp);
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
  const args = [nodeGyp, 'rebuild', '--directory', dir, `--jobs=${require('node:os').availableParallelism?.() ?? 2}`];
  const nd = nodeDir();
  if (nd) args.push(`--nodedir=${nd}`);
  console.log(`antler: node-gyp ${args.slice(1).join(' ')}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  return r.status === 0;
}

module.exports = { buildGyp };

if (require.main === module) process.exit(buildGyp() ? 0 : 1);
