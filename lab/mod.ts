/**
 * The ha-vip lab as a library, for tests and benchmarks: a network of
 * namespaces on one machine ({@link createTopology}), a client-side prober
 * ({@link spawnProber}), per-node VIP watchers ({@link watchVip}) and the
 * failover scenario that ties them together ({@link runScenario}), and the
 * pieces lab tests use to drive daemons by hand ({@link spawnHaVip},
 * {@link spawnKeepalived}, {@link ClientView}, {@link kernelHolders}).
 *
 * ```ts
 * import { formatComparison, runScenario } from "./lab/mod.ts";
 * const results = [];
 * for (const implementation of ["keepalived", "ha-vip"] as const) {
 *   results.push(await runScenario({ implementation, advertIntervalMs: 1000 }));
 * }
 * console.log(formatComparison(results));
 * ```
 *
 * Everything needs root (network namespaces, raw sockets).
 *
 * @module
 */

export {
  cleanupStale,
  createTopology,
  type ExecResult,
  isRoot,
  LabError,
  type LabHost,
  LabProcess,
  linkLocalFor,
  nowMs,
  type SpawnOptions,
  Topology,
  type TopologyOptions,
} from "./topology.ts";
export {
  type ArpFrame,
  buildArpProbe,
  buildEchoRequest,
  buildEchoRequest6,
  internetChecksum,
  parseArpFrame,
  parseEchoReply,
  parseEchoReply6,
  PROBE_MAC,
  type ProbeLine,
  type ProberOptions,
  runProber,
  spawnProber,
  type SpawnProberOptions,
} from "./prober.ts";
export {
  type AddrEvent,
  MONITOR_PRIORITY_ARGV,
  type NeighEvent,
  parseAddrLine,
  parseNeighLine,
  splitStamp,
} from "./ip_monitor.ts";
export {
  clip,
  dualTimes,
  hasAddress,
  intersect,
  type Interval,
  subtract,
  total,
  union,
  type VipChange,
  type VipWatcher,
  watchVip,
} from "./vip_watch.ts";
export {
  type Bounds,
  DEFAULT_LEASE,
  defaultBounds,
  defaultEvents,
  defaultLeaseEvents,
  type ElectionMode,
  type EventKind,
  type EventMeasurement,
  type Gap,
  type Implementation,
  type LeaseTiming,
  priorityOf,
  runScenario,
  type ScenarioEvent,
  type ScenarioOptions,
  type ScenarioResult,
  type TimelineEntry,
} from "./scenario.ts";
export { type ClientGap, ClientView } from "./client_view.ts";
export { applyStress, describeStress, type StressOptions } from "./stress.ts";
export {
  ADMIN_TOKEN_FILE,
  CA_FILE,
  controlSocketPath,
  fetchStatus,
  type HandoffResult,
  haveKeepalived,
  haVipHandoff,
  haVipRunArgs,
  type HaVipRunOptions,
  type HaVipSpawnOptions,
  keepalivedConfig,
  type KeepalivedOptions,
  kernelHolders,
  labKubeconfig,
  spawnHaVip,
  spawnKeepalived,
  STATUS_PORT,
} from "./daemons.ts";
export {
  cacheForNamespaces,
  fmtS,
  masterDownMs,
  skewMs,
  sleep,
  waitUntil,
  within,
} from "./util.ts";
export {
  clockTicks,
  cpuPercent,
  cpuPercentSched,
  parseSchedstatNs,
  parseStat,
  parseStatusKb,
  parseVmRssKb,
  processTree,
  type ResourceUsage,
  sampleTree,
  type TreeSample,
} from "./resources.ts";
export {
  fmtMiB,
  formatComparison,
  formatEvent,
  formatTimeline,
} from "./report.ts";
