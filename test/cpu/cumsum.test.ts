/**
 * cumsum(x, axis, { exclusive, reverse }) against a float64 loop over plain
 * arrays (torch.cumsum, tf.cumsum's exclusive and reverse), on fresh random
 * shapes: every axis, all four option combinations, float32 and float64,
 * int32 exact or refused, 0-d and empty tensors, and the gradient (the
 * cumsum of the output gradient the other way). The op registry
 * (test/opinfo.ts) also checks the gradient against finite differences and
 * runs CUDA against the CPU.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, prod, randomArray, randomInts, randomShape, runningRef, SCAN_COMBOS, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const I32 = { dtype: 'int32' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
const COMBOS = SCAN_COMBOS;
const cumsumRef = (x: readonly number[], shape: readonly number[], axis: number, exclusive: boolean, reverse: boolean) => runningRef(x, shape, axis, exclusive, reverse, 'sum');
const cumprodRefNear1 = (x: readonly number[], shape: readonly number[], axis: number, exclusive: boolean, reverse: boolean) => runningRef(x, shape, axis, exclusive, reverse, 'prod');

const label = (o: { exclusive: boolean; reverse: boolean }) => `${o.exclusive ? 'exclusive' : 'inclusive'}${o.reverse ? ', reverse' : ''}`;

describe(`cumsum (seed ${SEED})`, () => {
  test('matches a float64 loop on random shapes, every axis, all four exclusive/reverse combinations', () =>
    tidy(() => {
      for (let trial = 0; trial < 8; trial++) {
        const shape = randomShape(rng, rng.int(1, 4), 1, 6);
        const values = randomArray(rng, prod(shape), -3, 3);
        const v32 = values.map(Math.fround);
        const x64 = tensor(values, shape, F64);
        const x32 = tensor(v32, shape);
        for (let axis = -shape.length; axis < shape.length; axis++)
          for (const o of COMBOS) {
            const what = `shape [${shape}] axis ${axis} ${label(o)}`;
            const y64 = antler.cumsum(x64, axis, o);
            expect(y64.dtype).toBe('float64');
            expect(y64.shape).toEqual(shape);
            const ref64 = cumsumRef(values, shape, axis, o.exclusive, o.reverse);
            expectClose(read(y64), ref64, 1e-15, 1e-15 * 3 * shape[axis < 0 ? axis + shape.length : axis], `float64 ${what}`);
            // float32: summed in double from the float32 values, then rounded once: within an ulp of the rounded reference.
            const y32 = antler.cumsum(x32, axis, o);
            expect(y32.dtype).toBe('float32');
            const ref32 = cumsumRef(v32, shape, axis, o.exclusive, o.reverse).map(Math.fround);
            expectClose(read(y32), ref32, 2 ** -23, 1e-30, `float32 ${what}`);
          }
      }
    }));

  test('axis defaults to 0 (TensorFlow.js); options may be omitted or empty', () =>
    tidy(() => {
      const values = randomArray(rng, 12);
      const x = tensor(values, [3, 4], F64);
      const ref = cumsumRef(values, [3, 4], 0, false, false);
      expectExact(read(antler.cumsum(x)), ref, 'default axis');
      expectExact(read(antler.cumsum(x, 0, {})), ref, 'empty options');
      expectExact(read(antler.cumsum(x, undefined, { reverse: false })), ref, 'axis undefined');
      // The tensor method has the same default.
      expectExact(read(x.cumsum()), ref, 'x.cumsum()');
      expectExact(read(x.cumsum(undefined, { exclusive: true, reverse: true })), cumsumRef(values, [3, 4], 0, true, true), 'x.cumsum(undefined, options)');
    }));

  test('more than 256 lines side by side (inner > 256: several blocks of neighbouring lines), every combination', () =>
    tidy(() => {
      for (const [shape, axis] of [[[7, 300], 0], [[2, 5, 530], 1], [[3, 2, 260], -2]] as [number[], number][]) {
        const values = randomArray(rng, prod(shape), -3, 3);
        const x = tensor(values, shape, F64);
        for (const o of COMBOS) {
          const n = shape[axis < 0 ? axis + shape.length : axis];
          expectClose(read(antler.cumsum(x, axis, o)), cumsumRef(values, shape, axis, o.exclusive, o.reverse), 1e-15, 1e-15 * 3 * n, `cumsum [${shape}] axis ${axis} ${label(o)}`);
          const f = values.map((v) => 1 + v / 100); // cumprod: factors near 1
          expectClose(read(antler.cumprod(tensor(f, shape, F64), axis, o)), cumprodRefNear1(f, shape, axis, o.exclusive, o.reverse), 1e-14, 1e-300, `cumprod [${shape}] axis ${axis} ${label(o)}`);
        }
      }
    }));

  test('a long float32 axis accumulates in double: 100000 ones sum to exactly 100000, and no partial sum drifts', () =>
    tidy(() => {
      const n = 100000;
      const ones = antler.ones([n]);
      const y = antler.cumsum(ones);
      const got = y.dataSync();
      expect(got[n - 1]).toBe(100000);
      expectExact(got, Float64Array.from({ length: n }, (_, i) => i + 1), 'ones');
      expect(antler.cumsum(ones, 0, { reverse: true }).dataSync()[0]).toBe(100000);
      // 0.1 (as float32) 100000 times: a float32 running sum drifts by hundreds of ulps; the
      // double one rounds once per element, so each equals the rounded float64 reference.
      const tenth = antler.full([n], 0.1);
      const ref = cumsumRef(Array.from(tenth.dataSync()), [n], 0, false, false).map(Math.fround);
      expectExact(antler.cumsum(tenth).dataSync(), ref, 'tenths');
      // 2^24 + 1 + 1 + 1 − 2^24: a float32 accumulator loses the ones (gives 0), a double one keeps them.
      const big = tensor([16777216, 1, 1, 1, -16777216], [5]);
      expectExact(antler.cumsum(big).dataSync(), [16777216, 16777216, 16777218, 16777220, 3], 'cancellation');
    }));

  test('int32 is exact (summed in float64) and stays int32, every axis and combination', () =>
    tidy(() => {
      for (let trial = 0; trial < 4; trial++) {
        const shape = randomShape(rng, rng.int(1, 3), 1, 5);
        const values = randomInts(rng, prod(shape), -1e8, 1e8);
        const x = tensor(values, shape, I32);
        for (let axis = 0; axis < shape.length; axis++)
          for (const o of COMBOS) {
            const y = antler.cumsum(x, axis, o);
            expect(y.dtype).toBe('int32');
            expectExact(read(y), cumsumRef(values, shape, axis, o.exclusive, o.reverse), `int32 [${shape}] axis ${axis} ${label(o)}`);
          }
      }
      // The extremes themselves fit: partial sums reaching exactly −2^31 and 2^31 − 1.
      const edge = tensor([2147483647, -2147483647, -1, -2147483647], [4], I32);
      expectExact(read(antler.cumsum(edge)), [2147483647, 0, -1, -2147483648], 'edges');
    }));

  test('int32 partial sums outside int32 refuse with DTYPE_MISMATCH naming the value', () => {
    const up = tensor([2147483647, 1, -5], [3], I32);
    const down = tensor([-2147483648, 0, -1], [3], I32);
    const rows = tensor([2147483647, -1, 1, 1], [2, 2], I32);
    const before = antler.memory().numTensors;
    try {
      expectAntlerError(() => antler.cumsum(up), 'DTYPE_MISMATCH', /2147483648.*does not fit int32/);
      expectAntlerError(() => antler.cumsum(down), 'DTYPE_MISMATCH', /-2147483649/);
      expectAntlerError(() => antler.cumsum(rows, 0), 'DTYPE_MISMATCH', /2147483648/);
      expect(antler.memory().numTensors).toBe(before); // the float64 intermediates are freed on refusal
      // Exclusive stops before the last element, and reverse sums the other way: these fit.
      tidy(() => {
        expectExact(read(antler.cumsum(up, 0, { exclusive: true, reverse: true })), [-4, -5, 0], 'exclusive reverse');
        expectExact(read(antler.cumsum(rows, 1)), [2147483647, 2147483646, 1, 2], 'axis 1');
      });
    } finally {
      up.dispose();
      down.dispose();
      rows.dispose();
    }
  });

  test('0-d tensors take axis 0 or −1 and come back as they are (0 when exclusive)', () =>
    tidy(() => {
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        const s = tensor([dtype === 'int32' ? 7 : 3.5], [], { dtype });
        for (const axis of [0, -1]) {
          const y = antler.cumsum(s, axis);
          expect(y.shape).toEqual([]);
          expect(y.dtype).toBe(dtype);
          expect(y.item()).toBe(dtype === 'int32' ? 7 : 3.5);
          expect(antler.cumsum(s, axis, { reverse: true }).item()).toBe(dtype === 'int32' ? 7 : 3.5);
          expect(antler.cumsum(s, axis, { exclusive: true }).item()).toBe(0);
        }
      }
    }));

  test('empty tensors keep their shape, whichever axis is empty', () =>
    tidy(() => {
      for (const [shape, axis] of [[[0], 0], [[2, 0, 3], 1], [[2, 0, 3], 2], [[3, 0], 0], [[0, 4], -1]] as [number[], number][])
        for (const dtype of ['float32', 'float64', 'int32'] as const)
          for (const o of COMBOS) {
            const y = antler.cumsum(antler.zeros(shape, { dtype }), axis, o);
            expect(y.shape).toEqual(shape);
            expect(y.dtype).toBe(dtype);
            expect(y.size).toBe(0);
          }
    }));

  test('the gradient is the cumsum of the output gradient in the other direction', () =>
    tidy(() => {
      for (let trial = 0; trial < 4; trial++) {
        const shape = randomShape(rng, rng.int(1, 3), 1, 5);
        const axis = rng.int(-shape.length, shape.length - 1);
        for (const o of COMBOS) {
          for (const dtype of ['float64', 'float32'] as const) {
            const x = tensor(randomArray(rng, prod(shape)), shape, { dtype, requiresGrad: true });
            const w = randomArray(rng, prod(shape));
            const wd = dtype === 'float32' ? w.map(Math.fround) : w;
            antler.cumsum(x, axis, o).backward(tensor(wd, shape, { dtype }));
            expect(x.grad!.dtype).toBe(dtype);
            const ref = cumsumRef(wd, shape, axis, o.exclusive, !o.reverse);
            const what = `${dtype} gradient [${shape}] axis ${axis} ${label(o)}`;
            if (dtype === 'float64') expectClose(read(x.grad!), ref, 1e-15, 1e-14, what);
            else expectClose(read(x.grad!), ref.map(Math.fround), 2 ** -23, 1e-30, what);
          }
        }
      }
    }));

  test('bad arguments throw INVALID_ARGUMENT; int32 gets no gradient', () => {
    const x = tensor([1, 2, 3, 4, 5, 6], [2, 3], F64);
    try {
      expectAntlerError(() => antler.cumsum(x, 2), 'INVALID_ARGUMENT', /axis 2 is out of range/);
      expectAntlerError(() => antler.cumsum(x, -3), 'INVALID_ARGUMENT', /axis -3/);
      expectAntlerError(() => antler.cumsum(x, 1.5), 'INVALID_ARGUMENT', /axis must be an integer/);
      expectAntlerError(() => antler.cumsum(x, 0, { exclusive: true, revrese: true } as unknown as { reverse: boolean }), 'INVALID_ARGUMENT', /revrese/);
      expectAntlerError(() => antler.cumsum(x, 0, { exclusive: 'yes' } as unknown as { exclusive: boolean }), 'INVALID_ARGUMENT', /exclusive must be a boolean/);
      expectAntlerError(() => antler.cumsum(x, 0, 5 as unknown as { exclusive: boolean }), 'INVALID_ARGUMENT', /options must be an object/);
      expectAntlerError(() => antler.cumsum('x' as unknown as Tensor), 'INVALID_ARGUMENT');
    } finally {
      x.dispose();
    }
    tidy(() => {
      const xi = tensor([1, 2, 3], [3], I32);
      expect(antler.cumsum(xi).requiresGrad).toBe(false);
    });
  });
});
