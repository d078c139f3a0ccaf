/**
 * squeeze, unsqueeze/expandDims, flatten, split, chunk, unstack, tile, pad and padSequence
 * against reference loops written here from torch's and tf's definitions, on
 * fresh random shapes. Their gradients (and CUDA against the CPU) are
 * checked by the op registry (test/opinfo.ts).
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectExact, expectNoLeaksInSuite, makeSeededRng, prod, randomArray, randomShape, ravel, tensorCounts, unravel } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);
const read = (t: Tensor) => Array.from(t.dataSync());


describe(`shape helpers (seed ${SEED})`, () => {
  test('tile repeats along every axis (tf.tile); extra reps add leading axes (torch repeat)', () =>
    tidy(() => {
      // Up to 8 axes (before, more than 4 failed: the interleaved view had two dims per axis).
      for (let trial = 0; trial < 8; trial++) {
        const shape = randomShape(rng, rng.int(1, 6), 1, trial < 4 ? 4 : 2);
        const extra = rng.int(0, 2);
        const reps = [...Array.from({ length: extra }, () => rng.int(1, 3)), ...shape.map(() => rng.int(1, 3))];
        const v = randomArray(rng, prod(shape));
        const full = [...new Array(extra).fill(1), ...shape];
        const outShape = full.map((d, i) => d * reps[i]);
        const want = Array.from({ length: prod(outShape) }, (_, p) => v[ravel(full, unravel(outShape, p).map((c, i) => c % full[i]))]);
        const y = antler.tile(tensor(v, shape, { dtype: 'float64' }), reps);
        expect(y.shape).toEqual(outShape);
        expectExact(read(y), want, `tile ${shape} by ${reps}`);
      }
    }));

  test('roll (torch.roll): along axes, pairwise, or over the flattened tensor; shifts wrap, either sign', () =>
    tidy(() => {
      for (let trial = 0; trial < 6; trial++) {
        const shape = randomShape(rng, rng.int(1, 4), 1, 5);
        const v = randomArray(rng, prod(shape));
        const x = tensor(v, shape, { dtype: 'float64' });
        if (trial % 3 === 0) {
          const s = rng.int(-9, 9), N = v.length;
          const want = v.map((_, p) => v[(((p - s) % N) + N) % N]);
          expectExact(read(antler.roll(x, s)), want, `roll ${shape} by ${s}`);
          continue;
        }
        const axes = [...new Set(Array.from({ length: rng.int(1, shape.length) }, () => rng.int(0, shape.length - 1)))];
        const shifts = axes.map(() => rng.int(-7, 7));
        const signed = axes.map((a) => (rng.next() < 0.5 ? a : a - shape.length));
        const want = Array.from({ length: v.length }, (_, p) => {
          const at = unravel(shape, p);
          axes.forEach((a, i) => (at[a] = (((at[a] - shifts[i]) % shape[a]) + shape[a]) % shape[a]));
          return v[ravel(shape, at)];
        });
        const y = antler.roll(x, shifts, signed);
        expect(y.shape).toEqual(shape);
        expectExact(read(y), want, `roll ${shape} by ${shifts} along ${signed}`);
      }
      const x = tensor([1, 2, 3], [3]);
      expectAntlerError(() => antler.roll(x, [1, 2]), 'INVALID_ARGUMENT', /^roll: without axes, shifts must be one integer/);
      expectAntlerError(() => antler.roll(x, [1, 2], [0]), 'INVALID_ARGUMENT', /must have one entry each/);
      expectAntlerError(() => antler.roll(x, 1.5), 'INVALID_ARGUMENT', /^roll: shifts must be an integer/);
      expectAntlerError(() => antler.roll(x, 1, 1), 'INVALID_ARGUMENT', /^roll: axis must be an integer in \[-1, 1\)/);
    }));

  test('tile of 6 axes: the gradient sums over the copies', () =>
    tidy(() => {
      const shape = [2, 1, 2, 1, 2, 2], reps = [1, 2, 1, 3, 2, 1];
      const v = randomArray(rng, prod(shape));
      const x = tensor(v, shape, { dtype: 'float64', requiresGrad: true });
      const outShape = shape.map((d, i) => d * reps[i]);
      const w = randomArray(rng, prod(outShape));
      antler.sum(antler.mul(antler.tile(x, reps), tensor(w, outShape, { dtype: 'float64' }))).backward();
      const want = new Array(prod(shape)).fill(0);
      for (let p = 0; p < w.length; p++) want[ravel(shape, unravel(outShape, p).map((c, i) => c % shape[i]))] += w[p];
      const got = read(x.grad!);
      got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(1e-12));
    }));

  test("PyTorch's spellings: x.view(shape), x.reshape(2, 3), x.permute(1, 0), x.flip(0, 1); transpose with one dim and stack with a fractional axis refuse", () =>
    tidy(() => {
      const v = randomArray(rng, 6);
      const x = tensor(v, [2, 3], { dtype: 'float64', requiresGrad: true });
      expect(x.view(-1).shape).toEqual([6]);
      expect(x.view(3, 2).shape).toEqual([3, 2]);
      expect(x.view([1, 6]).shape).toEqual([1, 6]);
      expectExact(read(x.view(3, 2)), v);
      expect(x.view(-1).requiresGrad).toBe(true);
      expectAntlerError(() => x.view(), 'INVALID_ARGUMENT', /^view: expected the new shape/);
      expectAntlerError(() => x.view(4, 2), 'SHAPE_MISMATCH');
      // reshape and permute take either spelling too, as PyTorch's.
      expectExact(read(x.reshape(3, 2)), v);
      expect(x.reshape(3, 2).shape).toEqual([3, 2]);
      expect(x.reshape(6).shape).toEqual([6]);
      expect(x.reshape(-1, 2).shape).toEqual([3, 2]);
      expectExact(read(x.permute(1, 0)), [v[0], v[3], v[1], v[4], v[2], v[5]]);
      expectExact(read(x.permute([1, 0])), [v[0], v[3], v[1], v[4], v[2], v[5]]);
      expectAntlerError(() => x.reshape(), 'INVALID_ARGUMENT', /^reshape: expected the new shape, as numbers \(x\.reshape\(2, 3\)\) or one array \(x\.reshape\(\[2, 3\]\)\); got nothing$/);
      expectAntlerError(() => (x.reshape as (...a: unknown[]) => unknown)(3, [2]), 'INVALID_ARGUMENT', /^reshape: expected the new shape, .*; got 3, an array \[2\]$/);
      expectAntlerError(() => (x.permute as (...a: unknown[]) => unknown)(1, '0'), 'INVALID_ARGUMENT', /^permute: expected the axes, as numbers \(x\.permute\(1, 0\)\).*; got 1, '0'$/);
      expectAntlerError(() => x.reshape(4, 2), 'SHAPE_MISMATCH');
      // squeeze, unsqueeze/expandDims, flatten, softmax and logSoftmax as methods too (torch's and tf's x.unsqueeze(0), x.softmax(-1)).
      const y = tensor(randomArray(rng, 6), [2, 1, 3], { dtype: 'float64', requiresGrad: true });
      const pairs: [Tensor, Tensor][] = [
        [y.squeeze(), antler.squeeze(y)], [y.squeeze(1), antler.squeeze(y, 1)], [y.squeeze([0, 1]), antler.squeeze(y, [0, 1])],
        [y.unsqueeze(-1), antler.unsqueeze(y, -1)], [y.expandDims(), antler.unsqueeze(y, 0)], [y.expandDims(2), antler.unsqueeze(y, 2)],
        [y.flatten(), antler.flatten(y)], [y.flatten(1), antler.flatten(y, 1)], [y.flatten(0, 1), antler.flatten(y, 0, 1)],
        [y.softmax(), antler.softmax(y, -1)], [y.softmax(0), antler.softmax(y, 0)], [y.logSoftmax(), antler.logSoftmax(y, -1)], [y.logSoftmax(0), antler.logSoftmax(y, 0)],
      ];
      for (const [m, f] of pairs) {
        expect(m.shape).toEqual(f.shape);
        expectExact(read(m), read(f));
      }
      expect(y.squeeze().shape).toEqual([2, 3]);
      expect(y.expandDims().shape).toEqual([1, 2, 1, 3]);
      expect(y.flatten().shape).toEqual([6]);
      // softmax over the last axis by default: each row of 3 sums to 1.
      const rows = read(y.softmax());
      for (let r = 0; r < 2; r++) expect(Math.abs(rows[3 * r] + rows[3 * r + 1] + rows[3 * r + 2] - 1)).toBeLessThan(1e-15);
      // Gradients flow through the methods as through the functions.
      const wv = randomArray(rng, 6);
      const w = tensor(wv, [2, 1, 3], { dtype: 'float64' });
      antler.sum(antler.mul(y.logSoftmax(), w)).backward();
      const gm = read(y.grad!);
      y.grad = null;
      antler.sum(antler.mul(antler.logSoftmax(y, -1), w)).backward();
      expectExact(gm, read(y.grad!));
      expectAntlerError(() => y.unsqueeze(4), 'INVALID_ARGUMENT', /^unsqueeze: /);
      expectAntlerError(() => y.softmax(3), 'INVALID_ARGUMENT', /^softmax: /);
      // Other habits: the dims as a creation function's arguments, a dtype passed to to().
      expectAntlerError(() => (antler.randn as (...a: unknown[]) => unknown)(2, 3), 'INVALID_ARGUMENT', /^randn: options must be an object; got 3 \(the shape is one array, as randn\(\[2, 3\]\), and the options come after it\)$/);
      expectAntlerError(() => (antler.zeros as (...a: unknown[]) => unknown)(2, 3, 4), 'INVALID_ARGUMENT', /^zeros: options must be an object; got 3 \(the shape is one array, as zeros\(\[2, 3\]\)/);
      // Not where the arguments are not a shape.
      expectAntlerError(() => (antler.linspace as (...a: unknown[]) => unknown)(0, 1, 5, 7), 'INVALID_ARGUMENT', /^linspace: options must be an object; got 7$/);
      expectAntlerError(() => antler.ones(3 as never), 'INVALID_ARGUMENT', /^ones: shape must be an array of non-negative integers; got 3 \(as an array: \[3\]\)$/);
      expectAntlerError(() => x.to('float32'), 'INVALID_ARGUMENT', /^to: takes a device .*; got the dtype 'float32' \(a dtype conversion is cast\('float32'\)\)$/);
      expectExact(read(x.flip(0, 1)), [...v].reverse());
      expectExact(read(x.flip([0, 1])), [...v].reverse());
      expectAntlerError(() => x.transpose(1), 'INVALID_ARGUMENT', /^transpose: give both dims to swap/);
      expect(x.transpose().shape).toEqual([3, 2]);
      const before = antler.memory().numTensors;
      expectAntlerError(() => antler.stack([x, x], 1.5), 'INVALID_ARGUMENT', /^stack: axis must be an integer; got 1\.5$/);
      expect(antler.memory().numTensors).toBe(before);
    }));

  test('an int32 tensor with a NaN number promotes to float32 as PyTorch (NaN results, false comparisons), nothing left behind', () =>
    tidy(() => {
      const i = tensor([1, -2, 3], [3], { dtype: 'int32' });
      const before = antler.memory().numTensors;
      for (const [name, f] of [['add', antler.add], ['sub', antler.sub], ['mul', antler.mul], ['div', antler.div], ['maximum', antler.maximum], ['minimum', antler.minimum]] as const) {
        for (const y of [f(i, NaN), f(NaN, i)]) {
          expect({ name, dtype: y.dtype }).toEqual({ name, dtype: 'float32' });
          expect(read(y).every(Number.isNaN)).toBe(true);
          y.dispose();
        }
      }
      for (const f of [antler.less, antler.greater, antler.equal]) {
        const y = f(i, NaN);
        expectExact(read(y), [0, 0, 0]);
        y.dispose();
      }
      const ne = antler.notEqual(i, NaN);
      expectExact(read(ne), [1, 1, 1]);
      ne.dispose();
      expect(antler.memory().numTensors).toBe(before);
    }));

  test('pad puts the value around x, per axis before and after (tf.pad)', () =>
    tidy(() => {
      const shape = randomShape(rng, 3, 1, 4);
      const pads = shape.map(() => [rng.int(0, 2), rng.int(0, 2)] as [number, number]);
      const v = randomArray(rng, prod(shape));
      const value = rng.uniform(-5, 5);
      const outShape = shape.map((d, i) => d + pads[i][0] + pads[i][1]);
      const want = Array.from({ length: prod(outShape) }, (_, p) => {
        const at = unravel(outShape, p).map((c, i) => c - pads[i][0]);
        return at.every((c, i) => c >= 0 && c < shape[i]) ? v[ravel(shape, at)] : value;
      });
      const y = antler.pad(tensor(v, shape, { dtype: 'float64' }), pads, { value });
      expect(y.shape).toEqual(outShape);
      expectExact(read(y), want);
      expect(antler.pad(tensor([1, 2], [2], { dtype: 'int32' }), [[1, 1]]).dtype).toBe('int32');
      const i32 = tensor([1], [1], { dtype: 'int32' });
      expectAntlerError(() => antler.pad(i32, [[1, 1]], { value: 0.5 }), 'DTYPE_MISMATCH', /not an integer/);
    }));

  test('split by sizes or count, chunk as torch.chunk, unstack as torch.unbind', () =>
    tidy(() => {
      const n = rng.int(2, 9);
      const v = randomArray(rng, 2 * n);
      const x = tensor(v, [2, n], { dtype: 'float64' });
      const cut = rng.int(0, n);
      const [a, b] = antler.split(x, [cut, n - cut], 1);
      expect(a.shape).toEqual([2, cut]);
      expectExact(read(antler.concat([a, b], 1)), v);
      // torch.chunk(arange(n), k): pieces of ceil(n / k), maybe fewer than k of them.
      for (let k = 1; k <= n + 1; k++) {
        const each = Math.ceil(n / k);
        const sizes = antler.chunk(tensor(v.slice(0, n), [n]), k).map((t) => t.shape[0]);
        expect(sizes.reduce((s, q) => s + q, 0)).toBe(n);
        expect(sizes.every((q, i) => q === (i < sizes.length - 1 ? each : n - each * (sizes.length - 1)))).toBe(true);
      }
      const cols = antler.unstack(x, -1);
      expect(cols).toHaveLength(n);
      expect(cols[0].shape).toEqual([2]);
      expectExact(read(cols[n - 1]), [v[n - 1], v[2 * n - 1]]);
      expect(antler.split(x, 2, 0).map((t) => t.shape)).toEqual([[1, n], [1, n]]);
    }));

  test("select (torch's x.select, x[:, -1]) and narrow (torch.narrow): values by index arithmetic, negative positions, gradients into the slice", () =>
    tidy(() => {
      for (let trial = 0; trial < 20; trial++) {
        const shape = randomShape(rng, rng.int(1, 4), 1, 5);
        const xv = randomArray(rng, prod(shape));
        const x = tensor(xv, shape, { dtype: 'float64', requiresGrad: true });
        const axis = rng.int(-shape.length, shape.length - 1);
        const ax = axis < 0 ? axis + shape.length : axis;
        const n = shape[ax];
        const index = rng.int(-n, n - 1);
        const at = index < 0 ? index + n : index;
        const start = rng.int(-n, n), from = start < 0 ? start + n : start;
        const length = rng.int(0, n - from);
        // Every element of x whose coordinate on the axis is picked, in row-major order.
        const pick = (keep: (c: number) => boolean) => xv.filter((_, p) => keep(unravel(shape, p)[ax]));
        const sel = antler.select(x, axis, index);
        expect(sel.shape).toEqual(shape.filter((_, i) => i !== ax));
        expectExact(read(sel), pick((c) => c === at));
        const nar = x.narrow(axis, start, length);
        expect(nar.shape).toEqual(shape.map((d, i) => (i === ax ? length : d)));
        expectExact(read(nar), pick((c) => c >= from && c < from + length));
        expectExact(read(x.select(axis, index)), read(sel));
        // Gradient of Σ w·select + Σ v·narrow: w at the selected slice, v over the narrowed band, added.
        const w = randomArray(rng, sel.size), v = randomArray(rng, nar.size);
        antler.add(antler.sum(antler.mul(sel, tensor(w, sel.shape, { dtype: 'float64' }))), antler.sum(antler.mul(nar, tensor(v, nar.shape, { dtype: 'float64' })))).backward();
        const want = new Array<number>(xv.length).fill(0);
        let iw = 0, iv = 0;
        xv.forEach((_, p) => {
          const c = unravel(shape, p)[ax];
          if (c === at) want[p] += w[iw++];
          if (c >= from && c < from + length) want[p] += v[iv++];
        });
        expectExact(read(x.grad!), want);
      }
      const x = tensor(randomArray(rng, 6), [2, 3]);
      expectAntlerError(() => x.select(1, 3), 'INVALID_ARGUMENT', /^select: index must be an integer in \[-3, 3\) for axis 1 of shape \[2, 3\]; got 3$/);
      expectAntlerError(() => x.select(2, 0), 'INVALID_ARGUMENT', /^select: axis must be an integer in \[-2, 2\)/);
      expectAntlerError(() => antler.select(tensor(1), 0, 0), 'INVALID_ARGUMENT', /^select: x is 0-d/);
      expectAntlerError(() => x.narrow(1, 2, 2), 'INVALID_ARGUMENT', /^narrow: length must be an integer in \[0, 1\] \(from 2 along axis 1 of shape \[2, 3\]\); got 2$/);
      expectAntlerError(() => x.narrow(1, -4, 1), 'INVALID_ARGUMENT', /^narrow: start must be an integer in \[-3, 3\]/);
      expectAntlerError(() => x.narrow(0, 0.5, 1), 'INVALID_ARGUMENT', /start must be an integer/);
    }));

  test('squeeze, unsqueeze, expandDims and flatten reshape as torch does', () =>
    tidy(() => {
      const x = antler.zeros([1, 3, 1, 2]);
      expect(antler.squeeze(x).shape).toEqual([3, 2]);
      expect(antler.squeeze(x, 2).shape).toEqual([1, 3, 2]);
      expect(antler.squeeze(x, 1).shape).toEqual([1, 3, 1, 2]); // not of size 1: left (torch)
      expect(antler.unsqueeze(x, 4).shape).toEqual([1, 3, 1, 2, 1]);
      expect(antler.unsqueeze(x, -1).shape).toEqual([1, 3, 1, 2, 1]);
      expect(antler.expandDims(antler.zeros([3])).shape).toEqual([1, 3]);
      expect(antler.flatten(x).shape).toEqual([6]);
      expect(antler.flatten(x, 1, 2).shape).toEqual([1, 3, 2]);
      expect(antler.flatten(antler.zeros([])).shape).toEqual([1]);
      expectAntlerError(() => antler.squeeze(x, 4), 'INVALID_ARGUMENT', /axis must be an integer in \[-4, 4\)/);
      expectAntlerError(() => antler.unsqueeze(x, 5), 'INVALID_ARGUMENT', /\[-5, 5\)/);
    }));

  test('padSequence stacks sequences of different lengths, right-padded (torch.nn.utils.rnn.pad_sequence); each gets its own rows\' gradient', () =>
    tidy(() => {
      for (let trial = 0; trial < 4; trial++) {
        const tail = randomShape(rng, rng.int(0, 2), 1, 3), B = rng.int(1, 4), width = prod(tail);
        const lens = Array.from({ length: B }, () => rng.int(1, 5));
        const batchFirst = trial % 2 === 1, value = trial < 2 ? 0 : rng.uniform(-3, 3);
        const vals = lens.map((n) => randomArray(rng, n * width));
        const seqs = vals.map((v, b) => tensor(v, [lens[b], ...tail], { dtype: 'float64', requiresGrad: true }));
        const T = Math.max(...lens);
        const y = antler.padSequence(seqs, { batchFirst, ...(trial < 2 ? {} : { paddingValue: value }) });
        const outShape = batchFirst ? [B, T, ...tail] : [T, B, ...tail];
        expect(y.shape).toEqual(outShape);
        const at = (t: number, b: number, i: number) => ((batchFirst ? b * T + t : t * B + b) * width + i);
        const want = new Array<number>(prod(outShape));
        for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let i = 0; i < width; i++) want[at(t, b, i)] = t < lens[b] ? vals[b][t * width + i] : value;
        expectExact(read(y), want, `padSequence lengths ${lens} tail ${tail} batchFirst ${batchFirst}`);
        // d/dseq of Σ y ⊙ w is w at the sequence's own rows.
        const w = randomArray(rng, want.length);
        antler.sum(antler.mul(y, tensor(w, outShape, { dtype: 'float64' }))).backward();
        seqs.forEach((sq, b) => {
          const g = Array.from({ length: lens[b] * width }, (_, p) => w[at(Math.floor(p / width), b, p % width)]);
          expectExact(read(sq.grad!), g, `gradient of sequence ${b}`);
        });
      }
      const ints = antler.padSequence([tensor([1, 2, 3], [3], { dtype: 'int32' }), tensor([4], [1], { dtype: 'int32' })], { paddingValue: -1 });
      expect(ints.dtype).toBe('int32');
      expect(read(ints)).toEqual([1, 4, 2, -1, 3, -1]);
      expectAntlerError(() => antler.padSequence([]), 'INVALID_ARGUMENT', /^padSequence: expected a non-empty array of tensors/);
      expectAntlerError(() => antler.padSequence([antler.zeros([2, 3]), antler.zeros([2, 4])]), 'SHAPE_MISMATCH', /^padSequence: sequences\[1\] has shape \[2, 4\]; every sequence must be \[Tᵢ, 3\] like sequences\[0\] \(\[2, 3\]\)$/);
      expectAntlerError(() => antler.padSequence([antler.zeros([2]), antler.zeros([2], { dtype: 'float64' })]), 'DTYPE_MISMATCH', /sequences\[1\] is float64/);
      expectAntlerError(() => antler.padSequence([antler.zeros([])]), 'SHAPE_MISMATCH', /scalar/);
      expectAntlerError(() => antler.padSequence([ints], { paddingValue: 0.5 }), 'DTYPE_MISMATCH', /^padSequence: paddingValue 0.5 is not an int32/);
      expectAntlerError(() => antler.padSequence([ints], { paddingValue: 2 ** 40 }), 'DTYPE_MISMATCH', /^padSequence: paddingValue 1099511627776 is not an int32/);
      expectAntlerError(() => antler.padSequence([ints], { batch_first: true } as never), 'INVALID_ARGUMENT', /unknown option 'batch_first'/);
    }));
});
