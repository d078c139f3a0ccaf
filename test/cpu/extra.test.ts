/**
 * lib/ops/extra.ts (PyTorch's masks, norms, tests, logical ops, linspace/eye,
 * outer/dot and activations) against float64 formulas written out here, on
 * fresh random inputs, with the values PyTorch gives at kinks, zeros and
 * infinities (checked against torch when written); the op registry
 * (test/opinfo.ts) checks their gradients by finite differences.
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeRng, randomArray, randomInts, tensorCounts } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);
const F64 = { dtype: 'float64' as const };
const read = (t: Tensor) => Array.from(t.dataSync());

/** f applied to x with its gradient for Σ f(x). */
function valueAndGradOf(f: (x: Tensor) => Tensor, xs: number[]): { y: number[]; g: number[] } {
  const x = tensor(xs, [xs.length], { ...F64, requiresGrad: true });
  const y = f(x);
  antler.sum(y).backward();
  return { y: read(y), g: read(x.grad!) };
}

const softplusRef = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));
const SELU_A = 1.6732632423543772848170429916717, SELU_S = 1.0507009873554804934193349852946;
const ACTIVATIONS: [string, (x: Tensor) => Tensor, (v: number) => number, (v: number) => number][] = [
  ['logSigmoid', antler.logSigmoid, (v) => -softplusRef(-v), (v) => 1 / (1 + Math.exp(v))],
  ['softsign', antler.softsign, (v) => v / (1 + Math.abs(v)), (v) => 1 / (1 + Math.abs(v)) ** 2],
  ['mish', antler.mish, (v) => v * Math.tanh(softplusRef(v)), (v) => {
    const sp = softplusRef(v), t = Math.tanh(sp), s = 1 / (1 + Math.exp(-v));
    return t + v * (1 - t * t) * s;
  }],
  ['selu', antler.selu, (v) => SELU_S * (v > 0 ? v : SELU_A * Math.expm1(v)), (v) => SELU_S * (v > 0 ? 1 : SELU_A * Math.exp(v))],
  ['hardswish', antler.hardswish, (v) => (v <= -3 ? 0 : v >= 3 ? v : (v * (v + 3)) / 6), (v) => (v <= -3 ? 0 : v >= 3 ? 1 : (2 * v + 3) / 6)],
  ['hardsigmoid', antler.hardsigmoid, (v) => (v <= -3 ? 0 : v >= 3 ? 1 : v / 6 + 0.5), (v) => (v <= -3 || v >= 3 ? 0 : 1 / 6)],
  ['hardtanh', (x) => antler.hardtanh(x), (v) => Math.min(1, Math.max(-1, v)), (v) => (v > -1 && v < 1 ? 1 : 0)],
  ['relu6', antler.relu6, (v) => Math.min(6, Math.max(0, v)), (v) => (v > 0 && v < 6 ? 1 : 0)],
];

describe(`activations (seed ${SEED})`, () => {
  for (const [name, f, ref, dref] of ACTIVATIONS)
    test(`${name}: value and gradient against the formula, random inputs and the kinks`, () =>
      tidy(() => {
        const xs = [...randomArray(rng, 40, -8, 8), -40, 40, -3, 3, -1, 1, 0, 6];
        const { y, g } = valueAndGradOf(f, xs);
        expectClose(y, xs.map(ref), 1e-13, 1e-15, `${name} value`);
        expectClose(g, xs.map(dref), 1e-12, 1e-15, `${name} gradient`);
      }));

  test('at ±∞ and NaN: finite gradients where the function is flat, NaN in, NaN out', () =>
    tidy(() => {
      const { y, g } = valueAndGradOf(antler.hardswish, [Infinity, -Infinity]);
      expect([y, g]).toEqual([[Infinity, 0], [1, 0]]);
      expectExact(valueAndGradOf(antler.logSigmoid, [Infinity, -Infinity]).y, [0, -Infinity]);
      expectExact(valueAndGradOf(antler.logSigmoid, [Infinity, -Infinity]).g, [0, 1]);
      // The second derivative −σ(x)σ(−x), at 0 too (−1/4; a |x| kink would give 0).
      const x2 = tensor([0, 1.5, -2], [3], { ...F64, requiresGrad: true });
      const [d1] = antler.autograd.grad(antler.sum(antler.logSigmoid(x2)), [x2], { createGraph: true });
      const [d2] = antler.autograd.grad(antler.sum(d1!), [x2]);
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      expectClose(read(d2!), [0, 1.5, -2].map((v) => -sig(v) * sig(-v)), 1e-15, 0, 'logSigmoid second derivative');
      for (const [name, f] of ACTIVATIONS) expect({ name, y: read(f(tensor([NaN], [1], F64)))[0] }).toEqual({ name, y: NaN });
    }));

  test('glu and logit', () =>
    tidy(() => {
      const xs = randomArray(rng, 12, -3, 3);
      const y = read(antler.glu(tensor(xs, [2, 6], F64)));
      expectClose(y, [0, 1].flatMap((r) => [0, 1, 2].map((c) => xs[r * 6 + c] / (1 + Math.exp(-xs[r * 6 + 3 + c])))), 1e-14, 1e-16, 'glu, last axis');
      expect(antler.glu(tensor(xs, [4, 3], F64), 0).shape).toEqual([2, 3]);
      expectAntlerError(() => antler.glu(tensor(xs, [4, 3], F64)), 'SHAPE_MISMATCH', /glu: axis -1 has size 3; it must be even/);
      const ps = randomArray(rng, 8, 0.01, 0.99);
      expectClose(read(antler.logit(tensor(ps, [8], F64))), ps.map((p) => Math.log(p / (1 - p))), 1e-13, 0, 'logit');
      const eps = 0.1;
      const { y: ly, g: lg } = valueAndGradOf((x) => antler.logit(x, eps), [0.05, 0.5, 0.95]);
      expectClose(ly, [Math.log(0.1 / 0.9), 0, Math.log(0.9 / 0.1)], 1e-14, 1e-16, 'logit eps');
      expectClose(lg, [0, 4, 0], 1e-14, 0, 'logit eps gradient: 0 outside [eps, 1 − eps]');
    }));

  test('the nn modules wrap them, with PyTorch\'s options', () =>
    tidy(() => {
      const x = tensor(randomArray(rng, 8, -5, 5), [2, 4], F64);
      const pairs: [antler.nn.Module, Tensor][] = [
        [new antler.nn.LogSigmoid(), antler.logSigmoid(x)],
        [new antler.nn.Hardtanh({ minVal: -2, maxVal: 0.5 }), antler.hardtanh(x, -2, 0.5)],
        [new antler.nn.ReLU6(), antler.relu6(x)],
        [new antler.nn.Softsign(), antler.softsign(x)],
        [new antler.nn.Mish(), antler.mish(x)],
        [new antler.nn.Hardswish(), antler.hardswish(x)],
        [new antler.nn.Hardsigmoid(), antler.hardsigmoid(x)],
        [new antler.nn.SELU(), antler.selu(x)],
        [new antler.nn.GLU({ axis: 0 }), antler.glu(x, 0)],
      ];
      for (const [m, want] of pairs) expectExact(read((m as unknown as { forward(t: Tensor): Tensor }).forward(x)), read(want), m.constructor.name);
      expectAntlerError(() => new antler.nn.Hardtanh({ minVal: 1, maxVal: 0 }), 'INVALID_ARGUMENT', /minVal 1 is above maxVal 0/);
      expectAntlerError(() => new antler.nn.ReLU6({ inplace: true } as never), 'INVALID_ARGUMENT', /^ReLU6: takes no options; got 'inplace'/);
    }));
});

describe(`activation modules' defaults (seed ${SEED})`, () => {
  test("Hardtanh() clamps to [−1, 1], GLU() gates over the last axis, GELU({ approximate: 'tanh' }) is PyTorch's tanh form (formulas written out)", () =>
    tidy(() => {
      const xs = randomArray(rng, 24, -4, 4);
      const x = tensor(xs, [3, 8], F64);
      const fwd = (m: antler.nn.Module) => read((m as unknown as { forward(t: Tensor): Tensor }).forward(x));
      expectExact(fwd(new antler.nn.Hardtanh()), xs.map((v) => Math.min(1, Math.max(-1, v))), 'Hardtanh()');
      // glu over the last axis of [3, 8]: a · σ(b) with a = x[:, :4], b = x[:, 4:] → [3, 4].
      const glu: number[] = [];
      for (let r = 0; r < 3; r++) for (let j = 0; j < 4; j++) glu.push(xs[r * 8 + j] / (1 + Math.exp(-xs[r * 8 + 4 + j])));
      const g = new antler.nn.GLU();
      expect((g.forward(x) as Tensor).shape).toEqual([3, 4]);
      expectClose(fwd(g), glu, 1e-14, 1e-16, 'GLU()');
      const c = Math.sqrt(2 / Math.PI);
      const tanhForm = xs.map((v) => 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v ** 3))));
      const t = new antler.nn.GELU({ approximate: 'tanh' });
      expect(t.approximate).toBe('tanh');
      expectClose(fwd(t), tanhForm, 1e-13, 1e-15, "GELU({ approximate: 'tanh' })");
      // The exact form differs from the tanh form by up to ~5e-4 here: the default is the exact one.
      expect(new antler.nn.GELU().approximate).toBe('none');
      expect(Math.max(...fwd(new antler.nn.GELU()).map((v, i) => Math.abs(v - tanhForm[i])))).toBeGreaterThan(1e-5);
    }));
});

describe(`masks, norms, tests, creation (seed ${SEED})`, () => {
  test('maskedFill, tril and triu against loops; their gradients pass where kept', () =>
    tidy(() => {
      const xs = randomArray(rng, 2 * 3 * 4);
      const ms = Array.from({ length: 4 }, () => rng.int(0, 1));
      const x = tensor(xs, [2, 3, 4], { ...F64, requiresGrad: true });
      const y = antler.maskedFill(x, tensor(ms, [1, 4], { dtype: 'int32' }), -7);
      expectExact(read(y), xs.map((v, p) => (ms[p % 4] ? -7 : v)));
      antler.sum(y).backward();
      expectExact(read(x.grad!), xs.map((_, p) => (ms[p % 4] ? 0 : 1)));
      expectAntlerError(() => antler.maskedFill(x, antler.ones([5]), 0), 'SHAPE_MISMATCH', /mask \[5\] and x \[2, 3, 4\] do not broadcast together/);
      // A mask with more axes widens x, as torch's out-of-place masked_fill; x's gradient sums over the new axis.
      const row = tensor(xs.slice(0, 4), [4], { ...F64, requiresGrad: true });
      const m2 = randomInts(rng, 12, 0, 1);
      const wide = antler.maskedFill(row, tensor(m2, [3, 4], { dtype: 'int32' }), 5);
      expect(wide.shape).toEqual([3, 4]);
      expectExact(read(wide), m2.map((m, p) => (m ? 5 : xs[p % 4])));
      antler.sum(wide).backward();
      expectExact(read(row.grad!), [0, 1, 2, 3].map((j) => [0, 1, 2].filter((i) => !m2[i * 4 + j]).length));
      // int32 keeps its dtype: the value is cast toward zero, as PyTorch's.
      const xi = antler.maskedFill(tensor([1, 2, 3], [3], { dtype: 'int32' }), tensor([1, 0, 1], [3], { dtype: 'int32' }), -2.5);
      expect(xi.dtype).toBe('int32');
      expectExact(read(xi), [-2, 2, -2]);
      expectAntlerError(() => antler.maskedFill(tensor([1], [1], { dtype: 'int32' }), antler.ones([1]), 3e9), 'DTYPE_MISMATCH', /^maskedFill: value 3000000000 is outside int32's range/);
      for (const k of [-2, -1, 0, 1, 3]) {
        const lower = read(antler.tril(x, k)), upper = read(antler.triu(x, k));
        xs.forEach((v, p) => {
          const r = Math.floor(p / 4) % 3, c = p % 4;
          expect([lower[p], upper[p]]).toEqual([c - r <= k ? v : 0, c - r >= k ? v : 0]);
        });
      }
      expectAntlerError(() => antler.tril(tensor([1, 2], [2])), 'SHAPE_MISMATCH', /at least 2 axes/);
      expectAntlerError(() => antler.triu(x, 0.5), 'INVALID_ARGUMENT', /diagonal must be an integer/);
    }));

  test('norm for every p against loops; a zero norm has a zero gradient (PyTorch\'s)', () =>
    tidy(() => {
      const xs = randomArray(rng, 12, -2, 2);
      const rows = [0, 1, 2].map((r) => xs.slice(r * 4, r * 4 + 4));
      const refs: [number | 'fro', (v: number[]) => number][] = [
        [2, (v) => Math.sqrt(v.reduce((a, b) => a + b * b, 0))],
        ['fro', (v) => Math.sqrt(v.reduce((a, b) => a + b * b, 0))],
        [1, (v) => v.reduce((a, b) => a + Math.abs(b), 0)],
        [3, (v) => v.reduce((a, b) => a + Math.abs(b) ** 3, 0) ** (1 / 3)],
        [0.5, (v) => v.reduce((a, b) => a + Math.sqrt(Math.abs(b)), 0) ** 2],
        [Infinity, (v) => Math.max(...v.map(Math.abs))],
        [-Infinity, (v) => Math.min(...v.map(Math.abs))],
        [0, (v) => v.filter((e) => e !== 0).length],
      ];
      const x = tensor(xs, [3, 4], F64);
      for (const [p, ref] of refs) {
        expectClose(read(antler.norm(x, p, 1)), rows.map(ref), 1e-14, 0, `p = ${p}, axis 1`);
        expectClose(read(antler.norm(x, p)), [ref(xs)], 1e-14, 0, `p = ${p}, all`);
      }
      expect(antler.norm(x, 2, [0, 1], true).shape).toEqual([1, 1]);
      for (const p of [2, 3, 1]) {
        const z = tensor([0, 0, 0, 3, -4, 0], [2, 3], { ...F64, requiresGrad: true });
        antler.sum(antler.norm(z, p, 1)).backward();
        expect({ p, g: read(z.grad!).slice(0, 3) }).toEqual({ p, g: [0, 0, 0] });
      }
      // p < 1: a zero entry of a nonzero norm has gradient 0 (torch's norm_backward masks x = 0), not
      // ∞ · sgn(0) = NaN; the others (|x|/‖x‖)^(p−1)·sgn(x).
      for (const p of [0.5, 0.3]) {
        const v = [0, 1.5, 0, -2];
        const z = tensor(v, [4], { ...F64, requiresGrad: true });
        antler.norm(z, p).backward();
        const nrm = v.reduce((a, b) => a + Math.abs(b) ** p, 0) ** (1 / p);
        expectClose(read(z.grad!), v.map((e) => (e === 0 ? 0 : Math.sign(e) * (Math.abs(e) / nrm) ** (p - 1))), 1e-13, 0, `p = ${p}: gradient with zero entries`);
      }
      // p = 0 counts the nonzeros: a result that requires grad (torch's vector_norm) with a zero gradient everywhere.
      const z0 = tensor([0, 1.5, 0, 3, -4, 0], [2, 3], { ...F64, requiresGrad: true });
      const n0 = antler.norm(z0, 0, 1);
      expect(n0.requiresGrad).toBe(true);
      antler.sum(n0).backward();
      expectExact(read(z0.grad!), [0, 0, 0, 0, 0, 0], 'p = 0: gradient');
      z0.dispose();
      expectAntlerError(() => antler.norm(x, 'nuc' as never), 'INVALID_ARGUMENT', /p must be a number >= 0, Infinity, -Infinity or 'fro'/);
      // normalize and cosineSimilarity (PyTorch 2's: each norm clamped at eps).
      const a = randomArray(rng, 8), b = randomArray(rng, 8);
      const dot = (u: number[], v: number[]) => u.reduce((s, e, i) => s + e * v[i], 0);
      const n = (u: number[]) => Math.sqrt(dot(u, u));
      const A = [a.slice(0, 4), a.slice(4)], B = [b.slice(0, 4), b.slice(4)];
      // Absolute 1e-15: the dot product's rounding is up to ~4 ulp of Σ|a_i·b_i| ≤ ‖a‖‖b‖, i.e. ~5e-16 of the cosine
      // whatever its size; a row whose cosine cancels toward 0 then misses a relative 1e-14 (atol 1e-16 failed ~1 run in 5000).
      expectClose(read(antler.cosineSimilarity(tensor(a, [2, 4], F64), tensor(b, [2, 4], F64))), [0, 1].map((r) => dot(A[r], B[r]) / (n(A[r]) * n(B[r]))), 1e-14, 1e-15, 'cosineSimilarity');
      expectClose(read(antler.normalize(tensor(a, [2, 4], F64))), A.flatMap((r) => r.map((e) => e / n(r))), 1e-14, 1e-16, 'normalize');
      expectExact(read(antler.cosineSimilarity(antler.zeros([1, 3], F64), tensor([1, 2, 3], [1, 3], F64))), [0]);
    }));

  test('isNaN, isInf, isFinite, isClose, allClose, the logical ops', () =>
    tidy(() => {
      const v = tensor([1, NaN, Infinity, -Infinity, 0, -2.5], [6], F64);
      expectExact(read(antler.isNaN(v)), [0, 1, 0, 0, 0, 0]);
      expectExact(read(antler.isInf(v)), [0, 0, 1, 1, 0, 0]);
      expectExact(read(antler.isFinite(v)), [1, 0, 0, 0, 1, 1]);
      expect(antler.isNaN(tensor([1, 2], [2], { dtype: 'int32' })).dtype).toBe('int32');
      const a = tensor([1, Infinity, NaN, 1e-9, 100], [5], F64), b = tensor([1 + 1e-6, Infinity, NaN, 0, 100.0009], [5], F64);
      expectExact(read(antler.isClose(a, b)), [1, 1, 0, 1, 1]);
      expectExact(read(antler.isClose(a, b, { equalNan: true, rtol: 0, atol: 0 })), [0, 1, 1, 0, 0]);
      expect(antler.allClose(a, b)).toBe(false);
      expect(antler.allClose(a, b, { equalNan: true })).toBe(true);
      expect(antler.allClose(antler.zeros([0]), antler.zeros([0]))).toBe(true);
      // An infinite b allows nothing but the same infinity (the tolerance is for finite values).
      expectExact(read(antler.isClose(tensor([-Infinity, 1, 1e300, Infinity], [4], F64), tensor([Infinity, Infinity, Infinity, Infinity], [4], F64))), [0, 0, 0, 1]);
      expect(antler.allClose(tensor([1, 2], [2], F64), tensor([Infinity, 2], [2], F64))).toBe(false);
      expectExact(read(antler.isInf(tensor([1, -2], [2], { dtype: 'int32' }))), [0, 0]);
      expect([antler.isInf(tensor([1], [1], { dtype: 'int32' })).dtype, antler.isFinite(tensor([1], [1], { dtype: 'int32' })).dtype]).toEqual(['int32', 'int32']);
      expectAntlerError(() => antler.isClose(a, b, { rtol: -1 }), 'INVALID_ARGUMENT', /rtol and atol must be >= 0/);
      const p = tensor([0, 1, 2, 0], [4], F64), q = tensor([0, 0, -1, 3], [4], F64);
      expectExact(read(antler.logicalAnd(p, q)), [0, 0, 1, 0]);
      expectExact(read(antler.logicalOr(p, q)), [0, 1, 1, 1]);
      expectExact(read(antler.logicalXor(p, q)), [0, 1, 0, 1]);
      expectExact(read(antler.logicalNot(p)), [1, 0, 0, 1]);
    }));

  test('linspace, eye, outer, dot', () =>
    tidy(() => {
      const s = rng.uniform(-5, 5), e = rng.uniform(-5, 5), n = rng.int(2, 20);
      const lin = antler.linspace(s, e, n, F64);
      expectClose(read(lin), Array.from({ length: n }, (_, i) => s + ((e - s) * i) / (n - 1)), 1e-15, 1e-15, 'linspace');
      expect(read(lin)[n - 1]).toBe(e);
      expect(read(antler.linspace(s, e, 1, F64))).toEqual([s]);
      expect(antler.linspace(0, 1, 0).shape).toEqual([0]);
      expect(antler.linspace(0, 1, 5).dtype).toBe('float32');
      expectExact(read(antler.linspace(0, 10, 4, { dtype: 'int32' })), [0, 3, 6, 10]);
      expectExact(read(antler.eye(2, 3)), [1, 0, 0, 0, 1, 0]);
      expect(antler.eye(3, undefined, { dtype: 'int32' }).dtype).toBe('int32');
      expectAntlerError(() => antler.eye(-1), 'INVALID_ARGUMENT', /eye: n must be an integer >= 0/);
      const av = randomArray(rng, 3), bv = randomArray(rng, 4);
      expectClose(read(antler.outer(tensor(av, [3], F64), tensor(bv, [4], F64))), av.flatMap((x) => bv.map((y) => x * y)), 1e-15, 0, 'outer');
      expectClose(read(antler.dot(tensor(av, [3], F64), tensor(bv.slice(0, 3), [3], F64))), [av.reduce((acc, x, i) => acc + x * bv[i], 0)], 1e-15, 1e-16, 'dot');
    }));
});
