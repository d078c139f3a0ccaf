// The loaded binary links no CUDA library at load time, so one .node loads on
// machines with and without NVIDIA software; CUDA availability is probed at
// run time and reported, never a crash.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { backends, buildInfo } from '../../lib';

const hasLdd = spawnSync('ldd', ['--version']).status === 0;

describe('build', () => {
  const info = buildInfo();

  (hasLdd ? test : test.skip)('ldd shows no libcuda, libcudart or libcublas', () => {
    const out = execFileSync('ldd', [info.path], { encoding: 'utf8' });
    expect(out).not.toMatch(/libcuda|libcudart|libcublas/);
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

  test('the install script with ANTLER_BACKEND=cuda and no nvcc fails at once instead of building for the CPU', () => {
    // A PATH with node, cmake and a shell but no nvcc: the script must stop before any build
    // (a fallback would rebuild build/ for the CPU).
    const dirs = [path.dirname(process.execPath), '/usr/bin', '/bin'].filter((d) => !fs.existsSync(path.join(d, 'nvcc')));
    const hasCmake = dirs.some((d) => fs.existsSync(path.join(d, 'cmake')));
    if (!hasCmake) return; // the no-cmake branch fails the same way, with its own reason
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: dirs.join(path.delimiter), ANTLER_BACKEND: 'cuda', ANTLER_BUILD_FROM_SOURCE: '1' };
    delete env.CUDACXX;
    const before = fs.statSync(info.path).mtimeMs;
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'install.js')], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ANTLER_BACKEND=cuda, but nvcc is not on the PATH .*not falling back to a CPU-only build/);
    expect(fs.statSync(info.path).mtimeMs).toBe(before);
  });
});
