/**
 * The health loop: probe every `intervalMs`, feed the stability window,
 * report stable changes. A thin shell around {@link Prober} and
 * {@link stepStability}; all decisions live in those.
 *
 * Probes never overlap: the next one starts `intervalMs` after the previous
 * one *started*. A probe still running when the next one is due counts as
 * a failure (a `timeout` verdict of stage `probe`), is aborted, and no
 * other probe starts until it has ended: a probe wedged in something that
 * cannot be cancelled (a read of a hung NFS or FUSE mount) turns the node
 * not ready every interval instead of freezing its last verdict, and never
 * piles up. Its late result, if any, is dropped.
 * `stop()` aborts the probe in flight and the wait, and resolves when the
 * loop has ended; a probe cut short by `stop()` is not fed to the window.
 */

import { type Clock, systemClock } from "../clock/mod.ts";
import { type Logger, nullLogger } from "../k8s/mod.ts";
import { type ProbeOptions, Prober, type ProbeResult } from "./_probe.ts";
import {
  type StabilityState,
  StabilityWindow,
  type StableStatus,
} from "./_stability.ts";
import type { Verdict } from "./_verdict.ts";

/**
 * A probe function (injectable for tests). `close`, when present, is called
 * by {@link HealthMonitor.stop} (to close a kept-alive connection).
 */
export type ProbeFunction = ((signal: AbortSignal) => Promise<ProbeResult>) & {
  close?: () => void;
};

/** A change reported by the monitor. */
export interface HealthChange {
  /** `status`: the stable status changed; `detail`: same status, a different verdict. */
  type: "status" | "detail";
  /** Status before the change. */
  from: StableStatus;
  /** Status after the change. */
  to: StableStatus;
  /** The verdict now reported. */
  verdict: Verdict;
  /** Monitor clock time of the sample that caused it. */
  atMs: number;
  /** The probe behind it. */
  probe: ProbeResult;
}

/** Options of {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  /** What to probe (options for a {@link Prober}), or a probe function. */
  probe: ProbeOptions | ProbeFunction;
  /** `health.interval`. */
  intervalMs: number;
  /** `health.stability_window`. */
  stabilityWindowMs: number;
  /** Called on each stable status change and each detail change. */
  onChange?: (change: HealthChange) => void;
  /** Called after every probe, with the window's state. */
  onProbe?: (result: ProbeResult, state: StabilityState) => void;
  /** Where changes are logged (default: nowhere). */
  logger?: Logger;
  /** Waits between probes and reads the time (default: the system clock). */
  clock?: Clock;
  /** Monotonic time, ms (default: `clock.now`). */
  now?: () => number;
}

/** How long `stop()` waits for an aborted probe to end. */
const STOP_GRACE_MS = 1000;

/** A probe in flight. */
interface Running {
  /**
   * Resolves with the result (a throwing probe becomes an error verdict);
   * `cut`: the probe ended after it was aborted (its result is no evidence).
   */
  done: Promise<{ result: ProbeResult; cut: boolean }>;
  /** The outcome, once settled. */
  outcome?: { result: ProbeResult; cut: boolean };
  /** Aborts this probe only. */
  abort: AbortController;
  /** It was still running when the next one was due: its result is dropped. */
  overran: boolean;
  startedMs: number;
}

/** The verdict of a probe still running when the next one is due. */
function overrunResult(elapsedMs: number, intervalMs: number): ProbeResult {
  const verdict: Verdict = {
    kind: "timeout",
    stage: "probe",
    detail:
      `the health probe was still running after ${elapsedMs} ms, when the next one was due (health.interval ${intervalMs} ms): a hung token or CA file read, or a stalled API server`,
  };
  return { verdict, tcp: { ok: false, ms: 0, verdict }, ms: elapsedMs };
}

function toProbeFunction(p: ProbeOptions | ProbeFunction): ProbeFunction {
  if (typeof p === "function") return p;
  const prober = new Prober(p);
  return Object.assign(
    (signal: AbortSignal) => prober.probe(signal),
    { close: () => prober.close() },
  );
}

/** Probes the API server periodically and tracks its stable readiness. */
export class HealthMonitor {
  #probe: ProbeFunction;
  /** Probes replaced by {@link reconfigure}, closed once none runs. */
  #retired: ProbeFunction[] = [];
  readonly #window: StabilityWindow;
  #intervalMs: number;
  readonly #onChange?: (change: HealthChange) => void;
  readonly #onProbe?: (result: ProbeResult, state: StabilityState) => void;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #clock: Clock;
  #abort?: AbortController;
  #loop?: Promise<void>;
  #last?: ProbeResult;

  /** Creates a stopped monitor; call {@link HealthMonitor.start}. */
  constructor(options: HealthMonitorOptions) {
    this.#probe = toProbeFunction(options.probe);
    this.#window = new StabilityWindow({ windowMs: options.stabilityWindowMs });
    this.#intervalMs = options.intervalMs;
    this.#onChange = options.onChange;
    this.#onProbe = options.onProbe;
    this.#logger = options.logger ?? nullLogger;
    this.#clock = options.clock ?? systemClock;
    this.#now = options.now ?? (() => this.#clock.now());
  }

  /**
   * New settings while running (a configuration re-read): the next probe
   * uses them, and the old probe's connection is closed once it no longer
   * runs; the stable status is kept, so a re-read never makes a ready node
   * look unready.
   */
  reconfigure(options: {
    probe: ProbeOptions | ProbeFunction;
    intervalMs: number;
    stabilityWindowMs: number;
  }): void {
    this.#retired.push(this.#probe);
    this.#probe = toProbeFunction(options.probe);
    this.#intervalMs = options.intervalMs;
    this.#window.setWindowMs(options.stabilityWindowMs);
  }

  /** The window's state (status, reported verdict, pending change). */
  get state(): StabilityState {
    return this.#window.state;
  }

  /** Whether the stable status is `ready` (the node may hold the VIP). */
  get ready(): boolean {
    return this.#window.state.status === "ready";
  }

  /** The latest completed probe. */
  get lastProbe(): ProbeResult | undefined {
    return this.#last;
  }

  /** Whether the loop is running. */
  get running(): boolean {
    return this.#loop !== undefined;
  }

  /** Starts the loop (the first probe at once). Idempotent. */
  start(): void {
    if (this.#loop) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#loop = this.#run(abort.signal);
  }

  /**
   * Stops the loop promptly; resolves once the probe in flight has ended
   * (or, wedged in a read that cannot be cancelled, was abandoned).
   */
  async stop(): Promise<void> {
    const loop = this.#loop;
    this.#abort?.abort();
    await loop;
    this.#probe.close?.();
    for (const p of this.#retired.splice(0)) p.close?.();
    if (this.#loop === loop) {
      this.#loop = undefined;
      this.#abort = undefined;
    }
  }

  /** Starts a probe whose failures (even a throw) become results. */
  #start(stop: AbortSignal): Running {
    for (const p of this.#retired.splice(0)) p.close?.();
    const abort = new AbortController();
    const onStop = () => abort.abort(stop.reason);
    stop.addEventListener("abort", onStop, { once: true });
    const settle = (result: ProbeResult) => {
      stop.removeEventListener("abort", onStop);
      running.outcome = { result, cut: abort.signal.aborted };
      return running.outcome;
    };
    const running: Running = {
      done: this.#probe(abort.signal).then(settle, (err) => {
        // Probers never throw; a custom probe function might.
        const detail = `probe failed: ${
          (err as Error)?.message ?? String(err)
        }`;
        const verdict: Verdict = { kind: "error", cause: "internal", detail };
        return settle({ verdict, tcp: { ok: false, ms: 0, verdict }, ms: 0 });
      }),
      abort,
      overran: false,
      startedMs: this.#now(),
    };
    return running;
  }

  /** `running`'s outcome, or `null` when `ms` pass first (or the loop stops). */
  async #within(
    running: Running,
    ms: number,
    stop: AbortSignal,
  ): Promise<{ result: ProbeResult; cut: boolean } | null> {
    const due = new AbortController();
    const timer = this.#clock.timeout(Math.max(0, ms), () => due.abort());
    const onStop = () => due.abort();
    stop.addEventListener("abort", onStop, { once: true });
    try {
      const first = await Promise.race([
        running.done,
        new Promise<null>((resolve) =>
          due.signal.addEventListener("abort", () => resolve(null), {
            once: true,
          })
        ),
      ]);
      // A probe that settled in the same turn as the timer still counts.
      return first ?? running.outcome ?? null;
    } finally {
      timer[Symbol.dispose]();
      stop.removeEventListener("abort", onStop);
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    let running: Running | undefined;
    while (!signal.aborted) {
      const tick = this.#now();
      running ??= this.#start(signal);
      const outcome = await this.#within(running, this.#intervalMs, signal);
      // Stopped: a probe cut short by stop() is no evidence.
      if (signal.aborted && (outcome === null || outcome.cut)) break;
      if (outcome === null) {
        // Due again and the probe still runs: a failure; wait for it.
        running.overran = true;
        running.abort.abort();
        this.#observe(
          overrunResult(
            Math.round(this.#now() - running.startedMs),
            this.#intervalMs,
          ),
        );
        continue;
      }
      const late = running.overran;
      running = undefined;
      if (!late) this.#observe(outcome.result);
      if (signal.aborted) break;
      const wait = this.#intervalMs - (this.#now() - tick);
      if (wait > 0) await this.#clock.sleep(wait, signal);
    }
    // Stopped: an aborted probe ends at once; one wedged in a read that
    // cannot be cancelled is abandoned after a grace period.
    if (running) {
      await this.#within(running, STOP_GRACE_MS, new AbortController().signal);
    }
  }

  #observe(result: ProbeResult): void {
    this.#last = result;
    const atMs = this.#now();
    const step = this.#window.observe(atMs, result.verdict);
    const state = step.state;
    this.#safely(() => this.#onProbe?.(result, state));
    if (step.changed) {
      const fields = {
        from: step.previous,
        to: state.status,
        verdict: result.verdict.kind,
      };
      if (state.status === "ready") {
        this.#logger.info("API server is ready (stable)", fields);
      } else {this.#logger.warn(
          `API server is not ready: ${result.verdict.detail}`,
          fields,
        );}
    } else if (step.detailChanged) {
      const fields = { status: state.status, verdict: result.verdict.kind };
      if (state.status === "ready") {
        this.#logger.info("API server still ready", fields);
      } else {this.#logger.warn(
          `API server still not ready: ${result.verdict.detail}`,
          fields,
        );}
    } else if (state.pending) {
      this.#logger.debug("health change pending", {
        status: state.status,
        pending: state.pending.status,
        verdict: result.verdict.kind,
        held_ms: Math.round(atMs - state.pending.sinceMs),
      });
    }
    if (step.changed || step.detailChanged) {
      const change: HealthChange = {
        type: step.changed ? "status" : "detail",
        from: step.previous,
        to: state.status,
        verdict: result.verdict,
        atMs,
        probe: result,
      };
      this.#safely(() => this.#onChange?.(change));
    }
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error("health listener failed", {
        error: (err as Error)?.message ?? String(err),
      });
    }
  }
}
