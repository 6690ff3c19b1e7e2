/**
 * The sending side: signs each advertisement with the active key at the
 * next sequence. The only state is the last sequence sent, so that two
 * adverts within one clock tick (or after the clock was stepped back)
 * still carry growing sequences.
 *
 * @module
 */

import type { AuthConfig } from "./_check.ts";
import { nextSequence } from "./_sequence.ts";
import { signAdvertisement, type SignedParts } from "./_trailer.ts";

/** Options of {@link createSigner}. */
export interface SignerOptions {
  /** The authentication settings; the active key signs. */
  config: AuthConfig;
  /** The realtime clock in ms (default `Date.now`). */
  wallClock?: () => number;
}

/** Signs advertisements; see {@link createSigner}. */
export interface Signer {
  /**
   * The trailer to append to `parts.pdu`, or an empty array when this
   * node sends no trailer (`receive-only`).
   */
  sign(parts: SignedParts): Uint8Array;
  /** The last sequence sent, or null (status, tests). */
  readonly lastSequence: bigint | null;
}

/** Time window default: max(3 × advert interval, 5 s), keepalived's. */
export function defaultTimeWindowMs(advertIntervalMs: number): number {
  return Math.max(3 * advertIntervalMs, 5000);
}

/**
 * A signer for `options.config`. Throws a `RangeError` when the active
 * key is not among the keys (a configuration bug caught at start).
 */
export function createSigner(options: SignerOptions): Signer {
  const { config } = options;
  const key = config.keys.get(config.activeKeyId);
  if (key === undefined) {
    throw new RangeError(
      `active key ${config.activeKeyId} is not among the configured keys`,
    );
  }
  const wall = options.wallClock ?? Date.now;
  let last: bigint | null = null;
  const none = new Uint8Array(0);
  return {
    sign(parts) {
      if (config.mode === "receive-only") return none;
      last = nextSequence(last, wall());
      return signAdvertisement(key, last, parts);
    },
    get lastSequence() {
      return last;
    },
  };
}
