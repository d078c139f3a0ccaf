/**
 * `npm run bench -- ode`: a neural ODE dy/dt = W2 tanh(W1 y + b1) + b2 (n
 * states, 64 hidden units, batch 16) over T grid steps, solved by DEER
 * (deer.solveIVP, Newton over the whole grid) against classical RK4 on the
 * same grid (one step after another, the sequential baseline), forward and
 * forward + gradient (DEER's implicit adjoint against RK4's backprop through
 * the steps), on every device, with PyTorch's RK4 loop over the same field as
 * a peer when python3 with torch is importable. DEER's answer is a
 * second-order solution on the grid, RK4's a fourth-order one: the table
 * compares cost on one grid, not accuracy.
 */
import { BenchRow, runTorch, timeWithin } from './bench-timing';
import { solveIVP } from './deer/ode';
import type { OdeFunc, OdeMethod } from './deer/ode';
import { backends } from './device';
import { tidy } from './engine';
import { add, matmul, sum, tanh } from './ops/core';
import { randn, Tensor } from './tensor';

interface OdeCase { n: number; T: number; dtype: 'float32' | 'float64' }
const H = 64, B = 16, T_END = 5;

const caseName = (c: OdeCase, pass: string, device: string) => `ODE n=${c.n} T=${c.T} ${c.dtype} ${pass} ${device === 'cpu' ? 'cpu' : 'cuda'}`;

function antlerRows(c: OdeCase, device: string, budgetMs: number): BenchRow[] {
  const opts = { dtype: c.dtype, device };
  const W1 = randn([H, c.n], { ...opts, seed: 1, stddev: 1 / Math.sqrt(c.n) }).requiresGrad_(true);
  const b1 = randn([H], { ...opts, seed: 2, stddev: 0.1 }).requiresGrad_(true);
  const W2 = randn([c.n, H], { ...opts, seed: 3, stddev: 1 / Math.sqrt(H) }).requiresGrad_(true);
  const b2 = randn([c.n], { ...opts, seed: 4, stddev: 0.1 }).requiresGrad_(true);
  const y0 = randn([B, c.n], { ...opts, seed: 5 });
  const params = [W1, b1, W2, b2];
  const f: OdeFunc = (_t, y) => add(matmul(tanh(add(matmul(y, W1, { transposeB: true }), b1)), W2, { transposeB: true }), b2);
  const grid = Array.from({ length: c.T + 1 }, (_, i) => (T_END * i) / c.T);
  const rows: BenchRow[] = [];
  try {
    for (const pass of ['forward', 'fwd+grad'] as const)
      for (const method of ['rk4', 'deer'] as OdeMethod[]) {
        let iterations = 0;
        const run = () => {
          tidy(() => {
            const { y, stats } = solveIVP(f, y0, grid, { method });
            iterations = stats.iterations;
            if (pass === 'fwd+grad') sum(y).backward();
            else y.dataSync();
          });
          for (const p of params) {
            p.grad?.dispose();
            p.grad = null;
          }
        };
        const { ms } = timeWithin(run, device, budgetMs, 5);
        rows.push({ suite: 'ode', case: caseName(c, pass, device), device, impl: method === 'rk4' ? 'antler rk4 (sequential)' : `antler deer (${iterations} iterations)`, ms });
      }
  } finally {
    [...params, y0].forEach((t: Tensor) => t.dispose());
  }
  return rows;
}

function torchRows(cases: OdeCase[], devices: string[], budgetMs: number): BenchRow[] | string {
  const r = runTorch<[number, number, string, string, string, number][]>(`
rows = []
for dev in [${devices.map((d) => `'${d === 'cpu' ? 'cpu' : 'cuda'}'`).join(', ')}]:
    for n, T, dt in [${cases.map((c) => `(${c.n}, ${c.T}, '${c.dtype}')`).join(', ')}]:
        dtype = torch.float32 if dt == 'float32' else torch.float64
        torch.manual_seed(0)
        W1 = (torch.randn(${H}, n, dtype=dtype, device=dev) / n ** 0.5).requires_grad_()
        b1 = (0.1 * torch.randn(${H}, dtype=dtype, device=dev)).requires_grad_()
        W2 = (torch.randn(n, ${H}, dtype=dtype, device=dev) / ${H} ** 0.5).requires_grad_()
        b2 = (0.1 * torch.randn(n, dtype=dtype, device=dev)).requires_grad_()
        y0 = torch.randn(${B}, n, dtype=dtype, device=dev)
        f = lambda y: torch.tanh(y @ W1.T + b1) @ W2.T + b2
        h = ${T_END} / T
        def solve():
            ys = [y0]; y = y0
            for i in range(T):
                k1 = f(y); k2 = f(y + h / 2 * k1); k3 = f(y + h / 2 * k2); k4 = f(y + h * k3)
                y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
                ys.append(y)
            return torch.stack(ys)
        def forward():
            with torch.no_grad(): solve().sum().item()
        def grad():
            for p in (W1, b1, W2, b2): p.grad = None
            solve().sum().backward()
        rows.append([n, T, dt, dev, 'forward', timed(forward, dev, 5, ${budgetMs})])
        rows.append([n, T, dt, dev, 'fwd+grad', timed(grad, dev, 5, ${budgetMs})])
print(json.dumps(rows))
`, 1_200_000);
  if ('note' in r) return r.note;
  return r.result.map(([n, T, dtype, dev, pass, ms]) => {
    const device = dev === 'cpu' ? 'cpu' : 'cuda:0';
    return { suite: 'ode', case: caseName({ n, T, dtype: dtype as OdeCase['dtype'] }, pass, device), device, impl: 'pytorch rk4 (sequential)', ms };
  });
}

export function benchOde(quick: boolean): BenchRow[] {
  // ANTLER_BENCH_DEVICES=cuda:0 skips the CPU rows (a GPU session's time is short).
  const devices = process.env.ANTLER_BENCH_DEVICES?.split(',').map((d) => d.trim()).filter(Boolean) ?? ['cpu', ...(backends().cuda.available ? ['cuda:0'] : [])];
  const rows: BenchRow[] = [];
  for (const device of devices) {
    const cases: OdeCase[] = quick
      ? [{ n: 2, T: 1000, dtype: 'float32' }]
      : device === 'cpu'
        ? [{ n: 2, T: 1000, dtype: 'float32' }, { n: 8, T: 1000, dtype: 'float32' }, { n: 2, T: 10000, dtype: 'float32' }, { n: 8, T: 1000, dtype: 'float64' }]
        : [...[1000, 10000, 100000].flatMap((T) => [1, 2, 8, 16].map((n): OdeCase => ({ n, T, dtype: 'float32' }))), { n: 8, T: 10000, dtype: 'float64' }];
    const budget = quick ? 2000 : 8000;
    const torch = torchRows(cases, [device], budget);
    if (typeof torch === 'string') console.log(`  (${torch})`);
    for (const c of cases) {
      const mine = antlerRows(c, device, budget);
      for (const pass of ['forward', 'fwd+grad']) {
        const name = caseName(c, pass, device);
        rows.push(...mine.filter((r) => r.case === name));
        if (typeof torch !== 'string') rows.push(...torch.filter((r) => r.case === name));
      }
    }
  }
  return rows;
}
