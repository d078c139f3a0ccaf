// Plain float64 references shared by the statistics tests (the lines of an array along an axis, PyTorch's cummax rule).
import { prod } from './helpers';

/** The lines of x along ax, in the row-major order of the other axes. */
export function linesOf(values: readonly number[], shape: readonly number[], ax: number): number[][] {
  const n = shape[ax], inner = prod(shape.slice(ax + 1)), outer = prod(shape.slice(0, ax));
  const out: number[][] = [];
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) out.push(Array.from({ length: n }, (_, k) => values[(o * n + k) * inner + i]));
  return out;
}

/** Lines (each of length m along ax) back into a row-major array of shape with shape[ax] = m. */
export function fromLines(lines: number[][], shape: readonly number[], ax: number): number[] {
  const m = lines.length ? lines[0].length : 0, inner = prod(shape.slice(ax + 1));
  const out = new Array<number>(lines.length * m);
  lines.forEach((line, li) => {
    const o = Math.floor(li / inner), i = li % inner;
    line.forEach((v, k) => (out[(o * m + k) * inner + i] = v));
  });
  return out;
}

/** PyTorch's cummax_cummin_helper: a NaN or an element ≥ (≤) the running value takes over, index included. */
export function cumRef(line: readonly number[], op: 'max' | 'min'): { v: number[]; i: number[] } {
  let out = line[0], idx = 0;
  const v: number[] = [], i: number[] = [];
  line.forEach((x, k) => {
    if (Number.isNaN(x) || (!Number.isNaN(out) && (op === 'max' ? x >= out : x <= out))) {
      out = x;
      idx = k;
    }
    v.push(out);
    i.push(idx);
  });
  return { v, i };
}
