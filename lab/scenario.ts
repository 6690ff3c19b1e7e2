/**
 * The failover scenario: N nodes running ha-vip (or keepalived, for
 * comparison) on the lab network, a client probing the VIP, and a script of
 * events (crash, restart, unready API server, planned stop, cut link, ...).
 * Every event is measured: the new holder, how long the client could not
 * reach the VIP, whether two nodes held it at once, and for a crash how
 * long the dead node's VIP outlived it.
 *
 * ```ts
 * const result = await runScenario({ implementation: "keepalived" });
 * console.log(result.events.map((e) => [e.label, e.longestGapMs]));
 * ```
 *
 * Needs root. Everything it creates is removed when it returns or throws,
 * and on SIGINT/SIGTERM.
 *
 * @module
 */

import {
  createTopology,
  type LabHost,
  type LabProcess,
  nowMs,
  type Topology,
} from "./topology.ts";
import {
  clip,
  dualTimes,
  type Interval,
  subtract,
  total,
  type VipChange,
  type VipWatcher,
  watchVip,
} from "./vip_watch.ts";
import { type ProbeLine, spawnProber } from "./prober.ts";
import { autoVipLifetime } from "../lib/config/mod.ts";
import {
  clockTicks,
  cpuPercent,
  cpuPercentSched,
  type ResourceUsage,
  sampleTree,
  type TreeSample,
} from "./resources.ts";

/** Which VRRP implementation runs on the nodes. */
export type Implementation = "ha-vip" | "keepalived";

/** What happens at an event. */
export type EventKind =
  /** Wait for the first election, then watch the steady state. */
  | "steady"
  /** SIGKILL the daemon (keepalived: its VRRP process first, as a real crash). */
  | "crash"
  /** Start the daemon again after a crash. */
  | "restart"
  /** Make the node's API server unready (`/readyz` fails on etcd). */
  | "unready"
  /** Make it ready again. */
  | "ready"
  /** Planned shutdown: SIGTERM, wait for the exit. */
  | "stop"
  /** Start the daemon again after a stop. */
  | "start"
  /** Cut the node's cable (switch port down: carrier loss). */
  | "cut"
  /** Reconnect it (the cut link is repaired). */
  | "restore"
  /**
   * Partition the node off the switch with its carrier up (bridge port
   * disabled): it hears nobody, so it keeps (or takes) the VIP on its own
   * side while the client's side elects another holder.
   */
  | "partition"
  /**
   * Reconnect a partitioned node: two masters hear each other, the lower
   * one steps down, and the client must end up at the winner.
   */
  | "heal";

/** One step of the script. */
export interface ScenarioEvent {
  kind: EventKind;
  /**
   * `node2`, `holder` (whoever holds the VIP then), `backup` (the node
   * that would take over from the holder: the highest-priority other
   * connected, running node) or `previous` (the node of the event before). Default: `holder` for crash, unready, stop, cut
   * and partition; `previous` for the others.
   */
  node?: string;
  /**
   * How long to keep watching once the event has settled (steady: the
   * length of the steady-state observation). Default 1000 ms (steady 3000).
   */
  holdMs?: number;
}

/** Upper bounds an event must stay within; absent = not checked. */
export interface Bounds {
  /** Longest client outage (ICMP silence) around the event, ms. */
  maxGapMs?: number;
  /** Time from the event until the new holder has the VIP, ms. */
  maxTakeoverMs?: number;
  /** Time with two reachable holders at once, ms. */
  maxDualMs?: number;
  /** Crash: time until the dead node's VIP is gone by itself, ms. */
  maxExpiryMs?: number;
}

/** A line of the live timeline. */
export interface TimelineEntry {
  /** Milliseconds since the lab started. */
  atMs: number;
  /** `lab`, `node2`, `client`, ... */
  source: string;
  text: string;
}

/** Options of {@link runScenario}. */
export interface ScenarioOptions {
  /** Default `ha-vip`. */
  implementation?: Implementation;
  /** Default 3. */
  nodes?: number;
  /** VRRP advertisement interval, ms (multiple of 10). Default 1000. */
  advertIntervalMs?: number;
  /** Default {@link defaultEvents}. */
  events?: ScenarioEvent[];
  /** ha-vip `--stability-window`, ms. Default 2000. */
  stabilityWindowMs?: number;
  /** ha-vip `--health-interval`, ms; passed only when set (daemon default 2000). */
  healthIntervalMs?: number;
  /**
   * ha-vip `--vip-lifetime`, ms (whole seconds); passed only when set.
   * Daemon default: 3 × advert interval + 1 s rounded up (4 s at 1 s).
   */
  vipLifetimeMs?: number;
  /** More `ha-vip run` arguments (e.g. `--log-level debug`). */
  extraArgs?: string[];
  /** Client ICMP interval, ms. Default 5. */
  probeIntervalMs?: number;
  /** Client ARP probe interval, ms (0 = off). Default 50. */
  arpIntervalMs?: number;
  /** The repository root (where main.ts is). Default: this file's parent. */
  repoRoot?: string;
  /** Where logs go (kept). Default: a temp dir, removed unless `keepLogs`. */
  logDir?: string;
  /** Keep the temp log dir. Default false. */
  keepLogs?: boolean;
  /** Called for every timeline line as it happens. */
  onTimeline?: (e: TimelineEntry) => void;
  /** Called with each event's measurement as soon as it is complete. */
  onEvent?: (m: EventMeasurement) => void;
  /** Put every daemon log line on the timeline. Default: state changes only. */
  verbose?: boolean;
  /** Override bounds per event kind. */
  bounds?: Partial<Record<EventKind, Bounds>>;
  /**
   * A partition's hold gets a random extra of 0 to one advert interval, so
   * the heal falls at a random phase of the advertisement timers and which
   * master hears the other first is left to chance, as in a real network.
   * (Without it the lab's own rhythm decides: node2's timer runs exactly
   * its skew time after node1's, and the same master is heard first in
   * every run.) Default true.
   */
  randomHealPhase?: boolean;
  /** Aborts between steps (everything is still removed). */
  signal?: AbortSignal;
}

/** A gap in client reachability, ms since the lab started. */
export interface Gap {
  startMs: number;
  endMs: number;
  ms: number;
  /** Still open when the window ended. */
  open: boolean;
}

/** What one event did. */
export interface EventMeasurement {
  index: number;
  kind: EventKind;
  /** The node acted on (steady: the initial holder). */
  node: string;
  /** `node1 crashed (SIGKILL)` and the like. */
  label: string;
  /** When it happened, ms since the lab started. */
  atMs: number;
  /** The single reachable holder before the event (null: none or several). */
  holderBefore: string | null;
  /** Every reachable holder before the event. */
  holdersBefore: string[];
  /** The holder the lab expected afterwards (null: none eligible). */
  expectedHolder: string | null;
  /** Reachable nodes holding the VIP at the end of the window. */
  holdersAfter: string[];
  /** The event settled: the expected holder has the VIP, alone, and the client reaches it. */
  settled: boolean;
  /** From the event until that settled state began, ms. */
  settleMs: number | null;
  /** From the event until the expected new holder added the VIP, ms (null: no change of holder). */
  takeoverMs: number | null;
  /** From the event until the client's neighbour entry pointed at the expected holder, ms. */
  clientSwitchMs: number | null;
  /** Longest ICMP silence overlapping the window, ms (0: none beyond the gap threshold). */
  longestGapMs: number;
  gaps: Gap[];
  /** Time with two or more connected nodes holding the VIP, ms. */
  dualHolderMs: number;
  /** Same, counting cut-off nodes too, ms. */
  dualHolderAnyMs: number;
  /** Time during which two or more MACs answered the client's ARP probes, ms. */
  arpMultiMs: number;
  /**
   * Crash of the holder: ms from the crash until its VIP was removed
   * without it (lifetime expiry); null: still there at the window end.
   */
  vipExpiredMs?: number | null;
  /**
   * Partition: ms from the partition until the isolated node held the VIP
   * on its own side (0: it held it already; null: it never did, e.g. not
   * running or not ready).
   */
  isolatedHoldMs?: number | null;
  /** Partition: the isolated node still had carrier on eth0 (checked twice). */
  isolatedCarrier?: boolean;
  /**
   * Heal and partition: ms from the event until the client saw the first
   * gratuitous ARP from the expected holder (null: none in the window).
   */
  garpMs?: number | null;
  /**
   * Steady: each running daemon's resident memory and CPU over the
   * steady-state hold (process tree: keepalived's parent and children).
   */
  resources?: ResourceUsage[];
  /** End of the measurement window, ms since the lab started. */
  windowEndMs: number;
  /** Failed expectations (any makes `ok` false). */
  problems: string[];
  /** Observations that are expected for this implementation. */
  notes: string[];
  ok: boolean;
}

/** The whole run. */
export interface ScenarioResult {
  implementation: Implementation;
  nodes: number;
  advertIntervalMs: number;
  vip: string;
  events: EventMeasurement[];
  ok: boolean;
  /** Log directory, if kept. */
  logDir: string | null;
  timeline: TimelineEntry[];
  durationMs: number;
  /** ha-vip: each running node's `/status` document at the end. */
  statuses: Record<string, unknown>;
  /** Failed end-of-run checks (e.g. `/status` disagreeing with the kernel). */
  problems: string[];
}

/**
 * The default script: every kind of failure, each followed by recovery.
 * With a single node the reverse partition (of a backup) is left out.
 */
export function defaultEvents(nodes = 3): ScenarioEvent[] {
  return [
    { kind: "steady" },
    { kind: "crash" },
    { kind: "restart" },
    { kind: "unready" },
    { kind: "ready" },
    { kind: "stop" },
    { kind: "start" },
    { kind: "cut" },
    { kind: "restore" },
    // The holder (node1) partitioned: node2 takes over for the client while
    // node1 stays master alone; on the heal node1 preempts and the client's
    // entry still points at node2, which steps down.
    { kind: "partition" },
    { kind: "heal" },
    // The reverse: the isolated node (node2) has the lower priority; it
    // becomes master on its side and must step down without the client
    // ever being sent to it.
    ...(nodes >= 2
      ? [{ kind: "partition", node: "backup" }, { kind: "heal" }] as const
      : []),
  ];
}

/** Priorities: 150, 100, 50, then on down by 10. */
export function priorityOf(index: number): number {
  return [150, 100, 50][index] ?? Math.max(1, 40 - 10 * (index - 3));
}

const GAP_TAIL_MS = 100;
const SETTLE_STABLE_MS = 1000;

interface NodeState {
  host: LabHost;
  priority: number;
  running: boolean;
  ready: boolean;
  linked: boolean;
  /** How it is cut off when not linked. */
  offline: "cut" | "partition" | null;
  linkDown: Interval[];
  daemon?: LabProcess;
  api?: LabProcess;
  watcher?: VipWatcher;
  controlFile: string;
  dir: string;
  /** Resolvers waiting for the API server's control acknowledgement. */
  controlAcks: (() => void)[];
}

/** What an implementation must do on a node. */
interface Driver {
  /** Whether the daemon gates on the API server (unready moves the VIP). */
  readonly healthGated: boolean;
  prepare(): Promise<void>;
  start(n: NodeState): Promise<void>;
  /** Crashes the daemon; `at` is the moment of the fatal signal. */
  crash(n: NodeState): Promise<{ label: string; at: number }>;
  /** SIGTERM and wait for the exit; `at` is the moment of the SIGTERM. */
  stop(n: NodeState): Promise<{ label: string; at: number }>;
  /** Switches the API server; resolves with the time it took effect. */
  setReady(n: NodeState, ready: boolean): Promise<number>;
}

/** Runs the scenario; see the module docs. */
export async function runScenario(
  options: ScenarioOptions = {},
): Promise<ScenarioResult> {
  const impl = options.implementation ?? "ha-vip";
  const A = options.advertIntervalMs ?? 1000;
  if (!Number.isInteger(A) || A < 10 || A % 10 !== 0 || A > 40950) {
    throw new RangeError(
      `advertIntervalMs must be a multiple of 10 from 10 to 40950, got ${A}`,
    );
  }
  const W = impl === "ha-vip" ? options.stabilityWindowMs ?? 2000 : 0;
  const H = impl === "ha-vip" ? options.healthIntervalMs ?? 2000 : 0;
  const L = impl === "ha-vip" ? options.vipLifetimeMs ?? autoVipLifetime(A) : 0;
  const events = options.events ?? defaultEvents(options.nodes ?? 3);
  // Deno start-up, the stability window, health checks, failover, expiry.
  // A heal may leave the client pointing at the loser until its neighbour
  // entry re-resolves: up to 1.5 × base_reachable_time (30 s) + the 5 s
  // DELAY + 3 unicast probes. Waiting that long measures the whole outage.
  const settleTimeout = (kind?: EventKind) =>
    10000 + W + 2 * H + 6 * A + L + (kind === "heal" ? 50000 : 0);
  const repoRoot = options.repoRoot ??
    new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const started = nowMs();
  const timeline: TimelineEntry[] = [];
  const measurements: EventMeasurement[] = [];
  const statuses: Record<string, unknown> = {};
  const endProblems: string[] = [];

  const lockFlag = await cacheForNamespaces(
    repoRoot,
    namespaceEntries(repoRoot, impl),
    (text) => options.onTimeline?.({ atMs: 0, source: "lab", text }),
  );

  const ownLogDir = options.logDir === undefined;
  const topo = await createTopology({
    nodes: options.nodes ?? 3,
    logDir: options.logDir,
    removeLogDir: ownLogDir && !options.keepLogs,
  });
  const say = (source: string, text: string, at = nowMs()) => {
    const e = { atMs: Math.max(0, topo.rel(at)), source, text };
    timeline.push(e);
    options.onTimeline?.(e);
  };
  const nameOfMac = (mac: string | null) =>
    mac === null ? "nobody" : topo.hostByMac(mac)?.name ?? mac;
  let closing = false; // from here on every exit is expected

  try {
    say(
      "lab",
      `${impl} on ${topo.nodes.length} nodes, VIP ${topo.vipCidr}, advert ${A} ms; logs in ${topo.logDir}`,
    );
    const nodes: NodeState[] = topo.nodes.map((host, i) => ({
      host,
      priority: priorityOf(i),
      running: false,
      ready: true,
      linked: true,
      offline: null,
      linkDown: [],
      controlFile: `${topo.logDir}/${host.name}/api-control.json`,
      dir: `${topo.logDir}/${host.name}`,
      controlAcks: [],
    }));
    for (const n of nodes) await Deno.mkdir(n.dir, { recursive: true });
    const byName = (name: string) => {
      const n = nodes.find((x) => x.host.name === name);
      if (!n) throw new Error(`no node ${name}`);
      return n;
    };

    // --- Observation ------------------------------------------------------
    const vipLost = new Map<string, number[]>();
    const vipGained = new Map<string, number[]>();
    const onVip = (c: VipChange) => {
      const n = byName(c.node);
      (c.holding ? vipGained : vipLost).set(c.node, [
        ...((c.holding ? vipGained : vipLost).get(c.node) ?? []),
        c.t,
      ]);
      if (c.holding) say(c.node, "holds the VIP", c.t);
      else if (n.daemon?.running === false && impl === "ha-vip") {
        say(c.node, "VIP gone by itself (lifetime expired)", c.t);
      } else say(c.node, "dropped the VIP", c.t);
    };
    for (const n of nodes) {
      n.watcher = await watchVip(topo, n.host, topo.vip, onVip);
    }

    const client = new ClientView();
    const narrate = narrator(
      nameOfMac,
      (text, at) => say("client", text, at),
      options.verbose ?? false,
    );
    const prober = spawnProber(topo, {
      intervalMs: options.probeIntervalMs ?? 5,
      arpIntervalMs: options.arpIntervalMs ?? 50,
      maxSeconds: Math.ceil(
        120 +
          events.reduce(
              (s, e) =>
                s + settleTimeout(e.kind) + (e.holdMs ?? 3000) + A + 5000,
              0,
            ) / 1000,
      ),
      onLine: (l) => {
        client.add(l);
        narrate(l);
      },
    });
    await client.started(15000);

    // --- Implementation ---------------------------------------------------
    const driver: Driver = impl === "ha-vip"
      ? haVipDriver(topo, repoRoot, {
        lockFlag,
        advertIntervalMs: A,
        stabilityWindowMs: W,
        healthIntervalMs: options.healthIntervalMs,
        vipLifetimeMs: options.vipLifetimeMs,
        extraArgs: options.extraArgs ?? [],
        verbose: options.verbose ?? false,
        say,
      })
      : keepalivedDriver(topo, {
        advertIntervalMs: A,
        verbose: options.verbose ?? false,
        say,
      });
    await driver.prepare();

    // A daemon that dies on its own (bad flags, a bug) fails the run at
    // once instead of timing out event after event.
    let fatal: Error | null = null;
    const watchDaemon = (n: NodeState) => {
      const d = n.daemon!;
      d.status.then(async (st) => {
        if (n.daemon !== d || !n.running || closing) return; // expected
        const text = `${impl} exited unexpectedly (code ${st.code}${
          st.signal ? `, ${st.signal}` : ""
        })`;
        say(n.host.name, `${text}; see ${d.logFile}`);
        const tail = (await Deno.readTextFile(d.logFile).catch(() => ""))
          .trimEnd().split("\n").slice(-15).join("\n");
        fatal ??= new Error(`${n.host.name}: ${text}; its log ends:\n${tail}`);
      });
    };
    const startDaemon = async (n: NodeState) => {
      await driver.start(n);
      watchDaemon(n);
    };
    const checkFatal = () => {
      if (fatal) throw fatal;
    };

    // --- Model ------------------------------------------------------------
    const eligible = (n: NodeState) =>
      n.running && n.linked && (n.ready || !driver.healthGated);
    const expectedHolder = (): NodeState | null => {
      const c = nodes.filter(eligible).sort((a, b) => b.priority - a.priority);
      return c[0] ?? null;
    };
    const connectedHolders = () =>
      nodes.filter((n) => n.linked && n.watcher!.holding);
    const currentHolder = (): NodeState | null => {
      const h = connectedHolders();
      return h.length === 1 ? h[0] : null;
    };

    const leftoverTimeout = impl === "ha-vip" ? L + 2000 : 4 * A + 2000;

    /**
     * Waits until the expected holder has the VIP alone and the client
     * reaches it through its MAC, stable for SETTLE_STABLE_MS.
     */
    const settle = async (kind: EventKind): Promise<
      { settledAt: number | null; leftover: boolean }
    > => {
      const deadline = nowMs() + settleTimeout(kind);
      let primarySince: number | null = null;
      let cleanSince: number | null = null;
      while (nowMs() < deadline) {
        options.signal?.throwIfAborted();
        checkFatal();
        const t = nowMs();
        const exp = expectedHolder();
        const holders = connectedHolders();
        const primary = exp === null
          ? holders.length === 0
          : exp.watcher!.holding && client.neighMac === exp.host.mac &&
            client.reachable();
        const clean = primary &&
          (exp === null ? true : holders.length === 1);
        primarySince = primary ? primarySince ?? t : null;
        cleanSince = clean ? cleanSince ?? t : null;
        if (cleanSince !== null && t - cleanSince >= SETTLE_STABLE_MS) {
          return { settledAt: cleanSince, leftover: false };
        }
        if (
          primarySince !== null && t - primarySince >= leftoverTimeout
        ) {
          return { settledAt: primarySince, leftover: true };
        }
        await sleep(20);
      }
      return { settledAt: null, leftover: false };
    };

    const bounds = (kind: EventKind, onHolder: boolean): Bounds => ({
      ...defaultBounds(impl, kind, { A, W, H, L, onHolder }),
      ...options.bounds?.[kind],
    });

    // --- Start ------------------------------------------------------------
    for (const n of nodes) {
      n.running = true;
      await startDaemon(n);
    }

    // --- Events -----------------------------------------------------------
    let previous: string | null = null;
    for (const [index, ev] of events.entries()) {
      options.signal?.throwIfAborted();
      checkFatal();
      const holdersBefore = connectedHolders();
      const holderBefore = currentHolder();
      const nodeName = resolveNode(
        ev,
        holderBefore,
        previous,
        nodes,
        (x) => x !== holderBefore && eligible(x),
      );
      const n = byName(nodeName);
      previous = n.host.name;
      const problems: string[] = [];
      const notes: string[] = [];
      const who = n.host.name;
      // The model changes first and the settle watch starts before the
      // action, so settle times are measured from the action itself.
      switch (ev.kind) {
        case "crash":
        case "stop":
          n.running = false;
          break;
        case "restart":
        case "start":
          n.running = true;
          break;
        case "unready":
        case "ready":
          n.ready = ev.kind === "ready";
          break;
        case "cut":
        case "partition":
          if (n.offline !== null) {
            throw new Error(
              `${ev.kind}: ${n.host.name} is already cut off (${n.offline})`,
            );
          }
          n.linked = false;
          n.offline = ev.kind;
          break;
        case "restore":
        case "heal": {
          const want = ev.kind === "restore" ? "cut" : "partition";
          if (n.offline !== want) {
            throw new Error(
              `${ev.kind}: ${n.host.name} is not ${
                want === "cut" ? "cut" : "partitioned"
              } (${ev.kind} undoes ${want})`,
            );
          }
          n.linked = true;
          n.offline = null;
          break;
        }
      }
      const exp = expectedHolder();
      const settling = settle(ev.kind);
      let isolated: NodeState | null = null;
      let label: string;
      let at = nowMs();
      switch (ev.kind) {
        case "steady":
          label = "initial election, then steady state";
          say("lab", label, at);
          break;
        case "crash": {
          say("lab", `${who} crashes (SIGKILL)`);
          const r = await driver.crash(n);
          at = r.at;
          label = r.label;
          say("lab", r.label, at);
          break;
        }
        case "restart":
        case "start":
          label = `${who} ${ev.kind === "start" ? "started" : "restarted"}`;
          say("lab", label, at);
          await startDaemon(n);
          break;
        case "unready":
        case "ready":
          label = ev.kind === "unready"
            ? `${who}'s API server turns unready (etcd failing)`
            : `${who}'s API server is ready again`;
          at = await driver.setReady(n, ev.kind === "ready");
          say("lab", label, at);
          if (!driver.healthGated) {
            notes.push(
              `${impl} does not check the API server here (no track_script): the VIP does not move`,
            );
          }
          break;
        case "stop": {
          say("lab", `${who} stops (SIGTERM, planned)`);
          const r = await driver.stop(n);
          at = r.at;
          label = r.label;
          say("lab", r.label);
          break;
        }
        case "cut":
          label = `${who}'s link cut (carrier loss)`;
          say("lab", label, at);
          await topo.cutLink(n.host);
          n.linkDown.push({ from: at, to: null });
          break;
        case "restore":
          label = `${who}'s link restored (carrier back)`;
          say("lab", label, at);
          await topo.restoreLink(n.host);
          if (n.linkDown.length) n.linkDown[n.linkDown.length - 1].to = at;
          break;
        case "partition": {
          label = `${who} partitioned (bridge port disabled, carrier up)`;
          say("lab", label, at);
          await topo.partitionLink(n.host);
          n.linkDown.push({ from: at, to: null });
          isolated = n;
          break;
        }
        case "heal":
          label = `${who}'s partition heals (bridge port forwarding)`;
          say("lab", label, at);
          await topo.healLink(n.host);
          if (n.linkDown.length) n.linkDown[n.linkDown.length - 1].to = at;
          break;
      }
      // Partition: the cut-off node keeps carrier, and (running, ready)
      // becomes or stays master on its own side; the heal is only a
      // conflict of two masters once it has.
      let isolatedHoldMs: number | null | undefined;
      let isolatedCarrier: boolean | undefined;
      if (isolated) {
        isolatedCarrier = await topo.hasCarrier(isolated.host);
        const canHold = isolated.running &&
          (isolated.ready || !driver.healthGated);
        const deadline = nowMs() + 4 * A + 3000;
        while (canHold && !isolated.watcher!.holding && nowMs() < deadline) {
          options.signal?.throwIfAborted();
          checkFatal();
          await sleep(20);
        }
        const held = isolated.watcher!.intervals.find((i) =>
          i.to === null || i.to >= at
        );
        isolatedHoldMs = held && isolated.watcher!.holding
          ? Math.max(0, held.from - at)
          : null;
        isolatedCarrier = isolatedCarrier &&
          await topo.hasCarrier(isolated.host);
        say(
          "lab",
          `${isolated.host.name} ${
            isolatedCarrier ? "keeps carrier" : "LOST CARRIER"
          }; ${
            isolatedHoldMs === null
              ? "it does not hold the VIP on its side"
              : isolatedHoldMs === 0
              ? "it still holds the VIP on its side"
              : `it holds the VIP on its side after ${fmtS(isolatedHoldMs)}`
          }`,
        );
      }
      const { settledAt, leftover } = await settling;
      const stableFrom = settledAt ?? nowMs();
      const jitterMs = ev.kind === "partition" &&
          (options.randomHealPhase ?? true)
        ? Math.round(Math.random() * A)
        : 0;
      if (jitterMs > 0) {
        say(
          "lab",
          `random phase: the partition lasts ${jitterMs} ms longer`,
        );
      }
      const holdMs = (ev.holdMs ?? (ev.kind === "steady" ? 3000 : 1000)) +
        jitterMs;
      const watchFrom = ev.kind === "steady" ? stableFrom : at;
      const windowEnd = Math.max(nowMs(), stableFrom + SETTLE_STABLE_MS) +
        holdMs;
      // Steady state: what each daemon costs while nothing happens.
      const before = ev.kind === "steady" ? await sampleDaemons(nodes) : null;
      await sleep(Math.max(0, windowEnd - nowMs()));
      const end = windowEnd;
      let resources: ResourceUsage[] | undefined;
      if (before) {
        const after = await sampleDaemons(nodes);
        const hz = await clockTicks();
        resources = [];
        for (const [name, a] of before) {
          const b = after.get(name);
          const cpu = b ? cpuPercent(a, b, hz) : null;
          if (!b || cpu === null) continue;
          resources.push({
            node: name,
            pids: b.pids,
            names: b.names,
            rssKb: b.rssKb,
            cpuPercent: cpu,
            cpuPercentSched: cpuPercentSched(a, b),
            intervalMs: b.at - a.at,
          });
        }
      }

      // -- Measure --
      const holdersAfter = connectedHolders().map((x) => x.host.name);
      const gaps = client.gapsIn(watchFrom - GAP_TAIL_MS, end).map((g) => ({
        startMs: topo.rel(g.from),
        endMs: topo.rel(g.to),
        ms: g.to - g.from,
        open: g.open,
      }));
      const longestGapMs = gaps.reduce((m, g) => Math.max(m, g.ms), 0);
      const perNodeConnected = nodes.map((x) =>
        clip(subtract(x.watcher!.intervals, x.linkDown, end), watchFrom, end)
      );
      const perNodeAny = nodes.map((x) =>
        clip(x.watcher!.intervals, watchFrom, end)
      );
      const dualHolderMs = total(dualTimes(perNodeConnected, end), end);
      const dualHolderAnyMs = total(dualTimes(perNodeAny, end), end);
      const arpMultiMs = total(
        clip(client.arpMulti(end), watchFrom, end),
        end,
      );
      const changed = exp !== null && exp !== holderBefore;
      const gained = exp
        ? (vipGained.get(exp.host.name) ?? []).find((t) => t >= at)
        : undefined;
      const takeoverMs = changed && gained !== undefined ? gained - at : null;
      const switchAt = exp ? client.neighSwitchAt(exp.host.mac, at) : null;
      const m: EventMeasurement = {
        index,
        kind: ev.kind,
        node: ev.kind === "steady" ? (exp?.host.name ?? "none") : n.host.name,
        label,
        atMs: topo.rel(at),
        holderBefore: holderBefore?.host.name ?? null,
        holdersBefore: holdersBefore.map((x) => x.host.name),
        expectedHolder: exp?.host.name ?? null,
        holdersAfter,
        settled: settledAt !== null && !leftover,
        settleMs: settledAt === null ? null : Math.max(0, settledAt - at),
        takeoverMs,
        clientSwitchMs: switchAt === null ? null : Math.max(0, switchAt - at),
        longestGapMs,
        gaps,
        dualHolderMs,
        dualHolderAnyMs,
        arpMultiMs,
        ...(isolatedHoldMs !== undefined ? { isolatedHoldMs } : {}),
        ...(isolatedCarrier !== undefined ? { isolatedCarrier } : {}),
        ...(ev.kind === "heal" || ev.kind === "partition"
          ? {
            garpMs: exp
              ? (() => {
                const g = client.garpAt(exp.host.mac, at);
                return g === null ? null : g - at;
              })()
              : null,
          }
          : {}),
        ...(resources ? { resources } : {}),
        windowEndMs: topo.rel(end),
        problems,
        notes,
        ok: true,
      };
      if (ev.kind === "crash" && holderBefore === n) {
        const lost = (vipLost.get(n.host.name) ?? []).find((t) => t >= at);
        m.vipExpiredMs = lost === undefined ? null : lost - at;
      }

      // -- Judge --
      const b = bounds(ev.kind, holderBefore === n);
      const deadHolders = holdersAfter.filter((h) => !byName(h).running);
      const knownLeftover = impl === "keepalived" && deadHolders.length > 0 &&
        holdersAfter.filter((h) => byName(h).running).length <= 1;
      if (settledAt === null) {
        problems.push(
          `did not settle within ${fmtS(settleTimeout(ev.kind))}: expected ${
            exp?.host.name ?? "no holder"
          } alone with the client reaching it; holders ${
            holdersAfter.join(", ") || "none"
          }, client neighbour → ${nameOfMac(client.neighMac)}`,
        );
      }
      if (
        exp === null ? holdersAfter.length !== 0 : (
          holdersAfter.length !== 1 || holdersAfter[0] !== exp.host.name
        )
      ) {
        const text = `holders afterwards: ${
          holdersAfter.join(", ") || "none"
        } (expected ${exp?.host.name ?? "none"} alone)`;
        if (knownLeftover) {
          notes.push(
            `${text}: keepalived leaves the VIP on a crashed node (no VIP lifetime) until it restarts`,
          );
        } else problems.push(text);
      } else if (leftover) {
        problems.push("an extra holder lingered past the settle timeout");
      }
      if (b.maxGapMs !== undefined && longestGapMs > b.maxGapMs) {
        problems.push(
          `client outage ${fmtS(longestGapMs)} > bound ${fmtS(b.maxGapMs)}`,
        );
      }
      if (b.maxTakeoverMs !== undefined && changed) {
        if (takeoverMs === null) {
          problems.push(`${exp!.host.name} never took the VIP over`);
        } else if (takeoverMs > b.maxTakeoverMs) {
          problems.push(
            `takeover ${fmtS(takeoverMs)} > bound ${fmtS(b.maxTakeoverMs)}`,
          );
        }
      }
      if (b.maxDualMs !== undefined && dualHolderMs > b.maxDualMs) {
        const text = `two holders for ${fmtS(dualHolderMs)} > bound ${
          fmtS(b.maxDualMs)
        }`;
        if (knownLeftover) notes.push(text);
        else problems.push(text);
      }
      if (m.vipExpiredMs !== undefined && b.maxExpiryMs !== undefined) {
        if (m.vipExpiredMs === null || m.vipExpiredMs > b.maxExpiryMs) {
          problems.push(
            `crashed node's VIP ${
              m.vipExpiredMs === null
                ? "never expired"
                : `expired after ${fmtS(m.vipExpiredMs)}`
            } (bound ${fmtS(b.maxExpiryMs)})`,
          );
        }
      } else if (m.vipExpiredMs === null && impl === "keepalived") {
        notes.push(
          "the crashed node kept the VIP: keepalived has no self-expiring VIP",
        );
      }
      if (ev.kind === "partition") {
        if (m.isolatedCarrier === false) {
          problems.push(
            `${who} lost carrier: that is a cut link, not a partition`,
          );
        }
        if (m.isolatedHoldMs === null && n.running) {
          notes.push(
            `${who} did not hold the VIP on its own side: the heal will be no conflict of two masters`,
          );
        } else if (m.isolatedHoldMs !== undefined) {
          notes.push(
            `${who} is master alone on its side (expected): two holders counting the isolated node for ${
              fmtS(m.dualHolderAnyMs)
            }`,
          );
        }
      }
      if (ev.kind === "heal") {
        const limit = A + 250;
        const garp = m.garpMs === undefined || m.garpMs === null
          ? `no gratuitous ARP from ${exp?.host.name ?? "the holder"}`
          : `first gratuitous ARP from ${exp?.host.name} after ${
            fmtS(m.garpMs)
          }`;
        if (holderBefore !== exp) {
          // The client still pointed at the loser.
          notes.push(
            `client dark ${fmtS(longestGapMs)} after the heal; ${garp}`,
          );
        }
        if (impl === "keepalived" && longestGapMs > limit) {
          notes.push(
            `keepalived exceeds one advert interval (${
              fmtS(limit)
            }): a winner that never hears the loser sends no gratuitous ARP, and the client waits for its neighbour entry to re-resolve`,
          );
        }
      }
      m.ok = problems.length === 0;
      measurements.push(m);
      options.onEvent?.(m);
    }

    checkFatal();
    // --- Cross-check ha-vip's own view ------------------------------------
    if (impl === "ha-vip") {
      for (const n of nodes.filter((x) => x.running)) {
        const st = await fetchStatus(topo, n.host);
        statuses[n.host.name] = st;
        const holding = (st as { holding?: unknown } | null)?.holding;
        if (holding !== n.watcher!.holding) {
          endProblems.push(
            `${n.host.name}: /status says holding=${holding}, the kernel says ${
              n.watcher!.holding
            }`,
          );
        }
      }
    }

    // --- Wind down --------------------------------------------------------
    say("lab", "done; stopping everything");
    closing = true;
    prober.kill("SIGTERM");
    await within(prober.status, 3000, "").catch(() => {}); // killed anyway
  } finally {
    closing = true;
    await topo.teardown();
  }
  const ok = measurements.length === events.length &&
    measurements.every((m) => m.ok) && endProblems.length === 0;
  return {
    implementation: impl,
    nodes: topo.nodes.length,
    advertIntervalMs: A,
    vip: topo.vipCidr,
    events: measurements,
    ok,
    logDir: ownLogDir && !options.keepLogs ? null : topo.logDir,
    timeline,
    durationMs: nowMs() - started,
    statuses,
    problems: endProblems,
  };
}

/**
 * The bounds an event kind is judged by, from the timing parameters.
 * `onHolder: false` (cut or partition of a node that did not hold the
 * VIP) expects no client outage at all.
 */
export function defaultBounds(
  impl: Implementation,
  kind: EventKind,
  p: { A: number; W: number; H: number; L: number; onHolder?: boolean },
): Bounds {
  const { A, W, H, L } = p;
  // VRRP: a backup takes over 3 intervals + skew (< 1 interval) after the
  // last advert; a second of slack for process scheduling and GARP.
  const failover = 4 * A + 1000;
  const planned = impl === "ha-vip" ? 250 : A + 500;
  switch (kind) {
    case "steady":
      return { maxGapMs: 0, maxDualMs: 0 };
    case "crash":
      return {
        maxGapMs: failover + 500,
        maxTakeoverMs: failover,
        // ha-vip: the dead node's VIP outlives it by at most its lifetime.
        ...(impl === "ha-vip"
          ? { maxExpiryMs: L + 2000, maxDualMs: L + 1000 }
          : {}),
      };
    case "unready":
      // ha-vip yields make-before-break: priority 0, a backup takes over
      // after its skew time ((256 - priority) / 256 of an interval), and
      // the old master keeps the VIP until the new one has announced.
      return impl === "ha-vip"
        ? {
          maxGapMs: planned,
          maxTakeoverMs: W + 2 * H + failover,
          maxDualMs: A,
        }
        : { maxGapMs: 0 };
    case "stop":
      return { maxGapMs: planned, maxTakeoverMs: failover, maxDualMs: A };
    case "restart":
    case "start":
    case "ready":
      return { maxGapMs: planned, maxDualMs: A };
    case "cut":
    case "partition":
      // Two holders are counted among connected nodes only: a partitioned
      // node keeping the VIP on its own side is expected.
      return p.onHolder === false ? { maxGapMs: 0, maxDualMs: 0 } : {
        maxGapMs: failover + 500,
        maxTakeoverMs: failover,
        maxDualMs: 0,
      };
    case "restore":
      return { maxGapMs: A + 500, maxDualMs: A };
    case "heal":
      // Two masters coexist until the first advertisement crosses (< A).
      // ha-vip: the loser's last advertisement makes the winner announce,
      // so the client is dark for at most one interval. keepalived's gap
      // is reported, not judged (see the notes).
      return impl === "ha-vip"
        ? { maxGapMs: A + 250, maxDualMs: A + 250 }
        : { maxDualMs: A + 250 };
  }
}

/** Samples every running daemon's process tree, by node name. */
async function sampleDaemons(
  nodes: NodeState[],
): Promise<Map<string, TreeSample>> {
  const out = new Map<string, TreeSample>();
  for (const n of nodes) {
    if (!n.running || !n.daemon?.running) continue;
    const s = await sampleTree(n.daemon.pid);
    if (s.pids.length) out.set(n.host.name, s);
  }
  return out;
}

function resolveNode(
  ev: ScenarioEvent,
  holder: NodeState | null,
  previous: string | null,
  nodes: NodeState[],
  isBackup: (n: NodeState) => boolean,
): string {
  const want = ev.node ??
    (["crash", "unready", "stop", "cut", "partition", "steady"].includes(
        ev.kind,
      )
      ? "holder"
      : "previous");
  if (want === "backup") {
    const b = nodes.filter(isBackup).sort((x, y) => y.priority - x.priority);
    if (b.length) return b[0].host.name;
    throw new Error(`${ev.kind}: no backup to act on`);
  }
  if (want === "holder") {
    if (holder) return holder.host.name;
    if (ev.kind === "steady") return nodes[0].host.name;
    throw new Error(`${ev.kind}: no single holder to act on`);
  }
  if (want === "previous") {
    if (previous === null) throw new Error(`${ev.kind}: no previous event`);
    return previous;
  }
  return want;
}

// ---------------------------------------------------------------------------
// The client's view, from prober lines.

class ClientView {
  neighMac: string | null = null;
  #neigh: { t: number; mac: string | null }[] = [];
  #gaps: { from: number; to: number; lost: number }[] = [];
  #stalls: Interval[] = [];
  #downSince: number | null = null;
  #lastReply: number | null = null;
  #arp: { t: number; n: number }[] = [];
  #garps: { t: number; mac: string }[] = [];
  #started = Promise.withResolvers<void>();

  add(l: ProbeLine): void {
    switch (l.type) {
      case "start":
        this.#started.resolve();
        break;
      case "neigh":
        this.neighMac = l.mac;
        this.#neigh.push({ t: l.t, mac: l.mac });
        break;
      case "reach":
        if (l.up) {
          this.#downSince = null;
          this.#lastReply = l.t;
        } else this.#downSince = l.t;
        break;
      case "gap":
        this.#gaps.push({ from: l.start, to: l.end, lost: l.lost });
        this.#lastReply = l.end;
        break;
      case "stall":
        this.#stalls.push({ from: l.t, to: l.t + l.ms });
        break;
      case "stats":
        if (l.lastReplyAt !== null) this.#lastReply = l.lastReplyAt;
        break;
      case "arp":
        this.#arp.push({ t: l.t, n: l.macs.length });
        break;
      case "garp":
        this.#garps.push({ t: l.t, mac: l.mac });
        break;
    }
  }

  /** First gratuitous ARP from `mac` seen at/after `from` (epoch ms). */
  garpAt(mac: string, from: number): number | null {
    return this.#garps.find((g) => g.t >= from && g.mac === mac)?.t ?? null;
  }

  started(timeoutMs: number): Promise<void> {
    return within(
      this.#started.promise,
      timeoutMs,
      `prober did not start within ${timeoutMs} ms`,
    );
  }

  /** Replies are flowing (no open silence) at `t`. */
  reachable(): boolean {
    return this.#lastReply !== null && this.#downSince === null;
  }

  /** Gaps overlapping [from, to], the open one cut at `to`. */
  gapsIn(
    from: number,
    to: number,
  ): (Interval & { to: number; open: boolean })[] {
    // Replies that were only late because the prober itself stalled are
    // not an outage of the VIP.
    const artifact = (g: { from: number; to: number; lost: number }) =>
      g.lost === 0 &&
      this.#stalls.some((s) => s.from <= g.to && (s.to ?? s.from) >= g.from);
    const out = this.#gaps
      .filter((g) => g.to >= from && g.from <= to && !artifact(g))
      .map((g) => ({ from: g.from, to: g.to, open: false }));
    if (this.#downSince !== null && this.#downSince <= to) {
      out.push({ from: this.#downSince, to, open: true });
    }
    return out;
  }

  /** First time at/after `from` the neighbour entry pointed at `mac`. */
  neighSwitchAt(mac: string, from: number): number | null {
    let current: string | null = null;
    for (const e of this.#neigh) {
      if (e.t < from) {
        current = e.mac;
        continue;
      }
      if (current === mac) return from;
      if (e.mac === mac) return e.t;
      current = e.mac;
    }
    return current === mac ? from : null;
  }

  /** Intervals during which two or more MACs answered ARP probes. */
  arpMulti(end: number): Interval[] {
    const out: Interval[] = [];
    let since: number | null = null;
    for (const a of this.#arp) {
      if (a.n >= 2 && since === null) since = a.t;
      if (a.n < 2 && since !== null) {
        out.push({ from: since, to: a.t });
        since = null;
      }
    }
    if (since !== null) out.push({ from: since, to: end });
    return out;
  }
}

/** Turns prober lines into timeline lines, without the routine noise. */
function narrator(
  nameOfMac: (m: string | null) => string,
  say: (text: string, at: number) => void,
  verbose: boolean,
): (l: ProbeLine) => void {
  let neighMac: string | null | undefined;
  let arpMulti = false;
  let garp = { mac: "", t: 0 };
  return (l) => {
    switch (l.type) {
      case "neigh": {
        // NUD churn (STALE, DELAY, PROBE, REACHABLE) on the same MAC is
        // routine; a new MAC or a failed resolution is news.
        const news = l.mac !== neighMac || /FAILED|INCOMPLETE/.test(l.state);
        neighMac = l.mac;
        if (news || verbose) {
          say(
            l.mac
              ? `neighbour entry for the VIP → ${
                nameOfMac(l.mac)
              } (${l.mac}, ${l.state})`
              : `neighbour entry for the VIP: ${l.state || "none"} (no MAC)`,
            l.t,
          );
        }
        break;
      }
      case "reach":
        if (!l.up) say("VIP unreachable (no ICMP reply)", l.t);
        break;
      case "gap":
        say(
          `VIP reachable again after ${fmtS(l.ms)} (${l.lost} probes lost${
            l.late ? `, ${l.late} late` : ""
          })`,
          l.t,
        );
        break;
      case "arp":
        if (l.macs.length >= 2) {
          say(
            `${l.macs.length} MACs answer ARP for the VIP: ${
              l.macs.map(nameOfMac).join(", ")
            }`,
            l.t,
          );
        } else if (arpMulti) {
          say(
            `ARP for the VIP answered by ${
              l.macs.map(nameOfMac).join(", ") || "nobody"
            } only`,
            l.t,
          );
        }
        arpMulti = l.macs.length >= 2;
        break;
      case "garp":
        // A takeover sends a burst: report its first packet.
        if (garp.mac !== l.mac || l.t - garp.t > 2000 || verbose) {
          say(`gratuitous ARP from ${nameOfMac(l.mac)}`, l.t);
        }
        garp = { mac: l.mac, t: l.t };
        break;
      case "stall":
        if (verbose || l.ms >= 100) {
          say(`prober stalled ${fmtS(l.ms)} (busy machine)`, l.t);
        }
        break;
      case "error":
        say(`prober: ${l.message}`, l.t);
        break;
    }
  };
}

// ---------------------------------------------------------------------------
// Drivers.

function haVipDriver(
  topo: Topology,
  repoRoot: string,
  o: {
    lockFlag: string;
    advertIntervalMs: number;
    stabilityWindowMs: number;
    healthIntervalMs?: number;
    vipLifetimeMs?: number;
    extraArgs: string[];
    verbose: boolean;
    say: (source: string, text: string, at?: number) => void;
  },
): Driver {
  const pkiDir = `${topo.logDir}/pki`;
  const tokenFile = `${topo.logDir}/token`;
  let token = "";
  let caCert = "";
  return {
    healthGated: true,
    async prepare() {
      // One cluster CA and a kubeadm-shaped serving certificate (no
      // 127.0.0.1 SAN), made once in the root namespace.
      const { loadOrGeneratePki } = await import(
        "../testing/pki.ts"
      );
      const pki = await loadOrGeneratePki(pkiDir);
      caCert = pki.caCertFile;
      token = crypto.randomUUID().replaceAll("-", "");
      await Deno.writeTextFile(tokenFile, token + "\n", { mode: 0o600 });
    },
    async start(n) {
      if (!n.api?.running) {
        await Deno.writeTextFile(n.controlFile, "");
        const listening = Promise.withResolvers<void>();
        n.api = topo.spawn(n.host.netns, `${n.host.name}-api-server`, [
          Deno.execPath(),
          "run",
          "-A",
          "--cached-only",
          o.lockFlag,
          `${repoRoot}/testing/api_server_main.ts`,
          "--host",
          "127.0.0.1",
          "--port",
          "6443",
          "--cert-dir",
          pkiDir,
          "--node-name",
          n.host.name,
          "--node-ip",
          n.host.address,
          "--reader-token",
          token,
          "--control-port",
          "-1",
          "--control-file",
          n.controlFile,
        ], {
          cwd: repoRoot,
          onLine: (line, stream) => {
            if (stream !== "out") return;
            if (line.includes('"event":"listening"')) listening.resolve();
            if (line.includes('"event":"control"')) {
              for (const r of n.controlAcks.splice(0)) r();
            }
          },
        });
        const api = n.api;
        const exited = api.status.then((s) =>
          `${n.host.name}'s API server exited (code ${s.code}); see ${api.logFile}`
        );
        const up = await within(
          Promise.race([listening.promise.then(() => null), exited]),
          20000,
          `${n.host.name}'s API server did not listen within 20 s; see ${api.logFile}`,
        );
        if (up !== null) throw new Error(up);
      }
      const args = [
        "run",
        "--vip",
        topo.vipCidr,
        "--interface",
        n.host.ifname,
        "--priority",
        String(n.priority),
        "--advert-interval",
        `${o.advertIntervalMs}ms`,
        "--api-server",
        "https://127.0.0.1:6443",
        "--ca-cert",
        caCert,
        "--token-file",
        tokenFile,
        "--stability-window",
        `${o.stabilityWindowMs}ms`,
        "--node-name",
        n.host.name,
        "--metrics-address",
        "127.0.0.1:9480",
        ...(o.healthIntervalMs !== undefined
          ? ["--health-interval", `${o.healthIntervalMs}ms`]
          : []),
        ...(o.vipLifetimeMs !== undefined
          ? ["--vip-lifetime", `${Math.round(o.vipLifetimeMs / 1000)}s`]
          : []),
        ...o.extraArgs,
      ];
      n.daemon = topo.spawn(n.host.netns, `${n.host.name}-ha-vip`, [
        Deno.execPath(),
        "run",
        "-A",
        "--cached-only",
        o.lockFlag,
        `${repoRoot}/main.ts`,
        ...args,
      ], {
        cwd: repoRoot,
        onLine: daemonLineHandler(n, o.verbose, o.say, HA_VIP_INTERESTING),
      });
    },
    async crash(n) {
      const at = nowMs();
      n.daemon!.kill("SIGKILL");
      await n.daemon!.status;
      return { label: `${n.host.name} crashed (SIGKILL)`, at };
    },
    stop: stopDaemon,
    async setReady(n, ready) {
      const ack = new Promise<number>((r) =>
        n.controlAcks.push(() => r(nowMs()))
      );
      await Deno.writeTextFile(
        n.controlFile,
        JSON.stringify({ failing: ready ? [] : ["etcd"] }),
      );
      // The server polls its control file every 100 ms and logs each change.
      return await within(
        ack,
        3000,
        `${n.host.name}'s API server ignored its control file`,
      );
    },
  };
}

const HA_VIP_INTERESTING =
  /\b(master|backup|fault|takeover|took|holder|holds|vip|step|priority 0|not_ready|ready|unauthorized|forbidden|tls_error|timeout|connection_refused|error|warn)/i;
const KEEPALIVED_INTERESTING =
  /Entering \w+ STATE|removing VIPs|setting VIPs|Stopping|Stopped|received higher priority|received advert .* priority|forcing a new (MASTER|election)/i;

function daemonLineHandler(
  n: NodeState,
  verbose: boolean,
  say: (source: string, text: string, at?: number) => void,
  interesting: RegExp,
): (line: string, stream: "out" | "err", at: number) => void {
  return (line, _stream, at) => {
    if (verbose) say(n.host.name, `  ${line}`, at);
    else if (interesting.test(line)) {
      // The timeline has its own clock and names the node: drop the
      // daemons' date stamps (keepalived's and ha-vip's) and ha-vip's
      // trailing key=value fields, which repeat the message.
      const text = line
        .replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, "")
        .replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z\s+/, "")
        .replace(/\s+node=\S+(\s+\w+=.*)?$/, "");
      say(n.host.name, `  ${text}`, at);
    }
  };
}

function keepalivedDriver(
  topo: Topology,
  o: {
    advertIntervalMs: number;
    verbose: boolean;
    say: (source: string, text: string, at?: number) => void;
  },
): Driver {
  const files = (n: NodeState) => ({
    conf: `${n.dir}/keepalived.conf`,
    pid: `${n.dir}/keepalived.pid`,
    vrrpPid: `${n.dir}/vrrp.pid`,
    checkersPid: `${n.dir}/checkers.pid`,
  });
  return {
    healthGated: false,
    async prepare() {},
    async start(n) {
      const f = files(n);
      await Deno.writeTextFile(
        f.conf,
        keepalivedConfig({
          routerId: n.host.name,
          ifname: n.host.ifname,
          priority: n.priority,
          advertIntervalMs: o.advertIntervalMs,
          vipCidr: topo.vipCidr,
        }),
      );
      n.daemon = topo.spawn(n.host.netns, `${n.host.name}-keepalived`, [
        "/usr/sbin/keepalived",
        "-n",
        "-l",
        "-D",
        "-f",
        f.conf,
        "-p",
        f.pid,
        "-r",
        f.vrrpPid,
        "-c",
        f.checkersPid,
      ], {
        onLine: daemonLineHandler(n, o.verbose, o.say, KEEPALIVED_INTERESTING),
      });
    },
    async crash(n) {
      // A plain SIGKILL of the parent is not a crash: its VRRP child gets
      // SIGTERM (PDEATHSIG) and hands over cleanly. Freeze the parent so it
      // cannot respawn the child, kill the child, then the parent.
      const parent = n.daemon!;
      let child: number | null = null;
      try {
        child = Number((await Deno.readTextFile(files(n).vrrpPid)).trim()) ||
          null;
      } catch {
        child = null; // no VRRP process (yet): the parent is all there is
      }
      // Both PIDs are checked first so the signals follow each other at once.
      if (child !== null && !await topo.ownsPid(child)) child = null;
      if (!await topo.ownsPid(parent.pid)) {
        throw new Error(`keepalived ${parent.pid} is not in our namespaces`);
      }
      const at = nowMs();
      if (child !== null) {
        Deno.kill(parent.pid, "SIGSTOP");
        Deno.kill(child, "SIGKILL");
      }
      parent.kill("SIGKILL");
      await parent.status;
      return {
        label: `${n.host.name} crashed (SIGKILL of keepalived's VRRP process ${
          child ?? "?"
        }, then of its frozen parent ${parent.pid})`,
        at,
      };
    },
    stop: stopDaemon,
    setReady() {
      // keepalived has no API server check in this lab (no track_script).
      return Promise.resolve(nowMs());
    },
  };
}

/** A keepalived 2.2 configuration equivalent to the ha-vip flags. */
export function keepalivedConfig(o: {
  routerId: string;
  ifname: string;
  priority: number;
  advertIntervalMs: number;
  vipCidr: string;
  vrid?: number;
}): string {
  return `# ha-vip lab: the same VRRP group as ha-vip's defaults
global_defs {
  router_id ${o.routerId}
  vrrp_version 3
}

vrrp_instance VI_1 {
  state BACKUP
  interface ${o.ifname}
  virtual_router_id ${o.vrid ?? 51}
  priority ${o.priority}
  advert_int ${o.advertIntervalMs / 1000}
  virtual_ipaddress {
    ${o.vipCidr} dev ${o.ifname}
  }
}
`;
}

/**
 * `deno cache` the programs started inside the namespaces, which have no
 * route to any registry. The lab never rewrites deno.lock: it uses the
 * lock as it is (`--frozen`), and only when the tree is ahead of the lock
 * (new dependencies not committed yet) runs without it, saying so.
 * Resolves the lock flag the namespaced `deno run`s must use.
 */
export async function cacheForNamespaces(
  repoRoot: string,
  entries: string[],
  warn: (text: string) => void = () => {},
): Promise<string> {
  const cache = async (lockFlag: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["cache", "--quiet", lockFlag, ...entries],
      cwd: repoRoot,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { ok: out.success, err: new TextDecoder().decode(out.stderr) };
  };
  let r = await cache("--frozen");
  if (r.ok) return "--frozen";
  if (/lockfile is out of date/i.test(r.err)) {
    warn("deno.lock is behind the tree: running without it (--no-lock)");
    r = await cache("--no-lock");
    if (r.ok) return "--no-lock";
  }
  throw new Error(`deno cache ${entries.join(" ")} failed:\n${r.err}`);
}

/** What a scenario runs inside the namespaces, for {@link cacheForNamespaces}. */
function namespaceEntries(repoRoot: string, impl: Implementation): string[] {
  const entries = [`${repoRoot}/lab/prober.ts`];
  if (impl === "ha-vip") {
    entries.push(
      `${repoRoot}/main.ts`,
      `${repoRoot}/testing/api_server_main.ts`,
    );
  }
  return entries;
}

async function stopDaemon(
  n: NodeState,
): Promise<{ label: string; at: number }> {
  const at = nowMs();
  const st = await n.daemon!.stop(10000);
  return {
    label: `${n.host.name} stopped (SIGTERM; exited ${
      st.signal ? `by ${st.signal}` : `with ${st.code}`
    } after ${fmtS(nowMs() - at)})`,
    at,
  };
}

/** GET /status of a node's ha-vip (its loopback is only reachable inside). */
async function fetchStatus(topo: Topology, host: LabHost): Promise<unknown> {
  const code =
    `const r = await fetch("http://127.0.0.1:9480/status"); console.log(await r.text());`;
  const r = await topo.exec(host.netns, [
    Deno.execPath(),
    "eval",
    "--no-config",
    "--quiet",
    code,
  ], { check: false });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return { error: (r.stderr || r.stdout).trim().slice(0, 500) };
  }
}

/** `p`, or a rejection with `message` after `ms`; the timer never outlives it. */
function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `3.456 s` / `12 ms` / `0.4 ms`. */
export function fmtS(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(3)} s`;
  // Sub-10 ms overlaps are what only `ip monitor` stamps can show.
  return ms < 10 && ms > 0 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
