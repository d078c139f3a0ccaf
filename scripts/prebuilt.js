#!/usr/bin/env node
// Makes the prebuilt platform package of this machine (antler-<platform>-<arch>)
// from a built addon, ready for `npm publish`: the package that antler's
// install script and loader look for before building from source.
//
//   node scripts/prebuilt.js [--binary build/Release/antler.node] [--out prebuilt] [--allow-local-archs]
//
// Refuses a binary that would not serve every user of the platform: another
// version than package.json's, CUDA code for fewer GPU generations than the
// default list (a build on a GPU machine compiles for its GPU alone unless
// ANTLER_CUDA_ARCHS is set; --allow-local-archs accepts it), or a link-time
// dependency on CUDA or OpenBLAS libraries (those are opened at run time).
// Release steps: README.md, "Prebuilt binaries".
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { DEFAULT_CUDA_ARCHS: DEFAULT_ARCHS, probeAddon } = require('./build-cmake');

function parseArgs(argv) {
  const opts = { binary: 'build/Release/antler.node', out: 'prebuilt', allowLocalArchs: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--binary' || a === '--out') {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      opts[a.slice(2)] = argv[++i];
    } else if (a === '--allow-local-archs') opts.allowLocalArchs = true;
    else throw new Error(`unknown argument ${JSON.stringify(a)} (expected --binary FILE, --out DIR, --allow-local-archs)`);
  }
  return opts;
}

/** The addon's buildInfo(), read in a child process (a binary that does not load is reported, not thrown at us). */
function buildInfoOf(binary) {
  const r = probeAddon(binary);
  if (r.error) throw new Error(`${binary} does not load: ${r.error}`);
  return r.info;
}

/** Shared libraries the binary names as NEEDED (Linux, when readelf or ldd is there), else null. */
function neededLibraries(binary) {
  if (process.platform !== 'linux') return null;
  const readelf = spawnSync('readelf', ['-d', binary], { encoding: 'utf8' });
  if (readelf.status === 0) return [...readelf.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const ldd = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (ldd.status === 0) return ldd.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((l) => l && !l.startsWith('/') && !l.startsWith('linux-vdso'));
  return null;
}

function makePrebuilt(options) {
  const root = path.resolve(__dirname, '..');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const binary = path.resolve(root, options.binary);
  if (!fs.existsSync(binary)) throw new Error(`no binary at ${binary}; build it first (ANTLER_CUDA_ARCHS="${DEFAULT_ARCHS.join(';')}" npm run build)`);
  const info = buildInfoOf(binary);
  if (info.version !== pkg.version) throw new Error(`the binary is version ${info.version}; package.json says ${pkg.version}: rebuild it`);
  const archs = info.cudaCompiled ? [...String(info.cudaArchs).split('+')[0].matchAll(/\d+/g)].map((m) => m[0]) : [];
  const missing = DEFAULT_ARCHS.filter((a) => !archs.includes(a));
  if (info.cudaCompiled && missing.length && !options.allowLocalArchs)
    throw new Error(`the binary has GPU code for ${info.cudaArchs} only (no sm_${missing.join(', sm_')}): rebuild with ANTLER_CUDA_ARCHS="${DEFAULT_ARCHS.join(';')}" npm run build, or pass --allow-local-archs`);
  const needed = neededLibraries(binary);
  const forbidden = (needed ?? []).filter((l) => /^lib(cuda|cudart|cublas|openblas)/.test(l));
  if (forbidden.length) throw new Error(`the binary links ${forbidden.join(', ')}; a prebuilt binary must open them at run time (build it with this repository's CMakeLists.txt)`);

  const name = `antler-${process.platform}-${process.arch}`;
  const dir = path.resolve(root, options.out, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(binary, path.join(dir, 'antler.node'));
  fs.copyFileSync(path.join(root, 'LICENSE'), path.join(dir, 'LICENSE'));
  const glibc = process.platform === 'linux' ? process.report?.getReport?.().header?.glibcVersionRuntime : undefined;
  const backendsText = info.cudaCompiled ? `CPU and CUDA (${info.cudaArchs})` : 'CPU only';
  const manifest = {
    name,
    version: pkg.version,
    description: `antler's prebuilt native addon for ${process.platform}-${process.arch}: ${backendsText}`,
    license: pkg.license,
    os: [process.platform],
    cpu: [process.arch],
    ...(process.platform === 'linux' ? { libc: [glibc ? 'glibc' : 'musl'] } : {}),
    files: ['antler.node', 'LICENSE', 'README.md'],
    engines: pkg.engines,
  };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.writeFileSync(
    path.join(dir, 'README.md'),
    [
      `# ${name}`,
      '',
      `The native addon of [antler](https://www.npmjs.com/package/antler) ${pkg.version}, built for ${process.platform}-${process.arch}`,
      `(${backendsText}; ${info.buildSystem}, ${info.compiler}${glibc ? `, glibc ${glibc}` : ''}). antler installs it as an optional`,
      'dependency and loads it when no local build exists; where it does not load, antler builds from source.',
      '',
      `Run-time libraries it needs: ${needed ? needed.join(', ') : 'see `ldd antler.node`'}. OpenBLAS and the NVIDIA`,
      'libraries are opened at run time when present (`npx antler doctor` shows what was found).',
      '',
    ].join('\n'),
  );
  return { dir, name, version: pkg.version, info, needed, glibc };
}

module.exports = { makePrebuilt };

if (require.main === module) {
  try {
    const r = makePrebuilt(parseArgs(process.argv.slice(2)));
    console.log(`antler: wrote ${path.relative(process.cwd(), r.dir)} (${r.info.cudaCompiled ? `CUDA ${r.info.cudaArchs}` : 'CPU only'}${r.glibc ? `, glibc ${r.glibc}` : ''})`);
    if (r.needed) console.log(`  needs at run time: ${r.needed.join(', ')}`);
    console.log(`  publish: npm publish ${path.relative(process.cwd(), r.dir)}`);
    console.log(`  then list it in antler's package.json: "optionalDependencies": { "${r.name}": "${r.version}" }`);
  } catch (e) {
    console.error(`antler prebuilt: ${e.message}`);
    process.exit(1);
  }
}
