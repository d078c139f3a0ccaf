/**
 * Module: PyTorch's nn.Module for antler. Parameters are leaf tensors with
 * requiresGrad, owned by the module (kept out of tidy() scopes); names and
 * layouts follow PyTorch so state dicts move between the two.
 */
import { inspect } from 'node:util';
import { defineFunction } from '../autograd/function';
import { afterBackwardPass, isGradEnabled, noGrad } from '../autograd/graph';
import { isolated, keep } from '../engine';
import { fail } from '../errors';
import { native } from '../native';
import { PackedSequence } from '../ops/packed';
import { checkTensor, Tensor, zeros } from '../tensor';
import { checkBoolean, checkDevice, checkOptions, describe } from '../validate';

/** Tensors that are some module's parameter, or were marked as one by parameter(). */
const parameterTensors = new WeakSet<Tensor>();

/**
 * Marks t as a parameter (PyTorch's nn.Parameter): it requires grad, and a
 * module it is assigned to (`this.scale = nn.parameter(ones([1]))`)
 * registers it under the property's name. Other tensors on a module's
 * properties, even with requiresGrad (a cached input), are not parameters.
 */
export function parameter(t: Tensor): Tensor {
  checkTensor(t, 'nn.parameter', 'its argument');
  if (!t.isLeaf) fail('INVALID_ARGUMENT', 'nn.parameter: t must be a leaf tensor (a parameter is what an optimizer updates); detach() it first');
  t.requiresGrad_(true);
  parameterTensors.add(t);
  parameterEpoch++;
  return t;
}

/** True while Module.dispose() walks a module (sync() then skips what it would throw for). */
let disposing = false;

/** Module's proxy traps (see Module's constructor). */
const MODULE_TRAPS: ProxyHandler<Module> = {
  defineProperty(target, key, desc) {
    const assigned = typeof key === 'string' && 'value' in desc;
    // A class field's definition (a full descriptor) of undefined is a subclass redeclaring a field
    // (`head!: nn.Linear` compiles to `head;` under ES2022 class fields) before its constructor assigns
    // it: let through; a plain assignment (`m.head = undefined`) defines the value alone and is judged.
    if (assigned && !(desc.value === undefined && 'configurable' in desc)) Module.guard(target, key, desc.value);
    const done = Reflect.defineProperty(target, key, desc);
    if (assigned) Module.adoptBuffer(target, key, desc.value);
    if (key !== 'syncedAt') Module.touch(target);
    // A module or parameter is registered at its assignment, as PyTorch's __setattr__ does, so the
    // registry's order (parameters(), stateDict()) is the order of the code, registerParameter/
    // registerModule calls included; anything else waits for the next use (sync()).
    if (assigned && (desc.value instanceof Module || (desc.value instanceof Tensor && parameterTensors.has(desc.value))))
      Module.syncNow(target, key, desc.value);
    return done;
  },
  // `delete m.fc` unregisters what the property held (PyTorch's __delattr__), whenever it happens.
  deleteProperty(target, key) {
    const done = Reflect.deleteProperty(target, key);
    if (typeof key === 'string') Module.forget(target, key);
    return done;
  },
};

/**
 * The error for anything but a parameter or null put on property `key`, which
 * holds parameter `name` (guard() at the assignment; the registry walk, as a
 * safety net, at the next use).
 */
function notAParameter(m: Module, key: string, name: string, v: unknown): never {
  const what = v instanceof Tensor ? `a plain Tensor ${v.isDisposed ? '(disposed)' : `of shape [${v.shape.join(', ')}]`}` : v instanceof Module ? `a ${v.constructor.name} module` : describe(v);
  fail('INVALID_ARGUMENT', `${m.constructor.name}: '${key}' holds ${name !== key ? `parameter '${name}'` : 'a parameter'}, so it takes a parameter or null; got ${what}: wrap a tensor with nn.parameter(t) (or copy values into the parameter under noGrad), or assign null to remove it`);
}

/** Bumped when a tensor becomes a parameter (nn.parameter(), registerParameter()): one already on a property may now be registered. */
let parameterEpoch = 0;

/** A name prefix as PyTorch's named_parameters(prefix) joins it: 'model' → 'model.' ('' stays ''). */
function dotted(prefix: unknown, op: string): string {
  if (typeof prefix !== 'string') fail('INVALID_ARGUMENT', `Module.${op}: prefix must be a string; got ${describe(prefix)}`);
  return prefix && !prefix.endsWith('.') ? `${prefix}.` : prefix;
}

/** @internal weightC → weight_c (a name PyTorch's state dicts use for a camelCase property). */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * The snake_case name that m's class declares as an alias of property `key`
 * (an accessor on its prototype, as SRUCell's scale_x for scaleX), or null.
 */
function declaredAlias(m: object, key: string): string | null {
  const snake = snakeCase(key);
  return snake !== key && snake in m && !Object.prototype.hasOwnProperty.call(m, snake) ? snake : null;
}

/** The modules whose toString() is running (a cycle's guard). */
const printing = new Set<Module>();

export abstract class Module {
  training = true;
  /**
   * Set by a fit() callback to stop training (early stopping, as Keras's
   * model.stopTraining): fit() ends the epoch after the current batch and
   * returns the history so far. fit() clears it when it starts.
   */
  stopTraining = false;
  private disposedModule = false;
  private readonly params = new Map<string, Tensor | null>();
  private readonly buffers = new Map<string, Tensor>();
  /** Buffers registered with persistent: false: in namedBuffers(), not in stateDict() (PyTorch's _non_persistent_buffers_set). */
  private readonly nonPersistent = new Set<string>();
  private readonly childMap = new Map<string, Module>();
  /** The forward hooks (registerForwardPreHook / registerForwardHook) and the forward they wrap; null while there are none. */
  private hookState: HookState | null = null;
  /** Tensors the module holds outside its registry and frees with itself (a weight recomputed before each forward: nn.utils.weightNorm). */
  private readonly ownedTensors = new Map<string, Tensor>();
  /** The parameterEpoch sync() last ran at, or −1 after a property changed (see MODULE_TRAPS). */
  private syncedAt = -1;

  abstract forward(...args: unknown[]): unknown;

  /**
   * Every module is seen through a proxy whose defineProperty trap (which
   * assignments and class fields both reach) checks an assignment over a
   * parameter when it happens, as PyTorch's __setattr__ does (see guard()).
   * Reads go straight to the module.
   */
  constructor() {
    return new Proxy(this, MODULE_TRAPS);
  }

  /** @internal A property of m changed: its next sync() walks the properties again. */
  static touch(m: Module): void {
    m.syncedAt = -1;
  }

  /**
   * @internal Brings m's registry up to date now (see MODULE_TRAPS), unless
   * `key` already registers `v` (`this.w = this.registerParameter('w', t)`,
   * what every built-in module does: no walk of the properties then).
   */
  static syncNow(m: Module, key: string, v: unknown): void {
    if (disposing || m.params.get(key) === v || m.childMap.get(key) === v) return;
    m.sync();
  }

  /**
   * @internal A tensor assigned to a registered buffer's property replaces
   * the buffer, kept at once (an assignment inside tidy() would otherwise be
   * freed with the scope); null removes it (the running-statistics pattern:
   * `this.avg = noGrad(() => …)`). The module owned the old buffer: it is
   * freed, unless the module still holds it elsewhere.
   */
  static adoptBuffer(m: Module, key: string, v: unknown): void {
    if (disposing) return;
    // A camelCase property holds the buffer of its snake_case name when the class declares that name
    // as its alias (SRUCell's scale_x accessor stands for scaleX); otherwise the two are unrelated.
    const alias = declaredAlias(m, key);
    const name = m.buffers.has(key) ? key : alias !== null && m.buffers.has(alias) ? alias : null;
    if (name === null) return;
    const old = m.buffers.get(name)!;
    if (v === null) {
      m.buffers.delete(name);
      m.nonPersistent.delete(name);
    }
    else if (v instanceof Tensor && !v.isDisposed && v !== old) m.buffers.set(name, isolated(() => keep(v)));
    else return;
    const self = m as unknown as Record<string, unknown>;
    const held = [...m.buffers.values(), ...m.params.values()].includes(old) || Object.keys(self).some((k) => self[k] === old);
    if (!held) old.dispose();
  }

  /**
   * @internal Unregisters buffer `name` of m without freeing it (it moves elsewhere: a parametrization's
   * original); its property stays until deleted. False when m has no such buffer.
   */
  static releaseBuffer(m: Module, name: string): boolean {
    return m.buffers.delete(name);
  }

  /** @internal Registers t as buffer `name` of m (registerBuffer from outside the class: a parametrization's original). */
  static addBuffer(m: Module, name: string, t: Tensor): Tensor {
    return m.registerBuffer(name, t);
  }

  /**
   * @internal Registers items[from…] as m's children "from", "from + 1", …
   * again, after an edit of a numbered container (ModuleList, Sequential),
   * so that the registry, and with it stateDict()'s keys, follows the list as
   * PyTorch's renumbered _modules; names from items.length up to `before`
   * (the old length) are dropped. A numbered own property (`seq['0'] = m`)
   * goes with its name, or the next sync() would register it again.
   */
  static renumberChildren(m: Module, items: readonly Module[], from: number, before: number): void {
    const self = m as unknown as Record<string, unknown>;
    for (let i = from; i < Math.max(before, items.length); i++) {
      const key = String(i);
      if (Object.prototype.hasOwnProperty.call(self, key)) delete self[key];
      else Module.forget(m, key);
    }
    for (let i = from; i < items.length; i++) m.registerModule(String(i), items[i]);
  }

  /**
   * @internal Makes `entries` m's children, in that order and under those
   * names, dropping every child registered before (a named Sequential's
   * edit: PyTorch rebuilds its _modules OrderedDict). A child held through an
   * own property (`seq['0'] = m`) goes with its property.
   */
  static replaceChildren(m: Module, entries: readonly (readonly [string, Module])[]): void {
    const self = m as unknown as Record<string, unknown>;
    for (const key of [...m.childModules().keys()]) {
      if (Object.prototype.hasOwnProperty.call(self, key)) delete self[key];
      else Module.forget(m, key);
    }
    for (const [key, c] of entries) m.registerModule(key, c);
  }

  /** @internal Registers t as parameter `name` of m (registerParameter from outside the class: a parametrized tensor put back). */
  static addParameter(m: Module, name: string, t: Tensor): Tensor {
    return m.registerParameter(name, t);
  }

  /**
   * @internal Property `key` was deleted: what it registered goes too. A
   * buffer is freed with it, as a replaced one is (adoptBuffer); a parameter
   * or sub-module may be shared (tied weights), so it is left to its owner.
   */
  static forget(m: Module, key: string): void {
    if (m.buffers.has(key)) Module.adoptBuffer(m, key, null);
    m.params.delete(key);
    m.childMap.delete(key);
    m.syncedAt = -1;
  }

  /**
   * @internal Throws for an assignment of anything but a parameter or null to
   * a property that holds a parameter (registered, or marked by
   * nn.parameter() and not yet registered) or is named like a registered
   * one: PyTorch raises there, and letting it pass would train and save the
   * old parameter while the property shows the new value.
   */
  static guard(m: Module, key: string, v: unknown): void {
    if (disposing || v === null || (v instanceof Tensor && parameterTensors.has(v))) return;
    const self = m as unknown as Record<string, unknown>;
    const own = (k: string) => Object.prototype.hasOwnProperty.call(self, k);
    const old = own(key) ? self[key] : undefined;
    const snake = snakeCase(key);
    // A sub-module's property takes a module or null (PyTorch's __setattr__ raises too: the registry
    // would keep training and saving the old module while the property shows the new value).
    const child = old instanceof Module ? old : own(key) ? undefined : m.childMap.get(key);
    if (child instanceof Module && !(v instanceof Module) && !m.params.get(key))
      fail('INVALID_ARGUMENT', `${m.constructor.name}: '${key}' holds a ${child.constructor.name} sub-module, so it takes a Module or null; got ${v instanceof Tensor ? `a Tensor of shape [${v.isDisposed ? 'disposed' : v.shape.join(', ')}]` : describe(v)} (delete the property, or assign null, to remove the sub-module)`);
    const name = m.params.get(key) ? key : snake !== key && m.params.get(snake) && !own(snake) ? snake : null;
    if (name === null && !(old instanceof Tensor && parameterTensors.has(old) && !old.isDisposed)) return;
    notAParameter(m, key, name ?? key, v);
  }

  /** Registers (and takes ownership of) a parameter under `name` (PyTorch's register_parameter); null reserves the name. */
  protected registerParameter(name: string, t: Tensor): Tensor;
  protected registerParameter(name: string, t: Tensor | null): Tensor | null;
  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    this.checkNewName(name, 'registerParameter', this.params);
    if (t !== null && !(t instanceof Tensor)) fail('INVALID_ARGUMENT', `registerParameter: '${name}' must be a Tensor or null; got ${describe(t)}`);
    if (t) {
      isolated(() => keep(t));
      t.requiresGrad_(true);
      parameterTensors.add(t);
      parameterEpoch++;
    }
    this.params.set(name, t);
    return t;
  }

  /**
   * Registers a non-trainable tensor (running statistics), moved by to() and
   * cast() with the parameters and saved in the state dict; `persistent:
   * false` (PyTorch's register_buffer(…, persistent=False): a constant such
   * as a causal mask or a positional table) leaves it out of stateDict() and
   * of what loadStateDict() expects, as PyTorch's, while namedBuffers()
   * still lists it.
   */
  protected registerBuffer(name: string, t: Tensor, options?: { persistent?: boolean }): Tensor {
    this.checkNewName(name, 'registerBuffer', this.buffers);
    checkTensor(t, 'registerBuffer', `'${name}'`);
    const o = checkOptions<{ persistent: boolean }>(options, 'registerBuffer', ['persistent']);
    const persistent = o.persistent === undefined ? true : checkBoolean(o.persistent, 'registerBuffer', 'persistent');
    keep(t);
    this.buffers.set(name, t);
    if (persistent) this.nonPersistent.delete(name);
    else this.nonPersistent.add(name);
    return t;
  }

  /** Registers a sub-module under `name` (a property holding a Module is registered by itself too). */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.checkNewName(name, 'registerModule', this.childMap);
    if (!(m instanceof Module)) fail('INVALID_ARGUMENT', `registerModule: '${name}' must be a Module; got ${describe(m)}`);
    this.childMap.set(name, m);
    return m;
  }

  /**
   * A registry name as PyTorch's register_* take it: a non-empty string
   * without '.', not already a parameter, buffer or sub-module of another
   * kind (`own` is the registry being added to, where the name may be reused).
   */
  private checkNewName(name: unknown, op: string, own: Map<string, unknown>): void {
    if (typeof name !== 'string' || name === '' || name.includes('.'))
      fail('INVALID_ARGUMENT', `${op}: the name must be a non-empty string without '.'; got ${describe(name)}`);
    for (const [kind, reg] of [['a parameter', this.params], ['a buffer', this.buffers], ['a sub-module', this.childMap]] as const)
      if (reg !== own && reg.has(name)) fail('INVALID_ARGUMENT', `${op}: '${name}' is already ${kind} of this ${this.constructor.name}`);
  }

  /** Direct sub-modules, in registration order. */
  namedChildren(): [string, Module][] {
    // A child held under two names is listed once, under its first (PyTorch's named_children()).
    const seen = new Set<Module>();
    return [...this.childModules().entries()].filter(([, m]) => !seen.has(m) && Boolean(seen.add(m)));
  }

  /** Direct sub-modules, each once, in registration order (PyTorch's children()). */
  children(): Module[] {
    return [...new Set(this.childModules().values())];
  }

  /**
   * This module (named prefix, '' by default) and every module inside it,
   * depth first in registration order, with dotted names ('encoder',
   * 'encoder.0', …); a module reached twice is listed once, under its first
   * name (PyTorch's named_modules()).
   */
  namedModules(prefix = ''): [string, Module][] {
    if (typeof prefix !== 'string') fail('INVALID_ARGUMENT', `Module.namedModules: prefix must be a string; got ${describe(prefix)}`);
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, name: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      // A prefix ending in '.' is joined as namedParameters joins it (dotted()): 'model.' → 'model.enc'.
      for (const [n, c] of m.childModules()) visit(c, name ? `${name.endsWith('.') ? name : `${name}.`}${n}` : n);
    };
    visit(this, prefix);
    return out;
  }

  /** This module and every module inside it, each once (see namedModules). */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * Calls fn on every sub-module, then on this one, as PyTorch's apply()
   * (a custom initialisation: `m instanceof nn.Linear`): children first, a
   * child listed once per parent (children()), so a module reached along two
   * paths gets fn twice, as there; a parent link (a module holding one of
   * its ancestors) is not followed. Returns this.
   */
  apply(fn: (m: Module) => void): this {
    if (typeof fn !== 'function') fail('INVALID_ARGUMENT', `Module.apply: expected a function of a module; got ${describe(fn)}`);
    const path = new Set<Module>();
    const visit = (m: Module) => {
      path.add(m);
      for (const c of m.children()) if (!path.has(c)) visit(c);
      path.delete(m);
      fn(m);
    };
    visit(this);
    return this;
  }

  /**
   * Runs hook(module, args) before every forward (PyTorch's
   * register_forward_pre_hook): it may return undefined (args as they are),
   * an array (the new argument list) or one value (the new single
   * argument). Hooks run in the order registered (prepend: true puts this
   * one first). Returns a handle whose remove() unregisters it.
   */
  registerForwardPreHook(hook: ForwardPreHook, options?: { prepend?: boolean }): RemovableHandle {
    return this.addHook('pre', hook, options, 'registerForwardPreHook');
  }

  /**
   * Runs hook(module, args, output) after every forward (PyTorch's
   * register_forward_hook): it may return undefined (output as it is) or a
   * new output, which the next hook and the caller see. Returns a handle
   * whose remove() unregisters it.
   */
  registerForwardHook(hook: ForwardHook, options?: { prepend?: boolean }): RemovableHandle {
    return this.addHook('post', hook, options, 'registerForwardHook');
  }

  /**
   * Runs hook(module, gradInput, gradOutput) once per backward pass through
   * each forward call made while it is registered (PyTorch's
   * register_full_backward_hook): gradOutput holds the gradients of the
   * forward's output tensors (its result, each Tensor of an array it
   * returned, or each field of a plain object: a recurrent layer's {output,
   * hidden, stats}, null for a field that is not a Tensor; a Tensor nested
   * deeper is not wrapped, as torch 1.13's), gradInput those of its
   * positional arguments (null for an argument that is not a Tensor; zeros
   * of its shape and dtype for a Tensor that does not require grad while
   * another does, as torch 1.13, a replacement there dropped). The hooks
   * are those registered when the forward ran, as torch's. It may return
   * undefined (the gradients as they are) or an array of gradInput's length
   * whose Tensors (each of its gradient's shape, dtype and device) replace
   * them on their way to the inputs; null keeps one. When no input requires
   * grad, the hook gets an all-null gradInput and must return undefined (or
   * all nulls), as PyTorch. As in PyTorch the forward sees identity copies of
   * its tensor arguments (the gradient's way back), and writing one in place
   * (assign) is refused; forward hooks see the output before it is wrapped.
   * Backward through these copies is not twice differentiable (createGraph
   * through a hooked module is NOT_SUPPORTED). Returns a handle whose
   * remove() unregisters the hook (forward calls made before keep it).
   *
   *   layer.registerFullBackwardHook((m, gin, gout) => { norms.push(antler.norm(gout[0]).item()); });
   */
  registerFullBackwardHook(hook: FullBackwardHook, options?: { prepend?: boolean }): RemovableHandle {
    return this.addHook('backward', hook, options, 'registerFullBackwardHook');
  }

  /**
   * Runs hook(module, gradOutput) when the gradients of a forward call's
   * outputs are known, before the module's own backward (PyTorch 2's
   * register_full_backward_pre_hook): it may return undefined or an array
   * of gradOutput's length whose Tensors (each of its gradient's shape)
   * replace them; full backward hooks then see the replaced gradOutput.
   */
  registerFullBackwardPreHook(hook: FullBackwardPreHook, options?: { prepend?: boolean }): RemovableHandle {
    return this.addHook('backwardPre', hook, options, 'registerFullBackwardPreHook');
  }

  private addHook(kind: HookKind, hook: ForwardPreHook | ForwardHook | FullBackwardHook | FullBackwardPreHook, options: { prepend?: boolean } | undefined, op: string): RemovableHandle {
    if (typeof hook !== 'function') fail('INVALID_ARGUMENT', `Module.${op}: expected a function; got ${describe(hook)}`);
    const o = checkOptions<{ prepend: boolean }>(options, `Module.${op}`, ['prepend']);
    const prepend = o.prepend === undefined ? false : checkBoolean(o.prepend, `Module.${op}`, 'prepend');
    const state = this.hookState ?? this.wrapForward();
    const list = state[kind];
    const entry = { id: ++hookCounter, hook } as HookEntry;
    if (prepend) list.unshift(entry);
    else list.push(entry);
    return this.handleOf(state, list, entry);
  }

  private handleOf(state: HookState, list: HookEntry[], entry: HookEntry): RemovableHandle {
    return {
      id: entry.id,
      remove: () => {
        const i = list.indexOf(entry);
        if (i < 0) return;
        list.splice(i, 1);
        if (HOOK_KINDS.every((k) => state[k].length === 0) && this.hookState === state) this.unwrapForward(state);
      },
    };
  }

  /**
   * @internal The handle of m's forward hook `id` (one a copy of the module
   * carries over from its original's: clone()), or null.
   */
  static hookHandle(m: Module, id: number): RemovableHandle | null {
    const state = m.hookState;
    if (!state) return null;
    for (const list of HOOK_KINDS.map((k) => state[k])) {
      const entry = list.find((e) => e.id === id);
      if (entry) return m.handleOf(state, list, entry);
    }
    return null;
  }

  /**
   * A deep copy of the module (PyTorch's copy.deepcopy(module)): an object
   * of the same class whose parameters, buffers and sub-modules are copies
   * holding the same values, on the same device and in the same dtypes.
   * What the original shares stays shared in the copy (tied weights stay
   * tied, a sub-module used twice is one copy used twice); parameters keep
   * requiresGrad and get no .grad (as PyTorch's deep-copied parameters);
   * every other property is copied too (arrays, maps, sets, plain objects,
   * typed arrays, other objects field by field; numbers, strings and
   * booleans as they are), the training mode with them. Forward hooks
   * come along (the same functions, each with a handle of its own:
   * removing one from the original leaves the copy's), and so does
   * nn.utils.weightNorm. Functions held on properties are shared, as
   * deepcopy shares them: a closure that captured the original still
   * reaches the original, and so does a bound one (`this.f =
   * this.g.bind(this)`, which deepcopy would rebind to the copy: use a
   * method instead). Tensors on other fields (a constant kept outside the
   * buffers, a cache) are copied detached and belong to the copy, which
   * frees them with itself (dispose()); a Map, Set or Array subclass keeps
   * its class. A class with JavaScript #private fields cannot be copied
   * field by field (its methods throw on the copy): give it a
   * clone() of its own. No random draws are taken.
   *
   *   const target = policy.clone();   // a target network
   *   const ema = new optim.AveragedModel(model);   // copies the model with clone()
   */
  clone(): this {
    this.checkUsable('Module.clone');
    const copier = new ModuleCopier();
    try {
      const copy = isolated(() => copier.copy(this)) as this;
      copier.finish();
      return copy;
    } catch (e) {
      copier.abandon();
      throw e;
    }
  }

  /**
   * @internal The tensors clone() made for each copy outside every copy's
   * registry (a plain tensor field, a cache: `this.pe = tensor(…)`) become
   * that copy's own (holdOwned's list, freed with it): nobody else holds
   * them, so disposing the copy would otherwise leave them behind.
   */
  static ownCopies(madeFor: Map<Module, Tensor[]>): void {
    const registered = new Set<Tensor | null>();
    for (const m of madeFor.keys()) for (const t of [...m.params.values(), ...m.buffers.values(), ...m.ownedTensors.values()]) registered.add(t);
    for (const [m, tensors] of madeFor) for (const t of tensors) if (!registered.has(t)) m.ownedTensors.set(`\0clone:${m.ownedTensors.size}`, t);
  }

  /** @internal ModuleCopier's part inside the class: a copy of m's own fields on a new module of m's class. */
  static copyFields(m: Module, copyValue: (v: unknown) => unknown, remember: (copy: Module) => void): Module {
    const target = Object.create(Object.getPrototypeOf(m) as object) as Module;
    const copy = new Proxy(target, MODULE_TRAPS);
    remember(copy);
    const hooks = m.hookState;
    for (const key of Reflect.ownKeys(m)) {
      // The hook wrapper's forward accessor closes over the original: the copy gets a wrapper of its own below.
      if ((hooks && key === 'forward') || key === 'hookState') continue;
      const d = Object.getOwnPropertyDescriptor(m, key)!;
      if ('value' in d) d.value = copyValue(d.value);
      Object.defineProperty(target, key, d);
    }
    target.hookState = null;
    target.syncedAt = -1;
    if (hooks) {
      if (hooks.ownForward) Object.defineProperty(target, 'forward', { ...hooks.ownForward });
      const state = copy.wrapForward();
      for (const k of HOOK_KINDS) state[k].push(...hooks[k].map((e) => ({ ...e })));
    }
    return copy;
  }

  /** Replaces forward by one that runs the hooks around the module's own. */
  private wrapForward(): HookState {
    const self = this as unknown as Record<string, unknown>;
    const ownForward = Object.prototype.hasOwnProperty.call(self, 'forward') ? Object.getOwnPropertyDescriptor(self, 'forward')! : null;
    let inner = self.forward as (...a: unknown[]) => unknown;
    const state: HookState = { pre: [], post: [], backward: [], backwardPre: [], ownForward };
    const module = this;
    const forward = function (this: unknown, ...given: unknown[]): unknown {
      forwardDepths.set(module, (forwardDepths.get(module) ?? 0) + 1);
      try {
        return runHooked(given);
      } finally {
        forwardDepths.set(module, forwardDepths.get(module)! - 1);
      }
    };
    const runHooked = (given: unknown[]): unknown => {
      let args = given;
      // A copy of each list: a hook may remove itself (or another) as it runs.
      for (const { hook } of [...state.pre]) {
        const r = (hook as ForwardPreHook)(module, args);
        if (r !== undefined) args = Array.isArray(r) ? [...r] : [r];
      }
      const backward = (state.backward.length > 0 || state.backwardPre.length > 0) && isGradEnabled() ? new BackwardHooks(module, state, args) : null;
      if (backward) args = backward.wrapInputs();
      let out: unknown;
      try {
        out = inner.apply(module, args);
        for (const { hook } of [...state.post]) {
          const r = (hook as ForwardHook)(module, args, out);
          if (r !== undefined) out = r;
        }
      } catch (e) {
        try {
          backward?.release(null);
        } catch {
          // the forward's own error is the one to report
        }
        throw e;
      }
      return backward ? backward.wrapOutputs(out) : out;
    };
    // Not enumerable: the registry walk and toString() look at the module's own enumerable properties.
    // An accessor: a forward assigned while hooks are registered (m.forward = f) is the one they wrap,
    // and the one left when the last hook goes (as PyTorch's hooks belong to the module, not to forward).
    Object.defineProperty(self, 'forward', {
      get: () => forward,
      set: (f: unknown) => {
        inner = f as (...a: unknown[]) => unknown;
        state.ownForward = { value: f, writable: true, configurable: true, enumerable: true };
      },
      configurable: true,
      enumerable: false,
    });
    this.hookState = state;
    return state;
  }

  private unwrapForward(state: HookState): void {
    const self = this as unknown as Record<string, unknown>;
    if (state.ownForward) Object.defineProperty(self, 'forward', state.ownForward);
    else delete self.forward;
    this.hookState = null;
  }

  /**
   * @internal Keeps t on property `key` as a tensor the module owns outside
   * its registry (not a parameter or buffer; not in the state dict): kept
   * out of tidy() scopes, the tensor it replaces freed, freed with the
   * module (nn.utils.weightNorm's recomputed weight). null frees the one held.
   */
  static holdOwned(m: Module, key: string, t: Tensor | null, onProperty = true): void {
    const old = m.ownedTensors.get(key);
    const self = m as unknown as Record<string, unknown>;
    // onProperty false: held only (nn.utils.parametrize's weight for one forward: its property is a getter).
    if (t) {
      isolated(() => keep(t));
      m.ownedTensors.set(key, t);
      if (onProperty) self[key] = t;
    } else {
      m.ownedTensors.delete(key);
      if (onProperty) delete self[key];
    }
    if (old && old !== t && !old.isDisposed) old.dispose();
  }

  /** @internal The tensor m holds on `key` by holdOwned, or undefined. */
  static owned(m: Module, key: string): Tensor | undefined {
    return m.ownedTensors.get(key);
  }

  /**
   * @internal How many calls of m's forward are running (1 in a forward, more
   * when it calls itself; 0 after one that threw), counted while m has
   * forward hooks (nn.utils.parametrize registers one).
   */
  static forwardDepth(m: Module): number {
    return forwardDepths.get(m) ?? 0;
  }

  /**
   * Sets requiresGrad on every parameter (PyTorch's requires_grad_()):
   * `encoder.requiresGrad_(false)` freezes a part of a model, whose
   * parameters then get no .grad, so optimizers leave them as they are.
   * Returns this.
   */
  requiresGrad_(flag = true): this {
    const on = checkBoolean(flag, 'Module.requiresGrad_', 'flag');
    this.checkUsable('Module.requiresGrad_');
    for (const p of this.parameters()) p.requiresGrad = on;
    return this;
  }

  /**
   * The registry brought up to date with the module's own properties, as
   * PyTorch's __setattr__ keeps it: a property holding a Module, or a
   * parameter (see parameter(); any module's parameter counts), that nothing
   * registered is registered under the property's name (`this.fc = new
   * nn.Linear(…)` works without registerModule); a property named like a
   * registered parameter or sub-module that now holds another one replaces
   * it (tied weights: `this.out.weight = this.embed.weight`), and null there
   * removes it.
   */
  private sync(): void {
    // Runs on every forward (checkUsable): skipped while no property changed (the proxy's trap
    // says when one does) and no tensor became a parameter since the last walk.
    if (this.syncedAt === parameterEpoch) return;
    this.walkProperties();
    this.syncedAt = parameterEpoch;
  }

  private walkProperties(): void {
    const self = this as unknown as Record<string, unknown>;
    let known: Set<unknown> | null = null;
    for (const key of Object.keys(self)) {
      const v = self[key];
      if (v !== null && !(v instanceof Module) && !(v instanceof Tensor)) {
        // A registered parameter's property given something else (undefined from a typo, a number):
        // PyTorch's __setattr__ raises; ignoring it would train and save the old parameter.
        if (!disposing && this.params.get(key)) notAParameter(this, key, key, v);
        continue;
      }
      // A camelCase property holds the parameter of its snake_case name (SRUCell's weightC is weight_c),
      // unless a property of that name exists too (then the two are different parameters). Runs on
      // every forward (checkUsable): a module-valued property never names a parameter.
      const snake = v instanceof Module || this.params.has(key) ? key : snakeCase(key);
      const name = snake !== key && Object.prototype.hasOwnProperty.call(self, snake) ? key : snake;
      if (this.params.has(name)) {
        if (v instanceof Module && this.params.get(name) && !disposing) notAParameter(this, key, name, v);
        if (v === null) this.params.set(name, null);
        else if (v instanceof Tensor && v !== this.params.get(name)) {
          // PyTorch's __setattr__ raises here (a tensor that is not an nn.Parameter): ignoring it
          // would train and save the old parameter while the property shows the new tensor.
          if (!parameterTensors.has(v)) {
            if (disposing) continue; // dispose() frees what is registered and never throws for this
            notAParameter(this, key, name, v);
          }
          if (!v.isDisposed) this.params.set(name, isolated(() => keep(v)));
        }
        continue;
      }
      // A sub-module's property, or the camelCase handle of one its class declares by its snake_case
      // name (null there removes it: SRUCell's layerNorm = null).
      const alias = v === null ? declaredAlias(this, key) : null;
      const child = this.childMap.has(key) ? key : alias !== null && this.childMap.has(alias) ? alias : null;
      if (child !== null) {
        if (v === null) this.childMap.delete(child);
        else if (v instanceof Module && v !== this.childMap.get(child)) this.childMap.set(child, v);
        continue;
      }
      if (v === null || this.buffers.has(key)) continue;
      // A module or parameter held by a second property is registered under that name too, as
      // PyTorch's __setattr__ does (self.dec = self.enc): stateDict() lists both names and
      // parameters() each tensor once. A buffer held by a second property stays a plain attribute.
      known ??= new Set<unknown>(this.buffers.values());
      if (known.has(v)) continue;
      // The camelCase handle of a module registered under its snake_case name (nn.SRU's layerNorm is
      // layer_norm), as for parameters above, is not a second name; nor is one whose snake_case name
      // the class defines as its alias (SRUCell's layer_norm accessor: a layer norm given to a cell
      // made without one is saved as layer_norm, as in PyTorch).
      const snakeKey = snakeCase(key);
      if (v instanceof Module && snakeKey !== key && (this.childMap.has(snakeKey) || snakeKey in self) && !Object.prototype.hasOwnProperty.call(self, snakeKey)) {
        // A new module given to that handle replaces the registered one (cell.layerNorm = new LayerNorm(…)).
        this.childMap.set(snakeKey, v);
        continue;
      }
      if (v instanceof Module) this.childMap.set(key, v);
      else if (parameterTensors.has(v) && !v.isDisposed) this.params.set(key, isolated(() => keep(v)));
    }
  }

  /** The parameters, then the buffers saved in the state dict (not the persistent: false ones), by name. */
  private persistentEntries(): Map<string, Tensor | null> {
    return new Map<string, Tensor | null>([...this.params, ...[...this.buffers].filter(([n]) => !this.nonPersistent.has(n))]);
  }

  private childModules(): Map<string, Module> {
    this.sync();
    return this.childMap;
  }

  /** @internal Every registered child in registration order, a child held under two names twice (Sequential's layers). */
  protected registeredChildren(): Module[] {
    return [...this.childModules().values()];
  }

  /** @internal registeredChildren() with their names. */
  protected registeredEntries(): [string, Module][] {
    return [...this.childModules().entries()];
  }

  /**
   * All parameters with dotted names (weight, 0.bias, rnn_lst.1.weight, ...).
   * As in PyTorch, a parameter reached twice (a module used in two places,
   * tied weights) is listed once, under its first name, unless
   * removeDuplicate is false.
   */
  namedParameters(prefix = '', removeDuplicate = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    this.collect(dotted(prefix, 'namedParameters'), (m) => m.params, out);
    return removeDuplicate ? firstOfEach(out) : out;
  }

  /** Every parameter once (see namedParameters). */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Buffers with dotted names; a shared one once unless removeDuplicate is false. */
  namedBuffers(prefix = '', removeDuplicate = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    this.collect(dotted(prefix, 'namedBuffers'), (m) => m.buffers, out);
    return removeDuplicate ? firstOfEach(out) : out;
  }

  private collect(prefix: string, own: (m: Module) => Map<string, Tensor | null>, out: [string, Tensor][], path = new Set<Module>()): void {
    const children = this.childModules();
    for (const [n, t] of own(this)) if (t) out.push([prefix + n, t]);
    path.add(this);
    // A module that holds one of its ancestors (a parent link) is not entered again.
    for (const [n, c] of children) if (!path.has(c)) c.collect(`${prefix}${n}.`, own, out, path);
    path.delete(this);
  }

  /**
   * Parameters and buffers by name, as views that share the module's
   * storage (dispose them when done, or call inside tidy()). A shared
   * parameter appears under each of its names, as in PyTorch.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    // Module by module, each one's parameters then its buffers (PyTorch's state_dict order).
    const entries: [string, Tensor][] = [];
    this.collect('', (m) => m.persistentEntries(), entries);
    for (const [n, t] of entries) out[n] = t.detach();
    return out;
  }

  /**
   * Copies values from a state dict into this module's tensors in place (the
   * parameter objects stay the same, so optimizers remain bound). strict
   * (default) requires exactly the same keys, except that a tensor held under
   * several names (a module or parameter assigned to two properties) needs
   * only one of them, as safetensors' load_model accepts (its save_model
   * keeps one name of a shared tensor); shapes must always match. Values may
   * come from any device and float dtype (they are converted).
   */
  loadStateDict(dict: Record<string, Tensor>, options?: { strict?: boolean }): { missingKeys: string[]; unexpectedKeys: string[] } {
    const o = checkOptions<{ strict: boolean }>(options, 'loadStateDict', ['strict']);
    const strict = o.strict === undefined ? true : checkBoolean(o.strict, 'loadStateDict', 'strict');
    if (dict === null || typeof dict !== 'object') fail('INVALID_ARGUMENT', `loadStateDict: expected an object of tensors; got ${describe(dict)}`);
    // What stateDict() lists, in its order (PyTorch's missing_keys order), a shared tensor under each name.
    const ownEntries: [string, Tensor][] = [];
    this.collect('', (m) => m.persistentEntries(), ownEntries);
    const own = new Map(ownEntries);
    const given = new Set([...own].filter(([k]) => k in dict).map(([, t]) => t));
    const missingKeys = [...own].filter(([k, t]) => !(k in dict) && !given.has(t)).map(([k]) => k);
    const unexpectedKeys = Object.keys(dict).filter((k) => !own.has(k));
    if (strict && (missingKeys.length || unexpectedKeys.length))
      fail(
        'INVALID_ARGUMENT',
        `loadStateDict: keys do not match${missingKeys.length ? `; missing: ${missingKeys.join(', ')}` : ''}${unexpectedKeys.length ? `; unexpected: ${unexpectedKeys.join(', ')}` : ''}`,
      );
    // Check everything before writing anything, so a failed load changes nothing.
    const plan: [Tensor, Tensor][] = [];
    for (const [k, dst] of own) {
      if (!(k in dict)) continue;
      const src = checkTensor(dict[k], 'loadStateDict', `'${k}'`);
      if (src.shape.length !== dst.shape.length || src.shape.some((d, i) => d !== dst.shape[i]))
        fail('SHAPE_MISMATCH', `loadStateDict: '${k}' has shape [${src.shape.join(', ')}]; the module expects [${dst.shape.join(', ')}]`);
      if ((src.dtype === 'int32') !== (dst.dtype === 'int32'))
        fail('DTYPE_MISMATCH', `loadStateDict: '${k}' is ${src.dtype}; the module expects ${dst.dtype}`);
      plan.push([dst, src]);
    }
    // Unrecorded, as PyTorch's load_state_dict (under no_grad): a buffer given a tensor that requires grad stays a plain tensor.
    noGrad(() => {
      for (const [dst, src] of plan) {
        if (src.dtype === dst.dtype) dst.assign(src);
        else isolated(() => {
          const c = src.cast(dst.dtype);
          dst.assign(c);
          c.dispose();
        });
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Moves every parameter and buffer (and existing gradients) to a device, in place. */
  to(device: string): this {
    const d = checkDevice(device, 'Module.to');
    for (const t of [...this.parameters(), ...this.namedBuffers().map(([, b]) => b)]) {
      if (t.device === d) continue;
      t.replaceData(native().to(t.handle, d));
      if (t.grad) t.grad.replaceData(native().to(t.grad.handle, d));
    }
    return this;
  }

  /** Converts floating parameters and buffers (and existing gradients, as PyTorch's .double()) to a dtype, in place. */
  cast(dtype: 'float32' | 'float64'): this {
    if (dtype !== 'float32' && dtype !== 'float64')
      fail('INVALID_ARGUMENT', `Module.cast: dtype must be 'float32' or 'float64' (parameters are floating point); got ${describe(dtype)}`);
    for (const t of [...this.parameters(), ...this.namedBuffers().map(([, b]) => b)])
      if (t.dtype !== dtype && t.dtype !== 'int32') {
        t.replaceData(native().cast(t.handle, dtype));
        if (t.grad && !t.grad.isDisposed) t.grad.replaceData(native().cast(t.grad.handle, dtype));
      }
    return this;
  }

  /** Training mode (dropout active), recursively. */
  train(mode = true): this {
    const on = checkBoolean(mode, 'train', 'mode');
    const seen = new Set<Module>();
    const visit = (m: Module) => {
      if (seen.has(m)) return; // each module once, parent links included
      seen.add(m);
      m.training = on;
      for (const c of m.childModules().values()) visit(c);
    };
    visit(this);
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's .grad (null; with setToNone false, zeros in place: Tensor.zeroGrad). */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) p.zeroGrad(setToNone);
  }

  /**
   * Frees every parameter and buffer (of sub-modules too), and what each
   * module holds besides (a NeuralODE's or an RNN's warm-start solution, a
   * frozen Dropout's mask); forward() then throws DISPOSED.
   */
  dispose(): void {
    const outer = disposing;
    disposing = true;
    try {
      // A sub-module's own dispose() is not called (a module reached along two paths would run it twice): its hook is.
      for (const m of this.modules()) m.releaseHeld();
      for (const t of [...this.parameters(), ...this.namedBuffers().map(([, b]) => b)]) t.dispose();
      for (const m of this.modules())
        for (const t of m.ownedTensors.values()) if (!t.isDisposed) t.dispose();
      this.markDisposed();
    } finally {
      disposing = outer;
    }
  }

  /**
   * @internal Frees the tensors a module keeps outside its parameters,
   * buffers and owned tensors (a warm start, a frozen mask). dispose() calls
   * it on this module and on every sub-module, so a subclass that keeps such
   * tensors overrides this rather than dispose().
   */
  protected releaseHeld(): void {}

  /** `using m = new nn.Linear(…)` disposes the module at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  private markDisposed(): void {
    this.disposedModule = true;
    for (const c of this.childModules().values()) if (!c.disposedModule) c.markDisposed();
  }

  /** True once dispose() has run on this module or a module containing it. */
  get isDisposed(): boolean {
    return this.disposedModule;
  }

  /**
   * @internal Throws DISPOSED, naming the module, when it has been disposed
   * or one of its parameters or buffers has (forward() calls this first, so
   * the error names the module rather than an op deep inside it).
   */
  protected checkUsable(op: string): void {
    const kind = this.constructor.name;
    if (this.disposedModule) fail('DISPOSED', `${op}: this ${kind} module has been disposed (dispose() freed its parameters); create a new one`);
    const dead = (list: [string, Tensor][], what: string) => {
      for (const [name, t] of list)
        if (t.isDisposed) fail('DISPOSED', `${op}: the ${kind} module's ${what} '${name}' (shape [${t.shape.join(', ')}]) has been disposed`);
    };
    dead(this.namedParameters('', false), 'parameter'); // every forward: no dedupe needed to find a dead one
    dead(this.namedBuffers('', false), 'buffer');
  }

  /** Number of trainable scalars (a shared parameter counted once). */
  numParameters(): number {
    return this.parameters().reduce((a, p) => a + p.size, 0);
  }

  /**
   * A summary in PyTorch's shape, which console.log and util.inspect show:
   * the class with its settings (the module's own numbers, booleans and
   * strings: GRU(inputSize: 3, hiddenSize: 8, …)), then each child on its own
   * line, indented, as (name): …. Reads no tensor, so it works on a disposed
   * module too (which says so).
   */
  toString(): string {
    const scalar = (v: unknown) => ['number', 'boolean', 'string'].includes(typeof v);
    const text = (v: unknown): string => (typeof v === 'string' ? `'${v.replace(/['\\]/g, '\\$&')}'` : String(v));
    // Scalars, and short arrays of scalars or nulls (a 2-D layer's [h, w] sizes, LayerNorm's normalizedShape).
    const shown = (v: unknown) => scalar(v) || (Array.isArray(v) && v.length <= 16 && v.every((e) => e === null || scalar(e)));
    const settings = Object.entries(this)
      .filter(([k, v]) => shown(v) && !HIDDEN_SETTINGS.has(k) && !/(Value|Handle|Version)$/.test(k))
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? `[${v.map(text).join(', ')}]` : text(v)}`);
    const name = `${this.constructor.name}${this.disposedModule ? ' (disposed)' : ''}`;
    // Every registered name, a module held under two of them under both, as PyTorch's repr lists _modules.
    const children = this.disposedModule ? [] : [...this.childModules().entries()];
    if (!children.length) return `${name}(${settings.join(', ')})`;
    // A module that holds one of its ancestors (a cycle) shows it as Class(…) there instead of recursing forever.
    if (printing.has(this)) return `${name}(…)`;
    printing.add(this);
    try {
      const lines = children.map(([n, c]) => `  (${n}): ${c.toString().split('\n').join('\n  ')}`);
      return `${name}(\n${settings.length ? `  ${settings.join(', ')}\n` : ''}${lines.join('\n')}\n)`;
    } finally {
      printing.delete(this);
    }
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** A forward pre-hook: (module, args) → undefined, a new argument list (an array) or a new single argument. */
export type ForwardPreHook = (module: Module, args: unknown[]) => unknown;
/** A forward hook: (module, args, output) → undefined or a new output. */
export type ForwardHook = (module: Module, args: unknown[], output: unknown) => unknown;
/** A full backward hook: (module, gradInput, gradOutput) → undefined or the new gradInput (see registerFullBackwardHook). */
export type FullBackwardHook = (module: Module, gradInput: (Tensor | null)[], gradOutput: (Tensor | null)[]) => (Tensor | null | undefined)[] | undefined | void;
/** A full backward pre-hook: (module, gradOutput) → undefined or the new gradOutput (see registerFullBackwardPreHook). */
export type FullBackwardPreHook = (module: Module, gradOutput: (Tensor | null)[]) => (Tensor | null | undefined)[] | undefined | void;

/** The identity op the hooks ride on: its results are copies of its tensor arguments; its backward runs `onGrad`. */
const hookIdentity = defineFunction<unknown[]>({
  name: 'BackwardHookFunction',
  forward: (ctx, ...ts) => {
    ctx.onGrad = ts[ts.length - 1];
    return ts.slice(0, -1) as Tensor[];
  },
  backward: (ctx, ...grads) => [...(ctx.onGrad as (g: Tensor[]) => (Tensor | null)[])(grads), null],
});

/** What a forward returned, as a list: the Tensor, an array's entries, or a plain object's field values (in order); else nothing. */
function outputTensors(out: unknown): unknown[] {
  if (out instanceof Tensor) return [out];
  if (Array.isArray(out)) return out;
  if (out !== null && typeof out === 'object' && Object.getPrototypeOf(out) === Object.prototype) return Object.values(out);
  return [];
}

/**
 * One forward call's full backward hooks (PyTorch's BackwardHook): its tensor
 * arguments that require grad, and its output tensors, pass through an
 * identity node each side; the output side's backward records gradOutput
 * (after the pre-hooks), the input side's runs the hooks with gradInput.
 */
class BackwardHooks {
  private inputs: { at: number; copy: Tensor; node: unknown }[] = [];
  private gradOutput: (Tensor | null)[] | null = null;
  /** The hooks registered when the forward ran (as torch 1.13's _call_impl takes its list): one removed before backward still fires for this call, one added after does not. */
  private readonly hooks: { backward: FullBackwardHook[]; backwardPre: FullBackwardPreHook[] };
  constructor(private readonly module: Module, state: HookState, private readonly args: unknown[]) {
    this.hooks = { backward: state.backward.map((e) => e.hook as FullBackwardHook), backwardPre: state.backwardPre.map((e) => e.hook as FullBackwardPreHook) };
  }

  /** The arguments with each tensor that requires grad replaced by its identity copy. */
  wrapInputs(): unknown[] {
    const at = this.args.flatMap((a, i) => (a instanceof Tensor && !a.isDisposed && a.requiresGrad && a.dtype !== 'int32' ? [i] : []));
    if (at.length === 0) return this.args;
    const originals = at.map((i) => this.args[i] as Tensor);
    const made = hookIdentity(...originals, (grads: Tensor[]) => this.inputGrads(grads)) as Tensor[];
    this.inputs = at.map((i, k) => ({ at: i, copy: made[k], node: made[k].gradFn }));
    // torch 1.13 passes every Tensor argument through its BackwardHookFunction once one requires grad: one that does
    // not gets its materialized zeros (its own shape, dtype and device) in gradInput.
    this.zeroInputs = this.args.flatMap((a, i) => (a instanceof Tensor && !a.isDisposed && !at.includes(i) ? [{ at: i, shape: a.shape, dtype: a.dtype, device: a.device }] : []));
    const out = [...this.args];
    for (const { at: i, copy } of this.inputs) out[i] = copy;
    return out;
  }

  /** The output with each Tensor (the result, an array's, or a plain object's fields: a recurrent layer's {output, hN}) that requires grad replaced by its identity copy. */
  wrapOutputs(out: unknown): unknown {
    // The in-place refusal before the result is wrapped (release frees what it returned and the copies).
    if (this.inputs.some((e) => !e.copy.isDisposed && e.copy.gradFn !== e.node)) this.release(out);
    const list = outputTensors(out);
    const at = list.flatMap((t, i) => (t instanceof Tensor && !t.isDisposed && t.requiresGrad && t.dtype !== 'int32' ? [i] : []));
    if (at.length === 0) {
      this.release(out);
      return out;
    }
    const originals = at.map((i) => list[i] as Tensor);
    const made = hookIdentity(...originals, (grads: Tensor[]) => this.outputGrads(grads)) as Tensor[];
    const wrapped = [...list];
    at.forEach((i, k) => (wrapped[i] = made[k]));
    this.release(wrapped);
    // The output before wrapping is freed, unless something holds it (a forward hook or the module kept it; it is an argument).
    for (const t of originals) if (!t.isDisposed && !t.kept && !this.args.includes(t)) t.dispose();
    this.gradCount = list.length;
    this.outputAt = at;
    if (out instanceof Tensor) return wrapped[0];
    if (Array.isArray(out)) return wrapped;
    const keys = Object.keys(out as object);
    return Object.fromEntries(keys.map((k, i) => [k, wrapped[i]]));
  }

  private gradCount = 0;
  private outputAt: number[] = [];
  private zeroInputs: { at: number; shape: readonly number[]; dtype: Tensor['dtype']; device: string }[] = [];

  /** Frees the input copies once the forward is done, unless they are (part of) the result or were kept. */
  release(result: unknown): void {
    const held = outputTensors(result);
    // A copy written in place by the forward now has another node: PyTorch refuses that (the copy is its view of the input).
    const modified = this.inputs.find((e) => !e.copy.isDisposed && e.copy.gradFn !== e.node);
    if (modified) {
      // Refused: the copies and the forward's result (not an argument, not kept) are freed, as a throwing forward's would be.
      for (const t of [...this.inputs.map((e) => e.copy), ...held]) if (t instanceof Tensor && !t.isDisposed && !t.kept && !this.args.includes(t)) t.dispose();
      fail('INVALID_ARGUMENT', `${this.module.constructor.name}: its forward modified argument ${modified.at} in place (assign), which a module with a full backward hook refuses (as PyTorch's "BackwardHookFunctionBackward is a view and is being modified inplace"); write into a copy instead`);
    }
    for (const e of this.inputs) {
      const c = e.copy;
      if (!c.isDisposed && !held.includes(c) && !c.kept) c.dispose();
    }
  }

  /** The output side's backward: gradOutput through the pre-hooks; with no input that requires grad, the hooks run here. */
  private outputGrads(grads: Tensor[]): (Tensor | null)[] {
    let gout: (Tensor | null)[] = new Array(this.gradCount).fill(null);
    this.outputAt.forEach((i, k) => (gout[i] = grads[k]));
    for (const hook of this.hooks.backwardPre) {
      const r = (hook as FullBackwardPreHook)(this.module, [...gout]);
      if (r !== undefined) gout = this.replacement(r, gout, 'registerFullBackwardPreHook', 'gradOutput');
    }
    if (this.inputs.length === 0) {
      const gin = new Array<Tensor | null>(this.args.length).fill(null);
      for (const hook of this.hooks.backward) {
        const r = (hook as FullBackwardHook)(this.module, [...gin], [...gout]);
        if (r !== undefined && !(Array.isArray(r) && r.every((g) => g === null || g === undefined)))
          fail('INVALID_ARGUMENT', `${this.module.constructor.name}: a full backward hook of a module none of whose inputs requires grad must return undefined or nulls (there is no gradInput to replace; PyTorch raises too); got ${describe(r)}`);
      }
    } else {
      // The pass frees gradOutput once this node is done: the input side, later in the same pass, reads aliases,
      // freed there, or when the pass is over if it never runs (autograd.grad of a parameter only; not at a
      // microtask: a synchronous loop of such passes would hold one gradOutput per iteration until it ends).
      this.dropGradOutput();
      const kept = gout.map((g) => (g === null ? null : g.sharedAlias()));
      this.gradOutput = kept;
      afterBackwardPass(() => {
        if (this.gradOutput === kept) this.dropGradOutput();
      });
    }
    return this.outputAt.map((i) => gout[i]);
  }

  /** The input side's backward: the hooks with (gradInput, gradOutput); their replacements go on to the inputs. */
  private inputGrads(grads: Tensor[]): (Tensor | null)[] {
    let gin = new Array<Tensor | null>(this.args.length).fill(null);
    this.inputs.forEach((e, k) => (gin[e.at] = grads[k]));
    // A gradient that reached the inputs without passing the outputs (a tensor nested in the result, which is not
    // wrapped, or a path outside the forward's result): torch 1.13's hook returns early there, and so do these.
    if (this.gradOutput === null) return grads;
    const gout = this.gradOutput;
    const made = this.zeroInputs.map((z) => zeros(z.shape, { dtype: z.dtype, device: z.device }));
    this.zeroInputs.forEach((z, k) => (gin[z.at] = made[k]));
    try {
      for (const hook of this.hooks.backward) {
        const r = (hook as FullBackwardHook)(this.module, [...gin], [...gout]);
        if (r !== undefined) gin = this.replacement(r, gin, 'registerFullBackwardHook', 'gradInput');
      }
      const passed = this.inputs.map((e) => gin[e.at]);
      // The zeros go nowhere (torch drops them, and what a hook puts in their place): freed unless passed on.
      for (const t of made) if (!t.isDisposed && !passed.includes(t)) t.dispose();
      return passed;
    } catch (e) {
      for (const t of made) if (!t.isDisposed) t.dispose();
      throw e;
    } finally {
      this.dropGradOutput();
    }
  }

  private dropGradOutput(): void {
    for (const g of this.gradOutput ?? []) if (g && !g.isDisposed) g.dispose();
    this.gradOutput = null;
  }

  /** A hook's returned list checked against the one it replaces: the same length, each Tensor of its gradient's shape, dtype and device. */
  private replacement(r: unknown, old: (Tensor | null)[], op: string, what: string): (Tensor | null)[] {
    const name = this.module.constructor.name;
    if (!Array.isArray(r) || r.length !== old.length)
      fail('INVALID_ARGUMENT', `${name}: a ${op} hook returned ${Array.isArray(r) ? `an array of ${r.length}` : describe(r)}; expected undefined or an array of ${old.length} (one per ${what} entry, null to keep it)`);
    return old.map((g, i) => {
      const n = r[i] as unknown;
      if (n === null || n === undefined) return g;
      if (!(n instanceof Tensor) || n.isDisposed) fail('INVALID_ARGUMENT', `${name}: a ${op} hook's ${what}[${i}] must be a Tensor or null; got ${n instanceof Tensor ? 'a disposed Tensor' : describe(n)}`);
      if (g === null) fail('INVALID_ARGUMENT', `${name}: a ${op} hook returned a Tensor for ${what}[${i}], which has no gradient (not a Tensor that requires grad); expected null there`);
      if (n.rank !== g.rank || n.shape.some((d, k) => d !== g.shape[k]) || n.dtype !== g.dtype || n.device !== g.device)
        fail('SHAPE_MISMATCH', `${name}: a ${op} hook's ${what}[${i}] is ${n.dtype} [${n.shape.join(', ')}] on ${n.device}; expected the gradient's ${g.dtype} [${g.shape.join(', ')}] on ${g.device}`);
      return n;
    });
  }
}
/**
 * @internal Called for each (module, copy) pair Module.clone() made, once the
 * whole copy is done: state held outside a module (nn.utils.weightNorm's
 * records, a transformer stack's layers) follows it to the copy.
 */
const cloneListeners: ((from: Module, to: Module) => void)[] = [];

/** @internal Registers a clone listener (see cloneListeners). */
export function onModuleClone(fn: (from: Module, to: Module) => void): void {
  cloneListeners.push(fn);
}

/**
 * The #private fields the classes of m (a module, or an object on one of its
 * fields) declare, read from their source text (the one place JavaScript
 * shows them; clone() cannot copy them), or null.
 */
function privateFieldsOf(m: object): { cls: string; names: string[] } | null {
  for (let proto = Object.getPrototypeOf(m) as object | null; proto && proto !== Module.prototype && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    const ctor = (proto as { constructor?: unknown }).constructor;
    if (typeof ctor !== 'function') continue;
    const src = Function.prototype.toString.call(ctor);
    // A declaration at the start of a line (`#w = …`, `static #n;`, `#step() {`) or a use (`this.#w`).
    const names = new Set<string>();
    for (const [, name] of src.matchAll(/(?:^[ \t]*(?:static\s+)?(?:async\s+)?(?:get\s+|set\s+)?|\bthis\.)(#[A-Za-z_$][\w$]*)/gm)) names.add(name);
    if (names.size) return { cls: ctor.name || 'its class', names: [...names] };
  }
  return null;
}

/** Module.clone()'s walk: every object reached is copied once (a memo keeps sharing and cycles). */
class ModuleCopier {
  private readonly memo = new Map<unknown, unknown>();
  private readonly pairs: [Module, Module][] = [];
  private readonly made: Tensor[] = [];
  /** The copy whose fields are being copied (innermost last), and the tensors made while each was. */
  private readonly open: Module[] = [];
  private readonly madeFor = new Map<Module, Tensor[]>();
  /** Sub-modules copied by a clone() of their own class (freed if the whole copy fails). */
  private readonly selfCopied: Module[] = [];

  copy(v: unknown): unknown {
    if (typeof v !== 'object' || v === null) return v; // functions are shared, as deepcopy shares them
    if (this.memo.has(v)) return this.memo.get(v);
    if (v instanceof Tensor) {
      if (v.isDisposed) return v; // a stale cache: nothing to copy
      const c = keep(noGrad(() => v.clone()));
      this.made.push(c);
      const owner = this.open[this.open.length - 1];
      if (owner) this.madeFor.get(owner)!.push(c);
      if (v.isLeaf && v.requiresGrad) c.requiresGrad_(true);
      if (parameterTensors.has(v)) parameterTensors.add(c);
      this.memo.set(v, c);
      return c;
    }
    if (v instanceof Module) {
      // A sub-module whose class copies itself (a clone() of its own) is copied by it.
      if (this.memo.size > 0 && v.clone !== Module.prototype.clone) {
        const own = v.clone();
        this.selfCopied.push(own);
        this.memo.set(v, own);
        return own;
      }
      const hidden = privateFieldsOf(v);
      if (hidden)
        fail('NOT_SUPPORTED', `Module.clone: ${hidden.cls} declares #private fields (${hidden.names.join(', ')}), which a field-by-field copy cannot carry (its methods would throw on the copy): give ${hidden.cls} a clone() of its own (it is then used wherever one is copied), or pass AveragedModel a make`);
      const copy = Module.copyFields(v, (x) => this.copy(x), (c) => {
        this.memo.set(v, c);
        this.open.push(c);
        this.madeFor.set(c, []);
      });
      this.open.pop();
      this.pairs.push([v, copy]);
      return copy;
    }
    if (Array.isArray(v)) {
      const a: unknown[] = new Array(v.length);
      this.memo.set(v, a);
      v.forEach((x, i) => (a[i] = this.copy(x)));
      return this.sameKind(v, a);
    }
    if (v instanceof Map) {
      const m = new Map();
      this.memo.set(v, m);
      for (const [k, x] of Map.prototype.entries.call(v)) m.set(this.copy(k), this.copy(x));
      return this.sameKind(v, m);
    }
    if (v instanceof Set) {
      const s = new Set();
      this.memo.set(v, s);
      for (const x of Set.prototype.values.call(v)) s.add(this.copy(x));
      return this.sameKind(v, s);
    }
    if (ArrayBuffer.isView(v)) {
      const c = v instanceof DataView ? new DataView(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)) : (v as unknown as { slice(): unknown }).slice();
      this.memo.set(v, c);
      return c;
    }
    if (v instanceof ArrayBuffer || v instanceof Date) {
      const c = v instanceof Date ? new Date(v.getTime()) : v.slice(0);
      this.memo.set(v, c);
      return c;
    }
    // What holds no fields of its own to copy (or cannot be read field by field) is shared.
    if (v instanceof WeakMap || v instanceof WeakSet || v instanceof Promise || v instanceof RegExp || v instanceof Error) return v;
    if (v instanceof PackedSequence) {
      const c = new PackedSequence(...([v.data, v.batchSizes, v.sortedIndices, v.unsortedIndices].map((t) => this.copy(t)) as [Tensor, Tensor, Tensor | null, Tensor | null]), v.layout);
      this.memo.set(v, c);
      return c;
    }
    // An instance of a built-in class not handled above (a URL, a TextDecoder) keeps its state out of
    // reach of a field-by-field copy, which would be broken: shared.
    const ctor = (v as { constructor?: unknown }).constructor;
    if (typeof ctor === 'function' && ctor !== Object && /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(ctor))) return v;
    const hidden = privateFieldsOf(v);
    if (hidden)
      fail('NOT_SUPPORTED', `Module.clone: a field holds a ${hidden.cls}, whose #private fields (${hidden.names.join(', ')}) a field-by-field copy cannot carry: give the module a clone() of its own, or pass AveragedModel a make`);
    const c = Object.create(Object.getPrototypeOf(v) as object | null) as Record<PropertyKey, unknown>;
    this.memo.set(v, c);
    for (const key of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key)!;
      if ('value' in d) d.value = this.copy(d.value);
      Object.defineProperty(c, key, d);
    }
    return c;
  }

  /**
   * An array, map or set's copy c keeps v's class (a `class Counts extends
   * Map` field keeps its methods, as deepcopy keeps a dict subclass) and
   * its other own properties (an array's extra fields).
   */
  private sameKind<C extends object>(v: object, c: C): C {
    const proto = Object.getPrototypeOf(v) as object | null;
    if (Object.getPrototypeOf(c) !== proto) Object.setPrototypeOf(c, proto);
    const array = Array.isArray(v);
    for (const key of Reflect.ownKeys(v)) {
      if (array && (key === 'length' || (typeof key === 'string' && /^(0|[1-9]\d*)$/.test(key)))) continue;
      const d = Object.getOwnPropertyDescriptor(v, key)!;
      if ('value' in d) d.value = this.copy(d.value);
      Object.defineProperty(c, key, d);
    }
    return c;
  }

  /** The copy is complete: listeners bring outside state along. */
  finish(): void {
    // A tensor made for a field outside every registry (a plain tensor field, a cache) is owned by the copy that held it.
    Module.ownCopies(this.madeFor);
    for (const [from, to] of this.pairs) for (const listen of cloneListeners) listen(from, to);
  }

  /** The copy failed: free the tensors it made. */
  abandon(): void {
    for (const t of this.made) if (!t.isDisposed) t.dispose();
    for (const m of this.selfCopied) if (!m.isDisposed) m.dispose();
  }
}

/** What registerForwardPreHook / registerForwardHook return (PyTorch's RemovableHandle). */
export interface RemovableHandle {
  readonly id: number;
  /** Unregisters the hook (again: nothing). */
  remove(): void;
}
interface HookEntry {
  id: number;
  hook: ForwardPreHook | ForwardHook | FullBackwardHook | FullBackwardPreHook;
}
type HookKind = 'pre' | 'post' | 'backward' | 'backwardPre';
const HOOK_KINDS: readonly HookKind[] = ['pre', 'post', 'backward', 'backwardPre'];
interface HookState {
  pre: HookEntry[];
  post: HookEntry[];
  backward: HookEntry[];
  backwardPre: HookEntry[];
  /** The module's own forward property the wrapper replaced (put back when the last hook goes), or null (the class's). */
  ownForward: PropertyDescriptor | null;
}
let hookCounter = 0;
/** The forward calls of each module running now (nested ones counted), while it has forward hooks (wrapForward keeps it). */
const forwardDepths = new WeakMap<Module, number>();

/** Own fields that are bookkeeping, not settings (toString leaves them out). */
const HIDDEN_SETTINGS = new Set(['training', 'stopTraining', 'disposedModule', 'syncedAt', 'opName', 'kind', 'frozen']);

/** The entries whose tensor has not appeared before, in order. */
function firstOfEach(list: [string, Tensor][]): [string, Tensor][] {
  const seen = new Set<Tensor>();
  return list.filter(([, t]) => !seen.has(t) && (seen.add(t), true));
}

/**
 * A module's input against the module's dtype and device (those of `like`,
 * one of its parameters): the error names the module and says how to
 * convert either side.
 */
export function checkModuleInput(op: string, what: string, x: Tensor, like: Tensor): void {
  if (x.dtype !== like.dtype) {
    const moduleSide = x.dtype === 'int32' ? '' : `, or the module with .cast('${x.dtype}')`;
    fail('DTYPE_MISMATCH', `${op}: ${what} is ${x.dtype}; the module is ${like.dtype} (convert the ${what} with .cast('${like.dtype}')${moduleSide})`);
  }
  if (x.device !== like.device)
    fail('DEVICE_MISMATCH', `${op}: ${what} is on ${x.device}; the module is on ${like.device} (move the ${what} with .to('${like.device}'), or the module with .to('${x.device}'))`);
}

/**
 * @internal The module's parameters by name for one forward, every name of a tensor
 * shared between two slots included (a bias tied to another is used in both
 * places, as in PyTorch), checked against what the recurrence needs: each
 * weight present, a bias present or null (then 0), the shapes, and the
 * input's dtype and device. Errors name the module and the property.
 */
export function checkedParameters(m: Module, op: string, specs: readonly [name: string, shape: readonly number[], required: boolean][], like: Tensor, likeName: string): Map<string, Tensor> {
  const all = new Map(m.namedParameters('', false));
  specs.forEach(([name, shape, required], i) => {
    // A weight recomputed before each forward (nn.utils.weightNorm) stands where the parameter was.
    let t = all.get(name);
    if (!t && (t = Module.owned(m, name))) all.set(name, t);
    // A parametrized tensor (nn.utils.parametrize) is read through its property's getter.
    if (!t && typeof Object.getOwnPropertyDescriptor(m, name)?.get === 'function') {
      const v = (m as unknown as Record<string, unknown>)[name];
      if (v instanceof Tensor) all.set(name, (t = v));
    }
    if (!t) {
      if (required) fail('INVALID_ARGUMENT', `${op}: parameter '${name}' is missing (set to null?); expected a parameter of shape [${shape.join(', ')}] (assign nn.parameter(t))`);
      return;
    }
    // The first parameter stands for the module: a whole module in another dtype or on another device is the usual case.
    if (i === 0) checkModuleInput(op, likeName, like, t);
    if (t.dtype !== like.dtype) fail('DTYPE_MISMATCH', `${op}: parameter '${name}' is ${t.dtype} and the input ${like.dtype}; expected one dtype (convert with module.cast() or the input's .cast())`);
    if (t.device !== like.device) fail('DEVICE_MISMATCH', `${op}: parameter '${name}' is on ${t.device} and the input on ${like.device}; expected one device (move with module.to() or the input's .to())`);
    if (t.rank !== shape.length || t.shape.some((d, k) => d !== shape[k]))
      fail('SHAPE_MISMATCH', `${op}: parameter '${name}' has shape [${t.shape.join(', ')}]; expected [${shape.join(', ')}]`);
  });
  return all;
}
