/**
 * Per-node VIP presence with millisecond timestamps: `ip -ts monitor
 * address` inside each node namespace plus an initial `ip -j addr`
 * snapshot, turned into the intervals during which each node held the VIP.
 *
 * @module
 */

import { MONITOR_PRIORITY_ARGV, parseAddrLine } from "./ip_monitor.ts";
import type { LabHost, LabProcess, Topology } from "./topology.ts";
import { nowMs } from "./topology.ts";

/** A time interval in epoch ms; `to` null = still open. */
export interface Interval {
  from: number;
  to: number | null;
}

/** A change of VIP presence on one node. */
export interface VipChange {
  node: string;
  /** Epoch ms (the `ip monitor` stamp). */
  t: number;
  /** true: the node now holds the VIP; false: it lost it. */
  holding: boolean;
}

/** Watches one node's VIP; see {@link watchVip}. */
export interface VipWatcher {
  readonly node: string;
  /** Every holding interval seen so far, in order. */
  readonly intervals: Interval[];
  /** Whether the node holds the VIP now. */
  readonly holding: boolean;
  /** Stops the monitor process. */
  stop(): Promise<void>;
}

/**
 * Starts watching `host`'s `eth0` for `vip`. Resolves once the monitor runs
 * and the initial snapshot has been taken; `onChange` is called for every
 * change (not for lifetime refreshes).
 */
export async function watchVip(
  topo: Topology,
  host: LabHost,
  vip: string,
  onChange?: (c: VipChange) => void,
): Promise<VipWatcher> {
  const intervals: Interval[] = [];
  let holding = false;
  const set = (t: number, now: boolean) => {
    if (now === holding) return; // a refresh (RTM_NEWADDR again) or repeat
    holding = now;
    if (now) intervals.push({ from: t, to: null });
    else intervals[intervals.length - 1].to = t;
    onChange?.({ node: host.name, t, holding: now });
  };
  const proc: LabProcess = topo.spawn(
    host.netns,
    `${host.name}-vip-monitor`,
    [...MONITOR_PRIORITY_ARGV, "ip", "-ts", "monitor", "address"],
    {
      onLine: (line, stream) => {
        if (stream !== "out") return;
        const e = parseAddrLine(line);
        if (e && e.address === vip && e.ifname === host.ifname) {
          set(e.t, e.present);
        }
      },
    },
  );
  // `ip monitor` prints nothing when it has subscribed; give it a moment
  // before the snapshot so no change can fall between the two.
  await new Promise((r) => setTimeout(r, 300));
  const present = await hasAddress(topo, host, vip);
  if (present && !holding) set(nowMs(), true);
  return {
    node: host.name,
    intervals,
    get holding() {
      return holding;
    },
    async stop() {
      proc.kill("SIGTERM");
      await proc.status;
    },
  };
}

/** Length of the overlap of two intervals (open ends count up to `end`). */
function overlap(a: Interval, b: Interval, end: number): Interval | null {
  const from = Math.max(a.from, b.from);
  const to = Math.min(a.to ?? end, b.to ?? end);
  return to > from ? { from, to } : null;
}

/** Intersection of two sorted interval lists. */
export function intersect(
  a: Interval[],
  b: Interval[],
  end: number,
): Interval[] {
  const out: Interval[] = [];
  for (const x of a) {
    for (const y of b) {
      const o = overlap(x, y, end);
      if (o) out.push(o);
    }
  }
  return out.sort((p, q) => p.from - q.from);
}

/** Merges overlapping intervals (open ends closed at `end`). */
export function union(list: Interval[], end: number): Interval[] {
  const sorted = list.map((i) => ({ from: i.from, to: i.to ?? end }))
    .filter((i) => i.to > i.from)
    .sort((p, q) => p.from - q.from);
  const out: { from: number; to: number }[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.from <= last.to) last.to = Math.max(last.to, i.to);
    else out.push({ ...i });
  }
  return out;
}

/** `list` minus `remove` (both closed at `end`). */
export function subtract(
  list: Interval[],
  remove: Interval[],
  end: number,
): Interval[] {
  let cur = union(list, end);
  for (const r of union(remove, end)) {
    const next: Interval[] = [];
    for (const i of cur) {
      const to = i.to ?? end;
      const rto = r.to ?? end;
      if (rto <= i.from || r.from >= to) {
        next.push(i);
        continue;
      }
      if (r.from > i.from) next.push({ from: i.from, to: r.from });
      if (rto < to) next.push({ from: rto, to });
    }
    cur = next;
  }
  return cur;
}

/** Clips intervals to `[from, to]`. */
export function clip(list: Interval[], from: number, to: number): Interval[] {
  return list
    .map((i) => ({
      from: Math.max(i.from, from),
      to: Math.min(i.to ?? to, to),
    }))
    .filter((i) => i.to > i.from);
}

/** Total length in ms. */
export function total(list: Interval[], end: number): number {
  return list.reduce((s, i) => s + ((i.to ?? end) - i.from), 0);
}

/**
 * Times when at least two of the given per-node interval lists overlap
 * (two holders at once), merged.
 */
export function dualTimes(perNode: Interval[][], end: number): Interval[] {
  const pairs: Interval[] = [];
  for (let i = 0; i < perNode.length; i++) {
    for (let j = i + 1; j < perNode.length; j++) {
      pairs.push(...intersect(perNode[i], perNode[j], end));
    }
  }
  return union(pairs, end);
}

/** Whether `host`'s interface has the IPv4 address `ip` now (`ip -j -4 addr`). */
export async function hasAddress(
  topo: Topology,
  host: LabHost,
  ip: string,
): Promise<boolean> {
  const snap = await topo.exec(host.netns, [
    "ip",
    "-j",
    "addr",
    "show",
    "dev",
    host.ifname,
  ]);
  const links = JSON.parse(snap.stdout || "[]") as {
    addr_info?: { local?: string }[];
  }[];
  return links.some((l) => (l.addr_info ?? []).some((a) => a.local === ip));
}
