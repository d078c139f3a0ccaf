#!/usr/bin/env node
// Runs the GPU test project (test/gpu) on a machine without a GPU, against
// the addon built with its CUDA backend under host emulation
// (test/emu/build.js: every native/cuda/*.cu rewritten for the host, one
// emulated device with two multiprocessors, threads as fibers, barrier rounds
// in shuffled order). It checks the backend's glue (device discovery,
// streams, the caching allocator, copies) and the GPU suite itself, not the
// hardware: no timing, no warp lockstep, no cuBLAS. Slow (minutes); the
// longest GPU cases shrink under ANTLER_GPU_EMULATED=1, which this sets.
//   npm run test:gpu-emulated [-- jest arguments, e.g. --testPathPattern sru]
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
const { build } = require(path.join(root, 'test/emu/build.js'));

build('addon').then((addon) => {
  console.log(`emulated addon: ${addon}`);
  const jest = path.join(root, 'node_modules/jest/bin/jest.js');
  const r = spawnSync(process.execPath, [jest, '--selectProjects', 'gpu', ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ANTLER_BINARY: addon, ANTLER_REQUIRE_GPU: '1', ANTLER_GPU_EMULATED: '1' },
  });
  process.exit(r.status ?? 1);
}, (e) => {
  console.error(e.message);
  process.exit(1);
});
