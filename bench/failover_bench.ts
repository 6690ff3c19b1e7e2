/**
 * ha-vip against keepalived, side by side, in one run: the lab
 * (`lab/mod.ts`: three nodes, a switch and a client in network namespaces,
 * real daemons, a client pinging the VIP every 5 ms) plays the same script
 * for each implementation at the same advertisement interval, N times
 * (alternating, so machine noise hits both alike), and prints the medians.
 *
 *     sudo deno run -A bench/failover_bench.ts [--runs 3] [--advert-interval 1s]
 *                                              [--idle 20s] [--family 4,6] [--json]
 *
 * Both address families by default, one after the other: IPv4 (the client
 * pings, its ARP entry follows the VIP) and IPv6 (VRRP over IPv6 from the
 * nodes' link-local addresses, the client by ICMPv6, its NDP entry).
 *
 * Measured per run and implementation:
 * - client outage (longest ICMP silence) after a crash of the holder
 *   (SIGKILL), a planned stop (SIGTERM), a cut link (carrier loss) and the
 *   heal of a partition (the holder cut off with its carrier up, then back);
 * - after the crash: how long the VIP was on two nodes and when the dead
 *   node's VIP was gone;
 * - ha-vip only: the API server turning unready (keepalived runs without
 *   an API-server check here);
 * - at steady state: each daemon's resident memory (VmRSS, summed over the
 *   process tree: keepalived's parent and VRRP child together; ha-vip as
 *   `deno run`, one process) and CPU (utime + stime over `--idle`, in % of
 *   one core).
 *
 * Needs root (namespaces, raw sockets) and, for the comparison,
 * /usr/sbin/keepalived. Every namespace, link and process is removed after
 * each scenario, also on Ctrl-C / SIGTERM; the whole run is bounded (each
 * scenario by `--scenario-timeout`, everything by the sum plus a minute).
 * Exit status: 0 all scenarios ran and behaved, 1 otherwise, 2 bad flags or
 * not root.
 *
 * @module
 */

import {
  advertIntervalFlag,
  durationFlag,
  wholeNumberFlag,
} from "../lab/flags.ts";
import {
  type EventKind,
  type EventMeasurement,
  fmtS,
  type Implementation,
  isRoot,
  runScenario,
  type ScenarioEvent,
  type ScenarioResult,
} from "../lab/mod.ts";
import {
  fmtStats,
  type Sample,
  type Stats,
  stats,
  type Unit,
} from "./_stats.ts";

const USAGE = `usage: deno run -A bench/failover_bench.ts [flags]     (as root)

  --runs N                 scenarios per implementation (default 3)
  --advert-interval D      VRRP advertisement interval for both (default 1s)
  --idle D                 steady-state window for memory and CPU (default 20s)
  --heals N                partition/heal pairs per scenario (default 3)
  --partition-hold D       how long the partition lasts once settled (default 1s;
                           longer partitions leave the client's neighbour entry
                           REACHABLE at the heal, which costs keepalived more)
  --only IMPL              ha-vip or keepalived (default: both)
  --family LIST            4, 6 or 4,6: the VIP's family, IPv4 and/or IPv6 (default 4,6)
  --scenario-timeout D     limit of one scenario (default 6m)
  --json                   print the results as JSON instead of the table
  --verbose                print the lab's live timeline
  --keep-logs              keep each scenario's logs (directories are printed)`;

interface Flags {
  runs: number;
  families: (4 | 6)[];
  advertIntervalMs: number;
  idleMs: number;
  partitionHoldMs: number;
  heals: number;
  implementations: Implementation[];
  scenarioTimeoutMs: number;
  json: boolean;
  verbose: boolean;
  keepLogs: boolean;
}

function parseFlags(args: string[]): Flags | string {
  const f: Flags = {
    runs: 3,
    families: [4, 6],
    advertIntervalMs: 1000,
    idleMs: 20000,
    partitionHoldMs: 1000,
    heals: 3,
    implementations: ["keepalived", "ha-vip"],
    scenarioTimeoutMs: 6 * 60_000,
    json: false,
    verbose: false,
    keepLogs: false,
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const value = () => inline ?? args[++i];
    let d: number | string;
    switch (flag) {
      case "--help":
      case "-h":
        return USAGE;
      case "--runs":
        d = wholeNumberFlag("runs", value(), 1, 50);
        if (typeof d === "string") return d;
        f.runs = d;
        break;
      case "--advert-interval":
        d = advertIntervalFlag(value());
        if (typeof d === "string") return d;
        f.advertIntervalMs = d;
        break;
      case "--idle":
        d = durationFlag("idle", value());
        if (typeof d === "string") return d;
        if (d < 1000 || d > 600_000) return `--idle: 1s to 10m, got ${d} ms`;
        f.idleMs = d;
        break;
      case "--partition-hold":
        d = durationFlag("partition-hold", value());
        if (typeof d === "string") return d;
        if (d > 600_000) return `--partition-hold: at most 10m, got ${d} ms`;
        f.partitionHoldMs = d;
        break;
      case "--heals":
        d = wholeNumberFlag("heals", value(), 1, 20);
        if (typeof d === "string") return d;
        f.heals = d;
        break;
      case "--only": {
        const v = value();
        if (v !== "ha-vip" && v !== "keepalived") {
          return `--only: ${JSON.stringify(v)} is not ha-vip or keepalived`;
        }
        f.implementations = [v];
        break;
      }
      case "--scenario-timeout":
        d = durationFlag("scenario-timeout", value());
        if (typeof d === "string") return d;
        if (d < 30_000) return `--scenario-timeout: at least 30s, got ${d} ms`;
        f.scenarioTimeoutMs = d;
        break;
      case "--family": {
        const list = (value() ?? "").split(",").map((x) => x.trim());
        if (
          list.length === 0 || list.some((x) => x !== "4" && x !== "6") ||
          new Set(list).size !== list.length
        ) {
          return `--family: ${
            JSON.stringify(list.join(","))
          } is not 4, 6 or 4,6`;
        }
        f.families = list.map(Number) as (4 | 6)[];
        break;
      }
      case "--json":
        f.json = true;
        break;
      case "--verbose":
        f.verbose = true;
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

/** The script: every measured event, each followed by its recovery. */
function benchEvents(
  idleMs: number,
  partitionHoldMs: number,
  heals: number,
): ScenarioEvent[] {
  return [
    { kind: "steady", holdMs: idleMs },
    { kind: "crash" },
    { kind: "restart" },
    { kind: "stop" },
    { kind: "start" },
    { kind: "cut" },
    { kind: "restore" },
    // Each heal falls at a random advert phase (see the lab's
    // randomHealPhase): several per scenario sample who hears whom first.
    ...Array.from({ length: heals }, () => [
      { kind: "partition", holdMs: partitionHoldMs } as const,
      { kind: "heal" } as const,
    ]).flat(),
    { kind: "unready" },
    { kind: "ready" },
  ];
}

/** A row of the table: how to get its number out of one scenario. */
interface Metric {
  key: string;
  label: string;
  unit: Unit;
  /** Values from one scenario (per node for resources, else one). */
  pick: (r: ScenarioResult) => Sample[];
  /** What a null value means for this implementation, if anything. */
  nullMeans?: Partial<Record<Implementation, string>>;
  /** Headline value: the median (default) or the worst run. */
  use?: "median" | "max";
  /** Implementations whose value is only a lower bound (cut by the window). */
  atLeast?: Implementation[];
  note: (
    m: Record<Implementation, Stats | undefined>,
    a: number,
    samples: Partial<Record<Implementation, Sample[]>>,
  ) => string;
}

const first = (r: ScenarioResult, kind: EventKind) =>
  r.events.find((e) => e.kind === kind);
const all = (
  r: ScenarioResult,
  kind: EventKind,
  f: (e: EventMeasurement) => number | null | undefined,
): Sample[] => r.events.filter((e) => e.kind === kind).map((e) => f(e) ?? null);
const one = (
  r: ScenarioResult,
  kind: EventKind,
  f: (e: EventMeasurement) => number | null | undefined,
): Sample[] => {
  const e = first(r, kind);
  return e ? [f(e) ?? null] : [];
};

const METRICS: Metric[] = [
  {
    key: "crash_gap",
    label: "crash (SIGKILL): client outage",
    unit: "ms",
    pick: (r) => one(r, "crash", (e) => e.longestGapMs),
    note: () =>
      "the node lives on, so its kernel keeps answering for the VIP until the new holder's gratuitous ARP",
  },
  {
    key: "crash_takeover",
    label: "crash: takeover by node2",
    unit: "ms",
    pick: (r) => one(r, "crash", (e) => e.takeoverMs),
    note: (_m, a) => `VRRP master-down time, 3 × ${a} ms + skew`,
  },
  {
    key: "crash_dual",
    label: "crash: VIP on two nodes",
    unit: "ms",
    pick: (r) => one(r, "crash", (e) => e.dualHolderMs),
    atLeast: ["keepalived"],
    note: (m) =>
      m.keepalived && m.keepalived.nulls + m.keepalived.n > 0
        ? "keepalived: until the event's window ends; the VIP stays on the dead node until keepalived is restarted"
        : "",
  },
  {
    key: "crash_expiry",
    label: "crash: dead node's VIP gone after",
    unit: "ms",
    pick: (r) => one(r, "crash", (e) => e.vipExpiredMs),
    nullMeans: { keepalived: "never" },
    note: () =>
      "ha-vip: VIP valid lifetime runs out; keepalived: VIP stays on the dead node until restarted",
  },
  {
    key: "stop_gap",
    label: "stop (SIGTERM): client outage",
    unit: "ms",
    pick: (r) => one(r, "stop", (e) => e.longestGapMs),
    note: () =>
      "ha-vip: make-before-break; keepalived: priority 0, then VIP removed at once",
  },
  {
    key: "stop_takeover",
    label: "stop: takeover by node2",
    unit: "ms",
    pick: (r) => one(r, "stop", (e) => e.takeoverMs),
    note: () =>
      "priority-0 advertisement, then node2's skew time (609 ms at priority 100); ha-vip's leaves when its VRRP loop next wakes (it polls in slices)",
  },
  {
    key: "cut_gap",
    label: "link down (cut): client outage",
    unit: "ms",
    pick: (r) => one(r, "cut", (e) => e.longestGapMs),
    note: () => "the holder is gone for the client: master-down time",
  },
  {
    key: "partition_gap",
    label: "partition of the holder: client outage",
    unit: "ms",
    pick: (r) => all(r, "partition", (e) => e.longestGapMs),
    note: () => "as a cut, but node1 keeps carrier and the VIP on its side",
  },
  {
    key: "heal_gap",
    label: "partition heal: client outage",
    unit: "ms",
    pick: (r) => all(r, "heal", (e) => e.longestGapMs),
    note: (_m, a, samples) => {
      const dark = (impl: Implementation) => {
        const xs = (samples[impl] ?? []).filter((x) => x !== null);
        return xs.length
          ? `${impl} > ${fmtS(a + 250)} in ${
            xs.filter((x) => x! > a + 250).length
          }/${xs.length} heals`
          : "";
      };
      return [
        dark("ha-vip"),
        dark("keepalived"),
        "the heal falls at a random advert phase; keepalived's node1 announces only if it hears node2 before node2 hears it, else the client waits for ARP re-resolution",
      ].filter(Boolean).join("; ");
    },
  },
  {
    key: "heal_gap_worst",
    label: "partition heal: client outage, worst",
    unit: "ms",
    use: "max",
    pick: (r) => all(r, "heal", (e) => e.longestGapMs),
    note: (_m, a) =>
      `the issue's bar: ha-vip at most one advert interval (bound ${
        fmtS(a + 250)
      })`,
  },
  {
    key: "heal_dual",
    label: "partition heal: two connected holders",
    unit: "ms",
    pick: (r) => all(r, "heal", (e) => e.dualHolderMs),
    note: (_m, a) => `until the first advertisement crosses (< ${a} ms)`,
  },
  {
    key: "unready_gap",
    label: "API server unready: client outage",
    unit: "ms",
    pick: (r) =>
      r.implementation === "ha-vip"
        ? one(r, "unready", (e) => e.longestGapMs)
        : [],
    note: () =>
      "keepalived: no API-server check configured in the lab (the VIP would stay on the unready node)",
  },
  {
    key: "rss",
    label: "resident memory per node (VmRSS)",
    unit: "MiB",
    pick: (r) =>
      (first(r, "steady")?.resources ?? []).map((x) => x.rssKb / 1024),
    note: () =>
      "ha-vip: one `deno run` process (not the compiled binary); keepalived: parent + VRRP child summed",
  },
  {
    key: "cpu",
    label: "idle CPU per node, utime+stime",
    unit: "%",
    pick: (r) => (first(r, "steady")?.resources ?? []).map((x) => x.cpuPercent),
    note: () =>
      "% of one core over the idle window, /proc/PID/stat (10 ms ticks); ha-vip includes its /readyz checks (TLS, every 2 s)",
  },
  {
    key: "cpu_sched",
    label: "idle CPU per node, scheduler clock",
    unit: "%",
    pick: (r) =>
      (first(r, "steady")?.resources ?? []).map((x) => x.cpuPercentSched),
    note: () =>
      "the same from /proc/PID/task/*/schedstat (ns): resolves what ticks round to 0",
  },
];

function ratio(
  h: Stats | undefined,
  k: Stats | undefined,
  use: "median" | "max" = "median",
  kAtLeast = false,
): string {
  const hv = h?.[use] ?? null;
  const kv = k?.[use] ?? null;
  if (hv === null || kv === null) return "-";
  if (hv === 0 && kv === 0) return "=";
  if (kv === 0) return "> 1 (÷0)";
  return `${kAtLeast ? "≤ " : ""}${(hv / kv).toFixed(2)}×`;
}

interface Row {
  key: string;
  label: string;
  unit: string;
  stats: Partial<Record<Implementation, Stats>>;
  samples: Partial<Record<Implementation, Sample[]>>;
  ratio: string;
  note: string;
}

function buildRows(
  results: ScenarioResult[],
  advertIntervalMs: number,
): Row[] {
  return METRICS.map((m) => {
    const samples: Partial<Record<Implementation, Sample[]>> = {};
    const st: Partial<Record<Implementation, Stats>> = {};
    for (const impl of ["ha-vip", "keepalived"] as const) {
      const rs = results.filter((r) => r.implementation === impl);
      if (rs.length === 0) continue;
      samples[impl] = rs.flatMap(m.pick);
      st[impl] = stats(samples[impl]!);
    }
    return {
      key: m.key,
      label: m.label,
      unit: m.unit,
      stats: st,
      samples,
      ratio: ratio(
        st["ha-vip"],
        st.keepalived,
        m.use,
        m.atLeast?.includes("keepalived"),
      ),
      note: m.note(
        st as Record<Implementation, Stats | undefined>,
        advertIntervalMs,
        samples,
      ),
    };
  });
}

function formatTable(
  rows: Row[],
  header: string,
  implementations: Implementation[],
): string {
  const metric = (key: string) => METRICS.find((m) => m.key === key)!;
  const cols = [
    "metric",
    ...(implementations.includes("ha-vip") ? ["ha-vip"] : []),
    ...(implementations.includes("keepalived") ? ["keepalived"] : []),
    ...(implementations.length === 2 ? ["ha-vip/keepalived"] : []),
    "note",
  ];
  const lines = rows.map((r) => {
    const m = metric(r.key);
    const cells = [r.label];
    for (const impl of ["ha-vip", "keepalived"] as const) {
      if (!implementations.includes(impl)) continue;
      cells.push(
        fmtStats(
          r.stats[impl],
          m.unit,
          m.nullMeans?.[impl],
          m.use,
          m.atLeast?.includes(impl),
        ),
      );
    }
    if (implementations.length === 2) cells.push(r.ratio);
    cells.push(r.note);
    return cells;
  });
  const widths = cols.map((_, c) =>
    c === cols.length - 1
      ? 0
      : Math.max(cols[c].length, ...lines.map((l) => l[c].length))
  );
  const line = (cells: string[]) =>
    cells.map((x, c) => x.padEnd(widths[c])).join("  ").trimEnd();
  return [
    header,
    "",
    line(cols),
    line(widths.map((w, c) => "-".repeat(c === cols.length - 1 ? 4 : w))),
    ...lines.map(line),
  ].join("\n");
}

async function keepalivedVersion(): Promise<string | null> {
  try {
    const out = await new Deno.Command("/usr/sbin/keepalived", {
      args: ["--version"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) +
      new TextDecoder().decode(out.stdout);
    return /Keepalived v?([\d.]+)/i.exec(text)?.[1] ?? "unknown version";
  } catch {
    return null;
  }
}

async function main(args: string[]): Promise<number> {
  const f = parseFlags(args);
  if (f === USAGE) {
    console.log(USAGE);
    return 0;
  }
  if (typeof f === "string") {
    console.error(`failover_bench: ${f}\n\n${USAGE}`);
    return 2;
  }
  if (!isRoot()) {
    console.error(
      "failover_bench: needs root (network namespaces, veth, raw sockets); run it with sudo",
    );
    return 2;
  }
  const kaVersion = await keepalivedVersion();
  if (kaVersion === null && f.implementations.includes("keepalived")) {
    if (f.implementations.length === 1) {
      console.error("failover_bench: /usr/sbin/keepalived is not installed");
      return 2;
    }
    console.error(
      "failover_bench: /usr/sbin/keepalived is not installed: ha-vip only",
    );
    f.implementations = ["ha-vip"];
  }

  // The whole run is bounded: a scenario aborts at its own limit (and
  // tears down); if something hangs past everything, exit anyway (the
  // lab's unload handler still removes the namespaces).
  const overallMs = f.runs * f.implementations.length * f.families.length *
      f.scenarioTimeoutMs +
    60_000;
  const watchdog = setTimeout(() => {
    console.error(
      `failover_bench: exceeded ${fmtS(overallMs)} in total; giving up`,
    );
    Deno.exit(1);
  }, overallMs);

  const log = (text: string) => {
    if (!f.json) console.log(text);
    else console.error(text);
  };
  let ok = true;
  const docs: Record<string, unknown> = {};
  for (const family of f.families) {
    const r = await benchFamily(f, family, kaVersion, log);
    ok &&= r.ok;
    docs[`ipv${family}`] = r.doc;
  }
  clearTimeout(watchdog);
  if (f.json) {
    // One family: its document as before; both: keyed by family.
    console.log(JSON.stringify(
      f.families.length === 1 ? docs[`ipv${f.families[0]}`] : docs,
      null,
      2,
    ));
  }
  return ok ? 0 : 1;
}

/** One family's runs: the scenarios, then its table (or JSON document). */
async function benchFamily(
  f: Flags,
  family: 4 | 6,
  kaVersion: string | null,
  log: (text: string) => void,
): Promise<{ ok: boolean; doc: unknown }> {
  const started = Date.now();
  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  for (let run = 1; run <= f.runs; run++) {
    for (const implementation of f.implementations) {
      const t0 = Date.now();
      log(
        `run ${run}/${f.runs}: ${implementation}, IPv${family}, advert interval ${f.advertIntervalMs} ms ...`,
      );
      try {
        const r = await runScenario({
          implementation,
          family,
          advertIntervalMs: f.advertIntervalMs,
          events: benchEvents(f.idleMs, f.partitionHoldMs, f.heals),
          keepLogs: f.keepLogs,
          signal: AbortSignal.timeout(f.scenarioTimeoutMs),
          onTimeline: f.verbose
            ? (e) =>
              log(
                `  +${(e.atMs / 1000).toFixed(3).padStart(7)}s ${
                  e.source.padEnd(7)
                } ${e.text}`,
              )
            : undefined,
        });
        results.push(r);
        const bad = r.events.filter((e) => !e.ok);
        for (const e of bad) {
          failures.push(
            `run ${run} ${implementation} ${e.kind} ${e.node}: ${
              e.problems.join("; ")
            }`,
          );
        }
        for (const p of r.problems) {
          failures.push(`run ${run} ${implementation}: ${p}`);
        }
        log(
          `  done in ${fmtS(Date.now() - t0)}${
            r.ok ? "" : ` (${bad.length + r.problems.length} problems)`
          }${r.logDir ? `; logs in ${r.logDir}` : ""}`,
        );
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        failures.push(`run ${run} ${implementation}: ${msg}`);
        log(`  failed after ${fmtS(Date.now() - t0)}: ${msg}`);
      }
    }
  }

  const rows = buildRows(results, f.advertIntervalMs);
  const count = (impl: Implementation) =>
    results.filter((r) => r.implementation === impl).length;
  let doc: unknown = null;
  if (f.json) {
    doc = {
      family,
      advertIntervalMs: f.advertIntervalMs,
      idleMs: f.idleMs,
      partitionHoldMs: f.partitionHoldMs,
      heals: f.heals,
      runs: f.runs,
      keepalivedVersion: kaVersion,
      denoVersion: Deno.version.deno,
      durationMs: Date.now() - started,
      scenarios: Object.fromEntries(
        f.implementations.map((i) => [i, count(i)]),
      ),
      rows,
      failures,
      results: results.map(({ timeline: _, statuses: __, ...r }) => r),
    };
  } else {
    const header =
      `IPv${family}${
        family === 6 ? " (VRRP over IPv6, client by ICMPv6/NDP)" : ""
      }: ha-vip vs keepalived ${
        kaVersion ?? "(not installed)"
      }: medians (min–max) over ${
        f.implementations.map((i) => `${count(i)} ${i}`).join(" / ")
      } scenarios, advert interval ${f.advertIntervalMs} ms, 3 nodes (priorities 150/100/50), ` +
      `idle window ${
        fmtS(f.idleMs)
      }, ${f.heals} partition/heal pairs per scenario (held ${
        fmtS(f.partitionHoldMs)
      } + 0–1 advert interval after settling), Deno ${Deno.version.deno}; ${
        fmtS(Date.now() - started)
      } in all`;
    console.log(`\n${formatTable(rows, header, f.implementations)}`);
    if (failures.length) {
      console.log(`\nproblems (${failures.length}):`);
      for (const p of failures) console.log(`  - ${p}`);
    }
  }
  const complete = f.implementations.every((i) => count(i) === f.runs);
  return { ok: complete && failures.length === 0, doc };
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(
      `failover_bench: ${err instanceof Error ? err.message : err}`,
    );
    Deno.exit(1);
  }
}
