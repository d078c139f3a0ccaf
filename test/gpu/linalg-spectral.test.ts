// The CUDA kernels of lib/ops/linalg-spectral.ts (native/cuda/linalg_spectral.cu: one thread block per matrix,
// round-robin Jacobi rotations split over its threads; eigh above n = 32: kernels/linalg_tridiag.h's tridiagonalisation
// and QR; svd from min(m, n) = 16 on: kernels/linalg_bidiag.h's bidiagonalisation and QR, reflectors and rotations
// split over them) against the CPU (the same math on one thread), on random batches: the gauge-invariant quantities (eigenvalues, V diag(w) Vᵀ, V ⊙ V, S,
// U diag(S) Vh, U ⊙ U, full bases' orthogonality), odd and even n, m < n, more matrices than blocks, float32,
// NaN. Gradients run on CUDA in the op registry (opinfo.test.ts). Skips where no GPU is usable.
import * as antler from '../../lib';
import { expectAntlerError, expectClose, makeSeededRng, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('linalg-spectral tests');

const EMULATED = process.env.ANTLER_GPU_EMULATED === '1';
const L = antler.linalg;
const read = (t: antler.Tensor) => Array.from(t.dataSync());
const both = (values: number[], shape: number[], dtype: 'float32' | 'float64') =>
  ['cpu', 'cuda:0'].map((device) => antler.tensor(values, shape, { dtype, device }));
const mT = (x: antler.Tensor) => antler.transpose(x, -2, -1);
const tol = (dtype: string) => (dtype === 'float64' ? 1e-11 : 2e-5);

run(`linalg spectral on CUDA vs CPU (seed ${rng.seed})`, () => {
  test('eigh: eigenvalues, V diag(w) Vᵀ, V ⊙ V and VᵀV = I agree on both devices', () =>
    antler.tidy(() => {
      // Above 32 (kEighTridiagMin) the Householder + implicit QR route of kernels/linalg_tridiag.h: its phases split
      // over the block's threads with barriers between them, which the emulation's shuffled barrier rounds exercise.
      const sizes = EMULATED ? [1, 2, 5, 34] : [1, 2, 7, 16, 33, 64, 129];
      for (const n of sizes)
        for (const dtype of ['float64', 'float32'] as const) {
          const B = EMULATED ? (n > 32 ? 2 : 3) : n > 64 ? 3 : 20;
          const v = randomArray(rng, B * n * n);
          const [c, g] = both(v, [B, n, n], dtype).map((x) => antler.add(x, mT(x)));
          const [rc, rg] = [c, g].map((x) => L.eigh(x));
          expectClose(read(rg.eigenvalues), read(rc.eigenvalues), 0, tol(dtype) * n, `eigenvalues n=${n} ${dtype}`);
          const recon = (r: antler.linalg.EighResult) => antler.matmul(antler.mul(r.eigenvectors, antler.unsqueeze(r.eigenvalues, -2)), mT(r.eigenvectors));
          expectClose(read(recon(rg)), read(recon(rc)), 0, tol(dtype) * n, `V diag(w) Vᵀ n=${n} ${dtype}`);
          const sq = (r: antler.linalg.EighResult) => antler.mul(r.eigenvectors, r.eigenvectors);
          expectClose(read(sq(rg)), read(sq(rc)), 0, dtype === 'float64' ? 1e-8 : 1e-3, `V ⊙ V n=${n} ${dtype}`);
          const I = antler.eye(n, undefined, { dtype, device: 'cuda:0' });
          expectClose(read(antler.matmul(mT(rg.eigenvectors), rg.eigenvectors)), read(antler.broadcastTo(I, [B, n, n])), 0, tol(dtype) * n, `VᵀV n=${n}`);
          expectClose(read(L.eigvalsh(g, { UPLO: 'U' })), read(rc.eigenvalues), 0, tol(dtype) * n, `eigvalsh 'U' n=${n}`);
        }
    }));

  test('svd: S, U diag(S) Vh, U ⊙ U and orthonormal full bases agree on both devices (m ≥ n and m < n)', () =>
    antler.tidy(() => {
      const shapes = EMULATED ? [[3, 2], [2, 3], [4, 4], [18, 16], [16, 21]] : [[5, 3], [3, 8], [16, 16], [40, 7], [1, 9], [70, 50], [30, 90]];
      for (const [m, n] of shapes)
        for (const dtype of ['float64', 'float32'] as const) {
          const B = EMULATED ? 3 : 24;
          const [c, g] = both(randomArray(rng, B * m * n), [B, m, n], dtype);
          const [rc, rg] = [c, g].map((x) => L.svd(x));
          expectClose(read(rg.S), read(rc.S), 0, tol(dtype) * (m + n), `S ${m}×${n} ${dtype}`);
          const k = Math.min(m, n);
          const recon = (r: antler.linalg.SvdResult) => antler.matmul(antler.mul(antler.slice(r.U, [0, 0, 0], [-1, -1, k]), antler.unsqueeze(r.S, -2)), antler.slice(r.Vh, [0, 0, 0], [-1, k, -1]));
          expectClose(read(recon(rg)), read(recon(rc)), 0, tol(dtype) * (m + n), `U diag(S) Vh ${m}×${n} ${dtype}`);
          const Uk = (r: antler.linalg.SvdResult) => antler.slice(r.U, [0, 0, 0], [-1, -1, k]);
          expectClose(read(antler.mul(Uk(rg), Uk(rg))), read(antler.mul(Uk(rc), Uk(rc))), 0, dtype === 'float64' ? 1e-8 : 1e-3, `U ⊙ U ${m}×${n}`);
          for (const [Q, d] of [[rg.U, m], [mT(rg.Vh), n]] as [antler.Tensor, number][]) {
            const I = antler.broadcastTo(antler.eye(d, undefined, { dtype, device: 'cuda:0' }), [B, d, d]);
            expectClose(read(antler.matmul(mT(Q), Q)), read(I), 0, tol(dtype) * (m + n), `full basis ${m}×${n} ${dtype}`);
          }
          expectClose(read(L.svdvals(g)), read(rc.S), 0, tol(dtype) * (m + n), `svdvals ${m}×${n} ${dtype}`);
        }
    }));

  test('svd of matrices whose rows are all equal (rank 1): the bidiagonal route drops subnormal reflector mass (no NaN)', () =>
    antler.tidy(() => {
      // CUDA runs kernels/linalg_bidiag.h at every size from 16: its reduction of a rank-1 matrix leaves noise columns
      // shrinking into the subnormal range, where a reflector used to fill with NaN (LINALG_ERROR from 33×33 on).
      const shapes = EMULATED ? [[34, 34]] : [[34, 34], [70, 70], [200, 150]];
      for (const [m, n] of shapes)
        for (const dtype of ['float64', 'float32'] as const) {
          const row = randomArray(rng, n);
          const g = antler.tensor(Array.from({ length: m }, () => row).flat(), [m, n], { dtype, device: 'cuda:0' });
          const r = L.svd(g, { fullMatrices: false });
          const s = read(r.S), s1 = Math.sqrt(m) * Math.hypot(...row);
          expectClose(s, [s1, ...new Array(Math.min(m, n) - 1).fill(0)], 0, tol(dtype) * (m + n) * s1, `S of equal rows ${m}×${n} ${dtype}`);
          expectClose(read(antler.matmul(antler.mul(r.U, antler.unsqueeze(r.S, -2)), r.Vh)), read(g), 0, tol(dtype) * (m + n) * s1, `U diag(S) Vh ${m}×${n} ${dtype}`);
        }
    }));

  test('NaN throws LINALG_ERROR on CUDA too (no hang); pinv agrees', () =>
    antler.tidy(() => {
      const [, g] = both([1, 2, 2, 4, 1, 2, 3, NaN], [2, 2, 2], 'float64');
      expectAntlerError(() => L.eigh(g), 'LINALG_ERROR', /batch index 1/);
      expectAntlerError(() => L.svd(g), 'LINALG_ERROR', /batch index 1/);
      const [c2, g2] = both(randomArray(rng, 2 * 4 * 3), [2, 4, 3], 'float64');
      expectClose(read(L.pinv(g2)), read(L.pinv(c2)), 0, 1e-10, 'pinv');
    }));
});
