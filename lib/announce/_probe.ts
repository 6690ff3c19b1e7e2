/**
 * Is the VIP still answered on the link? An ARP probe (RFC 5227, from
 * 0.0.0.0, so no neighbour learns anything from it) and the replies to it,
 * over an `AF_PACKET` socket bound to the interface. A Lease holder that
 * takes over from a node that is handing over uses it to add the VIP only
 * once the old holder has removed it: zero overlap, and a gap of about one
 * probe round instead of a second holder.
 *
 * @module
 */
import {
  ARP_REPLY,
  ARP_REQUEST,
  BROADCAST_MAC,
  decodeArp,
  encodeArp,
  probeRequest,
} from "../arp/mod.ts";
import type { Clock } from "../clock/mod.ts";
import { formatMac, parseMac } from "../ip/mod.ts";
import {
  AF_PACKET,
  checkIfindex,
  ETH_P_ARP,
  openSocket,
  SOCK_DGRAM,
  sockaddrLl,
  type Socket,
  SysError,
} from "../sys/mod.ts";
import type { AnnounceTarget } from "./_announcer.ts";

/** Asks the link who has an IPv4 address; see {@link openVipProbe}. */
export interface VipProbe extends AsyncDisposable {
  /**
   * Sends one probe and waits up to `timeoutMs` for another host to claim
   * the address (a reply to the probe, or its own gratuitous ARP). The
   * claimer's MAC, or null when nobody answered (or `signal` fired).
   */
  ask(timeoutMs: number, signal?: AbortSignal): Promise<string | null>;
  /** Closes the socket. */
  close(): Promise<void>;
}

/** Opens a {@link VipProbe} (the real socket, or a fake network's). */
export type VipProbeFactory = (target: AnnounceTarget) => VipProbe;

/** `sll_pkttype` of a frame this host sent itself. */
const PACKET_OUTGOING = 4;

/** `htons(ETH_P_ARP)`: the socket's protocol is in network order. */
const ARP_PROTOCOL_BE = ((ETH_P_ARP & 0xff) << 8) | (ETH_P_ARP >> 8);

/**
 * Whether `bytes` (an ARP packet received on the probe socket) says that
 * a host other than `ownMac` has `ip`.
 */
export function claimsAddress(
  bytes: Uint8Array,
  ip: string,
  ownMac: string,
): string | null {
  let p;
  try {
    p = decodeArp(bytes);
  } catch {
    return null;
  }
  if (p.senderIp !== ip || p.senderMac === ownMac) return null;
  // A reply (to our probe or anyone's), or its holder's gratuitous ARP.
  const gratuitous = p.operation === ARP_REQUEST && p.targetIp === ip;
  return p.operation === ARP_REPLY || gratuitous ? p.senderMac : null;
}

/**
 * The real probe: `AF_PACKET`/`SOCK_DGRAM` for ARP, bound to the
 * interface (needs CAP_NET_RAW). Throws a `SysError` naming the interface.
 */
export function openVipProbe(target: AnnounceTarget): VipProbe {
  checkIfindex(target.ifindex);
  const ownMac = typeof target.mac === "string"
    ? formatMac(parseMac(target.mac))
    : formatMac(target.mac);
  let sock: Socket;
  try {
    sock = openSocket(AF_PACKET, SOCK_DGRAM, ARP_PROTOCOL_BE);
    sock.bind(sockaddrLl({ protocol: ETH_P_ARP, ifindex: target.ifindex }));
  } catch (err) {
    if (!(err instanceof SysError)) throw err;
    throw new SysError(
      `open ARP probe on interface #${target.ifindex}`,
      err.errno,
      { cause: err },
    );
  }
  const probe = encodeArp(probeRequest(ownMac, target.ip));
  const to = sockaddrLl({
    protocol: ETH_P_ARP,
    ifindex: target.ifindex,
    address: parseMac(BROADCAST_MAC),
  });
  const close = () => {
    sock.close();
    return Promise.resolve();
  };
  return {
    async ask(timeoutMs, signal) {
      // A late answer to the previous probe still says the address is in
      // use: a slow receiver must never take it for silence.
      let late: string | null = null;
      for (let got; (got = await sock.recv({ timeoutMs: 0 })) !== null;) {
        if (got.from.length > 10 && got.from[10] === PACKET_OUTGOING) continue;
        late ??= claimsAddress(got.data, target.ip, ownMac);
      }
      if (late !== null) return late;
      sock.sendTo(probe, to);
      const until = performance.now() + timeoutMs;
      while (!signal?.aborted) {
        const left = until - performance.now();
        if (left <= 0) return null;
        const got = await sock.recv({ timeoutMs: Math.ceil(left), signal });
        if (got === null) return null;
        if (got.from.length > 10 && got.from[10] === PACKET_OUTGOING) continue;
        const mac = claimsAddress(got.data, target.ip, ownMac);
        if (mac !== null) return mac;
      }
      return null;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Options of {@link waitUntilUnanswered}. */
export interface UnansweredOptions {
  /** Paces the rounds. */
  clock: Clock;
  /** Stops probing (resolves null). */
  signal?: AbortSignal;
  /**
   * How long one probe waits for an answer (default 3 ms: a LAN answers in
   * well under 1 ms, and an answer that comes later still counts, at the
   * next probe).
   */
  timeoutMs?: number;
  /** Pause between rounds while answered (default 2 ms). */
  intervalMs?: number;
  /** Unanswered probes in a row that count as "free" (default 2). */
  misses?: number;
}

/** What {@link waitUntilUnanswered} saw. */
export interface Unanswered {
  /** Someone answered before the address went quiet. */
  seenAnswered: boolean;
  /** The last MAC that answered, if any. */
  lastAnsweredBy?: string;
}

/**
 * Probes until the address goes unanswered `misses` times in a row (the
 * holder removed it, or nobody had it). Null when `signal` fired first.
 * A probe that fails to send counts as unanswered: without the link, no
 * other holder can be heard either.
 */
export async function waitUntilUnanswered(
  probe: VipProbe,
  o: UnansweredOptions,
): Promise<Unanswered | null> {
  const timeoutMs = o.timeoutMs ?? 3;
  const misses = o.misses ?? 2;
  const result: Unanswered = { seenAnswered: false };
  let quiet = 0;
  while (!o.signal?.aborted) {
    let mac: string | null = null;
    try {
      mac = await probe.ask(timeoutMs, o.signal);
    } catch {
      mac = null;
    }
    if (o.signal?.aborted) return null;
    if (mac === null) {
      if (++quiet >= misses) return result;
      continue;
    }
    quiet = 0;
    result.seenAnswered = true;
    result.lastAnsweredBy = mac;
    await o.clock.sleep(o.intervalMs ?? 2, o.signal);
  }
  return null;
}
