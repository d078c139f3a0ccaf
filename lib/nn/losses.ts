/**
 * PyTorch's loss modules (nn.CrossEntropyLoss, …) and shape/normalisation
 * modules (nn.Identity, nn.Flatten, nn.Unflatten, nn.Softmax,
 * nn.LogSoftmax): thin Modules over the functional ops, for code ported from
 * PyTorch (`criterion = new nn.CrossEntropyLoss(); criterion.forward(logits,
 * y)`). A loss module can be fit()'s loss. Options are the functional ops',
 * in camelCase; a class weight is copied into a registered buffer (PyTorch's
 * `weight` buffer: it follows to(device) and appears in the state dict).
 */
import { isolated } from '../engine';
import { fail } from '../errors';
import { checkMultiMarginP, checkTripletP, cosineEmbeddingLoss, CosineEmbeddingLossOptions, hingeEmbeddingLoss, HingeEmbeddingLossOptions, multilabelMarginLoss, marginRankingLoss, MarginRankingLossOptions, multilabelSoftMarginLoss, MultilabelSoftMarginLossOptions, multiMarginLoss, MultiMarginLossOptions, softMarginLoss, tripletMarginLoss, TripletMarginLossOptions } from '../ops/losses';
import { ctcLoss, CtcLossOptions, binaryCrossEntropy, checkKlDivReduction, gaussianNllLoss, GaussianNllOptions, klDiv, KlDivOptions, poissonNllLoss, PoissonNllOptions, binaryCrossEntropyWithLogits, huberLoss, l1Loss, nllLoss, smoothL1Loss } from '../ops/losses';
import { checkReduction, crossEntropy, logSoftmax, mseLoss, Reduction, softmax, softmin } from '../ops/nn';
import { flatten } from '../ops/shape';
import { checkTensor, Tensor } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import { Module } from './module';

/** nn.Identity: returns its input (a placeholder where a layer is optional). */
export class Identity extends Module {
  constructor(...args: unknown[]) {
    super();
    void args; // PyTorch's Identity ignores its arguments
  }
  forward(x: Tensor): Tensor {
    return checkTensor(x, 'Identity', 'input');
  }
}

/** nn.Flatten: flattens axes startDim..endDim (default 1..−1: everything but the batch). */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    if (!Number.isInteger(startDim) || !Number.isInteger(endDim))
      fail('INVALID_ARGUMENT', `Flatten: startDim and endDim must be integers; got ${describe(startDim)} and ${describe(endDim)}`);
  }
  forward(x: Tensor): Tensor {
    return flatten(checkTensor(x, 'Flatten', 'input'), this.startDim, this.endDim);
  }
}

/** nn.Unflatten: splits axis dim into the given sizes (one may be −1). */
export class Unflatten extends Module {
  readonly sizes: readonly number[];
  constructor(readonly dim: number, sizes: readonly number[]) {
    super();
    if (!Number.isInteger(dim)) fail('INVALID_ARGUMENT', `Unflatten: dim must be an integer; got ${describe(dim)}`);
    if (!Array.isArray(sizes) || sizes.length === 0) fail('INVALID_ARGUMENT', `Unflatten: sizes must be a non-empty array; got ${describe(sizes)}`);
    sizes.forEach((s, i) => {
      if (s !== -1) checkInteger(s, 'Unflatten', `sizes[${i}]`, 0);
    });
    this.sizes = [...sizes];
  }
  forward(x: Tensor): Tensor {
    checkTensor(x, 'Unflatten', 'input');
    const d = this.dim < 0 ? this.dim + x.rank : this.dim;
    if (d < 0 || d >= x.rank) fail('INVALID_ARGUMENT', `Unflatten: dim ${this.dim} is outside a tensor of shape ${shapeText(x.shape)}`);
    return x.reshape([...x.shape.slice(0, d), ...this.sizes, ...x.shape.slice(d + 1)]);
  }
}

/** Softmax or log-softmax along one dim. */
abstract class SoftmaxAlong extends Module {
  protected abstract readonly fn: (x: Tensor, axis: number) => Tensor;
  constructor(readonly dim = -1) {
    super();
    if (!Number.isInteger(dim)) fail('INVALID_ARGUMENT', `${new.target.name}: dim must be an integer; got ${describe(dim)}`);
  }
  forward(x: Tensor): Tensor {
    return this.fn(x, this.dim);
  }
}
/** nn.Softmax(dim); dim defaults to −1 (PyTorch's legacy default guessed one: name it). */
export class Softmax extends SoftmaxAlong {
  protected readonly fn = softmax;
}
/** nn.Softmin(dim): softmax(−x) along dim; dim defaults to −1 (name it, as for Softmax). */
export class Softmin extends SoftmaxAlong {
  protected readonly fn = softmin;
}
/** nn.LogSoftmax(dim); dim defaults to −1. */
export class LogSoftmax extends SoftmaxAlong {
  protected readonly fn = logSoftmax;
}

/** A weight option's buffer name, PyTorch's: posWeight → pos_weight. */
const bufferName = (option: string): string => option.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const optionName = (buffer: string): string => buffer.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The options a loss module was given, checked when it is made (as PyTorch's constructors do)
 * rather than at its first forward, by the functional op's rules (each checks them again there:
 * blank's upper bound, the class count, is known only then).
 */
function checkLossOptions(o: Record<string, unknown>, op: string): void {
  // null or undefined is the default, as the functional ops read them (`??`).
  const given = (k: string) => o[k] !== undefined && o[k] !== null;
  if (given('reduction')) (op === 'KLDivLoss' ? checkKlDivReduction : checkReduction)(o.reduction, op);
  if (given('logTarget')) checkBoolean(o.logTarget, op, 'logTarget');
  if (given('ignoreIndex')) checkInteger(o.ignoreIndex, op, 'ignoreIndex', -Number.MAX_SAFE_INTEGER);
  if (given('labelSmoothing')) {
    const s = checkFinite(o.labelSmoothing, op, 'labelSmoothing');
    if (s < 0 || s > 1) fail('INVALID_ARGUMENT', `${op}: labelSmoothing must be in [0, 1]; got ${s}`);
  }
  if (given('beta') && checkFinite(o.beta, op, 'beta') < 0) fail('INVALID_ARGUMENT', `${op}: beta must be ≥ 0; got ${o.beta}`);
  if (given('delta') && !(checkFinite(o.delta, op, 'delta') > 0)) fail('INVALID_ARGUMENT', `${op}: delta must be > 0; got ${o.delta}`);
  if (given('blank')) checkInteger(o.blank, op, 'blank', 0);
  if (given('zeroInfinity')) checkBoolean(o.zeroInfinity, op, 'zeroInfinity');
  for (const k of ['full', 'logInput']) if (given(k)) checkBoolean(o[k], op, k);
  if (given('eps') && checkFinite(o.eps, op, 'eps') < 0) fail('INVALID_ARGUMENT', `${op}: eps must be >= 0; got ${o.eps}`);
  if (given('margin')) checkFinite(o.margin, op, 'margin');
  if (given('swap')) checkBoolean(o.swap, op, 'swap');
  if (given('p')) (op === 'MultiMarginLoss' ? checkMultiMarginP : checkTripletP)(op, o.p);
}

/** The base of the loss modules: forward(input, target) → the loss. */
export abstract class Loss<O extends object = { reduction?: Reduction }> extends Module {
  readonly options: Readonly<O>;
  protected constructor(options: O | undefined, allowed: readonly string[], weights: readonly string[] = []) {
    super();
    const o = { ...checkOptions<O>(options, new.target.name, allowed) } as Record<string, unknown>;
    checkLossOptions(o, new.target.name);
    // Class weights become buffers: a copy, so disposing the module leaves the caller's tensor alone.
    // Named as PyTorch's (snake_case: posWeight is pos_weight), so its state dicts load.
    for (const key of weights) {
      const w = o[key];
      if (w === undefined || w === null) continue;
      checkTensor(w, new.target.name, key);
      this.registerBuffer(bufferName(key), isolated(() => (w as Tensor).clone()));
      delete o[key];
    }
    this.options = o as O;
  }
  /** The options with the buffers as they are now (moved by to(), loaded by loadStateDict). */
  protected withBuffers(): O {
    const o = { ...this.options } as Record<string, unknown>;
    for (const [name, t] of this.namedBuffers()) o[optionName(name)] = t;
    return o as O;
  }
  abstract forward(input: Tensor, target: Tensor): Tensor;
}

/** nn.CrossEntropyLoss (weight, ignoreIndex, reduction, labelSmoothing): crossEntropy over logits [..., C] and int32 labels [...]. */
export class CrossEntropyLoss extends Loss<{ weight?: Tensor; ignoreIndex?: number; reduction?: Reduction; labelSmoothing?: number }> {
  constructor(options?: { weight?: Tensor; ignoreIndex?: number; reduction?: Reduction; labelSmoothing?: number }) {
    super(options, ['weight', 'ignoreIndex', 'reduction', 'labelSmoothing'], ['weight']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, this.withBuffers());
  }
}

/** nn.NLLLoss (weight, ignoreIndex, reduction): over log-probabilities [..., C]. */
export class NLLLoss extends Loss<{ weight?: Tensor; ignoreIndex?: number; reduction?: Reduction }> {
  constructor(options?: { weight?: Tensor; ignoreIndex?: number; reduction?: Reduction }) {
    super(options, ['weight', 'ignoreIndex', 'reduction'], ['weight']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, this.withBuffers());
  }
}

/** nn.MSELoss (reduction). */
export class MSELoss extends Loss {
  constructor(options?: { reduction?: Reduction }) {
    super(options, ['reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.options);
  }
}

/** nn.L1Loss (reduction). */
export class L1Loss extends Loss {
  constructor(options?: { reduction?: Reduction }) {
    super(options, ['reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, this.options);
  }
}

/** nn.SmoothL1Loss (reduction, beta). */
export class SmoothL1Loss extends Loss<{ reduction?: Reduction; beta?: number }> {
  constructor(options?: { reduction?: Reduction; beta?: number }) {
    super(options, ['reduction', 'beta']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, this.options);
  }
}

/** nn.HuberLoss (reduction, delta). */
export class HuberLoss extends Loss<{ reduction?: Reduction; delta?: number }> {
  constructor(options?: { reduction?: Reduction; delta?: number }) {
    super(options, ['reduction', 'delta']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return huberLoss(input, target, this.options);
  }
}

/** nn.BCELoss (weight, reduction): over probabilities. */
export class BCELoss extends Loss<{ weight?: Tensor; reduction?: Reduction }> {
  constructor(options?: { weight?: Tensor; reduction?: Reduction }) {
    super(options, ['weight', 'reduction'], ['weight']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, this.withBuffers());
  }
}

/** nn.BCEWithLogitsLoss (weight, posWeight, reduction): over logits. */
export class BCEWithLogitsLoss extends Loss<{ weight?: Tensor; posWeight?: Tensor; reduction?: Reduction }> {
  constructor(options?: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction }) {
    super(options, ['weight', 'posWeight', 'reduction'], ['weight', 'posWeight']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, this.withBuffers());
  }
}

/**
 * nn.KLDivLoss (reduction, logTarget): klDiv of log-probabilities against
 * probabilities (or log-probabilities with logTarget). The default reduction
 * is PyTorch's 'mean' (over every element); 'batchmean' is the divergence.
 */
export class KLDivLoss extends Loss<KlDivOptions> {
  constructor(options?: KlDivOptions) {
    super(options, ['reduction', 'logTarget']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return klDiv(input, target, this.options);
  }
}

/** nn.PoissonNLLLoss (logInput, full, eps, reduction): poissonNllLoss of rates (log-rates by default) against counts. */
export class PoissonNLLLoss extends Loss<PoissonNllOptions> {
  constructor(options?: PoissonNllOptions) {
    super(options, ['logInput', 'full', 'eps', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return poissonNllLoss(input, target, this.options);
  }
}

/** nn.GaussianNLLLoss (full, eps, reduction): forward(input, target, var), as gaussianNllLoss. */
export class GaussianNLLLoss extends Module {
  readonly options: Readonly<GaussianNllOptions>;
  constructor(options?: GaussianNllOptions) {
    super();
    this.options = { ...checkOptions<GaussianNllOptions>(options, 'GaussianNLLLoss', ['full', 'eps', 'reduction']) };
    checkLossOptions(this.options as Record<string, unknown>, 'GaussianNLLLoss');
  }
  forward(input: Tensor, target: Tensor, variance: Tensor): Tensor {
    return gaussianNllLoss(input, target, variance, this.options);
  }
}

/** A loss module of three tensors (forward(a, b, c)), its options checked when it is made. */
abstract class Loss3<O extends object> extends Module {
  readonly options: Readonly<O>;
  protected constructor(options: O | undefined, allowed: readonly string[]) {
    super();
    this.options = { ...checkOptions<O>(options, new.target.name, allowed) } as O;
    checkLossOptions(this.options as Record<string, unknown>, new.target.name);
  }
  abstract forward(a: Tensor, b: Tensor, c: Tensor): Tensor;
}

/** nn.MarginRankingLoss (margin 0, reduction): forward(x1, x2, y), as marginRankingLoss. */
export class MarginRankingLoss extends Loss3<MarginRankingLossOptions> {
  constructor(options?: MarginRankingLossOptions) {
    super(options, ['margin', 'reduction']);
  }
  forward(x1: Tensor, x2: Tensor, y: Tensor): Tensor {
    return marginRankingLoss(x1, x2, y, this.options);
  }
}

/** nn.HingeEmbeddingLoss (margin 1, reduction): forward(input, target), as hingeEmbeddingLoss. */
export class HingeEmbeddingLoss extends Loss<HingeEmbeddingLossOptions> {
  constructor(options?: HingeEmbeddingLossOptions) {
    super(options, ['margin', 'reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return hingeEmbeddingLoss(input, target, this.options);
  }
}

/** nn.SoftMarginLoss (reduction): log(1 + exp(−y·x)), as softMarginLoss. */
export class SoftMarginLoss extends Loss {
  constructor(options?: { reduction?: Reduction }) {
    super(options, ['reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return softMarginLoss(input, target, this.options);
  }
}

/** nn.CosineEmbeddingLoss (margin 0, reduction): forward(x1, x2, y), as cosineEmbeddingLoss. */
export class CosineEmbeddingLoss extends Loss3<CosineEmbeddingLossOptions> {
  constructor(options?: CosineEmbeddingLossOptions) {
    super(options, ['margin', 'reduction']);
  }
  forward(x1: Tensor, x2: Tensor, y: Tensor): Tensor {
    return cosineEmbeddingLoss(x1, x2, y, this.options);
  }
}

/** nn.TripletMarginLoss (margin 1, p 2, eps 1e-6, swap false, reduction): forward(anchor, positive, negative), as tripletMarginLoss. */
export class TripletMarginLoss extends Loss3<TripletMarginLossOptions> {
  constructor(options?: TripletMarginLossOptions) {
    super(options, ['margin', 'p', 'eps', 'swap', 'reduction']);
  }
  forward(anchor: Tensor, positive: Tensor, negative: Tensor): Tensor {
    return tripletMarginLoss(anchor, positive, negative, this.options);
  }
}

/** nn.MultiMarginLoss (p 1, margin 1, weight, reduction): the multi-class hinge over [N, C] and int32 labels, as multiMarginLoss; weight is a buffer. */
export class MultiMarginLoss extends Loss<MultiMarginLossOptions> {
  constructor(options?: MultiMarginLossOptions) {
    super(options, ['p', 'margin', 'weight', 'reduction'], ['weight']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return multiMarginLoss(input, target, this.withBuffers());
  }
}

/** nn.MultiLabelSoftMarginLoss (weight, reduction): as multilabelSoftMarginLoss; weight is a buffer. */
export class MultiLabelSoftMarginLoss extends Loss<MultilabelSoftMarginLossOptions> {
  constructor(options?: MultilabelSoftMarginLossOptions) {
    super(options, ['weight', 'reduction'], ['weight']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return multilabelSoftMarginLoss(input, target, this.withBuffers());
  }
}

/** nn.MultiLabelMarginLoss (reduction): the multi-label hinge over [N, C] and int32 class lists padded with −1, as multilabelMarginLoss. */
export class MultiLabelMarginLoss extends Loss {
  constructor(options?: { reduction?: Reduction }) {
    super(options, ['reduction']);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return multilabelMarginLoss(input, target, this.options);
  }
}

/**
 * nn.CTCLoss (blank, reduction, zeroInfinity): forward(logProbs, targets,
 * inputLengths, targetLengths), as ctcLoss.
 */
export class CTCLoss extends Module {
  readonly options: Readonly<CtcLossOptions>;
  constructor(options?: CtcLossOptions) {
    super();
    this.options = { ...checkOptions<CtcLossOptions>(options, 'CTCLoss', ['blank', 'reduction', 'zeroInfinity']) };
    checkLossOptions(this.options as Record<string, unknown>, 'CTCLoss');
  }
  forward(logProbs: Tensor, targets: Parameters<typeof ctcLoss>[1], inputLengths: Parameters<typeof ctcLoss>[2], targetLengths: Parameters<typeof ctcLoss>[3]): Tensor {
    return ctcLoss(logProbs, targets, inputLengths, targetLengths, this.options);
  }
}
