/**
 * The announce stage as the daemon wires it: the VIP holder on a netlink
 * socket of its own, the refusal of a VIP that is the node's own address,
 * the clean-up of a VIP a crashed predecessor left, and the
 * {@link ElectionHost} through which the elector moves the VIP.
 *
 * @module
 */
import {
  carriesVipMarks,
  type HolderLink,
  ownAddressConflict,
  VipHolder,
} from "../announce/mod.ts";
import { type Config, ConfigError } from "../config/mod.ts";
import type { ElectionHost } from "../election/mod.ts";
import { type Cidr, parseIP } from "../ip/mod.ts";
import type { Address, Link, RouteClient } from "../netlink/mod.ts";
import type { Logger, Metrics } from "../observe/mod.ts";
import type { HoldConditions } from "./_hold.ts";
import type { PartStack } from "./_parts.ts";
import type { Platform } from "./_platform.ts";

/** The holder's view of a link. */
export function holderLink(link: Link): HolderLink {
  return { index: link.index, name: link.name, mac: link.mac };
}

/** Options of {@link openVipHolder}. */
export interface VipPartOptions {
  /** The configuration (`vip`, `announce`). */
  config: Config;
  /** The VIP. */
  vip: Cidr;
  /** The interface at start. */
  link: Link;
  /** The kernel and the clock. */
  platform: Platform;
  /** Where it logs. */
  log: Logger;
  /** Where it counts. */
  metrics: Metrics;
  /** What the host must offer while the VIP is held (the holder's guard). */
  conditions: HoldConditions;
  /** Called when a refresh gave the VIP up (the guard said no). */
  onLost: () => void;
}

/**
 * A VIP holder with a netlink socket of its own, so that a lifetime
 * refresh never waits behind another request; both are closed with
 * `stack`.
 */
export function openVipHolder(
  stack: PartStack,
  o: VipPartOptions,
): VipHolder {
  const route = stack.use(o.platform.openRoute());
  const holder = stack.use(
    new VipHolder({
      vip: o.vip,
      link: holderLink(o.link),
      route,
      lifetimeS: o.config.announce.vip_lifetime / 1000,
      burstCount: o.config.announce.garp_count,
      burstIntervalMs: o.config.announce.garp_interval,
      reannounceEveryMs: o.config.announce.refresh_interval,
      log: o.log,
      clock: o.platform.clock,
      openAnnouncer: o.platform.openAnnouncer,
      guard: o.conditions.guard,
      onLost: (reason) => {
        o.log.warn("gave the VIP up", { vip: o.vip.address, reason });
        o.onLost();
      },
      onAnnounce: () =>
        o.metrics.inc(
          "havip_announcements_total",
          "Gratuitous ARP / NA announcement rounds started.",
        ),
    }),
  );
  return holder;
}

/**
 * Refuses a VIP that is already an address of the interface without
 * ha-vip's marks: the node's own (a usage error, exit 2). Removing it as a
 * "leftover" at start, or when the node steps down, would take the node's
 * address.
 */
export async function refuseOwnAddress(
  route: RouteClient,
  link: Link,
  vip: Cidr,
): Promise<void> {
  const addrs = await route.listAddresses({ link: link.index });
  const conflict = ownAddressConflict(vip, addrs, link.name);
  if (conflict !== null) {
    throw new ConfigError([{ path: "vip", message: conflict }]);
  }
}

/**
 * A VIP still configured here was left by a crashed or killed predecessor:
 * this node is not master yet, so it must not answer for it. Only an
 * address with ha-vip's marks is ever removed (see {@link refuseOwnAddress}
 * for the others).
 */
export async function removeStaleVip(
  holder: VipHolder,
  log: Logger,
): Promise<boolean> {
  const left: Address | undefined = await holder.leftover();
  if (left === undefined || !carriesVipMarks(left)) return false;
  await holder.release();
  log.warn("removed a VIP left on the interface by a previous run", {
    vip: holder.description,
  });
  return true;
}

/** One VIP as the daemon holds it: its holder and its host conditions. */
export interface HeldVip {
  holder: VipHolder;
  conditions: HoldConditions;
}

/**
 * The daemon's side of the election contract, over the VIPs (dual stack:
 * two). A call naming a VIP acts on it; one without acts on all of them,
 * all or nothing for `addVip`.
 */
export function electionHost(
  vips: readonly HeldVip[],
  o: { config: Config; log: Logger; metrics: Metrics },
): ElectionHost {
  const lifetimeS = o.config.announce.vip_lifetime / 1000;
  const pick = (vip?: string) =>
    (vip === undefined
      ? vips
      : vips.filter((v) => v.conditions.vip.address === vip)).map((v) =>
        v.holder
      );
  return {
    log: o.log.with({ component: o.config.election.mode }),
    metrics: o.metrics,
    addVip: async (vip, options = {}) => {
      const claimed: VipHolder[] = [];
      try {
        for (const holder of pick(vip)) {
          await holder.claim({ lifetimeS: options.lifetimeS });
          claimed.push(holder);
          o.log.info("VIP added", {
            vip: holder.description,
            valid_lifetime: `${options.lifetimeS ?? lifetimeS}s`,
          });
        }
      } catch (err) {
        // All or nothing: the VIPs move together.
        for (const holder of claimed) await holder.release().catch(() => {});
        throw err;
      }
    },
    refreshVip: async (seconds, vip) => {
      for (const holder of pick(vip)) await holder.setLifetime(seconds);
    },
    announce: (vip) => {
      for (const holder of pick(vip)) void holder.announce();
    },
    removeVip: async (vip) => {
      for (const holder of pick(vip)) {
        await holder.release();
        o.log.info("VIP removed", { vip: holder.description });
      }
    },
    requireAddress: (address, reason, vip) => {
      // Without a VIP named: the VIP of the address's family.
      const family = parseIP(address).family;
      for (const v of vips) {
        const c = v.conditions;
        if (
          vip === undefined ? c.vip.family === family : c.vip.address === vip
        ) {
          c.require(address, reason);
        }
      }
    },
  };
}

/**
 * Never leave a VIP behind by accident: whatever ended the daemon, a VIP
 * it still holds is removed (if even that fails, its lifetime does it).
 */
export async function releaseIfHeld(
  holder: VipHolder,
  log: Logger,
): Promise<void> {
  if (!holder.held) return;
  try {
    await holder.release();
    log.warn("VIP removed during shutdown", { vip: holder.description });
  } catch (err) {
    log.error("cannot remove the VIP; it expires by its valid lifetime", {
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
