/**
 * A fake {@link Clock} for in-process tests: time stands still until the
 * test moves it, and timers fire in order as it does, with every promise
 * chain they start settled before the next one fires.
 *
 * ```ts
 * const clock = new FakeClock();
 * clock.timeout(1000, () => console.log("one second later"));
 * await clock.advance(1000);
 * ```
 *
 * @module
 */
import type { Clock } from "../lib/clock/mod.ts";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  every?: number;
}

/**
 * Lets every pending promise chain run: a real macrotask runs only once
 * the microtask queue is empty. Repeated, for chains that hop through a
 * resolved promise of a real API.
 */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** A fixed epoch time at virtual time 0 (2026-11-30T00:00:00Z). */
const WALL_EPOCH_MS = Date.UTC(2026, 10, 30);

/** Virtual monotonic time, in ms from 0. */
export class FakeClock implements Clock {
  #now = 0;
  #seq = 0;
  #timers: Timer[] = [];

  /** The virtual time. */
  now(): number {
    return this.#now;
  }

  /** The virtual realtime clock: a fixed epoch plus the virtual time. */
  wallNow(): number {
    return WALL_EPOCH_MS + this.#now;
  }

  /** How many timers are pending (tests of clean shutdown). */
  get pending(): number {
    return this.#timers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = this.timeout(ms, done);
      function done() {
        timer[Symbol.dispose]();
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  timeout(ms: number, fn: () => void): Disposable {
    return this.#add({ at: this.#now + Math.max(0, ms), fn });
  }

  interval(ms: number, fn: () => void): Disposable {
    const every = Math.max(1, ms);
    return this.#add({ at: this.#now + every, fn, every });
  }

  /**
   * Moves time forward by `ms`, firing due timers in order and settling
   * the promise chains each one starts.
   */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (let t = this.#due(end); t !== undefined; t = this.#due(end)) {
      this.#fire(t);
      await settle();
    }
    this.#now = end;
    await settle();
  }

  /**
   * Moves time forward timer by timer until `done()` holds (checked after
   * each), or throws after `limitMs` of virtual time.
   */
  async until(
    what: string,
    done: () => boolean,
    limitMs = 60_000,
  ): Promise<void> {
    const end = this.#now + limitMs;
    await settle();
    while (!done()) {
      const t = this.#due(end);
      if (t === undefined) {
        throw new Error(`${what}: not within ${limitMs} ms (fake time)`);
      }
      this.#fire(t);
      await settle();
    }
  }

  #add(t: Omit<Timer, "seq">): Disposable {
    const timer: Timer = { ...t, seq: this.#seq++ };
    this.#timers.push(timer);
    return {
      [Symbol.dispose]: () => {
        this.#timers = this.#timers.filter((x) => x !== timer);
      },
    };
  }

  #due(end: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers) {
      if (t.at > end) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) {
        best = t;
      }
    }
    return best;
  }

  #fire(t: Timer): void {
    this.#now = Math.max(this.#now, t.at);
    if (t.every === undefined) {
      this.#timers = this.#timers.filter((x) => x !== t);
    } else {
      t.at += t.every;
      t.seq = this.#seq++;
    }
    t.fn();
  }
}
