/**
 * Specs (reference formulas, float64) of the discrete family of antler.distributions,
 * for test/distributions-harness.ts. Not a test file.
 */
import * as antler from '../lib';
import type { Spec } from './distributions-harness';
import { lgammaRef } from './helpers';

const D = antler.distributions;

/** Bernoulli(probs): P(1) = p, P(0) = 1 − p. */
export const bernoulliSpec: Spec = {
  name: 'Bernoulli',
  kind: 'discrete',
  params: (rng) => ({ probs: rng.uniform(0.05, 0.95) }),
  build: (p, o) => new D.Bernoulli({ probs: p.probs }, o),
  logPmf: ({ probs }, k) => (k === 0 ? Math.log(1 - probs) : k === 1 ? Math.log(probs) : -Infinity),
  range: () => [0, 1],
  mode: ({ probs }) => (probs > 0.5 ? 1 : probs < 0.5 ? 0 : NaN),
  bad: [{ probs: -0.1 }, { probs: 1.5 }],
  lacks: ['cdf', 'icdf'],
};

/** Geometric(probs): failures before the first success, P(k) = (1 − p)^k p. */
export const geometricSpec: Spec = {
  name: 'Geometric',
  kind: 'discrete',
  params: (rng) => ({ probs: rng.uniform(0.2, 0.9) }),
  build: (p, o) => new D.Geometric({ probs: p.probs }, o),
  logPmf: ({ probs }, k) => (k >= 0 && Number.isInteger(k) ? k * Math.log(1 - probs) + Math.log(probs) : -Infinity),
  range: ({ probs }) => [0, Math.ceil(Math.log(1e-16) / Math.log(1 - probs))],
  mode: () => 0,
  bad: [{ probs: -0.1 }, { probs: 1.5 }],
  lacks: ['cdf', 'icdf'],
};

/** Categorical over 3 classes with unnormalised weights p0, p1, p2: P(k) = pk / Σ p. */
export const categoricalSpec: Spec = {
  name: 'Categorical',
  kind: 'discrete',
  params: (rng) => ({ p0: rng.uniform(0.1, 1), p1: rng.uniform(0.1, 1), p2: rng.uniform(0.1, 1) }),
  build: (p, o) => {
    const probs = antler.stack([p.p0, p.p1, p.p2], -1);
    const d = new D.Categorical({ probs }, o);
    // the stacked weights are the spec's: the distribution frees them with its own tensors
    (d as unknown as { owned: antler.Tensor[] }).owned.push(probs);
    return d;
  },
  logPmf: ({ p0, p1, p2 }, k) => (k === 0 || k === 1 || k === 2 ? Math.log([p0, p1, p2][k] / (p0 + p1 + p2)) : -Infinity),
  range: () => [0, 2],
  moments: () => ({ mean: NaN, variance: NaN }),
  mode: ({ p0, p1, p2 }) => [p0, p1, p2].indexOf(Math.max(p0, p1, p2)),
  bad: [{ p0: -0.5 }],
  lacks: ['cdf', 'icdf'],
  sampleDtype: 'int32',
};
/** Poisson(rate): P(k) = rateᵏ e^(−rate) / k!. */
export const poissonSpec: Spec = {
  name: 'Poisson',
  kind: 'discrete',
  params: (rng) => ({ rate: rng.uniform(0.5, 20) }),
  build: (p, o) => new D.Poisson(p.rate, o),
  logPmf: ({ rate }, k) => (k >= 0 && Number.isInteger(k) ? k * Math.log(rate) - rate - lgammaRef(k + 1) : -Infinity),
  range: ({ rate }) => [0, Math.ceil(rate + 12 * Math.sqrt(rate) + 40)],
  mode: ({ rate }) => Math.floor(rate),
  bad: [{ rate: -1 }],
  lacks: ['cdf', 'icdf', 'entropy'],
};

let binomialCalls = 0;
/** Binomial(n, p): P(k) = C(n, k) pᵏ (1 − p)ⁿ⁻ᵏ. */
export const binomialSpec: Spec = {
  name: 'Binomial',
  kind: 'discrete',
  // The batch's three totalCounts are distinct (1-13, 14-26, 27-39 in turn: the harness draws batches of 3), so
  // entropy, defined only for one totalCount (as torch 1.13), must throw; binomialOneCountSpec checks its values.
  params: (rng) => ({ totalCount: rng.int(1, 13) + 13 * (binomialCalls++ % 3), probs: rng.uniform(0.05, 0.95) }),
  build: (p, o) => new D.Binomial(p.totalCount, { probs: p.probs }, o),
  logPmf: ({ totalCount: n, probs: p }, k) =>
    k >= 0 && k <= n && Number.isInteger(k) ? lgammaRef(n + 1) - lgammaRef(k + 1) - lgammaRef(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p) : -Infinity,
  range: ({ totalCount }) => [0, totalCount],
  mode: ({ totalCount: n, probs: p }) => Math.min(Math.floor((n + 1) * p), n),
  bad: [{ probs: -0.1 }, { probs: 1.2 }, { totalCount: -1 }, { totalCount: 2.5 }],
  noGrad: ['totalCount'],
  lacks: ['cdf', 'icdf', 'entropy'],
};
/** Binomial with one totalCount across the batch (25): its entropy exists (torch 1.13 enumerates the support). */
export const binomialOneCountSpec: Spec = {
  ...binomialSpec,
  params: (rng) => ({ totalCount: 25, probs: rng.uniform(0.02, 0.98) }),
  lacks: ['cdf', 'icdf'],
};
/** NegativeBinomial(r, p): P(k) = Γ(k + r) / (k! Γ(r)) (1 − p)^r p^k. */
export const negativeBinomialSpec: Spec = {
  name: 'NegativeBinomial',
  kind: 'discrete',
  params: (rng) => ({ totalCount: rng.uniform(0.5, 10), probs: rng.uniform(0.05, 0.7) }),
  build: (p, o) => new D.NegativeBinomial(p.totalCount, { probs: p.probs }, o),
  logPmf: ({ totalCount: r, probs: p }, k) =>
    k >= 0 && Number.isInteger(k) ? lgammaRef(k + r) - lgammaRef(k + 1) - lgammaRef(r) + r * Math.log1p(-p) + k * Math.log(p) : -Infinity,
  range: ({ totalCount: r, probs: p }) => [0, Math.ceil((r * p) / (1 - p) + (20 * Math.sqrt(r * p)) / (1 - p) + 250)],
  mode: ({ totalCount: r, probs: p }) => Math.max(0, Math.floor(((r - 1) * p) / (1 - p))),
  bad: [{ probs: 1 }, { probs: -0.1 }, { totalCount: -1 }],
  lacks: ['cdf', 'icdf', 'entropy'],
};
/** log(1 + eᵈ) without overflow. */
const softplusRef = (d: number): number => Math.max(d, 0) + Math.log1p(Math.exp(-Math.abs(d)));
/** LogitRelaxedBernoulli(T, p): the logistic density of (logit U + logit p)/T, T e^(l − Tx) / (1 + e^(l − Tx))². */
const logitRelaxedLogPdf = (T: number, p: number, x: number): number => {
  const d = Math.log(p) - Math.log1p(-p) - T * x;
  return Math.log(T) + d - 2 * softplusRef(d);
};
export const logitRelaxedBernoulliSpec: Spec = {
  name: 'LogitRelaxedBernoulli',
  kind: 'continuous',
  params: (rng) => ({ temperature: rng.uniform(0.3, 3), probs: rng.uniform(0.05, 0.95) }),
  build: (p, o) => new D.LogitRelaxedBernoulli(p.temperature, { probs: p.probs }, o),
  logPdf: ({ temperature, probs }, x) => logitRelaxedLogPdf(temperature, probs, x),
  support: () => [-Infinity, Infinity],
  bad: [{ temperature: -1 }, { temperature: 0 }, { probs: 1.2 }, { probs: -0.1 }],
  lacks: ['mean', 'variance', 'entropy', 'cdf', 'icdf', 'mode'],
  rsampleGrad: 'quantile',
};
/** RelaxedBernoulli(T, p): the sigmoid of a LogitRelaxedBernoulli, density at y = its density at logit y over y(1 − y). */
export const relaxedBernoulliSpec: Spec = {
  name: 'RelaxedBernoulli',
  kind: 'continuous',
  // T ≥ 1 keeps the density bounded at 0 and 1 (below 1 it has integrable poles the quadrature need not meet)
  params: (rng) => ({ temperature: rng.uniform(1, 3), probs: rng.uniform(0.1, 0.9) }),
  build: (p, o) => new D.RelaxedBernoulli(p.temperature, { probs: p.probs }, o),
  logPdf: ({ temperature, probs }, y) =>
    y <= 0 || y >= 1 ? -Infinity : logitRelaxedLogPdf(temperature, probs, Math.log(y) - Math.log1p(-y)) - Math.log(y) - Math.log1p(-y),
  support: () => [0, 1],
  bad: [{ temperature: -1 }, { probs: 1.2 }],
  lacks: ['mean', 'variance', 'entropy', 'cdf', 'icdf', 'mode'],
  rsampleGrad: 'quantile',
};
/** ContinuousBernoulli(λ): C(λ) λˣ (1 − λ)¹⁻ˣ on [0, 1], C(λ) = 2 artanh(1 − 2λ)/(1 − 2λ) (2 at λ = 1/2). */
const cbLogC = (l: number): number => (Math.abs(l - 0.5) < 1e-9 ? Math.log(2) + (4 / 3) * (l - 0.5) ** 2 : Math.log((2 * Math.atanh(1 - 2 * l)) / (1 - 2 * l)));
export const continuousBernoulliSpec: Spec = {
  name: 'ContinuousBernoulli',
  kind: 'continuous',
  // outside torch's window lims = [0.499, 0.501], where cdf/icdf are the uniform's (an approximation torch makes,
  // off by up to ~1e-5 there): the window is checked by the family's own test. Beyond |λ − 1/2| = 0.025: closer, torch's
  // variance formula λ(λ − 1)/(1 − 2λ)² + 1/logit(λ)² cancels two terms of ~1/(4δ²) in float32 (torch 1.13 float32 vs
  // float64 at the same λ: 1.7e-3 abs at δ = 0.01, 5.6e-4 at 0.015, 2.1e-4 at 0.02, 7.7e-5 at 0.03; antler's value is
  // torch's, 0.084228515625 at λ = 0.51089 where float64 gives 0.0833254), beyond the float32 test's 2e-4.
  params: (rng) => {
    let l = rng.uniform(0.03, 0.97);
    while (Math.abs(l - 0.5) <= 0.025) l = rng.uniform(0.03, 0.97);
    return { probs: l };
  },
  build: (p, o) => new D.ContinuousBernoulli({ probs: p.probs }, o),
  logPdf: ({ probs: l }, x) => (x < 0 || x > 1 ? -Infinity : cbLogC(l) + x * Math.log(l) + (1 - x) * Math.log1p(-l)),
  support: () => [0, 1],
  bad: [{ probs: -0.1 }, { probs: 1.2 }],
  lacks: ['mode'],
  rsampleGrad: 'quantile',
};

/** Every univariate spec of this family. */
export const SPECS: Spec[] = [
  bernoulliSpec,
  geometricSpec,
  categoricalSpec,
  poissonSpec,
  binomialSpec,
  binomialOneCountSpec,
  negativeBinomialSpec,
  logitRelaxedBernoulliSpec,
  relaxedBernoulliSpec,
  continuousBernoulliSpec,
];

/** Pairs with a closed-form KL registered, checked against the reference integral. */
export const KL_PAIRS: [Spec, Spec][] = [
  [bernoulliSpec, bernoulliSpec],
  [geometricSpec, geometricSpec],
  [categoricalSpec, categoricalSpec],
  [poissonSpec, poissonSpec],
  [continuousBernoulliSpec, continuousBernoulliSpec],
];

/** Classes of this family checked by their own tests instead of a spec, with the test that checks them. */
export const OWN_TESTS: Record<string, string> = {
  // abstract: the base of Bernoulli, Geometric, Binomial, NegativeBinomial, LogitRelaxedBernoulli, ContinuousBernoulli (their specs)
  BinaryProbs: 'test/dist-specs-discrete.ts (the specs of its subclasses)',
  OneHotCategorical: 'test/cpu/distributions-discrete.test.ts',
  OneHotCategoricalStraightThrough: 'test/cpu/distributions-discrete.test.ts',
  Multinomial: 'test/cpu/distributions-discrete.test.ts',
  ExpRelaxedCategorical: 'test/cpu/distributions-discrete.test.ts',
  RelaxedOneHotCategorical: 'test/cpu/distributions-discrete.test.ts',
};
