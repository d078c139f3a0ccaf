/** References and inputs shared by the 1-D, 2-D and 3-D pooling and spatial norm suites (they load the addon, so they are not in helpers.ts). */
import { Tensor, tensor, tidy } from '../lib';
import { randomArray, Rng } from './helpers';

/** PyTorch's output size along one axis (pooling_output_shape), or 0 where it raises. */
export function outSize(L: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const room = L + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
  let n = Math.floor(room / s) + 1;
  if (ceil && (n - 1) * s >= L + p) n--;
  return Math.max(n, 0);
}

/** Random values, with ties (rounded), NaNs and −∞ masks (a padded input: whole windows of it pick their first in-input element, never the padding) now and then. */
export function values(rng: Rng, n: number): number[] {
  const v = randomArray(rng, n, -3, 3);
  const mode = rng.next();
  if (mode < 0.3) return v.map(Math.round);
  if (mode < 0.4) return v.map((x) => (rng.next() < 0.1 ? NaN : x));
  if (mode < 0.55) return v.map((x) => (rng.next() < 0.6 ? -Infinity : x));
  return v;
}

/** n distinct values in random order, at least 0.12 apart (no ties: the maximum is differentiable). */
export function distinct(rng: Rng, n: number): number[] {
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.173 + rng.uniform(0, 0.05));
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

/** Central differences of sum(f(x)·g) in float64, one element at a time. */
// The pools are piecewise linear and the inputs (distinct()) at least 0.12 apart, so a step of 1e-4 never crosses a
// piece and the central difference is exact but for rounding: about eps·|Σ y·g|/h ≈ 1e-10 (h = 1e-6 made it ≈ 1e-8,
// the test's atol: CI seed 2662006043 missed by 1.16e-8 on avgPool2d, which is linear).
export function finiteDifferences(f: (x: Tensor) => Tensor, xv: number[], shape: number[], gv: number[], h = 1e-4): number[] {
  return xv.map((_, i) =>
    tidy(() => {
      const at = (e: number) => {
        const v = xv.slice();
        v[i] += e;
        const y = f(tensor(v, shape, { dtype: 'float64' }));
        return Array.from(y.dataSync()).reduce((acc, yi, j) => acc + yi * gv[j], 0);
      };
      return (at(h) - at(-h)) / (2 * h);
    }),
  );
}

/** Channel c's mean and biased variance of x [N, C, S] over N and S (or, for instance n, over S of (n, c)). */
export function stats(xv: number[], N: number, C: number, S: number, n: number | null, c: number): { mean: number; varB: number; count: number } {
  const vals: number[] = [];
  for (let i = 0; i < N; i++) if (n === null || n === i) for (let j = 0; j < S; j++) vals.push(xv[(i * C + c) * S + j]);
  const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
  return { mean, varB: vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length, count: vals.length };
}

/**
 * Instance norm's definition on x [N, C, S] (weight 1, bias 0, eps 1e-5): each (n, c) row normalised by its mean and
 * biased variance; and one momentum-0.1 update of running statistics from (0, 1) with the batch's average instance
 * mean and unbiased variance.
 */
export function instanceNormRef(xv: number[], N: number, C: number, S: number): { want: number[]; rm: number[]; rv: number[] } {
  const want = new Array<number>(xv.length);
  const rm = new Array<number>(C).fill(0), rv = new Array<number>(C).fill(1);
  for (let c = 0; c < C; c++) {
    let meanSum = 0, varSum = 0;
    for (let n = 0; n < N; n++) {
      const { mean, varB, count } = stats(xv, N, C, S, n, c);
      for (let j = 0; j < S; j++) want[(n * C + c) * S + j] = (xv[(n * C + c) * S + j] - mean) / Math.sqrt(varB + 1e-5);
      meanSum += mean;
      varSum += (varB * count) / (count - 1);
    }
    rm[c] = 0.9 * rm[c] + 0.1 * (meanSum / N);
    rv[c] = 0.9 * rv[c] + 0.1 * (varSum / N);
  }
  return { want, rm, rv };
}
