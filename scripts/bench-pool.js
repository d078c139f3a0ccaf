#!/usr/bin/env node
// Pooling on the CPU: the native kernels (native/kernels/pool.h) against the composite they replaced (every window
// gathered: maxPoolComposite / avgPoolComposite) and PyTorch 1.13 (python3 with torch, when importable), interleaved
// medians. Usage: node scripts/bench-pool.js [reps] (needs dist/: npx tsc -p tsconfig.json). Prints a markdown table.
const { spawnSync } = require('node:child_process');
const antler = require('../dist');
const pool = require('../dist/ops/pool');

const reps = Number(process.argv[2] ?? 5);
const cases = [
  { name: 'maxPool2d [8, 64, 112, 112] 3×3 s2 p1', kind: 'max', shape: [8, 64, 112, 112], k: 3, o: { stride: 2, padding: 1 } },
  { name: 'avgPool2d [8, 64, 112, 112] 3×3 s2 p1', kind: 'avg', shape: [8, 64, 112, 112], k: 3, o: { stride: 2, padding: 1 } },
  { name: 'maxPool2d [1, 1, 2048, 2048] 3×3 s1 p1', kind: 'max', shape: [1, 1, 2048, 2048], k: 3, o: { stride: 1, padding: 1 } },
];

const median = (v) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];

function antlerTime(c, path, backward) {
  return antler.tidy(() => {
    const x = antler.randn(c.shape, { seed: 1, requiresGrad: backward });
    const f = c.kind === 'max'
      ? (path === 'native' ? (t) => antler.maxPool2d(t, c.k, c.o) : (t) => pool.maxPoolComposite(2, t, c.k, c.o))
      : (path === 'native' ? (t) => antler.avgPool2d(t, c.k, c.o) : (t) => pool.avgPoolComposite(2, t, c.k, c.o));
    const t0 = process.hrtime.bigint();
    antler.tidy(() => {
      const y = f(x);
      if (backward) antler.sum(y).backward();
      else y.dataSync();
      if (backward) x.grad.dataSync();
    });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  });
}

function torchTimes(c, backward) {
  const py = `
import torch, time, json
torch.manual_seed(1)
x = torch.randn(${JSON.stringify(c.shape)}, requires_grad=${backward ? 'True' : 'False'})
f = (lambda t: torch.nn.functional.${c.kind === 'max' ? 'max_pool2d' : 'avg_pool2d'}(t, ${c.k}, stride=${c.o.stride}, padding=${c.o.padding}))
def once():
    t0 = time.perf_counter()
    y = f(x)
    if ${backward ? 'True' : 'False'}:
        y.sum().backward(); x.grad = None
    return (time.perf_counter() - t0) * 1e3
once()
print(json.dumps([once() for _ in range(${reps})]))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' });
  return r.status === 0 ? median(JSON.parse(r.stdout.trim().split('\n').pop())) : NaN;
}

const rows = ['| case | native (ms) | composite (ms) | PyTorch 1.13 (ms) | composite / native | PyTorch / native |', '|---|---|---|---|---|---|'];
for (const c of cases)
  for (const backward of [false, true]) {
    const t = { native: [], composite: [] };
    const compositeReps = c.shape[2] >= 2048 ? 1 : reps; // the composite takes tens of seconds there
    antlerTime(c, 'native', backward);
    for (let i = 0; i < reps; i++) {
      t.native.push(antlerTime(c, 'native', backward));
      if (i < compositeReps) t.composite.push(antlerTime(c, 'composite', backward));
    }
    const n = median(t.native), m = median(t.composite), p = torchTimes(c, backward);
    rows.push(`| ${c.name}, ${backward ? 'fwd+bwd' : 'fwd'} | ${n.toFixed(1)} | ${m.toFixed(0)} | ${p.toFixed(1)} | ${(m / n).toFixed(1)} | ${(p / n).toFixed(2)} |`);
    console.error(rows[rows.length - 1]);
  }
console.log(rows.join('\n'));
