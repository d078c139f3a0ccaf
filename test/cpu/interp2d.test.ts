/**
 * interpolate for 4-D [N, C, H, W] and 5-D [N, C, D, H, W] inputs ('nearest', 'nearest-exact', 'bilinear',
 * 'bicubic', 'trilinear', 'area'), nn.Upsample at those ranks, nn.UpsamplingNearest2d and
 * nn.UpsamplingBilinear2d, against float64 JavaScript transcriptions of PyTorch's kernels: each axis's
 * source taps and weights (UpSample.h's area_pixel_compute_source_index, guard_index_and_lambda,
 * get_cubic_upsample_coefficients with A = −0.75, the borders by clamped indices), combined
 * non-separably (a sum over the product of the axes' taps, as upsample_bilinear2d / bicubic2d /
 * trilinear3d's loops); random shapes, sizes, scale factors (up and down), both alignCorners,
 * recomputeScaleFactor; gradients against central differences of the reference; errors; no leaks.
 */
import * as antler from '../../lib';
import { nn, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, numGrad, dotW, randomArray, tensorCounts } from '../helpers';

/** The central differences' step (the ops are linear in x: exact but for rounding). */
const H = 1e-3;

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** One axis's taps: for each output position, [source index, weight] pairs (float64). */
type Taps = [number, number][][];

/**
 * PyTorch's per-axis rule (float64, a float64 input's kernel) for an axis of length L resampled to `out`;
 * `given` is the scale factor handed to the kernel (undefined: L/out is used).
 */
function axisTaps(mode: string, L: number, out: number, given: number | undefined, align: boolean): Taps {
  const taps: Taps = [];
  const s = given !== undefined ? 1 / given : L / out;
  for (let j = 0; j < out; j++) {
    if (mode === 'nearest' || mode === 'nearest-exact') {
      // HelperInterpNearest(Exact): the double position, floored after a rounding to float (floorf).
      const src = Math.fround(mode === 'nearest' ? j * s : Math.max(s * (j + 0.5) - 0.5, 0) + 0.5);
      taps.push([[Math.min(Math.floor(src), L - 1), 1]]);
    } else if (mode === 'bicubic') {
      const scale = align ? (out > 1 ? (L - 1) / (out - 1) : 0) : s;
      const real = align ? scale * j : scale * (j + 0.5) - 0.5; // cubic: not clamped at 0
      const k = Math.floor(real);
      const t = real - k;
      const A = -0.75;
      const near = (d: number) => ((A + 2) * d - (A + 3)) * d * d + 1;
      const far = (d: number) => ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
      const w = [far(t + 1), near(t), near(1 - t), far(2 - t)];
      taps.push(w.map((wi, i): [number, number] => [Math.max(0, Math.min(L - 1, k - 1 + i)), wi]));
    } else {
      if (out === L) {
        taps.push([[j, 1]]);
        continue;
      }
      const scale = align ? (out > 1 ? (L - 1) / (out - 1) : 0) : s;
      const real = align ? scale * j : Math.max(scale * (j + 0.5) - 0.5, 0);
      const k = Math.min(Math.floor(real), L - 1);
      const l1 = Math.min(Math.max(real - k, 0), 1);
      taps.push([
        [k, 1 - l1],
        [k < L - 1 ? k + 1 : k, l1],
      ]);
    }
  }
  return taps;
}

/** y[n, c, o…] = Σ over the product of each axis's taps of Π weights · x[n, c, src…] (float64). */
function applyTaps(x: readonly number[], shape: readonly number[], taps: Taps[]): number[] {
  const [N, C] = shape, ins = shape.slice(2), outs = taps.map((t) => t.length);
  const y: number[] = [];
  const inSize = prod(ins), outSize = prod(outs);
  for (let nc = 0; nc < N * C; nc++)
    for (let o = 0; o < outSize; o++) {
      // The output's multi-index, then every combination of the axes' taps.
      const oi: number[] = [];
      for (let a = outs.length - 1, r = o; a >= 0; a--) {
        oi[a] = r % outs[a];
        r = Math.floor(r / outs[a]);
      }
      let sum = 0;
      const walk = (a: number, off: number, w: number) => {
        if (a === outs.length) {
          sum += w * x[nc * inSize + off];
          return;
        }
        for (const [src, wt] of taps[a][oi[a]]) walk(a + 1, off * ins[a] + src, w * wt);
      };
      walk(0, 0, 1);
      y.push(sum);
    }
  return y;
}


const MODES: Record<number, readonly string[]> = { 4: ['nearest', 'nearest-exact', 'bilinear', 'bicubic'], 5: ['nearest', 'nearest-exact', 'trilinear'] };

describe(`interpolate 2-D and 3-D (seed ${SEED})`, () => {
  test('random shapes, sizes and scale factors (up and down), every mode, both alignCorners: values and gradients (float64)', () => {
    for (let trial = 0; trial < 48; trial++) {
      const rank = trial % 2 === 0 ? 4 : 5;
      const mode = MODES[rank][Math.floor(trial / 2) % MODES[rank].length];
      const dim = rank - 2;
      const ins = Array.from({ length: dim }, () => rng.int(1, rank === 4 ? 6 : 4));
      const shape = [rng.int(1, 2), rng.int(1, 2), ...ins];
      const bySize = rng.next() < 0.5;
      const sizes = ins.map(() => rng.int(1, rank === 4 ? 9 : 6));
      const sfs = ins.map((L) => {
        const sf = Math.round(rng.uniform(0.3, 3) * 100) / 100;
        return Math.floor(L * sf) >= 1 ? sf : 1.5;
      });
      // A number for every axis, or one per axis.
      const asNumber = rng.next() < 0.3;
      const recompute = !bySize && rng.next() < 0.3;
      const interp = mode !== 'nearest' && mode !== 'nearest-exact';
      const alignCorners = interp && rng.next() < 0.7 ? rng.next() < 0.5 : undefined;
      const o = bySize ? { size: asNumber ? sizes[0] : sizes } : { scaleFactor: asNumber ? sfs[0] : sfs, recomputeScaleFactor: recompute };
      const sizesUsed = asNumber ? ins.map(() => sizes[0]) : sizes, sfsUsed = asNumber ? ins.map(() => sfs[0]) : sfs;
      const outs = bySize ? sizesUsed : ins.map((L, i) => Math.floor(L * sfsUsed[i]));
      if (outs.some((v) => v < 1)) continue;
      const taps = ins.map((L, i) => axisTaps(mode, L, outs[i], bySize || recompute ? undefined : sfsUsed[i], alignCorners === true));
      const x = randomArray(rng, prod(shape));
      const msg = `${mode} ${JSON.stringify(shape)} ${JSON.stringify(o)} alignCorners ${alignCorners}`;
      tidy(() => {
        const xt = tensor(x, shape, F64).requiresGrad_();
        const y = antler.interpolate(xt, { ...o, mode: mode as antler.InterpolateMode, alignCorners });
        expect(y.shape).toEqual([shape[0], shape[1], ...outs]);
        expectClose(y.dataSync(), applyTaps(x, shape, taps), 1e-13, 1e-14, msg);
        const w = randomArray(rng, y.size);
        y.backward(tensor(w, y.shape, F64));
        expectClose(xt.grad!.dataSync(), numGrad((v) => dotW(applyTaps(v, shape, taps), w), x, H), 1e-8, 1e-9, msg);
        // nn.Upsample forwards the same settings.
        expectExact(new nn.Upsample({ ...o, mode: mode as antler.InterpolateMode, alignCorners }).forward(xt).dataSync(), y.dataSync(), msg);
      });
    }
  });

  test('float32 follows the float64 reference (the nearest modes exactly; the blends within float rounding)', () => {
    for (let trial = 0; trial < 12; trial++) {
      const rank = trial % 2 === 0 ? 4 : 5;
      const mode = MODES[rank][Math.floor(trial / 2) % MODES[rank].length];
      const ins = Array.from({ length: rank - 2 }, () => rng.int(2, 5));
      const shape = [1, 2, ...ins];
      const size = ins.map(() => rng.int(1, 8));
      const x = randomArray(rng, prod(shape));
      tidy(() => {
        const y32 = antler.interpolate(tensor(x, shape), { size, mode: mode as antler.InterpolateMode });
        const y64 = antler.interpolate(tensor(x, shape, F64), { size, mode: mode as antler.InterpolateMode });
        expect(y32.dtype).toBe('float32');
        if (mode.startsWith('nearest')) expectExact(y32.dataSync(), Array.from(y64.dataSync(), Math.fround), mode);
        else expectClose(y32.dataSync(), y64.dataSync(), 1e-5, 2e-6, `${mode} ${JSON.stringify(shape)} → ${JSON.stringify(size)}`);
      });
    }
  });

  test('pinned torch 1.13 values: bilinear, bicubic (both alignCorners), trilinear', () => {
    tidy(() => {
      const x = antler.arange(0, 6, 1, F64).mul(antler.arange(0, 6, 1, F64)).reshape([1, 1, 2, 3]);
      // torch.arange(6.).pow(2).view(1, 1, 2, 3), F.interpolate(·, size=(3, 4), mode=…).flatten()
      expectClose(antler.interpolate(x, { size: [3, 4], mode: 'bilinear' }).dataSync(), BILINEAR, 1e-14, 1e-14, 'bilinear');
      expectClose(antler.interpolate(x, { size: [3, 4], mode: 'bilinear', alignCorners: true }).dataSync(), BILINEAR_AC, 1e-14, 1e-14, 'bilinear ac');
      expectClose(antler.interpolate(x, { size: [3, 4], mode: 'bicubic' }).dataSync(), BICUBIC, 1e-14, 1e-14, 'bicubic');
      expectClose(antler.interpolate(x, { size: [3, 4], mode: 'bicubic', alignCorners: true }).dataSync(), BICUBIC_AC, 1e-14, 1e-14, 'bicubic ac');
      // torch.arange(8.).view(1, 1, 2, 2, 2), F.interpolate(·, scale_factor=1.5, mode='trilinear').flatten()[:9]
      const x3 = antler.arange(0, 8, 1, F64).reshape([1, 1, 2, 2, 2]);
      expectClose(Array.from(antler.interpolate(x3, { scaleFactor: 1.5, mode: 'trilinear' }).dataSync()).slice(0, 9), TRILINEAR, 1e-14, 1e-14, 'trilinear');
    });
  });

  test("mode 'area' of a 4-D input is adaptiveAvgPool2d to the output size, of a 5-D input adaptiveAvgPool3d", () => {
    tidy(() => {
      const x = tensor(randomArray(rng, 2 * 3 * 5 * 7), [2, 3, 5, 7], F64);
      expectExact(antler.interpolate(x, { size: [3, 4], mode: 'area' }).dataSync(), antler.adaptiveAvgPool2d(x, [3, 4]).dataSync());
      expectExact(antler.interpolate(x, { scaleFactor: [0.5, 1.5], mode: 'area' }).dataSync(), antler.adaptiveAvgPool2d(x, [2, 10]).dataSync());
      const v = tensor(randomArray(rng, 2 * 3 * 5 * 7 * 4), [2, 3, 5, 7, 4], F64);
      expectExact(antler.interpolate(v, { size: [2, 3, 4], mode: 'area' }).dataSync(), antler.adaptiveAvgPool3d(v, [2, 3, 4]).dataSync());
      expectExact(antler.interpolate(v, { scaleFactor: [0.5, 1.5, 2], mode: 'area' }).dataSync(), antler.adaptiveAvgPool3d(v, [2, 10, 8]).dataSync());
    });
  });

  test('UpsamplingNearest2d and UpsamplingBilinear2d (alignCorners true), Upsample settings', () => {
    tidy(() => {
      const x = tensor(randomArray(rng, 2 * 2 * 3 * 4), [2, 2, 3, 4], F64);
      const near = new nn.UpsamplingNearest2d({ scaleFactor: 2 });
      expectExact(near.forward(x).dataSync(), antler.interpolate(x, { scaleFactor: 2, mode: 'nearest' }).dataSync());
      const bil = new nn.UpsamplingBilinear2d({ size: [5, 7] });
      expect(bil.alignCorners).toBe(true);
      expect(bil.mode).toBe('bilinear');
      expectExact(bil.forward(x).dataSync(), antler.interpolate(x, { size: [5, 7], mode: 'bilinear', alignCorners: true }).dataSync());
      expect(new nn.Upsample({ size: [5, 7], mode: 'bicubic' }).size).toEqual([5, 7]);
      expect(String(new nn.Upsample({ scaleFactor: [2, 3], mode: 'bilinear' }))).toBe("Upsample(scaleFactor: [2, 3], mode: 'bilinear')");
      expectAntlerError(() => new nn.UpsamplingBilinear2d({ size: [5, 7], mode: 'nearest' } as never), 'INVALID_ARGUMENT', /mode/);
      expectAntlerError(() => new nn.Upsample({ size: [2, 0], mode: 'bilinear' }), 'INVALID_ARGUMENT', /size must be an integer >= 1/);
      expectAntlerError(() => new nn.Upsample({ scaleFactor: [2, -1] }), 'INVALID_ARGUMENT', /scaleFactor must be > 0/);
      // A one-element list is one spatial axis (PyTorch's (5,)): refused for a 4-D input, as interpolate and torch
      // refuse it, not read as 5 for every axis.
      expectAntlerError(() => new nn.Upsample({ size: [5] }).forward(x), 'INVALID_ARGUMENT', /size must be a number or a list of 2 .*got an array \[5\]/);
      expectAntlerError(() => new nn.Upsample({ scaleFactor: [2], mode: 'bilinear' }).forward(x), 'INVALID_ARGUMENT', /scaleFactor must be a number or a list of 2/);
      expect(new nn.Upsample({ size: [5] }).size).toEqual([5]);
      expectAntlerError(() => new nn.Upsample({ size: 5, mode: 'bilinear', alignCorners: 'yes' as never }), 'INVALID_ARGUMENT', /Upsample: alignCorners must be a boolean/);
      expectAntlerError(() => new nn.Upsample({ scaleFactor: 2, recomputeScaleFactor: 1 as never }), 'INVALID_ARGUMENT', /Upsample: recomputeScaleFactor must be a boolean/);
    });
  });

  test('memory: intermediates are freed as each axis is resampled (peak within 6 outputs, bilinear and bicubic ×2)', () => {
    // Keeping every gather, product and partial sum until interpolate's tidy ended peaked at 7.5 outputs
    // (bilinear) and 16.5 (bicubic) in the forward alone; freeing each once used, at about 4 (and 5 to 5.5
    // through backward).
    const x = tensor(randomArray(rng, 2 * 4 * 16 * 16), [2, 4, 16, 16], F64).requiresGrad_();
    const outBytes = 2 * 4 * 32 * 32 * 8;
    for (const mode of ['bilinear', 'bicubic'] as const)
      tidy(() => {
        antler.resetPeakMemory();
        const base = antler.memory().devices.cpu.numBytes;
        const y = antler.interpolate(x, { scaleFactor: 2, mode });
        y.backward(antler.onesLike(y));
        expect((antler.memory().devices.cpu.peakBytes - base) / outBytes).toBeLessThan(6);
      });
    x.dispose();
  });

  test("errors: the mode's rank, the number of sizes, alignCorners, sizes > 0", () => {
    tidy(() => {
      const x4 = antler.zeros([1, 2, 3, 4]), x5 = antler.zeros([1, 2, 3, 4, 5]), x3 = antler.zeros([1, 2, 3]);
      expectAntlerError(() => antler.interpolate(x3, { size: 4, mode: 'bilinear' }), 'INVALID_ARGUMENT', /mode 'bilinear' needs a 4-D input \[N, C, H, W\].*\[1, 2, 3\] \(3-D\)/);
      expectAntlerError(() => antler.interpolate(x5, { size: 4, mode: 'bicubic' }), 'INVALID_ARGUMENT', /mode 'bicubic' needs a 4-D input.*\(5-D\)/);
      expectAntlerError(() => antler.interpolate(x4, { size: 4, mode: 'trilinear' }), 'INVALID_ARGUMENT', /mode 'trilinear' needs a 5-D input \[N, C, D, H, W\]/);
      expectAntlerError(() => antler.interpolate(x4, { size: 4, mode: 'linear' }), 'INVALID_ARGUMENT', /mode 'linear' needs a 3-D input \[N, C, L\]/);
      expectAntlerError(() => antler.interpolate(x5, { size: 4, mode: 'bilinear' }), 'INVALID_ARGUMENT', /'bilinear' needs a 4-D/);
      expectAntlerError(() => antler.interpolate(x4, { size: [2, 3, 4] }), 'INVALID_ARGUMENT', /size must be a number or a list of 2 \(one entry per spatial axis of x \[1, 2, 3, 4\]\); got an array \[2, 3, 4\]/);
      expectAntlerError(() => antler.interpolate(x5, { scaleFactor: [2, 3] }), 'INVALID_ARGUMENT', /scaleFactor must be a number or a list of 3/);
      expectAntlerError(() => antler.interpolate(x4, { size: 4, mode: 'nearest', alignCorners: false }), 'INVALID_ARGUMENT', /alignCorners can only be set with mode 'linear', 'bilinear', 'bicubic' or 'trilinear'/);
      expectAntlerError(() => antler.interpolate(x4, { size: [2, 0] }), 'INVALID_ARGUMENT', /output size \[2, 0\] must be > 0/);
      expectAntlerError(() => antler.interpolate(x4, { scaleFactor: [1, 0.2] }), 'INVALID_ARGUMENT', /output size \[3, 0\] must be > 0/);
      expectAntlerError(() => antler.interpolate(x4, { scaleFactor: [1, -2] }), 'INVALID_ARGUMENT', /scaleFactor must be > 0/);
      expectAntlerError(() => antler.interpolate(x4, { size: [2, 2.5] }), 'INVALID_ARGUMENT', /size/);
      expectAntlerError(() => antler.interpolate(x4, { size: 2, mode: 'cubic' as never }), 'INVALID_ARGUMENT', /mode must be/);
      expectAntlerError(() => antler.interpolate(antler.zeros([1, 2, 3, 4, 5, 6]), { size: 2 }), 'SHAPE_MISMATCH', /expected a 3-D input \[N, C, L\], 4-D \[N, C, H, W\] or 5-D \[N, C, D, H, W\]/);
      expectAntlerError(() => antler.interpolate(x4.cast('int32'), { size: 2 }), 'DTYPE_MISMATCH', /int32/);
    });
  });
});

// torch 1.13 (CPU, float64), F.interpolate of torch.arange(6.).pow(2).view(1, 1, 2, 3) to size (3, 4).
const BILINEAR = [0, 0.625, 2.125, 4, 4.499999999999999, 6.999999999999999, 10.749999999999998, 14.499999999999998, 9, 13.375, 19.375, 24.999999999999996];
const BILINEAR_AC = [0, 0.6666666666666666, 1.9999999999999998, 4, 4.5, 7.166666666666666, 10.5, 14.5, 9, 13.666666666666666, 19, 25];
const BICUBIC = [
  -0.8156433105468733, -0.7471211751302058, 0.6439310709635458, 2.3550313313802134, 4.212890625, 6.3994140625, 11.1015625, 14.9306640625, 9.241424560546877,
  13.545949300130214, 21.55919392903646, 27.506296793619796,
];
const BICUBIC_AC = [0, 0.35185185185185164, 2.0555555555555562, 4, 4.5, 6.574074074074073, 10.833333333333336, 14.5, 9, 12.796296296296294, 19.611111111111114, 25];
// torch.arange(8.).view(1, 1, 2, 2, 2), scale_factor 1.5, 'trilinear': the first 9 values.
const TRILINEAR = [0, 0.49999999999999994, 1, 0.9999999999999999, 1.4999999999999998, 1.9999999999999998, 2, 2.4999999999999996, 3];
