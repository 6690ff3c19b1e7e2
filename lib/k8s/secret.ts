/**
 * A holder for a bearer token that cannot leak by accident: string
 * conversion, JSON, `Deno.inspect` and `node:util.inspect` all show
 * `[REDACTED]`. Only {@link Secret.reveal} gives the value, and the HTTP
 * client is its only caller.
 */

/** What a secret prints as, everywhere. */
export const REDACTED = "[REDACTED]";

/** A secret string (a bearer token). */
export class Secret {
  // A private field: Deno.inspect and util.inspect do not show it.
  #value: string;

  /** Wraps `value`. */
  constructor(value: string) {
    this.#value = value;
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

  /** Always `[REDACTED]`. */
  toString(): string {
    return REDACTED;
  }

  /** Always `"[REDACTED]"` in JSON. */
  toJSON(): string {
    return REDACTED;
  }

  /** `Secret([REDACTED])` for `Deno.inspect` / `console.log`. */
  [Symbol.for("Deno.customInspect")](): string {
    return `Secret(${REDACTED})`;
  }

  /** `Secret([REDACTED])` for `node:util.inspect`. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Secret(${REDACTED})`;
  }
}

/**
 * Replaces every occurrence of `secret` in `text` with `[REDACTED]`. Used on
 * anything that came from a server (which could echo our header back) before
 * it goes into an error, a verdict or a log line.
 */
export function redactSecret(
  text: string,
  secret: Secret | string | undefined,
): string {
  const value = secret instanceof Secret ? secret.reveal() : secret;
  if (!value || !text.includes(value)) return text;
  return text.replaceAll(value, REDACTED);
}
