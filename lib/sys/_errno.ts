/**
 * Linux errno numbers, their names, operator hints, {@link SysError} (the
 * one kernel error class) and its kinds.
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

/** Options of {@link SysError}. */
export interface SysErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** A hint for this operation, instead of the errno's generic one. */
  hint?: string;
  /** The kernel's own words (netlink extended ACK), if it sent any. */
  kernelMessage?: string;
}

/**
 * The one kernel error of ha-vip: a failed libc call or a netlink request
 * the kernel refused. It keeps the operation, errno number and name, a
 * hint and, for netlink, the kernel's extended-ACK text. Test its kind with
 * {@link isNotExist} and friends, never with its message.
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
  /** The kernel's own message (netlink NLMSGERR_ATTR_MSG), if any. */
  readonly kernelMessage: string | undefined;

  /** `op` says what was attempted; `errno` is positive. */
  constructor(op: string, errno: number, options: SysErrorOptions = {}) {
    const code = errnoName(errno);
    const hint = options.hint ?? errnoHint(errno);
    const km = options.kernelMessage;
    super(
      `${op}: ${code} (errno ${errno})` +
        (km ? `: kernel says "${km}"` : "") +
        (hint === undefined ? "" : `: ${hint}`),
      { cause: options.cause },
    );
    this.name = "SysError";
    this.op = op;
    this.errno = errno;
    this.code = code;
    this.hint = hint;
    this.kernelMessage = km;
  }
}

/** The errno of a {@link SysError}, undefined for any other value. */
export function errnoOf(err: unknown): number | undefined {
  return err instanceof SysError ? err.errno : undefined;
}

function hasErrno(err: unknown, ...errnos: number[]): boolean {
  return err instanceof SysError && errnos.includes(err.errno);
}

/**
 * The object does not exist: no such interface (ENODEV, ENXIO), file
 * (ENOENT), process (ESRCH), or address (EADDRNOTAVAIL: not on that
 * interface, or not local).
 */
export function isNotExist(err: unknown): boolean {
  return hasErrno(
    err,
    Errno.ENOENT,
    Errno.ENODEV,
    Errno.ENXIO,
    Errno.ESRCH,
    Errno.EADDRNOTAVAIL,
  );
}

/** The object exists already (EEXIST). */
export function isExist(err: unknown): boolean {
  return hasErrno(err, Errno.EEXIST);
}

/** A missing capability or permission (EPERM, EACCES). */
export function isPermission(err: unknown): boolean {
  return hasErrno(err, Errno.EPERM, Errno.EACCES);
}

/** No answer in time (ETIMEDOUT). */
export function isTimeout(err: unknown): boolean {
  return hasErrno(err, Errno.ETIMEDOUT);
}

/** Worth trying again later (EAGAIN, EINTR, ENOBUFS). */
export function isTransient(err: unknown): boolean {
  return hasErrno(err, Errno.EAGAIN, Errno.EINTR, Errno.ENOBUFS);
}

/**
 * Checks an interface index (1..2^31-1) before it reaches the kernel;
 * throws a `RangeError` naming it.
 */
export function checkIfindex(ifindex: number): void {
  if (!Number.isInteger(ifindex) || ifindex < 1 || ifindex > 0x7fffffff) {
    throw new RangeError(`ifindex must be a positive integer, got ${ifindex}`);
  }
}
