// 'auto' where it measures (autoTuning.devices): a mode that fails while being measured (deer's [T, B, n, n]
// Jacobians out of memory without a chunkSize, here simulated in the native linearisation that only the
// parallel modes use) is never chosen, and the call still returns the sequential answer.
import * as antler from '../../lib';
import { tensor, tidy } from '../../lib';
import { autoTuned, autoTuning, cellRecurrence, resetAutoTuning } from '../../lib/deer';
import { fail } from '../../lib/errors';
import { expectClose, makeRng, randomArray } from '../helpers';

const failing: { linearize: false | 'OUT_OF_MEMORY' | 'CUDA_ERROR' } = { linearize: false };
jest.mock('../../lib/deer/native-cells', () => {
  const actual = jest.requireActual('../../lib/deer/native-cells');
  return {
    ...actual,
    cellNative: () => {
      const real = actual.cellNative();
      return {
        cellSequential: real.cellSequential.bind(real),
        cellBackward: real.cellBackward.bind(real),
        cellLinearize: (...args: unknown[]) =>
          failing.linearize ? fail(failing.linearize, `${failing.linearize} (simulated)`) : real.cellLinearize(...args),
      };
    },
  };
});

const rng = makeRng();

test(`a mode that runs out of memory while 'auto' measures is never chosen (seed ${rng.seed})`, () => {
  const T = 700, B = 2, H = 4;
  const devices = autoTuning.devices;
  autoTuning.devices = [...devices, 'cpu'];
  resetAutoTuning();
  try {
    tidy(() => {
      const xp = tensor(randomArray(rng, T * B * 3 * H), [T, B, 3 * H], { dtype: 'float64' });
      const Whh = tensor(randomArray(rng, 3 * H * H, -0.5, 0.5), [3 * H, H], { dtype: 'float64' });
      const bhh = tensor(randomArray(rng, 3 * H, -0.5, 0.5), [3 * H], { dtype: 'float64' });
      const y0 = antler.zeros([B, H], { dtype: 'float64' });
      const seq = cellRecurrence('gru', xp, Whh, bhh, y0, { mode: 'sequential' }).y.dataSync();
      failing.linearize = 'OUT_OF_MEMORY';
      const r = cellRecurrence('gru', xp, Whh, bhh, y0);
      failing.linearize = false;
      expect(r.stats.autoTuning).toMatchObject({ deer: Infinity, quasi: Infinity });
      expect(r.stats.autoTuning!.sequential).toBeGreaterThan(0);
      expect(r.stats.mode).toBe('sequential');
      expect([...autoTuned().values()][0].mode).toBe('sequential');
      expectClose(r.y.dataSync(), seq, 0, 0, 'auto answer');
      // With the parallel modes working again, they run when asked for.
      expect(cellRecurrence('gru', xp, Whh, bhh, y0, { mode: 'deer' }).stats.mode).toBe('deer');
    });
  } finally {
    failing.linearize = false;
    autoTuning.devices = devices;
    resetAutoTuning();
  }
});

test(`any other error while 'auto' measures reaches the caller, and nothing is remembered (seed ${rng.seed})`, () => {
  const T = 300, B = 2, H = 3;
  const devices = autoTuning.devices;
  autoTuning.devices = [...devices, 'cpu'];
  resetAutoTuning();
  try {
    tidy(() => {
      const xp = tensor(randomArray(rng, T * B * 3 * H), [T, B, 3 * H], { dtype: 'float32' });
      const Whh = tensor(randomArray(rng, 3 * H * H, -0.5, 0.5), [3 * H, H], { dtype: 'float32' });
      const y0 = antler.zeros([B, H]);
      failing.linearize = 'CUDA_ERROR';
      expect(() => cellRecurrence('gru', xp, Whh, null, y0)).toThrow(/CUDA_ERROR \(simulated\)/);
      expect(autoTuned().size).toBe(0);
    });
  } finally {
    failing.linearize = false;
    autoTuning.devices = devices;
    resetAutoTuning();
  }
});
