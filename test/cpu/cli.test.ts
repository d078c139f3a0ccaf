/** The `antler` command line: lib/cli.ts spawned as a user runs it (through test/ts-register.js, so the sources under test, not dist/). */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backends } from '../../lib';

const root = path.join(__dirname, '..', '..');

function antler(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), path.join(root, 'lib', 'cli.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ANTLER_DEBUG: '', ...env },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const stackFrame = /^\s+at /m;

describe('antler demo --epochs', () => {
  test.each(['abc', '0', '2.7'])("refuses '%s' before training, with no stack trace", (value) => {
    const r = antler(['demo', '--device', 'cpu', '--epochs', value]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`--epochs must be a positive integer; got '${value}'`);
    expect(r.stderr).not.toMatch(stackFrame);
    expect(r.stdout).not.toContain('antler demo');
  }, 120_000);

  test("refuses an unknown --device before training ('tpu' failed inside, after the header)", () => {
    const r = antler(['demo', '--device', 'tpu', '--epochs', '1']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("--device must be 'cpu', 'cuda', 'cuda:N' or 'auto'; got 'tpu'");
    expect(r.stderr).not.toMatch(stackFrame);
    expect(r.stdout).not.toContain('antler demo');
  }, 120_000);

  test('takes a positive integer as the number of epochs', () => {
    const r = antler(['demo', '--device', 'cpu', '--epochs', '2']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('; 2 epochs');
  }, 120_000);
});

describe('errors', () => {
  test('a user error prints its code and message, no stack trace, and exits 1', () => {
    const r = antler(['bench', 'nosuch']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("INVALID_ARGUMENT: unknown bench suite 'nosuch'; expected one of: all, matmul, sru, deer, ode, optim, linalg, overhead, isa, conv, grid, pool\n");
    expect(r.stdout).toBe('');
  }, 120_000);

  test('ANTLER_DEBUG=1 adds the stack trace', () => {
    const r = antler(['bench', 'nosuch'], { ANTLER_DEBUG: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("unknown bench suite 'nosuch'");
    expect(r.stderr).toMatch(stackFrame);
  }, 120_000);
});

describe('antler --version', () => {
  test.each(['--version', '-v'])('%s prints the version in package.json', (flag) => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const r = antler([flag]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  }, 120_000);
});

describe('antler doctor', () => {
  // driverVersion 0: cudart found no driver library to ask.
  const cuda = backends().cuda;
  const noDriver = cuda.compiled && !cuda.available && cuda.driverVersion === 0;
  (noDriver ? test : test.skip)("with no NVIDIA driver, says so instead of cudart's 'driver version is insufficient'", () => {
    const reason = 'no NVIDIA driver found (libcuda.so.1 could not be loaded)';
    expect(cuda.reason).toBe(reason);
    const r = antler(['doctor']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`CUDA status     unavailable: ${reason}`);
    expect(r.stdout).toMatch(/runtime \d+\.\d+, driver not found/);
    expect(r.stdout).not.toContain('insufficient');
  }, 120_000);
});

describe('antler doctor: the OpenMP wait setting', () => {
  const unset = { OMP_WAIT_POLICY: '', GOMP_SPINCOUNT: '', KMP_BLOCKTIME: '' };
  test("with none set by the user, antler sets a short spin before the addon loads, and says so", () => {
    const r = antler(['doctor', '--json'], unset);
    const json = JSON.parse(r.stdout) as { openmpWait?: { chosenBy: string; settings: Record<string, string> }; build?: { openmp?: boolean } };
    if (!json.build?.openmp) return; // a build without OpenMP has no wait to set
    expect(json.openmpWait).toEqual({ chosenBy: 'antler', settings: { GOMP_SPINCOUNT: '10000', KMP_BLOCKTIME: '0' } });
    expect(antler(['doctor'], unset).stdout).toMatch(/OpenMP wait +GOMP_SPINCOUNT=10000 KMP_BLOCKTIME=0 \(antler's default/);
  }, 120_000);

  test("the user's own setting wins and is left alone", () => {
    const r = antler(['doctor', '--json'], { ...unset, OMP_WAIT_POLICY: 'active' });
    const json = JSON.parse(r.stdout) as { openmpWait?: { chosenBy: string; settings: Record<string, string> }; build?: { openmp?: boolean } };
    if (!json.build?.openmp) return;
    expect(json.openmpWait).toEqual({ chosenBy: 'user', settings: { OMP_WAIT_POLICY: 'active' } });
  }, 120_000);
});
