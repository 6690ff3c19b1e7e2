/**
 * Announcement kinds: how a holder tells its neighbours "this address is
 * at my MAC now", one kind per IP family. A kind opens the socket it sends
 * on and builds the datagrams of one announcement round; the announcer
 * keeps the socket and repeats the datagrams. A new kind (say, another
 * link layer) is one more entry in {@link KINDS}.
 *
 * @module
 */
import {
  BROADCAST_MAC,
  encodeArp,
  gratuitousReply,
  gratuitousRequest,
} from "../arp/mod.ts";
import { type IpFamily, parseMac } from "../ip/mod.ts";
import {
  ALL_NODES,
  encodeNeighborAdvertisement,
  unsolicitedAdvertisement,
} from "../ndp/mod.ts";
import {
  AF_INET6,
  AF_PACKET,
  ETH_P_ARP,
  ICMP6_FILTER,
  IPPROTO_ICMPV6,
  IPPROTO_IPV6,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_UNICAST_HOPS,
  openSocket,
  SOCK_DGRAM,
  SOCK_RAW,
  sockaddrIn6,
  sockaddrLl,
  type Socket,
  SysError,
} from "../sys/mod.ts";

/** One datagram of an announcement round and where it goes. */
export interface Datagram {
  /** The packet body. */
  bytes: Uint8Array;
  /** The destination sockaddr. */
  to: Uint8Array;
}

/** How one family's address is announced. */
export interface AnnouncementKind {
  /** For messages: "gratuitous ARP", "unsolicited neighbour advertisement". */
  readonly name: string;
  /** What a send failure is called: `send ARP on interface #3`. */
  sendOp(ifindex: number): string;
  /** Opens and configures the socket (throws a `SysError`). */
  open(ifindex: number): Socket;
  /** The datagrams of one round announcing `ip` at `mac`. */
  round(ifindex: number, mac: Uint8Array, ip: string): Datagram[];
}

/**
 * Gratuitous ARP over `AF_PACKET`/`SOCK_DGRAM` (protocol 0: it receives
 * nothing); the kernel adds the Ethernet header. Each round sends the
 * request form and the reply form, both broadcast: receivers update an
 * existing entry from either, and both count as "proper" gratuitous ARP,
 * so Linux accepts them even within its ARP locktime.
 */
const ARP: AnnouncementKind = {
  name: "gratuitous ARP",
  sendOp: (ifindex) => `send ARP on interface #${ifindex}`,
  open: () => openSocket(AF_PACKET, SOCK_DGRAM, 0),
  round(ifindex, mac, ip) {
    const to = sockaddrLl({
      protocol: ETH_P_ARP,
      ifindex,
      address: parseMac(BROADCAST_MAC),
    });
    return [
      { bytes: encodeArp(gratuitousRequest(mac, ip)), to },
      { bytes: encodeArp(gratuitousReply(mac, ip)), to },
    ];
  },
};

/** ICMP6_FILTER value that blocks every type: the socket only sends. */
const BLOCK_ALL_ICMPV6 = new Uint8Array(32).fill(0xff);

/**
 * Unsolicited neighbour advertisements (Override set) over a raw ICMPv6
 * socket, to ff02::1 on one interface with hop limit 255 (receivers drop
 * NDP with any other hop limit, RFC 4861 §7.1.2).
 */
const NA: AnnouncementKind = {
  name: "unsolicited neighbour advertisement",
  sendOp: (ifindex) => `send neighbour advertisement on interface #${ifindex}`,
  open(ifindex) {
    const sock = openSocket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    try {
      sock.setsockoptInt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255);
      sock.setsockoptInt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
      sock.setsockoptInt(IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex);
      // Our own NAs are of no use to this host, nor is anything received.
      sock.setsockoptInt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
      sock.setsockopt(IPPROTO_ICMPV6, ICMP6_FILTER, BLOCK_ALL_ICMPV6);
      return sock;
    } catch (err) {
      sock.close();
      if (!(err instanceof SysError)) throw err;
      throw new SysError(
        `set up NDP socket on interface #${ifindex}`,
        err.errno,
        { cause: err },
      );
    }
  },
  round(ifindex, mac, ip) {
    const na = unsolicitedAdvertisement(ip, mac);
    const to = sockaddrIn6(ALL_NODES, { scopeId: ifindex });
    return [{ bytes: encodeNeighborAdvertisement(na), to }];
  },
};

/** The announcement kind of each IP family. */
export const KINDS: Readonly<Record<IpFamily, AnnouncementKind>> = {
  4: ARP,
  6: NA,
};
