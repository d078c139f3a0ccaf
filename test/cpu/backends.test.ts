/** backends() and buildInfo(): what this build has and whether it can run here. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expectClose, matmul2d } from '../helpers';
import { backends, buildInfo, getDefaultDevice, preferredLinalgLibrary, setDefaultDevice, setNumThreads, AntlerError } from '../../lib';

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

describe('environment variables read by the addon', () => {
  const root = path.join(__dirname, '..', '..');
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), '-e', "require('./lib').tensor([1, 2]).dataSync()"], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 60_000,
    });

  test.each(['auto', 'grid', 'block'])("ANTLER_CELL_WALK='%s' is taken without a warning", (walk) => {
    const r = run({ ANTLER_CELL_WALK: walk });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('ANTLER_CELL_WALK');
  });

  test('an unknown ANTLER_CELL_WALK warns once, names the value and the ones expected, and runs on', () => {
    const r = run({ ANTLER_CELL_WALK: 'Grid' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("ANTLER_CELL_WALK is 'Grid'; expected 'auto', 'grid' or 'block'");
    expect(r.stderr.split('ANTLER_CELL_WALK is').length - 1).toBe(1);
  });
});

describe('BLAS, opened at run time', () => {
  const root = path.join(__dirname, '..', '..');
  /** Runs `script` in a fresh process on the library's sources with `env` added; returns its stdout. */
  const child = (script: string, env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), '-e', script], {
      cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 64 << 20,
    });
    if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };
  const systemHasOpenblas = ['/lib', '/usr/lib', '/lib64', '/usr/lib64', '/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu']
    .some((d) => fs.existsSync(path.join(d, 'libopenblas.so.0')));

  test('backends() names the library in use, or why the built-in GEMM is used', () => {
    if (/ANTLER_BLAS=off/.test(buildInfo().blas) || process.env.ANTLER_OPENBLAS) return; // chosen by the environment
    // Either form, wherever the library was found (LD_LIBRARY_PATH, conda): the exact strings are checked below.
    const blas = backends().cpu.blas;
    expect(blas).toMatch(/^OpenBLAS .*\(.*libopenblas[^)]*\)$|^built-in blocked GEMM \(no OpenBLAS found at run time: .*apt-get install libopenblas0/);
    if (systemHasOpenblas) expect(blas).toMatch(/^OpenBLAS /);
  });

  test("preferredLinalgLibrary: 'default' at start, set and read back, 'lapack' only where LAPACK is there, bad names thrown; ANTLER_BLAS=off has no LAPACK", () => {
    expect(preferredLinalgLibrary()).toBe('default');
    expect(typeof backends().cpu.lapack).toBe('boolean');
    if (systemHasOpenblas && !/ANTLER_BLAS=off/.test(buildInfo().blas) && !process.env.ANTLER_OPENBLAS) expect(backends().cpu.lapack).toBe(true);
    try {
      expect(preferredLinalgLibrary('builtin')).toBe('builtin');
      expect(preferredLinalgLibrary()).toBe('builtin');
      if (backends().cpu.lapack) expect(preferredLinalgLibrary('lapack')).toBe('lapack');
      else expect(() => preferredLinalgLibrary('lapack')).toThrow(expect.objectContaining({ code: 'NOT_SUPPORTED' }));
      const before = preferredLinalgLibrary();
      for (const bad of ['LAPACK', 'cusolver', 1, null])
        expect(() => preferredLinalgLibrary(bad as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(preferredLinalgLibrary()).toBe(before);
    } finally {
      preferredLinalgLibrary('default');
    }
    const lib = JSON.stringify(path.join(root, 'lib'));
    const off = child(`const a = require(${lib}); let c = ''; try { a.preferredLinalgLibrary('lapack'); } catch (e) { c = e.code; } process.stdout.write(JSON.stringify([a.backends().cpu.lapack, c]))`, { ANTLER_BLAS: 'off' });
    expect(JSON.parse(off)).toEqual([false, 'NOT_SUPPORTED']);
  });

  test('ANTLER_BLAS=off and a bad ANTLER_OPENBLAS give the built-in GEMM, saying why; it matches a float64 product (blocked edges, transposes, batches)', () => {
    const lib = JSON.stringify(path.join(root, 'lib'));
    expect(child(`process.stdout.write(require(${lib}).buildInfo().blas)`, { ANTLER_OPENBLAS: '/no/such/libopenblas.so' }))
      .toMatch(/^built-in blocked GEMM \(ANTLER_OPENBLAS=\/no\/such\/libopenblas\.so could not be used: .*no\/such/);
    // Sizes past the kernel's blocks (64 rows, 256 of k, 256 columns); the gradients use the transposed products.
    const script = `
      const a = require(${lib});
      const out = { blas: a.buildInfo().blas, cases: [] };
      for (const dtype of ['float64', 'float32']) {
        for (const [batch, m, k, n] of [[[], 70, 300, 260], [[2, 3], 5, 7, 4]]) {
          a.tidy(() => {
            const A = a.randn([...batch, m, k], { dtype, seed: 11, requiresGrad: true });
            const B = a.randn([k, n], { dtype, seed: 12, requiresGrad: true });
            const W = a.randn([...batch, m, n], { dtype, seed: 13 });
            const C = a.matmul(A, B);
            a.sum(a.mul(C, W)).backward();
            out.cases.push({ dtype, batch, m, k, n, A: Array.from(A.dataSync()), B: Array.from(B.dataSync()), W: Array.from(W.dataSync()),
              C: Array.from(C.dataSync()), gA: Array.from(A.grad.dataSync()), gB: Array.from(B.grad.dataSync()) });
          });
        }
      }
      process.stdout.write(JSON.stringify(out));`;
    const out = JSON.parse(child(script, { ANTLER_BLAS: 'off' })) as {
      blas: string;
      cases: { dtype: string; batch: number[]; m: number; k: number; n: number; A: number[]; B: number[]; W: number[]; C: number[]; gA: number[]; gB: number[] }[];
    };
    expect(out.blas).toBe('built-in blocked GEMM (ANTLER_BLAS=off in the environment)');
    for (const c of out.cases) {
      const tol = c.dtype === 'float64' ? 1e-12 : 2e-5;
      const count = c.batch.reduce((p, q) => p * q, 1);
      const gB = new Float64Array(c.k * c.n);
      for (let i = 0; i < count; i++) {
        const Ai = c.A.slice(i * c.m * c.k, (i + 1) * c.m * c.k), Wi = c.W.slice(i * c.m * c.n, (i + 1) * c.m * c.n);
        const want = matmul2d(Ai, c.B, c.m, c.n, c.k);
        expectClose(c.C.slice(i * c.m * c.n, (i + 1) * c.m * c.n), want, tol, tol, `${c.dtype} C, batch ${i}`);
        expectClose(c.gA.slice(i * c.m * c.k, (i + 1) * c.m * c.k), matmul2d(Wi, c.B, c.m, c.k, c.n, false, true), tol, tol, `${c.dtype} A.grad, batch ${i}`);
        matmul2d(Ai, Wi, c.k, c.n, c.m, true, false).forEach((v, j) => (gB[j] += v));
      }
      expectClose(c.gB, gB, tol, tol, `${c.dtype} B.grad`);
    }
  });
});
