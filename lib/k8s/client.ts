/**
 * A small API-server client: one HTTP/1.1 request per connection over
 * `Deno.connect` + `Deno.startTls`.
 *
 * Why not `fetch`: `Deno.createHttpClient` verifies the URL's host and has no
 * server-name override, and a kubeadm serving certificate has no 127.0.0.1
 * SAN, so `https://127.0.0.1:6443` could not be verified against the
 * cluster CA. `Deno.startTls({ hostname })` verifies the chain against
 * `caCerts` *and* the certificate against `hostname`, which we set to the
 * configured server name while connecting to the URL's address.
 *
 * Connections are not reused (`Connection: close`): a request every couple of
 * seconds to a local server does not need pooling, and a fresh connection
 * per probe is what a health check should measure.
 */

import { encodeRequest, ResponseDecoder } from "./_http1.ts";
import { type ByteStream, connectUnverifiedTls, writeAll } from "./_stream.ts";
import { WatchedFile } from "./_watched_file.ts";
import type { TokenSource } from "./credentials.ts";
import {
  AbortedError,
  classifyFailure,
  CredentialsError,
  type FailureContext,
  HttpStatusError,
  type KubeStatus,
  ProtocolError,
} from "./errors.ts";
import { type Logger, nullLogger } from "./logger.ts";
import { redactSecret, type Secret } from "./secret.ts";

/** The server name verified for loopback URLs when none is configured. */
export const DEFAULT_TLS_SERVER_NAME = "kubernetes";

/** Default response body limit: 1 MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  /** Base URL of the API server, e.g. `https://127.0.0.1:6443`. A path is a prefix. */
  url: string;
  /**
   * The name the serving certificate is verified against (and sent as SNI).
   * Default: `kubernetes` when the URL host is a loopback address (kubeadm
   * certificates never carry 127.0.0.1), else the URL host.
   */
  tlsServerName?: string;
  /** PEM file of the cluster CA; re-read when it changes. */
  caCertFile?: string;
  /** PEM text of the cluster CA (instead of `caCertFile`). */
  caCert?: string;
  /** Skip all certificate verification. Logged loudly at construction. */
  insecureSkipTlsVerify?: boolean;
  /** Bearer token; default anonymous. */
  tokenSource?: TokenSource;
  /** Per-request timeout (connect to last byte). Default 10 000 ms. */
  timeoutMs?: number;
  /** Response body limit. Default {@link DEFAULT_MAX_RESPONSE_BYTES}. */
  maxResponseBytes?: number;
  /** Default `ha-vip`. */
  userAgent?: string;
  /** Debug line per request; the insecure-TLS warning. */
  logger?: Logger;
}

/** One request. */
export interface ApiRequest {
  /** HTTP method: GET, POST, PUT, PATCH, DELETE. */
  method: string;
  /** Path and query, starting with `/`: `/readyz?verbose`. */
  path: string;
  /** A string is sent as UTF-8. */
  body?: string | Uint8Array;
  /** Extra headers (`Host`, `Content-Length`, `Authorization` are the client's). */
  headers?: Record<string, string>;
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number;
  /** Aborts the request (the connection is closed). */
  signal?: AbortSignal;
}

/** A response (any status: only transport failures throw). */
export interface ApiResponse {
  /** HTTP status code. */
  status: number;
  /** HTTP reason phrase (redacted). */
  statusText: string;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The body as UTF-8 text, with our token (if echoed) redacted. */
  body: string;
  /** Whether the request carried a bearer token. */
  authenticated: boolean;
}

/** Per-call options of the JSON helpers. */
export interface JsonRequestOptions {
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Overrides the client's timeout. */
  timeoutMs?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Options of {@link ApiClient.checkTcp}. */
export interface TcpCheckOptions {
  /** Overrides the client's timeout. */
  timeoutMs?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/** Media types of the three PATCH flavours the API server accepts. */
export const PATCH_TYPES = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
} as const;

/** Parses a Kubernetes `Status` body, if it is one. */
export function parseKubeStatus(body: string): KubeStatus | undefined {
  try {
    const v = JSON.parse(body);
    if (v && typeof v === "object" && v.kind === "Status") {
      return {
        reason: typeof v.reason === "string" ? v.reason : undefined,
        message: typeof v.message === "string" ? v.message : undefined,
        code: typeof v.code === "number" ? v.code : undefined,
      };
    }
  } catch {
    // not JSON
  }
  return undefined;
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/**
 * A client for one API server. Stateless apart from cached file reads; safe
 * to share between the health probe and the Lease elector.
 */
export class ApiClient {
  /** The base URL. */
  readonly url: URL;
  /** The name TLS verifies against (`undefined` for http://). */
  readonly serverName?: string;
  readonly #hostname: string;
  readonly #port: number;
  readonly #basePath: string;
  readonly #tls: boolean;
  readonly #insecure: boolean;
  readonly #tokenSource?: TokenSource;
  readonly #timeoutMs: number;
  readonly #maxBody: number;
  readonly #userAgent: string;
  readonly #logger: Logger;
  readonly #caText?: string;
  readonly #caFile?: WatchedFile;

  /** Validates the URL; reads nothing yet (files are read per request). Warns once when verification is disabled. */
  constructor(options: ApiClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new CredentialsError(
        `API server URL "${options.url}" is not a URL; expected https://host:port`,
      );
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new CredentialsError(
        `API server URL "${options.url}" must use https:// (or http://)`,
      );
    }
    this.url = url;
    this.#tls = url.protocol === "https:";
    this.#hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    this.#port = url.port ? Number(url.port) : this.#tls ? 443 : 80;
    this.#basePath = url.pathname.replace(/\/+$/, "");
    this.#insecure = options.insecureSkipTlsVerify ?? false;
    this.#tokenSource = options.tokenSource;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxBody = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#userAgent = options.userAgent ?? "ha-vip";
    this.#logger = options.logger ?? nullLogger;
    if (this.#tls) {
      this.serverName = options.tlsServerName ??
        (LOOPBACK.test(this.#hostname)
          ? DEFAULT_TLS_SERVER_NAME
          : this.#hostname);
      this.#caText = options.caCert;
      if (options.caCertFile !== undefined && options.caCert === undefined) {
        this.#caFile = new WatchedFile(options.caCertFile);
      }
      if (this.#insecure) {
        this.#logger.warn(
          "TLS certificate verification is DISABLED (insecure_skip_tls_verify): any server on the path can impersonate the API server",
          { url: url.origin },
        );
      }
    }
  }

  /** `host:port` of the API server. */
  get address(): string {
    return this.#hostname.includes(":")
      ? `[${this.#hostname}]:${this.#port}`
      : `${this.#hostname}:${this.#port}`;
  }

  async #caCerts(): Promise<string[] | undefined> {
    if (this.#caText !== undefined) return [this.#caText];
    if (!this.#caFile) return undefined;
    let text: string;
    try {
      text = (await this.#caFile.read()).text;
    } catch (err) {
      throw new CredentialsError(
        `cannot read CA certificate file ${this.#caFile.path}: ${
          (err as Error).name
        }`,
      );
    }
    if (!text.includes("-----BEGIN CERTIFICATE-----")) {
      throw new CredentialsError(
        `CA certificate file ${this.#caFile.path} holds no PEM certificate`,
      );
    }
    return [text];
  }

  #context(timeoutMs: number, secret?: Secret): FailureContext {
    return {
      phase: "connect",
      address: this.address,
      serverName: this.#tls ? this.serverName : undefined,
      timeoutMs,
      timedOut: false,
      aborted: false,
      secret,
    };
  }

  /**
   * Opens and closes a TCP connection to the API server: the probe's first
   * stage. Resolves with the connect time in ms; throws an `ApiError`
   * (`connection_refused`, `timeout`, `network`, `aborted`).
   */
  async checkTcp(options: TcpCheckOptions = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const ctx = this.#context(timeoutMs);
    const started = performance.now();
    const internal = new AbortController();
    const timer = setTimeout(() => {
      ctx.timedOut = true;
      internal.abort();
    }, timeoutMs);
    const onAbort = () => {
      ctx.aborted = true;
      internal.abort();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (options.signal?.aborted) onAbort();
      if (internal.signal.aborted) throw internal.signal.reason;
      const conn = await Deno.connect({
        hostname: this.#hostname,
        port: this.#port,
        signal: internal.signal,
      });
      conn.close();
      return performance.now() - started;
    } catch (err) {
      throw classifyFailure(err, ctx);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Sends one request and returns the response, whatever its status. Throws
   * an `ApiError` for transport failures: `tls`, `timeout`,
   * `connection_refused`, `network`, `protocol`, `aborted`, `credentials`.
   */
  async request(req: ApiRequest): Promise<ApiResponse> {
    const timeoutMs = req.timeoutMs ?? this.#timeoutMs;
    if (req.signal?.aborted) {
      throw new AbortedError(`request to ${this.address} aborted (connect)`);
    }
    if (!req.path.startsWith("/")) {
      throw new TypeError(`request path must start with /: ${req.path}`);
    }
    const secret = await this.#tokenSource?.token();
    const caCerts = this.#tls && !this.#insecure
      ? await this.#caCerts()
      : undefined;
    const method = req.method.toUpperCase();
    const headers: [string, string][] = [
      ["User-Agent", this.#userAgent],
      ["Connection", "close"],
    ];
    const extra = Object.entries(req.headers ?? {});
    if (!extra.some(([n]) => n.toLowerCase() === "accept")) {
      headers.push(["Accept", "application/json"]);
    }
    const body = typeof req.body === "string"
      ? new TextEncoder().encode(req.body)
      : req.body;
    if (
      body !== undefined &&
      !extra.some(([n]) => n.toLowerCase() === "content-type")
    ) {
      headers.push(["Content-Type", "application/json"]);
    }
    for (const [name, value] of extra) {
      if (/^(authorization|connection|user-agent)$/i.test(name)) {
        throw new TypeError(`header ${name} is set by the client`);
      }
      headers.push([name, value]);
    }
    if (secret) headers.push(["Authorization", `Bearer ${secret.reveal()}`]);
    let wire: Uint8Array;
    try {
      wire = encodeRequest({
        method,
        target: this.#basePath + req.path,
        host: this.url.host,
        headers,
        body,
      });
    } catch (err) {
      // encodeRequest names the header, never its value.
      throw new TypeError(`cannot encode request: ${(err as Error).message}`);
    }

    const ctx = this.#context(timeoutMs, secret);
    const internal = new AbortController();
    let stream: ByteStream | undefined;
    const closeStream = () => {
      try {
        stream?.close();
      } catch {
        // already closed
      }
      stream = undefined;
    };
    const timer = setTimeout(() => {
      ctx.timedOut = true;
      internal.abort();
      closeStream();
    }, timeoutMs);
    const onAbort = () => {
      ctx.aborted = true;
      internal.abort();
      closeStream();
    };
    req.signal?.addEventListener("abort", onAbort, { once: true });
    const started = performance.now();
    try {
      stream = await this.#open(ctx, internal.signal, caCerts, (s) => {
        stream = s;
      });
      ctx.phase = "request";
      await writeAll(stream, wire);
      ctx.phase = "response";
      const decoded = await this.#readResponse(stream, method);
      const text = redactSecret(new TextDecoder().decode(decoded.body), secret);
      // No prototype: a header named "__proto__" or "constructor" is just data.
      const out: Record<string, string> = Object.create(null);
      for (const [name, value] of decoded.headers) {
        const v = redactSecret(value, secret);
        out[name] = Object.hasOwn(out, name) ? `${out[name]}, ${v}` : v;
      }
      this.#logger.debug("api request", {
        method,
        path: req.path,
        status: decoded.status,
        ms: Math.round(performance.now() - started),
      });
      return {
        status: decoded.status,
        statusText: redactSecret(decoded.statusText, secret),
        headers: out,
        body: text,
        authenticated: secret !== undefined,
      };
    } catch (err) {
      const failure = classifyFailure(err, ctx);
      this.#logger.debug("api request failed", {
        method,
        path: req.path,
        kind: failure.kind,
        error: failure.message,
      });
      throw failure;
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener("abort", onAbort);
      closeStream();
    }
  }

  /** Connects (and handshakes), updating `ctx.phase`; `track` lets the timer close it. */
  async #open(
    ctx: FailureContext,
    signal: AbortSignal,
    caCerts: string[] | undefined,
    track: (s: ByteStream) => void,
  ): Promise<ByteStream> {
    if (signal.aborted) throw signal.reason;
    if (this.#tls && this.#insecure) {
      // node:tls connects and handshakes in one step.
      ctx.phase = "tls";
      const s = await connectUnverifiedTls({
        hostname: this.#hostname,
        port: this.#port,
        serverName: this.serverName!,
        signal,
      });
      track(s);
      if (signal.aborted) throw signal.reason;
      return s;
    }
    const tcp = await Deno.connect({
      hostname: this.#hostname,
      port: this.#port,
      signal,
    });
    track(tcp);
    // Without it, Nagle holds the request behind the unacknowledged TLS
    // Finished record until the peer's delayed ACK (~40 ms per request).
    tcp.setNoDelay(true);
    if (signal.aborted) throw signal.reason;
    if (!this.#tls) return tcp;
    ctx.phase = "tls";
    const tls = await Deno.startTls(tcp, {
      hostname: this.serverName,
      caCerts,
    });
    track(tls);
    if (signal.aborted) throw signal.reason;
    // Handshake now, so certificate errors surface in the "tls" phase.
    await tls.handshake();
    return tls;
  }

  async #readResponse(stream: ByteStream, method: string) {
    const decoder = new ResponseDecoder({
      method,
      maxBodyBytes: this.#maxBody,
    });
    const buf = new Uint8Array(16 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await stream.read(buf);
      } catch (err) {
        // A peer closing without TLS close_notify: treat as the end; the
        // decoder still rejects a truncated length-framed body.
        if ((err as Error)?.name === "UnexpectedEof") n = null;
        else throw err;
      }
      if (n === null) return decoder.end();
      const done = decoder.push(buf.subarray(0, n));
      if (done) return done;
    }
  }

  async #json<T>(
    method: string,
    path: string,
    body: unknown,
    options: JsonRequestOptions & { contentType?: string },
  ): Promise<T> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.contentType) headers["Content-Type"] = options.contentType;
    const res = await this.request({
      method,
      path,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
    if (res.status < 200 || res.status > 299) {
      const status = parseKubeStatus(res.body);
      const what = status?.message
        ? `: ${shorten(status.message, 300)}`
        : res.body
        ? `: ${shorten(res.body.trim(), 200)}`
        : "";
      throw new HttpStatusError(
        res.status,
        `${method} ${path}: HTTP ${res.status}${
          status?.reason ? ` ${status.reason}` : ""
        }${what}`,
        {
          reason: status?.reason,
          statusMessage: status?.message && shorten(status.message, 1000),
          body: shorten(res.body, 4096),
        },
      );
    }
    if (res.status === 204 || res.body === "") return undefined as T;
    try {
      return JSON.parse(res.body) as T;
    } catch {
      throw new ProtocolError(
        `${method} ${path}: HTTP ${res.status} body is not JSON`,
      );
    }
  }

  /** GET `path` as JSON; non-2xx throws {@link HttpStatusError}. */
  getJson<T = unknown>(
    path: string,
    options: JsonRequestOptions = {},
  ): Promise<T> {
    return this.#json<T>("GET", path, undefined, options);
  }

  /** POST `body` as JSON (create); non-2xx throws {@link HttpStatusError} (409 AlreadyExists). */
  postJson<T = unknown>(
    path: string,
    body: unknown,
    options: JsonRequestOptions = {},
  ): Promise<T> {
    return this.#json<T>("POST", path, body, options);
  }

  /** PUT `body` as JSON (update; 409 Conflict on a stale resourceVersion). */
  putJson<T = unknown>(
    path: string,
    body: unknown,
    options: JsonRequestOptions = {},
  ): Promise<T> {
    return this.#json<T>("PUT", path, body, options);
  }

  /** PATCH with the given patch flavour (default JSON merge patch). */
  patchJson<T = unknown>(
    path: string,
    body: unknown,
    options: JsonRequestOptions & { patchType?: keyof typeof PATCH_TYPES } = {},
  ): Promise<T> {
    return this.#json<T>("PATCH", path, body, {
      ...options,
      contentType: PATCH_TYPES[options.patchType ?? "merge"],
    });
  }

  /** DELETE; non-2xx throws {@link HttpStatusError}. */
  deleteJson<T = unknown>(
    path: string,
    options: JsonRequestOptions = {},
  ): Promise<T> {
    return this.#json<T>("DELETE", path, undefined, options);
  }

  /** Safe to print: URL and server name only. */
  [Symbol.for("Deno.customInspect")](): string {
    return `ApiClient(${this.url.origin}, serverName=${
      this.serverName ?? "-"
    })`;
  }
}
