/**
 * rtnetlink for ha-vip: a pure codec (`codec.ts`) and, over it, link and
 * address operations in the caller's network namespace (`route.ts`).
 *
 * ```ts
 * import { getLink, replaceAddress } from "./lib/netlink/mod.ts";
 * const eth0 = await getLink("eth0");
 * // The VIP: never a source address, gone 10 s after the last refresh.
 * await replaceAddress({
 *   ifindex: eth0.index, address: "10.0.0.100", prefixLength: 24,
 *   validLft: 10, preferredLft: 0,
 * });
 * ```
 *
 * Needs `--allow-ffi`; writes need CAP_NET_ADMIN.
 *
 * @module
 */

export * from "./codec.ts";
export * from "./route.ts";
