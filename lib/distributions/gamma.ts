/**
 * The gamma family (torch.distributions): Gamma, Chi2, Beta, Dirichlet,
 * StudentT, FisherSnedecor, Weibull, Pareto, Kumaraswamy, NegativeBinomial.
 * Samples come from the native samplers of lib/ops/random-special.ts.
 */
// ---- helper B (gamma family)
export {};
// ---- end helper B
