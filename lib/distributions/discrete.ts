/**
 * Discrete and relaxed distributions (torch.distributions): Bernoulli,
 * Categorical, OneHotCategorical, OneHotCategoricalStraightThrough,
 * Binomial, Multinomial, Geometric, Poisson, ContinuousBernoulli,
 * RelaxedBernoulli, LogitRelaxedBernoulli, RelaxedOneHotCategorical,
 * ExpRelaxedCategorical.
 */
// ---- helper C (discrete family)
import { Tensor, arange, rand, tensor } from '../tensor';
import { tidy } from '../engine';
import { fail } from '../errors';
import { describe } from '../validate';
import { abs, add, broadcastTo, clamp, div, equal, exp, floor, greater, greaterEqual, less, log, log1p, minimum, mul, neg, readNumbers, reshape, sigmoid, softplus, sub, sum, where } from '../ops/core';
import { lgamma, xlogy } from '../ops/pointwise';
import { logSigmoid } from '../ops/extra';
import { logSumExp } from '../ops/reductions';
import { softmax } from '../ops/nn';
import { gather, oneHot } from '../ops/indexing';
import { cumsum } from '../ops/core';
import { broadcastShapes } from '../validate';
import { Distribution, type DistributionOptions, type Param, type SampleOptions } from './distribution';
import * as constraints from './constraints';
import { registerKL } from './kl';

/** `{ probs }` or `{ logits }` (exactly one), as torch's probs=/logits= keywords. */
export type ProbsOrLogits = { probs: Param; logits?: undefined } | { logits: Param; probs?: undefined };

/** The machine epsilon of a float dtype (torch.finfo(dtype).eps). */
const epsOf = (dtype: 'float32' | 'float64'): number => (dtype === 'float32' ? 2 ** -23 : 2 ** -52);
/** The smallest normal number of a float dtype (torch.finfo(dtype).tiny). */
const tinyOf = (dtype: 'float32' | 'float64'): number => (dtype === 'float32' ? 2 ** -126 : 2 ** -1022);
/** The most negative finite number of a float dtype (torch.finfo(dtype).min). */
const minOf = (dtype: 'float32' | 'float64'): number => (dtype === 'float32' ? -3.4028234663852886e38 : -Number.MAX_VALUE);

/** @internal Marks options of a Categorical built from an already normalised parameter (expand). */
const NORMALISED = Symbol('normalised');

/** Which of probs/logits the caller gave (refuses both or neither). */
function pickParam(name: string, arg: unknown): { key: 'probs' | 'logits'; value: Param } {
  if (arg === null || typeof arg !== 'object' || arg instanceof Tensor)
    fail('INVALID_ARGUMENT', `${name}: expected { probs } or { logits } as the first argument; got ${describe(arg)}`);
  const o = arg as { probs?: Param; logits?: Param };
  const hasP = o.probs !== undefined, hasL = o.logits !== undefined;
  if (hasP === hasL) fail('INVALID_ARGUMENT', `${name}: pass exactly one of probs and logits; got ${hasP ? 'both' : 'neither'}`);
  return hasP ? { key: 'probs', value: o.probs! } : { key: 'logits', value: o.logits! };
}

/** torch's probs_to_logits: probs clamped to [eps, 1 − eps], then log-odds (binary) or log. */
function probsToLogits(p: Tensor, binary: boolean): Tensor {
  return tidy(() => {
    const eps = epsOf(p.dtype as 'float32' | 'float64');
    const ps = clamp(p, eps, 1 - eps);
    return binary ? sub(log(ps), log1p(neg(ps))) : log(ps);
  });
}

/** The Bernoulli distribution on {0, 1} (torch.distributions.Bernoulli): `new Bernoulli({ probs } | { logits })`. */
export class Bernoulli extends Distribution {
  readonly hasEnumerateSupport = true;
  private readonly given: 'probs' | 'logits';
  private readonly param: Tensor;

  constructor(params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    const { key, value } = pickParam('Bernoulli', params);
    this.given = key;
    const p = this.broadcastParams({ [key]: value });
    this.param = p[key];
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { probs: constraints.unitInterval, logits: constraints.real };
  }
  get support(): constraints.Constraint {
    return constraints.boolean;
  }
  /** P(X = 1) (a new tensor). */
  get probs(): Tensor {
    return this.given === 'probs' ? this.param.clone() : sigmoid(this.param);
  }
  /** log(p / (1 − p)), probs clamped to [eps, 1 − eps] as torch. */
  get logits(): Tensor {
    return this.given === 'logits' ? this.param.clone() : probsToLogits(this.param, true);
  }
  get mean(): Tensor {
    return this.probs;
  }
  /** 1 where probs > 0.5, 0 below, NaN at exactly 0.5 (as torch 1.13). */
  get mode(): Tensor {
    return tidy(() => {
      const p = this.probs;
      return where(equal(p, 0.5), NaN, greaterEqual(p, 0.5).cast(this.dtype));
    });
  }
  get variance(): Tensor {
    return tidy(() => {
      const p = this.probs;
      return mul(p, sub(1, p));
    });
  }
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => less(rand(shape, { dtype: this.dtype, device: this.device, seed: options?.seed }), this.probs.detach()).cast(this.dtype));
  }
  /** value·logits − softplus(logits) (−BCEWithLogits, torch's). */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const l = this.logits;
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      return bceNeg(l, v);
    });
  }
  entropy(): Tensor {
    return tidy(() => neg(bceNeg(this.logits, this.probs)));
  }
  enumerateSupport(expand = true): Tensor {
    return tidy(() => {
      const v = reshape(arange(0, 2, 1, { dtype: this.dtype, device: this.device }), [2, ...this.batchShape.map(() => 1)]);
      return expand ? broadcastTo(v, [2, ...this.batchShape]) : v;
    });
  }
  expand(batchShape: readonly number[]): Bernoulli {
    return this.expandWith(batchShape, (grow) => new Bernoulli({ [this.given]: grow(this.param) } as unknown as ProbsOrLogits, { validateArgs: false }));
  }
}

/** −BCEWithLogits(l, v) = v·l − softplus(l), stable for large |l|: v·l − max(l, 0) − log1p(exp(−|l|)). */
function bceNeg(l: Tensor, v: Tensor): Tensor {
  return tidy(() => {
    // softplus(l) = l + softplus(−l); pick the form whose exp cannot overflow, with torch's gradient sigmoid(l).
    const sp = where(greaterEqual(l, 0), add(l, softplusExact(neg(l))), softplusExact(l));
    const t = mul(v, l);
    // 0·(−∞) is 0 (probs 0 or 1 given as logits ∓∞)
    return sub(where(equal(v, 0), 0, t), sp);
  });
}
/** log1p(exp(x)) for x ≤ 0 (no threshold). */
function softplusExact(x: Tensor): Tensor {
  return log1p(exp(x));
}

registerKL(Bernoulli, Bernoulli, (p, q) =>
  tidy(() => {
    const pp = p.probs, qp = q.probs, pl = p.logits, ql = q.logits;
    let t1 = mul(pp, sub(softplus(neg(ql)), softplus(neg(pl))));
    t1 = where(equal(qp, 0), Infinity, t1);
    t1 = where(equal(pp, 0), 0, t1);
    let t2 = mul(sub(1, pp), sub(softplus(ql), softplus(pl)));
    t2 = where(equal(qp, 1), Infinity, t2);
    t2 = where(equal(pp, 1), 0, t2);
    return add(t1, t2);
  }),
);

/**
 * The number of failures before the first success in Bernoulli(probs)
 * trials (torch.distributions.Geometric): `new Geometric({ probs } | { logits })`.
 */
export class Geometric extends Distribution {
  private readonly given: 'probs' | 'logits';
  private readonly param: Tensor;

  constructor(params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    const { key, value } = pickParam('Geometric', params);
    this.given = key;
    const p = this.broadcastParams({ [key]: value });
    this.param = p[key];
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { probs: constraints.unitInterval, logits: constraints.real };
  }
  get support(): constraints.Constraint {
    return constraints.nonnegativeInteger;
  }
  get probs(): Tensor {
    return this.given === 'probs' ? this.param.clone() : sigmoid(this.param);
  }
  get logits(): Tensor {
    return this.given === 'logits' ? this.param.clone() : probsToLogits(this.param, true);
  }
  get mean(): Tensor {
    return tidy(() => sub(div(1, this.probs), 1));
  }
  get mode(): Tensor {
    return tidy(() => mul(this.probs, 0));
  }
  get variance(): Tensor {
    return tidy(() => {
      const p = this.probs;
      return div(sub(div(1, p), 1), p);
    });
  }
  /** ⌊log(u) / log1p(−p)⌋ for u uniform in [tiny, 1) (torch's inverse cdf). */
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const u = rand(shape, { dtype: this.dtype, device: this.device, seed: options?.seed, minval: tinyOf(this.dtype) });
      return floor(div(log(u), log1p(neg(this.probs.detach()))));
    });
  }
  /** k·log1p(−p) + log p, with 0·log1p(−1) taken as 0 (torch's). */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const p = this.probs;
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      const pz = where(mul(equal(p, 1), equal(v, 0)), 0, p);
      return add(mul(v, log1p(neg(pz))), log(p));
    });
  }
  /** BCEWithLogits(logits, probs) / probs. */
  entropy(): Tensor {
    return tidy(() => div(neg(bceNeg(this.logits, this.probs)), this.probs));
  }
  expand(batchShape: readonly number[]): Geometric {
    return this.expandWith(batchShape, (grow) => new Geometric({ [this.given]: grow(this.param) } as unknown as ProbsOrLogits, { validateArgs: false }));
  }
}

registerKL(Geometric, Geometric, (p, q) =>
  tidy(() => sub(sub(neg(p.entropy()), div(log1p(neg(q.probs)), p.probs)), q.logits)),
);

/**
 * The categorical distribution on {0, …, K − 1} (torch.distributions.Categorical):
 * `new Categorical({ probs } | { logits })`, probs [..., K] (normalised along the last
 * axis) or logits [..., K] (normalised by logsumexp). Samples and enumerateSupport are int32.
 */
export class Categorical extends Distribution {
  readonly hasEnumerateSupport = true;
  private readonly given: 'probs' | 'logits';
  /** The normalised parameter, [...batchShape, K]. */
  private readonly param: Tensor;
  /** The number of categories K. */
  readonly numEvents: number;

  constructor(params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    const { key, value } = pickParam('Categorical', params);
    if (!(value instanceof Tensor) || value.rank < 1)
      fail('INVALID_ARGUMENT', `Categorical: ${key} must be a Tensor of at least one dimension [..., K]; got ${describe(value)}`);
    this.given = key;
    const p = this.broadcastParams({ [key]: value }, { eventDims: { [key]: 1 } });
    this.numEvents = value.shape[value.rank - 1];
    if (this.numEvents < 1) fail('INVALID_ARGUMENT', `Categorical: ${key} must have at least one category; got shape [${value.shape.join(', ')}]`);
    const raw = p[key];
    const done = (options as { [NORMALISED]?: boolean } | undefined)?.[NORMALISED] === true;
    this.param = done ? raw : this.own(tidy(() => (key === 'probs' ? div(raw, sum(raw, -1, true)) : sub(raw, logSumExp(raw, -1, true)))));
    this.checkArgs({ [key]: this.param });
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { probs: constraints.simplex, logits: constraints.realVector };
  }
  get support(): constraints.Constraint {
    return constraints.integerInterval(0, this.numEvents - 1);
  }
  /** The normalised probabilities [..., K] (a new tensor). */
  get probs(): Tensor {
    return this.given === 'probs' ? this.param.clone() : softmax(this.param, -1);
  }
  /** The normalised log-probabilities [..., K] (log of probs clamped to [eps, 1 − eps] when built from probs, as torch). */
  get logits(): Tensor {
    return this.given === 'logits' ? this.param.clone() : probsToLogits(this.param, false);
  }
  /** NaN (as torch). */
  get mean(): Tensor {
    return tidy(() => broadcastTo(tensor(NaN, [], { dtype: this.dtype, device: this.device }), this.batchShape).clone());
  }
  /** argmax of probs, int32. */
  get mode(): Tensor {
    return tidy(() => this.probs.argmax(-1));
  }
  /** NaN (as torch). */
  get variance(): Tensor {
    return this.mean;
  }
  /**
   * Inverse cdf: one uniform draw u per sample element, the sample is the number
   * of categories whose cumulative probability is ≤ u (the last category excluded), int32.
   */
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    const K = this.numEvents;
    return tidy(() => {
      const u = rand([...shape, 1], { dtype: this.dtype, device: this.device, seed: options?.seed });
      if (K === 1) return reshape(mul(u, 0), shape).cast('int32');
      const c = cumsum(this.probs.detach(), -1).slice([...this.batchShape.map(() => 0), 0], [...this.batchShape, K - 1]);
      return sum(greaterEqual(u, c).cast('int32'), -1);
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const shape = broadcastShapes([value.shape, this.batchShape])!;
      const idx = broadcastTo(value.dtype === 'int32' ? value : value.cast('int32'), shape).unsqueeze(-1);
      const l = broadcastTo(this.logits, [...shape, this.numEvents]);
      return gather(l, shape.length, idx).squeeze(-1);
    });
  }
  /** −Σ p log p, logits clamped below at the dtype's most negative number (as torch). */
  entropy(): Tensor {
    return tidy(() => neg(sum(mul(clamp(this.logits, minOf(this.dtype)), this.probs), -1)));
  }
  /** 0, …, K − 1 along a new leading axis (int32). */
  enumerateSupport(expand = true): Tensor {
    return tidy(() => {
      const v = reshape(arange(0, this.numEvents, 1, { dtype: 'int32', device: this.device }), [this.numEvents, ...this.batchShape.map(() => 1)]);
      return expand ? broadcastTo(v, [this.numEvents, ...this.batchShape]).clone() : v;
    });
  }
  expand(batchShape: readonly number[]): Categorical {
    return this.expandWith(batchShape, (grow) => new Categorical({ [this.given]: grow(this.param, 1) } as unknown as ProbsOrLogits, { validateArgs: false, [NORMALISED]: true } as DistributionOptions));
  }
  /** @internal The normalised parameter as the constructor's first argument. */
  paramArg(): ProbsOrLogits {
    return { [this.given]: this.param } as unknown as ProbsOrLogits;
  }
}

/** Σ p (log p − log q) with torch's conventions: ∞ where q is 0 and p is not, 0 where p is 0. */
function categoricalKL(p: Categorical, q: Categorical): Tensor {
  return tidy(() => {
    const pp = p.probs, qp = q.probs;
    let t = mul(pp, sub(p.logits, q.logits));
    t = where(equal(qp, 0), Infinity, t);
    t = where(equal(pp, 0), 0, t);
    return sum(t, -1);
  });
}
registerKL(Categorical, Categorical, categoricalKL);

/** One-hot vectors: 0/1 entries summing to 1 along the last axis (torch's constraints.one_hot). */
const oneHotConstraint: constraints.Constraint = new (class extends constraints.Constraint {
  readonly isDiscrete = true;
  readonly eventDim = 1;
  check(value: Tensor): Tensor {
    return tidy(() => {
      const b = constraints.boolean.check(value);
      const allB = equal(sum(b, -1), value.shape[value.rank - 1]);
      return mul(allB, equal(sum(value.cast('float64'), -1), 1)).cast('float32');
    });
  }
  toString(): string {
    return 'OneHot()';
  }
})();

/**
 * Categorical draws as one-hot vectors (torch.distributions.OneHotCategorical):
 * `new OneHotCategorical({ probs } | { logits })`, eventShape [K]; samples have the parameters' dtype.
 */
export class OneHotCategorical extends Distribution {
  readonly hasEnumerateSupport = true;
  /** @internal The categorical distribution over the indices. */
  protected readonly categorical: Categorical;

  constructor(params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    const c = new Categorical(params, options);
    this.categorical = c;
    for (const t of (c as unknown as { owned: Tensor[] }).owned) this.owned.push(t);
    for (const t of (c as unknown as { held: Tensor[] }).held) this.held.push(t);
    this.paramDtype = c.dtype;
    this.paramDevice = c.device;
    this.setShapes(c.batchShape, [c.numEvents]);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return this.categorical.argConstraints;
  }
  get support(): constraints.Constraint {
    return oneHotConstraint;
  }
  get probs(): Tensor {
    return this.categorical.probs;
  }
  get logits(): Tensor {
    return this.categorical.logits;
  }
  get mean(): Tensor {
    return this.categorical.probs;
  }
  get mode(): Tensor {
    return tidy(() => oneHot(this.categorical.mode, this.categorical.numEvents, { dtype: this.dtype }));
  }
  get variance(): Tensor {
    return tidy(() => {
      const p = this.categorical.probs;
      return mul(p, sub(1, p));
    });
  }
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    return tidy(() => oneHot(this.categorical.sample(sampleShape, options), this.categorical.numEvents, { dtype: this.dtype }));
  }
  /** The categorical log-probability of the index of value's largest entry. */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => this.categorical.logProb(value.argmax(-1)));
  }
  entropy(): Tensor {
    return this.categorical.entropy();
  }
  /** The K one-hot vectors along a new leading axis: [K, ...batchShape, K] ([K, 1, …, 1, K] unexpanded). */
  enumerateSupport(expand = true): Tensor {
    const K = this.categorical.numEvents;
    return tidy(() => {
      const v = reshape(oneHot(arange(0, K, 1, { dtype: 'int32', device: this.device }), K, { dtype: this.dtype }), [K, ...this.batchShape.map(() => 1), K]);
      return expand ? broadcastTo(v, [K, ...this.batchShape, K]).clone() : v;
    });
  }
  expand(batchShape: readonly number[]): OneHotCategorical {
    const C = this.constructor as new (p: ProbsOrLogits, o?: DistributionOptions) => OneHotCategorical;
    const arg = this.categorical.paramArg() as unknown as Record<string, Tensor>;
    const key = Object.keys(arg)[0];
    return this.expandWith(batchShape, (grow) => new C({ [key]: grow(arg[key], 1) } as unknown as ProbsOrLogits, { validateArgs: false, [NORMALISED]: true } as DistributionOptions));
  }
}

registerKL(OneHotCategorical, OneHotCategorical, (p, q) =>
  categoricalKL((p as unknown as { categorical: Categorical }).categorical, (q as unknown as { categorical: Categorical }).categorical),
);

/**
 * OneHotCategorical with a straight-through gradient
 * (torch.distributions.OneHotCategoricalStraightThrough): rsample returns the
 * one-hot sample s with the gradient of probs, s + probs − stopGradient(probs).
 */
export class OneHotCategoricalStraightThrough extends OneHotCategorical {
  readonly hasRsample = true;
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    return super.sample(sampleShape, options);
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    return tidy(() => {
      const s = super.sample(sampleShape, options);
      const p = this.categorical.probs;
      return add(s, sub(p, p.detach()));
    });
  }
}
/**
 * The Poisson distribution (torch.distributions.Poisson): `new Poisson(rate)`,
 * P(k) = rateᵏ e^(−rate) / k!. sample() is not implemented yet (it awaits the native
 * Poisson sampler); entropy, cdf and icdf are not implemented in torch 1.13 either.
 */
export class Poisson extends Distribution {
  readonly rate: Tensor;

  constructor(rate: Param, options?: DistributionOptions) {
    super(options);
    const p = this.broadcastParams({ rate });
    this.rate = p.rate;
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { rate: constraints.nonnegative };
  }
  get support(): constraints.Constraint {
    return constraints.nonnegativeInteger;
  }
  get mean(): Tensor {
    return this.rate.clone();
  }
  get mode(): Tensor {
    return floor(this.rate);
  }
  get variance(): Tensor {
    return this.rate.clone();
  }
  sample(_sampleShape: readonly number[] = [], _options?: SampleOptions): Tensor {
    return this.notSupported('sample', ' yet (it awaits the native Poisson sampler)');
  }
  /** xlogy(k, rate) − rate − lgamma(k + 1) (torch's). */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      return sub(sub(xlogy(v, this.rate), this.rate), lgamma(add(v, 1)));
    });
  }
  expand(batchShape: readonly number[]): Poisson {
    return this.expandWith(batchShape, (grow) => new Poisson(grow(this.rate), { validateArgs: false }));
  }
}

registerKL(Poisson, Poisson, (p, q) => tidy(() => sub(mul(p.rate, sub(log(p.rate), log(q.rate))), sub(p.rate, q.rate))));

/** (max(x, 0) + x − min(x, 0)) / 2: x with half the gradient at 0 (torch's _clamp_by_zero). */
function clampByZero(x: Tensor): Tensor {
  return tidy(() => mul(sub(add(clamp(x, 0), x), clamp(x, -Infinity, 0)), 0.5));
}

/**
 * The binomial distribution (torch.distributions.Binomial):
 * `new Binomial(totalCount, { probs } | { logits })`, the number of successes in
 * totalCount Bernoulli(probs) trials. sample() is not implemented yet (it awaits
 * the native binomial sampler); entropy is not implemented (torch's needs one totalCount).
 */
export class Binomial extends Distribution {
  readonly hasEnumerateSupport = true;
  readonly totalCount: Tensor;
  private readonly given: 'probs' | 'logits';
  private readonly param: Tensor;

  constructor(totalCount: Param, params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    const { key, value } = pickParam('Binomial', params);
    this.given = key;
    const p = this.broadcastParams({ totalCount, [key]: value });
    this.totalCount = p.totalCount;
    this.param = p[key];
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { totalCount: constraints.nonnegativeInteger, probs: constraints.unitInterval, logits: constraints.real };
  }
  get support(): constraints.Constraint {
    return constraints.integerInterval(0, this.totalCount);
  }
  get probs(): Tensor {
    return this.given === 'probs' ? this.param.clone() : sigmoid(this.param);
  }
  get logits(): Tensor {
    return this.given === 'logits' ? this.param.clone() : probsToLogits(this.param, true);
  }
  get mean(): Tensor {
    return tidy(() => mul(this.totalCount, this.probs));
  }
  /** ⌊(n + 1) p⌋, at most n (torch's). */
  get mode(): Tensor {
    return tidy(() => minimum(floor(mul(add(this.totalCount, 1), this.probs)), this.totalCount));
  }
  get variance(): Tensor {
    return tidy(() => {
      const p = this.probs;
      return mul(mul(this.totalCount, p), sub(1, p));
    });
  }
  sample(_sampleShape: readonly number[] = [], _options?: SampleOptions): Tensor {
    return this.notSupported('sample', ' yet (it awaits the native binomial sampler)');
  }
  /** torch's form: k·logits − lgamma(k+1) − lgamma(n−k+1) − (n·max(l,0) + n·log1p(e^−|l|) − lgamma(n+1)). */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      const n = this.totalCount, l = this.logits;
      const norm = sub(add(mul(n, clampByZero(l)), mul(n, log1p(exp(neg(abs(l)))))), lgamma(add(n, 1)));
      return sub(sub(sub(mul(v, l), lgamma(add(v, 1))), lgamma(add(sub(n, v), 1))), norm);
    });
  }
  /** 0, …, max(totalCount) along a new leading axis (one totalCount only, as torch). */
  enumerateSupport(expand = true): Tensor {
    const [lo, hi] = tidy(() => readNumbers([this.totalCount.min(), this.totalCount.max()]));
    if (lo !== hi) fail('NOT_SUPPORTED', `Binomial.enumerateSupport: every totalCount must be the same; they range from ${lo} to ${hi}`);
    return tidy(() => {
      const v = reshape(arange(0, hi + 1, 1, { dtype: this.dtype, device: this.device }), [hi + 1, ...this.batchShape.map(() => 1)]);
      return expand ? broadcastTo(v, [hi + 1, ...this.batchShape]).clone() : v;
    });
  }
  expand(batchShape: readonly number[]): Binomial {
    return this.expandWith(batchShape, (grow) => new Binomial(grow(this.totalCount), { [this.given]: grow(this.param) } as unknown as ProbsOrLogits, { validateArgs: false }));
  }
}

/**
 * KL(Binomial ‖ Binomial) for equal totalCount: n·(p(logit p − logit q) + log1p(−p) − log1p(−q));
 * ∞ where p's totalCount exceeds q's. NOT_SUPPORTED where it is smaller (as torch).
 */
registerKL(Binomial, Binomial, (p, q) => {
  const [less0] = tidy(() => readNumbers([less(p.totalCount, q.totalCount).cast('float64').max()]));
  if (less0 === 1) fail('NOT_SUPPORTED', 'klDivergence(Binomial, Binomial): p has a smaller totalCount than q somewhere (not implemented, as torch)');
  return tidy(() => {
    const pp = p.probs;
    const kl = mul(p.totalCount, sub(add(mul(pp, sub(p.logits, q.logits)), log1p(neg(pp))), log1p(neg(q.probs))));
    return where(greater(p.totalCount, q.totalCount), Infinity, kl);
  });
});
/**
 * The multinomial distribution (torch.distributions.Multinomial):
 * `new Multinomial(totalCount, { probs } | { logits })`, the counts of totalCount
 * categorical draws over K classes, eventShape [K]. Samples count Categorical draws
 * (one uniform per draw); entropy is not implemented yet.
 */
export class Multinomial extends Distribution {
  /** The number of draws (an integer, as torch's total_count). */
  readonly totalCount: number;
  /** @internal The categorical distribution of one draw. */
  private readonly categorical: Categorical;

  constructor(totalCount: number, params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    if (typeof totalCount !== 'number' || !Number.isInteger(totalCount) || totalCount < 0)
      fail('INVALID_ARGUMENT', `Multinomial: totalCount must be a nonnegative integer; got ${describe(totalCount)}`);
    this.totalCount = totalCount;
    const c = new Categorical(params, options);
    this.categorical = c;
    for (const t of (c as unknown as { owned: Tensor[] }).owned) this.owned.push(t);
    for (const t of (c as unknown as { held: Tensor[] }).held) this.held.push(t);
    this.paramDtype = c.dtype;
    this.paramDevice = c.device;
    this.setShapes(c.batchShape, [c.numEvents]);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return this.categorical.argConstraints;
  }
  /** Nonnegative integer vectors summing to at most totalCount (torch's constraints.multinomial). */
  get support(): constraints.Constraint {
    const n = this.totalCount;
    return new (class extends constraints.Constraint {
      readonly isDiscrete = true;
      readonly eventDim = 1;
      check(value: Tensor): Tensor {
        return tidy(() => {
          const ok = mul(greaterEqual(value, 0), equal(value, floor(value))).cast('float32');
          return mul(equal(sum(ok, -1), value.shape[value.rank - 1]), less(sum(value.cast('float64'), -1), n + 0.5)).cast('float32');
        });
      }
      toString(): string {
        return `Multinomial(upperBound=${n})`;
      }
    })();
  }
  get probs(): Tensor {
    return this.categorical.probs;
  }
  get logits(): Tensor {
    return this.categorical.logits;
  }
  get mean(): Tensor {
    return tidy(() => mul(this.categorical.probs, this.totalCount));
  }
  get variance(): Tensor {
    return tidy(() => {
      const p = this.categorical.probs;
      return mul(mul(p, sub(1, p)), this.totalCount);
    });
  }
  /** The counts of totalCount Categorical draws per sample (one uniform per draw), the parameters' dtype. */
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    const K = this.categorical.numEvents;
    if (this.totalCount === 0) return tidy(() => broadcastTo(tensor(0, [], { dtype: this.dtype, device: this.device }), shape).clone());
    return tidy(() => {
      const idx = this.categorical.sample([this.totalCount, ...sampleShape], options);
      return sum(oneHot(idx, K, { dtype: this.dtype }), 0);
    });
  }
  /** lgamma(Σx + 1) − Σ lgamma(x + 1) + Σ x·logits, with 0·(−∞) = 0 (torch's). */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      const l = this.categorical.logits;
      const powers = sum(where(equal(v, 0), 0, mul(l, v)), -1);
      return add(sub(lgamma(add(sum(v, -1), 1)), sum(lgamma(add(v, 1)), -1)), powers);
    });
  }
  expand(batchShape: readonly number[]): Multinomial {
    const arg = this.categorical.paramArg() as unknown as Record<string, Tensor>;
    const key = Object.keys(arg)[0];
    return this.expandWith(batchShape, (grow) => new Multinomial(this.totalCount, { [key]: grow(arg[key], 1) } as unknown as ProbsOrLogits, { validateArgs: false, [NORMALISED]: true } as DistributionOptions));
  }
}
/**
 * The negative binomial distribution (torch.distributions.NegativeBinomial):
 * `new NegativeBinomial(totalCount, { probs } | { logits })`, the number of successes
 * (probability probs each) before totalCount failures, P(k) = Γ(k + r) / (k! Γ(r)) (1 − p)^r p^k.
 * sample() is not implemented yet (torch's is a Poisson of a gamma draw: it awaits
 * the gamma and Poisson samplers); entropy, cdf and icdf are not implemented (as torch).
 */
export class NegativeBinomial extends Distribution {
  readonly totalCount: Tensor;
  private readonly given: 'probs' | 'logits';
  private readonly param: Tensor;

  constructor(totalCount: Param, params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    const { key, value } = pickParam('NegativeBinomial', params);
    this.given = key;
    const p = this.broadcastParams({ totalCount, [key]: value });
    this.totalCount = p.totalCount;
    this.param = p[key];
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { totalCount: constraints.nonnegative, probs: constraints.halfOpenInterval(0, 1), logits: constraints.real };
  }
  get support(): constraints.Constraint {
    return constraints.nonnegativeInteger;
  }
  get probs(): Tensor {
    return this.given === 'probs' ? this.param.clone() : sigmoid(this.param);
  }
  get logits(): Tensor {
    return this.given === 'logits' ? this.param.clone() : probsToLogits(this.param, true);
  }
  /** totalCount · e^logits. */
  get mean(): Tensor {
    return tidy(() => mul(this.totalCount, exp(this.logits)));
  }
  /** ⌊(totalCount − 1) e^logits⌋, at least 0. */
  get mode(): Tensor {
    return tidy(() => clamp(floor(mul(sub(this.totalCount, 1), exp(this.logits))), 0));
  }
  /** mean / sigmoid(−logits). */
  get variance(): Tensor {
    return tidy(() => div(this.mean, sigmoid(neg(this.logits))));
  }
  sample(_sampleShape: readonly number[] = [], _options?: SampleOptions): Tensor {
    return this.notSupported('sample', ' yet (it awaits the gamma and Poisson samplers)');
  }
  /** r·logσ(−l) + k·logσ(l) + lgamma(r + k) − lgamma(k + 1) − lgamma(r), the normaliser 0 where r + k = 0 (torch's). */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      const r = this.totalCount, l = this.logits;
      const un = add(mul(r, logSigmoid(neg(l))), mul(v, logSigmoid(l)));
      const rv = add(r, v);
      const norm = where(equal(rv, 0), 0, add(add(neg(lgamma(rv)), lgamma(add(v, 1))), lgamma(r)));
      return sub(un, norm);
    });
  }
  expand(batchShape: readonly number[]): NegativeBinomial {
    return this.expandWith(batchShape, (grow) => new NegativeBinomial(grow(this.totalCount), { [this.given]: grow(this.param) } as unknown as ProbsOrLogits, { validateArgs: false }));
  }
}
// ---- end helper C
