/**
 * embeddingBag: PyTorch's torch.nn.functional.embedding_bag, composed of
 * recorded ops that run on every device (the row gather and scatter-add,
 * arithmetic, argmax). Modes 'sum' and 'mean' stay on the device: each
 * index's bag comes from a search of the offsets, and the indices' and
 * offsets' checks ride on the index checks of the row gather and the
 * scatter-add (the native ops' own flags), so the layout is read on the host
 * only to word an error. Mode 'max' (its padded slots depend on the bags'
 * lengths) and maxNorm (it writes the table in place, so the layout is
 * checked first) read the layout on the host once per call. The rows are
 * looked up, weighted and reduced by a few whole-tensor ops, with no loop
 * over bags on tensors.
 */
import { tidy } from '../engine';
import { AntlerError, fail } from '../errors';
import { native } from '../native';
import { checkTensor, tensor, Tensor } from '../tensor';
import { checkBoolean, checkFinite, checkOptions, describe, shapeText } from '../validate';
import { add, concat, div, equal, greater, less, max, maximum, mul, notEqual, reshape, slice, sub, where, wrap } from './core';
import { argmax, gatherRows, scatterAddRows } from './indexing';
import { renormRows } from './nn';
import { searchsorted } from './selection';

/** How embeddingBag reduces each bag's rows (PyTorch's mode). */
export type EmbeddingBagMode = 'sum' | 'mean' | 'max';

/** Options of {@link embeddingBag} (torch.nn.functional.embedding_bag's, camelCase). */
export interface EmbeddingBagOptions {
  /**
   * int32 [B] (or [B + 1] with includeLastOffset): where each bag starts in a
   * 1-D input. Required for a 1-D input, refused for a 2-D one. offsets[0]
   * must be 0, the offsets non-decreasing and none beyond the input's length.
   */
  offsets?: Tensor;
  /** 'mean' (the default, as F.embedding_bag's), 'sum' or 'max'. */
  mode?: EmbeddingBagMode;
  /** A weight per index, of the input's shape and the table's dtype, that scales its row before the sum; mode 'sum' only (as PyTorch's). */
  perSampleWeights?: Tensor;
  /** offsets has B + 1 entries, the last one the end of the last bag (CSR layout); indices after it belong to no bag. No effect on a 2-D input. */
  includeLastOffset?: boolean;
  /** Indices equal to this row are left out of their bag (and of the mean's count); negative counts from the end. */
  paddingIdx?: number;
  /** Before the lookup, every row the input uses whose normType-norm exceeds maxNorm is scaled in place to maxNorm (as embedding's maxNorm). */
  maxNorm?: number;
  /** The p of maxNorm's p-norm (default 2; Infinity the largest |entry|). */
  normType?: number;
}

const OPTION_KEYS = ['offsets', 'mode', 'perSampleWeights', 'includeLastOffset', 'paddingIdx', 'maxNorm', 'normType'];

/**
 * Sums, means or maxima of bags of rows of `weight` [num, dim]
 * (torch.nn.functional.embedding_bag): `input` is int32, either 2-D [B, N]
 * (B bags of N indices; `offsets` must be absent) or 1-D [n] with `offsets`
 * [B] (bag b is input[offsets[b] .. offsets[b + 1]), the last one running to
 * the end; with `includeLastOffset`, offsets is [B + 1] and its last entry
 * ends the last bag). The result is [B, dim]. As PyTorch's:
 *   - an empty bag gives zeros in every mode;
 *   - indices equal to `paddingIdx` are left out of their bag (and of the
 *     mean's count); a bag of padding only gives zeros;
 *   - `perSampleWeights` (input's shape) scales each row before the sum,
 *     mode 'sum' only;
 *   - in mode 'max' each output entry's gradient goes to the row that holds
 *     the bag's maximum in that column, the first such index of the bag on
 *     ties (as PyTorch's CPU kernel); a NaN in a bag's column is its
 *     maximum (argmax's rule; PyTorch 1.13's CPU kernel, a strict > loop,
 *     keeps a NaN only when it comes first in the bag and skips a later one);
 *   - `maxNorm` renormalises, in place and unrecorded, every row the input
 *     uses (embedding's maxNorm);
 *   - a 2-D input gives one bag per row with or without
 *     `includeLastOffset` (PyTorch up to 2.9 dropped the last row there, a
 *     bug fixed by pytorch/pytorch#168159);
 *   - with `includeLastOffset`, indices after the last offset belong to no
 *     bag (PyTorch's CPU kernel leaves them out of the sums but, in 1.13,
 *     counts them in the last bag's mean; its docs ask for the last offset
 *     to equal the input's length, where the two agree).
 * Gradients reach `weight` and `perSampleWeights` (second derivatives too:
 * the row gather and scatter-add are each other's recorded gradients).
 * Modes 'sum' and 'mean' read nothing back but the index flags of the row
 * gather and the scatter-add (on CUDA a stream sync each, as embedding's);
 * mode 'max', or any mode with maxNorm or a table of 0 columns, reads the
 * indices and offsets on the host once per call (a device sync for CUDA
 * tensors). PyTorch's scale_grad_by_freq and sparse are not offered.
 */
export function embeddingBag(input: Tensor, weight: Tensor, options?: EmbeddingBagOptions): Tensor {
  const op = 'embeddingBag';
  checkTensor(input, op, 'input');
  checkTensor(weight, op, 'weight');
  const o = checkOptions<EmbeddingBagOptions>(options, op, OPTION_KEYS);
  if (weight.rank !== 2) fail('SHAPE_MISMATCH', `${op}: weight must be 2-D [numEmbeddings, embeddingDim]; got shape ${shapeText(weight.shape)}`);
  if (weight.dtype !== 'float32' && weight.dtype !== 'float64') fail('DTYPE_MISMATCH', `${op}: weight must be float32 or float64; got ${weight.dtype}`);
  if (input.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: input must be int32 indices; got ${input.dtype} (cast it with .cast('int32'))`);
  if (input.rank !== 1 && input.rank !== 2)
    fail('SHAPE_MISMATCH', `${op}: input must be 1-D (with offsets) or 2-D [bags, indices per bag]; got shape ${shapeText(input.shape)}`);
  if (input.device !== weight.device) fail('DEVICE_MISMATCH', `${op}: input is on ${input.device} and weight on ${weight.device}; expected one device`);
  const mode = o.mode === undefined ? 'mean' : o.mode;
  if (mode !== 'sum' && mode !== 'mean' && mode !== 'max') fail('INVALID_ARGUMENT', `${op}: mode must be 'sum', 'mean' or 'max'; got ${describe(o.mode)}`);
  const lastOffset = o.includeLastOffset === undefined ? false : checkBoolean(o.includeLastOffset, op, 'includeLastOffset');
  const [rows, dim] = weight.shape;

  // The offsets: given for a 1-D input, the row starts of a 2-D one.
  const offsets = o.offsets ?? undefined; // null is none
  if (input.rank === 2) {
    if (offsets !== undefined)
      fail('INVALID_ARGUMENT', `${op}: a 2-D input is a batch of fixed-length bags, so offsets must be absent; got offsets of shape ${describe(offsets instanceof Tensor ? offsets.shape : offsets)}`);
  } else {
    if (offsets === undefined) fail('INVALID_ARGUMENT', `${op}: a 1-D input needs offsets, an int32 1-D tensor of where each bag starts; got none`);
    checkTensor(offsets, op, 'offsets');
    if (offsets.dtype !== 'int32') fail('DTYPE_MISMATCH', `${op}: offsets must be int32; got ${offsets.dtype} (cast it with .cast('int32'))`);
    if (offsets.rank !== 1) fail('SHAPE_MISMATCH', `${op}: offsets must be 1-D; got shape ${shapeText(offsets.shape)}`);
    if (offsets.device !== input.device) fail('DEVICE_MISMATCH', `${op}: input is on ${input.device} and offsets on ${offsets.device}; expected one device`);
  }

  // perSampleWeights: mode 'sum', the input's shape, the table's dtype and device.
  const psw = o.perSampleWeights ?? undefined;
  if (psw !== undefined) {
    checkTensor(psw, op, 'perSampleWeights');
    if (mode !== 'sum')
      fail('INVALID_ARGUMENT', `${op}: perSampleWeights is only supported for mode 'sum' (as PyTorch's); got mode '${mode}'`);
    if (psw.shape.length !== input.shape.length || psw.shape.some((d, i) => d !== input.shape[i]))
      fail('SHAPE_MISMATCH', `${op}: perSampleWeights must have the input's shape ${shapeText(input.shape)}; got ${shapeText(psw.shape)}`);
    if (psw.dtype !== weight.dtype) fail('DTYPE_MISMATCH', `${op}: perSampleWeights is ${psw.dtype} and weight ${weight.dtype}; expected one dtype`);
    if (psw.device !== weight.device) fail('DEVICE_MISMATCH', `${op}: perSampleWeights is on ${psw.device} and weight on ${weight.device}; expected one device`);
  }

  // paddingIdx: a row of the table, negative from the end (PyTorch's check).
  const padArg = o.paddingIdx ?? undefined;
  if (padArg !== undefined && (typeof padArg !== 'number' || !Number.isInteger(padArg) || padArg < -rows || padArg >= rows))
    fail('INVALID_ARGUMENT', `${op}: paddingIdx must be an integer row of the ${rows}-row table, in [${-rows}, ${rows}); got ${describe(padArg)}`);
  const pad = padArg === undefined ? -1 : padArg < 0 ? padArg + rows : padArg;

  let maxNorm: number | undefined;
  let p = 2;
  if (o.normType !== undefined && o.normType !== null) {
    if (typeof o.normType !== 'number' || !(o.normType > 0)) fail('INVALID_ARGUMENT', `${op}: normType must be a number > 0 (Infinity for the largest entry); got ${describe(o.normType)}`);
    p = o.normType;
  }
  if (o.maxNorm !== undefined && o.maxNorm !== null) {
    maxNorm = checkFinite(o.maxNorm, op, 'maxNorm');
    if (maxNorm < 0) fail('INVALID_ARGUMENT', `${op}: maxNorm must be >= 0; got ${maxNorm}`);
  }

  const n = input.size;
  const m = input.rank === 2 ? input.shape[0] : offsets!.size; // the bags' starts
  // A 2-D input makes one bag per row whatever includeLastOffset says (as PyTorch's since pytorch/pytorch#168159).
  const csr = lastOffset && input.rank === 1;
  const bags = csr ? Math.max(m - 1, 0) : m;
  // A table of 0 columns goes to the host path: the device path's checks ride on the row gather's and the
  // scatter-add's, which have no element to check with 0 columns (bad indices or offsets went through).
  if (mode !== 'max' && maxNorm === undefined && n > 0 && bags > 0 && dim > 0) return bagsOnDevice(input, weight, offsets, { op, bags, csr, pad, psw, mean: mode === 'mean' });
  const { idx, starts } = readLayout(input, weight, offsets, csr, op);
  // Typed arrays: the layout is rebuilt at every call, and tensor() takes an Int32Array whole where a
  // number[] is checked entry by entry (about 8x the host time of a bag-of-words batch with arrays).
  const keptAll = new Int32Array(n); // the row of each index kept, bag by bag
  const bagAll = new Int32Array(n); // its bag
  const posAll = new Int32Array(n); // its position in the input
  const counts = new Int32Array(bags);
  let K = 0;
  for (let b = 0; b < bags; b++) {
    const end = b + 1 < m ? starts[b + 1] : n;
    for (let i = starts[b]; i < end; i++) {
      if (idx[i] === pad) continue;
      keptAll[K] = idx[i];
      bagAll[K] = b;
      posAll[K] = i;
      K++;
      counts[b]++;
    }
  }

  if (maxNorm !== undefined && n > 0) renormRows(input, weight, maxNorm, p);

  const device = weight.device;
  const [kept, bagOf, posOf] = [keptAll.subarray(0, K), bagAll.subarray(0, K), posAll.subarray(0, K)];
  const int = (values: Int32Array, shape: number[]): Tensor => tensor(values, shape, { dtype: 'int32', device });
  return tidy(() => {
    if (mode !== 'max' || kept.length === 0) {
      let rowsOut = gatherRows(weight, int(kept, [kept.length]), op);
      if (psw !== undefined) rowsOut = mul(rowsOut, gatherRows(reshape(psw, [n, 1]), int(posOf, [posOf.length]), op));
      const sums = scatterAddRows(rowsOut, int(bagOf, [bagOf.length]), bags, false, op); // built on the host after readLayout
      if (mode !== 'mean') return sums;
      // The mean over each bag's kept indices; an empty bag's sum (0) stays 0.
      return div(sums, tensor(Float64Array.from(counts, (c) => Math.max(c, 1)), [bags, 1], { dtype: weight.dtype, device }));
    }
    // 'max': each non-empty bag padded to its length rounded up to a power of two, L, in bag order (so at
    // most 2n slots in all, whatever the longest bag: padding every bag to the longest took bags · longest
    // slots), then the bags of each L taken together for the argmax. A padding slot holds row 0, masked to
    // −∞ before the argmax (masked, not added to: a row 0 holding +∞ or NaN made the padding slot NaN,
    // which argmax takes). The slots stay in bag order so that the gradient reaches each row of the table
    // in the order PyTorch's kernel adds it.
    const groups = new Map<number, number[]>(); // L -> its bags, in order
    const firstSlot = new Int32Array(bags);
    let S = 0;
    for (let b = 0; b < bags; b++) {
      if (counts[b] === 0) continue;
      let L = 1;
      while (L < counts[b]) L *= 2;
      firstSlot[b] = S;
      S += L;
      const g = groups.get(L);
      if (g) g.push(b);
      else groups.set(L, [b]);
    }
    const order = [...groups.keys()].sort((x, y) => x - y);
    const slots = new Int32Array(S);
    const padding = new Int32Array(S).fill(1);
    const filled = new Int32Array(bags);
    for (let k = 0; k < K; k++) {
      const s = firstSlot[bagOf[k]] + filled[bagOf[k]]++;
      slots[s] = kept[k];
      padding[s] = 0;
    }
    const looked = gatherRows(weight, int(slots, [S]), op); // [S, dim], recorded
    const masked = where(tensor(padding, [S, 1], { dtype: 'int32', device }), -Infinity, looked.detach());
    const at: Tensor[] = []; // per group [its bags, dim]: the flat position in looked of each maximum, the first slot on ties
    const bagIds = new Int32Array(order.reduce((c, L) => c + groups.get(L)!.length, 0)); // the bag of each row of at, concatenated
    let filledIds = 0;
    for (const L of order) {
      const members = groups.get(L)!;
      const nb = members.length;
      // The group's slots, bag by bag (all of them when every bag has this L).
      let seg = masked;
      if (nb * L !== S) {
        const rowsOf = new Int32Array(nb * L);
        for (let j = 0; j < nb; j++) for (let q = 0; q < L; q++) rowsOf[j * L + q] = firstSlot[members[j]] + q;
        seg = gatherRows(masked, int(rowsOf, [nb * L]), op);
      }
      const first = argmax(reshape(seg, [nb, L, dim]), 1); // [nb, dim]
      const base = new Int32Array(nb * dim);
      for (let j = 0; j < nb; j++) for (let d = 0; d < dim; d++) base[j * dim + d] = firstSlot[members[j]] * dim + d;
      at.push(add(mul(first, dim), int(base, [nb, dim])));
      bagIds.set(members, filledIds);
      filledIds += nb;
    }
    const flat = at.length === 1 ? at[0] : concat(at, 0); // [non-empty bags, dim]
    const maxima = reshape(gatherRows(reshape(looked, [S * dim, 1]), reshape(flat, [bagIds.length * dim]), op), [bagIds.length, dim]);
    // Each maximum to its bag; an empty bag (or one of padding only) gets zeros and passes no gradient.
    return scatterAddRows(maxima, int(bagIds, [bagIds.length]), bags, false, op);
  });
}

/**
 * The indices and the bags' starts, read on the host, after embeddingBag's checks of the layout: every
 * index a row of weight (all of them, as the renormalisation uses them all), offsets[0] = 0, the offsets
 * non-decreasing and none beyond the input's length, and with includeLastOffset enough of them. Throws
 * the first that fails.
 */
function readLayout(input: Tensor, weight: Tensor, offsets: Tensor | undefined, csr: boolean, op: string): { idx: ArrayLike<number>; starts: ArrayLike<number> } {
  const rows = weight.shape[0];
  const idx = input.dataSync();
  const n = idx.length;
  for (let i = 0; i < n; i++) {
    const v = idx[i];
    if (v < 0 || v >= rows) {
      const at = input.rank === 2 ? `[${Math.floor(i / input.shape[1])}, ${i % input.shape[1]}]` : `[${i}]`;
      fail('INVALID_ARGUMENT', `${op}: input${at} is ${v}, outside [0, ${rows}), the rows of weight ${shapeText(weight.shape)}`);
    }
  }
  // The bags: [starts[b], starts[b + 1]) (the last to n, or with includeLastOffset to the last offset).
  const starts = input.rank === 2 ? Array.from({ length: input.shape[0] }, (_, i) => i * input.shape[1]) : offsets!.dataSync();
  const m = starts.length;
  if (m > 0) {
    if (starts[0] !== 0) fail('INVALID_ARGUMENT', `${op}: offsets[0] must be 0 (the first bag starts the input); got ${starts[0]}`);
    for (let b = 1; b < m; b++)
      if (starts[b] < starts[b - 1]) fail('INVALID_ARGUMENT', `${op}: offsets must be non-decreasing; got offsets[${b - 1}] = ${starts[b - 1]} > offsets[${b}] = ${starts[b]}`);
    if (starts[m - 1] > n) fail('INVALID_ARGUMENT', `${op}: offsets[${m - 1}] = ${starts[m - 1]} is beyond the input's length ${n}; expected offsets <= ${n}`);
  }
  // PyTorch's checks: at least one offset, and (since pytorch/pytorch#190775) two for a non-empty input.
  if (csr && (m < 1 || (m < 2 && n > 0)))
    fail('INVALID_ARGUMENT', `${op}: with includeLastOffset, offsets needs the bags' starts and the end of the last bag, at least ${n > 0 ? 2 : 1} entries for an input of length ${n}; got ${m}`);
  return { idx, starts };
}

interface DeviceBagOptions {
  op: string;
  bags: number;
  csr: boolean;
  pad: number; // the padding row, or −1
  psw: Tensor | undefined;
  mean: boolean;
}

/**
 * Modes 'sum' and 'mean' of a non-empty input with at least one bag, a table of at least one column, and
 * no maxNorm, with no host read:
 * the bag of input position i is (the number of bag starts ≤ i) − 1, a search of the starts; an index
 * of padding, or after the last offset with includeLastOffset, goes to an extra bag `bags` that is
 * dropped. readLayout's checks ride on the index checks of the row gather (the indices) and of the
 * scatter-add into the bags (every bag index −1 when a check of the offsets fails); when either fails,
 * readLayout, run then, words the error (nothing was written that anyone keeps).
 */
function bagsOnDevice(input: Tensor, weight: Tensor, offsets: Tensor | undefined, o: DeviceBagOptions): Tensor {
  const { op, bags, pad, psw } = o;
  const n = input.size, dim = weight.shape[1];
  const device = weight.device;
  const checked = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof AntlerError && err.code === 'INVALID_ARGUMENT') readLayout(input, weight, offsets, o.csr, op);
      throw err;
    }
  };
  return tidy(() => {
    const flat = reshape(input, [n]);
    const rowsOut = checked(() => gatherRows(weight, flat, op)); // [n, dim]
    const positions = wrap(native().arange(0, n, 1, 'int32', device));
    const starts = offsets ?? wrap(native().arange(0, n, input.shape[1], 'int32', device));
    let bagOf = sub(searchsorted(starts, positions, { right: true }), 1); // [n]: a position after the last offset gets `bags`
    if (pad >= 0) bagOf = where(equal(flat, pad), bags, bagOf);
    if (offsets !== undefined) {
      // The offsets' checks (comparisons give 0 or 1; no cast to int32, whose range check would read back).
      const m = offsets.size;
      let failing = add(notEqual(slice(offsets, [0], [1]), 0), greater(slice(offsets, [m - 1], [1]), n)); // offsets[0] ≠ 0, offsets[m − 1] > n
      if (m > 1) failing = add(failing, reshape(max(less(slice(offsets, [1], [m - 1]), slice(offsets, [0], [m - 1]))), [1])); // a decrease
      bagOf = where(failing, -1, bagOf);
    }
    let rowsKept = rowsOut;
    if (psw !== undefined) {
      // A dropped index passes its weight no gradient, even through a row of ∞ or NaN (0 · ∞ would be NaN).
      if (pad >= 0 || o.csr) rowsKept = where(reshape(equal(bagOf, bags), [n, 1]), 0, rowsOut);
      rowsKept = mul(rowsKept, reshape(psw, [n, 1]));
    }
    // Checked (CUDA reads its flag back): a failing offsets check made every bag index −1, and this is where it shows.
    const sums = slice(checked(() => scatterAddRows(rowsKept, bagOf, bags + 1, true, op)), [0, 0], [bags, dim]);
    if (!o.mean) return sums;
    // The mean over each bag's kept indices; an empty bag's sum (0) stays 0.
    const ones = wrap(native().full([n, 1], weight.dtype, device, 1));
    const counts = slice(wrap(native().scatterAddRows(ones.handle, bagOf.handle, bags + 1, false)), [0, 0], [bags, 1]); // bagOf checked by the sums
    return div(sums, maximum(counts, 1));
  });
}
