/**
 * Unsolicited IPv6 neighbour advertisements for IPv6 VIPs: the RFC 4861
 * codec (`codec.ts`, pure) and a raw ICMPv6 sender (`sender.ts`, needs
 * CAP_NET_RAW and `--allow-ffi`).
 *
 * ```ts
 * import { advertiseBurst } from "./lib/ndp/mod.ts";
 * await advertiseBurst({ ifindex: 2, mac: "02:00:00:00:00:01", ip: "fd00::100" });
 * ```
 *
 * @module
 */

export * from "./codec.ts";
export * from "./sender.ts";
