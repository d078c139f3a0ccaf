/**
 * The CUDA backend's DEER and SRU launchers and kernels (native/cuda/scan.cu,
 * cells.cu, elk.cu with elk_dense.cuh, sru.cu), which this machine cannot run on a
 * GPU, run from their own source under a host emulation (test/emu/: one fiber
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

const CUDA = ['scan', 'cells', 'elk', 'sru'];
const CPU = ['cpu/scan.cpp', 'cpu/cells.cpp', 'cpu/elk.cpp', 'cpu/sru.cpp', 'cpu/gemm.cpp', 'cpu/parallel.cpp', 'core/error.cpp'];

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

/** Builds test/emu/backends_emu.cpp with the rewritten CUDA sources and the CPU backend; returns the executable. */
async function build(): Promise<string> {
  const hash = crypto.createHash('sha256');
  for (const f of [...filesUnder(path.join(root, 'native')), ...filesUnder(path.join(root, 'test/emu'))]) hash.update(f).update(fs.readFileSync(f));
  const dir = path.join(os.tmpdir(), `antler-emu-${hash.digest('hex').slice(0, 16)}`);
  const exe = path.join(dir, 'backends_emu');
  if (fs.existsSync(exe)) return exe;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-emu-build-'));
  // test/emu/include first: its cuda_runtime.h stands in for CUDA's under the backend's own headers.
  const flags = ['-std=c++20', '-O1', '-Wno-unknown-pragmas', `-I${path.join(root, 'test/emu/include')}`];
  const sources: string[] = [
    path.join(root, 'test/emu/backends_emu.cpp'), path.join(root, 'test/emu/allocator_emu.cpp'), ...CPU.map((f) => path.join(root, 'native', f)),
  ];
  for (const f of CUDA) {
    const out = path.join(work, `cuda_${f}.cpp`);
    fs.writeFileSync(out, transform(path.join(root, 'native/cuda', `${f}.cu`)));
    sources.push(out);
  }
  const objects = sources.map((s, i) => path.join(work, `${i}.o`));
  await Promise.all(sources.map((s, i) => compile([...flags, '-c', s, '-o', objects[i]])));
  await compile(['-o', path.join(work, 'backends_emu'), ...objects]);
  fs.mkdirSync(dir, { recursive: true });
  fs.renameSync(path.join(work, 'backends_emu'), exe);
  fs.rmSync(work, { recursive: true, force: true });
  return exe;
}

run('CUDA kernels under host emulation', () => {
  test('deerScan (forward and backward), the DEER cells (linearize, sequential walk, BPTT and adjoint backward), deerElk (diagonal and dense) and the SRU (forward, backward, DEER pass) match the CPU backend', async () => {
    const rng = makeRng();
    const exe = await build();
    const r = spawnSync(exe, [String(rng.seed)], { encoding: 'utf8', timeout: 240_000 });
    const out = `${r.stdout}${r.stderr}`;
    if (r.status !== 0) throw new Error(`emulation failed (seed ${rng.seed}, exit ${r.status}):\n${out.split('\n').filter((l) => !l.startsWith('ok ')).join('\n')}`);
    expect(out).toMatch(/emulation: \d+ passed, 0 failed/);
    expect(Number(/emulation: (\d+) passed/.exec(out)![1])).toBeGreaterThan(300);
  }, 400_000);
});
