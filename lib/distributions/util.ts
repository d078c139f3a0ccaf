/**
 * @internal What the distribution families share: torch.finfo's constants,
 * torch's clamp_probs, the +Infinity of pairs whose supports do not nest, and
 * the seeds of a sample's further independent draws. Not re-exported.
 */
import { Tensor, full } from '../tensor';
import { clamp } from '../ops/core';
import { broadcastShapes } from '../validate';
import type { Distribution } from './distribution';

const FINFO = {
  float32: { eps: 2 ** -23, tiny: 2 ** -126, min: -3.4028234663852886e38 },
  float64: { eps: 2 ** -52, tiny: 2 ** -1022, min: -Number.MAX_VALUE },
};

/** torch.finfo(dtype): eps, tiny (the smallest normal number) and min (the most negative finite number). */
export function finfo(dtype: string): { eps: number; tiny: number; min: number } {
  return dtype === 'float64' ? FINFO.float64 : FINFO.float32;
}

/** torch's clamp_probs: probs into [eps, 1 − eps] of their dtype. */
export function clampProbs(p: Tensor): Tensor {
  const { eps } = finfo(p.dtype);
  return clamp(p, eps, 1 - eps);
}

/** +Infinity of the broadcast batch shape of p and q (torch's _infinite_like, broadcast with q), in the wider dtype. */
export function infiniteLike(p: Distribution, q: Distribution): Tensor {
  const shape = broadcastShapes([p.batchShape, q.batchShape]) ?? p.batchShape;
  return full(shape, Infinity, { dtype: p.dtype === 'float64' || q.dtype === 'float64' ? 'float64' : 'float32', device: p.device });
}

/**
 * The seed of a sample's k-th further independent draw (k = 0, 1, …), never
 * the caller's seed itself (that one is for the first draw): seeded draws
 * share Philox stream 0, so two draws of one sample need different seeds.
 * undefined stays undefined (the global generator's next streams).
 */
export function deriveSeed(seed: number | undefined, k: number): number | undefined {
  return seed === undefined ? undefined : (Math.imul((seed ^ 0x2c1b3c6d) >>> 0, 0x85ebca6b) + Math.imul(k + 1, 0xc2b2ae35)) >>> 0;
}
