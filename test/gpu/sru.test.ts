// nn.SRU on CUDA against the CPU: outputs and every gradient (x, c0, all
// parameters) of the fused kernel, float64 and float32, over the same kind of
// configurations as test/cpu/sru.test.ts; plus the op-by-op reference on CUDA
// against the fused kernel on CUDA. New buffers are poisoned
// (ANTLER_POISON=1), so an output a kernel forgets to write shows up as NaN.
// Skips where no GPU is usable.
import * as antler from '../../lib';
import { tensor, tidy } from '../../lib';
import { SRU, SRUImpl } from '../../lib/sru';
import { makeRng, randomArray, Rng } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeRng();
const run = gpuDescribe('SRU tests');

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
  mask?: 'maskPad' | 'lengths';
  c0?: boolean;
  dropout?: number;
  rnnDropout?: number;
  /** Longer sequences and wider layers than the CPU table, to reach several blocks of threads. */
  L?: number;
  B?: number;
}

const CONFIGS: Config[] = [
  { name: 'k=3, 1 layer', inSize: 6, d: 6, layers: 1 },
  { name: 'k=4, 2 layers, c0', inSize: 5, d: 4, layers: 2, c0: true },
  { name: 'k=3 bidirectional, maskPad, c0', inSize: 8, d: 4, layers: 2, bidirectional: true, mask: 'maskPad', c0: true },
  { name: 'k=4 bidirectional, 3 layers, lengths, tanh', inSize: 3, d: 4, layers: 3, bidirectional: true, mask: 'lengths', activation: 'tanh' },
  { name: 'no skip term, rescale, lengths, c0', inSize: 5, d: 5, layers: 2, hasSkipTerm: false, rescale: true, mask: 'lengths', c0: true },
  { name: 'projection, layer norm after, bidirectional, c0', inSize: 7, d: 3, layers: 2, projectionSize: 2, bidirectional: true, layerNorm: true, normalizeAfter: true, c0: true },
  { name: 'layer norm (pre), rescale, tanh, maskPad', inSize: 5, d: 3, layers: 2, layerNorm: true, rescale: true, activation: 'tanh', mask: 'maskPad' },
  { name: 'dropout and rnnDropout (replayed masks), bidirectional, c0', inSize: 4, d: 2, layers: 3, bidirectional: true, dropout: 0.4, rnnDropout: 0.3, c0: true },
  { name: 'wide: d=300, bidirectional, B=9, L=40, lengths, c0', inSize: 600, d: 300, layers: 2, bidirectional: true, mask: 'lengths', c0: true, L: 40, B: 9 },
];

interface Inputs {
  L: number;
  B: number;
  x: number[];
  c0: number[] | null;
  pad: number[] | null;
  lengths: number[] | null;
  gOut: number[];
  gC: number[];
  params: number[][];
}

function drawInputs(cfg: Config, r: Rng, m: SRU): Inputs {
  const L = cfg.L ?? r.int(1, 7), B = cfg.B ?? r.int(1, 4);
  const n = m.outputSize;
  return {
    L, B,
    x: randomArray(r, L * B * cfg.inSize, -1.5, 1.5),
    c0: cfg.c0 ? randomArray(r, cfg.layers * B * n) : null,
    pad: cfg.mask === 'maskPad' ? Array.from({ length: L * B }, () => (r.next() < 0.3 ? 1 : 0)) : null,
    lengths: cfg.mask === 'lengths' ? Array.from({ length: B }, (_, b) => (b === 0 ? L : r.int(1, L))) : null,
    gOut: randomArray(r, L * B * n),
    gC: randomArray(r, cfg.layers * B * n),
    // Input weights at most ±2.5/√fanIn: with ±0.8 over the wide case's 600 inputs, the pre-activations reach
    // hundreds and float32 itself (on the CPU, against float64) is off by 5e-4 of the output's scale.
    params: m.namedParameters().map(([name, p]) => {
      if (name.endsWith('layer_norm.weight')) return randomArray(r, p.size, 0.5, 1.5);
      const bound = /\.weight$/.test(name) ? Math.min(0.8, 2.5 / Math.sqrt(p.shape[0])) : 0.8;
      return randomArray(r, p.size, -bound, bound);
    }),
  };
}

function build(cfg: Config, dtype: 'float32' | 'float64', device: string, impl: SRUImpl): SRU {
  return new SRU(cfg.inSize, cfg.d, {
    numLayers: cfg.layers, bidirectional: cfg.bidirectional, activation: cfg.activation, hasSkipTerm: cfg.hasSkipTerm,
    projectionSize: cfg.projectionSize, layerNorm: cfg.layerNorm, normalizeAfter: cfg.normalizeAfter, rescale: cfg.rescale,
    dropout: cfg.dropout, rnnDropout: cfg.rnnDropout, dtype, device, impl,
  });
}

/** Outputs and gradients of Σ output ⊙ gOut + Σ c ⊙ gC, read back to the host. */
function runOn(cfg: Config, inp: Inputs, dtype: 'float32' | 'float64', device: string, impl: SRUImpl, seed: number) {
  const m = build(cfg, dtype, device, impl);
  const result = tidy(() => {
    m.namedParameters().forEach(([, p], i) => p.assign(tensor(Float64Array.from(inp.params[i]), p.shape.slice(), { dtype, device })));
    const n = m.outputSize;
    const o = { dtype, device };
    const x = tensor(Float64Array.from(inp.x), [inp.L, inp.B, cfg.inSize], { ...o, requiresGrad: true });
    const c0 = inp.c0 ? tensor(Float64Array.from(inp.c0), [cfg.layers, inp.B, n], { ...o, requiresGrad: true }) : null;
    const maskPad = inp.pad ? tensor(inp.pad, [inp.L, inp.B], { dtype: 'int32', device }) : null;
    const lengths = inp.lengths ? tensor(inp.lengths, [inp.B], { dtype: 'int32', device }) : null;
    antler.setSeed(seed);
    const out = m.forward(x, { c0, maskPad, lengths });
    const loss = antler.add(
      antler.sum(antler.mul(out.output, tensor(Float64Array.from(inp.gOut), [inp.L, inp.B, n], o))),
      antler.sum(antler.mul(out.c, tensor(Float64Array.from(inp.gC), [cfg.layers, inp.B, n], o))),
    );
    loss.backward();
    const grads: Record<string, Float64Array> = { x: Float64Array.from(x.grad!.dataSync()) };
    if (c0) grads.c0 = Float64Array.from(c0.grad!.dataSync());
    for (const [name, p] of m.namedParameters()) grads[name] = Float64Array.from(p.grad!.dataSync());
    return { output: Float64Array.from(out.output.dataSync()), c: Float64Array.from(out.c.dataSync()), grads };
  });
  m.dispose();
  return result;
}

function compare(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  expect(b.length).toBe(a.length);
  let scale = 1;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i]) && !Number.isNaN(a[i])) throw new Error(`${what}[${i}] is NaN on CUDA (unwritten?) (seed ${rng.seed})`);
    if (!(Math.abs(a[i] - b[i]) / scale <= tol)) throw new Error(`${what}[${i}]: ${a[i]} vs ${b[i]} (seed ${rng.seed})`);
  }
}

run(`nn.SRU on CUDA vs CPU (seed ${rng.seed})`, () => {
  for (const cfg of CONFIGS)
    for (const dtype of ['float64', 'float32'] as const)
      test(`${cfg.name} ${dtype}`, () => {
        const probe = build(cfg, 'float64', 'cpu', 'reference');
        const inp = drawInputs(cfg, rng, probe);
        probe.dispose();
        const seed = rng.u32();
        const tol = dtype === 'float64' ? 1e-10 : 2e-4;
        const cpu = runOn(cfg, inp, dtype, 'cpu', 'fused', seed);
        const gpu = runOn(cfg, inp, dtype, 'cuda:0', 'fused', seed);
        compare(cpu.output, gpu.output, tol, `${cfg.name} output`);
        compare(cpu.c, gpu.c, tol, `${cfg.name} c`);
        for (const k of Object.keys(cpu.grads)) compare(cpu.grads[k], gpu.grads[k], tol, `${cfg.name} grad ${k}`);
        if (dtype === 'float64') {
          // The op-by-op reference on CUDA agrees with the fused kernel there.
          const ref = runOn(cfg, inp, dtype, 'cuda:0', 'reference', seed);
          compare(ref.output, gpu.output, 1e-10, `${cfg.name} reference output`);
          compare(ref.c, gpu.c, 1e-10, `${cfg.name} reference c`);
          for (const k of Object.keys(ref.grads)) compare(ref.grads[k], gpu.grads[k], 1e-10, `${cfg.name} reference grad ${k}`);
        }
      });
});

run(`nn.SRU on CUDA with an empty batch (seed ${rng.seed})`, () => {
  test('outputs of batch 0 and zero parameter gradients, both modes', () => {
    for (const mode of ['sequential', 'deer'] as const)
      antler.tidy(() => {
        const m = new SRU(4, 3, { numLayers: 2, bidirectional: true, dtype: 'float32', device: 'cuda:0', mode });
        const r = m.forward(antler.zeros([5, 0, 4], { device: 'cuda:0' }));
        expect([r.output.shape, r.c.shape]).toEqual([[5, 0, 6], [2, 0, 6]]);
        antler.add(antler.sum(r.output), antler.sum(r.c)).backward();
        for (const p of m.parameters()) expect(Array.from(p.grad!.dataSync()).every((v) => v === 0)).toBe(true);
        m.dispose();
      });
  });
});
