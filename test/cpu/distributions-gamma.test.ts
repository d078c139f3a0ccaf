// antler.distributions, gamma family: every spec through the generic harness, then the family's own tests.
import * as antler from '../../lib';
import { describeKL, describeSpec, integrate } from '../distributions-harness';
import { expectNoLeaksInSuite, lgammaRef, makeRng, runSeed, tensorCounts } from '../helpers';
import { KL_PAIRS, SPECS } from '../dist-specs-gamma';

expectNoLeaksInSuite(tensorCounts);
for (const spec of SPECS) describeSpec(spec);
describe('KL divergences', () => {
  for (const [p, q] of KL_PAIRS) describeKL(p, q);
  // ---- helper B: the family's own tests go below (test.todo placeholder removed when the first lands).
});

// Independent float64 references: P(a, x) = ∫₀ˣ t^(a−1) e^(−t) dt / Γ(a) by tanh-sinh quadrature (no series).
const density = (a: number, t: number): number => Math.exp((a - 1) * Math.log(t) - t - lgammaRef(a));
const pRef = (a: number, x: number): number => (x <= 0 ? 0 : Math.min(1, integrate((t) => density(a, t), 0, x)));
const qRef = (a: number, x: number): number => (x <= 0 ? 1 : integrate((t) => density(a, t), x, Infinity));
const data = (t: antler.Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);

describe(`gamma family own tests (ANTLER_TEST_SEED=${runSeed()})`, () => {
  const rng = makeRng();

  test('gammainc / gammaincc vs quadrature, float64 and float32, broadcasting', () => {
    antler.tidy(() => {
      const as = Array.from({ length: 6 }, () => rng.uniform(0.2, 8));
      const xs = Array.from({ length: 4 }, () => rng.uniform(0.01, 12));
      for (const dtype of ['float64', 'float32'] as const) {
        const a = antler.tensor(as, [6, 1], { dtype }), x = antler.tensor(xs, [1, 4], { dtype });
        const P = data(antler.gammainc(a, x)), Q = data(antler.gammaincc(a, x));
        const tol = dtype === 'float64' ? 1e-11 : 3e-6;
        as.forEach((av, i) => xs.forEach((xv, j) => {
          expect(Math.abs(P[i * 4 + j] - pRef(av, xv))).toBeLessThan(tol);
          expect(Math.abs(Q[i * 4 + j] - qRef(av, xv))).toBeLessThan(tol * Math.max(1, qRef(av, xv) * 0) + tol);
          // Q's small tail relative to itself (float64).
          if (dtype === 'float64' && qRef(av, xv) > 1e-300) expect(Math.abs(Q[i * 4 + j] / qRef(av, xv) - 1)).toBeLessThan(1e-9);
        }));
      }
    });
  });

  test("gammainc / gammaincc edge values (torch's calc_igamma)", () => {
    antler.tidy(() => {
      const a = antler.tensor([-1, 1, 0, 0, 2, Infinity, Infinity, 2, NaN, 2], [10], { dtype: 'float64' });
      const x = antler.tensor([1, -1, 2, 0, 0, 3, Infinity, Infinity, 1, NaN], [10], { dtype: 'float64' });
      expect(data(antler.gammainc(a, x))).toEqual([NaN, NaN, 1, NaN, 0, 0, NaN, 1, NaN, NaN]);
      expect(data(antler.gammaincc(a, x))).toEqual([NaN, NaN, 0, NaN, 1, 1, NaN, 0, NaN, NaN]);
    });
  });

  test('gammainc: gradient w.r.t. x is the density; w.r.t. a throws NOT_SUPPORTED (as torch)', () => {
    antler.tidy(() => {
      const av = rng.uniform(0.5, 4), xv = rng.uniform(0.2, 5);
      const x = antler.tensor([xv], [1], { dtype: 'float64', requiresGrad: true });
      antler.gammainc(antler.tensor([av], [1], { dtype: 'float64' }), x).sum().backward();
      expect(Math.abs(data(x.grad!)[0] - density(av, xv))).toBeLessThan(1e-12);
      const a = antler.tensor([av], [1], { dtype: 'float64', requiresGrad: true });
      expect(() => antler.gammaincc(a, antler.tensor([xv], [1], { dtype: 'float64' })).sum().backward()).toThrow(expect.objectContaining({ code: 'NOT_SUPPORTED' }));
      expect(() => antler.gammainc(antler.tensor([1], [1], { dtype: 'int32' }), x)).toThrow(expect.objectContaining({ code: 'DTYPE_MISMATCH' }));
      expect(() => antler.gammainc(antler.tensor([1, 2], [2]), antler.tensor([1, 2, 3], [3]))).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    });
  });

  test('standardGamma: shape, NaN for alpha <= 0, repeatable, moments for alpha < 1 and > 1', () => {
    antler.tidy(() => {
      const seed = rng.int(0, 2 ** 31);
      const bad = data(antler.standardGamma(antler.tensor([0, -1, NaN, 2], [4], { dtype: 'float64' }), { seed }));
      expect(bad.slice(0, 3)).toEqual([NaN, NaN, NaN]);
      expect(bad[3]).toBeGreaterThan(0);
      for (const alpha of [rng.uniform(0.05, 0.9), rng.uniform(1, 3), rng.uniform(20, 200)]) {
        for (const dtype of ['float64', 'float32'] as const) {
          const n = 20000;
          const al = antler.full([2, n / 2], alpha, { dtype });
          const s1 = data(antler.standardGamma(al, { seed }));
          expect(data(antler.standardGamma(al, { seed }))).toEqual(s1);
          const mean = s1.reduce((p, v) => p + v, 0) / n;
          const v = s1.reduce((p, x) => p + (x - mean) ** 2, 0) / (n - 1);
          // Gamma(α): mean α, variance α; the sample variance's sd is √((μ4 − σ⁴)/n), μ4 = 3α² + 6α.
          expect(Math.abs(mean - alpha)).toBeLessThan(6 * Math.sqrt(alpha / n));
          expect(Math.abs(v - alpha)).toBeLessThan(6 * Math.sqrt((3 * alpha * alpha + 6 * alpha - alpha * alpha) / n));
          expect(s1.every((x) => x > 0)).toBe(true);
        }
      }
      expect(() => antler.standardGamma(antler.tensor([1], [1], { dtype: 'int32' }))).toThrow(expect.objectContaining({ code: 'DTYPE_MISMATCH' }));
    });
  });

  test('standardGamma gradient = −∂αP(α, x)/p(x; α) (central differences of the quadrature P)', () => {
    antler.tidy(() => {
      const alphas = [rng.uniform(0.05, 0.5), rng.uniform(0.5, 1), rng.uniform(1, 5), rng.uniform(5, 50), rng.uniform(50, 500)];
      const a = antler.tensor(alphas, [5], { dtype: 'float64', requiresGrad: true });
      const x = antler.standardGamma(a, { seed: rng.int(0, 2 ** 31) });
      x.sum().backward();
      const xs = data(x), g = data(a.grad!);
      alphas.forEach((al, i) => {
        const h = 1e-5 * al;
        const ref = -((pRef(al + h, xs[i]) - pRef(al - h, xs[i])) / (2 * h)) / density(al, xs[i]);
        expect(Math.abs(g[i] - ref)).toBeLessThan(2e-5 * Math.max(1, Math.abs(ref)));
      });
    });
  });

  test('standardGamma gradient for α from 1e-3 to 1e6 at the sampler\'s extremes and the far upper tail (relative error)', () => {
    // Reference: dx/dα = −∂αP(α, x)/p(x; α) = ∂αQ(α, x)/p(x; α) by 4-point central differences (error O(h⁴)) in s of
    // P(s, x)/p(x; α) (x < α) or Q(s, x)/p(x; α) (x ≥ α, so the far tail keeps its relative accuracy), each a quadrature
    // of the density ratio p(t; s)/p(x; α) (t = x·u below, t = x + v above: no underflow at x ~ 1e-308, no overflow
    // at x ≫ 700). The log density avoids the cancellation of (α − 1) log t against lgamma(α) for large α
    // (Stirling: ln Γ(α) = (α − ½) ln α − α + ½ ln 2π + rest(α)).
    const stirlingRest = (z: number): number => {
      const w = 1 / (z * z);
      return (1 / z) * (1 / 12 - w * (1 / 360 - w * (1 / 1260 - w * (1 / 1680 - w / 1188))));
    };
    const ld = (a: number, lt: number, t: number): number => {
      if (a < 40) return (a - 1) * lt - t - lgammaRef(a);
      const r = Math.abs(t - a) < a / 2 ? Math.log1p((t - a) / a) : lt - Math.log(a);
      return (a - 1) * r - (t - a) - 0.5 * Math.log(2 * Math.PI * a) - stirlingRest(a);
    };
    const refGrad = (a: number, x: number): number => {
      const lx = Math.log(x), l0 = ld(a, lx, x);
      const below = (s: number): number => {
        // α < 1: u = w^(1/s) takes the u^(s−1) singularity out (most of the mass lies below any node otherwise).
        if (a < 1) return (-x / s) * integrate((w) => Math.exp((s - 1) * lx - x * w ** (1 / s) - lgammaRef(s) - l0), 0, 1);
        const u0 = Math.max(0, 1 - (60 * Math.sqrt(a)) / x);
        return -x * integrate((u) => Math.exp(ld(s, lx + Math.log(u), x * u) - l0), u0, 1);
      };
      const above = (s: number): number => integrate((v) => Math.exp(ld(s, Math.log(x + v), x + v) - l0), 0, Infinity);
      const f = x < a ? below : above;
      // (f varies like e^(k s), k ≈ ln(x/α) far from the median: keep k·h ≤ 0.01 for the O((kh)⁴) truncation.)
      const h = Math.min(1e-5 * a, 3e-4 * Math.sqrt(a), 0.01 / Math.abs(Math.log(x / a)));
      return (8 * (f(a + h) - f(a - h)) - (f(a + 2 * h) - f(a - 2 * h))) / (12 * h);
    };
    antler.tidy(() => {
      const alphas = [1e-3, 0.03, 0.7, 3, 40, 650, 5000, 1e5, 1e6].map((a) => a * rng.uniform(1, 1.5));
      const seed = rng.int(0, 2 ** 31);
      let worst = 0;
      for (const a of alphas) {
        const n = 2000;
        const s = data(antler.standardGamma(antler.full([n], a, { dtype: 'float64' }), { seed })).sort((u, v) => u - v);
        // the sampler's smallest, median and largest of n, then far upper-tail points (Q down to ~1e-60) and x = 800.
        const xs = [s[0], s[n >> 1], s[n - 1], a + 12 * Math.sqrt(a) + 40, a + 30 * Math.sqrt(a) + 150, 800];
        const g = data(antler.standardGammaGrad(antler.full([xs.length], a, { dtype: 'float64' }), antler.tensor(xs, [xs.length], { dtype: 'float64' })));
        xs.forEach((x, i) => {
          const ref = refGrad(a, x);
          const rel = Math.abs(g[i] - ref) / Math.abs(ref);
          worst = Math.max(worst, rel);
          if (!(rel < 1e-6)) throw new Error(`standardGammaGrad(${a}, ${x}) = ${g[i]}; reference ${ref} (relative error ${rel})`);
        });
      }
      expect(worst).toBeLessThan(1e-6);
    });
  });

  test('Beta rsample gradient is unbiased: mean of d x/d c1 matches d E[x]/d c1 = c0/(c1 + c0)²', () => {
    antler.tidy(() => {
      const c1 = rng.uniform(0.5, 4), c0 = rng.uniform(0.5, 4), n = 20000;
      const p1 = antler.tensor([c1], [1], { dtype: 'float64', requiresGrad: true });
      const p0 = antler.tensor([c0], [1], { dtype: 'float64', requiresGrad: true });
      const d = new antler.distributions.Beta(p1, p0);
      const s = d.rsample([n], { seed: rng.int(0, 2 ** 31) });
      s.sum().backward();
      const g1 = data(p1.grad!)[0] / n, g0 = data(p0.grad!)[0] / n;
      // per-sample gradients are bounded by their spread; a loose 6-SE band from a second pass of squares is costly, so use the
      // derivative's scale: |dx/dc| ≤ ~1/min(c)·…; compare within 5% of the exact value plus 0.002.
      const t = c1 + c0;
      expect(Math.abs(g1 - c0 / t ** 2)).toBeLessThan(0.05 * (c0 / t ** 2) + 0.002);
      expect(Math.abs(g0 + c1 / t ** 2)).toBeLessThan(0.05 * (c1 / t ** 2) + 0.002);
      d.dispose();
    });
  });
  // ---- end helper B
});
