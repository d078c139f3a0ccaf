/**
 * The margin and embedding losses (marginRankingLoss, hingeEmbeddingLoss,
 * softMarginLoss, cosineEmbeddingLoss, tripletMarginLoss, multiMarginLoss,
 * multilabelSoftMarginLoss, multilabelMarginLoss and their nn modules)
 * against float64 JavaScript transcriptions of PyTorch's definitions
 * (aten/src/ATen/native/Loss.cpp, LossMultiMargin.cpp,
 * LossMultiLabelMargin.cpp, Distance.cpp's pairwise_distance and
 * torch/nn/functional.py's multilabel_soft_margin_loss): random shapes,
 * values, options and reductions; gradients of every differentiable input
 * against central differences of the reference, with the values redrawn
 * until each hinge's argument is away from its kink; PyTorch's edges (ties,
 * targets outside {−1, 1}, broadcasting, int32 targets); a ranking model
 * that learns; errors; no leaks.
 */
import * as antler from '../../lib';
import { nn, tensor, tidy, type Tensor } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

type Reduction = 'mean' | 'sum' | 'none';
const REDUCTIONS: Reduction[] = ['mean', 'sum', 'none'];
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const reduceRef = (l: number[], r: Reduction) => (r === 'none' ? l : r === 'sum' ? [l.reduce((a, b) => a + b, 0)] : [l.reduce((a, b) => a + b, 0) / l.length]);
const F64 = { dtype: 'float64' as const };
const I32 = { dtype: 'int32' as const };
const relu = (z: number) => Math.max(0, z);
/** log(1 + e^−z) in float64, exact for any z. */
const spNeg = (z: number) => Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z)));

/** The flat index into a tensor of shape `from` (same rank, broadcast) of element i of shape `to`. */
function bIndex(i: number, to: number[], from: number[]): number {
  let idx = 0, stride = 1;
  for (let a = to.length - 1; a >= 0; a--) {
    const c = i % to[a];
    i = Math.floor(i / to[a]);
    if (from[a] !== 1) idx += c * stride;
    stride *= from[a];
  }
  return idx;
}
const broadcastShape = (shapes: number[][]) => shapes[0].map((_, a) => Math.max(...shapes.map((s) => s[a])));

interface Spec {
  values: number[];
  shape: number[];
  /** Check this input's gradient by central differences. */
  grad?: boolean;
  int?: boolean;
}
/** The unreduced loss elements and the hinges' arguments (kept away from 0 for the differences). */
type Ref = (vs: number[][]) => { l: number[]; kinks: number[] };

/**
 * Draws inputs until every kink is at least 0.02 from 0, then checks the
 * loss against the reference under the reduction, and the gradients of the
 * inputs marked `grad` against central differences of the reference.
 */
function checkLoss(what: string, draw: () => Spec[], ref: Ref, fn: (ts: Tensor[]) => Tensor, reduction: Reduction, noneShape: (specs: Spec[]) => number[]): void {
  let specs = draw();
  for (let tries = 0; tries < 200 && ref(specs.map((s) => s.values)).kinks.some((k) => Math.abs(k) < 0.02); tries++) specs = draw();
  const vs = specs.map((s) => s.values);
  const { l, kinks } = ref(vs);
  if (kinks.some((k) => Math.abs(k) < 0.02)) throw new Error(`${what}: no draw away from the kinks`);
  const expected = reduceRef(l, reduction);
  const w = randomArray(rng, expected.length, 0.5, 1.5);
  const scalar = (v: number[][]) => reduceRef(ref(v).l, reduction).reduce((acc, e, k) => acc + w[k] * e, 0);
  tidy(() => {
    const ts = specs.map((s) => (s.int ? tensor(s.values, s.shape, I32) : tensor(s.values, s.shape, F64).requiresGrad_(!!s.grad)));
    const y = fn(ts);
    expect(y.shape).toEqual(reduction === 'none' ? noneShape(specs) : []);
    expectClose(y.dataSync(), expected, 1e-12, 1e-12, what);
    antler.sum(antler.mul(y, tensor(w, y.shape, F64))).backward();
    specs.forEach((s, k) => {
      if (!s.grad) return;
      // Central differences at h and h/2 combined by Richardson's rule (error O(h⁴)): a plain O(h²)
      // difference missed by 1e-4 where cosineEmbeddingLoss's cos curves on an input of 1.3e-4
      // (seed 81227833, the gradient −0.3314).
      const central = (i: number, h: number) => {
        const plus = vs.map((v) => v.slice()), minus = vs.map((v) => v.slice());
        plus[k][i] += h;
        minus[k][i] -= h;
        return (scalar(plus) - scalar(minus)) / (2 * h);
      };
      // The step shrinks with a small input (down to 1e-7 at |x| ≤ 0.1), still far above rounding.
      const fd = s.values.map((x, i) => {
        const h = 1e-6 * Math.min(1, Math.max(Math.abs(x), 0.1));
        return (4 * central(i, h / 2) - central(i, h)) / 3;
      });
      expectClose(ts[k].grad!.dataSync(), fd, 1e-6, 1e-7, `${what} gradient of input ${k}`);
    });
  });
}

const shapeOf = (lo: number, hi: number) => Array.from({ length: rng.int(lo, hi) }, () => rng.int(1, 4));
const signs = (n: number) => Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1));

describe(`margin and embedding losses (seed ${SEED})`, () => {
  test('marginRankingLoss is max(0, −y·(x1 − x2) + margin) with one-rank broadcasting; gradients to x1, x2 and y', () => {
    for (let trial = 0; trial < 20; trial++) {
      const out = shapeOf(1, 3);
      // Each of the three may have 1 on some axes (torch broadcasts tensors of one rank).
      const sh = () => out.map((d) => (rng.next() < 0.3 ? 1 : d));
      const [s1, s2, sy] = [sh(), sh(), sh()];
      const full = broadcastShape([s1, s2, sy]);
      const margin = rng.pick([0, 0.5, -0.2]), reduction = rng.pick(REDUCTIONS);
      const ref: Ref = ([a, b, y]) => {
        const z = Array.from({ length: size(full) }, (_, i) => -y[bIndex(i, full, sy)] * (a[bIndex(i, full, s1)] - b[bIndex(i, full, s2)]) + margin);
        return { l: z.map(relu), kinks: z };
      };
      const what = JSON.stringify({ s1, s2, sy, margin, reduction, SEED });
      checkLoss(what, () => [
        { values: randomArray(rng, size(s1), -2, 2), shape: s1, grad: true },
        { values: randomArray(rng, size(s2), -2, 2), shape: s2, grad: true },
        { values: signs(size(sy)), shape: sy, grad: true },
      ], ref, ([a, b, y]) => antler.marginRankingLoss(a, b, y, { margin, reduction }), reduction, () => full);
    }
  });

  test('hingeEmbeddingLoss is x where y = 1, max(0, margin − x) where y = −1 and their sum for any other y (torch\'s formula)', () => {
    for (let trial = 0; trial < 20; trial++) {
      const shape = shapeOf(0, 3), n = size(shape);
      const margin = rng.pick([1, 0.5, 2]), reduction = rng.pick(REDUCTIONS);
      const ref: Ref = ([x, y]) => ({
        l: x.map((xi, i) => (y[i] !== 1 ? relu(margin - xi) : 0) + (y[i] !== -1 ? xi : 0)),
        kinks: x.filter((_, i) => y[i] !== 1).map((xi) => margin - xi),
      });
      checkLoss(JSON.stringify({ shape, margin, reduction, SEED }), () => [
        { values: randomArray(rng, n, -1, 3), shape, grad: true },
        { values: Array.from({ length: n }, () => rng.pick([1, -1, 1, -1, 0, 0.5, 2])), shape },
      ], ref, ([x, y]) => antler.hingeEmbeddingLoss(x, y, { margin, reduction }), reduction, () => shape);
    }
  });

  test('softMarginLoss is log(1 + exp(−y·x)); gradients to x and y; stable where PyTorch\'s float32 overflows', () => {
    for (let trial = 0; trial < 20; trial++) {
      const shape = shapeOf(0, 3), n = size(shape), reduction = rng.pick(REDUCTIONS);
      const ref: Ref = ([x, y]) => ({ l: x.map((xi, i) => Math.log1p(Math.exp(-y[i] * xi))), kinks: [] });
      checkLoss(JSON.stringify({ shape, reduction, SEED }), () => [
        { values: randomArray(rng, n, -4, 4), shape, grad: true },
        { values: Array.from({ length: n }, () => rng.pick([1, -1, 0.5])), shape, grad: true },
      ], ref, ([x, y]) => antler.softMarginLoss(x, y, { reduction }), reduction, () => shape);
    }
    tidy(() => {
      // −y·x = 200: log(1 + e^200) = 200 (PyTorch's float32 log1p(exp(200)) is ∞); the gradient −y·σ(−y·x) = 1.
      const x = tensor([200, -200, 0], [3]).requiresGrad_(true);
      const l = antler.softMarginLoss(x, tensor([-1, -1, 1], [3]), { reduction: 'none' });
      expectClose(l.dataSync(), [200, 0, Math.LN2], 1e-6, 1e-7);
      antler.sum(l).backward();
      expectClose(x.grad!.dataSync(), [1, 0, -0.5], 1e-6, 1e-7);
    });
  });

  test('cosineEmbeddingLoss is 1 − cos where y = 1, max(0, cos − margin) where y = −1, 0 otherwise; eps 1e-12 on the squared norms; [N, D] and [D]', () => {
    for (let trial = 0; trial < 20; trial++) {
      const batched = rng.next() < 0.7, N = rng.int(1, 4), D = rng.int(1, 5);
      const shape = batched ? [N, D] : [D], ys = batched ? [N] : [];
      const margin = rng.pick([0, 0.3, -0.4]), reduction = rng.pick(REDUCTIONS);
      const ref: Ref = ([a, b, y]) => {
        const l: number[] = [], kinks: number[] = [];
        for (let r = 0; r < size(ys); r++) {
          let dot = 0, m1 = 1e-12, m2 = 1e-12;
          for (let d = 0; d < D; d++) {
            dot += a[r * D + d] * b[r * D + d];
            m1 += a[r * D + d] ** 2;
            m2 += b[r * D + d] ** 2;
          }
          const cos = dot / Math.sqrt(m1 * m2);
          l.push(y[r] === 1 ? 1 - cos : y[r] === -1 ? relu(cos - margin) : 0);
          if (y[r] === -1) kinks.push(cos - margin);
        }
        return { l, kinks };
      };
      checkLoss(JSON.stringify({ shape, margin, reduction, SEED }), () => [
        { values: randomArray(rng, size(shape), -1, 1), shape, grad: true },
        { values: randomArray(rng, size(shape), -1, 1), shape, grad: true },
        { values: Array.from({ length: size(ys) }, () => rng.pick([1, -1, 1, -1, 0])), shape: ys },
      ], ref, ([a, b, y]) => antler.cosineEmbeddingLoss(a, b, y, { margin, reduction }), reduction, () => ys);
    }
    // A zero vector: cos is 0 / √(1e-12 · (2 + 1e-12)) = 0 (torch's EPSILON), not NaN, and its gradient
    // −b / √(m1·m2) is large but finite (PyTorch 1.13: −7.0711e+05 each).
    tidy(() => {
      const a = tensor([0, 0, 1, 2], [2, 2], F64).requiresGrad_(true);
      const l = antler.cosineEmbeddingLoss(a, tensor([1, 1, 2, 4], [2, 2], F64), tensor([1, -1], [2], F64), { reduction: 'none' });
      expectClose(l.dataSync(), [1, 1], 1e-9, 1e-9);
      antler.sum(l).backward();
      const g = -1 / Math.sqrt(1e-12 * (2 + 1e-12));
      expectClose(a.grad!.dataSync().slice(0, 2), [g, g], 1e-9, 0);
    });
  });

  test('tripletMarginLoss is max(0, ‖a − p + eps‖_p − ‖a − n + eps‖_p + margin), swap taking min with ‖p − n + eps‖_p; gradients to all three', () => {
    for (let trial = 0; trial < 24; trial++) {
      const batched = rng.next() < 0.7, N = rng.int(1, 4), D = rng.int(1, 5);
      const full = batched ? [N, D] : [D];
      // In a batch, one of the three may be [1, D] (broadcast, PyTorch's rule).
      const shapes = [full, full, full].map((s) => (batched && rng.next() < 0.2 ? [1, D] : s));
      const margin = rng.pick([1, 0.5, 0.2]), p = rng.pick([2, 1, 3, 1.5, Infinity]), eps = rng.pick([1e-6, 0.01, 0]), swap = rng.next() < 0.5;
      const reduction = rng.pick(REDUCTIONS);
      const rows = batched ? Math.max(...shapes.map((s) => s[0])) : 1;
      const ref: Ref = ([a, pos, ng]) => {
        const at = (v: number[], s: number[], r: number, d: number) => v[s.length === 2 && s[0] === 1 ? d : r * D + d];
        const dist = (u: number[], su: number[], v: number[], sv: number[], r: number) => {
          const e = Array.from({ length: D }, (_, d) => Math.abs(at(u, su, r, d) - at(v, sv, r, d) + eps));
          return p === Infinity ? Math.max(...e) : e.reduce((acc, x) => acc + x ** p, 0) ** (1 / p);
        };
        const l: number[] = [], kinks: number[] = [];
        for (let r = 0; r < rows; r++) {
          const dp = dist(a, shapes[0], pos, shapes[1], r), dn = dist(a, shapes[0], ng, shapes[2], r), ds = dist(pos, shapes[1], ng, shapes[2], r);
          const neg = swap ? Math.min(dn, ds) : dn;
          l.push(relu(dp - neg + margin));
          kinks.push(dp - neg + margin);
          if (swap) kinks.push(dn - ds);
        }
        return { l, kinks };
      };
      // Differences of at least 0.05 per coordinate keep |·| and the ∞-norm's max away from their kinks.
      const draw = (): Spec[] => {
        const specs = shapes.map((s) => ({ values: randomArray(rng, size(s), -1.5, 1.5), shape: s, grad: true }));
        return specs;
      };
      const what = JSON.stringify({ shapes, margin, p, eps, swap, reduction, SEED });
      checkLoss(what, draw, (vs) => {
        const r = ref(vs);
        // The coordinate differences' kinks (|·| at 0) and the ∞-norm's ties.
        const kinks = [...r.kinks];
        const pairs: [number, number][] = [[0, 1], [0, 2], [1, 2]];
        for (let row = 0; row < rows; row++)
          for (const [i, j] of pairs) {
            const e = Array.from({ length: D }, (_, d) => vs[i][shapes[i].length === 2 && shapes[i][0] === 1 ? d : row * D + d] - vs[j][shapes[j].length === 2 && shapes[j][0] === 1 ? d : row * D + d] + eps);
            kinks.push(...e.map((x) => x * 5));
            if (p === Infinity) {
              const m = e.map(Math.abs).sort((x, y) => y - x);
              if (m.length > 1) kinks.push((m[0] - m[1]) * 5);
            }
          }
        return { l: r.l, kinks };
      }, ([a, b, c]) => antler.tripletMarginLoss(a, b, c, { margin, p, eps, swap, reduction }), reduction, () => (batched ? [rows] : []));
    }
  });

  test('tripletMarginLoss defaults: margin 1, p 2, eps 1e-6, no swap (torch.nn.functional.triplet_margin_loss\'s), against the float64 formula', () => {
    const N = rng.int(2, 5), D = rng.int(2, 6);
    const a = randomArray(rng, N * D, -1.5, 1.5);
    // Positive and negative within 0.3 of the anchor per coordinate: every loss is above 0 (no clamp).
    const pos = a.map((v) => v + rng.uniform(-0.3, 0.3)), ng = a.map((v) => v + rng.uniform(-0.3, 0.3));
    const dist = (u: number[], v: number[], r: number) => Math.sqrt(Array.from({ length: D }, (_, d) => (u[r * D + d] - v[r * D + d] + 1e-6) ** 2).reduce((x, y) => x + y, 0));
    const want = Array.from({ length: N }, (_, r) => relu(dist(a, pos, r) - dist(a, ng, r) + 1));
    tidy(() => {
      const got = antler.tripletMarginLoss(tensor(a, [N, D], F64), tensor(pos, [N, D], F64), tensor(ng, [N, D], F64), { reduction: 'none' });
      expectClose(got.dataSync(), want, 1e-13, 1e-14, `defaults (seed ${SEED})`);
      const mean = antler.tripletMarginLoss(tensor(a, [N, D], F64), tensor(pos, [N, D], F64), tensor(ng, [N, D], F64));
      expectClose(mean.dataSync(), [want.reduce((x, y) => x + y, 0) / N], 1e-13, 1e-14, `default reduction mean (seed ${SEED})`);
    });
  });

  test('multiMarginLoss is Σ_{i≠y} max(0, margin − x[y] + x[i])^p · weight[y] / C over [N, C] or [C]; gradients to x', () => {
    for (let trial = 0; trial < 24; trial++) {
      const batched = rng.next() < 0.7, N = rng.int(1, 4), C = rng.int(1, 5);
      const shape = batched ? [N, C] : [C];
      const ys = batched ? [N] : rng.pick([[], [1]]);
      const p = rng.pick([1, 2]), margin = rng.pick([1, 0.5, -0.3]), weighted = rng.next() < 0.5, reduction = rng.pick(REDUCTIONS);
      const weight = randomArray(rng, C, 0.2, 2);
      const rows = batched ? N : 1;
      const ref: Ref = ([x, y]) => {
        const l: number[] = [], kinks: number[] = [];
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let i = 0; i < C; i++) {
            if (i === y[r]) continue;
            const z = margin - x[r * C + y[r]] + x[r * C + i];
            kinks.push(z);
            if (z > 0) s += (p === 1 ? z : z * z) * (weighted ? weight[y[r]] : 1);
          }
          l.push(s / C);
        }
        return { l, kinks };
      };
      checkLoss(JSON.stringify({ shape, ys, p, margin, weighted, reduction, SEED }), () => [
        { values: randomArray(rng, size(shape), -1.5, 1.5), shape, grad: true },
        { values: Array.from({ length: rows }, () => rng.int(0, C - 1)), shape: ys, int: true },
      ], ref, ([x, y]) => antler.multiMarginLoss(x, y, { p, margin, reduction, weight: weighted ? tensor(weight, [C], F64) : undefined }), reduction, () => ys);
    }
  });

  test('multilabelSoftMarginLoss is −Σ_c w_c (y log σ(x) + (1 − y) log σ(−x)) / C per sample; gradients to x and y', () => {
    for (let trial = 0; trial < 20; trial++) {
      const shape = shapeOf(1, 3), n = size(shape), C = shape[shape.length - 1], reduction = rng.pick(REDUCTIONS);
      const weighted = rng.next() < 0.5;
      const weight = randomArray(rng, C, 0.2, 2);
      const ref: Ref = ([x, t]) => {
        const l: number[] = [];
        for (let r = 0; r < n / C; r++) {
          let s = 0;
          for (let c = 0; c < C; c++) {
            const xi = x[r * C + c], ti = t[r * C + c];
            s += (ti * spNeg(xi) + (1 - ti) * spNeg(-xi)) * (weighted ? weight[c] : 1);
          }
          l.push(s / C);
        }
        return { l, kinks: [] };
      };
      checkLoss(JSON.stringify({ shape, weighted, reduction, SEED }), () => [
        { values: randomArray(rng, n, -4, 4), shape, grad: true },
        { values: Array.from({ length: n }, () => rng.pick([0, 1, 0.3])), shape, grad: true },
      ], ref, ([x, y]) => antler.multilabelSoftMarginLoss(x, y, { reduction, weight: weighted ? tensor(weight, [C], F64) : undefined }), reduction, () => shape.slice(0, -1));
    }
  });

  test('multilabelMarginLoss is Σ_j Σ_{i ∉ targets} max(0, 1 − x[y_j] + x[i]) / C with y_j listed up to the first −1 (a repeat counts twice); gradients to x', () => {
    for (let trial = 0; trial < 24; trial++) {
      const batched = rng.next() < 0.7, N = rng.int(1, 4), C = rng.int(1, 5);
      const shape = batched ? [N, C] : [C], rows = batched ? N : 1, reduction = rng.pick(REDUCTIONS);
      // Each row: a few classes (a repeat now and then), then −1 and anything after it (ignored).
      const labels: number[] = [];
      for (let r = 0; r < rows; r++) {
        const k = rng.int(0, C);
        const row = Array.from({ length: C }, (_, j) => (j < k ? rng.int(0, C - 1) : j === k ? -1 : rng.int(-1, C - 1)));
        labels.push(...row);
      }
      const ref: Ref = ([x, y]) => {
        const l: number[] = [], kinks: number[] = [];
        for (let r = 0; r < rows; r++) {
          const listed: number[] = [];
          for (let j = 0; j < C && y[r * C + j] !== -1; j++) listed.push(y[r * C + j]);
          let s = 0;
          for (const j of listed)
            for (let i = 0; i < C; i++) {
              if (listed.includes(i)) continue;
              const z = 1 - x[r * C + j] + x[r * C + i];
              kinks.push(z);
              if (z > 0) s += z;
            }
          l.push(s / C);
        }
        return { l, kinks };
      };
      checkLoss(JSON.stringify({ shape, labels, reduction, SEED }), () => [
        { values: randomArray(rng, size(shape), -1.5, 1.5), shape, grad: true },
        { values: labels, shape, int: true },
      ], ref, ([x, y]) => antler.multilabelMarginLoss(x, y, { reduction }), reduction, () => (batched ? [N] : []));
    }
    // PyTorch's documented example: 0.85.
    tidy(() => expectClose([antler.multilabelMarginLoss(tensor([0.1, 0.2, 0.4, 0.8], [1, 4], F64), tensor([3, 0, -1, 1], [1, 4], I32)).item()], [0.85], 1e-15, 0));
  });

  test('multilabelMarginLoss over many classes with a few listed takes memory of N·K·C (K the longest list), not N·C·C', () => {
    const N = 4, C = 300;
    const xs = randomArray(rng, N * C, -1, 1);
    const lists = Array.from({ length: N }, (_, n) => (n === 0 ? [] : Array.from({ length: rng.int(1, 3) }, () => rng.int(0, C - 1))));
    const labels = lists.flatMap((l) => [...l, ...new Array<number>(C - l.length).fill(-1)]);
    // The reference and its gradient, in float64.
    let expected = 0;
    const g = new Array<number>(N * C).fill(0);
    lists.forEach((l, n) => {
      for (const j of l)
        for (let i = 0; i < C; i++) {
          if (l.includes(i)) continue;
          const z = 1 - xs[n * C + j] + xs[n * C + i];
          if (z > 0) {
            expected += z / C / N;
            g[n * C + j] -= 1 / C / N;
            g[n * C + i] += 1 / C / N;
          }
        }
    });
    const x = tensor(xs, [N, C]).requiresGrad_(true);
    const y = tensor(labels, [N, C], I32);
    try {
      const info = antler.profile(() => tidy(() => {
        const l = antler.multilabelMarginLoss(x, y);
        l.backward();
        return l.item();
      }));
      expectClose([info.result], [expected], 1e-5, 1e-6);
      expectClose(x.grad!.dataSync(), g, 1e-5, 1e-6);
      // One [N, C, C] float32 intermediate alone would be N·C·C·4 = 1.44 MB; the whole loss and its backward stay far below.
      expect(info.peakBytes).toBeLessThan((N * C * C * 4) / 8);
    } finally {
      x.dispose();
      y.dispose();
    }
  });

  test("PyTorch's edges: a tie passes clamp_min's gradient; multiMarginLoss' strict > 0 does not; int32 targets equal float ones", () => {
    tidy(() => {
      // margin 0, x1 = x2: −y·0 + 0 = 0, clamp_min's gradient 1 there (torch's), so ∂/∂x1 = −y / N.
      const x1 = tensor([0.5, -1], [2], F64).requiresGrad_(true), x2 = tensor([0.5, -1], [2], F64).requiresGrad_(true);
      antler.marginRankingLoss(x1, x2, tensor([1, -1], [2], F64)).backward();
      expectClose(x1.grad!.dataSync(), [-0.5, 0.5], 0, 0);
      expectClose(x2.grad!.dataSync(), [0.5, -0.5], 0, 0);
      // hinge at margin − x = 0 (x = margin, y = −1): gradient −1 (clamp_min).
      const h = tensor([1], [1], F64).requiresGrad_(true);
      antler.hingeEmbeddingLoss(h, tensor([-1], [1], F64)).backward();
      expectClose(h.grad!.dataSync(), [-1], 0, 0);
      // multi-margin with x[y] − x[i] = margin exactly: z = 0 counts nothing (torch's z > 0).
      const m = tensor([2, 1], [1, 2], F64).requiresGrad_(true);
      const l = antler.multiMarginLoss(m, tensor([0], [1], I32));
      expect(l.item()).toBe(0);
      l.backward();
      expectClose(m.grad!.dataSync(), [0, 0], 0, 0);
      // A weight that requires grad gets ∂/∂w[y] = Σ_{i≠y} hinge_i / C (PyTorch's refuses one): y = 1, z = 1 − 0.5 + [0.1, 0.3] → 1.4 / 3.
      const mw = tensor([1, 2, 3], [3], F64).requiresGrad_(true);
      antler.multiMarginLoss(tensor([0.1, 0.5, 0.3], [1, 3], F64), tensor([1], [1], I32), { weight: mw }).backward();
      expectClose(mw.grad!.dataSync(), [0, 1.4 / 3, 0], 1e-15, 0);
      // int32 targets are the float ones.
      const a = tensor([0.3, -0.2, 1], [3], F64), b = tensor([0.1, 0.4, -1], [3], F64);
      expect(antler.marginRankingLoss(a, b, tensor([1, -1, 1], [3], I32), { margin: 0.2 }).item()).toBe(antler.marginRankingLoss(a, b, tensor([1, -1, 1], [3], F64), { margin: 0.2 }).item());
      expect(antler.hingeEmbeddingLoss(a, tensor([1, -1, 0], [3], I32)).item()).toBe(antler.hingeEmbeddingLoss(a, tensor([1, -1, 0], [3], F64)).item());
      expect(antler.softMarginLoss(a, tensor([1, -1, 1], [3], I32)).item()).toBe(antler.softMarginLoss(a, tensor([1, -1, 1], [3], F64)).item());
      const c = tensor([1, 2, 3, 4, 5, -6], [2, 3], F64);
      expect(antler.cosineEmbeddingLoss(c, antler.neg(c), tensor([1, -1], [2], I32)).item()).toBe(antler.cosineEmbeddingLoss(c, antler.neg(c), tensor([1, -1], [2], F64)).item());
      expect(antler.multilabelSoftMarginLoss(c, tensor([1, 0, 1, 0, 0, 1], [2, 3], I32)).item()).toBe(antler.multilabelSoftMarginLoss(c, tensor([1, 0, 1, 0, 0, 1], [2, 3], F64)).item());
    });
  });

  test('the modules are the functions with their options; a class weight is a buffer', () => {
    tidy(() => {
      const x = tensor(randomArray(rng, 12), [4, 3], F64), z = tensor(randomArray(rng, 12), [4, 3], F64), w = tensor(randomArray(rng, 12), [4, 3], F64);
      const y4 = tensor([1, -1, -1, 1], [4], F64), y12 = tensor(signs(12), [4, 3], F64), labels = tensor([0, 2, 1, 2], [4], I32);
      const same = (a: Tensor, b: Tensor) => expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
      same(new nn.MarginRankingLoss({ margin: 0.3, reduction: 'sum' }).forward(x, z, y12), antler.marginRankingLoss(x, z, y12, { margin: 0.3, reduction: 'sum' }));
      same(new nn.HingeEmbeddingLoss({ margin: 0.5 }).forward(x, y12), antler.hingeEmbeddingLoss(x, y12, { margin: 0.5 }));
      same(new nn.SoftMarginLoss({ reduction: 'none' }).forward(x, y12), antler.softMarginLoss(x, y12, { reduction: 'none' }));
      same(new nn.CosineEmbeddingLoss({ margin: 0.1 }).forward(x, z, y4), antler.cosineEmbeddingLoss(x, z, y4, { margin: 0.1 }));
      same(new nn.TripletMarginLoss({ p: 1, swap: true }).forward(x, z, w), antler.tripletMarginLoss(x, z, w, { p: 1, swap: true }));
      same(new nn.MultiLabelSoftMarginLoss().forward(x, antler.abs(y12)), antler.multilabelSoftMarginLoss(x, antler.abs(y12)));
      const lists = tensor([2, 0, -1, 1, -1, 0, 0, -1, 2, 1, 2, 0], [4, 3], I32);
      same(new nn.MultiLabelMarginLoss({ reduction: 'none' }).forward(x, lists), antler.multilabelMarginLoss(x, lists, { reduction: 'none' }));
      const cw = tensor([1, 2, 0.5], [3], F64);
      const mm = new nn.MultiMarginLoss({ p: 2, weight: cw });
      try {
        expect(Object.keys(mm.stateDict())).toEqual(['weight']);
        same(mm.forward(x, labels), antler.multiMarginLoss(x, labels, { p: 2, weight: cw }));
      } finally {
        mm.dispose();
      }
      expect(cw.isDisposed).toBe(false);
    });
  });

  test('a scorer trained with marginRankingLoss on pairs learns the ranking; a triplet-trained embedding separates two classes', () => {
    antler.setSeed(rng.u32());
    const D = 4;
    const truth = randomArray(rng, D, -1, 1);
    const score = (v: number[]) => v.reduce((acc, x, i) => acc + x * truth[i], 0);
    // Zero weights: every score ties, so the untrained loss is the margin (0.5) on every pair, whatever the draw
    // (a random start could already rank well and make "the loss falls" a coin toss: seed 3802750652).
    const scorer = new nn.Linear(D, 1, F64);
    tidy(() => scorer.parameters().forEach((p) => p.assign(antler.zerosLike(p))));
    const opt = new antler.optim.Adam(scorer.parameters(), { lr: 0.05 });
    const crit = new nn.MarginRankingLoss({ margin: 0.5 });
    const losses: number[] = [];
    try {
      for (let step = 0; step < 150; step++)
        tidy(() => {
          const a = randomArray(rng, 32 * D), b = randomArray(rng, 32 * D);
          const y = Array.from({ length: 32 }, (_, r) => (score(a.slice(r * D, r * D + D)) > score(b.slice(r * D, r * D + D)) ? 1 : -1));
          const sa = antler.reshape(scorer.forward(tensor(a, [32, D], F64)), [32]), sb = antler.reshape(scorer.forward(tensor(b, [32, D], F64)), [32]);
          const loss = crit.forward(sa, sb, tensor(y, [32], F64));
          losses.push(loss.item());
          opt.zeroGrad();
          loss.backward();
          opt.step();
        });
      // Over 300 seeds the last ten steps' mean was 0.028–0.065.
      expect(losses[0]).toBe(0.5);
      const last = losses.slice(-10).reduce((p, q) => p + q) / 10;
      expect(last).toBeLessThan(0.5 * 0.3);
      // Pairs ranked as the truth ranks them. The trained scorer misranks 1.2% of pairs (median) and at most 3.0%
      // over 300 seeds; an untrained one half. Out of 200 pairs "> 180 right" failed a 3% scorer with odds 3e-6
      // (binomial), so 2,000 pairs, > 1,800 right: odds 4e-48 at 3%, 6e-20 at 5%.
      const right = tidy(() => {
        const a = randomArray(rng, 2000 * D), b = randomArray(rng, 2000 * D);
        const sa = scorer.forward(tensor(a, [2000, D], F64)).dataSync(), sb = scorer.forward(tensor(b, [2000, D], F64)).dataSync();
        let ok = 0;
        for (let r = 0; r < 2000; r++) if (sa[r] > sb[r] === score(a.slice(r * D, r * D + D)) > score(b.slice(r * D, r * D + D))) ok++;
        return ok;
      });
      expect(right).toBeGreaterThan(1800);
    } finally {
      opt.dispose();
      scorer.dispose();
    }
    // Two classes told apart by the sign of a feature hidden among noise; a linear embedding trained with triplets.
    // Zero weights: anchor, positive and negative embed alike, so the untrained loss is the margin (1).
    const embed = new nn.Linear(3, 2, F64);
    tidy(() => embed.parameters().forEach((p) => p.assign(antler.zerosLike(p))));
    const opt2 = new antler.optim.Adam(embed.parameters(), { lr: 0.05 });
    const triplet = new nn.TripletMarginLoss({ margin: 1 });
    const point = (cls: number) => [cls ? 1 + rng.next() : -1 - rng.next(), rng.uniform(-2, 2), rng.uniform(-2, 2)];
    const tl: number[] = [];
    try {
      for (let step = 0; step < 150; step++)
        tidy(() => {
          const cls = Array.from({ length: 16 }, () => rng.int(0, 1));
          const A = cls.flatMap((c) => point(c)), P = cls.flatMap((c) => point(c)), Nn = cls.flatMap((c) => point(1 - c));
          const f = (v: number[]) => embed.forward(tensor(v, [16, 3], F64));
          const loss = triplet.forward(f(A), f(P), f(Nn));
          tl.push(loss.item());
          opt2.zeroGrad();
          loss.backward();
          opt2.step();
        });
      // Over 300 seeds the last ten steps' mean was at most 0.002.
      expect(tl[0]).toBeCloseTo(1, 5);
      expect(tl.slice(-10).reduce((p, q) => p + q) / 10).toBeLessThan(0.3);
    } finally {
      opt2.dispose();
      embed.dispose();
    }
  });

  test('bad arguments raise AntlerError naming what was passed and what was expected', () => {
    tidy(() => {
      const x = tensor([1, 2, 3, 4, 5, 6], [2, 3], F64), v = tensor([1, -1], [2], F64);
      expectAntlerError(() => antler.marginRankingLoss(x, x, v), 'SHAPE_MISMATCH', /x1 \[2, 3\], x2 \[2, 3\], y \[2\]; expected tensors of one rank/);
      expectAntlerError(() => antler.marginRankingLoss(x, x, tensor([1, 1, 1, 1], [2, 2], F64)), 'SHAPE_MISMATCH', /do not broadcast \(axis 1: 3 and 2\)/);
      expectAntlerError(() => antler.marginRankingLoss(x, tensor([1, 2, 3, 4, 5, 6], [2, 3]), x), 'DTYPE_MISMATCH', /x1 is float64 and x2 float32; expected one dtype/);
      expectAntlerError(() => antler.marginRankingLoss(tensor([1, 2], [2], I32), v, v), 'DTYPE_MISMATCH', /x1 is int32; expected float32 or float64/);
      expectAntlerError(() => antler.marginRankingLoss(v, v, v, { margin: NaN }), 'INVALID_ARGUMENT', /margin must be finite; got NaN/);
      expectAntlerError(() => antler.hingeEmbeddingLoss(x, v), 'SHAPE_MISMATCH', /\[2, 3\].*\[2\]/);
      expectAntlerError(() => antler.hingeEmbeddingLoss(v, v, { reduction: 'batchmean' as never }), 'INVALID_ARGUMENT', /reduction must be 'mean', 'sum' or 'none'/);
      expectAntlerError(() => antler.softMarginLoss(v, 'y' as never), 'INVALID_ARGUMENT', /target must be a Tensor/);
      expectAntlerError(() => antler.cosineEmbeddingLoss(x, x, x), 'SHAPE_MISMATCH', /y has shape \[2, 3\]; expected \[N\]/);
      expectAntlerError(() => antler.cosineEmbeddingLoss(x, x, tensor([1, 1, 1], [3], F64)), 'SHAPE_MISMATCH', /x1 \[2, 3\], x2 \[2, 3\] and y \[3\]; expected x1 and x2 \[N, D\] with y \[N\]/);
      expectAntlerError(() => antler.tripletMarginLoss(x, x, v), 'SHAPE_MISMATCH', /anchor \[2, 3\], positive \[2, 3\], negative \[2\]; expected tensors of one rank/);
      expectAntlerError(() => antler.tripletMarginLoss(x, x, x, { p: 0 }), 'INVALID_ARGUMENT', /p must be a number > 0 \(Infinity allowed\); got 0/);
      expectAntlerError(() => antler.tripletMarginLoss(x, x, x, { swap: 1 } as never), 'INVALID_ARGUMENT', /swap must be a boolean; got 1/);
      expectAntlerError(() => antler.tripletMarginLoss(x, x, x, { eps: -1 }), 'INVALID_ARGUMENT', /eps must be >= 0; got -1/);
      expectAntlerError(() => antler.multiMarginLoss(x, tensor([0, 3], [2], I32)), 'INVALID_ARGUMENT', /target 3 is outside \[0, 3\)/);
      expectAntlerError(() => antler.multiMarginLoss(x, v), 'DTYPE_MISMATCH', /target must be int32 class indices; got float64/);
      expectAntlerError(() => antler.multiMarginLoss(x, tensor([0], [1], I32)), 'SHAPE_MISMATCH', /input \[2, 3\] and target \[1\]; expected input \[N, C\] with target \[N\]/);
      expectAntlerError(() => antler.multiMarginLoss(x, tensor([0, 1], [2], I32), { p: 3 }), 'INVALID_ARGUMENT', /p must be 1 or 2 \(as PyTorch\); got 3/);
      expectAntlerError(() => antler.multiMarginLoss(x, tensor([0, 1], [2], I32), { weight: v }), 'SHAPE_MISMATCH', /weight must be \[C\] = \[3\]/);
      expectAntlerError(() => antler.multilabelSoftMarginLoss(x, x, { weight: v }), 'SHAPE_MISMATCH', /weight has shape \[2\], which does not broadcast to the input's \[2, 3\]/);
      expectAntlerError(() => antler.multilabelSoftMarginLoss(x, x, { margin: 1 } as never), 'INVALID_ARGUMENT', /margin/);
      expectAntlerError(() => antler.multilabelMarginLoss(x, tensor([0, 5, -1, 0, 0, 0], [2, 3], I32)), 'INVALID_ARGUMENT', /target 5 \(sample 0, place 1\) is outside \[0, 3\)/);
      // As PyTorch's (argument #2 'target' is out of range), every entry is checked, those after a row's first −1 too.
      expectAntlerError(() => antler.multilabelMarginLoss(x, tensor([0, -1, -2, 0, 0, 0], [2, 3], I32)), 'INVALID_ARGUMENT', /target -2 \(sample 0, place 2\) is outside \[0, 3\) and is not the padding -1/);
      expectAntlerError(() => antler.multilabelMarginLoss(x, tensor([1, 2, 0, 2, -1, 7], [2, 3], I32)), 'INVALID_ARGUMENT', /target 7 \(sample 1, place 2\) is outside \[0, 3\)/);
      expectAntlerError(() => antler.multilabelMarginLoss(tensor([0.1, 0.2, 0.4], [3], F64), tensor([2, -1, 3], [3], I32)), 'INVALID_ARGUMENT', /target 3 \(sample 0, place 2\)/);
      expectAntlerError(() => antler.multilabelMarginLoss(x, tensor([0, 1], [2], I32)), 'SHAPE_MISMATCH', /input \[2, 3\] and target \[2\]; expected input \[N, C\] or \[C\]/);
      expectAntlerError(() => antler.multilabelMarginLoss(x, x), 'DTYPE_MISMATCH', /target must be int32 class indices \(padded with -1\); got float64/);
      expectAntlerError(() => new nn.MultiMarginLoss({ p: 1.5 }), 'INVALID_ARGUMENT', /MultiMarginLoss: p must be 1 or 2/);
      expectAntlerError(() => new nn.TripletMarginLoss({ p: -1 }), 'INVALID_ARGUMENT', /TripletMarginLoss: p must be a number > 0/);
      expectAntlerError(() => new nn.CosineEmbeddingLoss({ margin: 'x' } as never), 'INVALID_ARGUMENT', /margin/);
      expectAntlerError(() => new nn.MarginRankingLoss({ reduction: 'avg' } as never), 'INVALID_ARGUMENT', /reduction/);
    });
  });
});
