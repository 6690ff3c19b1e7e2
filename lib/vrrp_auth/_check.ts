/**
 * The receive-side authentication decision as one pure function, in the
 * order that keeps a flood cheap: a malformed trailer, a stale sequence
 * (`time` mode, before any HMAC), an unknown key id and a replayed
 * sequence (at or below the sender's high-water mark) are refused without
 * computing a digest; then the HMAC; only then does the sender's replay
 * state move.
 *
 * @module
 */

import type { AuthKey } from "./_keys.ts";
import {
  type AntiReplayMode,
  isReplay,
  recordSequence,
  type ReplayPolicy,
  type ReplayState,
} from "./_replay.ts";
import { formatSequence, sequenceAgeSeconds } from "./_sequence.ts";
import { decodeTrailer, verifyTrailer } from "./_trailer.ts";

/**
 * keepalived's `auth_hmac` modes:
 * - `enforce`: sign every advert, accept only signed ones;
 * - `permissive`: sign, and also accept adverts without a trailer;
 * - `receive-only`: send no trailer, verify a trailer when one is present.
 *
 * A group turns authentication on without a gap in three sweeps:
 * receive-only everywhere, then permissive everywhere, then enforce.
 */
export type AuthMode = "enforce" | "permissive" | "receive-only";

/** The authentication settings of one virtual router. */
export interface AuthConfig {
  /** Every key that is accepted, by id (1-255). At least one. */
  keys: ReadonlyMap<number, AuthKey>;
  /** The key adverts are signed with. */
  activeKeyId: number;
  /** See {@link AuthMode}. */
  mode: AuthMode;
  /** See {@link AntiReplayMode}. */
  antiReplay: AntiReplayMode;
  /** `time` mode: how far a sequence's time may be from ours, in ms. */
  timeWindowMs: number;
  /** Senders remembered for anti-replay (4 multicast, #peers unicast). */
  replaySlots: number;
}

/**
 * Every authentication drop reason, in the order they are checked. Stable
 * names: counter labels of `havip_vrrp_dropped_total`.
 */
export const AUTH_DROP_REASONS = [
  /** No trailer, in `enforce` mode. */
  "unsigned",
  /** A trailer of the wrong size, type, or with reserved bits set. */
  "auth_malformed",
  /** `time` mode: the sequence's time is outside the window. */
  "stale",
  /** The key id is not configured here. */
  "unknown_key",
  /** The sequence is not newer than the sender's last accepted one. */
  "replay",
  /** The HMAC does not match: forged, or signed with another key. */
  "bad_hmac",
] as const;

/** Why authentication refused a packet; see {@link AUTH_DROP_REASONS}. */
export type AuthDropReason = typeof AUTH_DROP_REASONS[number];

/** One received advertisement, as authentication sees it. */
export interface AuthInput {
  /** The VRRP PDU without the trailer. */
  pdu: Uint8Array;
  /** The bytes after the PDU; empty when the advert is unsigned. */
  trailer: Uint8Array;
  /** Source address bytes (4 or 16): part of the HMAC. */
  src: Uint8Array;
  /** Source address text: the anti-replay sender. */
  sender: string;
  /** The realtime clock (ms since the epoch). */
  wallMs: number;
}

/** The outcome of {@link checkAuthentication}. */
export type AuthResult =
  | {
    ok: true;
    /** The replay state to keep (moved only for a verified trailer). */
    replay: ReplayState;
    /** The key that signed it, or null for an accepted unsigned advert. */
    keyId: number | null;
  }
  | {
    ok: false;
    /** The counter label. */
    reason: AuthDropReason;
    /** One sentence for a log line (no key material). */
    detail: string;
  };

/** The replay policy of a configuration. */
export function replayPolicy(config: AuthConfig): ReplayPolicy {
  return {
    mode: config.antiReplay,
    windowMs: config.timeWindowMs,
    slots: config.replaySlots,
  };
}

function refuse(reason: AuthDropReason, detail: string): AuthResult {
  return { ok: false, reason, detail };
}

/**
 * Decides whether a received advertisement is authentic under `config`,
 * given the current per-sender `replay` state. Pure; never throws for any
 * packet bytes. A refused packet leaves `replay` as it was.
 */
export function checkAuthentication(
  input: AuthInput,
  config: AuthConfig,
  replay: ReplayState,
): AuthResult {
  const from = input.sender;
  if (input.trailer.length === 0) {
    if (config.mode === "enforce") {
      return refuse("unsigned", `unsigned advertisement from ${from}`);
    }
    return { ok: true, replay, keyId: null };
  }
  const decoded = decodeTrailer(input.trailer);
  if (!decoded.ok) {
    return refuse("auth_malformed", `${decoded.detail} (from ${from})`);
  }
  const { trailer } = decoded;
  const policy = replayPolicy(config);
  if (config.antiReplay === "time") {
    const age = sequenceAgeSeconds(trailer.sequence, input.wallMs);
    if (Math.abs(age) * 1000 > config.timeWindowMs) {
      return refuse(
        "stale",
        `sequence time from ${from} is ${Math.abs(age).toFixed(1)} s ${
          age > 0 ? "old" : "in the future"
        }, outside the ${
          config.timeWindowMs / 1000
        } s window (clocks out of sync, or a replay)`,
      );
    }
  }
  const key = config.keys.get(trailer.keyId);
  if (key === undefined) {
    return refuse(
      "unknown_key",
      `advertisement from ${from} signed with key ${trailer.keyId}, which is not configured here`,
    );
  }
  // Before the digest: a replay flood costs no HMAC, and the state is not
  // touched, so forged packets cannot move it either way.
  if (isReplay(replay, from, trailer.sequence, input.wallMs, policy)) {
    return refuse(
      "replay",
      `sequence ${
        formatSequence(trailer.sequence)
      } from ${from} is not newer than the last accepted one`,
    );
  }
  if (!verifyTrailer(key, trailer, input)) {
    return refuse(
      "bad_hmac",
      `wrong HMAC from ${from} for key ${trailer.keyId} (forged, or signed with a different key ${trailer.keyId})`,
    );
  }
  return {
    ok: true,
    replay: recordSequence(
      replay,
      from,
      trailer.sequence,
      input.wallMs,
      policy,
    ),
    keyId: trailer.keyId,
  };
}
