/**
 * The native depthwise convolution (native/kernels/depthwise.h; groups = input channels, any stride, padding,
 * dilation and channel multiplier) against independent references on fresh random shapes: a direct float64 loop of
 * PyTorch's definition (test/conv-refs.ts), the row gather + GEMM path in float64 (convPaths.depthwise off: an
 * independent implementation of the same convolution, gradients from autograd), and central differences. Also: the
 * weight gradient gives the same bits every run, second and third derivatives through the recorded native backward,
 * and the native ops' own argument checks (AntlerErrors, nothing damaged).
 */
import * as antler from '../../lib';
import { tensor, tidy } from '../../lib';
import { convPaths } from '../../lib/ops/conv';
import * as indexing from '../../lib/ops/indexing';
import { native } from '../../lib/native';
import { wrap } from '../../lib/ops/core';
import { convNdRef, dot, expectGradsMatchCentral } from '../conv-refs';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const convs = [antler.conv1d, antler.conv2d, antler.conv3d] as const;
const F = { dtype: 'float64' as const };
const prod = (v: readonly number[]) => v.reduce((a, b) => a * b, 1);

/** A random depthwise case over k axes: channels, multiplier, per-axis kernel, stride, dilation and padding (a number, per axis, 'same' or 'valid'). */
function draw(k: number) {
  const C = rng.int(2, 5), m = rng.int(1, 3), N = rng.int(1, 3);
  const ks = Array.from({ length: k }, () => rng.int(1, k === 3 ? 3 : 4)), dil = ks.map(() => rng.int(1, 3));
  const strided = rng.next() < 0.6;
  const stride = ks.map(() => (strided ? rng.int(1, 3) : 1));
  const mode = strided ? rng.pick(['number', 'axes', 'valid'] as const) : rng.pick(['number', 'axes', 'same', 'valid'] as const);
  const pads = ks.map(() => rng.int(0, 3));
  const spans = ks.map((K, d) => dil[d] * (K - 1));
  const left = spans.map((e, d) => (mode === 'same' ? Math.floor(e / 2) : mode === 'valid' ? 0 : mode === 'number' ? pads[0] : pads[d]));
  const right = spans.map((e, d) => (mode === 'same' ? e - left[d] : left[d]));
  const sizes = spans.map((e, d) => Math.max(1, e + rng.int(1, 6) - left[d] - right[d]));
  const padding = mode === 'number' ? pads[0] : mode === 'axes' ? pads : mode;
  const one = <T>(v: T[]) => (k === 1 ? v[0] : v);
  const options = { groups: C, padding: k === 1 && mode === 'axes' ? pads[0] : padding, stride: one(stride), dilation: one(dil) } as never;
  if (k === 1 && mode === 'axes') right[0] = left[0] = pads[0];
  return { C, m, N, ks, dil, stride, left, right, sizes, options, what: JSON.stringify({ N, C, m, sizes, ks, dil, stride, padding }) };
}

/** Runs f with the native depthwise path (true) or the row gather (false). */
function withPath<T>(nativePath: boolean, f: () => T): T {
  convPaths.depthwise = nativePath;
  try {
    return f();
  } finally {
    convPaths.depthwise = true;
  }
}

describe(`native depthwise convolution (seed ${SEED})`, () => {
  test('forward equals the float64 definition (1-D/2-D/3-D, strides, dilations, paddings, multipliers; float32 too) and gathers nothing', () =>
    tidy(() => {
      for (let trial = 0; trial < 30; trial++) {
        const k = (trial % 3) + 1, c = draw(k);
        const { C, m, N, ks, sizes } = c, Cout = C * m;
        const xv = randomArray(rng, N * C * prod(sizes)), wv = randomArray(rng, Cout * prod(ks)), bv = rng.next() < 0.5 ? randomArray(rng, Cout) : null;
        const ref = convNdRef(xv, wv, bv, N, C, sizes, Cout, ks, C, c.stride, c.left, c.right, c.dil);
        const gathers = jest.spyOn(indexing, 'gatherRows');
        const y = convs[k - 1](tensor(xv, [N, C, ...sizes], F), tensor(wv, [Cout, 1, ...ks], F), bv ? tensor(bv, [Cout], F) : null, c.options);
        const f32 = convs[k - 1](tensor(xv, [N, C, ...sizes]), tensor(wv, [Cout, 1, ...ks]), bv ? tensor(bv, [Cout]) : null, c.options);
        const gathered = gathers.mock.calls.length;
        gathers.mockRestore();
        expect(gathered).toBe(0);
        expect(y.shape).toEqual([N, Cout, ...ref.outSizes]);
        expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, c.what);
        expectClose(f32.dataSync(), ref.y, 1e-5, 1e-5, `float32 ${c.what}`);
      }
    }));

  test('gradients of input and weight equal the row gather path\'s in float64, and float32 within 1e-5', () =>
    tidy(() => {
      for (let trial = 0; trial < 24; trial++) {
        const k = (trial % 3) + 1, c = draw(k);
        const { C, m, N, ks, sizes } = c, Cout = C * m;
        const xv = randomArray(rng, N * C * prod(sizes)), wv = randomArray(rng, Cout * prod(ks));
        const grads = (nativePath: boolean, dtype: 'float32' | 'float64') => withPath(nativePath, () => {
          const x = tensor(xv, [N, C, ...sizes], { dtype, requiresGrad: true } as never), w = tensor(wv, [Cout, 1, ...ks], { dtype, requiresGrad: true } as never);
          const y = convs[k - 1](x, w, null, c.options);
          const r = antler.randn(y.shape, { ...F, seed: trial + 11 } as never).cast(dtype);
          return antler.autograd.grad(antler.sum(antler.mul(y, r)), [x, w]).map((g) => g!.dataSync());
        });
        const ref = grads(false, 'float64');
        grads(true, 'float64').forEach((g, i) => expectClose(g, ref[i], 1e-12, 1e-12, `${c.what} gradient ${i}`));
        grads(true, 'float32').forEach((g, i) => expectClose(g, ref[i], 1e-5, 1e-5, `float32 ${c.what} gradient ${i}`));
      }
    }));

  test('gradients of input, weight and bias against central differences of the definition', () =>
    tidy(() => {
      for (let trial = 0; trial < 9; trial++) {
        const k = (trial % 3) + 1, c = draw(k);
        const { C, m, N, ks, sizes } = c, Cout = C * m;
        const vals = [randomArray(rng, N * C * prod(sizes)), randomArray(rng, Cout * prod(ks)), randomArray(rng, Cout)];
        const ts = [tensor(vals[0], [N, C, ...sizes], F), tensor(vals[1], [Cout, 1, ...ks], F), tensor(vals[2], [Cout], F)];
        ts.forEach((t) => (t.requiresGrad = true));
        const y = convs[k - 1](ts[0], ts[1], ts[2], c.options);
        const r = randomArray(rng, y.size);
        antler.sum(antler.mul(y, tensor(r, y.shape, F))).backward();
        expectGradsMatchCentral(ts, vals, (v) => dot(convNdRef(v[0], v[1], v[2], N, C, sizes, Cout, ks, C, c.stride, c.left, c.right, c.dil).y, r), c.what);
      }
    }));

  test('second and third derivatives (through the recorded native backward ops) equal the row gather path\'s', () =>
    tidy(() => {
      for (let trial = 0; trial < 9; trial++) {
        const k = (trial % 3) + 1, c = draw(k);
        const { C, m, N, ks, sizes } = c, Cout = C * m;
        const xv = randomArray(rng, N * C * prod(sizes)), wv = randomArray(rng, Cout * prod(ks));
        const derivs = (nativePath: boolean) => withPath(nativePath, () => {
          const x = tensor(xv, [N, C, ...sizes], { ...F, requiresGrad: true } as never), w = tensor(wv, [Cout, 1, ...ks], { ...F, requiresGrad: true } as never);
          const y = convs[k - 1](x, w, null, c.options);
          const r = antler.randn(y.shape, { ...F, seed: 7 } as never);
          const [gx, gw] = antler.autograd.grad(antler.sum(antler.mul(antler.mul(y, y), r)), [x, w], { createGraph: true });
          const s = antler.add(antler.sum(antler.mul(gx!, antler.sin(x))), antler.sum(antler.mul(gw!, antler.cos(w))));
          const [hx, hw] = antler.autograd.grad(s, [x, w], { createGraph: true });
          const third = antler.autograd.grad(antler.add(antler.sum(antler.mul(hx!, hx!)), antler.sum(antler.mul(hw!, hw!))), [x, w]);
          return [hx!, hw!, ...third.map((g) => g!)].map((g) => g.dataSync());
        });
        const ref = derivs(false);
        derivs(true).forEach((g, i) => expectClose(g, ref[i], 1e-10, 1e-10, `${c.what} derivative ${i}`));
      }
    }));

  test('the weight gradient is the same bits every run (a fixed-order double sum, no atomics)', () =>
    tidy(() => {
      const x = antler.randn([4, 24, 33, 35], { seed: 3 } as never), gy = antler.randn([4, 48, 17, 35], { seed: 4 } as never);
      const n = native();
      const run = () => wrap(n.depthwiseConvBackwardWeight!(x.handle, gy.handle, [3, 3], [2, 1], [1, 1], [1, 1])).dataSync();
      const first = run();
      for (let i = 0; i < 3; i++) expectExact(run(), first, `run ${i}`);
    }));

  test('the float32 weight gradient of a long 1-D row is its float64 value rounded (rows summed in chunks, not one float32 sum)', () =>
    tidy(() => {
      // [1, 2, 2^18] k 4 causal, positive values: one float32 sum per row erred 3.2e-6 relative (torch 1.13: 3.8e-6 at 2^20)
      const L = 2 ** 18, n = native();
      const x = antler.add(antler.rand([1, 2, L], { seed: 1 } as never), 0.5), gy = antler.add(antler.rand([1, 2, L], { seed: 2 } as never), 0.5);
      const gw = (a: antler.Tensor, b: antler.Tensor) => wrap(n.depthwiseConvBackwardWeight!(a.handle, b.handle, [4], [1], [3], [1])).dataSync();
      const exact = gw(x.cast('float64'), gy.cast('float64'));
      expectClose(gw(x, gy), exact, 2.5e-7, 0, 'float32 weight gradient');
    }));

  test('the native ops check what they are given: AntlerErrors with codes, the operands intact', () =>
    tidy(() => {
      const n = native();
      const x = antler.randn([2, 3, 8]), w = antler.randn([6, 1, 3]), gy = antler.randn([2, 6, 6]);
      const before = x.dataSync().slice();
      const call = (f: () => unknown) => () => wrap(f() as never);
      expectAntlerError(call(() => n.depthwiseConv!(x.handle, antler.randn([5, 1, 3]).handle, [6], [1], [0], [1])), 'SHAPE_MISMATCH', /^depthwiseConv: weight has 5 output channels/);
      expectAntlerError(call(() => n.depthwiseConv!(x.handle, antler.randn([6, 2, 3]).handle, [6], [1], [0], [1])), 'SHAPE_MISMATCH', /^depthwiseConv: weight has shape \[6, 2, 3\]/);
      expectAntlerError(call(() => n.depthwiseConv!(x.handle, w.handle, [6], [0], [0], [1])), 'INVALID_ARGUMENT', /stride 0/);
      expectAntlerError(call(() => n.depthwiseConv!(x.handle, w.handle, [6], [1], [-1], [1])), 'INVALID_ARGUMENT', /padding -1/);
      expectAntlerError(call(() => n.depthwiseConv!(x.handle, w.handle, [6, 1], [1], [0], [1])), 'SHAPE_MISMATCH', /output has shape/);
      expectAntlerError(call(() => n.depthwiseConv!(x.handle, w.handle, [6], [1, 1], [0], [1])), 'INVALID_ARGUMENT', /need 1 values each/);
      expectAntlerError(call(() => n.depthwiseConv!(x.handle, w.handle, [0], [1], [0], [1])), 'SHAPE_MISMATCH', /spatial sizes/);
      expectAntlerError(call(() => n.depthwiseConv!(x.handle, antler.randn([6, 1, 3], F).handle, [6], [1], [0], [1])), 'DTYPE_MISMATCH');
      expectAntlerError(call(() => n.depthwiseConv!(antler.zeros([2, 3, 8], { dtype: 'int32' }).handle, antler.zeros([6, 1, 3], { dtype: 'int32' }).handle, [6], [1], [0], [1])), 'DTYPE_MISMATCH');
      expectAntlerError(call(() => n.depthwiseConv!(antler.randn([2, 3, 1, 1, 1, 8]).handle, antler.randn([6, 1, 1, 1, 1, 3]).handle, [1, 1, 1, 6], [1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1])), 'SHAPE_MISMATCH', /1 to 3 spatial axes/);
      expectAntlerError(call(() => n.depthwiseConvBackwardInput!(gy.handle, w.handle, [2, 4, 8], [1], [0], [1])), 'SHAPE_MISMATCH', /positive multiple of the input's 4 channels/);
      expectAntlerError(call(() => n.depthwiseConvBackwardInput!(gy.handle, w.handle, [3, 3, 8], [1], [0], [1])), 'SHAPE_MISMATCH', /output has shape \[2, 6, 6\]; expected \[3, 6/);
      expectAntlerError(call(() => n.depthwiseConvBackwardWeight!(x.handle, gy.handle, [3], [1], [0], [2 ** 31])), 'INVALID_ARGUMENT', /dilation 2147483648/);
      expectAntlerError(call(() => n.depthwiseConvBackwardWeight!(x.handle, antler.randn([6, 6]).handle, [3], [1], [0], [1])), 'SHAPE_MISMATCH');
      expectExact(x.dataSync(), before, 'x unchanged');
      // The public ops still refuse bad shapes with their own messages before the kernel.
      expectAntlerError(() => antler.conv1d(x, antler.randn([5, 1, 3]), null, { groups: 3 }), 'SHAPE_MISMATCH', /^conv1d: weight has 5 output channels \(shape \[5, 1, 3\]\), not divisible into 3 groups$/);
      expectAntlerError(() => antler.conv2d(antler.randn([1, 3, 2, 2]), antler.randn([3, 1, 3, 3]), null, { groups: 3 }), 'SHAPE_MISMATCH', /^conv2d: the input's height 2/);
    }));

  test('a NaN or infinite weight or gradient meets the padding as PyTorch\'s CPU conv does (w·0 and gy·0 are NaN), as the row gather', () =>
    tidy(() => {
      // torch 1.13 F.conv1d(ones(1, 2, 4), w = [[NaN, 1, 1], [1, 1, inf]], padding=1, groups=2) = [[NaN]·4, [inf, inf, inf, NaN]]
      const y = antler.conv1d(antler.ones([1, 2, 4], F), tensor([NaN, 1, 1, 1, 1, Infinity], [2, 1, 3], F), null, { groups: 2, padding: 1 });
      expectClose(y.dataSync(), [NaN, NaN, NaN, NaN, Infinity, Infinity, Infinity, NaN], 0, 0, 'forward');
      // Outputs that see only padding (k 1, padding 2): torch's weight gradient for gy = inf there is NaN (inf·0).
      const gy = tensor([Infinity, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 2, 6], F);
      const gw = wrap(native().depthwiseConvBackwardWeight!(tensor([1, 2, 3, 4], [1, 2, 2], F).handle, gy.handle, [1], [1], [2], [1]));
      expectClose(gw.dataSync(), [NaN, 7], 0, 0, 'weight gradient, outputs in the padding alone');
      for (let trial = 0; trial < 12; trial++) {
        const k = (trial % 3) + 1, c = draw(k);
        const { C, m, N, ks, sizes } = c, Cout = C * m;
        const xv = randomArray(rng, N * C * prod(sizes)), wv = randomArray(rng, Cout * prod(ks));
        wv[rng.int(0, wv.length - 1)] = rng.pick([NaN, Infinity, -Infinity]);
        const run = (nativePath: boolean) => withPath(nativePath, () => {
          const x = tensor(xv, [N, C, ...sizes], { ...F, requiresGrad: true } as never), w = tensor(wv, [Cout, 1, ...ks], { ...F, requiresGrad: true } as never);
          const y = convs[k - 1](x, w, null, c.options);
          // gy: y's own values (NaN/inf where y is) times a random field, so the weight gradient meets non-finite gy
          const gy = antler.mul(y.detach(), antler.randn(y.shape, { ...F, seed: trial } as never));
          const [gx, gw] = antler.autograd.grad(antler.sum(antler.mul(y, gy)), [x, w]);
          return [y, gx!, gw!].map((t) => t.dataSync());
        });
        const ref = run(false);
        run(true).forEach((v, i) => expectClose(v, ref[i], 1e-12, 1e-12, `${c.what} result ${i}`));
      }
    }));

  test('N = 0: an empty output and a zero weight gradient', () =>
    tidy(() => {
      const x = antler.zeros([0, 2, 5], { requiresGrad: true } as never), w = antler.randn([4, 1, 3], { requiresGrad: true } as never);
      const y = antler.conv1d(x, w, null, { groups: 2, padding: 1 });
      expect(y.shape).toEqual([0, 4, 5]);
      antler.sum(y).backward();
      expectExact(w.grad!.dataSync(), new Float32Array(12), 'weight gradient');
      expect(x.grad!.shape).toEqual([0, 2, 5]);
    }));
});
