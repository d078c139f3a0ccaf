/**
 * fit(): the training loop, with TensorFlow.js's callback names and History,
 * PyTorch's step order (zeroGrad, forward, backward, step), a progress bar on
 * a TTY (cli-progress) and plain lines elsewhere.
 */
import { SingleBar, Presets } from 'cli-progress';
import { noGrad } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { mulberry32 } from '../random';
import type { Module } from '../nn/module';
import { crossEntropy, mseLoss } from '../ops/nn';
import type { Optimizer } from '../optim';
import { checkTensor, Tensor, tensor } from '../tensor';
import { checkInteger, checkOptions, describe } from '../validate';

export type Logs = Record<string, number>;

export interface Callbacks {
  onTrainBegin?: (logs?: Logs) => void | Promise<void>;
  onTrainEnd?: (logs?: Logs) => void | Promise<void>;
  onEpochBegin?: (epoch: number, logs?: Logs) => void | Promise<void>;
  onEpochEnd?: (epoch: number, logs: Logs) => void | Promise<void>;
  onBatchBegin?: (batch: number, logs?: Logs) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs: Logs) => void | Promise<void>;
}

export type LossFn = (pred: Tensor, target: Tensor) => Tensor;

export interface FitOptions {
  /** Inputs and targets: whole-dataset tensors, batched along axis 0. */
  data: { x: Tensor; y: Tensor };
  loss: LossFn | 'crossEntropy' | 'mse';
  optimizer: Optimizer<{ lr: number }>;
  epochs?: number;
  batchSize?: number;
  shuffle?: boolean;
  /** Seed for the shuffling order (repeatable runs). */
  seed?: number;
  validation?: { x: Tensor; y: Tensor };
  /** Extra metrics; 'accuracy' compares argmax of predictions with int32 labels. */
  metrics?: 'accuracy'[];
  callbacks?: Callbacks | Callbacks[];
  /** 0: silent; 1: progress bar on a TTY, one line per epoch otherwise. */
  verbose?: 0 | 1;
}

export interface History {
  epoch: number[];
  history: Record<string, number[]>;
}

function lossOf(spec: FitOptions['loss']): LossFn {
  if (spec === 'crossEntropy') return (p, t) => crossEntropy(p, t);
  if (spec === 'mse') return (p, t) => mseLoss(p, t);
  if (typeof spec === 'function') return spec;
  fail('INVALID_ARGUMENT', `fit: loss must be a function, 'crossEntropy' or 'mse'; got ${describe(spec)}`);
}

/** Rows `idx` of x (any rank) as a new tensor, through the embedding gather. */
function takeRows(x: Tensor, idx: Tensor): Tensor {
  return tidy(() => {
    const rest = x.shape.slice(1);
    const flat = x.reshape([x.shape[0], rest.reduce((a, b) => a * b, 1)]);
    const table = x.dtype === 'int32' ? flat.cast('float64') : flat;
    const rows = new Tensor(native().gatherRows(table.handle, idx.handle));
    const back = x.dtype === 'int32' ? rows.cast('int32') : rows;
    return back.reshape([idx.size, ...rest]);
  });
}

/** Fraction of rows whose first maximal logit is at the label (one host readback). */
function accuracyOf(pred: Tensor, labels: Tensor): number {
  const values = pred.dataSync();
  const lab = labels.dataSync();
  const C = pred.shape[pred.rank - 1];
  let correct = 0;
  for (let i = 0; i < lab.length; i++) {
    let arg = 0;
    for (let c = 1; c < C; c++) if (values[i * C + c] > values[i * C + arg]) arg = c;
    if (arg === lab[i]) correct++;
  }
  return correct / Math.max(1, lab.length);
}


/** Evaluates mean loss (and accuracy) over a dataset without gradients. */
export function evaluate(model: Module, data: { x: Tensor; y: Tensor }, loss: FitOptions['loss'], options?: { batchSize?: number; metrics?: 'accuracy'[] }): Logs {
  const fn = lossOf(loss);
  const n = data.x.shape[0];
  const bs = options?.batchSize ?? 256;
  const wasTraining = model.training;
  model.eval();
  let total = 0, correct = 0;
  try {
    noGrad(() => {
      for (let start = 0; start < n; start += bs) {
        const size = Math.min(bs, n - start);
        tidy(() => {
          const xb = data.x.slice([start], [size]);
          const yb = data.y.slice([start], [size]);
          const pred = model.forward(xb) as Tensor;
          total += fn(pred, yb).item() * size;
          if (options?.metrics?.includes('accuracy')) correct += accuracyOf(pred, yb) * size;
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const logs: Logs = { loss: total / Math.max(1, n) };
  if (options?.metrics?.includes('accuracy')) logs.acc = correct / Math.max(1, n);
  return logs;
}

/** Trains `model` and returns the History (loss per epoch, plus validation and metrics). */
export async function fit(model: Module, options: FitOptions): Promise<History> {
  const o = checkOptions<FitOptions>(options, 'fit', [
    'data', 'loss', 'optimizer', 'epochs', 'batchSize', 'shuffle', 'seed', 'validation', 'metrics', 'callbacks', 'verbose',
  ]) as FitOptions;
  if (!o.data) fail('INVALID_ARGUMENT', 'fit: data {x, y} is required');
  const x = checkTensor(o.data.x, 'fit', 'data.x');
  const y = checkTensor(o.data.y, 'fit', 'data.y');
  if (x.rank === 0 || y.rank === 0 || x.shape[0] !== y.shape[0])
    fail('SHAPE_MISMATCH', `fit: data.x [${x.shape.join(', ')}] and data.y [${y.shape.join(', ')}] must have the same first dim`);
  if (!o.optimizer) fail('INVALID_ARGUMENT', 'fit: an optimizer is required');
  const lossFn = lossOf(o.loss);
  const epochs = checkInteger(o.epochs ?? 1, 'fit', 'epochs', 1);
  const n = x.shape[0];
  const batchSize = Math.min(checkInteger(o.batchSize ?? 32, 'fit', 'batchSize', 1), Math.max(1, n));
  const batches = Math.ceil(n / batchSize);
  const callbacks = Array.isArray(o.callbacks) ? o.callbacks : o.callbacks ? [o.callbacks] : [];
  const verbose = o.verbose ?? 1;
  const tty = Boolean(process.stdout.isTTY) && verbose === 1;
  const rng = mulberry32(o.seed ?? 0x5eed);
  const history: History = { epoch: [], history: {} };
  const call = async (name: keyof Callbacks, ...args: unknown[]) => {
    for (const cb of callbacks) await (cb[name] as ((...a: unknown[]) => unknown) | undefined)?.(...args);
  };

  model.train();
  await call('onTrainBegin');
  for (let epoch = 0; epoch < epochs; epoch++) {
    await call('onEpochBegin', epoch);
    const order = Array.from({ length: n }, (_, i) => i);
    if (o.shuffle !== false)
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    const bar = tty ? new SingleBar({ format: `epoch ${epoch + 1}/${epochs} [{bar}] {value}/{total} | loss {loss} | {rate} steps/s`, hideCursor: true }, Presets.shades_classic) : null;
    bar?.start(batches, 0, { loss: '-', rate: '-' });
    const t0 = performance.now();
    let lossSum = 0, seen = 0;
    for (let b = 0; b < batches; b++) {
      await call('onBatchBegin', b);
      const start = b * batchSize;
      const size = Math.min(batchSize, n - start);
      const lossValue = tidy(() => {
        const idx = tensor(Int32Array.from(order.slice(start, start + size)), [size], { device: x.device });
        const xb = takeRows(x, idx);
        const yb = takeRows(y, idx.device === y.device ? idx : idx.to(y.device));
        o.optimizer.zeroGrad();
        const pred = model.forward(xb) as Tensor;
        const l = lossFn(pred, yb);
        if (l.size !== 1) fail('SHAPE_MISMATCH', `fit: the loss must be a scalar; got shape [${l.shape.join(', ')}]`);
        l.backward();
        return l.item();
      });
      o.optimizer.step();
      lossSum += lossValue * size;
      seen += size;
      const rate = ((b + 1) * 1000) / (performance.now() - t0);
      bar?.update(b + 1, { loss: lossValue.toFixed(4), rate: rate.toFixed(1) });
      await call('onBatchEnd', b, { loss: lossValue, size });
      // Let timers (the progress bar) and finalizers run during long epochs.
      if (b % 32 === 31) await new Promise((resolve) => setImmediate(resolve));
    }
    bar?.stop();
    const logs: Logs = { loss: lossSum / seen };
    if (o.metrics?.includes('accuracy')) logs.acc = evaluate(model, { x, y }, o.loss, { metrics: ['accuracy'] }).acc;
    if (o.validation) {
      const v = evaluate(model, o.validation, o.loss, { metrics: o.metrics });
      logs.valLoss = v.loss;
      if (v.acc !== undefined) logs.valAcc = v.acc;
    }
    history.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (history.history[k] ??= []).push(v);
    if (verbose === 1) {
      const secs = (performance.now() - t0) / 1000;
      console.log(`epoch ${epoch + 1}/${epochs}: ${Object.entries(logs).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')} (${secs.toFixed(2)} s, ${(batches / secs).toFixed(1)} steps/s)`);
    }
    await call('onEpochEnd', epoch, logs);
  }
  await call('onTrainEnd');
  return history;
}


