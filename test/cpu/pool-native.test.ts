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
import { avgPoolComposite, maxPoolComposite, poolPaths } from '../../lib/ops/pool';
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
          const once = (composite: boolean) => tidy(() => {
            const x = tensor(xv, c.shape, { dtype: 'float64', requiresGrad: true });
            const ks = (c.k === 1 ? c.kernel[0] : c.kernel) as never;
            const y = max
              ? (composite ? (maxPoolComposite(c.k, x, ks, c.options) as { values: Tensor }).values : maxFn(c.k)(x, ks, c.options as never).values)
              : (composite ? avgPoolComposite(c.k, x, ks, c.options) : avgFn(c.k)(x, ks, c.options as never));
            const gy = tensor(values(makeSeededRng(7), y.size, false), y.shape, { dtype: 'float64', requiresGrad: true });
            const [gx] = antler.autograd.grad(y, x, { gradOutputs: gy, createGraph: true });
            const s = antler.sum(antler.mul(gx!, tensor(V, c.shape, { dtype: 'float64' })));
            const [ggy] = antler.autograd.grad(s, gy);
            return read(ggy!);
          });
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
