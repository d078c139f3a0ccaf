/** Functional neural-network ops with their gradients (torch.nn.functional style). */
import { isGradEnabled, noGrad, record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { arange, checkTensor, full, rand, tensor, Tensor, zeros } from '../tensor';
import { checkBoolean, checkFinite, checkInt32, checkInteger, checkOptions, describe, shapeText, numel } from '../validate';
import { abs, add, div, equal, exp, greater, greaterEqual, matmul, max, maximum, mean, mul, neg, notEqual, permute, pow, reshape, rsqrt, sqrt, square, sub, sum, where, wrap } from './core';
import { scatterAddRows } from './indexing';
import { checkClassAxis, softCrossEntropy, weightedCrossEntropy } from './losses';

function checkAxis(x: Tensor, axis: number, op: string): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis)) fail('INVALID_ARGUMENT', `${op}: axis must be an integer; got ${describe(axis)}`);
  if (axis < -Math.max(1, x.rank) || axis >= Math.max(1, x.rank)) fail('INVALID_ARGUMENT', `${op}: axis ${axis} is out of range for a tensor of rank ${x.rank}`);
  return axis;
}

/** Softmax along axis (default the last), numerically stable. */
export function softmax(x: Tensor, axis = -1): Tensor {
  checkTensor(x, 'softmax', 'x');
  checkAxis(x, axis, 'softmax');
  const out = wrap(native().softmax(x.handle, axis, false));
  return record(out, 'softmax', [x], (gy, [y]) => {
    // Recording on (a backward that builds a graph): y ⊙ (gy − Σ gy ⊙ y) in recorded ops; else the fused kernel.
    if (isGradEnabled()) return [mul(y, sub(gy, sum(mul(gy, y), axis, true)))];
    return [wrap(native().softmaxBackward(y.handle, gy.handle, axis, false))];
  }, [out], true);
}

/** softmax(−x) along axis (torch.nn.functional.softmin; default the last axis). */
export function softmin(x: Tensor, axis = -1): Tensor {
  checkTensor(x, 'softmin', 'x');
  checkAxis(x, axis, 'softmin');
  return tidy(() => softmax(neg(x), axis));
}

/** log(softmax(x)) along axis, computed without forming softmax. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkTensor(x, 'logSoftmax', 'x');
  checkAxis(x, axis, 'logSoftmax');
  const out = wrap(native().softmax(x.handle, axis, true));
  return record(out, 'logSoftmax', [x], (gy, [y]) => {
    // gy − e^y Σ gy, in recorded ops when the backward builds a graph.
    if (isGradEnabled()) return [sub(gy, mul(exp(y), sum(gy, axis, true)))];
    return [wrap(native().softmaxBackward(y.handle, gy.handle, axis, true))];
  }, [out], true);
}

export type Reduction = 'mean' | 'sum' | 'none';

/** @internal */
export function checkReduction(r: unknown, op: string): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') fail('INVALID_ARGUMENT', `${op}: reduction must be 'mean', 'sum' or 'none'; got ${describe(r)}`);
  return r;
}

/**
 * Cross-entropy of logits [..., C] (classes on the last axis; for [N, C]
 * this is torch.nn.functional.cross_entropy) against int32 class labels
 * [...]. Rows whose label is ignoreIndex (default −100) count neither in the
 * loss nor in the mean's denominator, as in PyTorch. Fused: one pass forward,
 * one backward. `weight` [C] weighs each class and `labelSmoothing` ε mixes
 * the one-hot target with the uniform one, as PyTorch's weight and
 * label_smoothing (the weighted mean divides by Σ weight[label]). A float
 * target of the logits' shape holds class probabilities instead (PyTorch's
 * soft targets: distillation, mixup): −Σ_c weight_c t_c log softmax(x)_c per
 * row, 'mean' over the rows.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, options?: { ignoreIndex?: number; reduction?: Reduction; weight?: Tensor; labelSmoothing?: number }): Tensor {
  const o = checkOptions<{ ignoreIndex: number; reduction: Reduction; weight: Tensor; labelSmoothing: number }>(options, 'crossEntropy', ['ignoreIndex', 'reduction', 'weight', 'labelSmoothing']);
  checkTensor(logits, 'crossEntropy', 'logits');
  checkTensor(labels, 'crossEntropy', 'labels');
  const ignoreIndex = o.ignoreIndex === undefined ? -100 : checkInt32(o.ignoreIndex, 'crossEntropy', 'ignoreIndex', 'labels are int32');
  const reduction = checkReduction(o.reduction ?? 'mean', 'crossEntropy');
  const smoothing = o.labelSmoothing === undefined ? 0 : checkFinite(o.labelSmoothing, 'crossEntropy', 'labelSmoothing');
  if (smoothing < 0 || smoothing > 1) fail('INVALID_ARGUMENT', `crossEntropy: labelSmoothing must be in [0, 1]; got ${smoothing}`);
  // A float target of the logits' shape holds class probabilities (PyTorch's soft targets).
  if (labels.dtype !== 'int32' && labels.rank === logits.rank && labels.shape.every((d, i) => d === logits.shape[i]))
    return softCrossEntropy(logits, labels, o.weight, smoothing, o.ignoreIndex === undefined ? undefined : ignoreIndex, reduction);
  if (labels.dtype !== 'int32')
    fail('DTYPE_MISMATCH', `crossEntropy: labels must be int32 class indices of shape ${shapeText(logits.shape.slice(0, -1))}, or class probabilities of the logits' shape ${shapeText(logits.shape)}; got ${labels.dtype} of shape ${shapeText(labels.shape)} (cast class indices with .cast('int32'))`);
  checkClassAxis('crossEntropy', logits, labels);
  // Class weights and label smoothing take the composed path (log-softmax, then the weighted NLL).
  if ((o.weight !== undefined && o.weight !== null) || smoothing > 0) return weightedCrossEntropy(logits, labels, o.weight, smoothing, ignoreIndex, reduction);
  const [lossH, validH] = native().crossEntropy(logits.handle, labels.handle, ignoreIndex);
  const perRow = wrap(lossH);
  const valid = wrap(validH);
  const node = record(perRow, 'crossEntropy', [logits], (gy, [x, y]) => {
    if (!isGradEnabled()) return [wrap(native().crossEntropyBackward(x.handle, y.handle, gy.handle, ignoreIndex))];
    // A backward that builds a graph: (softmax(x) − onehot(label)) · gy per row, 0 on ignored rows, in recorded ops.
    const C = x.shape[x.rank - 1];
    const hot = equal(reshape(y, [...y.shape, 1]), arange(0, C, 1, { dtype: 'int32', device: y.device }));
    const g = reshape(where(notEqual(y, ignoreIndex), gy, 0), [...gy.shape, 1]);
    return [mul(sub(softmax(x, -1), hot.cast(x.dtype)), g)];
  }, [logits, labels], true);
  if (reduction === 'none') {
    valid.dispose();
    return node;
  }
  const total = sum(node);
  node.dispose();
  if (reduction === 'sum') {
    valid.dispose();
    return total;
  }
  const count = sum(valid);
  valid.dispose();
  const out = div(total, count);
  total.dispose();
  count.dispose();
  return out;
}

/**
 * A regression loss compares input and target element by element, so their
 * shapes must be equal. PyTorch broadcasts them with a warning, which turns
 * [N, 1] against [N] into an [N, N] loss that trains on the wrong thing;
 * here that is an error.
 */
export function checkSameShape(input: Tensor, target: Tensor, op: string): void {
  const a = input.shape;
  const b = target.shape;
  if (a.length === b.length && a.every((d, i) => d === b[i])) return;
  const fix = input.size === target.size ? `target.reshape(${shapeText(a)})` : 'reshape()';
  fail(
    'SHAPE_MISMATCH',
    `${op}: input has shape ${shapeText(a)} and target has shape ${shapeText(b)}; they must be equal (no implicit broadcasting). ` +
      `Use ${fix} to match them, or broadcastTo() first if broadcasting was meant`,
  );
}

/** Mean squared error (PyTorch's mse_loss). input and target must have the same shape (SHAPE_MISMATCH otherwise; no broadcasting). */
export function mseLoss(input: Tensor, target: Tensor, options?: { reduction?: Reduction }): Tensor {
  const o = checkOptions<{ reduction: Reduction }>(options, 'mseLoss', ['reduction']);
  checkTensor(input, 'mseLoss', 'input');
  checkTensor(target, 'mseLoss', 'target');
  checkSameShape(input, target, 'mseLoss');
  if (input.dtype !== target.dtype) fail('DTYPE_MISMATCH', `mseLoss: input is ${input.dtype} and target ${target.dtype}; expected one dtype (cast the target with .cast('${input.dtype}'))`);
  const reduction = checkReduction(o.reduction ?? 'mean', 'mseLoss');
  const d = sub(input, target);
  const sq = mul(d, d);
  d.dispose();
  if (reduction === 'none') return sq;
  const out = reduction === 'sum' ? sum(sq) : mean(sq);
  sq.dispose();
  return out;
}

/** Options of {@link embedding} (PyTorch's F.embedding, camelCase). */
export interface EmbeddingOptions {
  /** This row gets no gradient (PyTorch's padding_idx; negative counts from the end). */
  paddingIdx?: number;
  /** Before the lookup, every row the indices use whose normType-norm exceeds maxNorm is scaled in place to maxNorm (PyTorch's max_norm; it changes the weight). */
  maxNorm?: number;
  /** The p of maxNorm's p-norm (default 2; Infinity the largest |entry|). */
  normType?: number;
  /** Divides each row's gradient by how often the indices use it in this call (PyTorch's scale_grad_by_freq). */
  scaleGradByFreq?: boolean;
}

/**
 * Rows of `weight` [num, dim] picked by int32 indices of any shape ->
 * [...indices, dim], with PyTorch's padding_idx, max_norm (an in-place
 * renormalisation of the rows used, unrecorded, as there), norm_type and
 * scale_grad_by_freq.
 */
export function embedding(indices: Tensor, weight: Tensor, options?: EmbeddingOptions): Tensor {
  const op = 'embedding';
  checkTensor(indices, op, 'indices');
  checkTensor(weight, op, 'weight');
  const o = checkOptions<EmbeddingOptions>(options, op, ['paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq']);
  const rows = weight.shape[0];
  const pad = o.paddingIdx;
  if (pad !== undefined && pad !== null && weight.rank === 2 && (typeof pad !== 'number' || !Number.isInteger(pad) || pad < -rows || pad >= rows))
    fail('INVALID_ARGUMENT', `${op}: paddingIdx must be an integer row of the ${rows}-row table, in [${-rows}, ${rows}); got ${describe(pad)}`);
  const byFreq = o.scaleGradByFreq === undefined ? false : checkBoolean(o.scaleGradByFreq, op, 'scaleGradByFreq');
  if (o.maxNorm !== undefined && o.maxNorm !== null) {
    const maxNorm = checkFinite(o.maxNorm, op, 'maxNorm');
    if (maxNorm < 0) fail('INVALID_ARGUMENT', `${op}: maxNorm must be >= 0; got ${maxNorm}`);
    const p = o.normType === undefined ? 2 : checkNumberArg(o.normType, op, 'normType');
    if (!(p > 0)) fail('INVALID_ARGUMENT', `${op}: normType must be > 0 (Infinity for the largest entry); got ${p}`);
    // The rows are renormalised in place: a float table (torch's norm rejects an integer one too).
    if (weight.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: maxNorm renormalises the weight's rows in place, so the weight must be float32 or float64; got int32`);
    renormRows(indices, weight, maxNorm, p);
  } else if (o.normType !== undefined) checkNumberArg(o.normType, op, 'normType');
  const out = wrap(native().gatherRows(weight.handle, indices.handle));
  return record(out, op, [weight], (gy, [idx]) => {
    // Recorded (gatherRows is its gradient): a second derivative goes through it.
    // Unchecked on CUDA: the forward gather checked the same indices.
    let g = scatterAddRows(gy, idx, rows, false);
    if (byFreq) {
      // Each row's gradient over the number of times the indices use it (at least 1).
      const counts = wrap(native().scatterAddRows(onesLike(idx, g.dtype).handle, idx.handle, rows, false));
      const scaled = div(g, maximum(counts, 1));
      g.dispose();
      counts.dispose();
      g = scaled;
    }
    if (pad === undefined || pad === null) return [g];
    const keepRows = new Float64Array(rows).fill(1);
    keepRows[pad < 0 ? pad + rows : pad] = 0;
    return [mul(g, tensor(keepRows, [rows, 1], { dtype: g.dtype, device: g.device }))];
    // scaleGradByFreq changes the gradient (it is no longer one of a function), so it has no second
    // derivative to take: the first pass would scale again where a second one runs through it.
  }, [indices], !byFreq);
}

function checkNumberArg(v: unknown, op: string, what: string): number {
  if (typeof v !== 'number' || Number.isNaN(v)) fail('INVALID_ARGUMENT', `${op}: ${what} must be a number; got ${describe(v)}`);
  return v;
}

/** [...idx.shape, 1] ones of dtype, on idx's device: one count per index for scatterAddRows. */
function onesLike(idx: Tensor, dtype: string): Tensor {
  return full([...idx.shape, 1], 1, { dtype: dtype as 'float32' | 'float64', device: idx.device });
}

/**
 * @internal PyTorch's embedding_renorm_: every row the indices use whose p-norm exceeds
 * maxNorm is multiplied, in place and unrecorded, by maxNorm / (norm + 1e-7).
 */
export function renormRows(indices: Tensor, weight: Tensor, maxNorm: number, p: number): void {
  noGrad(() =>
    tidy(() => {
      const rowNorms = (t: Tensor) => {
        const a = abs(t);
        return p === Infinity ? max(a, 1, true) : p === 2 ? sqrt(sum(mul(a, a), 1, true)) : pow(sum(pow(a, p), 1, true), 1 / p);
      };
      // The rows the indices use (the gather checks the indices): when none is above maxNorm (the usual case
      // once every row was renormalised) nothing is written, and the weight's version is unchanged.
      if (indices.size === 0) return;
      const flat = reshape(indices, [indices.size]);
      const looked = wrap(native().gatherRows(weight.handle, flat.handle)); // [n, dim]
      const norms = rowNorms(looked);
      const over = greater(norms, maxNorm);
      // Counted, not max()ed: a NaN row (never renormalised, as PyTorch's norm > max_norm) must not hide the others.
      if (!(sum(over).item() > 0)) return;
      // Only the used rows are written back (a repeated index writes the same row each time), each scaled
      // as the whole table was before: by maxNorm / (norm + 1e-7) above maxNorm, else by 1 (unchanged).
      const scaled = mul(looked, where(over, div(maxNorm, add(norms, 1e-7)), 1));
      native().setRows(weight.handle, flat.handle, scaled.handle);
    }),
  );
}

/**
 * A dropout mask: 1/(1−p) with probability 1−p, else 0, from the Philox
 * generator, so the same seed gives the same mask on every device. Pass it
 * back as `mask` to replay a draw exactly (e.g. across Hessian probes).
 */
export function dropoutMask(shape: readonly number[], p: number, options?: { seed?: number; dtype?: 'float32' | 'float64'; device?: string }): Tensor {
  checkFinite(p, 'dropout', 'p');
  if (p < 0 || p > 1) fail('INVALID_ARGUMENT', `dropout: p must be in [0, 1]; got ${p}`);
  if (options?.seed !== undefined) checkInteger(options.seed, 'dropout', 'seed');
  // p = 1 drops everything (PyTorch multiplies by zero and draws nothing).
  if (p === 1) return zeros([...shape], { dtype: options?.dtype, device: options?.device });
  const u = rand(shape, options);
  const keepMask = greaterEqual(u, p);
  u.dispose();
  const out = mul(keepMask, 1 / (1 - p));
  keepMask.dispose();
  return out;
}

/**
 * Inverted dropout: zeroes elements with probability p and scales the rest
 * by 1/(1−p). `training: false` (or p = 0) returns x unchanged (a view).
 * `mask` replays a mask from dropoutMask(); `seed` makes the draw repeatable.
 */
export function dropout(x: Tensor, p = 0.5, options?: { training?: boolean; seed?: number; mask?: Tensor }): Tensor {
  checkTensor(x, 'dropout', 'x');
  const o = checkOptions<{ training: boolean; seed: number; mask: Tensor }>(options, 'dropout', ['training', 'seed', 'mask']);
  checkFinite(p, 'dropout', 'p');
  if (p < 0 || p > 1) fail('INVALID_ARGUMENT', `dropout: p must be in [0, 1]; got ${p}`);
  if (o.training !== undefined) checkBoolean(o.training, 'dropout', 'training');
  const mask = o.mask ?? undefined; // null is none
  const applied = o.training !== false && (p > 0 || mask !== undefined);
  if (applied && x.dtype === 'int32') fail('DTYPE_MISMATCH', 'dropout: x is int32; expected float32 or float64 (in eval mode, or with p = 0, x passes through)');
  if (mask !== undefined) {
    checkTensor(mask, 'dropout', 'mask');
    if (mask.dtype !== x.dtype) fail('DTYPE_MISMATCH', `dropout: mask is ${mask.dtype} and x ${x.dtype}; expected x's dtype`);
    // The mask may broadcast over x (a mask shared over time), never make the result larger than x.
    const m = mask.shape, lead = x.rank - m.length;
    if (lead < 0 || m.some((d, i) => d !== 1 && d !== x.shape[lead + i]))
      fail('SHAPE_MISMATCH', `dropout: mask has shape [${m.join(', ')}]; expected x's shape [${x.shape.join(', ')}] or one that broadcasts to it`);
  }
  if (!applied) return mul(x, 1);
  if (p === 1 && !mask) return mul(x, 0);
  if (mask) return mul(x, mask);
  const drawn = dropoutMask(x.shape, p, { seed: o.seed, dtype: x.dtype === 'float64' ? 'float64' : 'float32', device: x.device });
  const out = mul(x, drawn);
  drawn.dispose();
  return out;
}

/**
 * Layer normalisation over the last axis (PyTorch's layer_norm with
 * normalized_shape = [D]), biased variance, optional affine weight and bias [D].
 */
export function layerNorm(x: Tensor, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  checkTensor(x, 'layerNorm', 'x');
  if (weight) checkTensor(weight, 'layerNorm', 'weight');
  if (bias) checkTensor(bias, 'layerNorm', 'bias');
  checkFinite(eps, 'layerNorm', 'eps');
  if (eps < 0) fail('INVALID_ARGUMENT', `layerNorm: eps must be >= 0; got ${eps}`);
  const [yH, meanH, rstdH] = native().layerNorm(x.handle, weight?.handle ?? null, bias?.handle ?? null, eps);
  const y = wrap(yH);
  const m = wrap(meanH);
  const r = wrap(rstdH);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const out = record(y, 'layerNorm', inputs, (gy, saved) => {
    const [sx, sm, sr, sw] = saved;
    if (isGradEnabled()) return layerNormGrads(gy, sx, sw ?? null, eps, weight !== null && weight !== undefined, bias !== null && bias !== undefined);
    const [gx, gw, gb] = native().layerNormBackward(gy.handle, sx.handle, sm.handle, sr.handle, sw?.handle ?? null, Boolean(weight || bias));
    const grads: (Tensor | null)[] = [wrap(gx)];
    const gwT = gw ? wrap(gw) : null;
    const gbT = gb ? wrap(gb) : null;
    if (weight) grads.push(gwT);
    if (bias) grads.push(gbT);
    return grads;
  }, [x, m, r, ...(weight ? [weight] : [])], true);
  m.dispose();
  r.dispose();
  return out;
}

/**
 * layerNorm's gradients in recorded ops (a backward that builds a graph),
 * from x itself: the mean and 1/σ are computed again here rather than read
 * from the forward's saved ones, which are constants to a second derivative.
 * With x̂ = (x − μ)/σ and g = gy ⊙ w: gx = (g − mean(g) − x̂ mean(g ⊙ x̂))/σ,
 * gw = Σ gy ⊙ x̂ and gb = Σ gy over the leading axes.
 */
function layerNormGrads(gy: Tensor, x: Tensor, w: Tensor | null, eps: number, hasWeight: boolean, hasBias: boolean): (Tensor | null)[] {
  const mu = mean(x, -1, true);
  const centred = sub(x, mu);
  const rstd = rsqrt(add(mean(square(centred), -1, true), eps));
  const xhat = mul(centred, rstd);
  const g = w ? mul(gy, w) : gy;
  const gx = mul(sub(sub(g, mean(g, -1, true)), mul(xhat, mean(mul(g, xhat), -1, true))), rstd);
  const lead = gy.shape.slice(0, -1).map((_, i) => i);
  const over = (t: Tensor) => (lead.length ? sum(t, lead) : t);
  const grads: (Tensor | null)[] = [gx];
  if (hasWeight) grads.push(over(mul(gy, xhat)));
  if (hasBias) grads.push(over(gy));
  return grads;
}

/**
 * x Wᵀ + b with W [out, in] (PyTorch's layout). matmul folds the leading dims
 * of x into one, so the product and its backward are single 2-D GEMMs.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  checkTensor(x, 'linear', 'x');
  checkTensor(weight, 'linear', 'weight');
  if (bias) {
    checkTensor(bias, 'linear', 'bias');
    // matmul wants one dtype; the bias add would promote instead (torch's linear refuses).
    if (bias.dtype !== weight.dtype) fail('DTYPE_MISMATCH', `linear: bias is ${bias.dtype} and weight ${weight.dtype}; expected one dtype`);
  }
  if (bias && weight.rank === 2 && bias.rank >= 1 && bias.shape[bias.rank - 1] !== weight.shape[0] && bias.shape[bias.rank - 1] !== 1)
    fail('SHAPE_MISMATCH', `linear: bias has shape [${bias.shape.join(', ')}]; expected [${weight.shape[0]}], the weight's output features (weight [${weight.shape.join(', ')}])`);
  if (bias && weight.rank === 2 && x.rank >= 1) {
    // The bias broadcasts to the output without growing it (torch's expand): checked before the
    // matmul, whose result would otherwise be made for nothing.
    const yShape = [...x.shape.slice(0, -1), weight.shape[0]];
    const fits = bias.rank <= yShape.length && bias.shape.every((d, i) => d === 1 || d === yShape[yShape.length - bias.rank + i]);
    if (!fits)
      fail('SHAPE_MISMATCH', `linear: bias has shape [${bias.shape.join(', ')}], which does not broadcast to the output's [${yShape.join(', ')}]; expected [${weight.shape[0]}]`);
  }
  const y = matmul(x, weight, { transposeB: true });
  if (!bias) return y;
  const out = add(y, bias);
  y.dispose();
  return out;
}

/**
 * y_k = x1ᵀ W_k x2 + b_k (torch.nn.functional.bilinear): x1 [..., in1] and x2
 * [..., in2] with the same rank and the same leading axes (no broadcasting,
 * as PyTorch's), weight [out, in1, in2], bias [out] or null; y [..., out]
 * (1-D inputs give [out]).
 */
export function bilinear(x1: Tensor, x2: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const op = 'bilinear';
  checkTensor(x1, op, 'x1');
  checkTensor(x2, op, 'x2');
  checkTensor(weight, op, 'weight');
  if (bias !== undefined && bias !== null) checkTensor(bias, op, 'bias');
  const all: [string, Tensor][] = [['x1', x1], ['x2', x2], ['weight', weight], ...(bias ? [['bias', bias] as [string, Tensor]] : [])];
  for (const [name, t] of all) {
    if (t.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: ${name} is int32; expected float32 or float64`);
    if (t.dtype !== weight.dtype) fail('DTYPE_MISMATCH', `${op}: ${name} is ${t.dtype} and weight ${weight.dtype}; expected one dtype`);
    if (t.device !== weight.device) fail('DEVICE_MISMATCH', `${op}: ${name} is on ${t.device} and weight on ${weight.device}; expected one device`);
  }
  if (weight.rank !== 3) fail('SHAPE_MISMATCH', `${op}: weight must be 3-D [out, in1, in2]; got shape ${shapeText(weight.shape)}`);
  const [O, I1, I2] = weight.shape;
  if (x1.rank === 0 || x2.rank === 0) fail('SHAPE_MISMATCH', `${op}: x1 and x2 must have at least one axis (the features); got shapes ${shapeText(x1.shape)} and ${shapeText(x2.shape)}`);
  if (x1.rank !== x2.rank) fail('SHAPE_MISMATCH', `${op}: x1 ${shapeText(x1.shape)} and x2 ${shapeText(x2.shape)} have different ranks; expected the same leading (batch) axes`);
  for (let i = 0; i < x1.rank - 1; i++)
    if (x1.shape[i] !== x2.shape[i]) fail('SHAPE_MISMATCH', `${op}: x1 ${shapeText(x1.shape)} and x2 ${shapeText(x2.shape)} differ at batch axis ${i} (${x1.shape[i]} vs ${x2.shape[i]}); expected the same leading axes`);
  if (x1.shape[x1.rank - 1] !== I1) fail('SHAPE_MISMATCH', `${op}: x1 has ${x1.shape[x1.rank - 1]} features (shape ${shapeText(x1.shape)}); weight ${shapeText(weight.shape)} expects ${I1}`);
  if (x2.shape[x2.rank - 1] !== I2) fail('SHAPE_MISMATCH', `${op}: x2 has ${x2.shape[x2.rank - 1]} features (shape ${shapeText(x2.shape)}); weight ${shapeText(weight.shape)} expects ${I2}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== O)) fail('SHAPE_MISMATCH', `${op}: bias has shape ${shapeText(bias.shape)}; expected [${O}], the weight's output features`);
  const lead = x1.shape.slice(0, -1);
  const N = numel(lead);
  return tidy(() => {
    // (x1 · W viewed as [in1, out · in2]) ⊙ x2 summed over in2: y[n, k] = Σ_ij x1[n, i] W[k, i, j] x2[n, j].
    const w = reshape(permute(weight, [1, 0, 2]), [I1, O * I2]);
    const t = reshape(matmul(reshape(x1, [N, I1]), w), [N, O, I2]);
    const y = reshape(sum(mul(t, reshape(x2, [N, 1, I2])), 2), [...lead, O]);
    return bias ? add(y, bias) : y;
  });
}

/** Options of {@link batchNorm} (torch.nn.functional.batch_norm's keywords). */
export interface BatchNormOptions {
  /** Per-channel scale [C] (γ), or none. */
  weight?: Tensor | null;
  /** Per-channel shift [C] (β), or none. */
  bias?: Tensor | null;
  /** Normalise with the batch's statistics and update the running ones (default false: use the running ones). */
  training?: boolean;
  /** The running statistics' update weight: running = (1 − momentum)·running + momentum·batch (default 0.1). */
  momentum?: number;
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
}

/**
 * Batch normalisation over the channels on axis 1 (torch.nn.functional.
 * batch_norm): x [N, C, …] normalised per channel over every other axis.
 * Training: with the batch's mean and biased variance, and, when running
 * statistics are given, those updated in place (not recorded), the
 * variance's with Bessel's correction as PyTorch's; otherwise with the
 * running statistics. Gradients flow to x, weight and bias (through the
 * batch's statistics in training).
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options?: BatchNormOptions): Tensor {
  const op = 'batchNorm';
  checkChannelsInput(op, x);
  const o = checkOptions<BatchNormOptions>(options, op, ['weight', 'bias', 'training', 'momentum', 'eps']);
  const C = x.shape[1];
  const training = o.training === undefined ? false : checkBoolean(o.training, op, 'training');
  const momentum = o.momentum === undefined ? 0.1 : checkFinite(o.momentum, op, 'momentum');
  const eps = checkEps(op, o.eps);
  checkPerChannel(op, x, [['runningMean', runningMean], ['runningVar', runningVar], ['weight', o.weight], ['bias', o.bias]]);
  const hasRunning = checkRunningPair(op, runningMean, runningVar);
  if (!training && !hasRunning)
    fail('INVALID_ARGUMENT', `${op}: evaluation (training: false, the default) normalises with the running statistics; pass runningMean and runningVar, or {training: true} to use the batch's`);
  // Values per channel: every axis but 1.
  const n = x.shape.reduce((a, d, i) => (i === 1 ? a : a * d), 1);
  if (training && n === 1)
    fail('INVALID_ARGUMENT', `${op}: expected more than 1 value per channel when training; got x of shape ${shapeText(x.shape)} (a batch of one, as PyTorch refuses it: its variance is 0)`);
  return tidy(() => {
    if (!training) return channelAffine(x, byRunning(x, runningMean!, runningVar!, eps), o.weight, o.bias);
    const { y, mu, v } = standardize(x, x.shape.map((_, i) => i).filter((i) => i !== 1), eps);
    if (hasRunning && n > 0) updateRunning(runningMean!, runningVar!, reshape(mu, [C]), reshape(v, [C]), momentum, n);
    return channelAffine(x, y, o.weight, o.bias);
  });
}

/** (x − mean)/√(var + eps) over axes, with the biased variance; mean and variance kept (keepDims) for the running statistics. */
function standardize(x: Tensor, axes: number[], eps: number): { y: Tensor; mu: Tensor; v: Tensor } {
  const mu = mean(x, axes, true);
  const centred = sub(x, mu);
  const v = mean(square(centred), axes, true);
  return { y: mul(centred, rsqrt(add(v, eps))), mu, v };
}

/** t [C] shaped to broadcast along axis 1 of x [N, C, …]. */
const alongChannels = (x: Tensor, t: Tensor): Tensor => reshape(t, x.shape.map((d, i) => (i === 1 ? d : 1)));

/** x normalised per channel with the running statistics (evaluation). */
function byRunning(x: Tensor, runningMean: Tensor, runningVar: Tensor, eps: number): Tensor {
  return mul(sub(x, alongChannels(x, runningMean)), rsqrt(add(alongChannels(x, runningVar), eps)));
}

/** y scaled by weight and shifted by bias per channel (each optional). */
function channelAffine(x: Tensor, y: Tensor, weight: Tensor | null | undefined, bias: Tensor | null | undefined): Tensor {
  if (weight) y = mul(y, alongChannels(x, weight));
  if (bias) y = add(y, alongChannels(x, bias));
  return y;
}

/** Whether running statistics were given; both or neither. */
function checkRunningPair(op: string, runningMean: Tensor | null | undefined, runningVar: Tensor | null | undefined): boolean {
  const hasRunning = runningMean !== null && runningMean !== undefined;
  if (hasRunning !== (runningVar !== null && runningVar !== undefined))
    fail('INVALID_ARGUMENT', `${op}: give both runningMean and runningVar, or neither; got ${hasRunning ? 'runningMean alone' : 'runningVar alone'}`);
  return hasRunning;
}

/**
 * running ← (1 − momentum)·running + momentum·batch in place, unrecorded;
 * the variance with Bessel's correction over n values.
 */
function updateRunning(runningMean: Tensor, runningVar: Tensor, mu: Tensor, v: Tensor, momentum: number, n: number): void {
  noGrad(() => {
    runningMean.assign(add(mul(runningMean, 1 - momentum), mul(mu, momentum)));
    runningVar.assign(add(mul(runningVar, 1 - momentum), mul(v, (momentum * n) / (n - 1))));
  });
}

/** Optional per-channel tensors [C] of an op over x [N, C, …]: the shape, dtype and device checked. */
function checkPerChannel(op: string, x: Tensor, tensors: [string, Tensor | null | undefined][]): void {
  const C = x.shape[1];
  for (const [name, t] of tensors) {
    if (t === null || t === undefined) continue;
    checkTensor(t, op, name);
    if (t.rank !== 1 || t.shape[0] !== C)
      fail('SHAPE_MISMATCH', `${op}: ${name} has shape ${shapeText(t.shape)}; expected [${C}], one value per channel (axis 1 of x's ${shapeText(x.shape)})`);
    if (t.dtype !== x.dtype) fail('DTYPE_MISMATCH', `${op}: ${name} is ${t.dtype} and x ${x.dtype}; expected one dtype`);
    if (t.device !== x.device) fail('DEVICE_MISMATCH', `${op}: ${name} is on ${t.device} and x on ${x.device}; expected one device`);
  }
}

/** x [N, C, …] of a float dtype, as the normalisations take it. */
function checkChannelsInput(op: string, x: Tensor): void {
  checkTensor(x, op, 'x');
  if (x.rank < 2) fail('SHAPE_MISMATCH', `${op}: x must have at least 2 dims, [N, C, …] with the channels on axis 1; got shape ${shapeText(x.shape)}`);
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: x must be float32 or float64; got int32 (cast it first)`);
}

/** @internal A normalisation's eps: default 1e-5, finite and >= 0. */
export function checkEps(op: string, v: unknown): number {
  const eps = v === undefined ? 1e-5 : checkFinite(v, op, 'eps');
  if (eps < 0) fail('INVALID_ARGUMENT', `${op}: eps must be >= 0; got ${eps}`);
  return eps;
}

/** Options of {@link groupNorm} (torch.nn.functional.group_norm's keywords). */
export interface GroupNormOptions {
  /** Per-channel scale [C] (γ), or none. */
  weight?: Tensor | null;
  /** Per-channel shift [C] (β), or none. */
  bias?: Tensor | null;
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
}

/**
 * Group normalisation (torch.nn.functional.group_norm): the C channels of x
 * [N, C, …] split into numGroups groups of C / numGroups consecutive
 * channels; each sample's group is normalised with its own mean and biased
 * variance, taken over the group's channels and every trailing position,
 * then scaled and shifted per channel by weight and bias [C]. Independent of
 * the batch, so training and evaluation compute the same thing. numGroups = 1
 * normalises each sample over everything (a LayerNorm over [C, …] with
 * per-channel affine); numGroups = C is instanceNorm without running
 * statistics. Gradients flow to x, weight and bias.
 */
export function groupNorm(x: Tensor, numGroups: number, options?: GroupNormOptions): Tensor {
  const op = 'groupNorm';
  checkChannelsInput(op, x);
  const o = checkOptions<GroupNormOptions>(options, op, ['weight', 'bias', 'eps']);
  const G = checkInteger(numGroups, op, 'numGroups', 1);
  const [N, C] = x.shape;
  if (C % G !== 0)
    fail('INVALID_ARGUMENT', `${op}: x has ${C} channels (axis 1 of ${shapeText(x.shape)}), which numGroups = ${G} does not divide; expected the channel count to be a multiple of numGroups`);
  const eps = checkEps(op, o.eps);
  checkPerChannel(op, x, [['weight', o.weight], ['bias', o.bias]]);
  const inner = numel(x.shape.slice(2));
  // PyTorch's check (_verify_batch_size on [N·C/G, G, …]): one sample with a single value per group.
  if (N * (C / G) * inner === 1)
    fail('INVALID_ARGUMENT', `${op}: expected more than 1 value per group; got x of shape ${shapeText(x.shape)} with numGroups = ${G} (one sample, one value in each group, as PyTorch refuses it)`);
  return tidy(() => {
    const { y } = standardize(reshape(x, [N, G, (C / G) * inner]), [2], eps);
    return channelAffine(x, reshape(y, x.shape), o.weight, o.bias);
  });
}

/** Options of {@link instanceNorm} (torch.nn.functional.instance_norm's keywords). */
export interface InstanceNormOptions {
  /** Running mean [C], updated in place when the input's statistics are used; or none. */
  runningMean?: Tensor | null;
  /** Running variance [C] (unbiased), updated in place with runningMean; or none. */
  runningVar?: Tensor | null;
  /** Per-channel scale [C] (γ), or none. */
  weight?: Tensor | null;
  /** Per-channel shift [C] (β), or none. */
  bias?: Tensor | null;
  /** Normalise with each instance's own statistics (default true); false uses the running ones (evaluation). */
  useInputStats?: boolean;
  /** The running statistics' update weight: running = (1 − momentum)·running + momentum·batch (default 0.1). */
  momentum?: number;
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
}

/**
 * Instance normalisation (torch.nn.functional.instance_norm): x [N, C, …]
 * normalised per sample and channel over the trailing axes, with that
 * instance's mean and biased variance (useInputStats, the default), then
 * scaled and shifted per channel. Running statistics, when given, are then
 * updated in place (not recorded) with the batch's average of the instance
 * means and of the instance variances with Bessel's correction, as
 * PyTorch's. With useInputStats false the running statistics normalise.
 * One position per instance (L = 1) is refused with useInputStats, as
 * PyTorch refuses it. Gradients flow to x, weight and bias.
 */
export function instanceNorm(x: Tensor, options?: InstanceNormOptions): Tensor {
  const op = 'instanceNorm';
  checkChannelsInput(op, x);
  const o = checkOptions<InstanceNormOptions>(options, op, ['runningMean', 'runningVar', 'weight', 'bias', 'useInputStats', 'momentum', 'eps']);
  const useInputStats = o.useInputStats === undefined ? true : checkBoolean(o.useInputStats, op, 'useInputStats');
  const momentum = o.momentum === undefined ? 0.1 : checkFinite(o.momentum, op, 'momentum');
  const eps = checkEps(op, o.eps);
  checkPerChannel(op, x, [['runningMean', o.runningMean], ['runningVar', o.runningVar], ['weight', o.weight], ['bias', o.bias]]);
  const runningMean = o.runningMean ?? null, runningVar = o.runningVar ?? null;
  const hasRunning = checkRunningPair(op, runningMean, runningVar);
  if (!useInputStats && !hasRunning)
    fail('INVALID_ARGUMENT', `${op}: useInputStats: false normalises with the running statistics; pass runningMean and runningVar, or leave useInputStats true`);
  const [N, C] = x.shape;
  const inner = numel(x.shape.slice(2));
  if (useInputStats && inner === 1)
    fail('INVALID_ARGUMENT', `${op}: expected more than 1 spatial element per instance when using the input's statistics; got x of shape ${shapeText(x.shape)} (its variance would be 0; PyTorch refuses it too)`);
  return tidy(() => {
    if (!useInputStats) return channelAffine(x, byRunning(x, runningMean!, runningVar!, eps), o.weight, o.bias);
    const { y, mu, v } = standardize(x, x.shape.map((_, i) => i).slice(2), eps);
    // The batch's average of the instance statistics.
    if (hasRunning && N > 0 && inner > 0) updateRunning(runningMean!, runningVar!, mean(reshape(mu, [N, C]), 0), mean(reshape(v, [N, C]), 0), momentum, inner);
    return channelAffine(x, y, o.weight, o.bias);
  });
}
