// Registry entries of lib/ops/products.ts (appended to OPS in test/opinfo.ts).
// Use opinfo.ts's helpers only inside samples() and bad thunks: this file is loaded while opinfo.ts is.
import type { OpInfo } from './opinfo';

export const PRODUCTS_OPS: OpInfo[] = [];
/** Exported functions of lib/ops/products.ts that are not differentiable ops of their own (tested in their own files). */
export const PRODUCTS_NOT_OPS: string[] = [];
