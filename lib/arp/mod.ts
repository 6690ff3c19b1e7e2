/**
 * Gratuitous ARP for IPv4 VIPs: the RFC 826 codec (`codec.ts`, pure) and a
 * sender over `AF_PACKET` (`sender.ts`, needs CAP_NET_RAW and
 * `--allow-ffi`).
 *
 * ```ts
 * import { announceBurst } from "./lib/arp/mod.ts";
 * await announceBurst({ ifindex: 2, mac: "02:00:00:00:00:01", ip: "10.0.0.100" });
 * ```
 *
 * @module
 */

export * from "./codec.ts";
export * from "./sender.ts";
