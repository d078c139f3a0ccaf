/**
 * Framing, windows and the short-time Fourier transform of real signals,
 * for speech and audio features (torch.Tensor.unfold, torch.hann_window …,
 * torch.stft / torch.istft with return_complex=False). antler has no complex
 * dtype, so a spectrum is real with its real and imaginary parts as a
 * trailing axis of 2: [..., freq, frames, 2], torch's older real layout.
 *
 * Everything is a composition of recorded ops (framing is one gatherRows,
 * overlap-add one scatterAddRows, the DFT one GEMM against a cos/sin basis
 * with the window folded in), so gradients come from those ops and every
 * device runs them.
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, tensor, Tensor, zeros } from '../tensor';
import type { DType } from '../tensor';
import { checkBoolean, checkDevice, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import { div, matmul, mul, permute, reshape, slice, square } from './core';
import { gatherRows, scatterAddRows } from './indexing';
import { pad } from './shape';
import type { PadMode } from './shape';

const floatDtype = (x: Tensor, op: string, what = 'x'): void => {
  if (x.dtype !== 'float32' && x.dtype !== 'float64')
    fail('DTYPE_MISMATCH', `${op}: ${what} must be float32 or float64; got ${x.dtype} (cast it first)`);
};

/**
 * The windows of length `size` along `axis`, `step` apart, as a new last
 * axis (torch.Tensor.unfold(dimension, size, step)): out has x's shape with
 * axis `axis` replaced by the number of windows, floor((n − size)/step) + 1,
 * and a last axis of `size`. The copies are one gather; the gradient sums
 * each element's copies back. (antler's top-level `unfold` is
 * torch.nn.functional.unfold, im2col over images; this one is
 * `x.unfold(axis, size, step)` and `signal.unfold`.)
 */
export function unfold(x: Tensor, axis: number, size: number, step: number): Tensor {
  const op = 'unfold';
  checkTensor(x, op, 'x');
  const rank = Math.max(1, x.rank);
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -rank || axis >= rank)
    fail('INVALID_ARGUMENT', `${op}: axis must be an integer in [${-rank}, ${rank}) for a tensor of shape ${shapeText(x.shape)}; got ${describe(axis)}`);
  const ax = axis < 0 ? axis + rank : axis;
  const shape = x.rank === 0 ? [1] : x.shape.slice();
  const n = shape[ax];
  checkInteger(size, op, 'size', 0);
  if (size > n) fail('INVALID_ARGUMENT', `${op}: size ${size} is larger than axis ${ax} of shape ${shapeText(x.shape)} (size ${n}); expected size <= ${n}`);
  checkInteger(step, op, 'step', 1);
  const frames = Math.floor((n - size) / step) + 1;
  const others = shape.map((_, i) => i).filter((i) => i !== ax);
  const outShape = [...shape.slice(0, ax), frames, ...shape.slice(ax + 1), size];
  if (x.rank === 0) outShape.shift();
  return tidy(() => {
    if (size === 0 || x.size === 0) return zeros(outShape, { dtype: x.dtype, device: x.device });
    const rest = others.reduce((a, i) => a * shape[i], 1);
    const front = ax === 0 ? reshape(x, [n, rest]) : reshape(permute(reshape(x, shape), [ax, ...others]), [n, rest]);
    const idx = new Int32Array(frames * size);
    for (let f = 0; f < frames; f++) for (let k = 0; k < size; k++) idx[f * size + k] = f * step + k;
    const rows = gatherRows(front, tensor(idx, [frames * size], { dtype: 'int32', device: x.device }), op);
    // rows [frames, size, ...others] → [...before, frames, ...after, size]
    const moved = reshape(rows, [frames, size, ...others.map((i) => shape[i])]);
    const r = shape.length;
    const perm: number[] = [];
    for (let i = 0; i < r; i++) perm.push(i < ax ? i + 2 : i === ax ? 0 : i + 1);
    perm.push(1);
    return reshape(permute(moved, perm), outShape);
  });
}

/**
 * The sum of `frames` [..., F, len] overlapped at `step` apart into
 * [..., total] (frame f's element k lands at offset + f·step + k): the adjoint
 * of unfold, as one scatter-add whose gradient is the gather.
 */
function overlapAdd(frames: Tensor, step: number, offset: number, total: number, op: string): Tensor {
  const s = frames.shape;
  const F = s[s.length - 2], len = s[s.length - 1];
  const batch = s.slice(0, -2);
  const B = batch.reduce((a, b) => a * b, 1);
  return tidy(() => {
    const rows = reshape(permute(reshape(frames, [B, F * len]), [1, 0]), [F * len, B]);
    const idx = new Int32Array(F * len);
    for (let f = 0; f < F; f++) for (let k = 0; k < len; k++) idx[f * len + k] = offset + f * step + k;
    const summed = scatterAddRows(rows, tensor(idx, [F * len], { dtype: 'int32', device: frames.device }), total, false, op);
    return reshape(permute(summed, [1, 0]), [...batch, total]);
  });
}

// ---------------------------------------------------------------- windows

/** Options of the window functions (torch.hann_window's keywords). */
export interface WindowOptions {
  /** true (default): the periodic window (length L+1 with the last value dropped), for spectral analysis; false: the symmetric one, for filter design. */
  periodic?: boolean;
  /** 'float32' (default) or 'float64'. */
  dtype?: DType;
  /** Where the window lives (the default device if omitted). */
  device?: string;
  /** Make the window a leaf that collects gradients. */
  requiresGrad?: boolean;
}

/** hammingWindow's options: the general cosine window alpha − beta·cos(2πn/(N−1)). */
export interface HammingWindowOptions extends WindowOptions {
  /** Default 0.54. */
  alpha?: number;
  /** Default 0.46. */
  beta?: number;
}

/** kaiserWindow's options. */
export interface KaiserWindowOptions extends WindowOptions {
  /** The shape parameter β (default 12). */
  beta?: number;
}

function makeWindow(op: string, windowLength: number, periodicOrOptions: boolean | WindowOptions | undefined, extra: readonly string[],
  formula: (n: number, N: number, o: Record<string, number>) => number, defaults: Record<string, number>): Tensor {
  checkInteger(windowLength, op, 'windowLength', 0);
  const raw = typeof periodicOrOptions === 'boolean' ? { periodic: periodicOrOptions } : periodicOrOptions;
  const o = checkOptions<WindowOptions & Record<string, unknown>>(raw, op, ['periodic', 'dtype', 'device', 'requiresGrad', ...extra]);
  const periodic = o.periodic === undefined ? true : checkBoolean(o.periodic, op, 'periodic');
  const dtype = o.dtype === undefined ? 'float32' : o.dtype;
  if (dtype !== 'float32' && dtype !== 'float64') fail('INVALID_ARGUMENT', `${op}: dtype must be 'float32' or 'float64'; got ${describe(o.dtype)}`);
  const device = o.device === undefined ? undefined : checkDevice(o.device, op);
  const params: Record<string, number> = {};
  for (const k of extra) params[k] = o[k] === undefined ? defaults[k] : checkFinite(o[k], op, k);
  const values = new Float64Array(windowLength);
  if (windowLength === 1) values[0] = 1;
  else if (windowLength > 1) {
    const N = periodic ? windowLength + 1 : windowLength;
    for (let i = 0; i < windowLength; i++) values[i] = formula(i, N, params);
  }
  return tensor(values, [windowLength], { dtype, device, requiresGrad: o.requiresGrad === undefined ? false : checkBoolean(o.requiresGrad, op, 'requiresGrad') });
}

/**
 * The Hann window 0.5 − 0.5·cos(2πn/(N−1)) (torch.hann_window): N = L + 1
 * when periodic (the default), L when not; a window of length 1 is [1].
 * The second argument is `periodic` or an options object.
 */
export function hannWindow(windowLength: number, periodicOrOptions?: boolean | WindowOptions): Tensor {
  return makeWindow('hannWindow', windowLength, periodicOrOptions, [], (n, N) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (N - 1)), {});
}

/** The Hamming window alpha − beta·cos(2πn/(N−1)), alpha 0.54 and beta 0.46 by default (torch.hamming_window; N as hannWindow's). */
export function hammingWindow(windowLength: number, periodicOrOptions?: boolean | HammingWindowOptions): Tensor {
  return makeWindow('hammingWindow', windowLength, periodicOrOptions, ['alpha', 'beta'], (n, N, o) => o.alpha - o.beta * Math.cos((2 * Math.PI * n) / (N - 1)), { alpha: 0.54, beta: 0.46 });
}

/** The Blackman window 0.42 − 0.5·cos(2πn/(N−1)) + 0.08·cos(4πn/(N−1)) (torch.blackman_window; N as hannWindow's). */
export function blackmanWindow(windowLength: number, periodicOrOptions?: boolean | WindowOptions): Tensor {
  return makeWindow('blackmanWindow', windowLength, periodicOrOptions, [], (n, N) => {
    const a = (2 * Math.PI * n) / (N - 1);
    return 0.42 - 0.5 * Math.cos(a) + 0.08 * Math.cos(2 * a);
  }, {});
}

/** The triangular Bartlett window 1 − |2n/(N−1) − 1| (torch.bartlett_window; N as hannWindow's). */
export function bartlettWindow(windowLength: number, periodicOrOptions?: boolean | WindowOptions): Tensor {
  return makeWindow('bartlettWindow', windowLength, periodicOrOptions, [], (n, N) => 1 - Math.abs((2 * n) / (N - 1) - 1), {});
}

/** The modified Bessel function of the first kind, order 0, by its power series Σ ((x/2)^k / k!)² (converges for every x). */
export function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1, sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * The Kaiser window I0(β·sqrt(1 − ((n − α)/α)²)) / I0(β), α = (N−1)/2, β 12
 * by default (torch.kaiser_window; N as hannWindow's).
 */
export function kaiserWindow(windowLength: number, periodicOrOptions?: boolean | KaiserWindowOptions): Tensor {
  return makeWindow('kaiserWindow', windowLength, periodicOrOptions, ['beta'], (n, N, o) => {
    const alpha = (N - 1) / 2;
    const r = (n - alpha) / alpha;
    return besselI0(o.beta * Math.sqrt(Math.max(0, 1 - r * r))) / besselI0(o.beta);
  }, { beta: 12 });
}

// ---------------------------------------------------------------- STFT

/** Options of {@link stft} (torch.stft's keywords, camelCase). */
export interface StftOptions {
  /** The FFT size: frames of nFft samples give nFft/2 + 1 (onesided) or nFft frequencies. Required. */
  nFft: number;
  /** Samples between frames (default floor(nFft / 4)). */
  hopLength?: number;
  /** The window's length, at most nFft (default nFft); a shorter window sits centred in the frame, zeros around it. */
  winLength?: number;
  /** A 1-D float window of winLength values in x's dtype and device (default none: all ones, as torch's). Its gradient is recorded. */
  window?: Tensor | null;
  /** Pad nFft/2 samples on both sides so frame t is centred at t·hopLength (default true). */
  center?: boolean;
  /** How center pads: 'reflect' (default), 'constant' (zeros), 'replicate' or 'circular'. */
  padMode?: PadMode;
  /** Scale by 1/sqrt(nFft) (default false). */
  normalized?: boolean;
  /** Only the nFft/2 + 1 non-negative frequencies (default true); false: all nFft. */
  onesided?: boolean;
}

interface Framing {
  nFft: number; hop: number; win: number; left: number; window: Tensor | null;
}

function checkFraming(op: string, o: { nFft?: unknown; hopLength?: unknown; winLength?: unknown; window?: unknown }, x: Tensor): Framing {
  if (o.nFft === undefined) fail('INVALID_ARGUMENT', `${op}: nFft is required (the FFT size, e.g. { nFft: 400 })`);
  const nFft = checkInteger(o.nFft, op, 'nFft', 1);
  const hop = o.hopLength === undefined || o.hopLength === null ? Math.max(1, Math.floor(nFft / 4)) : checkInteger(o.hopLength, op, 'hopLength', 1);
  const win = o.winLength === undefined || o.winLength === null ? nFft : checkInteger(o.winLength, op, 'winLength', 1);
  if (win > nFft) fail('INVALID_ARGUMENT', `${op}: winLength (${win}) must be at most nFft (${nFft})`);
  let window: Tensor | null = null;
  if (o.window !== undefined && o.window !== null) {
    window = checkTensor(o.window, op, 'window');
    if (window.rank !== 1 || window.shape[0] !== win)
      fail('SHAPE_MISMATCH', `${op}: window must be 1-D of winLength ${win} values; got shape ${shapeText(window.shape)}`);
    if (window.dtype !== x.dtype) fail('DTYPE_MISMATCH', `${op}: window is ${window.dtype} but the input is ${x.dtype}; cast one of them`);
    if (window.device !== x.device) fail('DEVICE_MISMATCH', `${op}: window is on ${window.device} but the input is on ${x.device}`);
  }
  return { nFft, hop, win, left: Math.floor((nFft - win) / 2), window };
}

/**
 * @internal Where stft finds its cos/sin basis: called with a key naming the
 * basis (nFft, winLength, frequencies, scale, dtype, device) and a maker; a
 * cache returns the tensor it holds for that key (kept out of tidy scopes) or
 * the maker's, which it then holds. nn.Spectrogram keeps one per module.
 */
export type BasisSource = (key: string, make: () => Tensor) => Tensor;

/**
 * cos and −sin of 2πk(n + left)/nFft for n < win and k < K, [win, 2K]
 * (cos columns, then −sin), times `scale` (and rowWeight(k)), the window not applied.
 * The angle's k·(n + left) is reduced mod nFft first, so large indices lose no precision.
 */
function rawBasis(f: Framing, K: number, scale: number, x: Tensor, rowWeight?: (k: number) => number): Tensor {
  const { nFft, win, left } = f;
  const v = new Float64Array(win * 2 * K);
  for (let n = 0; n < win; n++)
    for (let k = 0; k < K; k++) {
      const a = (2 * Math.PI * ((k * (n + left)) % nFft)) / nFft;
      const w = scale * (rowWeight ? rowWeight(k) : 1);
      v[n * 2 * K + k] = w * Math.cos(a);
      v[n * 2 * K + K + k] = -w * Math.sin(a);
    }
  return tensor(v, [win, 2 * K], { dtype: x.dtype, device: x.device });
}

/** rawBasis (from `source` when given) with the window, when given, scaling row n. */
function dftBasis(f: Framing, K: number, scale: number, x: Tensor, source?: BasisSource): Tensor {
  const make = () => rawBasis(f, K, scale, x);
  const basis = source ? source(`${f.nFft},${f.win},${K},${scale},${x.dtype},${x.device}`, make) : make();
  return f.window ? mul(basis, reshape(f.window, [f.win, 1])) : basis;
}

/**
 * The short-time Fourier transform of a real signal x [..., time]
 * (torch.stft with return_complex=False): [..., freq, frames, 2], the last
 * axis the real and imaginary parts. X[f, t] = Σₙ w[n]·x[t·hop + n]·e^(−2πi·f·n/nFft),
 * freq = nFft/2 + 1 (onesided) or nFft, frames = 1 + floor((time' − nFft)/hop)
 * with time' = time + 2·floor(nFft/2) when centred. The DFT is one GEMM of the
 * frames against a cos/sin basis (O(nFft) work per output, exact to rounding);
 * gradients reach x and the window.
 */
export function stft(x: Tensor, options: StftOptions): Tensor {
  return stftWith(x, options);
}

/** @internal stft with its cos/sin basis from `source` (a module's cache). */
export function stftWith(x: Tensor, options: StftOptions, source?: BasisSource): Tensor {
  const op = 'stft';
  checkTensor(x, op, 'x');
  floatDtype(x, op);
  const o = checkOptions<StftOptions>(options, op, ['nFft', 'hopLength', 'winLength', 'window', 'center', 'padMode', 'normalized', 'onesided']);
  if (x.rank < 1) fail('SHAPE_MISMATCH', `${op}: x must be [..., time] (at least 1-D); got shape ${shapeText(x.shape)}`);
  const f = checkFraming(op, o, x);
  const center = o.center === undefined ? true : checkBoolean(o.center, op, 'center');
  const padMode = o.padMode === undefined ? 'reflect' : o.padMode;
  if (!['constant', 'reflect', 'replicate', 'circular'].includes(padMode as string))
    fail('INVALID_ARGUMENT', `${op}: padMode must be 'constant', 'reflect', 'replicate' or 'circular'; got ${describe(o.padMode)}`);
  const normalized = o.normalized === undefined ? false : checkBoolean(o.normalized, op, 'normalized');
  const onesided = o.onesided === undefined ? true : checkBoolean(o.onesided, op, 'onesided');
  const T = x.shape[x.rank - 1];
  const half = Math.floor(f.nFft / 2);
  if (center && padMode === 'reflect' && half >= T)
    fail('INVALID_ARGUMENT', `${op}: reflect padding by nFft/2 = ${half} needs more than ${half} samples; x has ${T} (shape ${shapeText(x.shape)}); use padMode 'constant' or a shorter nFft`);
  const Tp = center ? T + 2 * half : T;
  if (f.nFft > Tp) fail('INVALID_ARGUMENT', `${op}: nFft (${f.nFft}) is longer than the${center ? ' padded' : ''} signal (${Tp} samples, x of shape ${shapeText(x.shape)}); expected 0 < nFft <= ${Tp}`);
  const frames = 1 + Math.floor((Tp - f.nFft) / f.hop);
  const K = onesided ? half + 1 : f.nFft;
  const batch = x.shape.slice(0, -1);
  const B = batch.reduce((a, b) => a * b, 1);
  return tidy(() => {
    let xp = reshape(x, [B, T]);
    if (center) xp = pad(xp, [[0, 0], [half, half]], { mode: padMode as PadMode });
    const used = slice(xp, [0, f.left], [B, (frames - 1) * f.hop + f.win]);
    const fr = reshape(unfold(used, 1, f.win, f.hop), [B * frames, f.win]);
    const basis = dftBasis(f, K, normalized ? 1 / Math.sqrt(f.nFft) : 1, x, source);
    const spec = reshape(matmul(fr, basis), [B, frames, 2, K]);
    return reshape(permute(spec, [0, 3, 1, 2]), [...batch, K, frames, 2]);
  });
}

/** Options of {@link istft} (torch.istft's keywords, camelCase). */
export interface IstftOptions {
  /** The FFT size the spectrum was made with. Required. */
  nFft: number;
  /** Default floor(nFft / 4). */
  hopLength?: number;
  /** Default nFft. */
  winLength?: number;
  /** The analysis window (default all ones); its overlapped squares must stay above 1e-11 over the output (NOLA). */
  window?: Tensor | null;
  /** Whether the frames were centred (default true): nFft/2 samples are trimmed from each end. */
  center?: boolean;
  /** Whether the spectrum was scaled by 1/sqrt(nFft) (default false). */
  normalized?: boolean;
  /** Whether x holds nFft/2 + 1 frequencies (default: true unless it holds nFft). */
  onesided?: boolean;
  /** The output's length: trimmed, or zero-padded at the end (default: all the frames cover, less the centre padding). */
  length?: number;
}

/**
 * The inverse of {@link stft} (torch.istft, real output): x [..., freq, frames, 2]
 * → [..., time]. Each frame's inverse DFT (one GEMM; onesided spectra are
 * taken as Hermitian, the imaginary parts of the DC and Nyquist bins
 * ignored as irfft does; of a two-sided spectrum only the first nFft/2 + 1
 * bins are read, as torch's irfft-based istft does) is windowed,
 * overlap-added, and divided by the overlapped squared window.
 */
export function istft(x: Tensor, options: IstftOptions): Tensor {
  const op = 'istft';
  checkTensor(x, op, 'x');
  floatDtype(x, op);
  const o = checkOptions<IstftOptions>(options, op, ['nFft', 'hopLength', 'winLength', 'window', 'center', 'normalized', 'onesided', 'length']);
  if (x.rank < 3 || x.shape[x.rank - 1] !== 2)
    fail('SHAPE_MISMATCH', `${op}: x must be [..., freq, frames, 2] (real and imaginary parts last, as stft returns); got shape ${shapeText(x.shape)}`);
  const f = checkFraming(op, o, x);
  const center = o.center === undefined ? true : checkBoolean(o.center, op, 'center');
  const normalized = o.normalized === undefined ? false : checkBoolean(o.normalized, op, 'normalized');
  const K = x.shape[x.rank - 3], frames = x.shape[x.rank - 2];
  const half = Math.floor(f.nFft / 2);
  const onesided = o.onesided === undefined ? K !== f.nFft : checkBoolean(o.onesided, op, 'onesided');
  const wantK = onesided ? half + 1 : f.nFft;
  if (K !== wantK) fail('SHAPE_MISMATCH', `${op}: a ${onesided ? 'onesided' : 'two-sided'} spectrum of nFft ${f.nFft} has ${wantK} frequencies; x has ${K} (shape ${shapeText(x.shape)})`);
  if (frames < 1) fail('SHAPE_MISMATCH', `${op}: x has no frames (shape ${shapeText(x.shape)})`);
  const full = f.nFft + f.hop * (frames - 1);
  const start = center ? half : 0;
  let end = full - (center ? half : 0);
  if (o.length !== undefined && o.length !== null) end = start + checkInteger(o.length, op, 'length', 0);
  if (end < start) fail('INVALID_ARGUMENT', `${op}: the frames cover ${full} samples, fewer than the 2·${half} trimmed by center`);
  const batch = x.shape.slice(0, -3);
  const B = batch.reduce((a, b) => a * b, 1);
  const stop = Math.min(end, full);
  return tidy(() => {
    // Envelope: Σ_t w[n − t·hop]² over the output; checked before any work on x.
    const w2 = f.window ? square(f.window) : tensor(new Float64Array(f.win).fill(1), [f.win], { dtype: x.dtype, device: x.device });
    const env = overlapAdd(reshape(broadcastRows(w2, frames), [1, frames, f.win]), f.hop, f.left, full, op);
    const envUsed = slice(env, [0, start], [1, stop - start]);
    let lowest = Infinity;
    for (const v of envUsed.dataSync()) lowest = Math.min(lowest, Math.abs(v));
    if (lowest < 1e-11)
      fail('INVALID_ARGUMENT', `${op}: the window's overlap-add falls to ${lowest} (< 1e-11) in the output (nFft ${f.nFft}, hopLength ${f.hop}, winLength ${f.win}): the window fails NOLA; use a smaller hopLength or another window`);
    const scale = (normalized ? Math.sqrt(f.nFft) : 1) / f.nFft;
    const even = f.nFft % 2 === 0;
    const weight = (k: number) => (k === 0 || (even && k === half) ? 1 : 2);
    // torch.istft's real output is irfft of the first nFft/2 + 1 bins, also for a two-sided
    // spectrum (its upper half unread), so every spectrum is taken as Hermitian.
    const H = half + 1;
    const lower = K === H ? reshape(x, [B, K, frames, 2]) : slice(reshape(x, [B, K, frames, 2]), [0, 0, 0, 0], [B, H, frames, 2]);
    // The synthesis basis is the analysis one transposed ([2H, win]: cos rows, then −sin rows), window included.
    const raw = rawBasis(f, H, scale, x, weight);
    const basis = permute(f.window ? mul(raw, reshape(f.window, [f.win, 1])) : raw, [1, 0]);
    const spec = reshape(permute(lower, [0, 2, 3, 1]), [B * frames, 2 * H]);
    const fr = reshape(matmul(spec, basis), [B, frames, f.win]);
    const y = overlapAdd(fr, f.hop, f.left, full, op);
    let out = div(slice(y, [0, start], [B, stop - start]), envUsed);
    if (end > full) out = pad(out, [[0, 0], [0, end - full]]);
    return reshape(out, [...batch, end - start]);
  });
}

/** w [len] repeated as `count` rows [count, len] (a broadcast multiply, so w's gradient sums them). */
function broadcastRows(w: Tensor, count: number): Tensor {
  return mul(reshape(w, [1, w.shape[0]]), tensor(new Float64Array(count).fill(1), [count, 1], { dtype: w.dtype, device: w.device }));
}

