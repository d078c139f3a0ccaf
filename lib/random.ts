/**
 * Seeds for the counter-based (Philox) generator. A draw is fully determined
 * by (seed, stream): an explicit `seed` option uses stream 0, so the same seed
 * gives the same numbers on every call and device; without one, draws use the
 * global seed and a new stream each, like PyTorch's global generator.
 */
import { randomBytes } from 'node:crypto';
import { checkInteger } from './validate';

let globalSeed = randomBytes(6).readUIntLE(0, 6);
let globalStream = 0;

/** Sets the global seed: the draws that follow are repeatable. */
export function setSeed(seed: number): void {
  globalSeed = checkInteger(seed, 'setSeed', 'seed');
  globalStream = 0;
}

/** @internal */
export function nextDraw(seed: number | undefined, op: string): { seed: number; stream: number } {
  if (seed !== undefined) return { seed: checkInteger(seed, op, 'seed'), stream: 0 };
  globalStream += 1;
  return { seed: globalSeed, stream: globalStream };
}
