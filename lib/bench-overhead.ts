/**
 * `npm run bench -- overhead`: what small ops cost beyond their arithmetic
 * (argument checks, the N-API call, handle and tensor objects, autograd's
 * bookkeeping), on tensors so small that the arithmetic is negligible, against
 * PyTorch doing the same in the same run when python3 with torch is
 * importable. Each row times a batch of 1000 repetitions; its case says what
 * one repetition does.
 */
import { BenchRow, runTorch, timeIt } from './bench-timing';
import { backends } from './device';
import { noGrad } from './autograd/graph';
import { tidy } from './engine';
import { add, matmul, sum, tanh } from './ops/core';
import { randn, Tensor } from './tensor';

const REPS = 1000;

interface Case {
  name: string;
  /** One repetition, given x [16, 2], y [16, 2] and W [2, 2] (W requires grad). */
  run: (x: Tensor, y: Tensor, W: Tensor) => void;
  /** The same in PyTorch (x, y, W defined alike), one Python statement block. */
  torch: string;
}

const CASES: Case[] = [
  {
    name: 'add [16,2], freed',
    run: (x, y) => add(x, y).dispose(),
    torch: 'with torch.no_grad(): x + y',
  },
  {
    name: 'x@W, tanh, +x (no grad)',
    run: (x, _y, W) => noGrad(() => tidy(() => void add(tanh(matmul(x, W)), x))),
    torch: 'with torch.no_grad(): torch.tanh(x @ W) + x',
  },
  {
    name: 'x@W, tanh, +x, sum, backward',
    run: (x, _y, W) => {
      tidy(() => sum(add(tanh(matmul(x, W)), x)).backward());
      W.zeroGrad();
    },
    torch: '(torch.tanh(x @ W) + x).sum().backward(); W.grad = None',
  },
];

const caseName = (c: Case, device: string) => `${c.name} ×${REPS} ${device === 'cpu' ? 'cpu' : 'cuda'}`;

function antlerRows(device: string, repeats: number): BenchRow[] {
  const x = randn([16, 2], { device, seed: 1 });
  const y = randn([16, 2], { device, seed: 2 });
  const W = randn([2, 2], { device, seed: 3, requiresGrad: true });
  try {
    return CASES.map((c) => {
      const batch = () => {
        for (let i = 0; i < REPS; i++) c.run(x, y, W);
      };
      // Warm the JIT up first: these loops are short enough for its tiers to show.
      for (let k = 0; k < 10; k++) batch();
      const ms = timeIt(batch, device, repeats);
      return { suite: 'overhead', case: caseName(c, device), device, impl: 'antler', ms };
    });
  } finally {
    for (const t of [x, y, W]) t.dispose();
  }
}

function torchRows(devices: string[], repeats: number): BenchRow[] | string {
  const fns = CASES.map((c, i) => `def case${i}():\n    for _ in range(${REPS}):\n        ${c.torch}`).join('\n');
  const r = runTorch<[string, number, number][]>(`
rows = []
for dev in [${devices.map((d) => `'${d === 'cpu' ? 'cpu' : 'cuda'}'`).join(', ')}]:
    x = torch.randn(16, 2, device=dev); y = torch.randn(16, 2, device=dev)
    W = torch.randn(2, 2, device=dev, requires_grad=True)
${fns.split('\n').map((l) => '    ' + l).join('\n')}
    for i, fn in enumerate([${CASES.map((_, i) => `case${i}`).join(', ')}]):
        for _ in range(10): fn()
        rows.append([dev, i, timed(fn, dev, ${repeats})])
print(json.dumps(rows))
`, 300_000);
  if ('note' in r) return r.note;
  return r.result.map(([dev, i, ms]) => {
    const device = dev === 'cpu' ? 'cpu' : 'cuda:0';
    return { suite: 'overhead', case: caseName(CASES[i], device), device, impl: 'pytorch', ms };
  });
}

export function benchOverhead(quick: boolean): BenchRow[] {
  const repeats = quick ? 5 : 15;
  const devices = ['cpu', ...(backends().cuda.available ? ['cuda:0'] : [])];
  const torch = torchRows(devices, repeats);
  if (typeof torch === 'string') console.log(`  (${torch})`);
  const rows: BenchRow[] = [];
  for (const device of devices) {
    const ours = antlerRows(device, repeats);
    for (const row of ours) {
      rows.push(row);
      if (typeof torch !== 'string') rows.push(...torch.filter((t) => t.case === row.case));
    }
  }
  return rows;
}
