/**
 * The signals that do not end the daemon, besides SIGUSR1 (lib/harden's:
 * a state dump of the `/status` document, never a debugger):
 *
 * - SIGHUP: re-read the configuration from the same sources (flags and
 *   environment still beat the file). A file with errors changes nothing
 *   (each error logged). Otherwise the fields a running daemon can take
 *   (health check and credentials, the election backend's own, log level)
 *   are applied and logged, and the others are named: they need a restart
 *   and the daemon keeps running with the old values.
 * - SIGUSR2: ignored, with a line saying so (keepalived's SIGUSR2 writes
 *   statistics; ha-vip has /metrics). Without a handler it would end the
 *   daemon with no handover.
 *
 * @module
 */
import {
  type Config,
  type ConfigChange,
  ConfigError,
  diffConfig,
  formatChange,
  formatIssue,
  type LoadedConfig,
} from "../config/mod.ts";
import type { Elector } from "../election/mod.ts";
import type { HealthMonitor, ProbeFunction } from "../health/mod.ts";
import type { Logger, LogLevel } from "../observe/mod.ts";

/** Signals handled here (the rest of those listened to end the daemon). */
export const CONTROL_SIGNALS = ["SIGHUP", "SIGUSR2"] as const;

/** What the control signals act on. */
export interface ControlOptions {
  /** The running configuration; replaced by what a re-read applied. */
  config: { current: Config };
  /** Re-reads the configuration's sources; rejects with a ConfigError. */
  reload?: () => Promise<LoadedConfig>;
  /** Where the file came from, for the log (`--config` path). */
  file?: string;
  /** Changes the log level of every logger of the daemon. */
  setLogLevel?: (level: LogLevel) => void;
  elector: Elector;
  /** The health monitor, when health is checked. */
  health?: HealthMonitor;
  /** The probe for a configuration (health settings and credentials). */
  probeFor: (config: Config) => ProbeFunction;
  /**
   * The election's client of the local API server follows `k8s.*` and
   * `health.*` too (a backend that talks to it must follow the health target).
   */
  apiChanged?: (config: Config) => void;
  /** Where it says what it did. */
  log: Logger;
}

/** Handles one control signal (see the module docs). */
export function handleControlSignal(o: ControlOptions, name: string): void {
  switch (name) {
    case "SIGHUP":
      void reloadConfig(o).catch((err) =>
        o.log.error("SIGHUP: the re-read failed; nothing changed", {
          error: err instanceof Error ? err.message : String(err),
        })
      );
      return;
    case "SIGUSR2":
      o.log.info(
        "SIGUSR2: ignored (SIGUSR1 logs a state dump, SIGHUP re-reads the configuration, /metrics has the counters)",
      );
      return;
  }
}

/** The SIGHUP re-read; see the module docs. */
export async function reloadConfig(o: ControlOptions): Promise<void> {
  if (o.reload === undefined) {
    o.log.info(
      "SIGHUP: no configuration file to re-read (started without --config); nothing changed",
    );
    return;
  }
  let next: LoadedConfig;
  try {
    next = await o.reload();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) {
      o.log.error(`SIGHUP: ${formatIssue(issue)}`);
    }
    o.log.error(
      "SIGHUP: the configuration has errors; nothing of it was applied, still running with the previous one",
    );
    return;
  }
  const changes = diffConfig(o.config.current, next.config);
  const live = changes.filter((c) => c.live);
  const later = changes.filter((c) => !c.live);
  if (live.length > 0) apply(o, next.config, live);
  const where = o.file ? ` from ${o.file}` : "";
  o.log.info(
    changes.length === 0
      ? `SIGHUP: configuration re-read${where}: no change`
      : `SIGHUP: configuration re-read${where}: ${
        live.length === 0 ? "nothing applied" : `applied ${list(live)}`
      }`,
  );
  if (later.length > 0) {
    o.log.warn(
      `SIGHUP: ${
        list(later)
      }: cannot change while running; restart ha-vip to apply (still running with the old value)`,
    );
  }
}

function list(changes: ConfigChange[]): string {
  return changes.map(formatChange).join("; ");
}

/** Applies the live changes and keeps the rest of the running config. */
function apply(o: ControlOptions, next: Config, live: ConfigChange[]): void {
  const merged = structuredClone(o.config.current);
  for (const c of live) setAt(merged, c.path, valueAt(next, c.path));
  o.config.current = merged;
  const touched = (prefix: string) =>
    live.some((c) => c.path.startsWith(prefix));
  if (touched("observe.log_level")) {
    o.setLogLevel?.(merged.observe.log_level);
  }
  if (touched("election.")) o.elector.reconfigure(merged);
  if (touched("health.") || touched("k8s.")) o.apiChanged?.(merged);
  if (o.health && (touched("health.") || touched("k8s."))) {
    o.health.reconfigure({
      probe: o.probeFor(merged),
      intervalMs: merged.health.interval,
      stabilityWindowMs: merged.health.stability_window,
    });
  }
}

function valueAt(config: Config, path: string): unknown {
  // deno-lint-ignore no-explicit-any
  return path.split(".").reduce<any>((n, k) => n?.[k], config);
}

function setAt(config: Config, path: string, value: unknown): void {
  const keys = path.split(".");
  // deno-lint-ignore no-explicit-any
  let node: any = config;
  for (const k of keys.slice(0, -1)) node = node[k];
  node[keys[keys.length - 1]] = value;
}
