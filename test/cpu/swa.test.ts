/**
 * Weight averaging (torch.optim.swa_utils): AveragedModel's SWA mean and EMA
 * against float64 recurrences of the snapshots, buffers copied or averaged,
 * state-dict names and resume; SWALR against its closed form
 * swaLr·α(e) + lr0·(1 − α(e)); updateBn against the cumulative average of
 * the batches' statistics; errors.
 */
import * as antler from '../../lib';
import { nn, optim, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;
expectNoLeaksInSuite(tensorCounts);

const F64 = { dtype: 'float64' as const };

class Net extends nn.Module {
  lin: nn.Linear;
  bn: nn.BatchNorm1d;
  constructor(readonly inF: number, readonly outF: number) {
    super();
    this.lin = new nn.Linear(inF, outF, F64);
    this.bn = new nn.BatchNorm1d(outF, F64);
  }
  forward(x: Tensor): Tensor {
    return this.bn.forward(this.lin.forward(x));
  }
}

/** Sets every parameter of m to fresh random values; returns them (in parameters() order). */
function scramble(m: nn.Module): number[][] {
  return m.parameters().map((p) => {
    const v = randomArray(rng, p.size, -2, 2);
    antler.noGrad(() => tidy(() => p.assign(tensor(v, p.shape, F64))));
    return v;
  });
}

/** One training-mode forward of m on a random batch (moves its batch-norm statistics). */
function moveStats(m: Net, n = 5): void {
  tidy(() => void m.forward(tensor(randomArray(rng, n * m.inF), [n, m.inF], F64)));
}

const valuesOf = (ts: Tensor[]) => ts.map((t) => Array.from(t.dataSync()));

describe(`optim.swa_utils (seed ${SEED})`, () => {
  test('AveragedModel (SWA): the parameters are the mean of the snapshots, the buffers the model\'s; n_averaged counts; forward is the average\'s', () => {
    const inF = rng.int(1, 4), outF = rng.int(1, 4), K = rng.int(1, 5);
    const model = new Net(inF, outF);
    const swa = new optim.AveragedModel(model, { make: () => new Net(inF, outF) });
    try {
      const snaps: number[][][] = [];
      for (let k = 0; k < K; k++) {
        snaps.push(scramble(model));
        moveStats(model);
        swa.updateParameters(model);
        expect(swa.numAveraged).toBe(k + 1);
        // The buffers follow the model (useBuffers false), also num_batches_tracked.
        expect(valuesOf(swa.module.namedBuffers().map(([, b]) => b))).toEqual(valuesOf(model.namedBuffers().map(([, b]) => b)));
      }
      const mean = snaps[0].map((p, j) => p.map((_, i) => snaps.reduce((s, snap) => s + snap[j][i], 0) / K));
      valuesOf(swa.module.parameters()).forEach((v, j) => expectClose(v, mean[j], 1e-13, 1e-14, `parameter ${j}, seed ${SEED}`));
      swa.eval();
      model.eval();
      tidy(() => {
        const x = tensor(randomArray(rng, 3 * inF), [3, inF], F64);
        expect(Array.from(swa.forward(x).dataSync())).toEqual(Array.from(swa.module.forward(x).dataSync()));
      });
    } finally {
      swa.dispose();
      model.dispose();
    }
  });

  test('EMA (getEmaAvgFn) with useBuffers: every float tensor follows decay·a + (1 − decay)·c from a first copy; integer buffers are copied', () => {
    const inF = rng.int(1, 4), outF = rng.int(1, 4), K = rng.int(2, 6), decay = rng.uniform(0.5, 0.99);
    const model = new Net(inF, outF);
    const ema = new optim.AveragedModel(model, { make: () => new Net(inF, outF), avgFn: optim.getEmaAvgFn(decay), useBuffers: true });
    const floats = (m: nn.Module) => [...m.parameters(), ...m.namedBuffers().filter(([, b]) => b.dtype !== 'int32').map(([, b]) => b)];
    try {
      let ref: number[][] = [];
      for (let k = 0; k < K; k++) {
        scramble(model);
        moveStats(model);
        const cur = valuesOf(floats(model));
        ref = k === 0 ? cur : ref.map((a, j) => a.map((v, i) => decay * v + (1 - decay) * cur[j][i]));
        ema.updateParameters(model);
      }
      valuesOf(floats(ema.module)).forEach((v, j) => expectClose(v, ref[j], 1e-12, 1e-13, `tensor ${j}, seed ${SEED}`));
      expect(ema.module.bn.numBatchesTracked!.item()).toBe(K);
    } finally {
      ema.dispose();
      model.dispose();
    }
  });

  test("state dict: PyTorch's names (n_averaged, module.…); a loaded copy continues as the original", () => {
    const model = new Net(3, 2);
    const make = () => new Net(3, 2);
    const a = new optim.AveragedModel(model, { make });
    const b = new optim.AveragedModel(model, { make });
    try {
      for (let k = 0; k < 3; k++) {
        scramble(model);
        a.updateParameters(model);
      }
      tidy(() => {
        const sd = a.stateDict();
        expect(Object.keys(sd)).toEqual(['n_averaged', 'module.lin.weight', 'module.lin.bias', 'module.bn.weight', 'module.bn.bias', 'module.bn.running_mean', 'module.bn.running_var', 'module.bn.num_batches_tracked']);
        b.loadStateDict(sd);
      });
      expect(b.numAveraged).toBe(3);
      scramble(model);
      a.updateParameters(model);
      b.updateParameters(model);
      expect(valuesOf(b.module.parameters())).toEqual(valuesOf(a.module.parameters()));
    } finally {
      a.dispose();
      b.dispose();
      model.dispose();
    }
  });

  test('SWALR equals its closed form swaLr·α(e) + lr0·(1 − α(e)) per group (cos and linear, annealEpochs 0 to 4); resumes from its state dict', () => {
    for (let trial = 0; trial < 6; trial++) {
      const A = rng.int(0, 4), strategy = rng.next() < 0.5 ? 'cos' : 'linear';
      const p1 = tensor([0], [1], F64), p2 = tensor([0], [1], F64);
      const lr0 = [rng.uniform(0.1, 1), rng.uniform(0.1, 1)], swaLr = [rng.uniform(0, 0.1), rng.uniform(0, 0.1)];
      const opt = new optim.SGD([{ params: [p1], lr: lr0[0] }, { params: [p2], lr: lr0[1] }], { lr: 1 });
      try {
        const s = new optim.SWALR(opt, swaLr, A, strategy as 'cos');
        const alpha = (e: number) => {
          const t = A === 0 ? 1 : Math.min(1, e / A);
          return strategy === 'cos' ? (1 - Math.cos(Math.PI * t)) / 2 : t;
        };
        for (let e = 0; e < 7; e++) {
          if (e > 0) s.step();
          opt.paramGroups.forEach((g, i) => expectClose([g.lr], [swaLr[i] * alpha(e) + lr0[i] * (1 - alpha(e))], 1e-12, 1e-15, `A ${A} ${strategy} epoch ${e} group ${i}`));
        }
      } finally {
        p1.dispose();
        p2.dispose();
      }
    }
  });

  test("SWALR after a milestone of SequentialLR anneals from the current lr, one step in at the milestone (PyTorch's step(0) counts SWALR's own steps); resumes from the state dicts", () => {
    // Checked once against torch 1.13: SGD lr 0.1, SequentialLR([CosineAnnealingLR(T 20), SWALR(0.005, 3, 'cos')], [5])
    // gives 0.1, 0.09938, 0.09755, 0.09455, 0.09045, then 0.06909, 0.02636, 0.005, … (it went back to 0.1 at epoch 5).
    for (let trial = 0; trial < 4; trial++) {
      const A = rng.int(0, 4), strategy = rng.next() < 0.5 ? 'cos' : 'linear', T = rng.int(8, 20), m = rng.int(1, 5);
      const lr0 = rng.uniform(0.1, 1), swaLr = rng.uniform(0, 0.1);
      const alpha = (k: number) => {
        const t = A === 0 ? 1 : Math.min(1, k / A);
        return strategy === 'cos' ? (1 - Math.cos(Math.PI * t)) / 2 : t;
      };
      const cosine = (e: number) => (lr0 * (1 + Math.cos((Math.PI * e) / T))) / 2;
      // Epoch e < m: the cosine's; from the milestone, SWALR's step k = e − m + 1 from the cosine's last lr.
      const expected = (e: number) => (e < m ? cosine(e) : swaLr * alpha(e - m + 1) + cosine(m - 1) * (1 - alpha(e - m + 1)));
      const p = tensor([0], [1], F64);
      const build = () => {
        const opt = new optim.SGD([p], { lr: lr0 });
        return { opt, seq: new optim.SequentialLR(opt, [new optim.CosineAnnealingLR(opt, T), new optim.SWALR(opt, swaLr, A, strategy as 'cos')], [m]) };
      };
      try {
        let { opt, seq } = build();
        const cut = m + rng.int(0, 2);
        for (let e = 0; e < m + 6; e++) {
          if (e > 0) seq.step();
          expectClose([opt.paramGroups[0].lr], [expected(e)], 1e-12, 1e-15, `A ${A} ${strategy} T ${T} milestone ${m} epoch ${e}, seed ${SEED}`);
          if (e === cut) {
            const sd = seq.stateDict(), osd = opt.stateDict();
            ({ opt, seq } = build());
            opt.loadStateDict(osd);
            seq.loadStateDict(sd);
            Object.values(sd).forEach((t) => t.dispose());
            Object.values(osd).forEach((t) => t.dispose());
          }
        }
      } finally {
        p.dispose();
      }
    }
  });

  test('updateBn: the running statistics are the cumulative average of the batches\' (mean, unbiased variance); momentum and mode restored', () => {
    const inF = rng.int(1, 3), outF = rng.int(1, 3), M = rng.int(1, 4);
    const model = new Net(inF, outF);
    const w = scramble(model);
    try {
      moveStats(model);
      model.eval();
      const batches = Array.from({ length: M }, () => {
        const n = rng.int(2, 6);
        return { n, x: randomArray(rng, n * inF, -2, 2) };
      });
      const loader = batches.map((b, i) => (i % 2 ? [tensor(b.x, [b.n, inF], F64), 'labels'] : tensor(b.x, [b.n, inF], F64)));
      try {
        optim.updateBn(loader, model);
      } finally {
        loader.forEach((item) => (Array.isArray(item) ? (item[0] as Tensor) : item).dispose());
      }
      // The linear layer's outputs, then each batch's per-feature mean and unbiased variance, averaged over batches.
      const [W, bias] = [w[0], w[1]];
      const mean = new Array<number>(outF).fill(0), vars = new Array<number>(outF).fill(0);
      for (const b of batches)
        for (let f = 0; f < outF; f++) {
          const h = Array.from({ length: b.n }, (_, r) => bias[f] + Array.from({ length: inF }, (_, c) => W[f * inF + c] * b.x[r * inF + c]).reduce((s, v) => s + v, 0));
          const mu = h.reduce((s, v) => s + v, 0) / b.n;
          mean[f] += mu / M;
          vars[f] += h.reduce((s, v) => s + (v - mu) ** 2, 0) / (b.n - 1) / M;
        }
      expectClose(model.bn.runningMean!.dataSync(), mean, 1e-12, 1e-13, `seed ${SEED}`);
      expectClose(model.bn.runningVar!.dataSync(), vars, 1e-12, 1e-13, `seed ${SEED}`);
      expect(model.bn.numBatchesTracked!.item()).toBe(M);
      expect([model.bn.momentum, model.training]).toEqual([0.1, false]);
    } finally {
      model.dispose();
    }
  });

  test("updateBn over a data.DataLoader frees each batch the loader made (fit's rule) and keeps the dataset's tensors; the statistics as over the batches' tensors", () => {
    // No last batch of one row (batch norm refuses it in training mode): N = kB, or kB + 2 with B = 3.
    const inF = rng.int(1, 3), outF = rng.int(1, 3), B = rng.int(2, 3), N = B * rng.int(2, 4) + (B === 3 ? 2 * rng.int(0, 1) : 0);
    const x = tensor(randomArray(rng, N * inF, -2, 2), [N, inF], F64), y = tensor(randomArray(rng, N), [N], F64);
    const model = new Net(inF, outF), twin = new Net(inF, outF);
    try {
      scramble(model);
      antler.noGrad(() => twin.parameters().forEach((p, i) => p.assign(model.parameters()[i])));
      const loader = new antler.data.DataLoader(new antler.data.TensorDataset(x, y), { batchSize: B });
      const before = antler.memory().numTensors;
      optim.updateBn(loader, model);
      // Before the fix every batch's [x, y] stayed behind: 2 tensors per batch.
      expect(antler.memory().numTensors).toBe(before);
      expect(x.isDisposed || y.isDisposed).toBe(false);
      // An array of batches a DataLoader made is the caller's (as fit's rule): kept.
      const kept = [...loader];
      try {
        optim.updateBn(kept, model);
        expect(kept.some(([a, b]) => a.isDisposed || b.isDisposed)).toBe(false);
      } finally {
        kept.forEach(([a, b]) => antler.dispose([a, b]));
      }
      optim.updateBn(loader, model);
      // The same statistics as over the rows taken by hand, in the loader's order.
      const rows = Array.from({ length: Math.ceil(N / B) }, (_, k) => antler.narrow(x, 0, k * B, Math.min(B, N - k * B)));
      try {
        optim.updateBn(rows, twin);
      } finally {
        rows.forEach((t) => t.dispose());
      }
      expectClose(model.bn.runningMean!.dataSync(), Array.from(twin.bn.runningMean!.dataSync()), 1e-15, 1e-15, `seed ${SEED}`);
      expectClose(model.bn.runningVar!.dataSync(), Array.from(twin.bn.runningVar!.dataSync()), 1e-15, 1e-15, `seed ${SEED}`);
    } finally {
      model.dispose();
      twin.dispose();
      x.dispose();
      y.dispose();
    }
  });

  test('errors: make missing or giving the model or another architecture, a bad avgFn result, bad SWALR and updateBn arguments', () => {
    const model = new Net(3, 2);
    try {
      expectAntlerError(() => new optim.AveragedModel(model, { make: 5 } as never), 'INVALID_ARGUMENT', /options.make must be a function making a new module of the model's architecture.*got 5/);
      expectAntlerError(() => new optim.AveragedModel(model, { make: () => model }), 'INVALID_ARGUMENT', /make\(\) must return a new Module \(not the model itself\)/);
      expectAntlerError(() => new optim.AveragedModel(model, { make: () => new Net(3, 4) }), 'SHAPE_MISMATCH', /parameter 0 is \[4, 3\] in the averaged module and \[2, 3\] in the model/);
      expectAntlerError(() => new optim.AveragedModel(model, { make: () => new nn.Linear(3, 2) as never }), 'SHAPE_MISMATCH', /2 parameters and the model 4/);
      const bad = new optim.AveragedModel(model, { make: () => new Net(3, 2), avgFn: (a) => antler.sum(a) });
      try {
        bad.updateParameters(model);
        const before = valuesOf(bad.module.parameters());
        scramble(model);
        expectAntlerError(() => bad.updateParameters(model), 'INVALID_ARGUMENT', /avgFn must return a Tensor of the averaged value's shape \[2, 3\]; got shape \[\]/);
        // Nothing changed.
        expect(valuesOf(bad.module.parameters())).toEqual(before);
        expect(bad.numAveraged).toBe(1);
      } finally {
        bad.dispose();
      }
      expectAntlerError(() => optim.getEmaAvgFn(1.5), 'INVALID_ARGUMENT', /decay must be in \[0, 1\]/);
      const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
      expectAntlerError(() => new optim.SWALR(opt, [0.1, 0.2]), 'INVALID_ARGUMENT', /one per parameter group \(1\)/);
      expectAntlerError(() => new optim.SWALR(opt, 0.1, -1), 'INVALID_ARGUMENT', /annealEpochs/);
      expectAntlerError(() => new optim.SWALR(opt, 0.1, 2, 'exp' as never), 'INVALID_ARGUMENT', /annealStrategy must be 'cos' or 'linear'/);
      expectAntlerError(() => optim.updateBn(3 as never, model), 'INVALID_ARGUMENT', /loader must be an iterable/);
      expectAntlerError(() => optim.updateBn([5], model), 'INVALID_ARGUMENT', /loader item 0 must be a Tensor/);
      expect([model.bn.momentum, model.training]).toEqual([0.1, true]);
    } finally {
      model.dispose();
    }
  });
});
