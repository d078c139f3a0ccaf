// The native scans of lib/ops/statistics.ts (cummax, cummin, logcumsumexp;
// kernels/scan_axis.h) on CUDA against the CPU: values and indices bit for bit
// for cummax/cummin (float32, float64, int32, ties and NaN), logcumsumexp and
// its gradient to rounding (both run the same double per-line math; only the
// device's exp/log differ), along every axis so that both inner = 1 and
// inner > 1 lines are covered. Skips where no GPU is usable.
import * as antler from '../../lib';
import { expectClose, expectExact, makeSeededRng } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('statistics tests');

const read = (t: antler.Tensor) => Array.from(t.dataSync());
const small = process.env.ANTLER_GPU_EMULATED === '1';

run(`statistics scans on CUDA vs CPU (seed ${rng.seed})`, () => {
  test('cummax/cummin with ties and NaN: the same values and indices on both devices, every axis and dtype', () =>
    antler.tidy(() => {
      const shape = [rng.int(1, 5), rng.int(1, small ? 60 : 600), rng.int(1, 7)];
      const n = shape[0] * shape[1] * shape[2];
      const v = Array.from({ length: n }, () => (rng.next() < 0.01 ? NaN : rng.int(-6, 6) / 2));
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        const vals = dtype === 'int32' ? v.map((k) => (Number.isNaN(k) ? 9 : Math.round(k))) : v;
        const [c, g] = ['cpu', 'cuda:0'].map((device) => antler.tensor(vals, shape, { dtype, device }));
        for (const axis of [0, 1, 2, -1])
          for (const op of ['cummax', 'cummin'] as const) {
            const [rc, rg] = [c, g].map((x) => antler[op](x, axis));
            const what = `${op} ${dtype} [${shape}] axis ${axis}`;
            expect(rg.values.device).toBe('cuda:0');
            expect(rg.indices.device).toBe('cuda:0');
            expectExact(read(rg.values), read(rc.values), `${what} values`);
            expectExact(read(rg.indices), read(rc.indices), `${what} indices`);
          }
      }
    }));

  test('logcumsumexp and its gradient (and cummax’s): CUDA matches the CPU to rounding, −∞ and NaN included', () =>
    antler.tidy(() => {
      const shape = [rng.int(1, 4), rng.int(1, small ? 50 : 500), rng.int(1, 5)];
      const n = shape[0] * shape[1] * shape[2];
      const v = Array.from({ length: n }, () => {
        const u = rng.next();
        return u < 0.02 ? -Infinity : u < 0.025 ? NaN : rng.uniform(-30, 30);
      });
      const gv = Array.from({ length: n }, () => rng.uniform(-1, 1));
      for (const dtype of ['float32', 'float64'] as const)
        for (const axis of [0, 1, 2]) {
          const [rc, rg] = ['cpu', 'cuda:0'].map((device) => {
            const x = antler.tensor(v, shape, { dtype, device, requiresGrad: true });
            const y = antler.logcumsumexp(x, axis);
            y.backward(antler.tensor(gv, shape, { dtype, device }));
            const m = antler.tensor(v.map((e) => (Number.isNaN(e) ? 0 : e)), shape, { dtype, device, requiresGrad: true });
            antler.cummax(m, axis).values.backward(antler.tensor(gv, shape, { dtype, device }));
            return { y: read(y), gx: read(x.grad!), gm: read(m.grad!) };
          });
          const tol = dtype === 'float32' ? 1e-6 : 1e-13;
          const what = `logcumsumexp ${dtype} [${shape}] axis ${axis}`;
          expectClose(rg.y, rc.y, tol, tol, what);
          expectClose(rg.gx, rc.gx, 10 * tol, 10 * tol, `${what} gradient`);
          expectClose(rg.gm, rc.gm, tol, tol, `cummax ${dtype} [${shape}] axis ${axis} gradient`);
        }
    }));
});
