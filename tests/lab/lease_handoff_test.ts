/**
 * `ha-vip handoff` in lease mode on the lab network: three nodes running
 * `ha-vip run --mode lease` against simulated API servers sharing one
 * store, a client probing the VIP every 5 ms, the real `ha-vip handoff`
 * command against each daemon's control socket.
 *
 * - handoff on the holder: exit 0, the VIP moves make-before-break (no two
 *   holders at any instant, cut-off nodes counted; the client's outage within
 *   a planned handover's bound), and the node stays out;
 * - handback (`--cancel`): nothing moves (lease mode has no preemption);
 * - both other nodes' API servers unready, handoff on the holder: nobody may
 *   take over, so the holder takes its Lease back: exit 1, and the VIP never
 *   leaves its interface (no client request lost at all).
 *
 * Timing: 5 s / 3 s / 1 s, where the take-back has the least room (2.5 s
 * after the release, the VIP's fenced lifetime being 3 s). Needs root;
 * skips with one line otherwise.
 */
import assert from "node:assert/strict";
import {
  defaultBounds,
  type EventMeasurement,
  fmtS,
  formatEvent,
  formatTimeline,
  runScenario,
  type ScenarioResult,
  type TimelineEntry,
} from "../../lab/mod.ts";
import { skipUnlessRoot } from "../../testing/mod.ts";

const ignore = skipUnlessRoot("lab lease-mode handoff tests");

const LEASE = { durationMs: 5000, renewDeadlineMs: 3000, retryPeriodMs: 1000 };
const W = 1000;
const H = 500;
const T = 400;
/**
 * Watching after an `unready`: long enough for that node's stable verdict to
 * have turned (stability window + two health intervals + a probe timeout),
 * so the handoff that follows finds nobody eligible.
 */
const VERDICT_MS = W + 2 * H + T + 1000;

Deno.test({
  name:
    "lease mode: ha-vip handoff moves the VIP make-before-break with zero overlap; with nobody to take over, the holder keeps it without a gap",
  ignore,
  async fn() {
    const logDir = await Deno.makeTempDir({ prefix: "ha-vip-lease-hand-" });
    const timeline: TimelineEntry[] = [];
    let result: ScenarioResult | null = null;
    const failures: string[] = [];
    try {
      result = await runScenario({
        election: "lease",
        lease: LEASE,
        stabilityWindowMs: W,
        healthIntervalMs: H,
        extraArgs: ["--health-timeout", `${T}ms`],
        events: [
          { kind: "steady" },
          { kind: "handoff" },
          { kind: "handback" },
          { kind: "unready", node: "backup", holdMs: VERDICT_MS },
          { kind: "unready", node: "backup", holdMs: VERDICT_MS },
          { kind: "handoff" },
        ],
        logDir,
        onTimeline: (e) => timeline.push(e),
      });
      const L = 3000; // the fenced lifetime at 5 s
      const handoffs = result.events.filter((m) => m.kind === "handoff");
      assert.equal(handoffs.length, 2);
      for (const m of result.events) failures.push(...check(m, L));
      const [moved, kept] = handoffs;
      if (
        moved.holderBefore === null ||
        moved.holdersAfter[0] === moved.holderBefore
      ) {
        failures.push(
          `the first handoff did not move the VIP: ${formatEvent(moved)}`,
        );
      }
      if (kept.holdersAfter.join() !== kept.holderBefore) {
        failures.push(`the take-back lost the VIP: ${formatEvent(kept)}`);
      }
      // The VIP never left the holder's interface (ip monitor: not removed
      // and added again), and no request of the client went unanswered
      // (a loaded machine may still delay a few replies).
      if (kept.vipGains !== 0) {
        failures.push(
          `the take-back removed and re-added the VIP: ${formatEvent(kept)}`,
        );
      }
      const lost = kept.gaps.filter((g) => g.lost !== 0);
      if (lost.length > 0) {
        failures.push(
          `the take-back lost client requests: ${JSON.stringify(lost)}`,
        );
      }
    } catch (err) {
      failures.push(
        `the scenario failed: ${err instanceof Error ? err.stack : err}`,
      );
    }
    if (failures.length > 0) {
      const lines = ["timeline:", ...timeline.map(formatTimeline)];
      if (result) {
        lines.push("measurements:", ...result.events.map(formatEvent));
      }
      lines.push(`logs kept in ${logDir}`);
      assert.fail(`${failures.join("\n")}\n${lines.join("\n")}`);
    }
    if (Deno.env.get("HV_LAB_TIMELINE")) {
      console.log(result!.events.map(formatEvent).join("\n"));
    }
    await Deno.remove(logDir, { recursive: true });
  },
});

/** Everything wrong with one event's measurement. */
function check(m: EventMeasurement, L: number): string[] {
  const out: string[] = [];
  const bad = (text: string) => out.push(`#${m.index} ${m.kind}: ${text}`);
  if (m.dualHolderAnyMs > 0) {
    bad(`two holders (cut-off nodes counted) for ${fmtS(m.dualHolderAnyMs)}`);
  }
  if (!m.settled) bad("did not settle (one holder, client on it, replies)");
  if (m.holdersAfter.length !== 1) {
    bad(`holders afterwards [${m.holdersAfter.join(", ")}]`);
  }
  const b = defaultBounds("ha-vip", m.kind, {
    A: 1000,
    W,
    H,
    L,
    lease: {
      D: LEASE.durationMs,
      R: LEASE.renewDeadlineMs,
      P: LEASE.retryPeriodMs,
    },
  });
  if (b.maxGapMs !== undefined && m.longestGapMs > b.maxGapMs) {
    bad(`client outage ${fmtS(m.longestGapMs)} > ${fmtS(b.maxGapMs)}`);
  }
  return out;
}
