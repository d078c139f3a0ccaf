/**
 * Variable-length sequence classification with antler.data and fit(): an
 * LSTM reads strings of tokens and says which of two marker tokens, `a` or
 * `b`, occurs more often — or that they occur equally often (3 classes). The
 * markers sit at random places among filler tokens, so the model has to
 * count over the whole sequence, however long it is.
 *
 * The data is a custom `data.Dataset` (items `[tokens, label]`, an int32
 * tensor and a number, generated from the seed); a `data.DataLoader` with a
 * `data.BucketBatchSampler` batches sequences of similar length together and
 * `data.padCollate()` pads them (`[padded, lengths, labels]`). The model is
 * Embedding → `nn.LSTM` (each sequence read to its own length: `lengths`) →
 * Linear on the last hidden state; its recurrent weight `weight_hh_l0` is kept
 * orthogonal by `nn.utils.parametrizations.orthogonal` (`--orthogonal false`
 * to compare). `antler.fit()` trains it over the loader, validating after
 * every epoch; a callback stops training when the validation accuracy has
 * not improved for `--patience` epochs. Then `antler.evaluate()` scores a
 * held-out test set and a few test strings are printed with the model's
 * answer.
 *
 *   npm run build:ts && npx tsc -p examples/tsconfig.json
 *   node dist-examples/seq-classify.js [--epochs 12] [--batch 32] [--hidden 32] [--embed 16] [--lr 0.01]
 *     [--train 2000] [--val 500] [--minLen 5] [--maxLen 40] [--patience 3] [--orthogonal true|false]
 *     [--device cpu|cuda] [--seed 1]
 */
import { Command, InvalidArgumentError } from 'commander';
import * as antler from '../dist/index';
import { data, nn, optim, Tensor } from '../dist/index';

const number = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number; got '${v}'`);
  return n;
};
const boolean = (v: string) => {
  if (v !== 'true' && v !== 'false') throw new InvalidArgumentError(`expected true or false; got '${v}'`);
  return v === 'true';
};
const args = new Command()
  .option('--epochs <n>', 'most epochs (early stopping may end sooner)', number, 12)
  .option('--batch <n>', 'sequences per batch', number, 32)
  .option('--hidden <n>', 'LSTM hidden units', number, 32)
  .option('--embed <n>', 'embedding size', number, 16)
  .option('--lr <x>', 'learning rate (Adam)', number, 1e-2)
  .option('--train <n>', 'training sequences', number, 2000)
  .option('--val <n>', 'validation sequences (and as many test sequences)', number, 500)
  .option('--minLen <n>', 'shortest sequence', number, 5)
  .option('--maxLen <n>', 'longest sequence', number, 40)
  .option('--patience <n>', 'epochs without a better validation accuracy before stopping', number, 3)
  .option('--orthogonal <b>', "keep the LSTM's weight_hh_l0 orthogonal: true or false", boolean, true)
  .option('--device <d>', "'cpu' or 'cuda'", 'cpu')
  .option('--seed <n>', 'random seed', number, 1)
  .parse()
  .opts<{
    epochs: number; batch: number; hidden: number; embed: number; lr: number; train: number; val: number;
    minLen: number; maxLen: number; patience: number; orthogonal: boolean; device: string; seed: number;
  }>();

antler.setSeed(args.seed);
const device = args.device;
const PAD = 0, A = 1, B = 2, VOCAB = 10; // tokens 3–9 are fillers
const CLASSES = ['a more', 'b more', 'equal'];

/** A small seeded generator (mulberry32), so that the data depends on the seed only. */
function generator(seed: number) {
  let state = seed >>> 0;
  const rand = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { rand, int: (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1)) };
}

/**
 * n strings of minLen–maxLen tokens; the label first (each class a third of
 * the time), then the counts of a and b to fit it (0–4 each, at most half the
 * string), then the string: the markers at random places, fillers elsewhere.
 * getItem(i) gives [tokens (int32 [Lᵢ]), label]: a fresh tensor the
 * DataLoader frees once it has collated the batch.
 */
class MarkerCounts extends data.Dataset<[Tensor, number]> {
  readonly tokens: Int32Array[] = [];
  readonly labels: number[] = [];

  constructor(n: number, seed: number) {
    super();
    const { rand, int } = generator(seed);
    for (let i = 0; i < n; i++) {
      const L = int(args.minLen, args.maxLen);
      const label = int(0, 2);
      const most = Math.min(4, Math.floor(L / 2));
      let na: number, nb: number;
      if (label === 2) na = nb = int(0, most);
      else {
        const hi = int(1, most), lo = int(0, hi - 1);
        [na, nb] = label === 0 ? [hi, lo] : [lo, hi];
      }
      const seq = Int32Array.from({ length: L }, () => int(3, VOCAB - 1));
      // Distinct places for the markers: a partial Fisher–Yates shuffle of the positions.
      const places = Array.from({ length: L }, (_, k) => k);
      for (let k = 0; k < na + nb; k++) {
        const j = k + Math.floor(rand() * (L - k));
        [places[k], places[j]] = [places[j], places[k]];
        seq[places[k]] = k < na ? A : B;
      }
      this.tokens.push(seq);
      this.labels.push(label);
    }
  }

  get length(): number {
    return this.tokens.length;
  }

  getItem(i: number): [Tensor, number] {
    return [antler.tensor(this.tokens[i], [this.tokens[i].length], { dtype: 'int32' }), this.labels[i]];
  }
}

class Counter extends nn.Module {
  embed = new nn.Embedding(VOCAB, args.embed, { paddingIdx: PAD, device });
  lstm = new nn.LSTM(args.embed, args.hidden, { device });
  head = new nn.Linear(args.hidden, CLASSES.length, { device });
  constructor() {
    super();
    // weight_hh_l0 ([4·hidden, hidden]) reads as a matrix of orthonormal columns from here on, through training.
    if (args.orthogonal) nn.utils.parametrizations.orthogonal(this.lstm, { name: 'weight_hh_l0' });
  }
  /** Class scores [B, 3] for padded tokens x [T, B] (time first, padCollate's default) and their lengths. */
  forward(x: Tensor, lengths: Tensor): Tensor {
    // hidden: [1, B, H], each sequence's state after its own last token.
    const { hidden } = this.lstm.forward(this.embed.forward(x), null, { lengths });
    return this.head.forward(antler.squeeze(hidden, 0));
  }
}

const trainSet = new MarkerCounts(args.train, args.seed);
const valSet = new MarkerCounts(args.val, args.seed + 1000);
const testSet = new MarkerCounts(args.val, args.seed + 2000);
const lengthsOf = (ds: MarkerCounts) => ds.tokens.map((t) => t.length);
// Batches of similar lengths (little padding), a fresh order each epoch from the seed.
const loader = (ds: MarkerCounts, shuffle: boolean) =>
  new data.DataLoader(ds, { batchSampler: new data.BucketBatchSampler(lengthsOf(ds), args.batch, { shuffle, seed: args.seed }), collateFn: data.padCollate() });
const trainLoader = loader(trainSet, true), valLoader = loader(valSet, false), testLoader = loader(testSet, false);
// padCollate's batches are [padded tokens [T, B], lengths [B], labels [B]]: forward(x, lengths), the loss against the labels.
// This runs inside the step's tidy(), so the copies to the device are freed with the batch.
const batch = ([x, lengths, y]: [Tensor, Tensor, Tensor]) => ({ x: x.to(device), y: y.to(device), args: [lengths] });

const model = new Counter();
const opt = new optim.Adam(model.parameters(), { lr: args.lr });
const counts = [0, 1, 2].map((c) => trainSet.labels.filter((l) => l === c).length);
console.log(
  `sequence classification: ${args.train} training strings of ${args.minLen}–${args.maxLen} tokens (a more ${counts[0]}, b more ${counts[1]}, equal ${counts[2]}); ` +
    `Embedding ${VOCAB}-${args.embed} → LSTM ${args.hidden}${args.orthogonal ? ' (orthogonal weight_hh_l0)' : ''} → Linear ${CLASSES.length}, on ${device}; chance is about 33%`,
);

/** Early stopping: stop when valAcc has not improved for `patience` epochs. */
let best = -1, bestEpoch = 0;
const start = Date.now();
const earlyStopping = {
  onEpochEnd: (epoch: number, logs: antler.Logs) => {
    const valAcc = logs.valAcc ?? 0;
    if (valAcc > best) [best, bestEpoch] = [valAcc, epoch];
    console.log(
      `epoch ${String(epoch + 1).padStart(3)}  train loss ${logs.loss.toFixed(4)} acc ${(100 * (logs.acc ?? 0)).toFixed(1)}%  ` +
        `val loss ${(logs.valLoss ?? NaN).toFixed(4)} acc ${(100 * valAcc).toFixed(1)}%  ${((Date.now() - start) / 1000).toFixed(1)} s`,
    );
    if (epoch - bestEpoch >= args.patience) {
      console.log(`early stop: no better validation accuracy since epoch ${bestEpoch + 1}`);
      model.stopTraining = true;
    }
  },
};

async function main() {
  await antler.fit(model, {
    data: trainLoader,
    validation: valLoader,
    batch,
    loss: 'crossEntropy',
    optimizer: opt,
    metrics: ['accuracy'],
    epochs: args.epochs,
    callbacks: earlyStopping,
    verbose: 0,
  });

  const test = antler.evaluate(model, testLoader, 'crossEntropy', { batch, metrics: ['accuracy'] });
  console.log(`test: loss ${test.loss.toFixed(4)}  accuracy ${(100 * (test.acc ?? 0)).toFixed(1)}% over ${args.val} held-out strings`);

  if (args.orthogonal) {
    // The parametrization holds through training: W^T W = I for the [4H, H] weight.
    const gap = antler.tidy(() => {
      const W = model.lstm.weight_hh_l0 as Tensor;
      return antler.max(antler.abs(antler.sub(antler.matmul(W, W, { transposeA: true }), antler.eye(args.hidden, undefined, { device })))).item();
    });
    console.log(`weight_hh_l0: max |WᵀW − I| ${gap.toExponential(1)}`);
  }

  // A few test strings, as the model reads them (eval mode, no graph).
  model.eval();
  const shown = Math.min(4, testSet.length);
  const items = Array.from({ length: shown }, (_, i) => testSet.getItem(i));
  const [x, lengths, labels] = data.padCollate()(items) as [Tensor, Tensor, Tensor];
  const guesses = antler.tidy(() => antler.noGrad(() => antler.argmax(model.forward(x.to(device), lengths), -1).dataSync()));
  antler.dispose([items, x, lengths, labels]);
  for (let i = 0; i < shown; i++) {
    const s = Array.from(testSet.tokens[i], (t) => (t === A ? 'a' : t === B ? 'b' : '.')).join('');
    console.log(`test ${i}: ${s.padEnd(args.maxLen)}  truth ${CLASSES[testSet.labels[i]].padEnd(6)}  read ${CLASSES[guesses[i]]}`);
  }

  opt.dispose();
  model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
