/**
 * Structured logging: one line per event, as text or JSON. Every line passes
 * through the secret filter, so a token that slipped into a message or a
 * field is still never written.
 */

import { redact } from "./_redact.ts";

/** Severity, least to most. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Extra key/value context of a log line. */
export type LogFields = Record<string, unknown>;

/** The logger interface every module accepts. */
export interface Logger {
  /** Detail for debugging (off by default). */
  debug(msg: string, fields?: LogFields): void;
  /** A normal event: a state change and its reason. */
  info(msg: string, fields?: LogFields): void;
  /** Something the operator should look at. */
  warn(msg: string, fields?: LogFields): void;
  /** Something failed. */
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. `{ component: "vrrp" }`). */
  with(fields: LogFields): Logger;
}

/** Where lines go; tests capture them. */
export type LogSink = (line: string) => void;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** One `key=value` line or one JSON object per event (default text). */
  format?: "text" | "json";
  /** Least severe level written (default info). */
  level?: LogLevel;
  /**
   * A level that may change while running (a configuration re-read): read
   * at every line, shared by every `with()` logger. Wins over `level`.
   */
  levelRef?: { level: LogLevel };
  /** Where lines go (default: standard error). */
  sink?: LogSink;
  /** Clock for timestamps (tests). */
  now?: () => Date;
}

function textValue(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
  return /^[\w.:/@+-]+$/.test(s) ? s : JSON.stringify(s);
}

/** A logger writing to stderr (or `sink`) in the given format. */
export function createLogger(
  options: LoggerOptions = {},
  bound: LogFields = {},
): Logger {
  const format = options.format ?? "text";
  const fixed = RANK[options.level ?? "info"];
  const ref = options.levelRef;
  const encoder = new TextEncoder();
  const sink = options.sink ??
    ((line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")));
  const now = options.now ?? (() => new Date());
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[level] < (ref ? RANK[ref.level] : fixed)) return;
    const all = { ...bound, ...fields };
    let line: string;
    if (format === "json") {
      line = JSON.stringify(
        { time: now().toISOString(), level, msg, ...all },
        (_k, v) =>
          v instanceof Error
            ? v.message
            : typeof v === "bigint"
            ? String(v)
            : v,
      );
    } else {
      const kv = Object.entries(all).filter(([, v]) => v !== undefined).map((
        [k, v],
      ) => `${k}=${textValue(v)}`);
      line = [now().toISOString(), level.toUpperCase().padEnd(5), msg, ...kv]
        .join(" ");
    }
    sink(redact(line));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    with: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything (library default). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  with: () => silentLogger,
};
