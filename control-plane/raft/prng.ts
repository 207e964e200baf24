// A small seeded pseudo-random generator: the core's only source of randomness (election
// timeouts) and the simulator's scheduler, so one seed replays a whole run. Not for secrets.
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, maxExclusive). */
  int(min: number, maxExclusive: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** An independent generator derived from this one, for a component with its own stream. */
  fork(): Prng;
}

/** A Weyl sequence passed through an integer mixing function (32-bit, splitmix style). */
export function createPrng(seed: number): Prng {
  let state = seed >>> 0;

  const nextUint32 = (): number => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };

  const next = (): number => nextUint32() / 2 ** 32;

  return {
    next,
    int: (min, maxExclusive) => min + Math.floor(next() * (maxExclusive - min)),
    chance: (probability) => next() < probability,
    pick: (items) => items[Math.floor(next() * items.length)],
    fork: () => createPrng(nextUint32()),
  };
}
