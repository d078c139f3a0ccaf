/**
 * Tensor lifetime bookkeeping: tidy() scopes and keep(). Every tensor made
 * by the library is registered with the innermost open scope; closing a scope
 * disposes what it holds except what the function returned or what was kept.
 */
import { fail } from './errors';

export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
  /** @internal */ kept: boolean;
}

const scopes: Set<Disposable>[] = [];

/** @internal Called by the Tensor constructor. */
export function track(t: Disposable): void {
  if (scopes.length) scopes[scopes.length - 1].add(t);
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

function collect(value: unknown, out: Set<Disposable>, seen: Set<unknown>, others?: Set<{ dispose(): void }>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isTrackable(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, seen, others);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, seen, others);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, seen, others);
  else if (others && typeof (value as { dispose?: unknown }).dispose === 'function') others.add(value as { dispose(): void });
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
 * an array, plain object or Map, at any depth) and those passed to keep().
 * Returned tensors belong to the enclosing scope, if any. fn must be
 * synchronous, as in TensorFlow.js.
 */
export function tidy<T>(fn: () => NotPromise<T>): T;
export function tidy<T>(name: string, fn: () => NotPromise<T>): T;
export function tidy<T>(nameOrFn: string | (() => T), maybeFn?: () => T): T {
  const fn = typeof nameOrFn === 'function' ? nameOrFn : maybeFn;
  if (typeof fn !== 'function') fail('INVALID_ARGUMENT', 'tidy: expected a function');
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) if (!t.kept) t.dispose();
    throw e;
  }
  scopes.pop();
  const keepSet = new Set<Disposable>();
  collect(result, keepSet, new Set());
  if (isThenable(result)) {
    for (const t of scope) if (!t.kept) t.dispose();
    // Its later rejection is the caller's to see through this error, not an unhandled rejection.
    Promise.resolve(result).catch(() => undefined);
    fail('INVALID_ARGUMENT', 'tidy: the function returned a Promise; tidy() only takes synchronous functions');
  }
  for (const t of scope) {
    if (keepSet.has(t) || t.kept) continue;
    t.dispose();
  }
  const parent = scopes[scopes.length - 1];
  // Returned tensors made in this scope now belong to the enclosing one;
  // tensors from outer scopes stay where they were.
  if (parent) for (const t of keepSet) if (scope.has(t) && !t.isDisposed) parent.add(t);
  return result;
}

/** Exempts t from disposal by any enclosing tidy(). Returns t. */
export function keep<T extends Disposable>(t: T): T {
  if (!t || !isTrackable(t)) fail('INVALID_ARGUMENT', 'keep: expected a Tensor');
  t.kept = true;
  return t;
}

/**
 * Disposes a tensor, or every tensor in an array / plain object / Map, and
 * anything else there with a dispose() method (a module, an optimizer).
 */
export function dispose(value: unknown): void {
  const found = new Set<Disposable>();
  const others = new Set<{ dispose(): void }>();
  collect(value, found, new Set(), others);
  for (const o of others) o.dispose();
  for (const t of found) t.dispose();
}

/** Number of open tidy() scopes (for diagnostics). */
export function scopeDepth(): number {
  return scopes.length;
}
