/**
 * VRRP version 3 (RFC 5798) advertisement codec for IPv4, and the IPv4
 * header reader for what a raw socket receives. Pure: bytes in, values out.
 *
 * Wire layout of the VRRP message (§5.1), network byte order:
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
 * |(rsvd) |     Max Adver Int     |          Checksum             |
 * |                     IPv4 Address(es) ...                      |
 * ```
 *
 * @module
 */

import { formatIPv4, parseIPv4 } from "../ip/mod.ts";
import { IPPROTO_VRRP } from "../sys/mod.ts";

/** The VRRP version this codec speaks. */
export const VRRP_VERSION = 3;
/** VRRP message type: advertisement (the only type RFC 5798 defines). */
export const VRRP_TYPE_ADVERTISEMENT = 1;
/** The IPv4 multicast group of VRRP (RFC 5798 §5.1.1.2). */
export const VRRP_MULTICAST_GROUP = "224.0.0.18";
/** Fixed part of the VRRP message, before the addresses. */
export const VRRP_HEADER_SIZE = 8;
/** Largest Max Advertise Interval: 12 bits of centiseconds (40.95 s). */
export const MAX_ADVERT_INTERVAL_CS = 0x0fff;
/** The TTL every VRRP packet is sent with and must arrive with (§7.1). */
export const VRRP_TTL = 255;

/** The fields of one VRRPv3 IPv4 advertisement. */
export interface Advertisement {
  /** Virtual router id, 1-255. */
  vrid: number;
  /** 0 (master leaving), 1-254 (backup-capable), 255 (address owner). */
  priority: number;
  /** Sender's advertisement interval in centiseconds, 1-4095 when sending. */
  maxAdvertIntervalCs: number;
  /** The virtual IPv4 addresses, dotted quads, in wire order. */
  addresses: string[];
}

/** A decoded advertisement: the fields plus the checksum as received. */
export interface DecodedAdvertisement extends Advertisement {
  /** The checksum field; check it with {@link verifyChecksum}. */
  checksum: number;
}

/**
 * The IPv4 addresses of the pseudo-header the v3 checksum covers
 * (RFC 5798 §5.2.8): the packet's source and destination.
 */
export interface PseudoHeaderAddresses {
  /** Source address of the IPv4 packet carrying the message. */
  src: string;
  /** Destination: 224.0.0.18, or the peer's address for unicast. */
  dst: string;
}

/** Why bytes could not be decoded. */
export type DecodeErrorReason =
  /** Fewer bytes than the headers or the address count need. */
  | "truncated"
  /** More bytes than the header and address count account for. */
  | "length"
  /** IPv4 header unusable: version not 4, IHL < 5, total length < IHL. */
  | "ip_header"
  /** VRRP version nibble is not 3. */
  | "version"
  /** VRRP type nibble is not 1 (advertisement). */
  | "type";

/** A typed decode failure: `reason` is stable, `message` is for people. */
export class VrrpDecodeError extends Error {
  /** Machine-readable cause, usable as a counter label. */
  readonly reason: DecodeErrorReason;

  /** `reason` for counters, `message` for people. */
  constructor(reason: DecodeErrorReason, message: string) {
    super(message);
    this.name = "VrrpDecodeError";
    this.reason = reason;
  }
}

function checkInt(name: string, value: number, min: number, max: number) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${name} must be an integer ${min}-${max}, got ${value}`,
    );
  }
}

/** One's-complement sum of 16-bit big-endian words, not yet inverted. */
function onesSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  // An odd trailing byte is padded with a zero byte (RFC 1071).
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function pseudoHeader(
  addrs: PseudoHeaderAddresses,
  vrrpLength: number,
): Uint8Array {
  const ph = new Uint8Array(12);
  ph.set(parseIPv4(addrs.src), 0);
  ph.set(parseIPv4(addrs.dst), 4);
  ph[8] = 0;
  ph[9] = IPPROTO_VRRP;
  ph[10] = vrrpLength >> 8;
  ph[11] = vrrpLength & 0xff;
  return ph;
}

/**
 * The RFC 5798 §5.2.8 checksum of `message` (a whole VRRP message whose
 * checksum field is taken as it is: zero it first to compute a new one)
 * over the IPv4 pseudo-header (src, dst, zero, protocol 112, VRRP length)
 * and the message. keepalived computes it this way for v3 over IPv4;
 * some vendors leave the pseudo-header out (keepalived's
 * `v3_checksum_as_v2`), which this codec does not speak.
 */
export function vrrpChecksum(
  message: Uint8Array,
  addrs: PseudoHeaderAddresses,
): number {
  const sum = onesSum(message, onesSum(pseudoHeader(addrs, message.length)));
  return ~sum & 0xffff;
}

/**
 * True when the checksum field of `message` (a whole VRRP message) is
 * right for a packet from `src` to `dst`.
 */
export function verifyChecksum(
  message: Uint8Array,
  src: string,
  dst: string,
): boolean {
  // Summing a correct message including its checksum gives 0xffff.
  return vrrpChecksum(message, { src, dst }) === 0;
}

/**
 * Encodes a VRRPv3 advertisement (the VRRP message only: the kernel adds
 * the IPv4 header). The checksum covers the pseudo-header, so a unicast
 * sender encodes once per peer with that peer as `dst`. Throws a
 * `RangeError` for out-of-range fields and an `AddressParseError` for
 * bad address text (both come from configuration, not the network).
 */
export function encodeAdvertisement(
  adv: Advertisement,
  addrs: PseudoHeaderAddresses,
): Uint8Array {
  checkInt("vrid", adv.vrid, 1, 255);
  checkInt("priority", adv.priority, 0, 255);
  checkInt(
    "maxAdvertIntervalCs",
    adv.maxAdvertIntervalCs,
    1,
    MAX_ADVERT_INTERVAL_CS,
  );
  checkInt("address count", adv.addresses.length, 0, 255);
  const out = new Uint8Array(VRRP_HEADER_SIZE + 4 * adv.addresses.length);
  out[0] = (VRRP_VERSION << 4) | VRRP_TYPE_ADVERTISEMENT;
  out[1] = adv.vrid;
  out[2] = adv.priority;
  out[3] = adv.addresses.length;
  // The 4 reserved bits stay zero (MUST on send).
  out[4] = adv.maxAdvertIntervalCs >> 8;
  out[5] = adv.maxAdvertIntervalCs & 0xff;
  adv.addresses.forEach((a, i) => out.set(parseIPv4(a), 8 + 4 * i));
  const sum = vrrpChecksum(out, addrs);
  out[6] = sum >> 8;
  out[7] = sum & 0xff;
  return out;
}

/**
 * Decodes a VRRPv3 IPv4 advertisement (the VRRP message, after the IPv4
 * header). Reserved bits are ignored (§5.2.6). Does not verify the
 * checksum (that needs the IPv4 addresses: {@link verifyChecksum}).
 * Throws only a {@link VrrpDecodeError}.
 */
export function decodeAdvertisement(bytes: Uint8Array): DecodedAdvertisement {
  if (bytes.length < VRRP_HEADER_SIZE) {
    throw new VrrpDecodeError(
      "truncated",
      `VRRP message has ${bytes.length} bytes, the header needs ${VRRP_HEADER_SIZE}`,
    );
  }
  const version = bytes[0] >> 4;
  if (version !== VRRP_VERSION) {
    throw new VrrpDecodeError(
      "version",
      `VRRP version ${version}, expected ${VRRP_VERSION}`,
    );
  }
  const type = bytes[0] & 0x0f;
  if (type !== VRRP_TYPE_ADVERTISEMENT) {
    throw new VrrpDecodeError(
      "type",
      `VRRP type ${type}, expected ${VRRP_TYPE_ADVERTISEMENT} (advertisement)`,
    );
  }
  const count = bytes[3];
  const expected = VRRP_HEADER_SIZE + 4 * count;
  if (bytes.length < expected) {
    throw new VrrpDecodeError(
      "truncated",
      `VRRP message has ${bytes.length} bytes, ${count} IPv4 addresses need ${expected}`,
    );
  }
  if (bytes.length > expected) {
    // Also what an IPv6 advertisement looks like to an IPv4 reader.
    throw new VrrpDecodeError(
      "length",
      `VRRP message has ${bytes.length} bytes, ${count} IPv4 addresses make ${expected}`,
    );
  }
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    addresses.push(formatIPv4(bytes.subarray(8 + 4 * i, 12 + 4 * i)));
  }
  return {
    vrid: bytes[1],
    priority: bytes[2],
    maxAdvertIntervalCs: ((bytes[4] & 0x0f) << 8) | bytes[5],
    checksum: (bytes[6] << 8) | bytes[7],
    addresses,
  };
}

/** The parts of a received IPv4 datagram that VRRP looks at. */
export interface Ipv4Packet {
  /** Header length in bytes (IHL × 4). */
  headerLength: number;
  /** Total length from the header; `payload` ends there. */
  totalLength: number;
  /** Type of service byte (keepalived sends 0xc0). */
  tos: number;
  /** Time to live as received (VRRP requires 255). */
  ttl: number;
  /** IP protocol number (VRRP is 112). */
  protocol: number;
  /** Source address, dotted quad. */
  src: string;
  /** Destination address, dotted quad. */
  dst: string;
  /** The bytes after the header, up to the total length (a view). */
  payload: Uint8Array;
}

/**
 * Reads the IPv4 header at the start of a datagram from a raw socket
 * (Linux hands raw IPv4 sockets the whole packet): skips IHL × 4 bytes,
 * options included, and cuts the payload at the header's total length.
 * Throws only a {@link VrrpDecodeError}.
 */
export function parseIpv4Packet(bytes: Uint8Array): Ipv4Packet {
  if (bytes.length < 20) {
    throw new VrrpDecodeError(
      "truncated",
      `IPv4 packet has ${bytes.length} bytes, the header needs 20`,
    );
  }
  const version = bytes[0] >> 4;
  const headerLength = (bytes[0] & 0x0f) * 4;
  if (version !== 4 || headerLength < 20) {
    throw new VrrpDecodeError(
      "ip_header",
      `not an IPv4 header: version ${version}, header length ${headerLength}`,
    );
  }
  const totalLength = (bytes[2] << 8) | bytes[3];
  if (totalLength < headerLength) {
    throw new VrrpDecodeError(
      "ip_header",
      `IPv4 total length ${totalLength} is shorter than its header (${headerLength})`,
    );
  }
  if (bytes.length < totalLength) {
    throw new VrrpDecodeError(
      "truncated",
      `IPv4 packet has ${bytes.length} bytes, its header says ${totalLength}`,
    );
  }
  return {
    headerLength,
    totalLength,
    tos: bytes[1],
    ttl: bytes[8],
    protocol: bytes[9],
    src: formatIPv4(bytes.subarray(12, 16)),
    dst: formatIPv4(bytes.subarray(16, 20)),
    payload: bytes.subarray(headerLength, totalLength),
  };
}
