/**
 * Specs (reference formulas, float64) of the discrete family of antler.distributions,
 * for test/distributions-harness.ts. Not a test file.
 */
import * as antler from '../lib';
import type { Spec } from './distributions-harness';
import { lgammaRef } from './helpers';

// ---- helper C (discrete family): specs go below.
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
  lacks: ['cdf', 'icdf', 'entropy', 'sample'],
};

/** Binomial(n, p): P(k) = C(n, k) pᵏ (1 − p)ⁿ⁻ᵏ. */
export const binomialSpec: Spec = {
  name: 'Binomial',
  kind: 'discrete',
  params: (rng) => ({ totalCount: rng.int(1, 40), probs: rng.uniform(0.05, 0.95) }),
  build: (p, o) => new D.Binomial(p.totalCount, { probs: p.probs }, o),
  logPmf: ({ totalCount: n, probs: p }, k) =>
    k >= 0 && k <= n && Number.isInteger(k) ? lgammaRef(n + 1) - lgammaRef(k + 1) - lgammaRef(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p) : -Infinity,
  range: ({ totalCount }) => [0, totalCount],
  mode: ({ totalCount: n, probs: p }) => Math.min(Math.floor((n + 1) * p), n),
  bad: [{ probs: -0.1 }, { probs: 1.2 }, { totalCount: -1 }, { totalCount: 2.5 }],
  noGrad: ['totalCount'],
  lacks: ['cdf', 'icdf', 'entropy', 'sample'],
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
  // sample awaits helper B's standardGamma and the native Poisson sampler (integration enables it)
  lacks: ['cdf', 'icdf', 'entropy', 'sample'],
};
// ---- end helper C

/** Every univariate spec of this family. */
export const SPECS: Spec[] = [
  // ---- helper C: list the specs here.
  bernoulliSpec,
  geometricSpec,
  categoricalSpec,
  poissonSpec,
  binomialSpec,
  negativeBinomialSpec,
  // ---- end helper C
];

/** Pairs with a closed-form KL registered, checked against the reference integral. */
export const KL_PAIRS: [Spec, Spec][] = [
  // ---- helper C: pairs here.
  [bernoulliSpec, bernoulliSpec],
  [geometricSpec, geometricSpec],
  [categoricalSpec, categoricalSpec],
  [poissonSpec, poissonSpec],
  // ---- end helper C
];

/** Classes of this family checked by their own tests instead of a spec, with the test that checks them. */
export const OWN_TESTS: Record<string, string> = {
  // ---- helper C
  OneHotCategorical: 'test/cpu/distributions-discrete.test.ts',
  OneHotCategoricalStraightThrough: 'test/cpu/distributions-discrete.test.ts',
  Multinomial: 'test/cpu/distributions-discrete.test.ts',
  // ---- end helper C
};
