/**
 * nn.GRU, nn.LSTM and nn.RNN with PyTorch's options, parameter names,
 * layouts, gate orders and initialisation, evaluated by the DEER solver
 * (lib/deer/solver.ts) in any of its modes.
 *
 * Per layer l and direction (suffix '' or '_reverse'):
 *   weight_ih_l{l}{suffix} [G, in_l], weight_hh_l{l}{suffix} [G, H],
 *   bias_ih_l{l}{suffix} [G], bias_hh_l{l}{suffix} [G]
 * with G = 3H (GRU: r, z, n), 4H (LSTM: i, f, g, o) or H (RNN); every entry
 * U(−1/√H, 1/√H). The input projection W_ih x + b_ih of all steps is one GEMM;
 * the recurrence runs in the fused cell kernels.
 */
import { noGrad } from '../autograd/graph';
import { isolated, tidy } from '../engine';
import { fail } from '../errors';
import { add, concat, flip, matmul, reshape, slice, stack, where } from '../ops/core';
import { indexSelect } from '../ops/indexing';
import { dropout as dropoutOp, linear } from '../ops/nn';
import { Lengths, readLengths } from '../ops/sequence';
import { checkPackedData, PackedSequence, packLike, padForLayer } from '../ops/packed';
import { pad, pieces } from '../ops/shape';
import { cellRecurrence, CellKind, checkDeerOptions, gateCount, checkModuleDeerOptions, DEER_MODES, DEER_OPTION_KEYS, DeerMode, DeerOptions, DeerStats, WarmStart } from '../deer/solver';
import { checkTensor, rand, tensor, Tensor, zeros } from '../tensor';
import { checkBoolean, checkDevice, checkInteger, checkOptions, describe } from '../validate';
import { checkedParameters, checkModuleInput, Module } from './module';

export interface RNNBaseOptions {
  numLayers?: number;
  bias?: boolean;
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, in training mode. */
  dropout?: number;
  bidirectional?: boolean;
  /** How the recurrence is evaluated (default 'auto': sequential on the CPU). */
  mode?: DeerMode;
  /** Options of the DEER solver (tolerances, maxIters, chunkSize, warmStart, strict, ...). */
  deer?: Omit<DeerOptions, 'mode' | 'initialGuess'>;
  dtype?: 'float32' | 'float64';
  device?: string;
}

export interface LSTMOptions extends RNNBaseOptions {
  /**
   * PyTorch's proj_size (default 0: none): h = W_hr (o ⊙ tanh(c)) with
   * `weight_hr_l{k}` [projSize, hiddenSize], so h (the output, h0 and the
   * final hidden state) has projSize features while c keeps hiddenSize.
   * Must be smaller than hiddenSize. Every mode runs it: the fused LSTM
   * cell over the state (m, c), m = o ⊙ tanh(c), with W_hh·W_hr as its
   * recurrent weight (see RNNBase.runLayers).
   */
  projSize?: number;
}

export interface RNNOptions extends RNNBaseOptions {
  nonlinearity?: 'tanh' | 'relu';
}

/** An LSTM's output: RNNOutput with the final cell state. */
export type LSTMOutput = RNNOutput & { cell: Tensor };

export interface RNNOutput {
  /** [T, B, dirs·H] ([B, T, dirs·H] with batchFirst; [T, dirs·H] for unbatched input; H is an LSTM's projSize when it has one). */
  output: Tensor;
  /** Final hidden state [layers·dirs, B, H] ([layers·dirs, H] unbatched; H is an LSTM's projSize when it has one). */
  hidden: Tensor;
  /** LSTM only: final cell state, shaped like hidden (always there on an LSTM's output: LSTMOutput). */
  cell?: Tensor;
  /** One entry per layer and direction (layer-major), from the DEER solver. */
  stats: DeerStats[];
}

/** The output of nn.GRU/RNN for a PackedSequence input: RNNOutput with the output packed like the input. */
export type PackedRNNOutput = Omit<RNNOutput, 'output'> & { output: PackedSequence };
/** The output of nn.LSTM for a PackedSequence input. */
export type PackedLSTMOutput = PackedRNNOutput & { cell: Tensor };

/**
 * What forward returns for an input of type X: Out for a Tensor (also for a
 * type parameter bounded by Tensor, and for `any`), POut for a
 * PackedSequence, either for a union. forward is one
 * generic signature rather than overloads, so a union of modules
 * (GRU | LSTM | SRU …) stays callable: TypeScript cannot call a union whose
 * members are each overloaded.
 */
export type ForwardResult<X, Out, POut> = 0 extends 1 & X ? Out : X extends Tensor ? Out : X extends PackedSequence ? POut : Out | POut;
/** forward's options for an input of type X: no `lengths` with a PackedSequence (it carries its own). */
export type RNNForwardOptionsFor<X> = [X] extends [Tensor] ? RNNForwardOptions : [X] extends [PackedSequence] ? DeerOptions : RNNForwardOptions;

/**
 * The third argument of forward: the DEER solver's options for this call, and
 * `lengths` for a batch of right-padded sequences.
 */
export interface RNNForwardOptions extends DeerOptions {
  /**
   * Each sequence's length, int32 [B] or numbers, each in [1, T] (PyTorch's
   * pack_padded_sequence, without packing): steps at and past a sequence's
   * length are padding. They do not reach its state, its output there is 0,
   * the final hidden (and cell) state is the one at its last real step, and
   * the reverse direction starts from that step.
   */
  lengths?: Lengths | null;
}

/** A module's deer options: the solver's, without mode (the module's own option). */
const MODULE_DEER_KEYS = DEER_OPTION_KEYS.filter((k) => k !== 'mode' && k !== 'initialGuess');

const BASE_KEYS = ['numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional', 'mode', 'deer', 'dtype', 'device'];

/**
 * Registers a parameter and sets the property of its name to it, as PyTorch's
 * modules have them (assigning another parameter there later replaces it:
 * Module's registry follows its properties).
 */
function exposeParameter(m: Module, name: string, t: Tensor): void {
  (m as unknown as { registerParameter(n: string, t: Tensor): Tensor }).registerParameter(name, t);
  (m as unknown as Record<string, Tensor>)[name] = t;
}

/** The gates' width G and PyTorch's initialiser U(−1/√H, 1/√H) in the module's dtype and device. */
function rnnInit(kind: CellKind, H: number, o: { dtype?: unknown; device?: unknown }, opName: string): { G: number; u: (shape: number[]) => Tensor } {
  const dtype = o.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') fail('DTYPE_MISMATCH', `${opName}: dtype must be 'float32' or 'float64'; got ${describe(dtype)}`);
  const device = o.device === undefined ? undefined : checkDevice(o.device, opName);
  const bound = 1 / Math.sqrt(H);
  return { G: gateCount(kind, H), u: (shape) => isolated(() => rand(shape, { minval: -bound, maxval: bound, dtype, device })) };
}

/** Right-padded sequences: see RNNBase.padding and packPlan. */
interface Padding extends PackPlan {
  real: Tensor;
  reverse: Tensor;
}

/**
 * How packedRecurrence walks a batch of sequences of lengths `lens` padded to
 * T, as PyTorch's packed sequences do: the batch sorted by length, longest
 * first (`order`, and `inverse` to undo it), and time cut at each distinct
 * length into segments [t0, t1) in which the first k sorted sequences are
 * still running.
 */
interface PackPlan {
  order: Tensor;
  inverse: Tensor;
  /** The original batch index of each sorted position. */
  sorted: number[];
  segments: { t0: number; t1: number; k: number }[];
  T: number;
}

function packPlan(lens: number[], T: number, device: string): PackPlan {
  const B = lens.length;
  // Stable: equal lengths keep their order.
  const sorted = Array.from({ length: B }, (_, b) => b).sort((a, b) => lens[b] - lens[a] || a - b);
  const inverse = new Int32Array(B);
  sorted.forEach((b, p) => (inverse[b] = p));
  const ends = [...new Set(lens)].sort((a, b) => a - b);
  const segments = ends.map((t1, j) => ({ t0: j === 0 ? 0 : ends[j - 1], t1, k: lens.filter((n) => n >= t1).length }));
  return {
    order: tensor(Int32Array.from(sorted), [B], { dtype: 'int32', device }),
    inverse: tensor(inverse, [B], { dtype: 'int32', device }),
    sorted, segments, T,
  };
}

/**
 * cellRecurrence over right-padded sequences without computing a padded
 * step (PyTorch's packed sequences): in each segment of the plan only the
 * sequences still running are solved, from the states the last segment
 * left them in. Returns y [T, B, n] (0 past each length), each sequence's
 * last real state [B, n], and the segments' stats merged per sequence.
 */
function packedRecurrence(
  kind: CellKind, xp: Tensor, Whh: Tensor, bhh: Tensor | null, y0: Tensor, opts: DeerOptions, plan: PackPlan, warm?: WarmStart,
): { y: Tensor; last: Tensor; stats: DeerStats } {
  const { T, segments, sorted } = plan;
  const B = xp.shape[1], n = y0.shape[1];
  const tEnd = segments[segments.length - 1].t1;
  const times = [...segments.map((g) => g.t1 - g.t0), ...(tEnd < T ? [T - tEnd] : [])];
  const xs = indexSelect(xp, 1, plan.order);
  // The segments' inputs, cut by halving (pieces): backward O(T·B·G·log segments), not O(T·B·G·segments).
  const segX = pieces(xs, 0, times);
  // A guess for the whole [T, B, n] (initialGuess, or with warmStart the last solution of this shape) is
  // sorted and cut like the inputs.
  const warmY = opts.warmStart && warm && !opts.initialGuess && opts.mode !== 'sequential' ? warm.get([T, B, n], xp.dtype, xp.device) : null;
  const guess = opts.initialGuess ?? warmY;
  const segGuess = guess ? noGrad(() => pieces(indexSelect(guess, 1, plan.order), 0, times)) : null;
  let state = indexSelect(y0, 0, plan.order);
  const outs: Tensor[] = [], finals: Tensor[] = [];
  let stats: DeerStats | null = null;
  const work = new Map<DeerStats['mode'], number>();
  segments.forEach(({ t0, t1, k }, j) => {
    const len = t1 - t0;
    const st = k === state.shape[0] ? state : slice(state, [0, 0], [k, n]);
    const prefix = (t: Tensor) => (k === B ? t : slice(t, [0, 0, 0], [len, k, t.shape[2]]));
    const segOpts = segGuess ? { ...opts, initialGuess: noGrad(() => prefix(segGuess[j])) } : opts;
    // The whole call's warm start is handled here (warmY above, warm.set below), not per segment.
    const r = cellRecurrence(kind, prefix(segX[j]), Whh, bhh, st, { ...segOpts, warmStart: false });
    stats = mergeStats(stats, r.stats, sorted, k, B);
    work.set(r.stats.mode, (work.get(r.stats.mode) ?? 0) + len * k);
    outs.push(k < B ? pad(r.y, [[0, 0], [0, B - k], [0, 0]]) : r.y);
    const lastRow = reshape(slice(r.y, [len - 1, 0, 0], [1, k, n]), [k, n]);
    const kNext = j + 1 < segments.length ? segments[j + 1].k : 0;
    if (kNext < k) finals.push(kNext === 0 ? lastRow : slice(lastRow, [kNext, 0], [k - kNext, n]));
    state = lastRow;
  });
  if (tEnd < T) outs.push(zeros([T - tEnd, B, n], { dtype: xp.dtype as 'float32' | 'float64', device: xp.device }));
  // finals end the shortest sequences first: reversed, they are the sorted positions 0, 1, …, B − 1.
  const last = indexSelect(finals.length === 1 ? finals[0] : concat(finals.reverse(), 0), 0, plan.inverse);
  const y = indexSelect(outs.length === 1 ? outs[0] : concat(outs, 0), 1, plan.inverse);
  const merged = stats!;
  // Under 'auto' the segments may differ (short ones run sequentially): the mode of most of the steps.
  merged.mode = [...work.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  // Only a parallel mode reads a guess ('auto' may have run every segment sequentially): then nothing
  // was warm-started and no solution is worth keeping.
  const parallelRan = [...work.keys()].some((m) => m !== 'sequential');
  merged.warmStarted = Boolean(warmY) && parallelRan;
  if (warm && opts.warmStart && parallelRan) warm.set(y);
  return { y, last, stats: merged };
}

/** A segment's stats (over its first k sorted sequences) folded into the per-sequence totals. */
function mergeStats(total: DeerStats | null, seg: DeerStats, sorted: number[], k: number, B: number): DeerStats {
  const t: DeerStats = total ?? {
    mode: seg.mode, iterations: 0, sequenceIterations: new Array<number>(B).fill(0), converged: new Array<boolean>(B).fill(true),
    residual: new Array<number>(B).fill(0), fallback: false, fallbackSequences: [], diverged: false, lambda: 0, chunks: 0, warmStarted: false,
  };
  for (let p = 0; p < k; p++) {
    const b = sorted[p];
    t.sequenceIterations[b] += seg.sequenceIterations[p];
    t.converged[b] &&= seg.converged[p];
    t.residual[b] = Math.max(t.residual[b], seg.residual[p]);
  }
  t.iterations = t.sequenceIterations.reduce((a, v) => Math.max(a, v), 0);
  t.fallbackSequences = [...new Set([...t.fallbackSequences, ...seg.fallbackSequences.map((p) => sorted[p])])].sort((a, b) => a - b);
  t.fallback ||= seg.fallback;
  t.diverged ||= seg.diverged;
  t.lambda = Math.max(t.lambda, seg.lambda);
  t.chunks += seg.chunks;
  if (seg.autoTuning && !t.autoTuning) t.autoTuning = seg.autoTuning;
  return t;
}

abstract class RNNBase extends Module {
  /** The parameters by their PyTorch names, as properties (gru.weight_hh_l0, lstm.bias_ih_l1_reverse), as in PyTorch. */
  [name: `weight_${'ih' | 'hh' | 'hr'}_l${string}` | `bias_${'ih' | 'hh'}_l${string}`]: Tensor;
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** LSTM only: PyTorch's proj_size, the size of h when > 0 (0: no projection). */
  readonly projSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  private modeValue: DeerMode = 'auto';
  private deerValue: Omit<DeerOptions, 'mode' | 'initialGuess'> = {};
  private readonly warm: WarmStart[] = [];

  /** How forward() evaluates the recurrence ('auto', 'sequential', 'deer', 'quasi', 'elk', 'quasi-elk'); checked when set. */
  get mode(): DeerMode {
    return this.modeValue;
  }
  set mode(v: DeerMode) {
    if (!DEER_MODES.includes(v)) fail('INVALID_ARGUMENT', `${this.opName}: mode must be one of ${DEER_MODES.map((m) => `'${m}'`).join(', ')}; got ${describe(v)}`);
    this.modeValue = v;
  }
  /** The solver options every forward() uses (a forward's own options override them); checked when set, as at construction. */
  get deer(): Omit<DeerOptions, 'mode' | 'initialGuess'> {
    return this.deerValue;
  }
  set deer(v: Omit<DeerOptions, 'mode' | 'initialGuess'>) {
    if (v !== null && typeof v === 'object' && 'initialGuess' in v)
      fail('INVALID_ARGUMENT', `${this.opName}: deer.initialGuess belongs to one call (it has that call's [T, B, n] shape); pass it in forward's options instead: forward(x, h0, { initialGuess })`);
    this.deerValue = { ...checkModuleDeerOptions<Omit<DeerOptions, 'mode'>>(v, this.opName, MODULE_DEER_KEYS) };
  }

  protected constructor(readonly kind: CellKind, private readonly opName: string, inputSize: number, hiddenSize: number, o: RNNBaseOptions) {
    super();
    this.inputSize = checkInteger(inputSize, opName, 'inputSize', 1);
    this.hiddenSize = checkInteger(hiddenSize, opName, 'hiddenSize', 1);
    this.numLayers = o.numLayers === undefined ? 1 : checkInteger(o.numLayers, opName, 'numLayers', 1);
    this.bias = o.bias === undefined ? true : checkBoolean(o.bias, opName, 'bias');
    this.batchFirst = o.batchFirst === undefined ? false : checkBoolean(o.batchFirst, opName, 'batchFirst');
    this.bidirectional = o.bidirectional === undefined ? false : checkBoolean(o.bidirectional, opName, 'bidirectional');
    const p = o.dropout ?? 0;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) fail('INVALID_ARGUMENT', `${opName}: dropout must be a number in [0, 1]; got ${describe(p)}`);
    this.dropout = p;
    this.mode = o.mode ?? 'auto';
    this.deer = o.deer ?? {};
    const H = this.hiddenSize;
    const P = (o as LSTMOptions).projSize ?? 0;
    if (typeof P !== 'number' || !Number.isInteger(P) || P < 0 || P >= H)
      fail('INVALID_ARGUMENT', `${opName}: projSize must be an integer in [0, hiddenSize) = [0, ${H}) (0: no projection), as PyTorch's proj_size; got ${describe(P)}`);
    this.projSize = P;
    // With a projection h has P features: the recurrent weights and the layers above read P per direction.
    const Hh = P || H;
    const { G, u } = rnnInit(kind, H, o, opName);
    const dirs = this.bidirectional ? 2 : 1;
    for (let l = 0; l < this.numLayers; l++)
      for (let d = 0; d < dirs; d++) {
        const sfx = `l${l}${d === 1 ? '_reverse' : ''}`;
        const inL = l === 0 ? this.inputSize : dirs * Hh;
        exposeParameter(this, `weight_ih_${sfx}`, u([G, inL]));
        exposeParameter(this, `weight_hh_${sfx}`, u([G, Hh]));
        if (this.bias) {
          exposeParameter(this, `bias_ih_${sfx}`, u([G]));
          exposeParameter(this, `bias_hh_${sfx}`, u([G]));
        }
        if (P > 0) exposeParameter(this, `weight_hr_${sfx}`, u([P, H]));
        this.warm.push(new WarmStart());
      }
  }

  private param(name: string): Tensor | null {
    const hit = this.namedParameters('', false).find(([n]) => n === name);
    return hit ? hit[1] : null;
  }

  private checkState(t: unknown, what: string, like: Tensor, shape: number[]): Tensor {
    const s = checkTensor(t, this.opName, what);
    if (s.dtype !== like.dtype) fail('DTYPE_MISMATCH', `${this.opName}: ${what} is ${s.dtype}; the input is ${like.dtype}`);
    if (s.device !== like.device) fail('DEVICE_MISMATCH', `${this.opName}: ${what} is on ${s.device}; the input is on ${like.device}`);
    if (s.shape.length !== shape.length || s.shape.some((v, i) => v !== shape[i]))
      fail('SHAPE_MISMATCH', `${this.opName}: ${what} has shape [${s.shape.join(', ')}]; expected [numLayers·dirs, ${shape.length === 3 ? 'B, ' : ''}${this.projSize && what !== 'c0' ? 'projSize' : 'hiddenSize'}] = [${shape.join(', ')}]${shape.length === 2 ? ' (the input is unbatched)' : ''}`);
    return s;
  }

  /**
   * @internal A PackedSequence through the stack (PyTorch's forward on a
   * packed input): padded (in the original batch order, the module's
   * layout), run with its lengths, and the output packed as the input is.
   * h0 (c0) and the final states are in the original batch order.
   */
  protected runPacked(input: PackedSequence, state0: (Tensor | null)[], options?: RNNForwardOptions | null): PackedRNNOutput {
    const op = this.opName;
    this.checkUsable(op);
    PackedSequence.checked(input, op, 'input');
    checkPackedData(input, this.inputSize, op);
    if (options !== undefined && options !== null && typeof options === 'object' && !(options instanceof Tensor) && 'lengths' in options && options.lengths !== undefined && options.lengths !== null)
      fail('INVALID_ARGUMENT', `${op}: lengths is for a padded input; a PackedSequence carries its own (pass the padded batch with lengths, or the PackedSequence without)`);
    return tidy(() => {
      const { padded, lengths } = padForLayer(input, this.batchFirst);
      const r = this.run(padded, state0, { ...(options ?? {}), lengths });
      return { ...r, output: packLike(r.output, input, this.batchFirst) };
    });
  }

  /** @internal Runs the stack; state0 is [h0] or [h0, c0] in the batched layout. */
  protected run(input: Tensor, state0: (Tensor | null)[], options?: RNNForwardOptions | null): RNNOutput {
    const op = this.opName;
    this.checkUsable(op);
    checkTensor(input, op, 'input');
    const w0 = this.param('weight_ih_l0');
    if (w0) checkModuleInput(op, 'input', input, w0);
    if (input.rank !== 2 && input.rank !== 3) fail('SHAPE_MISMATCH', `${op}: input has shape [${input.shape.join(', ')}]; expected [T, B, ${this.inputSize}]${this.batchFirst ? ' (batchFirst: [B, T, in])' : ''} or unbatched [T, ${this.inputSize}]`);
    if (input.shape[input.rank - 1] !== this.inputSize)
      fail('SHAPE_MISMATCH', `${op}: input has ${input.shape[input.rank - 1]} features (shape [${input.shape.join(', ')}]); expected inputSize = ${this.inputSize}`);
    const timeAxis = input.rank === 3 && this.batchFirst ? 1 : 0;
    if (input.shape[timeAxis] === 0)
      fail('SHAPE_MISMATCH', `${op}: input has no time steps (shape [${input.shape.join(', ')}], length 0 on axis ${timeAxis}); expected a sequence length of at least 1, as PyTorch`);
    if (options instanceof Tensor)
      fail('INVALID_ARGUMENT', `${op}: the third argument is an options object ({ lengths, ...the deer options }); got a Tensor (shape [${options.shape.join(', ')}])`);
    const { lengths, ...deer } = checkDeerOptions(options ?? undefined, op, '', [...DEER_OPTION_KEYS, 'lengths']) as RNNForwardOptions;
    let lens: number[] | null = null;
    if (lengths !== undefined && lengths !== null) {
      if (input.rank !== 3) fail('SHAPE_MISMATCH', `${op}: lengths needs a batched input ([T, B, ${this.inputSize}]${this.batchFirst ? ' or, with batchFirst, [B, T, in]' : ''}); got an unbatched input of shape [${input.shape.join(', ')}] (slice it to its length instead)`);
      lens = readLengths(lengths, input.shape[this.batchFirst ? 0 : 1], input.shape[timeAxis], op);
    }
    const params = checkedParameters(this, op, this.parameterSpecs(), input, 'input');
    // Like the SRU and TensorFlow.js layers, the intermediates are freed here: only what is returned survives.
    return tidy(() => this.runLayers(input, state0, deer, lens, params));
  }

  /** What each layer and direction needs: [name, shape, required]. */
  private parameterSpecs(): [string, number[], boolean][] {
    const H = this.hiddenSize, P = this.projSize, Hh = P || H, dirs = this.bidirectional ? 2 : 1, G = gateCount(this.kind, H);
    const specs: [string, number[], boolean][] = [];
    for (let l = 0; l < this.numLayers; l++)
      for (let d = 0; d < dirs; d++) {
        const sfx = `l${l}${d === 1 ? '_reverse' : ''}`;
        specs.push([`weight_ih_${sfx}`, [G, l === 0 ? this.inputSize : dirs * Hh], true], [`weight_hh_${sfx}`, [G, Hh], true]);
        if (this.bias) specs.push([`bias_ih_${sfx}`, [G], false], [`bias_hh_${sfx}`, [G], false]);
        if (P > 0) specs.push([`weight_hr_${sfx}`, [P, H], true]);
      }
    return specs;
  }

  private runLayers(input: Tensor, state0: (Tensor | null)[], options: DeerOptions, lens: number[] | null, params: Map<string, Tensor>): RNNOutput {
    const unbatched = input.rank === 2;
    let x = unbatched ? reshape(input, [input.shape[0], 1, this.inputSize]) : this.batchFirst ? input.transpose(0, 1) : input;
    const [T, B] = x.shape;
    const padding = lens && lens.some((n) => n < T) ? this.padding(lens, T, x.device) : null;
    const H = this.hiddenSize, P = this.projSize, dirs = this.bidirectional ? 2 : 1, LD = this.numLayers * dirs;
    // h has P features with a projection (c keeps H).
    const Hh = P || H;
    const names = this.kind === 'lstm' ? ['h0', 'c0'] : ['h0'];
    const states = names.map((nm, i) => {
      const w = i === 0 ? Hh : H;
      const s = state0[i];
      if (s === null || s === undefined) return zeros([LD, B, w], { dtype: x.dtype as 'float32' | 'float64', device: x.device });
      const c = this.checkState(s, nm, x, unbatched ? [LD, w] : [LD, B, w]);
      return unbatched ? reshape(c, [LD, 1, w]) : c;
    });
    const opts: DeerOptions = { ...this.deer, mode: this.mode, ...options };
    const stats: DeerStats[] = [];
    const hN: Tensor[] = [], cN: Tensor[] = [];
    let lastY: Tensor | null = null;
    // With padding: the padding is zeroed once (so that a NaN there cannot reach W_ih's gradient; the layers
    // above get 0 there from the packed outputs), the reverse direction reads each sequence backwards from
    // its own last step (rows permuted by padding.reverse), and the recurrence runs packed
    // (packedRecurrence): no padded step is computed.
    if (padding) x = where(padding.real, x, 0);
    const rows = (t: Tensor, index: Tensor) => reshape(indexSelect(reshape(t, [T * B, t.shape[2]]), 0, index), [T, B, t.shape[2]]);
    for (let l = 0; l < this.numLayers; l++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < dirs; d++) {
        const sfx = `l${l}${d === 1 ? '_reverse' : ''}`;
        const idx = l * dirs + d;
        const xin = d === 1 ? (padding ? rows(x, padding.reverse) : flip(x, 0)) : x;
        const xp = linear(xin, params.get(`weight_ih_${sfx}`)!, params.get(`bias_ih_${sfx}`) ?? null);
        const pick = (s: Tensor) => reshape(slice(s, [idx, 0, 0], [1, B, s.shape[2]]), [B, s.shape[2]]);
        let Whh = params.get(`weight_hh_${sfx}`)!, xr = xp, y0: Tensor;
        const bhh = params.get(`bias_hh_${sfx}`) ?? null;
        const Whr = P > 0 ? params.get(`weight_hr_${sfx}`)! : null;
        if (Whr) {
          // With a projection h = W_hr m, m = o ⊙ tanh(c): the gates read W_hh h = (W_hh W_hr) m, so the
          // fused LSTM cell runs over the state (m, c) with W_hh W_hr [4H, H] as its recurrent weight, and
          // h is one GEMM over all steps afterwards. Only the first step reads h0 itself: W_hh h0 goes into
          // its input (each sequence's first step is row 0 in either direction), and m starts at 0.
          if (state0[0]) {
            const first = add(slice(xp, [0, 0, 0], [1, B, xp.shape[2]]), reshape(linear(pick(states[0]), Whh, null), [1, B, xp.shape[2]]));
            xr = T === 1 ? first : concat([first, slice(xp, [1, 0, 0], [T - 1, B, xp.shape[2]])], 0);
          }
          Whh = matmul(Whh, Whr);
          y0 = concat([zeros([B, H], { dtype: x.dtype as 'float32' | 'float64', device: x.device }), pick(states[1])], 1);
        } else y0 = this.kind === 'lstm' ? concat([pick(states[0]), pick(states[1])], 1) : pick(states[0]);
        const r: { y: Tensor; stats: DeerStats; last?: Tensor } = padding
          ? packedRecurrence(this.kind, xr, Whh, bhh, y0, opts, padding, this.warm[idx])
          : cellRecurrence(this.kind, xr, Whh, bhh, y0, opts, this.warm[idx]);
        stats.push(r.stats);
        lastY = r.y;
        const m = this.kind === 'lstm' ? slice(r.y, [0, 0, 0], [T, B, H]) : r.y;
        // Past a sequence's length m is 0, so h = W_hr m is too.
        const h = Whr ? linear(m, Whr, null) : m;
        // The final state: each sequence's last real step (in the reverse direction's own order).
        const n = r.y.shape[2];
        const last = r.last ?? reshape(slice(r.y, [T - 1, 0, 0], [1, B, n]), [B, n]);
        const lastM = this.kind === 'lstm' ? slice(last, [0, 0], [B, H]) : last;
        hN.push(Whr ? linear(lastM, Whr, null) : lastM);
        if (this.kind === 'lstm') cN.push(slice(last, [0, H], [B, H]));
        outs.push(d === 1 ? (padding ? rows(h, padding.reverse) : flip(h, 0)) : h);
      }
      x = dirs === 1 ? outs[0] : concat(outs, 2);
      if (this.training && this.dropout > 0 && l + 1 < this.numLayers) x = dropoutOp(x, this.dropout);
    }
    // The final state is read from the recurrence's result: when the output is that very tensor (one
    // direction, no projection, a GRU's or RNN's), it gets a node of its own (a view), so that its hooks
    // and retained .grad (Tensor.registerHook, retainGrad) see the output's gradient only, as PyTorch's
    // output and h_n are separate results.
    let output = x.gradFn !== null && x.gradFn === lastY?.gradFn ? reshape(x, x.shape) : x;
    if (unbatched) output = reshape(output, [T, dirs * Hh]);
    else if (this.batchFirst) output = output.transpose(0, 1);
    const fin = (ts: Tensor[]) => (unbatched ? reshape(stack(ts, 0), [LD, ts[0].shape[1]]) : stack(ts, 0));
    const out: RNNOutput = { output, hidden: fin(hN), stats };
    if (this.kind === 'lstm') out.cell = fin(cN);
    return out;
  }

  /**
   * Right-padded sequences: real [T, B, 1] (1 at real steps) and reverse
   * [T·B] (row t·B + b of a [T·B, ·] view; reverses each sequence within its
   * length, keeps the padding in place, and is its own inverse) as tensors,
   * and packedRecurrence's plan (packPlan).
   */
  private padding(lens: number[], T: number, device: string): Padding {
    const B = lens.length;
    const real = new Int32Array(T * B), reverse = new Int32Array(T * B);
    for (let b = 0; b < B; b++) {
      const n = lens[b];
      for (let t = 0; t < T; t++) {
        real[t * B + b] = t < n ? 1 : 0;
        reverse[t * B + b] = (t < n ? n - 1 - t : t) * B + b;
      }
    }
    return {
      real: tensor(real, [T, B, 1], { dtype: 'int32', device }),
      reverse: tensor(reverse, [T * B], { dtype: 'int32', device }),
      ...packPlan(lens, T, device),
    };
  }

  /** The warm-start solutions, freed with the module (also when a parent module is disposed). */
  protected releaseHeld(): void {
    for (const w of this.warm) w.dispose();
  }
}

/** torch.nn.GRU: r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h. */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options?: RNNBaseOptions) {
    super('gru', 'GRU', inputSize, hiddenSize, checkOptions<RNNBaseOptions>(options, 'GRU', BASE_KEYS));
  }
  /**
   * x [T, B, in] ([B, T, in] with batchFirst, or [T, in]); h0 [layers·dirs, B, H] (zeros if absent).
   * A PackedSequence x gives a PackedSequence output (h0 and hidden in the original batch order).
   */
  forward<X extends Tensor | PackedSequence>(x: X, h0?: Tensor | null, options?: RNNForwardOptionsFor<X>): ForwardResult<X, RNNOutput, PackedRNNOutput> {
    const o = options as RNNForwardOptions | undefined;
    return (x instanceof PackedSequence ? this.runPacked(x, [h0 ?? null], o) : this.run(x as Tensor, [h0 ?? null], o)) as ForwardResult<X, RNNOutput, PackedRNNOutput>;
  }
}

/** torch.nn.LSTM (gates i, f, g, o): c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). The DEER state is [h, c]. */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options?: LSTMOptions) {
    super('lstm', 'LSTM', inputSize, hiddenSize, checkOptions<LSTMOptions>(options, 'LSTM', [...BASE_KEYS, 'projSize']));
  }
  /**
   * state0: [h0, c0], h0 [layers·dirs, B, projSize || H] and c0 [layers·dirs, B, H] (zeros if absent).
   * A PackedSequence x gives a PackedSequence output (state0, hidden and cell in the original batch order).
   */
  forward<X extends Tensor | PackedSequence>(x: X, state0?: readonly [Tensor, Tensor] | null, options?: RNNForwardOptionsFor<X>): ForwardResult<X, LSTMOutput, PackedLSTMOutput> {
    if (state0 !== undefined && state0 !== null && (!Array.isArray(state0) || state0.length !== 2))
      fail('INVALID_ARGUMENT', `LSTM: the initial state must be [h0, c0]; got ${describe(state0)}`);
    // PyTorch takes both or neither: one alone would silently start the other from zeros.
    if (state0 && !(state0[0] instanceof Tensor && state0[1] instanceof Tensor))
      fail('INVALID_ARGUMENT', `LSTM: the initial state [h0, c0] needs both tensors (or pass null for zeros); got [${describe(state0[0])}, ${describe(state0[1])}]`);
    const states = state0 ? [state0[0], state0[1]] : [null, null];
    const o = options as RNNForwardOptions | undefined;
    return (x instanceof PackedSequence ? this.runPacked(x, states, o) : this.run(x as Tensor, states, o)) as ForwardResult<X, LSTMOutput, PackedLSTMOutput>;
  }
}

/** An Elman RNN's nonlinearity option (tanh by default). */
function elman(v: unknown, op: string): 'tanh' | 'relu' {
  const nl = v ?? 'tanh';
  if (nl !== 'tanh' && nl !== 'relu') fail('INVALID_ARGUMENT', `${op}: nonlinearity must be 'tanh' or 'relu'; got ${describe(v)}`);
  return nl;
}

/** torch.nn.RNN (Elman): h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh (default) or relu. */
export class RNN extends RNNBase {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(inputSize: number, hiddenSize: number, options?: RNNOptions) {
    const o = checkOptions<RNNOptions>(options, 'RNN', [...BASE_KEYS, 'nonlinearity']);
    const nl = elman(o.nonlinearity, 'RNN');
    super(`rnn_${nl}`, 'RNN', inputSize, hiddenSize, o);
    this.nonlinearity = nl;
  }
  /** As GRU.forward: a PackedSequence x gives a PackedSequence output. */
  forward<X extends Tensor | PackedSequence>(x: X, h0?: Tensor | null, options?: RNNForwardOptionsFor<X>): ForwardResult<X, RNNOutput, PackedRNNOutput> {
    const o = options as RNNForwardOptions | undefined;
    return (x instanceof PackedSequence ? this.runPacked(x, [h0 ?? null], o) : this.run(x as Tensor, [h0 ?? null], o)) as ForwardResult<X, RNNOutput, PackedRNNOutput>;
  }
}

// ---------------------------------------------------------------- cells

export interface RNNCellBaseOptions {
  bias?: boolean;
  dtype?: 'float32' | 'float64';
  device?: string;
}

export interface RNNCellOptions extends RNNCellBaseOptions {
  nonlinearity?: 'tanh' | 'relu';
}

const CELL_KEYS = ['bias', 'dtype', 'device'];

/**
 * One step of a GRU, LSTM or Elman RNN, for loops written by hand (a decoder
 * with attention, sampling): PyTorch's GRUCell/LSTMCell/RNNCell, with their
 * parameter names (`weight_ih` [G, in], `weight_hh` [G, H], `bias_ih`,
 * `bias_hh`), layouts, gate orders and initialisation U(−1/√H, 1/√H). The
 * step is one GEMM for the input, then the fused cell kernel of nn.GRU/LSTM/RNN.
 */
abstract class RNNCellBase extends Module {
  /** PyTorch's parameters, as properties (cell.weight_hh); the biases are absent with bias: false. */
  declare weight_ih: Tensor;
  declare weight_hh: Tensor;
  declare bias_ih?: Tensor;
  declare bias_hh?: Tensor;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;

  protected constructor(readonly kind: CellKind, private readonly opName: string, inputSize: number, hiddenSize: number, o: RNNCellBaseOptions) {
    super();
    this.inputSize = checkInteger(inputSize, opName, 'inputSize', 1);
    this.hiddenSize = checkInteger(hiddenSize, opName, 'hiddenSize', 1);
    this.bias = o.bias === undefined ? true : checkBoolean(o.bias, opName, 'bias');
    const H = this.hiddenSize;
    const { G, u } = rnnInit(kind, H, o, opName);
    exposeParameter(this, 'weight_ih', u([G, this.inputSize]));
    exposeParameter(this, 'weight_hh', u([G, H]));
    if (this.bias) {
      exposeParameter(this, 'bias_ih', u([G]));
      exposeParameter(this, 'bias_hh', u([G]));
    }
  }

  /** @internal One step; states are [h] or [h, c] (null: zeros), shaped like the input's batch. Returns the new states. */
  protected step(input: Tensor, states: (Tensor | null)[], names: string[]): Tensor[] {
    const op = this.opName;
    this.checkUsable(op);
    checkTensor(input, op, 'input');
    if ((input.rank !== 1 && input.rank !== 2) || input.shape[input.rank - 1] !== this.inputSize)
      fail('SHAPE_MISMATCH', `${op}: input has shape [${input.shape.join(', ')}]; expected [B, ${this.inputSize}] or unbatched [${this.inputSize}]`);
    // One walk of the registry per step (a step is small: lookups show in a loop over time).
    const G = gateCount(this.kind, this.hiddenSize);
    const specs: [string, number[], boolean][] = [['weight_ih', [G, this.inputSize], true], ['weight_hh', [G, this.hiddenSize], true]];
    if (this.bias) specs.push(['bias_ih', [G], false], ['bias_hh', [G], false]);
    const params = checkedParameters(this, op, specs, input, 'input');
    const w = params.get('weight_ih')!;
    const unbatched = input.rank === 1;
    const B = unbatched ? 1 : input.shape[0], H = this.hiddenSize;
    const want = unbatched ? [H] : [B, H];
    const checked = states.map((s, i) => {
      if (s === null || s === undefined) return null;
      const t = checkTensor(s, op, names[i]);
      if (t.dtype !== input.dtype) fail('DTYPE_MISMATCH', `${op}: ${names[i]} is ${t.dtype}; the input is ${input.dtype}`);
      if (t.device !== input.device) fail('DEVICE_MISMATCH', `${op}: ${names[i]} is on ${t.device}; the input is on ${input.device}`);
      if (t.shape.length !== want.length || t.shape.some((v, k) => v !== want[k]))
        fail('SHAPE_MISMATCH', `${op}: ${names[i]} has shape [${t.shape.join(', ')}]; expected [${want.join(', ')}] (${unbatched ? 'the input is unbatched' : 'batch, hiddenSize'})`);
      return t;
    });
    return tidy(() => {
      const dtype = input.dtype as 'float32' | 'float64';
      const flat = (s: Tensor | null) => (s ? (unbatched ? reshape(s, [1, H]) : s) : zeros([B, H], { dtype, device: input.device }));
      const y0 = checked.length === 2 ? concat([flat(checked[0]), flat(checked[1])], 1) : flat(checked[0]);
      const xp = linear(reshape(input, [1, B, this.inputSize]), w, params.get('bias_ih') ?? null);
      const r = cellRecurrence(this.kind, xp, params.get('weight_hh')!, params.get('bias_hh') ?? null, y0, { mode: 'sequential' });
      if (checked.length === 1) return [reshape(r.y, want)];
      const y = reshape(r.y, [B, 2 * H]);
      return [0, 1].map((i) => (unbatched ? reshape(slice(y, [0, i * H], [1, H]), want) : slice(y, [0, i * H], [B, H])));
    });
  }
}

/** torch.nn.GRUCell: h' = (1 − z) ⊙ n + z ⊙ h with nn.GRU's gates (r, z, n). */
export class GRUCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, options?: RNNCellBaseOptions) {
    super('gru', 'GRUCell', inputSize, hiddenSize, checkOptions<RNNCellBaseOptions>(options, 'GRUCell', CELL_KEYS));
  }
  /** input [B, in] (or [in]); hx [B, H] (or [H]), zeros if absent. Returns h' [B, H] (or [H]). */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    return this.step(input, [hx ?? null], ['hx'])[0];
  }
}

/** torch.nn.LSTMCell (gates i, f, g, o): c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). */
export class LSTMCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, options?: RNNCellBaseOptions) {
    super('lstm', 'LSTMCell', inputSize, hiddenSize, checkOptions<RNNCellBaseOptions>(options, 'LSTMCell', CELL_KEYS));
  }
  /** input [B, in] (or [in]); state [h, c], each [B, H] (or [H]), zeros if absent. Returns [h', c']. */
  forward(input: Tensor, state?: readonly [Tensor, Tensor] | null): [Tensor, Tensor] {
    if (state !== undefined && state !== null && (!Array.isArray(state) || state.length !== 2))
      fail('INVALID_ARGUMENT', `LSTMCell: the state must be [h, c], two tensors (or null for zeros); got ${describe(state)}`);
    if (state) state.forEach((t, i) => {
      if (!(t instanceof Tensor)) fail('INVALID_ARGUMENT', `LSTMCell: the state [h, c] needs both tensors (or pass null for zeros); ${i ? 'c' : 'h'} is ${describe(t)}`);
    });
    const [h, c] = this.step(input, state ? [state[0], state[1]] : [null, null], ['h', 'c']);
    return [h, c];
  }
}

/** torch.nn.RNNCell (Elman): h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh (default) or relu. */
export class RNNCell extends RNNCellBase {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(inputSize: number, hiddenSize: number, options?: RNNCellOptions) {
    const o = checkOptions<RNNCellOptions>(options, 'RNNCell', [...CELL_KEYS, 'nonlinearity']);
    const nl = elman(o.nonlinearity, 'RNNCell');
    super(`rnn_${nl}`, 'RNNCell', inputSize, hiddenSize, o);
    this.nonlinearity = nl;
  }
  /** input [B, in] (or [in]); hx [B, H] (or [H]), zeros if absent. Returns h' [B, H] (or [H]). */
  forward(input: Tensor, hx?: Tensor | null): Tensor {
    return this.step(input, [hx ?? null], ['hx'])[0];
  }
}
