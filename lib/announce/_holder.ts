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
 * Before every claim and every refresh it reads the interface's addresses:
 * a `guard` (the daemon's: a source address, an own address in the VIP's
 * subnet) may forbid holding the VIP, and then a refresh gives it up at
 * once. A VIP that became its subnet's primary is put back behind the
 * node's address, and removing it never takes a node address along (see
 * {@link VipHolder.release}). Its kernel operations run one at a time, so
 * a refresh can never re-add a VIP that a release is removing.
 *
 * An elector that fences the VIP itself (the Lease) claims it with an
 * explicit lifetime: the holder then never refreshes it on its own, and
 * re-adding a VIP that vanished (see {@link VipHolder.reconcile}) gives it
 * only what is left of that lifetime, never a fresh one.
 *
 * @module
 */
import { type Clock, systemClock } from "../clock/mod.ts";
import type { Cidr } from "../ip/mod.ts";
import {
  type Address,
  type AddressOps,
  IFA_F_DADFAILED,
  IFA_F_TENTATIVE,
} from "../netlink/mod.ts";
import { type Logger, silentLogger } from "../observe/mod.ts";
import { secondariesOfVip, vipEntries } from "./_addresses.ts";
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
  /**
   * Why the VIP must not be held with these addresses on the interface,
   * or null when it may. Checked before every claim and every refresh.
   */
  guard?: (addrs: readonly Address[]) => string | null;
  /** Called after a refresh gave the VIP up because the guard said no. */
  onLost?: (reason: string) => void;
  /** Called after each announcement round started (metrics). */
  onAnnounce?: () => void;
}

/**
 * How late after the caller's clock reading a caller-managed lifetime may
 * still be written in full: the time between reading the clock and the
 * kernel stamping the address that lib/lease's fencing bound assumes
 * (`FENCING_ASSUMPTIONS.schedulingSlackMs`).
 */
const STAMP_SLACK_MS = 100;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What {@link VipHolder.reconcile} did. */
export interface Reconciled {
  /** Addresses equal to the VIP's it removed (the VIP was not held). */
  removed: Address[];
  /** It added the held VIP again (it had vanished). */
  readded: boolean;
  /** Whether the VIP is on the interface now. */
  present: boolean;
}

/** Thrown by {@link VipHolder.claim} when the guard forbids the VIP. */
export class HoldRefusedError extends Error {
  /** `message` is the guard's reason. */
  constructor(message: string) {
    super(message);
    this.name = "HoldRefusedError";
  }
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
  #serial: Promise<unknown> = Promise.resolve();
  /** When a caller-managed lifetime ends (clock ms); null: refreshed here. */
  #managedUntil: number | null = null;

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

  /** The VIP's address (no prefix length). */
  get address(): string {
    return this.#o.vip.address;
  }

  /** Whether this holder believes it has the VIP configured. */
  get held(): boolean {
    return this.#held;
  }

  /** `10.0.0.100/24 on eth0`, for messages. */
  get description(): string {
    return `${this.#o.vip.address}/${this.#o.vip.prefixLength} on ${this.#link.name}`;
  }

  /**
   * The lifetime a write gives: `announce.vip_lifetime`, or what is left of
   * a caller-managed one in whole seconds, rounded down (0: nothing left),
   * counting {@link STAMP_SLACK_MS} as not yet spent: the caller derived its
   * lifetime from a clock reading a netlink round trip ago, and its fencing
   * bound allows for that much (lib/lease: `schedulingSlackMs`). Without the
   * slack every write gave a second less than asked.
   */
  #lifetimeNow(): number {
    if (this.#managedUntil === null) return this.#o.lifetimeS;
    return Math.max(
      0,
      Math.floor(
        (this.#managedUntil - this.#clock.now() + STAMP_SLACK_MS) / 1000,
      ),
    );
  }

  /** Adds (or replaces) the VIP with a fresh lifetime. */
  async #write(): Promise<void> {
    const validLft = this.#lifetimeNow();
    if (validLft < 1) {
      throw new Error("the VIP's fenced lifetime is over; not adding it");
    }
    await this.#o.route.replaceAddress({
      ifindex: this.#link.index,
      address: this.#o.vip.address,
      prefixLength: this.#o.vip.prefixLength,
      validLft,
      // Never a source address: the node's own address stays the source.
      preferredLft: 0,
    });
  }

  /** Runs kernel operations one at a time, in call order. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn);
    this.#serial = run.catch(() => {});
    return run;
  }

  #addresses(): Promise<Address[]> {
    return this.#o.route.listAddresses({
      link: this.#link.index,
      family: this.#o.vip.family,
    });
  }

  /**
   * Takes the VIP: checks the guard, adds it, starts the lifetime refresh
   * and the periodic re-announcement. Throws a {@link HoldRefusedError}
   * when the guard says no, the kernel's error when it refuses; then
   * nothing is held. `keepAlive: false` is a one-shot add (`ha-vip vip
   * add`) that expires by itself. With `lifetimeS` the VIP gets that
   * lifetime and no refresh timer: the caller renews it with
   * {@link setLifetime} (a Lease holder, only after a successful renewal).
   */
  claim(
    options: { keepAlive?: boolean; lifetimeS?: number } = {},
  ): Promise<void> {
    return this.#exclusive(async () => {
      if (this.#o.guard) {
        const why = this.#o.guard(await this.#addresses());
        if (why !== null) throw new HoldRefusedError(why);
      }
      const managed = options.lifetimeS !== undefined;
      this.#managedUntil = managed
        ? this.#clock.now() + options.lifetimeS! * 1000
        : null;
      // Held from before the write: the kernel's notification of it must
      // never look like a VIP nobody claimed.
      this.#held = true;
      try {
        await this.#write();
        if (this.#o.vip.family === 6) await this.#unlessDadFailed();
      } catch (err) {
        this.#held = false;
        throw err;
      }
      if (options.keepAlive === false) return;
      this.#refreshFailing = false;
      this.#stopTimers();
      // At least three refreshes per lifetime: one late timer is harmless.
      const every = this.#o.refreshEveryMs ??
        Math.min(1000, (this.#o.lifetimeS * 1000) / 3);
      if (!managed) {
        this.#timers.push(
          this.#clock.interval(every, () => void this.refresh()),
        );
      }
      if (this.#o.reannounceEveryMs > 0) {
        this.#timers.push(
          this.#clock.interval(
            this.#o.reannounceEveryMs,
            () => void this.announce(1),
          ),
        );
      }
    });
  }

  /**
   * Whether the kernel marks the VIP `dadfailed` or `tentative` in `addrs`.
   * An IPv6 VIP is added with `nodad`, so the kernel never runs duplicate
   * address detection on it; but the same address added by hand without
   * `nodad` (before a claim, or re-added on a master behind ha-vip's back)
   * keeps those flags through a replace, and a tentative address receives
   * nothing.
   */
  #dadStuck(addrs: readonly Address[]): boolean {
    if (this.#o.vip.family !== 6) return false;
    const a = vipEntries(this.#o.vip, addrs).find((x) =>
      x.prefixLength === this.#o.vip.prefixLength
    );
    return a !== undefined &&
      (a.flags & (IFA_F_DADFAILED | IFA_F_TENTATIVE)) !== 0;
  }

  #warnDadStuck(): void {
    this.#log.warn(
      "the kernel had the VIP marked dadfailed/tentative (added without nodad, by hand?): " +
        "adding it again without DAD",
      { vip: this.description },
    );
  }

  /**
   * After a claim's write: a VIP still marked by DAD is deleted and added
   * again without DAD. If even that leaves it unusable, the claim fails
   * (the election steps out for a while).
   */
  async #unlessDadFailed(): Promise<void> {
    const addrs = await this.#addresses();
    if (!this.#dadStuck(addrs)) return;
    this.#warnDadStuck();
    await this.#delete(addrs);
    await this.#write();
    if (this.#dadStuck(await this.#addresses())) {
      throw new Error(
        `the VIP ${this.description} stays dadfailed/tentative: is another host on the link using it?`,
      );
    }
  }

  /**
   * Sets the held VIP's valid lifetime to `seconds` from now (a caller that
   * manages the lifetime, see {@link claim}). Checks the guard like a
   * refresh. Throws the kernel's error; the old lifetime then still runs.
   */
  setLifetime(seconds: number): Promise<void> {
    return this.#exclusive(async () => {
      if (!this.#held || this.#managedUntil === null) return;
      const addrs = await this.#addresses();
      const why = this.#o.guard?.(addrs) ?? null;
      if (why !== null) {
        await this.#release(addrs);
        this.#o.onLost?.(why);
        return;
      }
      const before = this.#managedUntil;
      this.#managedUntil = this.#clock.now() + seconds * 1000;
      try {
        await this.#write();
      } catch (err) {
        this.#managedUntil = before;
        throw err;
      }
    });
  }

  /**
   * Resets the valid lifetime (every second while held, and at once when
   * the VIP was seen to vanish): re-adds a VIP deleted behind our back,
   * puts a VIP that became its subnet's primary back behind the node's
   * address, re-adds an IPv6 VIP that DAD marked without DAD, and gives
   * the VIP up when the guard says no.
   */
  refresh(): Promise<void> {
    return this.#exclusive(async () => {
      if (!this.#held) return;
      try {
        const addrs = await this.#addresses();
        const why = this.#o.guard?.(addrs) ?? null;
        if (why !== null) {
          await this.#release(addrs);
          this.#o.onLost?.(why);
          return;
        }
        if (this.#dadStuck(addrs)) {
          this.#warnDadStuck();
          await this.#delete(addrs);
        } else if (secondariesOfVip(this.#o.vip, addrs).length > 0) {
          this.#log.warn(
            "the VIP had become its subnet's primary address; re-adding it behind the node's own",
            { vip: this.description },
          );
          await this.#delete(addrs);
        }
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
    });
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
   * and stops refreshing. A VIP that is already gone is fine. If the VIP
   * is its subnet's primary with node addresses as its secondaries, and
   * `promote_secondaries` is off, deleting it would delete them too: it is
   * turned on for that one deletion (and said so), then set back.
   */
  release(): Promise<void> {
    return this.#exclusive(() => this.#release());
  }

  async #release(addrs?: readonly Address[]): Promise<void> {
    this.#held = false;
    this.#managedUntil = null;
    this.#stopTimers();
    this.#dropAnnouncer();
    await this.#delete(addrs);
  }

  /** Deletes the VIP without taking a node address along. */
  async #delete(known?: readonly Address[]): Promise<void> {
    const target = {
      ifindex: this.#link.index,
      address: this.#o.vip.address,
      prefixLength: this.#o.vip.prefixLength,
      ignoreMissing: true,
    };
    let addrs = known;
    try {
      addrs ??= await this.#addresses();
    } catch {
      // Cannot look (the link is gone?): deleting exactly it is all we can do.
      addrs = [];
    }
    const taken = secondariesOfVip(this.#o.vip, addrs);
    const route = this.#o.route;
    if (
      taken.length === 0 || await route.promoteSecondaries(this.#link.index)
    ) {
      await route.deleteAddress(target);
      return;
    }
    const names = taken.map((a) => `${a.address}/${a.prefixLength}`).join(", ");
    this.#log.warn(
      `the VIP is its subnet's primary address with ${names} as secondaries: ` +
        `turning promote_secondaries on for ${this.#link.name} while removing it, so that ${names} stay`,
      { vip: this.description },
    );
    await route.setPromoteSecondaries(this.#link.index, true);
    try {
      await route.deleteAddress(target);
    } finally {
      await route.setPromoteSecondaries(this.#link.index, false);
      this.#log.info(`promote_secondaries of ${this.#link.name} is 0 again`);
    }
  }

  /**
   * The VIP's address as configured on the interface right now, at the
   * VIP's prefix length (any holder's, or a hand-made one), if any.
   */
  leftover(): Promise<Address | undefined> {
    return this.#exclusive(async () =>
      vipEntries(this.#o.vip, await this.#addresses()).find((a) =>
        a.prefixLength === this.#o.vip.prefixLength
      )
    );
  }

  /**
   * Makes the kernel agree with this holder. While not held, every address
   * equal to the VIP's is removed (a VIP added by hand on a backup answers
   * ARP next to the master's). While held and missing (deleted behind our
   * back), it is added again, guard permitting (a caller-managed lifetime:
   * with what is left of it, and not at all once it is over). Resolves
   * what it did and whether the VIP is on the interface now.
   */
  reconcile(): Promise<Reconciled> {
    return this.#exclusive(async () => {
      const addrs = await this.#addresses();
      const entries = vipEntries(this.#o.vip, addrs);
      if (!this.#held) {
        for (const a of entries) {
          if (a.prefixLength === this.#o.vip.prefixLength) {
            await this.#delete(addrs);
          } else {
            await this.#o.route.deleteAddress({
              ifindex: this.#link.index,
              address: a.address,
              prefixLength: a.prefixLength,
              ignoreMissing: true,
            });
          }
        }
        return { removed: entries, readded: false, present: false };
      }
      const mine = entries.some((a) =>
        a.prefixLength === this.#o.vip.prefixLength
      );
      if (mine || this.#o.guard?.(addrs) || this.#lifetimeNow() < 1) {
        return { removed: [], readded: false, present: mine };
      }
      await this.#write();
      return { removed: [], readded: true, present: true };
    });
  }

  /** Whether the VIP is configured on the interface right now (any holder). */
  async present(): Promise<boolean> {
    return (await this.leftover()) !== undefined;
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
