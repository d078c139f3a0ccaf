/**
 * 1-D pooling (maxPool1d, avgPool1d, adaptiveAvgPool1d, adaptiveMaxPool1d
 * and their modules) against float64 JavaScript loops written from
 * PyTorch's definitions (output length rule with ceil mode, the divisor with
 * and without the padding, adaptive windows ⌊i·L/out⌋ … ⌈(i+1)·L/out⌉, the
 * first maximum's index, NaN winning), and their gradients against the same
 * loops' (all of a window's gradient to the element picked; 1/divisor to
 * each element averaged).
 */
import * as antler from '../../lib';
import { nn, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeRng, randomArray, tensorCounts } from '../helpers';
import { outSize, values } from '../pool-refs';

const rng = makeRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

interface Ref {
  y: number[];
  idx: number[];
  gx: number[];
  Lout: number;
}

/** Each row of x [rows, L] reduced over windows given as lists of input positions (−1 or ≥ L: padding). */
function poolRows(x: number[], rows: number, L: number, windows: number[][], reduce: 'max' | { divisors: number[] }, g: number[]): Ref {
  const Lout = windows.length;
  const y: number[] = [], idx: number[] = [];
  const gx = new Array<number>(rows * L).fill(0);
  for (let r = 0; r < rows; r++)
    windows.forEach((win, t) => {
      const go = g[r * Lout + t];
      if (reduce === 'max') {
        // PyTorch's scan: the first strictly larger value, or any NaN, replaces the best; padding is −∞ and never picked.
        let best = -Infinity, at = -1;
        for (const q of win) {
          if (q < 0 || q >= L) continue;
          const v = x[r * L + q];
          if (at < 0 || v > best || (Number.isNaN(v) && !Number.isNaN(best))) [best, at] = [v, q];
        }
        y.push(at < 0 ? -Infinity : best);
        idx.push(at);
        if (at >= 0) gx[r * L + at] += go;
      } else {
        let acc = 0;
        for (const q of win) if (q >= 0 && q < L) acc += x[r * L + q];
        y.push(acc / reduce.divisors[t]);
        for (const q of win) if (q >= 0 && q < L) gx[r * L + q] += go / reduce.divisors[t];
      }
    });
  return { y, idx, gx, Lout };
}

function slidingRef(x: number[], rows: number, L: number, k: number, s: number, p: number, d: number, ceil: boolean, g: (n: number) => number[], reduce: 'max' | 'avg', includePad = true): Ref {
  const Lout = outSize(L, k, s, p, d, ceil);
  const windows = Array.from({ length: Lout }, (_, t) => Array.from({ length: k }, (_, j) => t * s - p + j * d));
  const divisors = windows.map((w) => {
    const start = w[0];
    const end = Math.min(start + k, L + p);
    return includePad ? end - start : Math.min(end, L) - Math.max(start, 0);
  });
  return poolRows(x, rows, L, windows, reduce === 'max' ? 'max' : { divisors }, g(rows * Lout));
}

function adaptiveRef(x: number[], rows: number, L: number, out: number, g: number[], reduce: 'max' | 'avg'): Ref {
  const windows = Array.from({ length: out }, (_, i) => {
    const [a, b] = [Math.floor((i * L) / out), Math.ceil(((i + 1) * L) / out)];
    return Array.from({ length: b - a }, (_, j) => a + j);
  });
  return poolRows(x, rows, L, windows, reduce === 'max' ? 'max' : { divisors: windows.map((w) => w.length) }, g);
}

function check(name: string, got: Tensor | { values: Tensor; indices: Tensor }, x: Tensor, ref: Ref, shape: number[], gv: number[]): void {
  const y = got instanceof Tensor ? got : got.values;
  expect(y.shape).toEqual([...shape.slice(0, -1), ref.Lout]);
  expectClose(y.dataSync(), ref.y, 1e-13, 1e-14, `${name} values`);
  if (!(got instanceof Tensor)) {
    expect(got.indices.dtype).toBe('int32');
    expectExact(got.indices.dataSync(), ref.idx, `${name} indices`);
  }
  antler.sum(antler.mul(y, tensor(gv, y.shape, { dtype: 'float64' }))).backward();
  expectClose(x.grad!.dataSync(), ref.gx, 1e-13, 1e-14, `${name} gradient`);
}

describe(`1-D pooling against PyTorch's definitions (seed ${SEED})`, () => {
  test('maxPool1d: every geometry (stride, padding, dilation, ceil mode), indices, ties, NaN, gradients', () => {
    let tried = 0;
    while (tried < 150)
      tidy(() => {
        const [N, C, L] = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 12)];
        const k = rng.int(1, 5), d = rng.int(1, 3), p = rng.int(0, Math.floor(k / 2));
        const s = rng.pick([undefined, 1, 2, 3]);
        const ceil = rng.next() < 0.5;
        if (outSize(L, k, s ?? k, p, d, ceil) < 1) return;
        tried++;
        const xv = values(rng, N * C * L);
        const shape = rng.next() < 0.2 && N === 1 ? [C, L] : [N, C, L];
        const x = tensor(xv, shape, { dtype: 'float64', requiresGrad: true });
        let gv: number[] = [];
        const ref = slidingRef(xv, N * C, L, k, s ?? k, p, d, ceil, (n) => (gv = randomArray(rng, n)), 'max');
        const got = antler.maxPool1d(x, k, { stride: s, padding: p, dilation: d, ceilMode: ceil, returnIndices: true });
        check(`max k${k} s${s} p${p} d${d} ceil ${ceil} [${shape}]`, got, x, ref, shape, gv);
      });
  });

  test('avgPool1d: every geometry, the divisor with and without the padding, ceil mode; gradients', () => {
    let tried = 0;
    while (tried < 150)
      tidy(() => {
        const [N, C, L] = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 12)];
        const k = rng.int(1, 5), p = rng.int(0, Math.floor(k / 2));
        const s = rng.pick([undefined, 1, 2, 3]);
        const ceil = rng.next() < 0.5, includePad = rng.next() < 0.5;
        if (outSize(L, k, s ?? k, p, 1, ceil) < 1) return;
        tried++;
        const xv = randomArray(rng, N * C * L, -3, 3);
        const shape = [N, C, L];
        const x = tensor(xv, shape, { dtype: 'float64', requiresGrad: true });
        let gv: number[] = [];
        const ref = slidingRef(xv, N * C, L, k, s ?? k, p, 1, ceil, (n) => (gv = randomArray(rng, n)), 'avg', includePad);
        check(`avg k${k} s${s} p${p} ceil ${ceil} pad ${includePad}`, antler.avgPool1d(x, k, { stride: s, padding: p, ceilMode: ceil, countIncludePad: includePad }), x, ref, shape, gv);
      });
  });

  test('adaptive average and maximum: windows ⌊i·L/out⌋ … ⌈(i+1)·L/out⌉, output longer or shorter than the input', () => {
    for (let trial = 0; trial < 80; trial++)
      tidy(() => {
        const [N, C, L] = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 12)];
        const out = rng.int(1, 14);
        const kind = rng.pick(['max', 'avg'] as const);
        const xv = kind === 'max' ? values(rng, N * C * L) : randomArray(rng, N * C * L);
        const x = tensor(xv, [N, C, L], { dtype: 'float64', requiresGrad: true });
        const gv = randomArray(rng, N * C * out);
        const ref = adaptiveRef(xv, N * C, L, out, gv, kind);
        const got = kind === 'max' ? antler.adaptiveMaxPool1d(x, out, { returnIndices: true }) : antler.adaptiveAvgPool1d(x, out);
        check(`adaptive ${kind} L ${L} → ${out}`, got, x, ref, [N, C, L], gv);
      });
  });

  test('float32 results equal float64 ones rounded (max exactly; means to float32 precision); unbatched [C, L] is the batch of one', () =>
    tidy(() => {
      const xv = randomArray(rng, 2 * 3 * 10);
      const x64 = tensor(xv, [2, 3, 10], { dtype: 'float64' });
      const x32 = tensor(xv, [2, 3, 10]);
      expectExact(antler.maxPool1d(x32, 3, { stride: 2, padding: 1 }).dataSync(), Array.from(antler.maxPool1d(x32.cast('float64'), 3, { stride: 2, padding: 1 }).dataSync()));
      expectClose(antler.avgPool1d(x32, 4, { stride: 3, padding: 2, ceilMode: true }).dataSync(), antler.avgPool1d(x64, 4, { stride: 3, padding: 2, ceilMode: true }).dataSync(), 1e-6, 1e-6);
      expectClose(antler.adaptiveAvgPool1d(x32, 4).dataSync(), antler.adaptiveAvgPool1d(x64, 4).dataSync(), 1e-6, 1e-6);
      const one = tensor(xv.slice(0, 30), [3, 10], { dtype: 'float64' });
      const batched = one.reshape([1, 3, 10]);
      for (const [f, name] of [[(t: Tensor) => antler.maxPool1d(t, 3), 'max'], [(t: Tensor) => antler.avgPool1d(t, 2, { padding: 1 }), 'avg'], [(t: Tensor) => antler.adaptiveMaxPool1d(t, 3), 'adaptive max'], [(t: Tensor) => antler.adaptiveAvgPool1d(t, 1), 'adaptive avg']] as const) {
        const u = f(one);
        expect(u.rank).toBe(2);
        expectExact(u.dataSync(), f(batched).dataSync(), name);
      }
    }));

  test('long inputs (a 10 s recording at 16 kHz) pool without piling arguments on the stack', () =>
    tidy(() => {
      const L = 160000;
      const x = antler.arange(L, undefined, 1, { dtype: 'float64' }).reshape([1, 1, L]);
      expectExact(antler.avgPool1d(x, 2).slice([0, 0, 79998]).dataSync(), [159996.5, 159998.5]);
      expectClose(antler.adaptiveAvgPool1d(x, 1).dataSync(), [(L - 1) / 2], 1e-13, 0);
      const m = antler.maxPool1d(x, 3, { stride: 1, padding: 1, returnIndices: true });
      expectExact(m.indices.slice([0, 0, L - 2]).dataSync(), [L - 1, L - 1]);
      expectExact(antler.adaptiveMaxPool1d(x, 3).dataSync(), [53333, 106666, 159999]);
    }));

  test('infinities stay infinite through the adaptive average (a shorter window reads 0, not its weighted-out last element)', () =>
    tidy(() => {
      expectExact(antler.adaptiveAvgPool1d(tensor([1, Infinity, 2, 3, 4], [1, 1, 5], { dtype: 'float64' }), 3).dataSync(), [Infinity, Infinity, 3.5]);
    }));

  test('a window wholly in the padding (dilation in ceil mode) is −∞ with index −1 and passes no gradient', () =>
    tidy(() => {
      // L = 1, kernel 2, dilation 3, padding 1, stride 2, ceil mode: window 1 holds positions 1 and 4, both outside.
      const x = tensor([0.5], [1, 1, 1], { dtype: 'float64', requiresGrad: true });
      const r = antler.maxPool1d(x, 2, { stride: 2, padding: 1, dilation: 3, ceilMode: true, returnIndices: true });
      expectExact(r.values.dataSync(), [-Infinity]);
      expectExact(r.indices.dataSync(), [-1]);
      antler.sum(antler.where(antler.isFinite(r.values), r.values, 0)).backward();
      expectExact(x.grad!.dataSync(), [0]);
    }));
});

describe(`pooling modules (seed ${SEED})`, () => {
  test('MaxPool1d, AvgPool1d, AdaptiveAvgPool1d, AdaptiveMaxPool1d are their functions with the options kept; PyTorch-style summaries', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 2 * 4 * 9), [2, 4, 9]);
      const mp = new nn.MaxPool1d(3, { stride: 2, padding: 1, dilation: 2, ceilMode: true });
      expectExact(mp.forward(x).dataSync(), antler.maxPool1d(x, 3, { stride: 2, padding: 1, dilation: 2, ceilMode: true }).dataSync());
      const mpi = new nn.MaxPool1d(2, { returnIndices: true });
      const r = mpi.forward(x);
      expectExact(r.indices.dataSync(), antler.maxPool1d(x, 2, { returnIndices: true }).indices.dataSync());
      const ap = new nn.AvgPool1d(4, { stride: 1, padding: 2, countIncludePad: false });
      expectExact(ap.forward(x).dataSync(), antler.avgPool1d(x, 4, { stride: 1, padding: 2, countIncludePad: false }).dataSync());
      expectClose(new nn.AdaptiveAvgPool1d(1).forward(x).dataSync(), antler.mean(x, 2, true).dataSync(), 1e-6, 1e-7);
      expectExact(new nn.AdaptiveMaxPool1d(2).forward(x).dataSync(), antler.adaptiveMaxPool1d(x, 2).dataSync());
      expect(String(mp)).toBe('MaxPool1d(kernelSize: 3, stride: 2, padding: 1, dilation: 2, ceilMode: true, returnIndices: false)');
      expect(String(new nn.AvgPool1d(2))).toBe('AvgPool1d(kernelSize: 2, stride: 2, padding: 0, ceilMode: false, countIncludePad: true)');
      // A conv front end with pooling inside Sequential.
      const net = new nn.Sequential(new nn.Conv1d(4, 6, 3), new nn.ReLU(), new nn.MaxPool1d(2), new nn.AdaptiveAvgPool1d(1), new nn.Flatten());
      expect((net.forward(x) as Tensor).shape).toEqual([2, 6]);
      net.dispose();
    }));

  test('bad options and inputs throw AntlerError naming them', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 10), [1, 2, 5]);
      expectAntlerError(() => new nn.MaxPool1d(3, { padding: 2 }), 'INVALID_ARGUMENT', /^MaxPool1d: padding 2 is more than half the kernel size 3 \(PyTorch's limit: at most 1\)$/);
      expectAntlerError(() => new nn.AvgPool1d(0), 'INVALID_ARGUMENT', /^AvgPool1d: kernelSize must be an integer >= 1; got 0$/);
      expectAntlerError(() => new nn.MaxPool1d(2, { stride: 1.5 }), 'INVALID_ARGUMENT', /stride must be an integer >= 1; got 1\.5/);
      expectAntlerError(() => new nn.MaxPool1d(2, { ceil_mode: true } as never), 'INVALID_ARGUMENT', /unknown option 'ceil_mode'/);
      expectAntlerError(() => new nn.AdaptiveAvgPool1d(0), 'INVALID_ARGUMENT', /outputSize/);
      expectAntlerError(() => antler.maxPool1d(x, 6), 'SHAPE_MISMATCH', /^maxPool1d: the input's length 5 \(padded to 5\) is shorter than the window's span 6/);
      expectAntlerError(() => antler.avgPool1d(tensor([1, 2, 3]), 2), 'SHAPE_MISMATCH', /^avgPool1d: input has shape \[3\]; expected \[N, C, L\] or unbatched \[C, L\]$/);
      expectAntlerError(() => antler.maxPool1d(x.cast('int32'), 2), 'DTYPE_MISMATCH', /^maxPool1d: input must be float32 or float64; got int32/);
      expectAntlerError(() => antler.adaptiveAvgPool1d(tensor([], [1, 2, 0]), 2), 'SHAPE_MISMATCH', /length is 0/);
      expectAntlerError(() => antler.adaptiveMaxPool1d(x, 2, { returnIndices: 'yes' } as never), 'INVALID_ARGUMENT', /returnIndices/);
    }));
});
