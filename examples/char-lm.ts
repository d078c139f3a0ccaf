/**
 * A character-level language model, Embedding → 2-layer SRU → Linear,
 * trained on antler's own TypeScript sources (lib/**\/*.ts; --corpus <dir>
 * reads the .ts, .js, .md and .txt files under another directory). Prints the
 * training loss (mean over the last --every steps), a held-out loss and
 * bits per character as it goes, then samples text by streaming one
 * character at a time through SRU.step(). --optim adahessian trains with
 * AdaHessian instead of Adam, its Hessian diagonal from exact
 * Hessian-vector products through the SRU (double backward).
 *
 *   npm run build:ts && npx tsc -p examples/tsconfig.json
 *   node dist-examples/char-lm.js [--steps 300] [--every 25] [--seq 64] [--batch 32]
 *     [--embed 64] [--hidden 256] [--lr 0.003] [--device cpu|cuda] [--impl fused|reference] [--seed 1] [--sample 300]
 *     [--corpus <dir>] [--optim adam|adahessian]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as antler from '../dist/index';
import { nn, optim, Tensor } from '../dist/index';

function option(name: string, fallback: number): number;
function option(name: string, fallback: string): string;
function option(name: string, fallback: number | string): number | string {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0 || at + 1 >= process.argv.length) return fallback;
  const v = process.argv[at + 1];
  if (typeof fallback === 'number') {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name} expects a number; got '${v}'`);
    return n;
  }
  return v;
}

const steps = option('steps', 300);
const every = option('every', 25);
const seqLen = option('seq', 64);
const batch = option('batch', 32);
const embedDim = option('embed', 64);
const hidden = option('hidden', 256);
const optimizer = option('optim', 'adam');
if (optimizer !== 'adam' && optimizer !== 'adahessian') throw new Error(`--optim expects adam or adahessian; got '${optimizer}'`);
const lr = option('lr', optimizer === 'adam' ? 3e-3 : 0.03);
const device = option('device', 'cpu');
const impl = option('impl', 'fused') as 'fused' | 'reference';
const seed = option('seed', 1);
const sampleLength = option('sample', 300);

// ---------------------------------------------------------------- data

function sources(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.')) out.push(...sources(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
  }
  return out;
}

const root = path.resolve(__dirname, '..');
const corpusDir = path.resolve(option('corpus', path.join(root, 'lib')));
const exts = option('corpus', '') ? ['.ts', '.js', '.md', '.txt'] : ['.ts'];
if (!fs.existsSync(corpusDir) || !fs.statSync(corpusDir).isDirectory()) {
  console.error(`char-lm: no corpus directory at ${corpusDir} (the default is the package's lib/, the TypeScript sources); pass --corpus <dir>`);
  process.exit(1);
}
const text = sources(corpusDir, exts).map((f) => fs.readFileSync(f, 'utf8')).join('\n');
if (text.length < 10000) {
  console.error(`char-lm: ${text.length} characters of text under ${corpusDir}; at least 10,000 are needed (${exts.join(', ')} files)`);
  process.exit(1);
}
const vocab = [...new Set(text)].sort();
const index = new Map(vocab.map((ch, i) => [ch, i]));
const encoded = Int32Array.from(text, (ch) => index.get(ch)!);
const split = Math.floor(encoded.length * 0.95);
const train = encoded.subarray(0, split);
const heldOut = encoded.subarray(split);

/** mulberry32: batch offsets and sampling are repeatable from --seed. */
function prng(s: number): () => number {
  let a = s | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(seed);

/** Time-major windows: x[t, b] = data[o_b + t], y[t, b] = data[o_b + t + 1]. */
function windows(data: Int32Array, offsets: number[]): { x: Tensor; y: Tensor } {
  const B = offsets.length;
  const x = new Int32Array(seqLen * B), y = new Int32Array(seqLen * B);
  for (let t = 0; t < seqLen; t++)
    for (let b = 0; b < B; b++) {
      x[t * B + b] = data[offsets[b] + t];
      y[t * B + b] = data[offsets[b] + t + 1];
    }
  return {
    x: antler.tensor(x, [seqLen, B], { dtype: 'int32', device }),
    y: antler.tensor(y, [seqLen * B], { dtype: 'int32', device }),
  };
}

// ---------------------------------------------------------------- model

class CharLM extends nn.Module {
  readonly embed: nn.Embedding;
  readonly rnn: nn.SRU;
  readonly head: nn.Linear;
  constructor(vocabSize: number) {
    super();
    this.embed = this.registerModule('embed', new nn.Embedding(vocabSize, embedDim, { device }));
    this.rnn = this.registerModule('rnn', new nn.SRU(embedDim, hidden, { numLayers: 2, dropout: 0.1, impl, device }));
    this.head = this.registerModule('head', new nn.Linear(hidden, vocabSize, { device }));
  }

  /** indices [L, B] -> logits [L·B, vocab] */
  forward(indices: Tensor): Tensor {
    const [L, B] = indices.shape;
    const h = this.rnn.forward(this.embed.forward(indices)).output;
    return this.head.forward(antler.reshape(h, [L * B, hidden]));
  }
}

// ---------------------------------------------------------------- training

antler.setSeed(seed);
const model = new CharLM(vocab.length);
// AdaHessian: exact Hessian-vector products (hvp 'auto': one double backward per step through the SRU).
const opt = optimizer === 'adam' ? new optim.Adam(model.parameters(), { lr }) : new optim.AdaHessian(model.parameters(), { lr, seed });
const evalOffsets = Array.from({ length: 64 }, () => Math.floor(random() * (heldOut.length - seqLen - 1)));
const evalBatch = windows(heldOut, evalOffsets);

function heldOutLoss(): number {
  model.eval();
  const v = antler.tidy(() => antler.noGrad(() => antler.crossEntropy(model.forward(evalBatch.x), evalBatch.y).item()));
  model.train();
  return v;
}

console.log(
  `char-LM: ${text.length} characters of ${path.relative(process.cwd(), corpusDir) || '.'}, vocabulary ${vocab.length}; ` +
    `Embedding(${embedDim}) → SRU(${hidden}, 2 layers, ${impl}) → Linear; seq ${seqLen}, batch ${batch}, ${optimizer === 'adam' ? 'Adam' : 'AdaHessian'} lr ${lr}, ${device}`,
);
console.log(`step     0  held-out loss ${heldOutLoss().toFixed(3)} (uniform would be ${Math.log(vocab.length).toFixed(3)})`);
let sum = 0;
let count = 0;
let t0 = Date.now();
for (let step = 1; step <= steps; step++) {
  const offsets = Array.from({ length: batch }, () => Math.floor(random() * (train.length - seqLen - 1)));
  let loss: number;
  if (opt instanceof optim.AdaHessian) {
    // The closure computes the loss and its gradient; the step adds the Hessian-vector products itself.
    loss = antler.tidy(() => {
      const { x, y } = windows(train, offsets);
      return opt.step(() => {
        opt.zeroGrad();
        const l = antler.crossEntropy(model.forward(x), y);
        l.backward();
        return l;
      });
    });
    if (step === 1) console.log(`  (AdaHessian's Hessian-vector products: ${opt.lastHvpMethod})`);
  } else {
    loss = antler.tidy(() => {
      const { x, y } = windows(train, offsets);
      const l = antler.crossEntropy(model.forward(x), y);
      l.backward();
      return l.item();
    });
    optim.clipGradNorm(model.parameters(), 5);
    opt.step();
    opt.zeroGrad();
  }
  sum += loss;
  count += 1;
  if (step % every === 0 || step === steps) {
    const held = heldOutLoss();
    const ms = (Date.now() - t0) / count;
    console.log(
      `step ${String(step).padStart(5)}  train loss ${(sum / count).toFixed(3)}  held-out loss ${held.toFixed(3)} ` +
        `(${(held / Math.LN2).toFixed(2)} bits/char)  ${ms.toFixed(0)} ms/step`,
    );
    sum = 0;
    count = 0;
    t0 = Date.now();
  }
}

// ---------------------------------------------------------------- sampling

if (sampleLength > 0) {
  model.eval();
  const prompt = 'export function ';
  let c: Tensor | null = null;
  let out = prompt;
  let next = -1;
  const feed = (id: number) => {
    const r = antler.tidy(() =>
      antler.noGrad(() => {
        const e = model.embed.forward(antler.tensor([id], [1], { dtype: 'int32', device }));
        const s = model.rnn.step(e, c);
        // Temperature 0.8: one class drawn from softmax(logits / 0.8), repeatable from --seed.
        const probs = antler.softmax(antler.div(model.head.forward(s.h), 0.8), -1);
        return { next: antler.multinomial(probs, 1, { seed: Math.floor(random() * 2 ** 31) }), c: s.c };
      }),
    );
    c?.dispose();
    c = r.c;
    next = r.next.item();
    r.next.dispose();
  };
  for (const ch of prompt) feed(index.get(ch) ?? 0);
  for (let i = 0; i < sampleLength; i++) {
    out += vocab[next];
    feed(next);
  }
  console.log(`\nsample (temperature 0.8, streamed with SRU.step):\n${out}`);
}
