/**
 * Ops with a gradient the user writes: autograd.defineFunction (PyTorch's
 * torch.autograd.Function: forward(ctx, …) and backward(ctx, …grads)) and
 * customGrad (TensorFlow.js's tf.customGrad), recorded as one node of the
 * graph.
 */
import { tidy } from '../engine';
import { fail } from '../errors';
import { Tensor, zeros } from '../tensor';
import { describe } from '../validate';
import { edgeOf, isGradEnabled, noGrad, recordEdges } from './graph';
import { joinDtype, joinFlat, splitFlat } from './joined';

/** What forward and backward share (PyTorch's ctx): saved tensors, which inputs need a gradient, and any state you put on it. */
export interface FunctionContext {
  /** Keeps tensors for backward (views: backward sees their values at forward time, and fails with MODIFIED_IN_PLACE if they were written in place since). A tensor forward makes is freed when forward returns unless it is a result or saved here: put tensors on ctx through this, not as properties. */
  saveForBackward(...tensors: Tensor[]): void;
  /** In backward: the tensors saveForBackward kept, in order. */
  readonly savedTensors: Tensor[];
  /** Per forward argument: whether it is a tensor that needs a gradient (PyTorch's needs_input_grad). */
  readonly needsInputGrad: readonly boolean[];
  [key: string]: unknown;
}

/** The definition of a custom op (see defineFunction). */
export interface FunctionDefinition<A extends unknown[]> {
  /** The node's name in errors and profiles (default 'CustomFunction'). */
  name?: string;
  /** Computes the result from the arguments, unrecorded (as PyTorch's forward runs under no_grad): a Tensor or an array of Tensors. */
  forward(ctx: FunctionContext, ...args: A): Tensor | Tensor[];
  /**
   * The gradient of each argument from the gradient of each result (one
   * argument per result, shaped as it): an array with one entry per
   * forward argument (a Tensor of that argument's shape, or null/undefined
   * for none, always for non-tensor arguments), or a single Tensor when
   * forward took one argument.
   */
  backward(ctx: FunctionContext, ...gradOutputs: Tensor[]): Tensor | null | undefined | (Tensor | null | undefined)[];
}

/**
 * A differentiable op from a forward and a backward you write (PyTorch's
 * torch.autograd.Function, called with apply()): the returned function runs
 * forward(ctx, ...args) unrecorded and records one node whose gradient is
 * backward(ctx, ...gradOutputs), so backward(), autograd.grad and the
 * optimizers see it as any other op. Results are new tensors (an argument
 * returned as it is comes back as a copy); int32 results get no gradient (backward still gets one argument per result, in order: int32 zeros for them, as PyTorch).
 * backward's results are checked (shape and dtype of each argument; a
 * mismatch fails the backward pass with INVALID_ARGUMENT and leaves every
 * .grad as it was). Not twice differentiable (createGraph through it is
 * NOT_SUPPORTED, as PyTorch's once_differentiable).
 *
 *   const straightThrough = autograd.defineFunction({
 *     name: 'RoundSTE',
 *     forward: (ctx, x: Tensor) => antler.round(x),
 *     backward: (ctx, gy) => gy,                       // the identity's gradient
 *   });
 *   const y = straightThrough(x);
 */
export function defineFunction<A extends unknown[]>(definition: FunctionDefinition<A>): (...args: A) => Tensor | Tensor[] {
  const op = 'defineFunction';
  if (definition === null || typeof definition !== 'object') fail('INVALID_ARGUMENT', `${op}: expected {forward(ctx, ...args), backward(ctx, ...gradOutputs)}; got ${describe(definition)}`);
  const { forward, backward } = definition;
  const name = definition.name ?? 'CustomFunction';
  if (typeof forward !== 'function') fail('INVALID_ARGUMENT', `${op}: forward must be a function (ctx, ...args) → Tensor | Tensor[]; got ${describe(forward)}`);
  if (typeof backward !== 'function') fail('INVALID_ARGUMENT', `${op}: backward must be a function (ctx, ...gradOutputs) → the arguments' gradients; got ${describe(backward)}`);
  if (typeof name !== 'string' || name === '') fail('INVALID_ARGUMENT', `${op}: name must be a non-empty string; got ${describe(name)}`);
  return (...args: A) => {
    args.forEach((a, i) => {
      if (a instanceof Tensor && a.isDisposed) fail('DISPOSED', `${name}: argument ${i} (a Tensor) has been disposed`);
    });
    const tensorArgs = args.map((a) => (a instanceof Tensor ? a : null));
    const record = isGradEnabled() && tensorArgs.some((t) => t !== null && t.requiresGrad);
    let saved: Tensor[] = [];
    let savedViews: Tensor[] = [];
    const ctx = {
      saveForBackward: (...ts: Tensor[]) => {
        ts.forEach((t, i) => {
          if (!(t instanceof Tensor) || t.isDisposed) fail('INVALID_ARGUMENT', `${name}: saveForBackward's argument ${i} must be a live Tensor; got ${t instanceof Tensor ? 'a disposed Tensor' : describe(t)}`);
        });
        saved = ts;
      },
      get savedTensors() {
        return savedViews;
      },
      needsInputGrad: tensorArgs.map((t) => t !== null && t.requiresGrad),
    } as FunctionContext;
    // Forward unrecorded; what it makes besides its results is freed.
    const out = noGrad(() =>
      tidy(() => {
        const r = forward(ctx, ...args);
        const list = Array.isArray(r) ? r : [r];
        if (list.length === 0 || !list.every((t) => t instanceof Tensor && !t.isDisposed))
          fail('INVALID_ARGUMENT', `${name}: forward must return a Tensor or a non-empty array of Tensors; got ${describe(r)}`);
        // An argument (or a result twice) comes back as a copy: each result is the node's own.
        const results = list.map((t, i) => (tensorArgs.includes(t) || list.indexOf(t) !== i ? t.clone() : t));
        // What saveForBackward kept outlives forward's tidy as aliases (an intermediate forward made, e.g. a
        // float64 copy, would be freed with it), handed to the node and freed here once it holds its own.
        const kept = record ? saved.map((t) => t.sharedAlias()) : [];
        return { results, many: Array.isArray(r), kept };
      }),
    );
    const { results, many, kept } = out;
    if (!record) return many ? results : results[0];
    try {
      const diff = results.filter((t) => t.dtype !== 'int32');
      if (diff.length === 0) return many ? results : results[0];
      if (!diff.every((t) => t.device === diff[0].device))
        fail('NOT_SUPPORTED', `${name}: results that need a gradient must share one device; got ${diff.map((t) => `${t.dtype} on ${t.device}`).join(', ')}`);
      // float32 and float64 results together are joined in float64 (see joined.ts), each handed back, and
      // its gradient given to backward, in its own dtype.
      const common = joinDtype(diff);
      const edges = tensorArgs.map((t) => (t !== null && t.requiresGrad ? edgeOf(t) : null));
      const like = diff.map((t) => ({ shape: t.shape, dtype: t.dtype, size: t.size }));
      const intShapes = results.map((t) => (t.dtype === 'int32' ? t.shape : null));
      const backwardFn = (gy: Tensor, views: Tensor[]): (Tensor | null)[] => {
        savedViews = views;
        // One gradient per result: the pieces of the joined gradient.
        const pieces = diff.length === 1 ? [gy] : splitFlat(gy, like);
        // One argument per result, in forward's order: an int32 result's gradient is int32 zeros (as PyTorch's materialized grads).
        let k = 0;
        const gys = intShapes.map((s) => (s === null ? pieces[k++] : zeros(s, { dtype: 'int32', device: gy.device })));
        const r = backward(ctx, ...gys);
        const grads = Array.isArray(r) ? r : [r];
        // Extra entries past the arguments may be null (PyTorch ignores trailing Nones); anything else there is a mistake.
        const extraOk = grads.length > args.length && grads.slice(args.length).every((g) => g === null || g === undefined);
        if (grads.length !== args.length && !extraOk && !(grads.length === 1 && args.length === 1))
          fail('INVALID_ARGUMENT', `${name}: backward returned ${grads.length} gradient${grads.length === 1 ? '' : 's'}; expected one per forward argument (${args.length}), null for those without`);
        return args.map((a, i) => {
          const g = grads[i];
          if (g === null || g === undefined || edges[i] === null) return null;
          const t = tensorArgs[i]!;
          if (!(g instanceof Tensor) || g.isDisposed) fail('INVALID_ARGUMENT', `${name}: backward's gradient ${i} must be a Tensor, null or undefined; got ${g instanceof Tensor ? 'a disposed Tensor' : describe(g)}`);
          if (g.rank !== t.rank || g.shape.some((d, k) => d !== t.shape[k]))
            fail('INVALID_ARGUMENT', `${name}: backward's gradient ${i} has shape [${g.shape.join(', ')}]; expected argument ${i}'s shape [${t.shape.join(', ')}]`);
          if (g.dtype !== t.dtype || g.device !== t.device)
            fail('INVALID_ARGUMENT', `${name}: backward's gradient ${i} is ${g.dtype} on ${g.device}; expected argument ${i}'s ${t.dtype} on ${t.device}`);
          return g;
        });
      };
      // One recorded node: the result itself, or every result flattened and joined (handed back as slices).
      const root = diff.length === 1 ? diff[0] : joinFlat(diff, common);
      recordEdges(root, name, edges, backwardFn, kept);
      if (diff.length === 1) return many ? results : results[0];
      const pieces = splitFlat(root, like);
      root.dispose();
      const final = results.map((t) => {
        const i = diff.indexOf(t);
        if (i < 0) return t;
        t.dispose();
        return pieces[i];
      });
      return many ? final : final[0];
    } finally {
      kept.forEach((t) => t.dispose());
    }
  };
}

/**
 * TensorFlow.js's tf.customGrad: f(...inputs, save) returns {value,
 * gradFunc(dy, saved)}, where save(tensors) keeps tensors for gradFunc and
 * gradFunc returns one gradient per input (or a single Tensor for one
 * input). Inputs are Tensors; value is one Tensor. Built on defineFunction.
 *
 *   const clipGrad = antler.customGrad((x: Tensor, save) => {
 *     save([x]);
 *     return { value: x.clone(), gradFunc: (dy) => antler.clamp(dy, -1, 1) };
 *   });
 */
export type GradFunc = (dy: Tensor, saved: Tensor[]) => Tensor | Tensor[];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function customGrad(f: (...args: any[]) => { value: Tensor; gradFunc: GradFunc }): (...inputs: Tensor[]) => Tensor {
  if (typeof f !== 'function') fail('INVALID_ARGUMENT', `customGrad: expected a function (...inputs, save) → {value, gradFunc}; got ${describe(f)}`);
  const fn = defineFunction<Tensor[]>({
    name: 'customGrad',
    forward: (ctx, ...inputs) => {
      inputs.forEach((t, i) => {
        if (!(t instanceof Tensor)) fail('INVALID_ARGUMENT', `customGrad: input ${i} must be a Tensor; got ${describe(t)}`);
      });
      const r = f(...inputs, (ts: Tensor[]) => ctx.saveForBackward(...ts));
      if (!r || !(r.value instanceof Tensor) || typeof r.gradFunc !== 'function')
        fail('INVALID_ARGUMENT', `customGrad: f must return {value: Tensor, gradFunc: (dy, saved) → gradients}; got ${describe(r)}`);
      ctx.gradFunc = r.gradFunc;
      return r.value;
    },
    backward: (ctx, dy) => (ctx.gradFunc as GradFunc)(dy, ctx.savedTensors),
  });
  return (...inputs: Tensor[]) => fn(...inputs) as Tensor;
}
