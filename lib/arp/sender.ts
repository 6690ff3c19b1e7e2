/**
 * Gratuitous ARP over an `AF_PACKET`/`SOCK_DGRAM` socket (protocol 0, so
 * it receives nothing): the kernel adds the Ethernet header with our MAC
 * as source and the destination from the `sockaddr_ll`.
 *
 * @module
 */

import { repeatPaced } from "../clock/mod.ts";
import { formatIPv4, parseIPv4, parseMac } from "../ip/mod.ts";
import {
  AF_PACKET,
  ETH_P_ARP,
  openSocket,
  SOCK_DGRAM,
  sockaddrLl,
  type Socket,
  SysError,
} from "../sys/mod.ts";
import {
  type ArpPacket,
  BROADCAST_MAC,
  encodeArp,
  gratuitousReply,
  gratuitousRequest,
} from "./codec.ts";

function checkIfindex(ifindex: number): void {
  if (!Number.isInteger(ifindex) || ifindex < 1 || ifindex > 0x7fffffff) {
    throw new RangeError(`ifindex must be a positive integer, got ${ifindex}`);
  }
}

/** A send-only ARP socket bound to one interface by its sends. */
export class ArpSender {
  readonly #sock: Socket;
  readonly #ifindex: number;

  private constructor(sock: Socket, ifindex: number) {
    this.#sock = sock;
    this.#ifindex = ifindex;
  }

  /**
   * Opens the socket (needs CAP_NET_RAW). The interface is only checked
   * by the first send (ENXIO/ENODEV if missing, ENETDOWN if down).
   */
  static open(ifindex: number): ArpSender {
    checkIfindex(ifindex);
    return new ArpSender(openSocket(AF_PACKET, SOCK_DGRAM, 0), ifindex);
  }

  /** The interface the packets go out of. */
  get ifindex(): number {
    return this.#ifindex;
  }

  /**
   * Sends one ARP body (a packet or its 28 bytes) to `destinationMac`
   * (default broadcast). Throws a `SysError` naming the operation.
   */
  send(
    packet: ArpPacket | Uint8Array,
    destinationMac: string | Uint8Array = BROADCAST_MAC,
  ): void {
    const body = packet instanceof Uint8Array ? packet : encodeArp(packet);
    const dest = typeof destinationMac === "string"
      ? parseMac(destinationMac)
      : destinationMac;
    const to = sockaddrLl({
      protocol: ETH_P_ARP,
      ifindex: this.#ifindex,
      address: dest,
    });
    try {
      this.#sock.sendTo(body, to);
    } catch (err) {
      if (err instanceof SysError) {
        throw new SysError(
          `send ARP on interface #${this.#ifindex}`,
          err.errno,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /**
   * Announces `ip` at `mac`: the request form then the reply form, both
   * broadcast. Receivers update an existing entry from either; both are
   * "proper" gratuitous ARPs, so Linux accepts them even within locktime.
   */
  sendGratuitous(mac: string | Uint8Array, ip: string | Uint8Array): void {
    this.send(gratuitousRequest(mac, ip));
    this.send(gratuitousReply(mac, ip));
  }

  /**
   * Closes the socket (idempotent) without blocking: the kernel's
   * AF_PACKET close waits for an RCU grace period (~10 ms), so it runs on
   * a pool thread. Keep one sender open while holding the VIP rather than
   * one per announcement.
   */
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
export interface GratuitousArpOptions {
  /** Interface index to send on. */
  ifindex: number;
  /** The interface's MAC (6 bytes or `"aa:bb:..."`). */
  mac: string | Uint8Array;
  /** The IPv4 address (the VIP). */
  ip: string;
}

/**
 * Sends one request-form and one reply-form gratuitous ARP at once, then
 * closes the socket; resolves when the socket is released.
 */
export async function sendGratuitousArp(
  options: GratuitousArpOptions,
): Promise<void> {
  // Parse first: a bad address is a usage error, not a socket error.
  const mac = typeof options.mac === "string"
    ? parseMac(options.mac)
    : options.mac;
  const ip = formatIPv4(parseIPv4(options.ip));
  await using sender = ArpSender.open(options.ifindex);
  sender.sendGratuitous(mac, ip);
}

/** Options of {@link announceBurst}. */
export interface BurstOptions extends GratuitousArpOptions {
  /** Rounds (each: request + reply form). Default 3. */
  count?: number;
  /** Pause between rounds in ms. Default 500. */
  intervalMs?: number;
  /** Stops the burst between rounds (e.g. the VIP was lost meanwhile). */
  signal?: AbortSignal;
}

/** How a burst went. */
export interface BurstResult {
  /** Rounds sent completely. */
  sent: number;
  /** Errors of later rounds (a failing first round throws instead). */
  errors: Error[];
}

/**
 * Sends `count` rounds of gratuitous ARP `intervalMs` apart. The first
 * round goes out synchronously, before this function first yields, so a
 * takeover announces at once; its failure rejects the promise. Later
 * failures (a link flapping mid-burst) are collected, not thrown.
 */
export async function announceBurst(
  options: BurstOptions,
): Promise<BurstResult> {
  const mac = typeof options.mac === "string"
    ? parseMac(options.mac)
    : options.mac;
  const ip = formatIPv4(parseIPv4(options.ip));
  const sender = ArpSender.open(options.ifindex);
  try {
    return await repeatPaced({
      count: options.count ?? 3,
      intervalMs: options.intervalMs ?? 500,
      signal: options.signal,
    }, () => sender.sendGratuitous(mac, ip));
  } finally {
    await sender.closeAsync();
  }
}
