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

/**
 * @internal A small seeded host PRNG (mulberry32) for things that are not
 * tensor draws: shuffling orders, synthetic demo data. Returns [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * @internal The global generator's position. Restoring it replays the same
 * draws: AdaHessian evaluates its closure several times per step and each
 * evaluation must see the same dropout masks.
 */
export function globalDrawPosition(): number {
  return globalStream;
}

/** @internal See globalDrawPosition. */
export function setGlobalDrawPosition(position: number): void {
  globalStream = position;
}

/**
 * @internal The global generator's whole state (seed and position), for
 * checkpoint(): its recomputation must see the forward's draws even if
 * setSeed() ran in between.
 */
export function globalDrawState(): { seed: number; stream: number } {
  return { seed: globalSeed, stream: globalStream };
}

/** @internal See globalDrawState. */
export function setGlobalDrawState(state: { seed: number; stream: number }): void {
  globalSeed = state.seed;
  globalStream = state.stream;
}
