// antler.distributions, transforms family: every spec through the generic harness, then the family's own tests.
import { describeKL, describeSpec } from '../distributions-harness';
import * as antler from '../../lib';
import { digammaRef, expectAntlerError, expectClose, expectNoLeaksInSuite, lgammaRef, makeRng, randomArray, runSeed, tensorCounts } from '../helpers';
import { KL_PAIRS, SPECS, StandInCategorical } from '../dist-specs-transforms';

expectNoLeaksInSuite(tensorCounts);
for (const spec of SPECS) describeSpec(spec);
describe('KL divergences', () => {
  for (const [p, q] of KL_PAIRS) describeKL(p, q);
  // Own tests: transforms (round trips, log|det J| against the numerical Jacobian), bijectTo/transformTo,
  // Independent, LogisticNormal, MixtureSameFamily with vector events, KL of the compositions.
});

const D = antler.distributions;
const f64 = (v: number[], shape: number[] = [v.length]): antler.Tensor => antler.tensor(v, shape, { dtype: 'float64' });
const arr = (t: antler.Tensor): number[] => Array.from(t.dataSync() as Float64Array);
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const normalLp = (m: number, s: number, x: number): number => -0.5 * ((x - m) / s) ** 2 - Math.log(s) - LOG_SQRT_2PI;

/** log|det A| by Gaussian elimination with partial pivoting (A n×n, row-major). */
function logAbsDet(a: number[][]): number {
  const m = a.map((r) => [...r]);
  const n = m.length;
  let s = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    s += Math.log(Math.abs(m[c][c]));
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k < n; k++) m[r][k] -= f * m[c][k];
    }
  }
  return s;
}

/** The Jacobian of f: Rⁿ → Rᵐ at x by central differences (float64). */
function jacobian(f: (x: number[]) => number[], x: number[], h = 1e-6): number[][] {
  const cols = x.map((_, j) => {
    const up = [...x], dn = [...x];
    up[j] += h;
    dn[j] -= h;
    const a = f(up), b = f(dn);
    return a.map((v, i) => (v - b[i]) / (2 * h));
  });
  return cols[0].map((_, i) => cols.map((c) => c[i]));
}

/** Applies t forward to one event x (float64) and reads the result. */
const fwd = (t: antler.distributions.Transform, x: number[], shape = [x.length]): number[] => antler.tidy(() => arr(t.forward(f64(x, shape))));

describe('transforms', () => {
  const rng = makeRng(runSeed());
  const SEED = runSeed();

  test(`elementwise bijections: inverse∘forward = id, logAbsDetJacobian = log|dy/dx| by central differences (seed ${SEED})`, () => {
    const n = 6;
    const x = randomArray(rng, n, -2, 2);
    const xpos = x.map((v) => Math.abs(v) + 0.2);
    const loc = randomArray(rng, n, -1, 1), scale = randomArray(rng, n, 0.3, 2).map((v, i) => (i % 2 ? -v : v));
    const Nrm = antler.tidy(() => new D.Normal(f64(loc), f64(scale.map(Math.abs))));
    const makeCases = (): [string, antler.distributions.Transform, number[]][] => [
      ['Exp', new D.ExpTransform(), x],
      ['Power(2.5)', new D.PowerTransform(2.5), xpos],
      ['Power(-0.7)', new D.PowerTransform(-0.7), xpos],
      ['Sigmoid', new D.SigmoidTransform(), x],
      ['Tanh', new D.TanhTransform(), x],
      ['Affine(tensors)', new D.AffineTransform(f64(loc), f64(scale)), x],
      ['Affine(numbers)', new D.AffineTransform(0.5, -2), x],
      ['Exp.inv', new D.ExpTransform().inv, xpos],
      ['Sigmoid.inv', new D.SigmoidTransform().inv, xpos.map((v) => v / 3)],
      ['Compose(Exp, Affine)', new D.ComposeTransform([new D.ExpTransform(), new D.AffineTransform(1, 3)]), x],
      // within 2 standard deviations: the Normal's icdf (erfinv(2p − 1), as torch's) loses p's digits in the far tails
      ['CDF(Normal)', new D.CumulativeDistributionTransform(Nrm), x.map((v, i) => loc[i] + Math.abs(scale[i]) * v)],
    ];
    try {
      antler.tidy(() => {
        const cases = makeCases();
        for (const [name, t, xs] of cases) {
          const X = f64(xs);
          const Y = t.forward(X);
          expectClose(arr(t.inverse(Y)), xs, 1e-9, 1e-9, `${name} inverse(forward(x))`);
          const want = xs.map((v, i) => {
            const g = (u: number): number => fwd(t, xs.map((w, j) => (j === i ? u : w)))[i];
            return Math.log(Math.abs((g(v + 1e-6) - g(v - 1e-6)) / 2e-6));
          });
          expectClose(arr(t.logAbsDetJacobian(X, Y)), want, 1e-6, 1e-6, `${name} logAbsDetJacobian`);
          expect(t.bijective).toBe(true);
        }
        // inv's inv is the transform itself; the inverse's domain is the codomain
        const e = new D.ExpTransform();
        expect(e.inv.inv).toBe(e);
        expect(e.inv.domain).toBe(e.codomain);
        // torch's sign: the product along a composition
        expect(new D.ComposeTransform([new D.ExpTransform(), new D.AffineTransform(0, -2), new D.PowerTransform(-1)]).sign).toBe(1);
        expect(new D.AffineTransform(0, -2).sign).toBe(-1);
      });
    } finally {
      Nrm.dispose();
      antler.dispose([Nrm.loc, Nrm.scale]);
    }
  });

  test(`formulas as torch's: sigmoid clamps, tanh's log-det at large |x|, Abs, Softmax, LowerCholesky (seed ${SEED})`, () => {
    antler.tidy(() => {
      const s = new D.SigmoidTransform();
      expect(arr(s.forward(f64([-800, 800])))).toEqual([2.220446049250313e-16, 1 - 2.220446049250313e-16]);
      const t = new D.TanhTransform();
      expectClose(arr(t.logAbsDetJacobian(f64([30, -30]), f64([1, -1]))), [2 * (Math.LN2 - 30), 2 * (Math.LN2 - 30)], 1e-12, 0, 'tanh log-det at ±30');
      const a = new D.AbsTransform();
      expect(arr(a.forward(f64([-2, 3])))).toEqual([2, 3]);
      expect(arr(a.inverse(f64([2, 3])))).toEqual([2, 3]);
      expect(a.bijective).toBe(false);
      expectAntlerError(() => a.logAbsDetJacobian(f64([1]), f64([1])), 'NOT_SUPPORTED');
      const x = randomArray(rng, 8, -3, 3);
      const sm = new D.SoftmaxTransform();
      const y = sm.forward(f64(x, [2, 4]));
      const want = [0, 1].flatMap((r) => {
        const row = x.slice(4 * r, 4 * r + 4), m = Math.max(...row), z = row.map((v) => Math.exp(v - m)), tot = z.reduce((p, q) => p + q);
        return z.map((v) => v / tot);
      });
      expectClose(arr(y), want, 1e-12, 1e-15, 'softmax');
      expectClose(arr(sm.forward(sm.inverse(y))), want, 1e-12, 1e-15, 'softmax(inverse(y))');
      const lc = new D.LowerCholeskyTransform();
      const m = randomArray(rng, 9, -2, 2);
      const L = arr(lc.forward(f64(m, [3, 3])));
      expectClose(L, m.map((v, k) => (Math.floor(k / 3) === k % 3 ? Math.exp(v) : Math.floor(k / 3) > k % 3 ? v : 0)), 1e-15, 0, 'LowerCholesky forward');
      expect(L.filter((_, k) => Math.floor(k / 3) < k % 3)).toEqual([0, 0, 0]);
      expectClose(arr(lc.inverse(f64(L, [3, 3]))), m.map((v, k) => (Math.floor(k / 3) >= k % 3 ? v : 0)), 1e-12, 1e-15, 'LowerCholesky inverse');
      expect(D.constraints.lowerCholesky.check(f64(L, [3, 3])).item()).toBe(1);
    });
  });

  test(`StickBreaking: onto the simplex, inverse, log-det = log|det| of the (K−1)×(K−1) Jacobian (seed ${SEED})`, () => {
    const t = new D.StickBreakingTransform();
    for (const K1 of [1, 2, 4]) {
      const x = randomArray(rng, K1, -2, 2);
      antler.tidy(() => {
        const y = t.forward(f64(x));
        expect(y.shape).toEqual([K1 + 1]);
        const ys = arr(y);
        expectClose([ys.reduce((a, b) => a + b)], [1], 1e-12, 0, 'sums to 1');
        // JS transcription: z_i = σ(x_i − log(K−1−i)), y_i = z_i ∏_{j<i}(1 − z_j)
        let rest = 1;
        const want = x.map((v, i) => {
          const z = 1 / (1 + Math.exp(-(v - Math.log(K1 - i))));
          const yi = z * rest;
          rest *= 1 - z;
          return yi;
        });
        expectClose(ys, [...want, rest], 1e-12, 1e-15, `stick breaking K−1 = ${K1}`);
        expectClose(arr(t.inverse(y)), x, 1e-9, 1e-9, 'inverse');
        const J = jacobian((u) => fwd(t, u).slice(0, K1), x);
        expectClose([t.logAbsDetJacobian(f64(x), y).item()], [logAbsDet(J)], 1e-6, 1e-6, 'log|det J|');
        expect(t.forwardShape([3, K1])).toEqual([3, K1 + 1]);
        expect(t.inverseShape([3, K1 + 1])).toEqual([3, K1]);
      });
    }
  });

  test(`Affine with eventDim, Independent, Reshape and Compose sum the log-det over event dims (seed ${SEED})`, () => {
    const x = randomArray(rng, 6, -1, 1), sc = randomArray(rng, 3, 0.5, 2);
    antler.tidy(() => {
      const X = f64(x, [2, 3]);
      const a = new D.AffineTransform(0, f64(sc), { eventDim: 1 });
      const want = Math.log(sc[0] * sc[1] * sc[2]);
      expectClose(arr(a.logAbsDetJacobian(X, a.forward(X))), [want, want], 1e-12, 0, 'affine eventDim 1');
      expect(a.domain.eventDim).toBe(1);
      const ind = new D.IndependentTransform(new D.ExpTransform(), 1);
      expectClose(arr(ind.logAbsDetJacobian(X, ind.forward(X))), [x[0] + x[1] + x[2], x[3] + x[4] + x[5]], 1e-12, 1e-15, 'independent exp');
      const c = new D.ComposeTransform([new D.ExpTransform(), new D.StickBreakingTransform()]);
      expect(c.domain.eventDim).toBe(1);
      expect(c.codomain.eventDim).toBe(1);
      const Y = c.forward(X);
      expect(Y.shape).toEqual([2, 4]);
      const row = (r: number): number => {
        const J = jacobian((u) => fwd(c, u).slice(0, 3), x.slice(3 * r, 3 * r + 3));
        return logAbsDet(J);
      };
      expectClose(arr(c.logAbsDetJacobian(X, Y)), [row(0), row(1)], 1e-6, 1e-6, 'compose(exp, stick breaking)');
      expectClose(arr(c.inverse(Y)), x, 1e-9, 1e-9, 'compose inverse');
      const r = new D.ReshapeTransform([2, 3], [3, 2]);
      expect(r.forward(antler.zeros([4, 2, 3], { dtype: 'float64' })).shape).toEqual([4, 3, 2]);
      expect(r.logAbsDetJacobian(antler.zeros([4, 2, 3]), antler.zeros([4, 3, 2])).shape).toEqual([4]);
      expectAntlerError(() => new D.ReshapeTransform([2, 3], [4]), 'INVALID_ARGUMENT');
      expect(new D.ComposeTransform([]).forward(X).shape).toEqual([2, 3]);
    });
  });

  test('bijectTo and transformTo: the transforms torch 1.13 registers, onto the constraint', () => {
    const C = D.constraints;
    antler.tidy(() => {
      const x = f64(randomArray(rng, 12, -3, 3), [3, 4]);
      const cases: [antler.distributions.Constraint, 'biject' | 'transform', string][] = [
        [C.real, 'biject', 'ComposeTransform'],
        [C.positive, 'biject', 'ComposeTransform'],
        [C.greaterThan(2), 'biject', 'ComposeTransform'],
        [C.greaterThanEq(-1), 'transform', 'ComposeTransform'],
        [C.lessThan(f64([1, 2, 3, 4])), 'biject', 'ComposeTransform'],
        [C.unitInterval, 'biject', 'SigmoidTransform'],
        [C.interval(-2, 5), 'biject', 'ComposeTransform'],
        [C.halfOpenInterval(f64([0, 0, 0, 0]), f64([1, 2, 3, 4])), 'transform', 'ComposeTransform'],
        [C.simplex, 'biject', 'StickBreakingTransform'],
        [C.simplex, 'transform', 'SoftmaxTransform'],
        [C.independent(C.positive, 1), 'biject', 'IndependentTransform'],
        [C.realVector, 'biject', 'IndependentTransform'],
      ];
      for (const [c, how, cls] of cases) {
        const t = how === 'biject' ? D.bijectTo(c) : D.transformTo(c);
        expect(t.constructor.name).toBe(cls);
        const y = t.forward(x);
        expect(antler.all(c.check(y)).item()).toBe(1);
        if (t.bijective) expectClose(arr(t.inverse(y)), arr(x), 1e-7, 1e-7, `${c} inverse`);
      }
      const m = f64(randomArray(rng, 9, -2, 2), [3, 3]);
      expect(C.lowerCholesky.check(D.transformTo(C.lowerCholesky).forward(m)).item()).toBe(1);
      expectAntlerError(() => D.bijectTo(C.lowerCholesky), 'NOT_SUPPORTED');
      expectAntlerError(() => D.bijectTo(C.nonnegativeInteger), 'NOT_SUPPORTED');
      expectAntlerError(() => D.bijectTo({} as never), 'INVALID_ARGUMENT');
    });
  });
});

describe('Independent, LogisticNormal, MixtureSameFamily with events, KL of compositions', () => {
  const SEED = runSeed();
  const rng = makeRng(SEED);

  test(`Independent(Normal [3, 4], 1): summed logProb and entropy, moments, shapes, support, KL (seed ${SEED})`, () => {
    const loc = randomArray(rng, 12, -2, 2), scale = randomArray(rng, 12, 0.3, 2);
    const loc2 = randomArray(rng, 12, -2, 2), scale2 = randomArray(rng, 12, 0.3, 2);
    const v = randomArray(rng, 24, -3, 3);
    antler.tidy(() => {
      const d = new D.Independent(new D.Normal(f64(loc, [3, 4]), f64(scale, [3, 4])), 1);
      expect(d.batchShape).toEqual([3]);
      expect(d.eventShape).toEqual([4]);
      expect(d.support.eventDim).toBe(1);
      const lp = d.logProb(f64(v, [2, 3, 4]));
      expect(lp.shape).toEqual([2, 3]);
      const want = [0, 1, 2, 3, 4, 5].map((r) => [0, 1, 2, 3].reduce((s, j) => s + normalLp(loc[(r % 3) * 4 + j], scale[(r % 3) * 4 + j], v[r * 4 + j]), 0));
      expectClose(arr(lp), want, 1e-12, 1e-12, 'Independent logProb');
      const ent = [0, 1, 2].map((r) => [0, 1, 2, 3].reduce((s, j) => s + Math.log(scale[r * 4 + j]) + 0.5 + LOG_SQRT_2PI, 0));
      expectClose(arr(d.entropy()), ent, 1e-12, 1e-12, 'Independent entropy');
      expect(arr(d.mean)).toEqual(loc);
      expectClose(arr(d.variance), scale.map((s) => s * s), 1e-15, 0, 'variance');
      expect(d.rsample([5], { seed: 1 }).shape).toEqual([5, 3, 4]);
      expect(d.hasRsample).toBe(true);
      const e = d.expand([2, 3]);
      expect(e.batchShape).toEqual([2, 3]);
      expect(e.eventShape).toEqual([4]);
      const q = new D.Independent(new D.Normal(f64(loc2, [3, 4]), f64(scale2, [3, 4])), 1);
      const kl = [0, 1, 2].map((r) =>
        [0, 1, 2, 3].reduce((s, j) => {
          const k = r * 4 + j, vr = (scale[k] / scale2[k]) ** 2;
          return s + 0.5 * (vr + ((loc[k] - loc2[k]) / scale2[k]) ** 2 - 1 - Math.log(vr));
        }, 0),
      );
      expectClose(arr(D.klDivergence(d, q)), kl, 1e-12, 1e-12, 'KL(Independent, Independent)');
      expectAntlerError(() => D.klDivergence(d, new D.Independent(new D.Normal(f64(loc2, [3, 4]), 1), 2)), 'NOT_SUPPORTED');
      expectAntlerError(() => new D.Independent(new D.Normal(0, 1), 1), 'INVALID_ARGUMENT');
      expectAntlerError(() => d.logProb(f64([1, 2, 3])), 'SHAPE_MISMATCH');
    });
  });

  test(`LogisticNormal: logProb by the change of variables in JS, samples on the simplex, mean of samples (seed ${SEED})`, () => {
    const K1 = 3;
    const loc = randomArray(rng, 2 * K1, -1, 1), scale = randomArray(rng, 2 * K1, 0.3, 1.2);
    antler.tidy(() => {
      const d = new D.LogisticNormal(f64(loc, [2, K1]), f64(scale, [2, K1]));
      expect(d.batchShape).toEqual([2]);
      expect(d.eventShape).toEqual([K1 + 1]);
      const s = d.sample([4000], { seed: 11 });
      expect(s.shape).toEqual([4000, 2, K1 + 1]);
      expect(antler.all(D.constraints.simplex.check(s)).item()).toBe(1);
      const y = s.slice([0, 0, 0], [3, 2, K1 + 1]);
      const ys = arr(y);
      const want = [0, 1, 2, 3, 4, 5].map((r) => {
        const b = r % 2, yr = ys.slice(r * (K1 + 1), (r + 1) * (K1 + 1));
        // x_i = log y_i − log(1 − Σ_{j≤i} y_j) + log(K−1−i); log p = Σ N(x_i) − log|det ∂y/∂x| (JS Jacobian of the JS map)
        let cum = 0;
        const x = yr.slice(0, K1).map((v, i) => {
          cum += v;
          return Math.log(v) - Math.log(1 - cum) + Math.log(K1 - i);
        });
        const jsMap = (u: number[]): number[] => {
          let rest = 1;
          return u.map((v, i) => {
            const z = 1 / (1 + Math.exp(-(v - Math.log(K1 - i))));
            const yi = z * rest;
            rest *= 1 - z;
            return yi;
          });
        };
        return x.reduce((acc, xi, i) => acc + normalLp(loc[b * K1 + i], scale[b * K1 + i], xi), 0) - logAbsDet(jacobian(jsMap, x));
      });
      expectClose(arr(d.logProb(y)), want, 1e-6, 1e-6, 'LogisticNormal logProb');
      // the mean of the first coordinate: E σ(X₀ − log K−1) by 1-d quadrature, against 4000 samples (6 standard errors)
      const m0 = arr(s.slice([0, 0, 0], [4000, 1, 1]));
      const mean = m0.reduce((a, b) => a + b) / m0.length;
      const sd = Math.sqrt(m0.reduce((a, b) => a + (b - mean) ** 2, 0) / m0.length);
      let ref = 0;
      for (let i = -4000; i <= 4000; i++) {
        const z = i / 500;
        ref += (Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI)) * (1 / (1 + Math.exp(-(loc[0] + scale[0] * z - Math.log(K1))))) / 500;
      }
      expect(Math.abs(mean - ref)).toBeLessThan((6 * sd) / Math.sqrt(4000));
      const e = d.expand([3, 2]);
      expect(e.batchShape).toEqual([3, 2]);
      expect(e.sample([2]).shape).toEqual([2, 3, 2, K1 + 1]);
      e.dispose();
      expectAntlerError(() => new D.LogisticNormal(f64([0, 0]), f64([1, -1])), 'INVALID_ARGUMENT');
    });
  });

  test(`MixtureSameFamily of Independent Normals (events of 2): logProb, mean, variance vs JS; sample shape (seed ${SEED})`, () => {
    const K = 3;
    const w = randomArray(rng, K, 0.2, 1), tot = w.reduce((a, b) => a + b), p = w.map((v) => v / tot);
    const loc = randomArray(rng, K * 2, -2, 2), scale = randomArray(rng, K * 2, 0.3, 1.5);
    const v = randomArray(rng, 10, -3, 3);
    antler.tidy(() => {
      const mix = new D.Categorical({ probs: f64(p) });
      const comp = new D.Independent(new D.Normal(f64(loc, [K, 2]), f64(scale, [K, 2])), 1);
      const d = new D.MixtureSameFamily(mix, comp);
      expect(d.batchShape).toEqual([]);
      expect(d.eventShape).toEqual([2]);
      const want = [0, 1, 2, 3, 4].map((r) =>
        Math.log(p.reduce((s, pk, k) => s + pk * Math.exp(normalLp(loc[2 * k], scale[2 * k], v[2 * r]) + normalLp(loc[2 * k + 1], scale[2 * k + 1], v[2 * r + 1])), 0)),
      );
      expectClose(arr(d.logProb(f64(v, [5, 2]))), want, 1e-12, 1e-12, 'mixture logProb');
      const mean = [0, 1].map((j) => p.reduce((s, pk, k) => s + pk * loc[2 * k + j], 0));
      const vari = [0, 1].map((j) => p.reduce((s, pk, k) => s + pk * (scale[2 * k + j] ** 2 + (loc[2 * k + j] - mean[j]) ** 2), 0));
      expectClose(arr(d.mean), mean, 1e-12, 1e-12, 'mixture mean');
      expectClose(arr(d.variance), vari, 1e-12, 1e-12, 'mixture variance');
      const s = d.sample([20000], { seed: 5 });
      expect(s.shape).toEqual([20000, 2]);
      const sm = arr(s.mean(0));
      for (const j of [0, 1]) expect(Math.abs(sm[j] - mean[j])).toBeLessThan(6 * Math.sqrt(vari[j] / 20000));
      expect(arr(d.sample([3], { seed: 5 }))).toEqual(arr(d.sample([3], { seed: 5 })));
      expectAntlerError(() => new D.MixtureSameFamily(mix, new D.Normal(f64([0, 1]), 1)), 'SHAPE_MISMATCH');
      // the duck typing: any Distribution with logits/probs/sample mixes the same way
      const duck = new D.MixtureSameFamily(new StandInCategorical(f64(p.map(Math.log))), comp);
      expectClose(arr(duck.logProb(f64(v, [5, 2]))), want, 1e-12, 1e-12, 'duck-typed mixture logProb');
    });
  });

  test('KL(TransformedDistribution, TransformedDistribution): the bases\' KL when the transforms are equal, else NOT_SUPPORTED', () => {
    antler.tidy(() => {
      const p = new D.TransformedDistribution(new D.Normal(0.3, 1.2), [new D.ExpTransform(), new D.AffineTransform(1, 2)]);
      const q = new D.TransformedDistribution(new D.Normal(-0.5, 0.7), [new D.ExpTransform(), new D.AffineTransform(1, 2)]);
      const vr = (1.2 / 0.7) ** 2;
      expectClose([D.klDivergence(p, q).item()], [0.5 * (vr + (0.8 / 0.7) ** 2 - 1 - Math.log(vr))], 1e-6, 1e-6, 'KL');
      const r = new D.TransformedDistribution(new D.Normal(-0.5, 0.7), [new D.ExpTransform(), new D.AffineTransform(1, 3)]);
      expectAntlerError(() => D.klDivergence(p, r), 'NOT_SUPPORTED');
    });
  });

  test('a decreasing composition: cdf is 1 − F of the base (torch\'s monotonisation) and icdf inverts it', () => {
    antler.tidy(() => {
      const d = new D.TransformedDistribution(new D.Normal(f64([0.3]), f64([0.8])), [new D.ExpTransform(), new D.PowerTransform(-1)]);
      const ps = [0.01, 0.2, 0.5, 0.9, 0.999];
      const y = d.icdf(f64(ps));
      // y = exp(x)^−1 with x the base's (1 − p)-quantile: cdf(y) = 1 − Φ((−log y − 0.3)/0.8)
      const base = new D.Normal(f64([0.3]), f64([0.8]));
      expectClose(arr(base.cdf(antler.neg(antler.log(y)))), ps.map((q) => 1 - q), 1e-12, 1e-14, 'icdf');
      expectClose(arr(d.cdf(y)), ps, 1e-12, 1e-14, 'cdf(icdf(p))');
      // increasing: icdf(p) = exp(base icdf(p))
      const inc = new D.TransformedDistribution(base, [new D.ExpTransform()]);
      expectClose(arr(inc.icdf(f64(ps))), arr(antler.exp(base.icdf(f64(ps)))), 1e-14, 0, 'icdf, increasing');
      expectClose(arr(inc.cdf(inc.icdf(f64(ps)))), ps, 1e-12, 1e-14, 'cdf(icdf(p)), increasing');
    });
  });
  describe('second part: Softplus, Cat, Stack, CorrCholesky transforms; LKJCholesky, Wishart', () => {
    const SEED2 = runSeed();
    const rng2 = makeRng(SEED2 + 101);
    const C = D.constraints;
    const softplusRef = (v: number): number => (v > 20 ? v : Math.log1p(Math.exp(v)));

    test(`SoftplusTransform: values (linear above 20, as torch), inverse, log-det vs central differences (seed ${SEED2})`, () => {
      const x = [...randomArray(rng2, 6, -5, 5), 25, -30];
      antler.tidy(() => {
        const t = new D.SoftplusTransform();
        const X = f64(x);
        const Y = t.forward(X);
        expectClose(arr(Y), x.map(softplusRef), 1e-14, 1e-300, 'softplus');
        // log(eʸ − 1), written plainly in JS (y moderate)
        const mid = x.slice(0, 6);
        expectClose(arr(t.inverse(f64(mid.map(softplusRef)))), mid, 1e-10, 1e-12, 'inverse');
        const want = mid.map((v) => Math.log((softplusRef(v + 1e-6) - softplusRef(v - 1e-6)) / 2e-6));
        expectClose(arr(t.logAbsDetJacobian(f64(mid), t.forward(f64(mid)))), want, 1e-6, 1e-7, 'log-det');
        expect(t.bijective).toBe(true);
        expect(t.sign).toBe(1);
        expect(t.equals(new D.SoftplusTransform())).toBe(true);
        expect(t.codomain).toBe(C.positive);
      });
    });

    test(`CatTransform: slices along axis, log-det concatenated (batch axis) or summed (event axis) vs the Jacobian (seed ${SEED2})`, () => {
      const x = randomArray(rng2, 15, -2, 2), sc = randomArray(rng2, 2, 0.5, 2);
      antler.tidy(() => {
        // elementwise parts along axis 1 of [3, 5]: exp on columns 0–1, 1 + 2x on 2–3, sigmoid on 4
        const t = new D.CatTransform([new D.ExpTransform(), new D.AffineTransform(1, 2), new D.SigmoidTransform()], 1, [2, 2, 1]);
        const X = f64(x, [3, 5]);
        const Y = t.forward(X);
        const col = (k: number): number => k % 5;
        const f = (v: number, k: number): number => (col(k) < 2 ? Math.exp(v) : col(k) < 4 ? 1 + 2 * v : 1 / (1 + Math.exp(-v)));
        const dfl = (v: number, k: number): number => (col(k) < 2 ? v : col(k) < 4 ? Math.LN2 : -Math.log1p(Math.exp(-v)) - Math.log1p(Math.exp(v)));
        expectClose(arr(Y), x.map(f), 1e-14, 1e-15, 'cat forward');
        expectClose(arr(t.inverse(Y)), x, 1e-12, 1e-12, 'cat inverse');
        const L = t.logAbsDetJacobian(X, Y);
        expect(L.shape).toEqual([3, 5]);
        expectClose(arr(L), x.map(dfl), 1e-12, 1e-12, 'cat log-det (concatenated)');
        expect(t.bijective).toBe(true);
        expect(t.eventDim).toBe(0);
        expect(antler.all(t.codomain.check(Y)).item()).toBe(1);
        // event parts along the last axis: Affine(eventDim 1) on 2, Independent(Exp, 1) on 3 → one event of 5, log-det summed
        const e = new D.CatTransform([new D.AffineTransform(0, f64(sc), { eventDim: 1 }), new D.IndependentTransform(new D.ExpTransform(), 1)], -1, [2, 3]);
        expect(e.eventDim).toBe(1);
        expect(e.domain.eventDim).toBe(1);
        const Ye = e.forward(X);
        const le = arr(e.logAbsDetJacobian(X, Ye));
        expect(le.length).toBe(3);
        const rows = [0, 1, 2].map((r) => logAbsDet(jacobian((u) => fwd(e, u), x.slice(5 * r, 5 * r + 5))));
        expectClose(le, rows, 1e-6, 1e-6, 'cat log-det (summed over the event)');
        expectAntlerError(() => t.forward(f64(x.slice(0, 12), [3, 4])), 'SHAPE_MISMATCH');
        expectAntlerError(() => new D.CatTransform([], 0), 'INVALID_ARGUMENT');
        expectAntlerError(() => new D.CatTransform([new D.ExpTransform()], 0, [1, 2]), 'INVALID_ARGUMENT');
        expectAntlerError(() => new D.CatTransform([new D.CorrCholeskyTransform()], 0), 'NOT_SUPPORTED');
      });
    });

    test(`StackTransform: one transform per entry along axis, log-det stacked; cat/stack constraints and bijectTo (seed ${SEED2})`, () => {
      const x = randomArray(rng2, 24, -2, 2);
      antler.tidy(() => {
        const t = new D.StackTransform([new D.ExpTransform(), new D.TanhTransform(), new D.SoftplusTransform()], 1);
        const X = f64(x, [2, 3, 4]);
        const Y = t.forward(X);
        const which = (k: number): number => Math.floor(k / 4) % 3;
        const f = (v: number, k: number): number => [Math.exp(v), Math.tanh(v), softplusRef(v)][which(k)];
        expectClose(arr(Y), x.map(f), 1e-14, 1e-15, 'stack forward');
        expectClose(arr(t.inverse(Y)), x, 1e-12, 1e-12, 'stack inverse');
        const num = x.map((v, k) => Math.log(Math.abs((f(v + 1e-6, k) - f(v - 1e-6, k)) / 2e-6)));
        const L = t.logAbsDetJacobian(X, Y);
        expect(L.shape).toEqual([2, 3, 4]);
        expectClose(arr(L), num, 1e-6, 1e-7, 'stack log-det');
        expectAntlerError(() => t.forward(f64(x.slice(0, 16), [2, 2, 4])), 'SHAPE_MISMATCH');
        expectAntlerError(() => t.forward(f64(x.slice(0, 3), [3])), 'SHAPE_MISMATCH');
        // constraints: torch's eventDim rules, checks per slice
        const cs = C.stack([C.positive, C.real], -1);
        expect(cs.eventDim).toBe(1);
        expect(C.stack([C.positive, C.real], 0).eventDim).toBe(0);
        expect(C.cat([C.positive, C.realVector], -1, [1, 2]).eventDim).toBe(1);
        // per entry, stacked back along the axis (torch's _Stack.check does not reduce the event)
        expect(arr(cs.check(f64([1, -5, -1, 3, 0.5, NaN], [3, 2])))).toEqual([1, 1, 0, 1, 1, 0]);
        const cc = C.cat([C.positive, C.unitInterval], 0, [2, 1]);
        expect(arr(cc.check(f64([3, -1, 0.5])))).toEqual([1, 0, 1]);
        expect(arr(cc.check(f64([3, 1, 1.5])))).toEqual([1, 1, 0]);
        // bijectTo/transformTo of cat and stack: the parts' transforms, onto the constraint
        for (const [c, shape] of [[cc, [3, 2]], [C.stack([C.greaterThan(2), C.interval(-1, 3), C.real], 1), [2, 3, 4]]] as const) {
          for (const how of [D.bijectTo, D.transformTo]) {
            const tr = how(c);
            expect(tr.constructor.name).toBe(c === cc ? 'CatTransform' : 'StackTransform');
            const u = f64(randomArray(rng2, shape.reduce((a, b) => a * b, 1), -3, 3), [...shape]);
            const y = tr.forward(u);
            expect(antler.all(c.check(y)).item()).toBe(1);
            expectClose(arr(tr.inverse(y)), arr(u), 1e-8, 1e-8, `${c} inverse`);
          }
        }
        expectAntlerError(() => C.cat([C.positive], 0, [1, 1]), 'INVALID_ARGUMENT');
        expectAntlerError(() => C.stack([], 0), 'INVALID_ARGUMENT');
      });
    });

    /** Stan's row-wise construction in JS: y_ij = tanh(x)·(what is left of the row's unit norm). */
    const corrCholRef = (x: number[]): number[][] => {
      const N = x.length, D2 = Math.round(Math.sqrt(0.25 + 2 * N) + 0.5);
      const L = Array.from({ length: D2 }, () => new Array<number>(D2).fill(0));
      let k = 0;
      for (let i = 0; i < D2; i++) {
        let left = 1;
        for (let j = 0; j < i; j++) {
          const r = Math.tanh(x[k++]);
          L[i][j] = r * Math.sqrt(left);
          left -= L[i][j] ** 2;
        }
        L[i][i] = Math.sqrt(left);
      }
      return L;
    };
    const strictLower = (m: number[], n: number): number[] => m.filter((_, p) => Math.floor(p / n) > p % n);

    test(`CorrCholeskyTransform: rows of unit norm as Stan's construction, inverse, log-det vs the N×N Jacobian (seed ${SEED2})`, () => {
      const t = new D.CorrCholeskyTransform();
      for (const Dm of [2, 3, 4, 5]) {
        const N = (Dm * (Dm - 1)) / 2;
        const x = randomArray(rng2, 2 * N, -1.5, 1.5);
        antler.tidy(() => {
          const X = f64(x, [2, N]);
          const Y = t.forward(X);
          expect(Y.shape).toEqual([2, Dm, Dm]);
          const want = [0, 1].flatMap((b) => corrCholRef(x.slice(b * N, b * N + N)).flat());
          expectClose(arr(Y), want, 1e-13, 1e-15, `D = ${Dm} forward`);
          expect(arr(C.corrCholesky.check(Y))).toEqual([1, 1]);
          expectClose(arr(t.inverse(Y)), x, 1e-9, 1e-10, `D = ${Dm} inverse`);
          const ld = arr(t.logAbsDetJacobian(X, Y));
          for (const b of [0, 1]) {
            const J = jacobian((u) => strictLower(fwd(t, u), Dm), x.slice(b * N, b * N + N));
            expectClose([ld[b]], [logAbsDet(J)], 1e-6, 1e-6, `D = ${Dm} log-det`);
          }
          expect(t.forwardShape([7, N])).toEqual([7, Dm, Dm]);
          expect(t.inverseShape([7, Dm, Dm])).toEqual([7, N]);
        });
      }
      antler.tidy(() => {
        expectAntlerError(() => t.forward(f64([1, 2, 3, 4])), 'SHAPE_MISMATCH');
        expectAntlerError(() => t.inverseShape([2, 3]), 'SHAPE_MISMATCH');
        // large |x|: tanh clamped to ±(1 − eps) as torch, still a valid factor
        const Y = t.forward(f64([40, -40, 40]));
        expect(C.corrCholesky.check(Y).item()).toBe(1);
        expect(arr(Y).every(Number.isFinite)).toBe(true);
        expect(D.bijectTo(C.corrCholesky).constructor.name).toBe('CorrCholeskyTransform');
        expect(D.transformTo(C.corrCholesky).constructor.name).toBe('CorrCholeskyTransform');
        expectAntlerError(() => D.bijectTo(C.positiveDefinite), 'NOT_SUPPORTED');
        // the constraint: lower triangular, positive diagonal, unit rows
        expect(arr(C.corrCholesky.check(f64([1, 0, 0.6, 0.8, 1, 0, 0.6, -0.8, 1, 0.1, 0.6, 0.8, 1.1, 0, 0.6, 0.8], [4, 2, 2])))).toEqual([1, 0, 0, 0]);
      });
    });

    /** LKJCholesky's log density in JS: Σᵢ (2(η − 1) + D − i) log L_ii (i = 2..D, 1-based) minus log of the normaliser (Lewandowski et al., as torch). */
    const lkjRef = (Dm: number, eta: number, L: number[]): number => {
      let s = 0;
      for (let i = 2; i <= Dm; i++) s += (2 * (eta - 1) + Dm - i) * Math.log(L[(i - 1) * Dm + (i - 1)]);
      const dm1 = Dm - 1, alpha = eta + 0.5 * dm1;
      let mvl = (dm1 * (dm1 - 1) * Math.log(Math.PI)) / 4;
      for (let j = 1; j <= dm1; j++) mvl += lgammaRef(alpha - 0.5 + (1 - j) / 2);
      return s - (0.5 * dm1 * Math.log(Math.PI) + mvl - dm1 * lgammaRef(alpha));
    };

    test(`LKJCholesky: logProb vs the formula in JS; D = 2 integrates to 1; expand; bad args (seed ${SEED2})`, () => {
      for (const Dm of [2, 3, 5]) {
        const N = (Dm * (Dm - 1)) / 2;
        const eta = randomArray(rng2, 3, 0.3, 4);
        const x = randomArray(rng2, 2 * 3 * N, -1.5, 1.5);
        antler.tidy(() => {
          const d = new D.LKJCholesky(Dm, f64(eta));
          expect(d.batchShape).toEqual([3]);
          expect(d.eventShape).toEqual([Dm, Dm]);
          const Ls = Array.from({ length: 6 }, (_, r) => corrCholRef(x.slice(r * N, r * N + N)).flat());
          const V = f64(Ls.flat(), [2, 3, Dm, Dm]);
          const lp = d.logProb(V);
          expect(lp.shape).toEqual([2, 3]);
          expectClose(arr(lp), Ls.map((L, r) => lkjRef(Dm, eta[r % 3], L)), 1e-11, 1e-11, `D = ${Dm} logProb`);
          const e = d.expand([2, 3]);
          expect(e.batchShape).toEqual([2, 3]);
          expectClose(arr(e.logProb(V)), arr(lp), 1e-15, 0, 'expand keeps logProb');
        });
      }
      // D = 2: L = [[1, 0], [r, √(1 − r²)]], a density in r on (−1, 1): ∫ exp(logProb) dr = 1 (midpoint rule after r = tanh(u))
      antler.tidy(() => {
        const eta = [0.6, 1, 3.5];
        const d = new D.LKJCholesky(2, f64(eta));
        const n = 4000, h = 24 / n;
        const us = Array.from({ length: n }, (_, i) => -12 + (i + 0.5) * h);
        const vals = us.flatMap((u) => {
          const r = Math.tanh(u);
          return [0, 1, 2].flatMap(() => [1, 0, r, Math.sqrt(1 - r * r)]);
        });
        const lp = arr(d.logProb(f64(vals, [n, 3, 2, 2])));
        const tot = [0, 1, 2].map((b) => us.reduce((s, u, i) => s + Math.exp(lp[i * 3 + b]) * (1 - Math.tanh(u) ** 2) * h, 0));
        expectClose(tot, [1, 1, 1], 2e-4, 0, '∫ p = 1 for D = 2');
      });
      antler.tidy(() => {
        expectAntlerError(() => new D.LKJCholesky(1, 1), 'INVALID_ARGUMENT');
        expectAntlerError(() => new D.LKJCholesky(2.5, 1), 'INVALID_ARGUMENT');
        expectAntlerError(() => new D.LKJCholesky(3, 0), 'INVALID_ARGUMENT');
        expectAntlerError(() => new D.LKJCholesky(3, f64([1, -1])), 'INVALID_ARGUMENT');
        const d = new D.LKJCholesky(3, 2);
        expectAntlerError(() => d.logProb(f64([1, 0, 0, 0.5, 0.5, 0, 0, 0, 1], [3, 3])), 'INVALID_ARGUMENT');
        expectAntlerError(() => d.logProb(f64([1, 0, 0, 1], [2, 2])), 'SHAPE_MISMATCH');
        expectAntlerError(() => d.rsample(), 'NOT_SUPPORTED');
        expectAntlerError(() => d.entropy(), 'NOT_SUPPORTED');
      });
    });

    test(`LKJCholesky.sample: valid correlation factors; off-diagonal correlations have mean 0, variance 1/(2η + D − 1), 4th moment as Beta (seed ${SEED2})`, () => {
      const Dm = 4, eta = [0.7, 2.5], n = 20000;
      antler.tidy(() => {
        const d = new D.LKJCholesky(Dm, f64(eta));
        const s = d.sample([n], { seed: SEED2 });
        expect(s.shape).toEqual([n, 2, Dm, Dm]);
        expect(antler.all(C.corrCholesky.check(s)).item()).toBe(1);
        expect(arr(d.sample([3], { seed: 9 }))).toEqual(arr(d.sample([3], { seed: 9 })));
        expect(arr(d.sample([3], { seed: 9 }))).not.toEqual(arr(d.sample([3], { seed: 10 })));
        const corr = arr(antler.matmul(s, s.transpose(-1, -2)));
        for (const [b, e] of eta.entries()) {
          const v = 1 / (2 * e + Dm - 1), m4 = 3 / ((2 * e + Dm - 1) * (2 * e + Dm + 1));
          for (let i = 1; i < Dm; i++)
            for (let j = 0; j < i; j++) {
              let s1 = 0, s2 = 0, s4 = 0;
              for (let k = 0; k < n; k++) {
                const r = corr[((k * 2 + b) * Dm + i) * Dm + j];
                s1 += r;
                s2 += r * r;
                s4 += r ** 4;
              }
              expect(Math.abs(s1 / n)).toBeLessThan(6 * Math.sqrt(v / n));
              expect(Math.abs(s2 / n - v)).toBeLessThan(6 * Math.sqrt((m4 - v * v) / n));
              expect(Math.abs(s4 / n - m4)).toBeLessThan(0.1 * m4);
            }
          // the diagonal of the correlation matrix is 1
          for (let k = 0; k < 50; k++) for (let i = 0; i < Dm; i++) expect(Math.abs(corr[((k * 2 + b) * Dm + i) * Dm + i] - 1)).toBeLessThan(1e-12);
        }
        expect(d.sample().shape).toEqual([2, Dm, Dm]);
        expect(new D.LKJCholesky(3, 1.5).sample([5], { seed: 1 }).dtype).toBe('float32');
        // float32 draws are valid factors too (unit rows to eps·D·10), small η (mass near singular matrices) included
        for (const e of [0.3, 5]) expect(antler.all(C.corrCholesky.check(new D.LKJCholesky(6, e).sample([2000], { seed: SEED2 }))).item()).toBe(1);
      });
    });

    // ---- Wishart: references in JS (Cholesky, inverse, log-det by elimination; mvlgamma/mvdigamma from lgammaRef/digammaRef)
    const cholRef = (S: number[][]): number[][] => {
      const n = S.length, L = S.map(() => new Array<number>(n).fill(0));
      for (let i = 0; i < n; i++)
        for (let j = 0; j <= i; j++) {
          let s = S[i][j];
          for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
          L[i][j] = i === j ? Math.sqrt(s) : s / L[j][j];
        }
      return L;
    };
    const invRef = (A: number[][]): number[][] => {
      const n = A.length, m = A.map((r, i) => [...r, ...A.map((_, j) => (i === j ? 1 : 0))]);
      for (let c = 0; c < n; c++) {
        let p = c;
        for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
        [m[c], m[p]] = [m[p], m[c]];
        const d = m[c][c];
        for (let k = 0; k < 2 * n; k++) m[c][k] /= d;
        for (let r = 0; r < n; r++)
          if (r !== c) {
            const f = m[r][c];
            for (let k = 0; k < 2 * n; k++) m[r][k] -= f * m[c][k];
          }
      }
      return m.map((r) => r.slice(n));
    };
    const mm = (A: number[][], B: number[][]): number[][] => A.map((r) => B[0].map((_, j) => r.reduce((s, v, k) => s + v * B[k][j], 0)));
    const tr = (A: number[][]): number[][] => A[0].map((_, j) => A.map((r) => r[j]));
    const mvlgammaRef = (a: number, p: number): number => (p * (p - 1) * Math.log(Math.PI)) / 4 + Array.from({ length: p }, (_, j) => lgammaRef(a - j / 2)).reduce((x, y) => x + y, 0);
    const mvdigammaRef = (a: number, p: number): number => Array.from({ length: p }, (_, j) => digammaRef(a - j / 2)).reduce((x, y) => x + y, 0);
    /** The Wishart log density (Bishop 2.155): (ν − p − 1)/2 log|X| − tr(Σ⁻¹X)/2 − νp/2 log 2 − ν/2 log|Σ| − mvlgamma(ν/2, p). */
    const wishartLpRef = (nu: number, S: number[][], X: number[][]): number => {
      const p = S.length, Si = invRef(S);
      const t = X.reduce((s, r, i) => s + r.reduce((u, v, j) => u + Si[j][i] * v, 0), 0);
      return ((nu - p - 1) / 2) * logAbsDet(X) - t / 2 - ((nu * p) / 2) * Math.LN2 - (nu / 2) * logAbsDet(S) - mvlgammaRef(nu / 2, p);
    };
    const wishartEntRef = (nu: number, S: number[][]): number => {
      const p = S.length;
      return ((p + 1) / 2) * logAbsDet(S) + ((p * (p + 1)) / 2) * Math.LN2 + mvlgammaRef(nu / 2, p) - ((nu - p - 1) / 2) * mvdigammaRef(nu / 2, p) + (nu * p) / 2;
    };
    const randomSpd = (p: number): number[][] => {
      const A = Array.from({ length: p }, () => randomArray(rng2, p, -1, 1));
      return mm(A, tr(A)).map((r, i) => r.map((v, j) => v + (i === j ? 0.5 : 0)));
    };

    test(`Wishart: logProb, entropy, mean, mode, variance vs formulas in JS, for each of the three scales (seed ${SEED2})`, () => {
      for (const p of [1, 2, 3, 4]) {
        const S = [randomSpd(p), randomSpd(p)];
        const df = [p - 1 + 0.3 + 4 * rng2.uniform(0, 1), p + 2 + 3 * rng2.uniform(0, 1)];
        const Xs = [0, 1, 2].flatMap(() => [0, 1].map(() => randomSpd(p)));
        antler.tidy(() => {
          const Sig = f64(S.flat(2), [2, p, p]);
          const Lt = f64(S.map(cholRef).flat(2), [2, p, p]);
          const P = f64(S.map(invRef).flat(2), [2, p, p]);
          const X = f64(Xs.flat(2), [3, 2, p, p]);
          const lpWant = Xs.map((x, k) => wishartLpRef(df[k % 2], S[k % 2], x));
          for (const scale of [{ covarianceMatrix: Sig }, { precisionMatrix: P }, { scaleTril: Lt }] as antler.distributions.WishartScale[]) {
            const w = new D.Wishart(f64(df), scale);
            const what = `p = ${p}, ${Object.keys(scale)[0]}`;
            expect(w.batchShape).toEqual([2]);
            expect(w.eventShape).toEqual([p, p]);
            expectClose(arr(w.logProb(X)), lpWant, 1e-10, 1e-10, `${what} logProb`);
            expectClose(arr(w.entropy()), df.map((nu, b) => wishartEntRef(nu, S[b])), 1e-10, 1e-10, `${what} entropy`);
            expectClose(arr(w.mean), S.flatMap((s, b) => s.flat().map((v) => df[b] * v)), 1e-10, 1e-12, `${what} mean`);
            const mode = S.flatMap((s, b) => s.flat().map((v) => (df[b] > p + 1 ? (df[b] - p - 1) * v : NaN)));
            const got = arr(w.mode);
            expect(got.map(Number.isNaN)).toEqual(mode.map(Number.isNaN));
            expectClose(got.filter((v) => !Number.isNaN(v)), mode.filter((v) => !Number.isNaN(v)), 1e-10, 1e-12, `${what} mode`);
            expectClose(arr(w.variance), S.flatMap((s, b) => s.flatMap((r, i) => r.map((v, j) => df[b] * (v * v + s[i][i] * s[j][j])))), 1e-10, 1e-12, `${what} variance`);
            expectClose(arr(w.covarianceMatrix), S.flat(2), 1e-10, 1e-12, `${what} covarianceMatrix`);
            expectClose(arr(w.precisionMatrix), S.map(invRef).flat(2), 1e-9, 1e-10, `${what} precisionMatrix`);
            expectClose(arr(w.scaleTril), S.map(cholRef).flat(2), 1e-10, 1e-12, `${what} scaleTril`);
          }
          const e = new D.Wishart(f64(df), { scaleTril: Lt }).expand([3, 2]);
          expect(e.batchShape).toEqual([3, 2]);
          expectClose(arr(e.logProb(X)), lpWant, 1e-10, 1e-10, 'expand');
        });
      }
    });

    test(`Wishart: logProb's gradients (float64) vs central differences; bad arguments (seed ${SEED2})`, () => {
      const p = 3, S = randomSpd(p), Lr = cholRef(S), X = randomSpd(p), nu = 3.7;
      antler.tidy(() => {
        const df = antler.tensor(nu, [], { dtype: 'float64', requiresGrad: true });
        const L = antler.tensor(Lr.flat(), [p, p], { dtype: 'float64', requiresGrad: true });
        new D.Wishart(df, { scaleTril: L }).logProb(f64(X.flat(), [p, p])).backward();
        const h = 1e-6;
        const lpAt = (n: number, l: number[][]): number => wishartLpRef(n, mm(l, tr(l)), X);
        expectClose([df.grad!.item()], [(lpAt(nu + h, Lr) - lpAt(nu - h, Lr)) / (2 * h)], 1e-6, 1e-7, 'd logProb / d df');
        const gL = arr(L.grad!);
        const want = Lr.flatMap((r, i) => r.map((_, j) => {
          if (j > i) return 0;
          const up = Lr.map((q) => [...q]), dn = Lr.map((q) => [...q]);
          up[i][j] += h;
          dn[i][j] -= h;
          return (lpAt(nu, up) - lpAt(nu, dn)) / (2 * h);
        }));
        expectClose(gL.filter((_, k) => Math.floor(k / p) >= k % p), want.filter((_, k) => Math.floor(k / p) >= k % p), 1e-6, 1e-7, 'd logProb / d scaleTril');
        const I = f64([1, 0, 0, 1], [2, 2]);
        expectAntlerError(() => new D.Wishart(3, {} as never), 'INVALID_ARGUMENT');
        expectAntlerError(() => new D.Wishart(3, { covarianceMatrix: I, scaleTril: I } as never), 'INVALID_ARGUMENT');
        expectAntlerError(() => new D.Wishart(3, { covarianceMatrix: f64([1, 2, 3, 4, 5, 6], [2, 3]) }), 'INVALID_ARGUMENT');
        expectAntlerError(() => new D.Wishart(0.9, { covarianceMatrix: I }), 'INVALID_ARGUMENT');
        expectAntlerError(() => new D.Wishart(3, { covarianceMatrix: f64([1, 2, 2, 1], [2, 2]) }), 'INVALID_ARGUMENT');
        expectAntlerError(() => new D.Wishart(3, { scaleTril: f64([1, 1, 0, 1], [2, 2]) }), 'INVALID_ARGUMENT');
        const w = new D.Wishart(3, { covarianceMatrix: I });
        expectAntlerError(() => w.logProb(f64([1, 2, 2, 1], [2, 2])), 'INVALID_ARGUMENT');
        expectAntlerError(() => w.logProb(f64([1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3])), 'SHAPE_MISMATCH');
        expectAntlerError(() => w.rsample([2], { maxTryCorrection: -1 }), 'INVALID_ARGUMENT');
      });
    });

    test(`Wishart.rsample (Bartlett): positive-definite draws, mean and variance of samples, E ∂tr(X)/∂df = tr Σ, E ∂tr(X)/∂L = 2 df L (seed ${SEED2})`, () => {
      const p = 3, S = randomSpd(p), Lr = cholRef(S), nu = 2.6 + 3 * rng2.uniform(0, 1), n = 20000;
      antler.tidy(() => {
        const w = new D.Wishart(nu, { scaleTril: f64(Lr.flat(), [p, p]) });
        const s = w.sample([n], { seed: SEED2 });
        expect(s.shape).toEqual([n, p, p]);
        expect(antler.all(C.positiveDefinite.check(s)).item()).toBe(1);
        expect(arr(w.sample([2], { seed: 4 }))).toEqual(arr(w.sample([2], { seed: 4 })));
        const xs = arr(s);
        for (let e = 0; e < p * p; e++) {
          const i = Math.floor(e / p), j = e % p;
          const m = nu * S[i][j], v = nu * (S[i][j] ** 2 + S[i][i] * S[j][j]);
          let s1 = 0, s2 = 0;
          for (let k = 0; k < n; k++) {
            s1 += xs[k * p * p + e];
            s2 += (xs[k * p * p + e] - m) ** 2;
          }
          expect(Math.abs(s1 / n - m)).toBeLessThan(6 * Math.sqrt(v / n));
          expect(Math.abs(s2 / n - v) / v).toBeLessThan(0.15);
        }
        // pathwise gradients, one draw per batch element: their mean is the gradient of the mean
        const B = 4000;
        const df = antler.tensor(new Array<number>(B).fill(nu), [B], { dtype: 'float64', requiresGrad: true });
        const L = antler.tensor(Lr.flat(), [p, p], { dtype: 'float64', requiresGrad: true });
        const x = new D.Wishart(df, { scaleTril: L }).rsample([], { seed: SEED2 + 1 });
        antler.sum(x.diagonal({ axis1: -2, axis2: -1 })).backward();
        const g = arr(df.grad!);
        const gm = g.reduce((a, b) => a + b) / B, gsd = Math.sqrt(g.reduce((a, b) => a + (b - gm) ** 2, 0) / B);
        const trS = S.reduce((a, r, i) => a + r[i], 0);
        expect(Math.abs(gm - trS)).toBeLessThan(6 * (gsd / Math.sqrt(B)) + 1e-9);
        // Per draw ∂tr(L W Lᵀ)/∂L = 2 L W with W = A Aᵀ ~ Wishart(ν, I), whose Cov(W_kj, W_lj) = ν (δ_kl + δ_kj δ_lj):
        // Var (2 L W)_ij = 4ν (Σ_k L_ik² + L_ij²). The mean over B draws is held to 6 standard errors per entry
        // (a fixed atol of 0.05·ν·max|L| was ~3 of them: CI seed 3287965742 failed an upper entry, 0.207 against 0).
        const gL = arr(L.grad!).map((v) => v / B);
        for (let e = 0; e < p * p; e++) {
          const i = Math.floor(e / p), j = e % p;
          const se = 2 * Math.sqrt((nu * (Lr[i].reduce((a, v) => a + v * v, 0) + Lr[i][j] ** 2)) / B);
          expect([e, Math.abs(gL[e] - 2 * nu * Lr[i][j]) <= 6 * se]).toEqual([e, true]);
        }
      });
    });

    test('Wishart.rsample redraws draws that are not numerically positive-definite (df just above p − 1), up to maxTryCorrection times', () => {
      antler.tidy(() => {
        const w = new D.Wishart(f64([2.02]), { covarianceMatrix: antler.eye(3, 3, { dtype: 'float64' }) });
        const bad = (tries: number): number => 5000 - antler.sum(C.positiveDefinite.check(w.rsample([5000], { seed: 1, maxTryCorrection: tries }))).item();
        const none = bad(0), some = bad(10);
        // a χ²(0.02) diagonal entry is often below eps: a large share of single draws is singular
        expect(none).toBeGreaterThan(500);
        expect(some).toBeLessThanOrEqual(none / 100);
      });
    });
  });
});

describe('second reading', () => {
  test('Wishart whose Cholesky fails (validateArgs false) leaks nothing outside tidy', () => {
    const npd = f64([1, 2, 2, 1], [2, 2]);
    for (const make of [() => new D.Wishart(3, { covarianceMatrix: npd }, { validateArgs: false }), () => new D.Wishart(3, { precisionMatrix: npd }, { validateArgs: false })]) {
      const before = antler.memory().numTensors;
      expect(make).toThrow();
      expect(antler.memory().numTensors).toBe(before);
    }
    npd.dispose();
  });

  test("AffineTransform: torch's positional event_dim (a number where the options go) is refused, not silently taken as eventDim 0", () => {
    expectAntlerError(() => new (D.AffineTransform as unknown as new (l: number, s: number, e: number) => unknown)(0, 2, 1), 'INVALID_ARGUMENT');
    expect(new D.AffineTransform(0, 2, { eventDim: 1 }).eventDim).toBe(1);
  });

  test('MixtureSameFamily refuses a mixing distribution that is not a Categorical (OneHotCategorical, Binomial with logits), as torch', () => {
    antler.tidy(() => {
      const comps = new D.Normal(f64([0, 10, 20], [3]), 1);
      expectAntlerError(() => new D.MixtureSameFamily(new D.OneHotCategorical({ logits: f64([0, 1, 2], [3]) }), comps), 'INVALID_ARGUMENT');
      expectAntlerError(() => new D.MixtureSameFamily(new D.RelaxedOneHotCategorical(0.5, { logits: f64([0, 1, 2], [3]) }), comps), 'INVALID_ARGUMENT');
      // batch [2] of Binomials: logits [2] would pass as "2 categories" of a batch [] mixture
      expectAntlerError(() => new D.MixtureSameFamily(new D.Binomial(f64([3, 3], [2]), { logits: f64([0, 1], [2]) }), new D.Normal(f64([0, 1, 2, 3], [2, 2]), 1)), 'INVALID_ARGUMENT');
      const ok = new D.MixtureSameFamily(new D.Categorical({ logits: f64([0, 1, 2], [3]) }), comps);
      expect(ok.sample([4]).shape).toEqual([4]);
    });
  });

  test("TransformedDistribution: transforms whose parameters add batch dims expand the base (torch: Normal(0, 1) through AffineTransform(loc [3], 2) has batch [3])", () => {
    antler.tidy(() => {
      const d = new D.TransformedDistribution(new D.Normal(f64([0], []), 1), [new D.AffineTransform(f64([0, 1, 2], [3]), 2)]);
      expect(d.batchShape).toEqual([3]);
      expect(d.eventShape).toEqual([]);
      expect(d.sample([4]).shape).toEqual([4, 3]);
      // log N((x − loc)/2; 0, 1) − log 2
      const lp = arr(d.logProb(f64([0, 1, 2], [3])));
      expectClose(lp, [0, 1, 2].map(() => normalLp(0, 1, 0) - Math.log(2)), 1e-12, 1e-12, 'logProb');
      expect(d.expand([2, 3]).batchShape).toEqual([2, 3]);
      // base batch [2], loc [3, 2]: batch [3, 2]; with eventDim 1: batch [3], event [2]
      const loc = f64([0, 1, 2, 3, 4, 5], [3, 2]);
      const d2 = new D.TransformedDistribution(new D.Normal(f64([0, 1], [2]), 1), [new D.AffineTransform(loc, 2)]);
      expect(d2.batchShape).toEqual([3, 2]);
      const x = [0, 1];
      const ref2 = [0, 1, 2].flatMap((i) => x.map((xj, j) => normalLp(j, 1, (xj - (2 * i + j)) / 2) - Math.log(2)));
      expectClose(arr(d2.logProb(f64(x, [2]))), ref2, 1e-12, 1e-12, 'logProb, batch [3, 2]');
      const d3 = new D.TransformedDistribution(new D.Normal(f64([0, 1], [2]), 1), [new D.AffineTransform(loc, 2, { eventDim: 1 })]);
      expect([d3.batchShape, d3.eventShape]).toEqual([[3], [2]]);
      expectClose(arr(d3.logProb(f64(x, [2]))), [0, 1, 2].map((i) => ref2[2 * i] + ref2[2 * i + 1]), 1e-12, 1e-12, 'logProb, event [2]');
    });
  });
});
