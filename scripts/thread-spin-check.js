#!/usr/bin/env node
// Measures the CPU workloads that the OpenMP spin setting affects, under
// several settings, in fresh processes taken in turn (the runtime reads the
// setting once, at load), and prints each workload's median per setting:
//   node scripts/thread-spin-check.js [rounds=3]
// Workloads: an Adam step of a 256-1024-10 MLP (batch 512), the fused SRU
// (L=128, B=32, d=512) forward and forward+backward, a neural-ODE DEER solve
// (n=2, 64 hidden, B=16, T=1000), a 512² GEMM, 200 small elementwise ops, a
// tanh over 2M values, 50 small GEMMs each after an elementwise loop and a
// full-size gradient (sum(mul(x, 2)).backward() over 800k values).
// Needs the built library (dist/) and addon.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');

function workload() {
  const a = require(path.join(root, 'dist'));
  const { performance } = require('perf_hooks');
  const med = (fn, k) => {
    fn();
    const ts = [];
    for (let i = 0; i < k; i++) {
      const t0 = performance.now();
      fn();
      ts.push(performance.now() - t0);
    }
    return ts.sort((x, y) => x - y)[Math.floor(k / 2)];
  };
  const out = {};
  {
    const model = new a.nn.Sequential(new a.nn.Linear(256, 1024), new a.nn.ReLU(), new a.nn.Linear(1024, 10));
    const x = a.randn([512, 256], { seed: 1 });
    const y = a.tidy(() => a.rand([512], { dtype: 'int32', minval: 0, maxval: 10, seed: 2 }));
    const opt = new a.optim.Adam(model.parameters(), { lr: 1e-3 });
    out['MLP Adam step'] = med(() => {
      opt.zeroGrad();
      a.tidy(() => a.crossEntropy(model.forward(x), y).backward());
      opt.step();
    }, 15);
  }
  {
    const sru = new a.nn.SRU(512, 512, { numLayers: 1 });
    const x = a.randn([128, 32, 512], { seed: 3 });
    out['SRU forward'] = med(() => a.tidy(() => void sru.forward(x).output.dataSync()), 9);
    out['SRU fwd+bwd'] = med(() => a.tidy(() => a.sum(sru.forward(x).output).backward()), 9);
  }
  {
    const n = 2, H = 64, B = 16, T = 1000;
    const W1 = a.randn([H, n], { seed: 4 }).requiresGrad_(true), b1 = a.randn([H], { seed: 5 });
    const W2 = a.randn([n, H], { seed: 6, stddev: 0.1 }), b2 = a.randn([n], { seed: 7 });
    const f = (t, y) => a.add(a.matmul(a.tanh(a.add(a.matmul(y, W1, { transposeB: true }), b1)), W2, { transposeB: true }), b2);
    const y0 = a.randn([B, n], { seed: 8 });
    const grid = Array.from({ length: T + 1 }, (_, i) => (5 * i) / T);
    out['ODE DEER solve'] = med(() => a.tidy(() => void a.deer.solveIVP(f, y0, grid).y.dataSync()), 5);
  }
  {
    const A = a.randn([512, 512], { seed: 9 }), B = a.randn([512, 512], { seed: 10 });
    out['GEMM 512'] = med(() => a.tidy(() => void a.matmul(A, B).dataSync()), 15);
    const s = a.randn([16, 64], { seed: 11 });
    out['200 small ops'] = med(() => a.tidy(() => {
      let v = s;
      for (let i = 0; i < 200; i++) v = a.tanh(a.add(v, s));
      v.dataSync();
    }), 9);
    const g = a.randn([2000, 1000], { seed: 12 });
    out['tanh 2M'] = med(() => a.tidy(() => void a.tanh(g).dataSync()), 15);
    // Small products between OpenMP loops (a recurrent model's projections, a head): 50 of
    // 128×128×128, each after an elementwise op over 200k values.
    const M = a.randn([128, 128], { seed: 13 }), big = a.randn([200000], { seed: 14 });
    out['50 small GEMMs between loops'] = med(() => a.tidy(() => {
      for (let i = 0; i < 50; i++) {
        a.mul(big, big).dispose();
        a.matmul(M, M).dispose();
      }
    }), 9);
  }
  {
    // A full-size gradient of a small memory-bound graph (every backward's reductions and broadcasts):
    // last session found 2 threads 2.3–2.7× slower than 1 here on a loaded machine at the default spin.
    const x = a.randn([32, 512, 7, 7], { seed: 15 }).requiresGrad_(true);
    out['sum(mul(x, 2)).backward() 800k'] = med(() => a.tidy(() => { a.sum(a.mul(x, 2)).backward(); x.grad = null; }), 15);
  }
  process.stdout.write(JSON.stringify(out));
}

if (process.argv[2] === '--child') {
  workload();
} else {
  const rounds = Number(process.argv[2] ?? 3);
  // Empty = antler's default; the others override it (the user's settings win).
  const settings = ['', 'GOMP_SPINCOUNT=300000', 'GOMP_SPINCOUNT=1000', 'GOMP_SPINCOUNT=0', 'OMP_WAIT_POLICY=passive', 'OPENBLAS_NUM_THREADS=1'];
  const runs = new Map(settings.map((s) => [s, []]));
  for (let r = 0; r < rounds; r++)
    for (const s of settings) {
      const env = { ...process.env };
      for (const k of ['GOMP_SPINCOUNT', 'OMP_WAIT_POLICY', 'KMP_BLOCKTIME', 'OPENBLAS_NUM_THREADS']) delete env[k];
      if (s) env[s.split('=')[0]] = s.split('=')[1];
      const p = spawnSync(process.execPath, [__filename, '--child'], { env, encoding: 'utf8' });
      if (p.status !== 0) throw new Error(`${s || 'default'}: ${p.stderr}`);
      runs.get(s).push(JSON.parse(p.stdout));
      process.stderr.write('.');
    }
  process.stderr.write('\n');
  const names = Object.keys(runs.get('')[0]);
  const label = (s) => (s === '' ? "antler's default (GOMP_SPINCOUNT=10000)" : s);
  console.log(`median ms of ${rounds} processes per setting (each the median of 5-15 repeats)`);
  console.log(`| workload | ${settings.map(label).join(' | ')} |`);
  console.log(`|---|${settings.map(() => '---').join('|')}|`);
  for (const n of names) {
    const cells = settings.map((s) => {
      const v = runs.get(s).map((r) => r[n]).sort((x, y) => x - y);
      return `${v[Math.floor(v.length / 2)].toFixed(1)} (${v[0].toFixed(1)}–${v[v.length - 1].toFixed(1)})`;
    });
    console.log(`| ${n} | ${cells.join(' | ')} |`);
  }
}
