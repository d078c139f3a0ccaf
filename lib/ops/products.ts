/**
 * Products and contractions (PyTorch's BLAS/LAPACK-free linear algebra): einsum,
 * mm/bmm/mv and their add* forms, tensordot, kron, trace, diag/diagonal/diagEmbed,
 * cross, cdist and meshgrid. Each is composed from the recorded ops (permute,
 * reshape, slice, pad, sum and the batched matmul), so gradients come from autograd
 * and every device runs them. int32 operands, where PyTorch takes them, are
 * multiplied in float64 and the result is brought back to int32, or refused when it
 * does not fit (antler has no int64) or when the partial sums' magnitudes could reach
 * 2^53, where float64 rounds (so an int32 result is exact or an error).
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { checkTensor, onesLike, Tensor } from '../tensor';
import { broadcastShapes, checkNumber, checkOptions, describe, shapeText, numel } from '../validate';
import {
  abs, add, broadcastTo, cast, clamp, concat, div, equal, max, matmul, mul, permute, readNumbers, reshape, slice, sqrt, sub, sum, where, min as minOf,
} from './core';
import { noGrad, record } from '../autograd/graph';
import { isFinite as isFiniteT, norm } from './extra';
import { pad } from './shape';

const MAX_RANK = 8;

/** Live tensors on one device and of one dtype (PyTorch's products do not promote). */
function sameKind(op: string, ts: readonly Tensor[], names: readonly string[]): void {
  ts.forEach((t, i) => checkTensor(t, op, names[i]));
  for (let i = 1; i < ts.length; i++) {
    if (ts[i].device !== ts[0].device)
      fail('DEVICE_MISMATCH', `${op}: ${names[i]} is on ${ts[i].device} and ${names[0]} on ${ts[0].device}; move one with .to('${ts[0].device}')`);
    if (ts[i].dtype !== ts[0].dtype)
      fail('DTYPE_MISMATCH', `${op}: ${names[i]} is ${ts[i].dtype} and ${names[0]} ${ts[0].dtype}; expected one dtype (cast one with .cast('${ts[0].dtype}'))`);
  }
}

/**
 * fn on the operands, or, when they are int32, on float64 copies with the result brought back to
 * int32, refused when it does not fit int32. Exact: `bound` (default fn itself) on the operands'
 * absolute values bounds every partial sum, and where that reaches 2^53 (float64 could round, so
 * the answer could be silently wrong) the op is refused too. `quick`, where an op gives one, bounds
 * those same partial sums from each operand's largest |entry| (read with the result's range, in
 * the one sync); the second pass of fn on |operands| then runs only where quick's bound reaches
 * 2^52 (2^52 leaves room for the rounding of quick's own few float products), so the outcome,
 * result or refusal, is the same as with the second pass always.
 */
function intVia64(
  op: string, ts: readonly Tensor[], fn: (ts: Tensor[]) => Tensor, bound: (abs: Tensor[]) => Tensor = fn,
  quick?: (maxAbs: number[]) => number,
): Tensor {
  if (ts.length === 0 || ts[0].dtype !== 'int32') return fn([...ts]);
  return tidy(() => {
    const wide64 = ts.map((t) => cast(t, 'float64'));
    const wide = fn(wide64);
    if (wide.size > 0) {
      const exactTop = (): Tensor => max(bound(wide64.map((t) => abs(t))));
      // Each nonempty operand's min and max (|entry| ≤ the larger of their magnitudes), when quick can use them.
      const ranged = quick ? ts.filter((t) => t.size > 0) : [];
      const reads = readNumbers([minOf(wide), max(wide), ...(quick ? ranged.flatMap((t) => [minOf(t), max(t)]) : [exactTop()])]);
      const [lo, hi] = reads;
      let top = reads[2];
      if (quick) {
        let j = 2;
        const maxAbs = ts.map((t) => (t.size > 0 ? Math.max(Math.abs(reads[j++]), Math.abs(reads[j++])) : 0));
        const q = quick(maxAbs);
        top = q < 2 ** 52 ? q : readNumbers([exactTop()])[0];
      }
      if (!(top < 2 ** 53))
        fail('DTYPE_MISMATCH', `${op}: the int32 operands' products and sums reach ${top}, beyond 2^53 where float64 (antler's exact int32 path; it has no int64) rounds; compute in float64 instead`);
      for (const v of [lo, hi])
        if (!(v >= -2147483648 && v <= 2147483647))
          fail('DTYPE_MISMATCH', `${op}: the int32 result ${v} does not fit int32 (antler has no int64, and wrapping around would give a wrong number); compute in float64 instead`);
    }
    return cast(wide, 'int32');
  });
}

/** quick of intVia64 for a product contracting k terms per entry: k · max|a| · max|b|. */
const productQuick = (k: number) => ([a, b]: number[]): number => k * a * b;

/** quick of intVia64 for beta · input + alpha · (a product contracting k terms): |beta| · max|input| + |alpha| · k · max|a| · max|b|. */
const addProductQuick = (beta: number, alpha: number, k: number) => ([x, a, b]: number[]): number => Math.abs(beta) * x + Math.abs(alpha) * k * a * b;

/** An integer axis in [−rank, rank), normalised. */
function axisIn(v: unknown, rank: number, op: string, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -rank || v >= rank)
    fail('INVALID_ARGUMENT', `${op}: ${what} must be an integer in [${-rank}, ${rank}); got ${describe(v)}`);
  return v < 0 ? v + rank : v;
}

function signedInt(v: unknown, op: string, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail('INVALID_ARGUMENT', `${op}: ${what} must be an integer; got ${describe(v)}`);
  return v;
}

/** permute, or x itself for the identity. */
function permuteIfNeeded(x: Tensor, perm: readonly number[]): Tensor {
  return perm.every((p, i) => p === i) ? x : permute(x, perm);
}

/** The length of the diagonal at `offset` of an [r, c] matrix. */
const diagLength = (r: number, c: number, offset: number): number => Math.max(0, offset >= 0 ? Math.min(r, c - offset) : Math.min(r + offset, c));

/**
 * The diagonal of axes a1, a2 at `offset`, appended as the last axis (torch.diagonal's layout):
 * the two axes moved last and flattened, where element (i, i + offset) sits at start + i·(c + 1),
 * so a slice, a reshape to rows of c + 1 and their first column take it (slice/pad/reshape only).
 */
function diagonalLast(x: Tensor, a1: number, a2: number, offset: number): Tensor {
  const others = x.shape.map((_, i) => i).filter((i) => i !== a1 && i !== a2);
  const batch = others.map((i) => x.shape[i]);
  const r = x.shape[a1], c = x.shape[a2];
  const len = diagLength(r, c, offset);
  const rows = numel(batch);
  const flat = reshape(permuteIfNeeded(x, [...others, a1, a2]), [rows, r * c]);
  const start = len === 0 ? 0 : offset >= 0 ? offset : -offset * c;
  const need = start + len * (c + 1);
  const padded = need > r * c ? pad(flat, [[0, 0], [0, need - r * c]]) : flat;
  const seg = slice(padded, [0, start], [rows, len * (c + 1)]);
  const firstCol = slice(reshape(seg, [rows, len, c + 1]), [0, 0, 0], [rows, len, 1]);
  return reshape(firstCol, [...batch, len]);
}

/** diagonalLast's inverse: x [..., len] placed on the diagonal at `offset` of new last axes [r, c] (zeros elsewhere). */
function diagEmbedLast(x: Tensor, r: number, c: number, offset: number): Tensor {
  const batch = x.shape.slice(0, -1);
  const len = x.shape[x.rank - 1];
  const rows = numel(batch);
  const start = len === 0 ? 0 : offset >= 0 ? offset : -offset * c;
  const spread = reshape(pad(reshape(x, [rows, len, 1]), [[0, 0], [0, 0], [0, c]]), [rows, len * (c + 1)]);
  const after = r * c - start - len * (c + 1);
  const placed = after >= 0 ? pad(spread, [[0, 0], [start, after]]) : slice(pad(spread, [[0, 0], [start, 0]]), [0, 0], [rows, r * c]);
  return reshape(placed, [...batch, r, c]);
}

// ---------------------------------------------------------------- einsum

/** Label ids: 'A'–'Z' 0–25, 'a'–'z' 26–51 (so sorting ids sorts as PyTorch's implicit output); ellipsis dims 52 on. */
const ELL = 52;
const labelText = (id: number): string => (id < 26 ? String.fromCharCode(65 + id) : id < ELL ? String.fromCharCode(97 + id - 26) : `…[${id - ELL}]`);

interface Term {
  labels: number[];
  /** Where the ellipsis stands among the labels, or −1. */
  ell: number;
}

function parseTerm(eq: string, from: number, to: number, what: string): Term {
  const labels: number[] = [];
  let ell = -1;
  for (let i = from; i < to; i++) {
    const ch = eq[i];
    if (ch === ' ') continue;
    if (ch === '.') {
      if (ell >= 0) fail('INVALID_ARGUMENT', `einsum: '${eq}' has a second ellipsis in ${what} (at index ${i}); each term takes at most one '...'`);
      if (eq.slice(i, i + 3) !== '...') fail('INVALID_ARGUMENT', `einsum: '${eq}' has a '.' at index ${i} that is not part of an ellipsis '...'`);
      ell = labels.length;
      i += 2;
      continue;
    }
    const code = ch.charCodeAt(0);
    if (code >= 65 && code <= 90) labels.push(code - 65);
    else if (code >= 97 && code <= 122) labels.push(code - 97 + 26);
    else fail('INVALID_ARGUMENT', `einsum: '${eq}' has '${ch}' at index ${i}; subscripts must be letters a–z, A–Z (with '...', ',' and '->')`);
  }
  return { labels, ell };
}

/**
 * One operand's axes as label ids (its ellipsis dims as ELL + k, right-aligned on `ellRank` ids).
 */
function axisLabels(t: Term, rank: number, ellRank: number): number[] {
  if (t.ell < 0) return t.labels.slice();
  const e = rank - t.labels.length;
  const ells = Array.from({ length: e }, (_, k) => ELL + ellRank - e + k);
  return [...t.labels.slice(0, t.ell), ...ells, ...t.labels.slice(t.ell)];
}

/**
 * torch.einsum: the sum of products of the operands' elements over the labels absent from the
 * output. `equation` names each operand's axes with letters (a–z, A–Z), ',' between operands,
 * and optionally '->' and the output's labels; without '->' the output is the ellipsis dims
 * followed by the labels that appear once, alphabetically (uppercase first, as PyTorch). A label
 * repeated within one operand takes its diagonal ('ii->i'); '...' stands for the remaining axes,
 * which broadcast across operands (right-aligned) and are summed when the output has no '...'.
 * Label sizes must agree or be 1 (broadcast). Operands are contracted left to right in pairs (as
 * PyTorch's default, unoptimised path), each pair one batched matmul after a permute and reshape,
 * so the gradient comes from matmul's. Operands share one dtype and device; int32 is computed in
 * float64 and refused when the result does not fit int32 or the sums' magnitudes reach 2^53.
 * @example einsum('bij,bjk->bik', a, b); einsum('ii', m); einsum('i,j->ij', u, v)
 */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  const op = 'einsum';
  if (typeof equation !== 'string') fail('INVALID_ARGUMENT', `einsum: the equation must be a string such as 'ij,jk->ik'; got ${describe(equation)}`);
  // einsum(eq, [a, b]) as torch's list form.
  const ops = operands.length === 1 && Array.isArray(operands[0]) ? (operands[0] as unknown as Tensor[]) : operands;
  if (ops.length === 0) fail('INVALID_ARGUMENT', `einsum: '${equation}' was given no operands; expected at least one tensor`);
  sameKind(op, ops, ops.map((_, i) => `operands[${i}]`));
  const arrow = equation.indexOf('->');
  const lhsEnd = arrow < 0 ? equation.length : arrow;
  if (arrow >= 0 && equation.indexOf('->', arrow + 2) >= 0) fail('INVALID_ARGUMENT', `einsum: '${equation}' has more than one '->'`);
  const terms: Term[] = [];
  let from = 0;
  for (let i = 0; i <= lhsEnd; i++)
    if (i === lhsEnd || equation[i] === ',') {
      terms.push(parseTerm(equation, from, i, `operand ${terms.length}'s term`));
      from = i + 1;
    }
  if (terms.length !== ops.length)
    fail('INVALID_ARGUMENT', `einsum: '${equation}' has ${terms.length} operand term${terms.length === 1 ? '' : 's'} but ${ops.length} operand${ops.length === 1 ? ' was' : 's were'} given`);
  // Ranks, the ellipsis' rank and the broadcast of its dims.
  let ellRank = 0;
  terms.forEach((t, i) => {
    const rank = ops[i].rank;
    if (t.ell < 0 ? rank !== t.labels.length : rank < t.labels.length)
      fail('SHAPE_MISMATCH', `einsum: operand ${i} has shape ${shapeText(ops[i].shape)} (${rank} dims) but its term in '${equation}' names ${t.labels.length}${t.ell < 0 ? ' and has no ellipsis' : ' (more than it has)'}`);
    if (t.ell >= 0) ellRank = Math.max(ellRank, rank - t.labels.length);
  });
  const axes = terms.map((t, i) => axisLabels(t, ops[i].rank, ellRank));
  const size = new Map<number, number>();
  axes.forEach((ls, i) => {
    const seen = new Map<number, number>();
    ls.forEach((l, k) => {
      const d = ops[i].shape[k];
      if (seen.has(l) && seen.get(l) !== d)
        fail('SHAPE_MISMATCH', `einsum: subscript ${labelText(l)} is repeated in operand ${i} (shape ${shapeText(ops[i].shape)}) with sizes ${seen.get(l)} and ${d}; a diagonal needs equal sizes`);
      seen.set(l, d);
      const prev = size.get(l);
      if (prev === undefined || prev === 1) size.set(l, d);
      else if (d !== 1 && d !== prev)
        fail('SHAPE_MISMATCH', `einsum: subscript ${labelText(l)} has size ${prev} in one operand and ${d} in operand ${i} (shape ${shapeText(ops[i].shape)}) of '${equation}'; sizes must agree or be 1`);
    });
  });
  // The output's labels.
  let out: number[];
  if (arrow >= 0) {
    const t = parseTerm(equation, arrow + 2, equation.length, 'the output');
    const seen = new Set<number>();
    for (const l of t.labels) {
      if (seen.has(l)) fail('INVALID_ARGUMENT', `einsum: output subscript ${labelText(l)} appears more than once in '${equation}'`);
      if (!size.has(l)) fail('INVALID_ARGUMENT', `einsum: output subscript ${labelText(l)} of '${equation}' appears in no operand`);
      seen.add(l);
    }
    const ells = Array.from({ length: t.ell < 0 ? 0 : ellRank }, (_, k) => ELL + k);
    out = t.ell < 0 ? t.labels : [...t.labels.slice(0, t.ell), ...ells, ...t.labels.slice(t.ell)];
  } else {
    const count = new Map<number, number>();
    for (const ls of axes) for (const l of ls) if (l < ELL) count.set(l, (count.get(l) ?? 0) + 1);
    out = [...Array.from({ length: ellRank }, (_, k) => ELL + k), ...[...count.keys()].filter((l) => count.get(l) === 1).sort((a, b) => a - b)];
  }
  if (out.length > MAX_RANK) fail('INVALID_ARGUMENT', `einsum: '${equation}' gives an output of ${out.length} dims; at most ${MAX_RANK} are supported`);
  return intVia64(op, ops, (xs) => tidy(() => contractAll(xs, axes, out, size)));
}

/** einsum once parsed: diagonals, early sums, then pairwise contractions left to right. */
function contractAll(xs: Tensor[], axes: number[][], out: number[], size: Map<number, number>): Tensor {
  const outSet = new Set(out);
  // Labels still needed after operand i: the output's and those of operands after i.
  const neededAfter = (i: number): Set<number> => {
    const s = new Set(outSet);
    for (let j = i + 1; j < axes.length; j++) for (const l of axes[j]) s.add(l);
    return s;
  };
  const prepared = xs.map((x, i) => {
    let t = x, ls = axes[i].slice();
    // Repeated labels: their diagonal, appended last.
    for (;;) {
      const dup = ls.findIndex((l, k) => ls.indexOf(l) !== k);
      if (dup < 0) break;
      const first = ls.indexOf(ls[dup]);
      t = diagonalLast(t, first, dup, 0);
      ls = [...ls.filter((_, k) => k !== first && k !== dup), ls[dup]];
    }
    // Labels in no other operand and not in the output: summed now.
    const elsewhere = new Set(outSet);
    axes.forEach((a, j) => j !== i && a.forEach((l) => elsewhere.add(l)));
    const lone = ls.map((l, k) => (elsewhere.has(l) ? -1 : k)).filter((k) => k >= 0);
    if (lone.length) {
      t = sum(t, lone);
      ls = ls.filter((_, k) => !lone.includes(k));
    }
    return { t, ls };
  });
  let { t: acc, ls: accL } = prepared[0];
  for (let i = 1; i < prepared.length; i++) {
    [acc, accL] = contractPair(acc, accL, prepared[i].t, prepared[i].ls, neededAfter(i), size);
  }
  // What the output lacks is summed (a single operand's, or labels of size 1 left over), then the output's order.
  const extra = accL.map((l, k) => (outSet.has(l) ? -1 : k)).filter((k) => k >= 0);
  if (extra.length) {
    acc = sum(acc, extra);
    accL = accL.filter((l) => outSet.has(l));
  }
  const perm = out.map((l) => accL.indexOf(l));
  const res = permuteIfNeeded(acc, perm);
  const want = out.map((l) => size.get(l)!);
  if (!res.shape.every((d, k) => d === want[k])) return broadcastTo(res, want);
  // Never the operand itself (einsum('ij->ij', x)): a new tensor, as every op's result.
  return res === xs[0] ? reshape(res, want) : res;
}

/** One pairwise contraction: a and b (distinct labels each) to one tensor over the labels in `keep` that either has. */
function contractPair(a: Tensor, la: number[], b: Tensor, lb: number[], keep: Set<number>, size: Map<number, number>): [Tensor, number[]] {
  // Labels in one operand only that are not needed: summed first.
  const dropA = la.map((l, k) => (!keep.has(l) && !lb.includes(l) ? k : -1)).filter((k) => k >= 0);
  if (dropA.length) [a, la] = [sum(a, dropA), la.filter((_, k) => !dropA.includes(k))];
  const dropB = lb.map((l, k) => (!keep.has(l) && !la.includes(l) ? k : -1)).filter((k) => k >= 0);
  if (dropB.length) [b, lb] = [sum(b, dropB), lb.filter((_, k) => !dropB.includes(k))];
  const shared = la.filter((l) => lb.includes(l));
  const batch = shared.filter((l) => keep.has(l));
  const contracted = shared.filter((l) => !keep.has(l));
  const left = la.filter((l) => !lb.includes(l));
  const right = lb.filter((l) => !la.includes(l));
  if (batch.length + left.length + right.length > MAX_RANK)
    fail('INVALID_ARGUMENT', `einsum: an intermediate result would have ${batch.length + left.length + right.length} dims; at most ${MAX_RANK} are supported (reorder the operands)`);
  // Shared labels of size 1 on one side: a contracted one summed on the other side, a batch one broadcast.
  for (const l of contracted) {
    const ka = la.indexOf(l), kb = lb.indexOf(l);
    if (a.shape[ka] === 1 && b.shape[kb] !== 1) b = sum(b, kb, true);
    else if (b.shape[kb] === 1 && a.shape[ka] !== 1) a = sum(a, ka, true);
  }
  const full = (t: Tensor, ls: number[]) => {
    const want = ls.map((l, k) => (batch.includes(l) ? size.get(l)! : t.shape[k]));
    return want.every((d, k) => d === t.shape[k]) ? t : broadcastTo(t, want);
  };
  a = full(a, la);
  b = full(b, lb);
  const dims = (t: Tensor, ls: number[], of: number[]) => of.map((l) => t.shape[ls.indexOf(l)]);
  const bs = dims(a, la, batch), ls = dims(a, la, left), ks = dims(a, la, contracted), rs = dims(b, lb, right);
  const a3 = reshape(permuteIfNeeded(a, [...batch, ...left, ...contracted].map((l) => la.indexOf(l))), [numel(bs), numel(ls), numel(ks)]);
  const b3 = reshape(permuteIfNeeded(b, [...batch, ...contracted, ...right].map((l) => lb.indexOf(l))), [numel(bs), numel(ks), numel(rs)]);
  return [reshape(matmul(a3, b3), [...bs, ...ls, ...rs]), [...batch, ...left, ...right]];
}

// ---------------------------------------------------------------- matrix products

function rankIs(op: string, t: Tensor, what: string, rank: number, form: string): void {
  if (t.rank !== rank) fail('SHAPE_MISMATCH', `${op}: ${what} must be ${rank}-D (${form}); got shape ${shapeText(t.shape)}`);
}

function innerMatch(op: string, a: Tensor, b: Tensor, ka: number, kb: number, names: [string, string]): void {
  if (a.shape[ka] !== b.shape[kb])
    fail('SHAPE_MISMATCH', `${op}: ${names[0]} ${shapeText(a.shape)} and ${names[1]} ${shapeText(b.shape)} cannot be multiplied (${a.shape[ka]} ≠ ${b.shape[kb]})`);
}

/** The matrix product of two 2-D tensors (torch.mm): [n, k] × [k, m] → [n, m]; no broadcasting, unlike matmul. */
export function mm(a: Tensor, b: Tensor): Tensor {
  sameKind('mm', [a, b], ['a', 'b']);
  rankIs('mm', a, 'a', 2, '[n, k]');
  rankIs('mm', b, 'b', 2, '[k, m]');
  innerMatch('mm', a, b, 1, 0, ['a', 'b']);
  return intVia64('mm', [a, b], ([x, y]) => matmul(x, y), undefined, productQuick(a.shape[1]));
}

/** Batched matrix product of two 3-D tensors (torch.bmm): [B, n, k] × [B, k, m] → [B, n, m]; batches must match (no broadcasting). */
export function bmm(a: Tensor, b: Tensor): Tensor {
  sameKind('bmm', [a, b], ['a', 'b']);
  rankIs('bmm', a, 'a', 3, '[B, n, k]');
  rankIs('bmm', b, 'b', 3, '[B, k, m]');
  if (a.shape[0] !== b.shape[0]) fail('SHAPE_MISMATCH', `bmm: a ${shapeText(a.shape)} and b ${shapeText(b.shape)} have batches of ${a.shape[0]} and ${b.shape[0]}; expected equal`);
  innerMatch('bmm', a, b, 2, 1, ['a', 'b']);
  return intVia64('bmm', [a, b], ([x, y]) => matmul(x, y), undefined, productQuick(a.shape[2]));
}

/** Matrix-vector product (torch.mv): [n, k] × [k] → [n]. */
export function mv(m: Tensor, v: Tensor): Tensor {
  sameKind('mv', [m, v], ['m', 'v']);
  rankIs('mv', m, 'm', 2, '[n, k]');
  rankIs('mv', v, 'v', 1, '[k]');
  innerMatch('mv', m, v, 1, 0, ['m', 'v']);
  return intVia64('mv', [m, v], ([x, y]) => matmul(x, y), undefined, productQuick(m.shape[1]));
}

/** Options of addmm, addmv, baddbmm and addbmm: out = beta · input + alpha · product (both default 1). */
export interface AddProductOptions {
  /** The factor of input (default 1); 0 ignores input, its NaN and ∞ too, as PyTorch. Integral for int32. */
  beta?: number;
  /** The factor of the product (default 1); 0 still multiplies (a NaN or ∞ in the product gives NaN; torch 1.13's addmm, addmv, addbmm drop it). Integral for int32. */
  alpha?: number;
}

/** beta · input + alpha · product (contracting k terms per entry), input broadcast to the product's shape; beta 0 ignores input (its NaN too), as PyTorch. */
function addProduct(op: string, input: Tensor, ts: Tensor[], names: string[], options: unknown, outShape: number[], k: number, product: (ts: Tensor[]) => Tensor): Tensor {
  const o = checkOptions<AddProductOptions>(options, op, ['beta', 'alpha']);
  const beta = o.beta === undefined ? 1 : checkNumber(o.beta, op, 'beta');
  const alpha = o.alpha === undefined ? 1 : checkNumber(o.alpha, op, 'alpha');
  if (input.dtype === 'int32' && !(Number.isInteger(beta) && Number.isInteger(alpha)))
    fail('INVALID_ARGUMENT', `${op}: beta and alpha must be integers for int32 operands; got beta ${beta}, alpha ${alpha}`);
  const b = broadcastShapes([input.shape, outShape]);
  if (!b || b.length !== outShape.length || b.some((d, i) => d !== outShape[i]))
    fail('SHAPE_MISMATCH', `${op}: input ${shapeText(input.shape)} does not broadcast to the product's shape ${shapeText(outShape)}`);
  return intVia64(op, [input, ...ts], ([x, ...rest]) => tidy(() => {
    const p = product(rest);
    const scaled = alpha === 1 ? p : mul(p, alpha);
    if (beta === 0) return scaled;
    return add(beta === 1 ? x : mul(x, beta), scaled);
  }), ([x, ...rest]) => add(mul(x, Math.abs(beta)), mul(product(rest), Math.abs(alpha))), addProductQuick(beta, alpha, k));
}

/** beta · input + alpha · (m1 @ m2) (torch.addmm): m1 [n, k], m2 [k, m], input broadcastable to [n, m]. */
export function addmm(input: Tensor, m1: Tensor, m2: Tensor, options?: AddProductOptions): Tensor {
  sameKind('addmm', [input, m1, m2], ['input', 'm1', 'm2']);
  rankIs('addmm', m1, 'm1', 2, '[n, k]');
  rankIs('addmm', m2, 'm2', 2, '[k, m]');
  innerMatch('addmm', m1, m2, 1, 0, ['m1', 'm2']);
  return addProduct('addmm', input, [m1, m2], ['m1', 'm2'], options, [m1.shape[0], m2.shape[1]], m1.shape[1], ([x, y]) => matmul(x, y));
}

/** beta · input + alpha · (mat @ vec) (torch.addmv): mat [n, k], vec [k], input broadcastable to [n]. */
export function addmv(input: Tensor, mat: Tensor, vec: Tensor, options?: AddProductOptions): Tensor {
  sameKind('addmv', [input, mat, vec], ['input', 'mat', 'vec']);
  rankIs('addmv', mat, 'mat', 2, '[n, k]');
  rankIs('addmv', vec, 'vec', 1, '[k]');
  innerMatch('addmv', mat, vec, 1, 0, ['mat', 'vec']);
  return addProduct('addmv', input, [mat, vec], ['mat', 'vec'], options, [mat.shape[0]], mat.shape[1], ([x, y]) => matmul(x, y));
}

/** beta · input + alpha · bmm(b1, b2) (torch.baddbmm): b1 [B, n, k], b2 [B, k, m], input broadcastable to [B, n, m]. */
export function baddbmm(input: Tensor, b1: Tensor, b2: Tensor, options?: AddProductOptions): Tensor {
  sameKind('baddbmm', [input, b1, b2], ['input', 'b1', 'b2']);
  rankIs('baddbmm', b1, 'b1', 3, '[B, n, k]');
  rankIs('baddbmm', b2, 'b2', 3, '[B, k, m]');
  if (b1.shape[0] !== b2.shape[0]) fail('SHAPE_MISMATCH', `baddbmm: b1 ${shapeText(b1.shape)} and b2 ${shapeText(b2.shape)} have batches of ${b1.shape[0]} and ${b2.shape[0]}; expected equal`);
  innerMatch('baddbmm', b1, b2, 2, 1, ['b1', 'b2']);
  return addProduct('baddbmm', input, [b1, b2], ['b1', 'b2'], options, [b1.shape[0], b1.shape[1], b2.shape[2]], b1.shape[2], ([x, y]) => matmul(x, y));
}

/**
 * beta · input + alpha · Σ_b b1[b] @ b2[b] (torch.addbmm): b1 [B, n, k], b2 [B, k, m], input broadcastable
 * to [n, m]; the batch sum is one GEMM over [n, B·k] × [B·k, m].
 */
export function addbmm(input: Tensor, b1: Tensor, b2: Tensor, options?: AddProductOptions): Tensor {
  sameKind('addbmm', [input, b1, b2], ['input', 'b1', 'b2']);
  rankIs('addbmm', b1, 'b1', 3, '[B, n, k]');
  rankIs('addbmm', b2, 'b2', 3, '[B, k, m]');
  if (b1.shape[0] !== b2.shape[0]) fail('SHAPE_MISMATCH', `addbmm: b1 ${shapeText(b1.shape)} and b2 ${shapeText(b2.shape)} have batches of ${b1.shape[0]} and ${b2.shape[0]}; expected equal`);
  innerMatch('addbmm', b1, b2, 2, 1, ['b1', 'b2']);
  const [B, n, k] = b1.shape, m = b2.shape[2];
  return addProduct('addbmm', input, [b1, b2], ['b1', 'b2'], options, [n, m], B * k, ([x, y]) =>
    matmul(reshape(permute(x, [1, 0, 2]), [n, B * k]), reshape(y, [B * k, m])));
}

// ---------------------------------------------------------------- tensordot, kron

/**
 * torch.tensordot: sums the products of a and b over paired axes. `dims` a number n (default 2):
 * a's last n axes with b's first n; or [axesOfA, axesOfB], two lists of one length (a number
 * stands for a list of one). Paired sizes must agree, or one be 1 (then that axis is summed
 * first, as PyTorch). The result's axes are a's free axes then b's.
 */
export function tensordot(a: Tensor, b: Tensor, dims: number | readonly [number | readonly number[], number | readonly number[]] = 2): Tensor {
  const op = 'tensordot';
  sameKind(op, [a, b], ['a', 'b']);
  let da: number[], db: number[];
  if (typeof dims === 'number') {
    if (!Number.isInteger(dims) || dims < 0 || dims > Math.min(a.rank, b.rank))
      fail('INVALID_ARGUMENT', `${op}: dims must be an integer in [0, ${Math.min(a.rank, b.rank)}] for a ${shapeText(a.shape)} and b ${shapeText(b.shape)}; got ${describe(dims)}`);
    da = Array.from({ length: dims }, (_, i) => a.rank - dims + i);
    db = Array.from({ length: dims }, (_, i) => i);
  } else {
    if (!Array.isArray(dims) || dims.length !== 2)
      fail('INVALID_ARGUMENT', `${op}: dims must be a number or a pair [axesOfA, axesOfB]; got ${describe(dims)}`);
    const list = (v: unknown, t: Tensor, what: string): number[] => (typeof v === 'number' ? [v] : Array.isArray(v) ? v : fail('INVALID_ARGUMENT', `${op}: ${what} must be an axis or a list of axes; got ${describe(v)}`)).map((x: unknown) => axisIn(x, t.rank, op, `an axis of ${what}`));
    da = list(dims[0], a, 'dims[0]');
    db = list(dims[1], b, 'dims[1]');
    if (da.length !== db.length) fail('INVALID_ARGUMENT', `${op}: dims pairs ${da.length} axes of a with ${db.length} of b; expected lists of one length`);
    for (const [l, what] of [[da, 'dims[0]'], [db, 'dims[1]']] as const)
      if (new Set(l).size !== l.length) fail('INVALID_ARGUMENT', `${op}: ${what} lists an axis twice (${describe(l)})`);
  }
  da.forEach((x, i) => {
    const sa = a.shape[x], sb = b.shape[db[i]];
    if (sa !== sb && sa !== 1 && sb !== 1)
      fail('SHAPE_MISMATCH', `${op}: contracted axes differ: a's axis ${x} has size ${sa} (shape ${shapeText(a.shape)}) and b's axis ${db[i]} ${sb} (shape ${shapeText(b.shape)})`);
  });
  const freeA = a.shape.map((_, i) => i).filter((i) => !da.includes(i));
  const freeB = b.shape.map((_, i) => i).filter((i) => !db.includes(i));
  if (freeA.length + freeB.length > MAX_RANK) fail('INVALID_ARGUMENT', `${op}: the result would have ${freeA.length + freeB.length} dims; at most ${MAX_RANK} are supported`);
  return intVia64(op, [a, b], ([x, y]) => tidy(() => {
    // Size-1 against a larger size: the larger side summed to 1 first.
    const sa = da.filter((ax, i) => x.shape[ax] !== 1 && y.shape[db[i]] === 1);
    const sb = db.filter((ax, i) => y.shape[ax] !== 1 && x.shape[da[i]] === 1);
    if (sa.length) x = sum(x, sa, true);
    if (sb.length) y = sum(y, sb, true);
    const k = numel(da.map((ax) => x.shape[ax]));
    const fa = freeA.map((i) => x.shape[i]), fb = freeB.map((i) => y.shape[i]);
    const a2 = reshape(permuteIfNeeded(x, [...freeA, ...da]), [numel(fa), k]);
    const b2 = reshape(permuteIfNeeded(y, [...db, ...freeB]), [k, numel(fb)]);
    return reshape(matmul(a2, b2), [...fa, ...fb]);
  }));
}

/**
 * The Kronecker product (torch.kron): for a and b of rank r (the lower one padded with leading 1s),
 * out[i·bShape + j] = a[i]·b[j], shape a.shape · b.shape elementwise. Ranks up to 4 (the
 * interleaved intermediate needs 2r ≤ 8 dims).
 */
export function kron(a: Tensor, b: Tensor): Tensor {
  sameKind('kron', [a, b], ['a', 'b']);
  const r = Math.max(a.rank, b.rank);
  if (2 * r > MAX_RANK) fail('INVALID_ARGUMENT', `kron: operands of rank ${r} need ${2 * r} dims on the way; at most rank ${MAX_RANK / 2} is supported`);
  const sa = [...Array(r - a.rank).fill(1), ...a.shape], sb = [...Array(r - b.rank).fill(1), ...b.shape];
  return intVia64('kron', [a, b], ([x, y]) => tidy(() => {
    const ai = reshape(x, sa.flatMap((d) => [d, 1]));
    const bi = reshape(y, sb.flatMap((d) => [1, d]));
    return reshape(mul(ai, bi), sa.map((d, i) => d * sb[i]));
  }));
}

// ---------------------------------------------------------------- diagonals

/** Options of {@link diagonal}. */
export interface DiagonalOptions {
  /** Which diagonal: 0 the main (default), > 0 above it, < 0 below. */
  offset?: number;
  /** The two axes the diagonal runs over (defaults 0 and 1 for diagonal, −2 and −1 for diagEmbed). */
  axis1?: number;
  axis2?: number;
}

/**
 * torch.diagonal: the elements x[…, i, …, i + offset, …] of axes axis1, axis2 (defaults 0, 1),
 * those axes removed and the diagonal appended as the last axis. A copy (PyTorch's is a view).
 */
export function diagonal(x: Tensor, options?: DiagonalOptions): Tensor {
  checkTensor(x, 'diagonal', 'x');
  const o = checkOptions<DiagonalOptions>(options, 'diagonal', ['offset', 'axis1', 'axis2']);
  if (x.rank < 2) fail('SHAPE_MISMATCH', `diagonal: x must have at least 2 dims; got shape ${shapeText(x.shape)}`);
  const offset = o.offset === undefined ? 0 : signedInt(o.offset, 'diagonal', 'offset');
  const a1 = axisIn(o.axis1 ?? 0, x.rank, 'diagonal', 'axis1'), a2 = axisIn(o.axis2 ?? 1, x.rank, 'diagonal', 'axis2');
  if (a1 === a2) fail('INVALID_ARGUMENT', `diagonal: axis1 and axis2 are both axis ${a1}; expected two different axes`);
  return tidy(() => diagonalLast(x, a1, a2, offset));
}

/**
 * torch.diag_embed: x [..., n] placed on the diagonal at `offset` of two new axes of size
 * n + |offset| (at axis1, axis2 of the result: defaults −2, −1), zeros elsewhere.
 */
export function diagEmbed(x: Tensor, options?: DiagonalOptions): Tensor {
  checkTensor(x, 'diagEmbed', 'x');
  const o = checkOptions<DiagonalOptions>(options, 'diagEmbed', ['offset', 'axis1', 'axis2']);
  if (x.rank < 1) fail('SHAPE_MISMATCH', 'diagEmbed: x must have at least 1 dim (the diagonal\'s); got a 0-d tensor');
  if (x.rank + 1 > MAX_RANK) fail('INVALID_ARGUMENT', `diagEmbed: the result would have ${x.rank + 1} dims; at most ${MAX_RANK} are supported`);
  const offset = o.offset === undefined ? 0 : signedInt(o.offset, 'diagEmbed', 'offset');
  const rank = x.rank + 1;
  const a1 = axisIn(o.axis1 ?? -2, rank, 'diagEmbed', 'axis1'), a2 = axisIn(o.axis2 ?? -1, rank, 'diagEmbed', 'axis2');
  if (a1 === a2) fail('INVALID_ARGUMENT', `diagEmbed: axis1 and axis2 are both axis ${a1}; expected two different axes`);
  const n = x.shape[x.rank - 1] + Math.abs(offset);
  return tidy(() => {
    const emb = diagEmbedLast(x, n, n, offset);
    // Result axis d: a1 ← emb's rank−2, a2 ← rank−1, the others the batch axes in order.
    let next = 0;
    const perm = Array.from({ length: rank }, (_, d) => (d === a1 ? rank - 2 : d === a2 ? rank - 1 : next++));
    return permuteIfNeeded(emb, perm);
  });
}

/**
 * torch.diag: a 1-D x gives the square matrix with x on its `diagonal` (0 main, > 0 above,
 * < 0 below); a 2-D x gives that diagonal as a 1-D tensor.
 */
export function diag(x: Tensor, diagonalOffset = 0): Tensor {
  checkTensor(x, 'diag', 'x');
  const offset = signedInt(diagonalOffset, 'diag', 'diagonal');
  if (x.rank === 1) return diagEmbed(x, { offset });
  if (x.rank === 2) return diagonal(x, { offset });
  return fail('SHAPE_MISMATCH', `diag: x must be 1-D (to a matrix) or 2-D (to its diagonal); got shape ${shapeText(x.shape)}`);
}

/** The sum of a 2-D tensor's main diagonal (torch.trace); int32 sums exactly or is refused. */
export function trace(m: Tensor): Tensor {
  checkTensor(m, 'trace', 'm');
  rankIs('trace', m, 'm', 2, '[n, m]');
  return tidy(() => sum(diagonalLast(m, 0, 1, 0)));
}

// ---------------------------------------------------------------- cross, cdist, meshgrid

/**
 * The cross product along `axis` (default −1) of size 3 (torch.linalg.cross): a and b of one
 * rank and dtype, other axes broadcasting.
 */
export function cross(a: Tensor, b: Tensor, axis = -1): Tensor {
  const op = 'cross';
  sameKind(op, [a, b], ['a', 'b']);
  if (a.rank !== b.rank) fail('SHAPE_MISMATCH', `${op}: a ${shapeText(a.shape)} and b ${shapeText(b.shape)} have different ranks; expected the same number of dims (as torch.linalg.cross)`);
  if (a.rank === 0) fail('SHAPE_MISMATCH', `${op}: a and b are 0-d; expected vectors of 3 along the axis`);
  const ax = axisIn(axis, a.rank, op, 'axis');
  if (a.shape[ax] !== 3 || b.shape[ax] !== 3)
    fail('SHAPE_MISMATCH', `${op}: axis ${axis} has sizes ${a.shape[ax]} (a ${shapeText(a.shape)}) and ${b.shape[ax]} (b ${shapeText(b.shape)}); expected 3 in both`);
  if (!broadcastShapes([a.shape, b.shape])) fail('SHAPE_MISMATCH', `${op}: a ${shapeText(a.shape)} and b ${shapeText(b.shape)} do not broadcast`);
  const part = (t: Tensor, i: number) => slice(t, t.shape.map((_, d) => (d === ax ? i : 0)), t.shape.map((s, d) => (d === ax ? 1 : s)));
  // int32 in float64 (as the other products), bounded by Σ|a| · Σ|b| along the axis.
  return intVia64(op, [a, b], ([x, y]) => tidy(() => {
    const [a0, a1, a2] = [0, 1, 2].map((i) => part(x, i));
    const [b0, b1, b2] = [0, 1, 2].map((i) => part(y, i));
    const c = [sub(mul(a1, b2), mul(a2, b1)), sub(mul(a2, b0), mul(a0, b2)), sub(mul(a0, b1), mul(a1, b0))];
    return concat(c, ax);
  }), ([x, y]) => mul(sum(x, ax, true), sum(y, ax, true)));
}

/**
 * torch.cdist: the p-norm distances between the rows of x1 [..., P, M] and x2 [..., R, M]:
 * [..., P, R] (batch axes broadcast). p ≥ 0: 0 counts differing coordinates, Infinity takes
 * the largest |difference|. Gradients as PyTorch's: 0 at a zero distance and for a zero
 * coordinate difference; with p = ∞ each coordinate at the maximum gets the full gradient.
 * Computed from the differences ([..., P, R, M] elements on the way), except for p = 2 with
 * `computeMode` 'use_mm_for_euclid_dist_if_necessary' (the default: when P > 25 or R > 25)
 * or 'use_mm_for_euclid_dist': then as PyTorch's _euclidean_dist, √max(‖x‖² + ‖y‖² − 2x·y, 0)
 * by one batched matmul ([..., P, R] on the way; cancellation makes small distances less
 * accurate, as PyTorch's), with its gradient (0 where the distance is 0).
 * 'donot_use_mm_for_euclid_dist' always takes the differences. A NaN coordinate
 * counts as differing for p = 0 (as torch.linalg.vector_norm; torch.cdist gives NaN) and gives
 * NaN for p = ∞ (torch.cdist skips it).
 */
export function cdist(x1: Tensor, x2: Tensor, p = 2, computeMode: CdistComputeMode = 'use_mm_for_euclid_dist_if_necessary'): Tensor {
  const op = 'cdist';
  sameKind(op, [x1, x2], ['x1', 'x2']);
  if (x1.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: x1 and x2 are int32; expected float32 or float64 (as PyTorch)`);
  if (x1.rank < 2 || x2.rank < 2) fail('SHAPE_MISMATCH', `${op}: x1 ${shapeText(x1.shape)} and x2 ${shapeText(x2.shape)} must have at least 2 dims ([..., P, M] and [..., R, M])`);
  const m = x1.shape[x1.rank - 1];
  if (x2.shape[x2.rank - 1] !== m) fail('SHAPE_MISMATCH', `${op}: x1 ${shapeText(x1.shape)} has ${m} columns and x2 ${shapeText(x2.shape)} ${x2.shape[x2.rank - 1]}; expected equal`);
  if (typeof p !== 'number' || !(p >= 0)) fail('INVALID_ARGUMENT', `${op}: p must be a number >= 0 (Infinity allowed); got ${describe(p)}`);
  const batch = broadcastShapes([x1.shape.slice(0, -2), x2.shape.slice(0, -2)]);
  if (!batch) fail('SHAPE_MISMATCH', `${op}: the batch axes of x1 ${shapeText(x1.shape)} and x2 ${shapeText(x2.shape)} do not broadcast`);
  if (!CDIST_MODES.includes(computeMode))
    fail('INVALID_ARGUMENT', `${op}: computeMode must be one of ${CDIST_MODES.map((c) => `'${c}'`).join(', ')}; got ${describe(computeMode)}`);
  const P = x1.shape[x1.rank - 2], R = x2.shape[x2.rank - 2];
  if (p === 2 && m > 0 && (computeMode === 'use_mm_for_euclid_dist' || (computeMode === 'use_mm_for_euclid_dist_if_necessary' && (P > 25 || R > 25))))
    return euclideanByMatmul(broadcastTo(x1, [...batch, P, m]), broadcastTo(x2, [...batch, R, m]));
  if (batch.length + 3 > MAX_RANK) fail('INVALID_ARGUMENT', `${op}: ${batch.length} batch axes need ${batch.length + 3} dims on the way; at most ${MAX_RANK} are supported`);
  return tidy(() => {
    const a = reshape(x1, [...x1.shape.slice(0, -1), 1, m]);
    const b = reshape(x2, [...x2.shape.slice(0, -2), 1, ...x2.shape.slice(-2)]);
    const d = sub(a, b);
    // No coordinates: distances 0, as PyTorch (a max over an empty axis would throw).
    if (m === 0) return sum(d, -1);
    // norm's gradient is PyTorch's cdist's: 0 at a zero distance and at a zero difference (also for p < 1).
    if (p !== Infinity) return norm(d, p, -1);
    // p = ∞: the largest |d|, every coordinate at it taking the whole gradient (PyTorch's cdist, not amax's share).
    const ad = abs(d);
    const top = max(ad, -1, true).detach();
    const s = sum(mul(ad, equal(ad, top)), -1);
    const value = reshape(top, top.shape.slice(0, -1));
    return where(isFiniteT(value), add(value, sub(s, s.detach())), value);
  });
}

/** cdist's computeMode (torch.cdist's compute_mode). */
export type CdistComputeMode = 'use_mm_for_euclid_dist_if_necessary' | 'use_mm_for_euclid_dist' | 'donot_use_mm_for_euclid_dist';
const CDIST_MODES: readonly CdistComputeMode[] = ['use_mm_for_euclid_dist_if_necessary', 'use_mm_for_euclid_dist', 'donot_use_mm_for_euclid_dist'];

/**
 * PyTorch's _euclidean_dist of a [..., P, M] and b [..., R, M] (same batch axes): [−2a, ‖a‖², 1]
 * times [b, 1, ‖b‖²]ᵀ, clamped at 0, square-rooted; recorded with PyTorch's backward
 * (g/d, 0 where d = 0, pushed back by matmuls), itself recorded ops so twice differentiable.
 */
function euclideanByMatmul(a: Tensor, b: Tensor): Tensor {
  const value = noGrad(() => tidy(() => {
    const na = sum(mul(a, a), -1, true), nb = sum(mul(b, b), -1, true);
    const left = concat([mul(a, -2), na, onesLike(na)], -1), right = concat([b, onesLike(nb), nb], -1);
    return sqrt(clamp(matmul(left, right, { transposeB: true }), 0));
  }));
  return record(value, 'cdist', [a, b], (g, [sa, sb, d], needs) => {
    const ratio = where(equal(d, 0), 0, div(g, d));
    return [
      needs[0] ? sub(mul(sa, sum(ratio, -1, true)), matmul(ratio, sb)) : null,
      needs[1] ? sub(mul(sb, reshape(sum(ratio, -2), [...sb.shape.slice(0, -1), 1])), matmul(ratio, sa, { transposeA: true })) : null,
    ];
  }, [a, b, value], true);
}

/**
 * torch.meshgrid: for k 0-d or 1-D tensors of sizes n1, …, nk, k tensors of shape [n1, …, nk],
 * the i-th varying along axis i. The last argument may be `{indexing}`: 'ij' (default, as
 * torch's documented default) or 'xy' (the first two axes swapped: [n2, n1, …]). The tensors may
 * come as one array too. Copies (PyTorch returns views); gradients sum back to each input.
 */
export function meshgrid(...args: (Tensor | readonly Tensor[] | { indexing?: 'ij' | 'xy' })[]): Tensor[] {
  const op = 'meshgrid';
  const last = args[args.length - 1];
  const opts = last !== undefined && !(last instanceof Tensor) && !Array.isArray(last) ? (args.pop() as object) : undefined;
  const o = checkOptions<{ indexing: 'ij' | 'xy' }>(opts, op, ['indexing']);
  const indexing = o.indexing ?? 'ij';
  if (indexing !== 'ij' && indexing !== 'xy') fail('INVALID_ARGUMENT', `${op}: indexing must be 'ij' or 'xy'; got ${describe(o.indexing)}`);
  const ts = (args.length === 1 && Array.isArray(args[0]) ? args[0] : args) as Tensor[];
  if (ts.length === 0) fail('INVALID_ARGUMENT', `${op}: expected at least one tensor`);
  if (ts.length > MAX_RANK) fail('INVALID_ARGUMENT', `${op}: ${ts.length} tensors give ${ts.length}-D grids; at most ${MAX_RANK} are supported`);
  sameKind(op, ts, ts.map((_, i) => `tensors[${i}]`));
  ts.forEach((t, i) => {
    if (t.rank > 1) fail('SHAPE_MISMATCH', `${op}: tensors[${i}] has shape ${shapeText(t.shape)}; expected 0-d or 1-D`);
  });
  const sizes = ts.map((t) => t.size);
  const swap = indexing === 'xy' && ts.length >= 2;
  const shape = swap ? [sizes[1], sizes[0], ...sizes.slice(2)] : sizes;
  return ts.map((t, i) => {
    const at = swap && i < 2 ? 1 - i : i;
    return tidy(() => broadcastTo(reshape(t, shape.map((d, k) => (k === at ? d : 1))), shape));
  });
}
