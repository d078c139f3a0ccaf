/**
 * Batch normalisation: batchNorm (torch.nn.functional.batch_norm) and
 * nn.BatchNorm1d, against float64 JavaScript transcriptions of PyTorch's
 * definition (per-channel batch mean and biased variance for the output;
 * running statistics updated with the unbiased variance, or averaged over
 * all batches when momentum is null) and central finite differences.
 */
import * as antler from '../../lib';
import { DType, nn, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';
import { lateBest, torchStyleNormFile, trainThroughNorm } from '../norm-helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Per-channel (axis 1) mean, biased and unbiased variance of x, in float64. */
function channelStats(x: ArrayLike<number>, shape: readonly number[]): { mean: number[]; biased: number[]; unbiased: number[] } {
  const [N, C] = shape;
  const inner = size(shape.slice(2));
  const n = N * inner;
  const mean = new Array<number>(C).fill(0);
  const sq = new Array<number>(C).fill(0);
  for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) for (let k = 0; k < inner; k++) mean[c] += x[(i * C + c) * inner + k] / n;
  for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) for (let k = 0; k < inner; k++) sq[c] += (x[(i * C + c) * inner + k] - mean[c]) ** 2;
  return { mean, biased: sq.map((s) => s / n), unbiased: sq.map((s) => s / (n - 1)) };
}

/** y = (x − μ_c)/√(σ²_c + eps)·w_c + b_c with the given per-channel statistics. */
function normalizeRef(x: ArrayLike<number>, shape: readonly number[], mu: number[], v: number[], w: number[] | null, b: number[] | null, eps: number): Float64Array {
  const [N, C] = shape;
  const inner = size(shape.slice(2));
  const y = new Float64Array(size(shape));
  for (let i = 0; i < N; i++)
    for (let c = 0; c < C; c++)
      for (let k = 0; k < inner; k++) {
        const p = (i * C + c) * inner + k;
        y[p] = ((x[p] - mu[c]) / Math.sqrt(v[c] + eps)) * (w ? w[c] : 1) + (b ? b[c] : 0);
      }
  return y;
}

/**
 * Values of x [N, C, …] in [lo, hi) for a float32 check, redrawn until every channel with more than
 * one value has a biased variance of at least 1e-3. float32 rounds x and the mean by up to ~1.2e-7 each
 * (|x| < 4), and the normalisation multiplies that by rstd = 1/√(var + eps): two nearly equal values with
 * eps 1e-5 make rstd ~300 and the error ~4e-5·w, past the 2e-5 tolerance; var ≥ 1e-3 bounds rstd by 32
 * and the error by ~1.5e-5.
 */
function spreadValues(shape: readonly number[], lo: number, hi: number): number[] {
  for (;;) {
    const v = randomArray(rng, size(shape), lo, hi);
    if (size(shape) / shape[1] < 2 || Math.min(...channelStats(v, shape).biased) >= 1e-3) return v;
  }
}

const tol = (dtype: DType) => (dtype === 'float64' ? [1e-11, 1e-12] : [2e-5, 2e-5]);
const read = (t: Tensor) => Array.from(t.dataSync());

describe(`batchNorm, functional (seed ${SEED})`, () => {
  test.each(['float32', 'float64'] as DType[])('training: the batch statistics normalise, and the running ones move by momentum (unbiased variance) (%s)', (dtype) =>
    tidy(() => {
      for (const shape of [[rng.int(2, 6), rng.int(1, 4)], [rng.int(1, 4), rng.int(1, 4), rng.int(2, 6)], [2, 3, 2, 3]]) {
        const C = shape[1];
        const xv = spreadValues(shape, -2, 3);
        const x = tensor(xv, shape, { dtype });
        const affine = rng.next() < 0.7;
        const wv = randomArray(rng, C, 0.5, 2), bv = randomArray(rng, C);
        const rm0 = randomArray(rng, C), rv0 = randomArray(rng, C, 0.5, 2);
        const rm = tensor(rm0, [C], { dtype }), rv = tensor(rv0, [C], { dtype });
        const momentum = rng.pick([0.1, 0.5, 0.9, 1]);
        const eps = rng.pick([1e-5, 0.1]);
        const y = antler.batchNorm(x, rm, rv, { training: true, momentum, eps, ...(affine ? { weight: tensor(wv, [C], { dtype }), bias: tensor(bv, [C], { dtype }) } : {}) });
        // The reference sees the values as stored (float32 rounds them).
        const s = channelStats(read(x), shape);
        const [rtol, atol] = tol(dtype);
        expectClose(y.dataSync(), normalizeRef(read(x), shape, s.mean, s.biased, affine ? read(tensor(wv, [C], { dtype })) : null, affine ? read(tensor(bv, [C], { dtype })) : null, eps), rtol, atol, `y [${shape}]`);
        const stored = (v: number[]) => read(tensor(v, [C], { dtype }));
        expectClose(rm.dataSync(), stored(rm0).map((r, c) => (1 - momentum) * r + momentum * s.mean[c]), rtol, atol, 'running mean');
        expectClose(rv.dataSync(), stored(rv0).map((r, c) => (1 - momentum) * r + momentum * s.unbiased[c]), rtol, atol, 'running var');
      }
    }));

  test.each(['float32', 'float64'] as DType[])('evaluation normalises with the running statistics and leaves them alone (%s)', (dtype) =>
    tidy(() => {
      const shape = [rng.int(1, 5), rng.int(1, 4), rng.int(1, 5)];
      const C = shape[1];
      // Spread channels: the training branch below normalises with the batch's own statistics and eps 1e-5.
      const x = tensor(spreadValues(shape, -3, 3), shape, { dtype });
      const rm = tensor(randomArray(rng, C), [C], { dtype }), rv = tensor(randomArray(rng, C, 0.2, 3), [C], { dtype });
      const w = tensor(randomArray(rng, C), [C], { dtype }), b = tensor(randomArray(rng, C), [C], { dtype });
      const [rmBefore, rvBefore] = [read(rm), read(rv)];
      const y = antler.batchNorm(x, rm, rv, { weight: w, bias: b, eps: 0.01 });
      const [rtol, atol] = tol(dtype);
      expectClose(y.dataSync(), normalizeRef(read(x), shape, rmBefore, rvBefore, read(w), read(b), 0.01), rtol, atol);
      expectExact(rm.dataSync(), rmBefore);
      expectExact(rv.dataSync(), rvBefore);
      // Training without running statistics normalises with the batch's and updates nothing (a batch of one value
      // per channel is refused in training: see the errors test).
      if (size(shape) / C > 1) {
        const z = antler.batchNorm(x, null, null, { training: true });
        const s = channelStats(read(x), shape);
        expectClose(z.dataSync(), normalizeRef(read(x), shape, s.mean, s.biased, null, null, 1e-5), rtol, atol);
      }
    }));

  test('gradients in training (through the batch statistics) and evaluation match central differences (float64)', () =>
    tidy(() => {
      const shape = [3, 2, 4];
      const C = 2;
      const xv = randomArray(rng, size(shape), -2, 2), wv = randomArray(rng, C, 0.5, 2), bv = randomArray(rng, C);
      const gv = randomArray(rng, size(shape));
      const rmv = randomArray(rng, C), rvv = randomArray(rng, C, 0.5, 2);
      for (const training of [true, false]) {
        const loss = (xs: number[], ws: number[], bs: number[], record: boolean) => {
          const x = tensor(xs, shape, { dtype: 'float64', requiresGrad: record });
          const w = tensor(ws, [C], { dtype: 'float64', requiresGrad: record });
          const b = tensor(bs, [C], { dtype: 'float64', requiresGrad: record });
          const rm = tensor(rmv, [C], { dtype: 'float64' }), rv = tensor(rvv, [C], { dtype: 'float64' });
          const l = antler.sum(antler.mul(antler.batchNorm(x, rm, rv, { weight: w, bias: b, training }), tensor(gv, shape, { dtype: 'float64' })));
          return { l, x, w, b };
        };
        const { l, x, w, b } = loss(xv, wv, bv, true);
        l.backward();
        const h = 1e-6;
        const fd = (which: 0 | 1 | 2, base: number[]) =>
          base.map((_, j) => {
            const at = (d: number) => {
              const args = [xv, wv, bv].map((a, k) => (k === which ? a.map((v, q) => (q === j ? v + d : v)) : a)) as [number[], number[], number[]];
              return loss(...args, false).l.item();
            };
            return (at(h) - at(-h)) / (2 * h);
          });
        expectClose(x.grad!.dataSync(), fd(0, xv), 1e-6, 1e-8, `x, training ${training}`);
        expectClose(w.grad!.dataSync(), fd(1, wv), 1e-6, 1e-8, `weight, training ${training}`);
        expectClose(b.grad!.dataSync(), fd(2, bv), 1e-6, 1e-8, `bias, training ${training}`);
      }
    }));

  test('bad calls throw AntlerError naming what was passed, and change nothing', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 12), [2, 3, 2]);
      const c3 = () => tensor([0, 0, 0], [3]);
      const rm = c3(), rv = tensor([1, 1, 1], [3]);
      expectAntlerError(() => antler.batchNorm(tensor([1, 2, 3]), null, null, { training: true }), 'SHAPE_MISMATCH', /^batchNorm: x must have at least 2 dims, \[N, C, …\].*got shape \[3\]$/);
      expectAntlerError(() => antler.batchNorm(x, tensor([0, 0], [2]), rv), 'SHAPE_MISMATCH', /^batchNorm: runningMean has shape \[2\]; expected \[3\], one value per channel \(axis 1 of x's \[2, 3, 2\]\)$/);
      expectAntlerError(() => antler.batchNorm(x, rm, rv, { weight: tensor([1, 1, 1, 1], [4]) }), 'SHAPE_MISMATCH', /^batchNorm: weight has shape \[4\]/);
      expectAntlerError(() => antler.batchNorm(x, rm, null), 'INVALID_ARGUMENT', /^batchNorm: give both runningMean and runningVar, or neither; got runningMean alone$/);
      expectAntlerError(() => antler.batchNorm(x, null, null), 'INVALID_ARGUMENT', /^batchNorm: evaluation \(training: false, the default\) normalises with the running statistics/);
      expectAntlerError(() => antler.batchNorm(x, rm, rv, { bias: c3().cast('float64') }), 'DTYPE_MISMATCH', /^batchNorm: bias is float64 and x float32/);
      expectAntlerError(() => antler.batchNorm(x.cast('int32'), null, null, { training: true }), 'DTYPE_MISMATCH', /^batchNorm: x must be float32 or float64; got int32/);
      expectAntlerError(() => antler.batchNorm(x, rm, rv, { eps: -1 }), 'INVALID_ARGUMENT', /^batchNorm: eps must be >= 0; got -1$/);
      expectAntlerError(() => antler.batchNorm(x, rm, rv, { momentum: NaN }), 'INVALID_ARGUMENT', /^batchNorm: momentum must be finite/);
      expectAntlerError(() => antler.batchNorm(x, rm, rv, { train: true } as never), 'INVALID_ARGUMENT', /^batchNorm: unknown option 'train'/);
      // One value per channel in training: PyTorch's ValueError; the running statistics stay as they were.
      expectAntlerError(() => antler.batchNorm(tensor([1, 2, 3], [1, 3]), rm, rv, { training: true }), 'INVALID_ARGUMENT', /^batchNorm: expected more than 1 value per channel when training; got x of shape \[1, 3\]/);
      expectExact(rm.dataSync(), [0, 0, 0]);
      expectExact(rv.dataSync(), [1, 1, 1]);
    }));
});

describe(`nn.BatchNorm1d (seed ${SEED})`, () => {
  test("PyTorch's parameters, buffers and state-dict names; its summary", () => {
    const bn = new nn.BatchNorm1d(4);
    expect(tidy(() => Object.keys(bn.stateDict()))).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expectExact(bn.weight!.dataSync(), [1, 1, 1, 1]);
    expectExact(bn.bias!.dataSync(), [0, 0, 0, 0]);
    expectExact(bn.runningMean!.dataSync(), [0, 0, 0, 0]);
    expectExact(bn.running_var!.dataSync(), [1, 1, 1, 1]);
    expect(bn.num_batches_tracked!.dtype).toBe('int32');
    expect(bn.numBatchesTracked!.shape).toEqual([]);
    expect(bn.parameters()).toEqual([bn.weight, bn.bias]);
    expect(String(bn)).toBe('BatchNorm1d(numFeatures: 4, eps: 0.00001, momentum: 0.1, affine: true, trackRunningStats: true)');
    bn.dispose();
    const plain = new nn.BatchNorm1d(3, { affine: false, trackRunningStats: false });
    expect(tidy(() => Object.keys(plain.stateDict()))).toEqual([]);
    expect(plain.parameters()).toEqual([]);
    expect(plain.runningMean).toBeNull();
    plain.dispose();
  });

  test.each([0.1, 0.6, null])('training steps update the running statistics (momentum %s) and count the batches; eval mode uses them', (momentum) =>
    tidy(() => {
      const C = 3;
      const bn = new nn.BatchNorm1d(C, { momentum, dtype: 'float64' });
      const w = randomArray(rng, C, 0.5, 2), b = randomArray(rng, C);
      antler.noGrad(() => {
        bn.weight!.assign(tensor(w, [C], { dtype: 'float64' }));
        bn.bias!.assign(tensor(b, [C], { dtype: 'float64' }));
      });
      let rm = [0, 0, 0], rv = [1, 1, 1];
      const steps = 5;
      for (let k = 1; k <= steps; k++) {
        // [N, C] and [N, C, L] batches of several sizes, as PyTorch's BatchNorm1d takes both.
        const shape = rng.next() < 0.5 ? [rng.int(2, 6), C] : [rng.int(1, 4), C, rng.int(2, 5)];
        const xv = randomArray(rng, size(shape), -1, 4);
        const y = bn.forward(tensor(xv, shape, { dtype: 'float64' }));
        const s = channelStats(xv, shape);
        expectClose(y.dataSync(), normalizeRef(xv, shape, s.mean, s.biased, w, b, 1e-5), 1e-11, 1e-12, `step ${k}`);
        const f = momentum ?? 1 / k;
        rm = rm.map((r, c) => (1 - f) * r + f * s.mean[c]);
        rv = rv.map((r, c) => (1 - f) * r + f * s.unbiased[c]);
        expectClose(bn.runningMean!.dataSync(), rm, 1e-12, 1e-13, `running mean after ${k}`);
        expectClose(bn.runningVar!.dataSync(), rv, 1e-12, 1e-13, `running var after ${k}`);
        expect(bn.numBatchesTracked!.item()).toBe(k);
      }
      bn.eval();
      const shape = [1, C, 3];
      const xv = randomArray(rng, size(shape));
      expectClose(bn.forward(tensor(xv, shape, { dtype: 'float64' })).dataSync(), normalizeRef(xv, shape, rm, rv, w, b, 1e-5), 1e-11, 1e-12, 'eval');
      expect(bn.numBatchesTracked!.item()).toBe(steps);
      expectClose(bn.runningMean!.dataSync(), rm, 1e-12, 1e-13, 'eval leaves the running mean');
      bn.dispose();
    }));

  test('without running statistics the batch statistics serve in eval mode too; without affine there is no weight', () =>
    tidy(() => {
      const bn = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false, eps: 0.5 });
      const shape = [4, 2, 3];
      const x = tensor(randomArray(rng, 24, -2, 2), shape);
      const s = channelStats(read(x), shape);
      const want = normalizeRef(read(x), shape, s.mean, s.biased, null, null, 0.5);
      expectClose(bn.forward(x).dataSync(), want, 2e-5, 2e-5, 'train');
      bn.eval();
      expectClose(bn.forward(x).dataSync(), want, 2e-5, 2e-5, 'eval');
      bn.dispose();
    }));

  test('a model with BatchNorm1d trains: gradients reach the layers before it, and the loss falls', () => {
    const losses = trainThroughNorm(new nn.BatchNorm1d(8), SEED);
    expect(lateBest(losses)).toBeLessThan(0.2);
  });

  test('state dicts round-trip (the counter int32, as PyTorch int64 files load); cast() keeps the counter int32', () =>
    tidy(() => {
      const a = new nn.BatchNorm1d(3);
      for (let i = 0; i < 3; i++) a.forward(tensor(randomArray(rng, 15, -1, 2), [5, 3]));
      a.eval();
      const b = new nn.BatchNorm1d(3);
      b.loadStateDict(a.stateDict());
      b.eval();
      const x = tensor(randomArray(rng, 6), [2, 3]);
      expectExact(b.forward(x).dataSync(), a.forward(x).dataSync());
      expect(b.numBatchesTracked!.item()).toBe(3);
      // A safetensors file as PyTorch's save_file(bn.state_dict()) writes it: F32 vectors, the counter I64 [].
      const file = torchStyleNormFile(a.stateDict(), 3n);
      const back = antler.parseSafetensors(file).tensors;
      const c = new nn.BatchNorm1d(3);
      c.loadStateDict(back);
      expectExact(c.runningVar!.dataSync(), a.runningVar!.dataSync());
      expect(c.numBatchesTracked!.item()).toBe(3);
      expect(c.numBatchesTracked!.dtype).toBe('int32');
      a.cast('float64');
      expect(a.runningMean!.dtype).toBe('float64');
      expect(a.numBatchesTracked!.dtype).toBe('int32');
      for (const m of [a, b, c]) m.dispose();
      for (const t of Object.values(back)) t.dispose();
    }));

  test('bad inputs throw AntlerError and leave the statistics and the counter alone', () =>
    tidy(() => {
      const bn = new nn.BatchNorm1d(3);
      const before = [read(bn.runningMean!), read(bn.runningVar!)];
      expectAntlerError(() => bn.forward(tensor(randomArray(rng, 8), [2, 4])), 'SHAPE_MISMATCH', /^BatchNorm1d: input has 4 channels \(axis 1 of \[2, 4\]\); expected numFeatures = 3$/);
      expectAntlerError(() => bn.forward(tensor([1, 2, 3])), 'SHAPE_MISMATCH', /^BatchNorm1d: expected input \[N, C\] or \[N, C, L\]; got shape \[3\]$/);
      expectAntlerError(() => bn.forward(tensor(randomArray(rng, 12), [2, 3, 1, 2])), 'SHAPE_MISMATCH', /got shape \[2, 3, 1, 2\]/);
      expectAntlerError(() => bn.forward(tensor(randomArray(rng, 6), [2, 3], { dtype: 'float64' })), 'DTYPE_MISMATCH', /^BatchNorm1d: input is float64; the module is float32/);
      expectAntlerError(() => bn.forward(tensor([1, 2, 3], [1, 3, 1])), 'INVALID_ARGUMENT', /more than 1 value per channel when training/);
      expect(bn.numBatchesTracked!.item()).toBe(0);
      expectExact(bn.runningMean!.dataSync(), before[0]);
      expectExact(bn.runningVar!.dataSync(), before[1]);
      // One sample is fine in eval mode (the running statistics normalise it).
      bn.eval();
      expect(bn.forward(tensor([1, 2, 3], [1, 3])).shape).toEqual([1, 3]);
      expectAntlerError(() => new nn.BatchNorm1d(0), 'INVALID_ARGUMENT', /numFeatures/);
      expectAntlerError(() => new nn.BatchNorm1d(3, { eps: -1 }), 'INVALID_ARGUMENT', /^BatchNorm1d: eps must be >= 0; got -1$/);
      expectAntlerError(() => new nn.BatchNorm1d(3, { momentum: 'x' as never }), 'INVALID_ARGUMENT', /momentum must be a number/);
      expectAntlerError(() => new nn.BatchNorm1d(3, { affine: 1 as never }), 'INVALID_ARGUMENT', /affine/);
      bn.dispose();
    }));
});
