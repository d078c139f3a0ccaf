/**
 * Tensor lifetime bookkeeping: tidy() scopes and keep(). Every tensor made
 * by the library is registered with the innermost open scope; closing a scope
 * disposes what it holds except what the function returned or what was kept.
 */
import { fail } from './errors';
import { describe } from './validate';

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
  /** @internal */ kept: boolean;
}

const scopes: Set<Disposable>[] = [];

/**
 * @internal A method, on an object that owns several tensors (a
 * PackedSequence), returning them: tidy() and dispose() look into such an
 * object as into a plain one, so returning it keeps its tensors.
 */
export const HELD_TENSORS = Symbol('antler.heldTensors');

/** @internal Called by the Tensor constructor. */
export function track(t: Disposable): void {
  if (scopes.length) scopes[scopes.length - 1].add(t);
}

/** @internal True inside a tidy() scope (not counting isolated()'s). */
export function inScope(): boolean {
  return scopes.length > 0;
}

/** @internal Takes t out of every open scope: something else owns it now (a tensor's .grad). */
export function untrack(t: Disposable): void {
  for (const s of scopes) s.delete(t);
}

/**
 * @internal Runs fn with the user's tidy() scopes set aside, so tensors the
 * library keeps for itself (gradients, saved activations, optimizer state)
 * are not disposed when an enclosing user scope closes.
 */
export function isolated<T>(fn: () => T): T {
  const saved = scopes.splice(0, scopes.length);
  try {
    return fn();
  } finally {
    scopes.splice(0, scopes.length, ...saved);
  }
}

/**
 * Finds the tensors in value: itself, or inside arrays, plain objects (also
 * null-prototype ones), Maps and Sets at any depth (iteratively: no stack
 * limit). `others` collects anything else with a dispose() method.
 */
function collect(value: unknown, out: Set<Disposable>, others?: Set<{ dispose(): void }>): void {
  const seen = new Set<unknown>();
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    const held = (v as { [HELD_TENSORS]?: unknown })[HELD_TENSORS];
    if (typeof held === 'function') {
      for (const x of held.call(v) as unknown[]) stack.push(x);
      continue;
    }
    if (isTrackable(v)) {
      out.add(v);
      continue;
    }
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    // By tag, not instanceof: a Map or an object from another realm (a vm context, jest's) is one too.
    const tag = Object.prototype.toString.call(v);
    if (tag === '[object Map]') for (const x of Map.prototype.values.call(v)) stack.push(x);
    else if (tag === '[object Set]') for (const x of Set.prototype.values.call(v)) stack.push(x);
    else if (tag === '[object Object]' && isPlainObject(v)) for (const x of Object.values(v)) stack.push(x);
    else if (others && typeof (v as { dispose?: unknown }).dispose === 'function') others.add(v as { dispose(): void });
  }
}

/** An object literal (of any realm: its prototype is that realm's Object.prototype) or a null-prototype object. */
function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function isTrackable(v: object): v is Disposable {
  return typeof (v as Disposable).dispose === 'function' && 'kept' in v && 'isDisposed' in v;
}

/** @internal A promise or any thenable (what an async function returns). */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** T, unless it is a promise: tidy() of an async function is refused by the types as at run time. */
export type NotPromise<T> = T extends PromiseLike<unknown> ? never : T;

/**
 * Runs fn and disposes every tensor it created except those it returns (in
 * an array, plain object, Map or Set, at any depth) and those passed to
 * keep(). A returned `.grad` stays alive though its tensor is disposed.
 * Returned tensors belong to the enclosing scope, if any. fn must be
 * synchronous, as in TensorFlow.js.
 */
export function tidy<T>(fn: () => NotPromise<T>): T;
export function tidy<T>(name: string, fn: () => NotPromise<T>): T;
export function tidy<T>(nameOrFn: string | (() => T), maybeFn?: () => T): T {
  const fn = typeof nameOrFn === 'string' ? maybeFn : nameOrFn;
  if (typeof fn !== 'function')
    fail('INVALID_ARGUMENT', typeof nameOrFn === 'string'
      ? `tidy: expected the function to run after the name '${nameOrFn}'; got ${describe(maybeFn)}`
      : `tidy: expected tidy(fn) or tidy(name, fn); got ${describe(nameOrFn)} as the first argument`);
  if (typeof nameOrFn === 'function' && maybeFn !== undefined)
    fail('INVALID_ARGUMENT', `tidy: expected tidy(fn) or tidy(name, fn); got a function and then ${describe(maybeFn)}`);
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  const keepSet = new Set<Disposable>();
  try {
    result = fn();
    // Inside the try: a getter that throws while the result is searched frees the scope too.
    collect(result, keepSet);
  } catch (e) {
    scopes.pop();
    for (const t of scope) if (!t.kept) t.dispose();
    throw e;
  }
  scopes.pop();
  if (isThenable(result)) {
    for (const t of scope) if (!t.kept) t.dispose();
    // Its later rejection is the caller's to see through this error, not an unhandled rejection.
    Promise.resolve(result).catch(() => undefined);
    fail('INVALID_ARGUMENT', 'tidy: the function returned a Promise; tidy() only takes synchronous functions');
  }
  const released: Disposable[] = [];
  for (const t of scope) {
    if (keepSet.has(t) || t.kept) continue;
    // A returned gradient outlives the tensor it belongs to (tidy(() => { loss.backward(); return w.grad; })).
    const owner = t as Disposable & { grad?: Disposable | null; takeGrad?: () => unknown };
    if (owner.grad && keepSet.has(owner.grad) && owner.takeGrad) {
      // Taken out, not disposed: it is the result.
      released.push(owner.grad);
      owner.takeGrad();
    }
    t.dispose();
  }
  const parent = scopes[scopes.length - 1];
  // A released gradient is now this tidy's result: the enclosing scope owns it, as it owns what this scope made.
  if (parent) for (const g of released) parent.add(g);
  // Returned tensors made in this scope now belong to the enclosing one;
  // tensors from outer scopes stay where they were.
  if (parent) for (const t of keepSet) if (scope.has(t) && !t.isDisposed) parent.add(t);
  return result;
}

/** @internal tidy(fn), and the tensors fn made (in this scope or returned to it from nested ones): what it returned that is not among them existed before. */
export function tidyMade<T>(fn: () => NotPromise<T>): { result: T; made: ReadonlySet<Disposable> } {
  let made: Set<Disposable> = new Set();
  const result = tidy(() => {
    const scope = scopes[scopes.length - 1];
    const r = fn();
    made = new Set(scope);
    return r;
  });
  return { result, made };
}

/** Exempts t from disposal by any enclosing tidy(). Returns t. */
export function keep<T extends Disposable>(t: T): T {
  if (!t || !isTrackable(t)) fail('INVALID_ARGUMENT', 'keep: expected a Tensor (or a PackedSequence)');
  t.kept = true;
  return t;
}

/**
 * Disposes a tensor, or every tensor in an array / plain object / Map / Set,
 * and anything else there with a dispose() method (a module, an optimizer).
 */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  const others = new Set<{ dispose(): void }>();
  collect(value, found, others);
  for (const o of others) o.dispose();
  for (const t of found) t.dispose();
}

/** Number of open tidy() scopes (for diagnostics). */
export function scopeDepth(): number {
  return scopes.length;
}
