// Registry entries of lib/ops/linalg-spectral.ts (appended to OPS in test/opinfo.ts), named `linalg.<function>`.
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
//
// Eigenvectors and singular vectors are unique only up to sign, so every entry registers a gauge-invariant function
// of the factors (eigenvalues, V diag(f(w)) Vᵀ, V ⊙ V, U diag(S) Vh, U ⊙ U, S). Samples are well conditioned: a small
// random matrix R plus a fixed diagonal D with spacing 4 (eigen/singular values at least ~2 apart, none near 0), so
// finite differences of the 1/(λj − λi) terms stay accurate. eigh reads one triangle only: its entries take
// sym(X) = X + Xᵀ + D, so that finite differences of every input entry are defined.
import * as antler from '../lib';
import type { Tensor } from '../lib';
import { spectralMatrixNorm } from '../lib/ops/linalg-svd-norms';
import type { Rng } from './helpers';
import { vals } from './opinfo';
import type { OpInfo, Sample } from './opinfo';

const L = antler.linalg;
const z = (shape: number[], dtype: 'float64' | 'int32' = 'float64') => antler.zeros(shape, { dtype });
const nan = (shape: number[]) => antler.full(shape, NaN, { dtype: 'float64' });

/** A [..., m, n] diagonal with 4, 8, 12, … down the main diagonal (x's dtype and device). */
function spacedDiag(x: Tensor): Tensor {
  const m = x.shape[x.rank - 2], n = x.shape[x.rank - 1];
  const values: number[] = [];
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) values.push(i === j ? 4 * (i + 1) : 0);
  return antler.tensor(values, [m, n], { dtype: x.dtype, device: x.device });
}
/** X + Xᵀ + D: symmetric with well separated eigenvalues for small X. */
const sym = (x: Tensor): Tensor => antler.add(antler.add(x, antler.transpose(x, -2, -1)), spacedDiag(x));
/** X + D: well separated singular values, none near 0, for small X. */
const lift = (x: Tensor): Tensor => antler.add(x, spacedDiag(x));
const small = (rng: Rng, shape: number[]): Sample => ({ inputs: [vals(rng, shape, -0.4, 0.4)] });
const flat = (x: Tensor): Tensor => antler.reshape(x, [-1]);

export const LINALG_SPECTRAL_OPS: OpInfo[] = [
  {
    name: 'linalg.eigh(eigenvalues)',
    samples: (rng) => [small(rng, [4, 4]), small(rng, [2, 3, 3]), small(rng, [1, 1])],
    fn: ([x]) => L.eigh(sym(x)).eigenvalues,
    bad: [
      ['DTYPE_MISMATCH', () => L.eigh(z([3, 3], 'int32'))],
      ['SHAPE_MISMATCH', () => L.eigh(z([3]))],
      ['SHAPE_MISMATCH', () => L.eigh(z([2, 3]))],
      ['INVALID_ARGUMENT', () => L.eigh(z([3, 3]), { UPLO: 'X' as 'L' })],
      ['INVALID_ARGUMENT', () => L.eigh(z([3, 3]), { uplo: 'U' } as never)],
      ['LINALG_ERROR', () => L.eigh(nan([2, 3, 3]))],
    ],
  },
  {
    name: 'linalg.eigh(V diag(sin w) Vᵀ)',
    samples: (rng) => [small(rng, [4, 4]), small(rng, [2, 3, 3])],
    fn: ([x]) => {
      const { eigenvalues: w, eigenvectors: V } = L.eigh(sym(x));
      return antler.matmul(antler.mul(V, antler.unsqueeze(antler.sin(w), -2)), antler.transpose(V, -2, -1));
    },
  },
  {
    name: 'linalg.eigh(V ⊙ V)',
    samples: (rng) => [small(rng, [4, 4]), small(rng, [2, 2, 2])],
    fn: ([x]) => {
      const V = L.eigh(sym(x)).eigenvectors;
      return antler.mul(V, V);
    },
  },
  {
    name: "linalg.eigh(UPLO 'U', eigenvalues and V ⊙ V)",
    samples: (rng) => [small(rng, [3, 3])],
    fn: ([x]) => {
      const { eigenvalues: w, eigenvectors: V } = L.eigh(sym(x), { UPLO: 'U' });
      return antler.concat([w, flat(antler.mul(V, V))], 0);
    },
  },
  {
    name: 'linalg.eigvalsh',
    samples: (rng) => [small(rng, [4, 4]), small(rng, [2, 2, 3, 3])],
    fn: ([x]) => L.eigvalsh(sym(x)),
    bad: [
      ['DTYPE_MISMATCH', () => L.eigvalsh(z([2, 2], 'int32'))],
      ['LINALG_ERROR', () => L.eigvalsh(nan([2, 2]))],
    ],
  },
  {
    name: 'linalg.svd(U diag(S) Vh)',
    samples: (rng) => [small(rng, [4, 3]), small(rng, [2, 3, 4])],
    fn: ([x]) => {
      const { U, S, Vh } = L.svd(lift(x), { fullMatrices: false });
      return antler.matmul(antler.mul(U, antler.unsqueeze(S, -2)), Vh);
    },
    bad: [
      ['DTYPE_MISMATCH', () => L.svd(z([3, 3], 'int32'))],
      ['SHAPE_MISMATCH', () => L.svd(z([3]))],
      ['INVALID_ARGUMENT', () => L.svd(z([3, 3]), { fullMatrices: 1 as unknown as boolean })],
      ['LINALG_ERROR', () => L.svd(nan([2, 3]))],
    ],
  },
  {
    name: 'linalg.svd(reduced: S, U ⊙ U, Vh ⊙ Vh)',
    samples: (rng) => [small(rng, [4, 3]), small(rng, [3, 4]), small(rng, [2, 3, 3])],
    fn: ([x]) => {
      const { U, S, Vh } = L.svd(lift(x), { fullMatrices: false });
      return antler.concat([flat(S), flat(antler.mul(U, U)), flat(antler.mul(Vh, Vh))], 0);
    },
  },
  {
    name: 'linalg.svd(full: the first k columns of U ⊙ U and rows of Vh ⊙ Vh)',
    samples: (rng) => [small(rng, [4, 2]), small(rng, [2, 4])],
    fn: ([x]) => {
      const { U, Vh } = L.svd(lift(x));
      const k = Math.min(x.shape[0], x.shape[1]);
      const Uk = antler.slice(U, [0, 0], [-1, k]), Vk = antler.slice(Vh, [0, 0], [k, -1]);
      return antler.concat([flat(antler.mul(Uk, Uk)), flat(antler.mul(Vk, Vk))], 0);
    },
  },
  {
    name: 'linalg.svdvals',
    samples: (rng) => [small(rng, [3, 4]), small(rng, [2, 4, 3]), small(rng, [1, 1])],
    fn: ([x]) => L.svdvals(lift(x)),
    bad: [
      ['DTYPE_MISMATCH', () => L.svdvals(z([3, 3], 'int32'))],
      ['LINALG_ERROR', () => L.svdvals(nan([3, 3]))],
    ],
  },
  {
    name: 'linalg.pinv',
    samples: (rng) => [small(rng, [4, 3]), small(rng, [2, 3, 4]), small(rng, [3, 3])],
    fn: ([x]) => L.pinv(lift(x)),
    bad: [
      ['DTYPE_MISMATCH', () => L.pinv(z([3, 3], 'int32'))],
      ['INVALID_ARGUMENT', () => L.pinv(z([3, 3]), { rtol: 'a' as unknown as number })],
      ['SHAPE_MISMATCH', () => L.pinv(z([2, 3]), { hermitian: true })],
    ],
  },
  {
    name: 'linalg.pinv(hermitian)',
    samples: (rng) => [small(rng, [3, 3]), small(rng, [2, 2, 2])],
    fn: ([x]) => L.pinv(sym(x), { hermitian: true }),
  },
  {
    name: 'linalg.cond',
    samples: (rng) => [small(rng, [3, 3]), small(rng, [2, 4, 3])],
    fn: ([x]) => L.cond(lift(x)),
    bad: [
      ['SHAPE_MISMATCH', () => L.cond(z([3, 2]), 'fro')],
      ['INVALID_ARGUMENT', () => L.cond(z([3, 3]), 'spectral')],
      ['DTYPE_MISMATCH', () => L.cond(z([3, 3], 'int32'))],
    ],
  },
  {
    // ‖A‖·‖A⁻¹‖ (square): one sample per order, told apart by the batch size.
    name: 'linalg.cond(fro, nuc, ±1, ±inf)',
    samples: (rng) => [1, 2, 3, 4, 5, 6].map((b) => small(rng, [b, 3, 3])),
    fn: ([x]) => L.cond(lift(x), (['fro', 'nuc', 1, -1, Infinity, -Infinity] as const)[x.shape[0] - 1]),
  },
  {
    name: 'linalg.cond(p = −2)',
    samples: (rng) => [small(rng, [3, 4])],
    fn: ([x]) => L.cond(lift(x), -2),
  },
  // linalg-norms.ts's matrixNorm calls spectralMatrixNorm for these orders (registered here under its names).
  {
    name: 'linalg.matrixNorm(2)',
    samples: (rng) => [small(rng, [3, 4]), small(rng, [2, 3, 3])],
    fn: ([x]) => spectralMatrixNorm(lift(x), 2, [-2, -1], false),
    bad: [['INVALID_ARGUMENT', () => spectralMatrixNorm(z([3, 3]), 2, [0, 0], false)]],
  },
  {
    name: 'linalg.matrixNorm(-2)',
    samples: (rng) => [small(rng, [3, 3]), small(rng, [2, 4, 3])],
    fn: ([x]) => spectralMatrixNorm(lift(x), -2, [-1, -2], true),
  },
  {
    name: 'linalg.matrixNorm(nuc)',
    samples: (rng) => [small(rng, [3, 4]), small(rng, [3, 3, 2])],
    // Axes (0, 2) of [3, 3, 2]: the matrices are the [3, 2] slices along axis 1 (lifted in that layout).
    fn: ([x]) =>
      x.rank === 3
        ? spectralMatrixNorm(antler.permute(lift(antler.permute(x, [1, 0, 2])), [1, 0, 2]), 'nuc', [0, 2], false)
        : spectralMatrixNorm(lift(x), 'nuc', [0, 1], false),
  },
];
/** Functions of lib/ops/linalg-spectral.ts that are not differentiable ops of their own (tested in their own files). */
export const LINALG_SPECTRAL_NOT_OPS: string[] = ['matrixRank'];
