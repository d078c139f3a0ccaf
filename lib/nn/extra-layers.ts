/**
 * Small modules over functional ops: PairwiseDistance, CosineSimilarity, the
 * 1-, 2- and 3-D padding modules, Upsample, LocalResponseNorm, and the alpha and channel-wise dropouts
 * (PyTorch's names, defaults and settings).
 */
import { fail } from '../errors';
import { cosineSimilarity, pairwiseDistance } from '../ops/extra';
import { alphaDropout, channelShuffle, dropout1d, dropout2d, dropout3d, featureAlphaDropout, interpolate, INTERPOLATE_MODES, InterpolateMode, InterpolateOptions, pixelShuffle, pixelUnshuffle } from '../ops/nn-extra';
import { localResponseNorm } from '../ops/grid';
import { pad, PadMode } from '../ops/shape';
import { checkTensor, Tensor } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import { Module } from './module';

/** nn.PairwiseDistance({p 2, eps 1e-6, keepdim false}): pairwiseDistance(x1, x2) over the last axis. */
export class PairwiseDistance extends Module {
  readonly p: number;
  readonly eps: number;
  readonly keepdim: boolean;
  constructor(options?: { p?: number; eps?: number; keepdim?: boolean }) {
    super();
    const o = checkOptions<{ p: number; eps: number; keepdim: boolean }>(options, 'PairwiseDistance', ['p', 'eps', 'keepdim']);
    this.p = o.p ?? 2;
    this.eps = o.eps ?? 1e-6;
    this.keepdim = o.keepdim ?? false;
    if (typeof this.p !== 'number' || !(this.p >= 0)) fail('INVALID_ARGUMENT', `PairwiseDistance: p must be a number >= 0 (Infinity allowed); got ${describe(o.p)}`);
    checkFinite(this.eps, 'PairwiseDistance', 'eps');
    if (typeof this.keepdim !== 'boolean') fail('INVALID_ARGUMENT', `PairwiseDistance: keepdim must be a boolean; got ${describe(o.keepdim)}`);
  }
  forward(x1: Tensor, x2: Tensor): Tensor {
    return pairwiseDistance(x1, x2, { p: this.p, eps: this.eps, keepdim: this.keepdim });
  }
}

/** nn.CosineSimilarity({dim 1, eps 1e-8}): cosineSimilarity(x1, x2) along dim, each norm clamped at eps. */
export class CosineSimilarity extends Module {
  readonly dim: number;
  readonly eps: number;
  constructor(options?: { dim?: number; eps?: number }) {
    super();
    const o = checkOptions<{ dim: number; eps: number }>(options, 'CosineSimilarity', ['dim', 'eps']);
    this.dim = o.dim ?? 1;
    this.eps = o.eps ?? 1e-8;
    if (!Number.isInteger(this.dim)) fail('INVALID_ARGUMENT', `CosineSimilarity: dim must be an integer; got ${describe(o.dim)}`);
    checkFinite(this.eps, 'CosineSimilarity', 'eps');
  }
  forward(x1: Tensor, x2: Tensor): Tensor {
    return cosineSimilarity(x1, x2, { axis: this.dim, eps: this.eps });
  }
}

/** The sides a padding module's tuple names, in PyTorch's order (the last axis first). */
const PAD_SIDES = ['left', 'right', 'top', 'bottom', 'front', 'back'];
/** The input layouts a padding module over `dims` spatial axes takes (unbatched or batched). */
const PAD_LAYOUTS: Record<number, string> = { 1: '[C, L] or [N, C, L]', 2: '[C, H, W] or [N, C, H, W]', 3: '[C, D, H, W] or [N, C, D, H, W]' };

/**
 * A padding module's padding, checked: an integer (every side) or PyTorch's tuple of 2·dims sides, each an
 * integer >= 0, or any integer for the constant modules (`crops`: a negative side crops, as PyTorch's).
 */
function padSides(name: string, padding: unknown, dims: number, crops: boolean): number[] {
  const sides = typeof padding === 'number' ? new Array<number>(2 * dims).fill(padding) : padding;
  if (!Array.isArray(sides) || sides.length !== 2 * dims)
    fail('INVALID_ARGUMENT', `${name}: padding must be an integer or [${PAD_SIDES.slice(0, 2 * dims).join(', ')}]; got ${describe(padding)}`);
  return sides.map((v, i) => {
    if (!crops) return checkInteger(v, name, `padding (${PAD_SIDES[i]})`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail('INVALID_ARGUMENT', `${name}: padding (${PAD_SIDES[i]}) must be an integer (negative crops); got ${describe(v)}`);
    return v;
  });
}
/** Whether a padding module class pads with a constant (and so takes negative sides, crops): its static `crops`. */
const cropsOf = (cls: unknown): boolean => (cls as { crops?: boolean }).crops === true;

/** A padding module's forward: pad's `mode` on the last dims axes of x (dims + 1 or dims + 2 axes), sides as padSides gives them. */
function padForward(name: string, x: Tensor, sides: readonly number[], mode: PadMode, value: number | undefined): Tensor {
  const dims = sides.length / 2;
  checkTensor(x, name, 'input');
  if (x.rank !== dims + 1 && x.rank !== dims + 2) fail('SHAPE_MISMATCH', `${name}: input has shape ${shapeText(x.shape)}; expected ${PAD_LAYOUTS[dims]}`);
  // Side pair k (left/right, top/bottom, front/back) pads the k-th axis from the end.
  const pads = x.shape.map((_, i): [number, number] => {
    const k = x.rank - 1 - i;
    return k < dims ? [sides[2 * k], sides[2 * k + 1]] : [0, 0];
  });
  return pad(x, pads, { mode, ...(value === undefined ? {} : { value }) });
}

/** The 1-D padding modules' common part: [left, right] on the last axis of [C, L] or [N, C, L]. */
abstract class Pad1d extends Module {
  readonly paddingLeft: number;
  readonly paddingRight: number;
  protected abstract readonly mode: PadMode;
  constructor(padding: number | readonly [number, number]) {
    super();
    [this.paddingLeft, this.paddingRight] = padSides(new.target.name, padding, 1, cropsOf(new.target));
  }
  protected fill(): number | undefined {
    return undefined;
  }
  forward(x: Tensor): Tensor {
    return padForward(this.constructor.name, x, [this.paddingLeft, this.paddingRight], this.mode, this.fill());
  }
}

/**
 * The 2-D and 3-D padding modules' common part: `padding` as PyTorch's tuple, [left, right, top,
 * bottom] (2-D) or [left, right, top, bottom, front, back] (3-D), on the last 2 or 3 axes.
 */
abstract class PadNd extends Module {
  /** [left, right, top, bottom(, front, back)]. */
  readonly padding: number[];
  protected abstract readonly mode: PadMode;
  constructor(padding: number | readonly number[], dims: number) {
    super();
    this.padding = padSides(new.target.name, padding, dims, cropsOf(new.target));
  }
  protected fill(): number | undefined {
    return undefined;
  }
  forward(x: Tensor): Tensor {
    return padForward(this.constructor.name, x, this.padding, this.mode, this.fill());
  }
}
/** The 2-D padding modules: [C, H, W] or [N, C, H, W]; padding an integer >= 0 or [left, right, top, bottom]. */
abstract class Pad2d extends PadNd {
  constructor(padding: number | readonly [number, number, number, number]) {
    super(padding, 2);
  }
}
/** The 3-D padding modules: [C, D, H, W] or [N, C, D, H, W]; padding an integer >= 0 or [left, right, top, bottom, front, back]. */
abstract class Pad3d extends PadNd {
  constructor(padding: number | readonly [number, number, number, number, number, number]) {
    super(padding, 3);
  }
}

/** nn.ConstantPad2d(padding, value): pads the last two axes with value. */
export class ConstantPad2d extends Pad2d {
  /** A negative side crops (PyTorch's negative padding). */
  static readonly crops = true;
  protected readonly mode = 'constant';
  readonly value: number;
  constructor(padding: number | readonly [number, number, number, number], value: number) {
    super(padding);
    this.value = checkFinite(value, 'ConstantPad2d', 'value');
  }
  protected fill(): number {
    return this.value;
  }
}
/** nn.ZeroPad2d(padding): ConstantPad2d with 0. */
export class ZeroPad2d extends Pad2d {
  /** A negative side crops (PyTorch's negative padding). */
  static readonly crops = true;
  protected readonly mode = 'constant';
}
/** nn.ReflectionPad2d(padding): mirrors without repeating the edge (each padding < its axis's size). */
export class ReflectionPad2d extends Pad2d {
  protected readonly mode = 'reflect';
}
/** nn.ReplicationPad2d(padding): repeats the edge elements. */
export class ReplicationPad2d extends Pad2d {
  protected readonly mode = 'replicate';
}
/** nn.CircularPad2d(padding): wraps around (each padding <= its axis's size). */
export class CircularPad2d extends Pad2d {
  protected readonly mode = 'circular';
}
/** nn.ConstantPad3d(padding, value): pads the last three axes with value. */
export class ConstantPad3d extends Pad3d {
  /** A negative side crops (PyTorch's negative padding). */
  static readonly crops = true;
  protected readonly mode = 'constant';
  readonly value: number;
  constructor(padding: number | readonly [number, number, number, number, number, number], value: number) {
    super(padding);
    this.value = checkFinite(value, 'ConstantPad3d', 'value');
  }
  protected fill(): number {
    return this.value;
  }
}
/** nn.ZeroPad3d(padding): ConstantPad3d with 0. */
export class ZeroPad3d extends Pad3d {
  /** A negative side crops (PyTorch's negative padding). */
  static readonly crops = true;
  protected readonly mode = 'constant';
}
/** nn.ReflectionPad3d(padding): mirrors without repeating the edge (each padding < its axis's size). */
export class ReflectionPad3d extends Pad3d {
  protected readonly mode = 'reflect';
}
/** nn.ReplicationPad3d(padding): repeats the edge elements. */
export class ReplicationPad3d extends Pad3d {
  protected readonly mode = 'replicate';
}
/** nn.CircularPad3d(padding): wraps around (each padding <= its axis's size). */
export class CircularPad3d extends Pad3d {
  protected readonly mode = 'circular';
}

/** nn.ConstantPad1d(padding, value): pads the last axis of [C, L] / [N, C, L] with value (padding an integer or [left, right]; a negative side crops). */
export class ConstantPad1d extends Pad1d {
  /** A negative side crops (PyTorch's negative padding). */
  static readonly crops = true;
  protected readonly mode = 'constant';
  readonly value: number;
  constructor(padding: number | readonly [number, number], value: number) {
    super(padding);
    this.value = checkFinite(value, 'ConstantPad1d', 'value');
  }
  protected fill(): number {
    return this.value;
  }
}
/** nn.ZeroPad1d(padding): ConstantPad1d with 0. */
export class ZeroPad1d extends Pad1d {
  /** A negative side crops (PyTorch's negative padding). */
  static readonly crops = true;
  protected readonly mode = 'constant';
}
/** nn.ReflectionPad1d(padding): mirrors without repeating the edge (each side's padding < L). */
export class ReflectionPad1d extends Pad1d {
  protected readonly mode = 'reflect';
}
/** nn.ReplicationPad1d(padding): repeats the edge elements. */
export class ReplicationPad1d extends Pad1d {
  protected readonly mode = 'replicate';
}
/** nn.CircularPad1d(padding): wraps around (each side's padding <= L). */
export class CircularPad1d extends Pad1d {
  protected readonly mode = 'circular';
}

/**
 * Upsample's size or scaleFactor: a number (every spatial axis), or a list of 1 to 3 kept as a list (one per
 * spatial axis: a one-element list fits a 3-D input only, as PyTorch's `(5,)`, where a number fits any rank).
 */
function upsampleSetting(v: unknown, name: string, what: string, check: (e: number) => void): number | number[] {
  if (Array.isArray(v)) {
    if (v.length < 1 || v.length > 3)
      fail('INVALID_ARGUMENT', `${name}: ${what} must be a number or a list of one per spatial axis (1 to 3); got ${describe(v)}`);
    v.forEach((e) => check(e));
    return v.slice() as number[];
  }
  check(v as number);
  return v as number;
}

/**
 * nn.Upsample({size, scaleFactor, mode 'nearest' (or 'nearest-exact', 'linear', 'bilinear', 'bicubic',
 * 'trilinear', 'area'), alignCorners, recomputeScaleFactor}): interpolate for [N, C, L], [N, C, H, W] or
 * [N, C, D, H, W] (size and scaleFactor a number or one per spatial axis).
 */
export class Upsample extends Module {
  readonly size?: number | number[];
  readonly scaleFactor?: number | number[];
  readonly mode: InterpolateMode;
  readonly alignCorners?: boolean;
  readonly recomputeScaleFactor?: boolean;
  constructor(options?: InterpolateOptions) {
    super();
    const name = new.target.name;
    const o = checkOptions<InterpolateOptions>(options, name, ['size', 'scaleFactor', 'mode', 'alignCorners', 'recomputeScaleFactor']);
    this.mode = o.mode ?? 'nearest';
    if (!INTERPOLATE_MODES.includes(this.mode))
      fail('INVALID_ARGUMENT', `${name}: mode must be 'nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear' or 'area'; got ${describe(o.mode)}`);
    if (o.size !== undefined && o.size !== null) this.size = upsampleSetting(o.size, name, 'size', (e) => checkInteger(e, name, 'size', 1));
    if (o.scaleFactor !== undefined && o.scaleFactor !== null)
      this.scaleFactor = upsampleSetting(o.scaleFactor, name, 'scaleFactor', (e) => {
        if (!(checkFinite(e, name, 'scaleFactor') > 0)) fail('INVALID_ARGUMENT', `${name}: scaleFactor must be > 0; got ${describe(o.scaleFactor)}`);
      });
    if (o.alignCorners !== undefined && o.alignCorners !== null) this.alignCorners = checkBoolean(o.alignCorners, name, 'alignCorners');
    if (o.recomputeScaleFactor !== undefined && o.recomputeScaleFactor !== null) this.recomputeScaleFactor = checkBoolean(o.recomputeScaleFactor, name, 'recomputeScaleFactor');
    if ((this.size === undefined) === (this.scaleFactor === undefined))
      fail('INVALID_ARGUMENT', `${name}: give exactly one of size and scaleFactor; got ${this.size === undefined ? 'neither' : 'both'}`);
  }
  forward(x: Tensor): Tensor {
    return interpolate(x, { size: this.size, scaleFactor: this.scaleFactor, mode: this.mode, alignCorners: this.alignCorners, recomputeScaleFactor: this.recomputeScaleFactor });
  }
}

/** nn.UpsamplingNearest2d({size, scaleFactor}): Upsample with mode 'nearest' (PyTorch's deprecated alias, kept for its files). */
export class UpsamplingNearest2d extends Upsample {
  constructor(options?: { size?: number | readonly number[]; scaleFactor?: number | readonly number[] }) {
    const o = checkOptions<{ size: number | readonly number[]; scaleFactor: number | readonly number[] }>(options, 'UpsamplingNearest2d', ['size', 'scaleFactor']);
    super({ size: o.size, scaleFactor: o.scaleFactor, mode: 'nearest' });
  }
}

/** nn.UpsamplingBilinear2d({size, scaleFactor}): Upsample with mode 'bilinear' and alignCorners true (as PyTorch's). */
export class UpsamplingBilinear2d extends Upsample {
  constructor(options?: { size?: number | readonly number[]; scaleFactor?: number | readonly number[] }) {
    const o = checkOptions<{ size: number | readonly number[]; scaleFactor: number | readonly number[] }>(options, 'UpsamplingBilinear2d', ['size', 'scaleFactor']);
    super({ size: o.size, scaleFactor: o.scaleFactor, mode: 'bilinear', alignCorners: true });
  }
}

/** nn.PixelShuffle(upscaleFactor): pixelShuffle, [*, C·r², H, W] to [*, C, H·r, W·r]. */
export class PixelShuffle extends Module {
  constructor(readonly upscaleFactor: number) {
    super();
    checkInteger(upscaleFactor, 'PixelShuffle', 'upscaleFactor', 1);
  }
  forward(x: Tensor): Tensor {
    return pixelShuffle(x, this.upscaleFactor);
  }
}
/** nn.PixelUnshuffle(downscaleFactor): pixelUnshuffle, [*, C, H·r, W·r] to [*, C·r², H, W]. */
export class PixelUnshuffle extends Module {
  constructor(readonly downscaleFactor: number) {
    super();
    checkInteger(downscaleFactor, 'PixelUnshuffle', 'downscaleFactor', 1);
  }
  forward(x: Tensor): Tensor {
    return pixelUnshuffle(x, this.downscaleFactor);
  }
}
/** nn.ChannelShuffle(groups): channelShuffle of [N, C, *]. */
export class ChannelShuffle extends Module {
  constructor(readonly groups: number) {
    super();
    checkInteger(groups, 'ChannelShuffle', 'groups', 1);
  }
  forward(x: Tensor): Tensor {
    return channelShuffle(x, this.groups);
  }
}

/**
 * nn.LocalResponseNorm(size, {alpha 1e-4, beta 0.75, k 1}): localResponseNorm over the channels of
 * [N, C, *] (3 or more axes): x / (k + α·mean of x² over `size` neighbouring channels)^β.
 */
export class LocalResponseNorm extends Module {
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;
  constructor(readonly size: number, options?: { alpha?: number; beta?: number; k?: number }) {
    super();
    checkInteger(size, 'LocalResponseNorm', 'size', 1);
    const o = checkOptions<{ alpha: number; beta: number; k: number }>(options, 'LocalResponseNorm', ['alpha', 'beta', 'k']);
    this.alpha = o.alpha === undefined ? 1e-4 : checkFinite(o.alpha, 'LocalResponseNorm', 'alpha');
    this.beta = o.beta === undefined ? 0.75 : checkFinite(o.beta, 'LocalResponseNorm', 'beta');
    this.k = o.k === undefined ? 1 : checkFinite(o.k, 'LocalResponseNorm', 'k');
  }
  forward(x: Tensor): Tensor {
    return localResponseNorm(x, this.size, { alpha: this.alpha, beta: this.beta, k: this.k });
  }
}

/** The dropouts below: p in [0, 1], applied in training mode only. */
abstract class DropoutBase extends Module {
  protected abstract readonly fn: (x: Tensor, p: number, o: { training: boolean }) => Tensor;
  constructor(readonly p = 0.5) {
    super();
    checkFinite(p, new.target.name, 'p');
    if (p < 0 || p > 1) fail('INVALID_ARGUMENT', `${new.target.name}: p must be in [0, 1]; got ${p}`);
  }
  forward(x: Tensor): Tensor {
    return this.fn(x, this.p, { training: this.training });
  }
}
/** nn.AlphaDropout(p = 0.5): alphaDropout in training mode (for SELU networks), identity in eval mode. */
export class AlphaDropout extends DropoutBase {
  protected readonly fn = alphaDropout;
}
/** nn.FeatureAlphaDropout(p = 0.5): featureAlphaDropout (one draw per channel) in training mode. */
export class FeatureAlphaDropout extends DropoutBase {
  protected readonly fn = featureAlphaDropout;
}
/** nn.Dropout1d(p = 0.5): dropout1d (whole channels of [N, C, L] or [C, L]) in training mode. */
export class Dropout1d extends DropoutBase {
  protected readonly fn = dropout1d;
}
/** nn.Dropout2d(p = 0.5): dropout2d (whole channels of [N, C, H, W] or [C, H, W]) in training mode. */
export class Dropout2d extends DropoutBase {
  protected readonly fn = dropout2d;
}
/** nn.Dropout3d(p = 0.5): dropout3d (whole channels of [N, C, D, H, W] or [C, D, H, W]) in training mode. */
export class Dropout3d extends DropoutBase {
  protected readonly fn = dropout3d;
}
