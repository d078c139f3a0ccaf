// Registry entries of lib/ops/linalg-spectral.ts (appended to OPS in test/opinfo.ts), named `linalg.<function>`.
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import type { OpInfo } from './opinfo';

export const LINALG_SPECTRAL_OPS: OpInfo[] = [];
/** Functions of lib/ops/linalg-spectral.ts that are not differentiable ops of their own (tested in their own files). */
export const LINALG_SPECTRAL_NOT_OPS: string[] = [];
