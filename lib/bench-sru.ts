/**
 * `antler bench sru`: one SRU layer (fused kernel, and the op-by-op
 * reference) against an LSTM layer built from antler's autograd ops (the
 * baseline every RNN library starts from), and against PyTorch's nn.LSTM
 * (cuDNN on CUDA) when python3 with torch is importable; all measured in the
 * same run on the same machine, float32, input size = hidden size,
 * unidirectional. Forward runs under noGrad; forward+backward backpropagates
 * Σ output. Sizes follow Lei et al.: (L, d, B) = (32, 256, 32),
 * (128, 512, 32), (1024, 512, 16).
 */
import { BenchRow, timeIt } from './bench-timing';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { noGrad } from './autograd/graph';
import { backends } from './device';
import { isolated, tidy } from './engine';
import { add, matmul, mul, reshape, sigmoid, slice, stack, sum, tanh } from './ops/core';
import { SRU, unstack } from './sru/module';
import { full, rand, randn, Tensor } from './tensor';

export type SruBenchRow = BenchRow;

interface Size {
  L: number;
  d: number;
  B: number;
}

/** An LSTM layer from autograd ops: gates = x W_ih + h W_hh + b, split [i | f | g | o] (PyTorch's order). */
class OpLstm {
  readonly wIh: Tensor;
  readonly wHh: Tensor;
  readonly b: Tensor;
  constructor(readonly inSize: number, readonly hidden: number, device: string) {
    const bound = 1 / Math.sqrt(hidden);
    const u = (shape: number[]) => isolated(() => rand(shape, { minval: -bound, maxval: bound, device }).requiresGrad_(true));
    this.wIh = u([inSize, 4 * hidden]);
    this.wHh = u([hidden, 4 * hidden]);
    this.b = u([4 * hidden]);
  }

  forward(x: Tensor): Tensor {
    const [L, B] = x.shape;
    const H = this.hidden;
    const xw = unstack(reshape(add(matmul(reshape(x, [L * B, this.inSize]), this.wIh), this.b), [L, B, 4 * H]));
    let h = full([B, H], 0, { device: x.device });
    let c = full([B, H], 0, { device: x.device });
    const hs: Tensor[] = [];
    for (let t = 0; t < L; t++) {
      const g = add(xw[t], matmul(h, this.wHh));
      const gate = (k: number) => slice(g, [0, k * H], [B, H]);
      const i = sigmoid(gate(0)), f = sigmoid(gate(1)), cand = tanh(gate(2)), o = sigmoid(gate(3));
      c = add(mul(f, c), mul(i, cand));
      h = mul(o, tanh(c));
      hs.push(h);
    }
    return stack(hs, 0);
  }

  dispose(): void {
    for (const t of [this.wIh, this.wHh, this.b]) t.dispose();
  }

  zeroGrad(): void {
    for (const t of [this.wIh, this.wHh, this.b]) t.zeroGrad();
  }
}


/** PyTorch nn.LSTM (and the `sru` package's SRU when importable) at the same sizes; empty when python3 has no torch. */
function torchTimes(sizes: Size[], devices: string[], repeats: number): { rows: SruBenchRow[]; note: string } {
  const script = `
import sys, time, json, torch
torch.set_num_threads(${os.cpus().length})
try:
    import sru as sru_pkg
except Exception:
    sru_pkg = None
rows = []
def timed(fn, dev):
    fn()
    if dev != 'cpu': torch.cuda.synchronize()
    ts = []
    for _ in range(${repeats}):
        t0 = time.perf_counter(); fn()
        if dev != 'cpu': torch.cuda.synchronize()
        ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort(); return ts[len(ts) // 2]
for dev in ${JSON.stringify(devices)}:
    tdev = 'cuda' if dev.startswith('cuda') else 'cpu'
    if tdev == 'cuda' and not torch.cuda.is_available(): continue
    for (L, d, B) in ${JSON.stringify(sizes.map((s) => [s.L, s.d, s.B]))}:
        x = torch.randn(L, B, d, device=tdev)
        mods = [('pytorch-lstm', torch.nn.LSTM(d, d).to(tdev))]
        if sru_pkg is not None:
            mods.append(('pytorch-sru', sru_pkg.SRU(d, d, num_layers=1).to(tdev)))
        for name, m in mods:
            def fwd():
                with torch.no_grad(): m(x)
            def fwdbwd():
                m.zero_grad(); out = m(x)[0]; out.sum().backward()
            rows.append([name, dev, L, d, B, timed(fwd, tdev), timed(fwdbwd, tdev)])
print(json.dumps(rows))
`;
  const r = spawnSync('python3', ['-c', script], { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop() ?? 'unknown';
    return { rows: [], note: `PyTorch columns skipped (python3 -c 'import torch' failed: ${why})` };
  }
  const rows: SruBenchRow[] = [];
  for (const [impl, device, L, d, B, fwd, fb] of JSON.parse(r.stdout.trim().split('\n').pop()!) as [string, string, number, number, number, number, number][]) {
    rows.push({ suite: 'sru', case: caseName({ L, d, B }, 'fwd'), device, impl, ms: fwd });
    rows.push({ suite: 'sru', case: caseName({ L, d, B }, 'fwd+bwd'), device, impl, ms: fb });
  }
  return { rows, note: '' };
}

const caseName = (s: Size, pass: string) => `L=${s.L} d=${s.d} B=${s.B} ${pass}`;

/** Runs the suite and prints SRU-vs-peer ratios per device; returns rows for lib/bench.ts's JSON. */
export function benchSru(quick: boolean): SruBenchRow[] {
  const sizes: Size[] = quick
    ? [{ L: 32, d: 256, B: 32 }, { L: 128, d: 512, B: 32 }]
    : [{ L: 32, d: 256, B: 32 }, { L: 128, d: 512, B: 32 }, { L: 1024, d: 512, B: 16 }];
  const devices = ['cpu', ...(backends().cuda.available ? ['cuda:0'] : [])];
  const repeatsFor = (s: Size, device: string) => (device === 'cpu' ? (s.L >= 1024 ? 2 : quick ? 3 : 5) : quick ? 5 : 20);
  const rows: SruBenchRow[] = [];
  for (const device of devices)
    for (const s of sizes) {
      const repeats = repeatsFor(s, device);
      const x = randn([s.L, s.B, s.d], { device });
      const fused = new SRU(s.d, s.d, { numLayers: 1, device });
      const ref = new SRU(s.d, s.d, { numLayers: 1, device, impl: 'reference' });
      const lstm = new OpLstm(s.d, s.d, device);
      const impls: [string, (x: Tensor) => Tensor, () => void][] = [
        ['antler-sru', (v) => fused.forward(v).output, () => fused.zeroGrad()],
        ['antler-sru-ops', (v) => ref.forward(v).output, () => ref.zeroGrad()],
        ['antler-lstm-ops', (v) => lstm.forward(v), () => lstm.zeroGrad()],
      ];
      for (const [impl, f, zero] of impls) {
        const fwd = timeIt(() => tidy(() => noGrad(() => void f(x))), device, repeats);
        const fb = timeIt(() => {
          zero();
          tidy(() => sum(f(x)).backward());
        }, device, repeats);
        zero();
        rows.push({ suite: 'sru', case: caseName(s, 'fwd'), device, impl, ms: fwd });
        rows.push({ suite: 'sru', case: caseName(s, 'fwd+bwd'), device, impl, ms: fb });
      }
      x.dispose();
      fused.dispose();
      ref.dispose();
      lstm.dispose();
    }
  const torch = torchTimes(sizes, devices, quick ? 3 : 10);
  rows.push(...torch.rows);
  if (torch.note) console.log(`  (${torch.note})`);
  console.log('\nsru: one layer, float32; ratio = peer time / antler-sru time on the same device, in this run');
  console.log(`  ${'case'.padEnd(26)} ${'impl/device'.padEnd(26)} ${'ms'.padStart(10)}  ratio`);
  for (const device of devices)
    for (const c of [...new Set(rows.map((r) => r.case))]) {
      const base = rows.find((r) => r.case === c && r.device === device && r.impl === 'antler-sru');
      for (const r of rows.filter((x) => x.case === c && x.device === device))
        console.log(`  ${c.padEnd(26)} ${`${r.impl}/${r.device}`.padEnd(26)} ${r.ms.toFixed(2).padStart(10)}  ${base ? (r.ms / base.ms).toFixed(2) + 'x' : ''}`);
    }
  return rows;
}

// `node dist/bench-sru.js [--quick] [--out DIR]` runs the suite alone and writes bench/results/sru-<cpu|gpu>.json.
if (require.main === module) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? args[outAt + 1] : path.join(process.cwd(), 'bench', 'results');
  const b = backends();
  const machine = {
    date: new Date().toISOString(),
    cpu: `${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}`,
    gpu: b.cuda.available ? b.cuda.devices.map((d) => d.name).join(', ') : 'none',
    blas: b.cpu.blas,
  };
  console.log(`antler bench sru (${machine.cpu}; GPU: ${machine.gpu}; BLAS: ${machine.blas})`);
  const rows = benchSru(args.includes('--quick'));
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, `sru-${machine.gpu === 'none' ? 'cpu' : 'gpu'}.json`);
  fs.writeFileSync(file, JSON.stringify({ machine, rows }, null, 2));
  console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
}
