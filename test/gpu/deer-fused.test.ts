// The fused DEER solve on CUDA (native/cuda/deer_fused.cu: every Newton
// iteration of 'deer' and 'quasi' in one launch, a thread block per
// sequence, or for small batches several: segments of a cooperative launch)
// against the CPU: its answer against the CPU's sequential walk,
// its judgement of every sequence against the CPU's fused solve (itself
// checked against the iteration by launches in test/cpu/deer-fused.test.ts),
// at the kernel's edges: one unit (256 chunks of a step or two), T below the
// chunk count, the widest dense state (n = 16) and quasi width (H = 32), the
// LSTM's two rows per unit, more sequences than blocks; and the fused adjoint
// (cuda/deer_fused.cu's deerAdjointKernel) under the gradients. Skips where no GPU is usable.
import * as antler from '../../lib';
import { tensor, tidy } from '../../lib';
import { cellRecurrence, CellKind, DeerOptions, DeerStats } from '../../lib/deer';
import { cellNative } from '../../lib/deer/native-cells';
import { NativeHandle } from '../../lib/native';
import { wrap } from '../../lib/ops/core';
import { expectAntlerError, expectClose, makeRng, maxAbs, randomArray, randomCellValues } from '../helpers';
import { gpuDescribe } from './suite';

const rng = makeRng();
antler.setSeed(rng.u32());
const run = gpuDescribe('fused DEER tests');
const emulated = process.env.ANTLER_GPU_EMULATED === '1';

type Dt = 'float32' | 'float64';
type Cell = { kind: CellKind; values: Float64Array[]; shapes: number[][] };

const randomCell = (kind: CellKind, T: number, B: number, H: number, gain = 1): Cell => randomCellValues(rng, kind, T, B, H, gain);

/** y, the stats and (with w) the gradients of Σ w ⊙ y for xp, Whh, bhh, y0. */
function solve(c: Cell, dtype: Dt, device: string, options: DeerOptions, w?: Float64Array): { y: Float64Array; stats: DeerStats; grads: Float64Array[] } {
  return tidy(() => {
    const [xp, Whh, bhh, y0] = c.values.map((a, i) => tensor(dtype === 'float64' ? a : Float32Array.from(a), c.shapes[i], { dtype, device, requiresGrad: w !== undefined }));
    const r = cellRecurrence(c.kind, xp, Whh, bhh, y0, options);
    let grads: Float64Array[] = [];
    if (w) {
      antler.sum(antler.mul(r.y, tensor(dtype === 'float64' ? w : Float32Array.from(w), r.y.shape.slice(), { dtype, device }))).backward();
      grads = [xp, Whh, bhh, y0].map((t) => Float64Array.from(t.grad!.dataSync()));
    }
    return { y: Float64Array.from(r.y.dataSync()), stats: r.stats, grads };
  });
}

const relClose = (a: Float64Array, b: Float64Array, tol: number, what: string) => expectClose(a, b, 0, tol * Math.max(1, maxAbs(b)), what);

run(`fused DEER solve on CUDA (seed ${rng.seed})`, () => {
  // [kind, T, B, H]: H = 1 (256 chunks), T below the chunk count, LSTM rows, the dense and quasi limits.
  const cases: [CellKind, number, number, number][] = [
    ['gru', 1, 2, 1],
    ['gru', 37, 3, 1],
    ['rnn_tanh', emulated ? 300 : 3000, 2, 3],
    ['lstm', 120, 2, 2],
    ['gru', emulated ? 200 : 2000, 2, 16],
    ['lstm', emulated ? 150 : 1500, 2, 8],
    ['rnn_relu', 90, 2, 5],
  ];
  for (const [kind, T, B, H] of cases)
    for (const dtype of ['float64', 'float32'] as Dt[])
      test(`${kind} T=${T} B=${B} H=${H} ${dtype}: deer and quasi equal the CPU's sequential walk and its fused judgement, gradients by the fused adjoint`, () => {
        const c = randomCell(kind, T, B, H);
        const tol = dtype === 'float64' ? 1e-10 : 1e-5;
        const w = Float64Array.from(randomArray(rng, T * B * (kind === 'lstm' ? 2 * H : H)));
        const seq = solve(c, dtype, 'cpu', { mode: 'sequential' }, w);
        for (const mode of ['deer', 'quasi'] as const) {
          const gpu = solve(c, dtype, 'cuda', { mode }, w);
          ['xp', 'Whh', 'bhh', 'y0'].forEach((name, i) => relClose(gpu.grads[i], seq.grads[i], tol, `${mode} gradient of ${name}`));
          const cpu = solve(c, dtype, 'cpu', { mode, fused: true });
          expect(gpu.stats.converged.every(Boolean)).toBe(true);
          expect(gpu.stats.fallback).toBe(false);
          relClose(gpu.y, seq.y, tol, `${mode} y`);
          expect(gpu.stats.converged).toEqual(cpu.stats.converged);
          gpu.stats.sequenceIterations.forEach((k, b) => expect(Math.abs(k - cpu.stats.sequenceIterations[b])).toBeLessThanOrEqual(1));
          // By launches on the same device: the same answer.
          const launches = solve(c, dtype, 'cuda', { mode, fused: false });
          relClose(gpu.y, launches.y, tol, `${mode} fused against launches`);
        }
      });

  test('quasi at H = 32 (one warp per chunk), and an LSTM of H = 32 (64 state rows)', () => {
    for (const kind of ['gru', 'lstm'] as CellKind[]) {
      const c = randomCell(kind, emulated ? 100 : 1000, 2, 32);
      const seq = solve(c, 'float64', 'cpu', { mode: 'sequential' });
      const gpu = solve(c, 'float64', 'cuda', { mode: 'quasi' });
      expect(gpu.stats.converged.every(Boolean)).toBe(true);
      relClose(gpu.y, seq.y, 1e-10, kind);
    }
  });

  test('a small batch: each sequence split over the blocks of a cooperative launch (segments) gives the iterates, the answer and the adjoint of a block per sequence', () => {
    // Here K blocks per sequence: min(resident blocks / B, T / (2 × chunks)) (emulated: 8 resident blocks; gru H = 1:
    // 256 chunks; lstm H = 4: 64; gru H = 16: 16). maxSegments 1 keeps a block per sequence.
    const nat = cellNative();
    const cases: [CellKind, number, number, number][] = [
      ['gru', emulated ? 1100 : 20000, 2, 1],
      ['lstm', emulated ? 300 : 5000, 1, 4],
      ['gru', emulated ? 200 : 4000, 3, 16],
    ];
    for (const [kind, T, B, H] of cases)
      tidy(() => {
        const c = randomCell(kind, T, B, H);
        const n = kind === 'lstm' ? 2 * H : H;
        const [xp, Whh, bhh, y0] = c.values.map((a, i) => tensor(a, c.shapes[i], { dtype: 'float64', device: 'cuda' }));
        const guess = antler.zeros([T, B, n], { dtype: 'float64', device: 'cuda' });
        const read = (h: NativeHandle) => Float64Array.from(wrap(h).dataSync());
        const solveNative = (jac: 'dense' | 'diagonal', iters: number, segments: number) =>
          nat.cellDeerSolve(kind, xp.handle, Whh.handle, bhh.handle, y0.handle, guess.handle, jac, 1e-12, 1e-12, iters, 2, 8, 1000, 2 ** -52, segments);
        for (const jac of ['dense', 'diagonal'] as const)
          for (const iters of [1, 2, 60]) {
            const [ySplit, sSplit] = solveNative(jac, iters, 0).map(read);
            const [yOne, sOne] = solveNative(jac, iters, 1).map(read);
            // One or two Newton steps: the iterates themselves (a wrong segment start still converges).
            relClose(ySplit, yOne, 1e-10, `${kind} ${jac}, at most ${iters} steps`);
            for (let b = 0; b < B; b++) {
              expect(sSplit[3 * b]).toBe(sOne[3 * b]);
              expect(Math.abs(sSplit[3 * b + 1] - sOne[3 * b + 1])).toBeLessThanOrEqual(iters > 2 ? 1 : 0);
            }
            if (iters === 60) expect(Array.from({ length: B }, (_, b) => sSplit[3 * b])).toEqual(new Array(B).fill(0));
          }
        const [yh, sh] = solveNative('dense', 60, 1);
        const y = wrap(yh);
        wrap(sh);
        const g = tensor(randomArray(rng, T * B * n), [T, B, n], { dtype: 'float64', device: 'cuda' });
        const adjoint = (segments: number) => read(nat.cellDeerAdjoint(kind, xp.handle, Whh.handle, bhh.handle, y0.handle, y.handle, g.handle, segments));
        relClose(adjoint(0), adjoint(1), 1e-10, `${kind} adjoint`);
      });
  });

  test('more sequences than blocks: each block solves several in turn', () => {
    const B = emulated ? 11 : 600; // the grid is 4 blocks per multiprocessor at most
    const c = randomCell('gru', emulated ? 20 : 64, B, 4);
    const seq = solve(c, 'float64', 'cpu', { mode: 'sequential' });
    for (const mode of ['deer', 'quasi'] as const) {
      const gpu = solve(c, 'float64', 'cuda', { mode });
      expect(gpu.stats.converged.every(Boolean)).toBe(true);
      relClose(gpu.y, seq.y, 1e-10, mode);
    }
  });

  test('weights scaled until Newton diverges, and a NaN sequence: detected on the GPU, the answer is the sequential one', () => {
    const T = emulated ? 300 : 1500;
    const c = randomCell('gru', T, 3, 4, 32);
    for (let t = 0; t < T; ++t) c.values[0][(t * 3 + 2) * 12] = NaN; // sequence 2's first gate
    const seq = solve(c, 'float64', 'cpu', { mode: 'sequential' });
    for (const mode of ['deer', 'quasi'] as const) {
      const gpu = solve(c, 'float64', 'cuda', { mode, maxIters: 60 });
      expect(gpu.stats.diverged).toBe(true);
      expect(gpu.stats.converged[2]).toBe(false);
      expect(gpu.stats.fallbackSequences).toContain(2);
      const finite = (y: Float64Array) => Float64Array.from(y.filter((_, i) => Math.floor(i / 4) % 3 !== 2));
      relClose(finite(gpu.y), finite(seq.y), 1e-8, mode);
    }
  });

  test("out of iterations and strict: the same outcome as the CPU's", () => {
    const c = randomCell('lstm', 200, 3, 3);
    const seq = solve(c, 'float32', 'cpu', { mode: 'sequential' });
    const gpu = solve(c, 'float32', 'cuda', { mode: 'deer', maxIters: 1 });
    expect(gpu.stats.fallbackSequences).toEqual([0, 1, 2]);
    expect(gpu.stats.sequenceIterations).toEqual([1, 1, 1]);
    relClose(gpu.y, seq.y, 1e-5, 'fell back');
    expectAntlerError(() => solve(c, 'float32', 'cuda', { mode: 'deer', maxIters: 1, strict: true }), 'NOT_CONVERGED', /3 of 3 sequences did not converge \(3 after 1 deer iterations/);
  });

  test("past the kernel's limits: the native op says so; the solver iterates by launches", () => {
    tidy(() => {
      const c = randomCell('gru', 30, 2, 17);
      const [xp, Whh, bhh, y0] = c.values.map((a, i) => tensor(a, c.shapes[i], { dtype: 'float64', device: 'cuda' }));
      const guess = antler.zeros([30, 2, 17], { dtype: 'float64', device: 'cuda' });
      expectAntlerError(
        () => cellNative().cellDeerSolve('gru', xp.handle, Whh.handle, bhh.handle, y0.handle, guess.handle, 'dense', 1e-12, 1e-12, 30, 2, 8, 1000, 2 ** -52),
        'INVALID_ARGUMENT', /on CUDA the fused dense solve takes states of at most 16 values; got n = 17/);
      expectAntlerError(
        () => cellNative().cellDeerAdjoint('gru', xp.handle, Whh.handle, bhh.handle, y0.handle, guess.handle, guess.handle),
        'INVALID_ARGUMENT', /on CUDA the fused adjoint takes states of at most 16 values; got n = 17/);
      const w = Float64Array.from(randomArray(rng, 30 * 2 * 17));
      const seq = solve(c, 'float64', 'cpu', { mode: 'sequential' }, w);
      const gpu = solve(c, 'float64', 'cuda', { mode: 'deer', fused: true }, w);
      relClose(gpu.y, seq.y, 1e-10, 'n = 17 by launches');
      gpu.grads.forEach((g, i) => relClose(g, seq.grads[i], 1e-10, `n = 17 gradient ${i} by the reverse scan`));
    });
  });
});
