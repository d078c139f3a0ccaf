/** Checks shared by the convolution suites (they load the addon, so they are not in helpers.ts). */
import { Tensor } from '../lib';
import { expectClose } from './helpers';

/** Σ a[i]·b[i]. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * The gradients of [x, weight, bias] (ts, made from vals) against central
 * differences of the float64 reference f, step h. 1e-3 by default: the
 * convolutions are linear in each argument, so the central difference is
 * exact but for rounding (≈ eps·|f|/h; h = 1e-6 made it ≈ 1e-8 against atol
 * 1e-7 for conv2d).
 */
export function expectGradsMatchCentral(ts: Tensor[], vals: number[][], f: (v: number[][]) => number, what: string, h = 1e-3): void {
  ts.forEach((t, which) => {
    const num = vals[which].map((_, j) => {
      const up = vals.map((v) => v.slice()), down = vals.map((v) => v.slice());
      up[which][j] += h;
      down[which][j] -= h;
      return (f(up) - f(down)) / (2 * h);
    });
    expectClose(t.grad!.dataSync(), num, 1e-6, 1e-7, `grad ${['x', 'weight', 'bias'][which]} ${what}`);
  });
}

/** Where a padded position p of an axis of length L reads: p itself inside [0, L), else by the mode (pad's rules), null for 'zeros'. */
export function padSource(p: number, L: number, mode: 'zeros' | 'reflect' | 'replicate' | 'circular'): number | null {
  if (p >= 0 && p < L) return p;
  if (mode === 'zeros') return null;
  if (mode === 'replicate') return p < 0 ? 0 : L - 1;
  if (mode === 'reflect') return p < 0 ? -p : 2 * (L - 1) - p;
  return ((p % L) + L) % L;
}

/**
 * The k-D grouped convolution by its definition, in float64 loops: y[n, o, i…] = b[o] + Σ_c Σ_a w[o, c, a…] ·
 * x[n, ⌊o / (Cout / G)⌋·Cg + c, i·stride + a·dilation − left] per axis, over the Cg = Cin / G channels of o's group and
 * the kernel taps; positions outside the input read through padSource (zeros, reflect, replicate, circular). Row-major
 * flat arrays; outSizes along each axis ⌊(L + left + right − dilation·(k − 1) − 1) / stride⌋ + 1.
 */
export function convNdRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, N: number, Cin: number, sizes: readonly number[],
  Cout: number, ks: readonly number[], G: number, stride: readonly number[], left: readonly number[], right: readonly number[], dilation: readonly number[],
  mode: 'zeros' | 'reflect' | 'replicate' | 'circular' = 'zeros'): { y: number[]; outSizes: number[] } {
  const k = sizes.length, Cg = Cin / G, Og = Cout / G;
  const outSizes = sizes.map((L, d) => Math.floor((L + left[d] + right[d] - dilation[d] * (ks[d] - 1) - 1) / stride[d]) + 1);
  const P = outSizes.reduce((a, v) => a * v, 1), KK = ks.reduce((a, v) => a * v, 1), S = sizes.reduce((a, v) => a * v, 1);
  const multi = (flat: number, dims: readonly number[]) => {
    const idx = new Array<number>(dims.length);
    for (let d = dims.length - 1; d >= 0; d--) {
      idx[d] = flat % dims[d];
      flat = Math.floor(flat / dims[d]);
    }
    return idx;
  };
  const y = new Array<number>(N * Cout * P).fill(0);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < Cout; o++)
      for (let q = 0; q < P; q++) {
        const i = multi(q, outSizes);
        let acc = b ? b[o] : 0;
        for (let c = 0; c < Cg; c++)
          for (let a = 0; a < KK; a++) {
            const t = multi(a, ks);
            let at = 0, inside = true;
            for (let d = 0; d < k && inside; d++) {
              const src = padSource(i[d] * stride[d] + t[d] * dilation[d] - left[d], sizes[d], mode);
              if (src === null) inside = false;
              else at = at * sizes[d] + src;
            }
            if (inside) acc += w[(o * Cg + c) * KK + a] * x[(n * Cin + Math.floor(o / Og) * Cg + c) * S + at];
          }
        y[(n * Cout + o) * P + q] = acc;
      }
  return { y, outSizes };
}
