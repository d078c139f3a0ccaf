/**
 * More of PyTorch's functions, composed from the recorded ops (so their
 * gradients come from autograd): masks (maskedFill, tril, triu), norms
 * (norm, normalize, cosineSimilarity), tests (isNaN, isInf, isFinite,
 * isClose, allClose), logical ops, creation (linspace, eye), outer and dot,
 * and activations (logSigmoid, hardtanh, relu6, softsign, mish, hardswish,
 * hardsigmoid, selu, glu, logit). Where PyTorch's backward defines a value at
 * a kink (hardtanh's bounds, a norm at zero) these give the same.
 */
import { noGrad } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { arange, checkTensor, rand, resolveCreate, Tensor } from '../tensor';
import type { CreateOptions } from '../tensor';
import { broadcastShapes, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import {
  abs, add, checkKeepDims, clamp, div, elu, equal, exp, expm1, greater, greaterEqual, lessEqual, less, log, log1p, max, maximum, min, minimum, mul, neg,
  normAxes, notEqual, pow, reshape, sigmoid, softplus, sqrt, sub, sum, tanh, where,
} from './core';
import { split, squeeze } from './shape';

/** An integer of either sign (a diagonal offset, an axis). */
function checkSignedInteger(v: unknown, op: string, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail('INVALID_ARGUMENT', `${op}: ${what} must be an integer; got ${describe(v)}`);
  return v;
}

// ---------------------------------------------------------------- masks

/**
 * x with value where mask is nonzero (torch.Tensor.masked_fill, out of
 * place); mask broadcasts to x's shape. The gradient passes where mask is 0.
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  checkTensor(x, 'maskedFill', 'x');
  checkTensor(mask, 'maskedFill', 'mask');
  if (typeof value !== 'number') fail('INVALID_ARGUMENT', `maskedFill: value must be a number; got ${describe(value)}`);
  if (x.dtype === 'int32') {
    // Cast to x's dtype, as PyTorch's masked_fill (toward zero), and kept in range.
    if (Number.isNaN(value)) fail('DTYPE_MISMATCH', 'maskedFill: value NaN cannot be written into an int32 tensor');
    value = Math.trunc(value);
    if (!(value >= -2147483648 && value <= 2147483647)) fail('DTYPE_MISMATCH', `maskedFill: value ${value} is outside int32's range (x is int32)`);
  }
  // x and mask broadcast together, as torch's out-of-place masked_fill (a mask with more axes widens x).
  if (!broadcastShapes([x.shape, mask.shape])) fail('SHAPE_MISMATCH', `maskedFill: mask ${shapeText(mask.shape)} and x ${shapeText(x.shape)} do not broadcast together`);
  if (mask.device !== x.device) fail('DEVICE_MISMATCH', `maskedFill: mask is on ${mask.device} and x on ${x.device}`);
  return where(mask, value, x);
}

/** Keeps the entries of the last two axes with col − row on the kept side of `diagonal`; the rest 0. */
function triangle(op: 'tril' | 'triu', x: Tensor, diagonal: number): Tensor {
  checkTensor(x, op, 'x');
  checkSignedInteger(diagonal, op, 'diagonal');
  if (x.rank < 2) fail('SHAPE_MISMATCH', `${op}: x must have at least 2 axes (a matrix, or a batch of them); got shape ${shapeText(x.shape)}`);
  const [R, C] = x.shape.slice(-2);
  return tidy(() => {
    // col − row for every entry, from two aranges on the device (no R·C array on the host).
    const place = { dtype: 'float64' as const, device: x.device };
    const offset = sub(reshape(arange(0, C, 1, place), [1, C]), reshape(arange(0, R, 1, place), [R, 1]));
    const keep = op === 'tril' ? lessEqual(offset, diagonal) : greaterEqual(offset, diagonal);
    return where(keep, x, 0);
  });
}

/** The lower triangle of the last two axes (torch.tril): entries with col − row ≤ diagonal, the rest 0. */
export const tril = (x: Tensor, diagonal = 0): Tensor => triangle('tril', x, diagonal);
/** The upper triangle of the last two axes (torch.triu): entries with col − row ≥ diagonal, the rest 0. */
export const triu = (x: Tensor, diagonal = 0): Tensor => triangle('triu', x, diagonal);

// ---------------------------------------------------------------- norms

/**
 * The vector p-norm over axes (all by default; torch.linalg.vector_norm /
 * torch.norm): p = 2 (default) or 'fro', 1, Infinity (max |x|), −Infinity
 * (min |x|), 0 (the count of nonzeros, gradient 0), or any other p > 0.
 * The gradient at a zero norm is 0, as PyTorch's.
 */
export function norm(x: Tensor, p: number | 'fro' = 2, axis?: number | readonly number[], keepDims = false): Tensor {
  checkTensor(x, 'norm', 'x');
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', 'norm: x is int32; cast it to float32 or float64 first');
  const ord = p === 'fro' ? 2 : p;
  if (typeof ord !== 'number' || Number.isNaN(ord) || (ord < 0 && ord !== -Infinity))
    fail('INVALID_ARGUMENT', `norm: p must be a number >= 0, Infinity, -Infinity or 'fro'; got ${describe(p)}`);
  const axes = normAxes(x, axis, 'norm');
  checkKeepDims(keepDims, 'norm');
  const ax = axes.length ? axes : undefined;
  return tidy(() => {
    const a = abs(x);
    if (ord === Infinity) return max(a, ax, keepDims);
    if (ord === -Infinity) return min(a, ax, keepDims);
    // The count of nonzeros, with a zero gradient (PyTorch's): 1 per nonzero, x · 0 per zero (0 there).
    if (ord === 0) return sum(where(notEqual(x, 0), 1, mul(x, 0)), ax, keepDims);
    if (ord === 1) return sum(a, ax, keepDims);
    // s = Σ |x|^p; the p-th root is taken of s where s > 0 and of 1 elsewhere, so a zero norm's
    // gradient is 0 (PyTorch's) instead of 0 · ∞.
    if (ord === 2 || x.size === 0) {
      const s = ord === 2 ? sum(mul(x, x), ax, keepDims) : sum(pow(a, ord), ax, keepDims);
      const zero = equal(s, 0);
      return where(zero, 0, ord === 2 ? sqrt(where(zero, 1, s)) : pow(where(zero, 1, s), 1 / ord));
    }
    // Other p: scaled by the largest |x|, m·(Σ (|x|/m)^p)^(1/p), so |x|^p neither overflows nor
    // underflows (p = 1e300 gives the largest |x|, as torch; without it 1.5^p is ∞ and 0.3^p 0).
    const m = max(a, ax, true);
    const zero = equal(m, 0);
    // Unscaled where the largest is infinite (∞ then, as torch) or NaN.
    const scale = where(logicalOr(zero, notEqual(less(m, Infinity), 1)), 1, m.detach());
    // Zero entries are raised on ones and masked, so their gradient is 0 (torch's norm_backward
    // fills 0 where x = 0) and not ∞ · sgn(0) = NaN for p < 1.
    const z = equal(a, 0);
    const s = sum(where(z, 0, pow(div(where(z, 1, a), scale), ord)), ax, true);
    const root = mul(pow(where(zero, 1, s), 1 / ord), scale);
    const out = where(zero, 0, root);
    return keepDims ? out : ax ? squeeze(out, ax) : reshape(out, []);
  });
}

/** x / max(‖x‖_p, eps) over `axis` (torch.nn.functional.normalize: p 2, axis 1, eps 1e-12 by default). */
export function normalize(x: Tensor, options?: { p?: number; axis?: number; eps?: number }): Tensor {
  const o = checkOptions<{ p: number; axis: number; eps: number }>(options, 'normalize', ['p', 'axis', 'eps']);
  const eps = o.eps === undefined ? 1e-12 : checkFinite(o.eps, 'normalize', 'eps');
  const axis = o.axis ?? 1;
  return tidy(() => div(x, clamp(norm(x, o.p ?? 2, axis, true), eps)));
}

/**
 * Σ x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)) over `axis` (default 1, eps
 * 1e-8; torch.nn.functional.cosine_similarity); x1 and x2 broadcast.
 */
export function cosineSimilarity(x1: Tensor, x2: Tensor, options?: { axis?: number; eps?: number }): Tensor {
  const o = checkOptions<{ axis: number; eps: number }>(options, 'cosineSimilarity', ['axis', 'eps']);
  pairFor('cosineSimilarity', x1, x2, ['x1', 'x2']);
  const eps = o.eps === undefined ? 1e-8 : checkFinite(o.eps, 'cosineSimilarity', 'eps');
  const axis = o.axis ?? 1;
  return tidy(() => {
    const n1 = clamp(norm(x1, 2, axis, true), eps), n2 = clamp(norm(x2, 2, axis, true), eps);
    return sum(mul(div(x1, n1), div(x2, n2)), axis);
  });
}

/** Options of {@link pairwiseDistance} (torch.nn.functional.pairwise_distance's keywords). */
export interface PairwiseDistanceOptions {
  /** The norm's degree (default 2): a number >= 0, Infinity allowed. */
  p?: number;
  /** Added to each difference before its norm (default 1e-6, as PyTorch's). */
  eps?: number;
  /** Keep the reduced last axis with size 1 (default false). */
  keepdim?: boolean;
}

/**
 * torch.nn.functional.pairwise_distance: ‖x1 − x2 + eps‖_p over the last
 * axis of the broadcast shape (x1 and x2 broadcast, ranks may differ; each
 * at least 1-d). [N, D] and [N, D] give [N]; two [D] give a 0-d tensor;
 * `keepdim` keeps the last axis as 1. Gradients flow to both (a zero
 * difference's gradient is 0, as the norm's).
 */
export function pairwiseDistance(x1: Tensor, x2: Tensor, options?: PairwiseDistanceOptions): Tensor {
  const op = 'pairwiseDistance';
  const o = checkOptions<PairwiseDistanceOptions>(options, op, ['p', 'eps', 'keepdim']);
  pairFor(op, x1, x2, ['x1', 'x2']);
  for (const [n, t] of [['x1', x1], ['x2', x2]] as const) {
    if (t.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: ${n} is int32; expected float32 or float64`);
    if (t.rank === 0) fail('SHAPE_MISMATCH', `${op}: ${n} is 0-d; expected at least one axis (vectors on the last axis: [N, D] or [D])`);
  }
  if (x1.dtype !== x2.dtype) fail('DTYPE_MISMATCH', `${op}: x1 is ${x1.dtype} and x2 ${x2.dtype}; expected one dtype`);
  const p = o.p === undefined || o.p === null ? 2 : o.p;
  if (typeof p !== 'number' || !(p >= 0)) fail('INVALID_ARGUMENT', `${op}: p must be a number >= 0 (Infinity allowed); got ${describe(o.p)}`);
  const eps = o.eps === undefined || o.eps === null ? 1e-6 : checkFinite(o.eps, op, 'eps');
  const keepdim = o.keepdim === undefined || o.keepdim === null ? false : o.keepdim;
  if (typeof keepdim !== 'boolean') fail('INVALID_ARGUMENT', `${op}: keepdim must be a boolean; got ${describe(o.keepdim)}`);
  return pairwiseDistanceUnchecked(x1, x2, p, eps, keepdim);
}

/** @internal pairwiseDistance once its arguments are checked (tripletMarginLoss' distance too). */
export function pairwiseDistanceUnchecked(x1: Tensor, x2: Tensor, p: number, eps: number, keepdim = false): Tensor {
  return tidy(() => norm(add(sub(x1, x2), eps), p, -1, keepdim));
}

// ---------------------------------------------------------------- tests

/** 1 where x is NaN, else 0, in x's dtype (torch.isnan; antler has no bool dtype, as its comparisons). */
export function isNaN(x: Tensor): Tensor {
  checkTensor(x, 'isNaN', 'x');
  return notEqual(x, x);
}
/** 1 where x is ±Infinity (torch.isinf; an int32 x gives int32 zeros). */
export function isInf(x: Tensor): Tensor {
  checkTensor(x, 'isInf', 'x');
  if (x.dtype === 'int32') return notEqual(x, x);
  return tidy(() => equal(abs(x), Infinity));
}
/** 1 where x is finite: neither NaN nor ±Infinity (torch.isfinite; an int32 x gives int32 ones). */
export function isFinite(x: Tensor): Tensor {
  checkTensor(x, 'isFinite', 'x');
  if (x.dtype === 'int32') return equal(x, x);
  return tidy(() => less(abs(x), Infinity));
}

function closeOptions(options: unknown, op: string): { rtol: number; atol: number; equalNan: boolean } {
  const o = checkOptions<{ rtol: number; atol: number; equalNan: boolean }>(options, op, ['rtol', 'atol', 'equalNan']);
  const rtol = o.rtol === undefined ? 1e-5 : checkFinite(o.rtol, op, 'rtol');
  const atol = o.atol === undefined ? 1e-8 : checkFinite(o.atol, op, 'atol');
  if (rtol < 0 || atol < 0) fail('INVALID_ARGUMENT', `${op}: rtol and atol must be >= 0; got ${rtol} and ${atol}`);
  if (o.equalNan !== undefined && typeof o.equalNan !== 'boolean') fail('INVALID_ARGUMENT', `${op}: equalNan must be a boolean; got ${describe(o.equalNan)}`);
  return { rtol, atol, equalNan: o.equalNan ?? false };
}

/**
 * 1 where |a − b| ≤ atol + rtol·|b| (torch.isclose: rtol 1e-5, atol 1e-8;
 * equal infinities are close, NaN only with equalNan), broadcasting.
 */
export function isClose(a: Tensor, b: Tensor, options?: { rtol?: number; atol?: number; equalNan?: boolean }): Tensor {
  checkTensor(a, 'isClose', 'a');
  checkTensor(b, 'isClose', 'b');
  const { rtol, atol, equalNan } = closeOptions(options, 'isClose');
  return tidy(() => {
    const ad = a.detach(), bd = b.detach();
    // The tolerance applies where both are finite (an infinite b would allow anything); equal covers
    // equal infinities.
    const finite = mul(less(abs(ad), Infinity), less(abs(bd), Infinity));
    const near = mul(lessEqual(abs(sub(ad, bd)), add(mul(abs(bd), rtol), atol)), finite);
    let close = maximum(equal(ad, bd), near);
    if (equalNan) close = maximum(close, mul(notEqual(ad, ad), notEqual(bd, bd)));
    return close;
  });
}

/** True when every element of a is close to b's (torch.allclose); reads one number back. */
export function allClose(a: Tensor, b: Tensor, options?: { rtol?: number; atol?: number; equalNan?: boolean }): boolean {
  pairFor('allClose', a, b);
  return tidy(() => {
    const c = isClose(a, b, options);
    return c.size === 0 || min(c).item() === 1;
  });
}

// ---------------------------------------------------------------- logical

const truth = (x: Tensor): Tensor => notEqual(x, 0);

/** Two tensors checked for an elementwise op built on others, so an error names `op` (not mul's). */
function pairFor(op: string, a: Tensor, b: Tensor, names: readonly [string, string] = ['a', 'b']): void {
  checkTensor(a, op, names[0]);
  checkTensor(b, op, names[1]);
  if (!broadcastShapes([a.shape, b.shape])) fail('SHAPE_MISMATCH', `${op}: ${names[0]} ${shapeText(a.shape)} and ${names[1]} ${shapeText(b.shape)} do not broadcast together`);
  if (a.device !== b.device) fail('DEVICE_MISMATCH', `${op}: ${names[0]} is on ${a.device} and ${names[1]} on ${b.device}`);
}

/** 1 where both are nonzero, else 0 (torch.logical_and; in the promoted dtype). */
export function logicalAnd(a: Tensor, b: Tensor): Tensor {
  pairFor('logicalAnd', a, b);
  return tidy(() => mul(truth(a.detach()), truth(b.detach())));
}
/** 1 where either is nonzero (torch.logical_or). */
export function logicalOr(a: Tensor, b: Tensor): Tensor {
  pairFor('logicalOr', a, b);
  return tidy(() => maximum(truth(a.detach()), truth(b.detach())));
}
/** 1 where exactly one is nonzero (torch.logical_xor). */
export function logicalXor(a: Tensor, b: Tensor): Tensor {
  pairFor('logicalXor', a, b);
  return tidy(() => notEqual(truth(a.detach()), truth(b.detach())));
}
/** 1 where x is 0 (torch.logical_not). */
export function logicalNot(x: Tensor): Tensor {
  checkTensor(x, 'logicalNot', 'x');
  return equal(x.detach(), 0);
}

// ---------------------------------------------------------------- creation

/**
 * `steps` values evenly spaced from start to end, both included
 * (torch.linspace; float32 by default), computed in double: value i is
 * start + (end − start)·i/(steps − 1), the last exactly end. Made on the
 * device (no JavaScript array of the values).
 */
export function linspace(start: number, end: number, steps: number, options?: CreateOptions): Tensor {
  checkFinite(start, 'linspace', 'start');
  checkFinite(end, 'linspace', 'end');
  checkInteger(steps, 'linspace', 'steps', 0);
  const { dtype, device, grad } = resolveCreate(options, 'linspace');
  // One step is start alone, as torch.linspace; int32 values are truncated toward zero, as there.
  if (dtype === 'int32')
    for (const [what, v] of [['start', start], ['end', end]] as const)
      if (Math.trunc(v) < -(2 ** 31) || Math.trunc(v) >= 2 ** 31) fail('INVALID_ARGUMENT', `linspace: ${what} ${v} is outside int32's range [-2^31, 2^31)`);
  const out = noGrad(() =>
    tidy(() => {
      // Each step's input freed once used (a long linspace's temporaries are large).
      const then = (t: Tensor, f: (t: Tensor) => Tensor): Tensor => {
        const r = f(t);
        t.dispose();
        return r;
      };
      const i = arange(steps, undefined, 1, { dtype: 'float64', device });
      let v = then(then(mul(i, end - start), (t) => div(t, Math.max(1, steps - 1))), (t) => add(t, start));
      if (steps > 1) v = then(v, (t) => then(equal(i, steps - 1), (last) => where(last, end, t)));
      i.dispose();
      return then(v, (t) => t.cast(dtype ?? 'float32'));
    }),
  );
  return grad(out);
}

/** The n × m identity (torch.eye; m defaults to n; float32 by default), made on the device. */
export function eye(n: number, m?: number, options?: CreateOptions): Tensor {
  checkInteger(n, 'eye', 'n', 0);
  const cols = m === undefined ? n : checkInteger(m, 'eye', 'm', 0);
  const { dtype, device, grad } = resolveCreate(options, 'eye');
  const out = noGrad(() =>
    tidy(() => {
      const rows = reshape(arange(n, undefined, 1, { dtype: 'int32', device }), [n, 1]);
      const across = reshape(arange(cols, undefined, 1, { dtype: 'int32', device }), [1, cols]);
      return equal(rows, across).cast(dtype ?? 'float32');
    }),
  );
  return grad(out);
}

// ---------------------------------------------------------------- products

function vector(t: Tensor, op: string, what: string): void {
  checkTensor(t, op, what);
  if (t.rank !== 1) fail('SHAPE_MISMATCH', `${op}: ${what} must be 1-D; got shape ${shapeText(t.shape)}`);
}

/** The outer product a bᵀ of two 1-D tensors (torch.outer): [a.size, b.size]. */
export function outer(a: Tensor, b: Tensor): Tensor {
  vector(a, 'outer', 'a');
  vector(b, 'outer', 'b');
  return tidy(() => mul(reshape(a, [a.size, 1]), reshape(b, [1, b.size])));
}

/** The dot product of two 1-D tensors of one length (torch.dot), summed in double. */
export function dot(a: Tensor, b: Tensor): Tensor {
  vector(a, 'dot', 'a');
  vector(b, 'dot', 'b');
  if (a.size !== b.size) fail('SHAPE_MISMATCH', `dot: a has ${a.size} elements and b ${b.size}; expected the same number`);
  return tidy(() => sum(mul(a, b)));
}

// ---------------------------------------------------------------- activations

/**
 * log(1 + eˣ) with no threshold and no overflow: [x > 0]·x + log1p(eᵐ), m = −x above 0 and x at or
 * below, so its second derivative at 0 is σ′(0) = 1/4 (a |x| kink would drop it). Internal: the
 * distributions' exact softplus (torch's `softplus` switches to x above its threshold 20).
 */
export function softplusStable(x: Tensor): Tensor {
  return tidy(() => {
    const pos = greater(x, 0);
    return add(where(pos, x, 0), log1p(exp(where(pos, neg(x), x))));
  });
}

/**
 * log σ(x) = −softplus(−x) (torch.nn.functional.logsigmoid), stable at both ends, its second
 * derivative at 0 −σ′(0) = −1/4 as torch 1.13's (softplusStable).
 */
export function logSigmoid(x: Tensor): Tensor {
  checkTensor(x, 'logSigmoid', 'x');
  return tidy(() => neg(softplusStable(neg(x))));
}

/**
 * x clamped to [minVal, maxVal] (torch.nn.functional.hardtanh; −1 and 1 by
 * default), with PyTorch's gradient: 1 strictly inside, 0 at the bounds and
 * beyond.
 */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  checkTensor(x, 'hardtanh', 'x');
  checkFinite(minVal, 'hardtanh', 'minVal');
  checkFinite(maxVal, 'hardtanh', 'maxVal');
  if (minVal > maxVal) fail('INVALID_ARGUMENT', `hardtanh: minVal ${minVal} is above maxVal ${maxVal}`);
  return tidy(() => where(mul(greater(x, minVal), less(x, maxVal)), x, clamp(x.detach(), minVal, maxVal)));
}

/** min(max(x, 0), 6) (torch.nn.functional.relu6; hardtanh's gradient). */
export const relu6 = (x: Tensor): Tensor => hardtanh(checkTensor(x, 'relu6', 'x'), 0, 6);

/** x / (1 + |x|) (torch.nn.functional.softsign). */
export function softsign(x: Tensor): Tensor {
  checkTensor(x, 'softsign', 'x');
  return tidy(() => div(x, add(abs(x), 1)));
}

/** x · tanh(softplus(x)) (torch.nn.functional.mish). */
export function mish(x: Tensor): Tensor {
  checkTensor(x, 'mish', 'x');
  return tidy(() => mul(x, tanh(softplus(x))));
}

/**
 * 0 for x ≤ −3, x for x ≥ 3, x(x + 3)/6 between (torch.nn.functional.hardswish;
 * the gradient at −3 is 0 and at 3 is 1, as PyTorch 2's).
 */
export function hardswish(x: Tensor): Tensor {
  checkTensor(x, 'hardswish', 'x');
  return tidy(() => {
    // The middle branch sees x clamped to [−3, 3]: finite where it is not taken, so ±∞ get gradients 0 and 1, not NaN.
    const m = clamp(x, -3, 3);
    return where(lessEqual(x, -3), 0, where(less(x, 3), div(mul(m, add(m, 3)), 6), x));
  });
}

/** 0 for x ≤ −3, 1 for x ≥ 3, x/6 + 1/2 between (torch.nn.functional.hardsigmoid; gradient 1/6 strictly inside). */
export function hardsigmoid(x: Tensor): Tensor {
  checkTensor(x, 'hardsigmoid', 'x');
  return tidy(() => where(mul(greater(x, -3), less(x, 3)), add(div(x, 6), 0.5), clamp(add(div(x.detach(), 6), 0.5), 0, 1)));
}

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

/** scale · elu(x, α) with PyTorch's α ≈ 1.6733 and scale ≈ 1.0507 (torch.nn.functional.selu). */
export function selu(x: Tensor): Tensor {
  checkTensor(x, 'selu', 'x');
  return tidy(() => mul(elu(x, SELU_ALPHA), SELU_SCALE));
}

/** The gated linear unit: the first half of `axis` times σ of the second (torch.nn.functional.glu; axis −1). */
export function glu(x: Tensor, axis = -1): Tensor {
  checkTensor(x, 'glu', 'x');
  checkSignedInteger(axis, 'glu', 'axis');
  if (x.rank === 0) fail('SHAPE_MISMATCH', 'glu: x must have at least one axis');
  const ax = axis < 0 ? axis + x.rank : axis;
  if (ax < 0 || ax >= x.rank) fail('INVALID_ARGUMENT', `glu: axis ${axis} is out of range for a tensor of rank ${x.rank}`);
  if (x.shape[ax] % 2 !== 0) fail('SHAPE_MISMATCH', `glu: axis ${axis} has size ${x.shape[ax]}; it must be even (halved into value and gate)`);
  return tidy(() => {
    const [a, b] = split(x, 2, ax);
    return mul(a, sigmoid(b));
  });
}

/**
 * log(x / (1 − x)) (torch.logit); with eps, x is first clamped to
 * [eps, 1 − eps] (gradient 0 outside, as PyTorch's).
 */
export function logit(x: Tensor, eps?: number): Tensor {
  checkTensor(x, 'logit', 'x');
  if (eps !== undefined) {
    checkFinite(eps, 'logit', 'eps');
    if (eps < 0 || eps > 0.5) fail('INVALID_ARGUMENT', `logit: eps must be in [0, 0.5]; got ${eps}`);
  }
  return tidy(() => {
    const z = eps === undefined ? x : clamp(x, eps, 1 - eps);
    return sub(log(z), log(sub(1, z)));
  });
}

/** A float tensor argument of an activation (int32 refused: the result and its gradient are fractional). */
function floatInput(x: Tensor, op: string, what = 'x'): Tensor {
  checkTensor(x, op, what);
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: ${what} is int32; expected float32 or float64 (cast it first)`);
  return x;
}

/**
 * max(0, x) + min(0, α(e^(x/α) − 1)) (torch.nn.functional.celu; α = 1 by
 * default, 0 refused as PyTorch's ZeroDivisionError); the gradient at 0 is 1,
 * as PyTorch's.
 */
export function celu(x: Tensor, alpha = 1): Tensor {
  floatInput(x, 'celu');
  checkFinite(alpha, 'celu', 'alpha');
  if (alpha === 0) fail('INVALID_ARGUMENT', 'celu: alpha must not be 0 (it divides x; PyTorch: "alpha cannot be 0 for CELU")');
  return tidy(() => {
    const pos = greater(x, 0);
    // The exponential sees 0 where x > 0, so a large x overflows neither the value nor the gradient.
    return where(pos, x, mul(expm1(div(where(pos, 0, x), alpha)), alpha));
  });
}

/** A shrink's lambd: a finite number (≥ 0 for softshrink, as PyTorch's). */
function checkLambd(lambd: unknown, op: string, nonNegative: boolean): number {
  const l = checkFinite(lambd, op, 'lambd');
  if (nonNegative && l < 0) fail('INVALID_ARGUMENT', `${op}: lambd must be >= 0; got ${l}`);
  return l;
}

/**
 * x − λ for x > λ, x + λ for x < −λ, 0 between (torch.nn.functional.softshrink;
 * λ = lambd = 0.5 by default, ≥ 0). The gradient is 1 outside [−λ, λ] and 0
 * on it, bounds included, as PyTorch's; NaN stays NaN (PyTorch 1.13
 * gave 0 there).
 */
export function softshrink(x: Tensor, lambd = 0.5): Tensor {
  floatInput(x, 'softshrink');
  const l = checkLambd(lambd, 'softshrink', true);
  // 0 on [−λ, λ]; elsewhere x ∓ λ, NaN included (NaN stays NaN with gradient 1, as PyTorch's backward gives it).
  return tidy(() => where(mul(greaterEqual(x, -l), lessEqual(x, l)), 0, sub(x, where(greater(x, 0), l, -l))));
}

/**
 * x where |x| > λ, else 0 (torch.nn.functional.hardshrink; λ = lambd = 0.5 by
 * default): 0 on [−λ, λ], bounds included, with gradient 0 there and 1
 * elsewhere, as PyTorch's. A negative λ leaves x unchanged, as PyTorch's.
 */
export function hardshrink(x: Tensor, lambd = 0.5): Tensor {
  floatInput(x, 'hardshrink');
  const l = checkLambd(lambd, 'hardshrink', false);
  return tidy(() => where(mul(greaterEqual(x, -l), lessEqual(x, l)), 0, x));
}

/** x − tanh(x) (torch.nn.functional.tanhshrink). */
export function tanhshrink(x: Tensor): Tensor {
  floatInput(x, 'tanhshrink');
  return tidy(() => sub(x, tanh(x)));
}

/**
 * x where x > threshold, else value (torch.nn.functional.threshold; both
 * required). The gradient is 1 where x > threshold and 0 elsewhere; NaN
 * stays NaN, as PyTorch's.
 */
export function threshold(x: Tensor, threshold: number, value: number): Tensor {
  floatInput(x, 'threshold');
  const t = checkFinite(threshold, 'threshold', 'threshold');
  if (typeof value !== 'number' || Number.isNaN(value)) fail('INVALID_ARGUMENT', `threshold: value must be a number (±Infinity allowed); got ${describe(value)}`);
  return tidy(() => where(lessEqual(x, t), value, x));
}

/**
 * x where x > 0, weight · x elsewhere (torch.nn.functional.prelu). weight
 * is a scalar or 1-D: one slope for every element, or one per channel,
 * which is axis 1 of x (x [N, C, …]; a weight of C elements broadcasts over
 * the other axes). As PyTorch's, an x of rank 0 or 1 has no channel axis
 * and takes only a one-element weight. The gradient at x = 0 is the slope,
 * as PyTorch's; weight's gradient is summed over the axes it broadcasts
 * along.
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  floatInput(x, 'prelu');
  floatInput(weight, 'prelu', 'weight');
  if (weight.dtype !== x.dtype) fail('DTYPE_MISMATCH', `prelu: x is ${x.dtype} and weight ${weight.dtype}; expected one dtype (PyTorch does not promote here)`);
  if (weight.device !== x.device) fail('DEVICE_MISMATCH', `prelu: x is on ${x.device} and weight on ${weight.device}; expected one device`);
  if (weight.rank > 1) fail('SHAPE_MISMATCH', `prelu: weight must be a scalar or 1-D (one slope, or one per channel); got shape ${shapeText(weight.shape)}`);
  const n = weight.size;
  if (n !== 1) {
    if (x.rank === 0) fail('SHAPE_MISMATCH', `prelu: x is a scalar (shape []); a weight of ${n} elements needs x [N, ${n}, …]`);
    const channels = x.rank >= 2 ? x.shape[1] : 1;
    if (channels !== n)
      fail('SHAPE_MISMATCH', `prelu: weight has ${n} elements but x ${shapeText(x.shape)} has ${channels} channel${channels === 1 ? '' : 's'} (${x.rank >= 2 ? 'axis 1' : 'no channel axis below rank 2: one'}); expected a weight of 1 or ${channels} elements`);
  }
  return tidy(() => {
    const w = x.rank === 0 ? reshape(weight, []) : reshape(weight, x.shape.map((_, i) => (i === 1 ? n : 1)));
    return where(greater(x, 0), x, mul(x, w));
  });
}

/** @internal RReLU's bounds, checked (finite, lower ≤ upper, as PyTorch's); 1/8 and 1/3 by default. */
export function rreluBounds(op: string, lower: unknown, upper: unknown): [number, number] {
  const l = lower === undefined ? 1 / 8 : checkFinite(lower, op, 'lower');
  const u = upper === undefined ? 1 / 3 : checkFinite(upper, op, 'upper');
  if (l > u) fail('INVALID_ARGUMENT', `${op}: lower (${l}) must be <= upper (${u})`);
  return [l, u];
}

/**
 * Randomized leaky ReLU (torch.nn.functional.rrelu): x where x > 0, a · x
 * elsewhere. In training (training: true) each element draws its slope a
 * uniformly from [lower, upper] (from the generator setSeed() seeds);
 * otherwise (the default, as PyTorch's training=False) a is fixed at
 * (lower + upper) / 2. lower 1/8 and upper 1/3 by default. The gradient at
 * x = 0 is the slope, as PyTorch's.
 */
export function rrelu(x: Tensor, options?: { lower?: number; upper?: number; training?: boolean }): Tensor {
  floatInput(x, 'rrelu');
  const o = checkOptions<{ lower: number; upper: number; training: boolean }>(options, 'rrelu', ['lower', 'upper', 'training']);
  const [l, u] = rreluBounds('rrelu', o.lower, o.upper);
  if (o.training !== undefined && typeof o.training !== 'boolean') fail('INVALID_ARGUMENT', `rrelu: training must be a boolean; got ${describe(o.training)}`);
  return tidy(() => {
    const slope = o.training ? rand(x.shape, { minval: l, maxval: u, dtype: x.dtype, device: x.device }) : (l + u) / 2;
    return where(greater(x, 0), x, mul(x, slope));
  });
}
