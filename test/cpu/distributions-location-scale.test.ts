// antler.distributions, location-scale family: every spec through the generic harness, then the family's own tests.
import { describeKL, describeSpec } from '../distributions-harness';
import * as antler from '../../lib';
import { expectAntlerError, expectAntlerErrorInTidy, expectClose, expectNoLeaksInSuite, makeRng, runSeed, tensorCounts, type Rng } from '../helpers';
import { KL_PAIRS, SPECS, logBesselIRef } from '../dist-specs-location-scale';

expectNoLeaksInSuite(tensorCounts);
for (const spec of SPECS) describeSpec(spec);
describe('KL divergences', () => {
  for (const [p, q] of KL_PAIRS) describeKL(p, q);
});

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
describe('MultivariateNormal and LowRankMultivariateNormal (references in JS float64)', () => {
  const D = antler.distributions;
  const SEED = runSeed();
  const vals = (t: antler.Tensor): number[] => Array.from(t.dataSync());
  const f64 = (v: number[], s: number[], requiresGrad = false): antler.Tensor => antler.tensor(v, s, { dtype: 'float64', requiresGrad });
  type Mat = number[][];
  const matMul = (a: Mat, b: Mat): Mat => a.map((r) => b[0].map((_, j) => r.reduce((s, v, k) => s + v * b[k][j], 0)));
  const tr = (a: Mat): Mat => a[0].map((_, j) => a.map((r) => r[j]));
  /** Inverse and log-determinant by Gauss–Jordan elimination with partial pivoting (n ≤ 4). */
  function invLogDet(a: Mat): { inv: Mat; logDet: number } {
    const n = a.length;
    const m = a.map((r, i) => [...r, ...r.map((_, j) => (i === j ? 1 : 0))]);
    let logDet = 0;
    for (let c = 0; c < n; c++) {
      let p = c;
      for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
      [m[c], m[p]] = [m[p], m[c]];
      const piv = m[c][c];
      logDet += Math.log(Math.abs(piv));
      for (let j = 0; j < 2 * n; j++) m[c][j] /= piv;
      for (let r = 0; r < n; r++)
        if (r !== c) {
          const f = m[r][c];
          for (let j = 0; j < 2 * n; j++) m[r][j] -= f * m[c][j];
        }
    }
    return { inv: m.map((r) => r.slice(n)), logDet };
  }
  const cholRef = (a: Mat): Mat => {
    const n = a.length;
    const L = a.map(() => new Array<number>(n).fill(0));
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) {
        let s = a[i][j];
        for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
        L[i][j] = i === j ? Math.sqrt(s) : s / L[j][j];
      }
    return L;
  };
  const randPD = (rng: Rng, n: number): Mat => {
    const A = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.uniform(-1, 1)));
    return matMul(A, tr(A)).map((r, i) => r.map((v, j) => v + (i === j ? 0.5 : 0)));
  };
  const logPdfRef = (mu: number[], S: Mat, x: number[]): number => {
    const { inv, logDet } = invLogDet(S);
    const d = x.map((v, i) => v - mu[i]);
    const q = d.reduce((s, di, i) => s + di * inv[i].reduce((t, v, j) => t + v * d[j], 0), 0);
    return -0.5 * (q + logDet + mu.length * Math.log(2 * Math.PI));
  };
  const klRef = (m1: number[], S1: Mat, m2: number[], S2: Mat): number => {
    const a = invLogDet(S2), b = invLogDet(S1);
    const n = m1.length;
    const trace = matMul(a.inv, S1).reduce((s, r, i) => s + r[i], 0);
    const d = m2.map((v, i) => v - m1[i]);
    const q = d.reduce((s, di, i) => s + di * a.inv[i].reduce((t, v, j) => t + v * d[j], 0), 0);
    return 0.5 * (trace + q - n + a.logDet - b.logDet);
  };
  const flatM = (ms: Mat[]): number[] => ms.flatMap((m) => m.flat());
  const sym = (m: Mat): Mat => m.map((r, i) => r.map((v, j) => (i <= j ? v : m[j][i])));

  const rng = makeRng(SEED);
  const n = 3, B = 2;
  const mus = Array.from({ length: B }, () => Array.from({ length: n }, () => rng.uniform(-2, 2)));
  const covs = Array.from({ length: B }, () => randPD(rng, n));
  const where = `(seed ${SEED})`;
  type Kind = 'covarianceMatrix' | 'precisionMatrix' | 'scaleTril';
  const matOf = (kind: Kind, S: Mat): Mat => (kind === 'covarianceMatrix' ? S : kind === 'precisionMatrix' ? sym(invLogDet(S).inv) : cholRef(S));
  const build = (kind: Kind, mu: number[][], S: Mat[], dtype: 'float32' | 'float64' = 'float64', o?: { validateArgs?: boolean }): antler.distributions.MultivariateNormal =>
    new D.MultivariateNormal(antler.tensor(mu.flat(), [mu.length, n], { dtype }), { [kind]: antler.tensor(flatM(S.map((s) => matOf(kind, s))), [S.length, n, n], { dtype }) }, o);

  test(`logProb, entropy, mean, variance and the matrix getters equal the density formula, for the three parametrisations ${where}`, () => {
    const xs = Array.from({ length: 4 * B }, () => Array.from({ length: n }, () => rng.uniform(-3, 3)));
    const want = xs.map((x, i) => logPdfRef(mus[i % B], covs[i % B], x));
    const entWant = covs.map((S) => 0.5 * (n * (1 + Math.log(2 * Math.PI)) + invLogDet(S).logDet));
    for (const kind of ['covarianceMatrix', 'precisionMatrix', 'scaleTril'] as Kind[])
      antler.tidy(() => {
        const d = build(kind, mus, covs);
        expect(d.batchShape).toEqual([B]);
        expect(d.eventShape).toEqual([n]);
        expectClose(vals(d.logProb(f64(xs.flat(), [4, B, n]))), want, 1e-10, 1e-10, `logProb ${kind} ${where}`);
        expectClose(vals(d.entropy()), entWant, 1e-10, 1e-10, `entropy ${kind} ${where}`);
        expectClose(vals(d.mean), mus.flat(), 0, 0, `mean ${kind}`);
        expectClose(vals(d.mode), mus.flat(), 0, 0, `mode ${kind}`);
        expectClose(vals(d.variance), covs.flatMap((S) => S.map((r, i) => r[i])), 1e-10, 1e-12, `variance ${kind} ${where}`);
        expectClose(vals(d.covarianceMatrix), flatM(covs), 1e-10, 1e-12, `covarianceMatrix ${kind} ${where}`);
        expectClose(vals(d.precisionMatrix), flatM(covs.map((S) => invLogDet(S).inv)), 1e-9, 1e-10, `precisionMatrix ${kind} ${where}`);
        expectClose(vals(d.scaleTril), flatM(covs.map(cholRef)), 1e-10, 1e-12, `scaleTril ${kind} ${where}`);
        // a value without the batch dims broadcasts; expand keeps logProb
        const x1 = f64(xs[0], [n]);
        expectClose(vals(d.logProb(x1)), [0, 1].map((b) => logPdfRef(mus[b], covs[b], xs[0])), 1e-10, 1e-10, `logProb broadcast ${kind}`);
        const e = d.expand([3, B]);
        expect(e.batchShape).toEqual([3, B]);
        expect(vals(e.logProb(x1))).toEqual(vals(d.logProb(x1).broadcastTo([3, B])));
        expect(e.sample([2]).shape).toEqual([2, 3, B, n]);
        e.dispose();
      });
    // a matrix shared by a batch of locs, and float32 against float64
    antler.tidy(() => {
      const d = new D.MultivariateNormal(f64(mus.flat(), [B, n]), { covarianceMatrix: f64(covs[0].flat(), [n, n]) });
      expect(d.batchShape).toEqual([B]);
      expectClose(vals(d.logProb(f64(xs.slice(0, B).flat(), [B, n]))), [0, 1].map((b) => logPdfRef(mus[b], covs[0], xs[b])), 1e-10, 1e-10, 'shared matrix');
      const d32 = build('covarianceMatrix', mus, covs, 'float32');
      expect(d32.dtype).toBe('float32');
      expect(d32.sample([2]).dtype).toBe('float32');
      expectClose(vals(d32.logProb(antler.tensor(xs.flat(), [4, B, n]))), want, 1e-4, 1e-4, 'float32 logProb');
      expectClose(vals(d32.entropy()), entWant, 1e-5, 1e-5, 'float32 entropy');
    });
  });

  test(`gradients of logProb w.r.t. loc and the matrix equal central differences (float64) ${where}`, () => {
    const xs = Array.from({ length: 2 * B }, () => Array.from({ length: n }, () => rng.uniform(-2, 2)));
    const w = Array.from({ length: 2 * B }, () => rng.uniform(0.5, 1.5));
    for (const kind of ['covarianceMatrix', 'precisionMatrix', 'scaleTril'] as Kind[]) {
      const M0 = covs.map((S) => matOf(kind, S));
      const value = (mu: number[][], M: Mat[], grad = false): { v: number; gl?: number[]; gm?: number[] } =>
        antler.tidy(() => {
          const l = f64(mu.flat(), [B, n], grad), m = f64(flatM(M), [B, n, n], grad);
          const s = new D.MultivariateNormal(l, { [kind]: m }, { validateArgs: false }).logProb(f64(xs.flat(), [2, B, n])).mul(f64(w, [2, B])).sum();
          if (!grad) return { v: s.item() };
          s.backward();
          return { v: s.item(), gl: vals(l.grad!), gm: vals(m.grad!) };
        });
      const { gl, gm } = value(mus, M0, true);
      const h = 1e-6;
      const fdLoc = mus.flatMap((mu, b) => mu.map((_, i) => {
        const up = mus.map((r, c) => r.map((v, j) => (c === b && j === i ? v + h : v)));
        const dn = mus.map((r, c) => r.map((v, j) => (c === b && j === i ? v - h : v)));
        return (value(up, M0).v - value(dn, M0).v) / (2 * h);
      }));
      expectClose(gl!, fdLoc, 1e-6, 1e-7, `d logProb / d loc (${kind}) ${where}`);
      // symmetric matrices: the derivative along E_ij + E_ji equals g_ij + g_ji (torch's symmetric gradient); scaleTril: each lower entry
      for (let b = 0; b < B; b++)
        for (let i = 0; i < n; i++)
          for (let j = 0; j <= i; j++) {
            const bump = (s: number): Mat[] => M0.map((M, c) => M.map((r, p) => r.map((v, q) => (c === b && ((p === i && q === j) || (kind !== 'scaleTril' && p === j && q === i)) ? v + s : v))));
            const fd = (value(mus, bump(h)).v - value(mus, bump(-h)).v) / (2 * h);
            const g = gm![b * n * n + i * n + j] + (kind !== 'scaleTril' && i !== j ? gm![b * n * n + j * n + i] : 0);
            expectClose([g], [fd], 1e-5, 1e-6, `d logProb / d ${kind}[${b}, ${i}, ${j}] ${where}`);
            if (kind !== 'scaleTril') expect(Math.abs(gm![b * n * n + i * n + j] - gm![b * n * n + j * n + i])).toBeLessThan(1e-10);
            else if (i !== j) expect(gm![b * n * n + j * n + i]).toBe(0);
          }
    }
  });

  test(`samples: mean and covariance of 100,000 within 6 standard errors, repeatable from a seed ${where}`, () => {
    const N = 100000;
    const seed = rng.u32();
    const [s, s2] = antler.tidy(() => {
      const d = build('covarianceMatrix', mus, covs);
      const a = d.sample([N], { seed });
      expect(a.shape).toEqual([N, B, n]);
      expect(a.requiresGrad).toBe(false);
      return [vals(a), vals(d.sample([N], { seed }))];
    });
    expect(s2).toEqual(s);
    for (let b = 0; b < B; b++) {
      const S = covs[b];
      const at = (k: number, i: number): number => s[(k * B + b) * n + i];
      for (let i = 0; i < n; i++) {
        let m = 0;
        for (let k = 0; k < N; k++) m += at(k, i);
        m /= N;
        if (!(Math.abs(m - mus[b][i]) <= 6 * Math.sqrt(S[i][i] / N))) throw new Error(`sample mean [${b}, ${i}] ${m}, expected ${mus[b][i]} ${where}`);
        for (let j = 0; j <= i; j++) {
          let c = 0;
          for (let k = 0; k < N; k++) c += (at(k, i) - mus[b][i]) * (at(k, j) - mus[b][j]);
          c /= N;
          const se = Math.sqrt((S[i][i] * S[j][j] + S[i][j] * S[i][j]) / N);
          if (!(Math.abs(c - S[i][j]) <= 6 * se)) throw new Error(`sample covariance [${b}, ${i}, ${j}] ${c}, expected ${S[i][j]} ± ${6 * se} ${where}`);
        }
      }
    }
  });

  test(`rsample's gradient equals central differences of the reparameterised path (same seed, same ε) ${where}`, () => {
    const seed = rng.u32();
    const w = Array.from({ length: 4 * B * n }, () => rng.uniform(-1, 1));
    for (const kind of ['covarianceMatrix', 'scaleTril'] as Kind[]) {
      const M0 = covs.map((S) => matOf(kind, S));
      const value = (mu: number[][], M: Mat[], grad = false): { v: number; gl?: number[]; gm?: number[] } =>
        antler.tidy(() => {
          const l = f64(mu.flat(), [B, n], grad), m = f64(flatM(M), [B, n, n], grad);
          const s = new D.MultivariateNormal(l, { [kind]: m }, { validateArgs: false }).rsample([4], { seed }).mul(f64(w, [4, B, n])).sum();
          if (!grad) return { v: s.item() };
          s.backward();
          return { v: s.item(), gl: vals(l.grad!), gm: vals(m.grad!) };
        });
      const { gl, gm } = value(mus, M0, true);
      const h = 1e-6;
      const fdLoc = mus.flatMap((mu, b) => mu.map((_, i) => (value(mus.map((r, c) => r.map((v, j) => (c === b && j === i ? v + h : v))), M0).v - value(mus.map((r, c) => r.map((v, j) => (c === b && j === i ? v - h : v))), M0).v) / (2 * h)));
      expectClose(gl!, fdLoc, 1e-6, 1e-7, `d rsample / d loc (${kind}) ${where}`);
      for (let b = 0; b < B; b++)
        for (let i = 0; i < n; i++)
          for (let j = 0; j <= i; j++) {
            const bump = (s: number): Mat[] => M0.map((M, c) => M.map((r, p) => r.map((v, q) => (c === b && ((p === i && q === j) || (kind !== 'scaleTril' && p === j && q === i)) ? v + s : v))));
            const fd = (value(mus, bump(h)).v - value(mus, bump(-h)).v) / (2 * h);
            const g = gm![b * n * n + i * n + j] + (kind !== 'scaleTril' && i !== j ? gm![b * n * n + j * n + i] : 0);
            expectClose([g], [fd], 1e-5, 1e-6, `d rsample / d ${kind}[${b}, ${i}, ${j}] ${where}`);
          }
    }
  });

  test(`klDivergence(MVN, MVN) equals the closed form in JS, with batch broadcasting ${where}`, () => {
    const mq = Array.from({ length: n }, () => rng.uniform(-2, 2));
    const Sq = randPD(rng, n);
    antler.tidy(() => {
      const p = build('scaleTril', mus, covs);
      const q = new D.MultivariateNormal(f64(mq, [n]), { covarianceMatrix: f64(Sq.flat(), [n, n]) });
      expectClose(vals(D.klDivergence(p, q)), mus.map((m, b) => klRef(m, covs[b], mq, Sq)), 1e-10, 1e-10, `KL(p ‖ q) ${where}`);
      expectClose(vals(D.klDivergence(q, p)), mus.map((m, b) => klRef(mq, Sq, m, covs[b])), 1e-10, 1e-10, `KL(q ‖ p) ${where}`);
      expectClose(vals(D.klDivergence(p, p)), [0, 0], 0, 1e-12, 'KL(p ‖ p)');
      expectAntlerError(() => D.klDivergence(p, new D.MultivariateNormal(f64([0, 0], [2]), { scaleTril: f64([1, 0, 0, 1], [2, 2]) })), 'SHAPE_MISMATCH');
    });
  });

  test('bad arguments: not positive-definite, lower-Cholesky or finite → INVALID_ARGUMENT; shapes → SHAPE_MISMATCH; none or two parametrisations → INVALID_ARGUMENT; nothing leaks', () => {
    const loc = f64([0, 0], [2]);
    const I = f64([1, 0, 0, 1], [2, 2]);
    const notPD = f64([1, 2, 2, 1], [2, 2]);
    const W = f64([1, 0, 0, 1], [2, 2]), zeroDiag = f64([1, 0], [2]);
    // tensors made inside the calls are freed by tidy; the library's own are counted here (made before `before`)
    const before = antler.memory().numTensors;
    expectAntlerError(() => new D.MultivariateNormal(loc, { covarianceMatrix: notPD }), 'INVALID_ARGUMENT', /covarianceMatrix/);
    expectAntlerError(() => new D.MultivariateNormal(loc, { precisionMatrix: notPD }), 'INVALID_ARGUMENT', /precisionMatrix/);
    expectAntlerErrorInTidy(() => new D.MultivariateNormal(loc, { covarianceMatrix: f64([1, 0.5, 0, 1], [2, 2]) }), 'INVALID_ARGUMENT'); // not symmetric
    expectAntlerErrorInTidy(() => new D.MultivariateNormal(loc, { scaleTril: f64([-1, 0, 0, 1], [2, 2]) }), 'INVALID_ARGUMENT', /scaleTril/);
    expectAntlerErrorInTidy(() => new D.MultivariateNormal(loc, { scaleTril: f64([1, 1, 0, 1], [2, 2]) }), 'INVALID_ARGUMENT');
    expectAntlerErrorInTidy(() => new D.MultivariateNormal(f64([0, NaN], [2]), { scaleTril: I }), 'INVALID_ARGUMENT', /loc/);
    expectAntlerError(() => new D.MultivariateNormal(loc, { covarianceMatrix: I, scaleTril: I }), 'INVALID_ARGUMENT', /exactly one/);
    expectAntlerError(() => new D.MultivariateNormal(loc, {}), 'INVALID_ARGUMENT', /exactly one/);
    expectAntlerError(() => new D.MultivariateNormal(loc, null as never), 'INVALID_ARGUMENT');
    expectAntlerError(() => new D.MultivariateNormal(loc, { covariance: I } as never), 'INVALID_ARGUMENT');
    expectAntlerErrorInTidy(() => new D.MultivariateNormal(f64([0, 0, 0], [3]), { covarianceMatrix: I }), 'SHAPE_MISMATCH');
    expectAntlerErrorInTidy(() => new D.MultivariateNormal(loc, { covarianceMatrix: f64([1, 0], [2]) }), 'SHAPE_MISMATCH');
    expectAntlerErrorInTidy(() => new D.MultivariateNormal(f64([0], []), { covarianceMatrix: f64([1], [1, 1]) }), 'SHAPE_MISMATCH');
    expectAntlerErrorInTidy(() => new D.MultivariateNormal(f64([0, 0, 0, 0, 0, 0], [3, 2]), { covarianceMatrix: f64([1, 0, 0, 1, 1, 0, 0, 1], [2, 2, 2]) }), 'SHAPE_MISMATCH');
    expectAntlerErrorInTidy(() => new D.MultivariateNormal(loc, { covarianceMatrix: f64([1, 0, 0, 0, 1, 0], [2, 3]) }), 'SHAPE_MISMATCH');
    expectAntlerError(() => new D.LowRankMultivariateNormal(loc, W, zeroDiag), 'INVALID_ARGUMENT', /covDiag/);
    expectAntlerErrorInTidy(() => new D.LowRankMultivariateNormal(loc, f64([1, NaN], [2, 1]), f64([1, 1], [2])), 'INVALID_ARGUMENT', /covFactor/);
    expectAntlerErrorInTidy(() => new D.LowRankMultivariateNormal(loc, f64([1, 0, 0], [3, 1]), f64([1, 1], [2])), 'SHAPE_MISMATCH');
    expectAntlerErrorInTidy(() => new D.LowRankMultivariateNormal(loc, W, f64([1, 1, 1], [3])), 'SHAPE_MISMATCH');
    expectAntlerErrorInTidy(() => new D.LowRankMultivariateNormal(loc, f64([1, 0], [2]), f64([1, 1], [2])), 'SHAPE_MISMATCH');
    expect(antler.memory().numTensors).toBe(before);
    antler.tidy(() => {
      const d = new D.MultivariateNormal(loc, { scaleTril: I });
      expectAntlerError(() => d.logProb(f64([0, 0, 0], [3])), 'SHAPE_MISMATCH');
      expectAntlerError(() => d.logProb(f64([0, NaN], [2])), 'INVALID_ARGUMENT');
      expect(d.rsample([3], { seed: 1 }).shape).toEqual([3, 2]);
    });
    antler.dispose([loc, I, notPD, W, zeroDiag]);
  });

  test(`LowRankMultivariateNormal equals the MultivariateNormal with Σ = W Wᵀ + diag(D): logProb, entropy, moments, matrices, KL ${where}`, () => {
    const m = 2;
    const Ws = Array.from({ length: B }, () => Array.from({ length: n * m }, () => rng.uniform(-1, 1)));
    const Ds = Array.from({ length: B }, () => Array.from({ length: n }, () => rng.uniform(0.3, 2)));
    const sigma = (W: number[], Dg: number[]): Mat => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => {
      let s = i === j ? Dg[i] : 0;
      for (let k = 0; k < m; k++) s += W[i * m + k] * W[j * m + k];
      return s;
    }));
    const Ss = Ws.map((W, b) => sigma(W, Ds[b]));
    const xs = Array.from({ length: 3 * B }, () => Array.from({ length: n }, () => rng.uniform(-3, 3)));
    const mq = Array.from({ length: n }, () => rng.uniform(-2, 2));
    const Wq = Array.from({ length: n * m }, () => rng.uniform(-1, 1)), Dq = Array.from({ length: n }, () => rng.uniform(0.3, 2));
    antler.tidy(() => {
      const lr = new D.LowRankMultivariateNormal(f64(mus.flat(), [B, n]), f64(Ws.flat(), [B, n, m]), f64(Ds.flat(), [B, n]));
      expect(lr.batchShape).toEqual([B]);
      expect(lr.eventShape).toEqual([n]);
      expectClose(vals(lr.logProb(f64(xs.flat(), [3, B, n]))), xs.map((x, i) => logPdfRef(mus[i % B], Ss[i % B], x)), 1e-10, 1e-10, `logProb ${where}`);
      expectClose(vals(lr.entropy()), Ss.map((S) => 0.5 * (n * (1 + Math.log(2 * Math.PI)) + invLogDet(S).logDet)), 1e-10, 1e-10, `entropy ${where}`);
      expectClose(vals(lr.mean), mus.flat(), 0, 0, 'mean');
      expectClose(vals(lr.variance), Ss.flatMap((S) => S.map((r, i) => r[i])), 1e-12, 1e-12, 'variance');
      expectClose(vals(lr.covarianceMatrix), flatM(Ss), 1e-12, 1e-12, 'covarianceMatrix');
      expectClose(vals(lr.precisionMatrix), flatM(Ss.map((S) => invLogDet(S).inv)), 1e-9, 1e-10, `precisionMatrix ${where}`);
      expectClose(vals(lr.scaleTril), flatM(Ss.map(cholRef)), 1e-10, 1e-12, `scaleTril ${where}`);
      const q = new D.LowRankMultivariateNormal(f64(mq, [n]), f64(Wq, [n, m]), f64(Dq, [n]));
      const Sq = sigma(Wq, Dq);
      const full = new D.MultivariateNormal(f64(mq, [n]), { covarianceMatrix: f64(Sq.flat(), [n, n]) });
      const pFull = new D.MultivariateNormal(f64(mus.flat(), [B, n]), { covarianceMatrix: f64(flatM(Ss), [B, n, n]) });
      const kl = (a: number[], Sa: Mat, c: number[], Sc: Mat): number => klRef(a, Sa, c, Sc);
      expectClose(vals(D.klDivergence(lr, q)), mus.map((mu, b) => kl(mu, Ss[b], mq, Sq)), 1e-10, 1e-10, `KL(LowRank ‖ LowRank) ${where}`);
      expectClose(vals(D.klDivergence(lr, full)), mus.map((mu, b) => kl(mu, Ss[b], mq, Sq)), 1e-10, 1e-10, `KL(LowRank ‖ MVN) ${where}`);
      expectClose(vals(D.klDivergence(full, lr)), mus.map((mu, b) => kl(mq, Sq, mu, Ss[b])), 1e-10, 1e-10, `KL(MVN ‖ LowRank) ${where}`);
      expectClose(vals(D.klDivergence(pFull, q)), vals(D.klDivergence(pFull, full)), 1e-10, 1e-10, `KL(MVN ‖ LowRank) vs KL(MVN ‖ MVN) ${where}`);
      const e = lr.expand([4, B]);
      expect(e.batchShape).toEqual([4, B]);
      expect(vals(e.logProb(f64(xs[0], [n])))).toEqual(vals(lr.logProb(f64(xs[0], [n])).broadcastTo([4, B])));
      e.dispose();
      const l32 = new D.LowRankMultivariateNormal(antler.tensor(mus.flat(), [B, n]), antler.tensor(Ws.flat(), [B, n, m]), antler.tensor(Ds.flat(), [B, n]));
      expectClose(vals(l32.logProb(antler.tensor(xs.flat(), [3, B, n]))), xs.map((x, i) => logPdfRef(mus[i % B], Ss[i % B], x)), 1e-4, 1e-4, 'float32 logProb');
    });

    // gradients of logProb (float64) vs central differences, in W, D and loc
    const xw = f64(xs.flat(), [3, B, n]);
    const value = (mu: number[][], W: number[][], Dg: number[][], grad = false): { v: number; g?: number[][] } =>
      antler.tidy(() => {
        const t = [f64(mu.flat(), [B, n], grad), f64(W.flat(), [B, n, m], grad), f64(Dg.flat(), [B, n], grad)];
        const s = new D.LowRankMultivariateNormal(t[0], t[1], t[2], { validateArgs: false }).logProb(xw).sum();
        if (!grad) return { v: s.item() };
        s.backward();
        return { v: s.item(), g: t.map((x) => vals(x.grad!)) };
      });
    const { g } = value(mus, Ws, Ds, true);
    const h = 1e-6;
    const params = [mus, Ws, Ds];
    params.forEach((P, pi) => {
      const fd = P.flatMap((row, b) => row.map((_, i) => {
        const at = (s: number): number[][][] => params.map((Q, qi) => (qi === pi ? Q.map((r, c) => r.map((v, j) => (c === b && j === i ? v + s : v))) : Q));
        const [u, d] = [at(h), at(-h)];
        return (value(u[0], u[1], u[2]).v - value(d[0], d[1], d[2]).v) / (2 * h);
      }));
      expectClose(g![pi], fd, 1e-5, 1e-6, `d logProb / d ${['loc', 'covFactor', 'covDiag'][pi]} ${where}`);
    });
    xw.dispose();

    // samples: mean and covariance within 6 standard errors; rsample's path gradient
    const N = 100000, seed = rng.u32();
    const s = antler.tidy(() => vals(new D.LowRankMultivariateNormal(f64(mus.flat(), [B, n]), f64(Ws.flat(), [B, n, m]), f64(Ds.flat(), [B, n])).sample([N], { seed })));
    for (let b = 0; b < B; b++)
      for (let i = 0; i < n; i++) {
        let mean = 0;
        for (let k = 0; k < N; k++) mean += s[(k * B + b) * n + i];
        mean /= N;
        if (!(Math.abs(mean - mus[b][i]) <= 6 * Math.sqrt(Ss[b][i][i] / N))) throw new Error(`LowRank sample mean [${b}, ${i}] ${mean} ${where}`);
        for (let j = 0; j <= i; j++) {
          let c = 0;
          for (let k = 0; k < N; k++) c += (s[(k * B + b) * n + i] - mus[b][i]) * (s[(k * B + b) * n + j] - mus[b][j]);
          c /= N;
          const S = Ss[b];
          if (!(Math.abs(c - S[i][j]) <= 6 * Math.sqrt((S[i][i] * S[j][j] + S[i][j] ** 2) / N))) throw new Error(`LowRank sample covariance [${b}, ${i}, ${j}] ${c}, expected ${S[i][j]} ${where}`);
        }
      }
    const wts = Array.from({ length: 3 * B * n }, () => rng.uniform(-1, 1));
    const path = (mu: number[][], W: number[][], Dg: number[][], grad = false): { v: number; g?: number[][] } =>
      antler.tidy(() => {
        const t = [f64(mu.flat(), [B, n], grad), f64(W.flat(), [B, n, m], grad), f64(Dg.flat(), [B, n], grad)];
        const r = new D.LowRankMultivariateNormal(t[0], t[1], t[2], { validateArgs: false }).rsample([3], { seed }).mul(f64(wts, [3, B, n])).sum();
        if (!grad) return { v: r.item() };
        r.backward();
        return { v: r.item(), g: t.map((x) => vals(x.grad!)) };
      });
    const pg = path(mus, Ws, Ds, true).g!;
    params.forEach((P, pi) => {
      const fd = P.flatMap((row, b) => row.map((_, i) => {
        const at = (d: number): number[][][] => params.map((Q, qi) => (qi === pi ? Q.map((r, c) => r.map((v, j) => (c === b && j === i ? v + d : v))) : Q));
        const [u, d] = [at(h), at(-h)];
        return (path(u[0], u[1], u[2]).v - path(d[0], d[1], d[2]).v) / (2 * h);
      }));
      expectClose(pg[pi], fd, 1e-6, 1e-7, `d rsample / d ${['loc', 'covFactor', 'covDiag'][pi]} ${where}`);
    });
  });
});

describe('VonMises beyond the harness', () => {
  const D = antler.distributions;
  const f64 = (v: number[]): antler.Tensor => antler.tensor(v, [v.length], { dtype: 'float64' });
  const vals = (t: antler.Tensor): number[] => Array.from(t.dataSync());

  test('log I0 and log I1 stay accurate for small and large concentrations (logProb normalisation and circular variance)', () => {
    const ks = [1e-8, 1e-3, 0.7, 3.75, 19.99, 20, 20.01, 35, 100, 800, 5000];
    antler.tidy(() => {
      const d = new D.VonMises(f64(ks.map(() => 0.25)), f64(ks));
      expectClose(vals(d.logProb(f64(ks.map(() => 1.5)))), ks.map((k) => k * Math.cos(1.25) - Math.log(2 * Math.PI) - logBesselIRef(k, 0)), 1e-13, 1e-12, 'logProb');
      expectClose(vals(d.variance), ks.map((k) => 1 - Math.exp(logBesselIRef(k, 1) - logBesselIRef(k, 0))), 1e-8, 1e-12, 'variance'); // log I ≈ κ: 1e-13 absolute at κ = 800 is float64's limit
    });
  });

  test('the circular variance and logProb have gradients that equal central differences (float64)', () => {
    const ks = [0.4, 5, 19.5, 21, 60];
    const k = antler.tensor(ks, [ks.length], { dtype: 'float64', requiresGrad: true });
    antler.tidy(() => {
      const d = new D.VonMises(0.5, k);
      d.variance.sum().add(d.logProb(f64(ks.map(() => 2))).sum()).backward();
    });
    const f = (kk: number): number => 1 - Math.exp(logBesselIRef(kk, 1) - logBesselIRef(kk, 0)) + kk * Math.cos(1.5) - logBesselIRef(kk, 0);
    expectClose(vals(k.grad!), ks.map((kk) => (f(kk + 1e-5) - f(kk - 1e-5)) / 2e-5), 1e-6, 1e-8, 'd / d concentration');
    k.dispose();
  });

  test('sample: tiny and huge concentrations, loc far outside [−π, π), NaN parameters end in NaN, float32', () => {
    antler.tidy(() => {
      const d = new D.VonMises(f64([10, -7, 0]), f64([1e-7, 1e5, 2]));
      const s = vals(d.sample([2000], { seed: 3 }));
      for (const x of s) expect(x >= -Math.PI && x < Math.PI).toBe(true);
      // κ = 1e5 around −7 ≡ −7 + 2π: within a few 1/√κ
      const c = s.filter((_, i) => i % 3 === 1);
      for (const x of c) expect(Math.abs(x - (-7 + 2 * Math.PI))).toBeLessThan(0.03);
      // κ = 1e-7: nearly uniform on the circle
      const u = s.filter((_, i) => i % 3 === 0);
      expect(Math.abs(u.reduce((a, b) => a + Math.cos(b), 0) / u.length)).toBeLessThan(0.1);
      const bad = new D.VonMises(f64([0, 0]), f64([NaN, 1]), { validateArgs: false }).sample([3], { seed: 1 });
      const bv = vals(bad);
      expect(bv.filter((_, i) => i % 2 === 0).every(Number.isNaN)).toBe(true);
      expect(bv.filter((_, i) => i % 2 === 1).every(Number.isFinite)).toBe(true);
      const s32 = new D.VonMises(antler.tensor([1]), antler.tensor([4])).sample([100], { seed: 2 });
      expect(s32.dtype).toBe('float32');
      expectAntlerError(() => new D.VonMises(0, 1).rsample([2]), 'NOT_SUPPORTED');
      expectAntlerError(() => new D.VonMises(0, 1).entropy(), 'NOT_SUPPORTED');
    });
  });
});

describe('second reading', () => {
  const D = antler.distributions;
  const t64 = (v: number[], shape: number[]): antler.Tensor => antler.tensor(v, shape, { dtype: 'float64' });
  const vals = (t: antler.Tensor): number[] => Array.from(t.dataSync());

  test('MultivariateNormal / LowRankMultivariateNormal logProb: batch dims of size 1 broadcast with the value ([1] batch, [3, n] value → [3], as torch)', () => {
    antler.tidy(() => {
      // Σ = L Lᵀ with L = [[1, 0], [0.5, 2]]; log N(x; 0, Σ) = −½‖L⁻¹x‖² − log|L| − log 2π
      const ref = (x: number[]): number => {
        const z0 = x[0], z1 = (x[1] - 0.5 * z0) / 2;
        return -0.5 * (z0 * z0 + z1 * z1) - Math.log(2) - Math.log(2 * Math.PI);
      };
      const xs = [[1, 2], [3, 4], [5, 6]];
      const d = new D.MultivariateNormal(t64([0, 0], [1, 2]), { scaleTril: t64([1, 0, 0.5, 2], [1, 2, 2]) });
      const lp = d.logProb(t64(xs.flat(), [3, 2]));
      expect(lp.shape).toEqual([3]);
      expectClose(vals(lp), xs.map(ref), 1e-12, 1e-12, 'MVN batch [1]');
      const d2 = new D.MultivariateNormal(t64([0, 0, 0, 0], [2, 1, 2]), { scaleTril: t64([1, 0, 0.5, 2], [2, 2]) });
      const lp2 = d2.logProb(t64(xs.flat(), [3, 2]));
      expect(lp2.shape).toEqual([2, 3]);
      expectClose(vals(lp2), [...xs.map(ref), ...xs.map(ref)], 1e-12, 1e-12, 'MVN batch [2, 1]');
      // W Wᵀ + diag(D) with W = [[1], [0.5]], D = [1, 3]: Σ = [[2, 0.5], [0.5, 3.25]]
      const lr = new D.LowRankMultivariateNormal(t64([0, 0], [1, 2]), t64([1, 0.5], [1, 2, 1]), t64([1, 3], [1, 2]));
      const lp3 = lr.logProb(t64(xs.flat(), [3, 2]));
      expect(lp3.shape).toEqual([3]);
      const full = new D.MultivariateNormal(t64([0, 0], [2]), { covarianceMatrix: t64([2, 0.5, 0.5, 3.25], [2, 2]) });
      expectClose(vals(lp3), vals(full.logProb(t64(xs.flat(), [3, 2]))), 1e-12, 1e-12, 'LowRankMVN batch [1]');
    });
  });

  test('MultivariateNormal / LowRankMultivariateNormal with event size n = 0: logProb, entropy and KL are zeros of the batch (the density of ℝ⁰\'s one point is 1; torch 1.13 throws for MVN and LowRank rank 0, gives these zeros for LowRank rank ≥ 1), samples [..., 0]', () => {
    antler.tidy(() => {
      for (const dtype of ['float64', 'float32'] as const) {
        const z = (shape: number[]): antler.Tensor => antler.zeros(shape, { dtype });
        const dists: [string, () => antler.distributions.Distribution][] = [
          ['covarianceMatrix', () => new D.MultivariateNormal(z([3, 0]), { covarianceMatrix: z([3, 0, 0]) })],
          ['scaleTril', () => new D.MultivariateNormal(z([3, 0]), { scaleTril: z([3, 0, 0]) })],
          ['precisionMatrix', () => new D.MultivariateNormal(z([3, 0]), { precisionMatrix: z([3, 0, 0]) })],
          ['LowRank rank 2', () => new D.LowRankMultivariateNormal(z([3, 0]), z([3, 0, 2]), antler.ones([3, 0], { dtype }))],
          ['LowRank rank 0', () => new D.LowRankMultivariateNormal(z([3, 0]), z([3, 0, 0]), antler.ones([3, 0], { dtype }))],
        ];
        for (const [name, make] of dists) {
          const d = make();
          expect([name, d.batchShape, d.eventShape]).toEqual([name, [3], [0]]);
          const lp = d.logProb(z([2, 3, 0]));
          expect([name, lp.shape, vals(lp).map((v) => v + 0)]).toEqual([name, [2, 3], [0, 0, 0, 0, 0, 0]]);
          expect([name, d.logProb(z([3, 0])).shape]).toEqual([name, [3]]);
          expect([name, d.entropy().shape, vals(d.entropy()).map((v) => v + 0)]).toEqual([name, [3], [0, 0, 0]]);
          expect([name, d.sample([2]).shape, d.rsample().shape, d.mean.shape, d.variance.shape]).toEqual([name, [2, 3, 0], [3, 0], [3, 0], [3, 0]]);
          expect([name, vals(D.klDivergence(d, d)).map((v) => v + 0)]).toEqual([name, [0, 0, 0]]);
        }
        // no batch: a scalar log density; the gradient w.r.t. loc is the empty [0]
        const loc = antler.zeros([0], { dtype, requiresGrad: true });
        const d0 = new D.MultivariateNormal(loc, { scaleTril: z([0, 0]) });
        const lp0 = d0.logProb(z([0]));
        expect([lp0.shape, vals(lp0).map((v) => v + 0)]).toEqual([[], [0]]);
        expect(d0.logProb(z([5, 0])).shape).toEqual([5]);
        lp0.backward();
        expect(loc.grad!.shape).toEqual([0]);
      }
    });
  });
});
