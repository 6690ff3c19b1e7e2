/**
 * A holder for a bearer token that cannot leak by accident: string
 * conversion, JSON, `Deno.inspect` and `node:util.inspect` all show
 * {@link REDACTED}. Only {@link Secret.reveal} gives the value, and the HTTP
 * client is its only caller. Every value is also registered with
 * `lib/observe`'s redaction registry, so no log line shows it either.
 */

import { redact, REDACTED, registerSecret } from "../observe/mod.ts";

export { REDACTED };

/** A secret string (a bearer token). */
export class Secret {
  // A private field: Deno.inspect and util.inspect do not show it.
  #value: string;

  /** Wraps `value` and registers it for redaction. */
  constructor(value: string) {
    this.#value = value;
    registerSecret(value);
  }

  /** The secret value. Never log or format the result. */
  reveal(): string {
    return this.#value;
  }

  /** Length of the secret (safe to report). */
  get length(): number {
    return this.#value.length;
  }

  /** Whether `other` holds the same value (for change detection). */
  equals(other: Secret | undefined): boolean {
    return other !== undefined && other.#value === this.#value;
  }

  /** Always {@link REDACTED}. */
  toString(): string {
    return REDACTED;
  }

  /** Always {@link REDACTED} in JSON. */
  toJSON(): string {
    return REDACTED;
  }

  /** `Secret(<redacted>)` for `Deno.inspect` / `console.log`. */
  [Symbol.for("Deno.customInspect")](): string {
    return `Secret(${REDACTED})`;
  }

  /** `Secret(<redacted>)` for `node:util.inspect`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Secret(${REDACTED})`;
  }
}

/**
 * Replaces `secret` and every registered secret in `text` with
 * {@link REDACTED}. Used on anything that came from a server (which could
 * echo our header back) before it goes into an error, a verdict or a log
 * line.
 */
export function redactSecret(
  text: string,
  secret: Secret | string | undefined,
): string {
  return redact(text, secret instanceof Secret ? secret.reveal() : secret);
}
