/**
 * torch.nn.TransformerEncoderLayer, TransformerEncoder,
 * TransformerDecoderLayer, TransformerDecoder and Transformer: PyTorch's
 * sub-modules, state-dict names, initialisation, post-norm (default) and
 * pre-norm (`normFirst`) blocks, masks and dropout placement, composed of
 * MultiheadAttention, Linear, LayerNorm and Dropout (recorded ops, every
 * device). The baseline a recurrent model is compared with.
 */
import { isolated, tidy } from '../engine';
import { fail } from '../errors';
import { add, gelu, relu } from '../ops/core';
import { globalDrawPosition, setGlobalDrawPosition } from '../random';
import { xavierUniform } from './init';
import { checkTensor, Tensor } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import { generateSquareSubsequentMask, MultiheadAttention } from './attention';
import { Dropout, LayerNorm, Linear, ModuleList } from './layers';
import { Module, onModuleClone } from './module';

/** An activation: PyTorch's names, a function of a tensor, or a module (its forward). */
export type TransformerActivation = 'relu' | 'gelu' | ((x: Tensor) => Tensor) | { forward(x: Tensor): Tensor };

export interface TransformerEncoderLayerOptions {
  /** Width of the feed-forward block (default 2048, as PyTorch's). */
  dimFeedforward?: number;
  /** Dropout on the attention weights, after the attention and feed-forward blocks, and inside the latter (default 0.1). */
  dropout?: number;
  /**
   * The feed-forward block's activation (default 'relu'; 'gelu' is the exact
   * one). A module is registered as the sub-module `activation` (as
   * PyTorch's) and shared by the copies a stack makes; one with parameters
   * or buffers cannot be copied: build such a stack from a function.
   */
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

/** The validated options shared by the encoder and decoder layers. */
interface LayerConfig {
  dimFeedforward: number;
  dropout: number;
  eps: number;
  batchFirst: boolean;
  normFirst: boolean;
  bias: boolean;
  act: (x: Tensor) => Tensor;
}

function layerConfig(op: string, dModel: number, nhead: number, o: TransformerEncoderLayerOptions): LayerConfig {
  checkInteger(dModel, op, 'dModel', 1);
  checkInteger(nhead, op, 'nhead', 1);
  if (dModel % nhead !== 0) fail('INVALID_ARGUMENT', `${op}: dModel must be divisible by nhead; got dModel ${dModel} and nhead ${nhead}`);
  const dimFeedforward = o.dimFeedforward === undefined ? 2048 : checkInteger(o.dimFeedforward, op, 'dimFeedforward', 1);
  const dropout = o.dropout === undefined ? 0.1 : checkFinite(o.dropout, op, 'dropout');
  if (dropout < 0 || dropout > 1) fail('INVALID_ARGUMENT', `${op}: dropout must be in [0, 1]; got ${dropout}`);
  const eps = o.layerNormEps === undefined ? 1e-5 : checkFinite(o.layerNormEps, op, 'layerNormEps');
  if (eps < 0) fail('INVALID_ARGUMENT', `${op}: layerNormEps must be >= 0; got ${eps}`);
  return {
    dimFeedforward,
    dropout,
    eps,
    batchFirst: o.batchFirst === undefined ? false : checkBoolean(o.batchFirst, op, 'batchFirst'),
    normFirst: o.normFirst === undefined ? false : checkBoolean(o.normFirst, op, 'normFirst'),
    bias: o.bias === undefined ? true : checkBoolean(o.bias, op, 'bias'),
    act: activationOf(o.activation ?? 'relu', op),
  };
}

/**
 * What the encoder and decoder layers share: self-attention, the
 * feed-forward block (linear1 → activation → dropout → linear2), LayerNorms
 * and dropouts, built in PyTorch's order (and so with its draws); the
 * decoder's cross-attention comes second, its third norm and dropout last.
 */
abstract class TransformerLayer extends Module {
  readonly dModel: number;
  readonly nhead: number;
  readonly dimFeedforward: number;
  readonly normFirst: boolean;
  readonly batchFirst: boolean;
  /** The options it was made with (the copies a stack makes are made from them). */
  readonly options: Readonly<TransformerEncoderLayerOptions>;
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  protected readonly act: (x: Tensor) => Tensor;

  protected constructor(op: string, dModel: number, nhead: number, options: TransformerEncoderLayerOptions | undefined, cross: boolean) {
    super();
    const o = checkOptions<TransformerEncoderLayerOptions>(options, op, LAYER_OPTIONS);
    const c = layerConfig(op, dModel, nhead, o);
    this.dModel = dModel;
    this.nhead = nhead;
    this.dimFeedforward = c.dimFeedforward;
    this.batchFirst = c.batchFirst;
    this.normFirst = c.normFirst;
    this.act = c.act;
    this.options = Object.freeze({ ...o });
    const placed = { dtype: o.dtype, device: o.device };
    const attention = () => new MultiheadAttention(dModel, nhead, { dropout: c.dropout, bias: c.bias, batchFirst: c.batchFirst, ...placed });
    const norm = () => new LayerNorm(dModel, { eps: c.eps, bias: c.bias, ...placed });
    this.self_attn = this.registerModule('self_attn', attention());
    // The decoder's own parts (declared there), assigned here to keep PyTorch's order.
    const own = this as unknown as { multihead_attn: MultiheadAttention; norm3: LayerNorm; dropout3: Dropout };
    if (cross) own.multihead_attn = this.registerModule('multihead_attn', attention());
    this.linear1 = this.registerModule('linear1', new Linear(dModel, c.dimFeedforward, { bias: c.bias, ...placed }));
    this.dropout = this.registerModule('dropout', new Dropout(c.dropout));
    this.linear2 = this.registerModule('linear2', new Linear(c.dimFeedforward, dModel, { bias: c.bias, ...placed }));
    this.norm1 = this.registerModule('norm1', norm());
    this.norm2 = this.registerModule('norm2', norm());
    if (cross) own.norm3 = this.registerModule('norm3', norm());
    this.dropout1 = this.registerModule('dropout1', new Dropout(c.dropout));
    this.dropout2 = this.registerModule('dropout2', new Dropout(c.dropout));
    if (cross) own.dropout3 = this.registerModule('dropout3', new Dropout(c.dropout));
    // A module activation is a sub-module, as PyTorch's (train/eval reach it; its parameters train and save).
    if (o.activation instanceof Module) this.registerModule('activation', o.activation);
  }

  /** Self-attention of x (masks as MultiheadAttention's), through dropout1. */
  protected selfAttention(x: Tensor, attnMask: Tensor | null | undefined, keyPaddingMask: Tensor | null | undefined, isCausal: boolean | undefined): Tensor {
    return this.dropout1.forward(this.self_attn.forward(x, x, x, { attnMask: attnMask ?? null, keyPaddingMask: keyPaddingMask ?? null, isCausal, needWeights: false })[0]);
  }

  /** linear2(dropout(act(linear1(x)))), through the given outer dropout. */
  protected feedForward(x: Tensor, outer: Dropout): Tensor {
    return outer.forward(this.linear2.forward(this.dropout.forward(this.act(this.linear1.forward(x)))));
  }

  /**
   * A copy with the same options, weights, trainability and mode (PyTorch's
   * copy.deepcopy of a layer), on the device and in the dtype of this one's
   * weights; it takes no draw from the global generator.
   */
  copy(): this {
    const op = `${this.constructor.name}.copy`;
    this.checkUsable(op);
    const w = this.self_attn.out_proj.weight;
    const Ctor = this.constructor as new (dModel: number, nhead: number, options: TransformerEncoderLayerOptions) => this;
    const act = this.options.activation;
    if (act instanceof Module && (act.parameters().length > 0 || act.namedBuffers().length > 0))
      fail('INVALID_ARGUMENT', `${op}: the activation is a module with parameters or buffers, which copies cannot share (PyTorch deep-copies it); make each layer with its own: new nn.${this.constructor.name === 'TransformerDecoderLayer' ? 'TransformerDecoder' : 'TransformerEncoder'}(() => new nn.${this.constructor.name}(…), numLayers)`);
    const position = globalDrawPosition();
    let c: this;
    try {
      c = new Ctor(this.dModel, this.nhead, { ...this.options, dtype: w.dtype as 'float32' | 'float64', device: w.device });
    } catch (e) {
      // A subclass with a constructor of its own cannot be remade from (dModel, nhead, options).
      if ((Ctor as unknown) !== TransformerEncoderLayer && (Ctor as unknown) !== TransformerDecoderLayer)
        fail('INVALID_ARGUMENT', `${op}: a ${this.constructor.name} could not be made from (dModel, nhead, options) (${(e as Error).message}); override copy() in the subclass, or build the stack from a function making each layer`, { cause: e });
      throw e;
    } finally {
      setGlobalDrawPosition(position);
    }
    try {
      isolated(() => tidy(() => void c.loadStateDict(this.stateDict())));
      const theirs = new Map(c.namedParameters());
      for (const [name, t] of this.namedParameters()) theirs.get(name)!.requiresGrad = t.requiresGrad;
    } catch (e) {
      c.dispose();
      throw e;
    }
    return c.train(this.training);
  }
}

/**
 * One encoder layer (torch.nn.TransformerEncoderLayer): self-attention then
 * the feed-forward block, each added back to its input through dropout, with
 * LayerNorms after (default) or before (`normFirst`) each block.
 * forward(src [S, N, E] or [N, S, E] with batchFirst or unbatched [S, E],
 * {mask, srcKeyPaddingMask, isCausal}) → same shape. State dict as
 * PyTorch's: self_attn.in_proj_weight, self_attn.in_proj_bias,
 * self_attn.out_proj.{weight,bias}, linear1.*, linear2.*, norm1.*, norm2.*.
 */
export class TransformerEncoderLayer extends TransformerLayer {
  constructor(dModel: number, nhead: number, options?: TransformerEncoderLayerOptions) {
    super('TransformerEncoderLayer', dModel, nhead, options, false);
  }

  forward(src: Tensor, options?: TransformerEncoderForwardOptions): Tensor {
    const op = 'TransformerEncoderLayer';
    this.checkUsable(op);
    checkTensor(src, op, 'src');
    const o = checkOptions<TransformerEncoderForwardOptions>(options, op, ['mask', 'srcKeyPaddingMask', 'isCausal']);
    return tidy(() => {
      const sa = (x: Tensor) => this.selfAttention(x, o.mask, o.srcKeyPaddingMask, o.isCausal);
      let x = src;
      if (this.normFirst) {
        x = add(x, sa(this.norm1.forward(x)));
        x = add(x, this.feedForward(this.norm2.forward(x), this.dropout2));
      } else {
        x = this.norm1.forward(add(x, sa(x)));
        x = this.norm2.forward(add(x, this.feedForward(x, this.dropout2)));
      }
      return x;
    });
  }
}

export interface TransformerDecoderForwardOptions {
  /** The self-attention mask [T, T] or [N·nhead, T, T] (PyTorch's `tgt_mask`); nn.generateSquareSubsequentMask(T) is the causal one. */
  tgtMask?: Tensor | null;
  /** The cross-attention mask [T, S] or [N·nhead, T, S] (PyTorch's `memory_mask`). */
  memoryMask?: Tensor | null;
  /** [N, T] (or [T]): nonzero at the target's padding (PyTorch's `tgt_key_padding_mask`). */
  tgtKeyPaddingMask?: Tensor | null;
  /** [N, S] (or [S]): nonzero at the memory's padding (PyTorch's `memory_key_padding_mask`). */
  memoryKeyPaddingMask?: Tensor | null;
  /** A hint that tgtMask is causal (it must be given). */
  tgtIsCausal?: boolean;
  /** A hint that memoryMask is causal (it must be given). */
  memoryIsCausal?: boolean;
}

const DECODER_FORWARD_OPTIONS = ['tgtMask', 'memoryMask', 'tgtKeyPaddingMask', 'memoryKeyPaddingMask', 'tgtIsCausal', 'memoryIsCausal'] as const;

/**
 * One decoder layer (torch.nn.TransformerDecoderLayer): self-attention over
 * the target, attention from the target to the memory (the encoder's
 * output), then the feed-forward block, each added back through dropout,
 * with LayerNorms after (default) or before (`normFirst`) each block.
 * forward(tgt [T, N, E], memory [S, N, E], {tgtMask, memoryMask,
 * tgtKeyPaddingMask, memoryKeyPaddingMask}) → like tgt. State dict as
 * PyTorch's: self_attn.*, multihead_attn.*, linear1.*, linear2.*, norm1–3.*.
 */
export class TransformerDecoderLayer extends TransformerLayer {
  declare multihead_attn: MultiheadAttention;
  declare norm3: LayerNorm;
  declare dropout3: Dropout;

  constructor(dModel: number, nhead: number, options?: TransformerEncoderLayerOptions) {
    super('TransformerDecoderLayer', dModel, nhead, options, true);
  }

  forward(tgt: Tensor, memory: Tensor, options?: TransformerDecoderForwardOptions): Tensor {
    const op = 'TransformerDecoderLayer';
    this.checkUsable(op);
    checkTensor(tgt, op, 'tgt');
    checkTensor(memory, op, 'memory');
    const o = checkOptions<TransformerDecoderForwardOptions>(options, op, DECODER_FORWARD_OPTIONS);
    return tidy(() => {
      const sa = (x: Tensor) => this.selfAttention(x, o.tgtMask, o.tgtKeyPaddingMask, o.tgtIsCausal);
      const ca = (x: Tensor) =>
        this.dropout2.forward(
          this.multihead_attn.forward(x, memory, memory, { attnMask: o.memoryMask ?? null, keyPaddingMask: o.memoryKeyPaddingMask ?? null, isCausal: o.memoryIsCausal, needWeights: false })[0],
        );
      let x = tgt;
      if (this.normFirst) {
        x = add(x, sa(this.norm1.forward(x)));
        x = add(x, ca(this.norm2.forward(x)));
        x = add(x, this.feedForward(this.norm3.forward(x), this.dropout3));
      } else {
        x = this.norm1.forward(add(x, sa(x)));
        x = this.norm2.forward(add(x, ca(x)));
        x = this.norm3.forward(add(x, this.feedForward(x, this.dropout3)));
      }
      return x;
    });
  }
}

/** The layers that belong to a stack (given to it, copied or made by its function). */
const stacked = new WeakSet<TransformerLayer>();
// A stack's copy (Module.clone()) owns its copied layers as the original owns its own.
onModuleClone((from, to) => {
  if (stacked.has(from as TransformerLayer)) stacked.add(to as TransformerLayer);
});

/**
 * The layers of a stack: `layer` itself (it becomes layers[0], owned by the
 * stack) and numLayers − 1 copies of it, or numLayers calls of a function. A
 * layer that already belongs to another stack stays there: this stack is
 * then numLayers copies of it (as PyTorch's, whose stacks are always deep
 * copies), so two stacks never share a layer.
 */
function stackLayers<L extends TransformerLayer>(op: string, Cls: abstract new (...args: never[]) => L, layer: L | (() => L), numLayers: number): L[] {
  const what = `nn.${Cls.name}`;
  const made: L[] = [];
  try {
    if (layer instanceof Cls) {
      if (layer.isDisposed) fail('DISPOSED', `${op}: the layer given has been disposed`);
      if (!stacked.has(layer)) made.push(layer);
      while (made.length < numLayers) made.push(layer.copy());
    } else if (typeof layer === 'function' && !(layer instanceof Module)) {
      for (let i = 0; i < numLayers; i++) {
        const l: unknown = (layer as () => L)();
        if (!(l instanceof Cls)) fail('INVALID_ARGUMENT', `${op}: the layer function must return a new ${what}; call ${i} returned ${describe(l)}`);
        if (made.includes(l)) fail('INVALID_ARGUMENT', `${op}: the layer function returned the same layer twice (call ${i}); it must make a new one each call`);
        if (stacked.has(l)) fail('INVALID_ARGUMENT', `${op}: the layer function returned a layer that belongs to another stack (call ${i}); it must make a new one each call`);
        made.push(l);
      }
    } else {
      fail('INVALID_ARGUMENT', `${op}: expected an ${what} or a function making one; got ${describe(layer)}`);
    }
    made.forEach((l, i) => {
      if (l.batchFirst !== made[0].batchFirst || l.dModel !== made[0].dModel)
        fail('INVALID_ARGUMENT', `${op}: layer ${i} has dModel ${l.dModel} and batchFirst ${l.batchFirst}; layer 0 has ${made[0].dModel} and ${made[0].batchFirst}`);
    });
  } catch (e) {
    // Copies made here are ours to free; the given layer (and what the function returned) stays the caller's.
    if (layer instanceof Cls) made.filter((l) => l !== layer).forEach((l) => l.dispose());
    throw e;
  }
  // A stack of 0 layers takes the layer given (as any stack does) but uses none of it: it is freed now.
  if (numLayers === 0) {
    made.forEach((l) => l.dispose());
    return [];
  }
  made.forEach((l) => stacked.add(l));
  return made;
}

/** What the encoder and decoder stacks share: layers made by stackLayers, an optional final norm. */
abstract class TransformerStack<L extends TransformerLayer> extends Module {
  readonly numLayers: number;
  layers: ModuleList<L>;
  norm: Module | null;

  protected constructor(op: string, Cls: abstract new (...args: never[]) => L, layer: L | (() => L), numLayers: number, options: { norm?: Module | null } | undefined) {
    super();
    for (const k of ['enableNestedTensor', 'maskCheck'])
      if (options && typeof options === 'object' && k in options)
        fail('INVALID_ARGUMENT', `${op}: antler has no nested-tensor fast path, so there is no '${k}': padded positions keep their computed values, as PyTorch's with enable_nested_tensor=False (its eval-mode fast path writes 0 there); drop the option and mask the padding in the loss`);
    const o = checkOptions<{ norm: Module | null }>(options, op, ['norm']);
    // 0 is allowed (PyTorch builds such a stack; its forward raises IndexError on layers[0]): the stack is then its final norm (or returns its input).
    this.numLayers = checkInteger(numLayers, op, 'numLayers', 0);
    const norm = o.norm ?? null;
    if (norm !== null && (!(norm instanceof Module) || typeof (norm as { forward?: unknown }).forward !== 'function'))
      fail('INVALID_ARGUMENT', `${op}: norm must be a module (e.g. new nn.LayerNorm(dModel)) or null; got ${describe(norm)}`);
    this.layers = this.registerModule('layers', new ModuleList(stackLayers(op, Cls, layer, numLayers)));
    this.norm = norm === null ? null : this.registerModule('norm', norm);
  }

  /** x through every layer (step runs one), then the final norm; with no layers and no norm, x itself (as PyTorch's). */
  protected run(x: Tensor, step: (layer: L, x: Tensor) => Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const l of this.layers) h = step(l, h);
      return this.norm ? ((this.norm as Module & { forward(t: Tensor): unknown }).forward(h) as Tensor) : h;
    });
  }
}

/**
 * A stack of encoder layers (torch.nn.TransformerEncoder), with an optional
 * final norm. `layer` is either an encoder layer, which becomes layers[0]
 * (owned by the encoder: disposing the encoder frees it) with numLayers − 1
 * copies of it (the same starting weights, as PyTorch's deep copies; a layer
 * that already belongs to a stack stays there, and this one is numLayers
 * copies of it), or a function called numLayers times (independently
 * initialised layers). numLayers 0 is allowed (PyTorch builds such a stack,
 * but its forward raises IndexError on layers[0]): no layers (a
 * layer given is freed at once, the stack owning what it is given), and
 * forward is the final norm, or src itself without one.
 * forward(src, {mask, srcKeyPaddingMask, isCausal}) passes the masks to every
 * layer. State dict: layers.{i}.…, norm.* (PyTorch's names).
 */
export class TransformerEncoder extends TransformerStack<TransformerEncoderLayer> {
  constructor(layer: TransformerEncoderLayer | (() => TransformerEncoderLayer), numLayers: number, options?: { norm?: Module | null }) {
    super('TransformerEncoder', TransformerEncoderLayer, layer, numLayers, options);
  }

  forward(src: Tensor, options?: TransformerEncoderForwardOptions): Tensor {
    const op = 'TransformerEncoder';
    this.checkUsable(op);
    checkTensor(src, op, 'src');
    const o = checkOptions<TransformerEncoderForwardOptions>(options, op, ['mask', 'srcKeyPaddingMask', 'isCausal']);
    return this.run(src, (l, x) => l.forward(x, o));
  }
}

/**
 * A stack of decoder layers (torch.nn.TransformerDecoder), with an optional
 * final norm; `layer` as TransformerEncoder's. forward(tgt, memory, {tgtMask,
 * memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask}) passes the memory and
 * masks to every layer. State dict: layers.{i}.…, norm.*.
 */
export class TransformerDecoder extends TransformerStack<TransformerDecoderLayer> {
  constructor(layer: TransformerDecoderLayer | (() => TransformerDecoderLayer), numLayers: number, options?: { norm?: Module | null }) {
    super('TransformerDecoder', TransformerDecoderLayer, layer, numLayers, options);
  }

  forward(tgt: Tensor, memory: Tensor, options?: TransformerDecoderForwardOptions): Tensor {
    const op = 'TransformerDecoder';
    this.checkUsable(op);
    checkTensor(tgt, op, 'tgt');
    checkTensor(memory, op, 'memory');
    const o = checkOptions<TransformerDecoderForwardOptions>(options, op, DECODER_FORWARD_OPTIONS);
    return this.run(tgt, (l, x) => l.forward(x, memory, o));
  }
}

export interface TransformerOptions extends TransformerEncoderLayerOptions {
  /** Model width (default 512). */
  dModel?: number;
  /** Attention heads (default 8). */
  nhead?: number;
  /** Encoder layers (default 6). */
  numEncoderLayers?: number;
  /** Decoder layers (default 6). */
  numDecoderLayers?: number;
  /** An encoder to use instead (owned by the Transformer); its forward(src, {mask, srcKeyPaddingMask, isCausal}) is called. */
  customEncoder?: Module | null;
  /** A decoder to use instead (owned by the Transformer); its forward(tgt, memory, {…}) is called. */
  customDecoder?: Module | null;
}

export interface TransformerForwardOptions {
  srcMask?: Tensor | null;
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  srcIsCausal?: boolean;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

/**
 * The encoder–decoder Transformer (torch.nn.Transformer): an encoder of
 * numEncoderLayers layers and a decoder of numDecoderLayers, each with a
 * final LayerNorm, every parameter of two or more dimensions re-drawn by
 * xavier_uniform_ (as PyTorch's _reset_parameters; so the layers do not
 * start equal). forward(src [S, N, E], tgt [T, N, E], {srcMask, tgtMask,
 * memoryMask, srcKeyPaddingMask, tgtKeyPaddingMask, memoryKeyPaddingMask})
 * → [T, N, E] ([N, ·, E] with batchFirst). State dict: encoder.layers.{i}.…,
 * encoder.norm.*, decoder.layers.{i}.…, decoder.norm.* (PyTorch's names).
 */
export class Transformer extends Module {
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;
  encoder: Module;
  decoder: Module;

  constructor(options?: TransformerOptions) {
    super();
    const op = 'Transformer';
    const o = checkOptions<TransformerOptions>(options, op, [...LAYER_OPTIONS, 'dModel', 'nhead', 'numEncoderLayers', 'numDecoderLayers', 'customEncoder', 'customDecoder']);
    this.dModel = o.dModel === undefined ? 512 : checkInteger(o.dModel, op, 'dModel', 1);
    this.nhead = o.nhead === undefined ? 8 : checkInteger(o.nhead, op, 'nhead', 1);
    const nEnc = o.numEncoderLayers === undefined ? 6 : checkInteger(o.numEncoderLayers, op, 'numEncoderLayers', 0);
    const nDec = o.numDecoderLayers === undefined ? 6 : checkInteger(o.numDecoderLayers, op, 'numDecoderLayers', 0);
    for (const k of ['customEncoder', 'customDecoder'] as const) {
      const m = o[k];
      if (m !== undefined && m !== null && !(m instanceof Module)) fail('INVALID_ARGUMENT', `${op}: ${k} must be a module or null; got ${describe(m)}`);
    }
    const layerOptions: TransformerEncoderLayerOptions = {};
    for (const k of LAYER_OPTIONS) if (o[k] !== undefined) (layerOptions as Record<string, unknown>)[k] = o[k];
    // Everything is checked before anything is made (the layer options by layerConfig).
    const c = layerConfig(op, this.dModel, this.nhead, layerOptions);
    this.batchFirst = c.batchFirst;
    const placed = { dtype: o.dtype, device: o.device };
    const finalNorm = () => new LayerNorm(this.dModel, { eps: c.eps, bias: c.bias, ...placed });
    // What is made here is freed if a later step throws; custom modules stay the caller's.
    const made: Module[] = [];
    const own = <M extends Module>(m: M): M => (made.push(m), m);
    try {
      const encoder = o.customEncoder ?? own(new TransformerEncoder(new TransformerEncoderLayer(this.dModel, this.nhead, layerOptions), nEnc, { norm: finalNorm() }));
      const decoder = o.customDecoder ?? own(new TransformerDecoder(new TransformerDecoderLayer(this.dModel, this.nhead, layerOptions), nDec, { norm: finalNorm() }));
      this.encoder = this.registerModule('encoder', encoder);
      this.decoder = this.registerModule('decoder', decoder);
      // PyTorch's _reset_parameters: xavier_uniform_ on every parameter of two or more dimensions, in order.
      isolated(() => {
        for (const p of this.parameters()) if (p.rank > 1) xavierUniform(p);
      });
    } catch (e) {
      made.forEach((m) => m.dispose());
      throw e;
    }
  }

  forward(src: Tensor, tgt: Tensor, options?: TransformerForwardOptions): Tensor {
    const op = 'Transformer';
    this.checkUsable(op);
    checkTensor(src, op, 'src');
    checkTensor(tgt, op, 'tgt');
    const o = checkOptions<TransformerForwardOptions>(options, op, [
      'srcMask', 'tgtMask', 'memoryMask', 'srcKeyPaddingMask', 'tgtKeyPaddingMask', 'memoryKeyPaddingMask', 'srcIsCausal', 'tgtIsCausal', 'memoryIsCausal',
    ]);
    const E = this.dModel;
    if (src.rank !== tgt.rank || (src.rank !== 2 && src.rank !== 3))
      fail('SHAPE_MISMATCH', `${op}: src has shape ${shapeText(src.shape)} and tgt ${shapeText(tgt.shape)}; expected both ${this.batchFirst ? '[N, ·, E]' : '[·, N, E]'} or both unbatched [·, E]`);
    const bAxis = this.batchFirst ? 0 : 1;
    if (src.rank === 3 && src.shape[bAxis] !== tgt.shape[bAxis])
      fail('SHAPE_MISMATCH', `${op}: src has shape ${shapeText(src.shape)} and tgt ${shapeText(tgt.shape)}; expected the same batch size (axis ${bAxis}${this.batchFirst ? ', batchFirst' : ''})`);
    if (src.shape[src.rank - 1] !== E || tgt.shape[tgt.rank - 1] !== E)
      fail('SHAPE_MISMATCH', `${op}: src has shape ${shapeText(src.shape)} and tgt ${shapeText(tgt.shape)}; expected ${E} features (dModel) in both`);
    return tidy(() => {
      const enc = this.encoder as Module & { forward(x: Tensor, o: TransformerEncoderForwardOptions): Tensor };
      const dec = this.decoder as Module & { forward(x: Tensor, m: Tensor, o: TransformerDecoderForwardOptions): Tensor };
      const memory = enc.forward(src, { mask: o.srcMask, srcKeyPaddingMask: o.srcKeyPaddingMask, isCausal: o.srcIsCausal });
      return dec.forward(tgt, memory, {
        tgtMask: o.tgtMask, memoryMask: o.memoryMask, tgtKeyPaddingMask: o.tgtKeyPaddingMask, memoryKeyPaddingMask: o.memoryKeyPaddingMask,
        tgtIsCausal: o.tgtIsCausal, memoryIsCausal: o.memoryIsCausal,
      }) as Tensor;
    }) as Tensor;
  }

  /** The causal mask [size, size] (nn.generateSquareSubsequentMask; PyTorch's static method of the same name). */
  static generateSquareSubsequentMask(size: number, options?: { dtype?: 'float32' | 'float64'; device?: string }): Tensor {
    return generateSquareSubsequentMask(size, options);
  }
}
