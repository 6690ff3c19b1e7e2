/**
 * A thin socket over libc that never blocks the event loop.
 *
 * Every fd is created with SOCK_NONBLOCK|SOCK_CLOEXEC. Waiting happens in a
 * `poll` declared `nonblocking: true` (a pool thread); reading happens
 * synchronously on the main thread with MSG_DONTWAIT once poll says data is
 * there. A pending native poll cannot be interrupted from JavaScript, so the
 * socket polls an `eventfd` beside its fd: an abort of the waiting `recv`,
 * or `close`, writes to it and the wait ends at once. The process sleeps
 * until a datagram, its deadline or an event, never in short slices (issue
 * 12: the VRRP loop used to wake every 50 ms to notice events). Without an
 * eventfd (it could not be created) it falls back to slices of
 * {@link MAX_POLL_SLICE_MS}. Errors that decide control
 * flow come in-band (return values, poll revents, SO_ERROR), never from
 * errno alone; errno is only used to word messages.
 *
 * @module
 */

import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_PACKET,
  AF_UNIX,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  IFNAMSIZ,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_TRUNC,
  POLLERR,
  POLLIN,
  POLLNVAL,
  SO_ERROR,
  SO_PEERCRED,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCK_STREAM,
  SOL_SOCKET,
} from "./_constants.ts";
import { type ControlMessage, parseControlMessages } from "./_cmsg.ts";
import { Errno, SysError } from "./_errno.ts";
import { lastErrno, libc } from "./_libc.ts";
import { realtimeThreads } from "./_sched.ts";
import type { PeerCredentials } from "./_unix.ts";

/**
 * Longest single wait in native code without a wake-up eventfd. A pending
 * nonblocking call keeps the process alive and pins its buffer, so shutdown
 * waits at most this long.
 */
export const MAX_POLL_SLICE_MS = 200;

/**
 * Longest single wait in native code with a wake-up eventfd (events and
 * close end it at once): a safety net only, so that a lost wake-up costs
 * at most this much.
 */
const MAX_WAKEABLE_WAIT_MS = 30_000;

/**
 * Linux lets a poll timeout run late by 0.1 % of its length (timer slack,
 * `select_estimate_accuracy`): 1 ms on a 1 s wait, which made adverts drift
 * and jitter. A long wait stops this much short of its end and finishes
 * with a short poll, whose slack is the thread's 50 µs. Realtime threads
 * have no slack: there one poll does (one wake-up less per wait).
 */
const FINAL_WAIT_MS = 20;

/** The 8-byte counter increment written to the wake-up eventfd. */
const ONE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

/** Size of `struct sockaddr_storage`: room for any source address. */
const SOCKADDR_STORAGE_SIZE = 128;

/** recv() gives up (with an error) after this many readable-but-empty polls in a row. */
const MAX_SPURIOUS_WAKEUPS = 16;

/** Options of {@link Socket.recv}. */
export interface RecvOptions {
  /** How long to wait for a datagram, in ms (0 = only what is queued). */
  timeoutMs: number;
  /** Receive buffer size; longer datagrams are cut and flagged. Default 65536. */
  maxBytes?: number;
  /** Stops waiting (resolves `null`) as soon as it aborts. */
  signal?: AbortSignal;
  /**
   * Longest single wait in native code, ms. Default: until the timeout
   * (with the wake-up eventfd) or {@link MAX_POLL_SLICE_MS} (without).
   */
  sliceMs?: number;
}

/** One received datagram. */
export interface Received {
  /** The datagram (at most `maxBytes` of it). */
  data: Uint8Array;
  /** The raw source sockaddr (parse with `parseSockaddrIn` etc.). */
  from: Uint8Array;
  /** True when the datagram was longer than `maxBytes` and was cut. */
  truncated: boolean;
}

/** One datagram received with `recvmsg`, with its ancillary data. */
export interface ReceivedMessage extends Received {
  /** The control messages (`IPV6_HOPLIMIT`, `IPV6_PKTINFO`, ...). */
  control: ControlMessage[];
  /** True when control messages did not fit (`MSG_CTRUNC`). */
  controlTruncated: boolean;
}

/** Size of `struct msghdr` on 64-bit Linux. */
const MSGHDR_SIZE = 56;
/** Room for the control messages VRRP asks for (hop limit, pktinfo). */
const CONTROL_SIZE = 128;
/** recvmsg flag: control data was cut. */
const MSG_CTRUNC = 0x8;

const FAMILY_NAMES: Record<number, string> = {
  [AF_UNIX]: "AF_UNIX",
  [AF_INET]: "AF_INET",
  [AF_INET6]: "AF_INET6",
  [AF_NETLINK]: "AF_NETLINK",
  [AF_PACKET]: "AF_PACKET",
};
const TYPE_NAMES: Record<number, string> = {
  [SOCK_STREAM]: "SOCK_STREAM",
  [SOCK_DGRAM]: "SOCK_DGRAM",
  [SOCK_RAW]: "SOCK_RAW",
};

function describe(domain: number, type: number, protocol: number): string {
  return `${FAMILY_NAMES[domain] ?? domain}/${
    TYPE_NAMES[type] ?? type
  }/${protocol}`;
}

/**
 * An open socket. Create with {@link openSocket} (or `Socket.open`);
 * release with {@link Socket.close} (idempotent) or `using`.
 */
export class Socket {
  readonly #fd: number;
  readonly #label: string;
  readonly #closeOffThread: boolean;
  readonly #released = Promise.withResolvers<void>();
  #closed = false;
  #fdClosed = false;
  #polling = false;
  #receiving = false;
  /** The wake-up eventfd, created by the first wait; -1: none (yet). */
  #efd = -1;
  #rx: Uint8Array = new Uint8Array(0);
  readonly #from = new Uint8Array(SOCKADDR_STORAGE_SIZE);
  readonly #fromLen = new Uint32Array(1);
  readonly #control = new Uint8Array(CONTROL_SIZE);

  /** Opens a socket; see {@link openSocket}. */
  static open(domain: number, type: number, protocol: number): Socket {
    return openSocket(domain, type, protocol);
  }

  /**
   * Wraps an fd this object now owns. Prefer {@link openSocket}.
   * `closeOffThread` makes {@link close} run `close(2)` on a pool thread,
   * for sockets whose close is slow (AF_PACKET).
   */
  constructor(fd: number, label: string, closeOffThread = false) {
    this.#fd = fd;
    this.#label = label;
    this.#closeOffThread = closeOffThread;
  }

  /** The file descriptor. Throws a `SysError` (EBADF) once closed. */
  get fd(): number {
    this.#assertOpen("fd");
    return this.#fd;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** `"AF_PACKET/SOCK_DGRAM/0"` and the like, for messages. */
  get label(): string {
    return this.#label;
  }

  /** `setsockopt(level, name, value)`; throws a `SysError` on failure. */
  setsockopt(level: number, name: number, value: Uint8Array): void {
    this.#assertOpen("setsockopt");
    const rc = libc().setsockopt(this.#fd, level, name, value, value.length);
    if (rc !== 0) {
      throw new SysError(
        `setsockopt(level ${level}, option ${name}) on ${this.#label}`,
        lastErrno(),
      );
    }
  }

  /** `setsockopt` with a host-order `int` value. */
  setsockoptInt(level: number, name: number, value: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, value, true);
    this.setsockopt(level, name, b);
  }

  /** `getsockopt` of a host-order `int` option. */
  getsockoptInt(level: number, name: number): number {
    this.#assertOpen("getsockopt");
    const b = new Uint8Array(4);
    const len = new Uint32Array([4]);
    const rc = libc().getsockopt(this.#fd, level, name, b, len);
    if (rc !== 0) {
      throw new SysError(
        `getsockopt(level ${level}, option ${name}) on ${this.#label}`,
        lastErrno(),
      );
    }
    return new DataView(b.buffer).getInt32(0, true);
  }

  /** Reads and clears the pending socket error (SO_ERROR); 0 if none. */
  pendingError(): number {
    return this.getsockoptInt(SOL_SOCKET, SO_ERROR);
  }

  /** `bind(sockaddr)`; throws a `SysError` on failure. */
  bind(sockaddr: Uint8Array): void {
    this.#assertOpen("bind");
    const rc = libc().bind(this.#fd, sockaddr, sockaddr.length);
    if (rc !== 0) throw new SysError(`bind ${this.#label}`, lastErrno());
  }

  /** `getsockname`: the bound local address as raw sockaddr bytes. */
  localAddress(): Uint8Array {
    this.#assertOpen("getsockname");
    const buf = new Uint8Array(SOCKADDR_STORAGE_SIZE);
    const len = new Uint32Array([buf.length]);
    const rc = libc().getsockname(this.#fd, buf, len);
    if (rc !== 0) throw new SysError(`getsockname ${this.#label}`, lastErrno());
    return buf.slice(0, Math.min(len[0], buf.length));
  }

  /**
   * Sends one datagram without blocking (`MSG_DONTWAIT|MSG_NOSIGNAL`) to
   * `to` (raw sockaddr bytes), or to the connected/default peer when `to` is
   * omitted. Returns the bytes sent; throws a `SysError` on failure (its
   * errno is best effort: EAGAIN/ENOBUFS mean "try again later").
   */
  sendTo(data: Uint8Array, to?: Uint8Array | null): number {
    this.#assertOpen("sendto");
    const rc = Number(
      libc().sendto(
        this.#fd,
        data,
        BigInt(data.length),
        MSG_DONTWAIT | MSG_NOSIGNAL,
        to ?? null,
        to?.length ?? 0,
      ),
    );
    if (rc < 0) throw new SysError(`sendto on ${this.#label}`, lastErrno());
    return rc;
  }

  /**
   * Receives one datagram if one is queued right now, else returns `null`.
   * Never waits. Throws a `SysError` for a pending socket error.
   */
  tryRecv(maxBytes = 65536): Received | null {
    if (this.#closed) return null;
    const revents = this.#pollNow();
    if (revents === 0) return null;
    return this.#readReady(revents, maxBytes).received;
  }

  /**
   * Waits up to `timeoutMs` for one datagram without blocking the event
   * loop. Resolves `null` on timeout, on abort, or when the socket is
   * closed meanwhile; throws a `SysError` for a socket error. Only one
   * `recv` may be pending per socket.
   */
  async recv(options: RecvOptions): Promise<Received | null> {
    const maxBytes = checkMaxBytes(options.maxBytes ?? 65536);
    return await this.#waitFor(
      "recvfrom",
      options,
      (revents) => this.#readReady(revents, maxBytes),
    );
  }

  /**
   * Like {@link recv}, with `recvmsg`: also hands back the control
   * messages the socket was asked for (`IPV6_RECVHOPLIMIT`, ...).
   */
  async recvMsg(options: RecvOptions): Promise<ReceivedMessage | null> {
    const maxBytes = checkMaxBytes(options.maxBytes ?? 65536);
    return await this.#waitFor(
      "recvmsg",
      options,
      (revents) => this.#readMessage(revents, maxBytes),
    );
  }

  /** `listen(backlog)` on a stream socket; throws a `SysError`. */
  listen(backlog = 16): void {
    this.#assertOpen("listen");
    const rc = libc().listen(this.#fd, backlog);
    if (rc !== 0) throw new SysError(`listen on ${this.#label}`, lastErrno());
  }

  /**
   * Waits up to `timeoutMs` for a connection on a listening socket and
   * accepts it (non-blocking, close-on-exec). Resolves `null` on timeout,
   * abort or close; throws a `SysError` for a socket error.
   */
  async accept(
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<Socket | null> {
    return await this.#waitFor("accept", options, (revents) => {
      this.#checkRevents(revents, "accept");
      const fd = libc().accept4(
        this.#fd,
        null,
        null,
        SOCK_NONBLOCK | SOCK_CLOEXEC,
      );
      if (fd < 0) return { received: null, errno: lastErrno() };
      return {
        received: new Socket(fd, `${this.#label} (accepted)`),
        errno: 0,
      };
    });
  }

  /** The credentials of a unix socket's peer (`SO_PEERCRED`). */
  peerCredentials(): Required<PeerCredentials> {
    this.#assertOpen("getsockopt");
    const b = new Uint8Array(12);
    const len = new Uint32Array([12]);
    const rc = libc().getsockopt(this.#fd, SOL_SOCKET, SO_PEERCRED, b, len);
    if (rc !== 0 || len[0] < 12) {
      throw new SysError(`SO_PEERCRED on ${this.#label}`, lastErrno());
    }
    const v = new DataView(b.buffer);
    return {
      pid: v.getInt32(0, true),
      uid: v.getUint32(4, true),
      gid: v.getUint32(8, true),
    };
  }

  /**
   * The wait loop every receive shares: poll without blocking the event
   * loop, then `read` on the main thread once poll says so.
   */
  async #waitFor<T>(
    op: string,
    options: { timeoutMs: number; signal?: AbortSignal; sliceMs?: number },
    read: (revents: number) => { received: T | null; errno: number },
  ): Promise<T | null> {
    if (this.#receiving) {
      throw new Error(`${op} already pending on ${this.#label}`);
    }
    this.#receiving = true;
    const wake = () => this.#wake();
    options.signal?.addEventListener("abort", wake);
    try {
      const deadline = performance.now() + Math.max(0, options.timeoutMs);
      let spurious = 0;
      while (true) {
        if (this.#closed || options.signal?.aborted) return null;
        const revents = this.#pollNow();
        if (revents !== 0) {
          const { received, errno } = read(revents);
          if (received !== null) return received;
          // Readable but nothing read (EAGAIN after a dropped packet, ...).
          if (++spurious > MAX_SPURIOUS_WAKEUPS) {
            throw new SysError(`${op} on ${this.#label}`, errno);
          }
          continue;
        }
        spurious = 0;
        const remaining = deadline - performance.now();
        if (remaining <= 0) return null;
        const cap = this.#wakeFd() >= 0
          ? MAX_WAKEABLE_WAIT_MS
          : MAX_POLL_SLICE_MS;
        const slice = Math.min(options.sliceMs ?? cap, cap);
        const precise = remaining > 2 * FINAL_WAIT_MS && !realtimeThreads()
          ? remaining - FINAL_WAIT_MS
          : remaining;
        await this.#pollWait(Math.min(precise, slice));
      }
    } finally {
      options.signal?.removeEventListener("abort", wake);
      this.#receiving = false;
    }
  }

  /**
   * Closes the socket without waiting. Idempotent; every later call on it
   * fails with EBADF (recv resolves `null`). If a `recv` is waiting in
   * native poll, the fd itself is closed when that poll slice ends (so the
   * number cannot be reused under it). AF_PACKET fds are closed on a pool
   * thread (their close takes milliseconds): use {@link closeAsync} to
   * know when the fd is really gone.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#polling) this.#wake();
    else this.#closeFd();
  }

  /** {@link close}, resolving once the fd is released. Never rejects. */
  closeAsync(): Promise<void> {
    this.close();
    return this.#released.promise;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Same as {@link closeAsync}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.closeAsync();
  }

  #closeFd(): void {
    if (this.#fdClosed) return;
    this.#fdClosed = true;
    if (this.#efd >= 0) libc().close(this.#efd);
    // Never retried: on Linux the fd is gone even when close reports EINTR.
    if (this.#closeOffThread) {
      libc().close_nb(this.#fd).then(
        () => this.#released.resolve(),
        () => this.#released.resolve(),
      );
    } else {
      libc().close(this.#fd);
      this.#released.resolve();
    }
  }

  #assertOpen(op: string): void {
    if (this.#closed) {
      throw new SysError(`${op} on closed ${this.#label}`, Errno.EBADF);
    }
  }

  #pollfd(withWake = false): Uint8Array {
    const fds = withWake && this.#efd >= 0 ? [this.#fd, this.#efd] : [this.#fd];
    const pfd = new Uint8Array(8 * fds.length);
    const v = new DataView(pfd.buffer);
    fds.forEach((fd, i) => {
      v.setInt32(8 * i, fd, true);
      v.setInt16(8 * i + 4, POLLIN, true);
    });
    return pfd;
  }

  /** The wake-up eventfd, created on first use; -1 when there is none. */
  #wakeFd(): number {
    if (this.#efd < 0 && !this.#closed) {
      // -1 (no eventfd: an old seccomp profile...): slices instead.
      this.#efd = Math.max(-1, libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    }
    return this.#efd;
  }

  /** Ends a pending poll at once (a no-op without an eventfd). */
  #wake(): void {
    if (this.#efd >= 0 && !this.#fdClosed) libc().write(this.#efd, ONE, 8n);
  }

  /** Synchronous poll with timeout 0: the revents, 0 if nothing. */
  #pollNow(): number {
    const pfd = this.#pollfd();
    const n = libc().poll_now(pfd, 1n, 0);
    if (n <= 0) return 0; // -1 is EINTR/ENOMEM: the caller polls again
    return new DataView(pfd.buffer).getInt16(6, true);
  }

  async #pollWait(ms: number): Promise<void> {
    // pfd stays referenced by this frame until the native call returns.
    const pfd = this.#pollfd(true);
    const n = BigInt(pfd.length / 8);
    this.#polling = true;
    try {
      await libc().poll(pfd, n, Math.max(1, Math.ceil(ms)));
    } finally {
      this.#polling = false;
      if (this.#closed) this.#closeFd();
      else if (n > 1n && new DataView(pfd.buffer).getInt16(14, true) !== 0) {
        // Woken: reset the counter (one read empties it).
        libc().read(this.#efd, new Uint8Array(8), 8n);
      }
    }
  }

  #checkRevents(revents: number, op: string): void {
    if (revents & POLLNVAL) {
      throw new SysError(`poll on ${this.#label}`, Errno.EBADF);
    }
    if (revents & POLLERR) {
      const err = this.pendingError();
      if (err !== 0) throw new SysError(`${op} on ${this.#label}`, err);
    }
  }

  #readReady(
    revents: number,
    maxBytes: number,
  ): { received: Received | null; errno: number } {
    this.#checkRevents(revents, "recvfrom");
    if (this.#rx.length !== maxBytes) this.#rx = new Uint8Array(maxBytes);
    this.#fromLen[0] = this.#from.length;
    const n = Number(
      libc().recvfrom(
        this.#fd,
        this.#rx,
        BigInt(maxBytes),
        MSG_DONTWAIT | MSG_TRUNC,
        this.#from,
        this.#fromLen,
      ),
    );
    if (n < 0) return { received: null, errno: lastErrno() };
    return {
      received: {
        data: this.#rx.slice(0, Math.min(n, maxBytes)),
        from: this.#from.slice(
          0,
          Math.min(this.#fromLen[0], this.#from.length),
        ),
        truncated: n > maxBytes,
      },
      errno: 0,
    };
  }

  #readMessage(
    revents: number,
    maxBytes: number,
  ): { received: ReceivedMessage | null; errno: number } {
    this.#checkRevents(revents, "recvmsg");
    if (this.#rx.length !== maxBytes) this.#rx = new Uint8Array(maxBytes);
    // The pointers in msghdr/iovec refer to buffers this object keeps
    // alive; recvmsg runs synchronously, so none can move meanwhile.
    const iov = new Uint8Array(16);
    const iv = new DataView(iov.buffer);
    iv.setBigUint64(0, pointerValue(this.#rx), true);
    iv.setBigUint64(8, BigInt(maxBytes), true);
    const hdr = new Uint8Array(MSGHDR_SIZE);
    const hv = new DataView(hdr.buffer);
    hv.setBigUint64(0, pointerValue(this.#from), true);
    hv.setUint32(8, this.#from.length, true);
    hv.setBigUint64(16, pointerValue(iov), true);
    hv.setBigUint64(24, 1n, true);
    hv.setBigUint64(32, pointerValue(this.#control), true);
    hv.setBigUint64(40, BigInt(this.#control.length), true);
    const n = Number(
      libc().recvmsg(this.#fd, hdr, MSG_DONTWAIT | MSG_TRUNC),
    );
    if (n < 0) return { received: null, errno: lastErrno() };
    const fromLen = hv.getUint32(8, true);
    const controlLen = Number(hv.getBigUint64(40, true));
    const flags = hv.getInt32(48, true);
    const control = this.#control.slice(
      0,
      Math.min(controlLen, this.#control.length),
    );
    return {
      received: {
        data: this.#rx.slice(0, Math.min(n, maxBytes)),
        from: this.#from.slice(0, Math.min(fromLen, this.#from.length)),
        truncated: n > maxBytes,
        control: parseControlMessages(control),
        controlTruncated: (flags & MSG_CTRUNC) !== 0,
      },
      errno: 0,
    };
  }
}

function pointerValue(buf: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
}

function checkMaxBytes(maxBytes: number): number {
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError(
      `maxBytes must be a positive integer, got ${maxBytes}`,
    );
  }
  return maxBytes;
}

/**
 * `socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol)`.
 * Throws a `SysError` (EPERM/EACCES without CAP_NET_RAW, EAFNOSUPPORT, ...).
 */
export function openSocket(
  domain: number,
  type: number,
  protocol: number,
): Socket {
  const label = describe(domain, type, protocol);
  const fd = libc().socket(
    domain,
    type | SOCK_NONBLOCK | SOCK_CLOEXEC,
    protocol,
  );
  if (fd < 0) throw new SysError(`socket ${label}`, lastErrno());
  return new Socket(fd, label, domain === AF_PACKET);
}

/**
 * `if_nametoindex(name)` in the caller's network namespace. Throws a
 * `SysError` (ENODEV) when there is no such interface.
 */
export function interfaceIndex(name: string): number {
  const op = `find interface ${JSON.stringify(name)}`;
  const bytes = new TextEncoder().encode(name);
  if (bytes.length === 0 || bytes.length >= IFNAMSIZ || bytes.includes(0)) {
    throw new SysError(op, Errno.ENODEV);
  }
  const cstr = new Uint8Array(bytes.length + 1);
  cstr.set(bytes);
  const index = libc().if_nametoindex(cstr);
  if (index === 0) {
    const e = lastErrno();
    throw new SysError(op, e === 0 ? Errno.ENODEV : e);
  }
  return index;
}

/**
 * `if_indextoname(index)`; throws a `SysError` (ENXIO/ENODEV) when no
 * interface has that index.
 */
export function interfaceName(index: number): string {
  const buf = new Uint8Array(IFNAMSIZ);
  const p = libc().if_indextoname(index, buf);
  if (p === null) {
    const e = lastErrno();
    throw new SysError(`find interface #${index}`, e === 0 ? Errno.ENODEV : e);
  }
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
}
