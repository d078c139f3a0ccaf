/**
 * DEER for ODEs: deer.expm (against a float64 Taylor series with scaling and
 * squaring written here, a closed form, and central finite differences of its
 * gradient), deer.solveIVP (a linear ODE exact at the grid points; a nonlinear
 * MLP field against classical RK4 written here in float64 on a fine grid, with
 * second-order convergence of the solution and of every gradient; inputs x
 * against the same RK4 on the same grid; decreasing grids; per-sequence
 * convergence; fallback, divergence and strict mode), nn.NeuralODE (its
 * parameters, training, warm starts), and bad inputs.
 */
import * as antler from '../../lib';
import { noGrad, tensor, Tensor, tidy } from '../../lib';
import { expm, solveIVP } from '../../lib/deer';
import { setMaxStackedRows } from '../../lib/deer/ode';
import type { OdeFunc } from '../../lib/deer';
import { Linear, Module, NeuralODE, Sequential, Tanh } from '../../lib/nn';
import { expectAntlerErrorInTidy as expectAntlerError, expectClose, expectNoTensorLeaks, makeRng, randomArray, Rng } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;
antler.setSeed(rng.u32());
expectNoTensorLeaks();

type Dt = 'float32' | 'float64';
const make = (values: ArrayLike<number>, shape: number[], dtype: Dt = 'float64', requiresGrad = false) =>
  tensor(dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values), shape, { dtype, requiresGrad });
const maxAbsOf = (v: ArrayLike<number>) => Array.from(v).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

// ---------------------------------------------------------------- float64 references

function mm(a: ArrayLike<number>, b: ArrayLike<number>, m: number): Float64Array {
  const c = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let k = 0; k < m; k++) for (let j = 0; j < m; j++) c[i * m + j] += a[i * m + k] * b[k * m + j];
  return c;
}

/** exp(A) by 30 Taylor terms after scaling ‖A‖ below 1/16, then squaring. */
function expmRef(A: ArrayLike<number>, m: number): Float64Array {
  let norm = 0;
  for (let j = 0; j < m; j++) {
    let c = 0;
    for (let i = 0; i < m; i++) c += Math.abs(A[i * m + j]);
    norm = Math.max(norm, c);
  }
  const s = Math.max(0, Math.ceil(Math.log2(norm * 16 + 1e-300)));
  const X = Array.from(A, (v) => v / 2 ** s);
  let E: Float64Array = new Float64Array(m * m), term: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) E[i * m + i] = term[i * m + i] = 1;
  for (let k = 1; k <= 30; k++) {
    term = mm(term, X, m).map((v) => v / k);
    E = E.map((v, i) => v + term[i]);
  }
  for (let i = 0; i < s; i++) E = mm(E, E, m);
  return E;
}

/** The test's vector field: f(t, y, x) = W2 tanh(W1 y + U x + b1 + c t) − 0.1 y. */
interface Field {
  n: number; H: number; m: number;
  W1: number[]; b1: number[]; W2: number[]; U: number[]; c: number[];
}

function makeField(r: Rng, n: number, H: number, m: number): Field {
  return {
    n, H, m,
    W1: randomArray(r, H * n, -1, 1).map((v) => (v * 1.2) / Math.sqrt(n)),
    b1: randomArray(r, H, -0.3, 0.3),
    W2: randomArray(r, n * H, -1, 1).map((v) => (v * 1.2) / Math.sqrt(H)),
    U: randomArray(r, H * m, -1, 1),
    c: randomArray(r, H, -0.2, 0.2),
  };
}

function fieldRef(F: Field, t: number, y: ArrayLike<number>, x: ArrayLike<number> | null): number[] {
  const { n, H, m } = F;
  const out = Array.from(y, (v) => -0.1 * v);
  for (let h = 0; h < H; h++) {
    let a = F.b1[h] + F.c[h] * t;
    for (let j = 0; j < n; j++) a += F.W1[h * n + j] * y[j];
    if (x) for (let j = 0; j < m; j++) a += F.U[h * m + j] * x[j];
    const th = Math.tanh(a);
    for (let i = 0; i < n; i++) out[i] += F.W2[i * H + h] * th;
  }
  return out;
}

/**
 * Classical RK4 in float64 over `grid`, one batch element: x(i, s) is the
 * input at grid step i and fraction s ∈ {0, ½, 1} of the step. Returns the
 * states at every grid point, [T + 1][n].
 */
function rk4Ref(F: Field, y0: number[], grid: number[], x: ((i: number, s: number) => number[]) | null): number[][] {
  const out = [y0.slice()];
  let y = y0.slice();
  for (let i = 0; i + 1 < grid.length; i++) {
    const t = grid[i], h = grid[i + 1] - grid[i];
    const xs = (s: number) => (x ? x(i, s) : null);
    const k1 = fieldRef(F, t, y, xs(0));
    const k2 = fieldRef(F, t + h / 2, y.map((v, j) => v + (h / 2) * k1[j]), xs(0.5));
    const k3 = fieldRef(F, t + h / 2, y.map((v, j) => v + (h / 2) * k2[j]), xs(0.5));
    const k4 = fieldRef(F, t + h, y.map((v, j) => v + h * k3[j]), xs(1));
    y = y.map((v, j) => v + (h / 6) * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]));
    out.push(y);
  }
  return out;
}

/** The field as antler tensors (parameters with requiresGrad) and an OdeFunc over them. */
function fieldTensors(F: Field, dtype: Dt, withX: boolean) {
  const W1 = make(F.W1, [F.H, F.n], dtype, true), b1 = make(F.b1, [F.H], dtype, true);
  const W2 = make(F.W2, [F.n, F.H], dtype, true), c = make(F.c, [F.H], dtype, true);
  const U = make(F.U, [F.H, F.m], dtype, true);
  const f: OdeFunc = (t, y, x) =>
    tidy(() => {
      let a = antler.add(antler.add(antler.matmul(y, W1, { transposeB: true }), b1), antler.mul(t, c));
      if (withX && x) a = antler.add(a, antler.matmul(x, U, { transposeB: true }));
      return antler.sub(antler.matmul(antler.tanh(a), W2, { transposeB: true }), antler.mul(y, 0.1));
    });
  const params = withX ? [W1, b1, W2, c, U] : [W1, b1, W2, c];
  return { f, params, dispose: () => [W1, b1, W2, c, U].forEach((p) => p.dispose()) };
}

const uniformGrid = (T: number, t1: number, t0 = 0) => Array.from({ length: T + 1 }, (_, i) => t0 + ((t1 - t0) * i) / T);

// ---------------------------------------------------------------- expm

describe(`deer.expm (seed ${SEED})`, () => {
  test('float64 and float32 against a Taylor series with scaling and squaring, over sizes and norms', () => {
    for (const m of [1, 2, 3, 5, 8, 13]) {
      for (const scale of [1e-3, 0.1, 1, 4, 12, 40]) {
        const count = rng.int(1, 3);
        const vals = randomArray(rng, count * m * m).map((v) => (v * scale) / Math.sqrt(m));
        const refs = Array.from({ length: count }, (_, i) => expmRef(vals.slice(i * m * m, (i + 1) * m * m), m));
        for (const dtype of ['float64', 'float32'] as const) {
          if (dtype === 'float32' && scale > 12) continue; // e^40 needs more than float32's 24 bits to square accurately
          const E = tidy(() => expm(make(vals, [count, m, m], dtype)).dataSync());
          for (let i = 0; i < count; i++) {
            const ref = refs[i];
            const scaleOf = maxAbsOf(ref);
            const got = E.subarray(i * m * m, (i + 1) * m * m);
            // Rounding grows with the norm through the squarings: the bound is a multiple of u·‖A‖₁.
            let norm = 0;
            for (let j = 0; j < m; j++) {
              let c = 0;
              for (let r = 0; r < m; r++) c += Math.abs(vals[i * m * m + r * m + j]);
              norm = Math.max(norm, c);
            }
            const err = maxDiff(got, ref) / scaleOf;
            const bound = (dtype === 'float64' ? 5e-14 : 2e-6) * Math.max(1, norm);
            if (!(err <= bound)) throw new Error(`expm ${dtype} m=${m} scale=${scale}: relative error ${err} > ${bound} (seed ${SEED})`);
          }
        }
      }
    }
  });

  test('closed forms: a rotation generator, a nilpotent matrix, a diagonal one; leading batch dims', () => {
    const th = rng.uniform(-20, 20);
    const R = tidy(() => expm(make([0, -th, th, 0], [2, 2])).dataSync());
    expectClose(R, [Math.cos(th), -Math.sin(th), Math.sin(th), Math.cos(th)], 0, 1e-12, 'rotation');
    const a = rng.uniform(-3, 3), b = rng.uniform(-3, 3), c = rng.uniform(-3, 3);
    // N strictly upper triangular: exp(N) = I + N + N²/2.
    const N = tidy(() => expm(make([0, a, b, 0, 0, c, 0, 0, 0], [3, 3])).dataSync());
    expectClose(N, [1, a, b + (a * c) / 2, 0, 1, c, 0, 0, 1], 1e-14, 1e-14, 'nilpotent');
    const d = randomArray(rng, 2 * 3 * 4, -5, 5);
    const diag = new Array(2 * 3 * 16).fill(0);
    for (let k = 0; k < 6; k++) for (let i = 0; i < 4; i++) diag[k * 16 + i * 5] = d[k * 4 + i];
    const D = tidy(() => expm(make(diag, [2, 3, 4, 4])));
    expect(D.shape).toEqual([2, 3, 4, 4]);
    const want = diag.map((v, j) => (j % 16) % 5 === 0 ? Math.exp(d[Math.floor(j / 16) * 4 + ((j % 16) / 5)]) : 0);
    expectClose(D.dataSync(), want, 1e-13, 0, 'diagonal');
    D.dispose();
  });

  test('rotations by multiples of π/8, half-turns (−I) and full turns included, and permuted or shifted copies: the Padé solve must pivot', () => {
    // exp([[0, −θ], [θ, 0]]) = [[cos θ, −sin θ], [sin θ, cos θ]]. At a half turn of the scaled matrix the
    // denominator's diagonal (the even part, ≈ cos(θ/2)) vanishes: only a pivoting solve gets −I there.
    for (let k = -64; k <= 64; k++) {
      const th = (k * Math.PI) / 8, c = Math.cos(th), s = Math.sin(th);
      const R = tidy(() => expm(make([0, -th, th, 0], [2, 2])).dataSync());
      expectClose(R, [c, -s, s, c], 0, 1e-13 * Math.max(1, Math.abs(th)), `rotation by ${k}π/8`);
      // The same generator with its rows and columns swapped, and plus a multiple of I (exp(A + μI) = e^μ exp(A)), in 3×3 with a 1×1 block.
      const mu = rng.uniform(-2, 2), e = Math.exp(mu), z = rng.uniform(-1, 1);
      const B = tidy(() => expm(make([z, 0, 0, 0, mu, th, 0, -th, mu], [3, 3])).dataSync());
      expectClose(B, [Math.exp(z), 0, 0, 0, e * c, e * s, 0, -e * s, e * c], 0, 1e-13 * e * Math.max(1, Math.abs(th)), `block rotation by ${k}π/8, shift ${mu}`);
    }
  });

  test('float32 at every 1-norm up to 12 in steps of ¼ (each Padé degree up to its bound, then the scaled ones): within 2e-6·max(1, ‖A‖₁) of float64', () => {
    // The random norms of the test above rarely land near a degree's bound, where a bound set too high shows.
    for (let q = 1; q <= 48; q++) {
      const target = q / 4;
      for (let trial = 0; trial < 3; trial++) {
        const m = trial === 0 ? 1 : rng.int(2, 6);
        let v = randomArray(rng, m * m);
        let norm = 0;
        for (let j = 0; j < m; j++) {
          let c = 0;
          for (let i = 0; i < m; i++) c += Math.abs(v[i * m + j]);
          norm = Math.max(norm, c);
        }
        v = v.map((x) => Math.fround((x * target) / norm));
        const ref = expmRef(v, m);
        const got = tidy(() => expm(make(v, [m, m], 'float32')).dataSync());
        const err = maxDiff(got, ref) / maxAbsOf(ref);
        if (!(err <= 2e-6 * Math.max(1, target))) throw new Error(`expm float32 m=${m} ‖A‖₁=${target}: relative error ${err} (seed ${SEED})`);
      }
    }
    // Scalars on a grid of 1/64 (exact in float32): exp(x).
    for (let k = -768; k <= 768; k++) {
      const x = k / 64, want = Math.exp(x);
      const got = tidy(() => expm(make([x], [1, 1], 'float32')).item());
      if (!(Math.abs(got - want) <= 2e-6 * Math.max(1, Math.abs(x)) * want)) throw new Error(`expm float32 of [[${x}]]: ${got}, want ${want}`);
    }
  });

  test('a batch of 300 matrices (more than the CPU backend\'s blocks, 8 per thread, up to 37 threads): each is its own exponential', () => {
    const count = 300, m = 3;
    const vals = randomArray(rng, count * m * m, -1.5, 1.5);
    const E = tidy(() => expm(make(vals, [10, 30, m, m])).dataSync());
    for (let i = 0; i < count; i++) {
      const ref = expmRef(vals.slice(i * m * m, (i + 1) * m * m), m);
      expectClose(E.subarray(i * m * m, (i + 1) * m * m), ref, 1e-12, 1e-13, `matrix ${i} of ${count}`);
    }
  });

  test('a non-finite entry gives NaN for that matrix only', () => {
    const E = tidy(() => expm(make([1, NaN, 0, 1, 0.5, 0, 0, 0.5], [2, 2, 2])).dataSync());
    expect(Array.from(E.subarray(0, 4)).every(Number.isNaN)).toBe(true);
    expectClose(E.subarray(4), [Math.exp(0.5), 0, 0, Math.exp(0.5)], 1e-14, 0);
    // ±∞, and finite entries of an exponential that overflows (a column sum past 1e300), give NaN too: the DEER
    // solver reads it as divergence.
    for (const dtype of ['float64', 'float32'] as const) {
      const big = dtype === 'float64' ? [1e300, 0, 1e300, 1] : [Infinity, 0, 0, 1];
      const F = tidy(() => expm(make([...big, 0, -Infinity, 0, 0, 0.5, 0, 0, 0.5], [3, 2, 2], dtype)).dataSync());
      expect({ dtype, nan: Array.from(F.subarray(0, 8)).map(Number.isNaN) }).toEqual({ dtype, nan: new Array(8).fill(true) });
      expectClose(F.subarray(8), [Math.exp(0.5), 0, 0, Math.exp(0.5)], 1e-6, 0);
    }
  });

  test('gradient against central finite differences in float64', () => {
    for (const m of [1, 2, 4, 6]) {
      const vals = randomArray(rng, 2 * m * m, -1, 1).map((v) => (v * rng.uniform(0.2, 3)) / Math.sqrt(m));
      const W = randomArray(rng, 2 * m * m);
      const loss = (v: number[]) => {
        let s = 0;
        for (let k = 0; k < 2; k++) {
          const E = expmRef(v.slice(k * m * m, (k + 1) * m * m), m);
          for (let i = 0; i < m * m; i++) s += W[k * m * m + i] * E[i];
        }
        return s;
      };
      const A = make(vals, [2, m, m], 'float64', true);
      tidy(() => antler.sum(antler.mul(expm(A), make(W, [2, m, m]))).backward());
      const g = Array.from(A.grad!.dataSync());
      A.dispose();
      const h = 1e-6;
      const fd = vals.map((_, i) => {
        const up = vals.slice(), dn = vals.slice();
        up[i] += h;
        dn[i] -= h;
        return (loss(up) - loss(dn)) / (2 * h);
      });
      expectClose(g, fd, 1e-7, 1e-7 * maxAbsOf(fd), `expm gradient m=${m} (seed ${SEED})`);
    }
  });

  test('bad inputs', () => {
    expectAntlerError(() => expm(make([1, 2, 3], [3])), 'SHAPE_MISMATCH', /square/);
    expectAntlerError(() => expm(make([1, 2, 3, 4, 5, 6], [2, 3])), 'SHAPE_MISMATCH', /\[2, 3\]/);
    expectAntlerError(() => expm(tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32' })), 'DTYPE_MISMATCH', /int32/);
    expectAntlerError(() => expm([1, 2] as unknown as Tensor), 'INVALID_ARGUMENT');
  });
});

// ---------------------------------------------------------------- solveIVP

describe(`deer.solveIVP (seed ${SEED})`, () => {
  test('a linear ODE with constant coefficients is exact at the grid points after one iteration, on a random non-uniform grid', () => {
    const n = rng.int(1, 5), B = rng.int(1, 3), T = rng.int(3, 30);
    const A = randomArray(rng, n * n, -1.5, 1.5), c = randomArray(rng, n);
    const y0v = randomArray(rng, B * n, -2, 2);
    const grid = [rng.uniform(-1, 1)];
    for (let i = 0; i < T; i++) grid.push(grid[i] + rng.uniform(0.05, 0.6));
    const At = make(A, [n, n]), ct = make(c, [n]);
    const f: OdeFunc = (_t, y) => antler.add(antler.matmul(y, At, { transposeB: true }), ct);
    const y0 = make(y0v, [B, n]);
    const { y, stats } = solveIVP(f, y0, grid);
    // y(t) = e^{A s} y0 + ψ(A s) c s with s = t − t_0: one exponential of [[A s, c s], [0, 0]].
    const want = new Float64Array((T + 1) * B * n);
    for (let i = 0; i <= T; i++) {
      const s = grid[i] - grid[0];
      const aug = new Array((n + 1) * (n + 1)).fill(0);
      for (let r = 0; r < n; r++) {
        for (let k = 0; k < n; k++) aug[r * (n + 1) + k] = A[r * n + k] * s;
        aug[r * (n + 1) + n] = c[r] * s;
      }
      const E = expmRef(aug, n + 1);
      for (let b = 0; b < B; b++)
        for (let r = 0; r < n; r++) {
          let v = E[r * (n + 1) + n];
          for (let k = 0; k < n; k++) v += E[r * (n + 1) + k] * y0v[b * n + k];
          want[(i * B + b) * n + r] = v;
        }
    }
    expectClose(y.dataSync(), want, 1e-10, 1e-10 * maxAbsOf(want), `linear ODE (seed ${SEED})`);
    // The first iteration is exact; the second confirms it (an update of rounding size).
    expect(stats.iterations).toBeLessThanOrEqual(2);
    expect(stats.converged.every(Boolean)).toBe(true);
    [y, y0, At, ct].forEach((t) => t.dispose());
  });

  test('a nonlinear MLP field: second-order convergence to RK4 on a fine grid, float64; float32 agrees to its precision', () => {
    const n = rng.int(2, 5), H = 12, B = 3, t1 = rng.uniform(2, 4);
    const F = makeField(rng, n, H, 1);
    const y0v = randomArray(rng, B * n, -1, 1);
    const fine = uniformGrid(3200, t1);
    const ref = Array.from({ length: B }, (_, b) => rk4Ref(F, y0v.slice(b * n, (b + 1) * n), fine, null));
    const errs: number[] = [];
    for (const T of [40, 80, 160]) {
      const ft = fieldTensors(F, 'float64', false);
      const y0 = make(y0v, [B, n]);
      const { y, stats } = solveIVP(ft.f, y0, uniformGrid(T, t1));
      y0.dispose();
      const v = y.dataSync();
      let err = 0, scale = 0;
      for (let i = 0; i <= T; i++)
        for (let b = 0; b < B; b++)
          for (let j = 0; j < n; j++) {
            const r = ref[b][(i * 3200) / T][j];
            err = Math.max(err, Math.abs(v[(i * B + b) * n + j] - r));
            scale = Math.max(scale, Math.abs(r));
          }
      errs.push(err / scale);
      expect(stats.converged.every(Boolean)).toBe(true);
      expect(stats.fallback).toBe(false);
      if (T === 80) {
        const ft32 = fieldTensors(F, 'float32', false);
        const y32 = tidy(() => solveIVP(ft32.f, make(y0v, [B, n], 'float32'), uniformGrid(T, t1)).y.dataSync());
        expect(maxDiff(y32, v) / scale).toBeLessThan(2e-4);
        ft32.dispose();
      }
      y.dispose();
      ft.dispose();
    }
    // Second order: halving Δ divides the error by about 4.
    const msg = `errors ${errs.map((e) => e.toExponential(2)).join(', ')} (seed ${SEED})`;
    expect([errs, msg][0][2]).toBeLessThan(2e-3);
    for (let k = 0; k + 1 < errs.length; k++) {
      const ratio = errs[k] / errs[k + 1];
      if (!(ratio > 3 && ratio < 5.5)) throw new Error(`convergence ratio ${ratio}: ${msg}`);
    }
  });

  test('gradients of y0 and of every parameter: second-order convergence to finite differences of the fine RK4', () => {
    const n = rng.int(2, 4), H = 10, B = 2, t1 = rng.uniform(1.5, 3);
    const F = makeField(rng, n, H, 1);
    const y0v = randomArray(rng, B * n, -1, 1);
    const wts = randomArray(rng, B * n);
    const fine = uniformGrid(1200, t1);
    // The loss Σ w ⊙ y(t1); its derivative along a random direction of (y0, W1, b1, W2, c) by central differences.
    const keys = ['W1', 'b1', 'W2', 'c'] as const;
    const dir = { y0: randomArray(rng, B * n), ...Object.fromEntries(keys.map((k) => [k, randomArray(rng, F[k].length)])) } as Record<string, number[]>;
    const lossAt = (eps: number) => {
      const G: Field = { ...F };
      for (const k of keys) G[k] = F[k].map((v, i) => v + eps * dir[k][i]);
      let s = 0;
      for (let b = 0; b < B; b++) {
        const y = rk4Ref(G, y0v.slice(b * n, (b + 1) * n).map((v, j) => v + eps * dir.y0[b * n + j]), fine, null);
        for (let j = 0; j < n; j++) s += wts[b * n + j] * y[y.length - 1][j];
      }
      return s;
    };
    const h = 1e-5;
    const want = (lossAt(h) - lossAt(-h)) / (2 * h);
    const errs: number[] = [];
    for (const T of [40, 80, 160]) {
      const ft = fieldTensors(F, 'float64', false);
      const y0 = make(y0v, [B, n], 'float64', true);
      tidy(() => {
        const { y } = solveIVP(ft.f, y0, uniformGrid(T, t1));
        antler.sum(antler.mul(antler.slice(y, [T, 0, 0], [1, B, n]).reshape([B, n]), make(wts, [B, n]))).backward();
      });
      // Relative to Σ|g_i d_i|, the size of the terms: the directional derivative itself may cancel to near 0.
      let got = 0, scale = 0;
      [y0, ...ft.params].forEach((p, k) => {
        const d = k === 0 ? dir.y0 : dir[keys[k - 1]];
        const g = p.grad!.dataSync();
        for (let i = 0; i < d.length; i++) (got += g[i] * d[i]), (scale += Math.abs(g[i] * d[i]));
      });
      errs.push(Math.abs(got - want) / scale);
      y0.dispose();
      ft.dispose();
    }
    const msg = `relative errors ${errs.map((e) => e.toExponential(2)).join(', ')} (seed ${SEED})`;
    if (!(errs[2] < 1e-4)) throw new Error(`gradient too far from the reference: ${msg}`);
    for (let k = 0; k + 1 < errs.length; k++) {
      const ratio = errs[k] / errs[k + 1];
      if (!(ratio > 2.5 && ratio < 6)) throw new Error(`gradient convergence ratio ${ratio}: ${msg}`);
    }
  });

  test("inputs x at the grid points: 'rk4' equals RK4 written here (midpoint inputs averaged) and its BPTT gradients equal finite differences; DEER agrees with both to O(Δ²)", () => {
    const n = rng.int(2, 4), H = 8, m = 2, B = 2, T = 240, t1 = rng.uniform(1, 2.5);
    const F = makeField(rng, n, H, m);
    const grid = uniformGrid(T, t1);
    const xv = Array.from({ length: (T + 1) * B * m }, (_, k) => Math.sin(3 * grid[Math.floor(k / (B * m))] + k % (B * m)));
    const y0v = randomArray(rng, B * n, -1, 1);
    const wts = randomArray(rng, (T + 1) * B * n);
    const xOf = (xs: number[], b: number) => (i: number, s: number) =>
      Array.from({ length: m }, (_, j) => {
        const a = xs[(i * B + b) * m + j], c = xs[((i + 1) * B + b) * m + j];
        return s === 0 ? a : s === 1 ? c : (a + c) / 2;
      });
    const lossRef = (xs: number[]) => {
      let s = 0;
      for (let b = 0; b < B; b++) {
        const y = rk4Ref(F, y0v.slice(b * n, (b + 1) * n), grid, xOf(xs, b));
        for (let i = 0; i <= T; i++) for (let j = 0; j < n; j++) s += wts[(i * B + b) * n + j] * y[i][j];
      }
      return s;
    };
    const dir = randomArray(rng, xv.length);
    const h = 1e-4;
    const want = (lossRef(xv.map((v, i) => v + h * dir[i])) - lossRef(xv.map((v, i) => v - h * dir[i]))) / (2 * h);
    const results: Record<string, { y: Float64Array; dx: number; gx: Float64Array }> = {};
    for (const method of ['rk4', 'deer'] as const) {
      const ft = fieldTensors(F, 'float64', true);
      const x = make(xv, [T + 1, B, m], 'float64', true);
      const yv = tidy(() => {
        const { y } = solveIVP(ft.f, make(y0v, [B, n]), grid, { method, x });
        antler.sum(antler.mul(y, make(wts, [T + 1, B, n]))).backward();
        return y.dataSync();
      });
      const g = x.grad!.dataSync();
      results[method] = { y: Float64Array.from(yv), dx: dir.reduce((s, d, i) => s + d * g[i], 0), gx: Float64Array.from(g) };
      x.dispose();
      ft.dispose();
    }
    const refY = new Float64Array((T + 1) * B * n);
    for (let b = 0; b < B; b++) rk4Ref(F, y0v.slice(b * n, (b + 1) * n), grid, xOf(xv, b)).forEach((row, i) => row.forEach((v, j) => (refY[(i * B + b) * n + j] = v)));
    expectClose(results.rk4.y, refY, 1e-12, 1e-12, 'rk4 forward');
    // A random direction's derivative is a sum of terms of both signs: errors are measured against Σ|terms|.
    const terms = dir.reduce((s, d, i) => s + Math.abs(d * results.rk4.gx[i]), 0);
    expect(Math.abs(results.rk4.dx - want) / terms).toBeLessThan(1e-7);
    const scale = maxAbsOf(refY);
    expect(maxDiff(results.deer.y, refY) / scale).toBeLessThan(5e-3);
    // DEER's O(Δ²) against RK4's O(Δ⁴): the input gradient's gap reached 7.5e-3 on one draw (seed 1853897861); a
    // wrong x-gradient is off by O(1).
    expect(maxDiff(results.deer.gx, results.rk4.gx) / maxAbsOf(results.rk4.gx)).toBeLessThan(2e-2);
  });

  test("'rk4' on a random non-uniform grid, increasing and decreasing, equals RK4 written here step by step", () =>
    tidy(() => {
      const n = rng.int(2, 4), B = 2, T = rng.int(6, 12);
      const F = makeField(rng, n, 6, 1);
      // Steps of very different lengths (0.05 to 0.5), so that a step taken with another's Δ or t is far off.
      const steps = randomArray(rng, T, 0.05, 0.5);
      const up = [rng.uniform(-1, 1)];
      for (const s of steps) up.push(up[up.length - 1] + s);
      const y0v = randomArray(rng, B * n, -1, 1);
      for (const grid of [up, up.slice().reverse()]) {
        const ft = fieldTensors(F, 'float64', false);
        const got = solveIVP(ft.f, make(y0v, [B, n]), grid, { method: 'rk4' }).y.dataSync();
        const want = new Float64Array((T + 1) * B * n);
        for (let b = 0; b < B; b++) rk4Ref(F, y0v.slice(b * n, (b + 1) * n), grid, null).forEach((row, i) => row.forEach((v, j) => (want[(i * B + b) * n + j] = v)));
        expectClose(got, want, 1e-12, 1e-13, `rk4 on ${grid[0] < grid[1] ? 'an increasing' : 'a decreasing'} grid`);
        ft.dispose();
      }
    }));

  test('the Jacobian pass in blocks of rows gives the same solution, stats and gradients as in one', () => {
    const F = makeField(rng, 3, 8, 2);
    const y0v = randomArray(rng, 9), xv = randomArray(rng, 41 * 3 * 2), grid = uniformGrid(40, 2);
    const run = () => {
      const ft = fieldTensors(F, 'float64', true);
      const x = make(xv, [41, 3, 2], 'float64', true);
      const r = tidy(() => {
        const { y, stats } = solveIVP(ft.f, make(y0v, [3, 3]), grid, { x });
        antler.sum(antler.mul(y, y)).backward();
        return { y: Array.from(y.dataSync()), iterations: stats.sequenceIterations };
      });
      const grads = [x, ...ft.params].map((p) => Array.from(p.grad!.dataSync()));
      x.dispose();
      ft.dispose();
      return { ...r, grads };
    };
    const whole = run();
    const old = setMaxStackedRows(3 * 7); // 7 rows a block: 123 rows in 18 blocks, the last one short
    try {
      const blocks = run();
      expect(blocks.iterations).toEqual(whole.iterations);
      expectClose(blocks.y, whole.y, 1e-13, 1e-13, 'y');
      blocks.grads.forEach((g, k) => expectClose(g, whole.grads[k], 1e-12, 1e-12, `gradient ${k}`));
    } finally {
      setMaxStackedRows(old);
    }
  });

  test('a decreasing grid integrates backwards in time', () => {
    const n = 3, H = 8, B = 2, t0 = rng.uniform(1, 2);
    const F = makeField(rng, n, H, 1);
    const y0v = randomArray(rng, B * n, -1, 1);
    const grid = uniformGrid(100, -0.5, t0);
    const fine = uniformGrid(2000, -0.5, t0);
    const ft = fieldTensors(F, 'float64', false);
    const yT = tidy(() => {
      const { y, stats } = solveIVP(ft.f, make(y0v, [B, n]), make(grid, [101]));
      expect(stats.converged.every(Boolean)).toBe(true);
      return antler.slice(y, [100, 0, 0], [1, B, n]).dataSync();
    });
    const want = Array.from({ length: B }, (_, b) => rk4Ref(F, y0v.slice(b * n, (b + 1) * n), fine, null)[2000]).flat();
    expect(maxDiff(yT, want) / maxAbsOf(want)).toBeLessThan(3e-3);
    ft.dispose();
  });

  test('per-sequence convergence: a sequence at a fixed point stops after one iteration while the others go on', () => {
    const n = 3, H = 8, B = 3;
    const F = makeField(rng, n, H, 1);
    // f(y) = W2 tanh(W1 y) − 0.1 y has y = 0 as a fixed point.
    const G: Field = { ...F, b1: new Array(H).fill(0), c: new Array(H).fill(0) };
    const ft = fieldTensors(G, 'float64', false);
    const y0v = [...randomArray(rng, n, 0.5, 1), 0, 0, 0, ...randomArray(rng, n, -1, -0.5)];
    const grid = uniformGrid(50, 2);
    const y0 = make(y0v, [B, n]);
    const { y, stats } = solveIVP(ft.f, y0, grid);
    y0.dispose();
    expect(stats.sequenceIterations[1]).toBe(1);
    expect(stats.sequenceIterations[0]).toBeGreaterThan(2);
    expect(stats.iterations).toBe(Math.max(...stats.sequenceIterations));
    const v = y.dataSync();
    for (let i = 0; i <= 50; i++) for (let j = 0; j < n; j++) expect(v[(i * B + 1) * n + j]).toBe(0);
    for (const b of [0, 2]) {
      const ref = rk4Ref(G, y0v.slice(b * n, (b + 1) * n), uniformGrid(1000, 2), null)[1000];
      for (let j = 0; j < n; j++) expect(Math.abs(v[(50 * B + b) * n + j] - ref[j])).toBeLessThan(5e-3 * maxAbsOf(ref));
    }
    y.dispose();
    ft.dispose();
  });

  test('not converged within maxIters: falls back to RK4 and says so; strict throws NOT_CONVERGED; gradients still flow', () => {
    const n = 3, H = 8, B = 2, T = 30;
    const F = makeField(rng, n, H, 1);
    const y0v = randomArray(rng, B * n, -1, 1);
    const grid = uniformGrid(T, 3);
    const ft = fieldTensors(F, 'float64', false);
    const rk = tidy(() => solveIVP(ft.f, make(y0v, [B, n]), grid, { method: 'rk4' }).y.dataSync());
    const y0 = make(y0v, [B, n], 'float64', true);
    tidy(() => {
      const { y, stats } = solveIVP(ft.f, y0, grid, { maxIters: 1 });
      expect(stats.fallback).toBe(true);
      expect(stats.fallbackSequences).toEqual([0, 1]);
      expect(stats.converged).toEqual([false, false]);
      expectClose(y.dataSync(), rk, 1e-13, 1e-13, 'fallback = rk4');
      antler.sum(y).backward();
    });
    expect(y0.grad).not.toBeNull();
    expect(Number.isFinite(maxAbsOf(y0.grad!.dataSync()))).toBe(true);
    expectAntlerError(() => solveIVP(ft.f, y0, grid, { maxIters: 1, strict: true }), 'NOT_CONVERGED', /did not converge in 1 Newton iteration .*raise maxIters \(1 iteration passes only from a guess that is already the solution: .*from y0 at every point a solve needs at least 2\)/);
    y0.dispose();
    ft.dispose();
  });

  test('maxIters 1 converges from a guess that is already the solution (the first update is judged against the guess), and not from y0 at every point', () => {
    const n = 3, H = 8, B = 2, T = 20;
    const F = makeField(rng, n, H, 1);
    const y0v = randomArray(rng, B * n, -1, 1);
    const grid = uniformGrid(T, 2);
    const ft = fieldTensors(F, 'float64', false);
    tidy(() => {
      const y0 = make(y0v, [B, n]);
      const full = solveIVP(ft.f, y0, grid);
      expect(full.stats.fallback).toBe(false);
      expect(full.stats.iterations).toBeGreaterThan(2);
      const ref = full.y.dataSync();
      // The converged answer as the guess: one iteration, no retry, no fallback; the same fixed point.
      const warm = solveIVP(ft.f, y0, grid, { maxIters: 1, initialGuess: full.y, strict: true });
      expect([warm.stats.iterations, warm.stats.fallback, warm.stats.retriedSequences]).toEqual([1, false, []]);
      expect(warm.stats.converged).toEqual([true, true]);
      expectClose(warm.y.dataSync(), ref, 1e-9, 1e-9, 'one iteration from the solution');
      // A guess off by more than the tolerance: not confirmed in one iteration, retried from y0 (also one), then RK4.
      const off = solveIVP(ft.f, y0, grid, { maxIters: 1, initialGuess: antler.add(full.y, 1e-3) });
      expect([off.stats.fallback, off.stats.retriedSequences, off.stats.fallbackSequences]).toEqual([true, [0, 1], [0, 1]]);
      // A linear field's first iterate from y0 is exact, yet only the second iteration confirms it.
      const A = make(randomArray(rng, n * n, -0.5, 0.5), [n, n]);
      const lin: OdeFunc = (_t, y) => antler.matmul(y, A);
      expect(solveIVP(lin, y0, grid, { maxIters: 1 }).stats.fallback).toBe(true);
      const two = solveIVP(lin, y0, grid, { maxIters: 2, strict: true }).stats;
      expect([two.iterations, two.fallback]).toEqual([2, false]);
    });
    // A NeuralODE's warm start is such a guess: after a solve that converged, one iteration suffices on the same input.
    const cube: OdeFunc = (_t, y) => antler.neg(antler.mul(antler.mul(y, y), y));
    const ode = new NeuralODE(cube, { warmStart: true, maxIters: 1 });
    tidy(() => {
      const y0 = make(y0v, [B, n]);
      expect(ode.forward(y0, grid, undefined, { maxIters: 100 }).stats.fallback).toBe(false);
      const again = ode.forward(y0, grid).stats;
      expect([again.iterations, again.fallback]).toEqual([1, false]);
    });
    ode.dispose();
    ft.dispose();
  });

  test('a solution that blows up is reported as divergence', () => {
    // dy/dt = y² from y0 = 1 reaches infinity at t = 1; the grid goes to 2.
    const f: OdeFunc = (_t, y) => antler.mul(y, y);
    tidy(() => {
      const { stats } = solveIVP(f, make([1], [1, 1]), uniformGrid(40, 2));
      expect(stats.diverged).toBe(true);
      expect(stats.fallback).toBe(true);
      expect(stats.converged).toEqual([false]);
    });
    expectAntlerError(() => solveIVP(f, make([1], [1, 1]), uniformGrid(40, 2), { strict: true }), 'NOT_CONVERGED', /diverged/);
    // A field that is NaN at once: the message gives the iterations that ran, not maxIters.
    const s = tidy(() => solveIVP((_t, y) => antler.div(y, 0), make([1, 1], [2, 1]), [0, 1, 2]).stats);
    expectAntlerError(() => solveIVP((_t, y) => antler.div(y, 0), make([1, 1], [2, 1]), [0, 1, 2], { strict: true }), 'NOT_CONVERGED', new RegExp(`2 of 2 sequences diverged to a non-finite update after ${s.iterations} Newton iteration.*an update not finite.*refine the grid or use method 'rk4'`));
    expect(s.iterations).toBeLessThan(5);
  });

  test('updates that grow for several iterations before Newton converges are not taken for divergence', () => {
    // An MLP field whose Newton updates grow 6.4, 10, 15, 23, 24, 70, … before they fall: it
    // converges in about 12 iterations. (A rule that stopped after 5 growing updates returned RK4's
    // values, and strict threw NOT_CONVERGED.)
    antler.setSeed(3);
    const [W1, W2, y0] = tidy(() => [antler.mul(antler.randn([4, 32]), 0.5).cast('float64'), antler.mul(antler.randn([32, 4]), 0.3).cast('float64'), antler.slice(antler.randn([8, 4]).cast('float64'), [4, 0], [1, 4])]);
    antler.setSeed(rng.u32());
    const f: OdeFunc = (_t, y) => antler.matmul(antler.tanh(antler.matmul(y, W1)), W2);
    const grid = uniformGrid(100, 20);
    tidy(() => {
      const { y, stats } = solveIVP(f, y0, grid, { maxIters: 200, strict: true });
      expect(stats.fallback).toBe(false);
      expect(stats.converged).toEqual([true]);
      expect(stats.iterations).toBeGreaterThan(6);
      // The DEER solution of the same grid: the same second-order scheme as RK4 to within O(Δ²).
      const rk = solveIVP(f, y0, grid, { method: 'rk4' }).y;
      expect(maxDiff(y.dataSync(), rk.dataSync())).toBeLessThan(0.05);
    });
    [W1, W2, y0].forEach((t) => t.dispose());
  });

  test('a sequence that falls back does not spoil the gradient of the others or of shared parameters (no 0·∞)', () => {
    // dy/dt = k x y: sequence 1 (x = 1 over a grid to 1600) overflows and falls back to RK4; the loss
    // uses sequence 0 alone, so k's gradient is sequence 0's and y0[1]'s is 0.
    const k = make([rng.uniform(0.9, 1.1)], [1], 'float64', true);
    const x = make([0.001, 1, 0.001, 1, 0.001, 1], [3, 2, 1]);
    const y0 = make([1, 1], [2, 1], 'float64', true);
    const f: OdeFunc = (_t, y, xx) => antler.mul(antler.mul(y, xx), k);
    const grid = [0, 800, 1600];
    tidy(() => {
      const { y, stats } = solveIVP(f, y0, grid, { x });
      expect(stats.fallbackSequences).toEqual([1]);
      antler.sum(antler.slice(y, [2, 0, 0], [1, 1, 1])).backward();
    });
    const [gk, gy0] = [k.grad!.item(), Array.from(y0.grad!.dataSync())];
    k.zeroGrad();
    // Sequence 0 solved alone.
    const y00 = make([1], [1, 1], 'float64', true);
    tidy(() => {
      const { y, stats } = solveIVP(f, y00, grid, { x: antler.slice(x, [0, 0, 0], [3, 1, 1]) });
      expect(stats.fallback).toBe(false);
      antler.sum(antler.slice(y, [2, 0, 0], [1, 1, 1])).backward();
    });
    expect(Number.isFinite(gk)).toBe(true);
    expectClose([gk, gy0[0]], [k.grad!.item(), y00.grad!.item()], 1e-12, 1e-12, 'sequence 0 alone');
    expect(gy0[1]).toBe(0);
    [k, x, y0, y00].forEach((t) => t.dispose());
  });

  test('a first sequence that falls back and two that converge come back in batch order, with and without a graph', () => {
    // dy/dt = k x y: sequence 0 (x = 1 over a grid to 1600) overflows in DEER and falls back to RK4; 1 and 2 (x = 0.001) converge.
    // Their columns are put back by a permutation that is a 3-cycle ([1, 2, 0] solved → batch order).
    const k = make([rng.uniform(0.9, 1.1)], [1], 'float64', true);
    const xv = [1, 0.001, 0.001];
    const x = make([...xv, ...xv, ...xv], [3, 3, 1]);
    const y0v = [1, rng.uniform(1.5, 2.5), rng.uniform(3, 4)];
    const f: OdeFunc = (_t, y, xx) => antler.mul(antler.mul(y, xx), k);
    const grid = [0, 800, 1600];
    tidy(() => {
      // Each sequence alone: 0 by RK4 (its DEER overflows), 1 and 2 by DEER.
      const alone = [0, 1, 2].map((b) => Array.from(noGrad(() => solveIVP(f, make([y0v[b]], [1, 1]), grid, { x: antler.slice(x, [0, b, 0], [3, 1, 1]), method: b ? 'deer' : 'rk4' }).y.dataSync())));
      for (const graph of [true, false]) {
        const { y, stats } = graph ? solveIVP(f, make(y0v, [3, 1]), grid, { x }) : noGrad(() => solveIVP(f, make(y0v, [3, 1]), grid, { x }));
        expect(stats.fallbackSequences).toEqual([0]);
        expect(y.requiresGrad).toBe(graph);
        const v = Array.from(y.dataSync());
        [0, 1, 2].forEach((b) => expectClose(v.filter((_, i) => i % 3 === b), alone[b], 1e-12, 1e-12, `sequence ${b}, graph ${graph}`));
      }
    });
    [k, x].forEach((t) => t.dispose());
  });

  test('a guess that fails (a warm start from elsewhere) is retried from y0 before RK4', () => {
    // Van der Pol (mu = 1) backwards in time from a guess that is another trajectory's solution:
    // Newton from it overflows; from y0 at every point it converges.
    const f: OdeFunc = (_t, y) => {
      const a = antler.slice(y, [0, 0], [y.shape[0], 1]), b = antler.slice(y, [0, 1], [y.shape[0], 1]);
      return antler.concat([b, antler.sub(antler.mul(antler.sub(1, antler.square(a)), b), a)], 1);
    };
    const up = uniformGrid(20, 8), down = up.slice().reverse();
    const ode = new NeuralODE(f, { warmStart: true });
    tidy(() => {
      ode.forward(make([2, 0], [1, 2]), up);
      const warm = ode.forward(make([1, 0], [1, 2]), down).stats;
      const cold = solveIVP(f, make([1, 0], [1, 2]), down).stats;
      expect(cold.fallback).toBe(false);
      expect(warm.retriedSequences).toEqual([0]);
      expect(warm.fallback).toBe(false);
      expect(warm.converged).toEqual([true]);
      expect(warm.sequenceIterations[0]).toBeGreaterThan(cold.sequenceIterations[0]);
      // Retried: the kept solution is now this one, and the next call of the same shape starts from it.
      const next = ode.forward(make([1.01, 0], [1, 2]), down).stats;
      expect(next.retriedSequences).toEqual([]);
      expect(next.iterations).toBeLessThan(cold.iterations);
    });
    ode.dispose();
  });

  test("an initialGuess's first row is not used: y0 replaces it (a guess at the solution but for row 0 converges in one iteration)", () =>
    tidy(() => {
      const f: OdeFunc = (_t, y) => antler.add(antler.neg(antler.mul(antler.mul(y, y), y)), antler.sin(antler.mul(y, 3)));
      const grid = uniformGrid(30, 3);
      const y0 = make(randomArray(rng, 4, -1.5, 1.5), [2, 2]);
      const solved = solveIVP(f, y0, grid);
      expect(solved.stats.iterations).toBeGreaterThan(2);
      const sol = Array.from(solved.y.dataSync());
      // Row 0 far off: at ±3 the field's Jacobian (−3y² + 3cos 3y) differs wholly from y0's.
      const guess = make(sol.map((v, i) => (i < 4 ? 3 * Math.sign(v || 1) : v)), [31, 2, 2]);
      const again = solveIVP(f, y0, grid, { initialGuess: guess });
      expect(again.stats.sequenceIterations).toEqual([1, 1]);
      expect(again.stats.retriedSequences).toEqual([]);
      expectClose(again.y.dataSync(), sol, 1e-9, 1e-10);
    }));

  test("rk4's stats: a sequence whose values overflow is not converged, and diverged says so; finite ones are converged", () =>
    tidy(() => {
      // y' = y²: y = y0 / (1 − y0·t), singular at t = 1/y0: y0 = 1 blows up on [0, 2], y0 = 0.1 (≤ 1/2) stays finite.
      const f: OdeFunc = (_t, y) => antler.mul(y, y);
      const steps = rng.int(8, 40);
      const { y, stats } = solveIVP(f, make([1, 0.1], [2, 1]), uniformGrid(steps, 2), { method: 'rk4' });
      const v = y.dataSync();
      expect([Number.isFinite(v[2 * steps]), Number.isFinite(v[2 * steps + 1])]).toEqual([false, true]);
      expect(stats.converged).toEqual([false, true]);
      expect(stats.diverged).toBe(true);
      const fine = solveIVP(f, make([0.2, -0.3], [2, 1]), uniformGrid(steps, 2), { method: 'rk4' }).stats;
      expect([fine.converged, fine.diverged]).toEqual([[true, true], false]);
    }));

  test('the default tolerances are atol = rtol = 1e-10 in float64 and 1e-5 in float32 (a looser one stops earlier on this problem)', () =>
    tidy(() => {
      // dy/dt = −y³ + sin(3y) from fixed starts: Newton takes several iterations, its updates shrinking over many decades.
      const f: OdeFunc = (_t, y) => antler.add(antler.neg(antler.mul(antler.mul(y, y), y)), antler.sin(antler.mul(y, 3)));
      const grid = uniformGrid(40, 4);
      for (const [dtype, tol, looser] of [['float64', 1e-10, 1e-6], ['float32', 1e-5, 1e-3]] as const) {
        const y0 = make([1.5, -0.7, 0.3], [3, 1], dtype);
        const run = (o?: { atol: number; rtol: number }) => solveIVP(f, y0, grid, o);
        const def = run(), same = run({ atol: tol, rtol: tol });
        const loose = [run({ atol: looser, rtol: tol }), run({ atol: tol, rtol: looser })];
        // The problem tells the tolerances apart: each looser one stops some sequence sooner.
        for (const l of loose) expect(l.stats.sequenceIterations.some((it, b) => it < same.stats.sequenceIterations[b])).toBe(true);
        expect(def.stats.sequenceIterations).toEqual(same.stats.sequenceIterations);
        expect(Array.from(def.y.dataSync())).toEqual(Array.from(same.y.dataSync()));
        expect(def.stats.converged.every(Boolean)).toBe(true);
      }
    }));

  test('a field that mixes rows (a batch mean) is refused by DEER, with a message saying why; rk4 takes it', () => {
    const f: OdeFunc = (_t, y) => antler.sub(antler.mean(y, 0, true), y);
    const y0 = make(randomArray(rng, 8), [4, 2]);
    const grid = uniformGrid(20, 1);
    expectAntlerError(() => solveIVP(f, y0, grid), 'INVALID_ARGUMENT', /f's output for a row depends on the other rows: .*use method 'rk4'/);
    tidy(() => expect(solveIVP(f, y0, grid, { method: 'rk4' }).stats.method).toBe('rk4'));
    // A field that leaves the first row alone but mixes the others (a running sum down the rows).
    const g: OdeFunc = (_t, y) => antler.sub(antler.mul(antler.cumsum(y, 0), 0.1), y);
    expectAntlerError(() => solveIVP(g, y0, grid), 'INVALID_ARGUMENT', /f's output for a row depends on the other rows: f on row \d+ among \d+ rows in another order/);
    y0.dispose();
  });

  test("the solve leaves the parameters' .grad alone and records nothing under noGrad", () => {
    const F = makeField(rng, 2, 6, 1);
    const ft = fieldTensors(F, 'float64', false);
    const y0 = make(randomArray(rng, 4), [2, 2]);
    tidy(() => {
      const { y } = solveIVP(ft.f, y0, uniformGrid(20, 1));
      expect(y.requiresGrad).toBe(true);
    });
    for (const p of ft.params) expect(p.grad).toBeNull();
    noGrad(() => tidy(() => expect(solveIVP(ft.f, y0, uniformGrid(20, 1)).y.requiresGrad).toBe(false)));
    y0.dispose();
    ft.dispose();
  });

  test('a field that does not depend on y: J = 0, and the solution and gradient are exact (trapezoidal on a linear f)', () => {
    const n = 3, B = 2, T = rng.int(2, 12);
    const wv = randomArray(rng, n);
    const w = make(wv, [n], 'float64', true);
    const y0v = randomArray(rng, B * n);
    const grid = [0];
    for (let i = 0; i < T; i++) grid.push(grid[i] + rng.uniform(0.1, 0.5));
    // dy/dt = w t: y(t) = y0 + w t² / 2; d Σ y(t_T) / dw = B t_T² / 2.
    const f: OdeFunc = (t) => antler.mul(t, w);
    tidy(() => {
      const { y, stats } = solveIVP(f, make(y0v, [B, n]), grid);
      expect(stats.converged.every(Boolean)).toBe(true);
      const last = antler.slice(y, [T, 0, 0], [1, B, n]);
      const tT = grid[T];
      expectClose(last.dataSync(), y0v.map((v, k) => v + (wv[k % n] * tT * tT) / 2), 1e-12, 1e-12, 'y(t_T)');
      antler.sum(last).backward();
      expectClose(w.grad!.dataSync(), new Array(n).fill((B * tT * tT) / 2), 1e-12, 1e-12, 'dw');
    });
    w.dispose();
  });

  test('a tensor f captured may be disposed before backward (backward does not call f); the graph above it is not entered by the solve', () => {
    const F = makeField(rng, 3, 8, 1);
    const ft = fieldTensors(F, 'float64', false);
    const W1 = ft.params[0];
    const y0v = randomArray(rng, 6), grid = uniformGrid(30, 1.5);
    // The reference: the same field with W1 used directly.
    const ref = (() => {
      tidy(() => antler.sum(solveIVP(ft.f, make(y0v, [2, 3]), grid).y).backward());
      const g = Array.from(W1.grad!.dataSync());
      ft.params.forEach((p) => {
        p.grad?.dispose();
        p.grad = null;
      });
      return g;
    })();
    // f captures half = W1 · 0.5 (a non-leaf), used twice as half + half; tidy() disposes half before backward.
    const loss = tidy(() => {
      const half = antler.mul(W1, 0.5);
      const g: OdeFunc = (t, y) => tidy(() => {
        const a = antler.add(antler.add(antler.matmul(y, antler.add(half, half), { transposeB: true }), ft.params[1]), antler.mul(t, ft.params[3]));
        return antler.sub(antler.matmul(antler.tanh(a), ft.params[2], { transposeB: true }), antler.mul(y, 0.1));
      });
      return antler.sum(solveIVP(g, make(y0v, [2, 3]), grid).y);
    });
    loss.backward();
    loss.dispose();
    expectClose(W1.grad!.dataSync(), ref, 1e-12, 1e-12, 'dW1 through a disposed capture');
    // A capture whose own graph was already freed: the forward still works (it never enters that graph).
    const used = tidy(() => {
      const c = antler.mul(W1, 1);
      antler.sum(c).backward(); // frees c's graph
      const g: OdeFunc = (_t, y) => antler.tanh(antler.matmul(y, c, { transposeB: true }).slice([0, 0], [-1, 3]));
      return noGrad(() => solveIVP(g, make(y0v, [2, 3]), grid).stats.converged.every(Boolean));
    });
    expect(used).toBe(true);
    ft.dispose();
  });

  test("random draws: 'deer' refuses an f that draws (dropout), 'rk4' takes it; a deterministic solve and its backward leave the generator where it was", () => {
    const y0 = make(randomArray(rng, 4), [2, 2]);
    const drop: OdeFunc = (_t, y) => antler.dropout(y, 0.3);
    expectAntlerError(() => solveIVP(drop, y0, [0, 0.5, 1]), 'INVALID_ARGUMENT', /drew random numbers.*eval\(\).*'rk4'/);
    tidy(() => expect(solveIVP(drop, y0, [0, 0.5, 1], { method: 'rk4' }).y.shape).toEqual([3, 2, 2]));
    const w = make(randomArray(rng, 2), [2], 'float64', true);
    const f: OdeFunc = (_t, y) => antler.tanh(antler.mul(y, w));
    const draw = () => tidy(() => Array.from(antler.randn([3]).dataSync()));
    antler.setSeed(77);
    const plain = [draw(), draw()];
    antler.setSeed(77);
    const first = draw();
    const loss = tidy(() => antler.sum(solveIVP(f, y0, [0, 0.5, 1]).y));
    const between = draw();
    loss.backward();
    loss.dispose();
    expect([first, between]).toEqual(plain);
    expect(draw()).not.toEqual(between);
    y0.dispose();
    w.dispose();
  });

  test('f throwing at any of its calls (Newton iterations, the solution, the steps there): the error comes through and nothing is left behind', () => {
    const n = 2;
    const W = tensor(randomArray(rng, n * n, -0.5, 0.5), [n, n], { dtype: 'float64', requiresGrad: true });
    const y0 = tensor(randomArray(rng, 3 * n, -1, 1), [3, n], { dtype: 'float64' });
    let calls = 0;
    const f = (_t: Tensor, y: Tensor) => antler.tanh(antler.matmul(y, W));
    tidy(() => void solveIVP((t, y) => (calls++, f(t, y)), y0, [0, 0.1, 0.2, 0.3]));
    expect(calls).toBeGreaterThan(3);
    for (let at = 1; at <= calls; at++) {
      const before = antler.memory().numTensors;
      let k = 0;
      expect(() => tidy(() => void solveIVP((t, y) => {
        if (++k === at) throw new Error(`f failed at call ${at}`);
        return f(t, y);
      }, y0, [0, 0.1, 0.2, 0.3]))).toThrow(`f failed at call ${at}`);
      expect(antler.memory().numTensors).toBe(before);
    }
    W.dispose();
    y0.dispose();
  });

  test('bad inputs', () => {
    const f: OdeFunc = (_t, y) => antler.neg(y);
    const y0 = make([1, 2], [1, 2]);
    expectAntlerError(() => solveIVP(f, y0, [0]), 'INVALID_ARGUMENT', /at least 2 time points/);
    expectAntlerError(() => solveIVP(f, y0, [0, 1, 1]), 'INVALID_ARGUMENT', /strictly increasing or strictly decreasing/);
    // A grid of one repeated time (every step Δ = 0) is no grid either.
    for (const t of [[0, 0], [2, 2, 2]]) expectAntlerError(() => solveIVP(f, y0, t), 'INVALID_ARGUMENT', /strictly increasing or strictly decreasing/);
    expectAntlerError(() => solveIVP(f, y0, [0, 1, 0.5]), 'INVALID_ARGUMENT', /t\[1\] = 1 and t\[2\] = 0.5/);
    expectAntlerError(() => solveIVP(f, y0, [0, NaN]), 'INVALID_ARGUMENT', /t\[1\] is NaN/);
    expectAntlerError(() => solveIVP(f, y0, 'abc' as unknown as number[]), 'INVALID_ARGUMENT', /array of numbers/);
    expectAntlerError(() => solveIVP(f, make([1, 2], [2]), [0, 1]), 'SHAPE_MISMATCH', /\[B, n\]/);
    expectAntlerError(() => solveIVP(f, tensor([1, 2], [1, 2], { dtype: 'int32' }), [0, 1]), 'DTYPE_MISMATCH', /int32/);
    expectAntlerError(() => solveIVP('f' as unknown as OdeFunc, y0, [0, 1]), 'INVALID_ARGUMENT', /function/);
    expectAntlerError(() => solveIVP(f, y0, [0, 1], { x: make([1, 2], [1, 2]) }), 'SHAPE_MISMATCH', /x has shape \[1, 2\]; expected \[T \+ 1, B, m\] = \[2, 1, m\]/);
    expectAntlerError(() => solveIVP(f, y0, [0, 1], { x: make([1, 2, 3, 4], [2, 1, 2], 'float32') }), 'DTYPE_MISMATCH', /x has dtype float32/);
    expectAntlerError(() => solveIVP(f, y0, [0, 1], { initialGuess: make([1, 2], [1, 1, 2]) }), 'SHAPE_MISMATCH', /initialGuess/);
    expectAntlerError(() => solveIVP(f, y0, [0, 1], { method: 'euler' as 'rk4' }), 'INVALID_ARGUMENT', /'deer', 'rk4'/);
    expectAntlerError(() => solveIVP(f, y0, [0, 1], { atol: -1 }), 'INVALID_ARGUMENT', /atol/);
    expectAntlerError(() => solveIVP(f, y0, [0, 1], { maxIters: 0 }), 'INVALID_ARGUMENT', /maxIters/);
    expectAntlerError(() => solveIVP(f, y0, [0, 1], { tol: 1 } as never), 'INVALID_ARGUMENT', /tol/);
    expectAntlerError(() => solveIVP(() => make([1, 2, 3], [1, 3]), y0, [0, 1]), 'SHAPE_MISMATCH', /f\(t, y\) returned .* shape \[1, 3\] on cpu; expected dy\/dt shaped like the y it was given, \[4, 2\]/);
    expectAntlerError(() => solveIVP(() => 3 as unknown as Tensor, y0, [0, 1]), 'INVALID_ARGUMENT', /f must return a Tensor/);
    y0.dispose();
  });
});

// ---------------------------------------------------------------- nn.NeuralODE

class Field2 extends Module {
  net: Sequential;
  constructor(n: number, H: number) {
    super();
    this.net = this.registerModule('net', new Sequential(new Linear(n, H, { dtype: 'float64' }), new Tanh(), new Linear(H, n, { dtype: 'float64' })));
  }
  forward(_t: Tensor, y: Tensor): Tensor {
    return this.net.forward(y);
  }
}

describe(`nn.NeuralODE (seed ${SEED})`, () => {
  test('its parameters are the field\'s; it learns a rotation from trajectories; warm starts cut the iterations', () => {
    const ode = new NeuralODE(new Field2(2, 16), { warmStart: true });
    expect(Object.keys(tidy(() => {
      const sd = ode.stateDict();
      const keys = Object.fromEntries(Object.keys(sd).map((k) => [k, 1]));
      antler.dispose(sd);
      return keys;
    }))).toEqual(['func.net.0.weight', 'func.net.0.bias', 'func.net.2.weight', 'func.net.2.bias']);
    // Data: dy/dt = [[−0.1, 1], [−1, −0.1]] y from random starts, exact by the matrix exponential.
    const grid = uniformGrid(20, 2);
    const B = 8;
    const y0v = randomArray(rng, B * 2, -1, 1);
    const target = new Float64Array(21 * B * 2);
    grid.forEach((t, i) => {
      const E = expmRef([-0.1 * t, t, -t, -0.1 * t], 2);
      for (let b = 0; b < B; b++)
        for (let r = 0; r < 2; r++) target[(i * B + b) * 2 + r] = E[r * 2] * y0v[b * 2] + E[r * 2 + 1] * y0v[b * 2 + 1];
    });
    const y0 = make(y0v, [B, 2]), want = make(target, [21, B, 2]);
    const opt = new antler.optim.Adam(ode.parameters(), { lr: 0.02 });
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      opt.zeroGrad();
      const loss = tidy(() => {
        const l = antler.mseLoss(ode.forward(y0, grid).y, want);
        l.backward();
        return l.item();
      });
      losses.push(loss);
      opt.step();
    }
    expect(losses[59]).toBeLessThan(losses[0] / 10);
    // Warm: the same solve again starts at its own solution, so the first update is below the tolerance.
    const again = tidy(() => [ode.forward(y0, grid).stats, ode.forward(y0, grid).stats]);
    expect(again[0].iterations).toBeGreaterThanOrEqual(again[1].iterations);
    expect(again[1].iterations).toBe(1);
    expect(again[1].converged.every(Boolean)).toBe(true);
    // A different batch size is not warm.
    const other = tidy(() => ode.forward(make(y0v.slice(0, 4), [2, 2]), grid).stats.iterations);
    expect(other).toBeGreaterThan(2);
    opt.dispose();
    [y0, want].forEach((t) => t.dispose());
    ode.dispose();
  });

  test('a plain function as the field; bad arguments', () => {
    const ode = new NeuralODE((_t: Tensor, y: Tensor) => antler.neg(y));
    tidy(() => {
      const { y } = ode.forward(make([1], [1, 1]), [0, 0.5, 1]);
      expectClose(y.dataSync(), [1, Math.exp(-0.5), Math.exp(-1)], 1e-12, 0);
    });
    expectAntlerError(() => new NeuralODE(3 as unknown as OdeFunc), 'INVALID_ARGUMENT', /Module or a function/);
    expectAntlerError(() => new NeuralODE((_t: Tensor, y: Tensor) => y, { x: 1 } as never), 'INVALID_ARGUMENT', /x/);
    expectAntlerError(() => new NeuralODE((_t: Tensor, y: Tensor) => y, { warmStart: 'yes' as unknown as boolean }), 'INVALID_ARGUMENT', /warmStart/);
    // A call's warmStart: true uses and keeps the last solution on a module made without it.
    tidy(() => {
      const grid = uniformGrid(30, 3);
      const first = ode.forward(make([1], [1, 1]), grid, undefined, { warmStart: true }).stats.iterations;
      expect(ode.forward(make([1], [1, 1]), grid, undefined, { warmStart: true }).stats.iterations).toBeLessThan(first);
      expect(ode.forward(make([1], [1, 1]), grid).stats.iterations).toBe(first);
    });
    // Gradients with respect to the grid are not supported: a grid that requires grad is refused.
    const t = make([0, 1], [2], 'float64', true);
    expectAntlerError(() => ode.forward(make([1], [1, 1]), t), 'NOT_SUPPORTED', /t requires grad; gradients with respect to the time grid are not supported/);
    t.dispose();
    ode.dispose();
    expectAntlerError(() => ode.forward(make([1], [1, 1]), [0, 1]), 'DISPOSED');
  });

  test("a call's options override the module's; a call's warmStart: false neither uses nor replaces the kept solution; a solve that falls back drops it", () => {
    // dy/dt = −y³: nonlinear, so a cold Newton run takes several iterations and a warm one fewer.
    const cube: OdeFunc = (_t, y) => antler.neg(antler.mul(antler.mul(y, y), y));
    const grid = uniformGrid(24, 2);
    const y0v = randomArray(rng, 3, 0.8, 1.6);
    const exact = (v: number, t: number) => v / Math.sqrt(1 + 2 * v * v * t);
    const ref = grid.flatMap((t) => y0v.map((v) => exact(v, t)));
    tidy(() => {
      const y0 = make(y0v, [3, 1]), other = make(y0v.map((v) => v + 0.5), [3, 1]);
      const cold = new NeuralODE(cube).forward(y0, grid).stats;
      expect(cold.iterations).toBeGreaterThan(2);
      // Options: the module's method 'rk4' unless the call says 'deer'.
      const rk = new NeuralODE(cube, { method: 'rk4', warmStart: true });
      const viaRk4 = rk.forward(y0, grid);
      expect(viaRk4.stats.method).toBe('rk4');
      const viaDeer = rk.forward(y0, grid, undefined, { method: 'deer' });
      expect(viaDeer.stats.method).toBe('deer');
      expect(viaDeer.stats.iterations).toBe(cold.iterations);
      expectClose(viaDeer.y.dataSync(), ref, 1e-2, 1e-3); // the exponential integrator's O(Δ²)
      expectClose(viaRk4.y.dataSync(), ref, 1e-3, 1e-4); // RK4's O(Δ⁴)
      const ode = new NeuralODE(cube, { warmStart: true, maxIters: 1 });
      // maxIters 1 (the module's) cannot converge: RK4 fallback; the call's maxIters replaces it.
      expect(ode.forward(y0, grid).stats.fallback).toBe(true);
      // That fallen-back solution was not kept: this solve starts cold.
      const first = ode.forward(y0, grid, undefined, { maxIters: 100 }).stats;
      expect(first.fallback).toBe(false);
      expect(first.iterations).toBe(cold.iterations);
      // Warm from its own solution: one iteration.
      expect(ode.forward(y0, grid, undefined, { maxIters: 100 }).stats.iterations).toBe(1);
      // warmStart: false on a call: cold (does not use the kept solution)...
      const off = ode.forward(y0, grid, undefined, { maxIters: 100, warmStart: false }).stats;
      expect(off.iterations).toBe(cold.iterations);
      // ...and another batch solved so does not replace it.
      ode.forward(other, grid, undefined, { maxIters: 100, warmStart: false });
      expect(ode.forward(y0, grid, undefined, { maxIters: 100 }).stats.iterations).toBe(1);
      rk.dispose();
      ode.dispose();
    });
  });
});
