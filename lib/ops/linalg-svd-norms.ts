/**
 * The matrix norms that need singular values (ord 2, −2 and 'nuc'), for
 * linalg-norms.ts's matrixNorm and norm. Internal: not re-exported.
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, type Tensor } from '../tensor';
import { max, min, permute, reshape, sum } from './core';
import { svdvals } from './linalg-spectral';

/**
 * The largest (2) or smallest (−2) singular value, or their sum ('nuc'), of the matrices spanned by `axes`
 * (two distinct axes, negative counting from the end): torch.linalg.matrix_norm's ord 2 / −2 / 'nuc'
 * (amax/amin/sum of svdvals, so PyTorch's gradients: U diag(g) Vh, ties of amax/amin sharing g evenly).
 * keepDims keeps both axes with size 1.
 */
export function spectralMatrixNorm(A: Tensor, ord: 2 | -2 | 'nuc', axes: [number, number], keepDims: boolean): Tensor {
  const op = 'linalg.matrixNorm';
  checkTensor(A, op, 'A');
  if (ord !== 2 && ord !== -2 && ord !== 'nuc') fail('INVALID_ARGUMENT', `${op}: spectralMatrixNorm takes ord 2, −2 or 'nuc'; got ${String(ord)}`);
  if (A.rank < 2) fail('SHAPE_MISMATCH', `${op}: A must have at least 2 dims; got shape [${A.shape.join(', ')}]`);
  const norm = (a: number): number => {
    if (!Number.isInteger(a) || a < -A.rank || a >= A.rank) fail('INVALID_ARGUMENT', `${op}: axis ${String(a)} is out of range for a ${A.rank}-d tensor`);
    return a < 0 ? a + A.rank : a;
  };
  const a0 = norm(axes[0]), a1 = norm(axes[1]);
  if (a0 === a1) fail('INVALID_ARGUMENT', `${op}: the two axes must differ; got ${axes[0]} and ${axes[1]}`);
  if (ord !== 'nuc' && (A.shape[a0] === 0 || A.shape[a1] === 0))
    fail('INVALID_ARGUMENT', `${op}: ord ${ord} of an empty matrix (shape [${A.shape.join(', ')}]) is undefined`);
  return tidy(() => {
    const rest = A.shape.map((_, i) => i).filter((i) => i !== a0 && i !== a1);
    const moved = permute(A, [...rest, a0, a1]);
    const S = svdvals(moved);
    const r = ord === 'nuc' ? sum(S, -1) : ord === 2 ? max(S, -1) : min(S, -1);
    return keepDims ? reshape(r, A.shape.map((d, i) => (i === a0 || i === a1 ? 1 : d))) : r;
  });
}
