/**
 * Paced repetition for announcement bursts (gratuitous ARP, unsolicited
 * NA): the first send happens synchronously, so a takeover announces at
 * once; the rest follow `intervalMs` apart until done or aborted.
 */

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** How a paced burst went. */
export interface PacedResult {
  /** Sends that succeeded. */
  sent: number;
  /** Errors of later sends (a failing first send throws instead). */
  errors: Error[];
}

/**
 * Calls `send` `count` times, `intervalMs` apart. The first call runs
 * before this function first yields and its error rejects the promise;
 * later errors (a link flapping mid-burst) are collected, not thrown.
 */
export async function repeatPaced(
  options: { count: number; intervalMs: number; signal?: AbortSignal },
  send: () => void,
): Promise<PacedResult> {
  const { count, intervalMs, signal } = options;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`count must be a positive integer, got ${count}`);
  }
  if (!Number.isFinite(intervalMs) || intervalMs < 0) {
    throw new RangeError(`intervalMs must be >= 0, got ${intervalMs}`);
  }
  send();
  const result: PacedResult = { sent: 1, errors: [] };
  for (let i = 1; i < count; i++) {
    await sleep(intervalMs, signal);
    if (signal?.aborted) break;
    try {
      send();
      result.sent++;
    } catch (err) {
      result.errors.push(err as Error);
    }
  }
  return result;
}
