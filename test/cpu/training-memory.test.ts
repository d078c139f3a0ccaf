/**
 * A long manual training loop (zeroGrad, tidy(forward + loss + backward),
 * step) must not grow: native tensor counts and bytes exactly flat after
 * warm-up, and process RSS grows by less than 5% once the heap has been collected.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as antler from '../../lib';
import { mseLoss, nn, optim, tensor, tidy } from '../../lib';
import { makeSeededRng, randomArray, storageCounts, StorageCounts, tensorCounts, TensorCounts } from '../helpers';

const rng = makeSeededRng();
const SEED = rng.seed;

// jest runs without --expose-gc; turn it on and fetch gc() from a fresh context.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function rssAfterGc(): number {
  // Several collections and readings: the smallest is the least noisy.
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    gc();
    best = Math.min(best, process.memoryUsage().rss);
  }
  return best;
}

interface LoopResult {
  base: TensorCounts;
  snapshots: Map<number, StorageCounts>;
  rss1000: number;
  rss10000: number;
  losses: number[];
  end: TensorCounts;
}

const N = 32;

/**
 * The loop. With `yieldEvery`, it awaits one macrotask every that many steps
 * (what an async caller such as fit() does); without, it never returns to the
 * event loop, like a plain synchronous script.
 */
async function trainingLoop(yieldEvery?: number): Promise<LoopResult> {
  const base = tensorCounts();
  const model = new nn.Sequential(new nn.Linear(8, 16), new nn.Tanh(), new nn.Linear(16, 1));
  const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  // A fixed batch with a learnable target: y = Σ sin(x_j)
  const xs = randomArray(rng, N * 8, -1, 1);
  const ys = Array.from({ length: N }, (_, i) => xs.slice(i * 8, i * 8 + 8).reduce((s, v) => s + Math.sin(v), 0));
  const x = tensor(xs, [N, 8]);
  const y = tensor(ys, [N, 1]);

  const snapshots: LoopResult['snapshots'] = new Map();
  const losses: number[] = [];
  let rss1000 = 0, rss10000 = 0;
  for (let step = 1; step <= 10_000; step++) {
    model.zeroGrad();
    const loss = tidy(() => {
      const l = mseLoss(model.forward(x), y);
      l.backward();
      return l.item();
    });
    opt.step();
    if (step === 1 || step === 10_000) losses.push(loss);
    if (step === 10 || step === 500 || step === 1_000 || step === 10_000) {
      snapshots.set(step, storageCounts());
    }
    if (yieldEvery && step % yieldEvery === 0) await new Promise((r) => setImmediate(r));
    if (step === 1_000) rss1000 = rssAfterGc();
    if (step === 10_000) rss10000 = rssAfterGc();
  }
  model.dispose();
  opt.dispose();
  antler.dispose([x, y]);
  const end = tensorCounts();
  return {
    base,
    snapshots,
    rss1000,
    rss10000,
    losses,
    end,
  };
}

function checkCounts(r: LoopResult): void {
  const s500 = r.snapshots.get(500)!;
  expect(r.snapshots.get(10)).toEqual(s500);
  expect(r.snapshots.get(1_000)).toEqual(s500);
  expect(r.snapshots.get(10_000)).toEqual(s500);
  // What is live: x, y, 4 parameters, their 4 gradients and 4 momentum buffers.
  expect(s500.numTensors - r.base.numTensors).toBe(2 + 4 + 4 + 4);
  const paramBytes = (16 * 8 + 16 + 16 + 1) * 4;
  expect(s500.numBytes - r.base.numBytes).toBe((N * 8 + N) * 4 + 3 * paramBytes);
  // The loop trained (so every op really ran): the loss fell.
  expect(r.losses[1]).toBeLessThan(0.1 * r.losses[0]);
  expect(r.end).toEqual(r.base);
}

// A leak grows RSS; a drop is the allocator or the GC giving pages back (seen at −5.8% in CI when other
// suites ran in parallel workers), so only growth fails.
function checkRss(r: LoopResult): void {
  const growth = r.rss10000 / r.rss1000 - 1;
  if (!(growth < 0.05))
    throw new Error(`RSS went from ${(r.rss1000 / 2 ** 20).toFixed(1)} MiB at step 1,000 to ${(r.rss10000 / 2 ** 20).toFixed(1)} MiB at step 10,000 (${(growth * 100).toFixed(1)}%) (seed ${SEED})`);
}

describe(`10,000 training steps keep memory flat (seed ${SEED})`, () => {
  test('synchronous loop: numTensors and numBytes identical from step 10 to 10,000; RSS grows by less than 5% from step 1,000', async () => {
    const r = await trainingLoop();
    checkCounts(r);
    checkRss(r);
  }, 60_000);

  test('loop that yields to the event loop every 100 steps: the same, and RSS grows by less than 5%', async () => {
    const r = await trainingLoop(100);
    checkCounts(r);
    checkRss(r);
  }, 60_000);
});

describe(`recurrent training loops keep memory flat (seed ${SEED})`, () => {
  // A small sequence-to-one regression: the target is the mean of the input over time.
  const T = 24, B = 4, IN = 3, H = 8;
  type Make = () => { model: nn.Module; forward: (x: antler.Tensor) => antler.Tensor };
  // The last step's output [B, width] (tidy frees the slice; the graph keeps what backward needs).
  const lastStep = (out: antler.Tensor) => tidy(() => antler.reshape(antler.slice(out, [T - 1, 0, 0], [1, B, out.shape[2]]), [B, out.shape[2]]));
  const cases: [string, Make, boolean][] = [
    ['GRU, DEER (implicit-differentiation gradients), inside tidy', () => {
      const rnn = new nn.GRU(IN, H, { mode: 'deer' }), head = new nn.Linear(H, 1);
      return { model: new nn.Sequential(rnn, head), forward: (x) => head.forward(lastStep(rnn.forward(x).output)) as antler.Tensor };
    }, true],
    ['LSTM, 2 layers bidirectional, sequential, inside tidy', () => {
      const rnn = new nn.LSTM(IN, H, { numLayers: 2, bidirectional: true }), head = new nn.Linear(2 * H, 1);
      return { model: new nn.Sequential(rnn, head), forward: (x) => head.forward(lastStep(rnn.forward(x).output)) as antler.Tensor };
    }, true],
    ['SRU, 2 layers, inside tidy', () => {
      const rnn = new nn.SRU(IN, H, { numLayers: 2 }), head = new nn.Linear(H, 1);
      return { model: new nn.Sequential(rnn, head), forward: (x) => head.forward(lastStep(rnn.forward(x).output)) as antler.Tensor };
    }, true],
    ['GRU, quasi-DEER, no tidy (outputs and loss disposed by hand)', () => {
      const rnn = new nn.GRU(IN, H, { mode: 'quasi' }), head = new nn.Linear(H, 1);
      return {
        model: new nn.Sequential(rnn, head),
        forward: (x) => {
          const r = rnn.forward(x);
          const last = lastStep(r.output);
          const y = head.forward(last) as antler.Tensor;
          antler.dispose([r.output, r.hidden, last]);
          return y;
        },
      };
    }, false],
  ];
  // Before: without tidy, mean() (so mseLoss) left its sum behind and each GRU forward 6–16 intermediates.
  test.each(cases)('%s: 300 Adam steps, counts equal from step 20 to 300, loss falls', (_name, make, useTidy) => {
    const base = tensorCounts();
    const { model, forward } = make();
    const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
    const xs = randomArray(rng, T * B * IN, -1, 1);
    const ys = Array.from({ length: B }, (_, b) => {
      let s = 0;
      for (let t = 0; t < T; t++) for (let j = 0; j < IN; j++) s += xs[(t * B + b) * IN + j];
      return s / T;
    });
    const x = tensor(xs, [T, B, IN]), y = tensor(ys, [B, 1]);
    const losses: number[] = [];
    const snapshots = new Map<number, StorageCounts>();
    for (let step = 1; step <= 300; step++) {
      model.zeroGrad();
      let loss: number;
      if (useTidy) {
        loss = tidy(() => {
          const l = mseLoss(forward(x), y);
          l.backward();
          return l.item();
        });
      } else {
        const pred = forward(x);
        const l = mseLoss(pred, y);
        l.backward();
        loss = l.item();
        antler.dispose([pred, l]);
      }
      opt.step();
      losses.push(loss);
      if (step === 20 || step === 300) snapshots.set(step, storageCounts());
    }
    expect(snapshots.get(300)).toEqual(snapshots.get(20));
    expect(losses[299]).toBeLessThan(0.5 * losses[0]);
    model.dispose();
    opt.dispose();
    antler.dispose([x, y]);
    expect(tensorCounts()).toEqual(base);
  }, 60_000);
});
