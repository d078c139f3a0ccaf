/**
 * The matrix exponential (native/kernels/expm.h: Padé with scaling and
 * squaring, Higham 2005), batched over leading dims, with its backward.
 */
import { isGradEnabled, record } from '../autograd/graph';
import { tidy } from '../engine';
import { fail } from '../errors';
import { native, NativeHandle } from '../native';
import { concat, slice, transpose, wrap } from '../ops/core';
import { checkTensor, Tensor, zeros } from '../tensor';

interface ExpmNative {
  expm(A: NativeHandle): NativeHandle;
}

function expmRaw(A: Tensor): Tensor {
  const n = native() as unknown as ExpmNative;
  if (typeof n.expm !== 'function') fail('INTERNAL', 'deer.expm: this build of the addon has no expm kernel; rebuild with npm run build');
  return wrap(n.expm(A.handle));
}

/**
 * exp(A) of every m×m matrix of A [..., m, m] (float32 or float64), like
 * torch.linalg.matrix_exp. Differentiable: the gradient of ⟨G, exp(A)⟩ is
 * the Fréchet derivative L(Aᵀ, G), the top-right block of
 * exp([[Aᵀ, G], [0, Aᵀ]]).
 */
export function expm(A: Tensor): Tensor {
  checkTensor(A, 'deer.expm', "the matrix 'A'");
  const E = expmRaw(A);
  return record(E, 'expm', [A], (gE, [sA]) => [expmFrechetAdjoint(sA, gE)], [A], true);
}

/**
 * L(Aᵀ, G): the gradient of ⟨G, exp(A)⟩ with respect to A. Building a graph
 * (a second derivative), the block exponential is the recorded expm, so the
 * gradient is differentiable in A and G to any order.
 */
function expmFrechetAdjoint(A: Tensor, G: Tensor): Tensor {
  const exp = isGradEnabled() ? expm : expmRaw;
  return tidy(() => {
    const r = A.rank;
    const m = A.shape[r - 1];
    const At = transpose(A, r - 2, r - 1);
    const lead = A.shape.slice(0, -2);
    const Z = zeros([...lead, m, m], { dtype: A.dtype, device: A.device });
    const block = concat([concat([At, G], r - 1), concat([Z, At], r - 1)], r - 2);
    const E = exp(block);
    return slice(E, [...lead.map(() => 0), 0, m], [...lead, m, m]);
  });
}

/**
 * For K [..., n, n] and h [..., n]: exp(K) and ψ(K) h with ψ(K) = ∫₀¹ e^{Ks} ds
 * (= K⁻¹(e^K − I) where K is invertible), both from one exponential of the
 * augmented (n+1)×(n+1) matrix [[K, h], [0, 0]], which never inverts K.
 * Not differentiable (the ODE solver differentiates through its own adjoint).
 */
export function expmAugmented(K: Tensor, h: Tensor): { E: Tensor; psiH: Tensor } {
  return tidy(() => {
    const r = K.rank;
    const n = K.shape[r - 1];
    const lead = K.shape.slice(0, -2);
    const hc = h.reshape([...lead, n, 1]);
    const top = concat([K, hc], r - 1);
    const bottom = zeros([...lead, 1, n + 1], { dtype: K.dtype, device: K.device });
    const X = expmRaw(concat([top, bottom], r - 2));
    const E = slice(X, [...lead.map(() => 0), 0, 0], [...lead, n, n]);
    const psiH = slice(X, [...lead.map(() => 0), 0, n], [...lead, n, 1]).reshape([...lead, n]);
    return { E, psiH };
  });
}
