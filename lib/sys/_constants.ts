/**
 * Linux socket constants (x86_64 / generic ABI values).
 *
 * @module
 */

/** Address family: local (unix domain) sockets. */
export const AF_UNIX = 1;
/** Address family: IPv4. */
export const AF_INET = 2;
/** Address family: IPv6. */
export const AF_INET6 = 10;
/** Address family: netlink. */
export const AF_NETLINK = 16;
/** Address family: packet sockets (link layer). */
export const AF_PACKET = 17;

/** Socket type: stream. */
export const SOCK_STREAM = 1;
/** Socket type: datagram (for AF_PACKET: the kernel builds the L2 header). */
export const SOCK_DGRAM = 2;
/** Socket type: raw. */
export const SOCK_RAW = 3;
/** `socket()` type flag: no blocking calls on this fd. */
export const SOCK_NONBLOCK = 0o4000;
/** `socket()` type flag: not inherited by exec'd children. */
export const SOCK_CLOEXEC = 0o2000000;

/** Netlink protocol: routing (links, addresses, routes). */
export const NETLINK_ROUTE = 0;

/** IP protocol number: ICMPv6. */
export const IPPROTO_ICMPV6 = 58;
/** IP protocol number: VRRP. */
export const IPPROTO_VRRP = 112;
/** setsockopt level: IPv4. */
export const IPPROTO_IP = 0;
/** setsockopt level: IPv6. */
export const IPPROTO_IPV6 = 41;
/** setsockopt level: socket. */
export const SOL_SOCKET = 1;
/** setsockopt level: netlink. */
export const SOL_NETLINK = 270;

/** SOL_SOCKET: pending socket error (read clears it). */
export const SO_ERROR = 4;
/** SOL_SOCKET: credentials of the peer (`struct ucred`: pid, uid, gid). */
export const SO_PEERCRED = 17;
/** SOL_SOCKET: send buffer size. */
export const SO_SNDBUF = 7;
/** SOL_SOCKET: receive buffer size. */
export const SO_RCVBUF = 8;
/** SOL_SOCKET: restrict the socket to one interface (name bytes). */
export const SO_BINDTODEVICE = 25;

/** IPPROTO_IP: unicast TTL. */
export const IP_TTL = 2;
/** IPPROTO_IP: caller supplies the IPv4 header. */
export const IP_HDRINCL = 3;
/** IPPROTO_IP: receive `struct in_pktinfo` ancillary data. */
export const IP_PKTINFO = 8;
/** IPPROTO_IP: outgoing multicast interface (`ip_mreqn`). */
export const IP_MULTICAST_IF = 32;
/** IPPROTO_IP: multicast TTL (int). */
export const IP_MULTICAST_TTL = 33;
/** IPPROTO_IP: loop multicast back to local sockets (int 0/1). */
export const IP_MULTICAST_LOOP = 34;
/** IPPROTO_IP: join a group (`ip_mreqn`). */
export const IP_ADD_MEMBERSHIP = 35;
/** IPPROTO_IP: leave a group (`ip_mreqn`). */
export const IP_DROP_MEMBERSHIP = 36;

/** IPPROTO_IPV6: unicast hop limit (int). */
export const IPV6_UNICAST_HOPS = 16;
/** IPPROTO_IPV6: outgoing multicast interface (int ifindex). */
export const IPV6_MULTICAST_IF = 17;
/** IPPROTO_IPV6: multicast hop limit (int). */
export const IPV6_MULTICAST_HOPS = 18;
/** IPPROTO_IPV6: loop multicast back (int 0/1). */
export const IPV6_MULTICAST_LOOP = 19;
/** IPPROTO_IPV6: join a group (`ipv6_mreq`). */
export const IPV6_JOIN_GROUP = 20;
/** IPPROTO_IPV6: deliver `IPV6_PKTINFO` (destination, ifindex) with recvmsg. */
export const IPV6_RECVPKTINFO = 49;
/** Control message type: `in6_pktinfo` (16-byte address, int ifindex). */
export const IPV6_PKTINFO = 50;
/** IPPROTO_IPV6: deliver `IPV6_HOPLIMIT` (the received hop limit) with recvmsg. */
export const IPV6_RECVHOPLIMIT = 51;
/** Control message type: the hop limit of a received packet (int). */
export const IPV6_HOPLIMIT = 52;

/** IPPROTO_ICMPV6: which ICMPv6 types a raw socket receives (32 bytes). */
export const ICMP6_FILTER = 1;

/** recv/send flag: do not block this call. */
export const MSG_DONTWAIT = 0x40;
/** recv flag: return the real datagram length even if it was cut. */
export const MSG_TRUNC = 0x20;
/** send flag: no SIGPIPE. */
export const MSG_NOSIGNAL = 0x4000;

/** poll: data to read. */
export const POLLIN = 0x001;
/** poll: error condition. */
export const POLLERR = 0x008;
/** poll: hang up. */
export const POLLHUP = 0x010;
/** poll: fd not open. */
export const POLLNVAL = 0x020;

/** eventfd flag: non-blocking reads and writes (= O_NONBLOCK). */
export const EFD_NONBLOCK = 0o4000;
/** eventfd flag: closed on exec (= O_CLOEXEC). */
export const EFD_CLOEXEC = 0o2000000;

/** EtherType: ARP. */
export const ETH_P_ARP = 0x0806;
/** EtherType: IPv4. */
export const ETH_P_IP = 0x0800;
/** EtherType: IPv6. */
export const ETH_P_IPV6 = 0x86dd;

/** Longest interface name including the NUL (IFNAMSIZ). */
export const IFNAMSIZ = 16;
