/**
 * The authentication trailer keepalived ≥ 2.4 appends to a VRRPv3
 * advertisement (`auth_hmac`), as pure functions: bytes in, bytes out.
 *
 * Layout (28 bytes, after the VRRP PDU, inside the IP payload):
 *
 * ```
 *  0        1        2        3
 * +--------+--------+--------+--------+
 * |ext_type| key_id |    reserved     |  ext_type 1 (HMAC-SHA256-128), reserved 0
 * +--------+--------+--------+--------+
 * |          sec (UTC seconds)        |  \
 * +--------+--------+--------+--------+   > one 64-bit sequence number
 * |  subsec (1/65536) |      ctr      |  /
 * +--------+--------+--------+--------+
 * |     HMAC-SHA256, first 16 bytes   |
 * |              ...                  |
 * +--------+--------+--------+--------+
 * ```
 *
 * The HMAC covers a 20-byte pseudo-header (4 or 6, VRRP version, VRID, 0,
 * the source address, zero padding), the PDU with its checksum read as
 * zero, the first 12 trailer bytes, and 16 zero bytes in place of the HMAC.
 * Neither the IP header nor the destination is covered, so one signature
 * serves every unicast peer. Every fact here was checked against
 * keepalived 2.4.3's packets in `/work/shared/vectors/vrrp-auth-hmac`.
 *
 * @module
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import type { AuthKey } from "./_keys.ts";

/** Bytes of the trailer after the VRRP PDU. */
export const AUTH_TRAILER_SIZE = 28;
/** `ext_type` of the only trailer defined: HMAC-SHA256 truncated to 16. */
export const AUTH_EXT_TYPE_HMAC = 1;
/** Bytes of the truncated HMAC at the end of the trailer. */
export const AUTH_HMAC_SIZE = 16;
/** Bytes before the HMAC: ext_type, key_id, reserved, sequence. */
const HEADER_SIZE = AUTH_TRAILER_SIZE - AUTH_HMAC_SIZE;
/** The pseudo-header the HMAC starts with. */
const PSEUDO_HEADER_SIZE = 20;

/** The fields of a trailer (the HMAC aside). */
export interface TrailerFields {
  /** The key that signed it, 1-255. */
  keyId: number;
  /** sec << 32 | subsec << 16 | ctr, an unsigned 64-bit number. */
  sequence: bigint;
}

/** A trailer read from the wire. */
export interface DecodedTrailer extends TrailerFields {
  /** The 16 HMAC bytes as received (a view). */
  hmac: Uint8Array;
}

/** Why trailer bytes are malformed (stable names). */
export type TrailerProblem =
  /** Not exactly {@link AUTH_TRAILER_SIZE} bytes. */
  | "length"
  /** `ext_type` is not {@link AUTH_EXT_TYPE_HMAC}. */
  | "ext_type"
  /** The reserved bytes are not zero. */
  | "reserved";

/** The outcome of {@link decodeTrailer}. */
export type TrailerDecodeResult =
  | { ok: true; trailer: DecodedTrailer }
  | { ok: false; problem: TrailerProblem; detail: string };

/**
 * Reads a trailer. Never throws: any bytes give a trailer or a problem
 * (a key id outside the configured ones is not malformed, it is an
 * unknown key, decided by the caller).
 */
export function decodeTrailer(bytes: Uint8Array): TrailerDecodeResult {
  if (bytes.length !== AUTH_TRAILER_SIZE) {
    return {
      ok: false,
      problem: "length",
      detail:
        `authentication trailer has ${bytes.length} bytes, expected ${AUTH_TRAILER_SIZE}`,
    };
  }
  if (bytes[0] !== AUTH_EXT_TYPE_HMAC) {
    return {
      ok: false,
      problem: "ext_type",
      detail: `authentication trailer type ${
        bytes[0]
      }, expected ${AUTH_EXT_TYPE_HMAC} (HMAC-SHA256)`,
    };
  }
  if (bytes[2] !== 0 || bytes[3] !== 0) {
    return {
      ok: false,
      problem: "reserved",
      detail: "authentication trailer has non-zero reserved bytes",
    };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    ok: true,
    trailer: {
      keyId: bytes[1],
      sequence: view.getBigUint64(4),
      hmac: bytes.subarray(HEADER_SIZE),
    },
  };
}

function checkFields(fields: TrailerFields): void {
  if (
    !Number.isInteger(fields.keyId) || fields.keyId < 1 || fields.keyId > 255
  ) {
    throw new RangeError(`keyId must be an integer 1-255, got ${fields.keyId}`);
  }
  if (fields.sequence < 0n || fields.sequence > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError("sequence must be an unsigned 64-bit number");
  }
}

/** The first 12 trailer bytes (ext_type … ctr). */
function encodeHeader(fields: TrailerFields): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  out[0] = AUTH_EXT_TYPE_HMAC;
  out[1] = fields.keyId;
  new DataView(out.buffer).setBigUint64(4, fields.sequence);
  return out;
}

/** What the HMAC of an advertisement is computed over. */
export interface SignedParts {
  /**
   * The VRRP PDU (version … last address), without the trailer. Its
   * checksum field may hold anything: the HMAC reads it as zero.
   */
  pdu: Uint8Array;
  /** The source address of the packet, 4 (IPv4) or 16 (IPv6) bytes. */
  src: Uint8Array;
}

function pseudoHeader(parts: SignedParts): Uint8Array {
  const { pdu, src } = parts;
  if (src.length !== 4 && src.length !== 16) {
    throw new RangeError(
      `source address must have 4 or 16 bytes, got ${src.length}`,
    );
  }
  if (pdu.length < 8) {
    throw new RangeError(
      `VRRP PDU must have at least 8 bytes, got ${pdu.length}`,
    );
  }
  const ph = new Uint8Array(PSEUDO_HEADER_SIZE);
  ph[0] = src.length === 4 ? 4 : 6;
  ph[1] = pdu[0] >> 4; // the VRRP version (3)
  ph[2] = pdu[1]; // VRID
  ph.set(src, 4);
  return ph;
}

const ZERO_CHECKSUM = new Uint8Array(2);
const ZERO_HMAC = new Uint8Array(AUTH_HMAC_SIZE);

/** HMAC-SHA256 over the signed parts and the trailer header, first 16 bytes. */
function digest(
  key: AuthKey,
  parts: SignedParts,
  header: Uint8Array,
): Uint8Array {
  const mac = createHmac("sha256", key.reveal());
  mac.update(pseudoHeader(parts));
  mac.update(parts.pdu.subarray(0, 6));
  mac.update(ZERO_CHECKSUM);
  mac.update(parts.pdu.subarray(8));
  mac.update(header);
  mac.update(ZERO_HMAC);
  return new Uint8Array(mac.digest().buffer, 0, AUTH_HMAC_SIZE).slice();
}

/**
 * The 28-byte trailer for `parts`, signed with `key` (whose id goes into
 * the trailer) at `sequence`. Byte-identical to keepalived's for the same
 * key, sequence, PDU and source. Throws a `RangeError` for a sequence
 * outside 64 bits or malformed parts (caller bugs, never packet content).
 */
export function signAdvertisement(
  key: AuthKey,
  sequence: bigint,
  parts: SignedParts,
): Uint8Array {
  const fields = { keyId: key.id, sequence };
  checkFields(fields);
  const header = encodeHeader(fields);
  const out = new Uint8Array(AUTH_TRAILER_SIZE);
  out.set(header, 0);
  out.set(digest(key, parts, header), HEADER_SIZE);
  return out;
}

/**
 * True when `trailer` (as decoded from `parts`' packet) carries the right
 * HMAC for `key`. The comparison takes the same time wherever the bytes
 * differ. `key.id` must be the trailer's key id (the caller looked it up).
 */
export function verifyTrailer(
  key: AuthKey,
  trailer: DecodedTrailer,
  parts: SignedParts,
): boolean {
  const header = encodeHeader(trailer);
  const want = digest(key, parts, header);
  return trailer.hmac.length === AUTH_HMAC_SIZE &&
    timingSafeEqual(want, trailer.hmac);
}
