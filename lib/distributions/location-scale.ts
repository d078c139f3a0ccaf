/**
 * Location-scale and related continuous distributions (torch.distributions):
 * Normal, LogNormal, Laplace, Cauchy, Uniform, Exponential, Gumbel,
 * HalfNormal, HalfCauchy, VonMises, MultivariateNormal,
 * LowRankMultivariateNormal.
 */
import { Tensor, randn, rand, tensor, full } from '../tensor';
import { tidy } from '../engine';
import { abs, acos, add, atan, broadcastTo, clamp, cos, div, erf, exp, expm1, flip, greater, greaterEqual, less, lessEqual, log, log1p, matmul, maximum, minimum, mul, neg, permute, readNumbers, reciprocal, remainder, reshape, rsqrt, sign, slice, sqrt, square, sub, sum, tan, transpose, where } from '../ops/core';
import { all } from '../ops/reductions';
import { unsqueeze } from '../ops/shape';
import { diagEmbed, diagonal } from '../ops/products';
import { eye, isNaN, logicalAnd, logicalNot } from '../ops/extra';
import { cholesky, solveTriangular } from '../ops/linalg-lu';
import { noGrad } from '../autograd/graph';
import { erfinv, lgamma } from '../ops/pointwise';
import { logicalOr } from '../ops/extra';
import { broadcastShapes } from '../validate';
import { fail } from '../errors';
import { shapeText } from '../validate';
import { Distribution, type DistributionOptions, type Param, type SampleOptions } from './distribution';
import * as constraints from './constraints';
import { registerKL } from './kl';
import { deriveSeed, finfo, infiniteLike } from './util';

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * The base of the distributions with a real `loc` and a positive `scale`
 * (Normal, Laplace, Cauchy, Gumbel, LogNormal): their parameters, checks,
 * support (the real line unless a subclass says otherwise) and expand.
 * Not a distribution of its own (torch has no such class).
 */
export abstract class LocationScale extends Distribution {
  readonly loc: Tensor;
  readonly scale: Tensor;
  readonly hasRsample = true;

  constructor(loc: Param, scale: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ loc, scale });
    this.loc = p.loc;
    this.scale = p.scale;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { loc: constraints.real, scale: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.real;
  }
  /** @internal expand() for a subclass whose constructor is (loc, scale, options). */
  protected expandAs<D extends LocationScale>(C: new (loc: Param, scale: Param, options?: DistributionOptions) => D, batchShape: readonly number[]): D {
    return this.expandWith(batchShape, (grow) => new C(grow(this.loc), grow(this.scale), { validateArgs: false }));
  }
}

/** The normal distribution N(loc, scale²) (torch.distributions.Normal). */
export class Normal extends LocationScale {
  get mean(): Tensor {
    return this.loc.clone();
  }
  get mode(): Tensor {
    return this.loc.clone();
  }
  get stddev(): Tensor {
    return this.scale.clone();
  }
  get variance(): Tensor {
    return square(this.scale);
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => add(this.loc, mul(randn(shape, { dtype: this.dtype, device: this.device, seed: options?.seed }), this.scale)));
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => sub(div(square(sub(value, this.loc)), mul(square(this.scale), -2)), add(log(this.scale), LOG_SQRT_2PI)));
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => mul(add(erf(div(sub(value, this.loc), mul(this.scale, Math.SQRT2))), 1), 0.5));
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => add(this.loc, mul(mul(this.scale, erfinv(sub(mul(p, 2), 1))), Math.SQRT2)));
  }
  entropy(): Tensor {
    return tidy(() => add(log(this.scale), 0.5 + LOG_SQRT_2PI));
  }
  expand(batchShape: readonly number[]): Normal {
    return this.expandAs(Normal, batchShape);
  }
}

registerKL(Normal, Normal, (p, q) =>
  tidy(() => {
    const varRatio = square(div(p.scale, q.scale));
    const t1 = square(div(sub(p.loc, q.loc), q.scale));
    return mul(sub(sub(add(varRatio, t1), 1), log(varRatio)), 0.5);
  }),
);


const EULER = 0.5772156649015329;
const LOG_2 = Math.log(2);

/** Uniform draws of shape in [lo, hi) in the distribution's dtype and device. */
function uniformDraw(d: Distribution, shape: number[], seed: number | undefined, lo = 0, hi = 1): Tensor {
  return rand(shape, { dtype: d.dtype, device: d.device, seed, minval: lo, maxval: hi });
}

/** The value broadcast with the batch shape, for results that do not read it elementwise. */
function fullBatch(d: Distribution, value: number): Tensor {
  return full(d.batchShape, value, { dtype: d.dtype, device: d.device });
}

/**
 * The uniform distribution on [low, high) (torch.distributions.Uniform).
 * low < high is checked when validateArgs (torch raises ValueError there).
 */
export class Uniform extends Distribution {
  readonly low: Tensor;
  readonly high: Tensor;
  readonly hasRsample = true;

  constructor(low: Param, high: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ low, high });
    this.low = p.low;
    this.high = p.high;
    if (this.validateArgs) {
      const ok = tidy(() => less(this.low, this.high).cast('float32').min().item());
      if (ok !== 1) {
        this.dispose();
        fail('INVALID_ARGUMENT', `Uniform: low (shape ${shapeText(low instanceof Tensor ? low.shape : [])}) must be less than high (shape ${shapeText(high instanceof Tensor ? high.shape : [])}) everywhere; some elements are not`);
      }
    }
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { low: constraints.dependent, high: constraints.dependent };
  }
  get support(): constraints.Constraint {
    return constraints.interval(this.low, this.high);
  }
  get mean(): Tensor {
    return tidy(() => mul(add(this.high, this.low), 0.5));
  }
  /** NaN (torch: nan * high): every point of the interval is a mode. */
  get mode(): Tensor {
    return tidy(() => mul(this.high, NaN));
  }
  get stddev(): Tensor {
    return tidy(() => div(sub(this.high, this.low), Math.sqrt(12)));
  }
  get variance(): Tensor {
    return tidy(() => div(square(sub(this.high, this.low)), 12));
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => add(this.low, mul(uniformDraw(this, shape, options?.seed), sub(this.high, this.low))));
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const inside = mul(lessEqual(this.low, value), greater(this.high, value)).cast(this.dtype);
      return sub(log(inside), log(sub(this.high, this.low)));
    });
  }
  /** Clamped to [0, 1] outside the interval, as torch's. */
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => clamp(div(sub(value, this.low), sub(this.high, this.low)), 0, 1));
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => add(mul(p, sub(this.high, this.low)), this.low));
  }
  entropy(): Tensor {
    return tidy(() => log(sub(this.high, this.low)));
  }
  expand(batchShape: readonly number[]): Uniform {
    return this.expandWith(batchShape, (grow) => new Uniform(grow(this.low), grow(this.high), { validateArgs: false }));
  }
}

/** The exponential distribution with rate λ: density λ·exp(−λx) on [0, ∞) (torch.distributions.Exponential). */
export class Exponential extends Distribution {
  readonly rate: Tensor;
  readonly hasRsample = true;

  constructor(rate: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ rate });
    this.rate = p.rate;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { rate: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.nonnegative;
  }
  get mean(): Tensor {
    return reciprocal(this.rate);
  }
  get mode(): Tensor {
    return tidy(() => mul(this.rate, 0));
  }
  get stddev(): Tensor {
    return reciprocal(this.rate);
  }
  get variance(): Tensor {
    return tidy(() => reciprocal(square(this.rate)));
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => div(neg(log1p(neg(uniformDraw(this, shape, options?.seed)))), this.rate));
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => sub(log(this.rate), mul(this.rate, value)));
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => sub(1, exp(mul(neg(this.rate), value))));
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => div(neg(log1p(neg(p))), this.rate));
  }
  entropy(): Tensor {
    return tidy(() => sub(1, log(this.rate)));
  }
  expand(batchShape: readonly number[]): Exponential {
    return this.expandWith(batchShape, (grow) => new Exponential(grow(this.rate), { validateArgs: false }));
  }
}

/** The Laplace distribution: density exp(−|x − loc|/scale)/(2·scale) (torch.distributions.Laplace). */
export class Laplace extends LocationScale {
  get mean(): Tensor {
    return this.loc.clone();
  }
  get mode(): Tensor {
    return this.loc.clone();
  }
  get stddev(): Tensor {
    return tidy(() => mul(this.scale, Math.SQRT2));
  }
  get variance(): Tensor {
    return tidy(() => mul(square(this.scale), 2));
  }
  /** As torch's: u uniform in [eps − 1, 1), x = loc − scale·sign(u)·log1p(−|u|). */
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const u = uniformDraw(this, shape, options?.seed, finfo(this.dtype).eps - 1, 1);
      return sub(this.loc, mul(mul(this.scale, sign(u)), log1p(neg(abs(u)))));
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => sub(neg(log(mul(this.scale, 2))), div(abs(sub(value, this.loc)), this.scale)));
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => {
      const z = sub(value, this.loc);
      return sub(0.5, mul(mul(sign(z), expm1(neg(div(abs(z), this.scale)))), 0.5));
    });
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => {
      const t = sub(p, 0.5);
      return sub(this.loc, mul(mul(this.scale, sign(t)), log1p(mul(abs(t), -2))));
    });
  }
  entropy(): Tensor {
    return tidy(() => add(log(mul(this.scale, 2)), 1));
  }
  expand(batchShape: readonly number[]): Laplace {
    return this.expandAs(Laplace, batchShape);
  }
}

/**
 * The Cauchy distribution: density 1/(π·scale·(1 + ((x − loc)/scale)²))
 * (torch.distributions.Cauchy). mean is NaN and variance +Infinity, as torch's.
 */
export class Cauchy extends LocationScale {
  get mean(): Tensor {
    return fullBatch(this, NaN);
  }
  get mode(): Tensor {
    return this.loc.clone();
  }
  get variance(): Tensor {
    return fullBatch(this, Infinity);
  }
  /** loc + scale·tan(π(u − ½)), u uniform in [0, 1) (the inverse cdf). */
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => add(this.loc, mul(tan(mul(sub(uniformDraw(this, shape, options?.seed), 0.5), Math.PI)), this.scale)));
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => sub(neg(add(log(this.scale), Math.log(Math.PI))), log1p(square(div(sub(value, this.loc), this.scale)))));
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => add(div(atan(div(sub(value, this.loc), this.scale)), Math.PI), 0.5));
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => add(mul(tan(mul(sub(p, 0.5), Math.PI)), this.scale), this.loc));
  }
  entropy(): Tensor {
    return tidy(() => add(log(this.scale), Math.log(4 * Math.PI)));
  }
  expand(batchShape: readonly number[]): Cauchy {
    return this.expandAs(Cauchy, batchShape);
  }
}

/**
 * The Gumbel (type I extreme value) distribution: density
 * exp(−(z + e^{−z}))/scale, z = (x − loc)/scale (torch.distributions.Gumbel;
 * torch builds it as a transformed Uniform(tiny, 1 − eps), this class
 * computes the same results directly).
 */
export class Gumbel extends LocationScale {
  get mean(): Tensor {
    return tidy(() => add(this.loc, mul(this.scale, EULER)));
  }
  get mode(): Tensor {
    return this.loc.clone();
  }
  get stddev(): Tensor {
    return tidy(() => mul(this.scale, Math.PI / Math.sqrt(6)));
  }
  get variance(): Tensor {
    return tidy(() => mul(square(this.scale), (Math.PI * Math.PI) / 6));
  }
  /** loc − scale·log(−log u), u uniform in [tiny, 1 − eps] (torch's base Uniform). */
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const u = clamp(uniformDraw(this, shape, options?.seed), finfo(this.dtype).tiny, 1 - finfo(this.dtype).eps);
      return sub(this.loc, mul(this.scale, log(neg(log(u)))));
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const z = div(sub(value, this.loc), this.scale);
      return neg(add(add(log(this.scale), z), exp(neg(z))));
    });
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => exp(neg(exp(neg(div(sub(value, this.loc), this.scale))))));
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => sub(this.loc, mul(this.scale, log(neg(log(p))))));
  }
  entropy(): Tensor {
    return tidy(() => add(log(this.scale), 1 + EULER));
  }
  expand(batchShape: readonly number[]): Gumbel {
    return this.expandAs(Gumbel, batchShape);
  }
}

/** |X| for X ~ Normal(0, scale) (torch.distributions.HalfNormal). */
export class HalfNormal extends Distribution {
  readonly scale: Tensor;
  readonly hasRsample = true;

  constructor(scale: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ scale });
    this.scale = p.scale;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { scale: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.nonnegative;
  }
  get mean(): Tensor {
    return tidy(() => mul(this.scale, Math.sqrt(2 / Math.PI)));
  }
  get mode(): Tensor {
    return tidy(() => mul(this.scale, 0));
  }
  get variance(): Tensor {
    return tidy(() => mul(square(this.scale), 1 - 2 / Math.PI));
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => abs(mul(randn(shape, { dtype: this.dtype, device: this.device, seed: options?.seed }), this.scale)));
  }
  /** −Infinity below 0 (with validateArgs false), as torch's. */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const lp = sub(div(square(value), mul(square(this.scale), -2)), add(log(this.scale), LOG_SQRT_2PI - LOG_2));
      return where(less(value, 0), -Infinity, lp);
    });
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => erf(div(value, mul(this.scale, Math.SQRT2))));
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => mul(mul(this.scale, erfinv(p)), Math.SQRT2));
  }
  entropy(): Tensor {
    return tidy(() => add(log(this.scale), 0.5 + LOG_SQRT_2PI - LOG_2));
  }
  expand(batchShape: readonly number[]): HalfNormal {
    return this.expandWith(batchShape, (grow) => new HalfNormal(grow(this.scale), { validateArgs: false }));
  }
}

/** |X| for X ~ Cauchy(0, scale) (torch.distributions.HalfCauchy); mean and variance are +Infinity, as torch's. */
export class HalfCauchy extends Distribution {
  readonly scale: Tensor;
  readonly hasRsample = true;

  constructor(scale: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ scale });
    this.scale = p.scale;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { scale: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.nonnegative;
  }
  get mean(): Tensor {
    return fullBatch(this, Infinity);
  }
  get mode(): Tensor {
    return tidy(() => mul(this.scale, 0));
  }
  get variance(): Tensor {
    return fullBatch(this, Infinity);
  }
  /** scale·tan(πu/2), u uniform in [0, 1) (the inverse cdf). */
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => mul(tan(mul(uniformDraw(this, shape, options?.seed), Math.PI / 2)), this.scale));
  }
  /** −Infinity below 0 (with validateArgs false), as torch's. */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const lp = sub(neg(add(log(this.scale), Math.log(Math.PI / 2))), log1p(square(div(value, this.scale))));
      return where(less(value, 0), -Infinity, lp);
    });
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => div(atan(div(value, this.scale)), Math.PI / 2));
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => mul(tan(mul(p, Math.PI / 2)), this.scale));
  }
  entropy(): Tensor {
    return tidy(() => add(log(this.scale), Math.log(2 * Math.PI)));
  }
  expand(batchShape: readonly number[]): HalfCauchy {
    return this.expandWith(batchShape, (grow) => new HalfCauchy(grow(this.scale), { validateArgs: false }));
  }
}

/**
 * exp(X) for X ~ Normal(loc, scale) (torch.distributions.LogNormal; torch
 * builds it as a transformed Normal, this class computes the same results
 * directly). `loc` and `scale` are the underlying normal's.
 */
export class LogNormal extends LocationScale {
  get support(): constraints.Constraint {
    return constraints.positive;
  }
  get mean(): Tensor {
    return tidy(() => exp(add(this.loc, mul(square(this.scale), 0.5))));
  }
  get mode(): Tensor {
    return tidy(() => exp(sub(this.loc, square(this.scale))));
  }
  get variance(): Tensor {
    return tidy(() => {
      const s2 = square(this.scale);
      return mul(expm1(s2), exp(add(mul(this.loc, 2), s2)));
    });
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => exp(add(this.loc, mul(randn(shape, { dtype: this.dtype, device: this.device, seed: options?.seed }), this.scale))));
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const y = log(value);
      return sub(sub(div(square(sub(y, this.loc)), mul(square(this.scale), -2)), add(log(this.scale), LOG_SQRT_2PI)), y);
    });
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => mul(add(erf(div(sub(log(value), this.loc), mul(this.scale, Math.SQRT2))), 1), 0.5));
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => exp(add(this.loc, mul(mul(this.scale, erfinv(sub(mul(p, 2), 1))), Math.SQRT2))));
  }
  entropy(): Tensor {
    return tidy(() => add(add(log(this.scale), 0.5 + LOG_SQRT_2PI), this.loc));
  }
  expand(batchShape: readonly number[]): LogNormal {
    return this.expandAs(LogNormal, batchShape);
  }
}

// ---- KL divergences torch 1.13 registers between classes of this family.

/** torch's (Normal, Normal) closed form on (loc, scale) pairs. */
function klNormalNormal(pl: Tensor, ps: Tensor, ql: Tensor, qs: Tensor): Tensor {
  const varRatio = square(div(ps, qs));
  const t1 = square(div(sub(pl, ql), qs));
  return mul(sub(sub(add(varRatio, t1), 1), log(varRatio)), 0.5);
}

registerKL(Uniform, Uniform, (p, q) =>
  tidy(() => {
    const r = log(div(sub(q.high, q.low), sub(p.high, p.low)));
    return where(logicalOr(greater(q.low, p.low), less(q.high, p.high)), Infinity, r);
  }),
);
registerKL(Exponential, Exponential, (p, q) =>
  tidy(() => {
    const r = div(q.rate, p.rate);
    return sub(sub(r, log(r)), 1);
  }),
);
registerKL(Laplace, Laplace, (p, q) =>
  tidy(() => {
    const ratio = div(p.scale, q.scale);
    const d = abs(sub(p.loc, q.loc));
    return sub(add(add(neg(log(ratio)), div(d, q.scale)), mul(ratio, exp(neg(div(d, p.scale))))), 1);
  }),
);
registerKL(Cauchy, Cauchy, (p, q) =>
  tidy(() => sub(log(add(square(add(p.scale, q.scale)), square(sub(p.loc, q.loc)))), log(mul(mul(p.scale, q.scale), 4)))),
);
registerKL(Gumbel, Gumbel, (p, q) =>
  tidy(() => {
    const c1 = div(p.scale, q.scale), c2 = div(q.loc, q.scale), c3 = div(p.loc, q.scale);
    const t1 = add(sub(neg(log(c1)), c2), c3);
    const t3 = exp(sub(add(c2, lgamma(add(c1, 1))), c3));
    return sub(add(add(t1, mul(c1, EULER)), t3), 1 + EULER);
  }),
);
registerKL(HalfNormal, HalfNormal, (p, q) => tidy(() => klNormalNormal(mul(p.scale, 0), p.scale, mul(q.scale, 0), q.scale)));
// torch: (TransformedDistribution, TransformedDistribution) with equal transforms → the base distributions' KL.
registerKL(HalfCauchy, HalfCauchy, (p, q) =>
  tidy(() => sub(log(square(add(p.scale, q.scale))), log(mul(mul(p.scale, q.scale), 4)))),
);
registerKL(LogNormal, LogNormal, (p, q) => tidy(() => klNormalNormal(p.loc, p.scale, q.loc, q.scale)));

// Different classes (torch 1.13's kl.py, "Different distributions").
registerKL(Exponential, Uniform, infiniteLike);
registerKL(Gumbel, Uniform, infiniteLike);
registerKL(Laplace, Uniform, infiniteLike);
registerKL(Normal, Uniform, infiniteLike);
registerKL(Gumbel, Exponential, infiniteLike);
registerKL(Laplace, Exponential, infiniteLike);
registerKL(Normal, Exponential, infiniteLike);
registerKL(Exponential, Gumbel, (p, q) =>
  tidy(() => {
    const sr = mul(p.rate, q.scale);
    const lr = div(q.loc, q.scale);
    const t1 = sub(log(sr), 1);
    const t2 = div(mul(exp(lr), sr), add(sr, 1));
    return add(add(sub(t1, lr), t2), reciprocal(sr));
  }),
);
registerKL(Exponential, Normal, (p, q) =>
  tidy(() => {
    const v = square(q.scale);
    const r2 = square(p.rate);
    const t1 = mul(log(mul(mul(r2, v), 2 * Math.PI)), 0.5);
    const inner = add(sub(reciprocal(r2), div(q.loc, p.rate)), mul(square(q.loc), 0.5));
    return add(sub(t1, 1), div(inner, v));
  }),
);
registerKL(Gumbel, Normal, (p, q) =>
  tidy(() => {
    const r = div(p.scale, q.scale);
    const t1 = log(div(r, Math.sqrt(2 * Math.PI)));
    const t2 = div(square(mul(r, Math.PI * 0.5)), 3);
    const t3 = mul(square(div(sub(add(p.loc, mul(p.scale, EULER)), q.loc), q.scale)), 0.5);
    return sub(add(sub(t2, t1), t3), EULER + 1);
  }),
);
registerKL(Laplace, Normal, (p, q) =>
  tidy(() => {
    const v = square(q.scale);
    const r = div(square(p.scale), v);
    const t1 = mul(log(mul(r, 2 / Math.PI)), 0.5);
    const inner = add(sub(mul(square(p.loc), 0.5), mul(p.loc, q.loc)), mul(square(q.loc), 0.5));
    return sub(add(sub(r, t1), div(inner, v)), 1);
  }),
);
registerKL(Normal, Gumbel, (p, q) =>
  tidy(() => {
    const msr = div(p.loc, q.scale);
    const vsr = square(div(p.scale, q.scale));
    const lsr = div(q.loc, q.scale);
    const t1 = mul(log(vsr), 0.5);
    const t3 = exp(add(add(neg(msr), mul(vsr, 0.5)), lsr));
    return sub(add(sub(sub(msr, lsr), t1), t3), 0.5 * (1 + Math.log(2 * Math.PI)));
  }),
);
registerKL(Normal, Laplace, (p, q) =>
  tidy(() => {
    const d = sub(p.loc, q.loc);
    const r = div(p.scale, q.scale);
    const dr = div(d, p.scale);
    const t2 = mul(mul(p.scale, Math.sqrt(2 / Math.PI)), exp(mul(square(dr), -0.5)));
    const t3 = mul(d, erf(mul(dr, Math.SQRT1_2)));
    return sub(sub(div(add(t2, t3), q.scale), log(r)), 0.5 * (1 + Math.log(0.5 * Math.PI)));
  }),
);
registerKL(Uniform, Exponential, (p, q) =>
  tidy(() => {
    const r = sub(mul(q.rate, mul(add(p.high, p.low), 0.5)), log(mul(sub(p.high, p.low), q.rate)));
    return where(less(p.low, 0), Infinity, r);
  }),
);
registerKL(Uniform, Gumbel, (p, q) =>
  tidy(() => {
    const c = div(q.scale, sub(p.high, p.low));
    const hd = div(sub(p.high, q.loc), q.scale);
    const ld = div(sub(p.low, q.loc), q.scale);
    const t1 = add(log(c), mul(add(hd, ld), 0.5));
    const t2 = mul(c, sub(exp(neg(hd)), exp(neg(ld))));
    return sub(t1, t2);
  }),
);
registerKL(Uniform, Normal, (p, q) =>
  tidy(() => {
    const w = sub(p.high, p.low);
    const t1 = log(div(mul(q.scale, Math.sqrt(2 * Math.PI)), w));
    const t2 = div(square(w), 12);
    const t3 = square(mul(sub(add(p.high, p.low), mul(q.loc, 2)), 0.5));
    return add(t1, div(mul(add(t2, t3), 0.5), square(q.scale)));
  }),
);

const LOG_2PI = Math.log(2 * Math.PI);

/** Throws SHAPE_MISMATCH unless t is a Tensor of at least `rank` dims. */
function needTensor(name: string, what: string, t: unknown, rank: number): Tensor {
  if (!(t instanceof Tensor)) fail('INVALID_ARGUMENT', `${name}: ${what} must be a Tensor; got ${t === null ? 'null' : typeof t}`);
  if (t.isDisposed) fail('DISPOSED', `${name}: ${what} (shape ${shapeText(t.shape)}) has been disposed`);
  if (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'int32') fail('INVALID_ARGUMENT', `${name}: ${what} must be float32, float64 or int32; got ${t.dtype}`);
  if (t.rank < rank) fail('SHAPE_MISMATCH', `${name}: ${what} must have at least ${rank} dimension${rank === 1 ? '' : 's'}; got shape ${shapeText(t.shape)}`);
  return t;
}

/**
 * Moves the sample dims of x (shape [...sample, ...batch, n] once broadcast
 * with the batch) behind the event: [...batch, n, S], so that one batched
 * matrix op per batch element covers every sample. `back` undoes it for a
 * result [...batch, k, S] (k dropped when null).
 */
function batchMajor(x: Tensor, batch: readonly number[]): { X: Tensor; back: (y: Tensor, keepK: boolean) => Tensor } {
  const n = x.shape[x.rank - 1];
  const total = broadcastShapes([x.shape.slice(0, -1), batch]);
  if (total === null) fail('SHAPE_MISMATCH', `value of shape ${shapeText(x.shape)} does not broadcast with the batch shape ${shapeText(batch)}`);
  // The batch dims as broadcast with the value's (a batch dim of size 1 grows to the value's, as in torch).
  const r = batch.length;
  const sampleDims = total.slice(0, total.length - r);
  batch = total.slice(total.length - r);
  const S = sampleDims.reduce((a, b) => a * b, 1);
  const xb = broadcastTo(x, [...total, n]);
  const X = permute(reshape(xb, [S, ...batch, n]), [...Array.from({ length: r }, (_, i) => i + 1), r + 1, 0]);
  return {
    X,
    back: (y, keepK) => {
      const k = y.shape[y.rank - 2];
      if (keepK) return reshape(permute(y, [r + 1, ...Array.from({ length: r }, (_, i) => i), r]), [...sampleDims, ...batch, k]);
      // y [...batch, S]
      return reshape(permute(y, [r, ...Array.from({ length: r }, (_, i) => i)]), [...sampleDims, ...batch]);
    },
  };
}

/** Σ log of the diagonal of lower-triangular L [..., n, n]: ½ log det(L Lᵀ). */
function halfLogDet(L: Tensor): Tensor {
  return sum(log(diagonal(L, { axis1: -2, axis2: -1 })), -1);
}

/** ‖X‖²_F over the last two dims (torch's _batch_trace_XXT). */
function traceXXt(X: Tensor): Tensor {
  return sum(square(X), [-2, -1]);
}

/** xᵀ (L Lᵀ)⁻¹ x for x [..., n] (sample dims allowed in front of batch): ‖L⁻¹x‖² (torch's _batch_mahalanobis). */
function mahalanobis(L: Tensor, x: Tensor, batch: readonly number[]): Tensor {
  const { X, back } = batchMajor(x, batch);
  return back(sum(square(solveTriangular(L, X, { upper: false })), -2), false);
}

/** The scale_tril of a precision matrix P (torch's _precision_to_scale_tril): flip, Cholesky, flip, triangular inverse. */
function precisionToScaleTril(P: Tensor): Tensor {
  const Lf = cholesky(flip(P, [-2, -1]));
  const Linv = transpose(flip(Lf, [-2, -1]), -2, -1);
  const n = P.shape[P.rank - 1];
  return solveTriangular(Linv, eye(n, n, { dtype: P.dtype as 'float32' | 'float64', device: P.device }), { upper: false });
}

/** The parametrisations of {@link MultivariateNormal}: exactly one of them. */
export interface MultivariateNormalParams {
  /** Σ [..., n, n], symmetric positive-definite. */
  covarianceMatrix?: Tensor;
  /** Σ⁻¹ [..., n, n], symmetric positive-definite. */
  precisionMatrix?: Tensor;
  /** L [..., n, n] lower triangular with a positive diagonal, Σ = L Lᵀ. */
  scaleTril?: Tensor;
}

/**
 * The multivariate normal distribution N(loc, Σ) (torch.distributions.MultivariateNormal):
 * `new MultivariateNormal(loc, { covarianceMatrix } | { precisionMatrix } | { scaleTril }, options?)`
 * with loc [..., n] and the matrix [..., n, n], their batch dims broadcast (batchShape), eventShape [n].
 * Works with L = scaleTril (Cholesky of Σ; torch's _precision_to_scale_tril for a precision matrix):
 * logProb by a triangular solve, rsample loc + L·ε.
 */
export class MultivariateNormal extends Distribution {
  readonly loc: Tensor;
  readonly hasRsample = true;
  /** @internal L, as given or computed, with its own (unbroadcast) batch dims. */
  readonly unbroadcastedScaleTril: Tensor;
  /** @internal The parametrisation given and its tensor (cast, unbroadcast). */
  private readonly given: { kind: 'covarianceMatrix' | 'precisionMatrix' | 'scaleTril'; value: Tensor };

  constructor(loc: Tensor, params: MultivariateNormalParams, options?: DistributionOptions) {
    super(options);
    const name = 'MultivariateNormal';
    needTensor(name, 'loc', loc, 1);
    if (params === null || typeof params !== 'object')
      fail('INVALID_ARGUMENT', `${name}: the second argument must be { covarianceMatrix } or { precisionMatrix } or { scaleTril }; got ${params === null ? 'null' : typeof params}`);
    const keys = (['covarianceMatrix', 'precisionMatrix', 'scaleTril'] as const).filter((k) => params[k] !== undefined);
    const extra = Object.keys(params).filter((k) => !['covarianceMatrix', 'precisionMatrix', 'scaleTril'].includes(k));
    if (extra.length > 0) fail('INVALID_ARGUMENT', `${name}: unknown parameter ${extra[0]}; expected exactly one of covarianceMatrix, precisionMatrix, scaleTril`);
    if (keys.length !== 1)
      fail('INVALID_ARGUMENT', `${name}: exactly one of covarianceMatrix, precisionMatrix, scaleTril must be given; got ${keys.length === 0 ? 'none' : keys.join(' and ')}`);
    const kind = keys[0];
    const M = needTensor(name, kind, params[kind], 2);
    const n = loc.shape[loc.rank - 1];
    if (M.shape[M.rank - 1] !== n || M.shape[M.rank - 2] !== n)
      fail('SHAPE_MISMATCH', `${name}: ${kind} must have shape [..., ${n}, ${n}] for loc of shape ${shapeText(loc.shape)}; got ${shapeText(M.shape)}`);
    if (M.device !== loc.device) fail('DEVICE_MISMATCH', `${name}: loc is on ${loc.device} but ${kind} is on ${M.device}`);
    const batch = broadcastShapes([loc.shape.slice(0, -1), M.shape.slice(0, -2)]);
    if (batch === null) fail('SHAPE_MISMATCH', `${name}: the batch dims of loc ${shapeText(loc.shape)} and ${kind} ${shapeText(M.shape)} do not broadcast`);
    const dtype = loc.dtype === 'float64' || M.dtype === 'float64' ? 'float64' : 'float32';
    this.paramDtype = dtype;
    this.paramDevice = loc.device;
    this.setShapes(batch, [n]);
    const locT = loc.dtype === dtype && loc.shape.slice(0, -1).length === batch.length && loc.shape.every((d, i) => i === loc.rank - 1 || d === batch[i]);
    if (locT) {
      this.held.push(loc);
      this.loc = loc;
    } else this.loc = this.own(tidy(() => broadcastTo(loc.dtype === dtype ? loc : loc.cast(dtype), [...batch, n])));
    let value = M;
    if (M.dtype !== dtype) value = this.own(M.cast(dtype));
    else this.held.push(M);
    this.given = { kind, value };
    try {
      this.checkArgs({ loc: this.loc, [kind]: value });
      this.unbroadcastedScaleTril =
        kind === 'scaleTril' ? value : this.own(tidy(() => (kind === 'covarianceMatrix' ? cholesky(value) : precisionToScaleTril(value))));
    } catch (e) {
      this.dispose();
      throw e;
    }
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { loc: constraints.realVector, covarianceMatrix: constraints.positiveDefinite, precisionMatrix: constraints.positiveDefinite, scaleTril: constraints.lowerCholesky };
  }
  get support(): constraints.Constraint {
    return constraints.realVector;
  }
  private get n(): number {
    return this.eventShape[0];
  }
  private matShape(): number[] {
    return [...this.batchShape, this.n, this.n];
  }
  /** L with Σ = L Lᵀ, of shape [...batchShape, n, n]. */
  get scaleTril(): Tensor {
    return tidy(() => broadcastTo(this.unbroadcastedScaleTril, this.matShape()));
  }
  /** Σ = L Lᵀ (the given matrix when covarianceMatrix was given), [...batchShape, n, n]. */
  get covarianceMatrix(): Tensor {
    return tidy(() => {
      if (this.given.kind === 'covarianceMatrix') return broadcastTo(this.given.value, this.matShape());
      const L = this.unbroadcastedScaleTril;
      return broadcastTo(matmul(L, L, { transposeB: true }), this.matShape());
    });
  }
  /** Σ⁻¹ = L⁻ᵀ L⁻¹ (the given matrix when precisionMatrix was given), [...batchShape, n, n]. */
  get precisionMatrix(): Tensor {
    return tidy(() => {
      if (this.given.kind === 'precisionMatrix') return broadcastTo(this.given.value, this.matShape());
      const L = this.unbroadcastedScaleTril;
      const Linv = solveTriangular(L, eye(this.n, this.n, { dtype: this.dtype, device: this.device }), { upper: false });
      return broadcastTo(matmul(Linv, Linv, { transposeA: true }), this.matShape());
    });
  }
  get mean(): Tensor {
    return this.loc.clone();
  }
  get mode(): Tensor {
    return this.loc.clone();
  }
  /** The diagonal of Σ: Σⱼ L[i, j]², [...batchShape, n]. */
  get variance(): Tensor {
    return tidy(() => broadcastTo(sum(square(this.unbroadcastedScaleTril), -1), [...this.batchShape, this.n]));
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const eps = randn(shape, { dtype: this.dtype, device: this.device, seed: options?.seed });
      const { X, back } = batchMajor(eps, this.batchShape);
      return add(this.loc, back(matmul(this.unbroadcastedScaleTril, X), true));
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const M = mahalanobis(this.unbroadcastedScaleTril, sub(value, this.loc), this.batchShape);
      return sub(mul(add(M, this.n * LOG_2PI), -0.5), halfLogDet(this.unbroadcastedScaleTril));
    });
  }
  entropy(): Tensor {
    return tidy(() => broadcastTo(add(halfLogDet(this.unbroadcastedScaleTril), 0.5 * this.n * (1 + LOG_2PI)), this.batchShape));
  }
  expand(batchShape: readonly number[]): MultivariateNormal {
    return this.expandWith(batchShape, (grow) => new MultivariateNormal(grow(this.loc, 1), { scaleTril: grow(this.unbroadcastedScaleTril, 2) }, { validateArgs: false }));
  }
}

/** The capacitance's Cholesky factor: chol(I + Wᵀ D⁻¹ W) (torch's _batch_capacitance_tril). */
function capacitanceTril(W: Tensor, D: Tensor): Tensor {
  const m = W.shape[W.rank - 1];
  const WtDinv = div(transpose(W, -2, -1), unsqueeze(D, -2));
  return cholesky(add(matmul(WtDinv, W), eye(m, m, { dtype: W.dtype as 'float32' | 'float64', device: W.device })));
}

/** log det(W Wᵀ + D) = 2 Σ log diag(capacitance tril) + Σ log D (the matrix determinant lemma). */
function lowRankLogDet(D: Tensor, Lc: Tensor): Tensor {
  return add(mul(halfLogDet(Lc), 2), sum(log(D), -1));
}

/** xᵀ (W Wᵀ + D)⁻¹ x by Woodbury: Σ x²/D − ‖Lc⁻¹ Wᵀ D⁻¹ x‖² (torch's _batch_lowrank_mahalanobis). */
function lowRankMahalanobis(W: Tensor, D: Tensor, x: Tensor, Lc: Tensor, batch: readonly number[]): Tensor {
  const { X, back } = batchMajor(x, batch);
  const t1 = sum(div(square(X), unsqueeze(D, -1)), -2);
  const WtDinv = div(transpose(W, -2, -1), unsqueeze(D, -2));
  const t2 = sum(square(solveTriangular(Lc, matmul(WtDinv, X), { upper: false })), -2);
  return back(sub(t1, t2), false);
}

/**
 * The normal distribution with a low-rank plus diagonal covariance Σ = W Wᵀ + diag(D)
 * (torch.distributions.LowRankMultivariateNormal): `new LowRankMultivariateNormal(loc, covFactor, covDiag,
 * options?)` with loc [..., n], covFactor W [..., n, m], covDiag D [..., n] (positive), batch dims broadcast.
 * logProb and entropy through the m × m capacitance matrix I + Wᵀ D⁻¹ W (Woodbury, determinant lemma).
 */
export class LowRankMultivariateNormal extends Distribution {
  readonly loc: Tensor;
  /** W, broadcast to [...batchShape, n, m]. */
  readonly covFactor: Tensor;
  /** D, broadcast to [...batchShape, n]. */
  readonly covDiag: Tensor;
  readonly hasRsample = true;
  /** @internal chol(I + Wᵀ D⁻¹ W), [...batchShape, m, m]. */
  readonly capacitanceTril: Tensor;

  constructor(loc: Tensor, covFactor: Tensor, covDiag: Tensor, options?: DistributionOptions) {
    super(options);
    const name = 'LowRankMultivariateNormal';
    needTensor(name, 'loc', loc, 1);
    needTensor(name, 'covFactor', covFactor, 2);
    needTensor(name, 'covDiag', covDiag, 1);
    const n = loc.shape[loc.rank - 1];
    if (covFactor.shape[covFactor.rank - 2] !== n)
      fail('SHAPE_MISMATCH', `${name}: covFactor must have shape [..., ${n}, m] for loc of shape ${shapeText(loc.shape)}; got ${shapeText(covFactor.shape)}`);
    if (covDiag.shape[covDiag.rank - 1] !== n)
      fail('SHAPE_MISMATCH', `${name}: covDiag must have shape [..., ${n}] for loc of shape ${shapeText(loc.shape)}; got ${shapeText(covDiag.shape)}`);
    const p = this.broadcastParams({ loc, covFactor, covDiag }, { eventDims: { loc: 1, covFactor: 2, covDiag: 1 } });
    this.setShapes(this.batchShape, [n]);
    this.loc = p.loc;
    this.covFactor = p.covFactor;
    this.covDiag = p.covDiag;
    try {
      this.checkArgs(p);
      this.capacitanceTril = this.own(tidy(() => capacitanceTril(this.covFactor, this.covDiag)));
    } catch (e) {
      this.dispose();
      throw e;
    }
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { loc: constraints.realVector, covFactor: constraints.independent(constraints.real, 2), covDiag: constraints.independent(constraints.positive, 1) };
  }
  get support(): constraints.Constraint {
    return constraints.realVector;
  }
  private get n(): number {
    return this.eventShape[0];
  }
  get mean(): Tensor {
    return this.loc.clone();
  }
  get mode(): Tensor {
    return this.loc.clone();
  }
  /** diag(Σ) = Σⱼ W[i, j]² + D[i]. */
  get variance(): Tensor {
    return tidy(() => add(sum(square(this.covFactor), -1), this.covDiag));
  }
  /** chol(Σ) as torch: D^½ · chol(I + D^−½ W Wᵀ D^−½) (well conditioned). */
  get scaleTril(): Tensor {
    return tidy(() => {
      const ds = unsqueeze(sqrt(this.covDiag), -1);
      const DW = div(this.covFactor, ds);
      const K = add(matmul(DW, DW, { transposeB: true }), eye(this.n, this.n, { dtype: this.dtype, device: this.device }));
      return mul(ds, cholesky(K));
    });
  }
  /** W Wᵀ + diag(D). */
  get covarianceMatrix(): Tensor {
    return tidy(() => add(matmul(this.covFactor, this.covFactor, { transposeB: true }), diagEmbed(this.covDiag)));
  }
  /** Σ⁻¹ by Woodbury: D⁻¹ − Aᵀ A with A = Lc⁻¹ Wᵀ D⁻¹. */
  get precisionMatrix(): Tensor {
    return tidy(() => {
      const WtDinv = div(transpose(this.covFactor, -2, -1), unsqueeze(this.covDiag, -2));
      const A = solveTriangular(this.capacitanceTril, WtDinv, { upper: false });
      return sub(diagEmbed(reciprocal(this.covDiag)), matmul(A, A, { transposeA: true }));
    });
  }
  /** loc + W ε₁ + √D ⊙ ε₂, with ε₁ and ε₂ sliced from one standard normal draw [...shape, m + n]. */
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    const m = this.covFactor.shape[this.covFactor.rank - 1];
    return tidy(() => {
      const e = randn([...shape.slice(0, -1), m + this.n], { dtype: this.dtype, device: this.device, seed: options?.seed });
      const lead = shape.slice(0, -1).map(() => 0);
      const eW = slice(e, [...lead, 0], [...shape.slice(0, -1), m]);
      const eD = slice(e, [...lead, m], [...shape.slice(0, -1), this.n]);
      const { X, back } = batchMajor(eW, this.batchShape);
      return add(add(this.loc, back(matmul(this.covFactor, X), true)), mul(sqrt(this.covDiag), eD));
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const M = lowRankMahalanobis(this.covFactor, this.covDiag, sub(value, this.loc), this.capacitanceTril, this.batchShape);
      return mul(add(add(M, lowRankLogDet(this.covDiag, this.capacitanceTril)), this.n * LOG_2PI), -0.5);
    });
  }
  entropy(): Tensor {
    return tidy(() => mul(add(lowRankLogDet(this.covDiag, this.capacitanceTril), this.n * (1 + LOG_2PI)), 0.5));
  }
  expand(batchShape: readonly number[]): LowRankMultivariateNormal {
    return this.expandWith(batchShape, (grow) => new LowRankMultivariateNormal(grow(this.loc, 1), grow(this.covFactor, 2), grow(this.covDiag, 1), { validateArgs: false }));
  }
}

function sameEvent(p: Distribution, q: Distribution, what: string): number {
  if (p.eventShape[0] !== q.eventShape[0])
    fail('SHAPE_MISMATCH', `klDivergence: ${what} with different event shapes ${shapeText(p.eventShape)} and ${shapeText(q.eventShape)}`);
  const b = broadcastShapes([p.batchShape, q.batchShape]);
  if (b === null) fail('SHAPE_MISMATCH', `klDivergence: batch shapes ${shapeText(p.batchShape)} and ${shapeText(q.batchShape)} do not broadcast`);
  return p.eventShape[0];
}
function klBatch(p: Distribution, q: Distribution): number[] {
  return broadcastShapes([p.batchShape, q.batchShape])!;
}

registerKL(MultivariateNormal, MultivariateNormal, (p, q) => {
  const n = sameEvent(p, q, 'two multivariate normals');
  return tidy(() => {
    const pL = p.unbroadcastedScaleTril, qL = q.unbroadcastedScaleTril;
    const half1 = sub(halfLogDet(qL), halfLogDet(pL));
    const bL = broadcastShapes([pL.shape.slice(0, -2), qL.shape.slice(0, -2)])!;
    const term2 = traceXXt(solveTriangular(broadcastTo(qL, [...bL, n, n]), broadcastTo(pL, [...bL, n, n]), { upper: false }));
    const batch = klBatch(p, q);
    const term3 = mahalanobis(qL, broadcastTo(sub(q.loc, p.loc), [...batch, n]), batch);
    return add(half1, mul(sub(add(term2, term3), n), 0.5));
  });
});

registerKL(LowRankMultivariateNormal, LowRankMultivariateNormal, (p, q) => {
  const n = sameEvent(p, q, 'two low-rank multivariate normals');
  return tidy(() => {
    const batch = klBatch(p, q);
    const term1 = sub(lowRankLogDet(q.covDiag, q.capacitanceTril), lowRankLogDet(p.covDiag, p.capacitanceTril));
    const term3 = lowRankMahalanobis(q.covFactor, q.covDiag, broadcastTo(sub(q.loc, p.loc), [...batch, n]), q.capacitanceTril, batch);
    const qWtDinv = div(transpose(q.covFactor, -2, -1), unsqueeze(q.covDiag, -2));
    const A = solveTriangular(q.capacitanceTril, qWtDinv, { upper: false });
    const t21 = sum(div(p.covDiag, q.covDiag), -1);
    const t22 = traceXXt(mul(p.covFactor, unsqueeze(rsqrt(q.covDiag), -1)));
    const t23 = traceXXt(mul(A, unsqueeze(sqrt(p.covDiag), -2)));
    const t24 = traceXXt(matmul(A, p.covFactor));
    const term2 = sub(sub(add(t21, t22), t23), t24);
    return mul(sub(add(add(term1, term2), term3), n), 0.5);
  });
});

registerKL(MultivariateNormal, LowRankMultivariateNormal, (p, q) => {
  const n = sameEvent(p, q, 'a multivariate normal and a low-rank one');
  return tidy(() => {
    const batch = klBatch(p, q);
    const pL = p.unbroadcastedScaleTril;
    const term1 = sub(lowRankLogDet(q.covDiag, q.capacitanceTril), mul(halfLogDet(pL), 2));
    const term3 = lowRankMahalanobis(q.covFactor, q.covDiag, broadcastTo(sub(q.loc, p.loc), [...batch, n]), q.capacitanceTril, batch);
    const qWtDinv = div(transpose(q.covFactor, -2, -1), unsqueeze(q.covDiag, -2));
    const A = solveTriangular(q.capacitanceTril, qWtDinv, { upper: false });
    const t21 = traceXXt(mul(pL, unsqueeze(rsqrt(q.covDiag), -1)));
    const t22 = traceXXt(matmul(A, pL));
    return mul(sub(add(add(term1, sub(t21, t22)), term3), n), 0.5);
  });
});

registerKL(LowRankMultivariateNormal, MultivariateNormal, (p, q) => {
  const n = sameEvent(p, q, 'a low-rank multivariate normal and a full one');
  return tidy(() => {
    const batch = klBatch(p, q);
    const qL = q.unbroadcastedScaleTril;
    const term1 = sub(mul(halfLogDet(qL), 2), lowRankLogDet(p.covDiag, p.capacitanceTril));
    const term3 = mahalanobis(qL, broadcastTo(sub(q.loc, p.loc), [...batch, n]), batch);
    const m = p.covFactor.shape[p.covFactor.rank - 1];
    const qLb = broadcastTo(qL, [...batch, n, n]);
    const t21 = traceXXt(solveTriangular(qLb, broadcastTo(p.covFactor, [...batch, n, m]), { upper: false }));
    const t22 = traceXXt(solveTriangular(qLb, broadcastTo(diagEmbed(sqrt(p.covDiag)), [...batch, n, n]), { upper: false }));
    return mul(sub(add(add(term1, add(t21, t22)), term3), n), 0.5);
  });
});

// ---- VonMises

/** The series of I_ν (ν = 0, 1) below this argument, the asymptotic expansion at and above it. */
const BESSEL_SPLIT = 20;
const BESSEL_SERIES_TERMS = 40;
const BESSEL_ASYMPTOTIC_TERMS = 30;
/** Coefficients of I_ν(x)·√(2πx)·e^{−x} ~ Σₖ cₖ x^{−k}: cₖ = cₖ₋₁·((2k − 1)² − 4ν²)/(8k). */
const BESSEL_ASYMPTOTIC = [0, 1].map((nu) => {
  const c = [1];
  for (let k = 1; k <= BESSEL_ASYMPTOTIC_TERMS; k++) c.push((c[k - 1] * ((2 * k - 1) ** 2 - 4 * nu * nu)) / (8 * k));
  return c;
});

/**
 * log I_ν(x) for ν = 0 or 1 and x ≥ 0, to ~1e-15 relative (torch 1.13 uses
 * Abramowitz–Stegun polynomials, good to ~1e-7): the power series
 * (x/2)^ν Σ (x²/4)ᵏ/(k!(k+ν)!) below 20, the asymptotic expansion
 * x − ½log(2πx) + log Σ cₖ x⁻ᵏ (30 terms, error below 1e-17) above.
 * Differentiable (recorded ops; each branch sees its clamped argument).
 */
function logBesselI(x: Tensor, order: 0 | 1): Tensor {
  return tidy(() => {
    const xs = minimum(x, BESSEL_SPLIT);
    const t = mul(square(xs), 0.25);
    let s: Tensor = tensor(1, [], { dtype: x.dtype as 'float32' | 'float64', device: x.device });
    for (let k = BESSEL_SERIES_TERMS; k >= 1; k--) s = add(mul(mul(t, s), 1 / (k * (k + order))), 1);
    let small = log(s);
    if (order === 1) small = add(small, log(mul(xs, 0.5)));
    const xl = maximum(x, BESSEL_SPLIT);
    const u = reciprocal(xl);
    const c = BESSEL_ASYMPTOTIC[order];
    let a: Tensor = mul(u, c[BESSEL_ASYMPTOTIC_TERMS]);
    for (let k = BESSEL_ASYMPTOTIC_TERMS - 1; k >= 1; k--) a = mul(add(a, c[k]), u);
    const large = add(sub(xl, mul(log(mul(xl, 2 * Math.PI)), 0.5)), log1p(a));
    return where(less(x, BESSEL_SPLIT), small, large);
  });
}

/**
 * The von Mises distribution on the circle (torch.distributions.VonMises): density
 * exp(κ cos(x − loc))/(2π I₀(κ)). loc and values are angles (any real, as torch's
 * support `real`); samples lie in [−π, π). mean and mode are loc; variance is the
 * circular variance 1 − I₁(κ)/I₀(κ), as torch's. No rsample, cdf or entropy (as torch 1.13).
 */
export class VonMises extends Distribution {
  readonly loc: Tensor;
  readonly concentration: Tensor;

  constructor(loc: Param, concentration: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ loc, concentration });
    this.loc = p.loc;
    this.concentration = p.concentration;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { loc: constraints.real, concentration: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.real;
  }
  /** The circular mean: loc. */
  get mean(): Tensor {
    return this.loc.clone();
  }
  get mode(): Tensor {
    return this.loc.clone();
  }
  /** The circular variance 1 − I₁(κ)/I₀(κ). */
  get variance(): Tensor {
    return tidy(() => sub(1, exp(sub(logBesselI(this.concentration, 1), logBesselI(this.concentration, 0)))));
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => sub(mul(this.concentration, cos(sub(value, this.loc))), add(logBesselI(this.concentration, 0), LOG_2PI)));
  }
  /**
   * Best and Fisher's (1979) rejection sampler, as torch's: rounds of three
   * uniform draws (round k seeded from the seed and k), each element keeping
   * its first accepted proposal; at most 200 rounds (an element still
   * rejected then, only possible for NaN parameters, is NaN).
   */
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return noGrad(() =>
      tidy(() => {
        const kappa = broadcastTo(this.concentration, shape);
        const loc = broadcastTo(this.loc, shape);
        // torch's proposal r = (1 + ρ²)/(2ρ), ρ = (τ − √(2τ))/(2κ), τ = 1 + √(1 + 4κ²); ρ = 2κ/(τ + √(2τ)) without cancellation.
        const tau = add(sqrt(add(mul(square(kappa), 4), 1)), 1);
        const rho = div(mul(kappa, 2), add(tau, sqrt(mul(tau, 2))));
        const r = div(add(square(rho), 1), mul(rho, 2));
        let x = full(shape, NaN, { dtype: this.dtype, device: this.device });
        let done = logicalOr(isNaN(kappa), isNaN(loc));
        for (let k = 0; k < 200; k++) {
          if (readNumbers([all(done).cast('float64')])[0] === 1) break;
          // one round's intermediates are freed at its end: only x and done carry over
          const [x2, done2] = tidy(() => {
            const u = rand([3, ...shape], { dtype: this.dtype, device: this.device, seed: deriveSeed(options?.seed, k) });
            const part = (i: number): Tensor => reshape(slice(u, [i, ...shape.map(() => 0)], [1, ...shape]), shape);
            const u1 = part(0), u2 = part(1), u3 = part(2);
            const z = cos(mul(u1, Math.PI));
            const f = div(add(mul(r, z), 1), add(r, z));
            const c = mul(kappa, sub(r, f));
            const accept = logicalOr(greater(sub(mul(c, sub(2, c)), u2), 0), greaterEqual(sub(add(log(div(c, u2)), 1), c), 0));
            const fresh = logicalAnd(accept, logicalNot(done));
            return [where(fresh, mul(sign(sub(u3, 0.5)), acos(f)), x), logicalOr(done, accept)];
          });
          x.dispose();
          done.dispose();
          x = x2;
          done = done2;
        }
        return sub(remainder(add(add(x, Math.PI), loc), 2 * Math.PI), Math.PI);
      }),
    );
  }
  expand(batchShape: readonly number[]): VonMises {
    return this.expandWith(batchShape, (grow) => new VonMises(grow(this.loc), grow(this.concentration), { validateArgs: false }));
  }
}
