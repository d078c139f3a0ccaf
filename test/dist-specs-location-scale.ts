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

// ---- helper A (location-scale family): specs of the other distributions go below.
// ---- end helper A

/** Every univariate spec of this family. */
export const SPECS: Spec[] = [
  normalSpec,
  // ---- helper A: list the specs here.
  // ---- end helper A
];

/** Pairs with a closed-form KL registered, checked against the reference integral. */
export const KL_PAIRS: [Spec, Spec][] = [
  [normalSpec, normalSpec],
  // ---- helper A: pairs here.
  // ---- end helper A
];

/** Classes of this family checked by their own tests instead of a spec (multivariate ones), with the test that checks them. */
export const OWN_TESTS: Record<string, string> = {
  // ---- helper A: e.g. MultivariateNormal: 'test/cpu/distributions-location-scale.test.ts'
  // ---- end helper A
};
