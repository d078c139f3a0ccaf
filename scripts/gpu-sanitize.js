// Small cases of every CUDA kernel family, forward and backward, for
// compute-sanitizer (memcheck, racecheck): out-of-bounds and uninitialised
// accesses and shared-memory races show there with file and line (the build
// has -lineinfo), which the test suite's comparisons cannot locate. Each case
// also compares with the CPU loosely, so garbage fails here too. Sizes are
// small because the sanitizer slows kernels 10–100×, but every path that
// changes with size is taken once: several scan chunks and recursion levels,
// the cells' global-memory state path (LSTM H = 1600, float64), their grid walks, ELK's chunks.
//   compute-sanitizer --tool memcheck --error-exitcode 9 node scripts/gpu-sanitize.js
//   node scripts/gpu-sanitize.js --device cpu   (tries the script itself, CPU against CPU)
//   --only REGEX / --skip REGEX: the cases whose names match (or do not match) a regular expression
// Used by scripts/gpu-check.sh.
'use strict';
const a = require('../dist');

const dev = process.argv.includes('--device') ? process.argv[process.argv.indexOf('--device') + 1] : 'cuda:0';
const pattern = (flag) => (process.argv.includes(flag) ? new RegExp(process.argv[process.argv.indexOf(flag) + 1]) : null);
const only = pattern('--only'), skip = pattern('--skip');
if (dev !== 'cpu' && !a.backends().cuda.available) {
  console.log('no CUDA device: nothing to check');
  process.exit(0);
}

let failed = 0;
function check(name, tol, fn) {
  if ((only && !only.test(name)) || (skip && skip.test(name))) return;
  const t0 = Date.now();
  try {
    a.tidy(() => {
      // fn(device) returns tensors (or arrays of them); the same call on the CPU is the reference.
      const ref = [fn('cpu')].flat();
      const got = [fn(dev)].flat();
      let worst = 0;
      got.forEach((g, i) => {
        const p = g.to('cpu').dataSync(), q = ref[i].dataSync();
        if (p.length !== q.length) throw new Error(`output ${i}: ${p.length} values, the CPU's ${q.length}`);
        for (let j = 0; j < p.length; j++) {
          const d = Math.abs(p[j] - q[j]) / (1 + Math.abs(q[j]));
          if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
        }
      });
      if (!(worst <= tol)) throw new Error(`max relative |${dev} - cpu| = ${worst} > ${tol}`);
      console.log(`ok   ${name}: ${worst.toExponential(2)} (${Date.now() - t0} ms)`);
    });
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e && e.code ? e.code + ': ' : ''}${e && e.message ? e.message : e}`);
  }
}

/** The same seeded values on any device. */
const rn = (shape, seed, device, dtype = 'float32', scale = 1) => a.mul(a.randn(shape, { seed, dtype, device: 'cpu' }), scale).to(device);
/** Gradients of sum(out · w) with respect to xs, w a fixed random weight. */
function grads(out, xs, seed) {
  const w = a.randn(out.shape, { seed, dtype: out.dtype, device: 'cpu' }).to(out.device);
  a.sum(a.mul(out, w)).backward();
  return xs.map((x) => x.grad);
}
const leaf = (t) => t.requiresGrad_(true);

for (const [T, B, n] of [[4096, 1, 8], [300, 3, 16]])
  check(`deer.scan dense T=${T} B=${B} n=${n} fwd+bwd`, 1e-3, (d) => {
    const A = leaf(rn([T, B, n, n], 1, d, 'float32', 0.9 / Math.sqrt(n))), b = leaf(rn([T, B, n], 2, d)), y0 = leaf(rn([B, n], 3, d));
    const y = a.deer.scan(A, b, y0);
    return [y, ...grads(y, [A, b, y0], 4)];
  });
check('deer.scan diagonal T=5000 B=2 n=33 fwd+bwd, float64', 1e-9, (d) => {
  const A = leaf(rn([5000, 2, 33], 1, d, 'float64', 0.5)), b = leaf(rn([5000, 2, 33], 2, d, 'float64')), y0 = leaf(rn([2, 33], 3, d, 'float64'));
  const y = a.deer.scan(A, b, y0);
  return [y, ...grads(y, [A, b, y0], 4)];
});

// ELK is the slowest under racecheck (a minute at T = 700 on an H200): shorter, with as many chunks.
for (const mode of ['sequential', 'deer', 'quasi', 'elk'])
  for (const kind of ['GRU', 'LSTM', 'RNN']) {
    const T = mode === 'elk' ? 300 : 700, chunkSize = mode === 'elk' ? 110 : 256;
    check(`${kind} mode ${mode} T=${T} B=3 n=8 fwd+bwd, float64`, 1e-8, (d) => {
      a.setSeed(5);
      const m = new a.nn[kind](6, 8, { mode, dtype: 'float64', deer: mode === 'sequential' ? undefined : { chunkSize } });
      m.to(d);
      const x = leaf(rn([T, 3, 6], 6, d, 'float64'));
      const y = m.forward(x).output;
      return [y, ...grads(y, [x, ...m.parameters()], 7)];
    });
  }
// The fused Newton solve (one launch per solve): its dense limit (LSTM n = 16, two rows per lane), quasi
// at H = 32 (a warp per chunk), one unit (256 chunks), float32 and float64. At B = 3 a sequence is split
// over several blocks of a cooperative launch (grid barriers) where T ≥ 4 × its chunks: all but the
// T = 300, H = 1 case (a block per sequence).
for (const [kind, H, mode, dtype, T] of [['LSTM', 8, 'deer', 'float64', 300], ['GRU', 32, 'quasi', 'float32', 300], ['GRU', 1, 'deer', 'float32', 300], ['RNN', 5, 'quasi', 'float64', 300], ['GRU', 1, 'deer', 'float64', 2000]])
  check(`fused ${kind} mode ${mode} H=${H} T=${T} B=3 fwd+bwd, ${dtype}`, dtype === 'float64' ? 1e-8 : 1e-3, (d) => {
    a.setSeed(40);
    const m = new a.nn[kind](4, H, { mode, dtype, deer: { fused: true } });
    m.to(d);
    const x = leaf(rn([T, 3, 4], 41, d, dtype));
    const y = m.forward(x).output;
    return [y, ...grads(y, [x, ...m.parameters()], 42)];
  });
// The one-unit walks (H <= 256, every lane a unit) with full warps: H = 128 and 256, both dtypes.
for (const [kind, H, dtype] of [['GRU', 128, 'float32'], ['LSTM', 128, 'float64'], ['RNN', 256, 'float32'], ['LSTM', 256, 'float32'], ['GRU', 256, 'float64']])
  check(`one-unit walk ${kind} H=${H} T=40 B=2 fwd+bwd, ${dtype}`, dtype === 'float64' ? 1e-9 : 1e-3, (d) => {
    a.setSeed(30);
    const m = new a.nn[kind](5, H, { mode: 'sequential', dtype });
    m.to(d);
    const x = leaf(rn([40, 2, 5], 31, d, dtype));
    const y = m.forward(x).output;
    return [y, ...grads(y, [x, ...m.parameters()], 32)];
  });
// H ≥ 257: the grid walks (a cooperative launch; native/cuda/cells.cu), and the block walks forced by
// ANTLER_CELL_WALK=block (read by the addon at each launch), the LSTM's with its state in global memory.
for (const walk of ['grid', 'block'])
  check(`LSTM sequential H=1600 (${walk} walk${walk === 'block' ? ', state in global memory' : ''}) T=3 B=1 fwd+bwd, float64`, 1e-9, (d) => {
    process.env.ANTLER_CELL_WALK = walk;
    try {
      a.setSeed(8);
      const m = new a.nn.LSTM(4, 1600, { dtype: 'float64' });
      m.to(d);
      const x = leaf(rn([3, 1, 4], 9, d, 'float64'));
      const y = m.forward(x).output;
      return [y, ...grads(y, [x, m.weight_hh_l0], 10)];
    } finally {
      delete process.env.ANTLER_CELL_WALK;
    }
  });
for (const [kind, dtype, walk] of [['GRU', 'float32', 'grid'], ['RNN', 'float64', 'grid'], ['GRU', 'float64', 'block']])
  check(`${walk} walk ${kind} H=300 T=12 B=6 fwd+bwd, ${dtype}`, dtype === 'float64' ? 1e-9 : 1e-3, (d) => {
    process.env.ANTLER_CELL_WALK = walk;
    try {
      a.setSeed(33);
      const m = new a.nn[kind](5, 300, { mode: 'sequential', dtype });
      m.to(d);
      const x = leaf(rn([12, 6, 5], 34, d, dtype));
      const y = m.forward(x).output;
      return [y, ...grads(y, [x, ...m.parameters()], 35)];
    } finally {
      delete process.env.ANTLER_CELL_WALK;
    }
  });
for (const mode of ['sequential', 'deer'])
  check(`SRU 2 layers bidirectional, projection and layer norm, mode ${mode}, fwd+bwd`, 1e-4, (d) => {
    a.setSeed(11);
    const m = new a.nn.SRU(8, 16, { numLayers: 2, bidirectional: true, projectionSize: 6, layerNorm: true, mode });
    m.to(d);
    const x = leaf(rn([120, 3, 8], 12, d));
    const y = m.forward(x).output;
    return [y, ...grads(y, [x, ...m.parameters()], 13)];
  });
check('neural ODE (expm linearisation) n=5 fwd+bwd, float64', 1e-6, (d) => {
  a.setSeed(14);
  class F extends a.nn.Module {
    constructor() {
      super();
      this.lin = new a.nn.Linear(5, 5, { dtype: 'float64' });
    }
    forward(t, y) {
      return a.tanh(this.lin.forward(y));
    }
  }
  const ode = new a.nn.NeuralODE(new F());
  ode.to(d);
  const y0 = leaf(rn([2, 5], 15, d, 'float64'));
  const ys = ode.forward(y0, Array.from({ length: 21 }, (_, i) => i / 20)).y;
  return [ys, ...grads(ys, [y0, ode.func.lin.weight], 16)];
});
check('ctcLoss T=50 N=3 C=6, fwd+bwd', 1e-4, (d) => {
  const lp = leaf(a.logSoftmax(rn([50, 3, 6], 17, d), -1).detach());
  const targets = a.tensor([[1, 2, 2, 3], [4, 5, 1, 0], [2, 0, 0, 0]], undefined, { dtype: 'int32', device: d });
  const loss = a.ctcLoss(lp, targets, [50, 40, 30], [4, 3, 1], { reduction: 'sum' });
  loss.backward();
  return [loss, lp.grad];
});
check('softmax, crossEntropy, layerNorm, embedding, cumsum, topk, sort, argmax, reductions', 1e-4, (d) => {
  const x = leaf(rn([37, 129], 18, d)), w = leaf(rn([129], 19, d)), b = leaf(rn([129], 20, d));
  const labels = a.tensor(Array.from({ length: 37 }, (_, i) => (i * 7) % 129), undefined, { dtype: 'int32', device: d });
  const ce = a.crossEntropy(x, labels);
  const ln = a.layerNorm(x, w, b);
  const sm = a.softmax(x, -1);
  const table = leaf(rn([50, 9], 21, d));
  const idx = a.tensor(Array.from({ length: 64 }, (_, i) => (i * 13) % 50), [8, 8], { dtype: 'int32', device: d });
  const emb = a.embedding(idx, table);
  const cs = a.cumsum(x, 1);
  const tk = a.topk(x, 20, { axis: 1 });
  const so = a.sort(x, { axis: 1 });
  const loss = a.add(a.add(ce, a.sum(a.mul(ln, sm))), a.add(a.sum(emb), a.sum(a.mul(cs, 1e-3))));
  loss.backward();
  return [ce, ln, sm, emb, cs, tk.values, tk.indices, so.values, so.indices, a.argmax(x, 1), a.sum(x, 0), a.max(x, 1), x.grad, w.grad, table.grad];
});
check('cumprod (both layouts, every option) and prod with their gradients, scatter', 1e-9, (d) => {
  // Values near 1 keep products of 129 factors in range; a few exact zeros exercise the gradient's zero path.
  const base = rn([37, 129], 31, d, 'float64');
  const near1 = a.add(a.mul(base, 0.05), 1);
  const zeroed = a.mul(near1, a.tensor(Array.from({ length: 37 * 129 }, (_, i) => (i % 97 === 5 ? 0 : 1)), [37, 129], { dtype: 'float64', device: d }));
  const x = leaf(zeroed);
  const c1 = a.cumprod(x, 1), c0 = a.cumprod(x, 0, { exclusive: true, reverse: true });
  const p1 = a.prod(x, 1), p01 = a.prod(x, [0, 1]);
  const idx = a.tensor(Array.from({ length: 2 * 129 }, (_, i) => (i < 129 ? 3 : 11)), [2, 129], { dtype: 'int32', device: d });
  const src = leaf(rn([2, 129], 32, d, 'float64'));
  const sc = a.scatter(x, 0, idx, src);
  const loss = a.add(a.add(a.sum(a.mul(c1, 1e-2)), a.sum(a.mul(c0, 1e-2))), a.add(a.add(a.sum(p1), p01), a.sum(a.mul(sc, sc))));
  loss.backward();
  return [c1, c0, p1, p01, sc, x.grad, src.grad];
});
check('matmul batched and transposed, the built-in GEMM sizes, float64', 1e-10, (d) => {
  const x = leaf(rn([3, 67, 45], 22, d, 'float64')), y = leaf(rn([45, 33], 23, d, 'float64'));
  const z = a.matmul(x, y);
  const u = a.matmul(x, x, { transposeB: true });
  return [z, u, ...grads(a.add(a.sum(z), a.sum(u)), [x, y], 24)];
});
check('optimizers: two steps of SGD, Adam, RMSprop, Adagrad, RAdam, NAdam, Adamax, Adadelta, Rprop, ASGD', 1e-5, (d) => {
  const outs = [];
  for (const [Opt, o] of [[a.optim.SGD, { lr: 0.1, momentum: 0.9, nesterov: true }], [a.optim.Adam, { lr: 0.01, amsgrad: true }], [a.optim.RMSprop, { lr: 0.01, centered: true, momentum: 0.5 }], [a.optim.Adagrad, { lr: 0.1 }],
      [a.optim.RAdam, { lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true }], [a.optim.NAdam, { lr: 0.01, weightDecay: 0.1 }], [a.optim.Adamax, { lr: 0.01 }], [a.optim.Adadelta, { weightDecay: 0.01 }],
      [a.optim.Rprop, { lr: 0.01, maximize: true }], [a.optim.ASGD, { lr: 0.01, t0: 0, weightDecay: 0.01 }]]) {
    const p = leaf(rn([1000], 25, d));
    const opt = new Opt([p], o);
    for (let s = 0; s < 2; s++) {
      opt.zeroGrad();
      a.sum(a.square(p)).backward();
      opt.step();
    }
    outs.push(p.detach().clone());
    opt.dispose();
  }
  return outs;
});

console.log(failed ? `${failed} check(s) failed` : 'all checks passed');
process.exit(failed ? 1 : 0);
