/**
 * Measurement: after an event has settled, hold the window open, then
 * compute what the event did (client outages, two holders, takeover and
 * switch times, a crashed node's VIP expiry, steady-state resources) and
 * judge it against the bounds derived from the timers.
 *
 * @module
 */

import type { NodeState } from "./daemons.ts";
import type { FaultAction, IsolatedView } from "./faults.ts";
import {
  clockTicks,
  cpuPercent,
  cpuPercentSched,
  type ResourceUsage,
  sampleTree,
  type TreeSample,
} from "./resources.ts";
import {
  byName,
  connectedHolders,
  nameOfMac,
  type Run,
  SETTLE_STABLE_MS,
  settleTimeout,
} from "./run.ts";
import type {
  Bounds,
  EventKind,
  EventMeasurement,
  Implementation,
  ScenarioEvent,
} from "./scenario_types.ts";
import { nowMs } from "./topology.ts";
import { fmtS, sleep } from "./util.ts";
import { clip, dualTimes, subtract, total } from "./vip_watch.ts";

/** Client silence this long before the event still counts as its outage. */
const GAP_TAIL_MS = 100;

/**
 * The bounds an event kind is judged by, from the timing parameters.
 * `onHolder: false` (cut or partition of a node that did not hold the
 * VIP) expects no client outage at all.
 */
export function defaultBounds(
  impl: Implementation,
  kind: EventKind,
  p: {
    A: number;
    W: number;
    H: number;
    L: number;
    onHolder?: boolean;
    /** Lease mode's duration, renew deadline and retry period (absent: VRRP). */
    lease?: { D: number; R: number; P: number };
  },
): Bounds {
  if (impl === "ha-vip" && p.lease) {
    return leaseBounds(kind, { ...p, ...p.lease });
  }
  const { A, W, H, L } = p;
  // VRRP: a backup takes over 3 intervals + skew (< 1 interval) after the
  // last advert; a second of slack for process scheduling and GARP.
  const failover = 4 * A + 1000;
  const planned = impl === "ha-vip" ? 250 : A + 500;
  switch (kind) {
    case "steady":
      return { maxGapMs: 0, maxDualMs: 0, maxVipGains: 0 };
    case "die":
      // Nothing answers for the VIP from the SIGKILL on: the client is dark
      // until a backup takes over (3 intervals + skew) and announces.
      return {
        maxGapMs: failover + 500,
        maxTakeoverMs: failover,
        maxDualMs: 0,
      };
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
    case "revive":
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
    case "apidown":
    case "storeloss":
      // The API server's verdict turns, then priority 0 (make-before-break).
      // (Losing the store: /readyz fails etcd only after 2 s of it.)
      return impl === "ha-vip" && p.onHolder !== false
        ? { maxGapMs: planned, maxTakeoverMs: W + 2 * H + failover + 3000 }
        : { maxGapMs: 0 };
    case "apiup":
    case "storeback":
      return { maxGapMs: planned, maxDualMs: A };
    case "handoff":
    case "handback":
      // Make-before-break either way (a handback preempts as a restart).
      return { maxGapMs: planned, maxDualMs: A };
  }
}

/**
 * Lease mode (D duration, R renew deadline, P retry period): never two
 * holders, in any event, counting cut-off nodes too. A holder that stops
 * renewing (crash, cut, partition, its API server or store lost) is taken
 * over D after a follower last saw it renew, which it sees on its next
 * try: at most D + 2.2 P (client-go's jitter) after the event, plus 1.5 s
 * for the processes and the network. A planned handover (SIGTERM, not
 * ready) is taken on a follower's next try (≤ 2.2 P) and costs one probe
 * round of outage. A recovery moves nothing: the holder keeps the Lease.
 */
function leaseBounds(
  kind: EventKind,
  p: { W: number; H: number; L: number; D: number; P: number },
): Bounds {
  const slack = 1500;
  const expiry = p.D + 2.2 * p.P + slack;
  const planned = 250;
  switch (kind) {
    case "steady":
      return { maxGapMs: 0, maxDualMs: 0 };
    case "crash":
      return {
        maxGapMs: expiry,
        maxTakeoverMs: expiry,
        maxDualMs: 0,
        // Its VIP outlives it by its fenced lifetime and the kernel's lateness.
        maxExpiryMs: p.L + p.P + 2500,
      };
    case "die":
    case "cut":
    case "partition":
    case "apidown":
    case "storeloss":
      return { maxGapMs: expiry, maxTakeoverMs: expiry, maxDualMs: 0 };
    case "unready":
      return {
        maxGapMs: planned,
        maxTakeoverMs: p.W + 2 * p.H + 1000 + 2.2 * p.P + slack,
        maxDualMs: 0,
      };
    case "stop":
      return {
        maxGapMs: planned,
        maxTakeoverMs: 2.2 * p.P + slack,
        maxDualMs: 0,
      };
    case "restart":
    case "start":
    case "ready":
    case "restore":
    case "heal":
    case "revive":
    case "apiup":
    case "storeback":
    case "handoff":
    case "handback":
      return { maxGapMs: planned, maxDualMs: 0 };
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

/** What each daemon cost between two samples. */
async function resourcesBetween(
  before: Map<string, TreeSample>,
  after: Map<string, TreeSample>,
): Promise<ResourceUsage[]> {
  const hz = await clockTicks();
  const resources: ResourceUsage[] = [];
  for (const [name, a] of before) {
    const b = after.get(name);
    const cpu = b ? cpuPercent(a, b, hz) : null;
    if (!b || cpu === null) continue;
    resources.push({
      node: name,
      pids: b.pids,
      names: b.names,
      rssKb: b.rssKb,
      hwmKb: b.hwmKb,
      anonKb: b.anonKb,
      cpuPercent: cpu,
      cpuPercentSched: cpuPercentSched(a, b),
      intervalMs: b.at - a.at,
    });
  }
  return resources;
}

/** The measurement window of an event, epoch ms. */
export interface EventWindow {
  /** Outages and overlaps are counted from here. */
  watchFrom: number;
  end: number;
  /** Steady state: each daemon's cost over the window. */
  resources?: ResourceUsage[];
}

/**
 * Keeps watching once the event has settled (`settledAt`, or now if it
 * did not): `holdMs` (+ a random extra for a partition, so the heal falls
 * at a random phase of the advert timers), sampling the daemons when the
 * event is the steady state.
 */
export async function holdWindow(
  run: Run,
  ev: ScenarioEvent,
  at: number,
  settledAt: number | null,
): Promise<EventWindow> {
  const stableFrom = settledAt ?? nowMs();
  const jitterMs = ev.kind === "partition" &&
      (run.options.randomHealPhase ?? true)
    ? Math.round(Math.random() * run.A)
    : 0;
  if (jitterMs > 0) {
    run.say("lab", `random phase: the partition lasts ${jitterMs} ms longer`);
  }
  const holdMs = (ev.holdMs ?? (ev.kind === "steady" ? 3000 : 1000)) +
    jitterMs;
  const watchFrom = ev.kind === "steady" ? stableFrom : at;
  const end = Math.max(nowMs(), stableFrom + SETTLE_STABLE_MS) + holdMs;
  // Steady state: what each daemon costs while nothing happens.
  const before = ev.kind === "steady" ? await sampleDaemons(run.nodes) : null;
  await sleep(Math.max(0, end - nowMs()));
  const resources = before
    ? await resourcesBetween(before, await sampleDaemons(run.nodes))
    : undefined;
  return { watchFrom, end, resources };
}

/** Everything known about an event when its window closes. */
export interface EventFacts {
  index: number;
  ev: ScenarioEvent;
  /** The node acted on. */
  n: NodeState;
  action: FaultAction;
  holderBefore: NodeState | null;
  holdersBefore: NodeState[];
  /** The holder the lab expected afterwards. */
  exp: NodeState | null;
  settledAt: number | null;
  /** An extra holder lingered past the settle timeout. */
  leftover: boolean;
  isolated?: IsolatedView;
  window: EventWindow;
}

/** Two holders, ms: among connected nodes, and counting cut-off ones. */
function dualHolders(run: Run, w: EventWindow) {
  const perNodeConnected = run.nodes.map((x) =>
    clip(subtract(x.watcher!.intervals, x.linkDown, w.end), w.watchFrom, w.end)
  );
  const perNodeAny = run.nodes.map((x) =>
    clip(x.watcher!.intervals, w.watchFrom, w.end)
  );
  return {
    dualHolderMs: total(dualTimes(perNodeConnected, w.end), w.end),
    dualHolderAnyMs: total(dualTimes(perNodeAny, w.end), w.end),
    arpMultiMs: total(
      clip(run.client.arpMulti(w.end), w.watchFrom, w.end),
      w.end,
    ),
  };
}

/** Takeover and client switch times from the event, ms. */
function switchTimes(run: Run, f: EventFacts) {
  const { exp, action: { at } } = f;
  const changed = exp !== null && exp !== f.holderBefore;
  const gained = exp
    ? (run.vipGained.get(exp.host.name) ?? []).find((t) => t >= at)
    : undefined;
  const switchAt = exp ? run.client.neighSwitchAt(exp.host.mac, at) : null;
  return {
    takeoverMs: changed && gained !== undefined ? gained - at : null,
    clientSwitchMs: switchAt === null ? null : Math.max(0, switchAt - at),
  };
}

/** Heal and partition: the first gratuitous ARP of the expected holder. */
function garpTime(run: Run, f: EventFacts): { garpMs?: number | null } {
  if (f.ev.kind !== "heal" && f.ev.kind !== "partition") return {};
  const g = f.exp ? run.client.garpAt(f.exp.host.mac, f.action.at) : null;
  return { garpMs: g === null ? null : g - f.action.at };
}

/** The measurement of an event (not judged yet: `problems` empty, `ok` true). */
export function measureEvent(run: Run, f: EventFacts): EventMeasurement {
  const { ev, n, exp, window: w, action: { at } } = f;
  const gaps = run.client.gapsIn(w.watchFrom - GAP_TAIL_MS, w.end).map((
    g,
  ) => ({
    startMs: run.topo.rel(g.from),
    endMs: run.topo.rel(g.to),
    ms: g.to - g.from,
    open: g.open,
    lost: g.lost,
  }));
  const m: EventMeasurement = {
    index: f.index,
    kind: ev.kind,
    node: ev.kind === "steady" ? (exp?.host.name ?? "none") : n.host.name,
    label: f.action.label,
    atMs: run.topo.rel(at),
    holderBefore: f.holderBefore?.host.name ?? null,
    holdersBefore: f.holdersBefore.map((x) => x.host.name),
    expectedHolder: exp?.host.name ?? null,
    holdersAfter: connectedHolders(run).map((x) => x.host.name),
    settled: f.settledAt !== null && !f.leftover,
    settleMs: f.settledAt === null ? null : Math.max(0, f.settledAt - at),
    ...switchTimes(run, f),
    longestGapMs: gaps.reduce((m, g) => Math.max(m, g.ms), 0),
    gaps,
    ...dualHolders(run, w),
    ...(f.isolated ?? {}),
    ...garpTime(run, f),
    ...(w.resources ? { resources: w.resources } : {}),
    vipGains:
      [...run.vipGained.values()].flat().filter((t) =>
        t >= w.watchFrom && t <= w.end
      ).length,
    windowEndMs: run.topo.rel(w.end),
    problems: [],
    notes: [...f.action.notes],
    ok: true,
  };
  if (ev.kind === "crash" && f.holderBefore === n) {
    const lost = (run.vipLost.get(n.host.name) ?? []).find((t) => t >= at);
    m.vipExpiredMs = lost === undefined ? null : lost - at;
  }
  if (ev.kind === "partition" && run.driver.healthGated && n.running) {
    Object.assign(m, isolatedStepDown(run, n, at, w.end));
  }
  return m;
}

/**
 * Partition of a health-gated node: its API server loses the store (on the
 * other side), turns unready, and the node removes the VIP on its side.
 */
function isolatedStepDown(
  run: Run,
  n: NodeState,
  at: number,
  end: number,
): { isolatedStoreLostMs: number | null; isolatedStepDownMs: number | null } {
  const lost = n.storeEvents.find((e) => !e.reachable && e.at >= at);
  const held = n.watcher!.intervals.find((i) => i.to === null || i.to >= at);
  const drop = held?.to !== null && held?.to !== undefined && held.to <= end
    ? held.to
    : (run.vipLost.get(n.host.name) ?? []).find((t) => t >= at && t <= end);
  return {
    isolatedStoreLostMs: lost && lost.at <= end ? lost.at - at : null,
    isolatedStepDownMs: drop === undefined ? null : drop - at,
  };
}

/** keepalived leaves the VIP on a crashed node: expected, noted, not a failure. */
function knownLeftover(run: Run, m: EventMeasurement): boolean {
  const deadHolders = m.holdersAfter.filter((h) => !byName(run, h).running);
  return run.impl === "keepalived" && deadHolders.length > 0 &&
    m.holdersAfter.filter((h) => byName(run, h).running).length <= 1;
}

/** Did it settle, with the expected holder alone? */
function judgeHolders(run: Run, f: EventFacts, m: EventMeasurement): void {
  const { exp } = f;
  const holdersAfter = m.holdersAfter;
  if (f.settledAt === null) {
    m.problems.push(
      `did not settle within ${fmtS(settleTimeout(run, f.ev.kind))}: expected ${
        exp?.host.name ?? "no holder"
      } alone with the client reaching it; holders ${
        holdersAfter.join(", ") || "none"
      }, client neighbour → ${nameOfMac(run, run.client.neighMac)}`,
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
    if (knownLeftover(run, m)) {
      m.notes.push(
        `${text}: keepalived leaves the VIP on a crashed node (no VIP lifetime) until it restarts`,
      );
    } else m.problems.push(text);
  } else if (f.leftover) {
    m.problems.push("an extra holder lingered past the settle timeout");
  }
}

/** Outage, takeover, two holders and expiry within the bounds? */
function judgeBounds(
  run: Run,
  f: EventFacts,
  m: EventMeasurement,
  b: Bounds,
): void {
  const changed = f.exp !== null && f.exp !== f.holderBefore;
  if (b.maxGapMs !== undefined && m.longestGapMs > b.maxGapMs) {
    m.problems.push(
      `client outage ${fmtS(m.longestGapMs)} > bound ${fmtS(b.maxGapMs)}`,
    );
  }
  if (b.maxTakeoverMs !== undefined && changed) {
    if (m.takeoverMs === null) {
      m.problems.push(`${f.exp!.host.name} never took the VIP over`);
    } else if (m.takeoverMs > b.maxTakeoverMs) {
      m.problems.push(
        `takeover ${fmtS(m.takeoverMs)} > bound ${fmtS(b.maxTakeoverMs)}`,
      );
    }
  }
  if (b.maxVipGains !== undefined && m.vipGains > b.maxVipGains) {
    m.problems.push(
      `${m.vipGains} spurious failover(s): the VIP moved ${m.vipGains} time(s) with nothing done to any node`,
    );
  }
  if (b.maxDualMs !== undefined && m.dualHolderMs > b.maxDualMs) {
    const text = `two holders for ${fmtS(m.dualHolderMs)} > bound ${
      fmtS(b.maxDualMs)
    }`;
    if (knownLeftover(run, m)) m.notes.push(text);
    else m.problems.push(text);
  }
  if (m.vipExpiredMs !== undefined && b.maxExpiryMs !== undefined) {
    if (m.vipExpiredMs === null || m.vipExpiredMs > b.maxExpiryMs) {
      m.problems.push(
        `crashed node's VIP ${
          m.vipExpiredMs === null
            ? "never expired"
            : `expired after ${fmtS(m.vipExpiredMs)}`
        } (bound ${fmtS(b.maxExpiryMs)})`,
      );
    }
  } else if (m.vipExpiredMs === null && run.impl === "keepalived") {
    m.notes.push(
      "the crashed node kept the VIP: keepalived has no self-expiring VIP",
    );
  }
}

/** Partition and heal: what the isolated node and the client did. */
function judgePartitionAndHeal(
  run: Run,
  f: EventFacts,
  m: EventMeasurement,
): void {
  const who = f.n.host.name;
  if (run.election === "lease" && m.dualHolderAnyMs > 0) {
    // Fencing: a cut-off holder's VIP is gone before anyone takes over.
    m.problems.push(
      `two holders counting cut-off nodes for ${
        fmtS(m.dualHolderAnyMs)
      }: the fenced lifetime did not end in time`,
    );
  }
  if (f.ev.kind === "partition") {
    if (m.isolatedCarrier === false) {
      m.problems.push(
        `${who} lost carrier: that is a cut link, not a partition`,
      );
    }
    if (m.isolatedHoldMs === null && f.n.running) {
      m.notes.push(
        `${who} did not hold the VIP on its own side: the heal will be no conflict of two masters`,
      );
    } else if (m.isolatedHoldMs !== undefined && run.election !== "lease") {
      m.notes.push(
        `${who} is master alone on its side (expected): two holders counting the isolated node for ${
          fmtS(m.dualHolderAnyMs)
        }`,
      );
    }
    if (m.isolatedStoreLostMs !== undefined) {
      const lost = m.isolatedStoreLostMs === null
        ? "its API server still reached the store"
        : `its API server lost the store (etcd failing) after ${
          fmtS(m.isolatedStoreLostMs)
        }`;
      const why = run.election === "lease"
        ? "so it could not renew the Lease and gave the VIP up (renew_deadline), before anyone took over"
        : "so it turned unready (the minority side of the partition)";
      m.notes.push(
        m.isolatedStepDownMs === null || m.isolatedStepDownMs === undefined
          ? `${who}: ${lost}; it still held the VIP on its side when the window ended (the partition was shorter than the step-down)`
          : `${who} stepped down on its side after ${
            fmtS(m.isolatedStepDownMs)
          }: ${lost}, ${why}`,
      );
    }
  }
  if (f.ev.kind !== "heal") return;
  const limit = run.A + 250;
  const exp = f.exp;
  const garp = m.garpMs === undefined || m.garpMs === null
    ? `no gratuitous ARP from ${exp?.host.name ?? "the holder"}`
    : `first gratuitous ARP from ${exp?.host.name} after ${fmtS(m.garpMs)}`;
  if (f.holderBefore !== exp) {
    // The client still pointed at the loser.
    m.notes.push(`client dark ${fmtS(m.longestGapMs)} after the heal; ${garp}`);
  }
  if (run.impl === "keepalived" && m.longestGapMs > limit) {
    m.notes.push(
      `keepalived exceeds one advert interval (${
        fmtS(limit)
      }): a winner that never hears the loser sends no gratuitous ARP, and the client waits for its neighbour entry to re-resolve`,
    );
  }
}

/** Judges `m` against the event's bounds; sets `problems`, `notes`, `ok`. */
export function judgeEvent(run: Run, f: EventFacts, m: EventMeasurement): void {
  const b: Bounds = {
    ...defaultBounds(run.impl, f.ev.kind, {
      A: run.A,
      W: run.W,
      H: run.H,
      L: run.L,
      lease: run.election === "lease"
        ? { D: run.D, R: run.R, P: run.P }
        : undefined,
      onHolder: f.holderBefore === f.n,
    }),
    ...run.options.bounds?.[f.ev.kind],
  };
  judgeHolders(run, f, m);
  judgeBounds(run, f, m, b);
  judgePartitionAndHeal(run, f, m);
  m.ok = m.problems.length === 0;
}
