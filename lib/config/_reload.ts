/**
 * What a configuration re-read (SIGHUP) changes: each changed field, and
 * whether the running daemon can take it live.
 *
 * Live: the health check (its settings and credentials: the next probe
 * uses them), the VRRP priority and preempt flag (the next advertisement
 * carries them), and the log level. Everything else (the VIP, the
 * interface, the VRRP group and timers, announcements, the status address,
 * the log format) is bound to sockets, timers or peers' expectations
 * made at start: those need a restart, and a re-read says so.
 *
 * @module
 */
import { formatDuration } from "./_duration.ts";
import { FIELDS } from "./_fields.ts";
import type { Config } from "./_schema.ts";

/** The fields a running daemon applies on a re-read. */
export const LIVE_FIELDS: ReadonlySet<string> = new Set([
  "election.vrrp.priority",
  "election.vrrp.preempt",
  "health.url",
  "health.interval",
  "health.timeout",
  "health.stability_window",
  "health.tls_server_name",
  "health.insecure_skip_tls_verify",
  "k8s.api_server",
  "k8s.token",
  "k8s.token_file",
  "k8s.ca_cert",
  "observe.log_level",
]);

/** One field that differs between two configurations. */
export interface ConfigChange {
  /** Dotted path, e.g. `election.vrrp.priority`. */
  path: string;
  /** The old value as an operator reads it (secrets redacted). */
  from: string;
  /** The new value, the same way. */
  to: string;
  /** Whether a running daemon can apply it. */
  live: boolean;
}

function valueAt(config: Config, path: string): unknown {
  // deno-lint-ignore no-explicit-any
  return path.split(".").reduce<any>((n, k) => n?.[k], config);
}

function show(value: unknown, kind: string, secret: boolean): string {
  if (value === undefined) return "unset";
  if (secret) return "<redacted>";
  if (kind === "duration" && typeof value === "number") {
    return formatDuration(value);
  }
  // One VIP reads as it is written (`vip: 10.0.0.100/24`); dual stack as a list.
  if (kind === "cidr_list" && Array.isArray(value) && value.length === 1) {
    return String(value[0]);
  }
  return Array.isArray(value) ? `[${value.join(", ")}]` : String(value);
}

/** The fields whose values differ, in the order of {@link FIELDS}. */
export function diffConfig(before: Config, after: Config): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (const f of FIELDS) {
    const a = valueAt(before, f.path);
    const b = valueAt(after, f.path);
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    const secret = f.secret === true;
    out.push({
      path: f.path,
      from: show(a, f.kind, secret),
      to: secret && a !== undefined && b !== undefined
        ? "<redacted, changed>"
        : show(b, f.kind, secret),
      live: LIVE_FIELDS.has(f.path),
    });
  }
  return out;
}

/** `path: from -> to` */
export function formatChange(c: ConfigChange): string {
  return `${c.path}: ${c.from} -> ${c.to}`;
}
