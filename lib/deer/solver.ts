/**
 * The DEER solver (Lim et al., ICLR 2024): a recurrent cell y_t = f(y_{t−1}, xp_t)
 * evaluated over the whole sequence at once by Newton's method, each
 * iteration one parallel linearisation (native cellLinearize: f, J and
 * b = f − J y_{t−1} at every step) and one linear scan (deer.scan).
 *
 * Modes:
 * - 'sequential': the fused sequential kernel (one launch walking T), exact.
 * - 'deer': Newton with the dense Jacobian; quadratic convergence.
 * - 'quasi': the diagonal of the Jacobian (quasi-DEER); O(T n) memory per
 *   iteration, linear convergence, the same fixed point.
 * - 'elk': ELK (Gonzalez et al. 2024): each step is the Levenberg–Marquardt
 *   step of the dense linearisation (Newton damped towards the iterate),
 *   solved as a Kalman smoother by parallel scans, with λ adapted per
 *   sequence; for dynamics where Newton overshoots. As λ shrinks to 0 the
 *   steps become Newton's and convergence quadratic. See `solveChunkElk`.
 * - 'quasi-elk': the same with the diagonal of the Jacobian (O(T n) memory).
 * - 'auto': sequential on the CPU; on a GPU the fastest of sequential,
 *   deer and quasi, measured once per size class (see `autoMode`).
 *
 * Convergence is judged per sequence on the residual y − f(shift y): |y − f|
 * ≤ atol + rtol·|f| at every step and unit (as torch.allclose; a bound on
 * ‖f‖∞ instead let a growing state's early steps pass with errors as large as
 * their values); converged sequences are set aside and cost no more work.
 * A non-finite residual, or one that more than doubles twice running, is divergence: the sequences
 * still running restart from the first guess under ELK's damped steps ('deer'
 * under ELK, 'quasi' under quasi-ELK), whose λ grows until a step lowers the
 * residual (rejected steps change nothing, so they cannot overflow). A
 * sequence that stalls there (λ at its ceiling, or a merit that no longer
 * falls: kElkWindow), or in undamped Newton goes kStallIters
 * iterations without a new lowest residual near its rounding floor, or has
 * not converged after maxIters, is computed by the exact sequential kernel, and
 * `stats` says so (`strict: true` throws NOT_CONVERGED instead).
 *
 * Every step keeps the fixed point y = f(shift y), so damping changes the
 * speed of convergence, never the answer.
 *
 * Gradients are by implicit differentiation at the solution: the adjoint
 * λ_t = g_t + J_{t+1}ᵀ λ_{t+1} is one reverse scan with the dense Jacobian at
 * y* (or the fused sequential BPTT kernel with backward: 'sequential'), then
 * the cell's local vector-Jacobian products at every step in parallel.
 */
import { edgeOf, gradients, isGradEnabled, noGrad, outsideCreateGraph, record } from '../autograd/graph';
import { synchronize } from '../device';
import { isolated, keep, tidy } from '../engine';
import { AntlerError, fail } from '../errors';
import { native } from '../native';
import { add, broadcastTo, concat, matmul, mul, permute, relu, reshape, sigmoid, slice, stack, sub, sum, tanh, where, wrap } from '../ops/core';
import { embedding } from '../ops/nn';
import { checkTensor, Tensor, tensor, zerosLike } from '../tensor';
import { checkBoolean, checkInteger, checkKnownKeys, describe, shapeText, numel } from '../validate';
import { CellKind, cellNative } from './native-cells';
import { converged as passes, elkStepUnchecked as elkStep, previousStates, residuals, scan as scanRaw } from './scan';
import type { DeerNative, Residuals } from './scan';

export type { CellKind } from './native-cells';
export type DeerMode = 'sequential' | 'deer' | 'quasi' | 'elk' | 'quasi-elk' | 'auto';
export const DEER_MODES: readonly DeerMode[] = ['sequential', 'deer', 'quasi', 'elk', 'quasi-elk', 'auto'];
type IterativeMode = 'deer' | 'quasi' | 'elk' | 'quasi-elk';
const KINDS: readonly CellKind[] = ['gru', 'lstm', 'rnn_tanh', 'rnn_relu'];

export interface DeerOptions {
  /** How the recurrence is evaluated (default 'auto'). */
  mode?: DeerMode;
  /** Absolute residual tolerance (default 1e-6 float32, 1e-12 float64). */
  atol?: number;
  /** Relative residual tolerance: |y − f| ≤ atol + rtol·|f| at every step and unit (default 1e-6 float32, 1e-12 float64). */
  rtol?: number;
  /**
   * Iterations per chunk before falling back (default min(T, 100); min(T + 50, 150) for the damped
   * 'elk' and 'quasi-elk'). After a divergence in 'deer' or 'quasi', ELK continues with what is left.
   */
  maxIters?: number;
  /** A first guess for y [T, B, n]. */
  initialGuess?: Tensor;
  /** Reuse the last solution of the same shape (modules keep one per layer). */
  warmStart?: boolean;
  /** Solve at most this many steps at a time, carrying the state across chunks; bounds the O(T n²) memory. */
  chunkSize?: number;
  /** Throw NOT_CONVERGED instead of falling back to the sequential kernel. */
  strict?: boolean;
  /** 'scan' (default for deer/quasi/elk/quasi-elk): the adjoint by one reverse scan with J at the solution; 'sequential': fused BPTT. */
  backward?: 'scan' | 'sequential';
  /** Keep the forward's last dense Jacobian for the backward instead of recomputing it (dense mode only; O(T n²) memory held until backward). */
  keepJacobians?: boolean;
  /**
   * Run a 'deer' or 'quasi' solve's Newton iterations in one native call (one kernel launch on
   * a GPU: no launches or host round trips per iteration, no [T, B, n, n] Jacobians in memory),
   * judging each sequence as the iteration by launches does; a diverging sequence still goes on
   * under ELK, a stalled one or one out of iterations to the sequential kernel. Also the
   * gradient's adjoint (backward 'scan') in one call, without the dense Jacobians (n ≤ 16 on CUDA).
   * Default: true on CUDA where the kernels apply ('deer' and the adjoint: n ≤ 16; 'quasi':
   * H ≤ 32), false on the CPU (whose iteration by launches parallelises over steps). true where
   * they do not apply runs by launches.
   */
  fused?: boolean;
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
  /**
   * Divergence was detected: under 'deer' and 'quasi' a non-finite residual
   * or one that more than doubled twice running (the solve then went on
   * under ELK); under 'elk' and 'quasi-elk' a non-finite step (a step the
   * damping rejects is not divergence).
   */
  diverged: boolean;
  /**
   * The largest Levenberg–Marquardt λ of an ELK step (modes 'elk' and
   * 'quasi-elk', or deer and quasi after divergence); 0 when no ELK step ran.
   */
  lambda: number;
  /**
   * Solves the sequence was split into: its chunks (chunkSize). With
   * `lengths` a module solves the steps where the same sequences are still
   * running as one piece (a batch with two distinct lengths is two pieces
   * even without chunkSize), and this sums the pieces' chunks.
   */
  chunks: number;
  /** The initial guess came from a previous solution. */
  warmStarted: boolean;
  /**
   * Only on the call where 'auto' measured its size class (on a GPU): each
   * candidate mode's time in ms (forward, or forward and backward for a call
   * that records a graph); `mode` is the fastest.
   */
  autoTuning?: AutoChoice['ms'];
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
 * Where 'auto' measures instead of modelling: devices whose name starts with
 * one of these prefixes (default the GPUs). Tests add 'cpu' to exercise it.
 */
export const autoTuning: { devices: string[] } = { devices: ['cuda'] };

/** What 'auto' measured for one size class: the modes' times (ms) and the fastest. */
export interface AutoChoice {
  mode: 'sequential' | 'deer' | 'quasi';
  ms: { sequential: number; deer: number; quasi: number };
}

const autoChoices = new Map<string, AutoChoice>();

/** The size class of a call: device, cell, state size, dtype, T and B rounded up to powers of two, and chunkSize (autoMode adds whether it records a graph). */
function autoKey(kind: CellKind, xp: Tensor, n: number, chunkSize: number | undefined): string {
  const pow2 = (v: number) => 2 ** Math.ceil(Math.log2(Math.max(1, v)));
  return `${xp.device}/${kind}/${n}/${xp.dtype}/T${pow2(xp.shape[0])}/B${pow2(xp.shape[1])}/chunk${chunkSize ?? 'all'}`;
}

/** The choices 'auto' has measured so far, by size class (for the benchmark and tests). */
export function autoTuned(): ReadonlyMap<string, AutoChoice> {
  // A copy: changing it changes no choice.
  return new Map([...autoChoices].map(([k, c]) => [k, { mode: c.mode, ms: { ...c.ms } }]));
}

/** Forgets what 'auto' has measured. */
export function resetAutoTuning(): void {
  autoChoices.clear();
  recentIters.clear();
}

/**
 * 'auto' where it does not measure (the CPU, T < 256; see autoMode): a cost
 * model in units of one cell step of one chain. The sequential
 * kernel takes T dependent steps (each O(n·G) work, parallel over B·H lanes);
 * DEER takes `iters` rounds of a fully parallel linearisation (T·B·n·G work)
 * and a scan (T·B·n² work, plus n³ per chunk summary on long sequences). On
 * the CPU (a few cores) DEER's extra work never pays, so sequential runs; on
 * a GPU DEER wins when the sequential walk leaves most lanes idle (small B·n)
 * and T is long.
 */
export function chooseMode(kind: CellKind, T: number, B: number, H: number, device: string): 'sequential' | 'deer' | 'quasi' {
  const op = 'deer.chooseMode';
  if (!KINDS.includes(kind)) fail('INVALID_ARGUMENT', `${op}: kind must be one of ${KINDS.map((k) => `'${k}'`).join(', ')}; got ${describe(kind)}`);
  checkInteger(T, op, 'T', 0);
  checkInteger(B, op, 'B', 0);
  checkInteger(H, op, 'H', 1);
  if (typeof device !== 'string') fail('INVALID_ARGUMENT', `${op}: device must be a string such as 'cpu' or 'cuda:0'; got ${describe(device)}`);
  if (!device.startsWith('cuda') || T < 256) return 'sequential';
  const n = stateSize(kind, H), G = gateCount(kind, H);
  const iters = recentIters.get(`${device}/${kind}/${n}`) ?? (n <= 8 ? 6 : 10);
  const lanes = 100_000; // threads a current GPU keeps in flight
  const seqCost = T * Math.max(1, (n * G) / 256); // one dependent step, split over a block
  const deerCost = iters * Math.max(1, (T * B * (n * G + n * n)) / lanes) * 4;
  return deerCost < seqCost ? 'deer' : 'sequential';
}

// ---------------------------------------------------------------- helpers

/** idx as runs of consecutive values: [first, length] pairs. */
function runsOf(idx: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const v of idx) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === v) last[1] += 1;
    else runs.push([v, 1]);
  }
  return runs;
}

/** Runs of consecutive indices up to which a gather is a few slices and a concat instead of permute–embedding–permute. */
const kMaxSliceRuns = 4;

/** @internal x [T, B, ...] restricted to batch columns idx (a gather along axis 1). */
export function selectBatch(x: Tensor, idx: number[]): Tensor {
  if (idx.length === x.shape[1] && idx.every((v, i) => v === i)) return x.clone();
  // Compaction usually drops a few finished sequences: the kept columns are a few runs.
  const runs = runsOf(idx);
  if (runs.length >= 1 && runs.length <= kMaxSliceRuns) {
    return tidy(() => {
      const parts = runs.map(([first, len]) => slice(x, [0, first, ...x.shape.slice(2).map(() => 0)], [x.shape[0], len, ...x.shape.slice(2)]));
      return parts.length === 1 ? parts[0] : concat(parts, 1);
    });
  }
  return tidy(() => {
    const [T, B] = x.shape;
    const rest = x.shape.slice(2);
    const inner = numel(rest);
    const perm = x.shape.map((_, i) => i);
    perm[0] = 1;
    perm[1] = 0;
    const bMajor = reshape(permute(x, perm), [B, T * inner]);
    const picked = embedding(tensor(idx, [idx.length], { dtype: 'int32', device: x.device }), bMajor);
    return permute(reshape(picked, [idx.length, T, ...rest]), perm);
  });
}

/** @internal Rows idx of x [B, n]. */
export function selectRows(x: Tensor, idx: number[]): Tensor {
  const runs = runsOf(idx);
  if (runs.length >= 1 && runs.length <= kMaxSliceRuns) {
    return tidy(() => {
      const parts = runs.map(([first, len]) => slice(x, [first, 0], [len, x.shape[1]]));
      return parts.length === 1 ? parts[0] : concat(parts, 0);
    });
  }
  return tidy(() => embedding(tensor(idx, [idx.length], { dtype: 'int32', device: x.device }), x));
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
  /** The largest ELK λ any sequence reached (0 when no ELK step ran). */
  lambda: number;
  /** The dense J at the solution, when kept for the backward. */
  J: Tensor | null;
}

const linearize = (o: Operands, y0: Tensor, xp: Tensor, y: Tensor, jac: 'none' | 'diagonal' | 'dense') => {
  const [f, J, b] = cellNative().cellLinearize(o.kind, xp.handle, o.Whh.handle, o.bhh?.handle ?? null, y0.handle, y.handle, jac);
  return { f: wrap(f), J: J ? wrap(J) : null, b: b ? wrap(b) : null };
};

const sequential = (o: Operands, xp: Tensor, y0: Tensor): Tensor =>
  wrap(cellNative().cellSequential(o.kind, xp.handle, o.Whh.handle, o.bhh?.handle ?? null, y0.handle));

/** Residual ‖y − f(shift y)‖∞ per sequence and the scale ‖f‖∞, for a solution y (its excess is over rtol 0). */
function residualOf(o: Operands, xp: Tensor, y0: Tensor, y: Tensor): Residuals {
  return tidy(() => residuals(y, linearize(o, y0, xp, y, 'none').f, 0));
}

/**
 * The sequences of one chunk still being solved. Each has a local index (its
 * column in the compacted tensors) and a global one; finished sequences are
 * retired with their answer, and the rest continue on a batch compacted to
 * them, so converged sequences cost no more work.
 */
class ActiveSet {
  active: number[];
  private readonly done: { idx: number[]; y: Tensor }[] = [];
  readonly fallback: number[] = [];
  /** Per-sequence tensors: [T, B, …] when byTime, else [B, …]; borrowed ones belong to the caller and are never disposed here. */
  private readonly tensors = new Map<string, { t: Tensor; byTime: boolean; borrowed: boolean }>();

  constructor(B: number) {
    this.active = Array.from({ length: B }, (_, i) => i);
  }

  set(name: string, t: Tensor, byTime = true, borrowed = false): void {
    const old = this.tensors.get(name);
    if (old && old.t !== t && !old.borrowed) old.t.dispose();
    this.tensors.set(name, { t, byTime, borrowed });
  }
  get(name: string): Tensor {
    return this.tensors.get(name)!.t;
  }

  /**
   * Sets aside local sequences `local` with their answer: columns `local` of
   * y, or (narrowed) y's columns in the order of `local`.
   */
  retire(local: number[], y: Tensor, fell: boolean, narrowed = false): void {
    if (!local.length) return;
    // Every sequence retiring at once with a tensor of this set (the usual end): take it over, no copy.
    // The caller stops iterating then; a borrowed tensor is always copied.
    const whole = !narrowed && local.length === this.active.length && local.every((l, i) => l === i);
    const owner = whole ? [...this.tensors].find(([, e]) => e.t === y && !e.borrowed) : undefined;
    if (owner) this.tensors.delete(owner[0]);
    this.done.push({ idx: local.map((l) => this.active[l]), y: owner ? y : narrowed ? y.clone() : selectBatch(y, local) });
    if (fell) for (const l of local) this.fallback.push(this.active[l]);
  }

  /** Keeps local sequences `keep` (in that order); per-sequence arrays must be compacted by the caller with `pick`. */
  compact(keep: number[]): void {
    for (const [name, { t, byTime, borrowed }] of this.tensors) {
      this.tensors.set(name, { t: byTime ? selectBatch(t, keep) : selectRows(t, keep), byTime, borrowed: false });
      if (!borrowed) t.dispose();
    }
    this.active = keep.map((l) => this.active[l]);
  }

  /** The retired answers in the original batch order, [T, B, n]. */
  assemble(B: number): Tensor {
    const order = this.done.flatMap((d) => d.idx);
    const parts = this.done.map((d) => d.y);
    // Usually every sequence finished at once, in order: the one part is the answer, no copy.
    const inOrder = order.every((g, pos) => g === pos);
    const y = parts.length === 1 && inOrder ? parts[0] : tidy(() => {
      if (inOrder) return concat(parts, 1);
      const cat = parts.length === 1 ? parts[0] : concat(parts, 1);
      const inv = new Array<number>(B);
      order.forEach((g, pos) => (inv[g] = pos));
      return selectBatch(cat, inv);
    });
    for (const p of parts) if (p !== y) p.dispose();
    for (const { t, borrowed } of this.tensors.values()) if (!borrowed) t.dispose();
    this.tensors.clear();
    return y;
  }
}

const pick = <T>(xs: T[], keep: number[]): T[] => keep.map((l) => xs[l]);

/** The dtype's rounding unit (the stall rule's floor, kStallFloor of them). */
const roundingUnit = (dtype: string): number => (dtype === 'float64' ? 2 ** -52 : 2 ** -23);

/** How much a Newton residual must grow, from one iteration to the next, to count toward divergence. */
const kGrowthFactor = 2;
/**
 * Newton iterations without a new lowest residual after which a sequence that
 * is already near its dtype's rounding floor (lowest residual within
 * kStallFloor rounding units of ‖f‖∞) is stalled: it sits just above the
 * tolerance, and more iterations only jitter, so it gets the exact
 * sequential answer instead of using up maxIters. Far from the floor a flat
 * residual is normal early on (the exact prefix advances a step or more per
 * iteration while the residual's maximum lies further on), and is left alone.
 */
const kStallIters = 8;
const kStallFloor = 1000;

/**
 * Newton on one chunk, all inside noGrad. Sequences are set aside as they
 * converge; the rest continue on a compacted batch. When a residual turns
 * non-finite or more than doubles twice running, the unfinished sequences restart from
 * the first guess under ELK's damped steps (solveChunkElk; dense for 'deer',
 * diagonal for 'quasi') with the iterations left.
 */
function solveChunk(o: Operands, xp: Tensor, y0: Tensor, guess: Tensor, mode: IterativeMode, tol: Tolerances, keepJ: boolean, fused = false): ChunkResult {
  if (mode === 'elk' || mode === 'quasi-elk') return solveChunkElk(o, xp, y0, guess, tol, mode === 'elk' ? 'dense' : 'diagonal');
  if (fused) return solveChunkFused(o, xp, y0, guess, mode, tol);
  const B = xp.shape[1];
  const jac = mode === 'deer' ? 'dense' : 'diagonal';
  const iters = new Array<number>(B).fill(0);
  const converged = new Array<boolean>(B).fill(false);
  const residual = new Array<number>(B).fill(Infinity);
  let diverged = false;
  let lambda = 0;
  let J: Tensor | null = null;

  const set = new ActiveSet(B);
  // The caller's tensors are borrowed (read, never disposed here); compaction makes owned copies.
  set.set('xp', xp, true, true);
  set.set('y0', y0, false, true);
  set.set('y', guess, true, true);
  set.set('start', guess, true, true);
  let prevRes: number[] = new Array<number>(B).fill(Infinity);
  let growth = new Array<number>(B).fill(0);
  let best: number[] = new Array<number>(B).fill(Infinity);
  let since = new Array<number>(B).fill(0);
  let nearFloor = new Array<boolean>(B).fill(false);
  const eps = roundingUnit(xp.dtype);

  let steps = 0;
  let stepped = true; // y changed since the residuals were last judged
  /** Keeps local sequences `keep` in the set and in the per-sequence arrays; the next pass re-linearises them. */
  const compactTo = (keep: number[]) => {
    set.compact(keep);
    prevRes = pick(prevRes, keep);
    growth = pick(growth, keep);
    best = pick(best, keep);
    since = pick(since, keep);
    nearFloor = pick(nearFloor, keep);
    stepped = false;
  };
  while (set.active.length > 0) {
    const lin = linearize(o, set.get('y0'), set.get('xp'), set.get('y'), jac);
    const freeLin = () => {
      for (const t of [lin.f, lin.J, lin.b]) t?.dispose();
    };
    const judged = residuals(set.get('y'), lin.f, tol.rtol);
    const { res, scale } = judged;
    const finished: number[] = [], stay: number[] = [], diverging: number[] = [];
    let bad = false;
    set.active.forEach((g, l) => {
      const r = Number.isFinite(res[l]) ? res[l] : Infinity;
      residual[g] = r;
      // A finite residual only (an overflowing f once made the bound ∞ and called a sequence of
      // NaN and ∞ "converged").
      if (passes(judged, l, tol.atol)) {
        converged[g] = true;
        finished.push(l);
        return;
      }
      // Divergence: a non-finite residual, or one that more than doubles twice running. Newton's
      // residual here may rise a little for an iteration or two and still converge (each
      // iteration makes one more step exact), and near the tolerance it jitters with rounding;
      // counting every rise sent trained GRUs to ELK's far costlier damped steps (a [100, 32, 32]
      // GRU from examples/gru-adding.ts: 23 iterations and 9.6 s through ELK, 12 and 0.26 s undamped).
      if (r === Infinity || r > kGrowthFactor * prevRes[l]) growth[l] += 1;
      else growth[l] = 0;
      if (r === Infinity || growth[l] >= 2) {
        bad = true;
        diverging.push(l);
      }
      prevRes[l] = r;
      if (r < best[l]) [best[l], since[l]] = [r, 0];
      else if (stepped) since[l] += 1; // not after a re-linearisation of the same y (compaction)
      nearFloor[l] = best[l] <= kStallFloor * eps * Math.max(scale[l], 1);
      stay.push(l);
    });
    if (keepJ && lin.J && finished.length === B) J = isolated(() => keep(lin.J!.clone()));
    set.retire(finished, set.get('y'), false);
    if (stay.length === 0) {
      freeLin();
      break;
    }
    const isStalled = (l: number) => since[l] >= kStallIters && nearFloor[l];
    const stalled = bad ? [] : stay.filter(isStalled);
    if (stalled.length)
      fallBack(o, set, stalled, tol, `no lower residual in ${kStallIters} ${mode} iterations`, "it sits at its rounding floor: loosen atol/rtol, or use mode 'sequential'", B, Math.max(...stalled.map((l) => prevRes[l])));
    if (finished.length || stalled.length) {
      freeLin();
      const keepOn = stalled.length ? stay.filter((l) => !isStalled(l)) : stay;
      if (!keepOn.length) break;
      compactTo(keepOn);
      continue; // re-linearise the compacted batch (cheap relative to a lost iteration's bookkeeping)
    }
    if (steps >= tol.maxIters) {
      freeLin();
      fallBack(o, set, stay, tol, `${tol.maxIters} ${mode} iterations`, MORE_ITERS, B, Math.max(...stay.map((l) => prevRes[l])));
      break;
    }
    if (bad) {
      // Divergence: the diverging sequences start again from the first guess under ELK's damping; the
      // others go on with Newton (one NaN input must not drag a whole batch into damped steps or the
      // fallback).
      freeLin();
      diverged = true;
      const r = { iters, converged, residual };
      lambda = Math.max(lambda, restartUnderElk(o, set, diverging, jac, { ...tol, maxIters: tol.maxIters - steps }, { batch: B, elsewhere: stay.length - diverging.length }, r));
      const keepOn = stay.filter((l) => !diverging.includes(l));
      if (!keepOn.length) break;
      compactTo(keepOn);
      continue;
    }
    const next = tidy(() => scanNative(lin.J!, lin.b!, set.get('y0')));
    for (const l of stay) iters[set.active[l]] += 1;
    steps += 1;
    stepped = true;
    set.set('y', next);
    freeLin();
  }
  return finishChunk(o, xp, y0, set, { iters, converged, residual, diverged, lambda, J }, B);
}

/** The fused kernel's limits on CUDA (native/kernels/deer_fused.h). */
const FUSED_MAX_DENSE_N = 16;
const FUSED_MAX_HIDDEN = 32;

/**
 * Whether a chunk of a 'deer' or 'quasi' solve runs fused (DeerOptions.fused):
 * asked for (the default on CUDA) and within the kernel's limits there.
 */
function fusedFor(mode: DeerMode, device: string, H: number, n: number, asked: boolean | undefined): boolean {
  if (mode !== 'deer' && mode !== 'quasi') return false;
  const cuda = device.startsWith('cuda');
  if (!(asked ?? cuda)) return false;
  return !cuda || (mode === 'deer' ? n <= FUSED_MAX_DENSE_N : H <= FUSED_MAX_HIDDEN);
}

/**
 * The most blocks the fused solve and adjoint split a sequence over on CUDA: ANTLER_DEER_FUSED_SEGMENTS
 * (a positive integer; 1 keeps a block per sequence), else 0: as many as fill the device. Another
 * value is warned about once (as lib/native.ts does for ANTLER_CPU_ISA and ANTLER_CELL_WALK).
 */
let segmentsWarned = false;
function fusedSegments(): number {
  const raw = process.env.ANTLER_DEER_FUSED_SEGMENTS;
  if (raw === undefined || raw === '') return 0;
  const v = Number(raw);
  if (Number.isSafeInteger(v) && v >= 1) return v;
  if (!segmentsWarned) {
    segmentsWarned = true;
    process.emitWarning(`ANTLER_DEER_FUSED_SEGMENTS is '${raw}'; expected a whole number >= 1 (1: a block per sequence). Using as many blocks as fill the GPU.`, { code: 'ANTLER_DEER_FUSED_SEGMENTS' });
  }
  return 0;
}

/** The fused kernel's status codes (native/kernels/deer_fused.h, DeerFusedCode). */
const FUSED_CONVERGED = 0, FUSED_DIVERGED = 1, FUSED_STALLED = 2, FUSED_MAX_ITERS = 3;

/**
 * solveChunk in one native call (cellDeerSolve): every Newton iteration and
 * each sequence's judgement (converged, diverging, stalled, out of
 * iterations, as solveChunk judges them) run in the kernel; then, as there,
 * the diverging sequences restart from the first guess under ELK with the
 * iterations they have left, and the stalled ones and those out of
 * iterations get the sequential answer (or NOT_CONVERGED when strict).
 */
function solveChunkFused(o: Operands, xp: Tensor, y0: Tensor, guess: Tensor, mode: 'deer' | 'quasi', tol: Tolerances): ChunkResult {
  const B = xp.shape[1];
  const jac = mode === 'deer' ? 'dense' : 'diagonal';
  const eps = roundingUnit(xp.dtype);
  const [yh, sh] = cellNative().cellDeerSolve(
    o.kind, xp.handle, o.Whh.handle, o.bhh?.handle ?? null, y0.handle, guess.handle, jac, tol.atol, tol.rtol, tol.maxIters,
    kGrowthFactor, kStallIters, kStallFloor, eps, fusedSegments(),
  );
  const y = wrap(yh);
  const statusT = wrap(sh);
  const status = Array.from(statusT.dataSync());
  statusT.dispose();
  const code = (g: number) => status[g * 3];
  const iters = Array.from({ length: B }, (_, g) => status[g * 3 + 1]);
  const residual = Array.from({ length: B }, (_, g) => (Number.isFinite(status[g * 3 + 2]) ? status[g * 3 + 2] : Infinity));
  const converged = Array.from({ length: B }, (_, g) => code(g) === FUSED_CONVERGED);
  const having = (c: number) => Array.from({ length: B }, (_, g) => g).filter((g) => code(g) === c);
  const [done, diverging, stalled, spent] = [FUSED_CONVERGED, FUSED_DIVERGED, FUSED_STALLED, FUSED_MAX_ITERS].map(having);
  const set = new ActiveSet(B);
  set.set('xp', xp, true, true);
  set.set('y0', y0, false, true);
  set.set('y', y);
  set.set('start', guess, true, true);
  set.retire(done, y, false);
  const worst = (gs: number[]) => Math.max(...gs.map((g) => residual[g]));
  if (tol.strict && (stalled.length || spent.length)) {
    const failed = stalled.length + spent.length;
    const why = [
      ...(stalled.length ? [`${stalled.length} with no lower residual in ${kStallIters} ${mode} iterations, at the rounding floor`] : []),
      ...(spent.length ? [`${spent.length} after ${tol.maxIters} ${mode} iterations`] : []),
    ].join('; ');
    const advice = spent.length ? MORE_ITERS : "it sits at its rounding floor: loosen atol/rtol, or use mode 'sequential'";
    fail(
      'NOT_CONVERGED',
      `deer: ${failed} of ${B} sequences did not converge (${why}; worst residual ${worst([...stalled, ...spent]).toExponential(3)}, tolerance |y − f| ≤ atol ${tol.atol} + rtol ${tol.rtol}·|f| at every step)` +
        `${diverging.length ? `, and ${diverging.length} more diverged and ${diverging.length === 1 ? 'was' : 'were'} still to be retried under ELK when strict stopped the solve` : ''}; ${advice}, or drop strict to fall back to the sequential kernel`,
    );
  }
  // Not strict here (that threw above): the sequential answer.
  if (stalled.length) fallBack(o, set, stalled, tol, 'stalled', '', B, worst(stalled));
  if (spent.length) fallBack(o, set, spent, tol, 'out of iterations', '', B, worst(spent));
  let lambda = 0;
  // Diverging sequences restart under ELK with the iterations each has left (grouped by that count).
  for (const k of [...new Set(diverging.map((g) => iters[g]))]) {
    const group = diverging.filter((g) => iters[g] === k);
    const left = { ...tol, maxIters: tol.maxIters - k };
    lambda = Math.max(lambda, restartUnderElk(o, set, group, jac, left, { batch: B, elsewhere: diverging.length - group.length }, { iters, converged, residual }));
  }
  // No Jacobian kept: where the fused solve runs 'deer', the fused adjoint (which needs none) runs the backward.
  return finishChunk(o, xp, y0, set, { iters, converged, residual, diverged: diverging.length > 0, lambda, J: null }, B);
}

/**
 * Restarts the set's local sequences `local` from the first guess ('start') under ELK's damped
 * steps with tol's iterations, adds ELK's iterations to r.iters and takes its outcome into
 * r.converged and r.residual (indexed by the global sequence), retires them with ELK's answer
 * (those ELK gave up on as fallbacks), and returns the largest λ ELK reached.
 */
function restartUnderElk(
  o: Operands, set: ActiveSet, local: number[], jac: 'dense' | 'diagonal', tol: Tolerances, outer: StrictContext,
  r: { iters: number[]; converged: boolean[]; residual: number[] },
): number {
  const sub = (name: string, byTime: boolean) => (byTime ? selectBatch(set.get(name), local) : selectRows(set.get(name), local));
  const e = tidy(() => {
    const solved = solveChunkElk(o, sub('xp', true), sub('y0', false), sub('start', true), tol, jac, outer);
    keep(solved.y);
    return solved;
  });
  local.forEach((l, i) => {
    const g = set.active[l];
    r.iters[g] += e.iters[i];
    r.converged[g] = e.converged[i];
    r.residual[g] = e.residual[i];
  });
  const fell = new Set(e.fallback);
  const positions = local.map((_, i) => i);
  for (const [mine, flag] of [[positions.filter((i) => !fell.has(i)), false], [positions.filter((i) => fell.has(i)), true]] as const) {
    if (!mine.length) continue;
    const part = selectBatch(e.y, [...mine]);
    set.retire(mine.map((i) => local[i]), part, flag, true);
    part.dispose();
  }
  e.y.dispose();
  return e.lambda;
}

/** strict's advice when maxIters ran out. */
const MORE_ITERS = "raise maxIters, use mode 'sequential'";

/**
 * Local sequences `stay` that did not converge (after maxIters, or stalled):
 * NOT_CONVERGED when strict (`why`, then `advice`), else retired with the
 * exact sequential answer.
 */
/** For a solve of part of a batch (ELK restarting the diverging sequences): the whole batch's size and how many of it iterate elsewhere, for strict's message. */
interface StrictContext {
  batch: number;
  elsewhere: number;
}

function fallBack(o: Operands, set: ActiveSet, stay: number[], tol: Tolerances, why: string, advice: string, B: number, worst: number, outer?: StrictContext): void {
  if (tol.strict) {
    // strict stops at the first failure: sequences still iterating then are not judged.
    const open = set.active.length - stay.length + (outer?.elsewhere ?? 0);
    fail(
      'NOT_CONVERGED',
      `deer: ${stay.length} of ${outer?.batch ?? B} sequences did not converge (${why}; worst residual ${worst.toExponential(3)}, tolerance |y − f| ≤ atol ${tol.atol} + rtol ${tol.rtol}·|f| at every step)` +
        `${open > 0 ? `, and ${open} more ${open === 1 ? 'was' : 'were'} still iterating when strict stopped the solve` : ''}; ${advice}, or drop strict to fall back to the sequential kernel`,
    );
  }
  const exact = tidy(() => sequential(o, selectBatch(set.get('xp'), stay), selectRows(set.get('y0'), stay)));
  set.retire(stay, exact, true, true);
  exact.dispose();
}

/** The chunk's answer in batch order, with the fallback sequences' own residuals. */
function finishChunk(
  o: Operands, xp: Tensor, y0: Tensor, set: ActiveSet, r: Omit<ChunkResult, 'y' | 'fallback'>, B: number,
): ChunkResult {
  const y = set.assemble(B);
  const fallback = set.fallback.slice().sort((a, b) => a - b);
  if (fallback.length) {
    const { res } = residualOf(o, xp, y0, y);
    for (const g of fallback) r.residual[g] = res[g];
  }
  return { ...r, y, fallback };
}

/** Per batch column of r [T, B, n]: Σ r² (the Levenberg–Marquardt merit; NaN stays NaN). */
function columnSumSquares(r: Tensor): number[] {
  return tidy(() => Array.from(sum(mul(r, r), [0, 2]).dataSync()));
}

/**
 * Per active sequence, (merit − ss) / (merit − predicted): the decrease of
 * Σ‖y − f(shift y)‖² from the base to the candidate 'y', over the decrease
 * its dense linear model (a, u at the base) predicted, Σ‖y_t − a_t y_{t−1} − u_t‖².
 */
function gainRatio(set: ActiveSet, ss: number[], merit: number[]): number[] {
  const predicted = tidy(() => {
    const y = set.get('y');
    const prev = previousStates(set.get('y0'), y);
    const ay = reshape(matmul(set.get('a'), reshape(prev, [...prev.shape, 1])), prev.shape);
    return columnSumSquares(sub(sub(y, ay), set.get('u')));
  });
  return merit.map((m, l) => (m - ss[l]) / Math.max(m - predicted[l], Number.MIN_VALUE));
}

/**
 * ELK's damping: the first λ and its bounds; quasi-ELK's factors on an
 * accepted and a rejected step; dense ELK's smallest factor on an accepted
 * step (Nielsen's rule, below).
 */
const ELK = { lambda0: 1, shrink: 1 / 8, grow: 8, minLambda: 1e-6, maxLambda: 1e8, nielsenMinFactor: 0.005 };

/**
 * Accepted ELK steps in which the merit must fall by at least kElkProgress
 * (relative) or the sequence is stalled: Levenberg–Marquardt can settle in a
 * local minimum of the merit that is not a solution, with λ small and every
 * step accepted but no longer moving it (a tanh RNN with large recurrent
 * weights sat at merit 0.9703 for 400 iterations while undamped Newton
 * converged in 8). Genuine progress, even slow, is percents per iteration.
 */
const kElkWindow = 20;
const kElkProgress = 1e-3;


/**
 * ELK (Gonzalez et al. 2024) with the dense Jacobian, or its diagonal
 * (quasi-ELK): every step minimises Σ‖y_t − F_t y_{t−1} − u_t‖² + λ‖y − ŷ‖²
 * around the iterate ŷ by a Kalman filter and smoother (native deerElk,
 * kernels/elk_dense.h and elk.h), and λ adapts per sequence as in
 * Levenberg–Marquardt: a step that lowers the merit Σ‖y − f(shift y)‖² is
 * accepted and λ shrinks (below minLambda it is 0: plain Newton, or
 * quasi-DEER); a step that raises it, or is not finite, is rejected and λ
 * grows. Rejected steps leave the iterate where it was, so nothing can blow
 * up; a sequence whose λ reaches its ceiling (stalled) or that is still
 * unconverged after maxIters steps falls back as in the other modes. With
 * the dense Jacobian a large λ is a short step along the merit's gradient,
 * which lowers it wherever the residual is not 0, so stalls need rounding;
 * the diagonal model can stall on strongly coupled dynamics.
 *
 * With the dense Jacobian the linear model predicts the merit, so λ follows
 * Nielsen's rule on the gain ratio ρ = actual / predicted decrease: an
 * accepted step scales λ by max(ε, 1 − (2ρ − 1)³) (a good model shrinks it,
 * a poor one grows it), a rejected one by ν, which doubles with every
 * rejection in a row. The fixed ÷8/×8 it replaces could ping-pong between
 * two values for hundreds of steps on unstable sequences. The diagonal model
 * predicts nothing useful about the true merit, so quasi-ELK keeps ÷8/×8.
 */
function solveChunkElk(o: Operands, xp: Tensor, y0: Tensor, guess: Tensor, tol: Tolerances, jac: 'dense' | 'diagonal', outer?: StrictContext): ChunkResult {
  const B = guess.shape[1];
  const place = { dtype: xp.dtype as 'float32' | 'float64', device: xp.device };
  const iters = new Array<number>(B).fill(0);
  const converged = new Array<boolean>(B).fill(false);
  const residual = new Array<number>(B).fill(Infinity);
  let diverged = false;
  let maxLambda = 0;
  const set = new ActiveSet(B);
  set.set('xp', xp, true, true);
  set.set('y0', y0, false, true);
  // 'y' is the candidate; 'base' the last accepted iterate, 'a' and 'u' its linearisation.
  set.set('y', guess, true, true);
  let lambda = new Array<number>(B).fill(ELK.lambda0);
  let merit = new Array<number>(B).fill(Infinity);
  let nu = new Array<number>(B).fill(2);
  // The merit at the start of each sequence's current progress window, and the window's age.
  let windowMerit = new Array<number>(B).fill(Infinity);
  let windowAge = new Array<number>(B).fill(0);
  let steps = 0;
  let first = true;
  while (set.active.length > 0) {
    const lin = linearize(o, set.get('y0'), set.get('xp'), set.get('y'), jac);
    const judged = residuals(set.get('y'), lin.f, tol.rtol);
    const { res, ss } = judged;
    lin.f.dispose();
    // Dense: the gain ratio of the step from the base, against the merit its linear model predicted.
    const rho = jac === 'dense' && !first ? gainRatio(set, ss, merit) : null;
    const accept = set.active.map((_, l) => Number.isFinite(ss[l]) && (first || ss[l] < merit[l]));
    if (first || accept.every(Boolean)) {
      set.set('base', set.get('y').clone());
      set.set('a', lin.J!);
      set.set('u', lin.b!);
    } else if (!accept.some(Boolean)) {
      lin.J!.dispose();
      lin.b!.dispose();
    } else {
      // Per sequence: the candidate and its linearisation where accepted, the old base where not.
      const keepNew = tensor(accept.map(Number), [1, accept.length, 1], place);
      const keepJac = jac === 'dense' ? reshape(keepNew, [1, accept.length, 1, 1]) : keepNew;
      set.set('base', where(keepNew, set.get('y'), set.get('base')));
      set.set('a', where(keepJac, lin.J!, set.get('a')));
      set.set('u', where(keepNew, lin.b!, set.get('u')));
      for (const t of new Set([keepNew, keepJac, lin.J!, lin.b!])) t.dispose();
    }
    const finished: number[] = [], stay: number[] = [];
    set.active.forEach((g, l) => {
      if (accept[l]) {
        residual[g] = res[l];
        merit[l] = ss[l];
        if (!first) {
          const f = rho ? Math.max(ELK.nielsenMinFactor, 1 - (2 * rho[l] - 1) ** 3) : ELK.shrink;
          lambda[l] = lambda[l] * f < ELK.minLambda ? 0 : lambda[l] * f;
        }
        nu[l] = 2;
        if (passes(judged, l, tol.atol)) {
          converged[g] = true;
          finished.push(l);
          return;
        }
      } else {
        // A rejected step is ordinary damping; only a non-finite one is divergence (as under Newton).
        if (!Number.isFinite(ss[l])) diverged = true;
        lambda[l] = Math.min(ELK.maxLambda, Math.max(ELK.minLambda, lambda[l] * (jac === 'dense' ? nu[l] : ELK.grow)));
        nu[l] *= 2;
      }
      maxLambda = Math.max(maxLambda, lambda[l]);
      // Only accepted steps age the window: a run of rejections is λ adapting (the λ ceiling bounds it),
      // and counting it stopped a GRU whose ELK left a plateau 3 iterations later and converged.
      if (merit[l] < windowMerit[l] * (1 - kElkProgress)) [windowMerit[l], windowAge[l]] = [merit[l], 0];
      else if (accept[l]) windowAge[l] += 1;
      stay.push(l);
    });
    first = false;
    set.retire(finished, set.get('base'), false);
    // λ at its ceiling: no step of the model lowers the merit any more (quasi-ELK's steps follow the
    // diagonal Jacobian, not the true gradient; dense steps only stall to rounding), so more iterations would not help.
    const over = steps >= tol.maxIters;
    const ceiling = (l: number) => lambda[l] >= ELK.maxLambda;
    const flat = (l: number) => windowAge[l] >= kElkWindow;
    const stalled = over ? stay : stay.filter((l) => ceiling(l) || flat(l));
    if (stalled.length) {
      const name = jac === 'dense' ? 'elk' : 'quasi-elk';
      const why = over
        ? `${tol.maxIters} ${name} iterations`
        : stalled.some(ceiling)
          ? `${name} stalled: λ reached ${ELK.maxLambda}`
          : `${name} stalled: the merit Σ residual² fell by less than ${kElkProgress * 100}% in ${kElkWindow} iterations`;
      fallBack(o, set, stalled, tol, why, over ? MORE_ITERS : "more iterations would not help: try mode 'deer' (undamped) or 'sequential'", B, Math.max(...stalled.map((l) => residual[set.active[l]])), outer);
    }
    const rest = stay.filter((l) => !stalled.includes(l));
    if (rest.length === 0) break;
    if (rest.length < set.active.length) {
      set.compact(rest);
      lambda = pick(lambda, rest);
      merit = pick(merit, rest);
      nu = pick(nu, rest);
      windowMerit = pick(windowMerit, rest);
      windowAge = pick(windowAge, rest);
    }
    const lam = tensor(lambda, [lambda.length], place);
    set.set('y', elkStep(set.get('a'), set.get('u'), set.get('base'), set.get('y0'), lam));
    lam.dispose();
    for (const g of set.active) iters[g] += 1;
    steps += 1;
  }
  return finishChunk(o, xp, y0, set, { iters, converged, residual, diverged, lambda: maxLambda, J: null }, B);
}

function scanNative(A: Tensor, b: Tensor, y0: Tensor): Tensor {
  return noGrad(() => scanRaw(A, b, y0));
}

// ---------------------------------------------------------------- public entry

/** @internal The tolerances with their defaults, from options checkDeerOptions has checked. */
export function tolerancesFor(dtype: string, T: number, o: DeerOptions, mode: DeerMode): Tolerances {
  const f64 = dtype === 'float64';
  // Newton and quasi-DEER are exact after T iterations; damped steps are not (λ starts at 1 and
  // shrinks only on accepted steps), so ELK gets 50 more and a higher cap.
  const damped = mode === 'elk' || mode === 'quasi-elk';
  return {
    atol: o.atol ?? (f64 ? 1e-12 : 1e-6),
    rtol: o.rtol ?? (f64 ? 1e-12 : 1e-6),
    maxIters: o.maxIters ?? (damped ? Math.min(Math.max(T, 1) + 50, 150) : Math.min(Math.max(T, 1), 100)),
    strict: o.strict === true,
  };
}

/** Every DeerOptions key, in the order messages list them. */
export const DEER_OPTION_KEYS: readonly (keyof DeerOptions)[] = [
  'mode', 'atol', 'rtol', 'maxIters', 'initialGuess', 'warmStart', 'chunkSize', 'strict', 'backward', 'keepJacobians', 'fused',
];

/**
 * @internal Checks DEER solver options: known keys only (`allowed`), real
 * booleans (strict: 'false' is a string, not false), finite tolerances >= 0,
 * integer maxIters and chunkSize >= 1, and the enumerations. `op` names the
 * caller; `prefix` qualifies option names where they sit in a module's
 * options ('deer.'). Returns {} for undefined.
 */
export function checkDeerOptions(o: unknown, op = 'deer', prefix = '', allowed: readonly string[] = DEER_OPTION_KEYS): DeerOptions {
  if (o === undefined) return {};
  if (o === null || typeof o !== 'object' || Array.isArray(o))
    fail('INVALID_ARGUMENT', `${op}: ${prefix ? `${prefix.slice(0, -1)} ` : ''}options must be an object; got ${describe(o)}`);
  checkKnownKeys(o, op, allowed, '', prefix);
  const opts = o as DeerOptions;
  const name = (k: string) => `${prefix}${k}`;
  if (opts.mode !== undefined && !DEER_MODES.includes(opts.mode)) fail('INVALID_ARGUMENT', `${op}: ${name('mode')} must be one of ${DEER_MODES.map((m) => `'${m}'`).join(', ')}; got ${describe(opts.mode)}`);
  if (opts.backward !== undefined && opts.backward !== 'scan' && opts.backward !== 'sequential') fail('INVALID_ARGUMENT', `${op}: ${name('backward')} must be 'scan' or 'sequential'; got ${describe(opts.backward)}`);
  if (opts.chunkSize !== undefined && !(Number.isInteger(opts.chunkSize) && opts.chunkSize >= 1)) fail('INVALID_ARGUMENT', `${op}: ${name('chunkSize')} must be a positive integer; got ${describe(opts.chunkSize)}`);
  for (const k of ['atol', 'rtol'] as const)
    if (opts[k] !== undefined && !(typeof opts[k] === 'number' && Number.isFinite(opts[k]) && opts[k] >= 0))
      fail('INVALID_ARGUMENT', `${op}: ${name(k)} must be a finite number >= 0; got ${describe(opts[k])}`);
  if (opts.maxIters !== undefined) checkInteger(opts.maxIters, op, name('maxIters'), 1);
  for (const k of ['strict', 'warmStart', 'keepJacobians', 'fused'] as const) if (opts[k] !== undefined) checkBoolean(opts[k], op, name(k));
  return opts;
}

/**
 * @internal A module's `deer` options (GRU/LSTM/RNN, SRU/SRUCell): checked as
 * checkDeerOptions does under the name 'deer.', with `allowed` keys; mode is
 * the module's own option (a deer.mode would be overridden by it), so it gets
 * a message saying so rather than 'unknown option'.
 */
export function checkModuleDeerOptions<O extends DeerOptions>(v: unknown, op: string, allowed: readonly (keyof O & string)[]): O {
  if (v !== null && typeof v === 'object' && 'mode' in v)
    fail('INVALID_ARGUMENT', `${op}: deer.mode is not used here (the module's mode decides); set mode on the module instead: new ${op}(inputSize, hiddenSize, { mode: ${describe((v as { mode: unknown }).mode)} })`);
  return checkDeerOptions(v, op, 'deer.', allowed) as O;
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
  const opts = checkDeerOptions(options);
  if (xp.rank !== 3) fail('SHAPE_MISMATCH', `deer: xp has shape ${shapeText(xp.shape)}; expected [T, B, G]`);
  if (Whh.rank !== 2) fail('SHAPE_MISMATCH', `deer: Whh has shape ${shapeText(Whh.shape)}; expected [G, H]`);
  const [T, B] = xp.shape;
  const H = Whh.shape[1];
  const n = stateSize(kind, H);
  if (opts.initialGuess !== undefined) {
    checkTensor(opts.initialGuess, 'deer', 'initialGuess');
    const g = opts.initialGuess.shape;
    if (g.length !== 3 || g[0] !== T || g[1] !== B || g[2] !== n) fail('SHAPE_MISMATCH', `deer: initialGuess has shape ${shapeText(g)}; expected [T, B, n] = [${T}, ${B}, ${n}] (time-major, whatever batchFirst says; B = 1 for an unbatched input)`);
    if (opts.initialGuess.dtype !== xp.dtype) fail('DTYPE_MISMATCH', `deer: initialGuess is ${opts.initialGuess.dtype}; expected the input's dtype, ${xp.dtype}`);
    if (opts.initialGuess.device !== xp.device) fail('DEVICE_MISMATCH', `deer: initialGuess is on ${opts.initialGuess.device}; expected the input's device, ${xp.device}`);
  }
  if (warm !== undefined && !(warm instanceof WarmStart))
    fail('INVALID_ARGUMENT', `deer: warm must be a deer.WarmStart (new deer.WarmStart()), which keeps the last solution; got ${describe(warm)}`);
  if (opts.warmStart && warm === undefined)
    fail('INVALID_ARGUMENT', "deer: warmStart: true needs somewhere to keep the last solution: pass a new deer.WarmStart() as cellRecurrence's last argument (nn.GRU, nn.LSTM and nn.RNN keep their own)");
  // A graph is recorded (training): 'auto' measures such calls with their backward.
  const recording = isGradEnabled() && [xp, Whh, y0, ...(bhh ? [bhh] : [])].some((t) => t.requiresGrad);
  const requested = opts.mode ?? 'auto';
  if (requested === 'auto') {
    const measured = autoMode(kind, xp, Whh, bhh, y0, opts, n, recording);
    if (measured) {
      const run = (m: AutoChoice['mode']) => cellRecurrence(kind, xp, Whh, bhh, y0, { ...opts, mode: m }, warm);
      let r: { y: Tensor; stats: DeerStats };
      try {
        r = run(measured.mode);
      } catch (e) {
        // The class was measured at another T or B (rounded to the same powers of two), or without a
        // graph: if the parallel mode runs out of memory here, the class gets sequential from now on.
        if (measured.mode === 'sequential' || !isOutOfMemory(e)) throw e;
        autoChoices.set(measured.key, { mode: 'sequential', ms: measured.ms });
        r = run('sequential');
      }
      if (measured.fresh) r.stats.autoTuning = measured.ms;
      return r;
    }
  }
  const mode = requested === 'auto' ? chooseMode(kind, T, B, H, xp.device) : requested;
  const tol = tolerancesFor(xp.dtype, T, opts, mode);
  const chunk = Math.min(opts.chunkSize ?? Math.max(T, 1), Math.max(T, 1));
  const o: Operands = { kind, xp, Whh, bhh, y0 };
  const stats: DeerStats = {
    mode, iterations: 0, sequenceIterations: new Array<number>(B).fill(0), converged: new Array<boolean>(B).fill(mode === 'sequential'),
    residual: new Array<number>(B).fill(0), fallback: false, fallbackSequences: [], diverged: false, lambda: 0,
    chunks: 0, warmStarted: false,
  };
  const backwardMode = opts.backward ?? (mode === 'sequential' ? 'sequential' : 'scan');
  // The scan backward's adjoint in one native call where the fused solve's dense limit allows (DeerOptions.fused);
  // it needs no Jacobian, so none is kept for it.
  const fusedAdjoint = backwardMode === 'scan' && fusedFor('deer', xp.device, H, n, opts.fused);
  const fusedSolve = fusedFor(mode, xp.device, H, n, opts.fused);
  const keepJ = Boolean(opts.keepJacobians) && mode === 'deer' && backwardMode === 'scan' && recording && !fusedAdjoint;
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
        return solveChunk(o, xpc, start, guess, mode, tol, keepJ, fusedSolve);
      }));
      const yc = r ? r.y : noGrad(() => sequential(o, xpc, start));
      if (r) {
        r.iters.forEach((v, b) => (stats.sequenceIterations[b] += v));
        r.converged.forEach((c, b) => (stats.converged[b] = (t0 === 0 || stats.converged[b]) && c));
        r.residual.forEach((v, b) => (stats.residual[b] = Math.max(stats.residual[b], v)));
        r.fallback.forEach((b) => fallbackSet.add(b));
        stats.diverged ||= r.diverged;
        stats.lambda = Math.max(stats.lambda, r.lambda);
      }
      stats.chunks += 1;
      pieces.push(recording ? recordCell(o, xpc, start, yc, backwardMode, r?.J ?? null, fusedAdjoint) : yc);
      if (len > 0 && t0 + len < T) start = reshape(slice(pieces[pieces.length - 1], [len - 1, 0, 0], [1, B, n]), [B, n]);
      // Without a graph nothing keeps the chunk's slice of xp: free it now, so chunks bound the memory.
      if (!recording && xpc !== xp) xpc.dispose();
      if (T === 0) break;
    }
    return pieces.length === 1 ? pieces[0] : concat(pieces, 0);
  });
  stats.iterations = Math.max(0, ...stats.sequenceIterations);
  stats.fallbackSequences = [...fallbackSet].sort((a, b) => a - b);
  stats.fallback = fallbackSet.size > 0;
  // Only when asked: the kept solution holds a [T, B, n] buffer alive after the caller disposes y.
  if (warm && opts.warmStart && mode !== 'sequential') warm.set(y);
  if (mode === 'deer' && B > 0) recentIters.set(`${xp.device}/${kind}/${n}`, Math.max(1, Math.round(stats.iterations / Math.max(1, stats.chunks))));
  return { y, stats };
}

/**
 * 'auto' where it measures (autoTuning.devices), for T >= 256: the first call
 * of a size class (autoKey) times 'sequential', 'deer' and 'quasi' with the
 * same options, synchronizing the device before and after each run; a run
 * under a second is repeated and the faster time kept (the first pays for
 * fresh allocations). A call that records a graph (training) times the
 * forward and the backward, since that is what it will cost: the modes'
 * backwards differ more than their forwards (on an H200, GRU n = 8,
 * T = 1k: forward sequential 1.45 ms, deer 1.85 ms; with the gradient 3.73 ms
 * and 2.23 ms). The backward runs on detached copies of the operands, so no
 * gradient reaches the caller's tensors; training and inference calls are
 * separate size classes. The fastest mode is kept for the class (as
 * cudnn.benchmark does); later calls of the class reuse it. A mode that runs
 * out of memory counts as infinitely slow; any other error propagates.
 * Returns null where the cost model decides.
 */
function autoMode(
  kind: CellKind, xp: Tensor, Whh: Tensor, bhh: Tensor | null, y0: Tensor, opts: DeerOptions, n: number, recording: boolean,
): { mode: AutoChoice['mode']; ms: AutoChoice['ms']; fresh: boolean; key: string } | null {
  const devices = autoTuning.devices as unknown;
  if (!Array.isArray(devices) || !devices.every((d) => typeof d === 'string'))
    fail('INVALID_ARGUMENT', `deer.autoTuning.devices must be an array of device-name prefixes such as ['cuda']; got ${describe(devices)}`);
  if (xp.shape[0] < 256 || xp.shape[1] === 0 || !devices.some((d) => xp.device.startsWith(d))) return null;
  // An explicit `fused` changes what deer and quasi cost: its own class.
  const key = `${autoKey(kind, xp, n, opts.chunkSize)}${opts.fused === undefined ? '' : `/fused-${opts.fused}`}/${recording ? 'grad' : 'nograd'}`;
  const known = autoChoices.get(key);
  if (known) return { ...known, fresh: false, key };
  const measureOpts = (m: AutoChoice['mode']): DeerOptions => ({ ...opts, mode: m, warmStart: false, initialGuess: undefined, strict: false });
  const timeOnce = (m: AutoChoice['mode']): number => {
    synchronize(xp.device);
    const t0 = performance.now();
    if (!recording) {
      noGrad(() => tidy(() => {
        cellRecurrence(kind, xp, Whh, bhh, y0, measureOpts(m));
        synchronize(xp.device);
      }));
    } else {
      // Inside a withCreateGraph() scope (AdaHessian's exact Hessian-vector products) this backward
      // is a measurement: it builds no graph and is not counted as the closure's.
      outsideCreateGraph(() => tidy(() => {
        const leaf = (t: Tensor): Tensor => (t.requiresGrad ? t.detach().requiresGrad_(true) : t);
        const ops = [leaf(xp), leaf(Whh), bhh ? leaf(bhh) : null, leaf(y0)] as const;
        sum(cellRecurrence(kind, ops[0], ops[1], ops[2], ops[3], measureOpts(m)).y).backward();
        synchronize(xp.device);
        // The detached leaves (and their gradients) go with the tidy scope.
      }));
    }
    return performance.now() - t0;
  };
  const ms = { sequential: 0, deer: 0, quasi: 0 };
  for (const m of ['sequential', 'deer', 'quasi'] as const) {
    try {
      ms[m] = timeOnce(m);
      if (ms[m] < 1000) ms[m] = Math.min(ms[m], timeOnce(m));
    } catch (e) {
      // A mode that cannot run here (deer's [T, B, n, n] Jacobians without a chunkSize) is never chosen;
      // anything else (bad operands, a device fault) is the caller's to see.
      if (m === 'sequential' || !isOutOfMemory(e)) throw e;
      ms[m] = Infinity;
    }
  }
  const mode = (['sequential', 'deer', 'quasi'] as const).reduce((a, b) => (ms[b] < ms[a] ? b : a));
  autoChoices.set(key, { mode, ms });
  return { mode, ms, fresh: true, key };
}

const isOutOfMemory = (e: unknown): boolean => e instanceof AntlerError && e.code === 'OUT_OF_MEMORY';

const zerosOf = (t: Tensor): Tensor => zerosLike(t);

/** The first guess without a warm start: y0 at every step. */
function broadcastGuess(y0: Tensor, T: number): Tensor {
  const [B, n] = y0.shape;
  return tidy(() => broadcastTo(reshape(y0, [1, B, n]), [T, B, n]));
}

/** Records the implicit-differentiation backward of one chunk's solution y on it. */
function recordCell(o: Operands, xp: Tensor, y0: Tensor, y: Tensor, backward: 'scan' | 'sequential', keptJ: Tensor | null, fused: boolean): Tensor {
  const inputs = [xp, o.Whh, ...(o.bhh ? [o.bhh] : []), y0];
  const save = [xp, o.Whh, ...(o.bhh ? [o.bhh] : []), y0, y, ...(keptJ ? [keptJ] : [])];
  const hasBias = Boolean(o.bhh);
  record(y, `deer.${o.kind}`, inputs, (gy, s) => {
    let i = 0;
    const sxp = s[i++], sW = s[i++], sb = hasBias ? s[i++] : null, sy0 = s[i++], sy = s[i++], sJ = keptJ ? s[i++] : null;
    // Building a graph (a second derivative): the gradient of the walk, from recorded ops.
    if (isGradEnabled()) return cellBackwardOps(o.kind, sxp, sW, sb, sy0, sy, gy);
    const nat = cellNative();
    let gxpH, ghhH, gy0H;
    if (backward === 'sequential') {
      [gxpH, ghhH, gy0H] = nat.cellBackward(o.kind, sxp.handle, sW.handle, sb?.handle ?? null, sy0.handle, sy.handle, gy.handle, false);
    } else if (fused && !sJ) {
      // λ in one native call (on CUDA one launch), no [T, B, n, n] Jacobian.
      const lamT = wrap(nat.cellDeerAdjoint(o.kind, sxp.handle, sW.handle, sb?.handle ?? null, sy0.handle, sy.handle, gy.handle, fusedSegments()));
      [gxpH, ghhH, gy0H] = nat.cellBackward(o.kind, sxp.handle, sW.handle, sb?.handle ?? null, sy0.handle, sy.handle, lamT.handle, true);
    } else {
      const J = sJ ?? linearize({ ...o, Whh: sW, bhh: sb }, sy0, sxp, sy, 'dense').J!;
      // λ_t = gy_t + J_{t+1}ᵀ λ_{t+1}: the reverse scan (deerScanBackward's gb).
      const lamT = wrap((native() as unknown as DeerNative).deerScanBackward(J.handle, gy.handle, sy0.handle, sy.handle, gy.handle, true)[1]);
      [gxpH, ghhH, gy0H] = nat.cellBackward(o.kind, sxp.handle, sW.handle, sb?.handle ?? null, sy0.handle, sy.handle, lamT.handle, true);
    }
    const gxp = wrap(gxpH), ghh = wrap(ghhH), gy0 = wrap(gy0H);
    const [T, B] = sy.shape;
    if (T === 0 || B === 0) return [gxp, zerosOf(sW), ...(hasBias ? [zerosOf(sb!)] : []), gy0];
    const H = sW.shape[1], G = sW.shape[0];
    const hPrev = o.kind === 'lstm' ? slice(previousStates(sy0, sy), [0, 0, 0], [T, B, H]) : previousStates(sy0, sy);
    const gW = matmul(reshape(ghh, [T * B, G]), reshape(hPrev, [T * B, H]), { transposeA: true });
    const grads: (Tensor | null)[] = [gxp, gW];
    if (hasBias) grads.push(sum(reshape(ghh, [T * B, G]), 0));
    grads.push(gy0);
    return grads;
  }, save, true);
  // Its differentiable backward walks the sequence again, one recorded step per time step: costly
  // over many steps (one step, as a cell called in the user's own loop, costs what its forward does).
  if (y.gradFn && y.shape[0] > 1) y.gradFn.costly = true;
  if (keptJ) keptJ.dispose();
  return y;
}

/**
 * One step of the cell from recorded ops: F = cell(yPrev, xp) with
 * PyTorch's equations (native-cells.ts), yPrev [..., n] and xp [..., G].
 */
function cellStepOps(kind: CellKind, xp: Tensor, Whh: Tensor, bhh: Tensor | null, yPrev: Tensor): Tensor {
  const [G, H] = Whh.shape;
  const lead = yPrev.shape.slice(0, -1);
  const last = (t: Tensor, start: number, len: number) => slice(t, [...t.shape.slice(0, -1).map(() => 0), start], [...t.shape.slice(0, -1), len]);
  const h = kind === 'lstm' ? last(yPrev, 0, H) : yPrev;
  const wh = reshape(matmul(reshape(h, [-1, H]), Whh, { transposeB: true }), [...lead, G]);
  const hh = bhh ? add(wh, bhh) : wh;
  const pre = add(xp, hh);
  const gate = (k: number) => last(pre, k * H, H);
  switch (kind) {
    case 'rnn_tanh':
      return tanh(pre);
    case 'rnn_relu':
      return relu(pre);
    case 'gru': {
      const r = sigmoid(gate(0)), z = sigmoid(gate(1));
      const nn = tanh(add(last(xp, 2 * H, H), mul(r, last(hh, 2 * H, H))));
      return add(nn, mul(z, sub(h, nn)));
    }
    case 'lstm': {
      const c = add(mul(sigmoid(gate(1)), last(yPrev, H, H)), mul(sigmoid(gate(0)), tanh(gate(2))));
      return concat([mul(sigmoid(gate(3)), tanh(c)), c], lead.length);
    }
  }
}

/**
 * The backward of recordCell from recorded ops, so that it can be
 * differentiated again: the walk y_t = F(y_{t−1}, xp_t) again, one recorded
 * step per time step from the (connected) inputs, and its gradient for gy
 * by a graph-building pass. The implicit form (J_t at the solution, the
 * adjoint as a dense scan) would hold [T, B, n, n] Jacobians and their
 * graph, O(T·B·n²) and quadratic in the hidden size; the walk holds
 * O(T·B·G), at one recorded step per time step (Node.costly: AdaHessian's
 * 'auto' uses differences through it). Its gradients are those of the
 * exact walk: where a solve stopped short of it (within its tolerance), they
 * differ from the plain backward's by as much.
 */
function cellBackwardOps(kind: CellKind, xp: Tensor, Whh: Tensor, bhh: Tensor | null, y0: Tensor, y: Tensor, gy: Tensor): (Tensor | null)[] {
  const [T, B] = y.shape;
  const G = xp.shape[2];
  const grads = (gxp: Tensor, gW: Tensor, gb: Tensor | null, gy0: Tensor) => [gxp, gW, ...(bhh ? [gb] : []), gy0];
  if (T === 0 || B === 0) return grads(zerosLike(xp), zerosLike(Whh), bhh ? zerosLike(bhh) : null, zerosLike(y0));
  const steps: Tensor[] = [];
  let prev = y0;
  for (let t = 0; t < T; t++) steps.push((prev = cellStepOps(kind, reshape(slice(xp, [t], [1]), [B, G]), Whh, bhh, prev)));
  const at = bhh ? [xp, Whh, bhh, y0] : [xp, Whh, y0];
  const g = gradients(stack(steps, 0), gy, at.map(edgeOf), true);
  return grads(g[0] ?? zerosLike(xp), g[1] ?? zerosLike(Whh), bhh ? g[2] ?? zerosLike(bhh) : null, g[at.length - 1] ?? zerosLike(y0));
}
