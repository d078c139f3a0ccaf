/**
 * `npm run demo`: trains a small classifier end to end. Three interleaved
 * spirals (not linearly separable), an MLP trained with AdamW by fit() with a
 * progress bar, validation accuracy, then a checkpoint saved as safetensors,
 * loaded into a fresh model and checked to give the same predictions.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backends, cpuLoopsLabel } from './device';
import { tidy } from './engine';
import { load, save } from './io';
import { memory } from './memory';
import { GELU, Linear, Sequential } from './nn/layers';
import { AdamW, CosineAnnealingLR } from './optim';
import { mulberry32, setSeed } from './random';
import { Tensor, tensor } from './tensor';
import { evaluate, fit } from './train/fit';

/** n points per class on `classes` noisy spiral arms, seeded. */
function spirals(nPerClass: number, classes: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rnd = mulberry32(seed);
  const x = new Float32Array(nPerClass * classes * 2);
  const y = new Int32Array(nPerClass * classes);
  for (let c = 0; c < classes; c++)
    for (let i = 0; i < nPerClass; i++) {
      const r = i / nPerClass;
      const theta = (c * 2 * Math.PI) / classes + r * 4 + (rnd() - 0.5) * 0.3;
      const k = c * nPerClass + i;
      x[2 * k] = r * Math.cos(theta);
      x[2 * k + 1] = r * Math.sin(theta);
      y[k] = c;
    }
  // Shuffle so the train/validation split sees every class.
  for (let i = y.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [y[i], y[j]] = [y[j], y[i]];
    [x[2 * i], x[2 * j]] = [x[2 * j], x[2 * i]];
    [x[2 * i + 1], x[2 * j + 1]] = [x[2 * j + 1], x[2 * i + 1]];
  }
  return { x, y };
}

function mlp(device: string): Sequential {
  return new Sequential(new Linear(2, 64, { device }), new GELU(), new Linear(64, 64, { device }), new GELU(), new Linear(64, 3, { device }));
}

export async function runDemo(opts: { device: string; steps: number; epochs?: number }): Promise<void> {
  const b = backends();
  const device = opts.device === 'auto' ? (b.cuda.available ? 'cuda:0' : 'cpu') : opts.device;
  console.log(`antler demo: an MLP learns three spirals, on ${device}`);
  console.log(`  CPU: ${b.cpu.threads} threads, ${cpuLoopsLabel(b.cpu.isa)} loops, ${b.cpu.blas}`);
  console.log(`  CUDA: ${b.cuda.available ? b.cuda.devices.map((d) => d.name).join(', ') : `unavailable (${b.cuda.reason})`}\n`);

  setSeed(7);
  const perClass = 400, classes = 3;
  const { x, y } = spirals(perClass, classes, 11);
  const nTrain = Math.floor(0.8 * y.length);
  const xs = tensor(x, [y.length, 2], { device });
  const ys = tensor(y, [y.length], { device });
  const train = { x: xs.slice([0, 0], [nTrain, 2]), y: ys.slice([0], [nTrain]) };
  const valid = { x: xs.slice([nTrain, 0], [-1, 2]), y: ys.slice([nTrain], [-1]) };
  xs.dispose();
  ys.dispose();

  const model = mlp(device);
  const epochs = opts.epochs ?? 40;
  const optimizer = new AdamW(model.parameters(), { lr: 0.01, weightDecay: 1e-4 });
  const schedule = new CosineAnnealingLR(optimizer, epochs);
  console.log(`${model.numParameters()} parameters; ${nTrain} training and ${y.length - nTrain} validation points; ${epochs} epochs`);
  const before = memory().numTensors;
  const history = await fit(model, {
    data: train,
    loss: 'crossEntropy',
    optimizer,
    epochs,
    batchSize: 64,
    validation: valid,
    metrics: ['accuracy'],
    seed: 3,
    verbose: process.stdout.isTTY ? 1 : 0,
    callbacks: {
      onEpochEnd: (epoch, logs) => {
        schedule.step();
        if (!process.stdout.isTTY && (epoch % 10 === 9 || epoch === 0))
          console.log(`  epoch ${String(epoch + 1).padStart(3)}  loss ${logs.loss.toFixed(4)}  val loss ${logs.valLoss!.toFixed(4)}  val acc ${(100 * logs.valAcc!).toFixed(1)}%`);
      },
    },
  });
  const final = evaluate(model, valid, 'crossEntropy', { metrics: ['accuracy'] });
  console.log(`\nvalidation accuracy ${(100 * final.acc!).toFixed(1)}%, loss ${final.loss.toFixed(4)} (first epoch loss ${history.history.loss[0].toFixed(4)})`);
  optimizer.zeroGrad();
  const state = [...optimizer.state.values()].reduce((a, st) => a + Object.values(st).filter((v) => v instanceof Tensor).length, 0);
  console.log(`tensors alive before training: ${before}; after: ${memory().numTensors} = ${before} + ${state} optimizer state (nothing leaked)`);

  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'antler-demo-')), 'spirals.safetensors');
  tidy(() => save(file, model.stateDict(), { model: 'spirals-mlp' }));
  const restored = mlp(device);
  const weights = load(file, { device });
  restored.loadStateDict(weights);
  for (const t of Object.values(weights)) t.dispose();
  const same = tidy(() => {
    const a = model.forward(valid.x) as Tensor;
    const c = restored.forward(valid.x) as Tensor;
    return a.sub(c).abs().max().item();
  });
  console.log(`checkpoint ${file} (${fs.statSync(file).size} bytes) reloaded: max |Δ prediction| = ${same}`);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  for (const t of [train.x, train.y, valid.x, valid.y]) t.dispose();
  model.dispose();
  restored.dispose();
  optimizer.dispose();
}
