/**
 * 1-D pooling (torch.nn.functional's max_pool1d, avg_pool1d,
 * adaptive_avg_pool1d and adaptive_max_pool1d): every output position's
 * window is gathered by one indexSelect of the (padded) input, as conv1d's
 * im2col, then reduced; the gradients come from autograd (a max's through
 * the gather at its argmax, so all of it goes to the one element picked, as
 * PyTorch's; overlapping windows add up).
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, tensor, Tensor } from '../tensor';
import { checkBoolean, checkInteger, checkOptions, describe, shapeText } from '../validate';
import { add, div, mul, reshape, sum } from './core';
import { argmax, gather, indexSelect } from './indexing';
import { pad } from './shape';

/** Options of {@link maxPool1d} (torch.nn.functional.max_pool1d's keywords). */
export interface MaxPool1dOptions {
  /** The step between windows (default, or null: the kernel size). */
  stride?: number | null;
  /** −∞ on both ends, at most half the kernel size (default 0). */
  padding?: number;
  /** The spacing of a window's taps (default 1). */
  dilation?: number;
  /** Round the output length up: a last, partial window that starts inside the input (or the left padding) counts. */
  ceilMode?: boolean;
  /** Also return the indices of the maxima in the input's last axis (int32), as `{values, indices}`. */
  returnIndices?: boolean;
}

/** Options of {@link avgPool1d}. */
export interface AvgPool1dOptions {
  stride?: number | null;
  /** Zeros on both ends, at most half the kernel size (default 0). */
  padding?: number;
  ceilMode?: boolean;
  /** Count the padding's zeros in each window's divisor (default true, as PyTorch's). */
  countIncludePad?: boolean;
}

interface Windows {
  /** Every window's taps as positions in the input (−1 … L: outside it where padded), Lout·K of them. */
  taps: number[];
  Lout: number;
  K: number;
}

/**
 * The input as [N, C, L] (1-D) or [N, C, H, W] (2-D), checked; and whether it
 * came unbatched [C, L] / [C, H, W]. `sizes` are the spatial axes' lengths.
 */
function poolInput(op: string, x: Tensor, spatial: 1 | 2 = 1): { N: number; C: number; L: number; sizes: number[]; unbatched: boolean } {
  checkTensor(x, op, 'input');
  if (x.rank !== spatial + 1 && x.rank !== spatial + 2)
    fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; expected ${spatial === 1 ? '[N, C, L] or unbatched [C, L]' : '[N, C, H, W] or unbatched [C, H, W]'}`);
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: input must be float32 or float64; got int32 (cast it first)`);
  const unbatched = x.rank === spatial + 1;
  const [N, C, ...sizes] = unbatched ? [1, ...x.shape] : x.shape;
  return { N, C, L: sizes.reduce((a, b) => a * b, 1), sizes, unbatched };
}

type WindowOptions = { stride?: number | null; padding?: number; dilation?: number; ceilMode?: boolean };

/**
 * @internal The pooling options checked, with their defaults (PyTorch's:
 * stride the kernel size); `at` names the axis in messages ('[0]' for a 2-D
 * pool's height, '[1]' its width; '' for 1-D).
 */
export function poolGeometry(op: string, kernelSize: unknown, o: WindowOptions, at = ''): { K: number; stride: number; padding: number; dilation: number; ceil: boolean } {
  const K = checkInteger(kernelSize, op, `kernelSize${at}`, 1);
  const stride = o.stride === undefined || o.stride === null ? K : checkInteger(o.stride, op, `stride${at}`, 1);
  const padding = o.padding === undefined ? 0 : checkInteger(o.padding, op, `padding${at}`, 0);
  const dilation = o.dilation === undefined ? 1 : checkInteger(o.dilation, op, `dilation${at}`, 1);
  const ceil = o.ceilMode === undefined ? false : checkBoolean(o.ceilMode, op, 'ceilMode');
  if (padding > Math.floor(K / 2))
    fail('INVALID_ARGUMENT', `${op}: padding${at} ${padding} is more than half the kernel size${at} ${K} (PyTorch's limit: at most ${Math.floor(K / 2)})`);
  return { K, stride, padding, dilation, ceil };
}

/**
 * PyTorch's pooling geometry: windows of K taps `dilation` apart, `stride`
 * apart, `padding` on each side, over an axis of length L (`extent` names it
 * in messages, `at` its options: see poolGeometry).
 */
function slidingWindows(op: string, L: number, kernelSize: unknown, o: WindowOptions, extent = 'length', at = ''): Windows & { stride: number; padding: number } {
  const { K, stride, padding, dilation, ceil } = poolGeometry(op, kernelSize, o, at);
  const span = dilation * (K - 1) + 1;
  const room = L + 2 * padding - span;
  let Lout = (ceil ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  // In ceil mode the last window must start inside the input or the left padding (PyTorch's rule).
  if (ceil && (Lout - 1) * stride >= L + padding) Lout--;
  if (Lout < 1)
    fail('SHAPE_MISMATCH', `${op}: the input's ${extent} ${L} (padded to ${L + 2 * padding}) is shorter than the window's span ${span} (kernel${at} ${K}, dilation${at} ${dilation})`);
  const taps: number[] = [];
  for (let t = 0; t < Lout; t++) for (let k = 0; k < K; k++) taps.push(t * stride - padding + k * dilation);
  return { taps, Lout, K, stride, padding };
}

/** PyTorch's adaptive windows: output i covers [⌊i·L/out⌋, ⌈(i+1)·L/out⌉); a shorter one's extra taps are −1. */
function adaptiveWindows(op: string, L: number, outputSize: unknown, extent = 'length', at = ''): Windows & { lengths: number[] } {
  const out = checkInteger(outputSize, op, `outputSize${at}`, 1);
  if (L === 0) fail('SHAPE_MISMATCH', `${op}: the input's ${extent} is 0; adaptive pooling needs at least one element`);
  const starts = Array.from({ length: out }, (_, i) => Math.floor((i * L) / out));
  const lengths = starts.map((s, i) => Math.ceil(((i + 1) * L) / out) - s);
  const K = lengths.reduce((m, n) => Math.max(m, n), 0);
  const taps: number[] = [];
  for (let i = 0; i < out; i++) for (let k = 0; k < K; k++) taps.push(k < lengths[i] ? starts[i] + k : -1);
  return { taps, Lout: out, K, lengths };
}

/**
 * The windows of x [N, C, L] as [N, C, Lout, K], gathered by one
 * indexSelect: a tap outside the input reads `fill` (one column of it
 * appended to x, at position L).
 */
function gatherWindows(x: Tensor, L: number, taps: readonly number[], Lout: number, K: number, fill: number): Tensor {
  const outside = taps.some((p) => p < 0 || p >= L);
  const xp = outside ? pad(x, [[0, 0], [0, 0], [0, 1]], { value: fill }) : x;
  const idx = tensor(Int32Array.from(taps, (p) => (p < 0 || p >= L ? L : p)), [taps.length], { dtype: 'int32', device: x.device });
  const [N, C] = x.shape;
  return reshape(indexSelect(xp, 2, idx), [N, C, Lout, K]);
}

/**
 * The maxima of each window and their positions in the input, as PyTorch's
 * scan picks them: the first in-input tap holding the maximum (a tap in the
 * padding never wins over one in the input, −∞ included: it reads the
 * window's first in-input tap instead), −∞ and −1 for a window with none.
 */
function maxOfWindows(x: Tensor, L: number, w: Windows, unbatched: boolean, returnIndices: boolean): Tensor | { values: Tensor; indices: Tensor } {
  const taps = w.taps.slice();
  for (let t = 0; t < w.Lout; t++) {
    let first = -1;
    for (let k = 0; k < w.K && first < 0; k++) if (taps[t * w.K + k] >= 0 && taps[t * w.K + k] < L) first = taps[t * w.K + k];
    for (let k = 0; k < w.K; k++) if (taps[t * w.K + k] < 0 || taps[t * w.K + k] >= L) taps[t * w.K + k] = first;
  }
  return tidy(() => {
    const cols = gatherWindows(x, L, taps, w.Lout, w.K, -Infinity);
    const [N, C] = x.shape;
    const at = argmax(cols, 3, true); // [N, C, Lout, 1]: the first maximum, or the first NaN
    const values = reshape(gather(cols, 3, at), unbatched ? [C, w.Lout] : [N, C, w.Lout]);
    if (!returnIndices) return values;
    // Slot at of window t is taps[t·K + at] (on the device, int32).
    const slot = add(at, tensor(Int32Array.from({ length: w.Lout }, (_, t) => t * w.K), [w.Lout, 1], { dtype: 'int32', device: x.device }));
    const positions = tensor(Int32Array.from(taps), [taps.length], { dtype: 'int32', device: x.device });
    return { values, indices: reshape(indexSelect(positions, 0, reshape(slot, [-1])), values.shape) };
  });
}

/**
 * torch.nn.functional.max_pool1d: the maximum of each window of x [N, C, L]
 * (or [C, L]) → [N, C, Lout], Lout = ⌊(L + 2·padding − dilation·(K − 1) − 1) / stride⌋ + 1
 * (⌈⌉ in ceil mode). As PyTorch's, the padding is never picked (a window of
 * −∞ inputs picks its first in-input one); a window with no element of the
 * input (possible with dilation) is −∞ with index −1. The gradient goes to
 * the element picked (the first of equal maxima; a NaN in a window is its
 * maximum, the first NaN, where PyTorch's CPU kernel keeps the last).
 */
export function maxPool1d(x: Tensor, kernelSize: number, options?: MaxPool1dOptions & { returnIndices?: false }): Tensor;
export function maxPool1d(x: Tensor, kernelSize: number, options: MaxPool1dOptions & { returnIndices: true }): { values: Tensor; indices: Tensor };
export function maxPool1d(x: Tensor, kernelSize: number, options?: MaxPool1dOptions): Tensor | { values: Tensor; indices: Tensor };
export function maxPool1d(x: Tensor, kernelSize: number, options?: MaxPool1dOptions): Tensor | { values: Tensor; indices: Tensor } {
  const op = 'maxPool1d';
  const o = checkOptions<MaxPool1dOptions>(options, op, ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
  const { L, unbatched } = poolInput(op, x);
  const w = slidingWindows(op, L, kernelSize, o);
  const ri = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, op, 'returnIndices');
  return tidy(() => maxOfWindows(unbatched ? reshape(x, [1, ...x.shape]) : x, L, w, unbatched, ri));
}

/**
 * Each window's divisor along one axis, as PyTorch's avg_pool: the window
 * clipped to the padded input, then (countIncludePad false) to the input.
 */
function windowDivisors(w: Windows & { stride: number; padding: number }, L: number, includePad: boolean): number[] {
  return Array.from({ length: w.Lout }, (_, t) => {
    const start = t * w.stride - w.padding;
    const end = Math.min(start + w.K, L + w.padding);
    return includePad ? end - start : Math.min(end, L) - Math.max(start, 0);
  });
}

/**
 * torch.nn.functional.avg_pool1d: the mean of each window of x [N, C, L]
 * (or [C, L]); zeros pad both ends, counted in the divisor unless
 * countIncludePad is false; in ceil mode a window running past the padded
 * input divides by the part inside it, as PyTorch's.
 */
export function avgPool1d(x: Tensor, kernelSize: number, options?: AvgPool1dOptions): Tensor {
  const op = 'avgPool1d';
  const o = checkOptions<AvgPool1dOptions>(options, op, ['stride', 'padding', 'ceilMode', 'countIncludePad']);
  const { N, C, L, unbatched } = poolInput(op, x);
  const w = slidingWindows(op, L, kernelSize, o);
  const includePad = o.countIncludePad === undefined ? true : checkBoolean(o.countIncludePad, op, 'countIncludePad');
  const divisors = windowDivisors(w, L, includePad);
  return tidy(() => {
    const cols = gatherWindows(unbatched ? reshape(x, [1, C, L]) : x, L, w.taps, w.Lout, w.K, 0);
    const y = div(sum(cols, 3), tensor(divisors, [w.Lout], { dtype: x.dtype, device: x.device }));
    return unbatched ? reshape(y, [C, w.Lout]) : reshape(y, [N, C, w.Lout]);
  });
}

/**
 * torch.nn.functional.adaptive_avg_pool1d: x [N, C, L] (or [C, L]) averaged
 * over outputSize windows, window i covering [⌊i·L/out⌋, ⌈(i+1)·L/out⌉)
 * (outputSize 1: the mean over time).
 */
export function adaptiveAvgPool1d(x: Tensor, outputSize: number): Tensor {
  const op = 'adaptiveAvgPool1d';
  const { N, C, L, unbatched } = poolInput(op, x);
  const w = adaptiveWindows(op, L, outputSize);
  // Each window's taps weighted 1/length; a shorter window's extra taps read 0 (so ±∞ elsewhere stays ±∞) and weigh 0.
  const weights = new Array<number>(w.Lout * w.K);
  for (let i = 0; i < w.Lout; i++) for (let k = 0; k < w.K; k++) weights[i * w.K + k] = k < w.lengths[i] ? 1 / w.lengths[i] : 0;
  return tidy(() => {
    const cols = gatherWindows(unbatched ? reshape(x, [1, C, L]) : x, L, w.taps, w.Lout, w.K, 0);
    const y = sum(mul(cols, tensor(weights, [w.Lout, w.K], { dtype: x.dtype, device: x.device })), 3);
    return unbatched ? reshape(y, [C, w.Lout]) : reshape(y, [N, C, w.Lout]);
  });
}

/** torch.nn.functional.adaptive_max_pool1d: the maximum over each of adaptiveAvgPool1d's windows. */
export function adaptiveMaxPool1d(x: Tensor, outputSize: number, options?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool1d(x: Tensor, outputSize: number, options: { returnIndices: true }): { values: Tensor; indices: Tensor };
export function adaptiveMaxPool1d(x: Tensor, outputSize: number, options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor };
export function adaptiveMaxPool1d(x: Tensor, outputSize: number, options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor } {
  const op = 'adaptiveMaxPool1d';
  const o = checkOptions<{ returnIndices: boolean }>(options, op, ['returnIndices']);
  const { L, unbatched } = poolInput(op, x);
  const w = adaptiveWindows(op, L, outputSize); // a shorter window's extra taps read its first one (maxOfWindows)
  const ri = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, op, 'returnIndices');
  return tidy(() => maxOfWindows(unbatched ? reshape(x, [1, ...x.shape]) : x, L, w, unbatched, ri));
}

// ---- 2-D pooling: the 1-D geometry per axis, combined into windows over the flattened H·W plane ----

/** A 2-D pool's size option: one number for both axes, or [h, w]. */
export type Size2d = number | readonly [number, number];

/** Options of {@link maxPool2d} (torch.nn.functional.max_pool2d's keywords; each size a number or [h, w]). */
export interface MaxPool2dOptions {
  /** The step between windows (default, or null: the kernel size). */
  stride?: Size2d | null;
  /** −∞ on both sides of each axis, at most half the kernel size (default 0). */
  padding?: Size2d;
  /** The spacing of a window's taps (default 1). */
  dilation?: Size2d;
  /** Round the output size up: a last, partial window that starts inside the input (or the left padding) counts. */
  ceilMode?: boolean;
  /** Also return the indices of the maxima in the flattened H·W plane (int32), as `{values, indices}`. */
  returnIndices?: boolean;
}

/** Options of {@link avgPool2d}. */
export interface AvgPool2dOptions {
  stride?: Size2d | null;
  /** Zeros on both sides of each axis, at most half the kernel size (default 0). */
  padding?: Size2d;
  ceilMode?: boolean;
  /** Count the padding's zeros in each window's divisor (default true, as PyTorch's). */
  countIncludePad?: boolean;
  /** Divide every window's sum by this (a nonzero integer) instead (default null: the window's size). */
  divisorOverride?: number | null;
}

/** @internal A size option as [h, w] (a number for both), checked for shape only (the values by poolGeometry). */
export function pair2d<T>(v: T | readonly [T, T] | undefined, op: string, what: string): [T | undefined, T | undefined, string, string] {
  if (!Array.isArray(v)) return [v as T | undefined, v as T | undefined, '', ''];
  if (v.length !== 2) fail('INVALID_ARGUMENT', `${op}: ${what} must be a number or [h, w]; got ${describe(v)}`);
  return [v[0], v[1], '[0]', '[1]'];
}

/** @internal The 2-D pooling options per axis: [height's, width's] of poolGeometry's options, with each axis's label. */
export function poolGeometry2d(
  op: string,
  kernelSize: unknown,
  o: { stride?: Size2d | null; padding?: Size2d; dilation?: Size2d; ceilMode?: boolean },
): { k: unknown; o: WindowOptions; at: string; g: ReturnType<typeof poolGeometry> }[] {
  const k = pair2d(kernelSize as Size2d, op, 'kernelSize');
  const s = pair2d(o.stride, op, 'stride');
  const p = pair2d(o.padding, op, 'padding');
  const d = pair2d(o.dilation, op, 'dilation');
  // An axis is named in messages where any of its options came as [h, w].
  const at = (i: 0 | 1): string => (k[2 + i] || s[2 + i] || p[2 + i] || d[2 + i] || '') as string;
  return ([0, 1] as const).map((i) => {
    const axis = { k: k[i], o: { stride: s[i], padding: p[i], dilation: d[i], ceilMode: o.ceilMode }, at: at(i) };
    return { ...axis, g: poolGeometry(op, axis.k, axis.o, axis.at) };
  });
}

/** The windows of both axes combined: taps into the flattened H·W plane, −1 where either axis's is outside (or absent). */
function planeWindows(h: Windows, w: Windows, H: number, W: number): Windows & { OH: number; OW: number } {
  const taps: number[] = [];
  for (let i = 0; i < h.Lout; i++)
    for (let j = 0; j < w.Lout; j++)
      for (let a = 0; a < h.K; a++)
        for (let b = 0; b < w.K; b++) {
          const ph = h.taps[i * h.K + a], pw = w.taps[j * w.K + b];
          taps.push(ph >= 0 && ph < H && pw >= 0 && pw < W ? ph * W + pw : -1);
        }
  return { taps, Lout: h.Lout * w.Lout, K: h.K * w.K, OH: h.Lout, OW: w.Lout };
}

/** Both axes' sliding windows, from checked options. */
function slidingWindows2d(op: string, H: number, W: number, kernelSize: unknown, o: { stride?: Size2d | null; padding?: Size2d; dilation?: Size2d; ceilMode?: boolean }) {
  const [gh, gw] = poolGeometry2d(op, kernelSize, o);
  const h = slidingWindows(op, H, gh.k, gh.o, 'height', gh.at);
  const w = slidingWindows(op, W, gw.k, gw.o, 'width', gw.at);
  return { h, w, plane: planeWindows(h, w, H, W) };
}

/** The output size: a number, [h, w], null (or a null entry) for the input's size. */
function adaptiveWindows2d(op: string, H: number, W: number, outputSize: unknown) {
  if (outputSize === undefined) fail('INVALID_ARGUMENT', `${op}: outputSize must be an integer >= 1, [h, w] or null; got undefined`);
  const [oh, ow, ah, aw] = pair2d(outputSize as number | null, op, 'outputSize');
  const h = adaptiveWindows(op, H, oh ?? H, 'height', ah);
  const w = adaptiveWindows(op, W, ow ?? W, 'width', aw);
  return { h, w, plane: planeWindows(h, w, H, W) };
}

/** y [N, C, OH·OW] (or [C, OH·OW]) as [N, C, OH, OW] (or [C, OH, OW]). */
function toPlane<T extends Tensor | { values: Tensor; indices: Tensor }>(r: T, OH: number, OW: number): T {
  const shape = (t: Tensor) => [...t.shape.slice(0, -1), OH, OW];
  if (r instanceof Tensor) return reshape(r, shape(r)) as T;
  const { values, indices } = r as { values: Tensor; indices: Tensor };
  return { values: reshape(values, shape(values)), indices: reshape(indices, shape(indices)) } as T;
}

/**
 * torch.nn.functional.max_pool2d: the maximum of each window of x
 * [N, C, H, W] (or [C, H, W]) → [N, C, OH, OW], each axis's output size as
 * maxPool1d's (kernelSize, stride, padding and dilation a number or [h, w]).
 * Indices (returnIndices) are positions in the flattened H·W plane, as
 * PyTorch's; ties, NaN, padding and empty windows as maxPool1d's (the
 * window scanned row by row).
 */
export function maxPool2d(x: Tensor, kernelSize: Size2d, options?: MaxPool2dOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(x: Tensor, kernelSize: Size2d, options: MaxPool2dOptions & { returnIndices: true }): { values: Tensor; indices: Tensor };
export function maxPool2d(x: Tensor, kernelSize: Size2d, options?: MaxPool2dOptions): Tensor | { values: Tensor; indices: Tensor };
export function maxPool2d(x: Tensor, kernelSize: Size2d, options?: MaxPool2dOptions): Tensor | { values: Tensor; indices: Tensor } {
  const op = 'maxPool2d';
  const o = checkOptions<MaxPool2dOptions>(options, op, ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
  const { N, C, L, sizes, unbatched } = poolInput(op, x, 2);
  const { plane } = slidingWindows2d(op, sizes[0], sizes[1], kernelSize, o);
  const ri = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, op, 'returnIndices');
  return tidy(() => toPlane(maxOfWindows(reshape(x, [N, C, L]), L, plane, unbatched, ri), plane.OH, plane.OW));
}

/**
 * torch.nn.functional.avg_pool2d: the mean of each window of x [N, C, H, W]
 * (or [C, H, W]); the divisor is the product of each axis's (as
 * avgPool1d's: padding counted unless countIncludePad is false, clipped to
 * the padded input in ceil mode), or divisorOverride where given.
 */
export function avgPool2d(x: Tensor, kernelSize: Size2d, options?: AvgPool2dOptions): Tensor {
  const op = 'avgPool2d';
  const o = checkOptions<AvgPool2dOptions>(options, op, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
  const { N, C, L, sizes, unbatched } = poolInput(op, x, 2);
  const [H, W] = sizes;
  const { h, w, plane } = slidingWindows2d(op, H, W, kernelSize, o);
  const includePad = o.countIncludePad === undefined ? true : checkBoolean(o.countIncludePad, op, 'countIncludePad');
  let override: number | null = null;
  if (o.divisorOverride !== undefined && o.divisorOverride !== null) {
    override = checkInteger(o.divisorOverride, op, 'divisorOverride', -Number.MAX_SAFE_INTEGER);
    if (override === 0) fail('INVALID_ARGUMENT', `${op}: divisorOverride must be a nonzero integer; got 0`);
  }
  const dh = windowDivisors(h, H, includePad), dw = windowDivisors(w, W, includePad);
  const divisors = dh.flatMap((a) => dw.map((b) => override ?? a * b));
  return tidy(() => {
    const cols = gatherWindows(reshape(x, [N, C, L]), L, plane.taps, plane.Lout, plane.K, 0);
    const y = div(sum(cols, 3), tensor(divisors, [plane.Lout], { dtype: x.dtype, device: x.device }));
    return reshape(y, unbatched ? [C, plane.OH, plane.OW] : [N, C, plane.OH, plane.OW]);
  });
}

/**
 * torch.nn.functional.adaptive_avg_pool2d: x [N, C, H, W] (or [C, H, W])
 * averaged over outputSize windows per axis (a number, [h, w], null or a null
 * entry for the input's size), each axis's as adaptiveAvgPool1d's.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | null | readonly [number | null, number | null]): Tensor {
  const op = 'adaptiveAvgPool2d';
  const { N, C, L, sizes, unbatched } = poolInput(op, x, 2);
  const { h, w, plane } = adaptiveWindows2d(op, sizes[0], sizes[1], outputSize);
  // As adaptiveAvgPool1d's: each window's taps weighted 1/size, the absent ones (reading 0) 0.
  const weights = new Array<number>(plane.Lout * plane.K);
  let at = 0;
  for (let i = 0; i < h.Lout; i++)
    for (let j = 0; j < w.Lout; j++)
      for (let a = 0; a < h.K; a++)
        for (let b = 0; b < w.K; b++) weights[at++] = a < h.lengths[i] && b < w.lengths[j] ? 1 / (h.lengths[i] * w.lengths[j]) : 0;
  return tidy(() => {
    const cols = gatherWindows(reshape(x, [N, C, L]), L, plane.taps, plane.Lout, plane.K, 0);
    const y = sum(mul(cols, tensor(weights, [plane.Lout, plane.K], { dtype: x.dtype, device: x.device })), 3);
    return reshape(y, unbatched ? [C, plane.OH, plane.OW] : [N, C, plane.OH, plane.OW]);
  });
}

/** torch.nn.functional.adaptive_max_pool2d: the maximum over each of adaptiveAvgPool2d's windows (indices in the flattened H·W plane). */
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | null | readonly [number | null, number | null], options?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | null | readonly [number | null, number | null], options: { returnIndices: true }): { values: Tensor; indices: Tensor };
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | null | readonly [number | null, number | null], options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor };
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | null | readonly [number | null, number | null], options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor } {
  const op = 'adaptiveMaxPool2d';
  const o = checkOptions<{ returnIndices: boolean }>(options, op, ['returnIndices']);
  const { N, C, L, sizes, unbatched } = poolInput(op, x, 2);
  const { plane } = adaptiveWindows2d(op, sizes[0], sizes[1], outputSize); // absent taps read the window's first (maxOfWindows)
  const ri = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, op, 'returnIndices');
  return tidy(() => toPlane(maxOfWindows(reshape(x, [N, C, L]), L, plane, unbatched, ri), plane.OH, plane.OW));
}
