// The ops of lib/ops/selection.ts that return integers or data-dependent sizes (nonzero, unique,
// uniqueConsecutive, searchsorted, bucketize), their int32 paths and their index checks, on CUDA
// against the CPU. Their differentiable relatives are in the op registry (opinfo.test.ts), which
// runs every one on CUDA too. No CUDA code of their own: this checks that every composed step
// (the stable sort, the row gathers and scatter-adds, the reads) lands on the tensor's device.
// Skips where no GPU is usable.
import * as antler from '../../lib';
import { expectAntlerError, expectExact, makeSeededRng, randomInts } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('selection tests');

const read = (t: antler.Tensor) => Array.from(t.dataSync());
const both = (values: number[], shape: number[], dtype: 'float32' | 'float64' | 'int32') =>
  ['cpu', 'cuda:0'].map((device) => antler.tensor(values, shape, { dtype, device }));

run(`selection on CUDA vs CPU (seed ${rng.seed})`, () => {
  test('nonzero, maskedSelect, unique and uniqueConsecutive: the same results on both devices', () =>
    antler.tidy(() => {
      const shape = [rng.int(1, 30), rng.int(1, 50)];
      const v = randomInts(rng, shape[0] * shape[1], -3, 3).map((k) => (k === 3 ? NaN : k));
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        const vals = dtype === 'int32' ? v.map((k) => (Number.isNaN(k) ? 0 : k)) : v;
        const [c, g] = both(vals, shape, dtype);
        expectExact(read(antler.nonzero(g)), read(antler.nonzero(c)), `nonzero ${dtype}`);
        expectExact(read(antler.maskedSelect(g, antler.greater(g, 0))), read(antler.maskedSelect(c, antler.greater(c, 0))), `maskedSelect ${dtype}`);
        for (const axis of [undefined, 0, 1]) {
          const [uc, ug] = [c, g].map((t) => antler.unique(t, { axis, returnInverse: true, returnCounts: true }));
          for (const k of ['values', 'inverse', 'counts'] as const) expectExact(read(ug[k]!), read(uc[k]!), `unique ${dtype} axis ${axis} ${k}`);
          const [cc, cg] = [c, g].map((t) => antler.uniqueConsecutive(t, { axis, returnInverse: true, returnCounts: true }));
          for (const k of ['values', 'inverse', 'counts'] as const) expectExact(read(cg[k]!), read(cc[k]!), `uniqueConsecutive ${dtype} axis ${axis} ${k}`);
        }
      }
    }));

  test('searchsorted and bucketize (ties, batches), scatterReduce and indexAdd on int32, index checks', () =>
    antler.tidy(() => {
      const B = rng.int(1, 4), M = rng.int(1, 200), K = rng.int(1, 300);
      const seq = Array.from({ length: B }, () => randomInts(rng, M, -50, 50).sort((a, b) => a - b)).flat();
      const vals = randomInts(rng, B * K, -60, 60);
      for (const dtype of ['float32', 'int32'] as const)
        for (const right of [false, true]) {
          // float32: the largest boundary (50) as NaN, last where a sort puts it, and values of NaN too.
          const nan = (v: number[], at: number) => (dtype === 'int32' ? v : v.map((e) => (e === at ? NaN : e)));
          const [sc, sg] = both(nan(seq, 50), [B, M], dtype), [vc, vg] = both(nan(vals, 60), [B, K], dtype);
          expectExact(read(antler.searchsorted(sg, vg, { right })), read(antler.searchsorted(sc, vc, { right })), `searchsorted ${dtype} right ${right}`);
          const [bc, bg] = both(nan(seq.slice(0, M), 50), [M], dtype);
          expectExact(read(antler.bucketize(vg, bg, { right })), read(antler.bucketize(vc, bc, { right })), `bucketize ${dtype} right ${right}`);
        }
      const n = rng.int(1, 20), m = rng.int(1, 100);
      const [xc, xg] = both(randomInts(rng, n, -5, 5), [n], 'int32');
      const [sc, sg] = both(randomInts(rng, m, -5, 5), [m], 'int32');
      const [ic, ig] = both(randomInts(rng, m, 0, n - 1), [m], 'int32');
      for (const reduce of ['sum', 'prod', 'mean', 'amax', 'amin'] as const)
        expectExact(read(antler.scatterReduce(xg, 0, ig, sg, reduce)), read(antler.scatterReduce(xc, 0, ic, sc, reduce)), `scatterReduce int32 ${reduce}`);
      expectExact(read(antler.indexAdd(xg, 0, ig, sg)), read(antler.indexAdd(xc, 0, ic, sc)), 'indexAdd int32');
      const bad = antler.tensor([0, n], [2], { dtype: 'int32', device: 'cuda:0' });
      expectAntlerError(() => antler.take(xg, antler.tensor([n], [1], { dtype: 'int32', device: 'cuda:0' })), 'INVALID_ARGUMENT', new RegExp(`index ${n} at \\[0\\]`));
      expectAntlerError(() => antler.indexAdd(xg, 0, bad, antler.tensor([1, 1], [2], { dtype: 'int32', device: 'cuda:0' })), 'INVALID_ARGUMENT', new RegExp(`index ${n} at \\[1\\]`));
    }));
});
