/**
 * L-BFGS and AdaHessian against independent float64 references:
 * - L-BFGS: its two-loop recursion against the dense BFGS inverse-Hessian
 *   update on a random quadratic; the strong Wolfe conditions at every
 *   accepted step of a logistic regression (loss and gradient written in
 *   JavaScript); Rosenbrock from (−1.2, 1); least squares through fit()
 *   against the normal equations; tolerances, evaluation counts, memory.
 * - AdaHessian: one step to the minimum of a diagonal quadratic; several
 *   steps against a float64 transcription of the update (moments, bias
 *   corrections by steps and by refreshes, power k, weight decay, spatial
 *   averaging, refresh every N steps); Hutchinson's estimate is unbiased on
 *   a dense Hessian; dropout masks repeat across the probes; parameters and
 *   gradients come back intact; a classifier trained through fit().
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

    const theta = q.theta0.map((t) => t.slice());
    shapes.forEach((shape, i) => {
      const n = theta[i].length;
      const m = new Array<number>(n).fill(0), v = new Array<number>(n).fill(0);
      const D = spatialRef(q.h[i], shape, o);
      let refreshes = 0;
      for (let s = 1; s <= steps; s++) {
        const g = theta[i].map((x, j) => q.h[i][j] * (x - q.c[i][j]));
        for (let j = 0; j < n; j++) m[j] = o.betas[0] * m[j] + (1 - o.betas[0]) * g[j];
        if ((s - 1) % o.updateEach === 0) {
          refreshes++;
          for (let j = 0; j < n; j++) v[j] = o.betas[1] * v[j] + (1 - o.betas[1]) * D[j] * D[j];
        }
        const bc1 = 1 - o.betas[0] ** s, bc2 = 1 - o.betas[1] ** refreshes;
        for (let j = 0; j < n; j++) {
          const denom = (v[j] / bc2) ** (o.hessianPower / 2) + o.eps;
          theta[i][j] = theta[i][j] - o.lr * (m[j] / bc1 / denom + o.weightDecay * theta[i][j]);
        }
      }
      expectClose(q.params[i].dataSync(), theta[i], 1e-6, 1e-9, `param ${i} [${shape.join(', ')}]`);
    });
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
    // Var(z_i (Hz)_i) = Σ_{j≠i} H_ij²: allow 5 standard errors.
    A.forEach((row, i) => {
      const se = Math.sqrt(row.reduce((s, v, j) => s + (j === i ? 0 : v * v), 0) / probes);
      expect(Math.abs(D[i] - row[i])).toBeLessThan(5 * se + 1e-9);
    });
    q.dispose();
    opt.dispose();
    x.dispose();
  });

  test('the probes see the same dropout masks, and later draws are those one evaluation would leave', () => {
    const n = 64, p = 0.5;
    const cvals = randomArray(rng, n, 0.5, 2);
    const w0 = randomArray(rng, n, 0.5, 2);
    const run = (seed: number) => {
      antler.setSeed(seed);
      const w = param(w0, [n]);
      const c = tensor(cvals, [n], { dtype: 'float64' });
      // With a seed of its own, the optimizer takes no draw from the global generator.
      const opt = new optim.AdaHessian([w], { lr: 0, betas: [0, 0], seed: 7 });
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
    expectClose(r.D, r.g.map((v, i) => Math.abs(v / w0[i])), 1e-6, 1e-9, 'D = |g / w|');
    expect(r.g.some((v) => v === 0) && r.g.some((v) => v !== 0)).toBe(true);
    // The draws after step() are those after one evaluation of the closure.
    antler.setSeed(seed);
    const next = tidy(() => {
      antler.dropout(antler.ones([n], { dtype: 'float64' }), p);
      return antler.rand([4], { dtype: 'float64' }).dataSync();
    });
    expectExact(r.next, next, 'the global generator after step()');
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
