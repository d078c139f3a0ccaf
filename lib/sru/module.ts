/**
 * nn.SRU and nn.SRUCell: the Simple Recurrent Unit (Lei et al. 2017) with the
 * options, parameter names, layouts and initialisation of the `sru` PyTorch
 * package v2.6, so state dicts move between the two.
 *
 * One layer: U = x W (one GEMM over every step, through `weight_proj` first
 * when projected), then the elementwise recurrence of ./recurrence.ts, either
 * fused (one native launch) or op by op from autograd ops (`impl: 'reference'`,
 * the independent reference for tests and a fallback). Layer norm goes on the
 * layer's input (default) or on its output (`normalizeAfter`); the skip term
 * always reads the raw input.
 *
 * Dropout follows the reference: `rnnDropout` multiplies the input of W by a
 * mask [B, in] shared over time; `dropout` (every layer but the last) keeps
 * the skip path and drops the gated part with a mask [B, dirs·d] shared over
 * time: h = s + m ⊙ r ⊙ (g(c) − s).
 */
import { isGradEnabled } from '../autograd/graph';
import { isolated, tidy } from '../engine';
import { AntlerError, fail } from '../errors';
import { LayerNorm } from '../nn/layers';
import { native } from '../native';
import { checkModuleInput, Module } from '../nn/module';
import { add, cast, concat, matmul, mul, notEqual, reshape, sigmoid, slice, stack, sub, tanh } from '../ops/core';
import { dropoutMask } from '../ops/nn';
import { Lengths, readLengths } from '../ops/sequence';
import { checkPackedData, PackedSequence, packLike, padForLayer } from '../ops/packed';
import type { ForwardResult } from '../nn/rnn';
import { checkTensor, full, rand, tensor, Tensor } from '../tensor';
import { checkBoolean, checkDevice, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import type { DeerStats } from '../deer/solver';
import { checkSruDeerOptions } from './deer';
import type { SruDeerOptions } from './deer';
import { checkRecurrenceOptions, sruRecurrence, SruRecurrenceOptions } from './recurrence';

export type SRUImpl = 'fused' | 'reference';
export type SRUMode = 'sequential' | 'deer';
export type SRUActivation = 'identity' | 'tanh';

/** Options shared by SRU and SRUCell (camelCase of the reference's keyword arguments). */
export interface SRULayerOptions {
  /** Dropout on the gated part of h, mask shared over time (default 0). */
  dropout?: number;
  /** Variational dropout on the input of W, mask shared over time (default 0). */
  rnnDropout?: number;
  bidirectional?: boolean;
  /** Factorises W as weight_proj [in, p] · weight [p, dirs·d·k]; used only when 0 < p < in and p < dirs·d, as in the reference. */
  projectionSize?: number;
  /** g in h = r ⊙ g(c) + (1 − r) ⊙ s: 'identity' (default) or 'tanh'. */
  activation?: SRUActivation;
  /** Initial reset-gate bias (default 0). */
  highwayBias?: number;
  /** h keeps a skip term s (default true). */
  hasSkipTerm?: boolean;
  /** Layer norm on each layer's input (or output with normalizeAfter). */
  layerNorm?: boolean;
  normalizeAfter?: boolean;
  /** Scales the skip term by sqrt(1 + 2·exp(highwayBias)) (SRU default false, SRUCell default true, as in the reference). */
  rescale?: boolean;
  /** weight_c ~ U(±weightCInit) instead of U(±sqrt(3))·sqrt(0.5). */
  weightCInit?: number;
  /** 'fused' (default): the native recurrence; 'reference': autograd ops step by step. */
  impl?: SRUImpl;
  /** How the fused recurrence's forward runs: 'sequential' (default, the fused kernel) or 'deer' (Newton over all steps in parallel; see lib/sru/deer.ts). */
  mode?: SRUMode;
  /** Tolerances of mode 'deer' (atol, rtol, maxIters, strict). */
  deer?: SruDeerOptions;
  /**
   * Batch-major input and output, x [B, L, in] and output [B, L, dirs·d],
   * and maskPad [B, L] (default false: time-major, as the reference package,
   * which has no such option; as PyTorch's GRU/LSTM/RNN). States (c0, c)
   * stay [numLayers, B, dirs·d] / [B, dirs·d]; step() is unaffected.
   */
  batchFirst?: boolean;
  dtype?: 'float32' | 'float64';
  device?: string;
}

export interface SRUOptions extends SRULayerOptions {
  /** Stacked layers (default 2). */
  numLayers?: number;
}

export interface SRUForwardOptions {
  /** Initial state: [numLayers, B, dirs·d] for SRU, [B, dirs·d] for SRUCell (default zeros). */
  c0?: Tensor | null;
  /**
   * [L, B] ([B, L] with batchFirst), nonzero = padding: c is carried
   * through, h is 0 (with normalizeAfter, h is the layer norm of 0: its
   * bias, as in the reference). Any dtype.
   */
  maskPad?: Tensor | null;
  /** Lengths of right-padded sequences, int32 [B] or numbers, each in [1, L]; turned into maskPad. */
  lengths?: Lengths | null;
}

export interface SRUOutput {
  /** [L, B, dirs·d] ([B, L, dirs·d] with batchFirst) */
  output: Tensor;
  /** Final states: [numLayers, B, dirs·d] for SRU, [B, dirs·d] for SRUCell (each sequence's last real step). */
  c: Tensor;
  /** mode 'deer': the solver's stats, one per layer. */
  stats?: DeerStats[];
}

const LAYER_KEYS = [
  'dropout', 'rnnDropout', 'bidirectional', 'projectionSize', 'activation', 'highwayBias', 'hasSkipTerm',
  'layerNorm', 'normalizeAfter', 'rescale', 'weightCInit', 'impl', 'mode', 'deer', 'batchFirst', 'dtype', 'device',
] as const;

function checkProbability(p: unknown, op: string, what: string): number {
  const v = checkFinite(p, op, what);
  if (v < 0 || v >= 1) fail('INVALID_ARGUMENT', `${op}: ${what} must be in [0, 1); got ${v}`);
  return v;
}

function checkMode(v: unknown, op: string): SRUMode {
  if (v !== 'sequential' && v !== 'deer') fail('INVALID_ARGUMENT', `${op}: mode must be 'sequential' or 'deer'; got ${describe(v)}`);
  return v;
}

function checkImpl(v: unknown, op: string): SRUImpl {
  if (v !== 'fused' && v !== 'reference') fail('INVALID_ARGUMENT', `${op}: impl must be 'fused' or 'reference'; got ${describe(v)}`);
  return v;
}

/** Layer options with defaults applied, checked in the name of `op` (SRU or SRUCell, whichever the user constructed). */
interface ResolvedLayerOptions {
  bidirectional: boolean;
  dropout: number;
  rnnDropout: number;
  /** As requested; SRUCell decides whether it is used. */
  projectionSize: number;
  activation: SRUActivation;
  highwayBias: number;
  hasSkipTerm: boolean;
  rescale: boolean;
  layerNorm: boolean;
  normalizeAfter: boolean;
  weightCInit: number | null;
  impl: SRUImpl;
  mode: SRUMode;
  deer: SruDeerOptions;
  batchFirst: boolean;
  dtype: 'float32' | 'float64';
  device: string | undefined;
}

function resolveLayerOptions(o: Partial<SRULayerOptions>, op: string, defaultRescale: boolean): ResolvedLayerOptions {
  const act = o.activation ?? 'identity';
  if (act !== 'identity' && act !== 'tanh') fail('INVALID_ARGUMENT', `${op}: activation must be 'identity' or 'tanh'; got ${describe(act)}`);
  const dtype = o.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') fail('DTYPE_MISMATCH', `${op}: dtype must be 'float32' or 'float64'; got ${describe(dtype)}`);
  const highwayBias = o.highwayBias === undefined ? 0 : checkFinite(o.highwayBias, op, 'highwayBias');
  const hasSkipTerm = o.hasSkipTerm === undefined ? true : checkBoolean(o.hasSkipTerm, op, 'hasSkipTerm');
  const rescale = o.rescale === undefined ? defaultRescale : checkBoolean(o.rescale, op, 'rescale');
  // scale_x in the module's dtype (its buffer): float32 overflows from highwayBias ≈ 176.75 on, float64 from ≈ 709.09.
  const scale = Math.sqrt(1 + 2 * Math.exp(highwayBias));
  if (rescale && hasSkipTerm && !Number.isFinite(dtype === 'float32' ? Math.fround(scale) : scale))
    fail(
      'INVALID_ARGUMENT',
      `${op}: highwayBias ${highwayBias} overflows scale_x = sqrt(1 + 2·exp(highwayBias)) in ${dtype} under rescale; ` +
        `expected highwayBias ≤ ${dtype === 'float32' ? 176.7 : 709.08}, or rescale: false`,
    );
  return {
    bidirectional: o.bidirectional === undefined ? false : checkBoolean(o.bidirectional, op, 'bidirectional'),
    dropout: o.dropout === undefined ? 0 : checkProbability(o.dropout, op, 'dropout'),
    rnnDropout: o.rnnDropout === undefined ? 0 : checkProbability(o.rnnDropout, op, 'rnnDropout'),
    projectionSize: o.projectionSize === undefined ? 0 : checkInteger(o.projectionSize, op, 'projectionSize', 0),
    activation: act,
    highwayBias,
    hasSkipTerm,
    rescale,
    layerNorm: o.layerNorm === undefined ? false : checkBoolean(o.layerNorm, op, 'layerNorm'),
    normalizeAfter: o.normalizeAfter === undefined ? false : checkBoolean(o.normalizeAfter, op, 'normalizeAfter'),
    weightCInit: o.weightCInit === undefined || o.weightCInit === null ? null : checkFinite(o.weightCInit, op, 'weightCInit'),
    impl: o.impl === undefined ? 'fused' : checkImpl(o.impl, op),
    mode: o.mode === undefined ? 'sequential' : checkMode(o.mode, op),
    deer: { ...checkSruDeerOptions(o.deer, op, true) },
    batchFirst: o.batchFirst === undefined ? false : checkBoolean(o.batchFirst, op, 'batchFirst'),
    dtype,
    device: o.device === undefined ? undefined : checkDevice(o.device, op),
  };
}

/**
 * forward(x, options): null is no options (as GRU.forward(x, null)); a Tensor in the options' place is
 * an initial state passed positionally, as GRU.forward(x, h0) takes it.
 */
function checkForwardOptions(options: unknown, op: string): Partial<SRUForwardOptions> {
  if (options === null) return {};
  if (options instanceof Tensor)
    fail(
      'INVALID_ARGUMENT',
      `${op}: the second argument is an options object { c0, maskPad, lengths }; got a Tensor (shape ${shapeText(options.shape)}) — pass { c0 }`,
    );
  return checkOptions<SRUForwardOptions>(options, op, ['c0', 'maskPad', 'lengths']);
}

/** SRU's / SRUCell's output for a PackedSequence input: the output packed like the input. */
export type PackedSRUOutput = Omit<SRUOutput, 'output'> & { output: PackedSequence };
/** SRU's / SRUCell's forward options for an input of type X: only c0 with a PackedSequence (it carries its own lengths). */
export type SRUForwardOptionsFor<X> = [X] extends [Tensor] ? SRUForwardOptions : [X] extends [PackedSequence] ? Pick<SRUForwardOptions, 'c0'> : SRUForwardOptions;

/**
 * A PackedSequence through an SRU or SRUCell (time-major, its lengths as the
 * mask): the output packed as the input is, c0 and c in the original batch order.
 */
function runPacked(m: { readonly inputSize: number; run(x: Tensor, o: unknown, op: string, s: string, bf: boolean): SRUOutput }, x: PackedSequence, options: unknown, op: string): PackedSRUOutput {
  PackedSequence.checked(x, op, 'x');
  checkPackedData(x, m.inputSize, op);
  const o = checkForwardOptions(options ?? null, op);
  if ((o.maskPad !== undefined && o.maskPad !== null) || (o.lengths !== undefined && o.lengths !== null))
    fail('INVALID_ARGUMENT', `${op}: maskPad and lengths are for a padded input; a PackedSequence carries its own lengths (pass only { c0 })`);
  return tidy(() => {
    const { padded, lengths } = padForLayer(x, false);
    const r = m.run(padded, { c0: o.c0 ?? null, lengths }, op, 'c0', false);
    return { ...r, output: packLike(r.output, x, false) };
  });
}

// ---------------------------------------------------------------- time split

/**
 * @internal Splits x along axis 0 into x.shape[0] tensors of shape
 * x.shape.slice(1). With gradients on it halves recursively: one slice per
 * step would send a full-size gradient back for every step (O(L²) in
 * backward); halving costs O(L log L).
 */
export function unstack(x: Tensor): Tensor[] {
  const n = x.shape[0];
  const rest = x.shape.slice(1);
  if (!isGradEnabled() || !x.requiresGrad) return Array.from({ length: n }, (_, t) => reshape(slice(x, [t], [1]), rest));
  const out: Tensor[] = [];
  const split = (part: Tensor, len: number) => {
    if (len === 1) {
      out.push(reshape(part, rest));
      return;
    }
    const half = len >> 1;
    split(slice(part, [0], [half]), half);
    split(slice(part, [half], [len - half]), len - half);
  };
  split(x, n);
  return out;
}

// ---------------------------------------------------------------- reference recurrence

/**
 * The recurrence of {@link sruRecurrence} (same arguments, same results)
 * written with autograd ops, one step at a time. Gate columns of U are
 * (dir·d + j)·k + m with m = x̃, f, r (, x'); weightC and bias are
 * [forget | reset], each [dirs, d].
 */
export function sruRecurrenceReference(
  U: Tensor, x: Tensor | null, weightC: Tensor, bias: Tensor, c0: Tensor | null, maskPad: Tensor | null, o: SruRecurrenceOptions,
): { h: Tensor; c: Tensor } {
  checkTensor(U, 'sruRecurrenceReference', "the projection 'U'");
  checkRecurrenceOptions(o);
  return tidy(() => {
    const [L, B] = U.shape;
    const d = o.hiddenSize;
    const dirs = o.bidirectional ? 2 : 1;
    const k = o.k;
    const U5 = reshape(U, [L, B, dirs, d, k]);
    const v = reshape(weightC, [2, dirs, d]);
    const b = reshape(bias, [2, dirs, d]);
    const opts = { dtype: U.dtype as 'float32' | 'float64', device: U.device };
    const pad = maskPad ? unstack(reshape(cast(notEqual(maskPad, 0), U.dtype), [L, B, 1])) : null;
    const keepMask = pad ? pad.map((p) => sub(1, p)) : null;
    const x4 = x ? reshape(x, [L, B, dirs, d]) : null;
    const hDirs: Tensor[] = [];
    const cDirs: Tensor[] = [];
    for (let di = 0; di < dirs; di++) {
      const column = (m: number) => reshape(slice(U5, [0, 0, di, 0, m], [L, B, 1, d, 1]), [L, B, d]);
      const param = (p: Tensor, gate: number) => reshape(slice(p, [gate, di, 0], [1, 1, d]), [d]);
      const uX = unstack(column(0));
      const uF = unstack(add(column(1), param(b, 0)));
      const uR = unstack(add(column(2), param(b, 1)));
      const vF = param(v, 0);
      const vR = param(v, 1);
      let skip: Tensor[] | null = null;
      if (o.hasSkipTerm && k === 4) skip = unstack(column(3));
      else if (o.hasSkipTerm && x4) skip = unstack(mul(reshape(slice(x4, [0, 0, di, 0], [L, B, 1, d]), [L, B, d]), o.scaleX));
      let cPrev = c0 ? slice(c0, [0, di * d], [B, d]) : full([B, d], 0, opts);
      const hs: Tensor[] = new Array(L);
      for (let step = 0; step < L; step++) {
        const t = di === 0 ? step : L - 1 - step;
        const f = sigmoid(add(uF[t], mul(vF, cPrev)));
        const r = sigmoid(add(uR[t], mul(vR, cPrev)));
        // c = f ⊙ c_prev + (1 − f) ⊙ x̃
        let c = add(uX[t], mul(sub(cPrev, uX[t]), f));
        if (pad) c = add(mul(c, keepMask![t]), mul(cPrev, pad[t]));
        const g = o.activation === 'tanh' ? tanh(c) : c;
        // h = r ⊙ g + (1 − r) ⊙ s
        let h = skip ? add(skip[t], mul(sub(g, skip[t]), r)) : mul(g, r);
        if (pad) h = mul(h, keepMask![t]);
        hs[t] = h;
        cPrev = c;
      }
      hDirs.push(stack(hs, 0));
      cDirs.push(cPrev);
    }
    return {
      h: dirs === 1 ? hDirs[0] : concat(hDirs, 2),
      c: dirs === 1 ? cDirs[0] : concat(cDirs, 1),
    };
  });
}

// ---------------------------------------------------------------- masks

interface Prepared {
  L: number;
  B: number;
  /** int32 [L, B] of 0/1, or null. */
  mask: Tensor | null;
}

/** Checks the input in its layout: [length, batch, in], or [batch, length, in] with batchFirst. */
function checkInput(x: unknown, op: string, inputSize: number, like: Tensor, batchFirst: boolean, canStep: boolean): Tensor {
  const t = checkTensor(x, op, 'input');
  if (t.rank !== 3 || t.shape[2] !== inputSize) {
    const layout = batchFirst ? `[batch, length, ${inputSize}] (batchFirst)` : `[length, batch, ${inputSize}]`;
    // One step's [batch, in] is what step() takes.
    const hint = canStep && t.rank === 2 && t.shape[1] === inputSize && op.endsWith('.forward') ? `; for one step of [batch, ${inputSize}], call ${op.slice(0, -'forward'.length)}step()` : '';
    fail('SHAPE_MISMATCH', `${op}: input must be ${layout}; got shape ${shapeText(t.shape)}${hint}`);
  }
  if (t.shape[batchFirst ? 1 : 0] < 1) fail('SHAPE_MISMATCH', `${op}: input has no time steps (shape ${shapeText(t.shape)})`);
  checkModuleInput(op, 'input', t, like);
  return t;
}

/** The initial state, named `what` in errors (forward's c0, step's c). */
function checkState(c: unknown, op: string, shape: number[], like: Tensor, what: string): Tensor {
  const t = checkTensor(c, op, what);
  if (t.rank !== shape.length || t.shape.some((v, i) => v !== shape[i]))
    fail('SHAPE_MISMATCH', `${op}: ${what} must have shape ${shapeText(shape)}; got ${shapeText(t.shape)}`);
  checkModuleInput(op, what, t, like);
  return t;
}

/**
 * Validates maskPad ([L, B], or [B, L] with batchFirst) / lengths for the time-major input x and returns
 * the padding mask as int32 0/1 [L, B] (null when nothing is padded).
 */
function prepareMask(x: Tensor, o: SRUForwardOptions, op: string, batchFirst: boolean): Prepared {
  const [L, B] = x.shape;
  const hasMask = o.maskPad !== undefined && o.maskPad !== null;
  const hasLengths = o.lengths !== undefined && o.lengths !== null;
  if (hasMask && hasLengths) fail('INVALID_ARGUMENT', `${op}: pass maskPad or lengths, not both`);
  if (hasMask) {
    const m = checkTensor(o.maskPad, op, 'maskPad');
    const [r, c] = batchFirst ? [B, L] : [L, B];
    if (m.rank !== 2 || m.shape[0] !== r || m.shape[1] !== c)
      fail('SHAPE_MISMATCH', `${op}: maskPad must be ${batchFirst ? '[batch, length]' : '[length, batch]'} = [${r}, ${c}]; got ${shapeText(m.shape)}`);
    if (m.device !== x.device) fail('DEVICE_MISMATCH', `${op}: maskPad is on ${m.device}; the input is on ${x.device}`);
    return { L, B, mask: cast(notEqual(batchFirst ? m.transpose(0, 1) : m, 0), 'int32') };
  }
  if (!hasLengths) return { L, B, mask: null };
  const values = readLengths(o.lengths, B, L, op);
  const mask = new Int32Array(L * B);
  let padded = false;
  for (let b = 0; b < B; b++) {
    for (let t = values[b]; t < L; t++) mask[t * B + b] = 1;
    if (values[b] < L) padded = true;
  }
  return { L, B, mask: padded ? tensor(mask, [L, B], { dtype: 'int32', device: x.device }) : null };
}

// ---------------------------------------------------------------- SRUCell

/**
 * One SRU layer (the reference's SRUCell). Parameters: `weight`
 * [in (or projectionSize), dirs·d·k] with column (dir·d + j)·k + m,
 * m ∈ {x̃, f, r, x'}; `weight_proj` [in, projectionSize] when projected;
 * `weight_c` and `bias` [2·dirs·d] as [forget | reset]; buffer `scale_x` [1];
 * `layer_norm.weight/bias` with layerNorm. k = 4 when the layer has a skip term
 * and in ≠ dirs·d, else 3.
 */
/** One time step through a unidirectional SRU or SRUCell: a length-1 forward that carries c, in the name of `op`. */
function streamStep(
  m: {
    bidirectional: boolean;
    inputSize: number;
    outputSize: number;
    run(x: Tensor, o: unknown, op: string, stateName: string, batchFirst: boolean): SRUOutput;
  },
  op: string,
  x: Tensor,
  c: Tensor | null | undefined,
): { h: Tensor; c: Tensor } {
  if (m.bidirectional) fail('INVALID_ARGUMENT', `${op}: a bidirectional SRU needs the whole sequence; call forward()`);
  const t = checkTensor(x, op, 'x');
  if (t.rank !== 2 || t.shape[1] !== m.inputSize)
    fail('SHAPE_MISMATCH', `${op}: x must be [batch, ${m.inputSize}]; got shape ${shapeText(t.shape)}`);
  return tidy(() => {
    const r = m.run(reshape(t, [1, t.shape[0], m.inputSize]), { c0: c ?? null }, op, 'c', false);
    return { h: reshape(r.output, [t.shape[0], m.outputSize]), c: r.c };
  });
}

export class SRUCell extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** dirs·hiddenSize */
  readonly outputSize: number;
  readonly bidirectional: boolean;
  /** x [B, L, in] and output [B, L, dirs·d], maskPad [B, L] (see SRULayerOptions.batchFirst). */
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly rnnDropout: number;
  /** The projection actually used (0 when the requested one does not shrink W). */
  readonly projectionSize: number;
  readonly activation: SRUActivation;
  readonly highwayBias: number;
  readonly hasSkipTerm: boolean;
  readonly rescale: boolean;
  readonly normalizeAfter: boolean;
  /** Columns per unit in U: 3 or 4. */
  readonly k: 3 | 4;
  private implValue: SRUImpl = 'fused';
  private modeValue: SRUMode = 'sequential';
  private deerValue: SruDeerOptions = {};
  weight: Tensor;
  weightProj: Tensor | null;
  weightC: Tensor;
  bias: Tensor;
  scaleX: Tensor;
  layerNorm: LayerNorm | null;
  private scaleValue = NaN;
  private scaleHandle: unknown = null;
  private scaleVersion = NaN;

  // PyTorch's names (the state dict's, and the sru package's attributes) for the same handles:
  // `cell.weight_c = nn.parameter(…)` or `cell.scale_x = t` replaces what forward() uses and what
  // stateDict() saves, as `cell.weightC = …` does (not a second tensor beside it). Accessors on the
  // prototype (SNAKE_ALIASES, below the class).
  declare weight_c: Tensor;
  declare weight_proj: Tensor | null;
  declare scale_x: Tensor;
  declare layer_norm: LayerNorm | null;

  constructor(inputSize: number, hiddenSize: number, options?: SRULayerOptions) {
    super();
    const op = 'SRUCell';
    const r = resolveLayerOptions(checkOptions<SRULayerOptions>(options, op, LAYER_KEYS), op, true);
    this.inputSize = checkInteger(inputSize, op, 'inputSize', 1);
    this.hiddenSize = checkInteger(hiddenSize, op, 'hiddenSize', 1);
    this.bidirectional = r.bidirectional;
    this.batchFirst = r.batchFirst;
    this.outputSize = (this.bidirectional ? 2 : 1) * this.hiddenSize;
    this.dropout = r.dropout;
    this.rnnDropout = r.rnnDropout;
    const proj = r.projectionSize;
    this.projectionSize = proj > 0 && proj < this.inputSize && proj < this.outputSize ? proj : 0;
    this.activation = r.activation;
    this.highwayBias = r.highwayBias;
    this.hasSkipTerm = r.hasSkipTerm;
    this.rescale = r.rescale;
    const useLayerNorm = r.layerNorm;
    this.normalizeAfter = r.normalizeAfter;
    const weightCInit = r.weightCInit;
    this.impl = r.impl;
    this.mode = r.mode;
    this.deer = r.deer;
    const place = { dtype: r.dtype, device: r.device };
    this.k = this.hasSkipTerm && this.inputSize !== this.outputSize ? 4 : 3;
    const k = this.k;

    const scaleVal = this.rescale && this.hasSkipTerm ? Math.sqrt(1 + 2 * Math.exp(this.highwayBias)) : 1;
    const rows = this.projectionSize || this.inputSize;
    const cols = this.outputSize * k;
    // Column factors of the reference's init: U(±sqrt(3/rows)), then per gate m (column % k).
    const gateScale = Array.from({ length: k }, (_, m) => {
      let s = 1;
      if (m === 0 && this.dropout > 0) s *= Math.sqrt(1 - this.dropout);
      if (this.rnnDropout > 0) s *= Math.sqrt(1 - this.rnnDropout);
      if (useLayerNorm) s *= 0.1;
      if (m === 3 && this.rescale && this.hasSkipTerm) s *= scaleVal;
      if (m === 1 || m === 2) s *= Math.SQRT1_2;
      return s;
    });
    // Every size goes to the native allocator, none to a JavaScript array: a layer too large to make
    // (past the element limit, or memory) is refused in its own name, and what was made before is freed.
    const made: Tensor[] = [];
    const make = (fn: () => Tensor) => {
      const t = isolated(() => tidy(fn));
      made.push(t);
      return t;
    };
    const bound = Math.sqrt(3 / rows);
    let weight: Tensor, weightProj: Tensor | null, weightC: Tensor, bias: Tensor;
    try {
      weight = make(() =>
        reshape(mul(rand([rows, this.outputSize, k], { minval: -bound, maxval: bound, ...place }), tensor(gateScale, [k], place)), [rows, cols]),
      );
      weightProj = this.projectionSize
        ? make(() => rand([this.inputSize, this.projectionSize], { minval: -Math.sqrt(3 / this.inputSize), maxval: Math.sqrt(3 / this.inputSize), ...place }))
        : null;
      const cBound = weightCInit ?? Math.sqrt(3) * Math.SQRT1_2;
      weightC = make(() => rand([2 * this.outputSize], { minval: -cBound, maxval: cBound, ...place }));
      // [forget | reset]: 0, then highwayBias.
      bias = make(() => concat([full([this.outputSize], 0, place), full([this.outputSize], this.highwayBias, place)], 0));
    } catch (e) {
      for (const t of made) t.dispose();
      if (e instanceof AntlerError && (e.code === 'OUT_OF_MEMORY' || e.code === 'INVALID_ARGUMENT'))
        fail(e.code, `${op}(inputSize ${this.inputSize}, hiddenSize ${this.hiddenSize}): its parameters (weight [${rows}, ${cols}]${this.projectionSize ? `, weight_proj [${this.inputSize}, ${this.projectionSize}]` : ''}, weight_c and bias [${2 * this.outputSize}]) cannot be made (${e.message})`, { cause: e });
      throw e;
    }

    // Registration order gives the reference's state-dict order.
    this.weightProj = this.registerParameter('weight_proj', weightProj);
    this.weight = this.registerParameter('weight', weight)!;
    this.weightC = this.registerParameter('weight_c', weightC)!;
    this.bias = this.registerParameter('bias', bias)!;
    this.scaleX = this.registerBuffer('scale_x', make(() => tensor([scaleVal], [1], place)));
    this.layerNorm = useLayerNorm
      ? this.registerModule('layer_norm', new LayerNorm(this.normalizeAfter ? this.outputSize : this.inputSize, place))
      : null;
  }

  /**
   * The skip-term factor in use: scale_x with rescale, else 1. Read back
   * once and kept while the buffer's storage and version are unchanged
   * (reading it every forward would wait for the GPU), so an in-place change
   * (assign, loadStateDict) or a cast is seen at the next forward, as the
   * sru package reads its buffer every time.
   */
  private scale(): number {
    if (!this.rescale) return 1;
    const handle = this.scaleX.handle;
    const n = native();
    const version = n.versionSum ? n.versionSum(handle) : NaN;
    if (handle !== this.scaleHandle || version !== this.scaleVersion) {
      this.scaleValue = this.scaleX.dataSync()[0];
      this.scaleHandle = handle;
      this.scaleVersion = version;
    }
    return this.scaleValue;
  }

  /** @internal One layer on a validated input, with the padding mask already made. */
  runLayer(x: Tensor, c0: Tensor | null, mask: Tensor | null, op: string): { h: Tensor; c: Tensor; stats?: DeerStats } {
    const [L, B] = x.shape;
    const n = this.outputSize;
    const place = { dtype: x.dtype as 'float32' | 'float64', device: x.device };
    let input = x;
    if (this.layerNorm && !this.normalizeAfter) input = this.layerNorm.forward(input);
    if (this.training && this.rnnDropout > 0) input = mul(input, dropoutMask([B, this.inputSize], this.rnnDropout, place));
    const U = matmul(this.weightProj ? matmul(input, this.weightProj) : input, this.weight);
    const opts: SruRecurrenceOptions = {
      hiddenSize: this.hiddenSize, bidirectional: this.bidirectional, k: this.k, hasSkipTerm: this.hasSkipTerm,
      scaleX: this.scale(), activation: this.activation,
    };
    const skipInput = this.hasSkipTerm && this.k === 3 ? x : null;
    if (this.mode === 'deer' && this.impl !== 'fused')
      fail('INVALID_ARGUMENT', `${op}: mode 'deer' runs the fused recurrence; impl is '${this.impl}' (use impl 'fused' or mode 'sequential')`);
    const solved: { h: Tensor; c: Tensor; stats?: DeerStats } = this.impl === 'fused'
      ? sruRecurrence(U, skipInput, this.weightC, this.bias, c0, mask, opts, this.mode === 'deer' ? this.deer : null)
      : sruRecurrenceReference(U, skipInput, this.weightC, this.bias, c0, mask, opts);
    let h = solved.h;
    const c = solved.c;
    if (this.training && this.dropout > 0) {
      // The reference drops the gated part only: h = s + m ⊙ (h − s), s zeroed on padded steps.
      const m = dropoutMask([B, n], this.dropout, place);
      let s: Tensor | null = null;
      if (this.hasSkipTerm)
        s = this.k === 3 ? mul(x, opts.scaleX) : reshape(slice(reshape(U, [L, B, n, 4]), [0, 0, 0, 3], [L, B, n, 1]), [L, B, n]);
      if (s && mask) s = mul(s, reshape(cast(sub(1, mask), x.dtype), [L, B, 1]));
      h = s ? add(s, mul(sub(h, s), m)) : mul(h, m);
    }
    if (this.layerNorm && this.normalizeAfter) h = this.layerNorm.forward(h);
    return solved.stats ? { h, c, stats: solved.stats } : { h, c };
  }

  /** 'fused' (the native kernel) or 'reference' (recorded ops); checked when set. */
  get impl(): SRUImpl {
    return this.implValue;
  }
  set impl(v: SRUImpl) {
    this.implValue = checkImpl(v, 'SRUCell');
  }
  /** 'sequential' (the fused kernel) or 'deer' (parallel over time); checked when set. */
  get mode(): SRUMode {
    return this.modeValue;
  }
  set mode(v: SRUMode) {
    this.modeValue = checkMode(v, 'SRUCell');
  }
  /** Tolerances of mode 'deer' (atol, rtol, maxIters, strict); checked when set, as at construction. */
  get deer(): SruDeerOptions {
    return this.deerValue;
  }
  set deer(v: SruDeerOptions) {
    this.deerValue = { ...checkSruDeerOptions(v, 'SRUCell', true) };
  }

  /**
   * x [L, B, inputSize] -> output [L, B, dirs·d] and the final state c
   * [B, dirs·d]. The forward direction's state is the one after each
   * sequence's last real step, the backward direction's the one after step 0.
   */
  forward<X extends Tensor | PackedSequence>(x: X, options?: SRUForwardOptionsFor<X> | null): ForwardResult<X, SRUOutput, PackedSRUOutput> {
    type R = ForwardResult<X, SRUOutput, PackedSRUOutput>;
    if (x instanceof PackedSequence) return runPacked(this, x, options, 'SRUCell.forward') as R;
    return this.run(x as Tensor, options, 'SRUCell.forward', 'c0', this.batchFirst) as R;
  }

  /** @internal forward() in the name of `op`, its initial state called `stateName`, x in the given layout. */
  run(x: Tensor, options: unknown, op: string, stateName: string, batchFirst: boolean): SRUOutput {
    this.checkUsable(op);
    const o = checkForwardOptions(options, op);
    checkInput(x, op, this.inputSize, this.weight, batchFirst, !this.bidirectional);
    return tidy(() => {
      const xt = batchFirst ? x.transpose(0, 1) : x;
      const { B, mask } = prepareMask(xt, o, op, batchFirst);
      const c0 = o.c0 ? checkState(o.c0, op, [B, this.outputSize], this.weight, stateName) : null;
      const { h, c, stats } = this.runLayer(xt, c0, mask, op);
      const output = batchFirst ? h.transpose(0, 1) : h;
      return stats ? { output, c, stats: [stats] } : { output, c };
    });
  }

  /**
   * One time step for streaming inference: x [B, inputSize] and the state c
   * [B, dirs·d] (zeros when omitted) -> h [B, dirs·d] and the new c.
   * Unidirectional layers only. Dropout masks (training mode) are drawn anew
   * each step, so stream in eval mode, and under noGrad(): with gradients on,
   * each new c keeps the graph of every step before it (disposing the old c
   * does not free what the new one needs).
   */
  step(x: Tensor, c?: Tensor | null): { h: Tensor; c: Tensor } {
    return streamStep(this, 'SRUCell.step', x, c);
  }
}

/** SRUCell's PyTorch names and the handles they stand for (see the declarations in the class). */
const SNAKE_ALIASES = [['weight_c', 'weightC'], ['weight_proj', 'weightProj'], ['scale_x', 'scaleX'], ['layer_norm', 'layerNorm']] as const;
for (const [snake, camel] of SNAKE_ALIASES)
  Object.defineProperty(SRUCell.prototype, snake, {
    get(this: SRUCell) {
      return this[camel];
    },
    set(this: SRUCell, v: never) {
      this[camel] = v;
    },
    configurable: true,
  });

// ---------------------------------------------------------------- SRU

/** The ModuleList of layers, named rnn_lst.0, rnn_lst.1, ... as in the reference. */
class SRULayerList extends Module {
  constructor(readonly cells: SRUCell[]) {
    super();
    cells.forEach((c, i) => this.registerModule(String(i), c));
  }

  forward(): never {
    fail('INVALID_ARGUMENT', 'SRU.rnn_lst holds the layers; call SRU.forward()');
  }
}

/**
 * Stacked SRU layers (the reference's SRU). forward(x [L, B, inputSize],
 * {c0, maskPad, lengths}) -> {output [L, B, dirs·d], c [numLayers, B, dirs·d]}.
 * Layer i reads inputSize (i = 0) or dirs·d features; dropout applies to every
 * layer but the last.
 */
export class SRU extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly outputSize: number;
  readonly bidirectional: boolean;
  /** x [B, L, in] and output [B, L, dirs·d], maskPad [B, L] (see SRULayerOptions.batchFirst). */
  readonly batchFirst: boolean;
  readonly cells: SRUCell[];

  constructor(inputSize: number, hiddenSize: number, options?: SRUOptions) {
    super();
    const op = 'SRU';
    const o = checkOptions<SRUOptions>(options, op, ['numLayers', ...LAYER_KEYS]);
    this.inputSize = checkInteger(inputSize, op, 'inputSize', 1);
    this.hiddenSize = checkInteger(hiddenSize, op, 'hiddenSize', 1);
    this.numLayers = o.numLayers === undefined ? 2 : checkInteger(o.numLayers, op, 'numLayers', 1);
    const { numLayers: _n, ...layer } = o;
    void _n;
    // Checked here so a bad option is reported as SRU's, not as the SRUCell's it is passed on to.
    const r = resolveLayerOptions(layer, op, false);
    this.bidirectional = r.bidirectional;
    this.batchFirst = r.batchFirst;
    this.outputSize = (this.bidirectional ? 2 : 1) * this.hiddenSize;
    // A layer that cannot be made frees the layers before it, and is reported in SRU's name.
    const cells: SRUCell[] = [];
    try {
      for (let i = 0; i < this.numLayers; i++)
        cells.push(
          new SRUCell(i === 0 ? this.inputSize : this.outputSize, this.hiddenSize, {
            ...layer,
            rescale: r.rescale,
            dropout: i + 1 === this.numLayers ? 0 : r.dropout,
          }),
        );
    } catch (e) {
      for (const c of cells) c.dispose();
      if (e instanceof AntlerError && (e.code === 'OUT_OF_MEMORY' || e.code === 'INVALID_ARGUMENT'))
        fail(e.code, `${op}: layer ${cells.length} of ${this.numLayers}: ${e.message}`, { cause: e });
      throw e;
    }
    this.cells = cells;
    this.registerModule('rnn_lst', new SRULayerList(this.cells));
  }

  get impl(): SRUImpl {
    return this.cells[0].impl;
  }

  set impl(v: SRUImpl) {
    checkImpl(v, 'SRU');
    for (const c of this.cells) c.impl = v;
  }

  /** 'sequential' (the fused kernel) or 'deer' (parallel over time), for every layer. */
  get mode(): SRUMode {
    return this.cells[0].mode;
  }

  set mode(v: SRUMode) {
    checkMode(v, 'SRU');
    for (const c of this.cells) c.mode = v;
  }

  /** Tolerances of mode 'deer' for every layer (atol, rtol, maxIters, strict); checked when set, as at construction. */
  get deer(): SruDeerOptions {
    return this.cells[0].deer;
  }

  set deer(v: SruDeerOptions) {
    const d = checkSruDeerOptions(v, 'SRU', true);
    for (const c of this.cells) c.deer = { ...d };
  }

  /** A PackedSequence x gives a PackedSequence output (c0 and c in the original batch order). */
  forward<X extends Tensor | PackedSequence>(x: X, options?: SRUForwardOptionsFor<X> | null): ForwardResult<X, SRUOutput, PackedSRUOutput> {
    type R = ForwardResult<X, SRUOutput, PackedSRUOutput>;
    if (x instanceof PackedSequence) return runPacked(this, x, options, 'SRU.forward') as R;
    return this.run(x as Tensor, options, 'SRU.forward', 'c0', this.batchFirst) as R;
  }

  /** @internal forward() in the name of `op`, its initial state called `stateName`, x in the given layout. */
  run(x: Tensor, options: unknown, op: string, stateName: string, batchFirst: boolean): SRUOutput {
    this.checkUsable(op);
    const o = checkForwardOptions(options, op);
    checkInput(x, op, this.inputSize, this.cells[0].weight, batchFirst, !this.bidirectional);
    return tidy(() => {
      const xt = batchFirst ? x.transpose(0, 1) : x;
      const { B, mask } = prepareMask(xt, o, op, batchFirst);
      const n = this.outputSize;
      const c0 = o.c0 ? checkState(o.c0, op, [this.numLayers, B, n], this.cells[0].weight, stateName) : null;
      let h = xt;
      const cs: Tensor[] = [];
      const stats: DeerStats[] = [];
      this.cells.forEach((cell, i) => {
        const ci = c0 ? reshape(slice(c0, [i, 0, 0], [1, B, n]), [B, n]) : null;
        const r = cell.runLayer(h, ci, mask, op);
        h = r.h;
        cs.push(r.c);
        if (r.stats) stats.push(r.stats);
      });
      const output = batchFirst ? h.transpose(0, 1) : h;
      return stats.length ? { output, c: stack(cs, 0), stats } : { output, c: stack(cs, 0) };
    });
  }

  /**
   * One time step through every layer: x [B, inputSize], c [numLayers, B,
   * d] (zeros when omitted) -> h [B, d] (the last layer's) and the new c.
   * Unidirectional only; stream in eval mode under noGrad() (see
   * SRUCell.step).
   */
  step(x: Tensor, c?: Tensor | null): { h: Tensor; c: Tensor } {
    return streamStep(this, 'SRU.step', x, c);
  }
}
