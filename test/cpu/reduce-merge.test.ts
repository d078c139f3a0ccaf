/**
 * Reductions whose adjacent axes the core merges before the kernels see them (two reduced, or two
 * kept, axes that walk memory as one; extent-1 axes dropped), and broadcastTo / strided copies whose
 * runs are filled from one value (stride 0) or copied as is. Random shapes of rank 0 to 6 with many
 * extent-1 axes, random axis sets, keepDims, inputs made by permute, flip, slice and broadcastTo,
 * and every dtype, against references computed here in float64 (exact for int32, copies and fills).
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import type { DType } from '../../lib/validate';
import { native } from '../../lib/native';
import { expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, prod, randomArray, randomInts, ravel, tensorCounts, unravel } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);
const read = (t: Tensor) => Array.from(t.dataSync());
const DTYPES: DType[] = ['float32', 'float64', 'int32'];

type Op = 'sum' | 'prod' | 'max' | 'min';

/** Folds v (row-major, `shape`) over `axes` (all when empty) in float64; int32 sums and products wrap as int32. */
function reduceRef(v: readonly number[], shape: readonly number[], axes: readonly number[], op: Op, int32: boolean): number[] {
  const red = shape.map((_, d) => axes.length === 0 || axes.includes(d));
  const outShape = shape.filter((_, d) => !red[d]);
  const n = prod(outShape);
  const init = op === 'sum' ? 0 : op === 'prod' ? 1 : NaN;
  const out = new Array<number>(n).fill(init);
  const seen = new Array<boolean>(n).fill(false);
  for (let p = 0; p < v.length; p++) {
    const at = unravel(shape, p);
    const o = outShape.length ? ravel(outShape, at.filter((_, d) => !red[d])) : 0;
    const x = v[p];
    if (op === 'sum') out[o] = int32 ? (out[o] + x) | 0 : out[o] + x;
    else if (op === 'prod') out[o] = int32 ? Math.imul(out[o], x) : out[o] * x;
    else if (!seen[o]) out[o] = x;
    else out[o] = op === 'max' ? Math.max(out[o], x) : Math.min(out[o], x);
    seen[o] = true;
  }
  return out;
}

/** A shape of the given rank, one in three extents 1 (dropped by the merge) and the rest 2..maxExtent. */
function mergeShape(rank: number, maxExtent: number): number[] {
  return Array.from({ length: rank }, () => (rng.next() < 1 / 3 ? 1 : rng.int(2, maxExtent)));
}

/** Values for a dtype: small integers for int32 (exact products), (0.5, 1.5) for floating products. */
function valuesFor(dtype: DType, op: Op | 'copy', n: number): number[] {
  if (dtype === 'int32') return op === 'prod' ? randomInts(rng, n, -3, 3) : randomInts(rng, n, -1000, 1000);
  const v = op === 'prod' ? randomArray(rng, n, 0.5, 1.5) : randomArray(rng, n, -1, 1);
  return dtype === 'float32' ? v.map(Math.fround) : v;
}

/**
 * A tensor of `shape` made through a copy the core does with strides (permute, flip, slice or
 * broadcastTo of a smaller tensor), checked against the same transform done here; returns it and
 * its values.
 */
function madeInput(shape: number[], dtype: DType, op: Op | 'copy'): { x: Tensor; v: number[]; how: string } {
  const rank = shape.length;
  const kind = rank === 0 ? 'plain' : rng.pick(['plain', 'permute', 'flip', 'slice', 'expand'] as const);
  if (kind === 'permute') {
    const perm = Array.from({ length: rank }, (_, i) => i).sort(() => rng.next() - 0.5);
    const srcShape = shape.map((_, i) => shape[perm.indexOf(i)]); // x = permute(src, perm) has `shape`
    const sv = valuesFor(dtype, op, prod(srcShape));
    const x = antler.permute(tensor(sv, srcShape, { dtype }), perm);
    const v = Array.from({ length: prod(shape) }, (_, p) => {
      const at = unravel(shape, p);
      return sv[ravel(srcShape, srcShape.map((_, i) => at[perm.indexOf(i)]))];
    });
    return { x, v, how: `permute([${srcShape}], [${perm}])` };
  }
  if (kind === 'flip') {
    const axes = shape.map((_, i) => i).filter(() => rng.next() < 0.5);
    const sv = valuesFor(dtype, op, prod(shape));
    const x = antler.flip(tensor(sv, shape, { dtype }), axes);
    const v = Array.from({ length: prod(shape) }, (_, p) => {
      const at = unravel(shape, p);
      return sv[ravel(shape, at.map((c, i) => (axes.includes(i) ? shape[i] - 1 - c : c)))];
    });
    return { x, v, how: `flip([${shape}], [${axes}])` };
  }
  if (kind === 'slice') {
    const begin = shape.map(() => rng.int(0, 2));
    const srcShape = shape.map((d, i) => d + begin[i] + rng.int(0, 2));
    const sv = valuesFor(dtype, op, prod(srcShape));
    const x = antler.slice(tensor(sv, srcShape, { dtype }), begin, shape);
    const v = Array.from({ length: prod(shape) }, (_, p) => sv[ravel(srcShape, unravel(shape, p).map((c, i) => c + begin[i]))]);
    return { x, v, how: `slice([${srcShape}], [${begin}])` };
  }
  if (kind === 'expand') {
    // Some axes of extent 1 in the source (stride 0 in the copy), a leading axis or two missing.
    const lead = rng.int(0, Math.min(2, rank));
    const srcShape = shape.slice(lead).map((d) => (rng.next() < 0.5 ? 1 : d));
    const sv = valuesFor(dtype, op, prod(srcShape));
    const x = antler.broadcastTo(tensor(sv, srcShape, { dtype }), shape);
    const v = Array.from({ length: prod(shape) }, (_, p) => {
      const at = unravel(shape, p).slice(lead);
      return sv[ravel(srcShape, at.map((c, i) => (srcShape[i] === 1 ? 0 : c)))];
    });
    return { x, v, how: `broadcastTo([${srcShape}])` };
  }
  const v = valuesFor(dtype, op, prod(shape));
  return { x: tensor(v, shape, { dtype }), v, how: 'plain' };
}

function checkReduce(op: Op, dtype: DType, shape: number[], axes: number[], keepDims: boolean): void {
  tidy(() => {
    const { x, v, how } = madeInput(shape, dtype, op);
    const what = `${op} ${dtype} [${shape}] axes [${axes}] keepDims ${keepDims} of ${how}`;
    expectExact(read(x), v, `${what}: input`);
    // int32 sums and products in lib go through float64; the native op folds int32 itself (wrapping).
    const y =
      dtype === 'int32' && (op === 'sum' || op === 'prod')
        ? new Tensor(native().reduce(op, x.handle, axes, keepDims))
        : antler[op](x, axes.length ? axes : undefined, keepDims);
    const want = reduceRef(v, shape, axes, op, dtype === 'int32');
    const outShape = shape.flatMap((d, i) => (axes.length === 0 || axes.includes(i) ? (keepDims ? [1] : []) : [d]));
    expect(y.shape).toEqual(outShape);
    expect(y.dtype).toBe(dtype);
    const got = read(y);
    if (dtype === 'int32' || op === 'max' || op === 'min') expectExact(got, want, what);
    // The kernels accumulate in double: a float32 result is the float64 value rounded (within an ulp),
    // a float64 one is within rounding of the terms' count.
    else if (dtype === 'float32') expectClose(got, want.map(Math.fround), 2 ** -23, 1e-6 * (op === 'sum' ? 1 : 0), what);
    else expectClose(got, want, 1e-13, 1e-13, what);
  });
}

describe(`reductions over merged axes (seed ${SEED})`, () => {
  test('sum, prod, max, min over random axis sets of ranks 0-6, every dtype, keepDims, made by copies', () => {
    for (let trial = 0; trial < 160; trial++) {
      const rank = rng.int(0, 6);
      const shape = mergeShape(rank, rank > 4 ? 4 : 6);
      const axes = shape.map((_, i) => i).filter(() => rng.next() < 0.5);
      const op = rng.pick(['sum', 'prod', 'max', 'min'] as const);
      checkReduce(op, rng.pick(DTYPES), shape, axes, rng.next() < 0.5);
    }
  });

  test('alternating reduced and kept axes (a merge across an axis of the other kind would be wrong)', () => {
    // [a, b, c, d, e] reducing 0, 2, 4 and 1, 3, with extents that never make a wrong merge land on
    // the right offsets by chance; extent-1 axes between two of a kind let them merge.
    for (const dtype of DTYPES)
      for (const op of ['sum', 'max', 'prod'] as const)
        for (const [shape, axes] of [
          [[3, 4, 5, 2, 3], [0, 2, 4]],
          [[3, 4, 5, 2, 3], [1, 3]],
          [[3, 1, 5, 1, 3], [0, 2, 4]],
          [[2, 3, 1, 4, 5], [0, 1, 3]],
          [[5, 1, 4, 6, 1, 3], [0, 3, 5]],
        ] as const)
          checkReduce(op, dtype, [...shape], [...axes], false);
  });

  test('long runs: more than one chunk of 4096 per output, column path over outer axes, mean and its gradient', () => {
    for (const [shape, axes] of [
      [[3, 50, 7, 13], []],
      [[3, 50, 7, 13], [1, 2, 3]],
      [[9, 33, 20, 2], [0, 1, 2]],
      [[40, 30, 4, 3], [0, 1]],
      [[2, 64, 9, 9], [2, 3]],
    ] as [number[], number[]][])
      for (const dtype of DTYPES) checkReduce('sum', dtype, shape, axes, rng.next() < 0.5);
    tidy(() => {
      const shape = [4, 6, 5, 7];
      const v = randomArray(rng, prod(shape));
      const x = tensor(v, shape, { dtype: 'float64', requiresGrad: true });
      const m = antler.mean(x, [2, 3], true);
      const want = reduceRef(v, shape, [2, 3], 'sum', false).map((s) => s / 35);
      expectClose(read(m), want, 1e-14, 1e-15, 'mean [2,3]');
      const w = randomArray(rng, 24);
      antler.sum(antler.mul(m, tensor(w, [4, 6, 1, 1], { dtype: 'float64' }))).backward();
      // d/dx of Σ w[n,c]·mean(x[n,c]) is w[n,c] / 35 at every element of (n, c).
      expectExact(read(x.grad!), Array.from({ length: v.length }, (_, p) => w[Math.floor(p / 35)] / 35), 'mean backward');
    });
  });
});

describe(`merged reductions: thread counts and NaN (seed ${SEED})`, () => {
  test('float64 and float32 sums are the same bits with 1, 2 and 3 threads (chunks of 4096 in index order), row and column paths', () => {
    const original = antler.backends().cpu.threads;
    try {
      for (const [shape, axes] of [
        [[3, 50, 7, 13], []],
        [[3, 50, 7, 13], [1, 2, 3]],
        [[9, 33, 20, 2], [0, 1, 2]],
        [[40, 30, 4, 3], [0, 1]],
        [[70, 2, 4], [0]],
        [[6, 1, 5000], [0, 2]],
      ] as [number[], number[]][])
        for (const dtype of ['float64', 'float32'] as const) {
          // Not dyadic with few bits: sums of these round, so a changed fold order shows in the bits.
          const v = randomArray(rng, prod(shape)).map((e) => Math.sin(1000 * e));
          const runs = [1, 2, 3].map((t) => {
            antler.setNumThreads(t);
            return tidy(() => read(antler.sum(tensor(v, shape, { dtype }), axes.length ? axes : undefined)));
          });
          const what = `sum ${dtype} [${shape}] axes [${axes}]`;
          expectExact(runs[1], runs[0], `${what}: 2 threads vs 1`, true);
          expectExact(runs[2], runs[0], `${what}: 3 threads vs 1`, true);
          expectClose(runs[0], reduceRef(dtype === 'float32' ? v.map(Math.fround) : v, shape, axes, 'sum', false), 1e-6, 1e-12, what);
        }
    } finally {
      antler.setNumThreads(original);
    }
  });

  test('max and min propagate NaN over merged axes, over several chunks and on the column path', () => {
    for (const [shape, axes] of [
      [[3, 50, 7, 13], [1, 2, 3]],
      [[3, 1, 50, 1, 91], [2, 4]],
      [[70, 2, 4], [0]],
      [[40, 30, 4, 3], [0, 1]],
      [[5, 1, 9000], [0, 2]],
    ] as [number[], number[]][])
      for (const dtype of ['float32', 'float64'] as const)
        for (const op of ['max', 'min'] as const)
          tidy(() => {
            const n = prod(shape);
            const v = randomArray(rng, n, -1, 1).map((e) => (dtype === 'float32' ? Math.fround(e) : e));
            // A NaN in some outputs' elements: the last element, and two anywhere.
            for (const p of [n - 1, rng.int(0, n - 1), rng.int(0, n - 1)]) v[p] = NaN;
            const got = read(antler[op](tensor(v, shape, { dtype }), axes));
            const want = reduceRef(v, shape, axes, op, false);
            expect(want.some(Number.isNaN)).toBe(true);
            expectExact(got, want, `${op} ${dtype} [${shape}] axes [${axes}] with NaN`);
          });
  });
});

describe(`broadcastTo and strided copies with stride-0 runs (seed ${SEED})`, () => {
  const check = (src: number[], target: number[], dtype: DType) =>
    tidy(() => {
      const sv = valuesFor(dtype, 'copy', prod(src));
      const y = antler.broadcastTo(tensor(sv, src, { dtype }), target);
      const lead = target.length - src.length;
      const want = Array.from({ length: prod(target) }, (_, p) => {
        const at = unravel(target, p).slice(lead);
        return sv[ravel(src, at.map((c, i) => (src[i] === 1 ? 0 : c)))];
      });
      expect(y.shape).toEqual(target);
      expect(y.dtype).toBe(dtype);
      expectExact(read(y), want, `broadcastTo ${dtype} [${src}] -> [${target}]`, true);
    });

  test('from scalars and one-element tensors, [N,C,1,1], [1,C,1,W] and random patterns, every dtype, exact', () => {
    for (const dtype of DTYPES) {
      check([], [], dtype);
      check([], [5000], dtype); // more than one 4096-element block
      check([], [3, 1, 700, 3], dtype);
      check([1, 1], [7, 9, 11], dtype);
      check([8, 16, 1, 1], [8, 16, 7, 7], dtype);
      check([1, 16, 1, 9], [4, 16, 5, 9], dtype);
      check([3, 1], [2, 3, 4097], dtype); // a run longer than a block
      check([5, 1, 3], [5, 4, 3], dtype);
      for (let trial = 0; trial < 20; trial++) {
        const target = mergeShape(rng.int(0, 6), 5);
        const lead = rng.int(0, target.length);
        check(target.slice(lead).map((d) => (rng.next() < 0.5 ? 1 : d)), target, dtype);
      }
    }
  });

  test('reductions and their gradients on expanded inputs keep every value', () =>
    tidy(() => {
      // sum's backward is broadcastTo from a scalar; max's, a masked broadcast of [N, C, 1, 1].
      const shape = [3, 5, 4, 6];
      const v = randomArray(rng, prod(shape));
      const x = tensor(v, shape, { dtype: 'float64', requiresGrad: true });
      antler.sum(antler.mul(x, 2)).backward();
      expectExact(read(x.grad!), new Array(v.length).fill(2), 'sum(mul(x, 2)) backward');
      x.grad = null;
      antler.sum(antler.max(x, [2, 3])).backward();
      const mx = reduceRef(v, shape, [2, 3], 'max', false);
      expectExact(read(x.grad!), v.map((e, p) => (e === mx[Math.floor(p / 24)] ? 1 : 0)), 'sum(max(x, [2, 3])) backward');
    }));
});
