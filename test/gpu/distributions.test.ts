// antler.distributions on CUDA: every spec of every family through the generic harness with parameters on the GPU.
import { gpuDescribe } from './suite';
import { describeKL, describeSpec } from '../distributions-harness';
import * as ls from '../dist-specs-location-scale';
import * as gamma from '../dist-specs-gamma';
import * as discrete from '../dist-specs-discrete';
import * as transforms from '../dist-specs-transforms';

const families = [ls, gamma, discrete, transforms];
gpuDescribe('distributions')('distributions on CUDA', () => {
  for (const f of families) for (const spec of f.SPECS) describeSpec(spec, 'cuda');
  for (const f of families) for (const [p, q] of f.KL_PAIRS) describeKL(p, q, 'cuda');
  // ---- family GPU tests (native samplers against the CPU) go below, one block per helper.
  // ---- helper B
  // ---- end helper B
  // ---- helper C
  // ---- end helper C
  // ---- end family GPU tests
});
