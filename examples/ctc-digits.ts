/**
 * Sequence labelling without alignments: a bidirectional GRU learns to read
 * strings of digits from noisy frames with the CTC loss (Graves et al. 2006),
 * as speech or handwriting recognisers are trained. Each sample is a string
 * of 1 to `--digits` digits (1–9); each digit is drawn over 2 to 4 frames of
 * its noisy one-hot code, with frames of noise between some of them (always
 * between a digit and its repeat),
 * so the frames per digit and the lengths vary and nobody says which frame
 * is which digit. The batch is right-padded (`padSequence`), the GRU reads
 * each sequence only up to its own length (`lengths`), a linear layer gives
 * per-frame log-probabilities over blank + 9 digits, and `ctcLoss` sums over
 * every alignment of the target to the frames.
 *
 * Every `--every` steps it prints the train loss, the held-out loss and the
 * held-out exact-match rate of greedy decoding (the best class per frame,
 * repeats merged, blanks dropped).
 *
 *   npm run build:ts && npx tsc -p examples/tsconfig.json
 *   node dist-examples/ctc-digits.js [--steps 300] [--every 25] [--digits 5] [--batch 32]
 *     [--hidden 32] [--noise 0.3] [--lr 0.01] [--mode sequential|deer|auto] [--device cpu|cuda] [--seed 1]
 */
import { Command, InvalidArgumentError } from 'commander';
import * as antler from '../dist/index';
import { nn, optim, Tensor } from '../dist/index';

const number = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number; got '${v}'`);
  return n;
};
const args = new Command()
  .option('--steps <n>', 'Adam steps', number, 300)
  .option('--every <n>', 'print every n steps', number, 25)
  .option('--digits <n>', 'longest string of digits', number, 5)
  .option('--batch <n>', 'strings per step (and held out)', number, 32)
  .option('--hidden <n>', 'GRU hidden units per direction', number, 32)
  .option('--noise <x>', 'standard deviation of the frames\' noise', number, 0.3)
  .option('--lr <x>', 'learning rate', number, 1e-2)
  .option('--mode <m>', "the GRU's mode: 'sequential', 'deer' or 'auto'", 'auto')
  .option('--device <d>', "'cpu' or 'cuda'", 'cpu')
  .option('--seed <n>', 'random seed', number, 1)
  .parse()
  .opts<{ steps: number; every: number; digits: number; batch: number; hidden: number; noise: number; lr: number; mode: string; device: string; seed: number }>();

antler.setSeed(args.seed);
const C = 10; // blank (0) and the digits 1–9
const B = args.batch, device = args.device;

let state = args.seed >>> 0;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

interface Batch { x: Tensor; lengths: number[]; targets: number[][] }

/** B strings and their frames, padded to [T, B, C]. */
function batch(): Batch {
  const targets: number[][] = [], frames: Tensor[] = [];
  for (let b = 0; b < B; b++) {
    const digits = Array.from({ length: int(1, args.digits) }, () => int(1, 9));
    const rows: number[][] = [];
    const frame = (code: number) => rows.push(Array.from({ length: C }, (_, c) => (c === code ? 1 : 0) + args.noise * gauss()));
    digits.forEach((d, i) => {
      // A gap of noise sometimes, and always between a digit and its repeat (else 99 and a long 9 look alike).
      if (rand() < 0.5 || (i > 0 && digits[i - 1] === d)) frame(0);
      for (let k = int(2, 4); k > 0; k--) frame(d);
    });
    targets.push(digits);
    frames.push(antler.tensor(rows.flat(), [rows.length, C]));
  }
  const lengths = frames.map((f) => f.shape[0]);
  const x = antler.padSequence(frames).to(device);
  antler.dispose(frames);
  return { x, lengths, targets };
}

class Reader extends nn.Module {
  gru = new nn.GRU(C, args.hidden, { bidirectional: true, mode: args.mode as 'auto', device });
  head = new nn.Linear(2 * args.hidden, C, { device });
  /** Per-frame log-probabilities [T, B, C] of padded frames x [T, B, C] with their lengths. */
  forward(x: Tensor, lengths: number[]): Tensor {
    const { output } = this.gru.forward(x, null, { lengths });
    return antler.logSoftmax(this.head.forward(output), -1);
  }
}

/** Greedy CTC decoding: the best class per frame, repeats merged, blanks dropped. */
function decode(logProbs: Tensor, lengths: number[]): number[][] {
  const best = antler.tidy(() => antler.argmax(logProbs, -1).dataSync()); // [T, B]
  return lengths.map((n, b) => {
    const out: number[] = [];
    let prev = -1;
    for (let t = 0; t < n; t++) {
      const c = best[t * B + b];
      if (c !== prev && c !== 0) out.push(c);
      prev = c;
    }
    return out;
  });
}

const model = new Reader();
const opt = new optim.Adam(model.parameters(), { lr: args.lr });
const held = batch();
console.log(`CTC digits: strings of 1–${args.digits} digits, 2–4 frames each, noise ${args.noise}; bidirectional GRU ${C}-${args.hidden}×2, mode ${args.mode}, on ${device}`);

const start = Date.now();
for (let step = 0; step <= args.steps; step++) {
  const data = batch();
  opt.zeroGrad();
  const loss = antler.tidy(() => {
    const l = antler.ctcLoss(model.forward(data.x, data.lengths), data.targets, data.lengths, data.targets.map((t) => t.length));
    l.backward();
    return l.item();
  });
  opt.step();
  data.x.dispose();
  if (step % args.every === 0 || step === args.steps) {
    const [val, exact] = antler.tidy(() =>
      antler.noGrad(() => {
        const lp = model.forward(held.x, held.lengths);
        const l = antler.ctcLoss(lp, held.targets, held.lengths, held.targets.map((t) => t.length)).item();
        const guesses = decode(lp, held.lengths);
        return [l, guesses.filter((g, b) => g.join() === held.targets[b].join()).length / B];
      }),
    );
    console.log(`step ${String(step).padStart(4)}  train ${loss.toFixed(4)}  held-out ${val.toFixed(4)}  exact ${(100 * exact).toFixed(1)}%  ${((Date.now() - start) / 1000).toFixed(1)} s`);
  }
}

const shown = antler.tidy(() => antler.noGrad(() => decode(model.forward(held.x, held.lengths), held.lengths)));
for (let b = 0; b < Math.min(3, B); b++) console.log(`held-out ${b}: target ${held.targets[b].join('')}  read ${shown[b].join('') || '(nothing)'}`);

opt.dispose();
model.dispose();
held.x.dispose();
