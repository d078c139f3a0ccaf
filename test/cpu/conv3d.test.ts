/**
 * conv3d / convTranspose3d / nn.Conv3d / nn.ConvTranspose3d against direct
 * float64 loops of PyTorch's definitions (the cross-correlation sum over
 * channels and the kernel's depth, height and width taps; the transposed
 * convolution's scatter-add), on fresh random geometries (strides, paddings
 * — numbers, triples, 'same' with even kernels, 'valid' —, dilations,
 * groups, depthwise, outputPadding), unbatched input and kernels as large as
 * the input; gradients against central differences of the reference; the
 * layers' parameter names, shapes and initialisation bounds; bad inputs. The
 * op registry (test/opinfo.ts) adds double backward and CUDA against the CPU.
 */
import * as antler from '../../lib';
import { nn, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts, F32_ROUNDING } from '../helpers';
import { dot, expectGradsMatchCentral } from '../conv-refs';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
type Triple = [number, number, number];

/** A 3-D geometry: sizes, groups and per-axis (depth, height, width) size, kernel, stride, padding (before, after), dilation and outputPadding. */
interface Geometry {
  N: number; G: number; Cg: number; Og: number;
  size: Triple; k: Triple; s: Triple; p: [number, number][]; d: Triple; op: Triple;
}

const prod = (v: readonly number[]) => v.reduce((a, b) => a * b, 1);

/** y[n, o, i, j, l] = b[o] + Σ_c Σ_a Σ_b Σ_e w[o, c, a, b, e] · xpad[n, g(o)·Cg + c, i·s0 + a·d0, j·s1 + b·d1, l·s2 + e·d2]. */
function conv3dRef(x: readonly number[], w: readonly number[], bias: readonly number[] | null, q: Geometry) {
  const { N, G, Cg, Og, size: [D, H, W], k: [kD, kH, kW] } = q, Cin = G * Cg, Cout = G * Og;
  const out = [0, 1, 2].map((t) => Math.floor((q.size[t] + q.p[t][0] + q.p[t][1] - q.d[t] * (q.k[t] - 1) - 1) / q.s[t]) + 1) as Triple;
  const [Do, Ho, Wo] = out;
  const y = new Array<number>(N * Cout * prod(out)).fill(0);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < Cout; o++)
      for (let i = 0; i < Do; i++)
        for (let j = 0; j < Ho; j++)
          for (let l = 0; l < Wo; l++) {
            let acc = bias ? bias[o] : 0;
            const g = Math.floor(o / Og);
            for (let c = 0; c < Cg; c++)
              for (let a = 0; a < kD; a++)
                for (let b = 0; b < kH; b++)
                  for (let e = 0; e < kW; e++) {
                    const r = i * q.s[0] + a * q.d[0] - q.p[0][0], u = j * q.s[1] + b * q.d[1] - q.p[1][0], v = l * q.s[2] + e * q.d[2] - q.p[2][0];
                    if (r < 0 || r >= D || u < 0 || u >= H || v < 0 || v >= W) continue;
                    acc += w[(((o * Cg + c) * kD + a) * kH + b) * kW + e] * x[(((n * Cin + g * Cg + c) * D + r) * H + u) * W + v];
                  }
            y[(((n * Cout + o) * Do + i) * Ho + j) * Wo + l] = acc;
          }
  return { y, out };
}

/** The transposed convolution's definition: y[n, g·Og + o, i·s0 + a·d0 − p0, j·s1 + b·d1 − p1, l·s2 + e·d2 − p2] += x[n, ci, i, j, l]·w[ci, o, a, b, e], outside positions dropped. */
function convTranspose3dRef(x: readonly number[], w: readonly number[], bias: readonly number[] | null, q: Geometry) {
  const { N, G, Cg, Og, size: [D, H, W], k: [kD, kH, kW] } = q, Cin = G * Cg, Cout = G * Og;
  const out = [0, 1, 2].map((t) => (q.size[t] - 1) * q.s[t] - 2 * q.p[t][0] + q.d[t] * (q.k[t] - 1) + q.op[t] + 1) as Triple;
  const [Do, Ho, Wo] = out, P = prod(out);
  const y = new Array<number>(N * Cout * P).fill(0);
  if (bias) for (let n = 0; n < N; n++) for (let o = 0; o < Cout; o++) for (let t = 0; t < P; t++) y[(n * Cout + o) * P + t] = bias[o];
  for (let n = 0; n < N; n++)
    for (let ci = 0; ci < Cin; ci++)
      for (let i = 0; i < D; i++)
        for (let j = 0; j < H; j++)
          for (let l = 0; l < W; l++)
            for (let o = 0; o < Og; o++)
              for (let a = 0; a < kD; a++)
                for (let b = 0; b < kH; b++)
                  for (let e = 0; e < kW; e++) {
                    const r = i * q.s[0] + a * q.d[0] - q.p[0][0], u = j * q.s[1] + b * q.d[1] - q.p[1][0], v = l * q.s[2] + e * q.d[2] - q.p[2][0];
                    if (r < 0 || r >= Do || u < 0 || u >= Ho || v < 0 || v >= Wo) continue;
                    const co = Math.floor(ci / Cg) * Og + o;
                    y[(((n * Cout + co) * Do + r) * Ho + u) * Wo + v] += x[(((n * Cin + ci) * D + i) * H + j) * W + l] * w[(((ci * Og + o) * kD + a) * kH + b) * kW + e];
                  }
  return { y, out };
}

/** A random conv3d geometry and the options that give it (padding as a number, a triple, 'same' — even kernels included — or 'valid'). */
function randomConv(): { q: Geometry; options: antler.Conv3dOptions } {
  const G = rng.pick([1, 1, 2, 3]), Cg = rng.int(1, 2), Og = rng.int(1, 2), N = rng.int(1, 2);
  const k = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 3)] as Triple, d = [rng.int(1, 2), rng.int(1, 2), rng.int(1, 2)] as Triple;
  const mode = rng.pick(['number', 'triple', 'same', 'valid'] as const);
  const s = [0, 1, 2].map(() => (mode === 'same' ? 1 : rng.int(1, 3))) as Triple;
  const p0 = rng.int(0, 2), ps = [p0, mode === 'triple' ? rng.int(0, 2) : p0, mode === 'triple' ? rng.int(0, 2) : p0];
  const side = (span: number, p: number): [number, number] => (mode === 'same' ? [Math.floor(span / 2), span - Math.floor(span / 2)] : mode === 'valid' ? [0, 0] : [p, p]);
  const p = [0, 1, 2].map((t) => side(d[t] * (k[t] - 1), ps[t]));
  const size = [0, 1, 2].map((t) => Math.max(1, d[t] * (k[t] - 1) + 1 - p[t][0] - p[t][1]) + rng.int(0, 3)) as Triple;
  const padding = mode === 'number' ? p0 : mode === 'triple' ? (ps as Triple) : mode;
  const stride = s[0] === s[1] && s[1] === s[2] && rng.next() < 0.5 ? s[0] : s;
  const dilation = d[0] === d[1] && d[1] === d[2] && rng.next() < 0.5 ? d[0] : d;
  return { q: { N, G, Cg, Og, size, k, s, p, d, op: [0, 0, 0] }, options: { stride, padding, dilation, groups: G } };
}

/** A random convTranspose3d geometry (outputPadding below the stride or the dilation) and its options. */
function randomTranspose(): { q: Geometry; options: antler.ConvTranspose3dOptions } {
  for (;;) {
    const G = rng.pick([1, 1, 2, 3]), Cg = rng.int(1, 2), Og = rng.int(1, 2), N = rng.int(1, 2);
    const k = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 3)] as Triple, d = [rng.int(1, 2), rng.int(1, 2), rng.int(1, 2)] as Triple;
    const s = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 3)] as Triple, ps = [rng.int(0, 2), rng.int(0, 2), rng.int(0, 2)] as Triple;
    const op = [0, 1, 2].map((t) => rng.int(0, Math.max(s[t], d[t]) - 1)) as Triple;
    const size = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 3)] as Triple;
    const q: Geometry = { N, G, Cg, Og, size, k, s, p: ps.map((v) => [v, v] as [number, number]), d, op };
    if ([0, 1, 2].some((t) => (size[t] - 1) * s[t] - 2 * ps[t] + d[t] * (k[t] - 1) + op[t] + 1 < 1)) continue;
    return { q, options: { stride: s, padding: ps, dilation: d, outputPadding: op, groups: G } };
  }
}

describe(`conv3d (seed ${SEED})`, () => {
  test("equals the direct sum of PyTorch's definition over random geometries (stride, padding as a number, a triple, 'same' and 'valid', dilation, groups), unbatched, float32", () =>
    tidy(() => {
      for (let trial = 0; trial < 20; trial++) {
        const { q, options } = randomConv();
        const Cin = q.G * q.Cg, Cout = q.G * q.Og;
        const x = randomArray(rng, q.N * Cin * prod(q.size)), w = randomArray(rng, Cout * q.Cg * prod(q.k)), b = rng.next() < 0.6 ? randomArray(rng, Cout) : null;
        const ref = conv3dRef(x, w, b, q);
        const what = `${JSON.stringify({ ...q, ...options, bias: Boolean(b) })} (seed ${SEED})`;
        const ws = [Cout, q.Cg, ...q.k];
        const y = antler.conv3d(tensor(x, [q.N, Cin, ...q.size], F64), tensor(w, ws, F64), b ? tensor(b, [Cout], F64) : null, options);
        expect(y.shape).toEqual([q.N, Cout, ...ref.out]);
        expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, what);
        const u = antler.conv3d(tensor(x.slice(0, Cin * prod(q.size)), [Cin, ...q.size], F64), tensor(w, ws, F64), b ? tensor(b, [Cout], F64) : null, options);
        expect(u.shape).toEqual([Cout, ...ref.out]);
        expectClose(u.dataSync(), ref.y.slice(0, Cout * prod(ref.out)), 1e-12, 1e-12, `unbatched ${what}`);
        const f32 = antler.conv3d(tensor(x, [q.N, Cin, ...q.size]), tensor(w, ws), b ? tensor(b, [Cout]) : null, options);
        expect(f32.dtype).toBe('float32');
        expectClose(f32.dataSync(), ref.y, 1e-5, 1e-5, `float32 ${what}`);
      }
    }));

  test("depthwise (groups = inChannels, a channel multiplier), 'same' with even kernels, 1×1×1 kernels and a kernel as large as the (padded) input", () =>
    tidy(() => {
      const cases: { q: Geometry; options: antler.Conv3dOptions }[] = [];
      const C = rng.int(2, 4), size = [rng.int(3, 5), rng.int(3, 5), rng.int(3, 5)] as Triple, N = rng.int(1, 2);
      const base = { N, size, s: [1, 1, 1] as Triple, p: [[0, 0], [0, 0], [0, 0]] as [number, number][], d: [1, 1, 1] as Triple, op: [0, 0, 0] as Triple };
      // Depthwise with multiplier 1 and 2, 'same'.
      for (const Og of [1, 2]) cases.push({ q: { ...base, G: C, Cg: 1, Og, k: [3, 3, 3], p: [[1, 1], [1, 1], [1, 1]] }, options: { groups: C, padding: 'same' } });
      // 'same' with even kernels (and a dilation): the extra zero goes after, as PyTorch's.
      cases.push({ q: { ...base, G: 1, Cg: C, Og: 2, k: [2, 4, 2], d: [1, 1, 3], p: [[0, 1], [1, 2], [1, 2]] }, options: { padding: 'same', dilation: [1, 1, 3] } });
      // 1×1×1 kernels with a stride.
      cases.push({ q: { ...base, G: 1, Cg: C, Og: 3, k: [1, 1, 1], s: [2, 3, 1] }, options: { stride: [2, 3, 1] } });
      // Kernel = input size: one output position; and kernel = padded input size.
      cases.push({ q: { ...base, G: 1, Cg: C, Og: 2, k: size }, options: {} });
      cases.push({ q: { ...base, G: 1, Cg: C, Og: 2, k: [size[0] + 2, size[1], size[2] + 4], p: [[1, 1], [0, 0], [2, 2]] }, options: { padding: [1, 0, 2] } });
      for (const { q, options } of cases) {
        const Cin = q.G * q.Cg, Cout = q.G * q.Og;
        const x = randomArray(rng, q.N * Cin * prod(q.size)), w = randomArray(rng, Cout * q.Cg * prod(q.k)), b = randomArray(rng, Cout);
        const ref = conv3dRef(x, w, b, q);
        const y = antler.conv3d(tensor(x, [q.N, Cin, ...q.size], F64), tensor(w, [Cout, q.Cg, ...q.k], F64), tensor(b, [Cout], F64), options);
        expect(y.shape).toEqual([q.N, Cout, ...ref.out]);
        expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, `${JSON.stringify({ ...q, ...options })} (seed ${SEED})`);
      }
      expect(cases.slice(0, 3).map(({ q }) => conv3dRef([], [], null, { ...q, N: 0 }).out)).toEqual(cases.slice(0, 3).map(() => size));
      expect(cases.slice(4).map(({ q }) => conv3dRef([], [], null, { ...q, N: 0 }).out)).toEqual([[1, 1, 1], [1, 1, 1]]);
    }));

  test('gradients to x, weight and bias match central differences in float64', () => {
    for (let trial = 0; trial < 4; trial++) {
      const { q, options } = randomConv();
      const Cin = q.G * q.Cg, Cout = q.G * q.Og;
      const vals = [randomArray(rng, q.N * Cin * prod(q.size)), randomArray(rng, Cout * q.Cg * prod(q.k)), randomArray(rng, Cout)];
      const shapes = [[q.N, Cin, ...q.size], [Cout, q.Cg, ...q.k], [Cout]];
      const Wt = Array.from({ length: conv3dRef(vals[0], vals[1], null, q).y.length }, (_, i) => Math.sin(1.3 * i + 0.4));
      tidy(() => {
        const ts = vals.map((v, i) => tensor(v, shapes[i], { ...F64, requiresGrad: true }));
        const y = antler.conv3d(ts[0], ts[1], ts[2], options);
        y.backward(tensor(Wt, y.shape.slice(), F64));
        expectGradsMatchCentral(ts, vals, (v) => dot(conv3dRef(v[0], v[1], v[2], q).y, Wt), `${JSON.stringify({ ...q, ...options })} (seed ${SEED})`);
      });
    }
  });

  test('bad inputs raise AntlerError saying what was passed and what was expected', () =>
    tidy(() => {
      const x = antler.zeros([2, 3, 4, 6, 5]), w = antler.zeros([4, 3, 2, 3, 2]);
      expectAntlerError(() => antler.conv3d(antler.zeros([2, 5, 4, 6, 5]), w), 'SHAPE_MISMATCH', /^conv3d: input has 5 channels \(shape \[2, 5, 4, 6, 5\]\); the weight \[4, 3, 2, 3, 2\] expects 3$/);
      expectAntlerError(() => antler.conv3d(x, w, null, { groups: 3 }), 'SHAPE_MISMATCH', /^conv3d: weight has 4 output channels \(shape \[4, 3, 2, 3, 2\]\), not divisible into 3 groups$/);
      expectAntlerError(() => antler.conv3d(x, antler.zeros([4, 3, 3, 2])), 'SHAPE_MISMATCH', /^conv3d: weight has shape \[4, 3, 3, 2\]; expected \[outChannels, inChannels \/ groups, kernelDepth, kernelHeight, kernelWidth\]$/);
      expectAntlerError(() => antler.conv3d(antler.zeros([3, 6, 5]), w), 'SHAPE_MISMATCH', /^conv3d: input has shape \[3, 6, 5\]; expected \[N, 3, D, H, W\] or unbatched \[3, D, H, W\]$/);
      expectAntlerError(() => antler.conv3d(x, w, antler.zeros([3])), 'SHAPE_MISMATCH', /^conv3d: bias has shape \[3\]; expected \[4\]$/);
      expectAntlerError(() => antler.conv3d(antler.zeros([2, 3, 1, 6, 5]), w), 'SHAPE_MISMATCH', /^conv3d: the input's depth 1 \(padded to 1\) is shorter than the kernel's span 2 \(kernel 2, dilation 1\)$/);
      expectAntlerError(() => antler.conv3d(x, w, null, { padding: [0, 0, 1], dilation: [1, 1, 7] }), 'SHAPE_MISMATCH', /^conv3d: the input's width 5 \(padded to 7\) is shorter than the kernel's span 8 \(kernel 2, dilation 7\)$/);
      expectAntlerError(() => antler.conv3d(x, w, null, { padding: 'same', stride: [1, 1, 2] }), 'INVALID_ARGUMENT', /^conv3d: padding 'same' needs stride 1 \(as PyTorch\); got stride 2$/);
      expectAntlerError(() => antler.conv3d(x, w, null, { stride: [1, 0, 1] }), 'INVALID_ARGUMENT', /^conv3d: stride must be a positive integer; got 0$/);
      expectAntlerError(() => antler.conv3d(x, w, null, { stride: [1, 1] as unknown as Triple }), 'INVALID_ARGUMENT', /^conv3d: stride must be a number or \[depth, height, width\]; got an array \[1, 1\]$/);
      expectAntlerError(() => antler.conv3d(x, w, null, { groups: 0 }), 'INVALID_ARGUMENT', /^conv3d: groups must be a positive integer; got 0$/);
      expectAntlerError(() => antler.conv3d(x, antler.zeros([4, 3, 2, 3, 2], F64)), 'DTYPE_MISMATCH', /^conv3d: input is float32 and weight float64; expected one dtype$/);
      expectAntlerError(() => antler.conv3d(x, w, null, { strides: 1 } as unknown as antler.Conv3dOptions), 'INVALID_ARGUMENT', /strides/);
      // Nothing was damaged: the inputs are still usable.
      expect(antler.conv3d(x, w).shape).toEqual([2, 4, 3, 4, 4]);
    }));
});

describe(`convTranspose3d (seed ${SEED})`, () => {
  test("equals the scatter-add of PyTorch's definition over random geometries (stride, padding, dilation, outputPadding per axis, groups), unbatched, float32", () =>
    tidy(() => {
      for (let trial = 0; trial < 20; trial++) {
        const { q, options } = randomTranspose();
        const Cin = q.G * q.Cg, Cout = q.G * q.Og;
        const x = randomArray(rng, q.N * Cin * prod(q.size)), w = randomArray(rng, Cin * q.Og * prod(q.k)), b = rng.next() < 0.6 ? randomArray(rng, Cout) : null;
        const ref = convTranspose3dRef(x, w, b, q);
        const what = `${JSON.stringify({ ...q, bias: Boolean(b) })} (seed ${SEED})`;
        const ws = [Cin, q.Og, ...q.k];
        const y = antler.convTranspose3d(tensor(x, [q.N, Cin, ...q.size], F64), tensor(w, ws, F64), b ? tensor(b, [Cout], F64) : null, options);
        expect(y.shape).toEqual([q.N, Cout, ...ref.out]);
        expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, what);
        const u = antler.convTranspose3d(tensor(x.slice(0, Cin * prod(q.size)), [Cin, ...q.size], F64), tensor(w, ws, F64), b ? tensor(b, [Cout], F64) : null, options);
        expectClose(u.dataSync(), ref.y.slice(0, Cout * prod(ref.out)), 1e-12, 1e-12, `unbatched ${what}`);
        const f32 = antler.convTranspose3d(tensor(x, [q.N, Cin, ...q.size]), tensor(w, ws), b ? tensor(b, [Cout]) : null, options);
        expectClose(f32.dataSync(), ref.y, 1e-5, 1e-5, `float32 ${what}`);
      }
    }));

  test("the adjoint of conv3d: ⟨conv3d(x, w), y⟩ = ⟨x, convTranspose3d(y, w)⟩ (outputPadding restoring x's size)", () =>
    tidy(() => {
      for (let trial = 0; trial < 8; trial++) {
        const { q, options } = randomConv();
        if (options.padding === 'same' || options.padding === 'valid') continue;
        const Cin = q.G * q.Cg, Cout = q.G * q.Og;
        const xs = randomArray(rng, q.N * Cin * prod(q.size)), w = tensor(randomArray(rng, Cout * q.Cg * prod(q.k)), [Cout, q.Cg, ...q.k], F64);
        const cy = antler.conv3d(tensor(xs, [q.N, Cin, ...q.size], F64), w, null, options);
        const outputPadding = [0, 1, 2].map((t) => q.size[t] - ((cy.shape[2 + t] - 1) * q.s[t] - 2 * q.p[t][0] + q.d[t] * (q.k[t] - 1) + 1)) as Triple;
        const ys = randomArray(rng, cy.size);
        const ty = antler.convTranspose3d(tensor(ys, cy.shape.slice(), F64), w, null, { stride: options.stride, padding: options.padding as number | Triple, dilation: options.dilation, groups: q.G, outputPadding });
        expect(ty.shape).toEqual([q.N, Cin, ...q.size]);
        const lhs = dot(cy.dataSync(), ys), rhs = dot(xs, ty.dataSync());
        expect({ close: Math.abs(lhs - rhs) <= 1e-12 * (1 + Math.abs(lhs)), lhs, rhs }).toEqual({ close: true, lhs, rhs });
      }
    }));

  test('gradients to x, weight and bias match central differences in float64', () => {
    for (let trial = 0; trial < 4; trial++) {
      const { q, options } = randomTranspose();
      const Cin = q.G * q.Cg, Cout = q.G * q.Og;
      const vals = [randomArray(rng, q.N * Cin * prod(q.size)), randomArray(rng, Cin * q.Og * prod(q.k)), randomArray(rng, Cout)];
      const shapes = [[q.N, Cin, ...q.size], [Cin, q.Og, ...q.k], [Cout]];
      const Wt = Array.from({ length: convTranspose3dRef(vals[0], vals[1], null, q).y.length }, (_, i) => Math.cos(0.7 * i + 0.2));
      tidy(() => {
        const ts = vals.map((v, i) => tensor(v, shapes[i], { ...F64, requiresGrad: true }));
        const y = antler.convTranspose3d(ts[0], ts[1], ts[2], options);
        y.backward(tensor(Wt, y.shape.slice(), F64));
        expectGradsMatchCentral(ts, vals, (v) => dot(convTranspose3dRef(v[0], v[1], v[2], q).y, Wt), `${JSON.stringify(q)} (seed ${SEED})`);
      });
    }
  });

  test('bad inputs raise AntlerError saying what was passed and what was expected', () =>
    tidy(() => {
      const x = antler.zeros([2, 4, 2, 3, 3]), w = antler.zeros([4, 2, 2, 2, 2]);
      expectAntlerError(() => antler.convTranspose3d(antler.zeros([2, 3, 2, 3, 3]), w), 'SHAPE_MISMATCH', /^convTranspose3d: input has 3 channels \(shape \[2, 3, 2, 3, 3\]\); the weight \[4, 2, 2, 2, 2\] expects 4$/);
      expectAntlerError(() => antler.convTranspose3d(x, w, null, { groups: 3 }), 'SHAPE_MISMATCH', /^convTranspose3d: weight has 4 input channels \(shape \[4, 2, 2, 2, 2\]\), not divisible into 3 groups$/);
      expectAntlerError(() => antler.convTranspose3d(x, antler.zeros([4, 2, 2, 2])), 'SHAPE_MISMATCH', /^convTranspose3d: weight has shape \[4, 2, 2, 2\]; expected \[inChannels, outChannels \/ groups, kernelDepth, kernelHeight, kernelWidth\]$/);
      expectAntlerError(() => antler.convTranspose3d(antler.zeros([2, 4, 0, 3, 3]), w), 'SHAPE_MISMATCH', /^convTranspose3d: input has shape \[2, 4, 0, 3, 3\]; its depth, height or width is 0$/);
      expectAntlerError(() => antler.convTranspose3d(x, w, null, { stride: 2, outputPadding: [0, 2, 0] }), 'INVALID_ARGUMENT', /^convTranspose3d: outputPadding must be smaller than either stride or dilation \(as PyTorch\); got outputPadding 2, stride 2, dilation 1$/);
      expectAntlerError(() => antler.convTranspose3d(x, w, null, { padding: [0, 0, 3] }), 'SHAPE_MISMATCH', /^convTranspose3d: the output width \(3 − 1\)·1 − 2·3 \+ 1·\(2 − 1\) \+ 0 \+ 1 = -2 is less than 1/);
      expectAntlerError(() => antler.convTranspose3d(x, w, antler.zeros([3])), 'SHAPE_MISMATCH', /^convTranspose3d: bias has shape \[3\]; expected \[2\]$/);
      expect(antler.convTranspose3d(x, w).shape).toEqual([2, 2, 3, 4, 4]);
    }));
});

describe(`nn.Conv3d and nn.ConvTranspose3d (seed ${SEED})`, () => {
  test("nn.Conv3d: PyTorch's names, shapes and U(±1/√(in / groups · kD · kH · kW)) initialisation spread to the bound; forward is conv3d with its options", () =>
    tidy(() => {
      const groups = rng.int(1, 3), inC = groups * rng.int(1, 2), outC = groups * 64, k = [rng.int(1, 2), rng.int(1, 3), rng.int(2, 3)] as Triple;
      const m = new nn.Conv3d(inC, outC, k, { groups, padding: [1, 0, 1], stride: [1, 2, 1], dtype: 'float64' });
      try {
        expect(m.namedParameters().map(([key, p]) => [key, p.shape])).toEqual([['weight', [outC, inC / groups, ...k]], ['bias', [outC]]]);
        expect(Object.keys(m.stateDict())).toEqual(['weight', 'bias']);
        const bound = 1 / Math.sqrt((inC / groups) * prod(k));
        // ≥ 64 entries each: P(max |·| < 0.75 bound) ≤ 0.75^64 < 1e-7; a bound without / groups or without a kernel axis would be ≤ bound/√2.
        for (const [name, p] of m.namedParameters()) {
          const top = Math.max(...Array.from(p.dataSync(), Math.abs));
          expect({ name, within: top <= bound * F32_ROUNDING, spread: top > 0.75 * bound }).toEqual({ name, within: true, spread: true });
        }
        const x = antler.randn([2, inC, 3, 5, 4], F64);
        expectClose(m.forward(x).dataSync(), antler.conv3d(x, m.weight, m.bias, { groups, padding: [1, 0, 1], stride: [1, 2, 1] }).dataSync(), 0, 0, 'layer = function');
        const sq = new nn.Conv3d(2, 3, 3, { bias: false });
        expect([sq.kernelSize, sq.bias, sq.weight.shape, String(sq)]).toEqual([[3, 3, 3], null, [3, 2, 3, 3, 3], 'Conv3d(inChannels: 2, outChannels: 3, kernelSize: [3, 3, 3], paddingMode: \'zeros\')']);
        sq.dispose();
      } finally {
        m.dispose();
      }
    }));

  test("nn.Conv3d paddingMode 'reflect', 'replicate' and 'circular' pad the depth, height and width with that mode ('same' included), then convolve unpadded", () =>
    tidy(() => {
      const src = (mode: string, p: number, n: number) => (mode === 'replicate' ? Math.min(Math.max(p, 0), n - 1) : mode === 'reflect' ? (p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p) : ((p % n) + n) % n);
      for (const mode of ['reflect', 'replicate', 'circular'] as const) {
        const k = [rng.int(1, 3), rng.int(1, 3), rng.int(1, 3)] as Triple, size = [rng.int(3, 4), rng.int(3, 4), rng.int(3, 4)] as Triple, C = 2, O = 2, N = 1;
        const same = rng.next() < 0.5;
        const p = same ? k.map((kk) => [Math.floor((kk - 1) / 2), kk - 1 - Math.floor((kk - 1) / 2)] as [number, number]) : [[1, 1], [0, 0], [2, 2]] as [number, number][];
        const m = new nn.Conv3d(C, O, k, { padding: same ? 'same' : [1, 0, 2], paddingMode: mode, dtype: 'float64' });
        try {
          const x = randomArray(rng, N * C * prod(size));
          const padded = [0, 1, 2].map((t) => size[t] + p[t][0] + p[t][1]) as Triple;
          const xp: number[] = [];
          for (let nc = 0; nc < N * C; nc++)
            for (let r = 0; r < padded[0]; r++)
              for (let u = 0; u < padded[1]; u++)
                for (let v = 0; v < padded[2]; v++)
                  xp.push(x[((nc * size[0] + src(mode, r - p[0][0], size[0])) * size[1] + src(mode, u - p[1][0], size[1])) * size[2] + src(mode, v - p[2][0], size[2])]);
          const q: Geometry = { N, G: 1, Cg: C, Og: O, size: padded, k, s: [1, 1, 1], p: [[0, 0], [0, 0], [0, 0]], d: [1, 1, 1], op: [0, 0, 0] };
          const ref = conv3dRef(xp, Array.from(m.weight.dataSync()), Array.from(m.bias!.dataSync()), q);
          const y = m.forward(tensor(x, [N, C, ...size], F64));
          expect(y.shape).toEqual([N, O, ...ref.out]);
          expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, `${mode} ${JSON.stringify({ k, size, same })} (seed ${SEED})`);
          expectClose(m.forward(tensor(x, [C, ...size], F64)).dataSync(), ref.y, 1e-12, 1e-12, `unbatched ${mode}`);
        } finally {
          m.dispose();
        }
      }
      const r = new nn.Conv3d(1, 1, 3, { padding: [3, 1, 1], paddingMode: 'reflect' });
      try {
        expectAntlerError(() => r.forward(antler.zeros([1, 1, 3, 5, 5])), 'INVALID_ARGUMENT', /^Conv3d: paddingMode 'reflect' needs padding less than the input's depth; got padding \[3, 3\] for an input of depth 3 \(shape \[1, 1, 3, 5, 5\]\)$/);
        expectAntlerError(() => r.forward(antler.zeros([1, 5, 5])), 'SHAPE_MISMATCH', /^Conv3d: input has shape \[1, 5, 5\]; expected \[N, 1, D, H, W\] or unbatched \[1, D, H, W\]$/);
      } finally {
        r.dispose();
      }
    }));

  test("nn.ConvTranspose3d: weight [in, out / groups, kD, kH, kW] and bias, U(±1/√(out / groups · kD · kH · kW)); forward's outputSize picks outputPadding per axis", () =>
    tidy(() => {
      const groups = rng.int(1, 2), inC = groups * 32, outC = groups * rng.int(1, 2), k = [rng.int(1, 2), rng.int(1, 2), rng.int(2, 3)] as Triple;
      const m = new nn.ConvTranspose3d(inC, outC, k, { groups, stride: [2, 1, 3], padding: 1, dilation: [1, 2, 1], dtype: 'float64' });
      try {
        expect(m.namedParameters().map(([key, p]) => [key, p.shape])).toEqual([['weight', [inC, outC / groups, ...k]], ['bias', [outC]]]);
        const bound = 1 / Math.sqrt((outC / groups) * prod(k));
        const top = Math.max(...Array.from(m.weight.dataSync(), Math.abs)), topB = Math.max(...Array.from(m.bias!.dataSync(), Math.abs));
        expect({ within: top <= bound * F32_ROUNDING && topB <= bound * F32_ROUNDING, spread: top > 0.75 * bound }).toEqual({ within: true, spread: true });
        const x = antler.randn([1, inC, 2, 3, 2], F64);
        const opts = { groups, stride: [2, 1, 3] as Triple, padding: 1, dilation: [1, 2, 1] as Triple };
        const base = antler.convTranspose3d(x, m.weight, m.bias, opts);
        const [Dmin, Hmin, Wmin] = base.shape.slice(2);
        expectClose(m.forward(x).dataSync(), base.dataSync(), 0, 0, 'layer = function');
        const y = m.forward(x, { outputSize: [Dmin + 1, Hmin, Wmin + 2] }); // stride 1 along the height: one size only
        expect(y.shape).toEqual([1, outC, Dmin + 1, Hmin, Wmin + 2]);
        expectClose(y.dataSync(), antler.convTranspose3d(x, m.weight, m.bias, { ...opts, outputPadding: [1, 0, 2] }).dataSync(), 0, 0, 'outputSize');
        expect(m.forward(x, { outputSize: [1, outC, Dmin, Hmin, Wmin + 1] }).shape).toEqual([1, outC, Dmin, Hmin, Wmin + 1]);
        expectAntlerError(() => m.forward(x, { outputSize: [Dmin + 2, Hmin, Wmin] }), 'INVALID_ARGUMENT',
          new RegExp(`^ConvTranspose3d: requested an output size of \\[${Dmin + 2}, ${Hmin}, ${Wmin}\\], but valid sizes range from \\[${Dmin}, ${Hmin}, ${Wmin}\\] to \\[${Dmin + 1}, ${Hmin}, ${Wmin + 2}\\]`));
        expectAntlerError(() => m.forward(x, { outputSize: [Dmin, Hmin] }), 'INVALID_ARGUMENT', /^ConvTranspose3d: for 5-D input, outputSize must hold 3 or 5 integers/);
      } finally {
        m.dispose();
      }
    }));

  test('module constructors check their options when built, allocating nothing', () => {
    const before = antler.memory().numTensors;
    expectAntlerError(() => new nn.Conv3d(6, 4, 3, { groups: 4 }), 'INVALID_ARGUMENT', /^Conv3d: inChannels \(6\) and outChannels \(4\) must both be divisible by groups \(4\)$/);
    expectAntlerError(() => new nn.Conv3d(3, 4, [3, 0, 3]), 'INVALID_ARGUMENT', /^Conv3d: kernelSize/);
    expectAntlerError(() => new nn.Conv3d(3, 4, [3, 3] as unknown as Triple), 'INVALID_ARGUMENT', /^Conv3d: kernelSize must be a number or \[depth, height, width\]/);
    expectAntlerError(() => new nn.Conv3d(3, 4, 3, { dilation: [1, 1, 0] }), 'INVALID_ARGUMENT', /^Conv3d: dilation must be a positive integer; got 0$/);
    expectAntlerError(() => new nn.Conv3d(3, 4, 3, { padding: 'same', stride: 2 }), 'INVALID_ARGUMENT', /padding 'same' needs stride 1/);
    expectAntlerError(() => new nn.Conv3d(3, 4, 3, { paddingMode: 'mirror' as 'reflect' }), 'INVALID_ARGUMENT', /^Conv3d: paddingMode must be 'zeros', 'reflect', 'replicate' or 'circular'; got/);
    expectAntlerError(() => new nn.ConvTranspose3d(3, 4, 3, { stride: 2, outputPadding: [1, 1, 2] }), 'INVALID_ARGUMENT', /^ConvTranspose3d: outputPadding must be smaller than either stride or dilation/);
    expect(antler.memory().numTensors).toBe(before);
    const m = new nn.Conv3d(3, 4, 3);
    try {
      tidy(() => expectAntlerError(() => m.forward(antler.zeros([1, 3, 5, 5, 5], F64)), 'DTYPE_MISMATCH', /^Conv3d: input is float64; the module is float32/));
    } finally {
      m.dispose();
    }
  });
});
