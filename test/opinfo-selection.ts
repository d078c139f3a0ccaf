// Registry entries of lib/ops/selection.ts (appended to OPS in test/opinfo.ts).
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import type { OpInfo } from './opinfo';

export const SELECTION_OPS: OpInfo[] = [];
/** Exported functions of lib/ops/selection.ts that are not differentiable ops of their own (tested in their own files). */
export const SELECTION_NOT_OPS: string[] = [];
