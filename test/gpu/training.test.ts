// The same MLP, same initial weights and data, trained on CPU and on CUDA:
// the loss curves must agree step for step (float64, so only rounding differs),
// with Adam, L-BFGS (strong Wolfe) and AdaHessian (the same Rademacher draws
// on both devices: one seed, Philox).
import * as antler from '../../lib';
import { makeRng } from '../helpers';
import { gpuDescribe } from './suite';

const cuda = antler.backends().cuda;
const run = gpuDescribe('training test');

const rng = makeRng();

/**
 * fn on the CPU and on CUDA from the same global seed, inside tidy(), in
 * float64; its arrays of numbers must agree to `tol` relative (to 1 for
 * small values).
 */
function expectDevicesAgree(tol: number, fn: (device: string, F: { dtype: 'float64'; device: string }) => number[][]): void {
  const seed = rng.int(1, 2 ** 30);
  const [cpu, gpu] = ['cpu', 'cuda:0'].map((device) =>
    antler.tidy(() => {
      antler.setSeed(seed);
      return fn(device, { dtype: 'float64', device });
    }),
  );
  cpu.forEach((c, i) => c.forEach((a, j) => expect(Math.abs(a - gpu[i][j])).toBeLessThan(tol * Math.max(1, Math.abs(a)))));
}

run(`MLP training on CPU and CUDA (seed ${rng.seed})`, () => {
  type Opt = antler.optim.Optimizer<{ lr: number }>;
  const curvesOf = (steps: number, makeOpt: (params: antler.Tensor[]) => Opt): number[][] => {
    const n = 64;
    const xs = Array.from({ length: n * 4 }, () => rng.uniform(-1, 1));
    const ys = Array.from({ length: n }, (_, i) => (xs[4 * i] * xs[4 * i + 1] > 0 ? 1 : 0) + (xs[4 * i + 2] > 0.5 ? 1 : 0));
    return ['cpu', 'cuda:0'].map((device) => {
      antler.setSeed(rng.seed);
      const model = new antler.nn.Sequential(
        new antler.nn.Linear(4, 32, { dtype: 'float64', device }),
        new antler.nn.Tanh(),
        new antler.nn.Linear(32, 3, { dtype: 'float64', device }),
      );
      const opt = makeOpt(model.parameters());
      const x = antler.tensor(xs, [n, 4], { dtype: 'float64', device });
      const y = antler.tensor(ys, [n], { dtype: 'int32', device });
      const closure = () => {
        opt.zeroGrad();
        const loss = antler.crossEntropy(model.forward(x), y);
        loss.backward();
        return loss;
      };
      const losses: number[] = [];
      for (let s = 0; s < steps; s++) {
        if (opt.requiresClosure) losses.push(opt.step(closure)!);
        else {
          losses.push(antler.tidy(() => closure().item()));
          opt.step();
        }
      }
      opt.dispose();
      model.dispose();
      x.dispose();
      y.dispose();
      return losses;
    });
  };
  const expectSameCurves = (curves: number[][], tol: number) => {
    curves[0].forEach((l, s) => expect(Math.abs(l - curves[1][s])).toBeLessThan(tol * Math.max(1, l)));
    expect(curves[1][curves[1].length - 1]).toBeLessThan(curves[1][0]);
  };

  test('Adam loss curves agree over 50 steps', () => {
    expectSameCurves(curvesOf(50, (p) => new antler.optim.Adam(p, { lr: 0.01 }) as Opt), 1e-9);
  });

  test('L-BFGS with strong Wolfe: loss curves agree over 5 steps of 10 iterations', () => {
    // The line search branches on comparisons of losses, so rounding could in
    // principle pick another step; over 5 steps it must not matter at 1e-6.
    expectSameCurves(curvesOf(5, (p) => new antler.optim.LBFGS(p, { maxIter: 10, lineSearchFn: 'strong_wolfe' }) as unknown as Opt), 1e-6);
  });

  test('AdaHessian: loss curves agree over 20 steps (same seed, same probes)', () => {
    // Central differences: the gradients' rounding enters D divided by h, and
    // forward differences' smaller h (1.5e-8) made the devices differ by 2e-7
    // where |D| is near 0 (under emulation); central ones by 4e-12.
    expectSameCurves(curvesOf(20, (p) => new antler.optim.AdaHessian(p, { lr: 0.05, seed: 1234, hvp: 'central' }) as unknown as Opt), 1e-8);
  });

  test('AdaHessian with exact products (double backward): loss curves agree over 20 steps', () => {
    expectSameCurves(curvesOf(20, (p) => new antler.optim.AdaHessian(p, { lr: 0.05, seed: 1234, hvp: 'exact' }) as unknown as Opt), 1e-9);
  });

  test('exact Hessian-vector products through embedding, layer norm, GELU, softmax attention and cross-entropy agree with the CPU', () => {
    const tokens = Array.from({ length: 12 }, () => rng.int(0, 9));
    const labels = Array.from({ length: 12 }, () => rng.int(0, 3));
    expectDevicesAgree(1e-10, (device, F) => {
      const emb = antler.randn([10, 6], F), w = antler.randn([6, 4], F), g = antler.randn([6], F);
      const v = [antler.randn([10, 6], F), antler.randn([6, 4], F), antler.randn([6], F)];
      const tok = antler.tensor(tokens, [12], { dtype: 'int32', device }), lab = antler.tensor(labels, [12], { dtype: 'int32', device });
      const f = (E: antler.Tensor, W: antler.Tensor, G: antler.Tensor) => {
        const h = antler.gelu(antler.layerNorm(antler.embedding(tok, E), G));
        const att = antler.scaledDotProductAttention(h.reshape([1, 12, 6]), h.reshape([1, 12, 6]), h.reshape([1, 12, 6])).reshape([12, 6]);
        return antler.crossEntropy(antler.matmul(att, W), lab);
      };
      const r = antler.hvp(f, [emb, w, g], v);
      expect(r.method).toBe('exact');
      return r.hvp.map((t) => Array.from(t.dataSync()));
    });
  });

  test('1-D pooling (max with indices, average, adaptive) and their gradients agree with the CPU', () => {
    const xs = Array.from({ length: 2 * 3 * 11 }, () => rng.uniform(-2, 2));
    expectDevicesAgree(1e-12, (device, F) => {
      const x = antler.tensor(xs, [2, 3, 11], { ...F, requiresGrad: true });
      const m = antler.maxPool1d(x, 3, { stride: 2, padding: 1, dilation: 2, ceilMode: true, returnIndices: true });
      const ys = [m.values, antler.avgPool1d(x, 4, { stride: 3, padding: 2, ceilMode: true, countIncludePad: false }), antler.adaptiveAvgPool1d(x, 4), antler.adaptiveMaxPool1d(x, 5)];
      antler.sum(antler.concat(ys.map((y) => antler.mul(y.reshape([-1]), antler.exp(y.reshape([-1])))), 0)).backward();
      return [...ys.map((y) => Array.from(y.dataSync())), Array.from(m.indices.dataSync()), Array.from(x.grad!.dataSync())];
    });
  });

  test('BatchNorm1d: training steps (outputs, running statistics, gradients) and eval agree with the CPU', () => {
    const xs = Array.from({ length: 3 }, () => Array.from({ length: 5 * 4 * 3 }, () => rng.uniform(-1, 2)));
    expectDevicesAgree(1e-10, (device, F) => {
      const bn = new antler.nn.BatchNorm1d(4, { ...F, momentum: null });
      const lin = new antler.nn.Linear(3, 3, F);
      const out: number[][] = [];
      for (const v of xs) {
        const y = bn.forward(lin.forward(antler.tensor(v, [5, 4, 3], F)) as antler.Tensor);
        antler.sum(antler.mul(y, y.exp())).backward();
        out.push(Array.from(y.dataSync()), Array.from(lin.weight.grad!.dataSync()), Array.from(bn.runningVar!.dataSync()));
      }
      bn.eval();
      out.push(Array.from(bn.forward(antler.tensor(xs[0], [5, 4, 3], F)).dataSync()), [bn.numBatchesTracked!.item()]);
      bn.dispose();
      lin.dispose();
      return out;
    });
  });

  test('TransformerEncoder (pre- and post-norm, gelu, causal and padding masks, dropout): training steps and eval agree with the CPU', () => {
    const xs = Array.from({ length: 2 }, () => Array.from({ length: 5 * 3 * 8 }, () => rng.uniform(-1, 1)));
    expectDevicesAgree(1e-10, (device, F) => {
      const enc = new antler.nn.TransformerEncoder(
        () => new antler.nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 12, dropout: 0.1, activation: 'gelu', normFirst: true, ...F }),
        1,
      );
      const post = new antler.nn.TransformerEncoder(new antler.nn.TransformerEncoderLayer(8, 4, { dimFeedforward: 6, dropout: 0.1, batchFirst: true, ...F }), 2, {
        norm: new antler.nn.LayerNorm(8, F),
      });
      const mask = antler.nn.generateSquareSubsequentMask(5, F);
      const pad = antler.tensor([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1], [3, 5], { dtype: 'int32', device });
      const out: number[][] = [];
      for (const v of xs) {
        const x = antler.tensor(v, [5, 3, 8], F);
        const y = post.forward(enc.forward(x, { mask, isCausal: true }).transpose(0, 1), { srcKeyPaddingMask: pad });
        antler.sum(antler.mul(y, y.sin())).backward();
        out.push(Array.from(y.dataSync()), ...[...enc.parameters(), ...post.parameters()].map((p) => Array.from(p.grad!.dataSync())));
      }
      enc.eval();
      post.eval();
      out.push(Array.from(post.forward(enc.forward(antler.tensor(xs[0], [5, 3, 8], F)).transpose(0, 1), { srcKeyPaddingMask: pad }).dataSync()));
      enc.dispose();
      post.dispose();
      return out;
    });
  });

  test('nn.Transformer (encoder, decoder with cross-attention, causal and padding masks, dropout): a training step and eval agree with the CPU', () => {
    const src = Array.from({ length: 2 * 6 * 8 }, () => rng.uniform(-1, 1)), tgt = Array.from({ length: 2 * 4 * 8 }, () => rng.uniform(-1, 1));
    expectDevicesAgree(1e-10, (device, F) => {
      const m = new antler.nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 10, dropout: 0.1, batchFirst: true, normFirst: true, ...F });
      const o = {
        tgtMask: antler.nn.Transformer.generateSquareSubsequentMask(4, F),
        srcKeyPaddingMask: antler.tensor([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0], [2, 6], { dtype: 'int32', device }),
        memoryKeyPaddingMask: antler.tensor([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0], [2, 6], { dtype: 'int32', device }),
      };
      const y = m.forward(antler.tensor(src, [2, 6, 8], F), antler.tensor(tgt, [2, 4, 8], F), o);
      antler.sum(antler.mul(y, y.cos())).backward();
      const out = [Array.from(y.dataSync()), ...m.parameters().map((p) => Array.from(p.grad!.dataSync()))];
      m.eval();
      out.push(Array.from(m.forward(antler.tensor(src, [2, 6, 8], F), antler.tensor(tgt, [2, 4, 8], F), o).dataSync()));
      m.dispose();
      return out;
    });
  });

  test('GroupNorm and InstanceNorm1d (running statistics): training steps (outputs, running statistics, gradients) and eval agree with the CPU', () => {
    const xs = Array.from({ length: 3 }, () => Array.from({ length: 5 * 4 * 3 }, () => rng.uniform(-1, 2)));
    expectDevicesAgree(1e-10, (device, F) => {
      const lin = new antler.nn.Linear(3, 3, F);
      const gn = new antler.nn.GroupNorm(2, 4, F);
      const inorm = new antler.nn.InstanceNorm1d(4, { ...F, affine: true, trackRunningStats: true, momentum: 0.3 });
      const out: number[][] = [];
      for (const v of xs) {
        const h = lin.forward(antler.tensor(v, [5, 4, 3], F)) as antler.Tensor;
        const y = inorm.forward(gn.forward(h));
        antler.sum(antler.mul(y, y.exp())).backward();
        out.push(Array.from(y.dataSync()), Array.from(lin.weight.grad!.dataSync()), Array.from(gn.weight!.grad!.dataSync()), Array.from(inorm.runningVar!.dataSync()));
      }
      gn.eval();
      inorm.eval();
      out.push(Array.from(inorm.forward(gn.forward(antler.tensor(xs[0], [5, 4, 3], F))).dataSync()));
      for (const m of [lin, gn, inorm]) m.dispose();
      return out;
    });
  });

  test('KLDivLoss (batchmean, and logTarget): the loss and the gradients to both sides agree with the CPU', () => {
    const xs = Array.from({ length: 6 * 5 }, () => rng.uniform(-3, 3));
    const ts = Array.from({ length: 6 * 5 }, (_, i) => (i % 7 === 0 ? 0 : rng.uniform(0, 1)));
    expectDevicesAgree(1e-10, (device, F) => {
      const x = antler.tensor(xs, [6, 5], { ...F, requiresGrad: true });
      const t = antler.tensor(ts, [6, 5], { ...F, requiresGrad: true });
      const l1 = new antler.nn.KLDivLoss({ reduction: 'batchmean' }).forward(antler.logSoftmax(x), t);
      const l2 = antler.klDiv(antler.logSoftmax(x), antler.logSoftmax(t), { logTarget: true, reduction: 'sum' });
      antler.add(l1, l2).backward();
      return [[l1.item(), l2.item()], Array.from(x.grad!.dataSync()), Array.from(t.grad!.dataSync())];
    });
  });

  test('checkpoint (a GRU cell walked in checkpointed chunks, dropout inside): outputs and gradients agree with the CPU', () => {
    const xs = Array.from({ length: 12 * 2 * 4 }, () => rng.uniform(-1, 1));
    expectDevicesAgree(1e-10, (device, F) => {
      const cell = new antler.nn.GRUCell(4, 5, F);
      const drop = new antler.nn.Dropout(0.2);
      const x = antler.tensor(xs, [12, 2, 4], { ...F, requiresGrad: true });
      try {
        const chunk = (h: antler.Tensor, t0: number) => {
          for (let t = t0; t < t0 + 4; t++) h = cell.forward(drop.forward(antler.reshape(antler.slice(x, [t, 0, 0], [1, 2, 4]), [2, 4])), h);
          return h;
        };
        let h = antler.zeros([2, 5], F);
        for (let t = 0; t < 12; t += 4) h = antler.checkpoint(chunk, h, t);
        antler.sum(antler.square(h)).backward();
        return [Array.from(h.dataSync()), Array.from(x.grad!.dataSync()), Array.from(cell.weight_hh.grad!.dataSync())];
      } finally {
        cell.dispose();
      }
    });
  });

  test('exact Hessian-vector products through SRU (bidirectional, maskPad), LSTM and GRU (deer mode) agree with the CPU', () => {
    expectDevicesAgree(1e-9, (device, F) => {
      const sru = new antler.nn.SRU(3, 4, { numLayers: 2, bidirectional: true, ...F });
      const lstm = new antler.nn.LSTM(8, 3, { ...F, mode: 'sequential' });
      const gru = new antler.nn.GRU(3, 2, { ...F, mode: 'deer' });
      const params = [...sru.parameters(), ...lstm.parameters(), ...gru.parameters()];
      const x = antler.randn([6, 2, 3], F);
      const mask = antler.tensor([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], [6, 2], { dtype: 'int32', device });
      const v = params.map((p) => antler.randn(p.shape, F));
      const loss = antler.add(
        antler.sum(antler.square(lstm.forward(sru.forward(x, { maskPad: mask }).output).output)),
        antler.sum(antler.pow(gru.forward(x).output, 3)),
      );
      const gs = antler.autograd.grad([loss], params, { createGraph: true });
      const dot = gs.reduce((acc: antler.Tensor, g, i) => antler.add(acc, antler.sum(antler.mul(g!, v[i]))), antler.tensor(0, [], F));
      const hv = antler.autograd.grad([dot], params).map((t) => Array.from(t!.dataSync()));
      for (const m of [sru, lstm, gru]) m.dispose();
      return hv;
    });
  });

  test('exact Hessian-vector products through ctcLoss (recorded α and β recursions; lengths, a repeated label, an empty target) agree with the CPU', () => {
    expectDevicesAgree(1e-10, (_device, F) => {
      const logits = antler.randn([12, 3, 5], F), v = antler.randn([12, 3, 5], F);
      const f = (z: antler.Tensor) => antler.ctcLoss(antler.logSoftmax(z, 2), [[1, 2, 2], [4, 3, 0], [0, 0, 0]], [12, 9, 7], [3, 2, 0]);
      const r = antler.hvp(f, logits, v);
      expect(r.method).toBe('exact');
      return [Array.from(r.hvp.dataSync())];
    });
  });
});

run(`nn.init on CPU and CUDA (seed ${rng.seed})`, () => {
  test('a seeded init gives the same values on both devices; orthogonal stays orthogonal on CUDA', () => {
    const { init } = antler.nn;
    const seed = rng.int(0, 2 ** 40);
    const fills: [string, (t: antler.Tensor) => antler.Tensor][] = [
      ['uniform', (t) => init.uniform(t, -1, 2, { seed })],
      ['normal', (t) => init.normal(t, 0.5, 2, { seed })],
      ['xavierUniform', (t) => init.xavierUniform(t, 1.5, { seed })],
      ['kaimingNormal', (t) => init.kaimingNormal(t, 0, 'fan_out', 'relu', { seed })],
      ['orthogonal', (t) => init.orthogonal(t, 1, { seed })],
      ['truncNormal', (t) => init.truncNormal(t, 0, 1, -1, 3, { seed })],
      ['sparse', (t) => init.sparse(t, 0.3, 1, { seed })],
    ];
    for (const [name, fill] of fills)
      for (const dtype of ['float32', 'float64'] as const) {
        const [a, b] = ['cpu', 'cuda:0'].map((device) => fill(antler.zeros([24, 40], { dtype, device })));
        const va = a.dataSync(), vb = b.dataSync();
        // randn's tolerances in cuda.test.ts (the devices' log/sin differ in the last bits); the rest is the same host code.
        const tol = dtype === 'float64' ? 1e-12 : 1e-6;
        for (let i = 0; i < va.length; i++) expect(Math.abs(va[i] - vb[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(va[i])));
        if (name === 'orthogonal') {
          const w = antler.matmul(b, b.transpose(0, 1));
          const e = antler.sub(w, antler.tensor(Array.from({ length: 24 * 24 }, (_, k) => (k % 25 === 0 ? 1 : 0)), [24, 24], { dtype, device: 'cuda:0' }));
          expect(Math.max(...Array.from(e.dataSync(), Math.abs))).toBeLessThan(dtype === 'float64' ? 1e-12 : 1e-5);
          antler.dispose([w, e]);
        }
        antler.dispose([a, b]);
      }
  });
});
