/**
 * Transforms and transformed distributions (torch.distributions.transforms
 * and its compositions): Transform and its bijections, bijectTo/transformTo,
 * TransformedDistribution, Independent, MixtureSameFamily, LogisticNormal.
 */
// ---- helper D (transforms family)
export {};
// ---- end helper D
