/** Right-padded batches of sequences: padSequence, and the `lengths` the recurrent layers (nn.SRU, nn.GRU/LSTM/RNN) take. */
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, Tensor } from '../tensor';
import { checkBoolean, checkNumber, checkOptions, describe, shapeText } from '../validate';
import { stack } from './core';
import { pad } from './shape';

/** What a `lengths` option accepts: int32 [B] or numbers, each in [1, T]. */
export type Lengths = Tensor | ArrayLike<number>;

/**
 * @internal Reads and checks `lengths` for a batch of B sequences padded to T
 * steps: one integer in [1, T] per batch entry (PyTorch's pack_padded_sequence
 * refuses a length of 0 too). Returns the values on the host.
 */
export function readLengths(lengths: unknown, B: number, T: number, op: string): number[] {
  let values: ArrayLike<number>;
  if (lengths instanceof Tensor) {
    const t = checkTensor(lengths, op, 'lengths');
    if (t.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: lengths must be an int32 tensor; got ${t.dtype}`);
    if (t.rank !== 1 || t.shape[0] !== B) fail('SHAPE_MISMATCH', `${op}: lengths must have shape [${B}] (one per batch entry); got ${shapeText(t.shape)}`);
    values = t.dataSync();
  } else if (Array.isArray(lengths) || (ArrayBuffer.isView(lengths) && !(lengths instanceof DataView))) {
    values = lengths as unknown as ArrayLike<number>;
    if (values.length !== B) fail('SHAPE_MISMATCH', `${op}: lengths has ${values.length} entries; the batch has ${B}`);
  } else {
    fail('INVALID_ARGUMENT', `${op}: lengths must be an int32 Tensor or an array of numbers; got ${describe(lengths)}`);
  }
  const out = new Array<number>(B);
  for (let b = 0; b < B; b++) {
    const n = values[b];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > T)
      fail('INVALID_ARGUMENT', `${op}: lengths[${b}] is ${describe(n)}; each length must be an integer in [1, ${T}] (the input has ${T} steps)`);
    out[b] = n;
  }
  return out;
}

/** Options of padSequence(). */
export interface PadSequenceOptions {
  /** [B, T, …] rather than [T, B, …] (default false, as PyTorch). */
  batchFirst?: boolean;
  /** What the padding holds (default 0). */
  paddingValue?: number;
}

/**
 * Stacks sequences of different lengths into one right-padded batch
 * (torch.nn.utils.rnn.pad_sequence): sequences [Tᵢ, …] (the same trailing
 * shape, dtype and device) give [T, B, …] with T the longest Tᵢ, or [B, T, …]
 * with batchFirst. Pass their lengths to a recurrent layer's `lengths`, so it
 * never reads the padding. Differentiable: each sequence gets its own rows'
 * gradient.
 */
export function padSequence(sequences: readonly Tensor[], options?: PadSequenceOptions): Tensor {
  const op = 'padSequence';
  const o = checkOptions<PadSequenceOptions>(options, op, ['batchFirst', 'paddingValue']);
  const batchFirst = o.batchFirst === undefined ? false : checkBoolean(o.batchFirst, op, 'batchFirst');
  const value = o.paddingValue === undefined ? 0 : checkNumber(o.paddingValue, op, 'paddingValue');
  if (!Array.isArray(sequences as unknown) || sequences.length === 0) fail('INVALID_ARGUMENT', `${op}: expected a non-empty array of tensors [Tᵢ, …]; got ${describe(sequences)}`);
  const first = checkTensor(sequences[0], op, 'sequences[0]');
  if (first.rank === 0) fail('SHAPE_MISMATCH', `${op}: sequences[0] is a scalar; each sequence needs a time axis first ([T, …])`);
  const tail = first.shape.slice(1);
  sequences.forEach((s, i) => {
    checkTensor(s, op, `sequences[${i}]`);
    if (s.rank !== first.rank || s.shape.slice(1).some((d, k) => d !== tail[k]))
      fail('SHAPE_MISMATCH', `${op}: sequences[${i}] has shape ${shapeText(s.shape)}; every sequence must be [Tᵢ${tail.map((d) => `, ${d}`).join('')}] like sequences[0] (${shapeText(first.shape)})`);
    if (s.dtype !== first.dtype) fail('DTYPE_MISMATCH', `${op}: sequences[${i}] is ${s.dtype}; sequences[0] is ${first.dtype}`);
    if (s.device !== first.device) fail('DEVICE_MISMATCH', `${op}: sequences[${i}] is on ${s.device}; sequences[0] is on ${first.device}`);
  });
  if (first.dtype === 'int32' && !(Number.isInteger(value) && value >= -2147483648 && value <= 2147483647))
    fail('DTYPE_MISMATCH', `${op}: paddingValue ${value} is not an int32 (an integer in [-2147483648, 2147483647]) and the sequences are int32`);
  let T = 0;
  for (const s of sequences) T = Math.max(T, s.shape[0]);
  return tidy(() => stack(sequences.map((s) => pad(s, s.shape.map((_, ax) => [0, ax === 0 ? T - s.shape[0] : 0] as [number, number]), { value })), batchFirst ? 0 : 1));
}
