/** Lengths of right-padded sequences, shared by the recurrent layers (nn.SRU, nn.GRU/LSTM/RNN). */
import { fail } from '../errors';
import { checkTensor, Tensor } from '../tensor';
import { describe, shapeText } from '../validate';

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
