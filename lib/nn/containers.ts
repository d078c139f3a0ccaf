/**
 * PyTorch's dict and parameter containers: nn.ModuleDict, nn.ParameterList
 * and nn.ParameterDict. Each registers what it holds with the Module
 * registry (sub-modules under their keys, parameters under "0", "1", … or
 * their keys), so parameters(), stateDict() and optimizers see them, with
 * PyTorch's state-dict keys (`heads.cls.weight`, `scales.0`, `gains.k`).
 */
import { fail } from '../errors';
import { checkTensor, Tensor } from '../tensor';
import { describe } from '../validate';
import { Module } from './module';

/** What a dict container's constructor and update() take: an object, a Map, another dict container, or [key, value] pairs. */
export type DictInput<V> = Record<string, V> | Map<string, V> | Iterable<readonly [string, V]>;

/**
 * The [key, value] pairs of a dict input, in order: a Map's, a container's
 * or a pair iterable's own order; a plain object's keys in JavaScript's
 * order, or sorted when `sortObject` (PyTorch's ParameterDict.update sorts a
 * plain dict's keys; ModuleDict.update keeps their order).
 */
function pairsOf<V>(op: string, input: unknown, sortObject: boolean): [unknown, V][] {
  if (input === undefined || input === null) return [];
  if (input instanceof ModuleDict || input instanceof ParameterDict) return [...input.entries()] as [string, V][];
  if (input instanceof Map) return [...input.entries()];
  if (input instanceof Module || input instanceof Tensor)
    fail('INVALID_ARGUMENT', `${op}: expected an object, a Map or [key, value] pairs; got a ${input.constructor.name}`);
  if (typeof input === 'object' && typeof (input as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function') {
    const out: [unknown, V][] = [];
    let i = 0;
    for (const e of input as Iterable<unknown>) {
      // PyTorch: "update sequence element #i should be Iterable" / "has length n; 2 is required".
      if (!Array.isArray(e) || e.length !== 2)
        fail('INVALID_ARGUMENT', `${op}: element #${i} of the pairs must be a [key, value] array of length 2; got ${Array.isArray(e) ? `an array of length ${e.length}` : describe(e)}`);
      out.push([e[0], e[1] as V]);
      i++;
    }
    return out;
  }
  const proto = typeof input === 'object' ? Object.getPrototypeOf(input) : undefined;
  if (proto === Object.prototype || proto === null) {
    const entries = Object.entries(input as Record<string, V>);
    if (sortObject) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries;
  }
  return fail('INVALID_ARGUMENT', `${op}: expected an object, a Map or [key, value] pairs; got ${describe(input)}`);
}

/**
 * A container key as PyTorch's register_module / register_parameter take
 * it: a non-empty string without '.', and not the name of a member of the
 * container (a method such as keys or forward, or a field such as
 * training): PyTorch raises KeyError "attribute 'keys' already exists".
 */
function checkKey(c: Module, op: string, key: unknown, own: Map<string, unknown>): string {
  if (typeof key !== 'string') fail('INVALID_ARGUMENT', `${op}: a key must be a string; got ${describe(key)}`);
  if (key === '') fail('INVALID_ARGUMENT', `${op}: a key must not be the empty string`);
  if (key.includes('.')) fail('INVALID_ARGUMENT', `${op}: a key must not contain '.' (it separates the state dict's names); got '${key}'`);
  if (!own.has(key) && key in c)
    fail('INVALID_ARGUMENT', `${op}: key '${key}' is the name of a member of ${c.constructor.name} (as PyTorch's "attribute '${key}' already exists"); choose another key`);
  return key;
}

/**
 * A tensor made a parameter by a parameter container, as PyTorch converts a
 * plain tensor to nn.Parameter: a float leaf, marked to require grad in
 * place (the container then owns it, as a module owns its parameters).
 */
function checkParameterValue(op: string, what: string, t: unknown): Tensor {
  checkTensor(t, op, what);
  const p = t as Tensor;
  if (p.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: ${what} is int32; a parameter must be float32 or float64 (it takes gradients): cast it first`);
  if (!p.isLeaf) fail('INVALID_ARGUMENT', `${op}: ${what} (shape [${p.shape.join(', ')}]) is not a leaf tensor (it is the result of recorded ops); a parameter is what an optimizer updates: detach() it first`);
  return p;
}

/**
 * The lines toString() shows for a parameter container, as PyTorch's repr:
 * `(key): Parameter containing: [float32 of size 2x3]` (the device added
 * when it is not the CPU). Reads no tensor's values; a disposed container
 * lists nothing, as a disposed module lists no children.
 */
function parameterLines(c: Module, entries: Iterable<[string, Tensor]>): string {
  const name = `${c.constructor.name}${c.isDisposed ? ' (disposed)' : ''}`;
  if (c.isDisposed) return `${name}()`;
  const lines: string[] = [];
  for (const [k, t] of entries) {
    const what = t.isDisposed ? 'disposed' : `${t.dtype} of size ${t.shape.join('x')}${t.device === 'cpu' ? '' : ` on ${t.device}`}`;
    lines.push(`  (${k}): Parameter containing: [${what}]`);
  }
  return lines.length ? `${name}(\n${lines.join('\n')}\n)` : `${name}()`;
}

/**
 * What ModuleDict and ParameterDict share: entries by string key in
 * insertion order, registered under their keys by the subclass's set();
 * lookups, removal and iteration (the keys, as in Python).
 */
abstract class KeyedDict<V> extends Module implements Iterable<string> {
  protected readonly items = new Map<string, V>();

  abstract set(key: string, value: V): this;

  /** The entry under key; an unknown key throws (PyTorch's KeyError), listing the keys. */
  get(key: string): V {
    const v = this.items.get(key);
    if (v === undefined) fail('INVALID_ARGUMENT', `${this.constructor.name}.get: no ${this instanceof ParameterDict ? 'parameter' : 'module'} under key ${describe(key)}; the keys are [${[...this.items.keys()].map((k) => `'${k}'`).join(', ')}]`);
    return v;
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  /** Removes the entry under key (unregistered; not disposed: it may be used elsewhere). True if there was one. */
  delete(key: string): boolean {
    if (!this.items.has(key)) return false;
    this.items.delete(key);
    Module.forget(this, key);
    return true;
  }

  /** Removes the entry under key and returns it (PyTorch's pop); an unknown key throws. */
  pop(key: string): V {
    const v = this.get(key);
    this.delete(key);
    return v;
  }

  /** Removes every entry (PyTorch's clear). */
  clear(): void {
    for (const k of [...this.items.keys()]) this.delete(k);
  }

  keys(): IterableIterator<string> {
    return this.items.keys();
  }

  values(): IterableIterator<V> {
    return this.items.values();
  }

  entries(): IterableIterator<[string, V]> {
    return this.items.entries();
  }

  /** The number of entries. */
  get size(): number {
    return this.items.size;
  }

  [Symbol.iterator](): IterableIterator<string> {
    return this.items.keys();
  }
}

/**
 * Modules held by string keys, in insertion order, and registered under
 * those keys (torch.nn.ModuleDict): a state dict names their parameters
 * `prefix.key.param`. Keys are non-empty strings without '.' that are not a
 * member's name ('keys', 'forward', 'training', … are refused, as PyTorch
 * refuses its members). Setting an existing key replaces its module in
 * place (the order stays). Iterating gives the keys, as in Python; a plain
 * object given to the constructor or update() is taken in its key order,
 * as PyTorch takes a dict's (JavaScript puts integer-like keys such as '0'
 * first: pass a Map or [key, value] pairs to choose the order). No forward
 * of its own.
 */
export class ModuleDict<M extends Module = Module> extends KeyedDict<M> {

  constructor(modules?: DictInput<M> | ModuleDict<M>) {
    super();
    this.update(modules);
  }

  /** Adds or replaces the module under key (PyTorch's __setitem__). */
  set(key: string, m: M): this {
    const k = checkKey(this, 'ModuleDict.set', key, this.items);
    if (!(m instanceof Module)) fail('INVALID_ARGUMENT', `ModuleDict.set: the value for key '${k}' must be a Module; got ${describe(m)}`);
    this.registerModule(k, m);
    this.items.set(k, m);
    return this;
  }

  /** Adds or replaces each [key, module] of an object, a Map, another ModuleDict or pairs, in their order (PyTorch's update). */
  update(modules?: DictInput<M> | ModuleDict<M>): this {
    for (const [k, m] of pairsOf<M>('ModuleDict.update', modules, false)) this.set(k as string, m);
    return this;
  }

  forward(): never {
    fail('INVALID_ARGUMENT', "ModuleDict has no forward (as in PyTorch): call its modules in your own forward, e.g. this.heads.get('cls').forward(h)");
  }
}

/**
 * Parameters held in a list and registered as "0", "1", …
 * (torch.nn.ParameterList), so parameters(), stateDict() (`prefix.0`) and
 * optimizers see them. A tensor given to it becomes a parameter in place,
 * as PyTorch wraps a plain tensor in nn.Parameter: it must be a float leaf;
 * it is set to require grad and owned by the list (disposed with it).
 */
export class ParameterList extends Module implements Iterable<Tensor> {
  private readonly items: Tensor[] = [];

  constructor(values: Iterable<Tensor> = []) {
    super();
    if (values === null || typeof (values as Partial<Iterable<Tensor>>)[Symbol.iterator] !== 'function' || values instanceof Tensor)
      fail('INVALID_ARGUMENT', `ParameterList: expected an array (or iterable) of tensors; got ${values instanceof Tensor ? 'a single Tensor (wrap it in an array)' : describe(values)}`);
    this.extend(values);
  }

  /** Adds t at the end, registered under the next number. */
  append(t: Tensor): this {
    const p = checkParameterValue('ParameterList.append', `item ${this.items.length}`, t);
    this.registerParameter(String(this.items.length), p);
    this.items.push(p);
    return this;
  }

  /** Adds each tensor of ts at the end. */
  extend(ts: Iterable<Tensor>): this {
    if (ts === null || typeof (ts as Partial<Iterable<Tensor>>)[Symbol.iterator] !== 'function' || ts instanceof Tensor)
      fail('INVALID_ARGUMENT', `ParameterList.extend: expected an array (or iterable) of tensors; got ${ts instanceof Tensor ? 'a single Tensor (use append)' : describe(ts)}`);
    for (const t of ts) this.append(t);
    return this;
  }

  private index(op: string, i: number): number {
    const n = this.items.length;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < -n || i >= n)
      fail('INVALID_ARGUMENT', `${op}: index must be an integer in [${-n}, ${n}) for a list of ${n}; got ${describe(i)}`);
    return i < 0 ? i + n : i;
  }

  /** The i-th parameter; a negative i counts from the end, as in Python. */
  get(i: number): Tensor {
    return this.items[this.index('ParameterList.get', i)];
  }

  /** Replaces the i-th parameter (PyTorch's __setitem__); the old one is unregistered, not disposed. */
  set(i: number, t: Tensor): this {
    const k = this.index('ParameterList.set', i);
    const p = checkParameterValue('ParameterList.set', `the value for index ${i}`, t);
    this.registerParameter(String(k), p);
    this.items[k] = p;
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): IterableIterator<Tensor> {
    return this.items[Symbol.iterator]();
  }

  /** The parameters' dtypes and sizes, one a line, as PyTorch's repr: `(0): Parameter containing: [float32 of size 3]`. */
  toString(): string {
    return parameterLines(this, this.items.map((t, i): [string, Tensor] => [String(i), t]));
  }

  forward(): never {
    fail('INVALID_ARGUMENT', 'ParameterList has no forward (as in PyTorch): use its parameters in your own forward, e.g. this.scales.get(0)');
  }
}

/**
 * Parameters held by string keys, in insertion order, and registered under
 * those keys (torch.nn.ParameterDict): stateDict() names them
 * `prefix.key`. A tensor given to it becomes a parameter in place (a float
 * leaf, set to require grad and owned by the dict), as PyTorch wraps a
 * plain tensor in nn.Parameter. Keys follow ModuleDict's rules (a member's
 * name such as 'keys' or 'training' is refused). A plain object given to
 * the constructor or update() is added in sorted key order, as PyTorch's
 * update() sorts a plain dict's keys; a Map, a ParameterDict or pairs keep
 * their order. Iterating gives the keys, as in Python.
 */
export class ParameterDict extends KeyedDict<Tensor> {

  constructor(values?: DictInput<Tensor> | ParameterDict) {
    super();
    this.update(values);
  }

  /** Adds or replaces the parameter under key (the old one is unregistered, not disposed). */
  set(key: string, t: Tensor): this {
    const k = checkKey(this, 'ParameterDict.set', key, this.items);
    const p = checkParameterValue('ParameterDict.set', `the value for key '${k}'`, t);
    this.registerParameter(k, p);
    this.items.set(k, p);
    return this;
  }

  /** Adds or replaces each [key, tensor] (a plain object's keys sorted, as PyTorch's update; see the class). */
  update(values?: DictInput<Tensor> | ParameterDict): this {
    for (const [k, t] of pairsOf<Tensor>('ParameterDict.update', values, true)) this.set(k as string, t);
    return this;
  }

  /** The parameters' dtypes and sizes by key, one a line, as PyTorch's repr: `(k): Parameter containing: [float32 of size 3]`. */
  toString(): string {
    return parameterLines(this, this.items.entries());
  }

  forward(): never {
    fail('INVALID_ARGUMENT', "ParameterDict has no forward (as in PyTorch): use its parameters in your own forward, e.g. this.gains.get('k')");
  }
}
