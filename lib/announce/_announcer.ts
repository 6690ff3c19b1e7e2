/**
 * The {@link Announcer}: one socket for one address on one interface,
 * kept open across announcements (AF_PACKET sockets take an RCU grace
 * period, ~10 ms, to close: opening one per announcement wastes that).
 * The seam a test fakes, the way mdlayher/arp's client takes a PacketConn.
 *
 * @module
 */
import { type Clock, type PacedResult, repeatPaced } from "../clock/mod.ts";
import { parseIP, parseMac } from "../ip/mod.ts";
import { checkIfindex, type Socket, SysError } from "../sys/mod.ts";
import { type Datagram, KINDS } from "./_kinds.ts";

/** What to announce, where. */
export interface AnnounceTarget {
  /** Interface index to send on. */
  ifindex: number;
  /** The interface's MAC (6 bytes or `"aa:bb:..."`). */
  mac: string | Uint8Array;
  /** The address (the VIP), IPv4 or IPv6: the family picks the kind. */
  ip: string;
}

/** Sends announcements of one address; see {@link openAnnouncer}. */
export interface Announcer extends AsyncDisposable {
  /** The kind, for messages ("gratuitous ARP", ...). */
  readonly kind: string;
  /**
   * Sends one round now (ARP: the request and the reply form; IPv6: one
   * unsolicited NA). Throws a `SysError` naming the interface.
   */
  announce(): void;
  /** Closes the socket; resolves once it is released. Idempotent. */
  close(): Promise<void>;
}

/** Opens an announcer; see {@link Announcer}. */
export type AnnouncerFactory = (target: AnnounceTarget) => Announcer;

/**
 * Opens the socket for `target` (needs CAP_NET_RAW) and prepares the
 * round. Bad input throws before any socket is opened; a missing or down
 * interface shows at the first send (ENODEV/ENXIO, ENETDOWN).
 */
export function openAnnouncer(target: AnnounceTarget): Announcer {
  checkIfindex(target.ifindex);
  const mac = typeof target.mac === "string"
    ? parseMac(target.mac)
    : target.mac;
  const kind = KINDS[parseIP(target.ip).family];
  const round = kind.round(target.ifindex, mac, target.ip);
  const sock = kind.open(target.ifindex);
  return {
    kind: kind.name,
    announce: () => send(sock, round, kind.sendOp(target.ifindex)),
    close: () => sock.closeAsync(),
    [Symbol.asyncDispose]: () => sock.closeAsync(),
  };
}

function send(sock: Socket, round: Datagram[], op: string): void {
  for (const d of round) {
    try {
      sock.sendTo(d.bytes, d.to);
    } catch (err) {
      if (!(err instanceof SysError)) throw err;
      throw new SysError(op, err.errno, { cause: err });
    }
  }
}

/** Options of {@link announceBurst}. */
export interface BurstOptions {
  /** Rounds. Default 3. */
  count?: number;
  /** Pause between rounds, ms. Default 500. */
  intervalMs?: number;
  /** Stops the burst between rounds (e.g. the VIP was lost meanwhile). */
  signal?: AbortSignal;
  /** Paces the rounds (default: the system clock). */
  clock?: Clock;
}

/**
 * Sends `count` rounds `intervalMs` apart. The first round goes out
 * synchronously, before this function first yields, so a takeover
 * announces at once; its failure rejects the promise. Later failures (a
 * link flapping mid-burst) are collected, not thrown.
 */
export function announceBurst(
  announcer: Announcer,
  options: BurstOptions = {},
): Promise<PacedResult> {
  return repeatPaced({
    count: options.count ?? 3,
    intervalMs: options.intervalMs ?? 500,
    signal: options.signal,
    clock: options.clock,
  }, () => announcer.announce());
}
