/**
 * Reductions and scans beyond core (PyTorch's reduction ops): amax, median,
 * quantile, cummax, … Most are composed from recorded ops (sort, gather,
 * cumsum, where, …), so they run on the CPU and CUDA alike and their gradients
 * come from autograd: the selecting ones (median, …) gather x at the chosen
 * indices, so the gradient goes to the chosen element. cummax/cummin and
 * logcumsumexp are one native pass per line (kernels/scan_axis.h), their
 * gradients recorded ops (a scatterAdd onto the indices; PyTorch's
 * logcumsumexp backward through the same scan, or one native reverse pass
 * when no graph of the gradient is built).
 */
import { isGradEnabled, noGrad, record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, full, tensor, Tensor } from '../tensor';
import { checkAxis as oneAxis, checkBoolean, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import {
  add, broadcastTo, cast, ceil, checkKeepDims, clamp, concat, cumsum, div, equal, exp, floor, greater, greaterEqual, less, lessEqual, matmul, max,
  log, maximum, mean, min, minimum, mul, normAxes, notEqual, permute, reducedCount, reshape, round, sqrt, sub, sum, transpose, where, wrap,
} from './core';
import { native } from '../native';
import { argmax, gather, scatterAdd, sort } from './indexing';
import { lerp } from './pointwise';
import { eye } from './extra';
import { std, variance } from './reductions';
import { narrow } from './shape';

type Axis = number | readonly number[];

function checkFloat(x: Tensor, op: string): void {
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: int32 input; cast to float32 or float64 first`);
}

/** 1 where x is NaN, else 0, as float64 (int32 has none). */
function nanMask(x: Tensor): Tensor {
  return x.dtype === 'int32' ? full(x.shape, 0, { dtype: 'float64', device: x.device }) : cast(notEqual(x, x), 'float64');
}

// ---------------------------------------------------------------- amax, amin, aminmax

function amExtreme(op: 'amax' | 'amin', x: Tensor, axis: Axis | undefined, keepDims: boolean): Tensor {
  checkTensor(x, op, 'x');
  const axes = normAxes(x, axis, op);
  checkKeepDims(keepDims, op);
  if (reducedCount(x, axes) === 0 && x.size === 0)
    fail('INVALID_ARGUMENT', `${op}: the reduction over ${axes.length ? `axes [${axes.join(', ')}]` : 'all axes'} of shape ${shapeText(x.shape)} is empty; the ${op} of no elements is undefined (PyTorch refuses it too)`);
  return op === 'amax' ? max(x, axis, keepDims) : min(x, axis, keepDims);
}

/**
 * The largest element over axis (all axes by default): torch.amax. As
 * antler's max (which is PyTorch's amax): ties share the gradient evenly, a
 * NaN propagates. An empty reduction is refused, as in PyTorch.
 */
export function amax(x: Tensor, axis?: Axis, keepDims = false): Tensor {
  return amExtreme('amax', x, axis, keepDims);
}

/** The smallest element over axis (torch.amin); see amax. */
export function amin(x: Tensor, axis?: Axis, keepDims = false): Tensor {
  return amExtreme('amin', x, axis, keepDims);
}

/**
 * torch.aminmax: `{ min, max }` over one axis (all axes when omitted), each
 * amin/amax's, gradients included (ties share them evenly; PyTorch 1.13 has
 * no gradient for aminmax).
 */
export function aminmax(x: Tensor, axis?: number, keepDims = false): { min: Tensor; max: Tensor } {
  const op = 'aminmax';
  checkTensor(x, op, 'x');
  if (axis !== undefined) oneAxis(x, axis, op);
  return tidy(() => ({ min: amExtreme('amin', x, axis, keepDims), max: amExtreme('amax', x, axis, keepDims) }));
}

// ---------------------------------------------------------------- nansum, nanmean, countNonzero

/**
 * torch.nansum: the sum over axis (all axes by default) with NaNs counted as
 * 0 (an all-NaN or empty slice sums to 0). The gradient is 0 at the NaNs.
 * int32 is summed as sum() sums it (exact or refused).
 */
export function nansum(x: Tensor, axis?: Axis, keepDims = false): Tensor {
  const op = 'nansum';
  checkTensor(x, op, 'x');
  normAxes(x, axis, op);
  checkKeepDims(keepDims, op);
  if (x.dtype === 'int32') return sum(x, axis, keepDims);
  return tidy(() => sum(where(notEqual(x, x), 0, x), axis, keepDims));
}

/**
 * torch.nanmean: the mean of the non-NaN elements over axis (all by default);
 * NaN where there are none. float32 and float64 only, as PyTorch.
 */
export function nanmean(x: Tensor, axis?: Axis, keepDims = false): Tensor {
  const op = 'nanmean';
  checkTensor(x, op, 'x');
  normAxes(x, axis, op);
  checkKeepDims(keepDims, op);
  checkFloat(x, op);
  return tidy(() => {
    const nan = notEqual(x, x);
    return div(sum(where(nan, 0, x), axis, keepDims), sum(sub(1, nan), axis, keepDims));
  });
}

/**
 * torch.count_nonzero: how many elements over axis (all by default) are not 0
 * (NaN counts), as int32 (torch's int64). PyTorch's has no keepDims; nor has
 * this. No gradient.
 */
export function countNonzero(x: Tensor, axis?: Axis): Tensor {
  const op = 'countNonzero';
  checkTensor(x, op, 'x');
  const axes = normAxes(x, axis, op);
  return noGrad(() => tidy(() => sum(cast(notEqual(x, 0), 'int32'), axes.length ? axes : undefined)));
}

// ---------------------------------------------------------------- scans

/**
 * The native logcumsumexp along `ax` (from the end when `reverse`), in double,
 * recorded with torch's gradient Σ_{i ≥ j} g[i]·e^(x[j] − y[i]) (i ≤ j when
 * reverse): one native pass per line against the scan's order
 * (kernels::logCumSumExpBackwardLine) when no graph of the gradient is being
 * built, else recorded ops around the opposite scan, so differentiable again.
 */
function logCumSumExpScan(x: Tensor, ax: number, reverse: boolean): Tensor {
  const out = wrap(native().logCumSumExp(x.handle, ax, reverse));
  return record(out, 'logcumsumexp', [x], (gy, [sx, sy]) => {
    // Recording on means a backward that builds a graph (createGraph): the recorded formula.
    const n = native();
    if (isGradEnabled() || n.logCumSumExpBackward === undefined) return [logCumSumExpGrad(sx, sy, gy, ax, reverse)];
    return [wrap(n.logCumSumExpBackward(sx.handle, sy.handle, gy.handle, ax, reverse))];
  }, [x, out], true);
}

/**
 * gx[j] = Σ_{i ≥ j} g[i]·e^(x[j] − y[i]) without overflow, as torch's: the positive and negative
 * parts of g each summed in log space by the opposite scan, e^(x[j] + lcse_{i ≥ j}(log|g[i]| − y[i])).
 * A y[i] of −∞ (all x so far −∞) contributes nothing (its x[j] are −∞: gradient 0, not NaN); log|g|
 * is taken where g has the sign only, so the second derivative has no 0·∞ at g = 0.
 */
function logCumSumExpGrad(x: Tensor, y: Tensor, g: Tensor, ax: number, reverse: boolean): Tensor {
  const yMissing = equal(y, -Infinity);
  const part = (has: Tensor, mag: Tensor): Tensor => {
    const logMag = where(has, log(where(has, mag, 1)), -Infinity);
    const terms = where(yMissing, -Infinity, sub(logMag, y));
    return exp(add(logCumSumExpScan(terms, ax, !reverse), x));
  };
  return sub(part(greater(g, 0), g), part(less(g, 0), mul(g, -1)));
}

/**
 * torch.logcumsumexp: out[i] = log Σ_{j ≤ i} exp(x[j]) along axis, one native
 * pass per line with a running maximum and sum in double (no overflow or
 * underflow: [−1000, 0] gives [−1000, log(1 + e⁻¹⁰⁰⁰)]); −∞ elements add
 * nothing, a NaN makes the rest of the line NaN. float32 and float64.
 * The gradient is torch's, Σ_{i ≥ j} g[i]·e^(x[j] − out[i]): one native pass
 * per line against the scan's order (overflow-free, in double), or with
 * createGraph recorded ops (a reverse logcumsumexp of log|g| − out), so
 * differentiable again. Both give 0 over a leading −∞ run (torch: NaN).
 */
export function logcumsumexp(x: Tensor, axis: number): Tensor {
  const op = 'logcumsumexp';
  checkTensor(x, op, 'x');
  const ax = oneAxis(x, axis, op);
  checkFloat(x, op);
  return logCumSumExpScan(x, ax, false);
}

function cumExtreme(op: 'cummax' | 'cummin', x: Tensor, axis: number): { values: Tensor; indices: Tensor } {
  checkTensor(x, op, 'x');
  const ax = oneAxis(x, axis, op);
  // One native pass per line (torch's rule, cummax_cummin_helper): a new extreme or a tie (≥ / ≤)
  // or a NaN takes the index, so ties give the last position and a NaN run the last NaN.
  const [hv, hi] = native().cumExtreme(x.handle, ax, op === 'cummax');
  const values = wrap(hv), indices = wrap(hi);
  // The gradient goes to the element at each index: a scatterAdd along the axis (itself recorded).
  const { shape, dtype, device } = x;
  const back = (gy: Tensor, idx: Tensor): Tensor => (shape.length === 0 ? gy : scatterAdd(full(shape, 0, { dtype, device }), ax, idx, gy));
  return { values: record(values, op, [x], (gy, [idx]) => [back(gy, idx)], [indices], true), indices };
}

/**
 * torch.cummax: `{ values, indices }` of the running maximum along axis; at
 * ties the index is the last position, and a NaN, once seen, is the value
 * (its latest position the index), as PyTorch's. The gradient goes to the
 * element at each index. float32, float64 and int32 (indices int32).
 */
export function cummax(x: Tensor, axis: number): { values: Tensor; indices: Tensor } {
  return cumExtreme('cummax', x, axis);
}

/** torch.cummin: the running minimum; see cummax. */
export function cummin(x: Tensor, axis: number): { values: Tensor; indices: Tensor } {
  return cumExtreme('cummin', x, axis);
}

/** Options of {@link diff}. */
export interface DiffOptions {
  /** How many times to difference (default 1; 0 returns x). */
  n?: number;
  /** The axis (default −1). */
  axis?: number;
  /** Concatenated before x along axis: same rank, same shape on the other axes. */
  prepend?: Tensor;
  /** Concatenated after x along axis. */
  append?: Tensor;
}

/**
 * torch.diff: out[i] = x[i + 1] − x[i] along axis, `n` times, after
 * concatenating `prepend` and `append` (same rank as x, as PyTorch requires;
 * n = 0 returns a copy of x without them, as torch's). Each difference shortens the axis by one (to 0 at the least). float32,
 * float64 and int32; the gradient comes through the subtractions.
 */
export function diff(x: Tensor, options?: DiffOptions): Tensor {
  const op = 'diff';
  checkTensor(x, op, 'x');
  if (x.rank === 0) fail('INVALID_ARGUMENT', `${op}: x must have at least one axis; got a 0-d tensor`);
  const o = checkOptions<DiffOptions>(options, op, ['n', 'axis', 'prepend', 'append']);
  const n = o.n === undefined ? 1 : checkInteger(o.n, op, 'options.n');
  if (n < 0) fail('INVALID_ARGUMENT', `${op}: options.n must be ≥ 0; got ${n}`);
  const ax = oneAxis(x, o.axis ?? -1, op);
  const parts: Tensor[] = [];
  for (const [what, t] of [['prepend', o.prepend], ['x', x], ['append', o.append]] as const) {
    if (t === undefined) continue;
    checkTensor(t, op, `options.${what}`);
    if (t.rank !== x.rank || t.shape.some((d, i) => i !== ax && d !== x.shape[i]))
      fail('SHAPE_MISMATCH', `${op}: options.${what} must have x's rank and shape except along axis ${ax} (x is ${shapeText(x.shape)}); got ${shapeText(t.shape)}`);
    parts.push(t);
  }
  // n = 0 returns x, prepend and append unused (checked all the same), as torch's and numpy's.
  if (n === 0) return add(x, 0);
  return tidy(() => {
    let y = parts.length > 1 ? concat(parts, ax) : x;
    for (let k = 0; k < n && y.shape[ax] > 0; k++) {
      const len = y.shape[ax];
      y = sub(narrow(y, ax, 1, len - 1), narrow(y, ax, 0, len - 1));
    }
    return y;
  });
}

// ---------------------------------------------------------------- order statistics

/**
 * The element at sorted position `pos` (int32, x's shape with axis `ax` of
 * size k) of each line along ax: `{ values, indices }`, values gathered from x
 * itself so the gradient goes to the chosen element.
 */
function atSorted(v: Tensor, ax: number, pos: (sortedValues: Tensor) => Tensor): { values: Tensor; indices: Tensor } {
  const idx = noGrad(() => tidy(() => {
    const s = sort(v, { axis: ax });
    return gather(s.indices, ax, pos(s.values));
  }));
  return { values: gather(v, ax, idx), indices: idx };
}

/** The number of NaNs in each line along ax (float64, kept). */
function nanCount(v: Tensor, ax: number): Tensor {
  return sum(nanMask(v), ax, true);
}

/** A sorted position per line, from a float64 tensor of kept shape, as int32. */
const asIndex = (p: Tensor | number, shape: number[], device: string): Tensor =>
  typeof p === 'number' ? full(shape, p, { dtype: 'int32', device }) : cast(p, 'int32');

function orderStat(
  op: string, x: Tensor, axis: number | undefined, keepDims: boolean, pos: (n: number, nans: Tensor) => Tensor | number,
): { values: Tensor; indices: Tensor } {
  const ax = oneAxis(x, axis, op);
  checkKeepDims(keepDims, op);
  const n = x.rank === 0 ? 1 : x.shape[ax];
  if (n === 0) fail('INVALID_ARGUMENT', `${op}: axis ${ax} of shape ${shapeText(x.shape)} is empty; the ${op} of no elements is undefined`);
  const outShape = x.rank === 0 ? [] : keepDims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  return tidy(() => {
    const v = x.rank === 0 ? reshape(x, [1]) : x;
    const kept = v.shape.map((d, i) => (i === ax ? 1 : d));
    const r = atSorted(v, ax, () => asIndex(pos(n, nanCount(v, ax)), kept, v.device));
    return { values: reshape(r.values, outShape), indices: reshape(r.indices, outShape) };
  });
}

/** torch.median's position: the lower median, or the first NaN (in x's order) where there is one. */
const medianPos = (n: number, nans: Tensor): Tensor => where(greater(nans, 0), sub(n, nans), Math.floor((n - 1) / 2));
/** torch.nanmedian's: the lower median of the non-NaN elements (position 0, a NaN, when all are). */
const nanmedianPos = (n: number, nans: Tensor): Tensor => floor(div(maximum(sub(n - 1, nans), 0), 2));

/**
 * torch.median. Without axis: the lower median (of the two middle elements
 * for an even count, the smaller) of all elements, a 0-d tensor (NaN if any
 * element is NaN or x is empty). With axis: `{ values, indices }` along it
 * (keepDims keeps it with size 1): a line holding a NaN gives NaN and the
 * position of its first NaN. The gradient goes to the chosen element. At
 * ties the index is the chosen element's in a stable sort (torch does not
 * specify which of equal elements). float32, float64 and int32.
 */
export function median(x: Tensor): Tensor;
export function median(x: Tensor, axis: number, keepDims?: boolean): { values: Tensor; indices: Tensor };
export function median(x: Tensor, axis?: number, keepDims = false): Tensor | { values: Tensor; indices: Tensor } {
  return medianLike('median', x, axis, keepDims, medianPos);
}

/**
 * torch.nanmedian: median() ignoring NaNs (the lower median of the others; a
 * line of NaNs only gives NaN and the index of its first, where torch's is
 * whichever its selection leaves). See median.
 */
export function nanmedian(x: Tensor): Tensor;
export function nanmedian(x: Tensor, axis: number, keepDims?: boolean): { values: Tensor; indices: Tensor };
export function nanmedian(x: Tensor, axis?: number, keepDims = false): Tensor | { values: Tensor; indices: Tensor } {
  return medianLike('nanmedian', x, axis, keepDims, nanmedianPos);
}

function medianLike(op: string, x: Tensor, axis: number | undefined, keepDims: boolean, pos: (n: number, nans: Tensor) => Tensor): Tensor | { values: Tensor; indices: Tensor } {
  checkTensor(x, op, 'x');
  if (axis !== undefined) return orderStat(op, x, axis, keepDims, pos);
  checkKeepDims(keepDims, op);
  if (x.size === 0) return full([], NaN, { dtype: x.dtype === 'int32' ? 'float32' : x.dtype, device: x.device });
  return tidy(() => reshape(orderStat(op, reshape(x, [x.size]), 0, false, pos).values, []));
}

/**
 * torch.kthvalue: `{ values, indices }` of the k-th smallest element (k from
 * 1) along axis (default −1); NaN sorts as the largest. At ties the index is
 * the chosen element's in a stable sort (torch's selection leaves it
 * unspecified). The gradient goes to the chosen element. float32, float64
 * and int32.
 */
export function kthvalue(x: Tensor, k: number, axis = -1, keepDims = false): { values: Tensor; indices: Tensor } {
  const op = 'kthvalue';
  checkTensor(x, op, 'x');
  const ax = oneAxis(x, axis, op);
  const n = x.rank === 0 ? 1 : x.shape[ax];
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > n)
    fail('INVALID_ARGUMENT', `${op}: k must be an integer in [1, ${n}] (the size of axis ${ax} of shape ${shapeText(x.shape)}); got ${describe(k)}`);
  return orderStat(op, x, axis, keepDims, () => k - 1);
}

/**
 * torch.mode: `{ values, indices }` of the most frequent value along axis
 * (default −1); among equally frequent values the smallest, and its last
 * position as the index (PyTorch's CPU result on lines of up to 16 elements;
 * on longer ones its unstable sort may give any of the value's positions).
 * NaNs are each their own value (on a line holding a NaN torch's result
 * depends on where its sort happens to leave the NaN, often not a mode).
 * The gradient goes to the chosen element. float32, float64 and int32.
 */
export function mode(x: Tensor, axis = -1, keepDims = false): { values: Tensor; indices: Tensor } {
  const op = 'mode';
  checkTensor(x, op, 'x');
  const ax = oneAxis(x, axis, op);
  checkKeepDims(keepDims, op);
  const n = x.rank === 0 ? 1 : x.shape[ax];
  if (n === 0) fail('INVALID_ARGUMENT', `${op}: axis ${ax} of shape ${shapeText(x.shape)} is empty; the ${op} of no elements is undefined`);
  const outShape = x.rank === 0 ? [] : keepDims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  return tidy(() => {
    const v = x.rank === 0 ? reshape(x, [1]) : x;
    const kept = v.shape.map((d, i) => (i === ax ? 1 : d));
    const r = atSorted(v, ax, (s) => {
      // Runs of equal sorted values: each element's run number, the runs' lengths, the first longest run
      // (the smallest value) and the position of its last element.
      const starts = n === 1 ? full(kept, 1, { dtype: 'float64', device: v.device })
        : concat([full(kept, 1, { dtype: 'float64', device: v.device }), cast(notEqual(narrow(s, ax, 1, n - 1), narrow(s, ax, 0, n - 1)), 'float64')], ax);
      const run = sub(cumsum(starts, ax), 1);
      const counts = scatterAdd(full(v.shape, 0, { dtype: 'float64', device: v.device }), ax, cast(run, 'int32'), full(v.shape, 1, { dtype: 'float64', device: v.device }));
      const best = cast(argmax(counts, ax, true), 'float64');
      return cast(sub(sum(lessEqual(run, best), ax, true), 1), 'int32');
    });
    return { values: reshape(r.values, outShape), indices: reshape(r.indices, outShape) };
  });
}

// ---------------------------------------------------------------- quantiles

/** How {@link quantile} picks between the two sorted elements around q·(n − 1). */
export type QuantileInterpolation = 'linear' | 'lower' | 'higher' | 'midpoint' | 'nearest';

/** Options of {@link quantile} and {@link nanquantile}. */
export interface QuantileOptions {
  /** The axis to reduce (default: all elements, flattened). */
  axis?: number;
  /** Keep the reduced axis (axes, without one) with size 1. */
  keepDims?: boolean;
  /** 'linear' (default), 'lower', 'higher', 'midpoint' or 'nearest' (ties to even, as torch's round). */
  interpolation?: QuantileInterpolation;
}

const INTERPOLATIONS: readonly string[] = ['linear', 'lower', 'higher', 'midpoint', 'nearest'];

function quantileLike(op: 'quantile' | 'nanquantile', x: Tensor, q: number | Tensor, options: QuantileOptions | undefined): Tensor {
  checkTensor(x, op, 'x');
  checkFloat(x, op);
  const o = checkOptions<QuantileOptions>(options, op, ['axis', 'keepDims', 'interpolation']);
  const keepDims = o.keepDims === undefined ? false : checkBoolean(o.keepDims, op, 'options.keepDims');
  const interp = o.interpolation ?? 'linear';
  if (!INTERPOLATIONS.includes(interp as string))
    fail('INVALID_ARGUMENT', `${op}: options.interpolation must be one of ${INTERPOLATIONS.map((s) => `'${s}'`).join(', ')}; got ${describe(interp)}`);
  let qs: number[];
  let scalarQ: boolean;
  if (typeof q === 'number') {
    qs = [q];
    scalarQ = true;
  } else if (q instanceof Tensor) {
    checkTensor(q, op, 'q');
    if (q.rank > 1) fail('INVALID_ARGUMENT', `${op}: q must be a number, a 0-d or a 1-D tensor; got shape ${shapeText(q.shape)}`);
    if (q.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: q must be float32 or float64; got int32`);
    qs = Array.from(q.dataSync());
    scalarQ = q.rank === 0;
  } else fail('INVALID_ARGUMENT', `${op}: q must be a number or a tensor of numbers in [0, 1]; got ${describe(q)}`);
  for (const v of qs) if (!(v >= 0 && v <= 1)) fail('INVALID_ARGUMENT', `${op}: q must lie in [0, 1]; got ${describe(v)}`);
  const flat = o.axis === undefined;
  const ax = flat ? 0 : oneAxis(x, o.axis, op);
  if (x.size === 0) fail('INVALID_ARGUMENT', `${op}: x (shape ${shapeText(x.shape)}) is empty; the ${op} of no elements is undefined (PyTorch refuses it too)`);
  const Q = qs.length;
  const rest = flat ? (keepDims ? x.shape.map(() => 1) : []) : x.rank === 0 ? [] : keepDims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  const outShape = scalarQ ? rest : [Q, ...rest];
  return tidy(() => {
    const v = flat || x.rank === 0 ? reshape(x, [x.size]) : x;
    const n = v.shape[ax];
    const withQ = v.shape.map((d, i) => (i === ax ? Q : d));
    const picks = noGrad(() => tidy(() => {
      const s = sort(v, { axis: ax });
      const nans = nanCount(v, ax);
      const qt = tensor(qs, v.shape.map((_, i) => (i === ax ? Q : 1)), { dtype: v.dtype, device: v.device });
      // torch's ranks, in x's dtype: q·(n − 1); a line with a NaN picks its last (a NaN) for quantile;
      // nanquantile counts the others (rank 0, a NaN, when there are none).
      let ranks = op === 'quantile'
        ? where(greater(nans, 0), n - 1, broadcastTo(mul(qt, n - 1), withQ))
        : maximum(mul(qt, cast(sub(n - 1, nans), v.dtype)), 0);
      ranks = broadcastTo(ranks, withQ);
      if (interp === 'lower') ranks = floor(ranks);
      else if (interp === 'higher') ranks = ceil(ranks);
      else if (interp === 'nearest') ranks = round(ranks);
      const lo = floor(ranks);
      const at = (r: Tensor) => gather(s.indices, ax, cast(r, 'int32'));
      if (interp !== 'linear' && interp !== 'midpoint') return { lo: at(lo), hi: null, w: null };
      return { lo: at(lo), hi: at(ceil(ranks)), w: interp === 'midpoint' ? full(withQ, 0.5, { dtype: v.dtype, device: v.device }) : sub(ranks, lo) };
    }));
    const lo = gather(v, ax, picks.lo);
    // torch.lerp's formula (pointwise.ts's lerp, w in x's dtype). torch 1.13's CPU lerp rounds the
    // multiply-add once (fused), this twice: a result can be 1 ulp off PyTorch's (4 of 600
    // float32/float64 quantiles of 100–4,096 elements).
    const r = picks.hi && picks.w ? lerp(lo, gather(v, ax, picks.hi), picks.w) : lo;
    // The q axis first, as torch's.
    const moved = permute(r, [ax, ...r.shape.map((_, i) => i).filter((i) => i !== ax)]);
    return reshape(moved, outShape);
  });
}

/**
 * torch.quantile: the q-quantiles of x along options.axis (of all elements
 * when it is omitted): the sorted elements at rank q·(n − 1), interpolated as
 * options.interpolation says. q is a number or a 0-d tensor (the result has
 * the reduced shape) or a 1-D tensor of Q values (the result gains a leading
 * axis of size Q, as torch's). A line holding a NaN gives NaN. float32 and
 * float64 only, as PyTorch. The gradient goes to the two elements around
 * each rank (weights 1 − w and w). Reads q (a device sync for a CUDA q).
 */
export function quantile(x: Tensor, q: number | Tensor, options?: QuantileOptions): Tensor {
  return quantileLike('quantile', x, q, options);
}

/** torch.nanquantile: quantile() of the non-NaN elements (NaN for a line of NaNs only). */
export function nanquantile(x: Tensor, q: number | Tensor, options?: QuantileOptions): Tensor {
  return quantileLike('nanquantile', x, q, options);
}

// ---------------------------------------------------------------- moments, covariance

/**
 * torch.var_mean: `[variance, mean]` over axis (all axes by default), the
 * variance with `correction` (1, Bessel's, by default) as variance(). A pair,
 * as torch's tuple. float32 and float64; gradients through both.
 */
export function varMean(x: Tensor, axis?: Axis, keepDims = false, options?: { correction?: number }): [Tensor, Tensor] {
  return tidy(() => [variance(x, axis, keepDims, options), meanOf('varMean', x, axis, keepDims)]);
}

/** torch.std_mean: `[std, mean]`; see varMean. */
export function stdMean(x: Tensor, axis?: Axis, keepDims = false, options?: { correction?: number }): [Tensor, Tensor] {
  return tidy(() => [std(x, axis, keepDims, options), meanOf('stdMean', x, axis, keepDims)]);
}

function meanOf(op: string, x: Tensor, axis: Axis | undefined, keepDims: boolean): Tensor {
  checkFloat(x, op);
  return mean(x, axis, keepDims);
}

/** Options of {@link cov}. */
export interface CovOptions {
  /** Subtracted from the (weighted) number of observations: 1 (default, Bessel's) or 0, any integer (negative too). */
  correction?: number;
  /** int32 frequency weights, one per observation (column), ≥ 0. */
  fweights?: Tensor;
  /** Float observation weights, one per observation, ≥ 0. */
  aweights?: Tensor;
}

/**
 * torch.cov: the covariance matrix of the rows of x (variables) over its
 * columns (observations), [vars, vars]; a 1-D x is one variable (a 0-d
 * result), as every size-1 axis of the result is squeezed, as torch's. With
 * weights w = fweights·aweights the mean is Σ w·x / Σ w and the divisor
 * Σ w − correction·Σ(w·aweights)/Σ w (numpy's and torch's); a divisor ≤ 0
 * becomes 0 (∞ or NaN results; torch warns). Reads the weights to check they
 * are ≥ 0 and do not sum to 0 (a sync on CUDA, as torch's checks). float32 and float64; gradients
 * to x and aweights.
 */
export function cov(x: Tensor, options?: CovOptions): Tensor {
  const op = 'cov';
  checkTensor(x, op, 'x');
  checkFloat(x, op);
  if (x.rank > 2) fail('INVALID_ARGUMENT', `${op}: x must be 0-D, 1-D or 2-D (variables × observations); got shape ${shapeText(x.shape)}`);
  const o = checkOptions<CovOptions>(options, op, ['correction', 'fweights', 'aweights']);
  const correction = o.correction === undefined ? 1 : o.correction;
  if (typeof correction !== 'number' || !Number.isSafeInteger(correction))
    fail('INVALID_ARGUMENT', `${op}: options.correction must be an integer (negative too, as torch's); got ${describe(o.correction)}`);
  const obs = x.rank === 2 ? x.shape[1] : x.size;
  const checkWeights = (w: Tensor | undefined, what: string, int: boolean) => {
    if (w === undefined) return;
    checkTensor(w, op, `options.${what}`);
    if (w.rank > 1 || (w.rank === 1 ? w.shape[0] : 1) !== obs)
      fail('SHAPE_MISMATCH', `${op}: options.${what} must be 1-D with one weight per observation (${obs}); got shape ${shapeText(w.shape)}`);
    if (int !== (w.dtype === 'int32')) fail('DTYPE_MISMATCH', `${op}: options.${what} must be ${int ? 'int32' : 'float32 or float64'}; got ${w.dtype}`);
    if (w.device !== x.device) fail('DEVICE_MISMATCH', `${op}: x is on ${x.device} and options.${what} on ${w.device}`);
    const lowest = w.size ? noGrad(() => tidy(() => min(w).dataSync()[0])) : 0;
    if (!(lowest >= 0)) fail('INVALID_ARGUMENT', `${op}: options.${what} must be ≥ 0; got ${lowest}`);
  };
  checkWeights(o.fweights, 'fweights', true);
  checkWeights(o.aweights, 'aweights', false);
  if (o.fweights || o.aweights) {
    // torch refuses weights summing to 0 (nothing to normalise by); a read, as the ≥ 0 check's.
    const total = noGrad(() => tidy(() => {
      const f = o.fweights ? cast(o.fweights, 'float64') : undefined, a = o.aweights ? cast(o.aweights, 'float64') : undefined;
      return sum(f && a ? mul(f, a) : (f ?? a)!).dataSync()[0];
    }));
    if (total === 0) fail('INVALID_ARGUMENT', `${op}: the weights (fweights × aweights) sum to 0; they cannot normalise the mean (torch refuses them too)`);
  }
  return tidy(() => {
    const v = reshape(x, x.rank === 2 ? x.shape : [1, obs]);
    const aw = o.aweights ? reshape(cast(o.aweights, x.dtype), [obs]) : undefined;
    const fw = o.fweights ? reshape(cast(o.fweights, x.dtype), [obs]) : undefined;
    const w = fw && aw ? mul(fw, aw) : fw ?? aw;
    const wSum: Tensor | number = w ? sum(w) : obs;
    const avg = div(sum(w ? mul(v, w) : v, 1, true), wSum);
    const factor = !w ? Math.max(0, obs - correction)
      : maximum(aw && correction !== 0 ? sub(wSum, div(mul(sum(mul(w, aw)), correction), wSum)) : sub(wSum, correction), 0);
    const d = sub(v, avg);
    const c = div(matmul(d, transpose(w ? mul(d, w) : d)), factor);
    return reshape(c, c.shape.filter((s) => s !== 1));
  });
}

/**
 * torch.corrcoef: Pearson's correlation coefficients of the rows of x,
 * cov(x) / (σᵢ σⱼ), clipped to [−1, 1] as torch's; a single variable gives
 * cov/cov (1, or NaN for a constant). float32 and float64.
 */
export function corrcoef(x: Tensor): Tensor {
  const op = 'corrcoef';
  checkTensor(x, op, 'x');
  checkFloat(x, op);
  if (x.rank > 2) fail('INVALID_ARGUMENT', `${op}: x must be 0-D, 1-D or 2-D (variables × observations); got shape ${shapeText(x.shape)}`);
  return tidy(() => {
    const c = cov(x);
    if (c.rank === 0) return div(c, c);
    const sd = sqrt(sum(mul(c, eye(c.shape[0], c.shape[0], { dtype: c.dtype, device: c.device })), 1, true));
    return clamp(div(div(c, sd), transpose(sd)), -1, 1);
  });
}

// ---------------------------------------------------------------- histograms

/** Options of {@link histc}. */
export interface HistcOptions {
  /** The number of equal-width bins (default 100). */
  bins?: number;
  /** The lower end of the range (default 0; min = max = 0 takes the data's). */
  min?: number;
  /** The upper end of the range (default 0). */
  max?: number;
}

/**
 * torch.histc: counts of x's elements in `bins` equal bins over [min, max]
 * (the data's smallest and largest when both are 0, widened by 1 each way
 * when they are equal); elements outside (and NaNs) are left out, the upper
 * end falls in the last bin. Bin k = ⌊(x − min) / (max − min) · bins⌋ in x's
 * precision, in that order, as torch 1.13's CPU loop. torch counts a NaN in
 * the first bin (an unchecked float-to-integer cast); antler leaves it out. A 1-D tensor of x's dtype; float32 and float64; no
 * gradient. Reads the data's range when it is not given (a sync).
 */
export function histc(x: Tensor, options?: HistcOptions): Tensor {
  const op = 'histc';
  checkTensor(x, op, 'x');
  checkFloat(x, op);
  const o = checkOptions<HistcOptions>(options, op, ['bins', 'min', 'max']);
  const bins = o.bins === undefined ? 100 : checkInteger(o.bins, op, 'options.bins');
  if (bins < 1) fail('INVALID_ARGUMENT', `${op}: options.bins must be ≥ 1; got ${bins}`);
  let lo = o.min === undefined ? 0 : checkFinite(o.min, op, 'options.min');
  let hi = o.max === undefined ? 0 : checkFinite(o.max, op, 'options.max');
  if (lo > hi) fail('INVALID_ARGUMENT', `${op}: options.max must be ≥ options.min; got min ${lo}, max ${hi}`);
  return noGrad(() => tidy(() => {
    if (lo === hi && x.size > 0) {
      [lo, hi] = [min(x).dataSync()[0], max(x).dataSync()[0]];
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) fail('INVALID_ARGUMENT', `${op}: the range of the data, [${lo}, ${hi}], is not finite; pass options.min and options.max`);
    }
    if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
    if (x.dtype === 'float32') [lo, hi] = [Math.fround(lo), Math.fround(hi)];
    const flat = reshape(x, [x.size]);
    const inside = cast(mul(greaterEqual(flat, lo), lessEqual(flat, hi)), x.dtype);
    // torch 1.13's order: (x − min) / (max − min) first, then · bins (in x's dtype); ·bins first
    // puts some elements a bin off (float32 0.3 in 10 bins over [−1.5, 1.5]: torch's 5, not 6).
    const pos = minimum(floor(mul(div(sub(flat, lo), sub(full([], hi, { dtype: x.dtype, device: x.device }), lo)), bins)), bins - 1);
    const index = cast(where(greater(inside, 0), pos, 0), 'int32');
    return scatterAdd(full([bins], 0, { dtype: x.dtype, device: x.device }), 0, index, inside);
  }));
}

/**
 * torch.bincount: how often each value 0, 1, …, max(x) occurs in the 1-D
 * int32 x (≥ 0), at least `minlength` counts; int32 (torch's int64), or with
 * `weights` (one per element) their sums, in the weights' dtype (float64 for
 * int32 weights, as torch's double). Reads x's range (a sync). No gradient.
 */
export function bincount(x: Tensor, options?: { weights?: Tensor; minlength?: number }): Tensor {
  const op = 'bincount';
  checkTensor(x, op, 'x');
  if (x.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: x must be int32 (non-negative integers); got ${x.dtype}`);
  if (x.rank !== 1) fail('INVALID_ARGUMENT', `${op}: x must be 1-D; got shape ${shapeText(x.shape)}`);
  const o = checkOptions<{ weights: Tensor; minlength: number }>(options, op, ['weights', 'minlength']);
  const minlength = o.minlength === undefined ? 0 : checkInteger(o.minlength, op, 'options.minlength');
  if (minlength < 0) fail('INVALID_ARGUMENT', `${op}: options.minlength must be ≥ 0; got ${minlength}`);
  const w = o.weights;
  if (w !== undefined) {
    checkTensor(w, op, 'options.weights');
    if (w.rank !== 1 || w.shape[0] !== x.shape[0]) fail('SHAPE_MISMATCH', `${op}: options.weights must be 1-D with one weight per element of x (${x.shape[0]}); got shape ${shapeText(w.shape)}`);
    if (w.device !== x.device) fail('DEVICE_MISMATCH', `${op}: x is on ${x.device} and options.weights on ${w.device}`);
  }
  return noGrad(() => tidy(() => {
    let length = minlength;
    if (x.size) {
      const [lowest, highest] = [min(x).dataSync()[0], max(x).dataSync()[0]];
      if (lowest < 0) fail('INVALID_ARGUMENT', `${op}: x must be non-negative; got ${lowest}`);
      length = Math.max(length, highest + 1);
    }
    const dtype = w ? (w.dtype === 'int32' ? 'float64' : w.dtype) : 'float64';
    const src = w ? cast(w, dtype) : full([x.size], 1, { dtype, device: x.device });
    const counts = scatterAdd(full([length], 0, { dtype, device: x.device }), 0, x, src);
    return w ? counts : cast(counts, 'int32');
  }));
}
