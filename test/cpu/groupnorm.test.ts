/**
 * Group and instance normalisation: groupNorm / nn.GroupNorm
 * (torch.nn.functional.group_norm, torch.nn.GroupNorm) and instanceNorm /
 * nn.InstanceNorm1d (torch.nn.functional.instance_norm,
 * torch.nn.InstanceNorm1d), against float64 JavaScript transcriptions of
 * PyTorch's definitions (per (sample, group) or (sample, channel) mean and
 * biased variance; running statistics moved by the batch's average of the
 * instance means and unbiased variances) and central finite differences.
 */
import * as antler from '../../lib';
import { DType, nn, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';
import { lateBest, torchStyleNormFile, trainThroughNorm } from '../norm-helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const read = (t: Tensor) => Array.from(t.dataSync());
const tol = (dtype: DType) => (dtype === 'float64' ? [1e-11, 1e-12] : [3e-5, 3e-5]);
const F64 = { dtype: 'float64' as const };

/**
 * PyTorch's group_norm in float64: x [N, C, …] viewed as [N, G, C/G · inner];
 * each row normalised with its mean and biased variance, then w_c·x̂ + b_c.
 */
function groupNormRef(x: ArrayLike<number>, shape: readonly number[], G: number, w: number[] | null, b: number[] | null, eps: number): Float64Array {
  const [N, C] = shape;
  const inner = size(shape.slice(2));
  const per = (C / G) * inner;
  const y = new Float64Array(size(shape));
  for (let n = 0; n < N; n++)
    for (let g = 0; g < G; g++) {
      const base = (n * G + g) * per; // the group's values are contiguous in [N, C, …]
      let mu = 0;
      for (let k = 0; k < per; k++) mu += x[base + k];
      mu /= per;
      let v = 0;
      for (let k = 0; k < per; k++) v += (x[base + k] - mu) ** 2;
      v /= per;
      for (let k = 0; k < per; k++) {
        const c = g * (C / G) + Math.floor(k / inner);
        y[base + k] = ((x[base + k] - mu) / Math.sqrt(v + eps)) * (w ? w[c] : 1) + (b ? b[c] : 0);
      }
    }
  return y;
}

/** Per (sample, channel) mean, biased and unbiased variance over the trailing axes, in float64: [N][C]. */
function instanceStats(x: ArrayLike<number>, shape: readonly number[]): { mean: number[][]; biased: number[][]; unbiased: number[][] } {
  const [N, C] = shape;
  const L = size(shape.slice(2));
  const mean: number[][] = [], biased: number[][] = [], unbiased: number[][] = [];
  for (let n = 0; n < N; n++) {
    mean.push([]), biased.push([]), unbiased.push([]);
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * L;
      let mu = 0;
      for (let k = 0; k < L; k++) mu += x[base + k];
      mu /= L;
      let s = 0;
      for (let k = 0; k < L; k++) s += (x[base + k] - mu) ** 2;
      mean[n].push(mu), biased[n].push(s / L), unbiased[n].push(s / (L - 1));
    }
  }
  return { mean, biased, unbiased };
}

/** y = (x − μ)/√(σ² + eps)·w_c + b_c with statistics per (sample, channel) ([N][C]). */
function instanceRef(x: ArrayLike<number>, shape: readonly number[], mu: number[][], v: number[][], w: number[] | null, b: number[] | null, eps: number): Float64Array {
  const [N, C] = shape;
  const L = size(shape.slice(2));
  const y = new Float64Array(size(shape));
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let k = 0; k < L; k++) {
        const p = (n * C + c) * L + k;
        y[p] = ((x[p] - mu[n][c]) / Math.sqrt(v[n][c] + eps)) * (w ? w[c] : 1) + (b ? b[c] : 0);
      }
  return y;
}

/**
 * n values in [lo, hi) for a float32 check, redrawn until each run of `per` contiguous ones (a group of
 * groupNorm's [N, G, per] view, an instance of instanceNorm's [N·C, L]; runs of one value are exact) has a
 * biased variance of at least 1e-3. float32 rounds x and the mean by up to ~1.2e-7 each (|x| < 4), and the
 * normalisation multiplies that by rstd = 1/√(var + eps): two nearly equal values with eps 1e-5 make rstd
 * ~300 and the error ~4e-5·|w|, past the 3e-5 tolerance (about 1 run in 4000 failed); var ≥ 1e-3 bounds
 * rstd by 32 and the error by ~1.5e-5.
 */
function spreadValues(n: number, per: number, lo: number, hi: number): number[] {
  for (;;) {
    const v = randomArray(rng, n, lo, hi);
    let ok = true;
    for (let g = 0; per > 1 && g < n && ok; g += per) {
      const run = v.slice(g, g + per);
      const mu = run.reduce((a, b) => a + b, 0) / per;
      ok = run.reduce((a, b) => a + (b - mu) ** 2, 0) / per >= 1e-3;
    }
    if (ok) return v;
  }
}

const batchAverage = (s: number[][]) => s[0].map((_, c) => s.reduce((a, row) => a + row[c], 0) / s.length);

/** x [N, C] + `trailing` dims (0–2) of random sizes, C a multiple of G; G = 1, G = C or between. */
function drawGeometry(trailing: number, which: 'one' | 'all' | 'some'): { shape: number[]; G: number } {
  const per = rng.int(1, 3);
  const G = which === 'one' ? 1 : rng.int(1, 4);
  const C = which === 'all' ? G : which === 'one' ? rng.int(1, 5) : G * per;
  const shape = [rng.int(1, 4), C, ...Array.from({ length: trailing }, () => rng.int(1, 4))];
  // PyTorch refuses one sample with one value per group.
  if (size(shape) / G === 1) shape[0] = 2;
  return { shape, G: which === 'one' ? 1 : G };
}

/** Central differences of f at each coordinate of the arg-th argument (float64). */
function centralDiff(f: (args: number[][]) => number, args: number[][], arg: number, h = 1e-6): number[] {
  return args[arg].map((_, j) => {
    const at = (d: number) => f(args.map((a, k) => (k === arg ? a.map((v, q) => (q === j ? v + d : v)) : a)));
    return (at(h) - at(-h)) / (2 * h);
  });
}

describe(`groupNorm, functional (seed ${SEED})`, () => {
  test.each(['float32', 'float64'] as DType[])('matches PyTorch’s definition: groups 1, C and between; 0, 1 and 2 trailing dims (%s)', (dtype) =>
    tidy(() => {
      for (const trailing of [0, 1, 2])
        for (const which of ['one', 'all', 'some'] as const) {
          const { shape, G } = drawGeometry(trailing, which);
          const C = shape[1];
          const x = tensor(spreadValues(size(shape), size(shape) / (shape[0] * G), -2, 3), shape, { dtype });
          const affine = rng.next() < 0.7;
          const w = tensor(randomArray(rng, C, -2, 2), [C], { dtype }), b = tensor(randomArray(rng, C), [C], { dtype });
          const eps = rng.pick([1e-5, 0.1]);
          const y = antler.groupNorm(x, G, { eps, ...(affine ? { weight: w, bias: b } : {}) });
          expect(y.shape).toEqual(shape);
          expect(y.dtype).toBe(dtype);
          const [rtol, atol] = tol(dtype);
          expectClose(y.dataSync(), groupNormRef(read(x), shape, G, affine ? read(w) : null, affine ? read(b) : null, eps), rtol, atol, `[${shape}] G ${G}`);
        }
    }));

  test('groups = C is instance normalisation; groups = 1 normalises each sample over everything', () =>
    tidy(() => {
      const shape = [rng.int(1, 4), rng.int(1, 5), rng.int(2, 6)];
      const x = tensor(randomArray(rng, size(shape), -2, 2), shape, F64);
      expectClose(antler.groupNorm(x, shape[1]).dataSync(), antler.instanceNorm(x).dataSync(), 1e-12, 1e-13);
      const s = instanceStats(read(x), [shape[0], 1, shape[1] * shape[2]]);
      expectClose(antler.groupNorm(x, 1).dataSync(), instanceRef(read(x), [shape[0], 1, shape[1] * shape[2]], s.mean, s.biased, null, null, 1e-5), 1e-11, 1e-12);
    }));

  test('an empty batch gives an empty result', () =>
    tidy(() => {
      const y = antler.groupNorm(tensor([], [0, 4, 3]), 2, { weight: tensor([1, 2, 3, 4]), bias: tensor([0, 0, 0, 0]) });
      expect(y.shape).toEqual([0, 4, 3]);
    }));

  test('gradients to x, weight and bias match central differences (float64)', () =>
    tidy(() => {
      for (const which of ['one', 'all', 'some'] as const) {
        const { shape, G } = drawGeometry(rng.int(0, 2), which);
        const C = shape[1];
        const gv = randomArray(rng, size(shape));
        const args = [randomArray(rng, size(shape), -2, 2), randomArray(rng, C, 0.5, 2), randomArray(rng, C)];
        const run = ([xs, ws, bs]: number[][], record: boolean) => {
          const x = tensor(xs, shape, { ...F64, requiresGrad: record }), w = tensor(ws, [C], { ...F64, requiresGrad: record }), b = tensor(bs, [C], { ...F64, requiresGrad: record });
          return { l: antler.sum(antler.mul(antler.groupNorm(x, G, { weight: w, bias: b, eps: 1e-3 }), tensor(gv, shape, F64))), leaves: [x, w, b] };
        };
        const { l, leaves } = run(args, true);
        l.backward();
        const f = (a: number[][]) => tidy(() => run(a, false).l.item());
        leaves.forEach((leaf, i) => expectClose(leaf.grad!.dataSync(), centralDiff(f, args, i), 1e-6, 1e-8, `[${shape}] G ${G}, ${['x', 'weight', 'bias'][i]}`));
      }
    }));

  test('bad calls throw AntlerError naming what was passed', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 24), [2, 6, 2]);
      expectAntlerError(() => antler.groupNorm(x, 4), 'INVALID_ARGUMENT', /^groupNorm: x has 6 channels \(axis 1 of \[2, 6, 2\]\), which numGroups = 4 does not divide/);
      expectAntlerError(() => antler.groupNorm(x, 0), 'INVALID_ARGUMENT', /^groupNorm: numGroups must be an integer >= 1; got 0$/);
      expectAntlerError(() => antler.groupNorm(x, 1.5), 'INVALID_ARGUMENT', /^groupNorm: numGroups must be an integer/);
      expectAntlerError(() => antler.groupNorm(tensor([1, 2, 3]), 1), 'SHAPE_MISMATCH', /^groupNorm: x must have at least 2 dims, \[N, C, …\].*got shape \[3\]$/);
      expectAntlerError(() => antler.groupNorm(x, 2, { weight: tensor([1, 1, 1], [3]) }), 'SHAPE_MISMATCH', /^groupNorm: weight has shape \[3\]; expected \[6\], one value per channel/);
      expectAntlerError(() => antler.groupNorm(x, 2, { bias: tensor([0, 0, 0, 0, 0, 0], [6], F64) }), 'DTYPE_MISMATCH', /^groupNorm: bias is float64 and x float32/);
      expectAntlerError(() => antler.groupNorm(x.cast('int32'), 2), 'DTYPE_MISMATCH', /^groupNorm: x must be float32 or float64; got int32/);
      expectAntlerError(() => antler.groupNorm(x, 2, { eps: -1 }), 'INVALID_ARGUMENT', /^groupNorm: eps must be >= 0; got -1$/);
      expectAntlerError(() => antler.groupNorm(x, 2, { epsilon: 1 } as never), 'INVALID_ARGUMENT', /^groupNorm: unknown option 'epsilon'/);
      // One sample with one value per group: PyTorch's ValueError.
      expectAntlerError(() => antler.groupNorm(tensor([1, 2, 3], [1, 3, 1]), 3), 'INVALID_ARGUMENT', /^groupNorm: expected more than 1 value per group; got x of shape \[1, 3, 1\] with numGroups = 3/);
    }));
});

describe(`instanceNorm, functional (seed ${SEED})`, () => {
  test.each(['float32', 'float64'] as DType[])('the instance statistics normalise, and the running ones move by momentum with the batch-averaged unbiased variance (%s)', (dtype) =>
    tidy(() => {
      for (const shape of [[rng.int(1, 4), rng.int(1, 4), rng.int(2, 6)], [rng.int(1, 3), rng.int(1, 3), rng.int(1, 3), rng.int(2, 4)]]) {
        const C = shape[1];
        const x = tensor(spreadValues(size(shape), size(shape.slice(2)), -2, 3), shape, { dtype });
        const affine = rng.next() < 0.7;
        const w = tensor(randomArray(rng, C, -2, 2), [C], { dtype }), b = tensor(randomArray(rng, C), [C], { dtype });
        const rm0 = randomArray(rng, C), rv0 = randomArray(rng, C, 0.5, 2);
        const rm = tensor(rm0, [C], { dtype }), rv = tensor(rv0, [C], { dtype });
        const [rm0s, rv0s] = [read(rm), read(rv)];
        const momentum = rng.pick([0.1, 0.5, 1]);
        const eps = rng.pick([1e-5, 0.1]);
        const y = antler.instanceNorm(x, { runningMean: rm, runningVar: rv, momentum, eps, ...(affine ? { weight: w, bias: b } : {}) });
        const s = instanceStats(read(x), shape);
        const [rtol, atol] = tol(dtype);
        expectClose(y.dataSync(), instanceRef(read(x), shape, s.mean, s.biased, affine ? read(w) : null, affine ? read(b) : null, eps), rtol, atol, `y [${shape}]`);
        const [m, v] = [batchAverage(s.mean), batchAverage(s.unbiased)];
        expectClose(rm.dataSync(), rm0s.map((r, c) => (1 - momentum) * r + momentum * m[c]), rtol, atol, 'running mean');
        expectClose(rv.dataSync(), rv0s.map((r, c) => (1 - momentum) * r + momentum * v[c]), rtol, atol, 'running var');
      }
    }));

  test('useInputStats: false normalises with the running statistics and leaves them alone (L = 1 allowed)', () =>
    tidy(() => {
      for (const L of [1, rng.int(2, 5)]) {
        const shape = [rng.int(1, 4), rng.int(1, 4), L];
        const C = shape[1];
        const x = tensor(randomArray(rng, size(shape), -3, 3), shape, F64);
        const rmv = randomArray(rng, C), rvv = randomArray(rng, C, 0.2, 3);
        const rm = tensor(rmv, [C], F64), rv = tensor(rvv, [C], F64);
        const w = tensor(randomArray(rng, C), [C], F64), b = tensor(randomArray(rng, C), [C], F64);
        const y = antler.instanceNorm(x, { runningMean: rm, runningVar: rv, weight: w, bias: b, useInputStats: false, eps: 0.01 });
        const rows = (v: number[]) => Array.from({ length: shape[0] }, () => v);
        expectClose(y.dataSync(), instanceRef(read(x), shape, rows(rmv), rows(rvv), read(w), read(b), 0.01), 1e-11, 1e-12);
        expectExact(rm.dataSync(), rmv);
        expectExact(rv.dataSync(), rvv);
      }
    }));

  test('gradients to x, weight and bias match central differences, with the instance statistics and with the running ones (float64)', () =>
    tidy(() => {
      const shape = [rng.int(1, 3), rng.int(1, 3), rng.int(2, 5)];
      const C = shape[1];
      const gv = randomArray(rng, size(shape));
      const rmv = randomArray(rng, C), rvv = randomArray(rng, C, 0.5, 2);
      const args = [randomArray(rng, size(shape), -2, 2), randomArray(rng, C, 0.5, 2), randomArray(rng, C)];
      for (const useInputStats of [true, false]) {
        const run = ([xs, ws, bs]: number[][], record: boolean) => {
          const x = tensor(xs, shape, { ...F64, requiresGrad: record }), w = tensor(ws, [C], { ...F64, requiresGrad: record }), b = tensor(bs, [C], { ...F64, requiresGrad: record });
          const y = antler.instanceNorm(x, { runningMean: tensor(rmv, [C], F64), runningVar: tensor(rvv, [C], F64), weight: w, bias: b, useInputStats, eps: 1e-3 });
          return { l: antler.sum(antler.mul(y, tensor(gv, shape, F64))), leaves: [x, w, b] };
        };
        const { l, leaves } = run(args, true);
        l.backward();
        const f = (a: number[][]) => tidy(() => run(a, false).l.item());
        leaves.forEach((leaf, i) => expectClose(leaf.grad!.dataSync(), centralDiff(f, args, i), 1e-6, 1e-8, `useInputStats ${useInputStats}, ${['x', 'weight', 'bias'][i]}`));
      }
    }));

  test('bad calls throw AntlerError naming what was passed, and change nothing', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 12), [2, 3, 2]);
      const rm = tensor([0, 0, 0], [3]), rv = tensor([1, 1, 1], [3]);
      // One position per instance with its own statistics: PyTorch's ValueError; the running statistics stay.
      expectAntlerError(() => antler.instanceNorm(tensor([1, 2, 3, 4, 5, 6], [2, 3, 1]), { runningMean: rm, runningVar: rv }), 'INVALID_ARGUMENT',
        /^instanceNorm: expected more than 1 spatial element per instance when using the input's statistics; got x of shape \[2, 3, 1\]/);
      expectAntlerError(() => antler.instanceNorm(tensor([1, 2, 3, 4], [2, 2])), 'INVALID_ARGUMENT', /^instanceNorm: expected more than 1 spatial element .* got x of shape \[2, 2\]/);
      expectExact(rm.dataSync(), [0, 0, 0]);
      expectExact(rv.dataSync(), [1, 1, 1]);
      expectAntlerError(() => antler.instanceNorm(tensor([1, 2, 3])), 'SHAPE_MISMATCH', /^instanceNorm: x must have at least 2 dims/);
      expectAntlerError(() => antler.instanceNorm(x, { runningMean: tensor([0, 0], [2]), runningVar: rv }), 'SHAPE_MISMATCH', /^instanceNorm: runningMean has shape \[2\]; expected \[3\]/);
      expectAntlerError(() => antler.instanceNorm(x, { runningMean: rm }), 'INVALID_ARGUMENT', /^instanceNorm: give both runningMean and runningVar, or neither; got runningMean alone$/);
      expectAntlerError(() => antler.instanceNorm(x, { useInputStats: false }), 'INVALID_ARGUMENT', /^instanceNorm: useInputStats: false normalises with the running statistics; pass runningMean and runningVar/);
      expectAntlerError(() => antler.instanceNorm(x, { weight: tensor([1, 1, 1], [3], F64) }), 'DTYPE_MISMATCH', /^instanceNorm: weight is float64 and x float32/);
      expectAntlerError(() => antler.instanceNorm(x, { momentum: NaN }), 'INVALID_ARGUMENT', /^instanceNorm: momentum must be finite/);
      expectAntlerError(() => antler.instanceNorm(x, { training: true } as never), 'INVALID_ARGUMENT', /^instanceNorm: unknown option 'training'/);
    }));
});

describe(`nn.GroupNorm (seed ${SEED})`, () => {
  test("PyTorch's parameters and state-dict names; its summary; the same in train and eval mode", () =>
    tidy(() => {
      const gn = new nn.GroupNorm(2, 4);
      expect(Object.keys(gn.stateDict())).toEqual(['weight', 'bias']);
      expectExact(gn.weight!.dataSync(), [1, 1, 1, 1]);
      expectExact(gn.bias!.dataSync(), [0, 0, 0, 0]);
      expect(gn.parameters()).toEqual([gn.weight, gn.bias]);
      expect(String(gn)).toBe('GroupNorm(numGroups: 2, numChannels: 4, eps: 0.00001, affine: true)');
      const shape = [rng.int(1, 4), 4, rng.int(1, 5)];
      if (size(shape) === 4) shape[0] = 2;
      const w = randomArray(rng, 4), b = randomArray(rng, 4);
      antler.noGrad(() => {
        gn.weight!.assign(tensor(w, [4]));
        gn.bias!.assign(tensor(b, [4]));
      });
      const x = tensor(spreadValues(size(shape), size(shape) / (shape[0] * 2), -2, 2), shape);
      const want = groupNormRef(read(x), shape, 2, read(tensor(w, [4])), read(tensor(b, [4])), 1e-5);
      expectClose(gn.forward(x).dataSync(), want, 3e-5, 3e-5, 'train');
      gn.eval();
      expectClose(gn.forward(x).dataSync(), want, 3e-5, 3e-5, 'eval');
      // State dicts round-trip.
      const other = new nn.GroupNorm(2, 4);
      other.loadStateDict(gn.stateDict());
      expectExact(other.forward(x).dataSync(), gn.forward(x).dataSync());
      other.dispose();
      gn.dispose();
      const plain = new nn.GroupNorm(3, 3, { affine: false, eps: 0.1, dtype: 'float64' });
      expect(Object.keys(plain.stateDict())).toEqual([]);
      expect(plain.parameters()).toEqual([]);
      const y = tensor(randomArray(rng, 6), [2, 3], F64);
      expectClose(plain.forward(y).dataSync(), groupNormRef(read(y), [2, 3], 3, null, null, 0.1), 1e-12, 1e-13);
      plain.dispose();
    }));

  test('a model with GroupNorm trains: gradients reach the layers before it, and the loss falls', () => {
    const losses = trainThroughNorm(new nn.GroupNorm(2, 8), SEED);
    expect(lateBest(losses)).toBeLessThan(0.5);
  });

  test('bad settings and inputs throw AntlerError naming them', () =>
    tidy(() => {
      expectAntlerError(() => new nn.GroupNorm(4, 6), 'INVALID_ARGUMENT', /^GroupNorm: numChannels = 6 is not divisible by numGroups = 4/);
      expectAntlerError(() => new nn.GroupNorm(0, 6), 'INVALID_ARGUMENT', /^GroupNorm: numGroups must be an integer >= 1; got 0$/);
      expectAntlerError(() => new nn.GroupNorm(2, 4, { eps: -1 }), 'INVALID_ARGUMENT', /^GroupNorm: eps must be >= 0/);
      expectAntlerError(() => new nn.GroupNorm(2, 4, { momentum: 0.1 } as never), 'INVALID_ARGUMENT', /^GroupNorm: unknown option 'momentum'/);
      const gn = new nn.GroupNorm(2, 4);
      expectAntlerError(() => gn.forward(tensor(randomArray(rng, 12), [2, 6])), 'SHAPE_MISMATCH', /^GroupNorm: input has 6 channels \(axis 1 of \[2, 6\]\); expected numChannels = 4$/);
      expectAntlerError(() => gn.forward(tensor([1, 2, 3, 4])), 'SHAPE_MISMATCH', /^GroupNorm: expected input \[N, C, …\] with at least 2 dims; got shape \[4\]$/);
      expectAntlerError(() => gn.forward(tensor(randomArray(rng, 8), [2, 4], F64)), 'DTYPE_MISMATCH');
      gn.dispose();
    }));
});

describe(`nn.InstanceNorm1d (seed ${SEED})`, () => {
  test("PyTorch's defaults (no affine, no running statistics), parameters, buffers and state-dict names; its summary", () =>
    tidy(() => {
      const plain = new nn.InstanceNorm1d(3);
      expect(Object.keys(plain.stateDict())).toEqual([]);
      expect(plain.parameters()).toEqual([]);
      expect(plain.runningMean).toBeNull();
      expect(String(plain)).toBe('InstanceNorm1d(numFeatures: 3, eps: 0.00001, momentum: 0.1, affine: false, trackRunningStats: false)');
      plain.dispose();
      const full = new nn.InstanceNorm1d(4, { affine: true, trackRunningStats: true });
      expect(Object.keys(full.stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
      expectExact(full.weight!.dataSync(), [1, 1, 1, 1]);
      expectExact(full.bias!.dataSync(), [0, 0, 0, 0]);
      expectExact(full.running_mean!.dataSync(), [0, 0, 0, 0]);
      expectExact(full.running_var!.dataSync(), [1, 1, 1, 1]);
      expect(full.num_batches_tracked!.dtype).toBe('int32');
      expect(full.parameters()).toEqual([full.weight, full.bias]);
      full.dispose();
    }));

  test.each([0.1, 0.7])('training steps update the running statistics (momentum %s), the counter stays 0 as PyTorch’s; eval mode uses them', (momentum) =>
    tidy(() => {
      const C = rng.int(1, 4);
      const m = new nn.InstanceNorm1d(C, { momentum, affine: true, trackRunningStats: true, dtype: 'float64' });
      const w = randomArray(rng, C, 0.5, 2), b = randomArray(rng, C);
      antler.noGrad(() => {
        m.weight!.assign(tensor(w, [C], F64));
        m.bias!.assign(tensor(b, [C], F64));
      });
      let rm = new Array<number>(C).fill(0), rv = new Array<number>(C).fill(1);
      for (let k = 1; k <= 4; k++) {
        const shape = [rng.int(1, 4), C, rng.int(2, 6)];
        const xv = randomArray(rng, size(shape), -1, 4);
        const y = m.forward(tensor(xv, shape, F64));
        const s = instanceStats(xv, shape);
        expectClose(y.dataSync(), instanceRef(xv, shape, s.mean, s.biased, w, b, 1e-5), 1e-11, 1e-12, `step ${k}`);
        const [bm, bv] = [batchAverage(s.mean), batchAverage(s.unbiased)];
        rm = rm.map((r, c) => (1 - momentum) * r + momentum * bm[c]);
        rv = rv.map((r, c) => (1 - momentum) * r + momentum * bv[c]);
        expectClose(m.runningMean!.dataSync(), rm, 1e-12, 1e-13, `running mean after ${k}`);
        expectClose(m.runningVar!.dataSync(), rv, 1e-12, 1e-13, `running var after ${k}`);
      }
      expect(m.numBatchesTracked!.item()).toBe(0);
      m.eval();
      // Eval uses the running statistics: L = 1 is fine there.
      for (const L of [1, 3]) {
        const shape = [2, C, L];
        const xv = randomArray(rng, size(shape));
        expectClose(m.forward(tensor(xv, shape, F64)).dataSync(), instanceRef(xv, shape, [rm, rm], [rv, rv], w, b, 1e-5), 1e-11, 1e-12, `eval, L ${L}`);
      }
      expectClose(m.runningMean!.dataSync(), rm, 1e-12, 1e-13, 'eval leaves the running mean');
      m.dispose();
    }));

  test('without running statistics each instance’s own serve in eval mode too; unbatched [C, L] is a batch of one', () =>
    tidy(() => {
      const C = rng.int(1, 4), L = rng.int(2, 6);
      const m = new nn.InstanceNorm1d(C, { eps: 0.5 });
      const shape = [rng.int(1, 4), C, L];
      const x = tensor(randomArray(rng, size(shape), -2, 2), shape);
      const s = instanceStats(read(x), shape);
      const want = instanceRef(read(x), shape, s.mean, s.biased, null, null, 0.5);
      expectClose(m.forward(x).dataSync(), want, 3e-5, 3e-5, 'train');
      m.eval();
      expectClose(m.forward(x).dataSync(), want, 3e-5, 3e-5, 'eval');
      const one = tensor(randomArray(rng, C * L), [C, L]);
      const y = m.forward(one);
      expect(y.shape).toEqual([C, L]);
      expectExact(y.dataSync(), m.forward(one.reshape([1, C, L])).dataSync());
      // Unbatched with running statistics: they move as for a batch of one.
      const t = new nn.InstanceNorm1d(C, { trackRunningStats: true, dtype: 'float64' });
      const xv = randomArray(rng, C * L);
      t.forward(tensor(xv, [C, L], F64));
      const st = instanceStats(xv, [1, C, L]);
      expectClose(t.runningVar!.dataSync(), st.unbiased[0].map((v) => 0.9 + 0.1 * v), 1e-12, 1e-13);
      t.dispose();
      m.dispose();
    }));

  test('state dicts round-trip; gradients reach the affine parameters', () =>
    tidy(() => {
      const a = new nn.InstanceNorm1d(3, { affine: true, trackRunningStats: true });
      for (let i = 0; i < 3; i++) a.forward(tensor(randomArray(rng, 24, -1, 2), [2, 3, 4]));
      const b = new nn.InstanceNorm1d(3, { affine: true, trackRunningStats: true });
      b.loadStateDict(a.stateDict());
      a.eval(), b.eval();
      const x = tensor(randomArray(rng, 12), [2, 3, 2]);
      expectExact(b.forward(x).dataSync(), a.forward(x).dataSync());
      expectExact(b.runningVar!.dataSync(), a.runningVar!.dataSync());
      b.train();
      antler.sum(antler.mul(b.forward(x), x)).backward();
      expect(b.weight!.grad).not.toBeNull();
      expect(b.bias!.grad).not.toBeNull();
      // A safetensors file as PyTorch's save_file(m.state_dict()) writes it: F32 vectors, the counter I64 [].
      const file = torchStyleNormFile(a.stateDict(), 0n);
      const back = antler.parseSafetensors(file).tensors;
      const c = new nn.InstanceNorm1d(3, { affine: true, trackRunningStats: true });
      c.loadStateDict(back);
      c.eval();
      expectExact(c.forward(x).dataSync(), a.forward(x).dataSync());
      expect(c.numBatchesTracked!.dtype).toBe('int32');
      c.cast('float64');
      expect(c.runningVar!.dtype).toBe('float64');
      expect(c.numBatchesTracked!.dtype).toBe('int32');
      expectAntlerError(() => a.forward(x.cast('float64')), 'DTYPE_MISMATCH', /^InstanceNorm1d: input is float64; the module is float32/);
      for (const m of [a, b, c]) m.dispose();
      for (const t of Object.values(back)) t.dispose();
    }));

  test('bad settings and inputs throw AntlerError naming them; L = 1 in training refused as PyTorch’s', () =>
    tidy(() => {
      expectAntlerError(() => new nn.InstanceNorm1d(0), 'INVALID_ARGUMENT', /^InstanceNorm1d: numFeatures must be an integer >= 1; got 0$/);
      expectAntlerError(() => new nn.InstanceNorm1d(3, { momentum: null } as never), 'INVALID_ARGUMENT', /^InstanceNorm1d: momentum must be/);
      expectAntlerError(() => new nn.InstanceNorm1d(3, { affine: 1 } as never), 'INVALID_ARGUMENT', /^InstanceNorm1d: affine must be/);
      const m = new nn.InstanceNorm1d(3, { trackRunningStats: true });
      expectAntlerError(() => m.forward(tensor(randomArray(rng, 8), [2, 4])), 'SHAPE_MISMATCH', /^InstanceNorm1d: input has 2 channels \(axis 0 of \[2, 4\]\); expected numFeatures = 3$/);
      expectAntlerError(() => m.forward(tensor(randomArray(rng, 24), [2, 4, 3])), 'SHAPE_MISMATCH', /^InstanceNorm1d: input has 4 channels \(axis 1 of \[2, 4, 3\]\); expected numFeatures = 3$/);
      expectAntlerError(() => m.forward(tensor(randomArray(rng, 3), [3])), 'SHAPE_MISMATCH', /^InstanceNorm1d: expected input \[N, C, L\] or unbatched \[C, L\]; got shape \[3\]$/);
      expectAntlerError(() => m.forward(tensor(randomArray(rng, 6), [2, 3, 1])), 'INVALID_ARGUMENT', /^instanceNorm: expected more than 1 spatial element/);
      expectExact(m.runningMean!.dataSync(), [0, 0, 0]);
      m.dispose();
    }));
});
