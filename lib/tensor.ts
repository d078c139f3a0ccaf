/**
 * Tensor handles and creation. A Tensor wraps a native handle (contiguous,
 * row-major storage on one device). Reading data synchronizes the device.
 */
import { inspect } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { assignRecorder, hookList, Node, noGrad, runBackward } from './autograd/graph';
import type { GradHook } from './autograd/graph';
import { getDefaultDevice } from './device';
import { inScope, isolated, track, untrack } from './engine';
import { AntlerError, fail } from './errors';
import { native, NativeHandle } from './native';
import { nextDraw } from './random';
import type * as OpsModule from './ops/core';
import type * as IndexingModule from './ops/indexing';
import type * as NnOpsModule from './ops/nn';
import type * as ShapeOpsModule from './ops/shape';
import type * as ExtraOpsModule from './ops/extra';
import type * as ReductionsModule from './ops/reductions';
import type * as PointwiseModule from './ops/pointwise';
import type * as StatisticsModule from './ops/statistics';
import type * as ProductsModule from './ops/products';
import type * as SelectionModule from './ops/selection';
import type * as ConstructModule from './ops/construct';
import type * as SignalModule from './ops/signal';
import type * as LinalgModule from './ops/linalg';
import {
  checkBoolean,
  checkDevice,
  checkDtype,
  checkFinite,
  checkOptions,
  checkShape,
  describe,
  DTYPES,
  DType, numel } from './validate';

export type { DType } from './validate';

// ops/core imports this module, so it is required at the end of this file (the cycle then resolves:
// everything here is defined), not lazily at a method's first use: a lazy require after
// require.cache was cleared (jest.resetModules) bound this copy's methods to a fresh ops module,
// whose Tensor class refused this copy's tensors.
let opsModule: typeof OpsModule | undefined;
function ops(): typeof OpsModule {
  return opsModule!;
}
let indexingModule: typeof IndexingModule | undefined;
function indexing(): typeof IndexingModule {
  return indexingModule!;
}
let shapeModule: typeof ShapeOpsModule | undefined;
let nnOpsModule: typeof NnOpsModule | undefined;
let extraModule: typeof ExtraOpsModule | undefined;
let reductionsModule: typeof ReductionsModule | undefined;
let pointwiseModule: typeof PointwiseModule | undefined;
let statisticsModule: typeof StatisticsModule | undefined;
let productsModule: typeof ProductsModule | undefined;
let selectionModule: typeof SelectionModule | undefined;
let constructModule: typeof ConstructModule | undefined;
let signalModule: typeof SignalModule | undefined;
let linalgModule: typeof LinalgModule | undefined;
/** The typed arrays a tensor's values come back as (float32, float64, int32). */
export type TypedArray = Float32Array | Float64Array | Int32Array;
/** The typed array of each dtype. */
export interface DataTypeMap {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
}
/** Other typed arrays tensor() takes, converted to the dtype asked for (float32 by default). */
export type ConvertibleTypedArray = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Uint32Array;
/** Values as nested arrays (arraySync's result). */
export type NestedArray = number | NestedArray[];
/** Nested arrays tensor() takes; readonly ones (a shape, `as const` data) too. */
export type NestedInput = number | readonly NestedInput[];
export type TensorLike = TypedArray | ConvertibleTypedArray | NestedInput;

export interface CreateOptions {
  dtype?: DType;
  device?: string;
  /** Make the new tensor a leaf that collects gradients in .grad. */
  requiresGrad?: boolean;
}

export interface RandomOptions extends CreateOptions {
  seed?: number;
}

// A native handle's shape, dtype and device, read from the buffer the addon
// writes them into (one cheap call instead of building arrays and strings).
const DTYPE_CODES: readonly DType[] = ['float32', 'float64', 'int32'];
const cudaNames: string[] = [];
let meta: Float64Array | undefined;
function describeHandle(h: NativeHandle): { shape: readonly number[]; dtype: DType; device: string; size: number } {
  const n = native();
  if (meta === undefined) {
    // An addon built before describeInto existed (a stale local build): describe() it is.
    if (typeof n.metaBuffer !== 'function') {
      const [shape, dtype, device] = n.describe(h);
      return { shape: Object.freeze(shape), dtype: dtype as DType, device, size: numel(shape) };
    }
    meta = n.metaBuffer();
  }
  const m = meta;
  const rank = n.describeInto(h);
  const shape = new Array<number>(rank);
  let size = 1;
  for (let i = 0; i < rank; i++) size *= shape[i] = m[3 + i];
  const dev = m[2];
  return {
    shape: Object.freeze(shape),
    dtype: DTYPE_CODES[m[1]],
    device: dev < 0 ? 'cpu' : (cudaNames[dev] ??= `cuda:${dev}`),
    size,
  };
}

export class Tensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** 'cpu' or 'cuda:N'. */
  readonly device: string;
  /** Number of elements. */
  readonly size: number;
  /** @internal */ readonly handle: NativeHandle;
  /**
   * @internal How many Tensor objects use `handle`: this one and its view()s
   * (the tensors autograd saves), which share the native handle instead of
   * making one each. The last dispose() frees it.
   */
  share: { refs: number } | null = null; // made by the first view(); null means this tensor alone
  /** @internal */ kept = false;
  private disposed = false;
  private leafRequiresGrad = false;
  /** @internal The op that produced this tensor, when it takes part in autograd. */
  gradFn: Node | null = null;
  private gradValue: Tensor | null = null;

  /** Gradient accumulated by backward() (leaves with requiresGrad only). */
  get grad(): Tensor | null {
    return this.gradValue;
  }

  /**
   * Sets .grad, as PyTorch's assignment: null, or a Tensor of this tensor's
   * shape, dtype and device (checked here, not at the next backward). The
   * tensor owns its .grad (dispose() frees it, and no tidy() scope does); the
   * gradient replaced here, once no tensor holds it, goes back to the
   * innermost open tidy() scope, which disposes it at its end unless it is
   * returned or set as a .grad again, or with no scope open is freed at once
   * (`p.grad = null` frees it, as `p.grad = None` in PyTorch; swapping two
   * .grad values keeps both).
   */
  set grad(g: Tensor | null) {
    if (g !== null) {
      if (!(g instanceof Tensor)) fail('INVALID_ARGUMENT', `grad: the assigned gradient must be a Tensor or null; got ${describe(g)}`);
      if (g.isDisposed) fail('DISPOSED', `grad: the assigned gradient (shape [${g.shape.join(', ')}], ${g.dtype}) has been disposed`);
      if (g === this) fail('INVALID_ARGUMENT', "grad: a tensor cannot be its own gradient (backward would add into its values; PyTorch refuses it too): assign a clone()");
      if (g.shape.length !== this.shape.length || g.shape.some((d, i) => d !== this.shape[i]))
        fail('SHAPE_MISMATCH', `grad: the assigned gradient has shape [${g.shape.join(', ')}]; expected the tensor's, [${this.shape.join(', ')}]`);
      if (g.dtype !== this.dtype) fail('DTYPE_MISMATCH', `grad: the assigned gradient is ${g.dtype}; expected the tensor's dtype, ${this.dtype}`);
      if (g.device !== this.device) fail('DEVICE_MISMATCH', `grad: the assigned gradient is on ${g.device}; expected the tensor's device, ${this.device}`);
    }
    const old = this.gradValue;
    if (old === g) return;
    this.gradValue = g;
    if (g) {
      g.gradOf += 1;
      untrack(g);
    }
    // Once no tensor holds it as its .grad (a swap keeps it): back to the caller's tidy() scope, or
    // with none open freed at once, as PyTorch's p.grad = None frees it.
    if (old && --old.gradOf <= 0 && !old.isDisposed) {
      if (inScope()) track(old);
      else old.dispose();
    }
  }
  /** @internal Drops .grad, disposing it unless another tensor holds it too (zeroGrad, dispose). */
  private dropGrad(): void {
    const g = this.gradValue;
    this.gradValue = null;
    if (g && --g.gradOf <= 0) g.dispose();
  }
  /** @internal How many tensors hold this one as their .grad. */
  gradOf = 0;

  /** @internal Takes .grad out without disposing it (the caller owns it now). */
  takeGrad(): Tensor | null {
    const g = this.gradValue;
    this.gradValue = null;
    if (g) g.gradOf -= 1;
    return g;
  }
  /** @internal The autograd edge to this leaf, made once (see edgeOf). */
  leafEdge: { leaf: Tensor } | undefined = undefined;

  /**
   * @internal Use the creation functions (tensor, zeros, ...) instead. With
   * `sharing`, a view() of that tensor: same handle, not tracked.
   */
  constructor(handle: NativeHandle, sharing?: Tensor) {
    if (sharing) {
      // Made here rather than by Object.create, so views have the same hidden class as other tensors.
      this.handle = handle;
      this.shape = sharing.shape;
      this.dtype = sharing.dtype;
      this.device = sharing.device;
      this.size = sharing.size;
      const share = (sharing.share ??= { refs: 1 });
      share.refs += 1;
      this.share = share;
      return;
    }
    const { shape, dtype, device, size } = describeHandle(handle);
    this.handle = handle;
    this.shape = shape;
    this.dtype = dtype;
    this.device = device;
    this.size = size;
    track(this);
  }

  /**
   * Whether gradients flow to this tensor. Settable on leaves (tensors not
   * produced by a recorded op), as in PyTorch; true for op results that
   * depend on such leaves.
   */
  get requiresGrad(): boolean {
    return this.gradFn !== null || this.leafRequiresGrad;
  }

  set requiresGrad(flag: boolean) {
    checkBoolean(flag, 'requiresGrad', 'value');
    // A result of recorded ops already requires grad: asking for it again changes nothing (PyTorch's too).
    if (this.gradFn && flag) return;
    if (this.gradFn) fail('INVALID_ARGUMENT', 'requiresGrad: only leaf tensors can change requiresGrad; use detach() for a leaf copy of this result');
    if (flag && this.dtype === 'int32') fail('DTYPE_MISMATCH', 'requiresGrad: only float32 and float64 tensors can require gradients');
    this.leafRequiresGrad = flag;
  }

  /** Sets requiresGrad and returns this (PyTorch's requires_grad_()). */
  requiresGrad_(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  /**
   * Calls hook(grad) with this tensor's gradient whenever backward() (or
   * autograd.grad) computes it (PyTorch's register_hook): the sum of what
   * flows into it, before it goes on to the ops that made it (or, for a
   * leaf, before it reaches .grad). The hook may return undefined (nothing
   * changes) or a tensor of the gradient's shape, dtype and device that
   * replaces it (it is copied). Hooks run in the order registered. Only on a
   * tensor that requires grad. Returns a handle whose remove() unregisters it.
   *
   *   h.registerHook((g) => { norms.push(antler.norm(g).item()); });  // watch a hidden state's gradient
   *   w.registerHook((g) => antler.clamp(g, -1, 1));                  // clip as it flows
   */
  registerHook(hook: GradHook): { remove(): void } {
    this.checkAlive('registerHook');
    if (typeof hook !== 'function') fail('INVALID_ARGUMENT', `registerHook: expected a function of the gradient; got ${describe(hook)}`);
    if (!this.requiresGrad) fail('INVALID_ARGUMENT', "registerHook: this tensor does not require grad, so no gradient reaches it (PyTorch refuses too); set requiresGrad on the leaf first");
    const list = hookList(this);
    const entry: GradHook = (g) => hook(g);
    list.push(entry);
    return {
      remove: () => {
        const i = list.indexOf(entry);
        if (i >= 0) list.splice(i, 1);
      },
    };
  }

  /**
   * Keeps this non-leaf tensor's gradient in .grad at each backward pass
   * through it, backward() or autograd.grad (PyTorch's retain_grad();
   * summed over passes as a leaf's is);
   * on a leaf it changes nothing (a leaf that requires grad keeps it
   * anyway). Returns this.
   */
  retainGrad(): this {
    this.checkAlive('retainGrad');
    if (!this.requiresGrad) fail('INVALID_ARGUMENT', "retainGrad: this tensor does not require grad, so it has no gradient to keep (PyTorch refuses too)");
    if (this.gradFn) this.gradFn.retained = this;
    return this;
  }

  /** Whether retainGrad() was called on this non-leaf tensor (PyTorch's retains_grad: false for leaves). */
  get retainsGrad(): boolean {
    return this.gradFn !== null && this.gradFn.retained === this;
  }

  /** True for tensors not produced by a recorded op. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** @internal */
  attachGradFn(node: Node): void {
    node.retain();
    this.gradFn = node;
  }

  /**
   * @internal A second Tensor on the same storage, not tracked by tidy(), that
   * outlives this one's dispose(): it shares the native handle (no native
   * call, no new handle object; see `share`).
   */
  sharedAlias(): Tensor {
    this.checkAlive('backward');
    return new Tensor(this.handle, this);
  }

  /**
   * PyTorch's view: the same values in a new shape (one −1 dimension is
   * inferred), as reshape; `x.view(2, 3)` or `x.view([2, 3])`.
   */
  view(...shape: (number | readonly number[])[]): Tensor {
    return this.reshape(dimsArgument(shape, 'view', 'the new shape', '2, 3'));
  }

  /**
   * Computes the gradient of this tensor with respect to every leaf with
   * requiresGrad, accumulating into their .grad. A non-scalar needs an
   * explicit `gradient` of the same shape and device (another dtype is cast
   * to this tensor's, as PyTorch does). The graph's saved tensors are
   * freed afterwards unless retainGraph is true.
   *
   * `createGraph: true` (PyTorch's create_graph) records the backward pass
   * itself: each .grad is then a result of recorded ops, differentiable
   * again (a gradient penalty, a Hessian-vector product), and the graph is
   * kept. Every op on the way must support it; those that do not (the ODE
   * solver, embedding with scaleGradByFreq) make it throw
   * NOT_SUPPORTED before any .grad changes.
   */
  backward(gradient?: Tensor, options?: { retainGraph?: boolean; createGraph?: boolean }): void {
    this.checkAlive('backward');
    if (!this.requiresGrad) fail('INVALID_ARGUMENT', 'backward: this tensor does not require grad (no input had requiresGrad = true, or it was computed under noGrad)');
    const o = checkOptions<{ retainGraph: boolean; createGraph: boolean }>(options, 'backward', ['retainGraph', 'createGraph']);
    const retain = o.retainGraph === undefined ? false : checkBoolean(o.retainGraph, 'backward', 'retainGraph');
    const createGraph = o.createGraph === undefined ? false : checkBoolean(o.createGraph, 'backward', 'createGraph');
    let seed: Tensor;
    if (gradient === undefined) {
      if (this.size !== 1) fail('SHAPE_MISMATCH', `backward: a gradient is needed for a non-scalar output (shape [${this.shape.join(', ')}])`);
      seed = isolated(() => onesLike(this));
    } else {
      // backward({createGraph: true}): the options come second (PyTorch's keyword arguments).
      if (gradient !== null && typeof gradient === 'object' && !(gradient instanceof Tensor) && ['createGraph', 'retainGraph'].some((k) => k in (gradient as object)))
        fail('INVALID_ARGUMENT', `backward: the first argument is the gradient (a Tensor, or undefined for a scalar); got an options object ({${Object.keys(gradient as object).join(', ')}}): pass it second, backward(undefined, {createGraph: true})`);
      const g = checkTensor(gradient, 'backward', 'gradient');
      if (g.shape.length !== this.shape.length || g.shape.some((d, i) => d !== this.shape[i]))
        fail('SHAPE_MISMATCH', `backward: gradient has shape [${g.shape.join(', ')}]; expected [${this.shape.join(', ')}]`);
      if (g.device !== this.device) fail('DEVICE_MISMATCH', `backward: gradient is on ${g.device}; expected ${this.device}`);
      // Another dtype is cast to the output's, as PyTorch's engine does (a float64 gradient for a float32 loss).
      seed = isolated(() => (g.dtype === this.dtype ? g.clone() : g.cast(this.dtype)));
    }
    runBackward(this, seed, retain, createGraph); // takes the seed
  }

  /** A tensor sharing this one's data, cut off from the graph (a leaf). */
  detach(): Tensor {
    return new Tensor(native().reshape(this.checkAlive('detach').handle, this.shape.slice()));
  }

  /**
   * Copies src's values into this tensor in place (PyTorch's copy_). Same
   * shape and dtype; src may be on another device. Autograd, as copy_'s:
   * a result of recorded ops, or a plain tensor given a src that requires
   * grad, now passes its gradient to src, and the overwritten values' graph
   * gets none; into a leaf with requiresGrad (a parameter) the write is not
   * recorded (PyTorch raises unless under no_grad); under noGrad() nothing
   * is recorded.
   */
  assign(src: Tensor): this {
    checkTensor(src, 'assign', 'source');
    this.checkAlive('assign');
    const record = assignRecorder(this, src, this.gradFn === null && !this.leafRequiresGrad);
    native().assign(this.handle, src.handle);
    record?.();
    return this;
  }

  /** @internal Swaps in new storage (module.to()), keeping this object's identity. */
  replaceData(h: NativeHandle): void {
    const { shape, dtype, device, size } = describeHandle(h);
    if (this.share === null || --this.share.refs === 0) native().dispose(this.handle);
    Object.assign(this, { handle: h, share: null, shape, dtype, device, size });
  }

  /**
   * Disposes .grad and sets it to null (PyTorch 2's default), or with
   * setToNone false fills an existing .grad with zeros in place (PyTorch's
   * zero_grad(set_to_none=False): optimizers then still step the parameter,
   * with momentum and weight decay, as they do a zero gradient).
   */
  zeroGrad(setToNone = true): void {
    if (typeof setToNone !== 'boolean') fail('INVALID_ARGUMENT', `zeroGrad: setToNone must be a boolean; got ${describe(setToNone)}`);
    const g = this.grad;
    if (setToNone || !g || g.isDisposed) {
      this.dropGrad();
      return;
    }
    // A .grad that carries a graph (a createGraph backward's) is cut from it first, as PyTorch's
    // zero_grad(set_to_none=False) detaches it; the zeros are written unrecorded.
    if (g.gradFn) {
      const node = g.gradFn;
      g.gradFn = null;
      node.release();
    } else if (g.requiresGrad) g.requiresGrad = false;
    const z = zerosLike(g);
    try {
      noGrad(() => g.assign(z));
    } finally {
      z.dispose();
    }
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** @internal Throws DISPOSED naming the op. */
  checkAlive(op: string): this {
    if (this.disposed) fail('DISPOSED', `${op}: the tensor (shape [${this.shape.join(', ')}], ${this.dtype}) has been disposed`);
    return this;
  }

  /**
   * A copy of the values, as a typed array of the tensor's dtype. Synchronous.
   * Name the dtype you know to get its array type, as TensorFlow.js's:
   * `t.dataSync<'float32'>()` is a Float32Array (unchecked, like a cast).
   */
  dataSync<D extends DType = DType>(): DataTypeMap[D] {
    return ownRealm(native().dataSync(this.checkAlive('dataSync').handle)) as DataTypeMap[D];
  }

  /** The values, read without blocking the event loop (`data<'float64'>()` for a Float64Array). */
  data<D extends DType = DType>(): Promise<DataTypeMap[D]> {
    try {
      return (native().dataAsync(this.checkAlive('data').handle) as Promise<TypedArray>).then(ownRealm) as Promise<DataTypeMap[D]>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The values as nested arrays (a number for a scalar). Name the nesting you
   * know to get its type: `m.arraySync<number[][]>()` (unchecked, like a cast).
   */
  arraySync<T extends NestedArray = NestedArray>(): T {
    this.checkAlive('arraySync');
    checkNestable(this.shape, 'arraySync');
    return nest(this.dataSync(), this.shape) as T;
  }

  /** arraySync() without blocking the event loop. */
  async array<T extends NestedArray = NestedArray>(): Promise<T> {
    this.checkAlive('array');
    checkNestable(this.shape, 'array');
    return nest(await this.data(), this.shape) as T;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    this.checkAlive('item');
    if (this.size !== 1) fail('SHAPE_MISMATCH', `item: the tensor has ${this.size} elements (shape [${this.shape.join(', ')}]); expected exactly 1`);
    return this.dataSync()[0];
  }

  /** A copy on another device (a copy even when the device is the same). */
  to(device: string): Tensor {
    if (typeof device === 'string' && (DTYPES as readonly string[]).includes(device))
      fail('INVALID_ARGUMENT', `to: takes a device ('cpu', 'cuda', 'cuda:N'); got the dtype '${device}' (a dtype conversion is cast('${device}'))`);
    return ops().toDevice(this.checkAlive('to'), checkDevice(device, 'to'));
  }

  /** A view with a new shape (one dim may be -1); shares data with this tensor. `x.reshape([2, 3])` or, as PyTorch, `x.reshape(2, 3)`. */
  reshape(shape: readonly number[]): Tensor;
  reshape(...shape: number[]): Tensor;
  reshape(...shape: (number | readonly number[])[]): Tensor {
    return ops().reshape(this.checkAlive('reshape'), dimsArgument(shape, 'reshape', 'the new shape', '2, 3'));
  }

  /** A copy with its own storage. */
  clone(): Tensor {
    return ops().clone(this.checkAlive('clone'));
  }

  /** A copy converted to another dtype (float → int32 truncates toward zero, saturating). */
  cast(dtype: DType): Tensor {
    return ops().cast(this.checkAlive('cast'), checkDtype(dtype, 'cast'));
  }

  add(other: Tensor | number): Tensor {
    return ops().add(this, other);
  }
  sub(other: Tensor | number): Tensor {
    return ops().sub(this, other);
  }
  mul(other: Tensor | number): Tensor {
    return ops().mul(this, other);
  }
  div(other: Tensor | number): Tensor {
    return ops().div(this, other);
  }
  maximum(other: Tensor | number): Tensor {
    return ops().maximum(this, other);
  }
  minimum(other: Tensor | number): Tensor {
    return ops().minimum(this, other);
  }
  pow(exponent: Tensor | number): Tensor {
    return ops().pow(this, exponent);
  }
  neg(): Tensor {
    return ops().neg(this);
  }
  exp(): Tensor {
    return ops().exp(this);
  }
  log(): Tensor {
    return ops().log(this);
  }
  tanh(): Tensor {
    return ops().tanh(this);
  }
  sigmoid(): Tensor {
    return ops().sigmoid(this);
  }
  relu(): Tensor {
    return ops().relu(this);
  }
  sqrt(): Tensor {
    return ops().sqrt(this);
  }
  abs(): Tensor {
    return ops().abs(this);
  }
  square(): Tensor {
    return ops().square(this);
  }
  sin(): Tensor {
    return ops().sin(this);
  }
  cos(): Tensor {
    return ops().cos(this);
  }
  log1p(): Tensor {
    return ops().log1p(this);
  }
  expm1(): Tensor {
    return ops().expm1(this);
  }
  rsqrt(): Tensor {
    return ops().rsqrt(this);
  }
  sign(): Tensor {
    return ops().sign(this);
  }
  floor(): Tensor {
    return ops().floor(this);
  }
  ceil(): Tensor {
    return ops().ceil(this);
  }
  round(): Tensor {
    return ops().round(this);
  }
  erf(): Tensor {
    return ops().erf(this);
  }
  erfc(): Tensor {
    return ops().erfc(this);
  }
  tan(): Tensor {
    return ops().tan(this);
  }
  asin(): Tensor {
    return ops().asin(this);
  }
  acos(): Tensor {
    return ops().acos(this);
  }
  atan(): Tensor {
    return ops().atan(this);
  }
  sinh(): Tensor {
    return ops().sinh(this);
  }
  cosh(): Tensor {
    return ops().cosh(this);
  }
  asinh(): Tensor {
    return ops().asinh(this);
  }
  acosh(): Tensor {
    return ops().acosh(this);
  }
  atanh(): Tensor {
    return ops().atanh(this);
  }
  trunc(): Tensor {
    return ops().trunc(this);
  }
  log2(): Tensor {
    return ops().log2(this);
  }
  log10(): Tensor {
    return ops().log10(this);
  }
  exp2(): Tensor {
    return ops().exp2(this);
  }
  clamp(lo?: number, hi?: number): Tensor {
    return ops().clamp(this, lo, hi);
  }
  matmul(other: Tensor, options?: { transposeA?: boolean; transposeB?: boolean }): Tensor {
    return ops().matmul(this, other, options);
  }
  /** Cumulative sum along axis (default 0), optionally exclusive or from the end (tf.cumsum, torch.cumsum). */
  cumsum(axis = 0, options?: { exclusive?: boolean; reverse?: boolean }): Tensor {
    return ops().cumsum(this, axis, options);
  }
  /** Cumulative product along axis (default 0), optionally exclusive or from the end (torch.cumprod). */
  cumprod(axis = 0, options?: { exclusive?: boolean; reverse?: boolean }): Tensor {
    return ops().cumprod(this, axis, options);
  }
  /** Sum over axis (all axes by default). */
  sum(axis?: number | readonly number[], keepDims = false): Tensor {
    return ops().sum(this, axis, keepDims);
  }
  /** Product over axis (all axes by default; torch.prod). */
  prod(axis?: number | readonly number[], keepDims = false): Tensor {
    return ops().prod(this, axis, keepDims);
  }
  mean(axis?: number | readonly number[], keepDims = false): Tensor {
    return ops().mean(this, axis, keepDims);
  }
  max(axis?: number | readonly number[], keepDims = false): Tensor {
    return ops().max(this, axis, keepDims);
  }
  min(axis?: number | readonly number[], keepDims = false): Tensor {
    return ops().min(this, axis, keepDims);
  }
  /** The index of the largest element along axis (of all elements when omitted), int32 (torch.argmax). */
  argmax(axis?: number, keepDims = false): Tensor {
    return indexing().argmax(this, axis, keepDims);
  }
  /** The index of the smallest element along axis (of all elements when omitted), int32 (torch.argmin). */
  argmin(axis?: number, keepDims = false): Tensor {
    return indexing().argmin(this, axis, keepDims);
  }
  /** Sorted along axis (default −1), smallest first unless descending: { values, indices } (torch.sort; stable). */
  sort(options?: { axis?: number; descending?: boolean; stable?: boolean }): { values: Tensor; indices: Tensor } {
    return indexing().sort(this, options);
  }
  /** The indices that sort along axis (torch.argsort), int32. */
  argsort(options?: { axis?: number; descending?: boolean; stable?: boolean }): Tensor {
    return indexing().argsort(this, options);
  }
  /** Swaps two axes (PyTorch's transpose(dim0, dim1)); with no argument, the last two. */
  transpose(dim0?: number, dim1?: number): Tensor {
    return ops().transpose(this, dim0, dim1);
  }
  /** The axes in a new order: `x.permute([1, 0])` or, as PyTorch, `x.permute(1, 0)`. */
  permute(perm: readonly number[]): Tensor;
  permute(...perm: number[]): Tensor;
  permute(...perm: (number | readonly number[])[]): Tensor {
    return ops().permute(this, dimsArgument(perm, 'permute', 'the axes', '1, 0'));
  }
  /** Drops axes of size 1: all of them, or those named (torch.squeeze, tf.squeeze). */
  squeeze(axis?: number | readonly number[]): Tensor {
    return shapeModule!.squeeze(this, axis);
  }
  /** A new axis of size 1 at `axis` (torch.unsqueeze). */
  unsqueeze(axis: number): Tensor {
    return shapeModule!.unsqueeze(this, axis);
  }
  /** TensorFlow.js's name for unsqueeze; axis 0 by default, as tf's. */
  expandDims(axis = 0): Tensor {
    return shapeModule!.expandDims(this, axis);
  }
  /** Axes startAxis..endAxis (all by default) merged into one (torch.flatten). */
  flatten(startAxis = 0, endAxis = -1): Tensor {
    return shapeModule!.flatten(this, startAxis, endAxis);
  }
  /** softmax along axis (the last by default), as torch's x.softmax(dim) and tf's x.softmax(). */
  softmax(axis = -1): Tensor {
    return nnOpsModule!.softmax(this, axis);
  }
  /** log softmax along axis (the last by default). */
  logSoftmax(axis = -1): Tensor {
    return nnOpsModule!.logSoftmax(this, axis);
  }
  /** 1 where this equals other, else 0, in the operands' dtype (tf's x.equal, torch's x.eq). No gradient. */
  equal(other: Tensor | number): Tensor {
    return ops().equal(this, other);
  }
  /** 1 where this differs from other (tf's x.notEqual, torch's x.ne). */
  notEqual(other: Tensor | number): Tensor {
    return ops().notEqual(this, other);
  }
  /** 1 where this < other (tf's x.less, torch's x.lt). */
  less(other: Tensor | number): Tensor {
    return ops().less(this, other);
  }
  /** 1 where this ≤ other (tf's x.lessEqual, torch's x.le). */
  lessEqual(other: Tensor | number): Tensor {
    return ops().lessEqual(this, other);
  }
  /** 1 where this > other (tf's x.greater, torch's x.gt). */
  greater(other: Tensor | number): Tensor {
    return ops().greater(this, other);
  }
  /** 1 where this ≥ other (tf's x.greaterEqual, torch's x.ge). */
  greaterEqual(other: Tensor | number): Tensor {
    return ops().greaterEqual(this, other);
  }
  /** Python's %: the divisor's sign (torch's x.remainder). */
  remainder(other: Tensor | number): Tensor {
    return ops().remainder(this, other);
  }
  /** Python's //: rounded toward −∞ (torch's x.floor_divide). */
  floorDivide(other: Tensor | number): Tensor {
    return ops().floorDivide(this, other);
  }
  reciprocal(): Tensor {
    return ops().reciprocal(this);
  }
  softplus(): Tensor {
    return ops().softplus(this);
  }
  gelu(options?: { approximate?: 'none' | 'tanh' }): Tensor {
    return ops().gelu(this, options);
  }
  silu(): Tensor {
    return ops().silu(this);
  }
  leakyRelu(negativeSlope = 0.01): Tensor {
    return ops().leakyRelu(this, negativeSlope);
  }
  elu(alpha = 1): Tensor {
    return ops().elu(this, alpha);
  }
  logSigmoid(): Tensor {
    return extraModule!.logSigmoid(this);
  }
  /** Broadcast to a larger shape, −1 keeping an axis's size (tf's x.broadcastTo, torch's x.expand). */
  broadcastTo(shape: readonly number[]): Tensor {
    return ops().broadcastTo(this, shape);
  }
  /** The variance over axis (all by default), Bessel's correction unless {correction} says otherwise (torch's x.var()). */
  variance(axis?: number | readonly number[], keepDims = false, options?: { correction?: number }): Tensor {
    return reductionsModule!.variance(this, axis, keepDims, options);
  }
  /** The standard deviation over axis (torch's x.std()). */
  std(axis?: number | readonly number[], keepDims = false, options?: { correction?: number }): Tensor {
    return reductionsModule!.std(this, axis, keepDims, options);
  }
  /** log Σ exp over axis (all by default; torch's x.logsumexp(dim), tf's x.logSumExp()). */
  logSumExp(axis?: number | readonly number[], keepDims = false): Tensor {
    return reductionsModule!.logSumExp(this, axis, keepDims);
  }
  /** 1 where any element of the reduced slice is nonzero (torch's x.any(), tf's x.any()). */
  any(axis?: number | readonly number[], keepDims = false): Tensor {
    return reductionsModule!.any(this, axis, keepDims);
  }
  /** 1 where every element of the reduced slice is nonzero (torch's x.all()). */
  all(axis?: number | readonly number[], keepDims = false): Tensor {
    return reductionsModule!.all(this, axis, keepDims);
  }
  /** The p-norm over axis (all by default), p = 2 unless given (torch's x.norm(p, dim), tf's x.norm()). */
  norm(p: number | 'fro' = 2, axis?: number | readonly number[], keepDims = false): Tensor {
    return extraModule!.norm(this, p, axis, keepDims);
  }
  /** value where mask is nonzero (torch's x.masked_fill(mask, value)). */
  maskedFill(mask: Tensor, value: number): Tensor {
    return extraModule!.maskedFill(this, mask, value);
  }
  /** The lower triangle of the last two axes, from the given diagonal (torch's x.tril()). */
  tril(diagonal = 0): Tensor {
    return extraModule!.tril(this, diagonal);
  }
  /** The upper triangle of the last two axes (torch's x.triu()). */
  triu(diagonal = 0): Tensor {
    return extraModule!.triu(this, diagonal);
  }
  // Methods of lib/ops/pointwise.ts (pointwiseModule), each the function with the tensor first.
  /** atan2(this, x): the angle of (x, this) (torch's y.atan2(x)). */
  atan2(x: Tensor | number): Tensor {
    return pointwiseModule!.atan2(this, x);
  }
  /** √(this² + b²) without overflow (torch's x.hypot(b)). */
  hypot(b: Tensor | number): Tensor {
    return pointwiseModule!.hypot(this, b);
  }
  /** C's fmod, the dividend's sign (torch's x.fmod(b)). */
  fmod(b: Tensor | number): Tensor {
    return pointwiseModule!.fmod(this, b);
  }
  /** |this| with b's sign bit (torch's x.copysign(b)). */
  copysign(b: Tensor | number): Tensor {
    return pointwiseModule!.copysign(this, b);
  }
  /** this · ln y, 0 where this is 0 (torch's x.xlogy(y)). */
  xlogy(y: Tensor | number): Tensor {
    return pointwiseModule!.xlogy(this, y);
  }
  /** ln(e^this + e^b) (torch's x.logaddexp(b)). */
  logaddexp(b: Tensor | number): Tensor {
    return pointwiseModule!.logaddexp(this, b);
  }
  /** log₂(2^this + 2^b) (torch's x.logaddexp2(b)). */
  logaddexp2(b: Tensor | number): Tensor {
    return pointwiseModule!.logaddexp2(this, b);
  }
  /** this + weight·(end − this) (torch's x.lerp(end, weight)). */
  lerp(end: Tensor, weight: Tensor | number): Tensor {
    return pointwiseModule!.lerp(this, end, weight);
  }
  /** max(this, min) (torch's x.clamp_min(min)). */
  clampMin(min: Tensor | number): Tensor {
    return pointwiseModule!.clampMin(this, min);
  }
  /** min(this, max) (torch's x.clamp_max(max)). */
  clampMax(max: Tensor | number): Tensor {
    return pointwiseModule!.clampMax(this, max);
  }
  /** ln|Γ(this)| (torch's x.lgamma()). */
  lgamma(): Tensor {
    return pointwiseModule!.lgamma(this);
  }
  /** ψ(this) (torch's x.digamma()). */
  digamma(): Tensor {
    return pointwiseModule!.digamma(this);
  }
  /** ψ⁽ⁿ⁾(this) (torch's x.polygamma(n)). */
  polygamma(n: number): Tensor {
    return pointwiseModule!.polygamma(n, this);
  }
  /** erf⁻¹(this) (torch's x.erfinv()). */
  erfinv(): Tensor {
    return pointwiseModule!.erfinv(this);
  }
  /** sin(π this)/(π this), 1 at 0 (torch's x.sinc()). */
  sinc(): Tensor {
    return pointwiseModule!.sinc(this);
  }
  /** Degrees to radians (torch's x.deg2rad()). */
  deg2rad(): Tensor {
    return pointwiseModule!.deg2rad(this);
  }
  /** Radians to degrees (torch's x.rad2deg()). */
  rad2deg(): Tensor {
    return pointwiseModule!.rad2deg(this);
  }
  /** this − trunc(this) (torch's x.frac()). */
  frac(): Tensor {
    return pointwiseModule!.frac(this);
  }
  /** NaN and ±inf replaced (torch's x.nan_to_num()). */
  nanToNum(options?: { nan?: number; posinf?: number; neginf?: number }): Tensor {
    return pointwiseModule!.nanToNum(this, options);
  }
  /** The Heaviside step with values at 0 (torch's x.heaviside(values)). */
  heaviside(values: Tensor | number): Tensor {
    return pointwiseModule!.heaviside(this, values);
  }
  /** 1 where the sign bit is set, else 0 (torch's x.signbit(), as a number tensor). */
  signbit(): Tensor {
    return pointwiseModule!.signbit(this);
  }
  /** this ** exponent in float64 (torch's x.float_power(exponent)). */
  floatPower(exponent: Tensor | number): Tensor {
    return pointwiseModule!.floatPower(this, exponent);
  }
  // (end of pointwise methods)

  // Methods of lib/ops/statistics.ts (statisticsModule), each the function with the tensor first.
  /** The largest element over axis, ties sharing the gradient (torch's x.amax()). */
  amax(axis?: number | readonly number[], keepDims = false): Tensor {
    return statisticsModule!.amax(this, axis, keepDims);
  }
  /** The smallest element over axis (torch's x.amin()). */
  amin(axis?: number | readonly number[], keepDims = false): Tensor {
    return statisticsModule!.amin(this, axis, keepDims);
  }
  /** `{ min, max }` over one axis or all (torch's x.aminmax()). */
  aminmax(axis?: number, keepDims = false): { min: Tensor; max: Tensor } {
    return statisticsModule!.aminmax(this, axis, keepDims);
  }
  /** The sum with NaNs as 0 (torch's x.nansum()). */
  nansum(axis?: number | readonly number[], keepDims = false): Tensor {
    return statisticsModule!.nansum(this, axis, keepDims);
  }
  /** The mean of the non-NaN elements (torch's x.nanmean()). */
  nanmean(axis?: number | readonly number[], keepDims = false): Tensor {
    return statisticsModule!.nanmean(this, axis, keepDims);
  }
  /** How many elements are not 0, int32 (torch's x.count_nonzero()). */
  countNonzero(axis?: number | readonly number[]): Tensor {
    return statisticsModule!.countNonzero(this, axis);
  }
  /** log Σ_{j ≤ i} exp along axis, without overflow (torch's x.logcumsumexp(dim)). */
  logcumsumexp(axis: number): Tensor {
    return statisticsModule!.logcumsumexp(this, axis);
  }
  /** The running maximum and where it was (torch's x.cummax(dim)). */
  cummax(axis: number): { values: Tensor; indices: Tensor } {
    return statisticsModule!.cummax(this, axis);
  }
  /** The running minimum and where it was (torch's x.cummin(dim)). */
  cummin(axis: number): { values: Tensor; indices: Tensor } {
    return statisticsModule!.cummin(this, axis);
  }
  /** The n-th forward difference along axis (torch's x.diff()). */
  diff(options?: StatisticsModule.DiffOptions): Tensor {
    return statisticsModule!.diff(this, options);
  }
  /** The lower median of all elements, or `{ values, indices }` along axis (torch's x.median()). */
  median(): Tensor;
  median(axis: number, keepDims?: boolean): { values: Tensor; indices: Tensor };
  median(axis?: number, keepDims = false): Tensor | { values: Tensor; indices: Tensor } {
    return axis === undefined ? statisticsModule!.median(this) : statisticsModule!.median(this, axis, keepDims);
  }
  /** median() ignoring NaNs (torch's x.nanmedian()). */
  nanmedian(): Tensor;
  nanmedian(axis: number, keepDims?: boolean): { values: Tensor; indices: Tensor };
  nanmedian(axis?: number, keepDims = false): Tensor | { values: Tensor; indices: Tensor } {
    return axis === undefined ? statisticsModule!.nanmedian(this) : statisticsModule!.nanmedian(this, axis, keepDims);
  }
  /** The k-th smallest element along axis and its index (torch's x.kthvalue(k)). */
  kthvalue(k: number, axis = -1, keepDims = false): { values: Tensor; indices: Tensor } {
    return statisticsModule!.kthvalue(this, k, axis, keepDims);
  }
  /** The most frequent value along axis and its index (torch's x.mode()). */
  mode(axis = -1, keepDims = false): { values: Tensor; indices: Tensor } {
    return statisticsModule!.mode(this, axis, keepDims);
  }
  /** The q-quantiles (torch's x.quantile(q)). */
  quantile(q: number | Tensor, options?: StatisticsModule.QuantileOptions): Tensor {
    return statisticsModule!.quantile(this, q, options);
  }
  /** The q-quantiles of the non-NaN elements (torch's x.nanquantile(q)). */
  nanquantile(q: number | Tensor, options?: StatisticsModule.QuantileOptions): Tensor {
    return statisticsModule!.nanquantile(this, q, options);
  }
  /** The covariance matrix of the rows (torch's x.cov()). */
  cov(options?: StatisticsModule.CovOptions): Tensor {
    return statisticsModule!.cov(this, options);
  }
  /** Pearson's correlation coefficients of the rows (torch's x.corrcoef()). */
  corrcoef(): Tensor {
    return statisticsModule!.corrcoef(this);
  }
  /** A histogram of equal bins (torch's x.histc()). */
  histc(options?: StatisticsModule.HistcOptions): Tensor {
    return statisticsModule!.histc(this, options);
  }
  /** The count of each value of an int32 1-D tensor (torch's x.bincount()). */
  bincount(options?: { weights?: Tensor; minlength?: number }): Tensor {
    return statisticsModule!.bincount(this, options);
  }
  // (end of statistics methods)

  // Methods of lib/ops/products.ts (productsModule), each the function with the tensor first.
  /** The matrix product with a 2-D `other` (torch's x.mm(other)). */
  mm(other: Tensor): Tensor {
    return productsModule!.mm(this, other);
  }
  /** The batched matrix product with a 3-D `other` (torch's x.bmm(other)). */
  bmm(other: Tensor): Tensor {
    return productsModule!.bmm(this, other);
  }
  /** The matrix-vector product with a 1-D `vec` (torch's x.mv(vec)). */
  mv(vec: Tensor): Tensor {
    return productsModule!.mv(this, vec);
  }
  /** beta · this + alpha · (m1 @ m2) (torch's x.addmm(m1, m2)). */
  addmm(m1: Tensor, m2: Tensor, options?: ProductsModule.AddProductOptions): Tensor {
    return productsModule!.addmm(this, m1, m2, options);
  }
  /** beta · this + alpha · (mat @ vec) (torch's x.addmv(mat, vec)). */
  addmv(mat: Tensor, vec: Tensor, options?: ProductsModule.AddProductOptions): Tensor {
    return productsModule!.addmv(this, mat, vec, options);
  }
  /** beta · this + alpha · bmm(b1, b2) (torch's x.baddbmm(b1, b2)). */
  baddbmm(b1: Tensor, b2: Tensor, options?: ProductsModule.AddProductOptions): Tensor {
    return productsModule!.baddbmm(this, b1, b2, options);
  }
  /** beta · this + alpha · Σ_b b1[b] @ b2[b] (torch's x.addbmm(b1, b2)). */
  addbmm(b1: Tensor, b2: Tensor, options?: ProductsModule.AddProductOptions): Tensor {
    return productsModule!.addbmm(this, b1, b2, options);
  }
  /** The Kronecker product with `other` (torch's x.kron(other)). */
  kron(other: Tensor): Tensor {
    return productsModule!.kron(this, other);
  }
  /** The sum of the main diagonal of a 2-D tensor (torch's x.trace()). */
  trace(): Tensor {
    return productsModule!.trace(this);
  }
  /** A 1-D tensor's diagonal matrix, or a 2-D tensor's diagonal (torch's x.diag(diagonal)). */
  diag(diagonal = 0): Tensor {
    return productsModule!.diag(this, diagonal);
  }
  /** The diagonal of two axes, appended last (torch's x.diagonal(offset, dim1, dim2)). */
  diagonal(options?: ProductsModule.DiagonalOptions): Tensor {
    return productsModule!.diagonal(this, options);
  }
  /** The last axis placed on the diagonal of two new axes (torch's x.diag_embed()). */
  diagEmbed(options?: ProductsModule.DiagonalOptions): Tensor {
    return productsModule!.diagEmbed(this, options);
  }
  /** The cross product with `other` along `axis` of size 3 (torch's x.cross(other, dim), torch.linalg.cross's default axis −1). */
  cross(other: Tensor, axis = -1): Tensor {
    return productsModule!.cross(this, other, axis);
  }
  // (end of products methods)

  // Methods of lib/ops/selection.ts (selectionModule), each the function with the tensor first.
  /** torch's x.movedim(source, destination). */
  movedim(source: number | readonly number[], destination: number | readonly number[]): Tensor {
    return selectionModule!.movedim(this, source, destination);
  }
  /** torch's x.swapaxes(a, b). */
  swapaxes(axis0: number, axis1: number): Tensor {
    return selectionModule!.swapaxes(this, axis0, axis1);
  }
  /** torch's x.expand(...sizes) (−1 keeps an axis; a copy). */
  expand(...sizes: number[] | [readonly number[]]): Tensor {
    return selectionModule!.expand(this, ...sizes);
  }
  /** torch's x.repeat(...sizes). */
  repeat(...sizes: number[] | [readonly number[]]): Tensor {
    return selectionModule!.repeat(this, ...sizes);
  }
  /** torch's x.repeat_interleave(repeats, dim). */
  repeatInterleave(repeats: number | Tensor, options?: SelectionModule.RepeatInterleaveOptions): Tensor {
    return selectionModule!.repeatInterleave(this, repeats, options);
  }
  /** torch's x.rot90(k, dims). */
  rot90(k = 1, axes: readonly [number, number] = [0, 1]): Tensor {
    return selectionModule!.rot90(this, k, axes);
  }
  /** torch's x.tensor_split(indices_or_sections, dim). */
  tensorSplit(indicesOrSections: number | readonly number[] | Tensor, axis = 0): Tensor[] {
    return selectionModule!.tensorSplit(this, indicesOrSections, axis);
  }
  /** A copy of length elements along axis from start (torch's x.narrow_copy(dim, start, length)). */
  narrowCopy(axis: number, start: number, length: number): Tensor {
    return selectionModule!.narrowCopy(this, axis, start, length);
  }
  /** torch's x.take(index). */
  take(index: Tensor): Tensor {
    return selectionModule!.take(this, index);
  }
  /** torch's x.take_along_dim(indices, dim). */
  takeAlongDim(indices: Tensor, axis?: number): Tensor {
    return selectionModule!.takeAlongDim(this, indices, axis);
  }
  /** torch's x.index_add(dim, index, source, alpha=…) (out of place). */
  indexAdd(axis: number, index: Tensor, source: Tensor, options?: SelectionModule.IndexAddOptions): Tensor {
    return selectionModule!.indexAdd(this, axis, index, source, options);
  }
  /** torch's x.index_copy(dim, index, source) (out of place). */
  indexCopy(axis: number, index: Tensor, source: Tensor): Tensor {
    return selectionModule!.indexCopy(this, axis, index, source);
  }
  /** torch's x.index_fill(dim, index, value) (out of place). */
  indexFill(axis: number, index: Tensor, value: number): Tensor {
    return selectionModule!.indexFill(this, axis, index, value);
  }
  /** torch's x.scatter_reduce(dim, index, src, reduce, include_self=…) (out of place). */
  scatterReduce(axis: number, index: Tensor, src: Tensor, reduce: SelectionModule.ScatterReduction, options?: SelectionModule.ScatterReduceOptions): Tensor {
    return selectionModule!.scatterReduce(this, axis, index, src, reduce, options);
  }
  /** torch's x.masked_select(mask). */
  maskedSelect(mask: Tensor): Tensor {
    return selectionModule!.maskedSelect(this, mask);
  }
  /** torch's x.masked_scatter(mask, source) (out of place). */
  maskedScatter(mask: Tensor, source: Tensor): Tensor {
    return selectionModule!.maskedScatter(this, mask, source);
  }
  /** torch's x.nonzero() (int32 [n, rank]; with asTuple one [n] per axis). */
  nonzero(options: { asTuple: true }): Tensor[];
  nonzero(options?: { asTuple?: false }): Tensor;
  nonzero(options?: SelectionModule.NonzeroOptions): Tensor | Tensor[] {
    return selectionModule!.nonzero(this, options);
  }
  /** torch's x.argwhere(). */
  argwhere(): Tensor {
    return selectionModule!.argwhere(this);
  }
  /** torch's x.unique(…): the sorted distinct values, or {values, inverse?, counts?}. */
  unique(options: SelectionModule.UniqueOptions & ({ returnInverse: true } | { returnCounts: true })): SelectionModule.UniqueResult;
  unique(options?: SelectionModule.UniqueOptions): Tensor;
  unique(options?: SelectionModule.UniqueOptions): Tensor | SelectionModule.UniqueResult {
    return selectionModule!.unique(this, options as SelectionModule.UniqueOptions);
  }
  /** torch's x.unique_consecutive(…). */
  uniqueConsecutive(options: SelectionModule.UniqueConsecutiveOptions & ({ returnInverse: true } | { returnCounts: true })): SelectionModule.UniqueResult;
  uniqueConsecutive(options?: SelectionModule.UniqueConsecutiveOptions): Tensor;
  uniqueConsecutive(options?: SelectionModule.UniqueConsecutiveOptions): Tensor | SelectionModule.UniqueResult {
    return selectionModule!.uniqueConsecutive(this, options as SelectionModule.UniqueConsecutiveOptions);
  }
  // (end of selection methods)

  // Methods of lib/ops/construct.ts (constructModule), each the function with the tensor first.
  /** torch's x.flipud(): reversed along axis 0. */
  flipud(): Tensor {
    return constructModule!.flipud(this);
  }
  /** torch's x.fliplr(): reversed along axis 1. */
  fliplr(): Tensor {
    return constructModule!.fliplr(this);
  }
  /** torch's x.diagflat(offset): x flattened onto a diagonal of a square matrix. */
  diagflat(offset = 0): Tensor {
    return constructModule!.diagflat(this, offset);
  }
  /** torch's x.hsplit(indices_or_sections). */
  hsplit(indicesOrSections: number | readonly number[]): Tensor[] {
    return constructModule!.hsplit(this, indicesOrSections);
  }
  /** torch's x.vsplit(indices_or_sections). */
  vsplit(indicesOrSections: number | readonly number[]): Tensor[] {
    return constructModule!.vsplit(this, indicesOrSections);
  }
  /** torch's x.dsplit(indices_or_sections). */
  dsplit(indicesOrSections: number | readonly number[]): Tensor[] {
    return constructModule!.dsplit(this, indicesOrSections);
  }
  /** torch's x.unbind(dim): the slices along axis (x.unstack(axis)). */
  unbind(axis = 0): Tensor[] {
    return constructModule!.unbind(this, axis);
  }
  /** torch's x.moveaxis(source, destination) (x.movedim). */
  moveaxis(source: number | readonly number[], destination: number | readonly number[]): Tensor {
    return constructModule!.moveaxis(this, source, destination);
  }
  // (end of construct methods)

  // Methods of lib/ops/linalg-lu.ts (linalgModule), each the function with the tensor first.
  /** torch's x.det(): linalg.det(x). */
  det(): Tensor {
    return linalgModule!.det(this);
  }
  /** torch's x.slogdet(): linalg.slogdet(x), { sign, logabsdet }. */
  slogdet(): { sign: Tensor; logabsdet: Tensor } {
    return linalgModule!.slogdet(this);
  }
  /** torch's x.logdet(): linalg.logdet(x) (NaN for a negative determinant). */
  logdet(): Tensor {
    return linalgModule!.logdet(this);
  }
  /** torch's x.inverse(): linalg.inv(x). */
  inverse(): Tensor {
    return linalgModule!.inv(this);
  }
  /** torch's x.cholesky(upper = false) (torch.cholesky): linalg.cholesky(x, { upper }). */
  cholesky(upper = false): Tensor {
    return linalgModule!.cholesky(this, { upper });
  }
  /** torch's x.matrix_power(n): linalg.matrixPower(x, n). */
  matrixPower(n: number): Tensor {
    return linalgModule!.matrixPower(this, n);
  }
  // (end of linalg-lu methods)

  // Methods of lib/ops/linalg-qr.ts (linalgModule), each the function with the tensor first.
  /**
   * torch's x.qr(some = true) (torch.qr): linalg.qr(x, { mode: some ? 'reduced' : 'complete' }), { Q, R } with
   * LAPACK's signs, differentiable as linalg.qr.
   */
  qr(some = true): { Q: Tensor; R: Tensor } {
    return linalgModule!.qr(this, { mode: some ? 'reduced' : 'complete' });
  }
  // (end of linalg-qr methods)

  // Methods of lib/ops/linalg-spectral.ts (linalgModule), each the function with the tensor first.
  /**
   * torch.pinverse: the pseudo-inverse with singular values at or below rcond·σ₁ treated as 0 (linalg.pinv with
   * atol 0, rtol rcond). (x.svd(), torch's older svd returning V, is left out: use linalg.svd.)
   */
  pinverse(rcond = 1e-15): Tensor {
    return linalgModule!.pinv(this, { atol: 0, rtol: rcond });
  }
  // (end of linalg-spectral methods)

  // Methods of lib/ops/linalg-norms.ts (linalgModule), each the function with the tensor first.
  /** exp of every square matrix [..., n, n] (torch's x.matrix_exp(); antler.linalg.matrixExp). */
  matrixExp(): Tensor {
    return linalgModule!.matrixExp(this);
  }
  // (end of linalg-norms methods)

  isNaN(): Tensor {
    return extraModule!.isNaN(this);
  }
  isInf(): Tensor {
    return extraModule!.isInf(this);
  }
  isFinite(): Tensor {
    return extraModule!.isFinite(this);
  }
  logicalAnd(other: Tensor): Tensor {
    return extraModule!.logicalAnd(this, other);
  }
  logicalOr(other: Tensor): Tensor {
    return extraModule!.logicalOr(this, other);
  }
  logicalXor(other: Tensor): Tensor {
    return extraModule!.logicalXor(this, other);
  }
  logicalNot(): Tensor {
    return extraModule!.logicalNot(this);
  }
  /** 1 where |this − other| ≤ atol + rtol·|other| (torch's x.isclose(other)). */
  isClose(other: Tensor, options?: { rtol?: number; atol?: number; equalNan?: boolean }): Tensor {
    return extraModule!.isClose(this, other, options);
  }
  /** Whether every element is close to other's (torch's x.allclose(other)): a boolean. */
  allClose(other: Tensor, options?: { rtol?: number; atol?: number; equalNan?: boolean }): boolean {
    return extraModule!.allClose(this, other, options);
  }
  /** The inner product of two vectors (torch's x.dot(y)). */
  dot(other: Tensor): Tensor {
    return extraModule!.dot(this, other);
  }
  /** The outer product of two vectors (torch's x.outer(y)). */
  outer(other: Tensor): Tensor {
    return extraModule!.outer(this, other);
  }
  /** Values along axis at index (torch's x.gather(dim, index)). */
  gather(axis: number, index: Tensor): Tensor {
    return indexing().gather(this, axis, index);
  }
  /** The slices of axis named by a 1-D int32 index (torch's x.index_select(dim, index)). */
  indexSelect(axis: number, index: Tensor): Tensor {
    return indexing().indexSelect(this, axis, index);
  }
  /** The k largest (or smallest) along axis: { values, indices } (torch's x.topk(k)). */
  topk(k: number, options?: IndexingModule.TopkOptions): { values: Tensor; indices: Tensor } {
    return indexing().topk(this, k, options);
  }
  /** The slice at index along axis, the axis removed (torch's x.select(dim, index): x[:, -1] is x.select(1, -1)). */
  select(axis: number, index: number): Tensor {
    return shapeModule!.select(this, axis, index);
  }
  /**
   * The windows of `size` elements along `axis`, `step` apart, as a new last axis (torch's
   * x.unfold(dimension, size, step)): axis becomes floor((n − size)/step) + 1 long.
   */
  unfold(axis: number, size: number, step: number): Tensor {
    return signalModule!.unfold(this, axis, size, step);
  }
  /** length elements along axis from start (torch's x.narrow(dim, start, length)). */
  narrow(axis: number, start: number, length: number): Tensor {
    return shapeModule!.narrow(this, axis, start, length);
  }
  /** Pieces along axis, of the given sizes or a count of equal ones (tf's x.split). */
  split(sizes: number | readonly number[], axis = 0): Tensor[] {
    return shapeModule!.split(this, sizes, axis);
  }
  /** n pieces along axis, the last possibly smaller (torch's x.chunk(n, dim)). */
  chunk(n: number, axis = 0): Tensor[] {
    return shapeModule!.chunk(this, n, axis);
  }
  /** The slices along axis (tf's x.unstack, torch's x.unbind). */
  unstack(axis = 0): Tensor[] {
    return shapeModule!.unstack(this, axis);
  }
  /** Repeated reps[i] times along each axis (tf's x.tile, torch's x.repeat). */
  tile(reps: readonly number[]): Tensor {
    return shapeModule!.tile(this, reps);
  }
  /** Rolled by shifts along axes, or flattened when no axes are given (torch's x.roll). */
  roll(shifts: number | readonly number[], axes?: number | readonly number[]): Tensor {
    return shapeModule!.roll(this, shifts, axes);
  }
  /** Padded with [before, after] per axis (tf's x.pad). */
  pad(paddings: readonly (readonly [number, number])[], options?: { value?: number }): Tensor {
    return shapeModule!.pad(this, paddings, options);
  }
  /** Reverses the order of elements along the given axes: x.flip(0, 1) or x.flip([0, 1]) (PyTorch's flip(*dims)). */
  flip(axes: number | readonly number[], ...more: number[]): Tensor {
    return ops().flip(this, more.length ? [axes as number, ...more] : axes);
  }

  /** TensorFlow.js-style slice: begin per dim, size per dim (−1 = to the end). */
  slice(begin: readonly number[], size?: readonly number[]): Tensor {
    return ops().slice(this, begin, size);
  }

  /** Frees the tensor's memory now (and its .grad). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.share === null || --this.share.refs === 0) native().dispose(this.handle);
    if (this.gradFn) {
      const node = this.gradFn;
      this.gradFn = null;
      this.leafRequiresGrad = true; // still "requires grad" for reporting; it can no longer be used
      node.release();
    }
    this.dropGrad();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    const head = `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}`;
    if (this.disposed) return `${head}, disposed)`;
    // An empty tensor with many empty rows ([2^31, 0]) is shown without building them.
    if (this.size === 0 && numel(this.shape.slice(0, -1)) > 64) return `${head}, values=[])`;
    const float32 = this.dtype === 'float32';
    if (this.size <= 64) return `${head}, values=${formatValues(this.arraySync(), float32)})`;
    return `${head}, values=${formatValues(this.edges(), float32)})`;
  }

  /**
   * The values as nested arrays with only the first and last 3 entries of
   * each axis longer than 6 and '...' between them (PyTorch's summary), read
   * from a slice of those entries, not the whole tensor.
   */
  private edges(): unknown {
    const E = 3;
    const long = this.shape.map((d) => d > 2 * E);
    const { slice, concat } = ops();
    const made: Tensor[] = [];
    let values: NestedArray;
    isolated(() => {
      try {
        let t = this.detach();
        made.push(t);
        for (let ax = 0; ax < this.rank; ax++) {
          if (!long[ax]) continue;
          const size = t.shape.slice();
          size[ax] = E;
          const lead = slice(t, t.shape.map(() => 0), size);
          const tail = slice(t, t.shape.map((_, i) => (i === ax ? this.shape[ax] - E : 0)), size);
          made.push(lead, tail);
          t = concat([lead, tail], ax);
          made.push(t);
        }
        values = t.arraySync();
      } finally {
        for (const m of made) m.dispose();
      }
    });
    const mark = (v: NestedArray, dim: number): unknown => {
      if (!Array.isArray(v)) return v;
      const a = v.map((x) => mark(x, dim + 1));
      return long[dim] ? [...a.slice(0, E), '...', ...a.slice(E)] : a;
    };
    return mark(values!, 0);
  }

  /**
   * What console.log and util.inspect show: toString() (shape, dtype, device
   * and the values: all of them up to 64 elements, else the first and last 3
   * along each long axis) rather than the object's internals.
   * A disposed tensor shows as disposed.
   */
  [inspect.custom](): string {
    return this.toString();
  }

  /** Prints toString() to the console. */
  print(): void {
    console.log(this.toString());
  }
}

/**
 * Refuses nested arrays the JavaScript heap cannot hold (V8 ends the process, uncatchably, when
 * it runs out): counts the arrays (a [3, 2^31, 0] tensor holds no value but needs 3·2^31 empty
 * arrays) and the values, at about 8 bytes a value and 40 an array, against the heap's free room.
 */
function checkNestable(shape: readonly number[], op: string): void {
  let arrays = shape.length ? 1 : 0;
  let outer = 1;
  for (let d = 0; d + 1 < shape.length && outer > 0; d++) {
    outer *= shape[d];
    arrays += outer;
  }
  const values = numel(shape);
  const need = 8 * values + 40 * arrays;
  if (need < 2 ** 24) return; // small reads (toString's, a loop's) skip the heap query
  const room = getHeapStatistics().total_available_size;
  // Building them takes transient room too (measured in a heap with 299 MiB free: 24M values fit, 28M, about 213 MiB by this count, ended the process).
  if (need > 0.6 * room)
    fail(
      'OUT_OF_MEMORY',
      `${op}: a tensor of shape [${shape.join(', ')}] as nested arrays needs ${arrays.toLocaleString('en-US')} arrays and ${values.toLocaleString('en-US')} numbers, about ${(need / 2 ** 20).toFixed(0)} MiB of JavaScript heap; ${(room / 2 ** 20).toFixed(0)} MiB is free, and building arrays takes about as much again while they grow (60% of the free heap is the limit): read it flat with dataSync(), or in slices`,
    );
}

function nest(data: TypedArray, shape: readonly number[]): NestedArray {
  if (shape.length === 0) return data[0];
  const build = (offset: number, dim: number): NestedArray[] => {
    const n = shape[dim];
    if (dim === shape.length - 1) return Array.from(data.subarray(offset, offset + n));
    const stride = numel(shape.slice(dim + 1));
    const out: NestedArray[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = build(offset + i * stride, dim + 1);
    return out;
  };
  return build(0, 0);
}

/**
 * The addon makes its typed arrays in Node's main realm; code running in
 * another (jest's vm context, where `instanceof Float32Array` and toEqual
 * against a Float32Array fail) gets a view of the same memory made with its
 * own realm's constructor. No copy.
 */
function ownRealm(a: TypedArray): TypedArray {
  if (a instanceof Float32Array || a instanceof Float64Array || a instanceof Int32Array) return a;
  const foreign = a as ArrayBufferView & { length: number };
  const tag = Object.prototype.toString.call(foreign);
  const Ctor = tag === '[object Float64Array]' ? Float64Array : tag === '[object Int32Array]' ? Int32Array : Float32Array;
  return new Ctor(foreign.buffer as ArrayBuffer, foreign.byteOffset, foreign.length);
}

function arrayFor(dtype: DType, n: number): TypedArray {
  return dtype === 'float64' ? new Float64Array(n) : dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
}

// By tag, not instanceof, so typed arrays from another realm (vm, workers' copies) are recognised.
function dtypeOfTyped(v: ArrayBufferView): DType | undefined {
  const tag = Object.prototype.toString.call(v);
  if (tag === '[object Float32Array]') return 'float32';
  if (tag === '[object Float64Array]') return 'float64';
  if (tag === '[object Int32Array]') return 'int32';
  return undefined;
}

/** Infers the shape of nested arrays and checks they are rectangular numbers. */
function inferShape(values: unknown, op: string): number[] {
  const shape: number[] = [];
  let v = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (shape.length > 8) fail('INVALID_ARGUMENT', `${op}: nested arrays deeper than 8 levels are not supported`);
    v = v[0];
  }
  return shape;
}

function flattenInto(values: unknown, shape: number[], dim: number, out: TypedArray, pos: { i: number }, op: string, path: string): void {
  if (dim === shape.length) {
    if (Array.isArray(values))
      fail('SHAPE_MISMATCH', `${op}: ragged nested array: element ${path} is an array of length ${values.length}; expected a number, as at ${'[0]'.repeat(dim)}`);
    if (typeof values !== 'number')
      fail('INVALID_ARGUMENT', `${op}: element ${path || '[]'} must be a number; got ${describe(values)}`);
    out[pos.i++] = values;
    return;
  }
  if (!Array.isArray(values) || values.length !== shape[dim])
    fail('SHAPE_MISMATCH', `${op}: ragged nested array: element ${path || '[]'} ${Array.isArray(values) ? `has length ${values.length}` : typeof values === 'number' ? `is the number ${describe(values)}` : `is ${describe(values)}`}; expected an array of length ${shape[dim]}`);
  for (let i = 0; i < values.length; i++) flattenInto(values[i], shape, dim + 1, out, pos, op, `${path}[${i}]`);
}

function checkIntegral(values: ArrayLike<number>, op: string): void {
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!Number.isInteger(x) || x < -2147483648 || x > 2147483647)
      fail('INVALID_ARGUMENT', `${op}: value ${describe(x)} at index ${i} is not an int32; expected integers in [-2^31, 2^31)`);
  }
}

/**
 * The dims of reshape/view/permute, given as one array (`x.reshape([2, 3])`, TensorFlow.js's
 * way) or as numbers (`x.reshape(2, 3)`, PyTorch's); anything else is refused here. One
 * non-array argument is passed on as it is, for the op's own check to name it.
 */
function dimsArgument(args: readonly (number | readonly number[])[], op: string, what: string, example: string): readonly number[] {
  if (args.length === 1) return (typeof args[0] === 'number' ? [args[0]] : args[0]) as readonly number[];
  if (args.length === 0 || args.some((d) => typeof d !== 'number'))
    fail('INVALID_ARGUMENT', `${op}: expected ${what}, as numbers (x.${op}(${example})) or one array (x.${op}([${example}])); got ${args.length ? args.map(describe).join(', ') : 'nothing'}`);
  return args as number[];
}

/** @internal A creation function's options: dtype (defaultDtype when none is given; undefined: the op decides), device, the rest, and requiresGrad applied (refused for int32). */
export function resolveCreate(
  options: unknown,
  op: string,
  extra: readonly string[] = [],
  defaultDtype?: DType,
): { dtype?: DType; device: string; rest: Record<string, unknown>; grad: (t: Tensor) => Tensor } {
  if (typeof options === 'string' && (DTYPES as readonly string[]).includes(options))
    fail('INVALID_ARGUMENT', `${op}: options must be an object; got '${options}' (the dtype goes in the options: { dtype: '${options}' })`);
  // randn(2, 3), PyTorch's way: the shape's dims as arguments.
  if (typeof options === 'number' && ['zeros', 'ones', 'rand', 'randn'].includes(op))
    fail('INVALID_ARGUMENT', `${op}: options must be an object; got ${describe(options)} (the shape is one array, as ${op}([2, 3]), and the options come after it)`);
  const o = checkOptions<RandomOptions & Record<string, unknown>>(options, op, ['dtype', 'device', 'requiresGrad', ...extra]);
  const dtype = o.dtype === undefined ? defaultDtype : checkDtype(o.dtype, op);
  const device = o.device === undefined ? getDefaultDevice() : checkDevice(o.device, op);
  const requiresGrad = o.requiresGrad === undefined ? false : checkBoolean(o.requiresGrad, op, 'requiresGrad');
  if (requiresGrad && dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: int32 tensors cannot require gradients`);
  const grad = (t: Tensor): Tensor => (requiresGrad ? t.requiresGrad_(true) : t);
  return { dtype, device, rest: o as Record<string, unknown>, grad };
}

/**
 * Creates a tensor from a typed array, a (nested) array of numbers or a
 * number. The dtype defaults to the typed array's, else float32.
 */
export function tensor(values: TensorLike, shape?: readonly number[], options?: CreateOptions): Tensor {
  const op = 'tensor';
  if (typeof shape === 'string' && (DTYPES as readonly string[]).includes(shape))
    fail('INVALID_ARGUMENT', `${op}: the second argument is the shape; got '${shape}' (the dtype goes in the options: tensor(values, undefined, { dtype: '${shape}' }))`);
  // torch.tensor(data, dtype=…)'s habit: the options in the shape's place.
  if (shape !== null && typeof shape === 'object' && !Array.isArray(shape) && !ArrayBuffer.isView(shape)) {
    const keys = Object.keys(shape);
    if (keys.length && keys.every((k) => ['dtype', 'device', 'requiresGrad'].includes(k)))
      fail('INVALID_ARGUMENT', `${op}: the second argument is the shape; got the options {${keys.join(', ')}} (they go third: tensor(values, undefined, { ${keys.join(', ')} }))`);
  }
  const { dtype: requested, device, grad } = resolveCreate(options, op);
  const given = shape === undefined ? undefined : checkShape(shape, op);
  let data: TypedArray;
  let inferred: number[];
  if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
    const typed = values as unknown as ArrayLike<number> & ArrayBufferView;
    if (/Big(Int|Uint)64Array/.test(Object.prototype.toString.call(typed)))
      fail('DTYPE_MISMATCH', `${op}: BigInt arrays are not supported; expected Float32Array, Float64Array or Int32Array`);
    const dtype = requested ?? dtypeOfTyped(typed) ?? 'float32';
    // N-API cannot read a typed array on a SharedArrayBuffer: such data is copied like a conversion.
    if (dtypeOfTyped(typed) === dtype && Object.prototype.toString.call(typed.buffer) !== '[object SharedArrayBuffer]') {
      data = typed as TypedArray;
    } else {
      if (dtype === 'int32') checkIntegral(typed, op);
      data = arrayFor(dtype, typed.length);
      data.set(typed as ArrayLike<number>);
    }
    inferred = [typed.length];
  } else if (typeof values === 'number') {
    const dtype = requested ?? 'float32';
    data = arrayFor(dtype, 1);
    if (dtype === 'int32') checkIntegral([values], op);
    data[0] = values;
    inferred = [];
  } else if (Array.isArray(values)) {
    inferred = inferShape(values, op);
    const dtype = requested ?? 'float32';
    const n = numel(inferred);
    data = arrayFor(dtype, n);
    const flat = dtype === 'int32' ? new Float64Array(n) : data;
    flattenInto(values, inferred, 0, flat, { i: 0 }, op, '');
    if (dtype === 'int32') {
      checkIntegral(flat, op);
      data.set(flat);
    }
  } else {
    fail('INVALID_ARGUMENT', `${op}: values must be a typed array, an array of numbers or a number; got ${describe(values)}`);
  }
  // A shape regroups flat values only: nested arrays must already have it, except that their last
  // level may be split over the shape's remaining axes (as TensorFlow.js allows).
  if (given && inferred.length > 1) {
    const last = inferred.length - 1;
    const fits = given.length >= inferred.length && inferred.slice(0, last).every((d, i) => d === given[i]) &&
      numel(given.slice(last)) === inferred[last];
    if (!fits)
      fail('SHAPE_MISMATCH', `${op}: the nested arrays have shape [${inferred.join(', ')}], not the given shape [${given.join(', ')}]; pass flat values (or reshape) to regroup them`);
  }
  const finalShape = given ?? inferred;
  const count = numel(finalShape);
  if (count !== data.length)
    fail('SHAPE_MISMATCH', `${op}: ${data.length} values were given for shape [${finalShape.join(', ')}], which needs ${count}`);
  return grad(new Tensor(native().fromData(data, finalShape, dtypeOfTyped(data)!, device)));
}

/** A tensor of the given shape filled with value. */
export function full(shape: readonly number[], value: number, options?: CreateOptions): Tensor {
  const { dtype, device, grad } = resolveCreate(options, 'full');
  if (typeof value !== 'number') fail('INVALID_ARGUMENT', `full: value must be a number; got ${describe(value)}`);
  return grad(new Tensor(native().full(checkShape(shape, 'full'), dtype ?? 'float32', device, value)));
}

export function zeros(shape: readonly number[], options?: CreateOptions): Tensor {
  const { dtype, device, grad } = resolveCreate(options, 'zeros');
  return grad(new Tensor(native().full(checkShape(shape, 'zeros'), dtype ?? 'float32', device, 0)));
}

export function ones(shape: readonly number[], options?: CreateOptions): Tensor {
  const { dtype, device, grad } = resolveCreate(options, 'ones');
  return grad(new Tensor(native().full(checkShape(shape, 'ones'), dtype ?? 'float32', device, 1)));
}

/** A value full() can store in dtype: int32 takes integers in its range only. */
function checkFillValue(value: unknown, dtype: DType, op: string): number {
  if (typeof value !== 'number') fail('INVALID_ARGUMENT', `${op}: value must be a number; got ${describe(value)}`);
  if (dtype === 'int32' && !(Number.isInteger(value) && value >= -2147483648 && value <= 2147483647))
    fail('INVALID_ARGUMENT', `${op}: the value ${describe(value)} is not an int32 (an integer in [-2147483648, 2147483647]); cast the tensor to float32 or float64, or pass { dtype: 'float32' }`);
  return value;
}

/** Shape of t; dtype and device of t unless options say (torch.*_like's dtype, device and requires_grad). */
function like(t: Tensor, options: unknown, op: string, value: number | null): Tensor {
  checkTensor(t, op, 'its first argument');
  const o = checkOptions<CreateOptions>(options, op, ['dtype', 'device', 'requiresGrad']);
  const dtype = o.dtype === undefined ? t.dtype : checkDtype(o.dtype, op);
  const device = o.device === undefined ? t.device : checkDevice(o.device, op);
  const requiresGrad = o.requiresGrad === undefined ? false : checkBoolean(o.requiresGrad, op, 'requiresGrad');
  if (requiresGrad && dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: int32 tensors cannot require gradients`);
  const v = value === null ? 0 : checkFillValue(value, dtype, op);
  return full(t.shape, v, { dtype, device, requiresGrad });
}

/** zeros/ones with the shape, dtype and device of t (options override dtype and device, as torch.zeros_like's). */
export function zerosLike(t: Tensor, options?: CreateOptions): Tensor {
  return like(t, options, 'zerosLike', 0);
}
export function onesLike(t: Tensor, options?: CreateOptions): Tensor {
  return like(t, options, 'onesLike', 1);
}
/** full() with the shape, dtype and device of t (torch.full_like; options override dtype and device). */
export function fullLike(t: Tensor, value: number, options?: CreateOptions): Tensor {
  return like(t, options, 'fullLike', value);
}

/**
 * Values from start (inclusive) to stop (exclusive) by step, as in
 * PyTorch's torch.arange / TensorFlow.js's tf.range. arange(n) counts 0..n-1.
 * float32 unless options.dtype says otherwise, as tf.range and antler's
 * tensor() (torch.arange of integers gives int64): pass {dtype: 'int32'}
 * for indices.
 */
export function arange(start: number, stop?: number, step = 1, options?: CreateOptions): Tensor {
  const { dtype, device, grad } = resolveCreate(options, 'arange');
  let lo = checkFinite(start, 'arange', 'start');
  let hi: number;
  if (stop === undefined) {
    hi = lo;
    lo = 0;
  } else hi = checkFinite(stop, 'arange', 'stop');
  checkFinite(step, 'arange', 'step');
  if (step === 0) fail('INVALID_ARGUMENT', 'arange: step must not be 0');
  return grad(new Tensor(native().arange(lo, hi, step, dtype ?? 'float32', device)));
}

/**
 * Uniform values in [minval, maxval) (default [0, 1)); int32 gives integers.
 * The same seed gives the same numbers on every run and on CPU and CUDA.
 */
export function rand(shape: readonly number[], options?: RandomOptions & { minval?: number; maxval?: number }): Tensor {
  const { dtype, device, rest, grad } = resolveCreate(options, 'rand', ['seed', 'minval', 'maxval']);
  const minval = rest.minval === undefined ? 0 : checkFinite(rest.minval, 'rand', 'minval');
  const maxval = rest.maxval === undefined ? (dtype === 'int32' ? 2 ** 31 - 1 : 1) : checkFinite(rest.maxval, 'rand', 'maxval');
  if (maxval < minval) fail('INVALID_ARGUMENT', `rand: maxval ${maxval} is below minval ${minval}`);
  const s = checkShape(shape, 'rand');
  const { seed, stream } = nextDraw(rest.seed as number | undefined, 'rand');
  return grad(new Tensor(native().random(s, dtype ?? 'float32', device, false, minval, maxval, seed, stream)));
}

/** randint's and randperm's int32 draw in the dtype asked (a float one may require grad); frees the draw. */
function intsAs(ints: Tensor, dtype: DType, grad: (t: Tensor) => Tensor): Tensor {
  if (dtype === 'int32') return ints;
  try {
    return grad(ints.cast(dtype));
  } finally {
    ints.dispose();
  }
}

/**
 * torch.randint: integers drawn uniformly from [low, high) (low 0 when only high is given),
 * int32 unless another dtype is asked: randint(high, shape) or randint(low, high, shape),
 * with −2^31 ≤ low < high < 2^31 (int32's range). rand's int32 draw: the same seed gives the same numbers on CPU and CUDA.
 */
export function randint(high: number, shape: readonly number[], options?: RandomOptions): Tensor;
export function randint(low: number, high: number, shape: readonly number[], options?: RandomOptions): Tensor;
export function randint(...args: unknown[]): Tensor {
  const op = 'randint';
  const [low, high, shape, options] = typeof args[1] === 'number' ? args : [0, ...args];
  const bound = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 31 - 1)
      fail('INVALID_ARGUMENT', `${op}: ${what} must be an integer in [-2^31, 2^31); got ${describe(v)} (randint(high, shape) or randint(low, high, shape))`);
    return v;
  };
  const lo = bound(low, 'low'), hi = bound(high, 'high');
  if (lo >= hi) fail('INVALID_ARGUMENT', `${op}: low ${lo} must be below high ${hi} (the values are drawn from [low, high))`);
  const { dtype, device, rest, grad } = resolveCreate(options, op, ['seed'], 'int32');
  const s = checkShape(shape, op);
  const { seed, stream } = nextDraw(rest.seed as number | undefined, op);
  return intsAs(new Tensor(native().random(s, 'int32', device, false, lo, hi, seed, stream)), dtype!, grad);
}

/**
 * torch.randperm: a random permutation of 0 … n − 1, int32 unless another dtype is asked.
 * Every order is equally likely: float64 keys of 53 random bits each, sorted stably.
 */
export function randperm(n: number, options?: RandomOptions): Tensor {
  const op = 'randperm';
  const { dtype, device, rest, grad } = resolveCreate(options, op, ['seed'], 'int32');
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) fail('INVALID_ARGUMENT', `${op}: n must be an integer in [0, 2^31); got ${describe(n)}`);
  const { seed, stream } = nextDraw(rest.seed as number | undefined, op);
  const keys = new Tensor(native().random([n], 'float64', device, false, 0, 1, seed, stream));
  let order: Tensor;
  try {
    order = indexing().argsort(keys, { stable: true });
  } finally {
    keys.dispose();
  }
  return intsAs(order, dtype!, grad);
}

/** Normal values with the given mean and stddev (default 0, 1); float dtypes only. */
export function randn(shape: readonly number[], options?: Omit<RandomOptions, 'dtype'> & { dtype?: 'float32' | 'float64'; mean?: number; stddev?: number }): Tensor {
  const { dtype, device, rest, grad } = resolveCreate(options, 'randn', ['seed', 'mean', 'stddev']);
  if (dtype === 'int32') fail('DTYPE_MISMATCH', "randn: dtype int32 is not supported; expected 'float32' or 'float64'");
  const mean = rest.mean === undefined ? 0 : checkFinite(rest.mean, 'randn', 'mean');
  const stddev = rest.stddev === undefined ? 1 : checkFinite(rest.stddev, 'randn', 'stddev');
  if (stddev < 0) fail('INVALID_ARGUMENT', `randn: stddev must be >= 0; got ${stddev}`);
  const s = checkShape(shape, 'randn');
  const { seed, stream } = nextDraw(rest.seed as number | undefined, 'randn');
  return grad(new Tensor(native().random(s, dtype ?? 'float32', device, true, mean, stddev, seed, stream)));
}

/** @internal */
export function checkTensor(t: unknown, op: string, what: string): Tensor {
  if (!(t instanceof Tensor)) {
    const other = t !== null && typeof t === 'object' && (t as object).constructor?.name === 'Tensor';
    fail('INVALID_ARGUMENT', `${op}: ${what} must be a Tensor; got ${describe(t)}${other ? ' of another copy of antler (loaded twice: a cleared require cache, jest.resetModules, two installs); use one copy' : ''}`);
  }
  // Named, so a call with several tensors (a state dict's keys, an op's operands) says which one.
  if (t.isDisposed) fail('DISPOSED', `${op}: ${what} (shape [${t.shape.join(', ')}], ${t.dtype}) has been disposed`);
  // Made with Object.create(Tensor.prototype), not by the library: no native tensor behind it.
  if ((t as { handle?: unknown }).handle === undefined) fail('INVALID_ARGUMENT', `${op}: ${what} is not a tensor the library made (it has no data)`);
  return t;
}

export { AntlerError };

/**
 * Nested values as JSON would write them, but with NaN, Infinity, -Infinity
 * and -0 shown (JSON writes null and 0), and float32 values with the fewest
 * digits that read back as the same float32 (0.1, not 0.10000000149011612).
 */
function formatValues(v: unknown, float32 = false): string {
  if (Array.isArray(v)) return `[${v.map((x) => formatValues(x, float32)).join(',')}]`;
  if (typeof v === 'number') {
    if (Object.is(v, -0)) return '-0';
    if (float32 && Number.isFinite(v))
      for (let p = 1; p <= 9; p++) {
        const shortest = Number(v.toPrecision(p));
        if (Math.fround(shortest) === v) return String(shortest);
      }
    return String(v);
  }
  if (v === '...') return v;
  return JSON.stringify(v);
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
opsModule = require('./ops/core') as typeof OpsModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
indexingModule = require('./ops/indexing') as typeof IndexingModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
shapeModule = require('./ops/shape') as typeof ShapeOpsModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
nnOpsModule = require('./ops/nn') as typeof NnOpsModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
extraModule = require('./ops/extra') as typeof ExtraOpsModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
reductionsModule = require('./ops/reductions') as typeof ReductionsModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
pointwiseModule = require('./ops/pointwise') as typeof PointwiseModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
statisticsModule = require('./ops/statistics') as typeof StatisticsModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
productsModule = require('./ops/products') as typeof ProductsModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
selectionModule = require('./ops/selection') as typeof SelectionModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
constructModule = require('./ops/construct') as typeof ConstructModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
signalModule = require('./ops/signal') as typeof SignalModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
linalgModule = require('./ops/linalg') as typeof LinalgModule;
