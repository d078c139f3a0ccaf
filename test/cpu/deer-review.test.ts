/**
 * What an adversarial review of the DEER solver found (all fixed): a module's
 * deer options checked whenever they are set (initialGuess refused, it is one
 * call's); one diverging sequence restarts alone under ELK while the rest of
 * its batch goes on converging; an ODE sequence that falls back to RK4 gets
 * RK4's gradient; cellRecurrence's warm argument checked; errors that name
 * what was passed (dtype codes, strict's counts); the auto-tuning state
 * guarded against callers.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { autoTuned, autoTuning, cellRecurrence, chooseMode, jacobians, solveIVP, WarmStart } from '../../lib/deer';
import { GRU } from '../../lib/nn';
import { expectAntlerErrorInTidy as expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeRng, randomArray, tensorCounts } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);
const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());

describe(`DEER: what a review found (seed ${SEED})`, () => {
  test("a module's mode and deer options are checked when set, at construction or after; deer.initialGuess is one call's", () =>
    tidy(() => {
      const guess = antler.zeros([5, 2, 4], F64);
      expectAntlerError(() => new GRU(3, 4, { dtype: 'float64', mode: 'deer', deer: { initialGuess: guess } as never }), 'INVALID_ARGUMENT', /^GRU: deer\.initialGuess belongs to one call .*forward\(x, h0, \{ initialGuess \}\)/);
      const g = new GRU(3, 4, { dtype: 'float64' });
      expectAntlerError(() => (g.deer = { mode: 'deer' } as never), 'INVALID_ARGUMENT', /^GRU: deer\.mode is not used here/);
      expectAntlerError(() => (g.deer = { maxIter: 3 } as never), 'INVALID_ARGUMENT', /maxIter/);
      expectAntlerError(() => (g.mode = 'fast' as never), 'INVALID_ARGUMENT', /^GRU: mode must be one of 'sequential', 'deer', .*; got 'fast'/);
      g.deer = { maxIters: 7 };
      g.mode = 'quasi';
      expect([g.mode, g.deer.maxIters]).toEqual(['quasi', 7]);
      // A forward's own guess still works, and its dtype is checked by name.
      const x = tensor(randomArray(rng, 5 * 2 * 3), [5, 2, 3], F64);
      g.mode = 'deer';
      expect(g.forward(x, null, { initialGuess: guess }).output.shape).toEqual([5, 2, 4]);
      expectAntlerError(() => g.forward(x, null, { initialGuess: guess.cast('float32') }), 'DTYPE_MISMATCH', /^deer: initialGuess is float32; expected the input's dtype, float64/);
      g.dispose();
    }));

  for (const mode of ['deer', 'quasi'] as const)
    test(`${mode}: a NaN in one sequence sends it alone to the fallback; the others converge, and the output equals sequential`, () =>
      tidy(() => {
        const T = 8, B = 4;
        const xv = randomArray(rng, T * B * 3, -1, 1);
        const bad = rng.int(0, B - 1);
        xv[(1 * B + bad) * 3] = NaN;
        const x = tensor(xv, [T, B, 3], F64);
        antler.setSeed(rng.u32());
        const g = new GRU(3, 4, { dtype: 'float64', mode });
        for (const lengths of [undefined, [3, 8, 5, 6]]) {
          const { output, stats } = g.forward(x, null, lengths ? { lengths } : undefined);
          expect({ lengths, fell: stats[0].fallbackSequences }).toEqual({ lengths, fell: [bad] });
          expect(stats[0].converged.map((c, i) => c || i === bad)).toEqual([true, true, true, true]);
          g.mode = 'sequential';
          const want = g.forward(x, null, lengths ? { lengths } : undefined).output;
          g.mode = mode;
          // The NaN sequence is the sequential answer itself (NaN from its bad step on); the others converged.
          expectClose(read(output), read(want), 1e-10, 1e-12, `${mode} lengths ${lengths}`);
        }
        // strict counts the whole batch and says the rest were still running.
        expectAntlerError(() => g.forward(x, null, { strict: true }), 'NOT_CONVERGED', new RegExp(`^deer: 1 of ${B} sequences did not converge .*${B - 1} more were still iterating`));
        g.dispose();
      }));

  test('an ODE sequence that falls back to RK4 gets RK4’s gradient (backprop through its steps), the others the DEER adjoint', () =>
    tidy(() => {
      const kv = randomArray(rng, 4, -1, 1);
      const k = tensor(kv, [2, 2], F64);
      const f = (_t: Tensor, y: Tensor) => antler.sub(antler.tanh(antler.matmul(y, k)), antler.mul(y, 0.3));
      const grid = [0, 0.3, 0.7, 1.2, 2];
      const y0v = randomArray(rng, 4, -0.5, 0.5);
      const grads = (options: object) => {
        const y0 = tensor(y0v, [2, 2], { ...F64, requiresGrad: true });
        const { y, stats } = solveIVP(f, y0, grid, options);
        antler.sum(antler.square(y)).backward();
        return { y: read(y), g: read(y0.grad!), stats };
      };
      const viaRk4 = grads({ method: 'rk4' });
      const fellBack = grads({ maxIters: 2 });
      expect(fellBack.stats.fallbackSequences).toEqual([0, 1]);
      expectExact(fellBack.y, viaRk4.y, 'values');
      expectClose(fellBack.g, viaRk4.g, 1e-13, 1e-15, 'gradient: RK4 backprop');
      // The DEER adjoint (converged) differs from RK4's gradient by the discretisation, so the check above can fail.
      const converged = grads({});
      expect(converged.stats.fallback).toBe(false);
      expect(Math.max(...converged.g.map((v, i) => Math.abs(v - viaRk4.g[i])))).toBeGreaterThan(1e-9);
    }));

  test('cellRecurrence: warm must be a WarmStart, and warmStart needs one; jacobians and solveIVP name the dtype', () =>
    tidy(() => {
      const xp = tensor(randomArray(rng, 7 * 2 * 9), [7, 2, 9], F64), Whh = tensor(randomArray(rng, 27), [9, 3], F64), y0 = antler.zeros([2, 3], F64);
      expectAntlerError(() => cellRecurrence('gru', xp, Whh, null, y0, { mode: 'deer', warmStart: true }, {} as WarmStart), 'INVALID_ARGUMENT', /^deer: warm must be a deer\.WarmStart/);
      expectAntlerError(() => cellRecurrence('gru', xp, Whh, null, y0, { mode: 'deer', warmStart: true }), 'INVALID_ARGUMENT', /^deer: warmStart: true needs .*new deer\.WarmStart\(\)/);
      const warm = new WarmStart();
      const first = cellRecurrence('gru', xp, Whh, null, y0, { mode: 'deer', warmStart: true }, warm);
      expect(first.stats.warmStarted).toBe(false);
      expect(cellRecurrence('gru', xp, Whh, null, y0, { mode: 'deer', warmStart: true }, warm).stats.warmStarted).toBe(true);
      warm.dispose();
      const params = { weight_ih: tensor(randomArray(rng, 9 * 2), [9, 2], F64), weight_hh: Whh, bias_ih: null, bias_hh: null };
      expectAntlerError(() => jacobians('gru', params, antler.zeros([4, 2, 3]), tensor(randomArray(rng, 16), [4, 2, 2], F64)), 'DTYPE_MISMATCH', /^deer\.jacobians: yPrev is float32 and x float64/);
      expectAntlerError(() => solveIVP((_t, y) => y.cast('float32'), antler.ones([1, 2], F64), [0, 1]), 'DTYPE_MISMATCH', /returned a float32 tensor of shape \[\d+, 2\]/);
    }));

  test("auto's state: autoTuned() is a copy, chooseMode checks its arguments, autoTuning.devices must be an array", () =>
    tidy(() => {
      const copy = autoTuned() as Map<string, unknown>;
      copy.set('cpu/gru/8/float32/T1024/B16/chunkall/nograd', { mode: 'deer', ms: { sequential: 1, deer: 0, quasi: 1 } });
      expect(autoTuned().has('cpu/gru/8/float32/T1024/B16/chunkall/nograd')).toBe(false);
      expectAntlerError(() => chooseMode('bogus' as never, 10, 1, 4, 'cpu'), 'INVALID_ARGUMENT', /^deer\.chooseMode: kind must be one of 'gru'/);
      expectAntlerError(() => chooseMode('gru', 1.5, 1, 4, 'cpu'), 'INVALID_ARGUMENT', /T must be an integer/);
      expect(chooseMode('gru', 10, 1, 4, 'cpu')).toBe('sequential');
      const before = autoTuning.devices;
      try {
        autoTuning.devices = null as never;
        const g = new GRU(2, 3, { mode: 'auto' });
        expectAntlerError(() => g.forward(antler.zeros([300, 1, 2])), 'INVALID_ARGUMENT', /^deer\.autoTuning\.devices must be an array/);
        g.dispose();
      } finally {
        autoTuning.devices = before;
      }
    }));
});
