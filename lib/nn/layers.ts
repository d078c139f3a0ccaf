/** Basic layers, with PyTorch's parameter names, layouts and default initialisation. */
import { dispose, isolated, tidy } from '../engine';
import { fail } from '../errors';
import { add, div, elu, exp, gelu, geluApproximate, greater, leakyRelu, log1p, mul, relu, sigmoid, silu, softplus, tanh, where } from '../ops/core';
import { conv1d, Conv1dOptions, conv2d, Conv2dOptions, conv3d, Conv3dOptions, convGeometry, convNdGeometry, convTranspose1d, ConvTranspose1dOptions, convTranspose2d, ConvTranspose2dOptions, convTranspose3d, ConvTranspose3dOptions, convTransposeGeometry, convTransposeNdGeometry, convTuple, checkUnfoldOptions, fold, unfold, UnfoldOptions } from '../ops/conv';
import { pad, PadMode } from '../ops/shape';
import { celu, glu, hardshrink, hardsigmoid, hardswish, hardtanh, logSigmoid, mish, prelu, relu6, rrelu, rreluBounds, selu, softshrink, softsign, tanhshrink, threshold } from '../ops/extra';
import { adaptiveAvgPool1d, adaptiveMaxPool1d, avgPool1d, AvgPool1dOptions, maxPool1d, MaxPool1dOptions, poolGeometry } from '../ops/pool';
import { adaptiveAvgPool2d, adaptiveMaxPool2d, avgPool2d, AvgPool2dOptions, maxPool2d, MaxPool2dOptions, poolGeometryNd, Size2d, tupleNd } from '../ops/pool';
import { adaptiveAvgPool3d, adaptiveMaxPool3d, avgPool3d, AvgPool3dOptions, maxPool3d, MaxPool3dOptions, Size3d } from '../ops/pool';
import { batchNorm, bilinear, checkEps, dropout, dropoutMask, embedding, groupNorm, instanceNorm, layerNorm, linear } from '../ops/nn';
import { noGrad } from '../autograd/graph';
import { maxUnpool1d, maxUnpool2d, maxUnpool3d, unpoolGeometry } from '../ops/unpool';
import { embeddingBag, EmbeddingBagMode } from '../ops/embedding-bag';
import { checkTensor, full, rand, randn, tensor, Tensor } from '../tensor';
import { checkBoolean, checkDevice, checkFinite, checkInteger, checkOptions, describe, DType, shapeText, numel } from '../validate';
import { checkModuleInput, Module } from './module';

interface Placement {
  dtype?: 'float32' | 'float64';
  device?: string;
}

/** Checks the placement options of a layer made of parameters: float32 or float64 (they take gradients). */
function placement<T extends Placement>(o: Partial<T>, op: string): Partial<T> {
  if (o.dtype !== undefined && o.dtype !== 'float32' && o.dtype !== 'float64')
    fail('DTYPE_MISMATCH', `${op}: dtype must be 'float32' or 'float64' (parameters take gradients); got ${describe(o.dtype)}`);
  if (o.device !== undefined) checkDevice(o.device, op);
  return o;
}

function uniform(shape: number[], bound: number, p: Placement): Tensor {
  return isolated(() => rand(shape, { minval: -bound, maxval: bound, dtype: p.dtype, device: p.device }));
}

/** y = x Wᵀ + b; weight [out, in], bias [out]; both U(±1/√in) as in PyTorch. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options?: { bias?: boolean } & Placement) {
    super();
    const o = placement(checkOptions<{ bias: boolean } & Placement>(options, 'Linear', ['bias', 'dtype', 'device']), 'Linear');
    if (o.bias !== undefined) checkBoolean(o.bias, 'Linear', 'bias');
    this.inFeatures = checkInteger(inFeatures, 'Linear', 'inFeatures', 1);
    this.outFeatures = checkInteger(outFeatures, 'Linear', 'outFeatures', 1);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.registerParameter('weight', uniform([outFeatures, inFeatures], bound, o))!;
    this.bias = this.registerParameter('bias', o.bias === false ? null : uniform([outFeatures], bound, o));
  }

  forward(x: Tensor): Tensor {
    this.checkUsable('Linear');
    checkTensor(x, 'Linear', 'input');
    if (x.rank === 0) fail('SHAPE_MISMATCH', `Linear: input is a scalar (shape []); expected [..., ${this.inFeatures}]`);
    if (x.shape[x.rank - 1] !== this.inFeatures)
      fail('SHAPE_MISMATCH', `Linear: input has ${x.shape[x.rank - 1]} features (shape [${x.shape.join(', ')}]); expected ${this.inFeatures}`);
    if (this.weight) checkModuleInput('Linear', 'input', x, this.weight);
    return linear(x, this.weight, this.bias);
  }
}

/** torch.nn.Conv1d's padding_mode: 'zeros' (default) or one of pad's other modes. */
export type Conv1dPaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

/** Options of {@link Conv1d}. */
export interface Conv1dModuleOptions extends Conv1dOptions {
  bias?: boolean;
  /** How the padding is filled (PyTorch's padding_mode): 'zeros' (default), 'reflect' (padding less than the input's length), 'replicate' or 'circular' (padding at most the length). */
  paddingMode?: Conv1dPaddingMode;
}

/** Conv1d's and ConvTranspose1d's [inChannels, outChannels, kernelSize, groups], checked (the channels divisible by the groups). */
function convChannels(op: string, inChannels: number, outChannels: number, kernelSize: number, o: { bias?: boolean; groups?: number }): [number, number, number, number] {
  if (o.bias !== undefined) checkBoolean(o.bias, op, 'bias');
  const sizes = [checkInteger(inChannels, op, 'inChannels', 1), checkInteger(outChannels, op, 'outChannels', 1), checkInteger(kernelSize, op, 'kernelSize', 1)];
  const groups = o.groups === undefined ? 1 : checkInteger(o.groups, op, 'groups', 1);
  if (inChannels % groups !== 0 || outChannels % groups !== 0)
    fail('INVALID_ARGUMENT', `${op}: inChannels (${inChannels}) and outChannels (${outChannels}) must both be divisible by groups (${groups})`);
  return [sizes[0], sizes[1], sizes[2], groups];
}

/** A convolution module's paddingMode ('zeros' when not given), or INVALID_ARGUMENT. */
function checkPaddingMode(op: string, mode: unknown): Conv1dPaddingMode {
  const m = mode === undefined ? 'zeros' : mode;
  if (!['zeros', 'reflect', 'replicate', 'circular'].includes(m as string))
    fail('INVALID_ARGUMENT', `${op}: paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular'; got ${describe(mode)}`);
  return m as Conv1dPaddingMode;
}

/**
 * torch.nn.Conv1d: weight [out, in / groups, kernelSize] and bias [out],
 * both U(±1/√(in / groups · kernelSize)) as in PyTorch; forward(x [N, in, L]
 * or [in, L]) is conv1d with the layer's stride, padding, dilation and
 * groups. paddingMode other than 'zeros' pads the input with pad's mode of
 * that name first (the same left and right amounts, 'same' included), then
 * convolves without padding, as PyTorch.
 */
export class Conv1d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly options: Conv1dOptions;
  readonly paddingMode: Conv1dPaddingMode;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: number, options?: Conv1dModuleOptions & Placement) {
    super();
    const op = 'Conv1d';
    const o = placement(checkOptions<Conv1dModuleOptions & Placement>(options, op, ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode', 'dtype', 'device']), op);
    let groups: number;
    [this.inChannels, this.outChannels, this.kernelSize, groups] = convChannels(op, inChannels, outChannels, kernelSize, o);
    this.paddingMode = checkPaddingMode(op, o.paddingMode);
    this.options = { stride: o.stride, padding: o.padding, dilation: o.dilation, groups };
    convGeometry(op, Number.MAX_SAFE_INTEGER, kernelSize, this.options); // the options, checked now rather than at the first forward
    // PyTorch's reset_parameters: U(±1/√fan_in), fan_in = inChannels / groups · kernelSize.
    const bound = 1 / Math.sqrt((inChannels / groups) * kernelSize);
    this.weight = this.registerParameter('weight', uniform([outChannels, inChannels / groups, kernelSize], bound, o))!;
    this.bias = this.registerParameter('bias', o.bias === false ? null : uniform([outChannels], bound, o));
  }

  forward(x: Tensor): Tensor {
    this.checkUsable('Conv1d');
    checkTensor(x, 'Conv1d', 'input');
    if (this.weight) checkModuleInput('Conv1d', 'input', x, this.weight);
    if (this.paddingMode === 'zeros') return conv1d(x, this.weight, this.bias, this.options);
    if (x.rank !== 2 && x.rank !== 3) fail('SHAPE_MISMATCH', `Conv1d: input has shape ${shapeText(x.shape)}; expected [N, ${this.inChannels}, L] or unbatched [${this.inChannels}, L]`);
    // PyTorch pads with the mode (left and right as conv1d's zeros would be), then convolves with padding 0.
    const L = x.shape[x.rank - 1];
    const g = convGeometry('Conv1d', Number.MAX_SAFE_INTEGER, this.kernelSize, this.options);
    if (this.paddingMode === 'reflect' && Math.max(g.left, g.right) >= L)
      fail('INVALID_ARGUMENT', `Conv1d: paddingMode 'reflect' needs padding less than the input's length; got padding [${g.left}, ${g.right}] for an input of length ${L} (shape ${shapeText(x.shape)})`);
    if (this.paddingMode === 'circular' && Math.max(g.left, g.right) > L)
      fail('INVALID_ARGUMENT', `Conv1d: paddingMode 'circular' needs padding at most the input's length; got padding [${g.left}, ${g.right}] for an input of length ${L} (shape ${shapeText(x.shape)})`);
    if (!g.left && !g.right) return conv1d(x, this.weight, this.bias, { ...this.options, padding: 0 });
    return tidy(() => {
      const pads: [number, number][] = x.shape.map((_, i) => (i === x.rank - 1 ? [g.left, g.right] : [0, 0]));
      return conv1d(pad(x, pads, { mode: this.paddingMode as PadMode }), this.weight, this.bias, { ...this.options, padding: 0 });
    });
  }
}

/** Options of {@link ConvTranspose1d}. */
export interface ConvTranspose1dModuleOptions extends ConvTranspose1dOptions {
  bias?: boolean;
}

/**
 * torch.nn.ConvTranspose1d: weight [in, out / groups, kernelSize] and bias
 * [out], both U(±1/√(out / groups · kernelSize)) as PyTorch's
 * reset_parameters (kaiming_uniform with a = √5 over the fan-in that
 * _calculate_fan_in_and_fan_out reads from this layout: weight.size(1) ·
 * kernelSize); forward(x [N, in, L] or [in, L], {outputSize}) is
 * convTranspose1d with the layer's options. outputSize (PyTorch's
 * output_size: [Lout], or with the batch and channel axes, [N, out, Lout],
 * or [out, Lout] for unbatched input) picks the outputPadding that gives that
 * length, which must lie in [min, min + stride − 1], min the length with
 * outputPadding 0.
 */
export class ConvTranspose1d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly options: ConvTranspose1dOptions;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: number, options?: ConvTranspose1dModuleOptions & Placement) {
    super();
    const op = 'ConvTranspose1d';
    const o = placement(checkOptions<ConvTranspose1dModuleOptions & Placement>(options, op, ['stride', 'padding', 'outputPadding', 'groups', 'dilation', 'bias', 'dtype', 'device']), op);
    let groups: number;
    [this.inChannels, this.outChannels, this.kernelSize, groups] = convChannels(op, inChannels, outChannels, kernelSize, o);
    this.options = { stride: o.stride, padding: o.padding, outputPadding: o.outputPadding, dilation: o.dilation, groups };
    convTransposeGeometry(op, Number.MAX_SAFE_INTEGER / 4, kernelSize, this.options); // the options, checked now
    // PyTorch: fan_in = weight.size(1) · kernelSize = out / groups · kernelSize, for the weight and the bias.
    const bound = 1 / Math.sqrt((outChannels / groups) * kernelSize);
    this.weight = this.registerParameter('weight', uniform([inChannels, outChannels / groups, kernelSize], bound, o))!;
    this.bias = this.registerParameter('bias', o.bias === false ? null : uniform([outChannels], bound, o));
  }

  forward(x: Tensor, options?: { outputSize?: readonly number[] }): Tensor {
    const op = 'ConvTranspose1d';
    this.checkUsable(op);
    checkTensor(x, op, 'input');
    if (this.weight) checkModuleInput(op, 'input', x, this.weight);
    const fo = checkOptions<{ outputSize: readonly number[] }>(options, op, ['outputSize']);
    if (fo.outputSize === undefined) return convTranspose1d(x, this.weight, this.bias, this.options);
    if (x.rank !== 2 && x.rank !== 3) fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; expected [N, ${this.inChannels}, L] or unbatched [${this.inChannels}, L]`);
    const size = fo.outputSize;
    const full = x.rank; // [N, out, Lout] for batched input, [out, Lout] unbatched
    if (!Array.isArray(size) || (size.length !== 1 && size.length !== full) || !size.every((v) => typeof v === 'number' && Number.isInteger(v)))
      fail('INVALID_ARGUMENT', `${op}: for ${x.rank}-D input, outputSize must hold 1 or ${full} integers (as PyTorch's output_size); got ${describe(size)}`);
    const want = size[size.length - 1];
    const stride = this.options.stride ?? 1, padding = this.options.padding ?? 0, dilation = this.options.dilation ?? 1;
    const L = x.shape[x.rank - 1];
    const min = (L - 1) * stride - 2 * padding + dilation * (this.kernelSize - 1) + 1, max = min + stride - 1;
    if (want < min || want > max)
      fail('INVALID_ARGUMENT', `${op}: requested an output size of ${shapeText(size)}, but valid sizes range from ${min} to ${max} (for an input of length ${L})`);
    return convTranspose1d(x, this.weight, this.bias, { ...this.options, outputPadding: want - min });
  }
}

/** The spatial axes' names and letters (messages) of the 2-D and 3-D convolution modules. */
const CONV_AXES: Record<number, { names: string[]; letters: string }> = {
  2: { names: ['height', 'width'], letters: 'H, W' },
  3: { names: ['depth', 'height', 'width'], letters: 'D, H, W' },
};

/**
 * What the 2-D and 3-D convolution modules share (PyTorch's _ConvNd): the
 * channels and kernel sizes checked (kernelSize one number or one per
 * spatial axis), `check` run on the groups before any parameter exists, then
 * weight [out, in / groups, ...kernel] ([in, out / groups, ...kernel]
 * transposed) and bias [out], both U(±1/√fanIn) as PyTorch's
 * reset_parameters (kaiming_uniform with a = √5; fanIn = weight.size(1) ·
 * the kernel's taps, so out / groups · taps for the transposed ones).
 */
abstract class ConvNdModule extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly number[];
  weight: Tensor;
  bias: Tensor | null;
  /** The name in messages. */
  protected readonly opName: string;

  protected constructor(op: string, k: number, transposed: boolean, inChannels: number, outChannels: number, kernelSize: unknown, o: { bias?: boolean; groups?: number } & Placement, check: (groups: number, ks: number[]) => void) {
    super();
    this.opName = op;
    const ks = convTuple<number>(op, 'kernelSize', kernelSize as number, k).map((v) => checkInteger(v, op, 'kernelSize', 1));
    let groups: number;
    [this.inChannels, this.outChannels, , groups] = convChannels(op, inChannels, outChannels, ks[0], o);
    this.kernelSize = ks;
    check(groups, ks);
    const taps = ks.reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(((transposed ? outChannels : inChannels) / groups) * taps);
    const shape = transposed ? [inChannels, outChannels / groups, ...ks] : [outChannels, inChannels / groups, ...ks];
    this.weight = this.registerParameter('weight', uniform(shape, bound, o))!;
    this.bias = this.registerParameter('bias', o.bias === false ? null : uniform([outChannels], bound, o));
  }

  /** The input checked against the module's dtype and device. */
  protected checkForward(op: string, x: Tensor): void {
    this.checkUsable(op);
    checkTensor(x, op, 'input');
    if (this.weight) checkModuleInput(op, 'input', x, this.weight);
  }

  /** The input's rank checked: [N, in, ...] or unbatched [in, ...] with the kernel's spatial axes. */
  protected checkRank(op: string, x: Tensor): void {
    const k = this.kernelSize.length, letters = CONV_AXES[k].letters;
    if (x.rank !== k + 1 && x.rank !== k + 2)
      fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; expected [N, ${this.inChannels}, ${letters}] or unbatched [${this.inChannels}, ${letters}]`);
  }
}

/** Options of {@link Conv2d}. */
export interface Conv2dModuleOptions extends Conv2dOptions {
  bias?: boolean;
  /** How the padding is filled (PyTorch's padding_mode), as {@link Conv1d}'s: 'zeros' (default), 'reflect' (padding less than the axis's size), 'replicate' or 'circular' (padding at most the size). */
  paddingMode?: Conv1dPaddingMode;
}

/** Options of {@link Conv3d}. */
export interface Conv3dModuleOptions extends Conv3dOptions {
  bias?: boolean;
  /** How the padding is filled (PyTorch's padding_mode), as {@link Conv2d}'s. */
  paddingMode?: Conv1dPaddingMode;
}

/** Conv2d and Conv3d: the options checked when built; forward is the functional convolution, paddingMode other than 'zeros' padding first. */
abstract class PaddedConvNd extends ConvNdModule {
  readonly options: Conv2dOptions | Conv3dOptions;
  readonly paddingMode: Conv1dPaddingMode;

  protected constructor(op: string, k: 2 | 3, inChannels: number, outChannels: number, kernelSize: unknown, options: (Conv2dModuleOptions | Conv3dModuleOptions) & Placement | undefined) {
    const o = placement(checkOptions<Conv2dModuleOptions & Placement>(options as Conv2dModuleOptions, op, ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode', 'dtype', 'device']), op);
    let checked: { mode: Conv1dPaddingMode; options: Conv2dOptions | Conv3dOptions } | undefined;
    super(op, k, false, inChannels, outChannels, kernelSize, o, (groups, ks) => {
      const mode = checkPaddingMode(op, o.paddingMode);
      const opts = { stride: o.stride, padding: o.padding, dilation: o.dilation, groups };
      convNdGeometry(op, new Array<number>(k).fill(Number.MAX_SAFE_INTEGER), ks, opts); // the options, checked now rather than at the first forward
      checked = { mode, options: opts };
    });
    this.paddingMode = checked!.mode;
    this.options = checked!.options;
  }

  /** The functional convolution of this dimension. */
  private conv(x: Tensor, options: Conv2dOptions | Conv3dOptions): Tensor {
    return this.kernelSize.length === 2 ? conv2d(x, this.weight, this.bias, options as Conv2dOptions) : conv3d(x, this.weight, this.bias, options as Conv3dOptions);
  }

  forward(x: Tensor): Tensor {
    const op = this.opName;
    this.checkForward(op, x);
    if (this.paddingMode === 'zeros') return this.conv(x, this.options);
    this.checkRank(op, x);
    // PyTorch pads with the mode (each side as the zeros would be), then convolves with padding 0.
    const k = this.kernelSize.length;
    const gs = convNdGeometry(op, new Array<number>(k).fill(Number.MAX_SAFE_INTEGER), this.kernelSize, this.options);
    const pads: [number, number][] = x.shape.map(() => [0, 0]);
    gs.forEach((g, i) => {
      const size = x.shape[x.rank - k + i], axis = CONV_AXES[k].names[i];
      if (this.paddingMode === 'reflect' && Math.max(g.left, g.right) >= size)
        fail('INVALID_ARGUMENT', `${op}: paddingMode 'reflect' needs padding less than the input's ${axis}; got padding [${g.left}, ${g.right}] for an input of ${axis} ${size} (shape ${shapeText(x.shape)})`);
      if (this.paddingMode === 'circular' && Math.max(g.left, g.right) > size)
        fail('INVALID_ARGUMENT', `${op}: paddingMode 'circular' needs padding at most the input's ${axis}; got padding [${g.left}, ${g.right}] for an input of ${axis} ${size} (shape ${shapeText(x.shape)})`);
      pads[x.rank - k + i] = [g.left, g.right];
    });
    if (pads.every(([l, r]) => !l && !r)) return this.conv(x, { ...this.options, padding: 0 });
    return tidy(() => this.conv(pad(x, pads, { mode: this.paddingMode as PadMode }), { ...this.options, padding: 0 }));
  }
}

/**
 * torch.nn.Conv2d: weight [out, in / groups, kH, kW] and bias [out], both
 * U(±1/√(in / groups · kH · kW)) as PyTorch's reset_parameters
 * (kaiming_uniform with a = √5); kernelSize, stride, padding and dilation
 * one number or [height, width]; forward(x [N, in, H, W] or [in, H, W]) is
 * conv2d with the layer's options. paddingMode other than 'zeros' pads the
 * input's height and width with pad's mode of that name first (the amounts
 * conv2d's zeros would take, 'same' included), then convolves without
 * padding, as PyTorch.
 */
export class Conv2d extends PaddedConvNd {
  declare readonly kernelSize: readonly [number, number];
  declare readonly options: Conv2dOptions;

  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number, number], options?: Conv2dModuleOptions & Placement) {
    super('Conv2d', 2, inChannels, outChannels, kernelSize, options);
  }
}

/**
 * torch.nn.Conv3d: weight [out, in / groups, kD, kH, kW] and bias [out],
 * both U(±1/√(in / groups · kD · kH · kW)) as PyTorch's reset_parameters;
 * kernelSize, stride, padding and dilation one number or [depth, height,
 * width]; forward(x [N, in, D, H, W] or [in, D, H, W]) is conv3d with the
 * layer's options; paddingMode as Conv2d's (over the three spatial axes).
 */
export class Conv3d extends PaddedConvNd {
  declare readonly kernelSize: readonly [number, number, number];
  declare readonly options: Conv3dOptions;

  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number, number, number], options?: Conv3dModuleOptions & Placement) {
    super('Conv3d', 3, inChannels, outChannels, kernelSize, options);
  }
}

/** Options of {@link ConvTranspose2d}. */
export interface ConvTranspose2dModuleOptions extends ConvTranspose2dOptions {
  bias?: boolean;
}

/** Options of {@link ConvTranspose3d}. */
export interface ConvTranspose3dModuleOptions extends ConvTranspose3dOptions {
  bias?: boolean;
}

/** ConvTranspose2d and ConvTranspose3d: the options checked when built; forward's outputSize picks outputPadding per axis. */
abstract class TransposedConvNd extends ConvNdModule {
  readonly options: ConvTranspose2dOptions | ConvTranspose3dOptions;

  protected constructor(op: string, k: 2 | 3, inChannels: number, outChannels: number, kernelSize: unknown, options: (ConvTranspose2dModuleOptions | ConvTranspose3dModuleOptions) & Placement | undefined) {
    const o = placement(checkOptions<ConvTranspose2dModuleOptions & Placement>(options as ConvTranspose2dModuleOptions, op, ['stride', 'padding', 'outputPadding', 'groups', 'dilation', 'bias', 'dtype', 'device']), op);
    let checked: ConvTranspose2dOptions | ConvTranspose3dOptions | undefined;
    super(op, k, true, inChannels, outChannels, kernelSize, o, (groups, ks) => {
      const opts = { stride: o.stride, padding: o.padding, outputPadding: o.outputPadding, dilation: o.dilation, groups };
      convTransposeNdGeometry(op, new Array<number>(k).fill(Number.MAX_SAFE_INTEGER / 4), ks, opts); // the options, checked now
      checked = opts;
    });
    this.options = checked!;
  }

  /** The functional transposed convolution of this dimension. */
  private convT(x: Tensor, options: ConvTranspose2dOptions | ConvTranspose3dOptions): Tensor {
    return this.kernelSize.length === 2
      ? convTranspose2d(x, this.weight, this.bias, options as ConvTranspose2dOptions)
      : convTranspose3d(x, this.weight, this.bias, options as ConvTranspose3dOptions);
  }

  forward(x: Tensor, options?: { outputSize?: readonly number[] }): Tensor {
    const op = this.opName;
    this.checkForward(op, x);
    const fo = checkOptions<{ outputSize: readonly number[] }>(options, op, ['outputSize']);
    if (fo.outputSize === undefined) return this.convT(x, this.options);
    this.checkRank(op, x);
    const k = this.kernelSize.length, size = fo.outputSize;
    if (!Array.isArray(size) || (size.length !== k && size.length !== x.rank) || !size.every((v) => typeof v === 'number' && Number.isInteger(v)))
      fail('INVALID_ARGUMENT', `${op}: for ${x.rank}-D input, outputSize must hold ${k} or ${x.rank} integers (as PyTorch's output_size); got ${describe(size)}`);
    const gs = convTransposeNdGeometry(op, x.shape.slice(x.rank - k), this.kernelSize, { ...this.options, outputPadding: 0 });
    const outputPadding = gs.map((g, i) => {
      const want = size[size.length - k + i], min = g.Lout, max = min + g.stride - 1;
      if (want < min || want > max)
        fail('INVALID_ARGUMENT', `${op}: requested an output size of ${shapeText(size)}, but valid sizes range from [${gs.map((h) => h.Lout).join(', ')}] to [${gs.map((h) => h.Lout + h.stride - 1).join(', ')}] (for an input of shape ${shapeText(x.shape)})`);
      return want - min;
    });
    return this.convT(x, { ...this.options, outputPadding } as unknown as ConvTranspose2dOptions);
  }
}

/**
 * torch.nn.ConvTranspose2d: weight [in, out / groups, kH, kW] and bias
 * [out], both U(±1/√(out / groups · kH · kW)) as PyTorch's reset_parameters
 * (kaiming_uniform with a = √5 over the fan-in that
 * _calculate_fan_in_and_fan_out reads from this layout: weight.size(1) · kH ·
 * kW); forward(x [N, in, H, W] or [in, H, W], {outputSize}) is
 * convTranspose2d with the layer's options. outputSize (PyTorch's
 * output_size: [Hout, Wout], or with the batch and channel axes) picks the
 * outputPadding that gives that size, each in [min, min + stride − 1] along
 * its axis, min the size with outputPadding 0.
 */
export class ConvTranspose2d extends TransposedConvNd {
  declare readonly kernelSize: readonly [number, number];
  declare readonly options: ConvTranspose2dOptions;

  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number, number], options?: ConvTranspose2dModuleOptions & Placement) {
    super('ConvTranspose2d', 2, inChannels, outChannels, kernelSize, options);
  }
}

/**
 * torch.nn.ConvTranspose3d: weight [in, out / groups, kD, kH, kW] and bias
 * [out], both U(±1/√(out / groups · kD · kH · kW)) as PyTorch's
 * reset_parameters; forward(x [N, in, D, H, W] or [in, D, H, W],
 * {outputSize}) is convTranspose3d with the layer's options; outputSize
 * ([Dout, Hout, Wout], or with the batch and channel axes) picks
 * outputPadding per axis as ConvTranspose2d's.
 */
export class ConvTranspose3d extends TransposedConvNd {
  declare readonly kernelSize: readonly [number, number, number];
  declare readonly options: ConvTranspose3dOptions;

  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number, number, number], options?: ConvTranspose3dModuleOptions & Placement) {
    super('ConvTranspose3d', 3, inChannels, outChannels, kernelSize, options);
  }
}

/** torch.nn.Unfold: {@link unfold} (im2col) with the layer's kernelSize, dilation, padding and stride. */
export class Unfold extends Module {
  readonly options: UnfoldOptions;
  constructor(readonly kernelSize: number | readonly [number, number], options?: UnfoldOptions) {
    super();
    this.options = checkOptions<UnfoldOptions>(options, 'Unfold', ['dilation', 'padding', 'stride']);
    checkUnfoldOptions('Unfold', kernelSize, this.options); // now rather than at the first forward
  }
  forward(x: Tensor): Tensor {
    return unfold(x, this.kernelSize, this.options);
  }
}

/** torch.nn.Fold: {@link fold} (col2im) into the layer's outputSize with its kernelSize, dilation, padding and stride. */
export class Fold extends Module {
  readonly options: UnfoldOptions;
  constructor(readonly outputSize: number | readonly [number, number], readonly kernelSize: number | readonly [number, number], options?: UnfoldOptions) {
    super();
    this.options = checkOptions<UnfoldOptions>(options, 'Fold', ['dilation', 'padding', 'stride']);
    checkUnfoldOptions('Fold', kernelSize, this.options, outputSize);
  }
  forward(x: Tensor): Tensor {
    return fold(x, this.outputSize, this.kernelSize, this.options);
  }
}

/**
 * torch.nn.Embedding: a lookup table [num, dim] ~ N(0, 1); paddingIdx's row
 * starts at zero and gets no gradient; maxNorm renormalises the rows a
 * forward uses, in place (normType: the p-norm, default 2);
 * scaleGradByFreq divides each row's gradient by its count in the batch.
 */
/** The weights Embedding.fromPretrained hands to the constructor (set only during that call). */
let pretrained: Tensor | null = null;

export class Embedding extends Module {
  weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, options?: { paddingIdx?: number; maxNorm?: number; normType?: number; scaleGradByFreq?: boolean } & Placement) {
    super();
    const o = placement(
      checkOptions<{ paddingIdx: number; maxNorm: number; normType: number; scaleGradByFreq: boolean } & Placement>(options, 'Embedding', ['paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'dtype', 'device']),
      'Embedding',
    );
    if (o.maxNorm !== undefined) {
      checkFinite(o.maxNorm, 'Embedding', 'maxNorm');
      if (o.maxNorm < 0) fail('INVALID_ARGUMENT', `Embedding: maxNorm must be >= 0; got ${o.maxNorm}`);
    }
    if (o.normType !== undefined && (typeof o.normType !== 'number' || !(o.normType > 0)))
      fail('INVALID_ARGUMENT', `Embedding: normType must be a number > 0 (Infinity for the largest entry); got ${describe(o.normType)}`);
    if (o.scaleGradByFreq !== undefined) checkBoolean(o.scaleGradByFreq, 'Embedding', 'scaleGradByFreq');
    this.lookup = { maxNorm: o.maxNorm, normType: o.normType, scaleGradByFreq: o.scaleGradByFreq };
    checkInteger(numEmbeddings, 'Embedding', 'numEmbeddings', 1);
    checkInteger(embeddingDim, 'Embedding', 'embeddingDim', 1);
    const pi = o.paddingIdx === undefined ? undefined : o.paddingIdx < 0 ? o.paddingIdx + numEmbeddings : o.paddingIdx;
    if (pi !== undefined && (!Number.isInteger(pi) || pi < 0 || pi >= numEmbeddings))
      fail('INVALID_ARGUMENT', `Embedding: paddingIdx ${describe(o.paddingIdx)} is outside [-${numEmbeddings}, ${numEmbeddings})`);
    if (pretrained) {
      // fromPretrained: the given values as they are (the padding row too, as PyTorch's), no draw from the generator.
      this.paddingIdx = pi;
      this.weight = this.registerParameter('weight', isolated(() => tidy(() => pretrained!.detach().clone())));
      return;
    }
    let w = isolated(() => randn([numEmbeddings, embeddingDim], { dtype: o.dtype, device: o.device }));
    if (pi !== undefined) {
      this.paddingIdx = pi;
      const values = w.dataSync();
      values.fill(0, pi * embeddingDim, (pi + 1) * embeddingDim);
      const zeroed = isolated(() => tensor(values, [numEmbeddings, embeddingDim], { dtype: w.dtype, device: w.device }));
      w.dispose();
      w = zeroed;
    }
    this.weight = this.registerParameter('weight', w)!;
  }

  /**
   * An Embedding holding a copy of `embeddings` [numEmbeddings, embeddingDim]
   * (nn.Embedding.from_pretrained: pretrained word vectors), frozen unless
   * `freeze: false` (its weight then takes no gradient, so optimizers leave
   * it alone). The padding row is kept as given; paddingIdx only stops its
   * gradient, as PyTorch's.
   */
  static fromPretrained(
    embeddings: Tensor,
    options?: { freeze?: boolean; paddingIdx?: number; maxNorm?: number; normType?: number; scaleGradByFreq?: boolean },
  ): Embedding {
    const op = 'Embedding.fromPretrained';
    checkTensor(embeddings, op, 'embeddings');
    if (embeddings.rank !== 2) fail('SHAPE_MISMATCH', `${op}: embeddings must be 2-D [numEmbeddings, embeddingDim]; got shape ${shapeText(embeddings.shape)}`);
    if (embeddings.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: embeddings must be float32 or float64; got int32`);
    const { freeze, ...rest } = checkOptions<{ freeze: boolean; paddingIdx: number; maxNorm: number; normType: number; scaleGradByFreq: boolean }>(options, op, [
      'freeze', 'paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq',
    ]);
    const frozen = freeze === undefined ? true : checkBoolean(freeze, op, 'freeze');
    pretrained = embeddings;
    try {
      const m = new Embedding(embeddings.shape[0], embeddings.shape[1], { ...rest, dtype: embeddings.dtype, device: embeddings.device });
      m.weight.requiresGrad = !frozen;
      return m;
    } finally {
      pretrained = null;
    }
  }

  readonly paddingIdx: number | undefined;
  /** maxNorm, normType and scaleGradByFreq, as given (PyTorch's max_norm, norm_type, scale_grad_by_freq). */
  readonly lookup: { maxNorm?: number; normType?: number; scaleGradByFreq?: boolean };

  forward(indices: Tensor): Tensor {
    this.checkUsable('Embedding');
    return embedding(indices, this.weight, { paddingIdx: this.paddingIdx, ...this.lookup });
  }
}

/** Options of {@link EmbeddingBag}'s constructor (torch.nn.EmbeddingBag's, camelCase). */
export interface EmbeddingBagModuleOptions extends Placement {
  /** 'mean' (the default), 'sum' or 'max': how a bag's rows are reduced. */
  mode?: EmbeddingBagMode;
  /** Every row a forward uses whose normType-norm exceeds maxNorm is scaled in place to maxNorm. */
  maxNorm?: number;
  /** The p of maxNorm's p-norm (default 2). */
  normType?: number;
  /** This row starts at zero, is left out of every bag and gets no gradient; negative counts from the end. */
  paddingIdx?: number;
  /** offsets has B + 1 entries, the last ending the last bag (CSR layout). */
  includeLastOffset?: boolean;
  /** The initial table [numEmbeddings, embeddingDim] (copied; its padding row kept as given), instead of a N(0, 1) draw. */
  _weight?: Tensor;
}

/** The weights EmbeddingBag.fromPretrained hands to the constructor (set only during that call). */
let pretrainedBag: { weight: Tensor } | null = null;

/**
 * torch.nn.EmbeddingBag: a lookup table [num, dim] ~ N(0, 1) (paddingIdx's
 * row zeroed) whose forward(input, {offsets, perSampleWeights}) sums,
 * averages or takes the maximum of each bag of rows without forming the
 * per-index embeddings' batch ({@link embeddingBag}, which gives the
 * layouts: a 2-D [B, N] input or a 1-D one with offsets). The default mode
 * is 'mean', as PyTorch's. PyTorch's scaleGradByFreq and sparse are not
 * supported.
 */
export class EmbeddingBag extends Module {
  weight: Tensor;
  readonly mode: EmbeddingBagMode;
  readonly paddingIdx: number | undefined;
  readonly includeLastOffset: boolean;
  readonly maxNorm: number | undefined;
  readonly normType: number;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, options?: EmbeddingBagModuleOptions) {
    super();
    const op = 'EmbeddingBag';
    const o = placement(
      checkOptions<EmbeddingBagModuleOptions>(options, op, ['mode', 'maxNorm', 'normType', 'paddingIdx', 'includeLastOffset', '_weight', 'dtype', 'device']),
      op,
    );
    checkInteger(numEmbeddings, op, 'numEmbeddings', 1);
    checkInteger(embeddingDim, op, 'embeddingDim', 1);
    const mode = o.mode === undefined ? 'mean' : o.mode;
    if (mode !== 'sum' && mode !== 'mean' && mode !== 'max') fail('INVALID_ARGUMENT', `${op}: mode must be 'sum', 'mean' or 'max'; got ${describe(o.mode)}`);
    this.mode = mode;
    if (o.maxNorm !== undefined) {
      checkFinite(o.maxNorm, op, 'maxNorm');
      if (o.maxNorm < 0) fail('INVALID_ARGUMENT', `${op}: maxNorm must be >= 0; got ${o.maxNorm}`);
    }
    this.maxNorm = o.maxNorm;
    if (o.normType !== undefined && (typeof o.normType !== 'number' || !(o.normType > 0)))
      fail('INVALID_ARGUMENT', `${op}: normType must be a number > 0 (Infinity for the largest entry); got ${describe(o.normType)}`);
    this.normType = o.normType ?? 2;
    this.includeLastOffset = o.includeLastOffset === undefined ? false : checkBoolean(o.includeLastOffset, op, 'includeLastOffset');
    const pi = o.paddingIdx === undefined ? undefined : o.paddingIdx < 0 ? o.paddingIdx + numEmbeddings : o.paddingIdx;
    if (pi !== undefined && (!Number.isInteger(pi) || pi < 0 || pi >= numEmbeddings))
      fail('INVALID_ARGUMENT', `${op}: paddingIdx ${describe(o.paddingIdx)} is outside [-${numEmbeddings}, ${numEmbeddings})`);
    this.paddingIdx = pi;
    const given = pretrainedBag?.weight ?? o._weight;
    if (given !== undefined) {
      // _weight / fromPretrained: the given values as they are (the padding row too, as PyTorch's), no draw.
      checkTensor(given, op, '_weight');
      if (given.rank !== 2 || given.shape[0] !== numEmbeddings || given.shape[1] !== embeddingDim)
        fail('SHAPE_MISMATCH', `${op}: _weight must be [numEmbeddings, embeddingDim] = [${numEmbeddings}, ${embeddingDim}]; got ${shapeText(given.shape)}`);
      if (given.dtype !== 'float32' && given.dtype !== 'float64') fail('DTYPE_MISMATCH', `${op}: _weight must be float32 or float64; got ${given.dtype}`);
      this.weight = this.registerParameter('weight', isolated(() => tidy(() => given.detach().clone())));
      return;
    }
    let w = isolated(() => randn([numEmbeddings, embeddingDim], { dtype: o.dtype, device: o.device }));
    if (pi !== undefined) {
      const values = w.dataSync();
      values.fill(0, pi * embeddingDim, (pi + 1) * embeddingDim);
      const zeroed = isolated(() => tensor(values, [numEmbeddings, embeddingDim], { dtype: w.dtype, device: w.device }));
      w.dispose();
      w = zeroed;
    }
    this.weight = this.registerParameter('weight', w)!;
  }

  /**
   * An EmbeddingBag holding a copy of `embeddings` [numEmbeddings,
   * embeddingDim] (nn.EmbeddingBag.from_pretrained), frozen unless
   * `freeze: false`. The padding row is kept as given.
   */
  static fromPretrained(
    embeddings: Tensor,
    options?: { freeze?: boolean; mode?: EmbeddingBagMode; maxNorm?: number; normType?: number; paddingIdx?: number; includeLastOffset?: boolean },
  ): EmbeddingBag {
    const op = 'EmbeddingBag.fromPretrained';
    checkTensor(embeddings, op, 'embeddings');
    if (embeddings.rank !== 2) fail('SHAPE_MISMATCH', `${op}: embeddings must be 2-D [numEmbeddings, embeddingDim]; got shape ${shapeText(embeddings.shape)}`);
    if (embeddings.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: embeddings must be float32 or float64; got int32`);
    const { freeze, ...rest } = checkOptions<{ freeze: boolean; mode: EmbeddingBagMode; maxNorm: number; normType: number; paddingIdx: number; includeLastOffset: boolean }>(
      options, op, ['freeze', 'mode', 'maxNorm', 'normType', 'paddingIdx', 'includeLastOffset'],
    );
    const frozen = freeze === undefined ? true : checkBoolean(freeze, op, 'freeze');
    pretrainedBag = { weight: embeddings };
    try {
      const m = new EmbeddingBag(embeddings.shape[0], embeddings.shape[1], { ...rest, dtype: embeddings.dtype, device: embeddings.device });
      m.weight.requiresGrad = !frozen;
      return m;
    } finally {
      pretrainedBag = null;
    }
  }

  /** The bags' sums, means or maxima [B, embeddingDim] (see {@link embeddingBag} for input, offsets and perSampleWeights). */
  forward(input: Tensor, options?: { offsets?: Tensor; perSampleWeights?: Tensor }): Tensor {
    this.checkUsable('EmbeddingBag');
    const o = checkOptions<{ offsets: Tensor; perSampleWeights: Tensor }>(options, 'EmbeddingBag.forward', ['offsets', 'perSampleWeights']);
    return embeddingBag(input, this.weight, {
      offsets: o.offsets,
      perSampleWeights: o.perSampleWeights,
      mode: this.mode,
      includeLastOffset: this.includeLastOffset,
      paddingIdx: this.paddingIdx,
      maxNorm: this.maxNorm,
      normType: this.normType,
    });
  }
}

/**
 * Inverted dropout, active in training mode. freeze() makes the next forward
 * draw a mask and every later forward replay it (same mask across Hessian
 * probes or repeated evaluations) until unfreeze().
 */
export class Dropout extends Module {
  private frozen = false;
  private mask: Tensor | null = null;
  constructor(readonly p = 0.5) {
    super();
    checkFinite(p, 'Dropout', 'p');
    if (p < 0 || p > 1) fail('INVALID_ARGUMENT', `Dropout: p must be in [0, 1]; got ${p}`);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return dropout(x, 0, { training: false });
    if (!this.frozen) return dropout(x, this.p);
    if (!this.mask || this.mask.shape.join() !== x.shape.join() || this.mask.device !== x.device || this.mask.dtype !== x.dtype) {
      this.mask?.dispose();
      this.mask = isolated(() => dropoutMask(x.shape, this.p, { dtype: x.dtype as 'float32' | 'float64', device: x.device }));
    }
    return dropout(x, this.p, { mask: this.mask });
  }

  freeze(): this {
    this.frozen = true;
    return this;
  }

  unfreeze(): this {
    this.frozen = false;
    this.mask?.dispose();
    this.mask = null;
    return this;
  }

  /** The frozen mask, freed with the module (also when a parent module is disposed). */
  protected releaseHeld(): void {
    this.unfreeze();
  }
}

/**
 * torch.nn.LayerNorm: normalises over the last len(normalizedShape) dims (a
 * number is one dim), biased variance; weight ones and bias zeros of shape
 * normalizedShape.
 */
export class LayerNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly eps: number;
  constructor(readonly normalizedShape: number | readonly number[], options?: { eps?: number; elementwiseAffine?: boolean; bias?: boolean } & Placement) {
    super();
    const op = 'LayerNorm';
    const o = checkOptions<{ eps: number; elementwiseAffine: boolean; bias: boolean } & Placement>(options, op, [
      'eps', 'elementwiseAffine', 'bias', 'dtype', 'device',
    ]);
    placement(o, op);
    const dims = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(dims) || dims.length === 0 || dims.length > 8)
      fail('INVALID_ARGUMENT', `${op}: normalizedShape must be a positive integer or an array of 1 to 8 of them; got ${describe(normalizedShape)}`);
    dims.forEach((d, i) => checkInteger(d, op, `normalizedShape[${i}]`, 1));
    this.dims = dims.slice();
    this.eps = checkEps(op, o.eps);
    if (o.elementwiseAffine !== undefined) checkBoolean(o.elementwiseAffine, op, 'elementwiseAffine');
    if (o.bias !== undefined) checkBoolean(o.bias, op, 'bias');
    const affine = o.elementwiseAffine !== false;
    const mk = (v: number) => isolated(() => full(this.dims, v, { dtype: o.dtype, device: o.device }));
    this.weight = this.registerParameter('weight', affine ? mk(1) : null);
    this.bias = this.registerParameter('bias', affine && o.bias !== false ? mk(0) : null);
  }
  private readonly dims: number[];

  forward(x: Tensor): Tensor {
    this.checkUsable('LayerNorm');
    checkTensor(x, 'LayerNorm', 'input');
    const k = this.dims.length;
    const trailing = x.shape.slice(Math.max(0, x.rank - k));
    if (x.rank < k || trailing.some((d, i) => d !== this.dims[i]))
      fail('SHAPE_MISMATCH', `LayerNorm: input has shape ${shapeText(x.shape)}; expected its last ${k === 1 ? 'dim' : `${k} dims`} to be ${shapeText(this.dims)}`);
    const like = this.weight ?? this.bias;
    if (like) checkModuleInput('LayerNorm', 'input', x, like);
    if (k === 1) return layerNorm(x, this.weight, this.bias, this.eps);
    // Several dims: normalise the flattened trailing block (reshapes are views; gradients flow through them).
    const D = numel(this.dims);
    return tidy(() => {
      const flat = (t: Tensor | null) => (t ? t.reshape([D]) : null);
      return layerNorm(x.reshape([...x.shape.slice(0, x.rank - k), D]), flat(this.weight), flat(this.bias), this.eps).reshape(x.shape);
    });
  }
}

/**
 * What BatchNorm1d and InstanceNorm1d share (PyTorch's _NormBase): options,
 * the per-channel weight (ones) and bias (zeros), and the running buffers
 * running_mean (zeros), running_var (ones) and num_batches_tracked (int32).
 */
abstract class NormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  /** The running statistics' update weight; null (BatchNorm1d only) for the cumulative average. */
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  numBatchesTracked: Tensor | null;
  // PyTorch's names for the buffers (accessors on the prototype, below the classes): assigning either name replaces the buffer.
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;
  protected constructor(op: string, numFeatures: number, options: BatchNorm1dOptions | undefined, defaults: { affine: boolean; trackRunningStats: boolean; nullMomentum: boolean }) {
    super();
    const o = placement(checkOptions<BatchNorm1dOptions>(options, op, ['eps', 'momentum', 'affine', 'trackRunningStats', 'dtype', 'device']), op);
    this.momentum = o.momentum === undefined ? 0.1 : o.momentum === null && defaults.nullMomentum ? null : checkFinite(o.momentum, op, 'momentum');
    this.numFeatures = checkInteger(numFeatures, op, 'numFeatures', 1);
    this.eps = checkEps(op, o.eps);
    this.affine = o.affine === undefined ? defaults.affine : checkBoolean(o.affine, op, 'affine');
    this.trackRunningStats = o.trackRunningStats === undefined ? defaults.trackRunningStats : checkBoolean(o.trackRunningStats, op, 'trackRunningStats');
    const place = { dtype: o.dtype, device: o.device };
    const mk = (v: number) => isolated(() => full([this.numFeatures], v, place));
    this.weight = this.registerParameter('weight', this.affine ? mk(1) : null);
    this.bias = this.registerParameter('bias', this.affine ? mk(0) : null);
    const track = this.trackRunningStats;
    this.runningMean = track ? this.registerBuffer('running_mean', mk(0)) : null;
    this.runningVar = track ? this.registerBuffer('running_var', mk(1)) : null;
    this.numBatchesTracked = track ? this.registerBuffer('num_batches_tracked', isolated(() => tensor(0, [], { dtype: 'int32', device: o.device }))) : null;
  }
}

/** BatchNorm1d's options (PyTorch's keywords). */
export interface BatchNorm1dOptions extends Placement {
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
  /** The running statistics' update weight (default 0.1); null for their cumulative average over all batches. */
  momentum?: number | null;
  /** A learnable per-channel weight (ones) and bias (zeros) (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true); without them the batch's are used in eval mode too. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over a mini-batch (torch.nn.BatchNorm1d): input [N, C]
 * or [N, C, L] (the channels on axis 1, as Conv1d gives them), normalised
 * per channel over N (and L). In training mode with the batch's mean and
 * biased variance, updating the running statistics (the variance's with
 * Bessel's correction); in eval mode with the running ones. State dict as
 * PyTorch's: weight, bias, running_mean, running_var, num_batches_tracked
 * (int32 here, int64 there; PyTorch's files load).
 */
export class BatchNorm1d extends NormBase {
  /** The name in messages (BatchNorm2d's its own). */
  protected static readonly opName: string = 'BatchNorm1d';
  constructor(numFeatures: number, options?: BatchNorm1dOptions) {
    super((new.target as unknown as typeof BatchNorm1d).opName, numFeatures, options, { affine: true, trackRunningStats: true, nullMomentum: true });
  }

  forward(x: Tensor): Tensor {
    const op = 'BatchNorm1d';
    this.checkUsable(op);
    checkTensor(x, op, 'input');
    if (x.rank !== 2 && x.rank !== 3) fail('SHAPE_MISMATCH', `${op}: expected input [N, C] or [N, C, L]; got shape ${shapeText(x.shape)}`);
    if (x.shape[1] !== this.numFeatures)
      fail('SHAPE_MISMATCH', `${op}: input has ${x.shape[1]} channels (axis 1 of ${shapeText(x.shape)}); expected numFeatures = ${this.numFeatures}`);
    const like = this.weight ?? this.runningMean;
    if (like) checkModuleInput(op, 'input', x, like);
    const tracked = this.training && this.trackRunningStats && this.numBatchesTracked !== null;
    // momentum null: the running statistics are the cumulative average, each batch weighted 1 / (batches so far).
    const momentum = this.momentum ?? (tracked ? 1 / (this.numBatchesTracked!.item() + 1) : 0);
    const y = batchNorm(x, this.runningMean, this.runningVar, {
      weight: this.weight, bias: this.bias, training: this.training || this.runningMean === null, momentum, eps: this.eps,
    });
    if (tracked) {
      const count = this.numBatchesTracked!;
      noGrad(() => tidy(() => count.assign(add(count, 1))));
    }
    return y;
  }
}

/**
 * nn.MaxPool1d: the maximum of each window over the last axis of [N, C, L]
 * or [C, L] (see maxPool1d); with returnIndices, forward gives `{values,
 * indices}`, as PyTorch's (output, indices).
 */
export class MaxPool1d<R extends boolean = false> extends Module {
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly ceilMode: boolean;
  readonly returnIndices: boolean;
  constructor(kernelSize: number, options?: Omit<MaxPool1dOptions, 'returnIndices'> & { returnIndices?: R }) {
    super();
    const o = checkOptions<MaxPool1dOptions>(options, 'MaxPool1d', ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
    const g = poolGeometry('MaxPool1d', kernelSize, o);
    [this.kernelSize, this.stride, this.padding, this.dilation, this.ceilMode] = [g.K, g.stride, g.padding, g.dilation, g.ceil];
    this.returnIndices = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, 'MaxPool1d', 'returnIndices');
  }
  forward(x: Tensor): R extends true ? { values: Tensor; indices: Tensor } : Tensor {
    const { kernelSize, stride, padding, dilation, ceilMode, returnIndices } = this;
    return maxPool1d(x, kernelSize, { stride, padding, dilation, ceilMode, returnIndices }) as R extends true ? { values: Tensor; indices: Tensor } : Tensor;
  }
}

/** nn.AvgPool1d: the mean of each window over the last axis (see avgPool1d). */
export class AvgPool1d extends Module {
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  constructor(kernelSize: number, options?: AvgPool1dOptions) {
    super();
    const o = checkOptions<AvgPool1dOptions>(options, 'AvgPool1d', ['stride', 'padding', 'ceilMode', 'countIncludePad']);
    const g = poolGeometry('AvgPool1d', kernelSize, o);
    [this.kernelSize, this.stride, this.padding, this.ceilMode] = [g.K, g.stride, g.padding, g.ceil];
    this.countIncludePad = o.countIncludePad === undefined ? true : checkBoolean(o.countIncludePad, 'AvgPool1d', 'countIncludePad');
  }
  forward(x: Tensor): Tensor {
    const { kernelSize, stride, padding, ceilMode, countIncludePad } = this;
    return avgPool1d(x, kernelSize, { stride, padding, ceilMode, countIncludePad });
  }
}

/** nn.AdaptiveAvgPool1d: the last axis averaged down to outputSize (1: the mean over time). */
export class AdaptiveAvgPool1d extends Module {
  constructor(readonly outputSize: number) {
    super();
    checkInteger(outputSize, 'AdaptiveAvgPool1d', 'outputSize', 1);
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool1d(x, this.outputSize);
  }
}

/** nn.AdaptiveMaxPool1d: the maximum over each of outputSize windows of the last axis. */
export class AdaptiveMaxPool1d<R extends boolean = false> extends Module {
  readonly returnIndices: boolean;
  constructor(readonly outputSize: number, options?: { returnIndices?: R }) {
    super();
    checkInteger(outputSize, 'AdaptiveMaxPool1d', 'outputSize', 1);
    const o = checkOptions<{ returnIndices: boolean }>(options, 'AdaptiveMaxPool1d', ['returnIndices']);
    this.returnIndices = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, 'AdaptiveMaxPool1d', 'returnIndices');
  }
  forward(x: Tensor): R extends true ? { values: Tensor; indices: Tensor } : Tensor {
    return adaptiveMaxPool1d(x, this.outputSize, { returnIndices: this.returnIndices }) as R extends true ? { values: Tensor; indices: Tensor } : Tensor;
  }
}

/**
 * What MaxPool2d and MaxPool3d share: the options checked when built, each
 * size kept as one value per spatial axis; forward is the functional pool.
 */
abstract class MaxPoolNdModule extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly dilation: number[];
  readonly ceilMode: boolean;
  readonly returnIndices: boolean;
  protected constructor(op: string, k: 2 | 3, kernelSize: unknown, options: MaxPool2dOptions | MaxPool3dOptions | undefined) {
    super();
    const o = checkOptions<MaxPool2dOptions | MaxPool3dOptions>(options, op, ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
    const gs = poolGeometryNd(op, kernelSize, o, k).map((a) => a.g);
    [this.kernelSize, this.stride, this.padding, this.dilation, this.ceilMode] = [gs.map((g) => g.K), gs.map((g) => g.stride), gs.map((g) => g.padding), gs.map((g) => g.dilation), gs[0].ceil];
    this.returnIndices = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, op, 'returnIndices');
  }
  forward(x: Tensor): Tensor | { values: Tensor; indices: Tensor } {
    const { kernelSize, stride, padding, dilation, ceilMode, returnIndices } = this;
    const o = { stride, padding, dilation, ceilMode, returnIndices };
    return kernelSize.length === 2 ? maxPool2d(x, kernelSize as [number, number], o as unknown as MaxPool2dOptions) : maxPool3d(x, kernelSize as [number, number, number], o as unknown as MaxPool3dOptions);
  }
}

/**
 * nn.MaxPool2d: the maximum of each window over the last two axes of
 * [N, C, H, W] or [C, H, W] (see maxPool2d); sizes are kept as [h, w]; with
 * returnIndices, forward gives `{values, indices}` (flattened H·W positions).
 */
export class MaxPool2d<R extends boolean = false> extends MaxPoolNdModule {
  declare readonly kernelSize: [number, number];
  declare readonly stride: [number, number];
  declare readonly padding: [number, number];
  declare readonly dilation: [number, number];
  constructor(kernelSize: Size2d, options?: Omit<MaxPool2dOptions, 'returnIndices'> & { returnIndices?: R }) {
    super('MaxPool2d', 2, kernelSize, options);
  }
  declare forward: (x: Tensor) => R extends true ? { values: Tensor; indices: Tensor } : Tensor;
}

/**
 * nn.MaxPool3d: the maximum of each window over the last three axes of
 * [N, C, D, H, W] or [C, D, H, W] (see maxPool3d); sizes are kept as
 * [d, h, w]; with returnIndices, forward gives `{values, indices}`
 * (flattened D·H·W positions).
 */
export class MaxPool3d<R extends boolean = false> extends MaxPoolNdModule {
  declare readonly kernelSize: [number, number, number];
  declare readonly stride: [number, number, number];
  declare readonly padding: [number, number, number];
  declare readonly dilation: [number, number, number];
  constructor(kernelSize: Size3d, options?: Omit<MaxPool3dOptions, 'returnIndices'> & { returnIndices?: R }) {
    super('MaxPool3d', 3, kernelSize, options);
  }
  declare forward: (x: Tensor) => R extends true ? { values: Tensor; indices: Tensor } : Tensor;
}

/** What MaxUnpool1d/2d/3d share: the pool's kernelSize, stride and padding, checked when built, one value per spatial axis. */
abstract class MaxUnpoolNdModule extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  protected constructor(op: string, k: 1 | 2 | 3, kernelSize: unknown, options: { stride?: unknown; padding?: unknown } | undefined) {
    super();
    const o = checkOptions<{ stride?: unknown; padding?: unknown }>(options, op, ['stride', 'padding']);
    const g = unpoolGeometry(op, k, kernelSize, o);
    [this.kernelSize, this.stride, this.padding] = [g.kernel, g.stride, g.padding];
  }
  /** x and the indices maxPool returned for it; outputSize as the functional's (the pool's input size, for an odd one). */
  forward(x: Tensor, indices: Tensor, outputSize?: readonly number[] | null): Tensor {
    const f = [maxUnpool1d, maxUnpool2d, maxUnpool3d][this.kernelSize.length - 1] as unknown as (x: Tensor, i: Tensor, k: number[], o: object) => Tensor;
    return f(x, indices, this.kernelSize, { stride: this.stride, padding: this.padding, outputSize });
  }
}

/**
 * nn.MaxUnpool1d: maxUnpool1d with the pool's kernelSize, stride and
 * padding: `unpool.forward(values, indices)` puts each value back where
 * MaxPool1d({returnIndices: true}) found it, zeros elsewhere.
 */
export class MaxUnpool1d extends MaxUnpoolNdModule {
  constructor(kernelSize: number, options?: { stride?: number | null; padding?: number }) {
    super('MaxUnpool1d', 1, kernelSize, options);
  }
}

/** nn.MaxUnpool2d: maxUnpool2d with the pool's sizes (each a number or [h, w]; kept as [h, w]). */
export class MaxUnpool2d extends MaxUnpoolNdModule {
  constructor(kernelSize: Size2d, options?: { stride?: Size2d | null; padding?: Size2d }) {
    super('MaxUnpool2d', 2, kernelSize, options);
  }
}

/** nn.MaxUnpool3d: maxUnpool3d with the pool's sizes (each a number or [d, h, w]; kept as [d, h, w]). */
export class MaxUnpool3d extends MaxUnpoolNdModule {
  constructor(kernelSize: Size3d, options?: { stride?: Size3d | null; padding?: Size3d }) {
    super('MaxUnpool3d', 3, kernelSize, options);
  }
}

/** What AvgPool2d and AvgPool3d share: the options checked when built, each size kept as one value per spatial axis. */
abstract class AvgPoolNdModule extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;
  protected constructor(op: string, k: 2 | 3, kernelSize: unknown, options: AvgPool2dOptions | AvgPool3dOptions | undefined) {
    super();
    const o = checkOptions<AvgPool2dOptions | AvgPool3dOptions>(options, op, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
    const gs = poolGeometryNd(op, kernelSize, o, k).map((a) => a.g);
    [this.kernelSize, this.stride, this.padding, this.ceilMode] = [gs.map((g) => g.K), gs.map((g) => g.stride), gs.map((g) => g.padding), gs[0].ceil];
    this.countIncludePad = o.countIncludePad === undefined ? true : checkBoolean(o.countIncludePad, op, 'countIncludePad');
    this.divisorOverride = o.divisorOverride ?? null;
    if (this.divisorOverride !== null && (checkInteger(this.divisorOverride, op, 'divisorOverride', -Number.MAX_SAFE_INTEGER) === 0))
      fail('INVALID_ARGUMENT', `${op}: divisorOverride must be a nonzero integer; got 0`);
  }
  forward(x: Tensor): Tensor {
    const { kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride } = this;
    const o = { stride, padding, ceilMode, countIncludePad, divisorOverride };
    return kernelSize.length === 2 ? avgPool2d(x, kernelSize as [number, number], o as unknown as AvgPool2dOptions) : avgPool3d(x, kernelSize as [number, number, number], o as unknown as AvgPool3dOptions);
  }
}

/** nn.AvgPool2d: the mean of each window over the last two axes (see avgPool2d); sizes kept as [h, w]. */
export class AvgPool2d extends AvgPoolNdModule {
  declare readonly kernelSize: [number, number];
  declare readonly stride: [number, number];
  declare readonly padding: [number, number];
  constructor(kernelSize: Size2d, options?: AvgPool2dOptions) {
    super('AvgPool2d', 2, kernelSize, options);
  }
}

/** nn.AvgPool3d: the mean of each window over the last three axes (see avgPool3d); sizes kept as [d, h, w]. */
export class AvgPool3d extends AvgPoolNdModule {
  declare readonly kernelSize: [number, number, number];
  declare readonly stride: [number, number, number];
  declare readonly padding: [number, number, number];
  constructor(kernelSize: Size3d, options?: AvgPool3dOptions) {
    super('AvgPool3d', 3, kernelSize, options);
  }
}

type AdaptiveSize = number | null | (number | null)[];

/** What the adaptive 2-D and 3-D pools share: outputSize checked (a number, one per axis, null or null entries: the input's size). */
abstract class AdaptivePoolNdModule extends Module {
  readonly outputSize: AdaptiveSize;
  protected constructor(op: string, k: 2 | 3, outputSize: unknown) {
    super();
    if (outputSize === null) this.outputSize = null;
    else {
      const { values, at } = tupleNd(outputSize as number | null, op, 'outputSize', k);
      values.forEach((v, d) => v !== null && checkInteger(v, op, `outputSize${at[d]}`, 1));
      this.outputSize = Array.isArray(outputSize) ? values.map((v) => v ?? null) : (outputSize as number);
    }
  }
}

/** AdaptiveAvgPool2d and AdaptiveAvgPool3d: forward is the functional pool. */
abstract class AdaptiveAvgPoolNdModule extends AdaptivePoolNdModule {
  forward(x: Tensor): Tensor {
    const size = this.outputSize;
    return this instanceof AdaptiveAvgPool2d ? adaptiveAvgPool2d(x, size as [number, number]) : adaptiveAvgPool3d(x, size as [number, number, number]);
  }
}

/** nn.AdaptiveAvgPool2d: the last two axes averaged down to outputSize (a number, [h, w]; null keeps that axis's size). */
export class AdaptiveAvgPool2d extends AdaptiveAvgPoolNdModule {
  declare readonly outputSize: number | null | [number | null, number | null];
  constructor(outputSize: number | null | readonly [number | null, number | null]) {
    super('AdaptiveAvgPool2d', 2, outputSize);
  }
}

/** nn.AdaptiveAvgPool3d: the last three axes averaged down to outputSize (a number, [d, h, w]; null keeps that axis's size). */
export class AdaptiveAvgPool3d extends AdaptiveAvgPoolNdModule {
  declare readonly outputSize: number | null | [number | null, number | null, number | null];
  constructor(outputSize: number | null | readonly [number | null, number | null, number | null]) {
    super('AdaptiveAvgPool3d', 3, outputSize);
  }
}

/** AdaptiveMaxPool2d and AdaptiveMaxPool3d: returnIndices checked when built; forward is the functional pool. */
abstract class AdaptiveMaxPoolNdModule extends AdaptivePoolNdModule {
  readonly returnIndices: boolean;
  protected constructor(op: string, k: 2 | 3, outputSize: unknown, options: { returnIndices?: boolean } | undefined) {
    super(op, k, outputSize);
    const o = checkOptions<{ returnIndices: boolean }>(options, op, ['returnIndices']);
    this.returnIndices = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, op, 'returnIndices');
  }
  forward(x: Tensor): Tensor | { values: Tensor; indices: Tensor } {
    const size = this.outputSize, o = { returnIndices: this.returnIndices };
    return this instanceof AdaptiveMaxPool2d ? adaptiveMaxPool2d(x, size as [number, number], o) : adaptiveMaxPool3d(x, size as [number, number, number], o);
  }
}

/** nn.AdaptiveMaxPool2d: the maximum over each of outputSize windows of the last two axes. */
export class AdaptiveMaxPool2d<R extends boolean = false> extends AdaptiveMaxPoolNdModule {
  declare readonly outputSize: number | null | [number | null, number | null];
  constructor(outputSize: number | null | readonly [number | null, number | null], options?: { returnIndices?: R }) {
    super('AdaptiveMaxPool2d', 2, outputSize, options);
  }
  declare forward: (x: Tensor) => R extends true ? { values: Tensor; indices: Tensor } : Tensor;
}

/** nn.AdaptiveMaxPool3d: the maximum over each of outputSize windows of the last three axes. */
export class AdaptiveMaxPool3d<R extends boolean = false> extends AdaptiveMaxPoolNdModule {
  declare readonly outputSize: number | null | [number | null, number | null, number | null];
  constructor(outputSize: number | null | readonly [number | null, number | null, number | null], options?: { returnIndices?: R }) {
    super('AdaptiveMaxPool3d', 3, outputSize, options);
  }
  declare forward: (x: Tensor) => R extends true ? { values: Tensor; indices: Tensor } : Tensor;
}

/** GroupNorm's options (PyTorch's keywords). */
export interface GroupNormModuleOptions extends Placement {
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
  /** A learnable per-channel weight (ones) and bias (zeros) (default true). */
  affine?: boolean;
}

/**
 * Group normalisation (torch.nn.GroupNorm): input [N, C, …] with C =
 * numChannels, its channels split into numGroups groups (numGroups must
 * divide numChannels); each sample's group normalised over its channels and
 * trailing positions (mean and biased variance), then a per-channel affine.
 * Independent of the batch: no running statistics, the same in train and
 * eval mode. State dict as PyTorch's: weight, bias.
 */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(numGroups: number, numChannels: number, options?: GroupNormModuleOptions) {
    super();
    const op = 'GroupNorm';
    const o = placement(checkOptions<GroupNormModuleOptions>(options, op, ['eps', 'affine', 'dtype', 'device']), op);
    this.numGroups = checkInteger(numGroups, op, 'numGroups', 1);
    this.numChannels = checkInteger(numChannels, op, 'numChannels', 1);
    if (this.numChannels % this.numGroups !== 0)
      fail('INVALID_ARGUMENT', `${op}: numChannels = ${this.numChannels} is not divisible by numGroups = ${this.numGroups}; expected the channels to split into groups of equal size`);
    this.eps = checkEps(op, o.eps);
    this.affine = o.affine === undefined ? true : checkBoolean(o.affine, op, 'affine');
    const place = { dtype: o.dtype, device: o.device };
    this.weight = this.registerParameter('weight', this.affine ? isolated(() => full([this.numChannels], 1, place)) : null);
    this.bias = this.registerParameter('bias', this.affine ? isolated(() => full([this.numChannels], 0, place)) : null);
  }

  forward(x: Tensor): Tensor {
    const op = 'GroupNorm';
    this.checkUsable(op);
    checkTensor(x, op, 'input');
    if (x.rank < 2) fail('SHAPE_MISMATCH', `${op}: expected input [N, C, …] with at least 2 dims; got shape ${shapeText(x.shape)}`);
    if (x.shape[1] !== this.numChannels)
      fail('SHAPE_MISMATCH', `${op}: input has ${x.shape[1]} channels (axis 1 of ${shapeText(x.shape)}); expected numChannels = ${this.numChannels}`);
    if (this.weight) checkModuleInput(op, 'input', x, this.weight);
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }
}

/** InstanceNorm1d's options (PyTorch's keywords). */
export interface InstanceNorm1dOptions extends Placement {
  /** Added to the variance before its square root (default 1e-5). */
  eps?: number;
  /** The running statistics' update weight (default 0.1). */
  momentum?: number;
  /** A learnable per-channel weight (ones) and bias (zeros) (default false, as PyTorch's). */
  affine?: boolean;
  /** Keep running statistics, used in eval mode (default false, as PyTorch's: each instance's own statistics always). */
  trackRunningStats?: boolean;
}

/**
 * Instance normalisation (torch.nn.InstanceNorm1d): input [N, C, L], or
 * unbatched [C, L] (as PyTorch 2 takes it), with C = numFeatures; each
 * sample's channel normalised over L with its own mean and biased variance.
 * With trackRunningStats, training updates running_mean and running_var with
 * the batch's average of the instance statistics (the variance unbiased, as
 * batch norm's) and eval mode normalises with them. L = 1 is refused where
 * the instance's statistics are used, as PyTorch refuses it. State dict as
 * PyTorch's: weight and bias (affine), running_mean, running_var and
 * num_batches_tracked (trackRunningStats; int32 here; PyTorch's instance
 * norm leaves the counter at 0, and so does this one).
 */
export class InstanceNorm1d extends NormBase {
  declare readonly momentum: number;

  /** The name in messages (InstanceNorm2d's its own). */
  protected static readonly opName: string = 'InstanceNorm1d';
  constructor(numFeatures: number, options?: InstanceNorm1dOptions) {
    super((new.target as unknown as typeof InstanceNorm1d).opName, numFeatures, options, { affine: false, trackRunningStats: false, nullMomentum: false });
  }

  forward(x: Tensor): Tensor {
    const op = 'InstanceNorm1d';
    this.checkUsable(op);
    checkTensor(x, op, 'input');
    if (x.rank !== 2 && x.rank !== 3) fail('SHAPE_MISMATCH', `${op}: expected input [N, C, L] or unbatched [C, L]; got shape ${shapeText(x.shape)}`);
    const C = x.shape[x.rank - 2];
    if (C !== this.numFeatures)
      fail('SHAPE_MISMATCH', `${op}: input has ${C} channels (axis ${x.rank - 2} of ${shapeText(x.shape)}); expected numFeatures = ${this.numFeatures}`);
    const like = this.weight ?? this.runningMean;
    if (like) checkModuleInput(op, 'input', x, like);
    const run = (b: Tensor) =>
      instanceNorm(b, {
        runningMean: this.runningMean, runningVar: this.runningVar, weight: this.weight, bias: this.bias,
        useInputStats: this.training || !this.trackRunningStats, momentum: this.momentum, eps: this.eps,
      });
    if (x.rank === 3) return run(x);
    // Unbatched [C, L]: a batch of one, as PyTorch's _handle_no_batch_input.
    return tidy(() => run(x.reshape([1, ...x.shape])).reshape(x.shape));
  }
}

/** The spatial axes' letters in the 2-D and 3-D norms' messages. */
const NORM_AXES: Record<number, string[]> = { 2: ['H', 'W'], 3: ['D', 'H', 'W'] };

/** BatchNorm2d and BatchNorm3d: BatchNorm1d on [N, C, spatial size] (the same options, running statistics, state dict and momentum null's cumulative average). */
abstract class SpatialBatchNorm extends BatchNorm1d {
  /** BatchNorm1d's forward over the k spatial axes flattened, with this module's name and shapes in messages. */
  protected forwardSpatial(op: string, k: number, x: Tensor): Tensor {
    this.checkUsable(op);
    checkTensor(x, op, 'input');
    const axes = NORM_AXES[k];
    if (x.rank !== k + 2) fail('SHAPE_MISMATCH', `${op}: expected input [N, C, ${axes.join(', ')}]; got shape ${shapeText(x.shape)}`);
    if (x.shape[1] !== this.numFeatures)
      fail('SHAPE_MISMATCH', `${op}: input has ${x.shape[1]} channels (axis 1 of ${shapeText(x.shape)}); expected numFeatures = ${this.numFeatures}`);
    const like = this.weight ?? this.runningMean;
    if (like) checkModuleInput(op, 'input', x, like);
    const [N, C] = x.shape, S = numel(x.shape.slice(2));
    // Checked here so the message names this module and its input (batchNorm would see [N, C, S]).
    if (N * S === 1 && (this.training || this.runningMean === null))
      fail('INVALID_ARGUMENT', `${op}: expected more than 1 value per channel when using the batch's statistics; got input of shape ${shapeText(x.shape)} (N·${axes.join('·')} = 1: its variance is 0; PyTorch refuses it too)`);
    return tidy(() => super.forward(x.reshape([N, C, S])).reshape(x.shape));
  }
}

/**
 * Batch normalisation over a mini-batch of images (torch.nn.BatchNorm2d):
 * input [N, C, H, W], normalised per channel over N, H and W. BatchNorm1d on
 * [N, C, H·W] (the same options, running statistics, state dict and
 * momentum null's cumulative average; optim.updateBn resets it too).
 */
export class BatchNorm2d extends SpatialBatchNorm {
  protected static readonly opName: string = 'BatchNorm2d';
  forward(x: Tensor): Tensor {
    return this.forwardSpatial('BatchNorm2d', 2, x);
  }
}

/**
 * Batch normalisation over a mini-batch of volumes (torch.nn.BatchNorm3d):
 * input [N, C, D, H, W], normalised per channel over N, D, H and W.
 * BatchNorm1d on [N, C, D·H·W], as BatchNorm2d (the same options, running
 * statistics, state dict; optim.updateBn resets it too).
 */
export class BatchNorm3d extends SpatialBatchNorm {
  protected static readonly opName: string = 'BatchNorm3d';
  forward(x: Tensor): Tensor {
    return this.forwardSpatial('BatchNorm3d', 3, x);
  }
}

/** InstanceNorm2d and InstanceNorm3d: InstanceNorm1d on [N, C, spatial size] (the same options, running statistics and state dict). */
abstract class SpatialInstanceNorm extends InstanceNorm1d {
  /** InstanceNorm1d's forward over the k spatial axes flattened ([N, C, ...] or unbatched [C, ...]), with this module's name and shapes in messages. */
  protected forwardSpatial(op: string, k: number, x: Tensor): Tensor {
    this.checkUsable(op);
    checkTensor(x, op, 'input');
    const axes = NORM_AXES[k].join(', ');
    if (x.rank !== k + 1 && x.rank !== k + 2) fail('SHAPE_MISMATCH', `${op}: expected input [N, C, ${axes}] or unbatched [C, ${axes}]; got shape ${shapeText(x.shape)}`);
    const C = x.shape[x.rank - k - 1];
    if (C !== this.numFeatures)
      fail('SHAPE_MISMATCH', `${op}: input has ${C} channels (axis ${x.rank - k - 1} of ${shapeText(x.shape)}); expected numFeatures = ${this.numFeatures}`);
    const like = this.weight ?? this.runningMean;
    if (like) checkModuleInput(op, 'input', x, like);
    const S = numel(x.shape.slice(x.rank - k));
    if (S === 1 && (this.training || !this.trackRunningStats))
      fail('INVALID_ARGUMENT', `${op}: expected more than 1 spatial element per instance when using the input's statistics; got input of shape ${shapeText(x.shape)} (its variance would be 0; PyTorch refuses it too)`);
    return tidy(() => super.forward(x.reshape([...x.shape.slice(0, -k), S])).reshape(x.shape));
  }
}

/**
 * Instance normalisation of images (torch.nn.InstanceNorm2d): input
 * [N, C, H, W], or unbatched [C, H, W]; each sample's channel normalised over
 * H and W. InstanceNorm1d on [N, C, H·W] (the same options, running
 * statistics and state dict); H·W = 1 is refused where the instance's
 * statistics are used, as PyTorch refuses it.
 */
export class InstanceNorm2d extends SpatialInstanceNorm {
  protected static readonly opName: string = 'InstanceNorm2d';
  forward(x: Tensor): Tensor {
    return this.forwardSpatial('InstanceNorm2d', 2, x);
  }
}

/**
 * Instance normalisation of volumes (torch.nn.InstanceNorm3d): input
 * [N, C, D, H, W], or unbatched [C, D, H, W]; each sample's channel
 * normalised over D, H and W. InstanceNorm1d on [N, C, D·H·W], as
 * InstanceNorm2d (D·H·W = 1 refused where the instance's statistics are used).
 */
export class InstanceNorm3d extends SpatialInstanceNorm {
  protected static readonly opName: string = 'InstanceNorm3d';
  forward(x: Tensor): Tensor {
    return this.forwardSpatial('InstanceNorm3d', 3, x);
  }
}

for (const [snake, camel] of [['running_mean', 'runningMean'], ['running_var', 'runningVar'], ['num_batches_tracked', 'numBatchesTracked']] as const)
  Object.defineProperty(NormBase.prototype, snake, {
    get(this: NormBase) {
      return this[camel];
    },
    set(this: NormBase, v: Tensor | null) {
      this[camel] = v;
    },
    configurable: true,
  });

/**
 * Modules held in a list and registered as 0, 1, 2, … (torch.nn.ModuleList):
 * layers kept in a plain array are not registered, so their parameters would
 * be missing from parameters() and stateDict(). It has no forward of its own;
 * iterate over it (or get(i)) in the forward of the module holding it.
 */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  /**
   * The modules in list order: the registered children, as PyTorch's
   * ModuleList reads its _modules, so a numbered property assigned from
   * JavaScript (`list[0] = m`, PyTorch's __setitem__) is seen by get(),
   * iteration and stateDict() alike. A copy: edits go through the methods.
   */
  private get items(): M[] {
    return this.registeredChildren() as M[];
  }
  constructor(modules: Iterable<M> = []) {
    super();
    if (modules === null || typeof (modules as Partial<Iterable<M>>)[Symbol.iterator] !== 'function')
      fail('INVALID_ARGUMENT', `ModuleList: expected an array (or iterable) of modules; got ${describe(modules)}`);
    for (const m of modules) this.append(m);
  }

  /** Adds m at the end (registered under the next number). */
  append(m: M): this {
    if (!(m instanceof Module)) fail('INVALID_ARGUMENT', `ModuleList: item ${this.items.length} must be a Module; got ${describe(m)}`);
    this.registerModule(String(this.items.length), m);
    return this;
  }

  /** Adds each module of ms at the end. */
  extend(ms: Iterable<M>): this {
    for (const m of ms) this.append(m);
    return this;
  }

  /** The i-th module; a negative i counts from the end, as in Python. */
  get(i: number): M {
    return this.items[this.position(i, 'get')];
  }

  /** Replaces the i-th module (PyTorch's `list[i] = m`; a negative i counts from the end); the old one stays the caller's. */
  set(i: number, m: M): this {
    const at = this.position(i, 'set');
    this.checkItem(m, 'set');
    const items = this.items;
    items[at] = m;
    Module.renumberChildren(this, items, at, items.length);
    return this;
  }

  /**
   * Puts m at position index, moving the modules from there on one place up
   * and renaming them (PyTorch's insert): index in [0, length]; length appends.
   */
  insert(index: number, m: M): this {
    const n = this.items.length;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > n)
      fail('INVALID_ARGUMENT', `ModuleList.insert: index must be an integer in [0, ${n}] for a list of ${n}; got ${describe(index)}`);
    this.checkItem(m, 'insert');
    const items = this.items;
    items.splice(index, 0, m);
    Module.renumberChildren(this, items, index, n);
    return this;
  }

  /**
   * Removes the i-th module (the last by default; a negative i counts from
   * the end) and returns it, renaming the ones after it (PyTorch's pop):
   * the module is the caller's from then on.
   */
  pop(i = -1): M {
    const at = this.position(i, 'pop');
    const items = this.items;
    const [m] = items.splice(at, 1);
    Module.renumberChildren(this, items, at, items.length + 1);
    return m;
  }

  /**
   * A new ModuleList of the modules from start up to (not including) end, as
   * Array.prototype.slice takes them (PyTorch's `list[start:end]`): the same
   * modules, shared, not copies.
   */
  slice(start?: number, end?: number): ModuleList<M> {
    for (const [name, v] of [['start', start], ['end', end]] as const)
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v)))
        fail('INVALID_ARGUMENT', `ModuleList.slice: ${name} must be an integer; got ${describe(v)}`);
    return new ModuleList(this.items.slice(start, end));
  }

  private position(i: unknown, op: string): number {
    const n = this.items.length;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < -n || i >= n)
      fail('INVALID_ARGUMENT', `ModuleList.${op}: index must be an integer in [${-n}, ${n}) for a list of ${n}; got ${describe(i)}`);
    return i < 0 ? i + n : i;
  }

  private checkItem(m: unknown, op: string): void {
    if (!(m instanceof Module)) fail('INVALID_ARGUMENT', `ModuleList.${op}: expected a Module; got ${describe(m)}`);
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): IterableIterator<M> {
    return this.items[Symbol.iterator]();
  }

  forward(): never {
    fail('INVALID_ARGUMENT', 'ModuleList has no forward (as in PyTorch): call its modules in order in your own forward, e.g. for (const layer of this.layers) h = layer.forward(h)');
  }
}

/**
 * Modules applied in order; children are named 0, 1, 2, ... as in PyTorch,
 * or by the names given (PyTorch's `Sequential(OrderedDict(...))`): pass a
 * Map, an array of [name, module] pairs, or a plain object, so that
 * stateDict()'s keys ('features.conv1.weight') match a PyTorch model built so.
 * Edited as torch.nn.Sequential: append, insert, extend, pop, set, get and
 * slice. set keeps the name at that position and slice keeps the names (its
 * state dict of seq.slice(1) starts at '1.', as PyTorch's seq[1:]); pop and
 * insert name every layer 0, 1, 2, … again in list order (PyTorch renumbers
 * after a deletion too; its insert fails on named layers).
 */
export class Sequential extends Module {
  constructor(...layers: Module[]);
  constructor(named: ReadonlyMap<string, Module> | readonly (readonly [string, Module])[] | Readonly<Record<string, Module>>);
  constructor(...args: unknown[]) {
    super();
    for (const [name, m] of Sequential.entriesOf(args)) this.registerModule(name, m);
  }

  /** The [name, layer] pairs the constructor's arguments stand for, checked. */
  private static entriesOf(args: unknown[]): [string, Module][] {
    const a = args[0];
    if (args.length !== 1 || a instanceof Module || a === null || typeof a !== 'object') {
      args.forEach((m, i) => {
        if (!(m instanceof Module)) fail('INVALID_ARGUMENT', `Sequential: layer ${i} must be a Module; got ${describe(m)}${i === 0 && args.length > 1 && m !== null && typeof m === 'object' ? ' (named layers come as the only argument: a Map, an array of [name, module] pairs or a plain object)' : ''}`);
      });
      return args.map((m, i) => [String(i), m as Module]);
    }
    let entries: unknown[];
    if (a instanceof Map) entries = [...a.entries()];
    else if (Array.isArray(a)) entries = a;
    else {
      const keys = Object.keys(a);
      // A plain object lists integer-like keys first, in numeric order, whatever order they were written in.
      const numeric = keys.filter((k) => /^(0|[1-9][0-9]*)$/.test(k));
      if (numeric.length && numeric.length < keys.length)
        fail('INVALID_ARGUMENT', `Sequential: a plain object mixing numeric names (${numeric.slice(0, 3).map((k) => `'${k}'`).join(', ')}) with others loses their order (JavaScript lists integer keys first): pass a Map or an array of [name, module] pairs`);
      entries = keys.map((k) => [k, (a as Record<string, unknown>)[k]]);
    }
    const seen = new Set<string>();
    return entries.map((e, i) => {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string')
        fail('INVALID_ARGUMENT', `Sequential: named layer ${i} must be a [name, module] pair with a string name; got ${describe(e)}${e instanceof Module ? ' (for an array of modules, spread it: new Sequential(...layers))' : ''}`);
      const [name, m] = e as [string, unknown];
      if (name === '' || name.includes('.')) fail('INVALID_ARGUMENT', `Sequential: a layer's name must be a non-empty string without '.'; got '${name}'`);
      if (!(m instanceof Module)) fail('INVALID_ARGUMENT', `Sequential: layer '${name}' must be a Module; got ${describe(m)}`);
      if (seen.has(name)) fail('INVALID_ARGUMENT', `Sequential: the name '${name}' is given twice`);
      seen.add(name);
      return [name, m];
    });
  }

  /** The number of layers (PyTorch's len(seq)). */
  get length(): number {
    return this.registeredChildren().length;
  }

  /** The i-th layer; a negative i counts from the end, as in Python (PyTorch's seq[i]). */
  get(i: number): Module {
    const layers = this.registeredChildren();
    return layers[this.position(i, 'get', layers.length)];
  }

  /**
   * Replaces the i-th layer (PyTorch's `seq[i] = m`; a negative i counts from
   * the end), under the same name; the old one stays the caller's.
   */
  set(i: number, m: Module): this {
    const entries = this.registeredEntries();
    const at = this.position(i, 'set', entries.length);
    this.checkLayer(m, 'set');
    entries[at] = [entries[at][0], m];
    Module.replaceChildren(this, entries);
    return this;
  }

  /**
   * Adds m at the end, named by its position (PyTorch's append). Where that
   * name is taken (a slice or named layers), the next free number: PyTorch
   * would put m in place of the layer of that name.
   */
  append(m: Module): this {
    this.checkLayer(m, 'append');
    const names = new Set(this.registeredEntries().map(([k]) => k));
    let n = names.size;
    while (names.has(String(n))) n++;
    this.registerModule(String(n), m);
    return this;
  }

  /**
   * Puts m at position index, moving the layers from there on one place up
   * (PyTorch's insert): index in [−length, length]; a negative one counts
   * from the end, length appends. The layers are then named 0, 1, 2, … in
   * order.
   */
  insert(index: number, m: Module): this {
    const layers = this.registeredChildren();
    const n = layers.length;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < -n || index > n)
      fail('INVALID_ARGUMENT', `Sequential.insert: index must be an integer in [${-n}, ${n}] for a Sequential of ${n}; got ${describe(index)}`);
    this.checkLayer(m, 'insert');
    const at = index < 0 ? index + n : index;
    layers.splice(at, 0, m);
    Module.replaceChildren(this, layers.map((l, k) => [String(k), l]));
    return this;
  }

  /** Appends each module of ms (an array, another Sequential, any iterable of modules), in order (PyTorch's extend). */
  extend(ms: Iterable<Module> | Sequential): this {
    const list = ms instanceof Sequential ? ms.registeredChildren() : ms !== null && typeof (ms as Partial<Iterable<Module>>)?.[Symbol.iterator] === 'function' ? [...ms] : null;
    if (list === null) fail('INVALID_ARGUMENT', `Sequential.extend: expected a Sequential or an array (iterable) of modules; got ${describe(ms)}`);
    // Every item checked before any is added: a bad one leaves the Sequential as it was.
    list.forEach((m, i) => {
      if (!(m instanceof Module)) fail('INVALID_ARGUMENT', `Sequential.extend: item ${i} must be a Module; got ${describe(m)}`);
    });
    for (const m of list) this.append(m);
    return this;
  }

  /**
   * Removes the i-th layer (the last by default; a negative i counts from
   * the end) and returns it (PyTorch's pop); the others are then named 0, 1,
   * 2, … in order, as PyTorch's. The module is the caller's from then on.
   */
  pop(i = -1): Module {
    const layers = this.registeredChildren();
    const at = this.position(i, 'pop', layers.length);
    const [m] = layers.splice(at, 1);
    Module.replaceChildren(this, layers.map((l, k) => [String(k), l]));
    return m;
  }

  /**
   * A new Sequential of the layers from start up to (not including) end, as
   * Array.prototype.slice takes them (PyTorch's `seq[start:end]`): the same
   * modules, shared, not copies, under the same names (the state dict of
   * seq.slice(1) starts at '1.', as PyTorch's seq[1:]).
   */
  slice(start?: number, end?: number): Sequential {
    for (const [name, v] of [['start', start], ['end', end]] as const)
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v)))
        fail('INVALID_ARGUMENT', `Sequential.slice: ${name} must be an integer; got ${describe(v)}`);
    return new Sequential(this.registeredEntries().slice(start, end));
  }

  private position(i: unknown, op: string, n: number): number {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < -n || i >= n)
      fail('INVALID_ARGUMENT', `Sequential.${op}: index must be an integer in [${-n}, ${n}) for a Sequential of ${n}; got ${describe(i)}`);
    return i < 0 ? i + n : i;
  }

  private checkLayer(m: unknown, op: string): void {
    if (!(m instanceof Module)) fail('INVALID_ARGUMENT', `Sequential.${op}: expected a Module; got ${describe(m)}`);
  }

  [Symbol.iterator](): IterableIterator<Module> {
    return this.registeredChildren()[Symbol.iterator]();
  }

  /**
   * The modules forward runs, in order: the registered children, as
   * PyTorch's Sequential runs its _modules, so a replacement (`seq['0'] =
   * new nn.Linear(…)`) changes forward, parameters() and stateDict()
   * together. A frozen array: assign through the module, not into it.
   */
  get layers(): readonly Module[] {
    return Object.freeze(this.registeredChildren());
  }

  forward(x: Tensor): Tensor {
    this.checkUsable('Sequential');
    let h = x;
    const layers = this.layers;
    layers.forEach((m, i) => {
      let next: unknown;
      try {
        next = m.forward(h);
      } catch (e) {
        // The previous layer's output is Sequential's to free, whether the next layer used it or threw.
        if (h !== x && !h.isDisposed && !h.kept) h.dispose();
        throw e;
      }
      // The previous layer's output is freed once used, unless it is the input or the layer handed it
      // back unchanged (an empty Sequential, an identity): then it is still the value passed on. A kept
      // one (a forward hook's captured activation, a layer's cache, a parameter or buffer a layer
      // returned) belongs to whoever kept it.
      if (h !== x && h !== next && !h.kept) h.dispose();
      if (!(next instanceof Tensor) && i + 1 < layers.length) {
        const keys = next !== null && typeof next === 'object' ? ` with keys ${Object.keys(next).join(', ')}` : '';
        const what = describe(next);
        dispose(next);
        fail(
          'INVALID_ARGUMENT',
          `Sequential: layer ${i} (${m.constructor.name}) returned ${what}${keys}, not a Tensor for layer ${i + 1} (${layers[i + 1].constructor.name}); ` +
            'a recurrent module returns {output, …}: put it in a Module of your own whose forward passes rnn.forward(x).output on',
        );
      }
      h = next as Tensor;
    });
    return h;
  }
}

abstract class Activation extends Module {
  protected abstract fn(x: Tensor): Tensor;
  /** An activation without options refuses any (PyTorch's Softplus(beta=2) must not silently be beta 1). */
  constructor(options?: object, allowed: readonly string[] = []) {
    super();
    if (!allowed.length && options !== undefined && options !== null && typeof options === 'object' && Object.keys(options).length)
      fail('INVALID_ARGUMENT', `${new.target.name}: takes no options; got ${Object.keys(options).map((k) => `'${k}'`).join(', ')}${'inplace' in options ? " (PyTorch's inplace has no counterpart: every op here returns a new tensor)" : ''}`);
    checkOptions(options, new.target.name, allowed);
  }
  /** options[name] (checked finite, named after the class), or `fallback` when absent. */
  protected finiteOption(options: object | undefined, name: string, fallback: number): number {
    const v = (options as Record<string, unknown> | undefined)?.[name];
    return v === undefined ? fallback : checkFinite(v as number, this.constructor.name, name);
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}
export class ReLU extends Activation {
  protected fn = relu;
}
export class Tanh extends Activation {
  protected fn = tanh;
}
export class Sigmoid extends Activation {
  protected fn = sigmoid;
}
/** x Φ(x); `{approximate: 'tanh'}` for PyTorch's tanh approximation (default 'none', the exact one). */
export class GELU extends Activation {
  readonly approximate: 'none' | 'tanh';
  constructor(options?: { approximate?: 'none' | 'tanh' }) {
    super(options, ['approximate']);
    this.approximate = geluApproximate(options, 'GELU');
  }
  protected fn = (x: Tensor): Tensor => gelu(x, { approximate: this.approximate });
}
/** x > 0 ? x : negativeSlope · x; negativeSlope defaults to 0.01 (PyTorch's). */
export class LeakyReLU extends Activation {
  readonly negativeSlope: number;
  constructor(options?: { negativeSlope?: number }) {
    super(options, ['negativeSlope']);
    this.negativeSlope = this.finiteOption(options, 'negativeSlope', 0.01);
  }
  protected fn = (x: Tensor): Tensor => leakyRelu(x, this.negativeSlope);
}
/** x > 0 ? x : alpha · (e^x − 1); alpha defaults to 1. */
export class ELU extends Activation {
  readonly alpha: number;
  constructor(options?: { alpha?: number }) {
    super(options, ['alpha']);
    this.alpha = this.finiteOption(options, 'alpha', 1);
  }
  protected fn = (x: Tensor): Tensor => elu(x, this.alpha);
}
/** x · σ(x). */
export class SiLU extends Activation {
  protected fn = silu;
}
/**
 * log(1 + e^(βx)) / β, linear where βx > threshold (torch.nn.Softplus;
 * β = 1 and threshold = 20 by default).
 */
export class Softplus extends Activation {
  readonly beta: number;
  readonly threshold: number;
  constructor(options?: { beta?: number; threshold?: number }) {
    super(options, ['beta', 'threshold']);
    this.beta = this.finiteOption(options, 'beta', 1);
    this.threshold = this.finiteOption(options, 'threshold', 20);
    if (this.beta === 0) fail('INVALID_ARGUMENT', 'Softplus: beta must not be 0');
  }
  protected fn = (x: Tensor): Tensor => {
    if (this.beta === 1 && this.threshold === 20) return softplus(x);
    const beta = this.beta, threshold = this.threshold;
    return tidy(() => {
      // Where βx > threshold, x itself; elsewhere log1p(e^(βx)) / β, whose e^(βx) never sees the
      // linear region's values (a where() swaps in 0), so neither its value nor its gradient overflows.
      const z = mul(x, beta);
      const linear = greater(z, threshold);
      return where(linear, x, div(log1p(exp(where(linear, 0, z))), beta));
    });
  };
}

/** log σ(x) (torch.nn.LogSigmoid). */
export class LogSigmoid extends Activation {
  protected fn = logSigmoid;
}
/** x clamped to [minVal, maxVal], −1 and 1 by default (torch.nn.Hardtanh's min_val, max_val). */
export class Hardtanh extends Activation {
  readonly minVal: number;
  readonly maxVal: number;
  constructor(options?: { minVal?: number; maxVal?: number }) {
    super(options, ['minVal', 'maxVal']);
    this.minVal = this.finiteOption(options, 'minVal', -1);
    this.maxVal = this.finiteOption(options, 'maxVal', 1);
    if (this.minVal > this.maxVal) fail('INVALID_ARGUMENT', `Hardtanh: minVal ${this.minVal} is above maxVal ${this.maxVal}`);
  }
  protected fn = (x: Tensor): Tensor => hardtanh(x, this.minVal, this.maxVal);
}
/** min(max(x, 0), 6) (torch.nn.ReLU6). */
export class ReLU6 extends Activation {
  protected fn = relu6;
}
/** x / (1 + |x|) (torch.nn.Softsign). */
export class Softsign extends Activation {
  protected fn = softsign;
}
/** x · tanh(softplus(x)) (torch.nn.Mish). */
export class Mish extends Activation {
  protected fn = mish;
}
/** torch.nn.Hardswish. */
export class Hardswish extends Activation {
  protected fn = hardswish;
}
/** torch.nn.Hardsigmoid. */
export class Hardsigmoid extends Activation {
  protected fn = hardsigmoid;
}
/** torch.nn.SELU. */
export class SELU extends Activation {
  protected fn = selu;
}
/** The gated linear unit over `axis` (default −1; torch.nn.GLU's dim). */
export class GLU extends Activation {
  readonly axis: number;
  constructor(options?: { axis?: number }) {
    super(options, ['axis']);
    const o = checkOptions<{ axis: number }>(options, 'GLU', ['axis']);
    this.axis = o.axis ?? -1;
    if (!Number.isSafeInteger(this.axis)) fail('INVALID_ARGUMENT', `GLU: axis must be an integer; got ${describe(o.axis)}`);
  }
  protected fn = (x: Tensor): Tensor => glu(x, this.axis);
}

/** x > 0 ? x : alpha · (e^(x/alpha) − 1) (torch.nn.CELU; alpha defaults to 1, and must not be 0). */
export class CELU extends Activation {
  readonly alpha: number;
  constructor(options?: { alpha?: number }) {
    super(options, ['alpha']);
    this.alpha = this.finiteOption(options, 'alpha', 1);
    if (this.alpha === 0) fail('INVALID_ARGUMENT', 'CELU: alpha must not be 0 (it divides x)');
  }
  protected fn = (x: Tensor): Tensor => celu(x, this.alpha);
}
/** x ∓ lambd outside [−lambd, lambd], 0 on it (torch.nn.Softshrink; lambd defaults to 0.5, must be ≥ 0). */
export class Softshrink extends Activation {
  readonly lambd: number;
  constructor(options?: { lambd?: number }) {
    super(options, ['lambd']);
    this.lambd = this.finiteOption(options, 'lambd', 0.5);
    if (this.lambd < 0) fail('INVALID_ARGUMENT', `Softshrink: lambd must be >= 0; got ${this.lambd}`);
  }
  protected fn = (x: Tensor): Tensor => softshrink(x, this.lambd);
}
/** x outside [−lambd, lambd], 0 on it (torch.nn.Hardshrink; lambd defaults to 0.5). */
export class Hardshrink extends Activation {
  readonly lambd: number;
  constructor(options?: { lambd?: number }) {
    super(options, ['lambd']);
    this.lambd = this.finiteOption(options, 'lambd', 0.5);
  }
  protected fn = (x: Tensor): Tensor => hardshrink(x, this.lambd);
}
/** x − tanh(x) (torch.nn.Tanhshrink). */
export class Tanhshrink extends Activation {
  protected fn = tanhshrink;
}
/**
 * x where x > threshold, else value (torch.nn.Threshold(threshold, value):
 * both required, as PyTorch's).
 */
export class Threshold extends Activation {
  readonly threshold: number;
  readonly value: number;
  constructor(threshold: number, value: number) {
    super();
    this.threshold = checkFinite(threshold, 'Threshold', 'threshold');
    if (typeof value !== 'number' || Number.isNaN(value)) fail('INVALID_ARGUMENT', `Threshold: value must be a number (±Infinity allowed); got ${describe(value)}`);
    this.value = value;
  }
  protected fn = (x: Tensor): Tensor => threshold(x, this.threshold, this.value);
}
/**
 * Randomized leaky ReLU (torch.nn.RReLU({lower 1/8, upper 1/3})): in
 * training mode each negative element's slope is drawn uniformly from
 * [lower, upper] at every forward; in eval mode the slope is
 * (lower + upper) / 2.
 */
export class RReLU extends Activation {
  readonly lower: number;
  readonly upper: number;
  constructor(options?: { lower?: number; upper?: number }) {
    super(options, ['lower', 'upper']);
    const o = checkOptions<{ lower: number; upper: number }>(options, 'RReLU', ['lower', 'upper']);
    [this.lower, this.upper] = rreluBounds('RReLU', o.lower, o.upper);
  }
  protected fn = (x: Tensor): Tensor => rrelu(x, { lower: this.lower, upper: this.upper, training: this.training });
}

/**
 * Parametric ReLU (torch.nn.PReLU): x > 0 ? x : a · x with a learnable
 * weight a of numParameters elements (1, shared by every element, or one
 * per channel: axis 1 of the input [N, C, …]), all starting at init (0.25).
 * State dict as PyTorch's: weight [numParameters]. (numParameters is read
 * as weight.size: Module's numParameters() counts trainable scalars.)
 */
export class PReLU extends Module {
  /** The slopes' initial value (PyTorch's init). */
  readonly init: number;
  weight: Tensor;

  constructor(options?: { numParameters?: number; init?: number } & Placement) {
    super();
    const op = 'PReLU';
    const o = placement(checkOptions<{ numParameters: number; init: number } & Placement>(options, op, ['numParameters', 'init', 'dtype', 'device']), op);
    const n = o.numParameters === undefined ? 1 : checkInteger(o.numParameters, op, 'numParameters', 1);
    const init = (this.init = o.init === undefined ? 0.25 : checkFinite(o.init, op, 'init'));
    this.weight = this.registerParameter('weight', isolated(() => full([n], init, { dtype: o.dtype, device: o.device })));
  }

  forward(x: Tensor): Tensor {
    const op = 'PReLU';
    this.checkUsable(op);
    checkTensor(x, op, 'input');
    if (this.weight) checkModuleInput(op, 'input', x, this.weight);
    return prelu(x, this.weight);
  }
}

/**
 * torch.nn.Bilinear(in1Features, in2Features, outFeatures, {bias}):
 * y_k = x1ᵀ W_k x2 + b_k with weight [out, in1, in2] and bias [out] (default
 * true), both U(±1/√in1) as PyTorch's reset_parameters. forward(x1 [..., in1],
 * x2 [..., in2]) with the same leading axes gives [..., out].
 */
export class Bilinear extends Module {
  readonly in1Features: number;
  readonly in2Features: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(in1Features: number, in2Features: number, outFeatures: number, options?: { bias?: boolean } & Placement) {
    super();
    const op = 'Bilinear';
    const o = placement(checkOptions<{ bias: boolean } & Placement>(options, op, ['bias', 'dtype', 'device']), op);
    if (o.bias !== undefined) checkBoolean(o.bias, op, 'bias');
    this.in1Features = checkInteger(in1Features, op, 'in1Features', 1);
    this.in2Features = checkInteger(in2Features, op, 'in2Features', 1);
    this.outFeatures = checkInteger(outFeatures, op, 'outFeatures', 1);
    const bound = 1 / Math.sqrt(in1Features);
    this.weight = this.registerParameter('weight', uniform([outFeatures, in1Features, in2Features], bound, o))!;
    this.bias = this.registerParameter('bias', o.bias === false ? null : uniform([outFeatures], bound, o));
  }

  forward(x1: Tensor, x2: Tensor): Tensor {
    const op = 'Bilinear';
    this.checkUsable(op);
    checkTensor(x1, op, 'input1');
    checkTensor(x2, op, 'input2');
    for (const [name, x, n] of [['input1', x1, this.in1Features], ['input2', x2, this.in2Features]] as const) {
      if (x.rank === 0) fail('SHAPE_MISMATCH', `${op}: ${name} is a scalar (shape []); expected [..., ${n}]`);
      if (x.shape[x.rank - 1] !== n) fail('SHAPE_MISMATCH', `${op}: ${name} has ${x.shape[x.rank - 1]} features (shape ${shapeText(x.shape)}); expected ${n}`);
      if (this.weight) checkModuleInput(op, name, x, this.weight);
    }
    return bilinear(x1, x2, this.weight, this.bias);
  }
}

export type { DType };
