/**
 * nn.SRU / nn.SRUCell: the fused recurrence against the op-by-op reference
 * (outputs and every gradient, float64, over a table of configurations), the
 * reference against a plain JavaScript float64 layer, finite differences,
 * dropout replay, bad inputs, the `sru` v2.6 state-dict names and layouts,
 * and streaming with step().
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as antler from '../../lib';
import { AntlerError, Tensor, tensor, tidy } from '../../lib';
import { native } from '../../lib/native';
import { SRU, SRUCell, SRUImpl } from '../../lib/sru';
import { expectAntlerErrorInTidy as expectAntlerError, expectClose, expectExact, expectNoTensorLeaks, makeRng, matmul2d, maxAbs, philoxRandomRef, randomArray, Rng, spreadFloor, F32_ROUNDING } from '../helpers';

const rng = makeRng();
const SEED = rng.seed;
antler.setSeed(rng.u32());

const hasFused = typeof (native() as unknown as { sruForward?: unknown }).sruForward === 'function';
if (!hasFused) console.log('SRU: this addon has no fused kernel (native().sruForward); fused-vs-reference tests are skipped');
const withFused = hasFused ? test : test.skip;
const IMPLS: SRUImpl[] = hasFused ? ['reference', 'fused'] : ['reference'];


expectNoTensorLeaks();

const f64 = (values: ArrayLike<number>, shape: number[], requiresGrad = false) =>
  tensor(Float64Array.from(values), shape, { dtype: 'float64', requiresGrad });

/** Fresh random values in every parameter (layer-norm gains around 1), so zero biases and unit gains test nothing by accident. */
function randomizeParameters(m: antler.nn.Module, r: Rng): void {
  for (const [name, p] of m.namedParameters()) {
    const values = name.endsWith('layer_norm.weight') ? randomArray(r, p.size, 0.5, 1.5) : randomArray(r, p.size, -0.8, 0.8);
    tidy(() => void p.assign(tensor(Float64Array.from(values), p.shape.slice(), { dtype: p.dtype })));
  }
}

// ---------------------------------------------------------------- a plain JavaScript layer

interface LayerRefArgs {
  L: number; B: number; inSize: number; d: number; dirs: number; k: number;
  hasSkipTerm: boolean; tanh: boolean; scale: number;
  x: ArrayLike<number>; weight: ArrayLike<number>; weightProj: ArrayLike<number> | null; projSize: number;
  weightC: ArrayLike<number>; bias: ArrayLike<number>; c0: ArrayLike<number> | null; pad: ArrayLike<number> | null;
  /** What W reads (x after layer norm / rnnDropout), when not x itself; the skip term always reads x. */
  xU?: ArrayLike<number>;
  /** The dropout mask [B, n] on the gated part, inside the recurrence: h = s + m ⊙ r ⊙ (g(c) − s). */
  maskC?: ArrayLike<number> | null;
}

/** One SRU layer in float64 scalar loops, straight from the equations and the `sru` v2.6 layout. */
function sruLayerRef(a: LayerRefArgs): { h: Float64Array; c: Float64Array } {
  const { L, B, d, dirs, k } = a;
  const n = dirs * d;
  const xU = a.xU ?? a.x;
  const rows = a.weightProj ? matmul2d(xU, a.weightProj, L * B, a.projSize, a.inSize) : xU;
  const U = matmul2d(rows, a.weight, L * B, n * k, a.weightProj ? a.projSize : a.inSize);
  const h = new Float64Array(L * B * n);
  const cOut = new Float64Array(B * n);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  for (let dir = 0; dir < dirs; dir++)
    for (let j = 0; j < d; j++)
      for (let b = 0; b < B; b++) {
        const unit = dir * d + j;
        let c = a.c0 ? a.c0[b * n + unit] : 0;
        for (let s = 0; s < L; s++) {
          const t = dir === 0 ? s : L - 1 - s;
          const u = (m: number) => U[(t * B + b) * n * k + unit * k + m];
          const f = sig(u(1) + a.weightC[unit] * c + a.bias[unit]);
          const r = sig(u(2) + a.weightC[n + unit] * c + a.bias[n + unit]);
          const padded = a.pad !== null && a.pad[t * B + b] !== 0;
          if (padded) continue; // c carried, h stays 0
          c = f * c + (1 - f) * u(0);
          const g = a.tanh ? Math.tanh(c) : c;
          const skip = !a.hasSkipTerm ? 0 : k === 4 ? u(3) : a.scale * a.x[(t * B + b) * a.inSize + unit];
          const hv = r * g + (1 - r) * skip;
          h[(t * B + b) * n + unit] = a.maskC ? skip + a.maskC[b * n + unit] * (hv - skip) : hv;
        }
        cOut[b * n + unit] = c;
      }
  return { h, c: cOut };
}

describe(`SRUCell against a plain JavaScript layer (seed ${SEED})`, () => {
  const cases = [
    { note: 'k=3', inSize: 4, d: 4, bidirectional: false },
    { note: 'k=4', inSize: 3, d: 5, bidirectional: false },
    { note: 'k=3 bidirectional, maskPad, rescale', inSize: 6, d: 3, bidirectional: true, pad: true, rescale: true, highwayBias: -0.7 },
    { note: 'k=4 bidirectional, tanh, c0, rescale', inSize: 5, d: 2, bidirectional: true, activation: 'tanh' as const, c0: true, rescale: true },
    { note: 'no skip term, maskPad, c0', inSize: 3, d: 3, bidirectional: false, hasSkipTerm: false, pad: true, c0: true },
    { note: 'projection, bidirectional', inSize: 7, d: 3, bidirectional: true, projectionSize: 2, pad: true },
  ];
  for (const cs of cases)
    for (const impl of IMPLS)
      test(`${cs.note} (${impl})`, () => {
        tidy(() => {
          const L = rng.int(1, 6), B = rng.int(1, 4);
          const cell = new SRUCell(cs.inSize, cs.d, {
            bidirectional: cs.bidirectional, activation: cs.activation, hasSkipTerm: cs.hasSkipTerm, projectionSize: cs.projectionSize,
            rescale: cs.rescale ?? false, highwayBias: cs.highwayBias, dtype: 'float64', impl,
          });
          randomizeParameters(cell, rng);
          const dirs = cs.bidirectional ? 2 : 1;
          const n = dirs * cs.d;
          const x = f64(randomArray(rng, L * B * cs.inSize, -1.5, 1.5), [L, B, cs.inSize]);
          const pad = cs.pad ? Array.from({ length: L * B }, () => (rng.next() < 0.3 ? 1 : 0)) : null;
          const c0 = cs.c0 ? f64(randomArray(rng, B * n), [B, n]) : null;
          const out = cell.forward(x, { c0, maskPad: pad ? tensor(pad, [L, B], { dtype: 'int32' }) : null });
          const ref = sruLayerRef({
            L, B, inSize: cs.inSize, d: cs.d, dirs, k: cell.k, hasSkipTerm: cell.hasSkipTerm, tanh: cs.activation === 'tanh',
            scale: cs.rescale ? Math.sqrt(1 + 2 * Math.exp(cs.highwayBias ?? 0)) : 1,
            x: x.dataSync(), weight: cell.weight.dataSync(), weightProj: cell.weightProj?.dataSync() ?? null, projSize: cell.projectionSize,
            weightC: cell.weightC.dataSync(), bias: cell.bias.dataSync(), c0: c0?.dataSync() ?? null, pad,
          });
          expect(cell.k).toBe(cs.hasSkipTerm !== false && cs.inSize !== n ? 4 : 3);
          expect(out.output.shape).toEqual([L, B, n]);
          expect(out.c.shape).toEqual([B, n]);
          expectClose(out.output.dataSync(), ref.h, 1e-12, 1e-12, `${cs.note} h`);
          expectClose(out.c.dataSync(), ref.c, 1e-12, 1e-12, `${cs.note} c`);
          cell.dispose();
        });
      });
});

// ---------------------------------------------------------------- fused vs reference

interface Config {
  name: string;
  inSize: number;
  d: number;
  layers: number;
  bidirectional?: boolean;
  activation?: 'identity' | 'tanh';
  hasSkipTerm?: boolean;
  projectionSize?: number;
  layerNorm?: boolean;
  normalizeAfter?: boolean;
  rescale?: boolean;
  highwayBias?: number;
  mask?: 'maskPad' | 'maskPadFloat' | 'lengths';
  c0?: boolean;
  dropout?: number;
  rnnDropout?: number;
}

const CONFIGS: Config[] = [
  { name: 'k=3, 1 layer', inSize: 6, d: 6, layers: 1 },
  { name: 'k=4, 2 layers, c0', inSize: 5, d: 4, layers: 2, c0: true },
  { name: 'k=3 bidirectional, 2 layers, maskPad, c0', inSize: 8, d: 4, layers: 2, bidirectional: true, mask: 'maskPad', c0: true },
  { name: 'k=4 bidirectional, 3 layers, lengths, tanh', inSize: 3, d: 4, layers: 3, bidirectional: true, mask: 'lengths', activation: 'tanh' },
  { name: 'no skip term, rescale, highway bias, lengths, c0', inSize: 5, d: 5, layers: 2, hasSkipTerm: false, rescale: true, highwayBias: -1, mask: 'lengths', c0: true },
  { name: 'rescale k=4 then k=3, tanh, maskPad', inSize: 4, d: 3, layers: 2, rescale: true, highwayBias: 0.5, activation: 'tanh', mask: 'maskPad' },
  { name: 'projection, bidirectional, c0', inSize: 7, d: 3, layers: 2, projectionSize: 2, bidirectional: true, c0: true },
  { name: 'layer norm (pre), c0, lengths', inSize: 5, d: 3, layers: 2, layerNorm: true, c0: true, mask: 'lengths' },
  {
    name: 'layer norm after, bidirectional, float maskPad, tanh, projection, c0', inSize: 6, d: 3, layers: 3, bidirectional: true,
    layerNorm: true, normalizeAfter: true, mask: 'maskPadFloat', activation: 'tanh', projectionSize: 4, c0: true,
  },
  { name: 'dropout and rnnDropout (training, replayed masks), bidirectional, maskPad, c0', inSize: 4, d: 2, layers: 3, bidirectional: true, dropout: 0.4, rnnDropout: 0.3, mask: 'maskPad', c0: true },
];

function buildModel(cfg: Config, impl: SRUImpl, device?: string): SRU {
  return new SRU(cfg.inSize, cfg.d, {
    numLayers: cfg.layers, bidirectional: cfg.bidirectional, activation: cfg.activation, hasSkipTerm: cfg.hasSkipTerm,
    projectionSize: cfg.projectionSize, layerNorm: cfg.layerNorm, normalizeAfter: cfg.normalizeAfter, rescale: cfg.rescale,
    highwayBias: cfg.highwayBias, dropout: cfg.dropout, rnnDropout: cfg.rnnDropout, dtype: 'float64', device, impl,
  });
}

interface Inputs {
  L: number;
  B: number;
  x: number[];
  c0: number[] | null;
  pad: number[] | null;
  lengths: number[] | null;
  gOut: number[];
  gC: number[];
}

function drawInputs(cfg: Config, r: Rng): Inputs {
  const L = r.int(1, 7), B = r.int(1, 4);
  const n = (cfg.bidirectional ? 2 : 1) * cfg.d;
  let pad: number[] | null = null;
  let lengths: number[] | null = null;
  if (cfg.mask === 'lengths') lengths = Array.from({ length: B }, (_, b) => (b === 0 ? L : r.int(1, L)));
  if (cfg.mask === 'maskPad' || cfg.mask === 'maskPadFloat') pad = Array.from({ length: L * B }, () => (r.next() < 0.3 ? r.pick([1, 2, -1]) : 0));
  return {
    L, B, pad, lengths,
    x: randomArray(r, L * B * cfg.inSize, -1.5, 1.5),
    c0: cfg.c0 ? randomArray(r, cfg.layers * B * n) : null,
    gOut: randomArray(r, L * B * n),
    gC: randomArray(r, cfg.layers * B * n),
  };
}

interface Run {
  output: Float64Array;
  c: Float64Array;
  grads: Record<string, Float64Array>;
  /** forward()'s stats (mode 'deer'). */
  stats?: ReturnType<SRU['forward']>['stats'];
}

/** Forward, then backward of Σ output ⊙ gOut + Σ c ⊙ gC; returns outputs and the gradients of x, c0 and every parameter. */
function runModel(m: SRU, cfg: Config, inp: Inputs, seed: number, dtype: 'float32' | 'float64' = 'float64'): Run {
  return tidy(() => {
    const n = m.outputSize;
    const x = tensor(Float64Array.from(inp.x), [inp.L, inp.B, cfg.inSize], { dtype, requiresGrad: true });
    const c0 = inp.c0 ? tensor(Float64Array.from(inp.c0), [cfg.layers, inp.B, n], { dtype, requiresGrad: true }) : null;
    const maskPad = inp.pad
      ? tensor(inp.pad, [inp.L, inp.B], { dtype: cfg.mask === 'maskPadFloat' ? dtype : 'int32' })
      : null;
    const lengths = inp.lengths ? tensor(inp.lengths, [inp.B], { dtype: 'int32' }) : null;
    m.zeroGrad();
    antler.setSeed(seed);
    const out = m.forward(x, { c0, maskPad, lengths });
    const loss = antler.add(
      antler.sum(antler.mul(out.output, tensor(Float64Array.from(inp.gOut), [inp.L, inp.B, n], { dtype }))),
      antler.sum(antler.mul(out.c, tensor(Float64Array.from(inp.gC), [cfg.layers, inp.B, n], { dtype }))),
    );
    loss.backward();
    const grads: Record<string, Float64Array> = { x: Float64Array.from(x.grad!.dataSync()) };
    if (c0) grads.c0 = Float64Array.from(c0.grad!.dataSync());
    for (const [name, p] of m.namedParameters()) grads[name] = Float64Array.from(p.grad!.dataSync());
    m.zeroGrad();
    return { output: Float64Array.from(out.output.dataSync()), c: Float64Array.from(out.c.dataSync()), grads, stats: out.stats };
  });
}

function compareRuns(a: Run, b: Run, tol: number, what: string): void {
  expectClose(b.output, a.output, tol, tol, `${what}: output`);
  expectClose(b.c, a.c, tol, tol, `${what}: c`);
  expect(Object.keys(b.grads).sort()).toEqual(Object.keys(a.grads).sort());
  for (const k of Object.keys(a.grads)) expectClose(b.grads[k], a.grads[k], tol, tol, `${what}: grad ${k}`);
}

describe(`SRU fused vs op-by-op reference, float64 (seed ${SEED})`, () => {
  for (const cfg of CONFIGS)
    withFused(cfg.name, () => {
      const m = buildModel(cfg, 'reference');
      randomizeParameters(m, rng);
      const inp = drawInputs(cfg, rng);
      const seed = rng.u32();
      const ref = runModel(m, cfg, inp, seed);
      m.impl = 'fused';
      const fused = runModel(m, cfg, inp, seed);
      compareRuns(ref, fused, 1e-10, `${cfg.name} (L=${inp.L}, B=${inp.B})`);
      // Padded steps output exactly 0 (without layer norm after the recurrence).
      if (inp.pad && !cfg.normalizeAfter) {
        const n = m.outputSize;
        for (let i = 0; i < inp.L * inp.B; i++) if (inp.pad[i]) for (let j = 0; j < n; j++) expect(fused.output[i * n + j] === 0).toBe(true);
      }
      m.dispose();
    });

  withFused('float32 fused kernel against the float64 reference: outputs and gradients (relative to the largest value)', () => {
    const cfg = CONFIGS[8];
    const m = buildModel(cfg, 'reference');
    randomizeParameters(m, rng);
    const inp = drawInputs(cfg, rng);
    const ref = runModel(m, cfg, inp, 3);
    m.impl = 'fused';
    m.cast('float32');
    const r32 = runModel(m, cfg, inp, 3, 'float32');
    const near = (got: Float64Array, want: Float64Array, what: string) =>
      expectClose(got, want, 0, 1e-4 * want.reduce((s, v) => Math.max(s, Math.abs(v)), 1), what);
    near(r32.output, ref.output, 'float32 output');
    near(r32.c, ref.c, 'float32 c');
    for (const k of Object.keys(ref.grads)) near(r32.grads[k], ref.grads[k], `float32 grad ${k}`);
    m.dispose();
  });

  test('the reference runs every configuration, with gradients for x, c0 and every parameter', () => {
    for (const cfg of CONFIGS) {
      const m = buildModel(cfg, 'reference');
      const inp = drawInputs(cfg, rng);
      const r = runModel(m, cfg, inp, 1);
      const n = m.outputSize;
      expect(r.output.length).toBe(inp.L * inp.B * n);
      expect(r.c.length).toBe(cfg.layers * inp.B * n);
      const expected = ['x', ...(cfg.c0 ? ['c0'] : []), ...m.namedParameters().map(([k]) => k)].sort();
      expect(Object.keys(r.grads).sort()).toEqual(expected);
      for (const [k, g] of Object.entries(r.grads)) for (const v of g) if (!Number.isFinite(v)) throw new Error(`${cfg.name}: grad ${k} has ${v}`);
      m.dispose();
    }
  });
});

describe(`SRU gradients against central finite differences, float64 (seed ${SEED})`, () => {
  const cfg: Config = {
    name: 'tiny', inSize: 3, d: 2, layers: 2, bidirectional: true, activation: 'tanh', layerNorm: true, projectionSize: 2,
    rescale: true, mask: 'maskPad', c0: true,
  };
  for (const impl of ['reference', 'fused'] as SRUImpl[])
    (impl === 'fused' ? withFused : test)(`${impl}: x, c0 and every parameter`, () => {
      const m = buildModel(cfg, impl);
      randomizeParameters(m, rng);
      const inp = drawInputs(cfg, rng);
      const analytic = runModel(m, cfg, inp, 7);
      const n = m.outputSize;
      const loss = (xv: number[], c0v: number[]): number =>
        tidy(() =>
          antler.noGrad(() => {
            const out = m.forward(f64(xv, [inp.L, inp.B, cfg.inSize]), {
              c0: f64(c0v, [cfg.layers, inp.B, n]), maskPad: tensor(inp.pad!, [inp.L, inp.B], { dtype: 'int32' }),
            });
            let s = 0;
            const o = out.output.dataSync(), c = out.c.dataSync();
            for (let i = 0; i < o.length; i++) s += o[i] * inp.gOut[i];
            for (let i = 0; i < c.length; i++) s += c[i] * inp.gC[i];
            return s;
          }),
        );
      const eps = 1e-6;
      const check = (name: string, values: number[], setAndLoss: (v: number[]) => number) => {
        const numeric = new Float64Array(values.length);
        for (let i = 0; i < values.length; i++) {
          const plus = values.slice(), minus = values.slice();
          plus[i] += eps;
          minus[i] -= eps;
          numeric[i] = (setAndLoss(plus) - setAndLoss(minus)) / (2 * eps);
        }
        setAndLoss(values);
        expectClose(analytic.grads[name], numeric, 1e-6, 1e-7, `${impl} d loss / d ${name}`);
      };
      check('x', inp.x, (v) => loss(v, inp.c0!));
      check('c0', inp.c0!, (v) => loss(inp.x, v));
      for (const [name, p] of m.namedParameters()) {
        const values = Array.from(p.dataSync());
        check(name, values, (v) => {
          tidy(() => void p.assign(f64(v, p.shape.slice())));
          return loss(inp.x, inp.c0!);
        });
      }
      m.dispose();
    });
});

// ---------------------------------------------------------------- variable lengths

describe(`SRU variable lengths (seed ${SEED})`, () => {
  for (const impl of IMPLS)
    test(`${impl}: each sequence of a right-padded batch equals that sequence run alone, outputs and final c of both directions`, () => {
      tidy(() => {
        const inSize = 3, d = 3, L = rng.int(3, 7), B = 4;
        const m = new SRU(inSize, d, { numLayers: 2, bidirectional: true, dtype: 'float64', impl });
        randomizeParameters(m, rng);
        const n = m.outputSize;
        const lengths = [L, ...Array.from({ length: B - 1 }, () => rng.int(1, L))];
        const xs = randomArray(rng, L * B * inSize, -1, 1);
        const c0 = randomArray(rng, 2 * B * n);
        const batch = m.forward(f64(xs, [L, B, inSize]), { lengths: tensor(lengths, [B], { dtype: 'int32' }), c0: f64(c0, [2, B, n]) });
        const viaMask = m.forward(f64(xs, [L, B, inSize]), {
          maskPad: tensor(Array.from({ length: L * B }, (_, i) => (Math.floor(i / B) >= lengths[i % B] ? 1 : 0)), [L, B], { dtype: 'int32' }),
          c0: f64(c0, [2, B, n]),
        });
        expectExact(viaMask.output.dataSync(), batch.output.dataSync(), 'lengths = maskPad (output)');
        expectExact(viaMask.c.dataSync(), batch.c.dataSync(), 'lengths = maskPad (c)');
        const out = batch.output.dataSync(), cAll = batch.c.dataSync();
        for (let b = 0; b < B; b++) {
          const len = lengths[b];
          const xb: number[] = [];
          for (let t = 0; t < len; t++) for (let i = 0; i < inSize; i++) xb.push(xs[(t * B + b) * inSize + i]);
          const c0b: number[] = [];
          for (let l = 0; l < 2; l++) for (let j = 0; j < n; j++) c0b.push(c0[(l * B + b) * n + j]);
          const alone = m.forward(f64(xb, [len, 1, inSize]), { c0: f64(c0b, [2, 1, n]) });
          const ao = alone.output.dataSync(), ac = alone.c.dataSync();
          for (let t = 0; t < L; t++)
            for (let j = 0; j < n; j++) {
              const got = out[(t * B + b) * n + j];
              if (t >= len) expect(got === 0).toBe(true);
              else expect(Math.abs(got - ao[t * n + j])).toBeLessThan(1e-12);
            }
          for (let l = 0; l < 2; l++)
            for (let j = 0; j < n; j++) expect(Math.abs(cAll[(l * B + b) * n + j] - ac[l * n + j])).toBeLessThan(1e-12);
        }
        m.dispose();
      });
    });
});

describe(`SRU long sequences (seed ${SEED})`, () => {
  withFused('fused: L = 4000 forward and backward, bidirectional, 2 layers; every step and every gradient stays finite', () => {
    tidy(() => {
      const L = 4000, B = 2;
      const m = new SRU(3, 4, { numLayers: 2, bidirectional: true, dtype: 'float64' });
      const x = f64(randomArray(rng, L * B * 3), [L, B, 3], true);
      const out = m.forward(x, { lengths: [L, rng.int(1, L)] });
      antler.sum(out.output).backward();
      for (const g of [x.grad!, ...m.parameters().map((p) => p.grad!)])
        for (const v of g.dataSync()) if (!Number.isFinite(v)) throw new Error(`non-finite gradient ${v}`);
      expect(out.output.shape).toEqual([L, B, 8]);
      m.dispose();
    });
  });
});

// ---------------------------------------------------------------- dropout

describe(`SRU dropout (seed ${SEED})`, () => {
  const outputOf = (m: SRU, x: Tensor, seed?: number) =>
    tidy(() => {
      if (seed !== undefined) antler.setSeed(seed);
      return Float64Array.from(m.forward(x).output.dataSync());
    });

  test('masks replay from a seed; different seeds differ; eval() turns dropout off; dropout 0 is deterministic', () => {
    tidy(() => {
      const m = new SRU(4, 3, { numLayers: 3, dropout: 0.5, rnnDropout: 0.3, bidirectional: true, dtype: 'float64' });
      const x = f64(randomArray(rng, 5 * 3 * 4), [5, 3, 4]);
      const s = rng.u32();
      const a = outputOf(m, x, s);
      expectExact(outputOf(m, x, s), a, 'same seed, same masks');
      expect(Array.from(outputOf(m, x, s + 1))).not.toEqual(Array.from(a));
      m.eval();
      const e1 = outputOf(m, x, s);
      expectExact(outputOf(m, x, s + 1), e1, 'eval: no randomness');
      expect(Array.from(e1)).not.toEqual(Array.from(a));
      // eval output equals a module without dropout holding the same weights
      const plain = new SRU(4, 3, { numLayers: 3, bidirectional: true, dtype: 'float64' });
      const dict = m.stateDict();
      plain.loadStateDict(dict);
      antler.dispose(dict);
      expectExact(outputOf(plain, x), e1, 'eval = no dropout');
      expectExact(outputOf(plain, x), outputOf(plain, x), 'dropout 0 in training mode is deterministic');
      m.train();
      expectExact(outputOf(m, x, s), a, 'back in training mode, the same seed replays');
      m.dispose();
      plain.dispose();
    });
  });

  test('dropout keeps the skip path and drops r ⊙ (g(c) − s) with one mask per (batch, unit) for every step', () => {
    tidy(() => {
      const p = 0.5;
      const cell = new SRUCell(6, 3, { bidirectional: true, dropout: p, rescale: false, dtype: 'float64' });
      randomizeParameters(cell, rng);
      // B·n = 48 masks: all kept or all dropped with probability 2⁻⁴⁷ (with B = 3, 2⁻¹⁷ = 8e-6).
      const L = 6, B = 8, n = 6;
      const xv = randomArray(rng, L * B * n, -1, 1);
      const x = f64(xv, [L, B, n]);
      const train = cell.forward(x).output.dataSync();
      cell.eval();
      const plain = cell.forward(x).output.dataSync();
      let dropped = 0;
      for (let b = 0; b < B; b++)
        for (let j = 0; j < n; j++) {
          const states = new Set<string>();
          for (let t = 0; t < L; t++) {
            const i = (t * B + b) * n + j;
            const s = xv[i];
            if (Math.abs(train[i] - s) < 1e-12) states.add('dropped');
            else {
              expect(Math.abs(train[i] - (s + (plain[i] - s) / (1 - p)))).toBeLessThan(1e-12);
              states.add('kept');
            }
          }
          expect(states.size).toBe(1);
          if (states.has('dropped')) dropped++;
        }
      expect(dropped).toBeGreaterThan(0);
      expect(dropped).toBeLessThan(B * n);
      cell.dispose();
    });
  });
});

// ---------------------------------------------------------------- stacked layers

interface StackCase {
  note: string; inSize: number; d: number; layers: number; bidirectional?: boolean; activation?: 'tanh';
  projectionSize?: number; layerNorm?: boolean; normalizeAfter?: boolean; rescale?: boolean; highwayBias?: number;
  dropout?: number; rnnDropout?: number; mask?: 'maskPad' | 'lengths'; c0?: boolean; train: boolean;
}

/** Layer norm over the last axis (size n) of rows × n values, mean and biased variance written out, eps 1e-5 (torch's default). */
function layerNormRef(v: ArrayLike<number>, rows: number, n: number, gamma: ArrayLike<number>, beta: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let j = 0; j < n; j++) mean += v[r * n + j];
    mean /= n;
    let vr = 0;
    for (let j = 0; j < n; j++) vr += (v[r * n + j] - mean) ** 2;
    vr /= n;
    for (let j = 0; j < n; j++) out[r * n + j] = ((v[r * n + j] - mean) / Math.sqrt(vr + 1e-5)) * gamma[j] + beta[j];
  }
  return out;
}

/**
 * The dropout mask [rows, cols] of the `stream`-th draw after setSeed(seed), derived from the Philox
 * reference (not from antler): keep (1/(1−p)) where the float64 uniform is >= p, else 0.
 */
function dropoutMaskRef(rows: number, cols: number, p: number, seed: number, stream: number): Float64Array {
  return Float64Array.from(philoxRandomRef(rows * cols, 'float64', false, 0, 1, seed, stream), (u) => (u >= p ? 1 / (1 - p) : 0));
}

describe(`SRU stacked layers against a plain JavaScript stack: layer norm, skip from the raw input, dropout masks derived independently (seed ${SEED})`, () => {
  const cases: StackCase[] = [
    {
      note: 'layer norm before, rnnDropout and dropout, bidirectional, rescale, maskPad, c0', inSize: 5, d: 3, layers: 3, bidirectional: true,
      layerNorm: true, rescale: true, highwayBias: -0.6, dropout: 0.4, rnnDropout: 0.3, mask: 'maskPad', c0: true, train: true,
    },
    {
      note: 'layer norm after, dropout and rnnDropout, projection, tanh, rescale, lengths', inSize: 6, d: 4, layers: 3, activation: 'tanh',
      layerNorm: true, normalizeAfter: true, projectionSize: 3, rescale: true, highwayBias: 0.4, dropout: 0.5, rnnDropout: 0.25, mask: 'lengths', train: true,
    },
    { note: 'layer norm before, eval mode, bidirectional, c0', inSize: 4, d: 2, layers: 2, bidirectional: true, layerNorm: true, rescale: true, c0: true, train: false },
  ];
  for (const cs of cases)
    for (const impl of IMPLS)
      test(`${cs.note} (${impl}): outputs and c to 1e-10`, () => {
        tidy(() => {
          const L = rng.int(2, 6), B = 4;
          const m = new SRU(cs.inSize, cs.d, {
            numLayers: cs.layers, bidirectional: cs.bidirectional, activation: cs.activation, projectionSize: cs.projectionSize,
            layerNorm: cs.layerNorm, normalizeAfter: cs.normalizeAfter, rescale: cs.rescale ?? false, highwayBias: cs.highwayBias,
            dropout: cs.dropout, rnnDropout: cs.rnnDropout, dtype: 'float64', impl,
          });
          randomizeParameters(m, rng);
          if (!cs.train) m.eval();
          const dirs = cs.bidirectional ? 2 : 1;
          const n = dirs * cs.d;
          const xv = randomArray(rng, L * B * cs.inSize, -1.5, 1.5);
          let pad: number[] | null = null;
          let lengths: number[] | null = null;
          if (cs.mask === 'maskPad') pad = Array.from({ length: L * B }, () => (rng.next() < 0.3 ? 1 : 0));
          if (cs.mask === 'lengths') {
            lengths = Array.from({ length: B }, (_, b) => (b === 0 ? L : rng.int(1, L)));
            pad = Array.from({ length: L * B }, (_, i) => (Math.floor(i / B) >= lengths![i % B] ? 1 : 0));
          }
          const c0v = cs.c0 ? randomArray(rng, cs.layers * B * n) : null;
          const seed = rng.u32();
          antler.setSeed(seed);
          const out = m.forward(f64(xv, [L, B, cs.inSize]), {
            c0: c0v ? f64(c0v, [cs.layers, B, n]) : null,
            maskPad: cs.mask === 'maskPad' ? tensor(pad!, [L, B], { dtype: 'int32' }) : null,
            lengths: lengths ? tensor(lengths, [B], { dtype: 'int32' }) : null,
          });

          // The reference: each layer's masks are the next draws of the global generator (stream 1, 2, …
          // after setSeed), rnnDropout's [B, in] before the recurrence, dropout's [B, n] after it, none on
          // the last layer; outside training, none at all.
          let stream = 0;
          const drawn: { p: number; zeros: number; size: number }[] = [];
          let h: ArrayLike<number> = xv;
          const cRef: number[] = [];
          m.cells.forEach((cell, i) => {
            const inSize = i === 0 ? cs.inSize : n;
            const last = i === cs.layers - 1;
            let xU: ArrayLike<number> = h;
            const ln = cell.layerNorm ? { g: cell.layerNorm.weight!.dataSync(), b: cell.layerNorm.bias!.dataSync() } : null;
            if (ln && !cs.normalizeAfter) xU = layerNormRef(h, L * B, inSize, ln.g, ln.b);
            if (cs.train && cs.rnnDropout) {
              const mask = dropoutMaskRef(B, inSize, cs.rnnDropout, seed, ++stream);
              drawn.push({ p: cs.rnnDropout, zeros: mask.filter((v) => v === 0).length, size: mask.length });
              const u = xU;
              xU = Float64Array.from({ length: L * B * inSize }, (_, j) => u[j] * mask[j % (B * inSize)]); // one mask for every step
            }
            let maskC: Float64Array | null = null;
            if (cs.train && cs.dropout && !last) {
              maskC = dropoutMaskRef(B, n, cs.dropout, seed, ++stream);
              drawn.push({ p: cs.dropout, zeros: maskC.filter((v) => v === 0).length, size: maskC.length });
            }
            expect(cell.k).toBe(inSize === n ? 3 : 4);
            const layer = sruLayerRef({
              L, B, inSize, d: cs.d, dirs, k: cell.k, hasSkipTerm: true, tanh: cs.activation === 'tanh',
              scale: cs.rescale ? Math.sqrt(1 + 2 * Math.exp(cs.highwayBias ?? 0)) : 1,
              x: h, xU, weight: cell.weight.dataSync(), weightProj: cell.weightProj?.dataSync() ?? null, projSize: cell.projectionSize,
              weightC: cell.weightC.dataSync(), bias: cell.bias.dataSync(), c0: c0v ? c0v.slice(i * B * n, (i + 1) * B * n) : null, pad, maskC,
            });
            h = ln && cs.normalizeAfter ? layerNormRef(layer.h, L * B, n, ln.g, ln.b) : layer.h;
            cRef.push(...layer.c);
          });
          expect(out.output.shape).toEqual([L, B, n]);
          expectClose(out.output.dataSync(), h, 1e-10, 1e-10, `${cs.note}: output`);
          expectClose(out.c.dataSync(), cRef, 1e-10, 1e-10, `${cs.note}: c`);
          // The masks drop at about their rates: the count of zeros is judged by its exact binomial tails, each
          // at least 1e-9 (8 checks a run: < 1.6e-8). The 6-standard-deviation band with "some dropped, some kept"
          // trusted a normal law these sizes do not have: rnnDropout 0.25 over 56 entries kept all of them with
          // odds 0.75^56 = 9.9e-8 alone, 1.2e-7 a check in all (2.4e-7 a run over both impls).
          for (const p of new Set(drawn.map((d) => d.p))) {
            const zeros = drawn.filter((d) => d.p === p).reduce((s, d) => s + d.zeros, 0);
            const size = drawn.filter((d) => d.p === p).reduce((s, d) => s + d.size, 0);
            const pmf = [(1 - p) ** size];
            for (let k = 0; k < size; k++) pmf.push((pmf[k] * (size - k) * p) / ((k + 1) * (1 - p)));
            const below = pmf.slice(0, zeros + 1).reduce((a, b) => a + b, 0), above = pmf.slice(zeros).reduce((a, b) => a + b, 0);
            expect([p, zeros, size, Math.min(below, above) >= 1e-9]).toEqual([p, zeros, size, true]);
          }
          expect(drawn.length).toBe(cs.train ? 2 * cs.layers - 1 : 0);
          // Nothing else was drawn: the next draw is the stream after the reference's last.
          const next = antler.rand([3], { dtype: 'float64' }).dataSync();
          expectExact(next, philoxRandomRef(3, 'float64', false, 0, 1, seed, stream + 1), 'no other draws in forward()');
          m.dispose();
        });
      });

});

// ---------------------------------------------------------------- bad inputs

describe(`SRU batchFirst (seed ${SEED})`, () => {
  for (const impl of IMPLS)
    test(`${impl}: x [B, L, in], output [B, L, ·] and maskPad [B, L] give the time-major answer transposed, gradients too`, () => {
      tidy(() => {
        const inSize = 3, d = 2, L = rng.int(2, 6), B = 3;
        const opts = { numLayers: 2, bidirectional: true, dtype: 'float64' as const, impl };
        const tm = new SRU(inSize, d, opts);
        const bf = new SRU(inSize, d, { ...opts, batchFirst: true });
        expect(bf.batchFirst).toBe(true);
        randomizeParameters(tm, rng);
        bf.loadStateDict(tm.stateDict());
        const n = tm.outputSize;
        const xs = randomArray(rng, L * B * inSize, -1, 1);
        const lengths = [L, ...Array.from({ length: B - 1 }, () => rng.int(1, L))];
        const maskTM = Array.from({ length: L * B }, (_, i) => (Math.floor(i / B) >= lengths[i % B] ? 1 : 0));
        const maskBF = Array.from({ length: B * L }, (_, i) => (i % L >= lengths[Math.floor(i / L)] ? 1 : 0));
        const c0 = f64(randomArray(rng, 2 * B * n), [2, B, n]);
        const xT = f64(xs, [L, B, inSize], true);
        const xB = f64(antler.transpose(f64(xs, [L, B, inSize]), 0, 1).dataSync(), [B, L, inSize], true);
        const a = tm.forward(xT, { c0, maskPad: tensor(maskTM, [L, B], { dtype: 'int32' }) });
        const b = bf.forward(xB, { c0, maskPad: tensor(maskBF, [B, L], { dtype: 'int32' }) });
        const viaLengths = bf.forward(xB, { c0, lengths });
        expect(b.output.shape).toEqual([B, L, n]);
        expect(b.c.shape).toEqual([2, B, n]);
        const aOut = antler.transpose(a.output, 0, 1).dataSync();
        expectExact(b.output.dataSync(), aOut, 'output');
        expectExact(b.c.dataSync(), a.c.dataSync(), 'c');
        expectExact(viaLengths.output.dataSync(), aOut, 'output (lengths)');
        // The same loss through either layout: the same parameter gradients, x's transposed.
        const w = f64(randomArray(rng, L * B * n), [L, B, n]);
        antler.sum(antler.mul(a.output, w)).backward();
        antler.sum(antler.mul(b.output, antler.transpose(w, 0, 1))).backward();
        expectClose(xB.grad!.dataSync(), antler.transpose(xT.grad!, 0, 1).dataSync(), 1e-13, 1e-14, 'x grad');
        const gB = new Map(bf.namedParameters().map(([k, p]) => [k, p.grad!.dataSync()]));
        for (const [k, p] of tm.namedParameters()) expectClose(gB.get(k)!, p.grad!.dataSync(), 1e-13, 1e-14, k);
        // step() is unaffected: [B, in] in, [B, d] out.
        const uni = new SRUCell(inSize, d, { dtype: 'float64', impl, batchFirst: true });
        expect(uni.step(f64(randomArray(rng, B * inSize), [B, inSize])).h.shape).toEqual([B, d]);
        if (L !== B)
          expectAntlerError(() => bf.forward(xB, { maskPad: tensor(maskTM, [L, B], { dtype: 'int32' }) }), 'SHAPE_MISMATCH', /maskPad must be \[batch, length\] = \[3, /);
        expectAntlerError(() => bf.forward(antler.zeros([B, L, inSize + 1], { dtype: 'float64' })), 'SHAPE_MISMATCH', /\[batch, length, 3\] \(batchFirst\)/);
        [tm, bf, uni].forEach((m) => m.dispose());
      });
    });
});

describe(`SRU bad inputs raise AntlerError (seed ${SEED})`, () => {
  test('input, c0, maskPad, lengths and options', () => {
    const m = new SRU(4, 3, { numLayers: 2, dtype: 'float64' });
    const x = f64(randomArray(rng, 5 * 2 * 4), [5, 2, 4]);
    const f = (shape: number[]) => antler.zeros(shape, { dtype: 'float64' });
    expectAntlerError(() => m.forward(f([5, 2, 3])), 'SHAPE_MISMATCH', /\[length, batch, 4\]/);
    expectAntlerError(() => m.forward(f([5, 4])), 'SHAPE_MISMATCH');
    expectAntlerError(() => m.forward(antler.zeros([5, 2, 4])), 'DTYPE_MISMATCH');
    expectAntlerError(() => m.forward('x' as unknown as Tensor), 'INVALID_ARGUMENT');
    expectAntlerError(() => m.forward(x, { c0: f([2, 3]) }), 'SHAPE_MISMATCH', /c0/);
    expectAntlerError(() => m.forward(x, { c0: f([1, 2, 3]) }), 'SHAPE_MISMATCH', /c0/);
    expectAntlerError(() => m.forward(x, { c0: f([2, 2, 4]) }), 'SHAPE_MISMATCH', /c0/);
    expectAntlerError(() => m.forward(x, { maskPad: antler.zeros([5, 3], { dtype: 'int32' }) }), 'SHAPE_MISMATCH', /maskPad/);
    expectAntlerError(() => m.forward(x, { maskPad: antler.zeros([2, 5], { dtype: 'int32' }) }), 'SHAPE_MISMATCH', /maskPad/);
    expectAntlerError(() => m.forward(x, { lengths: [5, 0] }), 'INVALID_ARGUMENT', /lengths\[1\]/);
    expectAntlerError(() => m.forward(x, { lengths: [6, 1] }), 'INVALID_ARGUMENT', /lengths\[0\]/);
    expectAntlerError(() => m.forward(x, { lengths: [2.5, 1] }), 'INVALID_ARGUMENT');
    expectAntlerError(() => m.forward(x, { lengths: tensor([5, 0], [2], { dtype: 'int32' }) }), 'INVALID_ARGUMENT');
    expectAntlerError(() => m.forward(x, { lengths: [5, 5, 5] }), 'SHAPE_MISMATCH', /lengths/);
    expectAntlerError(() => m.forward(x, { lengths: tensor([5, 5, 5], [3], { dtype: 'int32' }) }), 'SHAPE_MISMATCH');
    expectAntlerError(() => m.forward(x, { lengths: tensor([5, 5], [2], { dtype: 'float64' }) }), 'DTYPE_MISMATCH');
    expectAntlerError(() => m.forward(x, { lengths: [5, 5], maskPad: antler.zeros([5, 2], { dtype: 'int32' }) }), 'INVALID_ARGUMENT', /not both/);
    expectAntlerError(() => m.forward(x, { mask: null } as never), 'INVALID_ARGUMENT', /unknown option/);
    expectAntlerError(() => new SRU(4, 3, { dropout: 1 }), 'INVALID_ARGUMENT');
    expectAntlerError(() => new SRU(4, 3, { activation: 'relu' as never }), 'INVALID_ARGUMENT');
    expectAntlerError(() => new SRU(4, 0), 'INVALID_ARGUMENT');
    expectAntlerError(() => new SRU(4, 3, { numLayers: 0 }), 'INVALID_ARGUMENT');
    expectAntlerError(() => new SRU(4, 3, { impl: 'fast' as never }), 'INVALID_ARGUMENT');
    expectAntlerError(() => new SRU(4, 3, { useTanh: true } as never), 'INVALID_ARGUMENT', /unknown option/);
    const cell = new SRUCell(4, 3, { dtype: 'float64' });
    expectAntlerError(() => cell.forward(x, { c0: f([2, 4]) }), 'SHAPE_MISMATCH', /c0/);
    expectAntlerError(() => cell.step(f([2, 5])), 'SHAPE_MISMATCH');
    const bi = new SRUCell(4, 3, { bidirectional: true, dtype: 'float64' });
    expectAntlerError(() => bi.step(f([2, 4])), 'INVALID_ARGUMENT', /bidirectional/);
    antler.dispose(x);
    [m, cell, bi].forEach((mod) => mod.dispose());
  });

  test('an empty batch is fine (as torch\'s recurrent layers take one); no time steps is refused', () =>
    tidy(() => {
      for (const impl of IMPLS)
        for (const mode of ['sequential', 'deer'] as const) {
          if (impl === 'reference' && mode === 'deer') continue;
          const m = new SRU(4, 3, { numLayers: 2, bidirectional: true, projectionSize: 2, layerNorm: true, dtype: 'float64', impl, mode });
          const x = antler.zeros([5, 0, 4], { dtype: 'float64' }).requiresGrad_(true);
          const r = m.forward(x, { lengths: [] });
          expect([r.output.shape, r.c.shape]).toEqual([[5, 0, 6], [2, 0, 6]]);
          antler.add(antler.sum(r.output), antler.sum(r.c)).backward();
          // Every parameter gets a zero gradient, x an empty one.
          for (const p of m.parameters()) expect(Array.from(p.grad!.dataSync()).every((v) => v === 0)).toBe(true);
          expect(x.grad!.shape).toEqual([5, 0, 4]);
          const cell = new SRUCell(4, 3, { dtype: 'float64', impl });
          expect(cell.step(antler.zeros([0, 4], { dtype: 'float64' })).h.shape).toEqual([0, 3]);
          expectAntlerError(() => m.forward(antler.zeros([0, 2, 4], { dtype: 'float64' })), 'SHAPE_MISMATCH', /no time steps/);
          [m, cell].forEach((mod) => mod.dispose());
        }
    }));

  test('c0 passed positionally (as GRU.forward(x, h0) takes h0) says to pass { c0 }', () => {
    const m = new SRU(4, 8);
    const cell = new SRUCell(4, 8);
    const x = antler.zeros([5, 3, 4]);
    try {
      const e = expectAntlerError(() => m.forward(x, antler.zeros([2, 3, 8]) as never), 'INVALID_ARGUMENT');
      expect(e.message).toBe(
        'SRU.forward: the second argument is an options object { c0, maskPad, lengths }; got a Tensor (shape [2, 3, 8]) — pass { c0 }',
      );
      expectAntlerError(() => cell.forward(x, antler.zeros([3, 8]) as never), 'INVALID_ARGUMENT', /^SRUCell\.forward: the second argument is an options object .* pass \{ c0 \}$/);
    } finally {
      x.dispose();
      m.dispose();
      cell.dispose();
    }
  });

  test("step() names itself and its state c; forward(x, null) is forward(x); a [batch, in] input to forward() points to step()", () => {
    const cell = new SRUCell(4, 3, { dtype: 'float64' });
    const net = new SRU(4, 3, { numLayers: 2, dtype: 'float64' });
    const f = (shape: number[]) => antler.zeros(shape, { dtype: 'float64' });
    try {
      tidy(() => {
        const e1 = expectAntlerError(() => cell.step(f([2, 4]), f([2, 4])), 'SHAPE_MISMATCH');
        expect(e1.message).toBe('SRUCell.step: c must have shape [2, 3]; got [2, 4]');
        const e2 = expectAntlerError(() => net.step(f([2, 4]), f([2, 3])), 'SHAPE_MISMATCH');
        expect(e2.message).toBe('SRU.step: c must have shape [2, 2, 3]; got [2, 3]');
        expectAntlerError(() => cell.step(f([2, 4]), antler.zeros([2, 3])), 'DTYPE_MISMATCH', /^SRUCell\.step: c /);
        const x = f64(randomArray(rng, 5 * 2 * 4), [5, 2, 4]);
        expectExact(net.forward(x, null).output.dataSync(), net.forward(x).output.dataSync(), 'forward(x, null)');
        expectExact(cell.forward(x, null).c.dataSync(), cell.forward(x, {}).c.dataSync(), 'SRUCell forward(x, null)');
        expectAntlerError(() => cell.forward(f([2, 4])), 'SHAPE_MISMATCH', /^SRUCell\.forward: input must be \[length, batch, 4\]; got shape \[2, 4\]; for one step of \[batch, 4\], call SRUCell\.step\(\)$/);
        expectAntlerError(() => net.forward(f([2, 4])), 'SHAPE_MISMATCH', /call SRU\.step\(\)$/);
      });
    } finally {
      cell.dispose();
      net.dispose();
    }
  });

  test('a highwayBias whose scale_x overflows under rescale is refused at construction; a layer too large to make is refused in its own name', () => {
    expectAntlerError(() => new SRU(3, 3, { highwayBias: 1000, rescale: true }), 'INVALID_ARGUMENT', /^SRU: highwayBias 1000 overflows scale_x .* in float32 under rescale; expected highwayBias ≤ 176.7, or rescale: false$/);
    // Where 1 + 2·exp(h) overflows though exp(h) does not (float64), and where only float32's scale_x does.
    expectAntlerError(() => new SRUCell(3, 3, { highwayBias: 709.5, dtype: 'float64' }), 'INVALID_ARGUMENT', /^SRUCell: highwayBias 709.5 .* in float64 .*≤ 709.08/);
    expectAntlerError(() => new SRUCell(3, 3, { highwayBias: 200 }), 'INVALID_ARGUMENT', /^SRUCell: highwayBias 200 .* in float32/);
    for (const [h, dtype] of [[176.7, 'float32'], [709.08, 'float64']] as const) {
      const m = new SRUCell(3, 3, { highwayBias: h, dtype });
      tidy(() => expect(Number.isFinite(m.scale_x.dataSync()[0])).toBe(true));
      m.dispose();
    }
    // Without rescale (SRU's default) or without a skip term, no scale_x is made from it.
    for (const m of [new SRU(3, 3, { highwayBias: 1000 }), new SRUCell(3, 3, { highwayBias: 1000, hasSkipTerm: false })]) {
      tidy(() => expect(Number.isFinite(antler.sum(m.forward(antler.ones([2, 1, 3])).output).dataSync()[0])).toBe(true));
      m.dispose();
    }
    // 2^50 units: past the element limit of a tensor (a JavaScript array of the weight's size once threw
    // a RangeError without a code). (A size between the limit and memory would be OUT_OF_MEMORY, not tried:
    // where memory is overcommitted the allocation succeeds and filling it would exhaust the machine.)
    const before = antler.memory().numTensors;
    expectAntlerError(() => new SRU(3, 2 ** 50), 'INVALID_ARGUMENT', /^SRU: layer 0 of 2: SRUCell\(inputSize 3, hiddenSize 1125899906842624\): its parameters \(weight \[3, 4503599627370496\].*cannot be made \(rand: .*more than 2\^40 elements\)$/);
    expect(antler.memory().numTensors).toBe(before);
    // What was made before is freed: layer 0 (16 MiB) when layer 1's weight [2^20, 3·2^20] cannot be made;
    // a cell's weight when its projection [2^40, 2] cannot.
    expectAntlerError(() => new SRU(1, 2 ** 20), 'INVALID_ARGUMENT', /^SRU: layer 1 of 2: SRUCell\(inputSize 1048576, hiddenSize 1048576\)/);
    expectAntlerError(() => new SRUCell(2 ** 40, 3, { projectionSize: 2 }), 'INVALID_ARGUMENT', /^SRUCell\(inputSize 1099511627776, hiddenSize 3\).*cannot be made/);
    expect(antler.memory().numTensors).toBe(before);
  });

  test("bad layer options given to SRU are reported as SRU's, not SRUCell's", () => {
    const cases: [object, RegExp][] = [
      [{ mode: 'parallel' }, /^SRU: mode must be 'sequential' or 'deer'; got 'parallel'/],
      [{ impl: 'fast' }, /^SRU: impl/],
      [{ dropout: 1 }, /^SRU: dropout/],
      [{ rnnDropout: -0.5 }, /^SRU: rnnDropout/],
      [{ activation: 'relu' }, /^SRU: activation/],
      [{ highwayBias: NaN }, /^SRU: highwayBias/],
      [{ hasSkipTerm: 1 }, /^SRU: hasSkipTerm/],
      [{ layerNorm: 'yes' }, /^SRU: layerNorm/],
      [{ projectionSize: 1.5 }, /^SRU: projectionSize/],
      [{ weightCInit: Infinity }, /^SRU: weightCInit/],
    ];
    for (const [opts, msg] of cases) expectAntlerError(() => new SRU(4, 8, opts as never), 'INVALID_ARGUMENT', msg);
    expectAntlerError(() => new SRU(4, 8, { dtype: 'int32' as never }), 'DTYPE_MISMATCH', /^SRU: dtype/);
    expectAntlerError(() => new SRUCell(4, 8, { mode: 'parallel' as never }), 'INVALID_ARGUMENT', /^SRUCell: mode/);
  });
});

// ---------------------------------------------------------------- state dicts

describe(`SRU state dicts follow sru v2.6 (seed ${SEED})`, () => {
  const shapesOf = (m: antler.nn.Module) =>
    tidy(() => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, t.shape.slice()])));

  test('names and shapes: default, bidirectional with projection and layer norm, layer norm after', () => {
    const a = new SRU(6, 6);
    expect(shapesOf(a)).toEqual({
      'rnn_lst.0.weight': [6, 18], 'rnn_lst.0.weight_c': [12], 'rnn_lst.0.bias': [12], 'rnn_lst.0.scale_x': [1],
      'rnn_lst.1.weight': [6, 18], 'rnn_lst.1.weight_c': [12], 'rnn_lst.1.bias': [12], 'rnn_lst.1.scale_x': [1],
    });
    // Layer 0: 5 -> 8 (k = 4), projected to 3; layers 1, 2: 8 -> 8 (k = 3), projected to 3.
    const b = new SRU(5, 4, { numLayers: 3, bidirectional: true, projectionSize: 3, layerNorm: true });
    const expectedB: Record<string, number[]> = {
      'rnn_lst.0.weight_proj': [5, 3], 'rnn_lst.0.weight': [3, 32], 'rnn_lst.0.weight_c': [16], 'rnn_lst.0.bias': [16],
      'rnn_lst.0.scale_x': [1], 'rnn_lst.0.layer_norm.weight': [5], 'rnn_lst.0.layer_norm.bias': [5],
    };
    for (const i of [1, 2])
      Object.assign(expectedB, {
        [`rnn_lst.${i}.weight_proj`]: [8, 3], [`rnn_lst.${i}.weight`]: [3, 24], [`rnn_lst.${i}.weight_c`]: [16], [`rnn_lst.${i}.bias`]: [16],
        [`rnn_lst.${i}.scale_x`]: [1], [`rnn_lst.${i}.layer_norm.weight`]: [8], [`rnn_lst.${i}.layer_norm.bias`]: [8],
      });
    expect(shapesOf(b)).toEqual(expectedB);
    // normalize_after: the norm is over the layer's output; a projection that does not shrink is dropped.
    const c = new SRU(3, 2, { numLayers: 1, layerNorm: true, normalizeAfter: true, projectionSize: 3 });
    expect(shapesOf(c)).toEqual({
      'rnn_lst.0.weight': [3, 8], 'rnn_lst.0.weight_c': [4], 'rnn_lst.0.bias': [4], 'rnn_lst.0.scale_x': [1],
      'rnn_lst.0.layer_norm.weight': [2], 'rnn_lst.0.layer_norm.bias': [2],
    });
    const cell = new SRUCell(4, 4, { hasSkipTerm: false });
    expect(shapesOf(cell)).toEqual({ weight: [4, 12], weight_c: [8], bias: [8], scale_x: [1] });
    [a, b, c, cell].forEach((m) => m.dispose());
  });

  test("a handle replaced under either name (weightC or PyTorch's weight_c, scaleX or scale_x, …) is what forward() uses and stateDict() saves", () => {
    const x = antler.randn([5, 2, 4], { dtype: 'float64' });
    const make = (o: Record<string, unknown> = {}) => {
      const c = new SRUCell(4, 4, { rescale: true, dtype: 'float64', ...o });
      c.eval();
      return c;
    };
    // Each replacement, by one name or the other, against a fresh cell loaded from the first's state dict.
    const cases: [string, (c: SRUCell) => void][] = [
      ['scaleX', (c) => (c.scaleX = tensor([rng.uniform(2, 3)], [1], { dtype: 'float64' }))],
      ['scale_x', (c) => (c.scale_x = tensor([rng.uniform(2, 3)], [1], { dtype: 'float64' }))],
      ['weight_c', (c) => (c.weight_c = antler.nn.parameter(tensor(randomArray(rng, 8), [8], { dtype: 'float64' })))],
      ['weight_proj', (c) => (c.weight_proj = antler.nn.parameter(tensor(randomArray(rng, 16), [4, 4], { dtype: 'float64' })))],
      ['layer_norm', (c) => (c.layer_norm = new antler.nn.LayerNorm(4, { dtype: 'float64' }))],
    ];
    for (const [name, change] of cases) {
      const a = make();
      const before = tidy(() => Array.from(a.forward(x).output.dataSync()));
      // A replaced parameter stays the caller's (as the tensor it was): freed here.
      const old = name === 'weight_c' ? a.weightC : null;
      change(a);
      old?.dispose();
      const after = tidy(() => Array.from(a.forward(x).output.dataSync()));
      expect(maxAbs(after.map((v, i) => v - before[i]))).toBeGreaterThan(1e-3);
      const keys = tidy(() => Object.keys(a.stateDict()));
      expect(keys.filter((k) => /[A-Z]/.test(k))).toEqual([]);
      // The same structure (a projection or layer norm the first cell was given) and its state dict: the same outputs.
      const b = make();
      if (name === 'weight_proj') b.weightProj = antler.nn.parameter(antler.zeros([4, 4], { dtype: 'float64' }));
      if (name === 'layer_norm') b.layerNorm = new antler.nn.LayerNorm(4, { dtype: 'float64' });
      tidy(() => b.loadStateDict(a.stateDict()));
      expectExact(tidy(() => b.forward(x).output.dataSync()), after, `${name}: loaded`);
      [a, b].forEach((m) => m.dispose());
    }
    // null under either name removes a projection or a layer norm from the state dict.
    const c = make({ projectionSize: 2, layerNorm: true });
    const [ln, proj] = [c.layerNorm!, c.weightProj!];
    c.layer_norm = null;
    c.weightProj = null;
    expect(tidy(() => Object.keys(c.stateDict()))).toEqual(['weight', 'weight_c', 'bias', 'scale_x']);
    [c, ln].forEach((m) => m.dispose());
    proj.dispose();
    x.dispose();
  });

  test('scale_x changed in place (or by a cast) is used at the next forward, as the sru package reads its buffer each time', () => {
    tidy(() => {
      const d = 5;
      const m = new SRU(d, d, { rescale: true, highwayBias: -1, numLayers: 1, dtype: 'float64' }); // k = 3: the skip term is x · scale_x
      m.eval();
      const x = antler.randn([6, 2, d], { dtype: 'float64' });
      const before = Array.from(m.forward(x).output.dataSync());
      const ref = new SRU(d, d, { rescale: true, highwayBias: -1, numLayers: 1, dtype: 'float64' });
      ref.eval();
      antler.noGrad(() => void m.cells[0].scaleX.assign(tensor([0.25], [1], { dtype: 'float64' })));
      ref.loadStateDict(m.stateDict());
      const after = Array.from(m.forward(x).output.dataSync());
      expect(after.some((v, i) => Math.abs(v - before[i]) > 1e-6)).toBe(true);
      expectExact(after, ref.forward(x).output.dataSync(), 'in-place scale_x against a module loaded with it');
      [m, ref].forEach((mm) => mm.dispose());
    });
  });

  test('initialisation: U(±sqrt(3/in)) with f, r columns ×sqrt(0.5) (and x\' × scale_x), weight_c U(±sqrt(1.5)), highway bias in the reset half', () => {
    tidy(() => {
      const hb = -1.3;
      const cell = new SRUCell(40, 30, { highwayBias: hb, dtype: 'float64' }); // k = 4, rescale (SRUCell default)
      const k = 4, cols = 30 * k;
      const w = cell.weight.dataSync();
      const scale = Math.sqrt(1 + 2 * Math.exp(hb));
      const factor = [1, Math.SQRT1_2, Math.SQRT1_2, scale];
      const bound = Math.sqrt(3 / 40);
      for (let m = 0; m < k; m++) {
        let max = 0;
        for (let i = 0; i < 40; i++) for (let col = m; col < cols; col += k) max = Math.max(max, Math.abs(w[i * cols + col]));
        expect(max).toBeLessThanOrEqual(bound * factor[m] * F32_ROUNDING);
        expect(max).toBeGreaterThan(0.9 * bound * factor[m]);
      }
      const wc = Array.from(cell.weightC.dataSync());
      expect(Math.max(...wc.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(1.5));
      // 60 draws: P(max < 0.8 bound) = 0.8^60 failed one run in 650,000; spreadFloor(60) = 0.71 has odds 1e-9
      // and is still 3.2× the sqrt(3/40) bound of weight.
      expect(Math.max(...wc.map(Math.abs))).toBeGreaterThan(spreadFloor(wc.length) * Math.sqrt(1.5));
      expectExact(cell.bias.dataSync(), [...new Array(30).fill(0), ...new Array(30).fill(hb)], 'bias = [0 | highway bias]');
      expect(cell.scaleX.dataSync()[0]).toBeCloseTo(scale, 14);
      const plain = new SRU(6, 6, { highwayBias: hb, dtype: 'float64' }); // rescale defaults to false for SRU
      expect(plain.cells[0].scaleX.dataSync()[0]).toBe(1);
      const c2 = new SRUCell(8, 8, { weightCInit: 0.1, dtype: 'float64' });
      expect(Math.max(...Array.from(c2.weightC.dataSync(), Math.abs))).toBeLessThanOrEqual(0.1);
      [cell, plain, c2].forEach((m) => m.dispose());
    });
  });

  for (const impl of IMPLS)
    test(`${impl}: antler.save / load round trip reproduces outputs (float32 module)`, () => {
      tidy(() => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-sru-'));
        const file = path.join(dir, 'sru.safetensors');
        const opts = { numLayers: 2, bidirectional: true, projectionSize: 3, layerNorm: true, rescale: true, highwayBias: -0.5, impl };
        const a = new SRU(5, 4, opts);
        const x = tensor(randomArray(rng, 4 * 2 * 5), [4, 2, 5]);
        const ya = a.forward(x);
        const dict = a.stateDict();
        antler.save(file, dict);
        antler.dispose(dict);
        const b = new SRU(5, 4, { ...opts, highwayBias: 0.25 });
        const loaded = antler.load(file);
        b.loadStateDict(loaded);
        antler.dispose(loaded);
        const yb = b.forward(x);
        expectExact(yb.output.dataSync(), ya.output.dataSync(), 'output after load');
        expectExact(yb.c.dataSync(), ya.c.dataSync(), 'c after load');
        fs.rmSync(dir, { recursive: true, force: true });
        a.dispose();
        b.dispose();
      });
    });
});

// ---------------------------------------------------------------- streaming

describe(`SRUCell.step / SRU.step over L steps equal the full forward (seed ${SEED})`, () => {
  for (const impl of IMPLS)
    test(impl, () => {
      tidy(() => {
        const L = rng.int(2, 8), B = rng.int(1, 3);
        const cell = new SRUCell(5, 3, { activation: 'tanh', layerNorm: true, rescale: true, dtype: 'float64', impl }).eval();
        const net = new SRU(5, 3, { numLayers: 3, projectionSize: 2, dropout: 0.3, dtype: 'float64', impl }).eval();
        randomizeParameters(cell, rng);
        randomizeParameters(net, rng);
        const x = f64(randomArray(rng, L * B * 5), [L, B, 5]);
        const c0 = f64(randomArray(rng, B * 3), [B, 3]);
        const full = cell.forward(x, { c0 });
        const netC0 = f64(randomArray(rng, 3 * B * 3), [3, B, 3]);
        const netFull = net.forward(x, { c0: netC0 });
        let c: Tensor = c0;
        let cNet: Tensor = netC0;
        const hs: number[] = [], hsNet: number[] = [];
        for (let t = 0; t < L; t++) {
          const xt = antler.reshape(antler.slice(x, [t], [1]), [B, 5]);
          const s = cell.step(xt, c);
          hs.push(...s.h.dataSync());
          c = s.c;
          const sn = net.step(xt, cNet);
          expect(sn.h.shape).toEqual([B, 3]);
          hsNet.push(...sn.h.dataSync());
          cNet = sn.c;
        }
        expectClose(Float64Array.from(hs), full.output.dataSync(), 1e-12, 1e-12, 'cell h');
        expectClose(c.dataSync(), full.c.dataSync(), 1e-12, 1e-12, 'cell c');
        expectClose(Float64Array.from(hsNet), netFull.output.dataSync(), 1e-12, 1e-12, 'SRU h');
        expectClose(cNet.dataSync(), netFull.c.dataSync(), 1e-12, 1e-12, 'SRU c');
        cell.dispose();
        net.dispose();
      });
    });
});

// ---------------------------------------------------------------- mode 'deer'

describe(`SRU mode 'deer' equals the fused kernel (seed ${SEED})`, () => {
  for (const cfg of CONFIGS)
    withFused(cfg.name, () => {
      const m = buildModel(cfg, 'fused');
      try {
        randomizeParameters(m, rng);
        const inp = drawInputs(cfg, rng);
        const fused = runModel(m, cfg, inp, 7);
        m.mode = 'deer';
        const deer = runModel(m, cfg, inp, 7);
        compareRuns(fused, deer, 1e-10, `deer vs fused (${cfg.name})`);
        // The stats of the run compared above (maskPad or lengths included): DEER's own answer, every
        // sequence converged, no fallback, and Newton iterated (a stub returning the fused answer would not).
        const stats = deer.stats!;
        expect(stats).toHaveLength(cfg.layers);
        const allPadded = inp.pad !== null && inp.pad.every((v) => v !== 0);
        for (const s of stats) {
          expect(s.mode).toBe('deer');
          expect(s.fallback).toBe(false);
          expect(s.fallbackSequences).toEqual([]);
          expect(s.converged).toEqual(new Array(inp.B).fill(true));
          if (!allPadded) expect(s.iterations).toBeGreaterThan(0);
          expect(s.iterations).toBeLessThanOrEqual(inp.L);
        }
      } finally {
        m.dispose();
      }
    });

  withFused('L = 10,000, bidirectional, float64 and float32: outputs, c and gradients', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const cfg: Config = { name: 'long', inSize: 4, d: 8, layers: 1, bidirectional: true, mask: 'lengths', activation: 'tanh' };
      const m = new SRU(4, 8, { numLayers: 1, bidirectional: true, activation: 'tanh', dtype });
      try {
        const L = 10_000, B = 2;
        const inp: Inputs = {
          // The second sequence is padded for 20-90% of the steps: padded steps carry c (Jacobian 1), so
          // Newton needs no extra iterations for them.
          L, B, pad: null, lengths: [L, rng.int(L / 10, (8 * L) / 10)], c0: null,
          x: randomArray(rng, L * B * 4, -1.5, 1.5), gOut: randomArray(rng, L * B * 16), gC: randomArray(rng, B * 16),
        };
        const fused = runModel(m, cfg, inp, 3, dtype);
        m.mode = 'deer';
        const deer = runModel(m, cfg, inp, 3, dtype);
        const tol = dtype === 'float64' ? 1e-10 : 1e-5;
        const rel = (a: Float64Array, b: Float64Array, what: string) => expectClose(a, b, 0, tol * Math.max(1, maxAbs(b)), what);
        rel(deer.output, fused.output, `${dtype} output`);
        rel(deer.c, fused.c, `${dtype} c`);
        for (const k of Object.keys(fused.grads)) rel(deer.grads[k], fused.grads[k], `${dtype} grad ${k}`);
        // DEER's own answer, not the fused kernel's: no fallback, both sequences converged, Newton iterated.
        expect(fused.stats).toBeUndefined();
        expect(deer.stats).toHaveLength(1);
        const s = deer.stats![0];
        expect({ fallback: s.fallback, converged: s.converged, diverged: s.diverged }).toEqual({ fallback: false, converged: [true, true], diverged: false });
        expect(s.iterations).toBeGreaterThan(0);
        expect(s.iterations).toBeLessThan(100);
      } finally {
        m.dispose();
      }
    }
  });

  withFused("bidirectional deer judges both directions: a linear forward direction (weight_c 0) converges in one Newton step, the backward direction (large weight_c) does not", () => {
    tidy(() => {
      const L = rng.int(8, 12), B = 3, d = 3, inSize = 4, n = 2 * d;
      const m = new SRU(inSize, d, { numLayers: 1, bidirectional: true, activation: 'tanh', dtype: 'float64' });
      try {
        randomizeParameters(m, rng);
        // weight_c = [v_f | v_r], each [fwd units | bwd units]: no c in the forward direction's gates
        // (f independent of c: F is affine, Newton exact after one step), |v| in [1.5, 2.5] in the backward one's.
        const big = () => (rng.next() < 0.5 ? -1 : 1) * (1.5 + rng.next());
        const wc = Array.from({ length: 2 * n }, (_, i) => (i % n < d ? 0 : big()));
        m.cells[0].weightC.assign(f64(wc, [2 * n]));
        const x = f64(randomArray(rng, L * B * inSize, -1.5, 1.5), [L, B, inSize]);
        const c0 = f64(randomArray(rng, B * n, -2, 2), [1, B, n]);
        const fused = m.forward(x, { c0 });
        m.mode = 'deer';
        const deer = m.forward(x, { c0 });
        expectClose(deer.output.dataSync(), fused.output.dataSync(), 1e-10, 1e-10, 'deer output');
        expectClose(deer.c.dataSync(), fused.c.dataSync(), 1e-10, 1e-10, 'deer c');
        const s = deer.stats![0];
        expect({ fallback: s.fallback, converged: s.converged }).toEqual({ fallback: false, converged: [true, true, true] });
        // The backward direction needed more than the forward direction's one step.
        expect(s.iterations).toBeGreaterThan(1);
        for (const r of s.residual) expect(r).toBeLessThanOrEqual(1e-12 * 10);
        // One Newton step leaves the backward direction unconverged: strict says so.
        m.deer = { maxIters: 1, strict: true };
        expectAntlerError(() => m.forward(x, { c0 }), 'NOT_CONVERGED');
        // The forward direction alone (backward weights as the forward's linear ones) converges in that one step.
        m.cells[0].weightC.assign(f64(new Array(2 * n).fill(0), [2 * n]));
        expect(m.forward(x, { c0 }).stats![0]).toMatchObject({ fallback: false, iterations: 1 });
      } finally {
        m.dispose();
      }
    });
  });

  test('deer options are checked at construction: strict a real boolean, known keys only, and deer.mode says to set mode on the module', () => {
    const bad: [string, () => unknown, RegExp][] = [
      // Before, all of these were accepted; strict: 'false' then meant strict (a non-empty string is truthy).
      ['SRU strict as a string', () => new SRU(3, 4, { mode: 'deer', deer: { strict: 'false' as never } }), /^SRU: deer\.strict must be a boolean; got 'false'$/],
      ['SRUCell strict as a number', () => new SRUCell(3, 4, { mode: 'deer', deer: { strict: 0 as never } }), /^SRUCell: deer\.strict must be a boolean; got 0$/],
      ['SRU deer.mode', () => new SRU(3, 4, { mode: 'deer', deer: { mode: 'deer' } as never }), /^SRU: deer\.mode is not used here \(the module's mode decides\); set mode on the module instead: new SRU\(inputSize, hiddenSize, \{ mode: 'deer' \}\)$/],
      ['SRUCell deer.mode', () => new SRUCell(3, 4, { deer: { mode: 'sequential' } as never }), /^SRUCell: deer\.mode is not used here/],
      ['an option the SRU solver does not have', () => new SRU(3, 4, { deer: { chunkSize: 8 } as never }), /^SRU: unknown option 'deer\.chunkSize'; expected one of 'atol', 'rtol', 'maxIters', 'strict'$/],
      ['negative rtol', () => new SRU(3, 4, { deer: { rtol: -1e-6 } }), /^SRU: deer\.rtol must be a finite number >= 0; got -0\.000001$/],
      ['fractional maxIters', () => new SRU(3, 4, { deer: { maxIters: 2.5 } }), /^SRU: deer\.maxIters must be an integer >= 1; got 2\.5$/],
      ['deer not an object', () => new SRU(3, 4, { deer: true as never }), /^SRU: deer options must be an object; got true$/],
    ];
    for (const [name, make, message] of bad) {
      const e = expectAntlerError(make, 'INVALID_ARGUMENT');
      expect({ name, message: e.message }).toEqual({ name, message: expect.stringMatching(message) });
    }
    const m = new SRU(3, 4, { numLayers: 1, mode: 'deer', deer: { strict: false, maxIters: 50 } });
    try {
      tidy(() => expect(m.forward(antler.zeros([5, 2, 3])).stats?.[0].mode).toBe('deer'));
      // Set after construction, on the module or one layer, the options are checked there and then.
      expectAntlerError(() => (m.cells[0].deer = { strict: 'no' as never }), 'INVALID_ARGUMENT', /^SRUCell: deer\.strict must be a boolean; got 'no'$/);
      expectAntlerError(() => (m.deer = { foo: 1 } as never), 'INVALID_ARGUMENT', /^SRU: unknown option 'deer\.foo'/);
      expectAntlerError(() => (m.cells[0].mode = 'fast' as never), 'INVALID_ARGUMENT', /^SRUCell: mode must be 'sequential' or 'deer'; got 'fast'$/);
      expectAntlerError(() => (m.cells[0].impl = 'cuda' as never), 'INVALID_ARGUMENT', /^SRUCell: impl must be 'fused' or 'reference'; got 'cuda'$/);
      expect(m.deer).toEqual({ strict: false, maxIters: 50 });
      // Before, SRU had no deer accessor: the assignment made a property nothing read.
      m.deer = { maxIters: 1, strict: true };
      expect(m.cells[0].deer).toEqual({ maxIters: 1, strict: true });
      expectAntlerError(() => m.forward(antler.randn([50, 2, 3])), 'NOT_CONVERGED');
    } finally {
      m.dispose();
    }
  });

  test("mode 'deer' with a NaN in one sequence: the layer falls back to the fused kernel, NaN stays in that sequence, and its residual says NaN", () => {
    const m = new SRU(3, 4, { numLayers: 1, mode: 'deer', dtype: 'float64' });
    const fused = new SRU(3, 4, { numLayers: 1, dtype: 'float64' });
    try {
      tidy(() => fused.loadStateDict(m.stateDict()));
      tidy(() => {
        const v = randomArray(rng, 6 * 3 * 3);
        v[(2 * 3 + 1) * 3] = NaN; // step 2, sequence 1
        const x = tensor(Float64Array.from(v), [6, 3, 3], { dtype: 'float64' });
        const { output, stats } = m.forward(x);
        const s = stats![0];
        expect(s.fallback).toBe(true);
        expect(s.residual.map((r) => (Number.isNaN(r) ? 'NaN' : r))).toEqual([0, 'NaN', 0]);
        expectExact(output.dataSync(), fused.forward(x).output.dataSync(), 'the fused kernel');
        const out = output.arraySync() as number[][][];
        expect(out.every((step) => step[0].every(Number.isFinite) && step[2].every(Number.isFinite))).toBe(true);
      });
    } finally {
      m.dispose();
      fused.dispose();
    }
  });

  test("mode 'deer' needs the fused impl; a bad mode is rejected", () => {
    expectAntlerError(() => new SRU(3, 4, { mode: 'fast' as never }), 'INVALID_ARGUMENT', /mode/);
    const m = new SRU(3, 4, { impl: 'reference', mode: 'deer' });
    try {
      expectAntlerError(() => m.forward(antler.zeros([2, 1, 3])), 'INVALID_ARGUMENT', /fused/);
    } finally {
      m.dispose();
    }
  });
});
