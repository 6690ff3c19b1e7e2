/**
 * The link watcher: follows the VIP interface by name through netlink
 * notifications (link and address changes, on a socket of their own), and
 * re-reads it every `resyncMs` and whenever notifications were lost. It
 * turns snapshots into {@link LinkState}s (up, down and why, recreated)
 * and passes address changes of the interface on.
 *
 * @module
 */
import type { Clock } from "../clock/mod.ts";
import type { LinkState } from "../election/mod.ts";
import type {
  Address,
  Link,
  RouteClient,
  RouteEvent,
  RouteWatcher,
} from "../netlink/mod.ts";
import type { Logger } from "../observe/mod.ts";
import { isNotExist } from "../sys/mod.ts";

/** What the watcher knows of the interface. */
export interface TrackedLink {
  /** The index it had when last up (a new one while up means recreated). */
  index: number;
  /** Up and with carrier. */
  up: boolean;
  /** Why not up ("" when up). */
  reason: string;
  /** The latest snapshot, null while gone. */
  link: Link | null;
}

/** The outcome of one snapshot. */
export interface LinkStep {
  /** What is tracked now. */
  tracked: TrackedLink;
  /** The state to report. */
  state: LinkState;
  /**
   * Whether `up` changed, the reason it is down changed (down, then gone),
   * or the interface was recreated.
   */
  changed: boolean;
}

/**
 * Folds a snapshot of the interface (null: it is gone, for `goneReason`)
 * into what is tracked. Pure. A different index counts as a recreation
 * only once the new interface is up (it may be configured meanwhile).
 */
export function trackLink(
  prev: TrackedLink,
  snapshot: Link | null,
  goneReason: string,
): LinkStep {
  const up = snapshot !== null && snapshot.up && snapshot.carrier;
  const reason = snapshot === null
    ? goneReason
    : !snapshot.up
    ? "administratively down"
    : !snapshot.carrier
    ? "no carrier"
    : "";
  const recreated = up && snapshot.index !== prev.index;
  const tracked: TrackedLink = {
    index: recreated ? snapshot.index : prev.index,
    up,
    reason,
    link: snapshot,
  };
  const state: LinkState = { link: snapshot, up, reason };
  if (recreated) state.recreatedFrom = prev.index;
  const changed = recreated || up !== prev.up || reason !== prev.reason;
  return { tracked, state, changed };
}

/** Options of {@link LinkWatcher}. */
export interface LinkWatcherOptions {
  /** The interface's name (`interface`). */
  name: string;
  /** The interface at start. */
  initial: Link;
  /** For re-reading the interface. */
  route: RouteClient;
  /** Notifications (the watcher closes it when disposed). */
  watcher: RouteWatcher;
  /** Time. */
  clock: Clock;
  /** How often the interface is re-read anyway, ms. */
  resyncMs: number;
  /** Where failures are logged. */
  log: Logger;
  /** Every snapshot (`changed` says whether it differs). */
  onLink(state: LinkState, changed: boolean): void;
  /** An address of the interface was added, changed or removed. */
  onAddress(address: Address, deleted: boolean): void;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Follows the VIP interface until disposed. */
export class LinkWatcher implements AsyncDisposable {
  readonly #o: LinkWatcherOptions;
  readonly #stop = new AbortController();
  #tracked: TrackedLink;
  #loop?: Promise<void>;

  /** A watcher that has not started. */
  constructor(options: LinkWatcherOptions) {
    this.#o = options;
    this.#tracked = trackLink(
      { index: options.initial.index, up: true, reason: "", link: null },
      options.initial,
      "",
    ).tracked;
  }

  /** What is tracked now. */
  get tracked(): TrackedLink {
    return this.#tracked;
  }

  /** Starts following. */
  start(): void {
    this.#loop ??= this.#run(this.#stop.signal);
  }

  /** Stops following and closes the notification socket. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort();
    this.#o.watcher.close();
    await this.#loop;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { clock, resyncMs } = this.#o;
    let resyncAt = clock.now() + resyncMs;
    while (!signal.aborted) {
      const events = await this.#next(resyncAt - clock.now(), signal);
      if (signal.aborted) break;
      if (events === null || events.some((e) => e.type === "overrun")) {
        await this.#resync();
        resyncAt = clock.now() + resyncMs;
        continue;
      }
      for (const e of events) this.#event(e);
    }
  }

  async #next(
    waitMs: number,
    signal: AbortSignal,
  ): Promise<RouteEvent[] | null> {
    try {
      return await this.#o.watcher.next({
        timeoutMs: Math.max(0, waitMs),
        signal,
      });
    } catch (err) {
      this.#o.log.warn("link notifications failed; re-reading the link", {
        error: errorText(err),
      });
      await this.#o.clock.sleep(1000, signal);
      return [{ type: "overrun" }];
    }
  }

  #event(e: RouteEvent): void {
    if (e.type === "link") {
      const ours = e.link.name === this.#o.name ||
        e.link.index === this.#tracked.link?.index;
      if (!ours) return;
      if (e.deleted || e.link.name !== this.#o.name) {
        // Deleted, or renamed away: our name has no interface now.
        this.#apply(null, this.#gone);
      } else this.#apply(e.link, "");
    } else if (e.type === "address") {
      const index = this.#tracked.link?.index;
      if (e.address.ifindex === index) this.#o.onAddress(e.address, e.deleted);
    }
  }

  async #resync(): Promise<void> {
    let link: Link | null = null;
    let why = "";
    try {
      link = await this.#o.route.getLink(this.#o.name);
    } catch (err) {
      // The same words as the notification's, so that a resync of a gone
      // interface is no news.
      why = isNotExist(err) ? this.#gone : `gone: ${errorText(err)}`;
    }
    this.#apply(link, why);
  }

  get #gone(): string {
    return `gone: no interface ${this.#o.name}`;
  }

  #apply(snapshot: Link | null, goneReason: string): void {
    const r = trackLink(this.#tracked, snapshot, goneReason);
    this.#tracked = r.tracked;
    this.#o.onLink(r.state, r.changed);
  }
}
