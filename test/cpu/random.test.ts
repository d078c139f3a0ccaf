/**
 * rand/randn against a JavaScript Philox4x32-10 and the lane layout of
 * native/kernels/philox.h, Random123's known-answer vectors, determinism
 * across calls and processes, and coarse statistics.
 */
import { execFileSync } from 'node:child_process';
import { dispose, dropout, memory, multinomial, ones, rand, randint, randn, randperm, setSeed, Tensor, tensor, tidy } from '../../lib';
import {
  addonPath,
  expectAntlerError,
  expectClose,
  expectExact,
  expectNoLeaksInSuite,
  makeRng,
  mulhi32,
  mulhilo32BigInt,
  philox4x32,
  philoxRandomRef,
  poisonCheck,
  prod,
  RandomDtype,
  tensorCounts,
  uniformFloat,
} from '../helpers';

const rng = makeRng();
const SEED = rng.seed;

function bytesOf(t: Tensor): Buffer {
  const d = t.dataSync();
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** A random seed below 2^53 (with hi word set half the time, to exercise key[1]). */
function randomSeed(): number {
  const lo = rng.u32();
  const hi = rng.next() < 0.5 ? 0 : rng.int(0, 2 ** 21 - 1);
  return hi * 2 ** 32 + lo;
}

function randomShapeWithSize(): number[] {
  const kind = rng.int(0, 5);
  if (kind === 0) return [0];
  if (kind === 1) return [rng.int(1, 3), 0, rng.int(1, 3)];
  if (kind === 2) return [];
  const rank = rng.int(1, 3);
  const shape = Array.from({ length: rank }, () => rng.int(1, 9));
  return shape;
}

expectNoLeaksInSuite(tensorCounts);

describe(`Philox4x32-10 reference (seed ${SEED})`, () => {
  test('16-bit-split mulhi matches BigInt', () => {
    for (let i = 0; i < 2000; i++) {
      const a = rng.u32();
      const b = i < 4 ? 0xffffffff : rng.u32();
      const [hi, lo] = mulhilo32BigInt(a, b);
      expect([mulhi32(a, b), Math.imul(a, b) >>> 0]).toEqual([hi, lo]);
    }
  });

  test("Random123 KAT: counter = key = all 0xffffffff", () => {
    const w = philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff);
    expect(w).toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
  });

  test('Random123 KAT: counter = key = 0', () => {
    expect(philox4x32(0, 0, 0, 0, 0, 0)).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  });

  test('Random123 KAT: pi digits', () => {
    // From Random123's kat_vectors: philox4x32 10 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0
    const w = philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0);
    expect(w).toEqual([0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });
});

describe(`rand/randn vs the Philox reference (seed ${SEED})`, () => {
  test('rand([4], {seed: 0}) is the counter=key=0 KAT mapped to [0, 1)', () => {
    const t = rand([4], { seed: 0 });
    const expected = [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8].map((w) => (w >>> 8) * 2 ** -24);
    expect(t.dtype).toBe('float32');
    expectExact(t.dataSync(), expected, 'rand KAT');
    t.dispose();
  });

  test('rand([8], {seed: 0}) second block is counter (1, 0, 0, 0)', () => {
    const t = rand([8], { seed: 0 });
    const w = philox4x32(1, 0, 0, 0, 0, 0);
    expectExact(t.dataSync().subarray(4), w.map(uniformFloat), 'rand block 1');
    t.dispose();
  });

  const cases: { dtype: RandomDtype; normal: boolean; rtol: number; atol: number }[] = [
    { dtype: 'float32', normal: false, rtol: 0, atol: 0 },
    { dtype: 'float64', normal: false, rtol: 0, atol: 0 },
    { dtype: 'int32', normal: false, rtol: 0, atol: 0 },
    { dtype: 'float32', normal: true, rtol: 1e-6, atol: 1e-6 },
    { dtype: 'float64', normal: true, rtol: 1e-12, atol: 1e-14 },
  ];

  for (const c of cases) {
    const name = `${c.normal ? 'randn' : 'rand'} ${c.dtype}`;
    test(`${name}: default parameters, random seeds and shapes`, () => {
      for (let trial = 0; trial < 12; trial++) {
        const shape = trial === 0 ? [0] : trial === 1 ? [] : trial === 2 ? [rng.int(200, 700)] : randomShapeWithSize();
        const seed = trial === 3 ? 2 ** 53 - 1 : randomSeed();
        const t = c.normal ? randn(shape, { dtype: c.dtype as 'float32' | 'float64', seed }) : rand(shape, { dtype: c.dtype, seed });
        expect(t.shape).toEqual(shape);
        expect(t.dtype).toBe(c.dtype);
        const got = t.dataSync();
        t.dispose();
        const a = c.normal ? 0 : 0;
        const b = c.normal ? 1 : c.dtype === 'int32' ? 2 ** 31 - 1 : 1;
        const ref = philoxRandomRef(prod(shape), c.dtype, c.normal, a, b, seed, 0);
        const msg = `${name} seed=${seed} shape=[${shape}]`;
        if (c.rtol === 0) expectExact(got, ref, msg);
        else expectClose(got, ref, c.rtol, c.atol, msg);
        if (c.dtype !== 'int32') poisonCheck(got, msg);
      }
    });

    test(`${name}: affine parameters`, () => {
      for (let trial = 0; trial < 8; trial++) {
        const shape = [rng.int(1, 67)];
        const seed = randomSeed();
        let a: number;
        let b: number;
        let t: Tensor;
        if (c.normal) {
          a = rng.uniform(-100, 100);
          b = trial === 0 ? 0 : rng.uniform(0, 20);
          t = randn(shape, { dtype: c.dtype as 'float32' | 'float64', seed, mean: a, stddev: b });
        } else if (c.dtype === 'int32') {
          a = rng.int(-1000000, 1000000);
          b = trial === 0 ? a : trial === 1 ? a + 1 : a + rng.int(1, 5000000);
          t = rand(shape, { dtype: 'int32', seed, minval: a, maxval: b });
        } else {
          a = rng.uniform(-50, 50);
          b = trial === 0 ? a : a + rng.uniform(0, 100);
          t = rand(shape, { dtype: c.dtype, seed, minval: a, maxval: b });
        }
        const got = t.dataSync();
        t.dispose();
        const ref = philoxRandomRef(shape[0], c.dtype, c.normal, a, b, seed, 0);
        const msg = `${name} seed=${seed} a=${a} b=${b} n=${shape[0]}`;
        if (c.rtol === 0) expectExact(got, ref, msg);
        else expectClose(got, ref, c.rtol, c.atol * Math.max(1, Math.abs(a) + b), msg);
        if (!c.normal) {
          for (let i = 0; i < got.length; i++) {
            const lo = Math.min(a, Math.fround(a));
            const hi = Math.max(b, Math.fround(b));
            const ok = b === a ? got[i] === Math.fround(a) || got[i] === a : got[i] >= lo && got[i] <= hi;
            if (!ok) throw new Error(`${msg}: value ${got[i]} at ${i} is outside [${a}, ${b})`);
          }
          if (c.dtype === 'int32' && b > a) for (const v of got) if (v >= b) throw new Error(`${msg}: int32 value ${v} >= maxval`);
        }
      }
    });
  }

  test('float32 rand stays below maxval when u is the largest value below 1', () => {
    // Seed 8, element 3729118 draws the word 0xffffffxx, so u = 1 - 2^-24 (found by search, checked here).
    const seed = 8;
    const index = 3729118;
    const word = philox4x32(Math.floor(index / 4), 0, 0, 0, seed, 0)[index % 4];
    expect(word >>> 8).toBe(0xffffff);
    for (const [minval, maxval] of [[1, 2], [10, 20], [-3, 5]]) {
      const t = rand([index + 1], { seed, minval, maxval });
      const v = t.dataSync()[index];
      t.dispose();
      // [minval, maxval) is documented; minval + (maxval - minval) * (1 - 2^-24) rounds up to maxval in float.
      expect({ minval, maxval, v, belowMax: v < maxval }).toEqual({ minval, maxval, v, belowMax: true });
    }
  });

  test('int32 rand in a narrow range covers every value, never maxval', () => {
    const seed = randomSeed();
    const t = rand([4000], { dtype: 'int32', seed, minval: -3, maxval: 4 });
    const got = Array.from(t.dataSync());
    t.dispose();
    expectExact(got, philoxRandomRef(4000, 'int32', false, -3, 4, seed, 0), `seed=${seed}`);
    expect(new Set(got)).toEqual(new Set([-3, -2, -1, 0, 1, 2, 3]));
  });
});

describe(`determinism (seed ${SEED})`, () => {
  test('same seed gives bit-identical tensors across calls', () => {
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      const seed = randomSeed();
      const shape = [rng.int(1, 50), rng.int(1, 7)];
      const [x, y] = [rand(shape, { dtype, seed }), rand(shape, { dtype, seed })];
      expect(bytesOf(x).equals(bytesOf(y))).toBe(true);
      dispose([x, y]);
    }
    const seed = randomSeed();
    const [x, y] = [randn([33], { dtype: 'float64', seed }), randn([33], { dtype: 'float64', seed })];
    expect(bytesOf(x).equals(bytesOf(y))).toBe(true);
    dispose([x, y]);
  });

  test('same seed gives bit-identical bytes in a separate node process', () => {
    const draws: { shape: number[]; dtype: RandomDtype; normal: boolean; a: number; b: number; seed: number }[] = [
      { shape: [37], dtype: 'float32', normal: false, a: 0, b: 1, seed: randomSeed() },
      { shape: [5, 7], dtype: 'float64', normal: false, a: -2, b: 3, seed: randomSeed() },
      { shape: [29], dtype: 'int32', normal: false, a: -100, b: 1000, seed: randomSeed() },
      { shape: [41], dtype: 'float32', normal: true, a: 1, b: 2, seed: randomSeed() },
      { shape: [3, 3], dtype: 'float64', normal: true, a: 0, b: 1, seed: randomSeed() },
    ];
    const script = `
      const addon = require(process.env.CHILD_ADDON);
      const draws = JSON.parse(process.env.CHILD_DRAWS);
      const out = draws.map((d) => {
        const h = addon.random(d.shape, d.dtype, 'cpu', d.normal, d.a, d.b, d.seed, 0);
        const v = addon.dataSync(h);
        addon.dispose(h);
        return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
      });
      process.stdout.write(JSON.stringify(out));
    `;
    const stdout = execFileSync(process.execPath, ['-e', script], {
      env: { ...process.env, CHILD_ADDON: addonPath(), CHILD_DRAWS: JSON.stringify(draws) },
      encoding: 'utf8',
    });
    const child = JSON.parse(stdout) as string[];
    draws.forEach((d, i) => {
      const t = d.normal
        ? randn(d.shape, { dtype: d.dtype as 'float32' | 'float64', mean: d.a, stddev: d.b, seed: d.seed })
        : rand(d.shape, { dtype: d.dtype, minval: d.a, maxval: d.b, seed: d.seed });
      const here = bytesOf(t).toString('base64');
      t.dispose();
      expect({ draw: d, bytes: child[i] }).toEqual({ draw: d, bytes: here });
    });
  });

  test('unseeded draws differ call to call', () => {
    const [x, y] = [rand([64]), rand([64])];
    expect(bytesOf(x).equals(bytesOf(y))).toBe(false);
    const [p, q] = [randn([64], { dtype: 'float64' }), randn([64], { dtype: 'float64' })];
    expect(bytesOf(p).equals(bytesOf(q))).toBe(false);
    dispose([x, y, p, q]);
  });

  test('setSeed makes the following unseeded sequence repeatable and follows (seed, stream 1, 2, ...)', () => {
    const seed = randomSeed();
    const run = (): Buffer[] =>
      tidy(() => {
        setSeed(seed);
        const ts = [rand([10]), randn([6], { dtype: 'float64' }), rand([5], { dtype: 'int32', minval: 0, maxval: 10 })];
        return ts.map(bytesOf);
      });
    const first = run();
    const second = run();
    first.forEach((b, i) => expect(b.equals(second[i])).toBe(true));
    // An unseeded draw after setSeed(s) is stream 1, 2, 3 of key s.
    expectExact(new Float32Array(first[0].buffer, first[0].byteOffset, 10), philoxRandomRef(10, 'float32', false, 0, 1, seed, 1), `seed=${seed}`);
    expectClose(new Float64Array(first[1].buffer.slice(first[1].byteOffset, first[1].byteOffset + 48)), philoxRandomRef(6, 'float64', true, 0, 1, seed, 2), 1e-12, 1e-14, `seed=${seed}`);
    expectExact(new Int32Array(first[2].buffer.slice(first[2].byteOffset, first[2].byteOffset + 20)), philoxRandomRef(5, 'int32', false, 0, 10, seed, 3), `seed=${seed}`);
    // Reseeding differently changes the numbers.
    setSeed((seed + 1) % 2 ** 53);
    const other = tidy(() => bytesOf(rand([10])));
    expect(other.equals(first[0])).toBe(false);
  });
});

describe(`randint and randperm, as torch's (seed ${SEED})`, () => {
  test('randint(low, high, shape) and randint(high, shape) are the Philox int32 draw of [low, high); another dtype holds the same integers', () => {
    for (let trial = 0; trial < 6; trial++) {
      const seed = randomSeed();
      const low = trial === 0 ? -(2 ** 31) : rng.int(-50, 50);
      const high = trial === 0 ? 2 ** 31 - 1 : low + rng.int(1, 9);
      const shape = [rng.int(1, 40), rng.int(1, 3)];
      const n = prod(shape);
      tidy(() => {
        const t = randint(low, high, shape, { seed });
        expect(t.dtype).toBe('int32');
        expect(t.shape).toEqual(shape);
        const want = philoxRandomRef(n, 'int32', false, low, high, seed, 0);
        expectExact(t.dataSync(), want, `randint(${low}, ${high}) seed=${seed}`);
        for (const v of t.dataSync()) expect(v >= low && v < high).toBe(true);
        expectExact(randint(low, high, shape, { seed, dtype: 'float64' }).dataSync(), want, 'float64');
        if (high > 0 && high <= 2 ** 24) expectExact(randint(high, shape, { seed }).dataSync(), philoxRandomRef(n, 'int32', false, 0, high, seed, 0), `randint(${high})`);
      });
    }
    // Unseeded: the global generator's next stream, as rand's.
    const seed = randomSeed();
    setSeed(seed);
    tidy(() => {
      rand([2]);
      expectExact(randint(3, 10, [7]).dataSync(), philoxRandomRef(7, 'int32', false, 3, 10, seed, 2), `stream 2 of ${seed}`);
    });
  });

  test('randperm(n) is the stable argsort of n Philox float64 keys: a permutation, every order alike', () => {
    for (const n of [0, 1, 2, rng.int(3, 10), rng.int(100, 3000)]) {
      const seed = randomSeed();
      tidy(() => {
        const p = randperm(n, { seed });
        expect(p.dtype).toBe('int32');
        expect(p.shape).toEqual([n]);
        const keys = philoxRandomRef(n, 'float64', false, 0, 1, seed, 0);
        const want = Array.from({ length: n }, (_, i) => i).sort((a, b) => keys[a] - keys[b] || a - b);
        expectExact(p.dataSync(), want, `randperm(${n}) seed=${seed}`);
        expect([...p.dataSync()].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        expectExact(randperm(n, { seed, dtype: 'float32' }).dataSync(), want, 'float32');
      });
    }
    // Every order of 3 appears over 600 seeds (each order's count is Binomial(600, 1/6): a miss has probability 6·(5/6)^600 < 1e-46).
    const seen = new Set<string>();
    tidy(() => {
      for (let i = 0; i < 600; i++) seen.add(Array.from(randperm(3, { seed: randomSeed() }).dataSync()).join(''));
    });
    expect([...seen].sort()).toEqual(['012', '021', '102', '120', '201', '210']);
  });

  test('bad arguments are refused, naming what was passed', () => {
    const before = memory().numTensors;
    expectAntlerError(() => randint(3, 3, [2]), 'INVALID_ARGUMENT', /^randint: low 3 must be below high 3 \(the values are drawn from \[low, high\)\)$/);
    expectAntlerError(() => randint(0, [2]), 'INVALID_ARGUMENT', /^randint: low 0 must be below high 0/);
    expectAntlerError(() => randint(1.5, [2]), 'INVALID_ARGUMENT', /^randint: high must be an integer in \[-2\^31, 2\^31\); got 1\.5/);
    expectAntlerError(() => randint(0, 2 ** 31, [2]), 'INVALID_ARGUMENT', /^randint: high must be an integer/);
    expectAntlerError(() => randint(-(2 ** 31) - 1, 0, [2]), 'INVALID_ARGUMENT', /^randint: low must be an integer/);
    expectAntlerError(() => randint(5, {} as never), 'INVALID_ARGUMENT', /^randint: shape must be an array/);
    expectAntlerError(() => randint(5, [2], { requiresGrad: true }), 'DTYPE_MISMATCH', /^randint: int32 tensors cannot require gradients/);
    expectAntlerError(() => randint(5, [2], { mean: 1 } as never), 'INVALID_ARGUMENT', /^randint: /);
    expectAntlerError(() => randperm(4, { requiresGrad: true }), 'DTYPE_MISMATCH', /^randperm: int32 tensors cannot require gradients/);
    tidy(() => {
      const f = randint(5, [3], { dtype: 'float64', requiresGrad: true });
      expect(f.requiresGrad && f.isLeaf).toBe(true);
      expect(randperm(3, { dtype: 'float32', requiresGrad: true }).requiresGrad).toBe(true);
    });
    expectAntlerError(() => randperm(-1), 'INVALID_ARGUMENT', /^randperm: n must be an integer in \[0, 2\^31\); got -1$/);
    expectAntlerError(() => randperm(2.5), 'INVALID_ARGUMENT', /^randperm: n must be an integer/);
    expectAntlerError(() => randperm(3, { dtype: 'int8' } as never), 'INVALID_ARGUMENT', /^randperm: /);
    expect(memory().numTensors).toBe(before);
  });
});

describe(`draws with a seed of their own (seed ${SEED})`, () => {
  test('leave the global generator where it was: the next unseeded draw after setSeed(s) is still stream 1 of s', () => {
    const seed = randomSeed();
    setSeed(seed);
    tidy(() => {
      rand([3], { seed: randomSeed() });
      randn([2], { dtype: 'float64', seed: randomSeed() });
      dropout(ones([5]), 0.5, { seed: randomSeed() });
      multinomial(tensor([0.2, 0.3, 0.5], [3]), 2, { seed: randomSeed() });
      multinomial(tensor([0.2, 0.3, 0.5], [3]), 4, { replacement: true, seed: randomSeed() });
      randint(2, 9, [4], { seed: randomSeed() });
      randperm(6, { seed: randomSeed() });
    });
    const t = rand([10]);
    expectExact(t.dataSync(), philoxRandomRef(10, 'float32', false, 0, 1, seed, 1), `seed=${seed}`);
    t.dispose();
  });
});

describe(`statistics of large draws (seed ${SEED})`, () => {
  const N = 1_000_000;
  function moments(v: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
    let s = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < v.length; i++) {
      s += v[i];
      if (v[i] < min) min = v[i];
      if (v[i] > max) max = v[i];
    }
    const mean = s / v.length;
    let q = 0;
    for (let i = 0; i < v.length; i++) q += (v[i] - mean) ** 2;
    return { mean, std: Math.sqrt(q / v.length), min, max };
  }

  for (const dtype of ['float32', 'float64'] as const) {
    test(`rand ${dtype}: mean 0.5, std 1/sqrt(12), inside [0, 1)`, () => {
      const t = rand([N], { dtype, seed: randomSeed() });
      const m = moments(t.dataSync());
      t.dispose();
      expect(Math.abs(m.mean - 0.5)).toBeLessThan(0.002);
      expect(Math.abs(m.std - 1 / Math.sqrt(12))).toBeLessThan(0.002);
      expect(m.min).toBeGreaterThanOrEqual(0);
      expect(m.max).toBeLessThan(1);
    });

    test(`randn ${dtype}: mean 0, std 1`, () => {
      const t = randn([N], { dtype, seed: randomSeed() });
      const m = moments(t.dataSync());
      t.dispose();
      // 6 standard errors of the mean at N = 10⁶ (0.005 was 5: a chance failure 6e-7 a check).
      expect(Math.abs(m.mean)).toBeLessThan(6 / Math.sqrt(N));
      expect(Math.abs(m.std - 1)).toBeLessThan(0.005);
      expect(Number.isFinite(m.min) && Number.isFinite(m.max)).toBe(true);
    });
  }

  test('randn with mean/stddev shifts and scales', () => {
    const t = randn([N], { mean: 3, stddev: 0.5, seed: randomSeed() });
    const m = moments(t.dataSync());
    t.dispose();
    expect(Math.abs(m.mean - 3)).toBeLessThan((6 / Math.sqrt(N)) * 0.5);
    expect(Math.abs(m.std - 0.5)).toBeLessThan(0.005 * 0.5);
  });
});
