/**
 * fit(): the training loop, with TensorFlow.js's callback names and History,
 * PyTorch's step order (zeroGrad, forward, backward, step), a progress bar on
 * a TTY (cli-progress) and plain lines elsewhere.
 */
import { SingleBar, Presets } from 'cli-progress';
import { noGrad } from '../autograd/graph';
import { tidy } from '../engine';
import { isPlainObject } from '../data/collate';
import { batchTensors, DataLoader, releaseFreshBatch } from '../data/loader';
import { fail } from '../errors';
import { native } from '../native';
import { mulberry32, nextDraw } from '../random';
import { Module } from '../nn/module';
import { GRU, LSTM, RNN } from '../nn/rnn';
import { SRU, SRUCell } from '../sru/module';
import { PackedSequence } from '../ops/packed';
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

/**
 * What fit() and evaluate() take as data: whole-dataset tensors {x, y}
 * (batched along axis 0 by fit), or batches — a data.DataLoader, or any
 * Iterable or AsyncIterable of them (an array of batches, a generator).
 */
export type FitData = { x: Tensor; y: Tensor } | Iterable<unknown> | AsyncIterable<unknown>;

/**
 * A batch as fit() and evaluate() use it: model.forward(x, ...args) and
 * loss(prediction, y). What the `batch` option returns.
 */
export interface FitBatch {
  /** The forward's first argument (a Tensor, or a PackedSequence). */
  x: unknown;
  /** The target the loss compares with; its first dim is the batch's size (the weight of its loss in the means). */
  y: Tensor;
  /** More forward arguments, after x (a batch's lengths, say). */
  args?: readonly unknown[];
}

export interface FitOptions<P = Tensor> {
  /**
   * Inputs and targets: whole-dataset tensors {x, y}, batched along axis 0;
   * or batches: a data.DataLoader, or any Iterable or AsyncIterable of them,
   * each [x, y] or {x, y} (other batches through the `batch` option). A
   * re-iterable (a DataLoader, an array) is iterated once per epoch; a
   * one-shot iterator (a generator) runs one epoch, or `stepsPerEpoch`
   * batches per epoch. batchSize, shuffle and seed belong to whole tensors
   * (a DataLoader has its own).
   */
  data: FitData;
  loss: LossFn<P> | Module | 'crossEntropy' | 'mse';
  optimizer: FitOptimizer;
  /** The epoch to end before (epochs − initialEpoch epochs run). */
  epochs?: number;
  /**
   * The epoch to start from (Keras's initialEpoch), to resume an earlier run:
   * callbacks and the history count from it. Default 0.
   */
  initialEpoch?: number;
  /** Rows per batch for whole tensors (default 32); refused with batches (a DataLoader's batchSize is its own). */
  batchSize?: number;
  /** Shuffle whole tensors' rows each epoch (default true); refused with batches (a DataLoader's shuffle is its own). */
  shuffle?: boolean;
  /**
   * Seed for the shuffling order. Without one, each fit() draws its order from
   * the global generator (PyTorch's DataLoader), repeatable after setSeed().
   * Each epoch's order depends on the seed and the epoch's number only, so a
   * run resumed with initialEpoch and the same seed sees the same orders.
   */
  seed?: number;
  /**
   * Validation data, evaluated after each epoch: whole tensors (in batches of batchSize) or batches, as
   * data: re-iterable ones, or a one-shot iterator with `validationSteps`.
   */
  validation?: FitData;
  /**
   * With validation batches: at most this many batches per validation (Keras's validation_steps). A
   * re-iterable (a DataLoader, an array) starts from its beginning at each validation, so every epoch is
   * validated on the same batches (Keras: "the evaluation will start from the beginning of the dataset
   * at each epoch"; a shuffling DataLoader draws its next order); a one-shot iterator (a generator) goes
   * on where the last validation stopped, and one that yields nothing at a validation is an error.
   * Ignored with whole-tensor validation, as Keras's is ("only relevant if validation_data is … a
   * dataset") and without validation.
   */
  validationSteps?: number;
  /**
   * With batches: maps each batch to the forward's inputs and the target,
   * e.g. `([x, lengths, y]) => ({ x, y, args: [lengths] })` for padCollate's
   * batches and a model whose forward(x, lengths). It runs inside the
   * step's tidy(): tensors it makes are freed after the step.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  batch?: (batch: any) => FitBatch;
  /**
   * With batches: at most this many batches per epoch (Keras's
   * steps_per_epoch). Each epoch goes on where the last one stopped: a
   * one-shot iterator is drawn on across epochs and training ends after the
   * epoch in which it runs out (Keras); a re-iterable that runs out starts
   * anew (a DataLoader's next order), so epochs walk through the data.
   */
  stepsPerEpoch?: number;
  /**
   * Free each batch's tensors after its step. Default: a DataLoader's
   * batches are (the tensors it made for them, not those a collateFn or
   * dataset passed through as they were, nor those made under keep());
   * other iterables' are the caller's.
   * true frees every tensor of every batch (a generator of fresh batches),
   * of validation's only when it is a one-shot iterator too (a re-iterable
   * validation, as an array, yields its batches again next epoch: it keeps
   * the default); false none.
   */
  disposeBatches?: boolean;
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


/** True for batches (an Iterable or AsyncIterable), false for whole tensors {x, y}. */
function isBatches(d: unknown): d is Iterable<unknown> | AsyncIterable<unknown> {
  if (d === null || typeof d !== 'object') return false;
  return typeof (d as Iterable<unknown>)[Symbol.iterator] === 'function' || typeof (d as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}


/** A batch's contents, for an error message: what each entry is. */
function describeBatch(b: unknown): string {
  const one = (v: unknown): string => v instanceof Tensor ? (v.isDisposed ? 'a disposed Tensor' : `Tensor [${v.shape.join(', ')}] ${v.dtype}`) : describe(v);
  if (Array.isArray(b)) return `an array of ${b.length}${b.length ? ` (${b.map(one).join(', ')})` : ''}`;
  if (isPlainObject(b)) return `an object {${Object.entries(b).map(([k, v]) => `${k}: ${one(v)}`).join(', ')}}`;
  return one(b);
}

/** How a batch's tensors are freed after its step. */
type Release = 'fresh' | 'all' | 'none';

function releaseBatch(b: unknown, how: Release): void {
  if (how === 'fresh') releaseFreshBatch(b);
  else if (how === 'all') for (const t of batchTensors(b)) t.dispose();
}

/** The forward's input, the target and more forward arguments of one batch (the `batch` option's, or [x, y] / {x, y}). */
function splitBatch(raw: unknown, map: ((b: unknown) => unknown) | undefined, op: string, where: string): { x: unknown; y: Tensor; args: readonly unknown[]; size: number } {
  let x: unknown, y: unknown, args: unknown = [];
  if (map) {
    const m = map(raw);
    if (!isPlainObject(m) || !('x' in m) || !('y' in m))
      fail('INVALID_ARGUMENT', `${op}: the batch option must return { x, y, args? } (model.forward(x, ...args), loss(prediction, y)); for ${where} it returned ${describeBatch(m)}`);
    ({ x, y } = m);
    if (m.args !== undefined) args = m.args;
    if (!Array.isArray(args)) fail('INVALID_ARGUMENT', `${op}: the batch option's args must be an array of forward arguments after x; for ${where} it returned ${describe(args)}`);
    if (!(y instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: the batch option's y must be a Tensor (the target); for ${where} it returned ${describe(y)}`);
  } else {
    const input = (v: unknown) => v instanceof Tensor || v instanceof PackedSequence;
    if (Array.isArray(raw) && raw.length === 2 && input(raw[0]) && raw[1] instanceof Tensor) [x, y] = raw;
    else if (isPlainObject(raw) && Object.keys(raw).length === 2 && input(raw.x) && raw.y instanceof Tensor) ({ x, y } = raw);
    else
      fail('INVALID_ARGUMENT', `${op}: ${where} is ${describeBatch(raw)}; a batch must be [x, y] or {x, y} with x a Tensor (or PackedSequence) and y a Tensor. Map other batches with the batch option, e.g. batch: ([x, lengths, y]) => ({ x, y, args: [lengths] }) calls model.forward(x, lengths)${raw instanceof Tensor ? '. (An array [x, y] of whole tensors is two batches: whole tensors are {x, y}, Keras\'s (x, y); one batch is [[x, y]].)' : ''}`);
  }
  const target = checkTensor(y as Tensor, op, `${where}'s y`);
  for (const t of batchTensors([x, args]))
    if (t.isDisposed) fail('DISPOSED', `${op}: ${where} holds a disposed tensor (did an iterable yield a tensor it had freed, or one fit() had freed after an earlier step? fit frees only what disposeBatches says)`);
  return { x, y: target, args: args as unknown[], size: target.rank ? target.shape[0] : 1 };
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

/**
 * The batches' source: its iterator per epoch (async when the data has
 * Symbol.asyncIterator, as a DataLoader: it yields to the event loop between
 * batches), whether it is one-shot (its iterator is itself), and the batches
 * per epoch when known (a DataLoader's length, an array's).
 */
function openBatches(data: Iterable<unknown> | AsyncIterable<unknown>, op: string, what: string, preferAsync: boolean) {
  const hasAsync = typeof (data as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
  const hasSync = typeof (data as Iterable<unknown>)[Symbol.iterator] === 'function';
  const async = hasAsync && (preferAsync || !hasSync);
  const open = (): AnyIterator => {
    const it = async ? (data as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (data as Iterable<unknown>)[Symbol.iterator]();
    if (it === null || typeof it !== 'object' || typeof (it as Iterator<unknown>).next !== 'function')
      fail('INVALID_ARGUMENT', `${op}: ${what}[Symbol.${async ? 'asyncIterator' : 'iterator'}]() must return an iterator; got ${describe(it)}`);
    return it;
  };
  const first = open();
  let total: number | null = null;
  if (Array.isArray(data)) total = data.length;
  else if (data instanceof DataLoader) {
    try {
      total = data.length;
    } catch {
      total = null; // an IterableDataset's: unknown
    }
  }
  return { first, open, oneShot: (first as unknown) === data, total, async };
}

/** The next batch of an iterator (either kind). */
async function nextOf(it: AnyIterator): Promise<IteratorResult<unknown>> {
  return await it.next();
}

/** Closes an iterator left before its end (for-of's return()), so a generator's finally blocks run. */
async function closeIt(it: AnyIterator): Promise<void> {
  await it.return?.();
}

/** evaluate()'s options. */
export interface EvaluateOptions {
  /** Rows per batch for whole tensors (default 256); refused with batches. */
  batchSize?: number;
  metrics?: readonly 'accuracy'[];
  /** With batches: as fit()'s batch option. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  batch?: (batch: any) => FitBatch;
  /** With batches: as fit()'s disposeBatches. */
  disposeBatches?: boolean;
  /**
   * With batches: evaluate at most this many batches (Keras's evaluate(steps)). A re-iterable starts
   * from its beginning at each call; a one-shot iterator (a generator) is left where it stopped, so the
   * next call goes on from there. Refused with whole tensors, as Keras's ("not supported with array
   * inputs").
   */
  steps?: number;
}

function releaseOf(d: unknown, v: unknown, op: string): Release {
  if (v === undefined) return d instanceof DataLoader ? 'fresh' : 'none';
  return checkBoolean(v, op, 'disposeBatches') ? 'all' : 'none';
}

function checkBatchFn(v: unknown, op: string): ((b: unknown) => FitBatch) | undefined {
  if (v !== undefined && typeof v !== 'function') fail('INVALID_ARGUMENT', `${op}: batch must be a function (batch) => ({ x, y, args? }); got ${describe(v)}`);
  return v as ((b: unknown) => FitBatch) | undefined;
}

/** The message for an option of batches given with whole tensors (a number as `batch` is batchSize misspelt, most likely). */
function forBatches(op: string, k: string, v: unknown): string {
  return `${op}: ${k} is for batches (a DataLoader, an iterable); data is whole tensors {x, y}${k === 'batch' && typeof v === 'number' ? ` (rows per batch are batchSize; got batch: ${v})` : ''}`;
}

/** Sums of one evaluation over batches: loss·size, correct·size, rows. */
interface EvalSums { total: number; correct: number; rows: number }

/** One batch's evaluation (no gradients, inside the caller's noGrad and eval mode); its tensors freed as `how` says. */
function evalBatch(model: Module, raw: unknown, k: number, fn: LossFn<unknown>, loss: FitOptions<unknown>['loss'], metrics: readonly 'accuracy'[], map: ((b: unknown) => unknown) | undefined, how: Release, sums: EvalSums, op: string, what: string): void {
  try {
    tidy(() => {
      const b = splitBatch(raw, map, op, `${what} batch ${k}`);
      const pred = prediction(model.forward(b.x, ...b.args), op, loss, metrics);
      sums.total += scalarLoss(fn(pred, b.y), op) * b.size;
      if (metrics.includes('accuracy')) sums.correct += accuracyOf(pred, b.y) * b.size;
      sums.rows += b.size;
    });
  } finally {
    releaseBatch(raw, how);
  }
}

function evalLogs(s: EvalSums, metrics: readonly 'accuracy'[], op: string, what: string): Logs {
  if (s.rows === 0) fail('INVALID_ARGUMENT', `${op}: ${what} yielded no batches (or only empty ones)`);
  const logs: Logs = { loss: s.total / s.rows };
  if (metrics.includes('accuracy')) logs.acc = s.correct / s.rows;
  return logs;
}

/** evaluate() over batches, asynchronously (fit's validation, and evaluate() of an AsyncIterable). */
async function evaluateBatches(model: Module, data: Iterable<unknown> | AsyncIterable<unknown>, fn: LossFn<unknown>, loss: FitOptions<unknown>['loss'], metrics: readonly 'accuracy'[], map: ((b: unknown) => unknown) | undefined, how: Release, op: string, what: string, steps?: number): Promise<Logs> {
  const { first: it, oneShot } = openBatches(data, op, what, true);
  const sums: EvalSums = { total: 0, correct: 0, rows: 0 };
  const wasTraining = model.training;
  // done: ran out; cut: stopped after `steps` batches (a one-shot iterator is then left open to go on from).
  let done = false, cut = false;
  try {
    for (let k = 0; ; k++) {
      if (steps !== undefined && k >= steps) {
        cut = true;
        break;
      }
      const r = await nextOf(it);
      if (r.done) {
        done = true;
        break;
      }
      model.eval();
      noGrad(() => evalBatch(model, r.value, k, fn, loss, metrics, map, how, sums, op, what));
    }
  } finally {
    model.train(wasTraining);
    if (!done && !(cut && oneShot)) await closeIt(it);
  }
  return evalLogs(sums, metrics, op, what);
}

/**
 * Evaluates mean loss (and accuracy) without gradients, in eval mode: over
 * whole tensors {x, y} (in batches of batchSize), or over batches (a
 * data.DataLoader, any Iterable of [x, y] or {x, y}, or the `batch` option's
 * mapping), each batch's loss and accuracy weighted by its size (y's first
 * dim), as Keras. An AsyncIterable that is not also an Iterable gives a
 * Promise. A DataLoader's batches are freed after use (disposeBatches).
 */
export function evaluate<M extends Module, P = ForwardOutput<M>>(model: M, data: { x: Tensor; y: Tensor } | Iterable<unknown>, loss: FitOptions<P>['loss'], options?: EvaluateOptions): Logs;
export function evaluate<M extends Module, P = ForwardOutput<M>>(model: M, data: AsyncIterable<unknown>, loss: FitOptions<P>['loss'], options?: EvaluateOptions): Promise<Logs>;
/** Data typed as FitData (fit()'s validation, say): Logs, or a Promise of them for an AsyncIterable that is not an Iterable. */
export function evaluate<M extends Module, P = ForwardOutput<M>>(model: M, data: FitData, loss: FitOptions<P>['loss'], options?: EvaluateOptions): Logs | Promise<Logs>;
export function evaluate<M extends Module, P = ForwardOutput<M>>(model: M, data: FitData, loss: FitOptions<P>['loss'], options?: EvaluateOptions): Logs | Promise<Logs> {
  checkModel(model, 'evaluate');
  const batches = isBatches(data);
  if (!batches) checkBatchAxis(model, checkData(data, 'evaluate', 'data').x, 'evaluate');
  const fn = lossOf(loss as FitOptions<unknown>['loss'], 'evaluate');
  const eo = checkOptions<EvaluateOptions>(options, 'evaluate', ['batchSize', 'metrics', 'batch', 'disposeBatches', 'steps']);
  const metrics = checkMetrics(eo.metrics, 'evaluate');
  if (batches) {
    if (eo.batchSize !== undefined) fail('INVALID_ARGUMENT', `evaluate: batchSize is for whole tensors {x, y}; the batches are the data's own (a DataLoader's batchSize)`);
    const map = checkBatchFn(eo.batch, 'evaluate');
    const how = releaseOf(data, eo.disposeBatches, 'evaluate');
    const steps = eo.steps === undefined ? undefined : checkInteger(eo.steps, 'evaluate', 'steps', 1);
    const l = loss as FitOptions<unknown>['loss'];
    if (typeof (data as Iterable<unknown>)[Symbol.iterator] !== 'function') return evaluateBatches(model, data, fn, l, metrics, map, how, 'evaluate', 'data', steps);
    // Synchronous over an Iterable (a DataLoader too).
    const { first, oneShot } = openBatches(data, 'evaluate', 'data', false);
    const it = first as Iterator<unknown>;
    const sums: EvalSums = { total: 0, correct: 0, rows: 0 };
    const wasTraining = model.training;
    let done = false, cut = false;
    try {
      for (let k = 0; ; k++) {
        if (steps !== undefined && k >= steps) {
          cut = true;
          break;
        }
        const r = it.next();
        if (r.done) {
          done = true;
          break;
        }
        model.eval();
        noGrad(() => evalBatch(model, r.value, k, fn, l, metrics, map, how, sums, 'evaluate', 'data'));
      }
    } finally {
      model.train(wasTraining);
      if (!done && !(cut && oneShot)) it.return?.();
    }
    return evalLogs(sums, metrics, 'evaluate', 'data');
  }
  // Keras's evaluate(steps=…): "This argument is not supported with array inputs" (tf.keras 2.x docs).
  for (const k of ['batch', 'disposeBatches', 'steps'] as const)
    if (eo[k] !== undefined) fail('INVALID_ARGUMENT', forBatches('evaluate', k, eo[k]));
  const bs = eo.batchSize === undefined ? 256 : checkInteger(eo.batchSize, 'evaluate', 'batchSize', 1);
  const { x: dx, y: dy } = data as { x: Tensor; y: Tensor };
  const n = dx.shape[0];
  const wasTraining = model.training;
  model.eval();
  let total = 0, correct = 0;
  try {
    noGrad(() => {
      for (let start = 0; start < n; start += bs) {
        const size = Math.min(bs, n - start);
        tidy(() => {
          const xb = dx.slice([start], [size]);
          const yb = dy.slice([start], [size]);
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

/**
 * Trains `model` and returns the History (loss per epoch, plus validation and
 * metrics). `data` is whole tensors {x, y}, batched (and shuffled) by fit, or
 * batches: a data.DataLoader or any Iterable / AsyncIterable of [x, y] or
 * {x, y} batches (others through `batch`), iterated once per epoch (a
 * one-shot iterator: one epoch, or `stepsPerEpoch` batches per epoch). A
 * DataLoader's batch tensors are freed after each step (`disposeBatches`).
 */
export async function fit<M extends Module, P = ForwardOutput<M>>(model: M, options: FitOptions<P>): Promise<History> {
  checkModel(model, 'fit');
  const o = checkOptions<FitOptions<unknown>>(options, 'fit', [
    'data', 'loss', 'optimizer', 'epochs', 'initialEpoch', 'batchSize', 'shuffle', 'seed', 'validation', 'metrics', 'callbacks', 'verbose',
    'batch', 'stepsPerEpoch', 'disposeBatches', 'validationSteps',
  ]) as FitOptions<unknown>;
  if (!o.data) fail('INVALID_ARGUMENT', 'fit: data is required: {x, y} tensors, or batches (a data.DataLoader, an iterable)');
  const iterable = isBatches(o.data);
  const valIterable = isBatches(o.validation);
  let x: Tensor | null = null, y: Tensor | null = null;
  if (iterable) {
    // Keras refuses batch_size with a dataset: the batches are the loader's.
    for (const k of ['batchSize', 'shuffle', 'seed'] as const)
      if (o[k] !== undefined) fail('INVALID_ARGUMENT', `fit: ${k} is for whole tensors {x, y}; with batches (${describe(o.data)}) the batches and their order are the data's own (give the DataLoader its batchSize, shuffle and seed)`);
    if (o.stepsPerEpoch !== undefined) checkInteger(o.stepsPerEpoch, 'fit', 'stepsPerEpoch', 1);
  } else {
    ({ x, y } = checkData(o.data, 'fit', 'data'));
    checkBatchAxis(model, x, 'fit');
    for (const k of ['batch', 'stepsPerEpoch', 'disposeBatches'] as const)
      if (o[k] !== undefined) fail('INVALID_ARGUMENT', forBatches('fit', k, o[k]));
  }
  const map = checkBatchFn(o.batch, 'fit');
  // An array of validation batches is checked before training: one refused only after the first
  // epoch (Keras's validation_data=(xVal, yVal) written [xVal, yVal], say) would waste that epoch.
  if (Array.isArray(o.validation)) {
    if (o.validation.length === 0) fail('INVALID_ARGUMENT', 'fit: validation is an empty array: no batches to evaluate after each epoch');
    if (!map) o.validation.forEach((b, k) => splitBatch(b, undefined, 'fit', `validation batch ${k}`));
  }
  if (o.validation !== undefined && o.validation !== null && !valIterable) {
    const v = checkData(o.validation, 'fit', 'validation');
    if (x && y) checkLike(v, { x, y });
  }
  // Checked always, used with validation batches only: Keras ignores validation_steps for array validation
  // data ("Only relevant if validation_data is provided and is a tf.data dataset", tf.keras 2.x fit docs).
  const valSteps = o.validationSteps === undefined ? undefined : checkInteger(o.validationSteps, 'fit', 'validationSteps', 1);
  if (o.shuffle !== undefined) checkBoolean(o.shuffle, 'fit', 'shuffle');
  if (o.verbose !== undefined && o.verbose !== 0 && o.verbose !== 1) fail('INVALID_ARGUMENT', `fit: verbose must be 0 (silent) or 1 (progress); got ${describe(o.verbose)}`);
  const optimizer = checkOptimizer(o.optimizer);
  const needsClosure = (optimizer as { requiresClosure?: unknown }).requiresClosure === true;
  const lossFn = lossOf(o.loss, 'fit');
  const metrics = checkMetrics(o.metrics, 'fit');
  const epochs = checkInteger(o.epochs ?? 1, 'fit', 'epochs', 1);
  const initialEpoch = checkInteger(o.initialEpoch ?? 0, 'fit', 'initialEpoch', 0);
  const release = releaseOf(o.data, o.disposeBatches, 'fit');
  const valOneShot = valIterable && openBatches(o.validation as Iterable<unknown>, 'fit', 'validation', true).oneShot;
  // disposeBatches: true frees validation's batches only when it is one-shot: a re-iterable validation
  // yields the same stored tensors again next epoch (an array's, a dataset's passed through), so it
  // keeps its default (a DataLoader's made tensors freed, others the caller's).
  const valRelease: Release = !valIterable ? 'none' : releaseOf(o.validation, o.disposeBatches === true && !valOneShot ? undefined : o.disposeBatches, 'fit');
  const n = x ? x.shape[0] : 0;
  const givenBatchSize = checkInteger(o.batchSize ?? 32, 'fit', 'batchSize', 1);
  const batchSize = Math.min(givenBatchSize, Math.max(1, n));
  const steps = o.stepsPerEpoch;
  const runs = epochs - initialEpoch;
  const source = iterable ? openBatches(o.data as Iterable<unknown>, 'fit', 'data', true) : null;
  if (source?.oneShot && steps === undefined && runs > 1)
    fail('INVALID_ARGUMENT', `fit: data is a one-shot iterator (its [Symbol.iterator]() returns itself, as a generator's), which cannot be iterated again for ${runs} epochs: pass a re-iterable (a data.DataLoader, an array, an object whose [Symbol.iterator]() starts anew), one epoch, or stepsPerEpoch to draw that many batches of it per epoch`);
  if (valOneShot && valSteps === undefined && runs > 1)
    fail('INVALID_ARGUMENT', `fit: validation is a one-shot iterator, evaluated after each of ${runs} epochs: pass a re-iterable (a data.DataLoader, an array), or validationSteps to draw that many batches of it per validation`);
  // Batches per epoch, when known (the progress bar's total).
  const known = source ? (source.total === null ? steps ?? null : Math.min(source.total, steps ?? Infinity)) : Math.ceil(n / batchSize);
  const callbacks = checkCallbacks(o.callbacks);
  const verbose = o.verbose ?? 1;
  const tty = Boolean(process.stdout.isTTY) && verbose === 1;
  // A seed given: that order every time. Otherwise one draw from the global generator (setSeed()).
  // Each epoch's order is a function of the draw and the epoch's number, so that a run resumed with
  // initialEpoch (and the same seed) shuffles its later epochs as the uninterrupted run did.
  // (Batches from an iterable take no draw: their order is theirs.)
  const draw = iterable ? { seed: 0, stream: 0 } : nextDraw(o.seed, 'fit');
  const seedBits = (draw.seed % 4294967296) ^ Math.floor(draw.seed / 4294967296) ^ Math.imul(draw.stream, 0x9e3779b1);
  const epochRng = (epoch: number) => mulberry32(seedBits ^ Math.imul(epoch + 1, 0x85ebca6b));
  const history: History = { epoch: [], history: { loss: [] } };
  const withAcc = metrics.includes('accuracy');
  const call = async (name: keyof Callbacks, ...args: unknown[]) => {
    for (const cb of callbacks) await (cb[name] as ((...a: unknown[]) => unknown) | undefined)?.(...args);
  };

  /** One training step on a batch: its loss, and its accuracy before the step with the metric. */
  const trainStep = (get: () => { x: unknown; y: Tensor; args: readonly unknown[] }): { loss: number; acc?: number } => {
    let batchAcc: number | undefined;
    const lossValue = tidy(() => {
      const { x: xb, y: yb, args } = get();
      const batchLoss = (): number => {
        optimizer.zeroGrad();
        const pred = prediction(model.forward(xb, ...args), 'fit', o.loss, metrics);
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
    return batchAcc === undefined ? { loss: lossValue } : { loss: lossValue, acc: batchAcc };
  };

  const wasTraining = model.training;
  model.stopTraining = false;
  // The iterator of batches the current epoch draws from (a one-shot's is kept across epochs).
  let it: AnyIterator | null = source ? source.first : null;
  // Batches drawn from `it` since it was opened (a re-iterable that runs out after some starts anew).
  let drawn = 0;
  let ranOut = false;
  try {
    model.train();
    await call('onTrainBegin');
    for (let epoch = initialEpoch; epoch < epochs; epoch++) {
      // A one-shot iterator drawn on across epochs: the epoch's first batch is drawn before the epoch
      // begins, so that one which ran out at the last epoch's end ends training here, with no
      // onEpochBegin left without its onEpochEnd.
      let pending: IteratorResult<unknown> | null = null;
      if (source?.oneShot && epoch > initialEpoch && it) {
        pending = await nextOf(it);
        if (pending.done) {
          ranOut = true;
          break;
        }
      }
      try {
        await call('onEpochBegin', epoch);
      } catch (e) {
        if (pending) releaseBatch(pending.value, release);
        throw e;
      }
      let order: number[] = [];
      if (!source) {
        order = Array.from({ length: n }, (_, i) => i);
        const rng = epochRng(epoch);
        if (o.shuffle !== false)
          for (let i = n - 1; i > 0; i--) {
            const j = Math.floor(rng() * (i + 1));
            [order[i], order[j]] = [order[j], order[i]];
          }
      }
      const bar = tty && known !== null ? new SingleBar({
        format: `epoch ${epoch + 1}/${epochs} [{bar}] {value}/{total} | loss {loss} | {rate} steps/s`,
        // The terminal's cursor and line wrapping are left as they are (the bar cuts its line to the
        // terminal's width itself): a Ctrl-C, which ends the process at once, leaves nothing to restore.
        hideCursor: false,
        linewrap: true,
      }, Presets.shades_classic) : null;
      bar?.start(known ?? 0, 0, { loss: '-', rate: '-' });
      const t0 = performance.now();
      let lossSum = 0, seen = 0, correct = 0, b = 0;
      try {
        for (; source ? steps === undefined || b < steps : b < (known as number); b++) {
          let size: number;
          let r: { loss: number; acc?: number };
          if (source) {
            if (!it) {
              it = source.open();
              drawn = 0;
            }
            let next = pending ?? (await nextOf(it));
            pending = null;
            if (next.done && !source.oneShot && steps !== undefined && drawn > 0) {
              // A re-iterable cut by stepsPerEpoch that ran out starts anew (a DataLoader's next order).
              it = source.open();
              drawn = 0;
              next = await nextOf(it);
            }
            if (next.done) {
              ranOut = true;
              break;
            }
            drawn++;
            const raw = next.value;
            try {
              await call('onBatchBegin', b);
              // Training mode for every batch: a callback may have switched to eval() (to sample, say) since.
              model.train();
              let s = 0;
              r = trainStep(() => {
                const sb = splitBatch(raw, map, 'fit', `batch ${b} of epoch ${epoch}`);
                s = sb.size;
                return sb;
              });
              size = s;
            } finally {
              // Also when the step or a callback throws: the batch in hand is freed.
              releaseBatch(raw, release);
            }
          } else {
            await call('onBatchBegin', b);
            const start = b * batchSize;
            size = Math.min(batchSize, n - start);
            model.train();
            r = trainStep(() => {
              const idx = tensor(Int32Array.from(order.slice(start, start + size)), [size], { device: (x as Tensor).device });
              return { x: takeRows(x as Tensor, idx), y: takeRows(y as Tensor, idx.device === (y as Tensor).device ? idx : idx.to((y as Tensor).device)), args: [] };
            });
          }
          lossSum += r.loss * size;
          seen += size;
          if (r.acc !== undefined) correct += r.acc * size;
          const rate = ((b + 1) * 1000) / (performance.now() - t0);
          bar?.update(b + 1, { loss: r.loss.toFixed(4), rate: rate.toFixed(1) });
          await call('onBatchEnd', b, r.acc === undefined ? { loss: r.loss, size } : { loss: r.loss, acc: r.acc, size });
          if (model.stopTraining) {
            b++;
            break; // set by a callback (early stopping): the epoch ends here
          }
          // Let timers (the progress bar) and finalizers run during long epochs (an async iterator yields on its own).
          if (b % 32 === 31 && !source?.async) await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        bar?.stop(); // also when a step or a callback throws: the terminal gets its cursor back
      }
      if (source && !source.oneShot && (steps === undefined || ranOut)) {
        // A re-iterable starts anew next epoch (with stepsPerEpoch it goes on where this one stopped):
        // this epoch's iterator is closed if left before its end.
        if (!ranOut && it) await closeIt(it);
        it = null;
        ranOut = false;
      }
      if (seen === 0) {
        // A one-shot iterator that ran out at an epoch's start ends training; no batch at all is an error.
        if (source?.oneShot && epoch > initialEpoch) break;
        fail('INVALID_ARGUMENT', `fit: data yielded no batches in epoch ${epoch}${source ? '' : ''} (or only batches of no rows)`);
      }
      const logs: Logs = { loss: lossSum / seen };
      if (withAcc) logs.acc = correct / seen;
      if (o.validation) {
        const v = valIterable
          ? await evaluateBatches(model, o.validation as Iterable<unknown>, lossFn, o.loss, metrics, map, valRelease, 'fit', 'validation', valSteps)
          : evaluate(model, o.validation as { x: Tensor; y: Tensor }, o.loss, { metrics, batchSize: givenBatchSize });
        logs.valLoss = v.loss;
        if (v.acc !== undefined) logs.valAcc = v.acc;
      }
      history.epoch.push(epoch);
      for (const [k, v] of Object.entries(logs)) ((history.history as Record<string, number[]>)[k] ??= []).push(v);
      if (verbose === 1) {
        const secs = (performance.now() - t0) / 1000;
        console.log(`epoch ${epoch + 1}/${epochs}: ${Object.entries(logs).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')} (${secs.toFixed(2)} s, ${(b / secs).toFixed(1)} steps/s)`);
      }
      await call('onEpochEnd', epoch, logs);
      if (model.stopTraining || ranOut) break; // a one-shot iterator that ran out ends training (Keras)
    }
    await call('onTrainEnd');
    return history;
  } finally {
    // The mode the model had before fit() (evaluate() does the same).
    model.train(wasTraining);
    // An iterator left open (an error, early stopping, a one-shot's rest) is closed, as for-of would.
    if (it && !ranOut) await closeIt(it);
    // So is a one-shot validation drawn validationSteps at a time (its rest is not evaluated).
    if (valOneShot && valSteps !== undefined) await closeIt(o.validation as unknown as AnyIterator);
  }
}
