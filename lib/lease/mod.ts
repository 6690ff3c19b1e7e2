/**
 * `coordination.k8s.io/v1` Lease election, pure: the Lease object codec
 * with `metav1.MicroTime`, the fencing bound that keeps
 * two holders' VIPs from ever overlapping, and client-go's leader election
 * as a state machine driven by time and API answers.
 *
 * ```ts
 * import { createLeaseState, step } from "./lib/lease/mod.ts";
 * let state = createLeaseState({
 *   identity: "cp-1", durationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000,
 * });
 * const r = step(state, { type: "start", nowMs: performance.now() }, Date.now() * 1000);
 * state = r.state; // perform r.actions, answer requests with "response" events
 * ```
 *
 * @module
 */
export {
  decodeLease,
  decodeLeaseSpec,
  encodeLease,
  encodeLeaseSpec,
  type Lease,
  LEASE_API_VERSION,
  LeaseDecodeError,
  type LeaseRecord,
  RELEASED_WITH_VIP,
  sameRecord,
} from "./_codec.ts";
export {
  FENCING_ASSUMPTIONS,
  type FencingPlan,
  fencingPlan,
  fencingWindowMs,
  kernelLatenessMs,
  type LeaseTiming,
  lifetimeAfter,
  minimumDurationS,
} from "./_fencing.ts";
export {
  type ApiResult,
  createLeaseState,
  type HandoffRelease,
  holdsVip,
  ineligibleReason,
  type Inflight,
  isEligible,
  JITTER_FACTOR,
  type LeaseAction,
  type LeaseEvent,
  type LeaseMachineConfig,
  type LeasePhase,
  type LeaseState,
  leaseValid,
  type Observation,
  type Purpose,
  step,
  type StepOut,
  steppedOut,
  type StepResult,
  SUCCESSOR_GRACE_MS,
  takeBackAt,
} from "./_machine.ts";
export {
  formatMicroTime,
  microsFromMs,
  MicroTimeError,
  parseMicroTime,
  type ParseMicroTimeOptions,
  wallMicros,
} from "./_micro_time.ts";
