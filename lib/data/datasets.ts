/** torch.utils.data's datasets: Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, randomSplit. */
import { fail } from '../errors';
import { select } from '../ops/shape';
import { checkTensor, Tensor } from '../tensor';
import { checkOptions, describe, shapeText } from '../validate';
import { drawGenerator, shuffled } from './rng';

/**
 * A map-style dataset (torch.utils.data.Dataset): `length` items, item i from
 * `getItem(i)` (PyTorch's `__getitem__`), synchronously. Tensors an item
 * creates are the caller's (a DataLoader frees them after collating).
 */
export abstract class Dataset<T = unknown> {
  /** Item i, 0 ≤ i < length. */
  abstract getItem(index: number): T;
  /** The number of items. */
  abstract get length(): number;
}

/**
 * An iterable-style dataset (torch.utils.data.IterableDataset): a stream of
 * items with no random access. A DataLoader batches it in the stream's order
 * (no sampler, no shuffle); its `length` is unknown.
 */
export abstract class IterableDataset<T = unknown> {
  abstract [Symbol.iterator](): Iterator<T>;
}

/**
 * @internal Checks an index into a dataset of n items and returns it in [0, n): a negative one counts from
 * the end (−1 the last), as Python's indexing of torch's TensorDataset, ConcatDataset and a Subset's list.
 */
export function checkIndex(index: unknown, n: number, op: string): number {
  if (typeof index !== 'number' || !Number.isInteger(index) || index < -n || index >= n)
    fail('INVALID_ARGUMENT', `${op}: index ${describe(index)} is out of range; expected an integer in [${-n}, ${n}) (negative ones count from the end) for ${n} item${n === 1 ? '' : 's'}`);
  return index < 0 ? index + n : index;
}

/** @internal A Dataset or any object with getItem and a length. */
export function checkDataset(v: unknown, op: string, what = 'dataset'): Dataset {
  const d = v as Dataset | null;
  if (!d || typeof d !== 'object' || typeof d.getItem !== 'function' || typeof d.length !== 'number' || !Number.isInteger(d.length) || d.length < 0)
    fail('INVALID_ARGUMENT', `${op}: ${what} must be a Dataset (getItem(i) and an integer length ≥ 0); got ${describe(v)}`);
  return d;
}

/**
 * torch.utils.data.TensorDataset: item i is the array of row i of each
 * tensor (`[x[i], y[i]]`). The tensors must share their first dimension; the
 * dataset does not own them (dispose them when done). Each getItem makes new
 * row tensors; a DataLoader with the default collate takes a whole batch's
 * rows with one indexSelect per tensor instead.
 */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: readonly Tensor[];

  constructor(...tensors: Tensor[]) {
    super();
    const op = 'TensorDataset';
    if (tensors.length === 0) fail('INVALID_ARGUMENT', `${op}: expected at least one tensor`);
    tensors.forEach((t, i) => {
      checkTensor(t, op, `tensors[${i}]`);
      if (t.rank === 0) fail('SHAPE_MISMATCH', `${op}: tensors[${i}] is a scalar; each tensor needs a first (item) axis`);
      if (t.shape[0] !== tensors[0].shape[0])
        fail('SHAPE_MISMATCH', `${op}: tensors[${i}] has shape ${shapeText(t.shape)} and tensors[0] ${shapeText(tensors[0].shape)}; all tensors must have the same size of the first dimension`);
    });
    this.tensors = tensors.slice();
  }

  get length(): number {
    return this.tensors[0].shape[0];
  }

  /** Row `index` of each tensor; a negative index counts from the end (−1 the last row), as torch's. */
  getItem(index: number): Tensor[] {
    const i = checkIndex(index, this.length, 'TensorDataset.getItem');
    return this.tensors.map((t) => select(t, 0, i));
  }
}

/**
 * torch.utils.data.Subset: the items of `dataset` at `indices`, in that order.
 * An index may be negative, counting from the end of `dataset` (−1 its last
 * item), as torch's Subset of a TensorDataset or a list takes it; `indices`
 * holds them counted from the start (so a dataset whose getItem takes only
 * 0 ≤ i < length works too, where torch would pass it the negative index).
 * An index outside [−length, length) is refused (INVALID_ARGUMENT) here,
 * not at the first getItem as in torch. getItem(i) takes a negative i too.
 */
export class Subset<T = unknown> extends Dataset<T> {
  readonly dataset: Dataset<T>;
  readonly indices: readonly number[];

  constructor(dataset: Dataset<T>, indices: ArrayLike<number>) {
    super();
    const op = 'Subset';
    this.dataset = checkDataset(dataset, op) as Dataset<T>;
    if (!Array.isArray(indices) && !(ArrayBuffer.isView(indices) && !(indices instanceof DataView))) fail('INVALID_ARGUMENT', `${op}: indices must be an array of integers; got ${describe(indices)}`);
    this.indices = Array.from(indices as ArrayLike<number>, (i, k) => checkIndex(i, dataset.length, `${op}: indices[${k}]`));
  }

  get length(): number {
    return this.indices.length;
  }

  getItem(index: number): T {
    return this.dataset.getItem(this.indices[checkIndex(index, this.indices.length, 'Subset.getItem')]);
  }
}

/** torch.utils.data.ConcatDataset: the datasets' items one after another. */
export class ConcatDataset<T = unknown> extends Dataset<T> {
  readonly datasets: readonly Dataset<T>[];
  /** Running totals of the datasets' lengths (PyTorch's cumulative_sizes). */
  readonly cumulativeSizes: readonly number[];

  constructor(datasets: readonly Dataset<T>[]) {
    super();
    const op = 'ConcatDataset';
    if (!Array.isArray(datasets) || datasets.length === 0) fail('INVALID_ARGUMENT', `${op}: expected a non-empty array of datasets; got ${describe(datasets)}`);
    datasets.forEach((d, i) => {
      checkDataset(d, op, `datasets[${i}]`);
      if (d instanceof IterableDataset) fail('INVALID_ARGUMENT', `${op}: datasets[${i}] is an IterableDataset; ConcatDataset takes map-style datasets`);
    });
    this.datasets = datasets.slice();
    let total = 0;
    this.cumulativeSizes = datasets.map((d) => (total += d.length));
  }

  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1];
  }

  /** Item `index` of the datasets in order; a negative index counts from the end, as torch's. */
  getItem(index: number): T {
    index = checkIndex(index, this.length, 'ConcatDataset.getItem');
    let k = 0;
    while (index >= this.cumulativeSizes[k]) k++;
    return this.datasets[k].getItem(index - (k === 0 ? 0 : this.cumulativeSizes[k - 1]));
  }
}

/** Options of randomSplit(). */
export interface RandomSplitOptions {
  /** Seeds the permutation; without it the seed is drawn from antler's global generator (setSeed replays it). */
  seed?: number;
}

/**
 * torch.utils.data.random_split: disjoint Subsets of the given lengths over a
 * random permutation of the dataset. `lengths` are item counts summing to the
 * dataset's length, or fractions in [0, 1] summing to 1 (within 1e-9, at most 1: then even [1] or
 * [0, 1] are fractions, as PyTorch's math.isclose rule): each
 * gets floor(n·fraction) items and the remainder is handed out one item each
 * round-robin from the first split, as PyTorch 1.13. The permutation is not
 * PyTorch's (another generator).
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], options?: RandomSplitOptions): Subset<T>[] {
  const op = 'randomSplit';
  checkDataset(dataset, op);
  const o = checkOptions<RandomSplitOptions>(options, op, ['seed']);
  if (!Array.isArray(lengths) || lengths.length === 0) fail('INVALID_ARGUMENT', `${op}: lengths must be a non-empty array of numbers; got ${describe(lengths)}`);
  lengths.forEach((l, i) => {
    if (typeof l !== 'number' || !Number.isFinite(l) || l < 0) fail('INVALID_ARGUMENT', `${op}: lengths[${i}] is ${describe(l)}; expected a count ≥ 0 or a fraction in [0, 1]`);
  });
  const n = dataset.length;
  const total = lengths.reduce((s, l) => s + l, 0);
  let sizes: number[];
  if (Math.abs(total - 1) <= 1e-9 && total <= 1) {
    lengths.forEach((l, i) => {
      if (l > 1) fail('INVALID_ARGUMENT', `${op}: fraction at index ${i} is ${l}; fractions must be in [0, 1]`);
    });
    sizes = lengths.map((f) => Math.floor(n * f));
    const remainder = n - sizes.reduce((s, l) => s + l, 0);
    for (let i = 0; i < remainder; i++) sizes[i % sizes.length] += 1;
  } else {
    lengths.forEach((l, i) => {
      if (!Number.isInteger(l)) fail('INVALID_ARGUMENT', `${op}: lengths[${i}] is ${l}; lengths must be integers (counts) or fractions summing to 1 (these sum to ${total})`);
    });
    sizes = lengths.slice();
  }
  const sum = sizes.reduce((s, l) => s + l, 0);
  if (sum !== n) fail('INVALID_ARGUMENT', `${op}: the lengths sum to ${sum}; they must sum to the dataset's length ${n} (or be fractions summing to 1)`);
  const perm = shuffled(n, drawGenerator(o.seed, op));
  let offset = 0;
  return sizes.map((size) => new Subset(dataset, perm.slice(offset, (offset += size))));
}
