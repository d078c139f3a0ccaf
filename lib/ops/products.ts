/** Products and contractions (PyTorch's BLAS/LAPACK-free linear algebra): einsum, bmm, tensordot, kron, … */
export {};
