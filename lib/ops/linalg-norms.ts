/** torch.linalg (norms): vectorNorm, matrixNorm, norm, multiDot, matrixExp, vecdot, vander. Exported as `antler.linalg.*` (lib/ops/linalg.ts). */
export {};
