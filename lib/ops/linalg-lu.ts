/** torch.linalg (lu): solve, inv, det, slogdet, logdet, luFactor, lu, luSolve, solveTriangular, cholesky (and their *Ex forms), matrixPower, tensorsolve, tensorinv. Exported as `antler.linalg.*` (lib/ops/linalg.ts). */
import { record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native, type NativeAddon } from '../native';
import { checkTensor, Tensor } from '../tensor';
import { broadcastShapes, checkBoolean, checkOptions, type DType, shapeText } from '../validate';
import { broadcastTo, matmul, neg, reshape, resultType, transpose, wrap } from './core';
import { tril, triu } from './extra';

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** Float dtypes only, as torch.linalg's (int32 → DTYPE_MISMATCH). */
function checkFloat(x: Tensor, op: string, what: string): void {
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: ${what} is int32; torch.linalg takes float32 or float64 (cast first)`);
}

/** x broadcast to shape (x itself when it has it already). */
function toShape(x: Tensor, shape: readonly number[]): Tensor {
  return x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i]) ? x : broadcastTo(x, shape);
}

/** x with dtype (x itself when it has it already). */
function toDtype(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : x.cast(dtype);
}

/** The addon's function `name`, or INTERNAL naming the rebuild when the loaded addon predates it. */
function kernel<K extends keyof NativeAddon>(name: K, op: string): NonNullable<NativeAddon[K]> {
  const n = native();
  const f = n[name] as unknown;
  if (typeof f !== 'function') fail('INTERNAL', `${op}: the loaded addon was built before ${String(name)}'s kernel; rebuild it: npm run build`);
  return (f as (...args: unknown[]) => unknown).bind(n) as NonNullable<NativeAddon[K]>;
}

// ---------------------------------------------------------------- solveTriangular

/** Options of {@link solveTriangular} (torch.linalg.solve_triangular's keywords). */
export interface SolveTriangularOptions {
  /** A is upper triangular (its strictly lower part is never read); else lower. Required, as torch's. */
  upper: boolean;
  /** Solve A X = B (default true); false: X A = B. */
  left?: boolean;
  /** A's diagonal is taken as all ones and never read (default false). */
  unitriangular?: boolean;
}

/**
 * The native batched triangular solve on flattened batches (A [N, n, n], rhs [N, n, k] or [N, k, n]),
 * recorded with torch's gradient: gB = solve(Aᵀ, g) (the other triangle, same side), gA = −gB Xᵀ
 * (left) or −Xᵀ gB (right), kept to A's triangle (strictly, when unitriangular). Built from recorded
 * ops (this solve among them), so differentiable again.
 */
function triangularSolve3(A: Tensor, rhs: Tensor, upper: boolean, left: boolean, unit: boolean): Tensor {
  const out = wrap(kernel('triangularSolve', 'linalg.solveTriangular')(A.handle, rhs.handle, upper, left, unit));
  return record(out, 'linalg.solveTriangular', [A, rhs], (g, [sA, sX], [needA]) => {
    const gB = triangularSolve3(transpose(sA), g, !upper, left, unit);
    if (!needA) return [null, gB];
    const gA0 = neg(left ? matmul(gB, sX, { transposeB: true }) : matmul(sX, gB, { transposeA: true }));
    const gA = upper ? triu(gA0, unit ? 1 : 0) : tril(gA0, unit ? -1 : 0);
    return [gA, gB];
  }, [A, out], true);
}

/**
 * torch.linalg.solve_triangular: X with A X = B (left, the default) or X A = B (left: false), A
 * [..., n, n] triangular (`upper` required, as torch's: only that triangle is read), B [..., n, k]
 * (left) or [..., k, n] (right), at least 2-D both; batch dims broadcast. unitriangular takes A's
 * diagonal as ones. Substitution in a native kernel (native/kernels/linalg_lu.h; on CUDA one thread
 * block per matrix); a zero on the diagonal gives inf/NaN, no error, as torch's. Mixed float dtypes
 * promote (torch 1.13 returns A's dtype there). The gradient is torch's, from recorded ops (twice
 * differentiable).
 */
export function solveTriangular(A: Tensor, B: Tensor, options: SolveTriangularOptions): Tensor {
  const op = 'linalg.solveTriangular';
  checkTensor(A, op, 'A');
  checkTensor(B, op, 'B');
  if (options === undefined || options === null) fail('INVALID_ARGUMENT', `${op}: options.upper is required (true: A is upper triangular; false: lower), as torch's keyword`);
  const o = checkOptions<SolveTriangularOptions>(options, op, ['upper', 'left', 'unitriangular']);
  if (o.upper === undefined) fail('INVALID_ARGUMENT', `${op}: options.upper is required (true: A is upper triangular; false: lower), as torch's keyword`);
  const upper = checkBoolean(o.upper, op, 'options.upper');
  const left = o.left === undefined ? true : checkBoolean(o.left, op, 'options.left');
  const unit = o.unitriangular === undefined ? false : checkBoolean(o.unitriangular, op, 'options.unitriangular');
  checkFloat(A, op, 'A');
  checkFloat(B, op, 'B');
  if (A.device !== B.device) fail('DEVICE_MISMATCH', `${op}: A is on ${A.device} and B on ${B.device}`);
  if (A.rank < 2) fail('SHAPE_MISMATCH', `${op}: A must have at least 2 dimensions (a matrix or a batch of them); got ${shapeText(A.shape)}`);
  if (B.rank < 2) fail('SHAPE_MISMATCH', `${op}: B must have at least 2 dimensions (a matrix or a batch of them); got ${shapeText(B.shape)}`);
  const n = A.shape[A.rank - 1];
  if (A.shape[A.rank - 2] !== n) fail('SHAPE_MISMATCH', `${op}: A must be square matrices; got ${shapeText(A.shape)} (${A.shape[A.rank - 2]} by ${n})`);
  const [br, bc] = B.shape.slice(-2);
  if ((left ? br : bc) !== n)
    fail('SHAPE_MISMATCH', `${op}: A ${shapeText(A.shape)} and B ${shapeText(B.shape)} do not fit ${left ? 'A X = B (B [..., n, k])' : 'X A = B (B [..., k, n])'}`);
  const batch = broadcastShapes([A.shape.slice(0, -2), B.shape.slice(0, -2)]);
  if (!batch) fail('SHAPE_MISMATCH', `${op}: the batch dimensions of A ${shapeText(A.shape)} and B ${shapeText(B.shape)} do not broadcast`);
  return tidy(() => {
    const dtype = resultType(A, B);
    const N = product(batch);
    const A3 = reshape(toShape(toDtype(A, dtype), [...batch, n, n]), [N, n, n]);
    const B3 = reshape(toShape(toDtype(B, dtype), [...batch, br, bc]), [N, br, bc]);
    return reshape(triangularSolve3(A3, B3, upper, left, unit), [...batch, br, bc]);
  });
}
