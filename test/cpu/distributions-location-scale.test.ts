// antler.distributions, location-scale family: every spec through the generic harness, then the family's own tests.
import { describeKL, describeSpec } from '../distributions-harness';
import { expectNoLeaksInSuite, tensorCounts } from '../helpers';
import { KL_PAIRS, SPECS } from '../dist-specs-location-scale';

expectNoLeaksInSuite(tensorCounts);
for (const spec of SPECS) describeSpec(spec);
describe('KL divergences', () => {
  for (const [p, q] of KL_PAIRS) describeKL(p, q);
});

// ---- helper A: the family's own tests (multivariate distributions, special cases) go below.
// ---- end helper A
