// embeddingBag on CUDA against the CPU: it is composed of ops with CUDA
// kernels (the row gather and scatter-add, arithmetic, argmax), so every mode
// gives the same values and gradients on both devices. Skips where no GPU is
// usable.
import * as antler from '../../lib';
import { expectClose, expectExact, makeSeededRng, randomArray, randomInts } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeSeededRng();
const run = gpuDescribe('embeddingBag tests');

const read = (t: antler.Tensor) => Array.from(t.dataSync());

run(`embeddingBag on CUDA vs CPU (seed ${rng.seed})`, () => {
  test('embeddingBag: every mode, empty bags, paddingIdx and perSampleWeights give the same values and gradients on CUDA as on the CPU', () =>
    antler.tidy(() => {
      const [rows, dim] = [rng.int(3, 20), rng.int(1, 9)];
      const lengths = Array.from({ length: rng.int(1, 12) }, () => (rng.next() < 0.2 ? 0 : rng.int(1, 6)));
      const offsets: number[] = [];
      let n = 0;
      for (const len of lengths) {
        offsets.push(n);
        n += len;
      }
      const input = randomInts(rng, n, 0, rows - 1);
      const W = randomArray(rng, rows * dim, -2, 2);
      const psw = randomArray(rng, n);
      const pad = rng.int(0, rows - 1);
      for (const dtype of ['float32', 'float64'] as const)
        for (const mode of ['sum', 'mean', 'max'] as const) {
          const G = randomArray(rng, lengths.length * dim);
          const [c, g] = ['cpu', 'cuda:0'].map((device) => {
            const w = antler.tensor(W, [rows, dim], { dtype, device, requiresGrad: true });
            const p = mode === 'sum' ? antler.tensor(psw, [n], { dtype, device, requiresGrad: true }) : undefined;
            const out = antler.embeddingBag(antler.tensor(input, [n], { dtype: 'int32', device }), w, {
              mode,
              offsets: antler.tensor(offsets, [offsets.length], { dtype: 'int32', device }),
              perSampleWeights: p,
              paddingIdx: pad,
            });
            out.mul(antler.tensor(G, out.shape, { dtype, device })).sum().backward();
            expect(out.device).toBe(device);
            return { out: read(out), gw: read(w.grad!), gp: p ? read(p.grad!) : [] };
          });
          const what = `${mode} ${dtype}`;
          // The max picks the same entries (first on ties) and copies them; sums may differ in rounding order.
          if (mode === 'max') expectExact(g.out, c.out, what);
          const tol = dtype === 'float64' ? 1e-13 : 1e-5;
          expectClose(g.out, c.out, tol, tol, what);
          expectClose(g.gw, c.gw, tol, tol, `${what}: weight gradient`);
          expectClose(g.gp, c.gp, tol, tol, `${what}: perSampleWeights gradient`);
        }
    }));

  test('embedding maxNorm on CUDA renormalises the same rows as on the CPU (the in-place row scatter) and leaves the others to the bit', () =>
    antler.tidy(() => {
      const [rows, dim] = [rng.int(50, 200), rng.int(1, 40)];
      const W = randomArray(rng, rows * dim, -3, 3);
      const idx = [...randomInts(rng, 2 * rng.int(1, 15), 0, rows - 1), 0, 0]; // row 0 repeated; an even count for [2, n / 2]
      const maxNorm = rng.uniform(0.5, 3);
      for (const dtype of ['float32', 'float64'] as const) {
        const [c, g] = ['cpu', 'cuda:0'].map((device) => {
          const w = antler.tensor(W, [rows, dim], { dtype, device });
          const out = antler.embedding(antler.tensor(idx, [2, idx.length / 2], { dtype: 'int32', device }), w, { maxNorm });
          return { out: read(out), w: read(w) };
        });
        // The norms are sums whose order may differ between the devices: the used rows agree to rounding.
        const tol = dtype === 'float64' ? 1e-13 : 1e-5;
        expectClose(g.w, c.w, tol, tol, `weight after the renormalisation, ${dtype}`);
        expectClose(g.out, c.out, tol, tol, `lookup, ${dtype}`);
        const used = new Set(idx);
        const unused = (v: number[]) => v.filter((_, k) => !used.has(Math.floor(k / dim)));
        expectExact(unused(g.w), unused(W.map((v) => (dtype === 'float32' ? Math.fround(v) : v))), `rows not looked up, ${dtype}`);
      }
    }));
});
