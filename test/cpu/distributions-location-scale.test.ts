// antler.distributions, location-scale family: every spec through the generic harness, then the family's own tests.
import { describeKL, describeSpec } from '../distributions-harness';
import * as antler from '../../lib';
import { expectAntlerError, expectNoLeaksInSuite, tensorCounts } from '../helpers';
import { KL_PAIRS, SPECS } from '../dist-specs-location-scale';

expectNoLeaksInSuite(tensorCounts);
for (const spec of SPECS) describeSpec(spec);
describe('KL divergences', () => {
  for (const [p, q] of KL_PAIRS) describeKL(p, q);
});

// ---- helper A: the family's own tests (multivariate distributions, special cases) go below.
describe('location-scale edge behaviour (as torch 1.13)', () => {
  const D = antler.distributions;
  const f64 = (v: number[]): antler.Tensor => antler.tensor(v, [v.length], { dtype: 'float64' });
  const vals = (t: antler.Tensor): number[] => Array.from(t.dataSync());

  test('Uniform: logProb is −Infinity at high and outside, cdf clamps to [0, 1], mode is NaN, low ≥ high refused without leaks', () => {
    antler.tidy(() => {
      const u = new D.Uniform(f64([0, -1]), f64([2, 1]), { validateArgs: false });
      expect(vals(u.logProb(f64([2, 0])))).toEqual([-Infinity, -Math.log(2)]);
      expect(vals(u.logProb(f64([0, -1.5])))).toEqual([-Math.log(2), -Infinity]);
      expect(vals(u.cdf(f64([-1, 5])))).toEqual([0, 1]);
      expect(vals(u.cdf(f64([1, 0])))).toEqual([0.5, 0.5]);
      expect(vals(u.mode).every(Number.isNaN)).toBe(true);
    });
    const lo = f64([0, 1]);
    const before = antler.memory().numTensors;
    expectAntlerError(() => new D.Uniform(1, 0), 'INVALID_ARGUMENT');
    expectAntlerError(() => new D.Uniform(lo, 1), 'INVALID_ARGUMENT');
    expect(antler.memory().numTensors).toBe(before);
    lo.dispose();
  });

  test('Cauchy and HalfCauchy: mean/variance NaN and +Infinity of the batch shape', () => {
    antler.tidy(() => {
      const c = new D.Cauchy(f64([0, 1, 2]), 1);
      expect(c.mean.shape).toEqual([3]);
      expect(vals(c.mean).every(Number.isNaN)).toBe(true);
      expect(vals(c.variance)).toEqual([Infinity, Infinity, Infinity]);
      const h = new D.HalfCauchy(f64([1, 2]));
      expect(vals(h.mean)).toEqual([Infinity, Infinity]);
      expect(vals(h.variance)).toEqual([Infinity, Infinity]);
      expect(vals(h.mode)).toEqual([0, 0]);
    });
  });

  test('HalfNormal, HalfCauchy, Exponential: logProb below 0 is −Infinity with validateArgs false (refused with it)', () => {
    antler.tidy(() => {
      for (const d of [new D.HalfNormal(f64([1]), { validateArgs: false }), new D.HalfCauchy(f64([1]), { validateArgs: false })]) {
        expect(vals(d.logProb(f64([-0.5])))).toEqual([-Infinity]);
        expect(vals(d.logProb(f64([0])))[0]).toBeGreaterThan(-Infinity);
      }
      expectAntlerError(() => new D.HalfNormal(f64([1])).logProb(f64([-0.5])), 'INVALID_ARGUMENT');
      expectAntlerError(() => new D.Exponential(f64([1])).logProb(f64([-0.5])), 'INVALID_ARGUMENT');
      expectAntlerError(() => new D.LogNormal(f64([0]), 1).logProb(f64([0])), 'INVALID_ARGUMENT');
    });
  });

  test('klDivergence: +Infinity where torch 1.13 has it, finite where supports nest', () => {
    antler.tidy(() => {
      const inf = (p: antler.distributions.Distribution, q: antler.distributions.Distribution): number[] => vals(D.klDivergence(p, q));
      expect(inf(new D.Normal(f64([0, 1]), 1), new D.Uniform(-1, 1))).toEqual([Infinity, Infinity]);
      expect(inf(new D.Gumbel(f64([0]), 1), new D.Exponential(f64([1, 2])))).toEqual([Infinity, Infinity]);
      expect(inf(new D.Uniform(f64([-1, 0.5]), 1), new D.Exponential(1))[0]).toBe(Infinity);
      expect(Number.isFinite(inf(new D.Uniform(f64([-1, 0.5]), 1), new D.Exponential(1))[1])).toBe(true);
      const uu = inf(new D.Uniform(f64([-1, 0]), 1), new D.Uniform(f64([-0.5, -1]), 2));
      expect(uu[0]).toBe(Infinity);
      expect(uu[1]).toBeCloseTo(Math.log(3), 14);
    });
  });

  test('Laplace and Gumbel rsample: seeded draws are the quantile of one uniform draw (torch\'s sampler)', () => {
    antler.tidy(() => {
      const seed = 1234;
      const u = vals(antler.rand([1000], { dtype: 'float64', seed }));
      const g = vals(new D.Gumbel(f64([0.5]), 2).rsample([1000], { seed }).reshape([1000]));
      g.forEach((x, i) => expect(Math.abs(x - (0.5 - 2 * Math.log(-Math.log(Math.max(u[i], 2 ** -1022)))))).toBeLessThan(1e-9));
      const v = vals(antler.rand([1000], { dtype: 'float64', seed, minval: 2 ** -52 - 1, maxval: 1 }));
      const l = vals(new D.Laplace(f64([1]), 3).rsample([1000], { seed }).reshape([1000]));
      l.forEach((x, i) => expect(Math.abs(x - (1 - 3 * Math.sign(v[i]) * Math.log1p(-Math.abs(v[i]))))).toBeLessThan(1e-9));
    });
  });

  test("Cauchy and HalfCauchy rsample's gradient: dx/dloc = 1, dx/dscale = (x − loc)/scale (the quantile map's derivative)", () => {
    antler.tidy(() => {
      const loc = antler.tensor([-1, 0.5, 2], [3], { dtype: 'float64', requiresGrad: true });
      const scale = antler.tensor([0.3, 1.2, 2.5], [3], { dtype: 'float64', requiresGrad: true });
      const x = new D.Cauchy(loc, scale).rsample([50], { seed: 5 });
      x.sum().backward();
      const xs = vals(x);
      expect(vals(loc.grad!)).toEqual([50, 50, 50]);
      const want = [0, 1, 2].map((b) => xs.filter((_, i) => i % 3 === b).reduce((s, v) => s + (v - vals(loc)[b]) / vals(scale)[b], 0));
      vals(scale.grad!).forEach((g, b) => expect(Math.abs(g - want[b])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want[b]))));
      const hs = antler.tensor([0.3, 1.2, 2.5], [3], { dtype: 'float64', requiresGrad: true });
      const h = new D.HalfCauchy(hs).rsample([50], { seed: 6 });
      h.sum().backward();
      const hv = vals(h);
      const hw = [0, 1, 2].map((b) => hv.filter((_, i) => i % 3 === b).reduce((s, v) => s + v / vals(hs)[b], 0));
      vals(hs.grad!).forEach((g, b) => expect(Math.abs(g - hw[b])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(hw[b]))));
    });
  });
});
// ---- end helper A
