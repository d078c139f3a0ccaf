/**
 * lib/ops/products.ts (einsum, mm/bmm/mv and the add* forms, tensordot, kron, diagonals, trace,
 * cross, cdist, meshgrid) against float64 loops written from PyTorch's definitions, on fresh random
 * inputs: einsum by brute-force enumeration of every index assignment, on random valid equations
 * (repeated labels, ellipses that broadcast, size-1 labels, implicit outputs, 1–3 operands), with
 * its gradient enumerated the same way. The op registry (test/opinfo-products.ts) checks gradients
 * by finite differences too.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectAntlerErrorInTidy, expectClose, expectExact, expectNoLeaksInSuite, makeRng, randomArray, tensorCounts } from '../helpers';
import type { Rng } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);
const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const strides = (s: readonly number[]) => s.map((_, i) => size(s.slice(i + 1)));
const t64 = (v: number[], s: number[]) => tensor(v, s, F64);

// ---------------------------------------------------------------- einsum reference

interface Spec {
  /** Each operand's axis labels (ellipsis dims as '0', '1', … counted from the ellipsis' first dim). */
  axes: string[][];
  shapes: number[][];
  out: string[];
}

/**
 * Σ over every assignment of all labels of Π operands, each indexed at its labels (a size-1 axis at 0,
 * broadcasting); and, for weights w on the output, each operand's gradient of Σ w·out.
 */
function einsumRef(spec: Spec, values: number[][], w?: number[]): { out: number[]; shape: number[]; grads: number[][] } {
  const dim = new Map<string, number>();
  spec.axes.forEach((ls, i) => ls.forEach((l, k) => dim.set(l, Math.max(dim.get(l) ?? 1, spec.shapes[i][k]))));
  spec.axes.forEach((ls, i) => ls.forEach((l, k) => spec.shapes[i][k] === 0 && dim.set(l, 0)));
  const labels = [...dim.keys()];
  const outShape = spec.out.map((l) => dim.get(l)!);
  const out = new Array(size(outShape)).fill(0);
  const grads = values.map((v) => new Array(v.length).fill(0));
  const outSt = strides(outShape), st = spec.shapes.map(strides);
  const at = new Map<string, number>();
  const total = size(labels.map((l) => dim.get(l)!));
  for (let n = 0; n < total; n++) {
    let r = n;
    for (const l of labels) {
      at.set(l, r % dim.get(l)!);
      r = Math.floor(r / dim.get(l)!);
    }
    const idx = spec.axes.map((ls, i) => ls.reduce((o, l, k) => o + (spec.shapes[i][k] === 1 ? 0 : at.get(l)!) * st[i][k], 0));
    const factors = idx.map((j, i) => values[i][j]);
    const o = spec.out.reduce((acc, l, k) => acc + at.get(l)! * outSt[k], 0);
    out[o] += factors.reduce((a, b) => a * b, 1);
    if (w) factors.forEach((_, i) => (grads[i][idx[i]] += w[o] * factors.reduce((a, b, j) => (j === i ? a : a * b), 1)));
  }
  return { out, shape: outShape, grads };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A random valid equation with its spec: 1–3 operands, repeats, size-1 broadcasts, an ellipsis, implicit or explicit output. */
function randomEquation(r: Rng): { eq: string; spec: Spec } {
  const nOps = r.int(1, 3);
  const pool = Array.from({ length: r.int(1, 5) }, () => r.pick([...LETTERS]));
  const sizeOf = new Map(pool.map((l) => [l, r.int(1, 3)]));
  const useEll = r.next() < 0.4;
  const ellSizes = Array.from({ length: useEll ? r.int(1, 2) : 0 }, () => r.int(1, 3));
  const terms: string[] = [], axes: string[][] = [], shapes: number[][] = [];
  for (let i = 0; i < nOps; i++) {
    const ls = Array.from({ length: r.int(0, 3) }, () => r.pick(pool));
    const e = useEll && r.next() < 0.7 ? r.int(0, ellSizes.length) : -1;
    const ellAt = r.int(0, ls.length);
    const ax: string[] = [], sh: number[] = [];
    // A label broadcast from 1 in this operand (all its occurrences here, so a diagonal stays square).
    const ones = new Set(ls.filter(() => r.next() < 0.15));
    ls.forEach((l, k) => {
      if (k === ellAt && e >= 0) for (let j = 0; j < e; j++) (ax.push(String(ellSizes.length - e + j)), sh.push(r.next() < 0.2 ? 1 : ellSizes[ellSizes.length - e + j]));
      ax.push(l);
      sh.push(ones.has(l) ? 1 : sizeOf.get(l)!);
    });
    if (ellAt === ls.length && e >= 0) for (let j = 0; j < e; j++) (ax.push(String(ellSizes.length - e + j)), sh.push(r.next() < 0.2 ? 1 : ellSizes[ellSizes.length - e + j]));
    terms.push(ls.slice(0, ellAt).join('') + (e >= 0 ? '...' : '') + ls.slice(ellAt).join(''));
    axes.push(ax);
    shapes.push(sh);
  }
  const ellLabels = [...new Set(axes.flat().filter((l) => /^\d$/.test(l)))].sort();
  const letters = [...new Set(axes.flat().filter((l) => !/^\d$/.test(l)))];
  if (r.next() < 0.4) {
    // Implicit: the ellipsis dims, then the labels that appear once, sorted (uppercase first).
    const count = (l: string) => axes.flat().filter((x) => x === l).length;
    return { eq: terms.join(','), spec: { axes, shapes, out: [...ellLabels, ...letters.filter((l) => count(l) === 1).sort()] } };
  }
  const chosen = letters.filter(() => r.next() < 0.5).sort(() => r.next() - 0.5);
  const keepEll = ellLabels.length > 0 && r.next() < 0.7;
  const at = r.int(0, chosen.length);
  const out = keepEll ? [...chosen.slice(0, at), ...ellLabels, ...chosen.slice(at)] : chosen;
  const outText = keepEll ? chosen.slice(0, at).join('') + '...' + chosen.slice(at).join('') : chosen.join('');
  // Spaces are allowed anywhere but inside '...'.
  return { eq: `${terms.join(',')}->${outText}`.replace(/,/g, r.next() < 0.2 ? ' , ' : ','), spec: { axes, shapes, out } };
}

describe(`einsum (seed ${SEED})`, () => {
  test('random equations: values and gradients against brute-force enumeration (float64), float32 close', () => {
    for (let trial = 0; trial < 300; trial++) {
      const { eq, spec } = randomEquation(rng);
      const values = spec.shapes.map((s) => randomArray(rng, size(s)));
      tidy(() => {
        const xs = values.map((v, i) => tensor(v, spec.shapes[i], { ...F64, requiresGrad: true }));
        const y = antler.einsum(eq, ...xs);
        const w = randomArray(rng, y.size);
        const ref = einsumRef(spec, values, w);
        const msg = `${eq} shapes ${JSON.stringify(spec.shapes)} (seed ${SEED})`;
        expect({ msg, shape: y.shape }).toEqual({ msg, shape: ref.shape });
        expectClose(read(y), ref.out, 1e-12, 1e-12, msg);
        antler.sum(antler.mul(y, tensor(w, y.shape, F64))).backward();
        xs.forEach((x, i) => expectClose(read(x.grad!), ref.grads[i], 1e-12, 1e-12, `${msg} grad ${i}`));
        const y32 = antler.einsum(eq, ...values.map((v, i) => tensor(v, spec.shapes[i], { dtype: 'float32' })));
        expect(y32.dtype).toBe('float32');
        expectClose(read(y32), ref.out, 1e-5, 1e-5, msg);
      });
    }
  });

  const named: [string, number[][]][] = [
    ['ij,jk->ik', [[3, 4], [4, 2]]],
    ['bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]],
    ['ii', [[4, 4]]],
    ['ii->i', [[3, 3]]],
    ['i,j->ij', [[3], [4]]],
    ['...ij,...jk->...ik', [[2, 1, 3, 2], [4, 2, 3]]],
    ['ij,jk,kl->il', [[2, 3], [3, 4], [4, 2]]],
    ['ij,jk', [[2, 3], [3, 4]]],
    ['ijk->', [[2, 3, 4]]],
    ['ba,Ab', [[2, 3], [4, 2]]],
    ['iij->j', [[2, 2, 3]]],
    ['ij,ij->ij', [[2, 1], [1, 4]]],
    ['...ij->ij', [[2, 3, 4]]],
    ['i j -> j i', [[2, 3]]],
  ];
  test.each(named)('%s', (eq, shapes) => {
    const implicitOut = (axes: string[][]) => {
      const c = (l: string) => axes.flat().filter((x) => x === l).length;
      return [...new Set(axes.flat())].filter((l) => c(l) === 1).sort();
    };
    const clean = eq.replace(/ /g, '');
    const [lhs, rhs] = clean.split('->');
    const axes = lhs.split(',').map((term, i) => {
      const e = term.includes('...') ? shapes[i].length - term.replace('...', '').length : 0;
      const ell = Array.from({ length: e }, (_, j) => String(2 - e + j));
      const [pre, post] = term.includes('...') ? term.split('...') : [term, ''];
      return [...pre, ...ell, ...post];
    });
    const ellOut = [...new Set(axes.flat().filter((l) => /\d/.test(l)))].sort();
    const out = rhs === undefined ? implicitOut(axes) : rhs.includes('...') ? [...rhs.split('...')[0], ...ellOut, ...rhs.split('...')[1]] : [...rhs];
    const values = shapes.map((s) => randomArray(rng, size(s)));
    const ref = einsumRef({ axes, shapes, out }, values);
    tidy(() => {
      const y = antler.einsum(eq, ...values.map((v, i) => t64(v, shapes[i])));
      expect(y.shape).toEqual(ref.shape);
      expectClose(read(y), ref.out, 1e-12, 1e-12, `${eq} (seed ${SEED})`);
    });
  });

  test('the list form, zero-size dims, a copy for the identity, int32', () => {
    tidy(() => {
      const a = t64([1, 2, 3, 4, 5, 6], [2, 3]), b = t64([1, 0, 2, 1, 0, 1], [3, 2]);
      expectExact(read(antler.einsum('ij,jk', [a, b] as unknown as Tensor)), read(antler.matmul(a, b)));
      const same = antler.einsum('ij->ij', a);
      expect(same).not.toBe(a);
      expectExact(read(same), read(a));
      const z = antler.einsum('ij,kj->ik', antler.zeros([0, 3], F64), antler.zeros([2, 3], F64));
      expect(z.shape).toEqual([0, 2]);
      expectExact(read(antler.einsum('i,i->', antler.zeros([0], F64), antler.zeros([0], F64))), [0]);
      expectExact(read(antler.einsum('ij,jk->ik', antler.zeros([2, 0], F64), antler.zeros([0, 3], F64))), [0, 0, 0, 0, 0, 0]);
      const ai = tensor([1, 2, 3, 4, 5, 6], [2, 3], { dtype: 'int32' }), bi = tensor([7, -8, 9, 1, 2, 3], [3, 2], { dtype: 'int32' });
      const yi = antler.einsum('ij,jk->ik', ai, bi);
      expect(yi.dtype).toBe('int32');
      expectExact(read(yi), [31, 3, 85, -9]);
      expectAntlerError(() => antler.einsum('i,i->', tensor([65536, 65536], [2], { dtype: 'int32' }), tensor([65536, 1], [2], { dtype: 'int32' })), 'DTYPE_MISMATCH', /does not fit int32/);
    });
  });

  test('bad equations and operands throw AntlerError, damaging nothing', () => {
    tidy(() => {
      const x = t64([1, 2, 3, 4, 5, 6], [2, 3]), v = t64([1, 2], [2]), sq = t64([1, 2, 3, 4], [2, 2]);
      const bad: [string, () => unknown, string, RegExp][] = [
        ['repeated sizes', () => antler.einsum('ii', x), 'SHAPE_MISMATCH', /repeated in operand 0/],
        ['dtypes', () => antler.einsum('i,i', v, tensor([1, 2], [2], { dtype: 'float32' })), 'DTYPE_MISMATCH', /one dtype/],
        ['output repeat', () => antler.einsum('i->ii', v), 'INVALID_ARGUMENT', /more than once/],
        ['output unknown', () => antler.einsum('i->j', v), 'INVALID_ARGUMENT', /appears in no operand/],
        ['bad character', () => antler.einsum('i1->i', sq), 'INVALID_ARGUMENT', /'1' at index 1/],
        ['too few operands', () => antler.einsum('i,j', v), 'INVALID_ARGUMENT', /2 operand terms but 1 operand was given/],
        ['rank', () => antler.einsum('ij', v), 'SHAPE_MISMATCH', /names 2 and has no ellipsis/],
        ['rank with ellipsis', () => antler.einsum('ijk...', x), 'SHAPE_MISMATCH', /names 3/],
        ['ellipsis broadcast', () => antler.einsum('...i,...i->...', antler.zeros([2, 2, 3], F64), antler.zeros([4, 3], F64)), 'SHAPE_MISMATCH', /sizes must agree or be 1/],
        ['label sizes', () => antler.einsum('ij,jk', x, x), 'SHAPE_MISMATCH', /subscript j has size 3 .* and 2/],
        ['two arrows', () => antler.einsum('i->i->i', v), 'INVALID_ARGUMENT', /more than one '->'/],
        ['two ellipses', () => antler.einsum('...i...', v), 'INVALID_ARGUMENT', /second ellipsis/],
        ['lone dot', () => antler.einsum('i..->i', sq), 'INVALID_ARGUMENT', /not part of an ellipsis/],
        ['no operands', () => antler.einsum('i'), 'INVALID_ARGUMENT', /no operands/],
        ['not a string', () => antler.einsum(3 as unknown as string, v), 'INVALID_ARGUMENT', /must be a string/],
        ['not a tensor', () => antler.einsum('i', [1, 2] as unknown as Tensor), 'INVALID_ARGUMENT', /.*/],
      ];
      for (const [, call, code, re] of bad) expectAntlerError(call, code as 'INVALID_ARGUMENT', re);
      expectExact(read(x), [1, 2, 3, 4, 5, 6]);
    });
  });
});

// ---------------------------------------------------------------- matrix products

/** Row-major [n, k] × [k, m] in float64. */
function mmRef(a: number[], b: number[], n: number, k: number, m: number): number[] {
  const out = new Array(n * m).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let l = 0; l < k; l++) out[i * m + j] += a[i * k + l] * b[l * m + j];
  return out;
}

describe(`mm, bmm, mv and the add* forms (seed ${SEED})`, () => {
  test('values against loops, beta and alpha, input broadcast', () => {
    for (let trial = 0; trial < 10; trial++) {
      const [B, n, k, m] = [rng.int(1, 3), rng.int(0, 4), rng.int(0, 4), rng.int(1, 4)];
      const a = randomArray(rng, B * n * k), b = randomArray(rng, B * k * m), v = randomArray(rng, k), inp = randomArray(rng, m);
      const beta = rng.uniform(-2, 2), alpha = rng.uniform(-2, 2);
      tidy(() => {
        const a2 = a.slice(0, n * k), b2 = b.slice(0, k * m);
        const msg = `B ${B} n ${n} k ${k} m ${m} (seed ${SEED})`;
        expectClose(read(antler.mm(t64(a2, [n, k]), t64(b2, [k, m]))), mmRef(a2, b2, n, k, m), 1e-12, 1e-12, msg);
        expectClose(read(antler.mv(t64(a2, [n, k]), t64(v, [k]))), mmRef(a2, v, n, k, 1), 1e-12, 1e-12, msg);
        const bm = Array.from({ length: B }, (_, i) => mmRef(a.slice(i * n * k, (i + 1) * n * k), b.slice(i * k * m, (i + 1) * k * m), n, k, m));
        expectClose(read(antler.bmm(t64(a, [B, n, k]), t64(b, [B, k, m]))), bm.flat(), 1e-12, 1e-12, msg);
        const plus = (p: number[], i: (j: number) => number) => p.map((x, j) => beta * i(j) + alpha * x);
        expectClose(read(antler.addmm(t64(inp, [m]), t64(a2, [n, k]), t64(b2, [k, m]), { beta, alpha })), plus(mmRef(a2, b2, n, k, m), (j) => inp[j % m]), 1e-12, 1e-12, msg);
        expectClose(read(antler.addmv(t64([inp[0]], [1]), t64(a2, [n, k]), t64(v, [k]), { beta, alpha })), plus(mmRef(a2, v, n, k, 1), () => inp[0]), 1e-12, 1e-12, msg);
        expectClose(read(antler.baddbmm(t64(inp, [1, 1, m]), t64(a, [B, n, k]), t64(b, [B, k, m]), { beta, alpha })), plus(bm.flat(), (j) => inp[j % m]), 1e-12, 1e-12, msg);
        const summed = bm.reduce((acc, x) => acc.map((y, j) => y + x[j]), new Array(n * m).fill(0));
        expectClose(read(antler.addbmm(t64(inp, [m]), t64(a, [B, n, k]), t64(b, [B, k, m]), { beta, alpha })), plus(summed, (j) => inp[j % m]), 1e-12, 1e-12, msg);
        expectClose(read(antler.addmm(t64(inp, [m]), t64(a2, [n, k]), t64(b2, [k, m]))), plus(mmRef(a2, b2, n, k, m), (j) => inp[j % m]).map((_, j) => inp[j % m] + mmRef(a2, b2, n, k, m)[j]), 1e-12, 1e-12, msg);
      });
    }
  });

  test('beta 0 ignores input (NaN not propagated); int32', () => {
    tidy(() => {
      const m1 = t64([1, 2, 3, 4], [2, 2]), nan = t64([NaN, NaN], [2]);
      expectExact(read(antler.addmm(nan, m1, m1, { beta: 0, alpha: 2 })), [14, 20, 30, 44]);
      const i32 = tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32' });
      const p = antler.mm(i32, i32);
      expect(p.dtype).toBe('int32');
      expectExact(read(p), [7, 10, 15, 22]);
      expectExact(read(antler.addmm(i32, i32, i32, { beta: 2, alpha: 3 })), [23, 34, 51, 74]);
      expectAntlerError(() => antler.addmm(i32, i32, i32, { beta: 0.5 }), 'INVALID_ARGUMENT', /integers for int32/);
    });
  });

  test('strict ranks and shapes', () => {
    tidy(() => {
      const m = t64([1, 2, 3, 4, 5, 6], [2, 3]), b3 = antler.zeros([2, 3, 4], F64);
      expectAntlerError(() => antler.mm(m, m), 'SHAPE_MISMATCH', /cannot be multiplied \(3 ≠ 2\)/);
      expectAntlerError(() => antler.mm(b3, m), 'SHAPE_MISMATCH', /a must be 2-D/);
      expectAntlerError(() => antler.mv(m, m), 'SHAPE_MISMATCH', /v must be 1-D/);
      expectAntlerError(() => antler.bmm(b3, antler.zeros([3, 4, 2], F64)), 'SHAPE_MISMATCH', /batches of 2 and 3/);
      expectAntlerError(() => antler.bmm(m, m), 'SHAPE_MISMATCH', /3-D/);
      expectAntlerError(() => antler.addmm(t64([1, 2, 3], [3]), m, antler.zeros([3, 2], F64)), 'SHAPE_MISMATCH', /does not broadcast/);
      expectAntlerError(() => antler.mm(m, tensor([1, 2, 3], [3, 1], { dtype: 'float32' })), 'DTYPE_MISMATCH', /one dtype/);
      expectAntlerError(() => antler.addmm(m, m, antler.zeros([3, 3], F64), { gamma: 1 } as never), 'INVALID_ARGUMENT', /unknown option/);
    });
  });

  test('int32 is exact or refused: no wrap-around (kron, cross too), no float64 rounding past 2^53', () => {
    tidy(() => {
      const i32 = (v: number[], s: number[]) => tensor(v, s, { dtype: 'int32' });
      const N = 2 ** 31;
      // (N−1)(N−3) − (N−2)² = −1 exactly, but each product rounds in float64 (to N² − 4N both): 0.
      const a = i32([N - 1, N - 2], [1, 2]), b = i32([N - 3, -(N - 2)], [2, 1]);
      for (const call of [
        () => antler.mm(a, b),
        () => antler.einsum('ij,jk->ik', a, b),
        () => antler.tensordot(a, b, 1),
        () => antler.mv(a, i32([N - 3, -(N - 2)], [2])),
        () => antler.addmm(i32([0], [1]), a, b),
        () => antler.cross(i32([0, N - 1, N - 2], [3]), i32([0, N - 2, N - 3], [3])),
      ])
        expectAntlerError(call, 'DTYPE_MISMATCH', /2\^53/);
      // Below 2^53 the same kind of sum is exact: (2^20 + 1)(2^20 − 1) − 2^40 = −1.
      const c = i32([2 ** 20 + 1, 2 ** 20], [1, 2]), d = i32([2 ** 20 - 1, -(2 ** 20)], [2, 1]);
      expectExact(read(antler.mm(c, d)), [-1]);
      expectExact(read(antler.cross(i32([0, 2 ** 20 + 1, 2 ** 20], [3]), i32([0, 2 ** 20, 2 ** 20 - 1], [3]))), [-1, 0, 0]);
      // Results past int32 are refused, never wrapped (2^16 · 2^16 = 2^32 wraps to 0).
      expectAntlerError(() => antler.kron(i32([65536, 1], [2]), i32([65536], [1])), 'DTYPE_MISMATCH', /4294967296 does not fit int32/);
      expectAntlerError(() => antler.cross(i32([65536, 0, 0], [3]), i32([0, 65536, 0], [3])), 'DTYPE_MISMATCH', /4294967296 does not fit int32/);
      expectExact(read(antler.kron(i32([-3, 7], [2]), i32([46340], [1]))), [-139020, 324380]);
    });
  });

  test('int32 products: exact or refused as the exact bound Σ|a||b| decides (the quick bound and the second pass agree), random magnitudes up to 2^31', () => {
    // Reference in BigInt: every partial sum is within Σ|terms| (+ |beta|·|input|), the 2^53 refusal is decided by
    // that sum, then the result must fit int32.
    const I32 = { dtype: 'int32' as const };
    // Entries below 2^e in magnitude; half the trials put e(a) + e(b) near 53, where the bounds decide.
    const draw = (len: number, e: number): number[] =>
      Array.from({ length: len }, () => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.floor(rng.uniform(-1, 1) * 2 ** e))));
    let exact = 0, refused53 = 0, refusedFit = 0;
    // 60 trials, then more until each outcome has been drawn (seed 2446745383 drew no 2^53 refusal in 60).
    for (let trial = 0; trial < 60 || (trial < 2000 && !(exact && refused53 && refusedFit)); trial++) {
      const [n, k, m] = [rng.int(1, 3), rng.int(1, 5), rng.int(1, 3)];
      const ea = rng.int(0, 31), eb = rng.next() < 0.5 ? rng.int(0, 31) : Math.max(0, Math.min(31, rng.int(50, 55) - ea));
      const a = draw(n * k, ea), b = draw(k * m, eb), inp = draw(m, rng.int(0, 31));
      const beta = rng.pick([0, 1, -1, 3]), alpha = rng.pick([1, -1, 2]);
      const abs = (v: bigint) => (v < 0n ? -v : v);
      // Per output entry: the product's sum and Σ|a||b|; mm's want and bound from those, the add* forms' with beta · input.
      const mmWant: bigint[] = [], outs: bigint[] = [];
      let mmBound = 0n, top = 0n;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < m; j++) {
          let sum = 0n, mag = 0n;
          for (let l = 0; l < k; l++) {
            const t = BigInt(a[i * k + l]) * BigInt(b[l * m + j]);
            sum += t;
            mag += abs(t);
          }
          const x = BigInt(inp[j]);
          mmWant.push(sum);
          outs.push(BigInt(beta) * x + BigInt(alpha) * sum);
          if (mag > mmBound) mmBound = mag;
          const t = abs(BigInt(beta)) * abs(x) + abs(BigInt(alpha)) * mag;
          if (t > top) top = t;
        }
      const msg = `trial ${trial}: n ${n} k ${k} m ${m} beta ${beta} alpha ${alpha} (seed ${SEED})`;
      const check = (call: () => Tensor, want: bigint[], bound: bigint) => {
        if (bound >= 2n ** 53n) expectAntlerErrorInTidy(call, 'DTYPE_MISMATCH', /2\^53/);
        else if (want.some((v) => v < -(2n ** 31n) || v >= 2n ** 31n)) expectAntlerErrorInTidy(call, 'DTYPE_MISMATCH', /does not fit int32/);
        else tidy(() => expect([msg, read(call())]).toEqual([msg, want.map(Number)]));
      };
      const A = tensor(a, [n, k], I32), Bt = tensor(b, [k, m], I32), X = tensor(inp, [m], I32);
      if (mmBound >= 2n ** 53n) refused53++;
      else if (mmWant.some((v) => v < -(2n ** 31n) || v >= 2n ** 31n)) refusedFit++;
      else exact++;
      check(() => antler.mm(A, Bt), mmWant, mmBound);
      check(() => antler.bmm(A.reshape([1, n, k]), Bt.reshape([1, k, m])).reshape([n, m]), mmWant, mmBound);
      check(() => antler.addmm(X, A, Bt, { beta, alpha }), outs, top);
      check(() => antler.addbmm(X, A.reshape([1, n, k]), Bt.reshape([1, k, m]), { beta, alpha }), outs, top);
      if (m === 1) {
        check(() => antler.mv(A, Bt.reshape([k])), mmWant, mmBound);
        check(() => antler.addmv(X.reshape([1]).broadcastTo([n]), A, Bt.reshape([k]), { beta, alpha }), outs, top);
      }
      for (const t of [A, Bt, X]) t.dispose();
    }
    // All three outcomes drawn (magnitude exponents 0 to 31 per operand).
    expect([exact > 0, refused53 > 0, refusedFit > 0, SEED]).toEqual([true, true, true, SEED]);
  });

  test('int32 products: the quick bound below 2^52 decides alone (no second pass on |operands|); at 2^52 and up the second pass does, exactly', () => {
    const I32 = { dtype: 'int32' as const };
    tidy(() => {
      // k · max|a| · max|b| = 2 · 2^30 · 2^21 = 2^52: the second pass runs and finds Σ|a||b| = 2^52 < 2^53, so the
      // cancelling sum is exact (0), as before the quick bound.
      expectExact(read(antler.mm(tensor([2 ** 30, 2 ** 30], [1, 2], I32), tensor([2 ** 21, -(2 ** 21)], [2, 1], I32))), [0]);
      // k · max|a| · max|b| = 4 · 2^30 · 2^21 = 2^53, Σ|a||b| = 2^52 + 2^21: exact (2^21), not refused on the quick bound.
      expectExact(read(antler.mm(tensor([2 ** 30, 2 ** 30, 1, 1], [1, 4], I32), tensor([2 ** 21, -(2 ** 21), 2 ** 21, 0], [4, 1], I32))), [2 ** 21]);
      // Σ|a||b| = 2^53 exactly: refused (the second pass's verdict).
      expectAntlerError(() => antler.mm(tensor([2 ** 30, 2 ** 30], [1, 2], I32), tensor([2 ** 22, -(2 ** 22)], [2, 1], I32)), 'DTYPE_MISMATCH', /2\^53/);
    });
    // The cost: below 2^52 the op allocates its float64 copies, the float64 product and the int32 result; the second
    // pass would add |a|, |b| and their product (as many bytes again as the copies and the product).
    const [n, k, m] = [rng.int(40, 70), rng.int(40, 70), rng.int(40, 70)];
    const a = tensor(Array.from({ length: n * k }, () => rng.int(-1000, 1000)), [n, k], I32);
    const b = tensor(Array.from({ length: k * m }, () => rng.int(-1000, 1000)), [k, m], I32);
    tidy(() => {
      const before = antler.memory().devices.cpu.numBytes;
      antler.resetPeakMemory();
      antler.mm(a, b);
      const peak = antler.memory().devices.cpu.peakBytes - before, allowed = 8 * (n * k + k * m + n * m) + 4 * n * m + 1024;
      if (peak > allowed) throw new Error(`mm int32 [${n}, ${k}] × [${k}, ${m}]: peak ${peak} bytes, above ${allowed} (seed ${SEED})`);
    });
    a.dispose();
    b.dispose();
  });
});

// ---------------------------------------------------------------- tensordot, kron

describe(`tensordot and kron (seed ${SEED})`, () => {
  test('tensordot: a number of axes and axis lists, against loops', () => {
    for (let trial = 0; trial < 20; trial++) {
      const ra = rng.int(1, 4), rb = rng.int(1, 4);
      const sa = Array.from({ length: ra }, () => rng.int(1, 3));
      const nc = rng.int(0, Math.min(ra, rb));
      const da = [...Array(ra).keys()].sort(() => rng.next() - 0.5).slice(0, nc);
      const db = [...Array(rb).keys()].sort(() => rng.next() - 0.5).slice(0, nc);
      const sb = Array.from({ length: rb }, () => rng.int(1, 3));
      da.forEach((x, i) => (sb[db[i]] = rng.next() < 0.2 ? 1 : sa[x]));
      const av = randomArray(rng, size(sa)), bv = randomArray(rng, size(sb));
      const la = sa.map((_, i) => (da.includes(i) ? `c${da.indexOf(i)}` : `a${i}`)), lb = sb.map((_, i) => (db.includes(i) ? `c${db.indexOf(i)}` : `b${i}`));
      const out = [...la.filter((l) => l[0] === 'a'), ...lb.filter((l) => l[0] === 'b')];
      const ref = einsumRef({ axes: [la, lb], shapes: [sa, sb], out }, [av, bv]);
      tidy(() => {
        const y = antler.tensordot(t64(av, sa), t64(bv, sb), [da, db]);
        const msg = `${JSON.stringify([sa, sb, da, db])} (seed ${SEED})`;
        expect({ msg, s: y.shape }).toEqual({ msg, s: ref.shape });
        expectClose(read(y), ref.out, 1e-12, 1e-12, msg);
      });
    }
    tidy(() => {
      const a = randomArray(rng, 24), b = randomArray(rng, 12);
      const ref = einsumRef({ axes: [['i', 'j', 'k'], ['j', 'k', 'l']], shapes: [[2, 3, 4], [3, 4, 1]], out: ['i', 'l'] }, [a, b]);
      expectClose(read(antler.tensordot(t64(a, [2, 3, 4]), t64(b, [3, 4, 1]))), ref.out, 1e-12, 1e-12);
      expectClose(read(antler.tensordot(t64(a, [2, 3, 4]), t64(b, [3, 4, 1]), [[1, 2], [0, 1]])), ref.out, 1e-12, 1e-12);
      expect(antler.tensordot(t64(a, [2, 3, 4]), t64(b, [12]), 0).shape).toEqual([2, 3, 4, 12]);
      expectAntlerError(() => antler.tensordot(t64(a, [2, 3, 4]), t64(b, [3, 4, 1]), [[1], [1]]), 'SHAPE_MISMATCH', /contracted axes differ/);
      expectAntlerError(() => antler.tensordot(t64(a, [2, 3, 4]), t64(b, [3, 4, 1]), 4), 'INVALID_ARGUMENT', /dims must be an integer in \[0, 3\]/);
      expectAntlerError(() => antler.tensordot(t64(a, [2, 3, 4]), t64(b, [3, 4, 1]), [[0, 1], [0]]), 'INVALID_ARGUMENT', /one length/);
      expectAntlerError(() => antler.tensordot(t64(a, [2, 3, 4]), t64(b, [3, 4, 1]), [[5], [0]]), 'INVALID_ARGUMENT', /axis/);
      // A 0-d operand has no axis to pair (not a reshape error about NaN).
      expectAntlerError(() => antler.tensordot(t64([2], []), t64([3], []), [[0], [0]]), 'INVALID_ARGUMENT', /tensordot: an axis of dims\[0\] must be an integer in \[0, 0\)/);
    });
  });

  test('kron against its definition, ranks padded, int32', () => {
    for (let trial = 0; trial < 10; trial++) {
      const ra = rng.int(0, 3), rb = rng.int(0, 3);
      const sa = Array.from({ length: ra }, () => rng.int(1, 3)), sb = Array.from({ length: rb }, () => rng.int(1, 3));
      const r = Math.max(ra, rb);
      const pa = [...Array(r - ra).fill(1), ...sa], pb = [...Array(r - rb).fill(1), ...sb];
      const os = pa.map((d, i) => d * pb[i]);
      const av = randomArray(rng, size(sa)), bv = randomArray(rng, size(sb));
      const ref = new Array(size(os)).fill(0);
      const sta = strides(pa), stb = strides(pb), sto = strides(os);
      for (let i = 0; i < size(pa); i++)
        for (let j = 0; j < size(pb); j++) {
          const ia = pa.map((d, k) => Math.floor(i / sta[k]) % d), ib = pb.map((d, k) => Math.floor(j / stb[k]) % d);
          ref[ia.reduce((o, x, k) => o + (x * pb[k] + ib[k]) * sto[k], 0)] = av[i] * bv[j];
        }
      tidy(() => {
        const y = antler.kron(t64(av, sa), t64(bv, sb));
        expect(y.shape).toEqual(os);
        expectExact(read(y), ref, `${JSON.stringify([sa, sb])} (seed ${SEED})`);
      });
    }
    tidy(() => {
      const y = antler.kron(tensor([1, 2], [2], { dtype: 'int32' }), tensor([[1, 10]], [1, 2], { dtype: 'int32' }));
      expect(y.dtype).toBe('int32');
      expectExact(read(y), [1, 10, 2, 20]);
      expectAntlerError(() => antler.kron(antler.zeros([1, 1, 1, 1, 1]), antler.zeros([1])), 'INVALID_ARGUMENT', /at most rank 4/);
    });
  });
});

// ---------------------------------------------------------------- diagonals

describe(`diagonal, diagEmbed, diag, trace (seed ${SEED})`, () => {
  test('diagonal against its definition: offsets, axes, rectangles, batches', () => {
    for (let trial = 0; trial < 30; trial++) {
      const rank = rng.int(2, 4);
      const shape = Array.from({ length: rank }, () => rng.int(0, 4));
      const a1 = rng.int(0, rank - 1);
      let a2 = rng.int(0, rank - 2);
      if (a2 >= a1) a2++;
      const offset = rng.int(-4, 4);
      const x = randomArray(rng, size(shape));
      const others = shape.map((_, i) => i).filter((i) => i !== a1 && i !== a2);
      const len = Math.max(0, offset >= 0 ? Math.min(shape[a1], shape[a2] - offset) : Math.min(shape[a1] + offset, shape[a2]));
      const outShape = [...others.map((i) => shape[i]), len];
      const st = strides(shape), ost = strides(outShape);
      const ref = new Array(size(outShape)).fill(0);
      for (let o = 0; o < ref.length; o++) {
        const idx = outShape.map((d, k) => Math.floor(o / ost[k]) % d);
        const i = idx[idx.length - 1];
        const full = new Array(rank).fill(0);
        others.forEach((ax, k) => (full[ax] = idx[k]));
        full[a1] = offset >= 0 ? i : i - offset;
        full[a2] = offset >= 0 ? i + offset : i;
        ref[o] = x[full.reduce((s, v, k) => s + v * st[k], 0)];
      }
      tidy(() => {
        const msg = `${JSON.stringify({ shape, a1, a2, offset })} (seed ${SEED})`;
        const y = antler.diagonal(t64(x, shape), { offset, axis1: a1 - (rng.next() < 0.5 ? rank : 0), axis2: a2 });
        expect({ msg, s: y.shape }).toEqual({ msg, s: outShape });
        expectExact(read(y), ref, msg);
        // diagEmbed puts it back: zeros off the diagonal (a square of len + |offset| when len fills it).
        if (shape[a1] === shape[a2] && shape[a1] > 0 && len > 0 && Math.abs(offset) < shape[a1]) {
          const n = len + Math.abs(offset);
          const back = antler.diagEmbed(y, { offset, axis1: a1, axis2: a2 });
          const bs = back.shape;
          expect(bs[a1]).toBe(n);
          expect(bs[a2]).toBe(n);
          const bst = strides(bs);
          const bv = read(back);
          for (let o = 0; o < bv.length; o++) {
            const idx = bs.map((d, k) => Math.floor(o / bst[k]) % d);
            const onDiag = idx[a2] - idx[a1] === offset;
            const src = onDiag ? x[idx.reduce((s, v, k) => s + v * st[k], 0)] : 0;
            if (bv[o] !== src) throw new Error(`diagEmbed ${msg} at ${idx}: ${bv[o]} vs ${src}`);
          }
        }
      });
    }
  });

  test('diag, trace and their errors, int32', () => {
    tidy(() => {
      const v = t64([1, 2, 3], [3]);
      expectExact(read(antler.diag(v)), [1, 0, 0, 0, 2, 0, 0, 0, 3]);
      expect(antler.diag(v, 1).shape).toEqual([4, 4]);
      expectExact(read(antler.diag(v, -1)), [0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0]);
      const m = t64([1, 2, 3, 4, 5, 6], [2, 3]);
      expectExact(read(antler.diag(m)), [1, 5]);
      expectExact(read(antler.diag(m, 1)), [2, 6]);
      expectExact(read(antler.diag(m, -1)), [4]);
      expectExact(read(antler.diag(m, 5)), []);
      expectExact(read(antler.trace(m)), [6]);
      expectExact(read(m.trace()), [6]);
      expectExact(read(antler.trace(antler.zeros([0, 3], F64))), [0]);
      const ti = antler.trace(tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32' }));
      expect(ti.dtype).toBe('int32');
      expectExact(read(ti), [5]);
      expectExact(read(antler.diagEmbed(t64([1, 2, 3, 4], [2, 2]))), [1, 0, 0, 2, 3, 0, 0, 4]);
      expectExact(read(antler.diagEmbed(t64([1, 2, 3, 4], [2, 2]), { axis1: 0, axis2: 2 })), [1, 0, 3, 0, 0, 2, 0, 4]);
      expectAntlerError(() => antler.diag(antler.zeros([2, 2, 2])), 'SHAPE_MISMATCH', /1-D .* or 2-D/);
      expectAntlerError(() => antler.trace(v), 'SHAPE_MISMATCH', /2-D/);
      expectAntlerError(() => antler.diagonal(m, { axis1: 1, axis2: -1 }), 'INVALID_ARGUMENT', /both axis 1/);
      expectAntlerError(() => antler.diagonal(m, { axis1: 2 }), 'INVALID_ARGUMENT', /axis1 must be an integer in \[-2, 2\)/);
      expectAntlerError(() => antler.diagonal(v), 'SHAPE_MISMATCH', /at least 2 dims/);
      expectAntlerError(() => antler.diagEmbed(v, { offset: 0.5 }), 'INVALID_ARGUMENT', /offset must be an integer/);
    });
  });
});

// ---------------------------------------------------------------- cross, cdist, meshgrid

describe(`cross, cdist, meshgrid (seed ${SEED})`, () => {
  test('cross against the formula, along any axis, broadcasting, int32', () => {
    for (let trial = 0; trial < 10; trial++) {
      const rank = rng.int(1, 3);
      const ax = rng.int(0, rank - 1);
      const sa = Array.from({ length: rank }, (_, i) => (i === ax ? 3 : rng.int(1, 3)));
      const sb = sa.map((d, i) => (i === ax ? 3 : rng.next() < 0.3 ? 1 : d));
      if (rng.next() < 0.3) sa.forEach((d, i) => i !== ax && sb[i] !== 1 && (sa[i] = 1));
      const os = sa.map((d, i) => Math.max(d, sb[i]));
      const av = randomArray(rng, size(sa)), bv = randomArray(rng, size(sb));
      const ost = strides(os), sta = strides(sa), stb = strides(sb);
      const ref = new Array(size(os)).fill(0);
      const get = (v: number[], s: number[], st: number[], idx: number[], c: number) => v[idx.reduce((o, x, k) => o + (k === ax ? c : s[k] === 1 ? 0 : x) * st[k], 0)];
      for (let o = 0; o < ref.length; o++) {
        const idx = os.map((d, k) => Math.floor(o / ost[k]) % d);
        const c = idx[ax];
        const [i, j] = [(c + 1) % 3, (c + 2) % 3];
        ref[o] = get(av, sa, sta, idx, i) * get(bv, sb, stb, idx, j) - get(av, sa, sta, idx, j) * get(bv, sb, stb, idx, i);
      }
      tidy(() => {
        const y = antler.cross(t64(av, sa), t64(bv, sb), rng.next() < 0.5 ? ax : ax - rank);
        expect(y.shape).toEqual(os);
        expectClose(read(y), ref, 1e-14, 1e-14, `${JSON.stringify([sa, sb, ax])} (seed ${SEED})`);
      });
    }
    tidy(() => {
      const ci = antler.cross(tensor([1, 2, 3], [3], { dtype: 'int32' }), tensor([3, 4, 5], [3], { dtype: 'int32' }));
      expect(ci.dtype).toBe('int32');
      expectExact(read(ci), [-2, 4, -2]);
      expectAntlerError(() => antler.cross(antler.zeros([2, 3]), antler.zeros([3])), 'SHAPE_MISMATCH', /different ranks/);
      expectAntlerError(() => antler.cross(antler.zeros([2, 4]), antler.zeros([2, 4])), 'SHAPE_MISMATCH', /expected 3/);
      expectAntlerError(() => antler.cross(antler.zeros([2, 3]), antler.zeros([4, 3])), 'SHAPE_MISMATCH', /do not broadcast/);
    });
  });

  /** ‖x1[i] − x2[j]‖_p and its gradient to x1 (PyTorch's cdist backward: 0 at a zero distance or difference, ∞: full share at every maximum). */
  function cdistRef(a: number[], b: number[], P: number, R: number, M: number, p: number, w: number[]): { d: number[]; g: number[] } {
    const d = new Array(P * R).fill(0), g = new Array(P * M).fill(0);
    for (let i = 0; i < P; i++)
      for (let j = 0; j < R; j++) {
        const diff = Array.from({ length: M }, (_, k) => a[i * M + k] - b[j * M + k]);
        const ad = diff.map(Math.abs);
        const dist = p === 0 ? ad.filter((x) => x !== 0).length : p === Infinity ? Math.max(0, ...ad) : ad.reduce((s, x) => s + x ** p, 0) ** (1 / p);
        d[i * R + j] = dist;
        if (dist === 0 || p === 0) continue;
        for (let k = 0; k < M; k++) {
          if (diff[k] === 0) continue;
          const gk = p === Infinity ? (ad[k] === dist ? Math.sign(diff[k]) : 0) : p === 1 ? Math.sign(diff[k]) : (Math.sign(diff[k]) * ad[k] ** (p - 1)) / dist ** (p - 1);
          g[i * M + k] += w[i * R + j] * gk;
        }
      }
    return { d, g };
  }

  test.each([0, 0.5, 1, 1.5, 2, 3, Infinity])('cdist p = %s: values and gradient, with zero differences, zero distances and ties', (p) => {
    for (let trial = 0; trial < 5; trial++) {
      const [P, R, M] = [rng.int(1, 4), rng.int(1, 4), rng.int(1, 4)];
      // Values on a coarse grid: equal coordinates, equal rows and tied maxima happen.
      const a = Array.from({ length: P * M }, () => rng.int(-2, 2) / 2), b = Array.from({ length: R * M }, () => rng.int(-2, 2) / 2);
      const w = randomArray(rng, P * R);
      const ref = cdistRef(a, b, P, R, M, p, w);
      tidy(() => {
        const x1 = tensor(a, [P, M], { ...F64, requiresGrad: true });
        const y = antler.cdist(x1, t64(b, [R, M]), p);
        expect(y.shape).toEqual([P, R]);
        const msg = `${JSON.stringify({ a, b, P, R, M })} (seed ${SEED})`;
        expectClose(read(y), ref.d, 1e-12, 1e-12, msg);
        antler.sum(antler.mul(y, t64(w, [P, R]))).backward();
        expectClose(read(x1.grad!), ref.g, 1e-12, 1e-12, msg);
      });
    }
  });

  test("cdist p = 2 by matmul (PyTorch's _euclidean_dist): more than 25 rows by default, or computeMode; values, gradients both ways (0 at zero distances), batches", () => {
    for (let trial = 0; trial < 4; trial++) {
      const [P, R, M] = [rng.int(26, 40), rng.int(1, 5), rng.int(1, 6)];
      // Row 0 of both is 0: a zero distance the matmul form gives exactly (gradient 0 there, PyTorch's
      // mask). Equal nonzero rows are avoided: there the form's cancellation leaves ~1e-8, and
      // PyTorch's gradient, like this one, is then g/1e-8. Near-equal ones too (redrawn while any other pair is
      // closer than 1e-3): the form's rounding of d² (~eps) reaches the gradient (x1 − x2)/d as eps/d², which passed
      // 1e-5 for d ≲ 5e-6 (M = 1): 8 of 2 million draws of this trial failed (up to 105 times it; 4 draws a run:
      // about 1 run in 60 000); with the nearest pair 1e-3 to 2e-3 apart, at most 5e-6 of it (5390 draws).
      const closePair = (a: number[], b: number[]) =>
        Array.from({ length: P * R }, (_, e) => [Math.floor(e / R), e % R]).some(([i, j]) => (i || j) && Math.hypot(...Array.from({ length: M }, (_, k) => a[i * M + k] - b[j * M + k])) < 1e-3);
      let a: number[], b: number[];
      do {
        a = randomArray(rng, P * M);
        b = randomArray(rng, R * M);
        for (let k = 0; k < M; k++) a[k] = b[k] = 0;
      } while (closePair(a, b));
      const w = randomArray(rng, P * R);
      const ref = cdistRef(a, b, P, R, M, 2, w);
      // The gradient to x2 by symmetry: cdist(x2, x1) is the transpose.
      const wT = Array.from({ length: R * P }, (_, i) => w[(i % P) * R + Math.floor(i / P)]);
      const ref2 = cdistRef(b, a, R, P, M, 2, wT);
      const msg = `P ${P} R ${R} M ${M} (seed ${SEED})`;
      for (const mode of ['use_mm_for_euclid_dist_if_necessary', 'use_mm_for_euclid_dist'] as const)
        tidy(() => {
          const x1 = tensor(a, [P, M], { ...F64, requiresGrad: true }), x2 = tensor(b, [R, M], { ...F64, requiresGrad: true });
          const y = antler.cdist(x1, x2, 2, mode);
          // By cancellation a zero distance may come out as √(rounding) ≈ 1e-8 (PyTorch's too).
          expectClose(read(y), ref.d, 1e-7, 1e-7, msg);
          antler.sum(antler.mul(y, t64(w, [P, R]))).backward();
          expect(read(y)[0]).toBe(0);
          expectClose(read(x1.grad!), ref.g, 1e-5, 1e-5, msg);
          expectClose(read(x2.grad!), ref2.g, 1e-5, 1e-5, msg);
        });
      // The difference path still computes it exactly.
      tidy(() => expectClose(read(antler.cdist(t64(a, [P, M]), t64(b, [R, M]), 2, 'donot_use_mm_for_euclid_dist')), ref.d, 1e-12, 1e-12, msg));
    }
    tidy(() => {
      // A batch broadcast through the matmul form.
      const a = randomArray(rng, 2 * 30 * 3), b = randomArray(rng, 4 * 3);
      const y = antler.cdist(t64(a, [2, 30, 3]), t64(b, [1, 4, 3]));
      expect(y.shape).toEqual([2, 30, 4]);
      const ref = [0, 1].flatMap((k) => cdistRef(a.slice(k * 90, k * 90 + 90), b, 30, 4, 3, 2, new Array(120).fill(0)).d);
      expectClose(read(y), ref, 1e-7, 1e-7);
      const x = t64([1, 2, 3, 0.5, -1, 2], [2, 3]);
      expectAntlerError(() => antler.cdist(x, x, 2, 'bad' as never), 'INVALID_ARGUMENT', /computeMode/);
    });
  });

  test('cdist batches broadcast; errors', () => {
    tidy(() => {
      const a = randomArray(rng, 2 * 3 * 2), b = randomArray(rng, 4 * 2);
      const y = antler.cdist(t64(a, [2, 3, 2]), t64(b, [1, 4, 2]));
      expect(y.shape).toEqual([2, 3, 4]);
      const ref = [0, 1].flatMap((k) => cdistRef(a.slice(k * 6, k * 6 + 6), b, 3, 4, 2, 2, new Array(12).fill(0)).d);
      expectClose(read(y), ref, 1e-12, 1e-12);
      for (const p of [0, 1, 2, 0.5, Infinity]) {
        expectExact(read(antler.cdist(antler.zeros([2, 0], F64), antler.zeros([3, 0], F64), p)), [0, 0, 0, 0, 0, 0]);
        expect(antler.cdist(antler.zeros([0, 2], F64), antler.zeros([3, 2], F64), p).shape).toEqual([0, 3]);
      }
      expectAntlerError(() => antler.cdist(t64(a, [6, 2]), t64(b, [2, 4])), 'SHAPE_MISMATCH', /columns/);
      expectAntlerError(() => antler.cdist(t64(a, [12]), t64(b, [4, 2])), 'SHAPE_MISMATCH', /at least 2 dims/);
      expectAntlerError(() => antler.cdist(t64(a, [6, 2]), t64(b, [4, 2]), -1), 'INVALID_ARGUMENT', /p must be/);
      expectAntlerError(() => antler.cdist(tensor([1, 2], [1, 2], { dtype: 'int32' }), tensor([1, 2], [1, 2], { dtype: 'int32' })), 'DTYPE_MISMATCH', /int32/);
    });
  });

  test('meshgrid: ij and xy, 0-d inputs, gradients sum back', () => {
    tidy(() => {
      const x = tensor([1, 2, 3], [3], { ...F64, requiresGrad: true }), y = t64([10, 20], [2]), z = t64([7], []);
      const [gx, gy] = antler.meshgrid(x, y);
      expect(gx.shape).toEqual([3, 2]);
      expectExact(read(gx), [1, 1, 2, 2, 3, 3]);
      expectExact(read(gy), [10, 20, 10, 20, 10, 20]);
      const [hx, hy, hz] = antler.meshgrid(x, y, z, { indexing: 'xy' });
      expect(hx.shape).toEqual([2, 3, 1]);
      expectExact(read(hx), [1, 2, 3, 1, 2, 3]);
      expectExact(read(hy), [10, 10, 10, 20, 20, 20]);
      expectExact(read(hz), [7, 7, 7, 7, 7, 7]);
      expect(antler.meshgrid([x, y]).length).toBe(2);
      antler.sum(gx).backward();
      expectExact(read(x.grad!), [2, 2, 2]);
      expectAntlerError(() => antler.meshgrid(x, { indexing: 'yx' } as never), 'INVALID_ARGUMENT', /'ij' or 'xy'/);
      expectAntlerError(() => antler.meshgrid(antler.zeros([2, 2], F64)), 'SHAPE_MISMATCH', /0-d or 1-D/);
      expectAntlerError(() => antler.meshgrid(), 'INVALID_ARGUMENT', /at least one/);
    });
  });
});

describe('Tensor methods', () => {
  test('each method is its function with the tensor first', () => {
    tidy(() => {
      const m = t64(randomArray(rng, 6), [2, 3]), sq = t64(randomArray(rng, 4), [2, 2]), b = t64(randomArray(rng, 8), [2, 2, 2]);
      const pairs: [Tensor, Tensor][] = [
        [m.diag(1), antler.diag(m, 1)],
        [b.diagonal({ axis1: 1, axis2: 2 }), antler.diagonal(b, { axis1: 1, axis2: 2 })],
        [m.diagEmbed({ offset: -1 }), antler.diagEmbed(m, { offset: -1 })],
        [sq.trace(), antler.trace(sq)],
      ];
      for (const [x, y] of pairs) {
        expect(x.shape).toEqual(y.shape);
        expectExact(read(x), read(y));
      }
    });
  });
});
