/**
 * The 2-D and 3-D padding modules (ConstantPad2d/3d, ZeroPad2d/3d, ReflectionPad2d/3d,
 * ReplicationPad2d/3d, CircularPad2d/3d) against a direct float64 loop: every output element's
 * source (PyTorch's reflect, replicate and circular index maps, or the constant), random batched and
 * unbatched shapes, paddings as a number or PyTorch's (left, right, top, bottom[, front, back]) tuple;
 * gradients as the loop's adjoint; settings; errors (rank, tuple length, reflect's padding < size); no leaks.
 */
import * as antler from '../../lib';
import { nn, tensor, tidy, type Tensor } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

type Mode = 'constant' | 'reflect' | 'replicate' | 'circular';
/** The source of padded position i on an axis of n (PyTorch's maps), or -1 for the constant. */
function source(mode: Mode, i: number, n: number): number {
  if (i >= 0 && i < n) return i;
  if (mode === 'constant') return -1;
  if (mode === 'replicate') return Math.min(Math.max(i, 0), n - 1);
  if (mode === 'circular') return ((i % n) + n) % n;
  return i < 0 ? -i : 2 * (n - 1) - i; // reflect: the edge not repeated
}

/** The padded tensor by a direct loop, and for each output its flat source (-1: the constant). */
function padRef(x: readonly number[], shape: readonly number[], sides: readonly number[], mode: Mode, value: number) {
  const dims = sides.length / 2;
  // before/after of each axis: side pair k pads the k-th axis from the end.
  const pads = shape.map((_, i) => {
    const k = shape.length - 1 - i;
    return k < dims ? [sides[2 * k], sides[2 * k + 1]] : [0, 0];
  });
  const outShape = shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const y: number[] = [], src: number[] = [];
  for (let o = 0; o < prod(outShape); o++) {
    let r = o, flat = 0, stride = 1, outside = false;
    for (let a = shape.length - 1; a >= 0; a--) {
      const i = (r % outShape[a]) - pads[a][0];
      r = Math.floor(r / outShape[a]);
      const s = source(mode, i, shape[a]);
      if (s < 0) outside = true;
      flat += s * stride;
      stride *= shape[a];
    }
    src.push(outside ? -1 : flat);
    y.push(outside ? value : x[flat]);
  }
  return { y, src, outShape };
}

type Factory = (p: number | number[]) => { forward(x: Tensor): Tensor; padding: number[] };
const MODULES: [string, number, Mode, number, Factory][] = [
  ['ConstantPad2d', 2, 'constant', -1.5, (p) => new nn.ConstantPad2d(p as never, -1.5)],
  ['ZeroPad2d', 2, 'constant', 0, (p) => new nn.ZeroPad2d(p as never)],
  ['ReflectionPad2d', 2, 'reflect', 0, (p) => new nn.ReflectionPad2d(p as never)],
  ['ReplicationPad2d', 2, 'replicate', 0, (p) => new nn.ReplicationPad2d(p as never)],
  ['CircularPad2d', 2, 'circular', 0, (p) => new nn.CircularPad2d(p as never)],
  ['ConstantPad3d', 3, 'constant', 2.25, (p) => new nn.ConstantPad3d(p as never, 2.25)],
  ['ZeroPad3d', 3, 'constant', 0, (p) => new nn.ZeroPad3d(p as never)],
  ['ReflectionPad3d', 3, 'reflect', 0, (p) => new nn.ReflectionPad3d(p as never)],
  ['ReplicationPad3d', 3, 'replicate', 0, (p) => new nn.ReplicationPad3d(p as never)],
  ['CircularPad3d', 3, 'circular', 0, (p) => new nn.CircularPad3d(p as never)],
];

describe(`2-D and 3-D padding modules (seed ${SEED})`, () => {
  test('every module against the direct loop: random shapes (batched and unbatched), paddings as a number or a tuple; gradients (float64 and float32)', () => {
    for (const [name, dims, mode, value, make] of MODULES)
      for (let trial = 0; trial < 6; trial++) {
        const spatial = Array.from({ length: dims }, () => rng.int(2, 5));
        const shape = [...(trial % 2 === 0 ? [rng.int(1, 2)] : []), rng.int(1, 3), ...spatial];
        // Each side within its mode's limit: reflect < size, circular <= size (the smallest axis bounds a number);
        // the constant modes also crop (a negative side, at most half the axis, so both sides together fit it).
        const limit = (n: number) => (mode === 'reflect' ? n - 1 : mode === 'circular' ? n : 4);
        const least = (n: number) => (mode === 'constant' ? -Math.floor(n / 2) : 0);
        const asNumber = trial % 3 === 0;
        const sides = asNumber
          ? new Array<number>(2 * dims).fill(rng.int(Math.max(...spatial.map(least)), Math.min(...spatial.map(limit))))
          : Array.from({ length: 2 * dims }, (_, j) => {
              const n = spatial[dims - 1 - Math.floor(j / 2)];
              return rng.int(least(n), limit(n));
            });
        const x = randomArray(rng, prod(shape));
        const msg = `${name} ${JSON.stringify(shape)} padding ${JSON.stringify(sides)}`;
        const ref = padRef(x, shape, sides, mode, value);
        tidy(() => {
          const m = make(asNumber ? sides[0] : sides);
          expect(m.padding).toEqual(sides);
          const xt = tensor(x, shape, F64).requiresGrad_();
          const y = m.forward(xt);
          expect(y.shape).toEqual(ref.outShape);
          expectExact(y.dataSync(), ref.y, msg);
          const w = randomArray(rng, y.size);
          y.backward(tensor(w, y.shape, F64));
          const g = new Array<number>(x.length).fill(0);
          ref.src.forEach((s, o) => {
            if (s >= 0) g[s] += w[o];
          });
          expectClose(xt.grad!.dataSync(), g, 1e-14, 1e-14, `${msg} gradient`);
          expectExact(m.forward(tensor(x, shape)).dataSync(), ref.y.map(Math.fround), `${msg} float32`);
        });
      }
  });

  test('settings and toString, as PyTorch names them', () => {
    expect(String(new nn.ConstantPad2d([1, 2, 3, 4], 3.5))).toBe("ConstantPad2d(padding: [1, 2, 3, 4], mode: 'constant', value: 3.5)");
    expect(String(new nn.ReflectionPad3d(2))).toBe("ReflectionPad3d(padding: [2, 2, 2, 2, 2, 2], mode: 'reflect')");
    expect(new nn.ZeroPad2d([0, 1, 2, 3]).padding).toEqual([0, 1, 2, 3]);
    // [left, right] pads the last axis, [top, bottom] the one before.
    tidy(() => expectExact(new nn.ZeroPad2d([1, 0, 0, 2]).forward(tensor([1, 2], [1, 1, 2], F64)).dataSync(), [0, 1, 2, 0, 0, 0, 0, 0, 0]));
  });

  test("errors: the input's rank, the padding tuple, reflect's padding < size, circular's <= size", () => {
    tidy(() => {
      expectAntlerError(() => new nn.ReflectionPad2d(1).forward(tensor([1, 2, 3, 4], [2, 2])), 'SHAPE_MISMATCH', /ReflectionPad2d: input has shape \[2, 2\]; expected \[C, H, W\] or \[N, C, H, W\]/);
      expectAntlerError(() => new nn.ZeroPad2d(1).forward(tensor([1, 2], [1, 1, 1, 1, 2])), 'SHAPE_MISMATCH', /expected \[C, H, W\] or \[N, C, H, W\]/);
      expectAntlerError(() => new nn.ZeroPad3d(1).forward(tensor([1, 2], [1, 2, 1])), 'SHAPE_MISMATCH', /ZeroPad3d: input has shape \[1, 2, 1\]; expected \[C, D, H, W\] or \[N, C, D, H, W\]/);
      expectAntlerError(() => new nn.ZeroPad2d([1, 2] as never), 'INVALID_ARGUMENT', /ZeroPad2d: padding must be an integer or \[left, right, top, bottom\]; got/);
      expectAntlerError(() => new nn.ReplicationPad3d([1, 2, 3, 4] as never), 'INVALID_ARGUMENT', /\[left, right, top, bottom, front, back\]/);
      expectAntlerError(() => new nn.CircularPad2d([1, 1, -1, 0]), 'INVALID_ARGUMENT', /padding \(top\) must be an integer >= 0/);
      expectAntlerError(() => new nn.ZeroPad2d([1, 1, 0.5, 0]), 'INVALID_ARGUMENT', /ZeroPad2d: padding \(top\) must be an integer \(negative crops\); got 0.5/);
      // Crops beyond the axis (PyTorch: "start (0) + length (-1) exceeds dimension size").
      expectAntlerError(() => new nn.ZeroPad2d([-2, -2, 0, 0]).forward(tensor([1, 2, 3], [1, 1, 3])), 'INVALID_ARGUMENT', /pad: paddings\[2\] = \[-2, -2\] crops 4 elements from axis 2 of size 3/);
      expectAntlerError(() => new nn.ConstantPad3d([0, 0, 0, 0, 0, 1.5], 0), 'INVALID_ARGUMENT', /padding \(back\)/);
      expectAntlerError(() => new nn.ConstantPad2d(1, NaN), 'INVALID_ARGUMENT', /value/);
      const x = tensor(randomArray(rng, 2 * 3), [1, 2, 3], F64);
      expectAntlerError(() => new nn.ReflectionPad2d([0, 0, 2, 0]).forward(x), 'INVALID_ARGUMENT', /reflect padding \[2, 0\] of axis 1 must be less than its size 2/);
      expectAntlerError(() => new nn.CircularPad2d([4, 0, 0, 0]).forward(x), 'INVALID_ARGUMENT', /circular padding/);
      // The input survives a refused call.
      expect(Array.from(x.shape)).toEqual([1, 2, 3]);
    });
  });
  test("negative padding crops (PyTorch's F.pad and ConstantPad), 'constant' only; the gradient is zero where cropped", () => {
    tidy(() => {
      // torch 1.13: F.pad(arange(6.), (-1, 2)) = [1, 2, 3, 4, 5, 0, 0]; (-2, -3) = [2]; (-6, 1) = [0]; (-3, -3) = [].
      const x = antler.arange(0, 6, 1, F64).requiresGrad_();
      expectExact(antler.pad(x, [[-1, 2]]).dataSync(), [1, 2, 3, 4, 5, 0, 0]);
      expectExact(antler.pad(x, [[-2, -3]]).dataSync(), [2]);
      expectExact(antler.pad(x, [[-6, 1]], { value: 7 }).dataSync(), [7]);
      expect(antler.pad(x, [[-3, -3]]).shape).toEqual([0]);
      antler.pad(x, [[-1, 2]], { value: 3 }).backward(tensor([1, 2, 3, 4, 5, 6, 7], [7], F64));
      expectExact(x.grad!.dataSync(), [0, 1, 2, 3, 4, 5]);
      // torch 1.13: nn.ConstantPad1d((-1, 1), 3.)(arange(6.).reshape(1, 1, 6)) = [1, 2, 3, 4, 5, 3];
      // nn.ZeroPad2d((-1, 1, 0, -1))(arange(6.).reshape(1, 2, 3)) = [[1, 2, 0]].
      expectExact(new nn.ConstantPad1d([-1, 1], 3).forward(antler.reshape(antler.arange(0, 6, 1, F64), [1, 1, 6])).dataSync(), [1, 2, 3, 4, 5, 3]);
      const z = new nn.ZeroPad2d([-1, 1, 0, -1]).forward(antler.reshape(antler.arange(0, 6, 1, F64), [1, 2, 3]));
      expect(z.shape).toEqual([1, 1, 3]);
      expectExact(z.dataSync(), [1, 2, 0]);
      // The other modes refuse a crop (PyTorch's reflect/circular crops mix the two orders); so do their modules.
      for (const mode of ['reflect', 'replicate', 'circular'] as const)
        expectAntlerError(() => antler.pad(x, [[-1, 2]], { mode }), 'INVALID_ARGUMENT', new RegExp(`integers >= 0 in mode '${mode}' \\(a negative padding, a crop, is 'constant' only\\); got an array \\[-1, 2\\]`));
      expectAntlerError(() => new nn.ReflectionPad1d([-1, 0]), 'INVALID_ARGUMENT', /padding \(left\) must be an integer >= 0/);
      expectAntlerError(() => antler.pad(x, [[-7, 2]]), 'INVALID_ARGUMENT', /crops 7 elements from axis 0 of size 6/);
      expectAntlerError(() => antler.pad(x, [[0.5, 0]]), 'INVALID_ARGUMENT', /paddings\[0\] must be \[before, after\], integers; got an array \[0.5, 0\]/);
    });
  });
});
