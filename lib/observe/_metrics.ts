/**
 * A small metrics registry with the Prometheus text exposition format, and
 * the HTTP endpoint that serves it next to a JSON status document. Labels
 * are fixed small sets (state names, drop reasons): never a token, never a
 * peer-controlled string without a bound.
 */
import { redact } from "./_redact.ts";

/** Label names and values of one series (small fixed sets, never a secret). */
export type Labels = Record<string, string>;

/** A counter only goes up; a gauge is set. */
export type MetricType = "counter" | "gauge";

interface Series {
  name: string;
  help: string;
  type: "counter" | "gauge";
  values: Map<string, { labels: Labels; value: number }>;
}

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll(
    "\n",
    "\\n",
  );
}

/** A set of counters and gauges. */
export class Metrics {
  #series = new Map<string, Series>();

  #get(name: string, help: string, type: MetricType): Series {
    let s = this.#series.get(name);
    if (!s) {
      s = { name, help, type, values: new Map() };
      this.#series.set(name, s);
    }
    return s;
  }

  /** Declares a metric so it shows (at 0) before its first event. */
  declare(
    name: string,
    help: string,
    type: MetricType,
    labels: Labels = {},
  ): void {
    const s = this.#get(name, help, type);
    const key = labelKey(labels);
    if (!s.values.has(key)) s.values.set(key, { labels, value: 0 });
  }

  /** Adds `by` (default 1) to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const s = this.#get(name, help, "counter");
    const key = labelKey(labels);
    const v = s.values.get(key);
    if (v) v.value += by;
    else s.values.set(key, { labels, value: by });
  }

  /** Sets a gauge. */
  set(name: string, help: string, value: number, labels: Labels = {}): void {
    this.#get(name, help, "gauge").values.set(labelKey(labels), {
      labels,
      value,
    });
  }

  /** The current value (tests, status). */
  value(name: string, labels: Labels = {}): number | undefined {
    return this.#series.get(name)?.values.get(labelKey(labels))?.value;
  }

  /** Prometheus text format 0.0.4. */
  render(): string {
    const out: string[] = [];
    for (
      const s of [...this.#series.values()].sort((a, b) =>
        a.name.localeCompare(b.name)
      )
    ) {
      out.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
      for (const { labels, value } of s.values.values()) {
        const l = Object.entries(labels).map(([k, v]) =>
          `${k}="${escapeLabel(v)}"`
        ).join(",");
        out.push(`${s.name}${l ? `{${l}}` : ""} ${value}`);
      }
    }
    return redact(out.join("\n") + "\n");
  }
}

/** Options of {@link serveObservability}. */
export interface ObserveServerOptions {
  /** `host:port`, `:port` or `[v6]:port`. */
  address: string;
  /** What /metrics serves. */
  metrics: Metrics;
  /** The JSON document served at /status. */
  status: () => unknown;
  /** Stops the server. */
  signal?: AbortSignal;
  /** Called with the address it listens on (port 0: the one chosen). */
  onListen?: (addr: Deno.NetAddr) => void;
}

/** Parses `host:port` (host may be empty or bracketed IPv6). */
export function parseHostPort(
  address: string,
): { hostname: string; port: number } {
  const m = /^(\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(address);
  if (!m) throw new TypeError(`not host:port: ${JSON.stringify(address)}`);
  return { hostname: m[2] ?? (m[3] || "0.0.0.0"), port: Number(m[4]) };
}

/**
 * The endpoint's address cannot be listened on (in use, not this host's, a
 * privileged port): a problem of the configured address, which the CLI
 * reports as a usage error naming the field.
 */
export class ListenError extends Error {
  /** `address` as configured; `reason` says why it cannot be listened on. */
  constructor(readonly address: string, readonly reason: string) {
    super(`cannot listen on ${address}: ${reason}`);
    this.name = "ListenError";
  }
}

function listenReason(err: unknown): string {
  if (err instanceof Deno.errors.AddrInUse) {
    return "the port is in use (another ha-vip, or another program); choose a free port";
  }
  if (err instanceof Deno.errors.AddrNotAvailable) {
    return "that address is not one of this host's; use 127.0.0.1 or an address of this node";
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE); use a port above 1024, e.g. 9480";
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Serves GET /metrics (Prometheus text) and GET /status (JSON) until `signal`
 * aborts. Throws {@link ListenError} when the address cannot be listened on.
 */
export function serveObservability(
  options: ObserveServerOptions,
): Deno.HttpServer<Deno.NetAddr> {
  const { hostname, port } = parseHostPort(options.address);
  try {
    return serve(options, hostname, port);
  } catch (err) {
    throw new ListenError(options.address, listenReason(err));
  }
}

function serve(
  options: ObserveServerOptions,
  hostname: string,
  port: number,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    hostname,
    port,
    signal: options.signal,
    onListen: (addr) => options.onListen?.(addr),
  }, (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET") {
      return new Response("method not allowed\n", { status: 405 });
    }
    if (path === "/metrics") {
      return new Response(options.metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (path === "/status") {
      return new Response(
        redact(JSON.stringify(options.status(), null, 2)) + "\n",
        {
          headers: { "content-type": "application/json" },
        },
      );
    }
    return new Response("not found: try /metrics or /status\n", {
      status: 404,
    });
  });
}
