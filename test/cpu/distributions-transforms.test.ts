// antler.distributions, transforms family: every spec through the generic harness, then the family's own tests.
import { describeKL, describeSpec } from '../distributions-harness';
import * as antler from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeRng, randomArray, runSeed, tensorCounts } from '../helpers';
import { KL_PAIRS, SPECS, StandInCategorical } from '../dist-specs-transforms';

expectNoLeaksInSuite(tensorCounts);
for (const spec of SPECS) describeSpec(spec);
describe('KL divergences', () => {
  for (const [p, q] of KL_PAIRS) describeKL(p, q);
  // ---- helper D: the family's own tests go below (test.todo placeholder removed when the first lands).
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
      const mix = new StandInCategorical(f64(p.map(Math.log)));
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
  // ---- end helper D
});
