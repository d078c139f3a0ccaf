/**
 * antler.signal: framing, windows, the STFT of real signals and
 * torchaudio-style speech features (spectrogram, mel filterbanks, decibels,
 * MFCC). Spectra are real with a trailing axis of 2 (real, imaginary).
 */
export { unfold, hannWindow, hammingWindow, blackmanWindow, bartlettWindow, kaiserWindow, stft, istft } from './ops/signal';
export type { WindowOptions, HammingWindowOptions, KaiserWindowOptions, StftOptions, IstftOptions } from './ops/signal';
export { spectrogram, melFilterbank, melSpectrogram, amplitudeToDB, createDct, mfcc, hzToMel, melToHz } from './ops/audio';
export type { SpectrogramOptions, MelFilterbankOptions, MelSpectrogramOptions, AmplitudeToDBOptions, MfccOptions } from './ops/audio';
