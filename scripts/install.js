#!/usr/bin/env node
// `npm install` hook: makes sure a loadable addon exists, trying in order
//   1. a prebuilt platform package (antler-<platform>-<arch>), unless --force,
//      ANTLER_BUILD_FROM_SOURCE=1 or ANTLER_CUDA_ARCHS is set;
//   2. cmake-js (CUDA when nvcc is on the PATH, for this machine's GPU alone
//      when nvidia-smi reports one and ANTLER_CUDA_ARCHS is unset);
//   3. cmake-js again, CPU only, if the CUDA build failed;
//   4. node-gyp, CPU only (no CMake needed).
// ANTLER_SKIP_BUILD=1 skips all of it. ANTLER_BACKEND=cuda, or architectures
// named in ANTLER_CUDA_ARCHS (without ANTLER_BACKEND=cpu), insist on CUDA:
// no CPU fallback, a non-zero exit instead. A prebuilt package of another
// antler version is not used. Exits non-zero with the remedies
// if nothing could be built. Installed as a dependency (under node_modules),
// a CMake build keeps only the addon (the object files are ~30 MB).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { buildCmake, localCudaArchs, probeAddon, MIN_CUDA_ARCH } = require('./build-cmake');
const { buildGyp } = require('./build-gyp');

const root = path.resolve(__dirname, '..');
const force = process.argv.includes('--force');
const log = (msg) => console.log(`antler: ${msg}`);
// In a user's project the package is rebuilt with npm rebuild; in a clone, with npm run build.
const asDependency = root.split(path.sep).includes('node_modules');
const rebuild = asDependency ? 'npm rebuild antler' : 'npm run build';
const cudaForced = process.env.ANTLER_BACKEND === 'cuda';
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;

/**
 * A CUDA build was asked for (ANTLER_BACKEND=cuda, or GPU architectures named
 * in ANTLER_CUDA_ARCHS) and cannot be made: no quiet CPU-only fallback (npm
 * hides a dependency's output), a non-zero exit with the way out instead.
 */
function failCuda(why) {
  const asked = cudaForced ? 'ANTLER_BACKEND=cuda' : `ANTLER_CUDA_ARCHS="${process.env.ANTLER_CUDA_ARCHS}" asks for a CUDA build`;
  const way = cudaForced ? 'unset ANTLER_BACKEND to allow it' : 'unset ANTLER_CUDA_ARCHS, or set ANTLER_BACKEND=cpu, for one';
  console.error(`antler: ${asked}, but ${why}; not falling back to a CPU-only build (${way}).`);
  return 1;
}

/** Leaves build/Release/antler.node and drops CMake's intermediate files (a dependency is not rebuilt incrementally). */
function pruneCmakeBuild() {
  const dir = path.join(root, 'build');
  for (const name of fs.readdirSync(dir)) if (name !== 'Release') fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  const rel = path.join(dir, 'Release');
  for (const name of fs.readdirSync(rel)) if (name !== 'antler.node') fs.rmSync(path.join(rel, name), { recursive: true, force: true });
}

/** null when the addon at `file` loads here, else why not. */
function loads(file) {
  return probeAddon(file).error ?? null;
}

/** What a CMake build made (its own buildInfo, not a guess from the PATH). */
function builtWith(file) {
  const info = probeAddon(file).info;
  return info && info.cudaCompiled ? `CPU + CUDA ${info.cudaArchs}` : 'CPU';
}

function cmakeVersion() {
  const r = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const m = /cmake version (\d+)\.(\d+)/.exec(r.stdout);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/**
 * The environment's choices, checked before anything is built: a typo would
 * otherwise fail deep in nvcc (and fall back to a CPU build nobody asked
 * for) or be ignored. Returns an error message, or null.
 */
function checkEnvironment() {
  const backend = process.env.ANTLER_BACKEND;
  if (backend !== undefined && backend !== '' && backend !== 'cpu' && backend !== 'cuda')
    return `ANTLER_BACKEND is '${backend}'; expected 'cpu' (CPU only) or 'cuda' (CUDA or fail), or unset (CUDA when nvcc is found)`;
  const archs = process.env.ANTLER_CUDA_ARCHS;
  if (archs !== undefined && archs !== '') {
    // "80,90" and "80 90" mean "80;90" (CMake's list separator).
    const list = archs.split(/[;,\s]+/).filter(Boolean);
    const bad = list.filter((a) => !/^\d+$/.test(a) || Number(a) < MIN_CUDA_ARCH);
    if (!list.length || bad.length)
      return `ANTLER_CUDA_ARCHS is '${archs}'; expected compute capabilities of sm_${MIN_CUDA_ARCH} or newer separated by ';', e.g. "80;90" (${bad.length ? `not one: ${bad.join(', ')}` : 'none given'})`;
    const norm = list.join(';');
    if (norm !== archs) log(`ANTLER_CUDA_ARCHS '${archs}' read as "${norm}"`);
    process.env.ANTLER_CUDA_ARCHS = norm;
  }
  return null;
}

function main() {
  if (process.env.ANTLER_SKIP_BUILD === '1') return log('ANTLER_SKIP_BUILD=1: not building the addon'), 0;
  const envError = checkEnvironment();
  if (envError) return console.error(`antler: ${envError}.`), 1;

  // Asking for GPU architectures asks for a build: a prebuilt binary has its own.
  if (!force && process.env.ANTLER_BUILD_FROM_SOURCE !== '1' && !process.env.ANTLER_CUDA_ARCHS) {
    const pkg = `antler-${process.platform}-${process.arch}`;
    try {
      const file = require.resolve(`${pkg}/antler.node`, { paths: [root] });
      const r = probeAddon(file);
      // A prebuilt of another antler version has other kernels and another native interface.
      const err = r.error ?? (r.info.version !== version ? `it is version ${r.info.version}, and this antler is ${version}` : null);
      if (!err) return log(`using the prebuilt binary from ${pkg}`), 0;
      log(`prebuilt ${pkg} does not load here (${err}); building from source`);
    } catch {
      /* no prebuilt package: build from source */
    }
  }

  const archsAsked = Boolean(process.env.ANTLER_CUDA_ARCHS);
  const cpuOnly = process.env.ANTLER_BACKEND === 'cpu';
  if (archsAsked && cpuOnly) log(`ANTLER_BACKEND=cpu: a CPU-only build; ANTLER_CUDA_ARCHS="${process.env.ANTLER_CUDA_ARCHS}" is not used`);
  const cudaAsked = cudaForced || (archsAsked && !cpuOnly);
  const cm = cmakeVersion();
  const cmakeOk = cm && (cm[0] > 3 || (cm[0] === 3 && cm[1] >= 21));
  if (cudaAsked && !cmakeOk) return failCuda(cm ? `cmake ${cm.join('.')} is older than 3.21 (the CUDA build needs CMake)` : 'cmake is not on the PATH (the CUDA build needs cmake >= 3.21)');
  if (cmakeOk) {
    const withCuda = !cpuOnly && (onPath('nvcc') || Boolean(process.env.CUDACXX));
    if (cudaAsked && !withCuda) return failCuda('nvcc is not on the PATH (and CUDACXX is not set)');
    if (withCuda && !process.env.ANTLER_CUDA_ARCHS) {
      const local = localCudaArchs();
      if (local.note) log(local.note);
      if (local.archs) process.env.ANTLER_CUDA_ARCHS = local.archs.join(';');
    }
    if (buildCmake({ out: 'build' })) {
      const file = path.join(root, 'build', 'Release', 'antler.node');
      const err = loads(file);
      if (!err) {
        const what = builtWith(file);
        if (asDependency) pruneCmakeBuild();
        return log(`built ${path.relative(root, file)} (${what})`), 0;
      }
      log(`the cmake-js build does not load: ${err}`);
    }
    if (cudaAsked) return failCuda('the CUDA build failed (see the errors above)');
    if (withCuda) {
      log('the CUDA build failed; retrying with the CPU backend only (ANTLER_BACKEND=cpu)');
      process.env.ANTLER_BACKEND = 'cpu';
      if (buildCmake({ out: 'build' }) && !loads(path.join(root, 'build', 'Release', 'antler.node'))) {
        if (asDependency) pruneCmakeBuild();
        return log('built build/Release/antler.node (CPU only: see the errors above for CUDA)'), 0;
      }
    }
  } else {
    const why = cm ? `cmake ${cm.join('.')} is older than 3.21` : 'cmake not found';
    log(`${why}; using node-gyp: CPU only, without CUDA (which needs cmake >= 3.21)`);
  }

  if (buildGyp()) {
    const file = path.join(root, 'build-gyp', 'build', 'Release', 'antler.node');
    if (!loads(file)) return log(`built ${path.relative(root, file)} with node-gyp (CPU only)`), 0;
  }

  console.error(
    [
      'antler: could not build the native addon.',
      '  Needs: a C++17 compiler (g++ >= 9 or clang >= 10) and either cmake >= 3.21 or python3 + make.',
      '  Debian/Ubuntu: apt-get install build-essential cmake (and libopenblas0 for fast CPU matmul)',
      `  Then: ${rebuild}   (or ANTLER_BACKEND=cpu ${rebuild} for a CPU-only build)`,
    ].join('\n'),
  );
  return 1;
}

if (fs.existsSync(path.join(root, 'native'))) process.exitCode = main();
