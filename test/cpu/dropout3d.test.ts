/**
 * dropout3d / nn.Dropout3d: whole channels of [N, C, D, H, W] (or unbatched [C, D, H, W], PyTorch's
 * reading of a 4-D input) zeroed with probability p, the rest scaled by 1/(1 − p), the draw
 * dropoutMask's of [N, C, 1, 1, 1] (as dropout2d's); seeds and keep replay; eval and p = 0 are the
 * identity; the kept fraction over many channels within 6 sigma; errors; no leaks.
 */
import * as antler from '../../lib';
import { nn, tensor, tidy } from '../../lib';
import { dropoutMask } from '../../lib/ops/nn';
import { expectAntlerError, expectExact, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };

describe(`dropout3d and Dropout3d (seed ${SEED})`, () => {
  test('whole channels zeroed, the rest scaled by 1/(1 − p), dropoutMask of [N, C, 1, 1, 1]; unbatched [C, D, H, W]; replays', () =>
    tidy(() => {
      const [N, C, D, H, W] = [2, 4, 2, 2, 3];
      const S = D * H * W;
      const xv = randomArray(rng, N * C * S).map((v) => v + 2); // no zeros
      const x = tensor(xv, [N, C, D, H, W], F64);
      for (const p of [0.25, 0.5, 0.8]) {
        const seed = rng.int(1, 1e6);
        const y = Array.from(antler.dropout3d(x, p, { seed }).dataSync());
        const mask = dropoutMask([N, C, 1, 1, 1], p, { dtype: 'float64', seed }).dataSync();
        expectExact(y, xv.map((v, i) => v * mask[Math.floor(i / S)]), `p ${p}: dropoutMask's draw`);
        expectExact(antler.dropout3d(x, p, { seed }).dataSync(), y, `p ${p} replays`);
        for (let ch = 0; ch < N * C; ch++) {
          const block = y.slice(ch * S, (ch + 1) * S);
          const kept = block[0] !== 0;
          block.forEach((v, j) => expect(v).toBe(kept ? xv[ch * S + j] * (1 / (1 - p)) : 0));
        }
      }
      // Unbatched [C, D, H, W]: one draw per channel.
      const u = Array.from(antler.dropout3d(x.reshape([N * C, D, H, W]), 0.5, { seed: 7 }).dataSync());
      const um = dropoutMask([N * C, 1, 1, 1], 0.5, { dtype: 'float64', seed: 7 }).dataSync();
      expectExact(u, xv.map((v, i) => v * um[Math.floor(i / S)]), 'unbatched');
      // keep replays a 0/1 draw of the noise shape.
      const keep = tensor([1, 0, 1, 1, 0, 0, 1, 0], [N, C, 1, 1, 1], F64);
      expectExact(antler.dropout3d(x, 0.5, { keep }).dataSync(), xv.map((v, i) => v * [1, 0, 1, 1, 0, 0, 1, 0][Math.floor(i / S)] * 2), 'keep');
      // Gradients: the same mask.
      const xg = tensor(xv, [N, C, D, H, W], F64).requiresGrad_();
      antler.dropout3d(xg, 0.5, { keep }).sum().backward();
      expectExact(xg.grad!.dataSync(), xv.map((_, i) => [1, 0, 1, 1, 0, 0, 1, 0][Math.floor(i / S)] * 2), 'gradient');
      expectExact(antler.dropout3d(x, 0.5, { training: false }).dataSync(), xv, 'training false');
      expectExact(antler.dropout3d(x, 0).dataSync(), xv, 'p 0');
      expectExact(antler.dropout3d(x, 1).dataSync(), xv.map(() => 0), 'p 1');
    }));

  test('the kept fraction over many channels is 1 − p within 6 sigma; the module replays antler.setSeed; eval is the identity', () =>
    tidy(() => {
      const p = 0.3, n = 4000;
      const y = antler.dropout3d(antler.ones([n, 1, 1, 1, 1], F64), p).dataSync();
      const kept = Array.from(y).filter((v) => v !== 0).length;
      expect(Math.abs(kept / n - (1 - p))).toBeLessThan(6 * Math.sqrt((p * (1 - p)) / n));
      const x = tensor(randomArray(rng, 2 * 3 * 8), [2, 3, 2, 2, 2], F64);
      const mod = new nn.Dropout3d(0.5);
      antler.setSeed(11);
      const a = mod.forward(x).dataSync();
      antler.setSeed(11);
      expectExact(mod.forward(x).dataSync(), a, 'module replays antler.setSeed');
      // In training mode the module is dropout3d with its p (not the identity): the same draw as the function's.
      antler.setSeed(11);
      expectExact(a, antler.dropout3d(x, 0.5).dataSync(), 'module in training mode is dropout3d(x, p)');
      expect(Array.from(a)).not.toEqual(Array.from(x.dataSync()));
      mod.eval();
      expectExact(mod.forward(x).dataSync(), x.dataSync(), 'eval: identity');
      expect(String(new nn.Dropout3d(0.2))).toBe('Dropout3d(p: 0.2)');
    }));

  test('errors', () =>
    tidy(() => {
      expectAntlerError(() => antler.dropout3d(antler.zeros([2, 3, 4]), 0.5), 'SHAPE_MISMATCH', /dropout3d: x has shape \[2, 3, 4\]; expected 4-D \[C, D, H, W\] or 5-D \[N, C, D, H, W\]/);
      expectAntlerError(() => antler.dropout3d(antler.zeros([1, 2, 1, 1, 1, 1]), 0.5), 'SHAPE_MISMATCH', /expected 4-D/);
      expectAntlerError(() => antler.dropout3d(antler.zeros([1, 2, 1, 1, 1]), 1.5), 'INVALID_ARGUMENT', /p must be in \[0, 1\]; got 1.5/);
      expectAntlerError(() => antler.dropout3d(antler.zeros([1, 2, 1, 1, 1]), 0.5, { keep: antler.ones([1, 2, 1, 1]) }), 'SHAPE_MISMATCH', /noise shape \[1, 2, 1, 1, 1\]/);
      expectAntlerError(() => new nn.Dropout3d(-0.1), 'INVALID_ARGUMENT', /p must be in \[0, 1\]/);
    }));
});
