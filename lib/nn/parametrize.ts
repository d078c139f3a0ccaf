/**
 * antler.nn.utils.parametrize (torch.nn.utils.parametrize) and
 * antler.nn.utils.parametrizations (torch.nn.utils.parametrizations:
 * spectralNorm, orthogonal): a module's parameter replaced by a function of
 * another tensor, `module.parametrizations[name].original`, recomputed when
 * the module's `name` is read.
 *
 * Tensor lifetimes (antler's own rule; PyTorch has no tidy):
 * - inside the module's forward, the first read computes the tensor and the
 *   module holds it: every later read in that forward gets the same tensor
 *   (as PyTorch's Linear reads self.weight once: spectralNorm's power
 *   iteration runs once per forward; a call of the module's own forward from
 *   inside it, as a recursive module makes, shares it too), and it is freed
 *   when the next forward starts, by removeParametrizations, or with the
 *   module (dispose()). Clone it to keep it. An assignment to `name` in the
 *   forward sets it aside (freed when the next forward starts): the next
 *   read computes the new value.
 * - elsewhere each read computes a new tensor, which belongs to the caller's
 *   tidy() scope like any op's result (outside tidy(): dispose it).
 * - inside cached(fn), every read of a parametrized tensor (in a forward or
 *   not) gets the one computed at the first read; those tensors are freed
 *   when the outermost cached() returns, except the ones fn returns.
 * A forward that throws leaves its tensor held until the module's next
 * forward starts (reads after it are outside the forward). A result the parametrizations did not make
 * (one returning `original` or a buffer of its own as it is) belongs to its
 * owner: it is neither held nor freed by the module or cached().
 */
import { noGrad } from '../autograd/graph';
import { isolated, keep, tidy, tidyMade } from '../engine';
import { AntlerError, fail } from '../errors';
import { add, broadcastTo, clone, concat, div, matmul, mul, reshape, permute, sign, sub, sum, square, transpose } from '../ops/core';
import { allClose, dot, eye, normalize, tril } from '../ops/extra';
import { solve } from '../ops/linalg-lu';
import { matrixExp } from '../ops/linalg-norms';
import { householderProduct, qr } from '../ops/linalg-qr';
import { diagonal, mv } from '../ops/products';
import { narrow, unsqueeze } from '../ops/shape';
import { randn, Tensor, zeros } from '../tensor';
import { checkOptions, describe } from '../validate';
import { native } from '../native';
import { ModuleDict } from './containers';
import { ConvTranspose1d, ConvTranspose2d, ConvTranspose3d } from './layers';
import { Module, onModuleClone, parameter, snakeCase } from './module';

/**
 * A parametrization: a module whose forward maps the original tensor to the parametrized one;
 * rightInverse (optional) maps back. The first parametrization of a tensor may depend on several
 * originals: its rightInverse returns an array of tensors (original0, original1, …) and its forward
 * takes them all, forward(original0, original1, …).
 */
export interface Parametrization extends Module {
  forward(x: Tensor, ...more: Tensor[]): Tensor;
  rightInverse?(x: Tensor): Tensor | readonly Tensor[];
}

const props = (m: Module) => m as unknown as Record<string, unknown>;

/**
 * Per module and name: how many held tensors an assignment (or a new
 * parametrization) inside the module's forward set aside; they stay until
 * the next forward starts, since the forward may still use them.
 */
const generations = new WeakMap<Module, Map<string, number>>();
const generationOf = (m: Module, name: string) => generations.get(m)?.get(name) ?? 0;

/** The key of the tensor a module holds for the current forward (Module.holdOwned, not on a property); gen > 0: one set aside. */
const heldKey = (name: string, gen = 0) => (gen === 0 ? `\0parametrized:${name}` : `\0parametrized:${name}#${gen}`);
const currentKey = (m: Module, name: string) => heldKey(name, generationOf(m, name));

/** Frees every tensor held for `name`, the ones set aside included. */
function freeHeld(m: Module, name: string): void {
  for (let g = generationOf(m, name); g >= 0; g--) Module.holdOwned(m, heldKey(name, g), null, false);
  generations.get(m)?.delete(name);
}

/**
 * The held tensor of `name` is out of date (an assignment, a parametrization
 * added): freed now outside the module's forward; inside it, set aside until
 * the next forward (the forward may still use it) and the next read computes
 * a new one.
 */
function releaseHeld(m: Module, name: string): void {
  if (Module.forwardDepth(m) === 0) return freeHeld(m, name);
  if (!Module.owned(m, currentKey(m, name))) return;
  if (!generations.has(m)) generations.set(m, new Map());
  generations.get(m)!.set(name, generationOf(m, name) + 1);
}

/**
 * The parametrizations of one tensor and its original (torch's
 * ParametrizationList): `original` is a parameter (a buffer when the
 * parametrized tensor was one), the parametrizations are registered as
 * 0, 1, … (state dict: `parametrizations.weight.original`,
 * `parametrizations.weight.0._u`, …). When the first parametrization's
 * rightInverse returned several tensors, they are `original0`,
 * `original1`, … instead (isTensor false). Made by registerParametrization.
 */
export class ParametrizationList extends Module implements Iterable<Parametrization> {
  /** The original tensor (when isTensor). */
  declare original: Tensor;
  /** True when a parametrization registered with unsafe: true (shapes and dtypes are then not checked). */
  unsafe: boolean;
  /** True for one original (`original`); false for several (`original0`, `original1`, …). */
  readonly isTensor: boolean;
  /** How many originals there are. */
  readonly ntensors: number;
  /** @internal True when the originals are buffers (the parametrized tensor was a buffer). */
  readonly ofBuffers: boolean;
  private readonly items: Parametrization[] = [];

  /** @internal Use registerParametrization. `originals`: one tensor, or the several a rightInverse returned. */
  constructor(first: Parametrization, originals: Tensor | readonly Tensor[], unsafe: boolean, buffers: boolean) {
    super();
    this.unsafe = unsafe;
    this.ofBuffers = buffers;
    this.isTensor = originals instanceof Tensor;
    const list = originals instanceof Tensor ? [originals] : originals;
    this.ntensors = list.length;
    this.append(first);
    list.forEach((t, i) => {
      const name = this.isTensor ? 'original' : `original${i}`;
      if (buffers) Module.addBuffer(this, name, t);
      else {
        const requiresGrad = t.requiresGrad;
        this.registerParameter(name, t);
        t.requiresGrad = requiresGrad;
      }
      props(this)[name] = t;
    });
  }

  /** The originals in order: [original], or [original0, original1, …]. */
  originals(): Tensor[] {
    return this.isTensor ? [this.original] : Array.from({ length: this.ntensors }, (_, i) => props(this)[`original${i}`] as Tensor);
  }

  /** @internal Adds p at the end (registered under the next number). */
  append(p: Parametrization): this {
    this.registerModule(String(this.items.length), p);
    this.items.push(p);
    return this;
  }

  /** The i-th parametrization. */
  get(i: number): Parametrization {
    const n = this.items.length;
    if (!Number.isInteger(i) || i < -n || i >= n) fail('INVALID_ARGUMENT', `ParametrizationList.get: index must be an integer in [${-n}, ${n}); got ${describe(i)}`);
    return this.items[i < 0 ? i + n : i];
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): IterableIterator<Parametrization> {
    return this.items[Symbol.iterator]();
  }

  /** The parametrized tensor: the parametrizations applied to `original` in order (recorded; the caller's scope owns it). */
  forward(): Tensor {
    return this.compute().t;
  }

  /**
   * @internal forward(), and whether its result was made by it (false: a
   * tensor that existed before, e.g. `original` or a parametrization's
   * buffer, which its owner keeps and frees: the module must not hold it).
   */
  compute(): { t: Tensor; made: boolean } {
    this.checkUsable('ParametrizationList');
    const { result, made } = tidyMade(() => {
      const originals = this.originals();
      let x = originals[0];
      this.items.forEach((p, i) => {
        const y: unknown = i === 0 ? p.forward(x, ...originals.slice(1)) : p.forward(x);
        if (!(y instanceof Tensor)) fail('INVALID_ARGUMENT', `parametrize: parametrization ${i} (${p.constructor.name}) must return a Tensor; got ${describe(y)}`);
        x = y;
      });
      return x;
    });
    return { t: result, made: made.has(result) };
  }

  /**
   * Sets the originals so that the parametrized tensor is `value`: each
   * parametrization's rightInverse, last to first, under noGrad, then the
   * result copied into `original` (or, with several originals, the tensors
   * the first's rightInverse returns into original0, original1, …: as many
   * as there are, each of its original's dtype; the shapes may change), the
   * same tensor objects, so optimizers stay bound. A parametrization
   * without rightInverse throws NOT_SUPPORTED. Nothing changes when one
   * throws.
   */
  rightInverse(value: Tensor): void {
    const originals = this.originals();
    const { result: vs, made } = noGrad(() =>
      tidyMade(() => {
        let v: Tensor | readonly Tensor[] = value;
        for (let i = this.items.length - 1; i >= 0; i--) {
          const p = this.items[i];
          if (typeof p.rightInverse !== 'function')
            fail('NOT_SUPPORTED', `parametrize: parametrization ${i} (${p.constructor.name}) does not implement rightInverse, so the parametrized tensor cannot be assigned (PyTorch: RuntimeError)`);
          const r: unknown = p.rightInverse(v as Tensor);
          v = i === 0 && !this.isTensor ? checkInverses(r, p, this.ntensors) : checkInverse(r, i, p);
        }
        const vs = v instanceof Tensor ? [v] : v;
        vs.forEach((t, i) => {
          const what = this.isTensor ? "'original'" : `'original${i}'`;
          if (t.dtype !== originals[i].dtype) fail('DTYPE_MISMATCH', `parametrize: rightInverse returned ${this.isTensor ? '' : `as tensor ${i} `}${t.dtype} while ${what} is ${originals[i].dtype}`);
        });
        return vs;
      }),
    );
    // Each a tensor of its own (setData consumes it): one that existed before (value itself, an original, a
    // parametrization's buffer) or one returned twice is copied.
    const xs = noGrad(() => vs.map((t, i) => (made.has(t) && vs.indexOf(t) === i ? t : clone(t))));
    xs.forEach((x, i) => setData(originals[i], x));
  }
}

function checkInverse(v: unknown, i: number, p: Module): Tensor {
  if (!(v instanceof Tensor)) fail('INVALID_ARGUMENT', `parametrize: rightInverse of parametrization ${i} (${p.constructor.name}) must return a Tensor; got ${describe(v)}`);
  return v;
}

/**
 * The first parametrization's rightInverse result where several originals are expected (`n`; any number ≥ 1 at
 * registration, n null): an array of tensors (torch's Sequence).
 */
function checkInverses(v: unknown, p: Module, n: number | null): Tensor[] {
  const who = `rightInverse of parametrization 0 (${p.constructor.name})`;
  if (!Array.isArray(v)) fail('INVALID_ARGUMENT', `parametrize: ${who} must return ${n === null ? 'a Tensor or an array of tensors' : `an array of ${n} tensors (one per original)`}; got ${describe(v)}`);
  if (n !== null && v.length !== n) fail('INVALID_ARGUMENT', `parametrize: ${who} must return an array of ${n} tensors (original0 … original${n - 1}); got an array of ${v.length}`);
  if (v.length === 0) fail('INVALID_ARGUMENT', `parametrize: ${who} returned an empty array; expected a Tensor or an array of tensors (the originals the forward takes)`);
  v.forEach((t, i) => {
    if (!(t instanceof Tensor)) fail('INVALID_ARGUMENT', `parametrize: ${who} must return a Tensor or an array of tensors; got ${describe(t)} as element ${i}`);
    if (t.isDisposed) fail('DISPOSED', `parametrize: ${who} returned a disposed tensor as element ${i}`);
  });
  return v as Tensor[];
}

/** t takes src's values (and shape, as torch's set_), keeping its identity (optimizers stay bound); src is consumed. */
function setData(t: Tensor, src: Tensor): void {
  if (sameShape(src.shape, t.shape) && src.dtype === t.dtype) noGrad(() => t.assign(src));
  else t.replaceData(native().reshape(src.handle, src.shape.slice()));
  src.dispose();
}

/** Per host module: the id of the forward pre-hook that frees the tensors held for its previous forward. */
interface HostState {
  pre: number;
}
const hosts = new WeakMap<Module, HostState>();

onModuleClone((from, to) => {
  const st = hosts.get(from);
  if (st) hosts.set(to, { pre: st.pre });
  const g = generations.get(from);
  if (g) generations.set(to, new Map(g));
});

/** The parametrizations spectralNorm() and orthogonal() made (and their copies): removeParametrizations disposes them. */
const madeHere = new WeakSet<Module>();
onModuleClone((from, to) => {
  if (madeHere.has(from)) madeHere.add(to);
});

/** cached()'s depth and the tensors computed in it. */
let cacheDepth = 0;
const cache = new Map<Module, Map<string, Tensor>>();
/** Tensors cached before their parametrization was removed: freed with the others when the outermost cached() returns. */
const uncached: Tensor[] = [];

function listOf(m: Module, name: string): ParametrizationList | null {
  const d = props(m).parametrizations;
  return d instanceof ModuleDict && d.has(name) ? (d.get(name) as ParametrizationList) : null;
}

/** The getter of a parametrized property. */
function readParametrized(m: Module, name: string): Tensor {
  const list = listOf(m, name);
  if (!list) fail('INVALID_ARGUMENT', `parametrize: '${name}' of this ${m.constructor.name} is no longer parametrized`);
  if (cacheDepth > 0) {
    const hit = cache.get(m)?.get(name);
    if (hit && !hit.isDisposed) return hit;
    const { t, made } = list.compute();
    if (made) {
      isolated(() => keep(t));
      if (!cache.has(m)) cache.set(m, new Map());
      cache.get(m)!.set(name, t);
    }
    return t;
  }
  // In the module's forward (Module.forwardDepth: its calls running, a nested call of its own included).
  if (hosts.has(m) && Module.forwardDepth(m) > 0) {
    const held = Module.owned(m, currentKey(m, name));
    if (held && !held.isDisposed) return held;
    const { t, made } = list.compute();
    if (made) Module.holdOwned(m, currentKey(m, name), t, false);
    return t;
  }
  return list.forward();
}

function writeParametrized(m: Module, name: string, v: unknown): void {
  const list = listOf(m, name);
  if (!list) fail('INVALID_ARGUMENT', `parametrize: '${name}' of this ${m.constructor.name} is no longer parametrized`);
  if (!(v instanceof Tensor)) fail('INVALID_ARGUMENT', `parametrize: '${name}' is parametrized, so it takes a Tensor (set through rightInverse); got ${describe(v)}`);
  if (v.isDisposed) fail('DISPOSED', `parametrize: the tensor assigned to '${name}' has been disposed`);
  list.rightInverse(v);
  releaseHeld(m, name);
}

/** The getters injectProperty made, and the parametrized tensor each reads (a clone's accessors are the same functions). */
const getterOf = new WeakMap<object, string>();

/** Makes property `key` of m read and assign parametrized tensor `name` (`key` is `name`, or its alias: aliasOf). */
function injectProperty(m: Module, name: string, key = name): void {
  // `this`: the module read (a copy made by clone() reads its own parametrizations).
  const get = function (this: Module) {
    return readParametrized(this, name);
  };
  getterOf.set(get, name);
  Object.defineProperty(m, key, {
    get,
    set(this: Module, v: unknown) {
      writeParametrized(this, name, v);
    },
    configurable: true,
    enumerable: false,
  });
}

/**
 * The own camelCase property holding tensor `name` (t) of m where m's class declares `name` as its alias, a
 * prototype accessor (SRUCell's weight_c reads weightC, BatchNorm's running_mean runningMean), or null. The
 * module's own code reads that property, so it is parametrized with `name` (torch's module reads
 * self.running_mean: the parametrized value).
 */
function aliasOf(m: Module, name: string, t: Tensor): string | null {
  if (Object.prototype.hasOwnProperty.call(m, name)) return null;
  return Object.keys(m).find((k) => k !== name && snakeCase(k) === name && props(m)[k] === t) ?? null;
}

/** The alias property parametrized with `name` (aliasOf at registration), or null. */
function parametrizedAlias(m: Module, name: string): string | null {
  return (
    Object.getOwnPropertyNames(m).find((k) => {
      const get = k === name ? undefined : Object.getOwnPropertyDescriptor(m, k)?.get;
      return get !== undefined && getterOf.get(get) === name;
    }) ?? null
  );
}

function ensureHooks(m: Module): void {
  if (hosts.has(m) && Module.hookHandle(m, hosts.get(m)!.pre)) return;
  const pre = m.registerForwardPreHook(
    (mod) => {
      // A new forward: the tensors held for the previous one are freed (recomputed at the first read).
      // A call of its own forward from inside it (a recursive module) keeps the outer call's: that call may still use them.
      if (!hosts.has(mod) || Module.forwardDepth(mod) > 1) return;
      const d = props(mod).parametrizations;
      if (d instanceof ModuleDict) for (const n of d.keys()) freeHeld(mod, n);
    },
    { prepend: true },
  );
  hosts.set(m, { pre: pre.id });
}

function checkModule(module: unknown, op: string): Module {
  if (!(module instanceof Module)) fail('INVALID_ARGUMENT', `${op}: expected a Module; got ${describe(module)}`);
  if (module.isDisposed) fail('DISPOSED', `${op}: the ${module.constructor.name} module has been disposed`);
  return module;
}

/** @internal An nn.ConvTranspose1d/2d/3d, or a subclass (torch's isinstance test for spectral norm's default dim 1). */
export function isConvTranspose(m: Module): boolean {
  return m instanceof ConvTranspose1d || m instanceof ConvTranspose2d || m instanceof ConvTranspose3d;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Parametrizes `module[name]` (torch.nn.utils.parametrize.register_parametrization):
 * the parameter moves to `module.parametrizations[name].original` (the same
 * tensor object, so optimizers made before stay bound; state dict key
 * `parametrizations.<name>.original`, and the parametrization's own buffers
 * under `parametrizations.<name>.0.…`), and reading `module[name]` returns
 * `parametrization.forward(original)` (several parametrizations of one
 * name chain, in registration order). On the first registration, original
 * becomes `parametrization.rightInverse(weight)` when it has one (one
 * throwing NOT_SUPPORTED is skipped, as PyTorch skips NotImplementedError);
 * assigning `module[name] = t` sets original to the rightInverse chain of t.
 * Unless unsafe, the result must keep the tensor's shape and dtype
 * (SHAPE_MISMATCH / DTYPE_MISMATCH). The parametrization takes the module's
 * training mode. A buffer is parametrized the same way: its original stays
 * a buffer (no gradient; `parametrizations.<name>.original` in the state
 * dict). When the first parametrization's rightInverse returns an array of
 * tensors, they are copied into new originals `original0`, `original1`, …
 * (parameters that require a gradient as the tensor did, or buffers), its
 * forward takes them all (`forward(original0, original1, …)`), and the
 * tensor that was `module[name]` is no longer the module's (torch drops it):
 * a buffer is freed, as a buffer the module drops is; a parameter is left
 * to its holders (an optimizer made before holds it and not the new
 * originals; the finalizer frees it when nobody holds it, or dispose() it). A
 * parametrization registered after the first takes and gives one tensor.
 * See the module TSDoc for when the computed tensor is freed. Returns the
 * module.
 *
 *   class Symmetric extends nn.Module { forward(x: Tensor) { return add(tril(x), transpose(tril(x, -1))); } }
 *   nn.utils.parametrize.registerParametrization(fc, 'weight', new Symmetric());
 */
export function registerParametrization<M extends Module>(module: M, name: string, parametrization: Parametrization, options?: { unsafe?: boolean }): M {
  const op = 'registerParametrization';
  const m = checkModule(module, op);
  if (typeof name !== 'string' || name === '' || name.includes('.')) fail('INVALID_ARGUMENT', `${op}: name must be a parameter's name; got ${describe(name)}`);
  if (!(parametrization instanceof Module) || typeof parametrization.forward !== 'function')
    fail('INVALID_ARGUMENT', `${op}: the parametrization must be a Module whose forward maps the original tensor to '${name}'; got ${describe(parametrization)}`);
  const o = checkOptions<{ unsafe: boolean }>(options, op, ['unsafe']);
  if (o.unsafe !== undefined && typeof o.unsafe !== 'boolean') fail('INVALID_ARGUMENT', `${op}: unsafe must be a boolean; got ${describe(o.unsafe)}`);
  const unsafe = o.unsafe ?? false;
  parametrization.train(m.training);
  const existing = listOf(m, name);
  if (existing) {
    if (!unsafe) {
      // PyTorch's checks: forward and rightInverse map tensors of module[name]'s shape and dtype to themselves.
      tidy(() => {
        const Y = readParametrized(m, name);
        const X: unknown = parametrization.forward(Y);
        checkResult(op, name, X, Y, 'parametrization');
        if (typeof parametrization.rightInverse === 'function') {
          let Z: unknown;
          try {
            Z = noGrad(() => parametrization.rightInverse!(X as Tensor));
          } catch (e) {
            if (!(e instanceof AntlerError && e.code === 'NOT_SUPPORTED')) throw e;
          }
          if (Z !== undefined) checkResult(op, name, Z, Y, 'parametrization.rightInverse');
        }
      });
    }
    existing.append(parametrization);
    existing.unsafe ||= unsafe;
    releaseHeld(m, name);
    return module;
  }
  const ownOf = (list: [string, Tensor][]) => new Map(list.filter(([n]) => !n.includes('.')));
  const params = ownOf(m.namedParameters('', false)), buffers = ownOf(m.namedBuffers('', false));
  const isBuffer = !params.has(name) && buffers.has(name);
  const original = params.get(name) ?? buffers.get(name);
  if (!original || props(m)[name] !== original)
    fail('INVALID_ARGUMENT', `${op}: this ${m.constructor.name} has no parameter, buffer or parametrized tensor '${name}'; its parameters: ${[...params.keys()].join(', ') || 'none'}; its buffers: ${[...buffers.keys()].join(', ') || 'none'}`);
  if (original.isDisposed) fail('DISPOSED', `${op}: ${isBuffer ? 'buffer' : 'parameter'} '${name}' has been disposed`);
  // Everything is checked before anything changes: a refused registration leaves the module as it was.
  // initial: null (original as it is), original's new value, or the several originals (each a tensor of its own).
  const { result: inverse, made } = noGrad(() =>
    tidyMade((): Tensor | Tensor[] | null => {
      if (typeof parametrization.rightInverse !== 'function') return null;
      let v: unknown;
      try {
        v = parametrization.rightInverse(original);
      } catch (e) {
        if (e instanceof AntlerError && e.code === 'NOT_SUPPORTED') return null;
        throw e;
      }
      if (Array.isArray(v)) {
        const ts = checkInverses(v, parametrization, null);
        // Copies, unrecorded (noGrad): leaves of their own, whatever rightInverse returned (original itself, one tensor twice).
        return ts.map((t) => clone(t));
      }
      if (!(v instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: rightInverse of ${parametrization.constructor.name} must return a Tensor or an array of tensors; got ${describe(v)}`);
      if (v.dtype !== original.dtype)
        fail('DTYPE_MISMATCH', `${op}: rightInverse returned ${v.dtype} for '${name}' of dtype ${original.dtype} (when rightInverse returns one tensor it may not change the dtype, as PyTorch)`);
      return v === original ? null : v;
    }),
  );
  // A tensor that existed before (a parametrization's buffer) is copied: setData consumes what it is given.
  const initial = inverse instanceof Tensor && !made.has(inverse) ? noGrad(() => clone(inverse)) : inverse;
  const dropInitial = () => (Array.isArray(initial) ? initial.forEach((t) => t.dispose()) : initial?.dispose());
  if (!unsafe) {
    try {
      tidy(() => {
        const Z: unknown = Array.isArray(initial) ? parametrization.forward(initial[0], ...initial.slice(1)) : parametrization.forward(initial ?? original);
        checkResult(op, name, Z, original, 'parametrization');
      });
    } catch (e) {
      dropInitial();
      throw e;
    }
  }
  const requiresGrad = original.requiresGrad;
  const alias = aliasOf(m, name, original);
  // Several originals: new tensors that require a gradient as the tensor did (torch's Parameter(original_i)); the
  // tensor itself leaves the module: a parameter is left to its holders (an optimizer made before; the finalizer
  // frees it when nobody holds it), a buffer is freed, as a buffer the module drops is (Module.forget).
  const several = Array.isArray(initial);
  if (several) for (const t of initial) t.requiresGrad = requiresGrad;
  else if (initial) setData(original, initial);
  // One original: the same tensor moves to the list (a buffer is moved, not freed).
  if (isBuffer && !several) Module.releaseBuffer(m, name);
  if (alias !== null) delete props(m)[alias];
  delete props(m)[name];
  const list = new ParametrizationList(parametrization, several ? initial : original, unsafe, isBuffer);
  if (!several) original.requiresGrad = requiresGrad;
  if (!(props(m).parametrizations instanceof ModuleDict)) props(m).parametrizations = new ModuleDict();
  const dict = props(m).parametrizations as ModuleDict;
  dict.set(name, list);
  props(dict)[name] = list;
  injectProperty(m, name);
  if (alias !== null) injectProperty(m, name, alias);
  ensureHooks(m);
  return module;
}

function checkResult(op: string, name: string, X: unknown, Y: Tensor, what: string): void {
  const fails = (code: 'INVALID_ARGUMENT' | 'DTYPE_MISMATCH' | 'SHAPE_MISMATCH', msg: string): never => fail(code, msg);
  if (!(X instanceof Tensor)) fails('INVALID_ARGUMENT', `${op}: ${what} must return a Tensor; got ${describe(X)}`);
  const x = X as Tensor;
  if (x.dtype !== Y.dtype)
    fails('DTYPE_MISMATCH', `${op}: ${what} returned ${x.dtype} for '${name}' of dtype ${Y.dtype}; a parametrization may not change the dtype unless unsafe: true (PyTorch's rule)`);
  if (!sameShape(x.shape, Y.shape))
    fails('SHAPE_MISMATCH', `${op}: ${what} returned shape [${x.shape.join(', ')}] for '${name}' of shape [${Y.shape.join(', ')}]; a parametrization may not change the shape unless unsafe: true (PyTorch's rule)`);
}

/**
 * True when `module[name]` is parametrized, or with no name when any of its
 * tensors is (torch.nn.utils.parametrize.is_parametrized).
 */
export function isParametrized(module: Module, name?: string): boolean {
  if (!(module instanceof Module)) return false;
  const d = props(module).parametrizations;
  if (!(d instanceof ModuleDict)) return false;
  return name === undefined ? d.size > 0 : d.has(name);
}

/**
 * Undoes registerParametrization for `name`
 * (torch.nn.utils.parametrize.remove_parametrizations): `module[name]` is a
 * parameter (or buffer) again — the same tensor object as `original`
 * (optimizers stay bound), holding the parametrized value
 * (leaveParametrized, default) or original's own value. With several
 * originals (original0, original1, …) there is no such tensor: `module[name]`
 * becomes a new tensor holding the parametrized value, a parameter when that
 * value requires a gradient, else a buffer (torch's rule; add it to your
 * optimizer), and leaveParametrized false is refused (INVALID_ARGUMENT, as
 * torch's ValueError); the originals are freed when they are buffers, else
 * left to whoever holds them (an optimizer; the finalizer frees them when
 * nobody does). The parametrizations are dropped: the ones
 * spectralNorm() and orthogonal() made are disposed with their buffers,
 * the caller's own are not (the caller may reuse them);
 * `module.parametrizations` goes with the last one.
 * Returns the module.
 */
export function removeParametrizations<M extends Module>(module: M, name: string, leaveParametrized = true): M {
  const op = 'removeParametrizations';
  const m = checkModule(module, op);
  if (typeof leaveParametrized !== 'boolean') fail('INVALID_ARGUMENT', `${op}: leaveParametrized must be a boolean; got ${describe(leaveParametrized)}`);
  const list = listOf(m, name);
  if (!list) fail('INVALID_ARGUMENT', `${op}: this ${m.constructor.name} has no parametrization of ${describe(name)}`);
  if (!list.isTensor && !leaveParametrized)
    fail('INVALID_ARGUMENT', `${op}: '${name}' is parametrized in terms of ${list.ntensors} tensors (original0 … original${list.ntensors - 1}), so it cannot be left unparametrized (leaveParametrized: false); leave it parametrized (PyTorch: ValueError)`);
  // Several originals: the parametrized value as a new tensor, a parameter when it requires a gradient (torch reads it with grad on).
  let value: { t: Tensor; requiresGrad: boolean } | null = null;
  if (!list.isTensor)
    value = tidy(() => {
      const v = readParametrized(m, name);
      return { t: noGrad(() => clone(v)), requiresGrad: v.requiresGrad };
    });
  const original = list.isTensor ? list.original : value!.t;
  if (leaveParametrized && list.isTensor) {
    const t = noGrad(() =>
      tidy(() => {
        const v = readParametrized(m, name);
        return v === original ? null : clone(v);
      }),
    );
    if (t) setData(original, t);
  }
  freeHeld(m, name);
  const stale = cache.get(m)?.get(name);
  if (stale) uncached.push(stale);
  cache.get(m)?.delete(name);
  const alias = parametrizedAlias(m, name);
  if (alias !== null) delete props(m)[alias];
  delete props(m)[name];
  const dict = props(m).parametrizations as ModuleDict;
  dict.delete(name);
  delete props(dict)[name];
  if (list.isTensor) {
    // A buffer is moved, not freed (setting the list's property to null would free a buffer).
    if (list.ofBuffers) Module.releaseBuffer(list, 'original');
    (list as unknown as Record<string, unknown>).original = null;
  } else if (list.ofBuffers) {
    // Several buffers: dropped with the list, so freed as a module's dropped buffer is (Module.forget).
    for (let i = 0; i < list.ntensors; i++) delete props(list)[`original${i}`];
  }
  // Nobody else holds what spectralNorm() / orthogonal() made: its buffers (u, v, base) go with it.
  for (const p of list) if (madeHere.has(p) && !p.isDisposed) p.dispose();
  if (dict.size === 0) {
    delete props(m).parametrizations;
    const st = hosts.get(m);
    if (st) {
      Module.hookHandle(m, st.pre)?.remove();
      hosts.delete(m);
    }
  }
  // An alias (SRUCell's weightC for weight_c) holds the tensor again, registered under `name`.
  if (value ? !value.requiresGrad : list.ofBuffers) {
    Module.addBuffer(m, name, original);
    props(m)[alias ?? name] = original;
  } else {
    const requiresGrad = value ? true : original.requiresGrad;
    if (value) parameter(original);
    if (alias !== null) Module.addParameter(m, name, original);
    props(m)[alias ?? name] = original;
    original.requiresGrad = requiresGrad;
  }
  return module;
}

/**
 * Runs fn with parametrized tensors cached (torch.nn.utils.parametrize.cached):
 * each is computed at its first read and that tensor is returned by every
 * later read, in any module's forward or outside, until the outermost
 * cached() returns (say, one weight for every step of a hand-written
 * recurrence). Then the cached tensors are freed, except those fn returns
 * (in a Tensor, array or plain object). Synchronous fn only.
 */
export function cached<T>(fn: () => T): T {
  if (typeof fn !== 'function') fail('INVALID_ARGUMENT', `cached: expected a function; got ${describe(fn)}`);
  cacheDepth++;
  let result: T | undefined;
  try {
    result = fn();
    return result;
  } finally {
    cacheDepth--;
    if (cacheDepth === 0) {
      const returned = new Set<unknown>();
      const visit = (v: unknown, depth: number) => {
        if (v instanceof Tensor) returned.add(v);
        else if (depth < 4 && Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
        else if (depth < 4 && v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach((x) => visit(x, depth + 1));
      };
      visit(result, 0);
      for (const t of [...[...cache.values()].flatMap((byName) => [...byName.values()]), ...uncached]) if (!returned.has(t) && !t.isDisposed) t.dispose();
      cache.clear();
      uncached.length = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// torch.nn.utils.parametrizations

/** @internal weight reshaped to a matrix with `dim` first (torch's _reshape_weight_to_matrix); both spectral norms'. */
export function weightMatrix(w: Tensor, dim: number): Tensor {
  const p = dim === 0 ? w : permute(w, [dim, ...w.shape.map((_, i) => i).filter((i) => i !== dim)]);
  return reshape(p, [p.shape[0], p.size / Math.max(p.shape[0], 1)]);
}

/**
 * spectralNorm's parametrization (torch's _SpectralNorm): weight / σ, σ the
 * power-iteration estimate uᵀ W v of the largest singular value of the
 * weight as a matrix (`dim` first, the rest flattened). Buffers `_u` [h]
 * and `_v` [w]: updated in place by nPowerIterations steps at each
 * forward in training mode (not in eval). A 1-D weight is normalised.
 */
export class SpectralNorm extends Module {
  readonly dim: number;
  readonly eps: number;
  readonly nPowerIterations: number;
  declare _u: Tensor;
  declare _v: Tensor;

  constructor(weight: Tensor, nPowerIterations = 1, dim = 0, eps = 1e-12, seed?: number) {
    super();
    const op = 'spectralNorm';
    const nd = weight.rank;
    if (!Number.isInteger(dim) || dim >= Math.max(nd, 1) || dim < -Math.max(nd, 1))
      fail('INVALID_ARGUMENT', `${op}: dim must be an integer in [${-nd}, ${nd - 1}] for a weight of shape [${weight.shape.join(', ')}]; got ${describe(dim)}`);
    if (!Number.isInteger(nPowerIterations) || nPowerIterations <= 0)
      fail('INVALID_ARGUMENT', `${op}: nPowerIterations must be a positive integer; got ${describe(nPowerIterations)}`);
    if (typeof eps !== 'number' || !(eps > 0)) fail('INVALID_ARGUMENT', `${op}: eps must be a positive number; got ${describe(eps)}`);
    if (weight.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: the weight is int32; expected float32 or float64`);
    this.dim = dim < 0 ? dim + nd : dim;
    this.eps = eps;
    this.nPowerIterations = nPowerIterations;
    if (nd > 1) {
      const [u, v] = noGrad(() =>
        tidy(() => {
          const Wm = weightMatrix(weight, this.dim);
          const [h, w] = Wm.shape;
          const place = { dtype: weight.dtype as 'float32' | 'float64', device: weight.device };
          // torch: u ~ N(0, 1) [h] then v ~ N(0, 1) [w], each normalised; a seed fixes both draws.
          const u0 = randn([h], { ...place, ...(seed === undefined ? {} : { seed }) });
          const v0 = randn([w], { ...place, ...(seed === undefined ? {} : { seed: (seed + 1) >>> 0 }) });
          return [normalize(u0, { axis: 0, eps }), normalize(v0, { axis: 0, eps })];
        }),
      );
      this._u = this.registerBuffer('_u', u);
      this._v = this.registerBuffer('_v', v);
      noGrad(() => tidy(() => this.powerMethod(weightMatrix(weight, this.dim), 15)));
    }
  }

  /** u ← normalize(W v), v ← normalize(Wᵀ u), n times, in place (unrecorded). */
  private powerMethod(Wm: Tensor, n: number): void {
    noGrad(() => {
      for (let i = 0; i < n; i++)
        tidy(() => {
          this._u.assign(normalize(mv(Wm, this._v), { axis: 0, eps: this.eps }));
          this._v.assign(normalize(mv(transpose(Wm), this._u), { axis: 0, eps: this.eps }));
        });
    });
  }

  forward(weight: Tensor): Tensor {
    if (weight.rank === 1) return normalize(weight, { axis: 0, eps: this.eps });
    return tidy(() => {
      const Wm = weightMatrix(weight, this.dim);
      if (this.training) this.powerMethod(Wm, this.nPowerIterations);
      // Copies: the in-place updates of the next forward must not change what this one's graph saved.
      const sigma = dot(clone(this._u), mv(Wm, clone(this._v)));
      return div(weight, sigma);
    });
  }

  /** The identity (torch's): assigning module.weight sets the original to it. */
  rightInverse(value: Tensor): Tensor {
    return value;
  }
}

/** Options of spectralNorm. */
export interface SpectralNormOptions {
  /** The parameter (default 'weight'). */
  name?: string;
  /** Power-iteration steps per training forward (default 1). */
  nPowerIterations?: number;
  /** Added to norms (default 1e-12). */
  eps?: number;
  /** The output axis (default 0, or 1 for ConvTranspose1d/2d/3d, as PyTorch). */
  dim?: number | null;
  /** Fixes the random start of u and v (antler's RNG; default: the global stream). */
  seed?: number;
}

/**
 * Spectral normalisation (torch.nn.utils.parametrizations.spectral_norm;
 * Miyato et al. 2018), as a parametrization: `module[name]` reads as
 * W / σ(W), σ estimated by power iteration with buffers u and v (state dict:
 * `parametrizations.weight.original`, `parametrizations.weight.0._u`,
 * `parametrizations.weight.0._v`). As torch: u and v start normalised
 * N(0, 1) draws followed by 15 power iterations, and each forward in
 * training mode (and the registration check) runs nPowerIterations more
 * under noGrad; eval() freezes them. Returns the module.
 *
 *   const rnn = nn.utils.parametrizations.spectralNorm(new nn.GRU(8, 16), { name: 'weight_hh_l0' });
 */
export function spectralNorm<M extends Module>(module: M, options?: SpectralNormOptions): M {
  const op = 'spectralNorm';
  const m = checkModule(module, op);
  const o = checkOptions<SpectralNormOptions>(options, op, ['name', 'nPowerIterations', 'eps', 'dim', 'seed']);
  const name = o.name ?? 'weight';
  const dim = o.dim ?? (isConvTranspose(m) ? 1 : 0);
  if (o.seed !== undefined && (!Number.isInteger(o.seed) || o.seed < 0)) fail('INVALID_ARGUMENT', `${op}: seed must be a non-negative integer; got ${describe(o.seed)}`);
  // A parametrized weight is read (computed) in this scope only: the parametrization keeps no reference to it.
  const p = tidy(() => {
    const weight = props(m)[name];
    if (!(weight instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: this ${m.constructor.name} has no parameter '${name}'; got ${describe(weight)} there`);
    return new SpectralNorm(weight, o.nPowerIterations ?? 1, dim, o.eps ?? 1e-12, o.seed);
  });
  try {
    registerParametrization(module, name, p);
    madeHere.add(p);
    return module;
  } catch (e) {
    p.dispose();
    throw e;
  }
}

/** The maps orthogonal() offers. */
export type OrthogonalMap = 'matrix_exp' | 'cayley' | 'householder';

/** Q with R's diagonal signs folded in (torch's _make_orthogonal: Q · sgn(diag R)). */
function makeOrthogonal(A: Tensor): Tensor {
  return tidy(() => {
    const { Q, R } = qr(A);
    return mul(Q, unsqueeze(sign(diagonal(R, { axis1: -2, axis2: -1 })), -2));
  });
}

/**
 * orthogonal's parametrization (torch's _Orthogonal): maps any matrix (or
 * batch) X of the weight's shape to an orthogonal one (orthonormal columns,
 * or rows when wide): matrix_exp exp(A), cayley (I − A/2)⁻¹(I + A/2) with A
 * the skew-symmetric part of X's lower triangle, householder the product of
 * the reflections in X's strict lower triangle; with useTrivialization the
 * result is multiplied by the buffer `base`, set by rightInverse.
 */
export class Orthogonal extends Module {
  readonly shape: readonly number[];
  readonly orthogonalMap: OrthogonalMap;
  readonly useTrivialization: boolean;
  readonly seed: number | undefined;
  declare base: Tensor | undefined;

  constructor(weight: Tensor, orthogonalMap: OrthogonalMap, useTrivialization = true, seed?: number) {
    super();
    this.shape = weight.shape.slice();
    this.orthogonalMap = orthogonalMap;
    this.useTrivialization = useTrivialization;
    this.seed = seed;
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      let X = x;
      let n = X.shape[X.rank - 2], k = X.shape[X.rank - 1];
      const transposed = n < k;
      if (transposed) {
        X = transpose(X);
        [n, k] = [k, n];
      }
      let Q: Tensor;
      if (this.orthogonalMap === 'householder') {
        const A = tril(X, -1);
        const tau = div(2, add(1, sum(square(A), -2)));
        Q = householderProduct(A, tau);
        // Q · sign(X's diagonal): each column's sign, the diagonal ±1 (−1 from rightInverse) and not
        // differentiated. torch 1.13 multiplies by X.diagonal().int(), which truncates toward zero: a
        // weight decay step or a finite-difference probe that moves a −1 to −0.99… zeroes the column
        // (the weight collapses after one AdamW step); the sign is the same at ±1 and stays orthogonal.
        Q = mul(Q, unsqueeze(sign(diagonal(X, { axis1: -2, axis2: -1 })), -2));
      } else {
        X = tril(X);
        if (n !== k) X = concat([X, zeros([...X.shape.slice(0, -2), n, n - k], { dtype: X.dtype as 'float32' | 'float64', device: X.device })], -1);
        const A = sub(X, transpose(X));
        if (this.orthogonalMap === 'matrix_exp') Q = matrixExp(A);
        else {
          const I = eye(n, n, { dtype: A.dtype as 'float32' | 'float64', device: A.device });
          Q = solve(sub(I, mul(A, 0.5)), add(I, mul(A, 0.5)));
        }
        if (n !== k) Q = narrow(Q, -1, 0, k);
      }
      if (this.base) Q = matmul(this.base, Q);
      return transposed ? transpose(Q) : Q;
    });
  }

  /**
   * torch's right_inverse: with useTrivialization, base becomes Q completed
   * to an orthogonal n × n matrix (Q itself when square and orthogonal to
   * 10·n·ε, else Q of its QR with R's diagonal made positive; a tall Q is
   * completed with normal draws) and the original −I (forward then gives
   * base's first columns). Without it, NOT_SUPPORTED (matrix_exp and cayley
   * cannot be assigned, as in torch; householder needs geqrf, which antler
   * lacks).
   */
  rightInverse(Qin: Tensor): Tensor {
    const op = 'orthogonal';
    if (!sameShape(Qin.shape, this.shape))
      fail('SHAPE_MISMATCH', `${op}: expected a matrix or batch of matrices of shape [${this.shape.join(', ')}]; got [${Qin.shape.join(', ')}]`);
    if (!this.useTrivialization)
      fail('NOT_SUPPORTED', `${op}: the ${this.orthogonalMap} map cannot be assigned to when useTrivialization is false (PyTorch: NotImplementedError)`);
    const base = noGrad(() =>
      tidy(() => {
        let Q = Qin;
        let n = Q.shape[Q.rank - 2], k = Q.shape[Q.rank - 1];
        if (n < k) {
          Q = transpose(Q);
          [n, k] = [k, n];
        }
        const place = { dtype: Q.dtype as 'float32' | 'float64', device: Q.device };
        if (n === k) {
          const eps = Q.dtype === 'float64' ? 2 ** -52 : 2 ** -23;
          const gram = matmul(Q, Q, { transposeA: true });
          const I = broadcastTo(eye(k, k, place), gram.shape);
          return allClose(gram, I, { atol: 10 * n * eps, rtol: 1e-5 }) ? clone(Q) : makeOrthogonal(Q);
        }
        const N = randn([...Q.shape.slice(0, -2), n, n - k], { ...place, ...(this.seed === undefined ? {} : { seed: this.seed }) });
        return makeOrthogonal(concat([Q, N], -1));
      }),
    );
    if (this.base) {
      noGrad(() => this.base!.assign(base));
      base.dispose();
    } else this.base = this.registerBuffer('base', base);
    const r = Qin.shape[Qin.rank - 2], c = Qin.shape[Qin.rank - 1];
    return tidy(() => clone(broadcastTo(mul(eye(r, c, { dtype: Qin.dtype as 'float32' | 'float64', device: Qin.device }), -1), Qin.shape)));
  }
}

/** Options of orthogonal. */
export interface OrthogonalOptions {
  /** The parameter (default 'weight'). */
  name?: string;
  /** Default: 'matrix_exp' for a square weight, 'householder' otherwise (PyTorch's). */
  orthogonalMap?: OrthogonalMap;
  /** Multiply by a stored orthogonal base (default true, PyTorch's). false works with matrix_exp and cayley only. */
  useTrivialization?: boolean;
  /** Fixes the normal draws that complete a non-square weight's base (default: the global stream). */
  seed?: number;
}

/**
 * Orthogonal weights (torch.nn.utils.parametrizations.orthogonal):
 * `module[name]` (a matrix, or a batch over the leading axes) reads as an
 * orthogonal matrix — orthonormal columns, or rows when it is wide — and
 * stays one through training. At registration the weight becomes its QR's
 * Q (made orthogonal as torch does: see Orthogonal.rightInverse);
 * assigning `module[name] = Q` sets it to (the completion of) Q. State
 * dict: `parametrizations.weight.original` and
 * `parametrizations.weight.0.base`. Registered unsafe, as in torch.
 * Returns the module.
 *
 *   const lstm = nn.utils.parametrizations.orthogonal(new nn.LSTM(8, 16), { name: 'weight_hh_l0' });  // [64, 16]: householder
 */
export function orthogonal<M extends Module>(module: M, options?: OrthogonalOptions): M {
  const op = 'orthogonal';
  const m = checkModule(module, op);
  const o = checkOptions<OrthogonalOptions>(options, op, ['name', 'orthogonalMap', 'useTrivialization', 'seed']);
  const name = o.name ?? 'weight';
  const weight = Object.getOwnPropertyDescriptor(m, name)?.get ? listOf(m, name)?.original : props(m)[name];
  if (!(weight instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: this ${m.constructor.name} has no parameter '${name}'; got ${describe(weight)} there`);
  if (weight.rank < 2) fail('SHAPE_MISMATCH', `${op}: expected a matrix or batch of matrices; got a tensor of ${weight.rank} dimensions (shape [${weight.shape.join(', ')}])`);
  if (weight.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: the weight is int32; expected float32 or float64`);
  const square = weight.shape[weight.rank - 1] === weight.shape[weight.rank - 2];
  const map = o.orthogonalMap ?? (square ? 'matrix_exp' : 'householder');
  if (map !== 'matrix_exp' && map !== 'cayley' && map !== 'householder')
    fail('INVALID_ARGUMENT', `${op}: orthogonalMap must be 'matrix_exp', 'cayley' or 'householder'; got ${describe(o.orthogonalMap)}`);
  const triv = o.useTrivialization ?? true;
  if (typeof triv !== 'boolean') fail('INVALID_ARGUMENT', `${op}: useTrivialization must be a boolean; got ${describe(triv)}`);
  if (!triv && map === 'householder')
    fail('NOT_SUPPORTED', `${op}: householder with useTrivialization false needs geqrf (torch's right_inverse), which antler does not have; use useTrivialization true (the default) or another map`);
  if (o.seed !== undefined && (!Number.isInteger(o.seed) || o.seed < 0)) fail('INVALID_ARGUMENT', `${op}: seed must be a non-negative integer; got ${describe(o.seed)}`);
  const p = new Orthogonal(weight, map, triv, o.seed);
  try {
    registerParametrization(module, name, p, { unsafe: true });
    madeHere.add(p);
    return module;
  } catch (e) {
    p.dispose();
    throw e;
  }
}
