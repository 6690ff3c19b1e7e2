/**
 * rtnetlink for ha-vip, along its layers: messages (`_message.ts`),
 * attributes with a decoder that keeps the first error (`_attributes.ts`),
 * the address and link structs (`_address.ts`, `_link.ts`), the connection
 * over a transport (`_conn.ts`), and on top the operations a caller needs:
 *
 * - {@link RouteClient} / {@link openRouteSocket}: get links, list, replace
 *   and delete addresses (requests in turn on one socket);
 * - {@link RouteWatcher} / {@link openRouteWatcher}: link and address
 *   changes by subscription, on a socket of their own.
 *
 * Both are interfaces so that a fake kernel can stand in for them; a fake
 * {@link NetlinkTransport} can stand in for the socket under `RouteSocket`.
 *
 * ```ts
 * import { openRouteSocket } from "./lib/netlink/mod.ts";
 * using route = openRouteSocket();
 * const eth0 = await route.getLink("eth0");
 * // The VIP: never a source address, gone 10 s after the last refresh.
 * await route.replaceAddress({
 *   ifindex: eth0.index, address: "10.0.0.100", prefixLength: 24,
 *   validLft: 10, preferredLft: 0,
 * });
 * ```
 *
 * Needs `--allow-ffi`; writes need CAP_NET_ADMIN. Failures are `SysError`s
 * from `lib/sys`.
 *
 * @module
 */
export {
  IFA_F_DADFAILED,
  IFA_F_PERMANENT,
  IFA_F_SECONDARY,
  IFA_F_TENTATIVE,
  INFINITY_LIFE_TIME,
} from "./_address.ts";
export {
  type NetlinkDatagram,
  type NetlinkTransport,
  openNetlinkTransport,
} from "./_conn.ts";
export type { OperState } from "./_link.ts";
export type { Address, Link } from "./_objects.ts";
export {
  type AddressFilter,
  type AddressOps,
  type AddressOptions,
  type DeleteAddressOptions,
  openRouteSocket,
  type RequestOptions,
  type RouteClient,
  RouteSocket,
} from "./_route.ts";
export {
  openRouteWatcher,
  type RouteEvent,
  type RouteWatcher,
  routeWatcher,
  WATCH_GROUPS,
  type WatchOptions,
} from "./_watch.ts";
