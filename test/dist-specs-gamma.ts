/**
 * Specs (reference formulas, float64) of the gamma family of antler.distributions,
 * for test/distributions-harness.ts. Not a test file.
 */
import * as antler from '../lib';
import type { Spec } from './distributions-harness';
import { lgammaRef } from './helpers';

const D = antler.distributions;
const xlogy = (a: number, x: number): number => (a === 0 ? 0 : a * Math.log(x));

// Gamma: rate^a x^(a-1) e^(-rate x) / Gamma(a) (torch's log_prob: xlogy(a, rate) + xlogy(a - 1, x) - rate x - lgamma(a)).
const gammaLogPdf = (a: number, rate: number, x: number): number => xlogy(a, rate) + xlogy(a - 1, x) - rate * x - lgammaRef(a);

export const gammaSpec: Spec = {
  name: 'Gamma',
  kind: 'continuous',
  params: (rng) => ({ concentration: rng.uniform(0.7, 6), rate: rng.uniform(0.3, 3) }),
  build: (p, o) => new D.Gamma(p.concentration, p.rate, o),
  logPdf: ({ concentration, rate }, x) => gammaLogPdf(concentration, rate, x),
  support: () => [0, Infinity],
  mode: ({ concentration, rate }) => Math.max((concentration - 1) / rate, 0),
  bad: [{ concentration: 0 }, { rate: -1 }],
  lacks: ['icdf'],
  rsampleGrad: 'quantile',
};

export const chi2Spec: Spec = {
  name: 'Chi2',
  kind: 'continuous',
  params: (rng) => ({ df: rng.uniform(1.5, 12) }),
  build: (p, o) => new D.Chi2(p.df, o),
  logPdf: ({ df }, x) => gammaLogPdf(df / 2, 0.5, x),
  support: () => [0, Infinity],
  mode: ({ df }) => Math.max(df - 2, 0),
  bad: [{ df: 0 }, { df: -2 }],
  lacks: ['icdf'],
  rsampleGrad: 'quantile',
};

export const betaSpec: Spec = {
  name: 'Beta',
  kind: 'continuous',
  params: (rng) => ({ concentration1: rng.uniform(1.1, 5), concentration0: rng.uniform(1.1, 5) }),
  build: (p, o) => new D.Beta(p.concentration1, p.concentration0, o),
  logPdf: ({ concentration1: a, concentration0: b }, x) => xlogy(a - 1, x) + xlogy(b - 1, 1 - x) + lgammaRef(a + b) - lgammaRef(a) - lgammaRef(b),
  support: () => [0, 1],
  mode: ({ concentration1: a, concentration0: b }) => (a < 1 && b < 1 ? 1 : Math.max(a - 1, 0) / (Math.max(a - 1, 0) + Math.max(b - 1, 0))),
  bad: [{ concentration1: 0 }, { concentration0: -1 }],
  lacks: ['cdf', 'icdf'],
  rsampleGrad: 'none',
};

export const studentTSpec: Spec = {
  name: 'StudentT',
  kind: 'continuous',
  params: (rng) => ({ df: rng.uniform(4.5, 12), loc: rng.uniform(-2, 2), scale: rng.uniform(0.3, 2.5) }),
  build: (p, o) => new D.StudentT(p.df, p.loc, p.scale, o),
  logPdf: ({ df, loc, scale }, x) => {
    const y = (x - loc) / scale;
    return lgammaRef((df + 1) / 2) - lgammaRef(df / 2) - 0.5 * Math.log(df * Math.PI) - Math.log(scale) - ((df + 1) / 2) * Math.log1p((y * y) / df);
  },
  support: () => [-Infinity, Infinity],
  mode: ({ loc }) => loc,
  bad: [{ df: 0 }, { scale: 0 }, { scale: -1 }],
  lacks: ['cdf', 'icdf'],
  rsampleGrad: 'none',
};
// F(d1, d2): Γ((d1+d2)/2)/(Γ(d1/2)Γ(d2/2)) (d1/d2)^(d1/2) x^(d1/2−1) (1 + d1 x/d2)^(−(d1+d2)/2). df2 > 8 keeps the fourth moment finite.
export const fisherSnedecorSpec: Spec = {
  name: 'FisherSnedecor',
  kind: 'continuous',
  params: (rng) => ({ df1: rng.uniform(2.5, 12), df2: rng.uniform(9, 25) }),
  build: (p, o) => new D.FisherSnedecor(p.df1, p.df2, o),
  logPdf: ({ df1: a, df2: b }, x) =>
    lgammaRef((a + b) / 2) - lgammaRef(a / 2) - lgammaRef(b / 2) + (a / 2) * Math.log(a / b) + (a / 2 - 1) * Math.log(x) - ((a + b) / 2) * Math.log1p((a * x) / b),
  support: () => [0, Infinity],
  mode: ({ df1: a, df2: b }) => ((a - 2) / a) * (b / (b + 2)),
  bad: [{ df1: 0 }, { df2: -1 }],
  lacks: ['entropy', 'cdf', 'icdf'],
  rsampleGrad: 'none',
};

// Weibull(λ, k): (k/λ)(x/λ)^(k−1) e^(−(x/λ)^k) on x > 0.
export const weibullSpec: Spec = {
  name: 'Weibull',
  kind: 'continuous',
  params: (rng) => ({ scale: rng.uniform(0.4, 3), concentration: rng.uniform(1.2, 4) }),
  build: (p, o) => new D.Weibull(p.scale, p.concentration, o),
  logPdf: ({ scale: l, concentration: k }, x) => (x <= 0 ? -Infinity : Math.log(k / l) + (k - 1) * Math.log(x / l) - (x / l) ** k),
  support: () => [0, Infinity],
  mode: ({ scale: l, concentration: k }) => l * ((k - 1) / k) ** (1 / k),
  bad: [{ scale: 0 }, { concentration: -1 }],
  rsampleGrad: 'quantile',
};

// Pareto(s, α): α s^α / x^(α+1) on x ≥ s. α > 4.5 keeps the fourth moment finite.
export const paretoSpec: Spec = {
  name: 'Pareto',
  kind: 'continuous',
  params: (rng) => ({ scale: rng.uniform(0.3, 3), alpha: rng.uniform(4.5, 9) }),
  build: (p, o) => new D.Pareto(p.scale, p.alpha, o),
  logPdf: ({ scale: s, alpha: a }, x) => (x < s ? -Infinity : Math.log(a) + a * Math.log(s) - (a + 1) * Math.log(x)),
  support: ({ scale }) => [scale, Infinity],
  mode: ({ scale }) => scale,
  bad: [{ scale: 0 }, { alpha: -1 }],
  rsampleGrad: 'quantile',
};

// Kumaraswamy(a, b): a b x^(a−1) (1 − x^a)^(b−1) on [0, 1]; mode ((a − 1)/(ab − 1))^(1/a) (the textbook value: torch 1.13's is NaN).
export const kumaraswamySpec: Spec = {
  name: 'Kumaraswamy',
  kind: 'continuous',
  params: (rng) => ({ concentration1: rng.uniform(1.2, 5), concentration0: rng.uniform(1.2, 5) }),
  build: (p, o) => new D.Kumaraswamy(p.concentration1, p.concentration0, o),
  logPdf: ({ concentration1: a, concentration0: b }, x) =>
    x <= 0 || x >= 1 ? -Infinity : Math.log(a * b) + (a - 1) * Math.log(x) + (b - 1) * Math.log1p(-(x ** a)),
  support: () => [0, 1],
  mode: ({ concentration1: a, concentration0: b }) => ((a - 1) / (a * b - 1)) ** (1 / a),
  bad: [{ concentration1: 0 }, { concentration0: -0.5 }],
  rsampleGrad: 'quantile',
};

/** Every univariate spec of this family. */
export const SPECS: Spec[] = [
  gammaSpec,
  chi2Spec,
  betaSpec,
  studentTSpec,
  fisherSnedecorSpec,
  weibullSpec,
  paretoSpec,
  kumaraswamySpec,
];

/** Pairs with a closed-form KL registered, checked against the reference integral. */
export const KL_PAIRS: [Spec, Spec][] = [
  [gammaSpec, gammaSpec],
  [betaSpec, betaSpec],
  [paretoSpec, paretoSpec],
  [paretoSpec, gammaSpec],
  [gammaSpec, paretoSpec],
  [betaSpec, paretoSpec],
  [paretoSpec, betaSpec],
];

/** Classes of this family checked by their own tests instead of a spec, with the test that checks them. */
export const OWN_TESTS: Record<string, string> = {
  Dirichlet: 'test/cpu/distributions-gamma.test.ts',
};
