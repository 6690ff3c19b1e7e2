/**
 * Human-readable output of the lab: timeline lines, per-event summaries and
 * a side-by-side comparison of implementations. Pure: returns strings.
 *
 * @module
 */

import type {
  EventMeasurement,
  ScenarioResult,
  TimelineEntry,
} from "./scenario_types.ts";
import { fmtS } from "./util.ts";

/** `+12.345s node1   crashed (SIGKILL)` */
export function formatTimeline(e: TimelineEntry): string {
  return `+${(e.atMs / 1000).toFixed(3).padStart(7)}s ${
    e.source.padEnd(7)
  } ${e.text}`;
}

/** `12.3 MiB` from KiB. */
export function fmtMiB(kb: number): string {
  return `${(kb / 1024).toFixed(1)} MiB`;
}

const opt = (ms: number | null | undefined, none = "-") =>
  ms === null || ms === undefined ? none : fmtS(ms);

/** The summary block printed after an event. */
export function formatEvent(m: EventMeasurement): string {
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`    ${k.padEnd(16)} ${v}`);
  lines.push(
    `  ── #${m.index} ${m.kind}: ${m.label} at +${(m.atMs / 1000).toFixed(3)}s`,
  );
  const holder = m.holdersAfter.length === 0
    ? "none"
    : m.holdersAfter.join(" + ");
  const before = m.holdersBefore.join(" + ") || "none";
  const change = before === holder ? "(unchanged)" : `(was ${before})`;
  row(
    "holder",
    `${holder} ${change}${
      m.takeoverMs !== null ? `; VIP added after ${fmtS(m.takeoverMs)}` : ""
    }${
      m.clientSwitchMs !== null && m.clientSwitchMs > 0
        ? `; client neighbour switched after ${fmtS(m.clientSwitchMs)}`
        : ""
    }`,
  );
  row(
    "client outage",
    m.longestGapMs === 0
      ? "none (no ICMP silence)"
      : `longest ICMP gap ${fmtS(m.longestGapMs)}${
        m.gaps.length > 1 ? ` (${m.gaps.length} gaps)` : ""
      }${m.gaps.some((g) => g.open) ? ", still open" : ""}`,
  );
  row(
    "two holders",
    m.dualHolderMs === 0 && m.dualHolderAnyMs === 0
      ? "never"
      : `${fmtS(m.dualHolderMs)} among connected nodes${
        m.dualHolderAnyMs !== m.dualHolderMs
          ? `, ${fmtS(m.dualHolderAnyMs)} counting cut-off nodes`
          : ""
      }${
        m.arpMultiMs > 0
          ? `; two MACs answered ARP for ${fmtS(m.arpMultiMs)}`
          : ""
      }`,
  );
  if (m.vipExpiredMs !== undefined) {
    row(
      "dead node's VIP",
      m.vipExpiredMs === null
        ? "still there at the end of the window (never expired)"
        : `gone by itself after ${fmtS(m.vipExpiredMs)}`,
    );
  }
  if (m.isolatedHoldMs !== undefined) {
    row(
      "isolated node",
      `${m.node}: carrier ${m.isolatedCarrier ? "up" : "LOST"}; ${
        m.isolatedHoldMs === null
          ? "no VIP on its side"
          : m.isolatedHoldMs === 0
          ? "kept the VIP on its side"
          : `took the VIP on its side after ${fmtS(m.isolatedHoldMs)}`
      }${
        m.isolatedStepDownMs === undefined
          ? ""
          : m.isolatedStepDownMs === null
          ? "; still held it at the window end"
          : `; stepped down after ${fmtS(m.isolatedStepDownMs)}${
            m.isolatedStoreLostMs != null
              ? ` (its API server lost the store after ${
                fmtS(m.isolatedStoreLostMs)
              })`
              : ""
          }`
      }`,
    );
  }
  if (m.kind === "heal" && m.garpMs !== undefined) {
    row(
      "gratuitous ARP",
      m.garpMs === null
        ? `none from ${m.expectedHolder ?? "the holder"} seen by the client`
        : `from ${m.expectedHolder} after ${fmtS(m.garpMs)}`,
    );
  }
  for (const r of m.resources ?? []) {
    row(
      "resources",
      `${r.node}: RSS ${fmtMiB(r.rssKb)}, CPU ${r.cpuPercent.toFixed(2)} %${
        r.cpuPercentSched === null
          ? ""
          : ` (scheduler clock ${r.cpuPercentSched.toFixed(3)} %)`
      } of a core over ${fmtS(r.intervalMs)} (${
        r.names.map((n, i) => `${n} ${r.pids[i]}`).join(", ")
      })`,
    );
  }
  row(
    "settled",
    m.settleMs === null
      ? "no"
      : `${m.settled ? "" : "partly, "}after ${fmtS(m.settleMs)}`,
  );
  for (const n of m.notes) row("note", n);
  row("verdict", m.ok ? "ok" : `FAIL: ${m.problems.join("; ")}`);
  return lines.join("\n");
}

/** A compact table of one or more runs, one column per implementation. */
export function formatComparison(results: ScenarioResult[]): string {
  if (results.length === 0) return "";
  const header = [
    "event",
    ...results.map((r) =>
      r.election === "lease" && r.lease
        ? `${r.implementation} lease (${r.lease.durationMs / 1000}/${
          r.lease.renewDeadlineMs / 1000
        }/${r.lease.retryPeriodMs / 1000} s)`
        : `${r.implementation} (${r.advertIntervalMs} ms)`
    ),
  ];
  const rows: string[][] = [];
  const count = Math.max(...results.map((r) => r.events.length));
  for (let i = 0; i < count; i++) {
    const first = results.find((r) => r.events[i])!.events[i];
    const cells = results.map((r) => {
      const m = r.events[i];
      if (!m) return "-";
      const parts = [
        `→${m.holdersAfter.join("+") || "none"}`,
        `gap ${m.longestGapMs === 0 ? "0" : fmtS(m.longestGapMs)}`,
      ];
      if (m.takeoverMs !== null) parts.push(`takeover ${fmtS(m.takeoverMs)}`);
      if (m.dualHolderMs > 0) parts.push(`2 holders ${fmtS(m.dualHolderMs)}`);
      if (r.election === "lease") {
        // Lease mode's promise: never two holders, cut-off nodes included.
        parts.push(`overlap ${fmtS(m.dualHolderAnyMs)}`);
      }
      if (m.vipExpiredMs !== undefined) {
        parts.push(`expiry ${opt(m.vipExpiredMs, "never")}`);
      }
      if (m.resources?.length) {
        const rss = m.resources.reduce((s, r) => s + r.rssKb, 0) /
          m.resources.length;
        const cpu = m.resources.reduce((s, r) => s + r.cpuPercent, 0) /
          m.resources.length;
        parts.push(`RSS ${fmtMiB(rss)}, CPU ${cpu.toFixed(2)} %/node`);
      }
      if (!m.ok) parts.push("FAIL");
      return parts.join(", ");
    });
    rows.push([`${first.kind} ${first.node}`, ...cells]);
  }
  rows.push([
    "verdict",
    ...results.map((r) => r.ok ? "all events ok" : "FAILED"),
  ]);
  const widths = header.map((_, c) =>
    Math.max(header[c].length, ...rows.map((r) => r[c].length))
  );
  const line = (cells: string[]) =>
    cells.map((x, c) => x.padEnd(widths[c])).join("  ").trimEnd();
  return [
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}
