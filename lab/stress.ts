/**
 * Adverse conditions for the soak (issue 12): what a real control plane
 * sees at its worst, played on the lab while nothing else happens, so that
 * any VIP move is a false alarm.
 *
 * - **Packet loss**: P % of the frames crossing the switch dropped at random
 *   (an nftables rule in the switch namespace; see `Topology.setLoss`), so
 *   each frame across the bridge, adverts included, is lost with probability P.
 * - **Saturated CPUs**: one busy loop per core (`sh -c 'while :; do :;
 *   done'`), at the daemons' own priority, so every wake-up of a daemon
 *   waits for a scheduler slot.
 * - **GC pressure**: each node's `/metrics` and `/status` scraped every
 *   `scrapeIntervalMs`, so the daemon allocates and collects all the time
 *   (the bench adds V8's `--stress-scavenge` / `--stress-compaction` to
 *   the daemons' flags for more frequent and longer collections). No debug
 *   hook in the product: the pressure comes from outside, as in real life.
 *
 * Every process is started in one of the lab's namespaces and every qdisc
 * lives in the switch namespace, so the lab's teardown removes it all.
 *
 * @module
 */

import type { NodeState } from "./daemons.ts";
import { STATUS_PORT } from "./daemons.ts";
import type { Topology } from "./topology.ts";

/** What to inflict once the first election has settled. */
export interface StressOptions {
  /** Random loss on every switch port, percent (0 = none). */
  lossPercent?: number;
  /** Busy loops (default: none; the soak uses one per core). */
  cpuHogs?: number;
  /** Scrape each node's /metrics and /status this often, ms (0 = never). */
  scrapeIntervalMs?: number;
}

/** One line saying what {@link applyStress} did. */
export function describeStress(o: StressOptions): string {
  const parts = [];
  if (o.lossPercent) parts.push(`${o.lossPercent} % packet loss on the bridge`);
  if (o.cpuHogs) parts.push(`${o.cpuHogs} busy loop(s) saturating the CPUs`);
  if (o.scrapeIntervalMs) {
    parts.push(`/metrics and /status scraped every ${o.scrapeIntervalMs} ms`);
  }
  return parts.join(", ") || "no stress";
}

/** Applies `o` to the running lab (ha-vip nodes need their status endpoint for scrapes). */
export async function applyStress(
  topo: Topology,
  nodes: NodeState[],
  o: StressOptions,
): Promise<void> {
  if (o.lossPercent) await topo.setLoss(o.lossPercent);
  // In the client's namespace: teardown kills whatever runs in ours.
  const client = topo.client;
  for (let i = 0; i < (o.cpuHogs ?? 0); i++) {
    topo.spawn(client.netns, `cpu-hog-${i + 1}`, [
      "sh",
      "-c",
      "while :; do :; done",
    ]);
  }
  if (o.scrapeIntervalMs) {
    const code = `for (;;) {
  for (const p of ["metrics", "status"]) {
    try { await (await fetch("http://127.0.0.1:${STATUS_PORT}/" + p)).text(); } catch { /* restarting */ }
  }
  await new Promise((r) => setTimeout(r, ${o.scrapeIntervalMs}));
}`;
    for (const n of nodes) {
      topo.spawn(n.host.netns, `${n.host.name}-scraper`, [
        Deno.execPath(),
        "eval",
        "--no-config",
        "--quiet",
        code,
      ], { env: { DENO_NO_UPDATE_CHECK: "1" } });
    }
  }
}
