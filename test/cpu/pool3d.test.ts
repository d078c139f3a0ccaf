/**
 * 3-D pooling (maxPool3d, avgPool3d, adaptiveAvgPool3d, adaptiveMaxPool3d
 * and their modules), BatchNorm3d and InstanceNorm3d against float64
 * JavaScript loops written from PyTorch's definitions (each axis's output
 * size with ceil mode's "last window starts inside the input or the left
 * padding" rule, the divisor with and without the padding or overridden,
 * adaptive windows ⌊i·D/od⌋ … ⌈(i+1)·D/od⌉ per axis, the first maximum's
 * index in the flattened D·H·W volume), gradients against the same loops'
 * and against central finite differences.
 */
import * as antler from '../../lib';
import { nn, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeRng, randomArray, tensorCounts } from '../helpers';
import { distinct, finiteDifferences, instanceNormRef, outSize, stats, values } from '../pool-refs';

const rng = makeRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
type Triple = [number, number, number];
const prod = (v: readonly number[]) => v.reduce((a, b) => a * b, 1);

interface Ref {
  y: number[];
  idx: number[];
  gx: number[];
  out: Triple;
}

/**
 * Each [D, H, W] volume of x ([rows, D, H, W] flattened) reduced over
 * windows given per output position as lists of [depth, row, col] taps
 * (outside the volume: padding), scanned in order; g is the upstream gradient.
 */
function poolVolumes(x: number[], rows: number, size: Triple, windows: Triple[][], out: Triple, reduce: 'max' | number[], g: number[]): Ref {
  const [D, H, W] = size, V = D * H * W, P = prod(out);
  const y: number[] = [], idx: number[] = [];
  const gx = new Array<number>(rows * V).fill(0);
  const inside = ([a, b, c]: Triple) => a >= 0 && a < D && b >= 0 && b < H && c >= 0 && c < W;
  const flat = ([a, b, c]: Triple) => (a * H + b) * W + c;
  for (let r = 0; r < rows; r++)
    windows.forEach((win, t) => {
      const go = g[r * P + t];
      if (reduce === 'max') {
        // PyTorch's scan: the first strictly larger value, or a NaN, replaces the best; padding (−∞) is never picked.
        let best = -Infinity, at = -1;
        for (const q of win) {
          if (!inside(q)) continue;
          const v = x[r * V + flat(q)];
          if (at < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) [best, at] = [v, flat(q)];
        }
        y.push(at < 0 ? -Infinity : best);
        idx.push(at);
        if (at >= 0) gx[r * V + at] += go;
      } else {
        let acc = 0;
        for (const q of win) if (inside(q)) acc += x[r * V + flat(q)];
        y.push(acc / reduce[t]);
        for (const q of win) if (inside(q)) gx[r * V + flat(q)] += go / reduce[t];
      }
    });
  return { y, idx, gx, out };
}

interface Geometry {
  k: Triple;
  s: Triple;
  p: Triple;
  d: Triple;
  ceil: boolean;
}

function slidingRef(x: number[], rows: number, size: Triple, geo: Geometry, g: (n: number) => number[], reduce: 'max' | { includePad: boolean; override?: number }): Ref {
  const { k, s, p, d, ceil } = geo;
  const out = [0, 1, 2].map((t) => outSize(size[t], k[t], s[t], p[t], d[t], ceil)) as Triple;
  const windows: Triple[][] = [];
  const divisors: number[] = [];
  for (let i = 0; i < out[0]; i++)
    for (let j = 0; j < out[1]; j++)
      for (let l = 0; l < out[2]; l++) {
        const o0 = [i, j, l].map((v, t) => v * s[t] - p[t]);
        const win: Triple[] = [];
        for (let a = 0; a < k[0]; a++) for (let b = 0; b < k[1]; b++) for (let c = 0; c < k[2]; c++) win.push([o0[0] + a * d[0], o0[1] + b * d[1], o0[2] + c * d[2]]);
        windows.push(win);
        if (reduce !== 'max') {
          // PyTorch's avg_pool3d: the window clipped to the padded input (pool_size), then to the input.
          const o1 = o0.map((v, t) => Math.min(v + k[t], size[t] + p[t]));
          const poolSize = prod(o0.map((v, t) => o1[t] - v));
          const inner = prod(o0.map((v, t) => Math.min(o1[t], size[t]) - Math.max(v, 0)));
          divisors.push(reduce.override ?? (reduce.includePad ? poolSize : inner));
        }
      }
  return poolVolumes(x, rows, size, windows, out, reduce === 'max' ? 'max' : divisors, g(rows * prod(out)));
}

function adaptiveRef(x: number[], rows: number, size: Triple, out: Triple, g: number[], reduce: 'max' | 'avg'): Ref {
  const span = (i: number, L: number, o: number) => [Math.floor((i * L) / o), Math.ceil(((i + 1) * L) / o)];
  const windows: Triple[][] = [];
  for (let i = 0; i < out[0]; i++)
    for (let j = 0; j < out[1]; j++)
      for (let l = 0; l < out[2]; l++) {
        const [a0, a1] = span(i, size[0], out[0]), [b0, b1] = span(j, size[1], out[1]), [c0, c1] = span(l, size[2], out[2]);
        const win: Triple[] = [];
        for (let a = a0; a < a1; a++) for (let b = b0; b < b1; b++) for (let c = c0; c < c1; c++) win.push([a, b, c]);
        windows.push(win);
      }
  return poolVolumes(x, rows, size, windows, out, reduce === 'max' ? 'max' : windows.map((w) => w.length), g);
}

function check(name: string, got: Tensor | { values: Tensor; indices: Tensor }, x: Tensor, ref: Ref, lead: number[], gv: number[]): void {
  const y = got instanceof Tensor ? got : got.values;
  expect(y.shape).toEqual([...lead, ...ref.out]);
  expectClose(y.dataSync(), ref.y, 1e-13, 1e-14, `${name} values`);
  if (!(got instanceof Tensor)) {
    expect(got.indices.dtype).toBe('int32');
    expect(got.indices.shape).toEqual(y.shape);
    expectExact(got.indices.dataSync(), ref.idx, `${name} indices`);
  }
  antler.sum(antler.mul(y, tensor(gv, y.shape, F64))).backward();
  expectClose(x.grad!.dataSync(), ref.gx, 1e-13, 1e-14, `${name} gradient`);
}

/** A size option as the op takes it: a number where the three axes agree (sometimes), else [d, h, w]. */
const opt = (v: Triple): number | Triple => (v[0] === v[1] && v[1] === v[2] && rng.next() < 0.5 ? v[0] : v);

/** A random geometry whose output is not empty. */
function geometry(size: Triple, dilated: boolean): Geometry | null {
  const k = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 3)] as Triple;
  const s = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 3)] as Triple;
  const p = k.map((kk) => rng.int(0, kk >> 1)) as Triple;
  const d = (dilated ? [rng.int(1, 2), rng.int(1, 2), rng.int(1, 2)] : [1, 1, 1]) as Triple;
  const ceil = rng.next() < 0.5;
  if ([0, 1, 2].some((t) => outSize(size[t], k[t], s[t], p[t], d[t], ceil) < 1)) return null;
  return { k, s, p, d, ceil };
}

const randomSize = (lo: number, hi: number) => [rng.int(lo, hi), rng.int(lo, hi), rng.int(lo, hi)] as Triple;

describe(`3-D pooling against PyTorch's definitions (seed ${SEED})`, () => {
  test('maxPool3d: random geometries (stride, padding, dilation, ceil mode per axis), indices in the D·H·W volume, ties, NaN, −∞, gradients', () => {
    let tried = 0;
    while (tried < 60)
      tidy(() => {
        const [N, C, size] = [rng.int(1, 2), rng.int(1, 2), randomSize(1, 5)];
        const geo = geometry(size, true);
        if (!geo) return;
        tried++;
        const xv = values(rng, N * C * prod(size));
        const unbatched = N === 1 && rng.next() < 0.3;
        const shape = unbatched ? [C, ...size] : [N, C, ...size];
        const x = tensor(xv, shape, { ...F64, requiresGrad: true });
        let gv: number[] = [];
        const ref = slidingRef(xv, N * C, size, geo, (n) => (gv = randomArray(rng, n)), 'max');
        const stride = rng.next() < 0.2 && geo.s.every((v, t) => v === geo.k[t]) ? undefined : opt(geo.s);
        const got = antler.maxPool3d(x, opt(geo.k), { stride, padding: opt(geo.p), dilation: opt(geo.d), ceilMode: geo.ceil, returnIndices: true });
        check(`max ${JSON.stringify(geo)} [${shape}]`, got, x, ref, shape.slice(0, -3), gv);
      });
  });

  test('avgPool3d: random geometries, the divisor with and without the padding, divisorOverride, ceil mode; gradients', () => {
    let tried = 0;
    while (tried < 60)
      tidy(() => {
        const [N, C, size] = [rng.int(1, 2), rng.int(1, 2), randomSize(1, 5)];
        const geo = geometry(size, false);
        if (!geo) return;
        tried++;
        const xv = randomArray(rng, N * C * prod(size), -3, 3);
        const unbatched = N === 1 && rng.next() < 0.3;
        const shape = unbatched ? [C, ...size] : [N, C, ...size];
        const x = tensor(xv, shape, { ...F64, requiresGrad: true });
        const includePad = rng.next() < 0.5;
        const override = rng.next() < 0.25 ? rng.pick([1, 3, 7, -2]) : undefined;
        let gv: number[] = [];
        const ref = slidingRef(xv, N * C, size, geo, (n) => (gv = randomArray(rng, n)), { includePad, override });
        const got = antler.avgPool3d(x, opt(geo.k), { stride: opt(geo.s), padding: opt(geo.p), ceilMode: geo.ceil, countIncludePad: includePad, divisorOverride: override });
        check(`avg ${JSON.stringify(geo)} pad ${includePad} override ${override} [${shape}]`, got, x, ref, shape.slice(0, -3), gv);
      });
  });

  test("ceil mode's edge: a last window that would start in the right padding is dropped (D 5, kernel 2, stride 2, padding 1: 3, not 4); kernel = input", () =>
    tidy(() => {
      const x = antler.arange(60, undefined, 1, F64).reshape([1, 1, 5, 4, 3]);
      expect(outSize(5, 2, 2, 1, 1, true)).toBe(3);
      expect(antler.maxPool3d(x, 2, { stride: 2, padding: 1, ceilMode: true }).shape).toEqual([1, 1, 3, 3, 2]);
      expect(antler.avgPool3d(x, 2, { stride: 2, ceilMode: true }).shape).toEqual([1, 1, 3, 2, 2]);
      // A kernel as large as the input: one window, the mean and the maximum of the whole volume.
      expectExact(antler.avgPool3d(x, [5, 4, 3]).dataSync(), [29.5]);
      const m = antler.maxPool3d(x, [5, 4, 3], { returnIndices: true });
      expectExact(m.values.dataSync(), [59]);
      expectExact(m.indices.dataSync(), [59]);
    }));

  test('adaptive average and maximum: windows ⌊i·D/od⌋ … ⌈(i+1)·D/od⌉ per axis (sizes that do not divide), null keeping an axis, indices, gradients', () => {
    for (let trial = 0; trial < 50; trial++)
      tidy(() => {
        const [N, C, size] = [rng.int(1, 2), rng.int(1, 2), randomSize(1, 6)];
        const os = [0, 1, 2].map(() => (rng.next() < 0.15 ? null : rng.int(1, 7))) as [number | null, number | null, number | null];
        const out = os.map((v, t) => v ?? size[t]) as Triple;
        const kind = rng.pick(['max', 'avg'] as const);
        const xv = kind === 'max' ? values(rng, N * C * prod(size)) : randomArray(rng, N * C * prod(size));
        const unbatched = N === 1 && rng.next() < 0.3;
        const shape = unbatched ? [C, ...size] : [N, C, ...size];
        const x = tensor(xv, shape, { ...F64, requiresGrad: true });
        const gv = randomArray(rng, N * C * prod(out));
        const ref = adaptiveRef(xv, N * C, size, out, gv, kind);
        const same = os[0] !== null && os[0] === os[1] && os[1] === os[2] && rng.next() < 0.5;
        const got = kind === 'max' ? antler.adaptiveMaxPool3d(x, same ? os[0] : os, { returnIndices: true }) : antler.adaptiveAvgPool3d(x, same ? os[0] : os);
        check(`adaptive ${kind} [${size}] → ${JSON.stringify(os)}`, got, x, ref, shape.slice(0, -3), gv);
      });
    tidy(() => {
      const x = tensor(randomArray(rng, 2 * 3 * 4 * 2), [2, 3, 4, 2], F64);
      expectExact(antler.adaptiveAvgPool3d(x, null).dataSync(), x.dataSync(), 'null: the input size');
      expectClose(antler.adaptiveAvgPool3d(x, 1).dataSync(), antler.mean(x, [1, 2, 3]).dataSync(), 1e-15, 1e-15, 'global average');
    });
  });

  test('float64 gradients match central finite differences (max on inputs without ties)', () => {
    const cases: [string, (x: Tensor) => Tensor][] = [
      ['maxPool3d', (x) => antler.maxPool3d(x, [2, 3, 2], { stride: [1, 2, 1], padding: [1, 1, 0], dilation: [1, 1, 2], ceilMode: true })],
      ['avgPool3d', (x) => antler.avgPool3d(x, [2, 3, 2], { stride: [2, 2, 1], padding: [1, 0, 1], ceilMode: true, countIncludePad: false })],
      ['avgPool3d(divisorOverride)', (x) => antler.avgPool3d(x, 2, { stride: 1, padding: 1, divisorOverride: 3 })],
      ['adaptiveMaxPool3d', (x) => antler.adaptiveMaxPool3d(x, [2, 3, 2])],
      ['adaptiveAvgPool3d', (x) => antler.adaptiveAvgPool3d(x, [3, 2, 4])],
    ];
    for (const [name, f] of cases)
      tidy(() => {
        const shape = [1, 2, 3, 4, 5];
        const xv = distinct(rng, prod(shape));
        const x = tensor(xv, shape, { ...F64, requiresGrad: true });
        const y = f(x);
        const gv = randomArray(rng, y.size);
        antler.sum(antler.mul(y, tensor(gv, y.shape, F64))).backward();
        expectClose(x.grad!.dataSync(), finiteDifferences(f, xv, shape, gv), 1e-7, 1e-8, `${name} finite differences`);
      });
  });

  test('float32 results equal float64 ones (max exactly; means to float32 precision); unbatched [C, D, H, W] is the batch of one', () =>
    tidy(() => {
      const xv = randomArray(rng, 2 * 2 * 4 * 5 * 3);
      const x64 = tensor(xv, [2, 2, 4, 5, 3], F64);
      const x32 = tensor(xv, [2, 2, 4, 5, 3]);
      expect(antler.maxPool3d(x32, 2).dtype).toBe('float32');
      expectExact(antler.maxPool3d(x32, 3, { stride: 2, padding: 1 }).dataSync(), Array.from(antler.maxPool3d(x32.cast('float64'), 3, { stride: 2, padding: 1 }).dataSync()));
      expectClose(antler.avgPool3d(x32, [3, 4, 2], { stride: [2, 3, 1], padding: [1, 2, 1], ceilMode: true }).dataSync(), antler.avgPool3d(x64, [3, 4, 2], { stride: [2, 3, 1], padding: [1, 2, 1], ceilMode: true }).dataSync(), 1e-6, 1e-6);
      expectClose(antler.adaptiveAvgPool3d(x32, [3, 2, 2]).dataSync(), antler.adaptiveAvgPool3d(x64, [3, 2, 2]).dataSync(), 1e-6, 1e-6);
      const one = tensor(xv.slice(0, 2 * 4 * 5 * 3), [2, 4, 5, 3], F64);
      const batched = one.reshape([1, 2, 4, 5, 3]);
      const fs: [string, (t: Tensor) => Tensor][] = [
        ['max', (t) => antler.maxPool3d(t, 3, { padding: 1 })],
        ['avg', (t) => antler.avgPool3d(t, 2, { padding: 1 })],
        ['adaptive max', (t) => antler.adaptiveMaxPool3d(t, [2, 3, 2])],
        ['adaptive avg', (t) => antler.adaptiveAvgPool3d(t, 1)],
      ];
      for (const [name, f] of fs) {
        const u = f(one);
        expect(u.rank).toBe(4);
        expectExact(u.dataSync(), f(batched).dataSync(), name);
      }
    }));

  test('the modules: MaxPool3d, AvgPool3d, AdaptiveAvgPool3d, AdaptiveMaxPool3d forward the functions; sizes kept as [d, h, w]', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 2 * 2 * 4 * 5 * 3), [2, 2, 4, 5, 3], F64);
      const mp = new nn.MaxPool3d(3, { stride: [2, 1, 1], padding: 1, returnIndices: true });
      expect([mp.kernelSize, mp.stride, mp.padding, mp.dilation, mp.ceilMode]).toEqual([[3, 3, 3], [2, 1, 1], [1, 1, 1], [1, 1, 1], false]);
      const r = mp.forward(x), f = antler.maxPool3d(x, 3, { stride: [2, 1, 1], padding: 1, returnIndices: true });
      expectExact(r.values.dataSync(), f.values.dataSync());
      expectExact(r.indices.dataSync(), f.indices.dataSync());
      const ap = new nn.AvgPool3d([2, 3, 2], { countIncludePad: false, ceilMode: true, padding: [1, 0, 1], divisorOverride: 5 });
      expect([ap.kernelSize, ap.stride, ap.padding, ap.divisorOverride]).toEqual([[2, 3, 2], [2, 3, 2], [1, 0, 1], 5]);
      expectExact(ap.forward(x).dataSync(), antler.avgPool3d(x, [2, 3, 2], { countIncludePad: false, ceilMode: true, padding: [1, 0, 1], divisorOverride: 5 }).dataSync());
      expectExact(new nn.AdaptiveAvgPool3d([null, 3, 2]).forward(x).dataSync(), antler.adaptiveAvgPool3d(x, [4, 3, 2]).dataSync());
      const am = new nn.AdaptiveMaxPool3d(2, { returnIndices: true }).forward(x);
      expectExact(am.indices.dataSync(), antler.adaptiveMaxPool3d(x, [2, 2, 2], { returnIndices: true }).indices.dataSync());
      expect(new nn.AdaptiveMaxPool3d(4).forward(x).shape).toEqual([2, 2, 4, 4, 4]);
      expect(String(mp)).toBe('MaxPool3d(kernelSize: [3, 3, 3], stride: [2, 1, 1], padding: [1, 1, 1], dilation: [1, 1, 1], ceilMode: false, returnIndices: true)');
      expect(String(new nn.AdaptiveAvgPool3d([null, 3, 1]))).toBe('AdaptiveAvgPool3d(outputSize: [null, 3, 1])');
    }));
});

describe(`BatchNorm3d and InstanceNorm3d (seed ${SEED})`, () => {
  test('BatchNorm3d: training normalises over N, D, H, W and updates running statistics (momentum 0.1 and null); eval uses them; state dict', () =>
    tidy(() => {
      for (const momentum of [0.1, null]) {
        const [N, C] = [rng.int(1, 3), rng.int(1, 3)], size = [rng.int(1, 3), rng.int(1, 3), rng.int(2, 3)] as Triple;
        const S = prod(size);
        const bn = new nn.BatchNorm3d(C, { momentum, dtype: 'float64' });
        expect(bn.namedParameters().map(([k, p]) => [k, p.shape])).toEqual([['weight', [C]], ['bias', [C]]]);
        expect(Object.entries(bn.stateDict()).map(([k, t]) => [k, t.shape, t.dtype])).toEqual([
          ['weight', [C], 'float64'], ['bias', [C], 'float64'], ['running_mean', [C], 'float64'], ['running_var', [C], 'float64'], ['num_batches_tracked', [], 'int32'],
        ]);
        expectExact(bn.weight!.dataSync(), new Array(C).fill(1), 'weight ones');
        expectExact(bn.bias!.dataSync(), new Array(C).fill(0), 'bias zeros');
        bn.weight!.assign(tensor(randomArray(rng, C), [C], F64));
        bn.bias!.assign(tensor(randomArray(rng, C), [C], F64));
        const w = Array.from(bn.weight!.dataSync()), b = Array.from(bn.bias!.dataSync());
        const rm = new Array<number>(C).fill(0), rv = new Array<number>(C).fill(1);
        for (let step = 1; step <= 3; step++) {
          const xv = randomArray(rng, N * C * S, -2, 3);
          const y = bn.forward(tensor(xv, [N, C, ...size], F64));
          const want = new Array<number>(xv.length);
          for (let c = 0; c < C; c++) {
            const { mean, varB, count } = stats(xv, N, C, S, null, c);
            for (let n = 0; n < N; n++) for (let j = 0; j < S; j++) want[(n * C + c) * S + j] = ((xv[(n * C + c) * S + j] - mean) / Math.sqrt(varB + 1e-5)) * w[c] + b[c];
            const m = momentum ?? 1 / step;
            rm[c] = (1 - m) * rm[c] + m * mean;
            rv[c] = (1 - m) * rv[c] + m * ((varB * count) / (count - 1));
          }
          expectClose(y.dataSync(), want, 1e-12, 1e-12, `training step ${step} momentum ${momentum}`);
          expectClose(bn.runningMean!.dataSync(), rm, 1e-13, 1e-14, `running mean step ${step}`);
          expectClose(bn.runningVar!.dataSync(), rv, 1e-13, 1e-14, `running var step ${step}`);
          expect(bn.numBatchesTracked!.item()).toBe(step);
        }
        bn.eval();
        const xv = randomArray(rng, N * C * S);
        const y = bn.forward(tensor(xv, [N, C, ...size], F64));
        const want = xv.map((v, i) => {
          const c = Math.floor(i / S) % C;
          return ((v - rm[c]) / Math.sqrt(rv[c] + 1e-5)) * w[c] + b[c];
        });
        expectClose(y.dataSync(), want, 1e-12, 1e-12, 'eval');
        expect(y.shape).toEqual([N, C, ...size]);
        expect(bn).toBeInstanceOf(nn.BatchNorm1d); // optim.updateBn's check, as PyTorch's _BatchNorm
        expect(String(bn)).toBe(`BatchNorm3d(numFeatures: ${C}, eps: 0.00001, ${momentum === null ? '' : 'momentum: 0.1, '}affine: true, trackRunningStats: true)`);
        bn.dispose();
      }
    }));

  test('InstanceNorm3d: each (n, c) volume normalised over D, H, W; unbatched [C, D, H, W]; running statistics with trackRunningStats', () =>
    tidy(() => {
      const [N, C] = [2, 3], size = [2, 3, 2] as Triple;
      const S = prod(size);
      const xv = randomArray(rng, N * C * S, -2, 2);
      const m = new nn.InstanceNorm3d(C, { affine: true, trackRunningStats: true, dtype: 'float64' });
      expect(Object.keys(m.stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
      const y = m.forward(tensor(xv, [N, C, ...size], F64));
      const { want, rm, rv } = instanceNormRef(xv, N, C, S);
      expectClose(y.dataSync(), want, 1e-12, 1e-12, 'instance norm');
      expectClose(m.runningMean!.dataSync(), rm, 1e-13, 1e-14, 'running mean');
      expectClose(m.runningVar!.dataSync(), rv, 1e-13, 1e-14, 'running var');
      const plain = new nn.InstanceNorm3d(C, { dtype: 'float64' });
      expect(Object.keys(plain.stateDict())).toEqual([]);
      const u = plain.forward(tensor(xv.slice(0, C * S), [C, ...size], F64));
      expect(u.shape).toEqual([C, ...size]);
      expectClose(u.dataSync(), want.slice(0, C * S), 1e-12, 1e-12, 'unbatched');
      m.dispose();
      plain.dispose();
    }));
});

describe('errors', () => {
  test('bad input throws AntlerError with a code and a message naming what was passed and what was expected, damaging nothing', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 2 * 3 * 4 * 4), [1, 2, 3, 4, 4], F64);
      const before = Array.from(x.dataSync());
      expectAntlerError(() => antler.maxPool3d(tensor([1, 2, 3, 4], [2, 2]), 2), 'SHAPE_MISMATCH', /^maxPool3d: input has shape \[2, 2\]; expected \[N, C, D, H, W\] or unbatched \[C, D, H, W\]$/);
      expectAntlerError(() => antler.maxPool3d(x, [2, 2] as unknown as Triple), 'INVALID_ARGUMENT', /^maxPool3d: kernelSize must be a number or \[d, h, w\]; got/);
      expectAntlerError(() => antler.maxPool3d(x, 2, { padding: [0, 2, 0] }), 'INVALID_ARGUMENT', /^maxPool3d: padding\[1\] 2 is more than half the kernel size\[1\] 2 \(PyTorch's limit: at most 1\)$/);
      expectAntlerError(() => antler.maxPool3d(x, 4), 'SHAPE_MISMATCH', /^maxPool3d: the input's depth 3 \(padded to 3\) is shorter than the window's span 4 \(kernel 4, dilation 1\)$/);
      expectAntlerError(() => antler.avgPool3d(x, 2, { stride: [1, 0, 1] }), 'INVALID_ARGUMENT', /^avgPool3d: stride\[1\] must be/);
      expectAntlerError(() => antler.avgPool3d(x, 2, { divisorOverride: 0 }), 'INVALID_ARGUMENT', /^avgPool3d: divisorOverride must be a nonzero integer; got 0$/);
      expectAntlerError(() => antler.avgPool3d(x.cast('int32'), 2), 'DTYPE_MISMATCH', /^avgPool3d: input must be float32 or float64; got int32/);
      expectAntlerError(() => antler.adaptiveAvgPool3d(x, [2, 0, 1]), 'INVALID_ARGUMENT', /^adaptiveAvgPool3d: outputSize\[1\] must be/);
      expectAntlerError(() => antler.adaptiveMaxPool3d(x, undefined as unknown as number), 'INVALID_ARGUMENT', /^adaptiveMaxPool3d: outputSize must be an integer >= 1, \[d, h, w\] or null; got undefined$/);
      expectAntlerError(() => antler.adaptiveMaxPool3d(x, 2, { returnIndex: true } as never), 'INVALID_ARGUMENT', /returnIndex/);
      expectAntlerError(() => new nn.MaxPool3d([2, 2, 2], { padding: 2 }), 'INVALID_ARGUMENT', /^MaxPool3d: padding\[0\] 2 is more than half the kernel size\[0\] 2 \(PyTorch's limit: at most 1\)$/);
      expectAntlerError(() => new nn.AvgPool3d(2, { divisorOverride: 0 }), 'INVALID_ARGUMENT', /^AvgPool3d: divisorOverride must be a nonzero integer; got 0$/);
      expectAntlerError(() => new nn.AdaptiveMaxPool3d([1, 2] as unknown as Triple), 'INVALID_ARGUMENT', /^AdaptiveMaxPool3d: outputSize must be a number or \[d, h, w\]; got/);
      const bn = new nn.BatchNorm3d(2, F64);
      const inorm = new nn.InstanceNorm3d(2);
      const tracked = new nn.InstanceNorm3d(2, { trackRunningStats: true });
      try {
        expectAntlerError(() => bn.forward(tensor([1, 2, 3, 4], [2, 2, 1, 1])), 'SHAPE_MISMATCH', /^BatchNorm3d: expected input \[N, C, D, H, W\]; got shape \[2, 2, 1, 1\]$/);
        expectAntlerError(() => bn.forward(tensor(randomArray(rng, 6), [1, 3, 1, 2, 1], F64)), 'SHAPE_MISMATCH', /^BatchNorm3d: input has 3 channels \(axis 1 of \[1, 3, 1, 2, 1\]\); expected numFeatures = 2$/);
        expectAntlerError(() => bn.forward(tensor([1, 2], [1, 2, 1, 1, 1], F64)), 'INVALID_ARGUMENT', /^BatchNorm3d: expected more than 1 value per channel when using the batch's statistics; got input of shape \[1, 2, 1, 1, 1\] \(N·D·H·W = 1/);
        expectAntlerError(() => bn.forward(x.cast('float32')), 'DTYPE_MISMATCH', /^BatchNorm3d: input is float32; the module is float64/);
        expectAntlerError(() => inorm.forward(tensor([1, 2], [2, 1, 1, 1])), 'INVALID_ARGUMENT', /^InstanceNorm3d: expected more than 1 spatial element per instance/);
        expectAntlerError(() => inorm.forward(tensor([1, 2], [2, 1, 1])), 'SHAPE_MISMATCH', /^InstanceNorm3d: expected input \[N, C, D, H, W\] or unbatched \[C, D, H, W\]; got shape \[2, 1, 1\]$/);
        // In eval mode InstanceNorm3d without running statistics still uses the instance's (refused for D·H·W = 1, as
        // PyTorch); with them, and BatchNorm3d with its running statistics, one value per channel is fine.
        inorm.eval();
        expectAntlerError(() => inorm.forward(tensor([1, 2], [2, 1, 1, 1])), 'INVALID_ARGUMENT', /^InstanceNorm3d: expected more than 1 spatial element per instance/);
        tracked.eval();
        tidy(() => expect(tracked.forward(tensor([1, 2], [2, 1, 1, 1])).shape).toEqual([2, 1, 1, 1]));
        bn.eval();
        tidy(() => expect(bn.forward(tensor([1, 2], [1, 2, 1, 1, 1], F64)).shape).toEqual([1, 2, 1, 1, 1]));
        expect(bn.numBatchesTracked!.item()).toBe(0);
      } finally {
        bn.dispose();
        inorm.dispose();
        tracked.dispose();
      }
      expectExact(x.dataSync(), before, 'input undamaged');
      expect(antler.maxPool3d(x, 2).shape).toEqual([1, 2, 1, 2, 2]);
    }));
});
