/**
 * The control channel's messages, as pure functions: one JSON object per
 * line, one request and one response per connection.
 *
 * ```
 * > {"op":"handoff","for_ms":600000}
 * < {"ok":true,"message":"handed the VIP over to 10.0.0.12; out of the election for 10m"}
 * > {"op":"cancel"}
 * < {"ok":true,"message":"back in the election"}
 * ```
 *
 * @module
 */

/** Longest request or response line, newline included. */
export const MAX_LINE_BYTES = 4096;

/** What a client may ask. */
export type ControlRequest =
  /**
   * Give the VIP up make-before-break and stay out of the election for
   * `forMs`, or until `cancel` or a restart when null.
   */
  | { op: "handoff"; forMs: number | null }
  /** Take part in the election again. */
  | { op: "cancel" }
  /** Just the state (for `ha-vip handoff` without changes, and tests). */
  | { op: "status" };

/** What the daemon answers. */
export interface ControlResponse {
  /** Whether the request did what it asked. */
  ok: boolean;
  /** One sentence for the operator. */
  message: string;
  /** The handoff in force after the request, if any. */
  handoff?: HandoffState | null;
}

/** A handoff in force (also in `/status`). */
export interface HandoffState {
  /** When it was asked for (ISO time). */
  since: string;
  /** When it ends by itself (ISO time), or null: until cancelled or restart. */
  until: string | null;
  /** Who asked (`uid 0, pid 1234`). */
  by: string;
}

/** The longest handoff one may ask for (a timer holds 2³¹−1 ms). */
export const MAX_HANDOFF_MS = 2 ** 31 - 1;

function fail(error: string): { error: string } {
  return { error };
}

/** Encodes a request line (newline included). */
export function encodeRequest(request: ControlRequest): Uint8Array {
  const body = request.op === "handoff"
    ? { op: "handoff", for_ms: request.forMs }
    : { op: request.op };
  return new TextEncoder().encode(JSON.stringify(body) + "\n");
}

/**
 * Reads a request line (without its newline). Never throws: bad input
 * gives a sentence saying what is wrong.
 */
export function parseRequest(line: string): ControlRequest | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return fail("the request is not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return fail("the request is not a JSON object");
  }
  const o = v as Record<string, unknown>;
  switch (o.op) {
    case "cancel":
    case "status":
      return { op: o.op };
    case "handoff": {
      const f = o.for_ms ?? null;
      if (
        f !== null &&
        (typeof f !== "number" || !Number.isInteger(f) || f < 1 ||
          f > MAX_HANDOFF_MS)
      ) {
        return fail(
          `for_ms must be null or a whole number of ms from 1 to ${MAX_HANDOFF_MS}`,
        );
      }
      return { op: "handoff", forMs: f as number | null };
    }
    default:
      return fail(
        `unknown op ${JSON.stringify(o.op)}; use handoff, cancel or status`,
      );
  }
}

/** Encodes a response line (newline included). */
export function encodeResponse(response: ControlResponse): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(response) + "\n");
}

/** Reads a response line; a malformed one becomes a failed response. */
export function parseResponse(line: string): ControlResponse {
  try {
    const v = JSON.parse(line);
    if (
      typeof v === "object" && v !== null && typeof v.ok === "boolean" &&
      typeof v.message === "string"
    ) {
      return v as ControlResponse;
    }
  } catch {
    // below
  }
  return { ok: false, message: "the daemon's answer is not understood" };
}
