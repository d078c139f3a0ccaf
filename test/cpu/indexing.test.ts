/**
 * argmax/argmin, topk, gather, indexSelect, oneHot, multinomial, logSumExp,
 * variance/std and the losses beside crossEntropy, against references written
 * here in float64 from PyTorch's definitions (loops over plain arrays), on
 * fresh random inputs. Gradients are checked against the same references
 * (scatter-adds, softmax) or by the op registry (test/opinfo.ts), which also
 * runs every differentiable one on CUDA against the CPU.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { backprop, expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, prod, randomArray, randomInts, randomShape, ravel, tensorCounts, unravel } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const I32 = { dtype: 'int32' as const };
const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
/** 0 … n−1 in a random order (Fisher–Yates). */
function randomPermutation(n: number): number[] {
  const v = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}


/** Reference arg-extreme along axis: the first index of the largest (NaN counts as largest). */
function argRef(v: number[], shape: number[], axis: number, largest: boolean): number[] {
  const outShape = shape.filter((_, i) => i !== axis);
  const out: number[] = [];
  for (let o = 0; o < prod(outShape); o++) {
    const at = unravel(outShape, o);
    let best = -1, bestV = 0;
    for (let k = 0; k < shape[axis]; k++) {
      const full = [...at.slice(0, axis), k, ...at.slice(axis)];
      const x = v[ravel(shape, full)];
      if (best >= 0 && Number.isNaN(bestV)) break;
      if (best < 0 || Number.isNaN(x) || (largest ? x > bestV : x < bestV)) {
        best = k;
        bestV = x;
      }
    }
    out.push(best);
  }
  return out;
}

describe(`argmax and argmin (seed ${SEED})`, () => {
  test('match a reference loop along every axis, with ties, NaN and keepDims', () =>
    tidy(() => {
      for (let trial = 0; trial < 6; trial++) {
        const shape = randomShape(rng, rng.int(1, 4), 1, 5);
        // Few distinct values: ties are common, and the first index must win.
        const v = randomInts(rng, prod(shape), -3, 3).map((k) => (rng.next() < 0.05 ? NaN : k));
        for (const dtype of ['float32', 'float64'] as const) {
          const x = tensor(v, shape, { dtype });
          for (let axis = 0; axis < shape.length; axis++) {
            const neg = axis - shape.length;
            const mx = antler.argmax(x, neg);
            expect(mx.dtype).toBe('int32');
            expect(mx.shape).toEqual(shape.filter((_, i) => i !== axis));
            expectExact(read(mx), argRef(v, shape, axis, true), `argmax axis ${axis} ${shape}`);
            expectExact(read(antler.argmin(x, axis)), argRef(v, shape, axis, false), `argmin axis ${axis}`);
            const kept = x.argmax(axis, true);
            expect(kept.shape).toEqual(shape.map((d, i) => (i === axis ? 1 : d)));
          }
          // Over everything: the flat index.
          expect(antler.argmax(x).item()).toBe(argRef(v, [v.length], 0, true)[0]);
          expect(x.argmin().item()).toBe(argRef(v, [v.length], 0, false)[0]);
          expect(antler.argmax(x, undefined, true).shape).toEqual(shape.map(() => 1));
        }
      }
    }));

  test('int32 input, ±Infinity, a 0-d tensor', () =>
    tidy(() => {
      const iv = randomInts(rng, 12, -1000, 1000);
      expectExact(read(antler.argmax(tensor(iv, [3, 4], I32), 1)), argRef(iv, [3, 4], 1, true));
      expectExact(read(antler.argmin(tensor([1, -Infinity, -Infinity, Infinity], [4]))), [1]);
      expectExact(read(antler.argmax(tensor([1, -Infinity, Infinity, Infinity], [4]))), [2]);
      expect(antler.argmax(tensor(5)).item()).toBe(0);
      expect(antler.argmax(tensor(5), 0).shape).toEqual([]);
    }));

  test('bad calls throw AntlerError', () =>
    tidy(() => {
      const x = tensor([1, 2, 3, 4], [2, 2]);
      expectAntlerError(() => antler.argmax(x, 2), 'INVALID_ARGUMENT', /axis must be an integer in \[-2, 2\)/);
      expectAntlerError(() => antler.argmax(x, [0] as unknown as number), 'INVALID_ARGUMENT', /axis/);
      expectAntlerError(() => antler.argmax(antler.zeros([2, 0]), 1), 'INVALID_ARGUMENT', /empty/);
      expectAntlerError(() => antler.argmin(antler.zeros([0])), 'INVALID_ARGUMENT', /empty/);
      expectAntlerError(() => antler.argmax(x, 0, 'yes' as unknown as boolean), 'INVALID_ARGUMENT', /keepDims/);
    }));

  test('large float32 inputs with many ties and a few NaNs (the native kernel: long rows, inner > 1)', () =>
    tidy(() => {
      for (const [shape, axis] of [[[64, 5000], 1], [[50, 7, 33], 1], [[50, 7, 33], 0], [[50, 7, 33], 2]] as [number[], number][]) {
        // Integers in [-20, 20]: every extreme is tied many times over; a NaN in about one line in four.
        const v = randomInts(rng, prod(shape), -20, 20);
        const lines = prod(shape) / shape[axis];
        for (let i = 0; i < lines / 4; i++) v[rng.int(0, v.length - 1)] = NaN;
        const x = tensor(v, shape);
        expectExact(read(antler.argmax(x, axis)), argRef(v, shape, axis, true), `argmax ${shape} axis ${axis}`);
        expectExact(read(antler.argmin(x, axis)), argRef(v, shape, axis, false), `argmin ${shape} axis ${axis}`);
      }
    }));
  test('inner > 1 over several blocks of 256 positions: ties, and lines with two or more NaNs pick the first NaN', () =>
    tidy(() => {
      for (const [shape, axis] of [[[6, 600], 0], [[2, 5, 530], 1], [[3, 4, 2, 300], 1]] as [number[], number][]) {
        const v = randomInts(rng, prod(shape), -5, 5);
        // Every line gets a NaN with probability about 1/2, and then a second one after it half the time.
        const inner = prod(shape.slice(axis + 1)), n = shape[axis];
        for (let line = 0; line < prod(shape) / n; line++) {
          if (rng.next() < 0.5) continue;
          const base = Math.floor(line / inner) * n * inner + (line % inner);
          const first = rng.int(0, n - 1);
          v[base + first * inner] = NaN;
          if (rng.next() < 0.5) v[base + rng.int(first, n - 1) * inner] = NaN;
        }
        for (const dtype of ['float32', 'float64'] as const) {
          const x = tensor(v, shape, { dtype });
          const what = `${dtype} ${shape} axis ${axis}`;
          expectExact(read(antler.argmax(x, axis)), argRef(v, shape, axis, true), `argmax ${what}`);
          expectExact(read(antler.argmin(x, axis)), argRef(v, shape, axis, false), `argmin ${what}`);
        }
        const iv = randomInts(rng, prod(shape), -3, 3);
        expectExact(read(antler.argmax(tensor(iv, shape, I32), axis)), argRef(iv, shape, axis, true), `int32 argmax ${shape} axis ${axis}`);
      }
    }));

  test('the tensor methods take the same arguments: x.argmax/x.argmin(axis, keepDims), x.max/x.min(axis, keepDims)', () =>
    tidy(() => {
      const shape = [3, 4, 2];
      const v = randomInts(rng, 24, -2, 2);
      const x = tensor(v, shape, F64);
      for (const axis of [0, 1, 2]) {
        const kept = shape.map((d, i) => (i === axis ? 1 : d)), dropped = shape.filter((_, i) => i !== axis);
        for (const [largest, arg, ext] of [[true, x.argmax(axis, true), x.max(axis, true)], [false, x.argmin(axis, true), x.min(axis, true)]] as [boolean, Tensor, Tensor][]) {
          const want = argRef(v, shape, axis, largest);
          expect([arg.shape, ext.shape]).toEqual([kept, kept]);
          expectExact(read(arg), want, `arg ${largest ? 'max' : 'min'} axis ${axis}, keepDims`);
          // The extreme's value is the one at the arg index (no NaN here).
          const at = want.map((k, o) => { const p = unravel(dropped, o); return v[ravel(shape, [...p.slice(0, axis), k, ...p.slice(axis)])]; });
          expectExact(read(ext), at, `${largest ? 'max' : 'min'} axis ${axis}, keepDims`);
        }
        expect([x.argmax(axis).shape, x.argmin(axis).shape, x.max(axis).shape, x.min(axis).shape]).toEqual([dropped, dropped, dropped, dropped]);
        expectExact(read(x.argmin(axis)), argRef(v, shape, axis, false), `x.argmin(${axis})`);
      }
      expect([x.argmin(undefined, true).shape, x.min(undefined, true).shape, x.min().shape]).toEqual([[1, 1, 1], [1, 1, 1], []]);
      expect(x.argmin(undefined, true).item()).toBe(argRef(v, [24], 0, false)[0]);
    }));
});

/** Reference topk along axis: each line's (value, index) pairs sorted as torch.sort does (a NaN is the largest value: first for the k largest, last for the k smallest; ties by the lower index), the first k. */
function topkRef(v: number[], shape: number[], axis: number, k: number, largest: boolean): { values: number[]; indices: number[] } {
  const outShape = shape.map((d, i) => (i === axis ? k : d));
  const values = new Array<number>(prod(outShape)), indices = new Array<number>(prod(outShape));
  const lineShape = shape.filter((_, i) => i !== axis);
  for (let o = 0; o < prod(lineShape); o++) {
    const at = unravel(lineShape, o);
    const pairs: [number, number][] = [];
    for (let i = 0; i < shape[axis]; i++) pairs.push([v[ravel(shape, [...at.slice(0, axis), i, ...at.slice(axis)])], i]);
    pairs.sort(([a, i], [b, j]) => {
      if (Number.isNaN(a) !== Number.isNaN(b)) return (Number.isNaN(a) === largest) ? -1 : 1;
      if (Number.isNaN(a) || a === b) return i - j;
      return largest ? b - a : a - b;
    });
    for (let j = 0; j < k; j++) {
      const p = ravel(outShape, [...at.slice(0, axis), j, ...at.slice(axis)]);
      values[p] = pairs[j][0];
      indices[p] = pairs[j][1];
    }
  }
  return { values, indices };
}

describe(`topk (seed ${SEED})`, () => {
  test("torch 1.13's answers: a NaN is the largest value, first for largest and last for smallest", () =>
    tidy(() => {
      const x = tensor([3, NaN, 1, 2], [4], F64);
      // torch.topk(x, 2, largest=False) → indices [2, 3]; torch.topk(x, 2) → [1, 0] (values [nan, 3]).
      expectExact(read(antler.topk(x, 2, { largest: false }).indices), [2, 3]);
      expectExact(read(antler.topk(x, 2).indices), [1, 0]);
      expectExact(read(antler.topk(x, 4, { largest: false }).indices), [2, 3, 0, 1]);
    }));

  test('matches a reference sort of (value, index) pairs: ties, NaN, every axis, k = 0, 1, 3, 9, n, largest and smallest', () =>
    tidy(() => {
      const shapes = [[7], [4, 5], [3, 12, 4], [2, 3, 2, 6], [5, 1, 3], [2, 30, 3]];
      for (const shape of shapes) {
        // Few distinct values: ties everywhere; a few NaNs, ±Infinity.
        const base = randomInts(rng, prod(shape), -3, 3);
        for (const dtype of ['float32', 'float64', 'int32'] as const) {
          const v = dtype === 'int32' ? base : base.map((k) => { const u = rng.next(); return u < 0.06 ? NaN : u < 0.09 ? (u < 0.075 ? Infinity : -Infinity) : k; });
          const x = tensor(v, shape, { dtype });
          for (let axis = 0; axis < shape.length; axis++) {
            const n = shape[axis];
            for (const k of [...new Set([0, 1, Math.min(3, n), Math.min(9, n), n])])
              for (const largest of [true, false]) {
                const what = `${dtype} ${shape} axis ${axis} k ${k} largest ${largest}`;
                const { values, indices } = antler.topk(x, k, { axis: axis % 2 ? axis - shape.length : axis, largest });
                const want = topkRef(v, shape, axis, k, largest);
                const outShape = shape.map((d, i) => (i === axis ? k : d));
                expect(indices.dtype).toBe('int32');
                expect(values.dtype).toBe(dtype);
                expect(indices.shape).toEqual(outShape);
                expect(values.shape).toEqual(outShape);
                expectExact(read(indices), want.indices, what);
                expectExact(read(values), want.values, what);
              }
          }
        }
      }
      // Defaults: the last axis, the largest; sorted: false gives the same (sorted) result.
      const x = tensor([3, 1, 4, 1, 5, 9, 2, 6], [2, 4]);
      expectExact(read(antler.topk(x, 2).indices), [2, 0, 1, 3]);
      expectExact(read(antler.topk(x, 2, { sorted: false }).values), [4, 3, 9, 6]);
      expectExact(read(antler.topk(x, 1, { largest: false, sorted: true }).values), [1, 2]);
    }));

  test('long lines (the CPU partial_sort above k = 8) and inner > 1, float32', () =>
    tidy(() => {
      for (const [shape, axis, k] of [[[6, 500], 1, 40], [[6, 500], 1, 500], [[40, 9, 7], 0, 12], [[40, 9, 7], 1, 9], [[3, 300, 5], 1, 25]] as [number[], number, number][]) {
        const v = randomInts(rng, prod(shape), -20, 20).map((k) => (rng.next() < 0.01 ? NaN : k));
        const x = tensor(v, shape);
        for (const largest of [true, false]) {
          const want = topkRef(v, shape, axis, k, largest);
          const got = antler.topk(x, k, { axis, largest });
          expectExact(read(got.indices), want.indices, `${shape} axis ${axis} k ${k}`);
          expectExact(read(got.values), want.values, `${shape} axis ${axis} k ${k}`);
        }
      }
    }));

  test("the values' gradient is the upstream gradient scattered to the picked positions", () =>
    tidy(() => {
      for (const [shape, axis, k, largest] of [[[5, 6], 1, 3, true], [[4, 7, 3], 1, 2, false], [[6, 2], 0, 6, true], [[3, 4], 0, 0, true]] as [number[], number, number, boolean][]) {
        const xv = randomArray(rng, prod(shape));
        const x = tensor(xv, shape, { dtype: 'float64', requiresGrad: true });
        const { values } = antler.topk(x, k, { axis, largest });
        const want = topkRef(xv, shape, axis, k, largest);
        const outShape = shape.map((d, i) => (i === axis ? k : d));
        const gy = randomArray(rng, prod(outShape));
        const gradWant = new Array<number>(xv.length).fill(0);
        for (let p = 0; p < gy.length; p++) {
          const at = unravel(outShape, p);
          at[axis] = want.indices[p];
          gradWant[ravel(shape, at)] += gy[p];
        }
        antler.sum(antler.mul(values, tensor(gy, outShape, F64))).backward();
        expectClose(read(x.grad!), gradWant, 1e-14, 1e-14, `topk gradient ${shape} axis ${axis} k ${k}`);
      }
    }));

  test("sort and argsort: torch.sort's stable order (NaN last ascending, first descending; ties keep their order), every axis, long lines", () =>
    tidy(() => {
      // torch.sort(torch.tensor([3, nan, 1, 2, 1, -0., 0]), stable=True) and with descending=True.
      const t = tensor([3, NaN, 1, 2, 1, -0, 0], [7], F64);
      expectExact(read(antler.sort(t).indices), [5, 6, 2, 4, 3, 0, 1]);
      expectExact(read(antler.sort(t, { descending: true }).indices), [1, 0, 3, 2, 4, 5, 6]);
      expectExact(read(t.sort().values), [-0, 0, 1, 1, 2, 3, NaN]);
      for (const [shape, axis] of [[[9], 0], [[4, 37], 1], [[4, 37], 0], [[3, 1200, 2], 1], [[2, 5000], -1], [[1, 1], 0]] as [number[], number][]) {
        const base = randomInts(rng, prod(shape), -6, 6);
        for (const dtype of ['float32', 'float64', 'int32'] as const) {
          const v = dtype === 'int32' ? base : base.map((k) => (rng.next() < 0.02 ? NaN : k + (rng.next() < 0.5 ? 0 : 0.25)));
          const x = tensor(v, shape, { dtype });
          const ax = axis < 0 ? axis + shape.length : axis;
          for (const descending of [false, true]) {
            const want = topkRef(v, shape, ax, shape[ax], descending);
            const what = `sort ${dtype} ${shape} axis ${axis} descending ${descending}`;
            const r = antler.sort(x, { axis, descending });
            expect([r.values.shape, r.indices.shape, r.values.dtype, r.indices.dtype]).toEqual([shape, shape, dtype, 'int32']);
            expectExact(read(r.indices), want.indices, what);
            expectExact(read(r.values), want.values, what);
            expectExact(read(x.argsort({ axis, descending })), want.indices, `arg${what}`);
          }
        }
      }
      // The default axis is the last; a 0-d input is one element.
      expectExact(read(antler.argsort(tensor([[3, 1, 2], [0, 5, 4]]))), [1, 2, 0, 0, 2, 1]);
      const zero = antler.sort(tensor(7));
      expect([zero.values.shape, zero.values.item(), zero.indices.item()]).toEqual([[], 7, 0]);
      expect(antler.sort(antler.zeros([3, 0])).values.shape).toEqual([3, 0]);
      expectAntlerError(() => antler.sort(t, { axis: 1 }), 'INVALID_ARGUMENT', /axis/);
      expectAntlerError(() => antler.sort(t, { descending: 1 } as never), 'INVALID_ARGUMENT', /descending must be a boolean/);
      expectAntlerError(() => antler.argsort(t, { dim: 0 } as never), 'INVALID_ARGUMENT', /^argsort: unknown option 'dim'/);
    }));

  test('a 0-d input is one element', () =>
    tidy(() => {
      const r = antler.topk(tensor(5), 1);
      expect(r.values.shape).toEqual([]);
      expect(r.values.item()).toBe(5);
      expect(r.indices.item()).toBe(0);
      expect(antler.topk(tensor(5), 0, { axis: 0 }).indices.shape).toEqual([0]);
    }));

  test('bad k, axis and options throw AntlerError', () =>
    tidy(() => {
      const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      expectAntlerError(() => antler.topk(x, 4), 'INVALID_ARGUMENT', /k must be an integer in \[0, 3\]/);
      expectAntlerError(() => antler.topk(x, 3, { axis: 0 }), 'INVALID_ARGUMENT', /k must be an integer in \[0, 2\]/);
      expectAntlerError(() => antler.topk(x, -1), 'INVALID_ARGUMENT', /k/);
      expectAntlerError(() => antler.topk(x, 1.5), 'INVALID_ARGUMENT', /k/);
      expectAntlerError(() => antler.topk(x, '1' as unknown as number), 'INVALID_ARGUMENT', /k/);
      expectAntlerError(() => antler.topk(x, 1, { axis: 2 }), 'INVALID_ARGUMENT', /axis must be an integer in \[-2, 2\)/);
      expectAntlerError(() => antler.topk(x, 1, { axis: 0.5 }), 'INVALID_ARGUMENT', /axis/);
      expectAntlerError(() => antler.topk(x, 1, { largest: 1 as unknown as boolean }), 'INVALID_ARGUMENT', /largest/);
      expectAntlerError(() => antler.topk(x, 1, { sorted: 'no' as unknown as boolean }), 'INVALID_ARGUMENT', /sorted/);
      expectAntlerError(() => antler.topk(x, 1, { dim: 0 } as unknown as antler.TopkOptions), 'INVALID_ARGUMENT', /dim/);
      expectAntlerError(() => antler.topk(x, 1, 0 as unknown as antler.TopkOptions), 'INVALID_ARGUMENT', /options/);
      expectAntlerError(() => antler.topk([1, 2] as unknown as Tensor, 1), 'INVALID_ARGUMENT');
    }));
});

describe(`gather and indexSelect (seed ${SEED})`, () => {
  test('gather equals torch.gather by a reference loop, and its gradient is the scatter-add', () =>
    tidy(() => {
      for (let trial = 0; trial < 8; trial++) {
        const rank = rng.int(1, 3);
        const xShape = randomShape(rng, rank, 1, 4);
        const axis = rng.int(0, rank - 1);
        const iShape = xShape.map((d, i) => (i === axis ? rng.int(1, 6) : rng.int(1, d)));
        const xv = randomArray(rng, prod(xShape));
        const iv = randomInts(rng, prod(iShape), 0, xShape[axis] - 1);
        const x = tensor(xv, xShape, { dtype: 'float64', requiresGrad: true });
        const index = tensor(iv, iShape, I32);
        const y = antler.gather(x, axis - (trial % 2 ? rank : 0), index);
        const want: number[] = [], gradWant = new Array(xv.length).fill(0);
        const gy = randomArray(rng, iv.length);
        for (let p = 0; p < iv.length; p++) {
          const at = unravel(iShape, p);
          at[axis] = iv[p];
          want.push(xv[ravel(xShape, at)]);
          gradWant[ravel(xShape, at)] += gy[p];
        }
        expect(y.shape).toEqual(iShape);
        expectExact(read(y), want, `gather ${xShape} axis ${axis} index ${iShape}`);
        y.backward(tensor(gy, iShape, F64));
        expectClose(read(x.grad!), gradWant, 1e-14, 1e-14, 'gather gradient');
      }
      // int32 values are gathered too (no gradient).
      expectExact(read(antler.gather(tensor([[1, 2], [3, 4]], undefined, I32), 1, tensor([[1, 1], [0, 1]], undefined, I32))), [2, 2, 3, 4]);
    }));

  test('indexSelect equals torch.index_select along every axis, repeats summing in the gradient', () =>
    tidy(() => {
      for (let trial = 0; trial < 6; trial++) {
        const rank = rng.int(1, 4);
        const xShape = randomShape(rng, rank, 1, 4);
        const axis = rng.int(0, rank - 1);
        const k = rng.int(0, 6);
        const xv = randomArray(rng, prod(xShape));
        const iv = randomInts(rng, k, 0, xShape[axis] - 1);
        const x = tensor(xv, xShape, { dtype: 'float64', requiresGrad: true });
        const y = antler.indexSelect(x, axis, tensor(iv, [k], I32));
        const outShape = xShape.map((d, i) => (i === axis ? k : d));
        expect(y.shape).toEqual(outShape);
        const want: number[] = [], gradWant = new Array(xv.length).fill(0);
        const gy = randomArray(rng, prod(outShape));
        for (let p = 0; p < prod(outShape); p++) {
          const at = unravel(outShape, p);
          at[axis] = iv[at[axis]];
          want.push(xv[ravel(xShape, at)]);
          gradWant[ravel(xShape, at)] += gy[p];
        }
        expectExact(read(y), want, `indexSelect ${xShape} axis ${axis}`);
        if (y.size) {
          y.backward(tensor(gy, outShape, F64));
          expectClose(read(x.grad!), gradWant, 1e-14, 1e-14, 'indexSelect gradient');
        }
      }
    }));

  test('scatterAdd equals torch.scatter_add by a reference loop (repeats summed, src larger than index); gradients are the output’s and its gather', () =>
    tidy(() => {
      for (let trial = 0; trial < 8; trial++) {
        const rank = rng.int(1, 3);
        const xShape = randomShape(rng, rank, 1, 4);
        const axis = rng.int(0, rank - 1);
        const iShape = xShape.map((d, i) => (i === axis ? rng.int(1, 6) : rng.int(1, d)));
        const sShape = iShape.map((d) => d + rng.int(0, 2));
        const xv = randomArray(rng, prod(xShape)), sv = randomArray(rng, prod(sShape));
        const iv = randomInts(rng, prod(iShape), 0, xShape[axis] - 1);
        const x = tensor(xv, xShape, { dtype: 'float64', requiresGrad: true });
        const src = tensor(sv, sShape, { dtype: 'float64', requiresGrad: true });
        const y = antler.scatterAdd(x, axis - (trial % 2 ? rank : 0), tensor(iv, iShape, I32), src);
        const want = xv.slice();
        const gy = randomArray(rng, xv.length);
        const gSrc = new Array(sv.length).fill(0);
        for (let p = 0; p < iv.length; p++) {
          const at = unravel(iShape, p);
          const sp = ravel(sShape, at);
          at[axis] = iv[p];
          want[ravel(xShape, at)] += sv[sp];
          gSrc[sp] = gy[ravel(xShape, at)];
        }
        expect(y.shape).toEqual(xShape);
        expectClose(read(y), want, 1e-15, 1e-15, `scatterAdd ${xShape} axis ${axis} index ${iShape} src ${sShape}`);
        y.backward(tensor(gy, xShape, F64));
        expectExact(read(x.grad!), gy, 'x gradient');
        expectExact(read(src.grad!), gSrc, 'src gradient (zero outside the index’s corner)');
      }
      // int32: a histogram, exact.
      const bins = antler.scatterAdd(antler.zeros([4], I32), 0, tensor([0, 3, 3, 1, 3], [5], I32), antler.ones([5], I32));
      expectExact(read(bins), [1, 1, 0, 3]);
      // int32 sums wrap around, as PyTorch's scatter_add overflows (two's complement).
      const wrap32 = (v: number): number => ((((v + 2 ** 31) % 2 ** 32) + 2 ** 32) % 2 ** 32) - 2 ** 31;
      const big = [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1];
      expectExact(read(antler.scatterAdd(tensor([5], [1], I32), 0, tensor([0, 0, 0], [3], I32), tensor(big, [3], I32))), [wrap32(5 + 3 * (2 ** 31 - 1))]);
      expectExact(read(antler.scatterAdd(tensor([0], [1], I32), 0, tensor([0, 0], [2], I32), tensor([2 ** 30, 2 ** 30], [2], I32))), [-(2 ** 31)]);
      // An empty index leaves x as it is.
      expectExact(read(antler.scatterAdd(tensor([1, 2]), 0, antler.zeros([0], I32), antler.zeros([0]))), [1, 2]);
      const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      expectAntlerError(() => antler.scatterAdd(x, 1, tensor([[0, -1]], [1, 2], I32), antler.ones([1, 2])), 'INVALID_ARGUMENT', /scatterAdd: index -1 at \[0, 1\] is outside \[0, 3\)/);
      expectAntlerError(() => antler.scatterAdd(x, 0, tensor([[0, 0, 0, 0]], [1, 4], I32), antler.ones([1, 4])), 'SHAPE_MISMATCH', /axis 1/);
      expectAntlerError(() => antler.scatterAdd(x, 0, tensor([[0, 1]], [1, 2], I32), antler.ones([1, 1])), 'SHAPE_MISMATCH', /larger than src/);
      expectAntlerError(() => antler.scatterAdd(x, 0, tensor([[0]], [1, 1], I32), antler.ones([1, 1], F64)), 'DTYPE_MISMATCH', /src is float64 and the input float32/);
      expectAntlerError(() => antler.scatterAdd(x, 0, tensor([0], [1], I32), antler.ones([1])), 'SHAPE_MISMATCH', /rank/);
      expectExact(read(x), [1, 2, 3, 4, 5, 6]);
    }));

  test('scatter equals torch.scatter by a reference loop (src larger than index, or a number); gradients: the output’s where not overwritten, its gather for src', () =>
    tidy(() => {
      for (let trial = 0; trial < 8; trial++) {
        const rank = rng.int(1, 3);
        const xShape = randomShape(rng, rank, 1, 5);
        const axis = rng.int(0, rank - 1);
        const iShape = xShape.map((d, i) => (i === axis ? rng.int(1, d) : rng.int(1, d)));
        const sShape = iShape.map((d) => d + rng.int(0, 2));
        const xv = randomArray(rng, prod(xShape)), sv = randomArray(rng, prod(sShape));
        // Distinct positions along each line of the index (a repeat would be refused): a random permutation's head.
        const iv = new Array<number>(prod(iShape));
        const perms = new Map<string, number[]>();
        for (let p = 0; p < iv.length; p++) {
          const at = unravel(iShape, p);
          const key = at.filter((_, d) => d !== axis).join(',');
          if (!perms.has(key)) perms.set(key, randomPermutation(xShape[axis]));
          iv[p] = perms.get(key)![at[axis]];
        }
        const x = tensor(xv, xShape, { dtype: 'float64', requiresGrad: true });
        const src = tensor(sv, sShape, { dtype: 'float64', requiresGrad: true });
        const index = tensor(iv, iShape, I32);
        const y = antler.scatter(x, axis - (trial % 2 ? rank : 0), index, src);
        const want = xv.slice(), gy = randomArray(rng, xv.length);
        const gx = gy.slice(), gSrc = new Array(sv.length).fill(0);
        const wantValue = xv.slice();
        const value = rng.uniform(-2, 2);
        for (let p = 0; p < iv.length; p++) {
          const at = unravel(iShape, p);
          const sp = ravel(sShape, at);
          at[axis] = iv[p];
          const xp = ravel(xShape, at);
          want[xp] = sv[sp];
          wantValue[xp] = value;
          gx[xp] = 0;
          gSrc[sp] = gy[xp];
        }
        const what = `scatter ${xShape} axis ${axis} index ${iShape} src ${sShape}`;
        expect(y.shape).toEqual(xShape);
        expectExact(read(y), want, what);
        y.backward(tensor(gy, xShape, F64));
        expectExact(read(x.grad!), gx, `x gradient, ${what}`);
        expectExact(read(src.grad!), gSrc, `src gradient, ${what}`);
        expectExact(read(antler.scatter(tensor(xv, xShape, F64), axis, index, value)), wantValue, `value, ${what}`);
      }
      // One-hot by the value form; repeats of a number are fine.
      expectExact(read(antler.scatter(antler.zeros([3, 4]), 1, tensor([[2], [0], [3]], [3, 1], I32), 1)), [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
      expectExact(read(antler.scatter(antler.zeros([3]), 0, tensor([1, 1, 1], [3], I32), 5)), [0, 5, 0]);
      // int32, exact; an empty index leaves x as it is.
      expectExact(read(antler.scatter(tensor([1, 2, 3], [3], I32), 0, tensor([2, 0], [2], I32), tensor([2 ** 31 - 1, -7], [2], I32))), [-7, 2, 2 ** 31 - 1]);
      expectExact(read(antler.scatter(tensor([1, 2]), 0, antler.zeros([0], I32), antler.zeros([0]))), [1, 2]);
      const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      expectAntlerError(() => antler.scatter(x, 1, tensor([[0, 2, 0]], [1, 3], I32), antler.ones([1, 3])), 'INVALID_ARGUMENT', /^scatter: index names position \[0, 0\] of the input 2 times; .* use scatterAdd/);
      expectAntlerError(() => antler.scatter(x, 1, tensor([[3]], [1, 1], I32), 0), 'INVALID_ARGUMENT', /scatter: index 3 at \[0, 0\] is outside \[0, 3\)/);
      expectAntlerError(() => antler.scatter(x, 0, tensor([[0, 1]], [1, 2], I32), antler.ones([1, 1])), 'SHAPE_MISMATCH', /larger than src/);
      expectAntlerError(() => antler.scatter(x, 0, tensor([[0, 0, 0, 0]], [1, 4], I32), 1), 'SHAPE_MISMATCH', /along axis 1/);
      expectAntlerError(() => antler.scatter(x, 0, tensor([[0]], [1, 1], I32), '1' as unknown as number), 'INVALID_ARGUMENT', /src must be a Tensor or a number/);
      expectAntlerError(() => antler.scatter(tensor([1], [1], I32), 0, tensor([0], [1], I32), 0.5), 'DTYPE_MISMATCH', /value 0\.5 is not an int32/);
      expectExact(read(x), [1, 2, 3, 4, 5, 6]);
    }));

  test('out-of-range indices name the value and where it is; nothing is left behind', () =>
    tidy(() => {
      const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      const before = antler.memory().numTensors;
      // −1 along axis 1 would land inside x once flattened: still refused.
      const idx = tensor([[0, -1]], [1, 2], I32);
      expectAntlerError(() => antler.gather(x, 1, idx), 'INVALID_ARGUMENT', /index -1 at \[0, 1\] is outside \[0, 3\)/);
      const far = tensor([0, 1, 7], [3], I32);
      expectAntlerError(() => antler.indexSelect(x, 1, far), 'INVALID_ARGUMENT', /index 7 at \[2\] is outside \[0, 3\)/);
      expect(antler.memory().numTensors).toBe(before + 2);
      const onGpu = tensor([0], [1], I32);
      expectAntlerError(() => antler.indexSelect(x, 0, onGpu.cast('float32')), 'DTYPE_MISMATCH', /int32/);
      expectAntlerError(() => antler.gather(x, 0, tensor([[0, 0, 0, 0]], [1, 4], I32)), 'SHAPE_MISMATCH', /along axis 1/);
      expectExact(read(x), [1, 2, 3, 4, 5, 6]);
    }));
});

describe(`oneHot (seed ${SEED})`, () => {
  test('ones at the classes, in the dtype asked for; −1 takes the largest class + 1', () =>
    tidy(() => {
      const n = rng.int(1, 10), C = rng.int(2, 6);
      const iv = randomInts(rng, n, 0, C - 1);
      const h = antler.oneHot(tensor(iv, [n], I32), C);
      expect(h.dtype).toBe('int32');
      expect(h.shape).toEqual([n, C]);
      expectExact(read(h), iv.flatMap((c) => Array.from({ length: C }, (_, j) => (j === c ? 1 : 0))));
      const auto = antler.oneHot(tensor(iv, [1, n], I32), -1, { dtype: 'float64' });
      expect(auto.shape).toEqual([1, n, Math.max(...iv) + 1]);
      expect(auto.dtype).toBe('float64');
      expectAntlerError(() => antler.oneHot(tensor([0, 3], [2], I32), 3), 'INVALID_ARGUMENT', /class 3 is outside \[0, 3\)/);
      expectAntlerError(() => antler.oneHot(tensor([-1], [1], I32), 3), 'INVALID_ARGUMENT', /class -1/);
      expectAntlerError(() => antler.oneHot(tensor([1], [1]), 3), 'DTYPE_MISMATCH', /int32/);
      expectAntlerError(() => antler.oneHot(tensor([1], [1], I32), 0), 'INVALID_ARGUMENT', /numClasses/);
    }));
});

describe(`multinomial (seed ${SEED})`, () => {
  test('with replacement, the frequencies are the weights (6σ), zero weights never drawn', () =>
    tidy(() => {
      const C = rng.int(3, 6);
      const w = randomArray(rng, C, 0.2, 3);
      w[rng.int(0, C - 1)] = 0;
      const total = w.reduce((a, b) => a + b, 0);
      const S = 20000;
      for (const dtype of ['float32', 'float64'] as const) {
        const draws = read(antler.multinomial(tensor([w, w.map((v) => 2 * v)], [2, C], { dtype }), S, { replacement: true }));
        expect(draws.length).toBe(2 * S);
        const counts = new Array(C).fill(0);
        for (const d of draws) counts[d] += 1;
        for (let c = 0; c < C; c++) {
          const p = w[c] / total;
          const sigma = Math.sqrt(2 * S * p * (1 - p));
          if (p === 0) expect(counts[c]).toBe(0);
          else expect(Math.abs(counts[c] - 2 * S * p)).toBeLessThan(6 * sigma + 1); // up to 10 checks: 5σ failed by chance 6e-6 a run
        }
      }
    }));

  test('without replacement: distinct classes, the first drawn with probability p, later ones conditioned', () =>
    tidy(() => {
      const w = [0.5, 0.3, 0.2, 0];
      const B = 4000;
      const rows = tensor(Array.from({ length: B }, () => w), [B, 4]);
      const draws = read(antler.multinomial(rows, 3));
      const first = [0, 0, 0, 0];
      let secondIsOneAfterZero = 0, zeroFirst = 0;
      for (let b = 0; b < B; b++) {
        const row = draws.slice(3 * b, 3 * b + 3);
        expect(new Set(row).size).toBe(3);
        expect(row).not.toContain(3);
        first[row[0]] += 1;
        if (row[0] === 0) {
          zeroFirst += 1;
          if (row[1] === 1) secondIsOneAfterZero += 1;
        }
      }
      for (let c = 0; c < 3; c++) expect(Math.abs(first[c] - B * w[c])).toBeLessThan(6 * Math.sqrt(B * w[c] * (1 - w[c])));
      // P(second = 1 | first = 0) = 0.3 / 0.5.
      const q = 0.6;
      expect(Math.abs(secondIsOneAfterZero - zeroFirst * q)).toBeLessThan(6 * Math.sqrt(zeroFirst * q * (1 - q)));
    }));

  test('a seed replays the draw; without one draws differ', () =>
    tidy(() => {
      const p = tensor(randomArray(rng, 50, 0.1, 1), [50]);
      const a = read(antler.multinomial(p, 20, { seed: 7 }));
      expectExact(read(antler.multinomial(p, 20, { seed: 7 })), a);
      expect(read(antler.multinomial(p, 20))).not.toEqual(read(antler.multinomial(p, 20)));
      expect(antler.multinomial(p, 3).shape).toEqual([3]);
    }));

  test('bad weights and counts throw AntlerError', () =>
    tidy(() => {
      const ok = tensor([1, 1, 0], [3]);
      expectAntlerError(() => antler.multinomial(ok, 3), 'INVALID_ARGUMENT', /2 non-zero weights/);
      expectAntlerError(() => antler.multinomial(ok, 4), 'INVALID_ARGUMENT', /without replacement from 3 classes/);
      expectAntlerError(() => antler.multinomial(tensor([1, -1], [2]), 1), 'INVALID_ARGUMENT', /non-negative/);
      expectAntlerError(() => antler.multinomial(tensor([1, NaN], [2]), 1), 'INVALID_ARGUMENT', /NaN/);
      expectAntlerError(() => antler.multinomial(tensor([1, Infinity], [2]), 1), 'INVALID_ARGUMENT', /finite/);
      expectAntlerError(() => antler.multinomial(tensor([[1, 1], [0, 0]], [2, 2]), 1), 'INVALID_ARGUMENT', /positive sum/);
      expectAntlerError(() => antler.multinomial(ok, 0), 'INVALID_ARGUMENT', /numSamples/);
      expectAntlerError(() => antler.multinomial(tensor([1, 2], [2], I32), 1), 'DTYPE_MISMATCH', /float/);
      expectAntlerError(() => antler.multinomial(ok, 1, { replace: true } as never), 'INVALID_ARGUMENT', /replace/);
    }));
});

describe(`logSumExp, variance, std (seed ${SEED})`, () => {
  const lseRef = (v: number[]) => {
    const m = Math.max(...v);
    if (!Number.isFinite(m)) return m === -Infinity ? -Infinity : m;
    return m + Math.log(v.reduce((a, x) => a + Math.exp(x - m), 0));
  };

  test('logSumExp: rows of ±1000, −∞ and +∞, and its gradient the softmax', () =>
    tidy(() => {
      const C = rng.int(2, 6);
      const rows = [randomArray(rng, C, -1000, 1000), randomArray(rng, C, -3, 3), new Array(C).fill(-Infinity), [Infinity, ...randomArray(rng, C - 1)]];
      const x = tensor(rows.flat(), [rows.length, C], { dtype: 'float64', requiresGrad: true });
      const y = antler.logSumExp(x, 1);
      // Per row, an absolute tolerance of 1e-15·(max |x| + 1) too: a row's value may land near 0, where
      // one ulp of exp or log is far beyond 1e-15 of the value.
      const got = read(y);
      rows.forEach((row, r) => {
        const finite = row.filter(Number.isFinite).map(Math.abs);
        expectClose([got[r]], [lseRef(row)], 1e-15, 1e-15 * (Math.max(0, ...finite) + 1), `row ${r}`);
      });
      const kept = antler.logSumExp(x, -1, true);
      expect(kept.shape).toEqual([rows.length, 1]);
      const g = randomArray(rng, 2);
      antler.logSumExp(antler.slice(x, [0, 0], [2, C]), 1).backward(tensor(g, [2], F64));
      const grad = read(x.grad!);
      for (let r = 0; r < 2; r++) {
        const l = lseRef(rows[r]);
        expectClose(grad.slice(r * C, r * C + C), rows[r].map((v) => g[r] * Math.exp(v - l)), 1e-13, 1e-300, `softmax row ${r}`);
      }
      expect(antler.logSumExp(tensor(rows[1], [C], F64)).item()).toBeCloseTo(lseRef(rows[1]), 12);
      expect(antler.logSumExp(antler.zeros([0])).item()).toBe(-Infinity);
      // int32 gives float32, as torch.logsumexp (it was refused).
      const ints = randomInts(rng, 6, -20, 20);
      const li = antler.logSumExp(tensor(ints, [2, 3], I32), 1);
      expect(li.dtype).toBe('float32');
      // In float32 a row whose max is 0 and the rest far below has lse ≈ log(1 + ε): absolute float32 rounding.
      expectClose(read(li), [lseRef(ints.slice(0, 3)), lseRef(ints.slice(3))], 1e-6, 1e-6, 'int32 logSumExp');
    }));

  test('float32 std keeps its precision where its variance leaves float32 (torch computes the std directly)', () =>
    tidy(() => {
      // The variance of [0, a·2e-23] is ~2e-46·a² (below float32's smallest subnormal), of [0, a·6e19] ~2e39·a²
      // (above its largest): the std used to be 0 and ∞.
      for (const scale of [2e-23 * rng.uniform(1, 2), 6e19 * rng.uniform(1, 2), 1e-30 * rng.uniform(1, 2)]) {
        const v = [0, ...randomArray(rng, 3, scale / 2, scale)].map(Math.fround);
        const m = v.reduce((a, b) => a + b, 0) / v.length;
        const want = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
        const x = tensor(v, [v.length], { requiresGrad: true });
        const got = antler.std(x);
        expect(got.dtype).toBe('float32');
        expectClose(read(got), [want], 1e-6, 0, `std at scale ${scale}`);
        got.backward();
        expectClose(read(x.grad!), v.map((a) => (a - m) / ((v.length - 1) * want)), 1e-5, 1e-6, `std gradient at scale ${scale}`);
      }
    }));

  test('variance and std: Bessel by default, any correction, over any axes', () =>
    tidy(() => {
      const shape = randomShape(rng, 3, 2, 5);
      // Far from zero: the two-pass formula keeps every digit a naive Σx² − n·mean² would lose.
      const v = randomArray(rng, prod(shape), 1e6, 1e6 + 1);
      const x = tensor(v, shape, F64);
      const ref = (vals: number[], c: number) => {
        const m = vals.reduce((a, b) => a + b, 0) / vals.length;
        return vals.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(0, vals.length - c);
      };
      const along = (axis: number) => {
        const outShape = shape.filter((_, i) => i !== axis);
        return Array.from({ length: prod(outShape) }, (_, o) => {
          const at = unravel(outShape, o);
          return Array.from({ length: shape[axis] }, (_, k) => v[ravel(shape, [...at.slice(0, axis), k, ...at.slice(axis)])]);
        });
      };
      for (let axis = 0; axis < 3; axis++) {
        expectClose(read(antler.variance(x, axis)), along(axis).map((s) => ref(s, 1)), 1e-9, 0, `variance axis ${axis}`);
        expectClose(read(antler.std(x, axis, false, { correction: 0 })), along(axis).map((s) => Math.sqrt(ref(s, 0))), 1e-9, 0, `std axis ${axis}`);
      }
      expectClose(read(antler.variance(x)), [ref(v, 1)], 1e-9, 0);
      expect(antler.variance(x, [0, 2], true).shape).toEqual([1, shape[1], 1]);
      // One element with Bessel's correction: 0/0, as PyTorch (NaN); correction 2 of 3 elements: x/1.
      expect(antler.variance(tensor([3], [1], F64)).item()).toBeNaN();
      expectAntlerError(() => antler.variance(tensor([1, 2], [2], I32)), 'DTYPE_MISMATCH', /int32/);
      expectAntlerError(() => antler.std(x, 0, false, { correction: 'one' } as never), 'INVALID_ARGUMENT', /correction/);
    }));

  test('variance and std with a correction of n or more divide by 0 (PyTorch: max(0, n − correction)): ∞, or NaN for a constant slice; correction n − 1 divides by 1; gradients 2(x − mean)/(n − correction)', () =>
    tidy(() => {
      const n = rng.int(3, 6);
      const xs = randomArray(rng, n, -2, 2);
      const m = xs.reduce((a, b) => a + b, 0) / n;
      const ss = xs.reduce((a, b) => a + (b - m) ** 2, 0);
      const x = tensor(xs, [n], { ...F64, requiresGrad: true });
      for (const c of [n, n + 0.5, n + 3]) {
        expect({ c, v: antler.variance(x, undefined, false, { correction: c }).item() }).toEqual({ c, v: Infinity });
        expect({ c, v: antler.std(x, 0, false, { correction: c }).item() }).toEqual({ c, v: Infinity });
        expect(antler.variance(tensor(new Array(n).fill(xs[0]), [n], F64), 0, false, { correction: c }).item()).toBeNaN();
      }
      // Between 0 and n: Σ (x − mean)² / (n − c), fractional c too, and the gradient 2(x − mean)/(n − c).
      for (const c of [n - 1, n - 0.5, 1.5]) {
        expectClose([antler.variance(x, 0, false, { correction: c }).item()], [ss / (n - c)], 1e-13, 0, `variance, correction ${c}`);
        backprop(() => antler.variance(x, undefined, false, { correction: c }));
        expectClose(read(x.grad!), xs.map((v) => (2 * (v - m)) / (n - c)), 1e-13, 1e-15, `variance's gradient, correction ${c}`);
        x.zeroGrad();
        backprop(() => antler.std(x, undefined, false, { correction: c }));
        const sd = Math.sqrt(ss / (n - c));
        expectClose(read(x.grad!), xs.map((v) => (v - m) / ((n - c) * sd)), 1e-12, 1e-15, `std's gradient, correction ${c}`);
        x.zeroGrad();
      }
      x.dispose();
    }));

  test("gradients with a correction of n or more are torch 1.13's 2(x − mean)·g/(n − correction): ±∞ at n, finite beyond; std's 0 beyond n, NaN at n (∞/∞); varMean's as variance's", () =>
    tidy(() => {
      const n = rng.int(3, 6);
      const xs = randomArray(rng, n, -2, 2);
      const m = xs.reduce((a, b) => a + b, 0) / n;
      const x = tensor(xs, [n], { ...F64, requiresGrad: true });
      for (const c of [n, n + 0.5, n + 3]) {
        // torch's var_backward, (2 / (n − c)) · g · (x − mean), with 2/0 = ∞ at c = n (the same with or without an axis here;
        // torch 1.13's backward without a dim fails at c ≥ n, returning a 0-d gradient).
        const want = xs.map((v) => (c === n ? Infinity : 2 / (n - c)) * (v - m));
        for (const axis of [undefined, 0]) {
          backprop(() => antler.variance(x, axis, false, { correction: c }));
          expectClose(read(x.grad!), want, 1e-13, 1e-15, `variance's gradient, correction ${c}, axis ${axis}`);
          x.zeroGrad();
          backprop(() => antler.varMean(x, axis, false, { correction: c })[0]);
          expectClose(read(x.grad!), want, 1e-13, 1e-15, `varMean's gradient, correction ${c}, axis ${axis}`);
          x.zeroGrad();
          // std = √var: var's gradient / (2·∞), 0 beyond n and ∞/∞ = NaN at n.
          backprop(() => antler.std(x, axis, false, { correction: c }));
          expectExact(read(x.grad!), xs.map(() => (c === n ? NaN : 0)), `std's gradient, correction ${c}, axis ${axis}`);
          x.zeroGrad();
        }
      }
      x.dispose();
    }));

  test("beyond n: an overflowing Σ (x − mean)² is ∞ as torch's (not −∞ + ∞ = NaN); the gradient's own gradient is torch's, 2(v − mean v)/(n − correction)", () =>
    tidy(() => {
      // float32 (2^66)² overflows: torch gives ∞ and the gradient 2(x − mean)/(n − correction) = −2x.
      const big = tensor([2 ** 66, -(2 ** 66)], [2], { requiresGrad: true });
      for (const axis of [undefined, 0]) {
        const v = antler.variance(big, axis, false, { correction: 3 });
        expect(v.item()).toBe(Infinity);
        v.backward();
        expectExact(read(big.grad!), [-(2 ** 67), 2 ** 67], `overflow's gradient, axis ${axis}`);
        big.zeroGrad();
      }
      big.dispose();
      // var_backward is (2 / (n − c)) · g · (x − x.mean()), differentiable in x through the mean too: its product with
      // w has the gradient (2 / (n − c)) · (w − mean(w)).
      const n = rng.int(3, 6);
      const c = n + rng.int(1, 3) + (rng.next() < 0.5 ? 0.5 : 0);
      const xs = randomArray(rng, n, -2, 2), w = randomArray(rng, n);
      const wm = w.reduce((p, q) => p + q, 0) / n;
      const W = tensor(w, [n], F64);
      const gradOf = antler.grad((x: Tensor) => antler.variance(x, 0, false, { correction: c }));
      const hv = antler.grad((x: Tensor) => antler.sum(antler.mul(gradOf(x)[0], W)));
      expectClose(read(hv(tensor(xs, [n], F64))[0]), w.map((v) => (2 / (n - c)) * (v - wm)), 1e-13, 1e-15, `H·w, n ${n}, correction ${c}`);
    }));

  test("at correction n the gradient's own gradient is torch 1.13's NaN (∞ · (w − mean w): ∞ − ∞); a constant slice's gradient is NaN at n and −0 beyond, std's NaN", () =>
    tidy(() => {
      const n = rng.int(2, 6);
      const xs = randomArray(rng, n, -2, 2), w = randomArray(rng, n);
      const W = tensor(w, [n], F64);
      for (const axis of [undefined, 0]) {
        // torch's var_backward, (2 / (n − c)) · g · (x − x.mean()), differentiated along w: (2/0) · (w − mean(w)), ∞ − ∞ in every entry.
        const gradOf = antler.grad((x: Tensor) => antler.variance(x, axis, false, { correction: n }));
        const hv = antler.grad((x: Tensor) => antler.sum(antler.mul(gradOf(x)[0], W)));
        expectExact(read(hv(tensor(xs, [n], F64))[0]), xs.map(() => NaN), `H·w at correction n = ${n}, axis ${axis}`);
        // A constant slice: Σ (x − mean)² = 0, so the value is 0/0 = NaN; the gradient (2 / (n − c)) · 0 is NaN at c = n and −0 beyond.
        const k = rng.uniform(-2, 2);
        for (const c of [n, n + 1, n + 2.5]) {
          const x = tensor(new Array<number>(n).fill(k), [n], { ...F64, requiresGrad: true });
          const v = antler.variance(x, axis, false, { correction: c });
          expect(Number.isNaN(v.item())).toBe(true);
          v.backward();
          expectExact(read(x.grad!), new Array<number>(n).fill(c === n ? NaN : -0), `constant x, correction ${c}, axis ${axis}`, true);
          const y = tensor(new Array<number>(n).fill(k), [n], { ...F64, requiresGrad: true });
          antler.std(y, axis, false, { correction: c }).backward();
          expectExact(read(y.grad!), new Array<number>(n).fill(NaN), `std, constant x, correction ${c}, axis ${axis}`);
        }
      }
    }));
});

describe(`losses against PyTorch's formulas (seed ${SEED})`, () => {
  const pair = (n: number) => [randomArray(rng, n, -3, 3), randomArray(rng, n, -3, 3)];
  const reduce = (v: number[], r: string) => (r === 'none' ? v : r === 'sum' ? [v.reduce((a, b) => a + b, 0)] : [v.reduce((a, b) => a + b, 0) / v.length]);

  test('l1, smooth L1 and Huber in every reduction', () =>
    tidy(() => {
      const n = rng.int(4, 20);
      const [a, b] = pair(n);
      const A = tensor(a, [n], F64), B = tensor(b, [n], F64);
      const beta = rng.uniform(0.2, 2), delta = rng.uniform(0.2, 2);
      for (const reduction of ['none', 'sum', 'mean'] as const) {
        const d = a.map((v, i) => v - b[i]);
        expectClose(read(antler.l1Loss(A, B, { reduction })), reduce(d.map(Math.abs), reduction), 1e-14, 1e-15);
        expectClose(read(antler.smoothL1Loss(A, B, { reduction, beta })), reduce(d.map((x) => (Math.abs(x) < beta ? (0.5 * x * x) / beta : Math.abs(x) - 0.5 * beta)), reduction), 1e-14, 1e-15);
        expectClose(read(antler.huberLoss(A, B, { reduction, delta })), reduce(d.map((x) => (Math.abs(x) < delta ? 0.5 * x * x : delta * (Math.abs(x) - 0.5 * delta))), reduction), 1e-14, 1e-15);
      }
      expectClose(read(antler.smoothL1Loss(A, B, { beta: 0 })), read(antler.l1Loss(A, B)), 1e-15, 0);
      expectAntlerError(() => antler.l1Loss(A, tensor(b, [n])), 'DTYPE_MISMATCH', /float64 and target float32/);
    }));

  test('binary cross-entropy: logs clamped at −100; with logits exact for large |x|', () =>
    tidy(() => {
      const n = rng.int(4, 12);
      const p = randomArray(rng, n, 0, 1);
      p[0] = 0;
      p[1] = 1;
      const y = randomArray(rng, n, 0, 1);
      const bce = p.map((q, i) => -(y[i] * Math.max(Math.log(q), -100) + (1 - y[i]) * Math.max(Math.log(1 - q), -100)));
      expectClose(read(antler.binaryCrossEntropy(tensor(p, [n], F64), tensor(y, [n], F64), { reduction: 'none' })), bce, 1e-13, 0);
      const x = randomArray(rng, n, -40, 40);
      x[0] = 800;
      x[1] = -800;
      const pw = rng.uniform(0.5, 3);
      const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
      const ref = x.map((v, i) => (1 - y[i]) * v + (1 + (pw - 1) * y[i]) * softplus(-v));
      const got = antler.binaryCrossEntropyWithLogits(tensor(x, [n], F64), tensor(y, [n], F64), { reduction: 'none', posWeight: tensor([pw], [1], F64) });
      expectClose(read(got), ref, 1e-13, 1e-300);
      const out = tensor([0.5, 1.2], [2], F64), target = tensor([0, 1], [2], F64);
      expectAntlerError(() => antler.binaryCrossEntropy(out, target), 'INVALID_ARGUMENT', /probabilities in \[0, 1\]; it holds 1.2/);
    }));

  test('binary cross-entropy (both forms) with a per-element weight [N, C] or [C], a per-class posWeight [C], in every reduction', () =>
    tidy(() => {
      const N = rng.int(2, 5), C = rng.int(2, 5), n = N * C;
      const p = randomArray(rng, n, 0.02, 0.98);
      const x = randomArray(rng, n, -4, 4);
      const y = randomArray(rng, n, 0, 1);
      const wFull = randomArray(rng, n, 0.2, 3), wClass = randomArray(rng, C, 0.2, 3), pw = randomArray(rng, C, 0.2, 4);
      const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
      // torch: bce = −w (y log p + (1 − y) log(1 − p)); with logits −w (pw y log σ(x) + (1 − y) log(1 − σ(x))).
      const bce = (w: (i: number) => number) => p.map((q, i) => -w(i) * (y[i] * Math.log(q) + (1 - y[i]) * Math.log(1 - q)));
      const bcel = (w: (i: number) => number, posW: (i: number) => number) => x.map((v, i) => w(i) * (posW(i) * y[i] * softplus(-v) + (1 - y[i]) * softplus(v)));
      const P = tensor(p, [N, C], F64), X = tensor(x, [N, C], F64), Y = tensor(y, [N, C], F64);
      const WF = tensor(wFull, [N, C], F64), WC = tensor(wClass, [C], F64), PW = tensor(pw, [C], F64);
      const cases: [Tensor, (i: number) => number][] = [[WF, (i) => wFull[i]], [WC, (i) => wClass[i % C]]];
      for (const reduction of ['none', 'sum', 'mean'] as const)
        for (const [W, w] of cases) {
          expectClose(read(antler.binaryCrossEntropy(P, Y, { weight: W, reduction })), reduce(bce(w), reduction), 1e-13, 1e-15);
          expectClose(read(antler.binaryCrossEntropyWithLogits(X, Y, { weight: W, reduction })), reduce(bcel(w, () => 1), reduction), 1e-13, 1e-15);
          expectClose(read(antler.binaryCrossEntropyWithLogits(X, Y, { weight: W, posWeight: PW, reduction })), reduce(bcel(w, (i) => pw[i % C]), reduction), 1e-13, 1e-15);
        }
      expectClose(read(antler.binaryCrossEntropyWithLogits(X, Y, { posWeight: PW })), reduce(bcel(() => 1, (i) => pw[i % C]), 'mean'), 1e-13, 1e-15);
    }));

  test('nllLoss and crossEntropy with class weights, label smoothing and ignoreIndex', () =>
    tidy(() => {
      const N = rng.int(3, 9), C = rng.int(2, 6);
      const x = randomArray(rng, N * C, -3, 3);
      const w = randomArray(rng, C, 0.3, 2);
      const labels = randomInts(rng, N, 0, C - 1);
      labels[rng.int(0, N - 1)] = -100;
      const eps = rng.uniform(0.05, 0.5);
      const X = tensor(x, [N, C], F64), W = tensor(w, [C], F64), L = tensor(labels, [N], I32);
      const row = (i: number) => x.slice(i * C, i * C + C);
      const logSoftmax = (r: number[]) => {
        const m = Math.max(...r);
        const l = m + Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0));
        return r.map((v) => v - l);
      };
      const kept = labels.map((c, i) => [c, i]).filter(([c]) => c !== -100);
      const denom = kept.reduce((a, [c]) => a + w[c], 0);
      // nll over raw inputs: −w[y] x[y], the weighted mean dividing by Σ w[y].
      const nll = labels.map((c, i) => (c === -100 ? 0 : -w[c] * row(i)[c]));
      expectClose(read(antler.nllLoss(X, L, { weight: W, reduction: 'none' })), nll, 1e-14, 1e-15);
      // The mixed-sign sum may cancel: an absolute tolerance on the terms' scale Σ|w x| / Σ w too.
      expectClose(read(antler.nllLoss(X, L, { weight: W })), [nll.reduce((a, b) => a + b, 0) / denom], 1e-13, (1e-15 * nll.reduce((a, b) => a + Math.abs(b), 0)) / denom);
      // cross_entropy with label_smoothing: (1 − ε) nll(logp) + ε/C · Σ_c −w_c logp_c, both over Σ w[y] for the mean.
      const lp = labels.map((_, i) => logSoftmax(row(i)));
      const hard = labels.map((c, i) => (c === -100 ? 0 : -w[c] * lp[i][c]));
      const smooth = labels.map((c, i) => (c === -100 ? 0 : -lp[i].reduce((a, v, k) => a + w[k] * v, 0) / C));
      const perRow = hard.map((h, i) => (1 - eps) * h + eps * smooth[i]);
      expectClose(read(antler.crossEntropy(X, L, { weight: W, labelSmoothing: eps, reduction: 'none' })), perRow, 1e-13, 1e-15);
      expectClose(read(antler.crossEntropy(X, L, { weight: W, labelSmoothing: eps, reduction: 'sum' })), [perRow.reduce((a, b) => a + b, 0)], 1e-13, 0);
      expectClose(read(antler.crossEntropy(X, L, { weight: W, labelSmoothing: eps })), [perRow.reduce((a, b) => a + b, 0) / denom], 1e-13, 0);
      // No weight, no smoothing through the composed path equals the fused kernel.
      expectClose(read(antler.crossEntropy(X, L, { labelSmoothing: 0, weight: tensor(new Array(C).fill(1), [C], F64) })), read(antler.crossEntropy(X, L)), 1e-14, 0);
      const bad = tensor([0, C], [2], I32);
      expectAntlerError(() => antler.nllLoss(tensor(randomArray(rng, 2 * C), [2, C], F64), bad), 'INVALID_ARGUMENT', new RegExp(`label ${C} is outside \\[0, ${C}\\)`));
      expectAntlerError(() => antler.crossEntropy(X, L, { weight: tensor(w, [C]) }), 'DTYPE_MISMATCH', /weight is float32/);
    }));

  test("crossEntropy against class probabilities (a float target of the logits' shape, PyTorch's soft targets): loss and gradients to logits and target, every reduction, weight and smoothing", () =>
    tidy(() => {
      const shape = rng.pick([[rng.int(2, 6), rng.int(2, 5)], [rng.int(1, 3), rng.int(2, 4), rng.int(2, 5)]]);
      const C = shape[shape.length - 1];
      const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const x = randomArray(rng, rows * C, -3, 3);
      // Each row a probability distribution (one row a one-hot: the hard label's loss).
      const t = Array.from({ length: rows }, (_, r) => {
        const raw = r === 0 ? Array.from({ length: C }, (_, c) => (c === 1 ? 1 : 0)) : randomArray(rng, C, 0, 1);
        const s = raw.reduce((a, b) => a + b, 0);
        return raw.map((v) => v / s);
      }).flat();
      const useWeight = rng.next() < 0.5;
      const w = useWeight ? randomArray(rng, C, 0.2, 2) : new Array<number>(C).fill(1);
      const eps = rng.pick([0, 0.1, 0.4]);
      const logp = (r: number) => {
        const row = x.slice(r * C, r * C + C);
        const m = Math.max(...row);
        const l = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
        return row.map((v) => v - l);
      };
      const tt = (r: number, c: number) => t[r * C + c] * (1 - eps) + eps / C;
      const perRow = Array.from({ length: rows }, (_, r) => -logp(r).reduce((a, lp, c) => a + w[c] * tt(r, c) * lp, 0));
      const total = perRow.reduce((a, b) => a + b, 0);
      for (const reduction of ['none', 'sum', 'mean'] as const) {
        const X = tensor(x, shape, { ...F64, requiresGrad: true }), T = tensor(t, shape, { ...F64, requiresGrad: true });
        const opts = { reduction, labelSmoothing: eps, ...(useWeight ? { weight: tensor(w, [C], F64) } : {}) };
        const loss = antler.crossEntropy(X, T, opts);
        const want = reduction === 'none' ? perRow : [reduction === 'sum' ? total : total / rows];
        expect(loss.shape).toEqual(reduction === 'none' ? shape.slice(0, -1) : []);
        expectClose(read(loss), want, 1e-13, 1e-14, reduction);
        // Gradients of Σ g·loss: logits g·(Σ_c w_c t̃_c · softmax − w ⊙ t̃), target −g·(1 − ε)·w ⊙ logp (per row).
        const g = reduction === 'none' ? randomArray(rng, rows) : [1];
        antler.sum(antler.mul(loss, tensor(g, loss.shape, F64))).backward();
        const scale = (r: number) => (reduction === 'none' ? g[r] : reduction === 'sum' ? 1 : 1 / rows);
        const gx: number[] = [], gt: number[] = [];
        for (let r = 0; r < rows; r++) {
          const lp = logp(r);
          const mass = lp.reduce((a, _, c) => a + w[c] * tt(r, c), 0);
          lp.forEach((v, c) => {
            gx.push(scale(r) * (mass * Math.exp(v) - w[c] * tt(r, c)));
            gt.push(-scale(r) * (1 - eps) * w[c] * v);
          });
        }
        expectClose(read(X.grad!), gx, 1e-12, 1e-14, `${reduction}: logits' gradient`);
        expectClose(read(T.grad!), gt, 1e-12, 1e-14, `${reduction}: target's gradient`);
      }
      // The one-hot row's loss is the class-index loss of that row.
      const hard = antler.crossEntropy(tensor(x.slice(0, C), [1, C], F64), tensor([1], [1], I32), { reduction: 'sum', labelSmoothing: eps, ...(useWeight ? { weight: tensor(w, [C], F64) } : {}) });
      expectClose(read(hard), [perRow[0]], 1e-13, 1e-14, 'one-hot row');
      // Class probabilities must be in the logits' dtype; ignoreIndex belongs to class indices.
      const X = tensor(x, shape, F64);
      expectAntlerError(() => antler.crossEntropy(X, tensor(t, shape)), 'DTYPE_MISMATCH', /^crossEntropy: a target of the logits' shape .* holds class probabilities, in the logits' dtype float64; got float32/);
      expectAntlerError(() => antler.crossEntropy(X, tensor(t, shape, F64), { ignoreIndex: 0 }), 'INVALID_ARGUMENT', /^crossEntropy: ignoreIndex 0 applies to int32 class labels/);
      // A negative ignoreIndex names no class: ignored, as PyTorch's (its default −100 is one).
      expectExact(read(antler.crossEntropy(X, tensor(t, shape, F64), { ignoreIndex: -100 })), read(antler.crossEntropy(X, tensor(t, shape, F64))));
      expectAntlerError(() => antler.crossEntropy(tensor(1.5, [], F64), tensor(0.5, [], F64)), 'SHAPE_MISMATCH', /^crossEntropy: logits must have a class dim; got a scalar$/);
      expectAntlerError(() => antler.crossEntropy(X, tensor(new Array(rows).fill(0), shape.slice(0, -1), F64)), 'DTYPE_MISMATCH', /^crossEntropy: labels must be int32 class indices of shape .*, or class probabilities of the logits' shape .*; got float64 of shape/);
    }));

  test("labels in PyTorch's [N, C, T] layout: the error says how to move the classes last", () =>
    tidy(() => {
      const logits = tensor(randomArray(rng, 2 * 5 * 7), [2, 5, 7], F64);
      const labels = tensor(randomInts(rng, 14, 0, 4), [2, 7], I32);
      const hint = /^(crossEntropy|nllLoss): labels have shape \[2, 7\], which fits PyTorch's \[N, C, …\] layout of logits \[2, 5, 7\]; antler's classes are on the last axis .* logits\.permute\(\[0, 2, 1\]\), or pass logits of shape \[2, 7, 5\]$/;
      expectAntlerError(() => antler.crossEntropy(logits, labels), 'SHAPE_MISMATCH', hint);
      expectAntlerError(() => antler.nllLoss(logits, labels), 'SHAPE_MISMATCH', hint);
      // The permuted logits are accepted, and give the per-position losses PyTorch's layout would.
      expect(antler.crossEntropy(logits.permute([0, 2, 1]), labels, { reduction: 'none' }).shape).toEqual([2, 7]);
    }));

  test('the fused crossEntropy (no weight, no smoothing): loss and gradient against float64 formulas, with ignoreIndex a class of other rows, logits near ±1000, every reduction, float32; out-of-range labels', () =>
    tidy(() => {
      const N = rng.int(5, 9), C = rng.int(2, 6);
      const ignoreIndex = rng.int(0, C - 1);
      const x = randomArray(rng, N * C, -4, 4);
      // One row shifted to about +1000 and one to about −1000: log Σ exp needs the max taken out.
      for (let c = 0; c < C; c++) {
        x[c] += 1000;
        x[C + c] -= 1000;
      }
      // Every row a class, ignoreIndex in two rows (a class number that the other rows use as a class).
      const labels = randomInts(rng, N, 0, C - 1).map((l) => (l === ignoreIndex ? (l + 1) % C : l));
      labels[rng.int(0, 1)] = ignoreIndex;
      labels[rng.int(2, N - 1)] = ignoreIndex;
      const kept = labels.map((l) => l !== ignoreIndex);
      const count = kept.filter(Boolean).length;
      const row = (i: number) => x.slice(i * C, i * C + C);
      const lse = (r: number[]) => {
        const m = Math.max(...r);
        return m + Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0));
      };
      // PyTorch: loss_i = logsumexp(x_i) − x_i[y_i], 0 on ignored rows; ∂(Σ g_i loss_i)/∂x_ic = g_i (softmax(x_i)_c − [c = y_i]).
      const perRow = labels.map((l, i) => (kept[i] ? lse(row(i)) - row(i)[l] : 0));
      const w = randomArray(rng, N, 0.5, 2);
      const gradRef = (g: number[]) =>
        labels.flatMap((l, i) => {
          if (!kept[i]) return new Array(C).fill(0);
          const r = row(i), z = lse(r);
          return r.map((v, c) => g[i] * (Math.exp(v - z) - (c === l ? 1 : 0)));
        });
      for (const dtype of ['float64', 'float32'] as const) {
        const tol = dtype === 'float64' ? 1e-12 : 3e-5;
        const L = tensor(labels, [N], I32);
        const cases: [string, (z: Tensor) => Tensor, number[], number[]][] = [
          ['none, weighted', (z) => antler.sum(antler.mul(antler.crossEntropy(z, L, { ignoreIndex, reduction: 'none' }), tensor(w, [N], { dtype }))),
            [perRow.reduce((a, v, i) => a + w[i] * v, 0)], w],
          ['sum', (z) => antler.crossEntropy(z, L, { ignoreIndex, reduction: 'sum' }), [perRow.reduce((a, v) => a + v, 0)], new Array(N).fill(1)],
          ['mean', (z) => antler.crossEntropy(z, L, { ignoreIndex }), [perRow.reduce((a, v) => a + v, 0) / count], new Array(N).fill(1 / count)],
        ];
        const none = read(antler.crossEntropy(tensor(x, [N, C], { dtype }), L, { ignoreIndex, reduction: 'none' }));
        expectClose(none, perRow, tol, tol, `${dtype} per row, labels ${labels}, ignoreIndex ${ignoreIndex}`);
        for (const [name, f, want, g] of cases) {
          const z = tensor(x, [N, C], { dtype, requiresGrad: true });
          const l = f(z);
          expectClose([l.item()], want, tol, tol, `${dtype} ${name} loss`);
          l.backward();
          expectClose(read(z.grad!), gradRef(g), tol, tol, `${dtype} ${name} gradient, labels ${labels}, ignoreIndex ${ignoreIndex}`);
        }
      }
      // A label of C or −1 is an error (with the default ignoreIndex −100) ...
      const X = tensor(randomArray(rng, 3 * C), [3, C], F64);
      for (const bad of [C, -1, C + 7])
        expectAntlerError(() => antler.crossEntropy(X, tensor([0, bad, 0], [3], I32)), 'INVALID_ARGUMENT', /^crossEntropy: label at row 1 is outside/);
      // ... unless it is ignoreIndex: ignored, as PyTorch's ignore_index outside [0, C).
      for (const ii of [C, -1]) {
        const got = read(antler.crossEntropy(X, tensor([0, ii, 1 % C], [3], I32), { ignoreIndex: ii, reduction: 'none' }));
        expectClose(got, [lse(read(X).slice(0, C)) - read(X)[0], 0, lse(read(X).slice(2 * C, 3 * C)) - read(X)[2 * C + (1 % C)]], 1e-13, 1e-13, `ignoreIndex ${ii}`);
      }
    }));
});

describe(`klDiv against PyTorch's kl_div (seed ${SEED})`, () => {
  /** PyTorch's pointwise kl_div in float64: xlogy(t, t) − t·x, or e^t (t − x) with logTarget. */
  const pointwise = (x: number[], t: number[], logTarget: boolean) =>
    x.map((xi, i) => (logTarget ? Math.exp(t[i]) * (t[i] - xi) : (t[i] === 0 ? 0 : t[i] * Math.log(t[i])) - t[i] * xi));
  const reduceKl = (v: number[], r: string, N: number) => {
    const s = v.reduce((a, b) => a + b, 0);
    return r === 'none' ? v : r === 'sum' ? [s] : r === 'batchmean' ? [s / N] : [s / v.length];
  };
  /** Rows of a random distribution over K classes (log-probabilities if log), some entries exactly 0 unless log. */
  const distributions = (N: number, K: number, zeros: boolean) => {
    const out: number[] = [];
    for (let n = 0; n < N; n++) {
      // Zeros anywhere but at one kept entry, so that no row is all zeros (0/0).
      const keep = rng.int(0, K - 1);
      const row = randomArray(rng, K, 0, 1).map((v, k) => (zeros && k !== keep && rng.next() < 0.25 ? 0 : v + 0.01));
      const s = row.reduce((a, b) => a + b, 0);
      out.push(...row.map((v) => v / s));
    }
    return out;
  };

  test('every reduction, probabilities (exact zeros among them) and log-probabilities as the target; the default is mean', () =>
    tidy(() => {
      for (const shape of [[rng.int(1, 5), rng.int(2, 6)], [rng.int(1, 3), rng.int(1, 3), rng.int(2, 4)], [rng.int(1, 6)]]) {
        const N = shape[0], K = shape[shape.length - 1], n = prod(shape);
        const x = read(antler.logSoftmax(tensor(randomArray(rng, n, -3, 3), shape, F64)));
        const p = distributions(n / K, K, true);
        const lq = distributions(n / K, K, false).map(Math.log);
        for (const reduction of ['mean', 'batchmean', 'sum', 'none'] as const) {
          const X = tensor(x, shape, F64);
          expectClose(read(antler.klDiv(X, tensor(p, shape, F64), { reduction })), reduceKl(pointwise(x, p, false), reduction, N), 1e-13, 1e-14, `${reduction} [${shape}]`);
          expectClose(read(antler.klDiv(X, tensor(lq, shape, F64), { reduction, logTarget: true })), reduceKl(pointwise(x, lq, true), reduction, N), 1e-13, 1e-14, `logTarget ${reduction}`);
        }
        expectExact(read(antler.klDiv(tensor(x, shape, F64), tensor(p, shape, F64))), read(antler.klDiv(tensor(x, shape, F64), tensor(p, shape, F64), { reduction: 'mean' })));
        // batchmean of distributions is the mean KL(p ‖ q) per row ([N, K]).
        if (shape.length === 2) {
          const q = x.map(Math.exp);
          let kl = 0;
          for (let i = 0; i < n; i++) if (p[i] > 0) kl += p[i] * Math.log(p[i] / q[i]);
          expectClose(read(antler.klDiv(tensor(x, shape, F64), tensor(p, shape, F64), { reduction: 'batchmean' })), [kl / N], 1e-12, 1e-13, 'KL per row');
        }
      }
      // A 0-d input: batchmean is the sum, as PyTorch's.
      expectClose(read(antler.klDiv(tensor(-0.5, [], F64), tensor(0.3, [], F64), { reduction: 'batchmean' })), [0.3 * (Math.log(0.3) + 0.5)], 1e-14, 0);
      // float32 against the float64 reference on the stored values.
      const X = tensor(randomArray(rng, 6, -3, -0.1), [2, 3]), T = tensor(distributions(2, 3, true), [2, 3]);
      expectClose(read(antler.klDiv(X, T, { reduction: 'none' })), pointwise(read(X), read(T), false), 1e-6, 1e-6, 'float32');
    }));

  test('gradients to input and target match central differences (float64); at a target of 0 the input’s is 0 and the target’s −input (PyTorch: NaN)', () =>
    tidy(() => {
      const shape = [rng.int(1, 4), rng.int(2, 5)];
      const n = prod(shape);
      const g = randomArray(rng, n);
      for (const logTarget of [false, true])
        for (const reduction of ['batchmean', 'none'] as const) {
          const args = [randomArray(rng, n, -3, -0.1), logTarget ? randomArray(rng, n, -3, 0) : randomArray(rng, n, 0.05, 1)];
          const run = ([xs, ts]: number[][], record: boolean) => {
            const x = tensor(xs, shape, { ...F64, requiresGrad: record }), t = tensor(ts, shape, { ...F64, requiresGrad: record });
            const l = antler.klDiv(x, t, { reduction, logTarget });
            return { l: antler.sum(antler.mul(l, tensor(reduction === 'none' ? g : [g[0]], l.shape, F64))), leaves: [x, t] };
          };
          const { l, leaves } = run(args, true);
          l.backward();
          const h = 1e-6;
          leaves.forEach((leaf, i) => {
            const fd = args[i].map((_, j) => {
              const at = (d: number) => tidy(() => run(args.map((a, k) => (k === i ? a.map((v, q) => (q === j ? v + d : v)) : a)), false).l.item());
              return (at(h) - at(-h)) / (2 * h);
            });
            expectClose(leaf.grad!.dataSync(), fd, 1e-6, 1e-8, `${['input', 'target'][i]}, logTarget ${logTarget}, ${reduction}`);
          });
        }
      const x = tensor([-0.7, -1.2], [2], { ...F64, requiresGrad: true }), t = tensor([0, 0.4], [2], { ...F64, requiresGrad: true });
      antler.klDiv(x, t, { reduction: 'sum' }).backward();
      expectClose(read(x.grad!), [0, -0.4], 1e-15, 0);
      expectClose(read(t.grad!), [0.7, Math.log(0.4) + 1 + 1.2], 1e-14, 0);
    }));

  test('a negative target gives NaN, as PyTorch’s; bad calls throw AntlerError', () =>
    tidy(() => {
      expect(Number.isNaN(antler.klDiv(tensor([-1], [1], F64), tensor([-0.5], [1], F64)).item())).toBe(true);
      const x = tensor([-1, -2, -3, -4], [2, 2]);
      expectAntlerError(() => antler.klDiv(x, tensor([0.5, 0.5, 0.5, 0.5], [4])), 'SHAPE_MISMATCH', /^klDiv: input has shape \[2, 2\] and target has shape \[4\]/);
      expectAntlerError(() => antler.klDiv(x, x.cast('float64')), 'DTYPE_MISMATCH', /^klDiv: input is float32 and target float64/);
      expectAntlerError(() => antler.klDiv(x, x, { reduction: 'avg' as never }), 'INVALID_ARGUMENT', /^klDiv: reduction must be 'mean', 'batchmean', 'sum' or 'none'; got 'avg'$/);
      expectAntlerError(() => antler.klDiv(x, x, { logTarget: 1 as never }), 'INVALID_ARGUMENT', /^klDiv: logTarget must be/);
      expectAntlerError(() => antler.klDiv(x, x, { log_target: true } as never), 'INVALID_ARGUMENT', /^klDiv: unknown option 'log_target'/);
    }));
});

describe(`edge cases a review against torch 1.13 found (seed ${SEED})`, () => {
  test('std of a constant slice has a zero gradient (torch.std), not NaN', () =>
    tidy(() => {
      const c = rng.uniform(-5, 5);
      const x = tensor([c, c, c, rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)], [2, 3], { dtype: 'float64', requiresGrad: true });
      const s = antler.std(x, 1);
      expect(read(s)[0]).toBe(0);
      s.sum().backward();
      const g = read(x.grad!);
      expectExact(g.slice(0, 3), [0, 0, 0]);
      expect(g.slice(3).every(Number.isFinite)).toBe(true);
    }));

  test('a batch whose labels are all ignoreIndex: the mean loss is NaN and the gradient 0, on every crossEntropy path and nllLoss', () =>
    tidy(() => {
      const labels = tensor([-100, -100, -100], [3], I32);
      const losses: [string, (z: Tensor) => Tensor][] = [
        ['fused', (z) => antler.crossEntropy(z, labels)],
        ['smoothed', (z) => antler.crossEntropy(z, labels, { labelSmoothing: 0.1 })],
        ['weighted', (z) => antler.crossEntropy(z, labels, { weight: tensor([1, 2, 3, 4], [4], F64) })],
        ['nll', (z) => antler.nllLoss(z, labels)],
      ];
      for (const [name, f] of losses) {
        const z = tensor(randomArray(rng, 12), [3, 4], { dtype: 'float64', requiresGrad: true });
        const l = f(z);
        expect(l.item()).toBeNaN();
        l.backward();
        expectExact(read(z.grad!), new Array(12).fill(0), name);
      }
    }));

  test('an ignored row holding −∞ (a masked class) adds nothing: finite loss, +0 with reduction none, and a zero gradient there, on every path', () =>
    tidy(() => {
      // Row 1 is ignored and reads −∞ at class 0 (where an ignored row's pick lands) and elsewhere.
      const vals = randomArray(rng, 12);
      vals[0] = -Infinity;
      vals[4] = -Infinity;
      vals[6] = -Infinity;
      const labels = tensor([rng.int(1, 3), -100, rng.int(0, 3)], [3], I32);
      const weight = tensor(randomArray(rng, 4, 0.5, 2), [4], F64);
      const losses: [string, (z: Tensor, y: Tensor, r: 'mean' | 'sum' | 'none') => Tensor][] = [
        ['fused', (z, y, reduction) => antler.crossEntropy(z, y, { reduction })],
        ['weighted', (z, y, reduction) => antler.crossEntropy(z, y, { weight, reduction })],
        ['weighted, smoothed', (z, y, reduction) => antler.crossEntropy(z, y, { weight, labelSmoothing: 0.2, reduction })],
        ['nll', (z, y, reduction) => antler.nllLoss(antler.logSoftmax(z, -1), y, { weight, reduction })],
      ];
      // Row 0 keeps its −∞ (in a kept row, as PyTorch, the smoothed loss is then +∞): row 2 alone decides the
      // smoothed case's finiteness, so take rows 1 and 2 for it.
      for (const [name, f] of losses)
        for (const reduction of ['mean', 'sum', 'none'] as const) {
          const rows = name.includes('smoothed') ? [1, 2] : [0, 1, 2];
          const z = tensor(rows.flatMap((r) => vals.slice(4 * r, 4 * r + 4)), [rows.length, 4], { dtype: 'float64', requiresGrad: true });
          const lab = rows.length === 3 ? labels : tensor([-100, read(labels)[2]], [2], I32);
          const l = f(z, lab, reduction);
          const v = read(l);
          expect({ name, reduction, finite: v.every(Number.isFinite) }).toEqual({ name, reduction, finite: true });
          if (reduction === 'none') expect(Object.is(v[rows.indexOf(1)], 0)).toBe(true);
          antler.sum(l).backward();
          const g = read(z.grad!);
          const ignored = rows.indexOf(1);
          expectExact(g.slice(4 * ignored, 4 * ignored + 4), [0, 0, 0, 0], `${name} ${reduction}`);
          expect(g.every(Number.isFinite)).toBe(true);
        }
    }));

  test("logSumExp's gradient beside +∞ is torch's: 0 for the finite entries, NaN at the ∞", () =>
    tidy(() => {
      const q = tensor([rng.uniform(-1000, 1000), Infinity, -Infinity], [3], { dtype: 'float64', requiresGrad: true });
      const y = antler.logSumExp(q);
      expect(y.item()).toBe(Infinity);
      y.backward();
      const g = read(q.grad!);
      expect(g[0]).toBe(0);
      expect(g[1]).toBeNaN();
      expect(g[2]).toBe(0);
    }));

  test('multinomial with replacement in chunks: large draws keep their statistics and a seed still replays', () =>
    tidy(() => {
      // 2^22 keys a chunk: B·C = 2^20 makes 4 samples a chunk, so 10 samples take three chunks.
      const B = 256, C = 4096;
      const w = tensor(randomArray(rng, C, 0.5, 1), [1, C]);
      const probs = antler.broadcastTo(w, [B, C]);
      const a = read(antler.multinomial(probs, 10, { replacement: true, seed: 11 }));
      expectExact(read(antler.multinomial(probs, 10, { replacement: true, seed: 11 })), a);
      // Chunks draw independently: the samples of a row are not repeated chunk to chunk. Repeats within a
      // row (10 − distinct) are rare: 45 pairs each equal with odds Σp² ≈ 1.04/4096, Poisson(2.9) over the
      // 256 rows, while chunks that repeat give 4+ a row (1,024+). (One row's "distinct > 7" failed about one
      // run in 3 million: three repeats, (45·Σp²)³/6 plus a triple and a pair ≈ 3.4e-7.) P(Poisson(2.9) ≥ 40) < 1e-30.
      let repeats = 0;
      for (let b = 0; b < B; b++) repeats += 10 - new Set(a.slice(b * 10, b * 10 + 10)).size;
      expect(repeats).toBeLessThan(40);
      expect(Math.max(...a)).toBeLessThan(C);
    }));

  test('gather on an empty input: an empty index gives an empty result, any index is out of range (torch)', () =>
    tidy(() => {
      const x = antler.zeros([2, 0]);
      expect(antler.gather(x, 1, antler.zeros([2, 0], I32)).shape).toEqual([2, 0]);
      const one = antler.zeros([2, 1], I32);
      expectAntlerError(() => antler.gather(x, 1, one), 'INVALID_ARGUMENT', /index 0 at \[0, 0\] is outside \[0, 0\)/);
      expect(antler.chunk(antler.zeros([0, 2]), 3).map((t) => t.shape)).toEqual([[0, 2], [0, 2], [0, 2]]);
    }));

  test('multinomial without replacement keeps one step of keys alive, not all of them', () =>
    tidy(() => {
      const B = 8, C = 400;
      const probs = tensor(randomArray(rng, B * C, 0.1, 1), [B, C], F64);
      const before = antler.memory().devices.cpu.numBytes;
      antler.resetPeakMemory();
      const d = antler.multinomial(probs, C);
      const peak = antler.memory().devices.cpu.peakBytes - before;
      for (let b = 0; b < B; b++) expect(new Set(read(d).slice(b * C, b * C + C)).size).toBe(C);
      // C steps of [B, C] float64 keys (and their masks) kept to the end would be ≥ 8·B·C² = 10 MB;
      // a few steps' worth at a time is well under 1 MB.
      expect(peak).toBeLessThan(1 << 20);
    }));

  test('options are checked: Softplus takes beta and threshold (torch.nn.Softplus), other activations take none', () =>
    tidy(() => {
      const xs = randomArray(rng, 30, -8, 8);
      const beta = rng.uniform(0.5, 3), threshold = rng.uniform(1, 10);
      const x = tensor(xs, [30], F64);
      const ref = xs.map((v) => (v * beta > threshold ? v : Math.log1p(Math.exp(v * beta)) / beta));
      expectClose(read(new antler.nn.Softplus({ beta, threshold }).forward(x)), ref, 1e-14, 1e-300);
      expectAntlerError(() => new antler.nn.SiLU({ inplace: true } as never), 'INVALID_ARGUMENT', /^SiLU: takes no options; got 'inplace'/);
      expectAntlerError(() => new antler.nn.Softplus({ beta: 0 }), 'INVALID_ARGUMENT', /beta/);
      expectAntlerError(() => new antler.nn.ModuleList([1 as never]), 'INVALID_ARGUMENT', /ModuleList: item 0 must be a Module; got 1/);
      expectAntlerError(() => antler.std(x, { correction: 0 } as never), 'INVALID_ARGUMENT', /options come fourth/);
      expectAntlerError(() => antler.variance(x, [0, -1]), 'INVALID_ARGUMENT', /variance: axis -1 is listed twice/);
      const three = tensor([0, 0, 0], [3], I32);
      expectAntlerError(() => antler.indexSelect(tensor(5), 0, three), 'SHAPE_MISMATCH', /indexSelect: an index into a 0-d input holds one value/);
    }));

  test('smoothL1Loss and huberLoss at an infinite residual: gradient ±1/n, not NaN (the branch not taken stays finite)', () =>
    tidy(() => {
      const beta = rng.uniform(0.5, 2), small = rng.uniform(0, 0.4) * beta;
      for (const [name, f] of [
        ['smoothL1Loss', (x: Tensor, y: Tensor) => antler.smoothL1Loss(x, y, { beta })],
        ['huberLoss', (x: Tensor, y: Tensor) => antler.huberLoss(x, y, { delta: beta })],
      ] as const) {
        const x = tensor([Infinity, -Infinity, 3 * beta, small], [4], { dtype: 'float64', requiresGrad: true });
        const l = f(x, antler.zeros([4], F64));
        expect(l.item()).toBe(Infinity);
        l.backward();
        // Linear branch: d/dx = sign · (1 for smooth L1, δ for Huber) / n; quadratic: x/β (smooth L1) or x (Huber), / n.
        const slope = name === 'huberLoss' ? beta : 1;
        expectClose(read(x.grad!), [slope / 4, -slope / 4, slope / 4, (name === 'huberLoss' ? small : small / beta) / 4], 1e-15, 0, name);
      }
    }));

  test('crossEntropy/nllLoss whose kept rows weigh 0 in total: NaN loss and NaN gradient (PyTorch); every row ignored: NaN loss, zero gradient', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 4), [2, 2], { dtype: 'float64', requiresGrad: true });
      const l = antler.crossEntropy(x, tensor([0, 0], [2], I32), { weight: tensor([0, 1], [2], F64) });
      expect(l.item()).toBeNaN();
      l.backward();
      expect(read(x.grad!).every(Number.isNaN)).toBe(true);
      const y = tensor(randomArray(rng, 4), [2, 2], { dtype: 'float64', requiresGrad: true });
      const m = antler.nllLoss(y, tensor([-100, -100], [2], I32), { weight: tensor([0, 1], [2], F64) });
      expect(m.item()).toBeNaN();
      m.backward();
      expectExact(read(y.grad!), [0, 0, 0, 0]);
    }));
});
