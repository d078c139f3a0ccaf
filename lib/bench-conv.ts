/**
 * `npm run bench -- conv`: the convolutions on float32 shapes of common models, forward and forward + backward
 * (the gradients of the input, weight and bias from a sum of the output): a dense conv2d (ResNet's 3×3), a
 * depthwise conv2d (MobileNet's 3×3, groups = channels), the short causal depthwise conv1d of recent sequence
 * models (kernel 4, padding 3, groups = channels), a grouped conv2d (8 groups) and a conv3d; antler against PyTorch
 * on the same shapes when python3 with torch is importable. The depthwise rows also time antler's row gather (the
 * im2col the dense convolutions use, which the depthwise path replaced), measured in the same run.
 */
import { BenchRow, runTorch, timeWithin } from './bench-timing';
import { backends } from './device';
import { tidy } from './engine';
import { sum } from './ops/core';
import { conv1d, conv2d, conv3d, convPaths } from './ops/conv';
import { randn, Tensor } from './tensor';

interface ConvCase {
  name: string;
  rank: 1 | 2 | 3;
  x: number[];
  w: number[];
  padding: number;
  groups: number;
  /** Also timed with the depthwise path off (the row gather). */
  gather?: boolean;
}

function cases(quick: boolean): ConvCase[] {
  const n = quick ? 4 : 1; // the quick grid: a quarter of the samples
  return [
    { name: `conv2d dense [${32 / n}, 64, 56, 56] 64x3x3 p1`, rank: 2, x: [32 / n, 64, 56, 56], w: [64, 64, 3, 3], padding: 1, groups: 1 },
    { name: `conv2d depthwise [${32 / n}, 128, 56, 56] 3x3 p1`, rank: 2, x: [32 / n, 128, 56, 56], w: [128, 1, 3, 3], padding: 1, groups: 128, gather: true },
    { name: `conv1d depthwise causal [${16 / n}, 512, 1024] k4 p3`, rank: 1, x: [16 / n, 512, 1024], w: [512, 1, 4], padding: 3, groups: 512, gather: true },
    { name: `conv2d groups 8 [${32 / n}, 64, 56, 56] 64x3x3 p1`, rank: 2, x: [32 / n, 64, 56, 56], w: [64, 8, 3, 3], padding: 1, groups: 8 },
    { name: `conv3d [${8 / n}, 32, 16, 32, 32] 32x3x3x3 p1`, rank: 3, x: [8 / n, 32, 16, 32, 32], w: [32, 32, 3, 3, 3], padding: 1, groups: 1 },
  ];
}

const CONVS = { 1: conv1d, 2: conv2d, 3: conv3d } as const;

function run(c: ConvCase, x: Tensor, w: Tensor, b: Tensor): Tensor {
  return (CONVS[c.rank] as (x: Tensor, w: Tensor, b: Tensor, o: object) => Tensor)(x, w, b, { padding: c.padding, groups: c.groups });
}

/** Forward, and forward + backward (into fresh leaves' .grad, dropped after each run), of one case on one device. */
function timeCase(c: ConvCase, device: string, repeats: number, budgetMs: number): { fwd: number; fwdBwd: number } {
  const x = randn(c.x, { device }), w = randn(c.w, { device }), b = randn([c.w[0]], { device });
  const fwd = timeWithin(() => tidy(() => void run(c, x, w, b)), device, budgetMs, repeats).ms;
  [x, w, b].forEach((t) => (t.requiresGrad = true));
  const fwdBwd = timeWithin(() => tidy(() => {
    sum(run(c, x, w, b)).backward();
    [x, w, b].forEach((t) => (t.grad = null));
  }), device, budgetMs, repeats).ms;
  [x, w, b].forEach((t) => t.dispose());
  return { fwd, fwdBwd };
}

function torchRows(cs: ConvCase[], repeats: number, budgetMs: number): BenchRow[] | string {
  const r = runTorch<[string, number, number][]>(`
import torch.nn.functional as F
rows = []
for name, rank, xs, ws, p, g in ${JSON.stringify(cs.map((c) => [c.name, c.rank, c.x, c.w, c.padding, c.groups]))}:
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[rank]
    x = torch.randn(xs); w = torch.randn(ws); b = torch.randn(ws[0])
    fwd = timed(lambda: conv(x, w, b, padding=p, groups=g), 'cpu', ${repeats}, ${budgetMs})
    for t in (x, w, b): t.requires_grad_()
    def step():
        conv(x, w, b, padding=p, groups=g).sum().backward()
        for t in (x, w, b): t.grad = None
    rows.append([name, fwd, timed(step, 'cpu', ${repeats}, ${budgetMs})])
print(json.dumps(rows))
`, 900_000);
  if ('note' in r) return r.note;
  return r.result.flatMap(([name, fwd, fwdBwd]) => [
    { suite: 'conv', case: `${name} fwd`, device: 'cpu', impl: 'pytorch', ms: fwd },
    { suite: 'conv', case: `${name} fwd+bwd`, device: 'cpu', impl: 'pytorch', ms: fwdBwd },
  ]);
}

export function benchConv(quick: boolean): BenchRow[] {
  const cs = cases(quick);
  const repeats = quick ? 3 : 9;
  const budgetMs = quick ? 2_000 : 8_000;
  const devices = ['cpu', ...(backends().cuda.available ? ['cuda:0'] : [])];
  const rows: BenchRow[] = [];
  for (const c of cs) {
    for (const device of devices) {
      const t = timeCase(c, device, repeats, budgetMs);
      rows.push({ suite: 'conv', case: `${c.name} fwd`, device, impl: 'antler', ms: t.fwd }, { suite: 'conv', case: `${c.name} fwd+bwd`, device, impl: 'antler', ms: t.fwdBwd });
    }
    if (c.gather) {
      convPaths.depthwise = false;
      try {
        const t = timeCase(c, 'cpu', repeats, budgetMs);
        rows.push({ suite: 'conv', case: `${c.name} fwd`, device: 'cpu', impl: 'antler row gather', ms: t.fwd }, { suite: 'conv', case: `${c.name} fwd+bwd`, device: 'cpu', impl: 'antler row gather', ms: t.fwdBwd });
      } finally {
        convPaths.depthwise = true;
      }
    }
  }
  const torch = torchRows(cs, repeats, budgetMs);
  if (typeof torch === 'string') console.log(`  (${torch})`);
  else rows.push(...torch);
  // Each case's rows together (the table's ratios are against its first row, antler on the CPU).
  const order = [...new Set(rows.map((r) => r.case))];
  return order.flatMap((name) => rows.filter((r) => r.case === name));
}
