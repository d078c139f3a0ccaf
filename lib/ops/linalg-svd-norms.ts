/**
 * The matrix norms that need singular values (ord 2, −2 and 'nuc'), for
 * linalg-norms.ts's matrixNorm and norm. Internal: not re-exported.
 */
import { fail } from '../errors';
import type { Tensor } from '../tensor';

/** The largest (2) or smallest (−2) singular value, or their sum ('nuc'), over `axes`. */
export function spectralMatrixNorm(A: Tensor, ord: 2 | -2 | 'nuc', axes: [number, number], keepDims: boolean): Tensor {
  void A;
  void axes;
  void keepDims;
  return fail('NOT_SUPPORTED', `linalg.matrixNorm: ord ${String(ord)} needs singular values (not yet available)`);
}
