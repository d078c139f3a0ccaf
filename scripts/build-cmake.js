#!/usr/bin/env node
// Builds the addon with cmake-js into build/ (or --out DIR). Environment:
// ANTLER_BACKEND=cpu forces a CPU-only build; ANTLER_CUDA_ARCHS picks GPU archs
// (scripts/install.js sets it to this machine's GPU when nvidia-smi reports one).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

function buildCmake({ out = 'build', extra = [] } = {}) {
  const root = path.resolve(__dirname, '..');
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const args = [cmakeJs, 'rebuild', '--out', out, '--parallel', String(require('node:os').availableParallelism?.() ?? 2), ...extra];
  console.log(`antler: cmake-js ${args.slice(1).join(' ')}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env });
  return r.status === 0;
}

/** The GPU architectures of a default CUDA build (CMakeLists.txt's ANTLER_CUDA_ARCHS default too). */
const DEFAULT_CUDA_ARCHS = ['75', '80', '86', '89', '90'];
/** antler's CUDA backend needs compute capability 7.5 or newer (CUDA 13's minimum). */
const MIN_CUDA_ARCH = 75;

/**
 * The GPU architectures of this machine ("90", or "80" and "86" for two GPUs),
 * when nvidia-smi reports them and the nvcc that will build can compile each:
 * a build for them alone takes a fraction of the default list's time. Returns
 * { archs } (null when the default list should be used) and a note to print.
 */
function localCudaArchs(env = process.env) {
  const sm = (list) => list.map((a) => `sm_${a}`).join(', ');
  const run = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 20_000 });
  const smi = run('nvidia-smi', ['--query-gpu=compute_cap', '--format=csv,noheader']);
  if (smi.status !== 0 || !smi.stdout) return { archs: null, note: null };
  const caps = smi.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  if (!caps.length || !caps.every((c) => /^\d+\.\d+$/.test(c))) return { archs: null, note: `nvidia-smi did not report compute capabilities (${JSON.stringify(smi.stdout.trim().slice(0, 80))}); building the default GPU architectures` };
  const archs = [...new Set(caps.map((c) => c.replace('.', '')))].sort((a, b) => Number(a) - Number(b));
  const old = archs.filter((a) => Number(a) < MIN_CUDA_ARCH);
  if (old.length)
    return { archs: null, note: `this machine's GPU is ${sm(archs)} (nvidia-smi); antler's CUDA backend needs sm_${MIN_CUDA_ARCH} or newer, so ${sm(old)} will not run it; building the default GPU architectures` };
  const nvcc = env.CUDACXX || 'nvcc';
  const codes = run(nvcc, ['--list-gpu-code']);
  const known = new Set(codes.status === 0 ? [...codes.stdout.matchAll(/sm_(\d+)\b/g)].map((m) => m[1]) : []);
  const missing = archs.filter((a) => !known.has(a));
  if (missing.length)
    return { archs: null, note: `this machine's GPU is ${sm(archs)} (nvidia-smi), but ${nvcc} ${codes.status === 0 ? `cannot build for ${sm(missing)}` : 'did not list the architectures it builds (--list-gpu-code)'}; building the default GPU architectures` };
  return { archs, note: `this machine's GPU is ${sm(archs)} (nvidia-smi): building GPU code for it alone (ANTLER_CUDA_ARCHS="${DEFAULT_CUDA_ARCHS.join(';')}" builds the default list, for other GPUs)` };
}

/**
 * Loads an addon in a child process (one that crashes or does not load is
 * reported, not thrown at the caller) and returns its buildInfo(), or the
 * reason it did not load: the error's own line (the file too short, an
 * invalid ELF header, a missing GLIBC version), not the Node stack location
 * that stderr starts with.
 */
function probeAddon(file) {
  const r = spawnSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(require(${JSON.stringify(file)}).buildInfo()))`], { encoding: 'utf8' });
  if (r.status === 0) {
    try {
      return { info: JSON.parse(r.stdout) };
    } catch {
      return { error: `its buildInfo() printed ${JSON.stringify(r.stdout.slice(0, 200))}` };
    }
  }
  const lines = (r.stderr || '').split('\n').map((l) => l.trim()).filter(Boolean);
  const error = lines.find((l) => /^(\w*Error|Error)\b/.test(l)) || lines.find((l) => /error/i.test(l)) || lines[0];
  return { error: error || (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`) };
}

module.exports = { buildCmake, localCudaArchs, probeAddon, DEFAULT_CUDA_ARCHS, MIN_CUDA_ARCH };

if (require.main === module) {
  const argv = process.argv.slice(2);
  const outIdx = argv.indexOf('--out');
  const out = outIdx >= 0 ? argv[outIdx + 1] : 'build';
  process.exit(buildCmake({ out }) ? 0 : 1);
}
