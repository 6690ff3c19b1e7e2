/**
 * The netlink connection: a transport (the socket, or a fake one in
 * tests, the way mdlayher/netlink's `nltest.Dial` plugs a function in), and
 * over it request/reply exchanges. Every request carries NLM_F_ACK and a
 * fresh sequence number; replies are matched on sequence number and our
 * port id (stale replies of a request that timed out are skipped), and read
 * until ACK, error or DONE, with a deadline instead of a hang.
 *
 * @module
 */
import {
  AF_NETLINK,
  Errno,
  NETLINK_ROUTE,
  openSocket,
  parseSockaddrNl,
  SOCK_RAW,
  sockaddrNl,
  SOL_NETLINK,
  SysError,
} from "../sys/mod.ts";
import { NetlinkDecodeError } from "./_attributes.ts";
import {
  decodeDone,
  decodeError,
  decodeMessages,
  type NetlinkMessage,
  NLM_F_DUMP_INTR,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
} from "./_message.ts";

/** Default time to wait for the kernel's answer to one request. */
export const DEFAULT_TIMEOUT_MS = 3000;

const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const RECV_BYTES = 65536;
const DUMP_ATTEMPTS = 3;

/** Operator hints for netlink errnos (the generic ones are in lib/sys). */
const NETLINK_HINTS: Partial<Record<number, string>> = {
  [Errno.EPERM]: "needs CAP_NET_ADMIN (run as root)",
  [Errno.EACCES]: "needs CAP_NET_ADMIN (run as root)",
  [Errno.EEXIST]:
    "the address is already on the interface (replace it instead of adding it)",
  [Errno.EADDRNOTAVAIL]: "the address is not on that interface",
  [Errno.ENODEV]: "no such network interface",
  [Errno.ETIMEDOUT]: "the kernel did not answer in time",
};

/** A netlink failure as the one kernel error class, with netlink's hints. */
export function netlinkError(
  op: string,
  errno: number,
  options: { hint?: string; kernelMessage?: string; cause?: unknown } = {},
): SysError {
  return new SysError(op, errno, {
    ...options,
    hint: options.hint ?? NETLINK_HINTS[errno],
  });
}

/** One datagram as a transport delivers it. */
export interface NetlinkDatagram {
  /** The bytes (one or more netlink messages). */
  data: Uint8Array;
  /** Whether the sender is the kernel (port 0); others are ignored. */
  fromKernel: boolean;
  /** Whether it was longer than the receive buffer. */
  truncated: boolean;
}

/**
 * What the connection needs of a netlink socket: the seam for a fake
 * kernel. The real one is {@link openNetlinkTransport}.
 */
export interface NetlinkTransport extends Disposable {
  /** Our port id: replies to us carry it. */
  readonly portId: number;
  /** Whether {@link close} was called. */
  readonly closed: boolean;
  /** Sends one datagram to the kernel; throws a `SysError`. */
  send(data: Uint8Array): void;
  /** One datagram, or null on timeout, abort or close. Throws a `SysError`. */
  recv(
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<NetlinkDatagram | null>;
  /** Closes the socket (idempotent). */
  close(): void;
}

/**
 * Opens and binds a NETLINK_ROUTE socket in the caller's namespace;
 * `groups` subscribes it to multicast groups (a bit mask of
 * `1 << (RTNLGRP_* - 1)`). Throws a `SysError`.
 */
export function openNetlinkTransport(groups = 0): NetlinkTransport {
  const sock = openSocket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  try {
    for (const opt of [NETLINK_EXT_ACK, NETLINK_CAP_ACK]) {
      try {
        sock.setsockoptInt(SOL_NETLINK, opt, 1);
      } catch {
        // Older kernels: plain errno without text / with the echo.
      }
    }
    sock.bind(sockaddrNl({ groups }));
    const { pid } = parseSockaddrNl(sock.localAddress());
    const kernel = sockaddrNl();
    return {
      portId: pid,
      get closed() {
        return sock.closed;
      },
      send: (data) => void sock.sendTo(data, kernel),
      async recv({ timeoutMs, signal }) {
        const got = await sock.recv({
          timeoutMs,
          signal,
          maxBytes: RECV_BYTES,
        });
        if (got === null) return null;
        const fromKernel = parseSockaddrNl(got.from).pid === 0;
        return { data: got.data, fromKernel, truncated: got.truncated };
      },
      close: () => sock.close(),
      [Symbol.dispose]: () => sock.close(),
    };
  } catch (err) {
    sock.close();
    if (err instanceof SysError) {
      throw netlinkError("open netlink socket", err.errno, { cause: err });
    }
    throw err;
  }
}

/** Options of {@link NetlinkConn.request}. */
export interface ExchangeOptions {
  /** A dump (repeated when the kernel flags it interrupted). */
  dump: boolean;
  /** How long to wait for the kernel (default 3000 ms). */
  timeoutMs?: number;
}

/** Requests and their replies over one transport, one at a time. */
export class NetlinkConn {
  readonly #t: NetlinkTransport;
  #seq: number;
  #queue: Promise<unknown> = Promise.resolve();

  /** Takes ownership of `transport`. */
  constructor(transport: NetlinkTransport) {
    this.#t = transport;
    // A random start keeps replies meant for an earlier socket with the
    // same port id from ever matching.
    this.#seq = crypto.getRandomValues(new Uint32Array(1))[0] >>> 1;
  }

  /** Closes the transport (idempotent). */
  close(): void {
    this.#t.close();
  }

  /**
   * Sends the request `build(seq)` and collects its replies (serialized per
   * connection). Throws a `SysError` named after `op`.
   */
  request(
    op: string,
    build: (seq: number) => Uint8Array,
    options: ExchangeOptions,
  ): Promise<NetlinkMessage[]> {
    const run = async () => {
      for (let attempt = 1;; attempt++) {
        const { messages, interrupted } = await this.#exchange(
          op,
          build,
          options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        );
        if (!options.dump || !interrupted) return messages;
        if (attempt >= DUMP_ATTEMPTS) {
          throw netlinkError(op, Errno.EINTR, {
            hint:
              `the dump was interrupted by changes ${attempt} times in a row`,
          });
        }
      }
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => {});
    return p;
  }

  async #exchange(
    op: string,
    build: (seq: number) => Uint8Array,
    timeoutMs: number,
  ): Promise<{ messages: NetlinkMessage[]; interrupted: boolean }> {
    this.#seq = (this.#seq + 1) >>> 0;
    const seq = this.#seq;
    try {
      this.#t.send(build(seq));
      const reply = new ReplyCollector(op, seq, this.#t.portId);
      const deadline = performance.now() + timeoutMs;
      while (true) {
        const remaining = deadline - performance.now();
        const got = remaining > 0
          ? await this.#t.recv({ timeoutMs: remaining })
          : null;
        if (got === null) throw this.#noAnswer(op, timeoutMs);
        if (got.truncated) {
          throw netlinkError(op, Errno.EMSGSIZE, {
            hint: `a reply was longer than ${RECV_BYTES} bytes`,
          });
        }
        // Only the kernel (port 0) may answer.
        if (got.fromKernel && reply.add(got.data)) return reply.result;
      }
    } catch (err) {
      throw asNetlinkError(op, err);
    }
  }

  #noAnswer(op: string, timeoutMs: number): SysError {
    if (this.#t.closed) {
      return netlinkError(op, Errno.EBADF, {
        hint: "the netlink socket was closed",
      });
    }
    return netlinkError(op, Errno.ETIMEDOUT, {
      hint: `the kernel did not answer within ${timeoutMs} ms`,
    });
  }
}

/** The replies to one request, until its ACK, error or DONE. */
class ReplyCollector {
  readonly result = {
    messages: [] as NetlinkMessage[],
    interrupted: false,
  };

  constructor(
    readonly op: string,
    readonly seq: number,
    readonly portId: number,
  ) {}

  /** Adds one datagram; true once the reply is complete. Throws errors. */
  add(data: Uint8Array): boolean {
    for (const m of decodeMessages(data)) {
      const h = m.header;
      if (h.seq !== this.seq || h.pid !== this.portId) continue; // stale
      if (h.flags & NLM_F_DUMP_INTR) this.result.interrupted = true;
      switch (h.type) {
        case NLMSG_NOOP:
          continue;
        case NLMSG_ERROR: {
          const e = decodeError(m.payload, h.flags);
          if (e.errno === 0) return true;
          throw netlinkError(this.op, e.errno, { kernelMessage: e.message });
        }
        case NLMSG_DONE: {
          const errno = decodeDone(m.payload);
          if (errno !== 0) throw netlinkError(this.op, errno);
          return true;
        }
        case NLMSG_OVERRUN:
          throw netlinkError(this.op, Errno.ENOBUFS, {
            hint: "netlink overrun: replies were lost",
          });
        default:
          this.result.messages.push(m);
      }
    }
    return false;
  }
}

/** Any failure of an exchange as a `SysError` naming the operation. */
function asNetlinkError(op: string, err: unknown): unknown {
  if (err instanceof SysError && err.op === op) return err;
  if (err instanceof SysError) {
    return netlinkError(op, err.errno, { cause: err });
  }
  if (err instanceof NetlinkDecodeError) {
    return netlinkError(op, Errno.EBADMSG, {
      hint: `the kernel's reply did not decode: ${err.message}`,
      cause: err,
    });
  }
  return err;
}
