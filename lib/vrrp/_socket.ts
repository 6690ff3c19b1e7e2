/**
 * The VRRP raw socket (IPv4, protocol 112): a thin shell that encodes
 * advertisements per destination and hands back raw datagrams for
 * `validateAdvertisement`. Needs CAP_NET_RAW and `--allow-ffi`.
 *
 * Source address: the v3 checksum covers the IPv4 source, so it must be
 * known before sending, not picked by the kernel. Multicast gets it from
 * `IP_MULTICAST_IF` (`ip_mreqn.imr_address` is the source of multicast
 * sends); unicast binds the socket to it (a bound raw socket also only
 * receives packets addressed to that address, which is what unicast peers
 * send to).
 *
 * @module
 */

import { parseIPv4 } from "../ip/mod.ts";
import {
  AF_INET,
  interfaceIndex,
  IP_ADD_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TTL,
  ipMreqn,
  IPPROTO_IP,
  IPPROTO_VRRP,
  openSocket,
  SO_BINDTODEVICE,
  SOCK_RAW,
  sockaddrIn,
  type Socket,
  SOL_SOCKET,
} from "../sys/mod.ts";
import {
  type Advertisement,
  encodeAdvertisement,
  VRRP_MULTICAST_GROUP,
  VRRP_TTL,
} from "./_codec.ts";

/** IPPROTO_IP option: type of service byte (not in lib/sys yet). */
const IP_TOS = 1;
/** TOS "internetwork control" (0xc0), as keepalived sends VRRP. */
const TOS_INTERNETWORK_CONTROL = 0xc0;
/** Larger than any VRRP datagram (60 + 8 + 255 × 4 bytes). */
const RECV_BUFFER = 2048;

/** Options of {@link openVrrpSocket}. */
export interface VrrpSocketOptions {
  /** Interface name (`"eth0"`): the socket is bound to it. */
  interface: string;
  /** Our primary IPv4 address on it: the source of every advertisement. */
  primaryIp: string;
  /**
   * Unicast peers. Empty or absent: multicast to 224.0.0.18. Otherwise
   * each advertisement goes to each peer (TTL 255), and nothing is sent
   * to or received from the multicast group.
   */
  peers?: readonly string[];
}

/** A destination that a send could not reach. */
export interface SendFailure {
  /** The destination address. */
  dst: string;
  /** The `SysError` (ENETUNREACH, EHOSTUNREACH, ENOBUFS, ...). */
  error: Error;
}

/** An open VRRP socket; see {@link openVrrpSocket}. */
export interface VrrpSocket extends Disposable {
  /** `"multicast"` or `"unicast"` (peers configured). */
  readonly mode: "multicast" | "unicast";
  /**
   * Encodes and sends `adv` to every destination. Never throws for a
   * send error: one unreachable peer must not silence the others, so the
   * failures are returned (empty when all went out).
   */
  send(adv: Advertisement): SendFailure[];
  /**
   * Waits up to `timeoutMs` for one datagram without blocking the event
   * loop; resolves the raw datagram (IPv4 header first), or null on
   * timeout, abort (at once: lib/sys's wake-up eventfd) or close. Throws a `SysError` for
   * a socket error.
   */
  recv(options: { timeoutMs: number; signal?: AbortSignal }): Promise<
    Uint8Array | null
  >;
  /** Closes the socket (idempotent); a pending `recv` resolves null. */
  close(): void;
}

/**
 * Opens and configures the raw socket. Throws a `SysError` naming the
 * failed step (EPERM without CAP_NET_RAW, ENODEV for a missing interface,
 * EADDRNOTAVAIL when `primaryIp` is not ours, in unicast mode).
 */
export function openVrrpSocket(options: VrrpSocketOptions): VrrpSocket {
  parseIPv4(options.primaryIp); // fail on bad text before any syscall
  const peers = [...(options.peers ?? [])];
  peers.forEach((p) => parseIPv4(p));
  const ifindex = interfaceIndex(options.interface);
  const sock = openSocket(AF_INET, SOCK_RAW, IPPROTO_VRRP);
  try {
    const name = new TextEncoder().encode(options.interface + "\0");
    // Only this interface: another link's VRRP traffic is not ours.
    sock.setsockopt(SOL_SOCKET, SO_BINDTODEVICE, name);
    sock.setsockoptInt(IPPROTO_IP, IP_TOS, TOS_INTERNETWORK_CONTROL);
    if (peers.length === 0) {
      sock.setsockopt(
        IPPROTO_IP,
        IP_MULTICAST_IF,
        ipMreqn({ address: options.primaryIp, ifindex }),
      );
      sock.setsockoptInt(IPPROTO_IP, IP_MULTICAST_TTL, VRRP_TTL);
      sock.setsockoptInt(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
      sock.setsockopt(
        IPPROTO_IP,
        IP_ADD_MEMBERSHIP,
        ipMreqn({ group: VRRP_MULTICAST_GROUP, ifindex }),
      );
    } else {
      sock.bind(sockaddrIn(options.primaryIp));
      sock.setsockoptInt(IPPROTO_IP, IP_TTL, VRRP_TTL);
    }
  } catch (err) {
    sock.close();
    throw err;
  }
  return wrap(sock, options.primaryIp, peers);
}

function wrap(sock: Socket, src: string, peers: string[]): VrrpSocket {
  const dsts = peers.length === 0 ? [VRRP_MULTICAST_GROUP] : peers;
  const targets = dsts.map((dst) => ({ dst, to: sockaddrIn(dst) }));
  return {
    mode: peers.length === 0 ? "multicast" : "unicast",
    send(adv) {
      const failures: SendFailure[] = [];
      for (const { dst, to } of targets) {
        // The checksum covers the destination: one encoding per peer.
        const msg = encodeAdvertisement(adv, { src, dst });
        try {
          sock.sendTo(msg, to);
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
      const got = await sock.recv({
        timeoutMs,
        signal,
        maxBytes: RECV_BUFFER,
      });
      // A cut datagram keeps its IPv4 total length: validation drops it
      // as "truncated".
      return got?.data ?? null;
    },
    close() {
      sock.close();
    },
    [Symbol.dispose]() {
      sock.close();
    },
  };
}
