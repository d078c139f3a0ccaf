/** Elementwise math beyond core (PyTorch's pointwise ops): atan2, hypot, lerp, xlogy, lgamma, … */
export {};
