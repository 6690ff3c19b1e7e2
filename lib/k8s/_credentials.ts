/**
 * Credentials for the API server: its address, the CA to verify it with and
 * a {@link TokenSource}. Two modes, as in the original HA VIP Manager:
 * external (`api_server`, `token` / `token_file`, `ca_cert`) and in-cluster
 * (the pod's service-account files and `KUBERNETES_SERVICE_*`).
 */

import { CredentialsError } from "./_errors.ts";
import { type Logger, nullLogger } from "./_logger.ts";
import { REDACTED, Secret } from "./_secret.ts";
import {
  type FileReader,
  WatchedFile,
  type WatchedRead,
} from "./_watched_file.ts";

/** Where the kubelet mounts a pod's service-account token, CA and namespace. */
export const DEFAULT_SERVICE_ACCOUNT_DIR =
  "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * Gives the bearer token to send, fresh on every call (token files rotate).
 * Implementations never expose the token through inspect/JSON/toString.
 */
export interface TokenSource {
  /**
   * The current token, or `undefined` for anonymous requests. `signal` is
   * the caller's deadline: a token file read that has not returned by then
   * rejects with its reason (the read itself goes on in the background).
   */
  token(options?: TokenOptions): Promise<Secret | undefined>;
  /** Whether a token is configured at all (false: anonymous). */
  readonly configured: boolean;
  /** Where the token comes from, safe to log: `none`, `static token`, `token file /path`. */
  readonly description: string;
}

/** Options of {@link TokenSource.token}. */
export interface TokenOptions {
  /** Stop waiting for a file read when this fires. */
  signal?: AbortSignal;
}

/** Called with each new token value, e.g. to register it with a log redactor. */
export type SecretHook = (value: string) => void;

const INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * Checks that a token can go into an `Authorization` header: visible ASCII,
 * no spaces. The message gives the position, never the content.
 */
function checkToken(value: string, where: string, path?: string): void {
  if (value === "") {
    throw new CredentialsError(`${where}: the token is empty`, {
      reason: "invalid",
      path,
    });
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) {
      throw new CredentialsError(
        `${where}: the token has a character that cannot be sent in an HTTP header at position ${i} (length ${value.length})`,
        { reason: "invalid", path },
      );
    }
  }
}

/**
 * Why a token file's mode is unsafe, or `null`: readable by every user, or
 * writable by its group or every user. Group-readable (0640) is a
 * deliberate way to share the token with a group and is not reported.
 */
export function unsafeTokenMode(mode: number): string | null {
  const problems: string[] = [];
  if (mode & 0o004) problems.push("readable by every user");
  if (mode & 0o002) problems.push("writable by every user");
  else if (mode & 0o020) problems.push("writable by its group");
  return problems.length ? problems.join(" and ") : null;
}

class AnonymousTokenSource implements TokenSource {
  readonly configured = false;
  readonly description = "none";
  token(): Promise<Secret | undefined> {
    return Promise.resolve(undefined);
  }
  [INSPECT](): string {
    return "AnonymousTokenSource";
  }
  [NODE_INSPECT](): string {
    return "AnonymousTokenSource";
  }
}

class StaticTokenSource implements TokenSource {
  readonly configured = true;
  readonly description = "static token";
  #secret: Secret;
  constructor(secret: Secret) {
    this.#secret = secret;
  }
  token(): Promise<Secret | undefined> {
    return Promise.resolve(this.#secret);
  }
  toJSON(): string {
    return `StaticTokenSource(${REDACTED})`;
  }
  toString(): string {
    return `StaticTokenSource(${REDACTED})`;
  }
  [INSPECT](): string {
    return `StaticTokenSource(${REDACTED})`;
  }
  [NODE_INSPECT](): string {
    return `StaticTokenSource(${REDACTED})`;
  }
}

/** Options of {@link fileTokenSource}. */
export interface FileTokenSourceOptions {
  /** Logs rotation and read problems (never the token). */
  logger?: Logger;
  /** Receives each new token value (e.g. to register it for log redaction). */
  onSecret?: SecretHook;
  /** Clock for the racy-timestamp rule and stall times (tests). */
  now?: () => number;
  /** File operations (tests fake a read that never returns). */
  fs?: FileReader;
  /**
   * WARN when the file is readable by every user or writable by others,
   * once per change of the file (default true; in-cluster tokens, in the
   * pod's own mount, are not checked).
   */
  checkMode?: boolean;
}

/** A read outstanding this long is reported as hanging, ms. */
const HANG_REPORT_MS = 1000;

class FileTokenSource implements TokenSource {
  readonly configured = true;
  readonly path: string;
  #file: WatchedFile;
  #current?: Secret;
  #failing = false;
  #hanging = false;
  #modeChecked?: string;
  #logger: Logger;
  #onSecret?: SecretHook;
  #checkMode: boolean;

  constructor(path: string, options: FileTokenSourceOptions) {
    this.path = path;
    this.#file = new WatchedFile(path, "token file", {
      now: options.now,
      fs: options.fs,
    });
    this.#logger = options.logger ?? nullLogger;
    this.#onSecret = options.onSecret;
    this.#checkMode = options.checkMode ?? true;
  }

  get description(): string {
    return `token file ${this.path}`;
  }

  async token(options: TokenOptions = {}): Promise<Secret | undefined> {
    let read: WatchedRead;
    let value: string;
    try {
      read = await this.#file.read(options.signal);
      value = read.text.trim();
      checkToken(value, `token file ${this.path}`, this.path);
    } catch (err) {
      if (options.signal?.aborted) throw err; // the caller's deadline
      return this.#keep(err);
    }
    this.#noteHang(read);
    this.#noteMode(read);
    if (this.#failing) {
      this.#logger.info("token file usable again", { path: this.path });
    }
    this.#failing = false;
    if (!this.#current || this.#current.reveal() !== value) {
      if (this.#current) {
        this.#logger.info("token file changed; using the new token", {
          path: this.path,
        });
      }
      this.#onSecret?.(value);
      this.#current = new Secret(value);
    }
    return this.#current;
  }

  /**
   * A rotation in progress (truncate + write) or a vanished mount should
   * not flip the node unhealthy: keep the last good token, say so once.
   */
  #keep(err: unknown): Secret {
    const failure = err instanceof CredentialsError
      ? err
      : new CredentialsError(
        `cannot read token file ${this.path}: ${(err as Error)?.name}`,
        { reason: "unreadable", path: this.path },
      );
    if (!this.#current) throw failure;
    if (!this.#failing) {
      this.#logger.warn("token file unusable; keeping the previous token", {
        path: this.path,
        error: failure.message,
      });
    }
    this.#failing = true;
    return this.#current;
  }

  /** A read that does not return (a hung mount) is reported once. */
  #noteHang(read: WatchedRead): void {
    if (read.stale && read.stalledMs >= HANG_REPORT_MS) {
      if (!this.#hanging) {
        this.#logger.warn(
          "token file read has not returned (a hung mount?); keeping the previous token",
          { path: this.path, stalled_ms: Math.round(read.stalledMs) },
        );
      }
      this.#hanging = true;
    } else if (!read.stale && this.#hanging) {
      this.#hanging = false;
      this.#logger.info("token file readable again", { path: this.path });
    }
  }

  /** Issue 7 item 9: an exposed token file gets a WARN, once per change of the file. */
  #noteMode(read: WatchedRead): void {
    if (!this.#checkMode || read.mode === null) return;
    if (this.#modeChecked === read.signature) return;
    this.#modeChecked = read.signature;
    const problem = unsafeTokenMode(read.mode);
    if (problem === null) return;
    const mode = read.mode.toString(8).padStart(4, "0");
    this.#logger.warn(
      `token file ${this.path} is ${problem} (mode ${mode}): anyone who can read it can use ha-vip's API credentials; fix: chmod 600 ${this.path}`,
      { path: this.path, mode },
    );
  }

  toJSON(): string {
    return `FileTokenSource(${this.path})`;
  }
  toString(): string {
    return `FileTokenSource(${this.path})`;
  }
  [INSPECT](): string {
    return `FileTokenSource(${this.path})`;
  }
  [NODE_INSPECT](): string {
    return `FileTokenSource(${this.path})`;
  }
}

/** A source without a token: requests are anonymous. */
export function anonymousTokenSource(): TokenSource {
  return new AnonymousTokenSource();
}

/**
 * A fixed token (`k8s.token`). Surrounding whitespace is trimmed; an empty
 * or header-unsafe token throws {@link CredentialsError}.
 */
export function staticTokenSource(
  token: string,
  options: { onSecret?: SecretHook } = {},
): TokenSource {
  const value = token.trim();
  checkToken(value, "k8s.token");
  options.onSecret?.(value);
  return new StaticTokenSource(new Secret(value));
}

/**
 * A token read from `path` and re-read whenever the file changes (a `stat`
 * per use; bound service-account tokens rotate). Lazy: the first
 * {@link TokenSource.token} call reads the file.
 */
export function fileTokenSource(
  path: string,
  options: FileTokenSourceOptions = {},
): TokenSource {
  return new FileTokenSource(path, options);
}

/** API server address, CA and token: what a client needs. */
export interface Credentials {
  /** How they were obtained. */
  readonly mode: "external" | "in_cluster";
  /** Base URL of the API server, e.g. `https://10.96.0.1:443`. */
  readonly apiServer: string;
  /** PEM file of the CA that signed the serving certificate. */
  readonly caCertFile?: string;
  /** The bearer token (anonymous when none is configured). */
  readonly tokenSource: TokenSource;
  /** In-cluster: the pod's namespace (from the `namespace` file), if present. */
  readonly namespace?: string;
}

/** Options of {@link externalCredentials}. */
export interface ExternalCredentialsOptions {
  /** `k8s.api_server`: an `https://` (or, for tests, `http://`) URL. */
  apiServer: string;
  /** `k8s.token`. Mutually exclusive with `tokenFile`. */
  token?: string;
  /** `k8s.token_file`, re-read when it changes. */
  tokenFile?: string;
  /** `k8s.ca_cert`. */
  caCertFile?: string;
  /** Logs token-file rotation and read problems (never the token). */
  logger?: Logger;
  /** Receives each new token value (e.g. to register it for log redaction). */
  onSecret?: SecretHook;
  /** Stop waiting for file reads when this fires (a hung mount). */
  signal?: AbortSignal;
}

function checkUrl(url: string, field: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CredentialsError(
      `${field}: "${url}" is not a URL; expected https://host:port`,
    );
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new CredentialsError(
      `${field}: "${url}" must use https:// (or http:// for tests)`,
    );
  }
  if (parsed.username || parsed.password) {
    throw new CredentialsError(
      `${field}: credentials in the URL are not supported; use a token`,
    );
  }
  return url;
}

/** Reads `path` once (a regular file within the size limit), bounded by `signal`. */
async function checkReadable(
  path: string,
  what: string,
  signal?: AbortSignal,
): Promise<string> {
  return (await new WatchedFile(path, what).read(signal)).text;
}

/**
 * External credentials. Validates eagerly (URL, token characters, readable
 * files, first read of the token file) so that a bad configuration fails at
 * start-up, not on the first probe.
 */
export async function externalCredentials(
  options: ExternalCredentialsOptions,
): Promise<Credentials> {
  const apiServer = checkUrl(options.apiServer, "k8s.api_server");
  if (options.token !== undefined && options.tokenFile !== undefined) {
    throw new CredentialsError(
      "k8s.token and k8s.token_file are both set; use one of them",
    );
  }
  let tokenSource: TokenSource;
  if (options.token !== undefined) {
    tokenSource = staticTokenSource(options.token, {
      onSecret: options.onSecret,
    });
  } else if (options.tokenFile !== undefined) {
    tokenSource = fileTokenSource(options.tokenFile, {
      logger: options.logger,
      onSecret: options.onSecret,
    });
    await tokenSource.token({ signal: options.signal });
  } else {
    tokenSource = anonymousTokenSource();
  }
  if (options.caCertFile !== undefined) {
    await checkReadable(
      options.caCertFile,
      "CA certificate file",
      options.signal,
    );
  }
  return Object.freeze({
    mode: "external" as const,
    apiServer,
    caCertFile: options.caCertFile,
    tokenSource,
  });
}

/** Options of {@link inClusterCredentials}. */
export interface InClusterCredentialsOptions {
  /** Default {@link DEFAULT_SERVICE_ACCOUNT_DIR}; tests point it elsewhere. */
  serviceAccountDir?: string;
  /** Environment lookup (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
  /** Logs token-file rotation and read problems (never the token). */
  logger?: Logger;
  /** Receives each new token value (e.g. to register it for log redaction). */
  onSecret?: SecretHook;
  /** Stop waiting for file reads when this fires (a hung mount). */
  signal?: AbortSignal;
}

/**
 * In-cluster credentials, like client-go's `rest.InClusterConfig`: the API
 * address from `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT`, the
 * token from `<dir>/token` (re-read when the kubelet rotates it), the CA
 * from `<dir>/ca.crt`, the namespace from `<dir>/namespace`.
 */
export async function inClusterCredentials(
  options: InClusterCredentialsOptions = {},
): Promise<Credentials> {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const host = env("KUBERNETES_SERVICE_HOST")?.trim();
  const port = env("KUBERNETES_SERVICE_PORT")?.trim();
  if (!host || !port) {
    throw new CredentialsError(
      "k8s.in_cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?); use in_cluster: false with api_server",
    );
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new CredentialsError(
      `KUBERNETES_SERVICE_PORT: "${port}" is not a port (1-65535)`,
    );
  }
  const apiServer = `https://${
    host.includes(":") ? `[${host}]` : host
  }:${port}`;
  checkUrl(apiServer, "KUBERNETES_SERVICE_HOST");
  const dir = (options.serviceAccountDir ?? DEFAULT_SERVICE_ACCOUNT_DIR)
    .replace(/\/+$/, "");
  const caCertFile = `${dir}/ca.crt`;
  await checkReadable(caCertFile, "service-account CA", options.signal);
  // The kubelet writes the projected token in the pod's own mount with the
  // volume's mode (0644 by default): its mode is not the operator's to fix.
  const tokenSource = fileTokenSource(`${dir}/token`, {
    logger: options.logger,
    onSecret: options.onSecret,
    checkMode: false,
  });
  await tokenSource.token({ signal: options.signal });
  let namespace: string | undefined;
  try {
    namespace = (await checkReadable(
      `${dir}/namespace`,
      "namespace file",
      options.signal,
    )).trim() || undefined;
  } catch (err) {
    if (options.signal?.aborted) throw err;
    namespace = undefined;
  }
  return Object.freeze({
    mode: "in_cluster" as const,
    apiServer,
    caCertFile,
    tokenSource,
    namespace,
  });
}

/** Options of {@link loadCredentials}: the `k8s:` configuration block, mapped. */
export interface LoadCredentialsOptions
  extends Partial<ExternalCredentialsOptions> {
  /** `k8s.in_cluster`: use the service account; `apiServer`/`token*`/`caCertFile` are ignored. */
  inCluster?: boolean;
  /** In-cluster: the service-account directory (tests). */
  serviceAccountDir?: string;
  /** In-cluster: environment lookup (tests). */
  env?: (name: string) => string | undefined;
}

/** Loads credentials in the mode the options ask for. */
export function loadCredentials(
  options: LoadCredentialsOptions,
): Promise<Credentials> {
  if (options.inCluster) {
    return inClusterCredentials({
      serviceAccountDir: options.serviceAccountDir,
      env: options.env,
      logger: options.logger,
      onSecret: options.onSecret,
      signal: options.signal,
    });
  }
  if (!options.apiServer) {
    return Promise.reject(
      new CredentialsError(
        "k8s.api_server is required when k8s.in_cluster is false (e.g. https://127.0.0.1:6443)",
      ),
    );
  }
  return externalCredentials({ ...options, apiServer: options.apiServer });
}
