/**
 * Bad calls, table-driven: each must throw AntlerError with the right code,
 * through the public API and straight into the native addon (bypassing the
 * JavaScript checks), and none may damage tensors that already exist.
 */
import * as api from '../../lib';
import {
  AntlerError,
  arange,
  backends,
  dispose,
  ErrorCode,
  full,
  matmul,
  memory,
  ones,
  rand,
  randn,
  setNumThreads,
  setSeed,
  Tensor,
  tensor,
  tidy,
  zeros,
} from '../../lib';
import { native } from '../../lib/native';
import { describe as describeValue } from '../../lib/validate';
import { addonPath, expectCountsAtMost, expectExact, failedTestCount, makeRng, randomArray, randomInts, StorageCounts, storageCounts, thrownAntlerError } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;

interface BadCall {
  name: string;
  code: ErrorCode;
  call: () => unknown;
}

// Tensors that must survive every bad call unchanged.
const f32vals = randomArray(rng, 12).map(Math.fround);
const f64vals = randomArray(rng, 6);
const i32vals = randomInts(rng, 6, -1000, 1000);
let f32: Tensor;
let f64: Tensor;
let i32: Tensor;
let dead: Tensor;
let view: Tensor;
let baseline: StorageCounts;
let failuresAtStart = 0;

beforeAll(() => {
  baseline = storageCounts();
  failuresAtStart = failedTestCount();
  f32 = tensor(f32vals, [3, 4]);
  f64 = tensor(f64vals, [2, 3], { dtype: 'float64' });
  i32 = tensor(i32vals, [6], { dtype: 'int32' });
  view = f32.reshape([4, 3]);
  dead = ones([2, 2]);
  dead.dispose();
});

afterAll(() => {
  dispose([f32, f64, i32, view]);
  expectCountsAtMost(storageCounts(), baseline, failuresAtStart);
});

const cudaAvailable = backends().cuda.available;

const apiCalls: BadCall[] = [
  // shapes
  { name: 'matmul inner dims differ', code: 'SHAPE_MISMATCH', call: () => matmul(f32, f32) },
  { name: 'matmul batch dims do not broadcast', code: 'SHAPE_MISMATCH', call: () => matmul(zeros([2, 3, 4]), zeros([3, 4, 5])) },
  { name: 'matmul of a scalar', code: 'SHAPE_MISMATCH', call: () => matmul(tensor(1), f32) },
  { name: 'matmul transpose of a vector', code: 'INVALID_ARGUMENT', call: () => matmul(zeros([3]), zeros([3, 3]), { transposeA: true }) },
  { name: 'add shapes do not broadcast', code: 'SHAPE_MISMATCH', call: () => api.add(f32, zeros([3])) },
  { name: 'sub [2,3] with [3,2]', code: 'SHAPE_MISMATCH', call: () => api.sub(f64, zeros([3, 2], { dtype: 'float64' })) },
  { name: 'reshape to the wrong count', code: 'SHAPE_MISMATCH', call: () => f32.reshape([5, 2]) },
  { name: 'reshape -1 that cannot divide', code: 'SHAPE_MISMATCH', call: () => f32.reshape([-1, 5]) },
  { name: 'reshape two -1s', code: 'INVALID_ARGUMENT', call: () => f32.reshape([-1, -1]) },
  { name: 'reshape with -2', code: 'INVALID_ARGUMENT', call: () => f32.reshape([-2, -6]) },
  { name: 'reshape with 1.5', code: 'INVALID_ARGUMENT', call: () => f32.reshape([1.5, 8]) },
  { name: 'an object made from Tensor.prototype, not by the library', code: 'INVALID_ARGUMENT', call: () => api.add(Object.create(api.Tensor.prototype) as never, 1) },
  { name: 'sruRecurrenceReference without its options', code: 'INVALID_ARGUMENT', call: () => (api.sruRecurrenceReference as (...a: unknown[]) => unknown)(zeros([2, 1, 3]), null, zeros([2]), zeros([2]), null, null) },
  { name: 'linear bias of the wrong length', code: 'SHAPE_MISMATCH', call: () => api.linear(ones([2, 6]), ones([3, 6]), ones([4])) },
  { name: 'tensor data length ≠ shape', code: 'SHAPE_MISMATCH', call: () => tensor([1, 2, 3], [2, 2]) },
  { name: 'tensor typed array length ≠ shape', code: 'SHAPE_MISMATCH', call: () => tensor(new Float64Array(5), [2, 3]) },
  { name: 'ragged nested array', code: 'SHAPE_MISMATCH', call: () => tensor([[1, 2], [3]]) },
  { name: 'ragged: array where a number was', code: 'SHAPE_MISMATCH', call: () => tensor([[1, 2], 3] as unknown as number[][]) },
  { name: 'ragged: an array where a number was', code: 'SHAPE_MISMATCH', call: () => tensor([1, [2]] as unknown as number[]) },
  { name: 'nested arrays of another shape than the given one', code: 'SHAPE_MISMATCH', call: () => tensor([[1, 2], [3, 4]], [4]) },
  { name: 'a dtype string in place of the options', code: 'INVALID_ARGUMENT', call: () => zeros([2], 'int32' as never) },
  { name: 'item() on 3 elements', code: 'SHAPE_MISMATCH', call: () => zeros([3]).item() },
  // dtypes
  { name: 'an int32 sum past int32', code: 'DTYPE_MISMATCH', call: () => full([3], 2 ** 30, { dtype: 'int32' }).sum() },
  { name: 'mean of int32', code: 'DTYPE_MISMATCH', call: () => api.mean(i32) },
  { name: 'matmul int32', code: 'DTYPE_MISMATCH', call: () => matmul(zeros([2, 2], { dtype: 'int32' }), zeros([2, 2], { dtype: 'int32' })) },
  { name: 'matmul float32 @ float64', code: 'DTYPE_MISMATCH', call: () => matmul(zeros([2, 2]), zeros([2, 2], { dtype: 'float64' })) },
  { name: 'int32 to a negative integer power', code: 'INVALID_ARGUMENT', call: () => api.pow(i32, -2) },
  { name: 'randn int32', code: 'DTYPE_MISMATCH', call: () => randn([2], { dtype: 'int32' as 'float32' }) },
  { name: 'BigInt64Array values', code: 'DTYPE_MISMATCH', call: () => tensor(new BigInt64Array(2) as unknown as Float64Array) },
  // dims
  { name: 'negative dim', code: 'INVALID_ARGUMENT', call: () => zeros([2, -1]) },
  { name: 'fractional dim', code: 'INVALID_ARGUMENT', call: () => ones([2.5]) },
  { name: 'NaN dim', code: 'INVALID_ARGUMENT', call: () => full([NaN], 1) },
  { name: 'Infinity dim', code: 'INVALID_ARGUMENT', call: () => rand([Infinity]) },
  { name: 'string dim', code: 'INVALID_ARGUMENT', call: () => zeros(['3' as unknown as number]) },
  { name: 'more than 8 dims', code: 'INVALID_ARGUMENT', call: () => zeros([1, 1, 1, 1, 1, 1, 1, 1, 1]) },
  { name: 'more than 2^40 elements', code: 'INVALID_ARGUMENT', call: () => zeros([2 ** 21, 2 ** 20]) },
  { name: 'shape not an array', code: 'INVALID_ARGUMENT', call: () => zeros(3 as unknown as number[]) },
  { name: 'tensor with a bad explicit shape', code: 'INVALID_ARGUMENT', call: () => tensor([1, 2], [-2, -1]) },
  { name: 'nested deeper than 8', code: 'INVALID_ARGUMENT', call: () => tensor([[[[[[[[[1]]]]]]]]]) },
  // disposed
  { name: 'dataSync on a disposed tensor', code: 'DISPOSED', call: () => dead.dataSync() },
  { name: 'add with a disposed tensor', code: 'DISPOSED', call: () => api.add(dead, f32) },
  { name: 'add scalar to a disposed tensor', code: 'DISPOSED', call: () => dead.add(1) },
  { name: 'matmul with a disposed tensor', code: 'DISPOSED', call: () => matmul(f32, dead) },
  { name: 'reshape a disposed tensor', code: 'DISPOSED', call: () => dead.reshape([4]) },
  { name: 'to() a disposed tensor', code: 'DISPOSED', call: () => dead.to('cpu') },
  { name: 'item() of a disposed tensor', code: 'DISPOSED', call: () => dead.item() },
  { name: 'cast a disposed tensor', code: 'DISPOSED', call: () => dead.cast('float64') },
  { name: 'sum of a disposed tensor', code: 'DISPOSED', call: () => dead.sum() },
  { name: 'zerosLike of a disposed tensor', code: 'DISPOSED', call: () => api.zerosLike(dead) },
  // devices
  { name: "device 'gpu'", code: 'INVALID_ARGUMENT', call: () => zeros([2], { device: 'gpu' }) },
  { name: "to('gpu')", code: 'INVALID_ARGUMENT', call: () => f32.to('gpu') },
  { name: "device 'cuda:x'", code: 'INVALID_ARGUMENT', call: () => zeros([2], { device: 'cuda:x' }) },
  { name: "setDefaultDevice('tpu')", code: 'INVALID_ARGUMENT', call: () => api.setDefaultDevice('tpu') },
  // options
  { name: 'dtype: 5', code: 'INVALID_ARGUMENT', call: () => zeros([2], { dtype: 5 as unknown as 'float32' }) },
  { name: "dtype 'float16'", code: 'INVALID_ARGUMENT', call: () => ones([2], { dtype: 'float16' as 'float32' }) },
  { name: "cast to 'bool'", code: 'INVALID_ARGUMENT', call: () => f32.cast('bool' as 'int32') },
  { name: 'device: 3', code: 'INVALID_ARGUMENT', call: () => zeros([2], { device: 3 as unknown as string }) },
  { name: 'unknown option key', code: 'INVALID_ARGUMENT', call: () => zeros([2], { dtyp: 'float32' } as never) },
  { name: "options = 'x'", code: 'INVALID_ARGUMENT', call: () => zeros([2], 'x' as never) },
  { name: 'options = null', code: 'INVALID_ARGUMENT', call: () => rand([2], null as never) },
  { name: 'seed: -1', code: 'INVALID_ARGUMENT', call: () => rand([2], { seed: -1 }) },
  { name: 'seed: 1.5', code: 'INVALID_ARGUMENT', call: () => randn([2], { seed: 1.5 }) },
  { name: 'seed: 2^53', code: 'INVALID_ARGUMENT', call: () => rand([2], { seed: 2 ** 53 }) },
  { name: "seed: '7'", code: 'INVALID_ARGUMENT', call: () => rand([2], { seed: '7' as unknown as number }) },
  { name: 'setSeed(-3)', code: 'INVALID_ARGUMENT', call: () => setSeed(-3) },
  { name: "transposeA: 'yes'", code: 'INVALID_ARGUMENT', call: () => matmul(f32, f32, { transposeA: 'yes' as unknown as boolean }) },
  { name: 'matmul unknown option', code: 'INVALID_ARGUMENT', call: () => matmul(f32, f32, { transpose: true } as never) },
  { name: 'randn stddev < 0', code: 'INVALID_ARGUMENT', call: () => randn([2], { stddev: -1 }) },
  { name: 'randn mean NaN', code: 'INVALID_ARGUMENT', call: () => randn([2], { mean: NaN }) },
  // values
  { name: 'non-integer value for int32', code: 'INVALID_ARGUMENT', call: () => tensor([1, 2.5], undefined, { dtype: 'int32' }) },
  { name: 'out-of-range value for int32', code: 'INVALID_ARGUMENT', call: () => tensor(new Float64Array([2 ** 31]), undefined, { dtype: 'int32' }) },
  { name: 'full int32 with 0.5', code: 'INVALID_ARGUMENT', call: () => full([2], 0.5, { dtype: 'int32' }) },
  { name: 'int32 op with a number outside int32', code: 'INVALID_ARGUMENT', call: () => api.add(i32, 2 ** 31) },
  { name: 'non-number element', code: 'INVALID_ARGUMENT', call: () => tensor([1, 'a' as unknown as number]) },
  { name: 'values = a string', code: 'INVALID_ARGUMENT', call: () => tensor('abc' as never) },
  { name: 'arange step 0', code: 'INVALID_ARGUMENT', call: () => arange(0, 5, 0) },
  { name: 'arange Infinity stop', code: 'INVALID_ARGUMENT', call: () => arange(0, Infinity) },
  { name: 'arange int32 whose values pass 2^31', code: 'INVALID_ARGUMENT', call: () => arange(0, 4e9, 1.5e9, { dtype: 'int32' }) },
  { name: 'arange int32 fractional step', code: 'INVALID_ARGUMENT', call: () => arange(0, 5, 0.5, { dtype: 'int32' }) },
  { name: 'rand maxval < minval', code: 'INVALID_ARGUMENT', call: () => rand([2], { minval: 2, maxval: 1 }) },
  { name: 'rand int32 fractional maxval', code: 'INVALID_ARGUMENT', call: () => rand([2], { dtype: 'int32', maxval: 2.5 }) },
  { name: 'full value not a number', code: 'INVALID_ARGUMENT', call: () => full([2], 'x' as unknown as number) },
  { name: 'two numbers to add', code: 'INVALID_ARGUMENT', call: () => api.add(1, 2) },
  { name: 'add a plain object', code: 'INVALID_ARGUMENT', call: () => api.add(f32, {} as Tensor) },
  { name: 'setNumThreads(0)', code: 'INVALID_ARGUMENT', call: () => setNumThreads(0) },
  { name: 'setNumThreads(2.5)', code: 'INVALID_ARGUMENT', call: () => setNumThreads(2.5) },
  { name: 'tidy without a function', code: 'INVALID_ARGUMENT', call: () => api.tidy('name' as never) },
  { name: 'keep(5)', code: 'INVALID_ARGUMENT', call: () => api.keep(5 as never) },
];

if (!cudaAvailable) {
  apiCalls.push(
    { name: "to('cuda') without CUDA", code: 'CUDA_UNAVAILABLE', call: () => f32.to('cuda') },
    { name: "zeros on 'cuda' without CUDA", code: 'CUDA_UNAVAILABLE', call: () => zeros([2], { device: 'cuda' }) },
    { name: "rand on 'cuda:0' without CUDA", code: 'CUDA_UNAVAILABLE', call: () => rand([2], { device: 'cuda:0', seed: 1 }) },
    { name: "setDefaultDevice('cuda') without CUDA", code: 'CUDA_UNAVAILABLE', call: () => api.setDefaultDevice('cuda') },
  );
}

function expectAntlerError(call: () => unknown, code: ErrorCode, what: string): AntlerError {
  const thrown = thrownAntlerError(
    () =>
      // tidy() disposes whatever the call made before it threw (or returned).
      tidy(() => {
        call();
      }),
    code,
    what,
  );
  expect({ what, code: thrown.code }).toEqual({ what, code });
  expect(thrown.name).toBe('AntlerError');
  expect(thrown.message.length).toBeGreaterThan(10);
  return thrown;
}

describe(`bad calls through the API (seed ${SEED})`, () => {
  test(`the table has at least 30 distinct cases (${apiCalls.length})`, () => {
    expect(new Set(apiCalls.map((c) => c.name)).size).toBe(apiCalls.length);
    expect(apiCalls.length).toBeGreaterThanOrEqual(30);
  });

  test.each(apiCalls.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const before = memory().numTensors;
    expectAntlerError(c.call, c.code, c.name);
    expect(memory().numTensors).toBe(before);
  });

  test('data() on a disposed tensor rejects with DISPOSED', async () => {
    await expect(dead.data()).rejects.toBeInstanceOf(AntlerError);
    await expect(dead.data()).rejects.toMatchObject({ code: 'DISPOSED' });
    await expect(dead.array()).rejects.toMatchObject({ code: 'DISPOSED' });
  });

  test("instanceof AntlerError holds for another copy of antler's errors (two installs share one addon), not for look-alikes", () => {
    let Other: typeof AntlerError | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      Other = (require('../../lib/errors') as typeof import('../../lib/errors')).AntlerError;
    });
    expect(Other).not.toBe(AntlerError);
    const theirs = new Other!('SHAPE_MISMATCH', 'from the other copy');
    expect(theirs).toBeInstanceOf(AntlerError);
    expect(new AntlerError('INVALID_ARGUMENT', 'ours')).toBeInstanceOf(Other!);
    expect(theirs instanceof Error).toBe(true);
    const lookAlike = Object.assign(new Error('x'), { name: 'AntlerError', code: 'SHAPE_MISMATCH' });
    expect(lookAlike instanceof AntlerError).toBe(false);
    expect({} instanceof AntlerError).toBe(false);
    expect((null as unknown as object) instanceof AntlerError).toBe(false);
    // A subclass's instanceof stays its own.
    class Sub extends AntlerError {}
    expect(theirs instanceof Sub).toBe(false);
    expect(new Sub('INTERNAL', 's')).toBeInstanceOf(AntlerError);
  });

  test('messages name the op and what was passed', () => {
    expect(expectAntlerError(() => matmul(f32, f32), 'SHAPE_MISMATCH', 'matmul').message).toMatch(/matmul.*\[3, 4\].*\[3, 4\]/);
    expect(expectAntlerError(() => zeros([2, -1]), 'INVALID_ARGUMENT', 'zeros').message).toMatch(/zeros.*-1/);
    expect(expectAntlerError(() => dead.dataSync(), 'DISPOSED', 'dataSync').message).toMatch(/dataSync/);
    expect(expectAntlerError(() => zeros([2], { dtype: 'float16' as 'float32' }), 'INVALID_ARGUMENT', 'dtype').message).toMatch(/float16/);
  });

  test('a short array of plain values is shown as it is; long, empty or mixed ones by their length', () => {
    expect(describeValue([-1, 0])).toBe('an array [-1, 0]');
    expect(describeValue([[1, 2], ['a', null]])).toBe("an array [[1, 2], ['a', null]]");
    expect(describeValue([])).toBe('an array of length 0');
    expect(describeValue(new Array(9).fill(1))).toBe('an array of length 9');
    expect(describeValue([1, {}])).toBe('an array of length 2');
    expect(describeValue([[[1]]])).toBe('an array of length 1');
    // Holes, long strings and elements whose getter throws fall back to the length; −0 keeps its sign.
    expect(describeValue([1, , 3])).toBe('an array of length 3'); // eslint-disable-line no-sparse-arrays
    expect(describeValue(['x'.repeat(30)])).toBe('an array of length 1');
    expect(describeValue(new Proxy([1], { get: (t, k) => (k === '0' ? (() => { throw new Error('no'); })() : Reflect.get(t, k)) }))).toBe('an array of length 1');
    expect(describeValue([-0, 0])).toBe('an array [-0, 0]');
    // The options of backward passed first (PyTorch's keyword arguments) say where they go.
    const leaf = api.zeros([2]).requiresGrad_(true);
    expect(expectAntlerError(() => api.sum(leaf).backward({ createGraph: true } as never), 'INVALID_ARGUMENT', 'backward').message).toMatch(/pass it second, backward\(undefined, \{createGraph: true\}\)$/);
    leaf.dispose();
    // The value that was wrong is in the message (before: "got an array of length 2").
    expect(expectAntlerError(() => api.pad(f32, [[1.5, 0], [0, 0]]), 'INVALID_ARGUMENT', 'pad').message).toMatch(/paddings\[0\] must be \[before, after\], integers; got an array \[1.5, 0\]$/);
  });

  test('an instance of a class is named by its class, a plain object is "an object"', () => {
    const model = new api.nn.Linear(2, 2);
    const opt = new api.optim.Adam(model.parameters());
    try {
      // Before, both said "got an object".
      expect(expectAntlerError(() => zeros(model as never), 'INVALID_ARGUMENT', 'zeros').message).toMatch(/got a Linear$/);
      expect(expectAntlerError(() => zeros(new Map() as never), 'INVALID_ARGUMENT', 'zeros').message).toMatch(/got a Map$/);
      expect(expectAntlerError(() => zeros({ n: 2 } as never), 'INVALID_ARGUMENT', 'zeros').message).toMatch(/got an object$/);
      expect(describeValue(model)).toBe('a Linear');
      expect(describeValue(opt)).toBe('an Adam');
      expect(describeValue(Object.create(null))).toBe('an object');
      expect(describeValue(f32)).toBe('a Tensor');
    } finally {
      opt.dispose();
      model.dispose();
    }
  });
});

describe(`bad calls straight into the native addon (seed ${SEED})`, () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const addon = require(addonPath()) as Record<string, (...args: unknown[]) => unknown>;
  const lib = native();

  test('the directly required addon is the instance the library uses', () => {
    expect(addon).toBe(lib as unknown);
  });

  const handle = (): unknown => f32.handle;
  const disposedHandle = (): unknown => {
    const h = addon.full([2], 'float32', 'cpu', 1);
    addon.dispose(h);
    return h;
  };

  const nativeCalls: BadCall[] = [
    { name: 'full with no arguments', code: 'INVALID_ARGUMENT', call: () => addon.full() },
    { name: 'random with 3 arguments', code: 'INVALID_ARGUMENT', call: () => addon.random([2], 'float32', 'cpu') },
    { name: 'matmul with 1 argument', code: 'INVALID_ARGUMENT', call: () => addon.matmul(handle()) },
    { name: 'dataSync of a plain object', code: 'INVALID_ARGUMENT', call: () => addon.dataSync({}) },
    { name: 'dataSync of a number', code: 'INVALID_ARGUMENT', call: () => addon.dataSync(42) },
    { name: 'dataAsync of null', code: 'INVALID_ARGUMENT', call: () => addon.dataAsync(null) },
    { name: 'dispose of a plain object', code: 'INVALID_ARGUMENT', call: () => addon.dispose({ __brand: 'TensorHandle' }) },
    { name: 'describe of an array', code: 'INVALID_ARGUMENT', call: () => addon.describe([]) },
    { name: 'shape with -1', code: 'INVALID_ARGUMENT', call: () => addon.full([-1], 'float32', 'cpu', 0) },
    { name: 'shape with NaN', code: 'INVALID_ARGUMENT', call: () => addon.full([NaN], 'float32', 'cpu', 0) },
    { name: 'shape with 2.5', code: 'INVALID_ARGUMENT', call: () => addon.full([2.5], 'float32', 'cpu', 0) },
    { name: 'shape with Infinity', code: 'INVALID_ARGUMENT', call: () => addon.full([Infinity], 'float32', 'cpu', 0) },
    { name: 'shape with a string', code: 'INVALID_ARGUMENT', call: () => addon.full(['2'], 'float32', 'cpu', 0) },
    { name: 'shape not an array', code: 'INVALID_ARGUMENT', call: () => addon.full(2, 'float32', 'cpu', 0) },
    { name: 'shape with 9 dims', code: 'INVALID_ARGUMENT', call: () => addon.full([1, 1, 1, 1, 1, 1, 1, 1, 1], 'float32', 'cpu', 0) },
    { name: 'shape over 2^40 elements', code: 'INVALID_ARGUMENT', call: () => addon.full([2 ** 20, 2 ** 20, 2], 'float32', 'cpu', 0) },
    { name: 'shape dim above 2^53', code: 'INVALID_ARGUMENT', call: () => addon.full([2 ** 60], 'float32', 'cpu', 0) },
    { name: 'Float64Array for dtype float32', code: 'DTYPE_MISMATCH', call: () => addon.fromData(new Float64Array(2), [2], 'float32', 'cpu') },
    { name: 'Int32Array for dtype float64', code: 'DTYPE_MISMATCH', call: () => addon.fromData(new Int32Array(2), [2], 'float64', 'cpu') },
    { name: 'fromData length ≠ shape', code: 'SHAPE_MISMATCH', call: () => addon.fromData(new Float32Array(3), [2], 'float32', 'cpu') },
    { name: 'fromData with a plain array', code: 'INVALID_ARGUMENT', call: () => addon.fromData([1, 2], [2], 'float32', 'cpu') },
    { name: 'unknown dtype', code: 'INVALID_ARGUMENT', call: () => addon.full([2], 'float16', 'cpu', 0) },
    { name: 'dtype not a string', code: 'INVALID_ARGUMENT', call: () => addon.full([2], 7, 'cpu', 0) },
    { name: 'unknown device', code: 'INVALID_ARGUMENT', call: () => addon.full([2], 'float32', 'gpu', 0) },
    { name: "device 'cuda:1234'", code: 'INVALID_ARGUMENT', call: () => addon.full([2], 'float32', 'cuda:1234', 0) },
    { name: 'value not a number', code: 'INVALID_ARGUMENT', call: () => addon.full([2], 'float32', 'cpu', '1') },
    { name: 'int32 full with 0.5', code: 'INVALID_ARGUMENT', call: () => addon.full([2], 'int32', 'cpu', 0.5) },
    { name: 'int32 full with 2^31', code: 'INVALID_ARGUMENT', call: () => addon.full([2], 'int32', 'cpu', 2 ** 31) },
    { name: 'unknown binary op name', code: 'INVALID_ARGUMENT', call: () => addon.binary('hypot', handle(), handle()) },
    { name: 'binary op name not a string', code: 'INVALID_ARGUMENT', call: () => addon.binary(0, handle(), handle()) },
    { name: 'binaryScalar unknown op', code: 'INVALID_ARGUMENT', call: () => addon.binaryScalar('mod', handle(), 1, false) },
    { name: 'binaryScalar scalarFirst not boolean', code: 'INVALID_ARGUMENT', call: () => addon.binaryScalar('add', handle(), 1, 1) },
    { name: 'binary dtype mismatch', code: 'DTYPE_MISMATCH', call: () => addon.binary('add', f32.handle, f64.handle) },
    { name: 'binary shape mismatch', code: 'SHAPE_MISMATCH', call: () => addon.binary('add', f32.handle, view.handle) },
    { name: 'matmul flags not booleans', code: 'INVALID_ARGUMENT', call: () => addon.matmul(handle(), handle(), 'no', false) },
    { name: 'reshape with -2', code: 'INVALID_ARGUMENT', call: () => addon.reshape(handle(), [-2, -6]) },
    { name: 'reshape with two -1', code: 'INVALID_ARGUMENT', call: () => addon.reshape(handle(), [-1, -1]) },
    { name: 'reshape with 9 dims', code: 'INVALID_ARGUMENT', call: () => addon.reshape(handle(), [1, 1, 1, 1, 1, 1, 1, 1, 12]) },
    { name: 'reshape to a huge shape', code: 'INVALID_ARGUMENT', call: () => addon.reshape(handle(), [2 ** 30, 2 ** 30, 2]) },
    { name: 'arange step 0', code: 'INVALID_ARGUMENT', call: () => addon.arange(0, 1, 0, 'float32', 'cpu') },
    { name: 'arange NaN start', code: 'INVALID_ARGUMENT', call: () => addon.arange(NaN, 1, 1, 'float32', 'cpu') },
    { name: 'arange too many elements', code: 'INVALID_ARGUMENT', call: () => addon.arange(0, 2 ** 50, 1, 'float32', 'cpu') },
    { name: 'random seed -1', code: 'INVALID_ARGUMENT', call: () => addon.random([2], 'float32', 'cpu', false, 0, 1, -1, 0) },
    { name: 'random seed 2^64', code: 'INVALID_ARGUMENT', call: () => addon.random([2], 'float32', 'cpu', false, 0, 1, 2 ** 64, 0) },
    { name: 'random stream 0.5', code: 'INVALID_ARGUMENT', call: () => addon.random([2], 'float32', 'cpu', false, 0, 1, 0, 0.5) },
    { name: 'random normal not boolean', code: 'INVALID_ARGUMENT', call: () => addon.random([2], 'float32', 'cpu', 1, 0, 1, 0, 0) },
    { name: 'random int32 normal', code: 'DTYPE_MISMATCH', call: () => addon.random([2], 'int32', 'cpu', true, 0, 1, 0, 0) },
    { name: 'random stddev < 0', code: 'INVALID_ARGUMENT', call: () => addon.random([2], 'float64', 'cpu', true, 0, -1, 0, 0) },
    { name: 'random maxval < minval', code: 'INVALID_ARGUMENT', call: () => addon.random([2], 'float64', 'cpu', false, 1, 0, 0, 0) },
    { name: 'random infinite parameter', code: 'INVALID_ARGUMENT', call: () => addon.random([2], 'float64', 'cpu', false, 0, Infinity, 0, 0) },
    { name: 'cast to an unknown dtype', code: 'INVALID_ARGUMENT', call: () => addon.cast(handle(), 'uint8') },
    { name: 'to an unknown device', code: 'INVALID_ARGUMENT', call: () => addon.to(handle(), 'tpu') },
    { name: 'dataSync of a disposed handle', code: 'DISPOSED', call: () => addon.dataSync(disposedHandle()) },
    { name: 'dataAsync of a disposed handle', code: 'DISPOSED', call: () => addon.dataAsync(disposedHandle()) },
    { name: 'matmul with a disposed handle', code: 'DISPOSED', call: () => addon.matmul(disposedHandle(), handle(), false, false) },
    { name: 'describeInto of a plain object', code: 'INVALID_ARGUMENT', call: () => addon.describeInto({}) },
    { name: 'describeInto of a disposed handle', code: 'DISPOSED', call: () => addon.describeInto(disposedHandle()) },
    { name: 'setNumThreads(0)', code: 'INVALID_ARGUMENT', call: () => addon.setNumThreads(0) },
    { name: 'setNumThreads(1e9)', code: 'INVALID_ARGUMENT', call: () => addon.setNumThreads(1e9) },
    { name: "setNumThreads('4')", code: 'INVALID_ARGUMENT', call: () => addon.setNumThreads('4') },
    { name: 'synchronize an unknown device', code: 'INVALID_ARGUMENT', call: () => addon.synchronize('tpu') },
  ];
  if (!cudaAvailable)
    nativeCalls.push(
      { name: 'full on cuda without CUDA', code: 'CUDA_UNAVAILABLE', call: () => addon.full([2], 'float32', 'cuda', 0) },
      { name: 'to cuda:3 without CUDA', code: 'CUDA_UNAVAILABLE', call: () => addon.to(handle(), 'cuda:3') },
    );

  test.each(nativeCalls.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expectAntlerError(c.call, c.code, c.name);
  });

  test('scatterAddRows checks every row index (a bad one fails naming its position and the table size; it used to write outside the table), on the CPU whether checked or not', () => {
    const before = memory().numTensors;
    tidy(() => {
    for (const dtype of ['float32', 'float64'] as const) for (const checked of [true, false]) {
      const n = 2 + Math.floor(rng.next() * 6), rows = 1 + Math.floor(rng.next() * 5), cols = 1 + Math.floor(rng.next() * 4);
      const g = randomArray(rng, n * cols);
      const idx = randomInts(rng, n, 0, rows - 1);
      const G = tensor(g, [n, cols], { dtype });
      // Valid indices (every row, repeats summed) are accepted and summed as the definition says.
      const good = lib.scatterAddRows(G.handle, tensor(idx, [n], { dtype: 'int32' }).handle, rows, checked);
      const want = new Array<number>(rows * cols).fill(0);
      for (let i = 0; i < n; i++) for (let c = 0; c < cols; c++) want[idx[i] * cols + c] += g[i * cols + c];
      const got = Array.from(lib.dataSync(good) as Float32Array | Float64Array);
      got.forEach((v, k) => expect(Math.abs(v - want[k])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[k]))));
      lib.dispose(good);
      // One bad index among them (−1, rows, or far beyond: 2^31 − 1 times cols overran int32 sizes).
      for (const bad of [-1, rows, 2 ** 31 - 1, -(2 ** 31)]) {
        const at = Math.floor(rng.next() * n);
        const wrong = [...idx];
        wrong[at] = bad;
        const I = tensor(wrong, [n], { dtype: 'int32' });
        const err = thrownAntlerError(() => lib.scatterAddRows(G.handle, I.handle, rows, checked), 'INVALID_ARGUMENT');
        expect(err.message).toBe(`embedding: gradient index at position ${at} is outside [0, ${rows})`);
        expectExact(Array.from(I.dataSync()), wrong, 'the indices are untouched');
        expectExact(Array.from(G.dataSync()), Array.from(tensor(g, [n, cols], { dtype }).dataSync()), 'the gradient is untouched');
      }
      // Indices into a table of no rows are all bad.
      expect(thrownAntlerError(() => lib.scatterAddRows(G.handle, tensor(idx, [n], { dtype: 'int32' }).handle, 0, checked), 'INVALID_ARGUMENT').message).toBe('embedding: indices into a table of 0 rows');
    }
    });
    expect(memory().numTensors).toBe(before);
  });

  test('describeInto writes what describe returns into metaBuffer', () => {
    const meta = addon.metaBuffer() as unknown as Float64Array;
    expect(Object.prototype.toString.call(meta)).toBe('[object Float64Array]');
    expect(addon.metaBuffer()).toBe(meta); // one buffer per addon instance
    const codes = ['float32', 'float64', 'int32'];
    for (let k = 0; k < 20; k++) {
      const rank = Math.floor(rng.next() * 9);
      const shape = Array.from({ length: rank }, () => Math.floor(rng.next() * 4));
      const dtype = codes[Math.floor(rng.next() * 3)];
      const h = addon.full(shape, dtype, 'cpu', 0);
      try {
        expect(addon.describeInto(h)).toBe(rank);
        const [dims, dt, dev] = addon.describe(h) as unknown as [number[], string, string];
        expect([meta[0], codes[meta[1]], meta[2] < 0 ? 'cpu' : `cuda:${meta[2]}`, Array.from(meta.subarray(3, 3 + rank))]).toEqual([rank, dt, dev, dims]);
        expect(dims).toEqual(shape);
      } finally {
        addon.dispose(h);
      }
    }
  });

  test('a disposed native handle reports isDisposed and may be disposed again', () => {
    const h = disposedHandle();
    expect(addon.isDisposed(h)).toBe(true);
    expect(() => addon.dispose(h)).not.toThrow();
    expect(addon.isDisposed(handle())).toBe(false);
  });
});

describe(`no damage after the bad calls (seed ${SEED})`, () => {
  test('existing tensors hold exactly their original values', () => {
    expectExact(f32.dataSync(), f32vals, `f32 seed=${SEED}`);
    expectExact(view.dataSync(), f32vals, `view seed=${SEED}`);
    expectExact(f64.dataSync(), f64vals, `f64 seed=${SEED}`);
    expectExact(i32.dataSync(), i32vals, `i32 seed=${SEED}`);
    expect([f32.shape, view.shape, f64.shape, i32.shape]).toEqual([[3, 4], [4, 3], [2, 3], [6]]);
    expect(dead.isDisposed).toBe(true);
  });

  test('numTensors equals the live tensors', () => {
    // f32, its view, f64 and i32 are alive; everything else was disposed or never made. (Exact: the jest
    // environment collected earlier files' garbage before this file's baseline, test/jest-environment.js.)
    const m = memory();
    expect(m.numTensors).toBe(baseline.numTensors + 4);
    expect(m.numDataBuffers).toBe(baseline.numDataBuffers + 3);
  });

  test('the library still computes after the bad calls', () => {
    const s = api.add(f64, 1);
    expectExact(s.dataSync(), f64vals.map((v) => v + 1), 'add after errors');
    s.dispose();
    expect(backends().cpu.threads).toBeGreaterThanOrEqual(1);
  });
});
