// Run by test/cpu/isa.test.ts in two child processes, one with
// ANTLER_CPU_ISA=baseline and one without, with the same seed: computes the
// ops whose loops have an AVX2 copy (native/cpu/isa.h), every op of the
// registry and the recurrent modules and DEER solvers built on them, forward
// and backward, in float32 and float64, and prints
// { cpuIsa, digests: { name: sha256 of the output bytes } } as JSON.
//   node -r test/ts-register.js test/isa-fixture.ts <seed>
import { createHash } from 'node:crypto';
import * as antler from '../lib';
import type { Tensor } from '../lib';
import { makeRng } from './helpers';
import { OPS } from './opinfo';

const seed = Number(process.argv[2]);
const rng = makeRng(seed);
antler.setSeed(seed);
const digests: Record<string, string> = {};

function record(name: string, ...ts: (Tensor | null | undefined)[]): void {
  const h = createHash('sha256');
  for (const t of ts) {
    if (!t) continue;
    const d = t.dataSync();
    h.update(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  }
  digests[name] = h.digest('hex');
}

const randoms = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => rng.uniform(lo, hi));
// Lengths that leave vector tails; special values among them.
const SPECIAL = [0, -0, Infinity, -Infinity, NaN, 1e-30, -1e-30, 88.7, -103.9, 20, -20, 1e30, -1e30, 0.5, -0.5];

type Unary = [string, (x: Tensor) => Tensor];
const UNARY: Unary[] = [
  ['neg', antler.neg], ['exp', antler.exp], ['log', antler.log], ['tanh', antler.tanh], ['sigmoid', antler.sigmoid],
  ['relu', antler.relu], ['softplus', antler.softplus], ['gelu', antler.gelu], ['sqrt', antler.sqrt], ['abs', antler.abs],
  ['square', antler.square], ['reciprocal', antler.reciprocal], ['sin', antler.sin], ['cos', antler.cos],
  ['log1p', antler.log1p], ['expm1', antler.expm1], ['rsqrt', antler.rsqrt], ['sign', antler.sign], ['floor', antler.floor],
  ['ceil', antler.ceil], ['round', antler.round], ['silu', antler.silu],
  ['clamp', (x) => antler.clamp(x, -0.5, 2)], ['pow 2.5', (x) => antler.pow(x, 2.5)], ['pow 3', (x) => antler.pow(x, 3)],
  ['leakyRelu', (x) => antler.leakyRelu(x, 0.1)], ['elu', (x) => antler.elu(x, 0.7)],
];

for (const dtype of ['float32', 'float64'] as const) {
  antler.tidy(() => {
    // Unary ops and their gradients over 1037 values: random, then the special ones.
    for (const scale of [1, 8, 40]) {
      const values = [...randoms(1037 - SPECIAL.length, -scale, scale), ...SPECIAL];
      const g = antler.tensor(randoms(values.length, -1, 1), [values.length], { dtype });
      for (const [name, f] of UNARY) {
        const x = antler.tensor(values, [values.length], { dtype, requiresGrad: true });
        const y = f(x);
        y.backward(g);
        record(`${dtype} ${name} ×${scale}`, y, x.grad);
      }
    }
    // Softmax and log-softmax over the last and the middle axis, forward and backward.
    for (const shape of [[37, 129], [5, 67, 13], [3, 9, 70]]) {
      const count = shape.reduce((a, b) => a * b, 1);
      const values = randoms(count, -30, 30);
      const g = antler.tensor(randoms(count, -1, 1), shape, { dtype });
      for (const axis of [-1, 1]) {
        if (axis >= shape.length - 1 && axis !== -1) continue;
        for (const [name, f] of [['softmax', antler.softmax], ['logSoftmax', antler.logSoftmax]] as const) {
          const x = antler.tensor(values, shape, { dtype, requiresGrad: true });
          const y = f(x, axis);
          y.backward(g);
          record(`${dtype} ${name} [${shape}] axis ${axis}`, y, x.grad);
        }
      }
    }
    // Cross-entropy with an ignored label, layer norm, embedding.
    {
      const [N, C] = [53, 37];
      const logits = antler.tensor(randoms(N * C, -10, 10), [N, C], { dtype, requiresGrad: true });
      const labels = antler.tensor(Array.from({ length: N }, (_, i) => (i % 11 === 0 ? -100 : rng.int(0, C - 1))), [N], { dtype: 'int32' });
      const loss = antler.crossEntropy(logits, labels, { reduction: 'none' });
      loss.backward(antler.tensor(randoms(N, 0, 1), [N], { dtype }));
      record(`${dtype} crossEntropy`, loss, logits.grad);
      const D = 83;
      const x = antler.tensor(randoms(N * D, -3, 3), [N, D], { dtype, requiresGrad: true });
      const w = antler.tensor(randoms(D, 0.5, 1.5), [D], { dtype, requiresGrad: true });
      const b = antler.tensor(randoms(D, -1, 1), [D], { dtype, requiresGrad: true });
      const y = antler.layerNorm(x, w, b);
      y.backward(antler.tensor(randoms(N * D, -1, 1), [N, D], { dtype }));
      record(`${dtype} layerNorm`, y, x.grad, w.grad, b.grad);
      const table = antler.tensor(randoms(17 * 29, -1, 1), [17, 29], { dtype, requiresGrad: true });
      const idx = antler.tensor(Array.from({ length: 41 }, () => rng.int(0, 16)), [41], { dtype: 'int32' });
      const e = antler.embedding(idx, table);
      e.backward(antler.tensor(randoms(41 * 29, -1, 1), [41, 29], { dtype }));
      record(`${dtype} embedding`, e, table.grad);
    }
    // The fused SRU (two bidirectional layers, tanh, lengths) and its DEER mode.
    for (const mode of ['sequential', 'deer'] as const) {
      const sru = new antler.nn.SRU(19, 70, { numLayers: 2, bidirectional: true, activation: 'tanh', dtype, mode });
      const x = antler.tensor(randoms(23 * 5 * 19, -1, 1), [23, 5, 19], { dtype, requiresGrad: true });
      const { output, c } = sru.forward(x, { lengths: antler.tensor([23, 7, 19, 1, 23], [5], { dtype: 'int32' }) });
      output.sum().add(c.square().sum()).backward();
      record(`${dtype} SRU ${mode}`, output, c, x.grad, ...sru.parameters().map((p) => p.grad));
      sru.dispose();
    }
    // GRU, LSTM and RNN: the fused sequential kernels and the DEER modes (cell Jacobians), with hidden
    // sizes below and above native/cpu/cells.cpp's GEMM thresholds (Whh·h by small products or GEMM; 70: a partial chunk of units).
    for (const kind of ['GRU', 'LSTM', 'RNN'] as const) {
      for (const hidden of [21, 70]) {
        // (At 70 units the dense modes' [T, B, n, n] Jacobians would make this fixture slow: the
        // sequential and diagonal modes run the same unit loops, the dense J rows aside.)
        for (const mode of hidden < 32 ? (['sequential', 'deer', 'quasi', 'elk'] as const) : (['sequential', 'quasi'] as const)) {
          const net = new antler.nn[kind](11, hidden, { numLayers: 2, bidirectional: kind !== 'RNN', dtype, mode });
          const x = antler.tensor(randoms(31 * 3 * 11, -1, 1), [31, 3, 11], { dtype, requiresGrad: true });
          const r = net.forward(x);
          r.output.sum().backward();
          record(`${dtype} ${kind} H=${hidden} ${mode}`, r.output, r.hidden, x.grad, ...net.parameters().map((p) => p.grad));
          net.dispose();
        }
      }
    }
    // The DEER scans (dense and diagonal) with their backward, matrix exponentials, a neural-ODE solve.
    {
      const [T, B, n] = [45, 3, 7];
      const A = antler.tensor(randoms(T * B * n * n, -0.4, 0.4), [T, B, n, n], { dtype, requiresGrad: true });
      const a = antler.tensor(randoms(T * B * n, -0.9, 0.9), [T, B, n], { dtype, requiresGrad: true });
      const b = antler.tensor(randoms(T * B * n, -1, 1), [T, B, n], { dtype, requiresGrad: true });
      const y0 = antler.tensor(randoms(B * n, -1, 1), [B, n], { dtype, requiresGrad: true });
      const dense = antler.deer.scan(A, b, y0), diagonal = antler.deer.scan(a, b, y0);
      dense.add(diagonal.square()).sum().backward();
      record(`${dtype} deer.scan`, dense, diagonal, A.grad, a.grad, b.grad, y0.grad);
      const M = antler.tensor(randoms(5 * 6 * 6, -3, 3), [5, 6, 6], { dtype });
      record(`${dtype} expm`, antler.deer.expm(M));
      const W = antler.tensor(randoms(n * n, -0.5, 0.5), [n, n], { dtype, requiresGrad: true });
      const field = (_t: Tensor, y: Tensor) => antler.tanh(y.matmul(W)).sub(y.mul(0.1));
      const { y } = antler.deer.solveIVP(field, y0, Array.from({ length: 40 }, (_, i) => i * 0.05));
      y.sum().backward();
      record(`${dtype} solveIVP`, y, W.grad);
    }
    // Every op of the registry on its samples, forward and backward.
    for (const op of OPS) {
      op.samples(rng).forEach((sample, s) => {
        const xs = sample.inputs.map((i) => antler.tensor(i.values, i.shape, { dtype, requiresGrad: true }));
        const aux = (sample.aux ?? []).map((a) => antler.tensor(a.values, a.shape, { dtype: a.dtype === 'int32' ? 'int32' : dtype }));
        const y = op.fn(xs, aux);
        y.sum().backward();
        record(`${dtype} ${op.name} sample ${s}`, y, ...xs.map((x) => x.grad));
      });
    }
  });
}

// The unary ops that run on int32 (their AVX2 copy too), over wrapping values.
antler.tidy(() => {
  const ints = [...Array.from({ length: 1021 }, () => rng.int(-50000, 50000)), 0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 46341, -46341];
  const x = antler.tensor(ints, [ints.length], { dtype: 'int32' });
  const ops: Unary[] = [
    ['neg', antler.neg], ['abs', antler.abs], ['relu', antler.relu], ['square', antler.square], ['sign', antler.sign],
    ['floor', antler.floor], ['ceil', antler.ceil], ['round', antler.round], ['clamp', (t) => antler.clamp(t, -7, 300)],
  ];
  for (const [name, f] of ops) record(`int32 ${name}`, f(x));
});

process.stdout.write(JSON.stringify({ cpuIsa: antler.backends().cpu.isa, digests }));
