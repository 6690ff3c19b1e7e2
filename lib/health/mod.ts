/**
 * Is the local API server ready? Probes in two stages (TCP connect, then
 * `GET /readyz`, authoritative), distinct verdicts for every way it can go
 * wrong (401, 403, TLS, timeout, refused, ...), and an anti-flapping
 * stability window (a pure state machine) that the {@link HealthMonitor}
 * loop feeds.
 *
 * ```ts
 * const monitor = new HealthMonitor({
 *   probe: {
 *     url: "https://127.0.0.1:6443",
 *     timeoutMs: 1000,
 *     tlsServerName: "kubernetes",
 *     caCertFile: "/etc/kubernetes/pki/ca.crt",
 *   },
 *   intervalMs: 2000,
 *   stabilityWindowMs: 5000,
 *   onChange: (c) => console.log(c.type, c.from, "->", c.to, c.verdict.detail),
 * });
 * monitor.start();
 * // ...
 * await monitor.stop();
 * ```
 *
 * @module
 */

export {
  type HealthChange,
  HealthMonitor,
  type HealthMonitorOptions,
  type ProbeFunction,
} from "./_monitor.ts";
export {
  createProber,
  probeOnce,
  type ProbeOptions,
  Prober,
  type ProbeResult,
  type ReadyzStageResult,
  type TcpStageResult,
} from "./_probe.ts";
export {
  initialStability,
  type PendingChange,
  type ReadinessClass,
  readinessClass,
  type StabilityOptions,
  type StabilitySample,
  type StabilityState,
  type StabilityStep,
  StabilityWindow,
  type StableStatus,
  stepStability,
} from "./_stability.ts";
export {
  type ConnectionRefusedVerdict,
  type ErrorVerdict,
  type ForbiddenVerdict,
  type HealthAnswer,
  type HealthBody,
  type HealthCheckLine,
  isReady,
  type NotReadyVerdict,
  parseHealthBody,
  type ReadyVerdict,
  sameVerdict,
  type TimeoutVerdict,
  type TlsErrorVerdict,
  type UnauthorizedVerdict,
  type Verdict,
  type VerdictContext,
  verdictFromError,
  verdictFromResponse,
  type VerdictKind,
} from "./_verdict.ts";
// Types of lib/k8s that this module's signatures use.
export type {
  LogFields,
  Logger,
  Secret,
  TlsFailureReason,
  TokenOptions,
  TokenSource,
} from "../k8s/mod.ts";
