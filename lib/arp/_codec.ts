/**
 * RFC 826 ARP for Ethernet/IPv4: the 28-byte body, pure encode/decode.
 *
 * @module
 */

/** ARP operation: request. */
export const ARP_REQUEST = 1;
/** ARP operation: reply. */
export const ARP_REPLY = 2;
/** Hardware type: Ethernet. */
export const ARP_HTYPE_ETHERNET = 1;
/** Protocol type: IPv4 (an EtherType). */
export const ARP_PTYPE_IPV4 = 0x0800;
/** Size of the Ethernet/IPv4 ARP body. */
export const ARP_PACKET_LEN = 28;

/** The Ethernet broadcast address. */
export const BROADCAST_MAC = "ff:ff:ff:ff:ff:ff";
/** The all-zero MAC (unknown target in a request). */
export const ZERO_MAC = "00:00:00:00:00:00";

/** An Ethernet/IPv4 ARP packet; addresses as text. */
export interface ArpPacket {
  /** {@link ARP_REQUEST} or {@link ARP_REPLY} (other values decode too). */
  operation: number;
  /** `sha`, e.g. `"02:00:00:00:00:01"`. */
  senderMac: string;
  /** `spa`, e.g. `"10.0.0.100"`. */
  senderIp: string;
  /** `tha`. */
  targetMac: string;
  /** `tpa`. */
  targetIp: string;
}

/** Bytes that are not an Ethernet/IPv4 ARP packet. */
export class ArpDecodeError extends Error {
  /** Byte offset where decoding failed. */
  readonly offset: number;
  /** What is wrong and the byte offset where it was found. */
  constructor(message: string, offset: number) {
    super(`ARP decode: ${message} (at byte ${offset})`);
    this.name = "ArpDecodeError";
    this.offset = offset;
  }
}

function mac(text: string | Uint8Array): Uint8Array {
  const b = typeof text === "string" ? parseMac(text) : text;
  if (b.length !== 6) {
    throw new AddressParseError("MAC address", formatMac(b), "needs 6 bytes");
  }
  return b;
}

function ipv4(text: string | Uint8Array): Uint8Array {
  const b = typeof text === "string" ? parseIPv4(text) : text;
  if (b.length !== 4) {
    throw new AddressParseError("IPv4 address", String(b), "needs 4 bytes");
  }
  return b;
}

/** Encodes the 28-byte ARP body (htype 1, ptype 0x0800, hlen 6, plen 4). */
export function encodeArp(p: ArpPacket): Uint8Array {
  if (
    !Number.isInteger(p.operation) || p.operation < 0 || p.operation > 0xffff
  ) {
    throw new RangeError(`ARP operation must be 0..65535, got ${p.operation}`);
  }
  const out = new Uint8Array(ARP_PACKET_LEN);
  const v = new DataView(out.buffer);
  v.setUint16(0, ARP_HTYPE_ETHERNET, false);
  v.setUint16(2, ARP_PTYPE_IPV4, false);
  v.setUint8(4, 6);
  v.setUint8(5, 4);
  v.setUint16(6, p.operation, false);
  out.set(mac(p.senderMac), 8);
  out.set(ipv4(p.senderIp), 14);
  out.set(mac(p.targetMac), 18);
  out.set(ipv4(p.targetIp), 24);
  return out;
}

/**
 * Decodes an ARP body. Trailing bytes (Ethernet padding) are ignored.
 * Throws {@link ArpDecodeError} for anything but Ethernet/IPv4 ARP.
 */
export function decodeArp(b: Uint8Array): ArpPacket {
  if (b.length < ARP_PACKET_LEN) {
    throw new ArpDecodeError(
      `need ${ARP_PACKET_LEN} bytes, got ${b.length}`,
      0,
    );
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const htype = v.getUint16(0, false);
  if (htype !== ARP_HTYPE_ETHERNET) {
    throw new ArpDecodeError(`hardware type ${htype} is not Ethernet (1)`, 0);
  }
  const ptype = v.getUint16(2, false);
  if (ptype !== ARP_PTYPE_IPV4) {
    throw new ArpDecodeError(
      `protocol type 0x${ptype.toString(16)} is not IPv4 (0x800)`,
      2,
    );
  }
  if (b[4] !== 6) {
    throw new ArpDecodeError(`hardware length ${b[4]} is not 6`, 4);
  }
  if (b[5] !== 4) {
    throw new ArpDecodeError(`protocol length ${b[5]} is not 4`, 5);
  }
  return {
    operation: v.getUint16(6, false),
    senderMac: formatMac(b.subarray(8, 14)),
    senderIp: formatIPv4(b.subarray(14, 18)),
    targetMac: formatMac(b.subarray(18, 24)),
    targetIp: formatIPv4(b.subarray(24, 28)),
  };
}

/**
 * The request form of a gratuitous ARP: "who has VIP? tell VIP", sender
 * and target IP both the VIP, target MAC zero (RFC 5227 §3).
 */
export function gratuitousRequest(
  senderMac: string | Uint8Array,
  ip: string | Uint8Array,
): ArpPacket {
  const m = formatMac(mac(senderMac));
  const a = formatIPv4(ipv4(ip));
  return {
    operation: ARP_REQUEST,
    senderMac: m,
    senderIp: a,
    targetMac: ZERO_MAC,
    targetIp: a,
  };
}

/**
 * An ARP probe (RFC 5227 §2.1.1): "who has IP?" from `senderMac` with the
 * sender IP 0.0.0.0, so that no neighbour learns anything from it. Whoever
 * has the address answers with a reply to `senderMac`.
 */
export function probeRequest(
  senderMac: string | Uint8Array,
  ip: string | Uint8Array,
): ArpPacket {
  return {
    operation: ARP_REQUEST,
    senderMac: formatMac(mac(senderMac)),
    senderIp: "0.0.0.0",
    targetMac: ZERO_MAC,
    targetIp: formatIPv4(ipv4(ip)),
  };
}

/**
 * The reply form: "VIP is at MAC", target MAC = sender MAC and target IP =
 * VIP. Linux accepts it within `locktime` only with target MAC = sender
 * MAC (a broadcast target MAC is ignored then).
 */
export function gratuitousReply(
  senderMac: string | Uint8Array,
  ip: string | Uint8Array,
): ArpPacket {
  const m = formatMac(mac(senderMac));
  const a = formatIPv4(ipv4(ip));
  return {
    operation: ARP_REPLY,
    senderMac: m,
    senderIp: a,
    targetMac: m,
    targetIp: a,
  };
}
import {
  AddressParseError,
  formatIPv4,
  formatMac,
  parseIPv4,
  parseMac,
} from "../ip/mod.ts";
