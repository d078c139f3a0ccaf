/** torch.utils.data.DataLoader: batches of a dataset, sync and async iteration. */
import { HELD_TENSORS, tidyMade } from '../engine';
import { fail } from '../errors';
import { indexSelect } from '../ops/indexing';
import { tensor, Tensor } from '../tensor';
import { checkBoolean, checkInteger, checkOptions, describe } from '../validate';
import { CollateFn, Collated, defaultCollate, isPlainObject } from './collate';
import { checkDataset, checkIndex, Dataset, IterableDataset, TensorDataset } from './datasets';
import { BatchSampler, RandomSampler, Sampler, SequentialSampler } from './samplers';

/**
 * @internal The tensors a DataLoader made for the batches it yielded (not
 * those a collateFn or a dataset passed through as they were): fit() and
 * evaluate() free these after each step, and only these.
 */
export const freshBatchTensors = new WeakSet<object>();

/**
 * @internal The tensors of a batch — in arrays, plain objects, Maps, Sets and
 * what holds tensors as a PackedSequence does — each once.
 */
export function batchTensors(b: unknown): Tensor[] {
  const out = new Set<Tensor>();
  const seen = new Set<unknown>();
  const stack = [b];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    const held = (v as { [HELD_TENSORS]?: unknown })[HELD_TENSORS];
    if (v instanceof Tensor) out.add(v);
    else if (typeof held === 'function') stack.push(...(held.call(v) as unknown[]));
    else if (Array.isArray(v)) stack.push(...v);
    else if (v instanceof Map) stack.push(...v.values());
    else if (v instanceof Set) stack.push(...v);
    else if (isPlainObject(v)) stack.push(...Object.values(v));
  }
  return [...out];
}

/**
 * @internal Frees the tensors of batch `b` a DataLoader made for it (not those
 * passed through, nor those made under keep(), as tidy() spares them): what
 * fit(), evaluate() and optim.updateBn do after each step.
 */
export function releaseFreshBatch(b: unknown): void {
  for (const t of batchTensors(b)) if (freshBatchTensors.has(t) && !t.kept) t.dispose();
}

/**
 * tidy(fn), the tensors it made marked fresh; those its result holds that it
 * did not make (passed through as they were: a dataset's, or a batch that any
 * loader made before, served again) are unmarked: not this batch's to free.
 */
function made<R>(fn: () => R): R {
  const r = tidyMade(fn as () => never);
  for (const t of r.made) freshBatchTensors.add(t);
  for (const t of batchTensors(r.result)) if (!r.made.has(t)) freshBatchTensors.delete(t);
  return r.result as R;
}

/** Options of DataLoader. */
export interface DataLoaderOptions<T = unknown, B = Collated<T>> {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** A fresh random order each epoch (default false; a RandomSampler). */
  shuffle?: boolean;
  /** The order of indices (excludes shuffle). */
  sampler?: Iterable<number>;
  /** Yields whole batches of indices (excludes batchSize, shuffle, sampler and dropLast). */
  batchSampler?: Iterable<number[]>;
  /** Drop the last, short batch (default false). */
  dropLast?: boolean;
  /**
   * Items → batch (default defaultCollate). It runs inside tidy(): the tensors
   * of its result are kept when they sit in arrays, plain objects, Maps or Sets
   * (what tidy() searches); tensors held by a class instance are freed.
   */
  collateFn?: CollateFn<T, B>;
  /** Seeds shuffle's RandomSampler (PyTorch's generator); without it shuffling draws from antler's global generator. */
  seed?: number;
}

/**
 * torch.utils.data.DataLoader (single process): iterates a dataset in batches,
 * `for (const batch of loader)` or `for await (const batch of loader)` (the
 * async form yields to the event loop between batches). Each iteration is an
 * epoch; with shuffle each epoch has a fresh order.
 *
 * The batches' tensors are new and the caller's: dispose them, or run each
 * step inside tidy(); fit() and evaluate() given the loader free them after
 * each step (those the loader made, not a dataset's tensors a collateFn
 * passed through as they were). The tensors the items and collation make on the way are
 * freed. Fast path: a TensorDataset with the default collate takes each
 * batch's rows with one indexSelect per tensor (no per-item tensors); the
 * batch is the same array of stacked rows defaultCollate would give.
 *
 * The batch's type B is what collateFn returns (Collated<T> for the default).
 *
 * Option conflicts are PyTorch's: sampler with shuffle; batchSampler with
 * batchSize (other than 1), shuffle, sampler or dropLast; an IterableDataset
 * with shuffle, sampler or batchSampler.
 */
export class DataLoader<T = unknown, B = Collated<T>> implements Iterable<B>, AsyncIterable<B> {
  readonly dataset: Dataset<T> | IterableDataset<T>;
  readonly batchSize: number | null;
  readonly dropLast: boolean;
  readonly sampler: Iterable<number> | null;
  readonly batchSampler: Iterable<number[]> | null;
  readonly collateFn: CollateFn<T, B>;
  readonly #fast: boolean;

  constructor(dataset: Dataset<T> | IterableDataset<T>, options?: DataLoaderOptions<T, B>) {
    const op = 'DataLoader';
    const o = checkOptions<DataLoaderOptions<T, B>>(options, op, ['batchSize', 'shuffle', 'sampler', 'batchSampler', 'dropLast', 'collateFn', 'seed']);
    const shuffle = o.shuffle === undefined ? false : checkBoolean(o.shuffle, op, 'shuffle');
    this.dropLast = o.dropLast === undefined ? false : checkBoolean(o.dropLast, op, 'dropLast');
    const batchSize = o.batchSize === undefined ? 1 : checkInteger(o.batchSize, op, 'batchSize', 1);
    if (o.seed !== undefined) checkInteger(o.seed, op, 'seed');
    if (o.collateFn !== undefined && typeof o.collateFn !== 'function') fail('INVALID_ARGUMENT', `${op}: collateFn must be a function; got ${describe(o.collateFn)}`);
    this.collateFn = o.collateFn ?? (defaultCollate as CollateFn<T, B>);
    const iterableOf = (v: unknown, what: string) => {
      if (v === null || typeof (v as Iterable<unknown>)?.[Symbol.iterator] !== 'function') fail('INVALID_ARGUMENT', `${op}: ${what} must be iterable; got ${describe(v)}`);
    };
    if (o.sampler !== undefined) iterableOf(o.sampler, 'sampler');
    if (o.batchSampler !== undefined) iterableOf(o.batchSampler, 'batchSampler');
    this.dataset = dataset;
    if (dataset instanceof IterableDataset) {
      if (shuffle || o.sampler !== undefined || o.batchSampler !== undefined)
        fail('INVALID_ARGUMENT', `${op}: an IterableDataset takes no shuffle, sampler or batchSampler (its order is its own)`);
      this.batchSize = batchSize;
      this.sampler = this.batchSampler = null;
      this.#fast = false;
      return;
    }
    checkDataset(dataset, op);
    if (o.sampler !== undefined && shuffle) fail('INVALID_ARGUMENT', `${op}: sampler option is mutually exclusive with shuffle`);
    if (o.batchSampler !== undefined) {
      if (batchSize !== 1 || shuffle || o.sampler !== undefined || this.dropLast)
        fail('INVALID_ARGUMENT', `${op}: batchSampler option is mutually exclusive with batchSize, shuffle, sampler, and dropLast`);
      this.batchSize = null;
      this.sampler = null;
      this.batchSampler = o.batchSampler;
    } else {
      this.batchSize = batchSize;
      this.sampler = o.sampler ?? (shuffle ? new RandomSampler(dataset, { seed: o.seed }) : new SequentialSampler(dataset));
      this.batchSampler = new BatchSampler(this.sampler, batchSize, this.dropLast);
    }
    // Only TensorDataset's own getItem may be bypassed: a subclass that overrides it (a transform) takes the per-item path.
    this.#fast = dataset instanceof TensorDataset && dataset.getItem === TensorDataset.prototype.getItem && this.collateFn === (defaultCollate as unknown);
  }

  /** The number of batches an epoch yields (PyTorch's len(loader)); unknown for an IterableDataset. */
  get length(): number {
    if (this.batchSampler === null) fail('NOT_SUPPORTED', 'DataLoader: the length of a loader over an IterableDataset is unknown');
    const n = (this.batchSampler as Partial<Sampler<number[]>>).length;
    if (typeof n !== 'number') fail('NOT_SUPPORTED', 'DataLoader: the batchSampler has no length, so the number of batches is unknown');
    return n;
  }

  #batch(indices: number[]): B {
    if (this.#fast && indices.length > 0) {
      const ds = this.dataset as unknown as TensorDataset;
      const n = ds.length;
      // A negative index (a SubsetRandomSampler's, as torch takes it) counts from the end, as getItem's.
      const rows = indices.map((i, k) => checkIndex(i, n, `DataLoader: batch index ${k}`));
      return made(() => {
        const idx = tensor(Int32Array.from(rows), [rows.length], { dtype: 'int32', device: ds.tensors[0].device });
        return ds.tensors.map((t) => indexSelect(t, 0, t.device === idx.device ? idx : idx.to(t.device)));
      }) as unknown as B;
    }
    const ds = this.dataset as Dataset<T>;
    return made(() => this.collateFn(indices.map((i) => ds.getItem(i))) as never) as B;
  }

  *#batches(): Generator<B> {
    if (this.batchSampler === null) {
      // The items are pulled inside the batch's tidy: tensors the stream makes for them are freed after collation.
      const size = this.batchSize as number;
      const it = (this.dataset as IterableDataset<T>)[Symbol.iterator]();
      let done = false;
      try {
        while (!done) {
          const batch = made(() => {
            const items: T[] = [];
            while (items.length < size) {
              const r = it.next();
              if (r.done) {
                done = true;
                break;
              }
              items.push(r.value);
            }
            return items.length === 0 || (items.length < size && this.dropLast) ? null : { b: this.collateFn(items) as never };
          });
          if (batch) yield (batch as { b: B }).b;
        }
      } finally {
        // Left early (a break, an error): close the stream as for-of would, so its finally blocks run.
        if (!done) it.return?.();
      }
      return;
    }
    for (const indices of this.batchSampler) {
      if (!Array.isArray(indices)) fail('INVALID_ARGUMENT', `DataLoader: the batchSampler yielded ${describe(indices)}; expected an array of indices`);
      yield this.#batch(indices);
    }
  }

  [Symbol.iterator](): Iterator<B> {
    return this.#batches();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    for (const batch of this.#batches()) {
      yield batch;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
