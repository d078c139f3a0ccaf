/**
 * Tensor creation, reading, views, copies and casts, against values built in
 * JavaScript.
 */
// helpers first: it gives jest's context Symbol.dispose before the library defines Tensor.
import { format, inspect } from 'node:util';
import { expectAntlerError, expectExact, expectNoLeaksInSuite, makeRng, nestRef, poisonCheck, prod, randomArray, randomInts, randomShape, tensorCounts, typeName } from '../helpers';
import {
  arange,
  DType,
  dispose,
  full,
  fullLike,
  memory,
  ones,
  onesLike,
  Tensor,
  tensor,
  tidy,
  zeros,
  zerosLike,
} from '../../lib';
import * as antler from '../../lib';

const rng = makeRng();
const SEED = rng.seed;
const DTYPES: DType[] = ['float32', 'float64', 'int32'];

/** What storing JS numbers in a dtype gives (int32 inputs are already integral). */
function stored(values: number[], dtype: DType): number[] {
  if (dtype === 'float32') return values.map(Math.fround);
  if (dtype === 'int32') return values.map((v) => v | 0);
  return values.slice();
}

// The count may end below the baseline (an earlier file's garbage freed by its finalizer): see expectCountsAtMost.
expectNoLeaksInSuite(tensorCounts);

describe(`creation (seed ${SEED})`, () => {
  test('typed arrays keep their dtype and values', () =>
    tidy(() => {
      const n = rng.int(1, 200);
      const f32 = new Float32Array(randomArray(rng, n, -1e3, 1e3));
      const f64 = new Float64Array(randomArray(rng, n, -1e3, 1e3));
      const i32 = new Int32Array(randomInts(rng, n, -(2 ** 31), 2 ** 31 - 1));
      for (const [arr, dtype] of [[f32, 'float32'], [f64, 'float64'], [i32, 'int32']] as const) {
        const t = tensor(arr);
        expect(t.dtype).toBe(dtype);
        expect(t.shape).toEqual([n]);
        expect(t.size).toBe(n);
        expect(t.rank).toBe(1);
        expect(t.device).toBe('cpu');
        expectExact(t.dataSync(), arr, `${dtype} seed=${SEED}`);
        expect(typeName(t.dataSync())).toBe(typeName(arr));
      }
    }));

  test('a subarray view is read from its own offset', () =>
    tidy(() => {
      const base = new Float64Array(randomArray(rng, 20));
      const view = base.subarray(5, 11);
      expectExact(tensor(view).dataSync(), Array.from(view), 'subarray');
    }));

  test('plain arrays default to float32, rounded like Math.fround', () =>
    tidy(() => {
      const vals = randomArray(rng, 17, -10, 10);
      const t = tensor(vals);
      expect(t.dtype).toBe('float32');
      expect(t.shape).toEqual([17]);
      expectExact(t.dataSync(), vals.map(Math.fround), `seed=${SEED}`);
      const d = tensor(vals, undefined, { dtype: 'float64' });
      expectExact(d.dataSync(), vals, 'float64 keeps doubles');
    }));

  test('nested arrays infer the shape', () =>
    tidy(() => {
      for (let trial = 0; trial < 10; trial++) {
        const shape = randomShape(rng, rng.int(1, 4), 1, 4);
        const dtype = rng.pick(DTYPES);
        const flat = dtype === 'int32' ? randomInts(rng, prod(shape), -1000, 1000) : randomArray(rng, prod(shape), -5, 5);
        const nested = nestRef(flat, shape) as number[];
        const t = tensor(nested, undefined, { dtype });
        expect(t.shape).toEqual(shape);
        expect(t.dtype).toBe(dtype);
        expectExact(t.dataSync(), stored(flat, dtype), `shape [${shape}] ${dtype} seed=${SEED}`);
        expect(t.arraySync()).toEqual(nestRef(stored(flat, dtype), shape));
      }
      expect(tensor([]).shape).toEqual([0]);
      expect(tensor([[], []]).shape).toEqual([2, 0]);
      // A shape regroups flat values; nested arrays must have it, but for their last level (TensorFlow.js's rule).
      expect(tensor([1, 2, 3, 4], [2, 2]).arraySync()).toEqual([[1, 2], [3, 4]]);
      expect(tensor([[1, 2, 3, 4]], [1, 2, 2]).arraySync()).toEqual([[[1, 2], [3, 4]]]);
      expect(tensor([[1, 2], [3, 4]], [2, 2]).shape).toEqual([2, 2]);
      expect(tensor(5, [1]).shape).toEqual([1]);
      expectAntlerError(() => tensor([[1, 2], [3, 4]], [1, 4]), 'SHAPE_MISMATCH', /nested arrays have shape \[2, 2\], not the given shape \[1, 4\]/);
      expectAntlerError(() => tensor([[1], 2] as never), 'SHAPE_MISMATCH', /element \[1\] is the number 2; expected an array of length 1/);
      expectAntlerError(() => tensor([1, [2]] as never), 'SHAPE_MISMATCH', /element \[1\] is an array of length 1; expected a number/);
      expectAntlerError(() => tensor([1, 2], undefined, 'int32' as never), 'INVALID_ARGUMENT', /\{ dtype: 'int32' \}/);
      expectAntlerError(() => tensor([1, 2], 'int32' as never), 'INVALID_ARGUMENT', /second argument is the shape.*\{ dtype: 'int32' \}/);
      // torch.tensor(data, dtype=…)'s habit: the options where the shape goes.
      expectAntlerError(() => tensor([1, 2], { dtype: 'int32' } as never), 'INVALID_ARGUMENT', /^tensor: the second argument is the shape; got the options \{dtype\} \(they go third: tensor\(values, undefined, \{ dtype \}\)\)$/);
      expectAntlerError(() => tensor([1, 2], { device: 'cpu', requiresGrad: true } as never), 'INVALID_ARGUMENT', /got the options \{device, requiresGrad\}/);
      // Another object is still judged as a shape.
      expectAntlerError(() => tensor([1, 2], { length: 1 } as never), 'INVALID_ARGUMENT', /shape must be an array/);
    }));

  test('a number is a scalar of shape []', () =>
    tidy(() => {
      const t = tensor(2.5);
      expect(t.shape).toEqual([]);
      expect(t.rank).toBe(0);
      expect(t.size).toBe(1);
      expect(t.item()).toBe(2.5);
      expect(t.arraySync()).toBe(2.5);
      expect(tensor(-7, undefined, { dtype: 'int32' }).item()).toBe(-7);
      expect(tensor(0.1, undefined, { dtype: 'float64' }).item()).toBe(0.1);
      expect(tensor(0.1).item()).toBe(Math.fround(0.1));
      expect(tensor(4, [1, 1]).shape).toEqual([1, 1]);
    }));

  test('an explicit shape reshapes the flat data', () =>
    tidy(() => {
      const vals = randomArray(rng, 24);
      for (const shape of [[24], [2, 12], [2, 3, 4], [1, 2, 1, 3, 4, 1]]) {
        const t = tensor(new Float64Array(vals), shape);
        expect(t.shape).toEqual(shape);
        expect(t.arraySync()).toEqual(nestRef(vals, shape));
      }
      expect(tensor(new Float32Array(0), [3, 0]).shape).toEqual([3, 0]);
    }));

  test('dtype conversion at creation: Float64Array → float32 rounds; ints → int32', () =>
    tidy(() => {
      const vals = randomArray(rng, 50, -1e6, 1e6);
      vals.push(1e-40, 3.4e38, -0.1, 16777217);
      const t = tensor(new Float64Array(vals), undefined, { dtype: 'float32' });
      expect(t.dtype).toBe('float32');
      expectExact(t.dataSync(), vals.map(Math.fround), `seed=${SEED}`);
      const ints = randomInts(rng, 30, -(2 ** 31), 2 ** 31 - 1);
      expectExact(tensor(new Float64Array(ints), undefined, { dtype: 'int32' }).dataSync(), ints, 'f64 → int32');
      const f32 = new Float32Array(randomArray(rng, 9));
      expectExact(tensor(f32, undefined, { dtype: 'float64' }).dataSync(), Array.from(f32), 'f32 → f64');
    }));

  test('zeros / ones / full', () =>
    tidy(() => {
      for (const dtype of DTYPES) {
        const shape = randomShape(rng, rng.int(0, 4), 0, 5);
        const n = prod(shape);
        const z = zeros(shape, { dtype });
        const o = ones(shape, { dtype });
        const v = dtype === 'int32' ? rng.int(-1e9, 1e9) : rng.uniform(-1e5, 1e5);
        const fl = full(shape, v, { dtype });
        for (const t of [z, o, fl]) {
          expect(t.shape).toEqual(shape);
          expect(t.dtype).toBe(dtype);
        }
        const msg = `${dtype} [${shape}] seed=${SEED}`;
        expectExact(z.dataSync(), new Array(n).fill(0), msg);
        expectExact(o.dataSync(), new Array(n).fill(1), msg);
        expectExact(fl.dataSync(), new Array(n).fill(dtype === 'float32' ? Math.fround(v) : v), msg);
      }
      expect(zeros([3]).dtype).toBe('float32');
      expectExact(full([2], NaN).dataSync(), [NaN, NaN], 'full NaN');
      expectExact(full([2], -Infinity, { dtype: 'float64' }).dataSync(), [-Infinity, -Infinity], 'full -Inf');
    }));

  test('an empty shape with a huge dim is accepted whatever the dim order', () =>
    tidy(() => {
      // Zero elements is under the 2^40 limit; the JavaScript check accepts both orders.
      const shapes = [[0, 2 ** 41], [2 ** 41, 0], [3, 2 ** 40, 0]];
      const got = shapes.map((shape) => {
        try {
          return zeros(shape).shape;
        } catch (e) {
          return `${(e as Error).name}: ${(e as Error).message}`;
        }
      });
      expect(got).toEqual(shapes);
    }));

  test('zerosLike / onesLike / fullLike copy shape and dtype', () =>
    tidy(() => {
      for (const dtype of DTYPES) {
        const src = full([2, 3], 5, { dtype });
        const z = zerosLike(src);
        const o = onesLike(src);
        expect([z.shape, z.dtype, z.device]).toEqual([[2, 3], dtype, 'cpu']);
        expect([o.shape, o.dtype]).toEqual([[2, 3], dtype]);
        expectExact(z.dataSync(), [0, 0, 0, 0, 0, 0], dtype);
        expectExact(o.dataSync(), [1, 1, 1, 1, 1, 1], dtype);
        // fullLike (torch.full_like), and options that override dtype (as torch's *_like(dtype=...)).
        const f = fullLike(src, 7);
        expect([f.shape, f.dtype]).toEqual([[2, 3], dtype]);
        expectExact(f.dataSync(), [7, 7, 7, 7, 7, 7], dtype);
        const g = fullLike(src, -2, { dtype: 'float64', requiresGrad: true });
        expect([g.dtype, g.requiresGrad]).toEqual(['float64', true]);
        expect(zerosLike(src, { dtype: 'int32' }).dtype).toBe('int32');
      }
      expectAntlerError(() => fullLike(full([2], 1, { dtype: 'int32' }), 2.5), 'INVALID_ARGUMENT', /^fullLike: the value 2\.5 is not an int32/);
      expectAntlerError(() => fullLike(full([2], 1), NaN, { dtype: 'int32' }), 'INVALID_ARGUMENT', /^fullLike: the value NaN is not an int32/);
      expectAntlerError(() => fullLike(full([2], 1), '3' as never), 'INVALID_ARGUMENT', /^fullLike: value must be a number; got '3'$/);
      expectAntlerError(() => zerosLike(full([2], 1), { dtyp: 'int32' } as never), 'INVALID_ARGUMENT', /^zerosLike: unknown option 'dtyp'/);
    }));
});

describe(`arange (seed ${SEED})`, () => {
  /** Independent reference: step from start while strictly before stop. */
  function arangeRef(start: number, stop: number, step: number): number[] {
    const out: number[] = [];
    for (let i = 0; ; i++) {
      const v = start + i * step;
      if (step > 0 ? v >= stop : v <= stop) break;
      out.push(v);
    }
    return out;
  }

  test('arange(n) counts 0..n-1', () =>
    tidy(() => {
      for (const n of [0, 1, 7, rng.int(2, 1000)]) {
        const t = arange(n);
        expect(t.dtype).toBe('float32');
        expectExact(t.dataSync(), Array.from({ length: n }, (_, i) => i), `n=${n}`);
      }
      expectExact(arange(5, undefined, 1, { dtype: 'int32' }).dataSync(), [0, 1, 2, 3, 4], 'int32');
      expect(arange(-3).shape).toEqual([0]);
    }));

  test('start, stop, step incl. negative and fractional steps', () =>
    tidy(() => {
      const cases: [number, number, number][] = [
        [2, 11, 3],
        [10, 0, -1],
        [10, -3, -4],
        [0, 1, 0.25],
        [1, -1, -0.5],
        [-2.5, 3.5, 1.5],
        [0, 0.9, 0.1],
        [5, 5, 1],
        [5, 0, 1],
        [0, 5, -1],
      ];
      for (let i = 0; i < 4; i++) {
        const start = rng.int(-50, 50) / 4;
        const step = (rng.int(1, 12) / 4) * (rng.next() < 0.5 ? -1 : 1);
        cases.push([start, start + step * rng.int(0, 40) + step / 2, step]);
      }
      for (const [a, b, s] of cases) {
        const ref = arangeRef(a, b, s);
        const msg = `arange(${a}, ${b}, ${s}) seed=${SEED}`;
        expectExact(arange(a, b, s, { dtype: 'float64' }).dataSync(), ref, msg);
        expectExact(arange(a, b, s).dataSync(), ref.map(Math.fround), msg);
      }
      expectExact(arange(-4, 7, 3, { dtype: 'int32' }).dataSync(), [-4, -1, 2, 5], 'int32');
      expectExact(arange(0, 5.5, 2, { dtype: 'int32' }).dataSync(), [0, 2, 4], 'int32 fractional stop');
    }));
});

describe(`reading (seed ${SEED})`, () => {
  test('dataSync returns a copy; data() resolves to the same values', async () => {
    const vals = randomArray(rng, 33);
    const t = tensor(new Float64Array(vals));
    const d = t.dataSync();
    d[0] = 12345;
    expectExact(t.dataSync(), vals, 'dataSync copy');
    const async = await t.data();
    expect(typeName(async)).toBe('Float64Array');
    expectExact(async, vals, 'data()');
    expect(await t.array()).toEqual(vals);
    const e = zeros([0]);
    expect((await e.data()).length).toBe(0);
    dispose([t, e]);
  });

  test('data() resolves to the values at the call, not those of a later in-place write', async () => {
    const before = randomArray(rng, 4096), after = randomArray(rng, 4096);
    const t = tensor(new Float32Array(before));
    const src = tensor(new Float32Array(after));
    const pending = t.data();
    t.assign(src);
    t.dispose();
    expectExact(await pending, Float32Array.from(before), 'data() before assign');
    src.dispose();
  });

  test('arraySync nests row-major; item() reads one element', () =>
    tidy(() => {
      const shape = [2, 3, 4];
      const vals = randomInts(rng, 24, -50, 50);
      const t = tensor(new Int32Array(vals), shape);
      expect(t.arraySync()).toEqual(nestRef(vals, shape));
      expect(tensor([[[9]]]).item()).toBe(9);
      expect(zeros([2, 0]).arraySync()).toEqual([[], []]);
    }));

  test('toString summarises only above 64 values, and only axes longer than 6 (PyTorch edgeitems=3)', () =>
    tidy(() => {
      // Reference: PyTorch's summary rule written out (threshold 64 here, edgeitems 3): when the tensor
      // has more than 64 elements, each axis longer than 2·3 shows its first 3 and last 3 entries.
      const ref = (shape: number[], vals: number[]): string => {
        const summarise = vals.length > 64;
        const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
        const show = (dim: number, off: number): string => {
          if (dim === shape.length) return String(vals[off]);
          const idx = Array.from({ length: shape[dim] }, (_, i) => i);
          const parts = summarise && shape[dim] > 6 ? [...idx.slice(0, 3).map((i) => show(dim + 1, off + i * strides[dim])), '...', ...idx.slice(-3).map((i) => show(dim + 1, off + i * strides[dim]))] : idx.map((i) => show(dim + 1, off + i * strides[dim]));
          return `[${parts.join(',')}]`;
        };
        return show(0, 0);
      };
      for (const shape of [[64], [8, 8], [65], [6, 11], [11, 6], [2, 6, 6], [7, 7], [4, 4, 4], [3, 22]]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const vals = randomInts(rng, n, -99, 99);
        const t = tensor(new Int32Array(vals), shape);
        expect(t.toString()).toBe(`Tensor(shape=[${shape.join(', ')}], dtype=int32, device=cpu, values=${ref(shape, vals)})`);
      }
      // Written out by hand: exactly 64 values are all shown; a 6-long axis of a 66-value tensor too.
      expect(arange(0, 64, 1, { dtype: 'int32' }).toString()).toBe(`Tensor(shape=[64], dtype=int32, device=cpu, values=[${Array.from({ length: 64 }, (_, i) => i).join(',')}])`);
      expect(arange(0, 66, 1, { dtype: 'int32' }).reshape([6, 11]).toString()).toBe(
        'Tensor(shape=[6, 11], dtype=int32, device=cpu, values=[[0,1,2,...,8,9,10],[11,12,13,...,19,20,21],[22,23,24,...,30,31,32],[33,34,35,...,41,42,43],[44,45,46,...,52,53,54],[55,56,57,...,63,64,65]])',
      );
    }));

  test('item() refuses a tensor that is not one element (an empty one too), naming its size', () =>
    tidy(() => {
      expectAntlerError(() => zeros([0]).item(), 'SHAPE_MISMATCH', /item: the tensor has 0 elements \(shape \[0\]\); expected exactly 1/);
      expectAntlerError(() => zeros([2, 0, 3]).item(), 'SHAPE_MISMATCH', /has 0 elements/);
      expectAntlerError(() => zeros([2]).item(), 'SHAPE_MISMATCH', /has 2 elements/);
      const v = rng.uniform(-5, 5);
      expect(tensor([[v]], undefined, { dtype: 'float64' }).item()).toBe(v);
    }));

  test('a disposed tensor: every read throws DISPOSED naming the method called, and toString says disposed', async () => {
    for (const shape of [[2, 3], [3, 2 ** 31, 0]]) {
      const t = zeros(shape);
      t.dispose();
      const where = `shape \\[${shape.join(', ')}\\], float32`;
      for (const [name, call] of [
        ['dataSync', () => t.dataSync()],
        ['arraySync', () => t.arraySync()],
        ['item', () => t.item()],
        ['reshape', () => t.reshape([-1])],
        ['clone', () => t.clone()],
        ['cast', () => t.cast('float64')],
      ] as [string, () => unknown][])
        expectAntlerError(call, 'DISPOSED', new RegExp(`^${name}: the tensor \\(${where}\\) has been disposed`));
      for (const [name, call] of [['data', () => t.data()], ['array', () => t.array()]] as [string, () => Promise<unknown>][]) {
        const err = await call().then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(antler.AntlerError);
        expect([(err as antler.AntlerError).code, (err as antler.AntlerError).message]).toEqual(['DISPOSED', expect.stringMatching(new RegExp(`^${name}: the tensor \\(${where}\\) has been disposed`))]);
      }
      expect(t.toString()).toBe(`Tensor(shape=[${shape.join(', ')}], dtype=float32, device=cpu, disposed)`);
    }
  });

  test('toString of an empty tensor nests its empty rows as arraySync does', () =>
    tidy(() => {
      expect(zeros([0]).toString()).toBe('Tensor(shape=[0], dtype=float32, device=cpu, values=[])');
      expect(zeros([2, 0]).toString()).toBe('Tensor(shape=[2, 0], dtype=float32, device=cpu, values=[[],[]])');
      expect(zeros([2, 3, 0], { dtype: 'int32' }).toString()).toBe('Tensor(shape=[2, 3, 0], dtype=int32, device=cpu, values=[[[],[],[]],[[],[],[]]])');
      expect(zeros([0, 3]).toString()).toBe('Tensor(shape=[0, 3], dtype=float32, device=cpu, values=[])');
    }));

  test('toString shows shape, dtype, device and small values', () =>
    tidy(() => {
      const t = tensor([[1, 2], [3, 4]], undefined, { dtype: 'int32' });
      expect(t.toString()).toBe('Tensor(shape=[2, 2], dtype=int32, device=cpu, values=[[1,2],[3,4]])');
      // Above 64 values, the first and last 3 of each axis longer than 6 (PyTorch's summary).
      expect(arange(0, 100).toString()).toBe('Tensor(shape=[100], dtype=float32, device=cpu, values=[0,1,2,...,97,98,99])');
      expect(arange(0, 80, 1, { dtype: 'int32' }).reshape([8, 10]).toString()).toBe(
        'Tensor(shape=[8, 10], dtype=int32, device=cpu, values=[[0,1,2,...,7,8,9],[10,11,12,...,17,18,19],[20,21,22,...,27,28,29],...,[50,51,52,...,57,58,59],[60,61,62,...,67,68,69],[70,71,72,...,77,78,79]])',
      );
      expect(arange(0, 70).reshape([2, 35, 1]).toString()).toBe(
        'Tensor(shape=[2, 35, 1], dtype=float32, device=cpu, values=[[[0],[1],[2],...,[32],[33],[34]],[[35],[36],[37],...,[67],[68],[69]]])',
      );
      // float32 with the fewest digits that read back as the same float32; float64 as JavaScript writes it.
      const v = rng.uniform(-10, 10);
      const shown = Number(/values=\[(.*)\]/.exec(tensor([v]).toString())![1]);
      expect(Math.fround(shown)).toBe(Math.fround(v));
      expect(String(shown).replace(/^-/, '').replace('.', '').replace(/^0+/, '').length).toBeLessThanOrEqual(9);
      expect(tensor([0.1, 1 / 3]).toString()).toBe('Tensor(shape=[2], dtype=float32, device=cpu, values=[0.1,0.33333334])');
      // Some float32 values need all 9 significant digits.
      expect(tensor([10.0016165]).toString()).toBe('Tensor(shape=[1], dtype=float32, device=cpu, values=[10.0016165])');
      expect(tensor([0.1, 1 / 3], undefined, { dtype: 'float64' }).toString()).toBe('Tensor(shape=[2], dtype=float64, device=cpu, values=[0.1,0.3333333333333333])');
      // NaN and the infinities by name, -0 with its sign (JSON would write null, null, null, 0).
      expect(tensor([NaN, Infinity, -Infinity, -0, 0.5]).toString()).toBe('Tensor(shape=[5], dtype=float32, device=cpu, values=[NaN,Infinity,-Infinity,-0,0.5])');
      expect(tensor(NaN, [], { dtype: 'float64' }).toString()).toBe('Tensor(shape=[], dtype=float64, device=cpu, values=NaN)');
      const d = ones([1]);
      d.dispose();
      expect(d.toString()).toBe('Tensor(shape=[1], dtype=float32, device=cpu, disposed)');
    }));

  test("dataSync() and data() give this realm's typed arrays (jest's vm context: instanceof and toEqual work), views of the addon's copy", async () => {
    const x = tensor([1, 2]);
    const i = tensor([3], undefined, { dtype: 'int32' });
    const d = tensor([0.5], undefined, { dtype: 'float64' });
    expect(x.dataSync() instanceof Float32Array).toBe(true);
    expect(x.dataSync()).toEqual(new Float32Array([1, 2]));
    expect(await x.data()).toEqual(new Float32Array([1, 2]));
    expect(i.dataSync()).toEqual(new Int32Array([3]));
    expect(await d.data()).toEqual(new Float64Array([0.5]));
    dispose([x, i, d]);
  });

  test('console.log / util.inspect print toString(), not the internals; a disposed tensor prints without throwing', () =>
    tidy(() => {
      const t = tensor([[1, 2], [3, 4]], undefined, { dtype: 'int32', requiresGrad: false });
      expect(inspect(t)).toBe(t.toString());
      const g = tensor([1.5, -2], [2], { requiresGrad: true }).mul(2); // has a gradFn
      expect(inspect(g)).toBe('Tensor(shape=[2], dtype=float32, device=cpu, values=[3,-4])');
      const nested = inspect({ weights: [g], big: zeros([100]) });
      expect(nested).toContain('Tensor(shape=[100], dtype=float32, device=cpu, values=[0,0,0,...,0,0,0])');
      expect(nested).not.toMatch(/handle|gradFn|kept/);
      expect(format('%o', g)).toBe(g.toString());
      const d = ones([1]);
      d.dispose();
      expect(inspect(d)).toBe('Tensor(shape=[1], dtype=float32, device=cpu, disposed)');
    }));
});

describe(`views and copies (seed ${SEED})`, () => {
  test('reshape is a view with -1 inference', () =>
    tidy(() => {
      const vals = randomArray(rng, 60);
      const t = tensor(new Float64Array(vals), [3, 20]);
      const before = memory().numDataBuffers;
      for (const [req, want] of [
        [[60], [60]],
        [[-1], [60]],
        [[4, -1], [4, 15]],
        [[-1, 5, 2], [6, 5, 2]],
        [[1, 60, 1], [1, 60, 1]],
        [[2, 2, 3, -1], [2, 2, 3, 5]],
      ] as const) {
        const r = t.reshape(req);
        expect(r.shape).toEqual(want);
        expectExact(r.dataSync(), vals, `reshape [${req}]`);
      }
      expect(memory().numDataBuffers).toBe(before);
      expect(tensor(3).reshape([1, 1]).shape).toEqual([1, 1]);
      expect(tensor([3]).reshape([]).shape).toEqual([]);
      expect(zeros([0, 4]).reshape([-1, 2]).shape).toEqual([0, 2]);
    }));

  test('clone is independent and equal', () =>
    tidy(() => {
      for (const dtype of DTYPES) {
        const vals = dtype === 'int32' ? randomInts(rng, 10, -9, 9) : randomArray(rng, 10);
        const t = tensor(vals, [2, 5], { dtype });
        const c = t.clone();
        expect([c.shape, c.dtype]).toEqual([[2, 5], dtype]);
        t.dispose();
        expectExact(c.dataSync(), stored(vals, dtype), `clone ${dtype}`);
      }
    }));

  test("to('cpu') copies", () =>
    tidy(() => {
      const vals = randomArray(rng, 12);
      const t = tensor(new Float32Array(vals), [3, 4]);
      const c = t.to('cpu');
      expect([c.shape, c.dtype, c.device]).toEqual([[3, 4], 'float32', 'cpu']);
      expect(c).not.toBe(t);
      t.dispose();
      expectExact(c.dataSync(), vals.map(Math.fround), 'to cpu');
    }));

  test('cast between every dtype pair', () =>
    tidy(() => {
      const src: Record<DType, number[]> = {
        float32: [...randomArray(rng, 40, -1e4, 1e4), 2.5, -2.5, 0.999, -0.999, 0, 16777216].map(Math.fround),
        float64: [...randomArray(rng, 40, -2e9, 2e9), 0.1, -1.9, 3.0000000001, 2147483647.9, -2147483648.9],
        int32: [...randomInts(rng, 40, -(2 ** 31), 2 ** 31 - 1), 16777217, -16777217, 2147483647, -2147483648],
      };
      for (const from of DTYPES)
        for (const to of DTYPES) {
          const t = tensor(src[from], undefined, { dtype: from });
          const c = t.cast(to);
          expect([c.shape, c.dtype]).toEqual([[src[from].length], to]);
          const want = src[from].map((v) => (to === 'float32' ? Math.fround(v) : to === 'int32' ? Math.trunc(v) : v));
          expectExact(c.dataSync(), want, `cast ${from} → ${to} seed=${SEED}`);
        }
      expect(zeros([0]).cast('int32').shape).toEqual([0]);
    }));

  test('cast to int32: out-of-range values and infinities saturate to the int32 range, NaN becomes 0 (as documented)', () =>
    tidy(() => {
      // Reference: the documented rule written out (truncate toward zero; clamp to [-2^31, 2^31 - 1]; NaN → 0).
      const ref = (v: number): number => (Number.isNaN(v) ? 0 : v >= 2 ** 31 - 1 ? 2 ** 31 - 1 : v <= -(2 ** 31) ? -(2 ** 31) : Math.trunc(v));
      const special = [NaN, Infinity, -Infinity, 3e9, -3e9, 2 ** 31, -(2 ** 31) - 1, 1e30, -1e30, 0.7, -0.7, 2147483647.5, -2147483648.5];
      for (const from of ['float32', 'float64'] as const) {
        const extra = randomArray(rng, 20, -1e12, 1e12);
        const vals = [...special, ...extra].map((v) => (from === 'float32' ? Math.fround(v) : v));
        const c = tensor(vals, undefined, { dtype: from }).cast('int32');
        expect(c.dtype).toBe('int32');
        expectExact(c.dataSync(), vals.map(ref), `cast ${from} → int32 seed=${SEED}`);
      }
    }));

  test('using / Symbol.dispose disposes at scope end', () => {
    const before = memory().numTensors;
    let escaped: Tensor;
    {
      using t = ones([4]);
      escaped = t;
      expect(memory().numTensors).toBe(before + 1);
    }
    expect(escaped.isDisposed).toBe(true);
    expect(memory().numTensors).toBe(before);
    const u = zeros([2]);
    u[Symbol.dispose]();
    expect(u.isDisposed).toBe(true);
    expect(memory().numTensors).toBe(before);
    // Modules and optimizers too.
    let layer: antler.nn.Linear;
    {
      using m = new antler.nn.Linear(3, 2);
      using opt = new antler.optim.Adam(m.parameters());
      layer = m;
      tidy(() => m.forward(ones([1, 3])).sum().backward());
      opt.step();
      expect(memory().numTensors).toBeGreaterThan(before);
    }
    expect(layer.weight.isDisposed).toBe(true);
    expect(memory().numTensors).toBe(before);
  });

  test('outputs are fully written (poison check)', () =>
    tidy(() => {
      const shape = randomShape(rng, 3, 1, 9);
      for (const t of [zeros(shape), ones(shape, { dtype: 'float64' }), full(shape, 2), arange(prod(shape), undefined, 1, { dtype: 'float64' }), tensor(randomArray(rng, prod(shape)), shape).cast('float64')])
        poisonCheck(t.dataSync(), `[${shape}]`);
    }));
});

describe(`op methods (seed ${SEED})`, () => {
  // Each op method is the function of the same name with the tensor first: the functions are tested against
  // references elsewhere, so here every method must give the function's result bit for bit, with the
  // arguments passed through (non-default ones, so a dropped or swapped argument shows), and the same gradient.
  type Result = Tensor | Tensor[] | { values: Tensor; indices: Tensor } | boolean;
  const flat = (r: Result): Tensor[] => (typeof r === 'boolean' ? [] : r instanceof Tensor ? [r] : Array.isArray(r) ? r : [r.values, r.indices]);
  function cases(x: Tensor, y: Tensor, mask: Tensor, idx: Tensor): [string, () => Result, () => Result][] {
    const a = antler;
    // Square matrices from x for the linalg methods: x[:, :3] + 3·I (invertible), and its M Mᵀ + I (positive-definite).
    const square = () => a.add(x.slice([0, 0], [3, 3]), a.mul(a.eye(3, 3, { dtype: x.dtype as DType }), 3));
    const spd = () => a.add(a.matmul(square(), square(), { transposeB: true }), a.eye(3, 3, { dtype: x.dtype as DType }));
    const perm = tensor([2, 0, 1], [3], { dtype: 'int32' });
    const vec = x.slice([0, 0], [1, -1]).reshape([-1]);
    const vec2 = y.slice([1, 0], [1, -1]).reshape([-1]);
    return [
      ['equal', () => x.equal(y), () => a.equal(x, y)],
      ['notEqual', () => x.notEqual(0.25), () => a.notEqual(x, 0.25)],
      ['less', () => x.less(y), () => a.less(x, y)],
      ['lessEqual', () => x.lessEqual(y), () => a.lessEqual(x, y)],
      ['greater', () => x.greater(y), () => a.greater(x, y)],
      ['greaterEqual', () => x.greaterEqual(0), () => a.greaterEqual(x, 0)],
      ['remainder', () => x.remainder(y), () => a.remainder(x, y)],
      ['floorDivide', () => x.floorDivide(0.3), () => a.floorDivide(x, 0.3)],
      ['reciprocal', () => x.reciprocal(), () => a.reciprocal(x)],
      ['softplus', () => x.softplus(), () => a.softplus(x)],
      ['gelu', () => x.gelu({ approximate: 'tanh' }), () => a.gelu(x, { approximate: 'tanh' })],
      ['silu', () => x.silu(), () => a.silu(x)],
      ['leakyRelu', () => x.leakyRelu(0.2), () => a.leakyRelu(x, 0.2)],
      ['elu', () => x.elu(0.7), () => a.elu(x, 0.7)],
      ['logSigmoid', () => x.logSigmoid(), () => a.logSigmoid(x)],
      ['broadcastTo', () => x.reshape([1, 3, 4]).broadcastTo([2, -1, 4]), () => a.broadcastTo(x.reshape([1, 3, 4]), [2, -1, 4])],
      ['variance', () => x.variance(1, true, { correction: 0 }), () => a.variance(x, 1, true, { correction: 0 })],
      ['std', () => x.std(0), () => a.std(x, 0)],
      ['logSumExp', () => x.logSumExp(-1, true), () => a.logSumExp(x, -1, true)],
      ['any', () => x.greater(0.5).any(1), () => a.any(a.greater(x, 0.5), 1)],
      ['all', () => x.greater(-0.5).all(0, true), () => a.all(a.greater(x, -0.5), 0, true)],
      ['norm', () => x.norm(3, 1, true), () => a.norm(x, 3, 1, true)],
      ['maskedFill', () => x.maskedFill(mask, 7), () => a.maskedFill(x, mask, 7)],
      ['tril', () => x.tril(1), () => a.tril(x, 1)],
      ['triu', () => x.triu(-1), () => a.triu(x, -1)],
      ['isNaN', () => x.log().isNaN(), () => a.isNaN(a.log(x))],
      ['isInf', () => x.reciprocal().mul(1e-300).reciprocal().isInf(), () => a.isInf(a.reciprocal(a.mul(a.reciprocal(x), 1e-300)))],
      ['isFinite', () => x.log().isFinite(), () => a.isFinite(a.log(x))],
      ['logicalAnd', () => x.logicalAnd(mask.cast(x.dtype)), () => a.logicalAnd(x, mask.cast(x.dtype))],
      ['logicalOr', () => mask.logicalOr(x.greater(0.5).cast('int32')), () => a.logicalOr(mask, a.greater(x, 0.5).cast('int32'))],
      ['logicalXor', () => x.greater(0).logicalXor(y.greater(0)), () => a.logicalXor(a.greater(x, 0), a.greater(y, 0))],
      ['logicalNot', () => x.greater(0).logicalNot(), () => a.logicalNot(a.greater(x, 0))],
      ['isClose', () => x.isClose(y, { atol: 0.5, rtol: 0 }), () => a.isClose(x, y, { atol: 0.5, rtol: 0 })],
      ['allClose', () => x.allClose(x.add(1e-3), { atol: 2e-3 }), () => a.allClose(x, a.add(x, 1e-3), { atol: 2e-3 })],
      ['dot', () => vec.dot(vec2), () => a.dot(vec, vec2)],
      ['outer', () => vec.outer(vec2), () => a.outer(vec, vec2)],
      ['gather', () => x.gather(1, idx), () => a.gather(x, 1, idx)],
      ['indexSelect', () => x.indexSelect(0, tensor([2, 0, 2], [3], { dtype: 'int32' })), () => a.indexSelect(x, 0, tensor([2, 0, 2], [3], { dtype: 'int32' }))],
      ['topk', () => x.topk(2, { axis: 0, largest: false }), () => a.topk(x, 2, { axis: 0, largest: false })],
      ['select', () => x.select(1, -2), () => a.select(x, 1, -2)],
      ['narrow', () => x.narrow(1, -3, 2), () => a.narrow(x, 1, -3, 2)],
      ['split', () => x.split([1, 3], 1), () => a.split(x, [1, 3], 1)],
      ['chunk', () => x.chunk(2, 1), () => a.chunk(x, 2, 1)],
      ['unstack', () => x.unstack(1), () => a.unstack(x, 1)],
      ['tile', () => x.tile([2, 1]), () => a.tile(x, [2, 1])],
      ['roll', () => x.roll([1, -1], [0, 1]), () => a.roll(x, [1, -1], [0, 1])],
      ['pad', () => x.pad([[1, 0], [0, 2]], { value: 3 }), () => a.pad(x, [[1, 0], [0, 2]], { value: 3 })],
      ['mm', () => x.mm(y.transpose()), () => a.mm(x, y.transpose())],
      ['bmm', () => x.reshape([3, 2, 2]).bmm(y.reshape([3, 2, 2])), () => a.bmm(x.reshape([3, 2, 2]), y.reshape([3, 2, 2]))],
      ['mv', () => x.mv(vec2), () => a.mv(x, vec2)],
      ['addmm', () => vec.slice([0], [3]).addmm(x, y.transpose(), { beta: 2 }), () => a.addmm(vec.slice([0], [3]), x, y.transpose(), { beta: 2 })],
      ['addmv', () => vec.slice([0], [3]).addmv(x, vec2, { alpha: 3 }), () => a.addmv(vec.slice([0], [3]), x, vec2, { alpha: 3 })],
      ['baddbmm', () => y.reshape([3, 2, 2]).baddbmm(x.reshape([3, 2, 2]), x.reshape([3, 2, 2])), () => a.baddbmm(y.reshape([3, 2, 2]), x.reshape([3, 2, 2]), x.reshape([3, 2, 2]))],
      ['addbmm', () => vec2.reshape([2, 2]).addbmm(x.reshape([3, 2, 2]), y.reshape([3, 2, 2])), () => a.addbmm(vec2.reshape([2, 2]), x.reshape([3, 2, 2]), y.reshape([3, 2, 2]))],
      ['kron', () => x.kron(vec2), () => a.kron(x, vec2)],
      ['cross', () => x.slice([0, 0], [-1, 3]).cross(y.slice([0, 1], [-1, 3])), () => a.cross(x.slice([0, 0], [-1, 3]), y.slice([0, 1], [-1, 3]))],
      ['amax', () => x.amax(1, true), () => a.amax(x, 1, true)],
      ['amin', () => x.amin(0), () => a.amin(x, 0)],
      ['aminmax', () => Object.values(x.aminmax(1)), () => Object.values(a.aminmax(x, 1))],
      ['nansum', () => x.nansum(0, true), () => a.nansum(x, 0, true)],
      ['nanmean', () => x.nanmean(1), () => a.nanmean(x, 1)],
      ['countNonzero', () => x.greater(0).countNonzero(1), () => a.countNonzero(a.greater(x, 0), 1)],
      ['logcumsumexp', () => x.logcumsumexp(1), () => a.logcumsumexp(x, 1)],
      ['cummax', () => x.cummax(0), () => a.cummax(x, 0)],
      ['cummin', () => x.cummin(-1), () => a.cummin(x, -1)],
      ['diff', () => x.diff({ n: 2, axis: 0 }), () => a.diff(x, { n: 2, axis: 0 })],
      ['median', () => x.median(1), () => a.median(x, 1)],
      ['nanmedian', () => x.nanmedian(0, true), () => a.nanmedian(x, 0, true)],
      ['kthvalue', () => x.kthvalue(3, 1), () => a.kthvalue(x, 3, 1)],
      ['mode', () => x.mode(0), () => a.mode(x, 0)],
      ['quantile', () => x.quantile(0.3, { axis: 1 }), () => a.quantile(x, 0.3, { axis: 1 })],
      ['nanquantile', () => x.nanquantile(0.6, { interpolation: 'midpoint' }), () => a.nanquantile(x, 0.6, { interpolation: 'midpoint' })],
      ['cov', () => x.cov({ correction: 0 }), () => a.cov(x, { correction: 0 })],
      ['corrcoef', () => x.corrcoef(), () => a.corrcoef(x)],
      ['histc', () => x.histc({ bins: 5 }), () => a.histc(x, { bins: 5 })],
      ['bincount', () => idx.reshape([6]).bincount({ minlength: 4 }), () => a.bincount(idx.reshape([6]), { minlength: 4 })],
      ['movedim', () => x.movedim(0, 1), () => a.movedim(x, 0, 1)],
      ['swapaxes', () => x.swapaxes(0, -1), () => a.swapaxes(x, 0, -1)],
      ['expand', () => x.unsqueeze(1).expand(3, 2, -1), () => a.expand(x.unsqueeze(1), 3, 2, -1)],
      ['repeat', () => x.repeat(2, 1, 2), () => a.repeat(x, 2, 1, 2)],
      ['repeatInterleave', () => x.repeatInterleave(2, { axis: 1 }), () => a.repeatInterleave(x, 2, { axis: 1 })],
      ['rot90', () => x.rot90(3, [1, 0]), () => a.rot90(x, 3, [1, 0])],
      ['tensorSplit', () => x.tensorSplit(3, 1), () => a.tensorSplit(x, 3, 1)],
      ['narrowCopy', () => x.narrowCopy(1, 1, 2), () => a.narrowCopy(x, 1, 1, 2)],
      ['hsplit', () => x.hsplit([1, 3]), () => a.hsplit(x, [1, 3])],
      ['vsplit', () => x.vsplit(3), () => a.vsplit(x, 3)],
      ['dsplit', () => x.reshape([3, 2, 2]).dsplit(2), () => a.dsplit(x.reshape([3, 2, 2]), 2)],
      ['unbind', () => x.unbind(1), () => a.unbind(x, 1)],
      ['moveaxis', () => x.moveaxis(1, 0), () => a.moveaxis(x, 1, 0)],
      ['diagflat', () => x.diagflat(-2), () => a.diagflat(x, -2)],
      ['floatPower', () => x.floatPower(2), () => a.floatPower(x, 2)],
      ['take', () => x.take(idx), () => a.take(x, idx)],
      ['takeAlongDim', () => x.takeAlongDim(idx, 1), () => a.takeAlongDim(x, idx, 1)],
      ['indexAdd', () => x.indexAdd(0, perm, y, { alpha: 2 }), () => a.indexAdd(x, 0, perm, y, { alpha: 2 })],
      ['indexCopy', () => x.indexCopy(0, perm, y), () => a.indexCopy(x, 0, perm, y)],
      ['indexFill', () => x.indexFill(1, perm, 0.5), () => a.indexFill(x, 1, perm, 0.5)],
      ['scatterReduce', () => x.scatterReduce(1, idx, y.slice([0, 0], [-1, 2]), 'sum'), () => a.scatterReduce(x, 1, idx, y.slice([0, 0], [-1, 2]), 'sum')],
      ['maskedSelect', () => x.maskedSelect(mask), () => a.maskedSelect(x, mask)],
      ['maskedScatter', () => x.maskedScatter(mask, y), () => a.maskedScatter(x, mask, y)],
      ['nonzero', () => mask.nonzero({ asTuple: true }), () => a.nonzero(mask, { asTuple: true })],
      ['unique', () => Object.values(idx.unique({ returnInverse: true, returnCounts: true })), () => Object.values(a.unique(idx, { returnInverse: true, returnCounts: true }))],
      ['uniqueConsecutive', () => Object.values(idx.uniqueConsecutive({ returnCounts: true })), () => Object.values(a.uniqueConsecutive(idx, { returnCounts: true }))],
      ['atan2', () => x.atan2(y), () => a.atan2(x, y)],
      ['hypot', () => x.hypot(y), () => a.hypot(x, y)],
      ['fmod', () => x.fmod(0.3), () => a.fmod(x, 0.3)],
      ['copysign', () => x.copysign(y), () => a.copysign(x, y)],
      ['xlogy', () => x.xlogy(y.abs()), () => a.xlogy(x, a.abs(y))],
      ['logaddexp', () => x.logaddexp(y), () => a.logaddexp(x, y)],
      ['logaddexp2', () => x.logaddexp2(y), () => a.logaddexp2(x, y)],
      ['lerp', () => x.lerp(y, 0.3), () => a.lerp(x, y, 0.3)],
      ['clampMin', () => x.clampMin(y), () => a.clampMin(x, y)],
      ['clampMax', () => x.clampMax(0.2), () => a.clampMax(x, 0.2)],
      ['polygamma', () => x.abs().add(0.5).polygamma(1), () => a.polygamma(1, a.add(a.abs(x), 0.5))],
      ['nanToNum', () => x.log().nanToNum({ nan: 2 }), () => a.nanToNum(a.log(x), { nan: 2 })],
      ['heaviside', () => x.heaviside(0.5), () => a.heaviside(x, 0.5)],
      ['det', () => square().det(), () => a.linalg.det(square())],
      ['slogdet', () => Object.values(square().slogdet()), () => Object.values(a.linalg.slogdet(square()))],
      ['logdet', () => spd().logdet(), () => a.linalg.logdet(spd())],
      ['inverse', () => square().inverse(), () => a.linalg.inv(square())],
      ['cholesky', () => spd().cholesky(true), () => a.linalg.cholesky(spd(), { upper: true })],
      ['matrixPower', () => square().matrixPower(-2), () => a.linalg.matrixPower(square(), -2)],
      ['qr', () => Object.values(x.qr(false)), () => Object.values(a.linalg.qr(x, { mode: 'complete' }))],
      ['pinverse', () => x.pinverse(1e-10), () => a.linalg.pinv(x, { atol: 0, rtol: 1e-10 })],
    ];
  }
  const make = (dtype: DType) => {
    const x = tensor(randomArray(rng, 12), [3, 4], { dtype, requiresGrad: true });
    const y = tensor(randomArray(rng, 12), [3, 4], { dtype });
    const mask = tensor(randomInts(rng, 12, 0, 1), [3, 4], { dtype: 'int32' });
    const idx = tensor(randomInts(rng, 6, 0, 3), [3, 2], { dtype: 'int32' });
    return { x, y, mask, idx };
  };

  test.each(['float32', 'float64'] as DType[])('each method gives the function of the same name, value and gradient (%s)', (dtype) =>
    tidy(() => {
      const { x, y, mask, idx } = make(dtype);
      const list = cases(x, y, mask, idx);
      for (const [name, method, fn] of list) {
        const m = method();
        const f = fn();
        if (typeof m === 'boolean') {
          expect(m).toBe(f);
          continue;
        }
        const ms = flat(m);
        const fs = flat(f);
        expect(ms.length).toBe(fs.length);
        ms.forEach((t, i) => {
          expect(t.shape).toEqual(fs[i].shape);
          expect(t.dtype).toBe(fs[i].dtype);
          expectExact(t.dataSync(), fs[i].dataSync(), `${name} [${i}]`);
        });
        // The gradient of Σ w·result through the method equals that through the function.
        const value = ms[0];
        if (!value.requiresGrad) continue;
        const w = tensor(randomArray(rng, value.size), value.shape, { dtype });
        antler.sum(antler.mul(ms[0], w)).backward();
        const gm = x.grad!.dataSync();
        x.grad = null;
        antler.sum(antler.mul(fs[0], w)).backward();
        expectExact(gm, x.grad!.dataSync(), `${name}'s gradient`);
        x.grad = null;
      }
    }));

  test('every Tensor method named as an exported function is covered: those not in the table are the plain unary ops, each equal to its function', () =>
    tidy(() => {
      const { x, y, mask, idx } = make('float64');
      const covered = new Set(cases(x, y, mask, idx).map(([name]) => name));
      const isOpMethod = (k: string) =>
        k !== 'constructor' && k !== 'toString' && typeof Object.getOwnPropertyDescriptor(Tensor.prototype, k)!.value === 'function' && typeof (antler as Record<string, unknown>)[k] === 'function';
      const methods = Object.getOwnPropertyNames(Tensor.prototype).filter(isOpMethod);
      // Those tested in their own files (the arithmetic, unary ops, reductions, shape and sort methods).
      // x.unfold(axis, size, step) is torch.Tensor.unfold (signal.unfold, test/cpu/signal.test.ts), not the
      // top-level unfold (torch.nn.functional.unfold's im2col) that shares its name.
      const elsewhere = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow', 'neg', 'matmul', 'clamp', 'cast', 'clone', 'reshape', 'transpose', 'permute', 'slice', 'flip', 'squeeze', 'unsqueeze', 'expandDims', 'flatten', 'softmax', 'logSoftmax', 'sum', 'prod', 'mean', 'max', 'min', 'cumsum', 'cumprod', 'argmax', 'argmin', 'sort', 'argsort', 'dispose', 'unfold'];
      const unaryNames = methods.filter((k) => !covered.has(k) && !elsewhere.includes(k));
      // What remains must be the plain unary ops (x.exp() = exp(x)), checked here in one go.
      for (const name of unaryNames) {
        const m = (x as unknown as Record<string, () => Tensor>)[name]();
        const f = (antler as unknown as Record<string, (t: Tensor) => Tensor>)[name](x);
        expectExact(m.dataSync(), f.dataSync(), name);
      }
      expect(methods.length).toBeGreaterThan(covered.size + 40);
      for (const name of ['greater', 'std', 'norm', 'topk', 'gather', 'maskedFill', 'logSumExp', 'exp', 'tanh']) expect(methods).toContain(name);
    }));
});
