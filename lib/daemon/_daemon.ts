/**
 * The daemon: health -> election -> announce, composed from parts. It owns
 * the wiring and no decision: those live in the health stability window
 * and the election backend's machine. Every part starts on one
 * `AsyncDisposableStack` and is torn down in reverse order, whatever ends
 * the daemon.
 *
 * Invariants kept here:
 * - A VIP equal to an address the node has (without ha-vip's marks) is
 *   refused at start: removing it would take the node's address.
 * - A VIP left on the interface by a crashed predecessor is removed at start
 *   (this node is never master at start).
 * - The VIP is held only while the host allows it (the backend's source
 *   address, an own address in the VIP's subnet), and the kernel's VIP
 *   follows the election (a VIP added by hand on a backup goes).
 * - Whatever ends the daemon, a VIP it holds is removed before it returns;
 *   if even that fails, the VIP's valid lifetime removes it within seconds.
 * - Dual stack (one IPv4 and one IPv6 VIP): each VIP has its own holder
 *   and host conditions; the backend decides whether they move as one.
 * - The local control channel (a planned handoff) is a unix socket only
 *   root or the service user may use; never the metrics port.
 *
 * @module
 */
import { type Config, ConfigError, type LoadedConfig } from "../config/mod.ts";
import { provideStateDump } from "../harden/mod.ts";
import {
  defaultBackends,
  type ElectionBackend,
  type ElectionBackends,
  ElectionStartError,
  type ElectionStatus,
  type Elector,
  type LinkState,
  type LocalApi,
} from "../election/mod.ts";
import type { HealthMonitor, ProbeFunction } from "../health/mod.ts";
import { type Cidr, parseCidr } from "../ip/mod.ts";
import type { Link, RouteClient } from "../netlink/mod.ts";
import { type Logger, type LogLevel, Metrics } from "../observe/mod.ts";
import { isNotExist } from "../sys/mod.ts";
import { CONTROL_SIGNALS, handleControlSignal } from "./_control.ts";
import { Handoffs, startControl } from "./_handoff.ts";
import {
  localApiClient,
  type ReconfigurableLocalApi,
  resilientProbe,
} from "./_health.ts";
import { AddressFollower, HoldConditions } from "./_hold.ts";
import { LinkWatcher } from "./_link_watcher.ts";
import {
  healthStatus,
  listenForSignals,
  PartStack,
  startHealth,
  startObservability,
} from "./_parts.ts";
import { type Platform, systemPlatform } from "./_platform.ts";
import {
  abortSignals,
  osSignals,
  SHUTDOWN_SIGNALS,
  type SignalSource,
} from "./_signals.ts";
import type { StatusDocument } from "./_status.ts";
import {
  electionHost,
  type HeldVip,
  holderLink,
  openVipHolder,
  refuseOwnAddress,
  releaseIfHeld,
  removeStaleVip,
} from "./_vip.ts";

/** Options of {@link runDaemon}. */
export interface DaemonOptions {
  /** The validated configuration. */
  config: Config;
  /** Where everything logs. */
  log: Logger;
  /** Environment for in-cluster discovery (default: the process's). */
  env?: Record<string, string>;
  /** Aborting it acts like SIGTERM (tests); a second abort is not possible. */
  signal?: AbortSignal;
  /** Listen to SIGTERM/SIGINT (default true). */
  handleSignals?: boolean;
  /** More signal sources (tests; later SIGHUP and friends). */
  signals?: SignalSource[];
  /** The kernel and the clock (default: the real ones). */
  platform?: Platform;
  /** Election backends by mode (default: this build's, real sockets). */
  backends?: ElectionBackends;
  /** The health probe (default: the API server check from the config). */
  probe?: ProbeFunction;
  /**
   * Requests to the local API server for the election (default: the health
   * target with the configured credentials, when `k8s.enabled`).
   */
  localApi?: ReconfigurableLocalApi;
  /** How often the interface is re-read besides notifications (10 s). */
  linkResyncMs?: number;
  /**
   * Called once every socket and listener of the daemon is open, before the
   * election starts (`ha-vip run` forbids new listeners from then on).
   */
  onRunning?: () => void;
  /**
   * Re-reads the configuration from its sources (SIGHUP); rejects with a
   * ConfigError. Absent: started without a file, nothing to re-read.
   */
  reload?: () => Promise<LoadedConfig>;
  /** The configuration file, for log lines. */
  configFile?: string;
  /** Changes the level of every logger of the daemon (SIGHUP). */
  setLogLevel?: (level: LogLevel) => void;
}

/** Thrown for conditions that stop the daemon before it runs (exit 1). */
export class DaemonStartError extends Error {
  /** `message` names what is wrong and how to fix it. */
  constructor(message: string) {
    super(message);
    this.name = "DaemonStartError";
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What every part of one run shares. */
interface Run {
  options: DaemonOptions;
  config: Config;
  log: Logger;
  metrics: Metrics;
  platform: Platform;
  /** The VIP, or one IPv4 and one IPv6 VIP (dual stack). */
  vips: Cidr[];
  started: number;
}

/**
 * Runs until SIGTERM/SIGINT (or `signal`) and a completed handover.
 * Resolves to the exit status: 0 after a clean shutdown. Throws a
 * {@link DaemonStartError} for what the operator must fix.
 */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const { config } = options;
  const platform = options.platform ?? systemPlatform;
  const run: Run = {
    options,
    config,
    log: options.log.with({ node: config.election.node_name }),
    metrics: new Metrics(),
    platform,
    vips: config.vip.map(parseCidr),
    started: platform.clock.now(),
  };
  const backend = pickBackend(options.backends ?? defaultBackends(), config);
  await using stack = new PartStack(run.log);
  const route = stack.use(platform.openRoute());
  const link = await findLink(route, config.interface);
  const { vips, elector, ifindex, localApi } = await startVipParts(
    stack,
    run,
    { route, link, backend },
  );
  const health = startHealth(stack, elector, {
    config,
    probe: options.probe,
    env: options.env,
    clock: platform.clock,
    log: run.log,
    metrics: run.metrics,
  });
  startLinkWatcher(stack, run, {
    route,
    link,
    vips,
    elector,
    onIndex: (index) => ifindex.current = index,
  });
  listenForSignals(
    stack,
    signalSources(options),
    elector,
    run.log,
    controlHandler(run, elector, health, localApi),
  );
  const handoffs = new Handoffs(elector, platform.clock, run.log);
  if (config.control.socket !== "off" && platform.openControl) {
    await startControl(stack, {
      path: config.control.socket,
      open: platform.openControl,
      handoffs,
      clock: platform.clock,
      log: run.log,
    });
  }
  // The /status document, also what SIGUSR1 dumps into the log.
  const status = () => statusDocument(run, { vips, elector, health, handoffs });
  stack.defer(provideStateDump(status));
  if (config.observe.metrics_address) {
    startObservability(stack, {
      ...run,
      address: config.observe.metrics_address,
      status,
    });
  }
  for (const { holder } of vips) {
    stack.defer(() => releaseIfHeld(holder, run.log));
  }
  run.log.info("ha-vip running", {
    vip: config.vip.join(", "),
    interface: link.name,
    ...elector.startFields(),
    health: config.k8s.enabled ? config.health.url : "off",
  });
  options.onRunning?.();
  await elector.run();
  run.log.info("ha-vip stopped");
  return 0;
}

/** One VIP's parts: its holder, host conditions and address follower. */
interface VipParts extends HeldVip {
  follower: AddressFollower;
}

/**
 * The announce and election parts, and the address followers (one per
 * VIP) that keep them on the host's addresses. Refuses a VIP that is the
 * node's own address and clears a leftover VIP before anything else.
 */
async function startVipParts(
  stack: PartStack,
  run: Run,
  o: {
    route: RouteClient;
    link: Link;
    backend: ElectionBackend<ElectionStatus>;
  },
) {
  for (const vip of run.vips) await refuseOwnAddress(o.route, o.link, vip);
  // The holder tells its follower when it gave the VIP up; both need
  // each other, so the follower is filled in below.
  const held: (HeldVip & { late: { follower?: AddressFollower } })[] = [];
  for (const vip of run.vips) {
    const conditions = new HoldConditions(vip, o.link.name);
    const late: { follower?: AddressFollower } = {};
    const holder = openVipHolder(stack, {
      ...run,
      vip,
      link: o.link,
      conditions,
      onLost: () => void late.follower?.check(),
    });
    await removeStaleVip(holder, run.log);
    held.push({ holder, conditions, late });
  }
  const localApi = localApiOf(stack, run);
  const elector = stack.use(
    await createElector(o.backend, run, {
      route: o.route,
      link: o.link,
      vips: held,
      localApi,
    }),
  );
  const ifindex = { current: o.link.index };
  const vips: VipParts[] = [];
  for (const { holder, conditions, late } of held) {
    const follower = late.follower = new AddressFollower({
      route: o.route,
      ifindex: () => ifindex.current,
      conditions,
      holder,
      elector,
      log: run.log,
      metrics: run.metrics,
      dual: run.vips.length > 1,
    });
    stack.defer(() => follower.stop());
    await follower.check();
    vips.push({ holder, conditions, follower });
  }
  return { vips, elector, ifindex, localApi };
}

function pickBackend(
  backends: ElectionBackends,
  config: Config,
): ElectionBackend<ElectionStatus> {
  const backend = backends[config.election.mode];
  if (backend !== undefined) return backend;
  const modes = Object.keys(backends).filter((m) => backends[m]);
  throw new DaemonStartError(
    `election.mode: ${config.election.mode} is not available in this version; ` +
      (modes.length > 0
        ? `use election.mode: ${modes.join(" or ")}`
        : "this build has no election backend"),
  );
}

async function findLink(route: RouteClient, name: string): Promise<Link> {
  try {
    return await route.getLink(name);
  } catch (err) {
    // No such interface is a configuration problem (exit 2, the field named).
    if (isNotExist(err)) {
      throw new ConfigError([{ path: "interface", message: errorText(err) }]);
    }
    throw new DaemonStartError(`interface: ${errorText(err)}`);
  }
}

async function createElector(
  backend: ElectionBackend<ElectionStatus>,
  run: Run,
  o: {
    route: RouteClient;
    link: Link;
    vips: readonly HeldVip[];
    localApi: LocalApi | undefined;
  },
): Promise<Elector<ElectionStatus>> {
  try {
    return await backend.create({
      config: run.config,
      link: o.link,
      route: o.route,
      host: electionHost(o.vips, run),
      clock: run.platform.clock,
      openVipProbe: run.platform.openVipProbe,
      localApi: o.localApi,
    });
  } catch (err) {
    if (err instanceof ElectionStartError) {
      throw new DaemonStartError(err.message);
    }
    throw err;
  }
}

/** The election's client of this node's API server, closed with `stack`. */
function localApiOf(
  stack: PartStack,
  run: Run,
): ReconfigurableLocalApi | undefined {
  if (run.options.localApi) return run.options.localApi;
  if (!run.config.k8s.enabled) return undefined;
  const api = localApiClient(
    run.config,
    run.log.with({ component: "k8s" }),
    run.options.env,
  );
  stack.defer(() => api.close());
  return api;
}

/** SIGHUP and SIGUSR2 (see `_control.ts`); SIGUSR1 is lib/harden's. */
function controlHandler(
  run: Run,
  elector: Elector,
  health: HealthMonitor | undefined,
  localApi: ReconfigurableLocalApi | undefined,
): (name: string) => void {
  const { options } = run;
  const control = {
    config: { current: run.config },
    reload: options.reload,
    file: options.configFile,
    setLogLevel: options.setLogLevel,
    elector,
    health,
    probeFor: (c: Config) =>
      options.probe ??
        resilientProbe(c, run.log.with({ component: "health" }), options.env),
    apiChanged: (c: Config) => localApi?.reconfigure?.(c),
    log: run.log,
  };
  return (name) => handleControlSignal(control, name);
}

function signalSources(options: DaemonOptions): SignalSource[] {
  const sources = [...(options.signals ?? [])];
  if (options.handleSignals ?? true) {
    sources.push(osSignals([...SHUTDOWN_SIGNALS, ...CONTROL_SIGNALS]));
  }
  if (options.signal) sources.push(abortSignals(options.signal));
  return sources;
}

/** What the link watcher feeds: logs, the holder, the elector, the follower. */
function startLinkWatcher(
  stack: PartStack,
  run: Run,
  o: {
    route: RouteClient;
    link: Link;
    vips: readonly VipParts[];
    elector: Elector;
    onIndex: (index: number) => void;
  },
): void {
  const name = run.config.interface;
  const watcher = stack.use(
    new LinkWatcher({
      name,
      initial: o.link,
      route: o.route,
      watcher: run.platform.watchRoute(),
      clock: run.platform.clock,
      resyncMs: run.options.linkResyncMs ?? 10_000,
      log: run.log,
      onLink: (state, changed) => {
        if (changed) reportLink(run.log, name, state, o.vips);
        if (state.link !== null && state.up) o.onIndex(state.link.index);
        o.elector.linkChanged(state);
        // A resync re-reads the addresses too: notifications may be lost.
        for (const v of o.vips) void v.follower.check();
      },
      onAddress: (a, deleted) => {
        for (const v of o.vips) v.follower.addressChanged(a, deleted);
      },
    }),
  );
  if (!watcher.tracked.up) o.elector.linkChanged(downAtStart(o.link));
  watcher.start();
}

function downAtStart(link: Link): LinkState {
  const reason = !link.up ? "administratively down" : "no carrier";
  return { link, up: false, reason };
}

function reportLink(
  log: Logger,
  name: string,
  state: LinkState,
  vips: readonly VipParts[],
): void {
  if (state.recreatedFrom !== undefined && state.link !== null) {
    // Deleted and created again (a bond, a VLAN, a restarted network
    // service): the VIP follows the new interface.
    log.warn(
      `interface ${name} was recreated (index ${state.recreatedFrom} -> ${state.link.index})`,
    );
    for (const { holder } of vips) holder.setLink(holderLink(state.link));
  }
  if (state.up) log.info(`interface ${name} is up again`);
  else log.warn(`interface ${name} is down: ${state.reason}`);
}

function statusDocument(
  run: Run,
  o: {
    vips: readonly VipParts[];
    elector: Elector<ElectionStatus>;
    health: HealthMonitor | undefined;
    handoffs: Handoffs;
  },
): StatusDocument {
  // What the kernel has, not what the holders believe.
  const present = o.vips.map((v) => v.follower.present ?? v.holder.held);
  const known = o.vips.every((v) => v.follower.present !== null);
  return {
    node: run.config.election.node_name,
    vip: run.config.vip.join(", "),
    interface: run.config.interface,
    uptime_s: Math.round((run.platform.clock.now() - run.started) / 1000),
    holding: present.some((p) => p),
    vip_on_interface: known ? present.every((p) => p) : null,
    election: o.elector.status(),
    health: healthStatus(o.health),
    handoff: o.handoffs.current(),
  };
}
