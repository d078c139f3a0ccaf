/**
 * DEER for ordinary differential equations (Lim et al., ICLR 2024, the ODE case):
 * dy/dt = f(t, y, x(t)) on a time grid t_0 < … < t_T (or decreasing), solved
 * for every grid point at once by Newton's method.
 *
 * Every iteration linearises f at the current iterate, at every grid point in
 * parallel: J_i = ∂f/∂y and z_i = f_i − J_i y_i, so that dy/dt ≈ J(t) y + z(t).
 * On interval i (Δ_i = t_{i+1} − t_i) J and z are taken constant at their
 * endpoint averages, K_i = ½(J_i + J_{i+1})Δ_i and h_i = ½(z_i + z_{i+1})Δ_i,
 * where the linear ODE has the exact step
 *   y_{i+1} = e^{K_i} y_i + ψ(K_i) h_i,   ψ(K) = ∫₀¹ e^{Ks} ds,
 * both read from one exponential of the augmented matrix [[K, h], [0, 0]]
 * (deer/expm.ts: Padé with scaling and squaring, never inverting K). The
 * pairs (e^{K_i}, ψ(K_i) h_i) go through the DEER scan (deer.scan). For a
 * linear ODE with constant coefficients the first iteration is exact at the
 * grid points whatever Δ; in general the fixed point is a second-order
 * exponential integrator.
 *
 * Convergence is judged per sequence on the Newton update: |y^{k+1} − y^k|
 * ≤ atol + rtol·|y^k| at every grid point and unit; finished sequences leave the batch. A non-finite
 * or repeatedly growing update is divergence; a sequence that diverges or is
 * not done after maxIters is solved by classical RK4 on the same grid and
 * `stats` says so (strict: true throws NOT_CONVERGED instead).
 *
 * Jacobians come from autograd: f is evaluated once on n copies of the rows
 * and one backward pass, seeded with the unit vectors, gives all n rows of J
 * at every point. So f must treat its rows independently (a row's output
 * depends only on that row's t, y and x), as any pointwise MLP does.
 *
 * Gradients by implicit differentiation, with no backprop through the
 * iterations: at the solution the linearised ODE's adjoint is one reverse
 * scan with the transposed steps e^{K_i}ᵀ (λ), then the forcing's adjoint
 * ψ(K_i)ᵀ λ (again from one augmented exponential) spread over the two
 * endpoints of each interval, and one vector-Jacobian product of f at every
 * grid point gives the gradients of x and of every parameter f closes over.
 * y0's gradient is e^{K_0}ᵀ λ_1 plus its own.
 */
import { edgeOf, gradients, graphBoundary, isGradEnabled, nodeMark, noGrad, recordEdges, withGrad } from '../autograd/graph';
import type { Edge } from '../autograd/graph';
import { isolated, keep, tidy, track } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { add, broadcastTo, concat, matmul, mul, permute, reshape, slice, sub, transpose, wrap } from '../ops/core';
import { globalDrawPosition, setGlobalDrawPosition } from '../random';
import { checkTensor, full as fullTensor, Tensor, tensor, zeros } from '../tensor';
import { checkBoolean, checkInteger, checkKnownKeys, describe } from '../validate';
import { expmAugmented } from './expm';
import { isFinite } from '../ops/extra';
import { all } from '../ops/reductions';
import { converged, residuals, scan } from './scan';
import type { DeerNative } from './scan';
import { selectBatch, selectRows } from './solver';

/**
 * The vector field: rows of t [R, 1], y [R, n] and, when the solve has
 * inputs, x [R, m] → dy/dt [R, n]. Built from antler ops, with any parameters
 * it closes over; each row on its own. Without inputs f is called as f(t, y)
 * (write it with two parameters); x is typed as always there so that a
 * field for a solve with inputs needs no check.
 */
export type OdeFunc = (t: Tensor, y: Tensor, x: Tensor) => Tensor;

export type OdeMethod = 'deer' | 'rk4';
export const ODE_METHODS: readonly OdeMethod[] = ['deer', 'rk4'];

export interface OdeOptions {
  /** 'deer' (default): Newton over the whole grid at once; 'rk4': classical Runge–Kutta, one grid step at a time. */
  method?: OdeMethod;
  /** Inputs at the grid points [T + 1, B, m], passed to f as its third argument (RK4 takes their midpoint average). */
  x?: Tensor;
  /** Absolute tolerance on the Newton update (default 1e-5 float32, 1e-10 float64). */
  atol?: number;
  /** Relative tolerance on the Newton update: |Δy| ≤ atol + rtol·|y| at every grid point and unit (default 1e-5 float32, 1e-10 float64). */
  rtol?: number;
  /**
   * Newton iterations before falling back to RK4 (default 100), an integer
   * >= 1. Convergence is judged on the update between an iterate and the one
   * before it (the first iteration's against the guess): 1 iteration
   * converges only from a guess that is already the solution to tolerance
   * (an `initialGuess` or a NeuralODE's warm start from the same problem);
   * from the default guess, y0 at every point, a solve needs at least 2 (the
   * second confirms the first, even for a linear field whose first iterate
   * is exact). The RNN path (deer.cellRecurrence) differs here: it judges
   * the recurrence's residual at each iterate, so there 1 iteration can
   * converge from the default guess when its step is exact (T = 1).
   */
  maxIters?: number;
  /** A first guess for y [T + 1, B, n] (default y0 at every point). */
  initialGuess?: Tensor;
  /** Throw NOT_CONVERGED instead of falling back to RK4. */
  strict?: boolean;
}

export interface OdeStats {
  /** The method that ran. */
  method: OdeMethod;
  /** Newton iterations of the slowest sequence (0 for rk4). */
  iterations: number;
  /** Newton iterations per sequence. */
  sequenceIterations: number[];
  /**
   * Per sequence: the update test passed (sequences that fell back count as
   * not converged); for method 'rk4', which has no test, its values are all
   * finite.
   */
  converged: boolean[];
  /** Per sequence: the last Newton update, max |y^{k+1} − y^k| (Infinity or NaN where it overflowed or was NaN). */
  residual: number[];
  /** Any sequence was solved by RK4 after DEER failed. */
  fallback: boolean;
  /** Which sequences fell back. */
  fallbackSequences: number[];
  /**
   * A non-finite update was seen (overflow or NaN; such sequences are retried
   * or fall back at once); for method 'rk4', a sequence's values overflowed
   * or are NaN.
   */
  diverged: boolean;
  /** Sequences whose Newton run from the initial guess (a warm start's or the caller's) failed and that were solved again from y0 at every point. */
  retriedSequences: number[];
}

export const ODE_OPTION_KEYS: readonly (keyof OdeOptions)[] = ['method', 'x', 'atol', 'rtol', 'maxIters', 'initialGuess', 'strict'];

/** @internal Checks solveIVP options (keys, types, ranges; tensors' shapes are checked against y0 later). */
export function checkOdeOptions(o: unknown, op: string, prefix = '', allowed: readonly string[] = ODE_OPTION_KEYS): OdeOptions {
  if (o === undefined) return {};
  if (o === null || typeof o !== 'object' || Array.isArray(o)) fail('INVALID_ARGUMENT', `${op}: options must be an object; got ${describe(o)}`);
  checkKnownKeys(o, op, allowed, '', prefix);
  const opts = o as OdeOptions;
  if (opts.method !== undefined && !ODE_METHODS.includes(opts.method))
    fail('INVALID_ARGUMENT', `${op}: ${prefix}method must be one of ${ODE_METHODS.map((m) => `'${m}'`).join(', ')}; got ${describe(opts.method)}`);
  for (const k of ['atol', 'rtol'] as const)
    if (opts[k] !== undefined && !(typeof opts[k] === 'number' && Number.isFinite(opts[k]) && opts[k] >= 0))
      fail('INVALID_ARGUMENT', `${op}: ${prefix}${k} must be a finite number >= 0; got ${describe(opts[k])}`);
  if (opts.maxIters !== undefined) checkInteger(opts.maxIters, op, `${prefix}maxIters`, 1);
  if (opts.strict !== undefined) checkBoolean(opts.strict, op, `${prefix}strict`);
  return opts;
}

/** The grid as numbers: at least 2 finite points, strictly increasing or strictly decreasing. */
function gridOf(t: unknown, op: string): number[] {
  let v: number[];
  if (t instanceof Tensor) {
    t.checkAlive(op);
    if (t.requiresGrad) fail('NOT_SUPPORTED', `${op}: t requires grad; gradients with respect to the time grid are not supported (pass t.detach() or an array of numbers)`);
    if (t.rank !== 1 || t.dtype === 'int32') fail('INVALID_ARGUMENT', `${op}: t must be a 1-D float tensor or an array of numbers; got a ${t.dtype} tensor of shape [${t.shape.join(', ')}]`);
    v = Array.from(t.dataSync());
  } else if (Array.isArray(t) || t instanceof Float64Array || t instanceof Float32Array) {
    v = Array.from(t as ArrayLike<number>);
  } else fail('INVALID_ARGUMENT', `${op}: t must be an array of numbers or a 1-D tensor of times; got ${describe(t)}`);
  if (v.length < 2) fail('INVALID_ARGUMENT', `${op}: t needs at least 2 time points (the start and one more); got ${v.length}`);
  const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) fail('INVALID_ARGUMENT', `${op}: t[${bad}] is ${describe(v[bad])}; expected finite numbers`);
  const dir = Math.sign(v[1] - v[0]);
  for (let i = 1; i < v.length; i++)
    if (Math.sign(v[i] - v[i - 1]) !== dir || dir === 0)
      fail('INVALID_ARGUMENT', `${op}: t must be strictly increasing or strictly decreasing; t[${i - 1}] = ${v[i - 1]} and t[${i}] = ${v[i]}`);
  return v;
}

/** Everything one solve needs, for any subset of the batch. */
interface Problem {
  func: OdeFunc;
  grid: number[];
  T: number;
  n: number;
  dtype: string;
  device: string;
  op: string;
  /** Set once f was seen to treat its rows independently (checkRowsIndependent). */
  rowsChecked?: boolean;
}

/**
 * DEER evaluates f on every grid point's rows (and n copies of them) at once,
 * so f must treat its rows independently; a field that mixes rows (a batch
 * mean, attention across the batch) would converge, without a sign, to the
 * solution of another system. Checked once per solve: f on a few rows in
 * reverse order (the first alone, then up to 16 spread over all of them, the
 * last first) against those rows of the stacked call F: a field that mixes
 * rows (a mean, a cumsum, a row's neighbours) gives other values for them.
 */
function checkRowsIndependent(p: Problem, t: Tensor, y: Tensor, x: Tensor | undefined, F: Tensor): void {
  const R = y.shape[0];
  if (p.rowsChecked || R < 2) return;
  p.rowsChecked = true;
  const k = Math.min(R, 16);
  const spread = Array.from({ length: k }, (_, i) => Math.round((i * (R - 1)) / (k - 1))).reverse();
  for (const idx of [[0], spread]) {
    const [alone, among] = noGrad(() =>
      tidy(() => {
        const pick = (v: Tensor) => selectRows(v.detach(), idx);
        const f1 = callFunc(p, pick(t), pick(y), x ? pick(x) : undefined, true);
        return [Array.from(f1.dataSync() as ArrayLike<number>), Array.from(pick(F).dataSync() as ArrayLike<number>)];
      }),
    );
    const scale = 1 + Math.max(...among.map(Math.abs));
    const tol = (p.dtype === 'float32' ? 1e-4 : 1e-8) * scale;
    const worst = alone.reduce((w, v, j) => Math.max(w, Math.abs(v - among[j])), 0);
    if (!(worst <= tol) && among.every(Number.isFinite) && alone.every(Number.isFinite)) {
      const at = alone.findIndex((v, j) => !(Math.abs(v - among[j]) <= tol));
      const row = idx[Math.floor(at / p.n)], show = (v: number[]) => v.slice(Math.floor(at / p.n) * p.n, Math.floor(at / p.n) * p.n + Math.min(p.n, 8)).map((u) => u.toPrecision(4)).join(', ');
      fail(
        'INVALID_ARGUMENT',
        `${p.op}: f's output for a row depends on the other rows: f on row ${row} ${idx.length === 1 ? 'alone' : `among ${idx.length} rows in another order`} gives [${show(alone)}], ` +
          `among all rows in order [${show(among)}]. Method 'deer' evaluates f on every grid point's rows at once, so f must treat rows independently (no batch statistics); use method 'rk4' for such a field`,
      );
    }
  }
}

/** ½Δ_i as [T, 1, 1] and [T, 1, 1, 1]. */
interface HalfSteps {
  d3: Tensor;
  d4: Tensor;
}

function halfSteps(p: Problem): HalfSteps {
  const v = new Float64Array(p.T);
  for (let i = 0; i < p.T; i++) v[i] = 0.5 * (p.grid[i + 1] - p.grid[i]);
  const d3 = tensor(v, [p.T, 1, 1], { dtype: p.dtype as 'float32', device: p.device });
  return { d3, d4: reshape(d3, [p.T, 1, 1, 1]) };
}

/**
 * f at rows of (t, y, x), its result checked. With `deterministic`, f must
 * not draw random numbers: DEER evaluates it many times (and on n stacked
 * copies of the rows for J), so draws such as dropout masks would differ
 * between the value, the Jacobian and the gradient.
 */
function callFunc(p: Problem, t: Tensor, y: Tensor, x: Tensor | undefined, deterministic: boolean): Tensor {
  const draws = globalDrawPosition();
  // Without inputs f gets (t, y): its third argument is there whenever the solve has inputs.
  const out: unknown = x ? p.func(t, y, x) : (p.func as (t: Tensor, y: Tensor) => Tensor)(t, y);
  if (deterministic && globalDrawPosition() !== draws) {
    setGlobalDrawPosition(draws);
    if (out instanceof Tensor) out.dispose();
    fail('INVALID_ARGUMENT', `${p.op}: f drew random numbers (dropout?); method 'deer' needs a deterministic f, evaluated many times over the grid: call eval() on the module inside f, or use method 'rk4'`);
  }
  if (!(out instanceof Tensor)) fail('INVALID_ARGUMENT', `${p.op}: f must return a Tensor; got ${describe(out)}`);
  out.checkAlive(p.op);
  if (out.rank !== 2 || out.shape[0] !== y.shape[0] || out.shape[1] !== p.n || out.dtype !== p.dtype || out.device !== p.device)
    fail(
      out.rank === 2 && out.shape[0] === y.shape[0] && out.shape[1] === p.n ? (out.dtype !== p.dtype ? 'DTYPE_MISMATCH' : 'DEVICE_MISMATCH') : 'SHAPE_MISMATCH',
      `${p.op}: f(t, y) returned a ${out.dtype} tensor of shape [${out.shape.join(', ')}] on ${out.device}; expected dy/dt shaped like the y it was given, [${y.shape[0]}, ${p.n}], ${p.dtype} on ${p.device}: ` +
        `one row of ${p.n} states per row of y (y0 has ${p.n} states per row; f may be called with many time points' rows at once, so the row count need not be y0's)`,
    );
  return out;
}

/** The times of the rows of [T + 1, B, ·] in order: t_i repeated B times, as [(T + 1)·B, 1]. */
function timeRows(p: Problem, B: number): Tensor {
  const v = new Float64Array((p.T + 1) * B);
  for (let i = 0; i <= p.T; i++) v.fill(p.grid[i], i * B, (i + 1) * B);
  return tensor(v, [(p.T + 1) * B, 1], { dtype: p.dtype as 'float32', device: p.device });
}

/**
 * f and J = ∂f/∂y at every row of y [R, n] (t [R, 1], x [R, m]): one call of
 * f on n stacked copies of the rows and one backward, seeded with e_k on copy
 * k, that runs only the nodes between f's result and y (no .grad anywhere is
 * touched, and the graphs of tensors f captured are not entered); in blocks
 * of rows when the copies would pass maxStackedRows, to bound the memory of
 * f's intermediates. Returns F [R, n] and J [R, n, n] (J[r, k, j] = ∂f_k/∂y_j).
 */
function linearize(p: Problem, t: Tensor, y: Tensor, x: Tensor | undefined): { F: Tensor; J: Tensor } {
  const n = p.n, R = y.shape[0];
  // The stacked copies are n× the rows: in blocks of at most maxStackedRows of them.
  const block = Math.max(1, Math.floor(maxStackedRows / n));
  if (R > block)
    return tidy(() => {
      const parts: { F: Tensor; J: Tensor }[] = [];
      for (let r0 = 0; r0 < R; r0 += block) {
        const len = Math.min(block, R - r0);
        const rows = (v: Tensor) => slice(v, [r0, 0], [len, v.shape[1]]);
        parts.push(linearizeBlock(p, rows(t), rows(y), x ? rows(x) : undefined));
      }
      return { F: concat(parts.map((q) => q.F), 0), J: concat(parts.map((q) => q.J), 0) };
    });
  return linearizeBlock(p, t, y, x);
}

/** Rows evaluated at once by a Jacobian pass (n stacked copies count n times); see setMaxStackedRows. */
let maxStackedRows = 1 << 20;

/** @internal Sets the Jacobian pass's row budget (tests use a small one to cover the blocks); returns the old one. */
export function setMaxStackedRows(rows: number): number {
  const old = maxStackedRows;
  maxStackedRows = rows;
  return old;
}

function linearizeBlock(p: Problem, t: Tensor, y: Tensor, x: Tensor | undefined): { F: Tensor; J: Tensor } {
  const n = p.n, R = y.shape[0];
  return tidy(() => {
    const rep = (v: Tensor) => reshape(broadcastTo(reshape(v, [1, R, v.shape[1]]), [n, R, v.shape[1]]), [n * R, v.shape[1]]);
    const yRep = noGrad(() => rep(y.detach())).requiresGrad_(true);
    const tRep = noGrad(() => rep(t));
    const xRep = x ? noGrad(() => rep(x.detach())) : undefined;
    const out = withGrad(() => callFunc(p, tRep, yRep, xRep, true));
    const F = noGrad(() => slice(out.detach(), [0, 0], [R, n]));
    checkRowsIndependent(p, t, y, x, F);
    const seed = noGrad(() => {
      const eye = new Float64Array(n * n);
      for (let k = 0; k < n; k++) eye[k * n + k] = 1;
      return reshape(broadcastTo(tensor(eye, [n, 1, n], { dtype: p.dtype as 'float32', device: p.device }), [n, R, n]), [n * R, n]);
    });
    const [g] = out.requiresGrad ? gradients(out, seed, [{ leaf: yRep }]) : [null];
    // No path from y to f's result: J = 0.
    if (!g) return { F, J: zeros([R, n, n], { dtype: p.dtype as 'float32', device: p.device }) };
    track(g);
    return { F, J: permute(reshape(g, [n, R, n]), [1, 0, 2]) };
  });
}

/**
 * The exact steps of the linearisation at Y [T + 1, B, n]: K [T, B, n, n],
 * E = e^K and b = ψ(K) h [T, B, n].
 */
function stepsAt(p: Problem, hs: HalfSteps, Y: Tensor, tRows: Tensor, xRows: Tensor | undefined): { K: Tensor; E: Tensor; b: Tensor } {
  const [T1, B, n] = Y.shape;
  const T = T1 - 1;
  return tidy(() => {
    const rows = reshape(Y, [T1 * B, n]);
    const { F, J } = linearize(p, tRows, rows, xRows);
    const z = sub(F, reshape(matmul(J, reshape(rows, [T1 * B, n, 1])), [T1 * B, n]));
    const J4 = reshape(J, [T1, B, n, n]);
    const z3 = reshape(z, [T1, B, n]);
    const K = mul(add(slice(J4, [0, 0, 0, 0], [T, B, n, n]), slice(J4, [1, 0, 0, 0], [T, B, n, n])), hs.d4);
    const h = mul(add(slice(z3, [0, 0, 0], [T, B, n]), slice(z3, [1, 0, 0], [T, B, n])), hs.d3);
    const { E, psiH } = expmAugmented(K, h);
    return { K, E, b: psiH };
  });
}

interface Group {
  idx: number[];
  y: Tensor;
}

/**
 * Newton's iterations for the sequences ids (global indices; y0, x and guess
 * hold just those, in that order); sequences leave as they converge, into
 * groups. Returns the ids that failed: a non-finite update, or not done after
 * maxIters.
 */
function newtonRun(p: Problem, y0: Tensor, x: Tensor | undefined, guess: Tensor, o: Required<Pick<OdeOptions, 'atol' | 'rtol' | 'maxIters' | 'strict'>>, stats: OdeStats, ids: number[], groups: Group[]): number[] {
  const B = y0.shape[0], n = p.n;
  let active = ids.slice();
  // The guess's first row is replaced by y0 (a warm start's came from another y0).
  let Y = keep(tidy(() => concat([reshape(y0.detach(), [1, B, n]), slice(guess, [1, 0, 0], [p.T, B, n])], 0)));
  let Y0 = keep(tidy(() => y0.detach().clone()));
  let X = x ? keep(tidy(() => x.detach().clone())) : undefined;
  let tRows = keep(timeRows(p, B));
  const hs = isolated(() => halfSteps(p));
  const failed: number[] = [];
  const retire = (local: number[], src: Tensor) => {
    if (local.length) groups.push({ idx: local.map((l) => active[l]), y: keep(selectBatch(src, local)) });
  };
  try {
    for (let it = 0; it < o.maxIters && active.length; it++) {
      const Ba = active.length;
      const next = tidy(() => {
        const xRows = X ? reshape(X, [(p.T + 1) * Ba, X.shape[2]]) : undefined;
        const { E, b } = stepsAt(p, hs, Y, tRows, xRows);
        return keep(concat([reshape(Y0, [1, Ba, n]), scan(E, b, Y0)], 0));
      });
      const judged = residuals(next, Y, o.rtol);
      const res = judged.res;
      Y.dispose();
      Y = next;
      const done: number[] = [], bad: number[] = [], stay: number[] = [];
      active.forEach((g, l) => {
        stats.sequenceIterations[g] += 1;
        const r = res[l];
        stats.residual[g] = r;
        if (!Number.isFinite(r)) {
          stats.diverged = true;
          bad.push(l);
          return;
        }
        if (converged(judged, l, o.atol)) {
          stats.converged[g] = true;
          done.push(l);
          return;
        }
        // A growing update is no sign of failure: Newton's first steps may grow for a while before
        // they converge. Only a non-finite one, or maxIters, ends a sequence's run.
        stay.push(l);
      });
      retire(done, Y);
      failed.push(...bad.map((l) => active[l]));
      if (stay.length < Ba) {
        const nextY = keep(selectBatch(Y, stay)), nextY0 = keep(selectRows(Y0, stay));
        const nextX = X ? keep(selectBatch(X, stay)) : undefined;
        Y.dispose();
        Y0.dispose();
        X?.dispose();
        tRows.dispose();
        [Y, Y0, X] = [nextY, nextY0, nextX];
        tRows = keep(timeRows(p, stay.length));
        active = stay.map((l) => active[l]);
      }
    }
    return [...failed, ...active].sort((a, b) => a - b);
  } finally {
    Y.dispose();
    Y0.dispose();
    X?.dispose();
    tRows.dispose();
    hs.d3.dispose();
    hs.d4.dispose();
  }
}

/**
 * The Newton iterations for the whole batch. With `retry` (the guess was a
 * warm start's or the caller's), sequences that fail from it are solved
 * again from y0 at every point (a guess near another root, or one that
 * makes the first linearisation blow up, must not cost the answer); those
 * that still fail are solved by RK4 (or, strict, throw).
 */
function deerSolve(p: Problem, y0: Tensor, x: Tensor | undefined, guess: Tensor, o: Required<Pick<OdeOptions, 'atol' | 'rtol' | 'maxIters' | 'strict'>>, stats: OdeStats, retry: boolean): Tensor {
  const B = y0.shape[0];
  const groups: Group[] = [];
  try {
    let failed = newtonRun(p, y0, x, guess, o, stats, Array.from({ length: B }, (_, i) => i), groups);
    if (failed.length && retry) {
      stats.retriedSequences = failed.slice();
      const y0f = keep(tidy(() => selectRows(y0.detach(), failed)));
      const sub = {
        y0f,
        xf: x ? keep(tidy(() => selectBatch(x.detach(), failed))) : undefined,
        cold: keep(tidy(() => broadcastTo(reshape(y0f, [1, failed.length, p.n]), [p.T + 1, failed.length, p.n]))),
      };
      try {
        failed = newtonRun(p, sub.y0f, sub.xf, sub.cold, o, stats, failed, groups);
      } finally {
        for (const t of [sub.y0f, sub.xf, sub.cold]) t?.dispose();
      }
    }
    if (failed.length) {
      if (o.strict) {
        const worst = failed.reduce((w, g) => Math.max(w, Number.isFinite(stats.residual[g]) ? stats.residual[g] : Infinity), 0);
        const nonFinite = failed.filter((g) => !Number.isFinite(stats.residual[g]));
        const ran = Math.max(0, ...nonFinite.map((g) => stats.sequenceIterations[g]));
        const how = nonFinite.length
          ? `${nonFinite.length === failed.length ? '' : `(${nonFinite.length} of them) `}diverged to a non-finite update after ${ran} Newton iteration${ran === 1 ? '' : 's'}`
          : `did not converge in ${o.maxIters} Newton iteration${o.maxIters === 1 ? '' : 's'}`;
        const worstText = Number.isFinite(worst) ? `worst update ${worst.toExponential(3)}` : 'an update not finite';
        const way = nonFinite.length ? 'refine the grid or use method \'rk4\'' : `raise maxIters${o.maxIters < 2 ? ' (1 iteration passes only from a guess that is already the solution: the test compares each iterate with the one before, the first with the guess; from y0 at every point a solve needs at least 2)' : ''}, refine the grid, or use method 'rk4'`;
        fail('NOT_CONVERGED', `${p.op}: ${failed.length} of ${B} sequences ${how} (${worstText}, tolerance |Δy| ≤ atol ${o.atol} + rtol ${o.rtol}·|y| at every point); ${way}, or drop strict to fall back to RK4`);
      }
      stats.fallback = true;
      stats.fallbackSequences = failed.slice();
      const exact = tidy(() => rk4(p, selectRows(y0.detach(), failed), x ? selectBatch(x.detach(), failed) : undefined, true));
      groups.push({ idx: failed, y: exact });
    }
    stats.iterations = Math.max(0, ...stats.sequenceIterations);
    return assemble(groups, B);
  } finally {
    for (const g of groups) g.y.dispose();
  }
}

/** The groups' columns back in batch order [T + 1, B, n]. */
function assemble(groups: Group[], B: number): Tensor {
  return tidy(() => {
    const order = groups.flatMap((g) => g.idx);
    const all = groups.length === 1 ? groups[0].y.clone() : concat(groups.map((g) => g.y), 1);
    const inverse = new Array<number>(B);
    order.forEach((g, i) => (inverse[g] = i));
    return inverse.every((v, i) => v === i) ? all : selectBatch(all, inverse);
  });
}

/**
 * Classical RK4 on the grid, differentiable by autograd (backprop through the
 * steps). x at a step's midpoint is the average of its endpoints.
 */
function rk4(p: Problem, y0: Tensor, x: Tensor | undefined, deterministic: boolean): Tensor {
  const B = y0.shape[0];
  const ys: Tensor[] = [y0];
  const full = (v: number) => fullTensor([B, 1], v, { dtype: p.dtype as 'float32', device: p.device });
  const xAt = (i: number) => (x ? reshape(slice(x, [i, 0, 0], [1, B, x.shape[2]]), [B, x.shape[2]]) : undefined);
  let y = y0;
  for (let i = 0; i < p.T; i++) {
    y = tidy(() => {
      const t0 = p.grid[i], dt = p.grid[i + 1] - p.grid[i];
      const xa = xAt(i), xb = xAt(i + 1);
      const xm = xa && xb ? mul(add(xa, xb), 0.5) : undefined;
      const k1 = callFunc(p, full(t0), y, xa, deterministic);
      const k2 = callFunc(p, full(t0 + dt / 2), add(y, mul(k1, dt / 2)), xm, deterministic);
      const k3 = callFunc(p, full(t0 + dt / 2), add(y, mul(k2, dt / 2)), xm, deterministic);
      const k4 = callFunc(p, full(t0 + dt), add(y, mul(k3, dt)), xb, deterministic);
      return add(y, mul(add(add(k1, mul(add(k2, k3), 2)), k4), dt / 6));
    });
    ys.push(y);
  }
  return tidy(() => stack1(ys, B, p.n));
}

function stack1(ys: Tensor[], B: number, n: number): Tensor {
  return concat(ys.map((v) => reshape(v, [1, B, n])), 0);
}

/**
 * Solves the initial value problem dy/dt = f(t, y, x(t)), y(t_0) = y0, at every
 * point of the grid t (T + 1 points; increasing or decreasing). y0 [B, n]
 * (float32 or float64); options.x [T + 1, B, m] inputs at the grid points.
 * Returns y [T + 1, B, n] (y[0] = y0) and the solver's stats. Differentiable
 * in y0, x and every tensor with requiresGrad that f closes over (found from
 * f's graph), by implicit differentiation (see the file's comment) for
 * 'deer' and by backprop through the steps for 'rk4'.
 */
export function solveIVP(func: OdeFunc, y0: Tensor, t: readonly number[] | Float64Array | Float32Array | Tensor, options?: OdeOptions): { y: Tensor; stats: OdeStats } {
  return solveIVPAs('deer.solveIVP', func, y0, t, options);
}

/** @internal solveIVP with messages in the name of `op`. */
export function solveIVPAs(op: string, func: OdeFunc, y0: Tensor, t: readonly number[] | Float64Array | Float32Array | Tensor, options?: OdeOptions): { y: Tensor; stats: OdeStats } {
  if (typeof func !== 'function') fail('INVALID_ARGUMENT', `${op}: f must be a function (t, y, x?) => dy/dt; got ${describe(func)}`);
  checkTensor(y0, op, 'y0');
  if (y0.rank !== 2) fail('SHAPE_MISMATCH', `${op}: y0 has shape [${y0.shape.join(', ')}]; expected [B, n] (a batch of initial states)`);
  if (y0.dtype !== 'float32' && y0.dtype !== 'float64') fail('DTYPE_MISMATCH', `${op}: y0 has dtype ${y0.dtype}; expected float32 or float64`);
  const o = checkOdeOptions(options, op);
  const grid = gridOf(t, op);
  const T = grid.length - 1;
  const [B, n] = y0.shape;
  if (n < 1) fail('SHAPE_MISMATCH', `${op}: y0 has shape [${y0.shape.join(', ')}]; the state size n must be >= 1`);
  const like = (v: Tensor, what: string, shape: readonly (number | null)[], layout: string) => {
    checkTensor(v, op, what);
    if (v.device !== y0.device) fail('DEVICE_MISMATCH', `${op}: ${what} is on ${v.device} but y0 is on ${y0.device}; move it with .to('${y0.device}')`);
    if (v.dtype !== y0.dtype) fail('DTYPE_MISMATCH', `${op}: ${what} has dtype ${v.dtype} but y0 has ${y0.dtype}; convert it with .cast('${y0.dtype}')`);
    if (v.rank !== shape.length || shape.some((d, i) => d !== null && d !== v.shape[i]))
      fail('SHAPE_MISMATCH', `${op}: ${what} has shape [${v.shape.join(', ')}]; expected ${layout}`);
  };
  if (o.x !== undefined) like(o.x, 'x', [T + 1, B, null], `[T + 1, B, m] = [${T + 1}, ${B}, m] (inputs at the ${T + 1} grid points)`);
  if (o.initialGuess !== undefined) like(o.initialGuess, 'initialGuess', [T + 1, B, n], `[T + 1, B, n] = [${T + 1}, ${B}, ${n}]`);
  const f64 = y0.dtype === 'float64';
  const tol = {
    atol: o.atol ?? (f64 ? 1e-10 : 1e-5),
    rtol: o.rtol ?? (f64 ? 1e-10 : 1e-5),
    maxIters: o.maxIters ?? 100,
    strict: o.strict === true,
  };
  const method = o.method ?? 'deer';
  const stats: OdeStats = {
    method, iterations: 0, sequenceIterations: new Array(B).fill(0), converged: new Array(B).fill(method === 'rk4'),
    residual: new Array(B).fill(0), fallback: false, fallbackSequences: [], diverged: false, retriedSequences: [],
  };
  const p: Problem = { func, grid, T, n, dtype: y0.dtype, device: y0.device, op };
  // No sequence to solve: the empty answer, still in y0's graph (a backward gives y0 its empty gradient).
  if (B === 0) return { y: tidy(() => broadcastTo(reshape(y0, [1, 0, n]), [T + 1, 0, n])), stats };
  if (method === 'rk4') {
    const y = tidy(() => rk4(p, y0, o.x, false));
    // No test to pass: a sequence counts as converged where its values are finite (one read back).
    const finite = noGrad(() => tidy(() => all(isFinite(y), [0, 2]).dataSync()));
    finite.forEach((v, b) => (stats.converged[b] = v !== 0));
    stats.diverged = stats.converged.includes(false);
    return { y, stats };
  }
  const x = o.x;
  const y = isolated(() => noGrad(() => {
    const guess = o.initialGuess ?? tidy(() => broadcastTo(reshape(y0.detach(), [1, B, n]), [T + 1, B, n]));
    try {
      return deerSolve(p, y0, x, guess, tol, stats, o.initialGuess !== undefined);
    } finally {
      if (guess !== o.initialGuess) guess.dispose();
    }
  }));
  track(y);
  if (!isGradEnabled()) return { y, stats };
  if (!stats.fallback) return { y: recordSolve(p, y, y0, x), stats };
  // Sequences that fell back return RK4's values, so their gradient is RK4's too: backprop through its
  // steps, recomputed here with the graph (the same values to the bit), not the DEER adjoint at RK4's
  // solution, which differs from it by the discretisations' O(Δ²). The DEER node covers the converged
  // sequences alone: at a fallen one's values DEER's steps may overflow, and 0·∞ in its adjoint would
  // spread NaN into the gradient of every parameter f shares.
  const failed = stats.fallbackSequences;
  const fellSet = new Set(failed);
  const good = Array.from({ length: B }, (_, i) => i).filter((i) => !fellSet.has(i));
  const combined = tidy(() => {
    const viaRk4 = rk4(p, selectRows(y0, failed), x ? selectBatch(x, failed) : undefined, true);
    if (!good.length) return viaRk4;
    const viaDeer = recordSolve(p, selectBatch(y, good), selectRows(y0, good), x ? selectBatch(x, good) : undefined);
    const all = concat([viaDeer, viaRk4], 1);
    const inverse = new Array<number>(B);
    [...good, ...failed].forEach((g, i) => (inverse[g] = i));
    return selectBatch(all, inverse);
  });
  y.dispose();
  return { y: combined, stats };
}

/**
 * Records the DEER solution y [T + 1, B, n] of (y0, x) for the gradient
 * (returns y with the node attached, or y as it is when nothing needs one).
 * What the backward needs is made now (it must not call f: what f captured
 * may be gone by then): f at the solution with its graph (for the
 * vector-Jacobian product), and the exact steps there.
 */
function recordSolve(p: Problem, y: Tensor, y0: Tensor, x: Tensor | undefined): Tensor {
  const [T1, B, n] = y.shape;
  const mark = nodeMark();
  // Made outside any scope (the node owns them): freed here if f throws.
  const held = isolated(() => {
    const T1B = T1 * B;
    const tRows = timeRows(p, B);
    const xl = x ? tidy(() => reshape(x.detach(), [T1B, x.shape[2]])) : undefined;
    try {
      if (x?.requiresGrad) xl!.requiresGrad_(true);
      // f's temporaries go with the tidy(); its result keeps the views its graph needs.
      const fOut = tidy(() => withGrad(() => callFunc(p, tRows, reshape(y.detach(), [T1B, n]), xl, true)));
      return { tRows, xl, fOut };
    } catch (err) {
      tRows.dispose();
      xl?.dispose();
      throw err;
    }
  });
  const boundary = held.fOut.requiresGrad ? graphBoundary(held.fOut, mark, held.xl ? [held.xl] : []) : [];
  const edges = [edgeOf(y0), ...(x ? [edgeOf(x)] : []), ...boundary];
  if (!edges.some((e) => e !== null)) {
    for (const t of [held.tRows, held.xl, held.fOut]) t?.dispose();
    return y;
  }
  const steps = isolated(() => {
    const hs = halfSteps(p);
    const xRows = held.xl ? held.xl.detach() : undefined;
    try {
      const r = tidy(() => noGrad(() => stepsAt(p, hs, y, held.tRows, xRows)));
      return [r.K, r.E, r.b];
    } catch (err) {
      for (const t of [held.xl, held.fOut]) t?.dispose();
      throw err;
    } finally {
      for (const t of [hs.d3, hs.d4, xRows, held.tRows]) t?.dispose();
    }
  });
  const own = [held.fOut, ...(held.xl ? [held.xl] : []), ...steps];
  return recordEdges(y, 'solveIVP', edges, (gy, saved) => odeBackward(p, saved, gy, x !== undefined, boundary), [y, y0], own);
}

/**
 * The implicit adjoint (see the file's comment): [gy0, gx?, ...one per
 * boundary edge]. saved: views of y and y0, then f's result at the solution
 * (with its graph), x's leaf rows when x is given, and K, E, b at the solution.
 */
function odeBackward(p: Problem, saved: Tensor[], gY: Tensor, hasX: boolean, boundary: Edge[]): (Tensor | null)[] {
  const [Y, y0, fOut] = saved;
  const xl = hasX ? saved[3] : undefined;
  const [K, E, b] = saved.slice(hasX ? 4 : 3);
  const [T1, B, n] = Y.shape;
  const T = T1 - 1;
  const hs = halfSteps(p);
  const ys = slice(Y, [1, 0, 0], [T, B, n]);
  const gys = slice(gY, [1, 0, 0], [T, B, n]);
  const dn = native() as unknown as DeerNative;
  const lam = wrap(dn.deerScanBackward(E.handle, b.handle, y0.handle, ys.handle, gys.handle, true)[1]);
  // y0: its own gradient plus e^{K_0}ᵀ λ_0.
  const E0 = reshape(slice(E, [0, 0, 0, 0], [1, B, n, n]), [B, n, n]);
  const lam0 = reshape(slice(lam, [0, 0, 0], [1, B, n]), [B, n, 1]);
  const gy0 = add(reshape(slice(gY, [0, 0, 0], [1, B, n]), [B, n]), reshape(matmul(E0, lam0, { transposeA: true }), [B, n]));
  // The forcing's adjoint at the grid points: ψ(K_i)ᵀ λ_i spread by ½Δ_i to both ends of interval i.
  const w = mul(expmAugmented(transpose(K, 2, 3), lam).psiH, hs.d3);
  const zero = zeros([1, B, n], { dtype: p.dtype as 'float32', device: p.device });
  const gz = add(concat([w, zero], 0), concat([zero, w], 0));
  const targets: Edge[] = [...(xl?.requiresGrad ? [{ leaf: xl }] : []), ...boundary];
  const grads: (Tensor | null)[] = [gy0];
  // One vector-Jacobian product of f at every grid point, to x and to what f captured.
  const vjp = targets.length && fOut.requiresGrad ? gradients(fOut, reshape(gz, [T1 * B, n]), targets) : targets.map(() => null);
  if (hasX) {
    const gx = xl?.requiresGrad ? vjp.shift() ?? null : null;
    if (gx) track(gx); // made outside any scope; its reshape is what goes back
    grads.push(gx ? reshape(gx, [T1, B, xl!.shape[1]]) : null);
  }
  grads.push(...vjp);
  return grads;
}
