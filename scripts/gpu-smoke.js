// A few seconds of first contact with a GPU, before the test suite: does the
// addon see the device, and do a matmul, an SRU and a DEER GRU on it agree
// with the CPU? Prints one line per check; exits 1 if any check fails.
// Used by scripts/gpu-check.sh; runs anywhere (it says so when there is no GPU).
'use strict';
const a = require('../dist');

const lines = [];
let failed = 0;
function check(name, fn) {
  const t0 = process.hrtime.bigint();
  try {
    const detail = fn();
    lines.push(`ok   ${name}: ${detail} (${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms)`);
  } catch (e) {
    failed += 1;
    lines.push(`FAIL ${name}: ${e && e.code ? e.code + ': ' : ''}${e && e.message ? e.message : e}`);
  }
}
const maxDiff = (x, y) => {
  const p = x.dataSync(), q = y.dataSync();
  let m = 0;
  for (let i = 0; i < p.length; i++) m = Math.max(m, Math.abs(p[i] - q[i]));
  return m;
};

// `--device cpu` runs the same checks CPU against CPU (to try the script itself without a GPU).
const dev = process.argv.includes('--device') ? process.argv[process.argv.indexOf('--device') + 1] : 'cuda:0';
const cuda = a.backends().cuda;
lines.push(`cuda backend: ${JSON.stringify(cuda)}`);
if (dev !== 'cpu' && !cuda.available) {
  console.log(lines.join('\n'));
  console.log('no CUDA device: nothing to check');
  process.exit(0);
}

check('matmul [512,512] x [512,512], float32', () => {
  const x = a.randn([512, 512]), w = a.randn([512, 512]);
  const d = maxDiff(a.matmul(x, w), a.matmul(x.to(dev), w.to(dev)).to('cpu'));
  if (!(d < 1e-2)) throw new Error(`max |cpu - ${dev}| = ${d}`);
  return `max |cpu - ${dev}| = ${d.toExponential(2)}`;
});

check('SRU 2 layers bidirectional, float64', () => {
  a.setSeed(1);
  const cpu = new a.nn.SRU(16, 32, { numLayers: 2, bidirectional: true, dtype: 'float64' });
  const gpu = new a.nn.SRU(16, 32, { numLayers: 2, bidirectional: true, dtype: 'float64' });
  gpu.loadStateDict(cpu.stateDict());
  gpu.to(dev);
  const x = a.randn([50, 4, 16], { dtype: 'float64' });
  const d = maxDiff(cpu.forward(x).output, gpu.forward(x.to(dev)).output.to('cpu'));
  if (!(d < 1e-10)) throw new Error(`max |cpu - ${dev}| = ${d}`);
  return `max |cpu - ${dev}| = ${d.toExponential(2)}`;
});

for (const mode of ['sequential', 'deer', 'quasi']) {
  check(`GRU n=8 T=2000 B=4 mode ${mode}, float64`, () => {
    a.setSeed(2);
    const cpu = new a.nn.GRU(8, 8, { mode: 'sequential', dtype: 'float64' });
    const gpu = new a.nn.GRU(8, 8, { mode, dtype: 'float64' });
    gpu.loadStateDict(cpu.stateDict());
    gpu.to(dev);
    const x = a.randn([2000, 4, 8], { dtype: 'float64' });
    const r = gpu.forward(x.to(dev));
    const d = maxDiff(cpu.forward(x).output, r.output.to('cpu'));
    if (!(d < 1e-9)) throw new Error(`max |cpu - ${dev}| = ${d}`);
    return `max |cpu - ${dev}| = ${d.toExponential(2)}, ${r.stats[0].iterations} iterations`;
  });
}

lines.push(`memory: ${JSON.stringify(a.memory())}`);
console.log(lines.join('\n'));
process.exit(failed ? 1 : 0);
