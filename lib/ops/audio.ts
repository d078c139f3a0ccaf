/**
 * torchaudio-style speech features over {@link stft}: spectrogram, mel
 * filterbanks, mel spectrogram, decibels and MFCC (torchaudio.functional's
 * formulas; torchaudio itself is not a dependency). Each is a composition of
 * recorded ops, so gradients reach the waveform.
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, tensor, Tensor } from '../tensor';
import type { DType } from '../tensor';
import { checkBoolean, checkDevice, checkFinite, checkInteger, checkOptions, describe, shapeText } from '../validate';
import { add, clamp, div, equal, log, log10, matmul, max, maximum, mul, pow, reshape, sqrt, sub, sum, transpose, where } from './core';
import { pad } from './shape';
import type { PadMode } from './shape';
import { hannWindow, stftWith } from './signal';
import type { BasisSource } from './signal';

/** Options of {@link spectrogram} (torchaudio.functional.spectrogram's arguments, camelCase). */
export interface SpectrogramOptions {
  /** The FFT size (default 400). */
  nFft?: number;
  /** Default winLength / 2 (floor). */
  hopLength?: number;
  /** Default nFft. */
  winLength?: number;
  /** The window, winLength values in the waveform's dtype and device (default: hannWindow(winLength), periodic, as torchaudio's transforms; null: none, all ones). */
  window?: Tensor | null;
  /** Zeros added to both ends of the waveform first (default 0). */
  pad?: number;
  /** The exponent of the magnitude: 2 (default) power, 1 magnitude, any p > 0; null: the spectrum itself as [..., freq, frames, 2]. */
  power?: number | null;
  /** true or 'window': divide by sqrt(Σ window²); 'frameLength': by sqrt(nFft) (stft's normalized); false (default): neither. */
  normalized?: boolean | 'window' | 'frameLength';
  /** Default true. */
  center?: boolean;
  /** Default 'reflect'. */
  padMode?: PadMode;
  /** Default true. */
  onesided?: boolean;
}

const SPECTROGRAM_KEYS = ['nFft', 'hopLength', 'winLength', 'window', 'pad', 'power', 'normalized', 'center', 'padMode', 'onesided'] as const;

/**
 * The spectrogram of waveform [..., time] (torchaudio.functional.spectrogram):
 * |stft|^power [..., freq, frames], or with power null the spectrum
 * [..., freq, frames, 2]. |X|² is re² + im², so power 2 has a gradient
 * everywhere; other powers go through (re² + im²)^(power/2), with gradient 0 at
 * a zero bin (torch's for power >= 1; torch's is NaN there for power < 1).
 */
export function spectrogram(waveform: Tensor, options?: SpectrogramOptions): Tensor {
  return spectrogramWith(waveform, options);
}

/** @internal spectrogram with stft's cos/sin basis from `source` (nn.Spectrogram's cache). */
export function spectrogramWith(waveform: Tensor, options: SpectrogramOptions | undefined, source?: BasisSource): Tensor {
  const op = 'spectrogram';
  checkTensor(waveform, op, 'waveform');
  const o = checkOptions<SpectrogramOptions>(options, op, SPECTROGRAM_KEYS);
  const nFft = o.nFft === undefined ? 400 : checkInteger(o.nFft, op, 'nFft', 1);
  const winLength = o.winLength === undefined || o.winLength === null ? nFft : checkInteger(o.winLength, op, 'winLength', 1);
  const hopLength = o.hopLength === undefined || o.hopLength === null ? Math.max(1, Math.floor(winLength / 2)) : o.hopLength;
  const padding = o.pad === undefined ? 0 : checkInteger(o.pad, op, 'pad', 0);
  const power = o.power === undefined ? 2 : o.power === null ? null : checkFinite(o.power, op, 'power');
  if (power !== null && power <= 0) fail('INVALID_ARGUMENT', `${op}: power must be > 0 or null; got ${power}`);
  const norm = o.normalized === undefined ? false : o.normalized;
  if (typeof norm !== 'boolean' && norm !== 'window' && norm !== 'frameLength')
    fail('INVALID_ARGUMENT', `${op}: normalized must be a boolean, 'window' or 'frameLength'; got ${describe(o.normalized)}`);
  if (waveform.rank < 1) fail('SHAPE_MISMATCH', `${op}: waveform must be [..., time]; got shape ${shapeText(waveform.shape)}`);
  return tidy(() => {
    const window = o.window === undefined ? hannWindow(winLength, { dtype: waveform.dtype === 'float64' ? 'float64' : 'float32', device: waveform.device }) : o.window;
    let x = waveform;
    if (padding > 0) x = pad(x, x.shape.map((_, i) => (i === x.rank - 1 ? [padding, padding] : [0, 0]) as [number, number]));
    let spec = stftWith(x, {
      nFft, hopLength, winLength, window, center: o.center, padMode: o.padMode, onesided: o.onesided,
      normalized: norm === 'frameLength',
    }, source);
    if (norm === true || norm === 'window') {
      const energy = window ? sqrt(sum(mul(window, window))) : Math.sqrt(winLength);
      spec = div(spec, energy);
    }
    if (power === null) return spec;
    const last = spec.rank - 1;
    const sq = sum(mul(spec, spec), last);
    if (power === 2) return sq;
    // The root is taken of sq where sq > 0 and of 1 elsewhere, so a zero bin (silence, zero
    // padding) has gradient 0, as torch's |X| (whose backward is sgn(X), 0 at 0), not 0·∞ = NaN.
    const zero = equal(sq, 0);
    const safe = where(zero, 1, sq);
    return where(zero, 0, power === 1 ? sqrt(safe) : pow(safe, power / 2));
  });
}

/** Options of {@link melFilterbank} beyond its positional arguments. */
export interface MelFilterbankOptions {
  /** 'slaney': each triangle scaled to unit area in Hz (2 / (f[m+2] − f[m])); null (default): peaks of 1. */
  norm?: 'slaney' | null;
  /** The mel scale: 'htk' (default; 2595·log10(1 + f/700)) or 'slaney' (linear below 1 kHz, logarithmic above). */
  melScale?: 'htk' | 'slaney';
  /** Default 'float32'. */
  dtype?: DType;
  /** Default: the default device. */
  device?: string;
}

/** Hz → mel on the given scale (torchaudio's _hz_to_mel). */
export function hzToMel(freq: number, melScale: 'htk' | 'slaney' = 'htk'): number {
  if (melScale === 'htk') return 2595 * Math.log10(1 + freq / 700);
  const fSp = 200 / 3, minLogHz = 1000, minLogMel = minLogHz / fSp, logstep = Math.log(6.4) / 27;
  return freq >= minLogHz ? minLogMel + Math.log(freq / minLogHz) / logstep : freq / fSp;
}

/** mel → Hz, the inverse of {@link hzToMel} (torchaudio's _mel_to_hz). */
export function melToHz(mel: number, melScale: 'htk' | 'slaney' = 'htk'): number {
  if (melScale === 'htk') return 700 * (10 ** (mel / 2595) - 1);
  const fSp = 200 / 3, minLogHz = 1000, minLogMel = minLogHz / fSp, logstep = Math.log(6.4) / 27;
  return mel >= minLogMel ? minLogHz * Math.exp(logstep * (mel - minLogMel)) : fSp * mel;
}

/**
 * Triangular mel filters [nFreqs, nMels] (torchaudio.functional.melscale_fbanks):
 * the nFreqs STFT bins at linspace(0, floor(sampleRate/2), nFreqs) Hz, and
 * nMels triangles whose corners are nMels + 2 points evenly spaced in mel
 * from fMin to fMax. A spectrogram [..., nFreqs, frames] becomes mel bands by
 * `matmul(transpose(fb), spec)`. Computed in float64, then cast.
 */
export function melFilterbank(nFreqs: number, fMin: number, fMax: number, nMels: number, sampleRate: number, options?: MelFilterbankOptions): Tensor {
  const op = 'melFilterbank';
  checkInteger(nFreqs, op, 'nFreqs', 1);
  checkFinite(fMin, op, 'fMin');
  checkFinite(fMax, op, 'fMax');
  checkInteger(nMels, op, 'nMels', 1);
  checkInteger(sampleRate, op, 'sampleRate', 1);
  if (fMin < 0 || fMin >= fMax) fail('INVALID_ARGUMENT', `${op}: expected 0 <= fMin < fMax; got fMin ${fMin}, fMax ${fMax}`);
  const o = checkOptions<MelFilterbankOptions>(options, op, ['norm', 'melScale', 'dtype', 'device']);
  const norm = o.norm === undefined ? null : o.norm;
  if (norm !== null && norm !== 'slaney') fail('INVALID_ARGUMENT', `${op}: norm must be 'slaney' or null; got ${describe(o.norm)}`);
  const scale = o.melScale === undefined ? 'htk' : o.melScale;
  if (scale !== 'htk' && scale !== 'slaney') fail('INVALID_ARGUMENT', `${op}: melScale must be 'htk' or 'slaney'; got ${describe(o.melScale)}`);
  const dtype = o.dtype === undefined ? 'float32' : o.dtype;
  if (dtype !== 'float32' && dtype !== 'float64') fail('INVALID_ARGUMENT', `${op}: dtype must be 'float32' or 'float64'; got ${describe(o.dtype)}`);
  const device = o.device === undefined ? undefined : checkDevice(o.device, op);
  const top = Math.floor(sampleRate / 2);
  const freqs = Array.from({ length: nFreqs }, (_, i) => (nFreqs === 1 ? 0 : (top * i) / (nFreqs - 1)));
  const mMin = hzToMel(fMin, scale), mMax = hzToMel(fMax, scale);
  const fPts = Array.from({ length: nMels + 2 }, (_, i) => melToHz(mMin + ((mMax - mMin) * i) / (nMels + 1), scale));
  const fb = new Float64Array(nFreqs * nMels);
  for (let i = 0; i < nFreqs; i++)
    for (let m = 0; m < nMels; m++) {
      const down = (freqs[i] - fPts[m]) / (fPts[m + 1] - fPts[m]);
      const up = (fPts[m + 2] - freqs[i]) / (fPts[m + 2] - fPts[m + 1]);
      let v = Math.max(0, Math.min(down, up));
      if (norm === 'slaney') v *= 2 / (fPts[m + 2] - fPts[m]);
      fb[i * nMels + m] = v;
    }
  return tensor(fb, [nFreqs, nMels], { dtype, device });
}

/** Options of {@link melSpectrogram}: the spectrogram's (power 2 by default) and the filterbank's. */
export interface MelSpectrogramOptions extends SpectrogramOptions {
  /** Default 16000. */
  sampleRate?: number;
  /** Default 0. */
  fMin?: number;
  /** Default floor(sampleRate / 2). */
  fMax?: number | null;
  /** Default 128. */
  nMels?: number;
  /** The filterbank's norm (default null). */
  norm?: 'slaney' | null;
  /** Default 'htk'. */
  melScale?: 'htk' | 'slaney';
}

const MEL_KEYS = ['sampleRate', 'fMin', 'fMax', 'nMels', 'norm', 'melScale'] as const;

/** Splits melSpectrogram's options into the spectrogram's and the filterbank's, with torchaudio's defaults. */
export function melParts(op: string, options: unknown): { spec: SpectrogramOptions; nFft: number; sampleRate: number; fMin: number; fMax: number; nMels: number; fb: MelFilterbankOptions } {
  const o = checkOptions<MelSpectrogramOptions>(options, op, [...SPECTROGRAM_KEYS, ...MEL_KEYS]);
  const nFft = o.nFft === undefined ? 400 : checkInteger(o.nFft, op, 'nFft', 1);
  const sampleRate = o.sampleRate === undefined ? 16000 : checkInteger(o.sampleRate, op, 'sampleRate', 1);
  const fMin = o.fMin === undefined ? 0 : checkFinite(o.fMin, op, 'fMin');
  const fMax = o.fMax === undefined || o.fMax === null ? Math.floor(sampleRate / 2) : checkFinite(o.fMax, op, 'fMax');
  const nMels = o.nMels === undefined ? 128 : checkInteger(o.nMels, op, 'nMels', 1);
  const spec: SpectrogramOptions = {};
  for (const k of SPECTROGRAM_KEYS) if (o[k] !== undefined) (spec as Record<string, unknown>)[k] = o[k];
  spec.nFft = nFft;
  const fb: MelFilterbankOptions = {};
  if (o.norm !== undefined) fb.norm = o.norm;
  if (o.melScale !== undefined) fb.melScale = o.melScale;
  return { spec, nFft, sampleRate, fMin, fMax, nMels, fb };
}

/** fb [nFreqs, nMels] applied to spec [..., nFreqs, frames] → [..., nMels, frames]. */
export function applyFilterbank(spec: Tensor, fb: Tensor, op: string): Tensor {
  const nFreqs = spec.shape[spec.rank - 2];
  if (fb.rank !== 2 || fb.shape[0] !== nFreqs)
    fail('SHAPE_MISMATCH', `${op}: the filterbank [${fb.shape.join(', ')}] must have ${nFreqs} rows, one per frequency of the spectrogram ${shapeText(spec.shape)}`);
  return matmul(transpose(fb), spec);
}

/**
 * The mel spectrogram of waveform [..., time] (torchaudio.transforms.MelSpectrogram's
 * computation): spectrogram (power 2, hann window unless given, hop winLength/2)
 * then melFilterbank(nFft/2 + 1, fMin, fMax, nMels, sampleRate): [..., nMels, frames].
 */
export function melSpectrogram(waveform: Tensor, options?: MelSpectrogramOptions): Tensor {
  const op = 'melSpectrogram';
  checkTensor(waveform, op, 'waveform');
  const p = melParts(op, options);
  if (p.spec.onesided === false) fail('INVALID_ARGUMENT', `${op}: the mel filterbank takes a onesided spectrogram; got onesided false`);
  if (p.spec.power === null) fail('INVALID_ARGUMENT', `${op}: power must be a number (the filterbank sums energies); got null`);
  return tidy(() => {
    const fb = melFilterbank(Math.floor(p.nFft / 2) + 1, p.fMin, p.fMax, p.nMels, p.sampleRate, { ...p.fb, dtype: waveform.dtype === 'float64' ? 'float64' : 'float32', device: waveform.device });
    return applyFilterbank(spectrogram(waveform, p.spec), fb, op);
  });
}

/** Options of {@link amplitudeToDB} (torchaudio.functional.amplitude_to_DB's arguments). */
export interface AmplitudeToDBOptions {
  /** 10 (default) for power spectrograms, 20 for magnitudes. */
  multiplier?: number;
  /** The floor before the logarithm (default 1e-10). */
  amin?: number;
  /** log10(max(amin, ref)) of the reference value (default 0: ref 1). */
  dbMultiplier?: number;
  /** Clamp to at least (the maximum − topDb), the maximum over the last three axes (channel, freq, time) of each item; default none. */
  topDb?: number | null;
}

/**
 * Decibels of a power or magnitude spectrogram (torchaudio.functional.amplitude_to_DB):
 * multiplier·log10(max(x, amin)) − multiplier·dbMultiplier, then with topDb
 * each item (the last 3 axes, or the last 2 of a 2-D input) floored at its maximum − topDb.
 */
export function amplitudeToDB(x: Tensor, options?: AmplitudeToDBOptions): Tensor {
  const op = 'amplitudeToDB';
  checkTensor(x, op, 'x');
  if (x.dtype !== 'float32' && x.dtype !== 'float64') fail('DTYPE_MISMATCH', `${op}: x must be float32 or float64; got ${x.dtype}`);
  const o = checkOptions<AmplitudeToDBOptions>(options, op, ['multiplier', 'amin', 'dbMultiplier', 'topDb']);
  const multiplier = o.multiplier === undefined ? 10 : checkFinite(o.multiplier, op, 'multiplier');
  const amin = o.amin === undefined ? 1e-10 : checkFinite(o.amin, op, 'amin');
  if (amin <= 0) fail('INVALID_ARGUMENT', `${op}: amin must be > 0; got ${amin}`);
  const dbMultiplier = o.dbMultiplier === undefined ? 0 : checkFinite(o.dbMultiplier, op, 'dbMultiplier');
  const topDb = o.topDb === undefined || o.topDb === null ? null : checkFinite(o.topDb, op, 'topDb');
  if (topDb !== null && topDb < 0) fail('INVALID_ARGUMENT', `${op}: topDb must be >= 0; got ${topDb}`);
  if (topDb !== null && x.rank < 2) fail('SHAPE_MISMATCH', `${op}: topDb needs x of at least 2 axes [..., freq, time]; got shape ${shapeText(x.shape)}`);
  return tidy(() => {
    let db = sub(mul(log10(clamp(x, amin)), multiplier), multiplier * dbMultiplier);
    if (topDb === null) return db;
    const s = x.shape;
    const channels = x.rank > 2 ? s[s.length - 3] : 1;
    const packed = reshape(db, [-1, channels, s[s.length - 2], s[s.length - 1]]);
    const floor = reshape(sub(max(packed, [1, 2, 3]), topDb), [-1, 1, 1, 1]);
    db = reshape(maximum(packed, floor), s);
    return db;
  });
}

/**
 * The DCT matrix [nMels, nMfcc] (torchaudio.functional.create_dct): column k
 * is cos(π/nMels·(n + 0.5)·k); norm 'ortho' (default) makes it orthonormal
 * (column 0 times 1/sqrt(2), all times sqrt(2/nMels)), null doubles it.
 */
export function createDct(nMfcc: number, nMels: number, norm: 'ortho' | null = 'ortho', options?: { dtype?: DType; device?: string }): Tensor {
  const op = 'createDct';
  checkInteger(nMfcc, op, 'nMfcc', 1);
  checkInteger(nMels, op, 'nMels', 1);
  if (norm !== null && norm !== 'ortho') fail('INVALID_ARGUMENT', `${op}: norm must be 'ortho' or null; got ${describe(norm)}`);
  const o = checkOptions<{ dtype?: DType; device?: string }>(options, op, ['dtype', 'device']);
  const dtype = o.dtype === undefined ? 'float32' : o.dtype;
  if (dtype !== 'float32' && dtype !== 'float64') fail('INVALID_ARGUMENT', `${op}: dtype must be 'float32' or 'float64'; got ${describe(o.dtype)}`);
  const v = new Float64Array(nMels * nMfcc);
  for (let n = 0; n < nMels; n++)
    for (let k = 0; k < nMfcc; k++) {
      let c = Math.cos((Math.PI / nMels) * (n + 0.5) * k);
      if (norm === null) c *= 2;
      else c *= (k === 0 ? Math.SQRT1_2 : 1) * Math.sqrt(2 / nMels);
      v[n * nMfcc + k] = c;
    }
  return tensor(v, [nMels, nMfcc], { dtype, device: o.device === undefined ? undefined : checkDevice(o.device, op) });
}

/** Options of {@link mfcc}: torchaudio.transforms.MFCC's (melKwargs are melSpectrogram's options). */
export interface MfccOptions {
  /** Default 16000 (melKwargs.sampleRate must agree if given). */
  sampleRate?: number;
  /** Coefficients kept (default 40). */
  nMfcc?: number;
  /** The DCT's norm: 'ortho' (default) or null. */
  norm?: 'ortho' | null;
  /** log(mel + 1e-6) instead of decibels (default false: amplitudeToDB with multiplier 10 and topDb 80). */
  logMels?: boolean;
  /** The mel spectrogram's options (nMels 128 by default, as torchaudio's). */
  melKwargs?: MelSpectrogramOptions;
}

/** The MFCC's mel options with sampleRate merged, checked. */
export function mfccParts(op: string, options: unknown): { mel: MelSpectrogramOptions; nMfcc: number; nMels: number; norm: 'ortho' | null; logMels: boolean } {
  const o = checkOptions<MfccOptions>(options, op, ['sampleRate', 'nMfcc', 'norm', 'logMels', 'melKwargs']);
  const nMfcc = o.nMfcc === undefined ? 40 : checkInteger(o.nMfcc, op, 'nMfcc', 1);
  const norm = o.norm === undefined ? 'ortho' : o.norm;
  if (norm !== null && norm !== 'ortho') fail('INVALID_ARGUMENT', `${op}: norm must be 'ortho' or null; got ${describe(o.norm)}`);
  const logMels = o.logMels === undefined ? false : checkBoolean(o.logMels, op, 'logMels');
  const mel: MelSpectrogramOptions = { ...checkOptions<MelSpectrogramOptions>(o.melKwargs, op, [...SPECTROGRAM_KEYS, ...MEL_KEYS]) };
  if (o.sampleRate !== undefined) {
    if (mel.sampleRate !== undefined && mel.sampleRate !== o.sampleRate)
      fail('INVALID_ARGUMENT', `${op}: sampleRate ${describe(o.sampleRate)} and melKwargs.sampleRate ${describe(mel.sampleRate)} differ`);
    mel.sampleRate = o.sampleRate;
  }
  const nMels = mel.nMels === undefined ? 128 : checkInteger(mel.nMels, op, 'melKwargs.nMels', 1);
  if (nMfcc > nMels) fail('INVALID_ARGUMENT', `${op}: nMfcc (${nMfcc}) cannot exceed nMels (${nMels})`);
  return { mel, nMfcc, nMels, norm, logMels };
}

/** mel [..., nMels, frames] → MFCC [..., nMfcc, frames]: decibels (topDb 80) or log(mel + 1e-6), then the DCT. */
export function melToMfcc(mel: Tensor, dct: Tensor, logMels: boolean): Tensor {
  return tidy(() => {
    const logged = logMels ? log(add(mel, 1e-6)) : amplitudeToDB(mel, { multiplier: 10, topDb: 80 });
    return matmul(transpose(dct), logged);
  });
}

/**
 * Mel-frequency cepstral coefficients of waveform [..., time]
 * (torchaudio.transforms.MFCC's computation): melSpectrogram(melKwargs),
 * amplitudeToDB (power, topDb 80) or log(mel + 1e-6), then the DCT-II of
 * createDct(nMfcc, nMels, norm) over the mel axis: [..., nMfcc, frames].
 * As torchaudio's, the decibels' floor (maximum − 80) is over the last three
 * axes of the mel spectrogram: a waveform batch [batch, time] shares one
 * maximum across its items.
 */
export function mfcc(waveform: Tensor, options?: MfccOptions): Tensor {
  const op = 'mfcc';
  checkTensor(waveform, op, 'waveform');
  const p = mfccParts(op, options);
  return tidy(() => {
    const mel = melSpectrogram(waveform, p.mel);
    const dct = createDct(p.nMfcc, p.nMels, p.norm, { dtype: waveform.dtype === 'float64' ? 'float64' : 'float32', device: waveform.device });
    return melToMfcc(mel, dct, p.logMels);
  });
}

