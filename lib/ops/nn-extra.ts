/**
 * More of torch.nn.functional, composed from recorded ops (so with their
 * gradients): interpolate for [N, C, L], [N, C, H, W] and [N, C, D, H, W]
 * inputs (separable: one 1-D resample per spatial axis), pixelShuffle,
 * pixelUnshuffle and channelShuffle, and the alpha and channel-wise dropouts
 * (alphaDropout, featureAlphaDropout, dropout1d, dropout2d, dropout3d).
 * interpolate's index and weight vectors are built on the host once per call
 * with PyTorch's index arithmetic (in float32 for a float32 input and float64
 * for float64, as its CPU kernels), then applied by gathers.
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, rand, tensor, Tensor } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import { add, greaterEqual, mul, permute, reshape, sub } from './core';
import { indexSelect } from './indexing';
import { dropoutMask } from './nn';
import { adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveAvgPool3d } from './pool';

/** interpolate's modes (torch.nn.functional.interpolate's, but 'antialias'). */
export type InterpolateMode = 'nearest' | 'linear' | 'nearest-exact' | 'area' | 'bilinear' | 'bicubic' | 'trilinear';
/** The modes interpolate and nn.Upsample accept. */
export const INTERPOLATE_MODES: readonly InterpolateMode[] = ['nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear', 'area'];
/** The modes that take alignCorners (PyTorch's interpolating modes). */
const ALIGNING_MODES: readonly InterpolateMode[] = ['linear', 'bilinear', 'bicubic', 'trilinear'];
/** The one input rank of each interpolating mode (the nearest modes and 'area' take 3-, 4- and 5-D). */
const MODE_RANK: Partial<Record<InterpolateMode, number>> = { linear: 3, bilinear: 4, bicubic: 4, trilinear: 5 };
const RANK_TEXT: Record<number, string> = { 3: '3-D input [N, C, L]', 4: '4-D input [N, C, H, W]', 5: '5-D input [N, C, D, H, W]' };

/** Options of {@link interpolate} (torch.nn.functional.interpolate's keywords). */
export interface InterpolateOptions {
  /** The output's spatial size: a number (every spatial axis) or one entry per spatial axis; give this or scaleFactor. */
  size?: number | readonly number[];
  /** The spatial multipliers (a number or one per spatial axis): each axis gets floor(in · s); give this or size. */
  scaleFactor?: number | readonly number[];
  /**
   * 'nearest' (default), 'nearest-exact', 'linear' (3-D), 'bilinear' and 'bicubic' (4-D), 'trilinear' (5-D),
   * or 'area' (adaptive average pooling to the output size; every rank).
   */
  mode?: InterpolateMode;
  /** The interpolating modes only: map the corner samples onto each other (default false). */
  alignCorners?: boolean;
  /** With scaleFactor: compute the source positions from the sizes instead of 1/scaleFactor (default false). */
  recomputeScaleFactor?: boolean;
}

/** size or scaleFactor: a number (every spatial axis) or a list of one per spatial axis (PyTorch's tuple). */
function perAxis(v: unknown, op: string, what: string, x: Tensor): number[] {
  const dim = x.rank - 2;
  if (Array.isArray(v)) {
    if (v.length !== dim)
      fail(
        'INVALID_ARGUMENT',
        `${op}: ${what} must be a number or ${dim === 1 ? 'a one-element list' : `a list of ${dim}`} (one entry per spatial axis of x ${shapeText(x.shape)}); got ${describe(v)}`,
      );
    return v.map((e) => (typeof e === 'number' ? e : fail('INVALID_ARGUMENT', `${op}: ${what} must hold numbers; got ${describe(v)}`)));
  }
  if (typeof v !== 'number') fail('INVALID_ARGUMENT', `${op}: ${what} must be a number or ${dim === 1 ? 'a one-element list' : `a list of ${dim}`}; got ${describe(v)}`);
  return new Array<number>(dim).fill(v);
}

/**
 * PyTorch's get_cubic_upsample_coefficients: the cubic convolution kernel (A = −0.75) at the four taps
 * of fraction t, evaluated in float64 (each weight rounded to x's dtype by the caller).
 */
function cubicWeights(t: number): [number, number, number, number] {
  const A = -0.75;
  // cubic_convolution1 (|d| <= 1): ((A + 2)·d − (A + 3))·d·d + 1; cubic_convolution2 (1 < |d| < 2): ((A·d − 5A)·d + 8A)·d − 4A.
  const c1 = (d: number) => ((A + 2) * d - (A + 3)) * d * d + 1;
  const c2 = (d: number) => ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
  const u = 1 - t;
  return [c2(t + 1), c1(t), c1(u), c2(u + 1)];
}

/**
 * One recorded 1-D resample of axis `axis` of x to length `out` (PyTorch's
 * per-axis index and weight rules): gathers along the axis, blended by
 * weights in x's dtype. `scaleArg` is the scale factor PyTorch's kernel is
 * handed (undefined: in/out).
 */
function resampleAxis(x: Tensor, axis: number, out: number, mode: InterpolateMode, align: boolean, scaleArg: number | undefined): Tensor {
  const L = x.shape[axis];
  const f = x.dtype === 'float32' ? Math.fround : (v: number) => v;
  // PyTorch's compute_scales_value: 1/scale_factor when one is passed, else in/out (in the kernel's precision).
  const scaleValue = (prec: (v: number) => number) => (scaleArg !== undefined && scaleArg > 0 ? prec(1 / scaleArg) : prec(prec(L) / out));
  const index = (a: ArrayLike<number>) => tensor(Int32Array.from(a), [out], { dtype: 'int32', device: x.device });
  const weightShape = x.shape.map((d, i) => (i === axis ? out : 1));
  const weight = (a: Float64Array) => tensor(a, weightShape, { dtype: x.dtype, device: x.device });
  if (mode === 'nearest' || mode === 'nearest-exact') {
    const src = new Int32Array(out);
    // The CPU kernel's HelperInterpNearest(Exact): the scale and source position in x's precision
    // (double for float64), then floorf — the position rounded to float before its floor — capped at L − 1.
    // 'nearest' takes scale · j; 'nearest-exact' max(scale · (j + 0.5) − 0.5, 0) + 0.5.
    const s = scaleValue(f);
    // (No shortcut for out = L or 2L, as the CPU kernel: with a scaleFactor, 1/scaleFactor decides.
    // This is torch 1.13's generic kernel, the one a contiguous [N, C, …] input with C > 1 takes; for
    // C = 1 its 2-D/3-D 'nearest' goes the channels-last way, with a float scale and those shortcuts.)
    for (let j = 0; j < out; j++) {
      const real = mode === 'nearest' ? f(s * j) : f(Math.max(f(f(s * f(j + 0.5)) - 0.5), 0) + 0.5);
      src[j] = Math.min(Math.floor(Math.fround(real)), L - 1);
    }
    return indexSelect(x, axis, index(src));
  }
  const scale = align ? (out > 1 ? f(f(L - 1) / (out - 1)) : 0) : scaleValue(f);
  if (mode === 'bicubic') {
    // upsample_bicubic2d: the unclamped source position (cubic), its floor k and fraction t (guard_index_and_lambda),
    // get_cubic_upsample_coefficients(t), and the taps k − 1 … k + 2 clamped into [0, L − 1]. The position and
    // weights are float64, each weight rounded to x's dtype once: torch 1.13's differ from these by a few
    // rounding errors (measured ≤ 2.3e-15 in float64 and ≤ 6.1e-7 in float32 over 300 random 1-D draws; its
    // float32 arithmetic is further off), so bicubic is close to PyTorch's, not bit-identical.
    // (Measured further: the float64 weights of the torch 1.13 build checked here are this formula with two
    // contractions its compiler made, fma(scale, j + 0.5, −0.5) for the position and an fma for c2's
    // (· x + 8A) step: 1738 of 1738 weights matched. JavaScript has no fma, and its float32 weights matched
    // none of 192 variants tried (float or double position, each multiply-add fused or not; best 806 of 1409);
    // float32 evaluation with or without fmas did not lower the worst error over 600 random 2-D cases
    // (16.5 → 26.7 / 19.6 units of 2^-24 of max |y|), so the weights stay float64, rounded once.)
    const taps = [0, 1, 2, 3].map(() => new Int32Array(out)), ws = [0, 1, 2, 3].map(() => new Float64Array(out));
    for (let j = 0; j < out; j++) {
      const real = align ? scale * j : scale * (j + 0.5) - 0.5;
      const k = Math.min(Math.floor(real), L - 1);
      const c = cubicWeights(Math.min(Math.max(real - k, 0), 1));
      for (let i = 0; i < 4; i++) {
        taps[i][j] = Math.max(Math.min(k - 1 + i, L - 1), 0);
        ws[i][j] = f(c[i]);
      }
    }
    // Summed tap by tap in x's dtype, as the kernel accumulates.
    return blend(x, axis, taps, ws, index, weight);
  }
  // upsample_linear1d: area_pixel_compute_scale / _source_index and guard_index_and_lambda, in opmath (float for float32).
  const i0 = new Int32Array(out), i1 = new Int32Array(out), w0 = new Float64Array(out), w1 = new Float64Array(out);
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
  return blend(x, axis, [i0, i1], [w0, w1], index, weight);
}

/**
 * Σ_i x gathered at taps[i] along axis · ws[i], summed in order (w0·x0 + w1·x1 + …). Each gather,
 * product and partial sum is disposed once used (the recorded graph keeps what its backward needs),
 * so a resample holds about two output-sized buffers at a time instead of every intermediate until
 * interpolate's tidy ends.
 */
function blend(
  x: Tensor,
  axis: number,
  taps: readonly Int32Array[],
  ws: readonly Float64Array[],
  index: (a: ArrayLike<number>) => Tensor,
  weight: (a: Float64Array) => Tensor,
): Tensor {
  let y: Tensor | undefined;
  for (let i = 0; i < taps.length; i++) {
    const idx = index(taps[i]);
    const g = indexSelect(x, axis, idx);
    idx.dispose();
    const w = weight(ws[i]);
    const p = mul(g, w);
    g.dispose();
    w.dispose();
    if (y === undefined) y = p;
    else {
      const s = add(y, p);
      y.dispose();
      p.dispose();
      y = s;
    }
  }
  return y as Tensor;
}

/**
 * torch.nn.functional.interpolate for a 3-D [N, C, L], 4-D [N, C, H, W] or
 * 5-D [N, C, D, H, W] input: resamples the spatial axes to `size`, or each
 * to floor(in · scaleFactor). Separable: one recorded 1-D resample per
 * spatial axis, the last axis first (the order of PyTorch's CPU kernels'
 * nested sums), each with PyTorch's per-axis source rule. 'nearest' takes
 * source floor(j · s), 'nearest-exact' floor((j + 0.5) · s), with s =
 * 1/scaleFactor when scaleFactor is given (and recomputeScaleFactor is not
 * set), else in/out; 'linear' (3-D), 'bilinear' (4-D) and 'trilinear' (5-D)
 * blend the two neighbours of (j + 0.5) · s − 0.5 (clamped at 0), or of
 * j · (in − 1)/(out − 1) with alignCorners; 'bicubic' (4-D) weighs the four
 * neighbours of the unclamped position by the cubic convolution kernel with
 * A = −0.75, reading clamped indices at the borders; 'area' averages each
 * of adaptiveAvgPool1d's / adaptiveAvgPool2d's / adaptiveAvgPool3d's windows
 * (as PyTorch). Gradients flow to x.
 */
export function interpolate(x: Tensor, options?: InterpolateOptions): Tensor {
  const op = 'interpolate';
  checkTensor(x, op, 'x');
  const o = checkOptions<InterpolateOptions>(options, op, ['size', 'scaleFactor', 'mode', 'alignCorners', 'recomputeScaleFactor']);
  const mode = o.mode ?? 'nearest';
  if (!INTERPOLATE_MODES.includes(mode))
    fail('INVALID_ARGUMENT', `${op}: mode must be 'nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'trilinear' or 'area'; got ${describe(o.mode)}`);
  if (x.rank < 3 || x.rank > 5)
    fail('SHAPE_MISMATCH', `${op}: x has shape ${shapeText(x.shape)}; expected a 3-D input [N, C, L], 4-D [N, C, H, W] or 5-D [N, C, D, H, W] (1-, 2- or 3-D resampling)`);
  const need = MODE_RANK[mode];
  if (need !== undefined && need !== x.rank)
    fail('INVALID_ARGUMENT', `${op}: mode '${mode}' needs a ${RANK_TEXT[need]} (as PyTorch); got x of shape ${shapeText(x.shape)} (${x.rank}-D)`);
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: x is int32; expected float32 or float64`);
  const hasSize = o.size !== undefined && o.size !== null, hasScale = o.scaleFactor !== undefined && o.scaleFactor !== null;
  if (hasSize === hasScale) fail('INVALID_ARGUMENT', `${op}: give exactly one of size and scaleFactor (as PyTorch); got ${hasSize ? 'both' : 'neither'}`);
  const align = o.alignCorners === undefined || o.alignCorners === null ? undefined : checkBoolean(o.alignCorners, op, 'alignCorners');
  if (align !== undefined && !ALIGNING_MODES.includes(mode))
    fail('INVALID_ARGUMENT', `${op}: alignCorners can only be set with mode 'linear', 'bilinear', 'bicubic' or 'trilinear' (as PyTorch); mode is '${mode}'`);
  const recompute = o.recomputeScaleFactor === undefined || o.recomputeScaleFactor === null ? false : checkBoolean(o.recomputeScaleFactor, op, 'recomputeScaleFactor');
  if (recompute && !hasScale) fail('INVALID_ARGUMENT', `${op}: recomputeScaleFactor needs scaleFactor (size was given)`);
  const inSizes = x.shape.slice(2);
  let outs: number[], scales: (number | undefined)[];
  if (hasSize) {
    outs = perAxis(o.size, op, 'size', x).map((v) => checkInteger(v, op, 'size'));
    scales = outs.map(() => undefined);
  } else {
    const sfs = perAxis(o.scaleFactor, op, 'scaleFactor', x).map((v) => checkFinite(v, op, 'scaleFactor'));
    sfs.forEach((sf) => {
      if (!(sf > 0)) fail('INVALID_ARGUMENT', `${op}: scaleFactor must be > 0; got ${describe(o.scaleFactor)}`);
    });
    outs = sfs.map((sf, i) => Math.floor(inSizes[i] * sf));
    scales = sfs.map((sf) => (recompute ? undefined : sf));
  }
  if (!(inSizes.every((v) => v > 0) && outs.every((v) => v > 0)))
    fail(
      'INVALID_ARGUMENT',
      x.rank === 3
        ? `${op}: input length ${inSizes[0]} and output length ${outs[0]} must be > 0 (x ${shapeText(x.shape)})`
        : `${op}: input spatial size ${shapeText(inSizes)} and output size ${shapeText(outs)} must be > 0 (x ${shapeText(x.shape)})`,
    );
  if (mode === 'area')
    return x.rank === 3 ? adaptiveAvgPool1d(x, outs[0]) : x.rank === 4 ? adaptiveAvgPool2d(x, [outs[0], outs[1]]) : adaptiveAvgPool3d(x, [outs[0], outs[1], outs[2]]);
  return tidy(() => {
    let y = x;
    for (let i = outs.length - 1; i >= 0; i--) {
      const next = resampleAxis(y, i + 2, outs[i], mode, align === true, scales[i]);
      // The previous axis's result is no longer needed (the graph keeps what backward reads).
      if (y !== x) y.dispose();
      y = next;
    }
    return y;
  });
}

/** The factor of pixelShuffle / pixelUnshuffle and the groups of channelShuffle: an integer >= 1. */
function positiveFactor(v: unknown, op: string, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail('INVALID_ARGUMENT', `${op}: ${what} must be an integer >= 1; got ${describe(v)}`);
  return v;
}

/**
 * torch.nn.functional.pixel_shuffle: [*, C·r², H, W] to [*, C, H·r, W·r] (any number of leading batch
 * axes, at least one channel axis): out[…, c, h·r + i, w·r + j] = x[…, c·r² + i·r + j, h, w]. A reshape,
 * permute and reshape, so gradients flow.
 */
export function pixelShuffle(x: Tensor, upscaleFactor: number): Tensor {
  const op = 'pixelShuffle';
  checkTensor(x, op, 'x');
  const r = positiveFactor(upscaleFactor, op, 'upscaleFactor');
  if (x.rank < 3) fail('SHAPE_MISMATCH', `${op}: x has shape ${shapeText(x.shape)}; expected at least 3 axes [*, C·r², H, W]`);
  const lead = x.shape.slice(0, -3), [C, H, W] = x.shape.slice(-3);
  if (C % (r * r) !== 0)
    fail('SHAPE_MISMATCH', `${op}: x has ${C} channels (axis -3 of ${shapeText(x.shape)}); expected a multiple of upscaleFactor² = ${r * r}`);
  const b = lead.length;
  return tidy(() => {
    const y = reshape(x, [...lead, C / (r * r), r, r, H, W]);
    // [*, c, i, j, h, w] → [*, c, h, i, w, j]
    const p = permute(y, [...lead.map((_, i) => i), b, b + 3, b + 1, b + 4, b + 2]);
    return reshape(p, [...lead, C / (r * r), H * r, W * r]);
  });
}

/**
 * torch.nn.functional.pixel_unshuffle, pixelShuffle's inverse: [*, C, H·r, W·r] to [*, C·r², H, W]
 * (H·r and W·r multiples of downscaleFactor r).
 */
export function pixelUnshuffle(x: Tensor, downscaleFactor: number): Tensor {
  const op = 'pixelUnshuffle';
  checkTensor(x, op, 'x');
  const r = positiveFactor(downscaleFactor, op, 'downscaleFactor');
  if (x.rank < 3) fail('SHAPE_MISMATCH', `${op}: x has shape ${shapeText(x.shape)}; expected at least 3 axes [*, C, H·r, W·r]`);
  const lead = x.shape.slice(0, -3), [C, H, W] = x.shape.slice(-3);
  if (H % r !== 0 || W % r !== 0)
    fail('SHAPE_MISMATCH', `${op}: x has height ${H} and width ${W} (shape ${shapeText(x.shape)}); expected both multiples of downscaleFactor ${r}`);
  const b = lead.length;
  return tidy(() => {
    const y = reshape(x, [...lead, C, H / r, r, W / r, r]);
    // [*, c, h, i, w, j] → [*, c, i, j, h, w]
    const p = permute(y, [...lead.map((_, i) => i), b, b + 2, b + 4, b + 1, b + 3]);
    return reshape(p, [...lead, C * r * r, H / r, W / r]);
  });
}

/**
 * torch.nn.functional.channel_shuffle (ShuffleNet's): x [N, C, *] (at least 3 axes) with its C channels
 * read as [groups, C/groups] and transposed: out channel k·groups + g = in channel g·(C/groups) + k.
 */
export function channelShuffle(x: Tensor, groups: number): Tensor {
  const op = 'channelShuffle';
  checkTensor(x, op, 'x');
  const g = positiveFactor(groups, op, 'groups');
  if (x.rank < 3) fail('SHAPE_MISMATCH', `${op}: x has shape ${shapeText(x.shape)}; expected at least 3 axes [N, C, *] (as PyTorch)`);
  const [N, C, ...rest] = x.shape;
  if (C % g !== 0) fail('SHAPE_MISMATCH', `${op}: x has ${C} channels (shape ${shapeText(x.shape)}); expected a multiple of groups ${g}`);
  return tidy(() => {
    const y = reshape(x, [N, g, C / g, ...rest]);
    return reshape(permute(y, [0, 2, 1, ...rest.map((_, i) => i + 3)]), x.shape);
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

/**
 * torch.nn.functional.dropout3d: zeroes whole channels of x [N, C, D, H, W] (or unbatched
 * [C, D, H, W], as PyTorch reads a 4-D input) with probability p, scaling the rest by 1/(1 − p); the
 * draw is dropout2d's (dropoutMask of the noise shape [N, C, 1, 1, 1]).
 */
export function dropout3d(x: Tensor, p = 0.5, options?: DropoutExtraOptions): Tensor {
  const a = dropoutArgs('dropout3d', x, p, options);
  if (x.rank !== 4 && x.rank !== 5)
    fail('SHAPE_MISMATCH', `dropout3d: x has shape ${shapeText(x.shape)}; expected 4-D [C, D, H, W] or 5-D [N, C, D, H, W] (channel-wise dropout over three spatial axes)`);
  if (!a.training || a.p === 0 || x.size === 0) return reshape(x, x.shape);
  const shape = x.rank === 5 ? [x.shape[0], x.shape[1], 1, 1, 1] : [x.shape[0], 1, 1, 1];
  return applyDropout('dropout3d', x, a, shape, false);
}
