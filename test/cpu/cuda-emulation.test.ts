/**
 * CUDA kernels that this machine cannot run, run from their own source under
 * a host emulation of threads, blocks and __syncthreads (test/emu/cuda_emu.h:
 * one fiber per CUDA thread, every barrier round in a shuffled order, scratch
 * and outputs starting as NaN), against the same math run serially. Catches
 * a missing barrier, a bad chunk plan or launch, and indexing between the
 * six kernels of native/cuda/elk_dense.cuh. Needs a C++20 compiler (g++),
 * which building the addon needs anyway; skips with a line when there is none.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeRng } from '../helpers';

const root = path.resolve(__dirname, '../..');
const cxx = process.env.CXX || 'g++';
const haveCompiler = spawnSync(cxx, ['--version']).status === 0;
const run = haveCompiler ? describe : describe.skip;
if (!haveCompiler) console.log(`CUDA emulation tests skipped: no C++ compiler '${cxx}'`);

run('CUDA kernels under host emulation', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-emu-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('dense ELK step (cuda/elk_dense.cuh): all six kernels match the serial filter and smoother', () => {
    const rng = makeRng();
    const exe = path.join(dir, 'elk_dense_emu');
    execFileSync(cxx, ['-std=c++20', '-O1', '-o', exe, path.join(root, 'test/emu/elk_dense_emu.cpp')], { stdio: 'pipe' });
    const r = spawnSync(exe, [String(rng.seed)], { encoding: 'utf8', timeout: 120_000 });
    const out = `${r.stdout}${r.stderr}`;
    if (r.status !== 0) throw new Error(`emulation failed (seed ${rng.seed}, exit ${r.status}):\n${out}`);
    expect(out).toMatch(/emulation: 10 passed, 0 failed/);
  }, 180_000);
});
