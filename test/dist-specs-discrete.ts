/**
 * Specs (reference formulas, float64) of the discrete family of antler.distributions,
 * for test/distributions-harness.ts. Not a test file.
 */
import type { Spec } from './distributions-harness';

// ---- helper C (discrete family): specs go below.
// ---- end helper C

/** Every univariate spec of this family. */
export const SPECS: Spec[] = [
  // ---- helper C: list the specs here.
  // ---- end helper C
];

/** Pairs with a closed-form KL registered, checked against the reference integral. */
export const KL_PAIRS: [Spec, Spec][] = [
  // ---- helper C: pairs here.
  // ---- end helper C
];

/** Classes of this family checked by their own tests instead of a spec, with the test that checks them. */
export const OWN_TESTS: Record<string, string> = {
  // ---- helper C
  // ---- end helper C
};
