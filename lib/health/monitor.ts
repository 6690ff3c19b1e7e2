/**
 * The health loop: probe every `intervalMs`, feed the stability window,
 * report stable changes. A thin shell around {@link Prober} and
 * {@link stepStability}; all decisions live in those.
 *
 * Probes never overlap: the next one starts `intervalMs` after the previous
 * one *started*, or at once if it took longer (its own timeout bounds it).
 * `stop()` aborts the probe in flight and the wait, and resolves when the
 * loop has ended; a probe cut short by `stop()` is not fed to the window.
 */

import { type Logger, nullLogger } from "../k8s/mod.ts";
import { type ProbeOptions, Prober, type ProbeResult } from "./probe.ts";
import {
  type StabilityState,
  StabilityWindow,
  type StableStatus,
} from "./stability.ts";
import type { Verdict } from "./verdict.ts";

/** A probe function (injectable for tests). */
export type ProbeFunction = (signal: AbortSignal) => Promise<ProbeResult>;

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
  /** Monotonic clock, ms (default `performance.now`). */
  now?: () => number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** Probes the API server periodically and tracks its stable readiness. */
export class HealthMonitor {
  readonly #probe: ProbeFunction;
  readonly #window: StabilityWindow;
  readonly #intervalMs: number;
  readonly #onChange?: (change: HealthChange) => void;
  readonly #onProbe?: (result: ProbeResult, state: StabilityState) => void;
  readonly #logger: Logger;
  readonly #now: () => number;
  #abort?: AbortController;
  #loop?: Promise<void>;
  #last?: ProbeResult;

  /** Creates a stopped monitor; call {@link HealthMonitor.start}. */
  constructor(options: HealthMonitorOptions) {
    if (typeof options.probe === "function") {
      this.#probe = options.probe;
    } else {
      const prober = new Prober(options.probe);
      this.#probe = (signal) => prober.probe(signal);
    }
    this.#window = new StabilityWindow({ windowMs: options.stabilityWindowMs });
    this.#intervalMs = options.intervalMs;
    this.#onChange = options.onChange;
    this.#onProbe = options.onProbe;
    this.#logger = options.logger ?? nullLogger;
    this.#now = options.now ?? (() => performance.now());
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

  /** Stops the loop promptly; resolves once no probe is running. */
  async stop(): Promise<void> {
    const loop = this.#loop;
    this.#abort?.abort();
    await loop;
    if (this.#loop === loop) {
      this.#loop = undefined;
      this.#abort = undefined;
    }
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const started = this.#now();
      let result: ProbeResult;
      try {
        result = await this.#probe(signal);
      } catch (err) {
        // Probers never throw; a custom probe function might.
        const detail = `probe failed: ${
          (err as Error)?.message ?? String(err)
        }`;
        const verdict: Verdict = { kind: "error", cause: "internal", detail };
        result = { verdict, tcp: { ok: false, ms: 0, verdict }, ms: 0 };
      }
      if (signal.aborted) break;
      this.#observe(result);
      const wait = this.#intervalMs - (this.#now() - started);
      if (wait > 0) await sleep(wait, signal);
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
