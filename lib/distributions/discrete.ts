/**
 * Discrete and relaxed distributions (torch.distributions): Bernoulli,
 * Categorical, OneHotCategorical, OneHotCategoricalStraightThrough,
 * Binomial, Multinomial, Geometric, Poisson, ContinuousBernoulli,
 * RelaxedBernoulli, LogitRelaxedBernoulli, RelaxedOneHotCategorical,
 * ExpRelaxedCategorical.
 */
// ---- helper C (discrete family)
export {};
// ---- end helper C
