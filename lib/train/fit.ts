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
import { mulberry32, nextDraw } from '../random';
import { Module } from '../nn/module';
import { GRU, LSTM, RNN } from '../nn/rnn';
import { SRU, SRUCell } from '../sru/module';
import type { PackedSequence } from '../ops/packed';
import { crossEntropy, mseLoss } from '../ops/nn';
import { equal, sum } from '../ops/core';
import { argmax } from '../ops/indexing';
import { checkTensor, Tensor, tensor } from '../tensor';
import { checkBoolean, checkInteger, checkOptions, describe, numel } from '../validate';

/** An epoch's logs (and evaluate()'s result): acc with the 'accuracy' metric, val* with validation data. */
export interface Logs {
  loss: number;
  acc?: number;
  valLoss?: number;
  valAcc?: number;
}

/** A batch's logs: its loss, its accuracy before the step (with the 'accuracy' metric), its rows. */
export interface BatchLogs {
  loss: number;
  acc?: number;
  size: number;
}

export interface Callbacks {
  onTrainBegin?: (logs?: Logs) => void | Promise<void>;
  onTrainEnd?: (logs?: Logs) => void | Promise<void>;
  onEpochBegin?: (epoch: number, logs?: Logs) => void | Promise<void>;
  onEpochEnd?: (epoch: number, logs: Logs) => void | Promise<void>;
  onBatchBegin?: (batch: number, logs?: BatchLogs) => void | Promise<void>;
  onBatchEnd?: (batch: number, logs: BatchLogs) => void | Promise<void>;
}

/**
 * What a module's forward returns for a Tensor x: a loss function of
 * fit()/evaluate() is typed by it (a GRU's RNNOutput, a Linear's Tensor).
 * The recurrent layers' forward is generic over a Tensor or a PackedSequence
 * input, so ReturnType gives both outputs: fit feeds Tensors, so the packed
 * ones (output a PackedSequence) are left out.
 */
export type ForwardOutput<M extends Module> = Exclude<ReturnType<M['forward']>, { output: PackedSequence }>;

/** A loss of your own: it gets whatever model.forward returns (P: a Tensor, or a recurrent module's output object). */
export type LossFn<P = Tensor> = (pred: P, target: Tensor) => Tensor;

/**
 * What fit() needs of an optimizer: zeroGrad() and step() (step(closure)
 * when requiresClosure is true, as for L-BFGS and AdaHessian). Every antler
 * optimizer is one.
 */
export interface FitOptimizer {
  zeroGrad(): void;
  step(closure?: () => number): unknown;
  readonly requiresClosure?: boolean;
}

export interface FitOptions<P = Tensor> {
  /** Inputs and targets: whole-dataset tensors, batched along axis 0. */
  data: { x: Tensor; y: Tensor };
  loss: LossFn<P> | Module | 'crossEntropy' | 'mse';
  optimizer: FitOptimizer;
  /** The epoch to end before (epochs − initialEpoch epochs run). */
  epochs?: number;
  /**
   * The epoch to start from (Keras's initialEpoch), to resume an earlier run:
   * callbacks and the history count from it. Default 0.
   */
  initialEpoch?: number;
  batchSize?: number;
  shuffle?: boolean;
  /**
   * Seed for the shuffling order. Without one, each fit() draws its order from
   * the global generator (PyTorch's DataLoader), repeatable after setSeed().
   * Each epoch's order depends on the seed and the epoch's number only, so a
   * run resumed with initialEpoch and the same seed sees the same orders.
   */
  seed?: number;
  validation?: { x: Tensor; y: Tensor };
  /**
   * Extra metrics; 'accuracy' compares argmax of predictions with int32
   * labels. As Keras's, the training acc is the running accuracy of each
   * batch's predictions before its step (in training mode, dropout and all),
   * in the batch logs and averaged over the epoch; valAcc is measured after
   * the epoch in eval mode.
   */
  metrics?: readonly 'accuracy'[];
  callbacks?: Callbacks | Callbacks[];
  /** 0: silent; 1: progress bar on a TTY, one line per epoch otherwise. */
  verbose?: 0 | 1;
}

export interface History {
  epoch: number[];
  /** Per epoch, each key of Logs that was logged. */
  history: { loss: number[]; acc?: number[]; valLoss?: number[]; valAcc?: number[] };
}

function lossOf(spec: FitOptions<unknown>['loss'], op: 'fit' | 'evaluate'): LossFn<unknown> {
  if (spec === 'crossEntropy') return (p, t) => crossEntropy(p as Tensor, t);
  if (spec === 'mse') return (p, t) => mseLoss(p as Tensor, t);
  if (typeof spec === 'function') return spec;
  // A loss module (nn.CrossEntropyLoss, …): its forward(prediction, target).
  if (spec instanceof Module) {
    const m = spec as Module & { forward(a: unknown, b: Tensor): Tensor };
    return (p, t) => m.forward(p, t) as Tensor;
  }
  fail('INVALID_ARGUMENT', `${op}: loss must be a function, a loss module (nn.CrossEntropyLoss, …), 'crossEntropy' or 'mse'; got ${describe(spec)}`);
}

/** The metrics fit() and evaluate() compute ('accuracy' is logged as acc and valAcc). */
const METRICS = ['accuracy'] as const;

function checkMetrics(v: unknown, op: string): readonly 'accuracy'[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail('INVALID_ARGUMENT', `${op}: metrics must be an array such as ['accuracy']; got ${describe(v)}`);
  v.forEach((m, i) => {
    if (!(METRICS as readonly unknown[]).includes(m))
      fail('INVALID_ARGUMENT', `${op}: unknown metric ${describe(m)} at metrics[${i}]; expected one of ${METRICS.map((k) => `'${k}'`).join(', ')} (logged as acc and valAcc)`);
  });
  return v as readonly 'accuracy'[];
}

/**
 * fit() calls only zeroGrad() and step() (step(closure) when the optimizer's
 * requiresClosure is true), so any object with both will do; the usual one is
 * an Optimizer.
 */
function checkOptimizer(v: unknown): FitOptimizer {
  const o = v as { zeroGrad?: unknown; step?: unknown } | null | undefined;
  if (!o || typeof o !== 'object' || typeof o.zeroGrad !== 'function' || typeof o.step !== 'function')
    fail('INVALID_ARGUMENT', `fit: optimizer must be an Optimizer instance such as new optim.Adam(model.parameters()); got ${describe(v)}`);
  return v as FitOptimizer;
}

function checkModel(model: unknown, op: string): Module {
  if (!(model instanceof Module)) fail('INVALID_ARGUMENT', `${op}: model must be an nn.Module (its forward(x) is called on each batch); got ${describe(model)}`);
  return model;
}

/**
 * Batches are rows of axis 0: a time-major recurrent layer given a batch of
 * sequences [T, B, in] directly would get slices of time, not sequences.
 */
function checkBatchAxis(model: Module, x: Tensor, op: string): void {
  const recurrent = model instanceof SRU || model instanceof SRUCell || model instanceof GRU || model instanceof LSTM || model instanceof RNN;
  if (recurrent && !model.batchFirst && x.rank === 3)
    fail('INVALID_ARGUMENT', `${op}: batches are rows of axis 0 of the data (x has shape [${x.shape.join(', ')}]), but the model is a${/^SRU/.test(model.constructor.name) ? 'n' : ''} ${model.constructor.name}, which reads [T, B, in] (time first): ${op} would cut the sequences into stretches of time. Make it with batchFirst: true, with x as [B, T, in]`);
}

/** {x, y} with tensors of the same first dim, at least one row. */
function checkData(d: unknown, op: string, what: string): { x: Tensor; y: Tensor } {
  if (d === null || typeof d !== 'object') fail('INVALID_ARGUMENT', `${op}: ${what} must be {x, y} with tensors batched along axis 0; got ${describe(d)}`);
  const { x: xIn, y: yIn } = d as { x?: unknown; y?: unknown };
  const x = checkTensor(xIn as Tensor, op, `${what}.x`);
  const y = checkTensor(yIn as Tensor, op, `${what}.y`);
  if (x.rank === 0 || y.rank === 0 || x.shape[0] !== y.shape[0])
    fail('SHAPE_MISMATCH', `${op}: ${what}.x [${x.shape.join(', ')}] and ${what}.y [${y.shape.join(', ')}] must have the same first dim`);
  if (x.shape[0] === 0) fail('INVALID_ARGUMENT', `${op}: ${what} has no rows (x has shape [${x.shape.join(', ')}])`);
  return { x, y };
}

/**
 * Validation rows must fit the model as the training rows do: found before
 * training rather than at the first validation, an epoch later. The rank,
 * the dtypes and x's last (feature) dim are compared; other dims may differ
 * (a longer sequence, say).
 */
function checkLike(v: { x: Tensor; y: Tensor }, d: { x: Tensor; y: Tensor }): void {
  for (const k of ['x', 'y'] as const) {
    const a = v[k], b = d[k];
    const last = k === 'x' && a.shape[a.rank - 1] !== b.shape[b.rank - 1];
    if (a.rank !== b.rank || last)
      fail('SHAPE_MISMATCH', `fit: validation.${k} has shape [${a.shape.join(', ')}]; its rows must be shaped like data.${k}'s ([${b.shape.join(', ')}]: rank ${b.rank}${k === 'x' ? `, ${b.shape[b.rank - 1]} features last` : ''})`);
    if (a.dtype !== b.dtype) fail('DTYPE_MISMATCH', `fit: validation.${k} is ${a.dtype}; data.${k} is ${b.dtype}`);
  }
}

const CALLBACK_KEYS = ['onTrainBegin', 'onTrainEnd', 'onEpochBegin', 'onEpochEnd', 'onBatchBegin', 'onBatchEnd'] as const;

function checkCallbacks(v: unknown): Callbacks[] {
  const list: unknown[] = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  list.forEach((cb, i) => {
    const at = Array.isArray(v) ? `callbacks[${i}]` : 'callbacks';
    if (cb === null || typeof cb !== 'object') fail('INVALID_ARGUMENT', `fit: ${at} must be an object such as { onEpochEnd(epoch, logs) {…} }; got ${describe(cb)}`);
    // A callback may carry state of its own (best loss, patience, the model); only a name that
    // looks like a hook and is none is refused (a misspelling would never be called).
    for (const [k, f] of Object.entries(cb as object)) {
      const hook = (CALLBACK_KEYS as readonly string[]).includes(k);
      if (!hook && /^on[A-Z]/.test(k))
        fail('INVALID_ARGUMENT', `fit: unknown callback '${k}' in ${at}; expected one of ${CALLBACK_KEYS.map((n) => `'${n}'`).join(', ')}`);
      if (hook && typeof f !== 'function' && f !== undefined) fail('INVALID_ARGUMENT', `fit: ${at}.${k} must be a function; got ${describe(f)}`);
    }
  });
  return list as Callbacks[];
}

/**
 * What model.forward returned, checked where a Tensor is needed: by the
 * built-in losses and the accuracy metric. A loss function of your own gets
 * whatever forward returns.
 */
function prediction(out: unknown, op: string, loss: FitOptions<unknown>['loss'], metrics: readonly 'accuracy'[]): Tensor {
  if (out instanceof Tensor || (typeof loss === 'function' && !metrics.length)) return out as Tensor;
  const keys = out !== null && typeof out === 'object' && !Array.isArray(out) ? ` with keys ${Object.keys(out).join(', ')}` : '';
  const needs = typeof loss === 'string' ? `the '${loss}' loss` : loss instanceof Module && !metrics.length ? `the loss module ${loss.constructor.name}` : `the metric '${metrics[0]}'`;
  fail('INVALID_ARGUMENT', `${op}: model.forward(x) must return a Tensor, the prediction ${needs} needs; got ${describe(out)}${keys}. Wrap the model in a Module whose forward returns a Tensor (for a recurrent module, e.g. a Linear head on rnn.forward(x).output)${typeof loss === 'string' ? ', or pass a loss function that takes what forward returns' : ''}`);
}

/** Rows `idx` of x (any rank) as a new tensor, through the embedding gather. */
function takeRows(x: Tensor, idx: Tensor): Tensor {
  return tidy(() => {
    const rest = x.shape.slice(1);
    const flat = x.reshape([x.shape[0], numel(rest)]);
    const table = x.dtype === 'int32' ? flat.cast('float64') : flat;
    const rows = new Tensor(native().gatherRows(table.handle, idx.handle));
    const back = x.dtype === 'int32' ? rows.cast('int32') : rows;
    return back.reshape([idx.size, ...rest]);
  });
}

/** Fraction of rows whose first maximal logit is at the label: argmax on the device, one number read back. */
function accuracyOf(pred: Tensor, labels: Tensor): number {
  const lead = pred.shape.slice(0, -1);
  if (pred.rank < 1 || labels.size !== numel(lead))
    fail('INVALID_ARGUMENT', `the 'accuracy' metric compares the argmax over the last axis of the prediction [${pred.shape.join(', ')}] with class labels of shape [${lead.join(', ')}]; got labels of shape [${labels.shape.join(', ')}]`);
  if (labels.dtype !== 'int32')
    fail('INVALID_ARGUMENT', `the 'accuracy' metric compares class labels (int32) with the argmax of the prediction; got ${labels.dtype} targets (for regression targets leave the metric out; class labels go in as int32)`);
  if (pred.shape[pred.rank - 1] === 1)
    fail('INVALID_ARGUMENT', `the 'accuracy' metric takes the argmax over the prediction's last axis, which has one column here (shape [${pred.shape.join(', ')}]): give the model a column per class`);
  if (!labels.size) return 0;
  return tidy(() => {
    const arg = argmax(pred, -1);
    // Labels may live on another device than the model (fit allows it): compared where the prediction is.
    const lab = labels.reshape(arg.shape);
    return sum(equal(arg, lab.device === arg.device ? lab : lab.to(arg.device))).item() / labels.size;
  });
}

/** Evaluates mean loss (and accuracy) over a dataset without gradients. */
export function evaluate<M extends Module, P = ForwardOutput<M>>(model: M, data: { x: Tensor; y: Tensor }, loss: FitOptions<P>['loss'], options?: { batchSize?: number; metrics?: readonly 'accuracy'[] }): Logs {
  checkModel(model, 'evaluate');
  checkBatchAxis(model, checkData(data, 'evaluate', 'data').x, 'evaluate');
  const fn = lossOf(loss as FitOptions<unknown>['loss'], 'evaluate');
  const eo = checkOptions<{ batchSize: number; metrics: readonly 'accuracy'[] }>(options, 'evaluate', ['batchSize', 'metrics']);
  const metrics = checkMetrics(eo.metrics, 'evaluate');
  const bs = eo.batchSize === undefined ? 256 : checkInteger(eo.batchSize, 'evaluate', 'batchSize', 1);
  const n = data.x.shape[0];
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
          const pred = prediction(model.forward(xb), 'evaluate', loss as FitOptions<unknown>['loss'], metrics);
          total += scalarLoss(fn(pred, yb), 'evaluate') * size;
          if (metrics.includes('accuracy')) correct += accuracyOf(pred, yb) * size;
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const logs: Logs = { loss: total / Math.max(1, n) };
  if (metrics.includes('accuracy')) logs.acc = correct / Math.max(1, n);
  return logs;
}

/** The loss as a number: it must be a one-element Tensor. */
function scalarLoss(l: unknown, op: string): number {
  if (!(l instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: the loss function must return a Tensor; got ${describe(l)}`);
  if (l.size !== 1) fail('SHAPE_MISMATCH', `${op}: the loss must be a scalar; got shape [${l.shape.join(', ')}]`);
  return l.item();
}

/** Trains `model` and returns the History (loss per epoch, plus validation and metrics). */
export async function fit<M extends Module, P = ForwardOutput<M>>(model: M, options: FitOptions<P>): Promise<History> {
  checkModel(model, 'fit');
  const o = checkOptions<FitOptions<unknown>>(options, 'fit', [
    'data', 'loss', 'optimizer', 'epochs', 'initialEpoch', 'batchSize', 'shuffle', 'seed', 'validation', 'metrics', 'callbacks', 'verbose',
  ]) as FitOptions<unknown>;
  if (!o.data) fail('INVALID_ARGUMENT', 'fit: data {x, y} is required');
  const { x, y } = checkData(o.data, 'fit', 'data');
  checkBatchAxis(model, x, 'fit');
  if (o.validation !== undefined && o.validation !== null) checkLike(checkData(o.validation, 'fit', 'validation'), { x, y });
  if (o.shuffle !== undefined) checkBoolean(o.shuffle, 'fit', 'shuffle');
  if (o.verbose !== undefined && o.verbose !== 0 && o.verbose !== 1) fail('INVALID_ARGUMENT', `fit: verbose must be 0 (silent) or 1 (progress); got ${describe(o.verbose)}`);
  const optimizer = checkOptimizer(o.optimizer);
  const needsClosure = (optimizer as { requiresClosure?: unknown }).requiresClosure === true;
  const lossFn = lossOf(o.loss, 'fit');
  const metrics = checkMetrics(o.metrics, 'fit');
  const epochs = checkInteger(o.epochs ?? 1, 'fit', 'epochs', 1);
  const initialEpoch = checkInteger(o.initialEpoch ?? 0, 'fit', 'initialEpoch', 0);
  const n = x.shape[0];
  const givenBatchSize = checkInteger(o.batchSize ?? 32, 'fit', 'batchSize', 1);
  const batchSize = Math.min(givenBatchSize, Math.max(1, n));
  const batches = Math.ceil(n / batchSize);
  const callbacks = checkCallbacks(o.callbacks);
  const verbose = o.verbose ?? 1;
  const tty = Boolean(process.stdout.isTTY) && verbose === 1;
  // A seed given: that order every time. Otherwise one draw from the global generator (setSeed()).
  // Each epoch's order is a function of the draw and the epoch's number, so that a run resumed with
  // initialEpoch (and the same seed) shuffles its later epochs as the uninterrupted run did.
  const draw = nextDraw(o.seed, 'fit');
  const seedBits = (draw.seed % 4294967296) ^ Math.floor(draw.seed / 4294967296) ^ Math.imul(draw.stream, 0x9e3779b1);
  const epochRng = (epoch: number) => mulberry32(seedBits ^ Math.imul(epoch + 1, 0x85ebca6b));
  const history: History = { epoch: [], history: { loss: [] } };
  const withAcc = metrics.includes('accuracy');
  const call = async (name: keyof Callbacks, ...args: unknown[]) => {
    for (const cb of callbacks) await (cb[name] as ((...a: unknown[]) => unknown) | undefined)?.(...args);
  };

  const wasTraining = model.training;
  model.stopTraining = false;
  try {
    model.train();
    await call('onTrainBegin');
    for (let epoch = initialEpoch; epoch < epochs; epoch++) {
      await call('onEpochBegin', epoch);
      const order = Array.from({ length: n }, (_, i) => i);
      const rng = epochRng(epoch);
      if (o.shuffle !== false)
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          [order[i], order[j]] = [order[j], order[i]];
        }
      const bar = tty ? new SingleBar({
        format: `epoch ${epoch + 1}/${epochs} [{bar}] {value}/{total} | loss {loss} | {rate} steps/s`,
        // The terminal's cursor and line wrapping are left as they are (the bar cuts its line to the
        // terminal's width itself): a Ctrl-C, which ends the process at once, leaves nothing to restore.
        hideCursor: false,
        linewrap: true,
      }, Presets.shades_classic) : null;
      bar?.start(batches, 0, { loss: '-', rate: '-' });
      const t0 = performance.now();
      let lossSum = 0, seen = 0, correct = 0;
      try {
        for (let b = 0; b < batches; b++) {
          await call('onBatchBegin', b);
          const start = b * batchSize;
          const size = Math.min(batchSize, n - start);
          let batchAcc: number | undefined;
          // Training mode for every batch: a callback may have switched to eval() (to sample, say) since.
          model.train();
          const lossValue = tidy(() => {
            const idx = tensor(Int32Array.from(order.slice(start, start + size)), [size], { device: x.device });
            const xb = takeRows(x, idx);
            const yb = takeRows(y, idx.device === y.device ? idx : idx.to(y.device));
            const batchLoss = (): number => {
              optimizer.zeroGrad();
              const pred = prediction(model.forward(xb), 'fit', o.loss, metrics);
              // The batch's accuracy before its step (a closure optimizer's first evaluation, whose loss it reports).
              if (withAcc && batchAcc === undefined) batchAcc = accuracyOf(pred, yb);
              const l = lossFn(pred, yb);
              const value = scalarLoss(l, 'fit');
              l.backward();
              return value;
            };
            // L-BFGS and AdaHessian evaluate the batch's loss themselves, as often as they need.
            if (!needsClosure) return batchLoss();
            const value: unknown = optimizer.step(batchLoss);
            if (typeof value !== 'number')
              fail('INVALID_ARGUMENT', `fit: optimizer.step(closure) must return the loss (a number), as optimizers with requiresClosure do; got ${describe(value)}`);
            return value;
          });
          if (!needsClosure) optimizer.step();
          lossSum += lossValue * size;
          seen += size;
          if (batchAcc !== undefined) correct += batchAcc * size;
          const rate = ((b + 1) * 1000) / (performance.now() - t0);
          bar?.update(b + 1, { loss: lossValue.toFixed(4), rate: rate.toFixed(1) });
          await call('onBatchEnd', b, batchAcc === undefined ? { loss: lossValue, size } : { loss: lossValue, acc: batchAcc, size });
          if (model.stopTraining) break; // set by a callback (early stopping): the epoch ends here
          // Let timers (the progress bar) and finalizers run during long epochs.
          if (b % 32 === 31) await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        bar?.stop(); // also when a step or a callback throws: the terminal gets its cursor back
      }
      const logs: Logs = { loss: lossSum / seen };
      if (withAcc) logs.acc = correct / seen;
      if (o.validation) {
        const v = evaluate(model, o.validation, o.loss, { metrics, batchSize: givenBatchSize });
        logs.valLoss = v.loss;
        if (v.acc !== undefined) logs.valAcc = v.acc;
      }
      history.epoch.push(epoch);
      for (const [k, v] of Object.entries(logs)) ((history.history as Record<string, number[]>)[k] ??= []).push(v);
      if (verbose === 1) {
        const secs = (performance.now() - t0) / 1000;
        console.log(`epoch ${epoch + 1}/${epochs}: ${Object.entries(logs).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')} (${secs.toFixed(2)} s, ${(batches / secs).toFixed(1)} steps/s)`);
      }
      await call('onEpochEnd', epoch, logs);
      if (model.stopTraining) break;
    }
    await call('onTrainEnd');
    return history;
  } finally {
    // The mode the model had before fit() (evaluate() does the same).
    model.train(wasTraining);
  }
}
