/**
 * lib/ops/pointwise.ts's values against float64 JavaScript references on fresh
 * random inputs and the IEEE special values: the binary ops (atan2, hypot,
 * fmod, copysign, xlogy, logaddexp, logaddexp2, lerp, clampMin/Max) with
 * broadcasting and int32 promotion, the special functions (lgamma, digamma,
 * polygamma, erfinv, sinc) against references computed another way than the
 * kernels (lgamma by Stirling's series and the product recurrence, digamma at
 * exact values and through a longer recurrence, polygamma by the backward
 * recurrence, erfinv by bisection on a series erf), and the gradient
 * conventions at points finite differences cannot check. Smooth gradients are
 * checked by the op registry (test/opinfo-pointwise.ts).
 */
import * as antler from '../../lib';
import { Tensor, tensor, tidy } from '../../lib';
import { digammaRef, erfcRef, erfRef, lgammaRef, lgammaStirling, expectAntlerErrorInTidy, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, Rng, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const EULER = 0.57721566490153286061;
const read = (t: Tensor): number[] => Array.from(t.dataSync());
const uniform = (r: Rng, n: number, lo: number, hi: number) => Array.from({ length: n }, () => r.uniform(lo, hi));
const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2.5, -0.75, 1e-300, 1e300];

/** f of a (shape sa) and b (shape sb) broadcast to their common shape, elementwise. */
function broadcast2(a: number[], sa: number[], b: number[], sb: number[], f: (x: number, y: number) => number): { out: number[]; shape: number[] } {
  const rank = Math.max(sa.length, sb.length);
  const pa = [...new Array(rank - sa.length).fill(1), ...sa], pb = [...new Array(rank - sb.length).fill(1), ...sb];
  const shape = pa.map((d, i) => (d === 1 ? pb[i] : d));
  const n = shape.reduce((x, y) => x * y, 1);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let rem = i, ia = 0, ib = 0, sta = 1, stb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      ia += (pa[d] === 1 ? 0 : c) * sta;
      ib += (pb[d] === 1 ? 0 : c) * stb;
      sta *= pa[d];
      stb *= pb[d];
    }
    out.push(f(a[ia], b[ib]));
  }
  return { out, shape };
}

/** Every pair of SPECIALS, as two flat lists. */
function specialPairs(): [number[], number[]] {
  const a: number[] = [], b: number[] = [];
  for (const x of SPECIALS) for (const y of SPECIALS) (a.push(x), b.push(y));
  return [a, b];
}

const signBit = (v: number): boolean => {
  const d = new DataView(new ArrayBuffer(8));
  d.setFloat64(0, v);
  return (d.getUint8(0) & 0x80) !== 0;
};

// ---------------------------------------------------------------- references

/** ψ⁽ⁿ⁾(x), n ≥ 1, by the backward recurrence ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + m) − (−1)ⁿ n! Σₖ (x + k)^−(n+1) from x + m ≥ 60 + n, with the Hurwitz tail there. */
function polygammaRef(n: number, x: number): number {
  let fact = 1;
  for (let k = 2; k <= n; k++) fact *= k;
  const s = n + 1;
  let z = x, head = 0;
  while (z < 60 + n) (head += Math.pow(z, -s)), (z += 1);
  // ζ(s, z) ≈ z^(1−s)/(s−1) + z^(−s)/2 + s z^(−s−1)/12 − s(s+1)(s+2) z^(−s−3)/720 + s…(s+4) z^(−s−5)/30240
  const zs = Math.pow(z, -s);
  const tail = (z * zs) / (s - 1) + zs / 2 + (s * zs) / z / 12 - (s * (s + 1) * (s + 2) * zs) / z ** 3 / 720 + (s * (s + 1) * (s + 2) * (s + 3) * (s + 4) * zs) / z ** 5 / 30240;
  return (n % 2 === 1 ? 1 : -1) * fact * (head + tail);
}

/** erf⁻¹(x) by bisection on the series erf (erfcRef near ±1, where 1 − |x| is exact). */
function erfinvRef(x: number): number {
  if (Number.isNaN(x) || Math.abs(x) > 1) return NaN;
  if (Math.abs(x) === 1) return x * Infinity;
  // Tiny x: the series √π/2 (x + π x³/12 + …), whose second term is below 1e-16 of the first.
  if (Math.abs(x) < 1e-9) return (Math.sqrt(Math.PI) / 2) * x;
  const a = Math.abs(x), rest = 1 - a;
  let lo = 0, hi = 7;
  for (let i = 0; i < 200 && hi - lo > 0; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    const below = a < 0.5 ? erfRef(mid) < a : erfcRef(mid) > rest;
    if (below) lo = mid;
    else hi = mid;
  }
  return Math.sign(x) * (lo + hi) / 2;
}

// ---------------------------------------------------------------- binary ops

describe(`pointwise binary ops (seed ${SEED})`, () => {
  const binaryCases: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
    ['atan2', antler.atan2, Math.atan2],
    ['hypot', antler.hypot, Math.hypot],
    ['fmod', antler.fmod, (x, y) => x % y],
    ['copysign', antler.copysign, (x, y) => (signBit(y) ? -Math.abs(x) : Math.abs(x))],
    ['xlogy', antler.xlogy, (x, y) => (Number.isNaN(y) ? NaN : x === 0 ? 0 : x * Math.log(y))],
    ['logaddexp', antler.logaddexp, (x, y) => {
      if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
      if (x === y && !Number.isFinite(x)) return x;
      return Math.max(x, y) + Math.log1p(Math.exp(-Math.abs(x - y)));
    }],
    ['logaddexp2', antler.logaddexp2, (x, y) => {
      if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
      if (x === y && !Number.isFinite(x)) return x;
      return Math.max(x, y) + Math.log1p(Math.pow(2, -Math.abs(x - y))) / Math.LN2;
    }],
  ];

  for (const [name, op, ref] of binaryCases) {
    test(`${name}: random broadcast operands against the float64 reference`, () => {
      for (const [sa, sb] of [[[3, 4], [3, 4]], [[2, 1, 4], [3, 1]], [[4], [5, 4]], [[], [2, 3]], [[0, 3], [3]]] as number[][][]) {
        const na = sa.reduce((x, y) => x * y, 1), nb = sb.reduce((x, y) => x * y, 1);
        const a = uniform(rng, na, -5, 5), b = uniform(rng, nb, -5, 5);
        const want = broadcast2(a, sa, b, sb, ref);
        tidy(() => {
          const out = op(tensor(a, sa, F64), tensor(b, sb, F64));
          expect(out.shape).toEqual(want.shape);
          expect(out.dtype).toBe('float64');
          // atol: a result near 0 from operands of size ~5 (logaddexp's max + log1p cancelling) keeps their rounding.
          expectClose(read(out), want.out, 2e-15, 2e-15, `${name} [${sa}] with [${sb}] (seed ${SEED})`);
          // float32: the double result rounded once.
          const a32 = a.map(Math.fround), b32 = b.map(Math.fround);
          const out32 = op(tensor(a32, sa), tensor(b32, sb));
          expect(out32.dtype).toBe('float32');
          expectClose(read(out32), broadcast2(a32, sa, b32, sb, ref).out.map(Math.fround), 1.2e-7, 1e-15, `${name} float32`);
        });
      }
    });

    test(`${name}: the IEEE special values (NaN, ±inf, ±0, tiny, huge)`, () => {
      const [a, b] = specialPairs();
      tidy(() => {
        const got = read(op(tensor(a, [a.length], F64), tensor(b, [b.length], F64)));
        const want = a.map((x, i) => ref(x, b[i]));
        expectClose(got, want, 2e-15, 0, `${name} specials`);
        // Signed zeros too (atan2(±0, −0) = ±π, copysign's −0, fmod(−0, 1) = −0).
        got.forEach((g, i) => {
          if (want[i] === 0 && !Object.is(g, want[i])) throw new Error(`${name}(${a[i]}, ${b[i]}): got ${Object.is(g, -0) ? '-0' : g}, expected ${Object.is(want[i], -0) ? '-0' : want[i]}`);
        });
      });
    });
  }

  test('numbers as operands, and int32 operands promote to float32', () => {
    tidy(() => {
      const x = [0.5, 2, 3], xi = [1, 2, 3];
      expectClose(read(antler.atan2(1, tensor(x, [3], F64))), x.map((v) => Math.atan2(1, v)), 1e-15, 0, 'atan2(number, x)');
      expectClose(read(antler.xlogy(tensor(x, [3], F64), 2)), x.map((v) => v * Math.log(2)), 1e-15, 0, 'xlogy(x, number)');
      expectClose(read(antler.xlogy(0, tensor([NaN, -1, 0], [3], F64))), [NaN, 0, 0], 0, 0, 'xlogy(0, y)');
      for (const op of [antler.atan2, antler.hypot, antler.copysign, antler.xlogy, antler.logaddexp, antler.logaddexp2]) {
        const out = op(tensor(xi, [3], { dtype: 'int32' }), tensor(xi, [3], { dtype: 'int32' }));
        expect(out.dtype).toBe('float32');
        expect(op(tensor(xi, [3], { dtype: 'int32' }), tensor(x, [3], F64)).dtype).toBe('float64');
      }
      expectClose(read(antler.hypot(tensor([3, 1e300], [2], F64), tensor([4, 1e300], [2], F64))), [5, Math.SQRT2 * 1e300], 1e-15, 0, 'hypot without overflow');
      expectClose(read(antler.logaddexp(tensor([1000, -1000], [2], F64), tensor([1000, -1000], [2], F64))), [1000 + Math.LN2, -1000 + Math.LN2], 1e-15, 0, 'logaddexp without overflow');
    });
  });

  test('broadcast operands are read in place: the peak is the output alone (no operand expanded to its shape)', () => {
    // A number operand is one 0-d value and a [n, 1] × [1, m] pair is read through its strides: before the
    // kernels broadcast, each was first copied to the output's shape (twice the output's bytes at the peak).
    const [n, m] = [rng.int(150, 260), rng.int(150, 260)];
    const x64 = tensor(uniform(rng, n * m, -3, 3), [n, m], F64), x32 = x64.cast('float32');
    const col = tensor(uniform(rng, n, -3, 3), [n, 1], F64), row = tensor(uniform(rng, m, -3, 3), [1, m], F64);
    const ints = tensor(Array.from({ length: n * m }, (_, i) => i - 500), [n, m], { dtype: 'int32' });
    // [what, the op, the bytes it may allocate: its output (fmod's int32: its float64 copies too) and 0-d constants]
    const cases: [string, () => Tensor, number][] = [
      ['atan2(x, number)', () => antler.atan2(x64, 0.5), n * m * 8],
      ['atan2(number, x) float32', () => antler.atan2(0.5, x32), n * m * 4],
      ['hypot([n, 1], [1, m])', () => antler.hypot(col, row), n * m * 8],
      ['logaddexp([n, m], [1, m])', () => antler.logaddexp(x64, row), n * m * 8],
      ['xlogy([n, 1], x) float32 with float64', () => antler.xlogy(col, x32), n * m * 8 + n * m * 8],
      ['fmod int32 with a number', () => antler.fmod(ints, 7), n * m * (8 + 8 + 4)],
    ];
    for (const [what, f, bytes] of cases)
      tidy(() => {
        const before = antler.memory().devices.cpu.numBytes;
        antler.resetPeakMemory();
        f();
        const peak = antler.memory().devices.cpu.peakBytes - before;
        if (peak > bytes + 256) throw new Error(`${what}: peak ${peak} bytes above the output's ${bytes} (n ${n}, m ${m}, seed ${SEED})`);
      });
    for (const t of [x64, x32, col, row, ints]) t.dispose();
  });

  test('gradients of broadcast operands (and of a number\'s partner) sum over the broadcast axes', () => {
    tidy(() => {
      const [n, m] = [rng.int(2, 5), rng.int(2, 5)];
      const c = uniform(rng, n, 0.5, 2), r = uniform(rng, m, 0.5, 2);
      const C = tensor(c, [n, 1], { dtype: 'float64', requiresGrad: true }), R = tensor(r, [m], { dtype: 'float64', requiresGrad: true });
      antler.sum(antler.atan2(C, R)).backward();
      // ∂/∂c Σⱼ atan2(c, rⱼ) = Σⱼ rⱼ / (c² + rⱼ²); ∂/∂rⱼ = Σᵢ −cᵢ / (cᵢ² + rⱼ²).
      expect(C.grad!.shape).toEqual([n, 1]);
      expect(R.grad!.shape).toEqual([m]);
      expectClose(read(C.grad!), c.map((ci) => r.reduce((s, rj) => s + rj / (ci * ci + rj * rj), 0)), 1e-14, 0, 'atan2 broadcast ∂y');
      expectClose(read(R.grad!), r.map((rj) => c.reduce((s, ci) => s - ci / (ci * ci + rj * rj), 0)), 1e-14, 0, 'atan2 broadcast ∂x');
      const X = tensor(c, [n], { dtype: 'float64', requiresGrad: true });
      antler.sum(antler.hypot(3, X)).backward();
      expectClose(read(X.grad!), c.map((v) => v / Math.hypot(3, v)), 1e-15, 0, 'hypot(number, x) ∂x');
      // A float32 operand with a float64 one: the cast's gradient too.
      const F = tensor(c.map(Math.fround), [n, 1], { requiresGrad: true });
      antler.sum(antler.logaddexp(F, tensor(r, [m], F64))).backward();
      expect(F.grad!.dtype).toBe('float32');
      expectClose(read(F.grad!), c.map((ci) => r.reduce((s, rj) => s + 1 / (1 + Math.exp(rj - Math.fround(ci))), 0)), 1e-6, 0, 'logaddexp mixed dtypes ∂a');
    });
  });

  test('fmod: int32 stays int32 (exact, sign of the dividend); a zero int32 divisor throws', () => {
    tidy(() => {
      const a = Array.from({ length: 50 }, () => rng.int(-1000, 1000)), b = Array.from({ length: 50 }, () => rng.int(1, 30) * (rng.next() < 0.5 ? -1 : 1));
      const out = antler.fmod(tensor(a, [50], { dtype: 'int32' }), tensor(b, [50], { dtype: 'int32' }));
      expect(out.dtype).toBe('int32');
      expectExact(read(out), a.map((v, i) => v % b[i] + 0), 'int32 fmod');
      expectExact(read(antler.fmod(tensor([2147483647, -2147483648], [2], { dtype: 'int32' }), 7)), [2147483647 % 7, -2147483648 % 7], 'extremes');
      expect(antler.fmod(tensor([5], [1], { dtype: 'int32' }), 1.5).dtype).toBe('float32');
    });
    expectAntlerErrorInTidy(() => antler.fmod(tensor([5, 6], [2], { dtype: 'int32' }), tensor([1, 0], [2], { dtype: 'int32' })), 'INVALID_ARGUMENT', /division by zero/);
    expectAntlerErrorInTidy(() => antler.fmod(tensor([5], [1], { dtype: 'int32' }), 0), 'INVALID_ARGUMENT', /division by zero/);
  });

  test('lerp: torch\'s two-sided formula, number and tensor weights, broadcasting, exact ends', () => {
    const ref = (s: number, e: number, w: number) => (Math.abs(w) < 0.5 ? s + w * (e - s) : e - (e - s) * (1 - w));
    tidy(() => {
      const s = uniform(rng, 6, -3, 3), e = uniform(rng, 3, -3, 3), w = uniform(rng, 6, -1, 2);
      const S = tensor(s, [2, 3], F64), E = tensor(e, [3], F64);
      const got = read(antler.lerp(S, E, tensor(w, [2, 3], F64)));
      expectExact(got, s.map((v, i) => ref(v, e[i % 3], w[i])), 'tensor weight');
      for (const wn of [0, 0.25, 0.5, 1, 1.75]) expectExact(read(antler.lerp(S, E, wn)), s.map((v, i) => ref(v, e[i % 3], wn)), `weight ${wn}`);
      expectExact(read(antler.lerp(S, E, 1)), s.map((_, i) => e[i % 3]), 'weight 1 gives end');
      expect(antler.lerp(tensor([1, 2], [2], { dtype: 'int32' }), tensor([3, 4], [2]), 0.5).dtype).toBe('float32');
      expect(S.lerp(E, 0.5).shape).toEqual([2, 3]);
    });
  });

  test('clampMin / clampMax: tensor and number bounds, NaN, broadcasting, torch.clamp\'s gradient at ties and NaN', () => {
    tidy(() => {
      const x = [NaN, 1, 3, 2, -Infinity, 0.5], m = [2, 2, 2, 2, 0, NaN];
      expectClose(read(antler.clampMin(tensor(x, [6], F64), tensor(m, [6], F64))), [NaN, 2, 3, 2, 0, NaN], 0, 0, 'clampMin');
      expectClose(read(antler.clampMax(tensor(x, [6], F64), tensor(m, [6], F64))), [NaN, 1, 2, 2, -Infinity, NaN], 0, 0, 'clampMax');
      expectClose(read(antler.clampMin(tensor([1, 5, -2, 7], [2, 2], F64), tensor([0, 6], [2], F64))), [1, 6, 0, 7], 0, 0, 'broadcast bound');
      expectClose(read(antler.clampMax(tensor([1, 5, -2], [3], F64), 0)), [0, 0, -2], 0, 0, 'number bound');
      const ints = antler.clampMin(tensor([1, 5, -2], [3], { dtype: 'int32' }), tensor([0, 0, 0], [3], { dtype: 'int32' }));
      expect(ints.dtype).toBe('int32');
      expectExact(read(ints), [1, 5, 0], 'int32');
      expect(antler.clampMin(tensor([1, 5], [2], { dtype: 'int32' }), tensor([1.5, 1.5], [2])).dtype).toBe('float32');
      // PyTorch 1.13: x = [NaN, 1, 3, 2] against 2: x gets [0, 0, 1, 1] (x ≥ min, ties included), min [0, 1, 0, 0].
      for (const [op, want] of [[antler.clampMin, [[0, 0, 1, 1], [0, 1, 0, 0]]], [antler.clampMax, [[0, 1, 0, 1], [0, 0, 1, 0]]]] as const) {
        const X = tensor([NaN, 1, 3, 2], [4], { dtype: 'float64', requiresGrad: true }), M = tensor([2, 2, 2, 2], [4], { dtype: 'float64', requiresGrad: true });
        antler.sum(op(X, M)).backward();
        expectExact(read(X.grad!), want[0], `${op.name} x gradient`);
        expectExact(read(M.grad!), want[1], `${op.name} bound gradient`);
      }
    });
  });

  test('gradient conventions: xlogy at x = 0, copysign (b gets zeros, a 0 at 0), fmod\'s −trunc(a/b), atan2 at the origin', () => {
    tidy(() => {
      const X = tensor([0, 1, 0, 0, 2], [5], { dtype: 'float64', requiresGrad: true }), Y = tensor([0, -1, -1, NaN, 3], [5], { dtype: 'float64', requiresGrad: true });
      antler.sum(antler.xlogy(X, Y)).backward();
      // PyTorch 1.13: x.grad [0, nan, 0, nan, ln 3], y.grad [nan, −1, −0, nan, 2/3].
      expectClose(read(X.grad!), [0, NaN, 0, NaN, Math.log(3)], 1e-15, 0, 'xlogy x gradient');
      expectClose(read(Y.grad!), [NaN, -1, -0, NaN, 2 / 3], 1e-15, 0, 'xlogy y gradient');
      const A = tensor([0, 1, -2], [3], { dtype: 'float64', requiresGrad: true }), B = tensor([1, -1, 2], [3], { dtype: 'float64', requiresGrad: true });
      antler.sum(antler.copysign(A, B)).backward();
      expectExact(read(A.grad!), [0, -1, -1], 'copysign a gradient');
      expectExact(read(B.grad!), [0, 0, 0], 'copysign b gradient');
      const P = tensor([5, -7], [2], { dtype: 'float64', requiresGrad: true }), Q = tensor([3, 2], [2], { dtype: 'float64', requiresGrad: true });
      antler.sum(antler.fmod(P, Q)).backward();
      expectExact(read(P.grad!), [1, 1], 'fmod a gradient');
      expectExact(read(Q.grad!), [-1, 3], 'fmod b gradient');
    });
  });

  test('bad operands throw with the op named', () => {
    expectAntlerErrorInTidy(() => antler.atan2(tensor([1, 2, 3], [3]), tensor([1, 2], [2])), 'SHAPE_MISMATCH', /atan2: shapes \[3\] and \[2\]/);
    expectAntlerErrorInTidy(() => antler.hypot(1, 2 as unknown as Tensor), 'INVALID_ARGUMENT', /at least one operand/);
    expectAntlerErrorInTidy(() => antler.xlogy(tensor([1], [1]), 'y' as unknown as Tensor), 'INVALID_ARGUMENT', /xlogy: y must be/);
    expectAntlerErrorInTidy(() => antler.clampMin(tensor([1], [1]), NaN), 'INVALID_ARGUMENT', /clampMin/);
    expectAntlerErrorInTidy(() => antler.lerp(tensor([1], [1]), tensor([1, 2, 3], [3]), tensor([1, 2], [2])), 'SHAPE_MISMATCH', /lerp/);
  });
});

// ---------------------------------------------------------------- special functions

describe(`pointwise special functions (seed ${SEED})`, () => {
  const run = (f: (t: Tensor) => Tensor, x: number[], dtype: 'float32' | 'float64' = 'float64'): number[] => tidy(() => read(f(tensor(x, [x.length], { dtype }))));
  /** Random arguments: positive over many scales and negative non-integers. */
  const args = (): number[] => [
    ...uniform(rng, 40, 0, 3), ...uniform(rng, 40, 3, 50), ...uniform(rng, 10, 50, 1e6),
    ...uniform(rng, 40, -20, 0).filter((v) => Math.abs(v - Math.round(v)) > 1e-3),
  ];

  test('lgamma: random arguments against Stirling + recurrence, exact integers and half-integers, poles, specials', () => {
    const x = args();
    // Absolute error near the zeros at 1 and 2 (log|Γ| of ~1e-16 relative to the terms).
    expectClose(run(antler.lgamma, x), x.map(lgammaRef), 1e-13, 1e-14, `lgamma (seed ${SEED})`);
    const ints = [1, 2, 3, 4, 5, 10, 20, 30];
    const fact = (n: number) => Array.from({ length: n - 1 }, (_, k) => k + 1).reduce((a, b) => a * b, 1);
    expectClose(run(antler.lgamma, ints), ints.map((n) => Math.log(fact(n))), 1e-15, 0, 'lgamma at integers: ln (n − 1)!');
    // Γ(½) = √π, Γ(−½) = −2√π, Γ(5/2) = ¾√π
    expectClose(run(antler.lgamma, [0.5, -0.5, 2.5, -1.5]), [0.5 * Math.log(Math.PI), Math.log(2 * Math.sqrt(Math.PI)), Math.log(0.75 * Math.sqrt(Math.PI)), Math.log((4 / 3) * Math.sqrt(Math.PI))], 1e-15, 0, 'half-integers');
    expectClose(run(antler.lgamma, [0, -0, -1, -7, Infinity, -Infinity, NaN, 1e-300, 1e300]),
      [Infinity, Infinity, Infinity, Infinity, Infinity, Infinity, NaN, -Math.log(1e-300), lgammaStirling(1e300)], 1e-15, 0, 'specials');
    const x32 = x.map(Math.fround);
    expectClose(run(antler.lgamma, x32, 'float32'), x32.map((v) => Math.fround(lgammaRef(v))), 2.4e-7, 1e-7, 'float32');
    expect(tidy(() => antler.lgamma(tensor([1, 2], [2], { dtype: 'int32' })).dtype)).toBe('float32');
  });

  test('digamma: exact values (ψ(1) = −γ, harmonic numbers, half-integers), random arguments, poles', () => {
    const ints = [1, 2, 3, 10, 50];
    const harmonic = (n: number) => Array.from({ length: n - 1 }, (_, k) => 1 / (k + 1)).reduce((a, b) => a + b, 0);
    expectClose(run(antler.digamma, ints), ints.map((n) => -EULER + harmonic(n)), 1e-15, 0, 'ψ(n) = −γ + H(n−1)');
    // ψ(n + ½) = −γ − 2 ln 2 + Σₖ₌₁ⁿ 2/(2k − 1); ψ(½ − n) = ψ(½ + n) (π cot(πx) is 0 at half-integers).
    const half = (n: number) => -EULER - 2 * Math.LN2 + Array.from({ length: n }, (_, k) => 2 / (2 * k + 1)).reduce((a, b) => a + b, 0);
    expectClose(run(antler.digamma, [0.5, 1.5, 4.5, -0.5, -3.5]), [half(0), half(1), half(4), half(1), half(4)], 1e-15, 1e-16, 'half-integers');
    const x = args();
    expectClose(run(antler.digamma, x), x.map(digammaRef), 1e-13, 1e-14, `random (seed ${SEED})`);
    expectClose(run(antler.digamma, [0, -0, -1, -5, Infinity, -Infinity, NaN]), [-Infinity, Infinity, NaN, NaN, Infinity, NaN, NaN], 0, 0, 'specials');
    expect(Object.is(run(antler.digamma, [0])[0], -Infinity)).toBe(true);
    const x32 = x.map(Math.fround);
    expectClose(run(antler.digamma, x32, 'float32'), x32.map((v) => Math.fround(digammaRef(v))), 1.2e-7, 1e-6, 'float32');
  });

  test('polygamma: ψ\'(1) = π²/6, ψ\'(½) = π²/2, ψ\'\'(1) = −2ζ(3), ψ\'\'\'(1) = π⁴/15; random x of either sign; poles', () => {
    const zeta3 = 1.2020569031595942854;
    tidy(() => {
      const at = (n: number, x: number[]) => read(antler.polygamma(n, tensor(x, [x.length], F64)));
      expectClose(at(1, [1, 0.5]), [Math.PI ** 2 / 6, Math.PI ** 2 / 2], 1e-15, 0, 'trigamma');
      expectClose(at(2, [1]), [-2 * zeta3], 1e-15, 0, 'ψ\'\'(1)');
      expectClose(at(3, [1]), [Math.PI ** 4 / 15], 1e-15, 0, 'ψ\'\'\'(1)');
      expectClose(at(0, [1]), [-EULER], 1e-15, 0, 'n = 0 is digamma');
      for (const n of [1, 2, 3, 6]) {
        const x = [...uniform(rng, 30, 0.05, 40), ...uniform(rng, 20, -8, 0).filter((v) => Math.abs(v - Math.round(v)) > 0.02)];
        // Negative x: the reference's backward recurrence cancels against the pole terms; its own error
        // grows with the terms' size, so the tolerance is relative to them.
        const want = x.map((v) => polygammaRef(n, v));
        expectClose(at(n, x), want, 1e-12, 0, `ψ⁽${n}⁾ (seed ${SEED})`);
      }
      expectClose(at(1, [0, -1, -3, Infinity, -Infinity, NaN]), [Infinity, Infinity, Infinity, 0, NaN, NaN], 0, 0, 'trigamma specials');
      expectClose(at(2, [0, -2]), [-Infinity, -Infinity], 0, 0, 'ψ\'\' poles: torch\'s sign');
      // Large x, where x^(−n−1) underflows but ψ⁽ⁿ⁾(x) ≈ (−1)ⁿ⁺¹ (n − 1)! x⁻ⁿ (1 + n/(2x)) does not (PyTorch's trigamma: 1e-170 at 1e170).
      expectClose(at(1, [1e160, 1e170, 1e300, 1e307]), [1e-160, 1e-170, 1e-300, 1e-307], 1e-15, 0, 'trigamma of huge x');
      expectClose(at(2, [1e100, 1e150]), [-1e-200, -1e-300], 1e-15, 0, 'ψ\'\' of huge x');
      let fact39 = 1;
      for (let k = 2; k <= 39; k++) fact39 *= k;
      expectClose(at(40, [1e8]), [-fact39 * 1e-160 * 1e-160 * (1 + 20 / 1e8)], 1e-12, 0, 'ψ⁽⁴⁰⁾(1e8) ≈ −39!·1e-320');
      expect(tensor([1], [1], F64).polygamma(1).dataSync()[0]).toBeCloseTo(Math.PI ** 2 / 6, 14);
    });
    expectAntlerErrorInTidy(() => antler.polygamma(-1, tensor([1], [1])), 'INVALID_ARGUMENT', /polygamma: n must be an integer/);
  });

  test('erfinv: random x, tails up to 1 − 2⁻⁵³ against bisection on the series erf; ±1, |x| > 1, ±0', () => {
    const x = [...uniform(rng, 60, -1, 1), ...[1e-3, 1e-6, 1e-9, 1e-12, 1e-15, 2 ** -53].map((e) => 1 - e), -(1 - 1e-10), 1e-300, -1e-20];
    expectClose(run(antler.erfinv, x), x.map(erfinvRef), 4e-15, 1e-300, `erfinv (seed ${SEED})`);
    expectClose(run(antler.erfinv, [1, -1, 1.5, -2, NaN, 0]), [Infinity, -Infinity, NaN, NaN, NaN, 0], 0, 0, 'specials');
    expect(Object.is(run(antler.erfinv, [-0])[0], -0)).toBe(true);
    const x32 = uniform(rng, 50, -0.999, 0.999).map(Math.fround);
    expectClose(run(antler.erfinv, x32, 'float32'), x32.map((v) => Math.fround(erfinvRef(v))), 1.2e-7, 1e-38, 'float32');
  });

  test('sinc, deg2rad, rad2deg, frac: values, specials, int32', () => {
    const x = [...uniform(rng, 40, -10, 10), 0, -0, 1, -3, 0.5, 1e-200];
    expectClose(run(antler.sinc, x), x.map((v) => (v === 0 ? 1 : Math.sin(Math.PI * v) / (Math.PI * v))), 1e-15, 1e-16, 'sinc');
    expectClose(run(antler.sinc, [Infinity, -Infinity, NaN]), [NaN, NaN, NaN], 0, 0, 'sinc specials');
    expectClose(run(antler.deg2rad, x), x.map((v) => v * (Math.PI / 180)), 1e-16, 0, 'deg2rad');
    expectClose(run(antler.rad2deg, x), x.map((v) => v * (180 / Math.PI)), 1e-16, 0, 'rad2deg');
    const f = [...uniform(rng, 20, -10, 10), -2.5, 3, -0, Infinity, -Infinity, NaN];
    expectExact(run(antler.frac, f), f.map((v) => v - Math.trunc(v)), 'frac');
    tidy(() => {
      const xi = tensor([1, -2, 180], [3], { dtype: 'int32' });
      expect(antler.deg2rad(xi).dtype).toBe('float32');
      expect(antler.sinc(xi).dtype).toBe('float32');
      expect(antler.frac(xi).dtype).toBe('int32');
      expectExact(read(antler.frac(xi)), [0, 0, 0], 'int32 frac');
      // sinc's gradient at 0 is 0 (PyTorch's), not the 0/0 of its formula.
      const X = tensor([0, 0.5], [2], { dtype: 'float64', requiresGrad: true });
      antler.sum(antler.sinc(X)).backward();
      expectClose(read(X.grad!), [0, (Math.cos(Math.PI / 2) - 2 / Math.PI) / 0.5], 1e-15, 1e-16, 'sinc gradient');
    });
  });

  test('nanToNum: defaults (0, the dtype\'s largest finite, its negative), options, gradient 0 where replaced, int32 copy', () => {
    const x = [NaN, Infinity, -Infinity, 1.5, -0];
    expectExact(run(antler.nanToNum, x), [0, Number.MAX_VALUE, -Number.MAX_VALUE, 1.5, -0], 'float64 defaults');
    expectExact(run(antler.nanToNum, x, 'float32'), [0, 3.4028234663852886e38, -3.4028234663852886e38, 1.5, -0], 'float32 defaults');
    tidy(() => {
      expectExact(read(antler.nanToNum(tensor(x, [5], F64), { nan: 7, posinf: 8, neginf: -9 })), [7, 8, -9, 1.5, 0], 'options');
      expectExact(read(antler.nanToNum(tensor(x, [5], F64), { posinf: 8 })), [0, 8, -Number.MAX_VALUE, 1.5, 0], 'one option');
      const xi = tensor([1, 2], [2], { dtype: 'int32' });
      const c = antler.nanToNum(xi);
      expect(c.dtype).toBe('int32');
      expectExact(read(c), [1, 2], 'int32');
      const X = tensor(x, [5], { dtype: 'float64', requiresGrad: true });
      antler.sum(antler.nanToNum(X)).backward();
      expectExact(read(X.grad!), [0, 0, 0, 1, 1], 'gradient');
    });
    expectAntlerErrorInTidy(() => antler.nanToNum(tensor([1], [1]), { nan: 'x' as unknown as number }), 'INVALID_ARGUMENT', /nanToNum: nan must be a number/);
    expectAntlerErrorInTidy(() => antler.nanToNum(tensor([1], [1]), { inf: 1 } as unknown as { nan: number }), 'INVALID_ARGUMENT');
  });

  test('heaviside and signbit: values in the operands\' dtype, no gradient', () => {
    tidy(() => {
      const x = [-2, -0, 0, 3, NaN, -Infinity, Infinity];
      const h = antler.heaviside(tensor(x, [7], F64), tensor([0.5], [1], F64));
      expectExact(read(h), [0, 0.5, 0.5, 1, 0, 0, 1], 'heaviside');
      expectExact(read(antler.heaviside(tensor([0, 0, 1, -1], [2, 2], F64), tensor([7, 8], [2], F64))), [7, 8, 1, 0], 'broadcast values');
      expect(antler.heaviside(tensor([0, 1], [2], { dtype: 'int32' }), 2).dtype).toBe('int32');
      const s = read(antler.signbit(tensor(x, [7], F64)));
      expectExact(s, [1, 1, 0, 0, 0, 1, 0], 'signbit float64');
      expectExact(read(antler.signbit(tensor([-0, 0, -1e-45], [3]))), [1, 0, 1], 'signbit float32');
      const si = antler.signbit(tensor([-3, 0, 4], [3], { dtype: 'int32' }));
      expect(si.dtype).toBe('int32');
      expectExact(read(si), [1, 0, 0], 'signbit int32');
      const X = tensor([1, -1], [2], { dtype: 'float64', requiresGrad: true });
      expect(antler.signbit(X).requiresGrad).toBe(false);
      expect(antler.heaviside(X, 0.5).requiresGrad).toBe(false);
      expect(X.signbit().dataSync()[1]).toBe(1);
    });
  });

  test('an empty tensor gives an empty result', () => {
    tidy(() => {
      for (const f of [antler.lgamma, antler.digamma, antler.erfinv, antler.sinc, antler.signbit, antler.frac])
        expect(f(tensor([], [0, 3], F64)).shape).toEqual([0, 3]);
      expect(antler.atan2(tensor([], [0, 3], F64), tensor([1, 2, 3], [3], F64)).shape).toEqual([0, 3]);
    });
  });
});

describe(`floatPower (seed ${SEED})`, () => {
  test('float_power: computed and returned in float64 for every dtype, broadcast, numbers either side; gradients in each operand dtype', () => {
    tidy(() => {
      const xv = uniform(rng, 6, 0.1, 3), ev = uniform(rng, 3, -2, 2);
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        const xs = dtype === 'int32' ? xv.map((v) => Math.round(v) + 1) : xv;
        const x = tensor(xs, [2, 3], { dtype });
        const xd = read(x); // the values as stored (float32 rounded), exact in double
        const y = antler.floatPower(x, tensor(ev, [3], F64));
        expect(y.dtype).toBe('float64');
        expectClose(read(y), xd.map((b, i) => Math.pow(b, ev[i % 3])), 1e-15, 0, `${dtype} base (seed ${SEED})`);
        expectClose(read(antler.floatPower(2, x)), xd.map((b) => Math.pow(2, b)), 1e-15, 0, 'number base');
        expectClose(read(x.floatPower(0.5)), xd.map((b) => Math.sqrt(b)), 1e-15, 0, 'method, number exponent');
      }
      const x = tensor(xv, [2, 3], { dtype: 'float32', requiresGrad: true });
      const e = tensor(ev, [3], { dtype: 'float32', requiresGrad: true });
      antler.sum(antler.floatPower(x, e)).backward();
      expect(x.grad!.dtype).toBe('float32');
      expect(e.grad!.dtype).toBe('float32');
      const xd = read(x), ed = read(e);
      // d/dx x^e = e·x^(e−1); d/de = Σ over the broadcast rows of x^e·log x.
      expectClose(read(x.grad!), xd.map((b, i) => ed[i % 3] * Math.pow(b, ed[i % 3] - 1)), 1e-6, 0, 'gradient of x');
      expectClose(read(e.grad!), ed.map((p, j) => [0, 1].reduce((acc, r) => acc + Math.pow(xd[r * 3 + j], p) * Math.log(xd[r * 3 + j]), 0)), 1e-6, 0, 'gradient of exponent');
      expectAntlerErrorInTidy(() => antler.floatPower(2 as unknown as Tensor, 3), 'INVALID_ARGUMENT');
      expectAntlerErrorInTidy(() => antler.floatPower(tensor([1, 2], [2], F64), tensor([1, 2, 3], [3], F64)), 'SHAPE_MISMATCH');
    });
  });
});
