/**
 * Time as a seam: everything in ha-vip that waits, paces or reads the time
 * takes a {@link Clock}, so that tests can drive the whole daemon with a
 * fake one (see `testing/fake_clock.ts`).
 *
 * @module
 */

/** A monotonic clock with timers. */
export interface Clock {
  /** Monotonic time in ms (the origin is arbitrary). */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` once after `ms`; disposing the handle cancels it. */
  timeout(ms: number, fn: () => void): Disposable;
  /** Calls `fn` every `ms` until the handle is disposed. */
  interval(ms: number, fn: () => void): Disposable;
  /**
   * The realtime clock, ms since the epoch (what signed VRRP adverts carry
   * and check); absent: `Date.now()`.
   */
  wallNow?(): number;
}

/** Resolves after `ms` of real time, or at once when `signal` aborts. */
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

/** The real clock: `performance.now()` and the runtime's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  sleep,
  timeout(ms, fn) {
    const id = setTimeout(fn, ms);
    return { [Symbol.dispose]: () => clearTimeout(id) };
  },
  interval(ms, fn) {
    const id = setInterval(fn, ms);
    return { [Symbol.dispose]: () => clearInterval(id) };
  },
};
