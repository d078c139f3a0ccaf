/**
 * scaledDotProductAttention and nn.MultiheadAttention against float64 loops
 * written from PyTorch's equations (F.scaled_dot_product_attention's math
 * path; F.multi_head_attention_forward: in-projection, bias_k/bias_v, zero
 * attention, boolean and float masks merged additively, heads at n·H + h,
 * out-projection, head-averaged weights), on fresh random shapes; gradients of
 * every input and parameter against central differences of that reference;
 * initialisation, state-dict names, dropout, errors. The op registry
 * (test/opinfo.ts) adds float32 and CUDA checks of the functional form.
 */
import * as antler from '../../lib';
import { nn, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerErrorInTidy, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, randomArray, Rng, splitDropped, tensorCounts, F32_ROUNDING } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };

// ---------------------------------------------------------------- references

/** softmax over one row; all −∞ gives NaN, as PyTorch's. */
function softmaxRow(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/**
 * F.scaled_dot_product_attention for one batch entry: q [L, E], k [S, E],
 * v [S, Ev], mask(i, j) → additive term (already 0/−∞ for a boolean mask).
 */
function sdpaRef(q: number[][], k: number[][], v: number[][], scale: number, mask: (i: number, j: number) => number): { out: number[][]; w: number[][] } {
  const w = q.map((qi, i) => softmaxRow(k.map((kj, j) => qi.reduce((a, x, e) => a + x * kj[e], 0) * scale + mask(i, j))));
  const out = w.map((wi) => v[0].map((_, c) => wi.reduce((a, x, j) => a + x * v[j][c], 0)));
  return { out, w };
}

interface MhaParams {
  wq: number[][]; wk: number[][]; wv: number[][];
  bq: number[] | null; bk: number[] | null; bv: number[] | null;
  wo: number[][]; bo: number[] | null;
  biasK: number[] | null; biasV: number[] | null;
}

const affine = (w: number[][], b: number[] | null, x: number[]) => w.map((row, o) => row.reduce((a, wi, i) => a + wi * x[i], b ? b[o] : 0));

/**
 * F.multi_head_attention_forward in time-major layout: q [L][N][E], k [S][N][kdim],
 * v [S][N][vdim]; am(nh, l, s) and kpm(n, s) additive (null: none), over the
 * keys after bias_k/zero attention were appended (their columns get 0).
 */
function mhaRef(p: MhaParams, H: number, zeroAttn: boolean, q: number[][][], k: number[][][], v: number[][][], S0: number,
  am: ((nh: number, l: number, s: number) => number) | null, kpm: ((n: number, s: number) => number) | null): { out: number[][][]; w: number[][][][] } {
  const L = q.length, N = q[0].length, E = p.wq.length, hd = E / H;
  const Q = q.map((r) => r.map((x) => affine(p.wq, p.bq, x)));
  const K = k.map((r) => r.map((x) => affine(p.wk, p.bk, x)));
  const V = v.map((r) => r.map((x) => affine(p.wv, p.bv, x)));
  if (p.biasK && p.biasV) {
    K.push(Array.from({ length: N }, () => p.biasK!.slice()));
    V.push(Array.from({ length: N }, () => p.biasV!.slice()));
  }
  if (zeroAttn) {
    K.push(Array.from({ length: N }, () => new Array<number>(E).fill(0)));
    V.push(Array.from({ length: N }, () => new Array<number>(E).fill(0)));
  }
  const S = K.length;
  const ctx = Array.from({ length: L }, () => Array.from({ length: N }, () => new Array<number>(E).fill(0)));
  const w = Array.from({ length: N }, () => Array.from({ length: H }, () => [] as number[][]));
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++) {
      const sl = (x: number[]) => x.slice(h * hd, (h + 1) * hd);
      const r = sdpaRef(Q.map((row) => sl(row[n])), K.map((row) => sl(row[n])), V.map((row) => sl(row[n])), 1 / Math.sqrt(hd), (l, s) =>
        s >= S0 ? 0 : (am ? am(n * H + h, l, s) : 0) + (kpm ? kpm(n, s) : 0));
      w[n][h] = r.w;
      for (let l = 0; l < L; l++) for (let j = 0; j < hd; j++) ctx[l][n][h * hd + j] = r.out[l][j];
    }
  void S;
  return { out: ctx.map((r) => r.map((x) => affine(p.wo, p.bo, x))), w };
}

// ---------------------------------------------------------------- helpers

const rows = (flat: ArrayLike<number>, shape: number[]): number[][] => {
  const [a, b] = shape;
  return Array.from({ length: a }, (_, i) => Array.from({ length: b }, (_, j) => flat[i * b + j]));
};
const cube = (flat: ArrayLike<number>, shape: number[]): number[][][] => {
  const [a, b, c] = shape;
  return Array.from({ length: a }, (_, i) => Array.from({ length: b }, (_, j) => Array.from({ length: c }, (_, l) => flat[(i * b + j) * c + l])));
};

function paramsOf(m: nn.MultiheadAttention): MhaParams {
  const arr = (t: Tensor | null) => (t ? Array.from(t.dataSync()) : null);
  const E = m.embedDim;
  let wq: number[][], wk: number[][], wv: number[][];
  if (m.in_proj_weight) {
    const all = rows(m.in_proj_weight.dataSync(), [3 * E, E]);
    [wq, wk, wv] = [all.slice(0, E), all.slice(E, 2 * E), all.slice(2 * E)];
  } else {
    wq = rows(m.q_proj_weight!.dataSync(), [E, E]);
    wk = rows(m.k_proj_weight!.dataSync(), [E, m.kdim]);
    wv = rows(m.v_proj_weight!.dataSync(), [E, m.vdim]);
  }
  const b = arr(m.in_proj_bias);
  return {
    wq, wk, wv,
    bq: b && b.slice(0, E), bk: b && b.slice(E, 2 * E), bv: b && b.slice(2 * E),
    wo: rows(m.out_proj.weight.dataSync(), [E, E]), bo: arr(m.out_proj.bias),
    biasK: arr(m.bias_k), biasV: arr(m.bias_v),
  };
}

/** Fills every parameter with fresh values (the zero biases would hide bias bugs). */
function randomizeParams(m: nn.Module, r: Rng): void {
  for (const p of m.parameters()) tidy(() => void p.assign(tensor(randomArray(r, p.size, -0.8, 0.8), p.shape, F64)));
}

interface Config {
  E: number; H: number; kdim: number; vdim: number; bias: boolean; addBiasKv: boolean; addZeroAttn: boolean; batchFirst: boolean; unbatched: boolean;
  L: number; S: number; N: number; attn: 'none' | 'int2d' | 'float2d' | 'int3d' | 'float3d'; kpm: 'none' | 'int' | 'float'; average: boolean;
}

function randomConfig(r: Rng): Config {
  const H = r.int(1, 3), hd = r.int(1, 3), E = H * hd;
  const other = r.next() < 0.35;
  return {
    E, H, kdim: other ? r.int(1, 5) : E, vdim: other ? r.int(1, 5) : E, bias: r.next() < 0.75, addBiasKv: r.next() < 0.3, addZeroAttn: r.next() < 0.3,
    batchFirst: r.next() < 0.5, unbatched: r.next() < 0.25, L: r.int(1, 4), S: r.int(1, 5), N: r.int(1, 3),
    attn: r.pick(['none', 'int2d', 'float2d', 'int3d', 'float3d'] as const), kpm: r.pick(['none', 'int', 'float'] as const), average: r.next() < 0.6,
  };
}

/** The inputs of a config: values, shapes, masks (int masks never block key 0, so no row is all −∞). */
function drawInputs(c: Config, r: Rng) {
  const N = c.unbatched ? 1 : c.N;
  const shape = (len: number, d: number) => (c.unbatched ? [len, d] : c.batchFirst ? [N, len, d] : [len, N, d]);
  const q = randomArray(r, N * c.L * c.E), k = randomArray(r, N * c.S * c.kdim), v = randomArray(r, N * c.S * c.vdim);
  const amShape = c.attn.endsWith('2d') ? [c.L, c.S] : [N * c.H, c.L, c.S];
  const amVals = c.attn === 'none' ? null : c.attn.startsWith('int') ? Array.from({ length: amShape.reduce((a, b) => a * b, 1) }, (_, i) => (i % c.S !== 0 && r.next() < 0.4 ? 1 : 0)) : randomArray(r, amShape.reduce((a, b) => a * b, 1), -2, 2);
  const kpmShape = c.unbatched ? [c.S] : [N, c.S];
  const kpmVals = c.kpm === 'none' ? null : c.kpm === 'int' ? Array.from({ length: N * c.S }, (_, i) => (i % c.S !== 0 && r.next() < 0.4 ? 1 : 0)) : randomArray(r, N * c.S, -2, 2);
  return { N, shape, q, k, v, amShape, amVals, kpmShape, kpmVals };
}

type Drawn = ReturnType<typeof drawInputs>;

/** The reference's inputs in time-major [len][N][d] from the module's layout. */
function timeMajor(c: Config, d: Drawn, flat: number[], len: number, dim: number): number[][][] {
  if (c.unbatched) return rows(flat, [len, dim]).map((x) => [x]);
  if (!c.batchFirst) return cube(flat, [len, d.N, dim]);
  const b = cube(flat, [d.N, len, dim]);
  return Array.from({ length: len }, (_, t) => Array.from({ length: d.N }, (_, n) => b[n][t]));
}

function referenceOf(c: Config, d: Drawn, p: MhaParams, q: number[], k: number[], v: number[]) {
  const additive = (x: number, int: boolean) => (int ? (x !== 0 ? -Infinity : 0) : x);
  const am = d.amVals && ((nh: number, l: number, s: number) => additive(c.attn.endsWith('2d') ? d.amVals![l * c.S + s] : d.amVals![(nh * c.L + l) * c.S + s], c.attn.startsWith('int')));
  const kpm = d.kpmVals && ((n: number, s: number) => additive(d.kpmVals![n * c.S + s], c.kpm === 'int'));
  return mhaRef(p, c.H, c.addZeroAttn, timeMajor(c, d, q, c.L, c.E), timeMajor(c, d, k, c.S, c.kdim), timeMajor(c, d, v, c.S, c.vdim), c.S, am, kpm);
}

/** The module's output layout, flattened, from the reference's [L][N][E]. */
function flattenOut(c: Config, out: number[][][]): number[] {
  if (c.unbatched) return out.flatMap((r) => r[0]);
  if (!c.batchFirst) return out.flat(2);
  return out[0].flatMap((_, n) => out.flatMap((r) => r[n]));
}

/** Weights as the module returns them: [N, L, S'] averaged or [N, H, L, S'] (unbatched without N). */
function flattenWeights(c: Config, w: number[][][][]): number[] {
  if (!c.average) return w.flat(3);
  return w.flatMap((heads) => heads[0].flatMap((row, l) => row.map((_, s) => heads.reduce((a, hw) => a + hw[l][s], 0) / heads.length)));
}

function makeModule(c: Config): nn.MultiheadAttention {
  return new nn.MultiheadAttention(c.E, c.H, { kdim: c.kdim, vdim: c.vdim, bias: c.bias, addBiasKv: c.addBiasKv, addZeroAttn: c.addZeroAttn, batchFirst: c.batchFirst, dtype: 'float64' });
}

function forwardOptions(c: Config, d: Drawn) {
  return {
    attnMask: d.amVals ? tensor(d.amVals, d.amShape, { dtype: c.attn.startsWith('int') ? 'int32' : 'float64' }) : null,
    keyPaddingMask: d.kpmVals ? tensor(d.kpmVals, d.kpmShape, { dtype: c.kpm === 'int' ? 'int32' : 'float64' }) : null,
    averageAttnWeights: c.average,
  };
}

// ---------------------------------------------------------------- tests

/** One random module and input of configuration c: output and weights (shapes and values) against the float64 reference. */
function checkForward(c: Config): void {
  const m = makeModule(c);
  randomizeParams(m, rng);
  const d = drawInputs(c, rng);
  tidy(() => {
    const [out, w] = m.forward(tensor(d.q, d.shape(c.L, c.E), F64), tensor(d.k, d.shape(c.S, c.kdim), F64), tensor(d.v, d.shape(c.S, c.vdim), F64), forwardOptions(c, d));
    const ref = referenceOf(c, d, paramsOf(m), d.q, d.k, d.v);
    const what = `${JSON.stringify(c)} (seed ${SEED})`;
    expect(out.shape).toEqual(d.shape(c.L, c.E));
    const Sx = c.S + (c.addBiasKv ? 1 : 0) + (c.addZeroAttn ? 1 : 0);
    const wShape = c.average ? [d.N, c.L, Sx] : [d.N, c.H, c.L, Sx];
    expect(w!.shape).toEqual(c.unbatched ? wShape.slice(1) : wShape);
    expectClose(out.dataSync(), flattenOut(c, ref.out), 1e-12, 1e-13, `output ${what}`);
    expectClose(w!.dataSync(), flattenWeights(c, ref.w), 1e-12, 1e-14, `weights ${what}`);
  });
  m.dispose();
}

describe(`nn.MultiheadAttention (seed ${SEED})`, () => {
  test('output and weights equal the float64 reference of PyTorch\'s equations over random configurations (heads, kdim/vdim, biases, bias_k/bias_v, zero attention, batchFirst, unbatched, int and float masks)', () => {
    for (let trial = 0; trial < 24; trial++) {
      const c = randomConfig(rng);
      checkForward(c);
    }
  });

  test('the per-head layouts, with several heads and batch entries every time: a 3-D attnMask and the key padding mask at n·H + h, the heads merged back per batch entry', () => {
    // The random configurations above reach N > 1 and H > 1 with a 3-D mask only in some runs; here every trial does.
    for (let trial = 0; trial < 4; trial++) {
      const H = rng.int(2, 3), hd = rng.int(1, 2);
      const c: Config = {
        ...randomConfig(rng), E: H * hd, H, kdim: H * hd, vdim: H * hd, unbatched: false, N: rng.int(2, 3), L: rng.int(2, 3), S: rng.int(3, 4),
        attn: trial % 2 ? 'float3d' : 'int3d', kpm: trial < 2 ? 'float' : 'int', average: false,
      };
      checkForward(c);
    }
  });

  test('gradients of query, key, value and every parameter equal central differences of the reference', () => {
    for (let trial = 0; trial < 4; trial++) {
      const c = { ...randomConfig(rng), L: 2, S: 3, N: 2 };
      if (trial === 0) Object.assign(c, { kdim: 3, vdim: 2, addBiasKv: true, addZeroAttn: true, bias: true, attn: 'float3d', kpm: 'int' });
      const m = makeModule(c);
      randomizeParams(m, rng);
      const d = drawInputs(c, rng);
      const xs = [tensor(d.q, d.shape(c.L, c.E), { ...F64, requiresGrad: true }), tensor(d.k, d.shape(c.S, c.kdim), { ...F64, requiresGrad: true }), tensor(d.v, d.shape(c.S, c.vdim), { ...F64, requiresGrad: true })];
      const gyShape = d.shape(c.L, c.E);
      const gy = randomArray(rng, gyShape.reduce((a, b) => a * b, 1));
      const wy = randomArray(rng, 200);
      tidy(() => {
        const [out, w] = m.forward(xs[0], xs[1], xs[2], forwardOptions(c, d));
        // The loss reads the weights too, so their gradient path is checked.
        antler.add(antler.sum(antler.mul(out, tensor(gy, gyShape, F64))), antler.sum(antler.mul(w!, tensor(wy.slice(0, w!.size), w!.shape, F64)))).backward();
      });
      const named = m.namedParameters();
      const loss = (q: number[], k: number[], v: number[], p: MhaParams) => {
        const r = referenceOf(c, d, p, q, k, v);
        const o = flattenOut(c, r.out), ww = flattenWeights(c, r.w);
        return o.reduce((a, x, i) => a + x * gy[i], 0) + ww.reduce((a, x, i) => a + x * wy[i], 0);
      };
      const base = paramsOf(m);
      const h = 1e-6;
      const fdInput = (which: 0 | 1 | 2, i: number) => {
        const arrs = [d.q.slice(), d.k.slice(), d.v.slice()];
        arrs[which][i] += h;
        const up = loss(arrs[0], arrs[1], arrs[2], base);
        arrs[which][i] -= 2 * h;
        const down = loss(arrs[0], arrs[1], arrs[2], base);
        return (up - down) / (2 * h);
      };
      xs.forEach((x, which) => {
        const fd = Array.from({ length: x.size }, (_, i) => fdInput(which as 0 | 1 | 2, i));
        expectClose(x.grad!.dataSync(), fd, 1e-6, 1e-8, `d/d${['query', 'key', 'value'][which]} ${JSON.stringify(c)} (seed ${SEED})`);
      });
      for (const [name, p] of named) {
        const values = Array.from(p.dataSync());
        const fd = values.map((_, i) => {
          const at = (delta: number) => {
            const vs = values.slice();
            vs[i] += delta;
            tidy(() => void p.assign(tensor(vs, p.shape, F64)));
            const r = loss(d.q, d.k, d.v, paramsOf(m));
            tidy(() => void p.assign(tensor(values, p.shape, F64)));
            return r;
          };
          return (at(h) - at(-h)) / (2 * h);
        });
        expectClose(p.grad!.dataSync(), fd, 1e-6, 1e-8, `d/d${name} ${JSON.stringify(c)} (seed ${SEED})`);
      }
      antler.dispose(xs);
      m.dispose();
    }
  });

  test("PyTorch's parameter names and shapes, and its initialisation (xavier_uniform_ projections, zero biases, out_proj as nn.Linear)", () => {
    const E = 4 * rng.int(2, 4), H = 4;
    const m = new nn.MultiheadAttention(E, H);
    expect(m.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['in_proj_weight', [3 * E, E]], ['in_proj_bias', [3 * E]], ['out_proj.weight', [E, E]], ['out_proj.bias', [E]]]);
    const w = m.in_proj_weight!.dataSync(), bound = Math.sqrt(6 / (4 * E));
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(bound * F32_ROUNDING);
    expect(Math.max(...Array.from(w, Math.abs))).toBeGreaterThan(0.8 * bound);
    expectExact(m.in_proj_bias!.dataSync(), new Array(3 * E).fill(0), 'in_proj_bias');
    expectExact(m.out_proj.bias!.dataSync(), new Array(E).fill(0), 'out_proj.bias');
    expect(Math.max(...Array.from(m.out_proj.weight.dataSync(), Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(E));
    m.dispose();
    const other = new nn.MultiheadAttention(6, 2, { kdim: 3, vdim: 5, addBiasKv: true, bias: false });
    tidy(() => expect(Object.entries(other.stateDict()).map(([n, t]) => [n, t.shape]).sort()).toEqual([
      ['bias_k', [1, 1, 6]], ['bias_v', [1, 1, 6]], ['k_proj_weight', [6, 3]], ['out_proj.weight', [6, 6]], ['q_proj_weight', [6, 6]], ['v_proj_weight', [6, 5]],
    ]));
    expect(other.in_proj_weight).toBeNull();
    expect(other.in_proj_bias).toBeNull();
    // A state dict round trip gives the same outputs.
    const copy = new nn.MultiheadAttention(6, 2, { kdim: 3, vdim: 5, addBiasKv: true, bias: false });
    tidy(() => copy.loadStateDict(other.stateDict()));
    tidy(() => {
      const q = antler.randn([2, 1, 6]), k = antler.randn([3, 1, 3]), v = antler.randn([3, 1, 5]);
      expectExact(copy.forward(q, k, v)[0].dataSync(), other.forward(q, k, v)[0].dataSync(), 'loaded copy');
    });
    antler.dispose([other, copy]);
  });

  test('averageAttnWeights defaults to true: the weights are [N, L, S], the mean over the heads of the reference’s per-head weights', () => {
    const c: Config = { ...randomConfig(rng), H: rng.int(2, 3), E: 0, kdim: 0, vdim: 0, unbatched: false, N: rng.int(1, 3), L: rng.int(2, 4), S: rng.int(2, 5), average: true };
    c.E = c.kdim = c.vdim = c.H * rng.int(1, 3);
    const m = makeModule(c);
    randomizeParams(m, rng);
    const d = drawInputs(c, rng);
    tidy(() => {
      const { attnMask, keyPaddingMask } = forwardOptions(c, d);
      const [, w] = m.forward(tensor(d.q, d.shape(c.L, c.E), F64), tensor(d.k, d.shape(c.S, c.kdim), F64), tensor(d.v, d.shape(c.S, c.vdim), F64), { attnMask, keyPaddingMask });
      const Sx = c.S + (c.addBiasKv ? 1 : 0) + (c.addZeroAttn ? 1 : 0);
      expect(w!.shape).toEqual([d.N, c.L, Sx]);
      expectClose(w!.dataSync(), flattenWeights(c, referenceOf(c, d, paramsOf(m), d.q, d.k, d.v).w), 1e-12, 1e-14, `default weights ${JSON.stringify(c)} (seed ${SEED})`);
    });
    m.dispose();
  });

  test('dropout p drops about p of the per-head weights and scales the rest by 1/(1 − p) (p ≠ 1/2, so p and 1 − p differ)', () => {
    const p = rng.pick([0.1, 0.25, 0.7, 0.85]);
    const [N, L, S, H] = [4, 20, 25, 2];
    const m = new nn.MultiheadAttention(4, H, { dropout: p, dtype: 'float64' });
    tidy(() => {
      const q = antler.randn([L, N, 4], F64), kv = antler.randn([S, N, 4], F64);
      m.eval();
      const plain = m.forward(q, kv, kv, { averageAttnWeights: false })[1]!.dataSync();
      m.train();
      const dropped = m.forward(q, kv, kv, { averageAttnWeights: false })[1]!.dataSync();
      const n = N * H * L * S;
      expect(dropped.length).toBe(n);
      const { zeros, kept, want } = splitDropped(dropped, plain, p);
      // Softmax weights are never 0 here, so a zero is a dropped entry; 6 standard errors of the binomial fraction.
      expect(Math.abs(zeros / n - p)).toBeLessThan(6 * Math.sqrt((p * (1 - p)) / n));
      expectClose(kept, want, 1e-13, 0, `kept weights scaled by 1/(1 − ${p}) (seed ${SEED})`);
    });
    m.dispose();
  });

  test('initialisation of separate projections and bias_k/bias_v: q/k/v_proj_weight U(±√(6 / (E + kdim or vdim))), bias_k and bias_v N(0, 1/E) (xavier_normal_ on [1, 1, E])', () => {
    // E = 32, kdim = 4, vdim = 160: a bound taken from [E, E] instead would be 0.75× the k bound and 1.7× the v bound.
    const E = 32, kdim = 4, vdim = 160;
    const m = new nn.MultiheadAttention(E, 4, { kdim, vdim, dtype: 'float64' });
    for (const [name, t, inF] of [['q_proj_weight', m.q_proj_weight!, E], ['k_proj_weight', m.k_proj_weight!, kdim], ['v_proj_weight', m.v_proj_weight!, vdim]] as const) {
      const bound = Math.sqrt(6 / (E + inF));
      const top = Math.max(...Array.from(t.dataSync(), Math.abs));
      // >= 128 entries: P(max < 0.8 bound) <= 0.8^128 < 1e-12.
      expect({ name, within: top <= bound * F32_ROUNDING, spread: top > 0.8 * bound }).toEqual({ name, within: true, spread: true });
    }
    m.dispose();
    const big = 256;
    const kv = new nn.MultiheadAttention(big, 1, { addBiasKv: true, dtype: 'float64' });
    const vals = [...Array.from(kv.bias_k!.dataSync()), ...Array.from(kv.bias_v!.dataSync())];
    const n = vals.length, variance = 1 / big;
    const mean = vals.reduce((a, b) => a + b, 0) / n;
    const s2 = vals.reduce((a, b) => a + b * b, 0) / n;
    // Six standard errors of the mean √(σ²/n). n·s2/σ² is exactly χ²ₙ (n = 512), whose upper tail at 6 of its
    // standard errors is 3.3e-8, not the normal 1e-9: judge it by its Wilson–Hilferty z instead (|z| < 6: 1.9e-9).
    expect(Math.abs(mean)).toBeLessThan(6 * Math.sqrt(variance / n));
    const z = ((s2 / variance) ** (1 / 3) - (1 - 2 / (9 * n))) / Math.sqrt(2 / (9 * n));
    expect(Math.abs(z)).toBeLessThan(6);
    kv.dispose();
  });

  test('dropout acts on the weights in training mode only; a seed replays it; needWeights false returns null and the same output', () => {
    const m = new nn.MultiheadAttention(8, 2, { dropout: 0.5, dtype: 'float64' });
    tidy(() => {
      const q = antler.randn([3, 2, 8], F64), kv = antler.randn([5, 2, 8], F64);
      const run = () => m.forward(q, kv, kv);
      antler.setSeed(7);
      const [a, wa] = run();
      antler.setSeed(7);
      const [b] = run();
      expectExact(b.dataSync(), a.dataSync(), 'the same seed');
      // Dropped weights: some exact zeros, the rest scaled by 2, so rows do not sum to 1.
      expect(Array.from(wa!.dataSync()).some((x) => x === 0)).toBe(true);
      m.eval();
      const [e1, we] = run();
      const [e2, none] = m.forward(q, kv, kv, { needWeights: false });
      expect(none).toBeNull();
      expectExact(e2.dataSync(), e1.dataSync(), 'needWeights false');
      const sums = rowsSum(we!.dataSync(), 5);
      expectClose(sums, new Array(sums.length).fill(1), 1e-14, 0, 'eval weights sum to 1');
      expect(Array.from(a.dataSync()).some((x, i) => Math.abs(x - e1.dataSync()[i]) > 1e-9)).toBe(true);
      m.train();
    });
    m.dispose();
  });

  test('a fully padded sequence: 0 output and finite gradients without the weights, NaN with them (both as PyTorch 2.5+)', () => {
    const m = new nn.MultiheadAttention(4, 2, { dtype: 'float64' });
    try {
      tidy(() => {
        const x = antler.randn([3, 2, 4], { ...F64, requiresGrad: true });
        // Sample 0 is all padding, sample 1 has two real steps.
        const keyPaddingMask = tensor([1, 1, 1, 0, 0, 1], [2, 3], { dtype: 'int32' });
        const [y] = m.forward(x, x, x, { keyPaddingMask, needWeights: false });
        const out = y.dataSync(); // [L, N, E]: sample 0 at offsets l·8 + 0..3
        for (let l = 0; l < 3; l++) {
          // out_proj of a zero context is its bias (zeros at initialisation).
          expectClose(Array.from(out.slice(l * 8, l * 8 + 4)), Array.from(m.out_proj.bias!.dataSync()), 0, 1e-15, `padded sample, step ${l}`);
          expect(Array.from(out.slice(l * 8 + 4, l * 8 + 8)).every(Number.isFinite)).toBe(true);
        }
        antler.sum(y).backward();
        for (const [name, p] of [['x', x], ...m.namedParameters()] as [string, Tensor][])
          expect({ name, finite: Array.from(p.grad!.dataSync()).every(Number.isFinite) }).toEqual({ name, finite: true });
        const [yw, w] = m.forward(x, x, x, { keyPaddingMask });
        expect(Number.isNaN(yw.dataSync()[0]) && Number.isNaN(w!.dataSync()[0])).toBe(true);
      });
    } finally {
      m.dispose();
    }
  });

  test('generateSquareSubsequentMask is 0 on and below the diagonal and −∞ above; as attnMask it equals the int32 upper-triangular mask', () => {
    const L = rng.int(2, 6);
    const mask = nn.generateSquareSubsequentMask(L);
    expect(mask.dtype).toBe('float32');
    const vals = mask.dataSync();
    for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) expect(vals[i * L + j]).toBe(j > i ? -Infinity : 0);
    const m = new nn.MultiheadAttention(4, 2);
    tidy(() => {
      const x = antler.randn([L, 2, 4]);
      const ints = tensor(Array.from({ length: L * L }, (_, p) => (p % L > Math.floor(p / L) ? 1 : 0)), [L, L], { dtype: 'int32' });
      const [a, wa] = m.forward(x, x, x, { attnMask: mask, isCausal: true });
      const [b] = m.forward(x, x, x, { attnMask: ints });
      expectExact(a.dataSync(), b.dataSync(), 'float and int causal masks');
      const w = wa!.dataSync();
      for (let n = 0; n < 2; n++) for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) expect(w[(n * L + i) * L + j]).toBe(0);
    });
    antler.dispose([mask, m]);
    const empty = nn.generateSquareSubsequentMask(0); // torch gives an empty [0, 0] mask
    expect(empty.shape).toEqual([0, 0]);
    empty.dispose();
  });

  test('reassigned parameters are checked at forward: a missing projection, a bias of the wrong shape, bias_k without bias_v, a module over a parameter', () => {
    const m = new nn.MultiheadAttention(4, 2, { addBiasKv: true, dtype: 'float64' });
    const sep = new nn.MultiheadAttention(4, 2, { kdim: 3, dtype: 'float64' });
    const q = antler.randn([2, 1, 4], F64), k3 = antler.randn([3, 1, 3], F64), v4 = antler.randn([3, 1, 4], F64);
    const [inW, inB, bv, qW] = [m.in_proj_weight!, m.in_proj_bias!, m.bias_v!, sep.q_proj_weight!];
    m.in_proj_weight = null;
    expectAntlerErrorInTidy(() => m.forward(q, q, q), 'INVALID_ARGUMENT', /MultiheadAttention: parameter 'in_proj_weight' is missing .*\[12, 4\]/);
    m.in_proj_weight = inW;
    const short = nn.parameter(antler.randn([3], F64));
    m.in_proj_bias = short;
    expectAntlerErrorInTidy(() => m.forward(q, q, q), 'SHAPE_MISMATCH', /parameter 'in_proj_bias' has shape \[3\]; expected \[12\]/);
    m.in_proj_bias = inB;
    m.bias_v = null;
    expectAntlerErrorInTidy(() => m.forward(q, q, q), 'INVALID_ARGUMENT', /bias_k and bias_v go together .*bias_k without bias_v/);
    m.bias_v = bv;
    sep.q_proj_weight = null;
    expectAntlerErrorInTidy(() => sep.forward(q, k3, v4), 'INVALID_ARGUMENT', /parameter 'q_proj_weight' is missing/);
    sep.q_proj_weight = qW;
    const lin = new nn.Linear(1, 1);
    expectAntlerErrorInTidy(() => ((m as unknown as Record<string, unknown>).in_proj_bias = lin), 'INVALID_ARGUMENT', /'in_proj_bias' holds a parameter.*got a Linear module/);
    expect(m.in_proj_bias).toBe(inB);
    // Restored, both work again.
    expect(tidy(() => m.forward(q, q, q)[0].shape)).toEqual([2, 1, 4]);
    expect(tidy(() => sep.forward(q, k3, v4)[0].shape)).toEqual([2, 1, 4]);
    expectAntlerErrorInTidy(() => nn.generateSquareSubsequentMask(3, { dtype: 'int32' as never }), 'DTYPE_MISMATCH', /generateSquareSubsequentMask: dtype must be 'float32' or 'float64'/);
    antler.dispose([q, k3, v4, short, lin, m, sep]);
  });

  test('bad arguments throw AntlerError naming what was passed and what was expected; the module still works after', () => {
    expectAntlerErrorInTidy(() => new nn.MultiheadAttention(6, 4), 'INVALID_ARGUMENT', /embedDim must be divisible by numHeads; got embedDim 6 and numHeads 4/);
    expectAntlerErrorInTidy(() => new nn.MultiheadAttention(4, 2, { dropout: 1.5 }), 'INVALID_ARGUMENT', /dropout must be in \[0, 1\]; got 1\.5/);
    expectAntlerErrorInTidy(() => new nn.MultiheadAttention(4, 2, { add_bias_kv: true } as never), 'INVALID_ARGUMENT', /unknown option 'add_bias_kv'/);
    const m = new nn.MultiheadAttention(4, 2, { kdim: 3 });
    tidy(() => {
      const q = antler.randn([2, 3, 4]), k = antler.randn([5, 3, 3]), v = antler.randn([5, 3, 4]);
      expectAntlerErrorInTidy(() => m.forward(q, antler.randn([5, 3, 4]), v), 'SHAPE_MISMATCH', /key has 4 features \(shape \[5, 3, 4\]\); expected 3/);
      expectAntlerErrorInTidy(() => m.forward(q, k, antler.randn([4, 3, 4])), 'SHAPE_MISMATCH', /key has 5 positions and value 4/);
      expectAntlerErrorInTidy(() => m.forward(q, antler.randn([5, 2, 3]), antler.randn([5, 2, 4])), 'SHAPE_MISMATCH', /batch sizes 3, 2 and 2/);
      expectAntlerErrorInTidy(() => m.forward(antler.randn([2, 4]), k, v), 'SHAPE_MISMATCH', /expected batched \(3 axes\)|expected unbatched \(2 axes\)/);
      expectAntlerErrorInTidy(() => m.forward(q, k, v, { attnMask: antler.zeros([2, 4]) }), 'SHAPE_MISMATCH', /attnMask has shape \[2, 4\]; expected \[2, 5\] or \[6, 2, 5\]/);
      expectAntlerErrorInTidy(() => m.forward(q, k, v, { keyPaddingMask: antler.zeros([5, 3], { dtype: 'int32' }) }), 'SHAPE_MISMATCH', /keyPaddingMask has shape \[5, 3\]; expected \[3, 5\]/);
      expectAntlerErrorInTidy(() => m.forward(q, k, v, { attnMask: antler.zeros([2, 5], F64) }), 'DTYPE_MISMATCH', /attnMask is float64; expected int32 .* or float32/);
      expectAntlerErrorInTidy(() => m.forward(q, k, v, { isCausal: true }), 'INVALID_ARGUMENT', /isCausal .* needs attnMask/);
      expectAntlerErrorInTidy(() => m.forward(antler.randn([2, 3, 4], F64), k, v), 'DTYPE_MISMATCH', /MultiheadAttention: query is float64; the module is float32/);
      expectAntlerErrorInTidy(() => m.forward(q, k, v, { needWeight: false } as never), 'INVALID_ARGUMENT', /unknown option 'needWeight'/);
      expect(m.forward(q, k, v)[0].shape).toEqual([2, 3, 4]);
    });
    m.dispose();
  });
});

function rowsSum(values: ArrayLike<number>, width: number): number[] {
  return Array.from({ length: values.length / width }, (_, r) => Array.from(values).slice(r * width, (r + 1) * width).reduce((a, b) => a + b, 0));
}

describe(`scaledDotProductAttention (seed ${SEED})`, () => {
  test('equals the float64 reference with broadcast leading axes, int32 (allowed = nonzero) and float masks, isCausal and a custom scale', () => {
    for (let trial = 0; trial < 16; trial++) {
      const L = rng.int(1, 5), S = rng.int(1, 5), E = rng.int(1, 4), Ev = rng.int(1, 4), B = rng.int(1, 3), G = rng.int(1, 3);
      const kind = rng.pick(['none', 'int', 'float', 'causal'] as const);
      const scale = rng.next() < 0.3 ? rng.uniform(0.1, 2) : null;
      // q [B, G, L, E], k [G, S, E] (broadcast over B), v [B, 1, S, Ev] (broadcast over G).
      const q = randomArray(rng, B * G * L * E), k = randomArray(rng, G * S * E), v = randomArray(rng, B * S * Ev);
      // Masks [L, S] shared by every batch entry; an int mask always allows key 0.
      const mvals = kind === 'int' ? Array.from({ length: L * S }, (_, p) => (p % S === 0 || rng.next() < 0.6 ? 1 : 0)) : randomArray(rng, L * S, -2, 2);
      tidy(() => {
        const out = antler.scaledDotProductAttention(tensor(q, [B, G, L, E], F64), tensor(k, [G, S, E], F64), tensor(v, [B, 1, S, Ev], F64), {
          attnMask: kind === 'int' || kind === 'float' ? tensor(mvals, [L, S], { dtype: kind === 'int' ? 'int32' : 'float64' }) : null,
          isCausal: kind === 'causal',
          scale,
        });
        expect(out.shape).toEqual([B, G, L, Ev]);
        const expected: number[] = [];
        for (let b = 0; b < B; b++)
          for (let g = 0; g < G; g++) {
            const qs = rows(q.slice((b * G + g) * L * E, (b * G + g + 1) * L * E), [L, E]);
            const ks = rows(k.slice(g * S * E, (g + 1) * S * E), [S, E]);
            const vs = rows(v.slice(b * S * Ev, (b + 1) * S * Ev), [S, Ev]);
            const mask = (i: number, j: number) => (kind === 'int' ? (mvals[i * S + j] ? 0 : -Infinity) : kind === 'float' ? mvals[i * S + j] : kind === 'causal' ? (j <= i ? 0 : -Infinity) : 0);
            expected.push(...sdpaRef(qs, ks, vs, scale ?? 1 / Math.sqrt(E), mask).out.flat());
          }
        expectClose(out.dataSync(), expected, 1e-12, 1e-14, `kind ${kind}, [B, G, L, S, E, Ev] = [${[B, G, L, S, E, Ev]}] (seed ${SEED})`);
      });
    }
  });

  test('a query row whose keys are all masked gives 0 and no gradient (PyTorch since 2.5); dropoutP with a seed replays; bad arguments throw', () => {
    tidy(() => {
      const q = antler.randn([2, 3], { ...F64, requiresGrad: true }), k = antler.randn([4, 3], { ...F64, requiresGrad: true }), v = antler.randn([4, 2], { ...F64, requiresGrad: true });
      for (const attnMask of [tensor([0, 0, 0, 0, 1, 0, 0, 0], [2, 4], { dtype: 'int32' }), tensor([-Infinity, -Infinity, -Infinity, -Infinity, 0, -Infinity, -Infinity, -Infinity], [2, 4], F64)]) {
        const out = antler.scaledDotProductAttention(q, k, v, { attnMask });
        const o = out.dataSync();
        expectExact([o[0], o[1]], [0, 0]);
        // The other row attends to key 0 alone.
        expectClose([o[2], o[3]], Array.from(v.dataSync().slice(0, 2)), 1e-15, 0, 'row 1');
        for (const t of [q, k, v]) t.grad = null;
        antler.sum(out).backward();
        // No NaN reaches any gradient; the dead row's query gets none.
        for (const t of [q, k, v]) expect(Array.from(t.grad!.dataSync()).every(Number.isFinite)).toBe(true);
        expectExact(Array.from(q.grad!.dataSync()).slice(0, 3), [0, 0, 0]);
      }
      const d1 = antler.scaledDotProductAttention(q, k, v, { dropoutP: 0.5, seed: 3 });
      const d2 = antler.scaledDotProductAttention(q, k, v, { dropoutP: 0.5, seed: 3 });
      expectExact(d2.dataSync(), d1.dataSync(), 'seeded dropout');
      const op = antler.scaledDotProductAttention;
      expectAntlerErrorInTidy(() => op(q, antler.randn([4, 2], F64), v), 'SHAPE_MISMATCH', /query has 3 features .* key 2/);
      expectAntlerErrorInTidy(() => op(q, k, antler.randn([5, 2], F64)), 'SHAPE_MISMATCH', /key has 4 positions .* value 5/);
      expectAntlerErrorInTidy(() => op(antler.randn([2, 2, 3], F64), antler.randn([3, 4, 3], F64), antler.randn([3, 4, 2], F64)), 'SHAPE_MISMATCH', /do not broadcast/);
      expectAntlerErrorInTidy(() => op(q, k, v, { attnMask: antler.zeros([3, 4], F64) }), 'SHAPE_MISMATCH', /attnMask has shape \[3, 4\]; expected a shape that broadcasts to the scores' \[2, 4\]/);
      expectAntlerErrorInTidy(() => op(q, k, v, { attnMask: antler.zeros([2, 4]) }), 'DTYPE_MISMATCH', /attnMask is float32; expected int32/);
      expectAntlerErrorInTidy(() => op(q, k, v, { attnMask: antler.zeros([2, 4], F64), isCausal: true }), 'INVALID_ARGUMENT', /not both/);
      expectAntlerErrorInTidy(() => op(q, k, v, { dropoutP: 2 }), 'INVALID_ARGUMENT', /dropoutP must be in \[0, 1\]; got 2/);
      expectAntlerErrorInTidy(() => op(q, k.cast('float32'), v), 'DTYPE_MISMATCH', /query is float64 and key float32/);
      expectAntlerErrorInTidy(() => op(antler.randn([3], F64), k, v), 'SHAPE_MISMATCH', /query has shape \[3\]; expected at least 2 axes/);
    });
  });
});
