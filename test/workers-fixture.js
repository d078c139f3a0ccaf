// Run by test/cpu/workers.test.ts: antler in the main thread and in four
// worker threads at once (the addon is context-aware: one instance per
// thread), each training a small GRU and leaving garbage for the finalizers;
// two workers are terminated mid-run while they hold tensors. Prints one
// JSON line: each thread's losses, the exit codes, and the main thread's
// memory() once every worker has exited.
'use strict';
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const lib = path.join(__dirname, '..', 'lib', 'index.ts');

function train(a, seed, steps, onStep) {
  a.setSeed(seed);
  const m = new a.nn.GRU(6, 12, { numLayers: 2 });
  const opt = new a.optim.Adam(m.parameters(), { lr: 0.01 });
  const x = a.randn([15, 4, 6]);
  const losses = [];
  for (let k = 0; k < steps; k++) {
    opt.zeroGrad();
    losses.push(a.tidy(() => {
      const l = a.mean(a.square(a.sub(m.forward(x).output, 0.5)));
      l.backward();
      return l.item();
    }));
    opt.step();
    for (let j = 0; j < 10; j++) a.randn([50]); // left to the finalizers
    if (onStep) onStep(k);
  }
  a.dispose([m, opt, x]);
  return losses;
}

if (isMainThread) {
  const a = require(lib);
  // The main thread uses antler before any worker does (it sets the OpenMP spin wait, which a
  // worker cannot: the workers would warn otherwise).
  a.backends();
  const results = {};
  const exits = [0, 1, 2, 3].map((i) => {
    const endless = i >= 2;
    const w = new Worker(__filename, { workerData: { seed: 7, steps: endless ? 1e9 : 40 } });
    w.on('message', (m) => {
      if (m.training) setTimeout(() => w.terminate(), 200); // mid-run, tensors alive
      else results[i] = m;
    });
    w.on('error', (e) => (results[i] = { error: String(e && e.stack) }));
    return new Promise((resolve) => w.on('exit', (code) => resolve(code)));
  });
  const mainLosses = train(a, 7, 40);
  Promise.all(exits).then(async (codes) => {
    if (global.gc) global.gc();
    await new Promise((r) => setTimeout(r, 50));
    console.log(JSON.stringify({ mainLosses, results, codes, numTensors: a.memory().numTensors }));
  });
} else {
  const a = require(lib);
  if (workerData.steps > 1000) train(a, workerData.seed, workerData.steps, (k) => k === 2 && parentPort.postMessage({ training: true }));
  else parentPort.postMessage({ losses: train(a, workerData.seed, workerData.steps) });
}
