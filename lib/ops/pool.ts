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
import { checkBoolean, checkInteger, checkOptions, shapeText } from '../validate';
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

/** The input as [N, C, L], checked; and whether it came unbatched [C, L]. */
function poolInput(op: string, x: Tensor): { N: number; C: number; L: number; unbatched: boolean } {
  checkTensor(x, op, 'input');
  if (x.rank !== 2 && x.rank !== 3) fail('SHAPE_MISMATCH', `${op}: input has shape ${shapeText(x.shape)}; expected [N, C, L] or unbatched [C, L]`);
  if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: input must be float32 or float64; got int32 (cast it first)`);
  const unbatched = x.rank === 2;
  const [N, C, L] = unbatched ? [1, x.shape[0], x.shape[1]] : x.shape;
  return { N, C, L, unbatched };
}

type WindowOptions = { stride?: number | null; padding?: number; dilation?: number; ceilMode?: boolean };

/** @internal The pooling options checked, with their defaults (PyTorch's: stride the kernel size). */
export function poolGeometry(op: string, kernelSize: unknown, o: WindowOptions): { K: number; stride: number; padding: number; dilation: number; ceil: boolean } {
  const K = checkInteger(kernelSize, op, 'kernelSize', 1);
  const stride = o.stride === undefined || o.stride === null ? K : checkInteger(o.stride, op, 'stride', 1);
  const padding = o.padding === undefined ? 0 : checkInteger(o.padding, op, 'padding', 0);
  const dilation = o.dilation === undefined ? 1 : checkInteger(o.dilation, op, 'dilation', 1);
  const ceil = o.ceilMode === undefined ? false : checkBoolean(o.ceilMode, op, 'ceilMode');
  if (padding > Math.floor(K / 2)) fail('INVALID_ARGUMENT', `${op}: padding ${padding} is more than half the kernel size ${K} (PyTorch's limit: at most ${Math.floor(K / 2)})`);
  return { K, stride, padding, dilation, ceil };
}

/** PyTorch's pooling geometry: windows of K taps `dilation` apart, `stride` apart, `padding` on each side. */
function slidingWindows(op: string, L: number, kernelSize: unknown, o: WindowOptions): Windows & { stride: number; padding: number } {
  const { K, stride, padding, dilation, ceil } = poolGeometry(op, kernelSize, o);
  const span = dilation * (K - 1) + 1;
  const room = L + 2 * padding - span;
  let Lout = (ceil ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  // In ceil mode the last window must start inside the input or the left padding (PyTorch's rule).
  if (ceil && (Lout - 1) * stride >= L + padding) Lout--;
  if (Lout < 1)
    fail('SHAPE_MISMATCH', `${op}: the input's length ${L} (padded to ${L + 2 * padding}) is shorter than the window's span ${span} (kernel ${K}, dilation ${dilation})`);
  const taps: number[] = [];
  for (let t = 0; t < Lout; t++) for (let k = 0; k < K; k++) taps.push(t * stride - padding + k * dilation);
  return { taps, Lout, K, stride, padding };
}

/** PyTorch's adaptive windows: output i covers [⌊i·L/out⌋, ⌈(i+1)·L/out⌉); a shorter one's extra taps are −1. */
function adaptiveWindows(op: string, L: number, outputSize: unknown): Windows & { lengths: number[] } {
  const out = checkInteger(outputSize, op, 'outputSize', 1);
  if (L === 0) fail('SHAPE_MISMATCH', `${op}: the input's length is 0; adaptive pooling needs at least one element`);
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
  const divisors = Array.from({ length: w.Lout }, (_, t) => {
    const start = t * w.stride - w.padding;
    const end = Math.min(start + w.K, L + w.padding);
    return includePad ? end - start : Math.min(end, L) - Math.max(start, 0);
  });
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
