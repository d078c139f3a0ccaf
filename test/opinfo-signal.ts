// Registry entries of lib/ops/signal.ts and lib/ops/audio.ts (appended to OPS in test/opinfo.ts): float64
// gradients against central differences, float32 against float64, CUDA against the CPU, bad calls.
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import * as antler from '../lib';
import type { Tensor } from '../lib';
import { vals } from './opinfo';
import type { OpInfo } from './opinfo';

const f64 = (values: number[], shape: number[]) => antler.tensor(values, shape, { dtype: 'float64' });
const hann = (n: number, like: Tensor) => antler.hannWindow(n, { dtype: like.dtype, device: like.device });

export const SIGNAL_OPS: OpInfo[] = [
  {
    name: 'signal.unfold',
    samples: (rng) => [
      { inputs: [vals(rng, [2, 7, 3])], note: 'axis 1, overlapping windows' },
      { inputs: [vals(rng, [9])], note: 'step > size' },
    ],
    fn: ([x]) => (x.rank === 3 ? antler.signal.unfold(x, 1, 3, 2) : x.unfold(-1, 2, 3)),
    bad: [
      ['INVALID_ARGUMENT', () => antler.signal.unfold(f64([1, 2, 3], [3]), 0, 4, 1)],
      ['INVALID_ARGUMENT', () => antler.signal.unfold(f64([1, 2, 3], [3]), 0, 2, 0)],
    ],
  },
  {
    name: 'stft(hann, center reflect)',
    // Two inputs: the signal and the window (its gradient too).
    samples: (rng) => [{ inputs: [vals(rng, [2, 20]), vals(rng, [8], 0.2, 1)] }],
    fn: ([x, w]) => antler.stft(x, { nFft: 8, hopLength: 3, window: w }),
    bad: [
      ['INVALID_ARGUMENT', () => antler.stft(f64([1, 2, 3, 4], [4]), { nFft: 8, center: false })],
      ['SHAPE_MISMATCH', () => antler.stft(f64([1, 2, 3, 4, 5, 6], [6]), { nFft: 4, window: f64([1, 1, 1], [3]) })],
    ],
  },
  {
    name: 'stft(short window, two-sided, normalized, odd nFft)',
    samples: (rng) => [{ inputs: [vals(rng, [15])] }],
    fn: ([x]) => antler.stft(x, { nFft: 7, hopLength: 2, winLength: 4, window: hann(4, x), center: true, padMode: 'constant', normalized: true, onesided: false }),
  },
  {
    name: 'istft(hann)',
    samples: (rng) => [{ inputs: [vals(rng, [2, 5, 6, 2])] }],
    fn: ([s]) => antler.istft(s, { nFft: 8, hopLength: 2, window: hann(8, s) }),
    bad: [
      ['SHAPE_MISMATCH', () => antler.istft(f64(new Array(24).fill(0), [4, 3, 2]), { nFft: 8 })],
      ['INVALID_ARGUMENT', () => antler.istft(f64(new Array(30).fill(0), [5, 3, 2]), { nFft: 8, hopLength: 4, window: f64([0, 0, 0, 1, 1, 0, 0, 0], [8]) })],
    ],
  },
  {
    name: 'signal.spectrogram(power 1)',
    samples: (rng) => [{ inputs: [vals(rng, [2, 24])] }],
    fn: ([x]) => antler.signal.spectrogram(x, { nFft: 8, hopLength: 4, power: 1, normalized: true }),
    bad: [['INVALID_ARGUMENT', () => antler.signal.spectrogram(f64(new Array(20).fill(0), [20]), { nFft: 8, power: -1 })]],
  },
  {
    name: 'signal.melSpectrogram',
    samples: (rng) => [{ inputs: [vals(rng, [2, 32])] }],
    fn: ([x]) => antler.signal.melSpectrogram(x, { sampleRate: 8000, nFft: 16, nMels: 5, fMin: 100, norm: 'slaney', melScale: 'slaney' }),
    bad: [['INVALID_ARGUMENT', () => antler.signal.melSpectrogram(f64(new Array(20).fill(0), [20]), { nFft: 8, nMel: 5 } as never)]],
  },
  {
    name: 'signal.amplitudeToDB(topDb)',
    // Each item's (last 3 axes) largest power is 1 (0 dB), the rest 10^u with u in [−2.5, −0.1] but 0.1 or more from
    // −1.5: topDb 15 floors some of them at −15 dB, none near the floor's kink.
    samples: (rng) => [{
      inputs: [{ shape: [2, 2, 3, 4], values: Array.from({ length: 48 }, (_, i) => {
        if (i % 24 === 0) return 1;
        const u = rng.uniform(-2.5, -0.3);
        return 10 ** (u > -1.6 ? u + 0.2 : u);
      }) }],
    }],
    fn: ([x]) => antler.signal.amplitudeToDB(x, { topDb: 15 }),
    f32rtol: 1e-4,
    bad: [['INVALID_ARGUMENT', () => antler.signal.amplitudeToDB(f64([1, 2], [1, 2]), { topDb: -1 })]],
  },
  {
    name: 'signal.mfcc(logMels)',
    samples: (rng) => [{ inputs: [vals(rng, [40])] }],
    fn: ([x]) => antler.signal.mfcc(x, { sampleRate: 8000, nMfcc: 4, logMels: true, melKwargs: { nFft: 16, nMels: 6 } }),
    f32rtol: 1e-4,
    bad: [['INVALID_ARGUMENT', () => antler.signal.mfcc(f64(new Array(40).fill(0), [40]), { nMfcc: 10, melKwargs: { nFft: 16, nMels: 6 } })]],
  },
];

/** Exported functions that are factories, not differentiable ops: the windows. */
export const SIGNAL_NOT_OPS = ['hannWindow', 'hammingWindow', 'blackmanWindow', 'bartlettWindow', 'kaiserWindow'];
