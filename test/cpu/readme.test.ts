/**
 * The README's TypeScript snippets, as a reader copies them: each ```ts block,
 * with a preamble that makes its free variables (x, labels, a model, …) and an
 * epilogue that checks what its comments say (shapes, returned fields, the
 * error without a GPU), type-checks against dist/ (the built library, as the
 * examples do) and runs against lib/ (test/examples-register.js sends the
 * block's import of dist/ there), in a child process in a temporary folder.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSeed } from '../helpers';

const root = path.join(__dirname, '..', '..');

interface Fixture {
  /** A line the block contains (names it here and in failures). */
  marker: string;
  /** Statements before the block: its free variables. */
  pre: string;
  /** Statements after it: what its comments promise, with node:assert. */
  post: string;
  /** Text replaced in the block before it runs ([from, to]); only where the machine decides (a GPU). */
  replace?: [string, string][];
}

// Per the run's seed, so the data differ from run to run (ANTLER_TEST_SEED replays one).
const seed = 1 + (runSeed() % 100_000);

const fixtures: Fixture[] = [
  {
    marker: 'const a = antler.tensor([[1, 2], [3, 4]]);',
    // The block allocates on 'cuda'; without a GPU it runs on the CPU and the epilogue checks the promised error.
    replace: [["{ device: 'cuda' }", '{ device: DEVICE }']],
    pre: `const gpu = antler.backends().cuda.available;
const DEVICE = gpu ? 'cuda' : 'cpu';`,
    post: `assert.deepEqual(c.shape, [2, 2]);
assert.equal(c.dtype, 'float32');
assert.equal(c.device, 'cpu');
const bv = b.dataSync();
const again = antler.randn([2, 2], { seed: 7 });
assert.deepEqual(Array.from(again.dataSync()), Array.from(bv));
const A = [[1, 2], [3, 4]];
const got = c.arraySync() as number[][];
for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
  const want = A[i][0] * bv[j] + A[i][1] * bv[2 + j] + 1;
  assert.ok(Math.abs(got[i][j] - want) <= 1e-5 * (1 + Math.abs(want)), \`c[\${i}][\${j}] = \${got[i][j]}, want \${want}\`);
}
assert.equal(values.length, 1024 * 1024);
assert.ok(values.every((v: number) => v === 0));
assert.deepEqual(Array.from(antler.tidy(() => antler.tensor([[1, 2], [3, 4]]).mul(1)).dataSync()), [1, 2, 3, 4]);
assert.equal(y.isDisposed, true);
const m = antler.memory();
for (const k of ['numTensors', 'numDataBuffers', 'numBytes'] as const) assert.equal(typeof m[k], 'number');
assert.equal(typeof m.devices.cpu.peakBytes, 'number');
assert.equal(typeof m.devices.cpu.cachedBytes, 'number');
if (!gpu) assert.throws(() => antler.zeros([2], { device: 'cuda' }), (e: any) => e instanceof antler.AntlerError && e.code === 'CUDA_UNAVAILABLE' && e.message.length > 20);`,
  },
  {
    marker: 'const model = new nn.Sequential(new nn.Linear(2, 64), new nn.GELU(), new nn.Linear(64, 3));',
    // Three classes by the signs of a point's coordinates: (x0 > 0) + (x1 > 0).
    pre: `const points = (n: number, s: number) => {
  const x = antler.randn([n, 2], { seed: s });
  const v = x.dataSync();
  const labels = antler.tensor(Array.from({ length: n }, (_, i) => Number(v[2 * i] > 0) + Number(v[2 * i + 1] > 0)), undefined, { dtype: 'int32' });
  return { x, labels };
};
const { x, labels } = points(96, ${seed});
const { x: xVal, labels: yVal } = points(48, ${seed + 1});`,
    post: `assert.deepEqual(history.epoch.length, 20);
for (const k of ['loss', 'acc', 'valLoss', 'valAcc'] as const) {
  const h = history.history[k]!;
  assert.equal(h.length, 20, k);
  assert.ok(h.every(Number.isFinite), k);
}
// 1000 AdamW steps and 20 epochs on separable data: far below the untrained log 3 ≈ 1.10.
assert.ok(history.history.loss[19] < 0.5, 'training loss ' + history.history.loss[19]);
const back = antler.load('model.safetensors');
assert.deepEqual(Object.keys(back).sort(), Object.keys(model.stateDict()).sort());
for (const [k, t] of Object.entries(model.stateDict())) assert.deepEqual(Array.from(back[k].dataSync()), Array.from(t.dataSync()), k);`,
  },
  {
    marker: 'const loader = new antler.data.DataLoader(new antler.data.TensorDataset(x, y), { batchSize: 32, shuffle: true });',
    // Two classes by the sign of x0 + x1: a linear model learns them from the loader's batches.
    pre: `const { nn, optim } = antler;
const x = antler.randn([256, 2], { seed: ${seed} });
const v = x.dataSync();
const y = antler.tensor(Array.from({ length: 256 }, (_, i) => Number(v[2 * i] + v[2 * i + 1] > 0)), undefined, { dtype: 'int32' });
const model = new nn.Linear(2, 2);
const opt = new optim.Adam(model.parameters(), { lr: 0.05 });
const lossOf = () => antler.tidy(() => antler.crossEntropy(model.forward(x), y).item());
const before = lossOf();
const alive = antler.memory().numTensors;`,
    post: `const after = lossOf();
assert.equal(loader.length, 8);
// 80 Adam steps on separable data: far below both the start and the untrained log 2 ≈ 0.69.
assert.ok(after < 0.3 && after < before, \`loss \${before} → \${after}\`);
// Nothing but the optimizer's state stays (80 batches of 2 tensors each were disposed).
assert.ok(antler.memory().numTensors <= alive + 8, \`tensors \${alive} → \${antler.memory().numTensors}\`);`,
  },
  {
    marker: "const train = new antler.data.DataLoader(new antler.data.TensorDataset(x, y), { batchSize: 32, shuffle: true, seed: 1 });",
    // Two classes by the sign of x0 − x1: 10 epochs of 8 shuffled batches from the loader, validated on a loader.
    pre: `const { nn, optim } = antler;
const sample = (n: number, s: number) => {
  const x = antler.randn([n, 2], { seed: s });
  const v = x.dataSync();
  return { x, y: antler.tensor(Array.from({ length: n }, (_, i) => Number(v[2 * i] - v[2 * i + 1] > 0)), undefined, { dtype: 'int32' }) };
};
const { x, y } = sample(256, ${seed});
const { x: xVal, y: yVal } = sample(128, ${seed + 1});
const model = new nn.Linear(2, 2);
const opt = new optim.Adam(model.parameters(), { lr: 0.05 });
const alive = antler.memory().numTensors;`,
    post: `assert.deepEqual(history.epoch, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
const h = history.history;
assert.equal(h.valLoss!.length, 10);
// 80 Adam steps on separable data: well below the untrained log 2 ≈ 0.69 (worst 0.167 over 150 seeds), and evaluate() scores what the last validation did.
assert.ok(h.loss[9] < 0.3 && h.loss[9] < h.loss[0], \`loss \${h.loss[0]} → \${h.loss[9]}\`);
assert.equal(scores.loss, h.valLoss![9]);
assert.ok(scores.acc! > 0.85, 'accuracy ' + scores.acc); // worst 0.93 over 150 seeds
// The loaders' batches were freed after each step: only the optimizer's state and the gradients stay.
assert.ok(antler.memory().numTensors <= alive + 8, \`tensors \${alive} → \${antler.memory().numTensors}\`);`,
  },
  {
    marker: "const opt = new optim.LBFGS(model.parameters(), { lineSearchFn: 'strong_wolfe' });",
    pre: `const { nn, optim } = antler;
const model = new nn.Sequential(new nn.Linear(2, 64), new nn.GELU(), new nn.Linear(64, 3));
const x = antler.randn([32, 2], { seed: ${seed} });
const y = antler.randn([32, 3], { seed: ${seed + 1} });
const before = antler.mseLoss(model.forward(x), y).item();`,
    post: `const after = antler.mseLoss(model.forward(x), y).item();
assert.ok(Number.isFinite(after) && after < before, \`L-BFGS: loss \${before} → \${after}\`);`,
  },
  {
    marker: 'const sru = new antler.nn.SRU(64, 128, { numLayers: 2, bidirectional: true, dropout: 0.1 });',
    pre: `const L = 9;
const x = antler.randn([L, 2, 64], { seed: ${seed} });`,
    post: `assert.deepEqual(output.shape, [L, 2, 256]);
assert.deepEqual(c.shape, [2, 2, 256]);
// The shorter sequence's state at its last real step is that of the sequence cut there (dropout off in eval mode).
sru.eval();
antler.noGrad(() => {
  const whole = sru.forward(x, { lengths: [L, L - 3] }).c;
  const cut = sru.forward(x.slice([0, 1, 0], [L - 3, 1, 64])).c;
  const a = whole.slice([0, 1, 0], [2, 1, 256]).dataSync();
  const b = cut.dataSync();
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * (1 + Math.abs(b[i])), \`c at \${i}: \${a[i]} vs \${b[i]}\`);
  cell.eval();
  const s1 = cell.step(x.slice([0, 0, 0], [1, 2, 64]).reshape([2, 64]));
  const s2 = cell.step(x.slice([1, 0, 0], [1, 2, 64]).reshape([2, 64]), s1.c);
  const two = cell.forward(x.slice([0, 0, 0], [2, 2, 64]));
  const h2 = two.output.slice([1, 0, 0], [1, 2, 128]).dataSync();
  const hs = s2.h.dataSync();
  for (let i = 0; i < hs.length; i++) assert.ok(Math.abs(h2[i] - hs[i]) <= 1e-5 * (1 + Math.abs(hs[i])), \`step h at \${i}\`);
});`,
  },
  {
    marker: "const gru = new antler.nn.GRU(16, 32, { numLayers: 2, bidirectional: true, mode: 'deer' });",
    pre: `const T = 7, B = 4, S = 5;
const x = antler.randn([T, B, 16], { seed: ${seed} });
const h0 = antler.randn([4, B, 32], { seed: ${seed + 1} });
const xt = antler.randn([B, 16], { seed: ${seed + 2} });
const xt2 = antler.randn([B, 16], { seed: ${seed + 3} });
const query = antler.randn([1, B, 32], { seed: ${seed + 4} });
const memory = antler.randn([S, B, 32], { seed: ${seed + 5} });
// Row b pads its last b positions.
const keyPaddingMask = antler.tensor(Array.from({ length: B }, (_, b) => Array.from({ length: S }, (_, s) => Number(s >= S - b))), undefined, { dtype: 'int32' });`,
    post: `assert.deepEqual(output.shape, [T, B, 64]);
assert.deepEqual(hidden.shape, [4, B, 32]);
assert.equal(stats.length, 4);
for (const s of stats) {
  assert.equal(typeof s.iterations, 'number');
  assert.equal(s.converged.length, B);
  assert.equal(s.residual.length, B);
}
assert.deepEqual(padded.output.shape, [T, B, 64]);
assert.ok(packed instanceof antler.PackedSequence && packedOut instanceof antler.PackedSequence);
assert.deepEqual(unpacked.output.shape, [T, B, 64]);
assert.deepEqual(Array.from(unpacked.lengths.dataSync()), [7, 3, 5, 1]);
{
  const a = unpacked.output.dataSync(), p = padded.output.dataSync();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - p[i]) <= 1e-4, 'packed and padded outputs agree at ' + i);
}
assert.deepEqual(h.shape, [B, 32]);
assert.deepEqual(c.shape, [B, 32]);
const l = lstm.forward(x);
assert.deepEqual(l.output.shape, [T, B, 32]);
assert.deepEqual(l.cell.shape, [1, B, 32]);
assert.deepEqual(rnn.forward(x).output.shape, [T, B, 32]);
assert.deepEqual(context.shape, [1, B, 32]);
assert.deepEqual(weights!.shape, [B, 1, S]);
// No weight on a padded key, and each row's weights sum to 1.
const w = weights!.dataSync();
for (let b = 0; b < B; b++) {
  let sum = 0;
  for (let s = 0; s < S; s++) { sum += w[b * S + s]; if (s >= S - b) assert.equal(w[b * S + s], 0); }
  assert.ok(Math.abs(sum - 1) < 1e-5, 'row ' + b + ' sums to ' + sum);
}`,
  },
  {
    marker: 'const melSpec = new antler.nn.MelSpectrogram({ sampleRate: 16000, nFft: 400, hopLength: 160, nMels: 80 });',
    pre: '',
    post: `assert.deepEqual(feats.shape, [2, 80, 101]);
assert.deepEqual(output.shape, [2, 101, 256]);
assert.deepEqual(spec.shape, [2, 257, 126, 2]);
assert.deepEqual(back.shape, [2, 16000]);
{
  const a = back.dataSync(), w = waveform.dataSync();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - w[i]) <= 1e-4 * (1 + Math.abs(w[i])), 'istft(stft(x)) at ' + i + ': ' + a[i] + ' vs ' + w[i]);
}
assert.deepEqual(mfcc.shape, [2, 13, 101]);
assert.deepEqual(frames.shape, [2, 98, 400]);
assert.deepEqual(Array.from(frames.slice([1, 3, 0], [1, 1, 400]).dataSync()), Array.from(waveform.slice([1, 480], [1, 400]).dataSync()));`,
  },
  {
    marker: 'class Field extends antler.nn.Module {',
    pre: `const B = 3;
const y0 = antler.randn([B, 2], { seed: ${seed} });
const grid = [0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1];
const target = antler.randn([grid.length, B, 2], { seed: ${seed + 1} });`,
    post: `assert.deepEqual(y.shape, [grid.length, B, 2]);
assert.deepEqual(Array.from(y.slice([0, 0, 0], [1, B, 2]).dataSync()), Array.from(y0.dataSync()));
assert.equal(stats.fallback, false);
const params = ode.parameters();
assert.equal(params.length, 4);
for (const p of params) assert.ok(p.grad && p.grad.dataSync().some((v: number) => v !== 0), 'a parameter without a gradient');`,
  },
];

/** The README's ```ts blocks, with the line each starts on. */
function blocks(): { line: number; text: string }[] {
  const lines = fs.readFileSync(path.join(root, 'README.md'), 'utf8').split('\n');
  const out: { line: number; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```ts') continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && lines[j].trim() !== '```') j++;
    out.push({ line: start + 1, text: lines.slice(start, j).join('\n') });
    i = j;
  }
  return out;
}

/** Each block paired with its fixture (every block must have exactly one). */
function paired(): { line: number; text: string; fixture: Fixture }[] {
  return blocks().map((b) => {
    const mine = fixtures.filter((f) => b.text.includes(f.marker));
    if (mine.length !== 1) throw new Error(`README.md line ${b.line}: ${mine.length} fixtures in test/cpu/readme.test.ts match this block (want 1); add one for a new block`);
    return { ...b, fixture: mine[0] };
  });
}

/** The program a block becomes: its import of 'antler' pointed at dist/ (lib/ when run), inside an async main(). */
function program(text: string, f: Fixture, dir: string): string {
  let body = text;
  for (const [from, to] of f.replace ?? []) {
    if (!body.includes(from)) throw new Error(`the block has no ${JSON.stringify(from)} to replace`);
    body = body.split(from).join(to);
  }
  const dist = path.relative(dir, path.join(root, 'dist', 'index')).split(path.sep).join('/');
  body = body.replace(/^import \* as antler from 'antler';\n?/m, '');
  return [
    `import * as antler from '${dist.startsWith('.') ? dist : './' + dist}';`,
    `import * as assert from 'node:assert/strict';`,
    `export async function main(): Promise<void> {`,
    f.pre,
    body,
    f.post,
    `}`,
    '',
  ].join('\n');
}

describe(`README snippets (seed ${seed})`, () => {
  let dir = '';
  let files: { line: number; file: string }[] = [];
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'antler-readme-'));
    files = paired().map((b) => {
      const file = path.join(dir, `block-line-${b.line}.ts`);
      fs.writeFileSync(file, program(b.text, b.fixture, dir));
      return { line: b.line, file };
    });
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every block has one fixture and every fixture one block', () => {
    const bs = blocks();
    expect(bs.length).toBe(fixtures.length);
    for (const f of fixtures) expect(bs.filter((b) => b.text.includes(f.marker))).toHaveLength(1);
  });

  test('they type-check against the library', () => {
    if (!fs.existsSync(path.join(root, 'dist', 'index.d.ts'))) {
      console.log('README snippets: dist/ is not built; the type check is skipped (npm run build:ts)');
      return;
    }
    const config = {
      compilerOptions: {
        target: 'ES2022', module: 'commonjs', lib: ['ES2022', 'esnext.disposable'], strict: true, esModuleInterop: true, skipLibCheck: true,
        noEmit: true, types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')],
      },
      files: files.map((f) => f.file),
    };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8', timeout: 240_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 240_000);

  test('they run, and do what their comments say', () => {
    // One process runs every block in turn (in the temporary folder: the training block writes model.safetensors).
    const runner = path.join(dir, 'run.js');
    fs.writeFileSync(
      runner,
      `require(${JSON.stringify(path.join(root, 'test', 'examples-register.js'))});
(async () => {
  for (const [line, file] of ${JSON.stringify(files.map((f) => [f.line, f.file]))}) {
    try { await require(file).main(); }
    catch (e) { console.error('README.md block at line ' + line + ': ' + (e && e.stack || e)); process.exit(1); }
    console.log('README-BLOCK-DONE ' + line);
  }
})();
`,
    );
    const r = spawnSync(process.execPath, [runner], { cwd: dir, encoding: 'utf8', env: { ...process.env, ANTLER_DEBUG: '' }, timeout: 240_000 });
    if (r.status !== 0) console.log(r.stdout.slice(-4000));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('README-BLOCK-DONE')).map((l) => Number(l.split(' ')[1]))).toEqual(files.map((f) => f.line));
  }, 240_000);
});
