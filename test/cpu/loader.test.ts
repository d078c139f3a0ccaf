/**
 * The loader: with ANTLER_BINARY pointing at a missing or broken file, the
 * first use throws LOAD_FAILED listing the attempted path and the fix.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

type LoaderModules = {
  native: typeof import('../../lib/native');
  errors: typeof import('../../lib/errors');
};

/** Loads lib/native and lib/errors in a fresh module registry with ANTLER_BINARY set. */
function withBinary<T>(binary: string, fn: (m: LoaderModules) => T): T {
  const saved = process.env.ANTLER_BINARY;
  process.env.ANTLER_BINARY = binary;
  try {
    let result: T | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const m = { native: require('../../lib/native'), errors: require('../../lib/errors') } as LoaderModules;
      result = fn(m);
    });
    return result as T;
  } finally {
    if (saved === undefined) delete process.env.ANTLER_BINARY;
    else process.env.ANTLER_BINARY = saved;
  }
}

function loadError(m: LoaderModules): InstanceType<LoaderModules['errors']['AntlerError']> {
  try {
    m.native.native();
  } catch (e) {
    expect(e).toBeInstanceOf(m.errors.AntlerError);
    return e as InstanceType<LoaderModules['errors']['AntlerError']>;
  }
  throw new Error('native() loaded an addon from a path that should fail');
}

describe('loader', () => {
  test('a missing ANTLER_BINARY gives LOAD_FAILED naming the path and the fix', () => {
    const bad = '/nonexistent/antler.node';
    withBinary(bad, (m) => {
      const e = loadError(m);
      expect(e.code).toBe('LOAD_FAILED');
      expect(e.name).toBe('AntlerError');
      expect(e.message).toContain(bad);
      expect(e.message).toContain('ANTLER_BINARY');
      expect(e.message).toContain('file not found');
      expect(e.message).toContain('npm run build');
      expect(e.message).toContain('ANTLER_BINARY is set, so only that file was tried');
      // Every later call fails the same way (no half-loaded state).
      expect(() => m.native.nativeOrigin()).toThrow(m.errors.AntlerError);
    });
  });

  test('a file that is not an addon gives LOAD_FAILED with the loader error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-loader-'));
    const bad = path.join(dir, 'antler.node');
    fs.writeFileSync(bad, 'this is not a shared object');
    try {
      withBinary(bad, (m) => {
        const e = loadError(m);
        expect(e.code).toBe('LOAD_FAILED');
        expect(e.message).toContain(bad);
        expect(e.message).not.toContain('file not found');
        expect(e.message).toContain('npm run build');
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a relative ANTLER_BINARY is resolved and reported absolute', () => {
    withBinary('no/such/dir/antler.node', (m) => {
      const e = loadError(m);
      expect(e.message).toContain(path.resolve('no/such/dir/antler.node'));
    });
  });

  test('the environment is restored and the real addon still loads', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { nativeOrigin } = require('../../lib/native') as LoaderModules['native'];
    const origin = nativeOrigin();
    expect(fs.existsSync(origin.path)).toBe(true);
    if (process.env.ANTLER_BINARY) expect(origin.path).toBe(path.resolve(process.env.ANTLER_BINARY));
  });
});
