/**
 * Specs (reference formulas, float64) of the location-scale family of
 * antler.distributions, for test/distributions-harness.ts. Not a test file.
 */
import * as antler from '../lib';
import type { Spec } from './distributions-harness';

const D = antler.distributions;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

export const normalSpec: Spec = {
  name: 'Normal',
  kind: 'continuous',
  params: (rng) => ({ loc: rng.uniform(-3, 3), scale: rng.uniform(0.2, 3) }),
  build: (p, o) => new D.Normal(p.loc, p.scale, o),
  logPdf: ({ loc, scale }, x) => -0.5 * ((x - loc) / scale) ** 2 - Math.log(scale) - LOG_SQRT_2PI,
  support: () => [-Infinity, Infinity],
  mode: ({ loc }) => loc,
  bad: [{ scale: 0 }, { scale: -1 }],
  rsampleGrad: 'quantile',
};



export const uniformSpec: Spec = {
  name: 'Uniform',
  kind: 'continuous',
  params: (rng) => ({ low: rng.uniform(-3, 0), high: rng.uniform(0.5, 3) }),
  build: (p, o) => new D.Uniform(p.low, p.high, o),
  logPdf: ({ low, high }, x) => (x >= low && x < high ? -Math.log(high - low) : -Infinity),
  support: ({ low, high }) => [low, high],
  mode: () => NaN,
  bad: [{ low: 1, high: 0 }, { low: 2, high: 2 }],
  rsampleGrad: 'quantile',
};

export const exponentialSpec: Spec = {
  name: 'Exponential',
  kind: 'continuous',
  params: (rng) => ({ rate: rng.uniform(0.3, 3) }),
  build: (p, o) => new D.Exponential(p.rate, o),
  logPdf: ({ rate }, x) => (x < 0 ? -Infinity : Math.log(rate) - rate * x),
  support: () => [0, Infinity],
  mode: () => 0,
  bad: [{ rate: 0 }, { rate: -1 }],
  rsampleGrad: 'quantile',
};

export const laplaceSpec: Spec = {
  name: 'Laplace',
  kind: 'continuous',
  params: (rng) => ({ loc: rng.uniform(-3, 3), scale: rng.uniform(0.2, 3) }),
  build: (p, o) => new D.Laplace(p.loc, p.scale, o),
  logPdf: ({ loc, scale }, x) => -Math.abs(x - loc) / scale - Math.log(2 * scale),
  support: () => [-Infinity, Infinity],
  kinks: ({ loc }) => [loc],
  mode: ({ loc }) => loc,
  bad: [{ scale: 0 }, { scale: -1 }],
  rsampleGrad: 'quantile',
};

export const cauchySpec: Spec = {
  name: 'Cauchy',
  kind: 'continuous',
  params: (rng) => ({ loc: rng.uniform(-3, 3), scale: rng.uniform(0.2, 3) }),
  build: (p, o) => new D.Cauchy(p.loc, p.scale, o),
  logPdf: ({ loc, scale }, x) => -Math.log(Math.PI * scale * (1 + ((x - loc) / scale) ** 2)),
  support: () => [-Infinity, Infinity],
  moments: () => ({ mean: NaN, variance: Infinity }),
  mode: ({ loc }) => loc,
  bad: [{ scale: 0 }, { scale: -1 }],
  // samples reach 1e15, where a quadrature cdf cannot resolve the derivative: checked exactly in our own test
  rsampleGrad: 'none',
};

export const gumbelSpec: Spec = {
  name: 'Gumbel',
  kind: 'continuous',
  params: (rng) => ({ loc: rng.uniform(-3, 3), scale: rng.uniform(0.2, 3) }),
  build: (p, o) => new D.Gumbel(p.loc, p.scale, o),
  logPdf: ({ loc, scale }, x) => {
    const z = (x - loc) / scale;
    return -z - Math.exp(-z) - Math.log(scale);
  },
  support: () => [-Infinity, Infinity],
  mode: ({ loc }) => loc,
  bad: [{ scale: 0 }, { scale: -1 }],
  rsampleGrad: 'quantile',
};

export const halfNormalSpec: Spec = {
  name: 'HalfNormal',
  kind: 'continuous',
  params: (rng) => ({ scale: rng.uniform(0.2, 3) }),
  build: (p, o) => new D.HalfNormal(p.scale, o),
  logPdf: ({ scale }, x) => (x < 0 ? -Infinity : Math.log(2) - 0.5 * (x / scale) ** 2 - Math.log(scale) - LOG_SQRT_2PI),
  support: () => [0, Infinity],
  mode: () => 0,
  bad: [{ scale: 0 }, { scale: -1 }],
  rsampleGrad: 'quantile',
};

export const halfCauchySpec: Spec = {
  name: 'HalfCauchy',
  kind: 'continuous',
  params: (rng) => ({ scale: rng.uniform(0.2, 3) }),
  build: (p, o) => new D.HalfCauchy(p.scale, o),
  logPdf: ({ scale }, x) => (x < 0 ? -Infinity : Math.log(2 / (Math.PI * scale * (1 + (x / scale) ** 2)))),
  support: () => [0, Infinity],
  moments: () => ({ mean: Infinity, variance: Infinity }),
  mode: () => 0,
  bad: [{ scale: 0 }, { scale: -1 }],
  // samples reach 1e15, where a quadrature cdf cannot resolve the derivative: checked exactly in our own test
  rsampleGrad: 'none',
};

export const logNormalSpec: Spec = {
  name: 'LogNormal',
  kind: 'continuous',
  params: (rng) => ({ loc: rng.uniform(-1, 1), scale: rng.uniform(0.2, 1) }),
  build: (p, o) => new D.LogNormal(p.loc, p.scale, o),
  logPdf: ({ loc, scale }, x) => (x <= 0 ? -Infinity : -0.5 * ((Math.log(x) - loc) / scale) ** 2 - Math.log(scale) - LOG_SQRT_2PI - Math.log(x)),
  support: () => [0, Infinity],
  mode: ({ loc, scale }) => Math.exp(loc - scale * scale),
  bad: [{ scale: 0 }, { scale: -1 }],
  rsampleGrad: 'quantile',
};


const besselMemo = new Map<string, number>();
/**
 * log I_ν(x) (ν = 0, 1) by the power series (x/2)^ν Σ (x²/4)ᵏ/(k!(k+ν)!) summed in log space
 * (accurate for any x ≥ 0); memoised, as the KS test evaluates the density ~500,000 times.
 */
export function logBesselIRef(x: number, nu: 0 | 1): number {
  const key = `${nu}:${x}`;
  let v = besselMemo.get(key);
  if (v === undefined) {
    if (besselMemo.size > 10000) besselMemo.clear();
    besselMemo.set(key, (v = logBesselISeries(x, nu)));
  }
  return v;
}
function logBesselISeries(x: number, nu: 0 | 1): number {
  if (x === 0) return nu === 0 ? 0 : -Infinity;
  const lt = 2 * Math.log(x / 2);
  const logs: number[] = [];
  let lf = 0, lf1 = 0, top = -Infinity; // log k!, log (k+ν)!, the largest term
  for (let k = 0; k < 100000; k++) {
    if (k > 0) {
      lf += Math.log(k);
      lf1 += Math.log(k + nu);
    }
    const lterm = k * lt - lf - lf1;
    logs.push(lterm);
    top = Math.max(top, lterm);
    if (k > x && lterm < top - 40) break;
  }
  let s = 0;
  for (const l of logs) s += Math.exp(l - top);
  return top + Math.log(s) + (nu === 1 ? Math.log(x / 2) : 0);
}

export const vonMisesSpec: Spec = {
  name: 'VonMises',
  kind: 'continuous',
  params: (rng) => ({ loc: rng.uniform(-3, 3), concentration: rng.uniform(0.05, 12) }),
  build: (p, o) => new D.VonMises(p.loc, p.concentration, o),
  // periodic: torch's support is `real`, values are angles; [−π, π) holds one period for the integrals
  logPdf: ({ loc, concentration }, x) => concentration * Math.cos(x - loc) - Math.log(2 * Math.PI) - logBesselIRef(concentration, 0),
  support: () => [-Math.PI, Math.PI],
  // circular mean and variance, as torch's
  moments: ({ loc, concentration }) => ({ mean: loc, variance: 1 - Math.exp(logBesselIRef(concentration, 1) - logBesselIRef(concentration, 0)) }),
  mode: ({ loc }) => loc,
  lacks: ['cdf', 'icdf', 'entropy', 'rsample'],
  bad: [{ concentration: 0 }, { concentration: -1 }],
  rsampleGrad: 'none',
};

/** Every univariate spec of this family. */
export const SPECS: Spec[] = [
  normalSpec,
  uniformSpec,
  exponentialSpec,
  laplaceSpec,
  cauchySpec,
  gumbelSpec,
  halfNormalSpec,
  halfCauchySpec,
  logNormalSpec,
  vonMisesSpec,
];

/** Pairs with a closed-form KL registered, checked against the reference integral. */
export const KL_PAIRS: [Spec, Spec][] = [
  [normalSpec, normalSpec],
  [uniformSpec, uniformSpec],
  [exponentialSpec, exponentialSpec],
  [laplaceSpec, laplaceSpec],
  [cauchySpec, cauchySpec],
  [gumbelSpec, gumbelSpec],
  [halfNormalSpec, halfNormalSpec],
  [halfCauchySpec, halfCauchySpec],
  [logNormalSpec, logNormalSpec],
  [exponentialSpec, uniformSpec],
  [gumbelSpec, uniformSpec],
  [laplaceSpec, uniformSpec],
  [normalSpec, uniformSpec],
  [gumbelSpec, exponentialSpec],
  [laplaceSpec, exponentialSpec],
  [normalSpec, exponentialSpec],
  [exponentialSpec, gumbelSpec],
  [exponentialSpec, normalSpec],
  [gumbelSpec, normalSpec],
  [laplaceSpec, normalSpec],
  [normalSpec, gumbelSpec],
  [normalSpec, laplaceSpec],
  [uniformSpec, exponentialSpec],
  [uniformSpec, gumbelSpec],
  [uniformSpec, normalSpec],
];

/** Classes of this family checked by their own tests instead of a spec (multivariate ones), with the test that checks them. */
export const OWN_TESTS: Record<string, string> = {
  // abstract: the base of Normal, Laplace, Cauchy, Gumbel and LogNormal, covered through their specs
  LocationScale: 'test/dist-specs-location-scale.ts (normalSpec, laplaceSpec, cauchySpec, gumbelSpec, logNormalSpec)',
  MultivariateNormal: 'test/cpu/distributions-location-scale.test.ts',
  LowRankMultivariateNormal: 'test/cpu/distributions-location-scale.test.ts',
};
