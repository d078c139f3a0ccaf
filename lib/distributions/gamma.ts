/**
 * The gamma family (torch.distributions): Gamma, Chi2, Beta, Dirichlet,
 * StudentT, FisherSnedecor, Weibull, Pareto, Kumaraswamy, NegativeBinomial.
 * Samples come from the native samplers of lib/ops/random-special.ts.
 */
import { Tensor, rand, randn, tensor } from '../tensor';
import { tidy } from '../engine';
import { fail } from '../errors';
import { describe } from '../validate';
import { add, broadcastTo, cast, clamp, div, exp, expm1, less, lessEqual, log, log1p, maximum, mul, neg, pow, reciprocal, rsqrt, square, stack, sub, sum, where } from '../ops/core';
import { all } from '../ops/reductions';
import { isFinite, logicalAnd } from '../ops/extra';
import { select, unsqueeze } from '../ops/shape';
import { digamma, lgamma, xlogy } from '../ops/pointwise';
import { gammainc, standardGamma, standardGammaGrad } from '../ops/random-special';
import { Distribution, type DistributionOptions, type Param, type SampleOptions } from './distribution';
import * as constraints from './constraints';
import { registerKL } from './kl';
import { deriveSeed, finfo, infiniteLike } from './util';

const LOG_PI = Math.log(Math.PI);
const EULER = 0.5772156649015329;

/** Gamma(shape) draws per element of `concentration` broadcast to `shape`, through standardGamma (differentiable). */
function gammaDraw(concentration: Tensor, shape: number[], seed: number | undefined): Tensor {
  return standardGamma(broadcastTo(concentration, shape), { seed });
}

/**
 * The gamma distribution with shape `concentration` and `rate` (torch.distributions.Gamma):
 * density rate^α x^(α−1) e^(−rate x)/Γ(α) on x ≥ 0. rsample is standardGamma(α)/rate, differentiable in
 * both parameters (the implicit gradient for α); cdf is gammainc(α, rate·x) (torch 1.13 has no Gamma.cdf; torch 2's),
 * with a first-order gradient w.r.t. α from the sampler's kernel (torch's raises there). icdf is not implemented (as torch).
 */
export class Gamma extends Distribution {
  readonly concentration: Tensor;
  readonly rate: Tensor;
  readonly hasRsample = true;

  constructor(concentration: Param, rate: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ concentration, rate });
    this.concentration = p.concentration;
    this.rate = p.rate;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { concentration: constraints.positive, rate: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.nonnegative;
  }
  get mean(): Tensor {
    return div(this.concentration, this.rate);
  }
  get mode(): Tensor {
    return tidy(() => clamp(div(sub(this.concentration, 1), this.rate), 0));
  }
  get variance(): Tensor {
    return tidy(() => div(this.concentration, square(this.rate)));
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => div(gammaDraw(this.concentration, shape, options?.seed), this.rate));
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const a = this.concentration, r = this.rate;
    return tidy(() => sub(sub(add(xlogy(a, r), xlogy(sub(a, 1), value)), mul(r, value)), lgamma(a)));
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => {
      const y = mul(this.rate, value);
      const a = broadcastTo(this.concentration, shapeWith(this.concentration, y));
      const ad = a.detach();
      const p = gammainc(ad, y);
      // gammainc has no gradient w.r.t. a (as torch); the cdf's comes from the sampler's kernel, exact to first order:
      // ∂aP(a, y) = −(dy/da of the implicit gradient)·p(y; a), added as (a − stop(a))·stop(∂aP), which is 0 in value.
      const dens = exp(sub(sub(mul(sub(ad, 1), log(y)), y), lgamma(ad)));
      const dPda = mul(mul(standardGammaGrad(ad, y.detach()), dens), -1);
      // P(a, 0) = 0 and P(a, ∞) = 1 for every a: the derivative is 0 there (the formula's 0·∞ and ∞/∞ are NaN).
      const inside = logicalAnd(less(0, y.detach()), isFinite(y.detach()));
      return add(p, mul(sub(a, ad), where(inside, dPda, 0)));
    });
  }
  entropy(): Tensor {
    const a = this.concentration;
    return tidy(() => add(add(sub(a, log(this.rate)), lgamma(a)), mul(sub(1, a), digamma(a))));
  }
  expand(batchShape: readonly number[]): Gamma {
    return this.expandWith(batchShape, (grow) => new Gamma(grow(this.concentration), grow(this.rate), { validateArgs: false }));
  }
}

/** The broadcast shape of a parameter and a value (for ops that do not broadcast a grad-carrying operand). */
function shapeWith(a: Tensor, b: Tensor): number[] {
  const n = Math.max(a.rank, b.rank), out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a.shape[a.rank - n + i] ?? 1, y = b.shape[b.rank - n + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** The chi-squared distribution with `df` degrees of freedom (torch.distributions.Chi2): Gamma(df/2, 1/2). */
export class Chi2 extends Gamma {
  constructor(df: Param, options?: DistributionOptions) {
    const half = typeof df === 'number' ? df * 0.5 : df.dtype === 'int32' ? tidy(() => mul(df.cast('float32'), 0.5)) : mul(df, 0.5);
    super(half, 0.5, options);
    if (half instanceof Tensor) {
      if (half === this.concentration) this.own(half);
      else half.dispose();
    }
    if (this.validateArgs) {
      const d = this.df;
      try {
        this.checkArgs({ df: d });
      } finally {
        d.dispose();
      }
    }
  }
  /** The degrees of freedom, 2·concentration (a new tensor). */
  get df(): Tensor {
    return mul(this.concentration, 2);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { df: constraints.positive };
  }
  expand(batchShape: readonly number[]): Chi2 {
    return this.expandWith(batchShape, (grow) => {
      // The df tensor made here belongs to the new distribution (its constructor owns only df/2).
      const df = tidy(() => mul(grow(this.concentration), 2));
      const d = new Chi2(df, { validateArgs: false });
      d.own(df);
      return d;
    });
  }
}

/**
 * The beta distribution on [0, 1] (torch.distributions.Beta(concentration1, concentration0)): density
 * x^(c1−1)(1−x)^(c0−1)/B(c1, c0). rsample is G1/(G1 + G0) of two standardGamma draws (torch samples a
 * two-component Dirichlet: the same law), differentiable through both. cdf/icdf are not implemented (as torch).
 */
export class Beta extends Distribution {
  readonly concentration1: Tensor;
  readonly concentration0: Tensor;
  readonly hasRsample = true;

  constructor(concentration1: Param, concentration0: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ concentration1, concentration0 });
    this.concentration1 = p.concentration1;
    this.concentration0 = p.concentration0;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { concentration1: constraints.positive, concentration0: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.unitInterval;
  }
  get mean(): Tensor {
    return tidy(() => div(this.concentration1, add(this.concentration1, this.concentration0)));
  }
  get mode(): Tensor {
    // torch: the Dirichlet mode's first component, (c1 − 1)⁺/((c1 − 1)⁺ + (c0 − 1)⁺), and 1 (the first vertex) where both are below 1.
    const a = this.concentration1, b = this.concentration0;
    return tidy(() => {
      const p = clamp(sub(a, 1), 0), q = clamp(sub(b, 1), 0);
      return where(less(maximum(a, b), 1), 1, div(p, add(p, q)));
    });
  }
  get variance(): Tensor {
    const a = this.concentration1, b = this.concentration0;
    return tidy(() => {
      const t = add(a, b);
      return div(mul(a, b), mul(square(t), add(t, 1)));
    });
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const c = stack([broadcastTo(this.concentration1, shape), broadcastTo(this.concentration0, shape)], -1);
      // Gammas in float64 (as torch's _sample_dirichlet): in float32 both underflow to the floor for small c, giving 0.5.
      const g = standardGamma(this.dtype === 'float32' ? cast(c, 'float64') : c, { seed: options?.seed });
      const g1 = select(g, -1, 0), g0 = select(g, -1, 1);
      const x = div(g1, add(g1, g0));
      return this.dtype === 'float32' ? cast(x, 'float32') : x;
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const a = this.concentration1, b = this.concentration0;
    return tidy(() => {
      const lp = add(xlogy(sub(a, 1), value), xlogy(sub(b, 1), sub(1, value)));
      return add(lp, sub(lgamma(add(a, b)), add(lgamma(a), lgamma(b))));
    });
  }
  entropy(): Tensor {
    const a = this.concentration1, b = this.concentration0;
    return tidy(() => {
      const t = add(a, b);
      const lbeta = sub(add(lgamma(a), lgamma(b)), lgamma(t));
      return add(sub(sub(lbeta, mul(sub(a, 1), digamma(a))), mul(sub(b, 1), digamma(b))), mul(sub(t, 2), digamma(t)));
    });
  }
  expand(batchShape: readonly number[]): Beta {
    return this.expandWith(batchShape, (grow) => new Beta(grow(this.concentration1), grow(this.concentration0), { validateArgs: false }));
  }
}

/**
 * Student's t distribution (torch.distributions.StudentT(df, loc = 0, scale = 1)). rsample as torch:
 * loc + scale·Z/√(V/df) with Z normal and V ~ Chi2(df) (one standardGamma draw, differentiable in df).
 * mean NaN where df ≤ 1; variance ∞ where 1 < df ≤ 2 and NaN where df ≤ 1 (as torch). cdf/icdf not implemented.
 */
export class StudentT extends Distribution {
  readonly df: Tensor;
  readonly loc: Tensor;
  readonly scale: Tensor;
  readonly hasRsample = true;

  constructor(df: Param, loc: Param = 0, scale: Param = 1, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ df, loc, scale });
    this.df = p.df;
    this.loc = p.loc;
    this.scale = p.scale;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { df: constraints.positive, loc: constraints.real, scale: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.real;
  }
  get mean(): Tensor {
    return tidy(() => where(lessEqual(this.df, 1), NaN, this.loc));
  }
  get mode(): Tensor {
    return this.loc.clone();
  }
  get variance(): Tensor {
    return tidy(() => {
      // The formula sees df = 3 where it is masked, so its gradient there is 0 (torch's), not 0·∞ = NaN.
      const low = lessEqual(this.df, 2), df = where(low, 3, this.df);
      const v = div(mul(square(this.scale), df), sub(df, 2));
      return where(lessEqual(this.df, 1), NaN, where(low, Infinity, v));
    });
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const z = randn(shape, { dtype: this.dtype, device: this.device, seed: options?.seed });
      const v = mul(gammaDraw(mul(this.df, 0.5), shape, deriveSeed(options?.seed, 0)), 2);
      return add(this.loc, mul(this.scale, mul(z, rsqrt(div(v, this.df)))));
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const df = this.df;
    return tidy(() => {
      const y = div(sub(value, this.loc), this.scale);
      const z = add(add(add(log(this.scale), mul(log(df), 0.5)), 0.5 * LOG_PI), sub(lgamma(mul(df, 0.5)), lgamma(mul(add(df, 1), 0.5))));
      return sub(mul(log1p(div(square(y), df)), mul(add(df, 1), -0.5)), z);
    });
  }
  entropy(): Tensor {
    const df = this.df;
    return tidy(() => {
      const h = mul(df, 0.5), h1 = mul(add(df, 1), 0.5);
      const lbeta = sub(add(lgamma(h), 0.5 * LOG_PI), lgamma(h1));
      return add(add(add(log(this.scale), mul(h1, sub(digamma(h1), digamma(h)))), mul(log(df), 0.5)), lbeta);
    });
  }
  expand(batchShape: readonly number[]): StudentT {
    return this.expandWith(batchShape, (grow) => new StudentT(grow(this.df), grow(this.loc), grow(this.scale), { validateArgs: false }));
  }
}


/**
 * Standard exponential draws −log1p(−U) of `shape`, U uniform on [0, 1) drawn in float64 (so 0 has probability
 * 2^−53 in either dtype), then cast to `dtype`; constant (no gradient).
 */
function exponentialDraw(shape: number[], dtype: 'float32' | 'float64', device: string, seed: number | undefined): Tensor {
  return tidy(() => {
    const e = neg(log1p(neg(rand(shape, { dtype: 'float64', device, seed }))));
    return dtype === 'float64' ? e : cast(e, dtype);
  });
}

/**
 * The Dirichlet distribution on the simplex (torch.distributions.Dirichlet(concentration)): concentration
 * has shape [...batchShape, K] (at least one dimension; eventShape [K]); density
 * Γ(Σα)/ΠΓ(α_i)·Π x_i^(α_i − 1). rsample normalises K standardGamma draws G/ΣG, differentiable through the
 * gammas' implicit gradients (torch uses its own _dirichlet_grad; both are unbiased reparameterised
 * gradients of the same law, not the same per sample). logProb uses xlogy (a 0 component with α = 1 gives
 * a finite value where torch's log(x)·(α − 1) gives NaN). mode as torch 1.13: (α − 1)⁺/Σ(α − 1)⁺, and where
 * every α < 1 the first vertex (torch's argmax of that NaN row).
 */
export class Dirichlet extends Distribution {
  readonly concentration: Tensor;
  readonly hasRsample = true;

  constructor(concentration: Tensor, options?: DistributionOptions) {
    super(options);
    if (!(concentration instanceof Tensor) || concentration.rank < 1)
      fail('INVALID_ARGUMENT', `Dirichlet: concentration must be a Tensor with at least one dimension (the event [K]); got ${concentration instanceof Tensor ? 'a scalar tensor' : describe(concentration)}`);
    const p = this.broadcastParams({ concentration }, { eventDims: { concentration: 1 } });
    this.concentration = p.concentration;
    this.setShapes(this.batchShape, [concentration.shape[concentration.rank - 1]]);
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { concentration: constraints.independent(constraints.positive, 1) };
  }
  get support(): constraints.Constraint {
    return constraints.simplex;
  }
  get mean(): Tensor {
    return tidy(() => div(this.concentration, sum(this.concentration, -1, true)));
  }
  get mode(): Tensor {
    return tidy(() => {
      const c = this.concentration;
      const cm1 = clamp(sub(c, 1), 0);
      const m = div(cm1, sum(cm1, -1, true));
      const K = this.eventShape[0];
      const first = tensor(Array.from({ length: K }, (_, i) => (i === 0 ? 1 : 0)), [K], { dtype: this.dtype, device: this.device });
      return where(unsqueeze(all(less(c, 1), -1), -1), first, m);
    });
  }
  get variance(): Tensor {
    const c = this.concentration;
    return tidy(() => {
      const c0 = sum(c, -1, true);
      return div(mul(c, sub(c0, c)), mul(square(c0), add(c0, 1)));
    });
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      // Gammas in float64 (as torch's _sample_dirichlet): in float32 all K underflow to the floor for small α, giving 1/K.
      const f32 = this.dtype === 'float32';
      const g = gammaDraw(f32 ? cast(this.concentration, 'float64') : this.concentration, shape, options?.seed);
      const x = div(g, sum(g, -1, true));
      return f32 ? cast(x, 'float32') : x;
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const c = this.concentration;
    return tidy(() => add(sum(xlogy(sub(c, 1), value), -1), sub(lgamma(sum(c, -1)), sum(lgamma(c), -1))));
  }
  entropy(): Tensor {
    const c = this.concentration, k = this.eventShape[0];
    return tidy(() => {
      const a0 = sum(c, -1);
      const t = sub(sub(sum(lgamma(c), -1), lgamma(a0)), mul(sub(k, a0), digamma(a0)));
      return sub(t, sum(mul(sub(c, 1), digamma(c)), -1));
    });
  }
  expand(batchShape: readonly number[]): Dirichlet {
    return this.expandWith(batchShape, (grow) => new Dirichlet(grow(this.concentration, 1), { validateArgs: false }));
  }
}

/**
 * The F distribution (torch.distributions.FisherSnedecor(df1, df2)): density of (X1/df1)/(X2/df2) for
 * X_i ~ Chi2(df_i). rsample as torch: X1/X2 with X_i ~ Gamma(df_i/2, df_i) (one standardGamma draw of both,
 * differentiable), X2 and the result raised to the dtype's smallest normal number. mean NaN where df2 ≤ 2,
 * variance NaN where df2 ≤ 4, mode NaN where df1 ≤ 2 (as torch). entropy, cdf, icdf: not implemented (as torch).
 */
export class FisherSnedecor extends Distribution {
  readonly df1: Tensor;
  readonly df2: Tensor;
  readonly hasRsample = true;

  constructor(df1: Param, df2: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ df1, df2 });
    this.df1 = p.df1;
    this.df2 = p.df2;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { df1: constraints.positive, df2: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.positive;
  }
  get mean(): Tensor {
    return tidy(() => {
      // The formula sees df2 = 3 where it is masked: gradient 0 there (torch's), not NaN.
      const low = lessEqual(this.df2, 2), d2 = where(low, 3, this.df2);
      return where(low, NaN, div(d2, sub(d2, 2)));
    });
  }
  get mode(): Tensor {
    const d1 = this.df1, d2 = this.df2;
    return tidy(() => where(lessEqual(d1, 2), NaN, mul(div(sub(d1, 2), d1), div(d2, add(d2, 2)))));
  }
  get variance(): Tensor {
    const d1 = this.df1;
    return tidy(() => {
      // The formula sees df2 = 5 where it is masked: gradient 0 there (torch's), not NaN.
      const low = lessEqual(this.df2, 4), d2 = where(low, 5, this.df2);
      const v = div(mul(mul(square(d2), 2), sub(add(d1, d2), 2)), mul(mul(d1, square(sub(d2, 2))), sub(d2, 4)));
      return where(low, NaN, v);
    });
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const c = stack([broadcastTo(mul(this.df1, 0.5), shape), broadcastTo(mul(this.df2, 0.5), shape)], -1);
      const g = standardGamma(c, { seed: options?.seed });
      const t = finfo(this.dtype).tiny;
      const x1 = div(select(g, -1, 0), this.df1), x2 = maximum(div(select(g, -1, 1), this.df2), t);
      return maximum(div(x1, x2), t);
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const c1 = mul(this.df1, 0.5), c2 = mul(this.df2, 0.5), c3 = div(this.df1, this.df2);
      const t1 = sub(sub(lgamma(add(c1, c2)), lgamma(c1)), lgamma(c2));
      const t2 = add(mul(c1, log(c3)), mul(sub(c1, 1), log(value)));
      const t3 = mul(add(c1, c2), log1p(mul(c3, value)));
      return sub(add(t1, t2), t3);
    });
  }
  expand(batchShape: readonly number[]): FisherSnedecor {
    return this.expandWith(batchShape, (grow) => new FisherSnedecor(grow(this.df1), grow(this.df2), { validateArgs: false }));
  }
}

/**
 * The Weibull distribution (torch.distributions.Weibull(scale, concentration)): P(X ≤ x) = 1 − exp(−(x/scale)^k),
 * k = concentration. torch builds it as Exponential(1) through x ↦ x^(1/k) then ↦ scale·x; this class computes
 * the same quantities directly. rsample = scale·E^(1/k) with E a standard exponential (an inverse-cdf sampler,
 * differentiable in both parameters); cdf, icdf, mean, mode (NaN for k < 1, as torch), variance, entropy as torch.
 */
export class Weibull extends Distribution {
  readonly scale: Tensor;
  readonly concentration: Tensor;
  readonly hasRsample = true;

  constructor(scale: Param, concentration: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ scale, concentration });
    this.scale = p.scale;
    this.concentration = p.concentration;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { scale: constraints.positive, concentration: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.positive;
  }
  get mean(): Tensor {
    return tidy(() => mul(this.scale, exp(lgamma(add(reciprocal(this.concentration), 1)))));
  }
  get mode(): Tensor {
    const k = this.concentration;
    return tidy(() => mul(this.scale, pow(div(sub(k, 1), k), reciprocal(k))));
  }
  get variance(): Tensor {
    return tidy(() => {
      const r = reciprocal(this.concentration);
      return mul(square(this.scale), sub(exp(lgamma(add(mul(r, 2), 1))), exp(mul(lgamma(add(r, 1)), 2))));
    });
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const e = exponentialDraw(shape, this.dtype, this.device, options?.seed);
      return mul(this.scale, exp(div(log(e), this.concentration)));
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const k = this.concentration;
    return tidy(() => {
      const lz = sub(log(value), log(this.scale));
      return sub(add(sub(log(k), log(this.scale)), mul(sub(k, 1), lz)), exp(mul(k, lz)));
    });
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => neg(expm1(neg(pow(div(value, this.scale), this.concentration)))));
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => mul(this.scale, pow(neg(log1p(neg(p))), reciprocal(this.concentration))));
  }
  entropy(): Tensor {
    return tidy(() => {
      const r = reciprocal(this.concentration);
      return add(add(mul(sub(1, r), EULER), log(mul(this.scale, r))), 1);
    });
  }
  expand(batchShape: readonly number[]): Weibull {
    return this.expandWith(batchShape, (grow) => new Weibull(grow(this.scale), grow(this.concentration), { validateArgs: false }));
  }
}

/**
 * The Pareto (type I) distribution (torch.distributions.Pareto(scale, alpha)): P(X > x) = (scale/x)^alpha on
 * x ≥ scale. torch builds it as Exponential(alpha) through exp then ×scale; this class computes the same
 * quantities directly. rsample = scale·exp(E/alpha), E standard exponential (inverse-cdf, differentiable).
 * mean ∞ where alpha ≤ 1, variance ∞ where alpha ≤ 2 (torch's clamps); support greaterThanEq(scale).
 */
export class Pareto extends Distribution {
  readonly scale: Tensor;
  readonly alpha: Tensor;
  readonly hasRsample = true;

  constructor(scale: Param, alpha: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ scale, alpha });
    this.scale = p.scale;
    this.alpha = p.alpha;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { alpha: constraints.positive, scale: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.greaterThanEq(this.scale);
  }
  get mean(): Tensor {
    return tidy(() => {
      const a = clamp(this.alpha, 1);
      return div(mul(a, this.scale), sub(a, 1));
    });
  }
  get mode(): Tensor {
    return this.scale.clone();
  }
  get variance(): Tensor {
    return tidy(() => {
      const a = clamp(this.alpha, 2);
      return div(mul(square(this.scale), a), mul(square(sub(a, 1)), sub(a, 2)));
    });
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => mul(this.scale, exp(div(exponentialDraw(shape, this.dtype, this.device, options?.seed), this.alpha))));
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const a = this.alpha;
    return tidy(() => sub(add(log(a), mul(a, log(this.scale))), mul(add(a, 1), log(value))));
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => neg(expm1(mul(neg(this.alpha), log(div(value, this.scale))))));
  }
  icdf(p: Tensor): Tensor {
    return tidy(() => mul(this.scale, exp(div(neg(log1p(neg(p))), this.alpha))));
  }
  entropy(): Tensor {
    return tidy(() => add(log(div(this.scale, this.alpha)), add(reciprocal(this.alpha), 1)));
  }
  expand(batchShape: readonly number[]): Pareto {
    return this.expandWith(batchShape, (grow) => new Pareto(grow(this.scale), grow(this.alpha), { validateArgs: false }));
  }
}

/** torch's Kumaraswamy _moments: E[X^n] = b·B(1 + n/a, b) by lgamma. */
function kumaraswamyMoment(a: Tensor, b: Tensor, n: number): Tensor {
  return tidy(() => {
    const arg1 = add(div(n, a), 1);
    return mul(b, exp(sub(add(lgamma(arg1), lgamma(b)), lgamma(add(arg1, b)))));
  });
}

/**
 * The Kumaraswamy distribution on [0, 1] (torch.distributions.Kumaraswamy(concentration1, concentration0)):
 * density a·b·x^(a−1)(1 − x^a)^(b−1), a = concentration1, b = concentration0. torch builds it from a uniform
 * through x ↦ x^(1/b), x ↦ 1 − x, x ↦ x^(1/a); this class computes the same quantities directly. rsample =
 * (1 − U^(1/b))^(1/a) (inverse-cdf, differentiable; 1 − U^(1/b) by expm1). mean/variance by torch's lgamma moments.
 * logProb uses xlogy: at x = 0 with a = 1 (x = 1 with b = 1) it is the density's limit log b (log a), where torch gives NaN.
 * mode: ((a − 1)/(ab − 1))^(1/a), NaN where a < 1 or b < 1 — torch 1.13's mode formula takes the log of
 * 1 − b and is NaN for every parameter (a torch bug), so this one differs from it.
 */
export class Kumaraswamy extends Distribution {
  readonly concentration1: Tensor;
  readonly concentration0: Tensor;
  readonly hasRsample = true;

  constructor(concentration1: Param, concentration0: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ concentration1, concentration0 });
    this.concentration1 = p.concentration1;
    this.concentration0 = p.concentration0;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { concentration1: constraints.positive, concentration0: constraints.positive };
  }
  get support(): constraints.Constraint {
    return constraints.unitInterval;
  }
  get mean(): Tensor {
    return kumaraswamyMoment(this.concentration1, this.concentration0, 1);
  }
  get mode(): Tensor {
    const a = this.concentration1, b = this.concentration0;
    return tidy(() => {
      const m = exp(div(sub(log(sub(a, 1)), log(sub(mul(a, b), 1))), a));
      return where(less(a, 1), NaN, where(less(b, 1), NaN, m));
    });
  }
  get variance(): Tensor {
    const a = this.concentration1, b = this.concentration0;
    return tidy(() => sub(kumaraswamyMoment(a, b, 2), square(kumaraswamyMoment(a, b, 1))));
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      // log U for U uniform on (0, 1], minus a standard exponential draw (float64, then the dtype).
      const logU = neg(exponentialDraw(shape, this.dtype, this.device, options?.seed));
      return exp(div(log(neg(expm1(div(logU, this.concentration0)))), this.concentration1));
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    const a = this.concentration1, b = this.concentration0;
    return tidy(() => {
      // xlogy: 0·log 0 = 0, so a = 1 at x = 0 and b = 1 at x = 1 give the density's finite limit (torch's NaN).
      const la = mul(a, log(value));
      const t = add(add(log(a), log(b)), xlogy(sub(a, 1), value));
      return add(t, xlogy(sub(b, 1), neg(expm1(la))));
    });
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    const a = this.concentration1, b = this.concentration0;
    return tidy(() => neg(expm1(mul(b, log1p(neg(pow(value, a)))))));
  }
  icdf(p: Tensor): Tensor {
    const a = this.concentration1, b = this.concentration0;
    return tidy(() => exp(div(log(neg(expm1(div(log1p(neg(p)), b)))), a)));
  }
  entropy(): Tensor {
    const a = this.concentration1, b = this.concentration0;
    return tidy(() => {
      const t1 = sub(1, reciprocal(a)), t0 = sub(1, reciprocal(b));
      const h0 = add(digamma(add(b, 1)), EULER);
      return sub(sub(add(t0, mul(t1, h0)), log(a)), log(b));
    });
  }
  expand(batchShape: readonly number[]): Kumaraswamy {
    return this.expandWith(batchShape, (grow) => new Kumaraswamy(grow(this.concentration1), grow(this.concentration0), { validateArgs: false }));
  }
}

registerKL(Gamma, Gamma, (p, q) =>
  tidy(() => {
    const t1 = mul(q.concentration, log(div(p.rate, q.rate)));
    const t2 = sub(lgamma(q.concentration), lgamma(p.concentration));
    const t3 = mul(sub(p.concentration, q.concentration), digamma(p.concentration));
    const t4 = mul(sub(q.rate, p.rate), div(p.concentration, p.rate));
    return add(add(add(t1, t2), t3), t4);
  }),
);

registerKL(Beta, Beta, (p, q) =>
  tidy(() => {
    const sp = add(p.concentration1, p.concentration0), sq = add(q.concentration1, q.concentration0);
    const t1 = add(add(lgamma(q.concentration1), lgamma(q.concentration0)), lgamma(sp));
    const t2 = add(add(lgamma(p.concentration1), lgamma(p.concentration0)), lgamma(sq));
    const t3 = mul(sub(p.concentration1, q.concentration1), digamma(p.concentration1));
    const t4 = mul(sub(p.concentration0, q.concentration0), digamma(p.concentration0));
    const t5 = mul(sub(sq, sp), digamma(sp));
    return add(add(add(sub(t1, t2), t3), t4), t5);
  }),
);
registerKL(Dirichlet, Dirichlet, (p, q) =>
  tidy(() => {
    const sp = sum(p.concentration, -1), sq = sum(q.concentration, -1);
    const t1 = sub(lgamma(sp), lgamma(sq));
    const t2 = sum(sub(lgamma(p.concentration), lgamma(q.concentration)), -1);
    const t3 = sub(p.concentration, q.concentration);
    const t4 = sub(digamma(p.concentration), unsqueeze(digamma(sp), -1));
    return add(sub(t1, t2), sum(mul(t3, t4), -1));
  }),
);

registerKL(Pareto, Pareto, (p, q) =>
  tidy(() => {
    const alphaRatio = div(q.alpha, p.alpha);
    const r = add(sub(mul(q.alpha, log(div(p.scale, q.scale))), log(alphaRatio)), sub(alphaRatio, 1));
    return where(less(p.scale, q.scale), Infinity, r);
  }),
);

registerKL(Pareto, Gamma, (p, q) =>
  tidy(() => {
    const common = add(log(p.scale), reciprocal(p.alpha));
    const t1 = sub(log(p.alpha), common);
    const t2 = sub(lgamma(q.concentration), mul(q.concentration, log(q.rate)));
    const t3 = mul(sub(1, q.concentration), common);
    const t4 = div(mul(mul(q.rate, p.alpha), p.scale), sub(p.alpha, 1));
    return where(lessEqual(p.alpha, 1), Infinity, sub(add(add(add(t1, t2), t3), t4), 1));
  }),
);

// Supports that do not nest (torch's _kl_gamma_infinity, _kl_beta_infinity, _kl_pareto_infinity).
registerKL(Gamma, Pareto, infiniteLike);
registerKL(Beta, Pareto, infiniteLike);
registerKL(Pareto, Beta, infiniteLike);
