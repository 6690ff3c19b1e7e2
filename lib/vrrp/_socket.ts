/**
 * The VRRP raw socket (protocol 112), IPv4 or IPv6 by the family of the
 * source address: a thin shell that encodes (and, with authentication,
 * signs) advertisements per destination and hands back what was received
 * for `validateAdvertisement` / `validatePacket`. Needs CAP_NET_RAW and
 * `--allow-ffi`.
 *
 * Source address: the v3 checksum covers the source, so it must be known
 * before sending, not picked by the kernel. IPv4 multicast gets it from
 * `IP_MULTICAST_IF` (`ip_mreqn.imr_address` is the source of multicast
 * sends); IPv4 unicast and every IPv6 socket bind to it (a bound raw
 * socket also only receives packets addressed to that address, or to a
 * group it joined). IPv6 sends from the link-local address (RFC 5798
 * §5.1.2.1), and since a raw IPv6 socket receives no IP header, the hop
 * limit and the destination come as `recvmsg` control messages
 * (`IPV6_RECVHOPLIMIT`, `IPV6_RECVPKTINFO`).
 *
 * @module
 */

import { formatIP, parseIP } from "../ip/mod.ts";
import {
  AF_INET,
  AF_INET6,
  interfaceIndex,
  IP_ADD_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TTL,
  ipMreqn,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_VRRP,
  IPV6_JOIN_GROUP,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  IPV6_UNICAST_HOPS,
  ipv6HopLimit,
  ipv6Mreq,
  ipv6PacketInfo,
  openSocket,
  parseSockaddrIn6,
  SO_BINDTODEVICE,
  SOCK_RAW,
  sockaddrIn,
  sockaddrIn6,
  type Socket,
  SOL_SOCKET,
} from "../sys/mod.ts";
import {
  type Advertisement,
  encodeAdvertisement,
  familyOf,
  VRRP_TTL,
  type VrrpFamily,
  vrrpMulticastGroup,
} from "./_codec.ts";
import type { ReceivedPacket } from "./_validate.ts";

/** IPPROTO_IP option: type of service byte (not in lib/sys yet). */
const IP_TOS = 1;
/** IPPROTO_IPV6 option: traffic class (the IPv6 TOS). */
const IPV6_TCLASS = 67;
/** TOS "internetwork control" (0xc0), as keepalived sends VRRP. */
const TOS_INTERNETWORK_CONTROL = 0xc0;
/**
 * Larger than any VRRP datagram: 60 (IPv4 header) + 8 + 255 × 16 (IPv6
 * addresses) + 28 (authentication trailer).
 */
const RECV_BUFFER = 4200;

/** Signs one advertisement: the trailer to append (empty: none). */
export type AdvertSigner = (parts: {
  /** The encoded PDU (any destination's checksum: it is not covered). */
  pdu: Uint8Array;
  /** Our source address bytes. */
  src: Uint8Array;
}) => Uint8Array;

/** Options of {@link openVrrpSocket}. */
export interface VrrpSocketOptions {
  /** Interface name (`"eth0"`): the socket is bound to it. */
  interface: string;
  /**
   * Our primary address on it, the source of every advertisement: IPv4,
   * or our IPv6 link-local address (the family of the virtual router).
   */
  primaryIp: string;
  /**
   * Unicast peers (of the same family; IPv6 ones link-local). Empty or
   * absent: multicast to 224.0.0.18 / ff02::12. Otherwise each
   * advertisement goes to each peer (TTL / hop limit 255), and nothing is
   * sent to or received from the multicast group.
   */
  peers?: readonly string[];
  /** With authentication: appends the trailer to every advertisement. */
  sign?: AdvertSigner;
}

/** A destination that a send could not reach. */
export interface SendFailure {
  /** The destination address. */
  dst: string;
  /** The `SysError` (ENETUNREACH, EHOSTUNREACH, ENOBUFS, ...). */
  error: Error;
}

/**
 * What a VRRP socket receives: a raw IPv4 datagram (header first), or an
 * IPv6 packet with what `recvmsg` said about it.
 */
export type VrrpDatagram = Uint8Array | ReceivedPacket;

/** An open VRRP socket; see {@link openVrrpSocket}. */
export interface VrrpSocket extends Disposable {
  /** `"multicast"` or `"unicast"` (peers configured). */
  readonly mode: "multicast" | "unicast";
  /** 4 or 6. */
  readonly family: VrrpFamily;
  /**
   * Encodes and sends `adv` to every destination. Never throws for a
   * send error: one unreachable peer must not silence the others, so the
   * failures are returned (empty when all went out).
   */
  send(adv: Advertisement): SendFailure[];
  /**
   * Waits up to `timeoutMs` for one datagram without blocking the event
   * loop; resolves it, or null on timeout, abort (at once: lib/sys's
   * wake-up eventfd) or close. Throws a `SysError` for a socket error.
   */
  recv(options: { timeoutMs: number; signal?: AbortSignal }): Promise<
    VrrpDatagram | null
  >;
  /** Closes the socket (idempotent); a pending `recv` resolves null. */
  close(): void;
}

/**
 * Opens and configures the raw socket. Throws a `SysError` naming the
 * failed step (EPERM without CAP_NET_RAW, ENODEV for a missing interface,
 * EADDRNOTAVAIL when `primaryIp` is not ours, or an IPv6 address still
 * tentative), or a `RangeError` for peers of the other family.
 */
export function openVrrpSocket(options: VrrpSocketOptions): VrrpSocket {
  const family = familyOf(options.primaryIp);
  const src = parseIP(options.primaryIp).bytes; // bad text: before any syscall
  const peers = [...(options.peers ?? [])];
  for (const p of peers) {
    if (parseIP(p).bytes.length !== src.length) {
      throw new RangeError(
        `unicast peer ${p} is not IPv${family} like the source ${options.primaryIp}`,
      );
    }
  }
  const ifindex = interfaceIndex(options.interface);
  const sock = openSocket(
    family === 4 ? AF_INET : AF_INET6,
    SOCK_RAW,
    IPPROTO_VRRP,
  );
  try {
    const name = new TextEncoder().encode(options.interface + "\0");
    // Only this interface: another link's VRRP traffic is not ours.
    sock.setsockopt(SOL_SOCKET, SO_BINDTODEVICE, name);
    if (family === 4) configureIpv4(sock, options.primaryIp, ifindex, peers);
    else configureIpv6(sock, options.primaryIp, ifindex, peers);
  } catch (err) {
    sock.close();
    throw err;
  }
  return wrap(sock, {
    family,
    src: options.primaryIp,
    srcBytes: src,
    peers,
    ifindex,
    sign: options.sign,
  });
}

function configureIpv4(
  sock: Socket,
  primaryIp: string,
  ifindex: number,
  peers: string[],
): void {
  sock.setsockoptInt(IPPROTO_IP, IP_TOS, TOS_INTERNETWORK_CONTROL);
  if (peers.length === 0) {
    sock.setsockopt(
      IPPROTO_IP,
      IP_MULTICAST_IF,
      ipMreqn({ address: primaryIp, ifindex }),
    );
    sock.setsockoptInt(IPPROTO_IP, IP_MULTICAST_TTL, VRRP_TTL);
    sock.setsockoptInt(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    sock.setsockopt(
      IPPROTO_IP,
      IP_ADD_MEMBERSHIP,
      ipMreqn({ group: vrrpMulticastGroup(4), ifindex }),
    );
  } else {
    sock.bind(sockaddrIn(primaryIp));
    sock.setsockoptInt(IPPROTO_IP, IP_TTL, VRRP_TTL);
  }
}

function configureIpv6(
  sock: Socket,
  primaryIp: string,
  ifindex: number,
  peers: string[],
): void {
  sock.setsockoptInt(IPPROTO_IPV6, IPV6_TCLASS, TOS_INTERNETWORK_CONTROL);
  sock.setsockoptInt(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
  sock.setsockoptInt(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
  // The link-local source; its scope is the interface.
  sock.bind(sockaddrIn6(primaryIp, { scopeId: ifindex }));
  if (peers.length === 0) {
    sock.setsockoptInt(IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex);
    sock.setsockoptInt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_TTL);
    sock.setsockoptInt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
    sock.setsockopt(
      IPPROTO_IPV6,
      IPV6_JOIN_GROUP,
      ipv6Mreq({ group: vrrpMulticastGroup(6), ifindex }),
    );
  } else {
    sock.setsockoptInt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, VRRP_TTL);
  }
}

interface Endpoint {
  family: VrrpFamily;
  src: string;
  srcBytes: Uint8Array;
  peers: string[];
  ifindex: number;
  sign?: AdvertSigner;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function wrap(sock: Socket, e: Endpoint): VrrpSocket {
  const dsts = e.peers.length === 0 ? [vrrpMulticastGroup(e.family)] : e.peers;
  const targets = dsts.map((dst) => ({
    dst,
    to: e.family === 4
      ? sockaddrIn(dst)
      : sockaddrIn6(dst, { scopeId: e.ifindex }),
  }));
  return {
    mode: e.peers.length === 0 ? "multicast" : "unicast",
    family: e.family,
    send(adv) {
      const failures: SendFailure[] = [];
      let trailer: Uint8Array | null = null;
      for (const { dst, to } of targets) {
        // The checksum covers the destination: one encoding per peer. The
        // HMAC covers neither: one signature serves every peer.
        const pdu = encodeAdvertisement(adv, { src: e.src, dst });
        trailer ??= e.sign?.({ pdu, src: e.srcBytes }) ?? new Uint8Array(0);
        try {
          sock.sendTo(concat(pdu, trailer), to);
        } catch (err) {
          failures.push({
            dst,
            error: err instanceof Error ? err : new Error(String(err)),
          });
        }
      }
      return failures;
    },
    async recv({ timeoutMs, signal }) {
      if (e.family === 4) {
        const got = await sock.recv({
          timeoutMs,
          signal,
          maxBytes: RECV_BUFFER,
        });
        // A cut datagram keeps its IPv4 total length: validation drops it
        // as "truncated".
        return got?.data ?? null;
      }
      const got = await sock.recvMsg({
        timeoutMs,
        signal,
        maxBytes: RECV_BUFFER,
      });
      if (got === null) return null;
      const info = ipv6PacketInfo(got.control);
      return {
        src: parseSockaddrIn6(got.from).address,
        // Without IPV6_PKTINFO the checksum cannot be checked: "::" fails it.
        dst: info === null ? "::" : formatIP(info.address),
        // Without IPV6_HOPLIMIT, 0: dropped as "ttl".
        ttl: ipv6HopLimit(got.control) ?? 0,
        protocol: IPPROTO_VRRP,
        payload: got.data,
      };
    },
    close() {
      sock.close();
    },
    [Symbol.dispose]() {
      sock.close();
    },
  };
}
