/**
 * Specs (reference formulas, float64) of the transforms family of antler.distributions,
 * for test/distributions-harness.ts. Not a test file.
 */
import type { Spec } from './distributions-harness';

// ---- helper D (transforms family): specs go below.
// ---- end helper D

/** Every univariate spec of this family. */
export const SPECS: Spec[] = [
  // ---- helper D: list the specs here.
  // ---- end helper D
];

/** Pairs with a closed-form KL registered, checked against the reference integral. */
export const KL_PAIRS: [Spec, Spec][] = [
  // ---- helper D: pairs here.
  // ---- end helper D
];

/** Classes of this family checked by their own tests instead of a spec, with the test that checks them. */
export const OWN_TESTS: Record<string, string> = {
  // ---- helper D
  // ---- end helper D
};
