/**
 * sockaddr builders and parsers (`sockaddr_in`, `_in6`, `_ll`, `_nl`) and
 * socket option values. Pure: no I/O. Address text is parsed by `lib/ip`.
 *
 * @module
 */

import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../ip/mod.ts";
import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_PACKET,
  AF_UNIX,
} from "./_constants.ts";

/** `struct sockaddr_in` is 16 bytes. */
export const SOCKADDR_IN_SIZE = 16;
/** `struct sockaddr_in6` is 28 bytes. */
export const SOCKADDR_IN6_SIZE = 28;
/** `struct sockaddr_ll` is 20 bytes. */
export const SOCKADDR_LL_SIZE = 20;
/** `struct sockaddr_nl` is 12 bytes. */
export const SOCKADDR_NL_SIZE = 12;

function ipBytes(address: string | Uint8Array, len: 4 | 16): Uint8Array {
  const b = typeof address === "string"
    ? (len === 4 ? parseIPv4(address) : parseIPv6(address))
    : address;
  if (b.length !== len) {
    throw new RangeError(`expected a ${len}-byte address, got ${b.length}`);
  }
  return b;
}

/**
 * Builds a 16-byte `sockaddr_in`: family (host order), port and address
 * (network order), 8 zero bytes.
 */
export function sockaddrIn(
  address: string | Uint8Array,
  port = 0,
): Uint8Array {
  const out = new Uint8Array(SOCKADDR_IN_SIZE);
  const v = new DataView(out.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port, false);
  out.set(ipBytes(address, 4), 4);
  return out;
}

/** A decoded `sockaddr_in`. */
export interface SockaddrIn {
  /** Dotted-quad text. */
  address: string;
  /** The 4 address bytes (network order). */
  bytes: Uint8Array;
  /** The port (0 for raw sockets). */
  port: number;
}

/**
 * Parses a `sockaddr_in` (as filled in by `recvfrom`). Throws a
 * `RangeError` if it is shorter than 8 bytes or not `AF_INET`.
 */
export function parseSockaddrIn(bytes: Uint8Array): SockaddrIn {
  if (bytes.length < 8) {
    throw new RangeError(`sockaddr_in needs 8 bytes, got ${bytes.length}`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = v.getUint16(0, true);
  if (family !== AF_INET) {
    throw new RangeError(`sockaddr family ${family} is not AF_INET`);
  }
  const addr = bytes.slice(4, 8);
  return {
    address: formatIPv4(addr),
    bytes: addr,
    port: v.getUint16(2, false),
  };
}

/**
 * Builds a 28-byte `sockaddr_in6`; `scopeId` (an ifindex) is required for
 * link-local and link-scope multicast destinations such as ff02::1.
 */
export function sockaddrIn6(
  address: string | Uint8Array,
  options: { port?: number; scopeId?: number; flowInfo?: number } = {},
): Uint8Array {
  const out = new Uint8Array(SOCKADDR_IN6_SIZE);
  const v = new DataView(out.buffer);
  v.setUint16(0, AF_INET6, true);
  v.setUint16(2, options.port ?? 0, false);
  v.setUint32(4, options.flowInfo ?? 0, false);
  out.set(ipBytes(address, 16), 8);
  v.setUint32(24, options.scopeId ?? 0, true);
  return out;
}

/** A decoded `sockaddr_in6`. */
export interface SockaddrIn6 {
  /** Canonical IPv6 text. */
  address: string;
  /** The 16 address bytes. */
  bytes: Uint8Array;
  /** The port (0 for raw sockets). */
  port: number;
  /** The scope id (ifindex for link-local sources). */
  scopeId: number;
}

/** Parses a `sockaddr_in6`. Throws a `RangeError` if short or not AF_INET6. */
export function parseSockaddrIn6(bytes: Uint8Array): SockaddrIn6 {
  if (bytes.length < 24) {
    throw new RangeError(`sockaddr_in6 needs 24 bytes, got ${bytes.length}`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = v.getUint16(0, true);
  if (family !== AF_INET6) {
    throw new RangeError(`sockaddr family ${family} is not AF_INET6`);
  }
  const addr = bytes.slice(8, 24);
  return {
    address: formatIPv6(addr),
    bytes: addr,
    port: v.getUint16(2, false),
    scopeId: bytes.length >= 28 ? v.getUint32(24, true) : 0,
  };
}

/**
 * Builds a 20-byte `sockaddr_ll` for `AF_PACKET` sends: family, protocol
 * (an EtherType, stored network order), ifindex, then the destination
 * hardware address at offset 12 (halen = its length).
 */
export function sockaddrLl(options: {
  protocol: number;
  ifindex: number;
  address?: Uint8Array;
}): Uint8Array {
  const out = new Uint8Array(SOCKADDR_LL_SIZE);
  const v = new DataView(out.buffer);
  const addr = options.address ?? new Uint8Array(0);
  if (addr.length > 8) {
    throw new RangeError(`sll_addr holds 8 bytes, got ${addr.length}`);
  }
  v.setUint16(0, AF_PACKET, true);
  v.setUint16(2, options.protocol, false);
  v.setInt32(4, options.ifindex, true);
  // sll_hatype (8) and sll_pkttype (10) are ignored for sends.
  v.setUint8(11, addr.length);
  out.set(addr, 12);
  return out;
}

/** Builds a 12-byte `sockaddr_nl` (pid 0 = the kernel, or "assign me"). */
export function sockaddrNl(
  options: { pid?: number; groups?: number } = {},
): Uint8Array {
  const out = new Uint8Array(SOCKADDR_NL_SIZE);
  const v = new DataView(out.buffer);
  v.setUint16(0, AF_NETLINK, true);
  v.setUint32(4, options.pid ?? 0, true);
  v.setUint32(8, options.groups ?? 0, true);
  return out;
}

/** Parses a `sockaddr_nl`: the sender's port id and groups. */
export function parseSockaddrNl(
  bytes: Uint8Array,
): { pid: number; groups: number } {
  if (bytes.length < SOCKADDR_NL_SIZE) {
    throw new RangeError(`sockaddr_nl needs 12 bytes, got ${bytes.length}`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = v.getUint16(0, true);
  if (family !== AF_NETLINK) {
    throw new RangeError(`sockaddr family ${family} is not AF_NETLINK`);
  }
  return { pid: v.getUint32(4, true), groups: v.getUint32(8, true) };
}

/**
 * Builds a 12-byte `struct ip_mreqn` for `IP_ADD_MEMBERSHIP`,
 * `IP_DROP_MEMBERSHIP` and `IP_MULTICAST_IF`: group, local address
 * (0.0.0.0 = any), ifindex (host order).
 */
export function ipMreqn(options: {
  group?: string | Uint8Array;
  address?: string | Uint8Array;
  ifindex: number;
}): Uint8Array {
  const out = new Uint8Array(12);
  if (options.group !== undefined) out.set(ipBytes(options.group, 4), 0);
  if (options.address !== undefined) out.set(ipBytes(options.address, 4), 4);
  new DataView(out.buffer).setInt32(8, options.ifindex, true);
  return out;
}

/**
 * `struct ipv6_mreq` (20 bytes) for `IPV6_JOIN_GROUP`: the group and the
 * interface index.
 */
export function ipv6Mreq(options: {
  group: string | Uint8Array;
  ifindex: number;
}): Uint8Array {
  const out = new Uint8Array(20);
  out.set(ipBytes(options.group, 16), 0);
  new DataView(out.buffer).setInt32(16, options.ifindex, true);
  return out;
}

/** Longest unix socket path (`sun_path` holds 108 bytes with the NUL). */
export const SUN_PATH_MAX = 107;

/**
 * `struct sockaddr_un` for a path (family, path, NUL): what `bind` and
 * `connect` take. Throws a `RangeError` for a path longer than
 * {@link SUN_PATH_MAX} bytes or with a NUL.
 */
export function sockaddrUn(path: string): Uint8Array {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length === 0 || bytes.length > SUN_PATH_MAX || bytes.includes(0)) {
    throw new RangeError(
      `a unix socket path has 1 to ${SUN_PATH_MAX} bytes and no NUL, got ${bytes.length} bytes`,
    );
  }
  const out = new Uint8Array(2 + bytes.length + 1);
  new DataView(out.buffer).setUint16(0, AF_UNIX, true);
  out.set(bytes, 2);
  return out;
}

/** A host-order `int` option value (4 bytes) for `setsockopt`. */
export function intOption(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, value, true);
  return out;
}
