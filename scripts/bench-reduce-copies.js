#!/usr/bin/env node
// Reductions, broadcast copies and the backward passes made of them, on the CPU, for antler addons compared in
// alternating child processes (round by round, so that load changes on a shared machine hit every addon alike).
// Prints each case's median of the rounds' medians per addon, and the first addon's time over each other's.
//   node scripts/bench-reduce-copies.js [--rounds 6] [--reps 40] [--threads 1] [--shape 32,512,7,7] LABEL=path/to/antler.node ...
// (needs dist/: npx tsc -p tsconfig.json). With no LABEL=path, times the addon dist/ loads.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const CHILD = `
const a = require(${JSON.stringify(path.resolve(__dirname, '..', 'dist'))});
const [shape, reps, threads] = JSON.parse(process.argv[1]);
a.setNumThreads(threads);
const x = a.randn(shape); x.requiresGrad = true;
const y = a.randn(shape);
const [N, C, ...rest] = shape;
const perChannel = a.randn([N, C, ...rest.map(() => 1)]);
const oneRow = a.randn([N, C, ...rest.slice(0, -1).map(() => 1), rest[rest.length - 1]]);
const axes = rest.map((_, i) => i + 2);
const one = a.tensor(1);
const cases = {
  'sum, all axes': () => a.sum(y),
  'sum over the trailing axes': () => a.sum(y, axes),
  'broadcastTo scalar -> full': () => a.broadcastTo(one, shape),
  'broadcastTo [N,C,1..] -> full': () => a.broadcastTo(perChannel, shape),
  'broadcastTo [N,C,1..,W] -> full': () => a.broadcastTo(oneRow, shape),
  'slice of half the channels': () => a.slice(y, shape.map(() => 0), [N, Math.max(1, C >> 1), ...rest]),
  'concat on axis 1': () => a.concat([y, y], 1),
  'sum(mean(x, trailing)).backward()': () => { a.sum(a.mean(x, axes)).backward(); x.grad = null; },
  'sum(mul(x, 2)).backward()': () => { a.sum(a.mul(x, 2)).backward(); x.grad = null; },
};
const out = {};
for (const [name, f] of Object.entries(cases)) {
  const g = () => { a.tidy(() => { f(); }); }; // nothing returned: tidy frees every result
  for (let i = 0; i < 3; i++) g();
  const t = [];
  for (let r = 0; r < reps; r++) { const t0 = process.hrtime.bigint(); g(); t.push(Number(process.hrtime.bigint() - t0) / 1e6); }
  t.sort((p, q) => p - q);
  out[name] = t[t.length >> 1];
}
process.stdout.write(JSON.stringify(out));
`;

function main() {
  const args = process.argv.slice(2);
  const opt = { rounds: 6, reps: 40, threads: 1, shape: '32,512,7,7' };
  const addons = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--(rounds|reps|threads|shape)$/.exec(args[i]);
    if (m) opt[m[1]] = args[++i];
    else if (args[i].includes('=')) { const k = args[i].indexOf('='); addons.push([args[i].slice(0, k), path.resolve(args[i].slice(k + 1))]); }
    else throw new Error(`unknown argument ${args[i]} (expected --rounds/--reps/--threads/--shape or LABEL=path/to/antler.node)`);
  }
  if (addons.length === 0) addons.push(['antler', '']);
  const shape = String(opt.shape).split(',').map(Number);
  if (shape.length < 3 || shape.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`--shape wants 3 or more positive integers; got ${opt.shape}`);
  const runs = new Map(addons.map(([label]) => [label, {}]));
  for (let r = 0; r < Number(opt.rounds); r++)
    for (const [label, binary] of addons) {
      const env = { ...process.env };
      if (binary) env.ANTLER_BINARY = binary;
      const p = spawnSync(process.execPath, ['-e', CHILD, JSON.stringify([shape, Number(opt.reps), Number(opt.threads)])], { env, encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${label}: the child failed:\n${p.stderr}`);
      for (const [name, ms] of Object.entries(JSON.parse(p.stdout))) (runs.get(label)[name] ??= []).push(ms);
    }
  const median = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
  const labels = addons.map(([l]) => l);
  console.log(`shape [${shape}], ${opt.threads} thread(s), ${opt.rounds} rounds × ${opt.reps} reps; ms (median of the rounds' medians)`);
  console.log(['case'.padEnd(36), ...labels.map((l) => l.padStart(12)), ...labels.slice(1).map((l) => `${labels[0]}/${l}`.padStart(14))].join(''));
  for (const name of Object.keys(runs.get(labels[0]))) {
    const m = labels.map((l) => median(runs.get(l)[name]));
    console.log([name.padEnd(36), ...m.map((v) => v.toFixed(3).padStart(12)), ...m.slice(1).map((v) => (m[0] / v).toFixed(2).padStart(14))].join(''));
  }
}

main();
