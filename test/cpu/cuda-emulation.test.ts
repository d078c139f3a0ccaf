/**
 * The CUDA backend's launchers and kernels (native/cuda/scan.cu, cells.cu,
 * elk.cu with elk_dense.cuh, sru.cu; softmax.cu, layernorm.cu, loss.cu,
 * embedding.cu, shape.cu, reduce.cu, matmul.cu, fill.cu, random.cu, cast.cu,
 * binary.cu, unary.cu, optim.cu, cumsum.cu, argreduce.cu, topk.cu, ctc.cu),
 * which this machine cannot run on a GPU, run from their own source under a host emulation (test/emu/: one fiber
 * per CUDA thread, every barrier round in a shuffled order, blocks in a
 * shuffled order, pool scratch, shared memory and outputs starting as NaN)
 * and compared with the CPU backend on fresh random inputs. Catches a missing
 * __syncthreads, a bad chunk plan, launch shape or index, and an element left
 * unwritten. Needs a C++20 compiler (g++), which building the addon needs
 * anyway; skips with a line when there is none. test/emu/build.js builds the
 * programs, cached in the temp dir under a key of the sources.
 */
import { spawnSync } from 'child_process';
import { makeRng } from '../helpers';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { build, haveCompiler, cxx } = require('../emu/build.js') as {
  build: (name: 'backends' | 'ops') => Promise<string>;
  haveCompiler: () => boolean;
  cxx: string;
};

const run = haveCompiler() ? describe : describe.skip;
if (!haveCompiler()) console.log(`CUDA emulation tests skipped: no C++ compiler '${cxx}'`);

/** Runs a program with a fresh seed; fails with its non-ok lines. */
async function runProgram(name: 'backends' | 'ops', minChecks: number): Promise<void> {
  const rng = makeRng();
  const exe = await build(name);
  const r = spawnSync(exe, [String(rng.seed)], { encoding: 'utf8', timeout: 240_000 });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`emulation failed (seed ${rng.seed}, exit ${r.status}):\n${out.split('\n').filter((l) => !l.startsWith('ok ')).join('\n')}`);
  expect(out).toMatch(/emulation: \d+ passed, 0 failed/);
  expect(Number(/emulation: (\d+) passed/.exec(out)![1])).toBeGreaterThanOrEqual(minChecks);
}

run('CUDA kernels under host emulation', () => {
  test('deerScan (forward and backward), the DEER cells (linearize, sequential walk, BPTT and adjoint backward), the fused DEER solve and adjoint (chunk maps in shared memory and in global scratch), deerElk (diagonal and dense) and the SRU (forward, backward, DEER pass) match the CPU backend', async () => {
    await runProgram('backends', 999);
  }, 400_000);

  test('softmax, cumsum, argmax/argmin, topk (selection and merge sort), CTC, layerNorm, crossEntropy, gather/scatter rows, reductions, strided copy, where, the tiled GEMM, unary ops and the SGD/Adam/RMSprop/Adagrad steps match the CPU backend (or a float64 loop); fill, arange, rand/randn, cast and the binary ops equal it to the bit', async () => {
    await runProgram('ops', 1543);
  }, 400_000);
});
