/**
 * `npm run bench -- grid`: gridSample (F.grid_sample) on the shapes of a spatial transformer ([8, 3, 128, 128]
 * bilinear), a bicubic warp of one channel ([16, 1, 64, 64]) and a trilinear 5-D warp ([2, 4, 16, 32, 32]),
 * each at a grid of the input's size with values in [−1.1, 1.1]: forward and forward + backward (x's and the
 * grid's gradients from the output's sum), the native kernels against the composite they replaced
 * (gridSampleComposite, same run) and PyTorch on the same shapes when python3 with torch is importable. Also
 * prints the memory each antler path holds after the forward, in output-sized tensors.
 */
import { BenchRow, runTorch, timeWithin } from './bench-timing';
import { backends } from './device';
import { tidy } from './engine';
import { memory } from './memory';
import { sub, mul, sum } from './ops/core';
import { gridSample, gridSampleComposite, GridSampleMode } from './ops/grid';
import { rand, randn, Tensor } from './tensor';

interface GridCase {
  name: string;
  x: number[];
  mode: GridSampleMode;
}

function cases(quick: boolean): GridCase[] {
  const n = quick ? 4 : 1;
  return [
    { name: `bilinear [${8 / n}, 3, 128, 128]`, x: [8 / n, 3, 128, 128], mode: 'bilinear' },
    { name: `bicubic [${16 / n}, 1, 64, 64]`, x: [16 / n, 1, 64, 64], mode: 'bicubic' },
    { name: `trilinear [${4 / n}, 4, 16, 32, 32]`, x: [4 / n, 4, 16, 32, 32], mode: 'bilinear' },
  ];
}

type Impl = 'antler' | 'antler composite';

function sample(c: GridCase, impl: Impl, x: Tensor, g: Tensor): Tensor {
  return impl === 'antler' ? gridSample(x, g, { mode: c.mode }) : gridSampleComposite(x, g, c.mode, 'zeros', false);
}

function timeCase(c: GridCase, impl: Impl, device: string, repeats: number, budgetMs: number): { fwd: number; fwdBwd: number; held: number } {
  const dims = c.x.length - 2;
  const x = randn(c.x, { device });
  const g = tidy(() => sub(mul(rand([c.x[0], ...c.x.slice(2), dims], { device }), 2.2), 1.1));
  const fwd = timeWithin(() => tidy(() => void sample(c, impl, x, g)), device, budgetMs, repeats).ms;
  [x, g].forEach((t) => (t.requiresGrad = true));
  const before = memory().numBytes;
  const y = sample(c, impl, x, g);
  const held = (memory().numBytes - before) / (y.size * 4);
  y.dispose();
  const fwdBwd = timeWithin(() => tidy(() => {
    sum(sample(c, impl, x, g)).backward();
    [x, g].forEach((t) => (t.grad = null));
  }), device, budgetMs, repeats).ms;
  [x, g].forEach((t) => t.dispose());
  return { fwd, fwdBwd, held };
}

function torchRows(cs: GridCase[], repeats: number, budgetMs: number): BenchRow[] | string {
  const r = runTorch<[string, number, number][]>(`
import torch.nn.functional as F
rows = []
for name, xs, mode in ${JSON.stringify(cs.map((c) => [c.name, c.x, c.mode]))}:
    dims = len(xs) - 2
    x = torch.randn(xs); g = torch.rand([xs[0], *xs[2:], dims]) * 2.2 - 1.1
    fwd = timed(lambda: F.grid_sample(x, g, mode=mode, align_corners=False), 'cpu', ${repeats}, ${budgetMs})
    for t in (x, g): t.requires_grad_()
    def step():
        F.grid_sample(x, g, mode=mode, align_corners=False).sum().backward()
        for t in (x, g): t.grad = None
    rows.append([name, fwd, timed(step, 'cpu', ${repeats}, ${budgetMs})])
print(json.dumps(rows))
`, 900_000);
  if ('note' in r) return r.note;
  return r.result.flatMap(([name, fwd, fwdBwd]) => [
    { suite: 'grid', case: `${name} fwd`, device: 'cpu', impl: 'pytorch', ms: fwd },
    { suite: 'grid', case: `${name} fwd+bwd`, device: 'cpu', impl: 'pytorch', ms: fwdBwd },
  ]);
}

export function benchGrid(quick: boolean): BenchRow[] {
  const cs = cases(quick);
  const repeats = quick ? 3 : 9;
  const budgetMs = quick ? 2_000 : 8_000;
  const devices = ['cpu', ...(backends().cuda.available ? ['cuda:0'] : [])];
  const rows: BenchRow[] = [];
  for (const c of cs)
    for (const device of devices)
      for (const impl of ['antler', 'antler composite'] as Impl[]) {
        const t = timeCase(c, impl, device, repeats, budgetMs);
        console.log(`  ${c.name} ${impl} on ${device}: ${t.held.toFixed(2)} output-sized tensors held after the forward`);
        rows.push({ suite: 'grid', case: `${c.name} fwd`, device, impl, ms: t.fwd }, { suite: 'grid', case: `${c.name} fwd+bwd`, device, impl, ms: t.fwdBwd });
      }
  const torch = torchRows(cs, repeats, budgetMs);
  if (typeof torch === 'string') console.log(`  (${torch})`);
  else rows.push(...torch);
  const order = [...new Set(rows.map((r) => r.case))];
  return order.flatMap((name) => rows.filter((r) => r.case === name));
}
