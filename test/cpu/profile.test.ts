/**
 * profile(fn) (TF.js's tf.profile): the ops run, in order, with their output
 * shapes and the bytes and tensors each added (checked against the sizes of
 * what they return), totals for what fn left live and how high memory went,
 * the summary and table, async functions, errors, and that profiling leaves
 * results and the addon as they were.
 */
import * as antler from '../../lib';
import { tensor, tidy } from '../../lib';
import { native, rawNative } from '../../lib/native';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

/** An async fn with an op on each side of an await: −x². */
const squareAwaitNeg = (x: antler.Tensor) => async () => {
  const y = antler.square(x);
  await new Promise((r) => setTimeout(r, 1));
  const z = antler.neg(y);
  y.dispose();
  return z;
};

describe(`profile (seed ${SEED})`, () => {
  test('records each op in order with its output shape and the bytes and tensors it added; totals are what fn left', () => {
    const a = rng.int(2, 40), b = rng.int(2, 40);
    const x = tensor(randomArray(rng, a * b), [a, b]);
    try {
      const before = antler.memory();
      const info = antler.profile(() => {
        const y = antler.add(x, x);
        const z = antler.exp(y);
        const s = antler.sum(z, 1);
        return [y, z, s];
      });
      try {
        expect(info.kernelNames).toEqual(['binary:add', 'unary:exp', 'reduce:sum']);
        expect(info.kernels.map((k) => k.outputShapes)).toEqual([[[a, b]], [[a, b]], [[a]]]);
        expect(info.kernels.map((k) => k.bytesAdded)).toEqual([4 * a * b, 4 * a * b, 4 * a]);
        expect(info.kernels.map((k) => k.tensorsAdded)).toEqual([1, 1, 1]);
        expect(info.kernels.map((k) => k.device)).toEqual(['cpu', 'cpu', 'cpu']);
        expect(info.kernels.map((k) => k.totalBytesSnapshot)).toEqual([1, 2, 3].map((i) => before.numBytes + 4 * a * b * Math.min(i, 2) + (i === 3 ? 4 * a : 0)));
        expect([info.newTensors, info.newBytes]).toEqual([3, 4 * (2 * a * b + a)]);
        expect(info.peakBytes).toBe(before.numBytes + 4 * (2 * a * b + a));
        expect(info.kernelMs).toBeCloseTo(info.kernels.reduce((s, k) => s + k.ms, 0), 10);
        expect(info.wallMs).toBeGreaterThanOrEqual(info.kernelMs);
        for (const k of info.kernels) expect(k.ms).toBeGreaterThanOrEqual(0);
        // The result is fn's own, values as without profiling.
        const plain = tidy(() => Array.from(antler.sum(antler.exp(antler.add(x, x)), 1).dataSync()));
        expect(Array.from(info.result[2].dataSync())).toEqual(plain);
      } finally {
        info.result.forEach((t) => t.dispose());
      }
    } finally {
      x.dispose();
    }
  });

  test("each kernel has TF.js's kernelTimeMs (its ms) and inputShapes (the tensors it was given, an array's too, options passed over)", () => {
    const a = rng.int(2, 20), b = rng.int(2, 20);
    const x = tensor(randomArray(rng, a * b), [a, b]);
    const p = tensor(randomArray(rng, b), [b]);
    const opt = new antler.optim.Adamax([p]);
    try {
      p.grad = tensor(randomArray(rng, b), [b]);
      const info = antler.profile(() => {
        const y = antler.add(x, x);
        const s = antler.sum(y, 1);
        opt.step();
        return [y, s, antler.concat([x, y], 0)];
      });
      try {
        expect(info.kernelNames).toEqual(['binary:add', 'reduce:sum', 'full', 'full', 'adamaxStep', 'concat']);
        expect(info.kernels.map((k) => k.inputShapes)).toEqual([[[a, b], [a, b]], [[a, b]], [], [], [[b], [b], [b], [b]], [[a, b], [a, b]]]);
        for (const k of info.kernels) expect(k.kernelTimeMs).toBe(k.ms);
      } finally {
        info.result.forEach((t) => t.dispose());
      }
    } finally {
      opt.dispose?.();
      for (const [, st] of opt.state) for (const v of Object.values(st)) if (v instanceof antler.Tensor) v.dispose();
      p.grad = null;
      p.dispose();
      x.dispose();
    }
  });

  test("a gradient accumulated into an existing .grad is listed as 'addScaledInPlace', not as the SGD step it runs on; SGD's own step stays 'sgdStep'", () => {
    const n = rng.int(2, 20);
    const p = tensor(randomArray(rng, n), [n]).requiresGrad_(true);
    const opt = new antler.optim.SGD([p], { lr: 0.1 });
    try {
      p.grad = tensor(randomArray(rng, n), [n]);
      const info = antler.profile(() => {
        tidy(() => antler.sum(antler.mul(p, p)).backward());
        opt.step();
      });
      expect(info.kernelNames.filter((k) => k === 'addScaledInPlace' || k === 'sgdStep')).toEqual(['addScaledInPlace', 'sgdStep']);
      expect(info.kernels.find((k) => k.name === 'addScaledInPlace')!.inputShapes).toEqual([[n], [n]]);
      // Outside a profile the helper runs as before.
      const before = Array.from(p.grad!.dataSync());
      tidy(() => antler.sum(p).backward());
      expectClose(p.grad!.dataSync(), before.map((v) => v + 1), 1e-6, 1e-6, 'accumulated .grad');
    } finally {
      p.grad = null;
      p.dispose();
    }
  });

  test("peakBytes sees a temporary fn freed before returning; memory()'s own peaks are not reset", () => {
    const n = rng.int(100_000, 300_000);
    antler.resetPeakMemory();
    // An earlier, higher peak: profile must not lower memory()'s record of it.
    tidy(() => antler.zeros([3 * n]).dataSync().length);
    const peakBefore = antler.memory().devices.cpu.peakBytes;
    const base = antler.memory().numBytes;
    const info = antler.profile(() =>
      tidy(() => {
        const big = antler.ones([n]);
        return antler.sum(big).item();
      }),
    );
    expect(info.result).toBe(n);
    expect([info.newTensors, info.newBytes]).toEqual([0, 0]);
    expect(info.peakBytes).toBeGreaterThanOrEqual(base + 4 * n);
    expect(info.peakBytes).toBeLessThan(base + 4 * n + 4096);
    expect(antler.memory().devices.cpu.peakBytes).toBe(peakBefore);
    // Above the earlier peak: memory()'s new peak is fn's, whole (not its rise over the old one).
    const info2 = antler.profile(() => tidy(() => antler.sum(antler.ones([5 * n])).item()));
    expect(info2.peakBytes).toBe(antler.memory().devices.cpu.peakBytes);
    expect(info2.peakBytes).toBeGreaterThanOrEqual(base + 20 * n);
    expect(info2.peakBytes).toBeLessThan(base + 20 * n + 4096);
  });

  test('summary groups by op, most time first; the table lists them; kernel names carry the elementwise op', () => {
    const x = tensor(randomArray(rng, 64), [8, 8]);
    try {
      const reps = rng.int(2, 5);
      const info = antler.profile(() =>
        tidy(() => {
          let h = x;
          for (let i = 0; i < reps; i++) h = antler.tanh(antler.matmul(h, x));
          return null;
        }),
      );
      const rows = Object.fromEntries(info.summary.map((r) => [r.name, r]));
      expect(rows['matmul'].calls).toBe(reps);
      expect(rows['unary:tanh'].calls).toBe(reps);
      expect(info.summary.reduce((s, r) => s + r.calls, 0)).toBe(info.kernels.length);
      for (let i = 1; i < info.summary.length; i++) expect(info.summary[i - 1].ms).toBeGreaterThanOrEqual(info.summary[i].ms);
      const table = info.table();
      expect(table.split('\n')[0]).toMatch(/^op\s+calls\s+total ms\s+mean ms\s+time\s+bytes added$/);
      expect(table).toMatch(new RegExp(`matmul\\s+${reps}\\s`));
      expect(table).toMatch(new RegExp(`unary:tanh\\s+${reps}\\s`));
      expect(info.table(1).split('\n')).toHaveLength(4); // header, rule, one row, "… 1 more ops"
      expectAntlerError(() => info.table(0), 'INVALID_ARGUMENT', /top must be a positive integer; got 0/);
    } finally {
      x.dispose();
    }
  });

  test('an async fn gives a Promise of the report, with the ops on both sides of an await', async () => {
    const x = tensor([1, 2, 3], [3]);
    try {
      const pending = antler.profile(squareAwaitNeg(x));
      expect(pending).toBeInstanceOf(Promise);
      const info = await pending;
      try {
        expect(info.kernelNames).toEqual(['unary:square', 'unary:neg']);
        expect(Array.from(info.result.dataSync())).toEqual([-1, -4, -9]);
        expect(info.newTensors).toBe(1);
      } finally {
        info.result.dispose();
      }
      expect(native()).toBe(rawNative());
    } finally {
      x.dispose();
    }
  });

  test('errors: not a function, bad options, nesting; an error in fn is rethrown and profiling ends', () => {
    expectAntlerError(() => antler.profile(3 as never), 'INVALID_ARGUMENT', /expected a function to run; got 3/);
    expectAntlerError(() => antler.profile(() => 1, { sync: 'yes' } as never), 'INVALID_ARGUMENT', /sync/);
    expectAntlerError(() => antler.profile(() => 1, { async: true } as never), 'INVALID_ARGUMENT', /async/);
    expectAntlerError(() => antler.profile(() => antler.profile(() => 1)), 'INVALID_ARGUMENT', /already running \(they do not nest\)/);
    expect(() =>
      antler.profile(() =>
        tidy(() => {
          antler.zeros([2]);
          throw new RangeError('boom');
        }),
      ),
    ).toThrow(RangeError);
    expect(native()).toBe(rawNative());
    // A bad op inside is the op's own AntlerError, and the next profile runs.
    expectAntlerError(() => antler.profile(() => tidy(() => antler.matmul(antler.zeros([2, 3]), antler.zeros([2, 3])))), 'SHAPE_MISMATCH');
    const again = antler.profile(() => tidy(() => antler.zeros([2]).dataSync().length));
    expect(again.result).toBe(2);
    expect(again.kernelNames).toContain('full');
    expect(native()).toBe(rawNative());
  });
});

describe(`time (seed ${SEED})`, () => {
  test("counts fn's native ops and the time in them; wallMs − kernelMs is fn's JavaScript (a busy wait without ops)", () => {
    const a = rng.int(2, 40), b = rng.int(2, 40), reps = rng.int(1, 4);
    const x = tensor(randomArray(rng, a * b), [a, b]);
    try {
      const spinMs = 15;
      const t = antler.time(() =>
        tidy(() => {
          let y = x;
          for (let i = 0; i < reps; i++) y = antler.tanh(antler.add(y, x));
          const until = performance.now() + spinMs;
          while (performance.now() < until);
          return antler.sum(y);
        }),
      );
      try {
        // add and tanh per repeat, then sum: as many as profile() lists for the same work.
        expect(t.ops).toBe(2 * reps + 1);
        const listed = antler.profile(() => tidy(() => {
          let y = x;
          for (let i = 0; i < reps; i++) y = antler.tanh(antler.add(y, x));
          return antler.sum(y).dataSync()[0];
        }));
        expect(listed.kernels.length).toBe(t.ops + 1); // and profile's dataSync read
        expect(t.kernelMs).toBeGreaterThanOrEqual(0);
        expect(t.wallMs - t.kernelMs).toBeGreaterThanOrEqual(spinMs - 0.5);
        // The result is fn's own, values as without timing.
        expectClose(t.result.dataSync(), [listed.result], 1e-6, 1e-6);
        expect(native()).toBe(rawNative());
      } finally {
        t.result.dispose();
      }
    } finally {
      x.dispose();
    }
  });

  test('sync: false times the calls and the final wait; an async fn gives a Promise; errors and nesting are refused', async () => {
    const x = tensor([1, 2, 3], [3]);
    try {
      const quick = antler.time(() => tidy(() => antler.exp(x).dataSync()[2]), { sync: false });
      expect(quick.result).toBeCloseTo(Math.exp(3), 5);
      expect(quick.ops).toBe(2); // exp and the read
      expect(quick.wallMs).toBeGreaterThanOrEqual(quick.kernelMs);
      const pending = antler.time(squareAwaitNeg(x));
      expect(pending).toBeInstanceOf(Promise);
      const t = await pending;
      try {
        expect(t.ops).toBe(2);
        expect(Array.from(t.result.dataSync())).toEqual([-1, -4, -9]);
      } finally {
        t.result.dispose();
      }
    } finally {
      x.dispose();
    }
    expectAntlerError(() => antler.time('f' as never), 'INVALID_ARGUMENT', /time: expected a function to run; got 'f'/);
    expectAntlerError(() => antler.time(() => 1, { sync: 1 } as never), 'INVALID_ARGUMENT', /sync/);
    expectAntlerError(() => antler.time(() => 1, { repeats: 3 } as never), 'INVALID_ARGUMENT', /repeats/);
    expectAntlerError(() => antler.time(() => antler.time(() => 1)), 'INVALID_ARGUMENT', /time: a profile\(\) or time\(\) is already running/);
    expectAntlerError(() => antler.profile(() => antler.time(() => 1)), 'INVALID_ARGUMENT', /already running/);
    expectAntlerError(() => antler.time(() => antler.profile(() => 1)), 'INVALID_ARGUMENT', /already running/);
    expect(() => antler.time(() => tidy(() => {
      antler.zeros([2]);
      throw new RangeError('boom');
    }))).toThrow(RangeError);
    expect(native()).toBe(rawNative());
    await expect(antler.time(async () => {
      throw new TypeError('later');
    })).rejects.toThrow(TypeError);
    expect(native()).toBe(rawNative());
  });
});
