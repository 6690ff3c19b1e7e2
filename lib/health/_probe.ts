/**
 * One health probe of the local API server, in two stages:
 *
 * 1. TCP connect to the URL's address (cheap; distinguishes "nothing
 *    listening" from "listening but unhealthy" and is shown by
 *    `ha-vip probe`).
 * 2. `GET /readyz`, authoritative.
 *
 * Why plain `/readyz` and not `/readyz?verbose` first: kube-apiserver is
 * "always verbose on failure" (healthz.go), so a failing answer already
 * lists the failing checks, and a passing one is a 2-byte "ok". Only when a
 * failing answer has no check list (another implementation, a proxy) is
 * `?verbose` asked for, within the same time budget.
 *
 * `timeoutMs` bounds the whole probe, both stages together, so a probe
 * never outlives its budget whatever stage hangs.
 *
 * A {@link Prober} keeps its connection alive from probe to probe (one TLS
 * handshake instead of one per probe; `deno task bench` measures the CPU
 * this saves). While that connection is open the TCP stage is not repeated:
 * the kept connection already shows the port accepts, and the readyz
 * request over it is the authoritative check. A failure of the kept
 * connection is retried on a new one within the same budget, whose
 * connect then reports a refused or unreachable server as before.
 */

import {
  ApiClient,
  type Logger,
  nullLogger,
  type TokenSource,
} from "../k8s/mod.ts";
import {
  type Verdict,
  verdictFromError,
  verdictFromResponse,
} from "./_verdict.ts";

/** Options of a probe (mapped from `health.*` and `k8s.*` by the daemon). */
export interface ProbeOptions {
  /**
   * `health.url`: the API server, e.g. `https://127.0.0.1:6443`. A path other
   * than `/` is used as the readiness path instead of `/readyz`.
   */
  url: string;
  /** `health.timeout`: budget of the whole probe (TCP + readyz). */
  timeoutMs: number;
  /** `health.tls_server_name` (default for loopback URLs: `kubernetes`). */
  tlsServerName?: string;
  /** `health.insecure_skip_tls_verify`. */
  insecureSkipTlsVerify?: boolean;
  /** `k8s.ca_cert` (or the in-cluster CA). */
  caCertFile?: string;
  /** PEM text instead of `caCertFile`. */
  caCert?: string;
  /** Bearer token; default anonymous. */
  tokenSource?: TokenSource;
  /** Debug line per probe; the client's warnings. */
  logger?: Logger;
  /** Keep the connection open between probes (default true). */
  keepAlive?: boolean;
}

/** Result of the TCP stage. */
export interface TcpStageResult {
  /** Whether the connection was established (or a kept one was reused). */
  ok: boolean;
  /** A kept-alive connection was reused: no new connect was made. */
  reused?: boolean;
  /** `host:port` connected to. */
  address?: string;
  /** Time spent, ms. */
  ms: number;
  /** Why it failed (connection_refused, timeout, error). */
  verdict?: Verdict;
}

/** Result of the readyz stage. */
export interface ReadyzStageResult {
  /** The path probed, e.g. `/readyz`. */
  path: string;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** Time spent, ms (including a `?verbose` follow-up). */
  ms: number;
  /** Whether a `?verbose` follow-up was made. */
  verboseFollowUp: boolean;
  /** The overall verdict (the readyz verdict, or the TCP failure). */
  verdict: Verdict;
}

/** What one probe found, stage by stage. */
export interface ProbeResult {
  /** The overall verdict (the readyz verdict, or the TCP failure). */
  verdict: Verdict;
  /** The TCP stage. */
  tcp: TcpStageResult;
  /** Absent when the TCP stage failed. */
  readyz?: ReadyzStageResult;
  /** Total time, ms. */
  ms: number;
}

/** Probes one API server repeatedly (the client and its file caches are reused). */
export class Prober {
  readonly #client: ApiClient;
  /** The readiness path, e.g. `/readyz`. */
  readonly path: string;
  readonly #timeoutMs: number;
  readonly #tokenSource?: TokenSource;
  readonly #logger: Logger;

  /** Builds the client; throws on an invalid URL. */
  constructor(options: ProbeOptions) {
    const url = new URL(options.url);
    this.path = url.pathname === "/" || url.pathname === ""
      ? "/readyz"
      : url.pathname + url.search;
    this.#timeoutMs = options.timeoutMs;
    this.#tokenSource = options.tokenSource;
    this.#logger = options.logger ?? nullLogger;
    this.#client = new ApiClient({
      url: url.origin,
      tlsServerName: options.tlsServerName,
      insecureSkipTlsVerify: options.insecureSkipTlsVerify,
      caCertFile: options.caCertFile,
      caCert: options.caCert,
      tokenSource: options.tokenSource,
      timeoutMs: options.timeoutMs,
      logger: options.logger,
      keepAlive: options.keepAlive,
    });
  }

  /** `host:port` of the API server probed. */
  get address(): string {
    return this.#client.address;
  }

  /** Closes the kept connection. */
  close(): void {
    this.#client.close();
  }

  /** Runs both stages; never throws (failures are verdicts). */
  async probe(signal?: AbortSignal): Promise<ProbeResult> {
    const started = performance.now();
    const remaining = () =>
      Math.max(1, Math.round(this.#timeoutMs - (performance.now() - started)));
    const tcp: TcpStageResult = this.#client.connected
      ? { ok: true, reused: true, address: this.#client.address, ms: 0 }
      : await this.#tcpStage(signal);
    if (!tcp.ok) {
      return this.#done({
        verdict: tcp.verdict!,
        tcp,
        ms: performance.now() - started,
      });
    }
    return await this.#readyzStage(tcp, started, remaining, signal);
  }

  /** Stage 1: connect and close. */
  async #tcpStage(signal?: AbortSignal): Promise<TcpStageResult> {
    const started = performance.now();
    try {
      const ms = await this.#client.checkTcp({
        timeoutMs: this.#timeoutMs,
        signal,
      });
      return { ok: true, address: this.#client.address, ms };
    } catch (err) {
      return {
        ok: false,
        address: this.#client.address,
        ms: performance.now() - started,
        verdict: verdictFromError(err, "tcp"),
      };
    }
  }

  /** Stage 2: GET the readiness path (and `?verbose` when the answer lists no checks). */
  async #readyzStage(
    tcp: TcpStageResult,
    started: number,
    remaining: () => number,
    signal?: AbortSignal,
  ): Promise<ProbeResult> {
    const readyzStart = performance.now();
    let verdict: Verdict;
    let status: number | undefined;
    let verboseFollowUp = false;
    try {
      const res = await this.#client.request({
        method: "GET",
        path: this.path,
        headers: { Accept: "text/plain, */*" },
        timeoutMs: remaining(),
        signal,
      });
      status = res.status;
      let verbose: string | undefined;
      if (
        res.status >= 500 && !res.body.includes("[-]") &&
        !res.body.includes("[+]")
      ) {
        verboseFollowUp = true;
        verbose = await this.#verbose(remaining(), signal);
      }
      verdict = verdictFromResponse(res, {
        path: this.path,
        tokenDescription: this.#tokenSource?.description,
      }, verbose);
    } catch (err) {
      verdict = verdictFromError(err, "readyz");
    }
    return this.#done({
      verdict,
      tcp,
      readyz: {
        path: this.path,
        status,
        ms: performance.now() - readyzStart,
        verboseFollowUp,
        verdict,
      },
      ms: performance.now() - started,
    });
  }

  async #verbose(
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const sep = this.path.includes("?") ? "&" : "?";
    try {
      const res = await this.#client.request({
        method: "GET",
        path: `${this.path}${sep}verbose`,
        headers: { Accept: "text/plain, */*" },
        timeoutMs,
        signal,
      });
      return res.body;
    } catch {
      return undefined; // the first answer already decided "not ready"
    }
  }

  #done(result: ProbeResult): ProbeResult {
    this.#logger.debug("health probe", {
      verdict: result.verdict.kind,
      tcp_ms: Math.round(result.tcp.ms),
      readyz_ms: result.readyz ? Math.round(result.readyz.ms) : undefined,
      status: result.readyz?.status,
    });
    return result;
  }
}

/** A {@link Prober} for `options`. */
export function createProber(options: ProbeOptions): Prober {
  return new Prober(options);
}

/** Probes once (for `ha-vip probe` / `check`) on a fresh connection. Never throws for probe failures. */
export async function probeOnce(
  options: ProbeOptions & { signal?: AbortSignal },
): Promise<ProbeResult> {
  const prober = new Prober({ ...options, keepAlive: false });
  try {
    return await prober.probe(options.signal);
  } finally {
    prober.close();
  }
}
