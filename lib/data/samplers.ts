/**
 * torch.utils.data's samplers: iterables of dataset indices (or of batches of
 * indices). Random ones draw a fresh order each time they are iterated (each
 * epoch); with a `seed` the sequence of epochs replays exactly, without one
 * each epoch's generator is drawn from antler's global one (setSeed replays).
 */
import { fail } from '../errors';
import { Tensor } from '../tensor';
import { checkBoolean, checkInteger, checkOptions, describe } from '../validate';
import { EpochGenerator, randomBelow, shuffleInPlace, shuffled } from './rng';

/** Iterates indices; `length` is how many (PyTorch's Sampler with __len__). */
export interface Sampler<T = number> extends Iterable<T> {
  readonly length: number;
}

/** Anything with a length: a Dataset, an array. */
export interface Sized {
  readonly length: number;
}

function sizeOf(v: unknown, op: string, what = 'dataSource'): number {
  const n = (v as Sized | null)?.length;
  if (v === null || typeof v !== 'object' || typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    fail('INVALID_ARGUMENT', `${op}: ${what} must have an integer length ≥ 0 (a Dataset); got ${describe(v)}`);
  return n;
}

function indexArray(v: unknown, op: string, what: string, negative = false): number[] {
  if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) fail('INVALID_ARGUMENT', `${op}: ${what} must be an array of integers; got ${describe(v)}`);
  return Array.from(v as ArrayLike<number>, (i, k) => {
    if (typeof i !== 'number' || !Number.isInteger(i) || (!negative && i < 0)) fail('INVALID_ARGUMENT', `${op}: ${what}[${k}] is ${describe(i)}; expected an integer${negative ? '' : ' ≥ 0'}`);
    return i;
  });
}

/** torch.utils.data.SequentialSampler: 0, 1, …, length − 1. */
export class SequentialSampler implements Sampler {
  readonly #source: Sized;
  constructor(dataSource: Sized) {
    sizeOf(dataSource, 'SequentialSampler');
    this.#source = dataSource;
  }
  get length(): number {
    return this.#source.length;
  }
  *[Symbol.iterator](): Iterator<number> {
    const n = this.#source.length;
    for (let i = 0; i < n; i++) yield i;
  }
}

/** Options of RandomSampler. */
export interface RandomSamplerOptions {
  /** Draw with replacement (default false). */
  replacement?: boolean;
  /** How many indices an epoch yields (default the dataset's length; without replacement more than that repeats whole permutations, as PyTorch 1.13). */
  numSamples?: number;
  /** Seeds the epochs' orders (see the module's note). */
  seed?: number;
}

/**
 * torch.utils.data.RandomSampler: a fresh random permutation each epoch, or
 * numSamples independent uniform indices with replacement.
 */
export class RandomSampler implements Sampler {
  readonly #source: Sized;
  readonly replacement: boolean;
  readonly #numSamples: number | undefined;
  readonly #gen: EpochGenerator;

  constructor(dataSource: Sized, options?: RandomSamplerOptions) {
    const op = 'RandomSampler';
    sizeOf(dataSource, op);
    const o = checkOptions<RandomSamplerOptions>(options, op, ['replacement', 'numSamples', 'seed']);
    this.#source = dataSource;
    this.replacement = o.replacement === undefined ? false : checkBoolean(o.replacement, op, 'replacement');
    this.#numSamples = o.numSamples === undefined ? undefined : checkInteger(o.numSamples, op, 'numSamples', 1);
    this.#gen = new EpochGenerator(o.seed, op);
  }

  /** numSamples, or the dataset's length. */
  get length(): number {
    return this.#numSamples ?? this.#source.length;
  }

  *[Symbol.iterator](): Iterator<number> {
    const n = this.#source.length, m = this.length;
    if (n === 0 && m > 0) fail('INVALID_ARGUMENT', `RandomSampler: the dataSource is empty; numSamples ${m} indices cannot be drawn from 0 items`);
    const u = this.#gen.next();
    if (this.replacement) {
      for (let k = 0; k < m; k++) yield randomBelow(u, n);
      return;
    }
    for (let done = 0; done < m; ) {
      const p = shuffled(n, u);
      for (let k = 0; k < n && done < m; k++, done++) yield p[k];
    }
  }
}

/** Options of SubsetRandomSampler. */
export interface SubsetRandomSamplerOptions {
  seed?: number;
}

/**
 * torch.utils.data.SubsetRandomSampler: the given indices in a fresh random order each epoch. As torch's,
 * they are yielded as given: a negative one counts from the end of the dataset that reads it (checked there).
 */
export class SubsetRandomSampler implements Sampler {
  readonly indices: readonly number[];
  readonly #gen: EpochGenerator;

  constructor(indices: ArrayLike<number>, options?: SubsetRandomSamplerOptions) {
    const op = 'SubsetRandomSampler';
    // Yielded as given, as torch's: a negative index counts from the end of the dataset (checked there).
    this.indices = indexArray(indices, op, 'indices', true);
    const o = checkOptions<SubsetRandomSamplerOptions>(options, op, ['seed']);
    this.#gen = new EpochGenerator(o.seed, op);
  }
  get length(): number {
    return this.indices.length;
  }
  *[Symbol.iterator](): Iterator<number> {
    yield* shuffleInPlace(this.indices.slice(), this.#gen.next());
  }
}

/** Options of WeightedRandomSampler. */
export interface WeightedRandomSamplerOptions {
  /** Draw with replacement (default true, as PyTorch). */
  replacement?: boolean;
  seed?: number;
}

/**
 * torch.utils.data.WeightedRandomSampler: numSamples indices in
 * [0, weights.length), index i with probability weights[i] / Σ weights (the
 * weights need not sum to 1). Without replacement each index comes at most
 * once, drawn in turn with probability proportional to the weights left
 * (torch.multinomial's rule), so numSamples may not exceed the number of
 * positive weights.
 */
export class WeightedRandomSampler implements Sampler {
  readonly weights: readonly number[];
  readonly numSamples: number;
  readonly replacement: boolean;
  readonly #gen: EpochGenerator;
  readonly #cumulative: Float64Array;

  constructor(weights: ArrayLike<number> | Tensor, numSamples: number, options?: WeightedRandomSamplerOptions) {
    const op = 'WeightedRandomSampler';
    let w: ArrayLike<number>;
    if (weights instanceof Tensor) {
      if (weights.rank !== 1) fail('SHAPE_MISMATCH', `${op}: weights must be one-dimensional; got a tensor of shape [${weights.shape.join(', ')}]`);
      w = weights.dataSync();
    } else if (Array.isArray(weights) || (ArrayBuffer.isView(weights) && !(weights instanceof DataView))) {
      w = weights;
    } else fail('INVALID_ARGUMENT', `${op}: weights must be an array of numbers or a 1-D tensor; got ${describe(weights)}`);
    this.weights = Array.from(w, (x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) fail('INVALID_ARGUMENT', `${op}: weights[${i}] is ${describe(x)}; weights must be finite and ≥ 0`);
      return x;
    });
    if (this.weights.length === 0) fail('INVALID_ARGUMENT', `${op}: weights is empty; expected at least one weight`);
    this.numSamples = checkInteger(numSamples, op, 'numSamples', 1);
    const o = checkOptions<WeightedRandomSamplerOptions>(options, op, ['replacement', 'seed']);
    this.replacement = o.replacement === undefined ? true : checkBoolean(o.replacement, op, 'replacement');
    const positive = this.weights.filter((x) => x > 0).length;
    if (positive === 0) fail('INVALID_ARGUMENT', `${op}: all ${this.weights.length} weights are 0; at least one must be positive`);
    if (!this.replacement && this.numSamples > positive)
      fail('INVALID_ARGUMENT', `${op}: numSamples ${this.numSamples} exceeds the ${positive} positive weights; without replacement each index is drawn at most once`);
    this.#gen = new EpochGenerator(o.seed, op);
    this.#cumulative = new Float64Array(this.weights.length);
    let s = 0;
    this.weights.forEach((x, i) => (this.#cumulative[i] = s += x));
  }

  get length(): number {
    return this.numSamples;
  }

  *[Symbol.iterator](): Iterator<number> {
    const u = this.#gen.next();
    const c = this.#cumulative, n = c.length, total = c[n - 1];
    if (this.replacement) {
      for (let k = 0; k < this.numSamples; k++) {
        // The first i with c[i] > target: a zero weight's bin is empty, never chosen.
        const target = u() * total;
        let lo = 0, hi = n - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (c[mid] > target) hi = mid;
          else lo = mid + 1;
        }
        while (this.weights[lo] === 0) lo--; // rounding at the top edge
        yield lo;
      }
      return;
    }
    // Successive draws without replacement ≡ the numSamples largest keys log(U)/w (Efraimidis–Spirakis).
    const keys: [number, number][] = [];
    this.weights.forEach((x, i) => {
      if (x > 0) keys.push([Math.log(1 - u()) / x, i]);
    });
    keys.sort((a, b) => b[0] - a[0]);
    for (let k = 0; k < this.numSamples; k++) yield keys[k][1];
  }
}

/**
 * torch.utils.data.BatchSampler: groups a sampler's indices into arrays of
 * batchSize (the last one shorter unless dropLast).
 */
export class BatchSampler implements Sampler<number[]> {
  readonly sampler: Iterable<number> & Partial<Sized>;
  readonly batchSize: number;
  readonly dropLast: boolean;

  constructor(sampler: Iterable<number>, batchSize: number, dropLast = false) {
    const op = 'BatchSampler';
    if (sampler === null || typeof (sampler as Iterable<number>)?.[Symbol.iterator] !== 'function') fail('INVALID_ARGUMENT', `${op}: sampler must be an iterable of indices; got ${describe(sampler)}`);
    this.sampler = sampler;
    this.batchSize = checkInteger(batchSize, op, 'batchSize', 1);
    this.dropLast = checkBoolean(dropLast, op, 'dropLast');
  }

  /** The number of batches (needs the sampler's length). */
  get length(): number {
    const n = this.sampler.length;
    if (typeof n !== 'number') fail('NOT_SUPPORTED', 'BatchSampler: the sampler has no length, so the number of batches is unknown');
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<number[]> {
    let batch: number[] = [];
    for (const i of this.sampler) {
      batch.push(i);
      if (batch.length === this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0 && !this.dropLast) yield batch;
  }
}

/** Options of BucketBatchSampler. */
export interface BucketBatchSamplerOptions {
  /** Shuffle the items before bucketing and the batches after (default true). */
  shuffle?: boolean;
  /** Drop the one short batch (default false). */
  dropLast?: boolean;
  seed?: number;
  /** Items per bucket, rounded up to a multiple of batchSize (default 50 batches). */
  bucketSize?: number;
}

/**
 * Batches of sequences of similar length, for recurrent models (less
 * padding; no PyTorch counterpart in torch.utils.data). Each epoch: the
 * indices are shuffled (with shuffle; else kept in order), cut into buckets of
 * bucketSize consecutive indices (a multiple of batchSize, so only the last
 * bucket may be short), each bucket is sorted by length, longest first (ties
 * keep their order), and cut into batches of batchSize; then the batches'
 * order is shuffled (with shuffle). Each index comes exactly once an epoch
 * (but the one short batch with dropLast). bucketSize ≥ the dataset's size
 * sorts globally: each batch then holds consecutive lengths of the sorted set.
 */
export class BucketBatchSampler implements Sampler<number[]> {
  readonly lengths: readonly number[];
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly bucketSize: number;
  readonly #gen: EpochGenerator;

  constructor(lengths: ArrayLike<number> | Tensor, batchSize: number, options?: BucketBatchSamplerOptions) {
    const op = 'BucketBatchSampler';
    const raw = lengths instanceof Tensor ? lengths.dataSync() : lengths;
    if (lengths instanceof Tensor && lengths.rank !== 1) fail('SHAPE_MISMATCH', `${op}: lengths must be one-dimensional; got a tensor of shape [${lengths.shape.join(', ')}]`);
    this.lengths = indexArray(raw, op, 'lengths');
    this.batchSize = checkInteger(batchSize, op, 'batchSize', 1);
    const o = checkOptions<BucketBatchSamplerOptions>(options, op, ['shuffle', 'dropLast', 'seed', 'bucketSize']);
    this.shuffle = o.shuffle === undefined ? true : checkBoolean(o.shuffle, op, 'shuffle');
    this.dropLast = o.dropLast === undefined ? false : checkBoolean(o.dropLast, op, 'dropLast');
    const bucket = o.bucketSize === undefined ? 50 * this.batchSize : checkInteger(o.bucketSize, op, 'bucketSize', 1);
    this.bucketSize = Math.ceil(bucket / this.batchSize) * this.batchSize;
    this.#gen = new EpochGenerator(o.seed, op);
  }

  get length(): number {
    const n = this.lengths.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<number[]> {
    const n = this.lengths.length;
    const u = this.shuffle ? this.#gen.next() : null;
    const order = u ? shuffled(n, u) : Array.from({ length: n }, (_, i) => i);
    const batches: number[][] = [];
    for (let start = 0; start < n; start += this.bucketSize) {
      const bucket = order.slice(start, start + this.bucketSize);
      bucket.sort((a, b) => this.lengths[b] - this.lengths[a]); // stable
      for (let k = 0; k < bucket.length; k += this.batchSize) {
        const batch = bucket.slice(k, k + this.batchSize);
        if (batch.length === this.batchSize || !this.dropLast) batches.push(batch);
      }
    }
    if (u) shuffleInPlace(batches, u);
    yield* batches;
  }
}
