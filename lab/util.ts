/**
 * Small helpers of the lab and its tests: timeouts, polling, VRRP timer
 * arithmetic, time formatting and the `deno cache` of what runs inside the
 * namespaces.
 *
 * @module
 */

import { nowMs } from "./topology.ts";

/** `p`, or a rejection with `message` after `ms`; the timer never outlives it. */
export function within<T>(
  p: Promise<T>,
  ms: number,
  message: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `pred` every `everyMs` until it holds; rejects after `timeoutMs`
 * with `what()` (evaluated then, so it can describe the state). Resolves
 * with the time it held (epoch ms).
 */
export async function waitUntil(
  pred: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: () => string | Promise<string>,
  everyMs = 20,
): Promise<number> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    if (await pred()) return nowMs();
    if (nowMs() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms: ${await what()}`);
    }
    await sleep(everyMs);
  }
}

/** Skew_Time (RFC 5798): (256 − priority) / 256 of the interval, ms. */
export function skewMs(priority: number, advertIntervalMs: number): number {
  return ((256 - priority) * advertIntervalMs) / 256;
}

/** Master_Down_Interval (RFC 5798): 3 intervals + Skew_Time, ms. */
export function masterDownMs(
  priority: number,
  advertIntervalMs: number,
): number {
  return 3 * advertIntervalMs + skewMs(priority, advertIntervalMs);
}

/** `3.456 s` / `12 ms` / `0.4 ms`. */
export function fmtS(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(3)} s`;
  // Sub-10 ms overlaps are what only `ip monitor` stamps can show.
  return ms < 10 && ms > 0 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/**
 * `deno cache` the programs started inside the namespaces, which have no
 * route to any registry. The lab never rewrites deno.lock: it uses the
 * lock as it is (`--frozen`), and only when the tree is ahead of the lock
 * (new dependencies not committed yet) runs without it, saying so.
 * Resolves the lock flag the namespaced `deno run`s must use.
 */
export async function cacheForNamespaces(
  repoRoot: string,
  entries: string[],
  warn: (text: string) => void = () => {},
): Promise<string> {
  const cache = async (lockFlag: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["cache", "--quiet", lockFlag, ...entries],
      cwd: repoRoot,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { ok: out.success, err: new TextDecoder().decode(out.stderr) };
  };
  let r = await cache("--frozen");
  if (r.ok) return "--frozen";
  if (/lockfile is out of date/i.test(r.err)) {
    warn("deno.lock is behind the tree: running without it (--no-lock)");
    r = await cache("--no-lock");
    if (r.ok) return "--no-lock";
  }
  throw new Error(`deno cache ${entries.join(" ")} failed:\n${r.err}`);
}
