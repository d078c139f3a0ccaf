/**
 * Random draws beyond rand/randn (native samplers, CPU and CUDA, repeatable
 * from a seed) and the special functions the gamma family needs:
 * standardGamma (torch._standard_gamma, with its reparameterised gradient),
 * poisson (torch.poisson), binomial (torch.binomial), gammainc/gammaincc
 * (torch.special.gammainc/gammaincc).
 */
// ---- helper B (random-gamma): standardGamma, gammainc, gammaincc
export {};
// ---- end helper B

// ---- helper C (random-discrete): poisson, binomial
// ---- end helper C
