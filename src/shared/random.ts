import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';

/** A seeded source of uniform [0, 1) numbers; the model never touches Math.random. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

/**
 * Scramble a user seed (splitmix32 finaliser) so that seeds 1 and 2 do not
 * start xoroshiro128+ in nearly the same state.
 */
function scramble(seed: number): number {
  let z = (seed + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

/**
 * xoroshiro128+ from pure-rand: same seed, same sequence. `stream` k jumps the
 * generator k × 2^64 steps ahead: independent streams for chunks of Monte
 * Carlo draws, whichever worker computes them.
 */
export function seededRng(seed: number, stream = 0): Rng {
  const gen = xoroshiro128plus(scramble(seed));
  for (let k = 0; k < stream; k++) gen.jump();
  return { next: () => uniformFloat64(gen) };
}

/** Exponential variate with the given mean (inverse transform). */
export function exponential(rng: Rng, mean: number): number {
  return -mean * Math.log(1 - rng.next());
}

/**
 * Triangular variate on [low, high] with the given mode (inverse CDF).
 * Used for `assumption` ranges: the stated value is the mode.
 */
export function triangular(rng: Rng, low: number, mode: number, high: number): number {
  if (high <= low) return mode;
  const u = rng.next();
  const cut = (mode - low) / (high - low);
  return u < cut
    ? low + Math.sqrt(u * (high - low) * (mode - low))
    : high - Math.sqrt((1 - u) * (high - low) * (high - mode));
}

/** Standard normal variate (Box–Muller, one of the pair). */
export function standardNormal(rng: Rng): number {
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
