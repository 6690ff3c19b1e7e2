/**
 * VRRP advertisement authentication, wire-compatible with keepalived ≥ 2.4
 * (`auth_hmac`): an HMAC-SHA256 trailer with a key id and a 64-bit
 * anti-replay sequence after the VRRPv3 PDU, for IPv4 and IPv6.
 *
 * - {@link signAdvertisement} / {@link decodeTrailer} / {@link verifyTrailer}:
 *   the trailer bytes (pure);
 * - {@link checkAuthentication}: the receive decision (malformed, stale,
 *   unknown key, replay, HMAC) with the per-sender {@link ReplayState};
 * - {@link createSigner}: the sending side with growing sequences;
 * - {@link loadAuthKeys}: `ID:FILE` key files, raw or `hex:`, secrets kept
 *   in {@link AuthKey}, which never prints them.
 *
 * ```ts
 * import { AuthKey, signAdvertisement } from "./lib/vrrp_auth/mod.ts";
 * const key = new AuthKey(1, new Uint8Array(32));
 * const pdu = new Uint8Array(12); // a VRRPv3 PDU
 * const trailer = signAdvertisement(key, 1n << 32n, {
 *   pdu, src: new Uint8Array([10, 0, 0, 1]),
 * });
 * ```
 *
 * @module
 */

export {
  AUTH_EXT_TYPE_HMAC,
  AUTH_HMAC_SIZE,
  AUTH_TRAILER_SIZE,
  type DecodedTrailer,
  decodeTrailer,
  signAdvertisement,
  type SignedParts,
  type TrailerDecodeResult,
  type TrailerFields,
  type TrailerProblem,
  verifyTrailer,
} from "./_trailer.ts";
export {
  AUTH_KEY_MAX_BYTES,
  AUTH_KEY_MIN_BYTES,
  AuthKey,
  AuthKeyError,
  decodeKeyFile,
  type KeyFileReader,
  type KeySpec,
  loadAuthKeys,
  type LoadKeysOptions,
  parseKeySpec,
} from "./_keys.ts";
export {
  formatSequence,
  nextSequence,
  sequenceAgeSeconds,
  sequenceAt,
  sequenceSeconds,
  serialGreater,
} from "./_sequence.ts";
export {
  type AntiReplayMode,
  EMPTY_REPLAY_STATE,
  highWaterMark,
  isReplay,
  MULTICAST_REPLAY_SLOTS,
  recordSequence,
  type ReplayPolicy,
  type ReplaySlot,
  type ReplayState,
} from "./_replay.ts";
export {
  AUTH_DROP_REASONS,
  type AuthConfig,
  type AuthDropReason,
  type AuthInput,
  type AuthMode,
  type AuthResult,
  checkAuthentication,
  replayPolicy,
} from "./_check.ts";
export {
  createSigner,
  defaultTimeWindowMs,
  type Signer,
  type SignerOptions,
} from "./_signer.ts";
