/**
 * Elementwise ops (with broadcasting and scalars), matmul and sum against
 * float64 JavaScript references. One table describes the binary ops; every
 * check runs over all of its entries.
 */
import * as antler from '../../lib';
import { add, broadcastTo, div, DType, matmul, max, maximum, mean, memory, min, minimum, mseLoss, mul, pow, randn, resetPeakMemory, sub, sum, Tensor, tensor, tidy, where, zeros } from '../../lib';
import {
  broadcastRef,
  erfcRef,
  erfRef,
  expectAntlerErrorInTidy,
  expectClose,
  expectExact,
  expectNoLeaksInSuite,
  makeRng,
  matmul2d,
  matmulRef,
  maxAbs,
  poisonCheck,
  prod,
  randomArray,
  randomInts,
  tensorCounts,
  unravel,
} from '../helpers';

const rng = makeRng();
const SEED = rng.seed;

type Fn = (a: Tensor | number, b: Tensor | number) => Tensor;
interface BinaryOpInfo {
  name: string;
  fn: Fn;
  /** Reference on doubles (operands already rounded to the dtype). */
  ref: (x: number, y: number) => number;
  /** Reference for int32 (wrapping), or undefined when int32 is not supported. */
  refInt?: (x: number, y: number) => number;
}

const nanMax = (x: number, y: number): number => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x > y ? x : y);
const nanMin = (x: number, y: number): number => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x < y ? x : y);

const BINARY: BinaryOpInfo[] = [
  { name: 'add', fn: add, ref: (x, y) => x + y, refInt: (x, y) => (x + y) | 0 },
  { name: 'sub', fn: sub, ref: (x, y) => x - y, refInt: (x, y) => (x - y) | 0 },
  { name: 'mul', fn: mul, ref: (x, y) => x * y, refInt: (x, y) => Math.imul(x, y) },
  { name: 'div', fn: div, ref: (x, y) => x / y },
  { name: 'maximum', fn: maximum, ref: nanMax, refInt: nanMax },
  { name: 'minimum', fn: minimum, ref: nanMin, refInt: nanMin },
];

const FLOAT: DType[] = ['float32', 'float64'];

/** Values of a dtype: floats away from 0 (so div stays tame), ints small enough not to overflow. */
function values(dtype: DType, n: number): number[] {
  if (dtype === 'int32') return randomInts(rng, n, -30000, 30000);
  const v = randomArray(rng, n, 0.1, 10).map((x) => (rng.next() < 0.5 ? -x : x));
  return dtype === 'float32' ? v.map(Math.fround) : v;
}

/** Round a double result to the dtype (float32: one rounding of the exact op, as IEEE does). */
function round(dtype: DType, v: number): number {
  return dtype === 'float32' ? Math.fround(v) : v;
}

/** Two random shapes that broadcast: rank 0–4, random size-1 dims, possibly different ranks. */
function broadcastPair(): [number[], number[]] {
  const rank = rng.int(0, 4);
  const out = Array.from({ length: rank }, () => rng.int(1, 5));
  const derive = (): number[] => {
    const r = rng.int(0, rank);
    const s = out.slice(rank - r);
    return s.map((d) => (rng.next() < 0.3 ? 1 : d));
  };
  return [derive(), derive()];
}

expectNoLeaksInSuite(tensorCounts);

describe(`binary ops (seed ${SEED})`, () => {
  for (const op of BINARY) {
    const dtypes: DType[] = op.refInt ? ['float32', 'float64', 'int32'] : FLOAT;
    for (const dtype of dtypes) {
      test(`${op.name} ${dtype}: same shape and broadcasting`, () =>
        tidy(() => {
          const ref = dtype === 'int32' ? op.refInt! : op.ref;
          const pairs: [number[], number[]][] = [
            [[], []],
            [[3], [3]],
            [[2, 1, 4], [3, 1]],
            [[1], [5, 4]],
            [[0, 3], [1, 3]],
            [[4, 0], [4, 1]],
          ];
          for (let i = 0; i < 20; i++) pairs.push(broadcastPair());
          for (const [sa, sb] of pairs) {
            const va = values(dtype, prod(sa));
            const vb = values(dtype, prod(sb));
            const a = tensor(va, sa, { dtype });
            const b = tensor(vb, sb, { dtype });
            const out = op.fn(a, b);
            const want = broadcastRef(va, sa, vb, sb, (x, y) => round(dtype, ref(x, y)));
            const msg = `${op.name} ${dtype} [${sa}] with [${sb}] seed=${SEED}`;
            expect(out.shape).toEqual(want.shape);
            expect(out.dtype).toBe(dtype);
            const got = out.dataSync();
            expectExact(got, want.values, msg);
            if (dtype !== 'int32') poisonCheck(got, msg);
            // The method form is the same op.
            expectExact((a as unknown as Record<string, (o: Tensor) => Tensor>)[op.name](b).dataSync(), want.values, `${msg} (method)`);
          }
        }));

      test(`${op.name} ${dtype}: scalar on either side`, () =>
        tidy(() => {
          const ref = dtype === 'int32' ? op.refInt! : op.ref;
          const shape = [rng.int(1, 4), rng.int(1, 6)];
          const va = values(dtype, prod(shape));
          const a = tensor(va, shape, { dtype });
          const s = dtype === 'int32' ? rng.int(-100, 100) : rng.uniform(-5, 5);
          const sr = round(dtype, s); // the scalar takes the tensor's dtype
          const msg = `${op.name} ${dtype} scalar ${s} seed=${SEED}`;
          const right = op.fn(a, s);
          const left = op.fn(s, a);
          expect(right.shape).toEqual(shape);
          expect(left.shape).toEqual(shape);
          expectExact(right.dataSync(), va.map((x) => round(dtype, ref(x, sr))), `${msg} (tensor, scalar)`);
          expectExact(left.dataSync(), va.map((x) => round(dtype, ref(sr, x))), `${msg} (scalar, tensor)`);
          // A scalar operand equals a broadcast [] tensor.
          const st = tensor(s, [], { dtype });
          expectExact(op.fn(st, a).dataSync(), left.dataSync(), `${msg} vs [] tensor`);
        }));
    }
  }

  test('sub(2, t) and div(1, t) put the scalar first', () =>
    tidy(() => {
      const t = tensor([1, 4, -8], undefined, { dtype: 'float64' });
      expectExact(sub(2, t).dataSync(), [1, -2, 10], 'sub');
      expectExact(div(1, t).dataSync(), [1, 0.25, -0.125], 'div');
      expectExact(t.sub(2).dataSync(), [-1, 2, -10], 'method sub');
    }));

  test('maximum/minimum propagate NaN from either side; float specials', () =>
    tidy(() => {
      for (const dtype of FLOAT) {
        const a = tensor([NaN, 1, NaN, -Infinity, 3, 2], undefined, { dtype });
        const b = tensor([1, NaN, NaN, 5, Infinity, -0.5], undefined, { dtype });
        expectExact(maximum(a, b).dataSync(), [NaN, NaN, NaN, 5, Infinity, 2], `maximum ${dtype}`);
        expectExact(minimum(a, b).dataSync(), [NaN, NaN, NaN, -Infinity, 3, -0.5], `minimum ${dtype}`);
        expectExact(maximum(a, NaN).dataSync(), [NaN, NaN, NaN, NaN, NaN, NaN], `maximum scalar NaN ${dtype}`);
        expectExact(minimum(NaN, b).dataSync(), [NaN, NaN, NaN, NaN, NaN, NaN], `minimum NaN scalar ${dtype}`);
        expectExact(div(tensor([1, -1, 0], undefined, { dtype }), 0).dataSync(), [Infinity, -Infinity, NaN], `div by 0 ${dtype}`);
        expectExact(add(tensor([Infinity], undefined, { dtype }), -Infinity).dataSync(), [NaN], `inf - inf ${dtype}`);
      }
    }));

  test('float32 results are rounded once (no double-precision leak)', () =>
    tidy(() => {
      // 1 + 2^-30 is not a float32: the sum must round to 1.
      const one = tensor([1]);
      expectExact(add(one, 2 ** -30).dataSync(), [1], 'add');
      expectExact(add(one, tensor([2 ** -30])).dataSync(), [1], 'add tensor');
      expectExact(mul(tensor([3]), tensor([1 / 3])).dataSync(), [Math.fround(3 * Math.fround(1 / 3))], 'mul');
      expectExact(div(tensor([1]), 3).dataSync(), [Math.fround(1 / 3)], 'div');
    }));
});

describe(`int32 arithmetic wraps as PyTorch's (seed ${SEED})`, () => {
  const I32 = { dtype: 'int32' as const };
  test('add, sub and mul over the whole int32 range wrap modulo 2^32', () =>
    tidy(() => {
      const n = 2000;
      const va = randomInts(rng, n, -2147483648, 2147483647), vb = randomInts(rng, n, -2147483648, 2147483647);
      va[0] = 2147483647; vb[0] = 1;  // INT_MAX + 1
      va[1] = -2147483648; vb[1] = -1;  // INT_MIN · −1 and INT_MIN − (−1)
      const a = tensor(va, [n], I32), b = tensor(vb, [n], I32);
      const wrap = (f: (x: bigint, y: bigint) => bigint) => va.map((x, i) => Number(BigInt.asIntN(32, f(BigInt(x), BigInt(vb[i])))));
      expectExact(add(a, b).dataSync(), wrap((x, y) => x + y), 'add');
      expectExact(sub(a, b).dataSync(), wrap((x, y) => x - y), 'sub');
      expectExact(mul(a, b).dataSync(), wrap((x, y) => x * y), 'mul');
    }));

  test('pow by squaring with wrap-around; negative exponents give 1, ±1 or 0 (PyTorch\'s integer pow)', () =>
    tidy(() => {
      const n = 500;
      const va = randomInts(rng, n, -200, 200), vb = randomInts(rng, n, -3, 40);
      const fixed: [number, number][] = [[100, 10], [2, 31], [2, 32], [-2, 31], [-1, -3], [-1, -4], [1, -7], [0, -1], [0, 0], [5, 0], [-7, 13]];
      fixed.forEach(([x, y], i) => { va[i] = x; vb[i] = y; });
      const ref = va.map((x, i) => {
        const e = vb[i];
        if (e < 0) return x === 1 ? 1 : x === -1 ? (e % 2 !== 0 ? -1 : 1) : 0;
        return Number(BigInt.asIntN(32, BigInt(x) ** BigInt(e)));
      });
      expectExact(pow(tensor(va, [n], I32), tensor(vb, [n], I32)).dataSync(), ref, 'pow');
    }));
});

describe(`matmul (seed ${SEED})`, () => {
  function check(sa: number[], sb: number[], dtype: DType, transA = false, transB = false): void {
    const va = randomArray(rng, prod(sa));
    const vb = randomArray(rng, prod(sb));
    const ra = dtype === 'float32' ? va.map(Math.fround) : va;
    const rb = dtype === 'float32' ? vb.map(Math.fround) : vb;
    tidy(() => {
      const a = tensor(va, sa, { dtype });
      const b = tensor(vb, sb, { dtype });
      const opts = transA || transB ? { transposeA: transA, transposeB: transB } : undefined;
      const out = matmul(a, b, opts);
      const want = matmulRef(ra, sa, rb, sb, transA, transB);
      const msg = `matmul ${dtype} [${sa}]${transA ? 'ᵀ' : ''} @ [${sb}]${transB ? 'ᵀ' : ''} seed=${SEED}`;
      expect({ msg, shape: out.shape }).toEqual({ msg, shape: want.shape });
      expect(out.dtype).toBe(dtype);
      const got = out.dataSync();
      poisonCheck(got, msg);
      const k = transA ? sa[sa.length - 2] : sa[sa.length - 1];
      const scale = Math.max(maxAbs(want.values), 1e-300);
      const rtol = dtype === 'float32' ? 1e-5 * Math.max(1, k / 100) : 1e-12;
      expectClose(got, want.values, 0, rtol * scale, msg);
      expectClose(a.matmul(b, opts).dataSync(), want.values, 0, rtol * scale, `${msg} (method)`);
    });
  }

  for (const dtype of FLOAT) {
    test(`${dtype}: 2-D with random sizes`, () => {
      for (let i = 0; i < 8; i++) {
        const [m, n, k] = [rng.int(1, 70), rng.int(1, 70), rng.int(1, 100)];
        check([m, k], [k, n], dtype);
      }
      check([1, 1], [1, 1], dtype);
    });

    test(`${dtype}: sizes across the 64/256 blocking`, () => {
      const [m, n, k] = [rng.int(257, 300), rng.int(257, 300), rng.int(257, 300)];
      check([m, k], [k, n], dtype);
      check([k, rng.int(65, 130)], [rng.int(65, 130), k], dtype, true, true);
    });

    test(`${dtype}: vectors`, () => {
      const k = rng.int(1, 50);
      const n = rng.int(1, 20);
      const m = rng.int(1, 20);
      check([k], [k, n], dtype); // 1-D @ 2-D → [n]
      check([m, k], [k], dtype); // 2-D @ 1-D → [m]
      check([k], [k], dtype); // 1-D @ 1-D → []
      check([k], [3, k, n], dtype); // 1-D @ 3-D → [3, n]
      check([2, m, k], [k], dtype); // 3-D @ 1-D → [2, m]
    });

    test(`${dtype}: batched with broadcast batch dims`, () => {
      const [m, n, k] = [rng.int(1, 9), rng.int(1, 9), rng.int(1, 9)];
      check([3, m, k], [3, k, n], dtype);
      check([3, m, k], [k, n], dtype);
      check([m, k], [4, k, n], dtype);
      check([2, 1, m, k], [3, k, n], dtype);
      check([1, 3, m, k], [2, 1, k, n], dtype);
      check([2, 3, m, k], [2, 3, k, n], dtype);
    });

    test(`${dtype}: transposeA / transposeB`, () => {
      for (let i = 0; i < 4; i++) {
        const [m, n, k] = [rng.int(1, 40), rng.int(1, 40), rng.int(1, 40)];
        check([k, m], [k, n], dtype, true, false);
        check([m, k], [n, k], dtype, false, true);
        check([k, m], [n, k], dtype, true, true);
        check([2, k, m], [n, k], dtype, true, true);
        check([2, 1, k, m], [3, k, n], dtype, true, false);
      }
    });

    test(`${dtype}: k = 0 gives zeros; m or n = 0 gives an empty result`, () =>
      tidy(() => {
        const m = rng.int(1, 6);
        const n = rng.int(1, 6);
        const out = matmul(zeros([m, 0], { dtype }), zeros([0, n], { dtype }));
        expect(out.shape).toEqual([m, n]);
        expectExact(out.dataSync(), new Array(m * n).fill(0), 'k=0');
        const batched = matmul(zeros([2, m, 0], { dtype }), zeros([0, n], { dtype }));
        expect(batched.shape).toEqual([2, m, n]);
        expectExact(batched.dataSync(), new Array(2 * m * n).fill(0), 'batched k=0');
        const vec = matmul(zeros([0], { dtype }), zeros([0], { dtype }));
        expect(vec.shape).toEqual([]);
        expectExact(vec.dataSync(), [0], '1-D k=0');
        expect(matmul(zeros([0, 3], { dtype }), zeros([3, n], { dtype })).shape).toEqual([0, n]);
        expect(matmul(zeros([m, 3], { dtype }), zeros([3, 0], { dtype })).shape).toEqual([m, 0]);
      }));
  }
});

describe(`matmul with a shared 2-D operand (seed ${SEED})`, () => {
  // [T, B, k] @ [k, n] is one GEMM over T·B rows: its backward's gradient for
  // the shared operand is one [k, n] product, never T of them summed.
  test.each([false, true])('transposeB %s: gradients equal the float64 reference, and the backward stays O(rows·k + k·n) in memory', (tB) => {
    const [T, B, k, n] = [rng.int(150, 250), rng.int(1, 2), rng.int(40, 56), rng.int(40, 56)];
    const xs = randomArray(rng, T * B * k), ws = randomArray(rng, k * n), gs = randomArray(rng, T * B * n);
    tidy(() => {
      const x = tensor(xs, [T, B, k], { dtype: 'float64', requiresGrad: true });
      // w holds [k, n] (or its transpose [n, k] when tB), the same values either way.
      const wT = new Array<number>(k * n);
      for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) wT[j * k + i] = ws[i * n + j];
      const w = tensor(tB ? wT : ws, tB ? [n, k] : [k, n], { dtype: 'float64', requiresGrad: true });
      const y = matmul(x, w, { transposeB: tB });
      expect(y.shape).toEqual([T, B, n]);
      const g = tensor(gs, [T, B, n], { dtype: 'float64' });
      const before = memory().devices.cpu.numBytes;
      resetPeakMemory();
      y.backward(g);
      const growth = memory().devices.cpu.peakBytes - before;
      // A few row-sized buffers (gx, reshaped views' copies) and w's gradient;
      // a batched product would hold T·k·n doubles for w's gradient alone,
      // which these sizes put above the bound.
      const bound = 8 * (6 * T * B * Math.max(k, n) + 2 * k * n);
      expect(bound).toBeLessThan(8 * T * k * n);
      expect(growth).toBeLessThan(bound);
      expectClose(y.dataSync(), matmul2d(xs, ws, T * B, n, k), 1e-12, 1e-12, 'y');
      expectClose(x.grad!.dataSync(), matmul2d(gs, ws, T * B, k, n, false, true), 1e-12, 1e-12, 'gx');
      const gw = matmul2d(xs, gs, k, n, T * B, true);  // xᵀ g over all rows: [k, n]
      const gwT = new Array<number>(k * n);
      for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) gwT[j * k + i] = gw[i * n + j];
      expectClose(w.grad!.dataSync(), tB ? gwT : gw, 1e-12, 1e-12, 'gw');
    });
  });
});

describe(`sum (seed ${SEED})`, () => {
  test('float32 sum of 1e7 values in [0, 1) is within 1e-6 of the float64 sum', () => {
    const n = 10_000_000;
    const v = new Float32Array(n);
    const next = rng.next;
    for (let i = 0; i < n; i++) v[i] = next();
    let ref = 0;
    for (let i = 0; i < n; i++) ref += v[i];
    tidy(() => {
      const s = tensor(v).sum();
      expect(s.shape).toEqual([]);
      expect(s.dtype).toBe('float32');
      expectClose([s.item()], [ref], 1e-6, 0, `sum seed=${SEED}`);
    });
  });

  test('float64 sums match a compensated JS sum', () =>
    tidy(() => {
      for (let trial = 0; trial < 5; trial++) {
        const n = rng.int(1, 100000);
        const v = randomArray(rng, n, -1e3, 1e3);
        // Neumaier summation as the reference.
        let s = 0;
        let c = 0;
        for (const x of v) {
          const t = s + x;
          c += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
          s = t;
        }
        const ref = s + c;
        const got = tensor(v, [n], { dtype: 'float64' }).sum().item();
        expectClose([got], [ref], 1e-12, 1e-9 * Math.sqrt(n), `n=${n} seed=${SEED}`);
      }
    }));

  test('int32 sum is exact, and one past int32 throws instead of wrapping (PyTorch sums into int64, which antler lacks)', () =>
    tidy(() => {
      const v = randomInts(rng, rng.int(1, 5000), -100000, 100000);
      const ref = v.reduce((a, b) => a + b, 0);
      const s = tensor(v, undefined, { dtype: 'int32' }).sum();
      expect(s.dtype).toBe('int32');
      expect(s.item()).toBe(ref);
      // Partial sums past int32 are fine when the total fits.
      expect(tensor([2 ** 31 - 1, 2 ** 31 - 1, -(2 ** 31), -(2 ** 31) + 5], undefined, { dtype: 'int32' }).sum().item()).toBe(3);
      const rows = rng.int(2, 6);
      const byCol = tensor(new Array(rows * 2).fill(2 ** 30), [rows, 2], { dtype: 'int32' });
      expectAntlerErrorInTidy(() => byCol.sum(0), 'DTYPE_MISMATCH', new RegExp(`^sum: the int32 result ${rows * 2 ** 30} does not fit int32`));
      expectAntlerErrorInTidy(() => tensor([2 ** 31 - 1, 1], undefined, { dtype: 'int32' }).sum(), 'DTYPE_MISMATCH');
    }));

  test('sum of an empty tensor is 0; sum of a scalar is itself', () =>
    tidy(() => {
      for (const dtype of ['float32', 'float64', 'int32'] as const) {
        expect(zeros([0], { dtype }).sum().item()).toBe(0);
        expect(zeros([3, 0, 2], { dtype }).sum().shape).toEqual([]);
        expect(tensor(7, [], { dtype }).sum().item()).toBe(7);
      }
    }));

  test('sum over a reshape view and a broadcast result', () =>
    tidy(() => {
      const v = randomArray(rng, 24, -1, 1);
      const t = tensor(v, [2, 3, 4], { dtype: 'float64' });
      const ref = v.reduce((a, b) => a + b, 0);
      expectClose([t.reshape([6, 4]).sum().item()], [ref], 1e-12, 1e-14, 'view');
      const r = add(t, tensor([1, 2, 3, 4], undefined, { dtype: 'float64' })).sum().item();
      expectClose([r], [ref + 6 * 10], 1e-12, 1e-12, 'broadcast');
    }));
});

describe(`flip (seed ${SEED})`, () => {
  test.each([[[5], [0]], [[3, 4], [1]], [[3, 4, 2], [0, 2]], [[2, 3, 4], [-1, 0, 1]], [[2, 3], []]] as [number[], number[]][])(
    'shape %j axes %j matches index reversal',
    (shape, axes) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const vals = Array.from({ length: n }, () => rng.uniform(-1, 1));
      const out = tidy(() => tensor(vals, shape, { dtype: 'float64' }).flip(axes).dataSync());
      const ax = axes.map((a) => (a < 0 ? a + shape.length : a));
      const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
      for (let i = 0; i < n; i++) {
        let src = 0;
        for (let d = 0; d < shape.length; d++) {
          const idx = Math.floor(i / strides[d]) % shape[d];
          src += (ax.includes(d) ? shape[d] - 1 - idx : idx) * strides[d];
        }
        expect(out[i]).toBe(vals[src]);
      }
    },
  );
});

describe(`mseLoss shapes (seed ${SEED})`, () => {
  test('input and target of different shapes throw SHAPE_MISMATCH naming both shapes, instead of broadcasting', () => {
    const e = expectAntlerErrorInTidy(() => mseLoss(randn([8, 1]), randn([8])), 'SHAPE_MISMATCH', /mseLoss: input has shape \[8, 1\] and target has shape \[8\]/);
    expect(e.message).toMatch(/target\.reshape\(\[8, 1\]\)/);
    expect(e.message).toMatch(/broadcastTo/);
    expectAntlerErrorInTidy(() => mseLoss(randn([8]), randn([8, 1])), 'SHAPE_MISMATCH', /input has shape \[8\] and target has shape \[8, 1\]/);
    expectAntlerErrorInTidy(() => mseLoss(randn([2, 3]), randn([3]), { reduction: 'none' }), 'SHAPE_MISMATCH', /\[2, 3\].*\[3\]/);
    expectAntlerErrorInTidy(() => mseLoss(randn([4]), randn([])), 'SHAPE_MISMATCH');
  });

  test("broadcastTo: −1 keeps x's size on that axis (torch's expand), and is refused on a new leading axis", () =>
    tidy(() => {
      const v = randomArray(rng, 3);
      const x = tensor(v, [3, 1], { dtype: 'float64' });
      const y = broadcastTo(x, [2, -1, 4]);
      expect(y.shape).toEqual([2, 3, 4]);
      expectExact(y.dataSync(), Array.from({ length: 24 }, (_, p) => v[Math.floor(p / 4) % 3]));
      expectAntlerErrorInTidy(() => broadcastTo(x, [-1, 3, 4]), 'INVALID_ARGUMENT', /^broadcastTo: shape\[0\] is −1 \(keep x's size\) on a new leading axis of \[-1, 3, 4\]; x \[3, 1\]/);
    }));

  test('equal shapes (and an explicit broadcastTo) still work', () =>
    tidy(() => {
      const a = randomArray(rng, 6), b = randomArray(rng, 3);
      const x = tensor(a, [2, 3], { dtype: 'float64' });
      const y = tensor(b, [3], { dtype: 'float64' });
      const ref = a.reduce((s, v, i) => s + (v - b[i % 3]) ** 2, 0) / 6;
      expectClose([mseLoss(x, broadcastTo(y, [2, 3])).item()], [ref], 1e-12, 1e-14, 'mse');
    }));
});

describe('reductions name themselves when keepDims is not a boolean', () => {
  test('mean, sum, max and min say keepDims is their third argument, a boolean', () => {
    const t = zeros([2, 3]);
    try {
      const e = expectAntlerErrorInTidy(() => mean(t, 1, { keepDims: true } as never), 'INVALID_ARGUMENT');
      expect(e.message).toBe('mean: the third argument, keepDims, must be a boolean; got an object (pass it as the boolean itself: mean(x, axis, true))');
      expectAntlerErrorInTidy(() => t.mean(1, 'yes' as never), 'INVALID_ARGUMENT', /^mean: the third argument, keepDims, must be a boolean; got 'yes'$/);
      expectAntlerErrorInTidy(() => sum(t, 1, { keepDims: true } as never), 'INVALID_ARGUMENT', /^sum: the third argument, keepDims/);
      expectAntlerErrorInTidy(() => max(t, 0, 1 as never), 'INVALID_ARGUMENT', /^max: the third argument, keepDims/);
      expectAntlerErrorInTidy(() => min(t, 0, null as never), 'INVALID_ARGUMENT', /^min: the third argument, keepDims/);
      expect(tidy(() => mean(t, 1, true).shape)).toEqual([2, 1]);
    } finally {
      t.dispose();
    }
  });
});

describe(`max and min over several axes (seed ${SEED})`, () => {
  test('ties share the gradient evenly within each reduction, and NaN entries share it where the result is NaN (against a loop over the groups)', () =>
    tidy(() => {
      for (const [shape, axes, keep] of [[[3, 4, 2], [0, 2], false], [[2, 3, 4], [1, 2], true], [[4, 2, 3], [-3, -1], true], [[2, 2, 3, 2], [0, 1, 3], false], [[3, 2, 2], [1, 0], false]] as [number[], number[], boolean][]) {
        const red = new Set(axes.map((a) => (a < 0 ? a + shape.length : a)));
        // Values from {0, 1, 2}: most reductions tie; a NaN (sometimes two) in a few of them.
        const v = randomInts(rng, prod(shape), 0, 2).map((k) => (rng.next() < 0.06 ? NaN : k));
        const groups = new Map<string, number[]>();
        v.forEach((_, p) => {
          const key = unravel(shape, p).filter((_, d) => !red.has(d)).join(',');
          groups.set(key, [...(groups.get(key) ?? []), p]);
        });
        const outShape = keep ? shape.map((d, i) => (red.has(i) ? 1 : d)) : shape.filter((_, i) => !red.has(i));
        const gy = randomArray(rng, prod(outShape), 0.5, 2);
        for (const [name, fn, pick] of [['max', max, Math.max], ['min', min, Math.min]] as const) {
          const what = `${name} of [${shape}] over [${axes}] keepDims ${keep}`;
          const wantY: number[] = [], wantG = new Array<number>(v.length).fill(0);
          [...groups.values()].forEach((members, o) => {
            const nan = members.filter((p) => Number.isNaN(v[p]));
            const e = nan.length ? NaN : pick(...members.map((p) => v[p]));
            const winners = nan.length ? nan : members.filter((p) => v[p] === e);
            wantY.push(e);
            for (const p of winners) wantG[p] = gy[o] / winners.length;
          });
          const x = tensor(v, shape, { dtype: 'float64', requiresGrad: true });
          const y = fn(x, axes, keep);
          expect(y.shape).toEqual(outShape);
          expectExact(y.dataSync(), wantY, what);
          y.backward(tensor(gy, outShape, { dtype: 'float64' }));
          expectClose(x.grad!.dataSync(), wantG, 1e-15, 0, `${what}: gradient`);
          x.dispose();
        }
      }
    }));
});

describe(`where with numbers for a or b, as torch.where takes them (seed ${SEED})`, () => {
  test('a number on either side (or both) takes the other operand\'s dtype (promoted) and device; -Infinity masks', () =>
    tidy(() => {
      const cv = randomInts(rng, 6, 0, 1);
      const xv = randomArray(rng, 6);
      const c = tensor(cv, [2, 3], { dtype: 'int32' });
      const x = tensor(xv, [2, 3], { dtype: 'float64' });
      const left = where(c, x, -Infinity);
      expect(left.dtype).toBe('float64');
      expect(left.shape).toEqual([2, 3]);
      expectExact(left.dataSync(), cv.map((k, i) => (k ? xv[i] : -Infinity)), 'where(c, x, -Infinity)');
      expectExact(where(c, 2.5, x).dataSync(), cv.map((k, i) => (k ? 2.5 : xv[i])), 'where(c, 2.5, x)');
      const both = where(c, 1, 0);
      expect(both.dtype).toBe('int32'); // two integers (torch.where gives its integer dtype)
      expectExact(both.dataSync(), cv, 'where(c, 1, 0)');
      expect(where(c, 1, 0.5).dtype).toBe('float32');
      // Broadcasting still applies: a [3] row against a [2, 1] condition.
      const row = tensor([1, 2, 3], [3], { dtype: 'float64' });
      expectExact(where(tensor([1, 0], [2, 1]), row, NaN).dataSync(), [1, 2, 3, NaN, NaN, NaN], 'broadcast');
      const i32 = tensor([4, 5, 6], [3], { dtype: 'int32' });
      const wi = where(tensor([1, 0, 1], [3]), i32, -1);
      expect(wi.dtype).toBe('int32');
      expectExact(wi.dataSync(), [4, -1, 6], 'int32');
    }));

  test('gradients reach the tensor operand only', () =>
    tidy(() => {
      const cv = randomInts(rng, 5, 0, 1);
      const x = tensor(randomArray(rng, 5), [5], { dtype: 'float64', requiresGrad: true });
      const c = tensor(cv, [5]);
      where(c, x, 0).mul(3).sum().backward();
      expectExact(x.grad!.dataSync(), cv.map((k) => 3 * k), 'd/da');
      x.zeroGrad();
      where(c, 7, x).sum().backward();
      expectExact(x.grad!.dataSync(), cv.map((k) => 1 - k), 'd/db');
    }));

  test('bad operands are still refused', () => {
    const c = tensor([1, 0], [2]);
    const i32 = tensor([1, 2], [2], { dtype: 'int32' });
    try {
      expectAntlerErrorInTidy(() => where(c, i32, 2 ** 31), 'DTYPE_MISMATCH', /^where: b is 2147483648, outside int32's range/);
      expectAntlerErrorInTidy(() => where(1 as never, c, 0), 'INVALID_ARGUMENT', /where/);
      expectAntlerErrorInTidy(() => where(c, 'x' as never, 0), 'INVALID_ARGUMENT', /where/);
      expectAntlerErrorInTidy(() => where(c, c, zeros([3])), 'SHAPE_MISMATCH');
    } finally {
      c.dispose();
      i32.dispose();
    }
  });
});

// Shapes wide enough for the CPU's fast paths (broadcast rows with folded
// dims, tiled transposes, eight-lane sums, row-wise softmax) to take over from
// the general walks; references in plain JavaScript.
describe(`larger shapes through the fast paths (seed ${SEED})`, () => {
  const randomShape = (rank: number, hi: number) => Array.from({ length: rank }, () => rng.int(1, hi));
  const strides = (shape: number[]) => {
    const s = new Array<number>(shape.length).fill(1);
    for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
    return s;
  };

  test('permute (transpose-like copies, tiled) equals the index map, in every dtype', () =>
    tidy(() => {
      for (let trial = 0; trial < 24; trial++) {
        const dtype = (['float32', 'float64', 'int32'] as const)[trial % 3];
        const rank = rng.int(2, 4);
        const shape = randomShape(rank, 41);
        const perm = Array.from({ length: rank }, (_, i) => i);
        if (trial < 3) [perm[rank - 1], perm[rank - 2]] = [rank - 2, rank - 1]; // a plain transpose of the last two
        else perm.sort(() => rng.next() - 0.5);
        const v = dtype === 'int32' ? randomInts(rng, prod(shape), -1e6, 1e6) : randomArray(rng, prod(shape), -1, 1).map((x) => round(dtype, x));
        const out = tensor(v, shape, { dtype }).permute(perm);
        const outShape = perm.map((p) => shape[p]);
        expect(out.shape).toEqual(outShape);
        const inStr = strides(shape), outStr = strides(outShape);
        const want = new Array<number>(v.length);
        for (let i = 0; i < v.length; i++) {
          let src = 0;
          for (let d = 0; d < rank; d++) src += (Math.floor(i / outStr[d]) % outShape[d]) * inStr[perm[d]];
          want[i] = v[src];
        }
        expectExact(out.dataSync(), want, `permute [${shape}] by [${perm}] ${dtype} seed=${SEED}`);
      }
    }));

  test('softmax and logSoftmax over the last axis: rows far from 0 (±1000), NaN in any lane, all −∞, against a float64 reference', () =>
    tidy(() => {
      for (let trial = 0; trial < 12; trial++) {
        const rows = rng.int(1, 40), dim = rng.int(1, 70);
        const dtype = FLOAT[trial % 2];
        const shift = rng.pick([-1000, 0, 1000, -80]);
        const v = randomArray(rng, rows * dim, -3, 3).map((x) => round(dtype, x + shift));
        // Some rows get a NaN at a random position (any of the eight lanes or the tail), one row is all −∞.
        for (let r = 0; r < rows; r++) if (rng.next() < 0.2) v[r * dim + rng.int(0, dim - 1)] = NaN;
        if (rows > 1) v.fill(-Infinity, 0, dim);
        const x = tensor(v, [rows, dim], { dtype });
        const sm = antler.softmax(x, -1).dataSync(), lsm = antler.logSoftmax(x, -1).dataSync();
        for (let r = 0; r < rows; r++) {
          const row = v.slice(r * dim, (r + 1) * dim);
          const hasNaN = row.some(Number.isNaN), allInf = row.every((a) => a === -Infinity);
          const m = Math.max(...row);
          const z = row.reduce((a, b) => a + Math.exp(b - m), 0);
          const what = `row ${r} of [${rows}, ${dim}] ${dtype}, shift ${shift} (seed ${SEED})`;
          if (hasNaN || allInf) {
            expect({ what, nan: Array.from(sm.slice(r * dim, (r + 1) * dim)).every(Number.isNaN) }).toEqual({ what, nan: true });
            expect({ what, nan: Array.from(lsm.slice(r * dim, (r + 1) * dim)).every(Number.isNaN) }).toEqual({ what, nan: true });
            continue;
          }
          const tol = dtype === 'float32' ? 2e-6 : 1e-14;
          expectClose(sm.slice(r * dim, (r + 1) * dim), row.map((a) => Math.exp(a - m) / z), tol, 1e-30, `softmax ${what}`);
          expectClose(lsm.slice(r * dim, (r + 1) * dim), row.map((a) => a - m - Math.log(z)), tol, tol, `logSoftmax ${what}`);
        }
      }
    }));

  test('broadcastTo and broadcasting binary ops equal the reference', () =>
    tidy(() => {
      for (let trial = 0; trial < 16; trial++) {
        const rank = rng.int(1, 4);
        const out = randomShape(rank, 33);
        const derive = () => out.slice(rank - rng.int(0, rank)).map((d) => (rng.next() < 0.4 ? 1 : d));
        const [sa, sb] = [derive(), derive()];
        const dtype = FLOAT[trial % 2];
        const va = values(dtype, prod(sa)), vb = values(dtype, prod(sb));
        const a = tensor(va, sa, { dtype }), b = tensor(vb, sb, { dtype });
        for (const op of BINARY.slice(0, 4)) {
          const want = broadcastRef(va, sa, vb, sb, (x, y) => round(dtype, op.ref(x, y)));
          expectExact(op.fn(a, b).dataSync(), want.values, `${op.name} [${sa}] with [${sb}] ${dtype} seed=${SEED}`);
        }
        const full = broadcastRef(va, sa, [0], [], (x) => x);
        const target = full.shape.length < rank ? out : full.shape;
        const want = broadcastRef(va, sa, new Array(prod(target)).fill(0), target, (x) => x);
        expectExact(broadcastTo(a, target).dataSync(), want.values, `broadcastTo [${sa}] to [${target}] seed=${SEED}`);
      }
    }));

  test('sums over any axes match a float64 reference', () =>
    tidy(() => {
      for (let trial = 0; trial < 16; trial++) {
        const rank = rng.int(1, 4);
        const shape = randomShape(rank, 60);
        const axes = Array.from({ length: rank }, (_, i) => i).filter(() => rng.next() < 0.5);
        const v = randomArray(rng, prod(shape), -1, 1);
        const got = sum(tensor(v, shape, { dtype: 'float64' }), axes.length ? axes : undefined);
        const kept = shape.map((d, i) => (axes.length === 0 || axes.includes(i) ? 1 : d));
        const want = new Array<number>(prod(kept)).fill(0);
        const str = strides(shape), kstr = strides(kept);
        for (let i = 0; i < v.length; i++) {
          let o = 0;
          for (let d = 0; d < rank; d++) if (kept[d] !== 1) o += (Math.floor(i / str[d]) % shape[d]) * kstr[d];
          want[o] += v[i];
        }
        expectClose(got.dataSync(), want, 1e-12, 1e-12, `sum [${shape}] over [${axes}] seed=${SEED}`);
      }
    }));
});

// The CPU's own float32 functions (kernels/hostmath.h and tanh in
// kernels/unary.h, written to vectorise) against float64 JavaScript, in units
// in the last place: half the inputs uniform over the range where the
// function is not flat, half random bit patterns (every magnitude,
// subnormals, both signs), and the special values. scripts/hostmath/check.cpp
// runs the same comparison over every float.
describe(`float32 exp, log, log1p, expm1, erf, erfc, tanh and sigmoid accuracy (seed ${SEED})`, () => {
  const ulpDistance = (a: number, b: number): number => {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
    if (a === b) return Object.is(a, b) ? 0 : Infinity; // ±0 must match as well
    const f = new Float32Array([a, b]);
    const i = new Int32Array(f.buffer);
    const ord = (v: number) => (v < 0 ? -(v & 0x7fffffff) : v);
    return Math.abs(ord(i[0]) - ord(i[1]));
  };
  const inputs = (lo: number, hi: number, specials: number[]): Float32Array => {
    const n = 1 << 18;
    const v = new Float32Array(n);
    const bits = new Int32Array(v.buffer);
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) v[i] = rng.uniform(lo, hi);
      else bits[i] = (rng.next() * 2 ** 32) | 0;
    }
    v.set([0, -0, Infinity, -Infinity, NaN, 1e-30, -1e-30, 2 ** -12, -(2 ** -12), 2 ** -149, -(2 ** -149), 1, -1, ...specials]);
    return v;
  };
  const cases: [string, (t: Tensor) => Tensor, (x: number) => number, number, number, number, number[]][] = [
    ['exp', (t) => t.exp(), Math.exp, -110, 90, 1, [88.72283, 88.7229, -87.33655, -103.97, -104, 0.55, 9, 20]],
    ['log', (t) => t.log(), Math.log, 0, 4, 1, [2 ** -126, 1.17549421e-38, 0.70710677, 0.70710683, 1.41421354, 3.4028235e38]],
    ['log1p', (t) => antler.log1p(t), Math.log1p, -1, 3, 1, [-0.99999994, -0.5, -0.29289323, 0.41421357, -8.94069743e-8, 7.45058131e-8, 3.4028235e38]],
    ['expm1', (t) => antler.expm1(t), Math.expm1, -20, 20, 1, [0.34657359, -0.34657359, 60, 60.000004, -30, -30.000002, 88.72283, 88.7229]],
    ['erf', (t) => antler.erf(t), erfRef, -4.5, 4.5, 1, [0.875, -0.875, 0.87499994, 3.6025982e-41]],
    ['erfc', (t) => antler.erfc(t), erfcRef, -4.5, 11, 1, [0.875, -0.875, 0.87499994, 1.08490026, 9.5, 10.05, 10.5, 26]],
    ['tanh', (t) => t.tanh(), Math.tanh, -10, 10, 1, [0.625, 0.62499994, 9, 20]],
    // Below −88.72, e^−x overflows float32 and the result is 0, as in PyTorch (torch.sigmoid(−88.8) = 0).
    ['sigmoid', (t) => t.sigmoid(), (x) => (Math.fround(Math.exp(-x)) === Infinity ? 0 : 1 / (1 + Math.exp(-x))), -110, 90, 2, [-88.72283, -88.7229, 20]],
  ];
  test.each(cases)('%s is within its bound of the float64 value, specials included', (name, fn, ref, lo, hi, bound, specials) =>
    tidy(() => {
      const x = inputs(lo, hi, specials);
      const got = fn(tensor(x, [x.length])).dataSync();
      let worst = 0, at = 0;
      for (let i = 0; i < x.length; i++) {
        const d = ulpDistance(got[i], Math.fround(ref(x[i])));
        if (d > worst) [worst, at] = [d, x[i]];
      }
      if (worst > bound) throw new Error(`${name}: ${worst} ulp at x = ${at} (bound ${bound}; seed ${SEED})`);
    }));
});

describe(`remainder, floorDivide, any, all (torch's %, //, any, all) (seed ${SEED})`, () => {
  // Python's % from the exact fmod (JavaScript's %), moved to the divisor's sign.
  const pyMod = (a: number, b: number) => {
    const m = a % b;
    return m !== 0 && b < 0 !== m < 0 ? m + b : m;
  };

  test('float64 and float32: the divisor\'s sign, exact; floorDivide · b + remainder = a; the gradient of remainder', () =>
    tidy(() => {
      const n = 400;
      const a = randomArray(rng, n, -50, 50), b = randomArray(rng, n, -7, 7).map((v) => (Math.abs(v) < 0.05 ? 0.5 : v));
      for (const dtype of ['float64', 'float32'] as const) {
        const r = (v: number) => (dtype === 'float32' ? Math.fround(v) : v);
        const A = a.map(r), B = b.map(r);
        const rem = Array.from(antler.remainder(tensor(A, [n], { dtype }), tensor(B, [n], { dtype })).dataSync());
        const fd = Array.from(antler.floorDivide(tensor(A, [n], { dtype }), tensor(B, [n], { dtype })).dataSync());
        rem.forEach((v, i) => {
          expect({ i, v }).toEqual({ i, v: r(pyMod(A[i], B[i])) });
          // Away from a quotient that rounds onto an integer, // is ⌊a / b⌋.
          const q = A[i] / B[i];
          if (Math.abs(q - Math.round(q)) > 1e-6) expect({ i, fd: fd[i] }).toEqual({ i, fd: Math.floor(q) });
          // float32's remainder is rounded at the size of b as well as a (a + b when a is small and the signs differ).
          expect(Math.abs(fd[i] * B[i] + v - A[i])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(A[i])) + (dtype === 'float32' ? 1e-5 * (Math.abs(A[i]) + Math.abs(B[i])) : 0));
        });
      }
      // Scalars on either side, and the edge values PyTorch gives.
      expectExact(Array.from(antler.remainder(tensor([5.5, -5.5, -0, Infinity], [4], { dtype: 'float64' }), 2).dataSync()), [1.5, 0.5, -0, NaN]);
      expectExact(Array.from(antler.remainder(7, tensor([3, -3], [2], { dtype: 'float64' })).dataSync()), [1, -2]);
      expectExact(Array.from(antler.floorDivide(tensor([5, -5, 0], [3]), tensor([0, 0, 0], [3])).dataSync()), [Infinity, -Infinity, NaN]);
      expectExact(Array.from(antler.floorDivide(tensor([1], [1], { dtype: 'float64' }), 0.1).dataSync()), [9]);
      expect(Object.is(antler.floorDivide(tensor([-1], [1], { dtype: 'float64' }), 3).dataSync()[0], -1)).toBe(true);
      // d/da = 1, d/db = −⌊a/b⌋; floorDivide passes no gradient.
      const x = tensor(a.slice(0, 20), [20], { dtype: 'float64', requiresGrad: true }), y = tensor(b.slice(0, 20), [20], { dtype: 'float64', requiresGrad: true });
      const w = randomArray(rng, 20);
      antler.sum(antler.mul(antler.remainder(x, y), tensor(w, [20], { dtype: 'float64' }))).backward();
      expectExact(Array.from(x.grad!.dataSync()), w);
      const gy = Array.from(y.grad!.dataSync());
      for (let i = 0; i < 20; i++) {
        const q = a[i] / b[i];
        if (Math.abs(q - Math.round(q)) > 1e-9) expect(Math.abs(gy[i] + w[i] * Math.floor(q))).toBeLessThan(1e-12 * Math.max(1, Math.abs(w[i] * q)));
      }
      expect(antler.floorDivide(x, y).requiresGrad).toBe(false);
    }));

  test('int32 stays int32, exact over the whole range (INT_MIN // −1 wraps instead of trapping); a zero divisor throws', () =>
    tidy(() => {
      const n = 300;
      const a = Array.from({ length: n }, () => rng.int(-2147483648, 2147483647));
      const b = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? rng.int(-5, 5) : rng.int(-100000, 100000)) || 7);
      a[0] = -2147483648;
      b[0] = -1;
      const ai = tensor(a, [n], { dtype: 'int32' }), bi = tensor(b, [n], { dtype: 'int32' });
      const rem = Array.from(antler.remainder(ai, bi).dataSync()), fd = Array.from(antler.floorDivide(ai, bi).dataSync());
      expect(antler.remainder(ai, bi).dtype).toBe('int32');
      for (let i = 0; i < n; i++) {
        // BigInt: exact floor division and its remainder.
        const A = BigInt(a[i]), B = BigInt(b[i]);
        let q = A / B;
        if ((A % B !== 0n) && ((A < 0n) !== (B < 0n))) q -= 1n;
        const wrapped = Number(BigInt.asIntN(32, q));
        expect({ i, fd: fd[i], rem: rem[i] }).toEqual({ i, fd: wrapped, rem: Number(A - q * B) });
      }
      expectAntlerErrorInTidy(() => antler.remainder(ai, 0), 'INVALID_ARGUMENT', /^remainder: integer division by zero \(the divisor is 0\)/);
      expectAntlerErrorInTidy(() => antler.floorDivide(ai, tensor(b.map((v, i) => (i === 5 ? 0 : v)), [n], { dtype: 'int32' })), 'INVALID_ARGUMENT', /^floorDivide: integer division by zero \(the divisor has a 0 entry\)/);
      // A fractional number promotes to float32, as torch's.
      expect(antler.floorDivide(ai, 2.5).dtype).toBe('float32');
    }));

  test("any and all: 0/1 in x's dtype over axes, NaN counts as true, empty slices 0 and 1", () =>
    tidy(() => {
      const shape = [3, 4, 5];
      const v = randomArray(rng, 60).map((x) => (x < -0.3 ? 0 : x > 0.8 ? NaN : x));
      for (let j = 0; j < 5; j++) v[j] = 0; // a slice of zeros along the last axis
      for (let j = 5; j < 10; j++) v[j] = 1; // and one with no zero
      const x = tensor(v, shape, { dtype: 'float64' });
      const truthy = (u: number) => u !== 0;
      const ref = (op: 'any' | 'all') => {
        const out: number[] = [];
        for (let r = 0; r < 12; r++) {
          const row = v.slice(r * 5, r * 5 + 5);
          out.push(op === 'any' ? Number(row.some(truthy)) : Number(row.every(truthy)));
        }
        return out;
      };
      const anyL = antler.any(x, -1), allL = antler.all(x, 2, true);
      expect([anyL.dtype, anyL.shape, allL.shape]).toEqual(['float64', [3, 4], [3, 4, 1]]);
      expectExact(Array.from(anyL.dataSync()), ref('any'));
      expectExact(Array.from(allL.dataSync()), ref('all'));
      expectExact(Array.from(antler.any(x).dataSync()), [Number(v.some(truthy))]);
      expectExact(Array.from(antler.all(x, [0, 1, 2]).dataSync()), [Number(v.every(truthy))]);
      expectExact(Array.from(antler.any(antler.zeros([2, 0]), 1).dataSync()), [0, 0]);
      expectExact(Array.from(antler.all(antler.zeros([2, 0]), 1).dataSync()), [1, 1]);
      expectExact(Array.from(antler.all(tensor([1, 2, 3], [3], { dtype: 'int32' })).dataSync()), [1]);
      expectAntlerErrorInTidy(() => antler.any(x, 3), 'INVALID_ARGUMENT', /^any: axis 3 is out of range for a tensor of rank 3$/);
    }));
});
