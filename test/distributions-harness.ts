/**
 * The checks every univariate distribution of antler.distributions passes,
 * against references written independently of the library: a density (or
 * mass) formula per spec, in float64, and numerical integrals (tanh-sinh
 * quadrature) or sums of it for normalisation, moments, entropy, cdf and KL;
 * Kolmogorov–Smirnov and chi-square tests of samples; the implicit
 * (quantile) derivative of rsample; finite differences of the library's own
 * float64 results for its gradients; float32 against float64; expand; bad
 * arguments. A family test runs `describeSpec(spec)` per spec.
 *
 * Not a test file itself.
 */
import * as antler from '../lib';
import type { Tensor } from '../lib';
import type { Distribution } from '../lib/distributions';
import { expectAntlerError, expectClose, lgammaRef, makeRng, runSeed, type Rng } from './helpers';

export type Params = Record<string, number>;

interface SpecBase {
  /** The class name in antler.distributions. */
  name: string;
  /** Random parameters for one batch element (drawn where the reference is accurate). */
  params(rng: Rng): Params;
  /** The distribution over batch parameters given as tensors of shape [B] (float32 or float64, any device). */
  build(p: Record<string, Tensor>, options?: { validateArgs?: boolean }): Distribution;
  /** Parameter values the constructor must refuse (INVALID_ARGUMENT with validateArgs). */
  bad: Params[];
  /** Parameter names not to differentiate (integer counts). */
  noGrad?: string[];
  /** Expected mean/variance where they are not finite integrals (torch's NaN or Infinity), or undefined to integrate. */
  moments?(p: Params): { mean?: number; variance?: number };
  /** What the library does not implement (torch raises NotImplementedError there too). */
  lacks?: ('cdf' | 'icdf' | 'entropy' | 'mode' | 'rsample' | 'variance' | 'mean' | 'sample')[];
  /** Expected mode (torch's `mode`), when the library has one. */
  mode?(p: Params): number;
  /** The dtype of samples when it is not the parameters' (Categorical's int32 indices, as torch's int64). */
  sampleDtype?: 'int32';
}

export interface ContinuousSpec extends SpecBase {
  kind: 'continuous';
  /** log density at x (the reference: the textbook formula in float64). */
  logPdf(p: Params, x: number): number;
  /** The support's ends (may be infinite). */
  support(p: Params): [number, number];
  /**
   * How rsample's gradient is checked: 'quantile' compares it with the
   * implicit derivative −∂θF(x)/p(x) of a sample x (right for location-scale
   * families, monotone transforms of them and inverse-cdf samplers); 'none'
   * leaves it to the family's own test.
   */
  rsampleGrad?: 'quantile' | 'none';
  /**
   * Points where the density is not smooth (Laplace's peak): the reference
   * integrals are split there, as quadrature loses accuracy across a kink.
   */
  kinks?(p: Params): number[];
}

export interface DiscreteSpec extends SpecBase {
  kind: 'discrete';
  /** log mass at the integer k (the reference formula). */
  logPmf(p: Params, k: number): number;
  /** Integers holding all but a negligible mass (< 1e-14) of the distribution. */
  range(p: Params): [number, number];
}

export type Spec = ContinuousSpec | DiscreteSpec;

// ---------------------------------------------------------------- quadrature

/**
 * ∫ₐᵇ f by tanh-sinh (finite ends), exp-sinh (one infinite end) or
 * sinh-sinh (both) with step h: ~1e-13 for smooth integrands, and accurate
 * for integrable singularities at finite ends (nodes near an end are placed
 * by their distance from it, without cancellation). Non-finite f values at
 * nodes count as 0 (underflowed densities). `w` scales the maps of infinite
 * ends (the nodes' spread: a density's width).
 */
export function integrate(f: (x: number) => number, a: number, b: number, h = 1 / 64, w = 1): number {
  if (a === b) return 0;
  if (a > b) return -integrate(f, b, a, h, w);
  const hp = Math.PI / 2;
  let total = 0;
  const add = (x: number, w: number): void => {
    if (!(w > 0) || !Number.isFinite(x)) return;
    const v = f(x);
    if (Number.isFinite(v)) total += w * v;
  };
  const T = 4.5;
  for (let t = -T; t <= T + 1e-12; t += h) {
    const u = hp * Math.sinh(t), du = hp * Math.cosh(t);
    if (Number.isFinite(a) && Number.isFinite(b)) {
      const d = (b - a) / 2;
      // distance from the nearer end: d·(1 − tanh|u|) = 2d/(e^{2|u|}+1)
      const off = (2 * d) / (Math.exp(2 * Math.abs(u)) + 1);
      const x = u < 0 ? a + off : u > 0 ? b - off : a + d;
      const c = Math.cosh(u);
      add(x, (h * d * du) / (c * c));
    } else if (Number.isFinite(a)) {
      const e = w * Math.exp(u);
      add(a + e, h * e * du);
    } else if (Number.isFinite(b)) {
      const e = w * Math.exp(u);
      add(b - e, h * e * du);
    } else {
      add(w * Math.sinh(u), h * w * Math.cosh(u) * du);
    }
  }
  return total;
}

const GL5_X = [-0.906179845938664, -0.5384693101056831, 0, 0.5384693101056831, 0.906179845938664];
const GL5_W = [0.23692688505618908, 0.47862867049936647, 0.5688888888888889, 0.47862867049936647, 0.23692688505618908];
/** ∫ₐᵇ f by 5-point Gauss–Legendre (exact to degree 9): for short intervals between neighbouring samples. */
export function gauss5(f: (x: number) => number, a: number, b: number): number {
  const c = (a + b) / 2, d = (b - a) / 2;
  let s = 0;
  for (let i = 0; i < 5; i++) s += GL5_W[i] * f(c + d * GL5_X[i]);
  return s * d;
}

/** ∫ₐᵇ f, split at the cuts inside (a, b) (kinks of the integrand, the density's peak); w as integrate's. */
function integratePieces(f: (x: number) => number, a: number, b: number, cuts: number[], w = 1): number {
  const ends = [a, ...cuts.filter((c) => c > a && c < b).sort((x, y) => x - y), b];
  let s = 0;
  for (let i = 0; i + 1 < ends.length; i++) s += integrate(f, ends[i], ends[i + 1], 1 / 64, w);
  return s;
}

/**
 * Where the density is concentrated: its highest point on a coarse grid
 * (log-spaced over 1e-4 … 1e4 from 0 or a finite end, or uniform over a
 * finite support) and the distance at which it falls by e²: the reference
 * integrals split at the peak and scale their infinite-end maps by the
 * width, so a narrow density far from 0 is integrated as accurately as N(0, 1).
 */
function locate(spec: ContinuousSpec, p: Params): { centre: number; width: number } {
  const [lo, hi] = spec.support(p);
  const steps = Array.from({ length: 65 }, (_, k) => 10 ** ((k - 32) / 8));
  let grid: number[];
  if (Number.isFinite(lo) && Number.isFinite(hi)) grid = Array.from({ length: 129 }, (_, j) => lo + ((hi - lo) * (j + 0.5)) / 129);
  else if (Number.isFinite(lo)) grid = steps.map((d) => lo + d);
  else if (Number.isFinite(hi)) grid = steps.map((d) => hi - d);
  else grid = [0, ...steps, ...steps.map((d) => -d)];
  let centre = grid[0], best = -Infinity;
  for (const x of grid) {
    const v = spec.logPdf(p, x);
    if (v > best) (best = v), (centre = x);
  }
  // refine on a finer log grid around the coarse peak
  for (const d of steps) for (const x of [centre - d, centre + d]) {
    if (!(x > lo && x < hi)) continue;
    const v = spec.logPdf(p, x);
    if (v > best) (best = v), (centre = x);
  }
  let width = 1;
  for (const d of steps) {
    const l = centre - d > lo ? spec.logPdf(p, centre - d) : -Infinity, r = centre + d < hi ? spec.logPdf(p, centre + d) : -Infinity;
    if (Math.max(l, r) < best - 2) {
      width = d;
      break;
    }
  }
  return { centre, width };
}

/** ∫ over the support of f(x)·p(x), p the spec's density (split at its peak, its kinks and `cuts`). */
function expectation(spec: ContinuousSpec, p: Params, g: (x: number) => number, cuts: number[] = []): number {
  const [lo, hi] = spec.support(p);
  const { centre, width } = locate(spec, p);
  return integratePieces((x) => {
    const lp = spec.logPdf(p, x);
    return lp === -Infinity ? 0 : g(x) * Math.exp(lp);
  }, lo, hi, [centre, ...(spec.kinks?.(p) ?? []), ...cuts], width);
}

/** Σ over the spec's range of g(k)·p(k). */
function sumOver(spec: DiscreteSpec, p: Params, g: (k: number) => number): number {
  const [lo, hi] = spec.range(p);
  let s = 0;
  for (let k = lo; k <= hi; k++) {
    const lp = spec.logPmf(p, k);
    if (lp > -Infinity) s += g(k) * Math.exp(lp);
  }
  return s;
}

/** The reference CDF at x: ∫ from the support's lower end (continuous) or the sum to ⌊x⌋ (discrete). */
export function cdfRef(spec: Spec, p: Params, x: number): number {
  if (spec.kind === 'discrete') {
    const [lo] = spec.range(p);
    let s = 0;
    for (let k = lo; k <= Math.floor(x); k++) s += Math.exp(spec.logPmf(p, k));
    return s;
  }
  const [lo, hi] = spec.support(p);
  if (x <= lo) return 0;
  if (x >= hi) return 1;
  // Integrate over the shorter side for accuracy in the tails.
  const { centre, width } = locate(spec, p);
  const cuts = [centre, ...(spec.kinks?.(p) ?? [])];
  const left = integratePieces((t) => Math.exp(spec.logPdf(p, t)), lo, x, cuts, width);
  if (left < 0.5) return left;
  return 1 - integratePieces((t) => Math.exp(spec.logPdf(p, t)), x, hi, cuts, width);
}

/** Moments and entropy of the reference, by quadrature or summation. */
export function referenceMoments(spec: Spec, p: Params): { total: number; mean: number; variance: number; entropy: number } {
  const E = (g: (x: number) => number): number => (spec.kind === 'continuous' ? expectation(spec, p, g) : sumOver(spec, p, g));
  const lp = (x: number): number => (spec.kind === 'continuous' ? spec.logPdf(p, x) : spec.logPmf(p, x));
  const total = E(() => 1);
  const mean = E((x) => x);
  const variance = E((x) => (x - mean) * (x - mean));
  const entropy = -E((x) => lp(x));
  return { total, mean, variance, entropy };
}

// ---------------------------------------------------------------- helpers

/**
 * P(|X − m| > t) of the reference: the two tails integrated (summed) from their ends, not 1 − F, so a
 * probability of 1e-15 keeps its digits. What one far draw needs to move a sample mean or variance past a bound.
 */
export function tailBeyond(spec: Spec, p: Params, m: number, t: number): number {
  if (spec.kind === 'discrete') {
    const [lo, hi] = spec.range(p);
    let s = 0;
    for (let k = lo; k <= hi; k++) if (Math.abs(k - m) > t) s += Math.exp(spec.logPmf(p, k));
    return s;
  }
  const [lo, hi] = spec.support(p);
  const { centre, width } = locate(spec, p);
  const cuts = [centre, ...(spec.kinks?.(p) ?? [])];
  const pdf = (x: number): number => Math.exp(spec.logPdf(p, x));
  return (m - t > lo ? integratePieces(pdf, lo, m - t, cuts, width) : 0) + (m + t < hi ? integratePieces(pdf, m + t, hi, cuts, width) : 0);
}

const B = 3;

function drawBatch(spec: Spec, rng: Rng): Params[] {
  return Array.from({ length: B }, () => spec.params(rng));
}

function tensorsOf(ps: Params[], dtype: 'float32' | 'float64', device = 'cpu', grad = false): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const k of Object.keys(ps[0])) out[k] = antler.tensor(ps.map((p) => p[k]), [ps.length], { dtype, device, requiresGrad: grad });
  return out;
}

/** Points inside each element's support where the density is not negligible: quantile-spread samples of the reference. */
function probePoints(spec: Spec, p: Params, rng: Rng, n: number): number[] {
  if (spec.kind === 'discrete') {
    const [lo, hi] = spec.range(p);
    return Array.from({ length: n }, () => rng.int(lo, Math.min(hi, lo + 60)));
  }
  const [lo, hi] = spec.support(p);
  // Where the spec gives non-finite moments (Cauchy), quadrature's variance is a huge finite
  // number: spreading points by it would almost never land where logPdf > −30 (an endless loop).
  const given = spec.moments?.(p);
  const m = given?.mean !== undefined || given?.variance !== undefined ? { mean: given.mean ?? NaN, variance: given.variance ?? NaN } : referenceMoments(spec, p);
  const sd = Number.isFinite(m.variance) && m.variance > 0 ? Math.sqrt(m.variance) : 1;
  const centre = Number.isFinite(m.mean) ? m.mean : 0;
  const pts: number[] = [];
  while (pts.length < n) {
    const x = centre + sd * rng.uniform(-3, 3);
    if (x > lo && x < hi && spec.logPdf(p, x) > -30) pts.push(x);
  }
  return pts;
}

const data = (t: Tensor): number[] => Array.from(t.dataSync());

function has(spec: Spec, what: NonNullable<SpecBase['lacks']>[number]): boolean {
  return !(spec.lacks ?? []).includes(what);
}

// ---------------------------------------------------------------- the checks

/** The KS bound on D·√N: P(K ≥ 3.29) = 2·exp(−2·3.29²) = 1e-9 (Kolmogorov's limit; at N = 100,000 it is a little less). */
export const KS_BOUND = 3.29;
/** Wilson–Hilferty z of a chi-square statistic: z = 6 is p = 1e-9 (of the chi-square law: bins expecting 20 or more keep Pearson's statistic near it). */
export const CHI_Z = 6;

/** P(X ≥ o) for X ~ Poisson(e), summed from o up (the terms fall quickly once j > e; 1 for o ≤ e). */
export function poissonUpperTail(o: number, e: number): number {
  if (o <= e) return 1;
  let term = Math.exp(o * Math.log(e) - e - lgammaRef(o + 1)), sum = 0;
  for (let j = o; term > 1e-300 && j < o + 1000; j++) {
    sum += term;
    term *= e / (j + 1);
  }
  return sum;
}

/**
 * What the sample test judges in N draws xs of one batch element p, each at about 1e-9 a check:
 * - the sample mean and variance as z-scores (|z| ≤ 6 is p ≈ 2e-9 where they are near normal), each only where
 *   one draw far out cannot carry it past the bound: N·P(|X − μ| > d) < 1e-10 at the distance d that moves it
 *   6 standard errors alone, < 1e-7 at the distance for 3 (the rest is then a 3-standard-error chance). That is
 *   a heavy tail's leading failure term: at 6 standard errors a Pareto α = 4.5 variance failed 22 of 20,000
 *   exact-sampling runs (1.1e-3; N·P says 1e-3), a StudentT df 4.5 one 15 of 20,000 (N·P 6e-4); N·P is 5e-4
 *   for LogNormal σ = 1 and 1e-3 for FisherSnedecor df2 = 9. There the KS or chi-square test judges the law.
 * - continuous: the Kolmogorov–Smirnov D·√N (sorts xs), against KS_BOUND.
 * - discrete: the chi-square of the bins expecting 20 or more (Wilson–Hilferty z, against CHI_Z) and, where the
 *   rest pooled expects fewer than 20, the pooled count's exact Poisson upper tail (p). A Pearson term for a pool
 *   expecting 1 to 3 has a far heavier tail than the chi-square's: alone it crossed the old bound (z 4.9 on 2 to
 *   10 dof, meant as 5e-7) with probability 1e-5 to 8e-5.
 */
export function sampleStatistics(
  spec: Spec,
  p: Params,
  xs: number[],
  where: string,
): {
  mean?: { value: number; want: number; se: number; z: number };
  variance?: { value: number; want: number; se: number; z: number };
  ks?: number;
  chi?: { value: number; dof: number; z: number };
  pool?: { o: number; e: number; p: number };
} {
  const N = xs.length;
  const out: ReturnType<typeof sampleStatistics> = {};
  const ref = referenceMoments(spec, p);
  const given = spec.moments?.(p);
  if (given?.mean === undefined && given?.variance === undefined) {
    const E = (g: (x: number) => number): number => (spec.kind === 'continuous' ? expectation(spec, p, g) : sumOver(spec, p, g));
    const m4 = E((x) => (x - ref.mean) ** 4);
    let sm = 0;
    for (const x of xs) sm += x;
    sm /= N;
    let sv = 0;
    for (const x of xs) sv += (x - sm) * (x - sm);
    sv /= N - 1;
    if (Number.isFinite(m4) && m4 < 1e6 * ref.variance * ref.variance) {
      // one draw beyond the distance d moves the mean by d/N, the variance by d²/N: none may go all the way
      // (< 1e-10) or half of it (< 1e-7; the rest is then a 3-standard-error chance, 1e-3)
      const oneFar = (d: number): number => N * tailBeyond(spec, p, ref.mean, d);
      const sdm = Math.sqrt(ref.variance / N);
      if (oneFar(6 * sdm * N) < 1e-10 && oneFar(3 * sdm * N) < 1e-7) out.mean = { value: sm, want: ref.mean, se: sdm, z: (sm - ref.mean) / sdm };
      const sdv = Math.sqrt(Math.max(m4 - ref.variance * ref.variance, 0) / N);
      if (oneFar(Math.sqrt(6 * sdv * N)) < 1e-10 && oneFar(Math.sqrt(3 * sdv * N)) < 1e-7)
        out.variance = { value: sv, want: ref.variance, se: sdv, z: Math.abs(sv - ref.variance) <= 1e-12 ? 0 : (sv - ref.variance) / sdv };
    }
  }
  if (spec.kind === 'continuous') {
    xs.sort((x, y) => x - y);
    const [lo, hi] = spec.support(p);
    expect(xs[0]).toBeGreaterThanOrEqual(lo);
    expect(xs[N - 1]).toBeLessThanOrEqual(hi);
    // the reference CDF at each sorted sample: integrate between neighbours
    let F = cdfRef(spec, p, xs[0]);
    let D = Math.max(F, 1 / N - F);
    for (let i = 1; i < N; i++) {
      if (xs[i] > xs[i - 1]) F += gauss5((t) => Math.exp(spec.logPdf(p, t)), xs[i - 1], xs[i]);
      D = Math.max(D, Math.abs(F - i / N), Math.abs(F - (i + 1) / N));
    }
    out.ks = D * Math.sqrt(N);
  } else {
    for (const x of xs) if (x !== Math.round(x)) throw new Error(`non-integer sample ${x}: ${where}`);
    const [lo, hi] = spec.range(p);
    const counts = new Map<number, number>();
    for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
    for (const k of counts.keys()) if (k < lo || k > hi || spec.logPmf(p, k) === -Infinity) throw new Error(`sample ${k} outside the support: ${where}`);
    // bins with expected count ≥ 20, the rest pooled
    let chi = 0, dof = -1, poolE = 0, poolO = 0;
    for (let k = lo; k <= hi; k++) {
      const e = N * Math.exp(spec.logPmf(p, k)), o = counts.get(k) ?? 0;
      if (e >= 20) {
        chi += ((o - e) * (o - e)) / e;
        dof++;
      } else (poolE += e), (poolO += o);
    }
    if (poolE >= 20) {
      chi += ((poolO - poolE) * (poolO - poolE)) / poolE;
      dof++;
    } else if (poolE > 0 || poolO > 0) out.pool = { o: poolO, e: poolE, p: poissonUpperTail(poolO, poolE) };
    // Wilson–Hilferty: (chi/dof)^⅓ ≈ normal
    if (dof > 0) out.chi = { value: chi, dof, z: (Math.cbrt(chi / dof) - (1 - 2 / (9 * dof))) / Math.sqrt(2 / (9 * dof)) };
  }
  return out;
}

/**
 * The generic suite for one univariate spec. `device` runs the same checks
 * with parameters on that device (the GPU project).
 */
export function describeSpec(spec: Spec, device = 'cpu'): void {
  const SEED = runSeed();
  describe(`${spec.name} (${device}, seed ${SEED})`, () => {
    const rng = makeRng(SEED);
    const ps = drawBatch(spec, rng);
    const where = `${spec.name} params ${JSON.stringify(ps)} (seed ${SEED})`;

    test('logProb equals the reference formula (float64), which integrates to 1', () => {
      for (let b = 0; b < B; b++) expect(Math.abs(referenceMoments(spec, ps[b]).total - 1)).toBeLessThan(1e-8);
      const pts = ps.map((p) => probePoints(spec, p, rng, 16));
      const got = antler.tidy(() => {
        const d = spec.build(tensorsOf(ps, 'float64', device));
        // values [16, B]: column b holds element b's points
        const v = antler.tensor(pts[0].flatMap((_, i) => pts.map((col) => col[i])), [16, B], { dtype: 'float64', device });
        return data(d.logProb(v));
      });
      const want = pts[0].flatMap((_, i) => pts.map((col, b) => (spec.kind === 'continuous' ? spec.logPdf(ps[b], col[i]) : spec.logPmf(ps[b], col[i]))));
      expectClose(got, want, 1e-10, 1e-10, `logProb ${where}`);
    });

    test('mean, variance and entropy equal the reference integrals', () => {
      const refs = ps.map((p) => referenceMoments(spec, p));
      antler.tidy(() => {
        const d = spec.build(tensorsOf(ps, 'float64', device));
        const want = (k: 'mean' | 'variance'): number[] => ps.map((p, b) => spec.moments?.(p)?.[k] ?? refs[b][k]);
        if (has(spec, 'mean')) expectClose(data(d.mean), want('mean'), 1e-7, 1e-9, `mean ${where}`);
        if (has(spec, 'variance')) expectClose(data(d.variance), want('variance'), 1e-7, 1e-9, `variance ${where}`);
        if (has(spec, 'entropy')) expectClose(data(d.entropy()), refs.map((r) => r.entropy), 1e-7, 1e-9, `entropy ${where}`);
        else expectAntlerError(() => d.entropy(), 'NOT_SUPPORTED');
        if (spec.mode && has(spec, 'mode')) expectClose(data(d.mode), ps.map((p) => spec.mode!(p)), 1e-9, 1e-9, `mode ${where}`);
      });
    });

    if (has(spec, 'cdf'))
      test('cdf equals the reference integral, and icdf inverts it', () => {
        const pts = ps.map((p) => probePoints(spec, p, rng, 8));
        antler.tidy(() => {
          const d = spec.build(tensorsOf(ps, 'float64', device));
          const v = antler.tensor(pts[0].flatMap((_, i) => pts.map((col) => col[i])), [8, B], { dtype: 'float64', device });
          const c = d.cdf(v);
          expectClose(data(c), pts[0].flatMap((_, i) => pts.map((col, b) => cdfRef(spec, ps[b], col[i]))), 1e-8, 1e-10, `cdf ${where}`);
          if (spec.kind === 'continuous' && has(spec, 'icdf')) {
            // where 1e-3 ≤ cdf ≤ 1 − 1e-3: further out, torch's own icdf formulas (erfinv(2p − 1)) lose digits to cancellation
            const cs = data(c), xs = data(v);
            const keep = cs.map((q, i) => (q >= 1e-3 && q <= 1 - 1e-3 ? i : -1)).filter((i) => i >= 0);
            const inv = data(d.icdf(c));
            expectClose(keep.map((i) => inv[i]), keep.map((i) => xs[i]), 1e-7, 1e-9, `icdf(cdf(x)) ${where}`);
          }
        });
      });

    if (has(spec, 'sample'))
    test('samples follow the distribution (KS or chi-square at p = 1e-9) and are repeatable from a seed', () => {
      const N = 100000;
      const seed = rng.u32();
      const [s1, s2, shape] = antler.tidy(() => {
        const d = spec.build(tensorsOf(ps, 'float64', device));
        const a = d.sample([N], { seed });
        expect(a.requiresGrad).toBe(false);
        return [data(a), data(d.sample([N], { seed })), a.shape];
      });
      expect(shape).toEqual([N, B]);
      expect(s2).toEqual(s1);
      for (let b = 0; b < B; b++) {
        const xs = Array.from({ length: N }, (_, i) => s1[i * B + b]);
        const st = sampleStatistics(spec, ps[b], xs, `element ${b}: ${where}`);
        const at = `for element ${b}: ${where}`;
        if (st.mean && !(Math.abs(st.mean.z) <= 6)) throw new Error(`sample mean ${st.mean.value}, expected ${st.mean.want} ± ${6 * st.mean.se} ${at}`);
        if (st.variance && !(Math.abs(st.variance.z) <= 6)) throw new Error(`sample variance ${st.variance.value}, expected ${st.variance.want} ± ${6 * st.variance.se} ${at}`);
        if (st.ks !== undefined && !(st.ks < KS_BOUND)) throw new Error(`KS statistic ${st.ks} ≥ ${KS_BOUND} (p < 1e-9) ${at}`);
        if (st.chi && !(st.chi.z < CHI_Z)) throw new Error(`chi-square ${st.chi.value} on ${st.chi.dof} dof (z ${st.chi.z}) ${at}`);
        if (st.pool && !(st.pool.p >= 1e-9)) throw new Error(`${st.pool.o} samples in the pooled bins where the pmf expects ${st.pool.e} (Poisson tail ${st.pool.p}) ${at}`);
      }
    });

    const rsample = spec.kind === 'continuous' && has(spec, 'rsample') && spec.rsampleGrad !== 'none';
    if (rsample)
      test("rsample's gradient equals the implicit (quantile) derivative −∂θF(x)/p(x)", () => {
        const cs = spec as ContinuousSpec;
        const names = Object.keys(ps[0]).filter((k) => !(spec.noGrad ?? []).includes(k));
        const seed = rng.u32();
        const S = 4;
        const { xs, grads } = antler.tidy(() => {
          const t = tensorsOf(ps, 'float64', device, true);
          const x = spec.build(t).rsample([S], { seed });
          x.sum().backward();
          return { xs: data(x), grads: names.map((k) => (t[k].grad ? data(t[k].grad!) : new Array<number>(B).fill(0))) };
        });
        names.forEach((k, j) => {
          const want = ps.map((p, b) => {
            let g = 0;
            for (let s = 0; s < S; s++) {
              const x = xs[s * B + b];
              const h = 1e-5 * Math.max(1, Math.abs(p[k]));
              const F = (v: number): number => cdfRef(cs, { ...p, [k]: v }, x);
              const dF = (F(p[k] + h) - F(p[k] - h)) / (2 * h);
              g += -dF / Math.exp(cs.logPdf(p, x));
            }
            return g;
          });
          expectClose(grads[j], want, 1e-5, 1e-7, `d rsample / d ${k} ${where}`);
        });
      });

    test('gradients of logProb, entropy, mean and variance equal finite differences (float64)', () => {
      const names = Object.keys(ps[0]).filter((k) => !(spec.noGrad ?? []).includes(k));
      const pts = ps.map((p) => probePoints(spec, p, rng, 4));
      const vals = pts[0].flatMap((_, i) => pts.map((col) => col[i]));
      const w = Array.from({ length: 4 * B }, () => rng.uniform(0.5, 1.5));
      const parts: ((d: Distribution) => Tensor)[] = [
        (d) => d.logProb(antler.tensor(vals, [4, B], { dtype: 'float64', device })).mul(antler.tensor(w, [4, B], { dtype: 'float64', device })).sum(),
      ];
      if (has(spec, 'entropy')) parts.push((d) => d.entropy().sum());
      if (has(spec, 'mean') && !spec.moments) parts.push((d) => d.mean.mul(antler.tensor(w.slice(0, B), [B], { dtype: 'float64', device })).sum());
      if (has(spec, 'variance') && !spec.moments) parts.push((d) => d.variance.sum());
      if (spec.kind === 'continuous' && has(spec, 'cdf'))
        parts.push((d) => d.cdf(antler.tensor(vals, [4, B], { dtype: 'float64', device })).mul(antler.tensor(w, [4, B], { dtype: 'float64', device })).sum());
      parts.forEach((part, pi) => {
        const value = (q: Params[]): number => antler.tidy(() => part(spec.build(tensorsOf(q, 'float64', device), { validateArgs: false })).item());
        const grads = antler.tidy(() => {
          const t = tensorsOf(ps, 'float64', device, true);
          part(spec.build(t)).backward();
          return names.map((k) => (t[k].grad ? data(t[k].grad!) : new Array<number>(B).fill(0)));
        });
        names.forEach((k, j) => {
          const fd = ps.map((p, b) => {
            const h = 1e-6 * Math.max(1, Math.abs(p[k]));
            const up = ps.map((q, c) => (c === b ? { ...q, [k]: q[k] + h } : q));
            const dn = ps.map((q, c) => (c === b ? { ...q, [k]: q[k] - h } : q));
            return (value(up) - value(dn)) / (2 * h);
          });
          expectClose(grads[j], fd, 1e-5, 1e-6, `gradient ${pi} (0 logProb, then entropy/mean/variance/cdf as present) wrt ${k} ${where}`);
        });
      });
    });

    test('float32 agrees with float64', () => {
      const pts = ps.map((p) => probePoints(spec, p, rng, 4));
      const vals = pts[0].flatMap((_, i) => pts.map((col) => col[i]));
      const run = (dtype: 'float32' | 'float64'): number[][] =>
        antler.tidy(() => {
          const d = spec.build(tensorsOf(ps, dtype, device));
          expect(d.dtype).toBe(dtype);
          const out = [data(d.logProb(antler.tensor(vals, [4, B], { dtype, device })))];
          if (has(spec, 'entropy')) out.push(data(d.entropy()));
          if (has(spec, 'mean')) out.push(data(d.mean));
          if (has(spec, 'variance')) out.push(data(d.variance));
          if (has(spec, 'sample')) expect(d.sample([2], { seed: 7 }).dtype).toBe(spec.sampleDtype ?? dtype);
          else expectAntlerError(() => d.sample([2], { seed: 7 }), 'NOT_SUPPORTED');
          return out;
        });
      const a = run('float32'), b = run('float64');
      // float32 rounds the parameters too: compare against float64 of the same rounded inputs
      a.forEach((x, i) => expectClose(x, b[i], 2e-4, 2e-4, `float32 result ${i} ${where}`));
    });

    test('expand, sample shapes, bad arguments, values outside the support', () => {
      antler.tidy(() => {
        const d = spec.build(tensorsOf(ps, 'float64', device));
        expect(d.batchShape).toEqual([B]);
        const e = d.expand([2, B]);
        expect(e.batchShape).toEqual([2, B]);
        if (has(spec, 'sample')) expect(e.sample([5]).shape).toEqual([5, 2, B]);
        const inside = ps.map((p) => probePoints(spec, p, rng, 3));
        const x = has(spec, 'sample') ? d.sample([3]) : antler.tensor([0, 1, 2].flatMap((i) => inside.map((col) => col[i])), [3, B], { dtype: 'float64', device });
        expect(data(e.logProb(x.reshape([3, 1, B])))).toEqual(data(d.logProb(x).reshape([3, 1, B]).broadcastTo([3, 2, B])));
        e.dispose();
        expectAntlerError(() => d.expand([2]), 'SHAPE_MISMATCH');
        expectAntlerError(() => d.logProb(antler.zeros([2, 2], { dtype: 'float64', device })), 'SHAPE_MISMATCH');
      });
      for (const bad of spec.bad) {
        const full = { ...ps[0], ...bad };
        expectAntlerError(() => antler.tidy(() => spec.build(tensorsOf([full], 'float64', device))), 'INVALID_ARGUMENT');
        antler.tidy(() => {
          spec.build(tensorsOf([full], 'float64', device), { validateArgs: false });
        });
      }
      // a value outside the support
      const p = ps[0];
      const outside = spec.kind === 'discrete' ? [spec.range(p)[0] - 1, 0.5 + spec.range(p)[0]] : [spec.support(p)[0] - 1, spec.support(p)[1] + 1].filter(Number.isFinite);
      for (const v of outside)
        if (spec.kind === 'discrete' ? spec.logPmf(p, v) === -Infinity : spec.logPdf(p, v) === -Infinity)
          expectAntlerError(() => antler.tidy(() => spec.build(tensorsOf([p], 'float64', device)).logProb(antler.tensor([v], [1], { dtype: 'float64', device }))), 'INVALID_ARGUMENT');
    });

    test('no tensor leaks: a distribution disposed after use frees what it made', () => {
      const before = antler.memory().numTensors;
      const t = tensorsOf(ps, 'float64', device);
      const d = spec.build(t);
      antler.tidy(() => {
        if (has(spec, 'sample')) d.logProb(d.sample([2]));
        else d.logProb(antler.tensor(ps.map((p) => probePoints(spec, p, rng, 1)[0]), [B], { dtype: 'float64', device }));
        if (has(spec, 'mean')) void d.mean;
      });
      d.dispose();
      antler.dispose(Object.values(t));
      expect(antler.memory().numTensors).toBe(before);
    });
  });
}

/**
 * KL(p ‖ q) from antler.distributions.klDivergence against the reference
 * integral (sum) of p·(log p − log q) over p's support, for random
 * parameters of both specs (float64).
 */
export function describeKL(P: Spec, Q: Spec, device = 'cpu'): void {
  const SEED = runSeed();
  test(`klDivergence(${P.name}, ${Q.name}) equals the reference integral (${device}, seed ${SEED})`, () => {
    const rng = makeRng(SEED);
    const pp = drawBatch(P, rng), qq = drawBatch(Q, rng);
    const got = antler.tidy(() => data(antler.distributions.klDivergence(P.build(tensorsOf(pp, 'float64', device)), Q.build(tensorsOf(qq, 'float64', device)))));
    const want = pp.map((p, b) => {
      const q = qq[b];
      if (P.kind === 'continuous' && Q.kind === 'continuous') {
        const [lo, hi] = P.support(p);
        const [qlo, qhi] = Q.support(q);
        if (lo < qlo || hi > qhi) return Infinity;
        return expectation(P, p, (x) => P.logPdf(p, x) - Q.logPdf(q, x), Q.kinks?.(q) ?? []);
      }
      if (P.kind === 'discrete' && Q.kind === 'discrete') {
        let inf = false;
        const v = sumOver(P, p, (k) => {
          const lq = Q.logPmf(q, k);
          if (lq === -Infinity) inf = true;
          return P.logPmf(p, k) - lq;
        });
        return inf ? Infinity : v;
      }
      throw new Error('describeKL: mixed continuous and discrete specs');
    });
    expectClose(got, want, 1e-7, 1e-9, `KL(${P.name} ${JSON.stringify(pp)} ‖ ${Q.name} ${JSON.stringify(qq)}) (seed ${SEED})`);
  });
}
