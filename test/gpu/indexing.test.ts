// The indexing ops that return integers (argmax, argmin, topk, oneHot, multinomial)
// and the index checks of gather/indexSelect on CUDA against the CPU. Their
// differentiable relatives (gather, indexSelect, logSumExp, the losses) are in
// the op registry (opinfo.test.ts). Skips where no GPU is usable.
import * as antler from '../../lib';
import { expectAntlerError, expectExact, makeSeededRng, randomArray, randomInts } from '../helpers';
import { native } from '../../lib/native';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('indexing tests');

const read = (t: antler.Tensor) => Array.from(t.dataSync());

run(`indexing on CUDA vs CPU (seed ${rng.seed})`, () => {
  test('argmax/argmin with ties and NaN, oneHot: the same indices on both devices', () =>
    antler.tidy(() => {
      const shape = [rng.int(1, 40), rng.int(1, 300)];
      const v = randomInts(rng, shape[0] * shape[1], -5, 5).map((k) => (rng.next() < 0.01 ? NaN : k));
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        const vals = dtype === 'int32' ? v.map((k) => (Number.isNaN(k) ? 9 : k)) : v;
        const [c, g] = ['cpu', 'cuda:0'].map((device) => antler.tensor(vals, shape, { dtype, device }));
        for (const axis of [0, 1, undefined]) {
          expectExact(read(antler.argmax(g, axis)), read(antler.argmax(c, axis)), `argmax ${dtype} axis ${axis}`);
          expectExact(read(antler.argmin(g, axis)), read(antler.argmin(c, axis)), `argmin ${dtype} axis ${axis}`);
        }
      }
      const labels = randomInts(rng, 50, 0, 9);
      const [lc, lg] = ['cpu', 'cuda:0'].map((device) => antler.tensor(labels, [50], { dtype: 'int32', device }));
      expectExact(read(antler.oneHot(lg, 10)), read(antler.oneHot(lc, 10)));
      expectAntlerError(() => antler.oneHot(lg, 5), 'INVALID_ARGUMENT', /outside \[0, 5\)/);
    }));

  test('topk with ties and NaN: the same indices and values on both devices, every axis, k from 0 to n', () =>
    antler.tidy(() => {
      const shape = [rng.int(1, 6), rng.int(1, 40), rng.int(1, 5)];
      const v = randomInts(rng, shape[0] * shape[1] * shape[2], -5, 5).map((k) => (rng.next() < 0.03 ? NaN : k));
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        const vals = dtype === 'int32' ? v.map((k) => (Number.isNaN(k) ? 9 : k)) : v;
        const [c, g] = ['cpu', 'cuda:0'].map((device) => antler.tensor(vals, shape, { dtype, device }));
        for (const axis of [0, 1, 2])
          for (const k of [...new Set([0, 1, Math.min(3, shape[axis]), Math.min(10, shape[axis]), shape[axis]])])
            for (const largest of [true, false]) {
              const [rc, rg] = [c, g].map((x) => antler.topk(x, k, { axis, largest }));
              const what = `topk ${dtype} ${shape} axis ${axis} k ${k} largest ${largest}`;
              expect(rg.indices.device).toBe('cuda:0');
              expectExact(read(rg.indices), read(rc.indices), what);
              expectExact(read(rg.values), read(rc.values), what);
            }
      }
    }));

  test('eye, linspace and the causal mask, made on the device: the CPU values bit for bit, on cuda:0', () =>
    antler.tidy(() => {
      const n = rng.int(0, 70), m = rng.int(0, 70), steps = rng.int(0, 3000);
      const [start, end] = [rng.uniform(-100, 100), rng.uniform(-100, 100)];
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        const [ec, eg] = ['cpu', 'cuda:0'].map((device) => antler.eye(n, m, { dtype, device }));
        expect(eg.device).toBe('cuda:0');
        expectExact(read(eg), read(ec), `eye ${dtype}`);
        const [lc, lg] = ['cpu', 'cuda:0'].map((device) => antler.linspace(start, end, steps, { dtype, device }));
        expect(lg.device).toBe('cuda:0');
        expectExact(read(lg), read(lc), `linspace ${dtype}`);
      }
      for (const dtype of ['float32', 'float64'] as const) {
        const [mc, mg] = ['cpu', 'cuda:0'].map((device) => antler.nn.generateSquareSubsequentMask(n, { dtype, device }));
        expect(mg.device).toBe('cuda:0');
        expectExact(read(mg), read(mc), `mask ${dtype}`);
      }
    }));

  test('sort and argsort (the CUDA merge sort): the same indices and values on both devices, long lines, ties and NaN', () =>
    antler.tidy(() => {
      for (const [shape, axis] of [[[3, 1000], 1], [[1, 20000], 1], [[2, 517, 3], 1], [[700, 5], 0], [[64, 33], 1]] as [number[], number][]) {
        const v = randomInts(rng, shape.reduce((a, b) => a * b, 1), -50, 50).map((k) => (rng.next() < 0.01 ? NaN : k));
        for (const dtype of ['float32', 'float64', 'int32'] as const) {
          const vals = dtype === 'int32' ? v.map((k) => (Number.isNaN(k) ? 99 : k)) : v;
          const [c, g] = ['cpu', 'cuda:0'].map((device) => antler.tensor(vals, shape, { dtype, device }));
          for (const descending of [false, true]) {
            const [rc, rg] = [c, g].map((x) => antler.sort(x, { axis, descending }));
            const what = `sort ${dtype} ${shape} axis ${axis} descending ${descending}`;
            expect(rg.indices.device).toBe('cuda:0');
            expectExact(read(rg.indices), read(rc.indices), what);
            expectExact(read(rg.values), read(rc.values), what);
            // topk with k below 8 on one long line takes the merge sort on CUDA too.
            const [tc, tg] = [c, g].map((x) => antler.topk(x, 5, { axis, largest: !descending }));
            expectExact(read(tg.indices), read(tc.indices), `topk 5 of ${what}`);
          }
        }
      }
    }));

  test('multinomial: a seed gives the same draw on both devices (Philox); frequencies follow the weights', () =>
    antler.tidy(() => {
      const C = rng.int(3, 12);
      const w = randomArray(rng, C, 0.1, 2);
      const [pc, pg] = ['cpu', 'cuda:0'].map((device) => antler.tensor([w, w], [2, C], { dtype: 'float64', device }));
      const seed = rng.int(0, 1e6);
      expectExact(read(antler.multinomial(pg, 200, { seed, replacement: true })), read(antler.multinomial(pc, 200, { seed, replacement: true })));
      expectExact(read(antler.multinomial(pg, C, { seed })), read(antler.multinomial(pc, C, { seed })));
      const S = 20000;
      const draws = read(antler.multinomial(pg, S, { replacement: true }));
      const total = w.reduce((a, b) => a + b, 0);
      const counts = new Array(C).fill(0);
      for (const d of draws) counts[d] += 1;
      for (let c = 0; c < C; c++) {
        const p = w[c] / total;
        expect(Math.abs(counts[c] - 2 * S * p)).toBeLessThan(6 * Math.sqrt(2 * S * p * (1 - p)) + 1);
      }
    }));

  test('out-of-range indices throw on CUDA with the CPU message; the input is unchanged', () =>
    antler.tidy(() => {
      const x = antler.tensor([1, 2, 3, 4, 5, 6], [2, 3], { device: 'cuda:0' });
      const idx = antler.tensor([[0, 3]], [1, 2], { dtype: 'int32', device: 'cuda:0' });
      expectAntlerError(() => antler.gather(x, 1, idx), 'INVALID_ARGUMENT', /index 3 at \[0, 1\] is outside \[0, 3\)/);
      const sel = antler.tensor([1, -2], [2], { dtype: 'int32', device: 'cuda:0' });
      expectAntlerError(() => antler.indexSelect(x, 0, sel), 'INVALID_ARGUMENT', /index -2 at \[1\]/);
      expectExact(read(x), [1, 2, 3, 4, 5, 6]);
      const cpuIdx = antler.tensor([[0, 1]], [1, 2], { dtype: 'int32' });
      expectAntlerError(() => antler.gather(x, 1, cpuIdx), 'DEVICE_MISMATCH', /cuda/);
    }));

  test("scatterAddRows (embedding's backward and the scatter-adds built on it) checks its row indices on CUDA when checked: the CPU's error, the first bad position; valid ones sum as on the CPU", () =>
    antler.tidy(() => {
      const lib = native();
      const n = rng.int(5, 40), rows = rng.int(1, 9), cols = rng.int(1, 70);
      const g = randomArray(rng, n * cols);
      const idx = randomInts(rng, n, 0, rows - 1);
      for (const dtype of ['float32', 'float64'] as const) {
        const [gc, gg] = ['cpu', 'cuda:0'].map((device) => antler.tensor(g, [n, cols], { dtype, device }));
        const [ic, ig] = ['cpu', 'cuda:0'].map((device) => antler.tensor(idx, [n], { dtype: 'int32', device }));
        const sum = (t: antler.Tensor, i: antler.Tensor, checked: boolean) => read(new antler.Tensor(lib.scatterAddRows(t.handle, i.handle, rows, checked)));
        const want = sum(gc, ic, true);
        for (const checked of [true, false])
          sum(gg, ig, checked).forEach((v, k) => expect(Math.abs(v - want[k])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[k]))));
        const at = rng.int(0, n - 2);
        const wrong = [...idx];
        wrong[at] = rng.next() < 0.5 ? -1 : rows;
        wrong[at + 1] = rows + 5; // a later bad one: the first is named
        const [bc, bg] = ['cpu', 'cuda:0'].map((device) => antler.tensor(wrong, [n], { dtype: 'int32', device }));
        const message = `embedding: gradient index at position ${at} is outside [0, ${rows})`;
        for (const checked of [true, false])
          expect(expectAntlerError(() => lib.scatterAddRows(gc.handle, bc.handle, rows, checked), 'INVALID_ARGUMENT').message).toBe(message);
        expect(expectAntlerError(() => lib.scatterAddRows(gg.handle, bg.handle, rows, true), 'INVALID_ARGUMENT').message).toBe(message);
        // Unchecked (no readback, no sync): CUDA throws nothing and the bad indices add nothing.
        const good = new Array<number>(rows * cols).fill(0);
        wrong.forEach((r, i) => { if (r >= 0 && r < rows) for (let c = 0; c < cols; c++) good[r * cols + c] += g[i * cols + c]; });
        sum(gg, bg, false).forEach((v, k) => expect(Math.abs(v - good[k])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(good[k]))));
        expectExact(read(bg), wrong, 'the indices are unchanged');
      }
    }));
});
