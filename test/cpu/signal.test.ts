// lib/ops/signal.ts and lib/ops/audio.ts against float64 references: Tensor.unfold against direct indexing, the
// windows, filterbanks, DCT, istft and an MFCC pipeline against tables made with PyTorch 1.13 (test/signal-refs.py),
// stft and spectrograms against a direct DFT sum written here, with fresh random inputs; gradients by central
// differences; bad arguments; the nn modules; no leaks. (test/opinfo-signal.ts adds the registry's checks.)
import * as antler from '../../lib';
import { Tensor } from '../../lib';
import { dotW, expectAntlerError, expectClose, makeRng, maxAbs, numGrad, randomArray, tensorCounts } from '../helpers';
import { DCT, FBANKS, ISTFT_HANN, ISTFT_LEN, ISTFT_PAD, MELSPEC, MFCC, WINDOWS } from '../signal-refs';

const rng = makeRng();
const { signal } = antler;
const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);

/** The padded sample at i of x [T] (torch.nn.functional.pad's modes, one axis). */
function padAt(x: readonly number[], i: number, p: number, mode: string): number {
  const T = x.length;
  let j = i - p;
  if (j >= 0 && j < T) return x[j];
  if (mode === 'constant') return 0;
  if (mode === 'replicate') return x[Math.min(T - 1, Math.max(0, j))];
  if (mode === 'circular') return x[((j % T) + T) % T];
  if (j < 0) j = -j; // reflect: mirror without the edge
  else j = 2 * (T - 1) - j;
  return x[j];
}

interface RefOptions { nFft: number; hop: number; win: number; window: number[] | null; center: boolean; padMode: string; normalized: boolean; onesided: boolean }

/** X[b, k, t, re/im] = Σ_{n<nFft} w[n]·x[b, t·hop + n]·e^(−2πi·k·n/nFft) in float64, the window centred in nFft. */
function stftRef(x: readonly number[], B: number, T: number, o: RefOptions): { values: number[]; K: number; F: number } {
  const p = o.center ? Math.floor(o.nFft / 2) : 0;
  const Tp = T + 2 * p;
  const F = 1 + Math.floor((Tp - o.nFft) / o.hop);
  const K = o.onesided ? Math.floor(o.nFft / 2) + 1 : o.nFft;
  const left = Math.floor((o.nFft - o.win) / 2);
  const w = new Array(o.nFft).fill(0);
  for (let n = 0; n < o.win; n++) w[left + n] = o.window ? o.window[n] : 1;
  const scale = o.normalized ? 1 / Math.sqrt(o.nFft) : 1;
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    const xb = x.slice(b * T, (b + 1) * T);
    for (let k = 0; k < K; k++)
      for (let t = 0; t < F; t++) {
        let re = 0, im = 0;
        for (let n = 0; n < o.nFft; n++) {
          const v = w[n] * padAt(xb, t * o.hop + n, p, o.padMode);
          const a = (-2 * Math.PI * k * n) / o.nFft;
          re += v * Math.cos(a);
          im += v * Math.sin(a);
        }
        out.push(re * scale, im * scale);
      }
  }
  return { values: out, K, F };
}

const hannRef = (n: number) => Array.from({ length: n }, (_, i) => (n === 1 ? 1 : 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n)));

describe(`signal (seed ${rng.seed})`, () => {
  test('unfold: windows along any axis as a new last axis (torch.Tensor.unfold), and the gradient sums the copies', () => {
    for (let trial = 0; trial < 12; trial++) {
      const rank = rng.int(1, 4);
      const shape = Array.from({ length: rank }, () => rng.int(1, 7));
      const ax = rng.int(0, rank - 1);
      const n = shape[ax];
      const size = rng.int(0, n), step = rng.int(1, 4);
      const frames = Math.floor((n - size) / step) + 1;
      const values = randomArray(rng, shape.reduce((a, b) => a * b, 1));
      antler.tidy(() => {
        const x = antler.tensor(values, shape, { ...F64, requiresGrad: true });
        const y = trial % 2 ? x.unfold(ax - rank, size, step) : signal.unfold(x, ax, size, step);
        const outShape = [...shape.slice(0, ax), frames, ...shape.slice(ax + 1), size];
        expect(y.shape).toEqual(outShape);
        // out[..., f, ..., k] = x[..., f·step + k, ...]
        const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
        const expected: number[] = [];
        const gradRef = new Array(values.length).fill(0);
        const W = randomArray(rng, outShape.reduce((a, b) => a * b, 1));
        const idx = new Array(outShape.length).fill(0);
        for (let p = 0; p < W.length; p++) {
          let rem = p;
          for (let i = outShape.length - 1; i >= 0; i--) {
            idx[i] = rem % outShape[i];
            rem = Math.floor(rem / outShape[i]);
          }
          let src = 0;
          for (let i = 0; i < rank; i++) src += (i === ax ? idx[ax] * step + idx[outShape.length - 1] : idx[i]) * strides[i];
          expected.push(values[src]);
          gradRef[src] += W[p];
        }
        expectClose(read(y), expected, 0, 0, `unfold ${JSON.stringify(shape)} axis ${ax} size ${size} step ${step}`);
        if (W.length) {
          y.backward(antler.tensor(W, outShape, F64));
          expectClose(read(x.grad!), gradRef, 1e-15, 1e-15, 'unfold gradient');
        }
      });
    }
    // A 0-d tensor is one element along axis 0 (torch: [] → [size]).
    antler.tidy(() => expect(read(antler.tensor(5, [], F64).unfold(0, 1, 1))).toEqual([5]));
  });

  test('unfold: bad arguments throw with the sizes in the message', () => {
    const x = antler.tensor([1, 2, 3, 4], [2, 2], F64);
    expectAntlerError(() => x.unfold(1, 3, 1), 'INVALID_ARGUMENT', /size 3 is larger than axis 1/);
    expectAntlerError(() => x.unfold(0, 1, 0), 'INVALID_ARGUMENT', /step must be an integer >= 1/);
    expectAntlerError(() => x.unfold(2, 1, 1), 'INVALID_ARGUMENT', /axis must be an integer in \[-2, 2\)/);
    expectAntlerError(() => signal.unfold('x' as unknown as Tensor, 0, 1, 1), 'INVALID_ARGUMENT');
    x.dispose();
  });

  test('windows: torch 1.13 values (periodic and symmetric, lengths 1, 2, 5, 8) in float64 and float32', () => {
    const make: Record<string, (n: number, p: boolean, d: 'float32' | 'float64') => Tensor> = {
      hann: (n, p, d) => antler.hannWindow(n, { periodic: p, dtype: d }),
      hamming: (n, p, d) => antler.hammingWindow(n, { periodic: p, dtype: d }),
      'hamming(0.5,0.5)': (n, p, d) => antler.hammingWindow(n, { periodic: p, alpha: 0.5, beta: 0.5, dtype: d }),
      blackman: (n, p, d) => antler.blackmanWindow(n, { periodic: p, dtype: d }),
      bartlett: (n, p, d) => antler.bartlettWindow(n, { periodic: p, dtype: d }),
      kaiser: (n, p, d) => antler.kaiserWindow(n, { periodic: p, dtype: d }),
      'kaiser(5.5)': (n, p, d) => antler.kaiserWindow(n, { periodic: p, beta: 5.5, dtype: d }),
    };
    const table = WINDOWS as Record<string, number[]>;
    let count = 0;
    for (const [key, expected] of Object.entries(table)) {
      const parts = key.split(','); // 'name,length,periodic', the name may hold commas
      const per = parts.pop(), len = parts.pop(), name = parts.join(',');
      antler.tidy(() => {
        const w64 = make[name](Number(len), per === 'True', 'float64');
        expect(w64.dtype).toBe('float64');
        expectClose(read(w64), expected, 1e-14, 1e-15, key);
        expectClose(read(make[name](Number(len), per === 'True', 'float32')), expected, 1e-6, 1e-7, `${key} float32`);
      });
      count++;
    }
    expect(count).toBe(7 * 4 * 2);
    antler.tidy(() => {
      // periodic is the default; a boolean second argument is torch's positional periodic.
      expectClose(read(antler.hannWindow(6, F64)), hannRef(6), 1e-15, 1e-15, 'default periodic');
      expectClose(read(antler.hannWindow(6, false)), read(antler.hannWindow(6, { periodic: false })), 0, 0, 'positional periodic');
      expect(antler.hannWindow(0).shape).toEqual([0]);
      expect(antler.hannWindow(4).dtype).toBe('float32');
      expect(antler.kaiserWindow(4, { requiresGrad: true, dtype: 'float64' }).requiresGrad).toBe(true);
    });
    expectAntlerError(() => antler.hannWindow(-1), 'INVALID_ARGUMENT', /windowLength must be an integer >= 0/);
    expectAntlerError(() => antler.hannWindow(4, { dtype: 'int32' }), 'INVALID_ARGUMENT', /dtype must be 'float32' or 'float64'/);
    expectAntlerError(() => antler.kaiserWindow(4, { beta: NaN }), 'INVALID_ARGUMENT', /beta must be finite/);
    expectAntlerError(() => antler.hannWindow(4, { alpha: 1 } as never), 'INVALID_ARGUMENT', /unknown option 'alpha'/);
  });

  test('stft: a direct float64 DFT sum, over shapes, hops, windows, pad modes, normalized and two-sided', () => {
    const configs = [
      { nFft: 8, hop: 2, win: 8, window: true, center: true, padMode: 'reflect', normalized: false, onesided: true },
      { nFft: 9, hop: 3, win: 9, window: false, center: false, padMode: 'reflect', normalized: false, onesided: true },
      { nFft: 10, hop: 4, win: 6, window: true, center: true, padMode: 'constant', normalized: true, onesided: false },
      { nFft: 7, hop: 1, win: 5, window: true, center: true, padMode: 'replicate', normalized: false, onesided: true },
      { nFft: 6, hop: 5, win: 6, window: true, center: true, padMode: 'circular', normalized: true, onesided: true },
    ];
    for (const c of configs) {
      const batch = rng.pick([[], [2], [2, 3]]);
      const T = rng.int(c.nFft, 3 * c.nFft);
      const B = batch.reduce((a, b) => a * b, 1);
      const xs = randomArray(rng, B * T);
      const w = c.window ? randomArray(rng, c.win, 0.2, 1) : null;
      const ref = stftRef(xs, B, T, { ...c, window: w });
      for (const dtype of ['float64', 'float32'] as const)
        antler.tidy(() => {
          const x = antler.tensor(xs, [...batch, T], { dtype });
          const out = antler.stft(x, {
            nFft: c.nFft, hopLength: c.hop, winLength: c.win, window: w ? antler.tensor(w, [c.win], { dtype }) : null,
            center: c.center, padMode: c.padMode as 'reflect', normalized: c.normalized, onesided: c.onesided,
          });
          expect(out.shape).toEqual([...batch, ref.K, ref.F, 2]);
          expect(out.dtype).toBe(dtype);
          const tol = dtype === 'float64' ? 1e-12 : 2e-6;
          expectClose(read(out), ref.values, 0, tol * maxAbs(ref.values), `stft ${JSON.stringify(c)} ${dtype}`);
        });
    }
    // Defaults: hop nFft/4, no window (ones), centred with reflection, onesided.
    antler.tidy(() => {
      const xs = randomArray(rng, 30);
      const ref = stftRef(xs, 1, 30, { nFft: 12, hop: 3, win: 12, window: null, center: true, padMode: 'reflect', normalized: false, onesided: true });
      expectClose(read(antler.stft(antler.tensor(xs, [30], F64), { nFft: 12 })), ref.values, 0, 1e-12 * maxAbs(ref.values), 'defaults');
    });
  });

  test('stft: gradients of x and the window match central differences', () => {
    const T = 14, nFft = 6, win = 4;
    const xs = randomArray(rng, T), ws = randomArray(rng, win, 0.2, 1);
    const o = { nFft, hop: 3, win, center: true, padMode: 'reflect', normalized: false, onesided: true };
    const W = randomArray(rng, stftRef(xs, 1, T, { ...o, window: ws }).values.length);
    antler.tidy(() => {
      const x = antler.tensor(xs, [T], { ...F64, requiresGrad: true });
      const w = antler.tensor(ws, [win], { ...F64, requiresGrad: true });
      const out = antler.stft(x, { nFft, hopLength: 3, winLength: win, window: w });
      out.backward(antler.tensor(W, out.shape, F64));
      const gx = numGrad((v) => dotW(stftRef(v, 1, T, { ...o, window: ws }).values, W), xs, 1e-6);
      const gw = numGrad((v) => dotW(stftRef(xs, 1, T, { ...o, window: v }).values, W), ws, 1e-6);
      expectClose(read(x.grad!), gx, 1e-7, 1e-8, 'd/dx');
      expectClose(read(w.grad!), gw, 1e-7, 1e-8, 'd/dwindow');
    });
  });

  test('stft: bad arguments', () => {
    const x = antler.tensor(randomArray(rng, 16), [16], F64);
    expectAntlerError(() => antler.stft(x, {} as never), 'INVALID_ARGUMENT', /nFft is required/);
    expectAntlerError(() => antler.stft(x, { nFft: 0 }), 'INVALID_ARGUMENT', /nFft must be an integer >= 1/);
    expectAntlerError(() => antler.stft(x, { nFft: 20, center: false }), 'INVALID_ARGUMENT', /nFft \(20\) is longer than the signal \(16 samples/);
    expectAntlerError(() => antler.stft(x, { nFft: 40 }), 'INVALID_ARGUMENT', /reflect padding by nFft\/2 = 20 needs more than 20 samples/);
    expectAntlerError(() => antler.stft(x, { nFft: 8, winLength: 9 }), 'INVALID_ARGUMENT', /winLength \(9\) must be at most nFft \(8\)/);
    expectAntlerError(() => antler.stft(x, { nFft: 8, hopLength: 0 }), 'INVALID_ARGUMENT', /hopLength must be an integer >= 1/);
    expectAntlerError(() => antler.stft(x, { nFft: 8, padMode: 'wrap' as 'reflect' }), 'INVALID_ARGUMENT', /padMode must be/);
    expectAntlerError(() => antler.stft(x, { nFft: 8, window: antler.hannWindow(8) }), 'DTYPE_MISMATCH', /window is float32 but the input is float64/);
    expectAntlerError(() => antler.stft(x, { nFft: 8, window: antler.hannWindow(7, F64) }), 'SHAPE_MISMATCH', /window must be 1-D of winLength 8/);
    expectAntlerError(() => antler.stft(antler.tensor([1, 2], [2], { dtype: 'int32' }), { nFft: 2 }), 'DTYPE_MISMATCH');
    expectAntlerError(() => antler.stft(x, { nFft: 8, hop: 2 } as never), 'INVALID_ARGUMENT', /unknown option 'hop'/);
    // A failed call leaves x intact.
    expect(x.isDisposed).toBe(false);
    expect(x.shape).toEqual([16]);
    x.dispose();
  });

  test('istft: torch 1.13 on spectra that no signal made (envelope, trimming, length, normalized), and round trips', () => {
    // The tables' input: spec[f, t] = sin(1.3f + 0.7t) + i·sin(1.3f + 0.7t + 0.4), 5 × 6.
    const spec: number[] = [];
    for (let f = 0; f < 5; f++) for (let t = 0; t < 6; t++) for (let c = 0; c < 2; c++) spec.push(Math.sin(1.3 * f + 0.7 * t + 0.4 * c));
    antler.tidy(() => {
      const s = antler.tensor(spec, [5, 6, 2], F64);
      expectClose(read(antler.istft(s, { nFft: 8, hopLength: 2, window: antler.hannWindow(8, F64) })), ISTFT_HANN, 1e-12, 1e-13, 'hann, center');
      expectClose(read(antler.istft(s, { nFft: 8, hopLength: 2, window: antler.hammingWindow(8, F64), center: false, length: 14, normalized: true })), ISTFT_LEN, 1e-12, 1e-13, 'hamming, length 14, normalized');
      expectClose(read(antler.istft(s, { nFft: 8, hopLength: 2, window: antler.hannWindow(8, F64), length: 20 })), ISTFT_PAD, 1e-12, 1e-13, 'length past the frames: zeros');
    });
    // istft(stft(x)) = x for windows that overlap-add without gaps, onesided or not, even or odd nFft, batched.
    for (const [nFft, hop, win, onesided] of [[16, 4, 16, true], [9, 3, 7, true], [8, 2, 8, false]] as const) {
      const T = rng.int(2 * nFft, 4 * nFft);
      const xs = randomArray(rng, 2 * T);
      for (const dtype of ['float64', 'float32'] as const)
        antler.tidy(() => {
          const window = antler.hannWindow(win, { dtype });
          const o = { nFft, hopLength: hop, winLength: win, window, onesided };
          const s = antler.stft(antler.tensor(xs, [2, T], { dtype }), o);
          const y = antler.istft(s, { ...o, length: T });
          expect(y.shape).toEqual([2, T]);
          expectClose(read(y), xs, 0, dtype === 'float64' ? 1e-12 : 2e-6, `round trip nFft ${nFft} hop ${hop} win ${win} onesided ${onesided} ${dtype}`);
        });
    }
  });

  test('istft: a two-sided spectrum is read as torch 1.13 reads it (irfft of its first nFft/2 + 1 bins, the rest unread)', () => {
    // torch.istft(view_as_complex(spec8), 8, 2, 8, hann_window(8), center=True, onesided=False) for the 8 × 6 spectrum
    // of the same formula as the tables' gives ISTFT_HANN, the onesided result of its first 5 rows: torch's real istft
    // slices a two-sided spectrum to nFft/2 + 1 bins and runs irfft. The real part of a full inverse DFT differs
    // wherever the spectrum is not Hermitian, as this one is not.
    const spec: number[] = [];
    for (let f = 0; f < 8; f++) for (let t = 0; t < 6; t++) for (let c = 0; c < 2; c++) spec.push(Math.sin(1.3 * f + 0.7 * t + 0.4 * c));
    antler.tidy(() => {
      const s = antler.tensor(spec, [8, 6, 2], { ...F64, requiresGrad: true });
      const y = antler.istft(s, { nFft: 8, hopLength: 2, window: antler.hannWindow(8, F64), onesided: false });
      expectClose(read(y), ISTFT_HANN, 1e-12, 1e-13, 'two-sided hann, center');
      // The upper bins are unread: their gradient is 0, as torch's.
      antler.sum(y).backward();
      const g = read(s.grad!);
      expect(g.slice(5 * 12).every((v) => v === 0)).toBe(true);
      expect(maxAbs(g.slice(0, 5 * 12))).toBeGreaterThan(0);
    });
  });

  test('istft: gradient by central differences through the envelope division, and bad arguments', () => {
    const specVals = randomArray(rng, 5 * 4 * 2);
    const ws = hannRef(8);
    const W = randomArray(rng, 10);
    const f = (v: number[]) => antler.noGrad(() => antler.tidy(() =>
      dotW(read(antler.istft(antler.tensor(v, [5, 4, 2], F64), { nFft: 8, hopLength: 2, window: antler.tensor(ws, [8], F64), length: 10 })), W)));
    antler.tidy(() => {
      const s = antler.tensor(specVals, [5, 4, 2], { ...F64, requiresGrad: true });
      const y = antler.istft(s, { nFft: 8, hopLength: 2, window: antler.tensor(ws, [8], F64), length: 10 });
      y.backward(antler.tensor(W, [10], F64));
      expectClose(read(s.grad!), numGrad(f, specVals, 1e-6), 1e-7, 1e-9, 'istft d/dspec');
    });
    const s = antler.zeros([5, 4, 2], F64);
    expectAntlerError(() => antler.istft(s, { nFft: 10 }), 'SHAPE_MISMATCH', /onesided spectrum of nFft 10 has 6 frequencies; x has 5/);
    expectAntlerError(() => antler.istft(antler.zeros([5, 4], F64), { nFft: 8 }), 'SHAPE_MISMATCH', /\[\.\.\., freq, frames, 2\]/);
    // A rectangular window of 2 in frames 4 apart leaves gaps: NOLA fails, as torch's "window overlap add min".
    expectAntlerError(() => antler.istft(s, { nFft: 8, hopLength: 4, winLength: 2 }), 'INVALID_ARGUMENT', /NOLA/);
    s.dispose();
  });

  test('spectrogram: power 2, 1 and 3, null (the spectrum), normalized by the window or the frame length', () => {
    const T = 40, nFft = 12;
    const xs = randomArray(rng, 2 * T);
    const hann = hannRef(nFft);
    const base = { nFft, hop: 6, win: nFft, window: hann, center: true, padMode: 'reflect', normalized: false, onesided: true };
    const ref = stftRef(xs, 2, T, base);
    const energy = Math.sqrt(hann.reduce((a, v) => a + v * v, 0));
    const mag2 = (vals: number[], scale: number) => Array.from({ length: vals.length / 2 }, (_, i) => (vals[2 * i] ** 2 + vals[2 * i + 1] ** 2) * scale * scale);
    antler.tidy(() => {
      const x = antler.tensor(xs, [2, T], F64);
      const p2 = mag2(ref.values, 1);
      const s2 = signal.spectrogram(x, { nFft });
      expect(s2.shape).toEqual([2, ref.K, ref.F]);
      expectClose(read(s2), p2, 1e-12, 1e-13 * maxAbs(p2), 'power 2 (hann and hop nFft/2 by default)');
      expectClose(read(signal.spectrogram(x, { nFft, power: 1 })), p2.map(Math.sqrt), 1e-12, 1e-13, 'power 1');
      expectClose(read(signal.spectrogram(x, { nFft, power: 3 })), p2.map((v) => v ** 1.5), 1e-11, 1e-13, 'power 3');
      expectClose(read(signal.spectrogram(x, { nFft, power: null })), ref.values, 1e-12, 1e-13, 'power null');
      expectClose(read(signal.spectrogram(x, { nFft, normalized: true })), mag2(ref.values, 1 / energy), 1e-12, 1e-14, 'normalized (window)');
      expectClose(read(signal.spectrogram(x, { nFft, normalized: 'frameLength' })), mag2(ref.values, 1 / Math.sqrt(nFft)), 1e-12, 1e-14, 'normalized frameLength');
      // pad: zeros on both ends first.
      const padded = [...new Array(3).fill(0), ...xs.slice(0, T), ...new Array(3).fill(0)];
      const refPad = stftRef(padded, 1, T + 6, { ...base, window: null });
      expectClose(read(signal.spectrogram(antler.tensor(xs.slice(0, T), [T], F64), { nFft, pad: 3, window: null })), mag2(refPad.values, 1), 1e-12, 1e-12, 'pad 3, no window');
    });
    expectAntlerError(() => signal.spectrogram(antler.zeros([20]), { nFft: 8, normalized: 'energy' as never }), 'INVALID_ARGUMENT', /normalized must be/);
  });

  test('spectrogram: power 1 and 1.5 have gradient 0 at zero bins (silence, zero padding), as torch |X|.pow(p), not NaN', () => {
    // torch: x = zeros(16, requires_grad); stft(x, 8, 2, window=hann).abs().pow(p).sum().backward() gives x.grad = 0 for
    // p = 1 and 1.5 (abs's backward is sgn(X), 0 at 0). A waveform half silence keeps its other gradients too.
    const xs = [...new Array(24).fill(0), ...randomArray(rng, 24)];
    for (const power of [1, 1.5]) {
      antler.tidy(() => {
        const z = antler.zeros([16], { ...F64, requiresGrad: true });
        antler.sum(signal.spectrogram(z, { nFft: 8, hopLength: 2, power })).backward();
        expect(read(z.grad!).every((v) => v === 0)).toBe(true);
        const x = antler.tensor(xs, [48], { ...F64, requiresGrad: true });
        const W = antler.tensor(randomArray(rng, 5 * 11), [5, 11], F64);
        antler.sum(antler.mul(signal.spectrogram(x, { nFft: 8, hopLength: 4, power, center: false }), W)).backward();
        const g = read(x.grad!);
        expect(g.every(Number.isFinite)).toBe(true);
        const f = (v: number[]) => antler.noGrad(() => antler.tidy(() =>
          antler.sum(antler.mul(signal.spectrogram(antler.tensor(v, [48], F64), { nFft: 8, hopLength: 4, power, center: false }), W)).item()));
        // Central differences away from the silent frames (where |X| has a kink).
        expectClose(g.slice(28), numGrad(f, xs, 1e-6).slice(28), 1e-6, 1e-8, `power ${power} d/dx`);
      });
    }
  });

  test('melFilterbank: torchaudio melscale_fbanks in float64 (htk and slaney scales, both norms)', () => {
    const table = FBANKS as Record<string, number[][]>;
    for (const [key, expected] of Object.entries(table)) {
      const [nFreqs, fMin, fMax, nMels, sr, norm, scale] = key.split(',');
      antler.tidy(() => {
        const fb = signal.melFilterbank(Number(nFreqs), Number(fMin), Number(fMax), Number(nMels), Number(sr), { norm: norm === 'None' ? null : 'slaney', melScale: scale as 'htk', dtype: 'float64' });
        expect(fb.shape).toEqual([Number(nFreqs), Number(nMels)]);
        expectClose(read(fb), flat(expected), 1e-12, 1e-15, key);
      });
    }
    for (const f of [0, 440, 999, 1000, 3000, 7999]) for (const s of ['htk', 'slaney'] as const) expect(signal.melToHz(signal.hzToMel(f, s), s)).toBeCloseTo(f, 9);
    expectAntlerError(() => signal.melFilterbank(9, 500, 400, 4, 16000), 'INVALID_ARGUMENT', /0 <= fMin < fMax/);
    expectAntlerError(() => signal.melFilterbank(9, 0, 8000, 4, 16000, { melScale: 'mel' as 'htk' }), 'INVALID_ARGUMENT', /melScale must be 'htk' or 'slaney'/);
    expectAntlerError(() => signal.melFilterbank(0, 0, 8000, 4, 16000), 'INVALID_ARGUMENT', /nFreqs must be an integer >= 1/);
  });

  test('createDct: torchaudio create_dct (ortho and unnormalized), orthonormal columns', () => {
    antler.tidy(() => {
      expectClose(read(signal.createDct(3, 5, 'ortho', F64)), flat(DCT.ortho), 1e-14, 1e-15, 'ortho');
      expectClose(read(signal.createDct(3, 5, null, F64)), flat(DCT.none), 1e-14, 1e-15, 'none');
      const d = signal.createDct(6, 6, 'ortho', F64);
      expectClose(read(antler.matmul(d, d, { transposeA: true })), read(antler.eye(6, undefined, F64)), 0, 1e-14, 'DᵀD = I');
    });
    expectAntlerError(() => signal.createDct(3, 5, 'slaney' as 'ortho'), 'INVALID_ARGUMENT', /norm must be 'ortho' or null/);
  });

  test('amplitudeToDB: decibels with amin, the reference and topDb per item over the last three axes', () => {
    const shape = [2, 3, 4, 5];
    const xs = randomArray(rng, 120, 0, 1).map((v) => (v < 0.05 ? 0 : v ** 6));
    antler.tidy(() => {
      const x = antler.tensor(xs, shape, F64);
      const db = xs.map((v) => 20 * Math.log10(Math.max(v, 1e-5)) - 20 * 0.5);
      expectClose(read(signal.amplitudeToDB(x, { multiplier: 20, amin: 1e-5, dbMultiplier: 0.5 })), db, 1e-13, 1e-12, 'no topDb');
      const p = xs.map((v) => 10 * Math.log10(Math.max(v, 1e-10)));
      const floored = p.map((v, i) => {
        const item = Math.floor(i / 60);
        return Math.max(v, Math.max(...p.slice(item * 60, item * 60 + 60)) - 20);
      });
      expectClose(read(signal.amplitudeToDB(x, { topDb: 20 })), floored, 1e-13, 1e-12, 'topDb 20, 4-D');
      const whole = p.slice(0, 20).map((v) => Math.max(v, Math.max(...p.slice(0, 20)) - 15));
      expectClose(read(signal.amplitudeToDB(antler.tensor(xs.slice(0, 20), [4, 5], F64), { topDb: 15 })), whole, 1e-13, 1e-12, 'topDb 15, 2-D');
      // 3-D [batch, freq, time] (a batch of mel spectrograms, mfcc's case) is one item, as torchaudio's: a loud
      // first row (×1e6, +60 dB) floors the quiet second one at its own maximum − topDb.
      const loud = xs.slice(0, 40).map((v, i) => (i < 20 ? v * 1e6 : v));
      const pl = loud.map((v) => 10 * Math.log10(Math.max(v, 1e-10)));
      const top = Math.max(...pl);
      expectClose(read(signal.amplitudeToDB(antler.tensor(loud, [2, 4, 5], F64), { topDb: 70 })), pl.map((v) => Math.max(v, top - 70)), 1e-13, 1e-12, 'topDb 70, 3-D shares one maximum');
    });
    expectAntlerError(() => signal.amplitudeToDB(antler.ones([3]), { topDb: 80 }), 'SHAPE_MISMATCH', /at least 2 axes/);
    expectAntlerError(() => signal.amplitudeToDB(antler.ones([3]), { amin: 0 }), 'INVALID_ARGUMENT', /amin must be > 0/);
  });

  test('melSpectrogram and mfcc: the torch.stft-based float64 pipeline (torchaudio defaults: hann, hop nFft/2, topDb 80)', () => {
    const L = 64;
    const wave: number[] = [];
    for (let i = 0; i < L; i++) wave.push(Math.sin(0.37 * i) + 0.5 * Math.cos((0.11 * i * i) / 7));
    for (let i = 0; i < L; i++) wave.push(Math.sin(0.9 * i + 1) * Math.exp(-i / 50));
    const o = { sampleRate: 8000, nFft: 16, nMels: 6 };
    for (const dtype of ['float64', 'float32'] as const)
      antler.tidy(() => {
        const x = antler.tensor(wave, [2, L], { dtype });
        const mel = signal.melSpectrogram(x, o);
        expect(mel.shape).toEqual([2, 6, 9]);
        const melRef = flat(MELSPEC);
        expectClose(read(mel), melRef, dtype === 'float64' ? 1e-12 : 1e-5, (dtype === 'float64' ? 1e-14 : 1e-6) * maxAbs(melRef), `melSpectrogram ${dtype}`);
        const m = signal.mfcc(x, { sampleRate: 8000, nMfcc: 4, melKwargs: { nFft: 16, nMels: 6 } });
        expect(m.shape).toEqual([2, 4, 9]);
        const mRef = flat(MFCC);
        expectClose(read(m), mRef, 0, (dtype === 'float64' ? 1e-12 : 1e-5) * maxAbs(mRef), `mfcc ${dtype}`);
        // The modules give the same numbers.
        const mod = new antler.nn.MFCC({ sampleRate: 8000, nMfcc: 4, melKwargs: { nFft: 16, nMels: 6 }, dtype });
        expectClose(read(mod.forward(x) as Tensor), read(m), 1e-6, 1e-6, 'nn.MFCC');
        mod.dispose();
      });
  });

  test('nn.Spectrogram, MelSpectrogram, MFCC: torchaudio buffer names, to(), a gradient into a BiGRU front end, no leaks', () => {
    const before = tensorCounts();
    const spec = new antler.nn.Spectrogram({ nFft: 16, power: 1 });
    const mel = new antler.nn.MelSpectrogram({ sampleRate: 8000, nFft: 16, nMels: 5, dtype: 'float64' });
    const mf = new antler.nn.MFCC({ sampleRate: 8000, nMfcc: 3, melKwargs: { nFft: 16, nMels: 5 } });
    const db = new antler.nn.AmplitudeToDB({ stype: 'magnitude', topDb: 60 });
    antler.tidy(() => {
      expect(Object.keys(spec.stateDict())).toEqual(['window']);
      expect(Object.keys(mel.stateDict()).sort()).toEqual(['mel_scale.fb', 'spectrogram.window']);
      expect(Object.keys(mf.stateDict()).sort()).toEqual(['MelSpectrogram.mel_scale.fb', 'MelSpectrogram.spectrogram.window', 'dct_mat']);
    });
    expect(spec.parameters()).toEqual([]);
    const gru = new antler.nn.GRU(5, 4, { batchFirst: true, bidirectional: true, dtype: 'float64' });
    const xs = randomArray(rng, 2 * 48);
    antler.tidy(() => {
      const x = antler.tensor(xs, [2, 48], { ...F64, requiresGrad: true });
      const feats = mel.forward(x) as Tensor; // [2, 5, 7]
      expect(feats.shape).toEqual([2, 5, 7]);
      const logMel = antler.log(antler.add(feats, 1e-6));
      const { output } = gru.forward(antler.transpose(logMel, 1, 2)) as { output: Tensor };
      antler.sum(output).backward();
      expect(x.grad!.shape).toEqual([2, 48]);
      expect(read(x.grad!).every(Number.isFinite)).toBe(true);
      expect(maxAbs(read(x.grad!))).toBeGreaterThan(0);
      // float32 buffers take a float64 waveform (cast in forward), and AmplitudeToDB's magnitude is ×20.
      expect((spec.forward(antler.tensor(xs.slice(0, 48), [48], F64)) as Tensor).shape).toEqual([9, 7]);
      const s1 = spec.forward(antler.tensor(xs.slice(0, 48), [48])) as Tensor;
      const d = read(db.forward(antler.unsqueeze(s1, 0)) as Tensor);
      const ref = read(s1).map((v) => 20 * Math.log10(Math.max(v, 1e-10)));
      const top = Math.max(...ref);
      expectClose(d, ref.map((v) => Math.max(v, top - 60)), 1e-5, 1e-4, 'AmplitudeToDB magnitude');
      expect((mf.forward(antler.tensor(xs, [2, 48])) as Tensor).shape).toEqual([2, 3, 7]);
    });
    for (const m of [spec, mel, mf, db, gru]) m.dispose();
    expect(tensorCounts()).toEqual(before);
    expectAntlerError(() => new antler.nn.MelSpectrogram({ onesided: false }), 'INVALID_ARGUMENT', /onesided/);
    expectAntlerError(() => new antler.nn.AmplitudeToDB({ stype: 'energy' as 'power' }), 'INVALID_ARGUMENT', /stype must be/);
    expectAntlerError(() => new antler.nn.MFCC({ sampleRate: 8000, melKwargs: { sampleRate: 16000 } }), 'INVALID_ARGUMENT', /differ/);
  });

  test('nn.Spectrogram builds its cos/sin basis once and holds it: reused, rebuilt for another dtype, freed with the module', () => {
    const before = tensorCounts();
    const m = new antler.nn.MelSpectrogram({ sampleRate: 8000, nFft: 16, nMels: 5 });
    const buffers = tensorCounts().numTensors - before.numTensors; // window and fb
    const xs = randomArray(rng, 2 * 48);
    const x = antler.tensor(xs, [2, 48]);
    const y1 = m.forward(x) as Tensor;
    // One more tensor lives after the first forward (the basis), and none after the next ones: a forward
    // outside tidy() leaves only its output (not the composite's spectrogram or transposed filterbank).
    expect(tensorCounts().numTensors).toBe(before.numTensors + buffers + 3);
    const y2 = m.forward(x) as Tensor;
    expect(tensorCounts().numTensors).toBe(before.numTensors + buffers + 4);
    expect(read(y2)).toEqual(read(y1));
    // The same numbers as the functional form, whose basis is made per call.
    antler.tidy(() => expectClose(read(y1), read(signal.melSpectrogram(x, { sampleRate: 8000, nFft: 16, nMels: 5 })), 1e-6, 1e-6, 'module vs functional'));
    // A float64 waveform needs a float64 basis (not the float32 one cast): the one held is replaced, not added to.
    const x64 = antler.tensor(xs, [2, 48], F64);
    const y3 = m.forward(x64) as Tensor;
    expect(y3.dtype).toBe('float64');
    expect(tensorCounts().numTensors).toBe(before.numTensors + buffers + 6);
    for (const t of [x, y1, y2, y3, x64]) t.dispose();
    m.dispose();
    expect(tensorCounts()).toEqual(before);
    expectAntlerError(() => m.forward(x64), 'DISPOSED', /MelSpectrogram module has been disposed/);
  });

  test('no tensors leak from the ops, nor from a call that throws', () => {
    const x = antler.tensor(randomArray(rng, 64), [2, 32], F64);
    const w = antler.hannWindow(8, F64);
    const before = tensorCounts();
    const y = antler.stft(x, { nFft: 8, hopLength: 2, window: w });
    const z = antler.istft(y, { nFft: 8, hopLength: 2, window: w, length: 32 });
    const m = signal.mfcc(x, { sampleRate: 8000, nMfcc: 4, melKwargs: { nFft: 16, nMels: 6 } });
    const u = x.unfold(1, 5, 3);
    expect(tensorCounts().numTensors).toBe(before.numTensors + 4);
    for (const t of [y, z, m, u]) t.dispose();
    const s = antler.zeros([5, 4, 2], F64);
    expectAntlerError(() => antler.istft(s, { nFft: 8, hopLength: 4, winLength: 2 }), 'INVALID_ARGUMENT');
    s.dispose();
    expect(tensorCounts()).toEqual(before);
    x.dispose();
    w.dispose();
  });
});
