/**
 * gridSample's native kernels (native/kernels/grid_sample.h) against the composite it replaced
 * (gridSampleComposite: recorded gathers and blends, checked against torch's definitions in grid.test.ts),
 * over fresh random configurations: every mode × paddingMode × alignCorners, 4-D and 5-D, float64 and
 * float32, grids with positions off the image, on pixel centres and borders, NaN and ±inf; values and both
 * gradients. Also: the memory the native path holds, bit-determinism of the CPU backward across thread
 * counts, and double backward (through the composite) against differences of the native first derivative.
 */
import * as antler from '../../lib';
import { tensor, tidy } from '../../lib';
import { gridSampleComposite, GRID_TABLE_ROWS } from '../../lib/ops/grid';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, randomArray, Rng, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

type Mode = 'bilinear' | 'nearest' | 'bicubic';
type Padding = 'zeros' | 'border' | 'reflection';
type Float = 'float32' | 'float64';
const MODES: Mode[] = ['bilinear', 'nearest', 'bicubic'];
const PADDINGS: Padding[] = ['zeros', 'border', 'reflection'];
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const read = (t: antler.Tensor) => Array.from(t.dataSync());

/**
 * Grid values for spatial sizes (slowest first) whose pixel positions run from 3 before the image to 3
 * after it; `special` of them land exactly on a pixel centre, a half-pixel, a border or ±1, and (with
 * `nonFinite`) a few are NaN or ±inf.
 */
function gridValues(r: Rng, points: number, sizes: number[], align: boolean, special: number, nonFinite: boolean): number[] {
  const dims = sizes.length;
  const out: number[] = [];
  for (let p = 0; p < points; p++)
    for (let k = 0; k < dims; k++) {
      const size = sizes[dims - 1 - k];
      const u = r.next() < special ? r.pick([0, size - 1, -0.5, size - 0.5, r.int(-2, size + 1), r.int(-2, size + 1) + 0.5]) : r.uniform(-3, size + 2);
      let v = align ? (size === 1 ? r.uniform(-1.5, 1.5) : (2 * u) / (size - 1) - 1) : (2 * u + 1) / size - 1;
      if (r.next() < special / 4) v = r.pick([-1, 1]);
      if (nonFinite && r.next() < 0.04) v = r.pick([NaN, Infinity, -Infinity]);
      out.push(v);
    }
  return out;
}

interface Config {
  xs: number[];
  gs: number[];
  mode: Mode;
  padding: Padding;
  align: boolean;
}

function randomConfig(r: Rng, mode: Mode, padding: Padding, align: boolean): Config {
  const dims = mode === 'bicubic' ? 2 : r.pick([2, 3]);
  const sizes = Array.from({ length: dims }, () => r.int(1, dims === 2 ? 7 : 4));
  const outSizes = Array.from({ length: dims }, () => r.int(1, dims === 2 ? 5 : 3));
  const N = r.int(1, 3), C = r.int(1, 4);
  return { xs: [N, C, ...sizes], gs: [N, ...outSizes, dims], mode, padding, align };
}

/** gridSample's value and gradients (seeded by W) by the native path or the composite. */
function run(c: Config, xv: number[], gv: number[], W: number[], dtype: Float, composite: boolean) {
  return tidy(() => {
    const x = tensor(xv, c.xs, { dtype, requiresGrad: true });
    const g = tensor(gv, c.gs, { dtype, requiresGrad: true });
    const y = composite ? gridSampleComposite(x, g, c.mode, c.padding, c.align) : antler.gridSample(x, g, { mode: c.mode, paddingMode: c.padding, alignCorners: c.align });
    y.backward(tensor(W, y.shape, { dtype }));
    return { y: read(y), gx: read(x.grad!), gg: read(g.grad!) };
  });
}

const label = (c: Config) => `${c.mode}, ${c.padding}, alignCorners ${c.align}, x ${JSON.stringify(c.xs)}, grid ${JSON.stringify(c.gs)}`;

describe(`gridSample's native kernels (seed ${SEED})`, () => {
  test('match the composite in float64 over random configurations (every mode × padding × alignCorners, 4-D and 5-D, borders, NaN, ±inf): values and both gradients', () => {
    for (const mode of MODES)
      for (const padding of PADDINGS)
        for (const align of [false, true])
          for (let rep = 0; rep < 3; rep++) {
            const c = randomConfig(rng, mode, padding, align);
            const P = c.gs[0] * prod(c.gs.slice(1, -1));
            const xv = randomArray(rng, prod(c.xs), -2, 2);
            const gv = gridValues(rng, P, c.xs.slice(2), align, 0.3, rep === 2);
            const W = randomArray(rng, c.xs[0] * c.xs[1] * prod(c.gs.slice(1, -1)));
            const nat = run(c, xv, gv, W, 'float64', false);
            const ref = run(c, xv, gv, W, 'float64', true);
            const what = `${label(c)} (grid ${JSON.stringify(gv)})`;
            expectClose(nat.y, ref.y, 1e-13, 1e-13, `${what}: values`);
            expectClose(nat.gx, ref.gx, 1e-13, 1e-13, `${what}: x's gradient`);
            expectClose(nat.gg, ref.gg, 1e-12, 1e-12, `${what}: the grid's gradient`);
          }
  });

  test('match the composite in float32 within float32 rounding (finite grids away from pixel boundaries)', () => {
    for (const mode of MODES)
      for (const padding of PADDINGS)
        for (const align of [false, true]) {
          const c = randomConfig(rng, mode, padding, align);
          const P = c.gs[0] * prod(c.gs.slice(1, -1));
          const xv = randomArray(rng, prod(c.xs), -2, 2);
          const gv = gridValues(rng, P, c.xs.slice(2), align, 0, false);
          const W = randomArray(rng, c.xs[0] * c.xs[1] * prod(c.gs.slice(1, -1)));
          const nat = run(c, xv, gv, W, 'float32', false);
          const ref = run(c, xv, gv, W, 'float32', true);
          expectClose(nat.y, ref.y, 1e-5, 1e-5, `${label(c)}: values`);
          expectClose(nat.gx, ref.gx, 1e-5, 1e-5, `${label(c)}: x's gradient`);
          expectClose(nat.gg, ref.gg, 1e-4, 1e-4, `${label(c)}: the grid's gradient`);
        }
  });

  test('match the composite where a batch item has more points than one block of 64 (1, 63–65, 129, 255–257, 300 points per item; 1 thread and several): values and both gradients', () => {
    // The CPU kernels take points in blocks of 64 of one batch item (a short block padded, its extra points dropped)
    // and tasks of 256: every block after the first, and each last short block, at its place. The random
    // configurations above have at most 27 points per item (one block).
    const original = antler.backends().cpu.threads;
    try {
      for (const per of [1, 63, 64, 65, 129, 255, 256, 257, 300]) {
        const mode = rng.pick(MODES), padding = rng.pick(PADDINGS), align = rng.next() < 0.5;
        const dims = mode === 'bicubic' ? 2 : rng.pick([2, 3]);
        const sizes = Array.from({ length: dims }, () => rng.int(2, dims === 2 ? 6 : 4));
        const outSizes = dims === 2 ? [1, per] : [1, 1, per];
        const N = rng.int(2, 3), C = rng.int(1, 3);
        const c: Config = { xs: [N, C, ...sizes], gs: [N, ...outSizes, dims], mode, padding, align };
        const xv = randomArray(rng, prod(c.xs), -2, 2);
        const gv = gridValues(rng, N * per, sizes, align, 0.3, true);
        const W = randomArray(rng, N * C * per);
        const ref = run(c, xv, gv, W, 'float64', true);
        for (const threads of [1, 3]) {
          antler.setNumThreads(threads);
          const nat = run(c, xv, gv, W, 'float64', false);
          const what = `${label(c)}, ${threads} thread(s)`;
          expectClose(nat.y, ref.y, 1e-13, 1e-13, `${what}: values`);
          expectClose(nat.gx, ref.gx, 1e-13, 1e-13, `${what}: x's gradient`);
          expectClose(nat.gg, ref.gg, 1e-12, 1e-12, `${what}: the grid's gradient`);
        }
      }
    } finally {
      antler.setNumThreads(original);
    }
  });

  test('hold only the result after the forward (x and the grid saved as views) and peak at the gradients', () => {
    for (const [mode, C, dims] of [['bilinear', 3, 2], ['nearest', 1, 2], ['bicubic', 1, 2], ['bilinear', 4, 3]] as [Mode, number, number][]) {
      const sizes = dims === 2 ? [24, 24] : [8, 8, 8];
      const x = antler.randn([2, C, ...sizes], { requiresGrad: true, seed: 1 });
      const g = tidy(() => antler.sub(antler.mul(antler.rand([2, ...sizes, dims], { seed: 2 }), 2.4), 1.2));
      g.requiresGrad = true;
      const outBytes = 2 * C * prod(sizes) * 4;
      const before = antler.memory().devices.cpu.numBytes;
      antler.resetPeakMemory();
      const y = antler.gridSample(x, g, { mode });
      const held = (antler.memory().devices.cpu.numBytes - before) / outBytes;
      const seed = antler.onesLike(y);
      y.backward(seed);
      // y, the seed and backward's copy of it, x's gradient (x-sized: one output here) and the grid's (dims / C
      // outputs); measured exactly that (the composite: 2.5–10.7 held, 4.3–20 peak).
      const peak = (antler.memory().devices.cpu.peakBytes - before) / outBytes;
      antler.dispose([x, g, y, seed, x.grad!, g.grad!]);
      if (!(held === 1 && peak <= 4 + dims / C + 1e-9))
        throw new Error(`${mode}, C = ${C}, ${dims + 2}-D: ${held} outputs held after forward (expected 1), peak ${peak} (bound ${4 + dims / C})`);
    }
  });

  test('the CPU backward is bit-identical for 1 and several threads (each task owns a channel block of one batch item)', () => {
    const original = antler.backends().cpu.threads;
    const c: Config = { xs: [2, 5, 40, 40], gs: [2, 40, 40, 2], mode: 'bicubic', padding: 'reflection', align: false };
    const xv = randomArray(rng, prod(c.xs), -2, 2);
    // Points from a tenth of the image: many land on the same pixels (the scatter's collisions).
    const gv = randomArray(rng, 2 * 40 * 40 * 2, -0.1, 0.1);
    const W = randomArray(rng, 2 * 5 * 40 * 40);
    try {
      const runs = [1, 3, 4].map((t) => {
        antler.setNumThreads(t);
        return run(c, xv, gv, W, 'float32', false);
      });
      for (const r of runs.slice(1)) {
        expectExact(r.gx, runs[0].gx, "x's gradient");
        expectExact(r.gg, runs[0].gg, "the grid's gradient");
      }
    } finally {
      antler.setNumThreads(original);
    }
  });

  test("the CPU backward's bytes do not depend on the thread count (one pass or two), NaNs' signs included: every mode × padding, float32 and float64, 4-D and 5-D, grids with NaN and ±inf", () => {
    // 1 thread: one task per batch item computes both gradients in one pass; 3 threads with N = 2 (4 with N = 3):
    // the grid's gradient and x's (by channel blocks) in separate passes. ±inf makes NaN weights of the opposite
    // sign to a NaN grid value's, and border/reflection bicubic taps of an infinite position land on the image:
    // an element of x's gradient adds NaNs of both signs (the first operand's comes out). Compared as bytes.
    const original = antler.backends().cpu.threads;
    const bytes = (t: antler.Tensor) => {
      const a = t.dataSync();
      return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
    };
    try {
      for (const dtype of ['float32', 'float64'] as Float[])
        for (const mode of MODES)
          for (const padding of PADDINGS)
            for (const dims of mode === 'bicubic' ? [2] : [2, 3])
              for (const N of [2, 3]) {
                const sizes = dims === 2 ? [5, 6] : [3, 4, 4];
                // 300 points per batch item: blocks of 64 and, in the two-pass backward, tasks of 256 points.
                const outSizes = dims === 2 ? [20, 15] : [5, 6, 10];
                const align = rng.next() < 0.5;
                const c: Config = { xs: [N, 5, ...sizes], gs: [N, ...outSizes, dims], mode, padding, align };
                const P = N * prod(outSizes);
                const xv = randomArray(rng, prod(c.xs), -2, 2);
                const gv = gridValues(rng, P, sizes, align, 0.3, false).map((v) => (rng.next() < 0.3 ? rng.pick([NaN, Infinity, -Infinity]) : v));
                const W = randomArray(rng, N * 5 * prod(outSizes));
                const runs = [1, N === 2 ? 3 : 4].map((threads) => {
                  antler.setNumThreads(threads);
                  return tidy(() => {
                    const x = tensor(xv, c.xs, { dtype, requiresGrad: true });
                    const g = tensor(gv, c.gs, { dtype, requiresGrad: true });
                    antler.gridSample(x, g, { mode, paddingMode: padding, alignCorners: align }).backward(tensor(W, [N, 5, ...outSizes], { dtype }));
                    return { gx: bytes(x.grad!), gg: bytes(g.grad!) };
                  });
                });
                if (runs[1].gx !== runs[0].gx) throw new Error(`${label(c)}, ${dtype}: x's gradient's bytes differ between 1 thread and ${N === 2 ? 3 : 4}`);
                if (runs[1].gg !== runs[0].gg) throw new Error(`${label(c)}, ${dtype}: the grid's gradient's bytes differ between 1 thread and ${N === 2 ? 3 : 4}`);
              }
    } finally {
      antler.setNumThreads(original);
    }
  });

  test('double backward (through the composite) matches central differences of the native first derivative: x and grid, 4-D and 5-D', () => {
    for (const [mode, padding, dims] of [['bilinear', 'reflection', 2], ['bicubic', 'border', 2], ['bilinear', 'zeros', 3]] as [Mode, Padding, number][]) {
      const sizes = dims === 2 ? [4, 5] : [3, 3, 4];
      const outSizes = dims === 2 ? [3, 2] : [2, 2, 2];
      const c: Config = { xs: [2, 2, ...sizes], gs: [2, ...outSizes, dims], mode, padding, align: false };
      const P = 2 * prod(outSizes);
      const xv = randomArray(rng, prod(c.xs), -2, 2);
      // Positions at least 0.1 from integers and half-integers: away from the kinks of floor and the clips.
      const gv: number[] = [];
      for (let p = 0; p < P; p++)
        for (let k = 0; k < dims; k++) {
          const size = sizes[dims - 1 - k];
          const u = rng.int(-1, size) + rng.pick([0.1, 0.6]) + rng.uniform(0, 0.3);
          gv.push((2 * u + 1) / size - 1);
        }
      const W = randomArray(rng, 2 * P), V = randomArray(rng, gv.length), U = randomArray(rng, xv.length);
      // f = Σ V · ∂(Σ W · y)/∂grid + Σ U · ∂(Σ W · y)/∂x: the native first derivative when not creating a graph.
      const f = (xs: number[], gs: number[], create: boolean) =>
        tidy(() => {
          const x = tensor(xs, c.xs, { dtype: 'float64', requiresGrad: true }), g = tensor(gs, c.gs, { dtype: 'float64', requiresGrad: true });
          const y = antler.gridSample(x, g, { mode, paddingMode: padding });
          const [dx, dg] = antler.autograd.grad(antler.sum(antler.mul(y, tensor(W, y.shape, { dtype: 'float64' }))), [x, g], { createGraph: create });
          const s = antler.add(antler.sum(antler.mul(dg!, tensor(V, c.gs, { dtype: 'float64' }))), antler.sum(antler.mul(dx!, tensor(U, c.xs, { dtype: 'float64' }))));
          if (!create) return { value: s.item(), gx: [] as number[], gg: [] as number[] };
          s.backward();
          return { value: s.item(), gx: read(x.grad!), gg: read(g.grad!) };
        });
      const got = f(xv, gv, true);
      const h = 1e-6;
      const diff = (i: number, onX: boolean) => {
        const bump = (vs: number[], d: number) => vs.map((v, q) => (q === i ? v + d : v));
        const hi = onX ? f(bump(xv, h), gv, false) : f(xv, bump(gv, h), false);
        const lo = onX ? f(bump(xv, -h), gv, false) : f(xv, bump(gv, -h), false);
        return (hi.value - lo.value) / (2 * h);
      };
      expectClose(got.gx, xv.map((_, i) => diff(i, true)), 1e-6, 1e-6, `${mode} ${padding} ${dims + 2}-D: x's second derivative`);
      expectClose(got.gg, gv.map((_, i) => diff(i, false)), 1e-5, 1e-5, `${mode} ${padding} ${dims + 2}-D: the grid's second derivative`);
    }
  });
  test('a float32 position equal to the rounded last index reads and writes nothing beyond its axis (size − 1 above 2^24 rounds up)', () => {
    // W = 16777220: float32(W − 1) = 16777220 = W, so alignCorners' g = 1 (position W − 1, computed as W) passed a
    // float comparison with the rounded bound and indexed element W: channel 1's first pixel (read into
    // channel 0's result, and channel 0's gradient added into channel 1's). Channel 0 is zeros, channel 1 sevens.
    const W = 16777220;
    const x = tidy(() => antler.concat([antler.zeros([1, 1, 1, W]), antler.mul(antler.ones([1, 1, 1, W]), 7)], 1));
    x.requiresGrad = true;
    const g = tensor([1, 0, 0.999999, 0], [1, 1, 2, 2]);
    try {
      for (const mode of MODES)
        for (const padding of PADDINGS)
          tidy(() => {
            const y = antler.gridSample(x, g, { mode, paddingMode: padding, alignCorners: true });
            const got = read(y);
            // Channel 0 reads zeros wherever it reads; channel 1 sevens (bicubic's weights sum to 1) or 0.
            if (got[0] !== 0 || got[1] !== 0) throw new Error(`${mode}, ${padding}: channel 0 read ${got.slice(0, 2)} (expected 0: it holds zeros)`);
            for (const v of got.slice(2)) if (!(Math.abs(v) <= 7 + 1e-3)) throw new Error(`${mode}, ${padding}: channel 1 read ${got.slice(2)}`);
            // Only channel 0's result is seeded: channel 1's gradient stays zero (nearest and bicubic put weight 1
            // on the tap at W; the backward once per mode: x's gradient is 128 MB).
            if (padding !== 'zeros') return;
            const [gx] = antler.autograd.grad(antler.sum(antler.mul(y, tensor([1, 1, 0, 0], y.shape))), [x]);
            const leak = antler.sum(antler.abs(antler.slice(gx!, [0, 1, 0, 0], [1, 1, 1, W]))).item();
            if (leak !== 0) throw new Error(`${mode}, ${padding}: channel 0's gradient reached channel 1 (Σ|gx[:, 1]| = ${leak})`);
          });
    } finally {
      antler.dispose([x, g]);
    }
  });

  test('empty results (N = 0, C = 0, an empty output axis) are recorded: zero gradients of x and the grid, as torch, double backward included', () => {
    for (const [xs, gs] of [
      [[0, 2, 3, 3], [0, 2, 2, 2]],
      [[2, 0, 3, 3], [2, 2, 2, 2]],
      [[2, 3, 3, 3], [2, 0, 2, 2]],
      [[1, 0, 2, 3, 3], [1, 2, 2, 2, 3]],
    ] as [number[], number[]][])
      for (const mode of ['bilinear', 'nearest'] as Mode[])
        for (const create of [false, true])
          tidy(() => {
            const x = antler.randn(xs, { dtype: 'float64', requiresGrad: true, seed: 5 });
            // A NaN grid value too: with no channels its gradient is still 0 (nothing is summed).
            const g = tensor(Array.from({ length: prod(gs) }, (_, i) => (i === 1 ? NaN : 0.3)), gs, { dtype: 'float64', requiresGrad: true });
            const y = antler.gridSample(x, g, { mode });
            expect(y.shape).toEqual([xs[0], xs[1], ...gs.slice(1, -1)]);
            const [dx, dg] = antler.autograd.grad(antler.sum(y), [x, g], { createGraph: create });
            expect(dx!.shape).toEqual(xs);
            expect(dg!.shape).toEqual(gs);
            expectExact(read(dx!), new Array(prod(xs)).fill(0), `${JSON.stringify(xs)}: x's gradient`);
            expectExact(read(dg!), new Array(prod(gs)).fill(0), `${JSON.stringify(xs)}, grid ${JSON.stringify(gs)}: the grid's gradient`);
          });
  });

  test('the composite samples a batch past its int32 table rows in pieces of samples (same values and gradients) and refuses one sample past them', () => {
    for (const mode of MODES)
      for (const padding of PADDINGS) {
        const align = rng.next() < 0.5;
        const c = randomConfig(rng, mode, padding, align);
        c.xs[0] = c.gs[0] = rng.int(3, 5);
        const inner = prod(c.xs.slice(2)), P = c.gs[0] * prod(c.gs.slice(1, -1));
        const xv = randomArray(rng, prod(c.xs), -2, 2);
        const gv = gridValues(rng, P, c.xs.slice(2), align, 0.3, false);
        const W = randomArray(rng, c.xs[0] * c.xs[1] * prod(c.gs.slice(1, -1)));
        const whole = run(c, xv, gv, W, 'float64', true);
        // Table rows N·inner + 1 over the limit: pieces of 1 and of 2 samples (the last piece shorter for odd N).
        for (const per of [1, 2]) {
          const pieces = tidy(() => {
            const x = tensor(xv, c.xs, { dtype: 'float64', requiresGrad: true });
            const g = tensor(gv, c.gs, { dtype: 'float64', requiresGrad: true });
            const y = gridSampleComposite(x, g, c.mode, c.padding, c.align, per * inner + 1);
            y.backward(tensor(W, y.shape, { dtype: 'float64' }));
            return { y: read(y), gx: read(x.grad!), gg: read(g.grad!) };
          });
          const what = `${label(c)}, pieces of ${per}`;
          expectExact(pieces.y, whole.y, `${what}: values`);
          expectExact(pieces.gx, whole.gx, `${what}: x's gradient`);
          expectExact(pieces.gg, whole.gg, `${what}: the grid's gradient`);
        }
        tidy(() => {
          const x = tensor(xv, c.xs, { dtype: 'float64' });
          const g = tensor(gv, c.gs, { dtype: 'float64' });
          expectAntlerError(() => gridSampleComposite(x, g, c.mode, c.padding, c.align, inner), 'INVALID_ARGUMENT', new RegExp(`${inner} spatial positions per sample .*\\(${inner - 1}, one row kept`));
        });
      }
    // At the real limit, before any tensor is touched (shapes only: 2^31 positions of one sample, 8 GiB of float32).
    const big = { shape: [1, 1, 2 ** 16, 2 ** 15], rank: 4, dtype: 'float32', device: 'cpu' } as unknown as antler.Tensor;
    const grid = { shape: [1, 1, 1, 2], rank: 4, dtype: 'float32', device: 'cpu' } as unknown as antler.Tensor;
    expect(GRID_TABLE_ROWS).toBe(2 ** 31);
    expectAntlerError(() => gridSampleComposite(big, grid, 'bilinear', 'zeros', false), 'INVALID_ARGUMENT', /65536·32768 = 2147483648 spatial positions per sample .*\(2147483647, one row kept/);
  });
});
