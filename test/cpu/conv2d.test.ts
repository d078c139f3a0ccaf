/**
 * conv2d / convTranspose2d / nn.Conv2d / nn.ConvTranspose2d against direct
 * float64 loops of PyTorch's definitions (the cross-correlation sum over
 * channels and kernel taps; the transposed convolution's scatter-add), on
 * fresh random geometries (strides, paddings — numbers, pairs, 'same',
 * 'valid' —, dilations, groups, depthwise, outputPadding), unbatched input,
 * 1×1 kernels and kernels as large as the input; gradients against central
 * differences of the reference; the layers' parameter names, shapes and
 * initialisation bounds; bad inputs. The op registry (test/opinfo.ts) adds
 * double backward and CUDA against the CPU.
 */
import * as antler from '../../lib';
import { nn, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts, F32_ROUNDING } from '../helpers';
import { dot, expectGradsMatchCentral } from '../conv-refs';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };

/** A 2-D geometry: sizes, groups and per-axis stride, padding (before, after), dilation and outputPadding. */
interface Geometry {
  N: number; G: number; Cg: number; Og: number; H: number; W: number; kH: number; kW: number;
  sh: number; sw: number; ph: [number, number]; pw: [number, number]; dh: number; dw: number; oh: number; ow: number;
}

/** y[n, o, i, j] = b[o] + Σ_c Σ_a Σ_b w[o, c, a, b] · xpad[n, g(o)·Cg + c, i·sh + a·dh, j·sw + b·dw]. */
function conv2dRef(x: readonly number[], w: readonly number[], b: readonly number[] | null, q: Geometry) {
  const { N, G, Cg, Og, H, W, kH, kW } = q, Cin = G * Cg, Cout = G * Og;
  const Hout = Math.floor((H + q.ph[0] + q.ph[1] - q.dh * (kH - 1) - 1) / q.sh) + 1;
  const Wout = Math.floor((W + q.pw[0] + q.pw[1] - q.dw * (kW - 1) - 1) / q.sw) + 1;
  const y = new Array<number>(N * Cout * Hout * Wout).fill(0);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < Cout; o++)
      for (let i = 0; i < Hout; i++)
        for (let j = 0; j < Wout; j++) {
          let acc = b ? b[o] : 0;
          const g = Math.floor(o / Og);
          for (let c = 0; c < Cg; c++)
            for (let a = 0; a < kH; a++)
              for (let bb = 0; bb < kW; bb++) {
                const r = i * q.sh + a * q.dh - q.ph[0], s = j * q.sw + bb * q.dw - q.pw[0];
                if (r < 0 || r >= H || s < 0 || s >= W) continue;
                acc += w[((o * Cg + c) * kH + a) * kW + bb] * x[((n * Cin + g * Cg + c) * H + r) * W + s];
              }
          y[((n * Cout + o) * Hout + i) * Wout + j] = acc;
        }
  return { y, Hout, Wout };
}

/** The transposed convolution's definition: y[n, g·Og + o, i·sh + a·dh − ph, j·sw + b·dw − pw] += x[n, ci, i, j]·w[ci, o, a, b], outside positions dropped. */
function convTranspose2dRef(x: readonly number[], w: readonly number[], b: readonly number[] | null, q: Geometry) {
  const { N, G, Cg, Og, H, W, kH, kW } = q, Cin = G * Cg, Cout = G * Og;
  const Hout = (H - 1) * q.sh - 2 * q.ph[0] + q.dh * (kH - 1) + q.oh + 1;
  const Wout = (W - 1) * q.sw - 2 * q.pw[0] + q.dw * (kW - 1) + q.ow + 1;
  const y = new Array<number>(N * Cout * Hout * Wout).fill(0);
  if (b) for (let n = 0; n < N; n++) for (let o = 0; o < Cout; o++) for (let p = 0; p < Hout * Wout; p++) y[(n * Cout + o) * Hout * Wout + p] = b[o];
  for (let n = 0; n < N; n++)
    for (let ci = 0; ci < Cin; ci++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++)
          for (let o = 0; o < Og; o++)
            for (let a = 0; a < kH; a++)
              for (let bb = 0; bb < kW; bb++) {
                const p = i * q.sh + a * q.dh - q.ph[0], s = j * q.sw + bb * q.dw - q.pw[0];
                if (p < 0 || p >= Hout || s < 0 || s >= Wout) continue;
                const co = Math.floor(ci / Cg) * Og + o;
                y[((n * Cout + co) * Hout + p) * Wout + s] += x[((n * Cin + ci) * H + i) * W + j] * w[((ci * Og + o) * kH + a) * kW + bb];
              }
  return { y, Hout, Wout };
}

/** A random conv2d geometry and the options that give it (padding as a number, a pair, 'same' or 'valid'). */
function randomConv(): { q: Geometry; options: antler.Conv2dOptions } {
  const G = rng.pick([1, 1, 2, 3]), Cg = rng.int(1, 3), Og = rng.int(1, 3), N = rng.int(1, 2);
  const kH = rng.int(1, 4), kW = rng.int(1, 4), dh = rng.int(1, 2), dw = rng.int(1, 2);
  const mode = rng.pick(['number', 'pair', 'same', 'valid'] as const);
  const sh = mode === 'same' ? 1 : rng.int(1, 3), sw = mode === 'same' ? 1 : rng.int(1, 3);
  const p0 = rng.int(0, 2), p1 = mode === 'pair' ? rng.int(0, 2) : p0;
  const side = (span: number, p: number): [number, number] => (mode === 'same' ? [Math.floor(span / 2), span - Math.floor(span / 2)] : mode === 'valid' ? [0, 0] : [p, p]);
  const ph = side(dh * (kH - 1), p0), pw = side(dw * (kW - 1), p1);
  const H = Math.max(1, dh * (kH - 1) + 1 - ph[0] - ph[1]) + rng.int(0, 5), W = Math.max(1, dw * (kW - 1) + 1 - pw[0] - pw[1]) + rng.int(0, 5);
  const padding = mode === 'number' ? p0 : mode === 'pair' ? ([p0, p1] as [number, number]) : mode;
  const stride = sh === sw && rng.next() < 0.5 ? sh : ([sh, sw] as [number, number]);
  const dilation = dh === dw && rng.next() < 0.5 ? dh : ([dh, dw] as [number, number]);
  return { q: { N, G, Cg, Og, H, W, kH, kW, sh, sw, ph, pw, dh, dw, oh: 0, ow: 0 }, options: { stride, padding, dilation, groups: G } };
}

/** A random convTranspose2d geometry (outputPadding below the stride or the dilation) and its options. */
function randomTranspose(): { q: Geometry; options: antler.ConvTranspose2dOptions } {
  for (;;) {
    const G = rng.pick([1, 1, 2, 3]), Cg = rng.int(1, 3), Og = rng.int(1, 3), N = rng.int(1, 2);
    const kH = rng.int(1, 4), kW = rng.int(1, 4), dh = rng.int(1, 2), dw = rng.int(1, 2), sh = rng.int(1, 3), sw = rng.int(1, 3);
    const p0 = rng.int(0, 2), p1 = rng.int(0, 2), oh = rng.int(0, Math.max(sh, dh) - 1), ow = rng.int(0, Math.max(sw, dw) - 1);
    const H = rng.int(1, 4), W = rng.int(1, 4);
    const q: Geometry = { N, G, Cg, Og, H, W, kH, kW, sh, sw, ph: [p0, p0], pw: [p1, p1], dh, dw, oh, ow };
    if ((H - 1) * sh - 2 * p0 + dh * (kH - 1) + oh + 1 < 1 || (W - 1) * sw - 2 * p1 + dw * (kW - 1) + ow + 1 < 1) continue;
    return { q, options: { stride: [sh, sw], padding: [p0, p1], dilation: [dh, dw], outputPadding: [oh, ow], groups: G } };
  }
}

describe(`conv2d (seed ${SEED})`, () => {
  test("equals the direct sum of PyTorch's definition over random geometries (stride, padding as a number, a pair, 'same' and 'valid', dilation, groups), unbatched, float32", () =>
    tidy(() => {
      for (let trial = 0; trial < 30; trial++) {
        const { q, options } = randomConv();
        const Cin = q.G * q.Cg, Cout = q.G * q.Og;
        const x = randomArray(rng, q.N * Cin * q.H * q.W), w = randomArray(rng, Cout * q.Cg * q.kH * q.kW), b = rng.next() < 0.6 ? randomArray(rng, Cout) : null;
        const ref = conv2dRef(x, w, b, q);
        const what = `${JSON.stringify({ ...q, ...options, bias: Boolean(b) })} (seed ${SEED})`;
        const ws = [Cout, q.Cg, q.kH, q.kW];
        const y = antler.conv2d(tensor(x, [q.N, Cin, q.H, q.W], F64), tensor(w, ws, F64), b ? tensor(b, [Cout], F64) : null, options);
        expect(y.shape).toEqual([q.N, Cout, ref.Hout, ref.Wout]);
        expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, what);
        const u = antler.conv2d(tensor(x.slice(0, Cin * q.H * q.W), [Cin, q.H, q.W], F64), tensor(w, ws, F64), b ? tensor(b, [Cout], F64) : null, options);
        expect(u.shape).toEqual([Cout, ref.Hout, ref.Wout]);
        expectClose(u.dataSync(), ref.y.slice(0, Cout * ref.Hout * ref.Wout), 1e-12, 1e-12, `unbatched ${what}`);
        const f32 = antler.conv2d(tensor(x, [q.N, Cin, q.H, q.W]), tensor(w, ws), b ? tensor(b, [Cout]) : null, options);
        expect(f32.dtype).toBe('float32');
        expectClose(f32.dataSync(), ref.y, 1e-5, 1e-5, `float32 ${what}`);
      }
    }));

  test('depthwise (groups = inChannels, a channel multiplier), 1×1 kernels and a kernel as large as the (padded) input', () =>
    tidy(() => {
      const cases: { q: Geometry; options: antler.Conv2dOptions }[] = [];
      const C = rng.int(2, 5), H = rng.int(3, 7), W = rng.int(3, 7), N = rng.int(1, 3);
      const base = { N, H, W, sh: 1, sw: 1, ph: [0, 0] as [number, number], pw: [0, 0] as [number, number], dh: 1, dw: 1, oh: 0, ow: 0 };
      // Depthwise with multiplier 1 and 2, 'same'.
      for (const Og of [1, 2]) cases.push({ q: { ...base, G: C, Cg: 1, Og, kH: 3, kW: 3, ph: [1, 1], pw: [1, 1] }, options: { groups: C, padding: 'same' } });
      // 1×1 kernels: a per-position linear map, with a stride.
      cases.push({ q: { ...base, G: 1, Cg: C, Og: 3, kH: 1, kW: 1, sh: 2, sw: 3 }, options: { stride: [2, 3] } });
      // Kernel = input size: one output position; and kernel = padded input size.
      cases.push({ q: { ...base, G: 1, Cg: C, Og: 2, kH: H, kW: W }, options: {} });
      cases.push({ q: { ...base, G: 1, Cg: C, Og: 2, kH: H + 2, kW: W, ph: [1, 1], pw: [0, 0] }, options: { padding: [1, 0] } });
      cases.push({ q: { ...base, G: 1, Cg: C, Og: 2, kH: 2, kW: 2, ph: [1, 1], pw: [1, 1], dh: H + 1, dw: W + 1 }, options: { padding: 1, dilation: [H + 1, W + 1] } });
      for (const { q, options } of cases) {
        const Cin = q.G * q.Cg, Cout = q.G * q.Og;
        const x = randomArray(rng, q.N * Cin * q.H * q.W), w = randomArray(rng, Cout * q.Cg * q.kH * q.kW), b = randomArray(rng, Cout);
        const ref = conv2dRef(x, w, b, q);
        const y = antler.conv2d(tensor(x, [q.N, Cin, q.H, q.W], F64), tensor(w, [Cout, q.Cg, q.kH, q.kW], F64), tensor(b, [Cout], F64), options);
        expect(y.shape).toEqual([q.N, Cout, ref.Hout, ref.Wout]);
        expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, `${JSON.stringify({ ...q, ...options })} (seed ${SEED})`);
      }
      expect(cases.slice(3, 6).map(({ q }) => conv2dRef([], [], null, { ...q, N: 0 }))).toEqual(cases.slice(3, 6).map(() => ({ y: [], Hout: 1, Wout: 1 })));
    }));

  test('gradients to x, weight and bias match central differences in float64', () => {
    for (let trial = 0; trial < 6; trial++) {
      const { q, options } = randomConv();
      const Cin = q.G * q.Cg, Cout = q.G * q.Og;
      const vals = [randomArray(rng, q.N * Cin * q.H * q.W), randomArray(rng, Cout * q.Cg * q.kH * q.kW), randomArray(rng, Cout)];
      const shapes = [[q.N, Cin, q.H, q.W], [Cout, q.Cg, q.kH, q.kW], [Cout]];
      const ref = conv2dRef(vals[0], vals[1], null, q);
      const Wt = Array.from({ length: ref.y.length }, (_, i) => Math.sin(1.3 * i + 0.4));
      const f = (v: number[][]) => dot(conv2dRef(v[0], v[1], v[2], q).y, Wt);
      tidy(() => {
        const ts = vals.map((v, i) => tensor(v, shapes[i], { ...F64, requiresGrad: true }));
        const y = antler.conv2d(ts[0], ts[1], ts[2], options);
        y.backward(tensor(Wt, y.shape.slice(), F64));
        expectGradsMatchCentral(ts, vals, f, `${JSON.stringify({ ...q, ...options })} (seed ${SEED})`);
      });
    }
  });

  test('bad inputs raise AntlerError saying what was passed and what was expected', () =>
    tidy(() => {
      const x = antler.zeros([2, 3, 6, 5]), w = antler.zeros([4, 3, 3, 2]);
      expectAntlerError(() => antler.conv2d(antler.zeros([2, 5, 6, 5]), w), 'SHAPE_MISMATCH', /^conv2d: input has 5 channels \(shape \[2, 5, 6, 5\]\); the weight \[4, 3, 3, 2\] expects 3$/);
      expectAntlerError(() => antler.conv2d(x, antler.zeros([4, 2, 3, 2]), null, { groups: 2 }), 'SHAPE_MISMATCH', /^conv2d: input has 3 channels .* with 2 groups expects 4$/);
      expectAntlerError(() => antler.conv2d(x, w, null, { groups: 3 }), 'SHAPE_MISMATCH', /^conv2d: weight has 4 output channels \(shape \[4, 3, 3, 2\]\), not divisible into 3 groups$/);
      expectAntlerError(() => antler.conv2d(x, antler.zeros([4, 3, 3])), 'SHAPE_MISMATCH', /^conv2d: weight has shape \[4, 3, 3\]; expected \[outChannels, inChannels \/ groups, kernelHeight, kernelWidth\]$/);
      expectAntlerError(() => antler.conv2d(antler.zeros([3, 6]), w), 'SHAPE_MISMATCH', /^conv2d: input has shape \[3, 6\]; expected \[N, 3, H, W\] or unbatched \[3, H, W\]$/);
      expectAntlerError(() => antler.conv2d(x, w, antler.zeros([3])), 'SHAPE_MISMATCH', /^conv2d: bias has shape \[3\]; expected \[4\]$/);
      expectAntlerError(() => antler.conv2d(antler.zeros([2, 3, 2, 5]), w), 'SHAPE_MISMATCH', /^conv2d: the input's height 2 \(padded to 2\) is shorter than the kernel's span 3 \(kernel 3, dilation 1\)$/);
      expectAntlerError(() => antler.conv2d(x, w, null, { padding: [0, 1], dilation: [1, 7] }), 'SHAPE_MISMATCH', /^conv2d: the input's width 5 \(padded to 7\) is shorter than the kernel's span 8 \(kernel 2, dilation 7\)$/);
      expectAntlerError(() => antler.conv2d(x, w, null, { padding: 'same', stride: [1, 2] }), 'INVALID_ARGUMENT', /^conv2d: padding 'same' needs stride 1 \(as PyTorch\); got stride 2$/);
      expectAntlerError(() => antler.conv2d(x, w, null, { stride: [1, 0] }), 'INVALID_ARGUMENT', /^conv2d: stride must be a positive integer; got 0$/);
      expectAntlerError(() => antler.conv2d(x, w, null, { stride: [1, 1, 1] as unknown as [number, number] }), 'INVALID_ARGUMENT', /^conv2d: stride must be a number or \[height, width\]; got /);
      expectAntlerError(() => antler.conv2d(x, w, null, { padding: ['same', 1] as unknown as [number, number] }), 'INVALID_ARGUMENT', /^conv2d: padding must be a number or \[height, width\]/);
      expectAntlerError(() => antler.conv2d(x, w, null, { padding: -1 }), 'INVALID_ARGUMENT', /^conv2d: padding must be an integer ≥ 0, 'valid' or 'same'; got -1$/);
      expectAntlerError(() => antler.conv2d(x, w, null, { groups: 0 }), 'INVALID_ARGUMENT', /^conv2d: groups must be a positive integer; got 0$/);
      expectAntlerError(() => antler.conv2d(x, antler.zeros([4, 3, 0, 2])), 'SHAPE_MISMATCH', /kernel size and input channels of 0/);
      expectAntlerError(() => antler.conv2d(x, antler.zeros([4, 3, 3, 2], F64)), 'DTYPE_MISMATCH', /^conv2d: input is float32 and weight float64; expected one dtype$/);
      expectAntlerError(() => antler.conv2d(x, w, antler.zeros([4], F64)), 'DTYPE_MISMATCH', /^conv2d: bias is float64 and weight float32; expected one dtype$/);
      expectAntlerError(() => antler.conv2d(x, w, null, { strides: 1 } as unknown as antler.Conv2dOptions), 'INVALID_ARGUMENT', /strides/);
      // Nothing was damaged: the inputs are still usable.
      expect(antler.conv2d(x, w).shape).toEqual([2, 4, 4, 4]);
    }));
});

describe(`convTranspose2d (seed ${SEED})`, () => {
  test("equals the scatter-add of PyTorch's definition over random geometries (stride, padding, dilation, outputPadding per axis, groups), unbatched, float32", () =>
    tidy(() => {
      for (let trial = 0; trial < 30; trial++) {
        const { q, options } = randomTranspose();
        const Cin = q.G * q.Cg, Cout = q.G * q.Og;
        const x = randomArray(rng, q.N * Cin * q.H * q.W), w = randomArray(rng, Cin * q.Og * q.kH * q.kW), b = rng.next() < 0.6 ? randomArray(rng, Cout) : null;
        const ref = convTranspose2dRef(x, w, b, q);
        const what = `${JSON.stringify({ ...q, bias: Boolean(b) })} (seed ${SEED})`;
        const ws = [Cin, q.Og, q.kH, q.kW];
        const y = antler.convTranspose2d(tensor(x, [q.N, Cin, q.H, q.W], F64), tensor(w, ws, F64), b ? tensor(b, [Cout], F64) : null, options);
        expect(y.shape).toEqual([q.N, Cout, ref.Hout, ref.Wout]);
        expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, what);
        const u = antler.convTranspose2d(tensor(x.slice(0, Cin * q.H * q.W), [Cin, q.H, q.W], F64), tensor(w, ws, F64), b ? tensor(b, [Cout], F64) : null, options);
        expect(u.shape).toEqual([Cout, ref.Hout, ref.Wout]);
        expectClose(u.dataSync(), ref.y.slice(0, Cout * ref.Hout * ref.Wout), 1e-12, 1e-12, `unbatched ${what}`);
        const f32 = antler.convTranspose2d(tensor(x, [q.N, Cin, q.H, q.W]), tensor(w, ws), b ? tensor(b, [Cout]) : null, options);
        expectClose(f32.dataSync(), ref.y, 1e-5, 1e-5, `float32 ${what}`);
      }
    }));

  test('the adjoint of conv2d: ⟨conv2d(x, w), y⟩ = ⟨x, convTranspose2d(y, w)⟩ (outputPadding restoring x\'s size)', () =>
    tidy(() => {
      for (let trial = 0; trial < 10; trial++) {
        const { q, options } = randomConv();
        if (options.padding === 'same' || options.padding === 'valid') continue;
        const Cin = q.G * q.Cg, Cout = q.G * q.Og;
        const xs = randomArray(rng, q.N * Cin * q.H * q.W), wv = randomArray(rng, Cout * q.Cg * q.kH * q.kW);
        const w = tensor(wv, [Cout, q.Cg, q.kH, q.kW], F64);
        const cy = antler.conv2d(tensor(xs, [q.N, Cin, q.H, q.W], F64), w, null, options);
        const [Hc, Wc] = cy.shape.slice(2);
        const outputPadding: [number, number] = [q.H - ((Hc - 1) * q.sh - 2 * q.ph[0] + q.dh * (q.kH - 1) + 1), q.W - ((Wc - 1) * q.sw - 2 * q.pw[0] + q.dw * (q.kW - 1) + 1)];
        const ys = randomArray(rng, cy.size);
        const ty = antler.convTranspose2d(tensor(ys, cy.shape.slice(), F64), w, null, { stride: options.stride, padding: options.padding as number | [number, number], dilation: options.dilation, groups: q.G, outputPadding });
        expect(ty.shape).toEqual([q.N, Cin, q.H, q.W]);
        const lhs = dot(cy.dataSync(), ys), rhs = dot(xs, ty.dataSync());
        expect({ close: Math.abs(lhs - rhs) <= 1e-12 * (1 + Math.abs(lhs)), lhs, rhs }).toEqual({ close: true, lhs, rhs });
      }
    }));

  test('gradients to x, weight and bias match central differences in float64', () => {
    for (let trial = 0; trial < 6; trial++) {
      const { q, options } = randomTranspose();
      const Cin = q.G * q.Cg, Cout = q.G * q.Og;
      const vals = [randomArray(rng, q.N * Cin * q.H * q.W), randomArray(rng, Cin * q.Og * q.kH * q.kW), randomArray(rng, Cout)];
      const shapes = [[q.N, Cin, q.H, q.W], [Cin, q.Og, q.kH, q.kW], [Cout]];
      const ref = convTranspose2dRef(vals[0], vals[1], null, q);
      const Wt = Array.from({ length: ref.y.length }, (_, i) => Math.sin(1.3 * i + 0.4));
      const f = (v: number[][]) => dot(convTranspose2dRef(v[0], v[1], v[2], q).y, Wt);
      tidy(() => {
        const ts = vals.map((v, i) => tensor(v, shapes[i], { ...F64, requiresGrad: true }));
        const y = antler.convTranspose2d(ts[0], ts[1], ts[2], options);
        y.backward(tensor(Wt, y.shape.slice(), F64));
        expectGradsMatchCentral(ts, vals, f, `${JSON.stringify(q)} (seed ${SEED})`);
      });
    }
  });

  test('bad inputs raise AntlerError saying what was passed and what was expected', () =>
    tidy(() => {
      const x = antler.zeros([2, 4, 3, 3]), w = antler.zeros([4, 3, 2, 2]);
      expectAntlerError(() => antler.convTranspose2d(antler.zeros([2, 5, 3, 3]), w), 'SHAPE_MISMATCH', /^convTranspose2d: input has 5 channels \(shape \[2, 5, 3, 3\]\); the weight \[4, 3, 2, 2\] expects 4$/);
      expectAntlerError(() => antler.convTranspose2d(x, w, null, { groups: 3 }), 'SHAPE_MISMATCH', /^convTranspose2d: weight has 4 input channels \(shape \[4, 3, 2, 2\]\), not divisible into 3 groups$/);
      expectAntlerError(() => antler.convTranspose2d(x, w, null, { stride: [2, 1], outputPadding: [1, 1] }), 'INVALID_ARGUMENT', /^convTranspose2d: outputPadding must be smaller than either stride or dilation \(as PyTorch\); got outputPadding 1, stride 1, dilation 1$/);
      expectAntlerError(() => antler.convTranspose2d(x, w, null, { padding: [0, 2] }), 'SHAPE_MISMATCH', /^convTranspose2d: the output width \(3 − 1\)·1 − 2·2 \+ 1·\(2 − 1\) \+ 0 \+ 1 = 0 is less than 1/);
      expectAntlerError(() => antler.convTranspose2d(x, w, antler.zeros([4])), 'SHAPE_MISMATCH', /^convTranspose2d: bias has shape \[4\]; expected \[3\]$/);
      expectAntlerError(() => antler.convTranspose2d(x, antler.zeros([4, 3, 2, 2], F64)), 'DTYPE_MISMATCH', /^convTranspose2d: input is float32 and weight float64/);
      expectAntlerError(() => antler.convTranspose2d(antler.zeros([2, 4, 0, 3]), w), 'SHAPE_MISMATCH', /height or width is 0/);
      expectAntlerError(() => antler.convTranspose2d(x, w, null, { dilation: [1, 0] }), 'INVALID_ARGUMENT', /^convTranspose2d: dilation must be a positive integer; got 0$/);
      expect(antler.convTranspose2d(x, w).shape).toEqual([2, 3, 4, 4]);
    }));
});

describe(`nn.Conv2d and nn.ConvTranspose2d (seed ${SEED})`, () => {
  test("nn.Conv2d: PyTorch's names, shapes and U(±1/√(in / groups · kH · kW)) initialisation spread to the bound; forward is conv2d with its options", () =>
    tidy(() => {
      const groups = rng.int(1, 3), inC = groups * rng.int(2, 3), outC = groups * 64, kH = rng.int(1, 3), kW = rng.int(2, 4);
      const m = new nn.Conv2d(inC, outC, [kH, kW], { groups, padding: [1, 0], stride: [1, 2], dtype: 'float64' });
      try {
        expect(m.namedParameters().map(([k, p]) => [k, p.shape])).toEqual([['weight', [outC, inC / groups, kH, kW]], ['bias', [outC]]]);
        expect(Object.keys(m.stateDict())).toEqual(['weight', 'bias']);
        const bound = 1 / Math.sqrt((inC / groups) * kH * kW);
        // ≥ 64 entries each: P(max |·| < 0.75 bound) ≤ 0.75^64 < 1e-7; a bound without / groups or without kW would be ≤ bound/√2.
        for (const [name, p] of m.namedParameters()) {
          const top = Math.max(...Array.from(p.dataSync(), Math.abs));
          expect({ name, within: top <= bound * F32_ROUNDING, spread: top > 0.75 * bound }).toEqual({ name, within: true, spread: true });
        }
        const x = antler.randn([2, inC, 5, 7], F64);
        const y = m.forward(x);
        expectClose(y.dataSync(), antler.conv2d(x, m.weight, m.bias, { groups, padding: [1, 0], stride: [1, 2] }).dataSync(), 0, 0, 'layer = function');
        const sq = new nn.Conv2d(2, 3, 3, { bias: false });
        expect([sq.kernelSize, sq.bias, sq.weight.shape]).toEqual([[3, 3], null, [3, 2, 3, 3]]);
        sq.dispose();
      } finally {
        m.dispose();
      }
    }));

  test("nn.Conv2d paddingMode 'reflect', 'replicate' and 'circular' pad the height and width with that mode ('same' included), then convolve unpadded", () =>
    tidy(() => {
      const src = (mode: string, p: number, n: number) => (mode === 'replicate' ? Math.min(Math.max(p, 0), n - 1) : mode === 'reflect' ? (p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p) : ((p % n) + n) % n);
      for (const mode of ['reflect', 'replicate', 'circular'] as const) {
        const kH = rng.int(1, 4), kW = rng.int(1, 4), H = rng.int(4, 6), W = rng.int(4, 6), C = 2, O = 3, N = 2;
        const same = rng.next() < 0.5;
        const ph: [number, number] = same ? [Math.floor((kH - 1) / 2), kH - 1 - Math.floor((kH - 1) / 2)] : [1, 1];
        const pw: [number, number] = same ? [Math.floor((kW - 1) / 2), kW - 1 - Math.floor((kW - 1) / 2)] : [2, 2];
        const m = new nn.Conv2d(C, O, [kH, kW], { padding: same ? 'same' : [1, 2], paddingMode: mode, dtype: 'float64' });
        try {
          const x = randomArray(rng, N * C * H * W);
          const Hp = H + ph[0] + ph[1], Wp = W + pw[0] + pw[1];
          const xp: number[] = [];
          for (let nc = 0; nc < N * C; nc++)
            for (let r = 0; r < Hp; r++) for (let s = 0; s < Wp; s++) xp.push(x[(nc * H + src(mode, r - ph[0], H)) * W + src(mode, s - pw[0], W)]);
          const q: Geometry = { N, G: 1, Cg: C, Og: O, H: Hp, W: Wp, kH, kW, sh: 1, sw: 1, ph: [0, 0], pw: [0, 0], dh: 1, dw: 1, oh: 0, ow: 0 };
          const ref = conv2dRef(xp, Array.from(m.weight.dataSync()), Array.from(m.bias!.dataSync()), q);
          const y = m.forward(tensor(x, [N, C, H, W], F64));
          expect(y.shape).toEqual([N, O, ref.Hout, ref.Wout]);
          expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, `${mode} ${JSON.stringify({ kH, kW, H, W, same })} (seed ${SEED})`);
          const u = m.forward(tensor(x.slice(0, C * H * W), [C, H, W], F64));
          expectClose(u.dataSync(), ref.y.slice(0, O * ref.Hout * ref.Wout), 1e-12, 1e-12, `unbatched ${mode}`);
        } finally {
          m.dispose();
        }
      }
      const r = new nn.Conv2d(1, 1, 3, { padding: [1, 3], paddingMode: 'reflect' });
      try {
        expectAntlerError(() => r.forward(antler.zeros([1, 1, 5, 3])), 'INVALID_ARGUMENT', /^Conv2d: paddingMode 'reflect' needs padding less than the input's width; got padding \[3, 3\] for an input of width 3 \(shape \[1, 1, 5, 3\]\)$/);
      } finally {
        r.dispose();
      }
    }));

  test("nn.ConvTranspose2d: weight [in, out / groups, kH, kW] and bias, U(±1/√(out / groups · kH · kW)); forward's outputSize picks outputPadding per axis", () =>
    tidy(() => {
      const groups = rng.int(1, 2), inC = groups * 32, outC = groups * rng.int(2, 3), kH = rng.int(1, 3), kW = rng.int(2, 3);
      const m = new nn.ConvTranspose2d(inC, outC, [kH, kW], { groups, stride: [2, 3], padding: 1, dilation: [1, 2], dtype: 'float64' });
      try {
        expect(m.namedParameters().map(([k, p]) => [k, p.shape])).toEqual([['weight', [inC, outC / groups, kH, kW]], ['bias', [outC]]]);
        const bound = 1 / Math.sqrt((outC / groups) * kH * kW);
        const top = Math.max(...Array.from(m.weight.dataSync(), Math.abs)), topB = Math.max(...Array.from(m.bias!.dataSync(), Math.abs));
        expect({ within: top <= bound * F32_ROUNDING && topB <= bound * F32_ROUNDING, spread: top > 0.75 * bound }).toEqual({ within: true, spread: true });
        const x = antler.randn([2, inC, 3, 4], F64);
        const opts = { groups, stride: [2, 3] as [number, number], padding: 1, dilation: [1, 2] as [number, number] };
        const base = antler.convTranspose2d(x, m.weight, m.bias, opts);
        const [Hmin, Wmin] = base.shape.slice(2);
        expectClose(m.forward(x).dataSync(), base.dataSync(), 0, 0, 'layer = function');
        const y = m.forward(x, { outputSize: [Hmin + 1, Wmin + 2] });
        expect(y.shape).toEqual([2, outC, Hmin + 1, Wmin + 2]);
        expectClose(y.dataSync(), antler.convTranspose2d(x, m.weight, m.bias, { ...opts, outputPadding: [1, 2] }).dataSync(), 0, 0, 'outputSize');
        expect(m.forward(x, { outputSize: [2, outC, Hmin, Wmin + 1] }).shape).toEqual([2, outC, Hmin, Wmin + 1]);
        expectAntlerError(() => m.forward(x, { outputSize: [Hmin + 2, Wmin] }), 'INVALID_ARGUMENT',
          new RegExp(`^ConvTranspose2d: requested an output size of \\[${Hmin + 2}, ${Wmin}\\], but valid sizes range from \\[${Hmin}, ${Wmin}\\] to \\[${Hmin + 1}, ${Wmin + 2}\\]`));
        expectAntlerError(() => m.forward(x, { outputSize: [Hmin] }), 'INVALID_ARGUMENT', /outputSize must hold 2 or 4 integers/);
      } finally {
        m.dispose();
      }
    }));

  test('module constructors check their options when built', () => {
    expectAntlerError(() => new nn.Conv2d(6, 4, 3, { groups: 4 }), 'INVALID_ARGUMENT', /^Conv2d: inChannels \(6\) and outChannels \(4\) must both be divisible by groups \(4\)$/);
    expectAntlerError(() => new nn.Conv2d(3, 4, [3, 0]), 'INVALID_ARGUMENT', /^Conv2d: kernelSize/);
    expectAntlerError(() => new nn.Conv2d(3, 4, [3, 3, 3] as unknown as [number, number]), 'INVALID_ARGUMENT', /^Conv2d: kernelSize must be a number or \[height, width\]/);
    expectAntlerError(() => new nn.Conv2d(3, 4, 3, { dilation: [1, 0] }), 'INVALID_ARGUMENT', /^Conv2d: dilation must be a positive integer; got 0$/);
    expectAntlerError(() => new nn.Conv2d(3, 4, 3, { padding: 'same', stride: 2 }), 'INVALID_ARGUMENT', /padding 'same' needs stride 1/);
    expectAntlerError(() => new nn.Conv2d(3, 4, 3, { paddingMode: 'mirror' as 'reflect' }), 'INVALID_ARGUMENT', /^Conv2d: paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular'; got/);
    expectAntlerError(() => new nn.ConvTranspose2d(3, 4, 3, { stride: 2, outputPadding: [1, 2] }), 'INVALID_ARGUMENT', /^ConvTranspose2d: outputPadding must be smaller than either stride or dilation/);
    const m = new nn.Conv2d(3, 4, 3);
    try {
      tidy(() => expectAntlerError(() => m.forward(antler.zeros([1, 3, 5, 5], F64)), 'DTYPE_MISMATCH', /^Conv2d: input is float64; the module is float32/));
    } finally {
      m.dispose();
    }
  });
});

/** unfold's definition: out[n, (c·kH + a)·kW + b, i·Wout + j] = xpad[n, c, i·sh + a·dh, j·sw + b·dw]. */
function unfoldRef(x: readonly number[], N: number, C: number, q: Geometry) {
  const { H, W, kH, kW } = q;
  const Hout = Math.floor((H + 2 * q.ph[0] - q.dh * (kH - 1) - 1) / q.sh) + 1, Wout = Math.floor((W + 2 * q.pw[0] - q.dw * (kW - 1) - 1) / q.sw) + 1;
  const L = Hout * Wout, y = new Array<number>(N * C * kH * kW * L).fill(0);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let a = 0; a < kH; a++)
        for (let b = 0; b < kW; b++)
          for (let i = 0; i < Hout; i++)
            for (let j = 0; j < Wout; j++) {
              const r = i * q.sh + a * q.dh - q.ph[0], s = j * q.sw + b * q.dw - q.pw[0];
              if (r >= 0 && r < H && s >= 0 && s < W) y[((n * C + c) * kH * kW + a * kW + b) * L + i * Wout + j] = x[((n * C + c) * H + r) * W + s];
            }
  return { y, L };
}

/** fold's definition: image[n, c, i·sh + a·dh − ph, j·sw + b·dw − pw] += cols[n, (c·kH + a)·kW + b, i·Wout + j], positions in the padding dropped. */
function foldRef(cols: readonly number[], N: number, C: number, q: Geometry) {
  const { H, W, kH, kW } = q;
  const Hout = Math.floor((H + 2 * q.ph[0] - q.dh * (kH - 1) - 1) / q.sh) + 1, Wout = Math.floor((W + 2 * q.pw[0] - q.dw * (kW - 1) - 1) / q.sw) + 1;
  const L = Hout * Wout, y = new Array<number>(N * C * H * W).fill(0);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let a = 0; a < kH; a++)
        for (let b = 0; b < kW; b++)
          for (let i = 0; i < Hout; i++)
            for (let j = 0; j < Wout; j++) {
              const r = i * q.sh + a * q.dh - q.ph[0], s = j * q.sw + b * q.dw - q.pw[0];
              if (r >= 0 && r < H && s >= 0 && s < W) y[((n * C + c) * H + r) * W + s] += cols[((n * C + c) * kH * kW + a * kW + b) * L + i * Wout + j];
            }
  return y;
}

describe(`unfold / fold, nn.Unfold / nn.Fold (seed ${SEED})`, () => {
  /** A random geometry with symmetric padding (as unfold takes) and its options. */
  const randomUnfold = () => {
    for (;;) {
      const { q } = randomConv();
      const p0 = rng.int(0, 2), p1 = rng.int(0, 2);
      const g: Geometry = { ...q, ph: [p0, p0], pw: [p1, p1] };
      if (g.H + 2 * p0 < g.dh * (g.kH - 1) + 1 || g.W + 2 * p1 < g.dw * (g.kW - 1) + 1) continue;
      return { q: g, C: rng.int(1, 3), kernelSize: [g.kH, g.kW] as [number, number], options: { stride: [g.sh, g.sw] as [number, number], padding: [p0, p1] as [number, number], dilation: [g.dh, g.dw] as [number, number] } };
    }
  };

  test('unfold and fold equal their definitions (blocks gathered; blocks summed back, overlaps added, the padding dropped), unbatched, float32; fold is unfold\'s adjoint', () =>
    tidy(() => {
      for (let trial = 0; trial < 20; trial++) {
        const { q, C, kernelSize, options } = randomUnfold();
        const N = q.N, KK = q.kH * q.kW;
        const what = `${JSON.stringify({ ...q, C })} (seed ${SEED})`;
        const xs = randomArray(rng, N * C * q.H * q.W);
        const ref = unfoldRef(xs, N, C, q);
        const u = antler.unfold(tensor(xs, [N, C, q.H, q.W], F64), kernelSize, options);
        expect(u.shape).toEqual([N, C * KK, ref.L]);
        expectClose(u.dataSync(), ref.y, 0, 0, `unfold ${what}`);
        const uu = antler.unfold(tensor(xs.slice(0, C * q.H * q.W), [C, q.H, q.W], F64), kernelSize, options);
        expect(uu.shape).toEqual([C * KK, ref.L]);
        expectClose(uu.dataSync(), ref.y.slice(0, C * KK * ref.L), 0, 0, `unbatched unfold ${what}`);
        const cs = randomArray(rng, N * C * KK * ref.L);
        const fref = foldRef(cs, N, C, q);
        const f = antler.fold(tensor(cs, [N, C * KK, ref.L], F64), [q.H, q.W], kernelSize, options);
        expect(f.shape).toEqual([N, C, q.H, q.W]);
        expectClose(f.dataSync(), fref, 1e-14, 1e-14, `fold ${what}`);
        const fu = antler.fold(tensor(cs.slice(0, C * KK * ref.L), [C * KK, ref.L], F64), [q.H, q.W], kernelSize, options);
        expectClose(fu.dataSync(), fref.slice(0, C * q.H * q.W), 1e-14, 1e-14, `unbatched fold ${what}`);
        expectClose(antler.fold(tensor(cs, [N, C * KK, ref.L]), [q.H, q.W], kernelSize, options).dataSync(), fref, 1e-5, 1e-5, `float32 fold ${what}`);
        const lhs = dot(ref.y, cs), rhs = dot(xs, fref);
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(lhs)));
      }
    }));

  test('conv2d is the weight times unfold\'s columns', () =>
    tidy(() => {
      const { q, C, kernelSize, options } = randomUnfold();
      const O = rng.int(1, 4);
      const x = antler.randn([q.N, C, q.H, q.W], F64), w = antler.randn([O, C, q.kH, q.kW], F64);
      const cols = antler.unfold(x, kernelSize, options);
      const viaCols = antler.matmul(antler.reshape(w, [O, C * q.kH * q.kW]), cols);
      const y = antler.conv2d(x, w, null, options);
      expectClose(y.dataSync(), viaCols.dataSync(), 1e-12, 1e-12, `${JSON.stringify(q)} (seed ${SEED})`);
    }));

  test('nn.Unfold and nn.Fold are the functions with their options; bad inputs raise AntlerError', () =>
    tidy(() => {
      const u = new nn.Unfold([2, 3], { stride: [1, 2], padding: 1 }), f = new nn.Fold([4, 5], [2, 3], { stride: [1, 2], padding: 1 });
      const x = antler.randn([2, 3, 4, 5], F64);
      const cols = u.forward(x);
      expectClose(cols.dataSync(), antler.unfold(x, [2, 3], { stride: [1, 2], padding: 1 }).dataSync(), 0, 0, 'Unfold');
      expectClose(f.forward(cols).dataSync(), antler.fold(cols, [4, 5], [2, 3], { stride: [1, 2], padding: 1 }).dataSync(), 0, 0, 'Fold');
      expect(u.parameters()).toEqual([]);
      expectAntlerError(() => antler.unfold(antler.zeros([3, 4]), 2), 'SHAPE_MISMATCH', /^unfold: input has shape \[3, 4\]; expected \[N, C, H, W\] or unbatched \[C, H, W\]$/);
      expectAntlerError(() => antler.unfold(x, 5), 'SHAPE_MISMATCH', /^unfold: the input's height 4 \(padded to 4\) is shorter than the kernel's span 5/);
      expectAntlerError(() => antler.unfold(x, [2, 0]), 'INVALID_ARGUMENT', /^unfold: kernelSize must be a positive integer or \[height, width\] of them; got an array \[2, 0\]$/);
      expectAntlerError(() => antler.unfold(x, 2, { padding: 'same' as unknown as number }), 'INVALID_ARGUMENT', /^unfold: padding must be an integer ≥ 0 or \[height, width\] of them; got 'same'$/);
      expectAntlerError(() => antler.fold(antler.zeros([2, 10, 4]), [3, 3], 2), 'SHAPE_MISMATCH', /^fold: input has shape \[2, 10, 4\]; its second axis 10 must be a positive multiple of the kernel's 2·2 = 4 taps$/);
      expectAntlerError(() => antler.fold(antler.zeros([2, 8, 5]), [3, 3], 2), 'SHAPE_MISMATCH', /^fold: input has shape \[2, 8, 5\]; an output of \[3, 3\] with kernel \[2, 2\], stride \[1, 1\], padding \[0, 0\] and dilation \[1, 1\] has 2·2 = 4 blocks, not 5$/);
      expectAntlerError(() => antler.fold(antler.zeros([2, 8, 4]), [3, 0], 2), 'INVALID_ARGUMENT', /^fold: outputSize must be a positive integer or \[height, width\] of them; got an array \[3, 0\]$/);
      expectAntlerError(() => antler.fold(antler.zeros([8]), [3, 3], 2), 'SHAPE_MISMATCH', /^fold: input has shape \[8\]; expected \[N, C·4, 4\] or unbatched \[C·4, 4\]$/);
      expectAntlerError(() => new nn.Fold([3, 3], 2, { stride: 0 }), 'INVALID_ARGUMENT', /^Fold: stride must be a positive integer; got 0$/);
      expectAntlerError(() => new nn.Unfold(2, { dilations: 2 } as unknown as antler.UnfoldOptions), 'INVALID_ARGUMENT', /dilations/);
      // Positions past int32 (their Int32Array indices wrapped: silently wrong rows) refused before anything is allocated.
      const before = antler.memory().numTensors;
      expectAntlerError(() => antler.unfold(antler.ones([1, 1, 1, 1]), 1, { padding: 2 ** 18 }), 'INVALID_ARGUMENT',
        /^unfold: the padded input has 274878955521 positions per channel \(\[524289, 524289\]\); the gather's int32 indices reach 2\^31 − 1$/);
      expectAntlerError(() => antler.fold(antler.ones([1, 1, 4]), [2 ** 19, 2 ** 19], 1, { stride: 2 ** 18 }), 'INVALID_ARGUMENT',
        /^fold: the output has 524288·524288 = 274877906944 positions per channel; col2im's int32 row indices reach 2\^31 − 1$/);
      expect(antler.memory().numTensors).toBe(before + 2); // the two inputs only
    }));
});
