/** Error codes carried by every {@link AntlerError}. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'SHAPE_MISMATCH'
  | 'DTYPE_MISMATCH'
  | 'DEVICE_MISMATCH'
  | 'DISPOSED'
  | 'OUT_OF_MEMORY'
  | 'CUDA_UNAVAILABLE'
  | 'CUDA_ERROR'
  | 'NOT_CONVERGED'
  | 'BAD_FILE'
  | 'LOAD_FAILED'
  | 'INTERNAL';

/**
 * The one error type antler throws for bad input or failed device work.
 * `code` is stable and machine-readable; the message names the op, what was
 * passed and what was expected.
 */
export class AntlerError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'AntlerError';
  }
}

export function fail(code: ErrorCode, message: string): never {
  throw new AntlerError(code, message);
}
