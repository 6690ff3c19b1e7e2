/**
 * The daemon that wires health -> election -> announce, and the VIP holder
 * it (and `ha-vip vip add/remove`) uses.
 *
 * @module
 */
export { type DaemonOptions, DaemonStartError, runDaemon } from "./daemon.ts";
export {
  probeOptionsFromConfig,
  resilientProbe,
  verdictReason,
} from "./_health.ts";
