/**
 * The daemon: health -> election -> announce. It owns every effect (sockets,
 * timers, signals) and no decision: those live in the health stability
 * window and the VRRP state machine.
 *
 * Invariants kept here:
 * - A VIP left on the interface by a crashed predecessor is removed at start
 *   (this node is never master at start).
 * - Whatever ends the daemon, a VIP it holds is removed before it returns;
 *   if even that fails, the VIP's valid lifetime removes it within seconds.
 */
import { type Config, ConfigError } from "../config/mod.ts";
import {
  type Cidr,
  inSubnet,
  parseCidr,
  parseIPv4,
  parseIPv6,
} from "../ip/mod.ts";
import { VrrpElector } from "../election/mod.ts";
import { HealthMonitor } from "../health/mod.ts";
import { provideStateDump } from "../harden/mod.ts";
import {
  type Link,
  openRouteSocket,
  type RouteSocket,
} from "../netlink/mod.ts";
import { isNotExist } from "../sys/mod.ts";
import { type Logger, Metrics, serveObservability } from "../observe/mod.ts";
import { openVrrpSocket, type VrrpSocket } from "../vrrp/mod.ts";
import { resilientProbe, verdictReason } from "./_health.ts";
import { VipHolder } from "../announce/mod.ts";

/** Options of {@link runDaemon}. */
export interface DaemonOptions {
  config: Config;
  log: Logger;
  /** Environment for in-cluster discovery (default: the process's). */
  env?: Record<string, string>;
  /** Aborting it acts like SIGTERM (tests); a second abort is not possible. */
  signal?: AbortSignal;
  /** Install SIGTERM/SIGINT handlers (default true). */
  handleSignals?: boolean;
  /** How often the link state is polled (default 500 ms). */
  linkPollMs?: number;
  /**
   * Called once every socket and listener of the daemon is open, before the
   * election starts (`ha-vip run` forbids new listeners from then on).
   */
  onRunning?: () => void;
}

/** Thrown for conditions that stop the daemon before it runs (exit 1). */
export class DaemonStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DaemonStartError";
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function primaryAddress(
  route: RouteSocket,
  link: Link,
  vip: Cidr,
  configured?: string,
): Promise<string> {
  if (configured) return configured;
  const addrs = await route.listAddresses({ link: link.index, family: 4 });
  // The first IPv4 address that is not the VIP itself (it may be left over).
  const own = addrs.find((a) => a.address !== vip.address);
  if (!own) {
    throw new DaemonStartError(
      `interface ${link.name} has no IPv4 address of its own; VRRP needs one as the advertisement source ` +
        `(add one, or set election.vrrp.source_address)`,
    );
  }
  return own.address;
}

/**
 * Without an address of its own in the VIP's subnet, the VIP becomes the
 * subnet's primary address on the interface; deleting a primary also
 * deletes the secondaries of that subnet unless promote_secondaries is on.
 */
async function warnIfPrimary(
  route: RouteSocket,
  link: Link,
  vip: Cidr,
  log: Logger,
): Promise<void> {
  const own =
    (await route.listAddresses({ link: link.index, family: vip.family }))
      .filter((a) => a.address !== vip.address);
  const sameSubnet = own.some((a) => {
    const bytes = vip.family === 4
      ? parseIPv4(a.address)
      : parseIPv6(a.address);
    return inSubnet(bytes, vip.bytes, vip.prefixLength);
  });
  if (!sameSubnet) {
    log.warn(
      `${link.name} has no address of its own in ${vip.address}/${vip.prefixLength}: the VIP will be that subnet's ` +
        `primary address there. Usually the VIP's prefix length should be the node subnet's (e.g. /24).`,
    );
  }
}

/**
 * Runs until SIGTERM/SIGINT (or `signal`) and a completed handover.
 * Resolves to the exit status: 0 after a clean shutdown.
 */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const { config } = options;
  const log = options.log.with({ node: config.election.node_name });
  const metrics = new Metrics();
  const vip = parseCidr(config.vip);
  const started = Date.now();

  if (config.election.mode !== "vrrp") {
    throw new DaemonStartError(
      `election.mode: ${config.election.mode} is not available in this version; use election.mode: vrrp`,
    );
  }

  const route = openRouteSocket();
  const cleanups: (() => Promise<void> | void)[] = [() => route.close()];
  let holder: VipHolder | undefined;
  let socket: VrrpSocket | undefined;
  try {
    let link: Link;
    try {
      link = await route.getLink(config.interface);
    } catch (err) {
      // No such interface is a configuration problem (exit 2, the field named).
      if (isNotExist(err)) {
        throw new ConfigError([{ path: "interface", message: errorText(err) }]);
      }
      throw new DaemonStartError(`interface: ${errorText(err)}`);
    }
    const primaryIp = await primaryAddress(
      route,
      link,
      vip,
      config.election.vrrp.source_address,
    );
    await warnIfPrimary(route, link, vip, log);
    const lifetimeS = config.announce.vip_lifetime / 1000;
    holder = new VipHolder({
      vip,
      link: { index: link.index, name: link.name, mac: link.mac },
      route,
      lifetimeS,
      burstCount: config.announce.garp_count,
      burstIntervalMs: config.announce.garp_interval,
      reannounceEveryMs: config.announce.refresh_interval,
      log,
      onAnnounce: () =>
        metrics.inc(
          "havip_announcements_total",
          "Gratuitous ARP / NA announcement rounds started.",
        ),
    });
    const vipHolder = holder;

    // A VIP still configured here was left by a crashed or killed
    // predecessor: this node is not master yet, so it must not answer for it.
    if (await holder.present()) {
      await holder.release();
      log.warn("removed a VIP left on the interface by a previous run", {
        vip: holder.description,
      });
    }

    try {
      socket = openVrrpSocket({
        interface: link.name,
        primaryIp,
        peers: config.election.vrrp.unicast_peers,
      });
    } catch (err) {
      throw new DaemonStartError(
        `cannot open the VRRP socket on ${link.name}: ${errorText(err)}`,
      );
    }
    const vrrpSocket = socket;
    cleanups.push(() => vrrpSocket.close());

    metrics.set(
      "havip_vip_held",
      "1 while this node has the VIP configured.",
      0,
    );
    const elector = new VrrpElector({
      machine: {
        priority: config.election.vrrp.priority,
        advertIntervalCs: config.election.vrrp.advert_interval / 10,
        preempt: config.election.vrrp.preempt,
        primaryIp,
      },
      vrid: config.election.vrrp.vrid,
      addresses: [vip.address],
      peers: config.election.vrrp.unicast_peers,
      socket,
      host: {
        log: log.with({ component: "vrrp" }),
        metrics,
        addVip: async () => {
          await vipHolder.claim();
          metrics.set(
            "havip_vip_held",
            "1 while this node has the VIP configured.",
            1,
          );
          log.info("VIP added", {
            vip: vipHolder.description,
            valid_lifetime: `${lifetimeS}s`,
          });
        },
        announce: () => void vipHolder.announce(),
        removeVip: async () => {
          await vipHolder.release();
          metrics.set(
            "havip_vip_held",
            "1 while this node has the VIP configured.",
            0,
          );
          log.info("VIP removed", { vip: vipHolder.description });
        },
      },
    });

    cleanups.push(() => elector.close());

    // Health gates eligibility. Without k8s integration every node is eligible.
    let health: HealthMonitor | undefined;
    let lastVerdict = "";
    if (config.k8s.enabled) {
      const probe = resilientProbe(
        config,
        log.with({ component: "health" }),
        options.env,
      );
      metrics.set(
        "havip_health_ready",
        "1 while the local API server is stably ready.",
        0,
      );
      health = new HealthMonitor({
        probe,
        intervalMs: config.health.interval,
        stabilityWindowMs: config.health.stability_window,
        logger: log.with({ component: "health" }),
        onProbe: (r) => {
          metrics.inc(
            "havip_health_probes_total",
            "Health probes, by verdict.",
            { verdict: r.verdict.kind },
          );
          const line = `${r.verdict.kind}: ${r.verdict.detail}`;
          if (line !== lastVerdict) {
            log.debug("health probe", {
              verdict: r.verdict.kind,
              detail: r.verdict.detail,
              ms: Math.round(r.ms),
            });
            lastVerdict = line;
          }
        },
        onChange: (c) => {
          // The monitor logs the change itself (one line, with the verdict).
          const ready = c.to === "ready";
          metrics.set(
            "havip_health_ready",
            "1 while the local API server is stably ready.",
            ready ? 1 : 0,
          );
          elector.setEligible(
            ready,
            ready ? undefined : verdictReason(c.verdict),
          );
        },
      });
      health.start();
      cleanups.push(() => health!.stop());
    } else {
      elector.setEligible(true);
    }

    // Link state: poll, because a missed netlink notification must not
    // leave a master believing a dead link is fine.
    let linkUp = link.up && link.carrier;
    if (!linkUp) elector.setInterfaceUp(false);
    const linkTimer = setInterval(async () => {
      let up = false;
      let why = "";
      try {
        const now = await route.getLink(config.interface);
        up = now.up && now.carrier;
        why = !now.up
          ? "administratively down"
          : !now.carrier
          ? "no carrier"
          : "";
        if (up && now.index !== link.index) {
          // Deleted and created again (a bond, a VLAN, a restarted network
          // service): sockets and the VIP follow the new interface.
          log.warn(
            `interface ${link.name} was recreated (index ${link.index} -> ${now.index}); reopening the VRRP socket`,
          );
          elector.setInterfaceUp(false);
          linkUp = false;
          elector.replaceSocket(openVrrpSocket({
            interface: now.name,
            primaryIp,
            peers: config.election.vrrp.unicast_peers,
          }));
          vipHolder.setLink({ index: now.index, name: now.name, mac: now.mac });
          link = now;
        }
      } catch (err) {
        up = false;
        why = why || `gone: ${errorText(err)}`;
      }
      if (up !== linkUp) {
        linkUp = up;
        if (up) log.info(`interface ${link.name} is up again`);
        else log.warn(`interface ${link.name} is down: ${why}`);
        elector.setInterfaceUp(up);
      }
    }, options.linkPollMs ?? 500);
    cleanups.push(() => clearInterval(linkTimer));

    // Shutdown: the first signal hands over, a second one forces.
    let signals = 0;
    const onSignal = (name: string) => {
      signals++;
      log.info(
        signals === 1
          ? `${name}: shutting down, handing the VIP over`
          : `${name} again: releasing at once`,
      );
      elector.shutdown(signals > 1);
    };
    if (options.handleSignals ?? true) {
      const term = () => onSignal("SIGTERM");
      const int = () => onSignal("SIGINT");
      Deno.addSignalListener("SIGTERM", term);
      Deno.addSignalListener("SIGINT", int);
      cleanups.push(() => {
        Deno.removeSignalListener("SIGTERM", term);
        Deno.removeSignalListener("SIGINT", int);
      });
    }
    options.signal?.addEventListener("abort", () => onSignal("abort"), {
      once: true,
    });

    // The /status document, also what SIGUSR1 dumps into the log.
    const statusDocument = () => ({
      node: config.election.node_name,
      vip: config.vip,
      interface: config.interface,
      uptime_s: Math.round((Date.now() - started) / 1000),
      holding: vipHolder.held,
      election: elector.status(),
      health: health
        ? {
          status: health.state.status,
          verdict: health.state.verdict?.kind,
          detail: health.state.verdict?.detail,
          last_probe: health.lastProbe?.verdict.kind,
        }
        : { status: "not checked (k8s.enabled: false)" },
    });
    cleanups.push(provideStateDump(statusDocument));

    if (config.observe.metrics_address) {
      const ac = new AbortController();
      const server = serveObservability({
        address: config.observe.metrics_address,
        metrics,
        signal: ac.signal,
        status: statusDocument,
        onListen: (a) =>
          log.info("serving /metrics and /status", {
            address: `${a.hostname}:${a.port}`,
          }),
      });
      cleanups.push(async () => {
        ac.abort();
        await server.finished;
      });
    }

    log.info("ha-vip running", {
      vip: config.vip,
      interface: link.name,
      mode: "vrrp",
      vrid: config.election.vrrp.vrid,
      priority: config.election.vrrp.priority,
      source: primaryIp,
      transport: socket.mode,
      health: config.k8s.enabled ? config.health.url : "off",
    });
    options.onRunning?.();
    await elector.run();
    log.info("ha-vip stopped");
    return 0;
  } finally {
    // Never leave a VIP behind by accident.
    if (holder?.held) {
      try {
        await holder.release();
        log.warn("VIP removed during shutdown", { vip: holder.description });
      } catch (err) {
        log.error("cannot remove the VIP; it expires by its valid lifetime", {
          error: errorText(err),
        });
      }
    }
    await holder?.[Symbol.asyncDispose]();
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log.debug("cleanup failed", { error: errorText(err) });
      }
    }
  }
}
