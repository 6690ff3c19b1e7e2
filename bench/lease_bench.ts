/**
 * Lease mode beside VRRP and keepalived, in one table: the lab (three nodes,
 * a switch, a client pinging the VIP every 5 ms, every node's API server on
 * one shared store) plays the same script for keepalived, ha-vip in VRRP
 * mode, and ha-vip in lease mode at 15/10/2 (client-go's timing, the
 * default) and at 5/3/1 (the fast profile, and kube-vip's own default),
 * `--runs` times each, alternating; the table gives medians (min–max).
 * A last column gives kube-vip's documented behaviour (not measured: see
 * the note under the table and README.md for how it is derived).
 *
 *     sudo deno run -A bench/lease_bench.ts [--runs 2] [--json]
 *
 * Exit status: 0 all scenarios ran and behaved, 1 otherwise, 2 bad flags or
 * not root.
 *
 * @module
 */

import { wholeNumberFlag } from "../lab/flags.ts";
import {
  type EventKind,
  type EventMeasurement,
  fmtS,
  isRoot,
  runScenario,
  type ScenarioEvent,
  type ScenarioOptions,
  type ScenarioResult,
} from "../lab/mod.ts";
import { clientGoModel, quantile } from "./_client_go_model.ts";
import { fmtStats, type Sample, stats } from "./_stats.ts";

const USAGE = `usage: deno run -A bench/lease_bench.ts [flags]     (as root)

  --runs N        scenarios per column (default 2)
  --only LIST     columns to run, comma-separated: keepalived, vrrp,
                  lease-15, lease-5 (default: all that are installed)
  --json          print the results as JSON instead of the table
  --keep-logs     keep each scenario's logs`;

/** A column: what runs. */
interface Column {
  key: string;
  title: string;
  options: ScenarioOptions;
}

const COLUMNS: Column[] = [
  {
    key: "keepalived",
    title: "keepalived (VRRP, 1 s)",
    options: { implementation: "keepalived" },
  },
  {
    key: "vrrp",
    title: "ha-vip VRRP (1 s)",
    options: { implementation: "ha-vip" },
  },
  {
    key: "lease-15",
    title: "ha-vip lease 15/10/2",
    options: {
      implementation: "ha-vip",
      election: "lease",
      lease: {
        durationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      },
    },
  },
  {
    key: "lease-5",
    title: "ha-vip lease 5/3/1",
    options: {
      implementation: "ha-vip",
      election: "lease",
      lease: {
        durationMs: 5_000,
        renewDeadlineMs: 3_000,
        retryPeriodMs: 1_000,
      },
    },
  },
];

/** The same script for every column (VRRP's priorities make node1 come back). */
const EVENTS: ScenarioEvent[] = [
  { kind: "steady" },
  { kind: "crash" },
  { kind: "restart" },
  { kind: "stop" },
  { kind: "start" },
  { kind: "unready" },
  { kind: "ready" },
  { kind: "cut" },
  { kind: "restore" },
  { kind: "partition", holdMs: 1000 },
  { kind: "heal" },
];

/** A row: its numbers from one scenario, and kube-vip's documented value. */
interface Row {
  label: string;
  pick: (r: ScenarioResult) => Sample[];
  /** Worst instead of median (for "never two holders"). */
  worst?: boolean;
  kubeVip: string;
}

const ev = (
  r: ScenarioResult,
  kind: EventKind,
  f: (e: EventMeasurement) => number | null | undefined,
): Sample[] => r.events.filter((e) => e.kind === kind).map((e) => f(e) ?? null);

/**
 * kube-vip's behaviour (control plane, ARP, leader election): client-go's
 * leader election with ReleaseOnCancel over plndr-cp-lock, a VIP without a
 * lifetime, no /readyz check. Takeover times come from client-go's rules
 * (`_client_go_model.ts`: median, 5th–95th percentile) at both timings.
 */
function modelled(pick: "crash" | "release"): string {
  const profiles = [
    { name: "15/10/2", durationMs: 15_000, retryPeriodMs: 2_000 },
    { name: "5/3/1", durationMs: 5_000, retryPeriodMs: 1_000 },
  ];
  return profiles.map((t) => {
    const xs = clientGoModel(t)[pick];
    const s = (q: number) => (quantile(xs, q) / 1000).toFixed(1);
    return `${s(0.5)} s (${s(0.05)}–${s(0.95)}) at ${t.name}`;
  }).join(", ");
}

const CRASH = modelled("crash");
const RELEASE = modelled("release");

const ROWS: Row[] = [
  {
    label: "crash: takeover",
    pick: (r) => ev(r, "crash", (e) => e.takeoverMs),
    kubeVip: `${CRASH} (client-go's rules, modelled)`,
  },
  {
    label: "crash: client outage",
    pick: (r) => ev(r, "crash", (e) => e.longestGapMs),
    kubeVip: "0 while the node lives (its kernel keeps the VIP)",
  },
  {
    label: "crash: dead node's VIP gone after",
    pick: (r) => ev(r, "crash", (e) => e.vipExpiredMs),
    kubeVip: "never (no lifetime; kube-vip#996)",
  },
  {
    label: "crash: VIP on two nodes",
    pick: (r) => ev(r, "crash", (e) => e.dualHolderAnyMs),
    kubeVip: "from the takeover until kube-vip restarts (kube-vip#996)",
  },
  {
    label: "stop (SIGTERM): client outage",
    pick: (r) => ev(r, "stop", (e) => e.longestGapMs),
    kubeVip: `${RELEASE} (releases, removes its VIP at once)`,
  },
  {
    label: "stop: takeover",
    pick: (r) => ev(r, "stop", (e) => e.takeoverMs),
    kubeVip: `${RELEASE} (a follower's next try)`,
  },
  {
    label: "API server unready: client outage",
    pick: (r) => ev(r, "unready", (e) => e.longestGapMs),
    kubeVip:
      "no ICMP outage, but the VIP stays on the unready node (no /readyz check in ARP mode)",
  },
  {
    label: "cut link: client outage",
    pick: (r) => ev(r, "cut", (e) => e.longestGapMs),
    kubeVip: "its crash takeover (the cut node loses etcd with its link)",
  },
  {
    label: "partition of the holder: client outage",
    pick: (r) => ev(r, "partition", (e) => e.longestGapMs),
    kubeVip: "as a crash; duplicates reported after reconnects (kube-vip#1385)",
  },
  {
    label: "two holders, any event (cut-off nodes counted), worst",
    worst: true,
    pick: (r) => r.events.map((e) => e.dualHolderAnyMs),
    kubeVip: "forever after a crash (above)",
  },
];

function parseFlags(args: string[]) {
  const f = {
    runs: 2,
    only: COLUMNS.map((c) => c.key),
    json: false,
    keepLogs: false,
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => inline ?? args[++i];
    switch (flag) {
      case "--help":
      case "-h":
        return USAGE;
      case "--runs": {
        const d = wholeNumberFlag("runs", value(), 1, 50);
        if (typeof d === "string") return d;
        f.runs = d;
        break;
      }
      case "--only": {
        const list = (value() ?? "").split(",").filter(Boolean);
        const bad = list.find((k) => !COLUMNS.some((c) => c.key === k));
        if (bad) {
          return `--only: ${JSON.stringify(bad)} is not one of ${
            COLUMNS.map((c) => c.key).join(", ")
          }`;
        }
        f.only = list;
        break;
      }
      case "--json":
        f.json = true;
        break;
      case "--keep-logs":
        f.keepLogs = true;
        break;
      default:
        return `unknown argument ${JSON.stringify(args[i])}`;
    }
  }
  return f;
}

function table(
  columns: Column[],
  results: Map<string, ScenarioResult[]>,
): string {
  const header = [
    "metric",
    ...columns.map((c) => c.title),
    "kube-vip (not measured)",
  ];
  const lines = ROWS.map((row) => [
    row.label,
    ...columns.map((c) => {
      const s = stats((results.get(c.key) ?? []).flatMap(row.pick));
      return fmtStats(s, "ms", "-", row.worst ? "max" : "median");
    }),
    row.kubeVip,
  ]);
  const widths = header.map((_, i) =>
    i === header.length - 1
      ? 0
      : Math.max(header[i].length, ...lines.map((l) => l[i].length))
  );
  const line = (cells: string[]) =>
    cells.map((x, i) => x.padEnd(widths[i])).join("  ").trimEnd();
  return [
    line(header),
    line(widths.map((w) => "-".repeat(Math.max(w, 4)))),
    ...lines.map(line),
  ].join("\n");
}

async function main(args: string[]): Promise<number> {
  const f = parseFlags(args);
  if (f === USAGE) {
    console.log(USAGE);
    return 0;
  }
  if (typeof f === "string") {
    console.error(`lease_bench: ${f}\n\n${USAGE}`);
    return 2;
  }
  if (!isRoot()) {
    console.error(
      "lease_bench: needs root (network namespaces, raw sockets); run it with sudo",
    );
    return 2;
  }
  let columns = COLUMNS.filter((c) => f.only.includes(c.key));
  try {
    await Deno.stat("/usr/sbin/keepalived");
  } catch {
    columns = columns.filter((c) => c.key !== "keepalived");
  }
  const log = (t: string) => f.json ? console.error(t) : console.log(t);
  const results = new Map<string, ScenarioResult[]>();
  const failures: string[] = [];
  const started = Date.now();
  for (let run = 1; run <= f.runs; run++) {
    for (const c of columns) {
      const t0 = Date.now();
      log(`run ${run}/${f.runs}: ${c.title} ...`);
      try {
        const r = await runScenario({
          ...c.options,
          events: EVENTS,
          keepLogs: f.keepLogs,
          signal: AbortSignal.timeout(15 * 60_000),
        });
        results.set(c.key, [...(results.get(c.key) ?? []), r]);
        for (const e of r.events.filter((e) => !e.ok)) {
          failures.push(
            `run ${run} ${c.title} ${e.kind}: ${e.problems.join("; ")}`,
          );
        }
        log(`  done in ${fmtS(Date.now() - t0)}${r.ok ? "" : " (problems)"}`);
      } catch (err) {
        failures.push(
          `run ${run} ${c.title}: ${err instanceof Error ? err.message : err}`,
        );
      }
    }
  }
  if (f.json) {
    console.log(JSON.stringify(
      {
        runs: f.runs,
        durationMs: Date.now() - started,
        failures,
        results: Object.fromEntries(
          [...results].map((
            [k, rs],
          ) => [k, rs.map(({ timeline: _, statuses: __, ...r }) => r)]),
        ),
      },
      null,
      2,
    ));
  } else {
    console.log(
      `\nLease mode beside VRRP and keepalived: medians (min–max) over ${f.runs} scenario(s) per column, 3 nodes, ` +
        `one shared API store, Deno ${Deno.version.deno}; ${
          fmtS(Date.now() - started)
        } in all\n`,
    );
    console.log(table(columns, results));
    console.log(
      `\nkube-vip is not run here: its column is client-go's leader election (which kube-vip uses, with ReleaseOnCancel)` +
        ` at the same timing (modelled, see bench/_client_go_model.ts) and its documented ARP behaviour; see README.md, "Lease mode beside kube-vip".`,
    );
    if (failures.length) {
      console.log(`\nproblems (${failures.length}):`);
      for (const p of failures) console.log(`  - ${p}`);
    }
  }
  return failures.length === 0 &&
      columns.every((c) => (results.get(c.key) ?? []).length === f.runs)
    ? 0
    : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`lease_bench: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
