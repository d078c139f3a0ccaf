// The loaded binary links no CUDA library at load time, so one .node loads on
// machines with and without NVIDIA software; CUDA availability is probed at
// run time and reported, never a crash.
import { execFileSync, spawnSync } from 'node:child_process';
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
});
