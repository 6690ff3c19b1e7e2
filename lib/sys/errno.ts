/**
 * Linux errno numbers, their names, operator hints and {@link SysError}.
 *
 * @module
 */

/** Linux (x86_64 / generic) errno numbers used by the kernel layer. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOSPC: 28,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOMSG: 42,
  ENODATA: 61,
  ETIME: 62,
  EPROTO: 71,
  EBADMSG: 74,
  EOVERFLOW: 75,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  EOPNOTSUPP: 95,
  EPFNOSUPPORT: 96,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENETRESET: 102,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
} as const;

/** One of the errno names in {@link Errno}. */
export type ErrnoName = keyof typeof Errno;

const NAMES = new Map<number, string>(
  Object.entries(Errno).map(([name, no]) => [no, name]),
);

/** The symbolic name of an errno (`17` -> `"EEXIST"`), `"E?<n>"` if unknown. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `E?${errno}`;
}

const HINTS: Partial<Record<ErrnoName, string>> = {
  EPERM: "needs CAP_NET_ADMIN / CAP_NET_RAW (run as root)",
  EACCES: "needs CAP_NET_RAW / CAP_NET_ADMIN (run as root)",
  ENOENT: "no such object (interface, address or route)",
  ENODEV: "no such network interface",
  EEXIST: "already exists (replace it instead of adding it)",
  EADDRNOTAVAIL:
    "the address is not configured on that interface (or is not local)",
  ENETUNREACH:
    "no route: set the outgoing interface (e.g. IP_MULTICAST_IF) or check that the interface is up",
  ENETDOWN: "the interface is down",
  EHOSTUNREACH: "no route to the host",
  ENOBUFS: "kernel buffers exhausted (transient: retry)",
  EAGAIN: "would block (transient: retry)",
  EINTR: "interrupted by a signal (transient: retry)",
  EINVAL:
    "invalid argument (prefix length, address family, option or message layout)",
  EAFNOSUPPORT: "address family not supported (IPv6 disabled?)",
  EPROTONOSUPPORT: "protocol not supported by this kernel",
  EMSGSIZE: "message larger than the buffer or the interface MTU",
  EBADF: "the socket is already closed",
  EADDRINUSE: "the address or port is already in use",
  EMFILE: "too many open files in this process",
  ENFILE: "too many open files in the system",
  ENOMEM: "kernel out of memory",
  EOPNOTSUPP: "operation not supported on this socket or interface",
};

/** A short hint for an operator, or `undefined` when there is none. */
export function errnoHint(errno: number): string | undefined {
  const name = NAMES.get(errno);
  return name === undefined ? undefined : HINTS[name as ErrnoName];
}

/**
 * A failed libc call: the operation, errno number and name, and a hint.
 *
 * When the errno came from `errno` itself (not in-band, e.g. from
 * `SO_ERROR` or a netlink ACK) it is right almost always but not always:
 * use it for messages and not as the only input to control flow.
 */
export class SysError extends Error {
  /** What was attempted, e.g. `"bind AF_NETLINK socket"`. */
  readonly op: string;
  /** The errno number (positive), 0 if unknown. */
  readonly errno: number;
  /** The errno name, e.g. `"EPERM"`. */
  readonly code: string;
  /** An operator hint, if one is known for this errno. */
  readonly hint: string | undefined;

  /** `op` says what was attempted; `errno` is positive. */
  constructor(op: string, errno: number, options?: { cause?: unknown }) {
    const code = errnoName(errno);
    const hint = errnoHint(errno);
    super(
      `${op}: ${code} (errno ${errno})${hint === undefined ? "" : `: ${hint}`}`,
      options,
    );
    this.name = "SysError";
    this.op = op;
    this.errno = errno;
    this.code = code;
    this.hint = hint;
  }
}
