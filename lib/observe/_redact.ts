/**
 * The one secret-redaction registry of ha-vip. Every bearer token the
 * process reads is registered here (by `lib/k8s`'s `Secret`, and by the
 * daemon for `k8s.token`); log lines, the status document, metrics, error
 * messages built from server answers and `check` output pass through
 * {@link redact}, and every hidden value prints as {@link REDACTED}.
 *
 * The registry keeps the most recent {@link MAX_SECRETS} values: bound
 * service-account tokens rotate (hourly by default), and a daemon running
 * for a year must not scan thousands of dead tokens on every log line.
 */

/** What a secret is shown as, everywhere. */
export const REDACTED = "<redacted>";

/** How many secrets the registry remembers (the most recent). */
export const MAX_SECRETS = 32;

/** Registered secrets, oldest first. */
const secrets = new Set<string>();

/**
 * Registers a secret (a bearer token) so that no log line, error text or
 * status output passing through {@link redact} ever shows it. Short strings
 * are refused: redacting "a" would mangle every line.
 */
export function registerSecret(secret: string | undefined): void {
  if (!secret || secret.length < 8) return;
  secrets.delete(secret); // re-registering makes it the most recent
  secrets.add(secret);
  while (secrets.size > MAX_SECRETS) {
    secrets.delete(secrets.values().next().value!);
  }
}

/**
 * Replaces every registered secret in `text`, and each of `also` (a secret
 * known to the caller, whatever its length), with {@link REDACTED}.
 */
export function redact(text: string, ...also: (string | undefined)[]): string {
  let out = text;
  for (const s of also) {
    if (s && out.includes(s)) out = out.replaceAll(s, REDACTED);
  }
  for (const s of secrets) {
    if (out.includes(s)) out = out.replaceAll(s, REDACTED);
  }
  return out;
}
