// Builds the host emulation's programs with g++ (or $CXX), cached in the temp
// dir under a key of every native/ and test/emu/ source, so a rerun with no
// change costs nothing:
//   - the two test drivers (backends_emu, ops_emu: CUDA launchers against the
//     CPU backend, run by test/cpu/cuda-emulation.test.ts);
//   - the whole addon with its CUDA backend emulated (emu-addon): every
//     native/cuda/*.cu rewritten by transform.js, one emulated device, so the
//     GPU test project runs on a machine without a GPU:
//       node test/emu/build.js addon   # prints the .node path
//       ANTLER_BINARY=<that path> npx jest --selectProjects gpu
'use strict';
const { spawn, spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { transform } = require('./transform.js');

const root = path.resolve(__dirname, '../..');
const cxx = process.env.CXX || 'g++';

// -ffp-contract=off as the addon's CPU build: the bit-exact checks must see two separately rounded operations.
const FLAGS = ['-std=c++20', '-O1', '-ffp-contract=off', '-Wno-unknown-pragmas', `-I${path.join(root, 'test/emu/include')}`];
const COMMON = ['test/emu/allocator_emu.cpp', 'native/cpu/blas.cpp', 'native/cpu/gemm.cpp', 'native/cpu/parallel.cpp', 'native/core/error.cpp'];
// The CPU loop families with an AVX2 copy (every native/cpu/<family>_avx2.cpp), both copies and the dispatch
// (native/cpu/isa.h): linked whole, as isa.cpp's entry points refer to all of them.
const AVX2_FAMILIES = fs.readdirSync(path.join(root, 'native/cpu')).filter((f) => f.endsWith('_avx2.cpp')).sort().map((f) => f.slice(0, -'_avx2.cpp'.length));
const ISA = ['isa', ...AVX2_FAMILIES.flatMap((f) => [f, `${f}_avx2`])].map((f) => `native/cpu/${f}.cpp`);
const list = (dir, ext) => fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith(ext)).sort().map((f) => path.join(dir, f));

const PROGRAMS = {
  backends: {
    sources: ['test/emu/backends_emu.cpp', ...COMMON, ...ISA, 'native/cpu/scan.cpp', 'native/cpu/elk.cpp', 'native/cpu/deer_fused.cpp'],
    cuda: ['scan', 'cells', 'elk', 'sru', 'deer_fused'],
    // The residual's grid covers at most 7 columns here (65,535 on a GPU), so its loop over further columns runs;
    // expm's scratch is capped at 64 KB (256 MB on a GPU), so wide matrices take several launches.
    flags: ['-DANTLER_RESIDUAL_MAX_COLUMNS=7', '-DANTLER_EXPM_SCRATCH=65536'],
  },
  ops: {
    sources: ['test/emu/ops_emu.cpp', ...COMMON, ...ISA, 'native/cpu/shape.cpp', 'native/cpu/elementwise.cpp', 'native/cpu/optim.cpp', 'native/cpu/cumsum.cpp', 'native/cpu/argreduce.cpp', 'native/cpu/topk.cpp', 'native/cpu/ctc.cpp'],
    cuda: ['softmax', 'layernorm', 'loss', 'embedding', 'shape', 'reduce', 'matmul', 'fill', 'random', 'cast', 'binary', 'unary', 'optim', 'cumsum', 'argreduce', 'topk', 'ctc'],
  },
};

function addonProgram() {
  const napi = [path.join(root, 'node_modules/node-api-headers/include'), require('node-addon-api').include_dir];
  return {
    sources: [...list('native/core', '.cpp'), ...list('native/cpu', '.cpp'), ...list('native/napi', '.cpp'), 'native/cuda/cublas.cpp'],
    cuda: list('native/cuda', '.cu').map((f) => path.basename(f, '.cu')),
    launchesRequired: false,
    flags: ['-fPIC', '-fopenmp', `-I${path.join(root, 'native')}`, ...napi.map((d) => `-I${d}`),
      '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS', '-DANTLER_VERSION="emulation"', '-DANTLER_BUILD_SYSTEM="host emulation (test/emu)"',
      '-DANTLER_CUDA_ARCHS="emulated"'],
    link: ['-shared', '-fopenmp', '-ldl', '-Wl,-z,nodelete'],
    output: 'antler.node',
  };
}

function filesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)])).sort();
}

function compile(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cxx, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cxx} ${args.join(' ')} failed:\n${err}`))));
  });
}

/** Runs at most `limit` of the promise-returning jobs at once. */
async function pool(jobs, limit) {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}

const haveCompiler = () => spawnSync(cxx, ['--version']).status === 0;

/** Builds `name` ('backends' | 'ops' | 'addon') unless cached; returns the executable or .node path. */
async function build(name) {
  const prog = name === 'addon' ? addonProgram() : PROGRAMS[name];
  if (!prog) throw new Error(`build: unknown program '${name}'`);
  const hash = crypto.createHash('sha256').update(name);
  for (const f of [...filesUnder(path.join(root, 'native')), ...filesUnder(path.join(root, 'test/emu'))]) hash.update(f).update(fs.readFileSync(f));
  const dir = path.join(os.tmpdir(), `antler-emu-${hash.digest('hex').slice(0, 16)}`);
  const out = path.join(dir, prog.output ?? `${name}_emu`);
  if (fs.existsSync(out)) return out;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-emu-build-'));
  const sources = prog.sources.map((f) => path.join(root, f));
  for (const f of prog.cuda) {
    const file = path.join(work, `cuda_${f}.cpp`);
    fs.writeFileSync(file, transform(path.join(root, 'native/cuda', `${f}.cu`), { launchesRequired: prog.launchesRequired ?? true }));
    sources.push(file);
  }
  const flags = [...FLAGS, ...(prog.flags ?? [])];
  const objects = sources.map((_, i) => path.join(work, `${i}.o`));
  await pool(sources.map((src, i) => () => compile([...flags, '-c', src, '-o', objects[i]])), Math.max(2, os.cpus().length));
  await compile(['-o', path.join(work, 'output'), ...objects, ...(prog.link ?? [])]);
  fs.mkdirSync(dir, { recursive: true });
  fs.renameSync(path.join(work, 'output'), out);
  fs.rmSync(work, { recursive: true, force: true });
  return out;
}

module.exports = { build, haveCompiler, cxx };

if (require.main === module) {
  build(process.argv[2] || 'addon').then((p) => console.log(p), (e) => {
    console.error(e.message);
    process.exit(1);
  });
}
