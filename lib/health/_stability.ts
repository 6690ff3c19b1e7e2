/**
 * The anti-flapping stability window, as a pure state machine: samples
 * (time, verdict) in, the stable status out. No timers, no I/O.
 *
 * Decisions:
 *
 * - The window is about the readiness *class* (ready / not ready), not the
 *   exact verdict. `not_ready(etcd)` -> `not_ready(etcd, scheduler)` ->
 *   `timeout` is one steady "not ready" period; the reported verdict follows
 *   the latest sample (`detailChanged`) but the status does not change.
 * - A change of status takes effect only once the new class has been seen
 *   in every sample for `windowMs`: from the first sample of the new class
 *   to the current one. A single sample of the old class restarts the count.
 *   Samples are evidence only at the moment they are taken, so the change
 *   happens at the first sample at or after the window boundary.
 * - Start-up: the status is `unknown` (not healthy: no VIP). Becoming
 *   `ready` needs the full window, so a node never claims the VIP on one
 *   lucky probe, and at most window + one interval passes. Becoming
 *   `not_ready` from `unknown` happens at once: it grants nothing that
 *   `unknown` does not, and it gives the operator the reason immediately.
 * - A clock that goes backwards (it should be monotonic) restarts a pending
 *   change rather than completing it.
 */

import { isReady, sameVerdict, type Verdict } from "./_verdict.ts";

/** The readiness class of a verdict. */
export type ReadinessClass = "ready" | "not_ready";

/** The stable status: `unknown` until the first decision. */
export type StableStatus = "unknown" | ReadinessClass;

/** A change that has been seen but has not held for the window yet. */
export interface PendingChange {
  /** The class being waited for. */
  readonly status: ReadinessClass;
  /** Time of the first sample of this class in the current run. */
  readonly sinceMs: number;
  /** The latest sample of this class. */
  readonly verdict: Verdict;
}

/** The window's state (immutable; each step returns a new one). */
export interface StabilityState {
  /** The stable status. */
  readonly status: StableStatus;
  /** The latest sample of the stable class (undefined while `unknown`). */
  readonly verdict?: Verdict;
  /** When the stable status took effect. */
  readonly sinceMs?: number;
  /** A change seen but not yet held for the window. */
  readonly pending?: PendingChange;
  /** Time of the latest sample. */
  readonly lastSampleMs?: number;
}

/** One sample: a probe verdict at a (monotonic) time. */
export interface StabilitySample {
  /** Monotonic time of the sample, ms. */
  nowMs: number;
  /** The probe's verdict. */
  verdict: Verdict;
}

/** Options of {@link stepStability}. */
export interface StabilityOptions {
  /** `health.stability_window`; 0 applies every change at once. */
  windowMs: number;
}

/** The outcome of one sample. */
export interface StabilityStep {
  /** The state after the sample. */
  readonly state: StabilityState;
  /** The stable status changed with this sample. */
  readonly changed: boolean;
  /** The status before this sample. */
  readonly previous: StableStatus;
  /** Same status, but the reported verdict (kind or detail) changed. */
  readonly detailChanged: boolean;
}

/** The initial state: `unknown`. */
export function initialStability(): StabilityState {
  return { status: "unknown" };
}

/** The readiness class of a verdict. */
export function readinessClass(verdict: Verdict): ReadinessClass {
  return isReady(verdict) ? "ready" : "not_ready";
}

/** Feeds one sample into the window. Pure. */
export function stepStability(
  state: StabilityState,
  sample: StabilitySample,
  options: StabilityOptions,
): StabilityStep {
  const { nowMs, verdict } = sample;
  const cls = readinessClass(verdict);
  const previous = state.status;

  if (cls === state.status) {
    // Steady: any pending change was a flap and is forgotten.
    return {
      state: {
        status: state.status,
        verdict,
        sinceMs: state.sinceMs,
        lastSampleMs: nowMs,
      },
      changed: false,
      previous,
      detailChanged: !sameVerdict(state.verdict, verdict),
    };
  }

  const adopt = (): StabilityStep => ({
    state: { status: cls, verdict, sinceMs: nowMs, lastSampleMs: nowMs },
    changed: true,
    previous,
    detailChanged: false,
  });

  if (state.status === "unknown" && cls === "not_ready") return adopt();

  const p = state.pending;
  const continuing = p !== undefined && p.status === cls && nowMs >= p.sinceMs;
  const sinceMs = continuing ? p.sinceMs : nowMs;
  if (nowMs - sinceMs >= Math.max(0, options.windowMs)) return adopt();
  return {
    state: {
      status: state.status,
      verdict: state.verdict,
      sinceMs: state.sinceMs,
      pending: { status: cls, sinceMs, verdict },
      lastSampleMs: nowMs,
    },
    changed: false,
    previous,
    detailChanged: false,
  };
}

/** A mutable wrapper around {@link stepStability}, for the monitor. */
export class StabilityWindow {
  #state: StabilityState = initialStability();
  #options: StabilityOptions;

  /** A window in the `unknown` state. */
  constructor(options: StabilityOptions) {
    this.#options = { ...options };
  }

  /** The current state. */
  get state(): StabilityState {
    return this.#state;
  }

  /**
   * A new window length (a configuration re-read): the state is kept, a
   * pending change is judged by the new length from its next sample on.
   */
  setWindowMs(windowMs: number): void {
    this.#options = { ...this.#options, windowMs };
  }

  /** Feeds a sample. */
  observe(nowMs: number, verdict: Verdict): StabilityStep {
    const step = stepStability(this.#state, { nowMs, verdict }, this.#options);
    this.#state = step.state;
    return step;
  }
}
