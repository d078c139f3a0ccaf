/**
 * @internal Several results of one recorded node (checkpoint(),
 * autograd.defineFunction): the engine records one tensor per node, so the
 * results are flattened and joined into one, recorded, and handed back as
 * slices of it, each in its own shape and dtype.
 */
import { tidy } from '../engine';
import { concat, reshape, slice } from '../ops/core';
import type { Tensor } from '../tensor';

type Float = 'float32' | 'float64';

/** The dtype results are joined in: theirs, or float64 when they differ (exact for float32 values). */
export function joinDtype(ts: readonly Tensor[]): Float {
  const d = ts[0].dtype as Float;
  return ts.every((t) => t.dtype === d) ? d : 'float64';
}

/** ts flattened and joined, in `dtype` (recorded where they are). */
export function joinFlat(ts: readonly Tensor[], dtype: Float): Tensor {
  return tidy(() =>
    concat(
      ts.map((t) => {
        const f = reshape(t, [t.size]);
        return t.dtype === dtype ? f : f.cast(dtype);
      }),
      0,
    ),
  );
}

/** The consecutive pieces of the flat `joined`, one per entry of `like`, in its shape and dtype (new tensors). */
export function splitFlat(joined: Tensor, like: readonly { shape: readonly number[]; dtype: string; size: number }[]): Tensor[] {
  let at = 0;
  return like.map((t) => {
    const from = at;
    at += t.size;
    return tidy(() => {
      const piece = reshape(slice(joined, [from], [t.size]), t.shape);
      return piece.dtype === t.dtype ? piece : piece.cast(t.dtype as Float);
    });
  });
}
