/**
 * The announce stage as the daemon wires it: the VIP holder on a netlink
 * socket of its own, the clean-up of a VIP a crashed predecessor left, the
 * warning for a VIP outside the interface's subnets, and the
 * {@link ElectionHost} through which the elector moves the VIP.
 *
 * @module
 */
import { type HolderLink, VipHolder } from "../announce/mod.ts";
import type { Config } from "../config/mod.ts";
import type { ElectionHost } from "../election/mod.ts";
import { type Cidr, inSubnet, parseIP } from "../ip/mod.ts";
import type { Link, RouteClient } from "../netlink/mod.ts";
import type { Logger, Metrics } from "../observe/mod.ts";
import type { PartStack } from "./_parts.ts";
import type { Platform } from "./_platform.ts";

const HELD = "havip_vip_held";
const HELD_HELP = "1 while this node has the VIP configured.";

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
      onAnnounce: () =>
        o.metrics.inc(
          "havip_announcements_total",
          "Gratuitous ARP / NA announcement rounds started.",
        ),
    }),
  );
  o.metrics.set(HELD, HELD_HELP, 0);
  return holder;
}

/**
 * A VIP still configured here was left by a crashed or killed predecessor:
 * this node is not master yet, so it must not answer for it.
 */
export async function removeStaleVip(
  holder: VipHolder,
  log: Logger,
): Promise<boolean> {
  if (!(await holder.present())) return false;
  await holder.release();
  log.warn("removed a VIP left on the interface by a previous run", {
    vip: holder.description,
  });
  return true;
}

/**
 * Without an address of its own in the VIP's subnet, the VIP becomes the
 * subnet's primary address on the interface; deleting a primary also
 * deletes the secondaries of that subnet unless promote_secondaries is on.
 */
export async function warnIfPrimary(
  route: RouteClient,
  link: Link,
  vip: Cidr,
  log: Logger,
): Promise<void> {
  const own = (await route.listAddresses({
    link: link.index,
    family: vip.family,
  })).filter((a) => a.address !== vip.address);
  const sameSubnet = own.some((a) =>
    inSubnet(parseIP(a.address).bytes, vip.bytes, vip.prefixLength)
  );
  if (!sameSubnet) {
    log.warn(
      `${link.name} has no address of its own in ${vip.address}/${vip.prefixLength}: the VIP will be that subnet's ` +
        `primary address there. Usually the VIP's prefix length should be the node subnet's (e.g. /24).`,
    );
  }
}

/** The daemon's side of the election contract, over the holder. */
export function electionHost(
  holder: VipHolder,
  o: { config: Config; log: Logger; metrics: Metrics },
): ElectionHost {
  const lifetimeS = o.config.announce.vip_lifetime / 1000;
  return {
    log: o.log.with({ component: o.config.election.mode }),
    metrics: o.metrics,
    addVip: async () => {
      await holder.claim();
      o.metrics.set(HELD, HELD_HELP, 1);
      o.log.info("VIP added", {
        vip: holder.description,
        valid_lifetime: `${lifetimeS}s`,
      });
    },
    announce: () => void holder.announce(),
    removeVip: async () => {
      await holder.release();
      o.metrics.set(HELD, HELD_HELP, 0);
      o.log.info("VIP removed", { vip: holder.description });
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
