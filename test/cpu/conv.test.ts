/**
 * conv1d / nn.Conv1d against a direct float64 loop of PyTorch's definition
 * (cross-correlation, zero padding, stride, dilation, 'same' and 'valid'), on
 * fresh random shapes; unbatched input; the layer's initialisation bounds and
 * parameter names; bad inputs. The op registry (test/opinfo.ts) checks the
 * gradients against central differences and CUDA against the CPU.
 */
import * as antler from '../../lib';
import { nn, tensor, tidy } from '../../lib';
import { convForward, convGeometry, convPaths } from '../../lib/ops/conv';
import { convNdRef, dot, expectGradsMatchCentral } from '../conv-refs';
import * as indexing from '../../lib/ops/indexing';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts, spreadFloor, F32_ROUNDING } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

/** y[n, o, t] = b[o] + Σ_c Σ_k w[o, c, k] · xpad[n, c, t·stride + k·dilation]. */
function conv1dRef(x: number[], w: number[], b: number[] | null, N: number, Cin: number, L: number, Cout: number, K: number, stride: number, left: number, right: number, dilation: number) {
  const Lp = L + left + right, Lout = Math.floor((Lp - dilation * (K - 1) - 1) / stride) + 1;
  const at = (n: number, c: number, p: number) => (p < left || p >= left + L ? 0 : x[(n * Cin + c) * L + p - left]);
  const y = new Array<number>(N * Cout * Lout).fill(0);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < Cout; o++)
      for (let t = 0; t < Lout; t++) {
        let acc = b ? b[o] : 0;
        for (let c = 0; c < Cin; c++) for (let k = 0; k < K; k++) acc += w[(o * Cin + c) * K + k] * at(n, c, t * stride + k * dilation);
        y[(n * Cout + o) * Lout + t] = acc;
      }
  return { y, Lout };
}

describe(`conv1d (seed ${SEED})`, () => {
  test('equals the direct sum of PyTorch\'s definition: stride, dilation, padding as a number, \'same\' (odd and even spans) and \'valid\'', () =>
    tidy(() => {
      for (let trial = 0; trial < 12; trial++) {
        const N = rng.int(1, 3), Cin = rng.int(1, 4), Cout = rng.int(1, 4), K = rng.int(1, 5), dilation = rng.int(1, 3);
        const mode = rng.pick(['number', 'same', 'valid'] as const);
        const stride = mode === 'same' ? 1 : rng.int(1, 3);
        const L = dilation * (K - 1) + rng.int(1, 9);
        const p = mode === 'number' ? rng.int(0, 3) : 0;
        const span = dilation * (K - 1), left = mode === 'same' ? Math.floor(span / 2) : p, right = mode === 'same' ? span - left : p;
        const x = randomArray(rng, N * Cin * L), w = randomArray(rng, Cout * Cin * K), b = rng.next() < 0.5 ? randomArray(rng, Cout) : null;
        const ref = conv1dRef(x, w, b, N, Cin, L, Cout, K, stride, left, right, dilation);
        const options = { stride, dilation, padding: mode === 'number' ? p : mode };
        const F = { dtype: 'float64' as const };
        const y = antler.conv1d(tensor(x, [N, Cin, L], F), tensor(w, [Cout, Cin, K], F), b ? tensor(b, [Cout], F) : null, options);
        const what = JSON.stringify({ N, Cin, L, Cout, K, ...options, bias: Boolean(b) });
        expect(y.shape).toEqual([N, Cout, ref.Lout]);
        expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, what);
        // Unbatched [Cin, L] is sample 0; float32 agrees.
        const u = antler.conv1d(tensor(x.slice(0, Cin * L), [Cin, L], F), tensor(w, [Cout, Cin, K], F), b ? tensor(b, [Cout], F) : null, options);
        expect(u.shape).toEqual([Cout, ref.Lout]);
        expectClose(u.dataSync(), ref.y.slice(0, Cout * ref.Lout), 1e-12, 1e-12, `unbatched ${what}`);
        const f32 = antler.conv1d(tensor(x, [N, Cin, L]), tensor(w, [Cout, Cin, K]), b ? tensor(b, [Cout]) : null, options);
        expectClose(f32.dataSync(), ref.y, 1e-5, 1e-5, `float32 ${what}`);
      }
    }));

  test('groups: each group of output channels sees only its group of input channels (depthwise at groups = in)', () =>
    tidy(() => {
      for (let trial = 0; trial < 8; trial++) {
        const G = rng.int(2, 4), N = rng.int(1, 3), Cg = rng.int(1, 3), Og = rng.pick([1, rng.int(1, 3)]), K = rng.int(1, 4);
        const Cin = G * Cg, Cout = G * Og, stride = rng.int(1, 2), dilation = rng.int(1, 2), p = rng.int(0, 2);
        const L = dilation * (K - 1) + rng.int(1, 7);
        const x = randomArray(rng, N * Cin * L), w = randomArray(rng, Cout * Cg * K), b = rng.next() < 0.5 ? randomArray(rng, Cout) : null;
        // The reference: a full [Cout, Cin, K] weight that is zero outside each output channel's group.
        const full = new Array<number>(Cout * Cin * K).fill(0);
        for (let o = 0; o < Cout; o++)
          for (let c = 0; c < Cg; c++)
            for (let k = 0; k < K; k++) full[(o * Cin + Math.floor(o / Og) * Cg + c) * K + k] = w[(o * Cg + c) * K + k];
        const ref = conv1dRef(x, full, b, N, Cin, L, Cout, K, stride, p, p, dilation);
        const F = { dtype: 'float64' as const };
        const options = { stride, dilation, padding: p, groups: G };
        const y = antler.conv1d(tensor(x, [N, Cin, L], F), tensor(w, [Cout, Cg, K], F), b ? tensor(b, [Cout], F) : null, options);
        expect(y.shape).toEqual([N, Cout, ref.Lout]);
        expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, JSON.stringify({ N, Cin, Cout, L, K, ...options }));
        const u = antler.conv1d(tensor(x.slice(0, Cin * L), [Cin, L], F), tensor(w, [Cout, Cg, K], F), b ? tensor(b, [Cout], F) : null, options);
        expectClose(u.dataSync(), ref.y.slice(0, Cout * ref.Lout), 1e-12, 1e-12, 'unbatched with groups');
      }
      // The module: weight [out, in / groups, k], U(±1/√(in / groups · k)); depthwise.
      const m = new nn.Conv1d(6, 12, 3, { groups: 6, padding: 1 });
      expect(m.weight.shape).toEqual([12, 1, 3]);
      const bound = 1 / Math.sqrt(3);
      const wv = m.weight.dataSync();
      expect(Math.max(...Array.from(wv, Math.abs))).toBeLessThanOrEqual(bound * F32_ROUNDING);
      expect(m.forward(antler.randn([2, 6, 10])).shape).toEqual([2, 12, 10]);
      m.dispose();
    }));

  test("nn.Conv1d: PyTorch's names, shapes and U(±1/√(in·k)) initialisation; forward is conv1d with its options", () =>
    tidy(() => {
      const m = new nn.Conv1d(8, 16, 5, { padding: 'same', dilation: 2 });
      try {
        expect(m.namedParameters().map(([k, p]) => [k, p.shape])).toEqual([['weight', [16, 8, 5]], ['bias', [16]]]);
        const bound = 1 / Math.sqrt(8 * 5);
        // Spread to the bound, with spreadFloor's odds of 1e-9 for a correct init: the weight's 640 draws
        // reach 0.968 of it. The bias has 16 (P(max < 0.5 bound) = 2^-16 failed one run in 65,536), so it
        // pools 7 more layers' biases: 128 draws, floor 0.85, above the 0.71 of a bound 1/√(out·k).
        const more = Array.from({ length: 7 }, () => new nn.Conv1d(8, 16, 5));
        try {
          const biases = [m, ...more].flatMap((l) => Array.from(l.bias!.dataSync()));
          for (const v of [Array.from(m.weight.dataSync()), biases]) {
            expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound * F32_ROUNDING);
            expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(bound * spreadFloor(v.length));
          }
        } finally {
          more.forEach((l) => l.dispose());
        }
        const x = antler.randn([2, 8, 30]);
        const y = m.forward(x);
        expect(y.shape).toEqual([2, 16, 30]);
        expectClose(y.dataSync(), antler.conv1d(x, m.weight, m.bias, { padding: 'same', dilation: 2 }).dataSync(), 0, 0, 'layer = function');
        const plain = new nn.Conv1d(2, 3, 3, { bias: false, dtype: 'float64' });
        expect([plain.bias, plain.weight.dtype]).toEqual([null, 'float64']);
        plain.dispose();
      } finally {
        m.dispose();
      }
    }));

  test('nn.Conv1d with groups: weight [out, in / groups, k], both U(±1/√(in / groups · k)) (fan in of one group), spread to the bound; forward uses the groups, stride, padding and dilation', () =>
    tidy(() => {
      const groups = rng.int(2, 4), k = rng.int(1, 3);
      const inC = groups * rng.int(2, 4), outC = groups * 64;
      const stride = rng.int(2, 3), padding = rng.int(0, 2), dilation = rng.int(1, 2);
      const m = new nn.Conv1d(inC, outC, k, { groups, stride, padding, dilation, dtype: 'float64' });
      try {
        expect(m.weight.shape).toEqual([outC, inC / groups, k]);
        const bound = 1 / Math.sqrt((inC / groups) * k);
        // The weight has >= 128 entries and the bias 128+: P(max |·| < 0.75 bound) <= 0.75^128 < 1e-15,
        // and a bound of 1/√(in · k) is at most bound/√2 < 0.75 bound.
        for (const [name, p] of m.namedParameters()) {
          const top = Math.max(...Array.from(p.dataSync(), Math.abs));
          expect({ name, within: top <= bound * F32_ROUNDING, spread: top > 0.75 * bound }).toEqual({ name, within: true, spread: true });
        }
        const L = dilation * (k - 1) + rng.int(3, 9);
        const xs = randomArray(rng, inC * L);
        const y = m.forward(tensor(xs, [1, inC, L], { dtype: 'float64' }));
        const w = Array.from(m.weight.dataSync()), b = Array.from(m.bias!.dataSync());
        const cg = inC / groups, og = outC / groups;
        const expected: number[] = [];
        for (let o = 0; o < outC; o++) {
          const g = Math.floor(o / og);
          const sub = conv1dRef(xs.slice(g * cg * L, (g + 1) * cg * L), w.slice(o * cg * k, (o + 1) * cg * k), [b[o]], 1, cg, L, 1, k, stride, padding, padding, dilation);
          if (o === 0) expect(y.shape).toEqual([1, outC, sub.Lout]);
          expected.push(...sub.y);
        }
        expectClose(y.dataSync(), expected, 1e-12, 1e-13, `groups ${groups}, stride ${stride}, padding ${padding}, dilation ${dilation} (seed ${SEED})`);
      } finally {
        m.dispose();
      }
    }));

  test('bad inputs raise AntlerError saying what was passed', () =>
    tidy(() => {
      const x = antler.zeros([2, 3, 10]), w = antler.zeros([4, 3, 3]);
      expectAntlerError(() => antler.conv1d(antler.zeros([2, 5, 10]), w), 'SHAPE_MISMATCH', /^conv1d: input has 5 channels \(shape \[2, 5, 10\]\); the weight \[4, 3, 3\] expects 3$/);
      expectAntlerError(() => antler.conv1d(x, antler.zeros([4, 3])), 'SHAPE_MISMATCH', /weight has shape \[4, 3\]; expected \[outChannels, inChannels \/ groups, kernelSize\]/);
      expectAntlerError(() => antler.conv1d(x, w, antler.zeros([3])), 'SHAPE_MISMATCH', /bias has shape \[3\]; expected \[4\]/);
      expectAntlerError(() => antler.conv1d(antler.zeros([2, 3, 2]), w), 'SHAPE_MISMATCH', /^conv1d: the input's length 2 \(padded to 2\) is shorter than the kernel's span 3/);
      expectAntlerError(() => antler.conv1d(x, w, null, { padding: 'same', stride: 2 }), 'INVALID_ARGUMENT', /padding 'same' needs stride 1/);
      expectAntlerError(() => antler.conv1d(x, w, null, { stride: 0 }), 'INVALID_ARGUMENT', /^conv1d: stride must be a positive integer; got 0$/);
      expectAntlerError(() => antler.conv1d(x, w, null, { padding: -1 }), 'INVALID_ARGUMENT', /padding must be an integer ≥ 0, 'valid' or 'same'; got -1/);
      expectAntlerError(() => antler.conv1d(x, antler.zeros([4, 3, 3], { dtype: 'float64' })), 'DTYPE_MISMATCH', /input is float32 and weight float64/);
      // The bias's dtype is checked by conv1d itself, for any groups (not promoted, and not refused under linear's name).
      expectAntlerError(() => antler.conv1d(x, w, antler.zeros([4], { dtype: 'float64' })), 'DTYPE_MISMATCH', /^conv1d: bias is float64 and weight float32; expected one dtype$/);
      expectAntlerError(() => antler.conv1d(antler.zeros([2, 4, 10]), antler.zeros([4, 2, 3]), antler.zeros([4], { dtype: 'float64' }), { groups: 2 }), 'DTYPE_MISMATCH', /^conv1d: bias is float64 and weight float32/);
      expectAntlerError(() => antler.conv1d(x, w, null, { groups: 0 }), 'INVALID_ARGUMENT', /groups must be a positive integer; got 0/);
      expectAntlerError(() => antler.conv1d(x, antler.zeros([4, 3, 0])), 'SHAPE_MISMATCH', /kernel size and input channels of 0/);
      expectAntlerError(() => antler.conv1d(antler.zeros([2, 4, 10]), antler.zeros([0, 2, 1]), null, { groups: 2 }), 'SHAPE_MISMATCH', /2 groups need at least 2/);
      expectAntlerError(() => antler.conv1d(x, w, null, { groups: 3 }), 'SHAPE_MISMATCH', /4 output channels .* not divisible into 3 groups/);
      expectAntlerError(() => antler.conv1d(x, antler.zeros([4, 2, 3]), null, { groups: 2 }), 'SHAPE_MISMATCH', /input has 3 channels .* with 2 groups expects 4/);
      expectAntlerError(() => new nn.Conv1d(6, 4, 3, { groups: 4 }), 'INVALID_ARGUMENT', /must both be divisible by groups \(4\)/);
      expectAntlerError(() => new nn.Conv1d(3, 4, 3, { dilation: 0 }), 'INVALID_ARGUMENT', /^Conv1d: dilation must be a positive integer; got 0$/);
    }));
});

describe(`convolutions past one int32 row gather (seed ${SEED})`, () => {
  // The gather's int32 row index reaches 2^31 − 1: N·G·S rows beyond it are convolved in pieces of samples and groups.
  // Block offsets b·S past 2^31 wrapped in the Int32Array before (silently wrong rows from 2^32 on); 2^31 rows need
  // 8 GB, so the pieces are checked here with convForward's limit lowered to a few blocks.
  test('in pieces (limit lowered): conv1d against the definition, conv2d / conv3d against one piece, gradients equal', () =>
    tidy(() => {
      const F = { dtype: 'float64' as const };
      for (let trial = 0; trial < 6; trial++) {
        const k = rng.int(1, 3), G = rng.int(1, 4), Cg = rng.int(1, 2), Og = rng.int(1, 2), N = rng.int(1, 4);
        const Cin = G * Cg, Cout = G * Og, sizes = Array.from({ length: k }, () => rng.int(2, 5)), ks = sizes.map((L) => rng.int(1, L));
        const o = { stride: rng.int(1, 2), padding: rng.int(0, 1), dilation: 1, groups: G };
        const gs = sizes.map((L, d) => convGeometry('t', L, ks[d], o));
        const S = gs.reduce((a, g, d) => a * (sizes[d] + g.left + g.right), 1);
        const maxRows = S * rng.int(1, Math.max(1, N * G - 1)); // S ≤ maxRows < N·G·S unless N·G = 1
        const xv = randomArray(rng, N * Cin * sizes.reduce((a, b) => a * b, 1)), wv = randomArray(rng, Cout * Cg * ks.reduce((a, b) => a * b, 1)), bv = randomArray(rng, Cout);
        const x = tensor(xv, [N, Cin, ...sizes], F), w = tensor(wv, [Cout, Cg, ...ks], F), b = tensor(bv, [Cout], F);
        [x, w, b].forEach((t) => (t.requiresGrad = true));
        const whole = [antler.conv1d, antler.conv2d, antler.conv3d][k - 1](x, w, b, k === 1 ? o : { ...o, stride: o.stride, padding: o.padding });
        const gathers = jest.spyOn(indexing, 'gatherRows');
        // (the row gather's pieces: depthwise shapes would take the depthwise path, which gathers nothing)
        convPaths.depthwise = false;
        let pieces: antler.Tensor;
        try {
          pieces = convForward(x, w, b, ks, gs, G, maxRows);
        } finally {
          convPaths.depthwise = true;
        }
        // Every gather's table within the limit (its rows int32-indexable), so more than one when N·G·S exceeds it.
        const tables = gathers.mock.calls.map(([table]) => table.shape[0]);
        gathers.mockRestore();
        expect(Math.max(...tables)).toBeLessThanOrEqual(maxRows);
        expect(tables.reduce((a, t) => a + t, 0)).toBe(N * G * S);
        const what = JSON.stringify({ N, Cin, Cout, sizes, ks, ...o, maxRows, S });
        expect(pieces.shape).toEqual(whole.shape);
        if (k === 1) {
          const full = new Array<number>(Cout * Cin * ks[0]).fill(0);
          for (let oc = 0; oc < Cout; oc++) for (let c = 0; c < Cg; c++) for (let a = 0; a < ks[0]; a++) full[(oc * Cin + Math.floor(oc / Og) * Cg + c) * ks[0] + a] = wv[(oc * Cg + c) * ks[0] + a];
          expectClose(pieces.dataSync(), conv1dRef(xv, full, bv, N, Cin, sizes[0], Cout, ks[0], o.stride, o.padding, o.padding, 1).y, 1e-12, 1e-12, what);
        } else expectClose(pieces.dataSync(), whole.dataSync(), 1e-12, 1e-12, what);
        const r = antler.randn(whole.shape, F);
        const g1 = antler.autograd.grad(antler.sum(antler.mul(whole, r)), [x, w, b]);
        const g2 = antler.autograd.grad(antler.sum(antler.mul(pieces, r)), [x, w, b]);
        g1.forEach((g, i) => expectClose(g2[i]!.dataSync(), g!.dataSync(), 1e-12, 1e-12, `${what} gradient ${i}`));
      }
    }));

  test('a padded input with more than 2^31 positions per channel is refused before anything is allocated', () =>
    tidy(() => {
      const before = antler.memory().numTensors;
      expectAntlerError(() => antler.conv1d(antler.ones([1, 1, 1]), antler.ones([1, 1, 1]), null, { padding: 2 ** 38 }), 'INVALID_ARGUMENT',
        /^conv1d: the padded input has 549755813889 positions per channel \(\[549755813889\]\); the gather's int32 indices reach 2\^31 − 1$/);
      expectAntlerError(() => antler.conv2d(antler.ones([1, 1, 1, 1]), antler.ones([1, 1, 1, 1]), null, { padding: [2 ** 17, 2 ** 17] }), 'INVALID_ARGUMENT', /^conv2d: the padded input has \d+ positions per channel \(\[262145, 262145\]\)/);
      expect(antler.memory().numTensors).toBe(before + 4); // the four inputs only
    }));
});

describe(`depthwise convolutions: the sum over taps (seed ${SEED})`, () => {
  // groups = in (> 1) with stride 1 take convForward's depthwise path (no row gather); stride 2 the row gather. The CPU's
  // dispatch rule (multiplier 1 and 2^21 output elements and more) is turned off here so that these small shapes take it,
  // and the native kernel (test/cpu/conv-depthwise.test.ts) too: this is the path of addons built without it.
  beforeAll(() => ((convPaths.depthwiseCpuRule = false), (convPaths.depthwiseNative = false)));
  afterAll(() => ((convPaths.depthwiseCpuRule = true), (convPaths.depthwiseNative = true)));
  const convs = [antler.conv1d, antler.conv2d, antler.conv3d] as const;
  const F = { dtype: 'float64' as const };
  const prod = (v: readonly number[]) => v.reduce((a, b) => a * b, 1);
  /** A random depthwise case: k axes, C channels, multiplier m, per-axis kernel, dilation, padding; stride 1 unless `strided`. */
  const draw = (k: number, strided = false) => {
    const C = rng.int(2, 4), m = rng.int(1, 3), N = rng.int(1, 2);
    const ks = Array.from({ length: k }, () => rng.int(1, k === 3 ? 2 : 3)), dil = ks.map(() => rng.int(1, 2));
    const stride = ks.map(() => (strided ? rng.int(1, 3) : 1));
    const mode = k === 1 ? rng.pick(['number', 'same', 'valid'] as const) : rng.pick(['number', 'axes', 'same', 'valid'] as const);
    const pads = ks.map(() => rng.int(0, 2));
    const padding = mode === 'number' ? pads.fill(pads[0]) && pads[0] : mode === 'axes' ? pads : mode;
    const spans = ks.map((K, d) => dil[d] * (K - 1));
    const left = spans.map((e, d) => (mode === 'same' ? Math.floor(e / 2) : mode === 'valid' ? 0 : pads[d]));
    const right = spans.map((e, d) => (mode === 'same' ? e - left[d] : left[d]));
    const sizes = spans.map((e) => e + rng.int(1, 4));
    const s = stride.every((v) => v === 1) ? padding : typeof padding === 'string' ? 0 : padding;
    if (s === 0) left.fill(0), right.fill(0);
    const options = { groups: C, padding: s, dilation: k === 1 ? dil[0] : dil, stride: k === 1 ? stride[0] : stride } as never;
    return { C, m, N, ks, dil, stride, left, right, sizes, options, what: JSON.stringify({ N, C, m, sizes, ks, dil, stride, padding: s }) };
  };

  test('equals the definition: 1-D/2-D/3-D, multipliers, dilation, each padding form, batch 1 and unbatched, float64 and float32; stride 1 gathers nothing', () =>
    tidy(() => {
      for (let trial = 0; trial < 24; trial++) {
        const k = rng.int(1, 3), c = draw(k, trial % 4 === 3);
        const { C, m, N, ks, sizes } = c, Cout = C * m;
        const xv = randomArray(rng, N * C * prod(sizes)), wv = randomArray(rng, Cout * prod(ks)), bv = rng.next() < 0.5 ? randomArray(rng, Cout) : null;
        const ref = convNdRef(xv, wv, bv, N, C, sizes, Cout, ks, C, c.stride, c.left, c.right, c.dil);
        const gathers = jest.spyOn(indexing, 'gatherRows');
        const y = convs[k - 1](tensor(xv, [N, C, ...sizes], F), tensor(wv, [Cout, 1, ...ks], F), bv ? tensor(bv, [Cout], F) : null, c.options);
        const gathered = gathers.mock.calls.length;
        gathers.mockRestore();
        if (c.stride.every((v) => v === 1)) expect(gathered).toBe(0);
        expect(y.shape).toEqual([N, Cout, ...ref.outSizes]);
        expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, c.what);
        const f32 = convs[k - 1](tensor(xv, [N, C, ...sizes]), tensor(wv, [Cout, 1, ...ks]), bv ? tensor(bv, [Cout]) : null, c.options);
        expectClose(f32.dataSync(), ref.y, 1e-5, 1e-5, `float32 ${c.what}`);
        const u = convs[k - 1](tensor(xv.slice(0, C * prod(sizes)), [C, ...sizes], F), tensor(wv, [Cout, 1, ...ks], F), bv ? tensor(bv, [Cout], F) : null, c.options);
        expect(u.shape).toEqual([Cout, ...ref.outSizes]);
        expectClose(u.dataSync(), ref.y.slice(0, Cout * prod(ref.outSizes)), 1e-12, 1e-12, `unbatched ${c.what}`);
      }
    }));

  test('gradients of input, weight and bias against central differences of the definition', () =>
    tidy(() => {
      for (let trial = 0; trial < 9; trial++) {
        const k = (trial % 3) + 1, c = draw(k);
        const { C, m, N, ks, sizes } = c, Cout = C * m;
        const vals = [randomArray(rng, N * C * prod(sizes)), randomArray(rng, Cout * prod(ks)), randomArray(rng, Cout)];
        const ts = [tensor(vals[0], [N, C, ...sizes], F), tensor(vals[1], [Cout, 1, ...ks], F), tensor(vals[2], [Cout], F)];
        ts.forEach((t) => (t.requiresGrad = true));
        const y = convs[k - 1](ts[0], ts[1], ts[2], c.options);
        const r = randomArray(rng, y.size);
        antler.sum(antler.mul(y, tensor(r, y.shape, F))).backward();
        expectGradsMatchCentral(ts, vals, (v) => dot(convNdRef(v[0], v[1], v[2], N, C, sizes, Cout, ks, C, c.stride, c.left, c.right, c.dil).y, r), c.what);
      }
    }));

  test('double backward equals the row gather path\'s (second derivatives through the recorded backward)', () =>
    tidy(() => {
      for (let trial = 0; trial < 6; trial++) {
        const k = (trial % 3) + 1, c = draw(k);
        const { C, m, N, ks, sizes } = c, Cout = C * m;
        const x = tensor(randomArray(rng, N * C * prod(sizes)), [N, C, ...sizes], F), w = tensor(randomArray(rng, Cout * prod(ks)), [Cout, 1, ...ks], F);
        const b = tensor(randomArray(rng, Cout), [Cout], F);
        [x, w, b].forEach((t) => (t.requiresGrad = true));
        const second = (depthwise: boolean) => {
          convPaths.depthwise = depthwise;
          try {
            const y = convs[k - 1](x, w, b, c.options);
            const r = antler.randn(y.shape, { ...F, seed: 7 } as never);
            const [gx, gw] = antler.autograd.grad(antler.sum(antler.mul(antler.mul(y, y), r)), [x, w], { createGraph: true });
            const s = antler.add(antler.sum(antler.mul(gx!, antler.sin(x))), antler.sum(antler.mul(gw!, antler.cos(w))));
            return antler.autograd.grad(s, [x, w, b]).map((g) => g!.dataSync());
          } finally {
            convPaths.depthwise = true;
          }
        };
        const fast = second(true), gathered = second(false);
        fast.forEach((g, i) => expectClose(g, gathered[i], 1e-10, 1e-10, `${c.what} second derivative ${i}`));
      }
    }));

  test('the forward keeps only the padded input for backward (the gather kept KK output-sized patches)', () =>
    tidy(() => {
      const x = antler.randn([2, 8, 20, 20], { ...F, requiresGrad: true } as never), w = antler.randn([16, 1, 3, 3], { ...F, requiresGrad: true } as never);
      const before = antler.memory().numBytes;
      const y = antler.conv2d(x, w, null, { padding: 1, groups: 8 });
      const held = antler.memory().numBytes - before, bytes = (shape: readonly number[]) => prod(shape) * 8;
      // The output and the zero-padded input [2, 8, 22, 22]; 9 windows of the output's size would be 9 · 51200 bytes more.
      expect(held).toBeLessThanOrEqual(bytes(y.shape) + bytes([2, 8, 22, 22]) + 1024);
      antler.sum(y).backward();
      expect(w.grad!.shape).toEqual([16, 1, 3, 3]);
    }));

  test('nn.Conv1d/2d/3d with groups = in and each paddingMode equal the definition (the mode\'s padding, then the taps)', () =>
    tidy(() => {
      const modules = [nn.Conv1d, nn.Conv2d, nn.Conv3d] as const;
      for (const mode of ['zeros', 'reflect', 'replicate', 'circular'] as const)
        for (let k = 1; k <= 3; k++) {
          const C = rng.int(2, 3), m = rng.int(1, 2), K = rng.int(2, 3), p = rng.int(1, K - 1), dilation = rng.int(1, 2);
          const sizes = Array.from({ length: k }, () => dilation * (K - 1) + rng.int(2, 4));
          const layer = new (modules[k - 1] as typeof nn.Conv2d)(C, C * m, K, { groups: C, padding: p, dilation, paddingMode: mode, dtype: 'float64' } as never);
          const xv = randomArray(rng, 2 * C * prod(sizes));
          const y = layer.forward(tensor(xv, [2, C, ...sizes], F));
          const ks = sizes.map(() => K), pads = sizes.map(() => p);
          const ref = convNdRef(xv, layer.weight.dataSync(), layer.bias!.dataSync(), 2, C, sizes, C * m, ks, C, ks.map(() => 1), pads, pads, ks.map(() => dilation), mode);
          expect(y.shape).toEqual([2, C * m, ...ref.outSizes]);
          expectClose(y.dataSync(), ref.y, 1e-12, 1e-12, JSON.stringify({ mode, k, C, m, K, p, dilation, sizes }));
          layer.dispose();
        }
    }));

  test('the backward holds one tap\'s weight-gradient product at a time (not KK output-sized products to its end)', () =>
    tidy(() => {
      // [2, 8, 20, 20] 5×5: 8.7 outputs' bytes at the backward's peak; 54.5 when every tap's window and product were held.
      const x = antler.randn([2, 8, 20, 20], { ...F, requiresGrad: true } as never), w = antler.randn([8, 1, 5, 5], { ...F, requiresGrad: true } as never);
      const y = antler.conv2d(x, w, null, { padding: 2, groups: 8 }), gy = antler.randn(y.shape, F as never);
      const before = antler.memory().numBytes;
      antler.resetPeakMemory();
      y.backward(gy);
      expect(antler.memory().devices.cpu.peakBytes - before).toBeLessThanOrEqual(16 * y.size * 8);
      expect(w.grad!.shape).toEqual([8, 1, 5, 5]);
    }));
});

describe('depthwise convolutions on the CPU: the path where it measured faster', () => {
  const gathered = (f: () => antler.Tensor) => {
    const gathers = jest.spyOn(indexing, 'gatherRows');
    try {
      tidy(() => void f().dataSync());
      return gathers.mock.calls.length > 0;
    } finally {
      gathers.mockRestore();
    }
  };
  test('the native kernel at every size, multiplier and stride (no gather); without it, the sum over taps where it measured faster', () => {
    const x = antler.randn([1, 2048, 1024]), w = antler.randn([2048, 1, 3]), w2 = antler.randn([4096, 1, 3]);
    try {
      expect(gathered(() => antler.conv1d(x, w, null, { groups: 2048 }))).toBe(false);
      expect(gathered(() => antler.conv1d(x, w2, null, { padding: 1, groups: 2048, stride: 2 }))).toBe(false);
      expect(gathered(() => antler.conv2d(antler.randn([2, 4, 8, 8]), antler.randn([8, 1, 3, 3]), null, { padding: 1, groups: 4 }))).toBe(false);
      expect(gathered(() => antler.conv2d(antler.randn([2, 4, 8, 8]), antler.randn([8, 2, 3, 3]), null, { padding: 1, groups: 2 }))).toBe(true); // not depthwise
      // The sum over taps (an addon without the native kernel): multiplier 1 from 2^21 output elements (N·C·positions) on.
      convPaths.depthwiseNative = false;
      expect(gathered(() => antler.conv1d(x, w, null, { padding: 1, groups: 2048 }))).toBe(false); // 2048·1024 = 2^21 outputs
      expect(gathered(() => antler.conv1d(x, w, null, { groups: 2048 }))).toBe(true); // 2048·1022
      expect(gathered(() => antler.conv1d(x, w2, null, { padding: 1, groups: 2048 }))).toBe(true); // multiplier 2
      expect(gathered(() => antler.conv2d(antler.randn([2, 4, 8, 8]), antler.randn([4, 1, 3, 3]), null, { padding: 1, groups: 4 }))).toBe(true);
      convPaths.depthwiseCpuRule = false;
      expect(gathered(() => antler.conv2d(antler.randn([2, 4, 8, 8]), antler.randn([4, 1, 3, 3]), null, { padding: 1, groups: 4 }))).toBe(false);
    } finally {
      convPaths.depthwiseCpuRule = true;
      convPaths.depthwiseNative = true;
      [x, w, w2].forEach((t) => t.dispose());
    }
  });

  test('int32 refused on every path (the sum over taps would have taken it, the gather\'s GEMM refused it)', () =>
    tidy(() => {
      const I = { dtype: 'int32' as const };
      for (const rule of [true, false]) {
        convPaths.depthwiseCpuRule = rule;
        try {
          expectAntlerError(() => antler.conv1d(antler.zeros([1, 2, 5], I), antler.zeros([2, 1, 3], I), null, { groups: 2 }), 'DTYPE_MISMATCH',
            /^conv1d: input and weight are int32; expected float32 or float64 \(cast them first\)$/);
          expectAntlerError(() => antler.conv2d(antler.zeros([2, 5, 5], I), antler.zeros([2, 1, 3, 3], I), null, { groups: 2 }), 'DTYPE_MISMATCH', /^conv2d: input and weight are int32/);
          expectAntlerError(() => antler.conv3d(antler.zeros([1, 2, 3, 3, 3], I), antler.zeros([4, 1, 1, 1, 1], I), null, { groups: 2 }), 'DTYPE_MISMATCH', /^conv3d: input and weight are int32/);
          expectAntlerError(() => antler.conv2d(antler.zeros([1, 2, 5, 5], I), antler.zeros([3, 2, 3, 3], I)), 'DTYPE_MISMATCH', /^conv2d: input and weight are int32/);
        } finally {
          convPaths.depthwiseCpuRule = true;
        }
      }
    }));
});
