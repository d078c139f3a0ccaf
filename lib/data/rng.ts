/** @internal Host randomness of antler.data: seeded generators and shuffles (no tensors). */
import { mulberry32, nextDraw } from '../random';

/** A [0, 1) generator. */
export type Uniform = () => number;

/** Mixes a seed (up to 48 bits, as antler's) and a stream into one 32-bit mulberry32 state. */
function mix(seed: number, stream: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x85ebca6b, 0xcc9e2d51);
  h = Math.imul(h ^ (h >>> 15) ^ Math.floor(seed / 4294967296), 0x1b873593);
  h = Math.imul(h ^ (h >>> 13) ^ Math.imul(stream, 0x9e3779b9), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A generator for one draw (an epoch's order, a split): from `seed` (stream 0)
 * when given, else from antler's global seed and a fresh stream, so setSeed()
 * makes the draws replay.
 */
export function drawGenerator(seed: number | undefined, op: string): Uniform {
  const d = nextDraw(seed, op);
  return mulberry32(mix(d.seed, d.stream));
}

/**
 * A sampler's source of per-epoch generators. With a seed, epoch k (the k-th
 * iteration of this object) uses stream k of that seed: the same seed replays
 * the same epochs, each epoch differs. Without, each epoch draws from the
 * global generator.
 */
export class EpochGenerator {
  #epoch = 0;
  constructor(readonly seed: number | undefined, readonly op: string) {
    if (seed !== undefined) nextDraw(seed, op); // checks it
  }

  next(): Uniform {
    if (this.seed === undefined) return drawGenerator(undefined, this.op);
    return mulberry32(mix(this.seed, this.#epoch++));
  }
}

/** An integer in [0, n). */
export function randomBelow(u: Uniform, n: number): number {
  return Math.min(n - 1, Math.floor(u() * n));
}

/** A uniform random permutation of [0, n) (Fisher–Yates). */
export function shuffled(n: number, u: Uniform): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(p, u);
  return p;
}

/** Shuffles xs in place (Fisher–Yates). */
export function shuffleInPlace<T>(xs: T[], u: Uniform): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = randomBelow(u, i + 1);
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}
