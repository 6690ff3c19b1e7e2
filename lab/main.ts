/**
 * The ha-vip lab: `deno run -A lab/main.ts [flags]` (root).
 *
 * Builds nodes, a switch and a client in network namespaces, runs ha-vip
 * (or keepalived) on the nodes, plays crash / restart / unready API server /
 * planned stop / cut link / partition and heal, prints a live timeline and a summary per
 * event, and exits 0 when every event behaved, 1 otherwise (2: bad flags or
 * not root). Everything is removed on exit, Ctrl-C included.
 *
 * @module
 */

import { advertIntervalFlag, durationFlag, wholeNumberFlag } from "./flags.ts";
import { formatComparison, formatEvent, formatTimeline } from "./report.ts";
import {
  DEFAULT_LEASE,
  type EventKind,
  type Implementation,
  runScenario,
  type ScenarioEvent,
  type ScenarioResult,
} from "./scenario.ts";
import { cleanupStale, isRoot } from "./topology.ts";

const USAGE = `usage: deno run -A lab/main.ts [flags]     (as root)

  --nodes N               node namespaces (default 3, at most 9)
  --advert-interval D     VRRP advertisement interval (default 1s)
  --ipv6                  an IPv6 VIP: VRRP over IPv6, the client probing by ICMPv6/NDP
  --keepalived            run keepalived 2.2 instead of ha-vip
  --compare               run keepalived, then ha-vip, and print both side by side
  --mode vrrp|lease       ha-vip's election (default vrrp); lease: a Lease in the
                          shared simulated API store, and its own default script
                          (steady,crash,restart,unready,ready,stop,start,cut,
                          restore,partition,heal,apidown,apiup,storeloss,storeback)
  --lease-timing D/R/P    lease duration / renew deadline / retry period
                          (default 15s/10s/2s; e.g. 5s/3s/1s)
  --events LIST           comma-separated script (default steady,crash,restart,
                          unready,ready,stop,start,cut,restore,partition,heal,
                          partition:backup,heal); an item may name its node:
                          crash:node2, partition:backup (the node that would
                          take over), heal:previous; and how long to watch
                          after it settled: partition@15s (default 1s,
                          steady 3s). Also: apidown / apiup (the node's API
                          server process killed / started), storeloss /
                          storeback (its API server cut from the store),
                          handoff / handback (ha-vip handoff --for 10m on
                          the holder / --cancel)
  --stability-window D    ha-vip --stability-window (default 2s)
  --health-interval D     ha-vip --health-interval (default: the daemon's)
  --vip-lifetime D        ha-vip --vip-lifetime (default: the daemon's, 5s)
  --arp-interval D        client ARP probe interval, 0 = off (default 50ms)
  --verbose               every daemon log line on the timeline
  --keep-logs             keep the per-process logs (their directory is printed)
  --json                  print the measurements as JSON at the end
  --cleanup               remove namespaces left by labs that were SIGKILLed, then exit`;

const KINDS: EventKind[] = [
  "steady",
  "crash",
  "restart",
  "unready",
  "ready",
  "stop",
  "start",
  "cut",
  "restore",
  "partition",
  "heal",
  "die",
  "revive",
  "apidown",
  "apiup",
  "storeloss",
  "storeback",
  "handoff",
  "handback",
];

interface Flags {
  election: "vrrp" | "lease";
  lease?: {
    durationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  nodes: number;
  family: 4 | 6;
  advertIntervalMs: number;
  implementations: Implementation[];
  events?: ScenarioEvent[];
  stabilityWindowMs?: number;
  healthIntervalMs?: number;
  vipLifetimeMs?: number;
  arpIntervalMs: number;
  verbose: boolean;
  keepLogs: boolean;
  json: boolean;
  cleanup: boolean;
}

function parseFlags(args: string[]): Flags | string {
  const f: Flags = {
    election: "vrrp",
    nodes: 3,
    family: 4,
    advertIntervalMs: 1000,
    implementations: ["ha-vip"],
    arpIntervalMs: 50,
    verbose: false,
    keepLogs: false,
    json: false,
    cleanup: false,
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => inline ?? args[++i];
    let d: number | string;
    switch (flag) {
      case "--help":
      case "-h":
        return USAGE;
      case "--nodes":
        d = wholeNumberFlag("nodes", value(), 1, 9);
        if (typeof d === "string") return d;
        f.nodes = d;
        break;
      case "--advert-interval":
        d = advertIntervalFlag(value());
        if (typeof d === "string") return d;
        f.advertIntervalMs = d;
        break;
      case "--keepalived":
        f.implementations = ["keepalived"];
        break;
      case "--ipv6":
        f.family = 6;
        break;
      case "--compare":
        f.implementations = ["keepalived", "ha-vip"];
        break;
      case "--mode": {
        const m = value();
        if (m !== "vrrp" && m !== "lease") {
          return `--mode: ${JSON.stringify(m)} is not vrrp or lease`;
        }
        f.election = m;
        break;
      }
      case "--lease-timing": {
        const parts = (value() ?? "").split("/");
        const ms = parts.map((x, i) =>
          durationFlag(
            ["lease duration", "renew deadline", "retry period"][i],
            x,
          )
        );
        if (parts.length !== 3) {
          return `--lease-timing: expected D/R/P, e.g. 15s/10s/2s`;
        }
        const bad = ms.find((x) => typeof x === "string");
        if (bad !== undefined) return `--lease-timing: ${bad}`;
        const [d, r, p] = ms as number[];
        f.lease = { durationMs: d, renewDeadlineMs: r, retryPeriodMs: p };
        break;
      }
      case "--events": {
        const list = (value() ?? "").split(",").filter(Boolean);
        const events: ScenarioEvent[] = [];
        for (const item of list) {
          const [spec, hold] = item.split("@");
          const [kind, node] = spec.split(":");
          if (!KINDS.includes(kind as EventKind)) {
            return `--events: ${JSON.stringify(kind)} is not one of ${
              KINDS.join(", ")
            }`;
          }
          let holdMs: number | undefined;
          if (hold !== undefined) {
            const d = durationFlag(`events ${item}`, hold);
            if (typeof d === "string") return d;
            holdMs = d;
          }
          events.push({
            kind: kind as EventKind,
            ...(node ? { node } : {}),
            ...(holdMs !== undefined ? { holdMs } : {}),
          });
        }
        if (events.length === 0) return "--events: the list is empty";
        f.events = events;
        break;
      }
      case "--stability-window":
        d = durationFlag("stability-window", value());
        if (typeof d === "string") return d;
        f.stabilityWindowMs = d;
        break;
      case "--health-interval":
        d = durationFlag("health-interval", value());
        if (typeof d === "string") return d;
        f.healthIntervalMs = d;
        break;
      case "--vip-lifetime":
        d = durationFlag("vip-lifetime", value());
        if (typeof d === "string") return d;
        if (d < 1000 || d % 1000 !== 0) {
          return `--vip-lifetime: ${d} ms is not whole seconds`;
        }
        f.vipLifetimeMs = d;
        break;
      case "--arp-interval":
        d = durationFlag("arp-interval", value());
        if (typeof d === "string") return d;
        f.arpIntervalMs = d;
        break;
      case "--verbose":
        f.verbose = true;
        break;
      case "--keep-logs":
        f.keepLogs = true;
        break;
      case "--json":
        f.json = true;
        break;
      case "--cleanup":
        f.cleanup = true;
        break;
      default:
        return `unknown argument ${JSON.stringify(args[i])}`;
    }
  }
  return f;
}

async function main(args: string[]): Promise<number> {
  const f = parseFlags(args);
  if (f === USAGE) {
    console.log(USAGE);
    return 0;
  }
  if (typeof f === "string") {
    console.error(`lab: ${f}\n\n${USAGE}`);
    return 2;
  }
  if (!isRoot()) {
    console.error(
      "lab: needs root (network namespaces, veth, raw sockets); run it with sudo",
    );
    return 2;
  }
  if (f.cleanup) {
    const removed = await cleanupStale();
    console.log(
      removed.length
        ? `removed ${removed.join(", ")}`
        : "nothing left behind by earlier labs",
    );
    return 0;
  }
  const results: ScenarioResult[] = [];
  for (const implementation of f.implementations) {
    const lease = f.lease ?? DEFAULT_LEASE;
    const how = implementation === "ha-vip" && f.election === "lease"
      ? `lease ${lease.durationMs / 1000}s/${lease.renewDeadlineMs / 1000}s/${
        lease.retryPeriodMs / 1000
      }s`
      : `advert interval ${f.advertIntervalMs} ms`;
    console.log(`\n=== ${implementation}: ${f.nodes} nodes, ${how} ===`);
    const result = await runScenario({
      implementation,
      election: f.election,
      lease: f.lease,
      nodes: f.nodes,
      family: f.family,
      advertIntervalMs: f.advertIntervalMs,
      events: f.events,
      stabilityWindowMs: f.stabilityWindowMs,
      healthIntervalMs: f.healthIntervalMs,
      vipLifetimeMs: f.vipLifetimeMs,
      arpIntervalMs: f.arpIntervalMs,
      verbose: f.verbose,
      keepLogs: f.keepLogs,
      onTimeline: (e) => console.log(formatTimeline(e)),
      onEvent: (m) => console.log(formatEvent(m)),
    });
    results.push(result);
    for (const p of result.problems) console.log(`  FAIL: ${p}`);
    if (result.logDir) console.log(`logs kept in ${result.logDir}`);
  }
  console.log(`\n${formatComparison(results)}`);
  if (f.json) {
    console.log(JSON.stringify(
      results.map(({ timeline: _, ...r }) => r),
      null,
      2,
    ));
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`lab: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
