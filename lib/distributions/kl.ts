/**
 * KL divergence between distributions (torch.distributions.kl): a registry
 * of closed forms by pair of classes, looked up by the most specific
 * registered pair the arguments are instances of.
 */
import type { Tensor } from '../tensor';
import { fail } from '../errors';
import { broadcastShapes, describe } from '../validate';
import { Distribution } from './distribution';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DistClass<T extends Distribution = Distribution> = abstract new (...args: any[]) => T;
type KLFn = (p: Distribution, q: Distribution) => Tensor;

const registry: { p: DistClass; q: DistClass; fn: KLFn }[] = [];

/**
 * Registers KL(p ‖ q) for p an instance of P and q of Q (torch's
 * register_kl). A later registration of the same pair replaces the earlier.
 */
export function registerKL<P extends Distribution, Q extends Distribution>(P: DistClass<P>, Q: DistClass<Q>, fn: (p: P, q: Q) => Tensor): void {
  if (typeof P !== 'function' || !(P.prototype instanceof Distribution || P === Distribution) || typeof Q !== 'function' || !(Q.prototype instanceof Distribution || Q === Distribution))
    fail('INVALID_ARGUMENT', `registerKL: expected two Distribution classes; got ${describe(P)} and ${describe(Q)}`);
  if (typeof fn !== 'function') fail('INVALID_ARGUMENT', `registerKL: expected a function (p, q) => Tensor; got ${describe(fn)}`);
  const i = registry.findIndex((r) => r.p === P && r.q === Q);
  const entry = { p: P, q: Q, fn: fn as KLFn };
  if (i >= 0) registry[i] = entry;
  else registry.push(entry);
}

/** How many steps up x's prototype chain C's prototype is (Infinity when x is not a C). */
function depth(x: Distribution, C: DistClass): number {
  let proto = Object.getPrototypeOf(x);
  for (let d = 0; proto !== null; d++, proto = Object.getPrototypeOf(proto)) if (proto === C.prototype) return d;
  return Infinity;
}

/**
 * KL(p ‖ q) = E_p[log p(X) − log q(X)], of the broadcast batch shape
 * (torch's kl_divergence). Infinity where p's support is not inside q's.
 * Throws NOT_SUPPORTED when no closed form is registered for the pair.
 */
export function klDivergence(p: Distribution, q: Distribution): Tensor {
  if (!(p instanceof Distribution) || !(q instanceof Distribution))
    fail('INVALID_ARGUMENT', `klDivergence: expected two distributions; got ${describe(p)} and ${describe(q)}`);
  let best: { fn: KLFn; dp: number; dq: number } | undefined;
  for (const r of registry) {
    const dp = depth(p, r.p), dq = depth(q, r.q);
    if (dp === Infinity || dq === Infinity) continue;
    if (!best || dp < best.dp || (dp === best.dp && dq < best.dq)) best = { fn: r.fn, dp, dq };
  }
  if (!best) fail('NOT_SUPPORTED', `klDivergence: no closed form is registered for (${p.constructor.name}, ${q.constructor.name}); registerKL adds one`);
  // The result has the broadcast batch shape: say so for shapes that do not broadcast, rather than the closed form's first op.
  if (!broadcastShapes([p.batchShape, q.batchShape]))
    fail('SHAPE_MISMATCH', `klDivergence(${p.constructor.name}, ${q.constructor.name}): p's batch shape [${p.batchShape.join(', ')}] and q's [${q.batchShape.join(', ')}] do not broadcast (the KL has their broadcast batch shape: align them, e.g. with unsqueeze on a parameter or expand)`);
  return best.fn(p, q);
}
