/**
 * maxUnpool1d/2d/3d and nn.MaxUnpool1d/2d/3d (torch.nn.functional.max_unpool*):
 * tables from torch 1.13 (python3, torch 1.13.0a0: an odd 2-D plane with
 * outputSize, overlapping 1-D windows whose indices repeat, and their
 * gradient), and on fresh random inputs a float64 reference written here
 * (zeros, each pooled value put at its flat index) after maxPool's indices
 * are checked to be flat positions in each plane; the gradient against the
 * weights read back at the indices; errors; leaks.
 */
import * as antler from '../../lib';
import { nn, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());

describe(`maxUnpool (seed ${SEED})`, () => {
  test('torch 1.13 tables: an odd 5×5 plane pooled 2×2 and unpooled with outputSize; overlapping 1-D windows (repeated indices) and their gradient', () => {
    const xv = [4, 2, 7, 3, -7, 6, -5, -1, 4, -1, -6, 6, -9, -5, -2, -4, -5, 5, -4, -5, -8, -6, 7, 7, 6, 8, -8, 8, 1, -1, -3, 6, 1, -7, 4, -9, -5, 0, -4, -6, 7, 3, 4, 4, 9, 2, 2, -7, -7, 0];
    const x = tensor(xv, [1, 2, 5, 5], F64);
    const { values, indices } = antler.maxPool2d(x, 2, { stride: 2, returnIndices: true });
    expect(read(indices)).toEqual([5, 2, 11, 17, 0, 2, 15, 17]);
    const y = antler.nn.maxUnpool2d(values, indices, 2, { stride: 2, outputSize: [5, 5] });
    expect(y.shape).toEqual([1, 2, 5, 5]);
    expect(read(y)).toEqual([0, 0, 7, 0, 0, 6, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 4, 0, 0, 0, 0, 0, 0, 0]);
    // Without outputSize the plane is 4×4, where index 17 does not exist (torch: "Found an invalid max index: 17").
    expectAntlerError(() => new nn.MaxUnpool2d(2).forward(values, indices), 'INVALID_ARGUMENT', /maxUnpool2d: indices must lie in \[0, 16\).*found 17/);
    const y4 = new nn.MaxUnpool2d(2).forward(values, indices, [1, 2, 5, 5]); // outputSize as the whole shape
    expect(read(y4)).toEqual(read(y));
    expectAntlerError(() => antler.nn.maxUnpool2d(values, indices, 2, { outputSize: [7, 7] }), 'INVALID_ARGUMENT', /maxUnpool2d: outputSize \[7, 7\] is out of range: axis 0 must be between 2 and 6/);
    const x1 = tensor([1, 5, 2, 2, 0, 7], [1, 1, 6], F64);
    const p = antler.maxPool1d(x1, 3, { stride: 1, returnIndices: true });
    expect(read(p.indices)).toEqual([1, 1, 2, 5]);
    const v1 = p.values.detach().requiresGrad_();
    const w = tensor([1, 2, 3, 4, 5, 6], [1, 1, 6], F64);
    const y1 = new nn.MaxUnpool1d(3, { stride: 1 }).forward(v1, p.indices);
    expect(read(y1)).toEqual([0, 5, 2, 0, 0, 7]);
    tidy(() => antler.sum(antler.mul(y1, w)).backward());
    expect(read(v1.grad!)).toEqual([2, 2, 3, 6]);
    expectAntlerError(() => tidy(() => antler.nn.maxUnpool1d(v1, tensor([0, 1, 2, 9], [1, 1, 4], { dtype: 'int32' }), 3, { stride: 1 })), 'INVALID_ARGUMENT', /maxUnpool1d: indices must lie in \[0, 6\).*found 9/);
    expectAntlerError(() => tidy(() => antler.nn.maxUnpool1d(v1, tensor([0, -1, 2, 3], [1, 1, 4], { dtype: 'int32' }), 3, { stride: 1 })), 'INVALID_ARGUMENT', /found -1/);
    expectAntlerError(() => antler.nn.maxUnpool1d(v1, p.values, 3), 'DTYPE_MISMATCH', /maxUnpool1d: indices must be int32/);
    expectAntlerError(() => tidy(() => antler.nn.maxUnpool2d(antler.reshape(v1, [4]), antler.reshape(p.indices, [4]), 2)), 'SHAPE_MISMATCH', /maxUnpool2d: x must be \[N, C, h, w\] or unbatched/);
    expectAntlerError(() => new nn.MaxUnpool3d([2, 2] as never), 'INVALID_ARGUMENT', /MaxUnpool3d: kernelSize must be a number or \[d, h, w\]/);
    for (const t of [x, values, indices, y, y4, x1, p.values, p.indices, v1, w, y1]) t.dispose();
  });

  for (const k of [1, 2, 3] as const)
    test(`${k}-D: maxPool${k}d's indices are flat in each plane; maxUnpool${k}d puts each value there (float64 reference), batched and unbatched; its gradient is the output's read at the indices`, () => {
      const spatial = Array.from({ length: k }, () => rng.int(3, k === 3 ? 6 : 9));
      const [N, C] = [rng.int(1, 3), rng.int(1, 3)];
      const kernel = rng.int(2, 3), stride = rng.int(1, 3);
      const unbatched = rng.int(0, 1) === 1;
      const shape = unbatched ? [C, ...spatial] : [N, C, ...spatial];
      const size = shape.reduce((a, b) => a * b, 1);
      const x = tensor(randomArray(rng, size, -3, 3), shape, F64);
      const pool = [antler.maxPool1d, antler.maxPool2d, antler.maxPool3d][k - 1] as (x: Tensor, k: number, o: object) => { values: Tensor; indices: Tensor };
      const unpool = [antler.nn.maxUnpool1d, antler.nn.maxUnpool2d, antler.nn.maxUnpool3d][k - 1] as (x: Tensor, i: Tensor, k: number, o: object) => Tensor;
      const { values, indices } = pool(x, kernel, { stride, returnIndices: true });
      const pooled = values.shape.slice(-k);
      const outSize = pooled.map((n) => (n - 1) * stride + kernel);
      // Every output plane's size is at least the input's? No: the default may be smaller or larger; pass the input's when it is in range.
      const given = spatial.every((n, i) => n >= outSize[i] - stride && n <= outSize[i] + stride) ? spatial : outSize;
      const plane = given.reduce((a, b) => a * b, 1), inPlane = spatial.reduce((a, b) => a * b, 1);
      const L = pooled.reduce((a, b) => a * b, 1), planes = unbatched ? C : N * C;
      const xv = read(x), vv = read(values), iv = read(indices);
      // The index convention: value j of plane p is x's element iv[j] of plane p (flat over the spatial axes).
      for (let pl = 0; pl < planes; pl++) for (let j = 0; j < L; j++) expect(xv[pl * inPlane + iv[pl * L + j]]).toBe(vv[pl * L + j]);
      const v = values.detach().requiresGrad_();
      const y = unpool(v, indices, kernel, { stride, outputSize: given });
      expect(y.shape).toEqual([...shape.slice(0, shape.length - k), ...given]);
      const ref = new Array<number>(planes * plane).fill(0);
      for (let pl = 0; pl < planes; pl++) for (let j = 0; j < L; j++) if (iv[pl * L + j] < plane) ref[pl * plane + iv[pl * L + j]] = vv[pl * L + j];
      // An index of the input plane past the output plane can only occur when the output is smaller: then it is refused.
      if (iv.some((i) => i >= plane)) throw new Error('test setup: an index outside the output plane');
      expectClose(read(y), ref, 0, 0);
      const wv = randomArray(rng, y.size, -1, 1);
      const w = tensor(wv, y.shape, F64);
      tidy(() => antler.sum(antler.mul(y, w)).backward());
      expectClose(read(v.grad!), iv.map((i, j) => wv[Math.floor(j / L) * plane + i]), 0, 0);
      for (const t of [x, values, indices, v, y, w]) t.dispose();
    });
  test('double backward: the gradient x gets (the output gradient gathered at the indices, repeats included) is differentiable in that output gradient', () => {
    // Overlapping 1-D windows (stride 1: indices repeat) and a 2-D pool; g = ∂Σ(y·w)/∂v = w read at the indices, so
    // ∂Σ(g·u)/∂w puts each u at its index, repeats adding up (float64 reference written here).
    for (const [shape, k, stride] of [[[2, 3, 9], 3, 1], [[2, 2, 6, 4], 2, 2]] as const) {
      const x = tensor(randomArray(rng, shape.reduce((a, b) => a * b, 1)), [...shape], F64);
      const pool = shape.length === 3 ? antler.maxPool1d(x, k, { stride, returnIndices: true }) : antler.maxPool2d(x, k, { stride, returnIndices: true });
      const v = pool.values.detach().requiresGrad_();
      const y = shape.length === 3 ? antler.nn.maxUnpool1d(v, pool.indices, k, { stride, outputSize: [shape[2]] }) : antler.nn.maxUnpool2d(v, pool.indices, k, { stride });
      const wv = randomArray(rng, y.size);
      const w = tensor(wv, y.shape, F64).requiresGrad_();
      const uv = randomArray(rng, v.size);
      const plane = y.shape.slice(2).reduce((a, b) => a * b, 1);
      const L = v.shape.slice(2).reduce((a, b) => a * b, 1);
      const iv = read(pool.indices);
      const gw = tidy(() => {
        const [g] = antler.autograd.grad(antler.sum(antler.mul(y, w)), [v], { createGraph: true });
        expectClose(read(g!), iv.map((i, j) => wv[Math.floor(j / L) * plane + i]), 0, 0);
        return antler.autograd.grad(antler.sum(antler.mul(g!, tensor(uv, v.shape, F64))), [w])[0]!;
      });
      const ref = new Array<number>(y.size).fill(0);
      iv.forEach((i, j) => (ref[Math.floor(j / L) * plane + i] += uv[j]));
      expectClose(read(gw), ref, 1e-15, 0);
      for (const t of [x, pool.values, pool.indices, v, y, w, gw]) t.dispose();
    }
  });
  test('an empty batch (N = 0, or C = 0 of an unbatched x) gives torch 1.13\'s empty result and an empty gradient, not min()\'s error', () => {
    const k = rng.int(1, 4);
    const c = rng.int(1, 4), l = rng.int(1, 5);
    for (const shape of [[0, c, l], [0, l]]) {
      tidy(() => {
        const x = antler.zeros(shape, { dtype: 'float32' }).requiresGrad_();
        const y = antler.maxUnpool1d(x, antler.zeros(shape, { dtype: 'int32' }), k);
        expect(y.shape).toEqual([...shape.slice(0, -1), (l - 1) * k + k]);
        antler.sum(y).backward();
        expect(x.grad!.shape).toEqual(shape);
        x.zeroGrad();
      });
    }
    tidy(() => {
      const y = antler.maxUnpool2d(antler.zeros([0, c, 2, 3]), antler.zeros([0, c, 2, 3], { dtype: 'int32' }), 2);
      expect(y.shape).toEqual([0, c, 4, 6]);
    });
  });
});
