/**
 * The daemon's parts besides the VIP holder and the elector: the health
 * monitor, the signal listener and the observability server. Each starts
 * on the daemon's `AsyncDisposableStack` and is torn down with it.
 *
 * @module
 */
import type { Clock } from "../clock/mod.ts";
import type { Config } from "../config/mod.ts";
import type { Elector } from "../election/mod.ts";
import { HealthMonitor, type ProbeFunction } from "../health/mod.ts";
import {
  type Logger,
  type Metrics,
  serveObservability,
} from "../observe/mod.ts";
import { resilientProbe, verdictReason } from "./_health.ts";
import { CONTROL_SIGNALS } from "./_control.ts";
import type { SignalSource } from "./_signals.ts";
import type { HealthStatus } from "./_status.ts";

/**
 * The daemon's parts, torn down in reverse order of start. It is an
 * `AsyncDisposableStack` whose teardown steps never throw: a part that
 * fails to stop is logged (debug) and the others still stop.
 */
export class PartStack implements AsyncDisposable {
  readonly #stack = new AsyncDisposableStack();
  readonly #log: Logger;

  /** An empty stack; failures of teardown steps go to `log`. */
  constructor(log: Logger) {
    this.#log = log;
  }

  /** Registers `part`'s disposal; returns the part. */
  use<T extends Disposable | AsyncDisposable>(part: T): T {
    this.defer(async () => {
      if (Symbol.asyncDispose in part) await part[Symbol.asyncDispose]();
      else part[Symbol.dispose]();
    });
    return part;
  }

  /** Registers a teardown step. */
  defer(step: () => unknown): void {
    this.#stack.defer(async () => {
      try {
        await step();
      } catch (err) {
        this.#log.debug("cleanup failed", {
          error: err instanceof Error ? err.message : String(err),
        });
      }
    });
  }

  /** Runs every step, the last registered first. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.#stack.disposeAsync();
  }
}

const READY = "havip_health_ready";
const READY_HELP = "1 while the local API server is stably ready.";

/** What the health part needs. */
export interface HealthPartOptions {
  /** `health:` and `k8s:`. */
  config: Config;
  /** The probe (default: the API server check built from `config`). */
  probe?: ProbeFunction;
  /** Environment for in-cluster discovery. */
  env?: Record<string, string>;
  /** Time. */
  clock: Clock;
  /** Where it logs. */
  log: Logger;
  /** Where it counts. */
  metrics: Metrics;
}

/**
 * Gates the elector's eligibility on the API server's stable verdict
 * (without k8s integration every node is eligible). Returns the monitor,
 * or undefined when health is not checked.
 */
export function startHealth(
  stack: PartStack,
  elector: Elector,
  o: HealthPartOptions,
): HealthMonitor | undefined {
  if (!o.config.k8s.enabled) {
    elector.setEligible(true);
    return undefined;
  }
  const log = o.log.with({ component: "health" });
  o.metrics.set(READY, READY_HELP, 0);
  let lastVerdict = "";
  const monitor = new HealthMonitor({
    probe: o.probe ?? resilientProbe(o.config, log, o.env),
    intervalMs: o.config.health.interval,
    stabilityWindowMs: o.config.health.stability_window,
    logger: log,
    clock: o.clock,
    onProbe: (r) => {
      o.metrics.inc("havip_health_probes_total", "Health probes, by verdict.", {
        verdict: r.verdict.kind,
      });
      const line = `${r.verdict.kind}: ${r.verdict.detail}`;
      if (line === lastVerdict) return;
      o.log.debug("health probe", {
        verdict: r.verdict.kind,
        detail: r.verdict.detail,
        ms: Math.round(r.ms),
      });
      lastVerdict = line;
    },
    onChange: (c) => {
      // The monitor logs the change itself (one line, with the verdict).
      const ready = c.to === "ready";
      o.metrics.set(READY, READY_HELP, ready ? 1 : 0);
      elector.setEligible(ready, ready ? undefined : verdictReason(c.verdict));
    },
  });
  monitor.start();
  stack.defer(() => monitor.stop());
  return monitor;
}

/** The health part of `/status`. */
export function healthStatus(monitor: HealthMonitor | undefined): HealthStatus {
  if (monitor === undefined) {
    return { status: "not checked (k8s.enabled: false)" };
  }
  return {
    status: monitor.state.status,
    verdict: monitor.state.verdict?.kind,
    detail: monitor.state.verdict?.detail,
    last_probe: monitor.lastProbe?.verdict.kind,
  };
}

/**
 * Shutdown: the first signal hands over, a second one forces. The control
 * signals (SIGHUP, SIGUSR2) go to `control` instead.
 */
export function listenForSignals(
  stack: PartStack,
  sources: SignalSource[],
  elector: Elector,
  log: Logger,
  control: (name: string) => void = () => {},
): void {
  let signals = 0;
  const onSignal = (name: string) => {
    if ((CONTROL_SIGNALS as readonly string[]).includes(name)) {
      return control(name);
    }
    signals++;
    log.info(
      signals === 1
        ? `${name}: shutting down, handing the VIP over`
        : `${name} again: releasing at once`,
    );
    elector.shutdown(signals > 1);
  };
  for (const source of sources) stack.use(source.subscribe(onSignal));
}

/** Serves `/metrics` and `/status` until the stack is disposed. */
export function startObservability(
  stack: PartStack,
  o: {
    address: string;
    metrics: Metrics;
    status: () => unknown;
    log: Logger;
  },
): void {
  const ac = new AbortController();
  const server = serveObservability({
    address: o.address,
    metrics: o.metrics,
    signal: ac.signal,
    status: o.status,
    onListen: (a) =>
      o.log.info("serving /metrics and /status", {
        address: `${a.hostname}:${a.port}`,
      }),
  });
  stack.defer(async () => {
    ac.abort();
    await server.finished;
  });
}
