/**
 * ha-vip as a library: the building blocks the `ha-vip` binary is made of,
 * one namespace per concern of `lib/` (each is that folder's `mod.ts`; the
 * `_`-prefixed files behind them are private).
 *
 * What this module promises: these namespaces and what their `mod.ts`
 * exports are the whole public surface; nothing else in the repository is.
 * Until 1.0 they may change in any minor release, together with the
 * binary; the stable interfaces are the command line, the configuration
 * (flags, `HA_VIP_*`, YAML) and the `/status` and `/metrics` documents. The
 * pure parts (codecs, the VRRP state machine, address parsing) need no
 * permissions; the kernel parts need `--allow-ffi` and capabilities, as
 * each namespace says. `lib/cli` is not exported: use the binary. The fakes
 * under `testing/` are for this repository's tests.
 *
 * ```ts
 * import { vrrp } from "./mod.ts";
 * let state = vrrp.createVrrpState({
 *   priority: 100, advertIntervalCs: 100, preempt: true, primaryIp: "10.0.0.10",
 * });
 * state = vrrp.step(state, { type: "startup", nowMs: 0 }).state;
 * ```
 *
 * @module
 */
export * as announce from "./lib/announce/mod.ts";
export * as arp from "./lib/arp/mod.ts";
export * as build from "./lib/build/mod.ts";
export * as clock from "./lib/clock/mod.ts";
export * as config from "./lib/config/mod.ts";
export * as daemon from "./lib/daemon/mod.ts";
export * as election from "./lib/election/mod.ts";
export * as health from "./lib/health/mod.ts";
export * as ip from "./lib/ip/mod.ts";
export * as k8s from "./lib/k8s/mod.ts";
export * as manifest from "./lib/manifest/mod.ts";
export * as ndp from "./lib/ndp/mod.ts";
export * as netlink from "./lib/netlink/mod.ts";
export * as observe from "./lib/observe/mod.ts";
export * as sys from "./lib/sys/mod.ts";
export * as vrrp from "./lib/vrrp/mod.ts";
