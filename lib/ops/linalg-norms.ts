/**
 * torch.linalg (norms and compositions): vectorNorm, matrixNorm, norm, multiDot, vecdot,
 * matrixExp, vander, cross and diagonal. Exported as `antler.linalg.*` (lib/ops/linalg.ts).
 * All are composed from recorded ops (the matrix exponential is deer.expm's Padé kernel),
 * so gradients come from autograd and every device runs them; the matrix norms of orders
 * 2, −2 and 'nuc' take singular values from linalg-svd-norms.ts.
 */
import { expm } from '../deer/expm';
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, ones, Tensor } from '../tensor';
import { broadcastShapes, checkBoolean, checkOptions, describe, shapeText } from '../validate';
import { abs, broadcastTo, cast, concat, cumprod, div, equal, max, min, mul, normAxes, notEqual, pow, reshape, sum, where } from './core';
import { isFinite as isFiniteT, logicalAnd, norm as pNorm } from './extra';
import { spectralMatrixNorm } from './linalg-svd-norms';
import { cross as crossProduct, diagonal as diagonalOf, mm } from './products';

/** The floating dtypes the norms compute in. */
export type NormDType = 'float32' | 'float64';

/** torch.linalg's norms take floating tensors only (an int32 x is refused even with `dtype`). */
function checkFloating(x: Tensor, op: string, what: string): void {
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: ${what} is int32; expected float32 or float64 (as torch.linalg); cast it first`);
}

/** `dtype` (the dtype to compute in) is floating and does not narrow x's (torch's check_linalg_norm_dtype). */
function checkNormDtype(dtype: unknown, x: Tensor, op: string): NormDType | undefined {
  if (dtype === undefined) return undefined;
  if (dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: dtype must be floating point (float32 or float64); got int32`);
  if (dtype !== 'float32' && dtype !== 'float64') fail('INVALID_ARGUMENT', `${op}: dtype must be 'float32' or 'float64'; got ${describe(dtype)}`);
  if (x.dtype === 'float64' && dtype === 'float32')
    fail('DTYPE_MISMATCH', `${op}: x is float64, which dtype float32 would narrow; expected a dtype at least as precise as x's (as torch)`);
  return dtype;
}

/** x in `dtype` (a recorded cast, so the gradient comes back in x's dtype). */
const inDtype = (x: Tensor, dtype: NormDType | undefined): Tensor => (dtype === undefined || dtype === x.dtype ? x : cast(x, dtype));

const checkKeep = (v: unknown, op: string): boolean => (v === undefined ? false : checkBoolean(v, op, 'keepDims'));

// ---------------------------------------------------------------- vector norms

/** Options of {@link vectorNorm}. */
export interface VectorNormOptions {
  /** The order: any real number, ±Infinity (largest / smallest |x|), 0 (the count of nonzeros). Default 2. */
  ord?: number;
  /** The axes reduced (one or several); all of them when absent or []. */
  axis?: number | readonly number[];
  /** Keep the reduced axes as size 1 (default false). */
  keepDims?: boolean;
  /** Compute in (and return) this dtype: x's or a wider one. */
  dtype?: NormDType;
}

/**
 * The vector ord-norm of x over `axis` (all elements by default): (Σ |x|^ord)^(1/ord)
 * (torch.linalg.vector_norm). ord = ∞ takes the largest |x| (ties share the gradient, as
 * torch's amax), −∞ the smallest, 0 counts the nonzeros (gradient 0). A negative ord gives
 * 0 where an element is 0. The gradient at a zero norm is 0 (torch's), also for ord 2.
 * float32/float64 (int32 is refused, as torch's, also with `dtype`). Orders other than 0, 1,
 * 2 and ±∞ are computed scaled by the largest (smallest, for ord < 0) |x|, so |x|^ord does not
 * overflow or underflow where the norm itself is representable (torch's is not scaled: its
 * float32 3-norm of [1e-30, 1e-30] is 0, this one 1.26e-30).
 */
export function vectorNorm(x: Tensor, options?: VectorNormOptions): Tensor {
  return vectorNormAs('linalg.vectorNorm', x, options);
}

function vectorNormAs(op: string, x: Tensor, options: VectorNormOptions | undefined): Tensor {
  checkTensor(x, op, 'x');
  const o = checkOptions<VectorNormOptions>(options, op, ['ord', 'axis', 'keepDims', 'dtype']);
  const ord = o.ord === undefined ? 2 : o.ord;
  if (typeof ord !== 'number' || Number.isNaN(ord)) fail('INVALID_ARGUMENT', `${op}: ord must be a number (Infinity and -Infinity allowed); got ${describe(ord)}`);
  const keepDims = checkKeep(o.keepDims, op);
  checkFloating(x, op, 'x');
  const dtype = checkNormDtype(o.dtype, x, op);
  const axes = normAxes(x, o.axis, op);
  // torch: ord < 0 and ord = ∞ have no identity, so they cannot reduce nothing.
  if (x.size === 0 && (ord < 0 || ord === Infinity)) {
    if (!axes.length) fail('INVALID_ARGUMENT', `${op}: cannot take the ${ord} norm of all of an empty tensor (shape ${shapeText(x.shape)}): the reduction has no identity`);
    for (const a of axes)
      if (x.rank > 0 && x.shape[a < 0 ? a + x.rank : a] === 0)
        fail('INVALID_ARGUMENT', `${op}: cannot take the ${ord} norm over axis ${a}, which is empty (shape ${shapeText(x.shape)}): the reduction has no identity`);
  }
  return tidy(() => {
    const xc = inDtype(x, dtype);
    if (ord >= 0 || ord === -Infinity) return pNorm(xc, ord, axes.length ? axes : undefined, keepDims);
    return negativeOrderNorm(xc, ord, axes, keepDims);
  });
}

/**
 * (Σ |x|^ord)^(1/ord) for a finite ord < 0, scaled by m = min |x|: m·(Σ (|x|/m)^ord)^(1/ord),
 * whose sum lies in [1, n]. A slice holding a 0 has norm 0 and gradient 0 (torch's), computed
 * on ones there so that no 0^ord = ∞ reaches the backward.
 */
function negativeOrderNorm(x: Tensor, ord: number, axes: number[], keepDims: boolean): Tensor {
  const ax = axes.length ? axes : undefined;
  const a = abs(x);
  // An empty x reduced over non-empty axes (vectorNormAs refused the rest): an empty result.
  if (x.size === 0) return sum(a, ax, keepDims);
  const m = min(a, ax, true);
  const zero = equal(m, 0);
  // Unscaled where the smallest is 0 (masked), ∞ (all ∞: the norm is ∞) or NaN.
  const scale = where(logicalAnd(isFiniteT(m), notEqual(m, 0)), m.detach(), 1);
  const s = sum(pow(div(where(zero, 1, a), scale), ord), ax, true);
  const out = where(zero, 0, mul(pow(s, 1 / ord), scale));
  if (keepDims) return out;
  const drop = new Set(ax ? ax.map((d) => (d < 0 ? d + x.rank : d)) : x.shape.map((_, i) => i));
  return reshape(out, x.shape.filter((_, i) => !drop.has(i)));
}

// ---------------------------------------------------------------- matrix norms

/** The orders of {@link matrixNorm}. */
export type MatrixNormOrd = 'fro' | 'nuc' | 1 | -1 | 2 | -2 | number;

/** Options of {@link matrixNorm}. */
export interface MatrixNormOptions {
  /** 'fro' (default), 'nuc', 1, −1, 2, −2, Infinity, −Infinity. */
  ord?: MatrixNormOrd;
  /** The two axes of the matrices (default [−2, −1]). */
  axis?: readonly [number, number] | readonly number[];
  /** Keep the two axes as size 1 (default false). */
  keepDims?: boolean;
  /** Compute in (and return) this dtype: A's or a wider one. */
  dtype?: NormDType;
}

function checkMatrixOrd(ord: unknown, op: string): 'fro' | 'nuc' | number {
  const ok = ord === 'fro' || ord === 'nuc' || ord === 1 || ord === -1 || ord === 2 || ord === -2 || ord === Infinity || ord === -Infinity;
  if (!ok) fail('INVALID_ARGUMENT', `${op}: order ${describe(ord)} is not supported for matrices; expected 'fro', 'nuc', 1, -1, 2, -2, Infinity or -Infinity`);
  return ord as 'fro' | 'nuc' | number;
}

/** Two different axes of A (normalised to [0, rank)). */
function matrixAxes(axis: unknown, A: Tensor, op: string): [number, number] {
  if (!Array.isArray(axis) || axis.length !== 2) fail('INVALID_ARGUMENT', `${op}: axis must be two axes [a, b]; got ${describe(axis)}`);
  const [d0, d1] = axis.map((a: unknown) => {
    if (typeof a !== 'number' || !Number.isInteger(a)) fail('INVALID_ARGUMENT', `${op}: axis must be two integers; got ${describe(axis)}`);
    if (a < -A.rank || a >= A.rank) fail('INVALID_ARGUMENT', `${op}: axis ${a} is out of range for A of shape ${shapeText(A.shape)}`);
    return a < 0 ? a + A.rank : a;
  });
  if (d0 === d1) fail('INVALID_ARGUMENT', `${op}: axis [${(axis as number[]).join(', ')}] names axis ${d0} of A ${shapeText(A.shape)} twice; expected two different axes`);
  return [d0, d1];
}

/**
 * The matrix norm of every matrix of A over `axis` (the last two by default; the result has
 * those axes removed) (torch.linalg.matrix_norm): 'fro' (√Σ a², default), 1 / −1 (the largest /
 * smallest column sum of |A|), Infinity / −Infinity (the same over rows), 2 / −2 (the largest /
 * smallest singular value) and 'nuc' (the sum of the singular values). Gradients as torch's:
 * ties of the largest (smallest) sum share it, a zero matrix's 'fro' gradient is 0.
 * float32/float64 (int32 refused); orders 1 and ∞ refuse an empty axis to take the extreme over.
 */
export function matrixNorm(A: Tensor, options?: MatrixNormOptions): Tensor {
  return matrixNormAs('linalg.matrixNorm', A, options);
}

function matrixNormAs(op: string, A: Tensor, options: MatrixNormOptions | undefined): Tensor {
  checkTensor(A, op, 'A');
  const o = checkOptions<MatrixNormOptions>(options, op, ['ord', 'axis', 'keepDims', 'dtype']);
  const ord = checkMatrixOrd(o.ord === undefined ? 'fro' : o.ord, op);
  const keepDims = checkKeep(o.keepDims, op);
  if (A.rank < 2) fail('SHAPE_MISMATCH', `${op}: A must have at least 2 dims (a matrix or a batch of them); got shape ${shapeText(A.shape)}`);
  checkFloating(A, op, 'A');
  const dtype = checkNormDtype(o.dtype, A, op);
  const [d0, d1] = matrixAxes(o.axis === undefined ? [-2, -1] : o.axis, A, op);
  if (ord === 'fro') return vectorNormAs(op, A, { ord: 2, axis: [d0, d1], keepDims, dtype });
  if (ord === 2 || ord === -2 || ord === 'nuc') return tidy(() => spectralMatrixNorm(inDtype(A, dtype), ord, [d0, d1], keepDims));
  // 1: sums of |A| down the columns (over d0), then the largest over d1; ∞ the same on the transpose.
  const [r, c] = Math.abs(ord) === Infinity ? [d1, d0] : [d0, d1];
  if (A.shape[c] === 0)
    fail('INVALID_ARGUMENT', `${op}: the ${ord} norm takes the ${ord > 0 ? 'largest' : 'smallest'} of the sums over axis ${c}, which is empty (shape ${shapeText(A.shape)}): no identity (as torch's amax)`);
  return tidy(() => {
    const sums = vectorNormAs(op, A, { ord: 1, axis: r, keepDims, dtype });
    const c2 = !keepDims && r < c ? c - 1 : c;
    return ord > 0 ? max(sums, c2, keepDims) : min(sums, c2, keepDims);
  });
}

// ---------------------------------------------------------------- norm

/** Options of {@link norm}. */
export interface NormOptions {
  /** A vector order (a number) or a matrix order ('fro', 'nuc', ±1, ±2, ±Infinity); see {@link norm}. */
  ord?: number | 'fro' | 'nuc';
  /** One axis (a vector norm) or two (a matrix norm). */
  axis?: number | readonly number[];
  /** Keep the reduced axes as size 1 (default false). */
  keepDims?: boolean;
  /** Compute in (and return) this dtype: A's or a wider one. */
  dtype?: NormDType;
}

/**
 * torch.linalg.norm: a vector or a matrix norm, by torch's rules. Without ord, the 2-norm of
 * the elements over `axis` (all of them when absent; any rank), which for two axes is the
 * Frobenius norm. With a numeric ord: a matrix norm ({@link matrixNorm}) when axis names two
 * axes, or when it is absent and A is 2-D; else the vector norm ({@link vectorNorm}) over the
 * one axis, or over a 1-D A. A string ord ('fro', 'nuc') is always a matrix norm. When ord is
 * given without axis, A must be 1-D or 2-D; axis must name one axis or two.
 */
export function norm(A: Tensor, options?: NormOptions): Tensor {
  const op = 'linalg.norm';
  checkTensor(A, op, 'A');
  const o = checkOptions<NormOptions>(options, op, ['ord', 'axis', 'keepDims', 'dtype']);
  let axis: number[] | undefined;
  if (typeof o.axis === 'number') axis = [o.axis];
  else if (Array.isArray(o.axis)) axis = [...o.axis];
  else if (o.axis !== undefined) fail('INVALID_ARGUMENT', `${op}: axis must be an integer or a list of one or two; got ${describe(o.axis)}`);
  if (axis !== undefined && axis.length !== 1 && axis.length !== 2)
    fail('INVALID_ARGUMENT', `${op}: axis must name one axis (a vector norm) or two (a matrix norm); got ${describe(o.axis)}`);
  const ord = o.ord;
  if (ord !== undefined && typeof ord !== 'number' && typeof ord !== 'string')
    fail('INVALID_ARGUMENT', `${op}: ord must be a number, 'fro' or 'nuc'; got ${describe(ord)}`);
  if (axis === undefined && ord !== undefined && A.rank !== 1 && A.rank !== 2)
    fail('SHAPE_MISMATCH', `${op}: with ord and no axis, A must be 1-D or 2-D; got shape ${shapeText(A.shape)} (name the axes to reduce)`);
  const rest = { keepDims: o.keepDims, dtype: o.dtype };
  if (typeof ord === 'string' || (ord !== undefined && (axis ? axis.length === 2 : A.rank === 2)))
    return matrixNormAs(op, A, { ord, axis: axis ?? [0, 1], ...rest });
  return vectorNormAs(op, A, { ord: ord ?? 2, axis, ...rest });
}

// ---------------------------------------------------------------- products

/**
 * The product of a chain of matrices, A₁ A₂ ⋯ Aₖ (torch.linalg.multi_dot), multiplied in the
 * order that costs the fewest scalar multiplications (the O(k³) matrix-chain dynamic programme
 * on the shapes; three matrices by torch's direct comparison, ties to (A₁A₂)A₃). The first may
 * be 1-D (a row vector) and the last 1-D (a column), removed from the result; the others 2-D.
 * One dtype and device (int32 exact or refused, as mm's).
 */
export function multiDot(tensors: readonly Tensor[]): Tensor {
  const op = 'linalg.multiDot';
  if (!Array.isArray(tensors)) fail('INVALID_ARGUMENT', `${op}: tensors must be an array of tensors; got ${describe(tensors)}`);
  tensors.forEach((t, i) => checkTensor(t, op, `tensors[${i}]`));
  const k = tensors.length;
  if (k < 2) fail('INVALID_ARGUMENT', `${op}: expected at least 2 tensors; got ${k}`);
  tensors.forEach((t, i) => {
    const end = i === 0 || i === k - 1;
    if (end ? t.rank !== 1 && t.rank !== 2 : t.rank !== 2)
      fail('SHAPE_MISMATCH', `${op}: tensors[${i}] must be ${end ? '1-D or 2-D (the first and last may be vectors)' : '2-D'}; got shape ${shapeText(t.shape)}`);
    if (t.dtype !== tensors[0].dtype) fail('DTYPE_MISMATCH', `${op}: tensors[${i}] is ${t.dtype} and tensors[0] ${tensors[0].dtype}; expected one dtype`);
    if (t.device !== tensors[0].device) fail('DEVICE_MISMATCH', `${op}: tensors[${i}] is on ${t.device} and tensors[0] on ${tensors[0].device}`);
  });
  const first = tensors[0], last = tensors[k - 1];
  const shapes = tensors.map((t, i) => (t.rank === 2 ? t.shape : i === 0 ? [1, t.shape[0]] : [t.shape[0], 1]));
  for (let i = 0; i + 1 < k; i++)
    if (shapes[i][1] !== shapes[i + 1][0])
      fail('SHAPE_MISMATCH', `${op}: tensors[${i}] ${shapeText(tensors[i].shape)} and tensors[${i + 1}] ${shapeText(tensors[i + 1].shape)} cannot be multiplied (${shapes[i][1]} ≠ ${shapes[i + 1][0]})`);
  const split = chainOrder(shapes.map((s) => s[0]).concat(shapes[k - 1][1]));
  return tidy(() => {
    const mats = tensors.map((t, i) => (t.rank === 2 ? t : reshape(t, shapes[i])));
    const product = (i: number, j: number): Tensor => (i === j ? mats[i] : mm(product(i, split[i][j]), product(split[i][j] + 1, j)));
    const out = product(0, k - 1);
    const shape = [...(first.rank === 2 ? [first.shape[0]] : []), ...(last.rank === 2 ? [last.shape[1]] : [])];
    return reshape(out, shape);
  });
}

/**
 * The cheapest parenthesisation of a chain of matrices of sizes p[0]×p[1], p[1]×p[2], …: split[i][j]
 * is where the product of matrices i..j divides (left i..s, right s+1..j). torch's rules: three
 * matrices by comparing the two costs (ties to the left product first), more by the dynamic
 * programme keeping the first cheapest split.
 */
function chainOrder(p: number[]): number[][] {
  const k = p.length - 1;
  const cost = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const split = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  if (k === 3) {
    const [a, b, c, d] = p;
    split[0][2] = a * c * (b + d) > b * d * (a + c) ? 0 : 1;
    split[0][1] = 0;
    split[1][2] = 1;
    return split;
  }
  for (let len = 1; len < k; len++) {
    for (let i = 0; i + len < k; i++) {
      const j = i + len;
      cost[i][j] = Infinity;
      for (let s = i; s < j; s++) {
        const q = cost[i][s] + cost[s + 1][j] + p[i] * p[s + 1] * p[j + 1];
        if (q < cost[i][j]) {
          cost[i][j] = q;
          split[i][j] = s;
        }
      }
    }
  }
  return split;
}

/**
 * The dot products of x and y along `axis` (default −1), x and y broadcast together
 * (torch.linalg.vecdot: Σ x·y; real tensors, so no conjugate). float32/float64 of one dtype
 * (int32 is refused, as torch's).
 */
export function vecdot(x: Tensor, y: Tensor, options?: { axis?: number }): Tensor {
  const op = 'linalg.vecdot';
  checkTensor(x, op, 'x');
  checkTensor(y, op, 'y');
  const o = checkOptions<{ axis: number }>(options, op, ['axis']);
  checkFloating(x, op, 'x');
  checkFloating(y, op, 'y');
  if (x.dtype !== y.dtype) fail('DTYPE_MISMATCH', `${op}: x is ${x.dtype} and y ${y.dtype}; expected one dtype`);
  if (x.device !== y.device) fail('DEVICE_MISMATCH', `${op}: x is on ${x.device} and y on ${y.device}`);
  const shape = broadcastShapes([x.shape, y.shape]);
  if (!shape) fail('SHAPE_MISMATCH', `${op}: x ${shapeText(x.shape)} and y ${shapeText(y.shape)} do not broadcast together`);
  const axis = o.axis === undefined ? -1 : o.axis;
  const rank = Math.max(1, shape.length);
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank)
    fail('INVALID_ARGUMENT', `${op}: axis must be an integer in [${-rank}, ${rank}) for the broadcast shape ${shapeText(shape)}; got ${describe(axis)}`);
  return tidy(() => sum(mul(x, y), axis));
}

// ---------------------------------------------------------------- matrix functions

/**
 * exp(A) of every square matrix of A [..., n, n] (torch.linalg.matrix_exp): deer.expm's
 * scaling-and-squaring Padé approximant (Higham 2005) and its Fréchet-derivative gradient.
 * float32/float64 (int32 refused, as torch's). A float32 A is computed in float64 and
 * rounded back (the gradient too, through the casts), so the result is exp(A) to float32's
 * rounding: 6e-8 of max |exp(A)| against mpmath on random A of 1-norms up to ~70, where
 * deer.expm's float32 arithmetic is 2e-7 to 4e-6 off and torch 1.13's float32 1e-7 to 8e-6;
 * and only the entries past float32's range overflow (exp(diag(1000, −1000)) is diag(∞, 0),
 * where float32 arithmetic, torch's too, gives all NaN). Costs: float64 arithmetic and
 * float64 copies of A and exp(A) (about 3× float32's time on the CPU at n = 200, the same for
 * batches of small matrices).
 */
export function matrixExp(A: Tensor): Tensor {
  const op = 'linalg.matrixExp';
  checkTensor(A, op, 'A');
  checkFloating(A, op, 'A');
  if (A.rank < 2 || A.shape[A.rank - 1] !== A.shape[A.rank - 2])
    fail('SHAPE_MISMATCH', `${op}: A must be square matrices [..., n, n] (at least 2 dims); got shape ${shapeText(A.shape)}`);
  // deer.expm's float32 kernel works in float32 with float32's Padé bounds (1e-6 relative at entries ~10).
  if (A.dtype === 'float32') return tidy(() => cast(expm(cast(A, 'float64')), 'float32'));
  return expm(A);
}

/**
 * The Vandermonde matrix of x [..., n]: [..., n, N] with columns x⁰, x¹, …, x^(N−1) (increasing
 * powers; torch.linalg.vander). N defaults to n and must be at least 2; a 0-d x counts as [1].
 * Powers are running products (as torch's), so the gradient is exact at x = 0. float32,
 * float64 and int32 (int32 products exact or refused, as cumprod's).
 */
export function vander(x: Tensor, options?: { N?: number }): Tensor {
  const op = 'linalg.vander';
  checkTensor(x, op, 'x');
  const o = checkOptions<{ N: number }>(options, op, ['N']);
  const shape = x.rank === 0 ? [1] : x.shape;
  const N = o.N === undefined ? shape[shape.length - 1] : o.N;
  if (typeof N !== 'number' || !Number.isInteger(N)) fail('INVALID_ARGUMENT', `${op}: N must be an integer; got ${describe(N)}`);
  if (N < 2) fail('INVALID_ARGUMENT', `${op}: N must be greater than 1; got ${N}${o.N === undefined ? ` (x's last axis, shape ${shapeText(x.shape)})` : ''}`);
  return tidy(() => {
    const col = reshape(x, [...shape, 1]);
    const powers = cumprod(broadcastTo(col, [...shape, N - 1]), shape.length);
    return concat([ones([...shape, 1], { dtype: x.dtype, device: x.device }), powers], shape.length);
  });
}

// ---------------------------------------------------------------- aliases

/** torch.linalg.cross: the cross product along `axis` (default −1) of size 3; antler.cross with the axis as an option. */
export function cross(a: Tensor, b: Tensor, options?: { axis?: number }): Tensor {
  const o = checkOptions<{ axis: number }>(options, 'linalg.cross', ['axis']);
  return crossProduct(a, b, o.axis === undefined ? -1 : o.axis);
}

/** Options of {@link diagonal}. */
export interface LinalgDiagonalOptions {
  /** Which diagonal: 0 the main (default), > 0 above it, < 0 below. */
  offset?: number;
  /** The two axes the diagonal runs over (default −2 and −1, torch.linalg.diagonal's; antler.diagonal's are 0 and 1). */
  axis1?: number;
  axis2?: number;
}

/**
 * torch.linalg.diagonal: antler.diagonal with the last two axes by default (the diagonal
 * of every matrix of a batch, appended as the last axis). A copy (torch's is a view).
 */
export function diagonal(A: Tensor, options?: LinalgDiagonalOptions): Tensor {
  const o = checkOptions<LinalgDiagonalOptions>(options, 'linalg.diagonal', ['offset', 'axis1', 'axis2']);
  return diagonalOf(A, { offset: o.offset, axis1: o.axis1 === undefined ? -2 : o.axis1, axis2: o.axis2 === undefined ? -1 : o.axis2 });
}
