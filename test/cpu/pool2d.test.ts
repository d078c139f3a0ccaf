/**
 * 2-D pooling (maxPool2d, avgPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d
 * and their modules), BatchNorm2d, InstanceNorm2d and dropout2d/Dropout2d
 * against float64 JavaScript loops written from PyTorch's definitions (each
 * axis's output size with ceil mode's "last window starts inside the input
 * or the left padding" rule, the divisor with and without the padding or
 * overridden, adaptive windows ⌊i·H/oh⌋ … ⌈(i+1)·H/oh⌉, the first maximum's
 * index in the flattened H·W plane), gradients against the same loops' and
 * against central finite differences.
 */
import * as antler from '../../lib';
import { nn, Tensor, tensor, tidy } from '../../lib';
import { dropoutMask } from '../../lib/ops/nn';
import { adaptiveAvgPoolComposite, adaptiveMaxPoolComposite, avgPoolComposite, checkPoolPositions, checkPoolTaps, maxPoolComposite, POOL_TAPS, poolPaths } from '../../lib/ops/pool';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeRng, randomArray, tensorCounts } from '../helpers';
import { distinct, finiteDifferences, instanceNormRef, outSize, stats, values } from '../pool-refs';

const rng = makeRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

interface Ref {
  y: number[];
  idx: number[];
  gx: number[];
  OH: number;
  OW: number;
}

/**
 * Each [H, W] plane of x ([rows, H, W] flattened) reduced over windows given
 * per output (oh, ow) as lists of [row, col] taps (outside the plane:
 * padding), scanned in order; g is the output's upstream gradient.
 */
function poolPlanes(x: number[], rows: number, H: number, W: number, windows: [number, number][][], OH: number, OW: number, reduce: 'max' | number[], g: number[]): Ref {
  const y: number[] = [], idx: number[] = [];
  const gx = new Array<number>(rows * H * W).fill(0);
  const inside = ([r, c]: [number, number]) => r >= 0 && r < H && c >= 0 && c < W;
  for (let r = 0; r < rows; r++)
    windows.forEach((win, t) => {
      const go = g[r * OH * OW + t];
      if (reduce === 'max') {
        // PyTorch's scan: the first strictly larger value, or a NaN, replaces the best; padding (−∞) is never picked.
        let best = -Infinity, at = -1;
        for (const q of win) {
          if (!inside(q)) continue;
          const v = x[r * H * W + q[0] * W + q[1]];
          if (at < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) [best, at] = [v, q[0] * W + q[1]];
        }
        y.push(at < 0 ? -Infinity : best);
        idx.push(at);
        if (at >= 0) gx[r * H * W + at] += go;
      } else {
        let acc = 0;
        for (const q of win) if (inside(q)) acc += x[r * H * W + q[0] * W + q[1]];
        y.push(acc / reduce[t]);
        for (const q of win) if (inside(q)) gx[r * H * W + q[0] * W + q[1]] += go / reduce[t];
      }
    });
  return { y, idx, gx, OH, OW };
}

interface Geometry {
  k: [number, number];
  s: [number, number];
  p: [number, number];
  d: [number, number];
  ceil: boolean;
}

function slidingRef(x: number[], rows: number, H: number, W: number, geo: Geometry, g: (n: number) => number[], reduce: 'max' | { includePad: boolean; override?: number }): Ref {
  const { k, s, p, d, ceil } = geo;
  const OH = outSize(H, k[0], s[0], p[0], d[0], ceil), OW = outSize(W, k[1], s[1], p[1], d[1], ceil);
  const windows: [number, number][][] = [];
  const divisors: number[] = [];
  for (let i = 0; i < OH; i++)
    for (let j = 0; j < OW; j++) {
      const h0 = i * s[0] - p[0], w0 = j * s[1] - p[1];
      const win: [number, number][] = [];
      for (let a = 0; a < k[0]; a++) for (let b = 0; b < k[1]; b++) win.push([h0 + a * d[0], w0 + b * d[1]]);
      windows.push(win);
      if (reduce !== 'max') {
        // PyTorch's avg_pool2d: the window clipped to the padded input (pool_size), then to the input.
        const h1 = Math.min(h0 + k[0], H + p[0]), w1 = Math.min(w0 + k[1], W + p[1]);
        const poolSize = (h1 - h0) * (w1 - w0);
        const inner = (Math.min(h1, H) - Math.max(h0, 0)) * (Math.min(w1, W) - Math.max(w0, 0));
        divisors.push(reduce.override ?? (reduce.includePad ? poolSize : inner));
      }
    }
  return poolPlanes(x, rows, H, W, windows, OH, OW, reduce === 'max' ? 'max' : divisors, g(rows * OH * OW));
}

function adaptiveRef(x: number[], rows: number, H: number, W: number, OH: number, OW: number, g: number[], reduce: 'max' | 'avg'): Ref {
  const span = (i: number, L: number, out: number) => [Math.floor((i * L) / out), Math.ceil(((i + 1) * L) / out)];
  const windows: [number, number][][] = [];
  for (let i = 0; i < OH; i++)
    for (let j = 0; j < OW; j++) {
      const [h0, h1] = span(i, H, OH), [w0, w1] = span(j, W, OW);
      const win: [number, number][] = [];
      for (let a = h0; a < h1; a++) for (let b = w0; b < w1; b++) win.push([a, b]);
      windows.push(win);
    }
  return poolPlanes(x, rows, H, W, windows, OH, OW, reduce === 'max' ? 'max' : windows.map((w) => w.length), g);
}

function check(name: string, got: Tensor | { values: Tensor; indices: Tensor }, x: Tensor, ref: Ref, lead: number[], gv: number[]): void {
  const y = got instanceof Tensor ? got : got.values;
  expect(y.shape).toEqual([...lead, ref.OH, ref.OW]);
  expectClose(y.dataSync(), ref.y, 1e-13, 1e-14, `${name} values`);
  if (!(got instanceof Tensor)) {
    expect(got.indices.dtype).toBe('int32');
    expect(got.indices.shape).toEqual(y.shape);
    expectExact(got.indices.dataSync(), ref.idx, `${name} indices`);
  }
  antler.sum(antler.mul(y, tensor(gv, y.shape, { dtype: 'float64' }))).backward();
  expectClose(x.grad!.dataSync(), ref.gx, 1e-13, 1e-14, `${name} gradient`);
}

/** A size option as the op takes it: a number where both axes agree (sometimes), else [h, w]. */
const opt = (v: [number, number]): number | [number, number] => (v[0] === v[1] && rng.next() < 0.5 ? v[0] : v);

/** A random geometry whose output is not empty. */
function geometry(H: number, W: number, dilated: boolean): Geometry | null {
  const k: [number, number] = [rng.int(1, 4), rng.int(1, 4)];
  const s: [number, number] = [rng.int(1, 3), rng.int(1, 3)];
  const p: [number, number] = [rng.int(0, k[0] >> 1), rng.int(0, k[1] >> 1)];
  const d: [number, number] = dilated ? [rng.int(1, 3), rng.int(1, 3)] : [1, 1];
  const ceil = rng.next() < 0.5;
  if (outSize(H, k[0], s[0], p[0], d[0], ceil) < 1 || outSize(W, k[1], s[1], p[1], d[1], ceil) < 1) return null;
  return { k, s, p, d, ceil };
}

describe(`2-D pooling against PyTorch's definitions (seed ${SEED})`, () => {
  test('maxPool2d: random geometries (stride, padding, dilation, ceil mode per axis), indices in the H·W plane, ties, NaN, −∞, gradients', () => {
    let tried = 0;
    while (tried < 120)
      tidy(() => {
        const [N, C, H, W] = [rng.int(1, 2), rng.int(1, 3), rng.int(1, 8), rng.int(1, 8)];
        const geo = geometry(H, W, true);
        if (!geo) return;
        tried++;
        const xv = values(rng, N * C * H * W);
        const unbatched = N === 1 && rng.next() < 0.3;
        const shape = unbatched ? [C, H, W] : [N, C, H, W];
        const x = tensor(xv, shape, { dtype: 'float64', requiresGrad: true });
        let gv: number[] = [];
        const ref = slidingRef(xv, N * C, H, W, geo, (n) => (gv = randomArray(rng, n)), 'max');
        const stride = rng.next() < 0.2 && geo.s[0] === geo.k[0] && geo.s[1] === geo.k[1] ? undefined : opt(geo.s);
        const got = antler.maxPool2d(x, opt(geo.k), { stride, padding: opt(geo.p), dilation: opt(geo.d), ceilMode: geo.ceil, returnIndices: true });
        check(`max ${JSON.stringify(geo)} [${shape}]`, got, x, ref, shape.slice(0, -2), gv);
      });
  });

  test('avgPool2d: random geometries, the divisor with and without the padding, divisorOverride, ceil mode; gradients', () => {
    let tried = 0;
    while (tried < 120)
      tidy(() => {
        const [N, C, H, W] = [rng.int(1, 2), rng.int(1, 3), rng.int(1, 8), rng.int(1, 8)];
        const geo = geometry(H, W, false);
        if (!geo) return;
        tried++;
        const xv = randomArray(rng, N * C * H * W, -3, 3);
        const unbatched = N === 1 && rng.next() < 0.3;
        const shape = unbatched ? [C, H, W] : [N, C, H, W];
        const x = tensor(xv, shape, { dtype: 'float64', requiresGrad: true });
        const includePad = rng.next() < 0.5;
        const override = rng.next() < 0.25 ? rng.pick([1, 3, 7, -2]) : undefined;
        let gv: number[] = [];
        const ref = slidingRef(xv, N * C, H, W, geo, (n) => (gv = randomArray(rng, n)), { includePad, override });
        const got = antler.avgPool2d(x, opt(geo.k), { stride: opt(geo.s), padding: opt(geo.p), ceilMode: geo.ceil, countIncludePad: includePad, divisorOverride: override });
        check(`avg ${JSON.stringify(geo)} pad ${includePad} override ${override} [${shape}]`, got, x, ref, shape.slice(0, -2), gv);
      });
  });

  test("ceil mode's edge: a last window that would start in the right padding is dropped (H 5, kernel 2, stride 2, padding 1: 3 rows, not 4)", () =>
    tidy(() => {
      const x = antler.arange(20, undefined, 1, { dtype: 'float64' }).reshape([1, 1, 5, 4]);
      expect(outSize(5, 2, 2, 1, 1, true)).toBe(3);
      expect(antler.maxPool2d(x, 2, { stride: 2, padding: 1, ceilMode: true }).shape).toEqual([1, 1, 3, 3]);
      // PyTorch 1.13: avg_pool2d(arange(20).view(1, 1, 5, 4), 2, 2, 1, ceil_mode=True), the last column's windows clipped to the padded input.
      expectExact(antler.avgPool2d(x, 2, { stride: 2, padding: 1, ceilMode: true }).dataSync(), [0, 0.75, 0.75, 3, 7.5, 4.5, 7, 15.5, 8.5]);
      // Without ceil mode: ⌊⌋.
      expect(antler.avgPool2d(x, 2, { stride: 2, padding: 1 }).shape).toEqual([1, 1, 3, 3]);
      expect(antler.maxPool2d(x, 2, { stride: 2, ceilMode: true }).shape).toEqual([1, 1, 3, 2]);
    }));

  test('adaptive average and maximum: windows ⌊i·H/oh⌋ … ⌈(i+1)·H/oh⌉ per axis, null keeping an axis, indices, gradients', () => {
    for (let trial = 0; trial < 80; trial++)
      tidy(() => {
        const [N, C, H, W] = [rng.int(1, 2), rng.int(1, 3), rng.int(1, 9), rng.int(1, 9)];
        const os: [number | null, number | null] = [rng.next() < 0.15 ? null : rng.int(1, 10), rng.next() < 0.15 ? null : rng.int(1, 10)];
        const [OH, OW] = [os[0] ?? H, os[1] ?? W];
        const kind = rng.pick(['max', 'avg'] as const);
        const xv = kind === 'max' ? values(rng, N * C * H * W) : randomArray(rng, N * C * H * W);
        const unbatched = N === 1 && rng.next() < 0.3;
        const shape = unbatched ? [C, H, W] : [N, C, H, W];
        const x = tensor(xv, shape, { dtype: 'float64', requiresGrad: true });
        const gv = randomArray(rng, N * C * OH * OW);
        const ref = adaptiveRef(xv, N * C, H, W, OH, OW, gv, kind);
        const size = os[0] !== null && os[0] === os[1] && rng.next() < 0.5 ? os[0] : os;
        const got = kind === 'max' ? antler.adaptiveMaxPool2d(x, size, { returnIndices: true }) : antler.adaptiveAvgPool2d(x, size);
        check(`adaptive ${kind} [${H}, ${W}] → ${JSON.stringify(size)}`, got, x, ref, shape.slice(0, -2), gv);
      });
    tidy(() => {
      const x = tensor(randomArray(rng, 2 * 3 * 4), [2, 3, 4], { dtype: 'float64' });
      expectExact(antler.adaptiveAvgPool2d(x, null).dataSync(), x.dataSync(), 'null: the input size');
      expectClose(antler.adaptiveAvgPool2d(x, 1).dataSync(), antler.mean(x, [1, 2]).dataSync(), 1e-15, 1e-15, 'global average');
    });
  });

  test('float64 gradients match central finite differences (max on inputs without ties)', () => {
    const cases: [string, (x: Tensor) => Tensor][] = [
      ['maxPool2d', (x) => antler.maxPool2d(x, [3, 2], { stride: [2, 1], padding: [1, 1], dilation: [1, 2], ceilMode: true })],
      ['avgPool2d', (x) => antler.avgPool2d(x, [3, 2], { stride: [2, 1], padding: [1, 0], ceilMode: true, countIncludePad: false })],
      ['avgPool2d(divisorOverride)', (x) => antler.avgPool2d(x, 2, { stride: 1, padding: 1, divisorOverride: 3 })],
      ['adaptiveMaxPool2d', (x) => antler.adaptiveMaxPool2d(x, [3, 4])],
      ['adaptiveAvgPool2d', (x) => antler.adaptiveAvgPool2d(x, [4, 2])],
    ];
    for (const [name, f] of cases)
      tidy(() => {
        const shape = [2, 2, 5, 6];
        const xv = distinct(rng, 120);
        const x = tensor(xv, shape, { dtype: 'float64', requiresGrad: true });
        const y = f(x);
        const gv = randomArray(rng, y.size);
        antler.sum(antler.mul(y, tensor(gv, y.shape, { dtype: 'float64' }))).backward();
        expectClose(x.grad!.dataSync(), finiteDifferences(f, xv, shape, gv), 1e-7, 1e-8, `${name} finite differences`);
      });
  });

  test('float32 results equal float64 ones (max exactly; means to float32 precision); unbatched [C, H, W] is the batch of one', () =>
    tidy(() => {
      const xv = randomArray(rng, 2 * 3 * 7 * 6);
      const x64 = tensor(xv, [2, 3, 7, 6], { dtype: 'float64' });
      const x32 = tensor(xv, [2, 3, 7, 6]);
      expect(antler.maxPool2d(x32, 3).dtype).toBe('float32');
      expectExact(antler.maxPool2d(x32, 3, { stride: 2, padding: 1 }).dataSync(), Array.from(antler.maxPool2d(x32.cast('float64'), 3, { stride: 2, padding: 1 }).dataSync()));
      expectClose(antler.avgPool2d(x32, [4, 3], { stride: [3, 2], padding: [2, 1], ceilMode: true }).dataSync(), antler.avgPool2d(x64, [4, 3], { stride: [3, 2], padding: [2, 1], ceilMode: true }).dataSync(), 1e-6, 1e-6);
      expectClose(antler.adaptiveAvgPool2d(x32, [3, 4]).dataSync(), antler.adaptiveAvgPool2d(x64, [3, 4]).dataSync(), 1e-6, 1e-6);
      const one = tensor(xv.slice(0, 3 * 7 * 6), [3, 7, 6], { dtype: 'float64' });
      const batched = one.reshape([1, 3, 7, 6]);
      const fs: [string, (t: Tensor) => Tensor][] = [
        ['max', (t) => antler.maxPool2d(t, 3, { padding: 1 })],
        ['avg', (t) => antler.avgPool2d(t, 2, { padding: 1 })],
        ['adaptive max', (t) => antler.adaptiveMaxPool2d(t, [2, 5])],
        ['adaptive avg', (t) => antler.adaptiveAvgPool2d(t, 1)],
      ];
      for (const [name, f] of fs) {
        const u = f(one);
        expect(u.rank).toBe(3);
        expectExact(u.dataSync(), f(batched).dataSync(), name);
      }
    }));

  test('the modules: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d forward the functions; sizes kept as [h, w]', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 2 * 2 * 6 * 7), [2, 2, 6, 7], { dtype: 'float64' });
      const mp = new nn.MaxPool2d(3, { stride: [2, 1], padding: 1, returnIndices: true });
      expect([mp.kernelSize, mp.stride, mp.padding, mp.dilation, mp.ceilMode]).toEqual([[3, 3], [2, 1], [1, 1], [1, 1], false]);
      const r = mp.forward(x), f = antler.maxPool2d(x, 3, { stride: [2, 1], padding: 1, returnIndices: true });
      expectExact(r.values.dataSync(), f.values.dataSync());
      expectExact(r.indices.dataSync(), f.indices.dataSync());
      const ap = new nn.AvgPool2d([2, 3], { countIncludePad: false, ceilMode: true, padding: [1, 0], divisorOverride: 5 });
      expect([ap.kernelSize, ap.stride, ap.padding, ap.divisorOverride]).toEqual([[2, 3], [2, 3], [1, 0], 5]);
      expectExact(ap.forward(x).dataSync(), antler.avgPool2d(x, [2, 3], { countIncludePad: false, ceilMode: true, padding: [1, 0], divisorOverride: 5 }).dataSync());
      expectExact(new nn.AdaptiveAvgPool2d([null, 3]).forward(x).dataSync(), antler.adaptiveAvgPool2d(x, [6, 3]).dataSync());
      const am = new nn.AdaptiveMaxPool2d(2, { returnIndices: true }).forward(x);
      expectExact(am.indices.dataSync(), antler.adaptiveMaxPool2d(x, [2, 2], { returnIndices: true }).indices.dataSync());
      expect(new nn.AdaptiveMaxPool2d(4).forward(x).shape).toEqual([2, 2, 4, 4]);
      // toString shows the [h, w] sizes (short arrays of scalars or nulls), as PyTorch's repr shows its tuples
      expect(String(mp)).toBe('MaxPool2d(kernelSize: [3, 3], stride: [2, 1], padding: [1, 1], dilation: [1, 1], ceilMode: false, returnIndices: true)');
      expect(String(new nn.AdaptiveAvgPool2d([null, 3]))).toBe('AdaptiveAvgPool2d(outputSize: [null, 3])');
    }));
});

describe(`BatchNorm2d, InstanceNorm2d and Dropout2d (seed ${SEED})`, () => {
  test('BatchNorm2d: training normalises over N, H, W and updates running statistics (momentum 0.1 and null); eval uses them', () =>
    tidy(() => {
      for (const momentum of [0.1, null, 0.3]) {
        const [N, C, H, W] = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 4), rng.int(2, 4)];
        const HW = H * W;
        const bn = new nn.BatchNorm2d(C, { momentum, dtype: 'float64' });
        bn.weight!.assign(tensor(randomArray(rng, C), [C], { dtype: 'float64' }));
        bn.bias!.assign(tensor(randomArray(rng, C), [C], { dtype: 'float64' }));
        const w = Array.from(bn.weight!.dataSync()), b = Array.from(bn.bias!.dataSync());
        let rm = new Array<number>(C).fill(0), rv = new Array<number>(C).fill(1);
        for (let step = 1; step <= 3; step++) {
          const xv = randomArray(rng, N * C * HW, -2, 3);
          const y = bn.forward(tensor(xv, [N, C, H, W], { dtype: 'float64' }));
          const want = new Array<number>(xv.length);
          for (let c = 0; c < C; c++) {
            const { mean, varB, count } = stats(xv, N, C, HW, null, c);
            for (let n = 0; n < N; n++) for (let j = 0; j < HW; j++) want[(n * C + c) * HW + j] = ((xv[(n * C + c) * HW + j] - mean) / Math.sqrt(varB + 1e-5)) * w[c] + b[c];
            const m = momentum ?? 1 / step;
            rm[c] = (1 - m) * rm[c] + m * mean;
            rv[c] = (1 - m) * rv[c] + m * (count > 1 ? (varB * count) / (count - 1) : varB);
          }
          expectClose(y.dataSync(), want, 1e-12, 1e-12, `training step ${step} momentum ${momentum}`);
          expectClose(bn.runningMean!.dataSync(), rm, 1e-13, 1e-14, `running mean step ${step}`);
          expectClose(bn.runningVar!.dataSync(), rv, 1e-13, 1e-14, `running var step ${step}`);
          expect(bn.numBatchesTracked!.item()).toBe(step);
        }
        bn.eval();
        const xv = randomArray(rng, N * C * HW);
        const y = bn.forward(tensor(xv, [N, C, H, W], { dtype: 'float64' }));
        const want = xv.map((v, i) => {
          const c = Math.floor(i / HW) % C;
          return ((v - rm[c]) / Math.sqrt(rv[c] + 1e-5)) * w[c] + b[c];
        });
        expectClose(y.dataSync(), want, 1e-12, 1e-12, 'eval');
        expect(y.shape).toEqual([N, C, H, W]);
        expect(Object.keys(bn.stateDict()).sort()).toEqual(['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']);
        bn.dispose();
      }
    }));

  test("optim.updateBn recomputes a BatchNorm2d's statistics too (a BatchNorm1d subclass, as PyTorch's _BatchNorm check)", () =>
    tidy(() => {
      const bn = new nn.BatchNorm2d(2, { dtype: 'float64' });
      const batches = [0, 1].map(() => randomArray(rng, 3 * 2 * 2 * 3, -1, 2));
      bn.forward(tensor(randomArray(rng, 24, 5, 9), [2, 2, 2, 3], { dtype: 'float64' })); // stale statistics
      bn.eval();
      antler.optim.updateBn(batches.map((b) => tensor(b, [3, 2, 2, 3], { dtype: 'float64' })), bn);
      const mean = [0, 1].map((c) => batches.reduce((acc, b) => acc + stats(b, 3, 2, 6, null, c).mean, 0) / 2);
      expectClose(bn.runningMean!.dataSync(), mean, 1e-14, 1e-14, 'cumulative average of the batch means');
      expect(bn.training).toBe(false);
      expect(bn.momentum).toBe(0.1);
      bn.dispose();
    }));

  test('InstanceNorm2d: each (n, c) plane normalised over H, W; unbatched [C, H, W]; running statistics with trackRunningStats', () =>
    tidy(() => {
      const [N, C, H, W] = [2, 3, 3, 4];
      const HW = H * W;
      const xv = randomArray(rng, N * C * HW, -2, 2);
      const m = new nn.InstanceNorm2d(C, { affine: true, trackRunningStats: true, dtype: 'float64' });
      const y = m.forward(tensor(xv, [N, C, H, W], { dtype: 'float64' }));
      const { want, rm, rv } = instanceNormRef(xv, N, C, HW);
      expectClose(y.dataSync(), want, 1e-12, 1e-12, 'instance norm');
      expectClose(m.runningMean!.dataSync(), rm, 1e-13, 1e-14, 'running mean');
      expectClose(m.runningVar!.dataSync(), rv, 1e-13, 1e-14, 'running var');
      const plain = new nn.InstanceNorm2d(C, { dtype: 'float64' });
      const one = tensor(xv.slice(0, C * HW), [C, H, W], { dtype: 'float64' });
      const u = plain.forward(one);
      expect(u.shape).toEqual([C, H, W]);
      expectClose(u.dataSync(), want.slice(0, C * HW), 1e-12, 1e-12, 'unbatched');
      m.dispose();
      plain.dispose();
    }));

  test('dropout2d / Dropout2d zero whole channels, scale the rest by 1/(1 − p), replay from a seed (dropoutMask of [N, C, 1, 1])', () =>
    tidy(() => {
      const [N, C, H, W] = [3, 5, 2, 3];
      const xv = randomArray(rng, N * C * H * W).map((v) => v + 2); // no zeros
      const x = tensor(xv, [N, C, H, W], { dtype: 'float64' });
      for (const p of [0.25, 0.5, 0.8]) {
        const seed = rng.int(1, 1e6);
        const y = Array.from(antler.dropout2d(x, p, { seed }).dataSync());
        const mask = dropoutMask([N, C, 1, 1], p, { dtype: 'float64', seed }).dataSync();
        expectExact(y, xv.map((v, i) => v * mask[Math.floor(i / (H * W))]), `p ${p}: dropoutMask's draw`);
        expectExact(antler.dropout2d(x, p, { seed }).dataSync(), y, `p ${p} replays`);
        for (let ch = 0; ch < N * C; ch++) {
          const plane = y.slice(ch * H * W, (ch + 1) * H * W);
          const kept = plane[0] !== 0;
          plane.forEach((v, j) => expect(v).toBe(kept ? xv[ch * H * W + j] * (1 / (1 - p)) : 0));
        }
      }
      // Unbatched [C, H, W]: one draw per channel.
      const u = Array.from(antler.dropout2d(x.reshape([N * C, H, W]), 0.5, { seed: 7 }).dataSync());
      const um = dropoutMask([N * C, 1, 1], 0.5, { dtype: 'float64', seed: 7 }).dataSync();
      expectExact(u, xv.map((v, i) => v * um[Math.floor(i / (H * W))]), 'unbatched');
      const mod = new nn.Dropout2d(0.5);
      antler.setSeed(11);
      const a = mod.forward(x).dataSync();
      antler.setSeed(11);
      expectExact(mod.forward(x).dataSync(), a, 'module replays antler.setSeed');
      mod.eval();
      expectExact(mod.forward(x).dataSync(), xv, 'eval: identity');
    }));
});

describe('errors', () => {
  test('bad input throws AntlerError with a code, damaging nothing', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 2 * 2 * 4 * 4), [2, 2, 4, 4], { dtype: 'float64' });
      const before = Array.from(x.dataSync());
      expectAntlerError(() => antler.maxPool2d(x.reshape([4, 16]), 2), 'SHAPE_MISMATCH', /\[N, C, H, W\] or unbatched \[C, H, W\]/);
      expectAntlerError(() => antler.avgPool2d(x, [3, 2], { padding: [2, 0] }), 'INVALID_ARGUMENT', /padding\[0\] 2 is more than half the kernel size\[0\] 3/);
      expectAntlerError(() => antler.maxPool2d(x, 3, { padding: 2 }), 'INVALID_ARGUMENT', /padding 2 is more than half/);
      expectAntlerError(() => antler.maxPool2d(x, [2, 2, 2] as unknown as [number, number]), 'INVALID_ARGUMENT', /kernelSize must be a number or \[h, w\]/);
      expectAntlerError(() => antler.maxPool2d(x, [5, 2]), 'SHAPE_MISMATCH', /height 4 .* shorter than the window's span 5/);
      expectAntlerError(() => antler.avgPool2d(x, 2, { stride: [1, 0] }), 'INVALID_ARGUMENT', /stride\[1\] must be an integer >= 1/);
      expectAntlerError(() => antler.avgPool2d(x, 2, { divisorOverride: 0 }), 'INVALID_ARGUMENT', /divisorOverride must be a nonzero integer/);
      expectAntlerError(() => antler.maxPool2d(x, 2, { bogus: 1 } as never), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.maxPool2d(tensor([1, 2, 3, 4], [1, 1, 2, 2], { dtype: 'int32' }), 2), 'DTYPE_MISMATCH');
      expectAntlerError(() => antler.adaptiveAvgPool2d(x, [0, 2]), 'INVALID_ARGUMENT', /outputSize\[0\] must be an integer >= 1/);
      expectAntlerError(() => antler.adaptiveMaxPool2d(x, undefined as unknown as number), 'INVALID_ARGUMENT', /outputSize/);
      expectAntlerError(() => new nn.MaxPool2d(3, { padding: 2 }), 'INVALID_ARGUMENT', /MaxPool2d: padding/);
      expectAntlerError(() => new nn.AvgPool2d(2, { divisorOverride: 0 }), 'INVALID_ARGUMENT', /AvgPool2d: divisorOverride/);
      expectAntlerError(() => new nn.AdaptiveAvgPool2d([2, 0]), 'INVALID_ARGUMENT', /AdaptiveAvgPool2d: outputSize\[1\]/);
      expectAntlerError(() => new nn.BatchNorm2d(2, { momentum: 'x' } as never), 'INVALID_ARGUMENT', /BatchNorm2d/);
      const [bn2, bn3, in2, in3] = [new nn.BatchNorm2d(2), new nn.BatchNorm2d(3), new nn.InstanceNorm2d(2), new nn.InstanceNorm2d(3)];
      expect(String(bn2)).toBe('BatchNorm2d(numFeatures: 2, eps: 0.00001, momentum: 0.1, affine: true, trackRunningStats: true)');
      expectAntlerError(() => bn2.forward(x.reshape([2, 2, 16])), 'SHAPE_MISMATCH', /BatchNorm2d: expected input \[N, C, H, W\]/);
      expectAntlerError(() => bn3.forward(x), 'SHAPE_MISMATCH', /BatchNorm2d: input has 2 channels/);
      expectAntlerError(() => in3.forward(x.reshape([2, 2, 16])), 'SHAPE_MISMATCH', /InstanceNorm2d: input has 2 channels \(axis 0/);
      expectAntlerError(() => in2.forward(x.reshape([4, 16])), 'SHAPE_MISMATCH', /InstanceNorm2d: expected input/);
      expectAntlerError(() => in2.forward(tensor([1, 2], [1, 2, 1, 1], { dtype: 'float64' })), 'INVALID_ARGUMENT', /InstanceNorm2d: expected more than 1 spatial element .* got input of shape \[1, 2, 1, 1\]/);
      const one = tensor([1, 2], [1, 2, 1, 1], { dtype: 'float64' });
      expectAntlerError(() => bn2.cast('float64').forward(one), 'INVALID_ARGUMENT', /BatchNorm2d: expected more than 1 value per channel .* got input of shape \[1, 2, 1, 1\]/);
      expect(bn2.numBatchesTracked!.item()).toBe(0);
      bn2.eval(); // the running statistics: one value per channel is fine
      expect(bn2.forward(one).shape).toEqual([1, 2, 1, 1]);
      for (const m of [bn2, bn3, in2, in3]) m.dispose();
      expectAntlerError(() => antler.dropout2d(x.reshape([4, 16]), 0.5), 'SHAPE_MISMATCH', /dropout2d: x has shape \[4, 16\]/);
      expectAntlerError(() => antler.dropout2d(x, 1.5), 'INVALID_ARGUMENT');
      expectExact(x.dataSync(), before, 'input unchanged');
    }));
});

describe('pooling past int32 positions', () => {
  // The check every pooling op runs on its input's spatial sizes (poolInput), on shapes alone: such an input is 8 GiB of float32.
  test('2^31 positions per channel or more are refused; one fewer passes (its fill column is index 2^31 − 1)', () => {
    expect(checkPoolPositions('maxPool2d', [2 ** 16, 2 ** 15 - 1])).toBe(2 ** 31 - 2 ** 16);
    expect(checkPoolPositions('maxPool1d', [2 ** 31 - 1])).toBe(2 ** 31 - 1);
    expectAntlerError(() => checkPoolPositions('maxPool1d', [2 ** 31]), 'INVALID_ARGUMENT', /maxPool1d: the input has 2147483648 positions per channel; .*int32/);
    expectAntlerError(() => checkPoolPositions('avgPool2d', [2 ** 16, 2 ** 15]), 'INVALID_ARGUMENT', /avgPool2d: the input has 65536·32768 = 2147483648 positions/);
    expectAntlerError(() => checkPoolPositions('maxPool3d', [2 ** 11, 2 ** 11, 2 ** 11]), 'INVALID_ARGUMENT', /maxPool3d: the input has 2048·2048·2048 = 8589934592 positions/);
    // Ordinary inputs keep working through the same check.
    tidy(() => expect(antler.maxPool2d(tensor([1, 5, 3, 2], [1, 1, 2, 2]), 2).dataSync()[0]).toBe(5));
  });

  // A shape-only stand-in: the checks run before any data is read (a real one would be gigabytes).
  const standIn = (shape: number[]): Tensor => {
    const t = Object.create(Tensor.prototype) as Tensor;
    for (const [k, v] of Object.entries({ shape, rank: shape.length, dtype: 'float32', device: 'cpu', isDisposed: false, handle: {} })) Object.defineProperty(t, k, { value: v });
    return t;
  };
  const big = { 1: [1, 1, 2 ** 31], 2: [1, 1, 2 ** 16, 2 ** 15], 3: [1, 1, 2 ** 11, 2 ** 10, 2 ** 10] } as Record<number, number[]>;
  const pools: [string, (x: Tensor) => unknown, number][] = [
    ['maxPool1d', (x) => antler.maxPool1d(x, 2), 1], ['avgPool1d', (x) => antler.avgPool1d(x, 2), 1],
    ['adaptiveAvgPool1d', (x) => antler.adaptiveAvgPool1d(x, 2), 1], ['adaptiveMaxPool1d', (x) => antler.adaptiveMaxPool1d(x, 2), 1],
    ['maxPool2d', (x) => antler.maxPool2d(x, 2), 2], ['avgPool2d', (x) => antler.avgPool2d(x, 2), 2],
    ['adaptiveAvgPool2d', (x) => antler.adaptiveAvgPool2d(x, 2), 2], ['adaptiveMaxPool2d', (x) => antler.adaptiveMaxPool2d(x, 2), 2],
    ['maxPool3d', (x) => antler.maxPool3d(x, 2), 3], ['avgPool3d', (x) => antler.avgPool3d(x, 2), 3],
    ['adaptiveAvgPool3d', (x) => antler.adaptiveAvgPool3d(x, 2), 3], ['adaptiveMaxPool3d', (x) => antler.adaptiveMaxPool3d(x, 2), 3],
  ];

  test('every pooling function runs the check: 2^31 positions per channel refused (batched and unbatched)', () => {
    for (const [name, f, k] of pools) {
      expectAntlerError(() => f(standIn(big[k])), 'INVALID_ARGUMENT', new RegExp(`^${name}: the input has .*2147483648 positions per channel; pooling indexes them .* as int32`));
      expectAntlerError(() => f(standIn(big[k].slice(1))), 'INVALID_ARGUMENT', new RegExp(`^${name}: the input has .*2147483648 positions per channel`));
    }
  });

  test('windows of more taps than a JavaScript array holds are refused by the composites (sliding-window and adaptive) before they are laid out (V8 aborted the process, or threw a RangeError)', () => {
    // 1-D: 2^27 windows of one tap (V8 cannot grow an array past about 1.1e8 elements: "Fatal JavaScript invalid size error").
    expectAntlerError(() => maxPoolComposite(1, standIn([1, 1, 2 ** 27]), 1, { stride: 1 }), 'INVALID_ARGUMENT', /^maxPool1d: the windows need 134217728 taps per channel \(134217728 output positions × 1 tap each\); .*at most 100000000/);
    expectAntlerError(() => adaptiveMaxPoolComposite(1, standIn([1, 2 ** 27]), 1000), 'INVALID_ARGUMENT', /^adaptiveMaxPool1d: the windows need 134219000 taps per channel \(1000 output positions × 134219 taps each\)/);
    expectAntlerError(() => adaptiveAvgPoolComposite(1, standIn([1, 2 ** 20]), 2 ** 27), 'INVALID_ARGUMENT', /^adaptiveAvgPool1d: the windows need 134217728 taps per channel \(134217728 output positions × 1 tap each\)/);
    // 2-D: a 3×3 "same" max pool (a heatmap's peaks) over 4096×4096: 1.5e8 taps, well below 2^31 positions.
    expectAntlerError(() => maxPoolComposite(2, standIn([1, 1, 4096, 4096]), 3, { stride: 1, padding: 1 }), 'INVALID_ARGUMENT', /^maxPool2d: the windows need 150994944 taps per channel \(4096·4096 output positions × 3·3 taps each\); pooling lays them out in host arrays of at most 100000000 .*pool the input in tiles, or with a larger stride$/);
    expectAntlerError(() => avgPoolComposite(3, standIn([2, 512, 512, 512]), 2, { stride: 1 }), 'INVALID_ARGUMENT', /^avgPool3d: the windows need 1067462648 taps per channel \(511·511·511 output positions × 2·2·2 taps each\)/);
    expectAntlerError(() => adaptiveAvgPoolComposite(2, standIn([1, 1, 8192, 8192]), [8191, 8191]), 'INVALID_ARGUMENT', /^adaptiveAvgPool2d: the windows need \d+ taps per channel \(8191·8191 output positions × 2·2 taps each\)/);
    // At the limit exactly: allowed.
    expect(() => checkPoolTaps('maxPool2d', [10 ** 4, 10 ** 4], [1, 1])).not.toThrow();
    expectAntlerError(() => checkPoolTaps('maxPool2d', [10 ** 4, 10 ** 4 + 1], [1, 1]), 'INVALID_ARGUMENT', /100010000 taps/);
    expect(POOL_TAPS).toBe(1e8);
    // An ordinary pool through the same checks.
    tidy(() => expect(Array.from(antler.maxPool1d(tensor([1, 5, 3, 2], [1, 1, 4]), 3, { stride: 1, padding: 1 }).dataSync())).toEqual([5, 5, 5, 3]));
  });

  test('the native sliding-window pools take windows past the composite 10^8-tap limit (they lay out none); the composite, where switched to, still refuses', () => {
    // 1100² positions × 11·11 taps = 1.46·10^8 taps per channel: 4.8 MB of input, no JavaScript array of taps.
    const n = 1100, K = 11, half = 5;
    const opts = { stride: 1, padding: half };
    tidy(() => {
      const x = antler.reshape(antler.arange(0, n * n, 1, { dtype: 'float32' }), [1, 1, n, n]);
      const y = antler.maxPool2d(x, K, opts) as Tensor;
      expect(y.shape).toEqual([1, 1, n, n]);
      const v = y.dataSync();
      // x[i, j] = i·n + j grows along both axes: each window's maximum is its clipped bottom-right corner.
      let bad = -1;
      for (let i = 0; i < n && bad < 0; i++)
        for (let j = 0; j < n; j++)
          if (v[i * n + j] !== Math.min(i + half, n - 1) * n + Math.min(j + half, n - 1)) { bad = i * n + j; break; }
      expect(bad).toBe(-1);
      const a = antler.avgPool2d(x, K, { ...opts, divisorOverride: 1 }) as Tensor; // window sums, the padding counting 0
      expect(a.shape).toEqual([1, 1, n, n]);
      expect(a.dataSync()[0]).toBe(90 * n + 90); // Σ_{i,j<6} (i·n + j) = 6·15·n + 6·15
      expect(antler.maxPool1d(antler.reshape(x, [1, 1, n * n]), 121, { stride: 1, padding: 60 }).shape).toEqual([1, 1, n * n]);
      poolPaths.native = false;
      try {
        expectAntlerError(() => antler.maxPool2d(x, K, opts), 'INVALID_ARGUMENT', /^maxPool2d: the windows need 146410000 taps per channel/);
        expectAntlerError(() => antler.avgPool2d(x, K, opts), 'INVALID_ARGUMENT', /^avgPool2d: the windows need 146410000 taps per channel/);
        expectAntlerError(() => antler.maxPool1d(antler.reshape(x, [1, 1, n * n]), 121, { stride: 1, padding: 60 }), 'INVALID_ARGUMENT', /^maxPool1d: the windows need 146410000 taps per channel/);
      } finally {
        poolPaths.native = true;
      }
    });
  });
});

