/**
 * `antler.linalg`: PyTorch's torch.linalg — factorisations (LU, Cholesky, QR,
 * symmetric eigendecomposition, SVD), solvers, inverses, determinants and
 * norms, batched over leading dimensions and differentiable, on every device.
 * The factorisations are native kernels (native/kernels/linalg_*.h) shared by
 * the CPU and CUDA backends; the rest is composed from recorded ops.
 */
export * from './linalg-lu';
export * from './linalg-qr';
export * from './linalg-spectral';
export * from './linalg-norms';
