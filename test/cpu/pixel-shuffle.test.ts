/**
 * pixelShuffle / pixelUnshuffle / channelShuffle and nn.PixelShuffle / nn.PixelUnshuffle /
 * nn.ChannelShuffle against their index formulas (PyTorch's pixel_shuffle: out[…, c, h·r + i, w·r + j]
 * = x[…, c·r² + i·r + j, h, w]; channel_shuffle: out channel k·g + q = in channel q·(C/g) + k): random
 * shapes with 0 to 2 leading batch axes, round trips both ways, gradients (the inverse permutation),
 * errors, no leaks.
 */
import * as antler from '../../lib';
import { nn, tensor, tidy } from '../../lib';
import { expectAntlerError, expectExact, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** pixel_shuffle by its formula: x of shape [B…, C·r², H, W] (B flattened). */
function shuffleRef(x: readonly number[], B: number, C: number, r: number, H: number, W: number): number[] {
  const y = new Array<number>(x.length);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < r; i++)
          for (let w = 0; w < W; w++)
            for (let j = 0; j < r; j++) {
              const out = (((b * C + c) * H * r + h * r + i) * W * r) + w * r + j;
              y[out] = x[((b * C * r * r + c * r * r + i * r + j) * H + h) * W + w];
            }
  return y;
}

describe(`pixelShuffle, pixelUnshuffle, channelShuffle (seed ${SEED})`, () => {
  test('pixelShuffle against the index formula, pixelUnshuffle its inverse, modules; gradients', () => {
    for (let trial = 0; trial < 12; trial++) {
      const r = rng.int(1, 3), C = rng.int(1, 3), H = rng.int(1, 3), W = rng.int(1, 3);
      const lead = Array.from({ length: trial % 3 }, () => rng.int(1, 2));
      const shape = [...lead, C * r * r, H, W];
      const x = randomArray(rng, prod(shape));
      const msg = `${JSON.stringify(shape)} r ${r}`;
      tidy(() => {
        const xt = tensor(x, shape, F64).requiresGrad_();
        const y = antler.pixelShuffle(xt, r);
        expect(y.shape).toEqual([...lead, C, H * r, W * r]);
        const ref = shuffleRef(x, prod(lead), C, r, H, W);
        expectExact(y.dataSync(), ref, msg);
        expectExact(new nn.PixelShuffle(r).forward(xt).dataSync(), ref, msg);
        // The inverse, both ways round.
        expectExact(antler.pixelUnshuffle(y, r).dataSync(), x, `${msg} unshuffle`);
        expectExact(new nn.PixelUnshuffle(r).forward(y).dataSync(), x, `${msg} unshuffle module`);
        const z = tensor(randomArray(rng, y.size), y.shape, F64);
        expectExact(antler.pixelShuffle(antler.pixelUnshuffle(z, r), r).dataSync(), z.dataSync(), `${msg} round trip`);
        // The gradient is the upstream gradient put back through the inverse permutation.
        const w = randomArray(rng, y.size);
        y.backward(tensor(w, y.shape, F64));
        const g = new Array<number>(x.length);
        const idx = shuffleRef(Array.from(x, (_, i) => i), prod(lead), C, r, H, W);
        idx.forEach((src, o) => (g[src] = w[o]));
        expectExact(xt.grad!.dataSync(), g, `${msg} gradient`);
      });
    }
  });

  test('channelShuffle against the index formula, ChannelShuffle', () => {
    for (let trial = 0; trial < 10; trial++) {
      const g = rng.int(1, 4), k = rng.int(1, 3), N = rng.int(1, 2);
      const rest = Array.from({ length: rng.int(1, 2) }, () => rng.int(1, 3));
      const C = g * k, S = prod(rest);
      const shape = [N, C, ...rest];
      const x = randomArray(rng, prod(shape));
      const ref = new Array<number>(x.length);
      for (let n = 0; n < N; n++)
        for (let q = 0; q < g; q++)
          for (let kk = 0; kk < k; kk++)
            for (let s = 0; s < S; s++) ref[(n * C + kk * g + q) * S + s] = x[(n * C + q * k + kk) * S + s];
      tidy(() => {
        const xt = tensor(x, shape, F64);
        expectExact(antler.channelShuffle(xt, g).dataSync(), ref, `${JSON.stringify(shape)} groups ${g}`);
        expectExact(new nn.ChannelShuffle(g).forward(xt).dataSync(), ref);
        expect(antler.channelShuffle(xt, g).shape).toEqual(shape);
      });
    }
    expect(String(new nn.ChannelShuffle(3))).toBe('ChannelShuffle(groups: 3)');
    expect(String(new nn.PixelShuffle(2))).toBe('PixelShuffle(upscaleFactor: 2)');
  });

  test('errors', () => {
    tidy(() => {
      const x = antler.zeros([1, 6, 2, 2]);
      expectAntlerError(() => antler.pixelShuffle(x, 2), 'SHAPE_MISMATCH', /pixelShuffle: x has 6 channels \(axis -3 of \[1, 6, 2, 2\]\); expected a multiple of upscaleFactor² = 4/);
      expectAntlerError(() => antler.pixelShuffle(antler.zeros([4, 2]), 2), 'SHAPE_MISMATCH', /x has shape \[4, 2\]; expected at least 3 axes/);
      expectAntlerError(() => antler.pixelShuffle(x, 0), 'INVALID_ARGUMENT', /upscaleFactor must be an integer >= 1; got 0/);
      expectAntlerError(() => antler.pixelUnshuffle(antler.zeros([1, 1, 4, 3]), 2), 'SHAPE_MISMATCH', /height 4 and width 3.*multiples of downscaleFactor 2/);
      expectAntlerError(() => antler.pixelUnshuffle(x, 1.5), 'INVALID_ARGUMENT', /downscaleFactor must be an integer >= 1/);
      expectAntlerError(() => antler.channelShuffle(x, 4), 'SHAPE_MISMATCH', /6 channels.*multiple of groups 4/);
      expectAntlerError(() => antler.channelShuffle(antler.zeros([2, 4]), 2), 'SHAPE_MISMATCH', /at least 3 axes \[N, C, \*\]/);
      expectAntlerError(() => new nn.PixelShuffle(0), 'INVALID_ARGUMENT', /upscaleFactor/);
      expectAntlerError(() => new nn.ChannelShuffle(-1), 'INVALID_ARGUMENT', /groups/);
    });
  });
});
