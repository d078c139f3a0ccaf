// The loaded binary links no CUDA library at load time, so one .node loads on
// machines with and without NVIDIA software; CUDA availability is probed at
// run time and reported, never a crash.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backends, buildInfo } from '../../lib';

const hasLdd = spawnSync('ldd', ['--version']).status === 0;

describe('build', () => {
  const info = buildInfo();

  (hasLdd ? test : test.skip)('ldd shows no libcuda, libcudart, libcublas or libopenblas (all opened at run time, if at all)', () => {
    const out = execFileSync('ldd', [info.path], { encoding: 'utf8' });
    expect(out).not.toMatch(/libcuda|libcudart|libcublas|libopenblas/);
    expect(out).not.toMatch(/not found/);
  });

  test('buildInfo describes the build', () => {
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(['cmake-js', 'node-gyp']).toContain(info.buildSystem);
    expect(info.napiVersion).toBe(8);
    if (info.buildSystem === 'node-gyp') expect(info.cudaCompiled).toBe(false);
  });

  test('CUDA state is reported consistently', () => {
    const cuda = backends().cuda;
    expect(cuda.compiled).toBe(info.cudaCompiled);
    if (cuda.available) {
      expect(cuda.devices.length).toBeGreaterThan(0);
      for (const d of cuda.devices) expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
    } else {
      expect(typeof cuda.reason).toBe('string');
      expect(cuda.reason!.length).toBeGreaterThan(10);
      expect(cuda.devices).toEqual([]);
    }
    if (cuda.compiled) expect(cuda.archs).toMatch(/\d/);
  });

  test('doctor runs and names the BLAS and the CUDA state', () => {
    const { doctorReport } = require('../../lib/doctor') as typeof import('../../lib/doctor');
    const r = doctorReport();
    expect(r.ok).toBe(true);
    expect(r.text).toMatch(/BLAS/);
    expect(r.text).toMatch(/CUDA/);
  });

  test('a CUDA install builds for the GPU nvidia-smi reports when the nvcc can build for it, else the default list', () => {
    const { localCudaArchs } = require('../../scripts/build-cmake.js') as {
      localCudaArchs: (env: NodeJS.ProcessEnv) => { archs: string[] | null; note: string | null };
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-archs-'));
    const tool = (name: string, script: string) => fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    const codes = 'echo sm_61; echo sm_75; echo sm_80; echo sm_86; echo sm_89; echo sm_90; echo sm_100; echo sm_120';
    const env = { PATH: dir };
    try {
      // No nvidia-smi: the default list, silently.
      expect(localCudaArchs(env)).toEqual({ archs: null, note: null });
      tool('nvcc', `[ "$1" = --list-gpu-code ] && { ${codes}; }`);
      const cases: [string, string[] | null, RegExp][] = [
        ['echo 9.0', ['90'], /GPU is sm_90 \(nvidia-smi\): building GPU code for it alone/],
        ['echo 8.6; echo 8.0; echo 8.6', ['80', '86'], /GPU is sm_80, sm_86/],
        ['echo 12.0', ['120'], /sm_120/],
        // Below antler's minimum (sm_75), even where the nvcc could build for it (CUDA 12 lists sm_61).
        ['echo 6.1', null, /GPU is sm_61 \(nvidia-smi\); antler's CUDA backend needs sm_75 or newer, so sm_61 will not run it; building the default GPU architectures/],
        // Newer than this nvcc knows: the default list (whose PTX the driver compiles for it), and why.
        ['echo 12.1', null, /GPU is sm_121 \(nvidia-smi\), but nvcc cannot build for sm_121; building the default GPU architectures/],
        ['echo "No devices were found"', null, /did not report compute capabilities \("No devices were found"\)/],
        ['exit 9', null, /^$/],
      ];
      for (const [smi, archs, note] of cases) {
        tool('nvidia-smi', smi);
        const r = localCudaArchs(env);
        expect(r.archs).toEqual(archs);
        expect(r.note ?? '').toMatch(note);
      }
      // CUDACXX names the compiler that will build; one that lists nothing means the default list.
      tool('nvidia-smi', 'echo 9.0');
      tool('old-nvcc', 'exit 1');
      expect(localCudaArchs({ ...env, CUDACXX: path.join(dir, 'old-nvcc') }).note).toMatch(/did not list the architectures it builds/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a prebuilt platform package made from this build is what a project installing antler loads, without building', () => {
    const { makePrebuilt } = require('../../scripts/prebuilt.js') as {
      makePrebuilt: (o: { binary: string; out: string; allowLocalArchs: boolean }) => { dir: string; name: string };
    };
    const root = path.join(__dirname, '..', '..');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-prebuilt-'));
    try {
      const archs = info.cudaCompiled ? info.cudaArchs.split('+')[0] : '';
      const { DEFAULT_CUDA_ARCHS } = require('../../scripts/build-cmake.js') as { DEFAULT_CUDA_ARCHS: string[] };
      if (info.cudaCompiled && !DEFAULT_CUDA_ARCHS.every((a) => archs.includes(a)))
        expect(() => makePrebuilt({ binary: info.path, out: tmp, allowLocalArchs: false })).toThrow(/GPU code for .* only .*ANTLER_CUDA_ARCHS="75;80;86;89;90" npm run build, or pass --allow-local-archs/);
      const modules = path.join(tmp, 'project', 'node_modules');
      const made = makePrebuilt({ binary: info.path, out: modules, allowLocalArchs: true });
      expect(made.name).toBe(`antler-${process.platform}-${process.arch}`);
      const manifest = JSON.parse(fs.readFileSync(path.join(made.dir, 'package.json'), 'utf8'));
      expect(manifest).toMatchObject({ name: made.name, version: info.version, os: [process.platform], cpu: [process.arch] });
      expect(fs.readFileSync(path.join(made.dir, 'antler.node')).equals(fs.readFileSync(info.path))).toBe(true);
      // antler as npm installs it into a project (no build/), beside the platform package.
      const pkg = path.join(modules, 'antler');
      fs.mkdirSync(path.join(pkg, 'scripts'), { recursive: true });
      fs.mkdirSync(path.join(pkg, 'native'));
      fs.cpSync(path.join(root, 'lib'), path.join(pkg, 'lib'), { recursive: true });
      for (const f of ['package.json', 'scripts/install.js', 'scripts/build-cmake.js', 'scripts/build-gyp.js']) fs.copyFileSync(path.join(root, f), path.join(pkg, f));
      const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: path.join(root, 'node_modules') };
      // Each of these asks for a build (or none) instead of the prebuilt package; CI sets ANTLER_CUDA_ARCHS.
      for (const k of ['ANTLER_BINARY', 'ANTLER_BUILD_FROM_SOURCE', 'ANTLER_SKIP_BUILD', 'ANTLER_CUDA_ARCHS']) delete env[k];
      const install = spawnSync(process.execPath, ['scripts/install.js'], { cwd: pkg, env, encoding: 'utf8', timeout: 60_000 });
      expect(install.stdout).toMatch(new RegExp(`using the prebuilt binary from ${made.name}`));
      expect(install.status).toBe(0);
      expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
      const script = `const a = require(${JSON.stringify(path.join(pkg, 'lib', 'index.ts'))}); process.stdout.write(JSON.stringify([a.buildInfo().path, Array.from(a.add(a.tensor([1, 2]), 1).dataSync())]))`;
      const run = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), '-e', script], { cwd: path.join(tmp, 'project'), env, encoding: 'utf8', timeout: 60_000 });
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toEqual([fs.realpathSync(path.join(made.dir, 'antler.node')), [2, 3]]);
      // A prebuilt of another antler version is not used (the build from source is tried: this copy
      // has nothing to build from, so it fails, quickly).
      const manifestPath = path.join(pkg, 'package.json');
      fs.writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifestPath, 'utf8')), version: '9.9.9' }));
      const other = spawnSync(process.execPath, ['scripts/install.js'], { cwd: pkg, env: { ...env, ANTLER_BACKEND: 'cpu' }, encoding: 'utf8', timeout: 60_000 });
      expect(other.stdout).toContain(`prebuilt ${made.name} does not load here (it is version ${info.version}, and this antler is 9.9.9); building from source`);
      expect(other.stdout).not.toMatch(/using the prebuilt binary/);
      // A binary that does not load is reported with the loader's reason, not a stack location.
      const junk = path.join(tmp, 'junk.node');
      fs.writeFileSync(junk, 'not a shared object\n');
      expect(() => makePrebuilt({ binary: junk, out: tmp, allowLocalArchs: true })).toThrow(/junk\.node does not load: Error: .*(too short|invalid ELF header)/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test.each([
    [{ ANTLER_BACKEND: 'cuda' }, /ANTLER_BACKEND=cuda, but nvcc is not on the PATH .*not falling back to a CPU-only build \(unset ANTLER_BACKEND/],
    [{ ANTLER_CUDA_ARCHS: '90' }, /ANTLER_CUDA_ARCHS="90" asks for a CUDA build, but nvcc is not on the PATH .*not falling back to a CPU-only build \(unset ANTLER_CUDA_ARCHS, or set ANTLER_BACKEND=cpu/],
  ])('the install script with %o and no nvcc fails at once instead of building for the CPU', (ask, message) => {
    // A PATH with node, cmake and a shell but no nvcc: the script must stop before any build
    // (a fallback would rebuild build/ for the CPU).
    const dirs = [path.dirname(process.execPath), '/usr/bin', '/bin'].filter((d) => !fs.existsSync(path.join(d, 'nvcc')));
    const hasCmake = dirs.some((d) => fs.existsSync(path.join(d, 'cmake')));
    if (!hasCmake) return; // the no-cmake branch fails the same way, with its own reason
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: dirs.join(path.delimiter), ANTLER_BUILD_FROM_SOURCE: '1', ...ask };
    if (!('ANTLER_BACKEND' in ask)) delete env.ANTLER_BACKEND;
    delete env.CUDACXX;
    const before = fs.statSync(info.path).mtimeMs;
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'install.js')], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(fs.statSync(info.path).mtimeMs).toBe(before);
  });
});
