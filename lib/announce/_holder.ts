/**
 * Holding the VIP: add it by netlink with a finite valid lifetime and
 * `preferred_lft 0`, keep refreshing that lifetime, announce it (gratuitous
 * ARP, or unsolicited NA for IPv6), and remove exactly it.
 *
 * The lifetime is the dead-man's switch: if this process dies or hangs, the
 * kernel deletes the VIP by itself once `lifetimeS` runs out, so a crashed
 * node cannot keep answering ARP for it the way keepalived's does. Give the
 * holder a netlink socket of its own, so that no other request ever delays
 * a refresh.
 *
 * @module
 */
import { type Clock, systemClock } from "../clock/mod.ts";
import type { Cidr } from "../ip/mod.ts";
import type { AddressOps } from "../netlink/mod.ts";
import { type Logger, silentLogger } from "../observe/mod.ts";
import {
  announceBurst,
  type Announcer,
  type AnnouncerFactory,
  openAnnouncer,
} from "./_announcer.ts";

/** The interface the VIP lives on. */
export interface HolderLink {
  /** Interface index. */
  index: number;
  /** Interface name, for messages. */
  name: string;
  /** Its MAC: announcements carry it. */
  mac: string;
}

/** Options of {@link VipHolder}. */
export interface VipHolderOptions {
  /** The VIP with its prefix length. */
  vip: Cidr;
  /** The interface. */
  link: HolderLink;
  /** Address operations, on a netlink socket of the holder's own. */
  route: AddressOps;
  /** `announce.vip_lifetime` in seconds. */
  lifetimeS: number;
  /** How often the lifetime is refreshed while held (default 1000 ms). */
  refreshEveryMs?: number;
  /** `announce.garp_count`. */
  burstCount: number;
  /** `announce.garp_interval`. */
  burstIntervalMs: number;
  /** `announce.refresh_interval`: periodic re-announcement; 0 = off. */
  reannounceEveryMs: number;
  /** Where problems are logged (default: nowhere). */
  log?: Logger;
  /** Opens the announcer (default {@link openAnnouncer}; a fake in tests). */
  openAnnouncer?: AnnouncerFactory;
  /** Paces timers and bursts (default: the system clock). */
  clock?: Clock;
  /** Called when a lifetime refresh fails (the link may be gone). */
  onRefreshError?: (err: Error) => void;
  /** Called after each announcement round started (metrics). */
  onAnnounce?: () => void;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Adds, refreshes, announces and removes one VIP on one interface. */
export class VipHolder implements AsyncDisposable {
  readonly #o: VipHolderOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  #link: HolderLink;
  #held = false;
  #timers: Disposable[] = [];
  #burst?: AbortController;
  #announcer?: Announcer;
  #refreshFailing = false;

  /** A holder that holds nothing yet. */
  constructor(options: VipHolderOptions) {
    this.#o = options;
    this.#link = options.link;
    this.#log = options.log ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
  }

  /** Points the holder at a recreated interface (new index, maybe new MAC). */
  setLink(link: HolderLink): void {
    this.#link = link;
    this.#dropAnnouncer();
  }

  /** Whether this holder believes it has the VIP configured. */
  get held(): boolean {
    return this.#held;
  }

  /** `10.0.0.100/24 on eth0`, for messages. */
  get description(): string {
    return `${this.#o.vip.address}/${this.#o.vip.prefixLength} on ${this.#link.name}`;
  }

  /** Adds (or replaces) the VIP with a fresh lifetime. */
  async #write(): Promise<void> {
    await this.#o.route.replaceAddress({
      ifindex: this.#link.index,
      address: this.#o.vip.address,
      prefixLength: this.#o.vip.prefixLength,
      validLft: this.#o.lifetimeS,
      // Never a source address: the node's own address stays the source.
      preferredLft: 0,
    });
  }

  /**
   * Takes the VIP: adds it, starts the lifetime refresh and the periodic
   * re-announcement. Throws the kernel's error when it refuses; then
   * nothing is held. `keepAlive: false` is a one-shot add (`ha-vip vip
   * add`) that expires by itself.
   */
  async claim(options: { keepAlive?: boolean } = {}): Promise<void> {
    await this.#write();
    this.#held = true;
    if (options.keepAlive === false) return;
    this.#refreshFailing = false;
    this.#stopTimers();
    // At least three refreshes per lifetime: one late timer is harmless.
    const every = this.#o.refreshEveryMs ??
      Math.min(1000, (this.#o.lifetimeS * 1000) / 3);
    this.#timers.push(this.#clock.interval(every, () => void this.refresh()));
    if (this.#o.reannounceEveryMs > 0) {
      this.#timers.push(
        this.#clock.interval(
          this.#o.reannounceEveryMs,
          () => void this.announce(1),
        ),
      );
    }
  }

  /** Resets the valid lifetime (called every second while held). */
  async refresh(): Promise<void> {
    if (!this.#held) return;
    try {
      await this.#write();
      if (this.#refreshFailing) {
        this.#log.info("VIP lifetime refresh works again", {
          vip: this.description,
        });
      }
      this.#refreshFailing = false;
    } catch (err) {
      // Log once per failure streak: a gone link would log every second.
      if (!this.#refreshFailing) {
        this.#log.error("cannot refresh the VIP lifetime", {
          vip: this.description,
          error: errorText(err),
        });
      }
      this.#refreshFailing = true;
      this.#o.onRefreshError?.(err as Error);
    }
  }

  /**
   * Announces the VIP: the first round goes out before this returns, the
   * rest of the burst follows in the background and stops on release. A
   * new announcement replaces a burst still running.
   */
  announce(count: number = this.#o.burstCount): Promise<void> {
    if (!this.#held) return Promise.resolve();
    this.#burst?.abort();
    const ac = new AbortController();
    this.#burst = ac;
    let run;
    try {
      this.#announcer ??= (this.#o.openAnnouncer ?? openAnnouncer)({
        ifindex: this.#link.index,
        mac: this.#link.mac,
        ip: this.#o.vip.address,
      });
      run = announceBurst(this.#announcer, {
        count,
        intervalMs: this.#o.burstIntervalMs,
        signal: ac.signal,
        clock: this.#clock,
      });
    } catch (err) {
      run = Promise.reject(err);
    }
    this.#o.onAnnounce?.();
    return run.then((r) => {
      for (const e of r.errors) {
        this.#log.warn("announcement round failed", {
          vip: this.description,
          error: e.message,
        });
      }
    }, (err) => {
      this.#log.error("cannot announce the VIP", {
        vip: this.description,
        error: errorText(err),
      });
    });
  }

  /**
   * Removes the VIP (exactly this address: netlink delete with IFA_LOCAL)
   * and stops refreshing. A VIP that is already gone is fine.
   */
  async release(): Promise<void> {
    this.#held = false;
    this.#stopTimers();
    this.#dropAnnouncer();
    await this.#o.route.deleteAddress({
      ifindex: this.#link.index,
      address: this.#o.vip.address,
      prefixLength: this.#o.vip.prefixLength,
      ignoreMissing: true,
    });
  }

  /** Whether the VIP is configured on the interface right now (any holder). */
  async present(): Promise<boolean> {
    const addrs = await this.#o.route.listAddresses({ link: this.#link.index });
    return addrs.some((a) => a.address === this.#o.vip.address);
  }

  /**
   * Stops timers and closes the announcer without touching the kernel's
   * address (after `release`, or to leave a one-shot VIP to its lifetime).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#stopTimers();
    const announcer = this.#announcer;
    this.#dropAnnouncer(false);
    await announcer?.close();
  }

  #stopTimers(): void {
    for (const t of this.#timers) t[Symbol.dispose]();
    this.#timers = [];
  }

  #dropAnnouncer(close = true): void {
    this.#burst?.abort();
    if (close) void this.#announcer?.close();
    this.#announcer = undefined;
  }
}
