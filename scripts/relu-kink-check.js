// Diagnostic: RNN relu float32, T = 10,000, B = 4, in 8, H = 32 (the GPU suite's
// widest deer-rnn case), over many seeds: each mode on DEV against the CPU's
// sequential BPTT, counting outputs and x.grad values beyond the suite's tolerance
// (2e-4 of scale), and the forward's relu kink flips (units where exactly one of
// the two solutions is zero). A kink flip makes the gradient differ legitimately.
//   node scripts/relu-kink-check.js [device] [seeds] [first seed]
'use strict';
const a = require('../dist');
const dev = process.argv[2] || 'cuda:0', seeds = Number(process.argv[3] || 12);
const T = 10000, B = 4, I = 8, H = 32;
function mulberry32(s) { return () => { s |= 0; s = (s + 0x6d2b79f5) | 0; let t = Math.imul(s ^ (s >>> 15), 1 | s); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }; }
const uni = (f, n) => Float32Array.from({ length: n }, () => 2 * f() - 1);
let total = { runs: 0, bad: 0 };
const first = Number(process.argv[4] || 1);
for (let seed = first; seed < first + seeds; seed++) {
  const f = mulberry32(seed * 7919);
  a.setSeed(seed);
  const x = uni(f, T * B * I), h0 = uni(f, B * H), w = uni(f, T * B * H);
  const ref = new a.nn.RNN(I, H, { nonlinearity: 'relu', mode: 'sequential' });
  const run = (mode, device) => {
    const net = new a.nn.RNN(I, H, { nonlinearity: 'relu', mode, device, deer: { chunkSize: 2500, maxIters: 400 } });
    try {
      a.tidy(() => net.loadStateDict(ref.stateDict()));
      return a.tidy(() => {
        const xt = a.tensor(x, [T, B, I], { device, requiresGrad: true }), ht = a.tensor(h0, [1, B, H], { device, requiresGrad: true });
        const r = net.forward(xt, ht);
        a.add(a.sum(a.mul(r.output, a.tensor(w, [T, B, H], { device }))), a.sum(r.hidden)).backward();
        return [r.output, xt.grad].map((t) => Float64Array.from(t.dataSync()));
      });
    } finally { net.dispose(); }
  };
  const cpu = run('sequential', 'cpu');
  const line = [];
  for (const mode of ['sequential', 'deer', 'quasi']) {
    const got = run(mode, dev);
    const cmp = (k) => {
      const p = got[k], q = cpu[k];
      let m = 0; for (const v of q) m = Math.max(m, Math.abs(v));
      let bad = 0, worst = 0;
      for (let i = 0; i < q.length; i++) { const d = Math.abs(p[i] - q[i]); if (d > worst) worst = d; if (d > 2e-4 * Math.max(1, m)) bad++; }
      return { bad, worst };
    };
    const o = cmp(0), g = cmp(1);
    let flips = 0; const at = [];
    for (let i = 0; i < got[0].length; i++) if ((got[0][i] === 0) !== (cpu[0][i] === 0)) { flips++; if (at.length < 3) at.push(`t${Math.floor(i / (B * H))} b${Math.floor(i / H) % B} |h| ${Math.max(Math.abs(got[0][i]), Math.abs(cpu[0][i])).toExponential(1)}`); }
    // Where the x.grad mismatches are: their batch and latest step.
    const last = new Map();
    for (let i = 0; i < got[1].length; i++) if (Math.abs(got[1][i] - cpu[1][i]) > 2e-4 * 3) { const t = Math.floor(i / (B * I)), b = Math.floor(i / I) % B; last.set(b, Math.max(last.get(b) ?? -1, t)); }
    total.runs++; if (g.bad || o.bad) total.bad++;
    line.push(`${mode}: out ${o.bad} bad (${o.worst.toExponential(1)}), x.grad ${g.bad} bad (${g.worst.toExponential(1)}), flips ${flips}${at.length ? ' [' + at.join('; ') + ']' : ''}${last.size ? ' grad mismatch last step ' + [...last].map(([b, t]) => `b${b}:t${t}`).join(',') : ''}`);
  }
  console.log(`seed ${seed}: ${line.join(' | ')}`);
  ref.dispose();
}
console.log(`${total.bad} of ${total.runs} mode runs beyond tolerance`);
