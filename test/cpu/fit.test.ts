/**
 * fit() and evaluate(): an MLP learns a 3-class problem that no linear model
 * can (concentric rings); History, callbacks, verbosity, validation, MSE
 * regression, argument errors, and no tensor left behind.
 */
import * as antler from '../../lib';
import { BatchLogs, Callbacks, fit, evaluate, Logs, nn, optim, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectAntlerErrorInTidy, expectClose, expectNoLeaksInSuite, expectRejects, makeSeededRng, randomArray, Rng, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;

expectNoLeaksInSuite(tensorCounts);

/** Three concentric rings (class = ring), radii in [0, .8], [1.2, 1.8], [2.2, 2.8]: not linearly separable. */
function rings(r: Rng, n: number): { xs: number[]; labels: number[] } {
  const xs: number[] = [], labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    const radius = c === 0 ? r.uniform(0, 0.8) : c === 1 ? r.uniform(1.2, 1.8) : r.uniform(2.2, 2.8);
    const angle = r.uniform(0, 2 * Math.PI);
    xs.push(radius * Math.cos(angle), radius * Math.sin(angle));
    labels.push(c);
  }
  return { xs, labels };
}

/** Accuracy and mean cross-entropy computed in JavaScript from the model's logits. */
function scoreRef(model: nn.Module, x: Tensor, labels: number[]): { acc: number; loss: number } {
  const logits = antler.noGrad(() => tidy(() => (model.forward(x) as Tensor).dataSync()));
  const C = 3;
  let correct = 0, loss = 0;
  labels.forEach((y, i) => {
    const row = Array.from(logits.subarray(i * C, (i + 1) * C));
    const best = row.indexOf(Math.max(...row));
    if (best === y) correct++;
    const mx = Math.max(...row);
    loss += mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0)) - row[y];
  });
  return { acc: correct / labels.length, loss: loss / labels.length };
}

function mlp(): nn.Sequential {
  return new nn.Sequential(new nn.Linear(2, 32), new nn.ReLU(), new nn.Linear(32, 3));
}

describe(`fit on concentric rings (seed ${SEED})`, () => {
  const train = rings(rng, 480);
  const test_ = rings(rng, 120);

  test('a 2-32-3 MLP with Adam reaches >= 95% held-out accuracy; loss falls; nothing leaks', async () => {
    const x = tensor(train.xs, [480, 2]);
    const y = tensor(train.labels, [480], { dtype: 'int32' });
    const xt = tensor(test_.xs, [120, 2]);
    const yt = tensor(test_.labels, [120], { dtype: 'int32' });
    const model = mlp();
    const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
    // A linear model cannot separate rings; check the untrained MLP is far from the 95% it must reach. Its
    // accuracy is a third on average, but a random MLP does better now and then: over 5,000 draws 0.5%
    // reached 0.6 and the best 0.675 (under 0.7, as checked before, about one run in 10⁴–10⁵ by extrapolation).
    expect(scoreRef(model, xt, test_.labels).acc).toBeLessThan(0.8);
    const before = tensorCounts();
    const history = await fit(model, { data: { x, y }, loss: 'crossEntropy', optimizer: opt, epochs: 60, batchSize: 32, seed: rng.u32(), verbose: 0 });
    // What remains: the last step's gradients (4) and Adam's m and v (8).
    expect(tensorCounts().numTensors).toBe(before.numTensors + 12);
    expect(history.epoch).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const losses = history.history.loss;
    expect(losses).toHaveLength(60);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[59]).toBeLessThan(0.25 * losses[0]);
    // Mostly decreasing: the mean of the last 10 epochs is below that of epochs 10–19.
    const avg = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(avg(losses.slice(50))).toBeLessThan(avg(losses.slice(10, 20)));

    const logs = evaluate(model, { x: xt, y: yt }, 'crossEntropy', { metrics: ['accuracy'] });
    const ref = scoreRef(model, xt, test_.labels);
    expect(logs.acc).toBeGreaterThanOrEqual(0.95);
    expect(logs.acc).toBeCloseTo(ref.acc, 12);
    expectClose([logs.loss], [ref.loss], 1e-5, 1e-6, 'evaluate loss vs JS cross-entropy');
    // evaluate restores training mode and leaves no tensors behind.
    expect(model.training).toBe(true);
    model.zeroGrad();
    opt.dispose();
    expect(tensorCounts()).toEqual(before);
    model.dispose();
    antler.dispose([x, y, xt, yt]);
  }, 60_000);

  test('callbacks are called the right number of times, in order, with logs; epoch loss = size-weighted batch mean', async () => {
    const n = 100, bs = 32, epochs = 3;
    const batches = Math.ceil(n / bs);
    const x = tensor(train.xs.slice(0, 2 * n), [n, 2]);
    const y = tensor(train.labels.slice(0, n), [n], { dtype: 'int32' });
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.05 });
    const events: string[] = [];
    const batchLogs: BatchLogs[][] = Array.from({ length: epochs }, () => []);
    const epochLogs: Logs[] = [];
    let epochNow = -1;
    const cb: Callbacks = {
      onTrainBegin: () => void events.push('trainBegin'),
      onTrainEnd: () => void events.push('trainEnd'),
      onEpochBegin: (e) => {
        epochNow = e;
        events.push(`epochBegin ${e}`);
      },
      onEpochEnd: async (e, logs) => {
        await new Promise((r) => setTimeout(r, 1)); // async callbacks are awaited
        events.push(`epochEnd ${e}`);
        epochLogs.push({ ...logs });
      },
      onBatchBegin: (b) => void events.push(`batchBegin ${b}`),
      onBatchEnd: (b, logs) => {
        events.push(`batchEnd ${b}`);
        batchLogs[epochNow].push({ ...logs });
      },
    };
    const second: Callbacks = { onBatchEnd: () => void events.push('second') };
    const history = await fit(model, { data: { x, y }, loss: 'crossEntropy', optimizer: opt, epochs, batchSize: bs, callbacks: [cb, second], verbose: 0, metrics: ['accuracy'] });
    const expected = ['trainBegin'];
    for (let e = 0; e < epochs; e++) {
      expected.push(`epochBegin ${e}`);
      for (let b = 0; b < batches; b++) expected.push(`batchBegin ${b}`, `batchEnd ${b}`, 'second');
      expected.push(`epochEnd ${e}`);
    }
    expected.push('trainEnd');
    expect(events).toEqual(expected);
    for (let e = 0; e < epochs; e++) {
      expect(batchLogs[e].map((l) => l.size)).toEqual([32, 32, 32, 4]);
      expect(batchLogs[e].every((l) => Number.isFinite(l.loss) && l.loss > 0)).toBe(true);
      const weighted = batchLogs[e].reduce((s, l) => s + l.loss * l.size, 0) / n;
      expectClose([epochLogs[e].loss], [weighted], 1e-12, 0, `epoch ${e} loss`);
      // Keras's training accuracy: each batch's, before its step, in the batch logs; the epoch's is their average.
      for (const l of batchLogs[e]) {
        expect(l.acc).toBeGreaterThanOrEqual(0);
        expect(l.acc).toBeLessThanOrEqual(1);
        expect(Math.abs(l.acc! * l.size! - Math.round(l.acc! * l.size!))).toBeLessThan(1e-9); // a count of right rows
      }
      const accWeighted = batchLogs[e].reduce((s, l) => s + l.acc! * l.size!, 0) / n;
      expectClose([epochLogs[e].acc!], [accWeighted], 1e-12, 0, `epoch ${e} acc`);
    }
    expect(history.history.loss).toEqual(epochLogs.map((l) => l.loss));
    expect(history.history.acc).toEqual(epochLogs.map((l) => l.acc));
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });

  test('verbose 0 prints nothing; verbose 1 prints one line per epoch off a TTY', async () => {
    const x = tensor(train.xs.slice(0, 40), [20, 2]);
    const y = tensor(train.labels.slice(0, 20), [20], { dtype: 'int32' });
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const tty = process.stdout.isTTY;
    try {
      (process.stdout as { isTTY?: boolean }).isTTY = false;
      await fit(model, { data: { x, y }, loss: 'crossEntropy', optimizer: opt, epochs: 2, verbose: 0 });
      expect(log).not.toHaveBeenCalled();
      expect(write).not.toHaveBeenCalled();
      expect(err).not.toHaveBeenCalled();
      await fit(model, { data: { x, y }, loss: 'crossEntropy', optimizer: opt, epochs: 2, verbose: 1 });
      expect(log).toHaveBeenCalledTimes(2);
      expect(String(log.mock.calls[0][0])).toMatch(/^epoch 1\/2: loss \d/);
    } finally {
      (process.stdout as { isTTY?: boolean }).isTTY = tty;
      log.mockRestore();
      write.mockRestore();
      err.mockRestore();
    }
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });

  test('validation data adds valLoss (and valAcc) equal to evaluate() on it', async () => {
    const x = tensor(train.xs.slice(0, 300), [150, 2]);
    const y = tensor(train.labels.slice(0, 150), [150], { dtype: 'int32' });
    const xv = tensor(test_.xs, [120, 2]);
    const yv = tensor(test_.labels, [120], { dtype: 'int32' });
    const model = mlp();
    const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
    const history = await fit(model, { data: { x, y }, validation: { x: xv, y: yv }, metrics: ['accuracy'], loss: 'crossEntropy', optimizer: opt, epochs: 3, verbose: 0 });
    expect(Object.keys(history.history).sort()).toEqual(['acc', 'loss', 'valAcc', 'valLoss']);
    expect(history.history.valLoss).toHaveLength(3);
    const ref = scoreRef(model, xv, test_.labels);
    expectClose([history.history.valLoss![2]], [ref.loss], 1e-5, 1e-6, 'last valLoss');
    expect(history.history.valAcc![2]).toBeCloseTo(ref.acc, 12);
    const plain = await fit(model, { data: { x, y }, loss: 'crossEntropy', optimizer: opt, epochs: 1, verbose: 0 });
    expect(Object.keys(plain.history)).toEqual(['loss']);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y, xv, yv]);
  });

  test("the 'accuracy' metric names labels whose shape is not the prediction's without its class axis", () => {
    const model = mlp();
    const x = tensor(train.xs.slice(0, 20), [10, 2]);
    const y = tensor(Array.from({ length: 30 }, (_, i) => i % 3), [10, 3]);
    expectAntlerErrorInTidy(() => evaluate(model, { x, y }, (p: Tensor) => antler.sum(p), { metrics: ['accuracy'] }), 'INVALID_ARGUMENT', /prediction \[10, 3\] with class labels of shape \[10\]; got labels of shape \[10, 3\]/);
    // Float targets (regression, or 0/1 as floats) once gave a silent accuracy; a single output column
    // has no argmax to compare (it was always class 0).
    const yf = tensor(Array.from({ length: 10 }, (_, i) => i % 3), [10]);
    expectAntlerErrorInTidy(() => evaluate(model, { x, y: yf }, (p: Tensor) => antler.sum(p), { metrics: ['accuracy'] }), 'INVALID_ARGUMENT', /class labels \(int32\) .*got float32 targets/);
    const one = new nn.Linear(2, 1);
    const yi = tensor(new Array(10).fill(0), [10], { dtype: 'int32' });
    expectAntlerErrorInTidy(() => evaluate(one, { x, y: yi }, (p: Tensor) => antler.sum(p), { metrics: ['accuracy'] }), 'INVALID_ARGUMENT', /last axis, which has one column here \(shape \[10, 1\]\)/);
    [model, one].forEach((m) => m.dispose());
    antler.dispose([x, y, yf, yi]);
  });

  test("the 'accuracy' metric of a sequence prediction [B, T, C] is the fraction of its B·T positions whose argmax over C is the label", async () => {
    const B = 6, T = 5, C = 4;
    const model = new nn.Linear(3, C);
    const x = tensor(randomArray(rng, B * T * 3), [B, T, 3]);
    const logits = antler.noGrad(() => tidy(() => model.forward(x).dataSync()));
    const argmaxAt = (i: number) => {
      const row = Array.from(logits.subarray(i * C, (i + 1) * C));
      return row.indexOf(Math.max(...row));
    };
    // Half the labels are the prediction's (so some are right), the rest at random.
    const labels = Array.from({ length: B * T }, (_, i) => (i % 2 ? argmaxAt(i) : rng.int(0, C - 1)));
    const right = labels.filter((l, i) => l === argmaxAt(i)).length;
    const y = tensor(labels, [B, T], { dtype: 'int32' });
    const meanLoss = (p: Tensor) => antler.mean(p);
    const opt = new optim.SGD(model.parameters(), { lr: 0 });
    try {
      expect(evaluate(model, { x, y }, meanLoss, { metrics: ['accuracy'], batchSize: 4 }).acc).toBeCloseTo(right / (B * T), 12);
      // fit's training accuracy too (lr 0: the model stays as it is).
      const h = await fit(model, { data: { x, y }, loss: meanLoss, optimizer: opt, batchSize: 4, metrics: ['accuracy'], verbose: 0 });
      expect(h.history.acc![0]).toBeCloseTo(right / (B * T), 12);
    } finally {
      model.dispose();
      opt.dispose();
      antler.dispose([x, y]);
    }
  });

  test("loss 'mse' fits a linear regression to its true weights", async () => {
    const n = 256, d = 3;
    const w = [rng.uniform(-2, 2), rng.uniform(-2, 2), rng.uniform(-2, 2)], b = rng.uniform(-1, 1);
    const xs: number[] = [], ys: number[] = [];
    for (let i = 0; i < n; i++) {
      const row = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)];
      xs.push(...row);
      ys.push(row.reduce((s, v, j) => s + v * w[j], b));
    }
    const x = tensor(xs, [n, d]);
    const y = tensor(ys, [n, 1]);
    const model = new nn.Linear(d, 1);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const history = await fit(model, { data: { x, y }, loss: 'mse', optimizer: opt, epochs: 30, batchSize: 16, verbose: 0 });
    const losses = history.history.loss;
    expect(losses[29]).toBeLessThan(1e-6);
    expect(losses[29]).toBeLessThan(losses[0] * 1e-3);
    expectClose(model.weight.dataSync(), w, 1e-3, 1e-3, 'weights');
    expectClose(model.bias!.dataSync(), [b], 1e-3, 1e-3, 'bias');
    const logs = evaluate(model, { x, y }, 'mse');
    const pred = antler.noGrad(() => tidy(() => model.forward(x).dataSync()));
    expectClose([logs.loss], [ys.reduce((s, v, i) => s + (pred[i] - v) ** 2, 0) / n], 1e-4, 1e-9, 'evaluate mse');
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });

  test('bad arguments reject with AntlerError codes and leave nothing allocated', async () => {
    const x = tensor(train.xs.slice(0, 20), [10, 2]);
    const y = tensor(train.labels.slice(0, 9), [9], { dtype: 'int32' });
    const y10 = tensor(train.labels.slice(0, 10), [10], { dtype: 'int32' });
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
    const before = tensorCounts();
    await expectRejects(fit(model, { data: { x, y }, loss: 'crossEntropy', optimizer: opt, verbose: 0 }), 'SHAPE_MISMATCH', /\[10, 2\].*\[9\]/);
    await expectRejects(fit(model, { data: { x, y: y10 }, loss: 'crossEntropy', optimizer: undefined as never, verbose: 0 }), 'INVALID_ARGUMENT', /optimizer/);
    await expectRejects(fit(model, { data: { x, y: y10 }, loss: 'hinge' as never, optimizer: opt, verbose: 0 }), 'INVALID_ARGUMENT', /loss/);
    await expectRejects(fit(model, { data: undefined as never, loss: 'crossEntropy', optimizer: opt, verbose: 0 }), 'INVALID_ARGUMENT', /data/);
    await expectRejects(fit(model, { data: { x, y: y10 }, loss: 'crossEntropy', optimizer: opt, epochs: 0, verbose: 0 }), 'INVALID_ARGUMENT', /epochs/);
    await expectRejects(fit(model, { data: { x, y: y10 }, loss: 'crossEntropy', optimizer: opt, verbose: 0, lr: 0.1 } as never), 'INVALID_ARGUMENT', /lr/);
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
    expect(tensorCounts()).toEqual(before);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y, y10]);
  });

  test('a wrong optimizer, an unknown metric and a loss that is no Tensor are named', async () => {
    const x = tensor(train.xs.slice(0, 20), [10, 2]);
    const y = tensor(train.labels.slice(0, 10), [10], { dtype: 'int32' });
    const model = mlp();
    const opt = new optim.Adam(model.parameters());
    const before = tensorCounts();
    const base = { data: { x, y }, loss: 'crossEntropy' as const, verbose: 0 as const };
    // Before: TypeError: o.optimizer.zeroGrad is not a function.
    await expectRejects(fit(model, { ...base, optimizer: 'adam' as never }), 'INVALID_ARGUMENT', /^fit: optimizer must be an Optimizer instance such as new optim\.Adam\(model\.parameters\(\)\); got 'adam'$/);
    await expectRejects(fit(model, { ...base, optimizer: optim.Adam as never }), 'INVALID_ARGUMENT', /optimizer must be an Optimizer instance .*; got a function$/);
    await expectRejects(fit(model, { ...base, optimizer: undefined as never }), 'INVALID_ARGUMENT', /optimizer must be .*; got undefined$/);
    // Before, unknown metrics were ignored and the history had no acc.
    await expectRejects(fit(model, { ...base, optimizer: opt, metrics: ['acc'] as never }), 'INVALID_ARGUMENT', /^fit: unknown metric 'acc' at metrics\[0\]; expected one of 'accuracy'/);
    await expectRejects(fit(model, { ...base, optimizer: opt, metrics: ['accuracy', 'mae'] as never }), 'INVALID_ARGUMENT', /unknown metric 'mae' at metrics\[1\]/);
    await expectRejects(fit(model, { ...base, optimizer: opt, metrics: 'accuracy' as never }), 'INVALID_ARGUMENT', /^fit: metrics must be an array such as \['accuracy'\]; got 'accuracy'$/);
    // A loss function that returns a number (before: TypeError reading l.shape).
    await expectRejects(fit(model, { ...base, optimizer: opt, loss: () => 1 as never }), 'INVALID_ARGUMENT', /^fit: the loss function must return a Tensor; got 1$/);
    expectAntlerError(() => evaluate(model, { x, y }, 'crossEntropy', { metrics: ['acc'] as never }), 'INVALID_ARGUMENT', /^evaluate: unknown metric 'acc'/);
    expectAntlerError(() => evaluate(model, { x, y }, 'crossEntropy', { batchSize: 0 }), 'INVALID_ARGUMENT', /^evaluate: batchSize must be an integer >= 1; got 0$/);
    expectAntlerError(() => evaluate(model, { x, y }, 'crossEntropy', { batch: 8 } as never), 'INVALID_ARGUMENT', /^evaluate: batch is for batches .*data is whole tensors \{x, y\} \(rows per batch are batchSize; got batch: 8\)$/);
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
    expect(tensorCounts()).toEqual(before);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });

  test('a model whose forward returns an object (an RNN) is named for the built-in losses; a loss function may take it', async () => {
    const T = 6;
    const x = tensor(Array.from({ length: T * 2 }, (_, i) => Math.sin(i)), [T, 2]);
    const y = antler.zeros([T, 3]);
    const gru = new nn.GRU(2, 3); // unbatched [T, 2] in, {output: [T, 3], hidden, stats} out
    const opt = new optim.SGD(gru.parameters(), { lr: 0.1 });
    const before = tensorCounts();
    // Before: "mseLoss: input must be a Tensor; got an object".
    await expectRejects(
      fit(gru, { data: { x, y }, loss: 'mse', optimizer: opt, batchSize: T, verbose: 0 }),
      'INVALID_ARGUMENT',
      /^fit: model\.forward\(x\) must return a Tensor, the prediction the 'mse' loss needs; got an object with keys output, hidden, stats\. Wrap the model/,
    );
    expectAntlerError(() => evaluate(gru, { x, y }, 'mse'), 'INVALID_ARGUMENT', /^evaluate: model\.forward\(x\) must return a Tensor/);
    expect(tensorCounts()).toEqual(before);
    // A loss function of one's own gets what forward returns, as before.
    // Typed by what forward returns (no cast needed): fit<P> takes a LossFn<P>.
    const pick = (p: nn.RNNOutput, t: Tensor) => antler.mseLoss(p.output, t);
    const h = await fit(gru, { data: { x, y }, loss: pick, optimizer: opt, batchSize: T, epochs: 2, shuffle: false, verbose: 0 });
    // An inline loss gets its prediction's type from the model: pred is the GRU's RNNOutput.
    const h1 = await fit(gru, { data: { x, y }, loss: (pred, t) => antler.mseLoss(pred.output, t), optimizer: opt, batchSize: T, epochs: 1, verbose: 0 });
    expect(h1.history.loss).toHaveLength(1);
    expect(h.history.loss.length).toBe(2);
    expect(h.history.loss[1]).toBeLessThan(h.history.loss[0]);
    // ... but not with the accuracy metric, which needs logits.
    const metrics = ['accuracy'] as const; // a readonly tuple is accepted
    await expectRejects(fit(gru, { data: { x, y }, loss: pick, optimizer: opt, metrics, verbose: 0 }), 'INVALID_ARGUMENT', /the prediction the metric 'accuracy' needs/);
    gru.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });
});

describe(`fit() and the model's mode, and recurrent layouts (seed ${SEED})`, () => {
  /** Records its training flag at each forward. */
  class Probe extends nn.Module {
    seen: boolean[] = [];
    fc = new nn.Linear(2, 3);
    forward(x: Tensor): Tensor {
      this.seen.push(this.training);
      return this.fc.forward(x);
    }
  }

  test('every batch trains in training mode even after a callback switched to eval(); the mode from before fit() comes back', async () => {
    const x = tensor(randomArray(rng, 16 * 2), [16, 2]);
    const y = tensor(Array.from({ length: 16 }, (_, i) => i % 3), [16], { dtype: 'int32' });
    const model = new Probe();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    try {
      // A callback that samples in eval mode at the end of each epoch (and forgets to switch back).
      const sample: Callbacks = { onEpochEnd: () => void model.eval() };
      await fit(model, { data: { x, y }, loss: 'crossEntropy', optimizer: opt, epochs: 3, batchSize: 8, verbose: 0, callbacks: sample });
      expect(model.seen).toEqual(new Array(6).fill(true));
      expect(model.training).toBe(true); // as before fit()
      model.eval();
      model.seen = [];
      await fit(model, { data: { x, y }, loss: 'crossEntropy', optimizer: opt, epochs: 1, batchSize: 8, verbose: 0 });
      expect(model.seen).toEqual([true, true]);
      expect(model.training).toBe(false); // eval before fit(), eval after
    } finally {
      model.dispose();
      opt.dispose();
      antler.dispose([x, y]);
    }
  });

  test('validation and evaluate() run the model in eval mode (torch\'s model.eval() for validation) and give back the mode it had', async () => {
    const x = tensor(randomArray(rng, 16 * 2), [16, 2]);
    const y = tensor(Array.from({ length: 16 }, (_, i) => i % 3), [16], { dtype: 'int32' });
    const xv = tensor(randomArray(rng, 8 * 2), [8, 2]);
    const yv = tensor(Array.from({ length: 8 }, (_, i) => i % 3), [8], { dtype: 'int32' });
    const model = new Probe();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    try {
      // Two training batches of 8, then one validation batch of 8 (validation takes fit's batchSize), per epoch.
      await fit(model, { data: { x, y }, validation: { x: xv, y: yv }, loss: 'crossEntropy', optimizer: opt, epochs: 2, batchSize: 8, verbose: 0 });
      expect(model.seen).toEqual([true, true, false, true, true, false]);
      expect(model.training).toBe(true);
      for (const before of [true, false]) {
        model.train(before);
        model.seen = [];
        evaluate(model, { x: xv, y: yv }, 'crossEntropy', { batchSize: 3 });
        expect(model.seen).toEqual([false, false, false]);
        expect(model.training).toBe(before); // evaluate() gives back the mode it found, eval included
      }
    } finally {
      model.dispose();
      opt.dispose();
      antler.dispose([x, y, xv, yv]);
    }
  });

  test('a time-major recurrent layer given [T, B, in] directly is refused (batches would be stretches of time); batchFirst works', async () => {
    const x = tensor(randomArray(rng, 5 * 4 * 2), [5, 4, 2]);
    const y = antler.zeros([5, 4, 3]);
    const pick = (p: nn.RNNOutput, t: Tensor) => antler.mseLoss(p.output, t);
    for (const model of [new nn.GRU(2, 3), new nn.LSTM(2, 3), new nn.SRU(2, 3, { numLayers: 1 }), new nn.SRUCell(2, 3)]) {
      const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
      try {
        const name = /^SRU/.test(model.constructor.name) ? `n ${model.constructor.name}` : ` ${model.constructor.name}`;
        await expectRejects(fit(model as nn.GRU, { data: { x, y }, loss: pick, optimizer: opt, verbose: 0 }), 'INVALID_ARGUMENT',
          new RegExp(`^fit: batches are rows of axis 0 of the data \\(x has shape \\[5, 4, 2\\]\\), but the model is a${name}, which reads \\[T, B, in\\]`));
        expectAntlerError(() => evaluate(model as nn.GRU, { x, y }, pick), 'INVALID_ARGUMENT', /^evaluate: batches are rows of axis 0/);
      } finally {
        model.dispose();
        opt.dispose();
      }
    }
    try {
      for (const model of [new nn.GRU(2, 3, { batchFirst: true }), new nn.SRU(2, 3, { numLayers: 2, batchFirst: true })]) {
        const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
        try {
          const h = await fit(model as nn.GRU, { data: { x, y }, loss: pick, optimizer: opt, epochs: 2, batchSize: 2, verbose: 0 });
          expect(h.history.loss).toHaveLength(2);
          // A batch of rows is a batch of whole sequences: evaluate's loss is the full data's.
          const full = tidy(() => pick((model as nn.GRU).forward(x), y).item());
          expect(Math.abs(evaluate(model as nn.GRU, { x, y }, pick, { batchSize: 2 }).loss - full)).toBeLessThan(1e-6);
        } finally {
          model.dispose();
          opt.dispose();
        }
      }
    } finally {
      antler.dispose([x, y]);
    }
  });
});

describe(`fit() arguments and shuffling (seed ${SEED})`, () => {
  /** A model that records the first input value of every batch it sees (the shuffled order). */
  class Recorder extends nn.Module {
    seen: number[] = [];
    lin = new nn.Linear(1, 1);
    forward(x: Tensor): Tensor {
      this.seen.push(x.dataSync()[0]);
      return this.lin.forward(x);
    }
  }
  const data = () => ({ x: tensor(Array.from({ length: 12 }, (_, i) => i), [12, 1]), y: tensor(Array.from({ length: 12 }, (_, i) => 2 * i), [12, 1]) });

  test('without a seed each fit() draws a new order from the global generator, repeatable after setSeed (PyTorch DataLoader)', async () => {
    const d = data();
    const orders: number[][] = [];
    for (const seed of [11, 11, null]) {
      if (seed !== null) antler.setSeed(seed);
      const m = new Recorder();
      const opt = new optim.SGD(m.parameters(), { lr: 0.001 });
      await fit(m, { data: d, loss: 'mse', optimizer: opt, batchSize: 1, epochs: 1, verbose: 0 });
      orders.push(m.seen);
      m.dispose();
    }
    expect(orders[0]).toEqual(orders[1]);
    expect(orders[2]).not.toEqual(orders[1]); // the next draw of the same generator
    expect([...orders[0]].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    antler.dispose(d);
  });

  test('with a seed, a run resumed at initialEpoch shuffles its later epochs as the uninterrupted run did', async () => {
    const d = data();
    const seed = rng.u32();
    const run = async (from: number, to: number) => {
      const m = new Recorder();
      const opt = new optim.SGD(m.parameters(), { lr: 0.001 });
      await fit(m, { data: d, loss: 'mse', optimizer: opt, batchSize: 1, epochs: to, initialEpoch: from, seed, verbose: 0 });
      m.dispose();
      return m.seen;
    };
    const whole = await run(0, 4);
    const resumed = [...(await run(0, 2)), ...(await run(2, 4))];
    expect(resumed).toEqual(whole);
    // The epochs differ from one another (it is not one order repeated).
    expect(whole.slice(0, 12)).not.toEqual(whole.slice(12, 24));
    antler.dispose(d);
  });

  test('each epoch is a uniform shuffle: the 3! orders of 3 rows come equally often; targets travel with their rows; a batchSize above the rows makes one batch', async () => {
    // Every epoch is one batch (batchSize 4 > 3 rows, as a DataLoader's last batch holds what is left).
    class Orders extends nn.Module {
      seen: string[] = [];
      lin = new nn.Linear(1, 1);
      forward(x: Tensor): Tensor {
        this.seen.push(Array.from(x.dataSync()).join());
        return this.lin.forward(x);
      }
    }
    const x = tensor([0, 1, 2], [3, 1]), y = tensor([0, 10, 20], [3, 1]);
    const m = new Orders();
    const opt = new optim.SGD(m.parameters(), { lr: 0 });
    const targets: string[] = [];
    const loss = (p: Tensor, t: Tensor) => {
      targets.push(Array.from(t.dataSync(), (v) => v / 10).join());
      return antler.mseLoss(p, t);
    };
    const E = 3000;
    try {
      await fit(m, { data: { x, y }, loss, optimizer: opt, batchSize: 4, epochs: E, seed: rng.u32(), verbose: 0 });
      expect(m.seen).toHaveLength(E);
      expect(targets).toEqual(m.seen);
      const counts = new Map<string, number>();
      for (const o of m.seen) counts.set(o, (counts.get(o) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual(['0,1,2', '0,2,1', '1,0,2', '1,2,0', '2,0,1', '2,1,0']);
      // Each order's count is Binomial(3000, 1/6), mean 500, sd 20.4. Chernoff: P(X >= 650) <= exp(-0.3² · 500 / 2.3)
      // = 3e-9 and P(X <= 350) <= exp(-0.3² · 500 / 2) = 2e-10, under 2e-8 for the six. A shuffle that draws j
      // from [0, i) (Sattolo's: cycles only) or skips the last swap reaches 2 or 3 of the orders, ~1500 or ~1000 each.
      for (const [o, c] of counts) expect({ o, c, inRange: c > 350 && c < 650 }).toEqual({ o, c, inRange: true });
      // shuffle: false keeps the rows in order, in every epoch.
      m.seen = [];
      await fit(m, { data: { x, y }, loss: 'mse', optimizer: opt, batchSize: 1, epochs: 2, shuffle: false, verbose: 0 });
      expect(m.seen).toEqual(['0', '1', '2', '0', '1', '2']);
    } finally {
      m.dispose();
      opt.dispose();
      antler.dispose([x, y]);
    }
  }, 60_000);

  test('bad arguments are AntlerErrors before any step: not a module, bad callbacks, verbose, shuffle, validation rows, no rows', async () => {
    const d = data();
    const m = new Recorder();
    const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
    const w0 = Float64Array.from(m.lin.weight.dataSync());
    const base = { data: d, loss: 'mse' as const, optimizer: opt, verbose: 0 as const };
    const empty = { x: antler.zeros([0, 1]), y: antler.zeros([0, 1]) };
    const short = d.y.slice([0], [5]);
    const wide = antler.zeros([5, 4]), wideY = antler.zeros([5, 1]), labels = antler.zeros([5, 1], { dtype: 'int32' }), five = d.x.slice([0], [5]);
    const cases: [() => Promise<unknown>, antler.ErrorCode, RegExp][] = [
      [() => fit({ forward: (x: Tensor) => x } as never, base), 'INVALID_ARGUMENT', /^fit: model must be an nn\.Module/],
      [async () => evaluate(3 as never, d, 'mse'), 'INVALID_ARGUMENT', /^evaluate: model must be an nn\.Module/],
      [() => fit(m, { ...base, callbacks: { onEpochEnd: 3 } as never }), 'INVALID_ARGUMENT', /^fit: callbacks\.onEpochEnd must be a function; got 3/],
      [() => fit(m, { ...base, callbacks: [{ onEpochEnd: () => {} }, { onEpochFinish: () => {} } as never] }), 'INVALID_ARGUMENT', /^fit: unknown callback 'onEpochFinish' in callbacks\[1\]/],
      [() => fit(m, { ...base, verbose: 2 as never }), 'INVALID_ARGUMENT', /^fit: verbose must be 0 \(silent\) or 1/],
      [() => fit(m, { ...base, shuffle: 'no' as never }), 'INVALID_ARGUMENT', /shuffle/],
      [() => fit(m, { ...base, seed: 1.5 }), 'INVALID_ARGUMENT', /seed/],
      [() => fit(m, { ...base, validation: { x: d.x, y: short } }), 'SHAPE_MISMATCH', /^fit: validation\.x \[12, 1\] and validation\.y \[5, 1\] must have the same first dim/],
      [() => fit(m, { ...base, data: empty }), 'INVALID_ARGUMENT', /^fit: data has no rows/],
      // Before, these trained a whole epoch and then failed in the first validation.
      [() => fit(m, { ...base, validation: { x: wide, y: wideY } }), 'SHAPE_MISMATCH', /^fit: validation\.x has shape \[5, 4\]; its rows must be shaped like data\.x's \(\[12, 1\]: rank 2, 1 features last\)$/],
      [() => fit(m, { ...base, validation: { x: five, y: labels } }), 'DTYPE_MISMATCH', /^fit: validation\.y is int32; data\.y is float32$/],
      [async () => evaluate(m, d, undefined as never), 'INVALID_ARGUMENT', /^evaluate: loss must be a function, a loss module \(nn.CrossEntropyLoss, …\), 'crossEntropy' or 'mse'; got undefined$/],
    ];
    for (const [call, code, message] of cases) await expectRejects(call(), code, message);
    expect(m.seen).toEqual([]);
    expect(Array.from(m.lin.weight.dataSync())).toEqual(Array.from(w0));
    m.dispose();
    antler.dispose([d, empty, short, wide, wideY, labels, five]);
  });
});

describe(`fit() early stopping (seed ${SEED})`, () => {
  test('an early-stopping callback object with state of its own (patience, best loss, the model) is accepted', async () => {
    class EarlyStopping {
      best = Infinity;
      wait = 0;
      constructor(readonly model: nn.Module, readonly patience: number) {}
      onEpochEnd(_epoch: number, logs: Logs): void {
        if (logs.loss < this.best - 1e-12) [this.best, this.wait] = [logs.loss, 0];
        else if (++this.wait >= this.patience) this.model.stopTraining = true;
      }
    }
    const model = new nn.Linear(1, 1);
    const x = tensor([1, 2, 3, 4], [4, 1]), y = tensor([2, 4, 6, 8], [4, 1]);
    const opt = new optim.SGD(model.parameters(), { lr: 0 }); // the loss never improves: stop after patience + 1 epochs
    const h = await fit(model, { data: { x, y }, loss: 'mse', optimizer: opt, epochs: 10, verbose: 0, callbacks: new EarlyStopping(model, 2) });
    expect(h.epoch).toEqual([0, 1, 2]);
    model.dispose();
    antler.dispose([x, y]);
  });

  test('a callback setting model.stopTraining ends training after that batch; the history so far comes back', async () => {
    const model = new nn.Linear(1, 1);
    const x = tensor(Array.from({ length: 16 }, (_, i) => i / 16), [16, 1]);
    const y = tensor(Array.from({ length: 16 }, (_, i) => i / 8), [16, 1]);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    let batches = 0;
    const epochsSeen: number[] = [];
    const h = await fit(model, {
      data: { x, y }, loss: 'mse', optimizer: opt, epochs: 10, batchSize: 4, verbose: 0,
      callbacks: {
        onBatchEnd: () => {
          batches++;
          if (batches === 6) model.stopTraining = true; // the second batch of epoch 1
        },
        onEpochEnd: (e) => void epochsSeen.push(e),
      },
    });
    expect(batches).toBe(6);
    expect(epochsSeen).toEqual([0, 1]);
    expect(h.epoch).toEqual([0, 1]);
    // The next fit() starts afresh.
    const h2 = await fit(model, { data: { x, y }, loss: 'mse', optimizer: opt, epochs: 2, verbose: 0 });
    expect(h2.epoch).toEqual([0, 1]);
    model.dispose();
    antler.dispose([x, y]);
  });

  test('an epoch stopped after a batch logs the loss and acc of the rows it trained on (Keras\'s running means, weighted by batch size)', async () => {
    const n = 16;
    const x = tensor(randomArray(rng, 2 * n, -2, 2), [n, 2]);
    const y = tensor(Array.from({ length: n }, () => rng.int(0, 2)), [n], { dtype: 'int32' });
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.05 });
    const seen: BatchLogs[] = [];
    const epochLogs: Logs[] = [];
    const stopAt = rng.int(0, 2); // batches of 5, 5, 5, 1: stopped before the last
    try {
      const h = await fit(model, {
        data: { x, y }, loss: 'crossEntropy', optimizer: opt, epochs: 3, batchSize: 5, metrics: ['accuracy'], verbose: 0,
        callbacks: {
          onBatchEnd: (b, logs) => {
            seen.push({ ...logs });
            if (b === stopAt) model.stopTraining = true;
          },
          onEpochEnd: (_e, logs) => void epochLogs.push({ ...logs }),
        },
      });
      expect(h.epoch).toEqual([0]);
      expect(seen.map((l) => l.size)).toEqual(new Array(stopAt + 1).fill(5));
      const rows = 5 * (stopAt + 1);
      expectClose([epochLogs[0].loss], [seen.reduce((s, l) => s + l.loss * l.size, 0) / rows], 1e-12, 0, 'loss over the rows trained on');
      expectClose([epochLogs[0].acc!], [seen.reduce((s, l) => s + l.acc! * l.size, 0) / rows], 1e-12, 0, 'acc over the rows trained on');
      expect(h.history.loss).toEqual([epochLogs[0].loss]);
    } finally {
      model.dispose();
      opt.dispose();
      antler.dispose([x, y]);
    }
  });

  test('with a closure optimizer (L-BFGS) a batch logs the loss and accuracy at its first evaluation, before the step', async () => {
    // Zero weights: every logit 0, so the loss is ln 2 and argmax picks class 0 (the first maximum, as
    // torch.argmax); every label is 1, so the accuracy before the step is 0. L-BFGS's later evaluations
    // of the closure, after its first iteration, predict class 1: the inputs are small (|x| <= 0.01), so the
    // biases, which move toward class 1, decide every row.
    const n = 8;
    const x = tensor(randomArray(rng, 2 * n, -0.01, 0.01), [n, 2]);
    const y = tensor(new Array(n).fill(1), [n], { dtype: 'int32' });
    const model = new nn.Linear(2, 2);
    for (const p of model.parameters()) nn.init.zeros(p);
    const opt = new optim.LBFGS(model.parameters(), { maxIter: 5 });
    const logs: BatchLogs[] = [];
    try {
      await fit(model, { data: { x, y }, loss: 'crossEntropy', optimizer: opt, batchSize: n, epochs: 1, metrics: ['accuracy'], verbose: 0, callbacks: { onBatchEnd: (_b, l) => void logs.push({ ...l }) } });
      expect(logs).toHaveLength(1);
      expect(logs[0].acc).toBe(0);
      expectClose([logs[0].loss], [Math.LN2], 1e-6, 0, 'loss at the first evaluation');
      expect(evaluate(model, { x, y }, 'crossEntropy', { metrics: ['accuracy'] }).acc).toBe(1); // the step did move it
    } finally {
      model.dispose();
      opt.dispose();
      antler.dispose([x, y]);
    }
  });

  test("initialEpoch resumes a run (Keras's): epochs initialEpoch … epochs − 1 run, callbacks and the history count from it", async () => {
    const model = new nn.Linear(1, 1);
    const x = tensor(randomArray(rng, 8), [8, 1]), y = tensor(randomArray(rng, 8), [8, 1]);
    const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
    const [from, to] = [rng.int(1, 4), rng.int(5, 8)];
    const begun: number[] = [];
    const h = await fit(model, { data: { x, y }, loss: 'mse', optimizer: opt, epochs: to, initialEpoch: from, verbose: 0, callbacks: { onEpochBegin: (e) => void begun.push(e) } });
    const want = Array.from({ length: to - from }, (_, k) => from + k);
    expect(h.epoch).toEqual(want);
    expect(begun).toEqual(want);
    expect(h.history.loss).toHaveLength(to - from);
    const none = await fit(model, { data: { x, y }, loss: 'mse', optimizer: opt, epochs: from, initialEpoch: from, verbose: 0 });
    expect(none.epoch).toEqual([]);
    await expectRejects(fit(model, { data: { x, y }, loss: 'mse', optimizer: opt, initialEpoch: -1, verbose: 0 }), 'INVALID_ARGUMENT', /initialEpoch must be an integer >= 0/);
    model.dispose();
    antler.dispose([x, y]);
  });
});

describe('fit on a terminal', () => {
  test('Ctrl-C during an epoch ends the process at once and leaves the terminal as it was (the bar neither hides the cursor nor turns wrapping off)', () => {
    // The bar used to hide the cursor and turn wrapping off, and a Ctrl-C left them off. A signal
    // listener to restore them would delay the signal to the next turn of the event loop (or drop
    // it), so the bar no longer changes them. Run under script(1) for a TTY (skipped where there is none).
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    if (spawnSync('script', ['--version']).status !== 0) return;
    const path = require('node:path') as typeof import('node:path');
    const root = path.join(__dirname, '..', '..');
    const body = `const a = require(${JSON.stringify(path.join(root, 'lib', 'index.ts'))});
      const model = new a.nn.Sequential(new a.nn.Linear(4, 8), new a.nn.Tanh(), new a.nn.Linear(8, 2));
      const x = a.randn([4096, 4]);
      const y = a.tensor(Int32Array.from({ length: 4096 }, (_, i) => i % 2), [4096], { dtype: 'int32' });
      const optimizer = new a.optim.SGD(model.parameters(), { lr: 0.1 });
      a.fit(model, { data: { x, y }, optimizer, loss: 'crossEntropy', epochs: 5, batchSize: 8,
        callbacks: [{ onBatchEnd: (b) => { if (b === 20) process.kill(process.pid, 'SIGINT'); } }] }).then(() => console.log('finished'));`;
    const file = path.join(require('node:os').tmpdir(), `antler-fit-sigint-${process.pid}.js`);
    require('node:fs').writeFileSync(file, body);
    try {
      const cmd = `${JSON.stringify(process.execPath)} -r ${JSON.stringify(path.join(root, 'test', 'ts-register.js'))} ${JSON.stringify(file)}`;
      const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status).toBe(130); // the child's end by SIGINT, as script reports it
      expect(r.stdout).not.toContain('finished');
      expect(r.stdout).toContain('epoch 1/5'); // the bar was drawn
      expect(r.stdout).not.toContain('\x1b[?25l');
      expect(r.stdout).not.toContain('\x1b[?7l');
    } finally {
      require('node:fs').unlinkSync(file);
    }
  }, 120_000);
});
