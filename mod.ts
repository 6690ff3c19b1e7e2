/**
 * ha-vip as a library: the pieces the `ha-vip` binary is made of, for
 * programs that embed or test them. Each namespace is one concern of
 * `lib/`, documented in its own `mod.ts`.
 *
 * @module
 */
export * as arp from "./lib/arp/mod.ts";
export * as build from "./lib/build/mod.ts";
export * as config from "./lib/config/mod.ts";
export * as daemon from "./lib/daemon/mod.ts";
export * as election from "./lib/election/mod.ts";
export * as health from "./lib/health/mod.ts";
export * as k8s from "./lib/k8s/mod.ts";
export * as manifest from "./lib/manifest/mod.ts";
export * as ndp from "./lib/ndp/mod.ts";
export * as netlink from "./lib/netlink/mod.ts";
export * as observe from "./lib/observe/mod.ts";
export * as sys from "./lib/sys/mod.ts";
export * as vrrp from "./lib/vrrp/mod.ts";
