/**
 * VRRP mode, a partitioned minority master (issue 10): the holder is cut off
 * the switch with its carrier up, so it hears nobody and stays master on its
 * own side while the majority elects another; but its API server's store
 * (etcd) is on the other side, so its `/readyz` fails `etcd`, its stable
 * health verdict turns, and it gives the VIP up on its side. That step-down
 * is what keeps a minority master from serving clients it can still reach
 * with an API server that cannot write.
 *
 * Asserted, with bounds from the timers (never from a wall-clock guess):
 * - the isolated node held the VIP when cut off, and kept carrier;
 * - its API server lost the store within the simulated server's own timers;
 * - it removed the VIP on its side no sooner than the stability window after
 *   that (the verdict, not anything else, caused it), and no later than a
 *   failing health sample + the window + a sample + the leave timeout of a
 *   yielding master that hears no successor (+ 1 s for the processes);
 * - the majority side took over as VRRP does (the scenario's own bounds).
 *
 * No heal: that is failover_test.ts's, and its neighbour re-resolution can
 * take tens of seconds. Needs root; skips with one line otherwise.
 */
import assert from "node:assert/strict";
import {
  fmtS,
  formatEvent,
  formatTimeline,
  masterDownMs,
  runScenario,
  type ScenarioResult,
  type TimelineEntry,
} from "../../lab/mod.ts";
import { skipUnlessRoot } from "../../testing/mod.ts";

const ignore = skipUnlessRoot("lab minority step-down test");

/** Advert interval (short: the leave timeout is about 4 of them). */
const A = 500;
/** Stability window, health interval and probe timeout of ha-vip. */
const W = 1000;
const H = 500;
const T = 400;
/** Process scheduling, netlink, GARP: the lab's usual second of slack. */
const SLACK = 1000;

/**
 * The simulated API server's store watch (testing/api_store.ts
 * `watchStoreHealth`, as the lab runs it): a ping every 250 ms that times out
 * after 2 × 250 ms; failing pings retried 100 ms after each timeout; `etcd`
 * fails once the store has been unreachable for 2000 ms (kube-apiserver's
 * etcd health-check timeout).
 */
const PING_MS = 250;
const PING_TIMEOUT_MS = 2 * PING_MS;
const UNREADY_AFTER_MS = 2000;
const STORE_LOST_MAX_MS = PING_MS + PING_TIMEOUT_MS + UNREADY_AFTER_MS +
  (PING_TIMEOUT_MS + 100) + SLACK;

/**
 * From the store loss to the VIP's removal on the isolated side: the next
 * health sample sees `/readyz` fail (≤ H + T), the verdict turns at the first
 * sample at or after the window (≤ W + H + T), the master yields (priority
 * 0, keeping the VIP for a successor) and, hearing none, removes it after
 * the leave timeout (the longest Master_Down_Interval, priority 1).
 */
const STEP_DOWN_MAX_MS = (H + T) + (W + H + T) + masterDownMs(1, A) + SLACK;

Deno.test({
  name:
    "VRRP: a partitioned minority master steps down on its side because its own API server turns unready",
  ignore,
  async fn() {
    const logDir = await Deno.makeTempDir({ prefix: "ha-vip-minority-" });
    const timeline: TimelineEntry[] = [];
    let result: ScenarioResult | null = null;
    const failures: string[] = [];
    try {
      result = await runScenario({
        advertIntervalMs: A,
        stabilityWindowMs: W,
        healthIntervalMs: H,
        extraArgs: ["--health-timeout", `${T}ms`],
        events: [
          { kind: "steady" },
          // Watched for as long as the step-down may take after the store loss.
          {
            kind: "partition",
            holdMs: STORE_LOST_MAX_MS + STEP_DOWN_MAX_MS,
          },
        ],
        randomHealPhase: false,
        logDir,
        onTimeline: (e) => timeline.push(e),
      });
      for (const m of result.events) {
        if (!m.ok) failures.push(`#${m.index} ${m.kind}: ${m.problems}`);
      }
      const p = result.events.find((m) => m.kind === "partition");
      assert.ok(p, "no partition event measured");
      if (p.isolatedCarrier !== true) {
        failures.push("the isolated node lost carrier");
      }
      if (p.isolatedHoldMs !== 0) {
        failures.push(
          `the isolated node did not hold the VIP when cut off (${p.isolatedHoldMs})`,
        );
      }
      const lost = p.isolatedStoreLostMs;
      const down = p.isolatedStepDownMs;
      if (lost === null || lost === undefined) {
        failures.push("its API server never lost the store");
      } else if (lost > STORE_LOST_MAX_MS) {
        failures.push(
          `its API server lost the store after ${fmtS(lost)} > ${
            fmtS(STORE_LOST_MAX_MS)
          }`,
        );
      }
      if (down === null || down === undefined) {
        failures.push("it never stepped down on its side");
      } else if (lost !== null && lost !== undefined) {
        if (down < lost + W) {
          failures.push(
            `stepped down ${
              fmtS(down - lost)
            } after the store loss: sooner than the stability window (${
              fmtS(W)
            }), so not because of it`,
          );
        }
        if (down > lost + STEP_DOWN_MAX_MS) {
          failures.push(
            `stepped down ${fmtS(down - lost)} after the store loss > ${
              fmtS(STEP_DOWN_MAX_MS)
            }`,
          );
        }
      }
      if (
        !p.notes.some((n) =>
          /stepped down on its side after .*turned unready/.test(n)
        )
      ) {
        failures.push(
          `the lab did not report the step-down: ${p.notes.join("; ")}`,
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
