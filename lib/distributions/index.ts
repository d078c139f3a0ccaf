/**
 * `antler.distributions`: PyTorch's torch.distributions — probability
 * distributions with batched parameters, sampling (reparameterised where
 * torch has rsample), log densities, moments, entropies, KL divergences and
 * transforms, differentiable with respect to the parameters, on every device.
 */
export { Distribution, setDefaultValidateArgs } from './distribution';
export type { DistributionOptions, SampleOptions, Param } from './distribution';
export { klDivergence, registerKL } from './kl';
export * as constraints from './constraints';
export type { Constraint } from './constraints';
export * from './location-scale';
export * from './gamma';
export * from './discrete';
export * from './transforms';
import './kl-cross';
