/** Functional autograd, in the style of JAX / TensorFlow.js's valueAndGrads. */
import { isolated, keep, tidy, track } from '../engine';
import { gradients, shapedAs } from './graph';
import { fail } from '../errors';
import { onesLike, Tensor } from '../tensor';
import { describe } from '../validate';

/**
 * valueAndGrad(f)(...xs) evaluates the scalar f(...xs) and its gradient with
 * respect to each input, like torch.autograd.grad: no tensor's .grad changes
 * (the inputs', or those of parameters f uses): gradients flow to fresh leaf
 * views of the inputs and nowhere else.
 */
export function valueAndGrad(f: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  return valueAndGradFor(f, 'valueAndGrad');
}

/** valueAndGrad with its messages in the name of `op`, the function the user called. */
function valueAndGradFor(f: (...xs: Tensor[]) => Tensor, op: string): (...xs: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  if (typeof f !== 'function') fail('INVALID_ARGUMENT', `${op}: expected a function; got ${describe(f)}`);
  return (...xs: Tensor[]) => {
    xs.forEach((x, i) => {
      if (!(x instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: argument ${i} must be a Tensor; got ${describe(x)}`);
      x.checkAlive(op);
    });
    const leaves = xs.map((x) => keep(x.detach().requiresGrad_(true)));
    try {
      const value = tidy(() => {
        const out: unknown = f(...leaves);
        if (!(out instanceof Tensor)) fail('INVALID_ARGUMENT', `${op}: f must return a scalar Tensor; got ${describe(out)}`);
        return keep(out);
      });
      if (value.size !== 1) {
        const shape = value.shape.join(', ');
        value.dispose();
        fail('SHAPE_MISMATCH', `${op}: f must return a scalar Tensor; got shape [${shape}]`);
      }
      // Like torch.autograd.grad: only the leaves' gradients are computed, and no
      // tensor's .grad changes (not even those of parameters f closes over).
      let found: (Tensor | null)[] = leaves.map(() => null);
      try {
        if (value.requiresGrad) {
          const seed = isolated(() => onesLike(value));
          try {
            found = gradients(value, seed, leaves.map((l) => ({ leaf: l })));
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
        if (!g) return tidy(() => l.mul(0));
        const shaped = shapedAs(l, g);
        track(shaped); // belongs to the caller's tidy() scope, like any result
        return shaped;
      });
      const detached = value.detach();
      value.dispose();
      return { value: detached, grads };
    } finally {
      for (const l of leaves) l.dispose();
    }
  };
}

/** grad(f)(...xs): only the gradients of valueAndGrad. */
export function grad(f: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => Tensor[] {
  const vg = valueAndGradFor(f, 'grad');
  return (...xs: Tensor[]) => {
    const { value, grads } = vg(...xs);
    value.dispose();
    return grads;
  };
}
