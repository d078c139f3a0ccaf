/**
 * `antler bench sru`: one SRU layer (fused kernel, and the op-by-op
 * reference) against antler's fused sequential LSTM and GRU (nn.LSTM and
 * nn.GRU with mode 'sequential'), an LSTM layer built from antler's autograd
 * ops (the baseline every RNN library starts from), and PyTorch's nn.LSTM and
 * nn.GRU (cuDNN on CUDA) when python3 with torch is importable; all measured
 * in the same run on the same machine, float32, input size = hidden size,
 * unidirectional. Forward runs under noGrad; forward+backward backpropagates
 * Σ output. Sizes follow Lei et al.: (L, d, B) = (32, 256, 32),
 * (128, 512, 32), (1024, 512, 16).
 */
import { BenchRow, runTorch, timeIt, timeWithin } from './bench-timing';
import * as path from 'node:path';
import { noGrad } from './autograd/graph';
import { backends } from './device';
import { isolated, tidy } from './engine';
import { GRU, LSTM } from './nn/rnn';
import { add, matmul, mul, sigmoid, slice, stack, sum, tanh, wrap } from './ops/core';
import { native } from './native';
import type { SruNative } from './sru/recurrence';
import { SRU, unstack } from './sru/module';
import { full, rand, randn, Tensor } from './tensor';

export interface SruBenchRow extends BenchRow {
  /** Achieved DRAM bandwidth in GB/s (bytes read + written / time): the recurrence kernel alone, or a device copy. */
  gbps?: number;
}

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
    const xw = unstack(add(matmul(x, this.wIh), this.b));
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


/** PyTorch nn.LSTM and nn.GRU (and the `sru` package's SRU when importable) at the same sizes; empty when python3 has no torch. */
function torchTimes(sizes: Size[], devices: string[], repeats: number): { rows: SruBenchRow[]; note: string } {
  const r = runTorch<[string, string, number, number, number, number, number][]>(`
try:
    import sru as sru_pkg
except Exception:
    sru_pkg = None
rows = []
for dev in ${JSON.stringify(devices)}:
    tdev = 'cuda' if dev.startswith('cuda') else 'cpu'
    if tdev == 'cuda' and not torch.cuda.is_available(): continue
    for (L, d, B) in ${JSON.stringify(sizes.map((s) => [s.L, s.d, s.B]))}:
        x = torch.randn(L, B, d, device=tdev)
        mods = [('pytorch-lstm', torch.nn.LSTM(d, d).to(tdev)), ('pytorch-gru', torch.nn.GRU(d, d).to(tdev))]
        if sru_pkg is not None:
            mods.append(('pytorch-sru', sru_pkg.SRU(d, d, num_layers=1).to(tdev)))
        for name, m in mods:
            def fwd():
                with torch.no_grad(): m(x)
            def fwdbwd():
                m.zero_grad(); out = m(x)[0]; out.sum().backward()
            rows.append([name, dev, L, d, B, timed(fwd, tdev, ${repeats}), timed(fwdbwd, tdev, ${repeats})])
print(json.dumps(rows))
`, 900_000);
  if ('note' in r) return { rows: [], note: r.note };
  const rows: SruBenchRow[] = [];
  for (const [impl, device, L, d, B, fwd, fb] of r.result) {
    rows.push({ suite: 'sru', case: caseName({ L, d, B }, 'fwd'), device, impl, ms: fwd });
    rows.push({ suite: 'sru', case: caseName({ L, d, B }, 'fwd+bwd'), device, impl, ms: fb });
  }
  return { rows, note: '' };
}

/** The device's copy bandwidth: a 512 MiB clone, bytes read + written; ms per copy. */
const COPY_BYTES = 2 * 4 * 128 * 1024 * 1024;
function copyMs(device: string, repeats: number): number {
  return tidy(() => {
    const big = randn([128 * 1024 * 1024], { device });
    return timeIt(() => big.clone().dispose(), device, repeats);
  });
}

/**
 * On a GPU, the recurrence kernel alone (sruForward on a precomputed U, k = 3
 * with the scaled-input skip: reads U and x, writes h and c), and its backward
 * (reads U, x, c and gh, writes gU and gx), in GB/s, next to
 * the device's copy bandwidth measured once in the same run (copyMs). The
 * issue's target is 70% of the copy bandwidth. The kernel is launched
 * KERNEL_LAUNCHES times between two synchronizations, as a training step
 * issues its work, and the time divided by that count: one launch per
 * synchronized run measured the host call and the synchronization too,
 * comparable to the kernel's own time at these sizes (on an H200,
 * 2026-12-04: 0.04 ms for L=32's 6 MB, 0.06 ms for L=128's 50 MB).
 */
const KERNEL_LAUNCHES = 20;
function sruBandwidth(s: Size, device: string, repeats: number, copy: number): SruBenchRow[] {
  const n = native() as unknown as SruNative;
  const { L, B, d } = s;
  const opts = { d, dirs: 1, k: 3, hasSkipTerm: true, scaleX: 1, activation: 'identity' as const };
  return tidy(() => {
    const U = randn([L, B, 3 * d], { device }), x = randn([L, B, d], { device });
    const wc = randn([2 * d], { device }), bias = randn([2 * d], { device });
    const kernelMs = timeIt(() => {
      for (let i = 0; i < KERNEL_LAUNCHES; i++)
        for (const hnd of n.sruForward(U.handle, x.handle, wc.handle, bias.handle, null, null, opts)) wrap(hnd).dispose();
    }, device, repeats) / KERNEL_LAUNCHES;
    // The backward kernel (reads U, x, c, gh; writes gU, gx; its per-chain parameter sums are small).
    const [hH, cH, lastH] = n.sruForward(U.handle, x.handle, wc.handle, bias.handle, null, null, opts);
    const c = wrap(cH);
    wrap(hH).dispose();
    const gh = randn([L, B, d], { device }), gcLast = wrap(lastH);
    const backwardMs = timeIt(() => {
      for (let i = 0; i < KERNEL_LAUNCHES; i++)
        for (const g of n.sruBackward(U.handle, x.handle, wc.handle, bias.handle, null, null, c.handle, gh.handle, gcLast.handle, opts, null)) if (g) wrap(g).dispose();
    }, device, repeats) / KERNEL_LAUNCHES;
    const bytes = 4 * L * B * d * (3 + 1 + 2), backwardBytes = 4 * L * B * d * (3 + 1 + 1 + 1 + 3 + 1);
    return [
      { suite: 'sru', case: caseName(s, 'recurrence kernel'), device, impl: 'antler-sru-kernel', ms: kernelMs, gbps: bytes / kernelMs / 1e6 },
      { suite: 'sru', case: caseName(s, 'recurrence kernel'), device, impl: 'antler-sru-backward-kernel', ms: backwardMs, gbps: backwardBytes / backwardMs / 1e6 },
      { suite: 'sru', case: caseName(s, 'recurrence kernel'), device, impl: 'device-copy-512MiB', ms: copy, gbps: COPY_BYTES / copy / 1e6 },
    ];
  });
}

/** The most time one GPU measurement's repeats may take (after its warm-up run). */
const GPU_BUDGET_MS = 1500;

const caseName = (s: Size, pass: string) => `L=${s.L} d=${s.d} B=${s.B} ${pass}`;

/** Runs the suite and prints SRU-vs-peer ratios per device; returns rows for lib/bench.ts's JSON. */
export function benchSru(quick: boolean): SruBenchRow[] {
  const sizes: Size[] = quick
    ? [{ L: 32, d: 256, B: 32 }, { L: 128, d: 512, B: 32 }]
    : [{ L: 32, d: 256, B: 32 }, { L: 128, d: 512, B: 32 }, { L: 1024, d: 512, B: 16 }];
  // ANTLER_BENCH_DEVICES=cuda:0 skips the CPU rows (a GPU session's time is short).
  const devices = process.env.ANTLER_BENCH_DEVICES?.split(',').map((d) => d.trim()).filter(Boolean) ?? ['cpu', ...(backends().cuda.available ? ['cuda:0'] : [])];
  const repeatsFor = (s: Size, device: string) => (device === 'cpu' ? (s.L >= 1024 ? 2 : quick ? 3 : 5) : quick ? 5 : 20);
  const rows: SruBenchRow[] = [];
  for (const device of devices) {
    const copy = device === 'cpu' ? 0 : copyMs(device, quick ? 5 : 20);
    for (const s of sizes) {
      const repeats = repeatsFor(s, device);
      const x = randn([s.L, s.B, s.d], { device });
      const fused = new SRU(s.d, s.d, { numLayers: 1, device });
      const ref = new SRU(s.d, s.d, { numLayers: 1, device, impl: 'reference' });
      const lstm = new OpLstm(s.d, s.d, device);
      const fusedLstm = new LSTM(s.d, s.d, { mode: 'sequential', device });
      const fusedGru = new GRU(s.d, s.d, { mode: 'sequential', device });
      // The fourth entry: ANTLER_CELL_WALK while it runs (read by the addon at each launch).
      const impls: [string, (x: Tensor) => Tensor, () => void, string?][] = [
        ['antler-sru', (v) => fused.forward(v).output, () => fused.zeroGrad()],
        ['antler-sru-ops', (v) => ref.forward(v).output, () => ref.zeroGrad()],
        ['antler-lstm', (v) => fusedLstm.forward(v).output, () => fusedLstm.zeroGrad()],
        ['antler-gru', (v) => fusedGru.forward(v).output, () => fusedGru.zeroGrad()],
        ['antler-lstm-ops', (v) => lstm.forward(v), () => lstm.zeroGrad()],
      ];
      // On CUDA, wide layers' sequential walks run over the whole grid; the block walks beside them.
      if (device !== 'cpu' && s.d >= 257) impls.push(['antler-lstm-block-walk', (v) => fusedLstm.forward(v).output, () => fusedLstm.zeroGrad(), 'block']);
      // A GPU session's time is short: each measurement gets at most GPU_BUDGET_MS of repeats
      // (antler's sequential LSTM and the op-by-op peers take about a second a run at L = 1024).
      const measure = (fn: () => void) => (device === 'cpu' ? timeIt(fn, device, repeats) : timeWithin(fn, device, GPU_BUDGET_MS, repeats).ms);
      for (const [impl, f, zero, walk] of impls) {
        const before = process.env.ANTLER_CELL_WALK;
        if (walk !== undefined) process.env.ANTLER_CELL_WALK = walk;
        let fwd: number, fb: number;
        try {
          fwd = measure(() => tidy(() => noGrad(() => void f(x))));
          fb = measure(() => {
            zero();
            tidy(() => sum(f(x)).backward());
          });
        } finally {
          if (before === undefined) delete process.env.ANTLER_CELL_WALK;
          else process.env.ANTLER_CELL_WALK = before;
        }
        zero();
        rows.push({ suite: 'sru', case: caseName(s, 'fwd'), device, impl, ms: fwd });
        rows.push({ suite: 'sru', case: caseName(s, 'fwd+bwd'), device, impl, ms: fb });
      }
      x.dispose();
      for (const m of [fused, ref, lstm, fusedLstm, fusedGru]) m.dispose();
      if (device !== 'cpu') rows.push(...sruBandwidth(s, device, repeats, copy));
    }
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
        console.log(`  ${c.padEnd(26)} ${`${r.impl}/${r.device}`.padEnd(26)} ${r.ms.toFixed(2).padStart(10)}  ${r.gbps !== undefined ? `${r.gbps.toFixed(0)} GB/s` : base ? (r.ms / base.ms).toFixed(2) + 'x' : ''}`);
    }
  return rows;
}

// `node dist/bench-sru.js [--quick] [--out DIR]`: the same as `antler bench sru`.
if (require.main === module) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? args[outAt + 1] : path.join(process.cwd(), 'bench', 'results');
  // Required here, not at the top: lib/bench.ts imports this file.
  (require('./bench') as typeof import('./bench')).runBench('sru', { quick: args.includes('--quick'), out }).catch((e: Error) => {
    console.error(e.stack);
    process.exitCode = 1;
  });
}
