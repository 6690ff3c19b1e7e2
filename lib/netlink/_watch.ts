/**
 * Link and address changes by subscription: a netlink socket of its own,
 * bound to the RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR
 * multicast groups, turned into {@link RouteEvent}s. Lost notifications
 * (the socket's buffer overran: ENOBUFS) become an `overrun` event, on
 * which the caller must re-read the state it follows.
 *
 * @module
 */
import { Errno, errnoOf } from "../sys/mod.ts";
import { decodeAddressMessage, RTM_DELADDR, RTM_NEWADDR } from "./_address.ts";
import { NetlinkDecodeError } from "./_attributes.ts";
import { type NetlinkTransport, openNetlinkTransport } from "./_conn.ts";
import { decodeLinkMessage, RTM_DELLINK, RTM_NEWLINK } from "./_link.ts";
import { decodeMessages } from "./_message.ts";
import { type Address, type Link, toAddress, toLink } from "./_objects.ts";

/** Multicast group: link changes. */
export const RTNLGRP_LINK = 1;
/** Multicast group: IPv4 address changes. */
export const RTNLGRP_IPV4_IFADDR = 5;
/** Multicast group: IPv6 address changes. */
export const RTNLGRP_IPV6_IFADDR = 9;

/** The bind mask of the groups a {@link RouteWatcher} listens to. */
export const WATCH_GROUPS: number = [
  RTNLGRP_LINK,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV6_IFADDR,
].reduce((mask, g) => mask | (1 << (g - 1)), 0);

/** One change the kernel announced. */
export type RouteEvent =
  /** A link was created or changed (`deleted` false), or removed. */
  | { type: "link"; deleted: boolean; link: Link }
  /** An address was added or changed (`deleted` false), or removed. */
  | { type: "address"; deleted: boolean; address: Address }
  /** Notifications were lost: re-read whatever is being followed. */
  | { type: "overrun" };

/** Options of {@link RouteWatcher.next}. */
export interface WatchOptions {
  /** Longest wait, ms; null is returned when it passes. */
  timeoutMs: number;
  /** Ends the wait early (null). */
  signal?: AbortSignal;
}

/** A subscription to link and address changes: the seam for a fake kernel. */
export interface RouteWatcher extends Disposable {
  /**
   * The events of the next notification datagram (possibly empty, for
   * messages of no interest), or null on timeout, abort or close.
   */
  next(options: WatchOptions): Promise<RouteEvent[] | null>;
  /** Stops listening (idempotent); a pending `next` resolves null. */
  close(): void;
}

/** Decodes one notification datagram; undecodable messages are skipped. */
export function decodeRouteEvents(data: Uint8Array): RouteEvent[] {
  const out: RouteEvent[] = [];
  let messages;
  try {
    messages = decodeMessages(data);
  } catch (err) {
    if (err instanceof NetlinkDecodeError) return [{ type: "overrun" }];
    throw err;
  }
  for (const m of messages) {
    try {
      const t = m.header.type;
      if (t === RTM_NEWLINK || t === RTM_DELLINK) {
        const link = toLink(decodeLinkMessage(m.payload));
        out.push({ type: "link", deleted: t === RTM_DELLINK, link });
      } else if (t === RTM_NEWADDR || t === RTM_DELADDR) {
        const address = toAddress(decodeAddressMessage(m.payload));
        if (address === undefined) continue;
        out.push({ type: "address", deleted: t === RTM_DELADDR, address });
      }
    } catch (err) {
      // A notification we cannot read is one we lost: resync.
      if (!(err instanceof NetlinkDecodeError)) throw err;
      out.push({ type: "overrun" });
    }
  }
  return out;
}

/** A {@link RouteWatcher} over `transport` (bound to {@link WATCH_GROUPS}). */
export function routeWatcher(transport: NetlinkTransport): RouteWatcher {
  return {
    async next(options) {
      let got;
      try {
        got = await transport.recv(options);
      } catch (err) {
        if (errnoOf(err) === Errno.ENOBUFS) return [{ type: "overrun" }];
        throw err;
      }
      if (got === null) return null;
      if (!got.fromKernel) return [];
      if (got.truncated) return [{ type: "overrun" }];
      return decodeRouteEvents(got.data);
    },
    close: () => transport.close(),
    [Symbol.dispose]: () => transport.close(),
  };
}

/** Subscribes to link and address changes on a netlink socket of its own. */
export function openRouteWatcher(): RouteWatcher {
  return routeWatcher(openNetlinkTransport(WATCH_GROUPS));
}
