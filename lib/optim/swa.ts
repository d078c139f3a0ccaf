/**
 * Weight averaging (torch.optim.swa_utils): AveragedModel keeps a running
 * average of a model's weights — stochastic weight averaging (SWA, the
 * equal-weight mean of the snapshots) or an exponential moving average
 * (EMA) — SWALR anneals the learning rate to the constant SWA one, and
 * updateBn recomputes batch-norm statistics for the averaged weights.
 */
import { isolated, tidy } from '../engine';
import { fail } from '../errors';
import { Module } from '../nn/module';
import { BatchNorm1d } from '../nn/layers';
import { DataLoader, releaseFreshBatch } from '../data/loader';
import { noGrad } from '../autograd/graph';
import { add, div, mul, sub } from '../ops/core';
import { full, Tensor, tensor, zeros } from '../tensor';
import { checkBoolean, checkFinite, checkInteger, checkOptions, describe } from '../validate';
import { LRScheduler } from './index';
import type { Optimizer } from './optimizer';
import type { PackedSequence } from '../ops/packed';

/**
 * What AveragedModel<M>.forward(...args) returns: M's forward's result, the
 * packed outputs of a recurrent layer (generic over a Tensor or a
 * PackedSequence input, so ReturnType gives both) kept only when the first
 * argument may be a PackedSequence.
 */
export type AveragedForward<M extends Module, A extends unknown[]> = A[0] extends PackedSequence
  ? Extract<ReturnType<M['forward']>, { output: PackedSequence }>
  : A[0] extends Tensor
    ? Exclude<ReturnType<M['forward']>, { output: PackedSequence }>
    : ReturnType<M['forward']>;

/** How AveragedModel folds a model's value into the average: the new average from the old one, the model's value and how many were averaged so far (≥ 1). */
export type AvgFn = (averaged: Tensor, current: Tensor, numAveraged: number) => Tensor;

/** SWA's equal-weight running mean: averaged + (current − averaged) / (n + 1) (torch's get_swa_avg_fn). */
export function getSwaAvgFn(): AvgFn {
  return (averaged, current, n) => add(averaged, div(sub(current, averaged), n + 1));
}

/** The exponential moving average decay·averaged + (1 − decay)·current (torch's get_ema_avg_fn; default decay 0.999). */
export function getEmaAvgFn(decay = 0.999): AvgFn {
  checkFinite(decay, 'getEmaAvgFn', 'decay');
  if (decay < 0 || decay > 1) fail('INVALID_ARGUMENT', `getEmaAvgFn: decay must be in [0, 1]; got ${decay}`);
  return (averaged, current) => add(mul(averaged, decay), mul(current, 1 - decay));
}

/** Options of {@link AveragedModel}. */
export interface AveragedModelOptions<M extends Module = Module> {
  /**
   * Makes the module that holds the average: a new module of the model's
   * architecture (same parameters and buffers, in order), into which the
   * model's values are copied. Default: model.clone(), the deep copy
   * PyTorch makes; give make for a class clone() cannot copy (one with
   * #private fields).
   */
  make?: () => M;
  /** How the average is updated (default SWA's equal-weight mean; getEmaAvgFn(decay) for an EMA). */
  avgFn?: AvgFn;
  /**
   * Average the buffers too (batch-norm statistics; integer buffers are
   * copied: torch 1.13 averaged num_batches_tracked with truncation, 1 after
   * 1000 updates); default false: they are copied from the model at each
   * update, as torch 2.x's (1.13 left them as first copied).
   */
  useBuffers?: boolean;
}

/**
 * A running average of a model's weights (torch.optim.swa_utils.AveragedModel):
 * `module` (a copy of the model: model.clone(), or made by `make`) holds the average; updateParameters(model) folds
 * in the model's current values (the first call copies them);
 * forward(...) is module.forward(...). State dict: `n_averaged` and
 * `module.…`, as PyTorch's. Evaluate with the averaged weights; with batch
 * norm, recompute its statistics with updateBn(loader, averaged) (or
 * useBuffers: true).
 *
 *   const swa = new optim.AveragedModel(model);
 *   // each epoch after the SWA start: swa.updateParameters(model)
 *   const ema = new optim.AveragedModel(model, { avgFn: optim.getEmaAvgFn(0.999) });
 */
export class AveragedModel<M extends Module = Module> extends Module {
  readonly module: M;
  readonly useBuffers: boolean;
  private readonly avgFn: AvgFn | null;
  n_averaged: Tensor;

  constructor(model: M, options?: AveragedModelOptions<M>) {
    super();
    const op = 'AveragedModel';
    if (!(model instanceof Module)) fail('INVALID_ARGUMENT', `${op}: expected the model (a Module); got ${describe(model)}`);
    const o = checkOptions<AveragedModelOptions<M>>(options, op, ['make', 'avgFn', 'useBuffers']);
    if (o.make !== undefined && typeof o.make !== 'function')
      fail('INVALID_ARGUMENT', `${op}: options.make must be a function making a new module of the model's architecture, e.g. { make: () => new Net() } (or leave it out: the model's clone()); got ${describe(o.make)}`);
    if (o.avgFn !== undefined && typeof o.avgFn !== 'function') fail('INVALID_ARGUMENT', `${op}: avgFn must be a function (averaged, current, numAveraged) → Tensor; got ${describe(o.avgFn)}`);
    this.avgFn = o.avgFn ?? null;
    this.useBuffers = o.useBuffers === undefined ? false : checkBoolean(o.useBuffers, op, 'useBuffers');
    const made: unknown = o.make ? o.make() : model.clone();
    if (!(made instanceof Module) || made === model) fail('INVALID_ARGUMENT', `${op}: make() must return a new Module (not the model itself); got ${made === model ? 'the model' : describe(made)}`);
    try {
      // The model's values, on the copy's devices and dtypes (PyTorch's deepcopy: the same values).
      copyInto(made, model, true);
    } catch (e) {
      made.dispose();
      throw e;
    }
    this.module = this.registerModule('module', made as M);
    this.n_averaged = this.registerBuffer('n_averaged', isolated(() => zeros([], { dtype: 'int32' })));
  }

  /** How many times updateParameters has run (PyTorch's n_averaged). */
  get numAveraged(): number {
    return this.n_averaged.item();
  }

  /** module.forward(...args), typed as the module's for these arguments (a recurrent layer's: packed output for a PackedSequence input only). */
  forward<A extends Parameters<M['forward']>>(...args: A): AveragedForward<M, A> {
    this.checkUsable('AveragedModel');
    return this.module.forward(...args) as AveragedForward<M, A>;
  }

  /**
   * Folds the model's current weights into the average (PyTorch's
   * update_parameters): the first call copies them, later ones apply avgFn
   * (SWA's mean by default); buffers are averaged with useBuffers, else
   * copied from the model.
   */
  updateParameters(model: Module): void {
    const op = 'AveragedModel.updateParameters';
    this.checkUsable(op);
    if (!(model instanceof Module)) fail('INVALID_ARGUMENT', `${op}: expected the model (a Module); got ${describe(model)}`);
    if (model.isDisposed) fail('DISPOSED', `${op}: the model has been disposed`);
    const n = this.numAveraged;
    const avg = this.avgFn ?? getSwaAvgFn();
    const list = pairs(op, this.module, model, this.useBuffers);
    // Every new value first, then the writes: an avgFn that throws changes nothing.
    const next = noGrad(() =>
      tidy(() =>
        list.map(([mine, theirs]) => {
          const cur = theirs.detach().to(mine.device);
          if (n === 0 || mine.dtype === 'int32') return cur.cast(mine.dtype as 'float32');
          const v: unknown = avg(mine.detach(), cur.cast(mine.dtype as 'float32'), n);
          if (!(v instanceof Tensor) || v.shape.length !== mine.shape.length || v.shape.some((d, i) => d !== mine.shape[i]))
            fail('INVALID_ARGUMENT', `${op}: avgFn must return a Tensor of the averaged value's shape [${mine.shape.join(', ')}]; got ${v instanceof Tensor ? `shape [${v.shape.join(', ')}]` : describe(v)}`);
          return v.cast(mine.dtype as 'float32');
        }),
      ),
    );
    noGrad(() => {
      list.forEach(([mine], i) => mine.assign(next[i]));
      if (!this.useBuffers) copyInto(this.module, model, false);
      tidy(() => this.n_averaged.assign(tensor([n + 1], [], { dtype: 'int32' })));
    });
    next.forEach((t) => t.dispose());
  }
}

/** The (averaged, model) tensor pairs updateParameters walks: the parameters, and the buffers with `buffers`; checked alike. */
function pairs(op: string, mine: Module, theirs: Module, buffers: boolean): [Tensor, Tensor][] {
  const out: [Tensor, Tensor][] = [];
  const kinds: [string, (m: Module) => Tensor[]][] = [['parameter', (m) => m.parameters()]];
  if (buffers) kinds.push(['buffer', (m) => m.namedBuffers().map(([, b]) => b)]);
  for (const [kind, list] of kinds) {
    const a = list(mine), b = list(theirs);
    if (a.length !== b.length) fail('SHAPE_MISMATCH', `${op}: the averaged module has ${a.length} ${kind}s and the model ${b.length}; make() must build the model's architecture`);
    a.forEach((t, i) => {
      if (t.shape.length !== b[i].shape.length || t.shape.some((d, j) => d !== b[i].shape[j]))
        fail('SHAPE_MISMATCH', `${op}: ${kind} ${i} is [${t.shape.join(', ')}] in the averaged module and [${b[i].shape.join(', ')}] in the model; make() must build the model's architecture`);
      out.push([t, b[i]]);
    });
  }
  return out;
}

/** Copies the model's buffers (and parameters with `params`) into `mine`, unrecorded. */
function copyInto(mine: Module, model: Module, params: boolean): void {
  const list = pairs('AveragedModel', mine, model, true).slice(params ? 0 : mine.parameters().length);
  noGrad(() => list.forEach(([a, b]) => tidy(() => a.assign(b.detach().to(a.device).cast(a.dtype as 'float32')))));
}

/**
 * The learning rate annealed from each group's current one to `swaLr` over
 * `annealEpochs` epochs, then held (torch.optim.swa_utils.SWALR; by cosine,
 * or 'linear'); with annealEpochs 0 it is swaLr from the start. swaLr is
 * one number or one per parameter group.
 */
export class SWALR extends LRScheduler {
  readonly swaLrs: number[];
  constructor(optimizer: Optimizer<{ lr: number }>, swaLr: number | readonly number[], readonly annealEpochs = 10, readonly annealStrategy: 'cos' | 'linear' = 'cos') {
    const op = 'SWALR';
    checkInteger(annealEpochs, op, 'annealEpochs', 0);
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') fail('INVALID_ARGUMENT', `${op}: annealStrategy must be 'cos' or 'linear'; got ${describe(annealStrategy)}`);
    super(optimizer);
    const groups = optimizer.paramGroups.length;
    const list = typeof swaLr === 'number' ? new Array<number>(groups).fill(swaLr) : Array.isArray(swaLr) ? [...swaLr] : null;
    if (!list || list.length !== groups)
      fail('INVALID_ARGUMENT', `${op}: swaLr must be a number or one per parameter group (${groups}); got ${describe(swaLr)}`);
    list.forEach((v, i) => {
      checkFinite(v, op, `swaLr[${i}]`);
      if (v < 0) fail('INVALID_ARGUMENT', `${op}: swaLr must be >= 0; got ${v}`);
    });
    this.swaLrs = list;
    this.init();
  }
  /**
   * @internal SequentialLR's milestone: PyTorch's step(0) runs SWALR's
   * get_lr, which counts the scheduler's own steps (_step_count, which
   * step(0) does not reset; its construction was the first) and starts from
   * the groups' current lr: one annealing step further from there, not the
   * base lrs at epoch 0. (Torch 1.13 and 2.x's step(0); recent releases call
   * _update_lr(0) there, which does not count the step: the milestone keeps
   * the current lr and the annealing starts one epoch later.)
   */
  get continuesAtMilestone(): boolean {
    return true;
  }
  /** @internal See continuesAtMilestone; restart() without a milestone (SequentialLR's first scheduler) is epoch 0, as PyTorch's _initial_step. */
  restart(atStep = false): void {
    if (!atStep) return super.restart();
    const before = this.lastEpoch;
    this.lastEpoch = Math.max(0, before) + 1; // SequentialLR set it to −1 until now; PyTorch's step count went on from construction
    try {
      this.applyLrs();
    } catch (e) {
      this.lastEpoch = before;
      throw e;
    }
  }
  private anneal(t: number): number {
    return this.annealStrategy === 'cos' ? (1 - Math.cos(Math.PI * t)) / 2 : t;
  }
  protected chained(current: number, _base: number, epoch: number, group: number): number {
    // PyTorch's get_lr: the lr before annealing recovered from the current one, then the blend at this epoch.
    const step = this.annealEpochs === 0 ? Math.max(1, epoch) : epoch;
    const swa = this.swaLrs[group];
    const prevAlpha = this.anneal(Math.max(0, Math.min(1, (step - 1) / Math.max(1, this.annealEpochs))));
    const prevLr = prevAlpha === 1 ? swa : (current - prevAlpha * swa) / (1 - prevAlpha);
    const alpha = this.anneal(Math.max(0, Math.min(1, step / Math.max(1, this.annealEpochs))));
    return swa * alpha + prevLr * (1 - alpha);
  }
}

/**
 * Recomputes the batch-norm statistics of `model` (torch.optim.swa_utils.update_bn):
 * every BatchNorm1d's running statistics are reset and set to the
 * cumulative average over one pass of `loader` (an iterable of input
 * tensors, or of arrays whose first item is the input: a data.DataLoader,
 * whose batches are freed after use as by fit()), the model in
 * training mode and without recording; momenta and mode are restored after.
 * For the averaged weights of an AveragedModel, whose statistics were the
 * model's.
 */
export function updateBn(loader: Iterable<unknown>, model: Module): void {
  const op = 'updateBn';
  if (loader === null || typeof (loader as Partial<Iterable<unknown>>)?.[Symbol.iterator] !== 'function') fail('INVALID_ARGUMENT', `${op}: loader must be an iterable of inputs (or of [input, …] arrays); got ${describe(loader)}`);
  if (!(model instanceof Module)) fail('INVALID_ARGUMENT', `${op}: expected the model (a Module); got ${describe(model)}`);
  const norms = model.modules().filter((m): m is BatchNorm1d => m instanceof BatchNorm1d && m.trackRunningStats);
  if (norms.length === 0) return;
  const wasTraining = model.training;
  const momenta = norms.map((m) => m.momentum);
  noGrad(() =>
    norms.forEach((m) => {
      // PyTorch's reset_running_stats.
      tidy(() => {
        for (const [t, v] of [[m.runningMean!, 0], [m.runningVar!, 1], [m.numBatchesTracked!, 0]] as const)
          t.assign(full(t.shape, v, { dtype: t.dtype, device: t.device }));
      });
      (m as { momentum: number | null }).momentum = null;
    }),
  );
  model.train();
  // A DataLoader's batches are freed after use, as fit()'s (other iterables' items are the caller's).
  const release = loader instanceof DataLoader;
  try {
    let k = 0;
    for (const item of loader) {
      const x = Array.isArray(item) ? item[0] : item;
      if (!(x instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: loader item ${k} must be a Tensor or an array starting with one; got ${describe(item)}`);
      try {
        noGrad(() => tidy(() => void (model as Module & { forward(x: Tensor): unknown }).forward(x)));
      } finally {
        // The tensors the loader made for this batch (fit's rule).
        if (release) releaseFreshBatch(item);
      }
      k++;
    }
  } finally {
    norms.forEach((m, i) => ((m as { momentum: number | null }).momentum = momenta[i]));
    model.train(wasTraining);
  }
}
