/**
 * Lease mode end to end: three nodes running the real `ha-vip run --mode
 * lease` against simulated API servers that share one store, a client
 * probing the VIP, and lease mode's whole script: steady state, crash,
 * restart, unready, ready, stop, start, cut, restore, partition, heal, the
 * holder's API server process killed and started, its store lost and back.
 *
 * What must hold in every event: never two nodes with the VIP at once
 * (`ip monitor` stamps, cut-off nodes counted too), the event settles with
 * one holder the client reaches, a holder that stops renewing is taken
 * over within client-go's D + 2.2 P (+ slack), a planned handover within
 * 2.2 P with at most one probe round of outage. And at the end a real
 * kubectl, in a node's namespace, reads the Lease the holder holds.
 *
 * Timing: 5 s / 3 s / 1 s (the fast profile) so the script takes about two
 * minutes. Needs root; skips with one line otherwise.
 */
import assert from "node:assert/strict";
import {
  defaultBounds,
  defaultLeaseEvents,
  type EventMeasurement,
  fmtS,
  formatEvent,
  formatTimeline,
  labKubeconfig,
  runScenario,
  type ScenarioResult,
  type TimelineEntry,
} from "../../lab/mod.ts";
import { installed, skipUnlessRoot } from "../../testing/mod.ts";

const ignore = skipUnlessRoot("lab lease-mode tests");

const LEASE = { durationMs: 5000, renewDeadlineMs: 3000, retryPeriodMs: 1000 };
const W = 1000;
const H = 500;
const T = 400;

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
  if (b.maxTakeoverMs !== undefined && m.takeoverMs !== null) {
    if (m.takeoverMs > b.maxTakeoverMs) {
      bad(`takeover ${fmtS(m.takeoverMs)} > bound ${fmtS(b.maxTakeoverMs)}`);
    }
  }
  // Planned handovers: one probe round (a loaded machine adds its hiccups).
  if ((m.kind === "stop" || m.kind === "unready") && m.longestGapMs > 250) {
    bad(`planned handover left the client dark ${fmtS(m.longestGapMs)}`);
  }
  if (m.kind === "crash" && b.maxExpiryMs !== undefined) {
    if (m.vipExpiredMs == null || m.vipExpiredMs > b.maxExpiryMs) {
      bad(`the crashed node's VIP expired after ${m.vipExpiredMs} ms`);
    }
  }
  return out;
}

function report(
  r: ScenarioResult | null,
  timeline: TimelineEntry[],
  logDir: string,
): string {
  const lines = ["timeline:", ...timeline.map(formatTimeline)];
  if (r) lines.push("measurements:", ...r.events.map(formatEvent));
  lines.push(`logs kept in ${logDir}`);
  return lines.join("\n");
}

Deno.test({
  name:
    "lease mode: never two holders through crash, unready, stop, cut, partition, API server death and store loss; kubectl reads the Lease",
  ignore,
  async fn() {
    const logDir = await Deno.makeTempDir({ prefix: "ha-vip-lease-lab-" });
    const timeline: TimelineEntry[] = [];
    let result: ScenarioResult | null = null;
    let lease = "";
    let holderAtEnd: string | null = null;
    const failures: string[] = [];
    try {
      result = await runScenario({
        election: "lease",
        lease: LEASE,
        stabilityWindowMs: W,
        healthIntervalMs: H,
        extraArgs: ["--health-timeout", `${T}ms`],
        events: defaultLeaseEvents(),
        logDir,
        onTimeline: (e) => timeline.push(e),
        beforeTeardown: async ({ topo, holder }) => {
          holderAtEnd = holder;
          if (!installed("kubectl")) {
            console.log(
              "SKIP the kubectl part: kubectl not installed (.ci/run installs kubernetes-client)",
            );
            return;
          }
          const config = await labKubeconfig(topo);
          const r = await topo.exec(topo.nodes[0].netns, [
            "kubectl",
            "--kubeconfig",
            config,
            "--cache-dir",
            `${topo.logDir}/kube-cache`,
            "get",
            "lease",
            "-n",
            "kube-system",
            "ha-vip",
            "-o",
            "yaml",
          ]);
          lease = r.stdout;
        },
      });
      const L = 3000; // the fenced lifetime at 5 s
      for (const m of result.events) failures.push(...check(m, L));
      if (installed("kubectl")) {
        if (!/^kind: Lease$/m.test(lease)) {
          failures.push(`kubectl printed no Lease:\n${lease}`);
        }
        if (!lease.includes(`holderIdentity: ${holderAtEnd}`)) {
          failures.push(
            `kubectl's Lease is not held by ${holderAtEnd}:\n${lease}`,
          );
        }
        if (
          !/renewTime: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"/.test(lease)
        ) {
          failures.push(`renewTime is not a six-digit MicroTime:\n${lease}`);
        }
        if (!/leaseDurationSeconds: 5$/m.test(lease)) {
          failures.push(`leaseDurationSeconds is not 5:\n${lease}`);
        }
      }
    } catch (err) {
      failures.push(
        `the scenario failed: ${err instanceof Error ? err.stack : err}`,
      );
    }
    if (failures.length > 0) {
      assert.fail(
        `${failures.join("\n")}\n${report(result, timeline, logDir)}`,
      );
    }
    await Deno.remove(logDir, { recursive: true });
  },
});
