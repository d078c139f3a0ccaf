/**
 * Random draws beyond rand/randn (native samplers, CPU and CUDA, repeatable
 * from a seed) and the special functions the gamma family needs:
 * standardGamma (torch._standard_gamma, with its reparameterised gradient),
 * poisson (torch.poisson), binomial (torch.binomial), gammainc/gammaincc
 * (torch.special.gammainc/gammaincc).
 */
import { record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { nextDraw } from '../random';
import { checkTensor, type Tensor } from '../tensor';
import { broadcastShapes, checkOptions, shapeText } from '../validate';
import { broadcastTo, cast, exp, log, mul, sub, wrap } from './core';
import { lgamma } from './pointwise';

/**
 * x ~ Gamma(alpha, 1) elementwise (torch._standard_gamma): one draw per element of `alpha` (any shape,
 * float32 or float64), Marsaglia–Tsang in double with alpha < 1 boosted by U^(1/alpha). Element i uses
 * its own Philox counter blocks, so with a `seed` the result is the same on every call and on CPU and
 * CUDA (to the device's log/exp rounding). alpha ≤ 0 or NaN gives NaN; values below the dtype's smallest
 * normal number are raised to it (as torch). Differentiable w.r.t. alpha by the implicit
 * (reparameterised) gradient dx/dα = −∂αP(α, x)/p(x; α) = ∂αQ(α, x)/p(x; α) (torch._standard_gamma_grad),
 * computed in double, not by torch's approximations: from the series of P below x = α + 1, from the continued
 * fraction of Q and its α-derivative above (finite and accurate in the far upper tail and for α up to 1e6:
 * relative error ~1e-11 or better against high-precision references).
 */
export function standardGamma(alpha: Tensor, options?: { seed?: number }): Tensor {
  const op = 'standardGamma';
  checkTensor(alpha, op, 'alpha');
  const o = checkOptions<{ seed: number }>(options, op, ['seed']);
  if (alpha.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: alpha has dtype int32; expected float32 or float64`);
  const { seed, stream } = nextDraw(o.seed, op);
  const out = wrap(native().standardGamma(alpha.handle, seed, stream));
  return record(out, op, [alpha], (gy, [sa, sx]) => [mul(gy, standardGammaGrad(sa, sx))], [alpha, out]);
}

/** @internal dx/dα of standardGamma at (alpha, x) (torch._standard_gamma_grad), same shapes and dtype; not recorded. */
export function standardGammaGrad(alpha: Tensor, x: Tensor): Tensor {
  return wrap(native().gammaBinary(0, alpha.handle, x.handle));
}

function incompleteGamma(op: 'gammainc' | 'gammaincc', a: Tensor, x: Tensor): Tensor {
  checkTensor(a, op, 'a');
  checkTensor(x, op, 'x');
  if (a.dtype === 'int32' || x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: dtypes ${a.dtype} and ${x.dtype}; expected float32 or float64 (cast int32 first)`);
  if (a.device !== x.device) fail('DEVICE_MISMATCH', `${op}: a is on ${a.device} and x on ${x.device}; move one with .to('${a.device}')`);
  const shape = broadcastShapes([a.shape, x.shape]);
  if (!shape) fail('SHAPE_MISMATCH', `${op}: shapes ${shapeText(a.shape)} and ${shapeText(x.shape)} do not broadcast`);
  const dtype = a.dtype === 'float64' || x.dtype === 'float64' ? 'float64' : 'float32';
  const upper = op === 'gammaincc';
  const out = tidy(() => {
    const fit = (t: Tensor): Tensor => {
      const c = t.dtype === dtype ? t : cast(t, dtype);
      return shapeText(c.shape) === shapeText(shape) ? c : broadcastTo(c, shape);
    };
    return wrap(native().gammaBinary(upper ? 2 : 1, fit(a).handle, fit(x).handle));
  });
  return record(out, op, [a, x], (gy, [sa, sx], needs) => {
    if (needs[0]) fail('NOT_SUPPORTED', `${op}: the derivative with respect to a is not implemented (as torch's); detach a`);
    // d/dx P(a, x) = x^(a−1) e^(−x) / Γ(a), torch's formula exp((a − 1) log x − x − lgamma(a)); Q's is its negative.
    const density = exp(sub(sub(mul(sub(sa, 1), log(sx)), sx), lgamma(sa)));
    return [null, mul(gy, upper ? mul(density, -1) : density)];
  }, [a, x], true);
}

/**
 * The regularized lower incomplete gamma function P(a, x) = γ(a, x)/Γ(a) (torch.special.gammainc,
 * torch.igamma), elementwise with broadcasting, float32/float64 (computed in double: a series for
 * x < a + 1, else 1 − Q by a continued fraction). torch's edge values: NaN for a < 0 or x < 0,
 * P(0, x > 0) = 1, P(a, 0) = 0, P(∞, x) = 0, P(a, ∞) = 1. Differentiable w.r.t. x only (as torch:
 * a gradient w.r.t. a throws NOT_SUPPORTED).
 */
export function gammainc(a: Tensor, x: Tensor): Tensor {
  return incompleteGamma('gammainc', a, x);
}

/** The regularized upper incomplete gamma function Q(a, x) = 1 − P(a, x) (torch.special.gammaincc, torch.igammac); as gammainc. */
export function gammaincc(a: Tensor, x: Tensor): Tensor {
  return incompleteGamma('gammaincc', a, x);
}

/** The same-dtype, same-device operands of a binary sampler, broadcast to one shape. */
function discreteOperands(op: string, a: Tensor, b: Tensor, names: [string, string]): [Tensor, Tensor] {
  checkTensor(a, op, names[0]);
  checkTensor(b, op, names[1]);
  if (a.dtype === 'int32' || b.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: dtypes ${a.dtype} and ${b.dtype}; expected float32 or float64 (cast int32 first)`);
  if (a.dtype !== b.dtype) fail('DTYPE_MISMATCH', `${op}: ${names[0]} is ${a.dtype} and ${names[1]} ${b.dtype}; expected one dtype (as torch)`);
  if (a.device !== b.device) fail('DEVICE_MISMATCH', `${op}: ${names[0]} is on ${a.device} and ${names[1]} on ${b.device}; move one with .to('${a.device}')`);
  const shape = broadcastShapes([a.shape, b.shape]);
  if (!shape) fail('SHAPE_MISMATCH', `${op}: shapes ${shapeText(a.shape)} and ${shapeText(b.shape)} do not broadcast`);
  const fit = (t: Tensor): Tensor => (shapeText(t.shape) === shapeText(shape) ? t : broadcastTo(t, shape));
  return [fit(a), fit(b)];
}

/**
 * k ~ Poisson(rate) elementwise (torch.poisson): one draw per element of `rate` (any shape, float32 or
 * float64; the counts are stored in that dtype, as torch). rate < 10 by inversion of the cdf with one
 * uniform, rate ≥ 10 by Hörmann's transformed rejection (PTRS), in double, from the element's own Philox
 * counter blocks: with a `seed` the result is the same on every call and on CPU and CUDA. rate 0 gives 0,
 * +∞ gives +∞; negative or NaN rates give NaN (torch throws for those: the check would cost a device read).
 * Not differentiable (as torch: the result carries no gradient).
 */
export function poisson(rate: Tensor, options?: { seed?: number }): Tensor {
  const op = 'poisson';
  checkTensor(rate, op, 'rate');
  const o = checkOptions<{ seed: number }>(options, op, ['seed']);
  if (rate.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: rate has dtype int32; expected float32 or float64`);
  const { seed, stream } = nextDraw(o.seed, op);
  return wrap(native().discreteSample(0, rate.handle, null, seed, stream));
}

/**
 * k ~ Binomial(count, prob) elementwise with broadcasting (torch.binomial): count and prob float32 or
 * float64 of one dtype and device; the counts are stored in that dtype. For q = min(prob, 1 − prob):
 * count·q < 10 by inversion with one uniform, else Hörmann's BTRS, in double, from each element's own
 * Philox counter blocks (repeatable with a `seed`, the same on CPU and CUDA). count 0 or prob 0 gives 0,
 * prob 1 gives count; count negative, non-integer, infinite or NaN, or prob outside [0, 1] or NaN gives
 * NaN (torch clamps count ≤ 0 to 0 and prob to [0, 1], and draws from non-integer counts). Not differentiable.
 */
export function binomial(count: Tensor, prob: Tensor, options?: { seed?: number }): Tensor {
  const op = 'binomial';
  const o = checkOptions<{ seed: number }>(options, op, ['seed']);
  return tidy(() => {
    const [c, p] = discreteOperands(op, count, prob, ['count', 'prob']);
    const { seed, stream } = nextDraw(o.seed, op);
    return wrap(native().discreteSample(1, c.handle, p.handle, seed, stream));
  });
}
