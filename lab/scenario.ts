/**
 * The failover scenario: N nodes running ha-vip (or keepalived, for
 * comparison) on the lab network, a client probing the VIP, and a script of
 * events (crash, restart, unready API server, planned stop, cut link, ...).
 * Every event is measured: the new holder, how long the client could not
 * reach the VIP, whether two nodes held it at once, and for a crash how
 * long the dead node's VIP outlived it.
 *
 * This file is the runner: set-up, the event loop and wind-down. The
 * daemons are in `daemons.ts`, what each event does in `faults.ts`, the
 * measurement and its bounds in `measure.ts`, the timeline's words in
 * `narration.ts`.
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

import { autoVipLifetime } from "../lib/config/mod.ts";
import { fencingPlan } from "../lib/lease/mod.ts";
import { ClientView } from "./client_view.ts";
import {
  type Driver,
  fetchStatus,
  haVipDriver,
  keepalivedDriver,
  type NodeState,
} from "./daemons.ts";
import {
  applyToModel,
  performFault,
  resolveNode,
  startDaemon,
  watchIsolated,
} from "./faults.ts";
import {
  type EventFacts,
  holdWindow,
  judgeEvent,
  measureEvent,
} from "./measure.ts";
import { narrator, type Say } from "./narration.ts";
import { spawnProber } from "./prober.ts";
import { applyStress, describeStress } from "./stress.ts";
import {
  byName,
  checkFatal,
  connectedHolders,
  currentHolder,
  expectedHolder,
  leftoverTimeout,
  nameOfMac,
  type Run,
  SETTLE_STABLE_MS,
  settleTimeout,
  type Timing,
} from "./run.ts";
import type {
  EventKind,
  EventMeasurement,
  Implementation,
  LeaseTiming,
  ScenarioEvent,
  ScenarioOptions,
  ScenarioResult,
  TimelineEntry,
} from "./scenario_types.ts";
import {
  createTopology,
  type LabProcess,
  nowMs,
  type Topology,
} from "./topology.ts";
import { cacheForNamespaces, sleep, within } from "./util.ts";
import { type VipChange, watchVip } from "./vip_watch.ts";

export type * from "./scenario_types.ts";
export { defaultBounds } from "./measure.ts";

/** Lease mode's default timing: client-go's (and kube-controller-manager's). */
export const DEFAULT_LEASE: LeaseTiming = {
  durationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/**
 * Lease mode's default script: the same failures as VRRP's, plus the
 * holder's API server process dying and the holder's API server losing
 * its store. No priorities: after a recovery the holder stays where it is.
 */
export function defaultLeaseEvents(): ScenarioEvent[] {
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
    { kind: "partition" },
    { kind: "heal" },
    { kind: "apidown" },
    { kind: "apiup" },
    { kind: "storeloss" },
    { kind: "storeback" },
  ];
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
    // node1 stays master alone until its API server, whose store (etcd) is
    // on the other side, turns unready (ha-vip: it steps down on its side
    // within the 8 s hold); on the heal node1 becomes ready and preempts.
    { kind: "partition", holdMs: 8000 },
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

/** The timers of a run, from the options (0 where keepalived has none). */
function scenarioTiming(
  impl: Implementation,
  options: ScenarioOptions,
): Timing {
  const A = options.advertIntervalMs ?? 1000;
  if (!Number.isInteger(A) || A < 10 || A % 10 !== 0 || A > 40950) {
    throw new RangeError(
      `advertIntervalMs must be a multiple of 10 from 10 to 40950, got ${A}`,
    );
  }
  const election = impl === "ha-vip" ? options.election ?? "vrrp" : "vrrp";
  const lease = options.lease ?? DEFAULT_LEASE;
  const lease3 = election === "lease"
    ? { D: lease.durationMs, R: lease.renewDeadlineMs, P: lease.retryPeriodMs }
    : { D: 0, R: 0, P: 0 };
  const fenced = fencingPlan({ ...lease });
  const auto = election === "lease"
    ? ("error" in fenced ? 0 : fenced.lifetimeS * 1000)
    : autoVipLifetime(A);
  return {
    A,
    W: impl === "ha-vip" ? options.stabilityWindowMs ?? 2000 : 0,
    H: impl === "ha-vip" ? options.healthIntervalMs ?? 2000 : 0,
    L: impl === "ha-vip" ? options.vipLifetimeMs ?? auto : 0,
    election,
    ...lease3,
  };
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

function createDriver(
  impl: Implementation,
  topo: Topology,
  repoRoot: string,
  o: { lockFlag: string; timing: Timing; options: ScenarioOptions; say: Say },
): Driver {
  const verbose = o.options.verbose ?? false;
  return impl === "ha-vip"
    ? haVipDriver(topo, repoRoot, {
      election: o.timing.election,
      lease: o.options.lease ?? DEFAULT_LEASE,
      lockFlag: o.lockFlag,
      advertIntervalMs: o.timing.A,
      stabilityWindowMs: o.timing.W,
      healthIntervalMs: o.options.healthIntervalMs,
      vipLifetimeMs: o.options.vipLifetimeMs,
      extraArgs: o.options.extraArgs ?? [],
      verbose,
      say: o.say,
      entry: o.options.haVipEntry,
      denoFlags: o.options.denoFlags,
      statusEndpoint: o.options.statusEndpoint,
    })
    : keepalivedDriver(topo, {
      advertIntervalMs: o.timing.A,
      verbose,
      say: o.say,
    });
}

function newNodes(topo: Topology): NodeState[] {
  return topo.nodes.map((host, i) => ({
    host,
    priority: priorityOf(i),
    running: false,
    ready: true,
    apiUp: true,
    storeUp: true,
    steppedOut: false,
    linked: true,
    offline: null,
    linkDown: [],
    controlFile: `${topo.logDir}/${host.name}/api-control.json`,
    dir: `${topo.logDir}/${host.name}`,
    controlAcks: [],
    storeEvents: [],
  }));
}

/** Follows each node's VIP in the kernel, onto the timeline and the run's records. */
async function watchNodes(run: Run): Promise<void> {
  for (const n of run.nodes) await Deno.mkdir(n.dir, { recursive: true });
  const onVip = (c: VipChange) => {
    const n = byName(run, c.node);
    const record = c.holding ? run.vipGained : run.vipLost;
    record.set(c.node, [...(record.get(c.node) ?? []), c.t]);
    if (c.holding) run.say(c.node, "holds the VIP", c.t);
    else if (n.daemon?.running === false && run.impl === "ha-vip") {
      run.say(c.node, "VIP gone by itself (lifetime expired)", c.t);
    } else run.say(c.node, "dropped the VIP", c.t);
  };
  for (const n of run.nodes) {
    n.watcher = await watchVip(run.topo, n.host, run.topo.vip, onVip);
  }
}

/** Starts the client's prober, narrated; resolves once it runs. */
async function startClient(
  run: Run,
  events: ScenarioEvent[],
): Promise<LabProcess> {
  const narrate = narrator(
    (mac) => nameOfMac(run, mac),
    (text, at) => run.say("client", text, at),
    run.options.verbose ?? false,
  );
  const prober = spawnProber(run.topo, {
    intervalMs: run.options.probeIntervalMs ?? 5,
    arpIntervalMs: run.options.arpIntervalMs ?? 50,
    maxSeconds: Math.ceil(
      120 +
        events.reduce(
            (s, e) =>
              s + settleTimeout(run, e.kind) + (e.holdMs ?? 3000) + run.A +
              5000,
            0,
          ) / 1000,
    ),
    onLine: (l) => {
      run.client.add(l);
      narrate(l);
    },
  });
  await within(
    run.client.started(),
    15000,
    "prober did not start within 15000 ms",
  );
  return prober;
}

/**
 * Waits until the expected holder has the VIP alone and the client
 * reaches it through its MAC, stable for SETTLE_STABLE_MS.
 */
async function settle(
  run: Run,
  kind: EventKind,
): Promise<{ settledAt: number | null; leftover: boolean }> {
  const deadline = nowMs() + settleTimeout(run, kind);
  let primarySince: number | null = null;
  let cleanSince: number | null = null;
  while (nowMs() < deadline) {
    run.options.signal?.throwIfAborted();
    checkFatal(run);
    const t = nowMs();
    const exp = expectedHolder(run);
    const holders = connectedHolders(run);
    const primary = exp === undefined
      ? false
      : exp === null
      ? holders.length === 0
      : exp.watcher!.holding && run.client.neighMac === exp.host.mac &&
        run.client.reachable;
    const clean = primary && (exp === null ? true : holders.length === 1);
    primarySince = primary ? primarySince ?? t : null;
    cleanSince = clean ? cleanSince ?? t : null;
    if (cleanSince !== null && t - cleanSince >= SETTLE_STABLE_MS) {
      return { settledAt: cleanSince, leftover: false };
    }
    if (primarySince !== null && t - primarySince >= leftoverTimeout(run)) {
      return { settledAt: primarySince, leftover: true };
    }
    await sleep(20);
  }
  return { settledAt: null, leftover: false };
}

/** Plays one event: model, action, settle, hold, measure, judge. */
async function playEvent(
  run: Run,
  index: number,
  ev: ScenarioEvent,
  previous: string | null,
): Promise<{ m: EventMeasurement; node: string }> {
  run.options.signal?.throwIfAborted();
  checkFatal(run);
  const holdersBefore = connectedHolders(run);
  const holderBefore = currentHolder(run);
  const n = byName(run, resolveNode(run, ev, holderBefore, previous));
  // The model changes first and the settle watch starts before the
  // action, so settle times are measured from the action itself.
  applyToModel(n, ev.kind, run);
  const before = expectedHolder(run);
  const settling = settle(run, ev.kind);
  const action = await performFault(run, n, ev.kind);
  const isolated = ev.kind === "partition"
    ? await watchIsolated(run, n, action.at)
    : undefined;
  const { settledAt, leftover } = await settling;
  const stress = run.options.stress;
  if (ev.kind === "steady" && stress && !run.stressed) {
    // Once the first election has settled: from here on, any VIP move is
    // a false alarm caused by the conditions alone.
    run.stressed = true;
    run.say("lab", `stress: ${describeStress(stress)}`);
    await applyStress(run.topo, run.nodes, stress);
  }
  // Lease mode: which eligible node won is known once it has settled.
  const exp = before === undefined ? expectedHolder(run) ?? null : before;
  const window = await holdWindow(run, ev, action.at, settledAt);
  const facts: EventFacts = {
    index,
    ev,
    n,
    action,
    holderBefore,
    holdersBefore,
    exp,
    settledAt,
    leftover,
    isolated,
    window,
  };
  const m = measureEvent(run, facts);
  judgeEvent(run, facts, m);
  return { m, node: n.host.name };
}

/** ha-vip's own view at the end: `/status` must agree with the kernel. */
async function crossCheckStatus(
  run: Run,
  statuses: Record<string, unknown>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const n of run.nodes.filter((x) => x.running)) {
    const st = await fetchStatus(run.topo, n.host);
    statuses[n.host.name] = st;
    const holding = (st as { holding?: unknown } | null)?.holding;
    if (holding !== n.watcher!.holding) {
      problems.push(
        `${n.host.name}: /status says holding=${holding}, the kernel says ${
          n.watcher!.holding
        }`,
      );
    }
  }
  return problems;
}

/** What a run collects for its result. */
interface Collected {
  measurements: EventMeasurement[];
  statuses: Record<string, unknown>;
  problems: string[];
}

/** Everything between set-up and teardown. */
async function play(
  run: Run,
  events: ScenarioEvent[],
  out: Collected,
): Promise<void> {
  const { topo, A } = run;
  run.say(
    "lab",
    `${run.impl} on ${topo.nodes.length} nodes, VIP ${topo.vipCidr}, ${
      run.election === "lease"
        ? `lease ${run.D / 1000}s/${run.R / 1000}s/${
          run.P / 1000
        }s, VIP lifetime ${run.L / 1000}s`
        : `advert ${A} ms`
    }; logs in ${topo.logDir}`,
  );
  await watchNodes(run);
  const prober = await startClient(run, events);
  await run.driver.prepare();
  for (const n of run.nodes) {
    n.running = true;
    await startDaemon(run, n);
  }
  let previous: string | null = null;
  for (const [index, ev] of events.entries()) {
    const { m, node } = await playEvent(run, index, ev, previous);
    previous = node;
    out.measurements.push(m);
    run.options.onEvent?.(m);
  }
  checkFatal(run);
  if (run.impl === "ha-vip" && run.options.statusEndpoint !== false) {
    out.problems.push(...await crossCheckStatus(run, out.statuses));
  }
  await run.options.beforeTeardown?.({
    topo,
    holder: currentHolder(run)?.host.name ?? null,
  });
  run.say("lab", "done; stopping everything");
  run.closing = true;
  prober.kill("SIGTERM");
  await within(prober.status, 3000, "").catch(() => {}); // killed anyway
}

/** Runs the scenario; see the module docs. */
export async function runScenario(
  options: ScenarioOptions = {},
): Promise<ScenarioResult> {
  const impl = options.implementation ?? "ha-vip";
  const timing = scenarioTiming(impl, options);
  const events = options.events ??
    (timing.election === "lease"
      ? defaultLeaseEvents()
      : defaultEvents(options.nodes ?? 3));
  const repoRoot = options.repoRoot ??
    new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const started = nowMs();
  const timeline: TimelineEntry[] = [];
  const lockFlag = await cacheForNamespaces(
    repoRoot,
    namespaceEntries(repoRoot, impl),
    (text) => options.onTimeline?.({ atMs: 0, source: "lab", text }),
  );
  const ownLogDir = options.logDir === undefined;
  const topo = await createTopology({
    nodes: options.nodes ?? 3,
    family: options.family,
    logDir: options.logDir,
    removeLogDir: ownLogDir && !options.keepLogs,
  });
  const say: Say = (source, text, at = nowMs()) => {
    const e = { atMs: Math.max(0, topo.rel(at)), source, text };
    timeline.push(e);
    options.onTimeline?.(e);
  };
  const run: Run = {
    ...timing,
    impl,
    options,
    topo,
    nodes: newNodes(topo),
    client: new ClientView(),
    driver: createDriver(impl, topo, repoRoot, {
      lockFlag,
      timing,
      options,
      say,
    }),
    say,
    vipGained: new Map(),
    vipLost: new Map(),
    fatal: null,
    closing: false,
    stressed: false,
  };
  const out: Collected = { measurements: [], statuses: {}, problems: [] };
  try {
    await play(run, events, out);
  } finally {
    run.closing = true;
    await topo.teardown();
  }
  return {
    implementation: impl,
    election: timing.election,
    ...(timing.election === "lease"
      ? { lease: options.lease ?? DEFAULT_LEASE }
      : {}),
    nodes: topo.nodes.length,
    advertIntervalMs: timing.A,
    vip: topo.vipCidr,
    events: out.measurements,
    ok: out.measurements.length === events.length &&
      out.measurements.every((m) => m.ok) && out.problems.length === 0,
    logDir: ownLogDir && !options.keepLogs ? null : topo.logDir,
    timeline,
    durationMs: nowMs() - started,
    statuses: out.statuses,
    problems: out.problems,
  };
}
