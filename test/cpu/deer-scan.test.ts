/**
 * deer.scan: the linear recurrence y_t = A_t y_{t−1} + b_t (dense and diagonal
 * A) against a plain sequential float64 JavaScript loop, float32 against
 * float64, gradients of A, b and y0 against central finite differences, and
 * bad inputs.
 */
import * as antler from '../../lib';
import { DType, Tensor, tensor, tidy } from '../../lib';
import { converged, residuals } from '../../lib/deer/scan';
import { native } from '../../lib/native';
import { wrap } from '../../lib/ops/core';
import { expectAntlerErrorInTidy as expectAntlerError, expectClose, expectExact, expectNoTensorLeaks, makeRng, randomArray, Rng } from '../helpers';

const rng = makeRng();
expectNoTensorLeaks();
const SEED = rng.seed;

interface Case { T: number; B: number; n: number; diagonal: boolean }

// Random operands with ‖A_t‖∞ <= 0.9 so long scans stay bounded.
function operands(r: Rng, c: Case) {
  const aLen = c.T * c.B * (c.diagonal ? c.n : c.n * c.n);
  const A = randomArray(r, aLen, -0.9, 0.9).map((v) => (c.diagonal ? v : v / c.n));
  const b = randomArray(r, c.T * c.B * c.n);
  const y0 = randomArray(r, c.B * c.n);
  return { A, b, y0 };
}

function aShape(c: Case): number[] {
  return c.diagonal ? [c.T, c.B, c.n] : [c.T, c.B, c.n, c.n];
}

// The sequential float64 loop.
function scanRef(c: Case, A: ArrayLike<number>, b: ArrayLike<number>, y0: ArrayLike<number>): Float64Array {
  const { T, B, n } = c;
  const as = c.diagonal ? n : n * n;
  const y = new Float64Array(T * B * n);
  for (let bi = 0; bi < B; bi++) {
    let prev = Array.from({ length: n }, (_, i) => y0[bi * n + i]);
    for (let t = 0; t < T; t++) {
      const a = (t * B + bi) * as, v = (t * B + bi) * n;
      const next = new Array<number>(n);
      for (let i = 0; i < n; i++) {
        let acc = b[v + i];
        if (c.diagonal) acc += A[a + i] * prev[i];
        else for (let j = 0; j < n; j++) acc += A[a + i * n + j] * prev[j];
        next[i] = acc;
      }
      for (let i = 0; i < n; i++) y[v + i] = next[i];
      prev = next;
    }
  }
  return y;
}

function runScan(c: Case, A: number[], b: number[], y0: number[], dtype: DType): Float64Array {
  return tidy(() => {
    const y = antler.deer.scan(
      tensor(A, aShape(c), { dtype }), tensor(b, [c.T, c.B, c.n], { dtype }), tensor(y0, [c.B, c.n], { dtype }),
    );
    expect(y.shape).toEqual([c.T, c.B, c.n]);
    expect(y.dtype).toBe(dtype);
    return Float64Array.from(y.dataSync());
  });
}


const CASES: Case[] = [];
for (const diagonal of [false, true])
  for (const T of [1, 7, 1000])
    for (const B of [1, 3])
      for (const n of [1, 4]) CASES.push({ T, B, n, diagonal });

describe(`deer.scan forward (seed ${SEED})`, () => {
  test.each(CASES.map((c) => [`${c.diagonal ? 'diagonal' : 'dense'} T=${c.T} B=${c.B} n=${c.n}`, c] as const))(
    'float64 matches the sequential loop: %s', (_name, c) => {
      const { A, b, y0 } = operands(rng, c);
      expectClose(runScan(c, A, b, y0, 'float64'), scanRef(c, A, b, y0), 1e-12, 1e-12);
    });

  test.each(CASES.map((c) => [`${c.diagonal ? 'diagonal' : 'dense'} T=${c.T} B=${c.B} n=${c.n}`, c] as const))(
    'float32 agrees with float64: %s', (_name, c) => {
      const { A, b, y0 } = operands(rng, c);
      const r = (xs: number[]) => Array.from(Float32Array.from(xs));
      const [A32, b32, y032] = [r(A), r(b), r(y0)];
      expectClose(runScan(c, A32, b32, y032, 'float32'), scanRef(c, A32, b32, y032), 1e-4, 1e-5);
    });

  test('long scans with many batch elements and a wide state', () => {
    for (const c of [{ T: 2000, B: 1, n: 8, diagonal: false }, { T: 3000, B: 2, n: 5, diagonal: true }, { T: 600, B: 17, n: 3, diagonal: false }]) {
      const { A, b, y0 } = operands(rng, c);
      expectClose(runScan(c, A, b, y0, 'float64'), scanRef(c, A, b, y0), 1e-11, 1e-11, JSON.stringify(c));
    }
  });

  test('T = 0 and B = 0 give empty outputs', () => {
    tidy(() => {
      const y = antler.deer.scan(tensor([], [0, 2, 3, 3], { dtype: 'float64' }), tensor([], [0, 2, 3], { dtype: 'float64' }), tensor([1, 2, 3, 4, 5, 6], [2, 3], { dtype: 'float64' }));
      expect(y.shape).toEqual([0, 2, 3]);
      const z = antler.deer.scan(tensor([], [4, 0, 2], { dtype: 'float32' }), tensor([], [4, 0, 2], { dtype: 'float32' }), tensor([], [0, 2], { dtype: 'float32' }));
      expect(z.shape).toEqual([4, 0, 2]);
    });
  });
});

describe(`deer.scan gradients (seed ${SEED})`, () => {
  const GRAD_CASES: Case[] = [
    { T: 1, B: 1, n: 1, diagonal: false },
    { T: 5, B: 2, n: 3, diagonal: false },
    { T: 6, B: 3, n: 1, diagonal: false },
    { T: 1, B: 2, n: 4, diagonal: true },
    { T: 5, B: 2, n: 3, diagonal: true },
  ];
  test.each(GRAD_CASES.map((c) => [`${c.diagonal ? 'diagonal' : 'dense'} T=${c.T} B=${c.B} n=${c.n}`, c] as const))(
    'A, b and y0 match central finite differences: %s', (_name, c) => {
      const { A, b, y0 } = operands(rng, c);
      const w = randomArray(rng, c.T * c.B * c.n);
      const loss = (Av: number[], bv: number[], y0v: number[]) => {
        const y = runScan(c, Av, bv, y0v, 'float64');
        let s = 0;
        for (let i = 0; i < y.length; i++) s += y[i] * w[i];
        return s;
      };
      const grads = tidy(() => {
        const At = tensor(A, aShape(c), { dtype: 'float64', requiresGrad: true });
        const bt = tensor(b, [c.T, c.B, c.n], { dtype: 'float64', requiresGrad: true });
        const y0t = tensor(y0, [c.B, c.n], { dtype: 'float64', requiresGrad: true });
        const y = antler.deer.scan(At, bt, y0t);
        antler.sum(antler.mul(y, tensor(w, [c.T, c.B, c.n], { dtype: 'float64' }))).backward();
        return [At, bt, y0t].map((t: Tensor) => Float64Array.from(t.grad!.dataSync()));
      });
      const eps = 1e-6;
      const args = [A, b, y0];
      // Each argument's error is relative to its largest gradient, floored at 1e-3 of the largest of
      // any argument: dA = w·y is tiny where y is (T = B = n = 1 with y0 near 0), while the
      // differences' rounding noise scales with the loss, as b's gradient w does.
      const floor = 1e-3 * Math.max(...grads.map((g) => g.reduce((a, v) => Math.max(a, Math.abs(v)), 0)));
      args.forEach((arg, k) => {
        const fd = new Float64Array(arg.length);
        for (let i = 0; i < arg.length; i++) {
          const plus = args.map((a) => a.slice());
          const minus = args.map((a) => a.slice());
          plus[k][i] += eps;
          minus[k][i] -= eps;
          fd[i] = (loss(plus[0], plus[1], plus[2]) - loss(minus[0], minus[1], minus[2])) / (2 * eps);
        }
        let scale = 0, err = 0;
        for (let i = 0; i < fd.length; i++) {
          scale = Math.max(scale, Math.abs(fd[i]));
          err = Math.max(err, Math.abs(fd[i] - grads[k][i]));
        }
        expect(err / Math.max(scale, floor, 1e-300)).toBeLessThan(1e-6);
      });
    });

  test('the analytic gradients match the adjoint of the sequential loop on a long scan', () => {
    // gb = λ, λ_t = w_t + A_{t+1}ᵀ λ_{t+1}: check gb and gy0 against a JS reverse loop.
    const c: Case = { T: 1000, B: 2, n: 4, diagonal: false };
    const { A, b, y0 } = operands(rng, c);
    const w = randomArray(rng, c.T * c.B * c.n);
    const [gA, gb, gy0] = tidy(() => {
      const At = tensor(A, aShape(c), { dtype: 'float64', requiresGrad: true });
      const bt = tensor(b, [c.T, c.B, c.n], { dtype: 'float64', requiresGrad: true });
      const y0t = tensor(y0, [c.B, c.n], { dtype: 'float64', requiresGrad: true });
      antler.sum(antler.mul(antler.deer.scan(At, bt, y0t), tensor(w, [c.T, c.B, c.n], { dtype: 'float64' }))).backward();
      return [At, bt, y0t].map((t: Tensor) => Float64Array.from(t.grad!.dataSync()));
    });
    const { T, B, n } = c;
    const y = scanRef(c, A, b, y0);
    const lam = new Float64Array(T * B * n), gAr = new Float64Array(T * B * n * n), gy0r = new Float64Array(B * n);
    for (let bi = 0; bi < B; bi++) {
      for (let t = T - 1; t >= 0; t--) {
        const v = (t * B + bi) * n;
        for (let i = 0; i < n; i++) {
          let acc = w[v + i];
          if (t + 1 < T) {
            const a = ((t + 1) * B + bi) * n * n, nv = ((t + 1) * B + bi) * n;
            for (let j = 0; j < n; j++) acc += A[a + j * n + i] * lam[nv + j];
          }
          lam[v + i] = acc;
        }
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++)
            gAr[(t * B + bi) * n * n + i * n + j] = lam[v + i] * (t === 0 ? y0[bi * n + j] : y[((t - 1) * B + bi) * n + j]);
      }
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let j = 0; j < n; j++) acc += A[bi * n * n + j * n + i] * lam[bi * n + j];
        gy0r[bi * n + i] = acc;
      }
    }
    expectClose(gb, lam, 1e-11, 1e-11, 'gb');
    expectClose(gA, gAr, 1e-11, 1e-11, 'gA');
    expectClose(gy0, gy0r, 1e-11, 1e-11, 'gy0');
  });

  test('the adjoint-only backward (used by the DEER solver) gives the same λ and skips gA and gy0', () => {
    for (const c of [{ T: 40, B: 3, n: 4, diagonal: false }, { T: 33, B: 2, n: 5, diagonal: true }] as Case[]) {
      const { A, b, y0 } = operands(rng, c);
      const w = randomArray(rng, c.T * c.B * c.n);
      tidy(() => {
        const At = tensor(A, aShape(c), { dtype: 'float64' });
        const bt = tensor(b, [c.T, c.B, c.n], { dtype: 'float64' });
        const y0t = tensor(y0, [c.B, c.n], { dtype: 'float64' });
        const gy = tensor(w, [c.T, c.B, c.n], { dtype: 'float64' });
        const y = antler.deer.scan(At, bt, y0t);
        const n = native() as unknown as antler.deer.DeerNative;
        const full = n.deerScanBackward(At.handle, bt.handle, y0t.handle, y.handle, gy.handle);
        const only = n.deerScanBackward(At.handle, bt.handle, y0t.handle, y.handle, gy.handle, true);
        expect(only[0]).toBeNull();
        expect(only[2]).toBeNull();
        const [fullGA, fullGb, fullGy0, onlyGb] = [full[0]!, full[1], full[2]!, only[1]].map((h) => wrap(h));
        expectExact(onlyGb.dataSync(), fullGb.dataSync(), 'λ');
        for (const t of [fullGA, fullGb, fullGy0, onlyGb]) t.dispose();
      });
    }
  });

  test('float32 gradients agree with float64', () => {
    const c: Case = { T: 9, B: 2, n: 3, diagonal: false };
    const { A, b, y0 } = operands(rng, c);
    const g = (dtype: DType) => tidy(() => {
      const At = tensor(A, aShape(c), { dtype, requiresGrad: true });
      const bt = tensor(b, [c.T, c.B, c.n], { dtype, requiresGrad: true });
      const y0t = tensor(y0, [c.B, c.n], { dtype, requiresGrad: true });
      antler.sum(antler.deer.scan(At, bt, y0t)).backward();
      return [At, bt, y0t].map((t: Tensor) => Float64Array.from(t.grad!.dataSync()));
    });
    const g32 = g('float32'), g64 = g('float64');
    for (let k = 0; k < 3; k++) expectClose(g32[k], g64[k], 1e-4, 1e-5, `input ${k}`);
  });
});

describe('deer.scan bad inputs', () => {
  const f64 = (shape: number[]) => antler.zeros(shape, { dtype: 'float64' });
  test('shapes', () => {
    expectAntlerError(() => antler.deer.scan(f64([3, 2]), f64([3, 2, 1]), f64([2, 1])), 'SHAPE_MISMATCH', /A has shape \[3, ?2\].*\[T, B, n, n\]/);
    expectAntlerError(() => antler.deer.scan(f64([3, 2, 4, 5]), f64([3, 2, 4]), f64([2, 4])), 'SHAPE_MISMATCH', /square/);
    expectAntlerError(() => antler.deer.scan(f64([3, 2, 4, 4]), f64([3, 2, 5]), f64([2, 4])), 'SHAPE_MISMATCH', /b has shape/);
    expectAntlerError(() => antler.deer.scan(f64([3, 2, 4]), f64([3, 2, 4]), f64([1, 4])), 'SHAPE_MISMATCH', /y0 has shape/);
    expectAntlerError(() => antler.deer.scan(f64([3, 2, 0]), f64([3, 2, 0]), f64([2, 0])), 'SHAPE_MISMATCH', /n must be >= 1/);
  });
  test('dtypes', () => {
    expectAntlerError(() => antler.deer.scan(f64([3, 2, 4]), antler.zeros([3, 2, 4], { dtype: 'float32' }), f64([2, 4])), 'DTYPE_MISMATCH', /b has dtype float32 but A has float64/);
    expectAntlerError(() => antler.deer.scan(antler.zeros([3, 2, 4], { dtype: 'int32' }), antler.zeros([3, 2, 4], { dtype: 'int32' }), antler.zeros([2, 4], { dtype: 'int32' })), 'DTYPE_MISMATCH', /expected float32 or float64/);
  });
});

// ---------------------------------------------------------------- residual

describe(`the solver's fused residual (deerResidual) (seed ${SEED})`, () => {
  // The float64 reference per column b: max |y − f|, Σ (y − f)², max |f|, max (|y − f| − rtol·|f|) (NaN
  // anywhere makes the maxima NaN; an infinite f makes the excess NaN: such a step never passes).
  function residualRef(T: number, B: number, n: number, y: ArrayLike<number>, f: ArrayLike<number>, rtol: number) {
    const res = new Array<number>(B).fill(0), ss = new Array<number>(B).fill(0), scale = new Array<number>(B).fill(0);
    const excess = new Array<number>(B).fill(-Infinity);
    for (let t = 0; t < T; t++)
      for (let b = 0; b < B; b++)
        for (let i = 0; i < n; i++) {
          const k = (t * B + b) * n + i, d = y[k] - f[k];
          res[b] = Number.isNaN(res[b]) || Number.isNaN(d) ? NaN : Math.max(res[b], Math.abs(d));
          ss[b] += d * d;
          scale[b] = Number.isNaN(scale[b]) || Number.isNaN(f[k]) ? NaN : Math.max(scale[b], Math.abs(f[k]));
          const e = Number.isFinite(f[k]) && Number.isFinite(d) ? Math.abs(d) - rtol * Math.abs(f[k]) : NaN;
          excess[b] = Number.isNaN(excess[b]) || Number.isNaN(e) ? NaN : Math.max(excess[b], e);
        }
    return { res, ss, scale, excess };
  }
  const compute = (y: Tensor, f: Tensor, rtol = 0.5) => residuals(y, f, rtol);

  // [2000, 8, 4] has enough values (64,000) for the CPU's OpenMP loop over columns.
  test.each([[1, 1, 1], [7, 3, 4], [1000, 2, 3], [40, 17, 33], [2000, 8, 4]])('T=%i B=%i n=%i: float64 equals the reference, float32 to its rounding', (T, B, n) => {
    const y = randomArray(rng, T * B * n, -3, 3), f = randomArray(rng, T * B * n, -3, 3);
    const rtol = rng.uniform(0, 2);
    const ref = residualRef(T, B, n, y, f, rtol);
    for (const dtype of ['float64', 'float32'] as const) {
      const got = tidy(() => compute(tensor(y, [T, B, n], { dtype }), tensor(f, [T, B, n], { dtype }), rtol));
      if (dtype === 'float64') {
        // The maxima are exact; the sums of squares differ only by the order of the additions; the
        // excess by the rounding of |d| − rtol·|f| (a fused multiply-add or not).
        expectExact(got.res, ref.res);
        expectExact(got.scale, ref.scale);
        expectClose(got.ss, ref.ss, 1e-13, 0, "ss");
        expectClose(got.excess, ref.excess, 0, 1e-14, 'excess');
      } else {
        // Inputs rounded to float32; the differences and the sums are taken in double, then rounded once.
        const y32 = Float32Array.from(y), f32 = Float32Array.from(f);
        const ref32 = residualRef(T, B, n, y32, f32, rtol);
        expectExact(got.res, ref32.res.map(Math.fround));
        expectExact(got.scale, ref32.scale.map(Math.fround));
        expectClose(got.ss, ref32.ss, 1e-6, 0, "ss float32");
        expectClose(got.excess, ref32.excess, 0, 1e-6, 'excess float32');
      }
    }
  });

  test('a NaN in y or f makes that column NaN (read as divergence); an infinite value gives an infinite residual', () => {
    const T = 5, B = 4, n = 3;
    const y = randomArray(rng, T * B * n), f = randomArray(rng, T * B * n);
    y[(2 * B + 1) * n + 2] = NaN; // column 1: NaN in y
    f[(4 * B + 2) * n] = NaN; // column 2: NaN in f
    f[(0 * B + 3) * n + 1] = Infinity; // column 3: an infinite f
    const got = tidy(() => compute(tensor(y, [T, B, n], { dtype: 'float64' }), tensor(f, [T, B, n], { dtype: 'float64' })));
    const ref = residualRef(T, B, n, y, f, 0.5);
    expect(Number.isFinite(got.res[0]) && Number.isFinite(got.scale[0]) && Number.isFinite(got.excess[0])).toBe(true);
    for (const b of [1, 2, 3]) expect(got.excess[b]).toBeNaN();
    for (const b of [0, 1, 2, 3]) expect(converged(got, b, 1e9)).toBe(b === 0);
    expect(got.res[1]).toBeNaN();
    expect(got.scale[1]).toBe(ref.scale[1]);
    expect(got.res[2]).toBeNaN();
    expect(got.scale[2]).toBeNaN();
    expect(got.res[3]).toBe(Infinity);
    expect(got.scale[3]).toBe(Infinity);
    expectExact([got.res[0], got.scale[0]], [ref.res[0], ref.scale[0]]);
  });

  // n >= 8: the CPU takes each row's first n − n % 8 entries in eight running lanes (native/cpu/scan.cpp,
  // residualTyped), the rest through the shared kernel: NaN and infinity in a lane and in the tail, and a
  // column whose every excess is negative (the lanes' excess maximum starts at −∞, not 0).
  test('n = 8 and 11 (the CPU\'s lanes and tail): NaN, infinity and an all-negative excess per column', () => {
    for (const n of [8, 11]) {
      const T = 6, B = 6, rtol = 0.5;
      const y = randomArray(rng, T * B * n, -3, 3), f = randomArray(rng, T * B * n, -3, 3);
      const at = (t: number, b: number, i: number) => (t * B + b) * n + i;
      y[at(3, 1, 2)] = NaN; // column 1: NaN in y, in a lane
      f[at(4, 2, n - 1)] = NaN; // column 2: NaN in f, in the tail (n = 11) or the last lane (n = 8)
      f[at(0, 3, 5)] = Infinity; // column 3: an infinite f in a lane
      y[at(5, 4, 0)] = -Infinity; // column 4: an infinite y
      // Column 5: y within 10% of f and |f| >= 1, so every |y − f| − rtol·|f| < 0.
      for (let t = 0; t < T; t++)
        for (let i = 0; i < n; i++) {
          const v = rng.uniform(1, 3) * (rng.uniform(0, 1) < 0.5 ? -1 : 1);
          f[at(t, 5, i)] = v;
          y[at(t, 5, i)] = v * rng.uniform(0.9, 1.1);
        }
      const ref = residualRef(T, B, n, y, f, rtol);
      expect(ref.excess[5]).toBeLessThan(0);
      for (const dtype of ['float64', 'float32'] as const) {
        const got = tidy(() => compute(tensor(y, [T, B, n], { dtype }), tensor(f, [T, B, n], { dtype }), rtol));
        const r = dtype === 'float64' ? ref : residualRef(T, B, n, Float32Array.from(y), Float32Array.from(f), rtol);
        const what = `n = ${n} ${dtype}`;
        const tol = dtype === 'float64' ? 1e-14 : 1e-6;
        for (let b = 0; b < B; b++) {
          for (const key of ['res', 'scale', 'excess'] as const) {
            const want = dtype === 'float64' ? r[key][b] : Math.fround(r[key][b]);
            // An infinite y makes |y − f| − rtol·|f| infinite natively (kernels/residual.h), NaN in the reference: neither passes.
            if (b === 4 && key === 'excess') expect(Number.isNaN(got.excess[b]) || got.excess[b] === Infinity).toBe(true);
            else if (!Number.isFinite(want)) expect({ what, b, key, v: got[key][b] }).toEqual({ what, b, key, v: want });
            else expect(Math.abs(got[key][b] - want)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));
          }
          if (Number.isFinite(r.ss[b])) expectClose([got.ss[b]], [r.ss[b]], tol, 0, `${what} ss ${b}`);
          expect(converged(got, b, 1e9)).toBe(b === 0 || b === 5);
        }
      }
    }
  });

  test('T = 0 or n = 0 gives zeros; B = 0 gives nothing', () => {
    tidy(() => {
      const z = (s: number[]) => antler.zeros(s, { dtype: 'float64' });
      expect(compute(z([0, 3, 2]), z([0, 3, 2]))).toEqual({ res: [0, 0, 0], ss: [0, 0, 0], scale: [0, 0, 0], excess: [0, 0, 0] });
      expect(compute(z([4, 2, 0]), z([4, 2, 0]))).toEqual({ res: [0, 0], ss: [0, 0], scale: [0, 0], excess: [0, 0] });
      expect(compute(z([4, 0, 2]), z([4, 0, 2]))).toEqual({ res: [], ss: [], scale: [], excess: [] });
    });
  });

  test('bad inputs', () => {
    const f64 = (shape: number[]) => antler.zeros(shape, { dtype: 'float64' });
    expectAntlerError(() => compute(f64([3, 2]), f64([3, 2])), 'SHAPE_MISMATCH', /y has shape \[3, ?2\]; expected \[T, B, n\]/);
    expectAntlerError(() => compute(f64([3, 2, 4]), f64([3, 2, 5])), 'SHAPE_MISMATCH', /f has shape/);
    expectAntlerError(() => compute(f64([3, 2, 4]), antler.zeros([3, 2, 4], { dtype: 'float32' })), 'DTYPE_MISMATCH', /f has dtype float32 but y has float64/);
    expectAntlerError(() => compute(antler.zeros([3, 2, 4], { dtype: 'int32' }), antler.zeros([3, 2, 4], { dtype: 'int32' })), 'DTYPE_MISMATCH', /expected float32 or float64/);
    for (const rtol of [-1, NaN, Infinity])
      expectAntlerError(() => compute(f64([3, 2, 4]), f64([3, 2, 4]), rtol), 'INVALID_ARGUMENT', /rtol is .*; expected a finite number >= 0/);
  });
});

// ---------------------------------------------------------------- ELK step

interface ElkCase { T: number; B: number; n: number }

/**
 * The float64 reference: the normal equations of
 *   Σ_t (y_t − a_t y_{t−1} − u_t)² + λ Σ_t (y_t − ŷ_t)²,  y_{−1} = y0,
 * for each (b, i) chain, a symmetric tridiagonal system solved by the Thomas
 * algorithm (stable: the matrix is positive definite).
 */
function elkRef(c: ElkCase, a: number[], u: number[], yhat: number[], y0: number[], lambda: number[]): Float64Array {
  const { T, B, n } = c;
  const y = new Float64Array(T * B * n);
  const at = (t: number, b: number, i: number) => (t * B + b) * n + i;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < n; i++) {
      const lam = lambda[b];
      const diag = new Float64Array(T), off = new Float64Array(T), rhs = new Float64Array(T);
      for (let t = 0; t < T; t++) {
        const next = t + 1 < T ? a[at(t + 1, b, i)] : 0;
        diag[t] = 1 + lam + next * next;
        off[t] = -next; // between t and t + 1
        rhs[t] = u[at(t, b, i)] + lam * yhat[at(t, b, i)] - (t + 1 < T ? next * u[at(t + 1, b, i)] : 0);
      }
      rhs[0] += a[at(0, b, i)] * y0[b * n + i];
      // Forward elimination, back substitution.
      const cp = new Float64Array(T), dp = new Float64Array(T);
      for (let t = 0; t < T; t++) {
        const m = diag[t] - (t > 0 ? off[t - 1] * cp[t - 1] : 0);
        cp[t] = off[t] / m;
        dp[t] = (rhs[t] - (t > 0 ? off[t - 1] * dp[t - 1] : 0)) / m;
      }
      let s = 0;
      for (let t = T - 1; t >= 0; t--) {
        s = dp[t] - (t + 1 < T ? cp[t] * s : 0);
        y[at(t, b, i)] = s;
      }
    }
  return y;
}

function elkOperands(r: Rng, c: ElkCase, lambdas: number[]) {
  const len = c.T * c.B * c.n;
  // |a| up to 1.5: the undamped recurrence may grow; the damped solve must not care.
  return { a: randomArray(r, len, -1.5, 1.5), u: randomArray(r, len), yhat: randomArray(r, len, -2, 2), y0: randomArray(r, c.B * c.n), lambda: lambdas };
}

function runElk(c: ElkCase, o: ReturnType<typeof elkOperands>, dtype: DType): Float64Array {
  return tidy(() => {
    const seq = [c.T, c.B, c.n];
    const y = antler.deer.elkStep(tensor(o.a, seq, { dtype }), tensor(o.u, seq, { dtype }), tensor(o.yhat, seq, { dtype }),
      tensor(o.y0, [c.B, c.n], { dtype }), tensor(o.lambda, [c.B], { dtype }));
    expect(y.shape).toEqual(seq);
    return Float64Array.from(y.dataSync());
  });
}

describe(`deer.elkStep: the Levenberg–Marquardt step as a Kalman smoother (seed ${SEED})`, () => {
  // T = 3000 with B·n = 1 takes the CPU's chunked three-phase path (fewer chains than threads).
  const cases: ElkCase[] = [{ T: 1, B: 1, n: 1 }, { T: 9, B: 3, n: 2 }, { T: 700, B: 2, n: 3 }, { T: 3000, B: 1, n: 1 }];
  for (const c of cases)
    test(`${JSON.stringify(c)}: equals the tridiagonal normal equations in float64 for λ from 0 to 1e6`, () => {
      const lambdas = Array.from({ length: c.B }, (_, b) => [0.37, 1e-3, 1e6][b % 3] * rng.uniform(1, 2));
      const o = elkOperands(rng, c, lambdas);
      // Shrink a for the λ ≈ 0 chains so the reference stays well scaled over long T.
      if (c.T > 100) o.a = o.a.map((v) => v * 0.6);
      const ref = elkRef(c, o.a, o.u, o.yhat, o.y0, o.lambda);
      expectClose(runElk(c, o, 'float64'), ref, 1e-11, 1e-11, 'y (float64)');
      expectClose(runElk(c, o, 'float32'), ref, 1e-4, 1e-4, 'y (float32)');
    });

  test('λ = 0 is the quasi-DEER step: deer.scan with the diagonal Jacobian', () => {
    const c = { T: 600, B: 3, n: 2 };
    const o = elkOperands(rng, c, [0, 0, 0]);
    o.a = o.a.map((v) => v * 0.6);
    const viaScan = runScan({ ...c, diagonal: true }, o.a, o.u, o.y0, 'float64');
    expectClose(runElk(c, o, 'float64'), viaScan, 1e-12, 1e-12, 'y');
  });

  test('a huge λ returns ŷ, and the step is a descent of the damped objective', () => {
    const c = { T: 50, B: 2, n: 2 };
    const o = elkOperands(rng, c, [1e12, 0.5]);
    const y = runElk(c, o, 'float64');
    const objective = (v: ArrayLike<number>, b: number) => {
      let s = 0;
      for (let i = 0; i < c.n; i++)
        for (let t = 0; t < c.T; t++) {
          const k = (t * c.B + b) * c.n + i;
          const prev = t === 0 ? o.y0[b * c.n + i] : v[((t - 1) * c.B + b) * c.n + i];
          s += (v[k] - o.a[k] * prev - o.u[k]) ** 2 + o.lambda[b] * (v[k] - o.yhat[k]) ** 2;
        }
      return s;
    };
    for (let k = 0; k < y.length; k++) if (Math.floor(k / c.n) % c.B === 0) expect(Math.abs(y[k] - o.yhat[k])).toBeLessThan(1e-9);
    // The minimiser: no random perturbation lowers the objective.
    const base = objective(y, 1);
    for (let trial = 0; trial < 5; trial++) {
      const z = Float64Array.from(y, (v) => v + 1e-4 * rng.uniform(-1, 1));
      expect(objective(z, 1)).toBeGreaterThan(base);
    }
  });

  test('bad inputs', () => {
    const f64 = (shape: number[]) => antler.zeros(shape, { dtype: 'float64' });
    const elk = antler.deer.elkStep;
    expectAntlerError(() => elk(f64([3, 2, 4, 5]), f64([3, 2, 4]), f64([3, 2, 4]), f64([2, 4]), f64([2])), 'SHAPE_MISMATCH', /a has shape \[3, 2, 4, 5\]; expected the diagonal Jacobian \[T, B, n\] or the dense Jacobian \[T, B, n, n\]/);
    expectAntlerError(() => elk(f64([3, 2]), f64([3, 2, 4]), f64([3, 2, 4]), f64([2, 4]), f64([2])), 'SHAPE_MISMATCH', /a has shape \[3, 2\]/);
    expectAntlerError(() => elk(f64([3, 2, 4, 4]), f64([3, 2, 3]), f64([3, 2, 4]), f64([2, 4]), f64([2])), 'SHAPE_MISMATCH', /u has shape \[3, 2, 3\]; expected \[T, B, n\]/);
    expectAntlerError(() => elk(f64([3, 2, 4, 4]), f64([3, 2, 4]), f64([3, 2, 4]), f64([2, 3]), f64([2])), 'SHAPE_MISMATCH', /y0 has shape \[2, 3\]; expected \[B, n\]/);
    for (const bad of [-0.5, Infinity, NaN])
      expectAntlerError(() => elk(f64([3, 2, 4]), f64([3, 2, 4]), f64([3, 2, 4]), f64([2, 4]), tensor([0.3, bad], [2], { dtype: 'float64' })), 'INVALID_ARGUMENT', new RegExp(`lambda\\[1\\] is ${bad}; expected finite values >= 0`));
    expectAntlerError(() => elk(f64([3, 2, 4]), f64([3, 2, 5]), f64([3, 2, 4]), f64([2, 4]), f64([2])), 'SHAPE_MISMATCH', /u has shape/);
    expectAntlerError(() => elk(f64([3, 2, 4]), f64([3, 2, 4]), f64([3, 1, 4]), f64([2, 4]), f64([2])), 'SHAPE_MISMATCH', /yhat has shape/);
    expectAntlerError(() => elk(f64([3, 2, 4]), f64([3, 2, 4]), f64([3, 2, 4]), f64([2, 4]), f64([3])), 'SHAPE_MISMATCH', /lambda has shape \[3\]; expected \[B\]/);
    expectAntlerError(() => elk(f64([3, 2, 4]), f64([3, 2, 4]), f64([3, 2, 4]), antler.zeros([2, 4]), f64([2])), 'DTYPE_MISMATCH', /y0 has dtype float32 but a has float64/);
  });
});

// ---------------------------------------------------------------- dense ELK step

/** Solves M X = R (M n×n, R n×k, row-major) by Gaussian elimination with partial pivoting, in float64. */
function solveDense(n: number, M: Float64Array, R: Float64Array, k: number): Float64Array {
  const a = Float64Array.from(M), x = Float64Array.from(R);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    for (let j = 0; j < n; j++) [a[c * n + j], a[p * n + j]] = [a[p * n + j], a[c * n + j]];
    for (let j = 0; j < k; j++) [x[c * k + j], x[p * k + j]] = [x[p * k + j], x[c * k + j]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c] / a[c * n + c];
      for (let j = 0; j < n; j++) a[r * n + j] -= f * a[c * n + j];
      for (let j = 0; j < k; j++) x[r * k + j] -= f * x[c * k + j];
    }
  }
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) x[r * k + j] /= a[r * n + r];
  return x;
}

/**
 * The float64 reference of the dense step: the normal equations of
 *   Σ_t ‖y_t − F_t y_{t−1} − u_t‖² + λ Σ_t ‖y_t − ŷ_t‖²,  y_{−1} = y0,
 * per batch element a block-tridiagonal system (diagonal blocks (1+λ)I +
 * F_{t+1}ᵀF_{t+1}, off-diagonal −F_t below and −F_{t+1}ᵀ above) solved by
 * block Gaussian elimination; no Kalman filter involved.
 */
function elkDenseRef(c: ElkCase, F: number[], u: number[], yhat: number[], y0: number[], lambda: number[]): Float64Array {
  const { T, B, n } = c;
  const nn = n * n;
  const y = new Float64Array(T * B * n);
  const Fat = (t: number, b: number) => F.slice((t * B + b) * nn, (t * B + b + 1) * nn);
  const vAt = (v: number[], t: number, b: number) => v.slice((t * B + b) * n, (t * B + b + 1) * n);
  const matVec = (M: ArrayLike<number>, v: ArrayLike<number>, trans: boolean) =>
    Array.from({ length: n }, (_, i) => { let s = 0; for (let j = 0; j < n; j++) s += (trans ? M[j * n + i] : M[i * n + j]) * v[j]; return s; });
  for (let b = 0; b < B; b++) {
    const lam = lambda[b];
    const Cp: Float64Array[] = [], dp: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      // Row t: L_t y_{t−1} + D_t y_t + U_t y_{t+1} = r_t with L_t = −F_t, U_t = −F_{t+1}ᵀ.
      const D = new Float64Array(nn);
      for (let i = 0; i < n; i++) D[i * n + i] = 1 + lam;
      const r = vAt(u, t, b).map((v, i) => v + lam * yhat[(t * B + b) * n + i]);
      let U: Float64Array | null = null;
      if (t + 1 < T) {
        const Fn = Fat(t + 1, b);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { let s = 0; for (let k = 0; k < n; k++) s += Fn[k * n + i] * Fn[k * n + j]; D[i * n + j] += s; }
        const ftu = matVec(Fn, vAt(u, t + 1, b), true);
        for (let i = 0; i < n; i++) r[i] -= ftu[i];
        U = new Float64Array(nn);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) U[i * n + j] = -Fn[j * n + i];
      }
      if (t === 0) {
        const fy = matVec(Fat(0, b), y0.slice(b * n, (b + 1) * n), false);
        for (let i = 0; i < n; i++) r[i] += fy[i];
      } else {
        // Eliminate L_t = −F_t against the previous row: D −= L C'_{t−1}, r −= L d'_{t−1}.
        const L = Fat(t, b).map((v) => -v);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) { let s = 0; for (let k = 0; k < n; k++) s += L[i * n + k] * Cp[t - 1][k * n + j]; D[i * n + j] -= s; }
          let s = 0; for (let k = 0; k < n; k++) s += L[i * n + k] * dp[t - 1][k];
          r[i] -= s;
        }
      }
      Cp.push(U ? solveDense(n, D, U, n) : new Float64Array(nn));
      dp.push(solveDense(n, D, Float64Array.from(r), 1));
    }
    let next = dp[T - 1];
    y.set(next, ((T - 1) * B + b) * n);
    for (let t = T - 2; t >= 0; t--) {
      const cy = matVec(Cp[t], next, false);
      next = dp[t].map((v, i) => v - cy[i]);
      y.set(next, (t * B + b) * n);
    }
  }
  return y;
}

function elkDenseOperands(r: Rng, c: ElkCase, lambdas: number[], scale: number) {
  const len = c.T * c.B * c.n;
  return {
    a: randomArray(r, len * c.n, -scale, scale).map((v) => v / Math.sqrt(c.n)), u: randomArray(r, len), yhat: randomArray(r, len, -2, 2),
    y0: randomArray(r, c.B * c.n), lambda: lambdas,
  };
}

function runElkDense(c: ElkCase, o: ReturnType<typeof elkDenseOperands>, dtype: DType): Float64Array {
  return tidy(() => {
    const seq = [c.T, c.B, c.n];
    const y = antler.deer.elkStep(tensor(o.a, [...seq, c.n], { dtype }), tensor(o.u, seq, { dtype }), tensor(o.yhat, seq, { dtype }),
      tensor(o.y0, [c.B, c.n], { dtype }), tensor(o.lambda, [c.B], { dtype }));
    expect(y.shape).toEqual(seq);
    return Float64Array.from(y.dataSync());
  });
}

describe(`deer.elkStep with the dense Jacobian: the damped Newton step (seed ${SEED})`, () => {
  // T = 1500, B = 1, n = 3 takes the CPU's chunked three-phase path (fewer batch elements than threads,
  // T·n³ large enough for threads) when there are 2 or more threads.
  const cases: ElkCase[] = [{ T: 1, B: 1, n: 1 }, { T: 9, B: 3, n: 2 }, { T: 40, B: 2, n: 5 }, { T: 1500, B: 1, n: 3 }, { T: 600, B: 3, n: 4 }];
  for (const c of cases)
    test(`${JSON.stringify(c)}: equals the block-tridiagonal normal equations in float64 for λ from 0 to 1e6`, () => {
      const lambdas = Array.from({ length: c.B }, (_, b) => [0.37, 1e-3, 1e6][b % 3] * rng.uniform(1, 2));
      // ‖F‖ up to about 1.5 on short sequences (the undamped recurrence may grow); smaller on long ones.
      const o = elkDenseOperands(rng, c, lambdas, c.T > 100 ? 0.6 : 1.5);
      const ref = elkDenseRef(c, o.a, o.u, o.yhat, o.y0, o.lambda);
      expectClose(runElkDense(c, o, 'float64'), ref, 1e-10, 1e-10, 'y (float64)');
      expectClose(runElkDense(c, o, 'float32'), ref, 2e-4, 2e-4, 'y (float32)');
    });

  test('λ = 0 is the Newton step: deer.scan with the dense Jacobian', () => {
    const c = { T: 1300, B: 1, n: 3 };
    const o = elkDenseOperands(rng, c, [0], 0.6);
    const viaScan = runScan({ ...c, diagonal: false }, o.a, o.u, o.y0, 'float64');
    expectClose(runElkDense(c, o, 'float64'), viaScan, 1e-11, 1e-11, 'y');
  });

  test('a diagonal F gives the quasi-ELK step', () => {
    const c = { T: 30, B: 2, n: 3 };
    const diag = elkOperands(rng, c, [0.8, 40]);
    const F = new Array<number>(c.T * c.B * c.n * c.n).fill(0);
    diag.a.forEach((v, k) => (F[k * c.n + (k % c.n)] = v));
    expectClose(runElkDense(c, { ...diag, a: F }, 'float64'), runElk(c, diag, 'float64'), 1e-12, 1e-12, 'y');
  });
});

// ---------------------------------------------------------------- chunked paths with more threads

/**
 * The CPU cuts a scan into chunks when there are fewer batch elements (ELK:
 * chains) than threads and T >= 512 (native/cpu/scan.cpp, elk.cpp): chunk
 * count ⌈threads / B⌉. With the two threads of a small machine that is at
 * most two chunks and only for B = 1, so the middle chunks' carries (phase 2
 * over three or more summaries), the batch stride of the chunk starts and a
 * short last chunk (T not a multiple of the chunk length) are only reached
 * with more threads. A carry only shows across chunks of 100+ steps when the
 * recurrence forgets slowly, so the transitions here are near 1 (|A| in
 * [0.97, 1], F near the identity, ELK's λ small: the smoother's gain
 * P a/(a²P + 1) near 1 too). Each case is checked against the same float64
 * references as above: the sequential loop, the tridiagonal and the
 * block-tridiagonal normal equations.
 */
describe(`chunked scans and ELK steps with more threads than cores (seed ${SEED})`, () => {
  // T = 1001: with 6 threads, B = 1 gives 6 chunks of 167 (the last 166), B = 2 three of 334 (the last 333);
  // with 3 threads, B = 1 three chunks, B = 2 two.
  const T = 1001;
  const withThreads = <R>(threads: number, body: () => R): R => {
    const original = antler.backends().cpu.threads;
    antler.setNumThreads(threads);
    try {
      return body();
    } finally {
      antler.setNumThreads(original);
    }
  };
  const THREADS = [3, 6];
  // Transitions that forget slowly: diagonal entries ±[0.97, 1]; dense 0.985·I plus a non-symmetric part of norm <= 0.015.
  const slowA = (n: number, steps: number, diagonal: boolean): number[] => {
    const out: number[] = [];
    for (let s = 0; s < steps; s++)
      for (let i = 0; i < n; i++) {
        if (diagonal) out.push(rng.uniform(0.97, 1) * (rng.uniform(0, 1) < 0.2 ? -1 : 1));
        else for (let j = 0; j < n; j++) out.push((i === j ? 0.985 : 0) + rng.uniform(-0.015, 0.015) / n);
      }
    return out;
  };

  test.each([false, true])('deer.scan (diagonal %s): T = 1001, B = 1 and 2, float64 and float32, equals the sequential loop', (diagonal) => {
    for (const threads of THREADS)
      for (const B of [1, 2]) {
        const c: Case = { T, B, n: 3, diagonal };
        const { b, y0 } = operands(rng, c);
        const A = slowA(c.n, T * B, diagonal);
        const what = `${threads} threads, B = ${B}`;
        withThreads(threads, () => {
          expectClose(runScan(c, A, b, y0, 'float64'), scanRef(c, A, b, y0), 1e-11, 1e-11, `${what} float64`);
          const r = (xs: number[]) => Array.from(Float32Array.from(xs));
          const [A32, b32, y032] = [r(A), r(b), r(y0)];
          expectClose(runScan(c, A32, b32, y032, 'float32'), scanRef(c, A32, b32, y032), 1e-4, 1e-4, `${what} float32`);
        });
      }
  });

  test('deer.elkStep, diagonal Jacobian: T = 1001 with one and two chains equals the tridiagonal normal equations', () => {
    for (const threads of THREADS)
      for (const B of [1, 2]) {
        const c: ElkCase = { T, B, n: 1 };
        const lambdas = Array.from({ length: B }, (_, b) => [1e-4, 0.37][b % 2] * rng.uniform(1, 2));
        const o = { ...elkOperands(rng, c, lambdas), a: slowA(1, T * B, true) };
        const ref = elkRef(c, o.a, o.u, o.yhat, o.y0, o.lambda);
        withThreads(threads, () => expectClose(runElk(c, o, 'float64'), ref, 1e-10, 1e-10, `${threads} threads ${JSON.stringify(c)}`));
      }
  });

  // The dense step chunks only when T·B·n³ >= 32768 (native/cpu/elk.cpp): n = 4 for B = 1, n = 3 for B = 2.
  test('deer.elkStep, dense Jacobian: T = 1001, B = 1 (n = 4) and 2 (n = 3) equals the block-tridiagonal normal equations', () => {
    for (const threads of THREADS)
      for (const B of [1, 2]) {
        const c: ElkCase = { T, B, n: B === 1 ? 4 : 3 };
        const lambdas = Array.from({ length: B }, (_, b) => [1e-4, 0.37][b % 2] * rng.uniform(1, 2));
        const o = { ...elkDenseOperands(rng, c, lambdas, 0.6), a: slowA(c.n, T * B, false) };
        const ref = elkDenseRef(c, o.a, o.u, o.yhat, o.y0, o.lambda);
        withThreads(threads, () => expectClose(runElkDense(c, o, 'float64'), ref, 1e-10, 1e-10, `${threads} threads ${JSON.stringify(c)}`));
      }
  });
});
