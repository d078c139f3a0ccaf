/**
 * Location-scale and related continuous distributions (torch.distributions):
 * Normal, LogNormal, Laplace, Cauchy, Uniform, Exponential, Gumbel,
 * HalfNormal, HalfCauchy, VonMises, MultivariateNormal,
 * LowRankMultivariateNormal.
 */
import { Tensor, randn, rand, tensor, full } from '../tensor';
import { tidy } from '../engine';
import { abs, add, atan, broadcastTo, clamp, div, erf, exp, expm1, greater, greaterEqual, less, lessEqual, log, log1p, mul, neg, reciprocal, sign, square, sub, tan, where } from '../ops/core';
import { erfinv, lgamma } from '../ops/pointwise';
import { logicalOr } from '../ops/extra';
import { broadcastShapes } from '../validate';
import { fail } from '../errors';
import { shapeText } from '../validate';
import { Distribution, type DistributionOptions, type Param, type SampleOptions } from './distribution';
import * as constraints from './constraints';
import { registerKL } from './kl';

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** The normal distribution N(loc, scale²) (torch.distributions.Normal). */
export class Normal extends Distribution {
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
    return this.expandWith(batchShape, (grow) => new Normal(grow(this.loc), grow(this.scale), { validateArgs: false }));
  }
}

registerKL(Normal, Normal, (p, q) =>
  tidy(() => {
    const varRatio = square(div(p.scale, q.scale));
    const t1 = square(div(sub(p.loc, q.loc), q.scale));
    return mul(sub(sub(add(varRatio, t1), 1), log(varRatio)), 0.5);
  }),
);

// ---- helper A (location-scale family): the other distributions of this file go below.

const EULER = 0.5772156649015329;
const LOG_2 = Math.log(2);
/** torch.finfo(dtype).eps and .tiny. */
const EPS = { float32: 2 ** -23, float64: 2 ** -52 };
const TINY = { float32: 2 ** -126, float64: 2 ** -1022 };

/** Uniform draws of shape in [lo, hi) in the distribution's dtype and device. */
function uniformDraw(d: Distribution, shape: number[], seed: number | undefined, lo = 0, hi = 1): Tensor {
  return rand(shape, { dtype: d.dtype, device: d.device, seed, minval: lo, maxval: hi });
}

/** A tensor of +Infinity of the broadcast batch shape of p and q (torch's _infinite_like). */
function infiniteLike(p: Distribution, q: Distribution): Tensor {
  const shape = broadcastShapes([p.batchShape, q.batchShape]) ?? p.batchShape;
  return full(shape, Infinity, { dtype: p.dtype, device: p.device });
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
export class Laplace extends Distribution {
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
      const u = uniformDraw(this, shape, options?.seed, EPS[this.dtype] - 1, 1);
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
    return this.expandWith(batchShape, (grow) => new Laplace(grow(this.loc), grow(this.scale), { validateArgs: false }));
  }
}

/**
 * The Cauchy distribution: density 1/(π·scale·(1 + ((x − loc)/scale)²))
 * (torch.distributions.Cauchy). mean is NaN and variance +Infinity, as torch's.
 */
export class Cauchy extends Distribution {
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
    return this.expandWith(batchShape, (grow) => new Cauchy(grow(this.loc), grow(this.scale), { validateArgs: false }));
  }
}

/**
 * The Gumbel (type I extreme value) distribution: density
 * exp(−(z + e^{−z}))/scale, z = (x − loc)/scale (torch.distributions.Gumbel;
 * torch builds it as a transformed Uniform(tiny, 1 − eps), this class
 * computes the same results directly).
 */
export class Gumbel extends Distribution {
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
      const u = clamp(uniformDraw(this, shape, options?.seed), TINY[this.dtype], 1 - EPS[this.dtype]);
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
    return this.expandWith(batchShape, (grow) => new Gumbel(grow(this.loc), grow(this.scale), { validateArgs: false }));
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
export class LogNormal extends Distribution {
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
    return this.expandWith(batchShape, (grow) => new LogNormal(grow(this.loc), grow(this.scale), { validateArgs: false }));
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
// ---- end helper A
