/**
 * The native scans behind cummax, cummin and logcumsumexp (kernels/scan_axis.h)
 * on long axes (n = 5000, the one-line-per-iteration path, and the blocked path
 * with inner > 1 and more than one block of 256 lines) against float64 JS
 * transcriptions of PyTorch's definitions: cummax_cummin_helper's loop (ties
 * take the last index, a NaN sticks) and log Σ_{j ≤ i} e^x[j]; NaN, ±∞ and
 * ties; and the gradients (to the chosen element; torch's Σ_{i ≥ j}
 * g[i]·e^(x[j] − y[i])) against the reference formula and central differences
 * at a few sizes. test/cpu/statistics.test.ts covers the short cases.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, prod, Rng, tensorCounts } from '../helpers';
import { cumRef, fromLines, linesOf } from '../statistics-refs';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
type Dt = 'float32' | 'float64' | 'int32';

/** log Σ_{j ≤ i} e^x[j], pairwise in float64 (log-add-exp of the running value and the next element). */
function lcseRef(line: readonly number[]): number[] {
  let acc = -Infinity;
  return line.map((v) => {
    if (Number.isNaN(v) || Number.isNaN(acc)) return (acc = NaN);
    const m = Math.max(acc, v);
    acc = m === -Infinity ? -Infinity : m === Infinity ? Infinity : m + Math.log1p(Math.exp(-Math.abs(acc - v)));
    return acc;
  });
}

/** Σ_{i ≥ j} g[i]·e^(x[j] − y[i]) for one line (0 where x[j] = −∞). */
function lcseGradRef(x: readonly number[], g: readonly number[]): number[] {
  const y = lcseRef(x);
  // Each term directly in float64 (e^(x[j] − y[i]) ≤ 1 as y[i] ≥ x[j]): O(n²), n = 5000 at most.
  return x.map((xj, j) => {
    if (xj === -Infinity) return 0;
    let s = 0;
    for (let i = j; i < x.length; i++) s += g[i] * Math.exp(xj - y[i]);
    return s;
  });
}

/** Integers with many ties, or halves and uniforms with NaN (a fraction nanRate) and ±∞. */
function draw(r: Rng, n: number, dtype: Dt, nanRate: number): number[] {
  return Array.from({ length: n }, () => {
    if (dtype === 'int32') return r.int(-50, 50);
    const u = r.next();
    if (u < nanRate) return NaN;
    if (u < nanRate + 0.002) return r.next() < 0.5 ? Infinity : -Infinity;
    return r.next() < 0.5 ? r.int(-40, 40) / 2 : r.uniform(-20, 20);
  }).map((v) => (dtype === 'float32' ? Math.fround(v) : v));
}

// [lines, n] along axis 1 (inner 1), [n, lines] along 0 (blocked, one block) and [2, n, 300] along 1
// (blocked, two blocks of 256 and 44 lines).
const LONG: { shape: number[]; axis: number }[] = [
  { shape: [3, 5000], axis: 1 },
  { shape: [5000, 3], axis: 0 },
  { shape: [2, 700, 300], axis: 1 },
];

describe(`cummax, cummin on long axes (seed ${SEED})`, () => {
  test('values and indices match the loop exactly: every dtype, ties, NaN (rare and frequent), ±∞', () =>
    tidy(() => {
      for (const { shape, axis } of LONG)
        for (const dtype of ['float64', 'float32', 'int32'] as const)
          for (const nanRate of dtype === 'int32' ? [0] : [0, 0.0005, 0.05]) {
            const v = draw(rng, prod(shape), dtype, nanRate);
            const x = tensor(v, shape, { dtype });
            for (const op of ['max', 'min'] as const) {
              const refs = linesOf(v, shape, axis).map((l) => cumRef(l, op));
              const r = op === 'max' ? antler.cummax(x, axis) : antler.cummin(x, axis);
              const what = `cum${op} ${dtype} [${shape}] axis ${axis} NaN rate ${nanRate}`;
              expect(r.values.dtype).toBe(dtype);
              expect(r.indices.dtype).toBe('int32');
              expectExact(read(r.values), fromLines(refs.map((q) => q.v), shape, axis), `${what} values`);
              expectExact(read(r.indices), fromLines(refs.map((q) => q.i), shape, axis), `${what} indices`);
            }
          }
    }));

  test('a NaN run keeps its latest position; ties keep the last; −∞ and +∞ lines', () =>
    tidy(() => {
      const v = [2, NaN, 5, NaN, 9, 1, 2, 2, 2];
      const r = antler.cummax(tensor(v, [9], F64), 0);
      expectExact(read(r.values), [2, NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN]);
      expectExact(read(r.indices), [0, 1, 1, 3, 3, 3, 3, 3, 3]);
      const t = antler.cummin(tensor([3, 1, 1, 4, 1], [5], F64), 0);
      expectExact(read(t.indices), [0, 1, 2, 2, 4]);
      const inf = antler.cummax(tensor([-Infinity, -Infinity, Infinity, 0, Infinity], [5], F64), 0);
      expectExact(read(inf.values), [-Infinity, -Infinity, Infinity, Infinity, Infinity]);
      expectExact(read(inf.indices), [0, 1, 2, 2, 4]);
    }));

  test('the gradient goes to the element at each index (n = 5000, both paths) and matches central differences', () =>
    tidy(() => {
      for (const { shape, axis } of LONG.slice(0, 2)) {
        const v = Array.from({ length: prod(shape) }, () => rng.int(-30, 30));
        const g = Array.from({ length: prod(shape) }, () => rng.uniform(-1, 1));
        for (const op of ['max', 'min'] as const) {
          const x = tensor(v, shape, { dtype: 'float64', requiresGrad: true });
          const r = op === 'max' ? antler.cummax(x, axis) : antler.cummin(x, axis);
          r.values.backward(tensor(g, shape, F64));
          const idx = read(r.indices);
          const want = new Array<number>(v.length).fill(0);
          const n = shape[axis], inner = prod(shape.slice(axis + 1));
          idx.forEach((k, p) => {
            const o = Math.floor(p / (n * inner)), i = p % inner;
            want[(o * n + k) * inner + i] += g[p];
          });
          expectClose(read(x.grad!), want, 1e-12, 1e-12, `cum${op} [${shape}] gradient`);
        }
      }
      for (const n of [1, 2, 7, 40]) {
        const v = Array.from({ length: 2 * n }, () => rng.uniform(-3, 3));
        const c = Array.from({ length: 2 * n }, () => rng.uniform(-1, 1));
        const loss = (vals: number[]) => read(antler.sum(antler.mul(antler.cummin(tensor(vals, [n, 2], F64), 0).values, tensor(c, [n, 2], F64))))[0];
        const x = tensor(v, [n, 2], { dtype: 'float64', requiresGrad: true });
        antler.sum(antler.mul(antler.cummin(x, 0).values, tensor(c, [n, 2], F64))).backward();
        const h = 1e-6;
        const numeric = v.map((_, i) => (loss(v.map((e, j) => (j === i ? e + h : e))) - loss(v.map((e, j) => (j === i ? e - h : e)))) / (2 * h));
        expectClose(read(x.grad!), numeric, 1e-6, 1e-8, `cummin n ${n} central differences`);
      }
    }));
});

describe(`logcumsumexp on long axes (seed ${SEED})`, () => {
  test('matches the float64 log-space scan over wide values, with −∞ and NaN, both dtypes and paths', () =>
    tidy(() => {
      for (const { shape, axis } of LONG)
        for (const dtype of ['float64', 'float32'] as const)
          for (const special of [false, true]) {
            const v = Array.from({ length: prod(shape) }, () => {
              const u = rng.next();
              if (special && u < 0.01) return -Infinity;
              if (special && u < 0.0104) return NaN;
              return rng.uniform(-50, 50) * (rng.next() < 0.5 ? 1 : 0.01);
            }).map((e) => (dtype === 'float32' ? Math.fround(e) : e));
            const want = fromLines(linesOf(v, shape, axis).map(lcseRef), shape, axis);
            const y = antler.logcumsumexp(tensor(v, shape, { dtype }), axis);
            expect(y.dtype).toBe(dtype);
            expectClose(read(y), want, dtype === 'float32' ? 2e-7 : 1e-13, dtype === 'float32' ? 1e-6 : 1e-12, `${dtype} [${shape}] axis ${axis}${special ? ' with −∞/NaN' : ''}`);
          }
    }));

  test('large offsets do not overflow or underflow: ±1e30 and a run of equal values (log n)', () =>
    tidy(() => {
      const big = antler.logcumsumexp(tensor([1e30, 1e30, -1e30, 1e30 + 1e15], [4], F64), 0);
      expectClose(read(big), [1e30, 1e30, 1e30, 1e30 + 1e15], 1e-15, 0, 'large');
      const same = read(antler.logcumsumexp(antler.full([5000], 7, F64), 0));
      expectClose(same, same.map((_, i) => 7 + Math.log(i + 1)), 1e-14, 1e-13, 'equal values');
      expectExact(read(antler.logcumsumexp(tensor([-Infinity, -Infinity, 2], [3], F64), 0)), [-Infinity, -Infinity, 2]);
      expectExact(read(antler.logcumsumexp(tensor(3, [], F64), 0)), [3]);
    }));

  test("the gradient is torch's Σ_{i ≥ j} g[i]·e^(x[j] − y[i]): n = 5000 (both paths), −∞ gives 0", () =>
    tidy(() => {
      for (const { shape, axis } of [
        { shape: [2, 5000], axis: 1 },
        { shape: [5000, 2], axis: 0 },
      ])
        for (const dtype of ['float64', 'float32'] as const) {
          const v = Array.from({ length: prod(shape) }, () => (rng.next() < 0.01 ? -Infinity : rng.uniform(-20, 20))).map((e) => (dtype === 'float32' ? Math.fround(e) : e));
          const g = Array.from({ length: prod(shape) }, () => (rng.next() < 0.05 ? 0 : rng.uniform(-1, 1))).map((e) => (dtype === 'float32' ? Math.fround(e) : e));
          const x = tensor(v, shape, { dtype, requiresGrad: true });
          antler.logcumsumexp(x, axis).backward(tensor(g, shape, { dtype }));
          const gl = linesOf(g, shape, axis);
          const want = fromLines(linesOf(v, shape, axis).map((l, li) => lcseGradRef(l, gl[li])), shape, axis);
          expectClose(read(x.grad!), want, dtype === 'float32' ? 2e-4 : 1e-10, dtype === 'float32' ? 1e-4 : 1e-11, `${dtype} [${shape}] axis ${axis} gradient`);
        }
    }));

  test('gradient and second derivative match central differences at a few sizes (a leading −∞ too)', () => {
    for (const n of [1, 2, 7, 33]) {
      const v = Array.from({ length: 2 * n }, (_, i) => (i === 0 && n > 1 ? -Infinity : rng.uniform(-2, 2)));
      const c = Array.from({ length: 2 * n }, () => rng.uniform(-1, 1));
      const run = (vals: number[], order: 0 | 1 | 2): number[] =>
        tidy(() => {
          const x = tensor(vals, [n, 2], { dtype: 'float64', requiresGrad: true });
          // e^y keeps the loss finite where y is −∞ (the leading −∞: y[0] = −∞ in that column).
          const y = antler.sum(antler.mul(antler.exp(antler.logcumsumexp(x, 0)), tensor(c, [n, 2], F64)));
          if (order === 0) return read(y);
          const [g] = antler.autograd.grad(y, x, { createGraph: order === 2 });
          if (order === 1) return read(g!);
          const n2 = antler.sum(antler.mul(g!, g!));
          n2.backward();
          return read(x.grad!);
        });
      const normOf = (vals: number[]) => run(vals, 1).reduce((a, e) => a + e * e, 0);
      const h = 1e-5;
      const fd = (f: (vals: number[]) => number) => v.map((e, i) => (e === -Infinity ? 0 : (f(v.map((w, j) => (j === i ? w + h : w))) - f(v.map((w, j) => (j === i ? w - h : w)))) / (2 * h)));
      expectClose(run(v, 1), fd((vals) => run(vals, 0)[0]), 1e-6, 1e-6, `n ${n} gradient`);
      expectClose(run(v, 2), fd(normOf), 1e-5, 1e-5, `n ${n} second derivative`);
    }
  });
});

describe(`logcumsumexp's native backward (seed ${SEED})`, () => {
  test('the plain backward is one native pass; it gives the recorded (createGraph) formula\'s values, edge values included (−∞ runs, +∞, NaN x, NaN and 0 gradients)', () => {
    {
      for (const dtype of ['float64', 'float32'] as const)
        for (const { shape, axis } of [{ shape: [3, 9], axis: 1 }, { shape: [9, 3], axis: 0 }, { shape: [2, 9, 3], axis: 1 }]) {
          const L = shape[axis];
          const v = Array.from({ length: prod(shape) }, () => rng.uniform(-30, 30));
          const g = Array.from({ length: prod(shape) }, () => (rng.next() < 0.15 ? 0 : rng.uniform(-1, 1)));
          // Per line (walking the axis): a leading −∞ run, a −∞ in the middle, +∞ (and a finite value after it),
          // a NaN x, a NaN gradient: each in its own line where there are enough lines.
          const lines = linesOf(v.map((_, i) => i), shape, axis);
          const put = (line: number, k: number, val: number, arr = v) => { if (line < lines.length) arr[lines[line][k]] = val; };
          put(0, 0, -Infinity); put(0, 1, -Infinity); put(0, 4, -Infinity);
          put(1, 3, Infinity); put(1, 6, Infinity);
          put(2, 5, NaN);
          put(3, 2, NaN, g); put(3, L - 1, -Infinity);
          // The native entry points each backward runs (profile() sees every addon call).
          const run = (createGraph: boolean): [number[], string[]] =>
            tidy(() => {
              const x = tensor(v, shape, { dtype, requiresGrad: true });
              const y = antler.logcumsumexp(x, axis), gy = tensor(g, shape, { dtype });
              const p = antler.profile(() => antler.autograd.grad(y, x, { gradOutputs: gy, createGraph })[0]!);
              return [read(p.result), p.kernels.map((k) => k.name)];
            });
          const [plain, plainOps] = run(false);
          expect(plainOps.filter((k) => k.startsWith('logCumSumExp'))).toEqual(['logCumSumExpBackward']);
          const [recorded, recordedOps] = run(true);
          expect(recordedOps).not.toContain('logCumSumExpBackward');
          expect(recordedOps).toContain('logCumSumExp');
          const what = `${dtype} [${shape}] axis ${axis}`;
          // Same NaNs, infinities and zeros; the finite rest to rounding (each path rounds its scan differently).
          plain.forEach((p, i) => {
            const r = recorded[i];
            if (!Number.isFinite(r) || r === 0) expect({ what, i, p }).toEqual({ what, i, p: r });
          });
          if (dtype === 'float64')
            expectClose(plain.map((p, i) => (Number.isFinite(recorded[i]) ? p : 0)), recorded.map((r) => (Number.isFinite(r) ? r : 0)), 1e-13, 1e-14, what);
          else {
            // float32: each path rounds e^(x_i − y_j) with |x|, |y| up to 30, so a term is off by up to ≈ 30·2⁻²⁴ of
            // itself (the recorded formula wholly in float32; the native pass from the float32 y): each element to 1e-5
            // of itself plus 4·(1 + max|x|)·2⁻²⁴ of Σ_j |g_j|·e^(x_i − y_j), its terms' magnitude in float64. (An atol of
            // 1e-6 failed 1 of 54 at CI seed 2891711729: 2.9e-6 on −0.02826, within this bound; see the commit.)
            const terms = new Array<number>(v.length).fill(0);
            const maxX = Math.max(...v.filter(Number.isFinite).map(Math.abs));
            lines.forEach((line) => {
              const xs = line.map((k) => Math.fround(v[k])), y = lcseRef(xs);
              line.forEach((k, a) => {
                let s = 0;
                for (let b = a; b < line.length; b++) if (!Number.isNaN(g[line[b]])) s += Math.abs(g[line[b]]) * Math.exp(xs[a] - y[b]);
                terms[k] = Number.isFinite(s) ? s : line.reduce((t, kk) => t + (Number.isNaN(g[kk]) ? 0 : Math.abs(g[kk])), 0);
              });
            });
            plain.forEach((p, i) => {
              const r = recorded[i];
              if (!Number.isFinite(r)) return;
              const bound = 1e-5 * Math.abs(r) + 4 * (1 + maxX) * 2 ** -24 * terms[i];
              if (!(Math.abs(p - r) <= bound)) throw new Error(`${what} [${i}]: native ${p}, recorded ${r}, |Δ| ${Math.abs(p - r)} > ${bound}`);
            });
          }
          // And the float64 reference where it is defined (lines without ±∞ or NaN).
          if (dtype === 'float64') {
            const gl = linesOf(g, shape, axis), vl = linesOf(v, shape, axis), pl = linesOf(plain, shape, axis);
            vl.forEach((l, li) => {
              if (l.every((e) => Number.isFinite(e) || e === -Infinity) && gl[li].every((e) => !Number.isNaN(e)))
                expectClose(pl[li], lcseGradRef(l, gl[li]), 1e-12, 1e-14, `${what} line ${li}`);
            });
          }
        }
    }
  });

  test('non-finite values reach earlier positions as in the recorded formula: −∞ x before a NaN or an infinite gradient is NaN, an infinite gradient under +∞ poisons the line', () => {
    // Each line [x, g] with the recorded (torch's log-space) result: a term of g_i·e^(x_k − y_i) that is 0·∞ or NaN
    // reaches every earlier k, even where e^(x_k − y_i) is 0.
    const lines: [number[], number[], number[]][] = [
      // x = −∞ in the middle, a NaN x after it: NaN everywhere (the −∞ position too).
      [[1, -Infinity, NaN], [0.5, 0.5, 0.5], [NaN, NaN, NaN]],
      // An infinite gradient under a finite y: ±∞ at finite x, NaN at x = −∞ (−∞ + ∞).
      [[1, -Infinity, 2], [0.5, 0.5, -Infinity], [-Infinity, NaN, -Infinity]],
      // An infinite gradient under y = +∞ (∞ − ∞): NaN back to the start.
      [[-2, 1, Infinity], [0.5, 0.5, Infinity], [NaN, NaN, NaN]],
      // A finite gradient under y = +∞ adds nothing: finite before the +∞, 0 after it at finite x.
      [[0, Infinity, 3], [1, 2, 4], [1, NaN, 0]],
      // Both signs of infinite gradients: NaN where both reach (∞ − ∞), −∞ where only −∞ does.
      [[0, 0, 0], [Infinity, 1, -Infinity], [NaN, -Infinity, -Infinity]],
    ];
    for (const dtype of ['float64', 'float32'] as const)
      for (const inner of [1, 3])
        for (const [xv, gv, want] of lines)
          tidy(() => {
            // [3, inner] along axis 0: inner copies of the line (the blocked path for inner > 1).
            const x = tensor(xv.flatMap((v) => new Array<number>(inner).fill(v)), [xv.length, inner], { dtype, requiresGrad: true });
            const gy = tensor(gv.flatMap((v) => new Array<number>(inner).fill(v)), [xv.length, inner], { dtype });
            const got = (createGraph: boolean) => read(antler.autograd.grad(antler.logcumsumexp(x, 0), x, { gradOutputs: gy, createGraph })[0]!);
            const w = want.flatMap((v) => new Array<number>(inner).fill(v));
            const what = `${dtype} inner ${inner} x [${xv}] g [${gv}]`;
            for (const [path, vals] of [['plain', got(false)], ['createGraph', got(true)]] as const)
              vals.forEach((v, i) => {
                if (Number.isFinite(w[i])) expect(Math.abs(v - w[i]) <= 1e-6 * Math.max(1, Math.abs(w[i])) ? null : { what, path, i, v, want: w[i] }).toBeNull();
                else expect({ what, path, i, v }).toEqual({ what, path, i, v: w[i] });
              });
          });
    // Random short lines full of ±∞, NaN and infinite gradients: the plain pass classifies as the recorded formula.
    for (let trial = 0; trial < 300; trial++)
      tidy(() => {
        const n = rng.int(1, 6);
        const xv = Array.from({ length: n }, () => (rng.next() < 0.35 ? rng.pick([-Infinity, Infinity, NaN, -Infinity, 30, -30]) : rng.uniform(-5, 5)));
        const gv = Array.from({ length: n }, () => (rng.next() < 0.2 ? rng.pick([NaN, Infinity, -Infinity, 0]) : rng.uniform(-2, 2)));
        const x = tensor(xv, [n], { dtype: 'float64', requiresGrad: true }), gy = tensor(gv, [n], F64);
        const [plain, recorded] = [false, true].map((createGraph) => read(antler.autograd.grad(antler.logcumsumexp(x, 0), x, { gradOutputs: gy, createGraph })[0]!));
        const what = `x [${xv}] g [${gv}] (seed ${SEED})`;
        plain.forEach((p, i) => {
          const r = recorded[i];
          if (!Number.isFinite(r) || r === 0) expect({ what, i, p }).toEqual({ what, i, p: r });
          else expect(Math.abs(p - r) <= 1e-12 * Math.max(1, Math.abs(r)) ? null : { what, i, p, r }).toBeNull();
        });
      });
  });
});
