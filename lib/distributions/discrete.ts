/**
 * Discrete and relaxed distributions (torch.distributions): Bernoulli,
 * Categorical, OneHotCategorical, OneHotCategoricalStraightThrough,
 * Binomial, Multinomial, Geometric, Poisson, ContinuousBernoulli,
 * RelaxedBernoulli, LogitRelaxedBernoulli, RelaxedOneHotCategorical,
 * ExpRelaxedCategorical.
 */
import { Tensor, arange, rand, tensor } from '../tensor';
import { tidy } from '../engine';
import { fail } from '../errors';
import { describe } from '../validate';
import { abs, add, broadcastTo, clamp, div, equal, exp, floor, greater, greaterEqual, less, lessEqual, log, log1p, minimum, mul, neg, pow, readNumbers, reshape, sigmoid, softplus, square, sub, sum, where } from '../ops/core';
import { lgamma, xlogy } from '../ops/pointwise';
import { logicalAnd, softplusStable } from '../ops/extra';
import { all, logSumExp } from '../ops/reductions';
import { softmax } from '../ops/nn';
import { gather, oneHot } from '../ops/indexing';
import { cumsum } from '../ops/core';
import { broadcastShapes } from '../validate';
import { searchsorted } from '../ops/selection';
import { Distribution, type DistributionOptions, type Param, type SampleOptions } from './distribution';
import * as constraints from './constraints';
import { registerKL } from './kl';
import { clampProbs, finfo } from './util';
import { binomial, poisson, standardGamma } from '../ops/random-special';

/** `{ probs }` or `{ logits }` (exactly one), as torch's probs=/logits= keywords. */
export type ProbsOrLogits = { probs: Param; logits?: undefined } | { logits: Param; probs?: undefined };


/** @internal Marks options of a Categorical built from an already normalised parameter (expand). */
const NORMALISED = Symbol('normalised');

/** log n! for a nonnegative integer n (a host number). */
function logFactorial(n: number): number {
  let acc = 0;
  for (let k = 2; k <= n; k++) acc += Math.log(k);
  return acc;
}

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
    const eps = finfo(p.dtype).eps;
    const ps = clamp(p, eps, 1 - eps);
    return binary ? sub(log(ps), log1p(neg(ps))) : log(ps);
  });
}

/**
 * The base of the distributions parametrised by one success probability,
 * given as `{ probs }` or `{ logits }` (Bernoulli, Geometric, Binomial,
 * NegativeBinomial, LogitRelaxedBernoulli, ContinuousBernoulli): the choice,
 * its broadcasting and checks, and the `probs`/`logits` getters. Not a
 * distribution of its own (torch has no such class).
 */
export abstract class BinaryProbs extends Distribution {
  /** @internal Which of probs/logits was given. */
  protected given: 'probs' | 'logits' = 'probs';
  /** @internal The given one, broadcast. */
  protected param!: Tensor;

  /**
   * @internal Takes `{ probs }` or `{ logits }` (exactly one), broadcasts it
   * with the other parameters, checks them all, and returns them broadcast.
   */
  protected initProbs(params: unknown, others: Record<string, Param> = {}): Record<string, Tensor> {
    const { key, value } = pickParam(this.name, params);
    this.given = key;
    const p = this.broadcastParams({ ...others, [key]: value });
    this.param = p[key];
    this.checkArgs(p);
    return p;
  }
  /** P(success) (a new tensor). */
  get probs(): Tensor {
    return this.given === 'probs' ? this.param.clone() : sigmoid(this.param);
  }
  /** log(p / (1 − p)), probs clamped to [eps, 1 − eps] as torch (a new tensor). */
  get logits(): Tensor {
    return this.given === 'logits' ? this.param.clone() : probsToLogits(this.param, true);
  }
}

/** The Bernoulli distribution on {0, 1} (torch.distributions.Bernoulli): `new Bernoulli({ probs } | { logits })`. */
export class Bernoulli extends BinaryProbs {
  readonly hasEnumerateSupport = true;

  constructor(params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    this.initProbs(params);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { probs: constraints.unitInterval, logits: constraints.real };
  }
  get support(): constraints.Constraint {
    return constraints.boolean;
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

/**
 * −BCEWithLogits(l, v) = v·l − softplus(l), stable for large |l| and exact at l = ±∞:
 * −[(1 − v)·softplus(l) + v·softplus(−l)], each product 0 where its factor v or 1 − v is 0 and the softplus ∞ (the limit
 * l → ±∞ of v·l − softplus(l): 0 at v = 1, l = +∞ and at v = 0, l = −∞, −∞ elsewhere; torch 1.13 gives NaN there).
 */
function bceNeg(l: Tensor, v: Tensor): Tensor {
  return tidy(() => {
    // no exp can overflow (softplusStable); gradient v − sigmoid(l), second derivative −sigmoid′(l) (also at l = 0), 0 at
    // the exact limits above. Only the 0·∞ products are masked: at v = 1 (0) with l finite the gradient in v stays l
    // (torch's; Bernoulli/Geometric entropy given probs 1 or 0 differentiates through v with the clamped logits).
    const up = mul(sub(1, v), where(logicalAnd(equal(v, 1), equal(l, Infinity)), 0, softplusStable(l)));
    const down = mul(v, where(logicalAnd(equal(v, 0), equal(l, -Infinity)), 0, softplusStable(neg(l))));
    return neg(add(up, down));
  });
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
export class Geometric extends BinaryProbs {

  /** probs must be in (0, 1] (torch 1.13 checks probs > 0 beyond unitInterval); logits any real. */
  constructor(params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    this.initProbs(params);
    if (this.validateArgs && this.given === 'probs') {
      const [ok] = tidy(() => readNumbers([all(greater(this.param, 0)).cast('float64')]));
      if (ok !== 1) fail('INVALID_ARGUMENT', `Geometric: probs (shape [${this.param.shape.join(', ')}]) must be positive (as torch); some of its values are 0`);
    }
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { probs: constraints.unitInterval, logits: constraints.real };
  }
  get support(): constraints.Constraint {
    return constraints.nonnegativeInteger;
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
      const u = rand(shape, { dtype: this.dtype, device: this.device, seed: options?.seed, minval: finfo(this.dtype).tiny });
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
   * of categories whose cumulative probability is ≤ u (the last category excluded), int32,
   * found by a binary search per draw (searchsorted): O(samples·log K) time and
   * O(samples + batch·K) memory, as torch.multinomial (no [samples, K] comparison).
   */
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    const K = this.numEvents;
    const S = sampleShape.reduce((a, b) => a * b, 1);
    const B = this.batchShape.reduce((a, b) => a * b, 1);
    return tidy(() => {
      const u = rand([S, B], { dtype: this.dtype, device: this.device, seed: options?.seed });
      if (K === 1 || S * B === 0) return reshape(mul(u, 0), shape).cast('int32');
      const c = reshape(cumsum(this.probs.detach(), -1).slice([...this.batchShape.map(() => 0), 0], [...this.batchShape, K - 1]), [B, K - 1]);
      return reshape(searchsorted(c, u.transpose(0, 1), { right: true }).transpose(0, 1), shape);
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
    return tidy(() => neg(sum(mul(clamp(this.logits, finfo(this.dtype).min), this.probs), -1)));
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
    this.adopt(c, [c.numEvents]);
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
 * P(k) = rateᵏ e^(−rate) / k!. sample() draws with the native `poisson` sampler; entropy,
 * cdf and icdf are not implemented (as torch 1.13).
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
  /** torch.poisson(rate) per element of [...sampleShape, ...batchShape] (counts in the parameters' dtype). */
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => poisson(broadcastTo(this.rate.detach(), shape), { seed: options?.seed }));
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


/**
 * The binomial distribution (torch.distributions.Binomial):
 * `new Binomial(totalCount, { probs } | { logits })`, the number of successes in
 * totalCount Bernoulli(probs) trials. sample() draws with the native `binomial` sampler;
 * entropy sums over the support, and needs one totalCount everywhere (as torch 1.13).
 */
export class Binomial extends BinaryProbs {
  readonly hasEnumerateSupport = true;
  readonly totalCount: Tensor;

  constructor(totalCount: Param, params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    this.totalCount = this.initProbs(params, { totalCount }).totalCount;
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { totalCount: constraints.nonnegativeInteger, probs: constraints.unitInterval, logits: constraints.real };
  }
  get support(): constraints.Constraint {
    return constraints.integerInterval(0, this.totalCount);
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
  /** torch.binomial(totalCount, probs) per element of [...sampleShape, ...batchShape] (counts in the parameters' dtype). */
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => binomial(broadcastTo(this.totalCount.detach(), shape), broadcastTo(this.probs.detach(), shape), { seed: options?.seed }));
  }
  /**
   * −Σₖ P(k) log P(k) over k = 0 … totalCount (torch 1.13's: NOT_SUPPORTED unless totalCount is the
   * same everywhere; one device read).
   */
  entropy(): Tensor {
    const [lo, hi] = tidy(() => readNumbers([this.totalCount.min(), this.totalCount.max()]));
    if (lo !== hi) fail('NOT_SUPPORTED', `Binomial.entropy: every totalCount must be the same (as torch); they range from ${lo} to ${hi}`);
    return tidy(() => {
      const lp = this.logProbUnchecked(this.supportValues(0, hi));
      return neg(sum(mul(exp(lp), lp), 0));
    });
  }
  /** @internal lo, …, hi as [hi − lo + 1, 1, …, 1] (batch rank ones). */
  supportValues(lo: number, hi: number): Tensor {
    return tidy(() => reshape(arange(lo, hi + 1, 1, { dtype: this.dtype, device: this.device }), [hi - lo + 1, ...this.batchShape.map(() => 1)]));
  }
  /** torch's form: k·logits − lgamma(k+1) − lgamma(n−k+1) − (n·max(l,0) + n·log1p(e^−|l|) − lgamma(n+1)). */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return this.logProbUnchecked(value);
  }
  /** @internal logProb without the value checks. */
  logProbUnchecked(value: Tensor): Tensor {
    return tidy(() => {
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      const n = this.totalCount, l = this.logits;
      const norm = sub(mul(n, softplusStable(l)), lgamma(add(n, 1)));
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
 * (one uniform per draw); entropy as torch 1.13 (the marginal binomials' sums).
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
    this.adopt(c, [c.numEvents]);
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
  /**
   * torch 1.13's: n·H(Categorical) − lgamma(n + 1) + Σₖ₌₁ⁿ Σᵢ Binomial(n, pᵢ).P(k)·lgamma(k + 1)
   * (the marginal counts' binomials, built from probs).
   */
  entropy(): Tensor {
    const n = this.totalCount;
    return tidy(() => {
      const term1 = sub(mul(this.categorical.entropy(), n), logFactorial(n));
      if (n === 0) return term1;
      const bin = new Binomial(n, { probs: this.categorical.probs }, { validateArgs: false });
      try {
        const k = bin.supportValues(1, n);
        const term2 = sum(sum(mul(exp(bin.logProbUnchecked(k)), lgamma(add(k, 1))), 0), -1);
        return add(term1, term2);
      } finally {
        bin.dispose();
      }
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
 * sample() is torch's Poisson of a gamma draw, poisson(standardGamma(totalCount)·e^logits);
 * entropy, cdf and icdf are not implemented (as torch).
 */
export class NegativeBinomial extends BinaryProbs {
  readonly totalCount: Tensor;

  constructor(totalCount: Param, params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    this.totalCount = this.initProbs(params, { totalCount }).totalCount;
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { totalCount: constraints.nonnegative, probs: constraints.halfOpenInterval(0, 1), logits: constraints.real };
  }
  get support(): constraints.Constraint {
    return constraints.nonnegativeInteger;
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
  /**
   * poisson(G·e^logits) with G ~ Gamma(totalCount, 1) from standardGamma (torch's Poisson(Gamma(totalCount,
   * rate = e^−logits))); 0 where totalCount is 0. The gamma and Poisson draws use disjoint Philox streams
   * for one seed.
   */
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const r = broadcastTo(this.totalCount.detach(), shape);
      const g = standardGamma(where(greater(r, 0), r, 1), { seed: options?.seed });
      const rate = where(greater(r, 0), mul(g, exp(broadcastTo(this.logits.detach(), shape))), 0);
      return poisson(rate, { seed: options?.seed });
    });
  }
  /** r·logσ(−l) + k·logσ(l) + lgamma(r + k) − lgamma(k + 1) − lgamma(r), the normaliser 0 where r + k = 0 (torch's). */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      const r = this.totalCount, l = this.logits;
      // r·logσ(−l) + v·logσ(l), logσ(x) = −softplus(−x) (smooth at 0: the second derivative −(r + v)σ′(0) there, as torch)
      const un = neg(add(mul(r, softplusStable(l)), mul(v, softplusStable(neg(l)))));
      const rv = add(r, v);
      const norm = where(equal(rv, 0), 0, add(add(neg(lgamma(rv)), lgamma(add(v, 1))), lgamma(r)));
      return sub(un, norm);
    });
  }
  expand(batchShape: readonly number[]): NegativeBinomial {
    return this.expandWith(batchShape, (grow) => new NegativeBinomial(grow(this.totalCount), { [this.given]: grow(this.param) } as unknown as ProbsOrLogits, { validateArgs: false }));
  }
}

/**
 * The logit of a relaxed Bernoulli variable (torch.distributions.LogitRelaxedBernoulli):
 * `new LogitRelaxedBernoulli(temperature, { probs } | { logits })`, X = (logit U + logits)/temperature with
 * U ~ Uniform(0, 1) (a logistic distribution of location logits/temperature and scale 1/temperature). rsample
 * as torch (U and probs clamped to [eps, 1 − eps]); logProb log T + d − 2 log(1 + eᵈ), d = logits − T·x
 * (written without overflow). temperature is broadcast with the parameter (torch keeps it outside batchShape).
 */
export class LogitRelaxedBernoulli extends BinaryProbs {
  readonly hasRsample = true;
  readonly temperature: Tensor;

  constructor(temperature: Param, params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    this.temperature = this.initProbs(params, { temperature }).temperature;
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { temperature: constraints.positive, probs: constraints.unitInterval, logits: constraints.real };
  }
  get support(): constraints.Constraint {
    return constraints.real;
  }
  /** (log u − log1p(−u) + log p − log1p(−p)) / temperature, u and p clamped to [eps, 1 − eps] (torch's). */
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const p = clampProbs(broadcastTo(this.probs, shape));
      const u = clampProbs(rand(shape, { dtype: this.dtype, device: this.device, seed: options?.seed }));
      return div(add(sub(log(u), log1p(neg(u))), sub(log(p), log1p(neg(p)))), this.temperature);
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return this.logProbUnchecked(value);
  }
  /** @internal */
  logProbUnchecked(value: Tensor): Tensor {
    return tidy(() => {
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      const d = sub(this.logits, mul(v, this.temperature));
      return sub(add(log(this.temperature), d), mul(softplusStable(d), 2));
    });
  }
  expand(batchShape: readonly number[]): LogitRelaxedBernoulli {
    return this.expandWith(batchShape, (grow) => new LogitRelaxedBernoulli(grow(this.temperature), { [this.given]: grow(this.param) } as unknown as ProbsOrLogits, { validateArgs: false }));
  }
}

/**
 * The relaxed Bernoulli (Concrete) distribution on (0, 1) (torch.distributions.RelaxedBernoulli):
 * `new RelaxedBernoulli(temperature, { probs } | { logits })`, sigmoid of a LogitRelaxedBernoulli. rsample
 * is sigmoid(x) clamped to [tiny, 1 − eps] (torch's SigmoidTransform); logProb(y) =
 * LogitRelaxedBernoulli.logProb(x) + softplus(x) + softplus(−x), x = logit(y) with y clamped to [tiny, 1 − eps].
 */
export class RelaxedBernoulli extends Distribution {
  readonly hasRsample = true;
  /** The distribution of logit(X). */
  readonly baseDist: LogitRelaxedBernoulli;

  constructor(temperature: Param, params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    const b = new LogitRelaxedBernoulli(temperature, params, options);
    this.baseDist = b;
    this.adopt(b, []);
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return this.baseDist.argConstraints;
  }
  get support(): constraints.Constraint {
    return constraints.unitInterval;
  }
  get temperature(): Tensor {
    return this.baseDist.temperature.clone();
  }
  get probs(): Tensor {
    return this.baseDist.probs;
  }
  get logits(): Tensor {
    return this.baseDist.logits;
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    return tidy(() => {
      const y = sigmoid(this.baseDist.rsample(sampleShape, options));
      return clamp(y, finfo(this.dtype).tiny, 1 - finfo(this.dtype).eps);
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      const y = clamp(v, finfo(this.dtype).tiny, 1 - finfo(this.dtype).eps);
      const x = sub(log(y), log1p(neg(y)));
      return add(this.baseDist.logProbUnchecked(x), add(softplusStable(x), softplusStable(neg(x))));
    });
  }
  expand(batchShape: readonly number[]): RelaxedBernoulli {
    const b = this.baseDist as unknown as { given: 'probs' | 'logits'; param: Tensor; temperature: Tensor };
    return this.expandWith(batchShape, (grow) => new RelaxedBernoulli(grow(b.temperature), { [b.given]: grow(b.param) } as unknown as ProbsOrLogits, { validateArgs: false }));
  }
}

/**
 * The log of a relaxed one-hot categorical variable (torch.distributions.ExpRelaxedCategorical):
 * `new ExpRelaxedCategorical(temperature, { probs } | { logits })`, eventShape [K], support real vectors.
 * rsample: s = (logits + G)/temperature with Gumbel noise G = −log(−log U) (U clamped to [eps, 1 − eps]),
 * then s − logsumexp(s). logProb(x) = lgamma(K) + (K − 1) log T + Σ(z − logsumexp(z)), z = logits − T·x
 * (torch's). temperature broadcasts against [..., K] as in torch (a number or a scalar tensor is the usual use).
 */
export class ExpRelaxedCategorical extends Distribution {
  readonly hasRsample = true;
  readonly temperature: Tensor;
  /** @internal The categorical distribution of the parameters (normalised). */
  protected readonly categorical: Categorical;

  constructor(temperature: Param, params: ProbsOrLogits, options?: DistributionOptions) {
    super(options);
    const c = new Categorical(params, options);
    this.categorical = c;
    this.adopt(c, [c.numEvents]);
    this.temperature = this.temperatureTensor(temperature, c.dtype, c.device, new.target.name);
    if (this.temperature === temperature) this.held.push(temperature);
    if (this.validateArgs) {
      const [ok] = tidy(() => readNumbers([greater(this.temperature, 0).cast('float64').min()]));
      if (ok !== 1) fail('INVALID_ARGUMENT', `${new.target.name}: temperature must satisfy the constraint GreaterThan(lowerBound=0); some of its values do not`);
    }
  }
  /** The temperature as a tensor of the parameters' dtype and device (a number becomes a scalar the distribution owns). */
  private temperatureTensor(temperature: Param, dtype: 'float32' | 'float64', device: string, name: string): Tensor {
    if (typeof temperature === 'number') return this.own(tensor(temperature, [], { dtype, device }));
    if (!(temperature instanceof Tensor)) fail('INVALID_ARGUMENT', `${name}: temperature must be a Tensor or a number; got ${describe(temperature)}`);
    if (temperature.device !== device) fail('DEVICE_MISMATCH', `${name}: temperature is on ${temperature.device} but the parameter on ${device}`);
    return temperature.dtype === dtype ? temperature : this.own(temperature.cast(dtype));
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return this.categorical.argConstraints;
  }
  get support(): constraints.Constraint {
    return constraints.realVector;
  }
  get probs(): Tensor {
    return this.categorical.probs;
  }
  get logits(): Tensor {
    return this.categorical.logits;
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => {
      const u = clampProbs(rand(shape, { dtype: this.dtype, device: this.device, seed: options?.seed }));
      const g = neg(log(neg(log(u))));
      const s = div(add(this.categorical.logits, g), this.temperature);
      return sub(s, logSumExp(s, -1, true));
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return this.logProbUnchecked(value);
  }
  /** @internal */
  logProbUnchecked(value: Tensor): Tensor {
    const K = this.categorical.numEvents;
    return tidy(() => {
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      const T = this.temperature;
      const logScale = add(mul(log(T), K - 1), logFactorial(K - 1));
      const z = sub(this.categorical.logits, mul(v, T));
      return add(sum(sub(z, logSumExp(z, -1, true)), -1), logScale);
    });
  }
  expand(batchShape: readonly number[]): ExpRelaxedCategorical {
    const arg = this.categorical.paramArg() as unknown as Record<string, Tensor>;
    const key = Object.keys(arg)[0];
    const Ctor = this.constructor as new (t: Param, p: ProbsOrLogits, o?: DistributionOptions) => ExpRelaxedCategorical;
    return this.expandWith(batchShape, (grow) => new Ctor(this.temperature, { [key]: grow(arg[key], 1) } as unknown as ProbsOrLogits, { validateArgs: false, [NORMALISED]: true } as DistributionOptions));
  }
}

/**
 * The relaxed one-hot categorical (Concrete / Gumbel-softmax) distribution on the simplex
 * (torch.distributions.RelaxedOneHotCategorical): `new RelaxedOneHotCategorical(temperature, { probs } | { logits })`,
 * eventShape [K]; exp of an ExpRelaxedCategorical. rsample = softmax((logits + G)/temperature);
 * logProb(y) = ExpRelaxedCategorical.logProb(log y) − Σ log y (torch's ExpTransform Jacobian).
 */
export class RelaxedOneHotCategorical extends ExpRelaxedCategorical {
  get support(): constraints.Constraint {
    return constraints.simplex;
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    return tidy(() => exp(super.rsample(sampleShape, options)));
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const x = log(value.dtype === this.dtype ? value : value.cast(this.dtype));
      return sub(this.logProbUnchecked(x), sum(x, -1));
    });
  }
  expand(batchShape: readonly number[]): RelaxedOneHotCategorical {
    return super.expand(batchShape) as RelaxedOneHotCategorical;
  }
}

/**
 * The continuous Bernoulli distribution on [0, 1] (torch.distributions.ContinuousBernoulli, Loaiza-Ganem &
 * Cunningham 2019): `new ContinuousBernoulli({ probs } | { logits }, { lims?: [lo, hi], validateArgs? })`,
 * density C(λ) λˣ (1 − λ)¹⁻ˣ. As torch 1.13: probs are clamped to [eps, 1 − eps] (after validation);
 * inside lims (default [0.499, 0.501]) the log normaliser, mean and variance use torch's Taylor expansions
 * about 1/2 and cdf/icdf the uniform's; rsample is icdf of a uniform draw.
 */
export class ContinuousBernoulli extends BinaryProbs {
  readonly hasRsample = true;
  /** The interval about 1/2 where the Taylor expansions replace the closed forms. */
  readonly lims: [number, number];

  constructor(params: ProbsOrLogits, options?: DistributionOptions & { lims?: [number, number] }) {
    super(options);
    const lims = options?.lims ?? [0.499, 0.501];
    if (!Array.isArray(lims) || lims.length !== 2 || !lims.every((x) => typeof x === 'number' && x >= 0 && x <= 1) || !(lims[0] <= lims[1]))
      fail('INVALID_ARGUMENT', `ContinuousBernoulli: lims must be [lo, hi] with 0 ≤ lo ≤ hi ≤ 1; got ${describe(lims)}`);
    this.lims = [lims[0], lims[1]];
    const p = this.initProbs(params);
    if (this.given === 'probs') this.param = this.own(tidy(() => clampProbs(p.probs)));
  }
  get argConstraints(): Record<string, constraints.Constraint> {
    return { probs: constraints.unitInterval, logits: constraints.real };
  }
  get support(): constraints.Constraint {
    return constraints.unitInterval;
  }
  /** probs clamped to [eps, 1 − eps] (from logits: sigmoid, clamped). */
  get probs(): Tensor {
    return this.given === 'probs' ? this.param.clone() : tidy(() => clampProbs(sigmoid(this.param)));
  }
  get logits(): Tensor {
    return this.given === 'logits' ? this.param.clone() : probsToLogits(this.param, true);
  }
  /** probs outside [lo, hi] (1) or inside (0), and probs cut to lo inside. */
  private region(p: Tensor): { outside: Tensor; cut: Tensor } {
    const outside = add(lessEqual(p, this.lims[0]).cast(this.dtype), greater(p, this.lims[1]).cast(this.dtype));
    const o = greater(outside, 0);
    return { outside: o, cut: where(o, p, this.lims[0]) };
  }
  /** @internal torch's _cont_bern_log_norm: log C(λ), the Taylor expansion log 2 + (4/3 + 104/45 x) x, x = (λ − 1/2)², inside lims. */
  logNormaliser(): Tensor {
    return tidy(() => {
      const p = this.probs;
      const { outside, cut } = this.region(p);
      const below = where(lessEqual(cut, 0.5), cut, 0);
      const above = where(greaterEqual(cut, 0.5), cut, 1);
      const logNorm = sub(log(abs(sub(log1p(neg(cut)), log(cut)))), where(lessEqual(cut, 0.5), log1p(mul(below, -2)), log(sub(mul(above, 2), 1))));
      const x = square(sub(p, 0.5));
      const taylor = add(mul(add(mul(x, 104 / 45), 4 / 3), x), Math.LN2);
      return where(outside, logNorm, taylor);
    });
  }
  get mean(): Tensor {
    return tidy(() => {
      const p = this.probs;
      const { outside, cut } = this.region(p);
      const mus = add(div(cut, sub(mul(cut, 2), 1)), div(1, sub(log1p(neg(cut)), log(cut))));
      const x = sub(p, 0.5);
      const taylor = add(mul(add(mul(square(x), 16 / 45), 1 / 3), x), 0.5);
      return where(outside, mus, taylor);
    });
  }
  get variance(): Tensor {
    return tidy(() => {
      const p = this.probs;
      const { outside, cut } = this.region(p);
      const vars = add(div(mul(cut, sub(cut, 1)), square(sub(1, mul(cut, 2)))), div(1, square(sub(log1p(neg(cut)), log(cut)))));
      const x = square(sub(p, 0.5));
      const taylor = sub(1 / 12, mul(sub(1 / 15, mul(x, 128 / 945)), x));
      return where(outside, vars, taylor);
    });
  }
  /** icdf of uniform draws (differentiable w.r.t. the parameter). */
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    return tidy(() => this.icdfUnchecked(rand(shape, { dtype: this.dtype, device: this.device, seed: options?.seed })));
  }
  /** −BCEWithLogits(logits, x) + log C (torch's; at logits ±∞ the limit: log C at x = 1 resp. 0, −∞ elsewhere, where torch 1.13 gives NaN at some). */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      return add(bceNeg(this.logits, v), this.logNormaliser());
    });
  }
  /** (λˣ (1 − λ)¹⁻ˣ + λ − 1)/(2λ − 1), x inside lims; 0 at x ≤ 0 and 1 at x ≥ 1 (torch's). */
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => {
      const v = value.dtype === this.dtype ? value : value.cast(this.dtype);
      const { outside, cut } = this.region(this.probs);
      const cdfs = div(add(mul(pow(cut, v), pow(sub(1, cut), sub(1, v))), sub(cut, 1)), sub(mul(cut, 2), 1));
      const unbounded = where(outside, cdfs, v);
      return where(lessEqual(v, 0), 0, where(greaterEqual(v, 1), 1, unbounded));
    });
  }
  /** (log1p(−λ + u(2λ − 1)) − log1p(−λ)) / (log λ − log1p(−λ)), u inside lims (torch's; not validated, as torch). */
  icdf(value: Tensor): Tensor {
    if (!(value instanceof Tensor)) fail('INVALID_ARGUMENT', `ContinuousBernoulli.icdf: value must be a Tensor; got ${describe(value)}`);
    return this.icdfUnchecked(value);
  }
  private icdfUnchecked(value: Tensor): Tensor {
    return tidy(() => {
      const u = value.dtype === this.dtype ? value : value.cast(this.dtype);
      const { outside, cut } = this.region(this.probs);
      const l1 = log1p(neg(cut));
      const q = div(sub(log1p(add(neg(cut), mul(u, sub(mul(cut, 2), 1)))), l1), sub(log(cut), l1));
      return where(outside, q, u);
    });
  }
  /** mean·(log(1 − λ) − log λ) − log C − log(1 − λ) (torch's). */
  entropy(): Tensor {
    return tidy(() => {
      const p = this.probs;
      const l0 = log1p(neg(p)), l1 = log(p);
      return sub(sub(mul(this.mean, sub(l0, l1)), this.logNormaliser()), l0);
    });
  }
  expand(batchShape: readonly number[]): ContinuousBernoulli {
    return this.expandWith(batchShape, (grow) => new ContinuousBernoulli({ [this.given]: grow(this.param) } as unknown as ProbsOrLogits, { validateArgs: false, lims: this.lims }));
  }
}

/** KL(ContinuousBernoulli ‖ ContinuousBernoulli) = mean_p (logit p − logit q) + log C_p + log(1 − p) − log C_q − log(1 − q) (torch's). */
registerKL(ContinuousBernoulli, ContinuousBernoulli, (p, q) =>
  tidy(() => {
    const t1 = mul(p.mean, sub(p.logits, q.logits));
    const t2 = add(p.logNormaliser(), log1p(neg(p.probs)));
    const t3 = sub(neg(q.logNormaliser()), log1p(neg(q.probs)));
    return add(add(t1, t2), t3);
  }),
);
