/**
 * pairwiseDistance / nn.PairwiseDistance, nn.CosineSimilarity, the 1-D
 * padding modules, interpolate / nn.Upsample, and alphaDropout,
 * featureAlphaDropout, dropout1d with their modules, against float64
 * JavaScript transcriptions of PyTorch's definitions (aten Distance.cpp's
 * pairwise_distance, UpSample.h's source-index and lambda rules, Dropout.cpp's
 * _dropout_impl): random shapes, sizes, scale factors, both alignCorners,
 * every padding mode; gradients against central differences of the
 * reference; the alpha dropouts' statistics (mean and variance kept within
 * 6 sigma, the dropped value −λα·a·(1 − p)); seeds replay; errors; no leaks.
 */
import * as antler from '../../lib';
import { nn, tensor, tidy, type Tensor } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, numGrad, dotW, randomArray, tensorCounts } from '../helpers';
import { dropoutMask } from '../../lib/ops/nn';

/** The central differences' step. */
const H = 1e-6;

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const ALPHA = 1.7580993408473766;


/** The value of element i of shape `to` read from a tensor of shape `from` that broadcasts to it (right-aligned). */
function bRead(vals: number[], from: readonly number[], to: readonly number[], i: number): number {
  let idx = 0, stride = 1;
  for (let a = to.length - 1, b = from.length - 1; a >= 0; a--, b--) {
    const c = i % to[a];
    i = Math.floor(i / to[a]);
    if (b >= 0) {
      if (from[b] !== 1) idx += c * stride;
      stride *= from[b];
    }
  }
  return vals[idx];
}

/** pairwise_distance: ‖x1 − x2 + eps‖_p over the last axis of the broadcast shape. */
function pairwiseRef(a: number[], sa: number[], b: number[], sb: number[], p: number, eps: number): { out: number[]; shape: number[] } {
  const rank = Math.max(sa.length, sb.length);
  const pa = [...Array(rank - sa.length).fill(1), ...sa], pb = [...Array(rank - sb.length).fill(1), ...sb];
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const D = shape[rank - 1], rows = size(shape) / D;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const d = Array.from({ length: D }, (_, k) => bRead(a, sa, shape, r * D + k) - bRead(b, sb, shape, r * D + k) + eps);
    if (p === Infinity) out.push(Math.max(...d.map(Math.abs)));
    else if (p === 0) out.push(d.filter((v) => v !== 0).length);
    else out.push(d.reduce((s, v) => s + Math.abs(v) ** p, 0) ** (1 / p));
  }
  return { out, shape: shape.slice(0, -1) };
}

/**
 * PyTorch's 1-D interpolation as (i0, i1, w0, w1) per output position, in
 * float64 (a float64 input's kernel: the nearest modes' source position too
 * is a double, rounded to float only by the kernel's floorf).
 */
function interpRef(L: number, o: { size?: number; scaleFactor?: number; mode: string; alignCorners?: boolean; recompute?: boolean }) {
  const out = o.size ?? Math.floor(L * o.scaleFactor!);
  const given = o.scaleFactor !== undefined && !o.recompute ? o.scaleFactor : undefined;
  const idx: [number, number, number, number][] = [];
  if (o.mode !== 'linear') {
    const s = given !== undefined ? 1 / given : L / out;
    for (let j = 0; j < out; j++) {
      const src = Math.fround(o.mode === 'nearest' ? j * s : Math.max(s * (j + 0.5) - 0.5, 0) + 0.5);
      const k = Math.min(Math.floor(src), L - 1);
      idx.push([k, k, 1, 0]);
    }
    return { out, idx };
  }
  const scale = o.alignCorners ? (out > 1 ? (L - 1) / (out - 1) : 0) : given !== undefined ? 1 / given : L / out;
  for (let j = 0; j < out; j++) {
    if (out === L) {
      idx.push([j, j, 1, 0]);
      continue;
    }
    const src = o.alignCorners ? scale * j : Math.max(scale * (j + 0.5) - 0.5, 0);
    const k = Math.min(Math.floor(src), L - 1);
    const l1 = Math.min(Math.max(src - k, 0), 1);
    idx.push([k, k < L - 1 ? k + 1 : k, 1 - l1, l1]);
  }
  return { out, idx };
}
function applyInterp(x: number[], shape: number[], r: ReturnType<typeof interpRef>): number[] {
  const [N, C, L] = shape;
  const y: number[] = [];
  for (let nc = 0; nc < N * C; nc++) for (const [i0, i1, w0, w1] of r.idx) y.push(x[nc * L + i0] * w0 + x[nc * L + i1] * w1);
  return y;
}

describe(`pairwiseDistance and the similarity modules (seed ${SEED})`, () => {
  test('pairwiseDistance matches the reference: broadcasting, p, eps, keepdim; gradients by central differences', () => {
    for (let trial = 0; trial < 12; trial++) {
      const D = rng.int(1, 5), N = rng.int(1, 4);
      const p = rng.pick([1, 2, 3, 0.5, 1.5, Infinity]);
      const eps = rng.pick([1e-6, 0.1, 0]);
      const keepdim = rng.next() < 0.5;
      const [sa, sb] = rng.pick([[[N, D], [N, D]], [[N, D], [D]], [[D], [D]], [[2, N, D], [N, 1]], [[1, D], [N, D]]] as number[][][]);
      // Every broadcast difference x1 − x2 + eps at least 0.05 away from zero, so the norm is smooth within the
      // finite differences' step (a ∈ ±[0.2, 1.2], b ∈ ±[0.06, 0.36] alone did not ensure it: seed 169542699 drew
      // a − b + 0.1 = 9.4e-7 with D = 1, where ‖·‖ is |·| and the central difference straddled the kink).
      const bump = (xs: number[]) => xs.map((v) => v + (v >= 0 ? 0.2 : -0.2));
      const rank = Math.max(sa.length, sb.length);
      const pa = [...Array(rank - sa.length).fill(1), ...sa], pb = [...Array(rank - sb.length).fill(1), ...sb];
      const pairs = pa.map((d, i) => Math.max(d, pb[i]));
      let av: number[], bv: number[];
      do {
        av = bump(randomArray(rng, size(sa), -1, 1));
        bv = bump(randomArray(rng, size(sb), -1, 1)).map((v) => -v * 0.3);
      } while (!Array.from({ length: size(pairs) }, (_, i) => bRead(av, sa, pairs, i) - bRead(bv, sb, pairs, i) + eps).every((d) => Math.abs(d) >= 0.05));
      const ref = pairwiseRef(av, sa, bv, sb, p, eps);
      tidy(() => {
        const x1 = tensor(av, sa, F64).requiresGrad_(), x2 = tensor(bv, sb, F64).requiresGrad_();
        const y = antler.pairwiseDistance(x1, x2, { p, eps, keepdim });
        const msg = `p ${p} eps ${eps} ${JSON.stringify([sa, sb])}`;
        expect(y.shape).toEqual(keepdim ? [...ref.shape, 1] : ref.shape);
        expectClose(y.dataSync(), ref.out, 1e-12, 1e-12, msg);
        if (p === Infinity) return; // the max's kink: ties are unlikely but not excluded; checked at p < ∞
        const w = randomArray(rng, ref.out.length);
        y.backward(tensor(w, y.shape, F64));
        expectClose(x1.grad!.dataSync(), numGrad((v) => dotW(pairwiseRef(v, sa, bv, sb, p, eps).out, w), av, H), 1e-6, 1e-7, `${msg} d/dx1`);
        expectClose(x2.grad!.dataSync(), numGrad((v) => dotW(pairwiseRef(av, sa, v, sb, p, eps).out, w), bv, H), 1e-6, 1e-7, `${msg} d/dx2`);
      });
    }
  });

  test('defaults are PyTorch\'s (p 2, eps 1e-6, keepdim false); two vectors give a 0-d tensor; float32 works', () => {
    tidy(() => {
      const y = antler.pairwiseDistance(tensor([1, 2, 3], [3], F64), tensor([0, 0, 1], [3], F64));
      expect(y.shape).toEqual([]);
      expectClose(y.dataSync(), [Math.hypot(1 + 1e-6, 2 + 1e-6, 2 + 1e-6)], 1e-14, 0);
      const y32 = antler.pairwiseDistance(tensor([1, 2, 3, 4], [2, 2]), tensor([0, 1], [2]));
      expect(y32.dtype).toBe('float32');
      expectClose(y32.dataSync(), [Math.hypot(1, 1), Math.hypot(3, 3)], 1e-5, 1e-5);
    });
  });

  test('tripletMarginLoss uses the same distance', () => {
    tidy(() => {
      const a = tensor(randomArray(rng, 12), [3, 4], F64), p = tensor(randomArray(rng, 12), [3, 4], F64), n = tensor(randomArray(rng, 12), [3, 4], F64);
      const l = antler.tripletMarginLoss(a, p, n, { margin: 10, reduction: 'none', p: 1.5 });
      const ref = antler.add(antler.sub(antler.pairwiseDistance(a, p, { p: 1.5 }), antler.pairwiseDistance(a, n, { p: 1.5 })), 10);
      expectClose(l.dataSync(), ref.dataSync(), 1e-14, 1e-14);
    });
  });

  test('nn.PairwiseDistance and nn.CosineSimilarity (dim 1, eps 1e-8 by default) forward to the functions', () => {
    tidy(() => {
      const x1 = tensor(randomArray(rng, 24), [2, 3, 4], F64), x2 = tensor(randomArray(rng, 24), [2, 3, 4], F64);
      const pd = new nn.PairwiseDistance({ p: 3, keepdim: true });
      expect(String(pd)).toBe('PairwiseDistance(p: 3, eps: 0.000001, keepdim: true)');
      expectExact(pd.forward(x1, x2).dataSync(), antler.pairwiseDistance(x1, x2, { p: 3, keepdim: true }).dataSync());
      const cs = new nn.CosineSimilarity();
      expect(String(cs)).toBe('CosineSimilarity(dim: 1, eps: 1e-8)');
      const y = cs.forward(x1, x2);
      expect(y.shape).toEqual([2, 4]);
      expectExact(y.dataSync(), antler.cosineSimilarity(x1, x2).dataSync());
      expectExact(new nn.CosineSimilarity({ dim: -1 }).forward(x1, x2).dataSync(), antler.cosineSimilarity(x1, x2, { axis: -1 }).dataSync());
      expect(new nn.PairwiseDistance().parameters()).toEqual([]);
    });
  });

  test('errors', () => {
    tidy(() => {
      const a = tensor([1, 2, 3], [3]);
      expectAntlerError(() => antler.pairwiseDistance(a, tensor([1, 2], [2])), 'SHAPE_MISMATCH', /do not broadcast/);
      expectAntlerError(() => antler.pairwiseDistance(a, a.cast('float64')), 'DTYPE_MISMATCH', /float32 and x2 float64/);
      expectAntlerError(() => antler.pairwiseDistance(a.cast('int32'), a.cast('int32')), 'DTYPE_MISMATCH', /int32/);
      expectAntlerError(() => antler.pairwiseDistance(tensor(1), tensor(2)), 'SHAPE_MISMATCH', /0-d/);
      expectAntlerError(() => antler.pairwiseDistance(a, a, { p: -1 }), 'INVALID_ARGUMENT', /p must be a number >= 0.*-1/);
      expectAntlerError(() => antler.pairwiseDistance(a, a, { keepdim: 1 as never }), 'INVALID_ARGUMENT', /keepdim/);
      expectAntlerError(() => antler.pairwiseDistance(a, a, { q: 1 } as never), 'INVALID_ARGUMENT');
      expectAntlerError(() => new nn.PairwiseDistance({ p: NaN }), 'INVALID_ARGUMENT');
      expectAntlerError(() => new nn.CosineSimilarity({ dim: 0.5 }), 'INVALID_ARGUMENT', /dim must be an integer/);
    });
  });
});

describe(`1-D padding modules (seed ${SEED})`, () => {
  /** PyTorch's padded source position of j − left (or -1: the constant). */
  function srcOf(mode: string, q: number, L: number): number {
    if (q >= 0 && q < L) return q;
    if (mode === 'constant') return -1;
    if (mode === 'replicate') return q < 0 ? 0 : L - 1;
    if (mode === 'reflect') return q < 0 ? -q : 2 * (L - 1) - q;
    return ((q % L) + L) % L;
  }
  const MODULES = [
    ['constant', (p: number | [number, number]) => new nn.ConstantPad1d(p, 2.5), 2.5],
    ['constant', (p: number | [number, number]) => new nn.ZeroPad1d(p), 0],
    ['reflect', (p: number | [number, number]) => new nn.ReflectionPad1d(p), 0],
    ['replicate', (p: number | [number, number]) => new nn.ReplicationPad1d(p), 0],
    ['circular', (p: number | [number, number]) => new nn.CircularPad1d(p), 0],
  ] as const;

  test('every mode, [C, L] and [N, C, L], int and [left, right] padding, against the reference, with gradients', () => {
    for (const [mode, make, value] of MODULES) {
      for (const rank of [2, 3]) {
        const L = rng.int(3, 6);
        const cap = mode === 'reflect' ? L - 1 : mode === 'circular' ? L : 7;
        const padding: number | [number, number] = rng.next() < 0.3 ? rng.int(0, cap) : [rng.int(0, cap), rng.int(0, cap)];
        const [left, right] = typeof padding === 'number' ? [padding, padding] : padding;
        const shape = rank === 2 ? [rng.int(1, 3), L] : [rng.int(1, 2), rng.int(1, 3), L];
        const x = randomArray(rng, size(shape));
        const out = L + left + right, rows = size(shape) / L;
        const ref: number[] = [];
        for (let r = 0; r < rows; r++)
          for (let j = 0; j < out; j++) {
            const s = srcOf(mode, j - left, L);
            ref.push(s < 0 ? value : x[r * L + s]);
          }
        tidy(() => {
          const m = make(padding);
          const xt = tensor(x, shape, F64).requiresGrad_();
          const y = m.forward(xt);
          const msg = `${m.constructor.name} ${JSON.stringify(padding)} ${JSON.stringify(shape)}`;
          expect(y.shape).toEqual([...shape.slice(0, -1), out]);
          expectExact(y.dataSync(), ref, msg);
          // The gradient: each output's weight lands on its source.
          const w = randomArray(rng, ref.length);
          y.backward(tensor(w, y.shape, F64));
          const g = new Array(x.length).fill(0);
          for (let r = 0; r < rows; r++)
            for (let j = 0; j < out; j++) {
              const s = srcOf(mode, j - left, L);
              if (s >= 0) g[r * L + s] += w[r * out + j];
            }
          expectClose(xt.grad!.dataSync(), g, 1e-12, 1e-12, msg);
        });
      }
    }
  });

  test('settings print as PyTorch\'s arguments', () => {
    expect(String(new nn.ConstantPad1d([1, 2], 3.5))).toBe("ConstantPad1d(paddingLeft: 1, paddingRight: 2, mode: 'constant', value: 3.5)");
    expect(String(new nn.ReflectionPad1d(2))).toBe("ReflectionPad1d(paddingLeft: 2, paddingRight: 2, mode: 'reflect')");
  });

  test('errors', () => {
    tidy(() => {
      expectAntlerError(() => new nn.ReflectionPad1d(2).forward(tensor([1, 2, 3], [3])), 'SHAPE_MISMATCH', /\[3\]; expected \[C, L\] or \[N, C, L\]/);
      expectAntlerError(() => new nn.ReflectionPad1d(3).forward(tensor([1, 2, 3], [1, 3])), 'INVALID_ARGUMENT', /reflect padding/);
      expectAntlerError(() => new nn.CircularPad1d([0, 4]).forward(tensor([1, 2, 3], [1, 3])), 'INVALID_ARGUMENT', /circular padding/);
      expectAntlerError(() => new nn.ReplicationPad1d(-1), 'INVALID_ARGUMENT', /padding \(left\) must be an integer >= 0/);
      expectAntlerError(() => new nn.ZeroPad1d([1, 2, 3] as never), 'INVALID_ARGUMENT', /integer or \[left, right\]/);
      expectAntlerError(() => new nn.ConstantPad1d(1, NaN), 'INVALID_ARGUMENT', /value/);
    });
  });
});

describe(`interpolate and nn.Upsample (seed ${SEED})`, () => {
  test('random sizes and scale factors, every mode, both alignCorners: values and gradients (float64)', () => {
    for (let trial = 0; trial < 30; trial++) {
      const mode = (['nearest', 'nearest-exact', 'linear'] as const)[trial % 3];
      const L = rng.int(1, 9), N = rng.int(1, 2), C = rng.int(1, 3);
      const bySize = rng.next() < 0.5;
      const sz = rng.int(1, 20);
      let sf = Math.round(rng.uniform(0.3, 3.8) * 100) / 100;
      if (!bySize && Math.floor(L * sf) < 1) sf = 1.5;
      const alignCorners = mode === 'linear' ? rng.next() < 0.5 : undefined;
      const recompute = !bySize && rng.next() < 0.3;
      const o = bySize ? { size: sz } : { scaleFactor: sf, recomputeScaleFactor: recompute };
      const r = interpRef(L, { ...o, mode, alignCorners, recompute });
      const x = randomArray(rng, N * C * L);
      tidy(() => {
        const xt = tensor(x, [N, C, L], F64).requiresGrad_();
        const y = antler.interpolate(xt, { ...o, mode, alignCorners });
        const msg = `${mode} L ${L} ${JSON.stringify(o)} alignCorners ${alignCorners}`;
        expect(y.shape).toEqual([N, C, r.out]);
        expectClose(y.dataSync(), applyInterp(x, [N, C, L], r), 1e-14, 1e-14, msg);
        const w = randomArray(rng, N * C * r.out);
        y.backward(tensor(w, y.shape, F64));
        expectClose(xt.grad!.dataSync(), numGrad((v) => dotW(applyInterp(v, [N, C, L], r), w), x, H), 1e-7, 1e-8, msg);
      });
    }
  });

  test("mode 'area': the mean of each adaptive window [floor(jL/out), ceil((j+1)L/out)) (PyTorch's adaptive_avg_pool1d), by size and by scaleFactor, with gradients (float64)", () => {
    for (let trial = 0; trial < 20; trial++) {
      const L = rng.int(1, 12), N = rng.int(1, 2), C = rng.int(1, 3);
      const bySize = trial % 2 === 0;
      const sf = Math.round(rng.uniform(0.3, 3.8) * 100) / 100;
      // A scale factor that would give no output is replaced by 1 (output length L).
      const sfUsed = Math.floor(L * sf) >= 1 ? sf : 1;
      const out = bySize ? rng.int(1, 15) : Math.floor(L * sfUsed);
      const o = bySize ? { size: out } : { scaleFactor: sfUsed };
      const x = randomArray(rng, N * C * L);
      const ref = (v: number[]): number[] => {
        const y: number[] = [];
        for (let nc = 0; nc < N * C; nc++)
          for (let j = 0; j < out; j++) {
            const a = Math.floor((j * L) / out), b = Math.ceil(((j + 1) * L) / out);
            let sum = 0;
            for (let k = a; k < b; k++) sum += v[nc * L + k];
            y.push(sum / (b - a));
          }
        return y;
      };
      tidy(() => {
        const xt = tensor(x, [N, C, L], F64).requiresGrad_();
        const y = antler.interpolate(xt, { ...o, mode: 'area' });
        const msg = `area L ${L} ${JSON.stringify(o)}`;
        expect(y.shape).toEqual([N, C, out]);
        expectClose(y.dataSync(), ref(x), 1e-14, 1e-14, msg);
        const w = randomArray(rng, N * C * out);
        y.backward(tensor(w, y.shape, F64));
        expectClose(xt.grad!.dataSync(), numGrad((v) => dotW(ref(v), w), x, H), 1e-7, 1e-8, msg);
        expectClose(new nn.Upsample({ ...o, mode: 'area' }).forward(xt).dataSync(), ref(x), 1e-14, 1e-14, msg);
      });
    }
    // torch 1.13: F.interpolate(torch.arange(5.).view(1, 1, 5), size=3, mode='area') = [0.5, 2, 3.5].
    tidy(() => expect(Array.from(antler.interpolate(antler.arange(0, 5, 1, F64).reshape([1, 1, 5]), { size: 3, mode: 'area' }).dataSync())).toEqual([0.5, 2, 3.5]));
    tidy(() => expectAntlerError(() => antler.interpolate(antler.zeros([1, 1, 3]), { size: 2, mode: 'area', alignCorners: false }), 'INVALID_ARGUMENT', /alignCorners/));
  });

  test('PyTorch\'s index rules on known cases (torch 1.13 values)', () => {
    tidy(() => {
      const x = tensor([0, 1, 5], [1, 1, 3], F64);
      // scaleFactor 1.3 keeps 3 samples: nearest reads floor(j / 1.3), not j; linear copies (out = in).
      expect(Array.from(antler.interpolate(x, { scaleFactor: 1.3 }).dataSync())).toEqual([0, 0, 1]);
      expect(Array.from(antler.interpolate(x, { scaleFactor: 1.3, mode: 'nearest-exact' }).dataSync())).toEqual([0, 1, 1]);
      expect(Array.from(antler.interpolate(x, { scaleFactor: 1.3, mode: 'linear' }).dataSync())).toEqual([0, 1, 5]);
      const r = antler.arange(0, 4, 1, F64).reshape([1, 1, 4]);
      expectClose(antler.interpolate(r, { scaleFactor: 1.3, mode: 'linear' }).dataSync(), [0, 0.6538461538461537, 1.4230769230769231, 2.1923076923076925, 2.9615384615384617], 1e-12, 1e-12);
      expectClose(antler.interpolate(r, { size: 7, mode: 'linear', alignCorners: true }).dataSync(), [0, 0.5, 1, 1.5, 2, 2.5, 3], 1e-14, 1e-14);
      expect(Array.from(antler.interpolate(r, { scaleFactor: [2] }).dataSync())).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
      // A float64 input's nearest modes compute the source position in double (floorf rounds it to
      // float last): 97 / 3.88 reads sample 25, not 24 (a float scale's product), and (34 + 0.5) / 2.3
      // reads 15, not 14 (torch 1.13).
      const x26 = antler.arange(0, 26, 1, F64).reshape([1, 1, 26]);
      expect(antler.interpolate(x26, { scaleFactor: 3.88 }).dataSync()[97]).toBe(25);
      const x16 = antler.arange(0, 16, 1, F64).reshape([1, 1, 16]);
      expect(antler.interpolate(x16, { scaleFactor: 2.3, mode: 'nearest-exact' }).dataSync()[34]).toBe(15);
      // float32 'linear': a float scale, the source position and weight in double (torch 1.13's
      // weights to the bit): L 10 → 9 reads 4.5000002 at j = 4, weights 0.49999976 and 0.50000024.
      const hot = (i: number) => tensor(Array.from({ length: 10 }, (_, k) => (k === i ? 1 : 0)), [1, 1, 10]);
      expect(antler.interpolate(hot(4), { size: 9, mode: 'linear' }).dataSync()[4]).toBe(0.4999997615814209);
      expect(antler.interpolate(hot(5), { size: 9, mode: 'linear' }).dataSync()[4]).toBe(0.5000002384185791);
      // A float32 input keeps the float arithmetic: 24 and 14 there (torch 1.13 too).
      expect(antler.interpolate(antler.arange(0, 26).reshape([1, 1, 26]), { scaleFactor: 3.88 }).dataSync()[97]).toBe(24);
      expect(antler.interpolate(antler.arange(0, 16).reshape([1, 1, 16]), { scaleFactor: 2.3, mode: 'nearest-exact' }).dataSync()[34]).toBe(14);
    });
  });

  test('float32 follows the float64 reference (nearest exactly), and nn.Upsample forwards to interpolate', () => {
    tidy(() => {
      const x = randomArray(rng, 2 * 3 * 7);
      const x32 = tensor(x, [2, 3, 7]), x64 = tensor(x, [2, 3, 7], F64);
      for (const mode of ['nearest', 'nearest-exact', 'linear'] as const) {
        const o = { size: 16, mode };
        const y32 = antler.interpolate(x32, o), y64 = antler.interpolate(x64, o);
        if (mode === 'linear') expectClose(y32.dataSync(), y64.dataSync(), 1e-5, 1e-6, mode);
        else expectExact(y32.dataSync(), Array.from(y64.dataSync(), Math.fround), mode);
      }
      const up = new nn.Upsample({ scaleFactor: 2.5, mode: 'linear', alignCorners: false });
      expect(String(up)).toBe("Upsample(scaleFactor: 2.5, mode: 'linear', alignCorners: false)");
      expectExact(up.forward(x64).dataSync(), antler.interpolate(x64, { scaleFactor: 2.5, mode: 'linear', alignCorners: false }).dataSync());
      // A one-element list stays a list (PyTorch's (9,)): it fits a 3-D input only.
      expect(String(new nn.Upsample({ size: [9] }))).toBe("Upsample(size: [9], mode: 'nearest')");
      expectExact(new nn.Upsample({ size: [9] }).forward(x64).dataSync(), antler.interpolate(x64, { size: 9 }).dataSync());
    });
  });

  test('errors', () => {
    tidy(() => {
      const x = tensor([1, 2, 3], [1, 1, 3]);
      expectAntlerError(() => antler.interpolate(tensor([1, 2], [1, 2]), { size: 4 }), 'SHAPE_MISMATCH', /\[1, 2\]; expected a 3-D input \[N, C, L\]/);
      expectAntlerError(() => antler.interpolate(tensor([1, 2], [1, 1, 1, 1, 1, 2]), { size: 4 }), 'SHAPE_MISMATCH', /\[1, 1, 1, 1, 1, 2\]; expected a 3-D input/);
      expectAntlerError(() => antler.interpolate(x, { size: 4, scaleFactor: 2 }), 'INVALID_ARGUMENT', /exactly one of size and scaleFactor.*both/);
      expectAntlerError(() => antler.interpolate(x), 'INVALID_ARGUMENT', /neither/);
      expectAntlerError(() => antler.interpolate(x, { size: 4, alignCorners: true }), 'INVALID_ARGUMENT', /alignCorners can only be set with mode 'linear'/);
      expectAntlerError(() => antler.interpolate(x, { size: 4, mode: 'bilinear' as never }), 'INVALID_ARGUMENT', /'bilinear'/);
      expectAntlerError(() => antler.interpolate(x, { size: 0 }), 'INVALID_ARGUMENT', /output length 0/);
      expectAntlerError(() => antler.interpolate(x, { scaleFactor: 0.2 }), 'INVALID_ARGUMENT', /output length 0/);
      expectAntlerError(() => antler.interpolate(x, { scaleFactor: -1 }), 'INVALID_ARGUMENT', /scaleFactor must be > 0/);
      expectAntlerError(() => antler.interpolate(x, { size: [2, 3] }), 'INVALID_ARGUMENT', /one-element list/);
      expectAntlerError(() => antler.interpolate(x, { size: 4, recomputeScaleFactor: true }), 'INVALID_ARGUMENT', /needs scaleFactor/);
      expectAntlerError(() => antler.interpolate(x.cast('int32'), { size: 4 }), 'DTYPE_MISMATCH', /int32/);
      expectAntlerError(() => new nn.Upsample({ mode: 'linear' }), 'INVALID_ARGUMENT', /neither/);
      expectAntlerError(() => new nn.Upsample({ size: 0 }), 'INVALID_ARGUMENT', /size must be an integer >= 1/);
      expectAntlerError(() => new nn.Upsample({ scaleFactor: [0] }), 'INVALID_ARGUMENT', /scaleFactor must be > 0/);
      expectAntlerError(() => new nn.Upsample({ size: [2, 3, 4, 5] }), 'INVALID_ARGUMENT', /size must be/);
    });
  });
});

describe(`alpha and channel-wise dropouts (seed ${SEED})`, () => {
  /** a and the dropped value of PyTorch's alpha_dropout for p. */
  const alphaConsts = (p: number) => {
    const a = 1 / Math.sqrt((ALPHA * ALPHA * p + 1) * (1 - p));
    return { a, kept: (x: number) => a * x + ALPHA * a * p, dropped: -ALPHA * a * (1 - p) };
  };
  function normals(n: number): number[] {
    const out: number[] = [];
    while (out.length < n) {
      const u = 1 - rng.next(), v = rng.next();
      out.push(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
    }
    return out;
  }

  test('alphaDropout: each value kept (a·x + λα·a·p) or dropped (−λα·a·(1 − p)); drop rate, mean 0 and variance 1 within 6 sigma', () => {
    const n = 200000;
    const p = rng.pick([0.1, 0.2, 0.5, 0.7]);
    const x = normals(n);
    const { kept, dropped } = alphaConsts(p);
    tidy(() => {
      const y = Array.from(antler.alphaDropout(tensor(x, [n], F64), p, { seed: rng.int(0, 1e6) }).dataSync());
      let drops = 0;
      y.forEach((v, i) => {
        if (Math.abs(v - dropped) < 1e-12 && Math.abs(v - kept(x[i])) > 1e-12) drops++;
        else if (Math.abs(v - kept(x[i])) > 1e-12) throw new Error(`element ${i}: ${v} is neither kept ${kept(x[i])} nor dropped ${dropped}`);
      });
      expect(Math.abs(drops / n - p)).toBeLessThan(6 * Math.sqrt((p * (1 - p)) / n));
      const mean = y.reduce((s, v) => s + v, 0) / n;
      const m2 = y.reduce((s, v) => s + (v - mean) ** 2, 0) / n, m4 = y.reduce((s, v) => s + (v - mean) ** 4, 0) / n;
      // x's own sample mean and variance differ from 0 and 1 too: both are in the 6-sigma band.
      expect(Math.abs(mean)).toBeLessThan(6 * Math.sqrt(m2 / n));
      expect(Math.abs(m2 - 1)).toBeLessThan(6 * Math.sqrt((m4 - m2 * m2) / n));
    });
  });

  test('featureAlphaDropout drops whole channels of [N, C, L] (and [N, C]); dropout1d zeroes whole channels and scales by 1/(1 − p)', () => {
    const p = 0.4;
    const { kept, dropped } = alphaConsts(p);
    tidy(() => {
      for (const shape of [[6, 50, 3], [40, 8], [4, 30, 2, 2]]) {
        const x = randomArray(rng, size(shape));
        const y = antler.featureAlphaDropout(tensor(x, shape, F64), p).dataSync();
        const per = size(shape.slice(2));
        let drops = 0;
        for (let c = 0; c < shape[0] * shape[1]; c++) {
          const isDropped = Math.abs(y[c * per] - dropped) < 1e-12 && Math.abs(y[c * per] - kept(x[c * per])) > 1e-12;
          if (isDropped) drops++;
          for (let k = 0; k < per; k++) expect(y[c * per + k]).toBeCloseTo(isDropped ? dropped : kept(x[c * per + k]), 12);
        }
        expect(drops).toBeGreaterThan(0);
        expect(drops).toBeLessThan(shape[0] * shape[1]);
      }
      for (const shape of [[5, 40, 6], [60, 4]]) {
        const x = randomArray(rng, size(shape));
        const y = antler.dropout1d(tensor(x, shape, F64), p).dataSync();
        const L = shape[shape.length - 1];
        let drops = 0;
        for (let c = 0; c < size(shape) / L; c++) {
          const zero = y[c * L] === 0;
          if (zero) drops++;
          for (let k = 0; k < L; k++) expect(y[c * L + k]).toBeCloseTo(zero ? 0 : x[c * L + k] / (1 - p), 12);
        }
        const C = size(shape) / L;
        expect(Math.abs(drops / C - p)).toBeLessThan(6 * Math.sqrt((p * (1 - p)) / C));
      }
    });
  });

  test('gradients flow through the kept values (a per kept element, 0 per dropped one)', () => {
    tidy(() => {
      const p = 0.3, { a, dropped } = alphaConsts(p);
      const x = tensor(randomArray(rng, 400), [400], F64).requiresGrad_();
      const y = antler.alphaDropout(x, p, { seed: 5 });
      y.sum().backward();
      const yv = y.dataSync(), g = x.grad!.dataSync();
      yv.forEach((v, i) => expect(g[i]).toBeCloseTo(Math.abs(v - dropped) < 1e-12 ? 0 : a, 12));
    });
  });

  test('seeds replay (the option and antler.setSeed); eval mode, p = 0 pass x through; p = 1 gives zeros', () => {
    tidy(() => {
      const x = tensor(randomArray(rng, 2 * 5 * 4), [2, 5, 4], F64);
      for (const f of [antler.alphaDropout, antler.featureAlphaDropout, antler.dropout1d]) {
        expectExact(f(x, 0.5, { seed: 11 }).dataSync(), f(x, 0.5, { seed: 11 }).dataSync(), f.name);
        antler.setSeed(123);
        const first = f(x, 0.5).dataSync();
        antler.setSeed(123);
        expectExact(f(x, 0.5).dataSync(), first, `${f.name} setSeed`);
        expectExact(f(x, 0.5, { training: false }).dataSync(), x.dataSync(), f.name);
        expectExact(f(x, 0).dataSync(), x.dataSync(), f.name);
        expectExact(f(x, 1).dataSync(), new Array(x.size).fill(0), f.name);
      }
    });
  });

  test("dropout1d's seeded draw is dropout's mask (dropoutMask) of [N, C, 1]: rand(seed) >= p, scaled by 1/(1 − p), as before", () => {
    tidy(() => {
      for (const [shape, noise, dtype] of [[[3, 7, 5], [3, 7, 1], 'float64'], [[6, 4], [6, 1], 'float32']] as const) {
        const p = 0.3, seed = 1000 + Math.floor(rng.next() * 1e6);
        const x = randomArray(rng, size(shape)).map((v) => v + 4); // no zeros: a kept entry is nonzero
        const y = antler.dropout1d(tensor(x, [...shape], { dtype }), p, { seed }).dataSync();
        const u = antler.rand([...noise], { dtype, seed }).dataSync();
        const mask = dropoutMask([...noise], p, { dtype, seed }).dataSync();
        const L = shape[shape.length - 1];
        const s = dtype === 'float32' ? Math.fround(1 / (1 - p)) : 1 / (1 - p);
        const want = x.map((v, i) => (u[Math.floor(i / L)] >= p ? (dtype === 'float32' ? Math.fround(Math.fround(v) * s) : v * s) : 0));
        expectExact(y, want, `dropout1d ${dtype} seed ${seed}`);
        expectExact(y, x.map((v, i) => (dtype === 'float32' ? Math.fround(Math.fround(v) * mask[Math.floor(i / L)]) : v * mask[Math.floor(i / L)])), `dropoutMask ${dtype}`);
      }
    });
  });

  test('keep replays a given 0/1 draw of the noise shape', () => {
    tidy(() => {
      const p = 0.35, { kept, dropped } = alphaConsts(p);
      const x = randomArray(rng, 2 * 3 * 4);
      const keep = Array.from({ length: 6 }, () => (rng.next() < 0.5 ? 1 : 0));
      const xt = tensor(x, [2, 3, 4], F64), kt = tensor(keep, [2, 3, 1], F64);
      const fa = antler.featureAlphaDropout(xt, p, { keep: kt }).dataSync();
      const d1 = antler.dropout1d(xt, p, { keep: kt }).dataSync();
      x.forEach((v, i) => {
        const k = keep[Math.floor(i / 4)];
        expect(fa[i]).toBeCloseTo(k ? kept(v) : dropped, 12);
        expect(d1[i]).toBeCloseTo(k ? v / (1 - p) : 0, 12);
      });
      const full = Array.from({ length: 24 }, () => (rng.next() < 0.5 ? 1 : 0));
      const ad = antler.alphaDropout(xt, p, { keep: tensor(full, [2, 3, 4], F64) }).dataSync();
      x.forEach((v, i) => expect(ad[i]).toBeCloseTo(full[i] ? kept(v) : dropped, 12));
      expectAntlerError(() => antler.dropout1d(xt, p, { keep: tensor(full, [2, 3, 4], F64) }), 'SHAPE_MISMATCH', /keep has shape \[2, 3, 4\]; expected the noise shape \[2, 3, 1\]/);
      expectAntlerError(() => antler.alphaDropout(xt, p, { keep: tensor(full, [2, 3, 4]) }), 'DTYPE_MISMATCH', /keep is float32 and x float64/);
    });
  });

  test('modules: training mode drops, eval mode is the identity; settings print', () => {
    tidy(() => {
      const x = tensor(randomArray(rng, 3 * 6 * 5), [3, 6, 5], F64);
      for (const [m, f] of [[new nn.AlphaDropout(0.25), antler.alphaDropout], [new nn.FeatureAlphaDropout(0.25), antler.featureAlphaDropout], [new nn.Dropout1d(0.25), antler.dropout1d]] as const) {
        antler.setSeed(7);
        const y = m.forward(x).dataSync();
        antler.setSeed(7);
        expectExact(y, f(x, 0.25).dataSync(), m.constructor.name);
        m.eval();
        expectExact(m.forward(x).dataSync(), x.dataSync(), m.constructor.name);
        expect(String(m)).toBe(`${m.constructor.name}(p: 0.25)`);
      }
    });
  });

  test('errors', () => {
    tidy(() => {
      const x = tensor([1, 2, 3, 4], [1, 2, 2]);
      expectAntlerError(() => antler.alphaDropout(x, 1.5), 'INVALID_ARGUMENT', /p must be in \[0, 1\]; got 1.5/);
      expectAntlerError(() => antler.alphaDropout(x, 0.5, { training: 'yes' as never }), 'INVALID_ARGUMENT', /training/);
      expectAntlerError(() => antler.alphaDropout(x.cast('int32'), 0.5), 'DTYPE_MISMATCH', /int32/);
      expectAntlerError(() => antler.featureAlphaDropout(tensor([1, 2], [2]), 0.5), 'SHAPE_MISMATCH', /at least 2 axes/);
      expectAntlerError(() => antler.dropout1d(tensor([1, 2], [2]), 0.5), 'SHAPE_MISMATCH', /\[2\]; expected 2-D \[C, L\] or 3-D \[N, C, L\]/);
      expectAntlerError(() => antler.dropout1d(tensor([1, 2], [1, 1, 1, 2]), 0.5), 'SHAPE_MISMATCH', /expected 2-D/);
      expectAntlerError(() => new nn.Dropout1d(-0.1), 'INVALID_ARGUMENT', /Dropout1d: p must be in \[0, 1\]/);
      expectAntlerError(() => new nn.AlphaDropout(NaN), 'INVALID_ARGUMENT');
    });
  });
});
