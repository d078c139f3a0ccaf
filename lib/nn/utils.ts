/**
 * antler.nn.utils (torch.nn.utils): weight normalisation, spectral
 * normalisation (hook style; parametrize and parametrizations), a model's
 * parameters as one flat vector and back, and `rnn` (torch.nn.utils.rnn:
 * packed sequences).
 */
import { noGrad } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { clone, concat, div, mul, reshape, slice, sqrt, square, sum, transpose } from '../ops/core';
import { dot, normalize } from '../ops/extra';
import { mv } from '../ops/products';
import { randn } from '../tensor';
import { Tensor } from '../tensor';
import { describe } from '../validate';
import { Module, onModuleClone, parameter, type RemovableHandle } from './module';

/**
 * PyTorch's norm_except_dim(v, 2, dim): the 2-norm over every axis but
 * `dim`, shaped [1, …, v.shape[dim], …, 1]; dim −1 is the whole tensor's
 * norm (a 0-d tensor), as there.
 */
function normExceptDim(v: Tensor, dim: number): Tensor {
  if (dim === -1) return sqrt(sum(square(v)));
  const axes = v.shape.map((_, i) => i).filter((i) => i !== dim);
  return axes.length ? sqrt(sum(square(v), axes, true)) : sqrt(square(v));
}

interface WeightNormHook {
  dim: number;
  handle: RemovableHandle;
}

/** Weight norms applied, per module and parameter name. */
const weightNorms = new WeakMap<Module, Map<string, WeightNormHook>>();

// A module's copy (Module.clone()) carries the hooks over: its records point at the copy's handles.
onModuleClone((from, to) => {
  const records = weightNorms.get(from);
  if (!records) return;
  const copied = new Map<string, WeightNormHook>();
  for (const [name, { dim, handle }] of records) {
    const h = Module.hookHandle(to, handle.id);
    if (h) copied.set(name, { dim, handle: h });
  }
  weightNorms.set(to, copied);
});

const props = (m: Module) => m as unknown as Record<string, unknown>;

/** w = g · v / ‖v‖ (norm over every axis but dim), recorded, held by the module on property `name`. */
function computeWeight(module: Module, name: string, dim: number): void {
  const g = props(module)[`${name}_g`], v = props(module)[`${name}_v`];
  if (!(g instanceof Tensor) || !(v instanceof Tensor))
    fail('INVALID_ARGUMENT', `weightNorm: the module's '${name}_g' and '${name}_v' must be its parameters; got ${describe(g)} and ${describe(v)}`);
  if (g.isDisposed || v.isDisposed) fail('DISPOSED', `weightNorm: the module's '${name}_${g.isDisposed ? 'g' : 'v'}' has been disposed`);
  const w = tidy(() => mul(v, div(g, normExceptDim(v, dim))));
  Module.holdOwned(module, name, w);
}

/**
 * Weight normalisation (torch.nn.utils.weight_norm; Salimans & Kingma 2016):
 * the parameter `name` (default 'weight') becomes two, `${name}_g` (its
 * norm over every axis but `dim`) and `${name}_v` (its direction: the
 * parameter itself), and before every forward the module's `name` is
 * recomputed as g · v / ‖v‖, so gradients reach g and v. dim defaults to 0
 * (one norm per output row); dim null — or −1, as in PyTorch — is one norm
 * of the whole tensor (g 0-d). The state dict holds `${name}_g` and
 * `${name}_v` in place of `name`, as PyTorch's. Works for any module whose
 * forward reads the parameter from its property (Linear, Conv1d, …) or by
 * name (GRU/LSTM/RNN's weight_hh_l0, …). Create the optimizer after this.
 * The module owns the recomputed weight: each forward frees the previous
 * one (clone() `module[name]` to keep it); a call of the module's own
 * forward from inside it (a recursive module) shares the outer call's.
 * Returns the module.
 *
 *   const fc = nn.utils.weightNorm(new nn.Linear(20, 40));  // fc.weight_g [40, 1], fc.weight_v [40, 20]
 */
export function weightNorm<M extends Module>(module: M, name = 'weight', dim: number | null = 0): M {
  const op = 'weightNorm';
  if (!(module instanceof Module)) fail('INVALID_ARGUMENT', `${op}: expected a Module; got ${describe(module)}`);
  if (typeof name !== 'string' || name === '') fail('INVALID_ARGUMENT', `${op}: name must be a parameter's name; got ${describe(name)}`);
  if (weightNorms.get(module)?.has(name)) fail('INVALID_ARGUMENT', `${op}: '${name}' of this ${module.constructor.name} already has a weight norm (PyTorch: cannot register two weight_norm hooks on the same parameter)`);
  const own = new Map(module.namedParameters('', false).filter(([n]) => !n.includes('.')));
  const weight = own.get(name);
  if (!weight) fail('INVALID_ARGUMENT', `${op}: this ${module.constructor.name} has no parameter '${name}'; its parameters: ${[...own.keys()].join(', ') || 'none'}`);
  for (const suffix of ['_g', '_v'])
    if (`${name}${suffix}` in module) fail('INVALID_ARGUMENT', `${op}: this ${module.constructor.name} already has a property '${name}${suffix}'`);
  const rank = weight.rank;
  let d = dim === null ? -1 : dim;
  if (typeof d !== 'number' || !Number.isInteger(d) || d < -rank || d >= Math.max(rank, 1))
    fail('INVALID_ARGUMENT', `${op}: dim must be null or an integer in [${-rank}, ${Math.max(rank, 1) - 1}] for '${name}' of shape [${weight.shape.join(', ')}]; got ${describe(dim)}`);
  // As PyTorch's norm_except_dim: −1 is the whole tensor's norm; other negative dims count from the end.
  if (d < -1 || (d === -1 && rank === 0)) d += rank;
  const g = noGrad(() => tidy(() => normExceptDim(weight, d)));
  // The parameter leaves the registry (it may be shared, so it is not freed) and comes back as
  // name_v; name_g is new; both are registered at the end, as PyTorch's register_parameter does.
  delete props(module)[name];
  props(module)[`${name}_g`] = parameter(g);
  props(module)[`${name}_v`] = weight;
  computeWeight(module, name, d);
  // The module the hook is called with, not this one: a copy (clone()) runs the same hook for itself.
  const handle = module.registerForwardPreHook((m) => {
    // A call of the module's own forward from inside it (a recursive module) keeps the outer call's weight: it may still use it.
    if (Module.forwardDepth(m) > 1) return;
    computeWeight(m, name, d);
  });
  if (!weightNorms.has(module)) weightNorms.set(module, new Map());
  weightNorms.get(module)!.set(name, { dim: d, handle });
  return module;
}

/**
 * Undoes weightNorm (torch.nn.utils.remove_weight_norm): `name` becomes one
 * parameter again, holding g · v / ‖v‖ (registered last, as in PyTorch);
 * `${name}_g` and `${name}_v` are freed. Returns the module.
 */
export function removeWeightNorm<M extends Module>(module: M, name = 'weight'): M {
  const op = 'removeWeightNorm';
  if (!(module instanceof Module)) fail('INVALID_ARGUMENT', `${op}: expected a Module; got ${describe(module)}`);
  const hook = weightNorms.get(module)?.get(name);
  if (!hook) fail('INVALID_ARGUMENT', `${op}: no weight norm of ${describe(name)} in this ${module.constructor.name}`);
  const g = props(module)[`${name}_g`] as Tensor, v = props(module)[`${name}_v`] as Tensor;
  const w = noGrad(() => {
    computeWeight(module, name, hook.dim);
    return Module.owned(module, name)!.clone();
  });
  hook.handle.remove();
  weightNorms.get(module)!.delete(name);
  Module.holdOwned(module, name, null);
  delete props(module)[`${name}_g`];
  delete props(module)[`${name}_v`];
  g.dispose();
  v.dispose();
  props(module)[name] = parameter(w);
  return module;
}

interface SpectralNormHook {
  dim: number;
  nPowerIterations: number;
  eps: number;
  handle: RemovableHandle;
}

/** Hook-style spectral norms applied, per module and parameter name. */
const spectralNorms = new WeakMap<Module, Map<string, SpectralNormHook>>();

onModuleClone((from, to) => {
  const records = spectralNorms.get(from);
  if (!records) return;
  const copied = new Map<string, SpectralNormHook>();
  for (const [name, r] of records) {
    const h = Module.hookHandle(to, r.handle.id);
    if (h) copied.set(name, { ...r, handle: h });
  }
  spectralNorms.set(to, copied);
});

/** w = w_orig / σ, σ = uᵀ W v after nPowerIterations (v then u) in training mode; held on property `name`. */
function computeSpectral(module: Module, name: string, r: { dim: number; nPowerIterations: number; eps: number }, powerIteration: boolean): void {
  const w = props(module)[`${name}_orig`], u = props(module)[`${name}_u`], v = props(module)[`${name}_v`];
  if (!(w instanceof Tensor) || !(u instanceof Tensor) || !(v instanceof Tensor))
    fail('INVALID_ARGUMENT', `spectralNorm: the module's '${name}_orig', '${name}_u' and '${name}_v' must be its parameter and buffers; got ${describe(w)}, ${describe(u)} and ${describe(v)}`);
  for (const [t, s] of [[w, 'orig'], [u, 'u'], [v, 'v']] as const) if (t.isDisposed) fail('DISPOSED', `spectralNorm: the module's '${name}_${s}' has been disposed`);
  const out = tidy(() => {
    const Wm = weightMatrix(w, r.dim);
    if (powerIteration)
      noGrad(() => {
        for (let i = 0; i < r.nPowerIterations; i++)
          tidy(() => {
            v.assign(normalize(mv(transpose(Wm), u), { axis: 0, eps: r.eps }));
            u.assign(normalize(mv(Wm, v), { axis: 0, eps: r.eps }));
          });
      });
    // Copies: a later step's in-place update must not change what this forward's graph saved.
    return div(w, dot(clone(u), mv(Wm, clone(v))));
  });
  Module.holdOwned(module, name, out);
}

/**
 * Spectral normalisation with a forward pre-hook (torch.nn.utils.spectral_norm,
 * the older API; see nn.utils.parametrizations.spectralNorm for the
 * parametrization): the parameter `name` becomes `${name}_orig`, with
 * buffers `${name}_u` and `${name}_v` (normalised N(0, 1) draws; `seed`
 * fixes them), and before every forward `module[name]` is recomputed as
 * `${name}_orig` / σ, σ = uᵀ W v with W the weight as a matrix (`dim` first:
 * default 0, 1 for ConvTranspose layers and subclasses, as torch), after nPowerIterations
 * steps (v then u, under noGrad) in training mode only. State dict keys
 * `${name}_orig`, `${name}_u`, `${name}_v`, as torch's. Until the first
 * forward `module[name]` is a copy of the weight (torch: its data). The
 * module owns the recomputed weight, as weightNorm's (a nested call of its
 * own forward shares the outer call's: one power step, where torch steps
 * at each call). Returns the module.
 */
export function spectralNorm<M extends Module>(module: M, name = 'weight', nPowerIterations = 1, eps = 1e-12, dim: number | null = null, seed?: number): M {
  const op = 'spectralNorm';
  if (!(module instanceof Module)) fail('INVALID_ARGUMENT', `${op}: expected a Module; got ${describe(module)}`);
  if (typeof name !== 'string' || name === '') fail('INVALID_ARGUMENT', `${op}: name must be a parameter's name; got ${describe(name)}`);
  if (spectralNorms.get(module)?.has(name)) fail('INVALID_ARGUMENT', `${op}: '${name}' of this ${module.constructor.name} already has a spectral norm (PyTorch: cannot register two spectral_norm hooks on the same parameter)`);
  if (!Number.isInteger(nPowerIterations) || nPowerIterations <= 0) fail('INVALID_ARGUMENT', `${op}: nPowerIterations must be a positive integer; got ${describe(nPowerIterations)}`);
  if (typeof eps !== 'number' || !(eps > 0)) fail('INVALID_ARGUMENT', `${op}: eps must be a positive number; got ${describe(eps)}`);
  const own = new Map(module.namedParameters('', false).filter(([n]) => !n.includes('.')));
  const weight = own.get(name);
  if (!weight) fail('INVALID_ARGUMENT', `${op}: this ${module.constructor.name} has no parameter '${name}'; its parameters: ${[...own.keys()].join(', ') || 'none'}`);
  for (const suffix of ['_orig', '_u', '_v'])
    if (`${name}${suffix}` in module) fail('INVALID_ARGUMENT', `${op}: this ${module.constructor.name} already has a property '${name}${suffix}'`);
  const rank = weight.rank;
  let d = dim ?? (isConvTranspose(module) ? 1 : 0);
  if (!Number.isInteger(d) || rank < 1 || d < -rank || d >= rank)
    fail('INVALID_ARGUMENT', `${op}: dim must be null or an integer in [${-rank}, ${rank - 1}] for '${name}' of shape [${weight.shape.join(', ')}]; got ${describe(dim)}`);
  if (d < 0) d += rank;
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0)) fail('INVALID_ARGUMENT', `${op}: seed must be a non-negative integer; got ${describe(seed)}`);
  const [u, v, w0] = noGrad(() =>
    tidy(() => {
      const [h, w] = weightMatrix(weight, d).shape;
      const place = { dtype: weight.dtype as 'float32' | 'float64', device: weight.device };
      const draw = (n: number, s: number | undefined) => normalize(randn([n], { ...place, ...(s === undefined ? {} : { seed: s }) }), { axis: 0, eps });
      return [draw(h, seed), draw(w, seed === undefined ? undefined : (seed + 1) >>> 0), weight.clone()];
    }),
  );
  delete props(module)[name];
  props(module)[`${name}_orig`] = weight;
  const reg = module as unknown as { registerBuffer(n: string, t: Tensor): Tensor };
  props(module)[`${name}_u`] = reg.registerBuffer(`${name}_u`, u);
  props(module)[`${name}_v`] = reg.registerBuffer(`${name}_v`, v);
  Module.holdOwned(module, name, w0);
  const record = { dim: d, nPowerIterations, eps };
  const handle = module.registerForwardPreHook((m) => {
    // As weightNorm's: a nested call of the module's own forward shares the outer call's weight (one power step).
    if (Module.forwardDepth(m) > 1) return;
    computeSpectral(m, name, record, m.training);
  });
  if (!spectralNorms.has(module)) spectralNorms.set(module, new Map());
  spectralNorms.get(module)!.set(name, { ...record, handle });
  return module;
}

/**
 * Undoes spectralNorm (torch.nn.utils.remove_spectral_norm): `name` becomes
 * one parameter again holding `${name}_orig` / σ with the stored u, v (no
 * power step); `${name}_orig`, `${name}_u` and `${name}_v` are freed.
 * Returns the module.
 */
export function removeSpectralNorm<M extends Module>(module: M, name = 'weight'): M {
  const op = 'removeSpectralNorm';
  if (!(module instanceof Module)) fail('INVALID_ARGUMENT', `${op}: expected a Module; got ${describe(module)}`);
  const hook = spectralNorms.get(module)?.get(name);
  if (!hook) fail('INVALID_ARGUMENT', `${op}: no spectral norm of ${describe(name)} in this ${module.constructor.name}`);
  const orig = props(module)[`${name}_orig`] as Tensor;
  const w = noGrad(() => {
    computeSpectral(module, name, hook, false);
    return Module.owned(module, name)!.clone();
  });
  hook.handle.remove();
  spectralNorms.get(module)!.delete(name);
  Module.holdOwned(module, name, null);
  delete props(module)[`${name}_u`];
  delete props(module)[`${name}_v`];
  delete props(module)[`${name}_orig`];
  orig.dispose();
  props(module)[name] = parameter(w);
  return module;
}

/** The tensors of `parameters` (an array, or a module's parameters()), checked. */
function tensorList(parameters: unknown, op: string): Tensor[] {
  const list = parameters instanceof Module ? parameters.parameters() : parameters;
  if (!Array.isArray(list)) fail('INVALID_ARGUMENT', `${op}: expected an array of tensors (module.parameters()); got ${describe(parameters)}`);
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: entry ${i} must be a Tensor; got ${describe(p)}`);
    if (p.isDisposed) fail('DISPOSED', `${op}: entry ${i} has been disposed`);
  });
  const first = list[0] as Tensor | undefined;
  for (const [i, p] of (list as Tensor[]).entries()) {
    if (p.device !== first!.device) fail('DEVICE_MISMATCH', `${op}: entry ${i} is on ${p.device} and entry 0 on ${first!.device}; expected one device (PyTorch: found two devices)`);
    if (p.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: entry ${i} is int32; expected floating-point parameters`);
  }
  return list as Tensor[];
}

/**
 * The parameters flattened and joined into one vector
 * (torch.nn.utils.parameters_to_vector), recorded (gradients flow back to
 * each parameter); float32 and float64 together are joined in float64.
 */
export function parametersToVector(parameters: readonly Tensor[] | Module): Tensor {
  const op = 'parametersToVector';
  const list = tensorList(parameters, op);
  if (list.length === 0) fail('INVALID_ARGUMENT', `${op}: expected at least one parameter; got an empty list`);
  const dtype = list.every((p) => p.dtype === list[0].dtype) ? list[0].dtype : 'float64';
  return tidy(() => concat(list.map((p) => reshape(p.dtype === dtype ? p : p.cast(dtype), [p.size])), 0));
}

/**
 * Copies consecutive slices of the 1-D `vec` into the parameters, in order
 * and in place (torch.nn.utils.vector_to_parameters; unrecorded, as there):
 * vec's length must be their total size; values are converted to each
 * parameter's dtype.
 */
export function vectorToParameters(vec: Tensor, parameters: readonly Tensor[] | Module): void {
  const op = 'vectorToParameters';
  if (!(vec instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: expected vec, a Tensor; got ${describe(vec)}`);
  if (vec.isDisposed) fail('DISPOSED', `${op}: vec has been disposed`);
  const list = tensorList(parameters, op);
  const total = list.reduce((a, p) => a + p.size, 0);
  if (vec.rank !== 1 || vec.size !== total)
    fail('SHAPE_MISMATCH', `${op}: vec must be 1-D with the parameters' total size ${total}; got shape [${vec.shape.join(', ')}]`);
  if (list.length && vec.device !== list[0].device) fail('DEVICE_MISMATCH', `${op}: vec is on ${vec.device} and the parameters on ${list[0].device}`);
  if (vec.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: vec is int32; expected a floating-point vector`);
  noGrad(() => {
    let at = 0;
    for (const p of list) {
      const n = p.size;
      tidy(() => {
        const piece = reshape(slice(vec, [at], [n]), p.shape);
        p.assign(piece.dtype === p.dtype ? piece : piece.cast(p.dtype));
      });
      at += n;
    }
  });
}

/** torch.nn.utils.clip_grad_norm_ / clip_grad_value_ live there in PyTorch: the same functions as optim's. */
export { clipGradNorm, clipGradValue } from '../optim/index';
/** torch.nn.utils.rnn: PackedSequence, packPaddedSequence, padPackedSequence, packSequence, unpackSequence, padSequence, unpadSequence. */
export * as rnn from './utils-rnn';
import { cached, isConvTranspose, weightMatrix, isParametrized, orthogonal, Orthogonal, ParametrizationList, registerParametrization, removeParametrizations, spectralNorm as spectralNormParametrization, SpectralNorm } from './parametrize';
export type { OrthogonalMap, OrthogonalOptions, Parametrization, SpectralNormOptions } from './parametrize';
/** torch.nn.utils.parametrize: registerParametrization, removeParametrizations, isParametrized, cached (see lib/nn/parametrize.ts). */
export const parametrize = { registerParametrization, removeParametrizations, isParametrized, cached, ParametrizationList } as const;
/** torch.nn.utils.parametrizations: spectralNorm and orthogonal, and their parametrization modules. */
export const parametrizations = { spectralNorm: spectralNormParametrization, orthogonal, SpectralNorm, Orthogonal } as const;
