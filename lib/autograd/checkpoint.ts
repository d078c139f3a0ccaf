/**
 * Activation checkpointing (torch.utils.checkpoint): a piece of the forward
 * pass whose intermediate results are not kept for the gradient but computed
 * again in backward, trading one more forward for memory — what makes BPTT
 * through long sequences or deep stacks fit.
 *
 * checkpoint(fn, ...args) runs fn once with recording on to learn where its
 * gradient goes (its tensor arguments, and the parameters and earlier results
 * it reaches from outside), keeps its outputs and drops the rest of that
 * graph at once. The outputs carry one node whose backward runs fn again on
 * the saved arguments, with the global generator's draws of the first run
 * (the same dropout masks), and hands the gradient on through the new graph:
 * to the arguments, and to the parameters and earlier results as any op's
 * gradient goes, so backward(), autograd.grad() and the optimizers see
 * nothing different (PyTorch's non-reentrant checkpoint).
 */
import { tidy, tidyMade } from '../engine';
import { AntlerError, fail } from '../errors';
import { globalDrawState, setGlobalDrawState } from '../random';
import { Tensor } from '../tensor';
import { describe } from '../validate';
import type { Edge } from './graph';
import { edgeOf, gradients, graphBoundary, isGradEnabled, nodeMark, recordEdges, withGrad } from './graph';
import { joinDtype, joinFlat, splitFlat } from './joined';

type Outputs = Tensor | readonly Tensor[];

/** fn's outputs as a list, checked: one tensor or a non-empty array of them. */
function outputList(op: string, out: unknown): Tensor[] {
  if (out instanceof Tensor) return [out];
  if (Array.isArray(out) && out.length > 0 && out.every((t) => t instanceof Tensor)) return out as Tensor[];
  const expected = `${op}: the function must return a Tensor or a non-empty array of Tensors; got`;
  if (Array.isArray(out) && out.length > 0) {
    const i = out.findIndex((t) => !(t instanceof Tensor));
    fail('INVALID_ARGUMENT', `${expected} an array whose element ${i} is ${describe(out[i])}`);
  }
  // A module's result object (nn.GRU's {output, hidden, stats}, nn.SRU's {output, c}): name its tensors.
  const keys = out && typeof out === 'object' ? Object.keys(out).filter((k) => (out as Record<string, unknown>)[k] instanceof Tensor) : [];
  if (keys.length > 0)
    fail('INVALID_ARGUMENT', `${expected} an object with Tensors ${keys.join(', ')} (a module's result?): return them as an array, e.g. [r.${keys.join(', r.')}]`);
  fail('INVALID_ARGUMENT', `${expected} ${describe(out)}`);
}

/** fn(...args) run again for the gradient; a tensor it reads that was disposed since the first run is named as such. */
function secondCall<A extends unknown[], R>(op: string, fn: (...args: A) => R, args: A): R {
  try {
    return fn(...args);
  } catch (err) {
    if (err instanceof AntlerError && err.code === 'DISPOSED')
      fail('DISPOSED', `${op}: run again for the gradient, the function read a tensor that has been disposed since its first run (${err.message}); keep what it reaches from outside alive until backward, or pass it as an argument (arguments are saved)`, { cause: err });
    throw err;
  }
}

/** A leaf copy of t sharing its storage, requiring grad when t does (or `grad`). */
function leafLike(t: Tensor, grad = t.requiresGrad): Tensor {
  const c = t.detach();
  return grad ? c.requiresGrad_(true) : c;
}

const shapeText = (ts: readonly (readonly number[])[]) => ts.map((s) => `[${s.join(', ')}]`).join(', ');

/**
 * Runs fn(...args) keeping only its outputs for the gradient; backward runs
 * fn again (torch.utils.checkpoint.checkpoint, non-reentrant, RNG state
 * preserved). fn returns a Tensor or an array of Tensors; its tensor
 * arguments are saved (as views) for the second run, other arguments are
 * passed as they are. fn must compute the same thing when run again: the
 * same modules in the same mode, no data-dependent choices between the runs,
 * and the tensors it reaches from outside still alive and unchanged at
 * backward (an argument written in place meanwhile is MODIFIED_IN_PLACE).
 * An output that is an argument or a tensor from outside is returned as it
 * is. What fn changes as it runs happens twice, as in PyTorch (a
 * BatchNorm in training mode updates its running statistics in both runs);
 * parameters reached from outside are read again at backward (an optimizer
 * step in between is not detected, as in PyTorch); tensors fn makes and
 * does not return are disposed when checkpoint returns. Without recording
 * (noGrad) it is fn(...args). Not twice
 * differentiable (backward with createGraph through it is NOT_SUPPORTED).
 *
 *   // BPTT over T steps keeping one state per 64-step segment:
 *   for (let t = 0; t < T; t += 64) h = antler.checkpoint((h0) => run64(cell, xs, t, h0), h);
 */
export function checkpoint<A extends unknown[], R extends Outputs>(fn: (...args: A) => R, ...args: A): R {
  const op = 'checkpoint';
  if (typeof fn !== 'function') fail('INVALID_ARGUMENT', `${op}: expected the function to run first; got ${describe(fn)}`);
  args.forEach((a, i) => {
    if (a instanceof Tensor && a.isDisposed) fail('DISPOSED', `${op}: argument ${i} (a Tensor) has been disposed`);
  });
  if (!isGradEnabled()) return fn(...args);
  const draws = globalDrawState();
  const mark = nodeMark();
  // The first run, on leaf copies of the tensor arguments (the boundary found below stops at them).
  const copies = args.map((a) => (a instanceof Tensor ? leafLike(a) : a)) as A;
  const copied = copies.filter((a): a is Tensor => a instanceof Tensor);
  const inputs = args.filter((a): a is Tensor => a instanceof Tensor);
  let returnedArray = false;
  let first: { result: Tensor[]; made: ReadonlySet<unknown> };
  try {
    first = tidyMade(() => {
      const r = withGrad(() => fn(...copies));
      returnedArray = Array.isArray(r);
      return outputList(op, r);
    });
  } catch (err) {
    copied.forEach((c) => c.dispose());
    throw err;
  }
  const outs = first.result;
  // An argument given back is the argument itself; a tensor from outside stays as it is; fn's own
  // results that need a gradient become slices of the recorded one.
  const own = (o: Tensor) => first.made.has(o) && !copied.includes(o);
  const differentiable = outs.filter((o, i) => own(o) && o.requiresGrad && outs.indexOf(o) === i);
  const result: Tensor[] = outs.map((o) => (copied.includes(o) ? inputs[copied.indexOf(o)] : o));
  try {
    if (differentiable.length === 0) return (returnedArray ? result : result[0]) as R;
    for (const o of differentiable)
      if (o.device !== differentiable[0].device)
        fail('NOT_SUPPORTED', `${op}: the outputs that need a gradient must share one device; got ${differentiable.map((t) => `${t.dtype} on ${t.device}`).join(', ')}`);
    // float32 and float64 outputs together are joined in float64 (exact for the float32 values), each
    // given back in its own dtype.
    const common = joinDtype(differentiable);
    // Where the gradient goes: each tensor argument, then the parameters and earlier results fn reached.
    const captured: Edge[] = [];
    const seen = new Set<unknown>();
    for (const o of differentiable)
      for (const e of graphBoundary(o, mark, copied)) {
        const key = e && ('leaf' in e ? e.leaf : e.node);
        if (e && !seen.has(key)) {
          seen.add(key);
          captured.push(e);
        }
      }
    const edges: Edge[] = [...inputs.map(edgeOf), ...captured];
    const shapes = differentiable.map((o) => o.shape);
    // The one recorded result: the output's values (detached: the first run's graph goes with it), or
    // every such output's, flattened and joined.
    const root = differentiable.length === 1 ? differentiable[0].detach() : tidy(() => joinFlat(differentiable.map((o) => o.detach()), common));
    const secondRun = (gy: Tensor, saved: Tensor[]): (Tensor | null)[] => {
      const now = globalDrawState();
      setGlobalDrawState(draws);
      let k = 0;
      // On fresh leaf copies of the saved arguments; int tensors and non-tensors as they are.
      const again = args.map((a) => (a instanceof Tensor ? leafLike(saved[k++], a.requiresGrad) : a)) as A;
      const againTensors = again.filter((a): a is Tensor => a instanceof Tensor);
      try {
        return withGrad(() => {
          // The outputs the first run recorded, picked the same way: fn's own (not an argument, not a
          // tensor from outside), needing a gradient, each once.
          const second = tidyMade(() => {
            const all = outputList(op, secondCall(op, fn, again));
            return all.filter((o, i) => o.requiresGrad && !againTensors.includes(o) && all.indexOf(o) === i);
          });
          const re = second.result.filter((o) => second.made.has(o));
          const reShapes = re.map((o) => o.shape);
          if (re.length !== shapes.length || reShapes.some((s, i) => s.length !== shapes[i].length || s.some((d, j) => d !== shapes[i][j])))
            fail('INVALID_ARGUMENT', `${op}: run again for the gradient, the function gave outputs needing a gradient of shapes ${shapeText(reShapes)}; the first run gave ${shapeText(shapes)}: it must compute the same thing both times`);
          const reRoot = re.length === 1 ? re[0] : joinFlat(re, common);
          return gradients(reRoot, gy, [...againTensors.map(edgeOf), ...captured], false, true);
        });
      } finally {
        setGlobalDrawState(now);
        againTensors.forEach((c) => c.dispose());
      }
    };
    recordEdges(root, op, edges, secondRun, inputs);
    if (differentiable.length === 1) {
      result.forEach((o, i) => o === differentiable[0] && (result[i] = root));
    } else {
      const pieces = splitFlat(root, differentiable);
      differentiable.forEach((o, i) => result.forEach((r, j) => r === o && (result[j] = pieces[i])));
      root.dispose();
    }
    return (returnedArray ? result : result[0]) as R;
  } finally {
    // fn's own differentiable outputs (their graphs) are replaced; the argument copies go.
    differentiable.forEach((o) => o.dispose());
    copied.forEach((c) => c.dispose());
  }
}

/** What checkpointSequential runs: a module with forward(x), or a function of x. */
type Stage = { forward(x: Tensor): Tensor } | ((x: Tensor) => Tensor);

/**
 * torch.utils.checkpoint.checkpoint_sequential: runs `stages` (an
 * nn.Sequential's layers, an array of modules, or functions of one tensor)
 * on `input` in `segments` runs of consecutive stages, as PyTorch splits
 * them: segments − 1 runs of ⌊stages / segments⌋ under checkpoint(), then
 * the rest without; only the runs' boundaries are kept for the gradient.
 */
export function checkpointSequential(stages: { readonly layers: readonly object[] } | readonly Stage[], segments: number, input: Tensor): Tensor {
  const op = 'checkpointSequential';
  const list = Array.isArray(stages) ? (stages as readonly Stage[]) : stages && Array.isArray((stages as { layers?: unknown }).layers) ? ((stages as { layers: readonly unknown[] }).layers as readonly Stage[]) : null;
  if (!list) fail('INVALID_ARGUMENT', `${op}: expected an nn.Sequential or an array of modules or functions; got ${describe(stages)}`);
  list.forEach((s, i) => {
    if (typeof s !== 'function' && !(s && typeof (s as { forward?: unknown }).forward === 'function'))
      fail('INVALID_ARGUMENT', `${op}: stage ${i} must be a module (with forward) or a function; got ${describe(s)}`);
  });
  if (typeof segments !== 'number' || !Number.isInteger(segments) || segments < 1 || segments > Math.max(list.length, 1))
    fail('INVALID_ARGUMENT', `${op}: segments must be an integer from 1 to the number of stages (${list.length}); got ${describe(segments)}`);
  if (!(input instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: input must be a Tensor; got ${describe(input)}`);
  const run = (s: Stage, x: Tensor): Tensor => (typeof s === 'function' ? s(x) : s.forward(x));
  // PyTorch's split: segment size ⌊n / segments⌋, the last segment taking the rest.
  const size = Math.floor(list.length / segments);
  return tidy(() => {
    let x = input;
    let start = 0;
    for (let k = 0; k < segments; k++) {
      const end = k === segments - 1 ? list.length : start + size;
      const part = list.slice(start, end);
      const through = (h: Tensor) => part.reduce((acc, s) => run(s, acc), h);
      x = k === segments - 1 ? through(x) : checkpoint(through, x);
      start = end;
    }
    return x;
  });
}
