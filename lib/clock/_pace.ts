/**
 * Paced repetition for announcement bursts (gratuitous ARP, unsolicited
 * NA): the first send happens synchronously, so a takeover announces at
 * once; the rest follow `intervalMs` apart until done or aborted.
 *
 * @module
 */
import { type Clock, systemClock } from "./_clock.ts";

/** How a paced burst went. */
export interface PacedResult {
  /** Sends that succeeded. */
  sent: number;
  /** Errors of later sends (a failing first send throws instead). */
  errors: Error[];
}

/** Options of {@link repeatPaced}. */
export interface PaceOptions {
  /** How many sends, >= 1. */
  count: number;
  /** Pause between sends, ms. */
  intervalMs: number;
  /** Stops between sends. */
  signal?: AbortSignal;
  /** Default: the system clock. */
  clock?: Clock;
}

/**
 * Calls `send` `count` times, `intervalMs` apart. The first call runs
 * before this function first yields and its error rejects the promise;
 * later errors (a link flapping mid-burst) are collected, not thrown.
 */
export async function repeatPaced(
  options: PaceOptions,
  send: () => void,
): Promise<PacedResult> {
  const { count, intervalMs, signal } = options;
  const clock = options.clock ?? systemClock;
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`count must be a positive integer, got ${count}`);
  }
  if (!Number.isFinite(intervalMs) || intervalMs < 0) {
    throw new RangeError(`intervalMs must be >= 0, got ${intervalMs}`);
  }
  send();
  const result: PacedResult = { sent: 1, errors: [] };
  for (let i = 1; i < count; i++) {
    await clock.sleep(intervalMs, signal);
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
