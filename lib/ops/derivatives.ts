/**
 * The derivatives of the unary ops as recorded ops: gy · dy/dx, the same
 * formulas as the fused backward kernel (native/kernels/unary.h,
 * unaryGrad), written with differentiable tensor ops so that a backward
 * that builds a graph (createGraph) can be differentiated again. Indicator
 * derivatives select gy or 0 (where) rather than multiply, as the kernel
 * does, so an infinite or NaN gy outside the active region still gives 0.
 */
import { adjointOps } from '../deer/scan';
import { fail } from '../errors';
import { full, zerosLike, type Tensor } from '../tensor';
import {
  add, cast, concat, cos, cosh, cumprod, div, erfc, exp, flip, greater, greaterEqual, less, lessEqual, mul, neg, permute, pow, reshape, sigmoid, sin, sinh, slice, sqrt,
  square, sub, where, type UnaryName,
} from './core';

const LN2 = 0.69314718055994530942;
const LN10 = 2.30258509299404568402;
/** 2/√π */
const TWO_OVER_SQRT_PI = 1.1283791670955125739;
/** 1/√(2π) */
const INV_SQRT_2PI = 0.39894228040143267794;

/**
 * @internal gy · dy/dx for y = op(x) (with parameters p0, p1), from the
 * saved x and y (either may be gy standing in when the formula does not
 * read it, as in the kernel's launcher).
 */
export function unaryDerivative(op: UnaryName, x: Tensor, y: Tensor, gy: Tensor, p0: number, p1: number): Tensor {
  switch (op) {
    case 'neg':
      return neg(gy);
    case 'exp':
      return mul(gy, y);
    case 'log':
      return div(gy, x);
    case 'tanh':
      return mul(gy, sub(1, square(y)));
    case 'sigmoid':
      return mul(mul(gy, sub(1, y)), y);
    case 'relu':
      // x ≤ 0 gives 0; NaN passes gy (torch's threshold_backward).
      return where(lessEqual(x, 0), 0, gy);
    case 'softplus':
      return where(greater(x, 20), gy, mul(gy, sigmoid(x)));
    case 'gelu': {
      // Φ(x) + x φ(x)
      const cdf = mul(erfc(mul(x, -Math.SQRT1_2)), 0.5);
      const pdf = mul(exp(mul(square(x), -0.5)), INV_SQRT_2PI);
      return mul(gy, add(cdf, mul(x, pdf)));
    }
    case 'sqrt':
      return div(gy, mul(y, 2));
    case 'abs':
      // gy·sgn(x) as torch's (not an indicator): x > 0: gy, x < 0: −gy, 0 (and NaN): gy·0 (NaN for a NaN or inf gy).
      return where(greater(x, 0), gy, where(less(x, 0), neg(gy), mul(gy, 0)));
    case 'pow':
      return p0 === 0 ? mul(gy, 0) : mul(gy, mul(pow(x, p0 - 1), p0));
    case 'clamp': {
      const inside = mul(greaterEqual(x, p0), lessEqual(x, p1));
      return where(inside, gy, 0);
    }
    case 'square':
      return mul(gy, mul(x, 2));
    case 'reciprocal':
      return neg(mul(gy, square(y)));
    case 'sin':
      return mul(gy, cos(x));
    case 'cos':
      return mul(gy, neg(sin(x)));
    case 'log1p':
      return div(gy, add(x, 1));
    case 'expm1':
      return mul(gy, add(y, 1));
    case 'rsqrt':
      return mul(mul(gy, mul(square(y), y)), -0.5);
    case 'sign':
    case 'floor':
    case 'ceil':
    case 'round':
    case 'trunc':
      // Piecewise constant: zero whatever gy holds (torch's zeros_like).
      return zerosLike(gy);
    case 'leakyRelu':
      return where(greater(x, 0), gy, mul(gy, p0));
    case 'elu':
      // From x rather than y + α, which cancels for very negative x (the kernel's).
      return where(lessEqual(x, 0), mul(gy, mul(exp(x), p0)), gy);
    case 'silu': {
      const s = sigmoid(x);
      return mul(gy, mul(s, add(mul(x, sub(1, s)), 1)));
    }
    case 'erf':
      return mul(gy, mul(exp(neg(square(x))), TWO_OVER_SQRT_PI));
    case 'erfc':
      return mul(gy, mul(exp(neg(square(x))), -TWO_OVER_SQRT_PI));
    case 'tan':
      return mul(gy, add(square(y), 1));
    case 'asin':
      return div(gy, sqrt(sub(1, square(x))));
    case 'acos':
      return div(neg(gy), sqrt(sub(1, square(x))));
    case 'atan':
      return div(gy, add(square(x), 1));
    case 'sinh':
      return mul(gy, cosh(x));
    case 'cosh':
      return mul(gy, sinh(x));
    case 'asinh':
      return div(gy, sqrt(add(square(x), 1)));
    case 'acosh':
      return div(gy, mul(sqrt(sub(x, 1)), sqrt(add(x, 1))));
    case 'atanh':
      return div(gy, sub(1, square(x)));
    case 'log2':
      return div(gy, mul(x, LN2));
    case 'log10':
      return div(gy, mul(x, LN10));
    case 'exp2':
      return mul(gy, mul(y, LN2));
  }
  return fail('INTERNAL', `unaryDerivative: no formula for '${op as string}'`);
}

/**
 * @internal cumprod's gradient as recorded ops (a graph-building backward):
 * without dividing by x, as the kernel. For the inclusive product along the
 * axis, gx_i = P_i S_i with P_i = Π_{j<i} x_j (an exclusive cumprod) and
 * S_i = Σ_{k≥i} gy_k Π_{i<j≤k} x_j, the reverse linear recurrence
 * S_i = gy_i + x_{i+1} S_{i+1}: a scan's adjoint (deer adjointOps).
 * `exclusive` is the inclusive product of x shifted by one, `reverse` the
 * same over flipped x.
 */
export function cumprodDerivative(x: Tensor, gy: Tensor, axis: number, exclusive: boolean, reverse: boolean): Tensor {
  // float32 through float64, as the kernel keeps E and S in double: partial products outside
  // float32's range (1e-30 · 1e-30 · 3 · 1e30 · 1e30) would otherwise give 0, ∞ and NaN.
  if (x.dtype === 'float32') return cast(cumprodDerivative(cast(x, 'float64'), cast(gy, 'float64'), axis, exclusive, reverse), 'float32');
  const ax = axis < 0 ? axis + x.rank : axis;
  if (reverse) return flip(cumprodDerivative(flip(x, ax), flip(gy, ax), ax, exclusive, false), ax);
  const n = x.rank === 0 ? 1 : x.shape[ax];
  if (x.size === 0 || n === 0) return zerosLike(x);
  if (x.rank === 0) return exclusive ? zerosLike(x) : gy;
  const part = (t: Tensor, begin: number, size: number) => slice(t, x.shape.map((_, i) => (i === ax ? begin : 0)), x.shape.map((d, i) => (i === ax ? size : d)));
  const oneSlice = (v: number) => full(x.shape.map((d, i) => (i === ax ? 1 : d)), v, { dtype: x.dtype, device: x.device });
  if (exclusive) {
    // y = inclusive cumprod of [1, x_0 … x_{n−2}]: x_j's gradient is the shifted one's at j + 1, the last x unused.
    const shifted = n > 1 ? concat([oneSlice(1), part(x, 0, n - 1)], ax) : oneSlice(1);
    const g = cumprodDerivative(shifted, gy, ax, false, false);
    return n > 1 ? concat([part(g, 1, n - 1), oneSlice(0)], ax) : oneSlice(0);
  }
  // The axis first, the rest as one column per scan entry: [n, 1, R].
  const perm = [ax, ...x.shape.map((_, i) => i).filter((i) => i !== ax)];
  const moved = permute(x, perm);
  const R = x.size / n;
  const col = (t: Tensor) => reshape(permute(t, perm), [n, 1, R]);
  // S_i = gy_i + x_{i+1} S_{i+1}: the adjoint of a scan with diagonal transitions x.
  const S = adjointOps(reshape(moved, [n, 1, R]), col(gy));
  const back = reshape(mul(S, reshape(cumprod(moved, 0, { exclusive: true }), [n, 1, R])), moved.shape);
  return permute(back, perm.map((_, i) => perm.indexOf(i)));
}
