/**
 * torchaudio.transforms' feature modules (Spectrogram, MelScale,
 * MelSpectrogram, AmplitudeToDB, MFCC) over lib/ops/audio.ts, so features
 * sit in a model. Their fixed tensors (window, filterbank, DCT matrix) are
 * buffers under torchaudio's names (window, mel_scale.fb, dct_mat), moved by
 * to() and saved in state dicts.
 */
import { isolated, tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, Tensor } from '../tensor';
import type { DType } from '../tensor';
import { checkDevice, checkFinite, checkInteger, checkOptions, describe } from '../validate';
import { cast } from '../ops/core';
import { amplitudeToDB, applyFilterbank, createDct, melFilterbank, melParts, melToMfcc, mfccParts, spectrogramWith } from '../ops/audio';
import type { MelSpectrogramOptions, MfccOptions, SpectrogramOptions } from '../ops/audio';
import { hannWindow } from '../ops/signal';
import { Module } from './module';

/** Where a feature module's buffers are made. */
export interface AudioModuleOptions {
  /** Default 'float32'. */
  dtype?: DType;
  /** Default: the default device. */
  device?: string;
}

function bufferOf(m: Module, name: string): Tensor {
  const b = m.namedBuffers('', false).find(([n]) => n === name);
  if (!b) fail('INTERNAL', `${m.constructor.name}: buffer '${name}' is missing`);
  return b[1];
}

/** x in the dtype of `like` (a float64 waveform through float32 buffers, or the other way). */
const asDtype = (t: Tensor, like: Tensor): Tensor => (t.dtype === like.dtype ? t : cast(t, like.dtype));

function makeOptions(o: AudioModuleOptions, op: string): { dtype: 'float32' | 'float64'; device?: string } {
  const dtype = o.dtype === undefined ? 'float32' : o.dtype;
  if (dtype !== 'float32' && dtype !== 'float64') fail('INVALID_ARGUMENT', `${op}: dtype must be 'float32' or 'float64'; got ${describe(o.dtype)}`);
  return { dtype, device: o.device === undefined ? undefined : checkDevice(o.device, op) };
}

/** torchaudio.transforms.Spectrogram's options: spectrogram()'s, with a periodic Hann window unless `window` is given. */
export interface SpectrogramModuleOptions extends Omit<SpectrogramOptions, 'window'>, AudioModuleOptions {
  /** The window (copied into the buffer 'window'); default hannWindow(winLength). */
  window?: Tensor;
}

const SPEC_KEYS = ['nFft', 'hopLength', 'winLength', 'pad', 'power', 'normalized', 'center', 'padMode', 'onesided'] as const;

/** nn.Spectrogram (torchaudio.transforms.Spectrogram): waveform [..., time] → [..., nFft/2 + 1, frames] (power 2 by default). */
export class Spectrogram extends Module {
  readonly options: Readonly<SpectrogramOptions>;
  private basisKey = '';
  constructor(options?: SpectrogramModuleOptions) {
    super();
    const o = checkOptions<SpectrogramModuleOptions>(options, 'Spectrogram', [...SPEC_KEYS, 'window', 'dtype', 'device']);
    const { dtype, device } = makeOptions(o, 'Spectrogram');
    const nFft = o.nFft === undefined ? 400 : checkInteger(o.nFft, 'Spectrogram', 'nFft', 1);
    const winLength = o.winLength === undefined || o.winLength === null ? nFft : checkInteger(o.winLength, 'Spectrogram', 'winLength', 1);
    const spec: Record<string, unknown> = { nFft, winLength };
    for (const k of SPEC_KEYS) if (o[k] !== undefined && k !== 'nFft' && k !== 'winLength') spec[k] = o[k];
    this.options = spec as SpectrogramOptions;
    const w = o.window === undefined ? hannWindow(winLength, { dtype, device }) : isolated(() => checkTensor(o.window, 'Spectrogram', 'window').clone());
    this.registerBuffer('window', w);
  }
  forward(waveform: Tensor): Tensor {
    this.checkUsable('Spectrogram');
    checkTensor(waveform, 'Spectrogram', 'waveform');
    return tidy(() => spectrogramWith(waveform, { ...this.options, window: asDtype(bufferOf(this, 'window'), waveform) }, (key, make) => this.basisFor(key, make)));
  }

  /**
   * stft's cos/sin basis, made on the first forward and held by the module (freed with it, or
   * when a waveform of another dtype or device needs another): building it costs more than the
   * DFT's GEMM on short batches.
   */
  private basisFor(key: string, make: () => Tensor): Tensor {
    const held = Module.owned(this, 'stftBasis');
    if (held && !held.isDisposed && this.basisKey === key) return held;
    const made = make();
    Module.holdOwned(this, 'stftBasis', made, false);
    this.basisKey = key;
    return made;
  }
}

/** nn.MelScale (torchaudio.transforms.MelScale): a spectrogram [..., nStft, frames] → [..., nMels, frames] through the buffer 'fb'. */
export class MelScale extends Module {
  constructor(options?: { nMels?: number; sampleRate?: number; fMin?: number; fMax?: number | null; nStft?: number; norm?: 'slaney' | null; melScale?: 'htk' | 'slaney' } & AudioModuleOptions) {
    super();
    const op = 'MelScale';
    const o = checkOptions<Record<string, unknown>>(options, op, ['nMels', 'sampleRate', 'fMin', 'fMax', 'nStft', 'norm', 'melScale', 'dtype', 'device']);
    const { dtype, device } = makeOptions(o, op);
    const sampleRate = o.sampleRate === undefined ? 16000 : checkInteger(o.sampleRate, op, 'sampleRate', 1);
    const fMax = o.fMax === undefined || o.fMax === null ? Math.floor(sampleRate / 2) : checkFinite(o.fMax, op, 'fMax');
    const fb = melFilterbank(o.nStft === undefined ? 201 : (o.nStft as number), o.fMin === undefined ? 0 : (o.fMin as number), fMax,
      o.nMels === undefined ? 128 : (o.nMels as number), sampleRate, { norm: o.norm as 'slaney' | null | undefined, melScale: o.melScale as 'htk' | 'slaney' | undefined, dtype, device });
    this.registerBuffer('fb', fb);
  }
  forward(spec: Tensor): Tensor {
    this.checkUsable('MelScale');
    checkTensor(spec, 'MelScale', 'spec');
    return tidy(() => applyFilterbank(spec, asDtype(bufferOf(this, 'fb'), spec), 'MelScale'));
  }
}

/** nn.MelSpectrogram (torchaudio.transforms.MelSpectrogram): a Spectrogram then a MelScale of nFft/2 + 1 bins: [..., nMels, frames]. */
export class MelSpectrogram extends Module {
  readonly spectrogram: Spectrogram;
  readonly melScale: MelScale;
  constructor(options?: Omit<MelSpectrogramOptions, 'window'> & { window?: Tensor } & AudioModuleOptions) {
    super();
    const op = 'MelSpectrogram';
    const o = checkOptions<Record<string, unknown>>(options, op, [...SPEC_KEYS, 'window', 'sampleRate', 'fMin', 'fMax', 'nMels', 'norm', 'melScale', 'dtype', 'device']);
    const { dtype, device, window, ...rest } = o;
    const p = melParts(op, rest);
    if (p.spec.onesided === false) fail('INVALID_ARGUMENT', `${op}: the mel filterbank takes a onesided spectrogram; got onesided false`);
    if (p.spec.power === null) fail('INVALID_ARGUMENT', `${op}: power must be a number (the filterbank sums energies); got null`);
    const where = { dtype: dtype as DType | undefined, device: device as string | undefined };
    this.spectrogram = this.registerModule('spectrogram', new Spectrogram({ ...(p.spec as Omit<SpectrogramOptions, 'window'>), window: window as Tensor | undefined, ...where }));
    this.melScale = this.registerModule('mel_scale', new MelScale({ nMels: p.nMels, sampleRate: p.sampleRate, fMin: p.fMin, fMax: p.fMax, nStft: Math.floor(p.nFft / 2) + 1, ...p.fb, ...where }));
  }
  forward(waveform: Tensor): Tensor {
    this.checkUsable('MelSpectrogram');
    return tidy(() => this.melScale.forward(this.spectrogram.forward(waveform)));
  }
}

/** nn.AmplitudeToDB (torchaudio.transforms.AmplitudeToDB): stype 'power' (default; ×10) or 'magnitude' (×20), topDb optional, ref 1, amin 1e-10. */
export class AmplitudeToDB extends Module {
  readonly multiplier: number;
  readonly topDb: number | null;
  constructor(options?: { stype?: 'power' | 'magnitude'; topDb?: number | null }) {
    super();
    const o = checkOptions<{ stype?: string; topDb?: number | null }>(options, 'AmplitudeToDB', ['stype', 'topDb']);
    const stype = o.stype === undefined ? 'power' : o.stype;
    if (stype !== 'power' && stype !== 'magnitude') fail('INVALID_ARGUMENT', `AmplitudeToDB: stype must be 'power' or 'magnitude'; got ${describe(o.stype)}`);
    this.multiplier = stype === 'power' ? 10 : 20;
    this.topDb = o.topDb === undefined || o.topDb === null ? null : checkFinite(o.topDb, 'AmplitudeToDB', 'topDb');
    if (this.topDb !== null && this.topDb < 0) fail('INVALID_ARGUMENT', `AmplitudeToDB: topDb must be >= 0; got ${this.topDb}`);
  }
  forward(x: Tensor): Tensor {
    this.checkUsable('AmplitudeToDB');
    return amplitudeToDB(x, { multiplier: this.multiplier, topDb: this.topDb });
  }
}

/** nn.MFCC (torchaudio.transforms.MFCC): MelSpectrogram(melKwargs), decibels (topDb 80) or log(mel + 1e-6), then the DCT in the buffer 'dct_mat': [..., nMfcc, frames]. */
export class MFCC extends Module {
  readonly nMfcc: number;
  readonly logMels: boolean;
  readonly MelSpectrogram: MelSpectrogram;
  constructor(options?: MfccOptions & AudioModuleOptions) {
    super();
    const op = 'MFCC';
    const o = checkOptions<MfccOptions & AudioModuleOptions>(options, op, ['sampleRate', 'nMfcc', 'norm', 'logMels', 'melKwargs', 'dtype', 'device']);
    const { dtype, device, ...rest } = o;
    const where = makeOptions({ dtype, device }, op);
    const p = mfccParts(op, rest);
    this.nMfcc = p.nMfcc;
    this.logMels = p.logMels;
    this.registerBuffer('dct_mat', createDct(p.nMfcc, p.nMels, p.norm, where));
    this.MelSpectrogram = this.registerModule('MelSpectrogram', new MelSpectrogram({ ...(p.mel as Omit<MelSpectrogramOptions, 'window'>), ...where }));
  }
  forward(waveform: Tensor): Tensor {
    this.checkUsable('MFCC');
    return tidy(() => {
      const mel = this.MelSpectrogram.forward(waveform);
      return melToMfcc(mel, asDtype(bufferOf(this, 'dct_mat'), mel), this.logMels);
    });
  }
}
