/** Functional autograd, in the style of JAX / TensorFlow.js's valueAndGrads. */
import { isolated, keep, tidy, track } from '../engine';
import { doubleBlockers, edgeOf, gradients, isGradEnabled, markDouble, noGrad, noSecondDerivative, recordEdges, shapedAs, withGrad } from './graph';
import type { Edge } from './graph';
import { fail } from '../errors';
import { abs, add, cast, div, max, mul, reshape, square, stack, sub, sum } from '../ops/core';
import { globalDrawPosition, setGlobalDrawPosition } from '../random';
import { onesLike, Tensor, zeros, zerosLike } from '../tensor';
import { checkFinite, checkOptions, describe } from '../validate';

/**
 * valueAndGrad(f)(...xs) evaluates the scalar f(...xs) and its gradient with
 * respect to each input, like torch.autograd.grad: no tensor's .grad changes
 * (the inputs', or those of parameters f uses): gradients flow to fresh leaf
 * views of the inputs and nowhere else.
 *
 * Called inside the function of another valueAndGrad/grad (as torch.func's
 * grad(grad(f))), the value and gradients stay differentiable with respect
 * to the outer inputs: the inner gradient is taken with a backward that
 * builds a graph (createGraph), so the outer one is a second derivative.
 * Every op of f must then support it (NOT_SUPPORTED names those that do not).
 */
export function valueAndGrad<A extends Tensor[]>(f: (...xs: A) => Tensor): (...xs: A) => { value: Tensor; grads: TensorsLike<A> } {
  return valueAndGradFor(f as (...xs: Tensor[]) => Tensor, 'valueAndGrad') as unknown as (...xs: A) => { value: Tensor; grads: TensorsLike<A> };
}

/** One Tensor per argument: the gradients of f(a, b) are a pair. */
export type TensorsLike<A extends Tensor[]> = { [K in keyof A]: Tensor };

/** How many valueAndGrad/grad calls are running f now (a call inside f is refused: see below). */
let depth = 0;

/** valueAndGrad with its messages in the name of `op`, the function the user called. */
function valueAndGradFor(f: (...xs: Tensor[]) => Tensor, op: string): (...xs: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  if (typeof f !== 'function') fail('INVALID_ARGUMENT', `${op}: expected a function; got ${describe(f)}`);
  return (...xs: Tensor[]) => {
    xs.forEach((x, i) => {
      if (!(x instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: argument ${i} must be a Tensor; got ${describe(x)}`);
      x.checkAlive(op);
      if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: argument ${i} is int32; gradients need a floating-point input (cast it with .cast('float32') or .cast('float64'))`);
    });
    // Inside another grad's f, an input the outer derivative follows gets a view that passes its
    // gradient on to it (a node of its own, the target here), and the inner backward builds a graph.
    // Under noGrad() inside the outer f, the inner gradient is a plain one (as at the top level):
    // nothing is recorded there for the outer derivative to follow.
    const nested = depth > 0 && isGradEnabled();
    const leaves = xs.map((x) => keep(nested && x.requiresGrad ? connectedInput(x) : x.detach().requiresGrad_(true)));
    try {
      const value = scalarOf(f, leaves, op);
      // Like torch.autograd.grad: only the leaves' gradients are computed, and no
      // tensor's .grad changes (not even those of parameters f closes over).
      let found: (Tensor | null)[] = leaves.map(() => null);
      try {
        if (value.requiresGrad) {
          const seed = isolated(() => onesLike(value));
          try {
            const targets = leaves.map((l) => edgeOf(l));
            if (nested) {
              // Only the ops on the way from the value to the inputs need a second derivative.
              const blockers = doubleBlockers(value, targets);
              if (blockers.length)
                fail(
                  'NOT_SUPPORTED',
                  `${op}: called inside the function of another valueAndGrad/grad, which needs a second derivative; ${noSecondDerivative(blockers)}. ` +
                    "For Hessian-vector products through them use hvp(f, x, v, {method: 'central'})",
                );
            }
            found = gradients(value, seed, targets, nested);
          } finally {
            seed.dispose();
          }
        }
      } catch (err) {
        value.dispose();
        throw err;
      }
      const grads = leaves.map((l, i) => {
        const g = found[i];
        // An input f ignores: zeros (torch.func.grad's zeros_like), not l · 0, which is NaN at ±∞ and NaN
        // and would be recorded (a gradient that requires grad).
        if (!g) return zerosLike(l);
        const shaped = shapedAs(l, g);
        track(shaped); // belongs to the caller's tidy() scope, like any result
        return shaped;
      });
      if (nested) {
        // Differentiable for the outer derivative: the caller's, in its tidy() scope (no longer kept).
        value.kept = false;
        track(value);
        return { value, grads };
      }
      const detached = value.detach();
      value.dispose();
      return { value: detached, grads };
    } finally {
      for (const l of leaves) l.dispose();
    }
  };
}

/**
 * f(...leaves) as the function of a grad: recording on even under noGrad()
 * (as torch.func.grad and functional.hvp do), `depth` raised (a grad f
 * calls is nested), and a new kept tensor for the value even when f
 * returns one of its own (a closed-over tensor is the caller's, never freed
 * here). Checked to be one element (SHAPE_MISMATCH, nothing left behind).
 */
function scalarOf(f: (...xs: Tensor[]) => Tensor, leaves: readonly Tensor[], op: string): Tensor {
  depth += 1;
  let value: Tensor;
  try {
    value = withGrad(() =>
      tidy(() => {
        const out: unknown = f(...leaves);
        if (!(out instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: f must return a scalar Tensor; got ${describe(out)}`);
        out.checkAlive(op);
        return keep(reshape(out, out.shape.slice()));
      }),
    );
  } finally {
    depth -= 1;
  }
  if (value.size !== 1) {
    const shape = value.shape.join(', ');
    value.dispose();
    fail('SHAPE_MISMATCH', `${op}: f must return a scalar Tensor; got shape [${shape}]`);
  }
  return value;
}

/** A view of x whose gradient goes on to x (an input of a nested valueAndGrad that the outer one follows). */
function connectedInput(x: Tensor): Tensor {
  const view = x.detach();
  return markDouble(recordEdges(view, 'input', [edgeOf(x)], (g) => [g]));
}

/** grad(f)(...xs): only the gradients of valueAndGrad. */
export function grad<A extends Tensor[]>(f: (...xs: A) => Tensor): (...xs: A) => TensorsLike<A> {
  const vg = valueAndGradFor(f as (...xs: Tensor[]) => Tensor, 'grad');
  return ((...xs: Tensor[]) => {
    const { value, grads } = vg(...xs);
    value.dispose();
    return grads;
  }) as unknown as (...xs: A) => TensorsLike<A>;
}

/** Options of hvp(). */
export interface HvpOptions {
  /**
   * 'exact': a second backward pass through the graph of the first
   * (PyTorch's double backward, as torch.autograd.functional.hvp): exact up
   * to rounding, for one forward and two backward passes; every op f runs
   * must support it (NOT_SUPPORTED names those that do not: the ODE
   * solver, embedding with scaleGradByFreq).
   * 'central': (∇f(x + s·v) − ∇f(x − s·v)) / 2s, error O(s²),
   * typically 1e-4 relative in float32 and 1e-10 in float64 for a smooth f;
   * 'forward': (∇f(x + s·v) − ∇f(x)) / s, error O(s), typically 1e-3 and
   * 1e-8, one forward pass cheaper. Each difference costs two gradients of f.
   * Default: 'exact' when every op of f supports it, else 'central'; the
   * result's `method` says which ran.
   */
  method?: 'exact' | 'central' | 'forward';
  /**
   * The step s along v. Default: along w = v / max|v| (over all inputs
   * together), ∛u (central) or √u (forward) times 1 + ‖x ⊙ w‖ / ‖w‖ (the
   * size of x where v points), u the rounding unit of the narrowest input
   * dtype; so neither the scale of v nor the inputs v does not touch change it.
   */
  step?: number;
}

/**
 * The Hessian-vector product of the scalar f at `inputs` with `v` (like
 * torch.autograd.functional.hvp): H·v where H is the Hessian of f over all
 * inputs together, so the product for input i is Σⱼ ∂²f/∂xᵢ∂xⱼ · vⱼ. Returns
 * f's value at the inputs (no graph) and H·v shaped like the inputs (one
 * Tensor for one input, an array for an array).
 *
 * By default H·v is exact (double backward: f runs once, then a backward
 * that builds a graph and a second backward through it) when every op on
 * the way from f's value to the inputs has a differentiable backward, and
 * a central difference of gradients along v otherwise (see HvpOptions;
 * `method` in the result says which ran). A difference needs f smooth
 * near the inputs, and its error is relative to the gradient's size, so in
 * float32 an entry of H·v below about 1e-5·|∇f| is lost in it (in float64,
 * below 1e-10·|∇f|); f is then called two or three times, every random
 * draw without an explicit seed (dropout) repeats at each call, so one mask
 * is used throughout, and afterwards the generator is where one call of f
 * leaves it. f may call grad/valueAndGrad itself (its value is then a
 * derivative); hvp inside another grad's f is refused (nest grad instead).
 * Like valueAndGrad, no tensor's .grad changes.
 */
export function hvp(f: (...xs: Tensor[]) => Tensor, inputs: Tensor, v: Tensor, options?: HvpOptions): { value: Tensor; hvp: Tensor; method: HvpMethod };
export function hvp(f: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], v: readonly Tensor[], options?: HvpOptions): { value: Tensor; hvp: Tensor[]; method: HvpMethod };
export function hvp(
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor | readonly Tensor[],
  v: Tensor | readonly Tensor[],
  options?: HvpOptions,
): { value: Tensor; hvp: Tensor | Tensor[]; method: HvpMethod } {
  const op = 'hvp';
  // Inside another grad's f the product would be a constant to the outer derivative (it is not
  // recorded as a function of the inputs): refused. Nest grad for higher derivatives instead.
  if (depth > 0)
    fail(
      'INVALID_ARGUMENT',
      `${op}: called inside the function of another valueAndGrad/grad; its result is not differentiable there (the outer derivative would take it for a constant). ` +
        'For a derivative of H·v nest grad instead: grad(x => sum(mul(grad(f)(x)[0], v)))',
    );
  const vg = valueAndGradFor(f, op);
  const single = inputs instanceof Tensor;
  const xs = checkTensorList(inputs, op, 'inputs');
  const vs = checkTensorList(v, op, 'v');
  if ((v instanceof Tensor) !== single || vs.length !== xs.length)
    fail('INVALID_ARGUMENT', `${op}: v must match inputs (one Tensor for one, an array of the same length for an array); got ${single ? 'one input' : `${xs.length} inputs`} and ${v instanceof Tensor ? 'one Tensor' : `${vs.length} tensors`} in v`);
  xs.forEach((x, i) => {
    const name = single ? 'inputs' : `inputs[${i}]`, vname = single ? 'v' : `v[${i}]`;
    if (x.dtype === 'int32') fail('DTYPE_MISMATCH', `${op}: ${name} is int32; second derivatives need a floating-point input (cast it with .cast('float32') or .cast('float64'))`);
    const w = vs[i];
    if (w.shape.length !== x.shape.length || w.shape.some((d, k) => d !== x.shape[k]))
      fail('SHAPE_MISMATCH', `${op}: ${vname} has shape [${w.shape.join(', ')}]; expected the shape of ${name}, [${x.shape.join(', ')}]`);
    if (w.dtype !== x.dtype) fail('DTYPE_MISMATCH', `${op}: ${vname} is ${w.dtype}; expected ${name}'s dtype, ${x.dtype}`);
    if (w.device !== x.device) fail('DEVICE_MISMATCH', `${op}: ${vname} is on ${w.device}; expected ${name}'s device, ${x.device}`);
  });
  const o = checkOptions<HvpOptions>(options, op, ['method', 'step']);
  const chosen = o.method;
  if (chosen !== undefined && chosen !== 'exact' && chosen !== 'central' && chosen !== 'forward')
    fail('INVALID_ARGUMENT', `${op}: method must be 'exact', 'central' or 'forward'; got ${describe(chosen)}`);
  if (o.step !== undefined && !(checkFinite(o.step, op, 'step') > 0)) fail('INVALID_ARGUMENT', `${op}: step must be a positive number; got ${o.step}`);
  if (chosen === 'exact' && o.step !== undefined) fail('INVALID_ARGUMENT', `${op}: step applies to the finite differences ('central', 'forward'), not to method 'exact'`);

  const drawStart = globalDrawPosition();
  if (chosen === 'exact' || (chosen === undefined && o.step === undefined)) {
    const exact = exactHvp(f, xs, vs, op, chosen === 'exact');
    if (exact) return { value: exact.value, hvp: single ? exact.products[0] : exact.products, method: 'exact' };
    // Some op of f has no differentiable backward: by differences, from the same random draws.
    setGlobalDrawPosition(drawStart);
  }
  const method = chosen ?? 'central';
  const central = method === 'central';
  let drawEnd = drawStart;
  // Every evaluation of f starts from the same random draws.
  const evaluate = <T>(g: () => T): T => {
    setGlobalDrawPosition(drawStart);
    const out = g();
    drawEnd = globalDrawPosition();
    return out;
  };
  // Gradients taken at moved inputs are freed here; what is returned belongs to the caller's scope.
  const transient: Tensor[] = [];
  try {
    // Along w = v / max|v|: no overflow or underflow of v's own scale, and the step follows the
    // size of x where v points (a one-hot v moves one coordinate by its own scale, not the mean's).
    const vmax = Math.max(...perTensor(vs, (v) => (v.size ? max(abs(cast(v, 'float64'))) : zeros([], { dtype: 'float64', device: v.device }))));
    if (vmax === 0) {
      // H·0 = 0 without a difference.
      const value = evaluate(() => valueAt(f, xs, op));
      const zs = xs.map((x) => zerosLike(x));
      return { value, hvp: single ? zs[0] : zs, method };
    }
    const ws = vs.map((v) => keep(noGrad(() => tidy(() => div(v, vmax)))));
    transient.push(...ws);
    // ‖x ⊙ w‖² and ‖w‖², in one read-back.
    const n = xs.length;
    const sums = perTensor([...xs, ...ws], (t, i) => sum(square(i < n ? mul(cast(t, 'float64'), cast(ws[i], 'float64')) : cast(t, 'float64'))));
    const xw = sums.slice(0, n).reduce((p, q) => p + q, 0), ww = sums.slice(n).reduce((p, q) => p + q, 0);
    // The value and gradient of f at x + a·w.
    const at = (a: number): { value: Tensor; grads: Tensor[] } => {
      const moved = xs.map((x, i) => keep(noGrad(() => tidy(() => (a === 0 ? x.detach() : add(x, mul(ws[i], a)))))));
      transient.push(...moved);
      const r = evaluate(() => vg(...moved));
      transient.push(...r.grads.map((g) => keep(g)));
      return r;
    };
    const s = o.step !== undefined ? o.step * vmax : differenceStep(xs.map((x) => x.dtype), central) * (1 + Math.sqrt(xw / ww));
    const plus = at(s);
    transient.push(keep(plus.value));
    const minus = at(central ? -s : 0);
    let value = minus.value;
    if (central) {
      transient.push(keep(minus.value));
      value = evaluate(() => valueAt(f, xs, op));
    }
    // H·v = max|v| · H·w.
    const products = noGrad(() => tidy(() => plus.grads.map((g, i) => mul(div(sub(g, minus.grads[i]), central ? 2 * s : s), vmax))));
    return { value, hvp: single ? products[0] : products, method };
  } finally {
    setGlobalDrawPosition(drawEnd);
    for (const t of transient) t.dispose();
  }
}

/** How hvp() computed its product. */
export type HvpMethod = 'exact' | 'central' | 'forward';

/**
 * H·v by double backward: ∇f with a graph (createGraph), then the gradient
 * of Σᵢ ⟨∇ᵢf, vᵢ⟩. Null when some op of f has no differentiable backward
 * and `required` is false (the caller falls back to differences); f has
 * then run once.
 */
function exactHvp(f: (...xs: Tensor[]) => Tensor, xs: readonly Tensor[], vs: readonly Tensor[], op: string, required: boolean): { value: Tensor; products: Tensor[] } | null {
  const leaves = xs.map((x) => keep(x.detach().requiresGrad_(true)));
  let value: Tensor | null = null;
  try {
    // f runs as the function of a grad (depth): a grad or valueAndGrad it calls is then nested, and
    // differentiable, as the product needs.
    value = scalarOf(f, leaves, op);
    const root = value;
    const targets = leaves.map((l) => ({ leaf: l }));
    // Only the ops on the way from f to the inputs need a second derivative (not, say, those of a
    // closed-over parameter's own computation).
    const blockers = doubleBlockers(root, targets);
    if (blockers.length) {
      if (!required) return null;
      fail(
        'NOT_SUPPORTED',
        `${op}: method 'exact' needs a second derivative of f; ${noSecondDerivative(blockers)}; ` +
          "use method 'central' or 'forward' (finite differences of gradients), or leave method out to fall back to 'central' by itself",
      );
    }
    let hv: (Tensor | null)[] = leaves.map(() => null);
    if (root.requiresGrad) {
      const seed = isolated(() => onesLike(root));
      let g: (Tensor | null)[];
      try {
        g = gradients(root, seed, targets, true);
      } finally {
        seed.dispose();
      }
      try {
        hv = gradientOfDot(g, vs, targets);
      } finally {
        for (const t of g) t?.dispose();
      }
    }
    const products = leaves.map((l, i) => {
      const h = hv[i];
      if (!h) return zerosLike(xs[i]);
      const shaped = shapedAs(l, h);
      track(shaped);
      return shaped;
    });
    return { value: root.detach(), products };
  } finally {
    value?.dispose();
    for (const l of leaves) l.dispose();
  }
}

/**
 * @internal The gradient of Σᵢ ⟨gᵢ, vᵢ⟩ with respect to `targets`, for
 * gradients g that carry a graph (a createGraph backward's): H·v when g is
 * ∇f. Null where none flows (g does not depend on that target, or is null).
 * Nothing given is freed; the graph is kept for another product.
 */
export function gradientOfDot(g: readonly (Tensor | null)[], vs: readonly Tensor[], targets: Edge[]): (Tensor | null)[] {
  const dot = withGrad(() =>
    tidy(() => {
      const terms = g.flatMap((gi, i) => (gi ? [sum(mul(gi, vs[i]))] : []));
      return terms.length ? keep(terms.reduce((a, b) => add(a, b))) : null;
    }),
  );
  if (!dot) return targets.map(() => null);
  try {
    if (!dot.requiresGrad) return targets.map(() => null);
    const one = isolated(() => onesLike(dot));
    try {
      return gradients(dot, one, targets);
    } finally {
      one.dispose();
    }
  } finally {
    dot.dispose();
  }
}

/** f's scalar value at xs, without recording a graph (a tensor of the caller's scope). */
function valueAt(f: (...xs: Tensor[]) => Tensor, xs: readonly Tensor[], op: string): Tensor {
  const out = noGrad(() =>
    tidy(() => {
      const r: unknown = f(...xs.map((x) => x.detach()));
      if (!(r instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: f must return a scalar Tensor; got ${describe(r)}`);
      r.checkAlive(op);
      // A new tensor even when f returns a closed-over one, which is the caller's to keep.
      return reshape(r, r.shape.slice());
    }),
  );
  if (out.size !== 1) {
    const shape = out.shape.join(', ');
    out.dispose();
    fail('SHAPE_MISMATCH', `${op}: f must return a scalar Tensor; got shape [${shape}]`);
  }
  return out;
}

function checkTensorList(a: Tensor | readonly Tensor[], op: string, name: string): Tensor[] {
  const list = a instanceof Tensor ? [a] : Array.isArray(a) ? (a as readonly unknown[]) : null;
  if (!list || list.length === 0) fail('INVALID_ARGUMENT', `${op}: ${name} must be a Tensor or a non-empty array of Tensors; got ${describe(a)}`);
  list.forEach((t, i) => {
    if (!(t instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: ${name}[${i}] must be a Tensor; got ${describe(t)}`);
    t.checkAlive(op);
  });
  return list as Tensor[];
}

/**
 * @internal One number per tensor: `reduce(t, i)` gives it as a float64
 * scalar tensor; they are read back once per device (one sync on a GPU, not
 * one per tensor).
 */
export function perTensor(ts: readonly Tensor[], reduce: (t: Tensor, i: number) => Tensor): number[] {
  const out = new Array<number>(ts.length);
  for (const device of new Set(ts.map((t) => t.device))) {
    const idx = ts.map((t, i) => (t.device === device ? i : -1)).filter((i) => i >= 0);
    const values = noGrad(() => tidy(() => stack(idx.map((i) => reshape(reduce(ts[i], i), []))).dataSync()));
    idx.forEach((i, k) => (out[i] = values[k]));
  }
  return out;
}

/** @internal Σt² of each tensor, in float64. */
export function sumsOfSquares(ts: readonly Tensor[]): number[] {
  return perTensor(ts, (t) => sum(square(cast(t, 'float64'))));
}

/**
 * @internal The relative step of a finite difference of gradients: ∛u for
 * central differences, √u for forward ones, u the rounding unit of the
 * narrowest of `dtypes` (every gradient is differenced, so the narrowest
 * one's rounding bounds the result).
 */
export function differenceStep(dtypes: readonly string[], central: boolean): number {
  const u = dtypes.includes('float32') ? 2 ** -23 : 2 ** -52;
  return central ? Math.cbrt(u) : Math.sqrt(u);
}
