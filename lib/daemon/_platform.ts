/**
 * The daemon's seams in one place: everything it needs of the kernel and
 * of time. The real {@link systemPlatform} uses netlink, raw sockets and the
 * runtime's timers; tests pass a fake kernel and a fake clock
 * (`testing/`), and the whole daemon runs in process without root.
 *
 * @module
 */
import {
  type AnnouncerFactory,
  openAnnouncer,
  openVipProbe,
  type VipProbeFactory,
} from "../announce/mod.ts";
import { type Clock, systemClock } from "../clock/mod.ts";
import { openControlServer } from "../control/mod.ts";
import {
  openRouteSocket,
  openRouteWatcher,
  type RouteClient,
  type RouteWatcher,
} from "../netlink/mod.ts";
import type { ControlOpener } from "./_handoff.ts";

/** What the daemon needs of the kernel and of time. */
export interface Platform {
  /** Time, timers and sleeps. */
  clock: Clock;
  /**
   * Opens a netlink request socket. The daemon opens two: one for reads
   * (links, addresses, resync) and one the VIP holder has to itself, so a
   * lifetime refresh never waits behind other requests.
   */
  openRoute(): RouteClient;
  /** Subscribes to link and address changes (a socket of its own). */
  watchRoute(): RouteWatcher;
  /** Opens the announcer of the VIP (ARP or NA). */
  openAnnouncer: AnnouncerFactory;
  /**
   * Opens the local control channel (`ha-vip handoff`); absent: the daemon
   * runs without one (in-process tests that do not need it).
   */
  openControl?: ControlOpener;
  /** Opens an ARP probe: does another host answer for the VIP? */
  openVipProbe: VipProbeFactory;
}

/** The real kernel and the real clock. */
export const systemPlatform: Platform = {
  clock: systemClock,
  openRoute: openRouteSocket,
  watchRoute: openRouteWatcher,
  openAnnouncer,
  openControl: openControlServer,
  openVipProbe,
};
