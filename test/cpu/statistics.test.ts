/**
 * lib/ops/statistics.ts against float64 JS transcriptions of PyTorch's
 * definitions (its CPU loops where they fix a tie rule: cummax_cummin_helper,
 * mode's scan of sorted (value, index) pairs, quantile's ranks and lerp), on
 * fresh random inputs with ties, NaNs and ±∞, every axis (negative too),
 * keepDims, float32, float64 and int32 where PyTorch takes it, plus the edge
 * cases (all-NaN and empty lines) and the gradients of the selections (to
 * the chosen element). The registry (test/opinfo-statistics.ts) checks the
 * gradients against finite differences.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, prod, randomShape, Rng, tensorCounts } from '../helpers';
import { cumRef, fromLines, linesOf } from '../statistics-refs';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const I32 = { dtype: 'int32' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
type Dt = 'float32' | 'float64' | 'int32';
const DTYPES: Dt[] = ['float64', 'float32', 'int32'];

/** Values with ties (small integers and halves), NaNs (a fraction `nanRate`) and, for floats, ±∞ now and then. */
function draw(r: Rng, n: number, dtype: Dt, nanRate = 0.1, inf = true): number[] {
  return Array.from({ length: n }, () => {
    if (dtype === 'int32') return r.int(-4, 4);
    const u = r.next();
    if (u < nanRate) return NaN;
    if (inf && u < nanRate + 0.03) return r.next() < 0.5 ? Infinity : -Infinity;
    return r.next() < 0.5 ? r.int(-3, 3) / 2 : r.uniform(-3, 3);
  }).map((v) => (dtype === 'float32' ? Math.fround(v) : v));
}

/** A stable argsort with NaN last (torch.sort's order). */
function order(line: readonly number[]): number[] {
  const key = (v: number) => (Number.isNaN(v) ? 1 : 0);
  return line.map((_, i) => i).sort((a, b) => key(line[a]) - key(line[b]) || (key(line[a]) ? 0 : line[a] < line[b] ? -1 : line[a] > line[b] ? 1 : 0) || a - b);
}

const norm = (ax: number, rank: number) => (ax < 0 ? ax + rank : ax);
const reducedShape = (shape: number[], ax: number, keep: boolean) => (keep ? shape.map((d, i) => (i === ax ? 1 : d)) : shape.filter((_, i) => i !== ax));
const randomAxisShape = (r: Rng) => {
  const shape = randomShape(r, r.int(1, 3), 1, 5);
  return { shape, axis: r.int(-shape.length, shape.length - 1) };
};
const make = (values: number[], shape: number[], dtype: Dt) => tensor(values, shape, { dtype });

// ---------------------------------------------------------------- amax, amin, aminmax

describe(`amax, amin, aminmax (seed ${SEED})`, () => {
  test('match a float64 loop (NaN propagates) over random axes, keepDims, every dtype', () =>
    tidy(() => {
      for (let trial = 0; trial < 12; trial++) {
        const dtype = DTYPES[trial % 3];
        const { shape, axis } = randomAxisShape(rng);
        const v = draw(rng, prod(shape), dtype);
        const x = make(v, shape, dtype);
        const ax = norm(axis, shape.length);
        const keep = rng.next() < 0.5;
        const lines = linesOf(v, shape, ax);
        const red = (f: (a: number, b: number) => number) => lines.map((l) => l.reduce((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : f(a, b))));
        const what = `${dtype} [${shape}] axis ${axis}`;
        const mx = antler.amax(x, axis, keep), mn = antler.amin(x, axis, keep);
        expect(mx.shape).toEqual(reducedShape(shape, ax, keep));
        expect(mx.dtype).toBe(dtype);
        expectExact(read(mx), red(Math.max), `amax ${what}`);
        expectExact(read(mn), red(Math.min), `amin ${what}`);
        const both = antler.aminmax(x, axis, keep);
        expectExact(read(both.max), red(Math.max), `aminmax.max ${what}`);
        expectExact(read(both.min), red(Math.min), `aminmax.min ${what}`);
        const all = antler.amax(x);
        expect(all.shape).toEqual([]);
        expectExact(read(all), [v.reduce((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)))], `amax all ${what}`);
      }
    }));

  test('ties share the gradient evenly (torch.amax), unlike a single argmax', () =>
    tidy(() => {
      const x = tensor([1, 3, 3, 2, 2, 0], [2, 3], { dtype: 'float64', requiresGrad: true });
      antler.amax(x, 1).backward(tensor([1, 4], [2], F64));
      expect(read(x.grad!)).toEqual([0, 0.5, 0.5, 2, 2, 0]);
      const y = tensor([1, 1, 1], [3], { dtype: 'float64', requiresGrad: true });
      antler.aminmax(y).min.backward();
      expect(read(y.grad!)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    }));

  test('an empty reduction is refused, as PyTorch', () =>
    tidy(() => {
      expectAntlerError(() => antler.amax(antler.zeros([2, 0]), 1), 'INVALID_ARGUMENT', /empty/);
      expectAntlerError(() => antler.amin(antler.zeros([0])), 'INVALID_ARGUMENT', /empty/);
      expectAntlerError(() => antler.aminmax(tensor([1], [1]), 1), 'INVALID_ARGUMENT');
    }));
});

// ---------------------------------------------------------------- nansum, nanmean, countNonzero

describe(`nansum, nanmean, countNonzero (seed ${SEED})`, () => {
  test('match float64 loops that skip NaNs, over random axes and keepDims', () =>
    tidy(() => {
      for (let trial = 0; trial < 12; trial++) {
        const dtype = DTYPES[trial % 3];
        const { shape, axis } = randomAxisShape(rng);
        const v = draw(rng, prod(shape), dtype, 0.3, false);
        const x = make(v, shape, dtype);
        const ax = norm(axis, shape.length);
        const keep = rng.next() < 0.5;
        const lines = linesOf(v, shape, ax);
        const what = `${dtype} [${shape}] axis ${axis}`;
        const sums = lines.map((l) => l.filter((e) => !Number.isNaN(e)).reduce((a, b) => a + b, 0));
        const s = antler.nansum(x, axis, keep);
        expect(s.shape).toEqual(reducedShape(shape, ax, keep));
        expect(s.dtype).toBe(dtype);
        expectClose(read(s), sums, dtype === 'float32' ? 1e-6 : 1e-15, 1e-6, `nansum ${what}`);
        const counts = lines.map((l) => l.filter((e) => e !== 0).length);
        const c = antler.countNonzero(x, axis);
        expect(c.dtype).toBe('int32');
        expect(c.shape).toEqual(reducedShape(shape, ax, false));
        expectExact(read(c), counts, `countNonzero ${what}`);
        expectExact(read(antler.countNonzero(x)), [v.filter((e) => e !== 0).length], `countNonzero all ${what}`);
        if (dtype === 'int32') continue;
        const means = lines.map((l) => {
          const k = l.filter((e) => !Number.isNaN(e));
          return k.length ? k.reduce((a, b) => a + b, 0) / k.length : NaN;
        });
        expectClose(read(antler.nanmean(x, axis, keep)), means, dtype === 'float32' ? 1e-6 : 1e-14, 1e-6, `nanmean ${what}`);
      }
    }));

  test('all-NaN and empty slices: nansum 0, nanmean NaN; the gradient skips NaNs', () =>
    tidy(() => {
      const x = tensor([NaN, NaN, 1, NaN], [2, 2], F64);
      expectExact(read(antler.nansum(x, 1)), [0, 1]);
      expectExact(read(antler.nanmean(x, 1)), [NaN, 1]);
      expectExact(read(antler.nansum(antler.zeros([0, 3]), 0)), [0, 0, 0]);
      expectExact(read(antler.nanmean(antler.zeros([0]))), [NaN]);
      const g = tensor([NaN, 2, 4], [3], { dtype: 'float64', requiresGrad: true });
      antler.nanmean(g).backward();
      expectExact(read(g.grad!), [0, 0.5, 0.5]);
      expectAntlerError(() => antler.nanmean(tensor([1], [1], I32)), 'DTYPE_MISMATCH');
      expect(antler.countNonzero(tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true })).requiresGrad).toBe(false);
    }));
});

// ---------------------------------------------------------------- logcumsumexp

/** log Σ_{j ≤ i} e^x[j], pairwise in float64 (log-add-exp of the running value and the next element). */
function logcumsumexpRef(line: readonly number[]): number[] {
  let acc = -Infinity;
  return line.map((v) => {
    if (Number.isNaN(v) || Number.isNaN(acc)) return (acc = NaN);
    const m = Math.max(acc, v);
    acc = m === -Infinity ? -Infinity : m === Infinity ? Infinity : m + Math.log1p(Math.exp(-Math.abs(acc - v)));
    return acc;
  });
}

describe(`logcumsumexp (seed ${SEED})`, () => {
  test('matches a float64 log-space scan over wide random values, every axis', () =>
    tidy(() => {
      for (let trial = 0; trial < 10; trial++) {
        const dtype = trial % 2 ? 'float32' : 'float64';
        const shape = randomShape(rng, rng.int(1, 3), 1, 9);
        const v = Array.from({ length: prod(shape) }, () => {
          const u = rng.next();
          return u < 0.05 ? -Infinity : u < 0.07 ? NaN : rng.uniform(-1000, 1000) * (rng.next() < 0.5 ? 1 : 0.001);
        }).map((e) => (dtype === 'float32' ? Math.fround(e) : e));
        for (let axis = -shape.length; axis < shape.length; axis++) {
          const ax = norm(axis, shape.length);
          const want = fromLines(linesOf(v, shape, ax).map(logcumsumexpRef), shape, ax);
          const y = antler.logcumsumexp(make(v, shape, dtype), axis);
          expect(y.shape).toEqual(shape);
          expectClose(read(y), want, dtype === 'float32' ? 2e-6 : 1e-14, 1e-6, `${dtype} [${shape}] axis ${axis}`);
        }
      }
    }));

  test('does not underflow: [−1000, 0, −∞] gives [−1000, log(1 + e⁻¹⁰⁰⁰), …]; the gradient is Σ_{i ≥ j} g[i]·e^(x[j] − y[i])', () =>
    tidy(() => {
      expectExact(read(antler.logcumsumexp(tensor([-1000, 0, -Infinity, 1e4], [4], F64), 0)), [-1000, 0, 0, 1e4]);
      expectClose(read(antler.logcumsumexp(tensor([1, 1, Infinity, Infinity], [4], F64), 0)), [1, 1 + Math.LN2, Infinity, Infinity], 1e-15, 0, 'ties');
      const v = Array.from({ length: 7 }, () => rng.uniform(-5, 5));
      const g = Array.from({ length: 7 }, () => rng.uniform(-1, 1));
      const x = tensor(v, [7], { dtype: 'float64', requiresGrad: true });
      antler.logcumsumexp(x, 0).backward(tensor(g, [7], F64));
      const y = logcumsumexpRef(v);
      const want = v.map((xj, j) => g.reduce((acc, gi, i) => (i >= j ? acc + gi * Math.exp(xj - y[i]) : acc), 0));
      expectClose(read(x.grad!), want, 1e-12, 1e-14, 'gradient');
    }));
});

describe(`logcumsumexp second derivative (seed ${SEED})`, () => {
  test('the gradient of ‖∇‖² matches central differences (its backward is built from recorded ops)', () => {
    const v = Array.from({ length: 6 }, () => rng.uniform(-3, 3));
    const c = Array.from({ length: 6 }, () => rng.uniform(-1, 1));
    const gradNorm = (vals: number[], backward: boolean): number[] =>
      tidy(() => {
        const x = tensor(vals, [6], { dtype: 'float64', requiresGrad: true });
        const y = antler.sum(antler.mul(antler.logcumsumexp(x, 0), tensor(c, [6], F64)));
        const [g] = antler.autograd.grad(y, x, { createGraph: true });
        const n2 = antler.sum(antler.mul(g!, g!));
        if (!backward) return read(n2);
        n2.backward();
        return read(x.grad!);
      });
    const h = 1e-6;
    const numeric = v.map((_, i) => (gradNorm(v.map((e, j) => (j === i ? e + h : e)), false)[0] - gradNorm(v.map((e, j) => (j === i ? e - h : e)), false)[0]) / (2 * h));
    expectClose(gradNorm(v, true), numeric, 1e-6, 1e-7, 'second derivative');
  });
});

// ---------------------------------------------------------------- cummax, cummin

describe(`cummax, cummin (seed ${SEED})`, () => {
  test("match PyTorch's loop (ties take the last index, NaN sticks) on random shapes, every axis and dtype", () =>
    tidy(() => {
      for (let trial = 0; trial < 9; trial++) {
        const dtype = DTYPES[trial % 3];
        const shape = randomShape(rng, rng.int(1, 3), 1, 11);
        const v = draw(rng, prod(shape), dtype, 0.08);
        const x = make(v, shape, dtype);
        for (let axis = -shape.length; axis < shape.length; axis++)
          for (const op of ['max', 'min'] as const) {
            const ax = norm(axis, shape.length);
            const refs = linesOf(v, shape, ax).map((l) => cumRef(l, op));
            const r = op === 'max' ? antler.cummax(x, axis) : antler.cummin(x, axis);
            const what = `cum${op} ${dtype} [${shape}] axis ${axis}`;
            expect(r.values.dtype).toBe(dtype);
            expect(r.indices.dtype).toBe('int32');
            expectExact(read(r.values), fromLines(refs.map((q) => q.v), shape, ax), `${what} values`);
            expectExact(read(r.indices), fromLines(refs.map((q) => q.i), shape, ax), `${what} indices`);
          }
      }
    }));

  test('the gradient goes to the element at each index; 0-d and empty inputs', () =>
    tidy(() => {
      const x = tensor([1, 3, 3, 2, 5], [5], { dtype: 'float64', requiresGrad: true });
      antler.cummax(x, 0).values.backward(tensor([1, 2, 4, 8, 16], [5], F64));
      expectExact(read(x.grad!), [1, 2, 12, 0, 16]);
      const s = antler.cummin(tensor(7, [], F64), 0);
      expect(s.values.shape).toEqual([]);
      expectExact(read(s.indices), [0]);
      expect(antler.cummax(antler.zeros([2, 0]), 1).values.shape).toEqual([2, 0]);
    }));

  test("torch 1.13's outputs on fixed lines: ties (−0 = 0 too) take the later index and its value, a NaN sticks, ±∞", () =>
    tidy(() => {
      // [values, cummax values, cummax indices, cummin values, cummin indices], from torch 1.13 (CPU, float64).
      const rows: number[][][] = [
        [[1, 3, 3, NaN, 2, NaN, 5], [1, 3, 3, NaN, NaN, NaN, NaN], [0, 1, 2, 3, 3, 5, 5], [1, 1, 1, NaN, NaN, NaN, NaN], [0, 0, 0, 3, 3, 5, 5]],
        [[2, -Infinity, 2, 1, Infinity, Infinity, 0], [2, 2, 2, 2, Infinity, Infinity, Infinity], [0, 0, 2, 2, 4, 5, 5], [2, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity], [0, 1, 1, 1, 1, 1, 1]],
        [[0, -0, 0, -1, -1, NaN], [0, -0, 0, 0, 0, NaN], [0, 1, 2, 2, 2, 5], [0, -0, 0, -1, -1, NaN], [0, 1, 2, 3, 4, 5]],
      ];
      const same = (got: number[], want: number[], what: string) =>
        expect(got.map((e, i) => Object.is(e, want[i]) || `${what}[${i}]: got ${Object.is(e, -0) ? '-0' : e}, want ${Object.is(want[i], -0) ? '-0' : want[i]}`)).toEqual(want.map(() => true));
      for (const dtype of ['float64', 'float32'] as const)
        for (const [v, mxv, mxi, mnv, mni] of rows) {
          const x = tensor(v, [v.length], { dtype });
          const mx = antler.cummax(x, 0), mn = antler.cummin(x, -1);
          same(read(mx.values), mxv, `${dtype} cummax [${v}]`);
          same(read(mx.indices), mxi, `${dtype} cummax indices [${v}]`);
          same(read(mn.values), mnv, `${dtype} cummin [${v}]`);
          same(read(mn.indices), mni, `${dtype} cummin indices [${v}]`);
        }
      const xi = tensor([3, 1, 3, 2, 1, 1], [6], I32);
      expectExact(read(antler.cummax(xi, 0).indices), [0, 0, 2, 2, 2, 2]);
      expectExact(read(antler.cummin(xi, 0).indices), [0, 1, 1, 1, 4, 5]);
      const x2 = tensor([1, 5, 5, 1, 5, 5], [3, 2]);
      expectExact(read(antler.cummax(x2, 0).indices), [0, 0, 1, 0, 2, 2]);
      expectExact(read(antler.cummin(x2, 1).indices), [0, 0, 0, 1, 0, 1]);
    }));
});

// ---------------------------------------------------------------- diff

describe(`diff (seed ${SEED})`, () => {
  test('matches repeated float64 differences, with prepend and append, every axis and dtype', () =>
    tidy(() => {
      for (let trial = 0; trial < 12; trial++) {
        const dtype = DTYPES[trial % 3];
        const { shape, axis } = randomAxisShape(rng);
        const ax = norm(axis, shape.length);
        const v = draw(rng, prod(shape), dtype, 0, false);
        const pre = rng.next() < 0.5 ? shape.map((d, i) => (i === ax ? rng.int(0, 2) : d)) : null;
        const app = rng.next() < 0.5 ? shape.map((d, i) => (i === ax ? rng.int(0, 2) : d)) : null;
        const pv = pre ? draw(rng, prod(pre), dtype, 0, false) : [];
        const av = app ? draw(rng, prod(app), dtype, 0, false) : [];
        const n = rng.int(0, 4);
        // torch's (and numpy's) n = 0 returns x: prepend and append are not concatenated.
        const lines = linesOf(v, shape, ax).map((l, li) => (n === 0 ? l : [...(pre ? linesOf(pv, pre, ax)[li] : []), ...l, ...(app ? linesOf(av, app, ax)[li] : [])]));
        const want = lines.map((l) => {
          let d = l;
          for (let k = 0; k < n && d.length; k++) d = d.slice(1).map((e, i) => e - d[i]);
          return d;
        });
        const y = antler.diff(make(v, shape, dtype), { n, axis, prepend: pre ? make(pv, pre, dtype) : undefined, append: app ? make(av, app, dtype) : undefined });
        const len = Math.max(0, lines[0].length - n);
        expect(y.shape).toEqual(shape.map((d, i) => (i === ax ? len : d)));
        expect(y.dtype).toBe(dtype);
        expectClose(read(y), len ? fromLines(want, y.shape, ax) : [], dtype === 'float32' ? 1e-6 : 0, dtype === 'float32' ? 1e-5 : 0, `${dtype} [${shape}] axis ${axis} n ${n}`);
      }
    }));

  test('refuses a 0-d input, a prepend of another rank and a negative n', () =>
    tidy(() => {
      expectAntlerError(() => antler.diff(tensor(1, [])), 'INVALID_ARGUMENT', /0-d/);
      expectAntlerError(() => antler.diff(tensor([1, 2, 3, 4], [2, 2]), { append: tensor([1, 2], [2]) }), 'SHAPE_MISMATCH', /rank/);
      expectAntlerError(() => antler.diff(tensor([1, 2], [2]), { n: -1 }), 'INVALID_ARGUMENT');
      // n = 0: x itself (a copy), prepend and append checked but unused, as torch.diff(x, 0, prepend=…).
      const x = tensor([1, 4], [2], F64);
      const y = antler.diff(x, { n: 0, prepend: tensor([5], [1], F64), append: tensor([7, 8], [2], F64) });
      expect(y.shape).toEqual([2]);
      expectExact(read(y), [1, 4]);
      expectAntlerError(() => antler.diff(x, { n: 0, append: tensor([1, 2], [1, 2], F64) }), 'SHAPE_MISMATCH');
    }));
});

// ---------------------------------------------------------------- median, nanmedian, kthvalue, mode

/** torch.median along a line: NaN and the first NaN's index if any, else the lower median (stable order at ties). */
function medianRef(line: readonly number[]): [number, number] {
  const nan = line.findIndex(Number.isNaN);
  if (nan >= 0) return [NaN, nan];
  const o = order(line);
  const i = o[Math.floor((line.length - 1) / 2)];
  return [line[i], i];
}
function nanmedianRef(line: readonly number[]): [number, number] {
  const o = order(line);
  const m = line.filter((v) => !Number.isNaN(v)).length;
  const i = o[m ? Math.floor((m - 1) / 2) : 0];
  return [line[i], i];
}
const kthRef = (k: number) => (line: readonly number[]): [number, number] => {
  const i = order(line)[k - 1];
  return [line[i], i];
};
/** PyTorch's CPU mode: (value, index) pairs sorted, runs scanned, a strictly longer run wins; the run's last pair. */
function modeRef(line: readonly number[]): [number, number] {
  const pairs = line.map((v, i) => [v, i] as [number, number]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  let best: [number, number] = pairs[0], bestFreq = 0, cur = 0;
  pairs.forEach((p, i) => {
    cur++;
    if (i === pairs.length - 1 || p[0] !== pairs[i + 1][0]) {
      if (cur > bestFreq) {
        best = p;
        bestFreq = cur;
      }
      cur = 0;
    }
  });
  return best;
}

describe(`median, nanmedian, kthvalue, mode (seed ${SEED})`, () => {
  const cases: [string, (x: Tensor, axis: number, keep: boolean, n: number) => { values: Tensor; indices: Tensor }, (n: number) => (l: readonly number[]) => [number, number], boolean][] = [
    ['median', (x, a, k) => antler.median(x, a, k), () => medianRef, true],
    ['nanmedian', (x, a, k) => antler.nanmedian(x, a, k), () => nanmedianRef, true],
    ['kthvalue', (x, a, k, n) => antler.kthvalue(x, Math.ceil(n / 3), a, k), (n) => kthRef(Math.ceil(n / 3)), true],
    ['mode', (x, a, k) => antler.mode(x, a, k), () => modeRef, false],
  ];
  for (const [name, f, ref, nans] of cases)
    test(`${name}: values and indices match the float64 reference (ties${nans ? ', NaNs' : ''}), random axes, keepDims, every dtype`, () =>
      tidy(() => {
        for (let trial = 0; trial < 12; trial++) {
          const dtype = DTYPES[trial % 3];
          const { shape, axis } = randomAxisShape(rng);
          const ax = norm(axis, shape.length);
          const v = draw(rng, prod(shape), dtype, nans ? (trial % 2 ? 0.4 : 0.05) : 0);
          const keep = rng.next() < 0.5;
          const refs = linesOf(v, shape, ax).map(ref(shape[ax]));
          const r = f(make(v, shape, dtype), axis, keep, shape[ax]);
          const what = `${name} ${dtype} [${shape}] axis ${axis} keepDims ${keep}: [${v}]`;
          expect(r.values.shape).toEqual(reducedShape(shape, ax, keep));
          expect(r.indices.shape).toEqual(reducedShape(shape, ax, keep));
          expect(r.values.dtype).toBe(dtype);
          expectExact(read(r.values), refs.map((q) => q[0]), `${what} values`);
          expectExact(read(r.indices), refs.map((q) => q[1]), `${what} indices`);
        }
      }));

  test('median and nanmedian of all elements: 0-d, the lower median; NaN for a NaN (median), an empty input, or all NaN (nanmedian)', () =>
    tidy(() => {
      for (let trial = 0; trial < 6; trial++) {
        const dtype = DTYPES[trial % 3];
        const shape = randomShape(rng, rng.int(0, 3), 1, 5);
        const v = draw(rng, prod(shape), dtype, 0.1);
        const x = make(v, shape, dtype);
        expect(antler.median(x).shape).toEqual([]);
        expectExact(read(antler.median(x)), [medianRef(v)[0]], `median [${v}]`);
        expectExact(read(antler.nanmedian(x)), [nanmedianRef(v)[0]], `nanmedian [${v}]`);
      }
      expectExact(read(antler.median(antler.zeros([0, 2]))), [NaN]);
      expectExact(read(antler.nanmedian(tensor([NaN, NaN], [2], F64))), [NaN]);
      expectExact(read(antler.median(tensor([4, 1, 3, 2], [4], F64))), [2]);
      expectExact(read(antler.nanmedian(tensor([[NaN, NaN], [1, NaN]], [2, 2], F64), 1).indices), [0, 0]);
      expectAntlerError(() => antler.median(antler.zeros([2, 0]), 1), 'INVALID_ARGUMENT', /empty/);
      expectAntlerError(() => antler.kthvalue(tensor([1, 2], [2]), 0), 'INVALID_ARGUMENT', /k must/);
      expectAntlerError(() => antler.mode(tensor([1, 2], [2]), 1), 'INVALID_ARGUMENT', /axis/);
    }));

  test('the gradient goes to the chosen element only', () =>
    tidy(() => {
      const shape = [3, 5];
      const v = Array.from({ length: 15 }, () => rng.int(-3, 3));
      const W = Array.from({ length: 3 }, () => rng.uniform(-1, 1));
      for (const f of [(x: Tensor) => antler.median(x, 1), (x: Tensor) => antler.kthvalue(x, 4, 1), (x: Tensor) => antler.mode(x, 1), (x: Tensor) => antler.nanmedian(x, -1)]) {
        const x = tensor(v, shape, { dtype: 'float64', requiresGrad: true });
        const r = f(x);
        r.values.backward(tensor(W, [3], F64));
        const idx = read(r.indices);
        const want = new Array(15).fill(0);
        idx.forEach((k, row) => (want[row * 5 + k] = W[row]));
        expectExact(read(x.grad!), want);
      }
      const x = tensor(v, shape, { dtype: 'float64', requiresGrad: true });
      antler.median(x).backward();
      expect(read(x.grad!).filter((g) => g !== 0)).toEqual([1]);
    }));
});

// ---------------------------------------------------------------- quantile, nanquantile

/** torch.lerp's formula. */
const lerpRef = (a: number, b: number, w: number) => (Math.abs(w) < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w));
/** Round half to even (torch.round). */
const roundEven = (r: number) => (Math.abs(r % 1) === 0.5 ? 2 * Math.round(r / 2) : Math.round(r));

/** torch's quantile_compute on one line: ranks q·(n − 1) in the input's precision (f32: rounded to float32). */
function quantileRef(line: readonly number[], q: number, interp: string, ignoreNaN: boolean, f32: boolean): number {
  const fr = f32 ? Math.fround : (e: number) => e;
  const sorted = order(line).map((i) => line[i]);
  const nans = line.filter(Number.isNaN).length;
  const n = line.length;
  let rank = ignoreNaN ? Math.max(0, fr(fr(q) * (n - nans - 1))) : nans ? n - 1 : fr(fr(q) * (n - 1));
  if (interp === 'lower') rank = Math.floor(rank);
  else if (interp === 'higher') rank = Math.ceil(rank);
  else if (interp === 'nearest') rank = roundEven(rank);
  const lo = Math.floor(rank), hi = Math.ceil(rank);
  if (interp === 'linear') return lerpRef(sorted[lo], sorted[hi], fr(rank - lo));
  if (interp === 'midpoint') return lerpRef(sorted[lo], sorted[hi], 0.5);
  return sorted[lo];
}

describe(`quantile, nanquantile (seed ${SEED})`, () => {
  test("match torch's ranks and lerp: random q (number, 0-d, 1-D), every interpolation, axes, keepDims, NaN lines", () =>
    tidy(() => {
      for (let trial = 0; trial < 24; trial++) {
        const dtype = trial % 2 ? 'float32' : 'float64';
        const f32 = dtype === 'float32';
        const shape = randomShape(rng, rng.int(1, 3), 1, 6);
        const flat = rng.next() < 0.25;
        const axis = flat ? undefined : rng.int(-shape.length, shape.length - 1);
        const ax = axis === undefined ? 0 : norm(axis, shape.length);
        const keepDims = rng.next() < 0.5;
        const interpolation = (['linear', 'lower', 'higher', 'midpoint', 'nearest'] as const)[trial % 5];
        const v = draw(rng, prod(shape), dtype, trial % 4 < 2 ? 0 : 0.3);
        const qs = Array.from({ length: rng.int(1, 3) }, () => (rng.next() < 0.3 ? rng.int(0, 4) / 4 : rng.uniform(0, 1)));
        const form = trial % 3; // 0: number, 1: 0-d tensor, 2: 1-D tensor
        const q = form === 0 ? qs[0] : form === 1 ? tensor(qs[0], [], { dtype }) : tensor(qs, [qs.length], { dtype });
        const used = form === 2 ? qs : [qs[0]];
        const lines = flat ? [v] : linesOf(v, shape, ax);
        const rest = flat ? (keepDims ? shape.map(() => 1) : []) : reducedShape(shape, ax, keepDims);
        const wantShape = form === 2 ? [qs.length, ...rest] : rest;
        for (const op of ['quantile', 'nanquantile'] as const) {
          const y = antler[op](make(v, shape, dtype), q, { axis, keepDims, interpolation });
          const want = used.flatMap((qq) => lines.map((l) => quantileRef(l, qq, interpolation, op === 'nanquantile', f32)));
          const what = `${op} ${dtype} [${shape}] axis ${axis} keepDims ${keepDims} ${interpolation} q [${used}]: [${v}]`;
          expect(y.shape).toEqual(wantShape);
          expect(y.dtype).toBe(dtype);
          // float64 is bit-exact against this reference (torch's fused lerp can be 1 ulp off both).
          if (f32) expectClose(read(y), want, 1e-6, 1e-6, what);
          else expectExact(read(y), want, what);
        }
      }
    }));

  test('edge cases: a NaN line gives NaN (quantile), an all-NaN line NaN (nanquantile); q checked; the gradient splits 1 − w, w', () =>
    tidy(() => {
      const x = tensor([1, NaN, 3, NaN, NaN, NaN], [2, 3], F64);
      expectExact(read(antler.quantile(x, 0.5, { axis: 1 })), [NaN, NaN]);
      expectExact(read(antler.nanquantile(x, 0.5, { axis: 1 })), [2, NaN]);
      expectExact(read(antler.quantile(tensor([0, 1, 2, 3], [4], F64), tensor([0.5, 1 / 6], [2], F64), { interpolation: 'nearest' })), [2, 0]);
      expectAntlerError(() => antler.quantile(tensor([1, 2], [2]), -0.1), 'INVALID_ARGUMENT', /\[0, 1\]/);
      expectAntlerError(() => antler.quantile(tensor([1, 2], [2]), tensor([[0.5]], [1, 1])), 'INVALID_ARGUMENT', /1-D/);
      expectAntlerError(() => antler.nanquantile(antler.zeros([2, 0]), 0.5, { axis: 0 }), 'INVALID_ARGUMENT', /empty/);
      const g = tensor([4, 1, 3, 2], [4], { dtype: 'float64', requiresGrad: true });
      antler.quantile(g, 0.4).backward();
      // rank 1.2 between the sorted 2 (index 3) and 3 (index 2).
      expectClose(read(g.grad!), [0, 0, 0.2, 0.8], 1e-12, 1e-15, 'gradient');
    }));
});

// ---------------------------------------------------------------- varMean, stdMean, cov, corrcoef

let lastCovFactor = 1;
/** torch.cov on rows [vars][obs] with weights w = fw·aw: numpy's divisor Σw − c·Σ(w·aw)/Σw (Σw − c without aweights), ≤ 0 → 0. */
function covRef(rows: number[][], correction: number, fw?: number[], aw?: number[]): number[] {
  const obs = rows[0].length;
  const w = Array.from({ length: obs }, (_, j) => (fw ? fw[j] : 1) * (aw ? aw[j] : 1));
  const wSum = w.reduce((a, b) => a + b, 0);
  const avg = rows.map((r) => r.reduce((acc, v, j) => acc + v * w[j], 0) / wSum);
  let factor = aw && correction !== 0 ? wSum - (correction * w.reduce((acc, v, j) => acc + v * aw[j], 0)) / wSum : wSum - correction;
  if (factor <= 0) factor = 0;
  lastCovFactor = factor;
  return rows.flatMap((a, i) => rows.map((b, k) => a.reduce((acc, v, j) => acc + (v - avg[i]) * (b[j] - avg[k]) * w[j], 0) / factor));
}

describe(`varMean, stdMean, cov, corrcoef (seed ${SEED})`, () => {
  test('varMean and stdMean match two-pass float64 loops with any correction, random axes, keepDims', () =>
    tidy(() => {
      for (let trial = 0; trial < 8; trial++) {
        const dtype = trial % 2 ? 'float32' : 'float64';
        const { shape, axis } = randomAxisShape(rng);
        const ax = norm(axis, shape.length);
        const v = draw(rng, prod(shape), dtype, 0, false);
        const correction = rng.int(0, 2);
        const keep = rng.next() < 0.5;
        const lines = linesOf(v, shape, ax);
        const means = lines.map((l) => l.reduce((a, b) => a + b, 0) / l.length);
        const vars = lines.map((l, i) => l.reduce((a, b) => a + (b - means[i]) ** 2, 0) / Math.max(0, l.length - correction));
        const [va, me] = antler.varMean(make(v, shape, dtype), axis, keep, { correction });
        const [sd, me2] = antler.stdMean(make(v, shape, dtype), axis, keep, { correction });
        const what = `${dtype} [${shape}] axis ${axis} correction ${correction}`;
        const tol = dtype === 'float32' ? 1e-5 : 1e-13;
        expect(va.shape).toEqual(reducedShape(shape, ax, keep));
        expectClose(read(va), vars, tol, tol, `var ${what}`);
        expectClose(read(sd), vars.map(Math.sqrt), tol, tol, `std ${what}`);
        expectClose(read(me), means, tol, tol, `mean ${what}`);
        expectClose(read(me2), means, tol, tol, `mean ${what}`);
      }
    }));

  test("cov and corrcoef match torch's formulas: random sizes, corrections, fweights and aweights, 1-D inputs", () =>
    tidy(() => {
      for (let trial = 0; trial < 10; trial++) {
        const dtype = trial % 2 ? 'float32' : 'float64';
        const vars = rng.int(1, 4), obs = rng.int(2, 7);
        const oneD = vars === 1 && rng.next() < 0.5;
        const v = draw(rng, vars * obs, dtype, 0, false);
        const rows = Array.from({ length: vars }, (_, i) => v.slice(i * obs, (i + 1) * obs));
        const correction = rng.int(-1, 2);
        const fw = rng.next() < 0.5 ? Array.from({ length: obs }, () => rng.int(0, 3)) : undefined;
        if (fw && !fw.some((e) => e !== 0)) fw[0] = 1; // weights summing to 0 are refused (tested below)
        const aw = rng.next() < 0.5 ? Array.from({ length: obs }, () => (dtype === 'float32' ? Math.fround(rng.uniform(0, 2)) : rng.uniform(0, 2))) : undefined;
        const x = make(v, oneD ? [obs] : [vars, obs], dtype);
        const c = antler.cov(x, { correction, fweights: fw && tensor(fw, [obs], I32), aweights: aw && tensor(aw, [obs], { dtype }) });
        const what = `${dtype} ${vars}×${obs} correction ${correction} fweights [${fw}] aweights [${aw}]`;
        expect(c.shape).toEqual(vars === 1 ? [] : [vars, vars]);
        const want = covRef(rows, correction, fw, aw);
        const tol = dtype === 'float32' ? 1e-4 : 1e-12;
        // A divisor of 0 gives ±∞ or NaN (0/0), which one depending on the numerator's rounding in float32.
        if (lastCovFactor === 0 && dtype === 'float32') expect(read(c).every((e) => !Number.isFinite(e))).toBe(true);
        else expectClose(read(c), want, tol, tol, `cov ${what}`);
        const r = antler.corrcoef(x);
        const sd = rows.map((_, i) => Math.sqrt(covRef(rows, 1)[i * vars + i]));
        const wantR = vars === 1 ? [1] : covRef(rows, 1).map((e, k) => Math.min(1, Math.max(-1, e / sd[Math.floor(k / vars)] / sd[k % vars])));
        expectClose(read(r), wantR, tol, tol, `corrcoef ${what}`);
      }
    }));

  test('cov refuses bad weights; corrcoef of a constant variable is NaN, of a single one 1', () =>
    tidy(() => {
      expectAntlerError(() => antler.cov(tensor([1, 2, 3, 4], [2, 2]), { fweights: tensor([1, -1], [2], I32) }), 'INVALID_ARGUMENT', /≥ 0/);
      expectAntlerError(() => antler.cov(tensor([1, 2, 3, 4], [2, 2]), { correction: 0.5 }), 'INVALID_ARGUMENT');
      // Weights summing to 0 are refused, as torch's "weights sum to zero, can't be normalized".
      expectAntlerError(() => antler.cov(tensor([1, 2, 3, 1], [2, 2]), { fweights: tensor([0, 0], [2], I32) }), 'INVALID_ARGUMENT', /sum to 0/);
      expectAntlerError(() => antler.cov(tensor([1, 2, 3, 1], [2, 2]), { aweights: tensor([0, 0], [2]) }), 'INVALID_ARGUMENT', /sum to 0/);
      expectAntlerError(() => antler.cov(tensor([1, 2, 3, 1], [2, 2]), { fweights: tensor([1, 0], [2], I32), aweights: tensor([0, 2], [2]) }), 'INVALID_ARGUMENT', /sum to 0/);
      // A negative correction is torch's too: [1, 2, 4] with correction −1 divides by 4 (torch 1.13: 1.1667 = 14/3 / 4).
      expectClose(read(antler.cov(tensor([1, 2, 4], [3], F64), { correction: -1 })), [14 / 3 / 4], 1e-15, 0, 'correction −1');
      expectClose(read(antler.cov(tensor([1, 2, 4], [3], F64), { correction: -2, aweights: tensor([1, 2, 1], [3], F64) })), [covRef([[1, 2, 4]], -2, undefined, [1, 2, 1])[0]], 1e-15, 0, 'correction −2, aweights');
      expectExact(read(antler.corrcoef(tensor([2, 2, 2], [3], F64))), [NaN]);
      expectExact(read(antler.corrcoef(tensor([1, 2, 4], [1, 3], F64))), [1]);
      expectClose(read(antler.corrcoef(tensor([1, 2, 3, 2, 4, 6], [2, 3], F64))), [1, 1, 1, 1], 1e-15, 0, 'perfectly correlated');
      // Perfectly (anti)correlated rows round to just past ±1 now and then: clipped, as torch's.
      for (let trial = 0; trial < 20; trial++) {
        const a = Array.from({ length: 7 }, () => rng.uniform(-3, 3));
        const k = rng.uniform(-5, 5), c = rng.uniform(-2, 2);
        const r = read(antler.corrcoef(tensor([...a, ...a.map((e) => k * e + c)], [2, 7], F64)));
        expect(Math.max(...r.map(Math.abs))).toBeLessThanOrEqual(1);
        expectClose(r.map(Math.abs), [1, 1, 1, 1], 1e-12, 0, 'perfectly correlated');
      }
    }));
});

// ---------------------------------------------------------------- histc, bincount

/** torch.histc's loop, in the input's precision (fr rounds to it): ⌊(x − lo) / (hi − lo) · bins⌋ (in that order), the top edge in the last bin. */
function histcRef(v: readonly number[], bins: number, lo: number, hi: number, f32: boolean): number[] {
  const fr = f32 ? Math.fround : (e: number) => e;
  const data = v.filter((e) => !Number.isNaN(e));
  if (lo === hi && data.length) [lo, hi] = [Math.min(...data), Math.max(...data)];
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  [lo, hi] = [fr(lo), fr(hi)];
  const out = new Array<number>(bins).fill(0);
  for (const e of data)
    if (e >= lo && e <= hi) out[Math.min(bins - 1, Math.floor(fr(fr(fr(e - lo) / fr(hi - lo)) * bins)))]++;
  return out;
}

describe(`histc, bincount (seed ${SEED})`, () => {
  test("histc matches torch's loop: given and data ranges, out-of-range and NaN elements skipped, float32 and float64", () =>
    tidy(() => {
      for (let trial = 0; trial < 12; trial++) {
        const dtype = trial % 2 ? 'float32' : 'float64';
        const shape = randomShape(rng, rng.int(0, 3), 0, 6);
        const given = trial % 3 !== 0;
        const lo = given ? rng.int(-4, 0) / 2 : 0, hi = given ? rng.int(0, 4) / 2 : 0;
        // min = max takes the data's range, NaN with a NaN, which is refused (below), as torch's.
        const v = draw(rng, prod(shape), dtype, lo === hi ? 0 : 0.1, false);
        const bins = rng.int(1, 9);
        const h = antler.histc(make(v, shape, dtype), { bins, min: lo, max: hi });
        expect(h.shape).toEqual([bins]);
        expect(h.dtype).toBe(dtype);
        expectExact(read(h), histcRef(v, bins, lo, hi, dtype === 'float32'), `${dtype} bins ${bins} [${lo}, ${hi}]: [${v}]`);
      }
      // Values on the bin grid, where the order of torch's (x − lo) / (hi − lo) · bins decides the bin.
      for (let trial = 0; trial < 12; trial++) {
        const dtype = trial % 2 ? 'float32' : 'float64';
        const bins = rng.int(1, 13);
        const lo = rng.int(-40, 10) / 10, hi = lo + rng.int(1, 50) / 10;
        const v = Array.from({ length: 30 }, () => lo + ((hi - lo) * rng.int(-2, bins * 10 + 2)) / (bins * 10)).map((e) => (dtype === 'float32' ? Math.fround(e) : e));
        expectExact(read(antler.histc(make(v, [30], dtype), { bins, min: lo, max: hi })), histcRef(v, bins, lo, hi, dtype === 'float32'), `grid ${dtype} bins ${bins} [${lo}, ${hi}]: [${v}]`);
      }
      // torch 1.13's bins, where ·bins before the division gives the next one up (down for −2.569…).
      const oneBin = (v: number, bins: number, lo: number, hi: number, dtype: Dt) => read(antler.histc(tensor([v], [1], { dtype }), { bins, min: lo, max: hi })).indexOf(1);
      expect(oneBin(0.3, 10, -1.5, 1.5, 'float32')).toBe(5);
      expect(oneBin(-0.9, 10, -1.5, 1.5, 'float64')).toBe(1);
      expect(oneBin(-0.30000000000000004, 10, -1.5, 1.5, 'float64')).toBe(3);
      expect(oneBin(0.7, 10, 0.1, 3.1, 'float64')).toBe(1);
      expect(oneBin(-2.5692307692307694, 13, -3.7, -1.6, 'float64')).toBe(7);
      expectExact(read(antler.histc(tensor([1, 2, 1], [3]), { bins: 4, min: 0, max: 3 })), [0, 2, 1, 0]);
      expectExact(read(antler.histc(tensor([5, 5], [2]), { bins: 2 })), [0, 2]);
      expectAntlerError(() => antler.histc(tensor([1, Infinity], [2])), 'INVALID_ARGUMENT', /not finite/);
      expectAntlerError(() => antler.histc(tensor([1, NaN], [2])), 'INVALID_ARGUMENT', /not finite/);
      expectAntlerError(() => antler.histc(tensor([1], [1]), { min: 2, max: 1 }), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.histc(tensor([1], [1], I32)), 'DTYPE_MISMATCH');
    }));

  test('bincount counts (int32) or sums weights (in their dtype), minlength; refuses negatives and non-int32', () =>
    tidy(() => {
      for (let trial = 0; trial < 8; trial++) {
        const n = rng.int(0, 12);
        const v = Array.from({ length: n }, () => rng.int(0, 7));
        const minlength = rng.int(0, 10);
        const len = Math.max(minlength, n ? Math.max(...v) + 1 : 0);
        const counts = new Array<number>(len).fill(0);
        v.forEach((e) => counts[e]++);
        const c = antler.bincount(tensor(v, [n], I32), { minlength });
        expect(c.dtype).toBe('int32');
        expectExact(read(c), counts, `[${v}] minlength ${minlength}`);
        const wdt = (['float32', 'float64', 'int32'] as const)[trial % 3];
        const w = Array.from({ length: n }, () => (wdt === 'int32' ? rng.int(-3, 3) : rng.int(-8, 8) / 4));
        const sums = new Array<number>(len).fill(0);
        v.forEach((e, i) => (sums[e] += w[i]));
        const s = antler.bincount(tensor(v, [n], I32), { minlength, weights: tensor(w, [n], { dtype: wdt }) });
        expect(s.dtype).toBe(wdt === 'int32' ? 'float64' : wdt);
        expectExact(read(s), sums, `weighted [${v}]`);
      }
      expectAntlerError(() => antler.bincount(tensor([1, -1], [2], I32)), 'INVALID_ARGUMENT', /non-negative/);
      expectAntlerError(() => antler.bincount(tensor([1, 2], [2])), 'DTYPE_MISMATCH');
      expectAntlerError(() => antler.bincount(tensor([1, 2], [1, 2], I32)), 'INVALID_ARGUMENT', /1-D/);
      expectAntlerError(() => antler.bincount(tensor([1, 2], [2], I32), { weights: tensor([1], [1]) }), 'SHAPE_MISMATCH');
    }));
});

// ---------------------------------------------------------------- Tensor methods

describe(`statistics Tensor methods (seed ${SEED})`, () => {
  test('each method is its function with the tensor first', () =>
    tidy(() => {
      const v = draw(rng, 12, 'float64', 0.1, false);
      const x = tensor(v, [3, 4], F64);
      const xi = tensor([0, 2, 2, 5], [4], I32);
      const same = (a: Tensor | { [k: string]: Tensor }, b: Tensor | { [k: string]: Tensor }, what: string) => {
        const [ta, tb] = [a, b].map((r) => (r instanceof Tensor ? [r] : Object.values(r)));
        expect(ta.length).toBe(tb.length);
        ta.forEach((t, i) => expectExact(read(t), read(tb[i]), what));
      };
      same(x.amax(1, true), antler.amax(x, 1, true), 'amax');
      same(x.amin(), antler.amin(x), 'amin');
      same(x.aminmax(0), antler.aminmax(x, 0), 'aminmax');
      same(x.nansum(0), antler.nansum(x, 0), 'nansum');
      same(x.nanmean(), antler.nanmean(x), 'nanmean');
      same(x.countNonzero(1), antler.countNonzero(x, 1), 'countNonzero');
      same(x.logcumsumexp(1), antler.logcumsumexp(x, 1), 'logcumsumexp');
      same(x.cummax(0), antler.cummax(x, 0), 'cummax');
      same(x.cummin(1), antler.cummin(x, 1), 'cummin');
      same(x.diff({ n: 2 }), antler.diff(x, { n: 2 }), 'diff');
      same(x.median(), antler.median(x), 'median');
      same(x.median(1, true), antler.median(x, 1, true), 'median axis');
      same(x.nanmedian(0), antler.nanmedian(x, 0), 'nanmedian');
      same(x.kthvalue(2), antler.kthvalue(x, 2), 'kthvalue');
      same(x.mode(0), antler.mode(x, 0), 'mode');
      same(x.quantile(0.3, { axis: 1 }), antler.quantile(x, 0.3, { axis: 1 }), 'quantile');
      same(x.nanquantile(0.7), antler.nanquantile(x, 0.7), 'nanquantile');
      same(x.cov(), antler.cov(x), 'cov');
      same(x.corrcoef(), antler.corrcoef(x), 'corrcoef');
      same(x.histc({ bins: 5, min: -3, max: 3 }), antler.histc(x, { bins: 5, min: -3, max: 3 }), 'histc');
      same(xi.bincount({ minlength: 8 }), antler.bincount(xi, { minlength: 8 }), 'bincount');
    }));
});

// ---------------------------------------------------------------- memory

describe(`statistics memory (seed ${SEED})`, () => {
  test('no tensor is left behind outside tidy, and inputs are untouched', () => {
    const x = tensor([3, 1, NaN, 2, 2, 5], [2, 3], F64);
    const q = tensor([0.2, 0.9], [2], F64);
    const xi = tensor([0, 3, 3, 1], [4], I32);
    const before = antler.memory().numTensors;
    const outs: Tensor[] = [];
    const keep = (r: Tensor | { [k: string]: Tensor }) => outs.push(...(r instanceof Tensor ? [r] : Object.values(r)));
    keep(antler.amax(x, 1));
    keep(antler.aminmax(x));
    keep(antler.nansum(x));
    keep(antler.nanmean(x, 0));
    keep(antler.countNonzero(x));
    keep(antler.logcumsumexp(x, 1));
    keep(antler.cummax(x, 1));
    keep(antler.cummin(x, 0));
    keep(antler.diff(x, { n: 2 }));
    keep(antler.median(x));
    keep(antler.median(x, 1));
    keep(antler.nanmedian(x, 1));
    keep(antler.kthvalue(x, 2));
    keep(antler.mode(x));
    keep(antler.quantile(x, q, { axis: 0 }));
    keep(antler.nanquantile(x, 0.5));
    keep(antler.varMean(x, 1) as unknown as { [k: string]: Tensor });
    keep(antler.stdMean(x) as unknown as { [k: string]: Tensor });
    keep(antler.cov(x));
    keep(antler.corrcoef(x));
    keep(antler.histc(x, { bins: 3, min: 0, max: 6 }));
    keep(antler.bincount(xi));
    expect(antler.memory().numTensors).toBe(before + outs.length);
    outs.forEach((t) => t.dispose());
    expect(antler.memory().numTensors).toBe(before);
    expectExact(read(x), [3, 1, NaN, 2, 2, 5]);
    x.dispose();
    q.dispose();
    xi.dispose();
  });
});
