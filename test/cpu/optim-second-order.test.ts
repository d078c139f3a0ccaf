/**
 * L-BFGS and AdaHessian against independent float64 references:
 * - L-BFGS: its two-loop recursion against the dense BFGS inverse-Hessian
 *   update on a random quadratic; the strong Wolfe conditions at every
 *   accepted step of a logistic regression (loss and gradient written in
 *   JavaScript); Rosenbrock from (−1.2, 1); least squares through fit()
 *   against the normal equations; tolerances, evaluation counts, memory;
 *   the points evaluated against a float64 transcription of torch's
 *   LBFGS.step and _strong_wolfe (across step() calls, on a quadratic, on
 *   Rosenbrock, on 1-D functions that reach the search's rarer branches,
 *   toleranceChange on the loss).
 * - AdaHessian: one step to the minimum of a diagonal quadratic; several
 *   steps against a float64 transcription of the update (moments, bias
 *   corrections by steps and by refreshes, power k, weight decay, spatial
 *   averaging, refresh every N steps); Hutchinson's estimate is unbiased on
 *   a dense Hessian; dropout masks repeat across the probes; parameters and
 *   gradients come back intact; a classifier trained through fit();
 *   parameter groups with their own options; |z ⊙ H z| averaged after the
 *   absolute value for a non-diagonal Hessian.
 */
import * as antler from '../../lib';
import { fit, nn, optim, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerErrorInTidy as expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeRng, randomArray, Rng, tensorCounts } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const param = (values: number[], shape: number[], dtype: 'float32' | 'float64' = 'float64'): Tensor => tensor(values, shape, { dtype, requiresGrad: true });

// ---------------------------------------------------------------- float64 helpers

type Mat = number[][];
const matVec = (A: Mat, x: number[]): number[] => A.map((row) => row.reduce((s, a, j) => s + a * x[j], 0));
const dotJs = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i], 0);

/** A random symmetric positive definite matrix with eigenvalues of about 0.5 to 2.5. */
function spd(r: Rng, n: number): Mat {
  const M = Array.from({ length: n }, () => randomArray(r, n));
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => M.reduce((s, row) => s + row[i] * row[j], 0) / n + (i === j ? 0.5 : 0)),
  );
}

/** Solves A x = b (Gaussian elimination with partial pivoting). */
function solve(A: Mat, b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

/** f = ½ xᵀAx − bᵀx as a closure over parameter x [n]; records every point it is evaluated at. */
function quadratic(A: Mat, b: number[], x: Tensor, opt: { zeroGrad(): void }, seen: number[][]) {
  const At = tensor(A.flat(), [b.length, b.length], { dtype: x.dtype });
  const bt = tensor(b, [b.length], { dtype: x.dtype });
  const closure = () => {
    opt.zeroGrad();
    seen.push(Array.from(x.dataSync()));
    const Ax = At.matmul(x.reshape([b.length, 1])).reshape([b.length]);
    const f = antler.sub(antler.mul(0.5, antler.mul(x, Ax).sum()), antler.mul(bt, x).sum());
    f.backward();
    return f;
  };
  return { closure, dispose: () => (At.dispose(), bt.dispose()) };
}

// ---------------------------------------------------------------- torch's L-BFGS, transcribed

interface TorchLbfgsOptions {
  lr: number;
  maxIter: number;
  maxEval: number;
  tolGrad: number;
  tolChange: number;
  hist: number;
  wolfe: boolean;
}

/**
 * torch.optim.LBFGS.step (torch ≥ 2.10, whose strong Wolfe search gets max_eval − current_evals
 * evaluations), _strong_wolfe and _cubic_interpolate, transcribed to float64 JavaScript over an
 * objective fg. The state (history, direction, step, n_iter) persists across step() calls as torch's
 * does. `seen` records every point evaluated; `why` the reason each step() stopped; `branches`
 * counts the line search's rarer branches, so a test can check that it reached them.
 */
function torchLbfgs(fg: (x: number[]) => { f: number; g: number[] }, x0: number[], o: TorchLbfgsOptions) {
  let x = x0.slice();
  const seen: number[][] = [];
  const why: string[] = [];
  const branches = { zoomLowIsSecond: 0, zoomFlip: 0 };
  const st = { nIter: 0, d: [] as number[], t: 0, dirs: [] as number[][], stps: [] as number[][], ro: [] as number[], H: 1, prevG: [] as number[], prevLoss: 0 };
  const evalAt = (p: number[]) => {
    seen.push(p.slice());
    return fg(p);
  };
  const absMax = (v: number[]) => Math.max(...v.map(Math.abs));
  const cubic = (x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number => {
    const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
    const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
    const d2sq = d1 ** 2 - g1 * g2;
    if (d2sq >= 0) {
      const d2 = Math.sqrt(d2sq);
      const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
      return Math.min(Math.max(minPos, lo), hi);
    }
    return (lo + hi) / 2;
  };
  const wolfe = (xs: number[], t: number, d: number[], f: number, g: number[], gtd: number, maxLs: number) => {
    const dNorm = absMax(d);
    const obj = (tt: number) => {
      const r = evalAt(xs.map((v, i) => v + tt * d[i]));
      return { f: r.f, g: r.g, gtd: dotJs(r.g, d) };
    };
    let n = obj(t);
    let evals = 1;
    let [tPrev, fPrev, gPrev, gtdPrev] = [0, f, g, gtd];
    let done = false;
    let lsIter = 0;
    let br: number[] = [], bf: number[] = [], bg: number[][] = [], bgtd: number[] = [];
    while (lsIter < maxLs) {
      if (n.f > f + 1e-4 * t * gtd || (lsIter > 1 && n.f >= fPrev)) {
        [br, bf, bg, bgtd] = [[tPrev, t], [fPrev, n.f], [gPrev, n.g], [gtdPrev, n.gtd]];
        break;
      }
      if (Math.abs(n.gtd) <= -0.9 * gtd) {
        [br, bf, bg] = [[t], [n.f], [n.g]];
        done = true;
        break;
      }
      if (n.gtd >= 0) {
        [br, bf, bg, bgtd] = [[tPrev, t], [fPrev, n.f], [gPrev, n.g], [gtdPrev, n.gtd]];
        break;
      }
      const minStep = t + 0.01 * (t - tPrev), maxStep = t * 10;
      const tmp = t;
      t = cubic(tPrev, fPrev, gtdPrev, t, n.f, n.gtd, [minStep, maxStep]);
      [tPrev, fPrev, gPrev, gtdPrev] = [tmp, n.f, n.g, n.gtd];
      n = obj(t);
      evals++;
      lsIter++;
    }
    if (lsIter === maxLs) [br, bf, bg] = [[0, t], [f, n.f], [g, n.g]];
    let insuf = false;
    let [low, high] = bf[0] <= bf[bf.length - 1] ? [0, 1] : [1, 0];
    if (!done && lsIter < maxLs && low === 1) branches.zoomLowIsSecond++;
    while (!done && lsIter < maxLs) {
      if (Math.abs(br[1] - br[0]) * dNorm < 1e-9) break;
      t = cubic(br[0], bf[0], bgtd[0], br[1], bf[1], bgtd[1]);
      const hi = Math.max(...br), lo = Math.min(...br), eps = 0.1 * (hi - lo);
      if (Math.min(hi - t, t - lo) < eps) {
        if (insuf || t >= hi || t <= lo) {
          t = Math.abs(t - hi) < Math.abs(t - lo) ? hi - eps : lo + eps;
          insuf = false;
        } else insuf = true;
      } else insuf = false;
      n = obj(t);
      evals++;
      lsIter++;
      if (n.f > f + 1e-4 * t * gtd || n.f >= bf[low]) {
        [br[high], bf[high], bg[high], bgtd[high]] = [t, n.f, n.g, n.gtd];
        [low, high] = bf[0] <= bf[1] ? [0, 1] : [1, 0];
      } else {
        if (Math.abs(n.gtd) <= -0.9 * gtd) done = true;
        else if (n.gtd * (br[high] - br[low]) >= 0) {
          branches.zoomFlip++;
          [br[high], bf[high], bg[high], bgtd[high]] = [br[low], bf[low], bg[low], bgtd[low]];
        }
        [br[low], bf[low], bg[low], bgtd[low]] = [t, n.f, n.g, n.gtd];
      }
    }
    return { f: bf[low], g: bg[low], t: br[low], evals };
  };
  const step = (): void => {
    let r = evalAt(x);
    let [loss, g] = [r.f, r.g];
    let current = 1;
    if (absMax(g) <= o.tolGrad) return void why.push('gradient at start');
    let nIter = 0;
    while (nIter < o.maxIter) {
      nIter++;
      st.nIter++;
      if (st.nIter === 1) {
        st.d = g.map((v) => -v);
        [st.dirs, st.stps, st.ro, st.H] = [[], [], [], 1];
      } else {
        const y = g.map((v, i) => v - st.prevG[i]), s = st.d.map((v) => v * st.t), ys = dotJs(y, s);
        if (ys > 1e-10) {
          if (st.dirs.length === o.hist) {
            st.dirs.shift();
            st.stps.shift();
            st.ro.shift();
          }
          st.dirs.push(y);
          st.stps.push(s);
          st.ro.push(1 / ys);
          st.H = ys / dotJs(y, y);
        }
        const m = st.dirs.length, al = new Array<number>(m);
        let q = g.map((v) => -v);
        for (let i = m - 1; i >= 0; i--) {
          al[i] = dotJs(st.stps[i], q) * st.ro[i];
          q = q.map((v, j) => v - al[i] * st.dirs[i][j]);
        }
        let dd = q.map((v) => v * st.H);
        for (let i = 0; i < m; i++) {
          const be = dotJs(st.dirs[i], dd) * st.ro[i];
          dd = dd.map((v, j) => v + (al[i] - be) * st.stps[i][j]);
        }
        st.d = dd;
      }
      st.prevG = g.slice();
      st.prevLoss = loss;
      st.t = st.nIter === 1 ? Math.min(1, 1 / g.reduce((a, v) => a + Math.abs(v), 0)) * o.lr : o.lr;
      const gtd = dotJs(g, st.d);
      if (gtd > -o.tolChange) return void why.push('no descent');
      let lsEvals = 0, optCond = false;
      if (o.wolfe) {
        const w = wolfe(x, st.t, st.d, loss, g, gtd, o.maxEval - current);
        [loss, g, st.t, lsEvals] = [w.f, w.g, w.t, w.evals];
        x = x.map((v, i) => v + st.t * st.d[i]);
        optCond = absMax(g) <= o.tolGrad;
      } else {
        x = x.map((v, i) => v + st.t * st.d[i]);
        if (nIter !== o.maxIter) {
          r = evalAt(x);
          [loss, g] = [r.f, r.g];
          optCond = absMax(g) <= o.tolGrad;
          lsEvals = 1;
        }
      }
      current += lsEvals;
      if (nIter === o.maxIter) return void why.push('maxIter');
      if (current >= o.maxEval) return void why.push('maxEval');
      if (optCond) return void why.push('gradient');
      if (absMax(st.d.map((v) => v * st.t)) <= o.tolChange) return void why.push('step');
      if (Math.abs(loss - st.prevLoss) < o.tolChange) return void why.push('loss');
    }
  };
  return { step, seen, why, branches, x: () => x };
}

/** Rosenbrock in n dimensions, Σ (1 − x_i)² + 100 (x_{i+1} − x_i²)², and its gradient. */
function rosenbrockJs(x: number[]): { f: number; g: number[] } {
  let f = 0;
  const g = x.map(() => 0);
  for (let i = 0; i + 1 < x.length; i++) {
    const a = 1 - x[i], b = x[i + 1] - x[i] * x[i];
    f += a * a + 100 * b * b;
    g[i] += -2 * a - 400 * b * x[i];
    g[i + 1] += 200 * b;
  }
  return { f, g };
}

// ---------------------------------------------------------------- L-BFGS

describe(`L-BFGS (seed ${SEED})`, () => {
  test('without a line search, every step is −lr·H·g with H the dense BFGS update of the last historySize pairs', () => {
    const n = 6, hist = 3, maxIter = 12, lr = 0.7;
    const A = spd(rng, n), b = randomArray(rng, n), x0 = randomArray(rng, n, -2, 2);
    const x = param(x0, [n]);
    const opt = new optim.LBFGS([x], { lr, maxIter, historySize: hist, toleranceGrad: 0, toleranceChange: 0 });
    const seen: number[][] = [];
    const q = quadratic(A, b, x, opt, seen);
    const loss = opt.step(q.closure);
    // The reference: the same iteration with dense matrices.
    const grad = (p: number[]) => matVec(A, p).map((v, i) => v - b[i]);
    const ref: number[][] = [x0];
    let xk = x0, gPrev: number[] = [], d: number[] = [], t = 0, gamma = 1;
    const pairs: { s: number[]; y: number[]; rho: number }[] = [];
    for (let k = 1; k <= maxIter; k++) {
      const g = grad(xk);
      if (k === 1) {
        d = g.map((v) => -v);
        t = Math.min(1, 1 / g.reduce((s, v) => s + Math.abs(v), 0)) * lr;
      } else {
        const s = d.map((v) => v * t), y = g.map((v, i) => v - gPrev[i]);
        const ys = dotJs(y, s);
        if (ys > 1e-10) {
          if (pairs.length === hist) pairs.shift();
          pairs.push({ s, y, rho: 1 / ys });
          gamma = ys / dotJs(y, y);
        }
        // H = γI, then H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ for each pair, oldest first.
        let H: Mat = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? gamma : 0)));
        for (const { s: sp, y: yp, rho } of pairs) {
          const V = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0) - rho * yp[i] * sp[j]));
          const HV = H.map((row) => V[0].map((_, j) => row.reduce((acc, h, m) => acc + h * V[m][j], 0)));
          H = V.map((_, i) => HV[0].map((_, j) => V.reduce((acc, row, m) => acc + row[i] * HV[m][j], 0) + rho * sp[i] * sp[j]));
        }
        d = matVec(H, g).map((v) => -v);
        t = lr;
      }
      gPrev = g;
      xk = xk.map((v, i) => v + t * d[i]);
      ref.push(xk);
    }
    // Evaluated at x_0 … x_{maxIter−1}; the parameters end at x_maxIter.
    expect(seen).toHaveLength(maxIter);
    seen.forEach((p, k) => expectClose(p, ref[k], 1e-9, 1e-11, `point ${k}`));
    expectClose(x.dataSync(), ref[maxIter], 1e-9, 1e-11, 'final point');
    expect(opt.nIter).toBe(maxIter);
    expect(opt.funcEvals).toBe(maxIter);
    expect(loss).toBeCloseTo(0.5 * dotJs(x0, matVec(A, x0)) - dotJs(b, x0), 10);
    q.dispose();
    opt.dispose();
    x.dispose();
  });

  test('the strong Wolfe line search: every accepted step of a logistic regression meets both conditions', () => {
    const N = 40, F = 5;
    const X = Array.from({ length: N }, () => randomArray(rng, F, -2, 2));
    const wTrue = randomArray(rng, F, -1.5, 1.5);
    const labels = X.map((row) => (dotJs(row, wTrue) + rng.uniform(-1, 1) > 0 ? 1 : -1));
    // f(w) = mean log(1 + exp(−y xᵀw)) + 0.01‖w‖², in float64 JavaScript.
    const fg = (w: number[]) => {
      let f = 0;
      const g = w.map((v) => 0.02 * v);
      X.forEach((row, i) => {
        const m = -labels[i] * dotJs(row, w);
        // softplus as torch's (and antler's): m itself above the threshold 20 (drops e^-m ≈ 2e-9).
        f += m > 20 ? m : Math.max(m, 0) + Math.log1p(Math.exp(-Math.abs(m)));
        const s = 1 / (1 + Math.exp(-m));
        row.forEach((xv, j) => (g[j] += (-labels[i] * xv * s) / N));
      });
      return { f: f / N + 0.01 * dotJs(w, w), g };
    };
    const w = param(randomArray(rng, F, -3, 3), [F]);
    // toleranceChange 0: stop only when the gradient is below toleranceGrad or the direction stops descending.
    const opt = new optim.LBFGS([w], { maxIter: 1, maxEval: 25, lineSearchFn: 'strong_wolfe', toleranceChange: 0, toleranceGrad: 1e-9 });
    const Xt = tensor(X.flat(), [N, F], { dtype: 'float64' });
    const yt = tensor(labels, [N, 1], { dtype: 'float64' });
    const closure = () => {
      opt.zeroGrad();
      const margins = antler.mul(antler.neg(yt), Xt.matmul(w.reshape([F, 1])));
      const f = antler.add(antler.softplus(margins).mean(), antler.mul(0.01, antler.square(w).sum()));
      f.backward();
      return f;
    };
    let checked = 0;
    for (let k = 0; k < 30; k++) {
      const before = Array.from(w.dataSync());
      const at = fg(before);
      const loss = opt.step(closure);
      expect(loss).toBeCloseTo(at.f, 12);
      const after = Array.from(w.dataSync());
      const s = after.map((v, i) => v - before[i]);
      const gs = dotJs(at.g, s);
      if (s.every((v) => v === 0)) break; // converged
      expect(gs).toBeLessThan(0); // a descent direction
      const next = fg(after);
      expect(next.f).toBeLessThanOrEqual(at.f + 1e-4 * gs + 1e-15);
      // Near the minimum the search may stop short of the conditions, as PyTorch's does: once
      // |gᵀs| is ~1e-16 the loss differences it compares are rounding noise, and once the step is
      // ~1e-9 its bracket collapses below its fixed tolerance. Above that, both must hold.
      if (Math.abs(gs) < 1e-12) continue;
      expect(Math.abs(dotJs(next.g, s))).toBeLessThanOrEqual(0.9 * Math.abs(gs) * (1 + 1e-9));
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(4);
    // Converged: the gradient (in JavaScript) is small.
    expect(Math.max(...fg(Array.from(w.dataSync())).g.map(Math.abs))).toBeLessThan(1e-7);
    Xt.dispose();
    yt.dispose();
    opt.dispose();
    w.dispose();
  });

  test('a NaN gradient makes NaN parameters and a NaN loss, as in PyTorch (not an error from inside the update)', () => {
    // torch 1.13: LBFGS([y]).step(closure) with the loss Σ (√y − 2)·[NaN, 1] returns nan and leaves y = [nan, nan].
    const y = param(randomArray(rng, 2, 0.5, 3), [2]);
    const weights = tensor([NaN, 1], [2], { dtype: 'float64' });
    const opt = new optim.LBFGS([y]);
    const loss = opt.step(() => {
      opt.zeroGrad();
      const l = antler.mul(antler.sub(antler.sqrt(y), 2), weights).sum();
      l.backward();
      return l;
    });
    expect(loss).toBeNaN();
    expect(Array.from(y.dataSync()).every(Number.isNaN)).toBe(true);
    opt.dispose();
    weights.dispose();
    y.dispose();
  });

  const rosenbrock = (x: Tensor) => {
    const a = x.slice([0], [1]), b = x.slice([1], [1]);
    return antler.add(antler.square(antler.sub(1, a)), antler.mul(100, antler.square(antler.sub(b, antler.square(a))))).sum();
  };

  test.each([
    ['float64', [-1.2, 1], 1e-4],
    ['float32', [-1.2, 1], 2e-3],
  ] as const)('Rosenbrock from (−1.2, 1) with strong Wolfe converges (%s)', (dtype, start, tol) => {
    const x = param([...start], [2], dtype);
    const opt = new optim.LBFGS([x], { maxIter: 100, lineSearchFn: 'strong_wolfe' });
    opt.step(() => {
      opt.zeroGrad();
      const f = rosenbrock(x);
      f.backward();
      return f;
    });
    expectClose(x.dataSync(), [1, 1], 0, tol, 'the minimum');
    // PyTorch (1.13 and 2.13) takes 35 iterations and 43 evaluations in float64, and so
    // does this (the same iteration; the last bits of the dot products differ).
    if (dtype === 'float64') {
      expect(opt.nIter).toBe(35);
      expect(opt.funcEvals).toBe(43);
    }
    opt.dispose();
    x.dispose();
  });

  test('the strong Wolfe line search gets only the evaluations the step has left (torch 2\'s max_ls = max_eval − current_evals): a step takes at most maxEval + 1', () => {
    for (const [maxIter, maxEval] of [[10, null], [10, 4], [6, 9], [1, null]] as const) {
      const x = param([-1.2, 1], [2], 'float64');
      const opt = new optim.LBFGS([x], { maxIter, maxEval, historySize: 5, lineSearchFn: 'strong_wolfe' });
      const cap = (maxEval ?? Math.floor((maxIter * 5) / 4)) + 1;
      let before = 0;
      const perStep: number[] = [];
      for (let k = 0; k < 4; k++) {
        opt.step(() => {
          opt.zeroGrad();
          const f = rosenbrock(x);
          f.backward();
          return f;
        });
        perStep.push(opt.funcEvals - before);
        before = opt.funcEvals;
      }
      // Before the cap, the second step of the first run took 14 evaluations (maxEval 12).
      expect({ maxIter, maxEval, within: perStep.every((e) => e <= cap) }).toEqual({ maxIter, maxEval, within: true });
      opt.dispose();
      x.dispose();
    }
  });

  const rosenbrockN = (x: Tensor, n: number) => {
    const a = x.slice([0], [n - 1]), b = x.slice([1], [n - 1]);
    return antler.add(antler.square(antler.sub(1, a)), antler.mul(100, antler.square(antler.sub(b, antler.square(a))))).sum();
  };

  test("the line search's bracket tolerance is PyTorch's fixed 1e-9, not toleranceChange", () => {
    const n = 4, start = randomArray(rng, n, -2, 2);
    const run = (toleranceChange: number) => {
      const x = param(start, [n]);
      const opt = new optim.LBFGS([x], { lr: 5, maxIter: 1, maxEval: 25, lineSearchFn: 'strong_wolfe', toleranceChange });
      opt.step(() => {
        opt.zeroGrad();
        const f = rosenbrockN(x, n);
        f.backward();
        return f;
      });
      const r = { x: Array.from(x.dataSync()), evals: opt.funcEvals };
      opt.dispose();
      x.dispose();
      return r;
    };
    // One iteration: the outer tests on toleranceChange come after the line search.
    const a = run(1e-9), b = run(0.1);
    expect(a.x).not.toEqual(start);
    expect(b.evals).toBe(a.evals);
    expectExact(b.x, a.x, 'the same line search');
  });

  test("over several step() calls, from far and from near the minimum, the points evaluated are torch's: history, direction and step carry over; the first step is min(1, 1/‖g‖₁)·lr", () => {
    const n = 6;
    for (const near of [false, true]) {
      const A = spd(rng, n), b = randomArray(rng, n);
      // Near: a gradient of entries ±(0.01 to 0.1), so ‖g‖₁ < 1 and the first step is lr itself; far, one
      // of entries ±(1 to 2) and a small lr, so ‖g‖₁ > 1 at each step()'s start.
      const g0 = Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1) * (near ? rng.uniform(0.01, 0.1) : rng.uniform(1, 2)));
      const x0 = solve(A, b.map((v, i) => v + g0[i]));
      const [lr, maxIter, calls] = near ? [1, 3, 2] : [0.1, 4, 3];
      const fg = (p: number[]) => {
        const Ap = matVec(A, p);
        return { f: 0.5 * dotJs(p, Ap) - dotJs(b, p), g: Ap.map((v, i) => v - b[i]) };
      };
      const l1 = (p: number[]) => fg(p).g.reduce((s, v) => s + Math.abs(v), 0);
      const ref = torchLbfgs(fg, x0, { lr, maxIter, maxEval: Math.floor((maxIter * 5) / 4), tolGrad: 0, tolChange: 0, hist: 3, wolfe: false });
      for (let c = 0; c < calls; c++) ref.step();
      if (near) expect(l1(x0)).toBeLessThan(1);
      else for (let c = 1; c < calls; c++) expect(l1(ref.seen[c * maxIter])).toBeGreaterThan(1);
      const x = param(x0, [n]);
      const opt = new optim.LBFGS([x], { lr, maxIter, historySize: 3, toleranceGrad: 0, toleranceChange: 0 });
      const seen: number[][] = [];
      const q = quadratic(A, b, x, opt, seen);
      for (let c = 0; c < calls; c++) opt.step(q.closure);
      expect(seen).toHaveLength(ref.seen.length);
      seen.forEach((p, k) => expectClose(p, ref.seen[k], 1e-9, 1e-12, `near ${near}, point ${k}`));
      expectClose(x.dataSync(), ref.x(), 1e-9, 1e-12, `near ${near}, final point`);
      q.dispose();
      opt.dispose();
      x.dispose();
    }
  });

  test('toleranceChange stops a step when the loss changes by less, before the step itself is that small (as torch)', () => {
    const n = 5, lr = 0.1;
    const A = spd(rng, n), b = randomArray(rng, n);
    const fg = (p: number[]) => {
      const Ap = matVec(A, p);
      return { f: 0.5 * dotJs(p, Ap) - dotJs(b, p), g: Ap.map((v, i) => v - b[i]) };
    };
    // A start whose gradient has entries of ±(0.03 to 0.07): ‖g‖₁ < 1, so the first step is lr·(−g), and
    // its change in loss (≈ lr‖g‖²) is well below both ‖g‖² (the slope the direction test compares) and
    // lr·max|g| (the step the step test compares). A toleranceChange just above it stops on the loss,
    // where the next iteration would still have descended (lr is small) and moved.
    const g0 = Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.03, 0.07));
    const x0 = solve(A, b.map((v, i) => v + g0[i]));
    const x1 = x0.map((v, i) => v - lr * g0[i]);
    const change = Math.abs(fg(x1).f - fg(x0).f), other = Math.min(dotJs(g0, g0), lr * Math.max(...g0.map(Math.abs)));
    const tolChange = 1.5 * change;
    expect(tolChange).toBeLessThan(other);
    const ref = torchLbfgs(fg, x0, { lr, maxIter: 50, maxEval: 62, tolGrad: 1e-12, tolChange, hist: 10, wolfe: false });
    ref.step();
    expect(ref.why).toEqual(['loss']);
    expect(ref.seen).toHaveLength(2);
    const x = param(x0, [n]);
    const opt = new optim.LBFGS([x], { lr, maxIter: 50, toleranceGrad: 1e-12, toleranceChange: tolChange });
    const seen: number[][] = [];
    const q = quadratic(A, b, x, opt, seen);
    opt.step(q.closure);
    // A second step() goes on from the state the stop left (the last step's pair is taken then).
    ref.step();
    opt.step(q.closure);
    expect(seen).toHaveLength(ref.seen.length);
    seen.forEach((p, k) => expectClose(p, ref.seen[k], 1e-12, 1e-14, `point ${k}`));
    expectClose(x.dataSync(), ref.x(), 1e-12, 1e-14, 'final point');
    q.dispose();
    opt.dispose();
    x.dispose();
  });

  test("the strong Wolfe line search tries the points torch's does, through its rarer branches, on Rosenbrock from random starts", () => {
    const totals = { zoomLowIsSecond: 0, zoomFlip: 0 };
    // At least 8 starts, and more (up to 40) until one took a rarer branch (with seed 308 the first 8 took none).
    for (let k = 0; k < 40 && (k < 8 || totals.zoomLowIsSecond + totals.zoomFlip === 0); k++) {
      const n = rng.int(2, 5), start = randomArray(rng, n, -2, 2), lr = rng.uniform(0.3, 3), hist = rng.int(2, 6);
      const ref = torchLbfgs(rosenbrockJs, start, { lr, maxIter: 6, maxEval: 30, tolGrad: 1e-7, tolChange: 1e-9, hist, wolfe: true });
      const x = param(start, [n]);
      const opt = new optim.LBFGS([x], { lr, maxIter: 6, maxEval: 30, historySize: hist, lineSearchFn: 'strong_wolfe' });
      try {
        const seen: number[][] = [];
        for (let c = 0; c < 2; c++) {
          ref.step();
          opt.step(() => {
            opt.zeroGrad();
            seen.push(Array.from(x.dataSync()));
            const f = rosenbrockN(x, n);
            f.backward();
            return f;
          });
        }
        expect({ start: k, evaluations: seen.length }).toEqual({ start: k, evaluations: ref.seen.length });
        // Both run in float64 but round differently (tensor sums against JavaScript loops), and Rosenbrock's
        // curvature grows that along up to 30 evaluations (seed 3948602139: 6e-10 at 2.6e-3 by the 18th).
        // A different branch or rule changes the points by far more.
        const scale = Math.max(1, ...ref.seen.flat().map(Math.abs));
        seen.forEach((p, i) => expectClose(p, ref.seen[i], 1e-5, 1e-6 * scale, `start ${k}, evaluation ${i}`));
        for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += ref.branches[key];
      } finally {
        opt.dispose();
        x.dispose();
      }
    }
    // The starts took the zoom through its rarer branches (a bracket whose second end is the lower, a flip), so the comparison covers them.
    expect(totals.zoomLowIsSecond + totals.zoomFlip).toBeGreaterThan(0);
  });

  test("the strong Wolfe line search's rarer branches, on 1-D functions that reach them: the points tried are torch's", () => {
    // f(x) = −x + c·x⁴ + s·sin(w·x) from x = 0 (slope −1, so the first trial is t = lr), three iterations.
    // Found by searching the transcription for functions on which the points tried change when one of
    // these is changed: the search brackets on f ≥ f_prev only from its second extrapolation on (two
    // cases), a zoom trial not below the bracket's low end replaces its high end even with sufficient
    // decrease (two), the zoom starts from the bracket end with the lower f (two).
    const cases = [
      { c: 0.08, s: 0.06, w: 9.36, lr: 2.69 },
      { c: 0.02, s: 0.08, w: 8.88, lr: 6.57 },
      { c: 0.05, s: 0.15, w: 4.83, lr: 0.36 },
      { c: 0.05, s: 0.09, w: 8.47, lr: 1.77 },
      { c: 0.38, s: 0.1, w: 9.19, lr: 2.4 },
      { c: 0.06, s: 0.08, w: 8.48, lr: 6.07 },
    ];
    for (const { c, s, w, lr } of cases) {
      const fg = (p: number[]) => ({ f: -p[0] + c * p[0] ** 4 + s * Math.sin(w * p[0]), g: [-1 + 4 * c * p[0] ** 3 + s * w * Math.cos(w * p[0])] });
      const ref = torchLbfgs(fg, [0], { lr, maxIter: 3, maxEval: 25, tolGrad: 1e-9, tolChange: 1e-9, hist: 5, wolfe: true });
      ref.step();
      const x = param([0], [1]);
      const opt = new optim.LBFGS([x], { lr, maxIter: 3, maxEval: 25, toleranceGrad: 1e-9, historySize: 5, lineSearchFn: 'strong_wolfe' });
      const seen: number[][] = [];
      opt.step(() => {
        opt.zeroGrad();
        seen.push(Array.from(x.dataSync()));
        const f = antler.add(antler.add(antler.neg(x), antler.mul(c, antler.pow(x, 4))), antler.mul(s, antler.sin(antler.mul(w, x)))).sum();
        f.backward();
        return f;
      });
      expect({ c, evaluations: seen.length }).toEqual({ c, evaluations: ref.seen.length });
      expectClose(seen.flat(), ref.seen.flat(), 1e-9, 1e-12, `c ${c}, s ${s}, w ${w}, lr ${lr}`);
      opt.dispose();
      x.dispose();
    }
  });

  test('a closure that throws inside the line search: the parameters go back to the last accepted point, nothing leaks, the next step starts afresh', () => {
    const n = 4, start = randomArray(rng, n, -2, 2);
    const x = param(start, [n]);
    const opt = new optim.LBFGS([x], { maxIter: 3, lineSearchFn: 'strong_wolfe' });
    let calls = 0, failAt = -1;
    const closure = () => {
      if (++calls === failAt) throw new Error('data loader failed');
      opt.zeroGrad();
      const f = rosenbrockN(x, n);
      f.backward();
      return f;
    };
    opt.step(closure);
    const base = tensorCounts().numTensors;
    const accepted = Array.from(x.dataSync());
    failAt = calls + 2; // the first trial point of the next step's line search
    expect(() => opt.step(closure)).toThrow('data loader failed');
    expectExact(x.dataSync(), accepted, 'back at the last accepted point');
    // The state is dropped (its last pair was never taken): x.grad alone remains.
    expect(tensorCounts().numTensors).toBeLessThanOrEqual(base);
    expect(opt.nIter).toBe(0);
    // The next step is a first step again, from the same point.
    const fresh = param(accepted, [n]);
    const ref = new optim.LBFGS([fresh], { maxIter: 3, lineSearchFn: 'strong_wolfe' });
    ref.step(() => {
      ref.zeroGrad();
      const f = rosenbrockN(fresh, n);
      f.backward();
      return f;
    });
    opt.step(closure);
    expectExact(x.dataSync(), fresh.dataSync(), 'the same as a new optimizer');
    for (const o of [opt, ref]) o.dispose();
    for (const t of [x, fresh]) t.dispose();
  });

  test('Rosenbrock from a random start converges, over repeated step() calls', () => {
    const x = param([rng.uniform(-2, 2), rng.uniform(-1, 3)], [2]);
    const opt = new optim.LBFGS([x], { lineSearchFn: 'strong_wolfe', toleranceChange: 0, toleranceGrad: 1e-10 });
    for (let k = 0; k < 20; k++)
      opt.step(() => {
        opt.zeroGrad();
        const f = rosenbrock(x);
        f.backward();
        return f;
      });
    expectClose(x.dataSync(), [1, 1], 0, 1e-6, 'the minimum');
    opt.dispose();
    x.dispose();
  });

  test('fit() with L-BFGS solves least squares: the weights of the normal equations', async () => {
    const N = 64, F = 4;
    const X = Array.from({ length: N }, () => randomArray(rng, F, -1, 1));
    const wTrue = randomArray(rng, F, -2, 2), bTrue = rng.uniform(-1, 1);
    const Y = X.map((row) => dotJs(row, wTrue) + bTrue + 0.1 * rng.uniform(-1, 1));
    // Normal equations for [w, b]: (Zᵀ Z) θ = Zᵀ y with Z = [X, 1].
    const Z = X.map((row) => [...row, 1]);
    const ZtZ = Array.from({ length: F + 1 }, (_, i) => Array.from({ length: F + 1 }, (_, j) => Z.reduce((s, row) => s + row[i] * row[j], 0)));
    const Zty = Array.from({ length: F + 1 }, (_, i) => Z.reduce((s, row, r) => s + row[i] * Y[r], 0));
    const theta = solve(ZtZ, Zty);

    const model = new nn.Linear(F, 1, { dtype: 'float64' });
    const opt = new optim.LBFGS(model.parameters(), { maxIter: 50, lineSearchFn: 'strong_wolfe', toleranceGrad: 1e-13, toleranceChange: 0 });
    const x = tensor(X.flat(), [N, F], { dtype: 'float64' });
    const y = tensor(Y, [N, 1], { dtype: 'float64' });
    const history = await fit(model, { data: { x, y }, loss: 'mse', optimizer: opt, epochs: 2, batchSize: N, verbose: 0 });
    // The line search compares losses, which resolve θ only to about √ε; over 200
    // random problems the worst relative error was 4e-8.
    expectClose(model.weight.dataSync(), theta.slice(0, F), 1e-6, 1e-8, 'weight');
    expectClose(model.bias!.dataSync(), [theta[F]], 1e-6, 1e-8, 'bias');
    // The loss fit() logs is the loss at each step's start: the second is the minimum.
    const resid = Y.map((v, i) => dotJs(X[i], theta.slice(0, F)) + theta[F] - v);
    expect(history.history.loss[1]).toBeCloseTo(dotJs(resid, resid) / N, 10);
    for (const t of [x, y]) t.dispose();
    opt.dispose();
    model.dispose();
  });

  test('toleranceGrad, maxEval and the returned loss', () => {
    const n = 3;
    const A = spd(rng, n), b = randomArray(rng, n), x0 = randomArray(rng, n);
    // A gradient already below toleranceGrad: one evaluation, nothing moves.
    const x = param(x0, [n]);
    let opt = new optim.LBFGS([x], { toleranceGrad: 1e6 });
    let seen: number[][] = [];
    let q = quadratic(A, b, x, opt, seen);
    opt.step(q.closure);
    expect(seen).toHaveLength(1);
    expectExact(x.dataSync(), x0, 'unchanged');
    expect(opt.nIter).toBe(0);
    q.dispose();
    opt.dispose();
    // maxEval caps the evaluations of a step without a line search.
    opt = new optim.LBFGS([x], { maxIter: 20, maxEval: 5, toleranceGrad: 0, toleranceChange: 0 });
    seen = [];
    q = quadratic(A, b, x, opt, seen);
    const loss = opt.step(q.closure);
    expect(seen).toHaveLength(5);
    expect(opt.funcEvals).toBe(5);
    expect(loss).toBeCloseTo(0.5 * dotJs(x0, matVec(A, x0)) - dotJs(b, x0), 12);
    // The default maxEval is maxIter · 5/4, fixed at construction as in PyTorch.
    expect(new optim.LBFGS([x], { maxIter: 20 }).paramGroups[0].maxEval).toBe(25);
    expect(new optim.LBFGS([x], { maxIter: 7 }).paramGroups[0].maxEval).toBe(8);
    q.dispose();
    opt.dispose();
    x.dispose();
  });

  test('memory: the history is bounded by historySize and dispose() frees it', () => {
    const n = 5;
    const A = spd(rng, n), b = randomArray(rng, n);
    const x = param(randomArray(rng, n, -3, 3), [n]);
    const opt = new optim.LBFGS([x], { maxIter: 1, historySize: 4, toleranceGrad: 0, toleranceChange: 0 });
    const q = quadratic(A, b, x, opt, []);
    const base = tensorCounts().numTensors;
    const counts: number[] = [];
    for (let k = 0; k < 30; k++) {
      opt.step(q.closure);
      counts.push(tensorCounts().numTensors - base);
    }
    // x.grad, the previous gradient, the direction and 4 pairs: flat after the history fills.
    expect(counts[29]).toBe(counts[9]);
    expect(counts[29]).toBe(1 + 1 + 1 + 2 * 4);
    opt.dispose();
    expect(tensorCounts().numTensors - base).toBe(1); // x.grad
    q.dispose();
    x.dispose();
  });

  test('bad arguments throw AntlerError and change nothing', () => {
    const x = param([1, 2], [2]);
    const y = param([3], [1], 'float32');
    expectAntlerError(() => new optim.LBFGS([{ params: [x] }, { params: [param([0], [1])] }]), 'INVALID_ARGUMENT', /parameter groups are not supported/);
    expectAntlerError(() => new optim.LBFGS([x, y]), 'DTYPE_MISMATCH', /parameter 0 is float64 on cpu, parameter 1 is float32 on cpu/);
    expectAntlerError(() => new optim.LBFGS([x], { lineSearchFn: 'armijo' as never }), 'INVALID_ARGUMENT', /lineSearchFn must be null or 'strong_wolfe'; got 'armijo'/);
    expectAntlerError(() => new optim.LBFGS([x], { historySize: 0 }), 'INVALID_ARGUMENT', /historySize/);
    expectAntlerError(() => new optim.LBFGS([x], { maxIter: 1.5 }), 'INVALID_ARGUMENT', /maxIter/);
    expectAntlerError(() => new optim.LBFGS([x], { toleranceGrad: -1 }), 'INVALID_ARGUMENT', /toleranceGrad must be >= 0/);
    expectAntlerError(() => new optim.LBFGS([x], { lr: -1 }), 'INVALID_ARGUMENT', /^LBFGS: lr must be ≥ 0; got -1$/);
    expectAntlerError(() => new optim.LBFGS([x], { max_iter: 3 } as never), 'INVALID_ARGUMENT', /max_iter/);
    const opt = new optim.LBFGS([x]);
    expectAntlerError(() => opt.step(), 'INVALID_ARGUMENT', /a closure is required/);
    expectAntlerError(() => opt.step(() => tidy(() => x.mul(2))), 'SHAPE_MISMATCH', /scalar Tensor or a number; got a Tensor of shape \[2\]/);
    expectAntlerError(() => opt.step((() => 'loss') as never), 'INVALID_ARGUMENT', /got 'loss'/);
    expectAntlerError(() => antler.noGrad(() => opt.step(() => 1)), 'INVALID_ARGUMENT', /grad mode/);
    expectExact(x.dataSync(), [1, 2], 'x unchanged');
    opt.dispose();
    y.dispose();
    x.dispose();
    expectAntlerError(() => opt.step(() => 1), 'DISPOSED', /parameter 0 .* has been disposed/);
  });
});

// ---------------------------------------------------------------- AdaHessian

type AdaOpts = Omit<optim.AdaHessianOptions, 'nProbes' | 'hvp' | 'fdStep' | 'seed'>;

/** |D| averaged as AdaHessian does: over dims ≥ 2 (rank ≥ 3), or over blocks along a matrix's rows. */
function spatialRef(d: number[], shape: number[], o: AdaOpts): number[] {
  const a = d.map(Math.abs);
  if (shape.length >= 3 && o.averageConvKernel) {
    const inner = shape.slice(2).reduce((x, y) => x * y, 1);
    return a.map((_, i) => {
      const start = Math.floor(i / inner) * inner;
      return a.slice(start, start + inner).reduce((s, v) => s + v, 0) / inner;
    });
  }
  if (shape.length === 2 && o.blockSize !== null) {
    const cols = shape[1], bs = Math.min(o.blockSize, cols), whole = Math.floor(cols / bs) * bs;
    return a.map((_, i) => {
      const row = Math.floor(i / cols), col = i % cols;
      // Whole blocks of bs entries, then what is left of the row as one block.
      const [lo, hi] = col < whole ? [col - (col % bs), col - (col % bs) + bs] : [whole, cols];
      const seg = a.slice(row * cols + lo, row * cols + hi);
      return seg.reduce((s, v) => s + v, 0) / seg.length;
    });
  }
  return a;
}

/**
 * A separable quadratic over several parameters, L = Σ ½ h ⊙ (θ − c)², whose
 * Hessian is diagonal, so z ⊙ H z = h whatever z is.
 */
function separable(r: Rng, shapes: number[][], dtype: 'float32' | 'float64' = 'float64') {
  const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const h = shapes.map((s) => randomArray(r, size(s), 0.5, 3));
  const c = shapes.map((s) => randomArray(r, size(s)));
  const theta0 = shapes.map((s) => randomArray(r, size(s), -2, 2));
  const params = shapes.map((s, i) => param(theta0[i], s, dtype));
  const ht = shapes.map((s, i) => tensor(h[i], s, { dtype }));
  const ct = shapes.map((s, i) => tensor(c[i], s, { dtype }));
  let calls = 0;
  const closure = (opt: { zeroGrad(): void }) => () => {
    calls++;
    opt.zeroGrad();
    let L: Tensor | null = null;
    params.forEach((p, i) => {
      const term = antler.mul(0.5, antler.mul(ht[i], antler.square(antler.sub(p, ct[i]))).sum());
      L = L ? antler.add(L, term) : term;
    });
    L!.backward();
    return L!;
  };
  return {
    h, c, theta0, params, closure,
    calls: () => calls,
    dispose: () => [...params, ...ht, ...ct].forEach((t) => t.dispose()),
  };
}

/**
 * AdaHessian's update transcribed in float64 for parameter i of separable(), whose z ⊙ H z is h for
 * every z: θ after `steps` steps with the options o (the parameter's group's).
 */
function separableRef(q: ReturnType<typeof separable>, i: number, shape: number[], o: AdaOpts, steps: number): number[] {
  const theta = q.theta0[i].slice(), n = theta.length;
  const m = new Array<number>(n).fill(0), v = new Array<number>(n).fill(0);
  const D = spatialRef(q.h[i], shape, o);
  let refreshes = 0;
  for (let s = 1; s <= steps; s++) {
    const g = theta.map((x, j) => q.h[i][j] * (x - q.c[i][j]));
    for (let j = 0; j < n; j++) m[j] = o.betas[0] * m[j] + (1 - o.betas[0]) * g[j];
    if ((s - 1) % o.updateEach === 0) {
      refreshes++;
      for (let j = 0; j < n; j++) v[j] = o.betas[1] * v[j] + (1 - o.betas[1]) * D[j] * D[j];
    }
    const bc1 = 1 - o.betas[0] ** s, bc2 = 1 - o.betas[1] ** refreshes;
    for (let j = 0; j < n; j++) {
      const denom = (v[j] / bc2) ** (o.hessianPower / 2) + o.eps;
      theta[j] = theta[j] - o.lr * (m[j] / bc1 / denom + o.weightDecay * theta[j]);
    }
  }
  return theta;
}

describe(`AdaHessian (seed ${SEED})`, () => {
  test.each(['forward', 'central', 'exact'] as const)('on a diagonal quadratic, lr 1, β1 0, k 1, ε → 0, one step reaches the minimum (%s products)', (hvp) => {
    const q = separable(rng, [[7], [3, 4]]);
    const opt = new optim.AdaHessian(q.params, { lr: 1, betas: [0, 0.5], eps: 1e-14, hvp });
    opt.step(q.closure(opt));
    q.params.forEach((p, i) => expectClose(p.dataSync(), q.c[i], 0, 1e-6, `param ${i}`));
    expect(q.calls()).toBe({ forward: 2, central: 3, exact: 1 }[hvp]);
    expect(opt.lastHvpMethod).toBe(hvp);
    opt.dispose();
    q.dispose();
  });

  test('several steps match a float64 transcription of the update: moments, bias corrections by steps and refreshes, k, weight decay, spatial averaging', () => {
    const shapes = [[5], [3, 7], [2, 3, 2, 2], [2, 2, 3]];
    const q = separable(rng, shapes);
    const o: AdaOpts = { lr: 0.05, betas: [0.8, 0.95], eps: 1e-3, weightDecay: 0.1, hessianPower: 0.5, averageConvKernel: true, blockSize: 3, updateEach: 2 };
    const opt = new optim.AdaHessian(q.params, { ...o, nProbes: 2 });
    const steps = 7;
    for (let s = 0; s < steps; s++) opt.step(q.closure(opt));
    // Exact products (the default, 'auto', for this loss): one evaluation per step, the probes
    // are backward passes through its graph.
    expect(opt.lastHvpMethod).toBe('exact');
    expect(q.calls()).toBe(steps);

    shapes.forEach((shape, i) => expectClose(q.params[i].dataSync(), separableRef(q, i, shape, o, steps), 1e-6, 1e-9, `param ${i} [${shape.join(', ')}]`));
    opt.dispose();
    q.dispose();
  });

  test('spatial averaging: kernels of rank ≥ 3, blocks of a matrix (with a shorter last block), vectors never', () => {
    const shapes = [[4], [2, 8], [3, 2, 5], [2, 2, 3, 3]];
    for (const o of [
      { blockSize: 3, averageConvKernel: true },
      { blockSize: null, averageConvKernel: false },
      { blockSize: 8, averageConvKernel: true },
    ]) {
      const q = separable(rng, shapes);
      const opt = new optim.AdaHessian(q.params, { lr: 0, betas: [0, 0], ...o });
      opt.step(q.closure(opt));
      const full = { lr: 0, betas: [0, 0] as [number, number], eps: 0, weightDecay: 0, hessianPower: 1, updateEach: 1, ...o };
      // With β2 = 0, v = D².
      q.params.forEach((p, i) => {
        const v = (opt.state.get(p)!.expHessianDiagSq as Tensor).dataSync();
        expectClose(Array.from(v, Math.sqrt), spatialRef(q.h[i], shapes[i], full), 1e-6, 1e-9, `[${shapes[i].join(', ')}] ${JSON.stringify(o)}`);
      });
      opt.dispose();
      q.dispose();
    }
  });

  test('parameter groups with their own hessianPower, averageConvKernel, blockSize, weightDecay and lr each step by their own', () => {
    const shapes = [[5], [3, 7], [2, 3, 2, 2], [2, 2, 3]];
    const q = separable(rng, shapes);
    const defaults = { betas: [0.8, 0.95] as [number, number], eps: 1e-3, updateEach: 2, hessianPower: 0.8, averageConvKernel: true, blockSize: null, weightDecay: 0, lr: 0.03 };
    const groups = [
      { hessianPower: 0.5, blockSize: 3, weightDecay: 0.1, lr: 0.05 },
      { hessianPower: 1, averageConvKernel: false, betas: [0.5, 0.9] as [number, number] },
    ];
    const opt = new optim.AdaHessian([{ params: [q.params[0], q.params[1]], ...groups[0] }, { params: [q.params[2], q.params[3]], ...groups[1] }], { ...defaults, nProbes: 2 });
    const steps = 5;
    for (let s = 0; s < steps; s++) opt.step(q.closure(opt));
    shapes.forEach((shape, i) => {
      const o: AdaOpts = { ...defaults, ...groups[i < 2 ? 0 : 1] };
      expectClose(q.params[i].dataSync(), separableRef(q, i, shape, o, steps), 1e-6, 1e-9, `param ${i} [${shape.join(', ')}]`);
    });
    opt.dispose();
    q.dispose();
  });

  test('addParamGroup mid-training: the new group steps by its own options from fresh moments; the whole-step options are refused in it', () => {
    const shapes = [[5], [3, 7], [2, 2, 3]];
    const q = separable(rng, shapes);
    const defaults = { betas: [0.8, 0.95] as [number, number], eps: 1e-3, updateEach: 1, hessianPower: 0.8, averageConvKernel: true, blockSize: null, weightDecay: 0, lr: 0.03 };
    const added = { hessianPower: 0.5, weightDecay: 0.1, lr: 0.05 };
    const opt = new optim.AdaHessian([q.params[0], q.params[1]], { ...defaults, nProbes: 2 });
    const before = 3, after = 4;
    for (let s = 0; s < before; s++) opt.step(q.closure(opt));
    for (const k of ['nProbes', 'updateEach', 'hvp', 'fdStep', 'seed'])
      expectAntlerError(() => opt.addParamGroup({ params: [q.params[2]], [k]: k === 'hvp' ? 'exact' : 2 }), 'INVALID_ARGUMENT', new RegExp(`addParamGroup: ${k} applies to the whole step`));
    expect(opt.paramGroups.length).toBe(1);
    opt.addParamGroup({ params: [q.params[2]], ...added });
    for (let s = 0; s < after; s++) opt.step(q.closure(opt));
    expectClose(q.params[0].dataSync(), separableRef(q, 0, shapes[0], defaults, before + after), 1e-6, 1e-9, 'param 0');
    expectClose(q.params[2].dataSync(), separableRef(q, 2, shapes[2], { ...defaults, ...added }, after), 1e-6, 1e-9, 'the added param');
    opt.dispose();
    q.dispose();
  });

  test('with a Hessian that is not diagonal, |z ⊙ H z| is averaged over kernels and blocks after the absolute value (as the paper\'s code)', () => {
    // L = ½ vᵀ A v, v the entries of a kernel W [3, 2, 4] and a matrix M [2, 6] (blockSize 3), A symmetric
    // and indefinite, so z ⊙ A z has entries of both signs within a kernel or a block. With forward
    // differences of step h, the closure's second point is θ + h z: z is read from it.
    const n = 36, h = 1e-3;
    const R = Array.from({ length: n }, () => randomArray(rng, n, -1, 1));
    const A = R.map((row, i) => row.map((_, j) => (R[i][j] + R[j][i]) / 2));
    const W = param(randomArray(rng, 24), [3, 2, 4]), M = param(randomArray(rng, 12), [2, 6]);
    const At = tensor(A.flat(), [n, n], { dtype: 'float64' });
    const opt = new optim.AdaHessian([W, M], { lr: 0, betas: [0, 0], eps: 0, hvp: 'forward', fdStep: h, blockSize: 3 });
    const points: number[][] = [];
    opt.step(() => {
      opt.zeroGrad();
      points.push([...W.dataSync(), ...M.dataSync()]);
      const v = antler.concat([W.reshape([24]), M.reshape([12])], 0);
      const L = antler.mul(0.5, antler.mul(v, At.matmul(v.reshape([n, 1])).reshape([n])).sum());
      L.backward();
      return L;
    });
    expect(points).toHaveLength(2);
    const z = points[1].map((x, i) => Math.sign(x - points[0][i]));
    expect(z.every((v) => v === 1 || v === -1)).toBe(true);
    const raw = matVec(A, z).map((v, i) => z[i] * v);
    const full = { lr: 0, betas: [0, 0] as [number, number], eps: 0, weightDecay: 0, hessianPower: 1, updateEach: 1, averageConvKernel: true, blockSize: 3 };
    const want = [...spatialRef(raw.slice(0, 24), [3, 2, 4], full), ...spatialRef(raw.slice(24), [2, 6], full)];
    const got = [W, M].flatMap((t) => Array.from((opt.state.get(t)!.expHessianDiagSq as Tensor).dataSync(), Math.sqrt));
    expectClose(got, want, 1e-8, 1e-10, 'D');
    // The case needs mixed signs within some kernel (of 4) and some block (of 3).
    const mixed = (from: number, to: number, len: number) =>
      Array.from({ length: (to - from) / len }, (_, k) => raw.slice(from + k * len, from + (k + 1) * len)).some((seg) => seg.some((v) => v > 0) && seg.some((v) => v < 0));
    expect([mixed(0, 24, 4), mixed(24, 36, 3)]).toEqual([true, true]);
    opt.dispose();
    antler.dispose([W, M, At]);
  });

  test('each probe gives z ⊙ (H z) itself across tensors of very different scales (one difference step for all)', () => {
    // L = ½(p² + q²) + p·q with p = 100, q = 0: H = [[1, 1], [1, 1]], so z ⊙ H z is (1 + z_p z_q)·(1, 1) ∈ {0, 2}².
    // Steps per tensor (before) scaled the cross term by h_q/h_p: D_q came out near 100 where it is 0 or 2.
    for (const hvp of ['forward', 'central', 'exact'] as const)
      for (let k = 0; k < 4; k++) {
        const pv = param([100], [1]), qv = param([0], [1]);
        const opt = new optim.AdaHessian([pv, qv], { lr: 0, betas: [0, 0], eps: 0, hvp, seed: rng.int(1, 1e6) });
        const closure = () => {
          opt.zeroGrad();
          const L = antler.add(antler.mul(antler.add(antler.square(pv), antler.square(qv)), 0.5), antler.mul(pv, qv)).sum();
          L.backward();
          return L;
        };
        opt.step(closure);
        const D = [pv, qv].map((t) => Math.sqrt((opt.state.get(t)!.expHessianDiagSq as Tensor).dataSync()[0]));
        expect(Math.abs(D[0] - D[1])).toBeLessThan(1e-6);
        expect(Math.min(Math.abs(D[0]), Math.abs(D[0] - 2))).toBeLessThan(1e-6);
        opt.dispose();
        antler.dispose([pv, qv]);
      }
  });

  test("Hutchinson's estimate is unbiased: with many probes, D → diag(H) of a dense Hessian", () => {
    const n = 4, probes = 2000;
    const A = spd(rng, n), b = randomArray(rng, n);
    const x = param(randomArray(rng, n), [n]);
    const opt = new optim.AdaHessian([x], { lr: 0, betas: [0, 0], nProbes: probes, hvp: 'central' });
    const q = quadratic(A, b, x, opt, []);
    opt.step(q.closure);
    const D = Array.from((opt.state.get(x)!.expHessianDiagSq as Tensor).dataSync(), Math.sqrt);
    // Var(z_i (Hz)_i) = Σ_{j≠i} H_ij²: allow 6 standard errors (the mean of 2,000 sums of 3 independent signs is
    // near normal: 2e-9 a check; 5 of them was 5.7e-7 a check, 2.3e-6 a run of the n = 4 checks).
    A.forEach((row, i) => {
      const se = Math.sqrt(row.reduce((s, v, j) => s + (j === i ? 0 : v * v), 0) / probes);
      expect(Math.abs(D[i] - row[i])).toBeLessThan(6 * se + 1e-9);
    });
    q.dispose();
    opt.dispose();
    x.dispose();
  });

  test('the probes see the same dropout masks, and later draws are those one evaluation would leave', () => {
    // Exact products (auto) and finite differences, whose probes call the closure again (the generator rewound each time).
    for (const hvp of ['auto', 'forward', 'central'] as const) {
      const n = 64, p = 0.5;
      const cvals = randomArray(rng, n, 0.5, 2);
      const w0 = randomArray(rng, n, 0.5, 2);
      const run = (seed: number) => {
        antler.setSeed(seed);
        const w = param(w0, [n]);
        const c = tensor(cvals, [n], { dtype: 'float64' });
        // With a seed of its own, the optimizer takes no draw from the global generator.
        const opt = new optim.AdaHessian([w], { lr: 0, betas: [0, 0], seed: 7, hvp });
        // L = Σ mask ⊙ c ⊙ w², the mask drawn from the global generator at each call.
        const closure = () => {
          opt.zeroGrad();
          const mask = antler.dropout(antler.ones([n], { dtype: 'float64' }), p);
          const L = antler.mul(mask, antler.mul(c, antler.square(w))).sum();
          L.backward();
          return L;
        };
        opt.step(closure);
        const g = Array.from(w.grad!.dataSync());
        const D = Array.from((opt.state.get(w)!.expHessianDiagSq as Tensor).dataSync(), Math.sqrt);
        const next = tidy(() => antler.rand([4], { dtype: 'float64' }).dataSync());
        opt.dispose();
        c.dispose();
        w.dispose();
        return { g, D, next, closure };
      };
      const seed = rng.u32();
      const r = run(seed);
      // H = diag(2 mask c) and g = 2 mask c w, so D = g / w when every evaluation used the same mask.
      expectClose(r.D, r.g.map((v, i) => Math.abs(v / w0[i])), 1e-6, 1e-9, `${hvp}: D = |g / w|`);
      expect(r.g.some((v) => v === 0) && r.g.some((v) => v !== 0)).toBe(true);
      // The draws after step() are those after one evaluation of the closure.
      antler.setSeed(seed);
      const next = tidy(() => {
        antler.dropout(antler.ones([n], { dtype: 'float64' }), p);
        return antler.rand([4], { dtype: 'float64' }).dataSync();
      });
      expectExact(r.next, next, `${hvp}: the global generator after step()`);
    }
  });

  test('step() returns the loss at θ, leaves ∇L(θ) in .grad and, with lr 0, every parameter bit for bit', () => {
    const q = separable(rng, [[6], [2, 3]], 'float32');
    const opt = new optim.AdaHessian(q.params, { lr: 0 });
    const closure = q.closure(opt);
    const loss = opt.step(closure);
    q.params.forEach((p, i) => {
      expectExact(p.dataSync(), Float32Array.from(q.theta0[i]), `param ${i}`);
      const g = q.theta0[i].map((x, j) => Math.fround(q.h[i][j]) * (Math.fround(x) - Math.fround(q.c[i][j])));
      expectClose(p.grad!.dataSync(), g, 1e-5, 1e-6, `grad ${i}`);
    });
    let ref = 0;
    q.params.forEach((_, i) => q.theta0[i].forEach((x, j) => (ref += 0.5 * q.h[i][j] * (x - q.c[i][j]) ** 2)));
    expectClose([loss], [ref], 1e-5, 0, 'loss');
    opt.dispose();
    q.dispose();
  });

  test('fit() with AdaHessian trains a classifier (three Gaussian blobs) to ≥ 95% accuracy', async () => {
    const N = 300;
    const centers = [[0, 2], [-1.8, -1], [1.8, -1]];
    const xs: number[] = [], ys: number[] = [];
    for (let i = 0; i < N; i++) {
      const k = i % 3;
      xs.push(centers[k][0] + rng.uniform(-1, 1), centers[k][1] + rng.uniform(-1, 1));
      ys.push(k);
    }
    const model = new nn.Sequential(new nn.Linear(2, 16), new nn.Tanh(), new nn.Linear(16, 3));
    const opt = new optim.AdaHessian(model.parameters(), { seed: rng.u32() });
    const x = tensor(xs, [N, 2]);
    const y = tensor(ys, [N], { dtype: 'int32' });
    const history = await fit(model, { data: { x, y }, loss: 'crossEntropy', optimizer: opt, epochs: 15, batchSize: 30, seed: rng.u32(), verbose: 0, metrics: ['accuracy'] });
    expect(history.history.acc![14]).toBeGreaterThanOrEqual(0.95);
    expect(history.history.loss[14]).toBeLessThan(0.5 * history.history.loss[0]);
    x.dispose();
    y.dispose();
    model.zeroGrad();
    opt.dispose();
    model.dispose();
  });

  test('with one probe, D is |z ⊙ A z| for a Rademacher z of a dense Hessian A', () => {
    const n = 4;
    for (const hvp of ['forward', 'central', 'exact'] as const) {
      const A = spd(rng, n), b = randomArray(rng, n);
      const x = param(randomArray(rng, n), [n]);
      const opt = new optim.AdaHessian([x], { lr: 0, betas: [0, 0], hvp });
      const q = quadratic(A, b, x, opt, []);
      opt.step(q.closure);
      const D = Array.from((opt.state.get(x)!.expHessianDiagSq as Tensor).dataSync(), Math.sqrt);
      // The 16 sign vectors: one of them (with its negative) must give D.
      let best = Infinity;
      for (let mask = 0; mask < 1 << n; mask++) {
        const z = Array.from({ length: n }, (_, i) => ((mask >> i) & 1 ? 1 : -1));
        const Az = matVec(A, z);
        best = Math.min(best, Math.max(...z.map((zi, i) => Math.abs(Math.abs(zi * Az[i]) - D[i]))));
      }
      expect(best).toBeLessThan(1e-6);
      q.dispose();
      opt.dispose();
      x.dispose();
    }
  });

  test('the automatic difference step, one for all parameters (rms over all): D of softplus(a ⊙ θ) beside a tensor of larger values (float32 and float64)', () => {
    const n = 32;
    for (const [dtype, hvp, tol] of [
      ['float32', 'forward', 2e-2],
      ['float32', 'central', 2e-3],
      ['float64', 'forward', 1e-5],
      ['float64', 'central', 1e-8],
      // Exact products: rounding only.
      ['float32', 'exact', 1e-5],
      ['float64', 'exact', 1e-13],
    ] as const) {
      const a = randomArray(rng, n, 0.5, 2), th = randomArray(rng, n, -2, 2);
      // Values ~10: the shared step grows with them (rms over all), and the truncation error with it.
      const big = randomArray(rng, 50, 9, 11);
      const theta = param(th, [n], dtype), other = param(big, [50], dtype);
      const at = tensor(a, [n], { dtype });
      const opt = new optim.AdaHessian([theta, other], { lr: 0, betas: [0, 0], hvp });
      // L = Σ softplus(a θ) + Σ 1e-3·other²: separable, so z ⊙ H z = diag(H).
      opt.step(() => {
        opt.zeroGrad();
        const L = antler.add(antler.softplus(antler.mul(at, theta)).sum(), antler.mul(1e-3, antler.square(other).sum()));
        L.backward();
        return L;
      });
      const D = Array.from((opt.state.get(theta)!.expHessianDiagSq as Tensor).dataSync(), Math.sqrt);
      const ref = a.map((ai, i) => {
        const s = 1 / (1 + Math.exp(-ai * th[i]));
        return ai * ai * s * (1 - s);
      });
      expectClose(D, ref, tol, tol * 1e-2, `${dtype} ${hvp}`);
      const Dbig = Array.from((opt.state.get(other)!.expHessianDiagSq as Tensor).dataSync(), Math.sqrt);
      expectClose(Dbig, new Array(50).fill(2e-3), dtype === 'float32' ? 1e-2 : 1e-6, 0, `${dtype} ${hvp} large tensor`);
      opt.dispose();
      for (const t of [theta, other, at]) t.dispose();
    }
  });

  test('repeatable after setSeed(): the same probes, the same weights', () => {
    const n = 5;
    const A = spd(rng, n), b = randomArray(rng, n), x0 = randomArray(rng, n);
    const seed = rng.u32();
    const run = () => {
      antler.setSeed(seed);
      const x = param(x0, [n]);
      const opt = new optim.AdaHessian([x], { lr: 0.1 });
      const q = quadratic(A, b, x, opt, []);
      for (let k = 0; k < 3; k++) opt.step(q.closure);
      const out = Array.from(x.dataSync());
      q.dispose();
      opt.dispose();
      x.dispose();
      return out;
    };
    expectExact(run(), run(), 'two runs');
  });

  test('a step whose probe threw is retried with its refresh; dispose() starts afresh with a refresh', () => {
    const q = separable(rng, [[6]]);
    const opt = new optim.AdaHessian(q.params, { lr: 0.1, updateEach: 3, hvp: 'forward' });
    const inner = q.closure(opt);
    let calls = 0, failAt = 2; // the first probe of the first step
    const closure = () => {
      if (++calls === failAt) throw new Error('probe failed');
      return inner();
    };
    expect(() => opt.step(closure)).toThrow('probe failed');
    expectExact(q.params[0].dataSync(), q.theta0[0], 'unchanged after the failed step');
    failAt = -1;
    const before = q.calls();
    opt.step(closure);
    expect(q.calls() - before).toBe(2); // the loss and one probe: a refresh
    const moved = Array.from(q.params[0].dataSync());
    expect(moved).not.toEqual(q.theta0[0]);
    opt.step(closure); // no refresh
    expect(q.calls() - before).toBe(3);
    opt.dispose();
    const after = Array.from(q.params[0].dataSync());
    opt.step(closure); // a new start: a refresh, and the parameters move
    expect(q.calls() - before).toBe(5);
    expect(Array.from(q.params[0].dataSync())).not.toEqual(after);
    opt.dispose();
    q.dispose();
  });

  test('memory: 50 steps keep the tensor count flat', () => {
    const q = separable(rng, [[8], [4, 4]]);
    const opt = new optim.AdaHessian(q.params, { hvp: 'central', nProbes: 2 });
    const closure = q.closure(opt);
    const base = tensorCounts().numTensors;
    const counts: number[] = [];
    for (let k = 0; k < 50; k++) {
      opt.step(closure);
      counts.push(tensorCounts().numTensors - base);
    }
    // Two grads and two moments per parameter.
    expect(counts[49]).toBe(2 * 3);
    expect(counts[0]).toBe(counts[49]);
    opt.dispose();
    q.dispose();
  });

  test('bad arguments throw AntlerError and change nothing', () => {
    const x = param([1, 2, 3], [3]);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ hvp: 'second' }, /hvp must be 'auto', 'exact', 'forward' or 'central'; got 'second'/],
      [{ fdStep: 0 }, /fdStep must be > 0 or null/],
      [{ hessianPower: 2 }, /hessianPower must be in \[0, 1\]; got 2/],
      [{ nProbes: 0 }, /nProbes/],
      [{ updateEach: 0.5 }, /updateEach/],
      [{ betas: [0.9, 1] }, /betas\[1\] must be in \[0, 1\); got 1/],
      [{ blockSize: 0 }, /blockSize/],
      [{ lr: NaN }, /lr/],
      [{ n_samples: 2 }, /n_samples/],
    ];
    for (const [opts, msg] of bad) expectAntlerError(() => new optim.AdaHessian([x], opts as never), 'INVALID_ARGUMENT', msg);
    expectAntlerError(() => new optim.AdaHessian([{ params: [x], nProbes: 3 }] as never), 'INVALID_ARGUMENT', /nProbes applies to the whole step; pass it in the constructor's options, not in parameter group 0/);
    const opt = new optim.AdaHessian([x], { hvp: 'forward' });
    expectAntlerError(() => opt.step(), 'INVALID_ARGUMENT', /a closure is required/);
    // A closure that computes a gradient only on its first call: the probe fails, and x and x.grad are as before.
    let calls = 0;
    expectAntlerError(
      () =>
        opt.step(() => {
          opt.zeroGrad();
          const L = calls++ === 0 ? antler.square(x).sum() : antler.square(x.detach()).sum();
          if (L.requiresGrad) L.backward();
          return L;
        }),
      'INVALID_ARGUMENT',
      /got none when the closure ran again at a nearby point/,
    );
    expectExact(x.dataSync(), [1, 2, 3], 'x unchanged');
    expectClose(x.grad!.dataSync(), [2, 4, 6], 0, 0, 'x.grad is the gradient at x');
    expect(opt.state.size).toBe(0);
    opt.dispose();
    x.dispose();
  });
});
