/** Collation: a list of dataset items → one batch (torch.utils.data.default_collate), and padCollate for sequences. */
import { tidy } from '../engine';
import { fail } from '../errors';
import { stack } from '../ops/core';
import { packSequence, PackedSequence } from '../ops/packed';
import { padSequence } from '../ops/sequence';
import { tensor, Tensor } from '../tensor';
import { checkBoolean, checkNumber, checkOptions, describe, shapeText } from '../validate';

/** A collate function: the items of one batch → the batch. */
export type CollateFn<T = unknown, B = unknown> = (items: T[]) => B;

/** The type defaultCollate gives for items of type T (tensors for tensors, numbers, booleans and typed arrays). */
export type Collated<T> = T extends Tensor ? Tensor
  : T extends number | boolean | ArrayBufferView ? Tensor
  : T extends string ? string[]
  : T extends readonly unknown[] ? { -readonly [K in keyof T]: Collated<T[K]> }
  : T extends object ? { [K in keyof T]: Collated<T[K]> }
  : unknown;

/** @internal An object literal or a null-prototype object (what collation, batches and fit() recurse into). */
export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

function collateAt(items: readonly unknown[], path: string): unknown {
  const op = 'defaultCollate';
  const where = (i: number) => `item ${i}${path}`;
  const first = items[0];
  const kindOf = (v: unknown): string =>
    v instanceof Tensor ? 'Tensor' : typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : typeof v === 'string' ? 'string'
      : Array.isArray(v) ? 'array' : ArrayBuffer.isView(v) ? 'typed array' : isPlainObject(v) ? 'object' : describe(v);
  const kind = kindOf(first);
  items.forEach((v, i) => {
    if (kindOf(v) !== kind) fail('INVALID_ARGUMENT', `${op}: ${where(i)} is ${kindOf(v)} and ${where(0)} ${kind}; the items of a batch must have the same structure`);
  });
  if (first instanceof Tensor) {
    const ts = items as Tensor[];
    ts.forEach((t, i) => {
      if (t.isDisposed) fail('DISPOSED', `${op}: ${where(i)} is a disposed tensor`);
      if (t.rank !== first.rank || t.shape.some((d, k) => d !== first.shape[k]))
        fail('SHAPE_MISMATCH', `${op}: ${where(i)} has shape ${shapeText(t.shape)} and ${where(0)} ${shapeText(first.shape)}; stacking needs equal shapes (pad variable-length sequences with padCollate)`);
      if (t.dtype !== first.dtype) fail('DTYPE_MISMATCH', `${op}: ${where(i)} is ${t.dtype} and ${where(0)} ${first.dtype}; stacking needs one dtype`);
      if (t.device !== first.device) fail('DEVICE_MISMATCH', `${op}: ${where(i)} is on ${t.device} and ${where(0)} on ${first.device}; stacking needs one device`);
    });
    return stack(ts, 0);
  }
  if (kind === 'number' || kind === 'boolean') {
    const xs = items.map(Number);
    const ints = kind === 'boolean' || xs.every((x) => Number.isInteger(x) && x >= -2147483648 && x <= 2147483647);
    return tensor(ints ? Int32Array.from(xs) : Float64Array.from(xs), [xs.length], { dtype: ints ? 'int32' : 'float64' });
  }
  if (kind === 'string') return items.slice();
  if (kind === 'typed array') {
    const arrays = items as ArrayLike<number>[];
    const f = arrays[0];
    const dtype = f instanceof Float32Array ? 'float32' : f instanceof Float64Array ? 'float64' : f instanceof Int32Array ? 'int32' : null;
    if (!dtype) fail('DTYPE_MISMATCH', `${op}: ${where(0)} is a ${f.constructor.name}; typed arrays collate from Float32Array, Float64Array or Int32Array`);
    arrays.forEach((a, i) => {
      if (a.constructor !== f.constructor || a.length !== f.length)
        fail('SHAPE_MISMATCH', `${op}: ${where(i)} is a ${a.constructor.name} of ${a.length} and ${where(0)} a ${f.constructor.name} of ${f.length}; they must match to stack`);
    });
    const Ctor = f.constructor as Float32ArrayConstructor;
    const out = new Ctor(arrays.length * f.length);
    arrays.forEach((a, i) => out.set(a as Float32Array, i * f.length));
    return tensor(out, [arrays.length, f.length], { dtype });
  }
  if (kind === 'array') {
    const arrays = items as unknown[][];
    arrays.forEach((a, i) => {
      if (a.length !== arrays[0].length)
        fail('SHAPE_MISMATCH', `${op}: ${where(i)} has ${a.length} elements and ${where(0)} ${arrays[0].length}; each element in the batch's arrays must be of equal size`);
    });
    return arrays[0].map((_, k) => collateAt(arrays.map((a) => a[k]), `${path}[${k}]`));
  }
  if (kind === 'object') {
    const objs = items as Record<string, unknown>[];
    const keys = Object.keys(objs[0]);
    objs.forEach((o, i) => {
      const ks = Object.keys(o);
      if (ks.length !== keys.length || keys.some((k) => !Object.prototype.hasOwnProperty.call(o, k)))
        fail('INVALID_ARGUMENT', `${op}: ${where(i)} has keys [${ks.join(', ')}] and ${where(0)} [${keys.join(', ')}]; the items' objects must have the same keys`);
    });
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = collateAt(objs.map((o) => o[k]), `${path}.${k}`);
    return out;
  }
  fail('INVALID_ARGUMENT', `${op}: ${where(0)} is ${kind}; expected a Tensor, number, boolean, string, typed array, array or plain object`);
}

/**
 * torch.utils.data.default_collate: the batch's items, collated by structure
 * recursively. Tensors (equal shape, dtype, device) are stacked on a new first
 * axis; numbers become a [B] tensor: int32 when all are integers in int32's
 * range, else float64 (PyTorch chooses int64 or float64 by Python type,
 * which JavaScript numbers lack); booleans an int32 0/1 tensor (antler has no
 * bool dtype); Float32Array/Float64Array/Int32Array items of one length a
 * [B, n] tensor of their dtype; strings stay an array of strings; arrays
 * (tuples) are collated element-wise and plain objects key-wise, keeping the
 * structure. Mismatches throw an AntlerError naming the item and the path in
 * it. The returned tensors are new: the caller owns them; intermediate
 * tensors are freed.
 */
export function defaultCollate<T = unknown>(items: readonly unknown[]): T {
  if (!Array.isArray(items) || items.length === 0) fail('INVALID_ARGUMENT', `defaultCollate: expected a non-empty array of items; got ${describe(items)}`);
  return tidy(() => collateAt(items, '') as never) as T;
}

/** Options of padCollate(). */
export interface PadCollateOptions {
  /** [B, T, …] rather than [T, B, …] (default false, as padSequence). */
  batchFirst?: boolean;
  /** What the padding holds (default 0). */
  paddingValue?: number;
  /** Return a PackedSequence (packSequence, any order) instead of the padded tensor and lengths (default false). */
  pack?: boolean;
}

/**
 * A collate function for variable-length sequences. Each item is a sequence
 * tensor [Tᵢ, …] or an array whose first element is one (`[sequence, ...rest]`).
 * The batch is `[padded, lengths, ...rest]`: padded from padSequence, lengths
 * an int32 [B] tensor of the Tᵢ (what nn.GRU/LSTM/RNN/SRU take as `lengths`),
 * and the rest collated by defaultCollate each; with `pack`,
 * `[packed, ...rest]`, packed a PackedSequence (packSequence with
 * enforceSorted false, so any order).
 */
export function padCollate(options?: PadCollateOptions): CollateFn<Tensor | readonly unknown[], unknown[]> {
  const op = 'padCollate';
  const o = checkOptions<PadCollateOptions>(options, op, ['batchFirst', 'paddingValue', 'pack']);
  const batchFirst = o.batchFirst === undefined ? false : checkBoolean(o.batchFirst, op, 'batchFirst');
  const paddingValue = o.paddingValue === undefined ? 0 : checkNumber(o.paddingValue, op, 'paddingValue');
  const pack = o.pack === undefined ? false : checkBoolean(o.pack, op, 'pack');
  return (items) => {
    if (!Array.isArray(items) || items.length === 0) fail('INVALID_ARGUMENT', `${op}: expected a non-empty array of items; got ${describe(items)}`);
    const tuples = items[0] instanceof Tensor ? false : true;
    const seqs = items.map((it, i) => {
      const s = tuples ? (Array.isArray(it) ? it[0] : undefined) : it;
      if (!(s instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: item ${i} is ${describe(it)}; each item must be a sequence tensor [Tᵢ, …] or an array [sequence, ...rest], like item 0`);
      if (s.rank === 0) fail('SHAPE_MISMATCH', `${op}: item ${i}'s sequence is a scalar; a sequence needs a time axis first ([T, …])`);
      return s;
    });
    // padSequence and packSequence check these too, but under their own names and by sequence index.
    const first = seqs[0];
    seqs.forEach((s, i) => {
      if (s.rank !== first.rank || s.shape.some((d, k) => k > 0 && d !== first.shape[k]))
        fail('SHAPE_MISMATCH', `${op}: item ${i}'s sequence has shape ${shapeText(s.shape)} and item 0's ${shapeText(first.shape)}; sequences may differ only in length (the first axis)`);
      if (s.dtype !== first.dtype) fail('DTYPE_MISMATCH', `${op}: item ${i}'s sequence is ${s.dtype} and item 0's ${first.dtype}`);
      if (s.device !== first.device) fail('DEVICE_MISMATCH', `${op}: item ${i}'s sequence is on ${s.device} and item 0's on ${first.device}`);
    });
    return tidy(() => {
      const tails = tuples ? items.map((it) => (it as unknown[]).slice(1)) : [];
      tails.forEach((t, i) => {
        if (t.length !== tails[0].length) fail('SHAPE_MISMATCH', `${op}: item ${i} has ${t.length + 1} elements and item 0 ${tails[0].length + 1}; the items must be arrays of one length`);
      });
      const rest = tuples ? tails[0].map((_, k) => collateAt(tails.map((t) => t[k]), `[${k + 1}]`)) : [];
      if (pack) return [packSequence(seqs, { enforceSorted: false }) as PackedSequence, ...rest];
      const lengths = tensor(Int32Array.from(seqs, (s) => s.shape[0]), [seqs.length], { dtype: 'int32' });
      return [padSequence(seqs, { batchFirst, paddingValue }), lengths, ...rest];
    });
  };
}
