// The GPU project's preamble, shared by every file of test/gpu (not a test file itself).
import * as antler from '../../lib';

/**
 * `describe` where a CUDA device is usable. Without one it is `describe.skip`
 * and says so (`GPU <what> skipped: <reason>`), unless ANTLER_REQUIRE_GPU=1
 * (npm run test:gpu, the emulated run) asks for a GPU: then the file gets one
 * failing test instead.
 */
export function gpuDescribe(what: string): typeof describe {
  const cuda = antler.backends().cuda;
  if (cuda.available) return describe;
  if (process.env.ANTLER_REQUIRE_GPU === '1')
    test('a CUDA device is required (ANTLER_REQUIRE_GPU=1)', () => {
      throw new Error(`CUDA is not available: ${cuda.reason}`);
    });
  else console.log(`GPU ${what} skipped: ${cuda.reason}`);
  return describe.skip;
}
