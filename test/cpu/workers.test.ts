/**
 * antler in worker threads (test/workers-fixture.js, spawned as its own
 * process): the main thread and four workers train the same GRU at once;
 * two workers are terminated mid-run, which aborted the whole process
 * before (node-addon-api rethrew into an environment that could no longer
 * run JavaScript). Every thread gets the same losses from the same seed,
 * the terminated workers' tensors are freed with them, and nothing crashes.
 * And with antler used in workers only: the addon is never unloaded (linked
 * -z nodelete), since unloading it when the last worker exited unmapped
 * libgomp under its pool threads (a segfault every time).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

test('the main thread and worker threads train at once; terminating busy workers frees their tensors and crashes nothing', () => {
  const r = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), '--expose-gc', path.join(root, 'test', 'workers-fixture.js')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
  });
  expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
  const out = JSON.parse(r.stdout) as { mainLosses: number[]; results: Record<string, { losses?: number[]; error?: string }>; codes: number[]; numTensors: number };
  expect(out.codes).toEqual([0, 0, 1, 1]); // 1: terminated
  expect(out.results['0'].error).toBeUndefined();
  expect(out.results['0'].losses).toEqual(out.mainLosses);
  expect(out.results['1'].losses).toEqual(out.mainLosses);
  expect(out.mainLosses[out.mainLosses.length - 1]).toBeLessThan(out.mainLosses[0]);
  expect(out.numTensors).toBe(0);
}, 240_000);

test('antler in worker threads only (the main thread never loads it): the process outlives its workers', () => {
  const script = `
    const { Worker, isMainThread } = require('node:worker_threads');
    if (isMainThread) {
      let left = 3;
      for (let i = 0; i < 3; i++) new Worker(__filename).on('exit', () => { if (--left === 0) setTimeout(() => console.log('main alive'), 100); });
    } else {
      const A = require(${JSON.stringify(path.join(root, 'lib', 'index.ts'))});
      A.tidy(() => A.randn([512, 512]).tanh().sum().item());
    }`;
  const file = path.join(require('node:os').tmpdir(), `antler-workers-only-${process.pid}.js`);
  require('node:fs').writeFileSync(file, script);
  try {
    const env = { ...process.env };
    for (const k of ['OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'KMP_BLOCKTIME']) delete env[k];
    const r = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), file], { encoding: 'utf8', timeout: 120_000, env });
    expect({ status: r.status, signal: r.signal, stdout: r.stdout.trim() }).toEqual({ status: 0, signal: null, stdout: 'main alive' });
    // A worker cannot set the OpenMP spin wait (its process.env is its own copy): each says so, with the way out.
    // (Once the first has loaded the OpenMP runtime, the others find it loaded: at least one says so.)
    expect(r.stderr.match(/\[ANTLER_OPENMP_WAIT\] Warning: antler was loaded in a worker thread before the main thread used it: .*set GOMP_SPINCOUNT=10000 in the environment/g)?.length).toBeGreaterThanOrEqual(1);
    // Set in the environment, nothing to say.
    const quiet = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), file], { encoding: 'utf8', timeout: 120_000, env: { ...env, GOMP_SPINCOUNT: '10000' } });
    expect({ status: quiet.status, stdout: quiet.stdout.trim(), stderr: quiet.stderr }).toEqual({ status: 0, stdout: 'main alive', stderr: '' });
  } finally {
    require('node:fs').unlinkSync(file);
  }
}, 120_000);

test("a worker's tensors that it never disposed are released when it exits, without another call into antler", () => {
  // The main thread never loads antler; the worker leaves 512 MiB of tensors alive and exits. Their
  // finalizers only queue the release; the addon's teardown with the worker's environment releases
  // them (before, they waited for a later call into antler on some other thread).
  const script = `
    const { Worker } = require('node:worker_threads');
    const rss = () => process.memoryUsage().rss / 2 ** 20;
    const w = new Worker(\`
      const a = require(${JSON.stringify(path.join(root, 'lib', 'index.ts'))});
      const kept = [];
      for (let i = 0; i < 4; i++) kept.push(a.full([32 * 1024 * 1024], 1));
      require('node:worker_threads').parentPort.postMessage(process.memoryUsage().rss / 2 ** 20);
    \`, { eval: true, execArgv: ['-r', ${JSON.stringify(path.join(root, 'test', 'ts-register.js'))}] });
    let made = 0;
    w.on('message', (m) => (made = m));
    w.on('exit', () => setTimeout(() => console.log(JSON.stringify({ made, after: rss() })), 200));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ANTLER_CPU_CACHE_MB: '0', GOMP_SPINCOUNT: '10000' } });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  const { made, after } = JSON.parse(r.stdout) as { made: number; after: number };
  expect(made).toBeGreaterThan(512);
  expect(after).toBeLessThan(made - 400);
}, 120_000);

test("a worker's allocations are reported to its own V8 isolate, not to the main thread's (no garbage-collection storm there)", () => {
  // Each thread's addon told its isolate the whole process's bytes: a worker allocating and freeing
  // 200 MB at a time made the main thread, itself idle but calling antler, run major GCs (9 to 71 in
  // 2.5 s). With each thread's own bytes, the main thread has no reason for one.
  const lib = path.join(root, 'lib', 'index.ts');
  const script = `
    const { Worker } = require('node:worker_threads');
    const { PerformanceObserver, constants } = require('node:perf_hooks');
    const a = require(${JSON.stringify(lib)});
    a.backends();
    let major = 0;
    const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; });
    obs.observe({ entryTypes: ['gc'] });
    const w = new Worker(\`const a = require(${JSON.stringify(lib)}); const end = Date.now() + 2500; while (Date.now() < end) a.tidy(() => { for (let i = 0; i < 5; i++) a.zeros([10 * 1024 * 1024]); });\`,
      { eval: true, execArgv: ['-r', ${JSON.stringify(path.join(root, 'test', 'ts-register.js'))}] });
    const t = a.zeros([16]);
    const timer = setInterval(() => a.tidy(() => a.add(t, 1)), 1);
    w.on('exit', () => { clearInterval(timer); setTimeout(() => { obs.disconnect(); console.log(JSON.stringify({ major })); }, 50); });`;
  const r = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), '-e', script], { encoding: 'utf8', timeout: 120_000 });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  expect(JSON.parse(r.stdout).major).toBeLessThan(3);
}, 120_000);
