/** Reductions and scans beyond core (PyTorch's reduction ops): amax, median, quantile, cummax, … */
export {};
