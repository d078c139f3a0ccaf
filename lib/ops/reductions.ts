/**
 * Reductions built from the elementwise ops and sum/max: logSumExp,
 * variance and std, with PyTorch's semantics and their gradients by autograd.
 */
import { noGrad, record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, Tensor } from '../tensor';
import { checkFinite, checkOptions } from '../validate';
import { abs, add, cast, checkKeepDims, div, equal, exp, greater, keptShape, less, log, max, mean, mul, normAxes, notEqual, reducedCount, reshape, sqrt, sub, sum, where } from './core';

function checkFloat(x: Tensor, op: string): void {
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: int32 input; cast to float32 or float64 first`);
}

/** x's shape without the axes (all when none are given); a 0-d tensor stays 0-d. */
function reducedShape(x: Tensor, axes: number[]): number[] {
  if (!axes.length || x.rank === 0) return [];
  const norm = axes.map((a) => (a < 0 ? a + x.rank : a));
  return x.shape.filter((_, i) => !norm.includes(i));
}

/**
 * log Σ exp(x) over axis (all axes by default), without overflow:
 * torch.logsumexp. The largest element is taken out first (where it is
 * finite), so ±1000 gives ±1000 + log n; a slice of −∞ gives −∞ and one
 * holding +∞ gives +∞. The gradient is the softmax over the axes.
 */
export function logSumExp(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  const op = 'logSumExp';
  checkTensor(x, op, 'x');
  const axes = normAxes(x, axis, op);
  checkKeepDims(keepDims, op);
  // int32 counts as float32, as torch.logsumexp gives a float for integers (the cast passes no gradient).
  if (x.dtype === 'int32') return tidy(() => logSumExp(cast(x, 'float32'), axis, keepDims));
  const shape = keepDims ? keptShape(x, axes) : reducedShape(x, axes);
  const ax = axes.length ? axes : undefined;
  const kept = keptShape(x, axes);
  const y = noGrad(() =>
    tidy(() => {
      // An empty slice sums to 0, whose log is −∞ (torch.logsumexp); max refuses it, so 0 is subtracted.
      // An infinite (or NaN) maximum is not subtracted either: −∞ − (−∞) would be NaN.
      let m: Tensor | number = 0;
      if (reducedCount(x, axes) > 0) {
        const top = max(x, ax, true);
        m = where(less(abs(top), Infinity), top, 0);
      }
      return reshape(add(log(sum(exp(sub(x, m)), ax, true)), m), shape);
    }),
  );
  // The gradient is torch's, gy · e^(x − y): the softmax over the axes (0 beside a +∞, NaN at it).
  return record(y, op, [x], (gy, [sx, sy]) => [mul(reshape(gy, kept), exp(sub(sx, reshape(sy, kept))))], [x, y], true);
}

function moments(op: 'variance' | 'std', x: Tensor, axis: number | readonly number[] | undefined, keepDims: boolean, options: unknown): Tensor {
  checkTensor(x, op, 'x');
  // Options passed in the place of axis or keepDims (PyTorch's keyword style) are named as such.
  const misplaced = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v) && 'correction' in v;
  if (misplaced(axis) || misplaced(keepDims))
    fail('INVALID_ARGUMENT', `${op}: the options come fourth, after axis and keepDims: ${op}(x, axis, keepDims, {correction}); ${op}(x, undefined, false, {correction: 0}) for all axes`);
  const axes = normAxes(x, axis, op);
  checkKeepDims(keepDims, op);
  const o = checkOptions<{ correction: number }>(options, op, ['correction']);
  const correction = o.correction === undefined ? 1 : checkFinite(o.correction, op, 'correction');
  if (correction < 0) fail('INVALID_ARGUMENT', `${op}: correction must be ≥ 0 (1 is Bessel's, 0 the population ${op}); got ${correction}`);
  checkFloat(x, op);
  // PyTorch divides by max(0, n − correction): 0 degrees of freedom give ∞ (or NaN for 0/0).
  const n = reducedCount(x, axes);
  const dof = Math.max(0, n - correction);
  const shape = keepDims ? keptShape(x, axes) : reducedShape(x, axes);
  return tidy(() => {
    const ax = axes.length ? axes : undefined;
    // float32's std goes through float64: its variance (the square of the answer) leaves float32's range
    // long before the answer does (the std of [0, 2e-23] underflowed to 0, of [0, 6e19] overflowed).
    const xs = op === 'std' && x.dtype === 'float32' ? cast(x, 'float64') : x;
    // Two passes (mean, then squared deviations): no cancellation for data far from 0.
    const d = sub(xs, mean(xs, ax, true));
    const v = dof > 0 ? div(sum(mul(d, d), ax, true), dof) : noDegreesOfFreedom(xs, d, ax, n - correction);
    if (op === 'variance') return reshape(v, shape);
    // √v with a zero gradient where v = 0 (a constant slice), as torch.std, instead of ∞ · 0 = NaN.
    const zero = equal(v, 0);
    const r = reshape(where(zero, 0, sqrt(where(zero, 1, v))), shape);
    return xs === x ? r : cast(r, 'float32');
  });
}

/**
 * The variance with n − correction ≤ 0: Σ (x − mean)² / 0, ∞ (NaN for a constant slice) as torch's,
 * with torch 1.13's gradient (var_backward) as its formula, (2 / (n − correction)) · g · (x − mean(x)),
 * recorded on x: ±∞ at correction n (NaN where x equals its mean), finite (and of the other sign)
 * beyond (−0 for a constant slice). Differentiating that formula again gives torch's second derivative,
 * (2 / (n − correction)) · (w − mean(w)) along w: ∞ − ∞ = NaN at correction n. (Through the sum of
 * squares, Σ (x − mean) = 0 would be multiplied by ∞: its rounding would make every gradient NaN.)
 * d is x − mean; an s that overflowed to ∞ gives ∞, not −∞ + ∞ = NaN.
 */
function noDegreesOfFreedom(x: Tensor, d: Tensor, ax: number[] | undefined, nMinusCorrection: number): Tensor {
  const k = 2 / nMinusCorrection; // ∞ at correction n
  const v = noGrad(() => div(sum(mul(d, d), ax, true), 0));
  return record(v, 'variance', [x], (g, [sx]) => [mul(mul(g, k), sub(sx, mean(sx, ax, true)))], [x], true);
}

/**
 * The variance over axis (all axes by default): Σ (x − mean)² / (n −
 * correction), correction 1 (Bessel's, PyTorch's default) unless given
 * (0 for the population variance, as TF.js's moments). torch.var.
 */
export function variance(x: Tensor, axis?: number | readonly number[], keepDims = false, options?: { correction?: number }): Tensor {
  return moments('variance', x, axis, keepDims, options);
}

/** The standard deviation, √variance (torch.std; correction 1 by default). */
export function std(x: Tensor, axis?: number | readonly number[], keepDims = false, options?: { correction?: number }): Tensor {
  return moments('std', x, axis, keepDims, options);
}

/**
 * torch.any / torch.all over axis (all axes by default): 1 where any (every)
 * element of the reduced slice is nonzero, else 0, in x's dtype as the
 * comparisons give theirs (antler has no bool dtype). NaN counts as nonzero,
 * as in PyTorch; an empty slice is 0 for any and 1 for all. No gradient.
 */
export function any(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  return truthReduce('any', x, axis, keepDims);
}

/** torch.all: see any(). */
export function all(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  return truthReduce('all', x, axis, keepDims);
}

function truthReduce(op: 'any' | 'all', x: Tensor, axis: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  checkTensor(x, op, 'x');
  checkKeepDims(keepDims, op);
  const axes = normAxes(x, axis, op);
  return noGrad(() => tidy(() => {
    // Count the elements that decide (nonzero for any, zero for all): only 0 or not matters, which
    // rounding cannot change.
    const hits = sum(op === 'any' ? notEqual(x, 0) : equal(x, 0), axes.length ? axes : undefined, keepDims);
    return op === 'any' ? greater(hits, 0) : equal(hits, 0);
  }));
}
