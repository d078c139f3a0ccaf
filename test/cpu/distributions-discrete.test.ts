// antler.distributions, discrete family: every spec through the generic harness, then the family's own tests.
import { CHI_Z, describeKL, describeSpec, poissonUpperTail } from '../distributions-harness';
import * as antler from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, lgammaRef, makeRng, runSeed, tensorCounts } from '../helpers';
import { KL_PAIRS, SPECS } from '../dist-specs-discrete';

expectNoLeaksInSuite(tensorCounts);
for (const spec of SPECS) describeSpec(spec);
describe('KL divergences', () => {
  for (const [p, q] of KL_PAIRS) describeKL(p, q);
});

const D = antler.distributions;
const data = (t: antler.Tensor): number[] => Array.from(t.dataSync());
/** Random weights [B, K] in (0.1, 1) and their normalised float64 rows. */
function weights(rng: ReturnType<typeof makeRng>, B: number, K: number): { w: number[]; p: number[][] } {
  const w = Array.from({ length: B * K }, () => rng.uniform(0.1, 1));
  const p = Array.from({ length: B }, (_, b) => {
    const row = w.slice(b * K, b * K + K);
    const s = row.reduce((a, x) => a + x, 0);
    return row.map((x) => x / s);
  });
  return { w, p };
}

describe('OneHotCategorical and OneHotCategoricalStraightThrough (own tests)', () => {
  const SEED = runSeed();
  const B = 3, K = 4;

  test(`logProb, entropy, mean, variance, mode, enumerateSupport against float64 references (seed ${SEED})`, () => {
    const rng = makeRng(SEED);
    const { w, p } = weights(rng, B, K);
    antler.tidy(() => {
      for (const C of [D.OneHotCategorical, D.OneHotCategoricalStraightThrough]) {
        const probs = antler.tensor(w, [B, K], { dtype: 'float64' });
        const d = new C({ probs });
        expect(d.batchShape).toEqual([B]);
        expect(d.eventShape).toEqual([K]);
        // every one-hot vector of every batch element
        const e = d.enumerateSupport();
        expect(e.shape).toEqual([K, B, K]);
        expect(d.enumerateSupport(false).shape).toEqual([K, 1, K]);
        const ev = data(e);
        for (let k = 0; k < K; k++) for (let b = 0; b < B; b++) for (let j = 0; j < K; j++) expect(ev[(k * B + b) * K + j]).toBe(j === k ? 1 : 0);
        expectClose(data(d.logProb(e)), Array.from({ length: K * B }, (_, i) => Math.log(p[i % B][Math.floor(i / B)])), 1e-12, 1e-12, 'logProb');
        expectClose(data(d.entropy()), p.map((r) => -r.reduce((a, x) => a + x * Math.log(x), 0)), 1e-12, 1e-12, 'entropy');
        expectClose(data(d.mean), p.flat(), 1e-12, 1e-12, 'mean');
        expectClose(data(d.variance), p.flat().map((x) => x * (1 - x)), 1e-12, 1e-12, 'variance');
        expect(data(d.mode)).toEqual(p.flatMap((r) => r.map((x) => (x === Math.max(...r) ? 1 : 0))));
        // the logits parametrisation gives the same distribution
        const dl = new C({ logits: antler.log(probs).add(3) });
        expectClose(data(dl.logProb(e)), data(d.logProb(e)), 1e-12, 1e-12, 'logProb from logits');
        expectClose(data(dl.probs), p.flat(), 1e-12, 1e-12, 'probs from logits');
        // outside the support, bad parameters, both or neither of probs/logits
        expectAntlerError(() => d.logProb(antler.tensor([1, 1, 0, 0], [K], { dtype: 'float64' })), 'INVALID_ARGUMENT');
        expectAntlerError(() => d.logProb(antler.tensor([1, 0, 0], [3], { dtype: 'float64' })), 'SHAPE_MISMATCH');
        expectAntlerError(() => new C({ probs: antler.tensor([0.5, -0.1, 0.6], [3], { dtype: 'float64' }) }), 'INVALID_ARGUMENT');
        expectAntlerError(() => new C({ probs, logits: probs } as never), 'INVALID_ARGUMENT');
        expectAntlerError(() => new C({} as never), 'INVALID_ARGUMENT');
        // expand keeps the distribution
        const x = d.expand([2, B]);
        expect(x.batchShape).toEqual([2, B]);
        expect(x.eventShape).toEqual([K]);
        expectClose(data(x.entropy()), [...data(d.entropy()), ...data(d.entropy())], 0, 0, 'expanded entropy');
        x.dispose();
        d.dispose();
        dl.dispose();
      }
    });
  });

  test(`samples are one-hot with class frequencies within 6 standard errors, repeatable from a seed (seed ${SEED})`, () => {
    const rng = makeRng(SEED + 1);
    const { w, p } = weights(rng, B, K);
    const N = 50000;
    const seed = rng.u32();
    antler.tidy(() => {
      const d = new D.OneHotCategorical({ probs: antler.tensor(w, [B, K], { dtype: 'float32' }) });
      const s = d.sample([N], { seed });
      expect(s.shape).toEqual([N, B, K]);
      expect(s.dtype).toBe('float32');
      const v = data(s);
      expect(data(d.sample([N], { seed }))).toEqual(v);
      const counts = Array.from({ length: B * K }, () => 0);
      for (let n = 0; n < N; n++)
        for (let b = 0; b < B; b++) {
          let ones = 0;
          for (let k = 0; k < K; k++) {
            const x = v[(n * B + b) * K + k];
            expect(x === 0 || x === 1).toBe(true);
            ones += x;
            counts[b * K + k] += x;
          }
          if (ones !== 1) throw new Error(`sample ${n}, element ${b} is not one-hot`);
        }
      for (let b = 0; b < B; b++)
        for (let k = 0; k < K; k++) {
          const q = p[b][k];
          expect(Math.abs(counts[b * K + k] / N - q)).toBeLessThan(6 * Math.sqrt((q * (1 - q)) / N));
        }
    });
  });

  test(`rsample of the straight-through class carries the gradient of probs (seed ${SEED})`, () => {
    const rng = makeRng(SEED + 2);
    const { w, p } = weights(rng, B, K);
    const g = Array.from({ length: 2 * B * K }, () => rng.uniform(-1, 1));
    const { grad, s } = antler.tidy(() => {
      const logits = antler.tensor(w.map(Math.log), [B, K], { dtype: 'float64', requiresGrad: true });
      const d = new D.OneHotCategoricalStraightThrough({ logits });
      const x = d.rsample([2], { seed: 11 });
      expect(x.requiresGrad).toBe(true);
      x.mul(antler.tensor(g, [2, B, K], { dtype: 'float64' })).sum().backward();
      expect(data(x)).toEqual(data(d.sample([2], { seed: 11 })));
      return { grad: data(logits.grad!), s: data(x) };
    });
    // d/dlogits of Σ_s g_s·softmax(logits): J = diag(p) − p pᵀ applied to G = Σ_s g_s
    const want: number[] = [];
    for (let b = 0; b < B; b++) {
      const G = Array.from({ length: K }, (_, k) => g[b * K + k] + g[B * K + b * K + k]);
      const pg = p[b].reduce((a, x, k) => a + x * G[k], 0);
      for (let k = 0; k < K; k++) want.push(p[b][k] * (G[k] - pg));
    }
    expectClose(grad, want, 1e-10, 1e-12, 'straight-through gradient');
    expect(s.every((x) => x === 0 || x === 1)).toBe(true);
    antler.tidy(() => expectAntlerError(() => new D.OneHotCategorical({ probs: antler.tensor(w, [B, K]) }).rsample(), 'NOT_SUPPORTED'));
  });

  test(`klDivergence(OneHotCategorical, OneHotCategorical) equals Σ p log(p/q), ∞ where q has a zero p has not (seed ${SEED})`, () => {
    const rng = makeRng(SEED + 3);
    const a = weights(rng, B, K), b = weights(rng, B, K);
    antler.tidy(() => {
      const P = new D.OneHotCategorical({ probs: antler.tensor(a.w, [B, K], { dtype: 'float64' }) });
      const Q = new D.OneHotCategorical({ logits: antler.tensor(b.w.map(Math.log), [B, K], { dtype: 'float64' }) });
      expectClose(data(D.klDivergence(P, Q)), a.p.map((r, i) => r.reduce((s, x, k) => s + x * Math.log(x / b.p[i][k]), 0)), 1e-12, 1e-12, 'KL');
      const Z = new D.OneHotCategorical({ probs: antler.tensor([0.5, 0.5, 0, 0.5, 0, 0.5], [2, 3], { dtype: 'float64' }) });
      const Y = new D.OneHotCategorical({ probs: antler.tensor([0.5, 0.5, 0, 0.5, 0.5, 0], [2, 3], { dtype: 'float64' }) });
      expectClose(data(D.klDivergence(Z, Y)), [0, Infinity], 0, 0, 'KL with zeros');
    });
  });
});

describe('Bernoulli, Geometric, Categorical: the logits parametrisation and edge values (own tests)', () => {
  test('logits give the same logProb, entropy and probs as the probs they encode; probs 0 and 1', () => {
    const rng = makeRng(runSeed());
    const p = Array.from({ length: 5 }, () => rng.uniform(0.05, 0.95));
    const l = p.map((x) => Math.log(x / (1 - x)));
    antler.tidy(() => {
      for (const C of [D.Bernoulli, D.Geometric]) {
        const a = new C({ probs: antler.tensor(p, [5], { dtype: 'float64' }) });
        const b = new C({ logits: antler.tensor(l, [5], { dtype: 'float64' }) });
        const v = antler.tensor([0, 1, 1, 0, 1], [5], { dtype: 'float64' });
        expectClose(data(b.logProb(v)), data(a.logProb(v)), 1e-12, 1e-12, `${C.name} logProb`);
        expectClose(data(b.entropy()), data(a.entropy()), 1e-12, 1e-12, `${C.name} entropy`);
        expectClose(data(b.probs), p, 1e-12, 1e-12, `${C.name} probs`);
        expectClose(data(a.logits), l, 1e-12, 1e-12, `${C.name} logits`);
      }
      // Bernoulli: probs 0 and 1 give log-mass 0 and −∞ (torch clamps the logits to ±log((1−eps)/eps))
      const e = new D.Bernoulli({ probs: antler.tensor([0, 1], [2], { dtype: 'float64' }) });
      const lp = data(e.logProb(antler.tensor([[0, 1], [1, 0]], [2, 2], { dtype: 'float64' })));
      expectClose([lp[0], lp[1]], [0, 0], 0, 1e-15, 'Bernoulli log-mass at certain outcomes');
      expect(lp[2]).toBeLessThan(-30);
      expect(lp[3]).toBeLessThan(-30);
      expect(data(new D.Bernoulli({ probs: antler.tensor([0.5, 0.2, 0.7], [3]) }).mode)).toEqual([NaN, 0, 1]);
      // Geometric: probs 1 gives P(0) = 1
      expectClose(data(new D.Geometric({ probs: antler.tensor([1], [1], { dtype: 'float64' }) }).logProb(antler.tensor([0, 2], [2], { dtype: 'float64' }))), [0, -Infinity], 0, 0, 'Geometric(1)');
      // Categorical: int32 samples, enumerateSupport, mode; a single class
      const c = new D.Categorical({ logits: antler.tensor([0, 1, 2, 2, 1, 0], [2, 3]) });
      expect(c.enumerateSupport().shape).toEqual([3, 2]);
      expect(data(c.enumerateSupport())).toEqual([0, 0, 1, 1, 2, 2]);
      expect(c.enumerateSupport(false).shape).toEqual([3, 1]);
      expect(data(c.mode)).toEqual([2, 0]);
      expect(c.sample([4], { seed: 3 }).dtype).toBe('int32');
      const one = new D.Categorical({ probs: antler.tensor([2], [1]) });
      expect(data(one.sample([6]))).toEqual([0, 0, 0, 0, 0, 0]);
      // log of probs clamped to 1 − eps, as torch's probs_to_logits
      expectClose([one.logProb(antler.tensor(0, [], { dtype: 'int32' })).item()], [Math.log1p(-(2 ** -23))], 1e-6, 0, 'Categorical with one class');
      expect(data(new D.Bernoulli({ probs: 0.3 }).enumerateSupport())).toEqual([0, 1]);
      expectAntlerError(() => new D.Categorical({ probs: 0.5 } as never), 'INVALID_ARGUMENT');
      expectAntlerError(() => c.logProb(antler.tensor([3], [1])), 'INVALID_ARGUMENT');
      expectAntlerError(() => new D.Bernoulli(antler.tensor([0.5], [1]) as never), 'INVALID_ARGUMENT');
    });
  });

  test('Binomial: logits parametrisation, enumerateSupport, KL for equal and unequal totalCount; sample shapes', () => {
    const rng = makeRng(runSeed());
    const n = [7, 7, 7], p = [0, 1, 2].map(() => rng.uniform(0.05, 0.95)), q = [0, 1, 2].map(() => rng.uniform(0.05, 0.95));
    const lbin = (m: number, r: number, k: number): number => lgammaRef(m + 1) - lgammaRef(k + 1) - lgammaRef(m - k + 1) + k * Math.log(r) + (m - k) * Math.log1p(-r);
    antler.tidy(() => {
      const T = (a: number[]): antler.Tensor => antler.tensor(a, [a.length], { dtype: 'float64' });
      const a = new D.Binomial(T(n), { probs: T(p) });
      const b = new D.Binomial(T(n), { logits: T(q.map((x) => Math.log(x / (1 - x)))) });
      const e = a.enumerateSupport();
      expect(e.shape).toEqual([8, 3]);
      expect(a.enumerateSupport(false).shape).toEqual([8, 1]);
      expectClose(data(b.logProb(e)), Array.from({ length: 24 }, (_, i) => lbin(7, q[i % 3], Math.floor(i / 3))), 1e-12, 1e-12, 'Binomial logits logProb');
      const want = p.map((r, i) => {
        let s = 0;
        for (let k = 0; k <= 7; k++) s += Math.exp(lbin(7, r, k)) * (lbin(7, r, k) - lbin(7, q[i], k));
        return s;
      });
      expectClose(data(D.klDivergence(a, b)), want, 1e-10, 1e-12, 'KL(Binomial ‖ Binomial)');
      const big = new D.Binomial(T([9, 7, 8]), { probs: T(p) });
      // (expectClose with rtol > 0 accepts anything for an infinite expectation: check those exactly)
      const kb = data(D.klDivergence(big, b));
      expect([kb[0], kb[2]]).toEqual([Infinity, Infinity]);
      expectClose([kb[1]], [want[1]], 1e-10, 1e-12, 'KL with a larger totalCount');
      expectAntlerError(() => D.klDivergence(b, big), 'NOT_SUPPORTED');
      expectAntlerError(() => big.enumerateSupport(), 'NOT_SUPPORTED');
      expect(a.sample([2]).shape).toEqual([2, ...a.batchShape]);
      expect(new D.Poisson(T(p)).sample([2]).shape).toEqual([2, ...a.batchShape]);
      expect(new D.Poisson(T([0])).logProb(T([0])).item()).toBe(0);
    });
  });
});

describe('Multinomial (own tests)', () => {
  const SEED = runSeed();
  const B = 3, K = 4, n = 9;

  test(`logProb, mean, variance against float64 references; logits; bad arguments; expand (seed ${SEED})`, () => {
    const rng = makeRng(SEED);
    const { w, p } = weights(rng, B, K);
    // random count vectors summing to n (and one summing to less, which torch also scores)
    const counts: number[][] = Array.from({ length: B }, () => {
      const c = new Array<number>(K).fill(0);
      for (let i = 0; i < n; i++) c[rng.int(0, K - 1)]++;
      return c;
    });
    const ref = (c: number[], r: number[]): number => {
      const m = c.reduce((a, x) => a + x, 0);
      return lgammaRef(m + 1) - c.reduce((a, x) => a + lgammaRef(x + 1), 0) + c.reduce((a, x, k) => a + x * Math.log(r[k]), 0);
    };
    antler.tidy(() => {
      const probs = antler.tensor(w, [B, K], { dtype: 'float64' });
      const d = new D.Multinomial(n, { probs });
      expect(d.batchShape).toEqual([B]);
      expect(d.eventShape).toEqual([K]);
      const v = antler.tensor(counts.flat(), [B, K], { dtype: 'float64' });
      expectClose(data(d.logProb(v)), counts.map((c, b) => ref(c, p[b])), 1e-12, 1e-12, 'logProb');
      const dl = new D.Multinomial(n, { logits: antler.log(probs) });
      expectClose(data(dl.logProb(v)), counts.map((c, b) => ref(c, p[b])), 1e-12, 1e-12, 'logProb from logits');
      expectClose(data(d.mean), p.flat().map((x) => n * x), 1e-12, 1e-12, 'mean');
      expectClose(data(d.variance), p.flat().map((x) => n * x * (1 - x)), 1e-12, 1e-12, 'variance');
      // a zero probability and a zero count give 0·log 0 = 0
      const z = new D.Multinomial(2, { probs: antler.tensor([0.5, 0.5, 0], [3], { dtype: 'float64' }) });
      expectClose([z.logProb(antler.tensor([1, 1, 0], [3], { dtype: 'float64' })).item()], [Math.log(0.5)], 1e-12, 0, 'zero class');
      expectAntlerError(() => d.logProb(antler.tensor([1, -1, 0, 0], [K], { dtype: 'float64' })), 'INVALID_ARGUMENT');
      expectAntlerError(() => d.logProb(antler.tensor([0.5, 1, 0, 0], [K], { dtype: 'float64' })), 'INVALID_ARGUMENT');
      expectAntlerError(() => d.logProb(antler.tensor([9, 1, 0, 0], [K], { dtype: 'float64' })), 'INVALID_ARGUMENT');
      expectAntlerError(() => new D.Multinomial(2.5, { probs }), 'INVALID_ARGUMENT');
      expectAntlerError(() => new D.Multinomial(-1, { probs }), 'INVALID_ARGUMENT');
      expectAntlerError(() => new D.Multinomial(2, { probs: antler.tensor([0.5, -0.5, 1], [3]) }), 'INVALID_ARGUMENT');
      const e = d.expand([2, B]);
      expect(e.batchShape).toEqual([2, B]);
      expectClose(data(e.logProb(v)), [...data(d.logProb(v)), ...data(d.logProb(v))], 0, 0, 'expanded logProb');
      expect(e.sample([5]).shape).toEqual([5, 2, B, K]);
      e.dispose();
    });
  });

  test(`samples sum to totalCount, have the multinomial mean and variance within 6 standard errors, and are repeatable (seed ${SEED})`, () => {
    const rng = makeRng(SEED + 1);
    const { w, p } = weights(rng, B, K);
    const N = 20000;
    const seed = rng.u32();
    antler.tidy(() => {
      const d = new D.Multinomial(n, { probs: antler.tensor(w, [B, K], { dtype: 'float32' }) });
      const s = d.sample([N], { seed });
      expect(s.shape).toEqual([N, B, K]);
      expect(s.dtype).toBe('float32');
      const v = data(s);
      expect(data(d.sample([N], { seed }))).toEqual(v);
      for (let b = 0; b < B; b++)
        for (let k = 0; k < K; k++) {
          let m = 0, m2 = 0;
          for (let i = 0; i < N; i++) {
            const x = v[(i * B + b) * K + k];
            m += x;
            m2 += x * x;
          }
          m /= N;
          const vr = m2 / N - m * m;
          const mu = n * p[b][k], va = n * p[b][k] * (1 - p[b][k]);
          expect(Math.abs(m - mu)).toBeLessThan(6 * Math.sqrt(va / N));
          // the variance of the sample variance ≈ (μ4 − σ⁴)/N; bound μ4 ≤ 3σ⁴ + σ² for a binomial count
          expect(Math.abs(vr - va)).toBeLessThan(6 * Math.sqrt((2 * va * va + va) / N));
        }
      for (let i = 0; i < N * B; i++) {
        let t = 0;
        for (let k = 0; k < K; k++) t += v[i * K + k];
        if (t !== n) throw new Error(`sample ${i} sums to ${t}, not ${n}`);
      }
      expect(data(new D.Multinomial(0, { probs: antler.tensor([0.5, 0.5], [2]) }).sample([2]))).toEqual([0, 0, 0, 0]);
    });
  });
});

describe('NegativeBinomial sampling (own test)', () => {
  // torch's Poisson(Gamma(totalCount, e^−logits)) draw; negativeBinomialSpec also runs the harness's chi-square test.
  test('samples have the negative binomial mean and variance within 6 standard errors and are repeatable', () => {
    const rng = makeRng(runSeed());
    const r = rng.uniform(0.5, 10), p = rng.uniform(0.05, 0.7);
    const N = 100000, seed = rng.u32();
    antler.tidy(() => {
      const d = new D.NegativeBinomial(r, { probs: p });
      const v = data(d.sample([N], { seed }));
      expect(data(d.sample([N], { seed }))).toEqual(v);
      const mu = (r * p) / (1 - p), va = mu / (1 - p);
      let m = 0;
      for (const x of v) {
        if (!(x >= 0 && x === Math.round(x))) throw new Error(`sample ${x} is not a nonnegative integer`);
        m += x;
      }
      m /= N;
      expect(Math.abs(m - mu)).toBeLessThan(6 * Math.sqrt(va / N));
    });
  });
});

/**
 * Pearson chi-square of integer samples against a pmf over [lo, hi]; throws at p ≈ 1e-9 a call (Wilson–Hilferty
 * z ≥ CHI_Z = 6). Bins expecting fewer than 20 are pooled; a pool expecting fewer than 20 is judged by its exact
 * Poisson upper tail (< 1e-9) instead of a Pearson term. (At z 4.9, p ≈ 5e-7, the 24 calls of a run failed
 * 1.2e-5 a run by their level alone; and a bin expecting 5 has a heavier tail than the chi-square's: to reach
 * z 6 on 10 dof alone it needs 22 draws, P(Poisson(5) ≥ 22) ≈ 2e-8, where a bin expecting 20 needs 54, 2.5e-10.)
 */
function chiSquare(samples: ArrayLike<number>, logPmf: (k: number) => number, lo: number, hi: number, what: string): void {
  const N = samples.length;
  const counts = new Map<number, number>();
  for (let i = 0; i < N; i++) {
    const x = samples[i];
    if (!(x >= lo && x <= hi && x === Math.round(x))) throw new Error(`${what}: sample ${x} is not an integer in [${lo}, ${hi}]`);
    counts.set(x, (counts.get(x) ?? 0) + 1);
  }
  let chi = 0, dof = -1, poolE = 0, poolO = 0;
  for (let k = lo; k <= hi; k++) {
    const e = N * Math.exp(logPmf(k)), o = counts.get(k) ?? 0;
    if (e >= 20) {
      chi += ((o - e) * (o - e)) / e;
      dof++;
    } else {
      poolE += e;
      poolO += o;
    }
  }
  if (poolE >= 20) {
    chi += ((poolO - poolE) * (poolO - poolE)) / poolE;
    dof++;
  } else if (poissonUpperTail(poolO, poolE) < 1e-9) throw new Error(`${what}: ${poolO} samples where the pmf expects ${poolE}`);
  if (dof < 1) return;
  const z = (Math.cbrt(chi / dof) - (1 - 2 / (9 * dof))) / Math.sqrt(2 / (9 * dof));
  if (!(z < CHI_Z)) throw new Error(`${what}: chi-square ${chi} on ${dof} dof (z ${z})`);
}
const poissonLogPmf = (rate: number) => (k: number): number => k * Math.log(rate) - rate - lgammaRef(k + 1);
const binomialLogPmf = (n: number, p: number) => (k: number): number =>
  k < 0 || k > n ? -Infinity : lgammaRef(n + 1) - lgammaRef(k + 1) - lgammaRef(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
const meanVar = (x: ArrayLike<number>): [number, number] => {
  let m = 0, v = 0;
  for (let i = 0; i < x.length; i++) m += x[i];
  m /= x.length;
  for (let i = 0; i < x.length; i++) v += (x[i] - m) ** 2;
  return [m, v / (x.length - 1)];
};

describe('poisson and binomial samplers (own tests)', () => {
  const SEED = runSeed();
  const N = 100000;

  test(`poisson: chi-square against the pmf for inversion (rate < 10) and PTRS (rate ≥ 10) rates, float64 and float32 (seed ${SEED})`, () => {
    const rng = makeRng(SEED);
    const rates = [rng.uniform(0.05, 1), rng.uniform(1, 9.9), rng.uniform(10, 12), rng.uniform(12, 200), 10];
    for (const dtype of ['float64', 'float32'] as const)
      for (const rate of rates) {
        const seed = rng.u32();
        const x = antler.tidy(() => data(antler.poisson(antler.full([N], rate, { dtype }), { seed })));
        const r = dtype === 'float32' ? Math.fround(rate) : rate;
        chiSquare(x, poissonLogPmf(r), 0, Math.ceil(r + 12 * Math.sqrt(r) + 40), `poisson(${r}) ${dtype} seed ${seed}`);
        const [m, v] = meanVar(x);
        expect(Math.abs(m - r)).toBeLessThan(6 * Math.sqrt(r / N));
        expect(Math.abs(v - r)).toBeLessThan(6 * Math.sqrt((r + 2 * r * r) / N));
      }
  });

  test(`poisson: large rates' moments, repeatability per element, edge values, dtype errors (seed ${SEED})`, () => {
    const rng = makeRng(SEED + 1);
    for (const rate of [1e4, 3e7]) {
      const x = antler.tidy(() => data(antler.poisson(antler.full([N], rate, { dtype: 'float64' }), { seed: rng.u32() })));
      const [m, v] = meanVar(x);
      expect(Math.abs(m - rate)).toBeLessThan(6 * Math.sqrt(rate / N));
      expect(Math.abs(v / rate - 1)).toBeLessThan(6 * Math.sqrt(2 / N));
      expect(x.every((k) => k === Math.round(k))).toBe(true);
    }
    antler.tidy(() => {
      const rates = antler.tensor([0.5, 20, 3, 400], [2, 2], { dtype: 'float64' });
      const a = data(antler.poisson(rates, { seed: 42 }));
      expect(data(antler.poisson(rates, { seed: 42 }))).toEqual(a);
      // element i depends on (seed, i) only: a longer draw starts with the same values
      const long = data(antler.poisson(antler.tensor([0.5, 20, 3, 400, 7, 7], [6], { dtype: 'float64' }), { seed: 42 }));
      expect(long.slice(0, 4)).toEqual(a);
      const u1 = data(antler.poisson(antler.full([64], 30, { dtype: 'float64' })));
      const u2 = data(antler.poisson(antler.full([64], 30, { dtype: 'float64' })));
      expect(u1).not.toEqual(u2);
      const e = data(antler.poisson(antler.tensor([0, -1, NaN, Infinity, 1e-300], [5], { dtype: 'float64' }), { seed: 3 }));
      expect(e[0]).toBe(0);
      expect(e[1]).toBeNaN();
      expect(e[2]).toBeNaN();
      expect(e[3]).toBe(Infinity);
      expect(e[4]).toBe(0);
      const f = antler.poisson(antler.tensor([2.5], [1], { dtype: 'float32' }), { seed: 1 });
      expect(f.dtype).toBe('float32');
      expect(antler.poisson(antler.zeros([0, 3]), { seed: 1 }).shape).toEqual([0, 3]);
    });
    antler.tidy(() => {
      expectAntlerError(() => antler.poisson(antler.tensor([1], [1], { dtype: 'int32' })), 'DTYPE_MISMATCH');
      expectAntlerError(() => antler.poisson([1] as unknown as antler.Tensor), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.poisson(antler.tensor([1], [1]), { seed: -1 }), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.poisson(antler.tensor([1], [1]), { sed: 1 } as unknown as { seed: number }), 'INVALID_ARGUMENT');
    });
  });

  test(`binomial: chi-square against the pmf for inversion (n·min(p, 1−p) < 10) and BTRS, p on both sides of 1/2 (seed ${SEED})`, () => {
    const rng = makeRng(SEED + 2);
    const cases: [number, number][] = [
      [rng.int(1, 12), rng.uniform(0.02, 0.98)],
      [rng.int(20, 60), rng.uniform(0.05, 0.15)],
      [rng.int(20, 60), rng.uniform(0.85, 0.95)],
      [rng.int(40, 200), rng.uniform(0.3, 0.7)],
      [rng.int(1000, 100000), rng.uniform(0.01, 0.99)],
      [100, 0.1],
    ];
    for (const dtype of ['float64', 'float32'] as const)
      for (const [n, p0] of cases) {
        const p = dtype === 'float32' ? Math.fround(p0) : p0;
        const seed = rng.u32();
        const x = antler.tidy(() => data(antler.binomial(antler.full([N], n, { dtype }), antler.full([N], p, { dtype }), { seed })));
        const sd = Math.sqrt(n * p * (1 - p));
        chiSquare(x, binomialLogPmf(n, p), Math.max(0, Math.floor(n * p - 12 * sd - 20)), Math.min(n, Math.ceil(n * p + 12 * sd + 20)), `binomial(${n}, ${p}) ${dtype} seed ${seed}`);
        const [m, v] = meanVar(x);
        expect(Math.abs(m - n * p)).toBeLessThan(6 * Math.sqrt((sd * sd) / N));
        // The sample variance's relative sd is √((κ − 1)/N), κ − 1 = 2 + (1 − 6pq)/(npq) for a binomial, and the
        // sample mean's error adds (x̄ − μ)²/σ² ~ χ²₁/N (over 40/N with p 2.5e-10). A fixed κ − 1 = 3 held only for
        // npq ≥ 1 − 6pq: at n = 1, p = 0.02 (κ − 1 = 47) 6·√(3/N) was 1.5 true standard errors, and the case
        // n ∈ [1, 12], p ∈ [0.02, 0.98] failed 7e-4 a run.
        const k1 = 2 + (1 - 6 * p * (1 - p)) / (sd * sd);
        expect(Math.abs(v / (sd * sd) - 1)).toBeLessThan(6 * Math.sqrt(Math.max(k1, 0) / N) + 40 / N);
      }
  });

  test(`the rejection samplers' acceptance steps: chi-square of 2,000,000 draws (PTRS at rate 10-30, BTRS at n·p 10-50) (seed ${SEED})`, () => {
    const rng = makeRng(SEED + 4);
    const M = 2000000;
    const rate = rng.uniform(10, 30), n = rng.int(40, 100), p = rng.uniform(0.25, 0.5);
    const x = antler.tidy(() => antler.poisson(antler.full([M], rate, { dtype: 'float64' }), { seed: rng.u32() }).dataSync());
    chiSquare(x, poissonLogPmf(rate), 0, Math.ceil(rate + 12 * Math.sqrt(rate) + 40), `poisson(${rate}) × ${M}`);
    const y = antler.tidy(() => antler.binomial(antler.full([M], n, { dtype: 'float64' }), antler.full([M], p, { dtype: 'float64' }), { seed: rng.u32() }).dataSync());
    chiSquare(y, binomialLogPmf(n, p), 0, n, `binomial(${n}, ${p}) × ${M}`);
  });

  test(`binomial: broadcasting, huge counts, repeatability, edge values, dtype/shape errors (seed ${SEED})`, () => {
    const rng = makeRng(SEED + 3);
    const n = 1e9, p = rng.uniform(0.2, 0.8);
    const x = antler.tidy(() => data(antler.binomial(antler.full([N], n, { dtype: 'float64' }), antler.full([1], p, { dtype: 'float64' }), { seed: rng.u32() })));
    const [m, v] = meanVar(x);
    expect(Math.abs(m - n * p)).toBeLessThan(6 * Math.sqrt((n * p * (1 - p)) / N));
    expect(Math.abs(v / (n * p * (1 - p)) - 1)).toBeLessThan(6 * Math.sqrt(3 / N));
    antler.tidy(() => {
      const c = antler.tensor([3, 50, 1000], [3, 1], { dtype: 'float64' });
      const q = antler.tensor([0.2, 0.7], [1, 2], { dtype: 'float64' });
      const a = antler.binomial(c, q, { seed: 9 });
      expect(a.shape).toEqual([3, 2]);
      expect(data(antler.binomial(c, q, { seed: 9 }))).toEqual(data(a));
      const f = (vals: number[]) => antler.tensor(vals, [vals.length], { dtype: 'float64' });
      const e = data(antler.binomial(f([0, 0, 5, 5, -1, 2.5, 5, 5, Infinity, NaN, 5]), f([0.3, 2, 0, 1, 0.3, 0.3, -0.1, 1.1, 0.5, 0.5, NaN]), { seed: 4 }));
      expect(e.slice(0, 4)).toEqual([0, NaN, 0, 5].map((z, i) => (i === 1 ? e[1] : z)));
      expect(e[1]).toBeNaN(); // prob outside [0, 1] even with count 0
      for (const i of [4, 5, 6, 7, 8, 9, 10]) expect(e[i]).toBeNaN();
      expect(antler.binomial(antler.zeros([0]), antler.zeros([0])).shape).toEqual([0]);
    });
    antler.tidy(() => {
      const f32 = antler.tensor([1], [1]);
      const f64 = antler.tensor([1], [1], { dtype: 'float64' });
      expectAntlerError(() => antler.binomial(f32, f64), 'DTYPE_MISMATCH');
      expectAntlerError(() => antler.binomial(antler.tensor([1], [1], { dtype: 'int32' }), antler.tensor([1], [1], { dtype: 'int32' })), 'DTYPE_MISMATCH');
      expectAntlerError(() => antler.binomial(antler.zeros([2]), antler.zeros([3])), 'SHAPE_MISMATCH');
      expectAntlerError(() => antler.binomial(f32, 0.5 as unknown as antler.Tensor), 'INVALID_ARGUMENT');
      const before = antler.memory().numTensors;
      expectAntlerError(() => antler.binomial(antler.zeros([2]), antler.zeros([3])), 'SHAPE_MISMATCH');
      expect(antler.memory().numTensors).toBe(before + 2); // only the two operands: nothing half-made is left
    });
  });
});

describe('Binomial.entropy and Multinomial.entropy (own tests)', () => {
  const SEED = runSeed();
  test(`Binomial.entropy needs one totalCount; Multinomial.entropy equals −Σ P log P over all count vectors (seed ${SEED})`, () => {
    const rng = makeRng(SEED);
    antler.tidy(() => {
      const d = new D.Binomial(antler.tensor([3, 4], [2], { dtype: 'float64' }), { probs: 0.3 });
      expectAntlerError(() => d.entropy(), 'NOT_SUPPORTED');
      // totalCount 0: entropy 0
      expect(Math.abs(data(new D.Binomial(0, { probs: antler.tensor([0.3], [1], { dtype: 'float64' }) }).entropy())[0])).toBe(0);
      const B = 2, K = 3, n = rng.int(1, 6);
      const { w, p } = weights(rng, B, K);
      const m = new D.Multinomial(n, { probs: antler.tensor(w, [B, K], { dtype: 'float64' }) });
      const want = p.map((r) => {
        let h = 0;
        for (let a = 0; a <= n; a++)
          for (let b = 0; a + b <= n; b++) {
            const c = [a, b, n - a - b];
            const lp = lgammaRef(n + 1) - c.reduce((s, x) => s + lgammaRef(x + 1), 0) + c.reduce((s, x, k) => s + x * Math.log(r[k]), 0);
            h -= Math.exp(lp) * lp;
          }
        return h;
      });
      expectClose(data(m.entropy()), want, 1e-10, 1e-12, `Multinomial(${n}).entropy`);
      expect(data(new D.Multinomial(0, { probs: antler.tensor(w, [B, K], { dtype: 'float64' }) }).entropy())).toEqual([0, 0]);
    });
  });
});

/** The RelaxedOneHotCategorical density on the simplex (K − 1 free coordinates), from the Concrete density formula. */
function concreteLogDensity(y: number[], p: number[], T: number): number {
  const K = y.length;
  // (K − 1)! T^(K−1) Π (pₖ y_k^(−T−1)) / (Σ pₖ y_k^(−T))^K
  let s = 0, l = lgammaRef(K) + (K - 1) * Math.log(T);
  for (let k = 0; k < K; k++) {
    l += Math.log(p[k]) - (T + 1) * Math.log(y[k]);
    s += p[k] * Math.pow(y[k], -T);
  }
  return l - K * Math.log(s);
}

describe('ExpRelaxedCategorical and RelaxedOneHotCategorical (own tests)', () => {
  const SEED = runSeed();
  const B = 2, K = 3;
  test(`logProb against the Concrete density (and its log-space change of variables), shapes, bad arguments (seed ${SEED})`, () => {
    const rng = makeRng(SEED);
    const { w, p } = weights(rng, B, K);
    const T = rng.uniform(0.3, 2);
    const pts = Array.from({ length: B }, () => {
      const g = Array.from({ length: K }, () => rng.uniform(0.05, 1));
      const s = g.reduce((a, x) => a + x, 0);
      return g.map((x) => x / s);
    });
    antler.tidy(() => {
      const probs = antler.tensor(w, [B, K], { dtype: 'float64' });
      const r = new D.RelaxedOneHotCategorical(T, { probs });
      expect(r.batchShape).toEqual([B]);
      expect(r.eventShape).toEqual([K]);
      const y = antler.tensor(pts.flat(), [B, K], { dtype: 'float64' });
      const want = pts.map((yy, b) => concreteLogDensity(yy, p[b], T));
      expectClose(data(r.logProb(y)), want, 1e-10, 1e-12, 'RelaxedOneHotCategorical.logProb');
      // ExpRelaxedCategorical: the density of x = log y, i.e. the simplex density times Π y_k
      const e = new D.ExpRelaxedCategorical(antler.tensor(T, [], { dtype: 'float64' }), { logits: antler.log(probs) });
      const wantE = want.map((l, b) => l + pts[b].reduce((a, v) => a + Math.log(v), 0));
      expectClose(data(e.logProb(antler.log(y))), wantE, 1e-10, 1e-12, 'ExpRelaxedCategorical.logProb');
      expectAntlerError(() => r.logProb(antler.tensor([0.5, 0.6, 0.1, 0.2, 0.3, 0.5], [B, K], { dtype: 'float64' })), 'INVALID_ARGUMENT');
      expectAntlerError(() => new D.RelaxedOneHotCategorical(-1, { probs }), 'INVALID_ARGUMENT');
      expectAntlerError(() => new D.RelaxedOneHotCategorical(1, { probs, logits: probs } as unknown as { probs: antler.Tensor }), 'INVALID_ARGUMENT');
      expect(r.expand([4, B]).batchShape).toEqual([4, B]);
      expectClose(data(r.expand([4, B]).logProb(y)), [...want, ...want, ...want, ...want], 1e-10, 1e-12, 'expand');
      expectClose(data(r.probs), p.flat(), 1e-14, 1e-15, 'probs');
      expectClose(data(e.probs), p.flat(), 1e-14, 1e-15, 'probs from logits');
    });
  });

  test(`rsample: on the simplex, repeatable, Gumbel-max limit, sample mean vs the density's integral (seed ${SEED})`, () => {
    const rng = makeRng(SEED + 1);
    const { w, p } = weights(rng, 1, K);
    const T = rng.uniform(0.5, 1.5);
    const N = 100000, seed = rng.u32();
    antler.tidy(() => {
      const probs = antler.tensor(w, [1, K], { dtype: 'float64' });
      const r = new D.RelaxedOneHotCategorical(T, { probs });
      const s = r.rsample([N], { seed });
      expect(s.shape).toEqual([N, 1, K]);
      const v = data(s);
      expect(data(r.sample([N], { seed }))).toEqual(v);
      const mean = new Array<number>(K).fill(0), sq = new Array<number>(K).fill(0);
      for (let i = 0; i < N; i++) {
        let t = 0;
        for (let k = 0; k < K; k++) {
          const x = v[i * K + k];
          t += x;
          mean[k] += x / N;
          sq[k] += (x * x) / N;
        }
        if (Math.abs(t - 1) > 1e-12) throw new Error(`sample ${i} sums to ${t}`);
      }
      // E[y_0] by 2-D quadrature of the density over the simplex (y_0 = a, y_1 = (1 − a) b)
      const q = (f: (y: number[]) => number): number => {
        const M = 400;
        let acc = 0;
        for (let i = 0; i < M; i++)
          for (let j = 0; j < M; j++) {
            const a = (i + 0.5) / M, b = (j + 0.5) / M;
            const y = [a, (1 - a) * b, (1 - a) * (1 - b)];
            acc += f(y) * Math.exp(concreteLogDensity(y, p[0], T)) * (1 - a);
          }
        return acc / (M * M);
      };
      if (T >= 0.8) {
        // the density is bounded enough for the midpoint rule only when T is not small
        for (let k = 0; k < K; k++) {
          const mk = q((y) => y[k]);
          const sdk = Math.sqrt(sq[k] - mean[k] * mean[k]);
          expect(Math.abs(mean[k] - mk)).toBeLessThan(6 * sdk / Math.sqrt(N) + 2e-3);
        }
      }
      // ExpRelaxedCategorical shares the draw: exp of its samples are these samples
      const e = new D.ExpRelaxedCategorical(T, { probs });
      expectClose(data(antler.exp(e.rsample([N], { seed }))), v, 1e-12, 1e-14, 'exp(ExpRelaxedCategorical) = RelaxedOneHotCategorical');
      // at a low temperature the argmax frequencies are the categorical probabilities (Gumbel-max)
      const lo = new D.RelaxedOneHotCategorical(0.05, { probs });
      const am = data(lo.sample([N], { seed }).argmax(-1));
      for (let k = 0; k < K; k++) {
        const f = am.filter((a) => a === k).length / N;
        expect(Math.abs(f - p[0][k])).toBeLessThan(6 * Math.sqrt((p[0][k] * (1 - p[0][k])) / N));
      }
    });
  });

  test(`rsample carries gradients to the logits and the temperature (float64 central differences at a fixed seed) (seed ${SEED})`, () => {
    const rng = makeRng(SEED + 2);
    const l0 = Array.from({ length: K }, () => rng.uniform(-1, 1));
    const T0 = rng.uniform(0.5, 2);
    const wts = Array.from({ length: 4 * K }, () => rng.uniform(-1, 1));
    const f = (l: number[], T: number): number =>
      antler.tidy(() => {
        const d = new D.RelaxedOneHotCategorical(antler.tensor(T, [], { dtype: 'float64' }), { logits: antler.tensor(l, [K], { dtype: 'float64' }) });
        return antler.sum(antler.mul(d.rsample([4], { seed: 5 }), antler.tensor(wts, [4, K], { dtype: 'float64' }))).dataSync()[0];
      });
    const [gl, gT] = antler.tidy(() => {
      const lt = antler.tensor(l0, [K], { dtype: 'float64' }).requiresGrad_(true);
      const Tt = antler.tensor(T0, [], { dtype: 'float64' }).requiresGrad_(true);
      const out = antler.sum(antler.mul(new D.RelaxedOneHotCategorical(Tt, { logits: lt }).rsample([4], { seed: 5 }), antler.tensor(wts, [4, K], { dtype: 'float64' })));
      const [a, b] = antler.autograd.grad(out, [lt, Tt]);
      return [data(a!), data(b!)];
    });
    const h = 1e-6;
    const fdl = l0.map((_, i) => (f(l0.map((x, j) => (j === i ? x + h : x)), T0) - f(l0.map((x, j) => (j === i ? x - h : x)), T0)) / (2 * h));
    expectClose(gl, fdl, 1e-6, 1e-8, 'd/dlogits');
    expectClose(gT, [(f(l0, T0 + h) - f(l0, T0 - h)) / (2 * h)], 1e-6, 1e-8, 'd/dtemperature');
  });
});

describe('ContinuousBernoulli inside torch\'s Taylor window lims (own tests)', () => {
  const SEED = runSeed();
  test(`logProb, mean, variance, entropy by the Taylor expansions equal the exact values; cdf/icdf are the uniform's, as torch (seed ${SEED})`, () => {
    const rng = makeRng(SEED);
    const ls = [0.5, rng.uniform(0.4991, 0.4999), rng.uniform(0.5001, 0.501), 0.499];
    const xs = ls.map(() => rng.uniform(0, 1));
    // exact C(λ) and moments by 2000-panel Simpson on [0, 1] (smooth integrands)
    const simpson = (g: (x: number) => number): number => {
      const M = 2000;
      let acc = g(0) + g(1);
      for (let i = 1; i < M; i++) acc += (i % 2 ? 4 : 2) * g(i / M);
      return acc / (3 * M);
    };
    const exact = ls.map((l) => {
      const un = (x: number): number => Math.pow(l, x) * Math.pow(1 - l, 1 - x);
      const Z = simpson(un);
      const m = simpson((x) => (x * un(x)) / Z);
      const v = simpson((x) => ((x - m) ** 2 * un(x)) / Z);
      const h = -simpson((x) => (un(x) / Z) * Math.log(un(x) / Z));
      return { logC: -Math.log(Z), m, v, h };
    });
    antler.tidy(() => {
      const d = new D.ContinuousBernoulli({ probs: antler.tensor(ls, [4], { dtype: 'float64' }) });
      const x = antler.tensor(xs, [4], { dtype: 'float64' });
      expectClose(data(d.logProb(x)), ls.map((l, i) => exact[i].logC + xs[i] * Math.log(l) + (1 - xs[i]) * Math.log1p(-l)), 1e-10, 1e-12, 'logProb');
      expectClose(data(d.mean), exact.map((e) => e.m), 1e-10, 1e-12, 'mean');
      // λ = 0.499 = lims[0] is outside (le), where torch's closed-form variance loses ~1e-9 to cancellation (its terms are ~6e4)
      expectClose(data(d.variance), exact.map((e) => e.v), 1e-7, 1e-12, 'variance');
      expectClose(data(d.variance).slice(0, 3), exact.slice(0, 3).map((e) => e.v), 1e-11, 1e-14, 'variance (Taylor)');
      expectClose(data(d.entropy()), exact.map((e) => e.h), 1e-9, 1e-12, 'entropy');
      // torch's cdf/icdf inside the window: the identity
      expect(data(d.cdf(x)).slice(0, 3)).toEqual(xs.slice(0, 3));
      expect(data(d.icdf(x)).slice(0, 3)).toEqual(xs.slice(0, 3));
      // lims moves the window: with lims [0.3, 0.7] λ = 0.6 uses the expansions (cdf = x), without it the closed form
      const w = new D.ContinuousBernoulli({ probs: 0.6 }, { lims: [0.3, 0.7] });
      expect(data(w.cdf(antler.tensor([0.25], [1])))).toEqual([0.25]);
      const c = new D.ContinuousBernoulli({ probs: antler.tensor([0.6], [1], { dtype: 'float64' }) });
      expectClose(data(c.cdf(antler.tensor([0.25], [1], { dtype: 'float64' }))), [(Math.pow(0.6, 0.25) * Math.pow(0.4, 0.75) + 0.6 - 1) / 0.2], 1e-12, 1e-14, 'cdf');
      expectAntlerError(() => new D.ContinuousBernoulli({ probs: 0.6 }, { lims: [0.7, 0.3] }), 'INVALID_ARGUMENT');
      // logits ±large: probs clamp to [eps, 1 − eps] (torch's), finite logProb
      const e = new D.ContinuousBernoulli({ logits: antler.tensor([-50, 50], [2], { dtype: 'float64' }) });
      expect(data(e.probs)).toEqual([2 ** -52, 1 - 2 ** -52]);
      expect(data(e.logProb(antler.tensor([0.5, 0.5], [2], { dtype: 'float64' }))).every(Number.isFinite)).toBe(true);
    });
  });
  test('logits ±∞ and ±1e3 (float64, float32): logProb is the limit of v·l − softplus(l) + log C (−∞ off the bound value, log C on it; torch 1.13 gives NaN at some), gradients v − sigmoid(l), finite; Bernoulli too', () => {
    antler.tidy(() => {
      for (const dtype of ['float64', 'float32'] as const) {
        const eps = dtype === 'float64' ? 2 ** -52 : 2 ** -23;
        // log C(λ) = log((log λ − log(1 − λ))/(2λ − 1)) at λ = 1 − eps (symmetric in λ ↔ 1 − λ)
        const lam = 1 - eps, logC = Math.log((Math.log(lam) - Math.log(eps)) / (2 * lam - 1));
        const vs = [0, 0.3, 1];
        for (const l of [Infinity, -Infinity, 1e3, -1e3]) {
          // v·l − softplus(l) = −(1 − v)·l − log1p(e^−l) (l > 0) or v·l − log1p(eˡ) (l < 0), 0·∞ = 0
          const bce = (v: number): number => (l > 0 ? (v === 1 ? 0 : -(1 - v) * l) - Math.log1p(Math.exp(-l)) : (v === 0 ? 0 : v * l) - Math.log1p(Math.exp(l)));
          const sig = l > 0 ? 1 : 0;
          const lt = antler.tensor([l], [1], { dtype, requiresGrad: true });
          const d = new D.ContinuousBernoulli({ logits: lt });
          const lp = d.logProb(antler.tensor(vs, [3], { dtype }));
          const got = data(lp), want = vs.map((v) => bce(v) + logC);
          vs.forEach((_, i) => {
            if (Number.isFinite(want[i])) expect(Math.abs(got[i] - want[i])).toBeLessThan((dtype === 'float64' ? 1e-12 : 3e-6) * Math.max(1, Math.abs(want[i])));
            else expect(got[i]).toBe(want[i]);
          });
          lp.sum().backward();
          expect(Math.abs(data(lt.grad!)[0] - vs.reduce((acc, v) => acc + v - sig, 0))).toBeLessThan(1e-6);
          // the moments, cdf and entropy at ±∞ are those of the clamped probs (as at ±1e3, as torch)
          const f = new D.ContinuousBernoulli({ logits: antler.tensor([Math.sign(l) * 1e3], [1], { dtype }) });
          expect(data(d.mean)).toEqual(data(f.mean));
          expect(data(d.entropy())).toEqual(data(f.entropy()));
          expect(data(d.cdf(antler.tensor(vs, [3], { dtype })))).toEqual(data(f.cdf(antler.tensor(vs, [3], { dtype }))));
          expect(data(d.entropy()).every(Number.isFinite)).toBe(true);
          // Bernoulli shares the −BCE: log p at logits ±∞ is 0 on the sure value and −∞ on the other
          const b = new D.Bernoulli({ logits: antler.tensor([l], [1], { dtype }) });
          const bl = data(b.logProb(antler.tensor([0, 1], [2], { dtype })));
          expectClose(bl, [bce(0), bce(1)], 1e-12, 0, 'Bernoulli logProb at large logits');
        }
      }
    });
  });
  test('Bernoulli/Geometric entropy given probs 0 or 1: the gradient in probs goes through v with the clamped logits (torch 1.13: ∓log((1 − eps)/eps)), not 0', () => {
    antler.tidy(() => {
      for (const dtype of ['float64', 'float32'] as const) {
        const eps = dtype === 'float64' ? 2 ** -52 : 2 ** -23;
        const tol = dtype === 'float64' ? 1e-12 : 1e-5;
        // probsToLogits clamps to [eps, 1 − eps] (zero gradient there): the logits are ±L, L = log((1 − eps)/eps)
        const L = Math.log1p(-eps) - Math.log(eps);
        const grad = (make: (p: antler.Tensor) => { entropy(): antler.Tensor }, pv: number[]): number[] => {
          const p = antler.tensor(pv, [pv.length], { dtype, requiresGrad: true });
          make(p).entropy().sum().backward();
          return data(p.grad!);
        };
        // Bernoulli: H = −v·l + softplus(l), ∂H/∂v = −l (torch's; the exact derivative −logit(p) is ∓∞ there)
        expectClose(grad((p) => new D.Bernoulli({ probs: p }), [0, 1]), [L, -L], tol, 0, `Bernoulli entropy gradient at probs 0, 1 (${dtype})`);
        // Geometric at p = 1: H = −bceNeg(l, v)/v, ∂H/∂v = −l − softplus(−l) at v = 1, l = L
        expectClose(grad((p) => new D.Geometric({ probs: p }), [1]), [-L - Math.log1p(Math.exp(-L))], tol, 0, `Geometric entropy gradient at probs 1 (${dtype})`);
      }
    });
  });
});
describe('second derivatives in the logits at 0 (own tests)', () => {
  test('Bernoulli, ContinuousBernoulli, Binomial, NegativeBinomial, LogitRelaxedBernoulli, RelaxedBernoulli logProb and Bernoulli/Geometric entropy: d²/dl² at l = 0 equals the central difference of the first derivative (max(l, 0) + log1p(e^−|l|) gave 0 there: −σ′(0) = −1/4 lost)', () => {
    antler.tidy(() => {
      const f64 = { dtype: 'float64' as const };
      const cases: [string, (l: antler.Tensor) => antler.Tensor][] = [
        ['Bernoulli.logProb', (l) => new D.Bernoulli({ logits: l }).logProb(antler.tensor([0, 1], [2], f64))],
        ['Bernoulli.entropy', (l) => new D.Bernoulli({ logits: l }).entropy()],
        ['ContinuousBernoulli.logProb', (l) => new D.ContinuousBernoulli({ logits: l }).logProb(antler.tensor([0.3, 0.9], [2], f64))],
        ['Binomial.logProb', (l) => new D.Binomial(5, { logits: l }).logProb(antler.tensor([2, 5], [2], f64))],
        ['NegativeBinomial.logProb', (l) => new D.NegativeBinomial(3, { logits: l }).logProb(antler.tensor([2, 0], [2], f64))],
        ['Geometric.entropy', (l) => new D.Geometric({ logits: l }).entropy()],
        ['LogitRelaxedBernoulli.logProb', (l) => new D.LogitRelaxedBernoulli(0.5, { logits: l }).logProb(antler.tensor([0.5, 0], [2], f64))],
        ['RelaxedBernoulli.logProb', (l) => new D.RelaxedBernoulli(0.5, { logits: l }).logProb(antler.tensor([0.3, 0.5], [2], f64))],
      ];
      const h = 1e-4;
      for (const [name, f] of cases) {
        const first = (x: number): number => {
          const l = antler.tensor([x, x], [2], { dtype: 'float64', requiresGrad: true });
          const [g] = antler.autograd.grad(f(l).sum(), l);
          return data(g!).reduce((acc, v) => acc + v, 0);
        };
        const l = antler.tensor([0, 0], [2], { dtype: 'float64', requiresGrad: true });
        const [g1] = antler.autograd.grad(f(l).sum(), l, { createGraph: true });
        const [g2] = antler.autograd.grad(g1!.sum(), l);
        const got = data(g2!).reduce((acc, v) => acc + v, 0);
        const want = (first(h) - first(-h)) / (2 * h);
        expect([name, Math.abs(got - want) < 1e-6 * Math.max(1, Math.abs(want))]).toEqual([name, true]);
      }
    });
  });
});
describe('RelaxedBernoulli at low temperatures (own tests)', () => {
  const SEED = runSeed();
  test(`logProb vs the transformed logistic density for T < 1; P(Y > 1/2) = probs at every temperature (seed ${SEED})`, () => {
    const rng = makeRng(SEED);
    const T = [rng.uniform(0.05, 0.3), rng.uniform(0.3, 1)], p = [rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)];
    const ys = [rng.uniform(0.001, 0.999), rng.uniform(0.001, 0.999)];
    const ref = (t: number, q: number, y: number): number => {
      const x = Math.log(y) - Math.log1p(-y), d = Math.log(q / (1 - q)) - t * x;
      return Math.log(t) + d - 2 * (Math.max(d, 0) + Math.log1p(Math.exp(-Math.abs(d)))) - Math.log(y) - Math.log1p(-y);
    };
    const N = 100000;
    antler.tidy(() => {
      const d = new D.RelaxedBernoulli(antler.tensor(T, [2], { dtype: 'float64' }), { probs: antler.tensor(p, [2], { dtype: 'float64' }) });
      expectClose(data(d.logProb(antler.tensor(ys, [2], { dtype: 'float64' }))), ys.map((y, i) => ref(T[i], p[i], y)), 1e-10, 1e-12, 'logProb');
      const s = data(d.sample([N], { seed: rng.u32() }));
      for (let i = 0; i < 2; i++) {
        let above = 0;
        for (let j = 0; j < N; j++) above += s[j * 2 + i] > 0.5 ? 1 : 0;
        expect(Math.abs(above / N - p[i])).toBeLessThan(6 * Math.sqrt((p[i] * (1 - p[i])) / N));
      }
    });
  });
});
describe('second reading', () => {
  test('Bernoulli and Geometric: logProb and entropy gradients w.r.t. large finite logits are finite (float32 ±100, float64 ±800), = value − sigmoid(logits)', () => {
    antler.tidy(() => {
      for (const [dt, big] of [['float32', 100], ['float64', 800]] as const) {
        const lv = [big, -big, 3];
        const l = antler.tensor(lv, [3], { dtype: dt });
        l.requiresGrad = true;
        const v = [1, 0, 1];
        const sig = (x: number): number => 1 / (1 + Math.exp(-x));
        const d = new D.Bernoulli({ logits: l });
        const [g] = antler.autograd.grad(d.logProb(antler.tensor(v, [3], { dtype: dt })).sum(), [l]);
        expectClose(data(g!), lv.map((x, i) => v[i] - sig(x)), 1e-6, 1e-12, `${dt} Bernoulli logProb grad`);
        // dH/dl = −l·σ(l)(1 − σ(l))
        const [ge] = antler.autograd.grad(d.entropy().sum(), [l]);
        expectClose(data(ge!), lv.map((x) => -x * sig(x) * (1 - sig(x))), 1e-5, 1e-12, `${dt} Bernoulli entropy grad`);
        const gd = new D.Geometric({ logits: l });
        const [gg] = antler.autograd.grad(gd.entropy().sum(), [l]);
        // at −big probs underflows to 0 and torch's entropy is NaN too: only +big and 3
        expect([data(gg!)[0], data(gg!)[2]].every(Number.isFinite)).toBe(true);
      }
    });
  });
  test('Geometric refuses probs 0 (INVALID_ARGUMENT, as torch 1.13\'s "to be positive"), no leak; validateArgs: false and logits −∞ still build', () => {
    const before = antler.memory().numTensors;
    expectAntlerError(() => antler.tidy(() => new D.Geometric({ probs: antler.tensor([0.5, 0], [2], { dtype: 'float64' }) })), 'INVALID_ARGUMENT');
    expectAntlerError(() => antler.tidy(() => new D.Geometric({ probs: 0 })), 'INVALID_ARGUMENT');
    expect(antler.memory().numTensors).toBe(before);
    antler.tidy(() => {
      expect(data(new D.Geometric({ probs: 0 }, { validateArgs: false }).mean)).toEqual([Infinity]);
      expect(data(new D.Geometric({ logits: -Infinity }).probs)).toEqual([0]);
      expect(data(new D.Geometric({ probs: 1 }).mean)).toEqual([0]);
    });
  });
  test('Categorical.sample over a large K does not build a [samples, K] comparison (peak memory O(samples + K), as torch.multinomial), and keeps its distribution', () => {
    const K = 20000, S = 2000;
    antler.tidy(() => {
      const w = antler.rand([K], { dtype: 'float32', seed: 5 });
      const d = new D.Categorical({ probs: w });
      antler.resetPeakMemory();
      const base = antler.memory().devices.cpu.numBytes;
      const x = d.sample([S], { seed: 9 });
      const peak = antler.memory().devices.cpu.peakBytes - base;
      expect(x.shape).toEqual([S]);
      // S·K int32 comparisons would be 160 MB; the cumulative sums and the draws are well under 2 MB
      expect(peak).toBeLessThan(2e6);
      const xs = data(x);
      expect(xs.every((k) => Number.isInteger(k) && k >= 0 && k < K)).toBe(true);
    });
    // zero-probability categories (first, inside, last) are never drawn; the rest by their weights
    antler.tidy(() => {
      const p = [0, 0.2, 0, 0.5, 0.3, 0];
      const d = new D.Categorical({ probs: antler.tensor([p, p.slice().reverse()], [2, 6], { dtype: 'float64' }) });
      const N = 60000;
      const xs = data(d.sample([N], { seed: 3 }));
      for (let b = 0; b < 2; b++) {
        const q = b === 0 ? p : p.slice().reverse();
        const cnt = new Array(6).fill(0);
        for (let i = 0; i < N; i++) cnt[xs[i * 2 + b]]++;
        for (let k = 0; k < 6; k++) {
          if (q[k] === 0) expect(cnt[k]).toBe(0);
          else expect(Math.abs(cnt[k] / N - q[k])).toBeLessThan(6 * Math.sqrt((q[k] * (1 - q[k])) / N));
        }
      }
      expect(data(d.sample([5, 3], { seed: 1 }))).toEqual(data(d.sample([5, 3], { seed: 1 })));
      expect(d.sample([5, 3]).shape).toEqual([5, 3, 2]);
    });
  });
});
