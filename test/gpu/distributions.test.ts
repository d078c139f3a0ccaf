// antler.distributions on CUDA: every spec of every family through the generic harness with parameters on the GPU.
import * as antler from '../../lib';
import { standardGammaGrad } from '../../lib/ops/random-special';
import { gpuDescribe } from './suite';
import { describeKL, describeSpec } from '../distributions-harness';
import * as ls from '../dist-specs-location-scale';
import * as gamma from '../dist-specs-gamma';
import * as discrete from '../dist-specs-discrete';
import * as transforms from '../dist-specs-transforms';

const families = [ls, gamma, discrete, transforms];
gpuDescribe('distributions')('distributions on CUDA', () => {
  for (const f of families) for (const spec of f.SPECS) describeSpec(spec, 'cuda');
  for (const f of families) for (const [p, q] of f.KL_PAIRS) describeKL(p, q, 'cuda');
  test('standardGamma on CUDA: the CPU values of the same seed (to rounding), and its gradient', () => {
    antler.tidy(() => {
      const n = process.env.ANTLER_GPU_EMULATED === '1' ? 64 : 4096;
      for (const dtype of ['float32', 'float64'] as const) {
        const values = Array.from({ length: n }, (_, i) => 0.05 + (i % 37) * 0.7);
        const cpu = antler.tensor(values, [n], { dtype, requiresGrad: true });
        const gpu = antler.tensor(values, [n], { dtype, device: 'cuda', requiresGrad: true });
        const xc = antler.standardGamma(cpu, { seed: 11 }), xg = antler.standardGamma(gpu, { seed: 11 });
        xc.sum().backward();
        xg.sum().backward();
        const tol = dtype === 'float64' ? 1e-12 : 1e-5;
        const a = xc.dataSync(), b = xg.to('cpu').dataSync();
        for (let i = 0; i < n; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(a[i])));
        const ga = cpu.grad!.dataSync(), gb = gpu.grad!.to('cpu').dataSync();
        for (let i = 0; i < n; i++) expect(Math.abs(ga[i] - gb[i])).toBeLessThanOrEqual(10 * tol * Math.max(1, Math.abs(ga[i])));
        const p = antler.gammainc(antler.tensor(values, [n], { dtype, device: 'cuda' }), xg.detach()).to('cpu').dataSync();
        const pc = antler.gammainc(antler.tensor(values, [n], { dtype }), xc.detach()).dataSync();
        for (let i = 0; i < n; i++) expect(Math.abs(p[i] - pc[i])).toBeLessThanOrEqual(tol);
      }
    });
  });
  test('standardGammaGrad on CUDA for α ≥ 100 (the large-α expansion inside [α/2, 2α], the series / fraction outside): the CPU values', () => {
    antler.tidy(() => {
      const as: number[] = [], xs: number[] = [];
      for (const a of [100, 2345.6, 1e5, 3.3e6, 1e8])
        for (const lam of [0.3, 0.5, 0.9, 1, 1 + 3 / Math.sqrt(a), 1.7, 2, 2.4]) (as.push(a), xs.push(lam * a));
      const n = as.length;
      const gc = standardGammaGrad(antler.tensor(as, [n], { dtype: 'float64' }), antler.tensor(xs, [n], { dtype: 'float64' })).dataSync();
      const gg = standardGammaGrad(antler.tensor(as, [n], { dtype: 'float64', device: 'cuda' }), antler.tensor(xs, [n], { dtype: 'float64', device: 'cuda' })).to('cpu').dataSync();
      for (let i = 0; i < n; i++) expect(Math.abs(gc[i] - gg[i])).toBeLessThanOrEqual(1e-12 * Math.abs(gc[i]));
    });
  });
  test('Dirichlet on CUDA: the CPU draws of the same seed (to rounding), logProb, entropy, KL and the rsample gradient', () => {
    antler.tidy(() => {
      const n = process.env.ANTLER_GPU_EMULATED === '1' ? 16 : 2048;
      const c = [0.3, 1.7, 4.2, 0.9, 2.5, 0.6];
      for (const dtype of ['float32', 'float64'] as const) {
        const cc = antler.tensor(c, [2, 3], { dtype, requiresGrad: true }), cg = antler.tensor(c, [2, 3], { dtype, device: 'cuda', requiresGrad: true });
        const dc = new antler.distributions.Dirichlet(cc), dg = new antler.distributions.Dirichlet(cg);
        const xc = dc.rsample([n], { seed: 5 }), xg = dg.rsample([n], { seed: 5 });
        const tol = dtype === 'float64' ? 1e-12 : 1e-5;
        const a = xc.dataSync(), b = xg.to('cpu').dataSync();
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol);
        xc.mul(antler.tensor([1, -2, 3], [3], { dtype })).sum().backward();
        xg.mul(antler.tensor([1, -2, 3], [3], { dtype, device: 'cuda' })).sum().backward();
        const ga = cc.grad!.dataSync(), gb = cg.grad!.to('cpu').dataSync();
        for (let i = 0; i < ga.length; i++) expect(Math.abs(ga[i] - gb[i])).toBeLessThanOrEqual(100 * tol * Math.max(1, Math.abs(ga[i])));
        const lc = dc.logProb(xc.detach()).dataSync(), lg = dg.logProb(xg.detach()).to('cpu').dataSync();
        for (let i = 0; i < lc.length; i++) expect(Math.abs(lc[i] - lg[i])).toBeLessThanOrEqual(1e3 * tol * Math.max(1, Math.abs(lc[i])));
        const ec = dc.entropy().dataSync(), eg = dg.entropy().to('cpu').dataSync();
        for (let i = 0; i < ec.length; i++) expect(Math.abs(ec[i] - eg[i])).toBeLessThanOrEqual(10 * tol);
        const rev = [...c].reverse();
        const qc = new antler.distributions.Dirichlet(antler.tensor(rev, [2, 3], { dtype })), qg = new antler.distributions.Dirichlet(antler.tensor(rev, [2, 3], { dtype, device: 'cuda' }));
        const kc = antler.distributions.klDivergence(dc, qc).dataSync(), kg = antler.distributions.klDivergence(dg, qg).to('cpu').dataSync();
        for (let i = 0; i < kc.length; i++) expect(Math.abs(kc[i] - kg[i])).toBeLessThanOrEqual(10 * tol);
      }
    });
  });
  test('poisson and binomial on CUDA: the CPU values of the same seed (both algorithm branches, edges), and the distributions\' samples', () => {
    antler.tidy(() => {
      const n = process.env.ANTLER_GPU_EMULATED === '1' ? 64 : 4096;
      for (const dtype of ['float32', 'float64'] as const) {
        // rates and counts on both sides of the inversion / rejection switch (10), p on both sides of 1/2, edges
        const rates = Array.from({ length: n }, (_, i) => (i % 41 === 0 ? [0, -1, NaN, Infinity][(i / 41) % 4] : 0.05 + (i % 23) * 1.7 + (i % 5) * 40));
        const counts = Array.from({ length: n }, (_, i) => (i % 43 === 0 ? [0, -1, 2.5, NaN][(i / 43) % 4] : (i % 17) * 9 + (i % 3) * 1000));
        const probs = Array.from({ length: n }, (_, i) => (i % 47 === 0 ? [0, 1, -0.1, 1.5][(i / 47) % 4] : 0.02 + ((i * 7) % 97) / 100));
        const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string): void => {
          let bad = 0;
          for (let i = 0; i < a.length; i++) if (!(a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i])))) bad++;
          // the values are integers from double arithmetic: a device's log/exp may flip a rare acceptance, no more
          if (bad > Math.max(1, a.length / 1000)) throw new Error(`${what} ${dtype}: ${bad} of ${a.length} values differ between CUDA and CPU`);
        };
        const cpuRate = antler.tensor(rates, [n], { dtype }), gpuRate = antler.tensor(rates, [n], { dtype, device: 'cuda' });
        same(antler.poisson(cpuRate, { seed: 21 }).dataSync(), antler.poisson(gpuRate, { seed: 21 }).to('cpu').dataSync(), 'poisson');
        const cc = antler.tensor(counts, [n], { dtype }), pc = antler.tensor(probs, [n], { dtype });
        const cg = cc.to('cuda'), pg = pc.to('cuda');
        same(antler.binomial(cc, pc, { seed: 22 }).dataSync(), antler.binomial(cg, pg, { seed: 22 }).to('cpu').dataSync(), 'binomial');
        // the distributions' samplers on the GPU: the draws stay there, equal to the CPU's
        const D = antler.distributions;
        const rc = antler.tensor([3, 30], [2], { dtype }), pr = antler.tensor([0.3, 0.8], [2], { dtype });
        const nb = new D.NegativeBinomial(rc.to('cuda'), { probs: pr.to('cuda') }).sample([8], { seed: 5 });
        expect(nb.device).toMatch(/^cuda/);
        // the gamma draw differs by rounding between devices: a count may move by one, rarely
        const nbc = new D.NegativeBinomial(rc, { probs: pr }).sample([8], { seed: 5 }).dataSync(), nbg = nb.to('cpu').dataSync();
        let moved = 0;
        for (let i = 0; i < 16; i++) if (nbc[i] !== nbg[i]) moved += Math.abs(nbc[i] - nbg[i]) === 1 ? 1 : 100;
        expect(moved).toBeLessThanOrEqual(1);
        const bs = new D.Binomial(rc.to('cuda'), { probs: pr.to('cuda') }).sample([8], { seed: 6 });
        same(bs.to('cpu').dataSync(), new D.Binomial(rc, { probs: pr }).sample([8], { seed: 6 }).dataSync(), 'Binomial.sample');
      }
    });
  });
  test('MultivariateNormal, LowRankMultivariateNormal and VonMises on CUDA: the CPU values (logProb, entropy, moments, KL, seeded rsample, gradients)', () => {
    const D = antler.distributions;
    const on = (device: string) =>
      antler.tidy(() => {
        const f = (v: number[], s: number[], g = false) => antler.tensor(v, s, { dtype: 'float64', device, requiresGrad: g });
        const loc = f([0.5, -1, 0.2, 1, 2, 3], [2, 3], true);
        const cov = f([2, 0.3, 0.1, 0.3, 1, 0.2, 0.1, 0.2, 1.5], [3, 3], true);
        const p = new D.MultivariateNormal(loc, { covarianceMatrix: cov });
        const q = new D.MultivariateNormal(f([0, 0, 0], [3]), { precisionMatrix: f([1, 0.2, 0, 0.2, 2, 0.1, 0, 0.1, 1], [3, 3]) });
        const lr = new D.LowRankMultivariateNormal(loc, f([1, 0.5, 0.2, -0.3, 0.1, 0.4], [3, 2]), f([0.5, 1, 2], [3]));
        const x = f([0.1, 0.2, 0.3, 1, 1, 1, -1, 0, 1, 2, 2, 2], [2, 2, 3]);
        const lp = p.logProb(x);
        const r = p.rsample([5], { seed: 9 });
        const rl = lr.rsample([5], { seed: 9 });
        lp.sum().add(r.square().sum()).add(rl.square().sum()).backward();
        const vm = new D.VonMises(f([0.3, -1, 2], [3]), f([0.5, 30, 4], [3]));
        const out = [lp, p.entropy(), p.variance, p.precisionMatrix, lr.logProb(x), lr.entropy(), lr.precisionMatrix, lr.scaleTril,
          D.klDivergence(p, q), D.klDivergence(lr, q), D.klDivergence(q, lr), D.klDivergence(lr, lr), r, rl, loc.grad!, cov.grad!,
          vm.logProb(f([0, 1, 3], [3])), vm.variance];
        const s = vm.sample([1000], { seed: 4 });
        expect(s.device).toBe(loc.device);
        for (const v of s.to('cpu').dataSync()) expect(v >= -Math.PI && v < Math.PI).toBe(true);
        return out.map((t) => Array.from(t.to('cpu').dataSync()));
      });
    const a = on('cpu'), b = on('cuda');
    a.forEach((v, i) => v.forEach((x, j) => expect(Math.abs(x - b[i][j])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(x)))));
  });
  test('transforms family on CUDA: Softplus/Cat/Stack/CorrCholesky values and log-dets, LKJCholesky and Wishart draws and densities are the CPU ones', () => {
    const D = antler.distributions;
    const close = (got: antler.Tensor, want: antler.Tensor, tol: number, what: string): void => {
      expect(got.device.startsWith('cuda')).toBe(true);
      const x = got.to('cpu').dataSync(), y = want.dataSync();
      expect(x.length).toBe(y.length);
      for (let i = 0; i < x.length; i++)
        if (!(Math.abs(x[i] - y[i]) <= tol * Math.max(1, Math.abs(y[i])))) throw new Error(`${what}: [${i}] cuda ${x[i]} vs cpu ${y[i]}`);
    };
    antler.tidy(() => {
      for (const dtype of ['float32', 'float64'] as const) {
        const tol = dtype === 'float64' ? 1e-10 : 2e-4;
        const vals = Array.from({ length: 24 }, (_, i) => 1.5 * Math.sin(1.7 * i + 0.3));
        const xc = antler.tensor(vals, [4, 6], { dtype }), xg = antler.tensor(vals, [4, 6], { dtype, device: 'cuda' });
        const ts = [
          new D.CorrCholeskyTransform(),
          new D.CatTransform([new D.ExpTransform(), new D.SoftplusTransform()], -1, [2, 4]),
          new D.StackTransform([new D.TanhTransform(), new D.SigmoidTransform(), new D.ExpTransform(), new D.SoftplusTransform()], 0),
        ];
        for (const t of ts) {
          const yc = t.forward(xc), yg = t.forward(xg);
          close(yg, yc, tol, `${t.name} forward (${dtype})`);
          close(t.logAbsDetJacobian(xg, yg), t.logAbsDetJacobian(xc, yc), tol, `${t.name} logAbsDetJacobian (${dtype})`);
          close(t.inverse(yg), t.inverse(yc), 10 * tol, `${t.name} inverse (${dtype})`);
        }
        const eta = [0.5, 2];
        const lc = new D.LKJCholesky(4, antler.tensor(eta, [2], { dtype })), lg = new D.LKJCholesky(4, antler.tensor(eta, [2], { dtype, device: 'cuda' }));
        const sc = lc.sample([50], { seed: 3 }), sg = lg.sample([50], { seed: 3 });
        close(sg, sc, 10 * tol, `LKJCholesky.sample (${dtype})`);
        close(lg.logProb(sc.to('cuda')), lc.logProb(sc), tol, `LKJCholesky.logProb (${dtype})`);
        const L = [1.2, 0, 0, -0.4, 0.8, 0, 0.3, 0.5, 1.1];
        const wc = new D.Wishart(antler.tensor([2.5, 6], [2], { dtype }), { scaleTril: antler.tensor(L, [3, 3], { dtype }) });
        const wg = new D.Wishart(antler.tensor([2.5, 6], [2], { dtype, device: 'cuda' }), { scaleTril: antler.tensor(L, [3, 3], { dtype, device: 'cuda' }) });
        const xw = wc.sample([20], { seed: 5 });
        close(wg.sample([20], { seed: 5 }), xw, 20 * tol, `Wishart.sample (${dtype})`);
        close(wg.logProb(xw.to('cuda')), wc.logProb(xw), 10 * tol, `Wishart.logProb (${dtype})`);
        close(wg.entropy(), wc.entropy(), tol, `Wishart.entropy (${dtype})`);
      }
    });
  });
});
