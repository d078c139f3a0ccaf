/**
 * `npm run bench -- linalg`: one large float64 matrix through each factorisation (LU, Cholesky, QR, solve,
 * inv, eigvalsh, eigh, svdvals, svd), antler under preferredLinalgLibrary 'default' (LAPACK from the opened
 * OpenBLAS on the CPU where it is faster) and 'builtin' (the kernels CUDA also runs), against PyTorch's
 * torch.linalg on the same matrices' sizes when python3 with torch is importable; on CUDA, antler's kernels
 * against PyTorch's (cuSOLVER/MAGMA). Each case's first row is antler 'default' on the CPU.
 */
import { BenchRow, runTorch, timeWithin } from './bench-timing';
import { backends, preferredLinalgLibrary, type LinalgLibrary } from './device';
import { tidy } from './engine';
import { add, matmul, mul, transpose } from './ops/core';
import { eye } from './ops/extra';
import * as L from './ops/linalg';
import { randn, Tensor } from './tensor';

const OPS = ['luFactor', 'cholesky', 'qr', 'solve', 'inv', 'eigvalsh', 'eigh', 'svdvals', 'svd'] as const;
type Op = (typeof OPS)[number];

function call(op: Op, A: Tensor, S: Tensor): void {
  switch (op) {
    case 'luFactor': return void L.luFactor(A);
    case 'cholesky': return void L.cholesky(S);
    case 'qr': return void L.qr(A);
    case 'solve': return void L.solve(A, A);
    case 'inv': return void L.inv(A);
    case 'eigvalsh': return void L.eigvalsh(S);
    case 'eigh': return void L.eigh(S);
    case 'svdvals': return void L.svdvals(A);
    case 'svd': return void L.svd(A, { fullMatrices: false });
  }
}

const caseName = (op: Op, n: number) => `${op} ${n}x${n} float64`;

function torchRows(sizes: number[], devices: string[], repeats: number, budgetMs: number): BenchRow[] | string {
  const r = runTorch<[string, string, number, number][]>(`
rows = []
for dev in [${devices.map((d) => `'${d === 'cpu' ? 'cpu' : 'cuda'}'`).join(', ')}]:
    for n in [${sizes.join(', ')}]:
        a = torch.randn(n, n, dtype=torch.float64, device=dev)
        s = a @ a.T + n * torch.eye(n, dtype=torch.float64, device=dev)
        ops = {'luFactor': lambda: torch.linalg.lu_factor(a), 'cholesky': lambda: torch.linalg.cholesky(s),
               'qr': lambda: torch.linalg.qr(a), 'solve': lambda: torch.linalg.solve(a, a), 'inv': lambda: torch.linalg.inv(a),
               'eigvalsh': lambda: torch.linalg.eigvalsh(s), 'eigh': lambda: torch.linalg.eigh(s),
               'svdvals': lambda: torch.linalg.svdvals(a), 'svd': lambda: torch.linalg.svd(a, full_matrices=False)}
        for name in [${OPS.map((o) => `'${o}'`).join(', ')}]:
            rows.append([dev, name, n, timed(ops[name], dev, ${repeats}, ${budgetMs})])
print(json.dumps(rows))
`, 600_000);
  if ('note' in r) return r.note;
  return r.result.map(([dev, op, n, ms]) => ({ suite: 'linalg', case: caseName(op as Op, n), device: dev === 'cpu' ? 'cpu' : 'cuda:0', impl: 'pytorch', ms }));
}

export function benchLinalg(quick: boolean): BenchRow[] {
  const sizes = quick ? [64, 256] : [64, 256, 512];
  const repeats = quick ? 5 : 11;
  const budgetMs = quick ? 2_000 : 6_000;
  const devices = ['cpu', ...(backends().cuda.available ? ['cuda:0'] : [])];
  const rows: BenchRow[] = [];
  const before = preferredLinalgLibrary();
  try {
    for (const device of devices)
      for (const n of sizes) {
        const A = randn([n, n], { dtype: 'float64', device, seed: 1 });
        const S = tidy(() => add(matmul(A, transpose(A)), mul(eye(n, n, { dtype: 'float64', device }), n)));
        // On CUDA the setting changes nothing (the kernels always run): one row.
        const libs: LinalgLibrary[] = device === 'cpu' ? ['default', 'builtin'] : ['default'];
        for (const op of OPS)
          for (const lib of libs) {
            preferredLinalgLibrary(lib);
            const { ms } = timeWithin(() => tidy(() => call(op, A, S)), device, budgetMs, repeats);
            rows.push({ suite: 'linalg', case: caseName(op, n), device, impl: device === 'cpu' ? `antler ${lib}` : 'antler', ms });
          }
        A.dispose();
        S.dispose();
      }
  } finally {
    preferredLinalgLibrary(before);
  }
  const torch = torchRows(sizes, devices, repeats, budgetMs);
  if (typeof torch === 'string') console.log(`  (${torch})`);
  else rows.push(...torch);
  // Each case's rows together, antler 'default' on the CPU first (the ratios are against it).
  const order = new Map(rows.map((r, i) => [r.case, i] as [string, number]).reverse());
  return rows.map((r, i) => ({ r, i })).sort((p, q) => order.get(p.r.case)! - order.get(q.r.case)! || p.i - q.i).map((p) => p.r);
}
