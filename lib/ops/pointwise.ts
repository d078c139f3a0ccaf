/**
 * Elementwise math beyond core (PyTorch's pointwise ops): atan2, hypot, lerp,
 * xlogy, logaddexp, fmod, copysign, clampMin/Max, lgamma, digamma, polygamma,
 * erfinv, sinc, deg2rad, frac, nanToNum, heaviside, signbit.
 *
 * The special functions and the binary ops whose edge cases C defines (atan2,
 * hypot, fmod, copysign, xlogy, logaddexp, logaddexp2) run one native kernel
 * (native/kernels/pointwise.h) that evaluates in double and rounds once,
 * reading broadcast operands in place (a number as one 0-d value, never a
 * tensor of the output's size); their gradients are written below in recorded
 * ops, so they differentiate again, and summed back over the broadcast axes. The rest are compositions of
 * recorded ops. int32 operands are promoted to float32, as PyTorch promotes
 * integers for these (where PyTorch refuses integers, e.g. hypot, antler
 * promotes too); fmod keeps int32 as torch.fmod does.
 */
import { noGrad, record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { checkTensor, Tensor, zerosLike } from '../tensor';
import { broadcastShapes, checkOptions, describe, shapeText } from '../validate';
import {
  abs, add, cast, clamp, cos, div, equal, exp, exp2, greater, greaterEqual, less, lessEqual, max, maximum, minimum, mul,
  neg, notEqual, operands, pow, resultType, square, sub, sumToShape, trunc, where, wrap,
} from './core';

type DTypeName = 'int32' | 'float32' | 'float64';
type Special1 = 'lgamma' | 'polygamma' | 'erfinv' | 'sinc' | 'signbit';
type Special2 = 'atan2' | 'hypot' | 'fmod' | 'copysign' | 'xlogy' | 'logaddexp' | 'logaddexp2';

/** The broadcast shape of two operands, or SHAPE_MISMATCH naming both. */
function outShape(op: string, a: Tensor | number, b: Tensor | number): number[] {
  const sa = typeof a === 'number' ? [] : a.shape, sb = typeof b === 'number' ? [] : b.shape;
  const s = broadcastShapes([sa, sb]);
  if (!s) fail('SHAPE_MISMATCH', `${op}: shapes ${shapeText(sa)} and ${shapeText(sb)} do not broadcast`);
  return s;
}

/** v as a tensor of `dtype` on `device`: a recorded cast (gradients flow back), or a 0-d constant for a number; the kernel broadcasts it. */
function operandTensor(v: Tensor | number, dtype: DTypeName, device: string): Tensor {
  return typeof v === 'number' ? wrap(native().full([], dtype, device, v)) : v.dtype === dtype ? v : cast(v, dtype);
}

/**
 * y = op(a, b) by the native kernel on float operands, broadcast in the kernel; grads(gy, A, B, y) in recorded
 * ops, each summed back to its operand's shape (the broadcast axes) as broadcastTo's gradient would.
 */
function special2(
  op: Special2, aIn: unknown, bIn: unknown, names: [string, string],
  grads: (gy: Tensor, a: Tensor, b: Tensor, y: Tensor) => [Tensor | null, Tensor | null],
): Tensor {
  const [a, b] = operands(op, aIn, bIn, names);
  outShape(op, a, b);
  let dtype = resultType(a, b);
  if (dtype === 'int32') dtype = 'float32';
  const device = (typeof a === 'number' ? (b as Tensor) : a).device;
  return tidy(() => {
    const A = operandTensor(a, dtype, device), B = operandTensor(b, dtype, device);
    const out = wrap(native().pointwise(op, A.handle, B.handle, 0));
    return record(out, op, [A, B], (gy, [sa, sb, sy], needs) => {
      const [ga, gb] = grads(gy, sa, sb, sy);
      return [needs[0] && ga ? sumToShape(ga, sa.shape) : null, needs[1] && gb ? sumToShape(gb, sb.shape) : null];
    }, [A, B, out], true);
  });
}

/** y = op(x) by the native kernel (int32 promoted to float32); grad(gy, x, y) in recorded ops, or none. */
function special1(op: Special1, x: Tensor, p: number, grad: ((gy: Tensor, x: Tensor, y: Tensor) => Tensor) | null): Tensor {
  checkTensor(x, op, 'x');
  return tidy(() => {
    const X = x.dtype === 'int32' ? cast(x, 'float32') : x;
    const out = wrap(native().pointwise(op, X.handle, null, p));
    if (!grad) return out;
    return record(out, op, [X], (gy, [sx, sy]) => [grad(gy, sx, sy)], [X, out], true);
  });
}

// ---------------------------------------------------------------- binary

/**
 * atan2(y, x): the angle of the point (x, y) in (−π, π], with C's signed-zero
 * and infinity cases (torch.atan2). Broadcasts; integers promote to float32.
 * Gradient: ∂y = x / (x² + y²), ∂x = −y / (x² + y²) (NaN at the origin, as PyTorch's).
 */
export function atan2(y: Tensor | number, x: Tensor | number): Tensor {
  return special2('atan2', y, x, ['y', 'x'], (gy, a, b) => {
    const r2 = add(square(a), square(b));
    return [mul(gy, div(b, r2)), neg(mul(gy, div(a, r2)))];
  });
}

/**
 * √(a² + b²) without overflow or underflow (torch.hypot; C's hypot: ±inf
 * with a NaN gives inf). Broadcasts; integers promote to float32 (PyTorch
 * refuses them). Gradient: a / hypot, b / hypot (NaN at the origin, as PyTorch's).
 */
export function hypot(a: Tensor | number, b: Tensor | number): Tensor {
  return special2('hypot', a, b, ['a', 'b'], (gy, sa, sb, y) => [mul(gy, div(sa, y)), mul(gy, div(sb, y))]);
}

/**
 * C's fmod: a − b·trunc(a/b), exact, with the dividend's sign (torch.fmod;
 * remainder takes the divisor's). Broadcasts; int32 with int32 stays int32
 * (a zero int32 divisor throws, as PyTorch's ZeroDivisionError). Gradient as
 * PyTorch's: ∂a = 1, ∂b = −trunc(a/b).
 */
export function fmod(a: Tensor | number, b: Tensor | number): Tensor {
  const [x, y] = operands('fmod', a, b, ['a', 'b']);
  if (resultType(x, y) === 'int32') {
    outShape('fmod', x, y);
    const device = (typeof x === 'number' ? (y as Tensor) : x).device;
    return tidy(() => {
      const zero = typeof y === 'number' ? y === 0 : y.size > 0 && readAny(equal(y, 0));
      if (zero) fail('INVALID_ARGUMENT', `fmod: integer division by zero (the divisor ${typeof y === 'number' ? 'is 0' : 'has a 0 entry'}); cast to float32 or float64 for NaN there`);
      const A = operandTensor(x, 'float64', device), B = operandTensor(y, 'float64', device);
      // Exact in float64 for int32 operands, and |fmod(a, b)| ≤ |a| fits int32.
      const wide = wrap(native().pointwise('fmod', A.handle, B.handle, 0));
      return wrap(native().cast(wide.handle, 'int32'));
    });
  }
  return special2('fmod', x, y, ['a', 'b'], (gy, sa, sb) => [gy, neg(mul(gy, trunc(div(sa, sb))))]);
}

/** Whether any entry of a 0/1 tensor is 1 (one number read back). */
function readAny(t: Tensor): boolean {
  return tidy(() => max(t).item() !== 0);
}

/**
 * |a| with the sign bit of b (torch.copysign; −0 and a NaN's sign bit count).
 * Broadcasts; integers promote to float32. Gradient to a only, as PyTorch's:
 * sign(a)·sign(b) as y/a, 0 where a = 0; b gets zeros.
 */
export function copysign(a: Tensor | number, b: Tensor | number): Tensor {
  return special2('copysign', a, b, ['a', 'b'], (gy, sa, sb, y) => [
    where(equal(sa, 0), 0, mul(gy, div(y, sa))),
    zerosLike(sb),
  ]);
}

/**
 * x · ln y with 0 where x = 0 (torch.xlogy): NaN wherever y is NaN, else 0
 * where x is 0 even if ln y is ±inf. Broadcasts; either may be a number;
 * integers promote to float32. Gradient as PyTorch's: ∂x = xlogy(gy, y), 0
 * where x = 0 and y ≤ 0; ∂y = gy·x/y.
 */
export function xlogy(x: Tensor | number, y: Tensor | number): Tensor {
  return special2('xlogy', x, y, ['x', 'y'], (gy, sx, sy) => [
    where(mul(equal(sx, 0), lessEqual(sy, 0)), 0, xlogy(gy, sy)),
    mul(gy, div(sx, sy)),
  ]);
}

/**
 * ln(eᵃ + eᵇ) without overflow (torch.logaddexp): max + ln(1 + e^−|a−b|),
 * equal infinities give themselves. Broadcasts; integers promote to float32
 * (PyTorch refuses them). Gradient: ∂a = 1/(1 + e^(b−a)), ∂b = 1/(1 + e^(a−b)).
 */
export function logaddexp(a: Tensor | number, b: Tensor | number): Tensor {
  return special2('logaddexp', a, b, ['a', 'b'], (gy, sa, sb) => [
    div(gy, add(exp(sub(sb, sa)), 1)),
    div(gy, add(exp(sub(sa, sb)), 1)),
  ]);
}

/** log₂(2ᵃ + 2ᵇ) without overflow (torch.logaddexp2), as logaddexp in base 2. Gradient: ∂a = 1/(1 + 2^(b−a)). */
export function logaddexp2(a: Tensor | number, b: Tensor | number): Tensor {
  return special2('logaddexp2', a, b, ['a', 'b'], (gy, sa, sb) => [
    div(gy, add(exp2(sub(sb, sa)), 1)),
    div(gy, add(exp2(sub(sa, sb)), 1)),
  ]);
}

/**
 * start + weight·(end − start), computed as PyTorch's (torch.lerp): from
 * start where |weight| < ½, else end − (end − start)(1 − weight), so weight
 * 1 gives end exactly. weight is a number or a tensor; all broadcast. Operands
 * of different dtypes promote (PyTorch requires one dtype); integers promote
 * to float32. Gradients: ∂start = 1 − w, ∂end = w, ∂weight = end − start.
 */
export function lerp(start: Tensor, end: Tensor, weight: Tensor | number): Tensor {
  checkTensor(start, 'lerp', 'start');
  checkTensor(end, 'lerp', 'end');
  if (typeof weight !== 'number') checkTensor(weight, 'lerp', 'weight');
  for (const t of [end, weight])
    if (t instanceof Tensor && t.device !== start.device)
      fail('DEVICE_MISMATCH', `lerp: start is on ${start.device} and an operand on ${t.device}; move it with .to('${start.device}')`);
  const s = broadcastShapes([start.shape, end.shape, typeof weight === 'number' ? [] : weight.shape]);
  if (!s) fail('SHAPE_MISMATCH', `lerp: shapes ${shapeText(start.shape)}, ${shapeText(end.shape)} and ${shapeText(typeof weight === 'number' ? [] : weight.shape)} do not broadcast`);
  let dtype = resultType(start, end, weight);
  if (dtype === 'int32') dtype = 'float32';
  return tidy(() => {
    const s0 = start.dtype === dtype ? start : cast(start, dtype), e0 = end.dtype === dtype ? end : cast(end, dtype);
    const w = typeof weight === 'number' || weight.dtype === dtype ? weight : cast(weight, dtype);
    const diff = sub(e0, s0);
    if (typeof w === 'number') return Math.abs(w) < 0.5 ? add(s0, mul(diff, w)) : sub(e0, mul(diff, 1 - w));
    const low = add(s0, mul(w, diff)), high = sub(e0, mul(diff, sub(1, w)));
    return where(less(abs(w), 0.5), low, high);
  });
}

/** Checks a clamp bound: a number (not NaN) or a tensor on x's device. */
function bound(op: string, x: Tensor, b: unknown, what: string): Tensor | number {
  checkTensor(x, op, 'x');
  if (typeof b === 'number') {
    if (Number.isNaN(b)) fail('INVALID_ARGUMENT', `${op}: ${what} must be a number or a Tensor, not NaN; got NaN`);
    return b;
  }
  if (!(b instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: ${what} must be a number or a Tensor; got ${describe(b)}`);
  checkTensor(b, op, what);
  if (b.device !== x.device) fail('DEVICE_MISMATCH', `${op}: x is on ${x.device} and ${what} on ${b.device}; move one with .to('${x.device}')`);
  return b;
}

/** max(x, min) with torch.clamp's gradient: x gets it where x ≥ min, the bound where x < min (neither at NaN). */
function clampTensor(op: 'clampMin' | 'clampMax', x: Tensor, m: Tensor): Tensor {
  outShape(op, x, m);
  const dtype = resultType(x, m);
  return tidy(() => {
    const X = x.dtype === dtype ? x : cast(x, dtype), M = m.dtype === dtype ? m : cast(m, dtype);
    // The value without recording (maximum's tie rule would split the gradient); NaN propagates.
    const out = noGrad(() => (op === 'clampMin' ? maximum(X, M) : minimum(X, M)));
    return record(out, op, [X, M], (gy, [sx, sm], needs) => {
      const keep = op === 'clampMin' ? greaterEqual(sx, sm) : lessEqual(sx, sm);
      const take = op === 'clampMin' ? less(sx, sm) : greater(sx, sm);
      return [needs[0] ? sumToShape(where(keep, gy, 0), sx.shape) : null, needs[1] ? sumToShape(where(take, gy, 0), sm.shape) : null];
    }, [X, M], true);
  });
}

/**
 * max(x, min) (torch.clamp_min / clamp(x, min=…)): min is a number or a tensor
 * that broadcasts with x (NaN in a tensor bound propagates). Gradient as
 * torch.clamp's: x where x ≥ min, min where x < min.
 */
export function clampMin(x: Tensor, min: Tensor | number): Tensor {
  const m = bound('clampMin', x, min, 'min');
  return typeof m === 'number' ? clamp(x, m, Infinity) : clampTensor('clampMin', x, m);
}

/** min(x, max) (torch.clamp_max), as clampMin: x gets the gradient where x ≤ max, the bound where x > max. */
export function clampMax(x: Tensor, max: Tensor | number): Tensor {
  const m = bound('clampMax', x, max, 'max');
  return typeof m === 'number' ? clamp(x, -Infinity, m) : clampTensor('clampMax', x, m);
}

// ---------------------------------------------------------------- unary

/** ln|Γ(x)| (torch.lgamma): +inf at 0, the negative integers and ±inf. Gradient ψ(x) (digamma). */
export function lgamma(x: Tensor): Tensor {
  return special1('lgamma', x, 0, (gy, sx) => mul(gy, polygamma(0, sx)));
}

/**
 * ψ(x) = Γ'(x)/Γ(x) (torch.digamma): −inf at +0 and +inf at −0 (PyTorch's
 * convention), NaN at the negative integers and −inf. Gradient ψ'(x) (polygamma(1, x)).
 */
export function digamma(x: Tensor): Tensor {
  return polygamma(0, x);
}

/**
 * The n-th derivative of ψ (torch.polygamma(n, x)), n an integer 0…1000; n = 0
 * is digamma. At the poles (0 and the negative integers) (−1)ⁿ⁺¹·inf as
 * PyTorch's for n ≥ 1 (PyTorch returns garbage finite values at some negative
 * integers), 0 at +inf and NaN at −inf (PyTorch: NaN / ±inf there for n ≥ 2).
 * Below ½ the reflection formula is used, for n ≤ 40 (NaN beyond). Gradient ψ⁽ⁿ⁺¹⁾(x).
 */
export function polygamma(n: number, x: Tensor): Tensor {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 1000)
    fail('INVALID_ARGUMENT', `polygamma: n must be an integer from 0 to 1000; got ${describe(n)}`);
  return special1('polygamma', x, n, (gy, sx) => mul(gy, polygamma(n + 1, sx)));
}

/** erf⁻¹(x) (torch.erfinv): ±inf at ±1, NaN outside [−1, 1]. Gradient √π/2 · e^(erfinv(x)²). */
export function erfinv(x: Tensor): Tensor {
  return special1('erfinv', x, 0, (gy, _sx, y) => mul(gy, mul(exp(square(y)), Math.sqrt(Math.PI) / 2)));
}

/**
 * The normalized sinc, sin(πx)/(πx), 1 at 0 (torch.sinc). Gradient
 * (cos(πx) − sinc x)/x, 0 at x = 0 (PyTorch's).
 */
export function sinc(x: Tensor): Tensor {
  return special1('sinc', x, 0, (gy, sx, y) => where(equal(sx, 0), 0, mul(gy, div(sub(cos(mul(sx, Math.PI)), y), sx))));
}

/** x · π/180 (torch.deg2rad); integers promote to float32. */
export function deg2rad(x: Tensor): Tensor {
  checkTensor(x, 'deg2rad', 'x');
  return mul(x, Math.PI / 180);
}

/** x · 180/π (torch.rad2deg); integers promote to float32. */
export function rad2deg(x: Tensor): Tensor {
  checkTensor(x, 'rad2deg', 'x');
  return mul(x, 180 / Math.PI);
}

/** x − trunc(x), with x's sign (torch.frac); NaN at ±inf. int32 gives int32 zeros (PyTorch refuses integers). Gradient 1. */
export function frac(x: Tensor): Tensor {
  checkTensor(x, 'frac', 'x');
  return tidy(() => sub(x, trunc(x)));
}

/** The largest finite value of a float dtype. */
const FLOAT_MAX: Record<'float32' | 'float64', number> = { float32: 3.4028234663852886e38, float64: Number.MAX_VALUE };

/**
 * x with NaN, +inf and −inf replaced (torch.nan_to_num): by default 0, the
 * dtype's largest finite value and its negative. int32 is returned as a copy.
 * Gradient: gy where x is finite, 0 where it was replaced.
 */
export function nanToNum(x: Tensor, options?: { nan?: number; posinf?: number; neginf?: number }): Tensor {
  checkTensor(x, 'nanToNum', 'x');
  const o = checkOptions<{ nan: number; posinf: number; neginf: number }>(options, 'nanToNum', ['nan', 'posinf', 'neginf']);
  for (const k of ['nan', 'posinf', 'neginf'] as const)
    if (o[k] !== undefined && typeof o[k] !== 'number') fail('INVALID_ARGUMENT', `nanToNum: ${k} must be a number; got ${describe(o[k])}`);
  if (x.dtype === 'int32') return add(x, 0);
  const big = FLOAT_MAX[x.dtype as 'float32' | 'float64'];
  const nan = o.nan ?? 0, posinf = o.posinf ?? big, neginf = o.neginf ?? -big;
  return tidy(() => where(notEqual(x, x), nan, where(equal(x, Infinity), posinf, where(equal(x, -Infinity), neginf, x))));
}

/**
 * The Heaviside step (torch.heaviside): 0 where x < 0, values where x = 0,
 * 1 where x > 0, and 0 at NaN (PyTorch's). values broadcasts with x; the result
 * has the promoted dtype (PyTorch requires one dtype). No gradient (PyTorch has none).
 */
export function heaviside(x: Tensor, values: Tensor | number): Tensor {
  checkTensor(x, 'heaviside', 'x');
  operands('heaviside', x, values, ['x', 'values']);
  outShape('heaviside', x, values);
  const dtype = resultType(x, values);
  return tidy(() => {
    const X = x.detach(), V = typeof values === 'number' ? values : values.detach();
    const step = cast(greater(X, 0), dtype);
    return where(equal(X, 0), typeof V === 'number' ? V : cast(V, dtype), step);
  });
}

/**
 * 1 where x's sign bit is set (negative numbers, −0, −inf, NaNs with the sign
 * bit), else 0, in x's dtype (antler has no bool dtype, as its comparisons;
 * torch.signbit gives bool). No gradient.
 */
export function signbit(x: Tensor): Tensor {
  checkTensor(x, 'signbit', 'x');
  if (x.dtype === 'int32') return less(x, 0);
  return special1('signbit', x, 0, null);
}

// ---------------------------------------------------------------- floatPower

/**
 * torch.float_power: x ** exponent computed and returned in float64 (both
 * operands cast to float64 first, whatever their dtype; broadcast together;
 * one may be a number). The gradients are pow's, in float64, and reach a
 * float32 operand through the cast (in its own dtype), as torch's.
 */
export function floatPower(x: Tensor | number, exponent: Tensor | number): Tensor {
  const op = 'floatPower';
  operands(op, x, exponent, ['x', 'exponent']);
  outShape(op, x, exponent);
  const f64 = (v: Tensor | number) => (typeof v === 'number' || v.dtype === 'float64' ? v : cast(v, 'float64'));
  return tidy(() => pow(f64(x), f64(exponent)));
}
