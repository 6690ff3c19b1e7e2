/**
 * The daemon that composes health -> election -> announce from parts
 * ({@link runDaemon}), its seams ({@link Platform}, {@link SignalSource},
 * the election backends and the probe: the whole daemon runs in process
 * against fakes), the `/status` document it serves
 * ({@link StatusDocument}), and the mapping of the `health:`/`k8s:`
 * configuration onto probes (shared with `ha-vip probe`).
 *
 * @module
 */
export { type DaemonOptions, DaemonStartError, runDaemon } from "./_daemon.ts";
export type { ControlOpener } from "./_handoff.ts";
export {
  probeOptionsFromConfig,
  type ReconfigurableLocalApi,
  resilientProbe,
  verdictReason,
} from "./_health.ts";
export { type Platform, systemPlatform } from "./_platform.ts";
export { osSignals, type SignalSource } from "./_signals.ts";
export type { HealthStatus, StatusDocument } from "./_status.ts";
