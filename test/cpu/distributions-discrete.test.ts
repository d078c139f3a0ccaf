// antler.distributions, discrete family: every spec through the generic harness, then the family's own tests.
import { describeKL, describeSpec } from '../distributions-harness';
import * as antler from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, lgammaRef, makeRng, runSeed, tensorCounts } from '../helpers';
import { KL_PAIRS, SPECS } from '../dist-specs-discrete';

expectNoLeaksInSuite(tensorCounts);
for (const spec of SPECS) describeSpec(spec);
describe('KL divergences', () => {
  for (const [p, q] of KL_PAIRS) describeKL(p, q);
  // ---- helper C: the family's own tests go below (test.todo placeholder removed when the first lands).
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

  test('Binomial: logits parametrisation, enumerateSupport, KL for equal and unequal totalCount; Poisson and Binomial do not sample yet', () => {
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
      expectAntlerError(() => a.sample([2]), 'NOT_SUPPORTED');
      expectAntlerError(() => new D.Poisson(T(p)).sample([2]), 'NOT_SUPPORTED');
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
  // Skipped until integration: NegativeBinomial.sample needs helper B's standardGamma and the native
  // Poisson sampler (torch's Poisson(Gamma(totalCount, e^−logits)) draw); the integration run enables it
  // (and drops 'sample' from negativeBinomialSpec.lacks, which then runs the harness's chi-square test).
  test.skip('samples have the negative binomial mean and variance within 6 standard errors and are repeatable', () => {
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
  // ---- end helper C
});
