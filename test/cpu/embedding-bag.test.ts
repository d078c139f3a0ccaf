/**
 * embeddingBag and nn.EmbeddingBag (torch.nn.functional.embedding_bag,
 * torch.nn.EmbeddingBag) against a float64 JavaScript transcription of
 * PyTorch's per-bag loops: every mode, bag layouts with empty bags,
 * includeLastOffset, 2-D input, paddingIdx and perSampleWeights; gradients
 * by central differences; the module (init, fromPretrained, state dict); a
 * bag-of-words classifier that trains; the errors.
 */
import * as antler from '../../lib';
import { embeddingBag, nn, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectExact, expectNoLeaksInSuite, makeSeededRng, poisonCheck, randomArray, randomInts, Rng, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

type Mode = 'sum' | 'mean' | 'max';

interface Layout {
  /** The indices, row-major. */
  input: number[];
  /** [n] with offsets, or [B, N]. */
  shape: number[];
  offsets?: number[];
  includeLastOffset: boolean;
}

interface RefOptions {
  mode: Mode;
  psw?: ArrayLike<number>;
  pad?: number; // normalised row, or undefined
}

/**
 * PyTorch's embedding_bag, bag by bag in float64: the bags' [start, end)
 * from the offsets (a 2-D input's rows), padding indices skipped, the mean
 * over the kept count, the max taking the first index on ties (strict >).
 * Also returns, for 'max', the input position holding each output entry
 * (−1 in an empty bag).
 */
function bagRef(W: ArrayLike<number>, dim: number, lay: Layout, o: RefOptions): { out: Float64Array; bags: number; argPos: Int32Array } {
  const n = lay.input.length;
  let starts: number[];
  let bags: number;
  if (lay.shape.length === 2) {
    starts = Array.from({ length: lay.shape[0] }, (_, b) => b * lay.shape[1]);
    bags = lay.shape[0];
  } else {
    starts = lay.offsets!;
    bags = lay.includeLastOffset ? starts.length - 1 : starts.length;
  }
  const out = new Float64Array(bags * dim);
  const argPos = new Int32Array(bags * dim).fill(-1);
  for (let b = 0; b < bags; b++) {
    const end = b + 1 < starts.length ? starts[b + 1] : n;
    let count = 0;
    for (let i = starts[b]; i < end; i++) {
      const r = lay.input[i];
      if (r === o.pad) continue;
      const s = o.psw ? o.psw[i] : 1;
      for (let d = 0; d < dim; d++) {
        const v = W[r * dim + d];
        if (o.mode === 'max') {
          if (count === 0 || v > out[b * dim + d]) {
            out[b * dim + d] = v;
            argPos[b * dim + d] = i;
          }
        } else out[b * dim + d] += s * v;
      }
      count++;
    }
    if (o.mode === 'mean' && count > 0) for (let d = 0; d < dim; d++) out[b * dim + d] /= count;
  }
  return { out, bags, argPos };
}

/** A random layout over `rows` rows: 2-D, or 1-D with offsets (empty bags likely), with or without includeLastOffset. */
function randomLayout(r: Rng, rows: number, opts: { twoD?: boolean; includeLastOffset?: boolean } = {}): Layout {
  const twoD = opts.twoD ?? r.next() < 0.3;
  const includeLastOffset = opts.includeLastOffset ?? r.next() < 0.4;
  if (twoD) {
    const shape = [r.int(1, 5), r.int(1, 5)];
    return { input: randomInts(r, shape[0] * shape[1], 0, rows - 1), shape, includeLastOffset };
  }
  const bags = r.int(1, 6);
  const lengths = Array.from({ length: bags }, () => (r.next() < 0.25 ? 0 : r.int(1, 5)));
  const n = lengths.reduce((a, b) => a + b, 0);
  const offsets: number[] = [];
  let at = 0;
  for (const len of lengths) {
    offsets.push(at);
    at += len;
  }
  if (includeLastOffset) offsets.push(n);
  return { input: randomInts(r, n, 0, rows - 1), shape: [n], offsets, includeLastOffset };
}

const int32 = (values: number[], shape: number[]) => tensor(values, shape, { dtype: 'int32' });

function callBag(w: Tensor, lay: Layout, o: { mode: Mode; psw?: Tensor; paddingIdx?: number; maxNorm?: number; normType?: number }): Tensor {
  return embeddingBag(int32(lay.input, lay.shape), w, {
    mode: o.mode,
    offsets: lay.offsets ? int32(lay.offsets, [lay.offsets.length]) : undefined,
    includeLastOffset: lay.includeLastOffset,
    perSampleWeights: o.psw,
    paddingIdx: o.paddingIdx,
    maxNorm: o.maxNorm,
    normType: o.normType,
  });
}

/** The weight's (and perSampleWeights') gradient of Σ out ⊙ G from the reference: the rows each bag used, scaled as in the forward. */
function gradRef(W: ArrayLike<number>, rows: number, dim: number, lay: Layout, o: RefOptions, G: ArrayLike<number>): { gw: Float64Array; gp: Float64Array } {
  const { bags, argPos } = bagRef(W, dim, lay, o);
  const gw = new Float64Array(rows * dim);
  const gp = new Float64Array(lay.input.length);
  const starts = lay.shape.length === 2 ? Array.from({ length: lay.shape[0] }, (_, b) => b * lay.shape[1]) : lay.offsets!;
  for (let b = 0; b < bags; b++) {
    if (o.mode === 'max') {
      for (let d = 0; d < dim; d++) {
        const i = argPos[b * dim + d];
        if (i >= 0) gw[lay.input[i] * dim + d] += G[b * dim + d];
      }
      continue;
    }
    const end = b + 1 < starts.length ? starts[b + 1] : lay.input.length;
    const kept = [];
    for (let i = starts[b]; i < end; i++) if (lay.input[i] !== o.pad) kept.push(i);
    for (const i of kept) {
      const r = lay.input[i];
      const s = (o.psw ? o.psw[i] : 1) / (o.mode === 'mean' ? kept.length : 1);
      for (let d = 0; d < dim; d++) {
        gw[r * dim + d] += s * G[b * dim + d];
        gp[i] += W[r * dim + d] * G[b * dim + d];
      }
    }
  }
  return { gw, gp };
}

describe(`embeddingBag (seed ${SEED})`, () => {
  test('every mode and layout (empty bags, includeLastOffset, 2-D input, paddingIdx, perSampleWeights) against the float64 reference, float32 and float64, values and gradients', () => {
    for (let trial = 0; trial < 60; trial++) {
      const rows = rng.int(1, 8), dim = rng.int(1, 5);
      const mode = rng.pick(['sum', 'mean', 'max'] as const);
      const dtype = rng.pick(['float32', 'float64'] as const);
      const lay = randomLayout(rng, rows);
      const padArg = rng.next() < 0.4 ? rng.int(-rows, rows - 1) : undefined;
      const pad = padArg === undefined ? undefined : padArg < 0 ? padArg + rows : padArg;
      const psw = mode === 'sum' && rng.next() < 0.5 ? randomArray(rng, lay.input.length) : undefined;
      const W = randomArray(rng, rows * dim, -2, 2);
      const what = `trial ${trial}: ${mode} ${dtype} rows ${rows} dim ${dim} input ${JSON.stringify(lay)} pad ${padArg} psw ${!!psw}`;
      tidy(() => {
        const w = tensor(W, [rows, dim], { dtype, requiresGrad: true });
        const p = psw ? tensor(psw, lay.shape, { dtype, requiresGrad: true }) : undefined;
        // W and psw rounded to the dtype, so the reference sees the values the op does.
        const Wd = Float64Array.from(w.dataSync());
        const Pd = p ? Float64Array.from(p.dataSync()) : undefined;
        const ref = bagRef(Wd, dim, lay, { mode, psw: Pd, pad });
        const out = callBag(w, lay, { mode, psw: p, paddingIdx: padArg });
        expect(out.shape).toEqual([ref.bags, dim]);
        expect(out.dtype).toBe(dtype);
        poisonCheck(out.dataSync(), what);
        const tol = dtype === 'float64' ? 1e-14 : 1e-6;
        expectClose(out.dataSync(), ref.out, tol, tol, what);
        const G = randomArray(rng, out.size);
        out.mul(tensor(G, out.shape, { dtype })).sum().backward();
        const g = gradRef(Wd, rows, dim, lay, { mode, psw: Pd, pad }, G);
        expectClose(w.grad!.dataSync(), g.gw, tol, tol, `${what}: weight gradient`);
        if (p) expectClose(p.grad!.dataSync(), g.gp, tol, tol, `${what}: perSampleWeights gradient`);
      });
    }
  });

  test('gradients for weight and perSampleWeights match central differences (float64; max away from ties)', () => {
    const h = 1e-6;
    for (const mode of ['sum', 'mean', 'max'] as const)
      for (let trial = 0; trial < 3; trial++) {
        const rows = rng.int(2, 6), dim = rng.int(1, 4);
        const lay = randomLayout(rng, rows);
        const pad = rng.next() < 0.5 ? rng.int(0, rows - 1) : undefined;
        // Distinct values (the max has a margin far above h); a repeated index is one row, so no tie across rows.
        const W = randomArray(rng, rows * dim, -2, 2);
        const psw = mode === 'sum' ? randomArray(rng, lay.input.length) : undefined;
        const G = randomArray(rng, (lay.shape.length === 2 ? lay.shape[0] : lay.includeLastOffset ? lay.offsets!.length - 1 : lay.offsets!.length) * dim);
        const loss = (Wv: number[], Pv?: number[]): number =>
          antler.noGrad(() =>
            tidy(() => {
              const out = callBag(tensor(Wv, [rows, dim], { dtype: 'float64' }), lay, { mode, psw: Pv && tensor(Pv, lay.shape, { dtype: 'float64' }), paddingIdx: pad });
              const v = out.dataSync();
              let acc = 0;
              for (let i = 0; i < v.length; i++) acc += v[i] * G[i];
              return acc;
            }),
          );
        const what = `${mode} trial ${trial} ${JSON.stringify(lay)} pad ${pad}`;
        tidy(() => {
          const w = tensor(W, [rows, dim], { dtype: 'float64', requiresGrad: true });
          const p = psw ? tensor(psw, lay.shape, { dtype: 'float64', requiresGrad: true }) : undefined;
          callBag(w, lay, { mode, psw: p, paddingIdx: pad }).mul(tensor(G, [G.length / dim, dim], { dtype: 'float64' })).sum().backward();
          const fdW = W.map((_, k) => {
            const up = W.slice(), dn = W.slice();
            up[k] += h;
            dn[k] -= h;
            return (loss(up, psw) - loss(dn, psw)) / (2 * h);
          });
          expectClose(w.grad!.dataSync(), fdW, 1e-6, 1e-8, `${what}: weight`);
          if (p && psw) {
            const fdP = psw.map((_, k) => {
              const up = psw.slice(), dn = psw.slice();
              up[k] += h;
              dn[k] -= h;
              return (loss(W, up) - loss(W, dn)) / (2 * h);
            });
            expectClose(p.grad!.dataSync(), fdP, 1e-6, 1e-8, `${what}: perSampleWeights`);
          }
        });
      }
  });

  test('a second derivative goes through: the weight gradient of sum mode differentiated by perSampleWeights', () =>
    tidy(() => {
      const [rows, dim] = [rng.int(2, 6), rng.int(1, 4)];
      const lay = randomLayout(rng, rows, { twoD: false });
      const pad = rng.int(0, rows - 1);
      const bags = lay.includeLastOffset ? lay.offsets!.length - 1 : lay.offsets!.length;
      const [G, V, P] = [randomArray(rng, bags * dim), randomArray(rng, rows * dim), randomArray(rng, lay.input.length)];
      const w = tensor(randomArray(rng, rows * dim), [rows, dim], { dtype: 'float64', requiresGrad: true });
      const p = tensor(P, lay.shape, { dtype: 'float64', requiresGrad: true });
      const out = callBag(w, lay, { mode: 'sum', psw: p, paddingIdx: pad });
      const [gw] = antler.autograd.grad(out.mul(tensor(G, out.shape, { dtype: 'float64' })).sum(), [w], { createGraph: true });
      const [gp] = antler.autograd.grad(gw!.mul(tensor(V, [rows, dim], { dtype: 'float64' })).sum(), [p]);
      // ∂/∂p_i Σ_{r,d} V[r,d] Σ_{i→r} p_i G[bag(i), d] = Σ_d V[input_i, d] G[bag(i), d] for a kept index i, else 0.
      const want = gradRef(V, rows, dim, lay, { mode: 'sum', psw: P, pad }, G).gp;
      expectClose(gp!.dataSync(), want, 1e-14, 1e-15, JSON.stringify(lay));
    }));

  test("max: each entry's gradient goes to the first index of the bag holding the maximum on ties (PyTorch's CPU kernel)", () =>
    tidy(() => {
      // Rows 0 and 1 tie in column 0 (both 1); row 1 alone holds column 1's max.
      const w = tensor([1, 2, 1, 3, 0, 0], [3, 2], { dtype: 'float64', requiresGrad: true });
      const out = embeddingBag(int32([0, 1, 0, 1, 0, 0], [6]), w, { offsets: int32([0, 3], [2]), mode: 'max' });
      expectExact(out.dataSync(), [1, 3, 1, 3]);
      out.sum().backward();
      // Bag 0 = [0, 1, 0]: column 0 to row 0 (first); bag 1 = [1, 0, 0]: column 0 to row 1 (first). Column 1: row 1 both times.
      expectExact(w.grad!.dataSync(), [1, 0, 1, 2, 0, 0]);
    }));

  test('max: +Infinity or NaN in row 0 of the table reaches no bag that does not hold index 0 (shorter and empty bags included)', () =>
    tidy(() => {
      for (const v of [Infinity, NaN]) {
        const w = tensor([v, 1, 2, 3, 5, -1], [3, 2], { dtype: 'float64', requiresGrad: true });
        // Bags: [1], [] , [2, 1], [0, 2], []: the first two are shorter than the longest (2).
        const out = embeddingBag(int32([1, 2, 1, 0, 2], [5]), w, { offsets: int32([0, 1, 1, 3, 5], [5]), mode: 'max' });
        expect({ v, out: Array.from(out.dataSync()) }).toEqual({ v, out: [2, 3, 0, 0, 5, 3, Number.isNaN(v) ? NaN : v, 1, 0, 0] });
        out.sum().backward();
        // Row 0 gets column 0 of bag [0, 2] (its maximum, or the NaN) and column 1 of it (1 > -1).
        expect({ v, g: Array.from(w.grad!.dataSync()) }).toEqual({ v, g: [1, 1, 1, 2, 1, 0] });
      }
    }));

  test('max: one long bag among many short ones pads each bag to a power of two at most, not to the longest (the same result as the reference)', () =>
    tidy(() => {
      const [rows, dim] = [50, 3];
      const W = randomArray(rng, rows * dim, -2, 2);
      const w = tensor(W, [rows, dim], { dtype: 'float64', requiresGrad: true });
      // 3000 bags: bag 7 of 3000 indices, the others of 0 to 5; padded to the longest this took 9e6 slots.
      const lens = Array.from({ length: 3000 }, (_, b) => (b === 7 ? 3000 : rng.int(0, 5)));
      const offsets: number[] = [];
      let n = 0;
      for (const l of lens) {
        offsets.push(n);
        n += l;
      }
      const idx = randomInts(rng, n, 0, rows - 1);
      const cpu = () => antler.memory().devices.cpu ?? { numBytes: 0, peakBytes: 0 };
      const before = cpu().numBytes;
      antler.resetPeakMemory();
      const out = embeddingBag(int32(idx, [n]), w, { offsets: int32(offsets, [lens.length]), mode: 'max' });
      // At most 2n + bags slots are gathered (about 0.5 MB here), where padding every bag to the longest took 216 MB.
      expect(cpu().peakBytes - before).toBeLessThan(8 * 1024 * 1024);
      const want = new Float64Array(lens.length * dim);
      const gradWant = new Float64Array(rows * dim);
      for (let b = 0; b < lens.length; b++)
        for (let d = 0; d < dim; d++) {
          let best = -1;
          for (let i = offsets[b]; i < offsets[b] + lens[b]; i++) if (best < 0 || W[idx[i] * dim + d] > W[idx[best] * dim + d]) best = i;
          if (best >= 0) {
            want[b * dim + d] = W[idx[best] * dim + d];
            gradWant[idx[best] * dim + d] += 1;
          }
        }
      expectExact(out.dataSync(), want);
      out.sum().backward();
      expectExact(w.grad!.dataSync(), gradWant);
    }));

  test('empty bags give zeros in every mode and pass no gradient; a bag of padding only too, and padding leaves the mean’s count', () =>
    tidy(() => {
      const W = randomArray(rng, 4 * 3, -2, 2);
      for (const mode of ['sum', 'mean', 'max'] as const) {
        const w = tensor(W, [4, 3], { dtype: 'float64', requiresGrad: true });
        // Bags: [] , [2, 2] (padding only), [], [1, 2, 3], [] (the last, to the end).
        const out = embeddingBag(int32([2, 2, 1, 2, 3], [5]), w, { offsets: int32([0, 0, 2, 2, 5], [5]), mode, paddingIdx: 2 });
        const want = new Float64Array(15);
        for (let d = 0; d < 3; d++) {
          const a = W[1 * 3 + d], c = W[3 * 3 + d];
          want[9 + d] = mode === 'sum' ? a + c : mode === 'mean' ? (a + c) / 2 : Math.max(a, c);
        }
        expectClose(out.dataSync(), want, 1e-15, 0, mode);
        out.sum().backward();
        const g = Array.from(w.grad!.dataSync());
        expect({ mode, padRow: g.slice(6, 9), row0: g.slice(0, 3) }).toEqual({ mode, padRow: [0, 0, 0], row0: [0, 0, 0] });
      }
      // No bags at all: [0, dim].
      const none = embeddingBag(int32([], [0]), tensor(W, [4, 3]), { offsets: int32([], [0]) });
      expect(none.shape).toEqual([0, 3]);
    }));

  test('includeLastOffset: offsets [B + 1] in CSR layout; indices after the last offset belong to no bag; a 2-D input gives one bag per row either way', () =>
    tidy(() => {
      const W = randomArray(rng, 5 * 2);
      const w = tensor(W, [5, 2], { dtype: 'float64' });
      const idx = int32([1, 2, 4, 0, 3], [5]);
      const csr = embeddingBag(idx, w, { offsets: int32([0, 2, 5], [3]), includeLastOffset: true, mode: 'sum' });
      const plain = embeddingBag(idx, w, { offsets: int32([0, 2], [2]), mode: 'sum' });
      expectExact(csr.dataSync(), plain.dataSync());
      const short = embeddingBag(idx, w, { offsets: int32([0, 2, 4], [3]), includeLastOffset: true, mode: 'sum' });
      expectClose(short.dataSync(), [W[2] + W[4], W[3] + W[5], W[8] + W[0], W[9] + W[1]], 1e-15, 0, 'trailing index 3 left out');
      const twoD = int32([1, 2, 4, 0, 3, 3], [3, 2]);
      const a = embeddingBag(twoD, w, { includeLastOffset: true });
      const b = embeddingBag(twoD, w);
      expect(a.shape).toEqual([3, 2]);
      expectExact(a.dataSync(), b.dataSync());
    }));

  test("the default mode is 'mean' (F.embedding_bag's); a 2-D input equals the 1-D one with offsets at the row starts", () =>
    tidy(() => {
      const [rows, dim, B, N] = [rng.int(2, 9), rng.int(1, 5), rng.int(1, 5), rng.int(1, 5)];
      const w = tensor(randomArray(rng, rows * dim), [rows, dim], { dtype: 'float64' });
      const idx = randomInts(rng, B * N, 0, rows - 1);
      const dflt = embeddingBag(int32(idx, [B, N]), w);
      expectExact(dflt.dataSync(), embeddingBag(int32(idx, [B, N]), w, { mode: 'mean' }).dataSync());
      const offsets = int32(Array.from({ length: B }, (_, b) => b * N), [B]);
      for (const mode of ['sum', 'mean', 'max'] as const)
        expectExact(embeddingBag(int32(idx, [B, N]), w, { mode }).dataSync(), embeddingBag(int32(idx, [B * N]), w, { mode, offsets }).dataSync(), mode);
    }));

  test('maxNorm renormalises, in place, every row the input uses whose norm exceeds it, as embedding does', () =>
    tidy(() => {
      const [rows, dim] = [6, 3];
      const W = randomArray(rng, rows * dim, -3, 3);
      const lay = randomLayout(rng, rows, { twoD: false, includeLastOffset: false });
      for (const normType of [2, 1, Infinity]) {
        const a = tensor(W, [rows, dim], { dtype: 'float64' });
        const b = tensor(W, [rows, dim], { dtype: 'float64' });
        const out = callBag(a, lay, { mode: 'sum', maxNorm: 1.5, normType });
        antler.embedding(int32(lay.input, lay.shape), b, { maxNorm: 1.5, normType });
        expectExact(a.dataSync(), b.dataSync(), `renormalised table, p ${normType}`);
        expectClose(out.dataSync(), bagRef(b.dataSync(), dim, lay, { mode: 'sum' }).out, 1e-14, 1e-15, `output p ${normType}`);
      }
    }));

  test("modes 'sum' and 'mean' read nothing back (each index's bag is searched for on the device; the checks ride on the row gather's), backward included; 'max' reads the layout once", () =>
    tidy(() => {
      const rows = rng.int(3, 7), dim = rng.int(1, 4);
      const W = randomArray(rng, rows * dim, -2, 2);
      const n = rng.int(4, 12);
      const idx = randomInts(rng, n, 0, rows - 1);
      const cut = [...new Set([0, ...randomInts(rng, rng.int(1, 4), 0, n)])].sort((a, b) => a - b);
      {
        const cases: [string, Layout, RefOptions, boolean][] = [
          ['sum', { input: idx, shape: [n], offsets: cut, includeLastOffset: false }, { mode: 'sum', psw: randomArray(rng, n) }, false],
          ['mean, paddingIdx', { input: idx, shape: [n], offsets: cut, includeLastOffset: false }, { mode: 'mean', pad: idx[0] }, false],
          ['sum, includeLastOffset', { input: idx, shape: [n], offsets: [...cut.filter((c) => c < n - 1), n - 1], includeLastOffset: true }, { mode: 'sum', pad: idx[n - 1], psw: randomArray(rng, n) }, false],
          ['mean, 2-D', { input: idx.slice(0, 2 * Math.floor(n / 2)), shape: [Math.floor(n / 2), 2], includeLastOffset: false }, { mode: 'mean' }, false],
          ['max', { input: idx, shape: [n], offsets: cut, includeLastOffset: false }, { mode: 'max' }, true],
        ];
        for (const [what, lay, ro, hostRead] of cases) {
          const w = tensor(W, [rows, dim], { dtype: 'float64', requiresGrad: true });
          const psw = ro.psw && tensor(Array.from(ro.psw), lay.shape, { dtype: 'float64', requiresGrad: true });
          const input = int32(lay.input, lay.shape), offsets = lay.offsets && int32(lay.offsets, [lay.offsets.length]);
          // profile() lists every native call, host reads (dataSync) included.
          const run = antler.profile(() => {
            const y = embeddingBag(input, w, { offsets, includeLastOffset: lay.includeLastOffset, mode: ro.mode, paddingIdx: ro.pad, perSampleWeights: psw });
            antler.sum(y).backward();
            return y;
          });
          const out = run.result;
          // 'max' reads the input and the offsets.
          expect({ what, reads: run.kernelNames.filter((k) => k === 'dataSync').length }).toEqual({ what, reads: hostRead ? 2 : 0 });
          expectClose(out.dataSync(), bagRef(W, dim, lay, ro).out, 1e-14, 1e-15, what);
        }
      }
    }));

  test("a table of 0 columns still checks the indices and offsets in modes 'sum' and 'mean' (the device path let them through: its checks are the row gather's and scatter-add's, idle with 0 columns)", () =>
    tidy(() => {
      const rows = rng.int(1, 6), n = rng.int(2, 9);
      const w = tensor([], [rows, 0], { dtype: rng.next() < 0.5 ? 'float32' : 'float64' });
      const idx = randomInts(rng, n, 0, rows - 1);
      const at = rng.int(0, n - 1);
      const bad = [...idx];
      bad[at] = rng.next() < 0.5 ? -rng.int(1, 3) : rows + rng.int(0, 3);
      const cut = rng.int(1, n - 1);
      const message = (f: () => unknown) => expectAntlerError(f, 'INVALID_ARGUMENT').message;
      for (const mode of ['sum', 'mean'] as const) {
        expect(message(() => embeddingBag(int32(bad, [n]), w, { offsets: int32([0, cut], [2]), mode }))).toBe(`embeddingBag: input[${at}] is ${bad[at]}, outside [0, ${rows}), the rows of weight [${rows}, 0]`);
        expect(message(() => embeddingBag(int32(bad, [1, n]), w, { mode }))).toBe(`embeddingBag: input[0, ${at}] is ${bad[at]}, outside [0, ${rows}), the rows of weight [${rows}, 0]`);
        expect(message(() => embeddingBag(int32(idx, [n]), w, { offsets: int32([cut, n], [2]), mode }))).toBe(`embeddingBag: offsets[0] must be 0 (the first bag starts the input); got ${cut}`);
        expect(message(() => embeddingBag(int32(idx, [n]), w, { offsets: int32([0, n, cut], [3]), mode }))).toBe(`embeddingBag: offsets must be non-decreasing; got offsets[1] = ${n} > offsets[2] = ${cut}`);
        expect(message(() => embeddingBag(int32(idx, [n]), w, { offsets: int32([0, n + 1], [2]), includeLastOffset: true, mode }))).toBe(`embeddingBag: offsets[1] = ${n + 1} is beyond the input's length ${n}; expected offsets <= ${n}`);
        // Good ones give [bags, 0].
        expect(embeddingBag(int32(idx, [n]), w, { offsets: int32([0, cut], [2]), mode }).shape).toEqual([2, 0]);
      }
    }));

  test('bad offsets or indices fail before maxNorm writes the table (nothing is damaged)', () =>
    tidy(() => {
      const W = randomArray(rng, 8, 5, 9); // every row above maxNorm 1
      const w = tensor(W, [4, 2]);
      const before = Array.from(w.dataSync());
      for (const mode of ['sum', 'mean', 'max'] as const) {
        expectAntlerError(() => embeddingBag(int32([0, 1, 2], [3]), w, { offsets: int32([0, 2, 1], [3]), maxNorm: 1, mode }), 'INVALID_ARGUMENT', /non-decreasing/);
        expectAntlerError(() => embeddingBag(int32([0, 1, 2], [3]), w, { offsets: int32([1], [1]), maxNorm: 1, mode }), 'INVALID_ARGUMENT', /offsets\[0\] must be 0/);
        expectAntlerError(() => embeddingBag(int32([0, 9, 2], [3]), w, { offsets: int32([0], [1]), maxNorm: 1, mode }), 'INVALID_ARGUMENT', /input\[1\] is 9, outside \[0, 4\)/);
        expectExact(w.dataSync(), before, mode);
      }
      // Good ones renormalise, then look the new rows up.
      const out = embeddingBag(int32([0, 1], [2]), w, { offsets: int32([0], [1]), maxNorm: 1, mode: 'sum' });
      const norm = (r: number) => Math.hypot(before[2 * r], before[2 * r + 1]);
      const scaled = [0, 1].map((r) => [0, 1].map((d) => (before[2 * r + d] * 1) / (norm(r) + 1e-7)));
      expectClose(out.dataSync(), [scaled[0][0] + scaled[1][0], scaled[0][1] + scaled[1][1]], 1e-6, 0, 'renormalised sum');
    }));

  test('errors say what was passed and what was expected', () =>
    tidy(() => {
      const w = tensor(randomArray(rng, 8), [4, 2]);
      const idx = int32([0, 1, 2], [3]);
      const off = (v: number[]) => int32(v, [v.length]);
      expectAntlerError(() => embeddingBag(idx, w), 'INVALID_ARGUMENT', /a 1-D input needs offsets/);
      expectAntlerError(() => embeddingBag(int32([0, 1], [1, 2]), w, { offsets: off([0]) }), 'INVALID_ARGUMENT', /2-D input .* offsets must be absent/);
      expectAntlerError(() => embeddingBag(int32([0], [1, 1, 1]), w), 'SHAPE_MISMATCH', /input must be 1-D .* or 2-D .*; got shape \[1, 1, 1\]/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: int32([0], [1, 1]) }), 'SHAPE_MISMATCH', /offsets must be 1-D; got shape \[1, 1\]/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([1, 2]) }), 'INVALID_ARGUMENT', /offsets\[0\] must be 0 .*; got 1/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0, 2, 1]) }), 'INVALID_ARGUMENT', /non-decreasing; got offsets\[1\] = 2 > offsets\[2\] = 1/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0, 4]) }), 'INVALID_ARGUMENT', /offsets\[1\] = 4 is beyond the input's length 3/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0]), includeLastOffset: true }), 'INVALID_ARGUMENT', /includeLastOffset.*at least 2 entries .*; got 1/);
      expectAntlerError(() => embeddingBag(int32([0, 4, 1], [3]), w, { offsets: off([0]) }), 'INVALID_ARGUMENT', /input\[1\] is 4, outside \[0, 4\)/);
      expectAntlerError(() => embeddingBag(int32([0, 1, -1, 2], [2, 2]), w), 'INVALID_ARGUMENT', /input\[1, 0\] is -1, outside \[0, 4\)/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0]), mode: 'mean', perSampleWeights: tensor([1, 1, 1]) }), 'INVALID_ARGUMENT', /perSampleWeights is only supported for mode 'sum' .*; got mode 'mean'/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0]), mode: 'max', perSampleWeights: tensor([1, 1, 1]) }), 'INVALID_ARGUMENT', /got mode 'max'/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0]), mode: 'sum', perSampleWeights: tensor([1, 1]) }), 'SHAPE_MISMATCH', /perSampleWeights must have the input's shape \[3\]; got \[2\]/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0]), mode: 'sum', perSampleWeights: tensor([1, 1, 1], [3], { dtype: 'float64' }) }), 'DTYPE_MISMATCH', /perSampleWeights is float64 and weight float32/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0]), mode: 'avg' as never }), 'INVALID_ARGUMENT', /mode must be 'sum', 'mean' or 'max'; got 'avg'/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0]), paddingIdx: 4 }), 'INVALID_ARGUMENT', /paddingIdx must be an integer row of the 4-row table, in \[-4, 4\); got 4/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0]), maxNorm: -1 }), 'INVALID_ARGUMENT', /maxNorm must be >= 0; got -1/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0]), normType: 0 }), 'INVALID_ARGUMENT', /normType must be a number > 0/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: off([0]), offset: off([0]) } as never), 'INVALID_ARGUMENT', /offset/);
      expectAntlerError(() => embeddingBag(tensor([0, 1, 2]), w, { offsets: off([0]) }), 'DTYPE_MISMATCH', /input must be int32 indices; got float32/);
      expectAntlerError(() => embeddingBag(idx, w, { offsets: tensor([0]) }), 'DTYPE_MISMATCH', /offsets must be int32; got float32/);
      expectAntlerError(() => embeddingBag(idx, tensor([1, 2]), { offsets: off([0]) }), 'SHAPE_MISMATCH', /weight must be 2-D .*; got shape \[2\]/);
    }));
});

describe(`nn.EmbeddingBag (seed ${SEED})`, () => {
  test("the table starts N(0, 1) with the padding row zeroed; mode 'mean' by default; forward(input, {offsets, perSampleWeights}) is embeddingBag; the state dict's key is weight", () => {
    const [num, dim] = [rng.int(200, 300), rng.int(20, 30)];
    const pad = rng.int(0, num - 1);
    const m = new nn.EmbeddingBag(num, dim, { paddingIdx: pad - num, dtype: 'float64' });
    expect(m.mode).toBe('mean');
    expect(m.paddingIdx).toBe(pad);
    expect(m.weight.shape).toEqual([num, dim]);
    const W = m.weight.dataSync();
    expect(Array.from(W.subarray(pad * dim, (pad + 1) * dim))).toEqual(new Array(dim).fill(0));
    let s = 0, s2 = 0;
    for (let i = 0; i < W.length; i++) {
      s += W[i];
      s2 += W[i] * W[i];
    }
    const count = W.length - dim;
    const mean = s / count, sd = Math.sqrt(s2 / count - mean * mean);
    // 6 standard errors: of the mean 1/√count, of the sample sd 1/√(2 count) (0.05 was 4.5 of them
    // at the smallest table, a chance failure 8e-6 a run).
    expect(Math.abs(mean)).toBeLessThan(6 / Math.sqrt(count));
    expect(Math.abs(sd - 1)).toBeLessThan(6 / Math.sqrt(2 * count));
    const keys = m.stateDict();
    expect(Object.keys(keys)).toEqual(['weight']);
    antler.dispose(Object.values(keys));
    tidy(() => {
      const lay = randomLayout(rng, num, { twoD: false });
      const idx = int32(lay.input, lay.shape);
      const offsets = int32(lay.offsets!, [lay.offsets!.length]);
      const csr = new nn.EmbeddingBag(num, dim, { mode: 'sum', includeLastOffset: lay.includeLastOffset, _weight: m.weight });
      const psw = tensor(randomArray(rng, lay.input.length), lay.shape, { dtype: 'float64' });
      expectExact(csr.forward(idx, { offsets, perSampleWeights: psw }).dataSync(), embeddingBag(idx, m.weight, { offsets, perSampleWeights: psw, mode: 'sum', includeLastOffset: lay.includeLastOffset }).dataSync());
      // Without includeLastOffset, the same bags but the last one, which runs to the end.
      const starts = int32(lay.includeLastOffset ? lay.offsets!.slice(0, -1) : lay.offsets!, [lay.offsets!.length - (lay.includeLastOffset ? 1 : 0)]);
      expectExact(m.forward(idx, { offsets: starts }).dataSync(), embeddingBag(idx, m.weight, { offsets: starts, paddingIdx: pad }).dataSync());
      csr.dispose();
    });
    // loadStateDict into a fresh module gives the same table.
    const other = new nn.EmbeddingBag(num, dim, { dtype: 'float64' });
    const dict = m.stateDict();
    other.loadStateDict(dict);
    expectExact(other.weight.dataSync(), m.weight.dataSync());
    antler.dispose(Object.values(dict));
    other.dispose();
    m.dispose();
  });

  test('_weight is copied as given (the padding row too); fromPretrained is frozen by default, freeze: false trains it', () => {
    const [num, dim] = [rng.int(3, 8), rng.int(2, 5)];
    const vals = randomArray(rng, num * dim);
    const src = tensor(vals, [num, dim], { dtype: 'float64' });
    const pad = rng.int(0, num - 1);
    const given = new nn.EmbeddingBag(num, dim, { _weight: src, paddingIdx: pad });
    const frozen = nn.EmbeddingBag.fromPretrained(src, { mode: 'max' });
    const live = nn.EmbeddingBag.fromPretrained(src, { freeze: false, paddingIdx: pad, mode: 'sum' });
    src.dispose(); // the modules hold copies
    for (const m of [given, frozen, live]) expectExact(m.weight.dataSync(), vals);
    expect(frozen.mode).toBe('max');
    expect(frozen.weight.requiresGrad).toBe(false);
    expect(live.weight.requiresGrad).toBe(true);
    const idx = [pad, ...randomInts(rng, 5, 0, num - 1)];
    const G = randomArray(rng, 2 * dim);
    for (const m of [frozen, live])
      tidy(() => {
        const y = m.forward(int32(idx, [2, 3]));
        if (y.requiresGrad) y.mul(tensor(G, y.shape, { dtype: 'float64' })).sum().backward();
      });
    expect(frozen.weight.grad).toBeNull();
    const lay: Layout = { input: idx, shape: [2, 3], includeLastOffset: false };
    expectClose(live.weight.grad!.dataSync(), gradRef(vals, num, dim, lay, { mode: 'sum', pad }, G).gw, 1e-14, 1e-15, 'fromPretrained gradient');
    tidy(() => {
      expectAntlerError(() => nn.EmbeddingBag.fromPretrained(tensor([1, 2, 3])), 'SHAPE_MISMATCH', /^EmbeddingBag\.fromPretrained: embeddings must be 2-D \[numEmbeddings, embeddingDim\]; got shape \[3\]$/);
      expectAntlerError(() => nn.EmbeddingBag.fromPretrained(tensor([[1, 2]]), { freeze: 0 as never }), 'INVALID_ARGUMENT', /freeze/);
      expectAntlerError(() => new nn.EmbeddingBag(3, 2, { _weight: tensor([1, 2, 3, 4], [2, 2]) }), 'SHAPE_MISMATCH', /_weight must be \[numEmbeddings, embeddingDim\] = \[3, 2\]; got \[2, 2\]/);
      expectAntlerError(() => new nn.EmbeddingBag(3, 2, { mode: 'avg' as never }), 'INVALID_ARGUMENT', /mode must be 'sum', 'mean' or 'max'; got 'avg'/);
      expectAntlerError(() => new nn.EmbeddingBag(3, 2, { paddingIdx: 3 }), 'INVALID_ARGUMENT', /paddingIdx 3 is outside \[-3, 3\)/);
      expectAntlerError(() => new nn.EmbeddingBag(3, 2, { maxNorm: -1 }), 'INVALID_ARGUMENT', /maxNorm must be >= 0; got -1/);
      expectAntlerError(() => new nn.EmbeddingBag(0, 2), 'INVALID_ARGUMENT', /numEmbeddings/);
      expectAntlerError(() => new nn.EmbeddingBag(3, 2, { scaleGradByFreq: true } as never), 'INVALID_ARGUMENT', /scaleGradByFreq/);
    });
    given.dispose();
    frozen.dispose();
    live.dispose();
  });

  test('a bag-of-words classifier (EmbeddingBag → Linear) trains: the loss falls', () => {
    // Sentences of 2–6 words from a 20-word vocabulary; the class is whether words 0–4 outnumber words 5–9.
    const vocab = 20, dim = 8, batch = 32;
    const emb = new nn.EmbeddingBag(vocab, dim, { mode: 'mean' });
    const head = new nn.Linear(dim, 2);
    const opt = new antler.optim.Adam([...emb.parameters(), ...head.parameters()], { lr: 0.05 });
    const data = Array.from({ length: 4 }, () => {
      const words: number[] = [], offsets: number[] = [], labels: number[] = [];
      for (let s = 0; s < batch; s++) {
        offsets.push(words.length);
        const len = rng.int(2, 6);
        const sentence = randomInts(rng, len, 0, vocab - 1);
        words.push(...sentence);
        const pos = sentence.filter((k) => k < 5).length, neg = sentence.filter((k) => k >= 5 && k < 10).length;
        labels.push(pos > neg ? 1 : 0);
      }
      return { words, offsets, labels };
    });
    const epochLoss = (): number => {
      let total = 0;
      for (const { words, offsets, labels } of data)
        total += tidy(() => {
          opt.zeroGrad();
          const logits = head.forward(emb.forward(int32(words, [words.length]), { offsets: int32(offsets, [offsets.length]) }));
          const loss = antler.crossEntropy(logits, int32(labels, [labels.length]));
          loss.backward();
          opt.step();
          return loss.item();
        });
      return total / data.length;
    };
    const first = epochLoss();
    let last = first;
    for (let e = 0; e < 40; e++) last = epochLoss();
    expect(last).toBeLessThan(0.5 * first);
    opt.dispose();
    emb.dispose();
    head.dispose();
  });
});
