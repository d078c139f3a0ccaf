/**
 * The base of the optimizers: parameter groups with torch.optim's option
 * handling, per-parameter state, step() over the parameters with a gradient.
 */
import { inspect } from 'node:util';
import { isGradEnabled, noGrad } from '../autograd/graph';
import { isolated, keep, tidy } from '../engine';
import { fail } from '../errors';
import { addScaledInPlace } from '../native';
import { add, mul } from '../ops/core';
import { checkTensor, Tensor, tensor, zerosLike } from '../tensor';
import { checkFinite, checkKnownKeys, describe } from '../validate';

/**
 * Every option name of antler's optimizers, and Keras's for the same things
 * (learningRate, epsilon, beta1, beta2, rho, decay), lowercased without
 * underscores (weight_decay is weightdecay).
 */
const OPTION_NAMES = new Set(
  ['lr', 'learningRate', 'epsilon', 'beta1', 'beta2', 'rho', 'decay', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize', 'betas', 'eps', 'amsgrad', 'alpha', 'centered', 'lrDecay',
    'initialAccumulatorValue', 'momentumDecay', 'decoupledWeightDecay', 'etas', 'stepSizes', 'lambd', 't0', 'hessianPower', 'averageConvKernel', 'blockSize', 'updateEach', 'nProbes', 'hvp', 'fdStep', 'seed',
    'maxIter', 'maxEval', 'toleranceGrad', 'toleranceChange', 'historySize', 'lineSearchFn'].map((k) => k.toLowerCase()),
);

/**
 * Whether a group key (lowercased, without underscores) is an option's name (any optimizer's), or
 * a slip of one of this optimizer's own options `own` of 6 letters or more: one letter added,
 * dropped, changed or two swapped (two from 9 letters), so 'momentun', 'nestrov', 'dampning',
 * 'amsgrd' or 'weightdecy' are refused rather than kept as the user's own key while the option
 * keeps its default. Short names are left out ('seed' is a slip away from 'need', 'decay' from 'delay').
 */
function readsAsOption(k: string, own: readonly string[]): boolean {
  if (OPTION_NAMES.has(k)) return true;
  for (const name of own.map((o) => o.toLowerCase())) {
    const slack = name.length >= 9 ? 2 : name.length >= 6 ? 1 : 0;
    if (slack && Math.abs(name.length - k.length) <= slack && editDistance(name, k) <= slack) return true;
  }
  return false;
}

/** Optimal string alignment distance (insertions, deletions, substitutions, adjacent swaps). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/**
 * A parameter group's keys: params, this optimizer's options, and any other
 * key of the user's own (a 'name' or a tag: PyTorch keeps them in the group),
 * unless it reads as an option, spelt otherwise or of another optimizer
 * (weight_decay, betas on SGD): those are refused as unknown options.
 */
function checkGroupKeys(g: object, op: string, allowed: readonly string[], where: string, ownKeys: Set<string>): void {
  const fresh = Object.keys(g).filter((k) => !allowed.includes(k) && !ownKeys.has(k));
  const optionLike = fresh.filter((k) => readsAsOption(k.toLowerCase().replace(/_/g, ''), allowed));
  if (optionLike.length) checkKnownKeys({ [optionLike[0]]: true }, op, allowed, where);
  // Judged the user's own once: step() checks every group's keys on every call.
  for (const k of fresh) ownKeys.add(k);
}

/** Each parameter group's learning rate before any scheduler touched it (PyTorch's 'initial_lr'; see LRScheduler). */
export const initialLrs = new WeakMap<object, number>();

/**
 * The namespaces of an optimizer's stateDict() keys. loadStateDict() reads these alone, so a whole
 * checkpoint ({...model.stateDict(), ...opt.stateDict(), ...sched.stateDict()}) loads as it is: a
 * module's keys are its attribute paths (weight, lstm.bias_ih_l0, 0.weight), which start with one of
 * these words only where a model names a submodule state, scalars, param_groups or optimizer.
 */
const OPTIMIZER_KEY = /^(param_groups|state|scalars|optimizer)\./;
/** What an unknown key under those namespaces may be, and the way out. */
const FOREIGN_HINT =
  ' (keys outside param_groups., state., scalars. and optimizer. are skipped, so a whole checkpoint loads; a key under these names from a model whose submodule is so named is not: save the model\'s stateDict() in its own file, or its keys under a prefix such as model.)';

/** o with each array value of an option (a key of `options`) copied: one shared with the caller or another group. */
function ownArrays<T extends object>(o: T, options: object = o): T {
  for (const k of Object.keys(options)) {
    const v = (o as Record<string, unknown>)[k];
    if (Array.isArray(v)) (o as Record<string, unknown>)[k] = [...v];
  }
  return o;
}

/**
 * o without the options (keys of `defaults`) it sets to undefined: in JavaScript `{ lr: undefined }`
 * (a spread of an optional field) means not given, so the default applies, as an absent key.
 */
function withoutUndefined<T extends object>(o: T, defaults: object): T {
  const out = { ...o } as Record<string, unknown>;
  for (const k of Object.keys(defaults)) if (Object.hasOwn(out, k) && out[k] === undefined) delete out[k];
  return out as T;
}

/** Where a dict has more parameter groups than the optimizer. */
const ADDED_HINT = ' (a dict saved after an addParamGroup: make the optimizer, and add the groups, as the saved run did, then load)';

export type ParamGroup<O> = { params: Tensor[] } & O;
export type ParamsArg<O> = Tensor[] | ({ params: Tensor[] } & Partial<O>)[];

export abstract class Optimizer<O extends object> {
  readonly paramGroups: ParamGroup<O>[];
  /** Per-parameter state (momentum buffers, moments, step counts). */
  readonly state = new Map<Tensor, Record<string, Tensor | number>>();

  /** Group keys already judged the user's own (not a slip of an option name): checkGroupKeys skips them. */
  private readonly userKeys = new Set<string>();

  /** Whether step() needs a closure (L-BFGS, AdaHessian); fit() passes one when it does. */
  readonly requiresClosure: boolean = false;

  /** The options every group starts from: the optimizer's defaults with the constructor's options over them. */
  readonly defaults: O;

  /**
   * defaults: every option with its default value; its keys are the only
   * option names accepted, in `options` and in each parameter group (which
   * also has `params`).
   */
  protected constructor(params: ParamsArg<O>, defaults: O, options: unknown, protected readonly name: string) {
    if (!Array.isArray(params) || params.length === 0)
      fail('INVALID_ARGUMENT', `${name}: expected a non-empty array of parameters (model.parameters()) or parameter groups; got ${describe(params)}`);
    if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options)))
      fail('INVALID_ARGUMENT', `${name}: options must be an object such as { lr: 0.01 }; got ${describe(options)}`);
    const keys = Object.keys(defaults);
    if (options) checkKnownKeys(options, name, keys);
    this.defaults = ownArrays({ ...defaults, ...(options ? withoutUndefined(options as Partial<O>, defaults) : undefined) });
    // The options alone first, so a bad one is named as the constructor's, not as a group's.
    if (options) this.validate(this.defaults, name);
    const listed = !(params[0] instanceof Tensor);
    const groups = listed ? (params as ({ params: Tensor[] } & Partial<O>)[]) : [{ params: params as Tensor[] }];
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g0, gi) => this.makeGroup(g0, gi, seen, name, listed));
  }

  /**
   * A parameter group checked (an object with a params array, or one Tensor as
   * params; keys this optimizer knows or the user's own; leaf float
   * parameters, each once and in no other group: `seen`, which gains them)
   * and merged over the defaults.
   */
  private makeGroup(g0: unknown, gi: number, seen: Set<Tensor>, name: string, named = true): ParamGroup<O> {
    // A group's params may be one Tensor, as PyTorch accepts (it wraps it in a list).
    const g = g0 && typeof g0 === 'object' && (g0 as { params: unknown }).params instanceof Tensor ? { ...g0, params: [(g0 as { params: unknown }).params as Tensor] } : (g0 as { params: Tensor[] } & Partial<O>);
    if (!g || typeof g !== 'object' || Array.isArray(g) || g instanceof Tensor || !('params' in g))
      fail('INVALID_ARGUMENT', `${name}: parameter group ${gi} must be an object with a params array; got ${describe(g)}`);
    // The group is an object: name what its params are (a Set has no fixed order: torch refuses one too).
    if (!Array.isArray(g.params))
      fail('INVALID_ARGUMENT', `${name}: the params of parameter group ${gi} must be an array of Tensors (or one Tensor); got ${(g.params as unknown) instanceof Set ? 'a Set (pass [...set]: an array keeps the parameters\' order, which the state follows)' : describe(g.params)}`);
    checkGroupKeys(g, name, ['params', ...Object.keys(this.defaults)], ` in parameter group ${gi}`, this.userKeys);
    const where = new Map<Tensor, number>();
    const fresh = new Set<Tensor>();
    g.params.forEach((p, pi) => {
      if (!(p instanceof Tensor)) fail('INVALID_ARGUMENT', `${name}: parameters must be Tensors; got ${describe(p)}`);
      if (p.isDisposed) fail('DISPOSED', `${name}: parameter ${pi} of group ${gi} has been disposed`);
      if (!p.isLeaf) fail('INVALID_ARGUMENT', `${name}: can only optimize leaf tensors`);
      if (p.dtype === 'int32') fail('DTYPE_MISMATCH', `${name}: parameters must be float32 or float64`);
      // PyTorch warns and would step such a parameter twice; here it is an error.
      if (where.has(p))
        fail('INVALID_ARGUMENT', `${name}: parameter ${pi} of group ${gi} is the same tensor as parameter ${where.get(p)} (shape [${p.shape.join(', ')}]); pass each parameter once (Module.parameters() lists a shared one once)`);
      if (seen.has(p)) fail('INVALID_ARGUMENT', `${name}: parameter ${pi} of group ${gi} (shape [${p.shape.join(', ')}]) also appears in an earlier parameter group; a parameter may belong to one group only`);
      where.set(p, pi);
      fresh.add(p);
    });
    // Each group its own option arrays (betas, etas): one changed in place (g.betas[0] = 0.8) changes
    // that group alone, not the others, the defaults and the groups added later (torch's are tuples).
    // Its own params array too (torch's list(params)): one the caller pushes to later is not checked here.
    const merged = ownArrays({ ...this.defaults, ...withoutUndefined(g, this.defaults), params: [...g.params] } as ParamGroup<O>, this.defaults);
    this.validate(merged, named ? `${name} (parameter group ${gi})` : name);
    for (const p of fresh) seen.add(p);
    return merged;
  }

  /**
   * Adds a parameter group while training (torch.optim's add_param_group:
   * unfreezing a backbone for fine-tuning): `{ params, ...options }`, the
   * options not given taken from the optimizer's defaults (the
   * constructor's options over the optimizer's own). Its parameters must be
   * in no other group. An option set to undefined counts as not given.
   * Checked before anything changes. Its parameters'
   * state starts at their first step. A scheduler made earlier leaves the
   * new group's lr as it is (it schedules the groups it was made with).
   */
  addParamGroup(group: { params: Tensor[] | Tensor } & Partial<O>): void {
    const op = `${this.name}.addParamGroup`;
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    this.paramGroups.push(this.makeGroup(group, this.paramGroups.length, seen, op));
  }

  protected abstract validate(group: O, name: string): void;
  protected abstract update(p: Tensor, g: Tensor, group: ParamGroup<O>, state: Record<string, Tensor | number>): void;

  /**
   * Sets every parameter's .grad to null (PyTorch's default set_to_none),
   * or with setToNone false fills the existing ones with zeros in place
   * (Tensor.zeroGrad). Disposed parameters have no gradient left and are
   * passed over, so clean-up code may call it; step() throws for them.
   */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) for (const p of group.params) p.zeroGrad(setToNone);
  }

  /**
   * A summary in PyTorch's shape, which console.log and util.inspect show:
   * the optimizer, then each parameter group's size and options (its own
   * keys too, such as a name). Reads no tensor.
   */
  toString(): string {
    const show = (v: unknown): string =>
      Array.isArray(v) ? `[${v.map(show).join(', ')}]` : typeof v === 'string' ? `'${v.replace(/['\\]/g, '\\$&')}'` : typeof v === 'number' || typeof v === 'boolean' || v == null ? String(v) : describe(v);
    const lines = this.paramGroups.map((g, gi) => {
      const { params, ...options } = g as { params: Tensor[] } & Record<string, unknown>;
      const values = params.reduce((a, p) => a + p.size, 0);
      const settings = Object.entries(options).map(([k, v]) => `${k}: ${show(v)}`);
      return `  group ${gi} (${params.length} parameter${params.length === 1 ? '' : 's'}, ${values} value${values === 1 ? '' : 's'}): ${settings.join(', ')}`;
    });
    return `${this.name}(\n${lines.join('\n')}\n)`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /**
   * Updates every parameter that has a gradient. With a closure (which should
   * zero the grads, compute the loss, call backward and return the loss), the
   * closure runs first, inside tidy() (what it creates is freed; keep() what
   * should outlive it), and its loss value is returned. Throws DISPOSED, before
   * updating anything, if a parameter has been disposed (model.dispose()):
   * the optimizer cannot outlive the parameters it was given.
   */
  step(closure: () => Tensor | number): number;
  step(closure?: () => Tensor | number | void): number | undefined;
  step(closure?: () => Tensor | number | void): number | undefined {
    this.checkParamsAlive();
    this.checkGroupOptions();
    // Before anything is updated: a disposed state tensor (see buffer()).
    for (const [p, st] of this.state)
      for (const [key, v] of Object.entries(st)) if (v instanceof Tensor && v.isDisposed) this.failDisposedState(key, p);
    const loss = closure === undefined ? undefined : this.evaluate(closure, false);
    if (closure === undefined) this.checkGrads();
    isolated(() => {
      for (const group of this.paramGroups)
        for (const p of group.params) {
          if (!p.grad) continue;
          let st = this.state.get(p);
          if (!st) this.state.set(p, (st = {}));
          this.update(p, p.grad, group, st);
        }
    });
    return loss;
  }

  /**
   * Checks every group's options again (they are plain properties a user or a
   * scheduler may have changed since the constructor), before anything
   * changes: a bad value in a later group must not leave the earlier groups
   * stepped and the rest not.
   */
  protected checkGroupOptions(): void {
    const multi = this.paramGroups.length > 1;
    const allowed = ['params', ...Object.keys(this.defaults)];
    this.paramGroups.forEach((g, gi) => {
      checkGroupKeys(g, `${this.name}.step`, allowed, multi ? ` in parameter group ${gi}` : ' in the parameter group', this.userKeys);
      this.validate(g, `${this.name}.step${multi ? ` (parameter group ${gi})` : ''}`);
    });
  }

  /** Throws DISPOSED, before anything changes, if a parameter has been disposed. */
  protected checkParamsAlive(): void {
    this.paramGroups.forEach((group, gi) =>
      group.params.forEach((p, i) => {
        if (p.isDisposed)
          fail('DISPOSED', `${this.name}.step: parameter ${i}${this.paramGroups.length > 1 ? ` of parameter group ${gi}` : ''} (shape [${p.shape.join(', ')}], ${p.dtype}) has been disposed (model.dispose()?); an optimizer cannot outlive its parameters, so make a new one for those still in training`);
      }),
    );
  }

  /**
   * Throws, before any parameter changes, for a .grad that is not a live
   * tensor of its parameter's shape, dtype and device (one bad gradient must
   * not leave the parameters before it updated and the rest not).
   */
  protected checkGrads(): void {
    const multi = this.paramGroups.length > 1;
    this.paramGroups.forEach((group, gi) =>
      group.params.forEach((p, i) => {
        const g: unknown = p.grad;
        if (g === null || g === undefined) return;
        const which = `the .grad of parameter ${i}${multi ? ` of parameter group ${gi}` : ''} (shape [${p.shape.join(', ')}], ${p.dtype}, ${p.device})`;
        if (!(g instanceof Tensor)) fail('INVALID_ARGUMENT', `${this.name}.step: ${which} must be a Tensor or null; got ${describe(g)}`);
        if (g.isDisposed) fail('DISPOSED', `${this.name}.step: ${which} has been disposed; set it to null (zeroGrad()) or run backward again`);
        if (g.shape.length !== p.shape.length || g.shape.some((d, k) => d !== p.shape[k]))
          fail('SHAPE_MISMATCH', `${this.name}.step: ${which} has shape [${g.shape.join(', ')}]; expected the parameter's`);
        if (g.dtype !== p.dtype) fail('DTYPE_MISMATCH', `${this.name}.step: ${which} is ${g.dtype}; expected the parameter's dtype`);
        if (g.device !== p.device) fail('DEVICE_MISMATCH', `${this.name}.step: ${which} is on ${g.device}; expected the parameter's device`);
      }),
    );
  }

  /**
   * Runs a step's closure (zero the grads, compute the loss, call backward,
   * return the loss) inside tidy(), so what it creates is freed, and returns
   * its loss as a number. The gradients it leaves in .grad are kept. With
   * `lossRequired` false (SGD, Adam) the closure may return nothing.
   */
  protected evaluate(closure: unknown, lossRequired = true): number | undefined {
    if (typeof closure !== 'function')
      fail('INVALID_ARGUMENT', `${this.name}.step: closure must be a function such as () => { opt.zeroGrad(); const loss = lossOf(model); loss.backward(); return loss; }; got ${describe(closure)}`);
    if (!isGradEnabled()) fail('INVALID_ARGUMENT', `${this.name}.step: a closure needs grad mode (do not call step inside noGrad)`);
    const loss = tidy(() => {
      const l: unknown = closure();
      if (l instanceof Tensor) {
        if (l.size !== 1) fail('SHAPE_MISMATCH', `${this.name}.step: the closure must return the loss as a scalar Tensor or a number; got a Tensor of shape [${l.shape.join(', ')}]`);
        return l.item();
      }
      if (l === undefined && !lossRequired) return undefined;
      if (typeof l !== 'number') fail('INVALID_ARGUMENT', `${this.name}.step: the closure must return the loss as a scalar Tensor or a number; got ${describe(l)}`);
      return l;
    });
    this.checkGrads();
    return loss;
  }

  /** evaluate() for optimizers that need the loss's value. */
  protected lossOf(closure: unknown): number {
    return this.evaluate(closure, true)!;
  }

  private failDisposedState(key: string, p: Tensor): never {
    fail('DISPOSED', `${this.name}.step: its state '${key}' for a parameter of shape [${p.shape.join(', ')}] has been disposed; keep() state tensors you put in .state, or dispose() the optimizer to start afresh`);
  }

  protected buffer(st: Record<string, Tensor | number>, key: string, like: Tensor): Tensor {
    let b = st[key] as Tensor | undefined;
    // Zeros in its place would quietly restart the moments (a restored state that a tidy() freed, say).
    if (b?.isDisposed) this.failDisposedState(key, like);
    if (!b) st[key] = b = keep(zerosLike(like));
    else if (b.dtype !== like.dtype || b.device !== like.device) {
      // The model was cast or moved after earlier steps: the state follows its parameter (as
      // PyTorch's load_state_dict casts and moves it) instead of failing on mixed operands.
      const moved = keep(isolated(() => tidy(() => b!.to(like.device).cast(like.dtype as 'float32' | 'float64'))));
      b.dispose();
      st[key] = b = moved;
    }
    return b;
  }

  /**
   * The optimizer's state as tensors, to save with antler.save() beside the
   * model's stateDict() and resume from (PyTorch's optimizer.state_dict(),
   * flattened for safetensors): per parameter i (in paramGroups order),
   * `state.i.<key>` holds a copy of each state tensor and `scalars.i.<key>`
   * each number (a step count) as a 0-d float64 tensor; `param_groups.g.lr`
   * each group's current learning rate (what schedulers change) and, once a
   * scheduler has seen the group, `param_groups.g.initial_lr`;
   * `param_groups.g.params` the indices i of the group's parameters
   * (PyTorch's params lists); and `optimizer.<key>` the optimizer's own counters. New tensors: dispose them
   * (or call inside tidy()).
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const f64 = (v: number) => tensor([v], [], { dtype: 'float64' });
    this.paramGroups.forEach((g, gi) => {
      out[`param_groups.${gi}.lr`] = f64((g as { lr?: number }).lr ?? NaN);
      // The group's other options, as PyTorch's state_dict keeps its hyperparameters: numbers,
      // booleans (as 0/1) and number arrays (betas); an option of another kind is not saved.
      for (const key of Object.keys(this.defaults)) {
        const v = (g as Record<string, unknown>)[key];
        if (key === 'lr') continue;
        if (typeof v === 'number') out[`param_groups.${gi}.${key}`] = f64(v);
        else if (typeof v === 'boolean') out[`param_groups.${gi}.${key}`] = f64(v ? 1 : 0);
        else if (Array.isArray(v) && v.length && v.every((e) => typeof e === 'number')) out[`param_groups.${gi}.${key}`] = tensor(v as number[], [v.length], { dtype: 'float64' });
      }
      // The lr before any scheduler (PyTorch's initial_lr): a scheduler made after loading starts from it.
      if (initialLrs.has(g)) out[`param_groups.${gi}.initial_lr`] = f64(initialLrs.get(g)!);
    });
    // Each group's parameters by their index in the state keys (PyTorch's param_groups[g]['params']), so a load
    // checks each group's size.
    let first = 0;
    this.paramGroups.forEach((g, gi) => {
      out[`param_groups.${gi}.params`] = tensor(g.params.map((_, j) => first + j), [g.params.length], { dtype: 'float64' });
      first += g.params.length;
    });
    this.paramGroups.flatMap((g) => g.params).forEach((p, i) => {
      const st = this.state.get(p);
      if (!st) return;
      for (const [k, v] of Object.entries(st)) {
        if (v instanceof Tensor) out[`state.${i}.${k}`] = v.clone();
        else if (typeof v === 'number') out[`scalars.${i}.${k}`] = f64(v);
      }
    });
    for (const [k, v] of Object.entries(this.ownState())) out[`optimizer.${k}`] = f64(v);
    return out;
  }

  /**
   * Restores what stateDict() gave (from this optimizer's kind, over the same
   * parameters). Everything is checked before anything changes; the tensors
   * are copied (cast and moved to each parameter's dtype and device). Each
   * group's `params` list must be as long as the group (PyTorch's "doesn't
   * match the size of optimizer's group"), its indices distinct; `state.i`
   * goes to the parameter at i's place in the lists and must have its shape.
   * Only the keys under `param_groups.`, `state.`, `scalars.` and
   * `optimizer.` are read, and strictly (an unknown one there throws
   * INVALID_ARGUMENT), so `dict` may be a whole checkpoint holding the
   * model's and a scheduler's keys too: `d = load(f); model.loadStateDict(d,
   * { strict: false }); opt.loadStateDict(d); sched.loadStateDict(d)` (check
   * the missingKeys the model's returns: strict false passes over them). A
   * dict with none of the optimizer's keys throws INVALID_ARGUMENT naming
   * the first few it has.
   */
  loadStateDict(dict: Record<string, Tensor>): void {
    const op = `${this.name}.loadStateDict`;
    if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) fail('INVALID_ARGUMENT', `${op}: expected the object stateDict() returned; got ${describe(dict)}`);
    const params = this.paramGroups.flatMap((g) => g.params);
    const own = this.ownState();
    const lrs = this.paramGroups.map((g) => (g as { lr?: number }).lr);
    const initials: (number | undefined)[] = this.paramGroups.map(() => undefined);
    const states = new Map<number, Record<string, Tensor | number>>(); // by the dict's parameter index
    const ids: (number[] | undefined)[] = this.paramGroups.map(() => undefined); // param_groups.g.params
    const counters: Record<string, number> = {};
    const scalarOf = (k: string, t: Tensor): number => {
      if (t.size !== 1) fail('SHAPE_MISMATCH', `${op}: '${k}' has shape [${t.shape.join(', ')}]; expected a single number`);
      return t.item();
    };
    const optionKeys = Object.keys(this.defaults).filter((key) => key !== 'lr');
    const options = this.paramGroups.map(() => ({}) as Record<string, unknown>);
    const entries = Object.entries(dict);
    // A whole checkpoint may hold the model's keys and a scheduler's beside these: only the optimizer's
    // namespaces are read (and checked strictly: a key there that is not this optimizer's is refused).
    const mine = entries.filter(([k]) => OPTIMIZER_KEY.test(k));
    if (!mine.length && entries.length) {
      const shown = entries.slice(0, 4).map(([k]) => `'${k}'`).join(', ');
      fail('INVALID_ARGUMENT', `${op}: the dict holds none of an optimizer's keys (param_groups.g.<option>, state.i.<name>, scalars.i.<name>, optimizer.<counter>); it has ${entries.length} other${entries.length === 1 ? '' : 's'} (${shown}${entries.length > 4 ? ', …' : ''}): pass what ${this.name}.stateDict() returned, or a checkpoint that holds it (a model's stateDict() loads with model.loadStateDict())`);
    }
    for (const [k, t] of mine) {
      checkTensor(t, op, `'${k}'`);
      let m: RegExpExecArray | null;
      if ((m = /^param_groups\.(\d+)\.(\w+)$/.exec(k)) && optionKeys.includes(m[2])) {
        const gi = Number(m[1]);
        if (gi >= lrs.length) fail('INVALID_ARGUMENT', `${op}: '${k}' names parameter group ${gi}; this optimizer has ${lrs.length}${ADDED_HINT}`);
        const now = (this.paramGroups[gi] as Record<string, unknown>)[m[2]];
        if (typeof now === 'number' || now === undefined || now === null) options[gi][m[2]] = scalarOf(k, t); // unset here (a seed): a number there
        else if (typeof now === 'boolean') {
          const v = scalarOf(k, t);
          if (v !== 0 && v !== 1) fail('INVALID_ARGUMENT', `${op}: '${k}' is ${v}; expected 0 or 1 (the boolean option ${m[2]})`);
          options[gi][m[2]] = v === 1;
        } else if (Array.isArray(now)) {
          if (t.rank !== 1 || t.size !== now.length) fail('SHAPE_MISMATCH', `${op}: '${k}' has shape [${t.shape.join(', ')}]; expected [${now.length}] (the option ${m[2]})`);
          options[gi][m[2]] = Array.from(t.dataSync() as ArrayLike<number>);
        } else fail('INVALID_ARGUMENT', `${op}: '${k}': the option ${m[2]} is not a number, boolean or number array here, so it cannot be loaded`);
      } else if ((m = /^param_groups\.(\d+)\.params$/.exec(k))) {
        const gi = Number(m[1]);
        if (gi >= lrs.length) fail('INVALID_ARGUMENT', `${op}: '${k}' names parameter group ${gi}; this optimizer has ${lrs.length}${ADDED_HINT}`);
        if (t.rank !== 1) fail('SHAPE_MISMATCH', `${op}: '${k}' has shape [${t.shape.join(', ')}]; expected a list of parameter indices (rank 1)`);
        const list = Array.from(t.dataSync() as ArrayLike<number>);
        const bad = list.find((v) => !Number.isSafeInteger(v) || v < 0);
        if (bad !== undefined) fail('INVALID_ARGUMENT', `${op}: '${k}' holds ${bad}; parameter indices are integers >= 0`);
        ids[gi] = list;
      } else if ((m = /^param_groups\.(\d+)\.(lr|initial_lr)$/.exec(k))) {
        const gi = Number(m[1]);
        if (gi >= lrs.length) fail('INVALID_ARGUMENT', `${op}: '${k}' names parameter group ${gi}; this optimizer has ${lrs.length}${ADDED_HINT}`);
        const v = scalarOf(k, t);
        if (!Number.isFinite(v) || v < 0) fail('INVALID_ARGUMENT', `${op}: '${k}' is ${v}; expected a finite learning rate >= 0`);
        if (m[2] === 'lr') lrs[gi] = v;
        else initials[gi] = v;
      } else if ((m = /^(state|scalars)\.(\d+)\.([A-Za-z_]\w*)$/.exec(k))) {
        const i = Number(m[2]);
        const known = this.stateKeys();
        const kind = m[1] === 'state' ? known.tensors : known.numbers;
        if (!kind.includes(m[3])) {
          const list = [...known.tensors.map((n) => `state.i.${n}`), ...known.numbers.map((n) => `scalars.i.${n}`)];
          fail('INVALID_ARGUMENT', `${op}: unknown key '${k}'; ${this.name} keeps ${list.length ? list.join(', ') : 'nothing'} per parameter${FOREIGN_HINT}`);
        }
        const st = states.get(i) ?? {};
        states.set(i, st);
        if (m[1] === 'scalars') st[m[3]] = scalarOf(k, t);
        else st[m[3]] = t;
      } else if ((m = /^optimizer\.(\w+)$/.exec(k)) && Object.hasOwn(own, m[1])) counters[m[1]] = scalarOf(k, t);
      else fail('INVALID_ARGUMENT', `${op}: unknown key '${k}'; expected param_groups.g.<option>, state.i.<name>, scalars.i.<name>${Object.keys(own).length ? ` or optimizer.${Object.keys(own).join('|')}` : ''} (from ${this.name}.stateDict())${FOREIGN_HINT}`);
    }
    // stateDict() always has each group's lr (torch's load_state_dict needs its param_groups too).
    const missing = lrs.map((_, gi) => `param_groups.${gi}.lr`).filter((k) => !Object.hasOwn(dict, k));
    // Fewer groups than here (as torch's 'a different number of parameter groups'): say so, and the likely cause.
    const saved = lrs.filter((_, gi) => Object.hasOwn(dict, `param_groups.${gi}.lr`)).length;
    if (missing.length && saved > 0 && missing.every((k, i) => k === `param_groups.${saved + i}.lr`))
      fail('INVALID_ARGUMENT', `${op}: the dict holds ${saved} parameter group${saved === 1 ? '' : 's'}; this optimizer has ${lrs.length} (a dict saved before an addParamGroup: load it first, then add the group${lrs.length - saved === 1 ? '' : 's'})`);
    // Each group's parameters (PyTorch's check of param_groups[g]['params']): as many as the group has here, each
    // index once; the dict's index of a parameter is its position in that list (a dict of an older antler, with no
    // lists, indexes the parameters in order).
    const given = ids.filter((l) => l !== undefined).length;
    if (given > 0 && given < ids.length)
      fail('INVALID_ARGUMENT', `${op}: the dict lists the parameters of ${given} of this optimizer's ${ids.length} parameter groups; missing ${ids.map((l, gi) => (l ? '' : `'param_groups.${gi}.params'`)).filter(Boolean).join(', ')}`);
    const position = new Map<number, number>(); // the dict's parameter index -> index into params
    if (given > 0) {
      let at = 0;
      this.paramGroups.forEach((g, gi) => {
        const list = ids[gi]!;
        if (list.length !== g.params.length)
          fail('INVALID_ARGUMENT', `${op}: loaded state dict contains a parameter group that doesn't match the size of optimizer's group: parameter group ${gi} has ${list.length} parameter${list.length === 1 ? '' : 's'} in the dict ('param_groups.${gi}.params') and ${g.params.length} in this optimizer (build the model and its groups as the saved run did)`);
        for (const id of list) {
          if (position.has(id)) fail('INVALID_ARGUMENT', `${op}: 'param_groups.${gi}.params' lists parameter index ${id} again (a dict's parameter indices are distinct across all groups)`);
          position.set(id, at++);
        }
      });
    } else params.forEach((_, i) => position.set(i, i));
    const byParam = new Map<number, Record<string, Tensor | number>>();
    for (const [i, st] of states) {
      const at = position.get(i);
      const key = Object.keys(st)[0];
      const name = `'${typeof st[key] === 'number' ? 'scalars' : 'state'}.${i}.${key}'`;
      if (at === undefined)
        fail('INVALID_ARGUMENT', given > 0 ? `${op}: ${name} names parameter index ${i}, which no group's params list holds` : `${op}: ${name} names parameter ${i}; this optimizer has ${params.length}`);
      const p = params[at];
      for (const [k, v] of Object.entries(st)) {
        if (typeof v === 'number') continue;
        if (v.shape.length !== p.shape.length || v.shape.some((d, j) => d !== p.shape[j]))
          fail('SHAPE_MISMATCH', `${op}: 'state.${i}.${k}' has shape [${v.shape.join(', ')}]; parameter ${at} has shape [${p.shape.join(', ')}]`);
        // Any dtype: cast to the parameter's below, as PyTorch 1.13's load_state_dict casts every state tensor
        // (an int64 exp_avg too) to a floating parameter's dtype.
      }
      byParam.set(at, st);
    }
    if (missing.length)
      fail('INVALID_ARGUMENT', `${op}: missing ${missing.map((k) => `'${k}'`).join(', ')}; a dict from ${this.name}.stateDict() has one per parameter group (this optimizer has ${lrs.length})`);
    // The loaded options, checked as a step checks them, before anything changes.
    this.paramGroups.forEach((g, gi) => {
      if (Object.keys(options[gi]).length) this.validate({ ...g, ...options[gi], lr: lrs[gi] ?? (g as { lr?: number }).lr } as unknown as O, `${op} (parameter group ${gi})`);
    });
    // Checked: now replace.
    const copies = new Map<number, Record<string, Tensor | number>>();
    isolated(() => {
      for (const [i, st] of byParam) {
        const p = params[i];
        const c: Record<string, Tensor | number> = {};
        for (const [k, v] of Object.entries(st))
          c[k] = typeof v === 'number' ? v : keep(tidy(() => v.to(p.device).cast(p.dtype as 'float32' | 'float64').clone()));
        copies.set(i, c);
      }
    });
    this.dispose();
    for (const [i, c] of copies) this.state.set(params[i], c);
    this.paramGroups.forEach((g, gi) => {
      if (lrs[gi] !== undefined) (g as { lr?: number }).lr = lrs[gi];
      Object.assign(g, options[gi]);
      if (initials[gi] !== undefined) initialLrs.set(g, initials[gi]!);
    });
    this.loadOwnState(counters);
  }

  /** The names of the per-parameter state entries, tensors and numbers, for loadStateDict()'s check. */
  protected abstract stateKeys(): { tensors: readonly string[]; numbers: readonly string[] };

  /** Counters an optimizer keeps outside `state` (AdaHessian's step and probe counts), for stateDict(). */
  protected ownState(): Record<string, number> {
    return {};
  }

  protected loadOwnState(_counters: Record<string, number>): void {}

  /** Frees the optimizer's state tensors. */
  dispose(): void {
    for (const st of this.state.values()) for (const v of Object.values(st)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }

  /** `using opt = new optim.Adam(…)` frees the state at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

export function checkLr(v: number, name: string): void {
  checkFinite(v, name, 'lr');
  if (v < 0) fail('INVALID_ARGUMENT', `${name}: lr must be ≥ 0; got ${v}`);
}

/** The options Adam and AdaHessian share: lr, betas in [0, 1), eps ≥ 0, weightDecay ≥ 0. */
export function checkMomentOptions(g: { lr: number; betas: [number, number]; eps: number; weightDecay: number }, name: string): void {
  checkLr(g.lr, name);
  if (!Array.isArray(g.betas) || g.betas.length !== 2) fail('INVALID_ARGUMENT', `${name}: betas must be [beta1, beta2]; got ${describe(g.betas)}`);
  g.betas.forEach((b, i) => {
    checkFinite(b, name, `betas[${i}]`);
    if (b < 0 || b >= 1) fail('INVALID_ARGUMENT', `${name}: betas[${i}] must be in [0, 1); got ${b}`);
  });
  checkFinite(g.eps, name, 'eps');
  if (g.eps < 0) fail('INVALID_ARGUMENT', `${name}: eps must be ≥ 0; got ${g.eps}`);
  checkFinite(g.weightDecay, name, 'weightDecay');
  if (g.weightDecay < 0) fail('INVALID_ARGUMENT', `${name}: weightDecay must be ≥ 0; got ${g.weightDecay}`);
}

/** y ← y + α·x in place (torch's y.add_(x, alpha=α)), not recorded by autograd; any α. */
export function axpy(y: Tensor, x: Tensor, alpha: number): void {
  if (!Number.isFinite(alpha)) {
    // A NaN or infinite α (from a NaN gradient, say) is no SGD learning rate, but y + α·x is still
    // what the caller asked for: NaN where PyTorch's add_ gives NaN.
    noGrad(() =>
      tidy(() => {
        y.assign(add(y, mul(x, alpha)));
      }),
    );
    return;
  }
  addScaledInPlace(y.handle, x.handle, alpha);
}
