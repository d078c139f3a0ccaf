/**
 * The sliding-window pools' native kernels (native/kernels/pool.h: maxPool1d/2d/3d, avgPool1d/2d/3d) against the
 * composite they replaced (maxPoolComposite / avgPoolComposite: every window gathered, then argmax or sum; checked
 * against torch 1.13's values in pool*.test.ts and opinfo), over fresh random configurations of every option
 * (kernel, stride, padding, dilation, ceilMode, countIncludePad, divisorOverride, returnIndices, unbatched inputs,
 * empty batches and channels), float64 and float32, inputs with ties, NaN and ±inf: values, indices, the input
 * gradient and the second derivative through the gradient's gradient output.
 */
import * as antler from '../../lib';
import { tensor, tidy, Tensor } from '../../lib';
import { adaptiveAvgPoolComposite, adaptiveMaxPoolComposite, avgPoolComposite, maxPoolComposite, poolPaths } from '../../lib/ops/pool';
import { expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, Rng, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

type Float = 'float32' | 'float64';
type K = 1 | 2 | 3;
const read = (t: Tensor) => Array.from(t.dataSync());
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Config {
  k: K;
  shape: number[];
  kernel: number[];
  options: Record<string, unknown>;
}

/** One axis's random geometry with at least one output (dilation only for max). */
function axis(r: Rng, L: number, max: boolean): { K: number; s: number; p: number; d: number } {
  for (;;) {
    const K = r.int(1, 4), s = r.int(1, 3), p = r.int(0, Math.floor(K / 2)), d = max ? r.int(1, 3) : 1;
    if (L + 2 * p >= d * (K - 1) + 1) return { K, s, p, d };
  }
}

function randomConfig(r: Rng, k: K, max: boolean): Config {
  const sizes = Array.from({ length: k }, () => r.int(1, k === 1 ? 12 : k === 2 ? 7 : 4));
  const ax = sizes.map((L) => axis(r, L, max));
  const N = r.next() < 0.08 ? 0 : r.int(1, 2), C = r.next() < 0.08 ? 0 : r.int(1, 3);
  const shape = r.next() < 0.25 ? [C, ...sizes] : [N, C, ...sizes];
  const per = (f: (a: { K: number; s: number; p: number; d: number }) => number) => (k === 1 ? f(ax[0]) : ax.map(f));
  const options: Record<string, unknown> = { stride: per((a) => a.s), padding: per((a) => a.p), ceilMode: r.next() < 0.5 };
  if (max) {
    options.dilation = per((a) => a.d);
    options.returnIndices = true;
  } else {
    options.countIncludePad = r.next() < 0.5;
    if (k > 1 && r.next() < 0.3) options.divisorOverride = r.pick([1, 3, 7, -2]);
  }
  return { k, shape, kernel: ax.map((a) => a.K), options };
}

/** Inputs with ties (few distinct values), and with `special` NaN, ±inf. */
function values(r: Rng, n: number, special: boolean): number[] {
  return Array.from({ length: n }, () => {
    if (special && r.next() < 0.1) return r.pick([NaN, Infinity, -Infinity]);
    return r.next() < 0.3 ? r.pick([-1, 0, 0.5, 2]) : r.uniform(-3, 3);
  });
}

const maxFn = (k: K): ((x: Tensor, ks: never, o: never) => { values: Tensor; indices: Tensor }) =>
  (k === 1 ? antler.maxPool1d : k === 2 ? antler.maxPool2d : antler.maxPool3d) as never;
const avgFn = (k: K): ((x: Tensor, ks: never, o: never) => Tensor) =>
  (k === 1 ? antler.avgPool1d : k === 2 ? antler.avgPool2d : antler.avgPool3d) as never;

/** The pool's value (and indices) and x's gradient for the upstream gradient W, by the native path or the composite. */
function run(c: Config, max: boolean, xv: number[], dtype: Float, composite: boolean, W: (n: number) => number[]) {
  return tidy(() => {
    const x = tensor(xv, c.shape, { dtype, requiresGrad: true });
    const ks = (c.k === 1 ? c.kernel[0] : c.kernel) as never;
    let y: Tensor, idx: number[] = [];
    if (max) {
      const r = composite ? (maxPoolComposite(c.k, x, ks, c.options) as { values: Tensor; indices: Tensor }) : maxFn(c.k)(x, ks, c.options as never);
      y = r.values;
      idx = read(r.indices);
      expect(r.indices.dtype).toBe('int32');
    } else {
      y = composite ? avgPoolComposite(c.k, x, ks, c.options) : avgFn(c.k)(x, ks, c.options as never);
    }
    y.backward(tensor(W(y.size), y.shape, { dtype }));
    return { shape: y.shape, y: read(y), idx, gx: read(x.grad!) };
  });
}

const label = (c: Config, dtype: Float) => `${dtype} k ${c.k} x ${JSON.stringify(c.shape)} kernel ${JSON.stringify(c.kernel)} ${JSON.stringify(c.options)}`;

function compare(max: boolean, dtype: Float, reps: number, special: boolean) {
  const tol = dtype === 'float64' ? 1e-15 : 2e-6;
  for (const k of [1, 2, 3] as K[])
    for (let rep = 0; rep < reps; rep++) {
      const c = randomConfig(rng, k, max);
      const xv = values(rng, prod(c.shape), special);
      const w = values(rng, 4096, false);
      const W = (n: number) => w.slice(0, n);
      const msg = label(c, dtype);
      const a = run(c, max, xv, dtype, false, W);
      const b = run(c, max, xv, dtype, true, W);
      expect([msg, a.shape]).toEqual([msg, b.shape]);
      if (max) {
        expectExact(a.y, b.y, `${msg}: values`);
        expectExact(a.idx, b.idx, `${msg}: indices`);
      } else {
        expectClose(a.y, b.y, tol, tol, `${msg}: values`);
      }
      expectClose(a.gx, b.gx, tol, tol, `${msg}: gradient`);
    }
}

/**
 * The gradient of <gx, V> with respect to the upstream gradient gy (x's gradient built with createGraph), for
 * y = pool(x) on x [shape] of xv, float64: V and gy fresh from the suite's rng and a fixed seed.
 */
function secondDerivative(shape: number[], xv: number[], V: number[], pool: (x: Tensor) => Tensor): number[] {
  return tidy(() => {
    const x = tensor(xv, shape, { dtype: 'float64', requiresGrad: true });
    const y = pool(x);
    const gy = tensor(values(makeSeededRng(7), y.size, false), y.shape, { dtype: 'float64', requiresGrad: true });
    const [gx] = antler.autograd.grad(y, x, { gradOutputs: gy, createGraph: true });
    const s = antler.sum(antler.mul(gx!, tensor(V, shape, { dtype: 'float64' })));
    const [ggy] = antler.autograd.grad(s, gy);
    return read(ggy!);
  });
}

describe(`the pools' native kernels (seed ${SEED})`, () => {
  afterEach(() => {
    poolPaths.native = true;
  });

  test('maxPool1d/2d/3d match the composite in float64: values, indices, gradients (ties, padding, dilation, ceilMode, unbatched, empty)', () => compare(true, 'float64', 40, false));
  test('maxPool1d/2d/3d match the composite with NaN and ±inf inputs (the first NaN wins), float64 and float32', () => {
    compare(true, 'float64', 30, true);
    compare(true, 'float32', 20, true);
  });
  test('avgPool1d/2d/3d match the composite in float64 to 1e-15: values and gradients (countIncludePad, ceilMode, divisorOverride, unbatched, empty)', () => compare(false, 'float64', 40, false));
  test('avgPool1d/2d/3d match the composite with NaN and ±inf, float64 and float32', () => {
    compare(false, 'float64', 30, true);
    compare(false, 'float32', 20, true);
  });

  test('the public functions take the native kernels (their recorded nodes), the composite where turned off; a window wholly in the dilation gap is −∞, index −1, on both', () => {
    const node = (y: Tensor) => (y as unknown as { gradFn: { name: string } | null }).gradFn?.name;
    tidy(() => {
      const x = antler.randn([1, 2, 5, 5], { requiresGrad: true, seed: 2 });
      const x3 = antler.reshape(x, [1, 2, 25]), x5 = antler.reshape(x, [1, 2, 1, 5, 5]);
      expect([antler.maxPool1d(x3, 3), antler.avgPool1d(x3, 3), antler.maxPool2d(x, 2), antler.avgPool2d(x, 2), antler.maxPool3d(x5, [1, 2, 2]), antler.avgPool3d(x5, [1, 2, 2])].map(node))
        .toEqual(['maxPool', 'avgPool', 'maxPool', 'avgPool', 'maxPool', 'avgPool']);
      poolPaths.native = false;
      expect([node(antler.maxPool2d(x, 2)), node(antler.avgPool2d(x, 2))]).not.toContain('maxPool');
      expect(node(antler.avgPool2d(x, 2))).not.toBe('avgPool');
      poolPaths.native = true;
    });
    const c: Config = { k: 1, shape: [1, 1, 3], kernel: [2], options: { stride: 1, padding: 1, dilation: 4, returnIndices: true } };
    const W = (n: number) => new Array<number>(n).fill(1);
    const native = run(c, true, [1, 2, 3], 'float64', false, W);
    poolPaths.native = false;
    const composite = run(c, true, [1, 2, 3], 'float64', false, W);
    expect(native).toEqual(composite);
    expect(native.y).toEqual([-Infinity]);
    expect(native.idx).toEqual([-1]);
    expect(native.gx).toEqual([0, 0, 0]);
  });

  test('second derivatives: the gradient of <gx, V> with respect to the upstream gradient matches the composite (max: a gather; avg: the pool)', () => {
    for (const max of [true, false])
      for (const k of [1, 2, 3] as K[])
        for (let rep = 0; rep < 6; rep++) {
          const c = randomConfig(rng, k, max);
          if (prod(c.shape) === 0) continue;
          const xv = values(rng, prod(c.shape), false);
          const V = values(rng, prod(c.shape), false);
          const ks = (c.k === 1 ? c.kernel[0] : c.kernel) as never;
          const once = (composite: boolean) => secondDerivative(c.shape, xv, V, (x) => (max
            ? (composite ? (maxPoolComposite(c.k, x, ks, c.options) as { values: Tensor }).values : maxFn(c.k)(x, ks, c.options as never).values)
            : (composite ? avgPoolComposite(c.k, x, ks, c.options) : avgFn(c.k)(x, ks, c.options as never))));
          expectClose(once(false), once(true), 1e-15, 1e-15, `second derivative, ${label(c, 'float64')}`);
        }
  });

  test('inputs large enough for the OpenMP team (past kParallelWork: one plane split by output rows, and several planes) match the composite', () => {
    const W = (n: number) => values(rng, n, false);
    const cases: Config[] = [
      { k: 2, shape: [1, 1, 150, 130], kernel: [3, 4], options: { stride: [1, 2], padding: [1, 2], dilation: [2, 1], ceilMode: true, returnIndices: true } },
      { k: 3, shape: [2, 3, 9, 20, 21], kernel: [2, 3, 3], options: { stride: 1, padding: [1, 1, 0], dilation: 1, ceilMode: false, returnIndices: true } },
      { k: 1, shape: [1, 40000], kernel: [3], options: { stride: 1, padding: 1, dilation: 1, ceilMode: false, returnIndices: true } },
    ];
    for (const c of cases)
      for (const max of [true, false]) {
        const o = { ...c.options };
        if (!max) {
          delete o.dilation;
          delete o.returnIndices;
          o.countIncludePad = false;
        }
        const cc = { ...c, options: o };
        const xv = values(rng, prod(c.shape), true);
        const w = W(prod(c.shape) * 2);
        const a = run(cc, max, xv, 'float64', false, (n) => w.slice(0, n));
        const b = run(cc, max, xv, 'float64', true, (n) => w.slice(0, n));
        const msg = label(cc, 'float64');
        if (max) {
          expectExact(a.y, b.y, `${msg}: values`);
          expectExact(a.idx, b.idx, `${msg}: indices`);
        } else expectClose(a.y, b.y, 1e-15, 1e-15, `${msg}: values`);
        expectClose(a.gx, b.gx, 1e-15, 1e-15, `${msg}: gradient`);
      }
  });

  test('memory: the native pools and their gradients free every tensor they make', () => {
    const before = antler.memory().numTensors;
    tidy(() => {
      const x = antler.randn([2, 3, 9, 8], { requiresGrad: true, seed: 3 });
      const m = antler.maxPool2d(x, 3, { stride: 2, padding: 1, dilation: 2, returnIndices: true });
      const a = antler.avgPool2d(x, [3, 2], { stride: 1, padding: [1, 0], countIncludePad: false });
      antler.add(antler.sum(m.values), antler.sum(a)).backward();
    });
    expect(antler.memory().numTensors).toBe(before);
  });
});

// ---- the adaptive pools (adaptiveMaxPool1d/2d/3d, adaptiveAvgPool1d/2d/3d) on the same kernels ----

interface AdaptiveConfig {
  k: K;
  shape: number[];
  outputSize: unknown;
  outSizes: number[];
}

/** Random input sizes and output sizes (smaller, equal, larger than the input: overlapping windows), null entries. */
function randomAdaptive(r: Rng, k: K): AdaptiveConfig {
  const sizes = Array.from({ length: k }, () => r.int(1, k === 1 ? 14 : k === 2 ? 8 : 5));
  const outs = sizes.map((L) => (r.next() < 0.15 ? null : r.int(1, L + 3)));
  const N = r.next() < 0.08 ? 0 : r.int(1, 2), C = r.next() < 0.08 ? 0 : r.int(1, 3);
  const shape = r.next() < 0.25 ? [C, ...sizes] : [N, C, ...sizes];
  const outSizes = outs.map((o, d) => o ?? sizes[d]);
  let outputSize: unknown = outs;
  if (k === 1) outputSize = outSizes[0];
  else if (outs.every((o) => o === outs[0]) && r.next() < 0.5) outputSize = outs[0]; // one number (or null) for every axis
  return { k, shape, outputSize, outSizes };
}

const adaptiveMaxFn = (k: K) => (k === 1 ? antler.adaptiveMaxPool1d : k === 2 ? antler.adaptiveMaxPool2d : antler.adaptiveMaxPool3d) as unknown as (x: Tensor, o: unknown, opts?: { returnIndices?: boolean }) => { values: Tensor; indices: Tensor };
const adaptiveAvgFn = (k: K) => (k === 1 ? antler.adaptiveAvgPool1d : k === 2 ? antler.adaptiveAvgPool2d : antler.adaptiveAvgPool3d) as unknown as (x: Tensor, o: unknown) => Tensor;

/** An adaptive pool's value (and indices) and x's gradient for the upstream gradient W, native or composite. */
function runAdaptive(c: AdaptiveConfig, max: boolean, xv: number[], dtype: Float, composite: boolean, W: (n: number) => number[]) {
  return tidy(() => {
    const x = tensor(xv, c.shape, { dtype, requiresGrad: true });
    let y: Tensor, idx: number[] = [];
    if (max) {
      const r = (composite ? adaptiveMaxPoolComposite(c.k, x, c.outputSize, { returnIndices: true }) : adaptiveMaxFn(c.k)(x, c.outputSize, { returnIndices: true })) as { values: Tensor; indices: Tensor };
      y = r.values;
      idx = read(r.indices);
      expect(r.indices.dtype).toBe('int32');
    } else y = composite ? adaptiveAvgPoolComposite(c.k, x, c.outputSize) : adaptiveAvgFn(c.k)(x, c.outputSize);
    y.backward(tensor(W(y.size), y.shape, { dtype }));
    return { shape: y.shape, y: read(y), idx, gx: read(x.grad!) };
  });
}

const adaptiveLabel = (c: AdaptiveConfig, max: boolean, dtype: Float) => `${max ? 'max' : 'avg'} ${dtype} k ${c.k} x ${JSON.stringify(c.shape)} outputSize ${JSON.stringify(c.outputSize)}`;

function compareAdaptive(c: AdaptiveConfig, max: boolean, dtype: Float, xv: number[], W: (n: number) => number[]) {
  const tol = dtype === 'float64' ? 1e-15 : 2e-6;
  const msg = adaptiveLabel(c, max, dtype);
  const a = runAdaptive(c, max, xv, dtype, false, W);
  const b = runAdaptive(c, max, xv, dtype, true, W);
  expect([msg, a.shape]).toEqual([msg, b.shape]);
  expect([msg, a.shape]).toEqual([msg, [...c.shape.slice(0, -c.k), ...c.outSizes]]);
  if (max) {
    expectExact(a.y, b.y, `${msg}: values`);
    expectExact(a.idx, b.idx, `${msg}: indices`);
  } else expectClose(a.y, b.y, tol, tol, `${msg}: values`);
  expectClose(a.gx, b.gx, tol, tol, `${msg}: gradient`);
}

function compareAdaptiveRandom(max: boolean, dtype: Float, reps: number, special: boolean) {
  for (const k of [1, 2, 3] as K[])
    for (let rep = 0; rep < reps; rep++) {
      const c = randomAdaptive(rng, k);
      const w = values(rng, 4096, false);
      compareAdaptive(c, max, dtype, values(rng, prod(c.shape), special), (n) => w.slice(0, n));
    }
}

describe(`the adaptive pools' native kernels (seed ${SEED})`, () => {
  afterEach(() => {
    poolPaths.native = true;
  });

  test('adaptiveMaxPool1d/2d/3d match the composite in float64: values, indices, gradients (outputs smaller and larger than the input, null sizes, unbatched, empty)', () => compareAdaptiveRandom(true, 'float64', 40, false));
  test('adaptiveMaxPool1d/2d/3d with NaN and ±inf (the first NaN wins), float64 and float32', () => {
    compareAdaptiveRandom(true, 'float64', 30, true);
    compareAdaptiveRandom(true, 'float32', 20, true);
  });
  test('adaptiveAvgPool1d/2d/3d match the composite in float64 to 1e-15: values and gradients', () => compareAdaptiveRandom(false, 'float64', 40, false));
  test('adaptiveAvgPool1d/2d/3d with NaN and ±inf, float64 and float32', () => {
    compareAdaptiveRandom(false, 'float64', 30, true);
    compareAdaptiveRandom(false, 'float32', 20, true);
  });

  test('the windows in closed form: [floor(i·L/out), ceil((i+1)·L/out)) per axis, each window\'s mean and first maximum (float64, against a loop written here)', () => {
    for (let rep = 0; rep < 20; rep++) {
      const H = rng.int(1, 9), W = rng.int(1, 9), oh = rng.int(1, 12), ow = rng.int(1, 12);
      const xv = values(rng, H * W, false);
      const win = (i: number, L: number, out: number) => [Math.floor((i * L) / out), Math.ceil(((i + 1) * L) / out)];
      const mean: number[] = [], best: number[] = [], at: number[] = [];
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          const [h0, h1] = win(i, H, oh), [w0, w1] = win(j, W, ow);
          let s = 0, m = -Infinity, p = -1;
          for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) {
            s += xv[h * W + w];
            if (xv[h * W + w] > m) m = xv[h * W + w], p = h * W + w;
          }
          mean.push(s / ((h1 - h0) * (w1 - w0))), best.push(m), at.push(p);
        }
      tidy(() => {
        const x = tensor(xv, [1, H, W], { dtype: 'float64' });
        expectClose(read(antler.adaptiveAvgPool2d(x, [oh, ow])), mean, 1e-15, 1e-15, `avg ${H}x${W} -> ${oh}x${ow}`);
        const r = antler.adaptiveMaxPool2d(x, [oh, ow], { returnIndices: true });
        expectExact(read(r.values), best, `max ${H}x${W} -> ${oh}x${ow}`);
        expectExact(read(r.indices), at, `indices ${H}x${W} -> ${oh}x${ow}`);
      });
    }
  });

  test('the public functions take the native kernels (their recorded nodes), the composite where turned off', () => {
    const node = (y: Tensor) => (y as unknown as { gradFn: { name: string } | null }).gradFn?.name;
    tidy(() => {
      const x = antler.randn([1, 2, 5, 5], { requiresGrad: true, seed: 2 });
      const x3 = antler.reshape(x, [1, 2, 25]), x5 = antler.reshape(x, [1, 2, 1, 5, 5]);
      expect([antler.adaptiveMaxPool1d(x3, 3), antler.adaptiveAvgPool1d(x3, 3), antler.adaptiveMaxPool2d(x, 2), antler.adaptiveAvgPool2d(x, 2), antler.adaptiveMaxPool3d(x5, [1, 2, 2]), antler.adaptiveAvgPool3d(x5, [1, 2, 2])].map(node))
        .toEqual(['adaptiveMaxPool', 'adaptiveAvgPool', 'adaptiveMaxPool', 'adaptiveAvgPool', 'adaptiveMaxPool', 'adaptiveAvgPool']);
      poolPaths.native = false;
      expect([node(antler.adaptiveMaxPool2d(x, 2)), node(antler.adaptiveAvgPool2d(x, 2))]).not.toContain('adaptiveMaxPool');
      expect(node(antler.adaptiveAvgPool2d(x, 2))).not.toBe('adaptiveAvgPool');
      poolPaths.native = true;
    });
  });

  test('second derivatives: the gradient of <gx, V> with respect to the upstream gradient matches the composite (max: a gather; avg: the pool)', () => {
    for (const max of [true, false])
      for (const k of [1, 2, 3] as K[])
        for (let rep = 0; rep < 6; rep++) {
          const c = randomAdaptive(rng, k);
          if (prod(c.shape) === 0) continue;
          const xv = values(rng, prod(c.shape), false);
          const V = values(rng, prod(c.shape), false);
          const once = (composite: boolean) => secondDerivative(c.shape, xv, V, (x) => (max
            ? (composite ? (adaptiveMaxPoolComposite(c.k, x, c.outputSize, { returnIndices: true }) as { values: Tensor }).values : adaptiveMaxFn(c.k)(x, c.outputSize, { returnIndices: true }).values)
            : (composite ? adaptiveAvgPoolComposite(c.k, x, c.outputSize) : adaptiveAvgFn(c.k)(x, c.outputSize))));
          expectClose(once(false), once(true), 1e-15, 1e-15, `second derivative, ${adaptiveLabel(c, max, 'float64')}`);
        }
  });

  test('inputs past kParallelWork (one plane split by rows, several planes) match the composite; the average\'s adjoint is bit-identical with 1, 2 and 3 threads', () => {
    const cases: AdaptiveConfig[] = [
      { k: 2, shape: [1, 1, 300, 257], outputSize: [7, 5], outSizes: [7, 5] },
      { k: 2, shape: [1, 1, 97, 61], outputSize: [130, 100], outSizes: [130, 100] },
      { k: 3, shape: [2, 3, 9, 20, 21], outputSize: [4, null, 6], outSizes: [4, 20, 6] },
      { k: 1, shape: [1, 60000], outputSize: 7, outSizes: [7] },
    ];
    for (const c of cases)
      for (const max of [true, false]) {
        const xv = values(rng, prod(c.shape), true);
        const w = values(rng, prod(c.outSizes) * 6, false);
        compareAdaptive(c, max, 'float64', xv, (n) => w.slice(0, n));
      }
    const original = antler.backends().cpu.threads;
    try {
      for (const c of cases) {
        const w = values(rng, prod(c.outSizes) * 6, false).map((v) => v / 3);
        const xv = values(rng, prod(c.shape), false);
        const grads = [1, 2, 3].map((t) => {
          antler.setNumThreads(t);
          return runAdaptive(c, false, xv, 'float32', false, (n) => w.slice(0, n)).gx;
        });
        expectExact(grads[1], grads[0], `2 threads vs 1, ${JSON.stringify(c.shape)}`);
        expectExact(grads[2], grads[0], `3 threads vs 1, ${JSON.stringify(c.shape)}`);
        // The sliding-window average's adjoint (the same row-split kernel) too.
        const sw = [1, 3].map((t) => {
          antler.setNumThreads(t);
          return run({ k: 2, shape: [1, 1, 211, 190], kernel: [3, 4], options: { stride: [1, 2], padding: [1, 2], ceilMode: true, countIncludePad: false } }, false, values(makeSeededRng(5), 211 * 190, false), 'float32', false, (n) => values(makeSeededRng(6), n, false)).gx;
        });
        expectExact(sw[1], sw[0], 'avgPool2d adjoint, 3 threads vs 1');
      }
    } finally {
      antler.setNumThreads(original);
    }
  });

  test('an empty batch or channel axis: the max pools\' gradient stays recorded, so its second derivative is the (empty) gather, as PyTorch\'s', () => {
    for (const shape of [[0, 3, 4, 4], [2, 0, 4, 4]])
      for (const pool of [(x: Tensor) => antler.adaptiveMaxPool2d(x, [2, 3]), (x: Tensor) => antler.maxPool2d(x, 2), (x: Tensor) => antler.adaptiveAvgPool2d(x, 2)])
        tidy(() => {
          const x = tensor([], shape, { dtype: 'float64', requiresGrad: true });
          const y = pool(x);
          const gy = antler.zeros(y.shape, { dtype: 'float64', requiresGrad: true });
          const [gx] = antler.autograd.grad(y, x, { gradOutputs: gy, createGraph: true });
          expect(gx!.shape).toEqual(shape);
          const [ggy] = antler.autograd.grad(antler.sum(gx!), gy);
          expect(ggy!.shape).toEqual(y.shape);
        });
  });

  test('memory: the native adaptive pools and their gradients free every tensor they make', () => {
    const before = antler.memory().numTensors;
    tidy(() => {
      const x = antler.randn([2, 3, 9, 8], { requiresGrad: true, seed: 3 });
      const m = antler.adaptiveMaxPool2d(x, [4, 11], { returnIndices: true });
      const a = antler.adaptiveAvgPool2d(x, [null, 3]);
      antler.add(antler.sum(m.values), antler.sum(a)).backward();
    });
    expect(antler.memory().numTensors).toBe(before);
  });
});
