/**
 * Attention (torch.nn.functional.scaled_dot_product_attention), composed of
 * recorded ops: two batched GEMMs around a softmax, so its gradients come from
 * autograd and it runs on every device. nn.MultiheadAttention composes the
 * same ops itself (its heads, masks and weights follow
 * F.multi_head_attention_forward).
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { arange, checkTensor, full, Tensor } from '../tensor';
import { broadcastShapes, checkBoolean, checkFinite, checkOptions, describe, shapeText } from '../validate';
import { noGrad } from '../autograd/graph';
import { add, equal, lessEqual, matmul, max, mul, reshape, where } from './core';
import { dropout, softmax } from './nn';

/** Options of {@link scaledDotProductAttention}. */
export interface ScaledDotProductAttentionOptions {
  /**
   * Broadcastable to the scores [..., L, S]. int32: nonzero where a query may
   * attend to a key (PyTorch's boolean True), 0 where it may not; float (the
   * query's dtype): added to the scores (0 or −∞, or any bias).
   */
  attnMask?: Tensor | null;
  /** Dropout on the attention weights, applied whenever > 0 (as PyTorch's). Default 0. */
  dropoutP?: number;
  /** Query i attends to keys 0 … i only (a lower-triangular mask, top-left aligned); not with attnMask. */
  isCausal?: boolean;
  /** The scores' factor; default 1/√E. */
  scale?: number | null;
  /** Seed of the dropout draw (default: the global generator). */
  seed?: number;
}

/** @internal int32 [L, S]: 1 where key j ≤ query i (torch's ones(L, S).tril()). */
export function causalMask(L: number, S: number, device: string): Tensor {
  return tidy(() => lessEqual(reshape(arange(0, S, 1, { dtype: 'int32', device }), [1, S]), reshape(arange(0, L, 1, { dtype: 'int32', device }), [L, 1])));
}

/** @internal A mask as an additive float mask: int32 `blocked` (nonzero = masked out) → 0 / −∞; float as it is. */
export function additiveMask(mask: Tensor, blockedWhere: 'nonzero' | 'zero', dtype: 'float32' | 'float64'): Tensor {
  if (mask.dtype !== 'int32') return mask;
  const ninf = full([], -Infinity, { dtype, device: mask.device });
  const out = blockedWhere === 'nonzero' ? where(mask, ninf, 0) : where(mask, 0, ninf);
  ninf.dispose();
  return out;
}

/**
 * Softmax over the last axis of attention scores, where a row whose every
 * score is −∞ (all its keys masked) gets weights 0 and passes no gradient,
 * instead of NaN: PyTorch's scaled_dot_product_attention does this since 2.5
 * (its _safe_softmax), so that one fully padded sequence does not turn a
 * batch's output and every parameter's gradient into NaN.
 */
export function maskedSoftmax(scores: Tensor): Tensor {
  if (scores.shape[scores.rank - 1] === 0) return softmax(scores, -1);
  const dead = noGrad(() => equal(max(scores, -1, true), -Infinity));
  return where(dead, 0, softmax(where(dead, 0, scores), -1));
}

/**
 * softmax(Q Kᵀ · scale + mask) V over the last two axes, as PyTorch's
 * scaled_dot_product_attention: query [..., L, E], key [..., S, E], value
 * [..., S, Ev] (leading axes broadcast) → [..., L, Ev]. A query row whose
 * keys are all masked gives 0, and no gradient, as PyTorch's since 2.5
 * (NaN up to 2.4). Gradients flow to query, key, value and a float mask.
 */
export function scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, options?: ScaledDotProductAttentionOptions): Tensor {
  const op = 'scaledDotProductAttention';
  checkTensor(query, op, 'query');
  checkTensor(key, op, 'key');
  checkTensor(value, op, 'value');
  const o = checkOptions<ScaledDotProductAttentionOptions>(options, op, ['attnMask', 'dropoutP', 'isCausal', 'scale', 'seed']);
  for (const [what, t] of [['query', query], ['key', key], ['value', value]] as const) {
    if (t.rank < 2) fail('SHAPE_MISMATCH', `${op}: ${what} has shape ${shapeText(t.shape)}; expected at least 2 axes ([..., length, features])`);
    if (t.dtype !== 'float32' && t.dtype !== 'float64') fail('DTYPE_MISMATCH', `${op}: ${what} is ${t.dtype}; expected float32 or float64`);
    if (t.dtype !== query.dtype) fail('DTYPE_MISMATCH', `${op}: query is ${query.dtype} and ${what} ${t.dtype}; expected one dtype`);
    if (t.device !== query.device) fail('DEVICE_MISMATCH', `${op}: query is on ${query.device} and ${what} on ${t.device}; expected one device`);
  }
  const E = query.shape[query.rank - 1], L = query.shape[query.rank - 2];
  const S = key.shape[key.rank - 2];
  if (key.shape[key.rank - 1] !== E)
    fail('SHAPE_MISMATCH', `${op}: query has ${E} features (shape ${shapeText(query.shape)}) and key ${key.shape[key.rank - 1]} (shape ${shapeText(key.shape)}); expected the same`);
  if (value.shape[value.rank - 2] !== S)
    fail('SHAPE_MISMATCH', `${op}: key has ${S} positions (shape ${shapeText(key.shape)}) and value ${value.shape[value.rank - 2]} (shape ${shapeText(value.shape)}); expected the same`);
  const batch = broadcastShapes([query.shape.slice(0, -2), key.shape.slice(0, -2), value.shape.slice(0, -2)]);
  if (!batch)
    fail('SHAPE_MISMATCH', `${op}: the leading axes of query ${shapeText(query.shape)}, key ${shapeText(key.shape)} and value ${shapeText(value.shape)} do not broadcast`);
  const scoreShape = [...batch, L, S];
  const mask = o.attnMask ?? null;
  if (mask !== null) {
    checkTensor(mask, op, 'attnMask');
    if (mask.dtype !== 'int32' && mask.dtype !== query.dtype)
      fail('DTYPE_MISMATCH', `${op}: attnMask is ${mask.dtype}; expected int32 (nonzero where attending is allowed) or the query's dtype ${query.dtype} (added to the scores)`);
    if (mask.device !== query.device) fail('DEVICE_MISMATCH', `${op}: query is on ${query.device} and attnMask on ${mask.device}; expected one device`);
    const b = broadcastShapes([mask.shape, scoreShape]);
    if (!b || b.length !== scoreShape.length || b.some((d, i) => d !== scoreShape[i]))
      fail('SHAPE_MISMATCH', `${op}: attnMask has shape ${shapeText(mask.shape)}; expected a shape that broadcasts to the scores' ${shapeText(scoreShape)}`);
  }
  const isCausal = o.isCausal === undefined ? false : checkBoolean(o.isCausal, op, 'isCausal');
  if (isCausal && mask !== null) fail('INVALID_ARGUMENT', `${op}: pass attnMask or isCausal, not both (as PyTorch's)`);
  const p = o.dropoutP === undefined ? 0 : checkFinite(o.dropoutP, op, 'dropoutP');
  if (p < 0 || p > 1) fail('INVALID_ARGUMENT', `${op}: dropoutP must be in [0, 1]; got ${p}`);
  let scale = 1 / Math.sqrt(E);
  if (o.scale !== undefined && o.scale !== null) {
    scale = checkFinite(o.scale, op, 'scale');
  }
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) fail('INVALID_ARGUMENT', `${op}: seed must be an integer; got ${describe(o.seed)}`);
  return tidy(() => {
    let scores = mul(matmul(query, key, { transposeB: true }), scale);
    if (isCausal) scores = where(causalMask(L, S, query.device), scores, -Infinity);
    if (mask !== null) scores = mask.dtype === 'int32' ? where(mask, scores, -Infinity) : add(scores, mask);
    let weights = mask !== null ? maskedSoftmax(scores) : softmax(scores, -1);
    if (p > 0) weights = dropout(weights, p, { seed: o.seed });
    return matmul(weights, value);
  });
}
