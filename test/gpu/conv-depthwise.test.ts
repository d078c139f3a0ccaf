// The native depthwise convolution on CUDA (native/cuda/depthwise.cu) against the CPU's (native/cpu/depthwise.cpp):
// forward, input and weight gradients and a second derivative on fresh random 1-D/2-D/3-D shapes with strides,
// dilations, paddings and channel multipliers, float64 and float32; the weight gradient the same bits every run.
// Skips where no GPU is usable.
import * as antler from '../../lib';
import { expectClose, expectExact, makeSeededRng, randomArray } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('depthwise convolution tests');
const convs = [antler.conv1d, antler.conv2d, antler.conv3d] as const;
const prod = (v: readonly number[]) => v.reduce((a, b) => a * b, 1);

run(`depthwise convolution on CUDA vs CPU (seed ${rng.seed})`, () => {
  test('values, gradients and a second derivative equal the CPU\'s (1-D/2-D/3-D, strides, dilations, paddings, multipliers)', () =>
    antler.tidy(() => {
      const emulated = process.env.ANTLER_GPU_EMULATED === '1';
      for (let trial = 0; trial < (emulated ? 6 : 18); trial++) {
        const k = (trial % 3) + 1, C = rng.int(2, 5), m = rng.int(1, 3), N = rng.int(1, 3);
        const ks = Array.from({ length: k }, () => rng.int(1, 3)), dil = ks.map(() => rng.int(1, 2)), stride = ks.map(() => rng.int(1, 3));
        const pads = ks.map(() => rng.int(0, 2));
        const sizes = ks.map((K, d) => Math.max(1, dil[d] * (K - 1) + rng.int(1, emulated ? 4 : 9) - 2 * pads[d]));
        const one = <T>(v: T[]) => (k === 1 ? v[0] : v);
        const options = { groups: C, stride: one(stride), dilation: one(dil), padding: one(pads) } as never;
        const what = JSON.stringify({ N, C, m, sizes, ks, dil, stride, pads });
        const xv = randomArray(rng, N * C * prod(sizes)), wv = randomArray(rng, C * m * prod(ks)), bv = randomArray(rng, C * m);
        for (const dtype of ['float64', 'float32'] as const) {
          const tol = dtype === 'float64' ? 1e-12 : 1e-5;
          const on = (device: string) => {
            const o = { dtype, device, requiresGrad: true } as never;
            const x = antler.tensor(xv, [N, C, ...sizes], o), w = antler.tensor(wv, [C * m, 1, ...ks], o), b = antler.tensor(bv, [C * m], o);
            const y = convs[k - 1](x, w, b, options);
            const r = antler.randn(y.shape, { dtype, seed: trial + 5 } as never).to(device);
            const [gx, gw] = antler.autograd.grad(antler.sum(antler.mul(antler.mul(y, y), r)), [x, w], { createGraph: true });
            const [hx] = antler.autograd.grad(antler.add(antler.sum(antler.mul(gx!, gx!)), antler.sum(antler.mul(gw!, gw!))), [x]);
            return [y, gx!, gw!, hx!].map((t) => t.to('cpu').dataSync());
          };
          const cpu = on('cpu'), gpu = on('cuda');
          gpu.forEach((v, i) => expectClose(v, cpu[i], tol, tol, `${dtype} ${what} result ${i}`));
        }
      }
    }));

  test('a NaN or infinite weight or gradient meets the padding as on the CPU (PyTorch\'s CPU conv: w·0 and gy·0 are NaN)', () =>
    antler.tidy(() => {
      const F = { dtype: 'float64' } as never;
      const on = (device: string) => {
        const o = { dtype: 'float64', device, requiresGrad: true } as never;
        const x = antler.tensor([0.5, -1, 2, 0.25, 1, 3, -2, 0.5], [1, 2, 4], o), w = antler.tensor([NaN, 1, 1, 1, 1, Infinity], [2, 1, 3], o);
        const y = antler.conv1d(x, w, null, { groups: 2, padding: 1 });
        const gy = antler.tensor([Infinity, 1, 1, 1, 1, 1, 1, NaN], [1, 2, 4], F).to(device);
        const [gx, gw] = antler.autograd.grad(antler.sum(antler.mul(y, gy)), [x, w]);
        return [y, gx!, gw!].map((t) => t.to('cpu').dataSync());
      };
      const cpu = on('cpu'), gpu = on('cuda');
      expect([cpu[0][0], cpu[0][3], cpu[0][7], cpu[2][0], cpu[2][5]].every(Number.isNaN)).toBe(true); // the padded taps' w·0, gy·0 (torch 1.13 CPU)
      gpu.forEach((v, i) => expectClose(v, cpu[i], 1e-12, 1e-12, `result ${i}`));
    }));

  test('the weight gradient is the same bits every run (one block per output channel and tap, a fixed reduction tree)', () =>
    antler.tidy(() => {
      const x = antler.randn([2, 16, 21, 23], { seed: 1 } as never).to('cuda');
      const w = antler.randn([32, 1, 3, 3], { seed: 2 } as never).to('cuda');
      x.requiresGrad = true;
      w.requiresGrad = true;
      const grad = () => antler.autograd.grad(antler.sum(antler.mul(antler.conv2d(x, w, null, { groups: 16, padding: 1, stride: 2 }), 1.5)), [w])[0]!.to('cpu').dataSync();
      const first = grad();
      for (let i = 0; i < 3; i++) expectExact(grad(), first, `run ${i}`);
    }));
});
