/**
 * Holding the VIP: add it by netlink with a finite valid lifetime and
 * `preferred_lft 0`, keep refreshing that lifetime, announce it (gratuitous
 * ARP, or unsolicited NA for IPv6), and remove exactly it.
 *
 * The lifetime is the dead-man's switch: if this process dies or hangs, the
 * kernel deletes the VIP by itself once `lifetimeS` runs out, so a crashed
 * node cannot keep answering ARP for it the way keepalived's does.
 */
import type { Cidr } from "../ip/mod.ts";
import { announceBurst } from "../arp/mod.ts";
import { advertiseBurst } from "../ndp/mod.ts";
import type { RouteSocket } from "../netlink/mod.ts";
import { type Logger, silentLogger } from "../observe/mod.ts";

/** Options of {@link VipHolder}. */
export interface VipHolderOptions {
  vip: Cidr;
  /** The interface: index, name and MAC (announcements carry it). */
  link: { index: number; name: string; mac: string };
  route: RouteSocket;
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
  log?: Logger;
  /** Called when a lifetime refresh fails (the link may be gone). */
  onRefreshError?: (err: Error) => void;
  /** Called after each announcement round (metrics). */
  onAnnounce?: () => void;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Adds, refreshes, announces and removes one VIP on one interface. */
export class VipHolder {
  readonly #o: VipHolderOptions;
  readonly #log: Logger;
  #held = false;
  #refreshTimer?: ReturnType<typeof setInterval>;
  #reannounceTimer?: ReturnType<typeof setInterval>;
  #burst?: AbortController;
  #refreshFailing = false;

  constructor(options: VipHolderOptions) {
    this.#o = options;
    this.#log = options.log ?? silentLogger;
  }

  /** Points the holder at a recreated interface (new index, maybe new MAC). */
  setLink(link: { index: number; name: string; mac: string }): void {
    this.#o.link = link;
  }

  /** Whether this holder believes it has the VIP configured. */
  get held(): boolean {
    return this.#held;
  }

  /** `10.0.0.100/24 on eth0`, for messages. */
  get description(): string {
    return `${this.#o.vip.address}/${this.#o.vip.prefixLength} on ${this.#o.link.name}`;
  }

  /** Adds (or replaces) the VIP with a fresh lifetime. */
  async #write(): Promise<void> {
    await this.#o.route.replaceAddress({
      ifindex: this.#o.link.index,
      address: this.#o.vip.address,
      prefixLength: this.#o.vip.prefixLength,
      validLft: this.#o.lifetimeS,
      // Never a source address: the node's own address stays the source.
      preferredLft: 0,
    });
  }

  /**
   * Takes the VIP: adds it, starts the lifetime refresh and the periodic
   * re-announcement. Throws the netlink error when the kernel refuses; then
   * nothing is held.
   */
  async claim(options: { keepAlive?: boolean } = {}): Promise<void> {
    await this.#write();
    this.#held = true;
    // keepAlive false: a one-shot add (ha-vip vip add) that expires by itself.
    if (options.keepAlive === false) return;
    this.#refreshFailing = false;
    clearInterval(this.#refreshTimer);
    this.#refreshTimer = setInterval(
      () => this.refresh(),
      // At least three refreshes per lifetime: one late timer is harmless.
      this.#o.refreshEveryMs ?? Math.min(1000, (this.#o.lifetimeS * 1000) / 3),
    );
    clearInterval(this.#reannounceTimer);
    if (this.#o.reannounceEveryMs > 0) {
      this.#reannounceTimer = setInterval(
        () => this.announce(1),
        this.#o.reannounceEveryMs,
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
    const common = {
      ifindex: this.#o.link.index,
      mac: this.#o.link.mac,
      ip: this.#o.vip.address,
      count,
      intervalMs: this.#o.burstIntervalMs,
      signal: ac.signal,
    };
    const run = this.#o.vip.family === 4
      ? announceBurst(common)
      : advertiseBurst(common);
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
    clearInterval(this.#refreshTimer);
    clearInterval(this.#reannounceTimer);
    this.#refreshTimer = this.#reannounceTimer = undefined;
    this.#burst?.abort();
    await this.#o.route.deleteAddress({
      ifindex: this.#o.link.index,
      address: this.#o.vip.address,
      prefixLength: this.#o.vip.prefixLength,
      ignoreMissing: true,
    });
  }

  /** Whether the VIP is configured on the interface right now (any holder). */
  async present(): Promise<boolean> {
    const addrs = await this.#o.route.listAddresses(this.#o.link.index);
    return addrs.some((a) => a.address === this.#o.vip.address);
  }

  /** Stops timers without touching the kernel (after release, or in tests). */
  stopTimers(): void {
    clearInterval(this.#refreshTimer);
    clearInterval(this.#reannounceTimer);
    this.#burst?.abort();
  }
}
