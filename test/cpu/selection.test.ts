/**
 * lib/ops/selection.ts against references written here in float64 from
 * PyTorch's definitions (loops over plain arrays), on fresh random inputs:
 * negative axes and indices, broadcasting, empty results, repeats, NaN, int32,
 * and bad inputs (AntlerError, nothing damaged, nothing left behind).
 * Gradients of every differentiable op are checked by the op registry
 * (test/opinfo-selection.ts); here the tie and zero conventions of
 * scatterReduce's gradient, which the registry's finite differences avoid.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, prod, randomArray, randomInts, randomShape, ravel, tensorCounts, unravel } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const I32 = { dtype: 'int32' as const };
const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
const norm = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** out[o] = x[source(o)] for every position of outShape: the reference of every pure re-indexing. */
function mapRef(x: number[], xShape: number[], outShape: number[], source: (o: number[]) => number[]): number[] {
  return Array.from({ length: prod(outShape) }, (_, p) => x[ravel(xShape, source(unravel(outShape, p)))]);
}

function expectValues(t: Tensor, shape: number[], values: number[], msg: string): void {
  expect(t.shape).toEqual(shape);
  expectExact(read(t), values, `${msg} (seed ${SEED})`);
}

describe(`selection ops (seed ${SEED})`, () => {
  test('movedim and swapaxes move the axes as torch.movedim / torch.swapaxes', () => {
    tidy(() => {
      for (let trial = 0; trial < 6; trial++) {
        const rank = rng.int(1, 4);
        const shape = randomShape(rng, rank, 1, 4);
        const v = randomArray(rng, prod(shape));
        const x = tensor(v, shape, F64);
        const k = rng.int(1, rank);
        const axes = Array.from({ length: rank }, (_, i) => i);
        const src = axes.slice().sort(() => rng.next() - 0.5).slice(0, k);
        const dst = axes.slice().sort(() => rng.next() - 0.5).slice(0, k);
        // torch's definition: destination[i] holds source[i]; the rest keep their order.
        const perm = new Array<number>(rank).fill(-1);
        src.forEach((s, i) => (perm[dst[i]] = s));
        const rest = axes.filter((a) => !src.includes(a));
        for (let i = 0, r = 0; i < rank; i++) if (perm[i] < 0) perm[i] = rest[r++];
        const outShape = perm.map((p) => shape[p]);
        const ref = mapRef(v, shape, outShape, (o) => { const s = new Array<number>(rank); perm.forEach((p, i) => (s[p] = o[i])); return s; });
        expectValues(antler.movedim(x, src.map((a) => (rng.next() < 0.5 ? a - rank : a)), dst.map((a) => (rng.next() < 0.5 ? a - rank : a))), outShape, ref, `movedim ${src}→${dst}`);
        if (k === 1) expectValues(x.movedim(src[0], dst[0]), outShape, ref, 'x.movedim');
        const a = rng.int(0, rank - 1), b = rng.int(0, rank - 1);
        const swapped = shape.slice();
        [swapped[a], swapped[b]] = [shape[b], shape[a]];
        expectValues(antler.swapaxes(x, a - rank, b), swapped, mapRef(v, shape, swapped, (o) => { const s = o.slice(); [s[a], s[b]] = [o[b], o[a]]; return s; }), 'swapaxes');
      }
      expectAntlerError(() => antler.movedim(tensor([1, 2], [2]), 1, 0), 'INVALID_ARGUMENT', /source/);
      expectAntlerError(() => antler.movedim(tensor([1, 2], [1, 2]), [0, 1], [1]), 'INVALID_ARGUMENT');
    });
  });

  test('expand and repeat as torch.Tensor.expand / repeat', () => {
    tidy(() => {
      const v = randomArray(rng, 3);
      const x = tensor(v, [3, 1], F64);
      expectValues(antler.expand(x, 2, -1, 4), [2, 3, 4], mapRef(v, [3, 1], [2, 3, 4], (o) => [o[1], 0]), 'expand');
      expectValues(x.expand([3, 2]), [3, 2], mapRef(v, [3, 1], [3, 2], (o) => [o[0], 0]), 'x.expand');
      expectAntlerError(() => antler.expand(x, 2, 2), 'SHAPE_MISMATCH');
      expectAntlerError(() => antler.expand(x, -1, 3, 1), 'INVALID_ARGUMENT');
      const w = randomArray(rng, 6);
      const y = tensor(w, [2, 3], F64);
      expectValues(antler.repeat(y, 2, 3, 2), [2, 6, 6], mapRef(w, [2, 3], [2, 6, 6], (o) => [o[1] % 2, o[2] % 3]), 'repeat');
      expectValues(y.repeat(1, 0), [2, 0], [], 'repeat 0');
      expectAntlerError(() => antler.repeat(y, 2), 'INVALID_ARGUMENT', /fewer/);
    });
  });

  test('repeatInterleave as torch.repeat_interleave (number, tensor, flattened, outputSize)', () => {
    tidy(() => {
      const shape = [2, 3, 2];
      const v = randomArray(rng, 12);
      const x = tensor(v, shape, F64);
      for (const axis of [0, -2, 2]) {
        const ax = norm(axis, 3);
        const reps = randomInts(rng, shape[ax], 0, 3);
        const src: number[] = [];
        reps.forEach((r, i) => { for (let k = 0; k < r; k++) src.push(i); });
        const outShape = shape.map((d, i) => (i === ax ? src.length : d));
        const ref = mapRef(v, shape, outShape, (o) => o.map((c, i) => (i === ax ? src[c] : c)));
        expectValues(antler.repeatInterleave(x, tensor(reps, [reps.length], I32), { axis, outputSize: src.length }), outShape, ref, `repeatInterleave axis ${axis}`);
        expectValues(antler.repeatInterleave(x, 2, { axis }), shape.map((d, i) => (i === ax ? 2 * d : d)), mapRef(v, shape, shape.map((d, i) => (i === ax ? 2 * d : d)), (o) => o.map((c, i) => (i === ax ? c >> 1 : c))), 'number');
      }
      expectValues(x.repeatInterleave(3), [36], v.flatMap((e) => [e, e, e]), 'flattened');
      expectValues(antler.repeatInterleave(x, tensor([2], [1], I32), { axis: 1 }), [2, 6, 2], mapRef(v, shape, [2, 6, 2], (o) => [o[0], o[1] >> 1, o[2]]), 'one count');
      expectAntlerError(() => antler.repeatInterleave(x, tensor([1, 1], [2], I32), { axis: 1 }), 'SHAPE_MISMATCH');
      expectAntlerError(() => antler.repeatInterleave(x, 2, { axis: 0, outputSize: 3 }), 'INVALID_ARGUMENT');
    });
  });

  test('rot90 as torch.rot90 for k in −5 … 5', () => {
    tidy(() => {
      const shape = [2, 3, 4];
      const v = randomArray(rng, 24);
      const x = tensor(v, shape, F64);
      for (let k = -5; k <= 5; k++) {
        const [a, b] = rng.pick([[0, 1], [2, 0], [1, -1]] as [number, number][]).map((d) => norm(d, 3));
        const t = ((k % 4) + 4) % 4;
        const outShape = shape.slice();
        if (t % 2) [outShape[a], outShape[b]] = [shape[b], shape[a]];
        const na = shape[a], nb = shape[b];
        // torch: k = 1 is flip(b) then swap(a, b); 2 flips both; 3 is flip(a) then swap.
        const ref = mapRef(v, shape, outShape, (o) => {
          const s = o.slice();
          if (t === 1) { s[a] = o[b]; s[b] = nb - 1 - o[a]; }
          if (t === 2) { s[a] = na - 1 - o[a]; s[b] = nb - 1 - o[b]; }
          if (t === 3) { s[a] = na - 1 - o[b]; s[b] = o[a]; }
          return s;
        });
        expectValues(antler.rot90(x, k, [a, b]), outShape, ref, `rot90 k ${k} axes ${a},${b}`);
      }
      expectAntlerError(() => antler.rot90(tensor([1, 2], [2])), 'SHAPE_MISMATCH');
    });
  });

  test('tensorSplit as torch.tensor_split (sections, indices as Python slices)', () => {
    tidy(() => {
      const L = rng.int(0, 9);
      const v = randomArray(rng, 2 * L);
      const x = tensor(v, [2, L], F64);
      for (const [L7, n] of [[7, 3], [L, rng.int(1, 5)]]) {
        const v7 = L7 === L ? v : randomArray(rng, 2 * L7);
        const parts = antler.tensorSplit(tensor(v7, [2, L7], F64), n, -1);
        expect(parts.length).toBe(n);
        let at = 0;
        parts.forEach((p, i) => {
          const len = Math.floor(L7 / n) + (i < L7 % n ? 1 : 0);
          expectValues(p, [2, len], mapRef(v7, [2, L7], [2, len], (o) => [o[0], o[1] + at]), `sections ${n} of ${L7} piece ${i}`);
          at += len;
        });
      }
      const cuts = randomInts(rng, 3, -L - 2, L + 2);
      const slicePy = (s: number, e: number) => { const c = (q: number) => (q < 0 ? Math.max(0, q + L) : Math.min(q, L)); return [c(s), Math.max(c(s), c(e))]; };
      const bounds = [0, ...cuts, L];
      x.tensorSplit(cuts, 1).forEach((p, i) => {
        const [s, e] = slicePy(bounds[i], bounds[i + 1]);
        expectValues(p, [2, e - s], mapRef(v, [2, L], [2, e - s], (o) => [o[0], o[1] + s]), `indices ${cuts} piece ${i}`);
      });
      expectAntlerError(() => antler.tensorSplit(x, 0, 1), 'INVALID_ARGUMENT');
    });
  });

  test('take and takeAlongDim as torch.take / torch.take_along_dim', () => {
    tidy(() => {
      const shape = randomShape(rng, 3, 1, 4);
      const N = prod(shape);
      const v = randomArray(rng, N);
      const x = tensor(v, shape, F64);
      const idx = randomInts(rng, 7, -N, N - 1);
      expectValues(antler.take(x, tensor(idx, [7], I32)), [7], idx.map((i) => v[i < 0 ? i + N : i]), 'take');
      expectValues(x.take(tensor([], [0, 2], I32)), [0, 2], [], 'take empty');
      const bad = tensor([0, N], [2], I32);
      expectAntlerError(() => antler.take(x, bad), 'INVALID_ARGUMENT', new RegExp(`index ${N} at \\[1\\]`));
      expectAntlerError(() => antler.take(x, tensor([-N - 1], [1], I32)), 'INVALID_ARGUMENT');
      // takeAlongDim: indices broadcast with x on the other axes (here x [a, 1, c] and indices [1, b, k] along axis 2).
      const [a, b, c] = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 4)];
      const k = rng.int(0, 4);
      const xv = randomArray(rng, a * c);
      const iv = randomInts(rng, b * k, 0, c - 1);
      const out = antler.takeAlongDim(tensor(xv, [a, 1, c], F64), tensor(iv, [1, b, k], I32), -1);
      expectValues(out, [a, b, k], mapRef(xv, [a, 1, c], [a, b, k], (o) => [o[0], 0, iv[o[1] * k + o[2]]]), 'takeAlongDim');
      const fi = randomInts(rng, 5, 0, N - 1);
      expectValues(x.takeAlongDim(tensor(fi, [5], I32)), [5], fi.map((i) => v[i]), 'takeAlongDim flattened');
      expectAntlerError(() => antler.takeAlongDim(x, tensor([-1], [1], I32)), 'INVALID_ARGUMENT', /^takeAlongDim:/);
      expectAntlerError(() => antler.takeAlongDim(x, tensor([0], [1], I32), 0), 'SHAPE_MISMATCH');
    });
  });

  test('indexAdd, indexCopy and indexFill as torch.index_add / index_copy / index_fill', () => {
    tidy(() => {
      for (const dtype of ['float64', 'float32', 'int32'] as const) {
        const shape = [3, 4, 2];
        const axis = rng.pick([0, 1, -1]);
        const ax = norm(axis, 3);
        const n = shape[ax];
        const draw = (count: number) => (dtype === 'int32' ? randomInts(rng, count, -9, 9) : randomArray(rng, count).map(Math.fround));
        const v = draw(24);
        const x = tensor(v, shape, { dtype });
        const k = rng.int(0, 5);
        const idx = randomInts(rng, k, 0, n - 1); // repeats likely
        const sShape = shape.map((d, i) => (i === ax ? k : d));
        const sv = draw(prod(sShape));
        const alpha = dtype === 'int32' ? -2 : 0.5;
        const ref = v.slice();
        for (let p = 0; p < sv.length; p++) {
          const at = unravel(sShape, p);
          at[ax] = idx[at[ax]];
          ref[ravel(shape, at)] += alpha * sv[p];
        }
        const got = antler.indexAdd(x, axis, tensor(idx, [k], I32), tensor(sv, sShape, { dtype }), { alpha });
        expect(got.dtype).toBe(dtype);
        expectClose(read(got), ref, dtype === 'float32' ? 1e-6 : 0, dtype === 'float32' ? 1e-6 : 0, `indexAdd ${dtype} axis ${axis} index ${idx}`);
        // indexCopy: distinct positions.
        const dist = Array.from({ length: n }, (_, i) => i).sort(() => rng.next() - 0.5).slice(0, Math.min(k, n));
        const cShape = shape.map((d, i) => (i === ax ? dist.length : d));
        const cv = draw(prod(cShape));
        const cref = v.slice();
        for (let p = 0; p < cv.length; p++) {
          const at = unravel(cShape, p);
          at[ax] = dist[at[ax]];
          cref[ravel(shape, at)] = cv[p];
        }
        expectExact(read(x.indexCopy(axis, tensor(dist, [dist.length], I32), tensor(cv, cShape, { dtype }))), cref, `indexCopy ${dtype}`);
        // indexFill: negative positions count from the end; repeats fine.
        const fidx = randomInts(rng, 3, -n, n - 1);
        const fill = new Set(fidx.map((i) => (i < 0 ? i + n : i)));
        const fref = v.map((e, p) => (fill.has(unravel(shape, p)[ax]) ? -7 : e));
        expectExact(read(antler.indexFill(x, axis, tensor(fidx, [3], I32), -7)), fref, `indexFill ${dtype}`);
      }
      const x = tensor([1, 2, 3], [3], F64);
      expectAntlerError(() => antler.indexAdd(x, 0, tensor([3], [1], I32), tensor([1], [1], F64)), 'INVALID_ARGUMENT', /index 3 at \[0\] is outside \[0, 3\)/);
      expectAntlerError(() => antler.indexAdd(x, 0, tensor([-1], [1], I32), tensor([1], [1], F64)), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.indexCopy(x, 0, tensor([0, 0], [2], I32), tensor([1, 2], [2], F64)), 'INVALID_ARGUMENT', /2 times/);
      expectAntlerError(() => antler.indexFill(x, 0, tensor([-4], [1], I32), 0), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.indexAdd(x, 0, tensor([0], [1], I32), tensor([1], [1], { dtype: 'float32' })), 'DTYPE_MISMATCH');
      expectExact(read(x), [1, 2, 3], 'x untouched');
    });
  });

  /** torch's scatter_reduce, transcribed: every named position starts from x (includeSelf) or from nothing, then reduces src in. */
  function scatterReduceRef(x: number[], shape: number[], ax: number, idx: number[], iShape: number[], src: number[], sShape: number[], reduce: string, includeSelf: boolean, int = false): number[] {
    const acc = new Map<number, number[]>();
    for (let p = 0; p < idx.length; p++) {
      const at = unravel(iShape, p);
      const s = src[ravel(sShape, at)];
      at[ax] = idx[p];
      const q = ravel(shape, at);
      if (!acc.has(q)) acc.set(q, includeSelf ? [x[q]] : []);
      acc.get(q)!.push(s);
    }
    return x.map((e, q) => {
      const list = acc.get(q);
      if (!list) return e;
      switch (reduce) {
        case 'sum': return list.reduce((a, b) => a + b, 0);
        case 'prod': return list.reduce((a, b) => a * b, 1);
        case 'mean': { const m = list.reduce((a, b) => a + b, 0) / list.length; return int ? Math.floor(m) : m; }
        case 'amax': return list.some(Number.isNaN) ? NaN : Math.max(...list);
        default: return list.some(Number.isNaN) ? NaN : Math.min(...list);
      }
    });
  }

  test('scatterReduce as torch.scatter_reduce: every reduction, includeSelf, repeats, int32, NaN', () => {
    tidy(() => {
      for (const reduce of ['sum', 'prod', 'mean', 'amax', 'amin'] as const)
        for (const includeSelf of [true, false])
          for (const dtype of ['float64', 'float32', 'int32'] as const) {
            const shape = [3, 4];
            const axis = rng.pick([0, 1, -1]);
            const ax = norm(axis, 2);
            const iShape = [rng.int(1, 3), rng.int(1, 4)];
            if (ax === 1) iShape[0] = rng.int(1, 3); else iShape[1] = rng.int(1, 4);
            const sShape = iShape.map((d) => d + rng.int(0, 1));
            const int = dtype === 'int32';
            const draw = (count: number) => (int ? randomInts(rng, count, -4, 4) : randomArray(rng, count, -2, 2).map(Math.fround));
            const v = draw(12), sv = draw(prod(sShape));
            if (!int && rng.next() < 0.5) sv[0] = NaN;
            if (reduce === 'amax' || reduce === 'amin') sv[sv.length - 1] = sv[0]; // a tie, perhaps in one run
            const idx = randomInts(rng, prod(iShape), 0, shape[ax] - 1);
            const got = antler.scatterReduce(tensor(v, shape, { dtype }), axis, tensor(idx, iShape, I32), tensor(sv, sShape, { dtype }), reduce, { includeSelf });
            expect(got.dtype).toBe(dtype);
            const ref = scatterReduceRef(v, shape, ax, idx, iShape, sv, sShape, reduce, includeSelf, int);
            const tol = dtype === 'float32' ? 1e-5 : 1e-14;
            expectClose(read(got), int ? ref : ref.map((e) => (dtype === 'float32' ? Math.fround(e) : e)), int ? 0 : tol, int ? 0 : tol, `${reduce} includeSelf ${includeSelf} ${dtype} axis ${axis} index ${idx} ${iShape}`);
          }
      const x = tensor([1, 2], [2], F64);
      expectAntlerError(() => antler.scatterReduce(x, 0, tensor([2], [1], I32), tensor([1], [1], F64), 'sum'), 'INVALID_ARGUMENT', /index 2 at \[0\]/);
      expectAntlerError(() => antler.scatterReduce(x, 0, tensor([0, 0, 0], [3], I32), tensor([1], [1], F64), 'sum'), 'SHAPE_MISMATCH');
      expectAntlerError(() => antler.scatterReduce(x, 0, tensor([0], [1], I32), tensor([1], [1], F64), 'max' as 'amax'), 'INVALID_ARGUMENT');
      expectExact(read(antler.scatterReduce(x, 0, tensor([], [0], I32), tensor([], [0], F64), 'prod')), [1, 2], 'empty index');
      // int32 'mean' divides the int32 sum as PyTorch's, wrapped on overflow, rounding down: 1 − 2^31 − 2^31 wraps to 1, and 1 / 3 → 0;
      // 3·(2^31 − 1) wraps to 2147483645, and / 3 → 715827881 (torch 1.13's values).
      const i32 = (v: number[]) => tensor(v, [v.length], I32);
      expectExact(read(antler.scatterReduce(i32([1, 2, 3]), 0, i32([0, 0, 1, 1]), i32([-2147483648, -2147483648, -7, 2]), 'mean')), [0, -1, 3], 'int32 mean, overflowing sum');
      expectExact(read(antler.scatterReduce(i32([1, 2, 3]), 0, i32([0, 0, 0]), i32([2147483647, 2147483647, 2147483647]), 'mean', { includeSelf: false })), [715827881, 2, 3], 'int32 mean without x, overflowing sum');
    });
  });

  test("scatterReduce's gradient: amax/amin ties share evenly, prod exact at zeros", () => {
    tidy(() => {
      // x = [5, 2, 3], src [5, 5, 0, 0, 1] → positions [0, 0, 1, 1, 2]. amax with x: position 0 ties three ways.
      for (const includeSelf of [true, false]) {
        const x = tensor([5, 2, 3], [3], { ...F64, requiresGrad: true });
        const s = tensor([5, 5, 0, 0, 1], [5], { ...F64, requiresGrad: true });
        const idx = tensor([0, 0, 1, 1, 2], [5], I32);
        const gy = [0.5, -1, 2];
        antler.scatterReduce(x, 0, idx, s, 'amax', { includeSelf }).backward(tensor(gy, [3], F64));
        // includeSelf: x[0] is one of three; x[1] = 2 beats the zeros; x[2] = 3 beats 1. Without it x takes no share where named.
        expectClose(read(x.grad!), includeSelf ? [0.5 / 3, -1, 2] : [0, 0, 0], 1e-15, 0, `amax x grad includeSelf ${includeSelf}`);
        expectClose(read(s.grad!), includeSelf ? [0.5 / 3, 0.5 / 3, 0, 0, 0] : [0.25, 0.25, -0.5, -0.5, 2], 1e-15, 0, `amax src grad includeSelf ${includeSelf}`);
        const x2 = tensor([2, 3, 4], [3], { ...F64, requiresGrad: true });
        const s2 = tensor([0, 5, 0, 0, 7], [5], { ...F64, requiresGrad: true });
        antler.scatterReduce(x2, 0, idx, s2, 'prod', { includeSelf }).backward(tensor(gy, [3], F64));
        // Position 0: x·0·5 (one zero: only the zero's factor has a gradient); position 1: x·0·0 (two zeros: none).
        expectClose(read(x2.grad!), includeSelf ? [0, 0, 2 * 7] : [0, 0, 0], 1e-15, 0, `prod x grad ${includeSelf}`);
        expectClose(read(s2.grad!), includeSelf ? [0.5 * 2 * 5, 0, 0, 0, 2 * 4] : [0.5 * 5, 0, 0, 0, 2], 1e-15, 0, `prod src grad ${includeSelf}`);
      }
      // A NaN result: the NaN elements share its gradient (torch 1.13's is NaN there).
      const x3 = tensor([1], [1], { ...F64, requiresGrad: true });
      const s3 = tensor([NaN, 1, NaN], [3], { ...F64, requiresGrad: true });
      antler.scatterReduce(x3, 0, tensor([0, 0, 0], [3], I32), s3, 'amax').backward(tensor([3], [1], F64));
      expectExact(read(x3.grad!), [0], 'amax NaN result, x grad');
      expectExact(read(s3.grad!), [1.5, 0, 1.5], 'amax NaN result, src grad');
    });
  });

  test('maskedSelect and maskedScatter as torch.masked_select / masked_scatter (broadcasting)', () => {
    tidy(() => {
      const xs = [2, 1, 3], ms = [4, 1];
      const out = [2, 4, 3];
      const v = randomArray(rng, prod(xs));
      const m = randomInts(rng, prod(ms), 0, 1);
      const xb = mapRef(v, xs, out, (o) => [o[0], 0, o[2]]);
      const mb = mapRef(m, [1, 4, 1], out, (o) => [0, o[1], 0]);
      const x = tensor(v, xs, F64), mask = tensor(m, ms, F64);
      expectValues(antler.maskedSelect(x, mask), [mb.filter(Boolean).length], xb.filter((_, i) => mb[i]), 'maskedSelect');
      const count = mb.filter(Boolean).length;
      const sv = randomArray(rng, count + 2);
      let k = 0;
      expectValues(x.maskedScatter(mask, tensor(sv, [count + 2], F64)), out, xb.map((e, i) => (mb[i] ? sv[k++] : e)), 'maskedScatter');
      expectValues(antler.maskedSelect(x, tensor([0], [1], F64)), [0], [], 'nothing selected');
      expectAntlerError(() => antler.maskedScatter(x, tensor([1], [1], F64), tensor([1], [1], F64)), 'SHAPE_MISMATCH', /selects 6/);
    });
  });

  test('nonzero and argwhere as torch.nonzero (NaN counts, 0-d, empty, asTuple)', () => {
    tidy(() => {
      const shape = randomShape(rng, 3, 1, 4);
      const v = randomInts(rng, prod(shape), 0, 2).map((e) => (e === 2 ? NaN : e));
      const want: number[][] = [];
      v.forEach((e, p) => { if (e !== 0) want.push(unravel(shape, p)); });
      const x = tensor(v, shape, F64);
      const nz = antler.nonzero(x);
      expect(nz.dtype).toBe('int32');
      expectValues(nz, [want.length, 3], want.flat(), 'nonzero');
      expectValues(x.argwhere(), [want.length, 3], want.flat(), 'argwhere');
      antler.nonzero(x, { asTuple: true }).forEach((t, d) => expectValues(t, [want.length], want.map((w) => w[d]), `asTuple axis ${d}`));
      expectValues(antler.nonzero(tensor([0, 0], [2], I32)), [0, 1], [], 'none');
      expectValues(antler.nonzero(tensor([3], [], I32)), [1, 0], [], '0-d');
    });
  });

  test('unique and uniqueConsecutive as torch.unique / unique_consecutive (inverse, counts, axis, NaN)', () => {
    tidy(() => {
      for (const dtype of ['float64', 'int32'] as const) {
        const n = rng.int(0, 12);
        const v = randomInts(rng, n, -3, 3).map((e) => (dtype === 'float64' && e === 3 ? NaN : e));
        const x = tensor(v, [n], { dtype });
        // Sorted distinct values, every NaN its own (last).
        const nums = [...new Set(v.filter((e) => !Number.isNaN(e)))].sort((a, b) => a - b);
        const nans = v.filter(Number.isNaN).length;
        const vals = [...nums, ...new Array<number>(nans).fill(NaN)];
        const u = antler.unique(x, { returnInverse: true, returnCounts: true });
        expectValues(u.values, [vals.length], vals, `unique ${dtype} ${v}`);
        let nanSeen = 0;
        expectExact(read(u.inverse!), v.map((e) => (Number.isNaN(e) ? nums.length + nanSeen++ : nums.indexOf(e))), 'inverse');
        expectExact(read(u.counts!), vals.map((e) => (Number.isNaN(e) ? 1 : v.filter((w) => w === e).length)), 'counts');
        expectValues(x.unique(), [vals.length], vals, 'values alone');
        const runs: number[] = [], counts: number[] = [], inverse: number[] = [];
        v.forEach((e, i) => {
          if (i === 0 || !(e === v[i - 1])) { runs.push(e); counts.push(0); }
          counts[counts.length - 1]++;
          inverse.push(runs.length - 1);
        });
        const c = antler.uniqueConsecutive(x, { returnInverse: true, returnCounts: true });
        expectValues(c.values, [runs.length], runs, `uniqueConsecutive ${v}`);
        expectExact(read(c.inverse!), inverse, 'consecutive inverse');
        expectExact(read(c.counts!), counts, 'consecutive counts');
      }
      // Slices along an axis: columns of a [2, 5] matrix, compared whole, in lexicographic order.
      const cols = [[1, 0], [0, 2], [1, 0], [0, 1], [0, 2]];
      const m = tensor([0, 1].flatMap((r) => cols.map((col) => col[r])), [2, 5], F64);
      const order = [[0, 1], [0, 2], [1, 0]];
      const u = antler.unique(m, { axis: 1, returnInverse: true, returnCounts: true });
      expectValues(u.values, [2, 3], [0, 1].flatMap((r) => order.map((col) => col[r])), 'unique axis 1');
      expectExact(read(u.inverse!), [2, 1, 2, 0, 1], 'axis inverse');
      expectExact(read(u.counts!), [1, 2, 2], 'axis counts');
      const uc = antler.uniqueConsecutive(m, { axis: -1, returnCounts: true });
      expectValues(uc.values, [2, 5], read(m), 'uniqueConsecutive axis: no run');
      expectValues(antler.uniqueConsecutive(tensor([1, 1, 1, 1, 2, 1], [3, 2], F64), { axis: 0 }), [2, 2], [1, 1, 2, 1], 'rows');
    });
  });

  /**
   * torch's searchsorted, its binary search transcribed (aten's cus_lower_bound / cus_upper_bound): for a sorted
   * sequence, the first i with seq[i] ≥ v (left) or > v (right); a failed comparison (NaN) moves right.
   */
  const searchRef = (seq: number[], v: number, right: boolean) => {
    let lo = 0, hi = seq.length;
    while (lo < hi) {
      const mid = lo + ((hi - lo) >> 1);
      if (right ? !(seq[mid] > v) : !(seq[mid] >= v)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  test('searchRef is the first position that keeps the order, for sequences without NaN', () => {
    const seq = randomInts(rng, 9, -3, 3).sort((a, b) => a - b);
    for (let v = -4; v <= 4; v++) for (const right of [false, true]) {
      const i = seq.findIndex((b) => (right ? b > v : b >= v));
      expect(searchRef(seq, v, right)).toBe(i < 0 ? seq.length : i);
    }
  });

  test('searchsorted and bucketize as torch.searchsorted / bucketize (ties, NaN, batches, sorter, int32)', () => {
    tidy(() => {
      for (const dtype of ['float64', 'float32', 'int32'] as const)
        for (const right of [false, true]) {
          const B = rng.int(1, 3), M = rng.int(0, 6), K = rng.int(0, 7);
          // NaN (as 5) goes last, where torch.sort puts it.
          const seqs = Array.from({ length: B }, () => randomInts(rng, M, -4, 5).sort((a, b) => a - b).map((e) => (dtype !== 'int32' && e === 5 ? NaN : e)));
          const vals = Array.from({ length: B }, () => randomInts(rng, K, -5, 5).map((e) => (dtype !== 'int32' && e === 5 ? NaN : e)));
          const got = antler.searchsorted(tensor(seqs.flat(), [B, M], { dtype }), tensor(vals.flat(), [B, K], { dtype }), { right });
          expect(got.dtype).toBe('int32');
          expectValues(got, [B, K], vals.flatMap((row, b) => row.map((e) => searchRef(seqs[b], e, right))), `searchsorted ${dtype} right ${right} ${JSON.stringify(seqs)} ${JSON.stringify(vals)}`);
          // 1-D boundaries with values of any shape, and bucketize.
          const vs = randomInts(rng, 6, -5, 5);
          expectValues(antler.searchsorted(tensor(seqs[0], [M], { dtype }), tensor(vs, [2, 3], { dtype }), { side: right ? 'right' : 'left' }), [2, 3], vs.map((e) => searchRef(seqs[0], e, right)), '1-D boundaries');
          expectValues(antler.bucketize(tensor(vs, [2, 3], { dtype }), tensor(seqs[0], [M], { dtype }), { right }), [2, 3], vs.map((e) => searchRef(seqs[0], e, right)), 'bucketize');
        }
      // sorter: positions into the unsorted sequence that sort it; the result indexes the sorted order.
      const raw = [3, -1, 2, 0];
      const sorter = tensor([1, 3, 2, 0], [4], I32);
      expectValues(antler.searchsorted(tensor(raw, [4], F64), tensor([2, -5, 9], [3], F64), { sorter }), [3], [2, 0, 4], 'sorter');
      expectValues(antler.searchsorted(tensor([1, 2], [2], F64), 1.5), [], [1], 'a number');
      // torch 1.13: searchsorted([1, 2, nan], [nan, 2, 5], right=True) = [3, 3, 3]; left: [3, 1, 3].
      expectValues(antler.searchsorted(tensor([1, 2, NaN], [3], F64), tensor([NaN, 2, 5], [3], F64), { right: true }), [3], [3, 3, 3], 'NaN in the sequence, right');
      expectValues(antler.searchsorted(tensor([1, 2, NaN], [3], F64), tensor([NaN, 2, 5], [3], F64)), [3], [3, 1, 3], 'NaN in the sequence, left');
      expectValues(antler.searchsorted(tensor([1, 2, 3], [3], I32), tensor([2.5], [1], F64)), [1], [2], 'mixed dtypes promote');
      expectValues(antler.searchsorted(tensor([1, 2, 3], [3], I32), 1.5), [], [1], 'a fraction into int32');
      expectAntlerError(() => antler.searchsorted(tensor([1, 2], [1, 2], F64), tensor([1, 2], [2, 1], F64)), 'SHAPE_MISMATCH');
      expectAntlerError(() => antler.searchsorted(tensor([1, 2], [2], F64), tensor([1], [1], F64), { right: true, side: 'left' }), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.searchsorted(tensor([1, 2], [2], F64), tensor([1], [1], F64), { sorter: tensor([0, 2], [2], I32) }), 'INVALID_ARGUMENT');
    });
  });

  test('unique along an axis: random slices with repeats and NaN, in lexicographic order (NaN after every number, each NaN-holding slice its own)', () => {
    tidy(() => {
      for (let trial = 0; trial < 4; trial++) {
        const n = rng.int(0, 40), w = rng.int(1, 4), axis = rng.int(0, 1);
        // Few distinct rows: draw a small pool and pick from it, with a NaN here and there.
        const pool = Array.from({ length: rng.int(1, 6) }, () => randomInts(rng, w, -2, 2).map((e) => (e === 2 && trial % 2 ? NaN : e)));
        const rows = Array.from({ length: n }, () => pool[rng.int(0, pool.length - 1)]);
        const flat = axis === 0 ? rows.flat() : Array.from({ length: w }, (_, c) => rows.map((r) => r[c])).flat();
        const x = tensor(flat, axis === 0 ? [n, w] : [w, n], F64);
        // Reference: sort the row numbers lexicographically (NaN last, NaNs tied), then a new group per row unless
        // it equals the previous one element for element (NaN equals nothing).
        const cmp = (a: number, b: number) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b);
        const order = rows.map((_, i) => i).sort((p, q) => {
          for (let c = 0; c < w; c++) if (cmp(rows[p][c], rows[q][c]) !== 0) return cmp(rows[p][c], rows[q][c]);
          return p - q;
        });
        const groups: number[][] = [];
        const inverse = new Array<number>(n);
        order.forEach((r, k) => {
          if (k === 0 || !rows[r].every((e, c) => e === rows[order[k - 1]][c])) groups.push([]);
          groups[groups.length - 1].push(r);
          inverse[r] = groups.length - 1;
        });
        const values = groups.map((g) => rows[g[0]]);
        const u = antler.unique(x, { axis, returnInverse: true, returnCounts: true });
        const want = axis === 0 ? values.flat() : Array.from({ length: w }, (_, c) => values.map((r) => r[c])).flat();
        expectValues(u.values, axis === 0 ? [groups.length, w] : [w, groups.length], want, `unique axis ${axis} of ${n} slices`);
        expectExact(read(u.inverse!), inverse, 'inverse');
        expectExact(read(u.counts!), groups.map((g) => g.length), 'counts');
      }
    });
  });

  test('tensorSplit takes an int32 tensor: 1-D indices or 0-d sections (torch.tensor_split); out-of-order pieces get the gradient in place', () => {
    tidy(() => {
      const L = rng.int(3, 9);
      const x = tensor(randomArray(rng, 2 * L), [2, L], F64);
      const idx = randomInts(rng, rng.int(1, 6), -L - 1, L + 1);
      const same = (a: Tensor[], b: Tensor[], msg: string) => {
        expect(a.length).toBe(b.length);
        a.forEach((t, i) => expectValues(t, b[i].shape.slice(), read(b[i]), `${msg} piece ${i}`));
      };
      same(antler.tensorSplit(x, tensor(idx, [idx.length], I32), 1), antler.tensorSplit(x, idx, 1), `indices ${idx}`);
      same(x.tensorSplit(tensor([2], [], I32), -1), antler.tensorSplit(x, 2, -1), 'sections');
      // The gradient of Σ_k w_k · Σ piece_k: each position gets the weights of the pieces that hold it (Python slices).
      const cuts = [0, 5, 1, 1, 1, 1, 3, 0];
      const xs = tensor(randomArray(rng, 8), [8], { dtype: 'float64', requiresGrad: true });
      const ps = antler.tensorSplit(xs, cuts.slice(1));
      const wts = ps.map(() => rng.uniform(-2, 2));
      ps.map((p, k) => antler.mul(antler.sum(p), wts[k])).reduce((a, b) => antler.add(a, b)).backward();
      const want = new Array<number>(8).fill(0);
      const bounds = [...cuts, 8];
      for (let k = 0; k + 1 < bounds.length; k++) for (let i = bounds[k]; i < bounds[k + 1]; i++) want[i] += wts[k];
      expectClose(read(xs.grad!), want, 1e-15, 1e-15, `out-of-order gradient (seed ${SEED})`);
      expectAntlerError(() => antler.tensorSplit(x, tensor([1.5], [1], F64)), 'DTYPE_MISMATCH');
      expectAntlerError(() => antler.tensorSplit(x, tensor([1, 2], [1, 2], I32)), 'SHAPE_MISMATCH');
    });
  });

  test('narrowCopy (torch.narrow_copy) and vander (torch.vander): values against loops, shapes, int32, bad input', () => {
    tidy(() => {
      const [r, c] = [rng.int(1, 4), rng.int(1, 6)];
      const v = randomArray(rng, r * c);
      const x = tensor(v, [r, c], F64);
      const start = rng.int(-c, c), from = start < 0 ? start + c : start, len = rng.int(0, c - from);
      const nc = antler.narrowCopy(x, -1, start, len);
      expectValues(nc, [r, len], mapRef(v, [r, c], [r, len], ([i, j]) => [i, from + j]), `narrowCopy start ${start} length ${len}`);
      expectValues(x.narrowCopy(0, 0, 1), [1, c], v.slice(0, c), 'method');
      expectAntlerError(() => antler.narrowCopy(x, 1, from, c - from + 1), 'INVALID_ARGUMENT');
      const n = rng.int(0, 5), N = rng.int(0, 6);
      const xv = randomArray(rng, n, -2, 2);
      if (n > 1) xv[rng.int(0, n - 1)] = 0;
      // Column j: x^(N−1−j) (x^j with increasing), a product of j factors (0^0 = 1).
      const powr = (b: number, e: number) => { let p = 1; for (let k = 0; k < e; k++) p *= b; return p; };
      for (const increasing of [false, true]) {
        const want = xv.flatMap((b) => Array.from({ length: N }, (_, j) => powr(b, increasing ? j : N - 1 - j)));
        expectValues(antler.vander(tensor(xv, [n], F64), N, increasing), [n, N], want, `vander N ${N} increasing ${increasing}`);
      }
      expectValues(antler.vander(tensor(xv, [n], F64)), [n, n], xv.flatMap((b) => Array.from({ length: n }, (_, j) => powr(b, n - 1 - j))), 'N = size');
      const vi = antler.vander(tensor([2, -3, 0], [3], I32), 3);
      expect(vi.dtype).toBe('int32');
      expectValues(vi, [3, 3], [4, 2, 1, 9, -3, 1, 0, 0, 1], 'int32');
      expectAntlerError(() => antler.vander(tensor([1, 2], [1, 2], F64)), 'SHAPE_MISMATCH');
      expectAntlerError(() => antler.vander(tensor([1, 2], [2], F64), -1), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.vander(tensor([1, 2], [2], F64), 1.5), 'INVALID_ARGUMENT');
    });
  });
});
