#!/usr/bin/env node
// gridSample on the CPU, interleaved: one persistent worker per implementation (antler addons named on the
// command line, and PyTorch when python3 imports torch), each timing one call per request; the coordinator
// asks them in turn, case by case, so that load changes on a shared machine hit every column alike. Prints the
// median per case and implementation and each antler addon's ratio PyTorch / antler (above 1: antler faster).
//   node scripts/bench-grid-interleaved.js [--reps 15] [--threads 2] LABEL=path/to/antler.node[@baseline] ...
// (@baseline: that worker runs with ANTLER_CPU_ISA=baseline, the x86-64 baseline copy of the CPU loops.)
// (needs dist/: npx tsc -p tsconfig.json; PyTorch from $ANTLER_PYTHON, else /usr/bin/python3). Cases: lib/bench-grid.ts's shapes, float32 and float64, forward
// and forward + backward (x's and the grid's gradients from the output's sum), zeros padding, alignCorners false.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const CASES = [];
for (const dtype of ['float32', 'float64'])
  for (const [name, x, mode] of [
    ['bilinear [8, 3, 128, 128]', [8, 3, 128, 128], 'bilinear'],
    ['bicubic [16, 1, 64, 64]', [16, 1, 64, 64], 'bicubic'],
    ['trilinear [4, 4, 16, 32, 32]', [4, 4, 16, 32, 32], 'bilinear'],
  ])
    for (const bwd of [false, true]) CASES.push({ name: `${name} ${dtype} ${bwd ? 'fwd+bwd' : 'fwd'}`, x, mode, dtype, bwd });

const NODE_WORKER = `
const antler = require(${JSON.stringify(path.resolve(__dirname, '..', 'dist'))});
const cases = JSON.parse(process.argv[1]);
antler.setNumThreads(Number(process.argv[2]));
const made = new Map();
function inputs(i) {
  if (!made.has(i)) {
    const c = cases[i], dims = c.x.length - 2;
    const x = antler.randn(c.x, { dtype: c.dtype, seed: 1 + i });
    const g = antler.tidy(() => antler.sub(antler.mul(antler.rand([c.x[0], ...c.x.slice(2), dims], { dtype: c.dtype, seed: 100 + i }), 2.2), 1.1));
    if (c.bwd) x.requiresGrad = g.requiresGrad = true;
    made.set(i, [x, g]);
  }
  return made.get(i);
}
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const i = Number(line), c = cases[i], [x, g] = inputs(i);
  const t0 = process.hrtime.bigint();
  antler.tidy(() => {
    const y = antler.gridSample(x, g, { mode: c.mode });
    if (c.bwd) { antler.sum(y).backward(); x.grad.dispose(); g.grad.dispose(); x.grad = null; g.grad = null; }
  });
  process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6) + '\\n');
});
`;

const PY_WORKER = `
import sys, json, time, torch
import torch.nn.functional as F
cases = json.loads(sys.argv[1]); torch.set_num_threads(int(sys.argv[2]))
made = {}
for line in sys.stdin:
    i = int(line); c = cases[i]
    if i not in made:
        dims = len(c['x']) - 2; dt = getattr(torch, c['dtype'])
        x = torch.randn(c['x'], dtype=dt); g = torch.rand([c['x'][0], *c['x'][2:], dims], dtype=dt) * 2.2 - 1.1
        if c['bwd']: x.requires_grad_(); g.requires_grad_()
        made[i] = (x, g)
    x, g = made[i]
    t0 = time.perf_counter()
    y = F.grid_sample(x, g, mode=c['mode'], align_corners=False)
    if c['bwd']:
        y.sum().backward(); x.grad = None; g.grad = None
    print((time.perf_counter() - t0) * 1e3, flush=True)
`;

function worker(cmd, args, env) {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: p.stdout });
  const waiting = [];
  lines.on('line', (l) => waiting.shift()(Number(l)));
  return {
    ask: (i) => new Promise((resolve) => { waiting.push(resolve); p.stdin.write(`${i}\n`); }),
    close: () => p.stdin.end(),
  };
}

async function main() {
  const argv = process.argv.slice(2);
  let reps = 15, threads = 2;
  const addons = [];
  for (let k = 0; k < argv.length; k++) {
    if (argv[k] === '--reps') reps = Number(argv[++k]);
    else if (argv[k] === '--threads') threads = Number(argv[++k]);
    else {
      const [label, spec] = argv[k].split('=');
      const [file, isa] = spec.split('@');
      addons.push([label, path.resolve(file), isa]);
    }
  }
  const impls = addons.map(([label, file, isa]) => [
    label,
    worker(process.execPath, ['-e', NODE_WORKER, JSON.stringify(CASES), String(threads)], { ANTLER_BINARY: file, ...(isa ? { ANTLER_CPU_ISA: isa } : {}) }),
  ]);
  impls.push(['pytorch', worker(process.env.ANTLER_PYTHON || '/usr/bin/python3', ['-c', PY_WORKER, JSON.stringify(CASES), String(threads)], {})]);
  const median = (v) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  console.log(`threads ${threads}, ${reps} interleaved repeats after 2 warm-ups; load average ${require('node:os').loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  console.log(['case', ...impls.map(([l]) => `${l} ms`), ...addons.map(([l]) => `pytorch/${l}`)].join(' | '));
  for (let i = 0; i < CASES.length; i++) {
    const times = impls.map(() => []);
    for (let r = 0; r < reps + 2; r++)
      for (let j = 0; j < impls.length; j++) {
        const ms = await impls[j][1].ask(i);
        if (r >= 2) times[j].push(ms);
      }
    const med = times.map(median);
    const torch = med[med.length - 1];
    console.log([CASES[i].name, ...med.map((m) => m.toFixed(2)), ...addons.map((_, j) => (torch / med[j]).toFixed(2))].join(' | '));
  }
  console.log(`load average at the end ${require('node:os').loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  impls.forEach(([, w]) => w.close());
}
main();
