/**
 * torch.nn.utils.rnn's packed sequences: PackedSequence, packPaddedSequence,
 * padPackedSequence, packSequence, unpackSequence and unpadSequence, with
 * PyTorch 2.x's names, layout and rules.
 *
 * Layout (PyTorch's): the sequences sorted by length, longest first (stable:
 * equal lengths keep their order; torch.sort gives ties no set order, so from
 * about 16 sequences up its sortedIndices, and data's row order, may differ
 * among equal lengths; the unpacked results are the same), are interleaved
 * time-major: `data` holds
 * step 0 of every sorted sequence, then step 1 of those at least 2 long, and
 * so on; `batchSizes[t]` counts the sequences still running at step t. Every
 * conversion is one recorded row gather (gatherRows) with an index built on
 * the host once, so gradients flow between the padded and the packed forms.
 */
import { HELD_TENSORS, tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, full, tensor, Tensor } from '../tensor';
import { checkBoolean, checkDevice, checkInteger, checkNumber, checkOptions, describe, shapeText, numel } from '../validate';
import { concat, reshape } from './core';
import { gatherRows } from './indexing';
import { Lengths, padSequence, readLengths } from './sequence';
import { split } from './shape';

/** @internal What the host knows of a PackedSequence: enough to build every index without reading the device. */
interface Layout {
  /** batchSizes, as numbers. */
  batchSizes: number[];
  /** The original batch index of each sorted position (the identity without sortedIndices). */
  sorted: number[];
  /** The sorted position of each original batch index. */
  unsorted: number[];
  /** Each sequence's length, in the original order. */
  lengths: number[];
  /** The first packed row of each step. */
  offsets: number[];
  /** Rows of data (the sum of the lengths), the batch size and the longest length. */
  N: number;
  B: number;
  T: number;
}

function layoutOf(batchSizes: number[], sorted: number[] | null): Layout {
  const T = batchSizes.length, B = batchSizes[0];
  const order = sorted ?? Array.from({ length: B }, (_, b) => b);
  const unsorted = new Array<number>(B);
  order.forEach((b, p) => (unsorted[b] = p));
  const offsets = new Array<number>(T);
  let N = 0;
  for (let t = 0; t < T; t++) {
    offsets[t] = N;
    N += batchSizes[t];
  }
  // The sorted sequence at position p runs while batchSizes[t] > p.
  const lengths = new Array<number>(B).fill(0);
  for (let t = 0; t < T; t++) for (let p = 0; p < batchSizes[t]; p++) lengths[order[p]]++;
  return { batchSizes, sorted: order, unsorted, lengths, offsets, N, B, T };
}

/** The layout of sequences of the given lengths (original order), sorted longest first, stably. */
function layoutOfLengths(lens: number[], sort: boolean): Layout {
  const B = lens.length;
  const sorted = Array.from({ length: B }, (_, b) => b);
  if (sort) sorted.sort((a, b) => lens[b] - lens[a] || a - b);
  const T = Math.max(...lens);
  const batchSizes = new Array<number>(T).fill(0);
  for (const n of lens) for (let t = 0; t < n; t++) batchSizes[t]++;
  return layoutOf(batchSizes, sort ? sorted : null);
}

const int32 = (values: ArrayLike<number>, device: string): Tensor => tensor(Int32Array.from(values), [values.length], { dtype: 'int32', device });

/** The padded row (of a [T·B, F] or, batchFirst, [B·T, F] view, T = Tp) of each packed row. */
function packIndex(L: Layout, Tp: number, batchFirst: boolean): Int32Array {
  const idx = new Int32Array(L.N);
  let r = 0;
  for (let t = 0; t < L.T; t++)
    for (let p = 0; p < L.batchSizes[t]; p++) {
      const b = L.sorted[p];
      idx[r++] = batchFirst ? b * Tp + t : t * L.B + b;
    }
  return idx;
}

/** The packed row of each padded row ([Tp·B] or, batchFirst, [B·Tp]); N (one row past data) at the padding. */
function unpackIndex(L: Layout, Tp: number, batchFirst: boolean): Int32Array {
  const idx = new Int32Array(Tp * L.B);
  for (let b = 0; b < L.B; b++) {
    const p = L.unsorted[b], n = L.lengths[b];
    for (let t = 0; t < Tp; t++) idx[batchFirst ? b * Tp + t : t * L.B + b] = t < n ? L.offsets[t] + p : L.N;
  }
  return idx;
}

/** x's rows ([rows, …tail] viewed as [rows, F]) at index, shaped [index.length, …tail]: one recorded gather. */
function rowsOf(x: Tensor, rows: number, tail: number[], index: Int32Array): Tensor {
  const F = numel(tail);
  return reshape(gatherRows(reshape(x, [rows, F]), int32(index, x.device)), [index.length, ...tail]);
}

/**
 * torch.nn.utils.rnn.PackedSequence: a batch of sequences of different
 * lengths without padding. `data` [Σ Tᵢ, …] holds the sequences sorted by
 * length (longest first) and interleaved time-major; `batchSizes` (int32
 * [T_max], on the CPU as PyTorch's) how many are still running at each step;
 * `sortedIndices` (int32 [B], the data's device) the original batch index of
 * each sorted position and `unsortedIndices` its inverse, both null when the
 * batch was already sorted (enforceSorted). Made by packPaddedSequence or
 * packSequence; nn.GRU/LSTM/RNN and nn.SRU take one in forward.
 *
 * It owns its four tensors: dispose() frees them, tidy() keeps them when the
 * sequence is returned (also inside an array or object) and frees them
 * otherwise, and keep(packed) keeps all four.
 */
export class PackedSequence {
  readonly #data: Tensor;
  readonly #batchSizes: Tensor;
  readonly #sortedIndices: Tensor | null;
  readonly #unsortedIndices: Tensor | null;
  /** @internal */ readonly layout: Layout;

  /**
   * Wraps existing tensors, as PyTorch's PackedSequence(data, batch_sizes,
   * sorted_indices, unsorted_indices) (which PyTorch discourages building by
   * hand): batchSizes an int32 CPU tensor (or numbers), positive and
   * non-increasing, summing to data's first dimension; sortedIndices a
   * permutation of [0, batchSizes[0]) (int32, on data's device) or null;
   * unsortedIndices its inverse, or null (then computed from sortedIndices).
   * The sequence takes ownership of the tensors passed.
   */
  constructor(data: Tensor, batchSizes: Tensor | ArrayLike<number>, sortedIndices?: Tensor | null, unsortedIndices?: Tensor | null);
  /** @internal Built by this module with a layout known on the host: nothing is read back or checked. */
  constructor(data: Tensor, batchSizes: Tensor, sortedIndices: Tensor | null, unsortedIndices: Tensor | null, layout: Layout);
  constructor(data: Tensor, batchSizes: Tensor | ArrayLike<number>, sortedIndices?: Tensor | null, unsortedIndices?: Tensor | null, layout?: Layout) {
    if (layout) {
      this.#data = data;
      this.#batchSizes = batchSizes as Tensor;
      this.#sortedIndices = sortedIndices ?? null;
      this.#unsortedIndices = unsortedIndices ?? null;
      this.layout = layout;
      return;
    }
    const op = 'PackedSequence';
    checkTensor(data, op, 'data');
    if (data.rank === 0) fail('SHAPE_MISMATCH', `${op}: data must be [Σ lengths, …]; got a scalar`);
    let sizes: number[];
    let bs: Tensor | null = null;
    if (batchSizes instanceof Tensor) {
      bs = checkTensor(batchSizes, op, 'batchSizes');
      if (bs.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: batchSizes must be an int32 tensor; got ${bs.dtype}`);
      if (bs.device !== 'cpu') fail('DEVICE_MISMATCH', `${op}: batchSizes must be on the CPU (as PyTorch's batch_sizes); got ${bs.device}`);
      if (bs.rank !== 1 || bs.size === 0) fail('SHAPE_MISMATCH', `${op}: batchSizes must be 1-D and non-empty; got shape ${shapeText(bs.shape)}`);
      sizes = Array.from(bs.dataSync() as Int32Array);
    } else if (Array.isArray(batchSizes) || (ArrayBuffer.isView(batchSizes) && !(batchSizes instanceof DataView))) {
      sizes = Array.from(batchSizes as ArrayLike<number>);
      if (sizes.length === 0) fail('SHAPE_MISMATCH', `${op}: batchSizes must be non-empty`);
    } else fail('INVALID_ARGUMENT', `${op}: batchSizes must be an int32 Tensor or an array of numbers; got ${describe(batchSizes)}`);
    sizes.forEach((v, t) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || (t > 0 && v > sizes[t - 1]))
        fail('INVALID_ARGUMENT', `${op}: batchSizes[${t}] is ${describe(v)}; batch sizes must be positive integers, non-increasing (${t > 0 ? `batchSizes[${t - 1}] is ${sizes[t - 1]}` : 'the first is the batch size'})`);
    });
    const total = sizes.reduce((a, v) => a + v, 0);
    if (data.shape[0] !== total) fail('SHAPE_MISMATCH', `${op}: data has ${data.shape[0]} rows (shape ${shapeText(data.shape)}); batchSizes sum to ${total}`);
    const B = sizes[0];
    const perm = (t: unknown, what: string): number[] => {
      const s = checkTensor(t, op, what);
      if (s.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: ${what} must be an int32 tensor; got ${s.dtype}`);
      if (s.device !== data.device) fail('DEVICE_MISMATCH', `${op}: ${what} is on ${s.device}; data is on ${data.device}`);
      if (s.rank !== 1 || s.shape[0] !== B) fail('SHAPE_MISMATCH', `${op}: ${what} must have shape [${B}] (batchSizes[0]); got ${shapeText(s.shape)}`);
      const v = Array.from(s.dataSync() as Int32Array);
      const seen = new Set(v);
      if (seen.size !== B || v.some((i) => i < 0 || i >= B)) fail('INVALID_ARGUMENT', `${op}: ${what} must be a permutation of [0, ${B}); got [${v.join(', ')}]`);
      return v;
    };
    const sorted = sortedIndices === undefined || sortedIndices === null ? null : perm(sortedIndices, 'sortedIndices');
    const hasUnsorted = unsortedIndices !== undefined && unsortedIndices !== null;
    if (hasUnsorted && !sorted) fail('INVALID_ARGUMENT', `${op}: unsortedIndices was passed without sortedIndices (it is sortedIndices' inverse)`);
    const L = layoutOf(sizes, sorted);
    if (hasUnsorted) {
      const u = perm(unsortedIndices, 'unsortedIndices');
      if (u.some((p, b) => p !== L.unsorted[b])) fail('INVALID_ARGUMENT', `${op}: unsortedIndices [${u.join(', ')}] is not the inverse of sortedIndices [${sorted!.join(', ')}]`);
    }
    this.#data = data;
    this.#batchSizes = bs ?? int32(sizes, 'cpu');
    this.#sortedIndices = sorted ? (sortedIndices as Tensor) : null;
    this.#unsortedIndices = sorted ? (hasUnsorted ? (unsortedIndices as Tensor) : int32(L.unsorted, data.device)) : null;
    this.layout = L;
  }

  /** [Σ Tᵢ, …]: the sorted sequences interleaved time-major. */
  get data(): Tensor {
    return this.#data;
  }
  /** int32 [T_max] on the CPU: how many sequences run at each step. */
  get batchSizes(): Tensor {
    return this.#batchSizes;
  }
  /** int32 [B] (data's device): the original batch index of each sorted position; null when the batch came sorted. */
  get sortedIndices(): Tensor | null {
    return this.#sortedIndices;
  }
  /** int32 [B] (data's device): the sorted position of each original batch index (sortedIndices' inverse); null when the batch came sorted. */
  get unsortedIndices(): Tensor | null {
    return this.#unsortedIndices;
  }
  get dtype(): Tensor['dtype'] {
    return this.#data.dtype;
  }
  get device(): string {
    return this.#data.device;
  }
  /** data is on a CUDA device (PyTorch's is_cuda). */
  get isCuda(): boolean {
    return this.#data.device.startsWith('cuda');
  }
  get isDisposed(): boolean {
    return this.#tensors().some((t) => t.isDisposed);
  }
  /** @internal keep(packed) keeps all four tensors. */
  get kept(): boolean {
    return this.#tensors().every((t) => t.kept);
  }
  set kept(v: boolean) {
    for (const t of this.#tensors()) t.kept = v;
  }
  /** @internal What tidy() and dispose() look into. */
  [HELD_TENSORS](): Tensor[] {
    return this.#tensors();
  }
  #tensors(): Tensor[] {
    return [this.#data, this.#batchSizes, ...(this.#sortedIndices ? [this.#sortedIndices, this.#unsortedIndices!] : [])];
  }

  /**
   * A copy on another device (as Tensor.to, a copy even on the same device):
   * data and the indices move, batchSizes stays on the CPU. data's gradient
   * flows back through the copy.
   */
  to(device: string): PackedSequence {
    const dev = checkDevice(device, 'PackedSequence.to');
    this.#check('PackedSequence.to');
    return tidy(() => new PackedSequence(this.#data.to(dev), this.#batchSizes.clone(), this.#sortedIndices?.to(dev) ?? null, this.#unsortedIndices?.to(dev) ?? null, this.layout));
  }

  /** Frees the four tensors. Idempotent. */
  dispose(): void {
    for (const t of this.#tensors()) t.dispose();
  }

  toString(): string {
    return `PackedSequence(data ${shapeText(this.#data.shape)} ${this.#data.dtype} on ${this.#data.device}, batchSizes [${this.layout.batchSizes.join(', ')}]${this.#sortedIndices ? `, sortedIndices [${this.layout.sorted.join(', ')}]` : ''})`;
  }

  /** @internal Throws DISPOSED (naming op and the sequence) when a tensor is gone. */
  #check(op: string): void {
    const gone = this.#tensors().filter((t) => t.isDisposed);
    if (gone.length === 0) return;
    const names = ['data', 'batchSizes', 'sortedIndices', 'unsortedIndices'].filter((_, i) => gone.includes(this.#tensors()[i]));
    fail('DISPOSED', `${op}: the ${this.toString()} has been disposed (${names.length === this.#tensors().length ? 'dispose() freed its tensors' : `its ${names.join(', ')} ${names.length === 1 ? 'was' : 'were'} disposed`})`);
  }

  /** @internal */
  static checked(v: unknown, op: string, what = 'sequence'): PackedSequence {
    if (!(v instanceof PackedSequence)) fail('INVALID_ARGUMENT', `${op}: ${what} must be a PackedSequence (from packPaddedSequence or packSequence); got ${describe(v)}`);
    v.#check(op);
    return v;
  }
}

/** Options of packPaddedSequence(). */
export interface PackPaddedSequenceOptions {
  /** input is [B, T, …] rather than [T, B, …] (default false). */
  batchFirst?: boolean;
  /**
   * The lengths are non-increasing (default true, as PyTorch): the batch is
   * packed in its own order and sortedIndices is null. false sorts it
   * (stably, longest first) and records the order.
   */
  enforceSorted?: boolean;
}

/** The packed form of padded with the layout L (sortedIndices and batchSizes made anew). */
function packWith(padded: Tensor, L: Layout, batchFirst: boolean, sortedGiven: boolean): PackedSequence {
  const Tp = padded.shape[batchFirst ? 1 : 0];
  const tail = padded.shape.slice(2);
  const data = rowsOf(padded, Tp * L.B, tail, packIndex(L, Tp, batchFirst));
  const dev = padded.device;
  return new PackedSequence(data, int32(L.batchSizes, 'cpu'), sortedGiven ? int32(L.sorted, dev) : null, sortedGiven ? int32(L.unsorted, dev) : null, L);
}

/**
 * torch.nn.utils.rnn.pack_padded_sequence: a right-padded batch input
 * [T, B, …] ([B, T, …] with batchFirst) and each sequence's length (an int32
 * CPU tensor [B] or numbers, each in [1, T]) → PackedSequence. With
 * enforceSorted (the default) the lengths must be non-increasing; pass
 * enforceSorted: false to have the batch sorted (the order is recorded and
 * undone by padPackedSequence and by the recurrent layers' hidden states).
 * Differentiable: input's gradient is data's at the real steps, 0 at the
 * padding.
 */
export function packPaddedSequence(input: Tensor, lengths: Lengths, options?: PackPaddedSequenceOptions): PackedSequence {
  const op = 'packPaddedSequence';
  const o = checkOptions<PackPaddedSequenceOptions>(options, op, ['batchFirst', 'enforceSorted']);
  const batchFirst = o.batchFirst === undefined ? false : checkBoolean(o.batchFirst, op, 'batchFirst');
  const enforceSorted = o.enforceSorted === undefined ? true : checkBoolean(o.enforceSorted, op, 'enforceSorted');
  checkTensor(input, op, 'input');
  if (input.rank < 2) fail('SHAPE_MISMATCH', `${op}: input must be [T, B, …]${batchFirst ? ' (batchFirst: [B, T, …])' : ''}, at least 2-D; got shape ${shapeText(input.shape)}`);
  if (lengths instanceof Tensor && !lengths.isDisposed && lengths.device !== 'cpu')
    fail('DEVICE_MISMATCH', `${op}: lengths must be on the CPU (as PyTorch's 1-D CPU lengths; the packing is planned on the host); got a tensor on ${lengths.device}`);
  const T = input.shape[batchFirst ? 1 : 0], B = input.shape[batchFirst ? 0 : 1];
  if (B === 0) fail('SHAPE_MISMATCH', `${op}: cannot pack an empty batch (input shape ${shapeText(input.shape)}: B = 0), as PyTorch ("Cannot pack empty tensors")`);
  const lens = readLengths(lengths, B, T, op);
  if (enforceSorted)
    for (let b = 1; b < B; b++)
      if (lens[b] > lens[b - 1])
        fail('INVALID_ARGUMENT', `${op}: lengths must be sorted in decreasing order when enforceSorted is true (lengths[${b - 1}] = ${lens[b - 1]} < lengths[${b}] = ${lens[b]}); pass enforceSorted: false to have them sorted (PyTorch's enforce_sorted=False)`);
  return tidy(() => packWith(input, layoutOfLengths(lens, !enforceSorted), batchFirst, !enforceSorted));
}

/** Options of padPackedSequence(). */
export interface PadPackedSequenceOptions {
  /** output [B, T, …] rather than [T, B, …] (default false). */
  batchFirst?: boolean;
  /** What the padding holds (default 0). */
  paddingValue?: number;
  /** Pad to this many steps (at least the longest length) rather than to the longest length. */
  totalLength?: number;
}

/**
 * torch.nn.utils.rnn.pad_packed_sequence: a PackedSequence back to a
 * right-padded batch, `output` [T, B, …] ([B, T, …] with batchFirst; T the
 * longest length or totalLength) in the original batch order, and `lengths`
 * (int32 [B] on the CPU, same order). Differentiable: data's gradient is
 * output's at the real steps.
 */
export function padPackedSequence(sequence: PackedSequence, options?: PadPackedSequenceOptions): { output: Tensor; lengths: Tensor } {
  const op = 'padPackedSequence';
  const o = checkOptions<PadPackedSequenceOptions>(options, op, ['batchFirst', 'paddingValue', 'totalLength']);
  const batchFirst = o.batchFirst === undefined ? false : checkBoolean(o.batchFirst, op, 'batchFirst');
  const value = o.paddingValue === undefined ? 0 : checkNumber(o.paddingValue, op, 'paddingValue');
  const ps = PackedSequence.checked(sequence, op);
  const L = ps.layout;
  let Tp = L.T;
  if (o.totalLength !== undefined && o.totalLength !== null) {
    Tp = checkInteger(o.totalLength, op, 'totalLength', 1);
    if (Tp < L.T) fail('INVALID_ARGUMENT', `${op}: totalLength must be at least the length of the longest sequence; got totalLength ${Tp} and a longest sequence of ${L.T}`);
  }
  const data = ps.data;
  if (data.dtype === 'int32' && !(Number.isInteger(value) && value >= -2147483648 && value <= 2147483647))
    fail('DTYPE_MISMATCH', `${op}: paddingValue ${value} is not an int32 (an integer in [-2147483648, 2147483647]) and data is int32`);
  const tail = data.shape.slice(1);
  return tidy(() => {
    const F = numel(tail);
    // One row of paddingValue past data's rows: the padding gathers it (and its gradient goes nowhere).
    const table = concat([reshape(data, [L.N, F]), full([1, F], value, { dtype: data.dtype, device: data.device })], 0);
    const rows = rowsOf(table, L.N + 1, tail, unpackIndex(L, Tp, batchFirst));
    const output = reshape(rows, batchFirst ? [L.B, Tp, ...tail] : [Tp, L.B, ...tail]);
    return { output, lengths: int32(L.lengths, 'cpu') };
  });
}

/** Options of packSequence(). */
export interface PackSequenceOptions {
  /** The sequences come longest first (default true); false sorts them. */
  enforceSorted?: boolean;
}

/**
 * torch.nn.utils.rnn.pack_sequence: sequences [Tᵢ, …] (the same trailing
 * shape, dtype and device, each Tᵢ ≥ 1) → PackedSequence, as
 * packPaddedSequence(padSequence(sequences), their lengths). Differentiable.
 */
export function packSequence(sequences: readonly Tensor[], options?: PackSequenceOptions): PackedSequence {
  const op = 'packSequence';
  const o = checkOptions<PackSequenceOptions>(options, op, ['enforceSorted']);
  const enforceSorted = o.enforceSorted === undefined ? true : checkBoolean(o.enforceSorted, op, 'enforceSorted');
  if (!Array.isArray(sequences as unknown) || sequences.length === 0) fail('INVALID_ARGUMENT', `${op}: expected a non-empty array of tensors [Tᵢ, …]; got ${describe(sequences)}`);
  sequences.forEach((s, i) => {
    checkTensor(s, op, `sequences[${i}]`);
    if (s.rank === 0) fail('SHAPE_MISMATCH', `${op}: sequences[${i}] is a scalar; each sequence needs a time axis first ([T, …])`);
    if (s.shape[0] === 0) fail('INVALID_ARGUMENT', `${op}: sequences[${i}] has length 0 (shape ${shapeText(s.shape)}); every sequence needs at least one step, as PyTorch`);
  });
  // padSequence checks these too, but under its own name; the caller called packSequence.
  const first = sequences[0];
  sequences.forEach((s, i) => {
    if (s.rank !== first.rank || s.shape.some((d, k) => k > 0 && d !== first.shape[k]))
      fail('SHAPE_MISMATCH', `${op}: sequences[${i}] has shape ${shapeText(s.shape)}; every sequence must be [Tᵢ${first.shape.slice(1).map((d) => `, ${d}`).join('')}] like sequences[0] (${shapeText(first.shape)})`);
    if (s.dtype !== first.dtype) fail('DTYPE_MISMATCH', `${op}: sequences[${i}] is ${s.dtype}; sequences[0] is ${first.dtype}`);
    if (s.device !== first.device) fail('DEVICE_MISMATCH', `${op}: sequences[${i}] is on ${s.device}; sequences[0] is on ${first.device}`);
  });
  const lens = sequences.map((s) => s.shape[0]);
  if (enforceSorted)
    for (let b = 1; b < lens.length; b++)
      if (lens[b] > lens[b - 1])
        fail('INVALID_ARGUMENT', `${op}: the sequences must be sorted by length, longest first, when enforceSorted is true (sequences[${b - 1}] has ${lens[b - 1]} steps < sequences[${b}] ${lens[b]}); pass enforceSorted: false to have them sorted (PyTorch's enforce_sorted=False)`);
  return tidy(() => packWith(padSequence(sequences), layoutOfLengths(lens, !enforceSorted), false, !enforceSorted));
}

/**
 * torch.nn.utils.rnn.unpack_sequence (PyTorch ≥ 1.13): a PackedSequence
 * back to its sequences [Tᵢ, …], in the original order. Differentiable.
 */
export function unpackSequence(sequence: PackedSequence): Tensor[] {
  const op = 'unpackSequence';
  const ps = PackedSequence.checked(sequence, op);
  const L = ps.layout;
  const idx = new Int32Array(L.N);
  let r = 0;
  for (let b = 0; b < L.B; b++) for (let t = 0; t < L.lengths[b]; t++) idx[r++] = L.offsets[t] + L.unsorted[b];
  const tail = ps.data.shape.slice(1);
  return tidy(() => split(rowsOf(ps.data, L.N, tail, idx), L.lengths, 0));
}

/** Options of unpadSequence(). */
export interface UnpadSequenceOptions {
  /** padded is [B, T, …] rather than [T, B, …] (default false). */
  batchFirst?: boolean;
}

/**
 * torch.nn.utils.rnn.unpad_sequence (PyTorch ≥ 1.13): a right-padded batch
 * [T, B, …] ([B, T, …] with batchFirst) and its lengths (int32 [B] or
 * numbers, each in [1, T]) → the sequences [Tᵢ, …], padSequence's inverse.
 * Differentiable.
 */
export function unpadSequence(padded: Tensor, lengths: Lengths, options?: UnpadSequenceOptions): Tensor[] {
  const op = 'unpadSequence';
  const o = checkOptions<UnpadSequenceOptions>(options, op, ['batchFirst']);
  const batchFirst = o.batchFirst === undefined ? false : checkBoolean(o.batchFirst, op, 'batchFirst');
  checkTensor(padded, op, 'padded');
  if (padded.rank < 2) fail('SHAPE_MISMATCH', `${op}: padded must be [T, B, …]${batchFirst ? ' (batchFirst: [B, T, …])' : ''}, at least 2-D; got shape ${shapeText(padded.shape)}`);
  const T = padded.shape[batchFirst ? 1 : 0], B = padded.shape[batchFirst ? 0 : 1];
  const lens = readLengths(lengths, B, T, op);
  const idx = new Int32Array(lens.reduce((a, n) => a + n, 0));
  let r = 0;
  for (let b = 0; b < B; b++) for (let t = 0; t < lens[b]; t++) idx[r++] = batchFirst ? b * T + t : t * B + b;
  return tidy(() => split(rowsOf(padded, T * B, padded.shape.slice(2), idx), lens, 0));
}

/**
 * @internal For the recurrent layers: ps's data must be [Σ lengths, inputSize]
 * (PyTorch: "input must have 2 dimensions"), checked on the data itself so the
 * error names the PackedSequence rather than the padded batch made from it.
 */
export function checkPackedData(ps: PackedSequence, inputSize: number, op: string): void {
  const d = ps.data;
  if (d.rank !== 2 || d.shape[1] !== inputSize)
    fail('SHAPE_MISMATCH', `${op}: a PackedSequence input's data must be [Σ lengths, inputSize] = [${d.shape[0]}, ${inputSize}]; got data of shape ${shapeText(d.shape)} (pack a padded batch [T, B, ${inputSize}], or sequences [Tᵢ, ${inputSize}])`);
}

/**
 * @internal For the recurrent layers: the padded form of ps in the module's
 * layout (original batch order, padding 0) and the lengths on the host.
 */
export function padForLayer(ps: PackedSequence, batchFirst: boolean): { padded: Tensor; lengths: number[] } {
  const { output, lengths } = padPackedSequence(ps, { batchFirst });
  lengths.dispose();
  return { padded: output, lengths: ps.layout.lengths };
}

/** @internal For the recurrent layers: a padded output (original batch order) packed as ps is (its order and batch sizes). */
export function packLike(padded: Tensor, ps: PackedSequence, batchFirst: boolean): PackedSequence {
  return packWith(padded, ps.layout, batchFirst, ps.sortedIndices !== null);
}
