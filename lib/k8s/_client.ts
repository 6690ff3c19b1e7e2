/**
 * A small API-server client: HTTP/1.1 by `node:http` over a connection that
 * Deno has verified (see `_socket.ts`), one kept-alive connection reused
 * from request to request.
 *
 * Why not `fetch`: `Deno.createHttpClient` verifies the URL's host and has
 * no server-name override, and a kubeadm serving certificate has no
 * 127.0.0.1 SAN, so `https://127.0.0.1:6443` could not be verified against
 * the cluster CA. `Deno.startTls({ hostname })` verifies the chain against
 * `caCerts` *and* the certificate against `hostname`, which we set to the
 * configured server name while connecting to the URL's address.
 *
 * Keep-alive: the health probe runs every couple of seconds and the Lease
 * elector every `retry_period`; a TLS handshake per request costs both
 * sides far more CPU than the request (see `deno task bench`). One idle
 * connection is kept; a request finding it busy opens another, closed
 * afterwards. A connection the server closes while idle is noticed at once
 * (it is read while idle) and dropped; a GET that fails on a reused
 * connection before any response is retried once on a fresh one, as Go's
 * net/http does for replayable requests.
 */

import type { Duplex } from "node:stream";
import {
  checkHeaders,
  exchange,
  isReservedHeader,
  type Received,
} from "./_exchange.ts";
import {
  connectPlain,
  connectUnverifiedTls,
  connectVerifiedTls,
} from "./_socket.ts";
import { WatchedFile } from "./_watched_file.ts";
import type { TokenSource } from "./_credentials.ts";
import {
  AbortedError,
  classifyFailure,
  CredentialsError,
  type FailureContext,
  ProtocolError,
} from "./_errors.ts";
import { type Logger, nullLogger } from "./_logger.ts";
import { redactSecret, type Secret } from "./_secret.ts";
import { statusError } from "./_status.ts";

/** The server name verified for loopback URLs when none is configured. */
export const DEFAULT_TLS_SERVER_NAME = "kubernetes";

/** Default response body limit: 1 MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** Default response head (status line and headers) limit: 64 KiB. */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;

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
  /** Response head limit. Default {@link DEFAULT_MAX_HEADER_BYTES}. */
  maxHeaderBytes?: number;
  /**
   * Keep one connection open between requests (default true). False: a
   * fresh connection (and TLS handshake) per request, `Connection: close`.
   */
  keepAlive?: boolean;
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

/** A parsed JSON answer of {@link ApiClient.requestJson}. */
export interface JsonResponse<T> {
  /** 200, 201 (created), 204, ... */
  status: number;
  /** The parsed body (undefined for 204 or an empty body). */
  object: T;
  /** Response headers (lower-case names). */
  headers: Record<string, string>;
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

/** A connection handed out for one request. */
interface Lease {
  socket: Duplex;
  /** It served an earlier request (a failure may be a stale connection). */
  reused: boolean;
  /** The CA bundle it was verified with (a changed bundle retires it). */
  caKey: string;
  /** While idle: forgets it when the peer closes it. */
  onClose?: () => void;
}

/** What one request needs once credentials are read. */
interface Prepared {
  method: string;
  target: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  caCerts?: string[];
  secret?: Secret;
}

/** The request's deadline: the timer and the caller's signal, as one signal. */
interface Deadline {
  ctx: FailureContext;
  signal: AbortSignal;
  done(): void;
}

/**
 * A client for one API server, safe to share between the health probe and
 * the Lease elector. Holds one idle kept-alive connection; call
 * {@link ApiClient.close} (or `using`) when done with it.
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
  readonly #maxHeader: number;
  readonly #keepAlive: boolean;
  readonly #userAgent: string;
  readonly #logger: Logger;
  readonly #caText?: string;
  readonly #caFile?: WatchedFile;
  #idle?: Lease;
  #closed = false;

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
    this.#maxHeader = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    this.#keepAlive = options.keepAlive ?? true;
    this.#userAgent = options.userAgent ?? "ha-vip";
    this.#logger = options.logger ?? nullLogger;
    if (this.#tls) {
      this.serverName = options.tlsServerName ??
        (LOOPBACK.test(this.#hostname)
          ? DEFAULT_TLS_SERVER_NAME
          : this.#hostname);
      this.#caText = options.caCert;
      if (options.caCertFile !== undefined && options.caCert === undefined) {
        this.#caFile = new WatchedFile(
          options.caCertFile,
          "CA certificate file",
        );
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

  /** Whether an idle kept-alive connection is ready for the next request. */
  get connected(): boolean {
    return this.#idle !== undefined && !this.#idle.socket.destroyed;
  }

  /** Closes the idle connection; later requests open a new one. */
  close(): void {
    this.#closed = true;
    this.#idle?.socket.destroy();
    this.#idle = undefined;
  }

  /** Same as {@link ApiClient.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The CA bundle to verify with (undefined: the system roots). */
  async #caCerts(signal: AbortSignal): Promise<string[] | undefined> {
    if (this.#caText !== undefined) return [this.#caText];
    if (!this.#caFile) return undefined;
    const { text } = await this.#caFile.read(signal);
    if (!text.includes("-----BEGIN CERTIFICATE-----")) {
      throw new CredentialsError(
        `CA certificate file ${this.#caFile.path} holds no PEM certificate`,
        { reason: "invalid", path: this.#caFile.path },
      );
    }
    return [text];
  }

  /**
   * Token and CA, read within the request's deadline: a file that hangs
   * (FIFO, hung mount) times the request out instead of wedging it.
   */
  async #credentials(
    d: Deadline,
  ): Promise<{ secret?: Secret; caCerts?: string[] }> {
    d.ctx.phase = "credentials";
    d.ctx.reading = this.#tokenSource?.description;
    const secret = await this.#tokenSource?.token({ signal: d.signal });
    d.ctx.secret = secret;
    d.ctx.reading = this.#caFile && `CA certificate file ${this.#caFile.path}`;
    const caCerts = this.#tls && !this.#insecure
      ? await this.#caCerts(d.signal)
      : undefined;
    d.ctx.reading = undefined;
    return { secret, caCerts };
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

  /** A timer of `timeoutMs` and the caller's `signal`, as one signal. */
  #deadline(timeoutMs: number, outer?: AbortSignal): Deadline {
    const ctx = this.#context(timeoutMs);
    const internal = new AbortController();
    const timer = setTimeout(() => {
      ctx.timedOut = true;
      internal.abort();
    }, timeoutMs);
    const onAbort = () => {
      ctx.aborted = true;
      internal.abort();
    };
    outer?.addEventListener("abort", onAbort, { once: true });
    if (outer?.aborted) onAbort();
    return {
      ctx,
      signal: internal.signal,
      done: () => {
        clearTimeout(timer);
        outer?.removeEventListener("abort", onAbort);
      },
    };
  }

  /**
   * Opens and closes a TCP connection to the API server: the probe's first
   * stage. Resolves with the connect time in ms; throws an `ApiError`
   * (`connection_refused`, `timeout`, `network`, `aborted`).
   */
  async checkTcp(options: TcpCheckOptions = {}): Promise<number> {
    const d = this.#deadline(
      options.timeoutMs ?? this.#timeoutMs,
      options.signal,
    );
    const started = performance.now();
    try {
      d.signal.throwIfAborted();
      const conn = await Deno.connect({
        hostname: this.#hostname,
        port: this.#port,
        signal: d.signal,
      });
      conn.close();
      return performance.now() - started;
    } catch (err) {
      throw classifyFailure(err, d.ctx);
    } finally {
      d.done();
    }
  }

  /** The request's method, target, headers and body; throws `TypeError`. */
  #prepare(req: ApiRequest): Omit<Prepared, "caCerts" | "secret"> {
    if (!req.path.startsWith("/")) {
      throw new TypeError(`request path must start with /: ${req.path}`);
    }
    const method = req.method.toUpperCase();
    const extra = Object.entries(req.headers ?? {});
    const has = (name: string) => extra.some(([n]) => n.toLowerCase() === name);
    const body = typeof req.body === "string"
      ? new TextEncoder().encode(req.body)
      : req.body;
    const headers: Record<string, string> = {
      "User-Agent": this.#userAgent,
      Connection: this.#keepAlive ? "keep-alive" : "close",
    };
    if (!has("accept")) headers.Accept = "application/json";
    if (body !== undefined && !has("content-type")) {
      headers["Content-Type"] = "application/json";
    }
    for (const [name, value] of extra) {
      if (isReservedHeader(name)) {
        throw new TypeError(`header ${name} is set by the client`);
      }
      headers[name] = value;
    }
    if (body !== undefined || ["POST", "PUT", "PATCH"].includes(method)) {
      headers["Content-Length"] = String(body?.length ?? 0);
    }
    const target = this.#basePath + req.path;
    try {
      checkHeaders(method, target, headers);
    } catch (err) {
      // checkHeaders names the header, never its value.
      throw new TypeError(`cannot encode request: ${(err as Error).message}`);
    }
    return { method, target, headers, body };
  }

  /**
   * Sends one request and returns the response, whatever its status. Throws
   * an `ApiError` for transport failures: `tls`, `timeout`,
   * `connection_refused`, `network`, `protocol`, `aborted`, `credentials`.
   */
  async request(req: ApiRequest): Promise<ApiResponse> {
    if (req.signal?.aborted) {
      throw new AbortedError(`request to ${this.address} aborted (connect)`);
    }
    const prepared = this.#prepare(req);
    const d = this.#deadline(req.timeoutMs ?? this.#timeoutMs, req.signal);
    const started = performance.now();
    try {
      const { secret, caCerts } = await this.#credentials(d);
      if (secret) {
        prepared.headers.Authorization = `Bearer ${secret.reveal()}`;
      }
      const got = await this.#send({ ...prepared, caCerts, secret }, d);
      this.#logger.debug("api request", {
        method: prepared.method,
        path: req.path,
        status: got.status,
        ms: Math.round(performance.now() - started),
      });
      return this.#response(got, secret);
    } catch (err) {
      const failure = classifyFailure(err, d.ctx);
      this.#logger.debug("api request failed", {
        method: prepared.method,
        path: req.path,
        kind: failure.kind,
        error: failure.message,
      });
      throw failure;
    } finally {
      d.done();
    }
  }

  /** The response as the caller sees it: text, redacted, headers joined. */
  #response(got: Received, secret?: Secret): ApiResponse {
    // No prototype: a header named "__proto__" or "constructor" is just data.
    const headers: Record<string, string> = Object.create(null);
    for (const [name, value] of got.headers) {
      const v = redactSecret(value, secret);
      headers[name] = Object.hasOwn(headers, name)
        ? `${headers[name]}, ${v}`
        : v;
    }
    return {
      status: got.status,
      statusText: redactSecret(got.statusText, secret),
      headers,
      body: redactSecret(new TextDecoder().decode(got.body), secret),
      authenticated: secret !== undefined,
    };
  }

  /** One exchange; a replayable request failing on a reused connection is retried once. */
  async #send(p: Prepared, d: Deadline): Promise<Received> {
    for (let attempt = 0;; attempt++) {
      const lease = await this.#acquire(p.caCerts, d);
      let responded = false;
      try {
        d.ctx.phase = "request";
        const got = await exchange(lease.socket, {
          method: p.method,
          target: p.target,
          hostname: this.#hostname,
          port: this.#port,
          headers: p.headers,
          body: p.body,
          maxBodyBytes: this.#maxBody,
          maxHeaderBytes: this.#maxHeader,
          signal: d.signal,
          onWritten: () => d.ctx.phase = "response",
          onResponse: () => responded = true,
        });
        this.#release(lease, got.reusable);
        return got;
      } catch (err) {
        lease.socket.destroy();
        const replay = attempt === 0 && lease.reused && !responded &&
          (p.method === "GET" || p.method === "HEAD") &&
          !d.signal.aborted && !(err instanceof ProtocolError) &&
          !/^HPE_/.test(String((err as { code?: unknown })?.code));
        if (!replay) throw err;
        this.#logger.debug(
          "kept-alive connection failed; retrying on a new one",
          {
            error: (err as Error)?.message,
          },
        );
      }
    }
  }

  /** The idle connection, or a new one (connect and TLS phases). */
  async #acquire(caCerts: string[] | undefined, d: Deadline): Promise<Lease> {
    const caKey = caCerts?.join("\n") ?? "";
    const idle = this.#idle;
    this.#idle = undefined;
    if (idle?.onClose) idle.socket.off("close", idle.onClose);
    if (idle && !idle.socket.destroyed && idle.caKey === caKey) {
      (idle.socket as Duplex & { ref?(): void }).ref?.();
      return { socket: idle.socket, caKey, reused: true };
    }
    idle?.socket.destroy(); // closed by the peer, or verified with an old CA
    const connect = {
      hostname: this.#hostname,
      port: this.#port,
      signal: d.signal,
      onPhase: (phase: "connect" | "tls") => d.ctx.phase = phase,
    };
    d.signal.throwIfAborted();
    const socket = !this.#tls
      ? await connectPlain(connect)
      : this.#insecure
      ? await connectUnverifiedTls({ ...connect, serverName: this.serverName! })
      : await connectVerifiedTls({
        ...connect,
        serverName: this.serverName!,
        caCerts,
      });
    return { socket, reused: false, caKey };
  }

  /** Keeps a reusable connection as the idle one; closes any other. */
  #release(lease: Lease, reusable: boolean): void {
    if (!reusable || !this.#keepAlive || this.#closed || this.#idle) {
      lease.socket.destroy();
      return;
    }
    // An idle connection must not keep the process alive.
    (lease.socket as Duplex & { unref?(): void }).unref?.();
    lease.onClose = () => {
      if (this.#idle === lease) this.#idle = undefined;
    };
    lease.socket.once("close", lease.onClose);
    this.#idle = lease;
  }

  /**
   * Sends `body` (if any) as JSON and parses the JSON answer. A non-2xx
   * answer throws an {@link HttpStatusError} with the `Status` reason,
   * message, details and retry-after; a 2xx answer that is not JSON throws
   * a {@link ProtocolError}. `object` is undefined for 204 or an empty body.
   */
  async requestJson<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    options: JsonRequestOptions & { contentType?: string } = {},
  ): Promise<JsonResponse<T>> {
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
      throw statusError(method.toUpperCase(), path, res);
    }
    if (res.status === 204 || res.body === "") {
      return {
        status: res.status,
        object: undefined as T,
        headers: res.headers,
      };
    }
    try {
      return {
        status: res.status,
        object: JSON.parse(res.body) as T,
        headers: res.headers,
      };
    } catch {
      throw new ProtocolError(
        `${method} ${path}: HTTP ${res.status} body is not JSON`,
      );
    }
  }

  async #json<T>(
    method: string,
    path: string,
    body: unknown,
    options: JsonRequestOptions & { contentType?: string },
  ): Promise<T> {
    return (await this.requestJson<T>(method, path, body, options)).object;
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
