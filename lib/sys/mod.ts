/**
 * The kernel's front door: libc through Deno FFI, errno, sockets that never
 * block the event loop, and sockaddr / address byte helpers.
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

export * from "./_constants.ts";
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
  lastErrno,
  libc,
  LIBC_SYMBOLS,
  type LibcSymbols,
  strerror,
} from "./_libc.ts";
export {
  interfaceIndex,
  interfaceName,
  MAX_POLL_SLICE_MS,
  openSocket,
  type Received,
  type RecvOptions,
  Socket,
} from "./_socket.ts";
export {
  intOption,
  ipMreqn,
  parseSockaddrIn,
  parseSockaddrIn6,
  parseSockaddrNl,
  SOCKADDR_IN6_SIZE,
  SOCKADDR_IN_SIZE,
  SOCKADDR_LL_SIZE,
  SOCKADDR_NL_SIZE,
  type SockaddrIn,
  sockaddrIn,
  type SockaddrIn6,
  sockaddrIn6,
  sockaddrLl,
  sockaddrNl,
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
  denySyscallsFilter,
  installSeccompFilter,
  nativeSeccompArch,
  SECCOMP_ARCHES,
  type SeccompArch,
} from "./_seccomp.ts";
