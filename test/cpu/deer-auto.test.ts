// 'auto' where it measures (autoTuning.devices): a mode that fails while being measured (deer's [T, B, n, n]
// Jacobians out of memory without a chunkSize, here simulated in the native linearisation that only the
// parallel modes use) is never chosen, and the call still returns the sequential answer.
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { withCreateGraph } from '../../lib/autograd/graph';
import { autoTuned, autoTuning, cellRecurrence, resetAutoTuning } from '../../lib/deer';
import { fail } from '../../lib/errors';
import { expectClose, makeRng, randomArray } from '../helpers';

const failing: { linearize: false | 'OUT_OF_MEMORY' | 'CUDA_ERROR' } = { linearize: false };
const calls = { backward: 0 };
jest.mock('../../lib/deer/native-cells', () => {
  const actual = jest.requireActual('../../lib/deer/native-cells');
  return {
    ...actual,
    cellNative: () => {
      const real = actual.cellNative();
      return {
        cellSequential: real.cellSequential.bind(real),
        cellBackward: (...args: unknown[]) => {
          calls.backward += 1;
          return real.cellBackward(...args);
        },
        cellLinearize: (...args: unknown[]) =>
          failing.linearize ? fail(failing.linearize, `${failing.linearize} (simulated)`) : real.cellLinearize(...args),
      };
    },
  };
});

const rng = makeRng();

// Measuring on for the CPU, and nothing remembered between tests.
let devices: string[];
beforeEach(() => {
  devices = autoTuning.devices;
  autoTuning.devices = [...devices, 'cpu'];
  resetAutoTuning();
});
afterEach(() => {
  failing.linearize = false;
  autoTuning.devices = devices;
  resetAutoTuning();
});

/** A GRU's operands: xp [T, B, 3H], Whh [3H, H], bhh [3H], y0 = 0 [B, H]. */
function gru(T: number, B: number, H: number, dtype: 'float32' | 'float64') {
  const make = (n: number, shape: number[], lo = -1, hi = 1) => tensor(randomArray(rng, n, lo, hi), shape, { dtype });
  return {
    xp: make(T * B * 3 * H, [T, B, 3 * H]),
    Whh: make(3 * H * H, [3 * H, H], -0.5, 0.5),
    bhh: make(3 * H, [3 * H], -0.5, 0.5),
    y0: antler.zeros([B, H], { dtype }),
  };
}

test(`a mode that runs out of memory while 'auto' measures is never chosen (seed ${rng.seed})`, () =>
  tidy(() => {
    const { xp, Whh, bhh, y0 } = gru(700, 2, 4, 'float64');
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
  }));

test(`any other error while 'auto' measures reaches the caller, and nothing is remembered (seed ${rng.seed})`, () =>
  tidy(() => {
    const { xp, Whh, y0 } = gru(300, 2, 3, 'float32');
    failing.linearize = 'CUDA_ERROR';
    expect(() => cellRecurrence('gru', xp, Whh, null, y0)).toThrow(/CUDA_ERROR \(simulated\)/);
    expect(autoTuned().size).toBe(0);
  }));

test(`a training call ('auto' with operands that require grad) times forward and backward, on copies, in its own size class (seed ${rng.seed})`, () =>
  tidy(() => {
    const { xp, Whh, bhh, y0 } = gru(400, 2, 3, 'float64');
    Whh.requiresGrad_(true);
    xp.requiresGrad_(true);
    calls.backward = 0;
    const r = cellRecurrence('gru', xp, Whh, bhh, y0);
    // Each of the three modes ran its backward at least once while being measured; none reached the caller's tensors.
    expect(calls.backward).toBeGreaterThanOrEqual(3);
    expect(Whh.grad ?? null).toBeNull();
    expect(xp.grad ?? null).toBeNull();
    expect(r.stats.autoTuning).toBeDefined();
    expect([...autoTuned().keys()]).toEqual([expect.stringMatching(/\/grad$/)]);
    // The caller's own backward gives sequential BPTT's gradients, whichever mode was chosen.
    const before = calls.backward;
    antler.sum(r.y).backward();
    expect(calls.backward).toBe(before + 1);
    const gW = Float64Array.from(Whh.grad!.dataSync()), gx = Float64Array.from(xp.grad!.dataSync());
    Whh.grad = null;
    xp.grad = null;
    antler.sum(cellRecurrence('gru', xp, Whh, bhh, y0, { mode: 'sequential' }).y).backward();
    expectClose(gW, Whh.grad!.dataSync(), 1e-9, 1e-9, 'Whh gradient');
    expectClose(gx, xp.grad!.dataSync(), 1e-9, 1e-9, 'xp gradient');
    // An inference call of the same sizes is a class of its own, measured forward only.
    calls.backward = 0;
    const inference = antler.noGrad(() => cellRecurrence('gru', xp, Whh, bhh, y0));
    expect(inference.stats.autoTuning).toBeDefined();
    expect(calls.backward).toBe(0);
    expect([...autoTuned().keys()].sort()).toEqual([expect.stringMatching(/\/grad$/), expect.stringMatching(/\/nograd$/)]);
  }));

test(`inside a withCreateGraph scope (AdaHessian's exact products) the measurement's backwards build no graph and are not the closure's (seed ${rng.seed})`, () =>
  tidy(() => {
    const { xp, Whh, bhh, y0 } = gru(300, 2, 3, 'float64');
    Whh.requiresGrad_(true);
    calls.backward = 0;
    let leaves: Tensor[] = [];
    const scope = withCreateGraph(() => cellRecurrence('gru', xp, Whh, bhh, y0), (l) => (leaves = l));
    expect(calls.backward).toBeGreaterThanOrEqual(3); // the measurement ran the native backward (no graph-building one)
    expect(scope.backwards).toBe(0);
    expect(leaves).toEqual([]);
    expect(Whh.grad ?? null).toBeNull();
    expect(scope.result.stats.autoTuning).toBeDefined();
  }));
