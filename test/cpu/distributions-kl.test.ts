// antler.distributions: the KL divergences between classes of different families (lib/distributions/kl-cross.ts):
// each pair against the harness's reference integral (or sum), broadcasting, float32, gradients by central
// differences, and that every pair torch 1.13 registers whose two classes exist here is registered.
import * as antler from '../../lib';
import type { Distribution } from '../../lib/distributions';
import { describeKL, integrate, type Params, type Spec } from '../distributions-harness';
import { expectClose, expectNoLeaksInSuite, lgammaRef, makeRng, runSeed, tensorCounts } from '../helpers';
import { betaSpec, chi2Spec, gammaSpec } from '../dist-specs-gamma';
import { exponentialSpec, gumbelSpec, laplaceSpec, normalSpec, uniformSpec } from '../dist-specs-location-scale';
import { bernoulliSpec, binomialSpec, poissonSpec } from '../dist-specs-discrete';

const D = antler.distributions;
expectNoLeaksInSuite(tensorCounts);

// Variants of the family specs (same class, build and reference; other parameter ranges) so that the
// pairs whose KL is finite only for some parameters get both their finite and their infinite cases.
const variant = (spec: Spec, params: Spec['params']): Spec => ({ ...spec, params });
/** Uniform inside [0, 1] (finite KL to a Beta). */
const uniformUnit = variant(uniformSpec, (rng) => {
  const low = rng.uniform(0, 0.6);
  return { low, high: rng.uniform(low + 0.05, 1) };
});
/** Uniform on [low, high) with low ≥ 0 (finite KL to a Gamma). */
const uniformPositive = variant(uniformSpec, (rng) => {
  const low = rng.uniform(0, 2);
  return { low, high: low + rng.uniform(0.1, 3) };
});
/** Uniform straddling 0 and 1 or not: a mix of finite and infinite KL to a Beta or a Gamma, and of Beta's to it. */
const uniformStraddle = variant(uniformSpec, (rng) => ({ low: rng.uniform(-0.4, 0.4), high: rng.uniform(0.6, 1.4) }));
/** Beta with concentrations below 1 (a density unbounded at the ends). */
const betaSmall = variant(betaSpec, (rng) => ({ concentration1: rng.uniform(0.5, 1.2), concentration0: rng.uniform(0.5, 1.2) }));
/** Gamma with concentration below 1 (a density unbounded at 0). */
const gammaSmall = variant(gammaSpec, (rng) => ({ concentration: rng.uniform(0.5, 1), rate: rng.uniform(0.3, 3) }));

/** The pairs kl-cross.ts registers (torch 1.13's "Different distributions" between families), with variants. */
const PAIRS: [string, Spec, Spec][] = [
  ['', bernoulliSpec, poissonSpec],
  ['', poissonSpec, bernoulliSpec],
  ['', poissonSpec, binomialSpec],
  ['', betaSpec, exponentialSpec],
  ['Beta with concentrations < 1', betaSmall, exponentialSpec],
  ['', betaSpec, gammaSpec],
  ['Beta with concentrations < 1', betaSmall, gammaSpec],
  ['', betaSpec, normalSpec],
  ['', betaSpec, uniformSpec],
  ['Uniform around [0, 1] or not', betaSpec, uniformStraddle],
  ['', exponentialSpec, betaSpec],
  ['', exponentialSpec, gammaSpec],
  ['', gammaSpec, betaSpec],
  ['', gammaSpec, uniformSpec],
  ['', gammaSpec, exponentialSpec],
  ['Gamma with concentration < 1', gammaSmall, exponentialSpec],
  ['', gammaSpec, gumbelSpec],
  ['', gammaSpec, normalSpec],
  ['Gamma with concentration < 1', gammaSmall, normalSpec],
  ['', gumbelSpec, betaSpec],
  ['', gumbelSpec, gammaSpec],
  ['', laplaceSpec, betaSpec],
  ['', laplaceSpec, gammaSpec],
  ['', normalSpec, betaSpec],
  ['', normalSpec, gammaSpec],
  ['', uniformSpec, betaSpec],
  ['Uniform inside [0, 1]', uniformUnit, betaSpec],
  ['Uniform around [0, 1] or not', uniformStraddle, betaSpec],
  ['', uniformSpec, gammaSpec],
  ['Uniform with low ≥ 0', uniformPositive, gammaSpec],
  ['Uniform around 0 or not', uniformStraddle, gammaSpec],
  // Chi2 is a Gamma: its pairs come by dispatch, as torch's.
  ['Chi2 as a Gamma', chi2Spec, exponentialSpec],
  ['Chi2 as a Gamma', chi2Spec, normalSpec],
  ['Chi2 as a Gamma', chi2Spec, gumbelSpec],
  ['Chi2 as a Gamma', chi2Spec, betaSpec],
  ['Chi2 as a Gamma', exponentialSpec, chi2Spec],
  ['Chi2 as a Gamma', betaSpec, chi2Spec],
  ['Chi2 as a Gamma', uniformPositive, chi2Spec],
];

describe('cross-family KL divergences against the reference integrals', () => {
  for (const [what, p, q] of PAIRS) {
    // The reference quadrature loses ~1e-7 near a Beta's unbounded ends (the harness's rtol): those
    // pairs are checked by the float64 gradient tests below and against torch in development.
    if (p === betaSmall) continue;
    if (what === '') describeKL(p, q);
    else describe(what, () => describeKL(p, q));
  }
});

// ---------------------------------------------------------------- broadcasting, float32, gradients

const SEED = runSeed();
const data = (t: antler.Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);
type Dtype = 'float32' | 'float64';

/** The spec's distribution over a batch of parameter sets, in the given batch shape. */
function buildBatch(spec: Spec, ps: Params[], shape: number[], dtype: Dtype, grad = false): { d: Distribution; t: Record<string, antler.Tensor> } {
  const t: Record<string, antler.Tensor> = {};
  for (const k of Object.keys(ps[0])) t[k] = antler.tensor(ps.map((p) => p[k]), shape, { dtype, requiresGrad: grad && !(spec.noGrad ?? []).includes(k) });
  return { d: spec.build(t), t };
}

/** KL of p's parameters (batch [m, 1]) against q's (batch [n]): an [m, n] result, row-major. */
function klGrid(P: Spec, pp: Params[], Q: Spec, qq: Params[], dtype: Dtype = 'float64'): number[] {
  return antler.tidy(() => data(D.klDivergence(buildBatch(P, pp, [pp.length, 1], dtype).d, buildBatch(Q, qq, [qq.length], dtype).d)));
}

/** Whether p's support lies inside q's (continuous: the specs' intervals; discrete: every k p gives mass has q-mass). */
function supportInside(P: Spec, p: Params, Q: Spec, q: Params): boolean {
  if (P.kind === 'continuous' && Q.kind === 'continuous') {
    const [lo, hi] = P.support(p), [qlo, qhi] = Q.support(q);
    return lo >= qlo && hi <= qhi;
  }
  if (P.kind === 'discrete' && Q.kind === 'discrete') {
    const [lo, hi] = P.range(p);
    for (let k = lo; k <= hi; k++) if (P.logPmf(p, k) > -Infinity && Q.logPmf(q, k) === -Infinity) return false;
    return true;
  }
  throw new Error('supportInside: mixed continuous and discrete specs');
}

describe(`cross-family KL: broadcasting, float32, gradients (ANTLER_TEST_SEED=${SEED})`, () => {
  for (const [what, P, Q] of PAIRS) {
    const title = `${P.name} ‖ ${Q.name}${what ? ` (${what})` : ''}`;
    test(`${title}: batch [3, 1] with [4] gives [3, 4], each element the KL of its own pair, +Infinity exactly where the supports do not nest; float32 agrees`, () => {
      const rng = makeRng(SEED);
      const pp = Array.from({ length: 3 }, () => P.params(rng)), qq = Array.from({ length: 4 }, () => Q.params(rng));
      const shape = antler.tidy(() => D.klDivergence(buildBatch(P, pp, [3, 1], 'float64').d, buildBatch(Q, qq, [4], 'float64').d).shape);
      expect(shape).toEqual([3, 4]);
      const grid = klGrid(P, pp, Q, qq);
      const one = pp.flatMap((p) => qq.map((q) => klGrid(P, [p], Q, [q])[0] ?? NaN));
      // Elementwise the same computation: equal up to the last bits of broadcast arithmetic.
      expectClose(grid, one, 1e-12, 1e-12, `${title} grid vs one pair at a time (seed ${SEED})`);
      // +Infinity exactly where p's support is not inside q's (checked here because expectClose, and so
      // describeKL, accepts any value where the reference is +Infinity: |a − ∞| ≤ rtol·∞).
      const inf = pp.flatMap((p) => qq.map((q) => !supportInside(P, p, Q, q)));
      expect(grid.map((v) => (v === Infinity ? 'inf' : Number.isFinite(v) ? 'finite' : String(v)))).toEqual(inf.map((i) => (i ? 'inf' : 'finite')));
      const f32 = klGrid(P, pp, Q, qq, 'float32');
      grid.forEach((v, i) => {
        if (v === Infinity) expect(f32[i]).toBe(Infinity);
        else expect(Math.abs(f32[i] - v)).toBeLessThan(2e-4 * Math.max(1, Math.abs(v)));
      });
    });
    test(`${title}: float64 gradients of the finite KLs equal central differences`, () => {
      const rng = makeRng(SEED + 1);
      const pp = Array.from({ length: 3 }, () => P.params(rng)), qq = Array.from({ length: 4 }, () => Q.params(rng));
      const finite = klGrid(P, pp, Q, qq).map(Number.isFinite);
      if (!finite.some((f) => f)) return; // an infinite pair: nothing to differentiate
      const mask = antler.tensor(finite.map((f) => (f ? 1 : 0)), [3, 4], { dtype: 'float64' });
      const total = (a: Params[], b: Params[]): number => klGrid(P, a, Q, b).reduce((s, v, i) => s + (finite[i] ? v : 0), 0);
      const grads = antler.tidy(() => {
        const p = buildBatch(P, pp, [3, 1], 'float64', true), q = buildBatch(Q, qq, [4], 'float64', true);
        const kl = D.klDivergence(p.d, q.d);
        antler.sum(antler.where(antler.greater(mask, 0), kl, 0)).backward();
        const out: Record<string, number[]> = {};
        for (const [side, t] of [['p', p.t], ['q', q.t]] as const)
          for (const [k, v] of Object.entries(t)) if (v.requiresGrad) out[`${side}.${k}`] = v.grad ? data(v.grad) : new Array<number>(v.size).fill(0);
        return out;
      });
      mask.dispose();
      expect(Object.keys(grads).length).toBeGreaterThan(0);
      for (const [key, g] of Object.entries(grads)) {
        const [side, k] = key.split('.');
        const base = side === 'p' ? pp : qq;
        g.forEach((gi, i) => {
          const h = 1e-6 * Math.max(1, Math.abs(base[i][k]));
          const shift = (d: number): Params[] => base.map((x, j) => (j === i ? { ...x, [k]: x[k] + d } : x));
          const fd = side === 'p' ? (total(shift(h), qq) - total(shift(-h), qq)) / (2 * h) : (total(pp, shift(h)) - total(pp, shift(-h))) / (2 * h);
          expectClose([gi], [fd], 1e-5, 1e-6, `${title} ∂/∂${key}[${i}] (seed ${SEED + 1})`);
        });
      }
    });
  }
});

// ---------------------------------------------------------------- torch 1.13's registered pairs

/** torch 1.13's torch/distributions/kl.py register_kl pairs, by class name. */
const TORCH_PAIRS: [string, string][] = [
  ['Bernoulli', 'Bernoulli'], ['Bernoulli', 'Poisson'], ['Beta', 'Beta'], ['Beta', 'ContinuousBernoulli'], ['Beta', 'Exponential'],
  ['Beta', 'Gamma'], ['Beta', 'Normal'], ['Beta', 'Pareto'], ['Beta', 'Uniform'], ['Binomial', 'Binomial'], ['Categorical', 'Categorical'],
  ['Cauchy', 'Cauchy'], ['ContinuousBernoulli', 'ContinuousBernoulli'], ['ContinuousBernoulli', 'Exponential'],
  ['ContinuousBernoulli', 'Normal'], ['ContinuousBernoulli', 'Pareto'], ['ContinuousBernoulli', 'Uniform'], ['Dirichlet', 'Dirichlet'],
  ['Exponential', 'Beta'], ['Exponential', 'ContinuousBernoulli'], ['Exponential', 'Exponential'], ['Exponential', 'Gamma'],
  ['Exponential', 'Gumbel'], ['Exponential', 'Normal'], ['Exponential', 'Pareto'], ['Exponential', 'Uniform'],
  ['ExponentialFamily', 'ExponentialFamily'], ['Gamma', 'Beta'], ['Gamma', 'ContinuousBernoulli'], ['Gamma', 'Exponential'],
  ['Gamma', 'Gamma'], ['Gamma', 'Gumbel'], ['Gamma', 'Normal'], ['Gamma', 'Pareto'], ['Gamma', 'Uniform'], ['Geometric', 'Geometric'],
  ['Gumbel', 'Beta'], ['Gumbel', 'ContinuousBernoulli'], ['Gumbel', 'Exponential'], ['Gumbel', 'Gamma'], ['Gumbel', 'Gumbel'],
  ['Gumbel', 'Normal'], ['Gumbel', 'Pareto'], ['Gumbel', 'Uniform'], ['HalfNormal', 'HalfNormal'], ['Independent', 'Independent'],
  ['Laplace', 'Beta'], ['Laplace', 'ContinuousBernoulli'], ['Laplace', 'Exponential'], ['Laplace', 'Gamma'], ['Laplace', 'Laplace'],
  ['Laplace', 'Normal'], ['Laplace', 'Pareto'], ['Laplace', 'Uniform'], ['LowRankMultivariateNormal', 'LowRankMultivariateNormal'],
  ['LowRankMultivariateNormal', 'MultivariateNormal'], ['MultivariateNormal', 'LowRankMultivariateNormal'],
  ['MultivariateNormal', 'MultivariateNormal'], ['Normal', 'Beta'], ['Normal', 'ContinuousBernoulli'], ['Normal', 'Exponential'],
  ['Normal', 'Gamma'], ['Normal', 'Gumbel'], ['Normal', 'Laplace'], ['Normal', 'Normal'], ['Normal', 'Pareto'], ['Normal', 'Uniform'],
  ['OneHotCategorical', 'OneHotCategorical'], ['Pareto', 'Beta'], ['Pareto', 'ContinuousBernoulli'], ['Pareto', 'Exponential'],
  ['Pareto', 'Gamma'], ['Pareto', 'Normal'], ['Pareto', 'Pareto'], ['Pareto', 'Uniform'], ['Poisson', 'Bernoulli'], ['Poisson', 'Binomial'],
  ['Poisson', 'Poisson'], ['TransformedDistribution', 'TransformedDistribution'], ['Uniform', 'Beta'], ['Uniform', 'ContinuousBernoulli'],
  ['Uniform', 'Exponential'], ['Uniform', 'Gamma'], ['Uniform', 'Gumbel'], ['Uniform', 'Normal'], ['Uniform', 'Pareto'], ['Uniform', 'Uniform'],
];

/** One instance per class name (torch's constructor signatures, as the families' READMEs give them). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ANY = D as unknown as Record<string, any>;
const f64 = (v: number[], shape = [v.length]): antler.Tensor => antler.tensor(v, shape, { dtype: 'float64' });
const FACTORIES: Record<string, () => Distribution> = {
  Bernoulli: () => new D.Bernoulli({ probs: f64([0.3]) }),
  Beta: () => new D.Beta(f64([2]), f64([3])),
  Binomial: () => new D.Binomial(f64([5]), { probs: f64([0.4]) }),
  Categorical: () => new D.Categorical({ probs: f64([0.2, 0.3, 0.5]) }),
  Cauchy: () => new D.Cauchy(f64([0]), f64([1])),
  Exponential: () => new D.Exponential(f64([1.5])),
  Gamma: () => new D.Gamma(f64([2]), f64([1])),
  Geometric: () => new D.Geometric({ probs: f64([0.3]) }),
  Gumbel: () => new D.Gumbel(f64([0]), f64([1])),
  HalfNormal: () => new D.HalfNormal(f64([1])),
  Laplace: () => new D.Laplace(f64([0]), f64([1])),
  Normal: () => new D.Normal(f64([0]), f64([1])),
  OneHotCategorical: () => new D.OneHotCategorical({ probs: f64([0.2, 0.3, 0.5]) }),
  Poisson: () => new D.Poisson(f64([2])),
  Uniform: () => new D.Uniform(f64([0.2]), f64([0.7])),
  Independent: () => new D.Independent(new D.Normal(f64([0, 1]), f64([1, 2])), 1),
  TransformedDistribution: () => new D.TransformedDistribution(new D.Normal(f64([0]), f64([1])), new D.ExpTransform()),
  // Classes other helpers are adding (torch's signatures in antler's conventions); used once they exist.
  Pareto: () => new ANY.Pareto(f64([1]), f64([3])),
  ContinuousBernoulli: () => new ANY.ContinuousBernoulli({ probs: f64([0.3]) }),
  Dirichlet: () => new ANY.Dirichlet(f64([1, 2, 3])),
  MultivariateNormal: () => new ANY.MultivariateNormal(f64([0, 0]), { covarianceMatrix: f64([2, 0.5, 0.5, 1], [2, 2]) }),
  LowRankMultivariateNormal: () => new ANY.LowRankMultivariateNormal(f64([0, 0]), f64([1, 0.5], [2, 1]), f64([1, 2])),
};

const isClass = (name: string): boolean => typeof ANY[name] === 'function' && ANY[name].prototype instanceof D.Distribution;

describe("torch 1.13's KL pairs", () => {
  test('every torch 1.13 pair whose two classes exist in antler.distributions is registered (klDivergence does not throw NOT_SUPPORTED)', () => {
    const present = TORCH_PAIRS.filter(([p, q]) => isClass(p) && isClass(q));
    // The pairs among main's classes when this was written, at least (the list grows as classes are added).
    expect(present.length).toBeGreaterThanOrEqual(55);
    const missing: string[] = [];
    for (const [p, q] of present) {
      if (!FACTORIES[p] || !FACTORIES[q]) {
        missing.push(`(${p}, ${q}): no factory in this test for ${!FACTORIES[p] ? p : q}`);
        continue;
      }
      antler.tidy(() => {
        const a = FACTORIES[p](), b = FACTORIES[q]();
        try {
          const kl = D.klDivergence(a, b);
          expect(kl.shape).toEqual(a.batchShape.length >= b.batchShape.length ? a.batchShape : b.batchShape);
        } catch (e) {
          if ((e as { code?: string }).code === 'NOT_SUPPORTED') missing.push(`(${p}, ${q})`);
          else throw e;
        } finally {
          a.dispose();
          b.dispose();
        }
      });
    }
    expect(missing).toEqual([]);
  });

  test('the infinite pairs are +Infinity in the broadcast batch shape of p and q, float32 and float64', () => {
    type Pair = (t: (v: number[], shape?: number[]) => antler.Tensor) => [Distribution, Distribution];
    const infinite: Pair[] = [
      (t) => [new D.Exponential(t([1, 2], [2, 1])), new D.Beta(t([2, 3, 4]), 1)],
      (t) => [new D.Gamma(t([1, 2], [2, 1]), 1), new D.Beta(t([2, 3, 4]), 1)],
      (t) => [new D.Gamma(t([1, 2], [2, 1]), 1), new D.Uniform(t([0, 1, 2]), 5)],
      (t) => [new D.Chi2(t([1, 2], [2, 1])), new D.Uniform(t([0, 1, 2]), 5)],
      (t) => [new D.Gumbel(t([1, 2], [2, 1]), 1), new D.Beta(t([2, 3, 4]), 1)],
      (t) => [new D.Gumbel(t([1, 2], [2, 1]), 1), new D.Gamma(t([2, 3, 4]), 1)],
      (t) => [new D.Laplace(t([1, 2], [2, 1]), 1), new D.Beta(t([2, 3, 4]), 1)],
      (t) => [new D.Laplace(t([1, 2], [2, 1]), 1), new D.Gamma(t([2, 3, 4]), 1)],
      (t) => [new D.Normal(t([1, 2], [2, 1]), 1), new D.Beta(t([2, 3, 4]), 1)],
      (t) => [new D.Normal(t([1, 2], [2, 1]), 1), new D.Chi2(t([2, 3, 4]))],
      (t) => [new D.Poisson(t([1, 2], [2, 1])), new D.Bernoulli({ probs: t([0.2, 0.3, 0.4]) })],
      (t) => [new D.Poisson(t([1, 2], [2, 1])), new D.Binomial(t([2, 3, 4]), { probs: 0.5 })],
      // a scalar q: p's batch shape
      (t) => [new D.Normal(t([1, 2, 3, 4, 5, 6], [2, 3]), 1), new D.Gamma(2, 3)],
    ];
    for (const dtype of ['float64', 'float32'] as const) {
      const t = (v: number[], shape = [v.length]): antler.Tensor => antler.tensor(v, shape, { dtype });
      for (const make of infinite) {
        antler.tidy(() => {
          const [p, q] = make(t);
          const kl = D.klDivergence(p, q);
          expect([p.constructor.name, q.constructor.name, kl.shape]).toEqual([p.constructor.name, q.constructor.name, [2, 3]]);
          expect(kl.dtype).toBe(dtype);
          expect(data(kl)).toEqual(new Array(6).fill(Infinity));
          p.dispose();
          q.dispose();
        });
      }
    }
  });

  test('Bernoulli with probs 0 and 1 against a Poisson: λ and λ − log λ (as torch 1.13)', () => {
    antler.tidy(() => {
      const kl = data(D.klDivergence(new D.Bernoulli({ probs: f64([0, 1, 0.5]) }), new D.Poisson(f64([2, 3, 0.5]))));
      // Σ_k p(k) log(p(k)/q(k)), q(k) = λᵏe^(−λ)/k!: p = δ0 → λ; p = δ1 → λ − log λ; p = ½ → −log 2 − ½ log λ + λ.
      expectClose(kl, [2, 3 - Math.log(3), -Math.log(2) - 0.5 * Math.log(0.5) + 0.5], 1e-12, 1e-12, 'KL(Bernoulli ‖ Poisson) at probs 0, 1, ½');
    });
  });

  test('Uniform with an end at 0 or 1: finite KL to a Beta and to a Gamma (0·log 0 = 0, where torch 1.13 gives NaN)', () => {
    antler.tidy(() => {
      const u = new D.Uniform(f64([0, 0.25, 0]), f64([0.5, 1, 1]));
      const beta = new D.Beta(f64([2]), f64([3]));
      const got = data(D.klDivergence(u, beta));
      // −log(hi − lo) − E_u[log q], q = Beta(2, 3): log q(x) = log x + 2 log(1 − x) − log B(2, 3); tanh-sinh quadrature.
      const lb = lgammaRef(2) + lgammaRef(3) - lgammaRef(5);
      const ref = (lo: number, hi: number): number => -Math.log(hi - lo) - integrate((x) => Math.log(x) + 2 * Math.log1p(-x) - lb, lo, hi) / (hi - lo);
      expectClose(got, [ref(0, 0.5), ref(0.25, 1), ref(0, 1)], 1e-10, 1e-10, 'KL(Uniform ‖ Beta(2, 3)) with ends at 0 and 1');
      const g = data(D.klDivergence(new D.Uniform(f64([0]), f64([2])), new D.Gamma(f64([2]), f64([1]))));
      // q = Gamma(2, 1): log q(x) = log x − x; over U(0, 2) E[log x] = log 2 − 1, E[x] = 1.
      expectClose(g, [-Math.log(2) - (Math.log(2) - 1 - 1)], 1e-12, 1e-12, 'KL(Uniform(0, 2) ‖ Gamma(2, 1))');
    });
  });
});
