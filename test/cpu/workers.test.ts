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
    const r = spawnSync(process.execPath, ['-r', path.join(root, 'test', 'ts-register.js'), file], { encoding: 'utf8', timeout: 120_000 });
    expect({ status: r.status, signal: r.signal, stdout: r.stdout.trim() }).toEqual({ status: 0, signal: null, stdout: 'main alive' });
  } finally {
    require('node:fs').unlinkSync(file);
  }
}, 120_000);
