/** torch.linalg (lu): solve, inv, det, slogdet, logdet, luFactor, lu, luSolve, solveTriangular, cholesky (and their *Ex forms), matrixPower, tensorsolve, tensorinv. Exported as `antler.linalg.*` (lib/ops/linalg.ts). */
export {};
