/**
 * The interface's addresses, followed: what they allow (a source address
 * the backend needs, an own address in the VIP's subnet), and whether the
 * kernel's VIP agrees with the holder. Each address notification, link
 * snapshot (resync included) and lost VIP makes it re-read the addresses
 * (coalesced) and:
 *
 * - tell the elector, per cause, what forbids holding the VIP;
 * - reconcile the kernel with the holder: remove a VIP that this node does
 *   not hold (WARN naming it), re-add one it holds that vanished;
 * - keep `havip_vip_held` and /status on what the kernel really has.
 *
 * @module
 */
import {
  holdBlocks,
  type RequiredAddress,
  type VipHolder,
} from "../announce/mod.ts";
import type { Elector } from "../election/mod.ts";
import type { Cidr } from "../ip/mod.ts";
import {
  type Address,
  type AddressOps,
  IFA_F_SECONDARY,
} from "../netlink/mod.ts";
import type { Logger, Metrics } from "../observe/mod.ts";

const HELD = "havip_vip_held";
const HELD_HELP =
  "1 while the VIP is on this node's interface (the kernel's view).";

/** The host conditions for holding the VIP (a backend adds what it needs). */
export class HoldConditions {
  readonly #required: RequiredAddress[] = [];

  /** Conditions for `vip` on the interface named `ifname`. */
  constructor(readonly vip: Cidr, readonly ifname: string) {}

  /** The backend cannot work without `address` on the interface. */
  require(address: string, reason: string): void {
    this.#required.push({ address, reason });
  }

  /**
   * What forbids holding the VIP with these addresses, by cause. Without
   * a required address the node cannot take part at all: that is the one
   * reason given then (a lost address usually fails both conditions, and
   * one line should say why).
   */
  blocks(addrs: readonly Address[]): Map<string, string> {
    const out = new Map<string, string>();
    for (
      const b of holdBlocks({
        vip: this.vip,
        ifname: this.ifname,
        addrs,
        required: this.#required,
      })
    ) {
      if (!out.has(b.cause)) out.set(b.cause, b.reason);
    }
    if (out.has("source")) out.delete("subnet");
    return out;
  }

  /** The holder's guard: the first reason, or null. */
  readonly guard = (addrs: readonly Address[]): string | null =>
    this.blocks(addrs).values().next().value ?? null;
}

/** Options of {@link AddressFollower}. */
export interface AddressFollowerOptions {
  /** Reads of the interface's addresses (the daemon's request socket). */
  route: AddressOps;
  /** The interface's current index (it may be recreated). */
  ifindex: () => number;
  conditions: HoldConditions;
  holder: VipHolder;
  elector: Elector;
  log: Logger;
  metrics: Metrics;
  /**
   * Dual stack: the elector is told which VIP a block is about, and
   * `havip_vip_held` is kept per family (`labels`: `{ family: "6" }`).
   */
  dual?: boolean;
}

const CAUSES = ["source", "subnet"] as const;

/** Follows the interface's addresses; see the module docs. */
export class AddressFollower {
  readonly #o: AddressFollowerOptions;
  readonly #applied = new Map<string, string | null>();
  #present: boolean | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  /** A follower that has read nothing yet. */
  constructor(options: AddressFollowerOptions) {
    this.#o = options;
    this.#held(false);
  }

  #held(present: boolean): void {
    const o = this.#o;
    o.metrics.set(
      HELD,
      HELD_HELP,
      present ? 1 : 0,
      o.dual ? { family: String(o.conditions.vip.family) } : {},
    );
  }

  /** Whether the kernel has the VIP, as last read (null before). */
  get present(): boolean | null {
    return this.#present;
  }

  /**
   * An address notification of the interface: re-reads and acts, except
   * on the held VIP's own lifetime refresh and on another family's address. Every refresh rewrites the VIP
   * and the kernel notifies it (issue 12: that notification made two more
   * reads of the addresses a second); the VIP still there as a secondary,
   * held and already seen present, changes nothing this follower acts on
   * (the holds depend on the node's own addresses, not on the VIP).
   */
  addressChanged(address: Address, deleted: boolean): void {
    const { vip } = this.#o.conditions;
    // It reads only its own family's addresses (dual stack: one follower
    // per VIP): another family's change cannot change what it reads.
    if (address.family !== vip.family) return;
    const ownRefresh = !deleted && this.#present === true &&
      this.#o.holder.held && address.address === vip.address &&
      address.prefixLength === vip.prefixLength &&
      (address.flags & IFA_F_SECONDARY) !== 0;
    if (!ownRefresh) void this.check();
  }

  /** Re-reads and acts; calls while one runs fold into one more run. */
  check(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#once();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  /** Stops acting (at teardown); a run in progress finishes. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  async #once(): Promise<void> {
    if (this.#stopped) return;
    const { conditions, holder, log } = this.#o;
    let addrs: Address[];
    try {
      addrs = await this.#o.route.listAddresses({
        link: this.#o.ifindex(),
        family: conditions.vip.family,
      });
    } catch (err) {
      // The interface is gone: the link watcher says so and steps down.
      log.debug("cannot read the interface's addresses", {
        error: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    const blocks = conditions.blocks(addrs);
    for (const cause of CAUSES) {
      const reason = blocks.get(cause) ?? null;
      if (this.#applied.get(cause) === reason) continue;
      if (reason === null && !this.#applied.has(cause)) {
        this.#applied.set(cause, null);
        continue;
      }
      this.#applied.set(cause, reason);
      this.#o.elector.setHoldBlock(
        cause,
        reason,
        this.#o.dual ? conditions.vip.address : undefined,
      );
    }
    try {
      const r = await holder.reconcile();
      if (r.removed.length > 0) {
        log.warn(
          `removed ${
            r.removed.map((a) => `${a.address}/${a.prefixLength}`).join(", ")
          } from ${conditions.ifname}: it is the VIP and this node does not hold it ` +
            `(added by hand or by another tool?); only the master may answer for it`,
          { vip: holder.description },
        );
      }
      if (r.readded) {
        log.warn(
          `the VIP vanished from ${conditions.ifname} while this node holds it; added it again`,
          { vip: holder.description },
        );
      }
      this.#present = r.present;
      this.#held(r.present);
    } catch (err) {
      log.warn("cannot reconcile the VIP with the kernel", {
        vip: holder.description,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
