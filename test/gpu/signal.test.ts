// lib/ops/signal.ts and lib/ops/audio.ts on CUDA against the CPU: every op is composed from recorded ops (gatherRows,
// scatterAddRows, GEMM, pad), so the CUDA path is those ops' kernels; this checks the composition keeps the work on
// the device (the host-built index tables and DFT bases made on x's device, the modules' buffers moved by to()) and
// that values and gradients agree with the CPU's. Skips where no GPU is usable.
import * as antler from '../../lib';
import { Tensor } from '../../lib';
import { expectAntlerError, expectClose, makeSeededRng, maxAbs, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('signal tests');
const read = (t: Tensor) => Array.from(t.dataSync());
const F64 = { dtype: 'float64' as const };

run(`signal ops on CUDA vs CPU (seed ${rng.seed})`, () => {
  test('unfold, stft, istft, spectrogram, melSpectrogram, mfcc: the same values and gradients on cuda:0', () => {
    const T = 96;
    const xs = randomArray(rng, 2 * T);
    const calls: [string, (x: Tensor, d: string) => Tensor][] = [
      ['unfold', (x) => x.unfold(1, 7, 3)],
      ['stft', (x, d) => antler.stft(x, { nFft: 16, hopLength: 4, window: antler.hannWindow(16, { ...F64, device: d }) })],
      ['stft two-sided', (x, d) => antler.stft(x, { nFft: 15, hopLength: 5, winLength: 9, window: antler.hammingWindow(9, { ...F64, device: d }), onesided: false, normalized: true, padMode: 'constant' })],
      ['istft(stft)', (x, d) => {
        const window = antler.hannWindow(16, { ...F64, device: d });
        return antler.istft(antler.stft(x, { nFft: 16, hopLength: 4, window }), { nFft: 16, hopLength: 4, window, length: T });
      }],
      ['spectrogram', (x) => antler.signal.spectrogram(x, { nFft: 16, power: 1 })],
      ['melSpectrogram', (x) => antler.signal.melSpectrogram(x, { sampleRate: 8000, nFft: 32, nMels: 8 })],
      ['mfcc', (x) => antler.signal.mfcc(x, { sampleRate: 8000, nMfcc: 5, melKwargs: { nFft: 32, nMels: 8 } })],
    ];
    for (const [name, f] of calls)
      antler.tidy(() => {
        const res = ['cpu', 'cuda:0'].map((d) => {
          const x = antler.tensor(xs, [2, T], { ...F64, device: d, requiresGrad: true });
          const out = f(x, d);
          expect(out.device).toBe(d);
          const W = antler.tensor(randomArray(makeSeededRng(7), out.size), out.shape, { ...F64, device: d });
          antler.sum(antler.mul(out, W)).backward();
          expect(x.grad!.device).toBe(d);
          return { out: read(out), grad: read(x.grad!) };
        });
        expectClose(res[1].out, res[0].out, 1e-10, 1e-12 * maxAbs(res[0].out), `${name} values`);
        expectClose(res[1].grad, res[0].grad, 1e-10, 1e-12 * maxAbs(res[0].grad), `${name} gradient`);
      });
  });

  test('the modules on cuda:0 (buffers made there, or moved by to()) match the CPU in float32', () => {
    const xs = randomArray(rng, 3 * 400);
    const cpu = new antler.nn.MFCC({ sampleRate: 16000, nMfcc: 13, melKwargs: { nFft: 128, hopLength: 64, nMels: 24 } });
    const gpu = new antler.nn.MFCC({ sampleRate: 16000, nMfcc: 13, melKwargs: { nFft: 128, hopLength: 64, nMels: 24 }, device: 'cuda' });
    const moved = new antler.nn.MelSpectrogram({ sampleRate: 16000, nFft: 128, nMels: 24 });
    const melCpu = new antler.nn.MelSpectrogram({ sampleRate: 16000, nFft: 128, nMels: 24 });
    // A forward on the CPU first: the stft basis it holds is on the CPU, and one on cuda:0 is made after to().
    antler.tidy(() => moved.forward(antler.tensor(xs, [3, 400])));
    moved.to('cuda');
    antler.tidy(() => {
      const a = cpu.forward(antler.tensor(xs, [3, 400])) as Tensor;
      const b = gpu.forward(antler.tensor(xs, [3, 400], { device: 'cuda' })) as Tensor;
      expect(b.device).toBe('cuda:0');
      expectClose(read(b), read(a), 1e-4, 1e-4 * maxAbs(read(a)), 'nn.MFCC');
      const m1 = melCpu.forward(antler.tensor(xs, [3, 400])) as Tensor;
      const m2 = moved.forward(antler.tensor(xs, [3, 400], { device: 'cuda' })) as Tensor;
      expectClose(read(m2), read(m1), 1e-4, 1e-5 * maxAbs(read(m1)), 'nn.MelSpectrogram moved by to()');
      // A window on the wrong device is refused before any work.
      expectAntlerError(() => antler.stft(antler.tensor(xs, [3, 400], { device: 'cuda' }), { nFft: 16, window: antler.hannWindow(16) }), 'DEVICE_MISMATCH');
    });
    for (const m of [cpu, gpu, moved, melCpu]) m.dispose();
  });
});
