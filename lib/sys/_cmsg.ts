/**
 * Ancillary data of `recvmsg` (control messages) as pure functions: the
 * `cmsghdr` layout of Linux x86_64 / aarch64 (64-bit `size_t`), and the
 * IPv6 messages VRRP needs (the received hop limit and destination).
 *
 * ```
 * struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; data... }
 * ```
 * `cmsg_len` counts the 16-byte header and the data, not the padding; each
 * message starts at a multiple of 8.
 *
 * @module
 */

import { IPPROTO_IPV6, IPV6_HOPLIMIT, IPV6_PKTINFO } from "./_constants.ts";

/** Size of `struct cmsghdr` on 64-bit Linux. */
export const CMSG_HEADER_SIZE = 16;

/** CMSG_ALIGN: control messages are 8-byte aligned on 64-bit Linux. */
export function cmsgAlign(n: number): number {
  return (n + 7) & ~7;
}

/** Bytes a control message with `dataLength` bytes of data takes (CMSG_SPACE). */
export function cmsgSpace(dataLength: number): number {
  return CMSG_HEADER_SIZE + cmsgAlign(dataLength);
}

/** One control message. */
export interface ControlMessage {
  /** `cmsg_level` (IPPROTO_IPV6, SOL_SOCKET, ...). */
  level: number;
  /** `cmsg_type` (IPV6_HOPLIMIT, ...). */
  type: number;
  /** The data (a view). */
  data: Uint8Array;
}

/**
 * Splits a control buffer (the first `msg_controllen` bytes) into messages.
 * Never throws: a message whose length does not fit ends the list.
 */
export function parseControlMessages(bytes: Uint8Array): ControlMessage[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ControlMessage[] = [];
  let at = 0;
  while (at + CMSG_HEADER_SIZE <= bytes.length) {
    const len = Number(view.getBigUint64(at, true));
    if (len < CMSG_HEADER_SIZE || at + len > bytes.length) break;
    out.push({
      level: view.getInt32(at + 8, true),
      type: view.getInt32(at + 12, true),
      data: bytes.subarray(at + CMSG_HEADER_SIZE, at + len),
    });
    at += cmsgAlign(len);
  }
  return out;
}

/** Builds a control buffer from messages (tests, fakes). */
export function encodeControlMessages(messages: ControlMessage[]): Uint8Array {
  const out = new Uint8Array(
    messages.reduce((n, m) => n + cmsgSpace(m.data.length), 0),
  );
  const view = new DataView(out.buffer);
  let at = 0;
  for (const m of messages) {
    view.setBigUint64(at, BigInt(CMSG_HEADER_SIZE + m.data.length), true);
    view.setInt32(at + 8, m.level, true);
    view.setInt32(at + 12, m.type, true);
    out.set(m.data, at + CMSG_HEADER_SIZE);
    at += cmsgSpace(m.data.length);
  }
  return out;
}

/** The received hop limit (`IPV6_HOPLIMIT`), or null when absent. */
export function ipv6HopLimit(messages: ControlMessage[]): number | null {
  const m = messages.find((x) =>
    x.level === IPPROTO_IPV6 && x.type === IPV6_HOPLIMIT && x.data.length >= 4
  );
  if (m === undefined) return null;
  return new DataView(m.data.buffer, m.data.byteOffset, 4).getInt32(0, true);
}

/** A decoded `in6_pktinfo`: where a packet was addressed and arrived. */
export interface Ipv6PacketInfo {
  /** The destination address of the packet (16 bytes). */
  address: Uint8Array;
  /** The interface it arrived on. */
  ifindex: number;
}

/** The `IPV6_PKTINFO` of a received packet, or null when absent. */
export function ipv6PacketInfo(
  messages: ControlMessage[],
): Ipv6PacketInfo | null {
  const m = messages.find((x) =>
    x.level === IPPROTO_IPV6 && x.type === IPV6_PKTINFO && x.data.length >= 20
  );
  if (m === undefined) return null;
  return {
    address: m.data.slice(0, 16),
    ifindex: new DataView(m.data.buffer, m.data.byteOffset + 16, 4).getInt32(
      0,
      true,
    ),
  };
}
