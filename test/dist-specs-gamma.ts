/**
 * Specs (reference formulas, float64) of the gamma family of antler.distributions,
 * for test/distributions-harness.ts. Not a test file.
 */
import type { Spec } from './distributions-harness';

// ---- helper B (gamma family): specs go below.
// ---- end helper B

/** Every univariate spec of this family. */
export const SPECS: Spec[] = [
  // ---- helper B: list the specs here.
  // ---- end helper B
];

/** Pairs with a closed-form KL registered, checked against the reference integral. */
export const KL_PAIRS: [Spec, Spec][] = [
  // ---- helper B: pairs here.
  // ---- end helper B
];

/** Classes of this family checked by their own tests instead of a spec, with the test that checks them. */
export const OWN_TESTS: Record<string, string> = {
  // ---- helper B
  // ---- end helper B
};
