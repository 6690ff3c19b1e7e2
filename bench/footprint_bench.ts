/**
 * Issue 12's figures, ha-vip beside keepalived in one run, on the lab
 * (`lab/mod.ts`: three nodes with priorities 150/100/50, a switch and a
 * client pinging the VIP every 5 ms, in network namespaces):
 *
 * 1. **Idle cost** per node as master (node1) and as backup (node2, node3):
 *    CPU from `/proc` (utime + stime of every thread, and the scheduler's
 *    clock from `schedstat`) over a long steady window, resident memory at
 *    the end of it ("settled", VmRSS) and its peak since start (VmHWM).
 *    ha-vip runs as users run it: the release bundle under `deno run`,
 *    built first, with the flags README gives; health checks every 2 s
 *    against each node's simulated API server; no /metrics server (off by
 *    default). keepalived: parent + VRRP child.
 * 2. **Node death** at each timing profile: the client's outage when the
 *    holder's link is cut, and when the holder dies (SIGKILL of the daemon,
 *    then every address of its interface removed).
 * 3. **Soak**: a long steady state under 5 % packet loss on the bridge,
 *    both CPUs saturated by busy loops and GC pressure in ha-vip (scrapes
 *    of /metrics and /status, V8 stress flags); every VIP move is a
 *    spurious failover.
 *
 *     sudo deno run -A bench/footprint_bench.ts [--runs 3] [--idle 60s]
 *         [--profiles 1s,200ms] [--soak 10m] [--soak-profiles 1s,200ms]
 *         [--sections idle,death,soak] [--only ha-vip|keepalived]
 *         [--source] [--json] [--verbose]
 *
 * Medians over the runs (backups: over runs × nodes), min–max in
 * parentheses, ratios ha-vip / keepalived. Runs alternate between the
 * implementations so that machine noise hits both alike; CPU is never
 * wall time. Exit status: 0 when every scenario behaved, 1 otherwise, 2
 * for bad flags or without root.
 *
 * @module
 */

import {
  advertIntervalFlag,
  durationFlag,
  wholeNumberFlag,
} from "../lab/flags.ts";
import {
  fmtS,
  type Implementation,
  isRoot,
  type ResourceUsage,
  runScenario,
  type ScenarioOptions,
  type ScenarioResult,
} from "../lab/mod.ts";
import { buildRelease, BUNDLE_DENO_FLAGS } from "../release/mod.ts";

const USAGE = `usage: deno run -A bench/footprint_bench.ts [flags]     (as root)

  --runs N             scenarios per implementation and section (default 3)
  --idle D             steady window for CPU and memory (default 60s)
  --profiles LIST      advert intervals for the node-death section (default 1s,200ms)
  --soak D             length of the soak (default 10m; at least 10m for issue 12)
  --soak-profiles LIST advert intervals of the soak, one soak each (default 1s,200ms)
  --loss P             soak: packet loss on the bridge, percent (default 5)
  --sections LIST      idle,death,soak (default all three)
  --only IMPL          ha-vip or keepalived (default both)
  --source             run ha-vip from main.ts instead of the release bundle
  --json               print the results as JSON instead of the table
  --verbose            the lab's live timeline`;

type Section = "idle" | "death" | "soak";

interface Flags {
  runs: number;
  idleMs: number;
  profiles: number[];
  soakMs: number;
  soakProfiles: number[];
  loss: number;
  sections: Section[];
  implementations: Implementation[];
  source: boolean;
  json: boolean;
  verbose: boolean;
}

/** A comma-separated list, each item through `item` (which returns an error text or a value). */
function parseList<T>(
  name: string,
  text: string | undefined,
  item: (s: string) => { value: T } | { error: string },
): T[] | string {
  const out: T[] = [];
  for (const s of (text ?? "").split(",").filter(Boolean)) {
    const v = item(s);
    if ("error" in v) return `--${name}: ${v.error}`;
    out.push(v.value);
  }
  return out.length ? out : `--${name}: empty list`;
}

function parseFlags(args: string[]): Flags | string {
  const f: Flags = {
    runs: 3,
    idleMs: 60_000,
    profiles: [1000, 200],
    soakMs: 600_000,
    soakProfiles: [1000, 200],
    loss: 5,
    sections: ["idle", "death", "soak"],
    implementations: ["keepalived", "ha-vip"],
    source: false,
    json: false,
    verbose: false,
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
      case "--idle":
        d = durationFlag("idle", value());
        if (typeof d === "string") return d;
        if (d < 5000 || d > 3_600_000) return `--idle: 5s to 1h, got ${d} ms`;
        f.idleMs = d;
        break;
      case "--soak":
        d = durationFlag("soak", value());
        if (typeof d === "string") return d;
        if (d < 10_000 || d > 86_400_000) {
          return `--soak: 10s to 24h, got ${d} ms`;
        }
        f.soakMs = d;
        break;
      case "--soak-profile":
      case "--soak-profiles": {
        const l = parseList<number>("soak-profiles", value(), (s) => {
          const d = advertIntervalFlag(s);
          return typeof d === "string" ? { error: d } : { value: d };
        });
        if (typeof l === "string") return l;
        f.soakProfiles = l;
        break;
      }
      case "--loss":
        d = wholeNumberFlag("loss", value(), 0, 50);
        if (typeof d === "string") return d;
        f.loss = d;
        break;
      case "--profiles": {
        const l = parseList<number>("profiles", value(), (s) => {
          const d = advertIntervalFlag(s);
          return typeof d === "string" ? { error: d } : { value: d };
        });
        if (typeof l === "string") return l;
        f.profiles = l;
        break;
      }
      case "--sections": {
        const l = parseList<Section>(
          "sections",
          value(),
          (s) =>
            ["idle", "death", "soak"].includes(s)
              ? { value: s as Section }
              : { error: `${JSON.stringify(s)} is not idle, death or soak` },
        );
        if (typeof l === "string") return l;
        f.sections = l;
        break;
      }
      case "--only": {
        const v = value();
        if (v !== "ha-vip" && v !== "keepalived") {
          return `--only: ${JSON.stringify(v)} is not ha-vip or keepalived`;
        }
        f.implementations = [v];
        break;
      }
      case "--source":
        f.source = true;
        break;
      case "--json":
        f.json = true;
        break;
      case "--verbose":
        f.verbose = true;
        break;
      default:
        return `unknown argument ${JSON.stringify(args[i])}`;
    }
  }
  return f;
}

/** One table row: a label and the samples per implementation. */
interface Row {
  label: string;
  unit: "ms" | "MiB" | "%" | "count";
  samples: Partial<Record<Implementation, number[]>>;
  /** Show the worst value instead of the median. */
  worst?: boolean;
  note?: string;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(v: number | null, unit: Row["unit"]): string {
  if (v === null) return "–";
  switch (unit) {
    case "ms":
      return fmtS(v);
    case "MiB":
      return `${(v / 1024).toFixed(1)} MiB`;
    case "%":
      return `${v < 0.1 ? v.toFixed(3) : v.toFixed(2)} %`;
    case "count":
      return String(v);
  }
}

function cell(xs: number[] | undefined, r: Row): string {
  if (!xs || xs.length === 0) return "–";
  const head = r.worst ? Math.max(...xs) : median(xs);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const range = xs.length > 1 && !r.worst && lo !== hi
    ? ` (${fmt(lo, r.unit)}–${fmt(hi, r.unit)})`
    : "";
  return `${fmt(head, r.unit)}${range}`;
}

function ratio(r: Row): string {
  const a = r.samples["ha-vip"];
  const b = r.samples["keepalived"];
  if (!a?.length || !b?.length) return "";
  const x = r.worst ? Math.max(...a) : median(a)!;
  const y = r.worst ? Math.max(...b) : median(b)!;
  if (y === 0) return x === 0 ? "=" : "∞";
  return `${(x / y).toFixed(x / y < 10 ? 2 : 0)}×`;
}

/** The rows as a Markdown table. */
export function formatRows(rows: Row[]): string {
  const lines = [
    "| metric | ha-vip | keepalived | ratio | note |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.label} | ${cell(r.samples["ha-vip"], r)} | ${
        cell(r.samples.keepalived, r)
      } | ${ratio(r)} | ${r.note ?? ""} |`,
    );
  }
  return lines.join("\n");
}

const push = (
  row: Row,
  impl: Implementation,
  ...xs: (number | null | undefined)[]
) => {
  for (const x of xs) {
    if (x === null || x === undefined) continue;
    (row.samples[impl] ??= []).push(x);
  }
};

/** Runs one scenario, printing its problems; resolves its result. */
async function scenario(
  label: string,
  o: ScenarioOptions,
  verbose: boolean,
  failures: string[],
): Promise<ScenarioResult> {
  console.error(`bench: ${label} ...`);
  const r = await runScenario({
    ...o,
    onTimeline: verbose
      ? (e) =>
        console.error(`  +${(e.atMs / 1000).toFixed(3)} ${e.source}: ${e.text}`)
      : undefined,
  });
  const problems = [
    ...r.problems,
    ...r.events.flatMap((e) => e.problems.map((p) => `${e.label}: ${p}`)),
  ];
  for (const p of problems) failures.push(`${label}: ${p}`);
  console.error(
    `bench: ${label}: ${r.ok ? "ok" : "PROBLEMS"} (${fmtS(r.durationMs)})${
      problems.map((p) => `\n  ${p}`).join("")
    }`,
  );
  return r;
}

/** Section 1: idle CPU and memory per node, as master and as backup. */
async function idleRows(
  f: Flags,
  base: (impl: Implementation) => ScenarioOptions,
  failures: string[],
): Promise<Row[]> {
  const row = (label: string, unit: Row["unit"], note?: string): Row => ({
    label,
    unit,
    samples: {},
    note,
  });
  const rows = {
    cpuM: row("idle CPU, master (utime+stime)", "%", `over ${fmtS(f.idleMs)}`),
    cpuB: row("idle CPU, backup (utime+stime)", "%"),
    schedM: row("idle CPU, master (scheduler clock)", "%", "schedstat, ns"),
    schedB: row("idle CPU, backup (scheduler clock)", "%"),
    rssM: row("RSS settled, master", "MiB", "VmRSS at the end"),
    rssB: row("RSS settled, backup", "MiB"),
    hwmM: row("RSS peak, master", "MiB", "VmHWM since start"),
    hwmB: row("RSS peak, backup", "MiB"),
  };
  for (let run = 1; run <= f.runs; run++) {
    for (const impl of f.implementations) {
      const r = await scenario(
        `idle ${impl} run ${run}/${f.runs}`,
        {
          ...base(impl),
          advertIntervalMs: 1000,
          events: [{ kind: "steady", holdMs: f.idleMs }],
        },
        f.verbose,
        failures,
      );
      const steady = r.events[0];
      const master = steady?.expectedHolder;
      for (const u of steady?.resources ?? [] as ResourceUsage[]) {
        const m = u.node === master;
        push(m ? rows.cpuM : rows.cpuB, impl, u.cpuPercent);
        push(m ? rows.schedM : rows.schedB, impl, u.cpuPercentSched);
        push(m ? rows.rssM : rows.rssB, impl, u.rssKb);
        push(m ? rows.hwmM : rows.hwmB, impl, u.hwmKb);
      }
    }
  }
  return Object.values(rows);
}

/** Section 2: client outage after a cut link and after a node's death, per profile. */
async function deathRows(
  f: Flags,
  base: (impl: Implementation) => ScenarioOptions,
  failures: string[],
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const a of f.profiles) {
    const cut: Row = {
      label: `${fmtS(a)} adverts: link cut, client outage`,
      unit: "ms",
      samples: {},
      note: "holder's switch port down",
    };
    const die: Row = {
      label: `${fmtS(a)} adverts: node death, client outage`,
      unit: "ms",
      samples: {},
      note: "SIGKILL + the node's addresses removed",
    };
    const dieWorst: Row = {
      label: `${fmtS(a)} adverts: node death, worst`,
      unit: "ms",
      samples: {},
      worst: true,
    };
    for (let run = 1; run <= f.runs; run++) {
      for (const impl of f.implementations) {
        const r = await scenario(
          `death ${impl} ${fmtS(a)} run ${run}/${f.runs}`,
          {
            ...base(impl),
            advertIntervalMs: a,
            events: [
              { kind: "steady" },
              { kind: "cut" },
              { kind: "restore" },
              { kind: "die" },
              { kind: "revive" },
            ],
          },
          f.verbose,
          failures,
        );
        for (const e of r.events) {
          if (e.kind === "cut") push(cut, impl, e.longestGapMs);
          if (e.kind === "die") {
            push(die, impl, e.longestGapMs);
            push(dieWorst, impl, e.longestGapMs);
          }
        }
      }
    }
    rows.push(cut, die, dieWorst);
  }
  return rows;
}

/** Section 3: spurious failovers in a long steady state under stress, per profile. */
async function soakRows(
  f: Flags,
  base: (impl: Implementation) => ScenarioOptions,
  failures: string[],
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const a of f.soakProfiles) {
    rows.push(...await soakProfile(f, a, base, failures));
  }
  return rows;
}

async function soakProfile(
  f: Flags,
  advertMs: number,
  base: (impl: Implementation) => ScenarioOptions,
  failures: string[],
): Promise<Row[]> {
  const spurious: Row = {
    label: `soak ${fmtS(f.soakMs)} at ${
      fmtS(advertMs)
    } adverts: spurious failovers`,
    unit: "count",
    samples: {},
    note:
      `${f.loss} % loss on the bridge, every core busy, GC pressure (ha-vip)`,
  };
  const gap: Row = {
    label: `soak at ${fmtS(advertMs)}: longest client outage`,
    unit: "ms",
    samples: {},
    worst: true,
    note: "lost pings count (both ways cross the lossy bridge)",
  };
  const cores = navigator.hardwareConcurrency || 2;
  for (const impl of f.implementations) {
    const b = base(impl);
    const r = await scenario(
      `soak ${impl} ${fmtS(f.soakMs)} at ${fmtS(advertMs)}`,
      {
        ...b,
        advertIntervalMs: advertMs,
        events: [{ kind: "steady", holdMs: f.soakMs }],
        statusEndpoint: true,
        denoFlags: [
          ...(b.denoFlags ?? []).filter((x) => !x.startsWith("--v8-flags")),
          `--v8-flags=${
            [
              ...v8FlagsOf(b.denoFlags ?? []),
              "--stress-scavenge=10",
              "--stress-compaction",
            ].join(",")
          }`,
        ],
        stress: {
          lossPercent: f.loss,
          cpuHogs: cores,
          scrapeIntervalMs: impl === "ha-vip" ? 100 : 0,
        },
        // Lost pings are the loss itself, not an outage: judged by VIP moves.
        bounds: { steady: { maxGapMs: 250 } },
      },
      f.verbose,
      failures,
    );
    const steady = r.events[0];
    if (steady) {
      push(spurious, impl, steady.vipGains);
      push(gap, impl, steady.longestGapMs);
    }
  }
  return [spurious, gap];
}

function v8FlagsOf(denoFlags: string[]): string[] {
  return denoFlags.filter((x) => x.startsWith("--v8-flags="))
    .flatMap((x) => x.slice("--v8-flags=".length).split(","))
    .filter(Boolean);
}

if (import.meta.main) {
  const f = parseFlags(Deno.args);
  if (typeof f === "string") {
    console.error(f);
    Deno.exit(f === USAGE ? 0 : 2);
  }
  if (!isRoot()) {
    console.error("bench/footprint_bench.ts needs root (network namespaces)");
    Deno.exit(2);
  }
  let entry: string | undefined;
  let outDir: string | undefined;
  if (!f.source && f.implementations.includes("ha-vip")) {
    outDir = await Deno.makeTempDir({ prefix: "ha-vip-bench-" });
    const rel = await buildRelease({ outDir, network: false });
    entry = `${outDir}/${rel.bundle}`;
    console.error(
      `bench: ha-vip is the release bundle ${rel.bundle} (${
        ((await Deno.stat(entry)).size / 1024).toFixed(0)
      } KiB), run as deno run ${BUNDLE_DENO_FLAGS.join(" ")}`,
    );
  }
  const base = (impl: Implementation): ScenarioOptions => ({
    implementation: impl,
    statusEndpoint: false,
    ...(impl === "ha-vip" && entry
      ? { haVipEntry: entry, denoFlags: [...BUNDLE_DENO_FLAGS] }
      : {}),
  });
  const failures: string[] = [];
  const rows: Row[] = [];
  const load = await Deno.readTextFile("/proc/loadavg");
  try {
    if (f.sections.includes("idle")) {
      rows.push(...await idleRows(f, base, failures));
    }
    if (f.sections.includes("death")) {
      rows.push(...await deathRows(f, base, failures));
    }
    if (f.sections.includes("soak")) {
      rows.push(...await soakRows(f, base, failures));
    }
  } finally {
    if (outDir) await Deno.remove(outDir, { recursive: true });
  }
  if (f.json) console.log(JSON.stringify({ rows, failures }, null, 2));
  else {
    console.log(formatRows(rows));
    console.log(
      `\nload average at the start: ${load.trim()}; runs ${f.runs}; ha-vip ${
        entry ? "release bundle" : "main.ts"
      }`,
    );
    if (failures.length) {
      console.log(`\nproblems:\n${failures.map((p) => `- ${p}`).join("\n")}`);
    }
  }
  Deno.exit(failures.length ? 1 : 0);
}
