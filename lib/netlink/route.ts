/**
 * rtnetlink operations (links and addresses) over an FFI netlink socket.
 *
 * Every request carries NLM_F_ACK and a fresh sequence number; replies are
 * matched on sequence number and our port id (stale replies of a request
 * that timed out are skipped), and read until ACK, error or DONE, with a
 * deadline instead of a hang.
 *
 * @module
 */

import { formatIP, formatMac, parseIP } from "../ip/mod.ts";
import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  Errno,
  errnoHint,
  errnoName,
  interfaceName,
  NETLINK_ROUTE,
  openSocket,
  parseSockaddrNl,
  SOCK_RAW,
  sockaddrNl,
  type Socket,
  SOL_NETLINK,
  SysError,
} from "../sys/mod.ts";
import {
  type AddressMessage,
  decodeAddressMessage,
  decodeDone,
  decodeError,
  decodeLinkMessage,
  decodeMessages,
  deleteAddressRequest,
  getAddressDumpRequest,
  getLinkByIndexRequest,
  getLinkByNameRequest,
  getLinkDumpRequest,
  IFA_F_NODAD,
  IFF_LOWER_UP,
  IFF_UP,
  INFINITY_LIFE_TIME,
  type LinkMessage,
  NetlinkDecodeError,
  type NetlinkMessage,
  newAddressRequest,
  NLM_F_DUMP_INTR,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  type OperState,
  operStateName,
  RTM_NEWADDR,
  RTM_NEWLINK,
} from "./codec.ts";

/** Default time to wait for the kernel's answer to one request. */
export const DEFAULT_TIMEOUT_MS = 3000;

const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const RECV_BYTES = 65536;
const DUMP_ATTEMPTS = 3;
const IFNAMSIZ = 16;

const NETLINK_HINTS: Record<number, string> = {
  [Errno.EPERM]: "needs CAP_NET_ADMIN (run as root)",
  [Errno.EACCES]: "needs CAP_NET_ADMIN (run as root)",
  [Errno.EEXIST]:
    "the address is already on the interface (replace it instead of adding it)",
  [Errno.EADDRNOTAVAIL]: "the address is not on that interface",
  [Errno.ENODEV]: "no such network interface",
  [Errno.ETIMEDOUT]: "the kernel did not answer in time",
};

/**
 * A failed netlink operation: what was attempted, the errno (number and
 * name, in-band from the kernel's NLMSG_ERROR unless it came from the
 * socket itself), a hint, and the kernel's extended-ACK text if any.
 */
export class NetlinkError extends Error {
  /** What was attempted, e.g. `"add address 10.0.0.100/24 on eth0"`. */
  readonly operation: string;
  /** Positive errno. */
  readonly errno: number;
  /** Errno name, e.g. `"EEXIST"`. */
  readonly code: string;
  /** Operator hint. */
  readonly hint: string | undefined;
  /** The kernel's own message (NLMSGERR_ATTR_MSG), if it sent one. */
  readonly kernelMessage: string | undefined;

  /** `operation` as in "add address 10.0.0.100/24 on eth0"; `errno` positive. */
  constructor(
    operation: string,
    errno: number,
    options: { hint?: string; kernelMessage?: string; cause?: unknown } = {},
  ) {
    const code = errnoName(errno);
    const hint = options.hint ?? NETLINK_HINTS[errno] ?? errnoHint(errno);
    const km = options.kernelMessage;
    super(
      `${operation}: ${code} (errno ${errno})` +
        (km ? `: kernel says "${km}"` : "") +
        (hint ? `: ${hint}` : ""),
      { cause: options.cause },
    );
    this.name = "NetlinkError";
    this.operation = operation;
    this.errno = errno;
    this.code = code;
    this.hint = hint;
    this.kernelMessage = km;
  }
}

/** A network interface. */
export interface Link {
  /** Interface index. */
  index: number;
  /** Interface name. */
  name: string;
  /** Hardware address as `"aa:bb:cc:dd:ee:ff"` (`""` if none). */
  mac: string;
  /** Hardware address bytes (empty if none). */
  hardwareAddress: Uint8Array;
  /** MTU. */
  mtu: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier present (IFLA_CARRIER, else IFF_LOWER_UP). */
  carrier: boolean;
  /** RFC 2863 operational state ("up", "down", "unknown", ...). */
  operState: OperState;
  /** Raw IFF_* flags. */
  flags: number;
  /** ARPHRD_* link type (1 = Ethernet). */
  type: number;
}

/** An address on an interface. */
export interface Address {
  /** The local address as text. */
  address: string;
  /** Prefix length. */
  prefixLength: number;
  /** AF_INET (2) or AF_INET6 (10). */
  family: number;
  /** Interface index. */
  ifindex: number;
  /** IPv4 label (`""` if none). */
  label: string;
  /** IFA_F_* flags (IFA_F_SECONDARY, IFA_F_PERMANENT, ...). */
  flags: number;
  /** Valid lifetime left, in s; 0xffffffff = forever. */
  validLft: number;
  /** Preferred lifetime left, in s; 0xffffffff = forever. */
  preferredLft: number;
}

/** Options common to every operation. */
export interface RequestOptions {
  /** How long to wait for the kernel's answer (default 3000 ms). */
  timeoutMs?: number;
}

/** What {@link RouteSocket.replaceAddress} and `addAddress` configure. */
export interface AddressOptions extends RequestOptions {
  /** Interface index. */
  ifindex: number;
  /** IPv4 or IPv6 address text, without the prefix length. */
  address: string;
  /** Prefix length (the subnet's, or 32/128). */
  prefixLength: number;
  /**
   * Valid lifetime in s (1..0xffffffff; 0xffffffff = forever). The kernel
   * removes the address when it runs out: re-send to refresh.
   */
  validLft: number;
  /** Preferred lifetime in s (0 = never used as a source address). */
  preferredLft: number;
  /** IPv4 label (by convention `<interface>:<tag>`, e.g. `eth0:vip`). */
  label?: string;
  /** IPv6: skip duplicate address detection (default true: usable at once). */
  noDad?: boolean;
}

/** What {@link RouteSocket.deleteAddress} removes. */
export interface DeleteAddressOptions extends RequestOptions {
  /** Interface index. */
  ifindex: number;
  /** IPv4 or IPv6 address text. */
  address: string;
  /** Prefix length it was added with. */
  prefixLength: number;
  /** Resolve `false` instead of throwing EADDRNOTAVAIL when it is absent. */
  ignoreMissing?: boolean;
}

function toLink(m: LinkMessage): Link {
  return {
    index: m.ifindex,
    name: m.name,
    mac: formatMac(m.address),
    hardwareAddress: m.address,
    mtu: m.mtu,
    up: (m.flags & IFF_UP) !== 0,
    carrier: m.carrier !== undefined
      ? m.carrier !== 0
      : (m.flags & IFF_LOWER_UP) !== 0,
    operState: operStateName(m.operState),
    flags: m.flags,
    type: m.type,
  };
}

function toAddress(m: AddressMessage): Address | undefined {
  if (m.local === undefined) return undefined;
  return {
    address: formatIP(m.local),
    prefixLength: m.prefixLength,
    family: m.family,
    ifindex: m.ifindex,
    label: m.label ?? "",
    flags: m.flags,
    validLft: m.cacheInfo?.valid ?? INFINITY_LIFE_TIME,
    preferredLft: m.cacheInfo?.preferred ?? INFINITY_LIFE_TIME,
  };
}

function ifaceText(ifindex: number): string {
  try {
    return interfaceName(ifindex);
  } catch {
    return `interface #${ifindex}`;
  }
}

function parseTarget(
  address: string,
  prefixLength: number,
): { family: number; bytes: Uint8Array } {
  const ip = parseIP(address);
  const max = ip.family === 4 ? 32 : 128;
  if (
    !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > max
  ) {
    throw new RangeError(
      `prefix length of ${address} must be 0..${max}, got ${prefixLength}`,
    );
  }
  return { family: ip.family === 4 ? AF_INET : AF_INET6, bytes: ip.bytes };
}

function checkIfindex(ifindex: number): void {
  if (!Number.isInteger(ifindex) || ifindex < 1 || ifindex > 0x7fffffff) {
    throw new RangeError(`ifindex must be a positive integer, got ${ifindex}`);
  }
}

/**
 * One NETLINK_ROUTE socket. Requests on it are serialized. Close it with
 * {@link RouteSocket.close} or `using`.
 */
export class RouteSocket {
  readonly #sock: Socket;
  readonly #portId: number;
  #seq: number;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(sock: Socket, portId: number) {
    this.#sock = sock;
    this.#portId = portId;
    // A random start keeps replies meant for an earlier socket with the
    // same port id from ever matching.
    this.#seq = crypto.getRandomValues(new Uint32Array(1))[0] >>> 1;
  }

  /** Opens and binds a NETLINK_ROUTE socket in the caller's namespace. */
  static open(): RouteSocket {
    const sock = openSocket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    try {
      for (const opt of [NETLINK_EXT_ACK, NETLINK_CAP_ACK]) {
        try {
          sock.setsockoptInt(SOL_NETLINK, opt, 1);
        } catch {
          // Older kernels: plain errno without text / with the echo.
        }
      }
      sock.bind(sockaddrNl());
      const { pid } = parseSockaddrNl(sock.localAddress());
      return new RouteSocket(sock, pid);
    } catch (err) {
      sock.close();
      if (err instanceof SysError) {
        throw new NetlinkError("open netlink socket", err.errno, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /** The kernel-assigned port id of this socket. */
  get portId(): number {
    return this.#portId;
  }

  /** Closes the socket (idempotent). */
  close(): void {
    this.#sock.close();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The link called `name`; a missing one names those that exist. */
  async getLink(name: string, options: RequestOptions = {}): Promise<Link> {
    const op = `get link ${JSON.stringify(name)}`;
    const bytes = new TextEncoder().encode(name);
    if (bytes.length === 0 || bytes.length >= IFNAMSIZ || bytes.includes(0)) {
      throw await this.#missingLink(op, JSON.stringify(name), options);
    }
    let msgs: NetlinkMessage[];
    try {
      msgs = await this.#request(
        op,
        (seq) => getLinkByNameRequest(seq, name),
        false,
        options,
      );
    } catch (err) {
      if (err instanceof NetlinkError && err.errno === Errno.ENODEV) {
        throw await this.#missingLink(op, JSON.stringify(name), options);
      }
      throw err;
    }
    const links = msgs.filter((m) => m.header.type === RTM_NEWLINK)
      .map((m) => toLink(decodeLinkMessage(m.payload)));
    if (links.length !== 1) {
      throw new NetlinkError(op, Errno.EPROTO, {
        hint: `expected one link in the reply, got ${links.length}`,
      });
    }
    return links[0];
  }

  /** The link with index `ifindex`. */
  async getLinkByIndex(
    ifindex: number,
    options: RequestOptions = {},
  ): Promise<Link> {
    checkIfindex(ifindex);
    const op = `get link #${ifindex}`;
    let msgs: NetlinkMessage[];
    try {
      msgs = await this.#request(
        op,
        (seq) => getLinkByIndexRequest(seq, ifindex),
        false,
        options,
      );
    } catch (err) {
      if (err instanceof NetlinkError && err.errno === Errno.ENODEV) {
        throw await this.#missingLink(op, `#${ifindex}`, options);
      }
      throw err;
    }
    const links = msgs.filter((m) => m.header.type === RTM_NEWLINK)
      .map((m) => toLink(decodeLinkMessage(m.payload)));
    if (links.length !== 1) {
      throw new NetlinkError(op, Errno.EPROTO, {
        hint: `expected one link in the reply, got ${links.length}`,
      });
    }
    return links[0];
  }

  /** All links in this namespace. */
  async listLinks(options: RequestOptions = {}): Promise<Link[]> {
    const msgs = await this.#request(
      "list links",
      (seq) => getLinkDumpRequest(seq),
      true,
      options,
    );
    return msgs.filter((m) => m.header.type === RTM_NEWLINK)
      .map((m) => toLink(decodeLinkMessage(m.payload)));
  }

  /**
   * Addresses, optionally only those of one link (index or name) and one
   * family (AF_INET / AF_INET6).
   */
  async listAddresses(
    link?: number | string,
    family = 0,
    options: RequestOptions = {},
  ): Promise<Address[]> {
    const ifindex = typeof link === "string"
      ? (await this.getLink(link, options)).index
      : link;
    const msgs = await this.#request(
      "list addresses",
      (seq) => getAddressDumpRequest(seq, family),
      true,
      options,
    );
    const out: Address[] = [];
    for (const m of msgs) {
      if (m.header.type !== RTM_NEWADDR) continue;
      const a = toAddress(decodeAddressMessage(m.payload));
      if (a === undefined) continue;
      // The kernel filters dumps only in strict mode: filter here.
      if (ifindex !== undefined && a.ifindex !== ifindex) continue;
      if (family !== 0 && a.family !== family) continue;
      out.push(a);
    }
    return out;
  }

  /**
   * Adds the address, or, if it is there, resets its lifetimes
   * (RTM_NEWADDR with CREATE|REPLACE and IFA_CACHEINFO).
   */
  replaceAddress(options: AddressOptions): Promise<void> {
    return this.#newAddress("replace", options);
  }

  /** Adds the address; EEXIST (as a {@link NetlinkError}) if present. */
  addAddress(options: AddressOptions): Promise<void> {
    return this.#newAddress("add", options);
  }

  /**
   * Deletes exactly this address (IFA_LOCAL is always sent, so the
   * interface's own address is never hit). Resolves `true` when deleted,
   * `false` when absent and `ignoreMissing` is set; else EADDRNOTAVAIL.
   */
  async deleteAddress(options: DeleteAddressOptions): Promise<boolean> {
    checkIfindex(options.ifindex);
    const ip = parseTarget(options.address, options.prefixLength);
    const op = `delete address ${options.address}/${options.prefixLength} on ${
      ifaceText(options.ifindex)
    }`;
    try {
      await this.#request(
        op,
        (seq) =>
          deleteAddressRequest(seq, {
            family: ip.family,
            prefixLength: options.prefixLength,
            ifindex: options.ifindex,
            local: ip.bytes,
          }),
        false,
        options,
      );
      return true;
    } catch (err) {
      if (
        options.ignoreMissing && err instanceof NetlinkError &&
        err.errno === Errno.EADDRNOTAVAIL
      ) {
        return false;
      }
      if (err instanceof NetlinkError && err.errno === Errno.ENODEV) {
        throw await this.#missingLink(op, `#${options.ifindex}`, options);
      }
      throw err;
    }
  }

  async #newAddress(
    mode: "replace" | "add",
    o: AddressOptions,
  ): Promise<void> {
    checkIfindex(o.ifindex);
    const ip = parseTarget(o.address, o.prefixLength);
    for (
      const [name, v] of [["validLft", o.validLft], [
        "preferredLft",
        o.preferredLft,
      ]] as const
    ) {
      if (!Number.isInteger(v) || v < 0 || v > INFINITY_LIFE_TIME) {
        throw new RangeError(
          `${name} must be an integer 0..4294967295 s, got ${v}`,
        );
      }
    }
    // The kernel answers EINVAL to these; say why instead.
    if (o.validLft === 0) throw new RangeError("validLft must be at least 1 s");
    if (o.preferredLft > o.validLft) {
      throw new RangeError(
        `preferredLft (${o.preferredLft}) must not exceed validLft (${o.validLft})`,
      );
    }
    if (o.label !== undefined && ip.family !== AF_INET) {
      throw new RangeError("address labels exist for IPv4 only");
    }
    const flags = ip.family === AF_INET6 && (o.noDad ?? true) ? IFA_F_NODAD : 0;
    const op = `${mode} address ${o.address}/${o.prefixLength} on ${
      ifaceText(o.ifindex)
    }`;
    try {
      await this.#request(
        op,
        (seq) =>
          newAddressRequest(seq, mode, {
            family: ip.family,
            prefixLength: o.prefixLength,
            flags,
            ifindex: o.ifindex,
            local: ip.bytes,
            label: o.label,
            cacheInfo: {
              preferred: o.preferredLft,
              valid: o.validLft,
              created: 0,
              updated: 0,
            },
          }),
        false,
        o,
      );
    } catch (err) {
      if (err instanceof NetlinkError && err.errno === Errno.ENODEV) {
        throw await this.#missingLink(op, `#${o.ifindex}`, o);
      }
      throw err;
    }
  }

  async #missingLink(
    op: string,
    what: string,
    options: RequestOptions,
  ): Promise<NetlinkError> {
    let existing = "(could not list interfaces)";
    try {
      const links = await this.listLinks(options);
      existing = links.map((l) => `${l.name} (#${l.index})`).join(", ");
    } catch {
      // Keep the original problem as the message.
    }
    return new NetlinkError(op, Errno.ENODEV, {
      hint: `no interface ${what}; existing interfaces: ${existing}`,
    });
  }

  /** Sends one request and collects its replies (serialized per socket). */
  #request(
    op: string,
    build: (seq: number) => Uint8Array,
    dump: boolean,
    options: RequestOptions,
  ): Promise<NetlinkMessage[]> {
    const run = async () => {
      for (let attempt = 1;; attempt++) {
        const { messages, interrupted } = await this.#exchange(
          op,
          build,
          options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        );
        if (!dump || !interrupted) return messages;
        if (attempt >= DUMP_ATTEMPTS) {
          throw new NetlinkError(op, Errno.EINTR, {
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
    const kernel = sockaddrNl();
    try {
      this.#sock.sendTo(build(seq), kernel);
      const messages: NetlinkMessage[] = [];
      let interrupted = false;
      const deadline = performance.now() + timeoutMs;
      while (true) {
        const remaining = deadline - performance.now();
        const got = remaining > 0
          ? await this.#sock.recv({
            timeoutMs: remaining,
            maxBytes: RECV_BYTES,
          })
          : null;
        if (got === null) {
          if (this.#sock.closed) {
            throw new NetlinkError(op, Errno.EBADF, {
              hint: "the netlink socket was closed",
            });
          }
          throw new NetlinkError(op, Errno.ETIMEDOUT, {
            hint: `the kernel did not answer within ${timeoutMs} ms`,
          });
        }
        if (got.truncated) {
          throw new NetlinkError(op, Errno.EMSGSIZE, {
            hint: `a reply was longer than ${RECV_BYTES} bytes`,
          });
        }
        // Only the kernel (port 0) may answer.
        if (parseSockaddrNl(got.from).pid !== 0) continue;
        for (const m of decodeMessages(got.data)) {
          const h = m.header;
          if (h.seq !== seq || h.pid !== this.#portId) continue; // stale
          if (h.flags & NLM_F_DUMP_INTR) interrupted = true;
          switch (h.type) {
            case NLMSG_NOOP:
              continue;
            case NLMSG_ERROR: {
              const e = decodeError(m.payload, h.flags);
              if (e.errno === 0) return { messages, interrupted };
              throw new NetlinkError(op, e.errno, { kernelMessage: e.message });
            }
            case NLMSG_DONE: {
              const errno = decodeDone(m.payload);
              if (errno !== 0) throw new NetlinkError(op, errno);
              return { messages, interrupted };
            }
            case NLMSG_OVERRUN:
              throw new NetlinkError(op, Errno.ENOBUFS, {
                hint: "netlink overrun: replies were lost",
              });
            default:
              messages.push(m);
          }
        }
      }
    } catch (err) {
      if (err instanceof SysError) {
        throw new NetlinkError(op, err.errno, { cause: err });
      }
      if (err instanceof NetlinkDecodeError) {
        throw new NetlinkError(op, Errno.EBADMSG, {
          hint: `the kernel's reply did not decode: ${err.message}`,
          cause: err,
        });
      }
      throw err;
    }
  }
}

/** Runs `fn` on a fresh {@link RouteSocket} and always closes it. */
async function withRoute<T>(fn: (r: RouteSocket) => Promise<T>): Promise<T> {
  const r = RouteSocket.open();
  try {
    return await fn(r);
  } finally {
    r.close();
  }
}

/** {@link RouteSocket.getLink} on a socket of its own. */
export function getLink(name: string, options?: RequestOptions): Promise<Link> {
  return withRoute((r) => r.getLink(name, options));
}

/** {@link RouteSocket.getLinkByIndex} on a socket of its own. */
export function getLinkByIndex(
  ifindex: number,
  options?: RequestOptions,
): Promise<Link> {
  return withRoute((r) => r.getLinkByIndex(ifindex, options));
}

/** {@link RouteSocket.listLinks} on a socket of its own. */
export function listLinks(options?: RequestOptions): Promise<Link[]> {
  return withRoute((r) => r.listLinks(options));
}

/** {@link RouteSocket.listAddresses} on a socket of its own. */
export function listAddresses(
  link?: number | string,
  family?: number,
  options?: RequestOptions,
): Promise<Address[]> {
  return withRoute((r) => r.listAddresses(link, family, options));
}

/** {@link RouteSocket.replaceAddress} on a socket of its own. */
export function replaceAddress(options: AddressOptions): Promise<void> {
  return withRoute((r) => r.replaceAddress(options));
}

/** {@link RouteSocket.addAddress} on a socket of its own. */
export function addAddress(options: AddressOptions): Promise<void> {
  return withRoute((r) => r.addAddress(options));
}

/** {@link RouteSocket.deleteAddress} on a socket of its own. */
export function deleteAddress(options: DeleteAddressOptions): Promise<boolean> {
  return withRoute((r) => r.deleteAddress(options));
}
