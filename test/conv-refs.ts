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
