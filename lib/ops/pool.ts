/**
 * 1-D pooling (torch.nn.functional's max_pool1d, avg_pool1d,
 * adaptive_avg_pool1d and adaptive_max_pool1d) and their 2-D and 3-D
 * counterparts. The sliding-window and adaptive pools (max and avg, 1-D to
 * 3-D) run as native kernels (native/kernels/pool.h: each window read in
 * place, its valid taps precomputed per axis; CPU and CUDA): a max's gradient
 * is one recorded scatterAddRows of the output's gradient at its indices (all of it
 * to the one element picked, as PyTorch's; overlapping windows add up), an
 * average's the native adjoint, each of the average's pair the other's
 * backward. The composites the kernels replaced (maxPoolComposite,
 * avgPoolComposite, adaptiveMaxPoolComposite, adaptiveAvgPoolComposite: the
 * tests' reference) gather every output position's window by one indexSelect
 * of the (padded) input, as conv1d's im2col, then reduce; their gradients come
 * from autograd.
 */
import { record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native, NativeHandle } from '../native';
import { arange, checkTensor, tensor, Tensor } from '../tensor';
import { checkBoolean, checkInteger, checkOptions, describe, shapeText } from '../validate';
import { add, div, less, mul, reshape, slice, sum, where, wrap } from './core';
import { argmax, gather, indexSelect, scatterAddRows } from './indexing';
import { gridOffsets } from './conv';
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
 * The input as [N, C, L] (1-D), [N, C, H, W] (2-D) or [N, C, D, H, W] (3-D),
 * checked; and whether it came unbatched [C, …]. `sizes` are the spatial axes' lengths.
 */
function poolInput(op: string, x: Tensor, spatial: 1 | 2 | 3 = 1): { N: number; C: number; L: number; sizes: number[]; unbatched: boolean } {
  checkTensor(x, op, 'input');
  const axes = ['L', 'H, W', 'D, H, W'][spatial - 1];
  if (x.rank !== spatial + 1 && x.rank !== spatial + 2) fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; expected [N, C, ${axes}] or unbatched [C, ${axes}]`);
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: input must be float32 or float64; got int32 (cast it first)`);
  const unbatched = x.rank === spatial + 1;
  const [N, C, ...sizes] = unbatched ? [1, ...x.shape] : x.shape;
  return { N, C, L: checkPoolPositions(op, sizes), sizes, unbatched };
}

/**
 * @internal The positions per channel L = Π sizes, refused (INVALID_ARGUMENT) where the windows' int32 taps
 * cannot reach them: a tap reads position p < L, or L itself (the fill column past the input), and the
 * returned indices are int32 too, so L must stay below 2^31 (past it the taps would wrap to wrong positions).
 */
export function checkPoolPositions(op: string, sizes: readonly number[]): number {
  const L = sizes.reduce((a, b) => a * b, 1);
  if (L >= 2 ** 31)
    fail('INVALID_ARGUMENT', `${op}: the input has ${sizes.length > 1 ? `${sizes.join('·')} = ` : ''}${L} positions per channel; pooling indexes them (and returns indices) as int32, which reaches 2^31 − 1 = 2147483647, an index kept for the padding: at most 2147483647 positions`);
  return L;
}

/**
 * @internal The most window taps (output positions × taps per window, per channel) pooling lays out: the
 * windows are built as JavaScript arrays, which V8 cannot grow past about 1.1·10^8 elements (it aborts the
 * process, "invalid size error", or throws a RangeError); an input whose windows need more is refused first.
 */
export const POOL_TAPS = 1e8;

/** @internal Refuses windows of `outSizes` output positions × `taps` taps each past `limit` (INVALID_ARGUMENT). */
export function checkPoolTaps(op: string, outSizes: readonly number[], taps: readonly number[], limit = POOL_TAPS): void {
  const P = outSizes.reduce((a, b) => a * b, 1), K = taps.reduce((a, b) => a * b, 1);
  if (P * K > limit)
    fail('INVALID_ARGUMENT', `${op}: the windows need ${P * K} taps per channel (${outSizes.join('·')} output positions × ${taps.join('·')} tap${K === 1 ? '' : 's'} each); pooling lays them out in host arrays of at most ${limit} (JavaScript cannot hold more): pool the input in tiles, or with a larger stride`);
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
  const { K, stride, padding, dilation, Lout } = windowAxis(op, L, kernelSize, o, extent, at);
  checkPoolTaps(op, [Lout], [K]);
  const taps: number[] = [];
  for (let t = 0; t < Lout; t++) for (let k = 0; k < K; k++) taps.push(t * stride - padding + k * dilation);
  return { taps, Lout, K, stride, padding };
}

/**
 * @internal One axis's checked pooling geometry and its output length (slidingWindows' without the taps, so without
 * the composite's POOL_TAPS limit: the native kernels lay out no taps).
 */
export function windowAxis(op: string, L: number, kernelSize: unknown, o: WindowOptions, extent = 'length', at = ''): { K: number; stride: number; padding: number; dilation: number; Lout: number } {
  const { K, stride, padding, dilation, ceil } = poolGeometry(op, kernelSize, o, at);
  const span = dilation * (K - 1) + 1;
  const room = L + 2 * padding - span;
  let Lout = (ceil ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  // In ceil mode the last window must start inside the input or the left padding (PyTorch's rule).
  if (ceil && (Lout - 1) * stride >= L + padding) Lout--;
  if (Lout < 1)
    fail('SHAPE_MISMATCH', `${op}: the input's ${extent} ${L} (padded to ${L + 2 * padding}) is shorter than the window's span ${span} (kernel${at} ${K}, dilation${at} ${dilation})`);
  return { K, stride, padding, dilation, Lout };
}

/** PyTorch's adaptive windows: output i covers [⌊i·L/out⌋, ⌈(i+1)·L/out⌉); a shorter one's extra taps are −1. */
function adaptiveWindows(op: string, L: number, outputSize: unknown, extent = 'length', at = ''): Windows & { lengths: number[] } {
  const out = adaptiveAxis(op, L, outputSize, extent, at);
  checkPoolTaps(op, [out], [1]); // each window has a tap at least: refused before its bounds are laid out
  const starts = Array.from({ length: out }, (_, i) => Math.floor((i * L) / out));
  const lengths = starts.map((s, i) => Math.ceil(((i + 1) * L) / out) - s);
  const K = lengths.reduce((m, n) => Math.max(m, n), 0);
  checkPoolTaps(op, [out], [K]);
  const taps: number[] = [];
  for (let i = 0; i < out; i++) for (let k = 0; k < K; k++) taps.push(k < lengths[i] ? starts[i] + k : -1);
  return { taps, Lout: out, K, lengths };
}

/** One axis's checked adaptive output size (adaptiveWindows' checks without the taps: the native kernels lay out none). */
function adaptiveAxis(op: string, L: number, outputSize: unknown, extent = 'length', at = ''): number {
  const out = checkInteger(outputSize, op, `outputSize${at}`, 1);
  if (L === 0) fail('SHAPE_MISMATCH', `${op}: the input's ${extent} is 0; adaptive pooling needs at least one element`);
  return out;
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
  return nativeMaxPool('maxPool1d', 1, x, kernelSize, options) ?? maxPool1dComposite(x, kernelSize, options);
}

function maxPool1dComposite(x: Tensor, kernelSize: number, options?: MaxPool1dOptions): Tensor | { values: Tensor; indices: Tensor } {
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
  return nativeAvgPool('avgPool1d', 1, x, kernelSize, options) ?? avgPool1dComposite(x, kernelSize, options);
}

function avgPool1dComposite(x: Tensor, kernelSize: number, options?: AvgPool1dOptions): Tensor {
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
 * (outputSize 1: the mean over time; larger than L: overlapping windows), each
 * window's sum divided by its length, on the native kernel (its gradient the
 * native adjoint).
 */
export function adaptiveAvgPool1d(x: Tensor, outputSize: number): Tensor {
  return nativeAdaptiveAvgPool('adaptiveAvgPool1d', 1, x, outputSize) ?? adaptiveAvgPool1dComposite(x, outputSize);
}

function adaptiveAvgPool1dComposite(x: Tensor, outputSize: number): Tensor {
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

/**
 * torch.nn.functional.adaptive_max_pool1d: the maximum over each of adaptiveAvgPool1d's windows (the first of equal
 * maxima, the first NaN), on the native kernel; returnIndices gives int32 positions in the input's last axis.
 */
export function adaptiveMaxPool1d(x: Tensor, outputSize: number, options?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool1d(x: Tensor, outputSize: number, options: { returnIndices: true }): { values: Tensor; indices: Tensor };
export function adaptiveMaxPool1d(x: Tensor, outputSize: number, options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor };
export function adaptiveMaxPool1d(x: Tensor, outputSize: number, options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor } {
  return nativeAdaptiveMaxPool('adaptiveMaxPool1d', 1, x, outputSize, options) ?? adaptiveMaxPool1dComposite(x, outputSize, options);
}

function adaptiveMaxPool1dComposite(x: Tensor, outputSize: number, options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor } {
  const op = 'adaptiveMaxPool1d';
  const o = checkOptions<{ returnIndices: boolean }>(options, op, ['returnIndices']);
  const { L, unbatched } = poolInput(op, x);
  const w = adaptiveWindows(op, L, outputSize); // a shorter window's extra taps read its first one (maxOfWindows)
  const ri = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, op, 'returnIndices');
  return tidy(() => maxOfWindows(unbatched ? reshape(x, [1, ...x.shape]) : x, L, w, unbatched, ri));
}

// ---- 2-D and 3-D pooling: the 1-D geometry per axis, combined into windows over the flattened spatial grid ----

/** A 2-D pool's size option: one number for both axes, or [h, w]. */
export type Size2d = number | readonly [number, number];

/** A 3-D pool's size option: one number for every axis, or [d, h, w]. */
export type Size3d = number | readonly [number, number, number];

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

/** Options of {@link maxPool3d} (torch.nn.functional.max_pool3d's keywords; each size a number or [d, h, w]). */
export interface MaxPool3dOptions {
  /** The step between windows (default, or null: the kernel size). */
  stride?: Size3d | null;
  /** −∞ on both sides of each axis, at most half the kernel size (default 0). */
  padding?: Size3d;
  /** The spacing of a window's taps (default 1). */
  dilation?: Size3d;
  /** Round the output size up: a last, partial window that starts inside the input (or the left padding) counts. */
  ceilMode?: boolean;
  /** Also return the indices of the maxima in the flattened D·H·W volume (int32), as `{values, indices}`. */
  returnIndices?: boolean;
}

/** Options of {@link avgPool3d}. */
export interface AvgPool3dOptions {
  stride?: Size3d | null;
  /** Zeros on both sides of each axis, at most half the kernel size (default 0). */
  padding?: Size3d;
  ceilMode?: boolean;
  /** Count the padding's zeros in each window's divisor (default true, as PyTorch's). */
  countIncludePad?: boolean;
  /** Divide every window's sum by this (a nonzero integer) instead (default null: the window's size). */
  divisorOverride?: number | null;
}

/** The size options' shape in messages, and the spatial axes' names, of the k-D pools. */
const POOL_AXES: Record<number, { tuple: string; names: string[] }> = {
  2: { tuple: '[h, w]', names: ['height', 'width'] },
  3: { tuple: '[d, h, w]', names: ['depth', 'height', 'width'] },
};

/** @internal A k-D size option as its k values (a number for all) and each axis's label in messages ('[i]' where it came as a tuple), checked for shape only (the values by poolGeometry). */
export function tupleNd<T>(v: T | readonly T[] | undefined, op: string, what: string, k: number): { values: (T | undefined)[]; at: string[] } {
  if (!Array.isArray(v)) return { values: new Array<T | undefined>(k).fill(v as T | undefined), at: new Array<string>(k).fill('') };
  if (v.length !== k) fail('INVALID_ARGUMENT', `${op}: ${what} must be a number or ${POOL_AXES[k].tuple}; got ${describe(v)}`);
  return { values: v.slice(), at: v.map((_, i) => `[${i}]`) };
}

type NdWindowOptions = { stride?: Size2d | Size3d | null; padding?: Size2d | Size3d; dilation?: Size2d | Size3d; ceilMode?: boolean };

/** @internal The k-D pooling options per axis: each axis's poolGeometry options, with its label. */
export function poolGeometryNd(op: string, kernelSize: unknown, o: NdWindowOptions, k: number): { k: unknown; o: WindowOptions; at: string; g: ReturnType<typeof poolGeometry> }[] {
  const ks = tupleNd(kernelSize, op, 'kernelSize', k);
  const s = tupleNd(o.stride as number | null | undefined, op, 'stride', k);
  const p = tupleNd(o.padding as number | undefined, op, 'padding', k);
  const d = tupleNd(o.dilation as number | undefined, op, 'dilation', k);
  return Array.from({ length: k }, (_, i) => {
    // An axis is named in messages where any of its options came as a tuple.
    const axis = { k: ks.values[i], o: { stride: s.values[i], padding: p.values[i], dilation: d.values[i], ceilMode: o.ceilMode }, at: ks.at[i] || s.at[i] || p.at[i] || d.at[i] || '' };
    return { ...axis, g: poolGeometry(op, axis.k, axis.o, axis.at) };
  });
}

/**
 * The windows of every axis combined: taps into the flattened spatial grid
 * (output positions row-major, each window's taps row-major), −1 where any
 * axis's is outside (or absent).
 */
function gridWindows(op: string, ws: readonly Windows[], sizes: readonly number[]): Windows & { outSizes: number[] } {
  checkPoolTaps(op, ws.map((w) => w.Lout), ws.map((w) => w.K));
  const strides = sizes.map((_, d) => sizes.slice(d + 1).reduce((a, b) => a * b, 1));
  const flat = gridOffsets(ws.map((w, d) => ({
    count: w.Lout,
    taps: w.K,
    offset: (i: number, a: number) => {
      const p = w.taps[i * w.K + a];
      return p >= 0 && p < sizes[d] ? p * strides[d] : NaN;
    },
  })));
  // Small integers (| 0: flat positions fit int32, as the gather's indices), which V8 keeps unboxed: a double-valued array made gatherWindows twice as slow.
  const taps: number[] = [];
  for (let j = 0; j < flat.length; j++) taps.push(Number.isNaN(flat[j]) ? -1 : flat[j] | 0);
  const outSizes = ws.map((w) => w.Lout);
  return { taps, Lout: outSizes.reduce((a, b) => a * b, 1), K: ws.reduce((a, w) => a * w.K, 1), outSizes };
}

/** Every axis's sliding windows, from checked options. */
function slidingWindowsNd(op: string, sizes: readonly number[], kernelSize: unknown, o: NdWindowOptions) {
  const ws = poolGeometryNd(op, kernelSize, o, sizes.length).map((g, d) => slidingWindows(op, sizes[d], g.k, g.o, POOL_AXES[sizes.length].names[d], g.at));
  return { ws, grid: gridWindows(op, ws, sizes) };
}

/** Every axis's adaptive windows; the output size a number, a tuple, null (or a null entry) for the input's size. */
function adaptiveWindowsNd(op: string, sizes: readonly number[], outputSize: unknown) {
  const { values, at } = adaptiveSizeNd(op, sizes.length, outputSize);
  return sizes.map((L, d) => adaptiveWindows(op, L, values[d] ?? L, POOL_AXES[sizes.length].names[d], at[d]));
}

/** A k-D adaptive pool's outputSize as k entries (null: the input's size) and their labels in messages. */
function adaptiveSizeNd(op: string, k: number, outputSize: unknown): { values: (number | null | undefined)[]; at: string[] } {
  if (outputSize === undefined) fail('INVALID_ARGUMENT', `${op}: outputSize must be an integer >= 1, ${POOL_AXES[k].tuple} or null; got undefined`);
  return tupleNd(outputSize as number | null, op, 'outputSize', k);
}

/** y [N, C, P] (or [C, P]) as [N, C, ...outSizes] (or [C, ...outSizes]). */
function toGrid<T extends Tensor | { values: Tensor; indices: Tensor }>(r: T, outSizes: readonly number[]): T {
  const shape = (t: Tensor) => [...t.shape.slice(0, -1), ...outSizes];
  if (r instanceof Tensor) return reshape(r, shape(r)) as T;
  const { values, indices } = r as { values: Tensor; indices: Tensor };
  return { values: reshape(values, shape(values)), indices: reshape(indices, shape(indices)) } as T;
}

/** maxPool2d and maxPool3d: the k-D max pool (indices in the flattened spatial grid). */
function maxPoolNd(op: string, k: 2 | 3, x: Tensor, kernelSize: unknown, options: MaxPool2dOptions | MaxPool3dOptions | undefined): Tensor | { values: Tensor; indices: Tensor } {
  const o = checkOptions<MaxPool2dOptions | MaxPool3dOptions>(options, op, ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
  const { N, C, L, sizes, unbatched } = poolInput(op, x, k);
  const { grid } = slidingWindowsNd(op, sizes, kernelSize, o);
  const ri = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, op, 'returnIndices');
  return tidy(() => toGrid(maxOfWindows(reshape(x, [N, C, L]), L, grid, unbatched, ri), grid.outSizes));
}

/** avgPool2d and avgPool3d: the k-D average pool. */
function avgPoolNd(op: string, k: 2 | 3, x: Tensor, kernelSize: unknown, options: AvgPool2dOptions | AvgPool3dOptions | undefined): Tensor {
  const o = checkOptions<AvgPool2dOptions | AvgPool3dOptions>(options, op, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
  const { N, C, L, sizes, unbatched } = poolInput(op, x, k);
  const { ws, grid } = slidingWindowsNd(op, sizes, kernelSize, o);
  const includePad = o.countIncludePad === undefined ? true : checkBoolean(o.countIncludePad, op, 'countIncludePad');
  let override: number | null = null;
  if (o.divisorOverride !== undefined && o.divisorOverride !== null) {
    override = checkInteger(o.divisorOverride, op, 'divisorOverride', -Number.MAX_SAFE_INTEGER);
    if (override === 0) fail('INVALID_ARGUMENT', `${op}: divisorOverride must be a nonzero integer; got 0`);
  }
  // The product of each axis's divisor, output positions row-major.
  const divisors = ws.map((w, d) => windowDivisors(w, sizes[d], includePad)).reduce((acc, dv) => acc.flatMap((a) => dv.map((b) => a * b)), [1]);
  return tidy(() => {
    const cols = gatherWindows(reshape(x, [N, C, L]), L, grid.taps, grid.Lout, grid.K, 0);
    const y = div(sum(cols, 3), tensor(override === null ? divisors : divisors.map(() => override as number), [grid.Lout], { dtype: x.dtype, device: x.device }));
    return reshape(y, unbatched ? [C, ...grid.outSizes] : [N, C, ...grid.outSizes]);
  });
}

/** adaptiveAvgPool2d and adaptiveAvgPool3d. */
function adaptiveAvgPoolNd(op: string, k: 2 | 3, x: Tensor, outputSize: unknown): Tensor {
  const { N, C, L, sizes, unbatched } = poolInput(op, x, k);
  const ws = adaptiveWindowsNd(op, sizes, outputSize);
  const grid = gridWindows(op, ws, sizes);
  // As adaptiveAvgPool1d's: each window's taps weighted 1/size (the product of its axes' lengths), the absent ones (−1, reading 0) 0.
  const size = ws.reduce((acc, w) => acc.flatMap((a) => w.lengths.map((l) => a * l)), [1]);
  const weights = grid.taps.map((p, j) => (p < 0 ? 0 : 1 / size[Math.floor(j / grid.K)]));
  return tidy(() => {
    const cols = gatherWindows(reshape(x, [N, C, L]), L, grid.taps, grid.Lout, grid.K, 0);
    const y = sum(mul(cols, tensor(weights, [grid.Lout, grid.K], { dtype: x.dtype, device: x.device })), 3);
    return reshape(y, unbatched ? [C, ...grid.outSizes] : [N, C, ...grid.outSizes]);
  });
}

/** adaptiveMaxPool2d and adaptiveMaxPool3d. */
function adaptiveMaxPoolNd(op: string, k: 2 | 3, x: Tensor, outputSize: unknown, options: { returnIndices?: boolean } | undefined): Tensor | { values: Tensor; indices: Tensor } {
  const o = checkOptions<{ returnIndices: boolean }>(options, op, ['returnIndices']);
  const { N, C, L, sizes, unbatched } = poolInput(op, x, k);
  const grid = gridWindows(op, adaptiveWindowsNd(op, sizes, outputSize), sizes); // absent taps read the window's first (maxOfWindows)
  const ri = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, op, 'returnIndices');
  return tidy(() => toGrid(maxOfWindows(reshape(x, [N, C, L]), L, grid, unbatched, ri), grid.outSizes));
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
  return nativeMaxPool('maxPool2d', 2, x, kernelSize, options) ?? maxPoolNd('maxPool2d', 2, x, kernelSize, options);
}

/**
 * torch.nn.functional.avg_pool2d: the mean of each window of x [N, C, H, W]
 * (or [C, H, W]); the divisor is the product of each axis's (as
 * avgPool1d's: padding counted unless countIncludePad is false, clipped to
 * the padded input in ceil mode), or divisorOverride where given.
 */
export function avgPool2d(x: Tensor, kernelSize: Size2d, options?: AvgPool2dOptions): Tensor {
  return nativeAvgPool('avgPool2d', 2, x, kernelSize, options) ?? avgPoolNd('avgPool2d', 2, x, kernelSize, options);
}

/**
 * torch.nn.functional.adaptive_avg_pool2d: x [N, C, H, W] (or [C, H, W])
 * averaged over outputSize windows per axis (a number, [h, w], null or a null
 * entry for the input's size), each axis's as adaptiveAvgPool1d's.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | null | readonly [number | null, number | null]): Tensor {
  return nativeAdaptiveAvgPool('adaptiveAvgPool2d', 2, x, outputSize) ?? adaptiveAvgPoolNd('adaptiveAvgPool2d', 2, x, outputSize);
}

/** torch.nn.functional.adaptive_max_pool2d: the maximum over each of adaptiveAvgPool2d's windows (indices in the flattened H·W plane). */
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | null | readonly [number | null, number | null], options?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | null | readonly [number | null, number | null], options: { returnIndices: true }): { values: Tensor; indices: Tensor };
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | null | readonly [number | null, number | null], options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor };
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | null | readonly [number | null, number | null], options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor } {
  return nativeAdaptiveMaxPool('adaptiveMaxPool2d', 2, x, outputSize, options) ?? adaptiveMaxPoolNd('adaptiveMaxPool2d', 2, x, outputSize, options);
}

/**
 * torch.nn.functional.max_pool3d: the maximum of each window of x
 * [N, C, D, H, W] (or [C, D, H, W]) → [N, C, OD, OH, OW], each axis's output
 * size as maxPool1d's (kernelSize, stride, padding and dilation a number or
 * [d, h, w]). Indices (returnIndices) are positions in the flattened D·H·W
 * volume, as PyTorch's; ties, NaN, padding and empty windows as maxPool1d's
 * (the window scanned depth, then row, then column).
 */
export function maxPool3d(x: Tensor, kernelSize: Size3d, options?: MaxPool3dOptions & { returnIndices?: false }): Tensor;
export function maxPool3d(x: Tensor, kernelSize: Size3d, options: MaxPool3dOptions & { returnIndices: true }): { values: Tensor; indices: Tensor };
export function maxPool3d(x: Tensor, kernelSize: Size3d, options?: MaxPool3dOptions): Tensor | { values: Tensor; indices: Tensor };
export function maxPool3d(x: Tensor, kernelSize: Size3d, options?: MaxPool3dOptions): Tensor | { values: Tensor; indices: Tensor } {
  return nativeMaxPool('maxPool3d', 3, x, kernelSize, options) ?? maxPoolNd('maxPool3d', 3, x, kernelSize, options);
}

/**
 * torch.nn.functional.avg_pool3d: the mean of each window of x
 * [N, C, D, H, W] (or [C, D, H, W]); the divisor is the product of each
 * axis's (as avgPool2d's), or divisorOverride where given. An input smaller
 * than the kernel along an axis is pooled where the padding makes room (as
 * avg_pool2d and max_pool3d do), where PyTorch 1.13's avg_pool3d alone
 * refuses it ("input image ... smaller than kernel size").
 */
export function avgPool3d(x: Tensor, kernelSize: Size3d, options?: AvgPool3dOptions): Tensor {
  return nativeAvgPool('avgPool3d', 3, x, kernelSize, options) ?? avgPoolNd('avgPool3d', 3, x, kernelSize, options);
}

/**
 * torch.nn.functional.adaptive_avg_pool3d: x [N, C, D, H, W] (or
 * [C, D, H, W]) averaged over outputSize windows per axis (a number,
 * [d, h, w], null or a null entry for the input's size), each axis's as
 * adaptiveAvgPool1d's.
 */
export function adaptiveAvgPool3d(x: Tensor, outputSize: number | null | readonly [number | null, number | null, number | null]): Tensor {
  return nativeAdaptiveAvgPool('adaptiveAvgPool3d', 3, x, outputSize) ?? adaptiveAvgPoolNd('adaptiveAvgPool3d', 3, x, outputSize);
}

/** torch.nn.functional.adaptive_max_pool3d: the maximum over each of adaptiveAvgPool3d's windows (indices in the flattened D·H·W volume). */
export function adaptiveMaxPool3d(x: Tensor, outputSize: number | null | readonly [number | null, number | null, number | null], options?: { returnIndices?: false }): Tensor;
export function adaptiveMaxPool3d(x: Tensor, outputSize: number | null | readonly [number | null, number | null, number | null], options: { returnIndices: true }): { values: Tensor; indices: Tensor };
export function adaptiveMaxPool3d(x: Tensor, outputSize: number | null | readonly [number | null, number | null, number | null], options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor };
export function adaptiveMaxPool3d(x: Tensor, outputSize: number | null | readonly [number | null, number | null, number | null], options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor } {
  return nativeAdaptiveMaxPool('adaptiveMaxPool3d', 3, x, outputSize, options) ?? adaptiveMaxPoolNd('adaptiveMaxPool3d', 3, x, outputSize, options);
}

/**
 * @internal Which path the sliding-window and adaptive pools take: `native` (the default) the kernels of
 * native/kernels/pool.h (no window gather: the composite below laid out every window's taps, K× the output, and took
 * 27 s for a 3×3 stride-1 maxPool2d over 2048²); off (or an addon built before them), the composite (tests compare the
 * two).
 */
export const poolPaths = { native: true };

/**
 * @internal The composite max pool (every window gathered, then argmax and gather; gradients from autograd): the
 * tests' reference for the native kernels. k = 1, 2 or 3 spatial axes; the options are maxPool1d/2d/3d's.
 */
export function maxPoolComposite(k: 1 | 2 | 3, x: Tensor, kernelSize: Size3d, options?: MaxPool3dOptions): Tensor | { values: Tensor; indices: Tensor } {
  if (k === 1) return maxPool1dComposite(x, kernelSize as number, options as MaxPool1dOptions);
  return maxPoolNd(k === 2 ? 'maxPool2d' : 'maxPool3d', k, x, kernelSize, options);
}

/** @internal The composite average pool (every window gathered and summed), the tests' reference; options avgPool1d/2d/3d's. */
export function avgPoolComposite(k: 1 | 2 | 3, x: Tensor, kernelSize: Size3d, options?: AvgPool3dOptions): Tensor {
  if (k === 1) return avgPool1dComposite(x, kernelSize as number, options as AvgPool1dOptions);
  return avgPoolNd(k === 2 ? 'avgPool2d' : 'avgPool3d', k, x, kernelSize, options);
}

/**
 * @internal The composite adaptive max pool (every window gathered, the shorter ones' absent taps reading the window's
 * first, then argmax and gather; gradients from autograd): the tests' reference for the native kernels. k = 1, 2 or 3
 * spatial axes; outputSize and options adaptiveMaxPool1d/2d/3d's.
 */
export function adaptiveMaxPoolComposite(k: 1 | 2 | 3, x: Tensor, outputSize: unknown, options?: { returnIndices?: boolean }): Tensor | { values: Tensor; indices: Tensor } {
  if (k === 1) return adaptiveMaxPool1dComposite(x, outputSize as number, options);
  return adaptiveMaxPoolNd(k === 2 ? 'adaptiveMaxPool2d' : 'adaptiveMaxPool3d', k, x, outputSize, options);
}

/** @internal The composite adaptive average pool (every window gathered, weighted 1/size and summed), the tests' reference. */
export function adaptiveAvgPoolComposite(k: 1 | 2 | 3, x: Tensor, outputSize: unknown): Tensor {
  if (k === 1) return adaptiveAvgPool1dComposite(x, outputSize as number);
  return adaptiveAvgPoolNd(k === 2 ? 'adaptiveAvgPool2d' : 'adaptiveAvgPool3d', k, x, outputSize);
}

/** The native path's parameters per spatial axis (padding: the left; the right only shows in outSizes). */
interface PoolAxes {
  outSizes: number[];
  kernel: number[];
  stride: number[];
  padding: number[];
  dilation: number[];
}

/**
 * The checked geometry of a k-D sliding-window pool, every check and message the composite's (in its order), or null
 * where the native kernels do not take it (turned off, an addon without them, a spatial axis of length 0).
 */
function nativePoolInput(op: string, k: 1 | 2 | 3, x: Tensor, kernelSize: unknown, o: NdWindowOptions): { N: number; C: number; sizes: number[]; unbatched: boolean; axes: PoolAxes } | null {
  const { N, C, sizes, unbatched } = poolInput(op, x, k);
  const geo = k === 1
    ? [windowAxis(op, sizes[0], kernelSize, o as WindowOptions)]
    : poolGeometryNd(op, kernelSize, o, k).map((g, d) => windowAxis(op, sizes[d], g.k, g.o, POOL_AXES[k].names[d], g.at));
  // No POOL_TAPS limit here: the native kernels lay out no taps (the composite, where it is taken, checks its own).
  if (!poolPaths.native || native().maxPool === undefined || sizes.some((s) => s === 0)) return null;
  const axes = { outSizes: geo.map((g) => g.Lout), kernel: geo.map((g) => g.K), stride: geo.map((g) => g.stride), padding: geo.map((g) => g.padding), dilation: geo.map((g) => g.dilation) };
  return { N, C, sizes, unbatched, axes };
}

/** maxPool1d/2d/3d on the native kernel (null: the composite's turn), the gradient scattered to each output's index. */
function nativeMaxPool(op: string, k: 1 | 2 | 3, x: Tensor, kernelSize: unknown, options: MaxPool1dOptions | MaxPool2dOptions | MaxPool3dOptions | undefined): Tensor | { values: Tensor; indices: Tensor } | null {
  const o = checkOptions<MaxPool3dOptions>(options, op, ['stride', 'padding', 'dilation', 'ceilMode', 'returnIndices']);
  const g = nativePoolInput(op, k, x, kernelSize, o);
  if (g === null) return null;
  const ri = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, op, 'returnIndices');
  return tidy(() => {
    const xb = reshape(x, [g.N, g.C, ...g.sizes]);
    const a = g.axes;
    const [hv, hi] = native().maxPool!(xb.handle, a.outSizes, a.kernel, a.stride, a.padding, a.dilation);
    const indices = wrap(hi);
    // Some window holds no input element (index −1) only where some axis has an output whose taps all miss the input
    // (kernels/pool.h's poolTapRange in closed form: O(outputs) per axis, no arrays).
    const empty = a.outSizes.some((n, d) => {
      const [s, p, dl, K, Ld] = [a.stride[d], a.padding[d], a.dilation[d], a.kernel[d], g.sizes[d]];
      for (let i = 0; i < n; i++) {
        const start = i * s - p;
        const lo = start >= 0 ? 0 : Math.ceil(-start / dl);
        const hi = Ld - start <= 0 ? 0 : Math.min(K, Math.floor((Ld - 1 - start) / dl) + 1);
        if (lo >= hi) return true;
      }
      return false;
    });
    return maxPoolResult('maxPool', xb, hv, indices, empty, g.unbatched, a.outSizes, ri);
  });
}

/**
 * A native max pool's values (the handle hv; its gradient scattered to each output's index, recorded as `node`) and
 * indices, shaped back to an unbatched input's [C, out…] where it came so.
 */
function maxPoolResult(node: string, xb: Tensor, hv: NativeHandle, indices: Tensor, empty: boolean, unbatched: boolean, outSizes: readonly number[], ri: boolean): Tensor | { values: Tensor; indices: Tensor } {
  const [N, C, ...sizes] = xb.shape;
  const L = sizes.reduce((p, q) => p * q, 1);
  const values = record(wrap(hv), node, [xb], (gy, [idx]) => [maxPoolScatter(gy, idx, L, empty, xb.shape)], [indices], true);
  const shape = unbatched ? [C, ...outSizes] : [N, C, ...outSizes];
  const v = unbatched ? reshape(values, shape) : values;
  return ri ? { values: v, indices: unbatched ? reshape(indices, shape) : indices } : v;
}

/**
 * The max pool's gradient: gy [N, C, out…] added at each output's index in x [N, C, L], as one recorded
 * scatterAddRows into the flat [N·C·L] gradient at plane·L + index (its own gradient a gather, so double backward
 * works; each element sums its outputs in ascending order, on any thread count). The only full-size pass is the
 * scatter target's fill, where scatterAdd into zeros() made three (zeros, its copy, the add): adaptiveMaxPool1d
 * [16, 512, 4096] → 1 fwd+bwd 172 → 76 ms (medians of 7, loaded 2-core machine). A window with no input element
 * (index −1) adds to a spare row N·C·L, dropped after.
 */
function maxPoolScatter(gy: Tensor, indices: Tensor, L: number, empty: boolean, inShape: readonly number[]): Tensor {
  const planes = inShape[0] * inShape[1];
  const rows = planes * L;
  return tidy(() => {
    // Empty (no planes): still the recorded scatter, so a second derivative through it reaches gy (as PyTorch's).
    if (gy.size === 0) return reshape(scatterAddRows(reshape(gy, [0, 1]), reshape(indices, [0]), rows, false, 'maxPoolBackward'), inShape);
    if (rows >= 2 ** 31 - 1)
      fail('INVALID_ARGUMENT', `maxPool backward: the input ${shapeText(inShape)} has ${rows} elements; at most 2^31 − 2 are supported (int32 positions)`);
    const P = gy.size / planes;
    const idx = reshape(indices, [planes, P]);
    let flat = planes === 1 ? idx : add(idx, reshape(arange(0, rows, L, { dtype: 'int32', device: gy.device }), [planes, 1]));
    if (empty) flat = where(less(idx, 0), rows, flat);
    const g = scatterAddRows(reshape(gy, [gy.size, 1]), reshape(flat, [gy.size]), empty ? rows + 1 : rows, false, 'maxPoolBackward');
    return reshape(empty ? slice(g, [0, 0], [rows, 1]) : g, inShape);
  });
}

/** avgPool1d/2d/3d on the native kernel (null: the composite's turn); its gradient the native adjoint, paired (each the other's backward). */
function nativeAvgPool(op: string, k: 1 | 2 | 3, x: Tensor, kernelSize: unknown, options: AvgPool1dOptions | AvgPool2dOptions | AvgPool3dOptions | undefined): Tensor | null {
  const o = checkOptions<AvgPool3dOptions>(options, op, k === 1 ? ['stride', 'padding', 'ceilMode', 'countIncludePad'] : ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride']);
  const g = nativePoolInput(op, k, x, kernelSize, o);
  if (g === null) return null;
  const includePad = o.countIncludePad === undefined ? true : checkBoolean(o.countIncludePad, op, 'countIncludePad');
  let override = 0;
  if (k > 1 && o.divisorOverride !== undefined && o.divisorOverride !== null) {
    override = checkInteger(o.divisorOverride, op, 'divisorOverride', -Number.MAX_SAFE_INTEGER);
    if (override === 0) fail('INVALID_ARGUMENT', `${op}: divisorOverride must be a nonzero integer; got 0`);
  }
  const p: AvgParams = { ...g.axes, includePad, divisor: override, adaptive: false };
  return tidy(() => {
    const y = avgForward(reshape(x, [g.N, g.C, ...g.sizes]), p);
    return g.unbatched ? reshape(y, [g.C, ...p.outSizes]) : y;
  });
}

/** An average pool's parameters: the sliding window's (kernel … divisor), or adaptive (outSizes alone, the rest unused). */
type AvgParams = PoolAxes & { includePad: boolean; divisor: number; adaptive: boolean };

function avgForward(x: Tensor, p: AvgParams): Tensor {
  const out = wrap(p.adaptive
    ? native().adaptiveAvgPool!(x.handle, p.outSizes)
    : native().avgPool!(x.handle, p.outSizes, p.kernel, p.stride, p.padding, p.includePad, p.divisor));
  const inShape = x.shape.slice();
  return record(out, p.adaptive ? 'adaptiveAvgPool' : 'avgPool', [x], (gy) => [avgAdjoint(gy, inShape, p)], [], true);
}

/** avgPool's (or adaptiveAvgPool's) adjoint, its gradient: gx [N, C, in…] from gy; its own gradient is the pool of ggx. */
function avgAdjoint(gy: Tensor, inShape: readonly number[], p: AvgParams): Tensor {
  const out = wrap(p.adaptive
    ? native().adaptiveAvgPoolBackward!(gy.handle, inShape.slice())
    : native().avgPoolBackward!(gy.handle, inShape.slice(), p.kernel, p.stride, p.padding, p.includePad, p.divisor));
  return record(out, p.adaptive ? 'adaptiveAvgPoolBackward' : 'avgPoolBackward', [gy], (ggx) => [avgForward(ggx, p)], [], true);
}

/**
 * The checked input and output sizes of a k-D adaptive pool, every check and message the composite's (in its order)
 * but its 10^8-tap limit (the native kernels lay out no taps), or null where the native kernels do not take it
 * (turned off, or an addon without them).
 */
function nativeAdaptiveInput(op: string, k: 1 | 2 | 3, x: Tensor, outputSize: unknown): { N: number; C: number; sizes: number[]; unbatched: boolean; outSizes: number[] } | null {
  const { N, C, sizes, unbatched } = poolInput(op, x, k);
  let outSizes: number[];
  if (k === 1) outSizes = [adaptiveAxis(op, sizes[0], outputSize)];
  else {
    const { values, at } = adaptiveSizeNd(op, k, outputSize);
    outSizes = sizes.map((L, d) => adaptiveAxis(op, L, values[d] ?? L, POOL_AXES[k].names[d], at[d]));
  }
  if (!poolPaths.native || native().adaptiveMaxPool === undefined) return null;
  return { N, C, sizes, unbatched, outSizes };
}

/** adaptiveMaxPool1d/2d/3d on the native kernel (null: the composite's turn), the gradient scattered to each output's index. */
function nativeAdaptiveMaxPool(op: string, k: 1 | 2 | 3, x: Tensor, outputSize: unknown, options: { returnIndices?: boolean } | undefined): Tensor | { values: Tensor; indices: Tensor } | null {
  const o = checkOptions<{ returnIndices: boolean }>(options, op, ['returnIndices']);
  const g = nativeAdaptiveInput(op, k, x, outputSize);
  if (g === null) return null;
  const ri = o.returnIndices === undefined ? false : checkBoolean(o.returnIndices, op, 'returnIndices');
  return tidy(() => {
    const xb = reshape(x, [g.N, g.C, ...g.sizes]);
    const [hv, hi] = native().adaptiveMaxPool!(xb.handle, g.outSizes);
    // An adaptive window always holds an input element: no index −1.
    return maxPoolResult('adaptiveMaxPool', xb, hv, wrap(hi), false, g.unbatched, g.outSizes, ri);
  });
}

/** adaptiveAvgPool1d/2d/3d on the native kernel (null: the composite's turn), its gradient the native adjoint, paired. */
function nativeAdaptiveAvgPool(op: string, k: 1 | 2 | 3, x: Tensor, outputSize: unknown): Tensor | null {
  const g = nativeAdaptiveInput(op, k, x, outputSize);
  if (g === null) return null;
  const p: AvgParams = { outSizes: g.outSizes, kernel: [], stride: [], padding: [], dilation: [], includePad: true, divisor: 0, adaptive: true };
  return tidy(() => {
    const y = avgForward(reshape(x, [g.N, g.C, ...g.sizes]), p);
    return g.unbatched ? reshape(y, [g.C, ...g.outSizes]) : y;
  });
}
