/**
 * Typed errors of the API client. Every failure of a request is one of these
 * kinds, so callers (the health probe, the Lease elector) branch on `kind`
 * and never parse messages. Messages never contain a token: anything that
 * came from a server is passed through `redactSecret` first.
 */

import { redactSecret, type Secret } from "./_secret.ts";

/** The class of a failed API request. */
export type ApiErrorKind =
  | "tls"
  | "timeout"
  | "connection_refused"
  | "network"
  | "http_status"
  | "protocol"
  | "aborted"
  | "credentials";

/** Why a TLS handshake failed. */
export type TlsFailureReason =
  | "name_mismatch"
  | "unknown_authority"
  | "expired"
  | "not_yet_valid"
  | "bad_certificate"
  | "handshake";

/** Base class: a failed API request (or credentials that cannot be used). */
export class ApiError extends Error {
  /** The class of failure; stable, for branching. */
  readonly kind: ApiErrorKind;

  /** `message` must not contain secrets. */
  constructor(kind: ApiErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = "ApiError";
  }
}

/** The TLS handshake failed (verification or protocol). */
export class TlsError extends ApiError {
  /** Why, as a stable value. */
  readonly reason: TlsFailureReason;
  /** The name the certificate was verified against. */
  readonly serverName: string;

  /** A TLS failure verified against `serverName`. */
  constructor(reason: TlsFailureReason, serverName: string, message: string) {
    super("tls", message);
    this.name = "TlsError";
    this.reason = reason;
    this.serverName = serverName;
  }
}

/** Which step a timed-out request was in. */
export type RequestPhase =
  | "credentials"
  | "connect"
  | "tls"
  | "request"
  | "response";

/** The request did not finish within its timeout (the connection is closed). */
export class TimeoutError extends ApiError {
  /** The step that was running when the time ran out. */
  readonly phase: RequestPhase;
  /** The timeout that expired, ms. */
  readonly timeoutMs: number;

  /** A timeout in `phase`. */
  constructor(phase: RequestPhase, timeoutMs: number, message: string) {
    super("timeout", message);
    this.name = "TimeoutError";
    this.phase = phase;
    this.timeoutMs = timeoutMs;
  }
}

/** Nothing listens on the address (TCP RST on connect). */
export class ConnectionRefusedError extends ApiError {
  /** `host:port` that refused. */
  readonly address: string;

  /** A refusal by `address`. */
  constructor(address: string, message: string) {
    super("connection_refused", message);
    this.name = "ConnectionRefusedError";
    this.address = address;
  }
}

/** Another network failure: reset, unreachable, name resolution. */
export class NetworkError extends ApiError {
  /** The Deno error name or errno code, e.g. `ConnectionReset`, `ENETUNREACH`. */
  readonly code: string;

  /** A network error with the Deno error name or errno `code`. */
  constructor(code: string, message: string) {
    super("network", message);
    this.name = "NetworkError";
    this.code = code;
  }
}

/** One cause of a `Status` (`details.causes[]`, e.g. a field that failed validation). */
export interface StatusCause {
  /** `FieldValueInvalid`, `FieldValueRequired`, ... */
  reason?: string;
  /** Human text. */
  message?: string;
  /** The field, e.g. `spec.leaseDurationSeconds`. */
  field?: string;
}

/** `Status.details`: the object concerned and more about the failure. */
export interface StatusDetails {
  /** The object's name, e.g. `ha-vip`. */
  name?: string;
  /** Its API group, e.g. `coordination.k8s.io`. */
  group?: string;
  /** Its kind or resource, e.g. `leases`. */
  kind?: string;
  /** Its UID. */
  uid?: string;
  /** Why, field by field. */
  causes?: StatusCause[];
  /** When to try again (429, 500 "try again later", 504), seconds. */
  retryAfterSeconds?: number;
}

/** Fields of a Kubernetes `Status` object (metav1.Status, the body of most API errors). */
export interface KubeStatus {
  /** `Status.reason`: `Unauthorized`, `Forbidden`, `NotFound`, `Conflict`, `AlreadyExists`, `TooManyRequests`, ... */
  reason?: string;
  /** `Status.message` (human text). */
  message?: string;
  /** `Status.code` (the HTTP status). */
  code?: number;
  /** `Status.details`. */
  details?: StatusDetails;
}

/** The server answered with a non-success HTTP status (JSON helpers only). */
export class HttpStatusError extends ApiError {
  /** The HTTP status code. */
  readonly status: number;
  /** `Status.reason` when the body is a Kubernetes Status (`Conflict`, `NotFound`, ...). */
  readonly reason?: string;
  /** `Status.message`, redacted and shortened. */
  readonly statusMessage?: string;
  /** `Status.details` (object name, causes), redacted. */
  readonly details?: StatusDetails;
  /**
   * When the server asks to retry later: `Status.details.retryAfterSeconds`,
   * else the `Retry-After` header (seconds), else undefined.
   */
  readonly retryAfterSeconds?: number;
  /** The response body, redacted and shortened to 4 KiB. */
  readonly body: string;

  /** An error for a non-success `status`; `details` are already redacted. */
  constructor(
    status: number,
    message: string,
    details: {
      reason?: string;
      statusMessage?: string;
      details?: StatusDetails;
      retryAfterSeconds?: number;
      body: string;
    },
  ) {
    super("http_status", message);
    this.name = "HttpStatusError";
    this.status = status;
    this.reason = details.reason;
    this.statusMessage = details.statusMessage;
    this.details = details.details;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.body = details.body;
  }
}

/** The response was not valid HTTP/1.1, was too large, ended early, or was not the expected JSON. */
export class ProtocolError extends ApiError {
  /** A protocol error; `message` must not contain secrets. */
  constructor(message: string) {
    super("protocol", message);
    this.name = "ProtocolError";
  }
}

/** The caller's AbortSignal fired (for example the daemon is stopping). */
export class AbortedError extends ApiError {
  /** An abort error. */
  constructor(message: string) {
    super("aborted", message);
    this.name = "AbortedError";
  }
}

/**
 * Why credentials could not be used: `not_found` (the file does not exist),
 * `not_regular` (a FIFO, socket, device or directory), `too_large`,
 * `unreadable` (permission or I/O error), `invalid` (bad content: an
 * unusable token, no PEM certificate), `config` (bad settings).
 */
export type CredentialsFailure =
  | "not_found"
  | "not_regular"
  | "too_large"
  | "unreadable"
  | "invalid"
  | "config";

/** Credentials cannot be loaded or used (missing file, bad token characters). */
export class CredentialsError extends ApiError {
  /** Why, as a stable value. */
  readonly reason: CredentialsFailure;
  /** The file concerned, if any. */
  readonly path?: string;

  /** A credentials error; `message` must not contain the token. */
  constructor(
    message: string,
    details: { reason?: CredentialsFailure; path?: string } = {},
  ) {
    super("credentials", message);
    this.name = "CredentialsError";
    this.reason = details.reason ?? "config";
    this.path = details.path;
  }
}

/**
 * Whether `err` says a credentials file does not exist (yet), optionally
 * this very `path`. A node being bootstrapped waits for such files.
 */
export function isNotExist(err: unknown, path?: string): boolean {
  return err instanceof CredentialsError && err.reason === "not_found" &&
    (path === undefined || err.path === path);
}

/**
 * Whether `err` is a 409: a write lost a race (`Conflict`: an update with a
 * stale resourceVersion; `AlreadyExists`: a create of an existing object).
 */
export function isConflict(err: unknown): boolean {
  return err instanceof HttpStatusError && err.status === 409;
}

/** Whether `err` is a 409 `AlreadyExists` (a create lost the race). */
export function isAlreadyExists(err: unknown): boolean {
  return isConflict(err) && (err as HttpStatusError).reason === "AlreadyExists";
}

/** Whether `err` is an {@link HttpStatusError} with status 404. */
export function isNotFound(err: unknown): boolean {
  return err instanceof HttpStatusError && err.status === 404;
}

/** Whether `err` is a 401: the token is missing, wrong or expired. */
export function isUnauthorized(err: unknown): boolean {
  return err instanceof HttpStatusError && err.status === 401;
}

/** Whether `err` is a 403: RBAC does not allow the verb on the resource. */
export function isForbidden(err: unknown): boolean {
  return err instanceof HttpStatusError && err.status === 403;
}

/** Whether `err` is a 429 (API priority and fairness is shedding load). */
export function isTooManyRequests(err: unknown): boolean {
  return err instanceof HttpStatusError && err.status === 429;
}

/**
 * Maps a rustls verification message (as Deno reports it) to a reason.
 * Deno only gives text (`InvalidData: invalid peer certificate: ...`).
 */
export function tlsReasonOf(message: string): TlsFailureReason {
  if (/not valid for name|NotValidForName/i.test(message)) {
    return "name_mismatch";
  }
  if (/UnknownIssuer|unknown issuer|unknown ca/i.test(message)) {
    return "unknown_authority";
  }
  if (/not valid before|NotValidYet/i.test(message)) return "not_yet_valid";
  if (/expired/i.test(message)) return "expired";
  if (
    /invalid peer certificate|bad ?signature|BadEncoding|certificate/i.test(
      message,
    )
  ) {
    return "bad_certificate";
  }
  return "handshake";
}

/** Operator hint for each TLS failure reason. */
const TLS_HINTS: Record<TlsFailureReason, string> = {
  name_mismatch:
    "the certificate does not name the server name verified against; set tls_server_name to a name it carries (kubeadm: kubernetes)",
  unknown_authority:
    "the certificate is not signed by the configured CA; set ca_cert to the cluster CA (kubeadm: /etc/kubernetes/pki/ca.crt)",
  expired:
    "the serving certificate has expired; renew it (kubeadm certs renew apiserver)",
  not_yet_valid: "the serving certificate is not valid yet; check the clocks",
  bad_certificate: "the serving certificate is invalid",
  handshake:
    "the TLS handshake failed; is the server speaking TLS on this port?",
};

/** Context needed to turn a low-level failure into an {@link ApiError}. */
export interface FailureContext {
  phase: RequestPhase;
  /** `host:port` of the API server. */
  address: string;
  /** The name TLS verified against (`undefined` for plain HTTP). */
  serverName?: string;
  timeoutMs: number;
  timedOut: boolean;
  aborted: boolean;
  /** In the credentials phase: the file being read (`token file /x`). */
  reading?: string;
  /** The token of this request, scrubbed from every message. */
  secret?: Secret;
}

function errorCode(err: unknown): string {
  if (err && typeof err === "object") {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code) return code;
    const name = (err as { name?: unknown }).name;
    if (typeof name === "string" && name) return name;
  }
  return "Error";
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Classifies a failure of connect / handshake / write / read. The timer and
 * the caller's signal close the connection, which surfaces as an arbitrary
 * I/O error; `timedOut` / `aborted` say what really happened.
 */
export function classifyFailure(err: unknown, ctx: FailureContext): ApiError {
  // The timer/signal first: closing the connection makes the pending step
  // fail in arbitrary ways (even as an early end of the response).
  if (ctx.timedOut) {
    const phase = ctx.phase === "tls"
      ? "TLS handshake"
      : ctx.phase === "credentials"
      ? `reading ${ctx.reading ?? "credentials"}`
      : ctx.phase;
    return new TimeoutError(
      ctx.phase,
      ctx.timeoutMs,
      `timed out after ${ctx.timeoutMs} ms (${phase}) talking to ${ctx.address}`,
    );
  }
  if (ctx.aborted) {
    return new AbortedError(`request to ${ctx.address} aborted (${ctx.phase})`);
  }
  if (err instanceof ApiError) return err;
  const code = errorCode(err);
  const msg = redactSecret(errorMessage(err), ctx.secret);
  // node:http's parser (llhttp) rejects a malformed response with HPE_*.
  if (code.startsWith("HPE_")) {
    return new ProtocolError(
      `invalid HTTP response from ${ctx.address}: ${code}: ${msg}`,
    );
  }
  if (code === "ConnectionRefused" || code === "ECONNREFUSED") {
    return new ConnectionRefusedError(
      ctx.address,
      `connection refused by ${ctx.address}`,
    );
  }
  // errno codes (node:tls, used only without verification) are network errors.
  const errno = /^E[A-Z0-9]+$/.test(code);
  // Certificates are only checked during the handshake, which the client
  // completes explicitly in the "tls" phase: later failures are network ones.
  if (ctx.serverName !== undefined && ctx.phase === "tls" && !errno) {
    const reason = tlsReasonOf(msg);
    return new TlsError(
      reason,
      ctx.serverName,
      `TLS with ${ctx.address} (server name "${ctx.serverName}") failed: ` +
        `${reason}: ${msg}; ${TLS_HINTS[reason]}`,
    );
  }
  return new NetworkError(
    code,
    `${ctx.phase} ${ctx.address} failed: ${code}: ${msg}`,
  );
}
