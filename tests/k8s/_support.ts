/** Helpers shared by the k8s and health tests. */

import type { LogFields, Logger } from "../../lib/k8s/mod.ts";

/** A logger that keeps every line (message + JSON fields) for assertions. */
export interface CapturingLogger extends Logger {
  lines: string[];
}

/** A {@link CapturingLogger}. */
export function captureLogger(): CapturingLogger {
  const lines: string[] = [];
  const write = (level: string) => (msg: string, fields?: LogFields) => {
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  };
  return {
    lines,
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
}

/** Runs `fn` with a fresh temp dir, removed afterwards. */
export async function withTempDir<T>(
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "ha-vip-k8s-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every way an object or error could be printed. */
export function allRenderings(value: unknown): string[] {
  const out = [
    Deno.inspect(value, { depth: 10, showHidden: true, getters: true }),
    Deno.inspect(value, { depth: 10, colors: true }),
    String(value),
  ];
  try {
    out.push(JSON.stringify(value) ?? "");
  } catch (err) {
    out.push(String(err));
  }
  if (value instanceof Error) {
    out.push(value.message, value.stack ?? "", String(value.cause ?? ""));
    out.push(JSON.stringify(Object.entries(value)));
  }
  return out;
}

/** Asserts that `secret` appears in none of `texts`. */
export function assertNoSecret(
  secret: string,
  texts: string[],
  what: string,
): void {
  for (const t of texts) {
    if (t.includes(secret)) {
      throw new Error(
        `${what}: the token leaked into: ${
          t.replaceAll(secret, "<<TOKEN>>").slice(0, 300)
        }`,
      );
    }
  }
}
