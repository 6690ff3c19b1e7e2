/**
 * Seeded randomness for property and fuzz tests, so a failure reproduces:
 * every failure message carries the seed, and `HV_SEED=<n>` replays it.
 *
 * @module
 */

/** A mulberry32 PRNG: small, fast, good enough to generate test input. */
export class Prng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** A uniform u32. */
  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 0x100000000) * (hi - lo + 1));
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }
  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)];
  }
}

/** The seed from `HV_SEED`, else a fresh random one. */
export function testSeed(): number {
  const env = Deno.env.get("HV_SEED");
  if (env !== undefined && /^\d+$/.test(env)) return Number(env) >>> 0;
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/**
 * Runs `body(prng, i)` `iterations` times with one seeded PRNG; on a
 * failure prints the seed and iteration and rethrows.
 */
export function property(
  name: string,
  iterations: number,
  body: (prng: Prng, i: number) => void,
): void {
  const seed = testSeed();
  const prng = new Prng(seed);
  for (let i = 0; i < iterations; i++) {
    try {
      body(prng, i);
    } catch (err) {
      console.error(
        `${name} failed at iteration ${i} with seed ${seed}: rerun with HV_SEED=${seed}`,
      );
      throw err;
    }
  }
}

/**
 * Fuzzes a decoder: random bytes, truncations and bit flips of `seeds`
 * (valid encodings). Each input must decode to a value or throw an
 * instance of `errorClass`; anything else fails the test with the seed.
 */
export function fuzzDecoder(
  name: string,
  decode: (b: Uint8Array) => unknown,
  // deno-lint-ignore no-explicit-any
  errorClass: new (...args: any[]) => Error,
  seeds: readonly Uint8Array[],
  iterations = 20_000,
): { decoded: number; rejected: number } {
  const stats = { decoded: 0, rejected: 0 };
  property(name, iterations, (prng) => {
    let input: Uint8Array;
    const mode = seeds.length === 0 ? 0 : prng.int(0, 3);
    if (mode === 0) {
      input = prng.bytes(prng.int(0, 96));
    } else {
      const base = prng.pick(seeds);
      if (mode === 1) {
        input = base.slice(0, prng.int(0, base.length));
      } else {
        input = base.slice();
        const flips = prng.int(1, 4);
        for (let f = 0; f < flips && input.length > 0; f++) {
          input[prng.int(0, input.length - 1)] ^= 1 << prng.int(0, 7);
        }
        if (mode === 3 && input.length > 0) {
          input[prng.int(0, input.length - 1)] = prng.pick([0, 1, 3, 4, 0xff]);
        }
      }
    }
    try {
      decode(input);
      stats.decoded++;
    } catch (err) {
      if (!(err instanceof errorClass)) {
        throw new Error(
          `${name}: input ${Array.from(input).join(",")} threw ${err}`,
          { cause: err },
        );
      }
      stats.rejected++;
    }
  });
  return stats;
}
