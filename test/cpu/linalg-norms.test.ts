/**
 * lib/ops/linalg-norms.ts (antler.linalg.vectorNorm, matrixNorm, norm, multiDot, vecdot, matrixExp,
 * vander, cross, diagonal) against float64 loops written from torch.linalg's definitions, on fresh
 * random inputs: the norms' values and their gradients as torch 1.13's norm_backward defines them
 * (zero vectors, zeros inside, ties of ±∞), torch.linalg.norm's dispatch, multi_dot's order against
 * a brute-force search of every parenthesisation, the matrix exponential against a Taylor series
 * with scaling and squaring, and the edge cases (empty, NaN/∞, keepDims, negative axes, int32).
 * The registry (test/opinfo-linalg-norms.ts) checks gradients by finite differences too.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { broadcastShape, expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeRng, randomArray, tensorCounts } from '../helpers';
import type { Rng } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);
const L = antler.linalg;
const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const t64 = (v: number[], s: readonly number[]) => tensor(v, [...s], F64);

// ---------------------------------------------------------------- references

/** For a reduction of `shape` over `axes` (normalised; all when empty): each output's flat input indices, outputs in row-major order. */
function slices(shape: readonly number[], axes: readonly number[]): number[][] {
  const all = axes.length === 0;
  const kept = shape.map((d, i) => (all || axes.includes(i) ? 1 : d));
  const out: number[][] = Array.from({ length: size(kept) }, () => []);
  for (let i = 0; i < size(shape); i++) {
    let rem = i, o = 0, stride = 1;
    const coords = new Array<number>(shape.length);
    for (let d = shape.length - 1; d >= 0; d--) {
      coords[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    for (let d = shape.length - 1; d >= 0; d--) {
      o += (kept[d] === 1 ? 0 : coords[d]) * stride;
      stride *= kept[d];
    }
    out[o].push(i);
  }
  return out;
}

const sgn = (v: number) => (Number.isNaN(v) ? NaN : v > 0 ? 1 : v < 0 ? -1 : 0);

/** torch.linalg.vector_norm of a list, from its definition. */
function vnorm(v: number[], ord: number): number {
  const a = v.map(Math.abs);
  if (ord === 0) return v.filter((x) => x !== 0).length;
  if (ord === Infinity) return a.some(Number.isNaN) ? NaN : Math.max(...a);
  if (ord === -Infinity) return a.some(Number.isNaN) ? NaN : Math.min(...a);
  return a.reduce((s, x) => s + x ** ord, 0) ** (1 / ord);
}

/** torch 1.13's norm_backward (FunctionsManual.cpp) for one slice: the gradient of g·‖v‖_ord. */
function vnormGrad(v: number[], ord: number, norm: number, g: number): number[] {
  if (ord === 0) return v.map(() => 0);
  if (ord === 1) return v.map((x) => sgn(x) * g);
  if (ord === 2) return v.map((x) => (norm === 0 ? 0 : (x / norm) * g));
  if (Math.abs(ord) === Infinity) {
    const mask = v.map((x) => Math.abs(x) === norm || Number.isNaN(x));
    const count = mask.filter(Boolean).length;
    return v.map((x, i) => (mask[i] ? (sgn(x) * g) / count : 0));
  }
  if (ord < 1) return v.map((x) => (x === 0 ? 0 : sgn(x) * Math.abs(x) ** (ord - 1)) * g * norm ** (1 - ord));
  const scale = norm === 0 ? 0 : g / norm ** (ord - 1);
  if (ord < 2) return v.map((x) => sgn(x) * Math.abs(x) ** (ord - 1) * scale);
  return v.map((x) => x * Math.abs(x) ** (ord - 2) * scale);
}

/** Values and gradient (of Σ w ⊙ norm) of vector_norm over `axes` of x, by the references. */
function vectorNormRef(x: number[], shape: number[], ord: number, axes: number[], w: number[]): { value: number[]; grad: number[] } {
  const grad = new Array<number>(x.length).fill(0);
  const value = slices(shape, axes).map((idx, o) => {
    const v = idx.map((i) => x[i]);
    const n = vnorm(v, ord);
    vnormGrad(v, ord, n, w[o]).forEach((gi, k) => (grad[idx[k]] = gi));
    return n;
  });
  return { value, grad };
}

/** Random values in [−1.5, 1.5) with some exact zeros and some repeated magnitudes (ties for ±∞). */
function drawValues(rng: Rng, n: number): number[] {
  const v = randomArray(rng, n, -1.5, 1.5);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.1) v[i] = 0;
    else if (r < 0.2 && i > 0) v[i] = (rng.next() < 0.5 ? -1 : 1) * Math.abs(v[rng.int(0, i - 1)]);
  }
  return v;
}

function randomShape(rng: Rng, rank: number): number[] {
  return Array.from({ length: rank }, () => rng.int(1, 4));
}

/** A random subset of the axes of a rank-r shape, each spelled positive or negative. */
function randomAxes(rng: Rng, rank: number): { spelled: number[]; norm: number[] } {
  const norm = Array.from({ length: rank }, (_, i) => i).filter(() => rng.next() < 0.5);
  return { spelled: norm.map((a) => (rng.next() < 0.5 ? a - rank : a)), norm };
}

const ORDS = [2, 1, 0, 3, 1.5, 0.5, 0.3, 7, -1, -0.5, -2.5, Infinity, -Infinity];

// ---------------------------------------------------------------- vectorNorm

describe(`linalg.vectorNorm (seed ${SEED})`, () => {
  test.each(ORDS)('ord %p: values and gradients as torch.linalg.vector_norm on random shapes, axes and keepDims', (ord) =>
    tidy(() => {
      for (let trial = 0; trial < 6; trial++) {
        const shape = randomShape(rng, rng.int(0, 4));
        const x = drawValues(rng, size(shape));
        const { spelled, norm } = trial === 0 ? { spelled: [], norm: [] } : randomAxes(rng, shape.length);
        const keepDims = rng.next() < 0.5;
        const leaf = t64(x, shape).requiresGrad_(true);
        const options = spelled.length ? { ord, axis: spelled, keepDims } : { ord, keepDims };
        const y = L.vectorNorm(leaf, options);
        const reduced = norm.length ? norm : shape.map((_, i) => i);
        expect(y.shape).toEqual(keepDims ? shape.map((d, i) => (reduced.includes(i) ? 1 : d)) : shape.filter((_, i) => !reduced.includes(i)));
        const w = randomArray(rng, y.size);
        const ref = vectorNormRef(x, shape, ord, norm, w);
        const what = `ord ${ord}, shape [${shape}], axis [${spelled}]`;
        expectClose(read(y), ref.value, 1e-12, 1e-300, `${what} (seed ${SEED})`);
        antler.sum(antler.mul(y, t64(w, y.shape))).backward();
        if (ord === 0) expect(leaf.grad === null || read(leaf.grad).every((g) => g === 0)).toBe(true);
        else expectClose(read(leaf.grad!), ref.grad, 1e-10, 1e-12, `${what}: gradient (seed ${SEED})`);
        // float32, the same float32-rounded inputs.
        const y32 = L.vectorNorm(tensor(x, shape), options);
        expect(y32.dtype).toBe('float32');
        expectClose(read(y32), vectorNormRef(x.map(Math.fround), shape, ord, norm, w).value, 2e-6, 1e-30, `${what}: float32 (seed ${SEED})`);
      }
    }));

  test('a zero vector: value 0 and gradient 0 for every order (ord 2 gives 0, not NaN); zeros inside: torch\'s subgradient', () =>
    tidy(() => {
      for (const ord of ORDS.filter((o) => o > 0 || o === -Infinity || o < 0)) {
        const x = t64([0, 0, 0], [3]).requiresGrad_(true);
        const y = L.vectorNorm(x, { ord });
        expect(y.item()).toBe(0);
        y.backward();
        expectExact(read(x.grad!), [0, 0, 0], 'x gradient');
      }
      // A 0 among nonzeros: torch's gradient there is 0 for ord < 1 (|0|^(ord−1) masked) and ∞-norms not at it.
      for (const ord of [0.5, -1, -0.5, 1, 3]) {
        const v = [0, 1, -2];
        const x = t64(v, [3]).requiresGrad_(true);
        const y = L.vectorNorm(x, { ord });
        expectClose([y.item()], [vnorm(v, ord)], 1e-14, 0, `ord ${ord}`);
        y.backward();
        expectClose(read(x.grad!), vnormGrad(v, ord, vnorm(v, ord), 1), 1e-13, 0, `ord ${ord} gradient`);
      }
    }));

  test('ties of ±∞ share the gradient evenly (torch\'s amax / amin)', () =>
    tidy(() => {
      const x = t64([2, -2, 1, 0.5, -0.5], [5]).requiresGrad_(true);
      L.vectorNorm(x, { ord: Infinity }).backward();
      expectExact(read(x.grad!), [0.5, -0.5, 0, 0, 0], 'x gradient');
      const y = t64([2, -2, 1, 0.5, -0.5], [5]).requiresGrad_(true);
      L.vectorNorm(y, { ord: -Infinity }).backward();
      expectExact(read(y.grad!), [0, 0, 0, 0.5, -0.5], 'y gradient');
    }));

  test('NaN and ∞ elements: values as torch (ord 0 counts NaN; −2 of [∞, 1, 2] ignores the ∞; ∞-norm of NaN is NaN with gradient 0)', () =>
    tidy(() => {
      const v = (vals: number[], ord: number) => L.vectorNorm(t64(vals, [vals.length]), { ord }).item();
      expect(v([Infinity, 1], 2)).toBe(Infinity);
      expect(v([NaN, 1], 2)).toBeNaN();
      expect(v([NaN, 1], 0)).toBe(2);
      expect(v([NaN, 1], Infinity)).toBeNaN();
      expect(v([NaN, 1], -1)).toBeNaN();
      expectClose([v([Infinity, 1, 2], -2)], [1 / Math.sqrt(1.25)], 1e-15, 0, '-2 of [inf, 1, 2]');
      expect(v([Infinity, Infinity], -2)).toBe(Infinity);
      expect(v([Infinity, 1], 3)).toBe(Infinity);
      const x = t64([NaN, 1], [2]).requiresGrad_(true);
      L.vectorNorm(x, { ord: Infinity }).backward();
      expectExact(read(x.grad!), [0, 0], 'x gradient');
      const y = t64([Infinity, 1], [2]).requiresGrad_(true);
      L.vectorNorm(y, { ord: -1 }).backward();
      expectExact(read(y.grad!), [0, 1], 'y gradient');
    }));

  test('orders other than 0, 1, 2, ±∞ neither overflow nor underflow where the norm is representable (torch\'s float32 gives 0 and ∞ here)', () =>
    tidy(() => {
      expectClose(read(L.vectorNorm(tensor([1e-30, 1e-30], [2]), { ord: 3 })), [2 ** (1 / 3) * 1e-30], 1e-6, 0, 'float32 ord 3 tiny');
      expectClose(read(L.vectorNorm(tensor([1e30, 1e30], [2]), { ord: 3 })), [2 ** (1 / 3) * 1e30], 1e-6, 0, 'float32 ord 3 huge');
      expectClose(read(L.vectorNorm(t64([1e-200, 1e-200], [2]), { ord: -3 })), [2 ** (-1 / 3) * 1e-200], 1e-14, 0, 'float64 ord -3 tiny');
      expectClose(read(L.vectorNorm(t64([1e200, 3e200], [2]), { ord: -0.5 })), [(1e-100 + 3e200 ** -0.5) ** -2], 1e-14, 0, 'float64 ord -0.5');
      // A slice whose |x| are all ∞ has norm ∞ for ord < 0 too.
      expect(read(L.vectorNorm(t64([Infinity, -Infinity, 1, 2], [2, 2]), { ord: -1.5, axis: 1 }))[0]).toBe(Infinity);
    }));

  test('empty tensors: 0 where torch sums nothing; ∞ and negative orders refused over nothing (no identity), allowed over non-empty axes', () =>
    tidy(() => {
      for (const ord of [2, 1, 0, 0.5, 3]) expect(L.vectorNorm(antler.zeros([0]), { ord }).item()).toBe(0);
      expect(read(L.vectorNorm(antler.zeros([0, 3]), { ord: 3, axis: 0 }))).toEqual([0, 0, 0]);
      expect(L.vectorNorm(antler.zeros([0, 3]), { ord: -1, axis: 1 }).shape).toEqual([0]);
      expect(L.vectorNorm(antler.zeros([0, 3]), { ord: Infinity, axis: 1, keepDims: true }).shape).toEqual([0, 1]);
      expect(L.vectorNorm(antler.zeros([0, 3]), { ord: -Infinity, axis: -1 }).shape).toEqual([0]);
      expectAntlerError(() => L.vectorNorm(antler.zeros([0]), { ord: Infinity }), 'INVALID_ARGUMENT', /Infinity norm of all of an empty tensor/);
      expectAntlerError(() => L.vectorNorm(antler.zeros([0, 3]), { ord: -1 }), 'INVALID_ARGUMENT', /no identity/);
      expectAntlerError(() => L.vectorNorm(antler.zeros([0, 3]), { ord: -0.5, axis: [1, 0] }), 'INVALID_ARGUMENT', /over axis 0, which is empty/);
      expectAntlerError(() => L.vectorNorm(antler.zeros([2, 0]), { ord: Infinity, axis: [] }), 'INVALID_ARGUMENT', /empty/);
    }));

  test('axis [] reduces everything (torch\'s dim=()); a 0-d x takes axis 0 or −1 and keeps its shape with keepDims', () =>
    tidy(() => {
      const x = t64([1, -2, 3, 4, 0, -1], [2, 3]);
      expect(L.vectorNorm(x, { axis: [] }).item()).toBe(L.vectorNorm(x).item());
      expect(L.vectorNorm(x, { axis: [], keepDims: true }).shape).toEqual([1, 1]);
      const s = t64([-3], []);
      for (const axis of [0, -1]) for (const keepDims of [false, true]) {
        const y = L.vectorNorm(s, { axis, keepDims, ord: 1 });
        expect(y.shape).toEqual([]);
        expect(y.item()).toBe(3);
      }
    }));

  test('dtype computes in a wider dtype: float32 in, float64 out, equal to the norm of the float64 cast; the gradient comes back float32', () =>
    tidy(() => {
      const v = randomArray(rng, 12, -2, 2);
      const x = tensor(v, [3, 4]).requiresGrad_(true);
      for (const ord of [2, 3, -1, Infinity]) {
        const y = L.vectorNorm(x, { ord, axis: 1, dtype: 'float64' });
        expect(y.dtype).toBe('float64');
        expectExact(read(y), read(L.vectorNorm(x.detach().cast('float64'), { ord, axis: 1 })), `ord ${ord}`);
      }
      antler.sum(L.vectorNorm(x, { dtype: 'float64' })).backward();
      expect(x.grad!.dtype).toBe('float32');
      expect(L.vectorNorm(t64([1, 2], [2]), { dtype: 'float64' }).dtype).toBe('float64');
    }));

  test('int32 is refused (torch refuses integer input, also with dtype); dtype narrowing and non-float dtypes are refused; bad options', () =>
    tidy(() => {
      const i = tensor([1, 2], [2], { dtype: 'int32' });
      expectAntlerError(() => L.vectorNorm(i), 'DTYPE_MISMATCH', /x is int32; expected float32 or float64/);
      expectAntlerError(() => L.vectorNorm(i, { dtype: 'float64' }), 'DTYPE_MISMATCH');
      expectAntlerError(() => L.vectorNorm(t64([1], [1]), { dtype: 'float32' }), 'DTYPE_MISMATCH', /narrow/);
      expectAntlerError(() => L.vectorNorm(t64([1], [1]), { dtype: 'int32' as never }), 'DTYPE_MISMATCH');
      expectAntlerError(() => L.vectorNorm(t64([1], [1]), { dtype: 'float16' as never }), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.vectorNorm(t64([1], [1]), { ord: NaN }), 'INVALID_ARGUMENT', /ord must be a number/);
      expectAntlerError(() => L.vectorNorm(t64([1], [1]), { ord: 'fro' as never }), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.vectorNorm(t64([1], [1]), { axis: 1 }), 'INVALID_ARGUMENT', /out of range/);
      expectAntlerError(() => L.vectorNorm(t64([1, 2], [1, 2]), { axis: [0, -2] }), 'INVALID_ARGUMENT', /twice/);
      expectAntlerError(() => L.vectorNorm(t64([1], [1]), { dim: 0 } as never), 'INVALID_ARGUMENT');
      i.dispose();
    }));
});

// ---------------------------------------------------------------- matrixNorm

/** torch.linalg.matrix_norm from its definition, over axes (d0, d1) of shape; the batch in row-major order of the other axes. */
function matrixNormRef(x: number[], shape: number[], ord: 'fro' | number, d0: number, d1: number): number[] {
  const batchAxes = shape.map((_, i) => i).filter((i) => i !== d0 && i !== d1);
  const strides = shape.map((_, i) => size(shape.slice(i + 1)));
  const batchShape = batchAxes.map((a) => shape[a]);
  const out: number[] = [];
  for (let b = 0; b < size(batchShape); b++) {
    let rem = b, base = 0;
    for (let k = batchAxes.length - 1; k >= 0; k--) {
      base += (rem % batchShape[k]) * strides[batchAxes[k]];
      rem = Math.floor(rem / batchShape[k]);
    }
    const at = (i: number, j: number) => x[base + i * strides[d0] + j * strides[d1]];
    const m = shape[d0], n = shape[d1];
    if (ord === 'fro') {
      let s = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) s += at(i, j) ** 2;
      out.push(Math.sqrt(s));
      continue;
    }
    const colSums = Array.from({ length: n }, (_, j) => Array.from({ length: m }, (__, i) => Math.abs(at(i, j))).reduce((p, q) => p + q, 0));
    const rowSums = Array.from({ length: m }, (_, i) => Array.from({ length: n }, (__, j) => Math.abs(at(i, j))).reduce((p, q) => p + q, 0));
    const sums = Math.abs(ord) === 1 ? colSums : rowSums;
    out.push(ord > 0 ? Math.max(...sums) : Math.min(...sums));
  }
  return out;
}

describe(`linalg.matrixNorm (seed ${SEED})`, () => {
  test.each(['fro', 1, -1, Infinity, -Infinity] as const)('ord %p: values as torch.linalg.matrix_norm on random batches, axis pairs and keepDims', (ord) =>
    tidy(() => {
      for (let trial = 0; trial < 6; trial++) {
        const rank = rng.int(2, 4);
        const shape = randomShape(rng, rank);
        const x = randomArray(rng, size(shape), -2, 2);
        const d0 = rng.int(0, rank - 1);
        let d1 = rng.int(0, rank - 2);
        if (d1 >= d0) d1++;
        const keepDims = rng.next() < 0.5;
        const spell = (a: number) => (rng.next() < 0.5 ? a - rank : a);
        const options = trial === 0 ? { ord } : { ord, axis: [spell(d0), spell(d1)], keepDims };
        const [a0, a1] = trial === 0 ? [rank - 2, rank - 1] : [d0, d1];
        const y = L.matrixNorm(t64(x, shape), options);
        const ref = matrixNormRef(x, shape, ord, a0, a1);
        const keep = trial !== 0 && keepDims;
        expect(y.shape).toEqual(keep ? shape.map((d, i) => (i === a0 || i === a1 ? 1 : d)) : shape.filter((_, i) => i !== a0 && i !== a1));
        expectClose(read(y), ref, 1e-13, 1e-300, `ord ${ord}, shape [${shape}], axis [${a0}, ${a1}] (seed ${SEED})`);
        const y32 = L.matrixNorm(tensor(x, shape), options);
        expectClose(read(y32), matrixNormRef(x.map(Math.fround), shape, ord, a0, a1), 2e-6, 1e-30, `float32 ord ${ord} (seed ${SEED})`);
      }
    }));

  test("gradients as torch's: the largest column sum's sign pattern, tied sums sharing it; 'fro' of a zero matrix 0", () =>
    tidy(() => {
      const A = t64([1, -2, -1, 0], [2, 2]).requiresGrad_(true); // column sums 2 and 2: a tie
      L.matrixNorm(A, { ord: 1 }).backward();
      expectExact(read(A.grad!), [0.5, -0.5, -0.5, 0], 'A gradient');
      const B = t64([1, -2, -1, 2], [2, 2]).requiresGrad_(true); // column sums 2, 4 (torch: [[0, −1], [0, 1]])
      L.matrixNorm(B, { ord: 1 }).backward();
      expectExact(read(B.grad!), [0, -1, 0, 1], 'B gradient');
      const C = t64([1, -2, -1, 2], [2, 2]).requiresGrad_(true); // row sums 3, 3 (torch: ±0.5)
      L.matrixNorm(C, { ord: Infinity }).backward();
      expectExact(read(C.grad!), [0.5, -0.5, -0.5, 0.5], 'C gradient');
      const D = t64([3, -1, 2, 5], [2, 2]).requiresGrad_(true); // row sums 4, 7: the smallest is row 0
      L.matrixNorm(D, { ord: -Infinity }).backward();
      expectExact(read(D.grad!), [1, -1, 0, 0], 'D gradient');
      const Z = antler.zeros([2, 3], F64).requiresGrad_(true);
      L.matrixNorm(Z).backward();
      expectExact(read(Z.grad!), [0, 0, 0, 0, 0, 0], 'Z gradient');
    }));

  test('empty matrices: fro 0; 1 and ∞ refuse an empty axis to take the extreme over (torch\'s amax), not an empty sum', () =>
    tidy(() => {
      expect(L.matrixNorm(antler.zeros([0, 3])).item()).toBe(0);
      expect(L.matrixNorm(antler.zeros([0, 3]), { ord: 1 }).item()).toBe(0);
      expect(L.matrixNorm(antler.zeros([0, 3]), { ord: -1 }).item()).toBe(0);
      expect(L.matrixNorm(antler.zeros([3, 0]), { ord: Infinity }).item()).toBe(0);
      expect(L.matrixNorm(antler.zeros([0, 3, 3]), { ord: 1 }).shape).toEqual([0]);
      expectAntlerError(() => L.matrixNorm(antler.zeros([3, 0]), { ord: 1 }), 'INVALID_ARGUMENT', /axis 1, which is empty/);
      expectAntlerError(() => L.matrixNorm(antler.zeros([0, 3]), { ord: Infinity }), 'INVALID_ARGUMENT', /axis 0, which is empty/);
      expectAntlerError(() => L.matrixNorm(antler.zeros([2, 0, 3]), { ord: -Infinity }), 'INVALID_ARGUMENT', /empty/);
    }));

  test("orders 2, −2 and 'nuc' check their arguments here before the singular values are taken", () =>
    tidy(() => {
      for (const ord of [2, -2, 'nuc'] as const) {
        expectAntlerError(() => L.matrixNorm(t64([1, 2, 3], [3]), { ord }), 'SHAPE_MISMATCH', /at least 2 dims/);
        expectAntlerError(() => L.matrixNorm(tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32' }), { ord }), 'DTYPE_MISMATCH');
        expectAntlerError(() => L.matrixNorm(t64([1, 2, 3, 4], [2, 2]), { ord, dtype: 'float32' }), 'DTYPE_MISMATCH');
        expectAntlerError(() => L.matrixNorm(t64([1, 2, 3, 4], [2, 2]), { ord, axis: [0, -2] }), 'INVALID_ARGUMENT', /twice/);
        expectAntlerError(() => L.matrixNorm(t64([1, 2, 3, 4], [2, 2]), { ord, axis: [0] }), 'INVALID_ARGUMENT', /two axes/);
      }
    }));

  test('bad orders, axes, ranks and dtypes are refused as torch refuses them', () =>
    tidy(() => {
      const A = t64([1, 2, 3, 4], [2, 2]);
      for (const ord of [3, 0, 0.5, 'abc', NaN]) expectAntlerError(() => L.matrixNorm(A, { ord: ord as never }), 'INVALID_ARGUMENT', /not supported for matrices/);
      expectAntlerError(() => L.matrixNorm(A, { axis: [0, 2] }), 'INVALID_ARGUMENT', /out of range/);
      expectAntlerError(() => L.matrixNorm(A, { axis: [0, 0.5] }), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.matrixNorm(A, { axis: 0 as never }), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.matrixNorm(A, { keepDims: 'yes' as never }), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.matrixNorm(tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32' })), 'DTYPE_MISMATCH');
      expectAntlerError(() => L.matrixNorm(t64([2], [])), 'SHAPE_MISMATCH');
      A.dispose();
    }));
});

// ---------------------------------------------------------------- norm

describe(`linalg.norm (seed ${SEED})`, () => {
  test("torch.linalg.norm's dispatch: no ord → the 2-norm of the elements; numeric ord → a matrix norm for two axes or a 2-D A, else a vector norm", () =>
    tidy(() => {
      const A3 = t64(randomArray(rng, 24, -2, 2), [2, 3, 4]);
      const A2 = t64(randomArray(rng, 12, -2, 2), [3, 4]);
      const v = t64(randomArray(rng, 5, -2, 2), [5]);
      const same = (got: Tensor, want: Tensor, what: string) => {
        expect(got.shape).toEqual(want.shape);
        expectExact(read(got), read(want), what);
      };
      same(L.norm(A3), L.vectorNorm(A3), 'no ord, no axis, 3-D: all elements');
      same(L.norm(A2), L.vectorNorm(A2), 'no ord, 2-D: Frobenius');
      same(L.norm(A3, { axis: [0, 2] }), L.vectorNorm(A3, { axis: [0, 2] }), 'no ord, two axes: the 2-norm over both');
      same(L.norm(A2, { ord: 1 }), L.matrixNorm(A2, { ord: 1 }), 'ord 1 of a 2-D A: the matrix norm');
      same(L.norm(A2, { ord: -Infinity, keepDims: true }), L.matrixNorm(A2, { ord: -Infinity, keepDims: true }), '-inf of a 2-D A');
      same(L.norm(v, { ord: 3 }), L.vectorNorm(v, { ord: 3 }), 'ord 3 of a 1-D A');
      same(L.norm(A3, { ord: Infinity, axis: 1 }), L.vectorNorm(A3, { ord: Infinity, axis: 1 }), 'one axis: a vector norm');
      same(L.norm(A3, { ord: 0.5, axis: [-1] }), L.vectorNorm(A3, { ord: 0.5, axis: -1 }), 'one axis in a list');
      same(L.norm(A3, { ord: -1, axis: [2, 0] }), L.matrixNorm(A3, { ord: -1, axis: [2, 0] }), 'two axes: a matrix norm');
      same(L.norm(A3, { ord: 'fro', axis: [1, 2], keepDims: true }), L.matrixNorm(A3, { ord: 'fro', axis: [1, 2], keepDims: true }), "'fro' with two axes");
      same(L.norm(A2, { ord: 'fro' }), L.matrixNorm(A2), "'fro' of a 2-D A");
      same(L.norm(A2, { ord: 2, axis: 0, dtype: 'float64' }), L.vectorNorm(A2, { ord: 2, axis: 0 }), 'dtype passes on');
      // The matrix 1-norm is not the vector one: the dispatch matters.
      expect(L.norm(A2, { ord: 1 }).item()).not.toBeCloseTo(L.vectorNorm(A2, { ord: 1 }).item(), 6);
      expectClose(read(L.norm(A2, { ord: 1 })), matrixNormRef(read(A2), [3, 4], 1, 0, 1), 1e-14, 0, 'matrix 1-norm');
    }));

  test("torch's refusals: ord without axis needs a 1-D or 2-D A; axis names one or two axes; string orders are matrix norms", () =>
    tidy(() => {
      const z = (s: number[]) => antler.zeros(s, F64);
      expectAntlerError(() => L.norm(z([2, 3, 4]), { ord: 2 }), 'SHAPE_MISMATCH', /with ord and no axis, A must be 1-D or 2-D/);
      expectAntlerError(() => L.norm(z([]), { ord: 1 }), 'SHAPE_MISMATCH');
      expectAntlerError(() => L.norm(z([2, 3, 4]), { axis: [] }), 'INVALID_ARGUMENT', /one axis .* or two/);
      expectAntlerError(() => L.norm(z([2, 3, 4]), { axis: [0, 1, 2] }), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.norm(z([2, 3]), { axis: 'x' as never }), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.norm(z([3]), { ord: 'fro' }), 'SHAPE_MISMATCH', /linalg.norm: A must have at least 2 dims/);
      expectAntlerError(() => L.norm(z([3, 3]), { ord: 'nuc', axis: 1 }), 'INVALID_ARGUMENT', /two axes/);
      expectAntlerError(() => L.norm(z([3, 3]), { ord: 3 }), 'INVALID_ARGUMENT', /order 3 is not supported for matrices/);
      expectAntlerError(() => L.norm(z([3, 3]), { ord: true as never }), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.norm(antler.zeros([3], { dtype: 'int32' })), 'DTYPE_MISMATCH');
      // A 0-d A without ord is fine: |A|.
      tidy(() => expect(L.norm(t64([-3], [])).item()).toBe(3));
    }));
});

// ---------------------------------------------------------------- multiDot

/** Row-major a [m, k] · b [k, n]. */
function matmulRef(a: number[], b: number[], m: number, k: number, n: number): number[] {
  const out = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let q = 0; q < k; q++) out[i * n + j] += a[i * k + q] * b[q * n + j];
  return out;
}

/** The fewest scalar multiplications of a chain p[0]×p[1], p[1]×p[2], …, by trying every parenthesisation. */
function bruteForceCost(p: number[], i = 0, j = p.length - 2): number {
  if (i === j) return 0;
  let best = Infinity;
  for (let s = i; s < j; s++) best = Math.min(best, bruteForceCost(p, i, s) + bruteForceCost(p, s + 1, j) + p[i] * p[s + 1] * p[j + 1]);
  return best;
}

/** The matmuls multiDot ran (from profile) and their cost, Σ m·k·n. */
function matmulsOf(fn: () => Tensor): { shapes: number[][][]; cost: number; result: Tensor } {
  const info = antler.profile(fn);
  const mms = info.kernels.filter((k) => k.name === 'matmul');
  return { shapes: mms.map((k) => k.inputShapes), cost: mms.reduce((c, k) => c + k.inputShapes[0][0] * k.inputShapes[0][1] * k.inputShapes[1][1], 0), result: info.result };
}

describe(`linalg.multiDot (seed ${SEED})`, () => {
  test('random chains of 2 to 6: the product, in an order of the fewest multiplications (every parenthesisation tried); vectors at the ends', () =>
    tidy(() => {
      for (let trial = 0; trial < 12; trial++) {
        const k = rng.int(2, 6);
        const p = Array.from({ length: k + 1 }, () => rng.int(1, 9));
        const firstVec = rng.next() < 0.3, lastVec = rng.next() < 0.3;
        if (firstVec) p[0] = 1;
        if (lastVec) p[k] = 1;
        const values = Array.from({ length: k }, (_, i) => randomArray(rng, p[i] * p[i + 1], -1, 1));
        const ts = values.map((v, i) => t64(v, i === 0 && firstVec ? [p[1]] : i === k - 1 && lastVec ? [p[k - 1]] : [p[i], p[i + 1]]));
        const { cost, result } = matmulsOf(() => L.multiDot(ts));
        expect({ p, cost }).toEqual({ p, cost: bruteForceCost(p) });
        let acc = values[0];
        for (let i = 1; i < k; i++) acc = matmulRef(acc, values[i], p[0], p[i], p[i + 1]);
        expect(result.shape).toEqual([...(firstVec ? [] : [p[0]]), ...(lastVec ? [] : [p[k]])]);
        expectClose(read(result), acc, 1e-12, 1e-12, `chain [${p}] (seed ${SEED})`);
      }
    }));

  test("three matrices: torch's comparison, a tie going to (A·B)·C; a cheap right product first when it is cheaper", () =>
    tidy(() => {
      const m = (r: number, c: number) => t64(randomArray(rng, r * c), [r, c]);
      // [1,1]·[1,2]·[2,2]: (AB)C and A(BC) both cost 6.
      expect(matmulsOf(() => L.multiDot([m(1, 1), m(1, 2), m(2, 2)])).shapes[0]).toEqual([[1, 1], [1, 2]]);
      // [50,5]·[5,100]·[100,10]: A(BC) costs 7500, (AB)C 75000.
      expect(matmulsOf(() => L.multiDot([m(50, 5), m(5, 100), m(100, 10)])).shapes[0]).toEqual([[5, 100], [100, 10]]);
      expect(matmulsOf(() => L.multiDot([m(10, 100), m(100, 5), m(5, 50)])).shapes[0]).toEqual([[10, 100], [100, 5]]);
    }));

  test('two vectors give the 0-d dot product; int32 is exact (as mm); empty dims give zeros', () =>
    tidy(() => {
      const d = L.multiDot([t64([1, 2, 3], [3]), t64([4, 5, 6], [3])]);
      expect(d.shape).toEqual([]);
      expect(d.item()).toBe(32);
      const i = L.multiDot([tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32' }), tensor([5, 6, 7, 8], [2, 2], { dtype: 'int32' }), tensor([1, -1], [2], { dtype: 'int32' })]);
      expect(i.dtype).toBe('int32');
      expect(read(i)).toEqual([-3, -7]); // [[19, 22], [43, 50]]·[1, −1]
      const e = L.multiDot([antler.zeros([2, 0]), antler.zeros([0, 3]), antler.ones([3, 2])]);
      expect(e.shape).toEqual([2, 2]);
      expect(read(e)).toEqual([0, 0, 0, 0]);
    }));

  test("torch's refusals", () =>
    tidy(() => {
      const z = (s: number[]) => antler.zeros(s, F64);
      expectAntlerError(() => L.multiDot([z([2, 2])]), 'INVALID_ARGUMENT', /at least 2 tensors; got 1/);
      expectAntlerError(() => L.multiDot([]), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.multiDot(z([2, 2]) as never), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.multiDot([z([2, 2, 2]), z([2])]), 'SHAPE_MISMATCH', /tensors\[0\] must be 1-D or 2-D/);
      expectAntlerError(() => L.multiDot([z([2, 2]), z([2]), z([2])]), 'SHAPE_MISMATCH', /tensors\[1\] must be 2-D/);
      expectAntlerError(() => L.multiDot([z([2, 3]), z([2, 3])]), 'SHAPE_MISMATCH', /cannot be multiplied/);
      expectAntlerError(() => L.multiDot([z([2, 2]), antler.zeros([2, 2])]), 'DTYPE_MISMATCH');
      expectAntlerError(() => L.multiDot([z([2, 2]), 'x' as never]), 'INVALID_ARGUMENT');
    }));
});

// ---------------------------------------------------------------- vecdot

describe(`linalg.vecdot (seed ${SEED})`, () => {
  test('Σ x·y along the axis of the broadcast shape, against a loop', () =>
    tidy(() => {
      const cases: [number[], number[], number][] = [[[2, 3], [3], -1], [[2, 1, 4], [3, 4], -1], [[2, 1, 4], [3, 4], 1], [[3, 2], [3, 1], 0], [[4], [4], 0], [[], [], -1], [[2, 3], [1], -2]];
      for (const [sx, sy, axis] of cases) {
        const x = randomArray(rng, size(sx)), y = randomArray(rng, size(sy));
        const out = L.vecdot(t64(x, sx), t64(y, sy), { axis });
        // Broadcast both to the joint shape, then sum the products along axis.
        const shape = broadcastShape(sx, sy)!;
        const bx = read(antler.broadcastTo(t64(x, sx), shape)), by = read(antler.broadcastTo(t64(y, sy), shape));
        const ax = shape.length === 0 ? [] : [axis < 0 ? axis + shape.length : axis];
        const want = slices(shape, ax).map((idx) => idx.reduce((s, i) => s + bx[i] * by[i], 0));
        expectClose(read(out), want, 1e-13, 1e-15, `[${sx}]·[${sy}] axis ${axis}`);
      }
    }));

  test("torch's refusals: one float dtype (int32 refused), broadcastable shapes, an axis in range", () =>
    tidy(() => {
      expectAntlerError(() => L.vecdot(antler.zeros([3], F64), antler.zeros([3])), 'DTYPE_MISMATCH');
      expectAntlerError(() => L.vecdot(antler.zeros([3], { dtype: 'int32' }), antler.zeros([3], { dtype: 'int32' })), 'DTYPE_MISMATCH', /int32/);
      expectAntlerError(() => L.vecdot(antler.zeros([3]), antler.zeros([2, 4])), 'SHAPE_MISMATCH');
      expectAntlerError(() => L.vecdot(antler.zeros([3]), antler.zeros([3]), { axis: 1 }), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.vecdot(antler.zeros([3]), antler.zeros([3]), { dim: 0 } as never), 'INVALID_ARGUMENT');
    }));
});

// ---------------------------------------------------------------- matrixExp

/** exp(A) of an n×n row-major matrix in float64: Taylor series of A/2^s (‖A/2^s‖₁ ≤ 1/2), squared s times. */
function expmRef(A: number[], n: number): number[] {
  const norm1 = Math.max(0, ...Array.from({ length: n }, (_, j) => Array.from({ length: n }, (__, i) => Math.abs(A[i * n + j])).reduce((p, q) => p + q, 0)));
  const s = norm1 > 0.5 ? Math.ceil(Math.log2(norm1 / 0.5)) : 0;
  const B = A.map((v) => v / 2 ** s);
  let term: number[] = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  let sum = term.slice();
  for (let k = 1; k <= 30; k++) {
    term = matmulRef(term, B, n, n, n).map((v) => v / k);
    sum = sum.map((v, i) => v + term[i]);
  }
  for (let i = 0; i < s; i++) sum = matmulRef(sum, sum, n, n, n);
  return sum;
}

describe(`linalg.matrixExp (seed ${SEED})`, () => {
  test('random batches of sizes 1 to 6 and entries up to 50 against the Taylor reference; float32 too, to its rounding', () =>
    tidy(() => {
      for (const [n, scale] of [[1, 1], [2, 1], [3, 0.1], [4, 1], [5, 3], [6, 0.5], [3, 10], [4, 20], [3, 50]]) {
        const batch = rng.int(1, 3);
        const v = randomArray(rng, batch * n * n, -scale, scale);
        const E = L.matrixExp(t64(v, [batch, n, n]));
        expect(E.shape).toEqual([batch, n, n]);
        const got = read(E), got32 = read(L.matrixExp(tensor(v, [batch, n, n])));
        for (let b = 0; b < batch; b++) {
          const want = expmRef(v.slice(b * n * n, (b + 1) * n * n), n);
          const big = Math.max(...want.map(Math.abs));
          expectClose(got.slice(b * n * n, (b + 1) * n * n), want, 0, 1e-12 * big, `n ${n}, scale ${scale}`);
          const want32 = expmRef(v.slice(b * n * n, (b + 1) * n * n).map(Math.fround), n);
          // Computed in float64 and rounded: every entry within one float32 ulp of the rounded reference, ∞ past
          // float32's range (float32 arithmetic, deer.expm's or torch's, is 1e-7 to 8e-6 of max |E| off at scales 1 to 50).
          expectClose(got32.slice(b * n * n, (b + 1) * n * n), want32.map(Math.fround), 2 ** -23, 1e-12 * big, `float32 n ${n}, scale ${scale}`);
        }
      }
    }));

  test('exp of a diagonal is the exp of its entries; exp(A)·exp(−A) = I; a nilpotent A gives I + A; x.matrixExp() is the function', () =>
    tidy(() => {
      expectClose(read(L.matrixExp(t64([1, 0, 0, -2], [2, 2]))), [Math.E, 0, 0, Math.exp(-2)], 1e-15, 0, 'diagonal');
      const A = t64(randomArray(rng, 16, -1, 1), [4, 4]);
      expectClose(read(antler.matmul(L.matrixExp(A), L.matrixExp(antler.neg(A)))), [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], 0, 1e-13, 'exp(A) exp(-A)');
      expectExact(read(L.matrixExp(t64([0, 3, 0, 0], [2, 2]))), [1, 3, 0, 1], 'nilpotent');
      expectExact(read(A.matrixExp()), read(L.matrixExp(A)), 'method');
      // A transposed (non-contiguous in torch's terms) input.
      expectClose(read(L.matrixExp(A.transpose())), read(antler.transpose(L.matrixExp(A))), 1e-14, 1e-15, 'exp(Aᵀ) = exp(A)ᵀ');
      expect(L.matrixExp(antler.zeros([0, 0])).shape).toEqual([0, 0]);
      expect(L.matrixExp(antler.zeros([2, 0, 0])).shape).toEqual([2, 0, 0]);
    }));

  test("float32: the float64 result and gradient rounded to float32; entries past float32's range overflow alone (float32 arithmetic gives NaN)", () =>
    tidy(() => {
      const n = 4;
      const v = randomArray(rng, n * n, -5, 5).map(Math.fround);
      const G = randomArray(rng, n * n).map(Math.fround);
      const A32 = tensor(v, [n, n]).requiresGrad_(true), A64 = t64(v, [n, n]).requiresGrad_(true);
      const E32 = L.matrixExp(A32), E64 = L.matrixExp(A64);
      expect(E32.dtype).toBe('float32');
      expectExact(read(E32), read(E64).map(Math.fround), 'float32 exp(A)');
      antler.sum(antler.mul(E32, tensor(G, [n, n]))).backward();
      antler.sum(antler.mul(E64, t64(G, [n, n]))).backward();
      expect(A32.grad!.dtype).toBe('float32');
      expectExact(read(A32.grad!), read(A64.grad!).map(Math.fround), 'float32 gradient');
      expectExact(read(L.matrixExp(tensor([1000, 0, 0, -1000], [2, 2]))), [Infinity, 0, 0, 0], 'exp(diag(1000, -1000))');
    }));

  test('the gradient of ⟨G, exp(A)⟩ for a diagonal A is G ⊙ (eᵃⁱ − eᵃʲ)/(aᵢ − aⱼ) (the divided differences)', () =>
    tidy(() => {
      const a = [0.3, -0.7, 1.1];
      const A = t64([a[0], 0, 0, 0, a[1], 0, 0, 0, a[2]], [3, 3]).requiresGrad_(true);
      const G = randomArray(rng, 9);
      antler.sum(antler.mul(L.matrixExp(A), t64(G, [3, 3]))).backward();
      const dd = (i: number, j: number) => (i === j ? Math.exp(a[i]) : (Math.exp(a[i]) - Math.exp(a[j])) / (a[i] - a[j]));
      expectClose(read(A.grad!), G.map((g, k) => g * dd(Math.floor(k / 3), k % 3)), 1e-12, 1e-14, 'gradient');
    }));

  test("torch's refusals", () =>
    tidy(() => {
      expectAntlerError(() => L.matrixExp(antler.zeros([2, 2], { dtype: 'int32' })), 'DTYPE_MISMATCH', /linalg.matrixExp: A is int32/);
      expectAntlerError(() => L.matrixExp(antler.zeros([2, 3])), 'SHAPE_MISMATCH', /square/);
      expectAntlerError(() => L.matrixExp(antler.zeros([3])), 'SHAPE_MISMATCH');
      expectAntlerError(() => L.matrixExp('A' as never), 'INVALID_ARGUMENT');
    }));
});

// ---------------------------------------------------------------- vander, cross, diagonal

describe(`linalg.vander, linalg.cross, linalg.diagonal (seed ${SEED})`, () => {
  test('vander: increasing powers x⁰ … x^(N−1), N defaulting to the last axis; batches; 0-d x as [1]; int32 exact', () =>
    tidy(() => {
      for (const [shape, N] of [[[4], undefined], [[3], 6], [[2, 3], undefined], [[2, 3], 2], [[0], 3], [[2, 0], 3]] as [number[], number | undefined][]) {
        const x = randomArray(rng, size(shape), -2, 2);
        const n = N ?? shape[shape.length - 1];
        const out = L.vander(t64(x, shape), N === undefined ? undefined : { N });
        expect(out.shape).toEqual([...shape, n]);
        expectClose(read(out), x.flatMap((v) => Array.from({ length: n }, (_, k) => v ** k)), 1e-14, 1e-15, `[${shape}] N ${N}`);
      }
      expect(read(L.vander(t64([3], []), { N: 3 }))).toEqual([1, 3, 9]);
      expect(L.vander(t64([3], []), { N: 3 }).shape).toEqual([1, 3]);
      const i = L.vander(tensor([2, -3], [2], { dtype: 'int32' }), { N: 4 });
      expect(i.dtype).toBe('int32');
      expect(read(i)).toEqual([1, 2, 4, 8, 1, -3, 9, -27]);
    }));

  test("vander's gradient is Σₖ wₖ·k·x^(k−1), exact at x = 0 (running products, as torch's)", () =>
    tidy(() => {
      const xv = [0, 1.5, -0.5];
      const x = t64(xv, [3]).requiresGrad_(true);
      const w = randomArray(rng, 15);
      antler.sum(antler.mul(L.vander(x, { N: 5 }), t64(w, [3, 5]))).backward();
      expectClose(read(x.grad!), xv.map((v, i) => [1, 2, 3, 4].reduce((s, k) => s + w[i * 5 + k] * k * (k === 1 ? 1 : v ** (k - 1)), 0)), 1e-13, 1e-15, 'gradient');
    }));

  test("vander's refusals: N > 1 (torch's), an integer", () =>
    tidy(() => {
      expectAntlerError(() => L.vander(antler.zeros([])), 'INVALID_ARGUMENT', /N must be greater than 1; got 1/);
      expectAntlerError(() => L.vander(antler.zeros([0])), 'INVALID_ARGUMENT', /greater than 1/);
      expectAntlerError(() => L.vander(antler.zeros([3]), { N: 1 }), 'INVALID_ARGUMENT');
      expectAntlerError(() => L.vander(antler.zeros([3]), { N: 2.5 }), 'INVALID_ARGUMENT', /integer/);
      expectAntlerError(() => L.vander(antler.zeros([3]), { n: 3 } as never), 'INVALID_ARGUMENT');
    }));

  test('cross: the cross product along axis (default −1), torch.linalg.cross; same ranks, broadcasting', () =>
    tidy(() => {
      const a = randomArray(rng, 6), b = randomArray(rng, 3);
      const crossRef = (u: number[], v: number[]) => [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
      expectClose(read(L.cross(t64(a, [2, 3]), t64(b, [1, 3]))), [...crossRef(a.slice(0, 3), b), ...crossRef(a.slice(3), b)], 1e-15, 1e-15, 'axis -1');
      const c = randomArray(rng, 6), d = randomArray(rng, 6);
      const col = (v: number[], j: number) => [v[j], v[2 + j], v[4 + j]];
      const want = [0, 1].map((j) => crossRef(col(c, j), col(d, j)));
      expectClose(read(L.cross(t64(c, [3, 2]), t64(d, [3, 2]), { axis: 0 })), [want[0][0], want[1][0], want[0][1], want[1][1], want[0][2], want[1][2]], 1e-15, 1e-15, 'axis 0');
      expectAntlerError(() => L.cross(t64([1, 2, 3], [3]), t64([1, 2, 3, 4, 5, 6], [2, 3])), 'SHAPE_MISMATCH', /same number of dims/);
    }));

  test("diagonal: the last two axes by default (torch.linalg.diagonal's, not torch.diagonal's 0 and 1), offsets", () =>
    tidy(() => {
      const v = randomArray(rng, 24);
      const A = t64(v, [2, 3, 4]);
      const d = L.diagonal(A);
      expect(d.shape).toEqual([2, 3]);
      expectExact(read(d), [0, 1].flatMap((b) => [0, 1, 2].map((i) => v[b * 12 + i * 4 + i])), 'main');
      expectExact(read(L.diagonal(A, { offset: 1 })), [0, 1].flatMap((b) => [0, 1, 2].map((i) => v[b * 12 + i * 4 + i + 1])), 'offset 1');
      expectExact(read(L.diagonal(A, { offset: -1 })), [0, 1].flatMap((b) => [1, 2].map((i) => v[b * 12 + i * 4 + i - 1])), 'offset -1');
      expectExact(read(L.diagonal(A, { axis1: 0, axis2: 1 })), read(antler.diagonal(A)), 'axes 0 and 1');
      expectAntlerError(() => L.diagonal(t64([1, 2], [2])), 'SHAPE_MISMATCH');
    }));
});
