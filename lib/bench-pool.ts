/**
 * `npm run bench -- pool`: pooling on float32 shapes of common models, forward and forward + backward (the input's
 * gradient from the output's sum): ResNet's 3×3 stride-2 max pool stem, an average pool of the same geometry, the
 * classifier head's AdaptiveAvgPool2d(1) over a 7×7 feature map, adaptive pools to 7×7 and to 13×13 (windows that
 * overlap), and a max over time of a sequence model's features (adaptiveMaxPool1d(1)). antler's native kernels against
 * the composite they replaced (every window gathered; maxPoolComposite, adaptiveAvgPoolComposite, …: only where it is
 * cheap enough, flagged per case) and PyTorch on the same shapes when python3 with torch is importable.
 *
 * Interleaved: the suite runs `rounds` rounds, each timing every antler case, then every PyTorch case (one peer
 * script per round), so a change in the machine's load falls on both; a case's number is the median over rounds of
 * each round's median.
 */
import { BenchRow, median, runTorch, timeWithin } from './bench-timing';
import { backends } from './device';
import { tidy } from './engine';
import { sum } from './ops/core';
import {
  adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveAvgPoolComposite, adaptiveMaxPool1d, adaptiveMaxPool2d, adaptiveMaxPoolComposite,
  avgPool2d, avgPoolComposite, maxPool2d, maxPoolComposite,
} from './ops/pool';
import { randn, Tensor } from './tensor';

type PoolKind = 'max' | 'avg' | 'adaptiveMax' | 'adaptiveAvg';

interface PoolCase {
  name: string;
  kind: PoolKind;
  x: number[];
  /** Sliding: kernel 3, this stride and padding 1; adaptive: the output size per spatial axis. */
  stride?: number;
  out?: number[];
  /** Also timed on the composite (cheap enough there). */
  composite: boolean;
}

function cases(quick: boolean): PoolCase[] {
  const n = quick ? 4 : 1; // the quick grid: a quarter of the samples
  return [
    { name: `maxPool2d [${8 / n}, 64, 112, 112] 3x3 s2 p1`, kind: 'max', x: [8 / n, 64, 112, 112], stride: 2, composite: true },
    { name: `avgPool2d [${8 / n}, 64, 112, 112] 3x3 s2 p1`, kind: 'avg', x: [8 / n, 64, 112, 112], stride: 2, composite: true },
    { name: `adaptiveAvgPool2d [${32 / n}, 512, 7, 7] -> 1`, kind: 'adaptiveAvg', x: [32 / n, 512, 7, 7], out: [1, 1], composite: true },
    { name: `adaptiveAvgPool2d [${8 / n}, 256, 56, 56] -> 7x7`, kind: 'adaptiveAvg', x: [8 / n, 256, 56, 56], out: [7, 7], composite: true },
    { name: `adaptiveMaxPool2d [${8 / n}, 256, 56, 56] -> 7x7`, kind: 'adaptiveMax', x: [8 / n, 256, 56, 56], out: [7, 7], composite: true },
    { name: `adaptiveAvgPool2d [${8 / n}, 64, 56, 56] -> 13x13`, kind: 'adaptiveAvg', x: [8 / n, 64, 56, 56], out: [13, 13], composite: true },
    { name: `adaptiveMaxPool1d [${16 / n}, 512, 4096] -> 1`, kind: 'adaptiveMax', x: [16 / n, 512, 4096], out: [1], composite: false },
    { name: `adaptiveAvgPool1d [${16 / n}, 512, 4096] -> 1`, kind: 'adaptiveAvg', x: [16 / n, 512, 4096], out: [1], composite: false },
  ];
}

type Impl = 'antler' | 'antler composite';

function pool(c: PoolCase, impl: Impl, x: Tensor): Tensor {
  const k = (c.x.length - 2) as 1 | 2;
  const out = (k === 1 ? c.out![0] : c.out) as never;
  const o = { stride: c.stride, padding: 1 };
  if (impl === 'antler composite') {
    if (c.kind === 'max') return maxPoolComposite(2, x, 3, o) as Tensor;
    if (c.kind === 'avg') return avgPoolComposite(2, x, 3, o);
    if (c.kind === 'adaptiveMax') return adaptiveMaxPoolComposite(k, x, out) as Tensor;
    return adaptiveAvgPoolComposite(k, x, out);
  }
  if (c.kind === 'max') return maxPool2d(x, 3, o);
  if (c.kind === 'avg') return avgPool2d(x, 3, o);
  if (c.kind === 'adaptiveMax') return k === 1 ? adaptiveMaxPool1d(x, out) : adaptiveMaxPool2d(x, out);
  return k === 1 ? adaptiveAvgPool1d(x, out) : adaptiveAvgPool2d(x, out);
}

/**
 * fn timed by timeWithin after a warm-up of its own: timeWithin reports its warm-up alone when that run exceeds the
 * budget, and a case's first run pays for the allocator's fresh pages (the [16, 512, 4096] max pool's first fwd+bwd
 * took 2.7 s, the next ones 0.2 s on the loaded 2-core machine), which is not the pool's cost.
 */
function timeWarm(fn: () => void, device: string, budgetMs: number, repeats: number): number {
  fn();
  return timeWithin(fn, device, budgetMs, repeats).ms;
}

/** Forward, and forward + backward (into a fresh leaf's .grad, dropped after each run), of one case. */
function timeCase(c: PoolCase, impl: Impl, device: string, repeats: number, budgetMs: number): { fwd: number; fwdBwd: number } {
  const x = randn(c.x, { device });
  const fwd = timeWarm(() => tidy(() => void pool(c, impl, x)), device, budgetMs, repeats);
  x.requiresGrad = true;
  const fwdBwd = timeWarm(() => tidy(() => {
    sum(pool(c, impl, x)).backward();
    x.grad = null;
  }), device, budgetMs, repeats);
  x.dispose();
  return { fwd, fwdBwd };
}

/** One round of the PyTorch peer over every case: [name, fwd ms, fwd+bwd ms] each. */
function torchRound(cs: PoolCase[], repeats: number, budgetMs: number): [string, number, number][] | string {
  const r = runTorch<[string, number, number][]>(`
import torch.nn.functional as F
rows = []
for name, kind, xs, stride, out in ${JSON.stringify(cs.map((c) => [c.name, c.kind, c.x, c.stride ?? 0, c.out ?? []]))}:
    k = len(xs) - 2
    if kind == 'max': f = lambda t: F.max_pool2d(t, 3, stride=stride, padding=1)
    elif kind == 'avg': f = lambda t: F.avg_pool2d(t, 3, stride=stride, padding=1)
    elif kind == 'adaptiveMax': f = (lambda t: F.adaptive_max_pool1d(t, out[0])) if k == 1 else (lambda t: F.adaptive_max_pool2d(t, out))
    else: f = (lambda t: F.adaptive_avg_pool1d(t, out[0])) if k == 1 else (lambda t: F.adaptive_avg_pool2d(t, out))
    x = torch.randn(xs)
    f(x)  # warm-up, as antler's (timeWarm)
    fwd = timed(lambda: f(x), 'cpu', ${repeats}, ${budgetMs})
    x.requires_grad_()
    def step():
        f(x).sum().backward()
        x.grad = None
    step()
    rows.append([name, fwd, timed(step, 'cpu', ${repeats}, ${budgetMs})])
print(json.dumps(rows))
`, 900_000);
  return 'note' in r ? r.note : r.result;
}

export function benchPool(quick: boolean): BenchRow[] {
  const cs = cases(quick);
  const rounds = quick ? 2 : 3;
  const repeats = quick ? 3 : 5;
  const budgetMs = quick ? 1_500 : 4_000;
  const devices = ['cpu', ...(backends().cuda.available ? ['cuda:0'] : [])];
  // Per (case, device, impl, pass): each round's median.
  const times = new Map<string, { row: Omit<BenchRow, 'ms'>; ms: number[] }>();
  const add = (row: Omit<BenchRow, 'ms'>, ms: number) => {
    const key = `${row.case}|${row.device}|${row.impl}`;
    if (!times.has(key)) times.set(key, { row, ms: [] });
    times.get(key)!.ms.push(ms);
  };
  let torchNote = '';
  for (let round = 0; round < rounds; round++) {
    for (const c of cs)
      for (const device of devices)
        for (const impl of (c.composite && device === 'cpu' ? ['antler', 'antler composite'] : ['antler']) as Impl[]) {
          const t = timeCase(c, impl, device, repeats, budgetMs);
          add({ suite: 'pool', case: `${c.name} fwd`, device, impl }, t.fwd);
          add({ suite: 'pool', case: `${c.name} fwd+bwd`, device, impl }, t.fwdBwd);
        }
    if (torchNote) continue;
    const torch = torchRound(cs, repeats, budgetMs);
    if (typeof torch === 'string') torchNote = torch;
    else
      for (const [name, fwd, fwdBwd] of torch) {
        add({ suite: 'pool', case: `${name} fwd`, device: 'cpu', impl: 'pytorch' }, fwd);
        add({ suite: 'pool', case: `${name} fwd+bwd`, device: 'cpu', impl: 'pytorch' }, fwdBwd);
      }
  }
  if (torchNote) console.log(`  (${torchNote})`);
  const rows: BenchRow[] = [...times.values()].map(({ row, ms }) => ({ ...row, ms: median(ms) }));
  // Each case's rows together (the table's ratios are against its first row, antler on the CPU).
  const order = [...new Set(rows.map((r) => r.case))];
  return order.flatMap((name) => rows.filter((r) => r.case === name));
}
