/** backends() and buildInfo(): what this build has and whether it can run here. */
import { backends, buildInfo, getDefaultDevice, setDefaultDevice, setNumThreads, AntlerError } from '../../lib';

describe('backends', () => {
  const b = backends();

  test('cpu is always available with at least one thread', () => {
    expect(b.cpu.available).toBe(true);
    expect(Number.isInteger(b.cpu.threads)).toBe(true);
    expect(b.cpu.threads).toBeGreaterThanOrEqual(1);
    expect(typeof b.cpu.openmp).toBe('boolean');
    expect(typeof b.cpu.blas).toBe('string');
    expect(b.cpu.blas.length).toBeGreaterThan(0);
  });

  test('cuda reports availability, and a reason when unavailable', () => {
    expect(typeof b.cuda.available).toBe('boolean');
    expect(typeof b.cuda.compiled).toBe('boolean');
    expect(Array.isArray(b.cuda.devices)).toBe(true);
    if (!b.cuda.available) {
      expect(typeof b.cuda.reason).toBe('string');
      expect(b.cuda.reason!.trim().length).toBeGreaterThan(0);
      expect(b.cuda.devices).toEqual([]);
    } else {
      expect(b.cuda.compiled).toBe(true);
      expect(b.cuda.devices.length).toBeGreaterThan(0);
      for (const d of b.cuda.devices) {
        expect(d.name.length).toBeGreaterThan(0);
        expect(d.memory).toBeGreaterThan(0);
        expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
        expect(d.multiprocessors).toBeGreaterThan(0);
      }
    }
    if (!b.cuda.compiled) expect(b.cuda.available).toBe(false);
  });

  test('setNumThreads changes the reported thread count', () => {
    const original = b.cpu.threads;
    try {
      setNumThreads(1);
      if (b.cpu.openmp) expect(backends().cpu.threads).toBe(1);
    } finally {
      setNumThreads(original);
    }
    expect(backends().cpu.threads).toBe(original);
  });

  test("the default device is 'cpu' and setDefaultDevice('cuda') follows availability", () => {
    expect(getDefaultDevice()).toBe('cpu');
    if (!b.cuda.available) {
      let err: unknown;
      try {
        setDefaultDevice('cuda');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AntlerError);
      expect((err as AntlerError).code).toBe('CUDA_UNAVAILABLE');
      expect((err as AntlerError).message).toContain(b.cuda.reason!);
      expect(getDefaultDevice()).toBe('cpu');
    }
    setDefaultDevice('cpu');
    expect(getDefaultDevice()).toBe('cpu');
  });
});

describe('buildInfo', () => {
  const info = buildInfo();
  const b = backends();

  test('fields have the documented types', () => {
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof info.buildSystem).toBe('string');
    expect(info.napiVersion).toBeGreaterThanOrEqual(8);
    expect(info.compiler.length).toBeGreaterThan(0);
    expect(typeof info.openmp).toBe('boolean');
    expect(typeof info.cudaCompiled).toBe('boolean');
    expect(typeof info.cudaArchs).toBe('string');
    expect(info.path).toMatch(/\.node$/);
    expect(info.source.length).toBeGreaterThan(0);
  });

  test('agrees with backends()', () => {
    expect(info.openmp).toBe(b.cpu.openmp);
    expect(info.blas).toBe(b.cpu.blas);
    expect(info.cudaCompiled).toBe(b.cuda.compiled);
  });

  test('matches package.json version', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require('../../package.json') as { version: string };
    expect(info.version).toBe(pkg.version);
  });
});
