/**
 * Health verdicts: what one probe of the local API server concluded. Each
 * has a stable short `kind` (for branching, metrics and status output) and a
 * one-line human `detail` (for logs) that says what to do about it.
 *
 * Only `ready` lets a node hold the VIP. 401, 403, TLS failures, timeouts and
 * refused connections are distinct verdicts because an operator fixes each
 * one differently.
 */

import {
  ApiError,
  parseKubeStatus,
  TimeoutError,
  TlsError,
  type TlsFailureReason,
} from "../k8s/mod.ts";

/** The stable verdict kinds. */
export type VerdictKind =
  | "ready"
  | "not_ready"
  | "unauthorized"
  | "forbidden"
  | "tls_error"
  | "timeout"
  | "connection_refused"
  | "error";

/** `/readyz` answered 200. */
export interface ReadyVerdict {
  /** Discriminant. */
  kind: "ready";
  /** One human line. */
  detail: string;
}

/** `/readyz` answered 5xx: the API server says it is not ready. */
export interface NotReadyVerdict {
  /** Discriminant. */
  kind: "not_ready";
  /** One human line. */
  detail: string;
  /** The HTTP status (500 from kube-apiserver). */
  status: number;
  /** Names of the failing checks (`etcd`, `informer-sync`, ...), maybe empty. */
  failingChecks: string[];
}

/** 401: no valid credentials. */
export interface UnauthorizedVerdict {
  /** Discriminant. */
  kind: "unauthorized";
  /** One human line; says whether a token was sent and what to do. */
  detail: string;
  /** Whether the request carried a token. */
  tokenSent: boolean;
}

/** 403: authenticated (or anonymous) but not allowed to GET /readyz. */
export interface ForbiddenVerdict {
  /** Discriminant. */
  kind: "forbidden";
  /** One human line; points at the RBAC rule needed. */
  detail: string;
  /** Whether the request carried a token. */
  tokenSent: boolean;
}

/** The TLS handshake or certificate verification failed. */
export interface TlsErrorVerdict {
  /** Discriminant. */
  kind: "tls_error";
  /** One human line with the TLS library's reason and a hint. */
  detail: string;
  /** Why, as a stable value. */
  reason: TlsFailureReason;
}

/** A stage did not finish within the timeout. */
export interface TimeoutVerdict {
  /** Discriminant. */
  kind: "timeout";
  /** One human line. */
  detail: string;
  /**
   * Which stage timed out: `credentials` (reading the token or CA file),
   * `probe` (the whole probe overran its interval).
   */
  stage: "tcp" | "readyz" | "credentials" | "probe";
}

/** Nothing listens on the API server's port. */
export interface ConnectionRefusedVerdict {
  /** Discriminant. */
  kind: "connection_refused";
  /** One human line. */
  detail: string;
}

/** Anything else (network errors, malformed responses, unexpected status, bad credentials files). */
export interface ErrorVerdict {
  /** Discriminant. */
  kind: "error";
  /** One human line. */
  detail: string;
  /** The `ApiError` kind or `http_status`. */
  cause: string;
}

/** What one probe concluded. */
export type Verdict =
  | ReadyVerdict
  | NotReadyVerdict
  | UnauthorizedVerdict
  | ForbiddenVerdict
  | TlsErrorVerdict
  | TimeoutVerdict
  | ConnectionRefusedVerdict
  | ErrorVerdict;

/** Whether the verdict allows holding the VIP. */
export function isReady(verdict: Verdict): boolean {
  return verdict.kind === "ready";
}

/** Whether two verdicts report the same thing (kind and detail). */
export function sameVerdict(
  a: Verdict | undefined,
  b: Verdict | undefined,
): boolean {
  return a?.kind === b?.kind && a?.detail === b?.detail;
}

/** One line of a `?verbose` health body. */
export interface HealthCheckLine {
  /** Check name, e.g. `etcd` or `poststarthook/rbac/bootstrap-roles`. */
  name: string;
  /** `[+]` (passing or excluded) vs `[-]`. */
  ok: boolean;
  /** The text after the name: `ok`, `failed: reason withheld`, `excluded: ok`. */
  message: string;
}

/** The parsed body of `/readyz` (`/livez`, `/healthz`). */
export interface HealthBody {
  /** Every check line, in order. */
  checks: HealthCheckLine[];
  /** Names of the failing checks. */
  failing: string[];
  /** The closing line: `readyz check failed` / `readyz check passed`, if present. */
  summary?: string;
}

const MAX_CHECKS = 500;

/**
 * Parses kube-apiserver health output (k8s.io/apiserver healthz.go):
 * `[+]name ok`, `[+]name excluded: ok`, `[-]name failed: reason withheld`,
 * optional `warn: ...` lines, and a closing `<endpoint> check failed|passed`.
 * Tolerant: unknown lines are skipped. Names are kept printable and short.
 */
export function parseHealthBody(body: string): HealthBody {
  const checks: HealthCheckLine[] = [];
  let summary: string | undefined;
  for (const raw of body.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const m = /^\[([+-])\](\S+)(?:\s+(.*))?$/.exec(line);
    if (m) {
      if (checks.length >= MAX_CHECKS) continue;
      const name = m[2].replace(/[^\x21-\x7e]/g, "?").slice(0, 120);
      checks.push({
        name,
        ok: m[1] === "+",
        message: (m[3] ?? "").slice(0, 200),
      });
    } else if (/^\w+ check (failed|passed)$/.test(line.trim())) {
      summary = line.trim();
    }
  }
  return {
    checks,
    failing: checks.filter((c) => !c.ok).map((c) => c.name),
    summary,
  };
}

function listChecks(names: string[]): string {
  const shown = names.slice(0, 8).join(", ");
  return names.length > 8 ? `${shown} (+${names.length - 8} more)` : shown;
}

/** The parts of an HTTP answer a verdict is made from (an `ApiResponse` of `lib/k8s`). */
export interface HealthAnswer {
  /** HTTP status code. */
  status: number;
  /** The body as text (token-redacted). */
  body: string;
  /** Whether the request carried a bearer token. */
  authenticated: boolean;
}

/** Context for building verdicts. */
export interface VerdictContext {
  /** The probed path, e.g. `/readyz`. */
  path: string;
  /** Where the token comes from (`TokenSource.description`), for 401 messages. */
  tokenDescription?: string;
}

/**
 * The verdict for an HTTP response of the readiness endpoint. `verboseBody`
 * is the body of a follow-up `?verbose` request, when one was made.
 */
export function verdictFromResponse(
  res: HealthAnswer,
  ctx: VerdictContext,
  verboseBody?: string,
): Verdict {
  const path = ctx.path;
  if (res.status === 200) return { kind: "ready", detail: `${path} ok` };
  const status = parseKubeStatus(res.body);
  // The server's own words (user name, RBAC reason), already token-redacted.
  const said = status?.message
    ? ` (server: ${JSON.stringify(status.message.slice(0, 200))})`
    : "";
  if (res.status === 401) {
    return {
      kind: "unauthorized",
      tokenSent: res.authenticated,
      detail: res.authenticated
        ? `401 Unauthorized from ${path}: the API server rejected the bearer token from ${
          ctx.tokenDescription ?? "the configuration"
        } (expired, revoked, or from another cluster); renew k8s.token / k8s.token_file${said}`
        : `401 Unauthorized from ${path} without a token: ${path} is normally readable anonymously ` +
          `(system:public-info-viewer), but this API server rejects anonymous requests ` +
          `(--anonymous-auth=false, as in k3s); configure k8s.token or k8s.token_file${said}`,
    };
  }
  if (res.status === 403) {
    return {
      kind: "forbidden",
      tokenSent: res.authenticated,
      detail: res.authenticated
        ? `403 Forbidden from ${path}: the token's user lacks "get" on nonResourceURLs ["${path}"]; ` +
          `bind a ClusterRole with that rule (RBAC)${said}`
        : `403 Forbidden from ${path} for system:anonymous: the system:public-info-viewer binding ` +
          `is missing; restore it or configure a token allowed "get" on nonResourceURLs ["${path}"]${said}`,
    };
  }
  if (res.status >= 500) {
    let parsed = parseHealthBody(res.body);
    if (parsed.checks.length === 0 && verboseBody !== undefined) {
      parsed = parseHealthBody(verboseBody);
    }
    const failing = parsed.failing;
    return {
      kind: "not_ready",
      status: res.status,
      failingChecks: failing,
      detail: failing.length > 0
        ? `${path} returned ${res.status}: failing checks: ${
          listChecks(failing)
        }`
        : `${path} returned ${res.status} without a check list`,
    };
  }
  const body = res.body.trim().replace(/\s+/g, " ").slice(0, 120);
  return {
    kind: "error",
    cause: "http_status",
    detail: `${path} returned unexpected HTTP ${res.status}${
      body ? `: ${JSON.stringify(body)}` : ""
    }`,
  };
}

/**
 * The verdict for a failed stage. `ApiError` messages are already free of
 * the token (the client redacts them).
 */
export function verdictFromError(
  err: unknown,
  stage: "tcp" | "readyz",
): Verdict {
  if (err instanceof TlsError) {
    return { kind: "tls_error", reason: err.reason, detail: err.message };
  }
  if (err instanceof TimeoutError) {
    if (err.phase === "credentials") {
      return {
        kind: "timeout",
        stage: "credentials",
        detail:
          `${err.message}: is the file on a hung mount? (the read goes on in the background; the previous token is used once one was read)`,
      };
    }
    return {
      kind: "timeout",
      stage,
      detail: `${stage === "tcp" ? "TCP connect" : "readyz"} ${err.message}`,
    };
  }
  if (err instanceof ApiError) {
    if (err.kind === "connection_refused") {
      return {
        kind: "connection_refused",
        detail:
          `${err.message}: is kube-apiserver running and listening on this address?`,
      };
    }
    return { kind: "error", cause: err.kind, detail: err.message };
  }
  // Not an ApiError: a bug or a caller mistake; the client never puts the
  // token into these either.
  const msg = err instanceof Error
    ? `${err.name}: ${err.message}`
    : String(err);
  return { kind: "error", cause: "internal", detail: msg };
}
