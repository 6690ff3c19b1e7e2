/**
 * Kubernetes `Status` bodies (metav1.Status) and the {@link HttpStatusError}
 * a non-success answer becomes. Everything taken from the body is already
 * token-redacted by the client and is bounded here.
 */

import {
  HttpStatusError,
  type KubeStatus,
  type StatusCause,
  type StatusDetails,
} from "./_errors.ts";

const str = (v: unknown, max = 1000): string | undefined =>
  typeof v === "string" ? shorten(v, max) : undefined;

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function parseDetails(v: unknown): StatusDetails | undefined {
  if (!v || typeof v !== "object") return undefined;
  const d = v as Record<string, unknown>;
  const causes: StatusCause[] | undefined = Array.isArray(d.causes)
    ? d.causes.slice(0, 20).filter((c) => c && typeof c === "object").map((
      c,
    ) => ({
      reason: str(c.reason, 200),
      message: str(c.message, 500),
      field: str(c.field, 200),
    }))
    : undefined;
  const retry = d.retryAfterSeconds;
  return {
    name: str(d.name, 253),
    group: str(d.group, 253),
    kind: str(d.kind, 253),
    uid: str(d.uid, 64),
    causes,
    retryAfterSeconds: typeof retry === "number" && retry >= 0 &&
        Number.isFinite(retry)
      ? retry
      : undefined,
  };
}

/** Parses a Kubernetes `Status` body, if it is one. */
export function parseKubeStatus(body: string): KubeStatus | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return undefined; // not JSON
  }
  if (!v || typeof v !== "object") return undefined;
  const s = v as Record<string, unknown>;
  if (s.kind !== "Status") return undefined;
  return {
    reason: typeof s.reason === "string" ? s.reason : undefined,
    message: typeof s.message === "string" ? s.message : undefined,
    code: typeof s.code === "number" ? s.code : undefined,
    details: parseDetails(s.details),
  };
}

/** `Retry-After` in seconds (the delta-seconds form only), if present. */
function retryAfterHeader(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d{1,6}\s*$/.test(value)) return undefined;
  return Number(value);
}

/** The error for a non-2xx answer to `method path`. */
export function statusError(
  method: string,
  path: string,
  res: { status: number; body: string; headers: Record<string, string> },
): HttpStatusError {
  const status = parseKubeStatus(res.body);
  const what = status?.message
    ? `: ${shorten(status.message, 300)}`
    : res.body
    ? `: ${shorten(res.body.trim(), 200)}`
    : "";
  return new HttpStatusError(
    res.status,
    `${method} ${path}: HTTP ${res.status}${
      status?.reason ? ` ${status.reason}` : ""
    }${what}`,
    {
      reason: status?.reason,
      statusMessage: status?.message && shorten(status.message, 1000),
      details: status?.details,
      retryAfterSeconds: status?.details?.retryAfterSeconds ??
        retryAfterHeader(res.headers["retry-after"]),
      body: shorten(res.body, 4096),
    },
  );
}
