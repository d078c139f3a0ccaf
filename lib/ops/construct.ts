/**
 * Building tensors out of others, with PyTorch 1.13's semantics: blockDiag
 * (torch.block_diag), cartesianProd (torch.cartesian_prod), combinations
 * (torch.combinations), and the index tables triuIndices / trilIndices
 * (torch.triu_indices / tril_indices, int32 where PyTorch's are int64);
 * atleast1d/2d/3d, the stacks hstack, vstack (rowStack), dstack and
 * columnStack, the splits hsplit / vsplit / dsplit, torch's names unbind
 * and moveaxis for unstack and movedim, flipud / fliplr and diagflat;
 * logspace; and the trapezoid rule, trapezoid / cumulativeTrapezoid. All
 * but the index tables and logspace (creation ops) are composed from
 * recorded ops (reshape, cast, pad, concat, flip, meshgrid, stack,
 * indexSelect, diagEmbed, narrow, sum, cumsum, tensorSplit), so gradients
 * come from autograd and every device runs them; the positions combinations
 * gathers, the index tables and logspace's values are computed on the host
 * (no device sync).
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, resolveCreate, tensor, Tensor, zeros } from '../tensor';
import { broadcastShapes, checkAxis, checkBoolean, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import { add, broadcastTo, cast, clone, concat, cumsum, flip, mul, reshape, resultType, slice, stack, sub, sum } from './core';
import { indexSelect } from './indexing';
import { diagEmbed, meshgrid } from './products';
import { narrow, pad, select, unstack } from './shape';
import { movedim, tensorSplit } from './selection';

/** The tensors of a variadic call (f(a, b, c) or f([a, b, c])), each live and on one device. */
function tensorsOf(op: string, args: readonly (Tensor | readonly Tensor[])[]): Tensor[] {
  const ts = (args.length === 1 && Array.isArray(args[0]) ? args[0] : args) as Tensor[];
  ts.forEach((t, i) => {
    if (!(t instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: tensors[${i}] must be a Tensor; got ${describe(t)}`);
    checkTensor(t, op, `tensors[${i}]`);
    if (t.device !== ts[0].device)
      fail('DEVICE_MISMATCH', `${op}: tensors[${i}] is on ${t.device} and tensors[0] on ${ts[0].device}; move one with .to('${ts[0].device}')`);
  });
  return ts;
}

/**
 * torch.block_diag: the inputs as blocks down the diagonal of one matrix, zeros elsewhere. Each
 * input is 0-d (a 1×1 block), 1-D of size n (a 1×n block) or 2-D; the result is [Σ rows, Σ cols].
 * The tensors may come as one array too. Mixed dtypes promote as torch's (result_type: tensors
 * with dimensions decide, 0-d ones count only when they bring floating point to integers). No
 * tensors give a float32 [1, 0], as torch's. Gradients: each block's slice of the output's.
 */
export function blockDiag(...tensors: (Tensor | readonly Tensor[])[]): Tensor {
  const op = 'blockDiag';
  const ts = tensorsOf(op, tensors);
  ts.forEach((t, i) => {
    if (t.rank > 2) fail('SHAPE_MISMATCH', `${op}: tensors[${i}] has shape ${shapeText(t.shape)}; expected 0-d, 1-D or 2-D (as torch.block_diag)`);
  });
  if (ts.length === 0) return zeros([1, 0]);
  const dtype = resultType(...ts);
  const blocks = ts.map((t) => (t.rank === 2 ? t.shape.slice() : [1, t.rank === 1 ? t.shape[0] : 1]));
  const cols = blocks.reduce((s, b) => s + b[1], 0);
  return tidy(() => {
    let at = 0;
    const rows = ts.map((t, i) => {
      const [, c] = blocks[i];
      const m = reshape(t.dtype === dtype ? t : cast(t, dtype), blocks[i]);
      const row = pad(m, [[0, 0], [at, cols - at - c]]);
      at += c;
      return row;
    });
    return concat(rows, 0);
  });
}

/**
 * torch.cartesian_prod: for k 1-D tensors of sizes n1, …, nk (one dtype, as torch's, which goes
 * through meshgrid), the [n1·…·nk, k] tuples in lexicographic order (the last input varying
 * fastest). One tensor gives a copy of it, 1-D (torch's special case, which returns the input
 * itself). The tensors may come as one array too. Gradients sum back to each input.
 */
export function cartesianProd(...tensors: (Tensor | readonly Tensor[])[]): Tensor {
  const op = 'cartesianProd';
  const ts = tensorsOf(op, tensors);
  if (ts.length === 0) fail('INVALID_ARGUMENT', `${op}: expected at least one tensor`);
  ts.forEach((t, i) => {
    if (t.rank !== 1) fail('SHAPE_MISMATCH', `${op}: tensors[${i}] has shape ${shapeText(t.shape)}; expected 1-D`);
    if (t.dtype !== ts[0].dtype)
      fail('DTYPE_MISMATCH', `${op}: tensors[${i}] is ${t.dtype} and tensors[0] ${ts[0].dtype}; expected one dtype (as torch's; cast one with .cast('${ts[0].dtype}'))`);
  });
  if (ts.length > 8) fail('INVALID_ARGUMENT', `${op}: ${ts.length} tensors; at most 8 are supported (antler's 8-dim limit on the grids)`);
  if (ts.length === 1) return clone(ts[0]);
  return tidy(() => {
    const grids = meshgrid(ts);
    const size = grids[0].size;
    return stack(grids.map((g) => reshape(g, [size])), 1);
  });
}

export interface CombinationsOptions {
  /** Let an element repeat within a combination (default false), as torch's with_replacement. */
  withReplacement?: boolean;
}

/** n choose k as a float (exact while below 2^53; only compared with a limit). */
function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  k = Math.min(k, n - k); // C(n, k) = C(n, n − k): at most n/2 steps
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}

/**
 * torch.combinations: the length-r combinations of the elements of the 1-D x, as the rows of a
 * [count, r] tensor, in torch's order (lexicographic in the positions, as itertools.combinations,
 * or combinations_with_replacement with `{withReplacement: true}`). r = 0 gives an empty 1-D
 * tensor ([0], torch's); r above x's size without replacement gives [0, r]. Gradients sum back to
 * x's elements (each row gathers from x). The positions are counted on the host; at most
 * 2^31 − 1 elements in the result (int32 positions).
 */
export function combinations(x: Tensor, r = 2, options?: CombinationsOptions): Tensor {
  const op = 'combinations';
  checkTensor(x, op, 'x');
  if (x.rank !== 1) fail('SHAPE_MISMATCH', `${op}: x has shape ${shapeText(x.shape)}; expected 1-D`);
  checkInteger(r, op, 'r', 0);
  const o = checkOptions<CombinationsOptions>(options, op, ['withReplacement']);
  const rep = o.withReplacement === undefined ? false : checkBoolean(o.withReplacement, op, 'withReplacement');
  if (r === 0) return slice(x, [0], [0]);
  const n = x.shape[0];
  const count = rep ? choose(n + r - 1, r) : choose(n, r);
  if (count * r > 2 ** 31 - 1)
    fail('INVALID_ARGUMENT', `${op}: ${rep ? 'with' : 'without'} replacement, r = ${r} of ${n} elements gives ${count} combinations (${count * r} elements); at most 2^31 − 1 elements are supported`);
  const positions = new Int32Array(count * r);
  // The combination in `at`, advanced in place: the rightmost position that can still grow grows,
  // and the ones after it restart from it (or just past it without replacement). None (r > n, or
  // no elements): no counter, whatever r is.
  const at = new Int32Array(count === 0 ? 0 : r).map((_, k) => (rep ? 0 : k));
  for (let row = 0; row < count; row++) {
    positions.set(at, row * r);
    let k = r - 1;
    while (k >= 0 && at[k] === (rep ? n - 1 : n - r + k)) k--;
    if (k < 0) break;
    at[k] += 1;
    for (let j = k + 1; j < r; j++) at[j] = rep ? at[k] : at[j - 1] + 1;
  }
  return tidy(() => reshape(indexSelect(x, 0, tensor(positions, [count * r], { dtype: 'int32', device: x.device })), [count, r]));
}

/** Σ over rows i in [0, row) of clamp(i + c, 0, col), exactly (BigInt: the sums pass 2^53 near 2^31 sizes). */
function clampedRowSum(row: number, col: number, c: number): bigint {
  const clampRow = (v: number) => BigInt(Math.min(row, Math.max(0, v)));
  const lo = clampRow(1 - c); // the first row keeping something
  const hi = clampRow(col - c); // the first row keeping all col
  const m = hi > lo ? hi : lo;
  const bc = BigInt(c);
  // Rows lo … m − 1 keep i + c; rows m … row − 1 keep col.
  return ((m - lo) * (lo + m - 1n + 2n * bc)) / 2n + (BigInt(row) - m) * BigInt(col);
}

/**
 * The [2, k] int32 table of the kept (i, j), row by row: upper, j ≥ i + offset; lower, j ≤ i + offset.
 * k is counted in closed form and the loop visits only the rows that keep something (time O(k),
 * not O(row), so a refusal or a small table near 2^31 rows is immediate).
 */
function triangleIndices(op: string, row: number, col: number, offset: number, options: unknown, upper: boolean): Tensor {
  checkInteger(row, op, 'row', 0);
  checkInteger(col, op, 'col', 0);
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) fail('INVALID_ARGUMENT', `${op}: offset must be an integer; got ${describe(offset)}`);
  const { dtype, device } = resolveCreate(options, op, [], 'int32');
  if (dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: dtype must be 'int32' (antler's index dtype, where torch's default is int64); got '${dtype}'`);
  if (row >= 2 ** 31 || col >= 2 ** 31) fail('INVALID_ARGUMENT', `${op}: row ${row} and col ${col} must be below 2^31 (int32 indices)`);
  const big = upper ? BigInt(row) * BigInt(col) - clampedRowSum(row, col, offset) : clampedRowSum(row, col, offset + 1);
  if (2n * big > 2n ** 31n - 1n) fail('INVALID_ARGUMENT', `${op}: row ${row}, col ${col} and offset ${offset} keep ${big} positions; at most 2^30 − 1 are supported (int32 [2, k])`);
  const k = Number(big);
  // The rows that keep something: upper, i + offset < col; lower, i + offset ≥ 0.
  const first = upper ? 0 : Math.min(row, Math.max(0, -offset));
  const last = upper ? Math.min(row, Math.max(0, col - offset)) : row;
  const out = new Int32Array(2 * k);
  let e = 0;
  for (let i = first; i < last && e < k; i++) {
    const lo = upper ? Math.min(col, Math.max(0, i + offset)) : 0;
    const hi = upper ? col : Math.max(0, Math.min(col, i + offset + 1));
    for (let j = lo; j < hi; j++, e++) {
      out[e] = i;
      out[k + e] = j;
    }
  }
  return tensor(out, [2, k], { dtype: 'int32', device });
}

/**
 * torch.triu_indices: the positions (i, j) of a row × col matrix's upper triangle, j ≥ i + offset
 * (offset 0 the main diagonal, positive above it, negative below), as an int32 [2, k] tensor of
 * rows then columns, row by row (torch's order). Options: `{device}`, and `{dtype}` only 'int32'
 * (antler's index dtype; torch's default is int64). Not differentiable (indices).
 */
export function triuIndices(row: number, col: number, offset = 0, options?: { dtype?: 'int32'; device?: string }): Tensor {
  return triangleIndices('triuIndices', row, col, offset, options, true);
}

/**
 * torch.tril_indices: the positions (i, j) of a row × col matrix's lower triangle, j ≤ i + offset,
 * as an int32 [2, k] tensor, row by row; as triuIndices otherwise.
 */
export function trilIndices(row: number, col: number, offset = 0, options?: { dtype?: 'int32'; device?: string }): Tensor {
  return triangleIndices('trilIndices', row, col, offset, options, false);
}

// ---------------------------------------------------------------- at least n dims, stacks, flips

/** x reshaped to at least `rank` dims the way torch.atleast_{1,2,3}d does (always a new tensor: a reshape). */
function atLeast(x: Tensor, rank: 1 | 2 | 3): Tensor {
  const s = x.shape;
  let to: number[];
  if (s.length >= rank) to = s.slice();
  else if (s.length === 0) to = Array.from({ length: rank }, () => 1);
  else if (rank === 2) to = [1, s[0]];
  else to = s.length === 1 ? [1, s[0], 1] : [s[0], s[1], 1];
  return reshape(x, to);
}

function atLeastOf(op: string, rank: 1 | 2 | 3, args: readonly (Tensor | readonly Tensor[])[]): Tensor | Tensor[] {
  const single = args.length === 1 && args[0] instanceof Tensor;
  const ts = tensorsOf(op, args);
  if (single) return atLeast(ts[0], rank);
  return ts.map((t) => atLeast(t, rank));
}

/**
 * torch.atleast_1d: a 0-d tensor as [1], others reshaped to themselves. One tensor gives one
 * tensor; several (or an array) give an array. Always new tensors (reshapes; torch returns the
 * input itself when it has the dims already), so each result is disposed on its own.
 */
export function atleast1d(x: Tensor): Tensor;
export function atleast1d(...tensors: (Tensor | readonly Tensor[])[]): Tensor[];
export function atleast1d(...tensors: (Tensor | readonly Tensor[])[]): Tensor | Tensor[] {
  return atLeastOf('atleast1d', 1, tensors);
}

/** torch.atleast_2d: 0-d as [1, 1], 1-D [n] as [1, n]; otherwise as atleast1d. */
export function atleast2d(x: Tensor): Tensor;
export function atleast2d(...tensors: (Tensor | readonly Tensor[])[]): Tensor[];
export function atleast2d(...tensors: (Tensor | readonly Tensor[])[]): Tensor | Tensor[] {
  return atLeastOf('atleast2d', 2, tensors);
}

/** torch.atleast_3d: 0-d as [1, 1, 1], 1-D [n] as [1, n, 1], 2-D [m, n] as [m, n, 1]; otherwise as atleast1d. */
export function atleast3d(x: Tensor): Tensor;
export function atleast3d(...tensors: (Tensor | readonly Tensor[])[]): Tensor[];
export function atleast3d(...tensors: (Tensor | readonly Tensor[])[]): Tensor | Tensor[] {
  return atLeastOf('atleast3d', 3, tensors);
}

/** The tensors of a stack op: a non-empty array, live, on one device. */
function stackInputs(op: string, tensors: readonly Tensor[]): Tensor[] {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0) fail('INVALID_ARGUMENT', `${op}: expected a non-empty array of tensors; got ${describe(tensors)}`);
  return tensorsOf(op, [tensors]);
}

/**
 * torch.hstack: the tensors joined column-wise: concat along axis 0 when the first is 1-D (after
 * 0-d ones become [1]), else along axis 1. Mixed dtypes promote as concat's (torch.cat's).
 */
export function hstack(tensors: readonly Tensor[]): Tensor {
  const ts = stackInputs('hstack', tensors);
  return tidy(() => {
    const ms = ts.map((t) => atLeast(t, 1));
    return concat(ms, ms[0].rank === 1 ? 0 : 1);
  });
}

/** torch.vstack: the tensors joined row-wise: each at least 2-D (1-D [n] as [1, n]), concat along axis 0. */
export function vstack(tensors: readonly Tensor[]): Tensor {
  const ts = stackInputs('vstack', tensors);
  return tidy(() => concat(ts.map((t) => atLeast(t, 2)), 0));
}

/** torch.row_stack, an alias of vstack. */
export function rowStack(tensors: readonly Tensor[]): Tensor {
  const ts = stackInputs('rowStack', tensors);
  return tidy(() => concat(ts.map((t) => atLeast(t, 2)), 0));
}

/** torch.dstack: the tensors joined depth-wise: each at least 3-D (as atleast3d), concat along axis 2. */
export function dstack(tensors: readonly Tensor[]): Tensor {
  const ts = stackInputs('dstack', tensors);
  return tidy(() => concat(ts.map((t) => atLeast(t, 3)), 2));
}

/** torch.column_stack: 0-d and 1-D tensors as columns ([n, 1]), others as they are, concat along axis 1. */
export function columnStack(tensors: readonly Tensor[]): Tensor {
  const ts = stackInputs('columnStack', tensors);
  return tidy(() => concat(ts.map((t) => (t.rank <= 1 ? reshape(t, [t.size, 1]) : reshape(t, t.shape))), 1));
}

/** torch.flipud: x reversed along axis 0 (x at least 1-D). A copy, as torch's. */
export function flipud(x: Tensor): Tensor {
  checkTensor(x, 'flipud', 'x');
  if (x.rank < 1) fail('SHAPE_MISMATCH', `flipud: x has shape ${shapeText(x.shape)}; expected at least 1 dim`);
  return flip(x, [0]);
}

/** torch.fliplr: x reversed along axis 1 (x at least 2-D). A copy, as torch's. */
export function fliplr(x: Tensor): Tensor {
  checkTensor(x, 'fliplr', 'x');
  if (x.rank < 2) fail('SHAPE_MISMATCH', `fliplr: x has shape ${shapeText(x.shape)}; expected at least 2 dims`);
  return flip(x, [1]);
}

/**
 * torch.diagflat: x flattened (any rank, 0-d as one element) onto the `offset`-th diagonal of a
 * square matrix of side size + |offset|, zeros elsewhere. Gradient: the diagonal, reshaped to x.
 */
export function diagflat(x: Tensor, offset = 0): Tensor {
  checkTensor(x, 'diagflat', 'x');
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) fail('INVALID_ARGUMENT', `diagflat: offset must be an integer; got ${describe(offset)}`);
  return tidy(() => diagEmbed(reshape(x, [x.size]), { offset }));
}

// ---------------------------------------------------------------- the trapezoid rule

export interface TrapezoidOptions {
  /** The spacing of the samples when no x is given (default 1), torch's dx. */
  dx?: number;
  /** The axis integrated along (default −1), torch's dim. */
  axis?: number;
}

/** The checked arguments of trapezoid / cumulativeTrapezoid: y, x (or undefined), dx, the axis (and as given). */
function trapezoidArgs(op: string, y: Tensor, x: Tensor | TrapezoidOptions | null | undefined, options: TrapezoidOptions | undefined) {
  checkTensor(y, op, 'y');
  if (x !== undefined && x !== null && !(x instanceof Tensor)) {
    if (options !== undefined) fail('INVALID_ARGUMENT', `${op}: the second argument is x (a Tensor) when options follow it; got ${describe(x)}`);
    options = x as TrapezoidOptions;
    x = undefined;
  }
  const o = checkOptions<TrapezoidOptions>(options, op, ['dx', 'axis']);
  if (y.rank === 0) fail('SHAPE_MISMATCH', `${op}: y is 0-d; expected at least 1 dim (the samples' axis)`);
  const given = o.axis === undefined ? -1 : o.axis;
  const axis = checkAxis(y, given, op);
  const xt = x instanceof Tensor ? checkTensor(x, op, 'x') : undefined;
  if (xt !== undefined) {
    if (o.dx !== undefined) fail('INVALID_ARGUMENT', `${op}: x and dx were both given (${describe(o.dx)}); give one (as torch)`);
    if (xt.device !== y.device) fail('DEVICE_MISMATCH', `${op}: x is on ${xt.device} and y on ${y.device}; move one with .to('${y.device}')`);
  }
  const dx = o.dx === undefined ? 1 : checkFinite(o.dx, op, 'dx');
  return { xt, dx, axis, given };
}

/**
 * The widths x[i+1] − x[i] along the axis, in x's dtype, shaped to broadcast with y's pairs: a 1-D x
 * (one position per sample) along y's axis; otherwise torch's: x with fewer dims than y gets leading
 * 1s up to y's rank, then its differences along y's axis (counted on y's rank, so axis 1 of a
 * [3, 4, 2] y with a [4, 2] x is x's axis 0), the product broadcasting.
 */
function widths(op: string, y: Tensor, xt: Tensor, axis: number, given: number): Tensor {
  const n = y.shape[axis];
  const pairsShape = y.shape.map((s, k) => (k === axis ? Math.max(n - 1, 0) : s));
  let width: Tensor;
  if (xt.rank === 0) fail('SHAPE_MISMATCH', `${op}: x is 0-d; expected the samples' positions, 1-D or broadcasting with y`);
  if (xt.rank === 1) {
    if (xt.shape[0] !== n)
      fail('SHAPE_MISMATCH', `${op}: x has ${xt.shape[0]} positions and y ${n} samples along axis ${given}; expected one x value for each sample point`);
    const m = Math.max(n - 1, 0);
    width = reshape(sub(narrow(xt, 0, Math.min(1, n), m), narrow(xt, 0, 0, m)), y.shape.map((s, k) => (k === axis ? m : 1)));
  } else {
    // torch's: x padded with leading 1s to y's rank (a larger x is used as it is), then the axis
    // as resolved on y.
    const xv = xt.rank < y.rank ? reshape(xt, [...new Array<number>(y.rank - xt.rank).fill(1), ...xt.shape]) : xt;
    const k = xv.shape[axis];
    const m = Math.max(k - 1, 0);
    width = sub(narrow(xv, axis, Math.min(1, k), m), narrow(xv, axis, 0, m));
  }
  if (broadcastShapes([pairsShape, width.shape]) === null)
    fail('SHAPE_MISMATCH', `${op}: x's widths ${shapeText(width.shape)} do not broadcast with y's pairs ${shapeText(pairsShape)} (x ${shapeText(xt.shape)}, y ${shapeText(y.shape)}, axis ${given})`);
  return width;
}

/** y[i] + y[i+1] along the axis (y has at least one sample there), in y's dtype. */
const pairSums = (y: Tensor, axis: number): Tensor => {
  const n = y.shape[axis];
  return add(narrow(y, axis, 1, n - 1), narrow(y, axis, 0, n - 1));
};

/**
 * torch.trapezoid: the trapezoid rule along `axis` (default −1): Σ (y[i] + y[i+1])/2 · (x[i+1] − x[i]),
 * with x a 1-D tensor of the samples' positions (one per sample) or a tensor whose differences
 * along the axis broadcast with y's (an x of fewer dims gets leading 1s first, so the axis, counted
 * on y's rank, names the same dim of both, as torch's), or evenly spaced by `{dx}` (default 1) when x is left out:
 * trapezoid(y, x, {axis}) or trapezoid(y, {dx, axis}). torch's arithmetic, step for step (so its
 * dtypes: int32 samples integrate in float32, except that no samples give y's dtype's zeros): with
 * dx, (Σ y − (y[0] + y[n−1])/2)·dx; with x, Σ (x[i+1] − x[i])·(y[i] + y[i+1]), halved. One sample
 * gives 0. Gradients to y and x.
 */
export function trapezoid(y: Tensor, x?: Tensor | TrapezoidOptions | null, options?: TrapezoidOptions): Tensor {
  const op = 'trapezoid';
  const { xt, dx, axis, given } = trapezoidArgs(op, y, x, options);
  // No samples: zeros of y's shape less the axis, in y's dtype (torch's, before looking at x).
  if (y.shape[axis] === 0) return sum(y, axis);
  return tidy(() => {
    if (xt === undefined) return mul(sub(sum(y, axis), mul(add(select(y, axis, 0), select(y, axis, -1)), 0.5)), dx);
    return mul(sum(mul(widths(op, y, xt, axis, given), pairSums(y, axis)), axis), 0.5);
  });
}

/**
 * torch.cumulative_trapezoid: the running trapezoid rule along `axis`: its size there is n − 1
 * (0 for an empty axis), element i the integral from the first sample to sample i + 1. Arguments
 * as trapezoid's; torch's arithmetic: with dx, the running sum of dx/2·(y[i] + y[i+1]); with x, of
 * (x[i+1] − x[i])·(y[i] + y[i+1]), halved.
 */
export function cumulativeTrapezoid(y: Tensor, x?: Tensor | TrapezoidOptions | null, options?: TrapezoidOptions): Tensor {
  const op = 'cumulativeTrapezoid';
  const { xt, dx, axis, given } = trapezoidArgs(op, y, x, options);
  return tidy(() => {
    if (y.shape[axis] === 0) {
      // No pairs: an empty axis, in the dtype the products would have (x still checked, as torch's).
      const none = narrow(y, axis, 0, 0);
      if (xt === undefined) return cast(none, resultType(y, 0.5));
      const shape = broadcastShapes([none.shape, widths(op, y, xt, axis, given).shape])!;
      return cast(broadcastTo(none, shape), resultType(y, xt, 0.5));
    }
    if (xt === undefined) {
      // dx / 2 is a float (torch's Python float) even when integral: int32 pairs become float32.
      const pairs = pairSums(y, axis);
      return cumsum(mul(pairs.dtype === 'int32' ? cast(pairs, 'float32') : pairs, dx / 2), axis);
    }
    return mul(cumsum(mul(widths(op, y, xt, axis, given), pairSums(y, axis)), axis), 0.5);
  });
}

// ---------------------------------------------------------------- splits and torch's other names

/** torch's hsplit/vsplit/dsplit: tensorSplit along `axis`, x of at least `rank` dims, a number of sections dividing the axis. */
function splitAlong(op: string, x: Tensor, indicesOrSections: number | readonly number[], rank: number, axis: number): Tensor[] {
  checkTensor(x, op, 'x');
  if (x.rank < rank) fail('SHAPE_MISMATCH', `${op}: x has shape ${shapeText(x.shape)}; expected at least ${rank} dim${rank === 1 ? '' : 's'}`);
  const ax = x.rank === 1 ? 0 : axis;
  if (typeof indicesOrSections === 'number') {
    checkInteger(indicesOrSections, op, 'sections', 1);
    if (x.shape[ax] % indicesOrSections !== 0)
      fail('INVALID_ARGUMENT', `${op}: axis ${ax} of size ${x.shape[ax]} (shape ${shapeText(x.shape)}) does not divide into ${indicesOrSections} equal sections; give indices to cut it unevenly`);
  }
  return tensorSplit(x, indicesOrSections, ax);
}

/**
 * torch.hsplit: x cut along axis 1 (axis 0 for a 1-D x) into `sections` equal pieces (the size
 * must divide, as torch's) or at the given indices (as tensorSplit's). Gradients land in place.
 */
export function hsplit(x: Tensor, indicesOrSections: number | readonly number[]): Tensor[] {
  return splitAlong('hsplit', x, indicesOrSections, 1, 1);
}

/** torch.vsplit: as hsplit along axis 0, x at least 2-D. */
export function vsplit(x: Tensor, indicesOrSections: number | readonly number[]): Tensor[] {
  return splitAlong('vsplit', x, indicesOrSections, 2, 0);
}

/** torch.dsplit: as hsplit along axis 2, x at least 3-D. */
export function dsplit(x: Tensor, indicesOrSections: number | readonly number[]): Tensor[] {
  return splitAlong('dsplit', x, indicesOrSections, 3, 2);
}

/** torch.unbind: the slices of x along `axis` (default 0), each without that axis; the repo's unstack. */
export function unbind(x: Tensor, axis = 0): Tensor[] {
  return unstack(x, axis);
}

/** torch.moveaxis: the repo's movedim (torch's alias of torch.movedim). */
export function moveaxis(x: Tensor, source: number | readonly number[], destination: number | readonly number[]): Tensor {
  return movedim(x, source, destination);
}

// ---------------------------------------------------------------- logspace

export interface LogspaceOptions {
  /** The base of the powers (default 10), torch's base. */
  base?: number;
  dtype?: 'float32' | 'float64' | 'int32';
  device?: string;
  requiresGrad?: boolean;
}

/**
 * torch.logspace: `steps` powers base^e with the exponents e evenly spaced from start to end, both
 * included (float32 by default). torch 1.13's CPU arithmetic (RangeFactories.cpp): start and end
 * in the result's dtype (int32: truncated toward zero) and their difference too (float32 rounds it),
 * the step and the exponents in double, the first half counted up from start and the second down
 * from end, base^e in double, rounded (int32: truncated) to the dtype; one step is base^start with
 * start as given. Values are made on the host (steps numbers) and copied to the device.
 */
export function logspace(start: number, end: number, steps: number, options?: LogspaceOptions): Tensor {
  const op = 'logspace';
  checkFinite(start, op, 'start');
  checkFinite(end, op, 'end');
  checkInteger(steps, op, 'steps', 0);
  const { dtype: asked, device, rest, grad } = resolveCreate(options, op, ['base']);
  const dtype = asked ?? 'float32';
  const base = rest.base === undefined ? 10 : checkFinite(rest.base, op, 'base');
  const f32 = dtype === 'float32' ? Math.fround : (v: number) => v;
  const [s0, e0] = dtype === 'int32' ? [Math.trunc(start), Math.trunc(end)] : [f32(start), f32(end)];
  // The difference in the dtype, then a double step; exponents in double (not rounded to float32).
  const step = steps > 1 ? f32(e0 - s0) / (steps - 1) : 0;
  const half = Math.floor(steps / 2);
  const values = Array.from({ length: steps }, (_, i) => {
    // One step is base^start with start as given (torch fills pow(base, start as a double)).
    const e = steps === 1 ? start : i < half ? s0 + step * i : e0 - step * (steps - i - 1);
    return base ** e;
  });
  if (dtype === 'int32') {
    const bad = values.findIndex((v) => !(Math.trunc(v) >= -(2 ** 31) && Math.trunc(v) < 2 ** 31));
    if (bad >= 0) fail('INVALID_ARGUMENT', `${op}: value ${bad}, ${values[bad]}, is outside int32's range [-2^31, 2^31); use a float dtype`);
  }
  return grad(tensor(dtype === 'int32' ? values.map(Math.trunc) : values, [steps], { dtype, device }));
}
