/**
 * torch.nn.TransformerEncoderLayer and torch.nn.TransformerEncoder: PyTorch's
 * sub-modules, state-dict names, initialisation, post-norm (default) and
 * pre-norm (`normFirst`) blocks, masks and dropout placement, composed of
 * MultiheadAttention, Linear, LayerNorm and Dropout (recorded ops, every
 * device). The baseline a recurrent model is compared with.
 */
import { isolated, tidy } from '../engine';
import { fail } from '../errors';
import { add, gelu, relu } from '../ops/core';
import { globalDrawPosition, setGlobalDrawPosition } from '../random';
import { checkTensor, Tensor } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, checkOptions, describe } from '../validate';
import { MultiheadAttention } from './attention';
import { Dropout, LayerNorm, Linear, ModuleList } from './layers';
import { Module } from './module';

/** An activation: PyTorch's names, a function of a tensor, or a module (its forward). */
export type TransformerActivation = 'relu' | 'gelu' | ((x: Tensor) => Tensor) | { forward(x: Tensor): Tensor };

export interface TransformerEncoderLayerOptions {
  /** Width of the feed-forward block (default 2048, as PyTorch's). */
  dimFeedforward?: number;
  /** Dropout on the attention weights, after the attention and feed-forward blocks, and inside the latter (default 0.1). */
  dropout?: number;
  /** The feed-forward block's activation (default 'relu'; 'gelu' is the exact one). */
  activation?: TransformerActivation;
  /** LayerNorm's eps (default 1e-5). */
  layerNormEps?: number;
  /** Inputs and output [N, S, E] instead of [S, N, E] (default false). */
  batchFirst?: boolean;
  /** Pre-norm: x + block(norm(x)) instead of norm(x + block(x)) (default false). */
  normFirst?: boolean;
  /** Biases of the linear layers and the LayerNorms (default true; PyTorch 2.1's `bias`). */
  bias?: boolean;
  dtype?: 'float32' | 'float64';
  device?: string;
}

export interface TransformerEncoderForwardOptions {
  /**
   * [S, S] or [N·nhead, S, S]: int32 nonzero where attending is NOT allowed
   * (PyTorch's boolean True), or float, added to the scores (PyTorch's
   * `src_mask` / `mask`); nn.generateSquareSubsequentMask(S) is the causal one.
   */
  mask?: Tensor | null;
  /** [N, S] (or [S] unbatched): int32 nonzero at the padding positions (PyTorch's True), or float, added (PyTorch's `src_key_padding_mask`). */
  srcKeyPaddingMask?: Tensor | null;
  /** A hint that `mask` is the causal mask (as PyTorch's: the mask must be given). */
  isCausal?: boolean;
}

const LAYER_OPTIONS = ['dimFeedforward', 'dropout', 'activation', 'layerNormEps', 'batchFirst', 'normFirst', 'bias', 'dtype', 'device'] as const;

function activationOf(a: unknown, op: string): (x: Tensor) => Tensor {
  if (a === 'relu') return relu;
  if (a === 'gelu') return (x) => gelu(x);
  if (typeof a === 'function') return a as (x: Tensor) => Tensor;
  if (a !== null && typeof a === 'object' && typeof (a as { forward?: unknown }).forward === 'function') {
    const m = a as { forward(x: Tensor): Tensor };
    return (x) => m.forward(x);
  }
  return fail('INVALID_ARGUMENT', `${op}: activation must be 'relu', 'gelu', a function of a tensor or a module; got ${describe(a)}`);
}

/**
 * One encoder layer (torch.nn.TransformerEncoderLayer): self-attention then a
 * feed-forward block (linear1 → activation → dropout → linear2), each added
 * back to its input through dropout, with LayerNorms after (default) or
 * before (`normFirst`) each block. forward(src [S, N, E] or [N, S, E] with
 * batchFirst or unbatched [S, E], {mask, srcKeyPaddingMask}) → same shape.
 * State dict as PyTorch's: self_attn.in_proj_weight, self_attn.in_proj_bias,
 * self_attn.out_proj.{weight,bias}, linear1.*, linear2.*, norm1.*, norm2.*.
 */
export class TransformerEncoderLayer extends Module {
  readonly dModel: number;
  readonly nhead: number;
  readonly dimFeedforward: number;
  readonly normFirst: boolean;
  readonly batchFirst: boolean;
  /** The options it was made with (TransformerEncoder's copies are made from them). */
  readonly options: Readonly<TransformerEncoderLayerOptions>;
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  private readonly act: (x: Tensor) => Tensor;

  constructor(dModel: number, nhead: number, options?: TransformerEncoderLayerOptions) {
    super();
    const op = 'TransformerEncoderLayer';
    const o = checkOptions<TransformerEncoderLayerOptions>(options, op, LAYER_OPTIONS);
    this.dModel = checkInteger(dModel, op, 'dModel', 1);
    this.nhead = checkInteger(nhead, op, 'nhead', 1);
    if (dModel % nhead !== 0) fail('INVALID_ARGUMENT', `${op}: dModel must be divisible by nhead; got dModel ${dModel} and nhead ${nhead}`);
    this.dimFeedforward = o.dimFeedforward === undefined ? 2048 : checkInteger(o.dimFeedforward, op, 'dimFeedforward', 1);
    const p = o.dropout === undefined ? 0.1 : checkFinite(o.dropout, op, 'dropout');
    if (p < 0 || p > 1) fail('INVALID_ARGUMENT', `${op}: dropout must be in [0, 1]; got ${p}`);
    const eps = o.layerNormEps === undefined ? 1e-5 : checkFinite(o.layerNormEps, op, 'layerNormEps');
    if (eps < 0) fail('INVALID_ARGUMENT', `${op}: layerNormEps must be >= 0; got ${eps}`);
    this.batchFirst = o.batchFirst === undefined ? false : checkBoolean(o.batchFirst, op, 'batchFirst');
    this.normFirst = o.normFirst === undefined ? false : checkBoolean(o.normFirst, op, 'normFirst');
    const bias = o.bias === undefined ? true : checkBoolean(o.bias, op, 'bias');
    this.act = activationOf(o.activation ?? 'relu', op);
    this.options = Object.freeze({ ...o });
    const placed = { dtype: o.dtype, device: o.device };
    // PyTorch's order of construction (and so of draws): self_attn, linear1, linear2.
    this.self_attn = this.registerModule('self_attn', new MultiheadAttention(dModel, nhead, { dropout: p, bias, batchFirst: this.batchFirst, ...placed }));
    this.linear1 = this.registerModule('linear1', new Linear(dModel, this.dimFeedforward, { bias, ...placed }));
    this.dropout = this.registerModule('dropout', new Dropout(p));
    this.linear2 = this.registerModule('linear2', new Linear(this.dimFeedforward, dModel, { bias, ...placed }));
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, { eps, bias, ...placed }));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, { eps, bias, ...placed }));
    this.dropout1 = this.registerModule('dropout1', new Dropout(p));
    this.dropout2 = this.registerModule('dropout2', new Dropout(p));
  }

  forward(src: Tensor, options?: TransformerEncoderForwardOptions): Tensor {
    const op = 'TransformerEncoderLayer';
    this.checkUsable(op);
    checkTensor(src, op, 'src');
    const o = checkOptions<TransformerEncoderForwardOptions>(options, op, ['mask', 'srcKeyPaddingMask', 'isCausal']);
    const attn = { attnMask: o.mask ?? null, keyPaddingMask: o.srcKeyPaddingMask ?? null, isCausal: o.isCausal, needWeights: false };
    return tidy(() => {
      const sa = (x: Tensor) => this.dropout1.forward(this.self_attn.forward(x, x, x, attn)[0]);
      const ff = (x: Tensor) => this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.act(this.linear1.forward(x)))));
      let x = src;
      if (this.normFirst) {
        x = add(x, sa(this.norm1.forward(x)));
        x = add(x, ff(this.norm2.forward(x)));
      } else {
        x = this.norm1.forward(add(x, sa(x)));
        x = this.norm2.forward(add(x, ff(x)));
      }
      return x;
    });
  }

  /**
   * A copy with the same options, weights, trainability and mode (PyTorch's
   * copy.deepcopy of a layer), on the device and in the dtype of this one's
   * weights; it takes no draw from the global generator.
   */
  copy(): TransformerEncoderLayer {
    this.checkUsable('TransformerEncoderLayer.copy');
    const w = this.self_attn.out_proj.weight;
    const position = globalDrawPosition();
    let c: TransformerEncoderLayer;
    try {
      c = new TransformerEncoderLayer(this.dModel, this.nhead, { ...this.options, dtype: w.dtype as 'float32' | 'float64', device: w.device });
    } finally {
      setGlobalDrawPosition(position);
    }
    try {
      isolated(() => tidy(() => void c.loadStateDict(this.stateDict())));
      const mine = this.namedParameters();
      const theirs = new Map(c.namedParameters());
      for (const [name, t] of mine) theirs.get(name)!.requiresGrad = t.requiresGrad;
    } catch (e) {
      c.dispose();
      throw e;
    }
    return c.train(this.training);
  }
}

/**
 * A stack of encoder layers (torch.nn.TransformerEncoder), with an optional
 * final norm. `layer` is either an encoder layer, which becomes layers[0]
 * (owned by the encoder: disposing the encoder frees it) with numLayers − 1
 * copies of it (the same starting weights, as PyTorch's deep copies), or a
 * function called numLayers times (independently initialised layers).
 * forward(src, {mask, srcKeyPaddingMask, isCausal}) passes the masks to every
 * layer. State dict: layers.{i}.…, norm.* (PyTorch's names).
 */
export class TransformerEncoder extends Module {
  readonly numLayers: number;
  layers: ModuleList<TransformerEncoderLayer>;
  norm: Module | null;

  constructor(layer: TransformerEncoderLayer | (() => TransformerEncoderLayer), numLayers: number, options?: { norm?: Module | null }) {
    super();
    const op = 'TransformerEncoder';
    const o = checkOptions<{ norm: Module | null }>(options, op, ['norm']);
    this.numLayers = checkInteger(numLayers, op, 'numLayers', 1);
    const norm = o.norm ?? null;
    if (norm !== null && !(norm instanceof Module)) fail('INVALID_ARGUMENT', `${op}: norm must be a module (e.g. new nn.LayerNorm(dModel)) or null; got ${describe(norm)}`);
    const made: TransformerEncoderLayer[] = [];
    try {
      if (layer instanceof TransformerEncoderLayer) {
        if (layer.isDisposed) fail('DISPOSED', `${op}: the layer given has been disposed`);
        made.push(layer);
        for (let i = 1; i < numLayers; i++) made.push(layer.copy());
      } else if (typeof layer === 'function') {
        for (let i = 0; i < numLayers; i++) {
          const l: unknown = layer();
          if (!(l instanceof TransformerEncoderLayer))
            fail('INVALID_ARGUMENT', `${op}: the layer function must return a new nn.TransformerEncoderLayer; call ${i} returned ${describe(l)}`);
          if (made.includes(l)) fail('INVALID_ARGUMENT', `${op}: the layer function returned the same layer twice (call ${i}); it must make a new one each call`);
          made.push(l);
        }
      } else {
        fail('INVALID_ARGUMENT', `${op}: expected an nn.TransformerEncoderLayer or a function making one; got ${describe(layer)}`);
      }
      const batchFirst = made[0].batchFirst;
      made.forEach((l, i) => {
        if (l.batchFirst !== batchFirst || l.dModel !== made[0].dModel)
          fail('INVALID_ARGUMENT', `${op}: layer ${i} has dModel ${l.dModel} and batchFirst ${l.batchFirst}; layer 0 has ${made[0].dModel} and ${batchFirst}`);
      });
    } catch (e) {
      // Copies made here are ours to free; a given layer (or the function's) stays the caller's.
      if (layer instanceof TransformerEncoderLayer) made.slice(1).forEach((l) => l.dispose());
      throw e;
    }
    this.layers = this.registerModule('layers', new ModuleList(made));
    this.norm = norm === null ? null : this.registerModule('norm', norm);
  }

  forward(src: Tensor, options?: TransformerEncoderForwardOptions): Tensor {
    const op = 'TransformerEncoder';
    this.checkUsable(op);
    checkTensor(src, op, 'src');
    const o = checkOptions<TransformerEncoderForwardOptions>(options, op, ['mask', 'srcKeyPaddingMask', 'isCausal']);
    return tidy(() => {
      let x = src;
      for (const l of this.layers) x = l.forward(x, o);
      const norm = this.norm as (Module & { forward(t: Tensor): Tensor }) | null;
      return norm ? (norm.forward(x) as Tensor) : x;
    });
  }
}
