/**
 * @internal The multivariate gamma functions the matrix distributions
 * (Wishart, LKJCholesky) and their KL divergence share. Not re-exported.
 */
import { Tensor, tensor } from '../tensor';
import { add, sum } from '../ops/core';
import { unsqueeze } from '../ops/shape';
import { digamma, lgamma } from '../ops/pointwise';

/** mvlgamma(a, p) = p(p − 1)/4·log π + Σⱼ₌₀..p₋₁ lgamma(a − j/2), elementwise in a (torch.mvlgamma). */
export function mvlgamma(a: Tensor, p: number): Tensor {
  const js = tensor(Array.from({ length: p }, (_, j) => -j / 2), [p], { dtype: a.dtype as 'float32' | 'float64', device: a.device });
  return add(sum(lgamma(add(unsqueeze(a, -1), js)), -1), (p * (p - 1) * Math.log(Math.PI)) / 4);
}
/** Σⱼ₌₀..p₋₁ digamma(a − j/2) (torch._mvdigamma). */
export function mvdigamma(a: Tensor, p: number): Tensor {
  const js = tensor(Array.from({ length: p }, (_, j) => -j / 2), [p], { dtype: a.dtype as 'float32' | 'float64', device: a.device });
  return sum(digamma(add(unsqueeze(a, -1), js)), -1);
}
