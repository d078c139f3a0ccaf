/**
 * Every op on CUDA against the CPU result (and, where cheap, a float64
 * JavaScript reference) on fresh random inputs. Runs where a CUDA device is
 * usable; elsewhere it skips with one line saying why, unless
 * ANTLER_REQUIRE_GPU=1 (npm run test:gpu), which turns the skip into a failure.
 */
import * as antler from '../../lib';
import {
  add,
  AntlerError,
  arange,
  div,
  DType,
  dispose,
  full,
  matmul,
  maximum,
  memory,
  minimum,
  mul,
  ones,
  rand,
  randint,
  randn,
  randperm,
  sub,
  Tensor,
  tensor,
  tidy,
  zeros,
} from '../../lib';
import {
  broadcastShape,
  expectClose,
  expectExact,
  expectNoLeaksInSuite,
  makeRng,
  matmulRef,
  maxAbs,
  philoxRandomRef,
  poisonCheck,
  prod,
  randomArray,
  randomInts,
  tensorCounts,
  typeName,
} from '../helpers';
import { gpuDescribe } from './suite';

// Skips without a CUDA device (one line saying why), fails under ANTLER_REQUIRE_GPU=1: the shared preamble.
const run = gpuDescribe('suite');

const rng = makeRng();
const SEED = rng.seed;
const DEV = 'cuda:0';
const DTYPES: DType[] = ['float32', 'float64', 'int32'];
const FLOAT: DType[] = ['float32', 'float64'];

type Binary = (a: Tensor | number, b: Tensor | number) => Tensor;
const BINARY: { name: string; fn: Binary; int: boolean }[] = [
  { name: 'add', fn: add, int: true },
  { name: 'sub', fn: sub, int: true },
  { name: 'mul', fn: mul, int: true },
  { name: 'div', fn: div, int: false },
  { name: 'maximum', fn: maximum, int: true },
  { name: 'minimum', fn: minimum, int: true },
];

function values(dtype: DType, n: number): number[] {
  if (dtype === 'int32') return randomInts(rng, n, -30000, 30000);
  return randomArray(rng, n, 0.1, 10).map((x) => (rng.next() < 0.5 ? -x : x));
}

/** Runs make() on both devices and returns both value arrays (checking shape and dtype agree). */
function both(make: (device: string) => Tensor, msg: string): { cpu: ArrayLike<number>; gpu: ArrayLike<number>; shape: readonly number[] } {
  return tidy(() => {
    const c = make('cpu');
    const g = make(DEV);
    expect(g.device).toBe(DEV);
    expect({ msg, shape: g.shape, dtype: g.dtype }).toEqual({ msg, shape: c.shape, dtype: c.dtype });
    const gpu = g.dataSync();
    if (g.dtype !== 'int32') {
      const cpuVals = c.dataSync();
      // Poison: a NaN on the GPU where the CPU has none is an unwritten element.
      for (let i = 0; i < gpu.length; i++)
        if (Number.isNaN(gpu[i]) && !Number.isNaN(cpuVals[i])) poisonCheck([gpu[i]], `${msg} index ${i}`);
    }
    return { cpu: c.dataSync(), gpu, shape: c.shape };
  });
}

function randomShapePair(): [number[], number[]] {
  const rank = rng.int(0, 4);
  const out = Array.from({ length: rank }, () => rng.int(1, 6));
  const derive = (): number[] => out.slice(rank - rng.int(0, rank)).map((d) => (rng.next() < 0.3 ? 1 : d));
  return [derive(), derive()];
}

run(`CUDA vs CPU (seed ${SEED})`, () => {
  expectNoLeaksInSuite(tensorCounts);

  test('full / zeros / ones / arange are exact', () => {
    for (const dtype of DTYPES) {
      const shape = [rng.int(0, 7), rng.int(1, 300)];
      const v = dtype === 'int32' ? rng.int(-1e6, 1e6) : rng.uniform(-1e3, 1e3);
      for (const [name, make] of [
        ['zeros', (d: string) => zeros(shape, { dtype, device: d })],
        ['ones', (d: string) => ones(shape, { dtype, device: d })],
        ['full', (d: string) => full(shape, v, { dtype, device: d })],
        ['arange', (d: string) => arange(-7, 1000, dtype === 'int32' ? 3 : 0.75, { dtype, device: d })],
      ] as const) {
        const r = both(make, `${name} ${dtype}`);
        expectExact(r.gpu, r.cpu, `${name} ${dtype} seed=${SEED}`);
      }
    }
  });

  test('rand is bit-identical to CPU (and to the Philox reference) for the same seed', () => {
    for (const dtype of DTYPES) {
      for (let trial = 0; trial < 4; trial++) {
        const n = rng.int(0, 5000);
        const seed = rng.u32() + rng.int(0, 1000) * 2 ** 32;
        const lo = dtype === 'int32' ? rng.int(-1000, 0) : rng.uniform(-3, 0);
        const hi = dtype === 'int32' ? rng.int(1, 100000) : rng.uniform(0, 3);
        const r = both((d) => rand([n], { dtype, seed, minval: lo, maxval: hi, device: d }), `rand ${dtype}`);
        const msg = `rand ${dtype} n=${n} seed=${seed} seed(test)=${SEED}`;
        expectExact(r.gpu, r.cpu, msg);
        expectExact(r.gpu, philoxRandomRef(n, dtype, false, lo, hi, seed, 0), `${msg} vs reference`);
      }
    }
  });

  test('randint and randperm are bit-identical to CPU for the same seed (randperm a permutation)', () => {
    for (let trial = 0; trial < 4; trial++) {
      const seed = rng.u32();
      const lo = rng.int(-1000, 0), hi = rng.int(1, 100000), n = rng.int(0, 5000);
      const ri = both((d) => randint(lo, hi, [n], { seed, device: d }), 'randint');
      expectExact(ri.gpu, ri.cpu, `randint n=${n} seed=${seed} seed(test)=${SEED}`);
      const rp = both((d) => randperm(n, { seed, device: d }), 'randperm');
      expectExact(rp.gpu, rp.cpu, `randperm n=${n} seed=${seed} seed(test)=${SEED}`);
      expect(Array.from(rp.gpu).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
  });

  test('randn is within 1e-6 of CPU (float32) and 1e-12 (float64)', () => {
    for (const dtype of FLOAT) {
      for (let trial = 0; trial < 4; trial++) {
        const n = rng.int(1, 5000);
        const seed = rng.u32();
        const mean = rng.uniform(-2, 2);
        const stddev = rng.uniform(0, 3);
        const r = both((d) => randn([n], { dtype: dtype as 'float32' | 'float64', seed, mean, stddev, device: d }), `randn ${dtype}`);
        const msg = `randn ${dtype} n=${n} seed=${seed} seed(test)=${SEED}`;
        if (dtype === 'float32') expectClose(r.gpu, r.cpu, 1e-6, 1e-6 * (1 + Math.abs(mean) + stddev), msg);
        else expectClose(r.gpu, r.cpu, 1e-12, 1e-14 * (1 + Math.abs(mean) + stddev), msg);
      }
    }
  });

  test('cast between every dtype pair is exact', () => {
    for (const from of DTYPES)
      for (const to of DTYPES) {
        const vals = from === 'int32' ? randomInts(rng, 1000, -(2 ** 31), 2 ** 31 - 1) : randomArray(rng, 1000, -1e6, 1e6);
        const r = both((d) => tensor(vals, undefined, { dtype: from, device: d }).cast(to), `cast ${from}→${to}`);
        expectExact(r.gpu, r.cpu, `cast ${from} → ${to} seed=${SEED}`);
      }
  });

  test('binary ops with broadcasting and scalars are exact', () => {
    for (const op of BINARY)
      for (const dtype of DTYPES) {
        if (dtype === 'int32' && !op.int) continue;
        const pairs: [number[], number[]][] = [[[1000], [1000]], [[0, 3], [1, 3]], [[], [4, 5]]];
        for (let i = 0; i < 8; i++) pairs.push(randomShapePair());
        for (const [sa, sb] of pairs) {
          const va = values(dtype, prod(sa));
          const vb = values(dtype, prod(sb));
          const msg = `${op.name} ${dtype} [${sa}] [${sb}] seed=${SEED}`;
          const r = both((d) => op.fn(tensor(va, sa, { dtype, device: d }), tensor(vb, sb, { dtype, device: d })), msg);
          expect(r.shape).toEqual(broadcastShape(sa, sb));
          expectExact(r.gpu, r.cpu, msg);
        }
        const s = dtype === 'int32' ? rng.int(-50, 50) : rng.uniform(-4, 4);
        const va = values(dtype, 777);
        for (const first of [false, true]) {
          const msg = `${op.name} ${dtype} scalar ${s} first=${first} seed=${SEED}`;
          const r = both((d) => {
            const t = tensor(va, undefined, { dtype, device: d });
            return first ? op.fn(s, t) : op.fn(t, s);
          }, msg);
          expectExact(r.gpu, r.cpu, msg);
        }
      }
  });

  test('maximum/minimum propagate NaN on CUDA', () => {
    for (const dtype of FLOAT) {
      const r = both((d) => maximum(tensor([NaN, 1, 2], undefined, { dtype, device: d }), tensor([0, NaN, 1], undefined, { dtype, device: d })), 'max NaN');
      expectExact(r.gpu, [NaN, NaN, 2], `maximum NaN ${dtype}`);
      const q = both((d) => minimum(tensor([NaN, 1, 2], undefined, { dtype, device: d }), NaN), 'min NaN');
      expectExact(q.gpu, [NaN, NaN, NaN], `minimum NaN ${dtype}`);
    }
  });

  test('matmul: 2-D, vectors, batched/broadcast, transposed, k = 0, large', () => {
    const cases: { sa: number[]; sb: number[]; tA?: boolean; tB?: boolean }[] = [
      { sa: [rng.int(1, 70), 37], sb: [37, rng.int(1, 70)] },
      { sa: [300, 280], sb: [280, 290] },
      { sa: [33], sb: [33, 9] },
      { sa: [9, 33], sb: [33] },
      { sa: [33], sb: [33] },
      { sa: [3, 5, 7], sb: [3, 7, 4] },
      { sa: [2, 1, 5, 7], sb: [3, 7, 4] },
      { sa: [5, 7], sb: [4, 7, 6] },
      { sa: [7, 5], sb: [6, 7], tA: true, tB: true },
      { sa: [2, 7, 5], sb: [7, 6], tA: true },
      { sa: [5, 7], sb: [3, 6, 7], tB: true },
      { sa: [4, 0], sb: [0, 3] },
    ];
    for (const dtype of FLOAT)
      for (const c of cases) {
        const va = randomArray(rng, prod(c.sa));
        const vb = randomArray(rng, prod(c.sb));
        const ra = dtype === 'float32' ? va.map(Math.fround) : va;
        const rb = dtype === 'float32' ? vb.map(Math.fround) : vb;
        const msg = `matmul ${dtype} [${c.sa}]${c.tA ? 'ᵀ' : ''} @ [${c.sb}]${c.tB ? 'ᵀ' : ''} seed=${SEED}`;
        const r = both(
          (d) => matmul(tensor(va, c.sa, { dtype, device: d }), tensor(vb, c.sb, { dtype, device: d }), { transposeA: !!c.tA, transposeB: !!c.tB }),
          msg,
        );
        const want = matmulRef(ra, c.sa, rb, c.sb, !!c.tA, !!c.tB);
        expect(r.shape).toEqual(want.shape);
        poisonCheck(r.gpu, msg);
        const scale = Math.max(maxAbs(want.values), 1e-30);
        const tol = (dtype === 'float32' ? 1e-4 : 1e-12) * scale;
        expectClose(r.gpu, want.values, 0, tol, msg);
      }
  });

  test('sum matches CPU: float64 to 1e-12, float32 to 1e-6, int32 exact', () => {
    for (const n of [0, 1, 1000, rng.int(1, 3_000_000)]) {
      for (const dtype of DTYPES) {
        const vals = dtype === 'int32' ? randomInts(rng, n, -1000, 1000) : randomArray(rng, n, 0, 1);
        const msg = `sum ${dtype} n=${n} seed=${SEED}`;
        const r = both((d) => tensor(vals, undefined, { dtype, device: d }).sum(), msg);
        expect(r.shape).toEqual([]);
        if (dtype === 'int32') expectExact(r.gpu, r.cpu, msg);
        else expectClose(r.gpu, r.cpu, dtype === 'float64' ? 1e-12 : 1e-6, 0, msg);
      }
    }
  });

  test("to('cuda') / to('cpu') round trip and async reads", async () => {
    for (const dtype of DTYPES) {
      const vals = dtype === 'int32' ? randomInts(rng, 513, -1e9, 1e9) : randomArray(rng, 513, -1e3, 1e3);
      const host = tensor(vals, [27, 19], { dtype });
      const dev = host.to('cuda');
      expect([dev.device, dev.shape, dev.dtype]).toEqual([DEV, [27, 19], dtype]);
      const back = dev.to('cpu');
      expect(back.device).toBe('cpu');
      expectExact(back.dataSync(), host.dataSync(), `round trip ${dtype}`);
      const read = await dev.data();
      expect(typeName(read)).toBe(typeName(host.dataSync()));
      expectExact(read, host.dataSync(), `data() ${dtype}`);
      const view = dev.reshape([19, 27]);
      expectExact(await view.data(), host.dataSync(), `view data() ${dtype}`);
      dispose([host, dev, back, view]);
    }
  });

  test('memory() shows cuda:0 bytes and returns to baseline after dispose', () => {
    const before = memory().devices[DEV]?.numBytes ?? 0;
    const beforeTensors = memory().devices[DEV]?.numTensors ?? 0;
    const a = zeros([1000], { device: 'cuda' });
    const b = ones([10, 10], { dtype: 'float64', device: 'cuda' });
    const m = memory().devices[DEV]!;
    expect(m.numBytes - before).toBe(4000 + 800);
    expect(m.numTensors - beforeTensors).toBe(2);
    expect(m.peakBytes).toBeGreaterThanOrEqual(m.numBytes);
    dispose([a, b]);
    expect(memory().devices[DEV]!.numBytes).toBe(before);
    expect(memory().devices[DEV]!.numTensors).toBe(beforeTensors);
  });

  test('profile() on CUDA: ops on cuda:0 with their output shapes and bytes, each waited for', () => {
    const x = ones([256, 256], { device: 'cuda' });
    const info = antler.profile(() => antler.tidy(() => antler.sum(antler.tanh(antler.matmul(x, x))).item()));
    expect(info.result).toBeCloseTo(256 * 256 * Math.tanh(256), 0);
    expect(info.kernelNames.slice(0, 3)).toEqual(['matmul', 'unary:tanh', 'reduce:sum']);
    expect(info.kernels.slice(0, 3).map((k) => k.device)).toEqual([DEV, DEV, DEV]);
    expect(info.kernels[0].outputShapes).toEqual([[256, 256]]);
    expect(info.kernels[0].bytesAdded).toBe(4 * 256 * 256);
    expect(info.newBytes).toBe(0);
    x.dispose();
  });

  test('time() on CUDA: the ops counted, with and without per-op waits; the result is what fn returned', () => {
    const x = ones([256, 256], { device: 'cuda' });
    for (const sync of [true, false]) {
      const t = antler.time(() => antler.tidy(() => antler.sum(antler.tanh(antler.matmul(x, x))).item()), { sync });
      expect(t.result).toBeCloseTo(256 * 256 * Math.tanh(256), 0);
      expect(t.ops).toBeGreaterThanOrEqual(4); // matmul, tanh, sum, the read
      expect(t.wallMs).toBeGreaterThanOrEqual(t.kernelMs);
    }
    x.dispose();
  });

  test('mixing devices is DEVICE_MISMATCH', () => {
    const c = zeros([2]);
    const g = zeros([2], { device: 'cuda' });
    for (const call of [() => add(c, g), () => matmul(c.reshape([1, 2]), g.reshape([2, 1]))]) {
      let err: unknown;
      try {
        tidy(() => {
          call();
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AntlerError);
      expect((err as AntlerError).code).toBe('DEVICE_MISMATCH');
    }
    dispose([c, g]);
  });

  test('an impossible allocation is OUT_OF_MEMORY and existing tensors survive', () => {
    const vals = randomArray(rng, 100);
    const keepHost = tensor(vals, undefined, { dtype: 'float64' });
    const keepDev = keepHost.to('cuda');
    const before = memory().devices[DEV]!.numBytes;
    let err: unknown;
    try {
      zeros([2 ** 37], { device: 'cuda' }).dispose(); // 512 GiB of float32
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AntlerError);
    expect((err as AntlerError).code).toBe('OUT_OF_MEMORY');
    expect(memory().devices[DEV]!.numBytes).toBe(before);
    expectExact(keepDev.dataSync(), vals, 'device tensor after OOM');
    const after = add(keepDev, 1);
    expectExact(after.dataSync(), vals.map((v) => v + 1), 'ops still run after OOM');
    dispose([keepHost, keepDev, after]);
  });
});
