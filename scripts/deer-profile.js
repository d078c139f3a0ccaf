// Where DEER's time goes on one device: the native pieces of a Newton
// iteration (linearize, the fused residual, the scan) timed one by one, next to
// the fused sequential walk and whole forwards in deer and quasi mode; what a
// forward takes beyond its iterations' pieces is the host's overhead (JS,
// launches, syncs, compaction); then the same forwards fused (every Newton
// iteration in one native call: option deer.fused; on CUDA one launch, past
// its limits (dense n > 16) the iteration by launches again; a small batch's
// sequences split over several blocks of a cooperative launch, and again with
// ANTLER_DEER_FUSED_SEGMENTS=1, a block per sequence). GRU, batch 16,
// float32, input size = n, as in the DEER paper's table. Prints one table;
// used by scripts/gpu-check.sh.
//   node scripts/deer-profile.js [--device cuda:0|cpu] [--T 10000]
'use strict';
const a = require('../dist');
const { cellNative } = require('../dist/deer/native-cells');
const { residuals } = require('../dist/deer/scan');
const { wrap } = require('../dist/ops/core');

const arg = (name, dflt) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : dflt);
const device = arg('--device', a.backends().cuda.available ? 'cuda:0' : 'cpu');
const T = Number(arg('--T', '10000'));
const B = 16;
a.setSeed(7);

/** Median ms of `reps` synchronized runs after one warm-up; fn's tensors are freed each run. */
function time(fn, reps = 7) {
  a.tidy(fn);
  a.synchronize(device);
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    a.tidy(() => {
      fn();
      a.synchronize(device);
    });
    ms.push(performance.now() - t0);
  }
  ms.sort((p, q) => p - q);
  return ms[reps >> 1];
}

const f = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3));
// Printed row by row, so a run stopped at its time limit still shows what it measured.
console.log(`DEER profile on ${device}: GRU, T = ${T}, B = ${B}, float32; ms, median of 7 synchronized runs`);
console.log('| n | sequential | linearize dense / diag | residual | scan dense / diag | deer fwd (iters) | quasi fwd (iters) | rest deer / quasi | fused deer / quasi (iters) | sequential ÷ fused deer / quasi | fused, a block per sequence, deer / quasi |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
a.noGrad(() => {
  for (const n of [1, 8, 32]) {
    const g = new a.nn.GRU(n, n, { device });
    const W = g.stateDict();
    const x = a.randn([T, B, n], { device });
    const xp = a.linear(x, W.weight_ih_l0, W.bias_ih_l0);
    const Whh = W.weight_hh_l0, bhh = W.bias_hh_l0, y0 = a.zeros([B, n], { device });
    const nat = cellNative();
    // The solution (the sequential walk with the same weights): the pieces are timed there.
    const y = wrap(nat.cellSequential('gru', xp.handle, Whh.handle, bhh.handle, y0.handle));
    const lin = (jac) => nat.cellLinearize('gru', xp.handle, Whh.handle, bhh.handle, y0.handle, y.handle, jac);
    const [fD, JD, bD] = lin('dense').map(wrap), [, Jd, bd] = lin('diagonal').map(wrap);
    const seqMs = time(() => wrap(nat.cellSequential('gru', xp.handle, Whh.handle, bhh.handle, y0.handle)));
    const linDense = time(() => lin('dense').map(wrap));
    const linDiag = time(() => lin('diagonal').map(wrap));
    const res = time(() => residuals(y, fD, 1e-6));
    const scanDense = time(() => a.deer.scan(JD, bD, y0));
    const scanDiag = time(() => a.deer.scan(Jd, bd, y0));
    const whole = (mode, fused = false) => {
      const m = new a.nn.GRU(n, n, { device, mode, deer: { fused } });
      m.loadStateDict(W);
      let iters = 0;
      const ms = time(() => (iters = m.forward(x).stats[0].iterations));
      m.dispose();
      return { ms, iters };
    };
    const deer = whole('deer'), quasi = whole('quasi');
    const perDeer = linDense + res + scanDense, perQuasi = linDiag + res + scanDiag;
    const restDeer = deer.ms - (deer.iters * perDeer + linDense + res), restQuasi = quasi.ms - (quasi.iters * perQuasi + linDiag + res);
    // The whole solve in one native call (option fused; the default on CUDA where it applies).
    const fusedDeer = whole('deer', true), fusedQuasi = whole('quasi', true);
    // The native launcher reads the variable at each launch.
    process.env.ANTLER_DEER_FUSED_SEGMENTS = '1';
    const oneDeer = whole('deer', true), oneQuasi = whole('quasi', true);
    delete process.env.ANTLER_DEER_FUSED_SEGMENTS;
    console.log(`| ${n} | ${f(seqMs)} | ${f(linDense)} / ${f(linDiag)} | ${f(res)} | ${f(scanDense)} / ${f(scanDiag)} | ${f(deer.ms)} (${deer.iters}) | ${f(quasi.ms)} (${quasi.iters}) | ${f(restDeer)} / ${f(restQuasi)} | ${f(fusedDeer.ms)} / ${f(fusedQuasi.ms)} (${fusedDeer.iters} / ${fusedQuasi.iters}) | ${(seqMs / fusedDeer.ms).toFixed(1)}× / ${(seqMs / fusedQuasi.ms).toFixed(1)}× | ${f(oneDeer.ms)} / ${f(oneQuasi.ms)} |`);
    a.dispose([x, xp, y0, y, fD, JD, bD, Jd, bd]);
    g.dispose();
  }
});

console.log('(rest = forward − iterations × (linearize + residual + scan) − the final linearize and residual: the input projection and the host overhead; approximate, as the pieces are timed at the solution)');
