/**
 * VRRP version 3 (RFC 5798) advertisement codec for IPv4 and IPv6, and the
 * IPv4 header reader for what a raw IPv4 socket receives (a raw IPv6 socket
 * hands over the payload only). Pure: bytes in, values out.
 *
 * Wire layout of the VRRP message (§5.1), network byte order:
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
 * |(rsvd) |     Max Adver Int     |          Checksum             |
 * |            IPv4 Address(es) (4 bytes) or IPv6 (16 bytes)      |
 * ```
 *
 * The family is the one of the packet's source address: an IPv4 virtual
 * router carries only IPv4 addresses, an IPv6 one only IPv6 (§5.2.5).
 *
 * @module
 */

import { formatIP, type IpFamily, parseIP } from "../ip/mod.ts";
import { IPPROTO_VRRP } from "../sys/mod.ts";

/** An address family as VRRP speaks it: 4 or 6. */
export type VrrpFamily = IpFamily;

/** The VRRP version this codec speaks. */
export const VRRP_VERSION = 3;
/** VRRP message type: advertisement (the only type RFC 5798 defines). */
export const VRRP_TYPE_ADVERTISEMENT = 1;
/** The IPv4 multicast group of VRRP (RFC 5798 §5.1.1.2). */
export const VRRP_MULTICAST_GROUP = "224.0.0.18";
/** The IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2), link scope. */
export const VRRP_MULTICAST_GROUP_V6 = "ff02::12";
/** Fixed part of the VRRP message, before the addresses. */
export const VRRP_HEADER_SIZE = 8;
/** Largest Max Advertise Interval: 12 bits of centiseconds (40.95 s). */
export const MAX_ADVERT_INTERVAL_CS = 0x0fff;
/** The TTL every VRRP packet is sent with and must arrive with (§7.1). */
export const VRRP_TTL = 255;

/** The multicast group of `family`. */
export function vrrpMulticastGroup(family: VrrpFamily): string {
  return family === 4 ? VRRP_MULTICAST_GROUP : VRRP_MULTICAST_GROUP_V6;
}

/** Bytes of one address of `family` in the address list. */
export function addressSize(family: VrrpFamily): number {
  return family === 4 ? 4 : 16;
}

/** The fields of one VRRPv3 advertisement (IPv4 or IPv6). */
export interface Advertisement {
  /** Virtual router id, 1-255. */
  vrid: number;
  /** 0 (master leaving), 1-254 (backup-capable), 255 (address owner). */
  priority: number;
  /** Sender's advertisement interval in centiseconds, 1-4095 when sending. */
  maxAdvertIntervalCs: number;
  /**
   * The virtual addresses in wire order: dotted quads, or canonical IPv6
   * text (RFC 5952) when decoded.
   */
  addresses: string[];
}

/** A decoded advertisement: the fields plus the checksum as received. */
export interface DecodedAdvertisement extends Advertisement {
  /** The checksum field; check it with {@link verifyChecksum}. */
  checksum: number;
}

/**
 * The addresses of the pseudo-header the v3 checksum covers (RFC 5798
 * §5.2.8): the packet's source and destination, both IPv4 or both IPv6.
 */
export interface PseudoHeaderAddresses {
  /** Source address of the packet carrying the message. */
  src: string;
  /** Destination: 224.0.0.18 / ff02::12, or the peer's address (unicast). */
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

/** The family of an address text (a `:` makes it IPv6). */
export function familyOf(text: string): VrrpFamily {
  return text.includes(":") ? 6 : 4;
}

/**
 * IPv4 (RFC 768 style, 12 bytes): src, dst, 0, protocol, length (16 bits).
 * IPv6 (RFC 2460 §8.1, 40 bytes): src, dst, length (32 bits), 3 zero
 * bytes, next header.
 */
function pseudoHeader(
  addrs: PseudoHeaderAddresses,
  vrrpLength: number,
): Uint8Array {
  const src = parseIP(addrs.src).bytes;
  const dst = parseIP(addrs.dst).bytes;
  if (src.length !== dst.length) {
    throw new RangeError(
      `source ${addrs.src} and destination ${addrs.dst} are of different families`,
    );
  }
  const n = src.length;
  const ph = new Uint8Array(n === 4 ? 12 : 40);
  ph.set(src, 0);
  ph.set(dst, n);
  if (n === 4) {
    ph[9] = IPPROTO_VRRP;
    ph[10] = vrrpLength >> 8;
    ph[11] = vrrpLength & 0xff;
  } else {
    new DataView(ph.buffer).setUint32(32, vrrpLength);
    ph[39] = IPPROTO_VRRP;
  }
  return ph;
}

/**
 * The RFC 5798 §5.2.8 checksum of `message` (a whole VRRP message whose
 * checksum field is taken as it is: zero it first to compute a new one)
 * over the pseudo-header of the family (IPv4: src, dst, zero, protocol
 * 112, VRRP length; IPv6: RFC 2460 §8.1) and the message. keepalived
 * computes it this way for v3 (for IPv6 the kernel does, through
 * `IPV6_CHECKSUM`); some vendors leave the IPv4 pseudo-header out
 * (keepalived's `v3_checksum_as_v2`), which this codec does not speak. With
 * an authentication trailer, `message` is the PDU without the trailer.
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
 * the IP header), of the family of `addrs.src`. The checksum covers the
 * pseudo-header, so a unicast sender encodes once per peer with that peer
 * as `dst`. Throws a `RangeError` for out-of-range fields or an address of
 * the other family, and an `AddressParseError` for bad address text (both
 * come from configuration, not the network).
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
  const family = familyOf(addrs.src);
  const size = addressSize(family);
  const out = new Uint8Array(VRRP_HEADER_SIZE + size * adv.addresses.length);
  out[0] = (VRRP_VERSION << 4) | VRRP_TYPE_ADVERTISEMENT;
  out[1] = adv.vrid;
  out[2] = adv.priority;
  out[3] = adv.addresses.length;
  // The 4 reserved bits stay zero (MUST on send).
  out[4] = adv.maxAdvertIntervalCs >> 8;
  out[5] = adv.maxAdvertIntervalCs & 0xff;
  adv.addresses.forEach((a, i) => {
    const bytes = parseIP(a).bytes;
    if (bytes.length !== size) {
      throw new RangeError(
        `address ${a} is not IPv${family} like the source ${addrs.src}: a virtual router carries one family`,
      );
    }
    out.set(bytes, 8 + size * i);
  });
  const sum = vrrpChecksum(out, addrs);
  out[6] = sum >> 8;
  out[7] = sum & 0xff;
  return out;
}

/** An advertisement with what follows its address list. */
export interface SplitAdvertisement {
  /** The decoded PDU. */
  advertisement: DecodedAdvertisement;
  /** The PDU's bytes (header and addresses), a view. */
  pdu: Uint8Array;
  /**
   * The bytes after the address list, a view: empty for a plain advert,
   * an authentication trailer for a signed one, or junk.
   */
  trailer: Uint8Array;
}

/**
 * Decodes a VRRPv3 advertisement of `family` (the bytes after the IP
 * header) and hands back what follows the address list separately.
 * Reserved bits are ignored (§5.2.6). Does not verify the checksum (that
 * needs the addresses: {@link verifyChecksum} on `pdu`). Throws only a
 * {@link VrrpDecodeError}.
 */
export function splitAdvertisement(
  bytes: Uint8Array,
  family: VrrpFamily = 4,
): SplitAdvertisement {
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
  const size = addressSize(family);
  const expected = VRRP_HEADER_SIZE + size * count;
  if (bytes.length < expected) {
    throw new VrrpDecodeError(
      "truncated",
      `VRRP message has ${bytes.length} bytes, ${count} IPv${family} addresses need ${expected}`,
    );
  }
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = VRRP_HEADER_SIZE + size * i;
    addresses.push(formatIP(bytes.subarray(at, at + size)));
  }
  return {
    advertisement: {
      vrid: bytes[1],
      priority: bytes[2],
      maxAdvertIntervalCs: ((bytes[4] & 0x0f) << 8) | bytes[5],
      checksum: (bytes[6] << 8) | bytes[7],
      addresses,
    },
    pdu: bytes.subarray(0, expected),
    trailer: bytes.subarray(expected),
  };
}

/**
 * Decodes a VRRPv3 advertisement of `family` (the VRRP message, after the
 * IP header) that must end with its address list. Reserved bits are
 * ignored (§5.2.6). Does not verify the checksum (that needs the
 * addresses: {@link verifyChecksum}). Throws only a {@link VrrpDecodeError}.
 */
export function decodeAdvertisement(
  bytes: Uint8Array,
  family: VrrpFamily = 4,
): DecodedAdvertisement {
  const split = splitAdvertisement(bytes, family);
  if (split.trailer.length > 0) {
    // Also what an IPv6 advertisement looks like to an IPv4 reader.
    const count = split.advertisement.addresses.length;
    throw new VrrpDecodeError(
      "length",
      `VRRP message has ${bytes.length} bytes, ${count} IPv${family} addresses make ${split.pdu.length}`,
    );
  }
  return split.advertisement;
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
    src: formatIP(bytes.subarray(12, 16)),
    dst: formatIP(bytes.subarray(16, 20)),
    payload: bytes.subarray(headerLength, totalLength),
  };
}
