// Experiment (GPU, run 3 of the twenty-seventh session): the SRU recurrence
// kernels' variants, each timed over 20 launches per synchronization (median
// of 9), forward and backward, in GB/s against the device's copy bandwidth,
// outputs compared with 'old'. It ran against an experiment build of
// native/cuda/sru.cu that chose the kernels at run time (ANTLER_SRU_VARIANT,
// ANTLER_SRU_BLOCK); that build's source is not kept: 'old' was commit
// 55660be's kernels (clamped 64-bit index per access), 'cursor' the first
// version of that session (offsets advanced by strides, loads under a
// condition), 'clamp' the committed kernels (offsets advanced by strides,
// unconditional loads of raw values), 'fast' clamp with __expf/__fdividef in
// the forward's sigmoids. The output: run3-sru-variants.log. Kept as the
// record of what was measured; it runs only against such a build
// (node docs/gpu-runs/2026-12-04-s27/sru-variants.js from the repository root).
'use strict';
const a = require('../../../dist');
const n = require('../../../dist/native').native();
const { wrap } = require('../../../dist/ops/core');
a.wrap = wrap;
const dev = 'cuda:0';
const small = process.env.SRU_VARIANTS_SMALL === '1'; // a dry run (e.g. under the host emulation)
const variants = [['old', '128'], ['old', '64'], ['cursor', '64'], ['clamp', '128'], ['clamp', '64'], ['fast', '64']];
const set = ([v, b]) => { process.env.ANTLER_SRU_VARIANT = v; process.env.ANTLER_SRU_BLOCK = b; };
const median = (xs) => xs.slice().sort((p, q) => p - q)[Math.floor(xs.length / 2)];
function time(fn, launches = small ? 1 : 20, runs = small ? 1 : 9) {
  fn(); a.synchronize(dev);
  const ts = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < launches; i++) fn();
    a.synchronize(dev);
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6 / launches);
  }
  return median(ts);
}
const copyMs = a.tidy(() => { const big = a.randn([small ? 1024 : 128 * 1024 * 1024], { device: dev }); return time(() => big.clone().dispose(), 1, 9); });
const copyGbps = (2 * 4 * (small ? 1024 : 128 * 1024 * 1024)) / copyMs / 1e6;
console.log(`device copy: ${copyGbps.toFixed(0)} GB/s`);
const sizes = small ? [[20, 8, 3, 2, true]] : [[32, 256, 32, 1, false], [128, 512, 32, 1, false], [1024, 512, 16, 1, false], [1024, 512, 16, 2, false], [200, 64, 5, 2, true]];
for (const [L, d, B, dirs, masked] of sizes) {
  a.tidy(() => {
    const opts = { d, dirs, k: 3, hasSkipTerm: true, scaleX: 0.7, activation: masked ? 'tanh' : 'identity' };
    const W = dirs * d;
    const U = a.mul(a.randn([L, B, 3 * W], { device: dev }), 0.5), x = a.randn([L, B, W], { device: dev });
    const wc = a.mul(a.randn([2 * W], { device: dev }), 0.5), bias = a.randn([2 * W], { device: dev });
    const c0 = a.randn([B, W], { device: dev });
    const mask = masked ? a.tensor(Array.from({ length: L * B }, (_, i) => (Math.floor(i / B) >= L - 3 * (i % B) ? 1 : 0)), [L, B], { dtype: 'int32', device: dev }) : null;
    const gh = a.randn([L, B, W], { device: dev }), gcLast = a.randn([B, W], { device: dev });
    const fwd = () => n.sruForward(U.handle, x.handle, wc.handle, bias.handle, c0.handle, mask ? mask.handle : null, opts);
    let ref = null;
    const line = [];
    for (const v of variants) {
      set(v);
      const [hH, cH, lH] = fwd();
      const h = a.wrap(hH), c = a.wrap(cH), cl = a.wrap(lH);
      const grads = n.sruBackward(U.handle, x.handle, wc.handle, bias.handle, c0.handle, mask ? mask.handle : null, c.handle, gh.handle, gcLast.handle, opts, null).map((g) => (g ? a.wrap(g) : null));
      const vals = [h, c, cl, ...grads.filter(Boolean)].map((t) => t.to('cpu').dataSync());
      let diff = 0;
      if (ref) vals.forEach((arr, k) => { for (let i = 0; i < arr.length; i++) diff = Math.max(diff, Math.abs(arr[i] - ref[k][i]) / (1 + Math.abs(ref[k][i]))); });
      else ref = vals;
      const fms = time(() => { for (const hnd of fwd()) a.wrap(hnd).dispose(); });
      const bms = time(() => { for (const g of n.sruBackward(U.handle, x.handle, wc.handle, bias.handle, c0.handle, mask ? mask.handle : null, c.handle, gh.handle, gcLast.handle, opts, null)) if (g) a.wrap(g).dispose(); });
      const chainsSteps = L * B * W;
      const fg = (4 * chainsSteps * 6) / fms / 1e6, bg = (4 * chainsSteps * 10) / bms / 1e6;
      line.push(`${v.join('/')}: fwd ${(fms * 1e3).toFixed(1)} us ${fg.toFixed(0)} GB/s (${(100 * fg / copyGbps).toFixed(0)}%), bwd ${(bms * 1e3).toFixed(1)} us ${bg.toFixed(0)} GB/s (${(100 * bg / copyGbps).toFixed(0)}%), vs old ${diff.toExponential(1)}`);
      [h, c, cl, ...grads].forEach((t) => t && t.dispose());
    }
    console.log(`L=${L} d=${d} B=${B} dirs=${dirs}${masked ? ' maskPad tanh' : ''}:\n  ${line.join('\n  ')}`);
  });
}
