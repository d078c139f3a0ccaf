/**
 * Losses beside crossEntropy and mseLoss, as torch.nn.functional's: L1,
 * smooth L1, Huber, binary cross-entropy (on probabilities and on logits),
 * the negative log-likelihood, the Kullback–Leibler divergence, the
 * Gaussian and Poisson negative log-likelihoods and the margin and
 * embedding losses (ranking, hinge embedding, soft margin, cosine
 * embedding, triplet, multi-class and multi-label margins), built
 * from the elementwise ops so their gradients come from autograd. Like
 * mseLoss, input and target must have the same shape (PyTorch broadcasts
 * them with a warning).
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { isGradEnabled, record } from '../autograd/graph';
import { native } from '../native';
import { arange, checkTensor, full, tensor, Tensor } from '../tensor';
import { checkBoolean, checkFinite, checkInt32, checkOptions, describe, shapeText } from '../validate';
import { abs, add, cast, clamp, concat, div, equal, exp, greater, less, log, log1p, max, maximum, mean, min, minimum, mul, neg, notEqual, readNumbers, reshape, slice, sqrt, square, stack, sub, sum, where, wrap } from './core';
import { pairwiseDistanceUnchecked } from './extra';
import { gather, indexSelect, scatterAdd } from './indexing';
import { any, logSumExp } from './reductions';
import { unstack } from './shape';
import { checkReduction, checkSameShape, logSoftmax, type Reduction } from './nn';

/** The loss elements reduced as asked; tidy keeps only the result. */
function reduce(elements: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? elements : reduction === 'sum' ? sum(elements) : mean(elements);
}

function pair(op: string, input: Tensor, target: Tensor): void {
  checkTensor(input, op, 'input');
  checkTensor(target, op, 'target');
  checkSameShape(input, target, op);
  if (input.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: input is int32; expected float32 or float64`);
  if (input.dtype !== target.dtype) fail('DTYPE_MISMATCH', `${op}: input is ${input.dtype} and target ${target.dtype}; expected one dtype (cast the target with .cast('${input.dtype}'))`);
}

/** An optional per-element weight: a tensor of input's dtype that broadcasts to input's shape. */
function checkWeight(op: string, what: string, w: unknown, input: Tensor): Tensor | undefined {
  if (w === undefined || w === null) return undefined;
  const t = checkTensor(w, op, what);
  if (t.dtype !== input.dtype) fail('DTYPE_MISMATCH', `${op}: ${what} is ${t.dtype} and input ${input.dtype}; expected one dtype`);
  if (t.device !== input.device) fail('DEVICE_MISMATCH', `${op}: ${what} is on ${t.device} and input on ${input.device}; move it with .to('${input.device}')`);
  const lead = input.rank - t.rank;
  if (lead < 0 || t.shape.some((d, i) => d !== 1 && d !== input.shape[lead + i]))
    fail('SHAPE_MISMATCH', `${op}: ${what} has shape ${shapeText(t.shape)}, which does not broadcast to the input's ${shapeText(input.shape)}`);
  return t;
}

/** Mean absolute error (torch's l1_loss); the gradient at a zero difference is 0. */
export function l1Loss(input: Tensor, target: Tensor, options?: { reduction?: Reduction }): Tensor {
  const o = checkOptions<{ reduction: Reduction }>(options, 'l1Loss', ['reduction']);
  pair('l1Loss', input, target);
  const reduction = checkReduction(o.reduction ?? 'mean', 'l1Loss');
  return tidy(() => reduce(abs(sub(input, target)), reduction));
}

/**
 * torch's smooth_l1_loss: ½ d²/β where |d| < β, else |d| − ½β (d = input −
 * target; β = 1 by default; β = 0 is the L1 loss).
 */
export function smoothL1Loss(input: Tensor, target: Tensor, options?: { reduction?: Reduction; beta?: number }): Tensor {
  const op = 'smoothL1Loss';
  const o = checkOptions<{ reduction: Reduction; beta: number }>(options, op, ['reduction', 'beta']);
  pair(op, input, target);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  const beta = o.beta === undefined ? 1 : checkFinite(o.beta, op, 'beta');
  if (beta < 0) fail('INVALID_ARGUMENT', `${op}: beta must be ≥ 0; got ${beta}`);
  return tidy(() => {
    const a = abs(sub(input, target));
    if (beta === 0) return reduce(a, reduction);
    // The quadratic branch squares min(|d|, β): where it is not selected its gradient is 0, never
    // 0 · ∞ = NaN at an infinite residual.
    return reduce(where(less(a, beta), div(mul(square(minimum(a, beta)), 0.5), beta), sub(a, 0.5 * beta)), reduction);
  });
}

/** torch's huber_loss: ½ d² where |d| < δ, else δ(|d| − ½δ) (δ = 1 by default, > 0). */
export function huberLoss(input: Tensor, target: Tensor, options?: { reduction?: Reduction; delta?: number }): Tensor {
  const op = 'huberLoss';
  const o = checkOptions<{ reduction: Reduction; delta: number }>(options, op, ['reduction', 'delta']);
  pair(op, input, target);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  const delta = o.delta === undefined ? 1 : checkFinite(o.delta, op, 'delta');
  if (!(delta > 0)) fail('INVALID_ARGUMENT', `${op}: delta must be > 0; got ${delta}`);
  return tidy(() => {
    const d = sub(input, target);
    const a = abs(d);
    // As smoothL1Loss: the quadratic branch sees d clamped to [−δ, δ], finite where it is not selected.
    return reduce(where(less(a, delta), mul(square(clamp(d, -delta, delta)), 0.5), mul(sub(a, 0.5 * delta), delta)), reduction);
  });
}

/**
 * log v clamped at −100 (PyTorch's BCE), with a gradient of 0, not NaN, where
 * v = 0: the log never sees the 0 (a where() swaps in 1 and then −∞).
 */
function clampedLog(v: Tensor): Tensor {
  const pos = greater(v, 0);
  return clamp(where(pos, log(where(pos, v, 1)), -Infinity), -100);
}

/**
 * Binary cross-entropy of probabilities in [0, 1] (torch's
 * binary_cross_entropy): −w (y log p + (1 − y) log(1 − p)), each log clamped
 * at −100 as PyTorch's, so p = 0 or 1 gives a finite loss. Probabilities
 * outside [0, 1] throw (checking reads two numbers back). The gradient is
 * the clamped loss's own (0 where a log is clamped; PyTorch's backward
 * ignores the clamp and gives up to 1e12 there). For logits,
 * binaryCrossEntropyWithLogits is exact where this one saturates.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options?: { weight?: Tensor; reduction?: Reduction }): Tensor {
  const op = 'binaryCrossEntropy';
  const o = checkOptions<{ weight: Tensor; reduction: Reduction }>(options, op, ['weight', 'reduction']);
  pair(op, input, target);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  const weight = checkWeight(op, 'weight', o.weight, input);
  if (input.size) {
    const [lo, hi] = tidy(() => readNumbers([min(input), max(input)]));
    if (!(lo >= 0 && hi <= 1)) fail('INVALID_ARGUMENT', `${op}: input must hold probabilities in [0, 1]; it holds ${Number.isNaN(hi) || Number.isNaN(lo) ? 'NaN' : lo < 0 ? lo : hi} (for logits use binaryCrossEntropyWithLogits)`);
  }
  return tidy(() => {
    const lp = clampedLog(input);
    const lq = clampedLog(sub(1, input));
    let l = add(mul(target, neg(lp)), mul(sub(1, target), neg(lq)));
    if (weight) l = mul(l, weight);
    return reduce(l, reduction);
  });
}

/**
 * Binary cross-entropy of logits (torch's binary_cross_entropy_with_logits):
 * (1 − y) x + (1 + (pw − 1) y) log(1 + e^−x), which stays exact for large |x|.
 * `weight` scales each element; `posWeight` (broadcast along the last axis,
 * one per class) weighs the positive term.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options?: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction }): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  const o = checkOptions<{ weight: Tensor; posWeight: Tensor; reduction: Reduction }>(options, op, ['weight', 'posWeight', 'reduction']);
  pair(op, input, target);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  const weight = checkWeight(op, 'weight', o.weight, input);
  const posWeight = checkWeight(op, 'posWeight', o.posWeight, input);
  return tidy(() => {
    // log(1 + e^−x) = max(−x, 0) + log1p(e^−|x|): exact everywhere (softplus' linear tail past 20
    // is not), no exponent above 0, and the branches chosen by where() so that the gradient at
    // x = 0 (a zero-initialised output layer) is σ(0) − 1, not the 0 of relu's and abs' kinks.
    const negative = less(input, 0);
    const sp = add(where(negative, neg(input), 0), log1p(exp(where(negative, input, neg(input)))));
    const coeff = posWeight ? add(1, mul(sub(posWeight, 1), target)) : null;
    let l = add(mul(sub(1, target), input), coeff ? mul(coeff, sp) : sp);
    if (weight) l = mul(l, weight);
    return reduce(l, reduction);
  });
}

interface NllOptions {
  weight?: Tensor;
  ignoreIndex?: number;
  reduction?: Reduction;
}

function checkClassWeight(op: string, w: unknown, C: number, input: Tensor): Tensor | undefined {
  if (w === undefined || w === null) return undefined;
  const t = checkTensor(w, op, 'weight');
  if (t.rank !== 1 || t.shape[0] !== C) fail('SHAPE_MISMATCH', `${op}: weight must be [C] = [${C}], one per class; got shape ${shapeText(t.shape)}`);
  if (t.dtype !== input.dtype) fail('DTYPE_MISMATCH', `${op}: weight is ${t.dtype} and input ${input.dtype}; expected one dtype`);
  if (t.device !== input.device) fail('DEVICE_MISMATCH', `${op}: weight is on ${t.device} and input on ${input.device}`);
  return t;
}

/**
 * The per-row pieces of a (weighted) negative log-likelihood over classes on
 * the last axis: the picked log-probabilities' losses −w[y] logp[y] (0 on
 * ignored rows), the row weights w[y] (0 on ignored rows) and the 0/1 mask of
 * rows kept, in logp's dtype.
 */
function nllParts(op: string, logp: Tensor, labels: Tensor, weight: Tensor | undefined, ignoreIndex: number): { loss: Tensor; w: Tensor; keep: Tensor; kept: Tensor } {
  const C = logp.shape[logp.rank - 1];
  const keep = sub(1, equal(labels, ignoreIndex)); // int32 0/1
  const safe = where(keep, labels, 0);
  const flatSafe = reshape(safe, [safe.size]);
  let picked: Tensor;
  try {
    picked = reshape(gather(logp, -1, reshape(safe, [...labels.shape, 1])), labels.shape);
  } catch (err) {
    // The gather names an index; say it as the label it is.
    const bad = Array.from(flatSafe.dataSync()).find((v) => v < 0 || v >= C);
    if (bad === undefined) throw err;
    fail('INVALID_ARGUMENT', `${op}: label ${bad} is outside [0, ${C}) (and is not ignoreIndex ${ignoreIndex})`);
  }
  const keepF = keep.cast(logp.dtype);
  const w = weight ? mul(reshape(indexSelect(weight, 0, flatSafe), labels.shape), keepF) : keepF;
  // An ignored row reads class 0, which may be −∞ (a masked class): selected away, not multiplied by 0
  // (−∞ · 0 is NaN); its gradient is 0 either way. 0 − (not neg) gives it +0, as PyTorch.
  const loss = sub(0, mul(where(keep, picked, 0), w));
  return { loss, w, keep: keepF, kept: keep };
}

/**
 * total / denom. When every row is ignored (keep all 0), NaN with a zero
 * gradient, as PyTorch's (and the fused crossEntropy's): the division never
 * sees the 0, whose 1/0 would make every gradient NaN. Rows kept whose class
 * weights sum to 0 divide by that 0: NaN, and NaN gradients, as PyTorch's.
 */
function weightedMean(total: Tensor, denom: Tensor, keep: Tensor): Tensor {
  const none = equal(sum(keep), 0);
  return where(none, NaN, div(total, where(none, 1, denom)));
}

function checkNllInputs(op: string, input: Tensor, labels: Tensor, ignoreIndex: unknown): number {
  checkTensor(input, op, 'input');
  checkTensor(labels, op, 'labels');
  if (input.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: input is int32; expected float32 or float64`);
  if (labels.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: labels must be int32 class indices; got ${labels.dtype}`);
  if (input.rank < 1) fail('SHAPE_MISMATCH', `${op}: input must be [..., C] (classes on the last axis); got a 0-d tensor`);
  const lead = input.shape.slice(0, -1);
  checkClassAxis(op, input, labels);
  if (labels.rank !== lead.length || labels.shape.some((d, i) => d !== lead[i]))
    fail('SHAPE_MISMATCH', `${op}: labels must have shape ${shapeText(lead)} for input ${shapeText(input.shape)} (classes on the last axis); got ${shapeText(labels.shape)}`);
  if (labels.device !== input.device) fail('DEVICE_MISMATCH', `${op}: labels are on ${labels.device} and input on ${input.device}`);
  return ignoreIndex === undefined ? -100 : checkInt32(ignoreIndex, op, 'ignoreIndex', 'labels are int32');
}

/**
 * torch's nll_loss over log-probabilities [..., C] (classes on the last axis,
 * as crossEntropy here) and int32 labels [...]: −weight[y] · input[y]; rows
 * labelled ignoreIndex (default −100) count in neither the sum nor the mean's
 * denominator, which is Σ weight[y] over the other rows (PyTorch's weighted
 * mean). A label outside [0, C) throws.
 */
export function nllLoss(input: Tensor, labels: Tensor, options?: NllOptions): Tensor {
  const op = 'nllLoss';
  const o = checkOptions<NllOptions>(options, op, ['weight', 'ignoreIndex', 'reduction']);
  const ignoreIndex = checkNllInputs(op, input, labels, o.ignoreIndex);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  const weight = checkClassWeight(op, o.weight, input.shape[input.rank - 1], input);
  return tidy(() => {
    const { loss, w, keep } = nllParts(op, input, labels, weight, ignoreIndex);
    if (reduction === 'none') return loss;
    if (reduction === 'sum') return sum(loss);
    return weightedMean(sum(loss), sum(w), keep);
  });
}

/**
 * crossEntropy with a class `weight` [C] and/or `labelSmoothing` ε
 * (torch.nn.functional.cross_entropy's weight and label_smoothing): the
 * target is (1 − ε) one-hot + ε/C uniform; the weighted mean divides by
 * Σ weight[y] over rows not ignored, for both terms, as PyTorch does.
 * @internal Called by crossEntropy when either option is given.
 */
export function weightedCrossEntropy(logits: Tensor, labels: Tensor, weight: unknown, labelSmoothing: number, ignoreIndex: number, reduction: Reduction): Tensor {
  const op = 'crossEntropy';
  checkNllInputs(op, logits, labels, ignoreIndex);
  const C = logits.shape[logits.rank - 1];
  const w = checkClassWeight(op, weight, C, logits);
  return tidy(() => {
    const logp = logSoftmax(logits, -1);
    const { loss, w: rowW, keep, kept } = nllParts(op, logp, labels, w, ignoreIndex);
    let smooth: Tensor | null = null;
    if (labelSmoothing > 0) {
      // −Σ_c w_c logp_c / C on each row kept (an ignored row's logp, −∞ included, is selected away).
      const keptLogp = where(reshape(kept, [...kept.shape, 1]), logp, 0);
      smooth = neg(div(sum(w ? mul(keptLogp, w) : keptLogp, -1), C));
    }
    const mix = (a: Tensor, b: Tensor | null) => (b ? add(mul(a, 1 - labelSmoothing), mul(b, labelSmoothing)) : a);
    if (reduction === 'none') return mix(loss, smooth);
    if (reduction === 'sum') return mix(sum(loss), smooth && sum(smooth));
    const denom = sum(rowW);
    return mix(weightedMean(sum(loss), denom, keep), smooth && weightedMean(sum(smooth), denom, keep));
  });
}

/**
 * crossEntropy against class probabilities (a float target of the logits'
 * shape, PyTorch ≥ 1.10's soft targets): −Σ_c weight_c · t_c · log softmax(x)_c
 * per row, t mixed with the uniform distribution by labelSmoothing; 'mean'
 * divides by the number of rows (not by the weights, as PyTorch's).
 * Gradients flow to the logits and to the target.
 */
export function softCrossEntropy(logits: Tensor, target: Tensor, weight: unknown, labelSmoothing: number, ignoreIndex: number | undefined, reduction: Reduction): Tensor {
  const op = 'crossEntropy';
  if (logits.rank === 0) fail('SHAPE_MISMATCH', `${op}: logits must have a class dim; got a scalar`);
  if (logits.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: logits are int32; expected float32 or float64`);
  if (target.dtype !== logits.dtype)
    fail('DTYPE_MISMATCH', `${op}: a target of the logits' shape ${shapeText(logits.shape)} holds class probabilities, in the logits' dtype ${logits.dtype}; got ${target.dtype} (class indices are int32 of shape ${shapeText(logits.shape.slice(0, -1))})`);
  if (target.device !== logits.device) fail('DEVICE_MISMATCH', `${op}: target is on ${target.device} and logits on ${logits.device}`);
  // As PyTorch's: a negative ignoreIndex (the default −100 among them) names no class and is ignored; a class is refused.
  if (ignoreIndex !== undefined && ignoreIndex >= 0)
    fail('INVALID_ARGUMENT', `${op}: ignoreIndex ${ignoreIndex} applies to int32 class labels; this target holds class probabilities (the logits' shape ${shapeText(logits.shape)})`);
  const C = logits.shape[logits.rank - 1];
  const w = checkClassWeight(op, weight, C, logits);
  return tidy(() => {
    const logp = logSoftmax(logits, -1);
    const t = labelSmoothing > 0 ? add(mul(target, 1 - labelSmoothing), labelSmoothing / C) : target;
    const terms = mul(logp, t);
    const loss = neg(sum(w ? mul(terms, w) : terms, -1));
    if (reduction === 'none') return loss;
    if (reduction === 'sum') return sum(loss);
    return mean(loss);
  });
}

/**
 * Labels laid out as PyTorch's [N, C, d…] logits want them ([N, d…]) where
 * antler's [..., C] want others: the error says how to move the classes last.
 */
export function checkClassAxis(op: string, logits: Tensor, labels: Tensor): void {
  const lead = logits.shape.slice(0, -1);
  if (labels.rank === lead.length && labels.shape.every((d, i) => d === lead[i])) return;
  const torchRows = [logits.shape[0], ...logits.shape.slice(2)];
  if (logits.rank >= 3 && labels.rank === torchRows.length && labels.shape.every((d, i) => d === torchRows[i])) {
    const perm = [0, ...Array.from({ length: logits.rank - 2 }, (_, i) => i + 2), 1];
    fail('SHAPE_MISMATCH', `${op}: labels have shape ${shapeText(labels.shape)}, which fits PyTorch's [N, C, …] layout of logits ${shapeText(logits.shape)}; antler's classes are on the last axis (logits [..., C], labels [...]): move them there with logits.permute([${perm.join(', ')}]), or pass logits of shape ${shapeText([...labels.shape, logits.shape[1]])}`);
  }
}

// ---------------------------------------------------------------- CTC

/** Options of {@link ctcLoss}. */
export interface CtcLossOptions {
  /** The blank class (default 0). */
  blank?: number;
  /** 'mean' (default: each sample's loss divided by its target length, then the batch mean, as PyTorch), 'sum' or 'none' ([N]). */
  reduction?: Reduction;
  /** Infinite losses (no alignment fits: the input is too short for its target) and their gradients become 0. */
  zeroInfinity?: boolean;
}

/** Integers from a tensor or an array (of arrays), flattened (rows of a nested array padded with 0, their lengths in rows). */
function readInts(v: unknown, op: string, what: string): { values: ArrayLike<number>; shape: number[]; rows?: number[] } {
  if (v instanceof Tensor) {
    const t = checkTensor(v, op, what);
    if (t.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: ${what} must be int32; got ${t.dtype}`);
    return { values: t.dataSync(), shape: t.shape.slice() };
  }
  if (typeof v === 'number') return { values: [v], shape: [] };
  if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
    const list = v as ArrayLike<unknown>;
    if (list.length > 0 && Array.isArray(list[0])) {
      // Rows of different lengths: padded by the caller's targetLengths, so the width is the longest row.
      const rows = Array.from(list, (r, i) => {
        if (!Array.isArray(r)) fail('INVALID_ARGUMENT', `${op}: ${what}[${i}] is ${describe(r)}; expected an array of class indices like ${what}[0]`);
        return r as number[];
      });
      const S = rows.reduce((m, r) => Math.max(m, r.length), 0);
      const flat = new Array<number>(rows.length * S).fill(0);
      rows.forEach((r, i) => r.forEach((x, j) => (flat[i * S + j] = x)));
      return { values: flat, shape: [rows.length, S], rows: rows.map((r) => r.length) };
    }
    return { values: list as ArrayLike<number>, shape: [list.length] };
  }
  fail('INVALID_ARGUMENT', `${op}: ${what} must be an int32 Tensor or an array of integers; got ${describe(v)}`);
}

/**
 * The connectionist temporal classification loss (torch.nn.functional.ctc_loss):
 * the negative log-likelihood of each target sequence summed over every
 * alignment of it (with blanks and repeats) to the input frames, by the
 * forward–backward recursion in log space, in one native pass per direction
 * (CPU and CUDA).
 *
 * - `logProbs`: [T, N, C] log-probabilities (logSoftmax over C), or [T, C] unbatched.
 * - `targets`: [N, S] padded (int32 Tensor or rows of numbers), or the
 *   targets of all samples concatenated, 1-D (torch's two layouts); class
 *   indices in [0, C), never `blank`.
 * - `inputLengths`: each sample's frames, in [0, T]; `targetLengths`: each
 *   target's length (≤ S for padded targets; summing to the length of
 *   concatenated ones). Tensors (int32) or arrays of numbers, or one number
 *   for every sample.
 *
 * Returns [N] with reduction 'none' (a scalar for unbatched input), else a
 * scalar. A target that no alignment fits (too few frames) has loss ∞ and a
 * NaN gradient, as PyTorch's; `zeroInfinity` makes both 0. The gradient is
 * the true derivative with respect to logProbs (PyTorch's adds exp(logProbs)
 * to it, which cancels once it passes back through logSoftmax: the gradient
 * of the logits is the same). A graph-building backward (createGraph, an
 * exact hvp) computes the same gradient from α and β recursions in recorded
 * ops, one step per frame, so it is differentiable again (about ten times
 * the native pass: AdaHessian's 'auto' uses differences through it).
 */
export function ctcLoss(logProbs: Tensor, targets: Tensor | ArrayLike<number> | readonly (readonly number[])[], inputLengths: Tensor | ArrayLike<number> | number, targetLengths: Tensor | ArrayLike<number> | number, options?: CtcLossOptions): Tensor {
  const op = 'ctcLoss';
  checkTensor(logProbs, op, 'logProbs');
  const o = checkOptions<CtcLossOptions>(options, op, ['blank', 'reduction', 'zeroInfinity']);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  const zeroInfinity = o.zeroInfinity === undefined ? false : checkBoolean(o.zeroInfinity, op, 'zeroInfinity');
  if (logProbs.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: logProbs is int32; expected float32 or float64 log-probabilities`);
  if (logProbs.rank !== 2 && logProbs.rank !== 3) fail('SHAPE_MISMATCH', `${op}: logProbs has shape ${shapeText(logProbs.shape)}; expected [T, N, C] (or unbatched [T, C])`);
  const unbatched = logProbs.rank === 2;
  const [T, N, C] = unbatched ? [logProbs.shape[0], 1, logProbs.shape[1]] : logProbs.shape;
  if (T === 0) fail('SHAPE_MISMATCH', `${op}: logProbs has shape ${shapeText(logProbs.shape)}, with no time steps`);
  const blank = o.blank === undefined ? 0 : o.blank;
  if (typeof blank !== 'number' || !Number.isInteger(blank) || blank < 0 || blank >= C) fail('INVALID_ARGUMENT', `${op}: blank must be a class index in [0, ${C}); got ${describe(blank)}`);
  const lengths = (v: unknown, what: string) => {
    // One number is every sample's length (a batch of equal lengths; for unbatched input, its one length).
    if (typeof v === 'number') v = new Array<number>(N).fill(v);
    const r = readInts(v, op, what);
    if (r.shape.length > 1) fail('SHAPE_MISMATCH', `${op}: ${what} has shape ${shapeText(r.shape)}; expected one length per sample, [${N}]`);
    if (r.values.length !== N) fail('SHAPE_MISMATCH', `${op}: ${what} has ${r.values.length} entries; the batch has ${N}`);
    return Array.from(r.values);
  };
  const inLens = lengths(inputLengths, 'inputLengths'), tgtLens = lengths(targetLengths, 'targetLengths');
  inLens.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 0 || n > T) fail('INVALID_ARGUMENT', `${op}: inputLengths[${i}] is ${describe(n)}; expected an integer in [0, ${T}] (logProbs has ${T} steps)`);
  });
  const tg = readInts(targets, op, 'targets');
  // Padded [N, S] (or [S] for unbatched input), else concatenated.
  const padded = unbatched ? tg.shape.length === 1 : tg.shape.length === 2;
  if (padded && !unbatched && tg.shape[0] !== N) fail('SHAPE_MISMATCH', `${op}: targets have shape ${shapeText(tg.shape)}; expected [${N}, S] (one row per sample) or the targets concatenated, 1-D`);
  if (!padded && (unbatched || tg.shape.length !== 1)) fail('SHAPE_MISMATCH', `${op}: targets have shape ${shapeText(tg.shape)}; expected ${unbatched ? '[S] for unbatched logProbs' : `[${N}, S] or 1-D (concatenated)`}`);
  const S = padded ? tg.shape[tg.shape.length - 1] : tgtLens.reduce((m, n) => (Number.isInteger(n) ? Math.max(m, n) : m), 0);
  tgtLens.forEach((n, i) => {
    if (!Number.isInteger(n) || n < 0 || (padded && n > S))
      fail('INVALID_ARGUMENT', `${op}: targetLengths[${i}] is ${describe(n)}; expected an integer ≥ 0${padded ? `, at most ${S} (the targets' columns)` : ''}`);
    if (tg.rows && n > tg.rows[i]) fail('INVALID_ARGUMENT', `${op}: targetLengths[${i}] is ${n}, but targets[${i}] has only ${tg.rows[i]} label${tg.rows[i] === 1 ? '' : 's'}`);
  });
  if (!padded) {
    const total = tgtLens.reduce((a, b) => a + b, 0);
    if (total !== tg.values.length) fail('SHAPE_MISMATCH', `${op}: targetLengths sum to ${total}, but the concatenated targets have ${tg.values.length} entries`);
  }
  // The padded int32 targets [N, S], every label checked.
  const rows = new Int32Array(N * S);
  let at = 0;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < tgtLens[n]; j++) {
      const v = padded ? tg.values[n * S + j] : tg.values[at + j];
      if (!Number.isInteger(v) || v < 0 || v >= C || v === blank)
        fail('INVALID_ARGUMENT', `${op}: target ${j} of sample ${n} is ${describe(v)}; expected a class index in [0, ${C}) other than blank (${blank})`);
      rows[n * S + j] = v;
    }
    at += tgtLens[n];
  }
  return tidy(() => {
    const device = logProbs.device;
    const lp = unbatched ? reshape(logProbs, [T, 1, C]) : logProbs;
    const int = (v: ArrayLike<number>, shape: number[]) => tensor(Int32Array.from(v), shape, { dtype: 'int32', device });
    const targetsT = int(rows, [N, S]), inT = int(inLens, [N]), tgtT = int(tgtLens, [N]);
    const [nllH, alphaH] = native().ctcLoss(lp.handle, targetsT.handle, inT.handle, tgtT.handle, blank);
    const raw = wrap(nllH), logAlpha = wrap(alphaH);
    // Backward reads the forward's α (saved) and walks β back in one native pass.
    // In a graph-building pass (createGraph, exact H·v) the same gradient comes from recorded ops instead.
    let nll = record(raw, op, [lp], (gy, [x, tgs, il, tl, nl, la]) =>
      [isGradEnabled()
        ? ctcGradientOps(x, gy, nl, { rows, S, inLens, tgtLens, blank, zeroInfinity })
        : wrap(native().ctcLossBackward(gy.handle, x.handle, tgs.handle, il.handle, tl.handle, nl.handle, la.handle, blank, zeroInfinity))],
    [lp, targetsT, inT, tgtT, raw, logAlpha], true);
    // That differentiable backward is one recorded step per frame each way (~10× the native pass at T 100):
    // AdaHessian's 'auto' takes differences through it (Node.costly).
    if (nll.gradFn && T > 1) nll.gradFn.costly = true;
    if (zeroInfinity) nll = where(equal(nll, Infinity), 0, nll);
    if (reduction === 'none') return unbatched ? reshape(nll, []) : nll;
    if (reduction === 'sum') return sum(nll);
    return mean(div(nll, maximum(cast(tgtT, logProbs.dtype), 1)));
  });
}

/** The targets of a CTC loss as ctcLoss checked them: padded int32 rows [N, S] and the lengths. */
interface CtcPlan {
  rows: Int32Array;
  S: number;
  inLens: number[];
  tgtLens: number[];
  blank: number;
  zeroInfinity: boolean;
}

/**
 * ctcLoss's gradient with respect to logProbs [T, N, C] (gy the gradient of
 * the per-sample losses [N]) as recorded ops, so that it is differentiable
 * again: α and β by their recursions in log space over the extended labels
 * (blank, l₁, blank, …, blank), one step per frame on [N, 2S + 1], then
 * ∂nll/∂lp_t(c) = −Σ_{s: l′_s = c} exp(α_t(s) + β_t(s) − lp_t(c) − log p).
 * Impossible states, and log-probabilities of −∞, hold a large finite
 * negative rather than −∞, so that no derivative of the log-sum-exps meets
 * −∞ − (−∞). Samples whose loss is
 * infinite (nll, the op's own output, read once) get NaN on their steps, or 0
 * with zeroInfinity, as the native backward.
 */
function ctcGradientOps(lp: Tensor, gy: Tensor, nll: Tensor, plan: CtcPlan): Tensor {
  const { rows, S, inLens, tgtLens, blank, zeroInfinity } = plan;
  const [T, N, C] = lp.shape;
  const W = 2 * S + 1;
  const NEG = -1e30;
  const infinite = Array.from(nll.dataSync(), (v) => v === Infinity);
  // The extended labels and which of their states exist, may be entered by a skip, or end an alignment.
  const ext = new Int32Array(N * W).fill(blank);
  const valid = new Float64Array(N * W), skip = new Float64Array(N * W), skipNext = new Float64Array(N * W), last = new Float64Array(N * W);
  for (let n = 0; n < N; n++) {
    const L = tgtLens[n], o = n * W;
    for (let j = 0; j < L; j++) ext[o + 2 * j + 1] = rows[n * S + j];
    for (let s = 0; s <= 2 * L; s++) valid[o + s] = 1;
    for (let s = 3; s < 2 * L; s += 2) if (ext[o + s] !== ext[o + s - 2]) skip[o + s] = skipNext[o + s - 2] = 1;
    last[o + 2 * L] = 1;
    if (L > 0) last[o + 2 * L - 1] = 1;
  }
  const opts = { dtype: lp.dtype, device: lp.device };
  const mask = (v: ArrayLike<number>, shape: number[]) => tensor(Float64Array.from(v), shape, opts);
  // Per-frame, per-sample masks, built once as [T, N, 1] and split by frame (one upload each, not one a frame).
  const byFrame = (f: (t: number, n: number) => boolean) =>
    unstack(mask(Array.from({ length: T * N }, (_, i) => (f(Math.floor(i / N), i % N) ? 1 : 0)), [T, N, 1]), 0);
  const running = byFrame((t, n) => t < inLens[n]);
  const lastFrame = byFrame((t, n) => t === inLens[n] - 1);
  const beforeLast = byFrame((t, n) => t < inLens[n] - 1);
  const counted = byFrame((t, n) => t < inLens[n] && !infinite[n]);
  const validT = mask(valid, [N, W]), skipT = mask(skip, [N, W]), skipNextT = mask(skipNext, [N, W]), lastT = mask(last, [N, W]);
  const index = tensor(Int32Array.from({ length: T * N * W }, (_, i) => ext[i % (N * W)]), [T, N, W], { dtype: 'int32', device: lp.device });
  // A log-probability of −∞ (logits masked with −∞) is NEG too: α + β − e at its state would be
  // (−∞) − (−∞) = NaN, where the native backward gives the true 0 there (maximum passes lp's gradient
  // wherever lp is above NEG, which is everywhere it is finite).
  const e = unstack(maximum(gather(lp, 2, index), NEG), 0);
  const negBlocks = new Map<number, Tensor>();
  const negs = (k: number) => {
    let t = negBlocks.get(k);
    if (!t) negBlocks.set(k, (t = full([N, k], NEG, opts)));
    return t;
  };
  const lse3 = (a: Tensor, b: Tensor, c: Tensor) => logSumExp(stack([a, b, c], 2), 2);
  // s − k (α's predecessors) and s + k (β's successors).
  // (All impossible when k ≥ W: the lattice of empty targets is one blank.)
  const before = (a: Tensor, k: number) => (k >= W ? negs(W) : concat([negs(k), slice(a, [0, 0], [N, W - k])], 1));
  const after = (a: Tensor, k: number) => (k >= W ? negs(W) : concat([slice(a, [0, k], [N, W - k]), negs(k)], 1));
  const alpha: Tensor[] = [where(mask(valid.map((v, i) => (v && i % W < 2 ? 1 : 0)), [N, W]), e[0], NEG)];
  for (let t = 1; t < T; t++) {
    const prev = alpha[t - 1];
    const step = where(validT, add(e[t], lse3(prev, before(prev, 1), where(skipT, before(prev, 2), NEG))), NEG);
    // A sample past its last frame keeps its α.
    alpha.push(where(running[t], step, prev));
  }
  const logp = where(mask(infinite.map((v) => (v ? 0 : 1)), [N, 1]), logSumExp(where(lastT, alpha[T - 1], NEG), 1, true), 0);
  const grads: Tensor[] = new Array<Tensor>(T);
  let beta: Tensor | null = null;
  for (let t = T - 1; t >= 0; t--) {
    const start = where(lastT, e[t], NEG);
    const step: Tensor | null = beta && where(validT, add(e[t], lse3(beta, after(beta, 1), where(skipNextT, after(beta, 2), NEG))), NEG);
    beta = where(lastFrame[t], start, step ? where(beforeLast[t], step, NEG) : NEG);
    const occupancy = exp(sub(sub(add(alpha[t], beta), e[t]), logp));
    grads[t] = where(mul(validT, counted[t]), neg(occupancy), 0);
  }
  const scale = reshape(gy, [1, N, 1]);
  const dense = scatterAdd(full([T, N, C], 0, opts), 2, index, mul(stack(grads, 0), scale));
  if (zeroInfinity || !infinite.some(Boolean)) return dense;
  const nanRows = mask(Array.from({ length: T * N }, (_, i) => (infinite[i % N] && Math.floor(i / N) < inLens[i % N] ? 1 : 0)), [T, N, 1]);
  return where(nanRows, NaN, dense);
}

/** klDiv's reductions: PyTorch's, with 'batchmean' (the sum over the batch's size, the divergence per sample). */
export type KlDivReduction = Reduction | 'batchmean';

/** @internal */
export function checkKlDivReduction(r: unknown, op: string): KlDivReduction {
  if (r !== 'mean' && r !== 'batchmean' && r !== 'sum' && r !== 'none')
    fail('INVALID_ARGUMENT', `${op}: reduction must be 'mean', 'batchmean', 'sum' or 'none'; got ${describe(r)}`);
  return r;
}

/** Options of {@link klDiv} (torch.nn.functional.kl_div's keywords). */
export interface KlDivOptions {
  /**
   * 'batchmean' (the sum divided by the size of axis 0: the mean divergence
   * per sample, KL's definition; use this one), 'sum', 'none', or 'mean' (the
   * default, as PyTorch's: divided by the number of elements, so also by the
   * number of classes; PyTorch warns about it).
   */
  reduction?: KlDivReduction;
  /** The target holds log-probabilities rather than probabilities (default false). */
  logTarget?: boolean;
}

/**
 * The Kullback–Leibler divergence loss (torch.nn.functional.kl_div): input
 * holds log-probabilities (a logSoftmax) and target probabilities, or
 * log-probabilities with logTarget. Elementwise target·(log target − input),
 * 0 where target = 0 (torch's xlogy), or exp(target)·(target − input) with
 * logTarget; then reduced. Note PyTorch's default 'mean' divides by every
 * element: 'batchmean' gives KL(target ‖ exp(input)) per sample. input and
 * target must have the same shape (no broadcasting). Gradients flow to both;
 * where target = 0 (without logTarget) the 0·log 0 term contributes nothing
 * to the target's gradient (PyTorch's gives NaN there), and a negative
 * target gives NaN, as PyTorch's.
 */
export function klDiv(input: Tensor, target: Tensor, options?: KlDivOptions): Tensor {
  const op = 'klDiv';
  const o = checkOptions<KlDivOptions>(options, op, ['reduction', 'logTarget']);
  pair(op, input, target);
  if (input.device !== target.device) fail('DEVICE_MISMATCH', `${op}: input is on ${input.device} and target on ${target.device}; expected one device`);
  const reduction = checkKlDivReduction(o.reduction ?? 'mean', op);
  const logTarget = o.logTarget === undefined ? false : checkBoolean(o.logTarget, op, 'logTarget');
  return tidy(() => {
    let l: Tensor;
    if (logTarget) l = mul(exp(target), sub(target, input));
    else {
      // xlogy(t, t) − t·input: the log never sees a 0 (1 swapped in), so t = 0 gives 0 and a finite gradient.
      const safe = where(equal(target, 0), 1, target);
      l = sub(mul(target, log(safe)), mul(target, input));
    }
    if (reduction === 'batchmean') return input.rank === 0 ? sum(l) : div(sum(l), input.shape[0]);
    return reduce(l, reduction);
  });
}

/** Options of {@link gaussianNllLoss} (torch.nn.functional.gaussian_nll_loss's keywords). */
export interface GaussianNllOptions {
  /** Add the constant ½·log(2π) (default false). */
  full?: boolean;
  /** The variance is clamped to at least eps in the loss, with its gradient passed on unclamped (default 1e-6). */
  eps?: number;
  reduction?: Reduction;
}

/**
 * The Gaussian negative log-likelihood (torch.nn.functional.gaussian_nll_loss):
 * ½·(log v + (input − target)² / v) with v = max(var, eps), + ½·log 2π with
 * `full`. `var` has input's shape (one variance per value), or input's with
 * the last axis 1, or input's without the last axis (one variance per row,
 * homoscedastic), as PyTorch's; a negative variance is refused. The clamp
 * to eps is PyTorch's: done without autograd, so var's gradient is taken at
 * the clamped value as if unclamped. input and target must have the same
 * shape (no broadcasting, as the other losses).
 */
export function gaussianNllLoss(input: Tensor, target: Tensor, variance: Tensor, options?: GaussianNllOptions): Tensor {
  const op = 'gaussianNllLoss';
  const o = checkOptions<GaussianNllOptions>(options, op, ['full', 'eps', 'reduction']);
  pair(op, input, target);
  const v = checkTensor(variance, op, 'var');
  const full = o.full === undefined ? false : checkBoolean(o.full, op, 'full');
  const eps = o.eps === undefined ? 1e-6 : checkFinite(o.eps, op, 'eps');
  if (eps < 0) fail('INVALID_ARGUMENT', `${op}: eps must be >= 0; got ${eps}`);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  for (const [what, t] of [['target', target], ['var', v]] as const)
    if (t.device !== input.device) fail('DEVICE_MISMATCH', `${op}: input is on ${input.device} and ${what} on ${t.device}; expected one device`);
  if (v.dtype !== input.dtype) fail('DTYPE_MISMATCH', `${op}: input is ${input.dtype} and var ${v.dtype}; expected one dtype`);
  const s = input.shape, vs = v.shape;
  const same = vs.length === s.length && vs.every((d, i) => d === s[i]);
  const lastOne = s.length > 0 && vs.length === s.length && vs[vs.length - 1] === 1 && vs.slice(0, -1).every((d, i) => d === s[i]);
  const dropped = s.length > 0 && vs.length === s.length - 1 && vs.every((d, i) => d === s[i]);
  if (!same && !lastOne && !dropped)
    fail(
      'SHAPE_MISMATCH',
      `${op}: var has shape ${shapeText(vs)} and input ${shapeText(s)}; expected ${shapeText(s)} (a variance per value)` +
        (s.length > 0 ? `, ${shapeText([...s.slice(0, -1), 1])} or ${shapeText(s.slice(0, -1))} (one per row)` : ''),
    );
  return tidy(() => {
    if (any(less(v, 0)).item()) fail('INVALID_ARGUMENT', `${op}: var has negative entries; variances must be >= 0`);
    const v2 = dropped ? reshape(v, [...vs, 1]) : v;
    // max(var, eps) in value; var's own gradient (PyTorch clamps a clone under no_grad).
    const vc = where(less(v2, eps), add(sub(v2, v2.detach()), eps), v2);
    let l = mul(add(log(vc), div(square(sub(input, target)), vc)), 0.5);
    if (full) l = add(l, 0.5 * Math.log(2 * Math.PI));
    return reduce(l, reduction);
  });
}

/** Options of {@link poissonNllLoss} (torch.nn.functional.poisson_nll_loss's keywords). */
export interface PoissonNllOptions {
  /** input is the log of the rate (default true): exp(input) − target·input; else input − target·log(input + eps). */
  logInput?: boolean;
  /** Add Stirling's approximation of log(target!) where target > 1 (default false). */
  full?: boolean;
  /** Keeps the log finite at a zero rate when logInput is false (default 1e-8). */
  eps?: number;
  reduction?: Reduction;
}

/**
 * The Poisson negative log-likelihood (torch.nn.functional.poisson_nll_loss)
 * of counts `target` under rates exp(input) (logInput, the default) or
 * input; with `full`, target·log target − target + ½·log(2π·target) added
 * where target > 1 (its gradient to the target is 0 elsewhere, where
 * PyTorch's is NaN at a target of 0). input and target must have the same shape.
 */
export function poissonNllLoss(input: Tensor, target: Tensor, options?: PoissonNllOptions): Tensor {
  const op = 'poissonNllLoss';
  const o = checkOptions<PoissonNllOptions>(options, op, ['logInput', 'full', 'eps', 'reduction']);
  pair(op, input, target);
  if (input.device !== target.device) fail('DEVICE_MISMATCH', `${op}: input is on ${input.device} and target on ${target.device}; expected one device`);
  const logInput = o.logInput === undefined ? true : checkBoolean(o.logInput, op, 'logInput');
  const full = o.full === undefined ? false : checkBoolean(o.full, op, 'full');
  const eps = o.eps === undefined ? 1e-8 : checkFinite(o.eps, op, 'eps');
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  return tidy(() => {
    let l = logInput ? sub(exp(input), mul(target, input)) : sub(input, mul(target, log(add(input, eps))));
    if (full) {
      // Only where target > 1 (1 swapped in elsewhere, so the logs stay finite there).
      const big = greater(target, 1);
      const t = where(big, target, 2);
      const stirling = add(sub(mul(t, log(t)), t), mul(log(mul(t, 2 * Math.PI)), 0.5));
      l = add(l, where(big, stirling, 0));
    }
    return reduce(l, reduction);
  });
}

// ---------------------------------------------------------------- margin and embedding losses

/** A float input: a Tensor of float32 or float64. */
function floatInput(op: string, what: string, t: unknown): Tensor {
  const x = checkTensor(t, op, what);
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: ${what} is int32; expected float32 or float64`);
  return x;
}

/** Each of `others` on `first`'s device; each float one of its dtype (`ints` names those that may be int32, cast by the caller). */
function sameKind(op: string, first: [string, Tensor], others: [string, Tensor][], ints: readonly string[] = []): void {
  const [fw, f] = first;
  for (const [w, t] of others) {
    if (t.device !== f.device) fail('DEVICE_MISMATCH', `${op}: ${fw} is on ${f.device} and ${w} on ${t.device}; expected one device (move it with .to('${f.device}'))`);
    if (t.dtype !== f.dtype && !(t.dtype === 'int32' && ints.includes(w)))
      fail('DTYPE_MISMATCH', `${op}: ${fw} is ${f.dtype} and ${w} ${t.dtype}; expected one dtype${ints.includes(w) ? ` (or int32 for ${w})` : ''}`);
  }
}

/** The shapes of tensors of one rank (PyTorch's rule for these losses) broadcast together; SHAPE_MISMATCH otherwise. */
function sameRankBroadcast(op: string, named: [string, Tensor][]): number[] {
  const text = named.map(([w, t]) => `${w} ${shapeText(t.shape)}`).join(', ');
  const rank = named[0][1].rank;
  if (named.some(([, t]) => t.rank !== rank)) fail('SHAPE_MISMATCH', `${op}: ${text}; expected tensors of one rank (as PyTorch), whose shapes broadcast`);
  const out = new Array<number>(rank).fill(1);
  for (const [, t] of named)
    t.shape.forEach((d, i) => {
      if (d !== 1 && out[i] !== 1 && d !== out[i]) fail('SHAPE_MISMATCH', `${op}: ${text} do not broadcast (axis ${i}: ${out[i]} and ${d})`);
      if (d !== 1) out[i] = d;
    });
  return out;
}

/** A target that may be int32: in x's dtype. */
const asFloat = (y: Tensor, like: Tensor): Tensor => (y.dtype === like.dtype ? y : cast(y, like.dtype));

/** max(z, 0) as torch's clamp_min: the gradient passes where z ≥ 0 (at z = 0 too, a tie). */
const clampMin0 = (z: Tensor): Tensor => where(less(z, 0), 0, z);

/**
 * log(1 + e^−z), exactly for any z (no exponent above 0) and with the true
 * gradient −½ at z = 0 (branches chosen by where(), not relu's or abs' kinks).
 */
function softplusNeg(z: Tensor): Tensor {
  const negative = less(z, 0);
  return add(where(negative, neg(z), 0), log1p(exp(where(negative, z, neg(z)))));
}

function checkMargin(op: string, v: unknown, dflt: number): number {
  return v === undefined || v === null ? dflt : checkFinite(v, op, 'margin');
}

/** Options of {@link marginRankingLoss} (torch.nn.functional.margin_ranking_loss's keywords). */
export interface MarginRankingLossOptions {
  /** Default 0. */
  margin?: number;
  reduction?: Reduction;
}

/**
 * torch.nn.functional.margin_ranking_loss: max(0, −y·(x1 − x2) + margin),
 * y = 1 where x1 should rank above x2 and −1 where below (any other value is
 * used as it is, as PyTorch's). x1, x2 and y have one rank (PyTorch's rule)
 * and shapes that broadcast; y is of the inputs' dtype or int32. The hinge
 * is torch's clamp_min: at a tie (−y·(x1 − x2) + margin = 0) the gradient
 * passes. Gradients flow to x1, x2 and a float y.
 */
export function marginRankingLoss(x1: Tensor, x2: Tensor, y: Tensor, options?: MarginRankingLossOptions): Tensor {
  const op = 'marginRankingLoss';
  const o = checkOptions<MarginRankingLossOptions>(options, op, ['margin', 'reduction']);
  floatInput(op, 'x1', x1);
  floatInput(op, 'x2', x2);
  checkTensor(y, op, 'y');
  sameKind(op, ['x1', x1], [['x2', x2], ['y', y]], ['y']);
  sameRankBroadcast(op, [['x1', x1], ['x2', x2], ['y', y]]);
  const margin = checkMargin(op, o.margin, 0);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  return tidy(() => reduce(clampMin0(add(mul(neg(asFloat(y, x1)), sub(x1, x2)), margin)), reduction));
}

/** Options of {@link hingeEmbeddingLoss} (torch.nn.functional.hinge_embedding_loss's keywords). */
export interface HingeEmbeddingLossOptions {
  /** Default 1. */
  margin?: number;
  reduction?: Reduction;
}

/**
 * torch.nn.functional.hinge_embedding_loss, x usually a distance: x where
 * y = 1, max(0, margin − x) where y = −1; PyTorch's formula
 * where(y ≠ 1, max(0, margin − x), 0) + where(y ≠ −1, x, 0) gives the sum of
 * both for any other y. x and y have one shape; y is of x's dtype or int32
 * (y gets no gradient: it only selects). The hinge passes its gradient at
 * margin − x = 0, as torch's clamp_min.
 */
export function hingeEmbeddingLoss(x: Tensor, y: Tensor, options?: HingeEmbeddingLossOptions): Tensor {
  const op = 'hingeEmbeddingLoss';
  const o = checkOptions<HingeEmbeddingLossOptions>(options, op, ['margin', 'reduction']);
  floatInput(op, 'input', x);
  checkTensor(y, op, 'target');
  sameKind(op, ['input', x], [['target', y]], ['target']);
  checkSameShape(x, y, op);
  const margin = checkMargin(op, o.margin, 1);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  return tidy(() => {
    const l = add(where(notEqual(y, 1), clampMin0(sub(margin, x)), 0), where(notEqual(y, -1), x, 0));
    return reduce(l, reduction);
  });
}

/**
 * torch.nn.functional.soft_margin_loss: log(1 + exp(−y·x)), the two-class
 * logistic loss with y = ±1, reduced over every element. Computed stably
 * (no exp of a positive number; PyTorch's float32 overflows to ∞ past
 * −y·x ≈ 88, this one stays −y·x). x and y have one shape; y is of x's dtype
 * or int32. Gradients flow to x, and to a float y (PyTorch's refuses a
 * y that requires grad).
 */
export function softMarginLoss(x: Tensor, y: Tensor, options?: { reduction?: Reduction }): Tensor {
  const op = 'softMarginLoss';
  const o = checkOptions<{ reduction: Reduction }>(options, op, ['reduction']);
  floatInput(op, 'input', x);
  checkTensor(y, op, 'target');
  sameKind(op, ['input', x], [['target', y]], ['target']);
  checkSameShape(x, y, op);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  return tidy(() => reduce(softplusNeg(mul(asFloat(y, x), x)), reduction));
}

/** Options of {@link cosineEmbeddingLoss} (torch.nn.functional.cosine_embedding_loss's keywords). */
export interface CosineEmbeddingLossOptions {
  /** Default 0; in [−1, 1] to be meaningful (PyTorch suggests 0 to 0.5). */
  margin?: number;
  reduction?: Reduction;
}

/**
 * torch.nn.functional.cosine_embedding_loss: with
 * cos = Σ x1·x2 / √((Σ x1² + 1e-12)(Σ x2² + 1e-12)) over the last axis
 * (PyTorch's EPSILON added to each squared norm), 1 − cos where y = 1 and
 * max(0, cos − margin) where y = −1; 0 for any other y, as PyTorch's.
 * x1 and x2 are [N, D] with y [N], or unbatched [D] with a 0-d y; y is of
 * the inputs' dtype or int32 and gets no gradient. The hinge passes its
 * gradient at cos = margin (torch's clamp_min).
 */
export function cosineEmbeddingLoss(x1: Tensor, x2: Tensor, y: Tensor, options?: CosineEmbeddingLossOptions): Tensor {
  const op = 'cosineEmbeddingLoss';
  const o = checkOptions<CosineEmbeddingLossOptions>(options, op, ['margin', 'reduction']);
  floatInput(op, 'x1', x1);
  floatInput(op, 'x2', x2);
  checkTensor(y, op, 'y');
  sameKind(op, ['x1', x1], [['x2', x2], ['y', y]], ['y']);
  if (y.rank > 1) fail('SHAPE_MISMATCH', `${op}: y has shape ${shapeText(y.shape)}; expected [N] (for x1 and x2 [N, D]) or a 0-d tensor (for [D]); PyTorch has no multi-target form`);
  const want = y.rank + 1;
  if (x1.rank !== want || x2.rank !== want || x1.shape.some((d, i) => d !== x2.shape[i]) || (want === 2 && x1.shape[0] !== y.shape[0]))
    fail('SHAPE_MISMATCH', `${op}: x1 ${shapeText(x1.shape)}, x2 ${shapeText(x2.shape)} and y ${shapeText(y.shape)}; expected x1 and x2 [N, D] with y [N], or [D] with a 0-d y`);
  const margin = checkMargin(op, o.margin, 0);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  return tidy(() => {
    const EPSILON = 1e-12;
    const dot = sum(mul(x1, x2), -1);
    const m1 = add(sum(mul(x1, x1), -1), EPSILON), m2 = add(sum(mul(x2, x2), -1), EPSILON);
    const cos = div(dot, sqrt(mul(m1, m2)));
    const l = add(where(equal(y, 1), sub(1, cos), 0), where(equal(y, -1), clampMin0(sub(cos, margin)), 0));
    return reduce(l, reduction);
  });
}

/** Options of {@link tripletMarginLoss} (torch.nn.functional.triplet_margin_loss's keywords). */
export interface TripletMarginLossOptions {
  /** Default 1. */
  margin?: number;
  /** The norm's degree (default 2): any p > 0, Infinity included. */
  p?: number;
  /** Added to each difference before its norm (default 1e-6, PyTorch's pairwise_distance). */
  eps?: number;
  /** Use min(d(a, n), d(p, n)) as the negative distance (default false; Balntas et al.'s distance swap). */
  swap?: boolean;
  reduction?: Reduction;
}

/**
 * torch.nn.functional.triplet_margin_loss: max(0, d(a, p) − d(a, n) + margin)
 * with PyTorch's pairwise_distance d(u, v) = ‖u − v + eps‖_p over the last
 * axis; with `swap`, d(a, n) is min(d(a, n), d(p, n)). anchor, positive and
 * negative are [N, D] (or unbatched [D]; any rank ≥ 1, the last axis the
 * embedding): one rank, shapes that broadcast (PyTorch's rule). 'none'
 * gives one loss per triplet. Gradients flow to all three.
 */
export function tripletMarginLoss(anchor: Tensor, positive: Tensor, negative: Tensor, options?: TripletMarginLossOptions): Tensor {
  const op = 'tripletMarginLoss';
  const o = checkOptions<TripletMarginLossOptions>(options, op, ['margin', 'p', 'eps', 'swap', 'reduction']);
  floatInput(op, 'anchor', anchor);
  floatInput(op, 'positive', positive);
  floatInput(op, 'negative', negative);
  sameKind(op, ['anchor', anchor], [['positive', positive], ['negative', negative]]);
  if (anchor.rank === 0 || positive.rank === 0 || negative.rank === 0)
    fail('SHAPE_MISMATCH', `${op}: anchor ${shapeText(anchor.shape)}, positive ${shapeText(positive.shape)} and negative ${shapeText(negative.shape)}; expected [N, D] or [D] (embeddings on the last axis), not 0-d`);
  sameRankBroadcast(op, [['anchor', anchor], ['positive', positive], ['negative', negative]]);
  const margin = checkMargin(op, o.margin, 1);
  const p = checkTripletP(op, o.p);
  const eps = o.eps === undefined || o.eps === null ? 1e-6 : checkFinite(o.eps, op, 'eps');
  if (eps < 0) fail('INVALID_ARGUMENT', `${op}: eps must be >= 0; got ${eps}`);
  const swap = o.swap === undefined || o.swap === null ? false : checkBoolean(o.swap, op, 'swap');
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  return tidy(() => {
    const dist = (u: Tensor, v: Tensor) => pairwiseDistanceUnchecked(u, v, p, eps);
    const dPos = dist(anchor, positive);
    let dNeg = dist(anchor, negative);
    if (swap) dNeg = minimum(dNeg, dist(positive, negative));
    return reduce(clampMin0(add(sub(dPos, dNeg), margin)), reduction);
  });
}

/** @internal tripletMarginLoss' p: a number > 0 (Infinity allowed). */
export function checkTripletP(op: string, v: unknown): number {
  if (v === undefined || v === null) return 2;
  if (typeof v !== 'number' || !(v > 0)) fail('INVALID_ARGUMENT', `${op}: p must be a number > 0 (Infinity allowed); got ${describe(v)}`);
  return v;
}

/** Options of {@link multiMarginLoss} (torch.nn.functional.multi_margin_loss's keywords). */
export interface MultiMarginLossOptions {
  /** 1 (default) or 2: the hinge or its square. */
  p?: number;
  /** Default 1. */
  margin?: number;
  /** A weight per class [C], of the input's dtype, applied by the target's class. */
  weight?: Tensor;
  reduction?: Reduction;
}

/** @internal multiMarginLoss' p: 1 or 2, as PyTorch's. */
export function checkMultiMarginP(op: string, v: unknown): 1 | 2 {
  if (v === undefined || v === null) return 1;
  if (v !== 1 && v !== 2) fail('INVALID_ARGUMENT', `${op}: p must be 1 or 2 (as PyTorch); got ${describe(v)}`);
  return v;
}

/**
 * torch.nn.functional.multi_margin_loss, the multi-class hinge: per sample
 * Σ_{i ≠ y} max(0, margin − x[y] + x[i])^p · weight[y] / C over x [N, C] and
 * int32 labels [N] (or unbatched x [C] with a 0-d or [1] label; 'none' then
 * has the label's shape). p is 1 or 2. As PyTorch's, a term counts only
 * where margin − x[y] + x[i] > 0 (its gradient is 0 at exactly 0). A label
 * outside [0, C) throws (checking reads the labels back). Gradients flow to
 * x, and to a weight that requires grad (PyTorch's refuses one).
 */
export function multiMarginLoss(x: Tensor, y: Tensor, options?: MultiMarginLossOptions): Tensor {
  const op = 'multiMarginLoss';
  const o = checkOptions<MultiMarginLossOptions>(options, op, ['p', 'margin', 'weight', 'reduction']);
  floatInput(op, 'input', x);
  checkTensor(y, op, 'target');
  if (y.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: target must be int32 class indices; got ${y.dtype}`);
  if (y.device !== x.device) fail('DEVICE_MISMATCH', `${op}: input is on ${x.device} and target on ${y.device}; expected one device`);
  const ok = (x.rank === 2 && y.rank === 1 && y.shape[0] === x.shape[0]) || (x.rank === 1 && y.size === 1 && y.rank <= 1);
  if (!ok || x.shape[x.rank - 1] === 0)
    fail('SHAPE_MISMATCH', `${op}: input ${shapeText(x.shape)} and target ${shapeText(y.shape)}; expected input [N, C] with target [N], or [C] (C > 0) with a 0-d or [1] target`);
  const C = x.shape[x.rank - 1];
  const p = checkMultiMarginP(op, o.p);
  const margin = checkMargin(op, o.margin, 1);
  const weight = checkClassWeight(op, o.weight, C, x);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  if (y.size) {
    const bad = Array.from(y.dataSync()).find((v) => v < 0 || v >= C);
    if (bad !== undefined) fail('INVALID_ARGUMENT', `${op}: target ${bad} is outside [0, ${C}) (the classes of input ${shapeText(x.shape)})`);
  }
  return tidy(() => {
    const N = x.rank === 2 ? x.shape[0] : 1;
    const rows = reshape(x, [N, C]);
    const labels = reshape(y, [N, 1]);
    const picked = gather(rows, 1, labels);
    const z = add(sub(margin, picked), rows);
    let h = where(greater(z, 0), z, 0);
    if (p === 2) h = mul(h, h);
    const classes = reshape(arange(0, C, 1, { dtype: 'int32', device: x.device }), [1, C]);
    h = where(equal(classes, labels), 0, h);
    if (weight) h = mul(h, reshape(indexSelect(weight, 0, reshape(y, [N])), [N, 1]));
    const l = div(sum(h, 1), C);
    return reduce(x.rank === 2 ? l : reshape(l, y.shape), reduction);
  });
}

/** Options of {@link multilabelSoftMarginLoss} (torch.nn.functional.multilabel_soft_margin_loss's keywords). */
export interface MultilabelSoftMarginLossOptions {
  /** A weight per class [C] (or any shape that broadcasts to the input's), of the input's dtype. */
  weight?: Tensor;
  reduction?: Reduction;
}

/**
 * torch.nn.functional.multilabel_soft_margin_loss: per sample
 * −Σ_c w_c (y_c log σ(x_c) + (1 − y_c) log σ(−x_c)) / C over classes on the
 * last axis (x [N, C] or [C], or any rank ≥ 1), then reduced over the
 * samples. Computed stably (log σ(x) = −log(1 + e^−x) without an exp of a
 * positive number). x and y have one shape; y (0/1, or probabilities) is of
 * x's dtype or int32. Gradients flow to x and a float y.
 */
export function multilabelSoftMarginLoss(x: Tensor, y: Tensor, options?: MultilabelSoftMarginLossOptions): Tensor {
  const op = 'multilabelSoftMarginLoss';
  const o = checkOptions<MultilabelSoftMarginLossOptions>(options, op, ['weight', 'reduction']);
  floatInput(op, 'input', x);
  checkTensor(y, op, 'target');
  sameKind(op, ['input', x], [['target', y]], ['target']);
  checkSameShape(x, y, op);
  if (x.rank === 0) fail('SHAPE_MISMATCH', `${op}: input is 0-d; expected [N, C] or [C] (classes on the last axis)`);
  const weight = checkWeight(op, 'weight', o.weight, x);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  const C = x.shape[x.rank - 1];
  return tidy(() => {
    const t = asFloat(y, x);
    let l = add(mul(t, softplusNeg(x)), mul(sub(1, t), softplusNeg(neg(x))));
    if (weight) l = mul(l, weight);
    return reduce(div(sum(l, -1), C), reduction);
  });
}

/**
 * torch.nn.functional.multilabel_margin_loss, the multi-label hinge: for
 * each sample, Σ_j Σ_{i ∉ targets} max(0, 1 − (x[y_j] − x[i])) / C, where
 * y_j runs over the target classes listed in y's row up to its first −1 (the
 * rest of the row is padding). x is [N, C] with int32 y [N, C], or
 * unbatched [C] with y [C] ('none' then gives a 0-d loss, as PyTorch's). As
 * PyTorch's, a class listed twice counts twice, a term counts only where
 * it is > 0, and an entry of y that is neither a class in [0, C) nor −1
 * throws, one after the first −1 too (checking reads y back). Entries
 * after the first −1 are otherwise ignored. Gradients flow to x.
 */
export function multilabelMarginLoss(x: Tensor, y: Tensor, options?: { reduction?: Reduction }): Tensor {
  const op = 'multilabelMarginLoss';
  const o = checkOptions<{ reduction: Reduction }>(options, op, ['reduction']);
  floatInput(op, 'input', x);
  checkTensor(y, op, 'target');
  if (y.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: target must be int32 class indices (padded with -1); got ${y.dtype}`);
  if (y.device !== x.device) fail('DEVICE_MISMATCH', `${op}: input is on ${x.device} and target on ${y.device}; expected one device`);
  if ((x.rank !== 1 && x.rank !== 2) || y.rank !== x.rank || y.shape.some((d, i) => d !== x.shape[i]) || x.shape[x.rank - 1] === 0)
    fail('SHAPE_MISMATCH', `${op}: input ${shapeText(x.shape)} and target ${shapeText(y.shape)}; expected input [N, C] or [C] (C > 0) and a target of the same shape`);
  const reduction = checkReduction(o.reduction ?? 'mean', op);
  const C = x.shape[x.rank - 1], N = x.size / C;
  const labels = y.dataSync();
  // Every entry, the padding after a row's first −1 included, must be a class or −1 (PyTorch checks the whole target).
  for (let i = 0; i < N * C; i++) {
    const c = labels[i];
    if (c < -1 || c >= C)
      fail('INVALID_ARGUMENT', `${op}: target ${c} (sample ${Math.floor(i / C)}, place ${i % C}) is outside [0, ${C}) and is not the padding -1 (as PyTorch's, every entry is checked, those after a row's first -1 too)`);
  }
  // listed[n]: the classes of row n before its first −1 (a repeat stays a repeat); K: the longest list.
  const listed: number[][] = [];
  for (let n = 0; n < N; n++) {
    const row: number[] = [];
    for (let k = 0; k < C && labels[n * C + k] !== -1; k++) row.push(labels[n * C + k]);
    listed.push(row);
  }
  const K = Math.max(1, ...listed.map((r) => r.length));
  // idx[n, k]: the k-th listed class (0 past the list, where live[n, k] = 0); other[n, i]: 1 where i is not listed.
  const idx = new Int32Array(N * K), live = new Float64Array(N * K), other = new Float64Array(N * C).fill(1);
  listed.forEach((row, n) =>
    row.forEach((c, k) => {
      idx[n * K + k] = c;
      live[n * K + k] = 1;
      other[n * C + c] = 0;
    }),
  );
  return tidy(() => {
    const opts = { dtype: x.dtype, device: x.device };
    const rows = reshape(x, [N, C]);
    // z[n, k, i] = 1 − x[n, y_k] + x[n, i] over the K listed classes only (memory N·K·C, not N·C·C), weighed by live[n, k] · other[n, i].
    const picked = gather(rows, 1, tensor(idx, [N, K], { dtype: 'int32', device: x.device }));
    const z = add(sub(1, reshape(picked, [N, K, 1])), reshape(rows, [N, 1, C]));
    const w = mul(reshape(tensor(live, [N, K], opts), [N, K, 1]), reshape(tensor(other, [N, C], opts), [N, 1, C]));
    const l = div(sum(mul(where(greater(z, 0), z, 0), w), [1, 2]), C);
    return reduce(x.rank === 2 ? l : reshape(l, []), reduction);
  });
}
