// The native max and average pools (sliding-window and adaptive) on CUDA (native/cuda/pool.cu) against the CPU's
// (native/cpu/pool.cpp): values, indices, the input gradient and a second derivative on fresh random 1-D/2-D/3-D shapes
// with strides, paddings, dilations, ceilMode, countIncludePad and divisorOverride, adaptive output sizes smaller and
// larger than the input, ties and NaN/±inf inputs, float64 and float32. Both use kernels/pool.h's rules and sum in the
// same order, so float64 agrees to rounding of a handful of terms. Skips where no GPU is usable.
import * as antler from '../../lib';
import { expectClose, expectExact, makeSeededRng } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('pooling tests');
const maxes = [antler.maxPool1d, antler.maxPool2d, antler.maxPool3d] as const;
const avgs = [antler.avgPool1d, antler.avgPool2d, antler.avgPool3d] as const;
const amaxes = [antler.adaptiveMaxPool1d, antler.adaptiveMaxPool2d, antler.adaptiveMaxPool3d] as const;
const aavgs = [antler.adaptiveAvgPool1d, antler.adaptiveAvgPool2d, antler.adaptiveAvgPool3d] as const;
const prod = (v: readonly number[]) => v.reduce((a, b) => a * b, 1);
type Pooled = antler.Tensor | { values: antler.Tensor; indices: antler.Tensor };

/**
 * pool(x) on the CPU and on CUDA, x [N, C, ...sizes] of fresh values with ties and NaN/±inf, float64 and float32: the
 * indices (where it returns them) exact, the values, x's gradient and the second derivative through the upstream
 * gradient's gradient close.
 */
function compareDevices(shape: number[], pool: (x: antler.Tensor) => Pooled, what: string): void {
  const xv = Array.from({ length: prod(shape) }, () => (rng.next() < 0.05 ? rng.pick([NaN, Infinity, -Infinity]) : rng.next() < 0.3 ? rng.pick([0, 1]) : rng.uniform(-2, 2)));
  const randoms = (n: number) => Array.from({ length: n }, () => rng.uniform(-1, 1));
  const gv = randoms(4096), vv = randoms(prod(shape));
  for (const dtype of ['float64', 'float32'] as const) {
    const tol = dtype === 'float64' ? 1e-14 : 1e-5;
    const on = (device: string) => {
      const x = antler.tensor(xv, shape, { dtype, device, requiresGrad: true } as never);
      const r = pool(x);
      const y = r instanceof antler.Tensor ? r : r.values;
      const gy = antler.tensor(gv.slice(0, y.size), y.shape, { dtype, device, requiresGrad: true } as never);
      const [gx] = antler.autograd.grad(y, [x], { gradOutputs: gy, createGraph: true });
      const [ggy] = antler.autograd.grad(antler.sum(antler.mul(gx!, antler.tensor(vv, x.shape, { dtype, device } as never))), [gy]);
      return { out: [y, gx!, ggy!].map((t) => t.to('cpu').dataSync()), idx: r instanceof antler.Tensor ? [] : Array.from(r.indices.to('cpu').dataSync()) };
    };
    const cpu = on('cpu'), gpu = on('cuda');
    expectExact(gpu.idx, cpu.idx, `${dtype} ${what} indices`);
    gpu.out.forEach((v, i) => expectClose(v, cpu.out[i], tol, tol, `${dtype} ${what} result ${i}`));
  }
}

run(`pooling on CUDA vs CPU (seed ${rng.seed})`, () => {
  const emulated = process.env.ANTLER_GPU_EMULATED === '1';

  test('max and avg pools: values, indices, gradients and a second derivative equal the CPU\'s', () =>
    antler.tidy(() => {
      for (let trial = 0; trial < (emulated ? 8 : 24); trial++) {
        const k = (trial % 3) + 1, max = trial % 2 === 0, N = rng.int(1, 2), C = rng.int(1, 3);
        const ks = Array.from({ length: k }, () => rng.int(1, 3)), stride = ks.map(() => rng.int(1, 3));
        const pads = ks.map((K) => rng.int(0, Math.floor(K / 2))), dil = ks.map(() => (max ? rng.int(1, 2) : 1));
        const sizes = ks.map((K, d) => Math.max(1, dil[d] * (K - 1) + 1 + rng.int(0, emulated ? 3 : 8) - 2 * pads[d]));
        const one = <T>(v: T[]) => (k === 1 ? v[0] : v);
        const ceilMode = rng.next() < 0.5;
        const options = (max
          ? { stride: one(stride), padding: one(pads), dilation: one(dil), ceilMode, returnIndices: true }
          : { stride: one(stride), padding: one(pads), ceilMode, countIncludePad: rng.next() < 0.5, ...(k > 1 && rng.next() < 0.3 ? { divisorOverride: -3 } : {}) }) as never;
        const f = (max ? maxes[k - 1] : avgs[k - 1]) as never as (...a: unknown[]) => Pooled;
        compareDevices([N, C, ...sizes], (x) => f(x, one(ks), options), JSON.stringify({ max, N, C, sizes, ks, dil, stride, pads, options }));
      }
    }));

  test('adaptive max and avg pools (outputs smaller and larger than the input): values, indices, gradients and a second derivative equal the CPU\'s', () =>
    antler.tidy(() => {
      for (let trial = 0; trial < (emulated ? 8 : 24); trial++) {
        const k = (trial % 3) + 1, max = trial % 2 === 0, N = rng.int(1, 2), C = rng.int(1, 3);
        const sizes = Array.from({ length: k }, () => rng.int(1, emulated ? 6 : 12));
        const outs = sizes.map((L) => rng.int(1, L + 3));
        const f = (max ? amaxes[k - 1] : aavgs[k - 1]) as never as (...a: unknown[]) => Pooled;
        const args = max ? [{ returnIndices: true }] : [];
        compareDevices([N, C, ...sizes], (x) => f(x, k === 1 ? outs[0] : outs, ...args), JSON.stringify({ max, N, C, sizes, outs }));
      }
    }));
});
