// Registry entries (see test/opinfo.ts) of lib/ops/random-special.ts: its differentiable functions; the samplers are NOT_OPS with tests of their own.
import type { OpInfo } from './opinfo';

export const RANDOM_SPECIAL_OPS: OpInfo[] = [
  // ---- helper B
  // ---- end helper B
  // ---- helper C
  // ---- end helper C
];

/** Exported functions of lib/ops/random-special.ts that are not differentiable ops (tested in test/cpu/distributions-*.test.ts). */
export const RANDOM_SPECIAL_NOT_OPS: string[] = [
  // ---- helper B
  // ---- end helper B
  // ---- helper C
  // ---- end helper C
];
