/** torch.linalg (spectral): eigh, eigvalsh, svd, svdvals, pinv, matrixRank, cond. Exported as `antler.linalg.*` (lib/ops/linalg.ts). */
export {};
