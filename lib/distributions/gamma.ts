/**
 * The gamma family (torch.distributions): Gamma, Chi2, Beta, Dirichlet,
 * StudentT, FisherSnedecor, Weibull, Pareto, Kumaraswamy, NegativeBinomial.
 * Samples come from the native samplers of lib/ops/random-special.ts.
 */
// ---- helper B (gamma family)
import { Tensor, randn } from '../tensor';
import { tidy } from '../engine';
import { add, broadcastTo, clamp, div, exp, lessEqual, log, log1p, mul, rsqrt, square, stack, sub, where } from '../ops/core';
import { select } from '../ops/shape';
import { digamma, lgamma, xlogy } from '../ops/pointwise';
import { gammainc, standardGamma, standardGammaGrad } from '../ops/random-special';
import { Distribution, type DistributionOptions, type Param, type SampleOptions } from './distribution';
import * as constraints from './constraints';
import { registerKL } from './kl';

const LOG_PI = Math.log(Math.PI);

/** One seed per independent draw of a sample: the caller's seed for the first, derived ones after (undefined stays undefined). */
function seedAt(seed: number | undefined, k: number): number | undefined {
  return seed === undefined ? undefined : (Math.imul(seed >>> 0, 0x9e3779b1) + 0x7f4a7c15 * (k + 1)) >>> 0;
}

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
      return add(p, mul(sub(a, ad), dPda));
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
    return this.expandWith(batchShape, (grow) => new Chi2(tidy(() => mul(grow(this.concentration), 2)), { validateArgs: false }));
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
    // torch: the Dirichlet mode's first component, (c1 − 1)/(c1 + c0 − 2).
    return tidy(() => div(sub(this.concentration1, 1), sub(add(this.concentration1, this.concentration0), 2)));
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
      const g = standardGamma(c, { seed: options?.seed });
      const g1 = select(g, -1, 0), g0 = select(g, -1, 1);
      return div(g1, add(g1, g0));
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
      const v = div(mul(square(this.scale), this.df), sub(this.df, 2));
      return where(lessEqual(this.df, 1), NaN, where(lessEqual(this.df, 2), Infinity, v));
    });
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const z = randn(shape, { dtype: this.dtype, device: this.device, seed: options?.seed });
      const v = mul(gammaDraw(mul(this.df, 0.5), shape, seedAt(options?.seed, 0)), 2);
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
// ---- end helper B
