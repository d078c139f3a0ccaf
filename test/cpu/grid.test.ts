/**
 * gridSample, affineGrid, localResponseNorm and nn.LocalResponseNorm against float64 references written
 * here (plain loops transcribing torch.nn.functional.grid_sample's / affine_grid's / local_response_norm's
 * definitions per output element), over random configurations: every mode × paddingMode × alignCorners,
 * 4-D and 5-D, grids reaching well outside [−1, 1]; gradients for x, grid and theta against central
 * differences of the reference, double backward against differences of the first derivative, float32
 * within a float32 bound, the identity transform, NaN grids, the memory held, errors, no leaks.
 */
import * as antler from '../../lib';
import { nn, tensor, tidy } from '../../lib';
import { expectAntlerError, expectNoLeaksInSuite, makeSeededRng, Rng, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

type Mode = 'bilinear' | 'nearest' | 'bicubic';
type Padding = 'zeros' | 'border' | 'reflection';
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const F64 = { dtype: 'float64' as const };

// ---------------------------------------------------------------- the reference (torch's definitions)

const unnormalize = (c: number, size: number, align: boolean) => (align ? ((c + 1) / 2) * (size - 1) : ((c + 1) * size - 1) / 2);
const clip = (c: number, size: number) => Math.min(size - 1, Math.max(c, 0));
/** reflect_coordinates: c folded into [lo, hi] = [twiceLow/2, twiceHigh/2]. */
function reflectRef(c: number, twiceLow: number, twiceHigh: number): number {
  if (twiceLow === twiceHigh) return 0;
  const lo = twiceLow / 2, span = (twiceHigh - twiceLow) / 2;
  const d = Math.abs(c - lo);
  const extra = d % span, flips = Math.floor(d / span);
  return flips % 2 === 0 ? extra + lo : span - extra + lo;
}
function padRef(c: number, size: number, padding: Padding, align: boolean): number {
  if (padding === 'border') return clip(c, size);
  if (padding === 'reflection') return clip(align ? reflectRef(c, 0, 2 * (size - 1)) : reflectRef(c, -1, 2 * size - 1), size);
  return c;
}
/** nearbyint: to the nearest integer, ties to even. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v), d = v - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}
/** The cubic convolution kernel with A = −0.75. */
function cubic(d: number): number {
  const A = -0.75, a = Math.abs(d);
  if (a <= 1) return (A + 2) * a ** 3 - (A + 3) * a ** 2 + 1;
  if (a < 2) return A * a ** 3 - 5 * A * a ** 2 + 8 * A * a - 4 * A;
  return 0;
}

interface Case {
  xs: number[];
  x: number[];
  gs: number[];
  g: number[];
  mode: Mode;
  padding: Padding;
  align: boolean;
}

/** grid_sample by its definition, per output element: y [N, C, ...outSizes]. */
function gridSampleRef(c: Case): number[] {
  const [N, C, ...sizes] = c.xs;
  const dims = sizes.length;
  const outSizes = c.gs.slice(1, -1), per = prod(outSizes), inner = prod(sizes);
  const y = new Array<number>(N * C * per).fill(0);
  const read = (n: number, ch: number, pos: number[]): number => {
    if (pos.some((p, a) => !(p >= 0 && p <= sizes[a] - 1))) return 0;
    let flat = 0;
    for (let a = 0; a < dims; a++) flat = flat * sizes[a] + pos[a];
    return c.x[(n * C + ch) * inner + flat];
  };
  for (let n = 0; n < N; n++)
    for (let p = 0; p < per; p++) {
      // grid component k addresses spatial axis dims − 1 − k.
      const coord = sizes.map((s, a) => unnormalize(c.g[(n * per + p) * dims + (dims - 1 - a)], s, c.align));
      for (let ch = 0; ch < C; ch++) {
        let v = 0;
        if (c.mode === 'nearest') {
          v = read(n, ch, coord.map((u, a) => roundHalfEven(padRef(u, sizes[a], c.padding, c.align))));
        } else if (c.mode === 'bilinear') {
          const src = coord.map((u, a) => padRef(u, sizes[a], c.padding, c.align));
          for (let corner = 0; corner < 1 << dims; corner++) {
            let w = 1;
            const pos = src.map((u, a) => {
              const lo = Math.floor(u), hi = ((corner >> (dims - 1 - a)) & 1) === 1;
              w *= hi ? u - lo : lo + 1 - u;
              return hi ? lo + 1 : lo;
            });
            v += w * read(n, ch, pos);
          }
        } else {
          const lo = coord.map(Math.floor), t = coord.map((u, a) => u - lo[a]);
          for (let i = 0; i < 4; i++)
            for (let j = 0; j < 4; j++) {
              // Axis 0 is the height (taps j), axis 1 the width (taps i); each tap padded on its own.
              const pos = [padRef(lo[0] - 1 + j, sizes[0], c.padding, c.align), padRef(lo[1] - 1 + i, sizes[1], c.padding, c.align)];
              v += cubic(t[0] - (j - 1)) * cubic(t[1] - (i - 1)) * read(n, ch, pos);
            }
        }
        y[(n * C + ch) * per + p] = v;
      }
    }
  return y;
}

/** A grid value whose pixel position along an axis of `size` is u (the inverse of unnormalize). */
const normalize = (u: number, size: number, align: boolean) => (align ? (size > 1 ? (2 * u) / (size - 1) - 1 : u) : (2 * u + 1) / size - 1);

/**
 * A random grid for x's spatial sizes: pixel positions from 3 pixels before the image to 3 after it
 * (grid values well outside [−1, 1]); `smooth` keeps them 0.1 away from integers and half-integers
 * (the kinks of floor, the clips, the reflections and nearest's rounding).
 */
function randomGrid(r: Rng, sizes: number[], outSizes: number[], N: number, align: boolean, smooth: boolean): number[] {
  const dims = sizes.length;
  const g: number[] = [];
  for (let p = 0; p < N * prod(outSizes); p++)
    for (let k = 0; k < dims; k++) {
      const size = sizes[dims - 1 - k];
      const u = smooth ? r.int(-3, size + 2) + r.pick([0.1, 0.6]) + r.uniform(0, 0.3) : r.uniform(-3, size + 2);
      g.push(normalize(u, size, align));
    }
  return g;
}

function randomCase(r: Rng, mode: Mode, padding: Padding, align: boolean, dims: number, smooth = false): Case {
  const N = r.int(1, 2), C = r.int(1, 3);
  const sizes = Array.from({ length: dims }, () => r.int(1, dims === 2 ? 5 : 4));
  const outSizes = Array.from({ length: dims }, () => r.int(1, 3));
  const xs = [N, C, ...sizes], gs = [N, ...outSizes, dims];
  return { xs, x: Array.from({ length: prod(xs) }, () => r.uniform(-1, 1)), gs, g: randomGrid(r, sizes, outSizes, N, align, smooth), mode, padding, align };
}

const MODES: Mode[] = ['bilinear', 'nearest', 'bicubic'];
const PADDINGS: Padding[] = ['zeros', 'border', 'reflection'];
const COMBOS: [Mode, Padding, boolean, number][] = [];
for (const mode of MODES) for (const padding of PADDINGS) for (const align of [false, true]) for (const dims of mode === 'bicubic' ? [2] : [2, 3]) COMBOS.push([mode, padding, align, dims]);

const label = (c: Case) => `${c.mode}/${c.padding}/alignCorners ${c.align}, x [${c.xs}], grid [${c.gs}] (seed ${SEED})`;

function relErr(got: ArrayLike<number>, ref: readonly number[]): number {
  expect(got.length).toBe(ref.length);
  const scale = Math.max(1e-3, ...ref.map(Math.abs));
  let e = 0;
  for (let i = 0; i < ref.length; i++) e = Math.max(e, Math.abs(got[i] - ref[i]) / scale);
  return e;
}

/** The largest |got − ref| relative to max |x| (gridSample's outputs are blends of x's values). */
function errX(got: ArrayLike<number>, ref: readonly number[], x: readonly number[]): number {
  expect(got.length).toBe(ref.length);
  const scale = Math.max(...x.map(Math.abs));
  let e = 0;
  for (let i = 0; i < ref.length; i++) e = Math.max(e, Math.abs(got[i] - ref[i]) / scale);
  return e;
}

const run = (c: Case, dtype: 'float32' | 'float64') =>
  tidy(() => Array.from(antler.gridSample(tensor(c.x, c.xs, { dtype }), tensor(c.g, c.gs, { dtype }), { mode: c.mode, paddingMode: c.padding, alignCorners: c.align }).dataSync()));

describe(`gridSample (seed ${SEED})`, () => {
  test('matches the definition over random configurations, every mode × padding × alignCorners, 4-D and 5-D (float64 and float32)', () => {
    let worst64 = 0, worst32 = 0;
    for (const [mode, padding, align, dims] of COMBOS)
      for (let rep = 0; rep < 4; rep++) {
        const c = randomCase(rng, mode, padding, align, dims);
        const ref = gridSampleRef(c);
        const e64 = errX(run(c, 'float64'), ref, c.x);
        if (!(e64 < 1e-13)) throw new Error(`float64 error ${e64}: ${label(c)}`);
        worst64 = Math.max(worst64, e64);
        // float32 against the reference on the same float32-rounded inputs. (nearest's grids are random
        // reals: a point within float32 rounding of a tie could round the other way, about 1 draw in 10^6.)
        const c32 = { ...c, x: c.x.map(Math.fround), g: c.g.map(Math.fround) };
        const e32 = errX(run(c32, 'float32'), gridSampleRef(c32), c32.x);
        if (!(e32 < 2e-5)) throw new Error(`float32 error ${e32}: ${label(c)}`);
        worst32 = Math.max(worst32, e32);
      }
    expect(worst64).toBeLessThan(1e-13);
    expect(worst32).toBeLessThan(2e-5);
  });

  test('known values: reflection about the borders, ties to even, the corners of alignCorners', () => {
    // x [1, 1, 1, 4] = 0 1 2 3 along the width; y = 0.
    const x = tensor([0, 1, 2, 3], [1, 1, 1, 4], F64);
    const at = (xs: number[], o: { mode?: Mode; paddingMode?: Padding; alignCorners?: boolean }) =>
      tidy(() => Array.from(antler.gridSample(x, tensor(xs.flatMap((v) => [v, 0]), [1, 1, xs.length, 2], F64), o).dataSync()));
    // alignCorners false: −1 and 1 are the outer edges; pixel centres at −0.75, −0.25, 0.25, 0.75.
    expect(at([-0.75, -0.25, 0.25, 0.75, 0], {})).toEqual([0, 1, 2, 3, 1.5]);
    // Half a pixel outside: zeros blends with 0; border clips; reflection about −0.5 and 3.5.
    expect(at([-1, 1], {})).toEqual([0, 1.5]);
    expect(at([-1, 1], { paddingMode: 'border' })).toEqual([0, 3]);
    // Position −1.5 (grid −1.5) reflects about −0.5 to 0.5, position −1 (grid −1.25) to 0, position 5 (grid 1.75) about 3.5 to 2.
    expect(at([-1.5, -1.25, 1.75], { paddingMode: 'reflection' })).toEqual([0.5, 0, 2]);
    // alignCorners true: −1 and 1 are the corner pixels' centres; reflection about 0 and 3.
    expect(at([-1, 1, -5 / 3, 7 / 3], { alignCorners: true, paddingMode: 'reflection' }).map((v) => Math.round(v * 1e12) / 1e12)).toEqual([0, 3, 1, 1]);
    // nearest: positions 0.5, 1.5 and 2.5 round to even (grid −0.5, 0, 0.5 without alignCorners).
    expect(at([-0.5, 0, 0.5], { mode: 'nearest' })).toEqual([0, 2, 2]);
    x.dispose();
  });

  test('NaN and infinite grid values follow torch 1.13 (NaN: zeros gives NaN / 0, border and reflection read position 0)', () => {
    const x = tensor(Array.from({ length: 12 }, (_, i) => i + 1), [1, 1, 3, 4], F64);
    const g = tensor([NaN, 0, Infinity, 0, -Infinity, 0], [1, 1, 3, 2], F64);
    const at = (mode: Mode, paddingMode: Padding) => tidy(() => Array.from(antler.gridSample(x, g, { mode, paddingMode }).dataSync()));
    // Values torch 1.13 (CPU) gives for these grids.
    expect(at('bilinear', 'zeros')).toEqual([NaN, NaN, NaN]);
    expect(at('nearest', 'zeros')).toEqual([0, 0, 0]);
    expect(at('bilinear', 'border')).toEqual([5, 8, 5]);
    expect(at('nearest', 'border')).toEqual([5, 8, 5]);
    expect(at('bilinear', 'reflection')).toEqual([5, 5, 5]);
    expect(at('bicubic', 'border')).toEqual([NaN, NaN, NaN]);
    antler.dispose([x, g]);
  });

  test('grid gradient at positions exactly on a border is 0 (torch counts the borders as clipped), at interior integers the right slope', () => {
    // x [1, 1, 3, 4]; the height position 1.3 (smooth), the width position u on a border, reflected onto one,
    // or an interior integer. torch's clip_coordinates_set_grad gives 0 along the width on the borders.
    const xs = [1, 1, 3, 4], xv = Array.from({ length: 12 }, () => rng.uniform(-1, 1));
    for (const padding of ['border', 'reflection'] as Padding[])
      for (const align of [false, true]) {
        const us = [0, 3, 1, 2, ...(padding === 'reflection' ? (align ? [6, -3] : [-0.5, 3.5, -1]) : [-2, 5])];
        const g = us.flatMap((u) => [normalize(u, 4, align), normalize(1.3, 3, align)]);
        const c: Case = { xs, x: xv, gs: [1, 1, us.length, 2], g, mode: 'bilinear', padding, align };
        const got = tidy(() => {
          const gt = tensor(g, c.gs, { ...F64, requiresGrad: true });
          antler.sum(antler.gridSample(tensor(xv, xs, F64), gt, { paddingMode: padding, alignCorners: align })).backward();
          return Array.from(gt.grad!.dataSync());
        });
        const h = 1e-7;
        const shifted = (i: number, d: number) => gridSampleRef({ ...c, g: g.map((v, q) => (q === i ? v + d : v)) });
        us.forEach((u, p) => {
          const where = `${padding}, alignCorners ${align}, width position ${u} (seed ${SEED})`;
          // Along the height: smooth, a central difference. Along the width: 0 on a border; the right slope at 1 and 2.
          const dy = (shifted(2 * p + 1, h)[p] - shifted(2 * p + 1, -h)[p]) / (2 * h);
          expect({ where, err: Math.abs(got[2 * p + 1] - dy) < 1e-6 }).toEqual({ where, err: true });
          const dx = u === 1 || u === 2 ? (shifted(2 * p, h)[p] - shifted(2 * p, 0)[p]) / h : 0;
          expect({ where, err: Math.abs(got[2 * p] - dx) < 1e-6 }).toEqual({ where, err: true });
        });
      }
  });

  test("nearest: the result requires grad when the grid does, and the grid's gradient is zeros (as torch), x's counts the picks", () => {
    const g = tensor([0.2, -0.4, -0.7, 0.9, 0.25, -0.3], [1, 1, 3, 2], { ...F64, requiresGrad: true });
    const x = tensor([1, 2, 3, 4, 5, 6], [1, 1, 2, 3], { ...F64, requiresGrad: true });
    tidy(() => {
      const y = antler.gridSample(x.detach(), g, { mode: 'nearest' });
      expect(y.requiresGrad).toBe(true);
      antler.sum(y).backward();
    });
    expect(Array.from(g.grad!.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    g.zeroGrad();
    tidy(() => antler.sum(antler.mul(antler.gridSample(x, g, { mode: 'nearest' }), 2)).backward());
    expect(Array.from(g.grad!.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    // (width, height) positions (1.3, 0.1), (−0.05, 1.4), (1.375, 0.2) round to (1, 0), (0, 1), (1, 0).
    expect(Array.from(x.grad!.dataSync())).toEqual([0, 4, 0, 2, 0, 0]);
    g.grad!.dispose();
    x.grad!.dispose();
    antler.dispose([g, x]);
  });

  test('gradients for x and grid match central differences of the definition (float64, grids away from kinks)', () => {
    for (const [mode, padding, align, dims] of COMBOS) {
      const c = randomCase(rng, mode, padding, align, dims, true);
      const ref = gridSampleRef(c);
      const W = ref.map(() => rng.uniform(-1, 1));
      const loss = (cc: Case) => gridSampleRef(cc).reduce((s, v, i) => s + v * W[i], 0);
      const [gx, gg] = tidy(() => {
        const x = tensor(c.x, c.xs, { ...F64, requiresGrad: true }), g = tensor(c.g, c.gs, { ...F64, requiresGrad: true });
        const y = antler.gridSample(x, g, { mode, paddingMode: padding, alignCorners: align });
        y.backward(tensor(W, y.shape, F64));
        const out = [Array.from(x.grad!.dataSync()), g.grad ? Array.from(g.grad.dataSync()) : c.g.map(() => 0)];
        return out;
      });
      const h = 1e-6;
      const numX = c.x.map((_, i) => (loss({ ...c, x: c.x.map((v, q) => (q === i ? v + h : v)) }) - loss({ ...c, x: c.x.map((v, q) => (q === i ? v - h : v)) })) / (2 * h));
      const numG = c.g.map((_, i) => (loss({ ...c, g: c.g.map((v, q) => (q === i ? v + h : v)) }) - loss({ ...c, g: c.g.map((v, q) => (q === i ? v - h : v)) })) / (2 * h));
      // A central difference of the float64 loss carries ≈ ε·Σ|W_i·y_i|/h of rounding: with a zero gradient (size-1 axes:
      // every tap reads the one pixel) relErr's 1e-3 floor alone failed at 1.2e-9 of noise (seed 203414140). Each
      // element's allowance adds 4·ε·Σ|W|·max|x|·1.5625/h (1.5625 bounds bicubic's Σ|w| over two axes).
      const noise = (4 * 2 ** -52 * W.reduce((s, v) => s + Math.abs(v), 0) * Math.max(...c.x.map(Math.abs)) * 1.5625) / h;
      const within = (got: ArrayLike<number>, ref: readonly number[], rel: number) => {
        const scale = Math.max(1e-3, ...ref.map(Math.abs));
        return ref.every((v, i) => Math.abs(got[i] - v) <= rel * scale + noise);
      };
      const ex = relErr(gx, numX), eg = relErr(gg, numG);
      if (!(within(gx, numX, 1e-7) && within(gg, numG, 1e-6))) throw new Error(`gradient errors x ${ex}, grid ${eg} (noise allowance ${noise}): ${label(c)}`);
      if (mode === 'nearest') expect(gg.every((v) => v === 0)).toBe(true);
    }
  });

  test('double backward: the grid gradient differentiated again matches central differences (bilinear, bicubic, trilinear)', () => {
    for (const [mode, padding, dims] of [['bilinear', 'zeros', 2], ['bicubic', 'reflection', 2], ['bilinear', 'border', 3]] as [Mode, Padding, number][]) {
      const c = randomCase(rng, mode, padding, false, dims, true);
      const W = Array.from({ length: c.xs[0] * c.xs[1] * prod(c.gs.slice(1, -1)) }, () => rng.uniform(-1, 1));
      const V = c.g.map(() => rng.uniform(-1, 1));
      // f(x, grid) = Σ V · ∂(Σ W · y)/∂grid, by the first derivative (checked above).
      const f = (xv: number[], gv: number[], create: boolean) =>
        tidy(() => {
          const x = tensor(xv, c.xs, { ...F64, requiresGrad: true }), g = tensor(gv, c.gs, { ...F64, requiresGrad: true });
          const y = antler.gridSample(x, g, { mode, paddingMode: padding });
          const [dg] = antler.autograd.grad(antler.sum(antler.mul(y, tensor(W, y.shape, F64))), [g], { createGraph: create });
          const s = antler.sum(antler.mul(dg!, tensor(V, c.gs, F64)));
          if (!create) return { value: s.item(), gx: [] as number[], gg: [] as number[] };
          s.backward();
          return { value: s.item(), gx: Array.from(x.grad!.dataSync()), gg: Array.from(g.grad!.dataSync()) };
        });
      const got = f(c.x, c.g, true);
      const h = 1e-6;
      const numX = c.x.map((_, i) => (f(c.x.map((v, q) => (q === i ? v + h : v)), c.g, false).value - f(c.x.map((v, q) => (q === i ? v - h : v)), c.g, false).value) / (2 * h));
      const numG = c.g.map((_, i) => (f(c.x, c.g.map((v, q) => (q === i ? v + h : v)), false).value - f(c.x, c.g.map((v, q) => (q === i ? v - h : v)), false).value) / (2 * h));
      const ex = relErr(got.gx, numX), eg = relErr(got.gg, numG);
      if (!(ex < 1e-6 && eg < 1e-5)) throw new Error(`second-derivative errors x ${ex}, grid ${eg}: ${label(c)}`);
    }
  });

  test('affineGrid with the identity theta and gridSample reproduce the input (both alignCorners; nearest exactly, bilinear, trilinear and bicubic to rounding)', () => {
    for (const align of [true, false])
      for (const [mode, size] of [['bilinear', [2, 3, 5, 7]], ['bicubic', [1, 2, 4, 6]], ['bilinear', [1, 2, 3, 4, 5]], ['nearest', [1, 2, 3, 4, 5]]] as [Mode, number[]][]) {
        const dims = size.length - 2;
        const xv = Array.from({ length: prod(size) }, () => rng.uniform(-1, 1));
        const eye = Array.from({ length: dims * (dims + 1) }, (_, i) => (i % (dims + 2) === 0 ? 1 : 0));
        const out = tidy(() => {
          const theta = tensor(Array.from({ length: size[0] }, () => eye).flat(), [size[0], dims, dims + 1], F64);
          return Array.from(antler.gridSample(tensor(xv, size, F64), antler.affineGrid(theta, size, { alignCorners: align }), { mode, alignCorners: align }).dataSync());
        });
        // nearest: exact. The blending modes: the base grid, unnormalised, is i to within rounding errors, so the
        // weights are 0 and 1 to within those (torch 1.13 is off by as much: 8.9e-16 for [2, 3, 5, 7] bilinear
        // with alignCorners true, 4.2e-15 for [1, 1, 9, 13] bicubic with false).
        const err = Math.max(...out.map((v, i) => Math.abs(v - xv[i])));
        if (!(mode === 'nearest' ? err === 0 : err < 1e-14)) throw new Error(`identity ${mode} alignCorners ${align} [${size}]: error ${err}`);
      }
  });

  test('holds few output-sized tensors between forward and backward, and peaks low (one gather per tap, re-gathered in backward)', () => {
    // [held after forward, peak over forward and backward], in output-sized tensors (measured 2.5/7.8, 1.1/4.3,
    // 3.6/9.2 for C = 16 and 4.7/11.3, 1.3/7.7, 10.7/18.7 for C = 3; the [P, 1] weights weigh more for a small C).
    const bounds: [Mode, number, number, number][] = [
      ['bilinear', 16, 3, 9], ['nearest', 16, 1.5, 5], ['bicubic', 16, 4.5, 10],
      ['bilinear', 3, 5.5, 12.5], ['nearest', 3, 2, 9], ['bicubic', 3, 12, 20],
    ];
    for (const [mode, C, heldBound, peakBound] of bounds) {
      const x = antler.randn([2, C, 24, 24], { requiresGrad: true, seed: 1 });
      const g = tidy(() => antler.sub(antler.mul(antler.rand([2, 24, 24, 2], { seed: 2 }), 2.4), 1.2));
      g.requiresGrad = true;
      const outBytes = 2 * C * 24 * 24 * 4;
      const before = antler.memory().devices.cpu.numBytes;
      antler.resetPeakMemory();
      const y = antler.gridSample(x, g, { mode });
      const held = (antler.memory().devices.cpu.numBytes - before) / outBytes;
      const seed = antler.onesLike(y);
      y.backward(seed);
      const peak = (antler.memory().devices.cpu.peakBytes - before) / outBytes;
      antler.dispose([x, g, y, seed, x.grad!, ...(g.grad ? [g.grad] : [])]);
      // The composition of gathers and products saves every tap's rows for the grid's gradient:
      // 4 (bilinear) or 16 (bicubic) output-sized tensors more.
      if (!(held < heldBound && peak < peakBound))
        throw new Error(`${mode}, C = ${C}: ${held.toFixed(2)} output-sized tensors held after forward (bound ${heldBound}), peak ${peak.toFixed(2)} (bound ${peakBound})`);
    }
  });

  test('with a constant grid (only x needing a gradient) the x-sized table is not kept for backward', () => {
    const x = antler.randn([2, 16, 24, 24], { requiresGrad: true, seed: 3 });
    const g = tidy(() => antler.sub(antler.mul(antler.rand([2, 24, 24, 2], { seed: 4 }), 2.4), 1.2));
    const before = antler.memory().devices.cpu.numBytes;
    const y = antler.gridSample(x, g);
    // y and the [P, 1] factors and rows (measured 1.5 outputs; 2.5 when the table is kept).
    const held = (antler.memory().devices.cpu.numBytes - before) / (2 * 16 * 24 * 24 * 4);
    const seed = antler.onesLike(y);
    y.backward(seed);
    const gx = Array.from(x.grad!.dataSync());
    antler.dispose([x, g, y, seed, x.grad!]);
    expect(held).toBeLessThan(2);
    expect(gx.some((v) => v !== 0)).toBe(true);
  });

  test('errors: ranks, grid shape, batch, bicubic on 5-D, unknown modes, dtypes; inputs undamaged', () => {
    tidy(() => {
      const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], F64), g = tensor([0, 0], [1, 1, 1, 2], F64);
      expectAntlerError(() => antler.gridSample(tensor([1, 2], [1, 1, 2], F64), g), 'SHAPE_MISMATCH', /x has shape \[1, 1, 2\].*4-D input/);
      expectAntlerError(() => antler.gridSample(x, tensor([0, 0, 0], [1, 1, 1, 3], F64)), 'SHAPE_MISMATCH', /grid has shape \[1, 1, 1, 3\].*\[N, Ho, Wo, 2\]/);
      expectAntlerError(() => antler.gridSample(x, tensor([0, 0], [1, 1, 2], F64)), 'SHAPE_MISMATCH', /grid has shape/);
      expectAntlerError(() => antler.gridSample(x, tensor([0, 0, 0, 0], [2, 1, 1, 2], F64)), 'SHAPE_MISMATCH', /batch size 2.*x 1/);
      const x5 = tensor([1, 2], [1, 1, 1, 1, 2], F64), g5 = tensor([0, 0, 0], [1, 1, 1, 1, 3], F64);
      expectAntlerError(() => antler.gridSample(x5, g5, { mode: 'bicubic' }), 'INVALID_ARGUMENT', /bicubic.*4-D/);
      expectAntlerError(() => antler.gridSample(x, g, { mode: 'linear' as Mode }), 'INVALID_ARGUMENT', /mode must be/);
      expectAntlerError(() => antler.gridSample(x, g, { paddingMode: 'wrap' as Padding }), 'INVALID_ARGUMENT', /paddingMode must be/);
      expectAntlerError(() => antler.gridSample(x, g, { alignCorners: 1 as unknown as boolean }), 'INVALID_ARGUMENT', /alignCorners/);
      expectAntlerError(() => antler.gridSample(x, g, { align: true } as never), 'INVALID_ARGUMENT');
      expectAntlerError(() => antler.gridSample(x, tensor([0, 0], [1, 1, 1, 2])), 'DTYPE_MISMATCH', /float64 and grid float32/);
      expectAntlerError(() => antler.gridSample(tensor([1, 2, 3, 4], [1, 1, 2, 2], { dtype: 'int32' }), g), 'DTYPE_MISMATCH');
      expect(Array.from(x.dataSync())).toEqual([1, 2, 3, 4]);
      expect(Array.from(g.dataSync())).toEqual([0, 0]);
    });
  });

  test('empty grids and no leaks', () => {
    const before = antler.memory().numTensors;
    tidy(() => {
      const y = antler.gridSample(tensor([1, 2, 3, 4], [1, 1, 2, 2], F64), antler.zeros([1, 0, 3, 2], F64));
      expect(y.shape).toEqual([1, 1, 0, 3]);
    });
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], { ...F64, requiresGrad: true });
    tidy(() => antler.sum(antler.gridSample(x, tensor([0.3, -0.2], [1, 1, 1, 2], F64), { mode: 'bicubic' })).backward());
    x.grad!.dispose();
    x.dispose();
    expect(antler.memory().numTensors).toBe(before);
  });
});

// ---------------------------------------------------------------- affineGrid

/** affine_grid by its definition: grid[n, …, k] = Σ_j theta[n, k, j] · base_j, base = (x, y[, z], 1). */
function affineGridRef(theta: number[], size: number[], align: boolean): number[] {
  const [N, , ...spatial] = size;
  const dims = spatial.length;
  const lin = (n: number, i: number) => (n <= 1 ? 0 : align ? -1 + (2 * i) / (n - 1) : ((-1 + (2 * i) / (n - 1)) * (n - 1)) / n);
  const out: number[] = [];
  for (let b = 0; b < N; b++)
    for (let p = 0; p < prod(spatial); p++) {
      const at: number[] = [];
      let rest = p;
      for (let a = dims - 1; a >= 0; a--) {
        at.unshift(rest % spatial[a]);
        rest = Math.floor(rest / spatial[a]);
      }
      // base component k runs along axis dims − 1 − k.
      const base = [...Array.from({ length: dims }, (_, k) => lin(spatial[dims - 1 - k], at[dims - 1 - k])), 1];
      for (let k = 0; k < dims; k++) out.push(base.reduce((s, v, j) => s + theta[(b * dims + k) * (dims + 1) + j] * v, 0));
    }
  return out;
}

describe(`affineGrid (seed ${SEED})`, () => {
  test('matches its definition and its theta gradient (4-D and 5-D sizes, both alignCorners, float64 and float32)', () => {
    for (let rep = 0; rep < 12; rep++) {
      const dims = rep % 2 === 0 ? 2 : 3, align = rep % 4 < 2;
      const size = [rng.int(1, 2), rng.int(1, 3), ...Array.from({ length: dims }, () => rng.int(1, 5))];
      const theta = Array.from({ length: size[0] * dims * (dims + 1) }, () => rng.uniform(-2, 2));
      const ref = affineGridRef(theta, size, align);
      const W = ref.map(() => rng.uniform(-1, 1));
      const [got, gt, got32] = tidy(() => {
        const th = tensor(theta, [size[0], dims, dims + 1], { ...F64, requiresGrad: true });
        const g = antler.affineGrid(th, size, { alignCorners: align });
        expect(g.shape).toEqual([size[0], ...size.slice(2), dims]);
        g.backward(tensor(W, g.shape, F64));
        const g32 = antler.affineGrid(tensor(theta, th.shape), size, { alignCorners: align });
        return [Array.from(g.dataSync()), Array.from(th.grad!.dataSync()), Array.from(g32.dataSync())];
      });
      expect(relErr(got, ref)).toBeLessThan(1e-14);
      expect(relErr(got32, affineGridRef(theta.map(Math.fround), size, align))).toBeLessThan(2e-6);
      // The grid is linear in theta: central differences are exact up to rounding.
      const h = 1e-3;
      const loss = (t: number[]) => affineGridRef(t, size, align).reduce((s, v, i) => s + v * W[i], 0);
      const num = theta.map((_, i) => (loss(theta.map((v, q) => (q === i ? v + h : v))) - loss(theta.map((v, q) => (q === i ? v - h : v)))) / (2 * h));
      expect(relErr(gt, num)).toBeLessThan(1e-9);
    }
  });

  test('errors', () => {
    tidy(() => {
      const th = tensor([1, 0, 0, 0, 1, 0], [1, 2, 3], F64);
      expectAntlerError(() => antler.affineGrid(th, [1, 1, 2, 2, 2]), 'SHAPE_MISMATCH', /theta has shape \[1, 2, 3\].*\[1, 3, 4\]/);
      expectAntlerError(() => antler.affineGrid(th, [2, 1, 2, 2]), 'SHAPE_MISMATCH', /\[2, 2, 3\]/);
      expectAntlerError(() => antler.affineGrid(th, [1, 1, 2]), 'INVALID_ARGUMENT', /size must be a list of 4/);
      expectAntlerError(() => antler.affineGrid(th, [1, 1, 0, 2]), 'INVALID_ARGUMENT', /size must be an integer >= 1/);
      expectAntlerError(() => antler.affineGrid(tensor([1, 0, 0, 0, 1, 0], [1, 2, 3], { dtype: 'int32' }), [1, 1, 2, 2]), 'DTYPE_MISMATCH');
      expect(Array.from(th.dataSync())).toEqual([1, 0, 0, 0, 1, 0]);
    });
  });
});

// ---------------------------------------------------------------- localResponseNorm

/** local_response_norm by its definition: the window c − ⌊n/2⌋ … c + ⌊(n − 1)/2⌋, zeros outside, divisor n. */
function lrnRef(x: number[], shape: number[], n: number, alpha: number, beta: number, k: number): number[] {
  const [N, C] = shape, inner = prod(shape.slice(2));
  return x.map((v, i) => {
    const b = Math.floor(i / (C * inner)), c = Math.floor(i / inner) % C, s = i % inner;
    let sq = 0;
    for (let j = c - Math.floor(n / 2); j <= c + Math.floor((n - 1) / 2); j++) if (j >= 0 && j < C) sq += x[(b * C + j) * inner + s] ** 2;
    void N;
    return v / (k + (alpha * sq) / n) ** beta;
  });
}

describe(`localResponseNorm (seed ${SEED})`, () => {
  test('matches its definition for 3-D, 4-D and 5-D inputs, with its gradient (float64) and float32 within a float32 bound', () => {
    for (let rep = 0; rep < 15; rep++) {
      const rank = 3 + (rep % 3);
      const shape = [rng.int(1, 2), rng.int(1, 7), ...Array.from({ length: rank - 2 }, () => rng.int(1, 3))];
      const n = rng.int(1, 8), alpha = rng.uniform(1e-4, 2), beta = rng.uniform(0.1, 1.5), k = rng.uniform(0.5, 2);
      const x = Array.from({ length: prod(shape) }, () => rng.uniform(-2, 2));
      const ref = lrnRef(x, shape, n, alpha, beta, k);
      const W = ref.map(() => rng.uniform(-1, 1));
      const [got, gx, got32, mod] = tidy(() => {
        const xt = tensor(x, shape, { ...F64, requiresGrad: true });
        const y = antler.localResponseNorm(xt, n, { alpha, beta, k });
        y.backward(tensor(W, shape, F64));
        const y32 = antler.localResponseNorm(tensor(x, shape), n, { alpha, beta, k });
        const m = new nn.LocalResponseNorm(n, { alpha, beta, k }).forward(tensor(x, shape, F64));
        return [Array.from(y.dataSync()), Array.from(xt.grad!.dataSync()), Array.from(y32.dataSync()), Array.from(m.dataSync())];
      });
      const what = `shape [${shape}], size ${n} (seed ${SEED})`;
      if (!(relErr(got, ref) < 1e-14)) throw new Error(`float64 error ${relErr(got, ref)}: ${what}`);
      expect(mod).toEqual(got);
      const e32 = relErr(got32, lrnRef(x.map(Math.fround), shape, n, alpha, beta, k));
      if (!(e32 < 2e-6)) throw new Error(`float32 error ${e32}: ${what}`);
      const h = 1e-6, loss = (xv: number[]) => lrnRef(xv, shape, n, alpha, beta, k).reduce((s, v, i) => s + v * W[i], 0);
      const num = x.map((_, i) => (loss(x.map((v, q) => (q === i ? v + h : v))) - loss(x.map((v, q) => (q === i ? v - h : v)))) / (2 * h));
      if (!(relErr(gx, num) < 1e-7)) throw new Error(`gradient error ${relErr(gx, num)}: ${what}`);
    }
  });

  test('nn.LocalResponseNorm defaults (alpha 1e-4, beta 0.75, k 1) and errors', () => {
    tidy(() => {
      const x = [1, -2, 3, 0.5, 4, -1];
      const m = new nn.LocalResponseNorm(3);
      expect(m.alpha).toBe(1e-4);
      expect(m.beta).toBe(0.75);
      expect(m.k).toBe(1);
      expect(relErr(m.forward(tensor(x, [1, 3, 2], F64)).dataSync(), lrnRef(x, [1, 3, 2], 3, 1e-4, 0.75, 1))).toBeLessThan(1e-15);
      const t = tensor(x, [3, 2], F64);
      expectAntlerError(() => antler.localResponseNorm(t, 2), 'SHAPE_MISMATCH', /x has shape \[3, 2\].*3 or more axes/);
      expectAntlerError(() => antler.localResponseNorm(tensor(x, [1, 3, 2], F64), 0), 'INVALID_ARGUMENT', /size must be an integer >= 1/);
      expectAntlerError(() => antler.localResponseNorm(tensor(x, [1, 3, 2], F64), 2, { alpha: NaN }), 'INVALID_ARGUMENT', /alpha/);
      expectAntlerError(() => new nn.LocalResponseNorm(0), 'INVALID_ARGUMENT', /size/);
      expectAntlerError(() => antler.localResponseNorm(tensor([1, 2], [1, 2, 1], { dtype: 'int32' }), 2), 'DTYPE_MISMATCH');
      expect(Array.from(t.dataSync())).toEqual(x);
    });
  });
});
