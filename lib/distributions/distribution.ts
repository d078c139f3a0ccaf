/**
 * The base of `antler.distributions` (PyTorch's torch.distributions.Distribution):
 * batch and event shapes, sampling (`sample`, reparameterised `rsample`),
 * `logProb`, `cdf`/`icdf`, `entropy`, moments, `expand`, argument and
 * support validation, and the tensor bookkeeping the library's handles need.
 *
 * Parameters are kept as given when they already have the batch shape
 * (gradients flow back to them); numbers, int32 tensors and tensors that must
 * be broadcast become tensors the distribution owns, freed by `dispose()`.
 * Every method returns new tensors that belong to the caller (or the
 * enclosing `tidy()`), as every op does.
 */
import { Tensor, tensor } from '../tensor';
import { tidy, HELD_TENSORS } from '../engine';
import { fail } from '../errors';
import { broadcastShapes, describe, shapeText } from '../validate';
import { broadcastTo, exp, readNumbers, sqrt } from '../ops/core';
import { all } from '../ops/reductions';
import { noGrad } from '../autograd/graph';
import { getDefaultDevice } from '../device';
import type { Constraint } from './constraints';

let defaultValidateArgs = true;

/**
 * Whether distributions check their arguments (and logProb its values)
 * unless told otherwise (torch's Distribution.set_default_validate_args;
 * default true). The checks read one value from the device per parameter.
 */
export function setDefaultValidateArgs(value: boolean): void {
  if (typeof value !== 'boolean') fail('INVALID_ARGUMENT', `setDefaultValidateArgs: expected a boolean; got ${describe(value)}`);
  defaultValidateArgs = value;
}

/** @internal */
export function validateArgsDefault(): boolean {
  return defaultValidateArgs;
}

export interface DistributionOptions {
  /** Check the parameters now and logProb's values later (default: setDefaultValidateArgs, true). */
  validateArgs?: boolean;
}

export interface SampleOptions {
  /** Makes the draw repeatable: the same seed gives the same values (on CPU and CUDA for the same dtype). */
  seed?: number;
}

export type Param = Tensor | number;

/** @internal The shapes a sample takes: sampleShape then batch then event. */
export function checkSampleShape(sampleShape: unknown, op: string): number[] {
  if (!Array.isArray(sampleShape) || !sampleShape.every((d) => Number.isInteger(d) && d >= 0))
    fail('INVALID_ARGUMENT', `${op}: sampleShape must be an array of nonnegative integers; got ${describe(sampleShape)}`);
  return sampleShape as number[];
}

export abstract class Distribution {
  /** The shape of the independent draws a single sample() holds (the parameters' broadcast shape). */
  readonly batchShape: number[];
  /** The shape of one event (one draw): [] for univariate distributions. */
  readonly eventShape: number[];
  /** Whether rsample() exists (reparameterised samples that carry gradients to the parameters). */
  readonly hasRsample: boolean = false;
  /** Whether enumerateSupport() exists (finite discrete support). */
  readonly hasEnumerateSupport: boolean = false;
  /** @internal Whether arguments and logProb values are checked. */
  protected readonly validateArgs: boolean;
  /** @internal Tensors this distribution made (broadcast or converted parameters). */
  protected readonly owned: Tensor[] = [];
  /** @internal Every parameter tensor it holds, owned or the caller's (kept alive by a tidy() returning it). */
  protected readonly held: Tensor[] = [];

  /**
   * Subclasses set the shapes with setShapes() (broadcastParams sets the
   * batch shape to the parameters' broadcast shape).
   */
  constructor(options?: DistributionOptions) {
    this.batchShape = [];
    this.eventShape = [];
    if (options !== undefined && (options === null || typeof options !== 'object'))
      fail('INVALID_ARGUMENT', `${this.name}: options must be an object; got ${describe(options)}`);
    const v = options?.validateArgs;
    if (v !== undefined && typeof v !== 'boolean') fail('INVALID_ARGUMENT', `${this.name}: validateArgs must be a boolean; got ${describe(v)}`);
    this.validateArgs = v ?? defaultValidateArgs;
  }

  /** @internal Sets batchShape and eventShape. */
  protected setShapes(batchShape: readonly number[], eventShape: readonly number[] = this.eventShape): void {
    (this as { batchShape: number[] }).batchShape = [...batchShape];
    (this as { eventShape: number[] }).eventShape = [...eventShape];
  }

  /** The name used in error messages (the class name). */
  protected get name(): string {
    return this.constructor.name;
  }

  /** The values samples take (and logProb accepts). */
  abstract get support(): Constraint;

  /** The constraint each parameter must satisfy, by parameter name (checked when validateArgs). */
  get argConstraints(): Record<string, Constraint> {
    return {};
  }

  /** @internal Set by broadcastParams. */
  protected paramDtype: 'float32' | 'float64' = 'float32';
  /** @internal Set by broadcastParams (the default device until then). */
  protected paramDevice: string = getDefaultDevice();
  /** The dtype of the parameters and samples. */
  get dtype(): 'float32' | 'float64' {
    return this.paramDtype;
  }
  /** The device of the parameters and samples. */
  get device(): string {
    return this.paramDevice;
  }

  get mean(): Tensor {
    return this.notSupported('mean');
  }
  get mode(): Tensor {
    return this.notSupported('mode');
  }
  get variance(): Tensor {
    return this.notSupported('variance');
  }
  get stddev(): Tensor {
    return tidy(() => sqrt(this.variance));
  }

  /**
   * Draws of shape [...sampleShape, ...batchShape, ...eventShape], without
   * gradients. Distributions with rsample() sample through it.
   */
  sample(sampleShape: readonly number[] = [], options?: SampleOptions): Tensor {
    if (!this.hasRsample) return this.notSupported('sample');
    return noGrad(() => this.rsample(sampleShape, options));
  }

  /** Reparameterised draws: differentiable with respect to the parameters. */
  rsample(_sampleShape: readonly number[] = [], _options?: SampleOptions): Tensor {
    return this.notSupported('rsample', ' (it has no reparameterised sampler; use sample(), or a score-function estimator with logProb)');
  }

  /** The log density (or log mass) of value, of shape broadcast(value less event dims, batchShape). */
  logProb(_value: Tensor): Tensor {
    return this.notSupported('logProb');
  }
  /** P(X ≤ value). */
  cdf(_value: Tensor): Tensor {
    return this.notSupported('cdf');
  }
  /** The inverse of cdf: the value with P(X ≤ value) = p. */
  icdf(_p: Tensor): Tensor {
    return this.notSupported('icdf');
  }
  /** The entropy in nats, of shape batchShape. */
  entropy(): Tensor {
    return this.notSupported('entropy');
  }
  /** exp(entropy). */
  perplexity(): Tensor {
    return tidy(() => exp(this.entropy()));
  }
  /**
   * Every value of a finite discrete support, along a new leading axis:
   * [n, ...batchShape, ...eventShape], or [n, 1, …, 1, ...eventShape] when expand is false.
   */
  enumerateSupport(_expand = true): Tensor {
    return this.notSupported('enumerateSupport');
  }
  /** The same distribution with its parameters broadcast to batchShape. */
  expand(_batchShape: readonly number[]): Distribution {
    return this.notSupported('expand');
  }

  /** Frees the tensors this distribution made; tensors passed in stay the caller's. */
  dispose(): void {
    for (const t of this.owned) if (!t.isDisposed) t.dispose();
    this.owned.length = 0;
  }

  /** @internal tidy() keeps the parameter tensors of a distribution it returns. */
  [HELD_TENSORS](): Tensor[] {
    return this.held;
  }

  /** [...sampleShape, ...batchShape, ...eventShape]. */
  protected extendedShape(sampleShape: readonly number[] = []): number[] {
    return [...checkSampleShape(sampleShape, `${this.name}.sample`), ...this.batchShape, ...this.eventShape];
  }

  /**
   * @internal expand()'s work: checks batchShape against this one (equal
   * where this one's size is not 1), then builds the new distribution with
   * `make`, whose `grow(t, eventDims)` broadcasts a parameter to batchShape;
   * the new distribution owns what grow made.
   */
  protected expandWith<D extends Distribution>(batchShape: readonly number[], make: (grow: (t: Tensor, eventDims?: number) => Tensor) => D): D {
    const shape = checkSampleShape(batchShape, `${this.name}.expand`);
    const b = broadcastShapes([shape, this.batchShape]);
    if (b === null || b.length !== shape.length || !b.every((d, i) => d === shape[i]))
      fail('SHAPE_MISMATCH', `${this.name}.expand: cannot expand batch shape ${shapeText(this.batchShape)} to ${shapeText(shape)}`);
    const made: Tensor[] = [];
    const d = make((t, e = 0) => {
      const x = broadcastTo(t, [...shape, ...t.shape.slice(t.rank - e)]);
      made.push(x);
      return x;
    });
    for (const t of made) if (!d.owned.includes(t)) d.owned.push(t);
    return d;
  }

  /**
   * @internal For a distribution built around another (OneHotCategorical
   * around a Categorical, RelaxedBernoulli around its logit form): takes over
   * the inner one's tensors (freed by this one's dispose(), kept by a tidy()
   * returning it), dtype and device, and its batch shape with `eventShape`.
   */
  protected adopt(inner: Distribution, eventShape: readonly number[]): void {
    this.owned.push(...inner.owned);
    this.held.push(...inner.held);
    this.paramDtype = inner.paramDtype;
    this.paramDevice = inner.paramDevice;
    this.setShapes(inner.batchShape, eventShape);
  }

  /** @internal Registers a tensor the distribution made and returns it. */
  protected own(t: Tensor): Tensor {
    this.owned.push(t);
    this.held.push(t);
    return t;
  }

  /**
   * @internal Parameters as tensors of one float dtype and device, broadcast
   * to a common shape (torch's broadcast_all). Numbers take the dtype of the
   * tensors (float32 when all are numbers or int32); `shape` broadcasts
   * further (an event shape kept on the right is the caller's to add).
   */
  protected broadcastParams(params: Record<string, Param>, options?: { dtype?: 'float32' | 'float64'; device?: string; eventDims?: Record<string, number> }): Record<string, Tensor> {
    const names = Object.keys(params);
    const ev = options?.eventDims ?? {};
    let dtype: 'float32' | 'float64' | undefined = options?.dtype;
    let device = options?.device;
    for (const k of names) {
      const p = params[k];
      if (typeof p === 'number') {
        if (Number.isNaN(p) && this.validateArgs) fail('INVALID_ARGUMENT', `${this.name}: ${k} is NaN`);
        continue;
      }
      if (!(p instanceof Tensor)) fail('INVALID_ARGUMENT', `${this.name}: ${k} must be a Tensor or a number; got ${describe(p)}`);
      if (p.isDisposed) fail('DISPOSED', `${this.name}: ${k} (shape ${shapeText(p.shape)}) has been disposed`);
      if (p.dtype === 'float64') dtype = 'float64';
      else if (dtype === undefined) dtype = 'float32';
      if (device === undefined) device = p.device;
      else if (p.device !== device) fail('DEVICE_MISMATCH', `${this.name}: ${k} is on ${p.device} but the other parameters are on ${device}`);
    }
    dtype = dtype ?? 'float32';
    device = device ?? getDefaultDevice();
    this.paramDtype = dtype;
    this.paramDevice = device;
    const batchOf = (k: string): number[] => {
      const p = params[k];
      const s = typeof p === 'number' ? [] : p.shape;
      const e = ev[k] ?? 0;
      if (s.length < e) fail('SHAPE_MISMATCH', `${this.name}: ${k} must have at least ${e} dimension${e === 1 ? '' : 's'}; got shape ${shapeText(s)}`);
      return s.slice(0, s.length - e);
    };
    const shape = broadcastShapes(names.map(batchOf));
    if (shape === null)
      fail('SHAPE_MISMATCH', `${this.name}: the parameters' shapes do not broadcast: ${names.map((k) => `${k} ${shapeText(batchOf(k))}`).join(', ')}`);
    this.setShapes(shape);
    const out: Record<string, Tensor> = {};
    for (const k of names) {
      const p = params[k];
      const e = ev[k] ?? 0;
      if (typeof p === 'number') {
        out[k] = this.own(tidy(() => broadcastTo(tensor(p, [], { dtype, device }), shape)));
        continue;
      }
      const target = [...shape, ...p.shape.slice(p.shape.length - e)];
      const same = p.dtype === dtype && p.shape.length === target.length && p.shape.every((d, i) => d === target[i]);
      if (same) {
        this.held.push(p);
        out[k] = p;
      } else out[k] = this.own(tidy(() => broadcastTo(p.dtype === dtype ? p : p.cast(dtype!), target)));
    }
    return out;
  }

  /**
   * @internal Throws INVALID_ARGUMENT naming the first parameter that breaks
   * its constraint (when validateArgs), after freeing the tensors the
   * distribution made. One device read for all of them.
   */
  protected checkArgs(params: Record<string, Tensor>): void {
    if (!this.validateArgs) return;
    const cons = this.argConstraints;
    const names = Object.keys(params).filter((k) => cons[k] !== undefined);
    if (names.length === 0) return;
    const ok = tidy(() => readNumbers(names.map((k) => all(cons[k].check(params[k])).cast('float64'))));
    const bad = names.findIndex((_, i) => ok[i] !== 1);
    if (bad < 0) return;
    const k = names[bad];
    const message = `${this.name}: ${k} (shape ${shapeText(params[k].shape)}) must satisfy the constraint ${cons[k]}; some of its values do not`;
    // The constructor fails: free what it made so far (a caller outside tidy() has no handle to it).
    this.dispose();
    fail('INVALID_ARGUMENT', message);
  }

  /**
   * @internal Checks a value for logProb/cdf (when validateArgs): a Tensor
   * whose shape ends in eventShape and broadcasts with the batch shape, in
   * the support. Throws INVALID_ARGUMENT or SHAPE_MISMATCH.
   */
  protected validateSample(value: unknown, op = 'logProb'): Tensor {
    if (!(value instanceof Tensor)) fail('INVALID_ARGUMENT', `${this.name}.${op}: value must be a Tensor; got ${describe(value)}`);
    if (value.isDisposed) fail('DISPOSED', `${this.name}.${op}: value has been disposed`);
    const e = this.eventShape.length;
    const vs = value.shape;
    if (vs.length < e || !this.eventShape.every((d, i) => vs[vs.length - e + i] === d))
      fail('SHAPE_MISMATCH', `${this.name}.${op}: value of shape ${shapeText(vs)} must end in the event shape ${shapeText(this.eventShape)}`);
    if (broadcastShapes([vs.slice(0, vs.length - e), this.batchShape]) === null)
      fail('SHAPE_MISMATCH', `${this.name}.${op}: value of shape ${shapeText(vs)} does not broadcast with the batch shape ${shapeText(this.batchShape)}`);
    if (this.validateArgs) {
      const [ok] = tidy(() => readNumbers([all(this.support.check(value)).cast('float64')]));
      if (ok !== 1) fail('INVALID_ARGUMENT', `${this.name}.${op}: value (shape ${shapeText(vs)}) is outside the support ${this.support}`);
    }
    return value;
  }

  /** @internal Throws NOT_SUPPORTED for a method this distribution lacks. */
  protected notSupported(what: string, why = ''): never {
    fail('NOT_SUPPORTED', `${this.name}.${what} is not implemented${why}`);
  }

  toString(): string {
    return `${this.name}(batchShape=${shapeText(this.batchShape)}, eventShape=${shapeText(this.eventShape)})`;
  }
}
