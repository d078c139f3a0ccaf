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
  | 'LINALG_ERROR'
  | 'MODIFIED_IN_PLACE'
  | 'NOT_SUPPORTED'
  | 'BAD_FILE'
  | 'IO_ERROR'
  | 'LOAD_FAILED'
  | 'INTERNAL';

/**
 * The one error type antler throws for bad input or failed device work.
 * `code` is stable and machine-readable; the message names the op, what was
 * passed and what was expected. `cause` holds the underlying error when
 * there is one (for IO_ERROR, Node's own error with its errno `code`).
 */
/** Marks antler's errors, whichever copy of antler's JavaScript made them (see Symbol.hasInstance below). */
const BRAND = Symbol.for('antler.AntlerError');

export class AntlerError extends Error {
  readonly code: ErrorCode;
  /** The error underneath, when there is one: Node's fs error for IO_ERROR (its code, e.g. 'ENOENT'). */
  declare readonly cause?: Error & { code?: string };

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'AntlerError';
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * `e instanceof AntlerError` holds for an error of any copy of antler in
   * the process (two installs, or a cleared require cache): they share one
   * native addon, whose errors carry the class of whichever copy loaded last.
   */
  static [Symbol.hasInstance](v: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, v)) return true;
    return this === AntlerError && v instanceof Error && (v as unknown as Record<symbol, unknown>)[BRAND] === true;
  }
}

export function fail(code: ErrorCode, message: string, options?: { cause?: unknown }): never {
  throw new AntlerError(code, message, options);
}
