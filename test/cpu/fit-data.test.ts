/**
 * fit() and evaluate() over batches: a data.DataLoader, arrays of batches,
 * generators (one-shot iterators) and AsyncIterables. The loader path equals
 * the whole-tensor path bit for bit when it yields the same batches in the
 * same order; padCollate batches train a GRU/LSTM with lengths; the batch
 * tensors a DataLoader made are freed (and only those), also when a step or a
 * callback ends the epoch early; errors name what the batch held.
 */
import * as antler from '../../lib';
import { BatchLogs, data, evaluate, fit, History, nn, optim, Tensor, tensor, tidy } from '../../lib';
import { expectAntlerError, expectClose, expectNoLeaksInSuite, expectRejects, makeSeededRng, randomArray, tensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;

expectNoLeaksInSuite(tensorCounts);

const live = () => antler.memory().numTensors;

/** n points of 3 features, 3 classes by a random linear rule. */
function points(n: number): { x: Tensor; y: Tensor } {
  const xs = randomArray(rng, n * 3);
  const labels = Array.from({ length: n }, (_, i) => {
    const s = xs[3 * i] + 0.5 * xs[3 * i + 1] - xs[3 * i + 2];
    return s < -0.3 ? 0 : s < 0.3 ? 1 : 2;
  });
  return { x: tensor(xs, [n, 3]), y: tensor(labels, [n], { dtype: 'int32' }) };
}

/** The same initial weights each call (a seed drawn per file). */
const MODEL_SEED = rng.u32();
function mlp(): nn.Sequential {
  antler.setSeed(MODEL_SEED);
  return new nn.Sequential(new nn.Linear(3, 8), new nn.Tanh(), new nn.Linear(8, 3));
}

const weights = (m: nn.Module) => m.parameters().map((p) => Array.from(p.dataSync()));

describe(`fit() over a DataLoader equals the whole-tensor path (seed ${SEED})`, () => {
  test.each([['SGD with momentum', false], ['L-BFGS (a closure optimizer)', true]] as const)(
    '%s: a TensorDataset loader without shuffle gives the same losses, accuracies, validation and weights, bit for bit',
    async (_name, lbfgs) => {
      const n = rng.int(30, 60);
      const bs = rng.int(4, 16);
      const { x, y } = points(n);
      const val = points(rng.int(10, 30));
      const makeOpt = (m: nn.Module) => (lbfgs ? new optim.LBFGS(m.parameters(), { maxIter: 3 }) : new optim.SGD(m.parameters(), { lr: 0.2, momentum: 0.9 }));
      const run = async (viaLoader: boolean): Promise<{ h: History; batches: BatchLogs[]; w: number[][]; ev: antler.Logs }> => {
        const model = mlp();
        const opt = makeOpt(model);
        const batches: BatchLogs[] = [];
        const common = { loss: 'crossEntropy' as const, optimizer: opt, epochs: 3, verbose: 0 as const, metrics: ['accuracy' as const], callbacks: { onBatchEnd: (_b: number, l: BatchLogs) => void batches.push({ ...l }) } };
        const h = viaLoader
          ? await fit(model, { ...common, data: new data.DataLoader(new data.TensorDataset(x, y), { batchSize: bs }), validation: new data.DataLoader(new data.TensorDataset(val.x, val.y), { batchSize: bs }) })
          : await fit(model, { ...common, data: { x, y }, validation: val, batchSize: bs, shuffle: false });
        const ev = viaLoader
          ? evaluate(model, new data.DataLoader(new data.TensorDataset(val.x, val.y), { batchSize: bs }), 'crossEntropy', { metrics: ['accuracy'] })
          : evaluate(model, val, 'crossEntropy', { metrics: ['accuracy'], batchSize: bs });
        const w = weights(model);
        model.dispose();
        opt.dispose();
        return { h, batches, w, ev };
      };
      const a = await run(false);
      const before = live();
      const b = await run(true);
      expect(live()).toBe(before); // every batch the loaders made was freed
      expect(b.h).toEqual(a.h);
      expect(b.batches).toEqual(a.batches);
      expect(b.batches.map((l) => l.size)).toEqual(Array.from({ length: 3 }, () => Array.from({ length: Math.ceil(n / bs) }, (_, k) => Math.min(bs, n - k * bs))).flat());
      expect(b.w).toEqual(a.w);
      expect(b.ev).toEqual(a.ev);
      expect(a.h.history.valLoss![2]).toBe(a.ev.loss);
      antler.dispose([x, y, val.x, val.y]);
    },
  );

  test('an array of pre-built batches, an AsyncIterable and an async generator train as the loader does; the caller keeps their tensors', async () => {
    const n = rng.int(20, 40), bs = rng.int(3, 9);
    const { x, y } = points(n);
    const pre: [Tensor, Tensor][] = [];
    for (let s = 0; s < n; s += bs) pre.push([x.slice([s], [Math.min(bs, n - s)]), y.slice([s], [Math.min(bs, n - s)])]);
    const run = async (d: antler.FitData, epochs: number) => {
      const model = mlp();
      const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
      const h = await fit(model, { data: d, loss: 'crossEntropy', optimizer: opt, epochs, verbose: 0 });
      const w = weights(model);
      model.dispose();
      opt.dispose();
      return { loss: h.history.loss, w };
    };
    const viaTensors = await (async () => {
      const model = mlp();
      const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
      const h = await fit(model, { data: { x, y }, loss: 'crossEntropy', optimizer: opt, epochs: 2, batchSize: bs, shuffle: false, verbose: 0 });
      const w = weights(model);
      model.dispose();
      opt.dispose();
      return { loss: h.history.loss, w };
    })();
    const count = live();
    // The same tensors are yielded in both epochs: they stay the caller's.
    expect(await run(pre, 2)).toEqual(viaTensors);
    expect(pre.every(([a, b]) => !a.isDisposed && !b.isDisposed)).toBe(true);
    const asyncIterable: AsyncIterable<[Tensor, Tensor]> = {
      async *[Symbol.asyncIterator]() {
        for (const b of pre) yield b;
      },
    };
    expect(await run(asyncIterable, 2)).toEqual(viaTensors);
    // An async generator is one-shot: one epoch, as {x: .., y: ..} objects.
    async function* once() {
      for (const [bx, by] of pre) yield { x: bx, y: by };
    }
    const one = await run(once(), 1);
    expect(one.loss[0]).toBe(viaTensors.loss[0]);
    expect(live()).toBe(count);
    // evaluate of an AsyncIterable gives a Promise; of an array, Logs at once.
    const model = mlp();
    const p = evaluate(model, asyncIterable, 'crossEntropy', { metrics: ['accuracy'] });
    expect(p).toBeInstanceOf(Promise);
    const e1 = await p;
    const e2 = evaluate(model, pre, 'crossEntropy', { metrics: ['accuracy'] });
    const e3 = evaluate(model, { x, y }, 'crossEntropy', { metrics: ['accuracy'], batchSize: bs });
    expect(e1).toEqual(e3);
    expect(e2).toEqual(e3);
    model.dispose();
    antler.dispose([pre, x, y]);
  });

  test('evaluate() takes data typed as FitData (what fit() takes as validation): Logs for an Iterable, a Promise for an AsyncIterable', async () => {
    const { x, y } = points(rng.int(6, 20));
    const model = mlp();
    const whole = evaluate(model, { x, y }, 'crossEntropy');
    // A helper that scores whatever fit() would validate on.
    const score = (d: antler.FitData) => evaluate(model, d, 'crossEntropy');
    expect(score({ x, y })).toEqual(whole);
    expect(score([[x, y]])).toEqual(whole);
    async function* once() {
      yield [x, y];
    }
    const pending = score(once());
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual(whole);
    model.dispose();
    antler.dispose([x, y]);
  });

  test("evaluate's means are weighted by batch sizes (Keras): uneven batches agree with one whole batch and a float64 reference", () => {
    const n = rng.int(20, 50);
    const { x, y } = points(n);
    const model = mlp();
    const bs = rng.int(3, 7);
    const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: bs, shuffle: true });
    const e = evaluate(model, loader, 'crossEntropy', { metrics: ['accuracy'] });
    // The float64 reference from the logits, row by row.
    const logits = antler.noGrad(() => tidy(() => (model.forward(x) as Tensor).dataSync()));
    const labels = y.dataSync();
    let loss = 0, correct = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(logits.subarray(3 * i, 3 * i + 3));
      const mx = Math.max(...row);
      loss += mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)) - row[labels[i]];
      if (row.indexOf(mx) === labels[i]) correct++;
    }
    expectClose([e.loss], [loss / n], 1e-5, 1e-6, 'weighted mean loss');
    expect(e.acc).toBeCloseTo(correct / n, 12);
    model.dispose();
    antler.dispose([x, y]);
  });
});

/** Sequences of 2 features, lengths 2…9; the class is whether the sum of the first feature over the sequence is positive. */
class Sequences extends data.Dataset<[Tensor, number]> {
  readonly items: [Tensor, number][] = [];
  constructor(n: number) {
    super();
    for (let i = 0; i < n; i++) {
      const T = rng.int(2, 9);
      const v = randomArray(rng, 2 * T);
      let s = 0;
      for (let t = 0; t < T; t++) s += v[2 * t];
      this.items.push([tensor(v, [T, 2]), s > 0 ? 1 : 0]);
    }
  }
  getItem(i: number): [Tensor, number] {
    return this.items[i];
  }
  get length(): number {
    return this.items.length;
  }
  dispose(): void {
    antler.dispose(this.items.map((it) => it[0]));
  }
}

describe(`padCollate batches into recurrent layers with lengths (seed ${SEED})`, () => {
  class Classifier extends nn.Module {
    rnn: nn.GRU | nn.LSTM;
    head = new nn.Linear(8, 2);
    constructor(kind: 'GRU' | 'LSTM') {
      super();
      this.rnn = kind === 'GRU' ? new nn.GRU(2, 8) : new nn.LSTM(2, 8);
    }
    /** x [T, B, 2] (padCollate's time-major default), lengths [B]: each sequence's state at its last real step. */
    forward(x: Tensor, lengths: Tensor): Tensor {
      const out = (this.rnn as nn.GRU).forward(x, null, { lengths });
      return this.head.forward(out.hidden.squeeze(0));
    }
  }

  test.each(['GRU', 'LSTM'] as const)('%s: the batch option maps [padded, lengths, y] to forward(x, lengths); the loss falls; nothing leaks', async (kind) => {
    const ds = new Sequences(48);
    const loader = new data.DataLoader(ds, { batchSize: 8, shuffle: true, seed: rng.u32(), collateFn: data.padCollate() });
    antler.setSeed(MODEL_SEED);
    const model = new Classifier(kind);
    const opt = new optim.Adam(model.parameters(), { lr: 0.02 });
    const counts: number[] = [];
    const h = await fit(model, {
      data: loader, loss: 'crossEntropy', optimizer: opt, epochs: 12, verbose: 0, metrics: ['accuracy'],
      batch: ([x, lengths, y]: [Tensor, Tensor, Tensor]) => ({ x, y, args: [lengths] }),
      validation: loader,
      callbacks: { onEpochEnd: () => void counts.push(live()) },
    });
    const loss = h.history.loss;
    // The last epoch's loss over the first's: at most 0.25 (valLoss 0.23) over 32 draws.
    expect(loss[loss.length - 1]).toBeLessThan(0.75 * loss[0]);
    expect(h.history.valLoss![11]).toBeLessThan(h.history.valLoss![0]);
    // Flat over epochs: the optimizer's state is made in the first one, then nothing stays.
    expect(new Set(counts.slice(1)).size).toBe(1);
    // The dataset's stored sequences are the caller's still.
    expect(ds.items.every(([s]) => !s.isDisposed)).toBe(true);
    model.dispose();
    opt.dispose();
    ds.dispose();
  });

  test('a bare nn.GRU takes the lengths as args: [null, { lengths }]: evaluate equals each sequence run alone, unpadded', () => {
    const ds = new Sequences(rng.int(5, 12));
    const targets = ds.items.map(() => tensor(randomArray(rng, 3), [3]));
    const paired = ds.items.map(([seq], i) => [seq, targets[i]] as [Tensor, Tensor]);
    const items = new (class extends data.Dataset<[Tensor, Tensor]> {
      getItem(i: number): [Tensor, Tensor] {
        return paired[i];
      }
      get length(): number {
        return paired.length;
      }
    })();
    const loader = new data.DataLoader(items, { batchSize: rng.int(2, 5), collateFn: data.padCollate() });
    const gru = new nn.GRU(2, 3);
    const loss = (out: nn.RNNOutput, y: Tensor) => antler.mseLoss(out.hidden.squeeze(0), y);
    const e = evaluate(gru, loader, loss, { batch: ([x, lengths, y]: [Tensor, Tensor, Tensor]) => ({ x, y, args: [null, { lengths }] }) });
    // Reference: each sequence alone (no padding), its last hidden state against its target, the mean over rows and features.
    let sq = 0;
    antler.noGrad(() => paired.forEach(([seq, t]) => tidy(() => {
      const h = gru.forward(seq.unsqueeze(1)).hidden.dataSync();
      const tv = t.dataSync();
      for (let j = 0; j < 3; j++) sq += (h[j] - tv[j]) ** 2;
    })));
    expectClose([e.loss], [sq / (3 * paired.length)], 1e-5, 1e-7, 'GRU with lengths');
    gru.dispose();
    antler.dispose(targets);
    ds.dispose();
  });

  test('without the batch option, a batch of three is refused with what it held', async () => {
    const ds = new Sequences(6);
    const loader = new data.DataLoader(ds, { batchSize: 3, collateFn: data.padCollate() });
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const before = live();
    await expectRejects(fit(model, { data: loader, loss: 'crossEntropy', optimizer: opt, verbose: 0 }), 'INVALID_ARGUMENT',
      /fit: batch 0 of epoch 0 is an array of 3 \(Tensor \[\d, 3, 2\] float32, Tensor \[3\] int32, Tensor \[3\] int32\); a batch must be \[x, y\] or \{x, y\}.*batch: \(\[x, lengths, y\]\)/);
    expect(live()).toBe(before); // the refused batch was freed
    expectAntlerError(() => evaluate(model, loader, 'crossEntropy'), 'INVALID_ARGUMENT', /evaluate: data batch 0 is an array of 3/);
    expect(live()).toBe(before);
    model.dispose();
    opt.dispose();
    ds.dispose();
  });
});

describe(`batch ownership and leaks (seed ${SEED})`, () => {
  test("a DataLoader's batches are freed after each step, also when a callback stops early or the loss throws mid-epoch; the generator is closed", async () => {
    const { x, y } = points(40);
    const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 4, shuffle: true });
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const before = live();
    const stopAt = rng.int(0, 9);
    const h = await fit(model, { data: loader, loss: 'crossEntropy', optimizer: opt, epochs: 3, verbose: 0, callbacks: { onBatchEnd: (b) => { if (b === stopAt) model.stopTraining = true; } } });
    expect(h.epoch).toEqual([0]);
    opt.zeroGrad();
    expect(live()).toBe(before);
    let calls = 0;
    const throwAt = rng.int(1, 9);
    const failing = (p: Tensor, t: Tensor) => {
      if (++calls === throwAt) throw new Error('loss failed');
      return antler.crossEntropy(p, t);
    };
    await expect(fit(model, { data: loader, loss: failing, optimizer: opt, epochs: 2, verbose: 0 })).rejects.toThrow('loss failed');
    opt.zeroGrad();
    expect(live()).toBe(before);
    // A throwing onBatchBegin: the batch it came with is freed too.
    await expect(fit(model, { data: loader, loss: 'crossEntropy', optimizer: opt, verbose: 0, callbacks: { onBatchBegin: () => { throw new Error('callback failed'); } } })).rejects.toThrow('callback failed');
    opt.zeroGrad();
    expect(live()).toBe(before);
    // A generator left mid-way is closed (its finally runs), as for-of would.
    let closed = false;
    function* gen() {
      try {
        for (const b of loader) yield b;
      } finally {
        closed = true;
      }
    }
    calls = 0;
    await expect(fit(model, { data: gen(), loss: failing, optimizer: opt, verbose: 0, disposeBatches: true })).rejects.toThrow('loss failed');
    expect(closed).toBe(true);
    opt.zeroGrad();
    expect(live()).toBe(before);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });

  test('disposeBatches: true frees a generator\'s fresh batches; false leaves a DataLoader\'s to the caller; a collateFn passing stored tensors through keeps them', async () => {
    const { x, y } = points(24);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const before = live();
    function* fresh() {
      for (let s = 0; s < 24; s += 6) yield tidy(() => [x.slice([s], [6]).mul(1), y.slice([s], [6]).add(0)]);
    }
    await fit(model, { data: fresh(), loss: 'crossEntropy', optimizer: opt, verbose: 0, disposeBatches: true });
    opt.zeroGrad();
    expect(live()).toBe(before);
    // Without it, a generator's batches are the caller's: 4 batches of 2 tensors stay.
    const kept: unknown[] = [];
    await fit(model, { data: fresh(), loss: 'crossEntropy', optimizer: opt, verbose: 0, batch: (b: [Tensor, Tensor]) => (kept.push(b), { x: b[0], y: b[1] }) });
    opt.zeroGrad();
    expect(live()).toBe(before + 8);
    antler.dispose(kept);
    kept.length = 0;
    const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 6 });
    await fit(model, { data: loader, loss: 'crossEntropy', optimizer: opt, verbose: 0, disposeBatches: false, batch: (b: [Tensor, Tensor]) => (kept.push(b), { x: b[0], y: b[1] }) });
    opt.zeroGrad();
    expect(live()).toBe(before + 8);
    antler.dispose(kept);
    // A collateFn that returns a dataset's stored tensors as they are: not the loader's to free.
    const stored = [0, 1, 2].map(() => points(5));
    class Stored extends data.Dataset<{ x: Tensor; y: Tensor }> {
      getItem(i: number) {
        return stored[i];
      }
      get length() {
        return 3;
      }
    }
    const passThrough = new data.DataLoader(new Stored(), { batchSize: 1, collateFn: (items: { x: Tensor; y: Tensor }[]) => items[0] });
    const h = await fit(model, { data: passThrough, loss: 'crossEntropy', optimizer: opt, epochs: 2, verbose: 0 });
    expect(h.epoch).toEqual([0, 1]);
    expect(stored.every((s) => !s.x.isDisposed && !s.y.isDisposed)).toBe(true);
    antler.dispose(stored);
    opt.zeroGrad();
    expect(live()).toBe(before);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });

  test("disposeBatches: true for a generator's fresh batches leaves a re-iterable validation's stored tensors alone (an array's, a dataset's passed through)", async () => {
    const { x, y } = points(12);
    const v = points(rng.int(4, 9));
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const before = live();
    function* fresh() {
      for (;;) yield tidy(() => [x.slice([0], [4]).mul(1), y.slice([0], [4]).add(0)]);
    }
    const common = { loss: 'crossEntropy' as const, optimizer: opt, epochs: 3, stepsPerEpoch: 2, verbose: 0 as const, disposeBatches: true };
    const h1 = await fit(model, { ...common, data: fresh(), validation: [[v.x, v.y]] });
    expect(h1.epoch).toEqual([0, 1, 2]);
    expect(v.x.isDisposed || v.y.isDisposed).toBe(false);
    expect(h1.history.valLoss![2]).toBe(evaluate(model, v, 'crossEntropy').loss);
    // A DataLoader whose collateFn hands the dataset's tensors through: they are not the loader's, true or not.
    const passThrough = new data.DataLoader(new data.TensorDataset(v.x, v.y), { batchSize: 64, collateFn: () => [v.x, v.y] });
    const h2 = await fit(model, { ...common, data: fresh(), validation: passThrough });
    expect(h2.epoch).toEqual([0, 1, 2]);
    expect(v.x.isDisposed || v.y.isDisposed).toBe(false);
    // A one-shot validation (one epoch) follows disposeBatches: its fresh batches are freed.
    function* freshVal() {
      yield tidy(() => [v.x.mul(1), v.y.add(0)]);
    }
    await fit(model, { ...common, epochs: 1, data: fresh(), validation: freshVal() });
    opt.zeroGrad();
    expect(live()).toBe(before);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y, v.x, v.y]);
  });

  test('batches a loader made before, served again by a second loader passing them through, are not freed by fit (the second loader did not make them)', async () => {
    const { x, y } = points(rng.int(12, 30));
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    // Batches made once (say, an expensive collation), then shuffled as items of a second loader.
    const pre = [...new data.DataLoader(new data.TensorDataset(x, y), { batchSize: rng.int(3, 6) })];
    const before = live();
    class Batches extends data.Dataset<Tensor[]> {
      getItem(i: number) {
        return pre[i];
      }
      get length() {
        return pre.length;
      }
    }
    const loader = new data.DataLoader(new Batches(), { batchSize: 1, shuffle: true, seed: rng.u32(), collateFn: (items: Tensor[][]) => items[0] });
    const h = await fit(model, { data: loader, validation: loader, loss: 'crossEntropy', optimizer: opt, epochs: 3, verbose: 0 });
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(pre.every(([a, b]) => !a.isDisposed && !b.isDisposed)).toBe(true);
    expect(evaluate(model, loader, 'crossEntropy').loss).toBeCloseTo(h.history.valLoss![2], 6);
    expect(pre.every(([a, b]) => !a.isDisposed && !b.isDisposed)).toBe(true);
    // The first loader's batches handed to evaluate() directly are still its own: freed after use.
    const first = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 4 });
    evaluate(model, first, 'crossEntropy');
    opt.zeroGrad();
    expect(live()).toBe(before);
    model.dispose();
    opt.dispose();
    antler.dispose([pre, x, y]);
  });

  test("a dataset's cache filled lazily under keep() inside the loader is not freed: kept tensors are exempt, as from tidy()", async () => {
    const { x, y } = points(12);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const before = live();
    // getItem makes each item once, on first use (inside the loader's batch scope), and keeps it for later epochs.
    const cache: ({ x: Tensor; y: Tensor } | undefined)[] = [];
    class Cached extends data.Dataset<{ x: Tensor; y: Tensor }> {
      getItem(i: number) {
        return (cache[i] ??= { x: antler.keep(x.slice([4 * i], [4]).mul(1)), y: antler.keep(y.slice([4 * i], [4]).add(0)) });
      }
      get length() {
        return 3;
      }
    }
    const loader = new data.DataLoader(new Cached(), { batchSize: 1, collateFn: (items: { x: Tensor; y: Tensor }[]) => items[0] });
    const epochs = rng.int(2, 4);
    const h = await fit(model, { data: loader, validation: loader, loss: 'crossEntropy', optimizer: opt, epochs, verbose: 0 });
    expect(h.epoch).toHaveLength(epochs);
    expect(cache.every((c) => c && !c.x.isDisposed && !c.y.isDisposed)).toBe(true);
    expect(evaluate(model, loader, 'crossEntropy').loss).toBe(h.history.valLoss![epochs - 1]);
    expect(cache.every((c) => c && !c.x.isDisposed && !c.y.isDisposed)).toBe(true);
    antler.dispose(cache);
    opt.zeroGrad();
    expect(live()).toBe(before);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });
});

describe(`epochs, stepsPerEpoch and one-shot iterators (seed ${SEED})`, () => {
  test('stepsPerEpoch cuts a re-iterable epoch; draws a one-shot iterator on across epochs; training ends when it runs out', async () => {
    const { x, y } = points(30);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.05 });
    const sizes: number[][] = [];
    const cb = { onEpochBegin: () => void sizes.push([]), onBatchEnd: (_b: number, l: BatchLogs) => void sizes[sizes.length - 1].push(l.size) };
    const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 4 });
    const h1 = await fit(model, { data: loader, loss: 'crossEntropy', optimizer: opt, epochs: 3, stepsPerEpoch: 2, verbose: 0, callbacks: cb });
    expect(h1.epoch).toEqual([0, 1, 2]);
    expect(sizes).toEqual([[4, 4], [4, 4], [4, 4]]);
    // An endless generator with stepsPerEpoch: 3 epochs of 5 batches, then closed.
    let drawn = 0, closed = false;
    function* endless() {
      try {
        for (;;) {
          drawn++;
          yield { x: x.slice([0], [3]), y: y.slice([0], [3]) };
        }
      } finally {
        closed = true;
      }
    }
    sizes.length = 0;
    const h2 = await fit(model, { data: endless(), loss: 'crossEntropy', optimizer: opt, epochs: 3, stepsPerEpoch: 5, verbose: 0, disposeBatches: true, callbacks: cb });
    expect(h2.epoch).toEqual([0, 1, 2]);
    expect(drawn).toBe(15);
    expect(closed).toBe(true);
    // A finite one: 7 batches, 3 per epoch → epochs 0, 1 and a short 2 (one batch), then it ran out.
    function* seven() {
      for (let k = 0; k < 7; k++) yield [x.slice([k], [2]), y.slice([k], [2])];
    }
    sizes.length = 0;
    const h3 = await fit(model, { data: seven(), loss: 'crossEntropy', optimizer: opt, epochs: 10, stepsPerEpoch: 3, verbose: 0, disposeBatches: true, callbacks: cb });
    expect(h3.epoch).toEqual([0, 1, 2]);
    expect(sizes).toEqual([[2, 2, 2], [2, 2, 2], [2]]);
    // Six: runs out exactly at the end of epoch 1; epoch 2 gets nothing and is not logged.
    function* six() {
      for (let k = 0; k < 6; k++) yield [x.slice([k], [2]), y.slice([k], [2])];
    }
    expect((await fit(model, { data: six(), loss: 'crossEntropy', optimizer: opt, epochs: 10, stepsPerEpoch: 3, verbose: 0, disposeBatches: true })).epoch).toEqual([0, 1]);
    // initialEpoch counts as with tensors.
    const h4 = await fit(model, { data: loader, loss: 'crossEntropy', optimizer: opt, epochs: 4, initialEpoch: 2, verbose: 0 });
    expect(h4.epoch).toEqual([2, 3]);
    opt.zeroGrad();
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });
  test('a one-shot iterator that runs out at an epoch\'s end: training ends before the next epoch begins (every onEpochBegin has its onEpochEnd); a re-iterable with stepsPerEpoch goes on across epochs, starting anew when it runs out', async () => {
    const { x, y } = points(24);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.05 });
    const before = live();
    const steps = rng.int(2, 4), full = rng.int(1, 3);
    const count = steps * full;
    function* batches() {
      for (let k = 0; k < count; k++) yield tidy(() => [x.slice([k], [2]).mul(1), y.slice([k], [2]).add(0)]);
    }
    const events: string[] = [];
    const callbacks = {
      onEpochBegin: (e: number) => void events.push(`begin ${e}`),
      onEpochEnd: (e: number) => void events.push(`end ${e}`),
      onTrainEnd: () => void events.push('train end'),
    };
    const h = await fit(model, { data: batches(), loss: 'crossEntropy', optimizer: opt, epochs: full + 3, stepsPerEpoch: steps, verbose: 0, disposeBatches: true, callbacks });
    expect(h.epoch).toEqual(Array.from({ length: full }, (_, e) => e));
    expect(events).toEqual([...Array.from({ length: full }, (_, e) => [`begin ${e}`, `end ${e}`]).flat(), 'train end']);
    // The batch drawn before an epoch begins is freed when onEpochBegin throws.
    let begun = 0;
    await expect(fit(model, {
      data: batches(), loss: 'crossEntropy', optimizer: opt, epochs: 3, stepsPerEpoch: 1, verbose: 0, disposeBatches: true,
      callbacks: { onEpochBegin: () => { if (++begun === 2) throw new Error('begin failed'); } },
    })).rejects.toThrow('begin failed');
    opt.zeroGrad();
    expect(live()).toBe(before);
    // stepsPerEpoch with a re-iterable: each epoch goes on where the last stopped; run out, it starts anew.
    const labels = tensor(Array.from({ length: 5 }, (_, i) => i % 3), [5], { dtype: 'int32' });
    const rows = x.slice([0], [5]);
    const loader = new data.DataLoader(new data.TensorDataset(rows, labels), { batchSize: 1 });
    const firsts: number[][] = [];
    const perEpoch = { onEpochBegin: () => void firsts.push([]) };
    const hw = await fit(model, { data: loader, loss: 'crossEntropy', optimizer: opt, epochs: 3, stepsPerEpoch: 3, verbose: 0, callbacks: perEpoch, batch: ([a, b]: [Tensor, Tensor]) => (firsts[firsts.length - 1].push(b.dataSync()[0]), { x: a, y: b }) });
    expect(hw.epoch).toEqual([0, 1, 2]);
    expect(firsts).toEqual([[0, 1, 2], [0, 1, 0], [1, 2, 0]]);
    opt.zeroGrad();
    model.dispose();
    opt.dispose();
    antler.dispose([x, y, labels, rows]);
  });
});

describe(`validationSteps and evaluate's steps (seed ${SEED})`, () => {
  /** A re-iterable of batches that records which it yields and whether an iterator was left early. */
  function recorded(list: [Tensor, Tensor][]) {
    const log = { yielded: [] as number[][], closed: 0 };
    const src = {
      *[Symbol.iterator]() {
        const seen: number[] = [];
        log.yielded.push(seen);
        let k = 0;
        try {
          for (; k < list.length; k++) {
            seen.push(k);
            yield list[k];
          }
        } finally {
          if (k < list.length) log.closed++;
        }
      },
    };
    return { src, log };
  }

  test('a re-iterable validation starts from its beginning at each validation and evaluates validationSteps batches (as evaluate of those batches); tensor validation ignores it', async () => {
    const { x, y } = points(16);
    const v = points(12);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const sizes = [2, 3, 1, 4, 2];
    let at = 0;
    const list = sizes.map((n) => { const b: [Tensor, Tensor] = [v.x.slice([at], [n]), v.y.slice([at], [n])]; at += n; return b; });
    const before = live();
    const k = rng.int(1, 4);
    const { src, log } = recorded(list);
    // The reference: evaluate() over the first k batches only, with the weights at each epoch's end.
    const expected: number[] = [], expectedAcc: number[] = [];
    const h = await fit(model, {
      data: new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 4 }), loss: 'crossEntropy', optimizer: opt, epochs: 3, verbose: 0,
      metrics: ['accuracy'], validation: src, validationSteps: k,
      callbacks: { onEpochEnd: () => { const r = evaluate(model, list.slice(0, k), 'crossEntropy', { metrics: ['accuracy'] }); expected.push(r.loss); expectedAcc.push(r.acc as number); } },
    });
    expect(log.yielded).toEqual([0, 1, 2].map(() => Array.from({ length: k }, (_, i) => i)));
    expect(log.closed).toBe(3); // each validation's iterator closed when left before its end
    expect(h.history.valLoss).toEqual(expected);
    expect(h.history.valAcc).toEqual(expectedAcc);
    // Not all batches: the loss differs from the whole validation's (the batches differ in their rows).
    const whole = evaluate(model, list, 'crossEntropy').loss;
    expect(evaluate(model, list, 'crossEntropy', { steps: k }).loss).not.toBeCloseTo(whole, 6);
    // More steps than batches: all of them, as without validationSteps.
    const h2 = await fit(model, { data: [[x, y]], loss: 'crossEntropy', optimizer: opt, epochs: 1, verbose: 0, validation: list, validationSteps: 9, callbacks: { onEpochEnd: (_e, l) => void expect(l.valLoss).toBe(evaluate(model, list, 'crossEntropy').loss) } });
    expect(h2.history.valLoss).toHaveLength(1);
    // Whole-tensor validation: ignored, as Keras's validation_steps with arrays.
    const seed = rng.u32();
    const run = async (extra: object) => {
      const m = mlp();
      const o = new optim.SGD(m.parameters(), { lr: 0.1 });
      const r = await fit(m, { data: { x, y }, loss: 'crossEntropy', optimizer: o, epochs: 2, verbose: 0, seed, validation: v, batchSize: 4, ...extra });
      m.dispose();
      o.dispose();
      return r.history.valLoss;
    };
    expect(await run({ validationSteps: 1 })).toEqual(await run({}));
    opt.zeroGrad();
    expect(live()).toBe(before);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y, v.x, v.y, ...list.flat()]);
  });

  test('a one-shot validation goes on where the last validation stopped; it is closed when fit ends; one that runs dry is an error', async () => {
    const { x, y } = points(8);
    const v = points(14);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const list: [Tensor, Tensor][] = Array.from({ length: 7 }, (_, i) => [v.x.slice([2 * i], [2]), v.y.slice([2 * i], [2])]);
    const before = live();
    let drawn = 0, closed = false;
    function* gen(n: number) {
      try {
        for (let i = 0; i < n; i++) {
          drawn++;
          yield list[i];
        }
      } finally {
        closed = true;
      }
    }
    const steps = 2;
    const expected: number[] = [];
    let epoch = 0;
    const h = await fit(model, {
      data: [[x, y]], loss: 'crossEntropy', optimizer: opt, epochs: 3, verbose: 0, validation: gen(7), validationSteps: steps,
      callbacks: { onEpochEnd: () => void expected.push(evaluate(model, list.slice(steps * epoch, steps * ++epoch), 'crossEntropy').loss) },
    });
    expect(h.history.valLoss).toEqual(expected);
    expect(drawn).toBe(6);
    expect(closed).toBe(true);
    // A short last validation (one batch of the two) is what it got; none at all is an error.
    drawn = 0;
    const h2 = await fit(model, { data: [[x, y]], loss: 'crossEntropy', optimizer: opt, epochs: 2, verbose: 0, validation: gen(3), validationSteps: steps });
    expect(h2.history.valLoss).toHaveLength(2);
    await expectRejects(fit(model, { data: [[x, y]], loss: 'crossEntropy', optimizer: opt, epochs: 3, verbose: 0, validation: gen(4), validationSteps: steps }), 'INVALID_ARGUMENT', /fit: validation yielded no batches/);
    opt.zeroGrad();
    expect(live()).toBe(before);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y, v.x, v.y, ...list.flat()]);
  });

  test("evaluate's steps: the first steps batches of a re-iterable or a DataLoader; a one-shot iterator is left where it stopped (sync and async); refused with whole tensors", async () => {
    const v = points(12);
    const model = mlp();
    const list: [Tensor, Tensor][] = Array.from({ length: 4 }, (_, i) => [v.x.slice([3 * i], [3]), v.y.slice([3 * i], [3])]);
    const before = live();
    const k = rng.int(1, 3);
    const ref = (a: number, b: number) => evaluate(model, list.slice(a, b), 'crossEntropy', { metrics: ['accuracy'] });
    expect(evaluate(model, list, 'crossEntropy', { steps: k, metrics: ['accuracy'] })).toEqual(ref(0, k));
    const loader = new data.DataLoader(new data.TensorDataset(v.x, v.y), { batchSize: 3 });
    expectClose([evaluate(model, loader, 'crossEntropy', { steps: k }).loss], [ref(0, k).loss], 1e-6, 1e-7);
    let closed = false;
    function* gen() {
      try {
        yield* list;
      } finally {
        closed = true;
      }
    }
    const g = gen();
    expect(evaluate(model, g, 'crossEntropy', { steps: 1 })).toEqual(evaluate(model, list.slice(0, 1), 'crossEntropy'));
    expect(closed).toBe(false);
    expect(evaluate(model, g, 'crossEntropy', { steps: 2 })).toEqual(evaluate(model, list.slice(1, 3), 'crossEntropy'));
    expect(evaluate(model, g, 'crossEntropy', { steps: 5 })).toEqual(evaluate(model, list.slice(3), 'crossEntropy'));
    expect(closed).toBe(true);
    async function* agen() {
      yield* list;
    }
    const ag = agen();
    expect((await evaluate(model, ag, 'crossEntropy', { steps: 3 })).loss).toBe(evaluate(model, list.slice(0, 3), 'crossEntropy').loss);
    expect((await evaluate(model, ag, 'crossEntropy')).loss).toBe(evaluate(model, list.slice(3), 'crossEntropy').loss);
    expectAntlerError(() => evaluate(model, v, 'crossEntropy', { steps: 2 }), 'INVALID_ARGUMENT', /evaluate: steps is for batches/);
    expectAntlerError(() => evaluate(model, list, 'crossEntropy', { steps: 0 }), 'INVALID_ARGUMENT', /evaluate: steps/);
    await expectRejects(fit(model, { data: list, loss: 'crossEntropy', optimizer: { zeroGrad() {}, step() {} }, verbose: 0, validation: list, validationSteps: 1.5 }), 'INVALID_ARGUMENT', /fit: validationSteps/);
    expect(live()).toBe(before);
    model.dispose();
    antler.dispose([v.x, v.y, ...list.flat()]);
  });
});

describe(`progress off a terminal (seed ${SEED})`, () => {
  test('verbose 1 prints one line per epoch with batches, its steps/s counted from the batches run', async () => {
    const { x, y } = points(20);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((m: string) => void lines.push(m));
    const isTTY = process.stdout.isTTY;
    process.stdout.isTTY = false;
    try {
      function* endless() {
        for (;;) yield tidy(() => [x.slice([0], [5]).mul(1), y.slice([0], [5]).add(0)]);
      }
      await fit(model, { data: endless(), loss: 'crossEntropy', optimizer: opt, epochs: 2, stepsPerEpoch: 3, disposeBatches: true, metrics: ['accuracy'] });
      expect(lines).toHaveLength(2);
      lines.forEach((l, e) => expect(l).toMatch(new RegExp(`^epoch ${e + 1}/2: loss \\d\\.\\d{4}, acc \\d\\.\\d{4} \\(\\d+\\.\\d{2} s, \\d+(\\.\\d)? steps/s\\)$`)));
    } finally {
      spy.mockRestore();
      process.stdout.isTTY = isTTY;
    }
    opt.zeroGrad();
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });
});

describe(`the event loop (seed ${SEED})`, () => {
  test('a DataLoader is iterated with for await: timers run between its batches (an array of batches yields every 32)', async () => {
    const { x, y } = points(24);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const run = async (d: antler.FitData) => {
      let ran = 0, pending = 0;
      await fit(model, {
        data: d, loss: 'crossEntropy', optimizer: opt, verbose: 0,
        callbacks: { onBatchBegin: () => { pending++; setImmediate(() => void ran++); }, onBatchEnd: () => undefined },
      });
      const seen = ran;
      await new Promise((r) => setImmediate(r));
      return { seen, pending };
    };
    const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 4 });
    // 6 batches: each one's immediate ran before the next batch or at the loader's last yield.
    expect(await run(loader)).toEqual({ seen: 6, pending: 6 });
    const pre = [...loader];
    expect(await run(pre)).toEqual({ seen: 0, pending: 6 });
    antler.dispose(pre);
    opt.zeroGrad();
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });
});

describe(`errors (seed ${SEED})`, () => {
  test("an array validation is checked before training: Keras's (xVal, yVal) written [xVal, yVal], an empty one, a bad batch; no epoch runs", async () => {
    const { x, y } = points(12);
    const v = points(6);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const w0 = weights(model);
    let epochs = 0;
    const base = { loss: 'crossEntropy' as const, optimizer: opt, verbose: 0 as const, data: new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 4 }), callbacks: { onEpochBegin: () => void epochs++ } };
    const before = live();
    await expectRejects(fit(model, { ...base, validation: [v.x, v.y] }), 'INVALID_ARGUMENT',
      /fit: validation batch 0 is Tensor \[6, 3\] float32; a batch must be \[x, y\] or \{x, y\}.*whole tensors are \{x, y\}, Keras's \(x, y\); one batch is \[\[x, y\]\]/);
    await expectRejects(fit(model, { ...base, validation: [] }), 'INVALID_ARGUMENT', /fit: validation is an empty array/);
    await expectRejects(fit(model, { ...base, validation: [[v.x, v.y], [v.x, v.y, v.y]] }), 'INVALID_ARGUMENT', /fit: validation batch 1 is an array of 3/);
    expect(epochs).toBe(0);
    expect(weights(model)).toEqual(w0);
    // With the batch option the batches are the mapping's to read: an array of bare tensors is fine (an autoencoder's).
    const h = await fit(model, { ...base, data: [v.x], validation: [v.x], loss: 'mse', batch: (t: Tensor) => ({ x: t, y: t }) });
    expect(h.history.valLoss).toHaveLength(1);
    opt.zeroGrad();
    expect(live()).toBe(before);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y, v.x, v.y]);
  });

  test('conflicting options, one-shot iterators for several epochs, unknown batch shapes, empty data', async () => {
    const { x, y } = points(12);
    const model = mlp();
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 4 });
    const base = { loss: 'crossEntropy' as const, optimizer: opt, verbose: 0 as const };
    const before = live();
    for (const k of ['batchSize', 'shuffle', 'seed'] as const)
      await expectRejects(fit(model, { ...base, data: loader, [k]: k === 'shuffle' ? false : 8 }), 'INVALID_ARGUMENT', new RegExp(`fit: ${k} is for whole tensors \\{x, y\\}; with batches \\(a DataLoader\\)`));
    for (const k of ['batch', 'stepsPerEpoch', 'disposeBatches'] as const)
      await expectRejects(fit(model, { ...base, data: { x, y }, [k]: k === 'batch' ? (b: unknown) => b : k === 'stepsPerEpoch' ? 2 : true } as never), 'INVALID_ARGUMENT', new RegExp(`fit: ${k} is for batches`));
    await expectRejects(fit(model, { ...base, data: loader, stepsPerEpoch: 0 }), 'INVALID_ARGUMENT', /stepsPerEpoch/);
    await expectRejects(fit(model, { ...base, data: loader, disposeBatches: 'yes' as never }), 'INVALID_ARGUMENT', /disposeBatches/);
    await expectRejects(fit(model, { ...base, data: loader, batch: 3 as never }), 'INVALID_ARGUMENT', /batch must be a function/);
    function* gen() {
      yield [x, y];
    }
    await expectRejects(fit(model, { ...base, data: gen(), epochs: 2 }), 'INVALID_ARGUMENT', /one-shot iterator .* cannot be iterated again for 2 epochs.*stepsPerEpoch/);
    await expectRejects(fit(model, { ...base, data: loader, epochs: 2, validation: gen() }), 'INVALID_ARGUMENT', /validation is a one-shot iterator.*or validationSteps/);
    await expectRejects(fit(model, { ...base, data: [] }), 'INVALID_ARGUMENT', /data yielded no batches in epoch 0/);
    await expectRejects(fit(model, { ...base, data: [[x, y, y]] }), 'INVALID_ARGUMENT', /batch 0 of epoch 0 is an array of 3 \(Tensor \[12, 3\] float32, Tensor \[12\] int32, Tensor \[12\] int32\)/);
    await expectRejects(fit(model, { ...base, data: [{ x, y, w: y }] }), 'INVALID_ARGUMENT', /is an object \{x: Tensor \[12, 3\] float32, y: Tensor \[12\] int32, w: Tensor \[12\] int32\}/);
    await expectRejects(fit(model, { ...base, data: [x] }), 'INVALID_ARGUMENT', /batch 0 of epoch 0 is Tensor \[12, 3\] float32; a batch must be/);
    await expectRejects(fit(model, { ...base, data: [[x, 3]] }), 'INVALID_ARGUMENT', /an array of 2 \(Tensor \[12, 3\] float32, 3\)/);
    await expectRejects(fit(model, { ...base, data: [[x, y]], batch: (() => [x, y]) as never }), 'INVALID_ARGUMENT', /the batch option must return \{ x, y, args\? \}.*for batch 0 of epoch 0 it returned an array of 2/);
    await expectRejects(fit(model, { ...base, data: [[x, y]], batch: () => ({ x, y: 1 as never }) }), 'INVALID_ARGUMENT', /the batch option's y must be a Tensor/);
    await expectRejects(fit(model, { ...base, data: [[x, y]], batch: () => ({ x, y, args: y as never }) }), 'INVALID_ARGUMENT', /args must be an array/);
    const gone = x.mul(1);
    gone.dispose();
    await expectRejects(fit(model, { ...base, data: [[gone, y]] }), 'DISPOSED', /batch 0 of epoch 0 holds a disposed tensor/);
    expectAntlerError(() => evaluate(model, loader, 'crossEntropy', { batchSize: 4 }), 'INVALID_ARGUMENT', /evaluate: batchSize is for whole tensors/);
    expectAntlerError(() => evaluate(model, { x, y }, 'crossEntropy', { batch: (b: unknown) => b as never }), 'INVALID_ARGUMENT', /evaluate: batch is for batches/);
    expectAntlerError(() => evaluate(model, [], 'crossEntropy'), 'INVALID_ARGUMENT', /evaluate: data yielded no batches/);
    opt.zeroGrad();
    expect(live()).toBe(before);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
  });
});
