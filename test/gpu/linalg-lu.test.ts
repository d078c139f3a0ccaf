// The native kernels of lib/ops/linalg-lu.ts (native/cuda/linalg_lu.cu: one thread block per matrix)
// on CUDA against the CPU (native/cpu/linalg_lu.cpp), which runs the same math (kernels/linalg_lu.h)
// on one lane: random batches of several sizes (block sizes from 32 to 256 threads, the batch
// grid-strided), both triangles and sides, float32 and float64. The CPU side runs its built-in kernels
// (preferredLinalgLibrary('builtin')): under 'default' matrices from 16 on go to LAPACK, whose blocked
// order rounds otherwise, so small-integer matrices (ties in |a| but for rounding) would pivot otherwise
// (measured: 33×20 of integers in [−2, 1], about 1 in 30). The op registry (opinfo.test.ts) runs the
// gradients on CUDA too. Skips where no GPU is usable.
import * as antler from '../../lib';
import { expectClose, makeSeededRng, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('linalg-lu tests');

beforeAll(() => antler.preferredLinalgLibrary('builtin'));
afterAll(() => antler.preferredLinalgLibrary('default'));

const emulated = process.env.ANTLER_GPU_EMULATED === '1';
const read = (t: antler.Tensor) => Array.from(t.dataSync());
const both = (values: number[], shape: number[], dtype: 'float32' | 'float64') =>
  ['cpu', 'cuda:0'].map((device) => antler.tensor(values, shape, { dtype, device }));

/** Batches of n×n matrices with entries in [−0.5, 0.5) and the diagonal ±[1, 2): well conditioned. */
function wellConditioned(B: number, n: number): number[] {
  const v = randomArray(rng, B * n * n, -0.5, 0.5);
  for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) v[b * n * n + i * n + i] = (rng.next() < 0.5 ? -1 : 1) * (1 + rng.next());
  return v;
}

run(`linalg (lu family) on CUDA vs CPU (seed ${rng.seed})`, () => {
  test('solveTriangular: both triangles and sides, unit diagonals, batches', () =>
    antler.tidy(() => {
      const sizes = emulated ? [[3, 1, 1], [2, 5, 3], [5, 9, 4]] : [[3, 1, 1], [2, 5, 3], [40, 9, 4], [3, 33, 17], [1, 64, 80], [500, 6, 2]];
      for (const [B, n, k] of sizes)
        for (const dtype of ['float32', 'float64'] as const)
          for (const [upper, left, unit] of [[true, true, false], [false, true, true], [true, false, true], [false, false, false]] as const) {
            const [ac, ag] = both(wellConditioned(B, n), [B, n, n], dtype);
            const [bc, bg] = both(randomArray(rng, B * n * k, -2, 2), left ? [B, n, k] : [B, k, n], dtype);
            const o = { upper, left, unitriangular: unit };
            const tol = dtype === 'float32' ? 1e-4 : 1e-11;
            expectClose(read(antler.linalg.solveTriangular(ag, bg, o)), read(antler.linalg.solveTriangular(ac, bc, o)), tol, tol, `B ${B} n ${n} k ${k} ${dtype} ${JSON.stringify(o)}`);
          }
    }));
  test('luFactor (pivots and info, rectangular, singular), lu, solve, det and cholesky', () =>
    antler.tidy(() => {
      const sizes = emulated ? [[3, 1, 1], [2, 4, 6], [5, 7, 3]] : [[3, 1, 1], [2, 4, 6], [40, 9, 9], [3, 33, 20], [1, 70, 70], [500, 5, 5]];
      for (const [B, m, n] of sizes)
        for (const dtype of ['float32', 'float64'] as const) {
          const v = randomArray(rng, B * m * n);
          if (B > 1) for (let e = 0; e < m * n; e++) v[e] = Math.floor(v[e] * 2); // element 0: small integers, singular often, ties in |.|
          const [c, g] = both(v, [B, m, n], dtype);
          const rc = antler.linalg.luFactorEx(c), rg = antler.linalg.luFactorEx(g);
          const msg = `B ${B} m ${m} n ${n} ${dtype}`;
          expect(read(rg.pivots)).toEqual(read(rc.pivots));
          expect(read(rg.info)).toEqual(read(rc.info));
          const tol = dtype === 'float32' ? 1e-4 : 1e-11;
          expectClose(read(rg.LU), read(rc.LU), tol, tol, `LU ${msg}`);
          if (m !== n) continue;
          const [ac, ag] = both(wellConditioned(B, n), [B, n, n], dtype);
          const [bc, bg] = both(randomArray(rng, B * n * 2), [B, n, 2], dtype);
          expectClose(read(antler.linalg.solve(ag, bg)), read(antler.linalg.solve(ac, bc)), tol * 10, tol * 10, `solve ${msg}`);
          expectClose(read(antler.linalg.det(ag)), read(antler.linalg.det(ac)), tol * 10, tol, `det ${msg}`);
          const spd = (a: antler.Tensor) => antler.add(antler.matmul(a, a, { transposeB: true }), antler.eye(n, n, { dtype, device: a.device }));
          const lc = antler.linalg.choleskyEx(spd(ac)), lg = antler.linalg.choleskyEx(spd(ag));
          expectClose(read(lg.L), read(lc.L), tol * 10, tol * 10, `cholesky ${msg}`);
          expect(read(lg.info)).toEqual(read(lc.info));
          // Not positive-definite: the same info.
          const nc = antler.linalg.choleskyEx(antler.neg(spd(ac))), ng = antler.linalg.choleskyEx(antler.neg(spd(ag)));
          expect(read(ng.info)).toEqual(read(nc.info));
        }
    }));
  test("det's gradient on CUDA (the exact cofactor chosen per batch element on the device, no host read) equals the CPU's; singular and regular mixed", () =>
    antler.tidy(() => {
      for (const n of emulated ? [3] : [3, 6])
        for (const dtype of ['float32', 'float64'] as const) {
          // Element 0 regular, 1 a repeated row (rank n − 1), 2 two zero rows (rank ≤ n − 2, cofactor 0), 3 the shift matrix.
          const v = randomArray(rng, 4 * n * n);
          for (let c = 0; c < n; c++) v[n * n + n + c] = v[n * n + c];
          for (let c = 0; c < 2 * n; c++) v[2 * n * n + c] = 0;
          for (let e = 0; e < n * n; e++) v[3 * n * n + e] = e % (n + 1) === 1 ? 1 : 0;
          const grads = ['cpu', 'cuda:0'].map((device) => {
            const A = antler.tensor(v, [4, n, n], { dtype, device, requiresGrad: true });
            // On CUDA no host read (a device sync): every read in lib goes through Tensor's dataSync or data.
            const spies = device === 'cpu' ? [] : (['dataSync', 'data', 'to'] as const).map((name) => jest.spyOn(antler.Tensor.prototype, name));
            try {
              antler.linalg.det(A).sum().backward();
              expect(spies.map((spy) => spy.mock.calls.length)).toEqual(spies.map(() => 0));
            } finally {
              for (const spy of spies) spy.mockRestore();
            }
            return read(A.grad!);
          });
          const tol = dtype === 'float32' ? 1e-4 : 1e-11;
          expectClose(grads[1], grads[0], tol, tol, `det gradient n ${n} ${dtype}`);
        }
    }));
});
