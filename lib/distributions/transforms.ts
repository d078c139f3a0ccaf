/**
 * Transforms and transformed distributions (torch.distributions.transforms
 * and its compositions): Transform and its bijections, bijectTo/transformTo,
 * TransformedDistribution, Independent, MixtureSameFamily, LogisticNormal,
 * and the matrix distributions built on them: LKJCholesky, Wishart.
 */
import { Tensor } from '../tensor';
import { tidy, HELD_TENSORS } from '../engine';
import { fail } from '../errors';
import { broadcastShapes, describe, shapeText } from '../validate';
import { abs, add, clamp, concat, cumprod, cumsum, div, exp, expm1, lessEqual, log, log1p, matmul, mul, neg, pow, reshape, sigmoid, softplus, sqrt, square, stack, sub, sum, tanh, atanh, transpose, where, broadcastTo } from '../ops/core';
import { eye, logSigmoid, norm as vecNorm } from '../ops/extra';
import { digamma, lgamma } from '../ops/pointwise';
import { cholesky, inv, slogdet, solveTriangular } from '../ops/linalg-lu';
import { standardGamma } from '../ops/random-special';

import { noGrad } from '../autograd/graph';
import { logSumExp } from '../ops/reductions';
import { logSoftmax, softmax } from '../ops/nn';
import { narrow, pad, select, unsqueeze } from '../ops/shape';
import { diagEmbed, diagonal } from '../ops/products';
import { gather, indexSelect } from '../ops/indexing';
import { randn, tensor, zeros } from '../tensor';
import { Distribution, type DistributionOptions, type SampleOptions } from './distribution';
import { clampProbs, deriveSeed, finfo } from './util';
import * as constraints from './constraints';
import { klDivergence, registerKL } from './kl';
import { Normal } from './location-scale';
import { Beta } from './gamma';
import { mvdigamma, mvlgamma } from './multivariate-gamma';

type Constraint = constraints.Constraint;

/** Sums the rightmost n dims (torch's _sum_rightmost). */
function sumRightmost(x: Tensor, n: number): Tensor {
  if (n <= 0) return x;
  return sum(x, Array.from({ length: n }, (_, i) => x.rank - 1 - i));
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}


function checkTensorArg(x: unknown, op: string, name: string): Tensor {
  if (!(x instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: ${name} must be a Tensor; got ${describe(x)}`);
  if (x.isDisposed) fail('DISPOSED', `${op}: ${name} has been disposed`);
  return x;
}

/**
 * An invertible (or at least computable) map between constrained spaces
 * (torch.distributions.transforms.Transform). `forward(x)` is torch's
 * `__call__`; `inverse(y)` its `inv(y)`; `inv` the inverse transform.
 */
export abstract class Transform {
  /** Whether the map is a bijection between domain and codomain. */
  readonly bijective: boolean = false;
  /** The constraint of valid inputs (its eventDim: how many rightmost dims form one input event). */
  abstract get domain(): Constraint;
  /** The constraint of the outputs. */
  abstract get codomain(): Constraint;
  /** +1 or −1 for monotone univariate maps (a tensor for an AffineTransform with a tensor scale). */
  get sign(): number | Tensor {
    return fail('NOT_SUPPORTED', `${this.name}.sign is not defined`);
  }
  /** The name in messages (the class name). */
  get name(): string {
    return this.constructor.name;
  }
  /** @internal the maps themselves (called inside tidy). */
  protected abstract call(x: Tensor): Tensor;
  protected inverseCall(_y: Tensor): Tensor {
    return fail('NOT_SUPPORTED', `${this.name}.inverse is not implemented`);
  }
  protected ladj(_x: Tensor, _y: Tensor): Tensor {
    return fail('NOT_SUPPORTED', `${this.name}.logAbsDetJacobian is not implemented`);
  }
  /** y = t(x) (torch's `t(x)`). */
  forward(x: Tensor): Tensor {
    checkTensorArg(x, `${this.name}.forward`, 'x');
    return tidy(() => this.call(x));
  }
  /** x = t⁻¹(y) (a right inverse for non-bijective maps, as torch's). */
  inverse(y: Tensor): Tensor {
    checkTensorArg(y, `${this.name}.inverse`, 'y');
    return tidy(() => this.inverseCall(y));
  }
  /** log |det dy/dx|, summed over the domain's event dims: shape x.shape less domain.eventDim dims. */
  logAbsDetJacobian(x: Tensor, y: Tensor): Tensor {
    checkTensorArg(x, `${this.name}.logAbsDetJacobian`, 'x');
    checkTensorArg(y, `${this.name}.logAbsDetJacobian`, 'y');
    return tidy(() => this.ladj(x, y));
  }
  /** The inverse transform (torch's `t.inv`): its forward is this inverse. */
  get inv(): Transform {
    return new InverseTransform(this);
  }
  /** The output shape for an input shape. */
  forwardShape(shape: readonly number[]): number[] {
    return [...shape];
  }
  /** The input shape for an output shape. */
  inverseShape(shape: readonly number[]): number[] {
    return [...shape];
  }
  /** Whether other is the same map (torch's __eq__: same class for parameterless transforms, else identity). */
  equals(other: Transform): boolean {
    return other === this;
  }
  toString(): string {
    return `${this.name}()`;
  }
}

class InverseTransform extends Transform {
  constructor(readonly base: Transform) {
    super();
    (this as { bijective: boolean }).bijective = base.bijective;
  }
  get domain(): Constraint {
    return this.base.codomain;
  }
  get codomain(): Constraint {
    return this.base.domain;
  }
  get sign(): number | Tensor {
    return this.base.sign;
  }
  get name(): string {
    return `${this.base.name}.inv`;
  }
  get inv(): Transform {
    return this.base;
  }
  protected call(x: Tensor): Tensor {
    return this.base.inverse(x);
  }
  protected inverseCall(y: Tensor): Tensor {
    return this.base.forward(y);
  }
  protected ladj(x: Tensor, y: Tensor): Tensor {
    return neg(this.base.logAbsDetJacobian(y, x));
  }
  forwardShape(shape: readonly number[]): number[] {
    return this.base.inverseShape(shape);
  }
  inverseShape(shape: readonly number[]): number[] {
    return this.base.forwardShape(shape);
  }
  equals(other: Transform): boolean {
    return other instanceof InverseTransform && this.base.equals(other.base);
  }
}

/** A parameterless transform: equal to every instance of its class. */
abstract class Plain extends Transform {
  equals(other: Transform): boolean {
    return other === this || other.constructor === this.constructor;
  }
}

/** y = exp(x) (torch's ExpTransform). */
export class ExpTransform extends Plain {
  readonly bijective = true;
  get domain(): Constraint {
    return constraints.real;
  }
  get codomain(): Constraint {
    return constraints.positive;
  }
  get sign(): number {
    return 1;
  }
  protected call(x: Tensor): Tensor {
    return exp(x);
  }
  protected inverseCall(y: Tensor): Tensor {
    return log(y);
  }
  protected ladj(x: Tensor): Tensor {
    return x.clone();
  }
}

/** y = x^exponent on x > 0 (torch's PowerTransform). */
export class PowerTransform extends Transform {
  readonly bijective = true;
  constructor(readonly exponent: Tensor | number) {
    super();
    if (!(exponent instanceof Tensor) && typeof exponent !== 'number') fail('INVALID_ARGUMENT', `PowerTransform: exponent must be a Tensor or a number; got ${describe(exponent)}`);
  }
  get domain(): Constraint {
    return constraints.positive;
  }
  get codomain(): Constraint {
    return constraints.positive;
  }
  get sign(): number | Tensor {
    const e = this.exponent;
    return typeof e === 'number' ? Math.sign(e) : tidy(() => e.sign());
  }
  protected call(x: Tensor): Tensor {
    return pow(x, this.exponent);
  }
  protected inverseCall(y: Tensor): Tensor {
    return pow(y, typeof this.exponent === 'number' ? 1 / this.exponent : div(1, this.exponent));
  }
  protected ladj(x: Tensor, y: Tensor): Tensor {
    return log(abs(div(mul(y, this.exponent), x)));
  }
  forwardShape(shape: readonly number[]): number[] {
    return typeof this.exponent === 'number' ? [...shape] : broadcastOrFail(shape, this.exponent.shape, this.name);
  }
  inverseShape(shape: readonly number[]): number[] {
    return this.forwardShape(shape);
  }
  equals(other: Transform): boolean {
    return other === this || (other instanceof PowerTransform && sameParam(this.exponent, other.exponent));
  }
}

function sameParam(a: Tensor | number, b: Tensor | number): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return a === b;
}

function broadcastOrFail(a: readonly number[], b: readonly number[], op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail('SHAPE_MISMATCH', `${op}: shapes ${shapeText(a)} and ${shapeText(b)} do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** y = σ(x) = 1/(1 + e^−x) (torch's SigmoidTransform; forward and inverse clamp to [eps, 1 − eps] as torch's). */
export class SigmoidTransform extends Plain {
  readonly bijective = true;
  get domain(): Constraint {
    return constraints.real;
  }
  get codomain(): Constraint {
    return constraints.unitInterval;
  }
  get sign(): number {
    return 1;
  }
  protected call(x: Tensor): Tensor {
    return clampProbs(sigmoid(x));
  }
  protected inverseCall(y: Tensor): Tensor {
    const c = clampProbs(y);
    return sub(log(c), log1p(neg(c)));
  }
  protected ladj(x: Tensor): Tensor {
    return sub(neg(softplus(neg(x))), softplus(x));
  }
}

/** y = tanh(x) (torch's TanhTransform). */
export class TanhTransform extends Plain {
  readonly bijective = true;
  get domain(): Constraint {
    return constraints.real;
  }
  get codomain(): Constraint {
    return constraints.interval(-1, 1);
  }
  get sign(): number {
    return 1;
  }
  protected call(x: Tensor): Tensor {
    return tanh(x);
  }
  protected inverseCall(y: Tensor): Tensor {
    return atanh(y);
  }
  protected ladj(x: Tensor): Tensor {
    // log(1 − tanh²x) = 2 (log 2 − x − softplus(−2x)), stable for large |x|
    return mul(sub(sub(Math.LN2, x), softplus(mul(x, -2))), 2);
  }
}

/** y = |x| (torch's AbsTransform; not bijective: inverse(y) = y). */
export class AbsTransform extends Plain {
  get domain(): Constraint {
    return constraints.real;
  }
  get codomain(): Constraint {
    return constraints.positive;
  }
  protected call(x: Tensor): Tensor {
    return abs(x);
  }
  protected inverseCall(y: Tensor): Tensor {
    return y.clone();
  }
}

/** y = loc + scale·x, elementwise; `eventDim` rightmost dims form one event (torch's AffineTransform). */
export class AffineTransform extends Transform {
  readonly bijective = true;
  readonly eventDim: number;
  constructor(readonly loc: Tensor | number, readonly scale: Tensor | number, options?: { eventDim?: number }) {
    super();
    if (options !== undefined && (options === null || typeof options !== 'object'))
      fail('INVALID_ARGUMENT', `AffineTransform: the third argument is the options { eventDim }; got ${describe(options)} (torch's positional event_dim goes in as { eventDim })`);
    for (const [k, v] of [['loc', loc], ['scale', scale]] as const)
      if (!(v instanceof Tensor) && typeof v !== 'number') fail('INVALID_ARGUMENT', `AffineTransform: ${k} must be a Tensor or a number; got ${describe(v)}`);
    const e = options?.eventDim ?? 0;
    if (!Number.isInteger(e) || e < 0) fail('INVALID_ARGUMENT', `AffineTransform: eventDim must be a nonnegative integer; got ${describe(e)}`);
    this.eventDim = e;
  }
  get domain(): Constraint {
    return this.eventDim === 0 ? constraints.real : constraints.independent(constraints.real, this.eventDim);
  }
  get codomain(): Constraint {
    return this.domain;
  }
  get sign(): number | Tensor {
    const s = this.scale;
    return typeof s === 'number' ? Math.sign(s) : tidy(() => s.sign());
  }
  protected call(x: Tensor): Tensor {
    return add(this.loc, mul(this.scale, x));
  }
  protected inverseCall(y: Tensor): Tensor {
    return div(sub(y, this.loc), this.scale);
  }
  protected ladj(x: Tensor): Tensor {
    const s = this.scale;
    const r = typeof s === 'number' ? mul(x, 0).add(Math.log(Math.abs(s))) : broadcastTo(log(abs(s)), broadcastOrFail(x.shape, s.shape, this.name));
    return sumRightmost(r, this.eventDim);
  }
  forwardShape(shape: readonly number[]): number[] {
    let s = [...shape];
    for (const p of [this.loc, this.scale]) if (typeof p !== 'number') s = broadcastOrFail(s, p.shape, this.name);
    return s;
  }
  inverseShape(shape: readonly number[]): number[] {
    return this.forwardShape(shape);
  }
  equals(other: Transform): boolean {
    return other === this || (other instanceof AffineTransform && other.eventDim === this.eventDim && sameParam(this.loc, other.loc) && sameParam(this.scale, other.scale));
  }
}

/** y = softmax(x) over the last dim (torch's SoftmaxTransform; not bijective: inverse(y) = log y). */
export class SoftmaxTransform extends Plain {
  get domain(): Constraint {
    return constraints.realVector;
  }
  get codomain(): Constraint {
    return constraints.simplex;
  }
  protected call(x: Tensor): Tensor {
    return softmax(x, -1);
  }
  protected inverseCall(y: Tensor): Tensor {
    return log(y);
  }
}

/** log(K − i) for i = 1..K−1... the offsets of stick breaking: [n, n−1, …, 1] for a last dim of n. */
function stickOffsets(n: number, like: Tensor): Tensor {
  return tidy(() => log(sub(n + 1, cumsum(zeros([n], { dtype: like.dtype, device: like.device }).add(1), 0))));
}

/**
 * The stick-breaking bijection from R^(K−1) onto the K-simplex (torch's
 * StickBreakingTransform): z_i = σ(x_i − log(K − 1 − i)), y_i = z_i ∏_{j<i}(1 − z_j), y_K the rest.
 */
export class StickBreakingTransform extends Plain {
  readonly bijective = true;
  get domain(): Constraint {
    return constraints.realVector;
  }
  get codomain(): Constraint {
    return constraints.simplex;
  }
  protected call(x: Tensor): Tensor {
    const n = x.shape[x.rank - 1];
    const z = clampProbs(sigmoid(sub(x, stickOffsets(n, x))));
    const zc = cumprod(sub(1, z), -1);
    const none = Array.from({ length: x.rank - 1 }, () => [0, 0] as [number, number]);
    return mul(pad(z, [...none, [0, 1]], { value: 1 }), pad(zc, [...none, [1, 0]], { value: 1 }));
  }
  protected inverseCall(y: Tensor): Tensor {
    const k = y.shape[y.rank - 1];
    const crop = y.slice([...Array(y.rank - 1).fill(0), 0], [...y.shape.slice(0, -1), k - 1]);
    const sf = clamp(sub(1, cumsum(crop, -1)), finfo(y.dtype).tiny, Infinity);
    return add(sub(log(crop), log(sf)), stickOffsets(k - 1, y));
  }
  protected ladj(x: Tensor, y: Tensor): Tensor {
    const n = x.shape[x.rank - 1];
    const xs = sub(x, stickOffsets(n, x));
    const crop = y.slice([...Array(y.rank - 1).fill(0), 0], [...y.shape.slice(0, -1), n]);
    return sum(add(sub(logSigmoid(xs), xs), log(crop)), -1);
  }
  forwardShape(shape: readonly number[]): number[] {
    if (shape.length < 1) fail('SHAPE_MISMATCH', 'StickBreakingTransform: too few dimensions on input');
    return [...shape.slice(0, -1), shape[shape.length - 1] + 1];
  }
  inverseShape(shape: readonly number[]): number[] {
    if (shape.length < 1) fail('SHAPE_MISMATCH', 'StickBreakingTransform: too few dimensions on input');
    return [...shape.slice(0, -1), shape[shape.length - 1] - 1];
  }
}

/** Unconstrained matrices to lower-triangular ones with a positive diagonal: the diagonal exponentiated, the upper triangle dropped (torch's LowerCholeskyTransform). */
export class LowerCholeskyTransform extends Plain {
  get domain(): Constraint {
    return constraints.independent(constraints.real, 2);
  }
  get codomain(): Constraint {
    return constraints.lowerCholesky;
  }
  protected call(x: Tensor): Tensor {
    return add(x.tril(-1), diagEmbed(exp(diagonal(x, { axis1: -2, axis2: -1 }))));
  }
  protected inverseCall(y: Tensor): Tensor {
    return add(y.tril(-1), diagEmbed(log(diagonal(y, { axis1: -2, axis2: -1 }))));
  }
}

/** y = softplus(x) = log(1 + eˣ) (linear above x = 20, as torch's) (torch's SoftplusTransform). */
export class SoftplusTransform extends Plain {
  readonly bijective = true;
  get domain(): Constraint {
    return constraints.real;
  }
  get codomain(): Constraint {
    return constraints.positive;
  }
  get sign(): number {
    return 1;
  }
  protected call(x: Tensor): Tensor {
    return softplus(x);
  }
  protected inverseCall(y: Tensor): Tensor {
    // log(eʸ − 1) = log(−expm1(−y)) + y, as torch
    return add(log(neg(expm1(neg(y)))), y);
  }
  protected ladj(x: Tensor): Tensor {
    return neg(softplus(neg(x)));
  }
}

/** The axis as a nonnegative index of a tensor of rank `rank` (SHAPE_MISMATCH when outside). */
function normAxis(axis: number, rank: number, op: string): number {
  if (axis < -rank || axis >= rank) fail('SHAPE_MISMATCH', `${op}: axis ${axis} is outside a tensor of rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

function checkParts(tseq: unknown, op: string): Transform[] {
  if (!Array.isArray(tseq) || tseq.length === 0 || !tseq.every((t) => t instanceof Transform))
    fail('INVALID_ARGUMENT', `${op}: transforms must be a nonempty array of Transforms; got ${describe(tseq)}`);
  return [...(tseq as Transform[])];
}

/** The event dim of a transform whose domain and codomain have the same one (torch's Transform.event_dim). */
function eventDimOf(t: Transform, op: string): number {
  const a = t.domain.eventDim, b = t.codomain.eventDim;
  if (a !== b) fail('NOT_SUPPORTED', `${op}: ${t.name} changes the event dim (${a} to ${b}); its parts must keep it`);
  return a;
}

/**
 * transforms[i] applied to consecutive slices of lengths[i] entries along
 * `axis`, in torch.cat's way (torch's CatTransform(tseq, dim, lengths);
 * lengths default to 1 each). The log-det pieces are concatenated along axis,
 * or summed when axis falls inside the event dims (as torch).
 */
export class CatTransform extends Transform {
  readonly transforms: Transform[];
  readonly axis: number;
  readonly lengths: number[];
  /** The largest event dim of the parts. */
  readonly eventDim: number;
  constructor(transforms: readonly Transform[], axis = 0, lengths?: readonly number[]) {
    super();
    this.transforms = checkParts(transforms, 'CatTransform');
    if (!Number.isInteger(axis)) fail('INVALID_ARGUMENT', `CatTransform: axis must be an integer; got ${describe(axis)}`);
    const lens = lengths === undefined ? this.transforms.map(() => 1) : lengths;
    if (!Array.isArray(lens) || lens.length !== this.transforms.length || !lens.every((n) => Number.isInteger(n) && n >= 0))
      fail('INVALID_ARGUMENT', `CatTransform: lengths must hold one nonnegative integer per transform (${this.transforms.length}); got ${describe(lengths)}`);
    this.axis = axis;
    this.lengths = [...lens];
    this.eventDim = Math.max(...this.transforms.map((t) => eventDimOf(t, 'CatTransform')));
    (this as { bijective: boolean }).bijective = this.transforms.every((t) => t.bijective);
  }
  get domain(): Constraint {
    return constraints.cat(this.transforms.map((t) => t.domain), this.axis, this.lengths);
  }
  get codomain(): Constraint {
    return constraints.cat(this.transforms.map((t) => t.codomain), this.axis, this.lengths);
  }
  /** The slices of x along axis, one per part (checks the length). */
  private pieces(x: Tensor, what: string): Tensor[] {
    const ax = normAxis(this.axis, x.rank, `${this.name}`);
    const total = this.lengths.reduce((a, b) => a + b, 0);
    if (x.shape[ax] !== total) fail('SHAPE_MISMATCH', `${this.name}: ${what} of shape ${shapeText(x.shape)} must have ${total} (the sum of lengths) entries along axis ${this.axis}`);
    let start = 0;
    return this.lengths.map((n) => {
      const s = narrow(x, ax, start, n);
      start += n;
      return s;
    });
  }
  protected call(x: Tensor): Tensor {
    const xs = this.pieces(x, 'x');
    return concat(this.transforms.map((t, i) => t.forward(xs[i])), this.axis);
  }
  protected inverseCall(y: Tensor): Tensor {
    const ys = this.pieces(y, 'y');
    return concat(this.transforms.map((t, i) => t.inverse(ys[i])), this.axis);
  }
  protected ladj(x: Tensor, y: Tensor): Tensor {
    const xs = this.pieces(x, 'x'), ys = this.pieces(y, 'y');
    const parts = this.transforms.map((t, i) => sumRightmost(t.logAbsDetJacobian(xs[i], ys[i]), this.eventDim - t.domain.eventDim));
    const d = (this.axis >= 0 ? this.axis - x.rank : this.axis) + this.eventDim;
    if (d < 0) return concat(parts, d);
    return parts.reduce((a, b) => add(a, b));
  }
}

/**
 * transforms[i] applied to the i-th entry along `axis`, in torch.stack's way
 * (torch's StackTransform(tseq, dim)); the log-det pieces are stacked along axis.
 */
export class StackTransform extends Transform {
  readonly transforms: Transform[];
  readonly axis: number;
  constructor(transforms: readonly Transform[], axis = 0) {
    super();
    this.transforms = checkParts(transforms, 'StackTransform');
    if (!Number.isInteger(axis)) fail('INVALID_ARGUMENT', `StackTransform: axis must be an integer; got ${describe(axis)}`);
    this.axis = axis;
    (this as { bijective: boolean }).bijective = this.transforms.every((t) => t.bijective);
  }
  get domain(): Constraint {
    return constraints.stack(this.transforms.map((t) => t.domain), this.axis);
  }
  get codomain(): Constraint {
    return constraints.stack(this.transforms.map((t) => t.codomain), this.axis);
  }
  private pieces(x: Tensor, what: string): Tensor[] {
    const ax = normAxis(this.axis, x.rank, `${this.name}`);
    if (x.shape[ax] !== this.transforms.length)
      fail('SHAPE_MISMATCH', `${this.name}: ${what} of shape ${shapeText(x.shape)} must have ${this.transforms.length} (one per transform) entries along axis ${this.axis}`);
    return this.transforms.map((_, i) => select(x, ax, i));
  }
  protected call(x: Tensor): Tensor {
    const xs = this.pieces(x, 'x');
    return stack(this.transforms.map((t, i) => t.forward(xs[i])), this.axis);
  }
  protected inverseCall(y: Tensor): Tensor {
    const ys = this.pieces(y, 'y');
    return stack(this.transforms.map((t, i) => t.inverse(ys[i])), this.axis);
  }
  protected ladj(x: Tensor, y: Tensor): Tensor {
    const xs = this.pieces(x, 'x'), ys = this.pieces(y, 'y');
    return stack(this.transforms.map((t, i) => t.logAbsDetJacobian(xs[i], ys[i])), this.axis);
  }
}

/** The flat positions (row order) of the entries of an n×n matrix with j < i + diag + 1 (torch's tril mask). */
function trilPositions(n: number, diag: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (j < i + diag + 1) out.push(i * n + j);
  return out;
}

/** torch's vec_to_tril_matrix: [..., N] into [..., n, n], the entries in row order below diagonal diag, zeros elsewhere. */
function vecToTril(vec: Tensor, n: number, diag: number): Tensor {
  const N = vec.shape[vec.rank - 1];
  const pos = trilPositions(n, diag);
  const idx = new Array<number>(n * n).fill(N);
  pos.forEach((p, k) => (idx[p] = k));
  const batch = vec.shape.slice(0, -1);
  const padded = concat([vec, zeros([...batch, 1], { dtype: vec.dtype as 'float32' | 'float64', device: vec.device })], -1);
  const flat = indexSelect(padded, -1, tensor(idx, [n * n], { dtype: 'int32', device: vec.device }));
  return reshape(flat, [...batch, n, n]);
}

/** torch's tril_matrix_to_vec: the entries of [..., n, n] below diagonal diag in row order, [..., N]. */
function trilToVec(mat: Tensor, diag: number): Tensor {
  const n = mat.shape[mat.rank - 1];
  const batch = mat.shape.slice(0, -2);
  const pos = trilPositions(n, diag);
  if (pos.length === 0) return zeros([...batch, 0], { dtype: mat.dtype as 'float32' | 'float64', device: mat.device });
  return indexSelect(reshape(mat, [...batch, n * n]), -1, tensor(pos, [pos.length], { dtype: 'int32', device: mat.device }));
}

/** D with D(D − 1)/2 = N (SHAPE_MISMATCH when N is not such a number). */
function corrDim(N: number, op: string): number {
  const D = Math.round(Math.sqrt(0.25 + 2 * N) + 0.5);
  if ((D * (D - 1)) / 2 !== N) fail('SHAPE_MISMATCH', `${op}: the last dim ${N} is not D(D − 1)/2 for an integer D (the strictly lower triangle of a D×D matrix)`);
  return D;
}

/**
 * Unconstrained vectors of length D(D − 1)/2 to Cholesky factors of D×D
 * correlation matrices (torch's CorrCholeskyTransform): the vector fills the
 * strictly lower triangle in row order through tanh (clamped to ±(1 − eps)),
 * and each row is scaled by a signed stick breaking so that it has unit norm
 * with a positive diagonal. logAbsDetJacobian is taken with respect to the
 * flattened strictly lower triangle of y (as torch).
 */
export class CorrCholeskyTransform extends Plain {
  readonly bijective = true;
  get domain(): Constraint {
    return constraints.realVector;
  }
  get codomain(): Constraint {
    return constraints.corrCholesky;
  }
  protected call(x: Tensor): Tensor {
    if (x.rank < 1) fail('SHAPE_MISMATCH', `${this.name}: x must have at least one dimension; got shape ${shapeText(x.shape)}`);
    const D = corrDim(x.shape[x.rank - 1], this.name);
    const { eps } = finfo(x.dtype);
    const r = vecToTril(clamp(tanh(x), -1 + eps, 1 - eps), D, -1);
    const z1mSqrt = cumprod(sqrt(sub(1, square(r))), -1);
    const none = Array.from({ length: x.rank - 1 }, () => [0, 0] as [number, number]);
    const shifted = pad(narrow(z1mSqrt, -1, 0, D - 1), [...none, [0, 0], [1, 0]], { value: 1 });
    return mul(add(r, eye(D, D, { dtype: x.dtype as 'float32' | 'float64', device: x.device })), shifted);
  }
  protected inverseCall(y: Tensor): Tensor {
    this.checkSquare(y);
    const D = y.shape[y.rank - 1];
    const none = Array.from({ length: y.rank - 1 }, () => [0, 0] as [number, number]);
    const cs = sub(1, cumsum(square(y), -1));
    const shifted = pad(narrow(cs, -1, 0, D - 1), [...none, [1, 0]], { value: 1 });
    const t = div(trilToVec(y, -1), sqrt(trilToVec(shifted, -1)));
    return div(log(div(add(1, t), sub(1, t))), 2);
  }
  protected ladj(x: Tensor, y: Tensor): Tensor {
    this.checkSquare(y);
    const y1m = sub(1, cumsum(square(y), -1));
    const stick = mul(sum(log(trilToVec(y1m, -2)), -1), 0.5);
    const tanhPart = mul(sum(sub(add(x, softplus(mul(x, -2))), Math.LN2), -1), -2);
    return add(stick, tanhPart);
  }
  private checkSquare(y: Tensor): void {
    if (y.rank < 2 || y.shape[y.rank - 1] !== y.shape[y.rank - 2]) fail('SHAPE_MISMATCH', `${this.name}: y must be a batch of square matrices [..., D, D]; got shape ${shapeText(y.shape)}`);
  }
  forwardShape(shape: readonly number[]): number[] {
    if (shape.length < 1) fail('SHAPE_MISMATCH', `${this.name}: too few dimensions on input`);
    const D = corrDim(shape[shape.length - 1], this.name);
    return [...shape.slice(0, -1), D, D];
  }
  inverseShape(shape: readonly number[]): number[] {
    if (shape.length < 2) fail('SHAPE_MISMATCH', `${this.name}: too few dimensions on input`);
    if (shape[shape.length - 1] !== shape[shape.length - 2]) fail('SHAPE_MISMATCH', `${this.name}: input is not square: ${shapeText(shape)}`);
    const D = shape[shape.length - 1];
    return [...shape.slice(0, -2), (D * (D - 1)) / 2];
  }
}

/** parts applied in order (torch's ComposeTransform); no parts: the identity (torch's identity_transform). */
export class ComposeTransform extends Transform {
  readonly parts: Transform[];
  constructor(parts: readonly Transform[]) {
    super();
    if (!Array.isArray(parts) || !parts.every((p) => p instanceof Transform)) fail('INVALID_ARGUMENT', `ComposeTransform: parts must be an array of Transforms; got ${describe(parts)}`);
    this.parts = [...parts];
    (this as { bijective: boolean }).bijective = this.parts.every((p) => p.bijective);
  }
  get domain(): Constraint {
    if (this.parts.length === 0) return constraints.real;
    let domain = this.parts[0].domain;
    let e = this.parts[this.parts.length - 1].codomain.eventDim;
    for (const p of [...this.parts].reverse()) e = Math.max(e + p.domain.eventDim - p.codomain.eventDim, p.domain.eventDim);
    if (e > domain.eventDim) domain = constraints.independent(domain, e - domain.eventDim);
    return domain;
  }
  get codomain(): Constraint {
    if (this.parts.length === 0) return constraints.real;
    let codomain = this.parts[this.parts.length - 1].codomain;
    let e = this.parts[0].domain.eventDim;
    for (const p of this.parts) e = Math.max(e + p.codomain.eventDim - p.domain.eventDim, p.codomain.eventDim);
    if (e > codomain.eventDim) codomain = constraints.independent(codomain, e - codomain.eventDim);
    return codomain;
  }
  get sign(): number | Tensor {
    let s: number | Tensor = 1;
    for (const p of this.parts) {
      const q = p.sign;
      s = typeof s === 'number' && typeof q === 'number' ? s * q : tidy(() => mul(s, q));
    }
    return s;
  }
  protected call(x: Tensor): Tensor {
    let y = x.clone();
    for (const p of this.parts) y = p.forward(y);
    return y;
  }
  protected inverseCall(y: Tensor): Tensor {
    let x = y.clone();
    for (const p of [...this.parts].reverse()) x = p.inverse(x);
    return x;
  }
  protected ladj(x: Tensor, y: Tensor): Tensor {
    if (this.parts.length === 0) return mul(x, 0);
    const xs = [x];
    for (let i = 0; i < this.parts.length - 1; i++) xs.push(this.parts[i].forward(xs[i]));
    xs.push(y);
    let e = this.domain.eventDim;
    let total: Tensor | undefined;
    this.parts.forEach((p, i) => {
      const term = sumRightmost(p.logAbsDetJacobian(xs[i], xs[i + 1]), e - p.domain.eventDim);
      total = total === undefined ? term : add(total, term);
      e += p.codomain.eventDim - p.domain.eventDim;
    });
    return total!;
  }
  forwardShape(shape: readonly number[]): number[] {
    let s = [...shape];
    for (const p of this.parts) s = p.forwardShape(s);
    return s;
  }
  inverseShape(shape: readonly number[]): number[] {
    let s = [...shape];
    for (const p of [...this.parts].reverse()) s = p.inverseShape(s);
    return s;
  }
  equals(other: Transform): boolean {
    return other === this || (other instanceof ComposeTransform && other.parts.length === this.parts.length && this.parts.every((p, i) => p.equals(other.parts[i])));
  }
}

/** base with its rightmost reinterpretedBatchNdims dims taken as one event: the log-det summed over them (torch's IndependentTransform). */
export class IndependentTransform extends Transform {
  constructor(readonly base: Transform, readonly reinterpretedBatchNdims: number) {
    super();
    if (!(base instanceof Transform)) fail('INVALID_ARGUMENT', `IndependentTransform: base must be a Transform; got ${describe(base)}`);
    if (!Number.isInteger(reinterpretedBatchNdims) || reinterpretedBatchNdims < 0) fail('INVALID_ARGUMENT', `IndependentTransform: reinterpretedBatchNdims must be a nonnegative integer; got ${describe(reinterpretedBatchNdims)}`);
    (this as { bijective: boolean }).bijective = base.bijective;
  }
  get domain(): Constraint {
    return constraints.independent(this.base.domain, this.reinterpretedBatchNdims);
  }
  get codomain(): Constraint {
    return constraints.independent(this.base.codomain, this.reinterpretedBatchNdims);
  }
  get sign(): number | Tensor {
    return this.base.sign;
  }
  protected call(x: Tensor): Tensor {
    return this.base.forward(x);
  }
  protected inverseCall(y: Tensor): Tensor {
    return this.base.inverse(y);
  }
  protected ladj(x: Tensor, y: Tensor): Tensor {
    return sumRightmost(this.base.logAbsDetJacobian(x, y), this.reinterpretedBatchNdims);
  }
  forwardShape(shape: readonly number[]): number[] {
    return this.base.forwardShape(shape);
  }
  inverseShape(shape: readonly number[]): number[] {
    return this.base.inverseShape(shape);
  }
  equals(other: Transform): boolean {
    return other === this || (other instanceof IndependentTransform && other.reinterpretedBatchNdims === this.reinterpretedBatchNdims && this.base.equals(other.base));
  }
}

/** Reshapes the rightmost dims from inShape to outShape (same size) (torch's ReshapeTransform); log-det 0. */
export class ReshapeTransform extends Transform {
  readonly bijective = true;
  readonly inShape: number[];
  readonly outShape: number[];
  constructor(inShape: readonly number[], outShape: readonly number[]) {
    super();
    const ok = (s: unknown): boolean => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 0);
    if (!ok(inShape) || !ok(outShape)) fail('INVALID_ARGUMENT', `ReshapeTransform: inShape and outShape must be arrays of nonnegative integers; got ${describe(inShape)} and ${describe(outShape)}`);
    const n = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
    if (n(inShape) !== n(outShape)) fail('INVALID_ARGUMENT', `ReshapeTransform: inShape ${shapeText(inShape)} and outShape ${shapeText(outShape)} have different sizes`);
    this.inShape = [...inShape];
    this.outShape = [...outShape];
  }
  get domain(): Constraint {
    return constraints.independent(constraints.real, this.inShape.length);
  }
  get codomain(): Constraint {
    return constraints.independent(constraints.real, this.outShape.length);
  }
  protected call(x: Tensor): Tensor {
    return reshape(x, [...this.batchOf(x.shape, this.inShape), ...this.outShape]);
  }
  protected inverseCall(y: Tensor): Tensor {
    return reshape(y, [...this.batchOf(y.shape, this.outShape), ...this.inShape]);
  }
  protected ladj(x: Tensor): Tensor {
    return zeros(this.batchOf(x.shape, this.inShape), { dtype: x.dtype as 'float32' | 'float64', device: x.device });
  }
  private batchOf(shape: readonly number[], event: readonly number[]): number[] {
    const cut = shape.length - event.length;
    if (cut < 0 || !sameShape(shape.slice(cut), event)) fail('SHAPE_MISMATCH', `ReshapeTransform: shape ${shapeText(shape)} must end in ${shapeText(event)}`);
    return shape.slice(0, cut);
  }
  forwardShape(shape: readonly number[]): number[] {
    return [...this.batchOf(shape, this.inShape), ...this.outShape];
  }
  inverseShape(shape: readonly number[]): number[] {
    return [...this.batchOf(shape, this.outShape), ...this.inShape];
  }
  equals(other: Transform): boolean {
    return other === this || (other instanceof ReshapeTransform && sameShape(other.inShape, this.inShape) && sameShape(other.outShape, this.outShape));
  }
}

/** y = dist.cdf(x) onto [0, 1] (torch's CumulativeDistributionTransform); log-det = dist.logProb(x). */
export class CumulativeDistributionTransform extends Transform {
  readonly bijective = true;
  constructor(readonly distribution: Distribution) {
    super();
    if (!(distribution instanceof Distribution)) fail('INVALID_ARGUMENT', `CumulativeDistributionTransform: expected a Distribution; got ${describe(distribution)}`);
  }
  get domain(): Constraint {
    return this.distribution.support;
  }
  get codomain(): Constraint {
    return constraints.unitInterval;
  }
  get sign(): number {
    return 1;
  }
  protected call(x: Tensor): Tensor {
    return this.distribution.cdf(x);
  }
  protected inverseCall(y: Tensor): Tensor {
    return this.distribution.icdf(y);
  }
  protected ladj(x: Tensor): Tensor {
    return this.distribution.logProb(x);
  }
}

// -------------------------------------------------------- bijectTo / transformTo

function isZero(b: unknown): boolean {
  return b === 0;
}

function lookup(c: Constraint, op: string, bijective: boolean): Transform {
  if (!(c instanceof constraints.Constraint)) fail('INVALID_ARGUMENT', `${op}: expected a Constraint; got ${describe(c)}`);
  const a = c.args ?? [];
  if (c === constraints.real) return new ComposeTransform([]);
  switch (c.kind) {
    case 'greaterThan':
    case 'greaterThanEq':
      return new ComposeTransform([new ExpTransform(), new AffineTransform(a[0] as Tensor | number, 1)]);
    case 'lessThan':
      return new ComposeTransform([new ExpTransform(), new AffineTransform(a[0] as Tensor | number, -1)]);
    case 'interval':
    case 'halfOpenInterval': {
      const [lo, hi] = a as (Tensor | number)[];
      if (isZero(lo) && hi === 1) return new SigmoidTransform();
      const width = typeof lo === 'number' && typeof hi === 'number' ? hi - lo : sub(hi, lo);
      return new ComposeTransform([new SigmoidTransform(), new AffineTransform(lo, width)]);
    }
    case 'independent':
      return new IndependentTransform(lookup(a[0] as Constraint, op, bijective), a[1] as number);
    case 'cat':
      return new CatTransform((a[0] as Constraint[]).map((p) => lookup(p, op, bijective)), a[1] as number, a[2] as number[]);
    case 'stack':
      return new StackTransform((a[0] as Constraint[]).map((p) => lookup(p, op, bijective)), a[1] as number);
  }
  if (c === constraints.corrCholesky) return new CorrCholeskyTransform();
  if (c === constraints.simplex) return bijective ? new StickBreakingTransform() : new SoftmaxTransform();
  if (c === constraints.lowerCholesky && !bijective) return new LowerCholeskyTransform();
  return fail('NOT_SUPPORTED', `${op}: no transform is registered for ${c}`);
}

/**
 * A bijective transform from unconstrained reals onto the constraint's set
 * (torch's biject_to): real → identity, greaterThan(b)/positive → exp then
 * b + y, lessThan(b) → b − exp, interval(a, b) → sigmoid (then a + (b − a)·y),
 * simplex → stick breaking, independent(c, n) → IndependentTransform,
 * corrCholesky → CorrCholeskyTransform, cat/stack → CatTransform/StackTransform
 * of the parts' bijections. positiveDefinite has none (as torch 1.13).
 */
export function bijectTo(constraint: Constraint): Transform {
  return lookup(constraint, 'bijectTo', true);
}

/**
 * A transform (not necessarily bijective) from unconstrained reals onto the
 * constraint's set (torch's transform_to): as bijectTo but simplex → softmax,
 * lowerCholesky → LowerCholeskyTransform, cat/stack of the parts' transformTo.
 */
export function transformTo(constraint: Constraint): Transform {
  return lookup(constraint, 'transformTo', false);
}

// ------------------------------------------------------------- compositions

/** The tensors a component distribution holds (kept alive by a tidy() returning the composition). */
function heldOf(d: Distribution): Tensor[] {
  return d[HELD_TENSORS]();
}

/**
 * base's rightmost reinterpretedBatchNdims batch dims taken as event dims
 * (torch's Independent): logProb and entropy summed over them. dispose()
 * disposes the base too.
 */
export class Independent extends Distribution {
  readonly baseDist: Distribution;
  readonly reinterpretedBatchNdims: number;
  constructor(baseDistribution: Distribution, reinterpretedBatchNdims: number, options?: DistributionOptions) {
    super(options);
    if (!(baseDistribution instanceof Distribution)) fail('INVALID_ARGUMENT', `Independent: baseDistribution must be a Distribution; got ${describe(baseDistribution)}`);
    const n = reinterpretedBatchNdims;
    if (!Number.isInteger(n) || n < 0 || n > baseDistribution.batchShape.length)
      fail('INVALID_ARGUMENT', `Independent: reinterpretedBatchNdims must be an integer in [0, ${baseDistribution.batchShape.length}] (the base's batch rank); got ${describe(n)}`);
    this.baseDist = baseDistribution;
    this.reinterpretedBatchNdims = n;
    const b = baseDistribution.batchShape, cut = b.length - n;
    this.setShapes(b.slice(0, cut), [...b.slice(cut), ...baseDistribution.eventShape]);
    (this as { hasRsample: boolean }).hasRsample = baseDistribution.hasRsample;
    (this as { hasEnumerateSupport: boolean }).hasEnumerateSupport = n === 0 && baseDistribution.hasEnumerateSupport;
    this.held.push(...heldOf(baseDistribution));
  }
  get dtype(): 'float32' | 'float64' {
    return this.baseDist.dtype;
  }
  get device(): string {
    return this.baseDist.device;
  }
  get support(): Constraint {
    const s = this.baseDist.support;
    return this.reinterpretedBatchNdims === 0 ? s : constraints.independent(s, this.reinterpretedBatchNdims);
  }
  get mean(): Tensor {
    return this.baseDist.mean;
  }
  get mode(): Tensor {
    return this.baseDist.mode;
  }
  get variance(): Tensor {
    return this.baseDist.variance;
  }
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    return this.baseDist.sample(sampleShape, options);
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    return this.baseDist.rsample(sampleShape, options);
  }
  logProb(value: Tensor): Tensor {
    return tidy(() => sumRightmost(this.baseDist.logProb(value), this.reinterpretedBatchNdims));
  }
  entropy(): Tensor {
    return tidy(() => sumRightmost(this.baseDist.entropy(), this.reinterpretedBatchNdims));
  }
  enumerateSupport(expand = true): Tensor {
    if (this.reinterpretedBatchNdims > 0) return this.notSupported('enumerateSupport', ' (over more than one batch dim: as torch)');
    return this.baseDist.enumerateSupport(expand);
  }
  expand(batchShape: readonly number[]): Independent {
    const b = this.baseDist.batchShape;
    const base = this.baseDist.expand([...batchShape, ...b.slice(b.length - this.reinterpretedBatchNdims)]);
    return new Independent(base, this.reinterpretedBatchNdims, { validateArgs: false });
  }
  dispose(): void {
    super.dispose();
    this.baseDist.dispose();
  }
}

/**
 * base pushed through transforms (torch's TransformedDistribution):
 * samples are tₙ(…t₁(x)), logProb by the change of variables. A base whose
 * event is smaller than the transforms' domain is wrapped in Independent (as
 * torch). dispose() disposes the base too.
 */
export class TransformedDistribution extends Distribution {
  readonly baseDist: Distribution;
  readonly transforms: Transform[];
  constructor(baseDistribution: Distribution, transforms: Transform | readonly Transform[], options?: DistributionOptions) {
    super(options);
    if (!(baseDistribution instanceof Distribution)) fail('INVALID_ARGUMENT', `TransformedDistribution: baseDistribution must be a Distribution; got ${describe(baseDistribution)}`);
    const list = transforms instanceof Transform ? [transforms] : transforms;
    if (!Array.isArray(list) || !list.every((t) => t instanceof Transform))
      fail('INVALID_ARGUMENT', `TransformedDistribution: transforms must be a Transform or an array of Transforms; got ${describe(transforms)}`);
    this.transforms = [...list];
    const t = new ComposeTransform(this.transforms);
    let base = baseDistribution;
    const baseShape = [...base.batchShape, ...base.eventShape];
    const baseEventDim = base.eventShape.length;
    const domainEventDim = t.domain.eventDim;
    if (baseShape.length < domainEventDim)
      fail('SHAPE_MISMATCH', `TransformedDistribution: the base's shape ${shapeText(baseShape)} has fewer dims than the transforms' domain event dim ${domainEventDim}`);
    const forward = t.forwardShape(baseShape);
    const expanded = t.inverseShape(forward);
    // transforms whose parameters broadcast the shape (AffineTransform(loc [3], …) on a scalar base) expand the
    // base's batch, rank included (as torch)
    if (!sameShape(baseShape, expanded)) base = base.expand(expanded.slice(0, expanded.length - baseEventDim));
    const reinterpreted = domainEventDim - baseEventDim;
    if (reinterpreted > 0) base = new Independent(base, reinterpreted, { validateArgs: false });
    this.baseDist = base;
    const eventDim = t.codomain.eventDim + Math.max(baseEventDim - domainEventDim, 0);
    const cut = forward.length - eventDim;
    this.setShapes(forward.slice(0, cut), forward.slice(cut));
    (this as { hasRsample: boolean }).hasRsample = baseDistribution.hasRsample;
    this.held.push(...heldOf(base));
    for (const tr of this.transforms) for (const p of paramsOf(tr)) this.held.push(p);
  }
  get dtype(): 'float32' | 'float64' {
    return this.baseDist.dtype;
  }
  get device(): string {
    return this.baseDist.device;
  }
  get support(): Constraint {
    if (this.transforms.length === 0) return this.baseDist.support;
    const c = this.transforms[this.transforms.length - 1].codomain;
    return this.eventShape.length > c.eventDim ? constraints.independent(c, this.eventShape.length - c.eventDim) : c;
  }
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    return tidy(() => {
      let x = this.baseDist.sample(sampleShape, options);
      for (const t of this.transforms) x = t.forward(x);
      return x;
    });
  }
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    return tidy(() => {
      let x = this.baseDist.rsample(sampleShape, options);
      for (const t of this.transforms) x = t.forward(x);
      return x;
    });
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      let eventDim = this.eventShape.length;
      let lp: Tensor | number = 0;
      let y = value;
      for (const t of [...this.transforms].reverse()) {
        const x = t.inverse(y);
        eventDim += t.domain.eventDim - t.codomain.eventDim;
        lp = sub(lp, sumRightmost(t.logAbsDetJacobian(x, y), eventDim - t.domain.eventDim));
        y = x;
      }
      return add(lp, sumRightmost(this.baseDist.logProb(y), eventDim - this.baseDist.eventShape.length));
    });
  }
  /** torch's _monotonize_cdf: 1 − F where the composed transform decreases. */
  private monotonize(v: Tensor): Tensor {
    let s: number | Tensor = 1;
    for (const t of this.transforms) {
      const q = t.sign;
      s = typeof s === 'number' && typeof q === 'number' ? s * q : mul(s, q);
    }
    if (s === 1) return v;
    return add(mul(s, sub(v, 0.5)), 0.5);
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => {
      let v = value;
      for (const t of [...this.transforms].reverse()) v = t.inverse(v);
      return this.monotonize(this.baseDist.cdf(v));
    });
  }
  icdf(p: Tensor): Tensor {
    checkTensorArg(p, `${this.name}.icdf`, 'p');
    return tidy(() => {
      let v = this.baseDist.icdf(this.monotonize(p));
      for (const t of this.transforms) v = t.forward(v);
      return v;
    });
  }
  expand(batchShape: readonly number[]): TransformedDistribution {
    let shape = [...batchShape, ...this.eventShape];
    for (const t of [...this.transforms].reverse()) shape = t.inverseShape(shape);
    const base = this.baseDist.expand(shape.slice(0, shape.length - this.baseDist.eventShape.length));
    return new TransformedDistribution(base, this.transforms, { validateArgs: false });
  }
  dispose(): void {
    super.dispose();
    this.baseDist.dispose();
  }
}

function paramsOf(t: Transform): Tensor[] {
  const out: Tensor[] = [];
  const add1 = (v: unknown): void => {
    if (v instanceof Tensor) out.push(v);
  };
  if (t instanceof AffineTransform) [t.loc, t.scale].forEach(add1);
  if (t instanceof PowerTransform) add1(t.exponent);
  if (t instanceof ComposeTransform) for (const p of t.parts) out.push(...paramsOf(p));
  if (t instanceof CatTransform || t instanceof StackTransform) for (const p of t.transforms) out.push(...paramsOf(p));
  if (t instanceof IndependentTransform) out.push(...paramsOf(t.base));
  if (t instanceof InverseTransform) out.push(...paramsOf(t.base));
  if (t instanceof CumulativeDistributionTransform) out.push(...heldOf(t.distribution));
  return out;
}

/**
 * Normal(loc, scale) pushed through stick breaking onto the simplex (torch's
 * LogisticNormal): loc and scale of shape [..., K−1], events of size K.
 */
export class LogisticNormal extends TransformedDistribution {
  constructor(loc: Tensor | number, scale: Tensor | number, options?: DistributionOptions) {
    const base = new Normal(loc, scale, options);
    super(base, [new StickBreakingTransform()], options);
  }
  get argConstraints(): Record<string, Constraint> {
    return { loc: constraints.real, scale: constraints.positive };
  }
  get loc(): Tensor {
    return ((this.baseDist as Independent).baseDist as unknown as { loc: Tensor }).loc;
  }
  get scale(): Tensor {
    return ((this.baseDist as Independent).baseDist as unknown as { scale: Tensor }).scale;
  }
  expand(batchShape: readonly number[]): LogisticNormal {
    return this.expandWith(batchShape, (grow) => new LogisticNormal(grow(this.loc, 1), grow(this.scale, 1), { validateArgs: false }));
  }
}

/** The duck type MixtureSameFamily needs of its mixing distribution (a Categorical). */
interface Mixing extends Distribution {
  readonly logits: Tensor;
  readonly probs: Tensor;
}

/**
 * A mixture of K components of one family (torch's MixtureSameFamily):
 * `mixtureDistribution` a Categorical of batch shape B over K,
 * `componentDistribution` of batch shape [...B, K]. dispose() disposes both.
 */
export class MixtureSameFamily extends Distribution {
  readonly mixtureDistribution: Distribution;
  readonly componentDistribution: Distribution;
  constructor(mixtureDistribution: Distribution, componentDistribution: Distribution, options?: DistributionOptions) {
    super(options);
    const m = mixtureDistribution, c = componentDistribution;
    if (!(m instanceof Distribution) || !('logits' in m)) fail('INVALID_ARGUMENT', `MixtureSameFamily: mixtureDistribution must be a Categorical; got ${describe(m)}`);
    if (!(c instanceof Distribution)) fail('INVALID_ARGUMENT', `MixtureSameFamily: componentDistribution must be a Distribution; got ${describe(c)}`);
    const mb = m.batchShape, cb = c.batchShape;
    if (cb.length < 1 || !sameShape(mb, cb.slice(0, -1)))
      fail('SHAPE_MISMATCH', `MixtureSameFamily: the component's batch shape ${shapeText(cb)} must be the mixture's ${shapeText(mb)} then K`);
    // a real Categorical's logits getter makes a new tensor: read its shape inside tidy
    const k = tidy(() => (m as Mixing).logits.shape);
    // torch requires a Categorical: event shape [] and logits [...batchShape, K] (refuses OneHotCategorical,
    // the relaxed ones, and a Bernoulli/Binomial batch whose logits would pass for K categories)
    if (m.eventShape.length !== 0 || k.length !== mb.length + 1)
      fail('INVALID_ARGUMENT', `MixtureSameFamily: mixtureDistribution must be a Categorical (event shape [], logits [...batchShape, K]); got a ${m.constructor.name} of event shape ${shapeText(m.eventShape)} and logits ${shapeText(k)}`);
    if (k[k.length - 1] !== cb[cb.length - 1])
      fail('SHAPE_MISMATCH', `MixtureSameFamily: the mixture has ${k[k.length - 1]} categories but the component batch's last dim is ${cb[cb.length - 1]}`);
    this.mixtureDistribution = m;
    this.componentDistribution = c;
    this.setShapes(mb, c.eventShape);
    this.held.push(...heldOf(m), ...heldOf(c));
  }
  get dtype(): 'float32' | 'float64' {
    return this.componentDistribution.dtype;
  }
  get device(): string {
    return this.componentDistribution.device;
  }
  get support(): Constraint {
    return this.componentDistribution.support;
  }
  /** The mixing probabilities with singleton event dims appended: [...B, K, 1…]. */
  private padded(t: Tensor): Tensor {
    let x = t;
    for (let i = 0; i < this.eventShape.length; i++) x = unsqueeze(x, -1);
    return x;
  }
  private probsOf(): Tensor {
    return softmax((this.mixtureDistribution as Mixing).logits, -1);
  }
  get mean(): Tensor {
    return tidy(() => sum(mul(this.padded(this.probsOf()), this.componentDistribution.mean), -1 - this.eventShape.length));
  }
  get variance(): Tensor {
    return tidy(() => {
      const p = this.padded(this.probsOf());
      const ax = -1 - this.eventShape.length;
      const cm = this.componentDistribution.mean;
      const m = unsqueeze(sum(mul(p, cm), ax), ax);
      return add(sum(mul(p, this.componentDistribution.variance), ax), sum(mul(p, sub(cm, m).square()), ax));
    });
  }
  private padValue(x: Tensor): Tensor {
    return unsqueeze(x, x.rank - this.eventShape.length);
  }
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const lpx = this.componentDistribution.logProb(this.padValue(value));
      return logSumExp(add(lpx, logSoftmax((this.mixtureDistribution as Mixing).logits, -1)), -1);
    });
  }
  cdf(value: Tensor): Tensor {
    this.validateSample(value, 'cdf');
    return tidy(() => sum(mul(this.componentDistribution.cdf(this.padValue(value)), this.probsOf()), -1));
  }
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const seed = options?.seed;
    const s2 = deriveSeed(seed, 0);
    return tidy(() => {
      const shape = this.extendedShape(sampleShape);
      const idx = this.mixtureDistribution.sample(sampleShape, { seed }).cast('int32');
      const comps = this.componentDistribution.sample(sampleShape, { seed: s2 });
      const e = this.eventShape.length;
      let index = unsqueeze(idx, idx.rank);
      for (let i = 0; i < e; i++) index = unsqueeze(index, -1);
      const target = [...shape.slice(0, shape.length - e), 1, ...this.eventShape];
      const g = gather(comps, comps.rank - 1 - e, broadcastTo(index, target).cast('int32'));
      return reshape(g, shape);
    });
  }
  expand(batchShape: readonly number[]): MixtureSameFamily {
    const m = this.mixtureDistribution.expand(batchShape);
    const c = this.componentDistribution.expand([...batchShape, this.componentDistribution.batchShape[this.componentDistribution.batchShape.length - 1]]);
    return new MixtureSameFamily(m, c, { validateArgs: false });
  }
  dispose(): void {
    super.dispose();
    this.mixtureDistribution.dispose();
    this.componentDistribution.dispose();
  }
}

// ------------------------------------------------------------- LKJCholesky

/**
 * The LKJ distribution over Cholesky factors L of dim×dim correlation
 * matrices (torch's LKJCholesky(dim, concentration = 1)): the density of
 * L Lᵀ is proportional to det(L Lᵀ)^(η − 1), η = concentration. Samples by
 * the onion method (one Beta and one normal draw per row, vectorised as
 * torch's, but with the paper's Beta(k/2, ·) for a row of k off-diagonal
 * entries where torch 1.13 has Beta(k − 1/2, ·), which makes its samples for
 * dim ≥ 3 disagree with its logProb); every off-diagonal correlation then has
 * the LKJ marginal, (r + 1)/2 ~ Beta(η − 1 + dim/2, η − 1 + dim/2). No
 * rsample, mean, variance or entropy (as torch). eventShape [dim, dim].
 */
export class LKJCholesky extends Distribution {
  /** The matrix size D (≥ 2). */
  readonly dim: number;
  /** η > 0, of the batch shape. */
  readonly concentration: Tensor;
  constructor(dim: number, concentration: Tensor | number = 1, options?: DistributionOptions) {
    super(options);
    if (!Number.isInteger(dim) || dim < 2) fail('INVALID_ARGUMENT', `LKJCholesky: dim must be an integer ≥ 2; got ${describe(dim)}`);
    this.dim = dim;
    const p = this.broadcastParams({ concentration });
    this.concentration = p.concentration;
    this.setShapes(this.batchShape, [dim, dim]);
    this.checkArgs(p);
  }
  get argConstraints(): Record<string, Constraint> {
    return { concentration: constraints.positive };
  }
  get support(): Constraint {
    return constraints.corrCholesky;
  }
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    const shape = this.extendedShape(sampleShape);
    const d = this.dim, dtype = this.dtype, device = this.device;
    return noGrad(() =>
      tidy(() => {
        // row i ≥ 1 of L is sqrt(y_i)·(a uniform direction in its first i coordinates), y_i ~ Beta(i/2, η + (D − 2)/2 − (i − 1)/2)
        const offset = tensor([0, ...Array.from({ length: d - 1 }, (_, i) => i)], [d], { dtype, device });
        // Beta(k/2, ·) for a row with k off-diagonal entries (Lewandowski et al. 2009, §3.2); torch 1.13 uses
        // offset + 1/2 = k − 1/2 here, whose rows k ≥ 2 do not follow its own logProb (their correlations are too wide)
        const c1 = add(mul(offset, 0.5), 0.5);
        const c0 = sub(unsqueeze(add(this.concentration.detach(), 0.5 * (d - 2)), -1), mul(offset, 0.5));
        const beta = new Beta(c1, c0, { validateArgs: false });
        let y: Tensor;
        try {
          y = unsqueeze(beta.sample(sampleShape, { seed: options?.seed }), -1);
        } finally {
          beta.dispose();
        }
        const { tiny } = finfo(y.dtype);
        const u = randn(shape, { dtype, device, seed: deriveSeed(options?.seed, 0) }).tril(-1);
        // the first row is all zeros: 0/tiny = 0 where torch fills its 0/0 with 0
        const dir = div(u, clamp(vecNorm(u, 2, -1, true), tiny, Infinity));
        const w = mul(sqrt(y), dir);
        const diag = sqrt(clamp(sub(1, sum(square(w), -1)), tiny, Infinity));
        return add(w, diagEmbed(diag));
      }),
    );
  }
  /**
   * Σᵢ₌₂..D (2(η − 1) + D − i) log L_ii − log of the normaliser
   * (D − 1)/2·log π + mvlgamma(η + (D − 2)/2, D − 1) − (D − 1)·lgamma(η + (D − 1)/2), as torch.
   */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const d = this.dim, dm1 = d - 1, dtype = this.dtype, device = this.device;
      const diagEl = narrow(diagonal(value, { axis1: -2, axis2: -1 }), -1, 1, dm1);
      const orders = tensor(Array.from({ length: dm1 }, (_, k) => d - (k + 2)), [dm1], { dtype, device });
      const order = add(mul(unsqueeze(sub(this.concentration, 1), -1), 2), orders);
      const unnormalized = sum(mul(order, log(diagEl)), -1);
      const alpha = add(this.concentration, 0.5 * dm1);
      // mvlgamma(a, p) = p(p − 1)/4·log π + Σⱼ₌₁..p lgamma(a + (1 − j)/2), with a = alpha − 1/2, p = D − 1
      const halves = tensor(Array.from({ length: dm1 }, (_, j) => -0.5 - j / 2), [dm1], { dtype, device });
      const mvl = add(sum(lgamma(add(unsqueeze(alpha, -1), halves)), -1), (dm1 * (dm1 - 1) * Math.log(Math.PI)) / 4);
      const normalizer = sub(add(mvl, 0.5 * dm1 * Math.log(Math.PI)), mul(lgamma(alpha), dm1));
      return sub(unnormalized, normalizer);
    });
  }
  expand(batchShape: readonly number[]): LKJCholesky {
    return this.expandWith(batchShape, (grow) => new LKJCholesky(this.dim, grow(this.concentration), { validateArgs: false }));
  }
}

// ------------------------------------------------------------------ Wishart

/** One of the three ways to give Wishart's scale. */
export type WishartScale = { covarianceMatrix: Tensor; precisionMatrix?: undefined; scaleTril?: undefined } | { precisionMatrix: Tensor; covarianceMatrix?: undefined; scaleTril?: undefined } | { scaleTril: Tensor; covarianceMatrix?: undefined; precisionMatrix?: undefined };

/**
 * The Wishart distribution over p×p positive-definite matrices
 * (torch.distributions.Wishart): `new Wishart(df, { covarianceMatrix } |
 * { precisionMatrix } | { scaleTril }, options?)` — exactly one scale, of
 * shape [..., p, p]; df > p − 1 of the batch shape. rsample by the Bartlett
 * decomposition (χ² diagonal from standardGamma, normal below it;
 * differentiable in df and the scale), redrawing singular samples up to
 * `maxTryCorrection` times (default 10, as torch). logProb, mean, mode (NaN
 * where df ≤ p + 1), variance, entropy as torch.
 */
export class Wishart extends Distribution {
  readonly hasRsample = true;
  /** Degrees of freedom, of the batch shape. */
  readonly df: Tensor;
  /** @internal The lower Cholesky factor of the covariance, [...batchShape, p, p]. */
  private readonly tril: Tensor;
  private readonly given: 'covarianceMatrix' | 'precisionMatrix' | 'scaleTril';
  private readonly param: Tensor;
  constructor(df: Tensor | number, scale: WishartScale, options?: DistributionOptions) {
    super(options);
    if (scale === null || typeof scale !== 'object') fail('INVALID_ARGUMENT', `Wishart: the scale must be { covarianceMatrix }, { precisionMatrix } or { scaleTril }; got ${describe(scale)}`);
    const keys = (['covarianceMatrix', 'precisionMatrix', 'scaleTril'] as const).filter((k) => (scale as Record<string, unknown>)[k] !== undefined);
    if (keys.length !== 1) fail('INVALID_ARGUMENT', `Wishart: give exactly one of covarianceMatrix, precisionMatrix, scaleTril; got ${keys.length === 0 ? 'none' : keys.join(' and ')}`);
    const key = keys[0];
    const value = (scale as Record<string, unknown>)[key];
    if (!(value instanceof Tensor) || value.rank < 2 || value.shape[value.rank - 1] !== value.shape[value.rank - 2])
      fail('INVALID_ARGUMENT', `Wishart: ${key} must be a Tensor of square matrices [..., p, p]; got ${value instanceof Tensor ? `shape ${shapeText(value.shape)}` : describe(value)}`);
    this.given = key;
    const p = this.broadcastParams({ df, [key]: value }, { eventDims: { [key]: 2 } });
    const n = value.shape[value.rank - 1];
    this.setShapes(this.batchShape, [n, n]);
    this.df = p.df;
    this.param = p[key];
    this.checkArgs(p);
    try {
      this.tril = key === 'scaleTril' ? this.param : this.own(tidy(() => (key === 'covarianceMatrix' ? cholesky(this.param) : cholesky(inv(this.param)))));
    } catch (e) {
      this.dispose();
      throw e;
    }
  }
  get argConstraints(): Record<string, Constraint> {
    const n = this.eventShape[0] ?? 1;
    return { df: constraints.greaterThan(n - 1), covarianceMatrix: constraints.positiveDefinite, precisionMatrix: constraints.positiveDefinite, scaleTril: constraints.lowerCholesky };
  }
  get support(): Constraint {
    return constraints.positiveDefinite;
  }
  /** L with L Lᵀ the covariance (a new tensor). */
  get scaleTril(): Tensor {
    return this.tril.clone();
  }
  /** L Lᵀ (a new tensor). */
  get covarianceMatrix(): Tensor {
    return this.given === 'covarianceMatrix' ? this.param.clone() : tidy(() => matmul(this.tril, transpose(this.tril, -1, -2)));
  }
  /** (L Lᵀ)⁻¹ (a new tensor). */
  get precisionMatrix(): Tensor {
    if (this.given === 'precisionMatrix') return this.param.clone();
    return tidy(() => {
      const n = this.eventShape[0];
      const li = solveTriangular(this.tril, broadcastTo(eye(n, n, { dtype: this.dtype, device: this.device }), this.tril.shape), { upper: false });
      return matmul(transpose(li, -1, -2), li);
    });
  }
  private dfMat(): Tensor {
    return unsqueeze(unsqueeze(this.df, -1), -1);
  }
  /** df·Σ. */
  get mean(): Tensor {
    return tidy(() => mul(this.dfMat(), this.covarianceMatrix));
  }
  /** (df − p − 1)·Σ, NaN where df ≤ p + 1 (as torch). */
  get mode(): Tensor {
    return tidy(() => {
      const f = sub(this.dfMat(), this.eventShape[0] + 1);
      return mul(where(lessEqual(f, 0), NaN, f), this.covarianceMatrix);
    });
  }
  /** Var X_ij = df·(Σ_ij² + Σ_ii Σ_jj). */
  get variance(): Tensor {
    return tidy(() => {
      const V = this.covarianceMatrix;
      const d = diagonal(V, { axis1: -2, axis2: -1 });
      return mul(this.dfMat(), add(square(V), mul(unsqueeze(d, -1), unsqueeze(d, -2))));
    });
  }
  /** One Bartlett draw: (L A)(L A)ᵀ with A lower triangular, A_ii = √χ²(df − i) (at least eps), A_ij ~ N(0, 1) below. */
  private bartlett(sampleShape: readonly number[], seed: number | undefined, k: number): Tensor {
    const n = this.eventShape[0];
    const shape = this.extendedShape(sampleShape);
    const { eps } = finfo(this.df.dtype);
    const offs = tensor(Array.from({ length: n }, (_, i) => -i / 2), [n], { dtype: this.dtype, device: this.device });
    const half = broadcastTo(add(unsqueeze(mul(this.df, 0.5), -1), offs), shape.slice(0, -1));
    const chi = sqrt(mul(standardGamma(half, { seed: deriveSeed(seed, 2 * k) }), 2));
    const noise = randn(shape, { dtype: this.dtype, device: this.device, seed: deriveSeed(seed, 2 * k + 1) }).tril(-1);
    const A = add(noise, diagEmbed(clamp(chi, eps, Infinity)));
    const LA = matmul(this.tril, A);
    return matmul(LA, transpose(LA, -1, -2));
  }
  /**
   * Draws by the Bartlett decomposition. A draw that is not numerically
   * positive-definite (possible for p − 1 < df < p) is redrawn up to
   * maxTryCorrection times (whole draws, selected per sample element).
   */
  rsample(sampleShape: readonly number[] = [], options?: SampleOptions & { maxTryCorrection?: number }): Tensor {
    const tries = options?.maxTryCorrection ?? 10;
    if (!Number.isInteger(tries) || tries < 0) fail('INVALID_ARGUMENT', `Wishart.rsample: maxTryCorrection must be a nonnegative integer; got ${describe(tries)}`);
    const seed = options?.seed;
    return tidy(() => {
      let s = this.bartlett(sampleShape, seed, 0);
      for (let k = 1; k <= tries; k++) {
        const bad = noGrad(() => sub(1, constraints.positiveDefinite.check(s.detach())));
        if (bad.sum().item() === 0) break;
        s = where(unsqueeze(unsqueeze(bad, -1), -1), this.bartlett(sampleShape, seed, k), s);
      }
      return s;
    });
  }
  /**
   * −df(p log 2/2 + Σ log L_ii) − mvlgamma(df/2, p) + (df − p − 1)/2·log|det X| − tr(Σ⁻¹X)/2.
   */
  logProb(value: Tensor): Tensor {
    this.validateSample(value);
    return tidy(() => {
      const n = this.eventShape[0];
      const nu = this.df;
      const logDiag = sum(log(diagonal(this.tril, { axis1: -2, axis2: -1 })), -1);
      const shape = broadcastShapes([value.shape, [...this.batchShape, n, n]])!;
      const Lb = broadcastTo(this.tril, shape);
      const B = solveTriangular(Lb, broadcastTo(value, shape), { upper: false });
      const Cm = solveTriangular(Lb, transpose(B, -1, -2), { upper: false });
      const tr = sum(diagonal(Cm, { axis1: -2, axis2: -1 }), -1);
      const ld = slogdet(value).logabsdet;
      return sub(add(sub(mul(neg(nu), add(logDiag, (n * Math.LN2) / 2)), mvlgamma(mul(nu, 0.5), n)), mul(div(sub(nu, n + 1), 2), ld)), div(tr, 2));
    });
  }
  /** (p + 1)(p log 2/2 + Σ log L_ii) + mvlgamma(df/2, p) − (df − p − 1)/2·mvdigamma(df/2, p) + df·p/2. */
  entropy(): Tensor {
    return tidy(() => {
      const n = this.eventShape[0];
      const nu = this.df;
      const logDiag = sum(log(diagonal(this.tril, { axis1: -2, axis2: -1 })), -1);
      const h = mul(nu, 0.5);
      return add(sub(add(mul(add(logDiag, (n * Math.LN2) / 2), n + 1), mvlgamma(h, n)), mul(div(sub(nu, n + 1), 2), mvdigamma(h, n))), mul(nu, n / 2));
    });
  }
  expand(batchShape: readonly number[]): Wishart {
    return this.expandWith(batchShape, (grow) => new Wishart(grow(this.df), { [this.given]: grow(this.param, 2) } as unknown as WishartScale, { validateArgs: false }));
  }
}

registerKL(Independent, Independent, (p, q) => {
  if (p.reinterpretedBatchNdims !== q.reinterpretedBatchNdims) fail('NOT_SUPPORTED', `klDivergence: (Independent, Independent) with different reinterpretedBatchNdims (${p.reinterpretedBatchNdims} and ${q.reinterpretedBatchNdims})`);
  return tidy(() => sumRightmost(klDivergence(p.baseDist, q.baseDist), p.reinterpretedBatchNdims));
});

registerKL(TransformedDistribution, TransformedDistribution, (p, q) => {
  if (p.transforms.length !== q.transforms.length || !p.transforms.every((t, i) => t.equals(q.transforms[i])))
    fail('NOT_SUPPORTED', 'klDivergence: (TransformedDistribution, TransformedDistribution) with different transforms');
  if (!sameShape(p.eventShape, q.eventShape)) fail('NOT_SUPPORTED', 'klDivergence: (TransformedDistribution, TransformedDistribution) with different event shapes');
  return klDivergence(p.baseDist, q.baseDist);
});
