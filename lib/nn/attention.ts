/**
 * torch.nn.MultiheadAttention: PyTorch's parameters (in_proj_weight [3E, E] or
 * q/k/v_proj_weight with other key/value sizes, in_proj_bias [3E], out_proj,
 * bias_k/bias_v), initialisation, masks and outputs, composed of recorded ops
 * (the heads are one batched GEMM each way).
 */
import { isolated, tidy } from '../engine';
import { fail } from '../errors';
import { additiveMask, maskedSoftmax } from '../ops/attention';
import { add, broadcastTo, concat, greater, matmul, mean, mul, reshape, transpose, where } from '../ops/core';
import { dropout, linear, softmax } from '../ops/nn';
import { pad, split, squeeze, unsqueeze } from '../ops/shape';
import { arange, checkTensor, rand, randn, tensor, zeros, Tensor } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import { Linear } from './layers';
import { checkedParameters, Module } from './module';

export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights in training mode. Default 0. */
  dropout?: number;
  /** Biases of the input and output projections. Default true. */
  bias?: boolean;
  /** Learned key and value vectors appended to the keys and values (bias_k, bias_v [1, 1, E]). Default false. */
  addBiasKv?: boolean;
  /** A zero key and value appended (after the heads are split). Default false. */
  addZeroAttn?: boolean;
  /** Size of the keys' features (default embedDim). */
  kdim?: number;
  /** Size of the values' features (default embedDim). */
  vdim?: number;
  /** Inputs and output [N, L, E] instead of [L, N, E]. Default false. */
  batchFirst?: boolean;
  dtype?: 'float32' | 'float64';
  device?: string;
}

export interface MultiheadAttentionForwardOptions {
  /**
   * [N, S] (or [S] unbatched): int32 nonzero at the keys to ignore (PyTorch's
   * boolean True = padding), or float, added to the scores.
   */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights too. Default true. */
  needWeights?: boolean;
  /**
   * [L, S] or [N·numHeads, L, S]: int32 nonzero where attending is NOT allowed
   * (PyTorch's boolean True), or float, added to the scores.
   * nn.generateSquareSubsequentMask(L) gives the causal one.
   */
  attnMask?: Tensor | null;
  /** Average the returned weights over the heads ([N, L, S]) rather than per head ([N, numHeads, L, S]). Default true. */
  averageAttnWeights?: boolean;
  /** A hint that attnMask is the causal mask (as PyTorch's: attnMask must be given). */
  isCausal?: boolean;
}

type Placement = { dtype?: 'float32' | 'float64'; device?: string };

/** torch.nn.init.xavier_uniform_ for a matrix [out, in]: U(±√(6 / (in + out))). */
function xavierUniform(shape: [number, number], p: Placement): Tensor {
  const bound = Math.sqrt(6 / (shape[0] + shape[1]));
  return isolated(() => rand(shape, { minval: -bound, maxval: bound, dtype: p.dtype, device: p.device }));
}

/**
 * Multi-head attention (torch.nn.MultiheadAttention): forward(query, key,
 * value, options) → [output, weights or null]. query [L, N, E], key [S, N,
 * kdim], value [S, N, vdim] ([N, ·, ·] with batchFirst; [L, E] … unbatched);
 * output like query, weights [N, L, S] (averaged over heads) or [N, H, L, S].
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly addZeroAttn: boolean;
  /** [3E, E] when kdim = vdim = E, else null (then q/k/v_proj_weight). */
  in_proj_weight: Tensor | null;
  q_proj_weight: Tensor | null;
  k_proj_weight: Tensor | null;
  v_proj_weight: Tensor | null;
  in_proj_bias: Tensor | null;
  bias_k: Tensor | null;
  bias_v: Tensor | null;
  out_proj: Linear;

  constructor(embedDim: number, numHeads: number, options?: MultiheadAttentionOptions) {
    super();
    const op = 'MultiheadAttention';
    const o = checkOptions<MultiheadAttentionOptions>(options, op, ['dropout', 'bias', 'addBiasKv', 'addZeroAttn', 'kdim', 'vdim', 'batchFirst', 'dtype', 'device']);
    this.embedDim = checkInteger(embedDim, op, 'embedDim', 1);
    this.numHeads = checkInteger(numHeads, op, 'numHeads', 1);
    if (embedDim % numHeads !== 0) fail('INVALID_ARGUMENT', `${op}: embedDim must be divisible by numHeads; got embedDim ${embedDim} and numHeads ${numHeads}`);
    this.headDim = embedDim / numHeads;
    this.kdim = o.kdim === undefined ? embedDim : checkInteger(o.kdim, op, 'kdim', 1);
    this.vdim = o.vdim === undefined ? embedDim : checkInteger(o.vdim, op, 'vdim', 1);
    this.dropout = o.dropout === undefined ? 0 : checkFinite(o.dropout, op, 'dropout');
    if (this.dropout < 0 || this.dropout > 1) fail('INVALID_ARGUMENT', `${op}: dropout must be in [0, 1]; got ${this.dropout}`);
    const bias = o.bias === undefined ? true : checkBoolean(o.bias, op, 'bias');
    const addBiasKv = o.addBiasKv === undefined ? false : checkBoolean(o.addBiasKv, op, 'addBiasKv');
    this.addZeroAttn = o.addZeroAttn === undefined ? false : checkBoolean(o.addZeroAttn, op, 'addZeroAttn');
    this.batchFirst = o.batchFirst === undefined ? false : checkBoolean(o.batchFirst, op, 'batchFirst');
    if (o.dtype !== undefined && o.dtype !== 'float32' && o.dtype !== 'float64')
      fail('DTYPE_MISMATCH', `${op}: dtype must be 'float32' or 'float64' (parameters take gradients); got ${describe(o.dtype)}`);
    const p: Placement = { dtype: o.dtype, device: o.device };
    const E = embedDim;
    const same = this.kdim === E && this.vdim === E;
    // PyTorch's _reset_parameters: xavier_uniform_ on the input projections, zero biases.
    this.in_proj_weight = this.registerParameter('in_proj_weight', same ? xavierUniform([3 * E, E], p) : null);
    this.q_proj_weight = this.registerParameter('q_proj_weight', same ? null : xavierUniform([E, E], p));
    this.k_proj_weight = this.registerParameter('k_proj_weight', same ? null : xavierUniform([E, this.kdim], p));
    this.v_proj_weight = this.registerParameter('v_proj_weight', same ? null : xavierUniform([E, this.vdim], p));
    this.in_proj_bias = this.registerParameter('in_proj_bias', bias ? zeros([3 * E], p) : null);
    // xavier_normal_ on [1, 1, E]: fan_in = fan_out = E, so std 1/√E.
    const normal = () => isolated(() => randn([1, 1, E], { mean: 0, stddev: 1 / Math.sqrt(E), dtype: p.dtype, device: p.device }));
    this.bias_k = this.registerParameter('bias_k', addBiasKv ? normal() : null);
    this.bias_v = this.registerParameter('bias_v', addBiasKv ? normal() : null);
    this.out_proj = this.registerModule('out_proj', new Linear(E, E, { bias, ...p }));
    const outBias = this.out_proj.bias;
    if (outBias)
      isolated(() => {
        const zero = zeros([E], p);
        outBias.assign(zero);
        zero.dispose();
      });
  }

  forward(query: Tensor, key: Tensor, value: Tensor, options?: MultiheadAttentionForwardOptions): [Tensor, Tensor | null] {
    const op = 'MultiheadAttention';
    this.checkUsable(op);
    checkTensor(query, op, 'query');
    checkTensor(key, op, 'key');
    checkTensor(value, op, 'value');
    const o = checkOptions<MultiheadAttentionForwardOptions>(options, op, ['keyPaddingMask', 'needWeights', 'attnMask', 'averageAttnWeights', 'isCausal']);
    const needWeights = o.needWeights === undefined ? true : checkBoolean(o.needWeights, op, 'needWeights');
    const average = o.averageAttnWeights === undefined ? true : checkBoolean(o.averageAttnWeights, op, 'averageAttnWeights');
    const isCausal = o.isCausal === undefined ? false : checkBoolean(o.isCausal, op, 'isCausal');
    let attnMask = o.attnMask ?? null;
    let kpm = o.keyPaddingMask ?? null;
    if (isCausal && attnMask === null)
      fail('INVALID_ARGUMENT', `${op}: isCausal is a hint that attnMask is causal (as PyTorch's), so it needs attnMask; pass attnMask: nn.generateSquareSubsequentMask(L)`);
    const E = this.embedDim, H = this.numHeads, hd = this.headDim;
    // The parameters as they are now (any may have been reassigned): present, shaped, one dtype and device.
    const packed = this.kdim === E && this.vdim === E;
    const specs: [string, number[], boolean][] = packed
      ? [['in_proj_weight', [3 * E, E], true]]
      : [['q_proj_weight', [E, E], true], ['k_proj_weight', [E, this.kdim], true], ['v_proj_weight', [E, this.vdim], true]];
    specs.push(['in_proj_bias', [3 * E], false], ['bias_k', [1, 1, E], false], ['bias_v', [1, 1, E], false]);
    const params = checkedParameters(this, op, specs, query, 'query');
    if (params.has('bias_k') !== params.has('bias_v'))
      fail('INVALID_ARGUMENT', `${op}: bias_k and bias_v go together (addBiasKv); got ${params.has('bias_k') ? 'bias_k without bias_v' : 'bias_v without bias_k'}`);
    const weightDtype = query.dtype as 'float32' | 'float64';
    const batched = query.rank === 3;
    if (query.rank !== 2 && query.rank !== 3)
      fail('SHAPE_MISMATCH', `${op}: query has shape ${shapeText(query.shape)}; expected ${this.batchFirst ? '[N, L, E]' : '[L, N, E]'} or unbatched [L, E] with E = ${E}`);
    for (const [what, t, d] of [['query', query, E], ['key', key, this.kdim], ['value', value, this.vdim]] as const) {
      if (t.rank !== query.rank)
        fail('SHAPE_MISMATCH', `${op}: query has shape ${shapeText(query.shape)} and ${what} ${shapeText(t.shape)}; expected ${batched ? 'batched (3 axes)' : 'unbatched (2 axes)'} inputs alike`);
      if (t.shape[t.rank - 1] !== d) fail('SHAPE_MISMATCH', `${op}: ${what} has ${t.shape[t.rank - 1]} features (shape ${shapeText(t.shape)}); expected ${d}`);
      if (t.dtype !== weightDtype) fail('DTYPE_MISMATCH', `${op}: query is ${weightDtype} and ${what} ${t.dtype}; expected one dtype`);
      if (t.device !== query.device) fail('DEVICE_MISMATCH', `${op}: query is on ${query.device} and ${what} on ${t.device}; expected one device`);
    }
    const bAxis = batched ? (this.batchFirst ? 0 : 1) : -1;
    const sAxis = batched && this.batchFirst ? 1 : 0;
    const N = batched ? query.shape[bAxis] : 1;
    const L = query.shape[sAxis], S0 = key.shape[sAxis];
    if (batched && (key.shape[bAxis] !== N || value.shape[bAxis] !== N))
      fail('SHAPE_MISMATCH', `${op}: query, key and value have batch sizes ${N}, ${key.shape[bAxis]} and ${value.shape[bAxis]} (shapes ${shapeText(query.shape)}, ${shapeText(key.shape)}, ${shapeText(value.shape)}); expected one`);
    if (value.shape[sAxis] !== S0)
      fail('SHAPE_MISMATCH', `${op}: key has ${S0} positions and value ${value.shape[sAxis]} (shapes ${shapeText(key.shape)}, ${shapeText(value.shape)}); expected the same`);
    const maskCheck = (m: Tensor, what: string, shapes: number[][]) => {
      checkTensor(m, op, what);
      if (m.dtype !== 'int32' && m.dtype !== weightDtype)
        fail('DTYPE_MISMATCH', `${op}: ${what} is ${m.dtype}; expected int32 (nonzero = masked out, PyTorch's True) or ${weightDtype} (added to the scores)`);
      if (m.device !== query.device) fail('DEVICE_MISMATCH', `${op}: query is on ${query.device} and ${what} on ${m.device}; expected one device`);
      if (!shapes.some((s) => s.length === m.rank && s.every((d, i) => d === m.shape[i])))
        fail('SHAPE_MISMATCH', `${op}: ${what} has shape ${shapeText(m.shape)}; expected ${shapes.map((s) => shapeText(s)).join(' or ')}`);
    };
    if (kpm !== null) maskCheck(kpm, 'keyPaddingMask', [batched ? [N, S0] : [S0]]);
    if (attnMask !== null) maskCheck(attnMask, 'attnMask', [[L, S0], [N * H, L, S0]]);
    const training = this.training && this.dropout > 0;
    return tidy(() => {
      // Time-major, with a batch axis: [L, N, E].
      const timeMajor = (t: Tensor) => (!batched ? unsqueeze(t, 1) : this.batchFirst ? transpose(t, 0, 1) : t);
      const [q0, k0, v0] = [timeMajor(query), timeMajor(key), timeMajor(value)];
      let wq: Tensor, wk: Tensor, wv: Tensor;
      if (packed) [wq, wk, wv] = split(params.get('in_proj_weight')!, 3, 0);
      else [wq, wk, wv] = [params.get('q_proj_weight')!, params.get('k_proj_weight')!, params.get('v_proj_weight')!];
      const inBias = params.get('in_proj_bias');
      const [bq, bk, bv] = inBias ? split(inBias, 3, 0) : [null, null, null];
      const q = linear(q0, wq, bq);
      let k = linear(k0, wk, bk);
      let v = linear(v0, wv, bv);
      // Masks as additive float masks: [1 or N·H, L, S] and [N, S].
      let am = attnMask === null ? null : additiveMask(attnMask, 'nonzero', weightDtype);
      if (am && am.rank === 2) am = unsqueeze(am, 0);
      let km = kpm === null ? null : additiveMask(batched ? kpm : unsqueeze(kpm, 0), 'nonzero', weightDtype);
      const padKey = () => {
        if (am) am = pad(am, [[0, 0], [0, 0], [0, 1]]);
        if (km) km = pad(km, [[0, 0], [0, 1]]);
      };
      const biasK = params.get('bias_k'), biasV = params.get('bias_v');
      if (biasK && biasV) {
        k = concat([k, broadcastTo(biasK, [1, N, E])], 0);
        v = concat([v, broadcastTo(biasV, [1, N, E])], 0);
        padKey();
      }
      // Heads: [L, N, E] → [N·H, L, hd] (head h of batch n at n·H + h, as PyTorch's view).
      const heads = (t: Tensor) => transpose(reshape(t, [t.shape[0], N * H, hd]), 0, 1);
      let qh = heads(q), kh = heads(k), vh = heads(v);
      if (this.addZeroAttn) {
        kh = concat([kh, zeros([N * H, 1, hd], { dtype: weightDtype, device: query.device })], 1);
        vh = concat([vh, zeros([N * H, 1, hd], { dtype: weightDtype, device: query.device })], 1);
        padKey();
      }
      const S = kh.shape[1];
      if (km) {
        const perHead = reshape(broadcastTo(reshape(km, [N, 1, 1, S]), [N, H, 1, S]), [N * H, 1, S]);
        am = am ? add(am, perHead) : perHead;
      }
      qh = mul(qh, Math.sqrt(1 / hd));
      let scores = matmul(qh, kh, { transposeB: true }); // [N·H, L, S]
      if (am) scores = add(scores, am);
      // Without the weights, PyTorch's fast path (scaled_dot_product_attention) gives a query whose keys are
      // all masked 0; when it returns them, its explicit softmax gives NaN there: both as PyTorch.
      let w = am && !needWeights ? maskedSoftmax(scores) : softmax(scores, -1);
      if (training) w = dropout(w, this.dropout);
      const ctx = matmul(w, vh); // [N·H, L, hd]
      const merged = reshape(transpose(ctx, 0, 1), [L, N, E]);
      let out = this.out_proj.forward(merged);
      out = !batched ? squeeze(out, 1) : this.batchFirst ? transpose(out, 0, 1) : out;
      if (!needWeights) return [out, null] as [Tensor, Tensor | null];
      let weights = reshape(w, [N, H, L, S]);
      if (average) weights = mean(weights, 1);
      if (!batched) weights = squeeze(weights, 0);
      return [out, weights] as [Tensor, Tensor | null];
    });
  }
}

/**
 * The causal mask [size, size] of PyTorch's
 * nn.Transformer.generate_square_subsequent_mask: 0 on and below the
 * diagonal, −∞ above (a float mask, added to the scores).
 */
export function generateSquareSubsequentMask(size: number, options?: Placement): Tensor {
  const op = 'generateSquareSubsequentMask';
  checkInteger(size, op, 'size', 0);
  const o = checkOptions<Placement>(options, op, ['dtype', 'device']);
  if (o.dtype !== undefined && o.dtype !== 'float32' && o.dtype !== 'float64')
    fail('DTYPE_MISMATCH', `${op}: dtype must be 'float32' or 'float64' (the mask holds −∞); got ${describe(o.dtype)}`);
  // Made on the device: −∞ where the column is past the row.
  const dtype = o.dtype ?? 'float32';
  const device = o.device === undefined ? undefined : o.device;
  return tidy(() => {
    const rows = reshape(arange(size, undefined, 1, { dtype: 'int32', device }), [size, 1]);
    const cols = reshape(arange(size, undefined, 1, { dtype: 'int32', device }), [1, size]);
    const m = where(greater(cols, rows), -Infinity, 0);
    return dtype === 'float32' ? m : m.cast(dtype);
  });
}
