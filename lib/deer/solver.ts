/**
 * The DEER solver (ALGORITHMS.md §2): a recurrent cell y_t = f(y_{t−1}, xp_t)
 * evaluated over the whole sequence at once by Newton's method, each
 * iteration one parallel linearisation (native cellLinearize: f, J and
 * b = f − J y_{t−1} at every step) and one linear scan (deer.scan).
 *
 * Modes:
 * - 'sequential': the fused sequential kernel (one launch walking T), exact.
 * - 'deer': Newton with the dense Jacobian; quadratic convergence.
 * - 'quasi': the diagonal of the Jacobian (quasi-DEER); O(T n) memory per
 *   iteration, linear convergence, the same fixed point.
 * - 'elk': damped quasi-Newton: the diagonal Jacobian shrunk by a factor
 *   that starts below 1 and adapts (Levenberg–Marquardt-style trust region),
 *   for dynamics where plain Newton overshoots. See the note in `damped()`.
 * - 'auto': picks sequential or DEER from sizes, device and recent
 *   iteration counts (see `chooseMode`).
 *
 * Convergence is judged per sequence on the residual ‖y − f(shift y)‖∞ ≤
 * atol + rtol·‖f‖∞; converged sequences are set aside and cost no more work.
 * A non-finite or repeatedly growing residual is divergence: the step is
 * damped (A = αJ with α shrinking to 0, the Picard iteration, which cannot
 * overflow for bounded cells) and restarted; a sequence that still has not
 * converged after maxIters is computed by the exact sequential kernel, and
 * `stats` says so (`strict: true` throws NOT_CONVERGED instead).
 *
 * Every choice of A gives the same fixed point (b = f − A y_{t−1}), so
 * damping changes the speed of convergence, never the answer.
 *
 * Gradients are by implicit differentiation at the solution: the adjoint
 * λ_t = g_t + J_{t+1}ᵀ λ_{t+1} is one reverse scan with the dense Jacobian at
 * y* (or the fused sequential BPTT kernel with backward: 'sequential'), then
 * the cell's local vector-Jacobian products at every step in parallel.
 */
import { isGradEnabled, noGrad, record } from '../autograd/graph';
import { isolated, keep, tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { abs, add, broadcastTo, concat, matmul, max, mul, permute, reshape, slice, sub, sum, wrap } from '../ops/core';
import { embedding } from '../ops/nn';
import { checkTensor, Tensor, tensor, zerosLike } from '../tensor';
import { describe } from '../validate';
import { CellKind, cellNative } from './native-cells';
import { scan as scanRaw } from './scan';
import type { DeerNative } from './scan';

export type { CellKind } from './native-cells';
export type DeerMode = 'sequential' | 'deer' | 'quasi' | 'elk' | 'auto';
const MODES: readonly DeerMode[] = ['sequential', 'deer', 'quasi', 'elk', 'auto'];
const KINDS: readonly CellKind[] = ['gru', 'lstm', 'rnn_tanh', 'rnn_relu'];

export interface DeerOptions {
  /** How the recurrence is evaluated (default 'auto'). */
  mode?: DeerMode;
  /** Absolute residual tolerance (default 1e-6 float32, 1e-12 float64). */
  atol?: number;
  /** Relative residual tolerance, times ‖f‖∞ of the sequence (default 1e-6 float32, 1e-12 float64). */
  rtol?: number;
  /** Newton iterations per chunk before falling back (default min(T, 100)). */
  maxIters?: number;
  /** A first guess for y [T, B, n]. */
  initialGuess?: Tensor;
  /** Reuse the last solution of the same shape (modules keep one per layer). */
  warmStart?: boolean;
  /** Solve at most this many steps at a time, carrying the state across chunks; bounds the O(T n²) memory. */
  chunkSize?: number;
  /** Throw NOT_CONVERGED instead of falling back to the sequential kernel. */
  strict?: boolean;
  /** 'scan' (default for deer/quasi/elk): the adjoint by one reverse scan with J at the solution; 'sequential': fused BPTT. */
  backward?: 'scan' | 'sequential';
  /** Keep the forward's last dense Jacobian for the backward instead of recomputing it (dense mode only; O(T n²) memory held until backward). */
  keepJacobians?: boolean;
}

export interface DeerStats {
  /** The mode that ran ('auto' resolved). */
  mode: Exclude<DeerMode, 'auto'>;
  /** Newton iterations (scans) for the slowest sequence, summed over chunks. */
  iterations: number;
  /** Iterations per sequence, summed over chunks. */
  sequenceIterations: number[];
  /** Per sequence: the residual test passed (sequences that fell back count as not converged). */
  converged: boolean[];
  /** Per sequence: ‖y − f(shift y)‖∞ of the returned answer, worst over chunks. */
  residual: number[];
  /** Any sequence was computed by the sequential kernel after DEER failed. */
  fallback: boolean;
  /** Which sequences fell back. */
  fallbackSequences: number[];
  /** Divergence (non-finite or growing residual) was detected. */
  diverged: boolean;
  /** The smallest Jacobian factor α used (1 = plain Newton, 0 = Picard). */
  damping: number;
  /** Chunks the sequence was solved in. */
  chunks: number;
  /** The initial guess came from a previous solution. */
  warmStarted: boolean;
}

/** Holds the last solution for warm starts (modules keep one per layer and direction). */
export class WarmStart {
  private y: Tensor | null = null;
  get(shape: readonly number[], dtype: string, device: string): Tensor | null {
    const y = this.y;
    if (!y || y.isDisposed || y.dtype !== dtype || y.device !== device) return null;
    if (y.shape.length !== shape.length || y.shape.some((d, i) => d !== shape[i])) return null;
    return y;
  }
  set(y: Tensor): void {
    this.dispose();
    this.y = isolated(() => keep(y.detach()));
  }
  dispose(): void {
    if (this.y && !this.y.isDisposed) this.y.dispose();
    this.y = null;
  }
}

export const stateSize = (kind: CellKind, H: number): number => (kind === 'lstm' ? 2 * H : H);
export const gateCount = (kind: CellKind, H: number): number => (kind === 'gru' ? 3 * H : kind === 'lstm' ? 4 * H : H);

// ---------------------------------------------------------------- mode choice

/** Recent iteration counts per (device, kind, n) for 'auto'. */
const recentIters = new Map<string, number>();

/**
 * 'auto': a cost model in units of one cell step of one chain. The sequential
 * kernel takes T dependent steps (each O(n·G) work, parallel over B·H lanes);
 * DEER takes `iters` rounds of a fully parallel linearisation (T·B·n·G work)
 * and a scan (T·B·n² work, plus n³ per chunk summary on long sequences). On
 * the CPU (a few cores) DEER's extra work never pays, so sequential runs; on
 * a GPU DEER wins when the sequential walk leaves most lanes idle (small B·n)
 * and T is long.
 */
export function chooseMode(kind: CellKind, T: number, B: number, H: number, device: string): 'sequential' | 'deer' | 'quasi' {
  if (!device.startsWith('cuda') || T < 256) return 'sequential';
  const n = stateSize(kind, H), G = gateCount(kind, H);
  const iters = recentIters.get(`${device}/${kind}/${n}`) ?? (n <= 8 ? 6 : 10);
  const lanes = 100_000; // threads a current GPU keeps in flight
  const seqCost = T * Math.max(1, (n * G) / 256); // one dependent step, split over a block
  const deerCost = iters * Math.max(1, (T * B * (n * G + n * n)) / lanes) * 4;
  return deerCost < seqCost ? 'deer' : 'sequential';
}

// ---------------------------------------------------------------- helpers

/** x [T, B, ...] restricted to batch columns idx (a gather along axis 1). */
function selectBatch(x: Tensor, idx: number[]): Tensor {
  if (idx.length === x.shape[1] && idx.every((v, i) => v === i)) return x.clone();
  return tidy(() => {
    const [T, B] = x.shape;
    const rest = x.shape.slice(2);
    const inner = rest.reduce((a, b) => a * b, 1);
    const perm = x.shape.map((_, i) => i);
    perm[0] = 1;
    perm[1] = 0;
    const bMajor = reshape(permute(x, perm), [B, T * inner]);
    const picked = embedding(tensor(idx, [idx.length], { dtype: 'int32', device: x.device }), bMajor);
    return permute(reshape(picked, [idx.length, T, ...rest]), perm);
  });
}

/** Rows idx of x [B, n]. */
function selectRows(x: Tensor, idx: number[]): Tensor {
  return tidy(() => embedding(tensor(idx, [idx.length], { dtype: 'int32', device: x.device }), x));
}

/** Per batch column of x [T, B, n]: max |x| (NaN when any element is NaN). */
function columnMaxAbs(x: Tensor): number[] {
  return tidy(() => Array.from(max(abs(x), [0, 2]).dataSync()));
}

/** y shifted one step later: [y0, y_0, …, y_{T−2}] ([T, B, n]). */
function shifted(y0: Tensor, y: Tensor): Tensor {
  const [T, B, n] = y.shape;
  return tidy(() => concat([reshape(y0, [1, B, n]), slice(y, [0, 0, 0], [T - 1, B, n])], 0));
}

interface Operands {
  kind: CellKind;
  xp: Tensor;
  Whh: Tensor;
  bhh: Tensor | null;
  y0: Tensor;
}

interface Tolerances {
  atol: number;
  rtol: number;
  maxIters: number;
  strict: boolean;
}

interface ChunkResult {
  y: Tensor;
  iters: number[];
  converged: boolean[];
  residual: number[];
  fallback: number[];
  diverged: boolean;
  damping: number;
  /** The dense J at the solution, when kept for the backward. */
  J: Tensor | null;
}

const linearize = (o: Operands, y0: Tensor, xp: Tensor, y: Tensor, jac: 'none' | 'diagonal' | 'dense') => {
  const [f, J, b] = cellNative().cellLinearize(o.kind, xp.handle, o.Whh.handle, o.bhh?.handle ?? null, y0.handle, y.handle, jac);
  return { f: wrap(f), J: J ? wrap(J) : null, b: b ? wrap(b) : null };
};

const sequential = (o: Operands, xp: Tensor, y0: Tensor): Tensor =>
  wrap(cellNative().cellSequential(o.kind, xp.handle, o.Whh.handle, o.bhh?.handle ?? null, y0.handle));

/** Residual ‖y − f(shift y)‖∞ per sequence and the scale ‖f‖∞, for a solution y. */
function residualOf(o: Operands, xp: Tensor, y0: Tensor, y: Tensor): { res: number[]; scale: number[] } {
  return tidy(() => {
    const { f } = linearize(o, y0, xp, y, 'none');
    return { res: columnMaxAbs(sub(y, f)), scale: columnMaxAbs(f) };
  });
}

/**
 * Newton on one chunk, all inside noGrad. Sequences are set aside as they
 * converge; the rest continue on a compacted batch.
 */
function solveChunk(o: Operands, xp: Tensor, y0: Tensor, guess: Tensor, mode: 'deer' | 'quasi' | 'elk', tol: Tolerances, keepJ: boolean): ChunkResult {
  const [T, B] = xp.shape;
  const jac = mode === 'deer' ? 'dense' : 'diagonal';
  const iters = new Array<number>(B).fill(0);
  const converged = new Array<boolean>(B).fill(false);
  const residual = new Array<number>(B).fill(Infinity);
  const fallback: number[] = [];
  let diverged = false;
  // ELK starts damped and adapts; deer/quasi start undamped.
  let alpha = mode === 'elk' ? 0.5 : 1;
  let minAlpha = alpha;
  const done: { idx: number[]; y: Tensor }[] = [];
  let J: Tensor | null = null;

  let active = Array.from({ length: B }, (_, i) => i);
  let xpA = xp.clone(), y0A = y0.clone(), yA = guess.clone(), startA = guess.clone();
  let prevRes: number[] = new Array<number>(B).fill(Infinity);
  let growth = new Array<number>(B).fill(0);

  const retire = (local: number[], y: Tensor, fell: boolean) => {
    if (!local.length) return;
    const picked = selectBatch(y, local);
    done.push({ idx: local.map((l) => active[l]), y: picked });
    if (fell) for (const l of local) fallback.push(active[l]);
  };
  const compact = (keepLocal: number[]) => {
    const next = [xpA, y0A, yA, startA].map((t) => {
      const s = t === y0A ? selectRows(t, keepLocal) : selectBatch(t, keepLocal);
      t.dispose();
      return s;
    });
    [xpA, y0A, yA, startA] = next;
    prevRes = keepLocal.map((l) => prevRes[l]);
    growth = keepLocal.map((l) => growth[l]);
    active = keepLocal.map((l) => active[l]);
  };

  let steps = 0;
  while (active.length > 0) {
    const lin = linearize(o, y0A, xpA, yA, jac);
    const res = columnMaxAbs(sub(yA, lin.f));
    const scale = columnMaxAbs(lin.f);
    const finished: number[] = [], stay: number[] = [];
    let bad = false;
    active.forEach((g, l) => {
      const r = Number.isFinite(res[l]) ? res[l] : Infinity;
      residual[g] = r;
      if (r <= tol.atol + tol.rtol * scale[l]) {
        converged[g] = true;
        finished.push(l);
        return;
      }
      if (r === Infinity || r > prevRes[l]) growth[l] += 1;
      else growth[l] = 0;
      if (r === Infinity || growth[l] >= 2) bad = true;
      prevRes[l] = r;
      stay.push(l);
    });
    if (finished.length && keepJ && lin.J && stay.length === 0 && done.length === 0) J = isolated(() => keep(lin.J!.clone()));
    retire(finished, yA, false);
    if (stay.length === 0) {
      for (const t of [lin.f, lin.J, lin.b]) t?.dispose();
      break;
    }
    if (finished.length) {
      for (const t of [lin.f, lin.J, lin.b]) t?.dispose();
      compact(stay);
      continue; // re-linearise the compacted batch (cheap relative to a lost iteration's bookkeeping)
    }
    if (steps >= tol.maxIters) {
      for (const t of [lin.f, lin.J, lin.b]) t?.dispose();
      if (tol.strict) {
        const worst = Math.max(...stay.map((l) => prevRes[l]));
        fail('NOT_CONVERGED', `deer: ${stay.length} of ${B} sequences did not converge in ${tol.maxIters} ${mode} iterations (worst residual ${worst.toExponential(3)}, tolerance atol ${tol.atol} + rtol ${tol.rtol}·‖f‖∞); raise maxIters, use mode 'sequential', or drop strict to fall back to the sequential kernel`);
      }
      const exact = sequential(o, xpA, y0A);
      retire(stay, exact, true);
      exact.dispose();
      break;
    }
    if (bad) {
      // Divergence: damp harder and restart the active sequences from their first guess.
      diverged = true;
      alpha = alpha > 1 / 64 ? alpha / 4 : 0;
      minAlpha = Math.min(minAlpha, alpha);
      prevRes = prevRes.map(() => Infinity);
      growth = growth.map(() => 0);
      yA.dispose();
      yA = startA.clone();
      for (const t of [lin.f, lin.J, lin.b]) t?.dispose();
      steps += 1;
      continue;
    }
    // The linear step: y ← scan(αJ, α·b + (1 − α)·f); the fixed point is the same for any α.
    const next = tidy(() => {
      const { A, b } = damped(lin.J!, lin.b!, lin.f, alpha);
      return scanNative(A, b, y0A);
    });
    for (const l of stay) iters[active[l]] += 1;
    steps += 1;
    yA.dispose();
    yA = next;
    for (const t of [lin.f, lin.J, lin.b]) t?.dispose();
    if (mode === 'elk' && alpha < 1 && alpha > 0) alpha = Math.min(1, alpha * 2);
  }
  for (const t of [xpA, y0A, yA, startA]) t.dispose();

  // Reassemble the batch in its original order.
  const order = done.flatMap((d) => d.idx);
  const parts = done.map((d) => d.y);
  const y = tidy(() => {
    const cat = parts.length === 1 ? parts[0].clone() : concat(parts, 1);
    const inv = new Array<number>(B);
    order.forEach((g, pos) => (inv[g] = pos));
    return selectBatch(cat, inv);
  });
  for (const p of parts) p.dispose();
  if (fallback.length) {
    // Report the fallback answer's own residual.
    const { res } = residualOf(o, xp, y0, y);
    for (const g of fallback) residual[g] = res[g];
  }
  return { y, iters, converged, residual, fallback: fallback.sort((a, b) => a - b), diverged, damping: minAlpha, J };
}

/**
 * Damping. A = αJ and b = α·(f − J y_{t−1}) + (1 − α)·f keep the fixed point
 * y = f(shift y) for every α: α = 1 is Newton (or quasi-Newton with diagonal
 * J), α = 0 the Picard iteration y ← f(shift y), which stays bounded for
 * bounded cells and is exact on the first k steps after k iterations. ELK
 * (Gonzalez et al. 2024) damps the Newton step by a trust region solved as a
 * Kalman smoother; this shrinkage of the linearisation is the same idea in
 * its cheapest, diagonal form.
 */
function damped(J: Tensor, bOff: Tensor, f: Tensor, alpha: number): { A: Tensor; b: Tensor } {
  if (alpha === 1) return { A: J.clone(), b: bOff.clone() };
  return { A: mul(J, alpha), b: add(mul(bOff, alpha), mul(f, 1 - alpha)) };
}

function scanNative(A: Tensor, b: Tensor, y0: Tensor): Tensor {
  return noGrad(() => scanRaw(A, b, y0));
}

// ---------------------------------------------------------------- public entry

function tolerancesFor(dtype: string, T: number, o: DeerOptions): Tolerances {
  const f64 = dtype === 'float64';
  const num = (v: unknown, name: string, dflt: number, lo: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo) fail('INVALID_ARGUMENT', `deer: ${name} must be a finite number >= ${lo}; got ${describe(v)}`);
    return v;
  };
  const maxIters = num(o.maxIters, 'maxIters', Math.min(Math.max(T, 1), 100), 1);
  if (!Number.isInteger(maxIters)) fail('INVALID_ARGUMENT', `deer: maxIters must be an integer; got ${maxIters}`);
  return {
    atol: num(o.atol, 'atol', f64 ? 1e-12 : 1e-6, 0),
    rtol: num(o.rtol, 'rtol', f64 ? 1e-12 : 1e-6, 0),
    maxIters,
    strict: Boolean(o.strict),
  };
}

function checkOptions(o: unknown): DeerOptions {
  if (o === undefined) return {};
  if (o === null || typeof o !== 'object' || Array.isArray(o)) fail('INVALID_ARGUMENT', `deer: options must be an object; got ${describe(o)}`);
  const known = ['mode', 'atol', 'rtol', 'maxIters', 'initialGuess', 'warmStart', 'chunkSize', 'strict', 'backward', 'keepJacobians'];
  for (const k of Object.keys(o)) if (!known.includes(k)) fail('INVALID_ARGUMENT', `deer: unknown option '${k}'; expected one of ${known.join(', ')}`);
  const opts = o as DeerOptions;
  if (opts.mode !== undefined && !MODES.includes(opts.mode)) fail('INVALID_ARGUMENT', `deer: mode must be one of ${MODES.map((m) => `'${m}'`).join(', ')}; got ${describe(opts.mode)}`);
  if (opts.backward !== undefined && opts.backward !== 'scan' && opts.backward !== 'sequential') fail('INVALID_ARGUMENT', `deer: backward must be 'scan' or 'sequential'; got ${describe(opts.backward)}`);
  if (opts.chunkSize !== undefined && !(Number.isInteger(opts.chunkSize) && opts.chunkSize >= 1)) fail('INVALID_ARGUMENT', `deer: chunkSize must be a positive integer; got ${describe(opts.chunkSize)}`);
  return opts;
}

/**
 * Runs the cell recurrence y_t = f(y_{t−1}, xp_t) for t = 0 … T−1 from y0.
 * kind: 'gru' | 'lstm' | 'rnn_tanh' | 'rnn_relu'; xp [T, B, G] the input
 * projection W_ih x_t + b_ih (G = 3H, 4H, H); Whh [G, H]; bhh [G] or null;
 * y0 [B, n] (n = 2H for LSTM: [h, c]). Returns y [T, B, n], differentiable in
 * xp, Whh, bhh and y0, and the solver's stats.
 */
export function cellRecurrence(
  kind: CellKind, xp: Tensor, Whh: Tensor, bhh: Tensor | null, y0: Tensor, options?: DeerOptions, warm?: WarmStart,
): { y: Tensor; stats: DeerStats } {
  if (!KINDS.includes(kind)) fail('INVALID_ARGUMENT', `deer: cell must be one of ${KINDS.map((k) => `'${k}'`).join(', ')}; got ${describe(kind)}`);
  checkTensor(xp, 'deer', 'xp');
  checkTensor(Whh, 'deer', 'Whh');
  if (bhh !== null) checkTensor(bhh, 'deer', 'bhh');
  checkTensor(y0, 'deer', 'y0');
  const opts = checkOptions(options);
  if (xp.rank !== 3) fail('SHAPE_MISMATCH', `deer: xp has shape [${xp.shape}]; expected [T, B, G]`);
  if (Whh.rank !== 2) fail('SHAPE_MISMATCH', `deer: Whh has shape [${Whh.shape}]; expected [G, H]`);
  const [T, B] = xp.shape;
  const H = Whh.shape[1];
  const n = stateSize(kind, H);
  if (opts.initialGuess !== undefined) {
    checkTensor(opts.initialGuess, 'deer', 'initialGuess');
    const g = opts.initialGuess.shape;
    if (g.length !== 3 || g[0] !== T || g[1] !== B || g[2] !== n) fail('SHAPE_MISMATCH', `deer: initialGuess has shape [${g}]; expected [T, B, n] = [${T}, ${B}, ${n}]`);
  }
  const requested = opts.mode ?? 'auto';
  const mode = requested === 'auto' ? chooseMode(kind, T, B, H, xp.device) : requested;
  const tol = tolerancesFor(xp.dtype, T, opts);
  const chunk = Math.min(opts.chunkSize ?? Math.max(T, 1), Math.max(T, 1));
  const o: Operands = { kind, xp, Whh, bhh, y0 };
  const stats: DeerStats = {
    mode, iterations: 0, sequenceIterations: new Array<number>(B).fill(0), converged: new Array<boolean>(B).fill(mode === 'sequential'),
    residual: new Array<number>(B).fill(0), fallback: false, fallbackSequences: [], diverged: false, damping: mode === 'elk' ? 0.5 : 1,
    chunks: 0, warmStarted: false,
  };
  const recording = isGradEnabled() && [xp, Whh, y0, ...(bhh ? [bhh] : [])].some((t) => t.requiresGrad);
  const backwardMode = opts.backward ?? (mode === 'sequential' ? 'sequential' : 'scan');
  const keepJ = Boolean(opts.keepJacobians) && mode === 'deer' && backwardMode === 'scan' && recording;
  const warmY = opts.warmStart && warm && mode !== 'sequential' ? warm.get([T, B, n], xp.dtype, xp.device) : null;
  const guessFull = opts.initialGuess ?? warmY;
  stats.warmStarted = Boolean(warmY && !opts.initialGuess);

  const fallbackSet = new Set<number>();
  const y = tidy(() => {
    const pieces: Tensor[] = [];
    let start = y0;
    for (let t0 = 0; t0 < T || t0 === 0; t0 += chunk) {
      const len = Math.min(chunk, T - t0);
      const xpc = len === T ? xp : slice(xp, [t0, 0, 0], [len, B, xp.shape[2]]);
      const r = mode === 'sequential' || len === 0 || B === 0 ? null : noGrad(() => tidy(() => {
        const guess = guessFull ? slice(guessFull, [t0, 0, 0], [len, B, n]) : broadcastGuess(start, len);
        return solveChunk(o, xpc, start, guess, mode, tol, keepJ);
      }));
      const yc = r ? r.y : noGrad(() => sequential(o, xpc, start));
      if (r) {
        r.iters.forEach((v, b) => (stats.sequenceIterations[b] += v));
        r.converged.forEach((c, b) => (stats.converged[b] = (t0 === 0 || stats.converged[b]) && c));
        r.residual.forEach((v, b) => (stats.residual[b] = Math.max(stats.residual[b], v)));
        r.fallback.forEach((b) => fallbackSet.add(b));
        stats.diverged ||= r.diverged;
        stats.damping = Math.min(stats.damping, r.damping);
      }
      stats.chunks += 1;
      pieces.push(recording ? recordCell(o, xpc, start, yc, backwardMode, r?.J ?? null) : yc);
      if (len > 0 && t0 + len < T) start = reshape(slice(pieces[pieces.length - 1], [len - 1, 0, 0], [1, B, n]), [B, n]);
      if (T === 0) break;
    }
    return pieces.length === 1 ? pieces[0] : concat(pieces, 0);
  });
  stats.iterations = Math.max(0, ...stats.sequenceIterations);
  stats.fallbackSequences = [...fallbackSet].sort((a, b) => a - b);
  stats.fallback = fallbackSet.size > 0;
  if (warm && mode !== 'sequential') warm.set(y);
  if (mode !== 'sequential' && B > 0) recentIters.set(`${xp.device}/${kind}/${n}`, Math.max(1, Math.round(stats.iterations / Math.max(1, stats.chunks))));
  return { y, stats };
}

const zerosOf = (t: Tensor): Tensor => zerosLike(t);

/** The first guess without a warm start: y0 at every step. */
function broadcastGuess(y0: Tensor, T: number): Tensor {
  const [B, n] = y0.shape;
  return tidy(() => broadcastTo(reshape(y0, [1, B, n]), [T, B, n]));
}

/** Records the implicit-differentiation backward of one chunk's solution y on it. */
function recordCell(o: Operands, xp: Tensor, y0: Tensor, y: Tensor, backward: 'scan' | 'sequential', keptJ: Tensor | null): Tensor {
  const inputs = [xp, o.Whh, ...(o.bhh ? [o.bhh] : []), y0];
  const save = [xp, o.Whh, ...(o.bhh ? [o.bhh] : []), y0, y, ...(keptJ ? [keptJ] : [])];
  const hasBias = Boolean(o.bhh);
  record(y, `deer.${o.kind}`, inputs, (gy, s) => {
    let i = 0;
    const sxp = s[i++], sW = s[i++], sb = hasBias ? s[i++] : null, sy0 = s[i++], sy = s[i++], sJ = keptJ ? s[i++] : null;
    const nat = cellNative();
    let gxpH, ghhH, gy0H;
    if (backward === 'sequential') {
      [gxpH, ghhH, gy0H] = nat.cellBackward(o.kind, sxp.handle, sW.handle, sb?.handle ?? null, sy0.handle, sy.handle, gy.handle, false);
    } else {
      const J = sJ ?? linearize({ ...o, Whh: sW, bhh: sb }, sy0, sxp, sy, 'dense').J!;
      // λ_t = gy_t + J_{t+1}ᵀ λ_{t+1}: the reverse scan (deerScanBackward's gb).
      const [gA, lam, g0] = (native() as unknown as DeerNative).deerScanBackward(J.handle, gy.handle, sy0.handle, sy.handle, gy.handle);
      wrap(gA).dispose();
      wrap(g0).dispose();
      const lamT = wrap(lam);
      [gxpH, ghhH, gy0H] = nat.cellBackward(o.kind, sxp.handle, sW.handle, sb?.handle ?? null, sy0.handle, sy.handle, lamT.handle, true);
    }
    const gxp = wrap(gxpH), ghh = wrap(ghhH), gy0 = wrap(gy0H);
    const [T, B] = sy.shape;
    if (T === 0 || B === 0) return [gxp, zerosOf(sW), ...(hasBias ? [zerosOf(sb!)] : []), gy0];
    const H = sW.shape[1], G = sW.shape[0];
    const hPrev = o.kind === 'lstm' ? slice(shifted(sy0, sy), [0, 0, 0], [T, B, H]) : shifted(sy0, sy);
    const gW = matmul(reshape(ghh, [T * B, G]), reshape(hPrev, [T * B, H]), { transposeA: true });
    const grads: (Tensor | null)[] = [gxp, gW];
    if (hasBias) grads.push(sum(reshape(ghh, [T * B, G]), 0));
    grads.push(gy0);
    return grads;
  }, save);
  if (keptJ) keptJ.dispose();
  return y;
}
