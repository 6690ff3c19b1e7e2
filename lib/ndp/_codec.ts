/**
 * RFC 4861 §4.4 neighbour advertisement (ICMPv6 type 136), pure
 * encode/decode. The checksum is left 0 on encode: for raw ICMPv6 sockets
 * the kernel computes it (it needs the IPv6 pseudo-header).
 *
 * @module
 */

/** ICMPv6 type: neighbour advertisement. */
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
/** NA flag: the sender is a router. */
export const NA_FLAG_ROUTER = 0x80000000;
/** NA flag: answer to a solicitation (must be 0 when sent to multicast). */
export const NA_FLAG_SOLICITED = 0x40000000;
/** NA flag: override an existing cache entry. */
export const NA_FLAG_OVERRIDE = 0x20000000;
/** ND option: source link-layer address. */
export const ND_OPT_SOURCE_LINKADDR = 1;
/** ND option: target link-layer address. */
export const ND_OPT_TARGET_LINKADDR = 2;
/** Fixed part of an NA: type, code, checksum, flags, target. */
export const NA_HEADER_LEN = 24;

/** The all-nodes link-local multicast group. */
export const ALL_NODES = "ff02::1";

/** A neighbour advertisement. */
export interface NeighborAdvertisement {
  /** R flag. */
  router: boolean;
  /** S flag. */
  solicited: boolean;
  /** O flag. */
  override: boolean;
  /** The target address (canonical text). */
  target: string;
  /** The Target Link-Layer Address option, if present (6-byte MACs). */
  targetMac?: string;
}

/** Bytes that are not a valid neighbour advertisement. */
export class NdpDecodeError extends Error {
  /** Byte offset where decoding failed. */
  readonly offset: number;
  /** What is wrong and the byte offset where it was found. */
  constructor(message: string, offset: number) {
    super(`NDP decode: ${message} (at byte ${offset})`);
    this.name = "NdpDecodeError";
    this.offset = offset;
  }
}

/**
 * Encodes an NA: 24 fixed bytes plus, with `targetMac`, the 8-byte Target
 * Link-Layer Address option (type 2, length 1 = 8 bytes, MAC).
 */
export function encodeNeighborAdvertisement(
  na: NeighborAdvertisement,
): Uint8Array {
  const target = parseIPv6(na.target);
  if (target[0] === 0xff) {
    throw new AddressParseError(
      "NA target",
      na.target,
      "must not be multicast",
    );
  }
  const mac = na.targetMac === undefined ? undefined : parseMac(na.targetMac);
  const out = new Uint8Array(NA_HEADER_LEN + (mac === undefined ? 0 : 8));
  const v = new DataView(out.buffer);
  v.setUint8(0, ICMPV6_NEIGHBOR_ADVERTISEMENT);
  v.setUint8(1, 0);
  v.setUint16(2, 0); // checksum: the kernel fills it in
  const flags = (na.router ? NA_FLAG_ROUTER : 0) |
    (na.solicited ? NA_FLAG_SOLICITED : 0) |
    (na.override ? NA_FLAG_OVERRIDE : 0);
  v.setUint32(4, flags >>> 0, false);
  out.set(target, 8);
  if (mac !== undefined) {
    out[24] = ND_OPT_TARGET_LINKADDR;
    out[25] = 1;
    out.set(mac, 26);
  }
  return out;
}

/**
 * Decodes an ICMPv6 NA (as received on a raw ICMPv6 socket: no IPv6
 * header). Validates type, code, length, a non-multicast target and the
 * option lengths (RFC 4861 §7.1.2). The checksum is not checked (the
 * kernel already did). Unknown options are skipped.
 */
export function decodeNeighborAdvertisement(
  b: Uint8Array,
): NeighborAdvertisement {
  if (b.length < NA_HEADER_LEN) {
    throw new NdpDecodeError(`need ${NA_HEADER_LEN} bytes, got ${b.length}`, 0);
  }
  if (b[0] !== ICMPV6_NEIGHBOR_ADVERTISEMENT) {
    throw new NdpDecodeError(`ICMPv6 type ${b[0]} is not 136`, 0);
  }
  if (b[1] !== 0) throw new NdpDecodeError(`ICMPv6 code ${b[1]} is not 0`, 1);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const flags = v.getUint32(4, false);
  const targetBytes = b.subarray(8, 24);
  if (targetBytes[0] === 0xff) {
    throw new NdpDecodeError("target address is multicast", 8);
  }
  const out: NeighborAdvertisement = {
    router: (flags & NA_FLAG_ROUTER) !== 0,
    solicited: (flags & NA_FLAG_SOLICITED) !== 0,
    override: (flags & NA_FLAG_OVERRIDE) !== 0,
    target: formatIPv6(targetBytes),
  };
  let o = NA_HEADER_LEN;
  while (o < b.length) {
    if (b.length - o < 2) {
      throw new NdpDecodeError("truncated option header", o);
    }
    const type = b[o];
    const len = b[o + 1] * 8;
    if (len === 0) throw new NdpDecodeError("option length 0", o + 1);
    if (len > b.length - o) {
      throw new NdpDecodeError(
        `option of ${len} bytes exceeds the ${b.length - o} left`,
        o + 1,
      );
    }
    if (type === ND_OPT_TARGET_LINKADDR && len === 8) {
      out.targetMac = formatMac(b.subarray(o + 2, o + 8));
    }
    o += len;
  }
  return out;
}

/**
 * The unsolicited NA that announces `target` at `mac`: Override set,
 * Solicited and Router clear, with the Target Link-Layer Address option.
 */
export function unsolicitedAdvertisement(
  target: string,
  mac: string | Uint8Array,
): NeighborAdvertisement {
  const m = typeof mac === "string" ? parseMac(mac) : mac;
  if (m.length !== 6) {
    throw new AddressParseError("MAC address", formatMac(m), "needs 6 bytes");
  }
  const t = parseIPv6(target);
  if (t[0] === 0xff) {
    throw new AddressParseError("NA target", target, "must not be multicast");
  }
  return {
    router: false,
    solicited: false,
    override: true,
    target: formatIPv6(t),
    targetMac: formatMac(m),
  };
}
import {
  AddressParseError,
  formatIPv6,
  formatMac,
  parseIPv6,
  parseMac,
} from "../ip/mod.ts";
