/**
 * Unsolicited neighbour advertisements over a raw ICMPv6 socket, sent to
 * ff02::1 on one interface with hop limit 255 (receivers drop NDP with any
 * other hop limit, RFC 4861 §7.1.2).
 *
 * @module
 */

import { repeatPaced } from "../clock/mod.ts";
import {
  AF_INET6,
  IPPROTO_ICMPV6,
  IPPROTO_IPV6,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_UNICAST_HOPS,
  openSocket,
  SOCK_RAW,
  sockaddrIn6,
  type Socket,
  SysError,
} from "../sys/mod.ts";
import {
  ALL_NODES,
  encodeNeighborAdvertisement,
  type NeighborAdvertisement,
  unsolicitedAdvertisement,
} from "./codec.ts";

function checkIfindex(ifindex: number): void {
  if (!Number.isInteger(ifindex) || ifindex < 1 || ifindex > 0x7fffffff) {
    throw new RangeError(`ifindex must be a positive integer, got ${ifindex}`);
  }
}

/** A raw ICMPv6 socket set up to send NDP on one interface. */
export class NdpSender {
  readonly #sock: Socket;
  readonly #ifindex: number;
  readonly #to: Uint8Array;

  private constructor(sock: Socket, ifindex: number) {
    this.#sock = sock;
    this.#ifindex = ifindex;
    this.#to = sockaddrIn6(ALL_NODES, { scopeId: ifindex });
  }

  /**
   * Opens and configures the socket (needs CAP_NET_RAW). Throws a
   * `SysError`; ENODEV/ENXIO when the interface does not exist.
   */
  static open(ifindex: number): NdpSender {
    checkIfindex(ifindex);
    const sock = openSocket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
    try {
      sock.setsockoptInt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255);
      sock.setsockoptInt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255);
      sock.setsockoptInt(IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex);
      // Our own NAs are of no use to this host.
      sock.setsockoptInt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
      return new NdpSender(sock, ifindex);
    } catch (err) {
      sock.close();
      if (err instanceof SysError) {
        throw new SysError(
          `set up NDP socket on interface #${ifindex}`,
          err.errno,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** The interface the packets go out of. */
  get ifindex(): number {
    return this.#ifindex;
  }

  /** Sends one NA (a value or its bytes) to ff02::1. */
  send(na: NeighborAdvertisement | Uint8Array): void {
    const body = na instanceof Uint8Array
      ? na
      : encodeNeighborAdvertisement(na);
    try {
      this.#sock.sendTo(body, this.#to);
    } catch (err) {
      if (err instanceof SysError) {
        throw new SysError(
          `send neighbour advertisement on interface #${this.#ifindex}`,
          err.errno,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Sends the unsolicited (Override) NA for `target` at `mac`. */
  sendUnsolicited(target: string, mac: string | Uint8Array): void {
    this.send(unsolicitedAdvertisement(target, mac));
  }

  /** Closes the socket (idempotent). */
  close(): void {
    this.#sock.close();
  }

  /** {@link close}, resolving once the fd is released. */
  closeAsync(): Promise<void> {
    return this.#sock.closeAsync();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Same as {@link closeAsync}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.closeAsync();
  }
}

/** What to announce. */
export interface UnsolicitedNaOptions {
  /** Interface index to send on. */
  ifindex: number;
  /** The interface's MAC (6 bytes or `"aa:bb:..."`). */
  mac: string | Uint8Array;
  /** The IPv6 address (the VIP). */
  ip: string;
}

/** Sends one unsolicited NA at once, then closes the socket. */
export async function sendUnsolicitedNa(
  options: UnsolicitedNaOptions,
): Promise<void> {
  // Build first: bad input is a usage error, not a socket error.
  const na = encodeNeighborAdvertisement(
    unsolicitedAdvertisement(options.ip, options.mac),
  );
  await using sender = NdpSender.open(options.ifindex);
  sender.send(na);
}

/** Options of {@link advertiseBurst}. */
export interface NaBurstOptions extends UnsolicitedNaOptions {
  /** How many NAs. Default 3. */
  count?: number;
  /** Pause between them in ms. Default 500. */
  intervalMs?: number;
  /** Stops the burst between sends. */
  signal?: AbortSignal;
}

/** How a burst went. */
export interface NaBurstResult {
  /** NAs sent. */
  sent: number;
  /** Errors of later sends (a failing first send throws instead). */
  errors: Error[];
}

/**
 * Sends `count` unsolicited NAs `intervalMs` apart; the first goes out
 * before this function first yields and its failure rejects the promise.
 */
export async function advertiseBurst(
  options: NaBurstOptions,
): Promise<NaBurstResult> {
  const na = encodeNeighborAdvertisement(
    unsolicitedAdvertisement(options.ip, options.mac),
  );
  const sender = NdpSender.open(options.ifindex);
  try {
    return await repeatPaced({
      count: options.count ?? 3,
      intervalMs: options.intervalMs ?? 500,
      signal: options.signal,
    }, () => sender.send(na));
  } finally {
    await sender.closeAsync();
  }
}
