/**
 * Failover end to end: three nodes running the real `ha-vip run` against
 * simulated API servers, a client probing the VIP, and the lab's whole
 * script in one scenario (steady state, crash, restart, unready, ready,
 * planned stop, start, cut link, restore, partition, heal). After every event exactly one
 * healthy node holds the VIP, within a bound derived from the configured
 * timers, and the client's neighbour entry points at it.
 *
 * Bounds (A advert interval, W stability window, H health interval, T health
 * timeout, L VIP lifetime, skew(p) = (256 − p) / 256 × A):
 *
 * - crash, cut: takeover ≤ 3A + skew(backup) + MARGIN (RFC 5798 master-down
 *   timer, counted from the last advertisement, which precedes the event);
 * - stop (SIGTERM): takeover ≤ skew(backup) + MARGIN (priority 0), no
 *   client gap;
 * - unready: the verdict turns after at most H (next probe) + T (its
 *   duration) + W + H (the window ends between two samples), then priority
 *   0 and skew(backup); make-before-break, so no client gap;
 * - ready, restart, start, restore: the node becomes eligible (health as
 *   above, or process start-up, or the link poll), then its master-down
 *   timer runs out and it preempts: + 3A + skew(own) + MARGIN; no gap;
 * - partition (carrier kept, so node1 stays master on its side): for the
 *   client as a cut; heal: the two masters meet, node1 wins and the loser
 *   re-announces, so the client is dark for at most A + HEAL_MARGIN and two
 *   connected holders last until the first advertisement crosses (≤ A);
 * - crash: the dead node's VIP is gone by itself within L + 1 s (the
 *   kernel checks lifetimes with 1 s granularity) + MARGIN, and the only
 *   time with two holders is that leftover;
 * - every handover: two connected holders for at most DUAL_MS.
 *
 * A failure's message carries the timeline and every measurement (so the
 * diagnosis sits next to the failure in a CI log) and names the kept log
 * directory. HV_LAB_TIMELINE=1 prints the same report for a passing run.
 * Needs root; skips with one line otherwise.
 */
import assert from "node:assert/strict";
import { skipUnlessRoot } from "../../testing/mod.ts";
import {
  type EventKind,
  type EventMeasurement,
  fmtS,
  formatEvent,
  formatTimeline,
  priorityOf,
  runScenario,
  type ScenarioEvent,
  type ScenarioResult,
  type TimelineEntry,
} from "../../lab/mod.ts";

const ignore = skipUnlessRoot("lab failover tests");

// --- Timers -------------------------------------------------------------------

/** Advert interval: short, since every bound below scales with it. */
const A = 250;
/** Stability window and health interval/timeout of the daemons. */
const W = 1000;
const H = 500;
const T = 400;
/**
 * VIP lifetime, whole seconds. Set explicitly (not the daemon's default)
 * so the expiry bound is known; 3 s leaves two 1 s lifetime refreshes of
 * slack, so a busy CI runner never loses the VIP on a live master.
 */
const L = 3000;
/** The kernel deletes expired addresses from a timer with 1 s granularity. */
const KERNEL_LIFETIME_GRANULARITY = 1000;
/**
 * How late ha-vip may notice a link change: it hears them as netlink
 * notifications (the 10 s resync is only for a lost one); this is the old
 * poll's period, kept as a generous bound.
 */
const LINK_POLL_MS = 500;
/**
 * Scheduling margin on every bound: the daemon noticing an event (ha-vip
 * acts on a signal or a health verdict within one receive slice, at most
 * 50 ms), Deno timers and process scheduling on a
 * loaded CI runner, and the `ip monitor` stamps the lab measures with.
 */
const MARGIN = 500;
/**
 * A daemon process starting: Deno loading main.ts from the cache (measured
 * 70-200 ms) on a loaded runner.
 */
const STARTUP = 3000;
/**
 * Two connected holders during a make-before-break handover: the new
 * master adds the VIP, the old one removes it when the advertisement
 * arrives. Measured 0-11 ms (two CPU hogs included), partly `ip monitor`
 * stamping jitter; 50 ms leaves room for a loaded runner and is a fifth of
 * an interval.
 */
const DUAL_MS = 50;
/**
 * "No client-visible gap". The prober sends an ICMP echo every 5 ms and
 * reports an outage only when replies stop for more than 30 ms. A
 * make-before-break handover loses at most the one or two probes in flight
 * while the client's neighbour entry switches: no outage at all. But a
 * loaded runner delays replies by itself: with two CPU hogs on two cores
 * the prober reported 47-54 ms "outages" with no probe lost and no
 * handover near. 100 ms absorbs that, and stays below what a
 * break-before-make handover costs at the least (node2's Skew_Time, 152 ms:
 * the VIP is gone from the priority-0 advertisement until the backup's
 * takeover; checked below), so such a regression still fails.
 */
const NO_GAP_MS = 100;

const skew = (priority: number) => ((256 - priority) * A) / 256;
const masterDown = (priority: number) => 3 * A + skew(priority);
/** From an API server change until the node's stable verdict follows it. */
const healthTurn = H + T + W + H;

const P1 = priorityOf(0); // node1
const P2 = priorityOf(1); // node2
if (NO_GAP_MS >= skew(P2)) {
  throw new Error("NO_GAP_MS would not catch a break-before-make handover");
}

interface Expectation {
  /** Who must hold the VIP afterwards. */
  holder: string;
  /** Upper bound on the takeover, ms from the event (null: no change). */
  maxTakeoverMs: number | null;
  /** Upper bound on the client's longest outage, ms. */
  maxGapMs: number;
}

/**
 * node1 (150) is the victim throughout; node2 (100) is the backup. Partial:
 * the lab may know more event kinds than this script plays.
 */
const expectations: Partial<Record<EventKind, Expectation>> = {
  steady: { holder: "node1", maxTakeoverMs: null, maxGapMs: NO_GAP_MS },
  crash: {
    holder: "node2",
    maxTakeoverMs: masterDown(P2) + MARGIN,
    // node1's kernel keeps answering until the VIP expires: at most the
    // takeover time without replies.
    maxGapMs: masterDown(P2) + MARGIN,
  },
  restart: {
    holder: "node1",
    maxTakeoverMs: STARTUP + W + H + T + masterDown(P1) + MARGIN,
    maxGapMs: NO_GAP_MS,
  },
  unready: {
    holder: "node2",
    maxTakeoverMs: healthTurn + skew(P2) + MARGIN,
    maxGapMs: NO_GAP_MS,
  },
  ready: {
    holder: "node1",
    maxTakeoverMs: healthTurn + masterDown(P1) + MARGIN,
    maxGapMs: NO_GAP_MS,
  },
  stop: {
    holder: "node2",
    maxTakeoverMs: skew(P2) + MARGIN,
    maxGapMs: NO_GAP_MS,
  },
  start: {
    holder: "node1",
    maxTakeoverMs: STARTUP + W + H + T + masterDown(P1) + MARGIN,
    maxGapMs: NO_GAP_MS,
  },
  cut: {
    holder: "node2",
    maxTakeoverMs: masterDown(P2) + MARGIN,
    // From the cut until node2's gratuitous ARP.
    maxGapMs: masterDown(P2) + MARGIN,
  },
  restore: {
    holder: "node1",
    maxTakeoverMs: LINK_POLL_MS + masterDown(P1) + MARGIN,
    maxGapMs: NO_GAP_MS,
  },
};

/** The bar for a healed partition: at most one advert interval, plus the lab's 250 ms. */
const HEAL_MARGIN = 250;
expectations.partition = {
  holder: "node2",
  maxTakeoverMs: masterDown(P2) + MARGIN,
  maxGapMs: masterDown(P2) + MARGIN,
};
expectations.heal = {
  holder: "node1",
  maxTakeoverMs: null,
  maxGapMs: A + HEAL_MARGIN,
};

const EVENTS: ScenarioEvent[] = [
  { kind: "steady", holdMs: 2000 },
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
];

/** Everything wrong with one event's measurement, by our bounds. */
function check(m: EventMeasurement): string[] {
  const out: string[] = [];
  const bad = (text: string) => out.push(`#${m.index} ${m.kind}: ${text}`);
  const e = expectations[m.kind];
  if (!e) {
    bad("no expectation for this kind of event");
    return out;
  }
  if (m.expectedHolder !== e.holder) {
    bad(`the lab expected ${m.expectedHolder}, this test ${e.holder}`);
  }
  if (!m.settled) bad("did not settle (one holder, client on it, replies)");
  if (m.holdersAfter.length !== 1 || m.holdersAfter[0] !== e.holder) {
    bad(`holders afterwards [${m.holdersAfter.join(", ")}], not ${e.holder}`);
  }
  if (m.clientSwitchMs === null) {
    bad(`the client's neighbour entry never pointed at ${e.holder}`);
  }
  if (e.maxTakeoverMs !== null) {
    if (m.takeoverMs === null) bad(`${e.holder} never added the VIP`);
    else if (m.takeoverMs > e.maxTakeoverMs) {
      bad(`takeover ${fmtS(m.takeoverMs)} > bound ${fmtS(e.maxTakeoverMs)}`);
    }
  }
  if (m.longestGapMs > e.maxGapMs) {
    bad(`client outage ${fmtS(m.longestGapMs)} > bound ${fmtS(e.maxGapMs)}`);
  }
  if (m.kind === "crash") {
    const expiryBound = L + KERNEL_LIFETIME_GRANULARITY + MARGIN;
    if (m.vipExpiredMs === undefined || m.vipExpiredMs === null) {
      bad("the crashed node's VIP never went away by itself");
    } else {
      if (m.vipExpiredMs > expiryBound) {
        bad(
          `the crashed node's VIP outlived it by ${
            fmtS(m.vipExpiredMs)
          } > bound ${fmtS(expiryBound)}`,
        );
      }
      // Two holders only while the dead node's VIP had not expired yet.
      const leftover = Math.max(0, m.vipExpiredMs - (m.takeoverMs ?? 0));
      if (m.dualHolderMs > leftover + DUAL_MS) {
        bad(
          `two holders for ${
            fmtS(m.dualHolderMs)
          }, more than the dead node's leftover ${
            fmtS(leftover)
          } + ${DUAL_MS} ms`,
        );
      }
    }
  } else {
    // A heal has two masters by nature until the first advert crosses.
    const maxDual = m.kind === "steady"
      ? 0
      : m.kind === "heal"
      ? A + MARGIN
      : DUAL_MS;
    if (m.dualHolderMs > maxDual) {
      bad(`two connected holders for ${fmtS(m.dualHolderMs)} > ${maxDual} ms`);
    }
  }
  // The lab's own verdict (m.problems) is in the report but not asserted:
  // its steady-state bound is "no gap at all", which a loaded runner's
  // late replies can break without any handover (see NO_GAP_MS).
  return out;
}

function report(
  r: ScenarioResult | null,
  timeline: TimelineEntry[],
  logDir: string | null,
): string {
  const lines = [
    `timers: A ${A} ms, W ${W} ms, H ${H} ms, T ${T} ms, L ${L} ms, margin ${MARGIN} ms`,
    "timeline:",
    ...timeline.map(formatTimeline),
  ];
  if (r) {
    lines.push("measurements:", ...r.events.map(formatEvent));
    lines.push(JSON.stringify(r.events));
    if (r.problems.length) lines.push(`end of run: ${r.problems.join("; ")}`);
  }
  if (logDir) lines.push(`logs kept in ${logDir}`);
  return lines.join("\n");
}

/** Runs the whole script and asserts every event's bounds. */
async function failover(o: { family: 4 | 6; extraArgs?: string[] }) {
  const logDir = await Deno.makeTempDir({ prefix: "ha-vip-failover-" });
  const timeline: TimelineEntry[] = [];
  let result: ScenarioResult | null = null;
  const failures: string[] = [];
  try {
    result = await runScenario({
      implementation: "ha-vip",
      nodes: 3,
      family: o.family,
      advertIntervalMs: A,
      stabilityWindowMs: W,
      healthIntervalMs: H,
      vipLifetimeMs: L,
      extraArgs: ["--health-timeout", `${T}ms`, ...(o.extraArgs ?? [])],
      events: EVENTS,
      logDir,
      onTimeline: (e) => timeline.push(e),
    });
    failures.push(...result.events.flatMap(check));
    if (result.events.length !== EVENTS.length) {
      failures.push(
        `only ${result.events.length} of ${EVENTS.length} events measured`,
      );
    }
    failures.push(...result.problems.map((p) => `end of run: ${p}`));
  } catch (err) {
    failures.push(`the scenario failed: ${(err as Error)?.stack ?? err}`);
  }
  if (failures.length === 0) {
    // HV_LAB_TIMELINE=1 prints the report of a passing run.
    if (Deno.env.get("HV_LAB_TIMELINE")) {
      console.log(report(result, timeline, null));
    }
    await Deno.remove(logDir, { recursive: true }).catch(() => {});
    return;
  }
  // The diagnosis travels in the error message, next to the failure.
  assert.fail(
    `${failures.join("\n")}\n\n${report(result, timeline, logDir)}`,
  );
}

Deno.test({
  name:
    "failover: one holder after crash, restart, unready, ready, stop, start, cut and restore, within the timers",
  ignore,
  fn: () => failover({ family: 4 }),
});

Deno.test({
  name:
    "failover over IPv6 (VRRP from link-local sources, client by ICMPv6/NDP): the same bounds",
  ignore,
  fn: () => failover({ family: 6 }),
});

Deno.test({
  name:
    "failover with authenticated adverts (auth_hmac, enforce): the same bounds as without",
  ignore,
  async fn() {
    // The same key file for every node (they share the file system).
    const key = await Deno.makeTempFile({ prefix: "ha-vip-lab-key-" });
    try {
      await Deno.writeTextFile(key, `hex:${"3c".repeat(32)}\n`);
      await Deno.chmod(key, 0o600);
      await failover({ family: 4, extraArgs: ["--auth-key", `1:${key}`] });
    } finally {
      await Deno.remove(key);
    }
  },
});
