/**
 * The CUDA backend's launchers and kernels (native/cuda/scan.cu, cells.cu,
 * elk.cu with elk_dense.cuh, sru.cu; softmax.cu, layernorm.cu, loss.cu,
 * embedding.cu, shape.cu, reduce.cu, matmul.cu, fill.cu, random.cu, cast.cu,
 * binary.cu, unary.cu, optim.cu),
 * which this machine cannot run on a GPU, run from their own source under a host emulation (test/emu/: one fiber
 * per CUDA thread, every barrier round in a shuffled order, blocks in a
 * shuffled order, pool scratch, shared memory and outputs starting as NaN)
 * and compared with the CPU backend on fresh random inputs. Catches a missing
 * __syncthreads, a bad chunk plan, launch shape or index, and an element left
 * unwritten. Needs a C++20 compiler (g++), which building the addon needs
 * anyway; skips with a line when there is none. The build is cached in the
 * temp dir, keyed by the sources.
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeRng } from '../helpers';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { transform } = require('../emu/transform.js') as { transform: (file: string) => string };

const root = path.resolve(__dirname, '../..');
const cxx = process.env.CXX || 'g++';
const haveCompiler = spawnSync(cxx, ['--version']).status === 0;
const run = haveCompiler ? describe : describe.skip;
if (!haveCompiler) console.log(`CUDA emulation tests skipped: no C++ compiler '${cxx}'`);

// Each emulation program: its driver, the CUDA files it rewrites, the CPU backend files it compares with.
const COMMON = ['test/emu/allocator_emu.cpp', 'native/cpu/gemm.cpp', 'native/cpu/parallel.cpp', 'native/core/error.cpp'];
const PROGRAMS = {
  backends: {
    driver: 'test/emu/backends_emu.cpp', cuda: ['scan', 'cells', 'elk', 'sru'],
    cpu: ['native/cpu/scan.cpp', 'native/cpu/cells.cpp', 'native/cpu/elk.cpp', 'native/cpu/sru.cpp'],
  },
  ops: {
    driver: 'test/emu/ops_emu.cpp', cuda: ['softmax', 'layernorm', 'loss', 'embedding', 'shape', 'reduce', 'matmul', 'fill', 'random', 'cast', 'binary', 'unary', 'optim'],
    cpu: ['native/cpu/rows.cpp', 'native/cpu/shape.cpp', 'native/cpu/elementwise.cpp', 'native/cpu/unary.cpp', 'native/cpu/optim.cpp'],
  },
};

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)])).sort();
}

function compile(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cxx, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cxx} ${args.join(' ')} failed:\n${err}`))));
  });
}

/** Builds one emulation program (cached in the temp dir, keyed by every native and test/emu source); returns the executable. */
async function build(name: keyof typeof PROGRAMS): Promise<string> {
  const prog = PROGRAMS[name];
  const hash = crypto.createHash('sha256').update(name);
  for (const f of [...filesUnder(path.join(root, 'native')), ...filesUnder(path.join(root, 'test/emu'))]) hash.update(f).update(fs.readFileSync(f));
  const dir = path.join(os.tmpdir(), `antler-emu-${hash.digest('hex').slice(0, 16)}`);
  const exe = path.join(dir, `${name}_emu`);
  if (fs.existsSync(exe)) return exe;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-emu-build-'));
  // test/emu/include first: its cuda_runtime.h stands in for CUDA's under the backend's own headers.
  // -ffp-contract=off as the addon's CPU build: the bit-exact checks must see two separately rounded operations.
  const flags = ['-std=c++20', '-O1', '-ffp-contract=off', '-Wno-unknown-pragmas', `-I${path.join(root, 'test/emu/include')}`];
  const sources = [prog.driver, ...COMMON, ...prog.cpu].map((f) => path.join(root, f));
  for (const f of prog.cuda) {
    const out = path.join(work, `cuda_${f}.cpp`);
    fs.writeFileSync(out, transform(path.join(root, 'native/cuda', `${f}.cu`)));
    sources.push(out);
  }
  const objects = sources.map((_, i) => path.join(work, `${i}.o`));
  await Promise.all(sources.map((src, i) => compile([...flags, '-c', src, '-o', objects[i]])));
  await compile(['-o', path.join(work, 'program'), ...objects]);
  fs.mkdirSync(dir, { recursive: true });
  fs.renameSync(path.join(work, 'program'), exe);
  fs.rmSync(work, { recursive: true, force: true });
  return exe;
}

/** Runs a program with a fresh seed; fails with its non-ok lines. */
async function runProgram(name: keyof typeof PROGRAMS, minChecks: number): Promise<void> {
  const rng = makeRng();
  const exe = await build(name);
  const r = spawnSync(exe, [String(rng.seed)], { encoding: 'utf8', timeout: 240_000 });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`emulation failed (seed ${rng.seed}, exit ${r.status}):\n${out.split('\n').filter((l) => !l.startsWith('ok ')).join('\n')}`);
  expect(out).toMatch(/emulation: \d+ passed, 0 failed/);
  expect(Number(/emulation: (\d+) passed/.exec(out)![1])).toBeGreaterThanOrEqual(minChecks);
}

run('CUDA kernels under host emulation', () => {
  test('deerScan (forward and backward), the DEER cells (linearize, sequential walk, BPTT and adjoint backward), deerElk (diagonal and dense) and the SRU (forward, backward, DEER pass) match the CPU backend', async () => {
    await runProgram('backends', 467);
  }, 400_000);

  test('softmax, layerNorm, crossEntropy, gather/scatter rows, reductions, strided copy, where, the tiled GEMM, unary ops and the SGD/Adam steps match the CPU backend (or a float64 loop); fill, arange, rand/randn, cast and the binary ops equal it to the bit', async () => {
    await runProgram('ops', 850);
  }, 400_000);
});
