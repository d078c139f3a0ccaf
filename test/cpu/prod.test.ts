/**
 * prod(x, axes, keepDims) and cumprod(x, axis, { exclusive, reverse })
 * (torch.prod, torch.cumprod) against float64 loops over plain arrays, on
 * fresh random shapes; their gradients against the product of the other
 * factors, written out by hand, with zeros (one and several per reduction)
 * and infinities, where dividing by x would give NaN; int32 exact or refused;
 * empty and 0-d tensors. The op registry (test/opinfo.ts) also checks the
 * gradients against finite differences and CUDA against the CPU.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, prod as prodOf, randomArray, randomInts, randomShape, Rng, runningRef, SCAN_COMBOS, tensorCounts, unravel } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
const COMBOS = SCAN_COMBOS;
const cumprodRef = (x: readonly number[], shape: readonly number[], axis: number, exclusive: boolean, reverse: boolean) => runningRef(x, shape, axis, exclusive, reverse, 'prod');

/** The reductions of x over `axes` (all when empty): for each output, the flat indices of its elements. */
function groups(shape: readonly number[], axes: readonly number[]): Map<string, number[]> {
  const red = new Set((axes.length ? axes : shape.map((_, i) => i)).map((a) => (a < 0 ? a + shape.length : a)));
  const out = new Map<string, number[]>();
  for (let p = 0; p < prodOf(shape); p++) {
    const key = unravel(shape, p).filter((_, d) => !red.has(d)).join(',');
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push(p);
  }
  return out;
}

/** prod over axes, and each element's gradient for an output gradient gy (one per output, in order): Σ over the others' product. */
function prodRef(x: readonly number[], shape: readonly number[], axes: readonly number[], gy: readonly number[]): { y: number[]; gx: number[] } {
  const y: number[] = [], gx = new Array<number>(x.length).fill(0);
  [...groups(shape, axes).values()].forEach((members, o) => {
    y.push(members.reduce((acc, i) => acc * x[i], 1));
    for (const i of members) gx[i] = gy[o] * members.reduce((acc, j) => (j === i ? acc : acc * x[j]), 1);
  });
  return { y, gx };
}

/** prod over axes alone (no gradient): each output's factors multiplied in order, in float64. */
function productsOf(x: readonly number[], shape: readonly number[], axes: readonly number[]): number[] {
  return [...groups(shape, axes).values()].map((members) => members.reduce((acc, i) => acc * x[i], 1));
}

/** Values with some exact zeros (and, with `inf`, an infinity), the cases where result/x fails. */
function valuesWithZeros(r: Rng, n: number, zeros: number): number[] {
  const v = randomArray(r, n, 0.5, 1.5).map((a) => (r.next() < 0.5 ? -a : a));
  for (let z = 0; z < zeros && n > 0; z++) v[r.int(0, n - 1)] = 0;
  return v;
}

describe(`prod (seed ${SEED})`, () => {
  test('matches a float64 loop, value and gradient, on random shapes and axes (zeros included)', () =>
    tidy(() => {
      for (let trial = 0; trial < 12; trial++) {
        const rank = rng.int(1, 4);
        const shape = randomShape(rng, rank, 1, 5);
        const axes = rng.next() < 0.25 ? [] : [...new Set(randomInts(rng, rng.int(1, rank), -rank, rank - 1).map((a) => (a < 0 ? a + rank : a)))];
        const keep = rng.next() < 0.5;
        const x = valuesWithZeros(rng, prodOf(shape), rng.int(0, 3));
        const outN = groups(shape, axes).size;
        const gy = randomArray(rng, outN, -1, 1);
        const ref = prodRef(x, shape, axes, gy);
        const xt = tensor(x, shape, { ...F64, requiresGrad: true });
        const y = antler.prod(xt, axes.length ? axes : undefined, keep);
        const what = `shape [${shape}] axes [${axes}] keepDims ${keep}`;
        expectClose(read(y), ref.y, 1e-14, 1e-300, what);
        const red = new Set(axes.length ? axes : shape.map((_, i) => i));
        expect(y.shape).toEqual(keep ? shape.map((d, i) => (red.has(i) ? 1 : d)) : axes.length ? shape.filter((_, i) => !red.has(i)) : []);
        y.backward(tensor(gy, y.shape, F64));
        expectClose(read(xt.grad!), ref.gx, 1e-13, 1e-300, `gradient, ${what}`);
        // float32: the product accumulated in double, rounded once.
        const y32 = antler.prod(tensor(x, shape), axes.length ? axes : undefined, keep);
        const x32 = x.map(Math.fround);
        expectExact(read(y32), prodRef(x32, shape, axes, gy).y.map(Math.fround), `float32, ${what}`);
      }
    }));

  test('zeros and infinities: each gradient is the product of the others, not result / x', () =>
    tidy(() => {
      const grad = (v: number[]) => {
        const x = tensor(v, [v.length], { ...F64, requiresGrad: true });
        antler.prod(x).backward();
        return read(x.grad!);
      };
      expect(grad([2, 0, 3])).toEqual([0, 6, 0]);
      expect(grad([0, 5, 0])).toEqual([0, 0, 0]);
      expect(grad([Infinity, 2])).toEqual([2, Infinity]); // PyTorch: [NaN, inf]
      expect(grad([4])).toEqual([1]);
      const x = tensor([3], [], { ...F64, requiresGrad: true });
      antler.prod(x).backward();
      expect(x.grad!.item()).toBe(1);
    }));

  test('several axes whose move to the end is not its own inverse ([0, 1] of rank 3, [0, 2] and [0, 1, 2] of rank 4): value and gradient, keepDims or not', () =>
    tidy(() => {
      // Distinct sizes, so a gradient permuted back the wrong way cannot pass by shape; a zero in some reductions.
      for (const [shape, axes] of [[[2, 3, 4], [0, 1]], [[2, 3, 4, 5], [0, 2]], [[3, 2, 4, 5], [0, 1, 2]], [[2, 3, 4, 5], [-4, -2]]] as [number[], number[]][])
        for (const keep of [false, true]) {
          const x = valuesWithZeros(rng, prodOf(shape), 2);
          const outN = groups(shape, axes).size;
          const gy = randomArray(rng, outN, -1, 1);
          const ref = prodRef(x, shape, axes, gy);
          const xt = tensor(x, shape, { ...F64, requiresGrad: true });
          const y = antler.prod(xt, axes, keep);
          const red = new Set(axes.map((a) => (a < 0 ? a + shape.length : a)));
          const what = `shape [${shape}] axes [${axes}] keepDims ${keep}`;
          expect(y.shape).toEqual(keep ? shape.map((d, i) => (red.has(i) ? 1 : d)) : shape.filter((_, i) => !red.has(i)));
          expectClose(read(y), ref.y, 1e-14, 1e-300, what);
          y.backward(tensor(gy, y.shape, F64));
          expectClose(read(xt.grad!), ref.gx, 1e-13, 1e-300, `gradient, ${what}`);
          // float32 takes the gradient through float64 (its own branch of the same permutation).
          const x32 = tensor(x, shape, { requiresGrad: true });
          antler.prod(x32, axes, keep).backward(tensor(gy, y.shape));
          const ref32 = prodRef(x.map(Math.fround), shape, axes, gy.map(Math.fround));
          expectClose(read(x32.grad!), ref32.gx, 1e-6, 1e-30, `float32 gradient, ${what}`);
        }
    }));

  test("the reduction's fast paths: the outer axis of wide rows (neighbouring outputs folded together) and more than 4096 factors (chunks)", () =>
    tidy(() => {
      // [R, C] over axis 0 with C ≥ 8: the column path, in blocks of 64 outputs; factors near 1 keep the products finite.
      for (const [shape, axes] of [[[3, 70], [0]], [[5, 2, 130], [0, 1]], [[2, 9000], [1]], [[9000], [0]], [[3, 3000, 2], [1]]] as [number[], number[]][]) {
        const x = randomArray(rng, prodOf(shape), 0.999, 1.001).map((v) => (rng.next() < 0.5 ? -v : v));
        const ref = { y: productsOf(x, shape, axes) };
        const what = `shape [${shape}] axes [${axes}]`;
        expectClose(read(antler.prod(tensor(x, shape, F64), axes)), ref.y, 1e-12, 1e-300, `float64 ${what}`);
        const x32 = x.map(Math.fround);
        expectClose(read(antler.prod(tensor(x32, shape), axes)), productsOf(x32, shape, axes).map(Math.fround), 2 ** -23, 1e-30, `float32 ${what}`);
        const i32 = randomInts(rng, prodOf(shape), -1, 1).map((v) => (v === 0 ? 1 : v));
        expectExact(read(antler.prod(tensor(i32, shape, { dtype: 'int32' }), axes)), productsOf(i32, shape, axes), `int32 ${what}`);
      }
    }));

  test('defaults: prod() and x.prod() reduce everything without keepDims, x.prod(axis) drops the axis; cumprod (function and method) runs along axis 0', () =>
    tidy(() => {
      const shape = [3, 4];
      const x = valuesWithZeros(rng, 12, 0);
      const xt = tensor(x, shape, F64);
      for (const y of [antler.prod(xt), xt.prod()]) {
        expect(y.shape).toEqual([]);
        expectClose(read(y), [x.reduce((a, b) => a * b, 1)], 1e-14, 0, 'prod of everything');
      }
      const rows = xt.prod(1);
      expect(rows.shape).toEqual([3]);
      expectClose(read(rows), productsOf(x, shape, [1]), 1e-14, 0, 'x.prod(1)');
      const down = cumprodRef(x, shape, 0, false, false);
      for (const y of [antler.cumprod(xt), xt.cumprod(), antler.cumprod(xt, undefined, { reverse: false }), xt.cumprod(undefined, {})])
        expectClose(read(y), down, 1e-14, 1e-300, 'cumprod along axis 0');
      expectClose(read(xt.cumprod(undefined, { exclusive: true, reverse: true })), cumprodRef(x, shape, 0, true, true), 1e-14, 1e-300, 'x.cumprod(undefined, options)');
    }));

  test('empty reductions give 1; int32 is exact or refused; tensor.prod is prod', () =>
    tidy(() => {
      expect(read(antler.prod(antler.zeros([0])))).toEqual([1]);
      expect(read(antler.prod(antler.zeros([2, 0, 3]), 1))).toEqual([1, 1, 1, 1, 1, 1]);
      expect(antler.prod(antler.zeros([0, 3]), 1).shape).toEqual([0]);
      const ints = randomInts(rng, 6, -9, 9);
      const i32 = tensor(ints, [2, 3], { dtype: 'int32' });
      const p = antler.prod(i32, 1);
      expect(p.dtype).toBe('int32');
      expect(read(p)).toEqual([ints[0] * ints[1] * ints[2], ints[3] * ints[4] * ints[5]].map((v) => v + 0));
      expectAntlerError(() => antler.prod(tensor([65536, 65536], [2], { dtype: 'int32' })), 'DTYPE_MISMATCH', /^prod: the int32 result 4294967296 does not fit int32 .*x\.cast\('float64'\)\.prod/);
      const v = randomArray(rng, 6, -2, 2);
      expectExact(read(tensor(v, [3, 2], F64).prod(0, true)), read(antler.prod(tensor(v, [3, 2], F64), 0, true)));
      expectAntlerError(() => antler.prod(tensor([1, 2], [2]), 0, { keepDims: true } as unknown as boolean), 'INVALID_ARGUMENT', /keepDims, must be a boolean/);
      expectAntlerError(() => antler.prod(tensor([1, 2], [2]), 2), 'INVALID_ARGUMENT', /^prod: axis 2 is out of range/);
    }));
});

describe(`cumprod (seed ${SEED})`, () => {
  test('matches a float64 loop on random shapes, every axis, all four exclusive/reverse combinations; float32 rounded once', () =>
    tidy(() => {
      for (let trial = 0; trial < 8; trial++) {
        const shape = randomShape(rng, rng.int(1, 4), 1, 6);
        const x = valuesWithZeros(rng, prodOf(shape), rng.int(0, 2));
        for (let axis = -shape.length; axis < shape.length; axis++)
          for (const o of COMBOS) {
            const what = `shape [${shape}] axis ${axis} ${JSON.stringify(o)}`;
            expectClose(read(antler.cumprod(tensor(x, shape, F64), axis, o)), cumprodRef(x, shape, axis, o.exclusive, o.reverse), 1e-14, 1e-300, what);
            const x32 = x.map(Math.fround);
            expectExact(read(tensor(x, shape).cumprod(axis, o)), cumprodRef(x32, shape, axis, o.exclusive, o.reverse).map(Math.fround), `float32 ${what}`);
          }
      }
    }));

  test('the gradient equals Σ_i gy_i ∂y_i/∂x_k written out (zeros included), for every option', () =>
    tidy(() => {
      for (let trial = 0; trial < 6; trial++) {
        const shape = randomShape(rng, rng.int(1, 3), 1, 6);
        const axis = rng.int(-shape.length, shape.length - 1);
        const o = rng.pick(COMBOS);
        const x = valuesWithZeros(rng, prodOf(shape), rng.int(0, 3));
        const gy = randomArray(rng, x.length, -1, 1);
        // ∂y_i/∂x_k by the product rule: the product over y_i's factors without x_k (0 when x_k is not one).
        // mag[k] = Σ_i |gy_i ∂y_i/∂x_k|: the terms have both signs, and a sum that nearly cancels is a few ulps
        // of mag off, not of itself (ANTLER_TEST_SEED=163, this test alone: 1.3e-16 off a gradient of 2.5e-5, past rtol 1e-12).
        const ax = axis < 0 ? axis + shape.length : axis, n = shape[ax], inner = prodOf(shape.slice(ax + 1));
        const mag = new Array<number>(x.length).fill(0);
        const want = x.map((_, k) => {
          let g = 0;
          const base = k - (Math.floor(k / inner) % n) * inner; // element 0 of k's line
          const posK = Math.floor(k / inner) % n;
          for (let pi = 0; pi < n; pi++) {
            const i = base + pi * inner;
            // y_i's factors: positions j with j ≤ pi (or < with exclusive), mirrored for reverse.
            const inY = (pj: number) => (o.reverse ? (o.exclusive ? pj > pi : pj >= pi) : o.exclusive ? pj < pi : pj <= pi);
            if (!inY(posK)) continue;
            let p = 1;
            for (let pj = 0; pj < n; pj++) if (pj !== posK && inY(pj)) p *= x[base + pj * inner];
            g += gy[i] * p;
            mag[k] += Math.abs(gy[i] * p);
          }
          return g;
        });
        const xt = tensor(x, shape, { ...F64, requiresGrad: true });
        antler.cumprod(xt, axis, o).backward(tensor(gy, shape, F64));
        // Each side: up to n terms of up to n factors, so within 2n ulps of mag; measured at most 2.5 ulps.
        const got = read(xt.grad!);
        want.forEach((w, k) => expectClose([got[k]], [w], 0, 4 * n * Number.EPSILON * mag[k] + 1e-300, `shape [${shape}] axis ${axis} ${JSON.stringify(o)}, element ${k}`));
      }
    }));

  test('0-d, empty, int32 exact or refused; bad calls', () =>
    tidy(() => {
      expect(read(antler.cumprod(tensor([3], [], F64)))).toEqual([3]);
      expect(read(antler.cumprod(tensor([3], [], F64), -1, { exclusive: true }))).toEqual([1]);
      expect(antler.cumprod(antler.zeros([2, 0]), 1).shape).toEqual([2, 0]);
      const ints = randomInts(rng, 5, -6, 6);
      expect(read(antler.cumprod(tensor(ints, [5], { dtype: 'int32' })))).toEqual(cumprodRef(ints, [5], 0, false, false).map((v) => v + 0));
      expectAntlerError(() => antler.cumprod(tensor([50000, 50000, 0], [3], { dtype: 'int32' })), 'DTYPE_MISMATCH', /^cumprod: the int32 result 2500000000 does not fit int32/);
      expectAntlerError(() => antler.cumprod(tensor([1, 2], [2]), 1), 'INVALID_ARGUMENT', /axis 1 .*out of range|out of range/);
      expectAntlerError(() => antler.cumprod(tensor([1, 2], [2]), 0, { exclusive: 'yes' } as unknown as { exclusive: boolean }), 'INVALID_ARGUMENT', /^cumprod: exclusive must be a boolean/);
      expectAntlerError(() => antler.cumprod('x' as unknown as Tensor), 'INVALID_ARGUMENT', /^cumprod: /);
    }));

  test('float32 factors whose partial products leave float32\'s range: cumprod\'s and prod\'s gradients exact (taken in double, as the forward)', () =>
    tidy(() => {
      const v = [1e-30, 1e-30, 3, 1e30, 1e30];
      const x = tensor(v, [5], { requiresGrad: true });
      const y = antler.cumprod(x);
      expect(read(y)[4]).toBe(Math.fround(Math.fround(1e-30) ** 2 * 3 * Math.fround(1e30) ** 2));
      antler.sum(antler.mul(y, tensor([0, 0, 0, 0, 1], [5]))).backward();
      const f = v.map(Math.fround);
      const others = f.map((_, i) => f.reduce((acc, e, j) => (j === i ? acc : acc * e), 1));
      expectClose(read(x.grad!), others.map(Math.fround), 1e-6, 0, 'cumprod gradient of its last element');
      const z = tensor(v, [5], { requiresGrad: true });
      antler.prod(z).backward();
      expectClose(read(z.grad!), others.map(Math.fround), 1e-6, 0, 'prod gradient');
      // Exclusive: the last element feeds no output, so its gradient is 0, even after an infinite factor.
      const w = tensor([Infinity, 2], [2], { dtype: 'float64', requiresGrad: true });
      antler.sum(antler.mul(antler.cumprod(w, 0, { exclusive: true }), tensor([1, 0], [2], F64))).backward();
      expectExact(read(w.grad!), [0, 0]);
      // createGraph (a graph-building backward, differentiable again) takes the float32 gradient through float64 too.
      const zg = tensor(v, [5], { requiresGrad: true });
      antler.prod(zg).backward(undefined, { createGraph: true });
      expectClose(read(zg.grad!), others.map(Math.fround), 1e-6, 0, 'prod gradient, createGraph');
      for (const reverse of [false, true]) {
        // Reversed, the factors run from the end: the product of all five is then the first output.
        const xg = tensor(reverse ? [...v].reverse() : v, [5], { requiresGrad: true });
        const pick = reverse ? [1, 0, 0, 0, 0] : [0, 0, 0, 0, 1];
        antler.sum(antler.mul(antler.cumprod(xg, 0, { reverse }), tensor(pick, [5]))).backward(undefined, { createGraph: true });
        const want = others.map(Math.fround);
        expectClose(read(xg.grad!), reverse ? [...want].reverse() : want, 1e-6, 0, `cumprod gradient, createGraph, reverse ${reverse}`);
      }
      // int32: a zero factor after the running product overflowed still gives 0, as PyTorch.
      const big = [...new Array(40).fill(2147483647), 0];
      expectExact(read(antler.prod(tensor(big, [41], { dtype: 'int32' }))), [0]);
    }));
});
