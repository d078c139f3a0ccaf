/**
 * More of torch.nn.functional, composed from recorded ops (so with their
 * gradients): interpolate for [N, C, L] inputs ('nearest', 'nearest-exact',
 * 'linear', 'area'), and the alpha and channel-wise dropouts (alphaDropout,
 * featureAlphaDropout, dropout1d). Index and weight vectors are built on the
 * host once per call with PyTorch's index arithmetic (in float32 for a
 * float32 input and float64 for float64, as its CPU kernels), then applied by gathers.
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, rand, tensor, Tensor } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import { add, greaterEqual, mul, reshape, sub } from './core';
import { indexSelect } from './indexing';
import { dropoutMask } from './nn';
import { adaptiveAvgPool1d } from './pool';

/** interpolate's modes (the 1-D ones of torch.nn.functional.interpolate). */
export type InterpolateMode = 'nearest' | 'linear' | 'nearest-exact' | 'area';
/** The modes interpolate and nn.Upsample accept. */
export const INTERPOLATE_MODES: readonly InterpolateMode[] = ['nearest', 'nearest-exact', 'linear', 'area'];

/** Options of {@link interpolate} (torch.nn.functional.interpolate's keywords). */
export interface InterpolateOptions {
  /** The output length (a number or [L]); give this or scaleFactor. */
  size?: number | readonly number[];
  /** The length's multiplier (a number or [s]): the output has floor(L · s); give this or size. */
  scaleFactor?: number | readonly number[];
  /** 'nearest' (default), 'nearest-exact', 'linear' or 'area' (adaptiveAvgPool1d to the output length). */
  mode?: InterpolateMode;
  /** 'linear' only: map the end samples onto each other (default false). */
  alignCorners?: boolean;
  /** With scaleFactor: compute the source positions from the sizes instead of 1/scaleFactor (default false). */
  recomputeScaleFactor?: boolean;
}

/** One value or a one-element list (PyTorch's tuple for one spatial axis). */
function single(v: unknown, op: string, what: string): number {
  const x = Array.isArray(v) ? (v.length === 1 ? v[0] : fail('INVALID_ARGUMENT', `${op}: ${what} must be a number or a one-element list (one spatial axis); got ${describe(v)}`)) : v;
  if (typeof x !== 'number') fail('INVALID_ARGUMENT', `${op}: ${what} must be a number or a one-element list; got ${describe(v)}`);
  return x;
}

/**
 * torch.nn.functional.interpolate for a 3-D input [N, C, L] (other ranks are
 * refused): resamples the last axis to `size`, or to floor(L · scaleFactor).
 * 'nearest' takes source floor(j · s), 'nearest-exact' floor((j + 0.5) · s),
 * with s = 1/scaleFactor when scaleFactor is given (and recomputeScaleFactor
 * is not set), else L/out; 'linear' blends the two neighbours of
 * (j + 0.5) · s − 0.5 (clamped at 0), or of j · (L − 1)/(out − 1) with
 * alignCorners; 'area' averages each of adaptiveAvgPool1d's windows (as
 * PyTorch, which calls adaptive_avg_pool1d). Gradients flow to x.
 */
export function interpolate(x: Tensor, options?: InterpolateOptions): Tensor {
  const op = 'interpolate';
  checkTensor(x, op, 'x');
  const o = checkOptions<InterpolateOptions>(options, op, ['size', 'scaleFactor', 'mode', 'alignCorners', 'recomputeScaleFactor']);
  const mode = o.mode ?? 'nearest';
  if (!INTERPOLATE_MODES.includes(mode))
    fail('INVALID_ARGUMENT', `${op}: mode must be 'nearest', 'nearest-exact', 'linear' or 'area' (1-D resampling); got ${describe(o.mode)}`);
  if (x.rank !== 3)
    fail('SHAPE_MISMATCH', `${op}: x has shape ${shapeText(x.shape)}; expected a 3-D input [N, C, L] (only 1-D resampling is supported)`);
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: x is int32; expected float32 or float64`);
  const hasSize = o.size !== undefined && o.size !== null, hasScale = o.scaleFactor !== undefined && o.scaleFactor !== null;
  if (hasSize === hasScale) fail('INVALID_ARGUMENT', `${op}: give exactly one of size and scaleFactor (as PyTorch); got ${hasSize ? 'both' : 'neither'}`);
  const align = o.alignCorners === undefined || o.alignCorners === null ? undefined : checkBoolean(o.alignCorners, op, 'alignCorners');
  if (align !== undefined && mode !== 'linear')
    fail('INVALID_ARGUMENT', `${op}: alignCorners can only be set with mode 'linear' (as PyTorch); mode is '${mode}'`);
  const recompute = o.recomputeScaleFactor === undefined || o.recomputeScaleFactor === null ? false : checkBoolean(o.recomputeScaleFactor, op, 'recomputeScaleFactor');
  if (recompute && !hasScale) fail('INVALID_ARGUMENT', `${op}: recomputeScaleFactor needs scaleFactor (size was given)`);
  const L = x.shape[2];
  let out: number, scaleArg: number | undefined;
  if (hasSize) {
    out = checkInteger(single(o.size, op, 'size'), op, 'size');
  } else {
    const sf = checkFinite(single(o.scaleFactor, op, 'scaleFactor'), op, 'scaleFactor');
    if (!(sf > 0)) fail('INVALID_ARGUMENT', `${op}: scaleFactor must be > 0; got ${sf}`);
    out = Math.floor(L * sf);
    if (!recompute) scaleArg = sf;
  }
  if (!(L > 0 && out > 0)) fail('INVALID_ARGUMENT', `${op}: input length ${L} and output length ${out} must be > 0 (x ${shapeText(x.shape)})`);
  if (mode === 'area') return adaptiveAvgPool1d(x, out);
  const f = x.dtype === 'float32' ? Math.fround : (v: number) => v;
  // PyTorch's compute_scales_value: 1/scale_factor when one is passed, else in/out (in the kernel's precision).
  const scaleValue = (prec: (v: number) => number) => (scaleArg !== undefined && scaleArg > 0 ? prec(1 / scaleArg) : prec(prec(L) / out));
  const index = (a: ArrayLike<number>) => tensor(Int32Array.from(a), [out], { dtype: 'int32', device: x.device });
  if (mode !== 'linear') {
    const src = new Int32Array(out);
    // The CPU kernel's HelperInterpNearest(Exact): the scale and source position in x's precision
    // (double for float64), then floorf — the position rounded to float before its floor — capped at L − 1.
    // 'nearest' takes scale · j; 'nearest-exact' max(scale · (j + 0.5) − 0.5, 0) + 0.5.
    const s = scaleValue(f);
    // (No shortcut for out = L or 2L, as the CPU kernel: with a scaleFactor, 1/scaleFactor decides.)
    for (let j = 0; j < out; j++) {
      const real = mode === 'nearest' ? f(s * j) : f(Math.max(f(f(s * f(j + 0.5)) - 0.5), 0) + 0.5);
      src[j] = Math.min(Math.floor(Math.fround(real)), L - 1);
    }
    return tidy(() => indexSelect(x, 2, index(src)));
  }
  // upsample_linear1d: area_pixel_compute_scale / _source_index and guard_index_and_lambda, in opmath (float for float32).
  const i0 = new Int32Array(out), i1 = new Int32Array(out), w0 = new Float64Array(out), w1 = new Float64Array(out);
  const scale = align ? (out > 1 ? f(f(L - 1) / (out - 1)) : 0) : scaleValue(f);
  for (let j = 0; j < out; j++) {
    if (out === L) {
      i0[j] = i1[j] = j;
      w0[j] = 1;
      continue;
    }
    // The scale is a float for a float32 input, but the source position and its weight are
    // double (the weight rounded to float last): torch 1.13's CPU weights, to the bit.
    let real = align ? scale * j : scale * (j + 0.5) - 0.5;
    if (!align && real < 0) real = 0;
    const k = Math.min(Math.floor(real), L - 1);
    const lambda = f(Math.min(Math.max(real - k, 0), 1));
    i0[j] = k;
    i1[j] = k + (k < L - 1 ? 1 : 0);
    w1[j] = lambda;
    w0[j] = f(1 - lambda);
  }
  return tidy(() => {
    const w = (a: Float64Array) => tensor(a, [out], { dtype: x.dtype, device: x.device });
    return add(mul(indexSelect(x, 2, index(i0)), w(w0)), mul(indexSelect(x, 2, index(i1)), w(w1)));
  });
}

/** SELU's λα (PyTorch's alpha_dropout constant). */
const ALPHA = 1.7580993408473766;

/** Options of {@link alphaDropout}, {@link featureAlphaDropout} and {@link dropout1d}. */
export interface DropoutExtraOptions {
  /** Apply the dropout (default true); false returns x unchanged. */
  training?: boolean;
  /** Makes the draw repeatable (as dropout's seed); without it, antler.setSeed's stream. */
  seed?: number;
  /**
   * Replays a draw: the 0/1 keep mask (1 = kept) of the noise shape (x's
   * shape; [N, C, 1, …] for the channel-wise ones), in x's dtype.
   */
  keep?: Tensor;
}

/** p, training, seed and keep of the dropouts below, checked. */
function dropoutArgs(op: string, x: Tensor, p: unknown, options: unknown): { p: number; training: boolean; seed?: number; keep?: Tensor } {
  checkTensor(x, op, 'x');
  const o = checkOptions<DropoutExtraOptions>(options, op, ['training', 'seed', 'keep']);
  const pp = checkFinite(p, op, 'p');
  if (pp < 0 || pp > 1) fail('INVALID_ARGUMENT', `${op}: p must be in [0, 1]; got ${pp}`);
  const training = o.training === undefined || o.training === null ? true : checkBoolean(o.training, op, 'training');
  if (o.seed !== undefined && o.seed !== null) checkInteger(o.seed, op, 'seed');
  const keep = o.keep ?? undefined;
  if (keep !== undefined) {
    checkTensor(keep, op, 'keep');
    if (keep.dtype !== x.dtype) fail('DTYPE_MISMATCH', `${op}: keep is ${keep.dtype} and x ${x.dtype}; expected x's dtype`);
    if (keep.device !== x.device) fail('DEVICE_MISMATCH', `${op}: keep is on ${keep.device} and x on ${x.device}`);
  }
  return { p: pp, training, seed: o.seed ?? undefined, keep };
}

/**
 * PyTorch's _dropout_impl for an applied draw: keep (1 with probability
 * 1 − p, drawn as dropout's: rand ≥ p) of `noiseShape`, which broadcasts to
 * x; alpha: x · keep · a + α·a·(keep − 1 + p), else x · keep / (1 − p).
 */
function applyDropout(op: string, x: Tensor, args: { p: number; seed?: number; keep?: Tensor }, noiseShape: number[], alpha: boolean): Tensor {
  const { p, seed } = args;
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: x is int32; expected float32 or float64`);
  if (args.keep && args.keep.shape.join() !== noiseShape.join())
    fail('SHAPE_MISMATCH', `${op}: keep has shape ${shapeText(args.keep.shape)}; expected the noise shape ${shapeText(noiseShape)} (x ${shapeText(x.shape)})`);
  return tidy(() => {
    if (p === 1) return mul(x, 0);
    // dropout1d: dropout's scaled mask (dropoutMask: the same rand draw, so a seed replays as before); a
    // replayed keep mask scaled as that one is. The alpha dropouts need the 0/1 keep mask itself.
    if (!alpha) return mul(x, args.keep ? mul(args.keep, 1 / (1 - p)) : dropoutMask(noiseShape, p, { dtype: x.dtype as 'float32' | 'float64', device: x.device, seed }));
    const keep = args.keep ?? greaterEqual(rand(noiseShape, { dtype: x.dtype, device: x.device, seed }), p);
    const a = 1 / Math.sqrt((ALPHA * ALPHA * p + 1) * (1 - p));
    return add(mul(x, mul(keep, a)), mul(add(keep, p - 1), ALPHA * a));
  });
}

/**
 * torch.nn.functional.alpha_dropout, for SELU networks: each element is
 * dropped with probability p to −λα (SELU's saturation), then all are mapped
 * by a·x + b so that zero mean and unit variance are kept: kept a·x + λα·a·p,
 * dropped −λα·a·(1 − p), a = 1/√((λα²·p + 1)(1 − p)). p = 1 gives zeros (as
 * PyTorch); training false or p = 0 returns x unchanged (a view). `seed`
 * makes the draw repeatable, `keep` replays one (a 0/1 mask of x's shape).
 */
export function alphaDropout(x: Tensor, p = 0.5, options?: DropoutExtraOptions): Tensor {
  const a = dropoutArgs('alphaDropout', x, p, options);
  if (!a.training || a.p === 0 || x.size === 0) return reshape(x, x.shape);
  return applyDropout('alphaDropout', x, a, [...x.shape], true);
}

/** The feature-noise shape: [N, C, 1, …] (PyTorch's make_feature_noise). */
function featureShape(op: string, x: Tensor): number[] {
  if (x.rank < 2) fail('SHAPE_MISMATCH', `${op}: x has shape ${shapeText(x.shape)}; feature dropout needs at least 2 axes [N, C, …]`);
  return x.shape.map((d, i) => (i < 2 ? d : 1));
}

/**
 * torch.nn.functional.feature_alpha_dropout: alphaDropout with one draw per
 * channel (axes 0 and 1 of x [N, C, …]; x needs at least 2 axes), the whole
 * channel set to the dropped value.
 */
export function featureAlphaDropout(x: Tensor, p = 0.5, options?: DropoutExtraOptions): Tensor {
  const a = dropoutArgs('featureAlphaDropout', x, p, options);
  const shape = featureShape('featureAlphaDropout', x);
  if (!a.training || a.p === 0 || x.size === 0) return reshape(x, x.shape);
  return applyDropout('featureAlphaDropout', x, a, shape, true);
}

/**
 * torch.nn.functional.dropout1d: zeroes whole channels of x [N, C, L] (or
 * unbatched [C, L]) with probability p, scaling the rest by 1/(1 − p).
 */
export function dropout1d(x: Tensor, p = 0.5, options?: DropoutExtraOptions): Tensor {
  const a = dropoutArgs('dropout1d', x, p, options);
  if (x.rank !== 2 && x.rank !== 3)
    fail('SHAPE_MISMATCH', `dropout1d: x has shape ${shapeText(x.shape)}; expected 2-D [C, L] or 3-D [N, C, L] (channel-wise dropout over one spatial axis)`);
  if (!a.training || a.p === 0 || x.size === 0) return reshape(x, x.shape);
  const shape = x.rank === 3 ? [x.shape[0], x.shape[1], 1] : [x.shape[0], 1];
  return applyDropout('dropout1d', x, a, shape, false);
}

/**
 * torch.nn.functional.dropout2d: zeroes whole channels of x [N, C, H, W] (or
 * unbatched [C, H, W]) with probability p, scaling the rest by 1/(1 − p); the
 * draw is dropout1d's (dropoutMask of the noise shape [N, C, 1, 1]). A 3-D
 * input is unbatched [C, H, W], as PyTorch 2 takes it (PyTorch 1.13 treats
 * it as [N, C, L] with a deprecation warning).
 */
export function dropout2d(x: Tensor, p = 0.5, options?: DropoutExtraOptions): Tensor {
  const a = dropoutArgs('dropout2d', x, p, options);
  if (x.rank !== 3 && x.rank !== 4)
    fail('SHAPE_MISMATCH', `dropout2d: x has shape ${shapeText(x.shape)}; expected 3-D [C, H, W] or 4-D [N, C, H, W] (channel-wise dropout over two spatial axes)`);
  if (!a.training || a.p === 0 || x.size === 0) return reshape(x, x.shape);
  const shape = x.rank === 4 ? [x.shape[0], x.shape[1], 1, 1] : [x.shape[0], 1, 1];
  return applyDropout('dropout2d', x, a, shape, false);
}
