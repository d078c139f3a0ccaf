/**
 * torch.autograd's function API: `autograd.grad(outputs, inputs, options)`,
 * the gradients of outputs with respect to given tensors, without touching
 * any .grad (the functional transforms grad/valueAndGrad/hvp are in
 * functional.ts).
 */
import { isolated, track } from '../engine';
import { fail } from '../errors';
import { checkTensor, onesLike, Tensor, zeros, zerosLike } from '../tensor';
import { checkBoolean, checkOptions, describe } from '../validate';
export { defineFunction } from './function';
export type { FunctionContext, FunctionDefinition } from './function';
import { doubleBlockers, edgeOf, gradients, markDouble, noSecondDerivative, recordEdges, shapedAs, withGrad } from './graph';

/** Options of {@link grad} (torch.autograd.grad's, camelCase). */
export interface GradOptions {
  /**
   * The vector of the vector-Jacobian product, one per output (its shape;
   * another dtype is cast to the output's). Needed for an output of more
   * than one element; null or absent for a scalar one means 1.
   */
  gradOutputs?: Tensor | readonly (Tensor | null)[] | null;
  /** Keep what the graph saved for another backward through it (default: createGraph). */
  retainGraph?: boolean;
  /** Record the backward pass, so the gradients are differentiable again (default false). */
  createGraph?: boolean;
  /** An input the outputs do not depend on gets null instead of an error (default false). */
  allowUnused?: boolean;
  /** An input the outputs do not depend on gets zeros (default false; implies allowUnused). */
  materializeGrads?: boolean;
}

/**
 * The gradients of `outputs` (one tensor or several, each requiring grad)
 * with respect to `inputs` (leaves with requiresGrad, or results of recorded
 * ops), as torch.autograd.grad: Σₖ gradOutputs[k]ᵀ ∂outputs[k]/∂inputs, one
 * tensor per input, in an array, shaped as the input. No tensor's .grad
 * changes. Unless retainGraph (or createGraph) is set, what the graph saved
 * on the way is freed afterwards, as backward() does. With createGraph the
 * gradients are results of recorded ops, differentiable again (a gradient
 * penalty ‖∇ₓD(x)‖, meta-learning); every op on the way must support it
 * (NOT_SUPPORTED names those that do not). The gradients belong to the
 * caller's tidy() scope.
 */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], options?: GradOptions): (Tensor | null)[] {
  const op = 'autograd.grad';
  const outs = list(outputs, op, 'outputs');
  const ins = list(inputs, op, 'inputs');
  const o = checkOptions<GradOptions>(options, op, ['gradOutputs', 'retainGraph', 'createGraph', 'allowUnused', 'materializeGrads']);
  const createGraph = o.createGraph === undefined ? false : checkBoolean(o.createGraph, op, 'createGraph');
  const retainGraph = o.retainGraph === undefined ? createGraph : checkBoolean(o.retainGraph, op, 'retainGraph');
  const materialize = o.materializeGrads === undefined ? false : checkBoolean(o.materializeGrads, op, 'materializeGrads');
  if (materialize && o.allowUnused === false) fail('INVALID_ARGUMENT', `${op}: materializeGrads: true gives zeros for unused inputs, so allowUnused must be true or left out; got allowUnused: false`);
  const allowUnused = materialize || (o.allowUnused === undefined ? false : checkBoolean(o.allowUnused, op, 'allowUnused'));
  outs.forEach((t, i) => {
    if (!t.requiresGrad) fail('INVALID_ARGUMENT', `${op}: outputs[${i}] does not require grad (no input of its computation had requiresGrad = true, or it was computed under noGrad)`);
  });
  ins.forEach((t, i) => {
    if (!t.requiresGrad) fail('INVALID_ARGUMENT', `${op}: inputs[${i}] (shape [${t.shape.join(', ')}]) does not require grad; set requiresGrad on it before computing the outputs`);
  });
  const seeds = seedsFor(outs, o.gradOutputs, op);
  // An input listed twice gets its gradient twice (a copy), as in PyTorch.
  const first = ins.map((t, i) => ins.indexOf(t) === i);
  const targets = ins.map((t, i) => (first[i] ? edgeOf(t) : null));
  // A graph-building call records even under noGrad() (PyTorch's create_graph does): the copies and
  // reshapes made here too.
  const mode = <T>(fn: () => T): T => (createGraph ? withGrad(fn) : fn());
  // Several outputs: one root node whose backward hands each output its own seed (never a sum of
  // ⟨output, seed⟩, which would also differentiate the seeds).
  const single = outs.length === 1;
  const root = single ? outs[0] : outputsRoot(outs, seeds);
  try {
    const seed = single ? seeds[0] : isolated(() => onesLike(root));
    try {
      if (createGraph) {
        const blockers = doubleBlockers(root, targets, true);
        if (blockers.length)
          fail(
            'NOT_SUPPORTED',
            `${op}: createGraph needs a second derivative; ${noSecondDerivative(blockers)}`,
          );
      }
      // Through the inputs' own nodes: an input computed from another gets its gradient, and passes it on.
      const found = mode(() => gradients(root, seed, targets, createGraph, !retainGraph, true, true));
      const unused = ins.findIndex((_, i) => !found[first[i] ? i : ins.indexOf(ins[i])]);
      if (unused >= 0 && !allowUnused) {
        for (const h of found) h?.dispose();
        fail('INVALID_ARGUMENT', `${op}: inputs[${unused}] (shape [${ins[unused].shape.join(', ')}]) was not used to compute the outputs; pass allowUnused: true to get null for it (or materializeGrads: true for zeros)`);
      }
      return mode(() =>
        found.map((g0, i) => {
          const g = first[i] ? g0 : found[ins.indexOf(ins[i])]?.clone() ?? null;
          if (!g) return materialize ? zerosLike(ins[i]) : null;
          const shaped = shapedAs(ins[i], g);
          track(shaped);
          return shaped;
        }),
      );
    } finally {
      if (!single) seed.dispose();
    }
  } finally {
    if (!single) root.dispose();
    for (const s of seeds) s.dispose();
  }
}

/**
 * A scalar whose node's edges are the outputs' and whose backward gives
 * each output its seed (copies, recorded when the pass builds a graph, so
 * a seed that requires grad is followed as PyTorch follows grad_outputs).
 */
function outputsRoot(outs: readonly Tensor[], seeds: readonly Tensor[]): Tensor {
  const root = isolated(() => zeros([], { dtype: outs[0].dtype as 'float32' | 'float64', device: outs[0].device }));
  return withGrad(() => markDouble(recordEdges(root, 'outputs', outs.map(edgeOf), () => seeds.map((s) => s.clone()))));
}

function list(v: Tensor | readonly Tensor[], op: string, name: string): Tensor[] {
  const ts = v instanceof Tensor ? [v] : Array.isArray(v) ? (v as readonly unknown[]) : null;
  if (!ts || ts.length === 0) fail('INVALID_ARGUMENT', `${op}: ${name} must be a Tensor or a non-empty array of Tensors; got ${describe(v)}`);
  return ts.map((t, i) => checkTensor(t, op, `${name}[${i}]`));
}

/** One seed per output (owned by the caller): gradOutputs' (cast to the output's dtype) or ones for a one-element output. */
function seedsFor(outs: readonly Tensor[], given: GradOptions['gradOutputs'], op: string): Tensor[] {
  const gs = given === undefined || given === null ? outs.map(() => null) : given instanceof Tensor ? [given] : Array.isArray(given) ? (given as readonly (Tensor | null)[]) : null;
  if (!gs) fail('INVALID_ARGUMENT', `${op}: gradOutputs must be a Tensor, an array of Tensors (or nulls), or null; got ${describe(given)}`);
  if (gs.length !== outs.length) fail('INVALID_ARGUMENT', `${op}: gradOutputs has ${gs.length} entries for ${outs.length} outputs; expected one per output`);
  const made: Tensor[] = [];
  try {
    outs.forEach((t, k) => {
      const g = gs[k];
      if (g === null || g === undefined) {
        if (t.size !== 1) fail('SHAPE_MISMATCH', `${op}: outputs[${k}] has shape [${t.shape.join(', ')}]; a gradient in gradOutputs is needed for an output of more than one element`);
        made.push(isolated(() => onesLike(t)));
        return;
      }
      checkTensor(g, op, `gradOutputs[${k}]`);
      if (g.shape.length !== t.shape.length || g.shape.some((d, i) => d !== t.shape[i]))
        fail('SHAPE_MISMATCH', `${op}: gradOutputs[${k}] has shape [${g.shape.join(', ')}]; expected outputs[${k}]'s, [${t.shape.join(', ')}]`);
      if (g.device !== t.device) fail('DEVICE_MISMATCH', `${op}: gradOutputs[${k}] is on ${g.device}; expected outputs[${k}]'s device, ${t.device}`);
      // A copy (or a cast, recorded: a seed that requires grad is followed by a graph-building pass).
      made.push(withGrad(() => isolated(() => (g.dtype === t.dtype ? g.clone() : g.cast(t.dtype)))));
    });
  } catch (err) {
    for (const m of made) m.dispose();
    throw err;
  }
  return made;
}
