/**
 * sin, cos, log1p, expm1, rsqrt, sign, floor, ceil, round, leakyRelu, elu and
 * silu forward values against JavaScript's own Math on fresh random inputs
 * and the IEEE special values; sign, floor, ceil and round on int32 and their
 * zero gradients (which the finite differences of test/opinfo.ts cannot tell
 * from a missing one); and the activation modules LeakyReLU, ELU, SiLU and
 * Softplus. Gradients of the smooth ops are checked by the op registry.
 */
import * as antler from '../../lib';
import { nn, Tensor, tensor, tidy } from '../../lib';
import { erfcRef, erfRef, expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, Rng, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const SPECIALS = [NaN, Infinity, -Infinity, 0, -0];

/** torch.round: to the nearest integer, halves to the even one, the sign of x kept on a zero result. */
function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f; // exact
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return r === 0 ? (x < 0 || Object.is(x, -0) ? -0 : 0) : r;
}

/** The spacing of float32 values at |v| (the subnormal spacing below 2^-126). */
function ulp32(v: number): number {
  const a = Math.abs(v);
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** got[i] within `ulps` float32 ulps of want[i]; NaN only against NaN, infinities exactly. */
function expectUlps(got: ArrayLike<number>, want: ArrayLike<number>, ulps: number, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= ulps * ulp32(w);
    if (!ok) throw new Error(`${what}: [${i}] input gave ${g}, expected ${w} (within ${ulps} ulp; seed ${SEED})`);
  }
}

/** Fresh random inputs of several magnitudes, then the special values and `extra`. */
function inputs(r: Rng, lo: number, hi: number, extra: number[] = []): number[] {
  const xs: number[] = [];
  for (let i = 0; i < 200; i++) xs.push(r.uniform(lo, hi));
  for (let i = 0; i < 20; i++) xs.push(r.uniform(-1, 1) * 10 ** r.int(-30, 0));
  return [...xs, ...SPECIALS, ...extra];
}

const halves = (r: Rng): number[] => [
  0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, -3.5, 1e6 + 0.5, -(1e6 + 0.5), 2 ** 22 + 0.5, -(2 ** 22 + 0.5), 2 ** 52 + 1, 0.49999997, -0.49999997,
  ...Array.from({ length: 20 }, () => r.int(-100, 100) + 0.5),
  ...Array.from({ length: 10 }, () => r.int(-100, 100)),
];

type Op = (x: Tensor) => Tensor;
interface Case {
  name: string;
  op: Op;
  ref: (x: number) => number;
  /** Inputs in [lo, hi) and the special values, then extra ones. */
  lo: number;
  hi: number;
  extra?: (r: Rng) => number[];
  /** float32: the ulps allowed from fround(ref); 0 means bit-exact (with the sign of zero). */
  ulps: number;
  /** float64: the relative tolerance; 0 means bit-exact (with the sign of zero). */
  rtol: number;
}

const CASES: Case[] = [
  { name: 'sin', op: antler.sin, ref: Math.sin, lo: -20, hi: 20, extra: () => [1e5, -3e5, 1e6 + 0.25, Math.PI, -Math.PI / 2], ulps: 2, rtol: 1e-15 },
  { name: 'cos', op: antler.cos, ref: Math.cos, lo: -20, hi: 20, extra: () => [1e5, -3e5, 1e6 + 0.25, Math.PI, Math.PI / 2], ulps: 2, rtol: 1e-15 },
  { name: 'log1p', op: antler.log1p, ref: Math.log1p, lo: -1, hi: 20, extra: () => [-1, -2, 1e-300, -1e-300, 1e300], ulps: 1, rtol: 1e-15 },
  { name: 'expm1', op: antler.expm1, ref: Math.expm1, lo: -30, hi: 30, extra: () => [1e-300, -1e-300, 700, 800, -800], ulps: 1, rtol: 1e-15 },
  { name: 'rsqrt', op: antler.rsqrt, ref: (x) => 1 / Math.sqrt(x), lo: 0, hi: 100, extra: () => [-1, 1e-300, 1e300, 4], ulps: 2, rtol: 1e-15 },
  { name: 'sign', op: antler.sign, ref: Math.sign, lo: -5, hi: 5, extra: () => [1e-310, -1e-310, 1e300, -1e300], ulps: 0, rtol: 0 },
  { name: 'floor', op: antler.floor, ref: Math.floor, lo: -10, hi: 10, extra: halves, ulps: 0, rtol: 0 },
  { name: 'ceil', op: antler.ceil, ref: Math.ceil, lo: -10, hi: 10, extra: halves, ulps: 0, rtol: 0 },
  { name: 'round', op: antler.round, ref: roundHalfEven, lo: -10, hi: 10, extra: halves, ulps: 0, rtol: 0 },
  { name: 'trunc', op: antler.trunc, ref: Math.trunc, lo: -10, hi: 10, extra: halves, ulps: 0, rtol: 0 },
  { name: 'tan', op: antler.tan, ref: Math.tan, lo: -20, hi: 20, extra: () => [Math.PI / 2, 1e5, -3e5], ulps: 2, rtol: 1e-15 },
  { name: 'asin', op: antler.asin, ref: Math.asin, lo: -1, hi: 1, extra: () => [1, -1, 1.5, -2], ulps: 2, rtol: 1e-15 },
  { name: 'acos', op: antler.acos, ref: Math.acos, lo: -1, hi: 1, extra: () => [1, -1, 1.5, -2], ulps: 2, rtol: 1e-15 },
  { name: 'atan', op: antler.atan, ref: Math.atan, lo: -50, hi: 50, extra: () => [1e300, -1e300], ulps: 2, rtol: 1e-15 },
  { name: 'sinh', op: antler.sinh, ref: Math.sinh, lo: -20, hi: 20, extra: () => [800, -800, 1e-300], ulps: 3, rtol: 1e-15 },
  { name: 'cosh', op: antler.cosh, ref: Math.cosh, lo: -20, hi: 20, extra: () => [800, -800], ulps: 3, rtol: 1e-15 },
  { name: 'asinh', op: antler.asinh, ref: Math.asinh, lo: -50, hi: 50, extra: () => [1e300, -1e300, 1e-300], ulps: 3, rtol: 1e-15 },
  { name: 'acosh', op: antler.acosh, ref: Math.acosh, lo: 1, hi: 50, extra: () => [1, 0.5, 1e300], ulps: 3, rtol: 1e-15 },
  { name: 'atanh', op: antler.atanh, ref: Math.atanh, lo: -1, hi: 1, extra: () => [1, -1, 2], ulps: 3, rtol: 1e-15 },
  { name: 'log2', op: antler.log2, ref: Math.log2, lo: 0, hi: 100, extra: () => [1024, 0.5, -1, 1e-300], ulps: 2, rtol: 1e-15 },
  { name: 'log10', op: antler.log10, ref: Math.log10, lo: 0, hi: 100, extra: () => [1000, 0.1, -1, 1e300], ulps: 2, rtol: 1e-15 },
  { name: 'exp2', op: antler.exp2, ref: (x) => 2 ** x, lo: -30, hi: 30, extra: () => [10, -1074, 1024, -2000], ulps: 2, rtol: 1e-15 },
  { name: 'erf', op: antler.erf, ref: erfRef, lo: -4, hi: 4, extra: () => [6, -6, 1e-300], ulps: 1, rtol: 1e-13 },
  { name: 'erfc', op: antler.erfc, ref: (x) => erfcRef(x), lo: -3, hi: 10, extra: () => [26, 27, -6], ulps: 1, rtol: 1e-13 },
];

describe(`unary ops against JavaScript's Math (seed ${SEED})`, () => {
  for (const c of CASES)
    test(`${c.name}: float64 and float32`, () =>
      tidy(() => {
        const xs = inputs(rng, c.lo, c.hi, c.extra?.(rng) ?? []);
        const y64 = c.op(tensor(xs, [xs.length], { dtype: 'float64' }));
        expect(y64.dtype).toBe('float64');
        const want64 = xs.map(c.ref);
        if (c.rtol === 0) expectExact(y64.dataSync(), want64, `${c.name} float64 (seed ${SEED})`, true);
        else expectClose(y64.dataSync(), want64, c.rtol, 0, `${c.name} float64 (seed ${SEED})`);

        const x32 = xs.map(Math.fround);
        const y32 = c.op(tensor(x32, [x32.length], { dtype: 'float32' }));
        expect(y32.dtype).toBe('float32');
        const want32 = x32.map((x) => Math.fround(c.ref(x)));
        if (c.ulps === 0) expectExact(y32.dataSync(), want32, `${c.name} float32 (seed ${SEED})`, true);
        else expectUlps(y32.dataSync(), want32, c.ulps, `${c.name} float32`);
      }));

  test('round halves to even, as torch.round: 2.5 → 2, −0.5 → −0, 1.5 → 2', () =>
    tidy(() => {
      for (const dtype of ['float32', 'float64'] as const) {
        const y = antler.round(tensor([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, -0], [8], { dtype }));
        expectExact(y.dataSync(), [0, 2, 2, -0, -2, -2, 0, -0], `round ${dtype}`, true);
      }
    }));

  test('leakyRelu, elu and silu: float64 against their formulas, NaN propagating', () =>
    tidy(() => {
      const xs = inputs(rng, -40, 40);
      const x = tensor(xs, [xs.length], { dtype: 'float64' });
      const slope = rng.uniform(0.01, 0.5), alpha = rng.uniform(0.2, 2);
      const cases: [string, Tensor, (v: number) => number, number][] = [
        ['leakyRelu()', antler.leakyRelu(x), (v) => (v > 0 ? v : 0.01 * v), 0],
        [`leakyRelu(${slope})`, antler.leakyRelu(x, slope), (v) => (v > 0 ? v : slope * v), 0],
        ['elu()', antler.elu(x), (v) => (v > 0 ? v : Math.expm1(v)), 1e-15],
        [`elu(${alpha})`, antler.elu(x, alpha), (v) => (v > 0 ? v : alpha * Math.expm1(v)), 1e-15],
        ['silu', antler.silu(x), (v) => v / (1 + Math.exp(-v)), 1e-14],
      ];
      for (const [what, y, ref, rtol] of cases) {
        const want = xs.map(ref);
        // silu(−inf) is −inf/inf: NaN, as torch.
        if (rtol === 0) expectExact(y.dataSync(), want, what);
        else expectClose(y.dataSync(), want, rtol, 0, what);
      }
    }));

  test("relu's gradient: gy above 0 and at NaN, 0 at ±0 and below (torch's threshold_backward), both dtypes", () =>
    tidy(() => {
      for (const dtype of ['float32', 'float64'] as const) {
        const xs = [NaN, 0, -0, -1e-30, 1e-30, -3, 2.5, Infinity, -Infinity];
        const gs = xs.map(() => rng.uniform(0.5, 2));
        const x = tensor(xs, [xs.length], { dtype, requiresGrad: true });
        antler.relu(x).backward(tensor(gs, [xs.length], { dtype }));
        const want = xs.map((v, i) => (v <= 0 ? 0 : gs[i]));
        expectExact(x.grad!.dataSync(), dtype === 'float32' ? want.map(Math.fround) : want, `relu grad ${dtype}`);
      }
    }));

  test('elu and silu gradients far out on the negative side keep their relative precision', () =>
    tidy(() => {
      const xs = [-30, -50, -20.5];
      const x = tensor(xs, [3], { dtype: 'float64', requiresGrad: true });
      antler.elu(x, 1.5).sum().backward();
      expectClose(x.grad!.dataSync(), xs.map((v) => 1.5 * Math.exp(v)), 1e-14, 0, 'elu gradient');
      const z = tensor(xs, [3], { dtype: 'float64', requiresGrad: true });
      antler.silu(z).sum().backward();
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      expectClose(z.grad!.dataSync(), xs.map((v) => sig(v) * (1 + v * (1 - sig(v)))), 1e-13, 0, 'silu gradient');
    }));
});

describe(`sign, floor, ceil and round on int32; zero gradients (seed ${SEED})`, () => {
  test('int32 in, int32 out: sign is −1/0/1, floor/ceil/round are the identity', () =>
    tidy(() => {
      const xs = [...Array.from({ length: 50 }, () => rng.int(-1e9, 1e9)), 0, 1, -1, 2 ** 31 - 1, -(2 ** 31)];
      const x = tensor(xs, [xs.length], { dtype: 'int32' });
      const refs: [string, Op, (v: number) => number][] = [
        ['sign', antler.sign, Math.sign],
        ['floor', antler.floor, (v) => v],
        ['ceil', antler.ceil, (v) => v],
        ['round', antler.round, (v) => v],
      ];
      for (const [name, op, ref] of refs) {
        const y = op(x);
        expect({ name, dtype: y.dtype }).toEqual({ name, dtype: 'int32' });
        expectExact(y.dataSync(), xs.map(ref), `${name} int32`);
      }
    }));

  test('the other new ops promote int32 to float32, as torch', () =>
    tidy(() => {
      const xs = [1, 2, 3, -4];
      const x = tensor(xs, [4], { dtype: 'int32' });
      const ops: [string, Tensor, (v: number) => number][] = [
        ['sin', antler.sin(x), Math.sin],
        ['expm1', antler.expm1(x), Math.expm1],
        ['leakyRelu', antler.leakyRelu(x, 0.5), (v) => (v > 0 ? v : 0.5 * v)],
        ['elu', antler.elu(x), (v) => (v > 0 ? v : Math.expm1(v))],
        ['silu', antler.silu(x), (v) => v / (1 + Math.exp(-v))],
      ];
      for (const [name, y, ref] of ops) {
        expect({ name, dtype: y.dtype }).toEqual({ name, dtype: 'float32' });
        expectUlps(y.dataSync(), xs.map((v) => Math.fround(ref(v))), 4, name);
      }
    }));

  for (const [name, op] of [['sign', antler.sign], ['floor', antler.floor], ['ceil', antler.ceil], ['round', antler.round]] as [string, Op][])
    test(`${name}: the gradient is zero everywhere, at the jumps and for NaN or infinite upstream gradients`, () =>
      tidy(() => {
        for (const dtype of ['float32', 'float64'] as const) {
          const xs = [...Array.from({ length: 30 }, () => rng.uniform(-5, 5)), 0, -0, 0.5, -1.5, 2, NaN, Infinity, -Infinity];
          const x = tensor(xs, [xs.length], { dtype, requiresGrad: true });
          const gy = xs.map((_, i) => (i === 1 ? NaN : i === 2 ? Infinity : rng.uniform(-3, 3)));
          op(x).backward(tensor(gy, [xs.length], { dtype }));
          expect(x.grad!.dtype).toBe(dtype);
          expectExact(x.grad!.dataSync(), new Array(xs.length).fill(0), `${name} ${dtype} gradient`);
        }
      }));
});

describe(`Tensor methods (seed ${SEED})`, () => {
  test('x.sin() … x.round() are the functions', () =>
    tidy(() => {
      const x = tensor(Array.from({ length: 12 }, () => rng.uniform(0.1, 3)), [3, 4], { dtype: 'float64' });
      for (const m of ['sin', 'cos', 'log1p', 'expm1', 'rsqrt', 'sign', 'floor', 'ceil', 'round'] as const)
        expectExact(Array.from(x[m]().dataSync()), Array.from(antler[m](x).dataSync()), m);
    }));
});

describe(`activation modules (seed ${SEED})`, () => {
  test('LeakyReLU, ELU, SiLU and Softplus compute their functional ops', () =>
    tidy(() => {
      const xs = Array.from({ length: 40 }, () => rng.uniform(-25, 25));
      const x = tensor(xs, [4, 10], { dtype: 'float64' });
      const slope = rng.uniform(0.05, 0.5), alpha = rng.uniform(0.2, 2);
      const pairs: [string, nn.Module, Tensor][] = [
        ['LeakyReLU()', new nn.LeakyReLU(), antler.leakyRelu(x)],
        [`LeakyReLU({ negativeSlope: ${slope} })`, new nn.LeakyReLU({ negativeSlope: slope }), antler.leakyRelu(x, slope)],
        ['ELU()', new nn.ELU(), antler.elu(x)],
        [`ELU({ alpha: ${alpha} })`, new nn.ELU({ alpha }), antler.elu(x, alpha)],
        ['SiLU()', new nn.SiLU(), antler.silu(x)],
        ['Softplus()', new nn.Softplus(), antler.softplus(x)],
      ];
      for (const [what, m, want] of pairs) {
        const y = m.forward(x) as Tensor;
        expect(y.shape).toEqual([4, 10]);
        expectExact(y.dataSync(), want.dataSync(), what);
        expect(m.parameters()).toHaveLength(0);
      }
      expect(new nn.LeakyReLU().negativeSlope).toBe(0.01);
      expect(new nn.ELU().alpha).toBe(1);
    }));

  test('bad options and parameters throw INVALID_ARGUMENT naming the function, the option and the value', () => {
    const x = tensor([1, -2], [2]);
    try {
      expectAntlerError(() => new nn.LeakyReLU({ negativeSlope: NaN }), 'INVALID_ARGUMENT', /LeakyReLU: negativeSlope .*NaN/);
      expectAntlerError(() => new nn.LeakyReLU({ negativeSlope: '0.1' as unknown as number }), 'INVALID_ARGUMENT', /LeakyReLU: negativeSlope .*'0\.1'/);
      expectAntlerError(() => new nn.LeakyReLU({ slope: 0.1 } as unknown as { negativeSlope: number }), 'INVALID_ARGUMENT', /LeakyReLU: unknown option 'slope'/);
      expectAntlerError(() => new nn.ELU({ alpha: Infinity }), 'INVALID_ARGUMENT', /ELU: alpha .*Infinity/);
      expectAntlerError(() => new nn.ELU(3 as unknown as { alpha: number }), 'INVALID_ARGUMENT', /ELU: options/);
      expectAntlerError(() => antler.leakyRelu(x, NaN), 'INVALID_ARGUMENT', /leakyRelu: negativeSlope .*NaN/);
      expectAntlerError(() => antler.leakyRelu(x, -Infinity), 'INVALID_ARGUMENT', /leakyRelu: negativeSlope .*-Infinity/);
      expectAntlerError(() => antler.elu(x, '1' as unknown as number), 'INVALID_ARGUMENT', /elu: alpha .*'1'/);
      expectAntlerError(() => antler.elu(x, Infinity), 'INVALID_ARGUMENT', /elu: alpha .*Infinity/);
      expectAntlerError(() => antler.sin('x' as unknown as Tensor), 'INVALID_ARGUMENT', /sin/);
    } finally {
      x.dispose();
    }
  });
});
