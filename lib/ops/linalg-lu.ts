/** torch.linalg (lu): solve, inv, det, slogdet, logdet, luFactor, lu, luSolve, solveTriangular, cholesky (and their *Ex forms), matrixPower, tensorsolve, tensorinv. Exported as `antler.linalg.*` (lib/ops/linalg.ts). */
import { noGrad, record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native, type NativeAddon } from '../native';
import { arange, checkTensor, Tensor } from '../tensor';
import { broadcastShapes, checkBoolean, checkOptions, type DType, shapeText } from '../validate';
import {
  abs, add, broadcastTo, concat, cumprod, equal, greater, less, log, matmul, max, mul, neg, notEqual, permute, prod, remainder, reshape, resultType, slice, sub,
  sum, transpose, where, wrap,
} from './core';
import { any } from './reductions';
import { eye, tril, triu } from './extra';
import { diagEmbed, diagonal } from './products';

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

// ---------------------------------------------------------------- LU

/** "" or " at batch index b" (the flat index over the batch dims) for messages. */
const atBatch = (batch: readonly number[], b: number): string => (batch.length ? ` at batch index ${b}` : '');

/** The first batch element with info > 0 (a host read of info: a device sync on CUDA, as torch's checks), or −1. */
function firstFailure(info: Tensor): { b: number; k: number } {
  const v = info.dataSync();
  for (let b = 0; b < v.length; b++) if (v[b] > 0) return { b, k: v[b] };
  return { b: -1, k: 0 };
}

/** Throws LINALG_ERROR naming the first singular matrix of a batch (info from the LU factorisation). */
function checkSingular(info: Tensor, batch: readonly number[], op: string): void {
  const { b, k } = firstFailure(info);
  if (b >= 0) fail('LINALG_ERROR', `${op}: the matrix${atBatch(batch, b)} is singular (U[${k - 1}, ${k - 1}] of its LU factorisation is 0)`);
}

/** Square float matrices [..., n, n] (or [..., m, n] when rectangular is allowed), as torch.linalg's checks. */
function checkMatrices(A: Tensor, op: string, what = 'A', square = true): void {
  checkTensor(A, op, what);
  checkFloat(A, op, what);
  if (A.rank < 2) fail('SHAPE_MISMATCH', `${op}: ${what} must have at least 2 dimensions (a matrix or a batch of them); got ${shapeText(A.shape)}`);
  if (square && A.shape[A.rank - 1] !== A.shape[A.rank - 2])
    fail('SHAPE_MISMATCH', `${op}: ${what} must be batches of square matrices; got ${shapeText(A.shape)} (${A.shape[A.rank - 2]} by ${A.shape[A.rank - 1]})`);
}

/** A [..., m, n] as [N, m, n] with its batch dims. */
function flatten3(A: Tensor): { A3: Tensor; batch: number[] } {
  const batch = A.shape.slice(0, -2);
  return { A3: reshape(A, [product(batch), A.shape[A.rank - 2], A.shape[A.rank - 1]]), batch };
}

/**
 * The permutation matrix P [N, m, m] of pivots [N, k] (LAPACK's, 1-based) with A = P L U, in A's
 * dtype: P[perm[i], i] = 1 where row i of Pᵀ A is row perm[i] of A (native/kernels/linalg_lu.h).
 */
function pivotsToP(pivots: Tensor, m: number, dtype: DType): Tensor {
  const N = pivots.shape[0];
  const perm = wrap(kernel('luPermutation', 'linalg.lu')(pivots.handle, m));
  const rows = reshape(arange(0, m, 1, { dtype: 'int32', device: pivots.device }), [1, m, 1]);
  return equal(reshape(perm, [N, 1, m]), rows).cast(dtype);
}

/**
 * The unit lower L [.., m, k] and upper U [.., k, n] of a packed LU [.., m, n] (k = min(m, n)),
 * from recorded ops (so gradients of L and U reach LU).
 */
function unpackLU(LU: Tensor): { L: Tensor; U: Tensor } {
  const [m, n] = LU.shape.slice(-2);
  const k = Math.min(m, n);
  const lead = LU.shape.slice(0, -2);
  const Lpart = m === k && n === k ? LU : slice(LU, [...lead.map(() => 0), 0, 0], [...lead.map(() => -1), m, k]);
  const Upart = m === k && n === k ? LU : slice(LU, [...lead.map(() => 0), 0, 0], [...lead.map(() => -1), k, n]);
  const I = eye(m, k, { dtype: LU.dtype as DType, device: LU.device });
  return { L: add(tril(Lpart, -1), I), U: triu(Upart) };
}

/** Rows [r0, r0 + rows) and columns [c0, c0 + cols) of the last two axes. */
function block(x: Tensor, r0: number, rows: number, c0: number, cols: number): Tensor {
  const lead = x.shape.slice(0, -2);
  return slice(x, [...lead.map(() => 0), r0, c0], [...lead.map(() => -1), rows, cols]);
}

/**
 * The gradient of the LU factorisation A = P L U (torch's linalg_lu_backward, derived here) from
 * g, the gradient of the packed LU [.., m, n] (gL = its strict lower part, gU its upper part),
 * from recorded ops (triangular solves: differentiable again). k = min(m, n).
 * Square: gA = P L⁻ᵀ [tril(Lᵀ gL, −1) + triu(gU Uᵀ)] U⁻ᵀ.
 * Wide (m < n, U = [U1 U2]): gA = P L⁻ᵀ [M U1⁻ᵀ, gU2] with
 * M = tril(Lᵀ gL − gU2 U2ᵀ, −1) + triu(gU1 U1ᵀ).
 * Tall (m > n, L = [L1; L2]): gA = P [L1⁻ᵀ M U⁻ᵀ; gL2 U⁻ᵀ] with
 * M = tril(L1ᵀ gL1, −1) + triu(gU Uᵀ − L2ᵀ gL2).
 */
function luBackward(LU: Tensor, P: Tensor, g: Tensor): Tensor {
  const [m, n] = LU.shape.slice(-2);
  const { L, U } = unpackLU(LU);
  const gL = tril(m > n ? g : block(g, 0, m, 0, m), -1), gU = triu(m < n ? g : block(g, 0, n, 0, n));
  const t = { transposeA: true }, tB = { transposeB: true };
  if (m === n) {
    const M = add(tril(matmul(L, gL, t), -1), triu(matmul(gU, U, tB)));
    const Y = solveTriangular(transpose(L), M, { upper: true, unitriangular: true });
    return matmul(P, solveTriangular(transpose(U), Y, { upper: false, left: false }));
  }
  if (m < n) {
    const U1 = block(U, 0, m, 0, m), U2 = block(U, 0, m, m, n - m);
    const gU1 = block(gU, 0, m, 0, m), gU2 = block(gU, 0, m, m, n - m);
    const M = add(tril(sub(matmul(L, gL, t), matmul(gU2, U2, tB)), -1), triu(matmul(gU1, U1, tB)));
    const left = solveTriangular(transpose(U1), M, { upper: false, left: false });
    const Y = solveTriangular(transpose(L), concat([left, gU2], -1), { upper: true, unitriangular: true });
    return matmul(P, Y);
  }
  const L1 = block(L, 0, n, 0, n), L2 = block(L, n, m - n, 0, n);
  const gL1 = block(gL, 0, n, 0, n), gL2 = block(g, n, m - n, 0, n);
  const M = add(tril(matmul(L1, gL1, t), -1), triu(sub(matmul(gU, U, tB), matmul(L2, gL2, t))));
  const top = solveTriangular(transpose(L1), M, { upper: true, unitriangular: true });
  const Z = solveTriangular(transpose(U), concat([top, gL2], -2), { upper: false, left: false });
  return matmul(P, Z);
}

/**
 * The native LU of A3 [N, m, n]: packed LU (recorded, with luBackward), pivots int32
 * [N, min(m, n)] and info int32 [N].
 */
function luFactor3(A3: Tensor, op: string): { LU: Tensor; pivots: Tensor; info: Tensor } {
  const [hLU, hPiv, hInfo] = kernel('luFactor', op)(A3.handle);
  const pivots = wrap(hPiv), info = wrap(hInfo);
  const [m, n] = A3.shape.slice(1);
  const out = wrap(hLU);
  const LU = record(out, 'linalg.luFactor', [A3], (g, [sLU, sPiv]) => {
    return [luBackward(sLU, pivotsToP(sPiv, m, sLU.dtype as DType), g)];
  }, [out, pivots], true);
  return { LU, pivots, info };
}

/** Options of {@link luFactor} and {@link lu}. */
export interface LuFactorOptions {
  /** Partial pivoting (default true; false is refused: torch computes it on CUDA only). */
  pivot?: boolean;
}

/** Options of {@link luFactorEx}. */
export interface LuFactorExOptions extends LuFactorOptions {
  /** Throw LINALG_ERROR when a matrix is singular (default false: report it in info). */
  checkErrors?: boolean;
}

function checkPivot(o: { pivot?: boolean }, op: string): void {
  if (o.pivot !== undefined && !checkBoolean(o.pivot, op, 'options.pivot'))
    fail('INVALID_ARGUMENT', `${op}: pivot: false (LU without pivoting) is not supported; torch has it on CUDA only`);
}

/**
 * torch.linalg.lu_factor_ex: the LU factorisation with partial pivoting of A [..., m, n] (LAPACK
 * getrf's result, rectangular too): LU [..., m, n] packs L (unit lower, below the diagonal) and U;
 * pivots int32 [..., min(m, n)], 1-based, row i was swapped with row pivots[i] − 1 at step i (the
 * first row of the largest |a|, as LAPACK); info int32 [...] is k > 0 when U[k − 1, k − 1] is 0
 * (a singular matrix: the factorisation is still complete), else 0. Native kernel
 * (native/kernels/linalg_lu.h; on CUDA one thread block per matrix). Differentiable in LU
 * (torch's formulas for square, wide and tall A, from recorded triangular solves: twice
 * differentiable).
 */
export function luFactorEx(A: Tensor, options?: LuFactorExOptions): { LU: Tensor; pivots: Tensor; info: Tensor } {
  const op = 'linalg.luFactorEx';
  checkMatrices(A, op, 'A', false);
  const o = checkOptions<LuFactorExOptions>(options, op, ['pivot', 'checkErrors']);
  checkPivot(o, op);
  const check = o.checkErrors === undefined ? false : checkBoolean(o.checkErrors, op, 'options.checkErrors');
  return tidy(() => {
    const { A3, batch } = flatten3(A);
    const r = luFactor3(A3, op);
    if (check) checkSingular(r.info, batch, op);
    const k = Math.min(A.shape[A.rank - 2], A.shape[A.rank - 1]);
    return { LU: reshape(r.LU, A.shape.slice()), pivots: reshape(r.pivots, [...batch, k]), info: reshape(r.info, batch) };
  });
}

/**
 * torch.linalg.lu_factor: {@link luFactorEx} without info, throwing LINALG_ERROR (naming the
 * batch element) when a matrix is singular, as torch's.
 */
export function luFactor(A: Tensor, options?: LuFactorOptions): { LU: Tensor; pivots: Tensor } {
  const op = 'linalg.luFactor';
  checkMatrices(A, op, 'A', false);
  const o = checkOptions<LuFactorOptions>(options, op, ['pivot']);
  checkPivot(o, op);
  return tidy(() => {
    const { A3, batch } = flatten3(A);
    const r = luFactor3(A3, op);
    checkSingular(r.info, batch, op);
    const k = Math.min(A.shape[A.rank - 2], A.shape[A.rank - 1]);
    return { LU: reshape(r.LU, A.shape.slice()), pivots: reshape(r.pivots, [...batch, k]) };
  });
}

/**
 * torch.linalg.lu: A = P L U with P [..., m, m] a permutation matrix, L [..., m, k] unit lower,
 * U [..., k, n] upper (k = min(m, n)), from {@link luFactorEx} (no error on singular A, as torch's).
 * L and U are differentiable (torch's formulas, square and rectangular).
 */
export function lu(A: Tensor, options?: LuFactorOptions): { P: Tensor; L: Tensor; U: Tensor } {
  const op = 'linalg.lu';
  checkMatrices(A, op, 'A', false);
  const o = checkOptions<LuFactorOptions>(options, op, ['pivot']);
  checkPivot(o, op);
  return tidy(() => {
    const { A3, batch } = flatten3(A);
    const m = A.shape[A.rank - 2];
    const r = luFactor3(A3, op);
    const { L, U } = unpackLU(r.LU);
    const P = pivotsToP(r.pivots, m, A.dtype as DType);
    const back = (t: Tensor) => reshape(t, [...batch, ...t.shape.slice(1)]);
    return { P: back(P), L: back(L), U: back(U) };
  });
}

/** Options of {@link luSolve}. */
export interface LuSolveOptions {
  /** Solve A X = B (default true); false: X A = B. */
  left?: boolean;
  /** Solve with Aᵀ (A's adjoint; real dtypes) instead of A (default false). */
  adjoint?: boolean;
}

/**
 * X from LU, P (batch dims broadcast with B's) and B: A X = B, Aᵀ X = B (adjoint), X A = B or
 * X Aᵀ = B (right), with A = P L U, by two triangular solves and a permutation product: recorded
 * ops, differentiable in LU and B (twice).
 */
function luSolveWithP(LU: Tensor, P: Tensor, B: Tensor, left: boolean, adjoint: boolean): Tensor {
  if (left && !adjoint) {
    // A X = B: X = U⁻¹ L⁻¹ Pᵀ B.
    const Y = solveTriangular(LU, matmul(P, B, { transposeA: true }), { upper: false, unitriangular: true });
    return solveTriangular(LU, Y, { upper: true });
  }
  if (left) {
    // Aᵀ X = B: Uᵀ Lᵀ Pᵀ X = B, X = P L⁻ᵀ U⁻ᵀ B.
    const LUt = transpose(LU);
    const Y = solveTriangular(LUt, B, { upper: false });
    return matmul(P, solveTriangular(LUt, Y, { upper: true, unitriangular: true }));
  }
  if (!adjoint) {
    // X A = B: X P L U = B, X = B U⁻¹ L⁻¹ Pᵀ.
    const Y = solveTriangular(LU, B, { upper: true, left: false });
    return matmul(solveTriangular(LU, Y, { upper: false, left: false, unitriangular: true }), P, { transposeB: true });
  }
  // X Aᵀ = B: X Uᵀ Lᵀ Pᵀ = B, X = B P L⁻ᵀ U⁻ᵀ.
  const LUt = transpose(LU);
  const Y = solveTriangular(LUt, matmul(B, P), { upper: true, left: false, unitriangular: true });
  return solveTriangular(LUt, Y, { upper: false, left: false });
}

/** The permutation matrices [..., n, n] of pivots [..., n] (any batch dims). */
function pivotsToPBatched(pivots: Tensor, n: number, dtype: DType): Tensor {
  const batch = pivots.shape.slice(0, -1);
  return reshape(pivotsToP(reshape(pivots, [product(batch), pivots.shape[pivots.rank - 1]]), n, dtype), [...batch, n, n]);
}

/**
 * torch.linalg.lu_solve: X with A X = B from A's LU factorisation (LU, pivots from
 * {@link luFactor}); adjoint solves Aᵀ X = B; left: false solves X A = B (X Aᵀ = B with
 * adjoint). LU [..., n, n], pivots int32 [..., n], B [..., n, k] (left) or [..., k, n]; batch dims
 * broadcast. Pivots outside [1, n] are skipped (torch does not check them either). Two triangular
 * solves (native) and a permutation product; differentiable in LU and B (torch's gradients, from
 * recorded ops).
 */
export function luSolve(LU: Tensor, pivots: Tensor, B: Tensor, options?: LuSolveOptions): Tensor {
  const op = 'linalg.luSolve';
  checkMatrices(LU, op, 'LU');
  checkTensor(pivots, op, 'pivots');
  checkTensor(B, op, 'B');
  checkFloat(B, op, 'B');
  const o = checkOptions<LuSolveOptions>(options, op, ['left', 'adjoint']);
  const left = o.left === undefined ? true : checkBoolean(o.left, op, 'options.left');
  const adjoint = o.adjoint === undefined ? false : checkBoolean(o.adjoint, op, 'options.adjoint');
  const n = LU.shape[LU.rank - 1];
  if (pivots.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: pivots must be int32 (from luFactor); got ${pivots.dtype}`);
  if (pivots.rank !== LU.rank - 1 || pivots.shape[pivots.rank - 1] !== n)
    fail('SHAPE_MISMATCH', `${op}: pivots must be [..., n] for LU [..., n, n]; got ${shapeText(pivots.shape)} and ${shapeText(LU.shape)}`);
  if (B.rank < 2) fail('SHAPE_MISMATCH', `${op}: B must have at least 2 dimensions; got ${shapeText(B.shape)}`);
  if (B.shape[B.rank - (left ? 2 : 1)] !== n)
    fail('SHAPE_MISMATCH', `${op}: LU ${shapeText(LU.shape)} and B ${shapeText(B.shape)} do not fit ${left ? 'A X = B (B [..., n, k])' : 'X A = B (B [..., k, n])'}`);
  if (LU.device !== B.device || pivots.device !== LU.device) fail('DEVICE_MISMATCH', `${op}: LU, pivots and B must be on one device; got ${LU.device}, ${pivots.device} and ${B.device}`);
  if (!broadcastShapes([LU.shape.slice(0, -2), pivots.shape.slice(0, -1), B.shape.slice(0, -2)]))
    fail('SHAPE_MISMATCH', `${op}: the batch dimensions of LU ${shapeText(LU.shape)}, pivots ${shapeText(pivots.shape)} and B ${shapeText(B.shape)} do not broadcast`);
  return tidy(() => {
    const dtype = resultType(LU, B);
    const P = pivotsToPBatched(pivots, n, dtype);
    return luSolveWithP(toDtype(LU, dtype), P, toDtype(B, dtype), left, adjoint);
  });
}

// ---------------------------------------------------------------- solve, inv, det

/** Options of {@link solve}. */
export interface SolveOptions {
  /** Solve A X = B (default true); false: X A = B. */
  left?: boolean;
}

/** Options of {@link solveEx}. */
export interface SolveExOptions extends SolveOptions {
  /** Throw LINALG_ERROR when A is singular (default false: report it in info). */
  checkErrors?: boolean;
}

/** The LU factorisation of square A [..., n, n] (recorded), its P, and info [...]. */
function factorSquare(A: Tensor, op: string): { LU: Tensor; P: Tensor; pivots: Tensor; info: Tensor; batch: number[] } {
  const { A3, batch } = flatten3(A);
  const n = A.shape[A.rank - 1];
  const r = luFactor3(A3, op);
  const back = (t: Tensor) => reshape(t, [...batch, ...t.shape.slice(1)]);
  return { LU: back(r.LU), P: back(pivotsToP(r.pivots, n, A.dtype as DType)), pivots: back(r.pivots), info: reshape(r.info, batch), batch };
}

function solveImpl(op: string, A: Tensor, B: Tensor, options: SolveExOptions | undefined, keys: string[], check: boolean): { result: Tensor; info: Tensor } {
  checkMatrices(A, op);
  checkTensor(B, op, 'B');
  checkFloat(B, op, 'B');
  const o = checkOptions<SolveExOptions>(options, op, keys);
  const left = o.left === undefined ? true : checkBoolean(o.left, op, 'options.left');
  if (o.checkErrors !== undefined && checkBoolean(o.checkErrors, op, 'options.checkErrors')) check = true;
  if (A.device !== B.device) fail('DEVICE_MISMATCH', `${op}: A is on ${A.device} and B on ${B.device}`);
  const n = A.shape[A.rank - 1];
  // torch's rule: B is a vector (or a batch of them) when it is 1-D or has A's shape without its last dim.
  const vector = B.rank === 1 || (B.rank === A.rank - 1 && B.shape.every((d, i) => d === A.shape[i]));
  if (!vector && B.rank < 2) fail('SHAPE_MISMATCH', `${op}: B must be a vector or a matrix (or a batch of them); got ${shapeText(B.shape)}`);
  const Bm = vector ? [...B.shape, 1] : B.shape.slice();
  if (vector ? B.shape[B.rank - 1] !== n : Bm[Bm.length - (left ? 2 : 1)] !== n)
    fail('SHAPE_MISMATCH', `${op}: A ${shapeText(A.shape)} and B ${shapeText(B.shape)} do not fit ${left ? 'A X = B' : 'X A = B'}`);
  if (!broadcastShapes([A.shape.slice(0, -2), vector ? B.shape.slice(0, -1) : B.shape.slice(0, -2)]))
    fail('SHAPE_MISMATCH', `${op}: the batch dimensions of A ${shapeText(A.shape)} and B ${shapeText(B.shape)} do not broadcast`);
  return tidy(() => {
    const dtype = resultType(A, B);
    const f = factorSquare(toDtype(A, dtype), op);
    if (check) checkSingular(f.info, f.batch, op);
    const B2 = toDtype(vector ? reshape(B, left ? [...B.shape, 1] : [...B.shape.slice(0, -1), 1, n]) : B, dtype);
    const X = luSolveWithP(f.LU, f.P, B2, left, false);
    return { result: vector ? reshape(X, X.shape.slice(0, left ? -1 : -2).concat(left ? [] : [n])) : X, info: f.info };
  });
}

/**
 * torch.linalg.solve: X with A X = B (or X A = B with left: false), A [..., n, n]; B [..., n, k],
 * or a vector [..., n] when it is 1-D or has A's shape less its last dim (torch's rule; X then has
 * B's shape; with left: false a row vector, x A = b, where torch 1.13 refuses a vector); batch dims
 * broadcast. LU with partial pivoting (native), then two triangular solves.
 * Throws LINALG_ERROR naming the batch element when a matrix is singular. Differentiable in A and B
 * (torch's gradients gB = A⁻ᵀ g, gA = −gB Xᵀ, here through the recorded LU factorisation and
 * solves: twice differentiable).
 */
export function solve(A: Tensor, B: Tensor, options?: SolveOptions): Tensor {
  return solveImpl('linalg.solve', A, B, options, ['left'], true).result;
}

/** torch.linalg.solve_ex: {@link solve} returning info (int32 [...], k > 0: U[k − 1, k − 1] = 0) instead of throwing, unless checkErrors. */
export function solveEx(A: Tensor, B: Tensor, options?: SolveExOptions): { result: Tensor; info: Tensor } {
  return solveImpl('linalg.solveEx', A, B, options, ['left', 'checkErrors'], false);
}

function invImpl(op: string, A: Tensor, check: boolean): { inverse: Tensor; info: Tensor } {
  checkMatrices(A, op);
  const n = A.shape[A.rank - 1];
  return tidy(() => {
    const f = factorSquare(A, op);
    if (check) checkSingular(f.info, f.batch, op);
    return { inverse: luSolveWithP(f.LU, f.P, eye(n, n, { dtype: A.dtype as DType, device: A.device }), true, false), info: f.info };
  });
}

/**
 * torch.linalg.inv: A⁻¹ of A [..., n, n] by LU with partial pivoting and triangular solves.
 * Throws LINALG_ERROR naming the batch element when a matrix is singular. Differentiable
 * (−A⁻ᵀ g A⁻ᵀ, through the recorded factorisation: twice differentiable).
 */
export function inv(A: Tensor): Tensor {
  return invImpl('linalg.inv', A, true).inverse;
}

/** Options of {@link invEx}. */
export interface InvExOptions {
  /** Throw LINALG_ERROR when A is singular (default false: report it in info). */
  checkErrors?: boolean;
}

/** torch.linalg.inv_ex: {@link inv} returning info (int32 [...]) instead of throwing, unless checkErrors. */
export function invEx(A: Tensor, options?: InvExOptions): { inverse: Tensor; info: Tensor } {
  const op = 'linalg.invEx';
  checkMatrices(A, op);
  const o = checkOptions<InvExOptions>(options, op, ['checkErrors']);
  return invImpl(op, A, o.checkErrors === undefined ? false : checkBoolean(o.checkErrors, op, 'options.checkErrors'));
}

/** ±1 [...] of the permutations of pivots [..., n], as dtype: (−1)^(number of real swaps). */
function pivotSign(pivots: Tensor, dtype: DType): Tensor {
  const n = pivots.shape[pivots.rank - 1];
  const steps = arange(1, n + 1, 1, { dtype: 'int32', device: pivots.device });
  const swaps = sum(notEqual(pivots, steps).cast('float64'), -1);
  return sub(1, mul(2, remainder(swaps, 2))).cast(dtype);
}

/** The diagonal [..., n] of square matrices [..., n, n]. */
const diagOf = (M: Tensor): Tensor => diagonal(M, { axis1: -2, axis2: -1 });

/**
 * The exact cofactor matrices of square A [..., n, n] from their LU factorisation A = P L U (packed
 * LU, P and pivots as factorSquare gives them), on the device (recorded ops under noGrad, no host
 * read), in float64: cof(A) = det(P)·P·L⁻ᵀ·cof(U) (the cofactor matrix is multiplicative; cof(P) =
 * det(P)·P, cof(L) = L⁻ᵀ). cof(U) = adj(U)ᵀ of the upper triangular U is computed without dividing
 * by its diagonal (zeros there are the point): adj(U)[i, j] = Π_{l<i} u_ll · Π_{l>j} u_ll · m[i, j]
 * with m = (I + W)⁻¹, W[i, k] = u_ik·Π_{i<l<k} u_ll for k > i (the back substitution for U⁻¹
 * times Π_{i≤l≤j} u_ll: m[j, j] = 1, m[i, j] = −Σ_{i<k≤j} W[i, k]·m[k, j]; I + W is unit
 * triangular, so its solve divides by nothing). The partial products are exclusive cumulative
 * products (no logs, no quotients). O(n³) per matrix, no perturbation: exact up to rounding.
 */
function exactCofactor(LU: Tensor, P: Tensor, pivots: Tensor): Tensor {
  const n = LU.shape[LU.rank - 1];
  const lead = LU.shape.slice(0, -2);
  const LU64 = toDtype(LU, 'float64');
  const U = triu(LU64);
  const d = diagOf(LU64); // [..., n]
  const idx = arange(0, n, 1, { dtype: 'int32', device: LU.device });
  // Row i: u_ll for l > i, else 1; its exclusive cumulative product at k is Π_{i<l<k} u_ll.
  const masked = where(less(reshape(idx, [n, 1]), reshape(idx, [1, n])), reshape(d, [...lead, 1, n]), 1);
  const W = mul(U, cumprod(masked, -1, { exclusive: true }));
  const I = eye(n, n, { dtype: 'float64', device: LU.device });
  const m = solveTriangular(W, toShape(I, [...lead, n, n]), { upper: true, unitriangular: true });
  const pre = cumprod(d, -1, { exclusive: true }); // Π_{l<i} u_ll
  const suf = cumprod(d, -1, { exclusive: true, reverse: true }); // Π_{l>j} u_ll
  const adj = mul(mul(reshape(pre, [...lead, n, 1]), m), reshape(suf, [...lead, 1, n]));
  // L⁻ᵀ cof(U): Lᵀ is unit upper triangular (L's strict lower part is below LU's diagonal).
  const X = solveTriangular(transpose(LU64), transpose(adj), { upper: true, unitriangular: true });
  const sgn = reshape(pivotSign(pivots, 'float64'), [...lead, 1, 1]);
  return mul(matmul(toDtype(P, 'float64'), X), sgn);
}

/**
 * The cofactor matrix det(A)·A⁻ᵀ of A [..., n, n] (det's gradient for g = 1), from recorded ops
 * (the LU factorisation and solves: differentiable again where A is invertible). A matrix whose U
 * has an exactly zero pivot (A singular) gets its exact cofactor matrix instead (exactCofactor, a
 * constant: torch 1.13's value with createGraph, an SVD there, where its first-order gradient is 0);
 * its second derivative stays NaN, as before. On CUDA both are computed for every batch element and
 * the choice is made per element on the device (where): no host read, no device sync. On the CPU
 * (synchronous: a read is a copy) a read of whether any matrix is singular skips the exact path
 * when none is. The recorded path moves those zero pivots to ε = eps·max |LU| (eps when LU is 0)
 * so that it stays finite where it is not used (its gradient is masked, not NaN, for the other
 * batch elements).
 */
function cofactor(A: Tensor, op: string): Tensor {
  const n = A.shape[A.rank - 1];
  if (n === 0) return mul(A, 0); // empty matrices: an empty gradient (nothing to reduce over for ε)
  const f = factorSquare(A, op);
  const d = diagOf(f.LU);
  const bump = noGrad(() => {
    const eps = A.dtype === 'float32' ? 2 ** -23 : 2 ** -52;
    const scale = max(abs(f.LU), [-2, -1], true);
    const e = mul(where(equal(scale, 0), 1, scale), eps);
    return diagEmbed(where(equal(d, 0), reshape(e, [...e.shape.slice(0, -2), 1]), 0));
  });
  const LUe = add(f.LU, bump);
  const detE = mul(prod(diagOf(LUe), -1), pivotSign(f.pivots, A.dtype as DType));
  const invT = luSolveWithP(LUe, f.P, eye(n, n, { dtype: A.dtype as DType, device: A.device }), true, true);
  const recorded = mul(reshape(detE, [...detE.shape, 1, 1]), invT);
  // Singular matrices (an exactly zero pivot): the exact cofactor matrix, selected per batch element.
  const isSingular = noGrad(() => reshape(any(equal(d, 0), -1), [...A.shape.slice(0, -2), 1, 1]));
  // On the CPU (ops run synchronously: a read is a copy, not a sync) the exact path is skipped when no
  // matrix needs it, as it costs about as much as the recorded one; on CUDA both run, no host read.
  if (A.device === 'cpu' && noGrad(() => any(isSingular)).item() === 0) return recorded;
  const exact = noGrad(() => toDtype(exactCofactor(f.LU, f.P, f.pivots), A.dtype as DType));
  // Recorded: the other batch elements stay differentiable (createGraph).
  return where(isSingular, exact, recorded);
}

/**
 * torch.linalg.det: det A of A [..., n, n] = ±Π U[i, i] from LU with partial pivoting (0 for a
 * singular matrix, no error; 1 for n = 0). The gradient is g·det(A)·A⁻ᵀ (torch's), from recorded
 * ops (twice differentiable where A is invertible); at a singular A it is the exact cofactor
 * matrix (see cofactor: chosen per batch element on the device, no host read on CUDA), which torch 1.13 gives
 * with createGraph, where its plain backward gives 0. Second derivatives are NaN at an exactly
 * singular A and lose accuracy near one (the cancellation in det·A⁻ᵀ, ∝ cond(A)·eps; torch 1.13
 * switches to an SVD there).
 */
export function det(A: Tensor): Tensor {
  const op = 'linalg.det';
  checkMatrices(A, op);
  const out = tidy(() => noGrad(() => {
    const f = factorSquare(A, op);
    return mul(prod(diagOf(f.LU), -1), pivotSign(f.pivots, A.dtype as DType));
  }));
  return record(out, op, [A], (g, [sA]) => [mul(reshape(g, [...g.shape, 1, 1]), cofactor(sA, op))], [A], true);
}

/**
 * torch.linalg.slogdet: sign (±1, 0 for a singular matrix) and logabsdet = log |det A| (−∞ when
 * singular) of A [..., n, n], from LU with partial pivoting (no overflow: a sum of logs).
 * logabsdet is differentiable (g·A⁻ᵀ, through the recorded factorisation); sign is not.
 * A matrix whose LU has a NaN pivot (A holds a NaN) gets sign 0 and logabsdet NaN, as torch 1.13
 * (its sign is Π sgn(U[i, i])·det(P) with sgn(NaN) = 0). The zero sign is +0 here, where torch
 * 1.13 gives −0 when the permutation is odd (det(P) = −1). logabsdet's gradient at a singular A is
 * NaN (torch 1.13 gives ±∞ there).
 */
export function slogdet(A: Tensor): { sign: Tensor; logabsdet: Tensor } {
  const op = 'linalg.slogdet';
  checkMatrices(A, op);
  return tidy(() => {
    const f = factorSquare(A, op);
    const d = diagOf(f.LU);
    const sign = noGrad(() => {
      // sgn(x) = [x > 0] − [x < 0]: 0 at NaN (torch's sgn), where sign(x) keeps NaN.
      const sgn = sub(greater(d, 0).cast(A.dtype as DType), less(d, 0).cast(A.dtype as DType));
      const s = mul(prod(sgn, -1), pivotSign(f.pivots, A.dtype as DType));
      return where(equal(s, 0), 0, s); // +0, not −0, for a singular (or NaN) matrix
    });
    return { sign, logabsdet: sum(log(abs(d)), -1) };
  });
}

/**
 * torch.logdet: log det A of A [..., n, n]: NaN where det A < 0, −∞ where A is singular
 * (slogdet's logabsdet where the sign is +1). Differentiable as slogdet.
 */
export function logdet(A: Tensor): Tensor {
  const op = 'linalg.logdet';
  checkMatrices(A, op);
  return tidy(() => {
    const { sign, logabsdet } = slogdet(A);
    return where(less(sign, 0), NaN, logabsdet);
  });
}

// ---------------------------------------------------------------- Cholesky

/** Options of {@link cholesky}. */
export interface CholeskyOptions {
  /** Return the upper factor U (A = Uᵀ U), read from A's upper triangle as torch's, instead of L (default false). */
  upper?: boolean;
}

/** Options of {@link choleskyEx}. */
export interface CholeskyExOptions extends CholeskyOptions {
  /** Throw LINALG_ERROR when a matrix is not positive-definite (default false: report it in info). */
  checkErrors?: boolean;
}

/**
 * torch's Cholesky gradient (cholesky_backward): with Φ(X) = tril(X) with its diagonal halved,
 * gA = L⁻ᵀ Φ(Lᵀ gL) L⁻¹ symmetrised (½(S + Sᵀ) where S = tril(Lᵀ gL)), from recorded triangular
 * solves: twice differentiable.
 */
function choleskyBackward(L: Tensor, g: Tensor): Tensor {
  const T = tril(matmul(L, g, { transposeA: true }));
  const S = mul(add(T, transpose(tril(T, -1))), 0.5);
  const Y = solveTriangular(transpose(L), S, { upper: true });
  return solveTriangular(L, Y, { upper: false, left: false });
}

/** The native Cholesky factor of A3 [N, n, n] (its lower triangle read), recorded, and info [N]. */
function cholesky3(A3: Tensor, op: string): { L: Tensor; info: Tensor } {
  const [hL, hInfo] = kernel('cholesky', op)(A3.handle);
  const out = wrap(hL), info = wrap(hInfo);
  const L = record(out, 'linalg.cholesky', [A3], (g, [sL]) => [choleskyBackward(sL, g)], [out], true);
  return { L, info };
}

function choleskyImpl(op: string, A: Tensor, options: CholeskyExOptions | undefined, keys: string[], check: boolean): { L: Tensor; info: Tensor } {
  checkMatrices(A, op);
  const o = checkOptions<CholeskyExOptions>(options, op, keys);
  const upper = o.upper === undefined ? false : checkBoolean(o.upper, op, 'options.upper');
  if (o.checkErrors !== undefined && checkBoolean(o.checkErrors, op, 'options.checkErrors')) check = true;
  return tidy(() => {
    // upper reads A's upper triangle, as torch's (LAPACK potrf 'U'): the lower factor of Aᵀ, transposed.
    const { A3, batch } = flatten3(upper ? transpose(A) : A);
    const r = cholesky3(A3, op);
    if (check) {
      const { b, k } = firstFailure(r.info);
      if (b >= 0) fail('LINALG_ERROR', `${op}: the matrix${atBatch(batch, b)} is not positive-definite (the leading minor of order ${k} is not positive-definite)`);
    }
    const L = reshape(r.L, A.shape.slice());
    return { L: upper ? transpose(L) : L, info: reshape(r.info, batch) };
  });
}

/**
 * torch.linalg.cholesky: L lower triangular with A = L Lᵀ for symmetric positive-definite A
 * [..., n, n] (only its lower triangle is read, as torch's), or U upper triangular with A = Uᵀ U
 * with upper (then only A's upper triangle is read, as torch's). Native
 * (LAPACK potrf's algorithm, native/kernels/linalg_lu.h). Throws LINALG_ERROR naming the batch
 * element and the order of the first leading minor that is not positive-definite. The gradient
 * is torch's (symmetric), from recorded triangular solves: twice differentiable.
 */
export function cholesky(A: Tensor, options?: CholeskyOptions): Tensor {
  return choleskyImpl('linalg.cholesky', A, options, ['upper'], true).L;
}

/** torch.linalg.cholesky_ex: {@link cholesky} returning info (int32 [...], k > 0: the leading minor of order k is not positive-definite) instead of throwing, unless checkErrors. */
export function choleskyEx(A: Tensor, options?: CholeskyExOptions): { L: Tensor; info: Tensor } {
  return choleskyImpl('linalg.choleskyEx', A, options, ['upper', 'checkErrors'], false);
}

// ---------------------------------------------------------------- compositions

/**
 * torch.linalg.matrix_power: A^n for square A [..., n, n] and an integer n (the identity for 0,
 * powers of inv(A) for n < 0, LINALG_ERROR when A is singular then), by repeated squaring.
 * Differentiable (recorded matmuls and inv).
 */
export function matrixPower(A: Tensor, n: number): Tensor {
  const op = 'linalg.matrixPower';
  checkMatrices(A, op);
  if (typeof n !== 'number' || !Number.isInteger(n)) fail('INVALID_ARGUMENT', `${op}: n must be an integer; got ${String(n)}`);
  const m = A.shape[A.rank - 1];
  return tidy(() => {
    if (n === 0) return broadcastTo(eye(m, m, { dtype: A.dtype as DType, device: A.device }), A.shape.slice());
    let base = n < 0 ? inv(A) : A;
    let k = Math.abs(n);
    let result: Tensor | null = null;
    for (;;) {
      if (k & 1) result = result === null ? base : matmul(result, base);
      k = Math.floor(k / 2);
      if (k === 0) break;
      base = matmul(base, base);
    }
    // A^1 is a copy, not A itself (an op returns a fresh tensor).
    return result === A ? reshape(A, A.shape.slice()).clone() : result!;
  });
}

/**
 * torch.linalg.tensorinv: the tensor X of shape A.shape[ind:] + A.shape[:ind] with
 * tensordot(X, A, ind) the identity, for A whose first ind dims and last dims have equal
 * products: inv of A reshaped to a square matrix. LINALG_ERROR when it is singular.
 */
export function tensorinv(A: Tensor, ind = 2): Tensor {
  const op = 'linalg.tensorinv';
  checkTensor(A, op, 'A');
  checkFloat(A, op, 'A');
  if (typeof ind !== 'number' || !Number.isInteger(ind) || ind <= 0) fail('INVALID_ARGUMENT', `${op}: ind must be a positive integer; got ${String(ind)}`);
  const head = A.shape.slice(0, ind), tail = A.shape.slice(ind);
  if (ind > A.rank || product(head) !== product(tail))
    fail('SHAPE_MISMATCH', `${op}: the product of A's first ind = ${ind} dims must equal that of the rest; got ${shapeText(A.shape)}`);
  return tidy(() => reshape(inv(reshape(A, [product(head), product(tail)])), [...tail, ...head]));
}

/**
 * torch.linalg.tensorsolve: X with tensordot(A, X, X.ndim) = B, X of shape A.shape[B.ndim:]
 * (after moving the dims `dims` of A to the end), A's leading dims being B's shape and the
 * products matching: solve of A reshaped to a square matrix. LINALG_ERROR when it is singular.
 */
export function tensorsolve(A: Tensor, B: Tensor, dims?: readonly number[]): Tensor {
  const op = 'linalg.tensorsolve';
  checkTensor(A, op, 'A');
  checkTensor(B, op, 'B');
  checkFloat(A, op, 'A');
  checkFloat(B, op, 'B');
  let Am = A;
  return tidy(() => {
    if (dims !== undefined && dims !== null) {
      if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= -A.rank && d < A.rank))
        fail('INVALID_ARGUMENT', `${op}: dims must be an array of dims of A (rank ${A.rank}); got ${String(dims)}`);
      const moved = dims.map((d) => (d < 0 ? d + A.rank : d));
      if (new Set(moved).size !== moved.length) fail('INVALID_ARGUMENT', `${op}: dims repeat a dim: ${String(dims)}`);
      const rest = A.shape.map((_, i) => i).filter((i) => !moved.includes(i));
      Am = permute(A, [...rest, ...moved]);
    }
    const lead = Am.shape.slice(0, B.rank), xShape = Am.shape.slice(B.rank);
    if (B.rank > Am.rank || !lead.every((d, i) => d === B.shape[i]) || product(lead) !== product(xShape))
      fail('SHAPE_MISMATCH', `${op}: A ${shapeText(Am.shape)} must start with B's shape ${shapeText(B.shape)} and the remaining dims have the same product`);
    const n = product(xShape);
    return reshape(solve(reshape(Am, [n, n]), reshape(B, [n])), xShape);
  });
}
