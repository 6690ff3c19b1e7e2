/**
 * The kernel's front door: libc through Deno FFI, the one kernel error
 * class ({@link SysError}) with its kinds ({@link isNotExist} ...), sockets
 * that never block the event loop, and sockaddr byte helpers. Address text
 * is `lib/ip`'s.
 *
 * Needs `--allow-ffi` at first use (the libc handle opens lazily). Raw and
 * packet sockets need CAP_NET_RAW; netlink writes need CAP_NET_ADMIN.
 *
 * ```ts
 * import { AF_INET, IPPROTO_VRRP, openSocket, SOCK_RAW } from "./lib/sys/mod.ts";
 * using sock = openSocket(AF_INET, SOCK_RAW, IPPROTO_VRRP);
 * const got = await sock.recv({ timeoutMs: 1000 }); // null on timeout
 * ```
 *
 * @module
 */

export {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_PACKET,
  AF_UNIX,
  ETH_P_ARP,
  ICMP6_FILTER,
  IFNAMSIZ,
  IP_ADD_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TTL,
  IPPROTO_ICMPV6,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_VRRP,
  IPV6_HOPLIMIT,
  IPV6_JOIN_GROUP,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_PKTINFO,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  IPV6_UNICAST_HOPS,
  NETLINK_ROUTE,
  SO_BINDTODEVICE,
  SO_PEERCRED,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  SOL_NETLINK,
  SOL_SOCKET,
} from "./_constants.ts";
export {
  checkIfindex,
  Errno,
  errnoHint,
  type ErrnoName,
  errnoName,
  errnoOf,
  isExist,
  isNotExist,
  isPermission,
  isTimeout,
  isTransient,
  SysError,
  type SysErrorOptions,
} from "./_errno.ts";
export {
  interfaceIndex,
  interfaceName,
  openSocket,
  type Received,
  type ReceivedMessage,
  type RecvOptions,
  Socket,
} from "./_socket.ts";
export {
  CMSG_HEADER_SIZE,
  cmsgAlign,
  cmsgSpace,
  type ControlMessage,
  encodeControlMessages,
  ipv6HopLimit,
  type Ipv6PacketInfo,
  ipv6PacketInfo,
  parseControlMessages,
} from "./_cmsg.ts";
export {
  intOption,
  ipMreqn,
  ipv6Mreq,
  parseSockaddrIn,
  parseSockaddrIn6,
  parseSockaddrNl,
  type SockaddrIn,
  sockaddrIn,
  type SockaddrIn6,
  sockaddrIn6,
  sockaddrLl,
  sockaddrNl,
  sockaddrUn,
  SUN_PATH_MAX,
} from "./_addr.ts";
export {
  alarmPending,
  cancelAlarm,
  isDumpable,
  libcFunctionAddress,
  noNewPrivs,
  SA_ONSTACK,
  SA_RESTART,
  setDumpable,
  setNoNewPrivs,
  setSignalAction,
  SIG_DFL,
  SIG_IGN,
  Signal,
  type SignalAction,
  signalAction,
} from "./_process.ts";
export {
  type AbstractName,
  abstractNameHolder,
  holdAbstractName,
  type PeerCredentials,
} from "./_unix.ts";
export {
  type RealtimeResult,
  realtimeThreads,
  realtimeTimeLimit,
  RTTIME_LIMIT_US,
  SCHED_FIFO,
  SCHED_OTHER,
  SCHED_RR,
  schedulingPolicy,
  setRealtimePriority,
} from "./_sched.ts";
export {
  denySyscallsFilter,
  installSeccompFilter,
  nativeSeccompArch,
  SECCOMP_ARCHES,
  type SeccompArch,
} from "./_seccomp.ts";
